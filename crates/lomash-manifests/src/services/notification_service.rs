//! Email, SMS and push notifications.

use crate::catalogue::ServiceDef;

pub fn definition() -> ServiceDef {
    ServiceDef::new("notification-service", 3007)
        .summary("Email, SMS and push notifications.")
        .cpu("250m", "1000m")
        .memory("256Mi", "1Gi")
        .autoscale(10, 70, 80)
        .uses_postgres()
        .uses_redis()
}
