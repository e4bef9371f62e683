//! The Lomash Wood services as typed Kubernetes definitions: the spec sheets
//! ([`services`], one module a service), the platform every service shares ([`platform`]) and
//! the committed release ([`catalogue()`]). The machinery that checks and renders them lives in
//! `manifest-core` and is re-exported here, so that this crate stays small: editing a spec sheet
//! rebuilds only these few modules.
//!
//! The flow is one way: [`catalogue()`] (spec sheets, platform, release) →
//! [`model::validate`] (parsed and checked once, every mistake reported) → [`k8s`] (k8s-openapi
//! objects, base and each environment) → [`tree::render`] (the files of `generated/`, each
//! overlay's patches derived by [`patch`], placed by [`layout`]). Nothing here touches the disk;
//! `xtask` writes.

pub mod catalogue;
pub mod environments;
pub mod platform;
pub mod services;

pub use catalogue::catalogue;

/// The folder the catalogue was compiled from (see `CORE_BUILT_FROM`): `xtask` refuses to act for
/// another checkout, whose definitions may differ from the ones compiled in.
pub const CATALOGUE_BUILT_FROM: &str = env!("CARGO_MANIFEST_DIR");
pub use manifest_core::*;

/// This catalogue as `cargo xtask` hands it to the tasks (`manifest-tasks`).
pub fn project() -> manifest_core::project::Project {
    manifest_core::project::Project {
        catalogue,
        release_path: catalogue::RELEASE_PATH,
        release_file: catalogue::RELEASE_FILE,
        service: platform::service,
        derived: platform::derived,
        built_from: &[
            ("lomash-manifests", CATALOGUE_BUILT_FROM, "crates/lomash-manifests"),
            ("manifest-core", CORE_BUILT_FROM, "crates/manifest-core"),
            ("manifest-objects", OBJECTS_BUILT_FROM, "crates/manifest-objects"),
        ],
    }
}
