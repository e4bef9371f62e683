//! The network of docs/spec.md ("The network"), checked on the rendered objects: every pod isolated
//! in both directions, no address reached but on TCP 443 with the closed ranges excepted, and
//! every flow of the service graph allowed at both of its ends. The NetworkPolicies are read
//! with the Kubernetes semantics of [`crate::reach`], so a rule means what the cluster will do
//! with it, not what its YAML looks like.

use std::net::Ipv4Addr;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::networking::v1::{IPBlock, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::pod::{Context, containers, pod_of};
use crate::conventions::network::{ANY_ADDRESS, CLOSED_RANGES, HTTPS_PORT};
use crate::netpol::End;
use crate::object::Object;
use crate::reach::{Cidr, Direction, Endpoint, Pod as ReachPod, Policies};

/// An outside address that no closed range holds, standing for "the internet" and "any source".
/// From TEST-NET-2 (RFC 5737): documentation only, never a real peer.
const PUBLIC_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
/// Where the Deployments' pods are numbered from, and the address of a pod of another namespace.
const FIRST_POD_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 1);
const OTHER_POD_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 245, 0, 1);

/// The NetworkPolicies of the output, ready to be asked.
fn policies(cx: &Context) -> Result<Policies, String> {
    let policies: Vec<NetworkPolicy> = cx
        .objects
        .iter()
        .filter_map(|o| match o {
            Object::NetworkPolicy(p) => Some((**p).clone()),
            _ => None,
        })
        .collect();
    Policies::new(&policies).map_err(|e| format!("the NetworkPolicies cannot be evaluated: {e}"))
}

/// The pod a Deployment runs, as NetworkPolicy sees it: its namespace, its template's labels
/// and every container's ports. Each Deployment gets its own address in a private range, as
/// pods have: an `ipBlock` towards the internet, which excepts those ranges, does not reach it.
fn pod(cx: &Context, deployment: &Deployment) -> Option<ReachPod> {
    let index = cx.objects.iter().filter(|o| matches!(o, Object::Deployment(_))).position(|o| match o {
        Object::Deployment(d) => std::ptr::eq(&**d, deployment),
        _ => false,
    })?;
    let spec = pod_of(deployment)?;
    let ip = Ipv4Addr::from(u32::from(FIRST_POD_ADDRESS) + u32::try_from(index).ok()?);
    let mut pod = ReachPod::new(spec.namespace.unwrap_or_default(), ip).with_labels(spec.labels);
    for c in containers(spec.spec) {
        for p in c.ports {
            let number = u16::try_from(p.container_port).unwrap_or_default();
            pod = pod.with_port(p.name.as_deref(), number, p.protocol.as_deref().unwrap_or("TCP"));
        }
    }
    Some(pod)
}

fn deployment<'a>(cx: &'a Context, name: &str) -> Option<&'a Deployment> {
    cx.objects.iter().find_map(|o| match o {
        Object::Deployment(d) if d.metadata.name.as_deref() == Some(name) => Some(&**d),
        _ => None,
    })
}

pub(super) fn isolated(cx: &Context, o: &Object) -> Vec<String> {
    let Object::Deployment(d) = o else { return vec![] };
    let policies = match policies(cx) {
        Ok(p) => p,
        Err(e) => return vec![e],
    };
    let Some(pod) = pod(cx, d) else { return vec!["no pod template spec".into()] };
    [(Direction::Ingress, "ingress"), (Direction::Egress, "egress")]
        .into_iter()
        .filter(|(direction, _)| !policies.isolated(&pod, *direction))
        .map(|(_, side)| format!("no NetworkPolicy selects its pods for {side}: they are open to any {side}"))
        .collect()
}

/// The addresses an egress rule sends to, each with how to name it: its `ipBlock` peers, and
/// every address when it names no peer at all.
fn blocks(to: Option<&Vec<NetworkPolicyPeer>>) -> Vec<(String, IPBlock)> {
    match to {
        Some(peers) if !peers.is_empty() => {
            peers.iter().filter_map(|p| p.ip_block.clone()).map(|b| (format!("to {}", b.cidr), b)).collect()
        }
        _ => vec![("to any destination (no `to`)".to_owned(), IPBlock { cidr: ANY_ADDRESS.into(), except: None })],
    }
}

fn is_https(port: &NetworkPolicyPort) -> bool {
    port.protocol.as_deref().unwrap_or("TCP") == "TCP"
        && port.port == Some(IntOrString::Int(i32::from(HTTPS_PORT)))
        && port.end_port.is_none_or(|end| end == i32::from(HTTPS_PORT))
}

pub(super) fn external_egress(_: &Context, o: &Object) -> Vec<String> {
    let Object::NetworkPolicy(p) = o else { return vec![] };
    let mut out = Vec::new();
    let closed: Vec<(&str, Cidr)> =
        CLOSED_RANGES.iter().map(|r| (*r, Cidr::parse(r).expect("the closed ranges are CIDRs"))).collect();
    for (i, rule) in p.spec.iter().flat_map(|s| s.egress.iter().flatten()).enumerate() {
        for (to, block) in blocks(rule.to.as_ref()) {
            let at = format!("egress[{i}] {to}");
            let ports = rule.ports.as_deref().unwrap_or_default();
            if ports.is_empty() {
                out.push(format!("{at}: every port is open; only TCP {HTTPS_PORT} may reach addresses"));
            } else if let Some(p) = ports.iter().find(|p| !is_https(p)) {
                let port = match &p.port {
                    Some(IntOrString::Int(n)) => n.to_string(),
                    Some(IntOrString::String(name)) => name.clone(),
                    None => "every port".into(),
                };
                out.push(format!(
                    "{at}: {} {port} is open; only TCP {HTTPS_PORT} may reach addresses",
                    p.protocol.as_deref().unwrap_or("TCP")
                ));
            }
            let Some(cidr) = Cidr::parse(&block.cidr) else {
                out.push(format!("{at}: not an IPv4 CIDR; the closed ranges cannot be checked"));
                continue;
            };
            let excepts: Vec<Cidr> = block.except.iter().flatten().filter_map(|e| Cidr::parse(e)).collect();
            for (name, range) in &closed {
                if range.covers(cidr) {
                    out.push(format!("{at}: lies inside the closed range {name}"));
                } else if cidr.overlaps(*range) && !excepts.iter().any(|e| e.covers(*range)) {
                    out.push(format!("{at}: reaches the closed range {name}; except it"));
                }
            }
        }
    }
    out
}

/// The endpoints that stand for `end` when `me` (a Deployment's pod) is not it: a service's
/// pod, a pod of a namespace, or an outside address.
fn endpoint(cx: &Context, end: &End, namespace: &str) -> Result<(String, Endpoint), String> {
    Ok(match end {
        End::Service(name) => {
            let d = deployment(cx, name).ok_or_else(|| format!("{name} has no Deployment in the output"))?;
            let pod = pod(cx, d).ok_or_else(|| format!("Deployment/{name} has no pod template spec"))?;
            (name.clone(), pod.into())
        }
        End::Migration(name) => {
            let labels = crate::netpol::migration_pods(name).into_iter();
            let pod = labels.fold(ReachPod::new(namespace, OTHER_POD_ADDRESS), |p, (k, v)| p.with_label(k, v));
            (format!("the migration Job of {name}"), pod.into())
        }
        End::EveryPod => (format!("a pod of {namespace}"), ReachPod::new(namespace, OTHER_POD_ADDRESS).into()),
        End::Namespace(ns) => (format!("a pod of namespace {ns}"), ReachPod::new(ns.clone(), OTHER_POD_ADDRESS).into()),
        End::Pods { namespace, label: (key, value) } => (
            format!("{key}={value} pods of namespace {namespace}"),
            ReachPod::new(namespace.clone(), OTHER_POD_ADDRESS).with_label(key.clone(), value.clone()).into(),
        ),
        End::AnySource => ("any source".to_owned(), Endpoint::External(PUBLIC_ADDRESS)),
        End::Internet => ("the internet".to_owned(), Endpoint::External(PUBLIC_ADDRESS)),
    })
}

pub(super) fn edges(cx: &Context, o: &Object) -> Vec<String> {
    let Object::Deployment(d) = o else { return vec![] };
    let policies = match policies(cx) {
        Ok(p) => p,
        Err(e) => return vec![e],
    };
    let Some(me) = pod(cx, d) else { return vec!["no pod template spec".into()] };
    let name = d.metadata.name.clone().unwrap_or_default();
    let is_me = |end: &End| *end == End::EveryPod || *end == End::Service(name.clone());
    let mut out = Vec::new();
    for flow in cx.flows {
        let sides = [(Direction::Egress, &flow.from, &flow.to), (Direction::Ingress, &flow.to, &flow.from)];
        for (direction, mine, other) in sides {
            if !is_me(mine) {
                continue;
            }
            let (other_name, other) = match endpoint(cx, other, me.namespace()) {
                Ok(e) => e,
                Err(e) => {
                    out.push(format!("{e}, but the graph needs it: {}", flow.why));
                    continue;
                }
            };
            let me = Endpoint::Pod(me.clone());
            for port in &flow.ports {
                let (from, to) = if direction == Direction::Egress { (&me, &other) } else { (&other, &me) };
                let allowed = policies.allows(direction, from, to, port.number, port.protocol);
                let side = if direction == Direction::Egress { "egress to" } else { "ingress from" };
                match allowed {
                    Ok(true) => {}
                    Ok(false) => out.push(format!(
                        "{side} {other_name} on {} {} is not allowed, but the graph needs it: {}",
                        port.protocol, port.number, flow.why
                    )),
                    Err(e) => out.push(e.to_string()),
                }
            }
        }
    }
    out
}
