//! Design consultations: showroom and home-visit bookings.

use crate::catalogue::ServiceDef;

pub fn definition() -> ServiceDef {
    ServiceDef::new("appointment-service", 3004)
        .summary("Design consultations: showroom and home-visit bookings.")
        .cpu("250m", "1000m")
        .memory("256Mi", "1Gi")
        .autoscale(10, 70, 80)
        .uses_postgres()
        .uses_redis()
}
