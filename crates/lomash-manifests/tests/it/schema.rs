//! Strict schema: every object the tree holds is read back into its k8s-openapi type with
//! unknown fields as errors, so a misspelt field (`imagePullPolicyy`) fails here instead of
//! vanishing when the API server or Kustomize drops it. Base files and overlay resources are whole
//! objects; a patch is partial (no selector, no image…), so it is read as the object it produces:
//! merged onto the full production object (`common::apply_patch`) and that parsed strictly.

use crate::common;

use common::apply_patch;
use lomash_manifests::built::BuiltEnvironment;
use lomash_manifests::k8s::{base_objects, environment_objects};
use lomash_manifests::layout::{self, BASE_DIR};
use lomash_manifests::object::{parse_documents, Object};
use lomash_manifests::patch::strategic_merge_patch;
use lomash_manifests::{catalogue, render, validate, File};
use pretty_assertions::assert_eq;
use serde::Deserialize;
use serde_yaml::Value;

fn files() -> Vec<File> {
    render(&catalogue()).expect("the committed catalogue is valid")
}

fn is_kustomization(file: &File) -> bool {
    file.path.ends_with("/kustomization.yaml")
}

fn documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).expect("generated YAML parses"))
        .filter(|v| !v.is_null())
        .collect()
}

/// Reads every document of a patch file as the object it makes of its production object.
fn check_patches(path: &str, text: &str, production: &[Object]) -> Result<usize, String> {
    let mut checked = 0;
    for patch in documents(text) {
        let kind = patch["kind"].as_str().unwrap_or_default();
        let name = patch["metadata"]["name"].as_str().unwrap_or_default();
        let full = production
            .iter()
            .find(|o| o.kind() == kind && o.name() == name)
            .ok_or_else(|| format!("{path}: patches {kind}/{name}, which production does not have"))?;
        Object::from_value(&apply_patch(&full.to_value(), &patch)).map_err(|e| format!("{path}: {e}"))?;
        checked += 1;
    }
    Ok(checked)
}

#[test]
fn base_files_and_overlay_resources_parse_strictly() {
    let mut objects = 0;
    let objects_files = files().into_iter().filter(|f| f.path.ends_with(".yaml"));
    for file in objects_files.filter(|f| !is_kustomization(f) && !f.path.contains("/patches/")) {
        let parsed = parse_documents(&file.contents).unwrap_or_else(|e| panic!("{}: {e}", file.path));
        assert!(!parsed.is_empty(), "{} holds no object", file.path);
        objects += parsed.len();
    }
    // Every base object once; then each overlay's own objects (those its patches do not cover).
    let model = validate(&catalogue()).unwrap();
    let base: usize = model.services.iter().map(|s| base_objects(&model.platform, s).len()).sum();
    let overlays: usize =
        model.platform.environments.iter().map(|e| BuiltEnvironment::new(&model, e).objects.len() - base).sum();
    assert_eq!(
        objects,
        base + overlays,
        "objects in the base files and overlay resources: {base} base objects and {overlays} of the overlays' own"
    );
}

#[test]
fn every_patch_parses_strictly_as_the_object_it_produces() {
    let model = validate(&catalogue()).unwrap();
    let env = model.platform.environment("production").unwrap();
    let production = BuiltEnvironment::new(&model, env).objects;
    let mut checked = 0;
    let patches =
        files().into_iter().filter(|f| f.path.starts_with(&format!("{}/patches/", layout::overlay_dir("production"))));
    for file in patches.filter(|f| f.path.ends_with(".yaml")) {
        checked += check_patches(&file.path, &file.contents, &production).unwrap_or_else(|e| panic!("{e}"));
    }
    // Every base object carries the version label, which the overlay pins: each gets a patch.
    let base: usize = model.services.iter().map(|s| base_objects(&model.platform, s).len()).sum();
    assert_eq!(checked, base, "a patch for every base object of every service");
}

/// The negative case: the check above must catch a misspelt field in a patch.
#[test]
fn a_misspelt_field_in_a_patch_is_caught() {
    let model = validate(&catalogue()).unwrap();
    let env = model.platform.environment("production").unwrap();
    let production = BuiltEnvironment::new(&model, env).objects;
    let path = layout::patch_file("production", "auth-service");
    let file = files().into_iter().find(|f| f.path == path).unwrap();
    let auth = model.services.iter().find(|s| s.name == "auth-service").unwrap();
    assert_eq!(check_patches(&path, &file.contents, &production), Ok(base_objects(&model.platform, auth).len()));

    let field = "        imagePullPolicy: Always\n";
    assert!(file.contents.contains(field), "the patch sets the container's pull policy");
    let misspelt = file.contents.replacen(field, "        imagePullPolicyy: Always\n", 1);
    let error = check_patches(&path, &misspelt, &production).expect_err("imagePullPolicyy is not a field");
    assert!(error.contains("imagePullPolicyy"), "{error}");
    assert!(error.contains("auth-service"), "{error}");
}

#[test]
fn a_misspelt_field_in_a_base_object_is_caught() {
    let path = format!("{BASE_DIR}/auth-service.yaml");
    let file = files().into_iter().find(|f| f.path == path).unwrap();
    let misspelt = file.contents.replacen("  replicas: 1\n", "  replicass: 1\n", 1);
    assert_ne!(misspelt, file.contents);
    let error = parse_documents(&misspelt).expect_err("replicass is not a field");
    assert!(error.contains("replicass"), "{error}");
}

/// `apply_patch` is the inverse of [`strategic_merge_patch`]: base plus the derived patch is the
/// production object, for every object of every service. (Without Kustomize's `images:`, so the
/// image is in these patches too.)
#[test]
fn applying_each_derived_patch_to_its_base_gives_production() {
    let model = validate(&catalogue()).unwrap();
    let without_namespace = |o: &Object| {
        let mut v = o.to_value();
        v["metadata"].as_mapping_mut().unwrap().remove("namespace");
        v
    };
    for service in &model.services {
        let prod = environment_objects(&model.platform, &model.platform.environments[0], service);
        for base in base_objects(&model.platform, service) {
            let target = prod.iter().find(|p| p.kind() == base.kind() && p.name() == base.name()).unwrap();
            let merged = match strategic_merge_patch(&base.to_value(), &target.to_value()) {
                Some(patch) => apply_patch(&without_namespace(&base), &patch),
                None => without_namespace(&base),
            };
            assert_eq!(merged, without_namespace(target), "{}", target.id());
        }
    }
}

/// The rendered production overlay, as Kustomize builds it from the committed tree, read back
/// strictly: every object of it is a known type with known fields only.
#[test]
fn the_rendered_production_overlay_parses_strictly() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let yaml = common::kustomize(&root.join("generated"), &layout::overlay_dir("production"))
        .unwrap_or_else(|e| panic!("{e}"));
    let objects = parse_documents(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let model = validate(&catalogue()).unwrap();
    let intended = BuiltEnvironment::new(&model, model.platform.environment("production").unwrap()).objects.len();
    assert_eq!(objects.len(), intended, "objects kubectl renders from generated/, and objects production intends");
}
