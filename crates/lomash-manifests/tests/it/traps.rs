//! The Kustomize traps that break production silently, checked on the generated tree without
//! running kustomize: deprecated fields, patches that match nothing, namespaces in patches,
//! lists that a patch replaces instead of merging, init-container order, empty noise, secrets.

use lomash_manifests::{catalogue, platform, render, File};
use serde_yaml::Value;

const BASE: &str = "infra/kubernetes/base";
const OVERLAY: &str = "infra/kubernetes/overlays/production";

fn files() -> Vec<File> {
    render(&catalogue()).expect("the catalogue is valid")
}

fn file<'a>(files: &'a [File], path: &str) -> &'a str {
    &files.iter().find(|f| f.path == path).unwrap_or_else(|| panic!("{path} is not generated")).contents
}

fn documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text).map(|d| serde::Deserialize::deserialize(d).unwrap()).collect()
}

fn service_names() -> Vec<String> {
    catalogue().services.iter().map(|s| s.name.clone()).collect()
}

fn str_list(v: &Value) -> Vec<String> {
    v.as_sequence().into_iter().flatten().map(|i| i.as_str().unwrap_or_default().to_owned()).collect()
}

#[test]
fn the_overlay_kustomization_uses_resources_patches_and_images_for_every_service() {
    let files = files();
    let k = &documents(file(&files, &format!("{OVERLAY}/kustomization.yaml")))[0];
    assert!(k.get("bases").is_none(), "`bases` is deprecated: kustomize warns about it");
    assert!(k.get("patchesStrategicMerge").is_none(), "`patchesStrategicMerge` is deprecated");
    assert_eq!(k["namespace"].as_str(), Some("lomash-wood-production"));
    let resources = str_list(&k["resources"]);
    assert_eq!(resources.first().map(String::as_str), Some("../../base"));
    let names = service_names();
    assert!(!names.is_empty(), "the catalogue has no service");
    let patches: Vec<String> =
        k["patches"].as_sequence().unwrap().iter().map(|p| p["path"].as_str().unwrap().to_owned()).collect();
    let want: Vec<String> = names.iter().map(|n| format!("patches/{n}.yaml")).collect();
    assert_eq!(patches, want, "the overlay's patches: one per service, in catalogue order");
    for patch in &patches {
        assert!(files.iter().any(|f| f.path == format!("{OVERLAY}/{patch}")), "{patch} is listed but not generated");
    }
    for r in &resources[1..] {
        assert!(files.iter().any(|f| f.path == format!("{OVERLAY}/{r}")), "{r} is listed but not generated");
    }
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let images: Vec<(Option<String>, Option<String>, Option<String>)> = k["images"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| (text(&i["name"]), text(&i["newName"]), text(&i["newTag"])))
        .collect();
    // docs/spec.md ("Go-live") §1: every service from the company's registry at its release tag (taken from
    // the release: a release breaks nothing), then the init images through the registry's
    // pull-through cache of Docker Hub, their tags unchanged.
    let registry = "123456789012.dkr.ecr.eu-west-2.amazonaws.com";
    let c = catalogue();
    let tags = c.release.tags_for("production").expect("the release pins production");
    let mut want: Vec<(Option<String>, Option<String>, Option<String>)> = c
        .services
        .iter()
        .map(|s| {
            let tag = tags.get(&s.name).cloned().unwrap_or_else(|| format!("no tag for {}", s.name));
            (Some(s.image.clone()), Some(format!("{registry}/{}", s.image)), Some(tag))
        })
        .collect();
    for hub in ["postgres", "redis"] {
        want.push((Some(hub.to_owned()), Some(format!("{registry}/docker-hub/library/{hub}")), None));
    }
    assert_eq!(images, want, "the overlay's images: one per service, at the release's tag, and the init images");
    // The base keeps the bare names: development pulls them as they are.
    let base: String =
        files.iter().filter(|f| f.path.starts_with("infra/kubernetes/base/")).map(|f| f.contents.clone()).collect();
    assert!(!base.contains(registry), "the base names no registry");
}

/// One patch file per service, `<service>.yaml`, the seed's nine among them under the seed's names.
#[test]
fn the_patch_files_are_named_as_in_the_seed() {
    let files = files();
    let mut patches: Vec<&str> = files
        .iter()
        .filter_map(|f| f.path.strip_prefix(&format!("{OVERLAY}/patches/")))
        .filter(|p| p.ends_with(".yaml"))
        .collect();
    patches.sort();
    let mut want: Vec<String> = service_names().iter().map(|n| format!("{n}.yaml")).collect();
    want.sort();
    assert_eq!(patches, want, "one patch file per service of the catalogue");
    let seed = [
        "analytics-service.yaml",
        "api-gateway.yaml",
        "appointment-service.yaml",
        "auth-service.yaml",
        "content-service.yaml",
        "customer-service.yaml",
        "notification-service.yaml",
        "order-payment-service.yaml",
        "product-service.yaml",
    ];
    let missing: Vec<&str> = seed.iter().copied().filter(|s| !patches.contains(s)).collect();
    assert!(missing.is_empty(), "the seed's patch files {missing:?} are not generated");
}

/// Each patch document with the base object it patches.
fn patch_targets(files: &[File]) -> Vec<(String, Value, Value)> {
    let base: Vec<Value> =
        service_names().iter().flat_map(|n| documents(file(files, &format!("{BASE}/{n}.yaml")))).collect();
    let mut pairs = Vec::new();
    for n in service_names() {
        for patch in documents(file(files, &format!("{OVERLAY}/patches/{n}.yaml"))) {
            let id = format!("{}/{}", patch["kind"].as_str().unwrap(), patch["metadata"]["name"].as_str().unwrap());
            let target = base
                .iter()
                .find(|b| b["kind"] == patch["kind"] && b["metadata"]["name"] == patch["metadata"]["name"])
                .unwrap_or_else(|| panic!("patches/{n}.yaml: {id} matches no base object"))
                .clone();
            pairs.push((format!("patches/{n}.yaml {id}"), patch, target));
        }
    }
    pairs
}

#[test]
fn every_patch_targets_a_base_object_and_carries_no_namespace() {
    let files = files();
    let pairs = patch_targets(&files);
    let services = service_names().len();
    // Every base object (ServiceAccount, ConfigMap, Service, Deployment) carries the version label
    // the overlay pins, so each gets a patch.
    assert_eq!(
        pairs.len(),
        4 * services,
        "a ServiceAccount, ConfigMap, Service and Deployment patch for each of the {services} services"
    );
    for (id, patch, target) in &pairs {
        assert_eq!(patch["apiVersion"], target["apiVersion"], "{id}");
        assert!(
            patch["metadata"].get("namespace").is_none(),
            "{id}: patches are matched before the overlay's namespace applies"
        );
    }
}

/// Kustomize's merge keys for the lists our objects hold, from the Kubernetes OpenAPI schema
/// (`x-kubernetes-patch-merge-key`), written out here independently of the generator's table.
fn merge_key(field: &str, sample: Option<&Value>) -> Option<&'static str> {
    match field {
        "containers" | "initContainers" | "volumes" | "env" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "topologySpreadConstraints" => Some("topologyKey"),
        "ports" if sample.is_some_and(|s| s.get("containerPort").is_some()) => Some("containerPort"),
        "ports" => Some("port"),
        _ => None,
    }
}

/// Walks a patch beside its target; for every list Kustomize replaces wholesale, the patch must
/// restate every element the base has.
fn replaced_lists_restated(path: &str, patch: &Value, base: &Value, problems: &mut Vec<String>) {
    let (Value::Mapping(p), Value::Mapping(b)) = (patch, base) else { return };
    for (k, pv) in p {
        let Some(bv) = b.get(k) else { continue };
        let key = k.as_str().unwrap_or_default();
        let (Value::Sequence(ps), Value::Sequence(bs)) = (pv, bv) else {
            replaced_lists_restated(&format!("{path}.{key}"), pv, bv, problems);
            continue;
        };
        match merge_key(key, bs.first()) {
            None => {
                for element in bs.iter().filter(|e| !ps.contains(e)) {
                    problems.push(format!("{path}.{key}: drops base element {element:?}"));
                }
            }
            Some(mk) => {
                for pe in ps {
                    if let Some(be) = bs.iter().find(|be| be.get(mk) == pe.get(mk)) {
                        let label = format!("{path}.{key}[{}]", pe[mk].as_str().unwrap_or("?"));
                        replaced_lists_restated(&label, pe, be, problems);
                    }
                }
            }
        }
    }
}

#[test]
fn lists_that_kustomize_replaces_are_restated_whole() {
    let files = files();
    let mut problems = Vec::new();
    for (id, patch, target) in patch_targets(&files) {
        replaced_lists_restated(&id, &patch, &target, &mut problems);
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The case that matters most: production's envFrom keeps the ConfigMap and adds the secret.
    let auth = documents(file(&files, &format!("{OVERLAY}/patches/auth-service.yaml")));
    let deployment = auth.iter().find(|d| d["kind"] == "Deployment").unwrap();
    let env_from = &deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"];
    assert_eq!(env_from[0]["configMapRef"]["name"], "auth-service-config");
    assert_eq!(env_from[1]["secretRef"]["name"], "auth-service-secret");
}

#[test]
fn the_walker_sees_a_replaced_list_that_drops_a_base_element() {
    let patch: Value =
        serde_yaml::from_str("spec: {containers: [{name: a, envFrom: [{secretRef: {name: s}}]}]}").unwrap();
    let base: Value =
        serde_yaml::from_str("spec: {containers: [{name: a, envFrom: [{configMapRef: {name: c}}]}]}").unwrap();
    let mut problems = Vec::new();
    replaced_lists_restated("p", &patch, &base, &mut problems);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("p.spec.containers[a].envFrom: drops base element"), "{problems:?}");
}

#[test]
fn init_containers_come_in_the_order_they_must_run() {
    let files = files();
    for def in catalogue().services {
        let n = &def.name;
        let docs = documents(file(&files, &format!("{OVERLAY}/patches/{n}.yaml")));
        let deployment = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
        let names: Vec<&str> = deployment["spec"]["template"]["spec"]["initContainers"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        // Wait for each store the service uses (its migrations run in the release's Job).
        let want: Vec<&str> =
            [(def.uses_store("postgres"), "wait-for-postgres"), (def.uses_store("redis"), "wait-for-redis")]
                .into_iter()
                .filter_map(|(used, name)| used.then_some(name))
                .collect();
        assert_eq!(names, want, "{n}: the init containers, in order");
    }
}

fn empty_noise(path: &str, v: &Value, found: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, child) in m {
                let key = k.as_str().unwrap_or_default();
                let here = format!("{path}.{key}");
                // In a patch, `null` is the strategic merge's "delete this field" (production drops
                // the base's `replicas`); anywhere else it is noise.
                let deletes = path.contains("/patches/") && matches!(child, Value::Null);
                let empty = (matches!(child, Value::Null) && !deletes)
                    || child.as_mapping().is_some_and(|m| m.is_empty())
                    || child.as_sequence().is_some_and(|s| s.is_empty());
                // `emptyDir: {}` is how Kubernetes spells "an emptyDir with defaults", and a
                // NetworkPolicy's `podSelector: {}` (a required field) "every pod of the namespace".
                if empty && key != "emptyDir" && key != "podSelector" {
                    found.push(here.clone());
                }
                empty_noise(&here, child, found);
            }
        }
        Value::Sequence(s) => s.iter().for_each(|c| empty_noise(path, c, found)),
        _ => {}
    }
}

#[test]
fn generated_yaml_has_no_empty_noise() {
    // The catalogue, and one with a service that uses nothing (no init container at all), as
    // `cargo xtask new-service <name> --port <n>` starts one: it once rendered `initContainers: []`.
    let mut edgeless = catalogue();
    let name = (0..).map(|i| format!("edgeless-{i}")).find(|n| edgeless.services.iter().all(|s| s.name != *n)).unwrap();
    let port = edgeless.services.iter().map(|s| s.port).max().unwrap_or(3000) + 1;
    edgeless.services.push(platform::service(&name, port).cpu("250m", "1000m").memory("256Mi", "1Gi"));
    edgeless.release.set_tag_everywhere(&name, "1.0.0");
    for c in [catalogue(), edgeless] {
        let mut found = Vec::new();
        for f in render(&c).expect("valid").iter().filter(|f| f.path.ends_with(".yaml")) {
            for doc in documents(&f.contents) {
                empty_noise(&f.path, &doc, &mut found);
            }
        }
        assert!(found.is_empty(), "empty fields (e.g. `selector: {{}}`) in generated YAML: {found:#?}");
    }
}

#[test]
fn nothing_secret_is_generated() {
    for f in files() {
        let yaml = if f.path.ends_with(".yaml") { documents(&f.contents) } else { Vec::new() };
        for doc in yaml {
            assert_ne!(doc["kind"], "Secret", "{}: Secrets are provisioned outside the repository", f.path);
            for key in doc.get("data").and_then(Value::as_mapping).into_iter().flatten().map(|(k, _)| k) {
                let key = key.as_str().unwrap().to_uppercase();
                for marker in [
                    "PASSWORD",
                    "PASSWD",
                    "TOKEN",
                    "SECRET",
                    "API_KEY",
                    "APIKEY",
                    "PRIVATE_KEY",
                    "ACCESS_KEY",
                    "DATABASE_URL",
                    "DSN",
                    "CREDENTIAL",
                ] {
                    assert!(!key.contains(marker), "{}: {key} looks secret", f.path);
                }
            }
        }
        for (i, _) in f.contents.match_indices("://") {
            let authority = f.contents[i + 3..].split(['/', ' ', '\n', '"', '\'']).next().unwrap_or_default();
            assert!(!authority.contains('@'), "{}: a URL with credentials", f.path);
        }
    }
}

#[test]
fn every_file_has_the_generated_header_and_ends_with_a_newline() {
    for f in files() {
        assert!(f.contents.ends_with('\n'), "{}", f.path);
        if f.path.ends_with(".yaml") {
            assert!(f.contents.starts_with("# Generated by `cargo xtask generate`"), "{}", f.path);
        }
    }
}

#[test]
fn rendering_is_deterministic() {
    assert_eq!(files(), files());
}

/// Validation's list of the platform's ConfigMap keys is the list the renderer writes: a spec
/// sheet can then never set (and silently override) a derived key such as `NODE_OPTIONS`. Read on
/// every service's base ConfigMap, which holds the platform's keys and the gateway's routes only.
#[test]
fn the_platform_keys_validation_knows_are_the_ones_rendered() {
    use lomash_manifests::k8s::base_objects;
    use lomash_manifests::model::platform_config_keys;
    use lomash_manifests::{validate, Object};

    let model = validate(&catalogue()).unwrap();
    for s in &model.services {
        let data = base_objects(&model.platform, s)
            .into_iter()
            .find_map(|o| match o {
                Object::ConfigMap(cm) => cm.data,
                _ => None,
            })
            .expect("a base ConfigMap");
        let mut rendered: Vec<&str> =
            data.keys().map(String::as_str).filter(|k| !s.upstreams.iter().any(|(u, _)| u == k)).collect();
        let mut known = platform_config_keys(&model.platform, &s.uses);
        rendered.sort();
        known.sort();
        assert_eq!(rendered, known, "{}", s.name);
    }
}
