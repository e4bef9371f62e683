//! The Lomash Wood services as typed Kubernetes definitions, rendered to a Kustomize tree.
//!
//! The flow is one way: [`catalogue()`] (spec sheets, platform, release) →
//! [`model::validate`] (parsed and checked once, every mistake reported) → [`k8s`] (k8s-openapi
//! objects, base and production) → [`tree::render`] (the files of `generated/`, production
//! patches derived by [`patch`]). The library never touches the disk; `xtask` writes.

pub mod catalogue;
pub mod docs;
pub mod error;
pub mod k8s;
pub mod model;
pub mod object;
pub mod patch;
pub mod platform;
pub mod policy;
pub mod reach;
pub mod services;
pub mod tree;
pub mod values;
pub mod yaml;

pub use catalogue::{catalogue, Catalogue, Release, ServiceDef};
pub use error::{Error, Errors};
pub use model::{validate, Model};
pub use object::Object;
pub use tree::{render, File};
