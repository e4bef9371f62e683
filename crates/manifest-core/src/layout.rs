//! Where every generated file lives: one place that the tree, the docs, the tests, the bench and
//! `xtask` all read. A leaf: it imports nothing of the crate. Paths are relative to
//! [`GENERATED_DIR`] unless a name says otherwise.

/// One generated file, its path relative to `generated/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub contents: String,
}

/// Where the tree is written, from the workspace root.
pub const GENERATED_DIR: &str = "generated";
/// The base (development): one file per service and its `kustomization.yaml`.
pub const BASE_DIR: &str = "infra/kubernetes/base";
/// The folder that holds one overlay per environment.
pub const OVERLAYS_DIR: &str = "infra/kubernetes/overlays";

/// The overlay of an environment, e.g. `infra/kubernetes/overlays/production`.
pub fn overlay_dir(environment: &str) -> String {
    format!("{OVERLAYS_DIR}/{environment}")
}

pub fn base_kustomization() -> String {
    format!("{BASE_DIR}/kustomization.yaml")
}

pub fn base_file(service: &str) -> String {
    format!("{BASE_DIR}/{service}.yaml")
}

pub fn kustomization(environment: &str) -> String {
    format!("{}/kustomization.yaml", overlay_dir(environment))
}

/// `patches/<service>.yaml`, named as in the seed.
pub fn patch_file(environment: &str, service: &str) -> String {
    format!("{}/{}", overlay_dir(environment), patch_entry(service))
}

/// The objects only an environment has (HorizontalPodAutoscaler, PodDisruptionBudget): a patch
/// cannot create an object the base lacks, so they are resources of the overlay.
pub fn resource_file(environment: &str, service: &str) -> String {
    format!("{}/{}", overlay_dir(environment), resource_entry(service))
}

/// The objects of an environment that belong to no one service (its Namespace, …).
pub fn environment_file(environment: &str) -> String {
    format!("{}/{}", overlay_dir(environment), ENVIRONMENT_ENTRY)
}

/// How the overlay's `kustomization.yaml` names [`environment_file`].
pub const ENVIRONMENT_ENTRY: &str = "resources/environment.yaml";

/// The generated README of an environment's overlay.
pub fn readme(environment: &str) -> String {
    format!("{}/patches/README.md", overlay_dir(environment))
}

/// How the overlay's `kustomization.yaml` names a patch, relative to the overlay.
pub fn patch_entry(service: &str) -> String {
    format!("patches/{service}.yaml")
}

/// How the overlay's `kustomization.yaml` names a resource file, relative to the overlay.
pub fn resource_entry(service: &str) -> String {
    format!("resources/{service}.yaml")
}

/// The base, as an overlay's `kustomization.yaml` names it.
pub const BASE_FROM_OVERLAY: &str = "../../base";
