//! The public entry point: routes and authenticates client requests to the other services.

use crate::platform::{redis, service};
use crate::spec::{Autoscale, ServiceDef, Uses};

pub fn definition() -> ServiceDef {
    service("api-gateway", 3000)
        .summary("The public entry point: routes and authenticates client requests to the other services.")
        .cpu("500m", "2000m")
        .memory("512Mi", "1Gi")
        .autoscale(Autoscale { max: 20, cpu_percent: 60, memory_percent: 75 })
        .uses(redis())
        .uses(Uses::AllServices)
        .public("client traffic through the cloud load balancer, whose source addresses are not known in advance")
}
