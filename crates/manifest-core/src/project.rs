//! What the tasks (`manifest-tasks`, behind `cargo xtask`) need of a project beyond the core: its
//! catalogue and the values compiled with it, handed over by the project's binary. The tasks do not
//! depend on the catalogue's crate, so an edited spec sheet rebuilds the catalogue and relinks the
//! binary, never the tasks. A leaf: plain values and function pointers.

use crate::catalogue::Catalogue;
use crate::spec::{Environment, ServiceDef};

/// A project as its binary hands it to the tasks.
#[derive(Clone, Copy)]
pub struct Project {
    /// The catalogue as committed (its release read from the committed release file).
    pub catalogue: fn() -> Catalogue,
    /// The release file, from the workspace root, e.g. `crates/lomash-manifests/images.yaml`.
    pub release_path: &'static str,
    /// The release file's text as compiled into the binary.
    pub release_file: &'static str,
    /// Where a new service's sheet starts: the platform's defaults for a name and a port.
    pub service: fn(&str, u32) -> ServiceDef,
    /// An environment under a new name, from another: the values that follow from the name.
    pub derived: fn(Environment, &str) -> Environment,
    /// The crates whose code the binary runs, beside the tasks' own: (name, the folder it was
    /// compiled from, that folder from the workspace root). A binary built in another checkout
    /// refuses to act (see the tasks' `checkout`).
    pub built_from: &'static [(&'static str, &'static str, &'static str)],
}
