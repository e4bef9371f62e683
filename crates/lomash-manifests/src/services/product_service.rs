//! The kitchen and bedroom product catalogue: ranges, finishes and prices.

use crate::platform::{postgres, redis, service};
use crate::spec::{Autoscale, ServiceDef};

pub fn definition() -> ServiceDef {
    service("product-service", 3002)
        .summary("The kitchen and bedroom product catalogue: ranges, finishes and prices.")
        .cpu("250m", "1000m")
        .memory("256Mi", "1Gi")
        .autoscale(Autoscale { max: 15, cpu_percent: 70, memory_percent: 80 })
        .uses(postgres())
        .uses(redis())
}
