//! The services, one spec sheet a module. [`all`] is the single list of them, in the
//! order of the seed's overlay, services added later (`cargo xtask new-service`) at the end;
//! everything else loops over it. `tests/it/spec_sheets.rs` checks that every file here is declared
//! and listed.

use crate::spec::ServiceDef;

mod analytics_service;
mod api_gateway;
mod appointment_service;
mod auth_service;
mod content_service;
mod customer_service;
mod notification_service;
mod order_payment_service;
mod product_service;

pub fn all() -> Vec<ServiceDef> {
    vec![
        api_gateway::definition(),
        auth_service::definition(),
        product_service::definition(),
        order_payment_service::definition(),
        appointment_service::definition(),
        content_service::definition(),
        customer_service::definition(),
        notification_service::definition(),
        analytics_service::definition(),
    ]
}
