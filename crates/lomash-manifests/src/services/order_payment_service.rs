//! Orders, quotes and payments.

use crate::platform::{postgres, redis, service};
use crate::spec::{Autoscale, ServiceDef, Uses};

pub fn definition() -> ServiceDef {
    service("order-payment-service", 3003)
        .summary("Orders, quotes and payments.")
        .cpu("500m", "2000m")
        .memory("512Mi", "2Gi")
        .autoscale(Autoscale { max: 20, cpu_percent: 65, memory_percent: 75 })
        .uses(postgres())
        .uses(redis())
        .uses(Uses::ExternalHttps("the payment provider".into()))
}
