//! The fully rendered manifests of one environment, computed in process from the model, in
//! kustomize's order and written with the same YAML writer (and key order) as the files of
//! `generated/`. `cargo xtask render` prints them; a test checks they equal what
//! `kubectl kustomize` makes of the generated overlay.

use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

use crate::built::BuiltEnvironment;
use crate::layout::{self, GENERATED_DIR};
use crate::model::Model;
use crate::object::Object;

/// kustomize's `legacy` order puts these kinds first, in this order (those of its list that the
/// tree holds). Kinds it does not list (HorizontalPodAutoscaler, NetworkPolicy) come after them,
/// ordered by `group_version_Kind` (`~G` for the core group), as kustomize's `Gvk.IsLessThan`
/// compares them (`legacySortString`).
const ORDER: [&str; 6] = [
    Namespace::KIND,
    ServiceAccount::KIND,
    ConfigMap::KIND,
    Service::KIND,
    Deployment::KIND,
    PodDisruptionBudget::KIND,
];

/// How kustomize orders the kinds its list does not name: by `group_version_kind`, where an empty
/// group is written `~G` and so sorts after every named one (the HorizontalPodAutoscaler of
/// `autoscaling` comes before the ExternalSecret of `external-secrets.io`).
fn gvk(o: &Object) -> String {
    let group = if o.group().is_empty() { "~G" } else { o.group() };
    format!("{group}_{}_{}", o.version(), o.kind())
}

/// The objects of `env` in kustomize's legacy order: the listed kinds first, the others by
/// [`gvk`], then by name (they all share the environment's namespace).
pub fn ordered<'b>(built: &'b BuiltEnvironment) -> Vec<&'b Object> {
    let rank = |o: &Object| ORDER.iter().position(|k| *k == o.kind()).unwrap_or(ORDER.len());
    let mut objects: Vec<&Object> = built.objects.iter().collect();
    objects.sort_by_cached_key(|o| (rank(o), gvk(o), o.name().to_owned()));
    objects
}

/// Multi-document YAML of the objects of one environment.
pub fn text(model: &Model, built: &BuiltEnvironment) -> String {
    let env = built.env;
    let mut out = format!(
        "# {} manifests computed by `cargo xtask render` from {}\n\
         # (the same objects `kubectl kustomize {GENERATED_DIR}/{}` yields).\n",
        env.name,
        model.platform.docs.catalogue_dir,
        layout::overlay_dir(&env.name)
    );
    for (i, object) in ordered(built).iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        crate::yaml::write(&object.to_node(), &mut out);
    }
    out
}
