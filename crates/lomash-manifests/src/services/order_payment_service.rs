//! Orders, quotes and payments.

use crate::catalogue::ServiceDef;

pub fn definition() -> ServiceDef {
    ServiceDef::new("order-payment-service", 3003)
        .summary("Orders, quotes and payments.")
        .cpu("500m", "2000m")
        .memory("512Mi", "2Gi")
        .autoscale(20, 65, 75)
        .uses_postgres()
        .uses_redis()
}
