//! The spec's production rules: probes, resources, pinned tags pulled Always, the PDB below the
//! HPA, Service ports that reach a container, and the recorded scanner exceptions.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::pod::{Context, Pod, containers, per_container, pod_of};
use super::selectors::{deployments, map_selects, selector_problem};
use crate::conventions::{SCANNER_SKIP_PREFIX, scanner_exceptions_for};
use crate::object::Object;

pub(super) fn probes(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        if !c.main {
            return vec![];
        }
        c.probes.iter().filter(|(_, p)| p.is_none()).map(|(name, _)| format!("no {name}")).collect()
    })
}

pub(super) fn resources(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        let mut out = Vec::new();
        let r = c.resources.cloned().unwrap_or_default();
        for (kind, map) in [("requests", r.requests.unwrap_or_default()), ("limits", r.limits.unwrap_or_default())] {
            for resource in ["cpu", "memory"] {
                if map.get(resource).is_none_or(|q| q.0.is_empty()) {
                    out.push(format!("no {resource} {kind}"));
                }
            }
        }
        out
    })
}

/// The tag of an image reference, if any: what follows the last `:` after the last `/`.
pub(super) fn image_tag_of(image: &str) -> Option<&str> {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split_once(':').map(|(_, tag)| tag)
}

pub(super) fn image_tag(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        let Some(image) = c.image.filter(|i| !i.is_empty()) else { return vec!["no image".into()] };
        let digest = image.contains("@sha256:");
        match image_tag_of(image) {
            Some("latest") => vec![format!("image {image} uses the latest tag")],
            Some(t) if !t.is_empty() => vec![],
            _ if digest => vec![],
            _ => vec![format!("image {image} has no tag")],
        }
    })
}

pub(super) fn pull_policy(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| match c.pull_policy {
        Some("Always") => vec![],
        Some(p) => vec![format!("imagePullPolicy {p}")],
        None => vec!["imagePullPolicy not set".into()],
    })
}

pub(super) fn pdb_below_hpa(cx: &Context, o: &Object) -> Vec<String> {
    let Object::PodDisruptionBudget(p) = o else { return vec![] };
    let spec = p.spec.clone().unwrap_or_default();
    let min_available = match spec.min_available {
        Some(IntOrString::Int(n)) => n,
        Some(IntOrString::String(s)) => return vec![format!("minAvailable {s} is not a number of pods")],
        None => return vec!["no minAvailable".into()],
    };
    let ns = p.metadata.namespace.as_deref();
    let mut out = Vec::new();
    let selected = deployments(cx, ns).filter(|(_, l)| selector_problem(spec.selector.as_ref(), l).is_none());
    for (d, _) in selected {
        let name = d.metadata.name.clone().unwrap_or_default();
        let hpa = cx.lookup.hpa(d);
        match hpa {
            None => out.push(format!("no HPA scales Deployment/{name}")),
            Some(h) => {
                let min_replicas = h.min_replicas.unwrap_or(1);
                if min_available >= min_replicas {
                    out.push(format!(
                        "minAvailable {min_available} is not below minReplicas {min_replicas} of Deployment/{name}: \
                         node drains would block"
                    ));
                }
            }
        }
    }
    out
}

pub(super) fn service_port(cx: &Context, o: &Object) -> Vec<String> {
    let Object::Service(s) = o else { return vec![] };
    let spec = s.spec.clone().unwrap_or_default();
    let selector = spec.selector.unwrap_or_default();
    let ns = s.metadata.namespace.as_deref();
    let pods: Vec<(String, Vec<String>)> = deployments(cx, ns)
        .filter(|(_, l)| !selector.is_empty() && map_selects(&selector, l))
        .map(|(d, _)| {
            let names = pod_of(d)
                .map(|p| {
                    p.spec
                        .containers
                        .iter()
                        .flat_map(|c| c.ports.iter().flatten())
                        .filter_map(|p| p.name.clone())
                        .collect()
                })
                .unwrap_or_default();
            (d.metadata.name.clone().unwrap_or_default(), names)
        })
        .collect();
    let mut out = Vec::new();
    if pods.is_empty() {
        out.push("selects no Deployment's pods".into());
    }
    for port in spec.ports.iter().flatten() {
        let label = port.name.clone().unwrap_or_else(|| port.port.to_string());
        match &port.target_port {
            Some(IntOrString::String(name)) => {
                for (deployment, names) in &pods {
                    if !names.contains(name) {
                        out.push(format!("port {label}: Deployment/{deployment} has no container port named {name}"));
                    }
                }
            }
            Some(IntOrString::Int(n)) => out.push(format!("port {label}: targetPort {n} is a number, not a port name")),
            None => out.push(format!("port {label}: no targetPort")),
        }
    }
    out
}

pub(super) fn scanner_exceptions(cx: &Context, o: &Object) -> Vec<String> {
    let annotations = o.metadata().annotations.clone().unwrap_or_default();
    let mut out = Vec::new();
    let mut recorded = BTreeSet::new();
    for (key, value) in annotations.iter().filter(|(k, _)| k.starts_with(SCANNER_SKIP_PREFIX)) {
        match value.split_once('=') {
            Some((id, reason)) if !reason.is_empty() && !reason.contains('=') => {
                if !cx.exceptions.declared.iter().any(|(known, _)| known == id) {
                    out.push(format!("{key}: {id} is not an exception the platform declares"));
                }
                recorded.insert(id.to_owned());
            }
            _ => out.push(format!("{key}: not of the form CHECK_ID=reason (one `=`, a reason after it)")),
        }
    }
    // What the Deployment needs excepting follows from what it runs: a pod pinned by digest
    // throughout meets the digest check, and an exception for it would hide a regression.
    let images: Vec<&str> = match o {
        Object::Deployment(d) => pod_of(d).map(|p| containers(p.spec).into_iter().filter_map(|c| c.image).collect()),
        _ => None,
    }
    .unwrap_or_default();
    let needed = scanner_exceptions_for(&cx.exceptions.declared, cx.exceptions.met_by_digest.as_deref(), images);
    for (id, _) in needed.iter().copied() {
        if !recorded.contains(id) {
            out.push(format!("exception {id} is not recorded"));
        }
    }
    for id in recorded.iter().filter(|id| cx.exceptions.declared.iter().any(|(k, _)| k == *id)) {
        if !needed.iter().any(|(n, _)| n == id) {
            out.push(format!(
                "exception {id} is recorded, but every image is pinned by digest: the check passes on its own"
            ));
        }
    }
    out
}
