//! The Kubernetes objects a tree holds: the kinds ([`object`]), the custom resources among them
//! ([`external_secret`]), the lean YAML tree they are written through ([`node`]) and the strict
//! reader that reads them back ([`strict`]).
//!
//! A crate of its own, below `manifest-core`, for the build: serialising and reading every kind
//! is most of the code the compiler generates for the objects, and here it is generated while
//! `manifest-core` is still being checked, on the core that would otherwise wait.

pub mod external_secret;
pub mod node;
pub mod object;
pub mod strict;

pub use object::Object;

/// The folder this crate was compiled from: like the core's `CORE_BUILT_FROM`, so that `xtask`
/// refuses to act with a build of these types from another checkout.
pub const OBJECTS_BUILT_FROM: &str = env!("CARGO_MANIFEST_DIR");
