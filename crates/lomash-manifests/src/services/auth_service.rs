//! Accounts, sessions and tokens for customers and staff.

use crate::platform::{postgres, redis, service};
use crate::spec::{Autoscale, ServiceDef};

pub fn definition() -> ServiceDef {
    service("auth-service", 3001)
        .summary("Accounts, sessions and tokens for customers and staff.")
        .cpu("250m", "1000m")
        .memory("256Mi", "1Gi")
        .autoscale(Autoscale { max: 15, cpu_percent: 70, memory_percent: 80 })
        .uses(postgres())
        .uses(redis())
}
