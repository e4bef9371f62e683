//! Derives a strategic-merge patch from two versions of an object: what the overlay sees of the
//! base, and an environment's intent. The patch holds only what differs, and follows Kustomize's
//! merge rules so that applying it gives back the environment's object exactly:
//! - maps merge key by key; a key the environment drops becomes `null`;
//! - lists with a merge key (`containers` by `name`, `volumeMounts` by `mountPath`, …) carry only
//!   the changed elements, each with its key; an element the environment drops gets `$patch: delete`;
//! - every other list (`envFrom`, `command`, `args`, `tolerations`, affinity terms, …) is
//!   replaced wholesale by Kustomize, so a changed one is restated whole.

use serde_yaml::{Mapping, Value};

/// The patch turning `base` into `target` (the YAML values of two versions of one object), or
/// `None` when they are equal. Namespaces are left out: patches are matched before the overlay's
/// namespace applies.
pub fn strategic_merge_patch(base: &Value, target: &Value) -> Option<Value> {
    let (Value::Mapping(base), Value::Mapping(target)) = (base, target) else {
        unreachable!("objects serialise to mappings")
    };
    let mut diff = diff_map(base, target);
    let mut metadata = Mapping::new();
    metadata.insert("name".into(), target["metadata"]["name"].clone());
    if let Some(Value::Mapping(meta)) = diff.remove("metadata") {
        metadata.extend(meta.into_iter().filter(|(k, _)| k.as_str() != Some("namespace")));
    }
    if diff.is_empty() && metadata.len() == 1 {
        return None;
    }
    let mut patch = Mapping::new();
    for key in ["apiVersion", "kind"] {
        patch.insert(key.into(), target[key].clone());
    }
    patch.insert("metadata".into(), Value::Mapping(metadata));
    patch.extend(diff);
    Some(Value::Mapping(patch))
}

fn diff_map(base: &Mapping, target: &Mapping) -> Mapping {
    let mut out = Mapping::new();
    for (key, t) in target {
        let changed = match base.get(key) {
            None => Some(t.clone()),
            Some(b) if b == t => None,
            Some(Value::Mapping(b)) => match t {
                Value::Mapping(t) => Some(Value::Mapping(diff_map(b, t))),
                _ => Some(t.clone()),
            },
            Some(Value::Sequence(b)) => match t {
                Value::Sequence(t) => Some(diff_list(key.as_str().unwrap_or_default(), b, t)),
                _ => Some(t.clone()),
            },
            Some(_) => Some(t.clone()),
        };
        if let Some(v) = changed {
            out.insert(key.clone(), v);
        }
    }
    for key in base.keys() {
        if !target.contains_key(key) {
            out.insert(key.clone(), Value::Null);
        }
    }
    out
}

/// Kustomize's merge key for a list field, as in the Kubernetes OpenAPI schema
/// (`x-kubernetes-patch-merge-key`); `None` for lists it replaces wholesale.
pub fn merge_key(field: &str, sample: Option<&Value>) -> Option<&'static str> {
    Some(match field {
        "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "env" | "imagePullSecrets" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "topologySpreadConstraints" => "topologyKey",
        "hostAliases" => "ip",
        // Container ports merge by containerPort, Service ports by port.
        "ports" if sample.is_some_and(|s| s.get("containerPort").is_some()) => "containerPort",
        "ports" => "port",
        _ => return None,
    })
}

fn diff_list(field: &str, base: &[Value], target: &[Value]) -> Value {
    let Some(key) = merge_key(field, target.first().or(base.first())) else {
        return Value::Sequence(target.to_vec());
    };
    let keyed = |v: &Value| v.get(key).cloned();
    if base.iter().chain(target).any(|v| keyed(v).is_none()) {
        return Value::Sequence(target.to_vec());
    }
    let find = |list: &[Value], k: &Value| list.iter().find(|v| v.get(key) == Some(k)).cloned();

    let mut out = Vec::new();
    for t in target {
        let k = keyed(t).expect("checked above");
        match find(base, &k) {
            None => out.push(key_first(key, t)),
            Some(b) if &b == t => {}
            Some(b) => {
                let (Value::Mapping(b), Value::Mapping(t)) = (b, t) else { unreachable!("keyed elements are maps") };
                let mut element = Mapping::new();
                element.insert(key.into(), k);
                element.extend(diff_map(&b, t));
                out.push(Value::Mapping(element));
            }
        }
    }
    // Kustomize puts the patch's elements first, then the base's others in their order. Where
    // that is not the environment's order, restate every element so the order comes out right.
    let in_patch = |v: &Value| out.iter().any(|p| p.get(key) == v.get(key));
    let merged_order: Vec<Option<&Value>> = out
        .iter()
        .map(|p| p.get(key))
        .chain(base.iter().filter(|b| !in_patch(b)).map(|b| b.get(key)))
        .filter(|k| target.iter().any(|t| t.get(key) == *k))
        .collect();
    let target_order: Vec<Option<&Value>> = target.iter().map(|t| t.get(key)).collect();
    if merged_order != target_order {
        out = target.iter().map(|t| key_first(key, t)).collect();
    }
    for b in base {
        let k = keyed(b).expect("checked above");
        if find(target, &k).is_none() {
            let mut element = Mapping::new();
            element.insert(key.into(), k);
            element.insert("$patch".into(), "delete".into());
            out.push(Value::Mapping(element));
        }
    }
    Value::Sequence(out)
}

/// A list element with its merge key first, as a careful hand-written patch puts it.
fn key_first(key: &str, element: &Value) -> Value {
    let Value::Mapping(m) = element else { return element.clone() };
    let mut out = Mapping::new();
    if let Some(k) = m.get(key) {
        out.insert(key.into(), k.clone());
    }
    out.extend(m.iter().filter(|(k, _)| k.as_str() != Some(key)).map(|(k, v)| (k.clone(), v.clone())));
    Value::Mapping(out)
}
