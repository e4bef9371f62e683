//! The Lomash Wood services as typed Kubernetes definitions, rendered to a Kustomize tree.
//!
//! The flow is one way: [`catalogue()`] (spec sheets, platform, release) →
//! [`model::validate`] (parsed and checked once, every mistake reported) → [`k8s`] (k8s-openapi
//! objects, base and each environment) → [`tree::render`] (the files of `generated/`, each
//! overlay's patches derived by [`patch`], placed by [`layout`]). The library never touches the
//! disk; `xtask` writes.
//!
//! Imports point one way: [`spec`] (the vocabulary) and [`layout`] (the paths) are leaves;
//! [`platform`] and [`services`] write values of the vocabulary; [`catalogue`] gathers them;
//! [`model`] checks; [`k8s`], [`patch`], [`yaml`], [`docs`], [`tree`] and [`policy`] read the model.

pub mod catalogue;
pub mod docs;
pub mod error;
pub mod k8s;
pub mod layout;
pub mod manifests;
pub mod model;
pub mod object;
pub mod patch;
pub mod platform;
pub mod policy;
pub mod reach;
pub mod services;
pub mod spec;
pub mod tree;
pub mod values;
pub mod yaml;

pub use catalogue::{catalogue, Catalogue, Release, ServiceDef};
pub use error::{Error, Errors};
pub use layout::File;
pub use model::{validate, Model};
pub use object::Object;
pub use tree::render;
