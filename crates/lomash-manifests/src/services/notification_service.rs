//! Email, SMS and push notifications.

use crate::platform::{postgres, redis, service};
use crate::spec::{Autoscale, ServiceDef, Uses};

pub fn definition() -> ServiceDef {
    service("notification-service", 3007)
        .summary("Email, SMS and push notifications.")
        .cpu("250m", "1000m")
        .memory("256Mi", "1Gi")
        .autoscale(Autoscale { max: 10, cpu_percent: 70, memory_percent: 80 })
        .uses(postgres())
        .uses(redis())
        .uses(Uses::ExternalHttps("the email and SMS providers".into()))
}
