//! The machinery that turns a catalogue of services into a Kustomize tree: the spec vocabulary a
//! spec sheet is written in, validation, the k8s-openapi objects, the tree, its docs and the
//! policy. Generic over the catalogue: a company's facts (its services, data stores, runtime,
//! registry, the words of its docs) are values the catalogue hands in; `lomash-manifests` is one
//! such catalogue, and re-exports this crate. Pure: nothing here touches the disk. [`built`]
//! builds each environment's objects once; everything downstream reads them.
//!
//! Imports point one way. Below this crate, `manifest-objects` holds the object kinds ([`object`],
//! [`external_secret`]), the lean YAML tree they are written through ([`node`]) and the strict
//! reader ([`strict`]), re-exported here. In this crate, [`spec`] (the vocabulary), [`layout`] (the
//! paths), [`values`], [`error`], [`conventions`], [`parallel`] and [`reach`] (a NetworkPolicy
//! evaluator) are leaves; [`catalogue`] gathers a platform, services and a release; [`model`]
//! checks them; [`netpol`] turns the model's edges into flows and policy specs; [`k8s`] builds
//! objects of the model; [`patch`], [`yaml`], [`docs`], [`tree`], [`manifests`], [`capacity`],
//! [`connections`], [`limits`] and [`policy`] read those objects.

pub mod built;
pub mod capacity;
pub mod catalogue;
pub mod connections;
pub mod conventions;
pub mod docs;
pub mod error;
pub mod images;
pub mod k8s;
pub mod layout;
pub mod limits;
pub mod manifests;
pub mod markdown;
pub mod model;
pub mod netpol;
pub mod parallel;
pub mod patch;
pub mod policy;
pub mod project;
pub mod reach;
pub mod spec;
pub mod tree;
pub mod values;
pub mod yaml;

/// The folder this crate was compiled from. Two checkouts sharing one target directory can hand
/// one of them the other's build (cargo judges freshness by modification times, not by
/// checkout), so `xtask` compares this with the checkout it runs for and refuses on a mismatch.
pub const CORE_BUILT_FROM: &str = env!("CARGO_MANIFEST_DIR");

pub use catalogue::{Catalogue, Release};
pub use error::{Error, Errors};
/// The k8s-openapi this crate builds on, for users that name its types (one version everywhere).
pub use k8s_openapi;
pub use layout::File;
pub use manifest_objects::{OBJECTS_BUILT_FROM, Object, external_secret, node, object, strict};
pub use model::{Model, validate};
pub use spec::ServiceDef;
pub use tree::render;
