//! Editorial content: pages, inspiration galleries and media.

use crate::platform::{postgres, redis, service};
use crate::spec::{Autoscale, ServiceDef};

pub fn definition() -> ServiceDef {
    service("content-service", 3005)
        .summary("Editorial content: pages, inspiration galleries and media.")
        .cpu("250m", "1000m")
        .memory("256Mi", "1Gi")
        .autoscale(Autoscale { max: 10, cpu_percent: 70, memory_percent: 80 })
        .uses(postgres())
        .uses(redis())
}
