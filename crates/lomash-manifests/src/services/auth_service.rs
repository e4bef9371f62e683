//! Accounts, sessions and tokens for customers and staff.

use crate::catalogue::ServiceDef;

pub fn definition() -> ServiceDef {
    ServiceDef::new("auth-service", 3001)
        .summary("Accounts, sessions and tokens for customers and staff.")
        .cpu("250m", "1000m")
        .memory("256Mi", "1Gi")
        .autoscale(15, 70, 80)
        .uses_postgres()
        .uses_redis()
}
