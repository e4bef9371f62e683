//! Customer profiles, saved designs and enquiries.

use crate::catalogue::ServiceDef;

pub fn definition() -> ServiceDef {
    ServiceDef::new("customer-service", 3006)
        .summary("Customer profiles, saved designs and enquiries.")
        .cpu("250m", "1000m")
        .memory("256Mi", "1Gi")
        .autoscale(10, 70, 80)
        .uses_postgres()
        .uses_redis()
}
