//! Editorial content: pages, inspiration galleries and media.

use crate::catalogue::ServiceDef;

pub fn definition() -> ServiceDef {
    ServiceDef::new("content-service", 3005)
        .summary("Editorial content: pages, inspiration galleries and media.")
        .cpu("250m", "1000m")
        .memory("256Mi", "1Gi")
        .autoscale(10, 70, 80)
        .uses_postgres()
        .uses_redis()
}
