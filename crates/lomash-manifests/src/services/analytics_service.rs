//! Event ingestion and the reporting dashboards.

use crate::platform::{postgres, redis, service};
use crate::spec::{Autoscale, ServiceDef};

pub fn definition() -> ServiceDef {
    service("analytics-service", 3008)
        .summary("Event ingestion and the reporting dashboards.")
        .cpu("500m", "2000m")
        .memory("512Mi", "2Gi")
        .autoscale(Autoscale { max: 10, cpu_percent: 65, memory_percent: 75 })
        .uses(postgres())
        .uses(redis())
        .config("INGESTION_BATCH_SIZE", "500")
        .config("INGESTION_FLUSH_INTERVAL_MS", "5000")
        .config("EVENT_RETENTION_DAYS", "365")
        .config("CACHE_TTL_DASHBOARD", "900")
}
