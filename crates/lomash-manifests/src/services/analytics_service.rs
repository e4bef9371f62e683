//! Event ingestion and the reporting dashboards.

use crate::catalogue::ServiceDef;

pub fn definition() -> ServiceDef {
    ServiceDef::new("analytics-service", 3008)
        .summary("Event ingestion and the reporting dashboards.")
        .cpu("500m", "2000m")
        .memory("512Mi", "2Gi")
        .autoscale(10, 65, 75)
        .uses_postgres()
        .uses_redis()
        .config("INGESTION_BATCH_SIZE", "500")
        .config("INGESTION_FLUSH_INTERVAL_MS", "5000")
        .config("EVENT_RETENTION_DAYS", "365")
        .config("CACHE_TTL_DASHBOARD", "900")
}
