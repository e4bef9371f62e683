//! The catalogue as committed: the platform of [`crate::platform`] in the environments of
//! [`crate::environments::all`], every service of
//! [`crate::services::all`] and the tags of `images.yaml`.

pub use manifest_core::catalogue::{Catalogue, Release};

/// The committed release file, from the workspace root.
pub const RELEASE_PATH: &str = "crates/lomash-manifests/images.yaml";
pub use manifest_core::spec::{Platform, ServiceDef};

use crate::{environments, platform, services};

/// The committed release file, compiled in.
pub const RELEASE_FILE: &str = include_str!("../images.yaml");

/// The catalogue as committed: the platform, every service in [`services::all`] order and the
/// tags of `images.yaml`.
pub fn catalogue() -> Catalogue {
    Catalogue {
        platform: platform::platform(environments::all()),
        services: services::all(),
        release: committed_release(),
    }
}

/// The tags of the committed `images.yaml`. A file that does not parse gives no tags and its
/// error, which validation reports instead of panicking.
pub fn committed_release() -> Release {
    Release::read(RELEASE_FILE)
}
