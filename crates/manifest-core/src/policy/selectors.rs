//! Selectors that select what they mean: Deployments, Services and PDBs select exactly their
//! service's pods, scheduling selectors match the pod's own labels, HPAs target a Deployment.

use std::collections::BTreeMap;

use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::pod::{Context, Pod, pod_of};
use crate::object::Object;

pub(super) fn scheduling_selectors(_: &Context, pod: &Pod) -> Vec<String> {
    let mut out = Vec::new();
    let anti = pod.spec.affinity.as_ref().and_then(|a| a.pod_anti_affinity.as_ref());
    let required = anti.and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref());
    let preferred = anti.and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref());
    let terms = required.into_iter().flatten().chain(preferred.into_iter().flatten().map(|w| &w.pod_affinity_term));
    for (i, term) in terms.enumerate() {
        if let Some(p) = selector_problem(term.label_selector.as_ref(), &pod.labels) {
            out.push(format!("podAntiAffinity term {i}: {p}"));
        }
    }
    for (i, c) in pod.spec.topology_spread_constraints.iter().flatten().enumerate() {
        if let Some(p) = selector_problem(c.label_selector.as_ref(), &pod.labels) {
            out.push(format!("topologySpreadConstraint {i}: {p}"));
        }
    }
    out
}

/// Why `selector` does not select `labels`, or `None` when it does. An empty selector selects
/// every pod in the namespace: never what a service-scoped selector means.
pub(super) fn selector_problem(selector: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> Option<String> {
    let Some(s) = selector else { return Some("no selector".into()) };
    let exprs = s.match_expressions.as_deref().unwrap_or_default();
    let pairs = s.match_labels.clone().unwrap_or_default();
    if pairs.is_empty() && exprs.is_empty() {
        return Some("empty selector selects every pod".into());
    }
    if !map_selects(&pairs, labels) {
        return Some(format!("matchLabels {} do not match the pod labels", show(&pairs)));
    }
    for e in exprs {
        let value = labels.get(&e.key);
        let values = e.values.as_deref().unwrap_or_default();
        let ok = match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        };
        if !ok {
            return Some(format!("matchExpression {} {} {values:?} does not match the pod labels", e.key, e.operator));
        }
    }
    None
}

pub(super) fn map_selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

pub(super) fn show(map: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", pairs.join(","))
}

/// The Deployments in `namespace` with their pod labels.
pub(super) fn deployments<'a>(
    cx: &'a Context,
    namespace: Option<&'a str>,
) -> impl Iterator<Item = (&'a Deployment, BTreeMap<String, String>)> + 'a {
    cx.objects.iter().filter_map(move |o| match o {
        Object::Deployment(d) if d.metadata.namespace.as_deref() == namespace => {
            let labels = pod_of(d).map(|p| p.labels).unwrap_or_default();
            Some((&**d, labels))
        }
        _ => None,
    })
}

pub(super) fn deployment_selector(_: &Context, o: &Object) -> Vec<String> {
    let Object::Deployment(d) = o else { return vec![] };
    let labels = pod_of(d).map(|p| p.labels).unwrap_or_default();
    selector_problem(d.spec.as_ref().map(|s| &s.selector), &labels).into_iter().collect()
}

pub(super) fn service_selector(cx: &Context, o: &Object) -> Vec<String> {
    let Object::Service(s) = o else { return vec![] };
    let selector = s.spec.as_ref().and_then(|s| s.selector.clone()).unwrap_or_default();
    if selector.is_empty() {
        return vec!["no selector".into()];
    }
    let ns = s.metadata.namespace.as_deref();
    if deployments(cx, ns).any(|(_, labels)| map_selects(&selector, &labels)) {
        vec![]
    } else {
        vec![format!("selector {} matches the pods of no Deployment", show(&selector))]
    }
}

pub(super) fn pdb_selector(cx: &Context, o: &Object) -> Vec<String> {
    let Object::PodDisruptionBudget(p) = o else { return vec![] };
    let selector = p.spec.as_ref().and_then(|s| s.selector.as_ref());
    let ns = p.metadata.namespace.as_deref();
    let problems: Vec<String> = deployments(cx, ns).filter_map(|(_, l)| selector_problem(selector, &l)).collect();
    if problems.len() < deployments(cx, ns).count() {
        vec![]
    } else {
        let why = problems.into_iter().next().unwrap_or_else(|| "no Deployment in its namespace".into());
        vec![format!("selects the pods of no Deployment ({why})")]
    }
}

pub(super) fn hpa_target(cx: &Context, o: &Object) -> Vec<String> {
    let Object::HorizontalPodAutoscaler(h) = o else { return vec![] };
    let Some(target) = h.spec.as_ref().map(|s| &s.scale_target_ref) else { return vec!["no spec".into()] };
    let mut out = Vec::new();
    if target.kind != Deployment::KIND || target.api_version.as_deref() != Some(Deployment::API_VERSION) {
        out.push(format!(
            "targets {} {}, not an apps/v1 Deployment",
            target.api_version.as_deref().unwrap_or("?"),
            target.kind
        ));
    } else if !deployments(cx, h.metadata.namespace.as_deref())
        .any(|(d, _)| d.metadata.name.as_deref() == Some(&target.name))
    {
        out.push(format!("Deployment/{} is not in the output", target.name));
    }
    out
}
