//! The integration tests of `lomash-manifests`, one test binary: each module is one concern
//! (snapshots, the kubectl oracle, readiness, network, secrets, staging, capacity, policy, …), and
//! all of them link the dependency graph once instead of once a file ("Delete Cargo Integration
//! Tests"). Run one concern with a filter: `cargo test -p lomash-manifests --test it network::`.

mod common;

mod capacity;
mod docs;
mod kustomize;
mod network;
mod policy;
mod readiness;
mod schema;
mod secrets;
mod snapshots;
mod spec_sheets;
mod staging;
mod traps;
mod validation;
mod yaml_roundtrip;
