//! Derives a strategic-merge patch from two versions of an object: what the overlay sees of the
//! base, and an environment's intent. The patch holds only what differs, and follows Kustomize's
//! merge rules so that applying it gives back the environment's object exactly:
//! - maps merge key by key; a key the environment drops becomes `null`;
//! - lists with a merge key (`containers` by `name`, `volumeMounts` by `mountPath`, …) carry only
//!   the changed elements, each with its key; an element the environment drops gets `$patch: delete`;
//! - every other list (`envFrom`, `command`, `args`, `tolerations`, affinity terms, …) is
//!   replaced wholesale by Kustomize, so a changed one is restated whole.

use serde_yaml::Value;

use crate::node::{self, Map, Node};

/// The patch turning `base` into `target` (the trees of two versions of one object), or `None`
/// when they are equal. Namespaces are left out: patches are matched before the overlay's
/// namespace applies. `target` is taken by value: the patch is made of its parts, moved, not
/// copied.
pub fn derive(base: &Node, target: Node) -> Option<Node> {
    let (Node::Map(base), Node::Map(target)) = (base, target) else { unreachable!("objects serialise to mappings") };
    let name = node::get(&target, "metadata").and_then(|m| m.get("name")).cloned().unwrap_or(Node::Null);
    let type_keys: Vec<(node::Key, Node)> = ["apiVersion", "kind"]
        .into_iter()
        .map(|k| (k.into(), node::get(&target, k).cloned().unwrap_or(Node::Null)))
        .collect();
    let mut diff = diff_map(base, target);
    let mut metadata: Map = vec![("name".into(), name)];
    if let Some(Node::Map(meta)) = node::swap_remove(&mut diff, "metadata") {
        for (k, v) in meta.into_iter().filter(|(k, _)| k != "namespace") {
            node::insert(&mut metadata, k, v);
        }
    }
    if diff.is_empty() && metadata.len() == 1 {
        return None;
    }
    let mut patch = type_keys;
    patch.push(("metadata".into(), Node::Map(metadata)));
    for (k, v) in diff {
        node::insert(&mut patch, k, v);
    }
    Some(Node::Map(patch))
}

/// [`derive`] on two `serde_yaml::Value`s, for callers that hold values.
pub fn strategic_merge_patch(base: &Value, target: &Value) -> Option<Value> {
    let patch = derive(&Node::of(base), Node::of(target))?;
    Some(serde_yaml::to_value(&patch).expect("a tree serialises to YAML"))
}

fn diff_map(base: &Map, target: Map) -> Map {
    // The keys only the base has, found before the target's entries move out.
    let dropped: Vec<node::Key> =
        base.iter().filter(|(k, _)| node::get(&target, k).is_none()).map(|(k, _)| k.clone()).collect();
    let mut out = Map::new();
    for (key, t) in target {
        let changed = match node::get(base, &key) {
            None => Some(t),
            Some(b) if *b == t => None,
            Some(Node::Map(b)) => match t {
                Node::Map(t) => Some(Node::Map(diff_map(b, t))),
                t => Some(t),
            },
            Some(Node::Seq(b)) => match t {
                Node::Seq(t) => Some(diff_list(&key, b, t)),
                t => Some(t),
            },
            Some(_) => Some(t),
        };
        if let Some(v) = changed {
            out.push((key, v));
        }
    }
    out.extend(dropped.into_iter().map(|k| (k, Node::Null)));
    out
}

/// Kustomize's merge key for a list field, as in the Kubernetes OpenAPI schema
/// (`x-kubernetes-patch-merge-key`); `None` for lists it replaces wholesale. `sample` is an
/// element of the list (container ports and Service ports share the field name `ports`).
pub fn merge_key(field: &str, sample: Option<&Value>) -> Option<&'static str> {
    key_of(field, sample.is_some_and(|s| s.get("containerPort").is_some()))
}

/// [`merge_key`], told whether the list's elements are container ports.
fn key_of(field: &str, container_ports: bool) -> Option<&'static str> {
    Some(match field {
        "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "env" | "imagePullSecrets" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "topologySpreadConstraints" => "topologyKey",
        "hostAliases" => "ip",
        // Container ports merge by containerPort, Service ports by port.
        "ports" if container_ports => "containerPort",
        "ports" => "port",
        _ => return None,
    })
}

fn diff_list(field: &str, base: &[Node], target: Vec<Node>) -> Node {
    let sample = target.first().or(base.first());
    let Some(key) = key_of(field, sample.is_some_and(|s| s.get("containerPort").is_some())) else {
        return Node::Seq(target);
    };
    if base.iter().chain(&target).any(|v| v.get(key).is_none()) {
        return Node::Seq(target);
    }
    let find = |list: &[Node], k: &Node| list.iter().position(|v| v.get(key) == Some(k));
    let target_keys: Vec<Node> = target.iter().map(|t| t.get(key).cloned().expect("checked above")).collect();
    // Which of the target's elements the patch carries: the new ones and the changed ones.
    let carried: Vec<bool> =
        target.iter().zip(&target_keys).map(|(t, k)| find(base, k).is_none_or(|b| base[b] != *t)).collect();

    // Kustomize puts the patch's elements first, then the base's others in their order. Where
    // that is not the environment's order, restate every element so the order comes out right.
    let in_patch = |k: &Node| target_keys.iter().zip(&carried).any(|(t, c)| *c && t == k);
    let merged_order: Vec<&Node> = target_keys
        .iter()
        .zip(&carried)
        .filter(|(_, c)| **c)
        .map(|(k, _)| k)
        .chain(base.iter().map(|b| b.get(key).expect("checked above")).filter(|k| !in_patch(k)))
        .filter(|k| target_keys.contains(k))
        .collect();
    let restate = !merged_order.iter().copied().eq(target_keys.iter());

    let mut out = Vec::new();
    for ((t, k), carried) in target.into_iter().zip(&target_keys).zip(carried) {
        if restate {
            out.push(key_first(key, t));
            continue;
        }
        if !carried {
            continue;
        }
        match find(base, k) {
            None => out.push(key_first(key, t)),
            Some(b) => {
                let (Node::Map(b), Node::Map(t)) = (&base[b], t) else { unreachable!("keyed elements are maps") };
                let mut element: Map = vec![(key.into(), k.clone())];
                for (k, v) in diff_map(b, t) {
                    node::insert(&mut element, k, v);
                }
                out.push(Node::Map(element));
            }
        }
    }
    for b in base {
        let k = b.get(key).expect("checked above");
        if !target_keys.contains(k) {
            out.push(Node::Map(vec![(key.into(), k.clone()), ("$patch".into(), Node::str("delete"))]));
        }
    }
    Node::Seq(out)
}

/// A list element with its merge key first, as a careful hand-written patch puts it.
fn key_first(key: &str, element: Node) -> Node {
    let Node::Map(mut m) = element else { return element };
    if let Some(i) = m.iter().position(|(k, _)| k == key) {
        let entry = m.remove(i);
        m.insert(0, entry);
    }
    Node::Map(m)
}
