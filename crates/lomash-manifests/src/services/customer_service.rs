//! Customer profiles, saved designs and enquiries.

use crate::platform::service;
use crate::spec::{Autoscale, ServiceDef, Uses};

pub fn definition() -> ServiceDef {
    service("customer-service", 3006)
        .summary("Customer profiles, saved designs and enquiries.")
        .cpu("250m", "1000m")
        .memory("256Mi", "1Gi")
        .autoscale(Autoscale { max: 10, cpu_percent: 70, memory_percent: 80 })
        .uses(Uses::Postgres)
        .uses(Uses::Redis)
}
