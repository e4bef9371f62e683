//! The kitchen and bedroom product catalogue: ranges, finishes and prices.

use crate::catalogue::ServiceDef;

pub fn definition() -> ServiceDef {
    ServiceDef::new("product-service", 3002)
        .summary("The kitchen and bedroom product catalogue: ranges, finishes and prices.")
        .cpu("250m", "1000m")
        .memory("256Mi", "1Gi")
        .autoscale(15, 70, 80)
        .uses_postgres()
        .uses_redis()
}
