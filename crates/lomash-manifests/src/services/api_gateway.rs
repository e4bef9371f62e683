//! The public entry point: routes and authenticates client requests to the other services.

use crate::catalogue::ServiceDef;

pub fn definition() -> ServiceDef {
    ServiceDef::new("api-gateway", 3000)
        .summary("The public entry point: routes and authenticates client requests to the other services.")
        .cpu("500m", "2000m")
        .memory("512Mi", "1Gi")
        .autoscale(20, 60, 75)
        .uses_redis()
        .routes_to_services()
}
