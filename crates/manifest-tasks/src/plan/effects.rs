//! What a change does, read from each side's rendered objects with the project's own models:
//! whether a Deployment's pods roll and why ([`roll_reasons`]), the capacity of an environment
//! against its node pool ([`capacity`], the arithmetic of `capacity.rs`), the network paths its
//! NetworkPolicies allow ([`network`], evaluated by `reach.rs`) and the lint's findings
//! ([`lint`], the rules of `policy/`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use manifest_core::capacity::{Amount, Plan as Capacities};
use manifest_core::connections::{self, Declared};
use manifest_core::conventions::SCANNER_SKIP_PREFIX;
use manifest_core::k8s_openapi::api::apps::v1::Deployment;
use manifest_core::k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer};
use manifest_core::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use manifest_core::model::Pool;
use manifest_core::netpol::Flow;
use manifest_core::object::Lookup;
use manifest_core::policy::{self, Outcome};
use manifest_core::reach::{Endpoint, Pod, Policies, NAMESPACE_NAME_LABEL};
use manifest_core::spec::ScannerExceptions;
use manifest_core::Object;

use super::fields::FieldChange;

/// Why a Deployment's pods roll: what kind of pod-template field changed, once each, sorted.
/// None when the template did not change (then the Deployment does not roll).
pub fn roll_reasons(fields: &[FieldChange]) -> Vec<String> {
    let why: BTreeSet<String> =
        fields.iter().filter_map(|f| f.path.strip_prefix("spec.template")).map(template_reason).collect();
    why.into_iter().collect()
}

/// The reason a change at `rest` (a path below `spec.template`) gives a roll.
fn template_reason(rest: &str) -> String {
    if rest.contains("[\"checksum/config\"]") {
        return "config checksum".to_owned();
    }
    let names = field_names(rest);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    match names.as_slice() {
        ["metadata", "labels", ..] => return "pod labels".to_owned(),
        ["metadata", "annotations", ..] => return "pod annotations".to_owned(),
        ["metadata", ..] => return "pod metadata".to_owned(),
        _ => {}
    }
    let named = [
        ("image", "image"),
        ("resources", "resources"),
        ("env", "environment"),
        ("envFrom", "environment"),
        ("securityContext", "security context"),
    ];
    if let Some((_, reason)) = named.iter().find(|(field, _)| names.contains(field)) {
        return (*reason).to_owned();
    }
    if names.iter().any(|n| n.ends_with("Probe")) {
        return "probes".to_owned();
    }
    // The pod spec's own field, or the container's when the change is inside one.
    match names.as_slice() {
        ["spec", "containers" | "initContainers" | "ephemeralContainers", field, ..] => (*field).to_owned(),
        ["spec", field, ..] => (*field).to_owned(),
        _ => rest.trim_start_matches('.').to_owned(),
    }
}

/// The field names of a path, without its list keys and quoted keys (`[…]`).
fn field_names(path: &str) -> Vec<String> {
    let (mut names, mut current, mut depth, mut quoted) = (Vec::new(), String::new(), 0, false);
    for c in path.chars() {
        match c {
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            '.' if depth == 0 => names.push(std::mem::take(&mut current)),
            _ if depth == 0 => current.push(c),
            _ => {}
        }
    }
    names.push(current);
    names.retain(|n| !n.is_empty());
    names
}

/// An environment's capacity as one side renders it, against a node pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacity {
    /// The largest maximum among the services kept one pod a node: the nodes it needs. `None`
    /// when no service is (a preferred anti-affinity lets pods share nodes: no count follows).
    pub nodes_at_max: Option<u64>,
    /// The nodes an even pool of the pool's zones needs for it (zones × its fullest zone).
    pub nodes_even_pool: Option<u64>,
    pub requests_min: Amount,
    pub requests_max: Amount,
    pub limits_min: Amount,
    pub limits_max: Amount,
    /// The connections the pods may open to the stores with a connection budget, at minimum and
    /// maximum replicas (migration Jobs included), against what the stores make available; `None`
    /// when the environment declares no budget.
    pub connections: Option<Connections>,
}

/// Connections at the replica bounds against the budget, summed over the budgeted stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    pub at_min: u64,
    pub at_max: u64,
    pub available: u64,
}

/// The capacity of `objects` (their Deployments and the HPAs that scale them) on `pool`, with
/// their connections against `budgets` (the environment's declared connection limits).
pub fn capacity(objects: &[Object], pool: &Pool, budgets: &[Declared]) -> Result<Capacity, String> {
    let objects = Lookup::new(objects);
    let plan = Capacities::of(&objects, pool.clone())?;
    let (requests_min, limits_min) = plan.at_min();
    let (requests_max, limits_max) = plan.at_max();
    let nodes_at_max = plan.lines.iter().filter_map(|l| l.nodes_at_max()).max();
    Ok(Capacity {
        nodes_at_max,
        nodes_even_pool: nodes_at_max.map(|_| pool.zone_count() * plan.nodes_per_zone_needed()),
        requests_min,
        requests_max,
        limits_min,
        limits_max,
        connections: (!budgets.is_empty()).then(|| {
            let counted: Vec<_> = budgets.iter().map(|d| connections::count(&objects, d)).collect();
            Connections {
                at_min: counted.iter().map(|b| b.at_min).sum(),
                at_max: counted.iter().map(|b| b.at_max).sum(),
                available: counted.iter().map(|b| b.available()).sum(),
            }
        }),
    })
}

/// One network path: a connection the NetworkPolicies allow at both ends.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NetPath {
    pub from: String,
    pub to: String,
    pub protocol: String,
    pub port: u16,
}

/// What stands for "an address outside the cluster": TEST-NET-2 (RFC 5737), in none of the
/// private ranges the policies close, as the lint's network rules use.
const OUTSIDE_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
/// Where the Deployments' pods and the pods of other namespaces are numbered from: private
/// ranges, as pod IPs are, so an egress to the internet that excepts them does not reach them.
const FIRST_POD_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 1);
const FIRST_OTHER_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 245, 0, 1);
const THE_INTERNET: &str = "the internet";

/// The paths `head` allows and `base` does not (added), and the reverse (removed), each sorted.
///
/// Both sides are asked about the same ends and ports: a pod for each Deployment of either side
/// (its template's labels and container ports); for each peer the policies of either side name
/// outside the Deployments' namespaces, a pod there (`namespace monitoring`, `k8s-app=kube-dns in
/// kube-system`); and an outside address for `ipBlock` peers and rules open to any peer. The
/// ports are every container port and every numbered policy port. Only paths with a Deployment
/// at one end are kept: the others (between two outside ends) no policy of ours governs.
pub fn network(base: &[Object], head: &[Object]) -> Result<(Vec<NetPath>, Vec<NetPath>), String> {
    let names: BTreeSet<String> = deployments(base).chain(deployments(head)).map(name).collect();
    let addresses: BTreeMap<String, Ipv4Addr> = names.into_iter().zip(addresses(FIRST_POD_ADDRESS)).collect();
    let both: Vec<&Object> = base.iter().chain(head).collect();
    let outside = outside_ends(&both);
    let probes = probes(&both);
    let before = paths(base, &addresses, &outside, &probes)?;
    let after = paths(head, &addresses, &outside, &probes)?;
    Ok((after.difference(&before).cloned().collect(), before.difference(&after).cloned().collect()))
}

fn addresses(first: Ipv4Addr) -> impl Iterator<Item = Ipv4Addr> {
    (u32::from(first)..).map(Ipv4Addr::from)
}

fn deployments(objects: &[Object]) -> impl Iterator<Item = &Deployment> {
    objects.iter().filter_map(|o| match o {
        Object::Deployment(d) => Some(&**d),
        _ => None,
    })
}

fn name(d: &Deployment) -> String {
    d.metadata.name.clone().unwrap_or_default()
}

fn policies<'a>(objects: impl IntoIterator<Item = &'a Object>) -> Vec<&'a NetworkPolicy> {
    objects
        .into_iter()
        .filter_map(|o| match o {
            Object::NetworkPolicy(p) => Some(&**p),
            _ => None,
        })
        .collect()
}

/// A Deployment's pod as NetworkPolicy sees it: namespace, template labels, container ports.
fn pod(d: &Deployment, ip: Ipv4Addr) -> Pod {
    let template = d.spec.as_ref().map(|s| &s.template);
    let labels = template.and_then(|t| t.metadata.as_ref()).and_then(|m| m.labels.clone()).unwrap_or_default();
    let mut pod = Pod::new(d.metadata.namespace.clone().unwrap_or_default(), ip).with_labels(labels);
    for c in template.and_then(|t| t.spec.as_ref()).map(|s| s.containers.as_slice()).unwrap_or_default() {
        for p in c.ports.iter().flatten() {
            let number = u16::try_from(p.container_port).unwrap_or_default();
            pod = pod.with_port(p.name.as_deref(), number, p.protocol.as_deref().unwrap_or("TCP"));
        }
    }
    pod
}

/// The ends outside the Deployments that the policies of either side name, by name.
fn outside_ends(objects: &[&Object]) -> Vec<(String, Endpoint)> {
    let own: BTreeSet<String> = objects
        .iter()
        .filter_map(|o| match o {
            Object::Deployment(d) => d.metadata.namespace.clone(),
            _ => None,
        })
        .collect();
    // name → (namespace, pod labels); the outside address apart.
    let mut pods: BTreeMap<String, (String, BTreeMap<String, String>)> = BTreeMap::new();
    let mut internet = false;
    for policy in policies(objects.iter().copied()) {
        let spec = policy.spec.clone().unwrap_or_default();
        let ingress = spec.ingress.iter().flatten().map(|r| r.from.as_deref());
        let egress = spec.egress.iter().flatten().map(|r| r.to.as_deref());
        for peers in ingress.chain(egress) {
            let peers: &[NetworkPolicyPeer] = peers.unwrap_or_default();
            internet |= peers.is_empty();
            for peer in peers {
                internet |= peer.ip_block.is_some();
                let Some(namespaces) = &peer.namespace_selector else { continue };
                let Some(namespace) = namespaces.match_labels.as_ref().and_then(|l| l.get(NAMESPACE_NAME_LABEL)) else {
                    continue;
                };
                if own.contains(namespace) {
                    continue;
                }
                let labels = peer.pod_selector.as_ref().and_then(|s| s.match_labels.clone()).unwrap_or_default();
                let name = if labels.is_empty() {
                    format!("namespace {namespace}")
                } else {
                    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!("{} in {namespace}", labels.join(","))
                };
                pods.insert(name, (namespace.clone(), labels.into_iter().collect()));
            }
        }
    }
    let mut ends: Vec<(String, Endpoint)> = pods
        .into_iter()
        .zip(addresses(FIRST_OTHER_ADDRESS))
        .map(|((name, (namespace, labels)), ip)| (name, Pod::new(namespace, ip).with_labels(labels).into()))
        .collect();
    if internet {
        ends.push((THE_INTERNET.to_owned(), Endpoint::External(OUTSIDE_ADDRESS)));
    }
    ends
}

/// Every container port and every numbered policy port of either side, with its protocol.
fn probes(objects: &[&Object]) -> BTreeSet<(u16, String)> {
    let mut probes = BTreeSet::new();
    for o in objects {
        if let Object::Deployment(d) = o {
            let spec = d.spec.as_ref().and_then(|s| s.template.spec.as_ref());
            for p in spec.iter().flat_map(|s| &s.containers).flat_map(|c| c.ports.iter().flatten()) {
                if let Ok(port) = u16::try_from(p.container_port) {
                    probes.insert((port, p.protocol.clone().unwrap_or_else(|| "TCP".to_owned())));
                }
            }
        }
    }
    for policy in policies(objects.iter().copied()) {
        let spec = policy.spec.clone().unwrap_or_default();
        let ingress = spec.ingress.iter().flatten().flat_map(|r| r.ports.iter().flatten());
        let egress = spec.egress.iter().flatten().flat_map(|r| r.ports.iter().flatten());
        for p in ingress.chain(egress) {
            if let Some(IntOrString::Int(n)) = p.port {
                if let Ok(port) = u16::try_from(n) {
                    probes.insert((port, p.protocol.clone().unwrap_or_else(|| "TCP".to_owned())));
                }
            }
        }
    }
    probes
}

/// The paths one side's policies allow between its Deployments' pods and the outside ends.
fn paths(
    objects: &[Object],
    addresses: &BTreeMap<String, Ipv4Addr>,
    outside: &[(String, Endpoint)],
    probes: &BTreeSet<(u16, String)>,
) -> Result<BTreeSet<NetPath>, String> {
    let policies: Vec<NetworkPolicy> = policies(objects).into_iter().cloned().collect();
    let policies = Policies::new(&policies).map_err(|e| format!("the NetworkPolicies cannot be evaluated: {e}"))?;
    let mut ends: Vec<(String, Endpoint)> =
        deployments(objects).map(|d| (name(d), pod(d, addresses[&name(d)]).into())).collect();
    let pods: BTreeSet<String> = ends.iter().map(|(n, _)| n.clone()).collect();
    ends.extend(outside.iter().cloned());
    let probes: Vec<(u16, &str)> = probes.iter().map(|(port, protocol)| (*port, protocol.as_str())).collect();
    let flows = policies.reachable(&ends, &probes).map_err(|e| format!("evaluating the NetworkPolicies: {e}"))?;
    Ok(flows
        .into_iter()
        .filter(|(from, to, _, _)| pods.contains(from) || pods.contains(to))
        .map(|(from, to, port, protocol)| NetPath { from, to, protocol, port })
        .collect())
}

/// One finding of the lint that is not a pass: a failure, or a recorded exception.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub rule: String,
    pub object: String,
    pub outcome: &'static str,
    pub message: String,
}

/// The lint's failures and exceptions on `objects`, scheduled on `pool`, with `flows` the
/// service graph the network must allow, `exceptions` the scanner exceptions declared and
/// `budgets` the stores' connection limits.
pub fn lint(
    objects: &[Object],
    pool: &Pool,
    flows: &[Flow],
    exceptions: &ScannerExceptions,
    budgets: &[Declared],
) -> BTreeSet<Finding> {
    policy::check(objects, pool, flows, exceptions, budgets)
        .into_iter()
        .filter(|f| f.outcome != Outcome::Pass)
        .map(|f| Finding { rule: f.rule.to_owned(), object: f.object, outcome: f.outcome.as_str(), message: f.message })
        .collect()
}

/// The scanner exceptions `objects` record (`checkov.io/skipN: ID=reason` on their Deployments),
/// each once, in the order first met: what the catalogue of the commit they were rendered from
/// declared, when its lint passed. The base side's declaration is not in its tree otherwise.
pub fn recorded_exceptions(objects: &[Object]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for d in deployments(objects) {
        let mut annotations: Vec<(&String, &String)> = d.metadata.annotations.iter().flatten().collect();
        // skip1, skip2, …, skip10: by number, as they were written.
        annotations.sort_by_key(|(k, _)| k.strip_prefix(SCANNER_SKIP_PREFIX).and_then(|n| n.parse::<u32>().ok()));
        for (key, value) in annotations {
            if !key.starts_with(SCANNER_SKIP_PREFIX) {
                continue;
            }
            if let Some((id, reason)) = value.split_once('=') {
                if !out.iter().any(|(known, _)| known == id) {
                    out.push((id.to_owned(), reason.to_owned()));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(paths: &[&str]) -> Vec<String> {
        let fields: Vec<FieldChange> =
            paths.iter().map(|p| FieldChange { path: (*p).to_owned(), from: None, to: None }).collect();
        roll_reasons(&fields)
    }

    #[test]
    fn a_template_change_says_why_it_rolls() {
        let cases: [(&[&str], &[&str]); 7] = [
            (&["spec.replicas", "metadata.labels.app"], &[]),
            (&["spec.template.spec.containers[auth-service].image"], &["image"]),
            (&["spec.template.spec.initContainers[run-migrations].image"], &["image"]),
            (&[r#"spec.template.metadata.annotations["checksum/config"]"#], &["config checksum"]),
            (
                &[
                    "spec.template.spec.containers[a].resources.limits.memory",
                    r#"spec.template.metadata.labels["app.kubernetes.io/version"]"#,
                ],
                &["pod labels", "resources"],
            ),
            (&["spec.template.spec.containers[a].readinessProbe.periodSeconds"], &["probes"]),
            (
                &["spec.template.spec.affinity.podAntiAffinity", "spec.template.spec.containers[a].command[2]"],
                &["affinity", "command"],
            ),
        ];
        for (paths, expected) in cases {
            assert_eq!(reasons(paths), expected.to_vec(), "{paths:?}");
        }
    }

    #[test]
    fn field_names_skip_keys() {
        assert_eq!(field_names(r#".metadata.labels["app.kubernetes.io/x"].y"#), ["metadata", "labels", "y"]);
        assert_eq!(field_names(".spec.containers[a.b].env[X].value"), ["spec", "containers", "env", "value"]);
    }
}
