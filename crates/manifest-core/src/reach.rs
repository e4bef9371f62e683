//! Who may talk to whom: a pure evaluator of Kubernetes NetworkPolicies (`networking.k8s.io/v1`).
//!
//! A test can then assert the reachability the rendered production overlay actually grants, not
//! only which objects it contains. The module stands alone on purpose: it reads k8s-openapi
//! [`NetworkPolicy`] objects and a hand-made model of the traffic's ends ([`Endpoint`]), and knows
//! nothing of how the rest of the crate builds them, so it can judge that code rather than repeat
//! it.
//!
//! # Semantics
//!
//! They follow the API reference of NetworkPolicy and its concept page in the Kubernetes
//! documentation ("Network Policies"), and the API
//! server's defaulting and validation (`pkg/apis/networking/v1/defaults.go`,
//! `pkg/apis/networking/validation`), since those decide what a policy means once applied:
//!
//! - Traffic is allowed iff egress is allowed at the source **and** ingress is allowed at the
//!   destination. Only pods have policies: egress is checked for a pod source, ingress for a pod
//!   destination; an [`Endpoint::External`] end is never restricted on its own side.
//! - A pod is *isolated* in a direction iff some policy of its namespace selects it (`podSelector`;
//!   empty or absent = every pod of the namespace) and that policy's `policyTypes` hold the
//!   direction. Absent or empty `policyTypes` default as the API server does: `Ingress` always,
//!   `Egress` iff the policy has at least one egress rule (`len(egress) != 0` in Go, so `egress: []`
//!   does not imply `Egress`). A policy with no `spec` is the zero spec: default-deny ingress.
//! - A pod not isolated in a direction allows everything in it. An isolated pod allows exactly what
//!   at least one rule of one selecting policy of that direction allows: rules are additive.
//! - A rule matches when one of its peers matches (absent or empty `from`/`to` = any peer) and one
//!   of its ports matches (absent or empty `ports` = any port and protocol).
//! - A peer is an `ipBlock` (matches an address inside `cidr` and in none of `except`), or pod
//!   selectors: `namespaceSelector` alone = every pod of the matching namespaces, `podSelector` alone
//!   = matching pods of the policy's own namespace, both = matching pods in matching namespaces. Pod
//!   selectors never match an external address.
//! - **Choice:** an `ipBlock` also matches a pod, by its pod IP. The reference leaves this open
//!   (`ipBlock` is meant for cluster-external addresses, pod IPs are ephemeral, and whether NAT
//!   happens before or after policy is implementation-defined), and network plugins differ: some
//!   match pod IPs, some only addresses outside the cluster. Matching by pod IP is the one reading
//!   that needs nothing but the objects, and it is deterministic: a pod inside an `except` range
//!   (e.g. `10.0.0.0/8`) is refused, a pod inside an allowed block is reached. An overlay test
//!   should therefore reach pods through selectors, never rely on an `ipBlock` either way.
//! - A label selector is `matchLabels` AND every `matchExpressions` (`In`, `NotIn`, `Exists`,
//!   `DoesNotExist`; `NotIn` also matches a missing key, as in apimachinery). An empty selector
//!   matches everything. Every namespace carries `kubernetes.io/metadata.name` = its name, as the
//!   API server guarantees, so selectors on it work.
//! - A port is `protocol` (default `TCP`) and `port`: absent = every port of that protocol, a number
//!   (with `endPort`, the inclusive range), or a name. A name resolves through the **destination**
//!   pod's container ports (same name and protocol) for ingress and egress alike, since the name
//!   belongs to the pod that listens; towards an external address a name matches nothing.
//!
//! Out of scope: node and host-network traffic (NetworkPolicy does not govern it either), Services
//! (policies see pod IPs and target ports, so probe the container port), and IPv6 (the model is
//! IPv4-only, so an IPv6 `ipBlock` never matches). Traffic between two external addresses is
//! allowed, since no policy governs it; [`reachable`] lists it like any other flow.
//!
//! Policies are checked once, in [`Policies::new`], for what the API server would reject (unknown
//! operators or protocols, malformed CIDRs, a peer with both `ipBlock` and selectors, `endPort`
//! with a named port, …) and for a missing `metadata.namespace`, without which the selectors
//! cannot be resolved. Evaluating an object the cluster would refuse would report a reachability
//! nobody can deploy, so those are errors, not guesses.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::Ipv4Addr;

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The label the API server sets on every namespace to the namespace's name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The protocols a NetworkPolicy port or a container port may name.
const PROTOCOLS: [&str; 3] = ["TCP", "UDP", "SCTP"];

/// One allowed flow: (from endpoint name, to endpoint name, port, protocol).
pub type Flow = (String, String, u16, String);

/// A port a pod's containers declare; named ones are what named policy ports resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodPort {
    pub name: Option<String>,
    pub port: u16,
    /// `TCP`, `UDP` or `SCTP`, spelt as in the API.
    pub protocol: String,
}

/// A pod as NetworkPolicy sees it: where it lives, its labels, its ports and its IP.
///
/// The fields are private so that the namespace always carries [`NAMESPACE_NAME_LABEL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pod {
    namespace: String,
    namespace_labels: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
    ports: Vec<PodPort>,
    ip: Ipv4Addr,
}

impl Pod {
    /// A pod without labels or ports in `namespace`, whose only namespace label is its name.
    pub fn new(namespace: impl Into<String>, ip: Ipv4Addr) -> Pod {
        let namespace = namespace.into();
        let namespace_labels = BTreeMap::from([(NAMESPACE_NAME_LABEL.to_owned(), namespace.clone())]);
        Pod { namespace, namespace_labels, labels: BTreeMap::new(), ports: Vec::new(), ip }
    }

    pub fn with_label(self, key: impl Into<String>, value: impl Into<String>) -> Pod {
        self.with_labels([(key, value)])
    }

    pub fn with_labels<K: Into<String>, V: Into<String>>(mut self, labels: impl IntoIterator<Item = (K, V)>) -> Pod {
        self.labels.extend(labels.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    pub fn with_namespace_label(self, key: impl Into<String>, value: impl Into<String>) -> Pod {
        self.with_namespace_labels([(key, value)])
    }

    /// Adds namespace labels. [`NAMESPACE_NAME_LABEL`] stays the namespace's name whatever is
    /// given, as the API server enforces.
    pub fn with_namespace_labels<K: Into<String>, V: Into<String>>(
        mut self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Pod {
        self.namespace_labels.extend(labels.into_iter().map(|(k, v)| (k.into(), v.into())));
        self.namespace_labels.insert(NAMESPACE_NAME_LABEL.to_owned(), self.namespace.clone());
        self
    }

    pub fn with_port(mut self, name: Option<&str>, port: u16, protocol: &str) -> Pod {
        self.ports.push(PodPort { name: name.map(str::to_owned), port, protocol: protocol.to_owned() });
        self
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn namespace_labels(&self) -> &BTreeMap<String, String> {
        &self.namespace_labels
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    pub fn ports(&self) -> &[PodPort] {
        &self.ports
    }

    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }
}

/// One end of a connection: a pod of the cluster, or an address outside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Pod(Pod),
    /// An address outside the cluster (the internet, a VPC, the metadata service): no namespace,
    /// no labels, no policies of its own; only `ipBlock` peers can match it.
    External(Ipv4Addr),
}

impl Endpoint {
    pub fn ip(&self) -> Ipv4Addr {
        match self {
            Endpoint::Pod(pod) => pod.ip,
            Endpoint::External(ip) => *ip,
        }
    }

    fn pod(&self) -> Option<&Pod> {
        match self {
            Endpoint::Pod(pod) => Some(pod),
            Endpoint::External(_) => None,
        }
    }
}

impl From<Pod> for Endpoint {
    fn from(pod: Pod) -> Endpoint {
        Endpoint::Pod(pod)
    }
}

/// Why an evaluation could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReachError {
    /// The policy has no `metadata.namespace`: which pods it selects cannot be known.
    MissingNamespace { policy: String },
    /// The policy is one the API server would reject.
    InvalidPolicy { policy: String, reason: String },
    /// An endpoint or probe outside the model (unknown protocol, bad port name, duplicate name).
    InvalidInput { reason: String },
}

impl fmt::Display for ReachError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReachError::MissingNamespace { policy } => {
                write!(f, "NetworkPolicy {policy}: metadata.namespace is required to resolve its selectors")
            }
            ReachError::InvalidPolicy { policy, reason } => write!(f, "NetworkPolicy {policy}: {reason}"),
            ReachError::InvalidInput { reason } => f.write_str(reason),
        }
    }
}

impl std::error::Error for ReachError {}

/// Policies checked once and ready to answer many questions.
#[derive(Debug, Clone)]
pub struct Policies {
    policies: Vec<Compiled>,
}

impl Policies {
    /// Checks and compiles `policies`; the first one the API server would reject is the error.
    pub fn new(policies: &[NetworkPolicy]) -> Result<Policies, ReachError> {
        Ok(Policies { policies: policies.iter().map(compile).collect::<Result<_, _>>()? })
    }

    /// Whether a connection from `from` to `to` on `port`/`protocol` is allowed.
    pub fn allowed(&self, from: &Endpoint, to: &Endpoint, port: u16, protocol: &str) -> Result<bool, ReachError> {
        check_protocol(protocol, "probe")?;
        check_endpoint(from)?;
        check_endpoint(to)?;
        Ok(self.evaluate(from, to, port, protocol))
    }

    /// Every allowed flow between the named endpoints (each ordered pair, an endpoint with itself
    /// included: it stands for all pods of its kind, and one replica reaching another is policed
    /// like any pod-to-pod traffic) for each `(port, protocol)` probe.
    pub fn reachable<S: AsRef<str>>(
        &self,
        endpoints: &[(S, Endpoint)],
        probes: &[(u16, &str)],
    ) -> Result<BTreeSet<Flow>, ReachError> {
        let mut names = BTreeSet::new();
        for (name, endpoint) in endpoints {
            // Two endpoints of one name would merge their flows in the set and hide a difference.
            if !names.insert(name.as_ref()) {
                return Err(ReachError::InvalidInput {
                    reason: format!("endpoint name {:?} is used twice", name.as_ref()),
                });
            }
            check_endpoint(endpoint)?;
        }
        for (_, protocol) in probes {
            check_protocol(protocol, "probe")?;
        }
        let mut flows = BTreeSet::new();
        for (from_name, from) in endpoints {
            for (to_name, to) in endpoints {
                for &(port, protocol) in probes {
                    if self.evaluate(from, to, port, protocol) {
                        flows.insert((
                            from_name.as_ref().to_owned(),
                            to_name.as_ref().to_owned(),
                            port,
                            protocol.to_owned(),
                        ));
                    }
                }
            }
        }
        Ok(flows)
    }

    /// Whether one side lets a connection through: [`Direction::Egress`] asks the source's
    /// policies, [`Direction::Ingress`] the destination's (an external end has none, so its side
    /// always does). [`Policies::allowed`] is both; a lint that names the side missing a rule
    /// asks each.
    pub fn allows(
        &self,
        direction: Direction,
        from: &Endpoint,
        to: &Endpoint,
        port: u16,
        protocol: &str,
    ) -> Result<bool, ReachError> {
        check_protocol(protocol, "probe")?;
        check_endpoint(from)?;
        check_endpoint(to)?;
        Ok(match direction {
            Direction::Egress => self.egress_allowed(from, to, port, protocol),
            Direction::Ingress => self.ingress_allowed(from, to, port, protocol),
        })
    }

    /// Whether some policy of `pod`'s namespace selects it for `direction`. An isolated pod allows
    /// only what a rule allows; a pod no policy isolates is open in that direction.
    pub fn isolated(&self, pod: &Pod, direction: Direction) -> bool {
        self.policies.iter().any(|policy| {
            policy.namespace == pod.namespace
                && policy.pod_selector.matches(&pod.labels)
                && policy.rules(direction).is_some()
        })
    }

    fn evaluate(&self, from: &Endpoint, to: &Endpoint, port: u16, protocol: &str) -> bool {
        self.egress_allowed(from, to, port, protocol) && self.ingress_allowed(from, to, port, protocol)
    }

    fn egress_allowed(&self, from: &Endpoint, to: &Endpoint, port: u16, protocol: &str) -> bool {
        match from {
            Endpoint::Pod(pod) => self.direction_allowed(pod, Direction::Egress, to, to, port, protocol),
            Endpoint::External(_) => true,
        }
    }

    fn ingress_allowed(&self, from: &Endpoint, to: &Endpoint, port: u16, protocol: &str) -> bool {
        match to {
            Endpoint::Pod(pod) => self.direction_allowed(pod, Direction::Ingress, from, to, port, protocol),
            Endpoint::External(_) => true,
        }
    }

    /// Whether `pod` lets through, in `direction`, traffic whose other end is `peer` and whose
    /// destination (which named ports resolve through) is `destination`.
    fn direction_allowed(
        &self,
        pod: &Pod,
        direction: Direction,
        peer: &Endpoint,
        destination: &Endpoint,
        port: u16,
        protocol: &str,
    ) -> bool {
        let mut isolated = false;
        for policy in &self.policies {
            if policy.namespace != pod.namespace || !policy.pod_selector.matches(&pod.labels) {
                continue;
            }
            let Some(rules) = policy.rules(direction) else { continue };
            isolated = true;
            if rules.iter().any(|rule| rule.matches(&policy.namespace, peer, destination, port, protocol)) {
                return true;
            }
        }
        !isolated
    }
}

/// Whether `policies` allow a connection from `from` to `to` on `port`/`protocol`.
///
/// Checks the policies on every call; to ask many questions, build [`Policies`] once.
pub fn allowed(
    policies: &[NetworkPolicy],
    from: &Endpoint,
    to: &Endpoint,
    port: u16,
    protocol: &str,
) -> Result<bool, ReachError> {
    Policies::new(policies)?.allowed(from, to, port, protocol)
}

/// Every `(from, to, port, protocol)` the policies allow between the named endpoints, for each
/// probe; see [`Policies::reachable`].
pub fn reachable<S: AsRef<str>>(
    policies: &[NetworkPolicy],
    endpoints: &[(S, Endpoint)],
    probes: &[(u16, &str)],
) -> Result<BTreeSet<Flow>, ReachError> {
    Policies::new(policies)?.reachable(endpoints, probes)
}

/// The side of a connection a policy governs: ingress at the destination pod, egress at the
/// source pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
}

/// A policy reduced to what evaluation needs. `ingress`/`egress` is `Some` iff the policy's
/// (defaulted) `policyTypes` hold that direction, with its rules (possibly none: deny all).
#[derive(Debug, Clone)]
struct Compiled {
    namespace: String,
    pod_selector: Selector,
    ingress: Option<Vec<Rule>>,
    egress: Option<Vec<Rule>>,
}

impl Compiled {
    fn rules(&self, direction: Direction) -> Option<&[Rule]> {
        match direction {
            Direction::Ingress => self.ingress.as_deref(),
            Direction::Egress => self.egress.as_deref(),
        }
    }
}

#[derive(Debug, Clone)]
struct Rule {
    /// `None`: any peer.
    peers: Option<Vec<Peer>>,
    /// `None`: any port and protocol.
    ports: Option<Vec<PortSpec>>,
}

impl Rule {
    fn matches(
        &self,
        policy_namespace: &str,
        peer: &Endpoint,
        destination: &Endpoint,
        port: u16,
        protocol: &str,
    ) -> bool {
        let peer_ok = self.peers.as_ref().is_none_or(|peers| peers.iter().any(|p| p.matches(policy_namespace, peer)));
        let port_ok =
            self.ports.as_ref().is_none_or(|ports| ports.iter().any(|p| p.matches(destination, port, protocol)));
        peer_ok && port_ok
    }
}

#[derive(Debug, Clone)]
enum Peer {
    /// `cidr` is `None` for an IPv6 block, which no IPv4 endpoint is in.
    Block { cidr: Option<Cidr>, except: Vec<Cidr> },
    /// `namespaces` is `None` when only `podSelector` was given: the policy's own namespace.
    Pods { namespaces: Option<Selector>, pods: Selector },
}

impl Peer {
    fn matches(&self, policy_namespace: &str, endpoint: &Endpoint) -> bool {
        match self {
            Peer::Block { cidr, except } => {
                let ip = endpoint.ip();
                cidr.is_some_and(|c| c.contains(ip)) && !except.iter().any(|e| e.contains(ip))
            }
            Peer::Pods { namespaces, pods } => endpoint.pod().is_some_and(|pod| {
                let namespace_ok = match namespaces {
                    None => pod.namespace == policy_namespace,
                    Some(selector) => selector.matches(&pod.namespace_labels),
                };
                namespace_ok && pods.matches(&pod.labels)
            }),
        }
    }
}

#[derive(Debug, Clone)]
struct PortSpec {
    protocol: String,
    port: PortMatch,
}

#[derive(Debug, Clone)]
enum PortMatch {
    Any,
    /// Inclusive; a single port is `Range(p, p)`.
    Range(u16, u16),
    Named(String),
}

impl PortSpec {
    fn matches(&self, destination: &Endpoint, port: u16, protocol: &str) -> bool {
        if self.protocol != protocol {
            return false;
        }
        match &self.port {
            PortMatch::Any => true,
            PortMatch::Range(low, high) => (*low..=*high).contains(&port),
            // The name belongs to the pod that listens; an external address has no names.
            PortMatch::Named(name) => destination.pod().is_some_and(|pod| {
                pod.ports
                    .iter()
                    .any(|p| p.name.as_deref() == Some(name.as_str()) && p.protocol == self.protocol && p.port == port)
            }),
        }
    }
}

/// A label selector: every `labels` pair AND every requirement.
#[derive(Debug, Clone, Default)]
struct Selector {
    labels: Vec<(String, String)>,
    requirements: Vec<Requirement>,
}

#[derive(Debug, Clone)]
struct Requirement {
    key: String,
    operator: Operator,
    values: BTreeSet<String>,
}

#[derive(Debug, Clone, Copy)]
enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Selector {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.requirements.iter().all(|r| {
                let value = labels.get(&r.key);
                match r.operator {
                    Operator::In => value.is_some_and(|v| r.values.contains(v)),
                    Operator::NotIn => value.is_none_or(|v| !r.values.contains(v)),
                    Operator::Exists => value.is_some(),
                    Operator::DoesNotExist => value.is_none(),
                }
            })
    }
}

/// An IPv4 network: `network` has its host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: u32,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`. Host bits are cleared rather than refused: the API server accepts
    /// `10.0.0.1/8` and means `10.0.0.0/8`. `None` for anything else, IPv6 included.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = text.split_once('/')?;
        let address: Ipv4Addr = address.parse().ok()?;
        // Digits only: `u8::from_str` would also take `+8`.
        if prefix.is_empty() || prefix.len() > 2 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let prefix: u8 = prefix.parse().ok()?;
        if prefix > 32 {
            return None;
        }
        Some(Cidr { network: u32::from(address) & Cidr::mask(prefix), prefix })
    }

    fn mask(prefix: u8) -> u32 {
        // `u32::MAX << 32` overflows, so /0 is its own case.
        if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) }
    }

    pub fn contains(self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & Cidr::mask(self.prefix) == self.network
    }

    /// Whether every address of `other` is in `self`.
    pub fn covers(self, other: Cidr) -> bool {
        self.prefix <= other.prefix && self.contains(Ipv4Addr::from(other.network))
    }

    /// Whether the two networks share an address: for CIDRs, when one covers the other.
    pub fn overlaps(self, other: Cidr) -> bool {
        self.covers(other) || other.covers(self)
    }
}

fn policy_name(policy: &NetworkPolicy) -> String {
    let name = policy.metadata.name.as_deref().unwrap_or("<unnamed>");
    match &policy.metadata.namespace {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_owned(),
    }
}

fn compile(policy: &NetworkPolicy) -> Result<Compiled, ReachError> {
    let name = policy_name(policy);
    let invalid = |reason: String| ReachError::InvalidPolicy { policy: name.clone(), reason };
    let namespace = match policy.metadata.namespace.as_deref() {
        Some(namespace) if !namespace.is_empty() => namespace.to_owned(),
        _ => return Err(ReachError::MissingNamespace { policy: name.clone() }),
    };
    // An absent spec is Go's zero value after decoding: an empty selector, default policy types.
    let default_spec = NetworkPolicySpec::default();
    let spec = policy.spec.as_ref().unwrap_or(&default_spec);
    let pod_selector = selector(spec.pod_selector.as_ref(), "spec.podSelector").map_err(&invalid)?;

    let (mut ingress_type, mut egress_type) = (false, false);
    match spec.policy_types.as_deref() {
        // The API server's defaulting: `len(PolicyTypes) == 0` → Ingress, plus Egress when
        // `len(Egress) != 0`.
        None | Some([]) => {
            ingress_type = true;
            egress_type = spec.egress.as_ref().is_some_and(|rules| !rules.is_empty());
        }
        Some(types) => {
            for t in types {
                match t.as_str() {
                    "Ingress" => ingress_type = true,
                    "Egress" => egress_type = true,
                    other => return Err(invalid(format!("spec.policyTypes: unknown type {other:?}"))),
                }
            }
        }
    }

    let mut ingress = Vec::new();
    for (i, rule) in spec.ingress.iter().flatten().enumerate() {
        let at = format!("spec.ingress[{i}]");
        ingress.push(compile_rule(rule.from.as_deref(), rule.ports.as_deref(), &at, "from").map_err(&invalid)?);
    }
    let mut egress = Vec::new();
    for (i, rule) in spec.egress.iter().flatten().enumerate() {
        let at = format!("spec.egress[{i}]");
        egress.push(compile_rule(rule.to.as_deref(), rule.ports.as_deref(), &at, "to").map_err(&invalid)?);
    }
    Ok(Compiled {
        namespace,
        pod_selector,
        // Rules of a direction the policy does not affect are ignored, as by the cluster.
        ingress: ingress_type.then_some(ingress),
        egress: egress_type.then_some(egress),
    })
}

fn compile_rule(
    peers: Option<&[NetworkPolicyPeer]>,
    ports: Option<&[NetworkPolicyPort]>,
    at: &str,
    peers_field: &str,
) -> Result<Rule, String> {
    // Absent and empty lists both mean "no restriction" (the API reference, for both fields).
    let peers = match peers {
        None | Some([]) => None,
        Some(peers) => Some(
            peers
                .iter()
                .enumerate()
                .map(|(i, p)| compile_peer(p, &format!("{at}.{peers_field}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
    };
    let ports = match ports {
        None | Some([]) => None,
        Some(ports) => Some(
            ports
                .iter()
                .enumerate()
                .map(|(i, p)| compile_port(p, &format!("{at}.ports[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
    };
    Ok(Rule { peers, ports })
}

fn compile_peer(peer: &NetworkPolicyPeer, at: &str) -> Result<Peer, String> {
    match (&peer.ip_block, &peer.namespace_selector, &peer.pod_selector) {
        (None, None, None) => Err(format!("{at}: a peer needs ipBlock, namespaceSelector or podSelector")),
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            Err(format!("{at}: ipBlock cannot be combined with namespaceSelector or podSelector"))
        }
        (Some(block), None, None) => {
            if block.cidr.contains(':') {
                // IPv6: nothing in this IPv4 model is inside it, nor in its exceptions.
                return Ok(Peer::Block { cidr: None, except: Vec::new() });
            }
            let cidr = Cidr::parse(&block.cidr)
                .ok_or_else(|| format!("{at}.ipBlock.cidr: {:?} is not an IPv4 CIDR", block.cidr))?;
            let mut except = Vec::new();
            for (i, text) in block.except.iter().flatten().enumerate() {
                let e = Cidr::parse(text)
                    .ok_or_else(|| format!("{at}.ipBlock.except[{i}]: {text:?} is not an IPv4 CIDR"))?;
                // The API requires each exception to be a strict subset of the block.
                if e.prefix <= cidr.prefix || !cidr.contains(Ipv4Addr::from(e.network)) {
                    return Err(format!("{at}.ipBlock.except[{i}]: {text:?} is not inside {:?}", block.cidr));
                }
                except.push(e);
            }
            Ok(Peer::Block { cidr: Some(cidr), except })
        }
        (None, namespaces, pods) => Ok(Peer::Pods {
            namespaces: match namespaces {
                Some(s) => Some(selector(Some(s), &format!("{at}.namespaceSelector"))?),
                None => None,
            },
            pods: selector(pods.as_ref(), &format!("{at}.podSelector"))?,
        }),
    }
}

fn compile_port(port: &NetworkPolicyPort, at: &str) -> Result<PortSpec, String> {
    let protocol = port.protocol.as_deref().unwrap_or("TCP");
    check_protocol(protocol, &format!("{at}.protocol")).map_err(|e| e.to_string())?;
    let number = |n: i32, field: &str| {
        u16::try_from(n).ok().filter(|&n| n != 0).ok_or_else(|| format!("{at}.{field}: {n} is not in 1..=65535"))
    };
    let matcher = match (&port.port, port.end_port) {
        (None, None) => PortMatch::Any,
        (None, Some(_)) => return Err(format!("{at}.endPort: needs a numeric port")),
        (Some(IntOrString::Int(p)), None) => {
            let p = number(*p, "port")?;
            PortMatch::Range(p, p)
        }
        (Some(IntOrString::Int(p)), Some(end)) => {
            let (p, end) = (number(*p, "port")?, number(end, "endPort")?);
            if end < p {
                return Err(format!("{at}.endPort: {end} is below port {p}"));
            }
            PortMatch::Range(p, end)
        }
        (Some(IntOrString::String(name)), None) => {
            check_port_name(name).map_err(|e| format!("{at}.port: {e}"))?;
            PortMatch::Named(name.clone())
        }
        (Some(IntOrString::String(_)), Some(_)) => return Err(format!("{at}.endPort: not allowed with a named port")),
    };
    Ok(PortSpec { protocol: protocol.to_owned(), port: matcher })
}

fn selector(selector: Option<&LabelSelector>, at: &str) -> Result<Selector, String> {
    let Some(selector) = selector else { return Ok(Selector::default()) };
    let labels = selector.match_labels.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut requirements = Vec::new();
    for (i, expression) in selector.match_expressions.iter().flatten().enumerate() {
        let operator = match expression.operator.as_str() {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            other => return Err(format!("{at}.matchExpressions[{i}].operator: unknown operator {other:?}")),
        };
        let values: BTreeSet<String> = expression.values.iter().flatten().cloned().collect();
        // apimachinery's rule: In/NotIn need values, Exists/DoesNotExist take none.
        let needs_values = matches!(operator, Operator::In | Operator::NotIn);
        if needs_values == values.is_empty() {
            let what = if needs_values { "needs values" } else { "takes no values" };
            return Err(format!("{at}.matchExpressions[{i}]: {} {what}", expression.operator));
        }
        requirements.push(Requirement { key: expression.key.clone(), operator, values });
    }
    Ok(Selector { labels, requirements })
}

fn check_protocol(protocol: &str, what: &str) -> Result<(), ReachError> {
    if PROTOCOLS.contains(&protocol) {
        Ok(())
    } else {
        Err(ReachError::InvalidInput { reason: format!("{what}: protocol {protocol:?} is not one of TCP, UDP, SCTP") })
    }
}

/// The API's IANA_SVC_NAME rule for port names: it is what keeps a name from reading as a number.
fn check_port_name(name: &str) -> Result<(), String> {
    let ok = (1..=15).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.bytes().any(|b| b.is_ascii_lowercase())
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok { Ok(()) } else { Err(format!("{name:?} is not a valid port name (1-15 of a-z, 0-9, '-', with a letter)")) }
}

fn check_endpoint(endpoint: &Endpoint) -> Result<(), ReachError> {
    let Some(pod) = endpoint.pod() else { return Ok(()) };
    for p in &pod.ports {
        let what = format!("pod {} in {}: port {}", pod.ip, pod.namespace, p.port);
        check_protocol(&p.protocol, &what)?;
        if let Some(name) = &p.name {
            check_port_name(name).map_err(|reason| ReachError::InvalidInput { reason: format!("{what}: {reason}") })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_yaml::Value;

    /// Parses `---`-separated policies. `apiVersion` and `kind` may be left out.
    fn parse(yaml: &str) -> Vec<NetworkPolicy> {
        let mut policies = Vec::new();
        for document in yaml.split("\n---\n") {
            let mut value: Value = serde_yaml::from_str(document).expect("test policy is YAML");
            if value.is_null() {
                continue;
            }
            let mapping = value.as_mapping_mut().expect("a policy is a mapping");
            mapping.entry("apiVersion".into()).or_insert("networking.k8s.io/v1".into());
            mapping.entry("kind".into()).or_insert("NetworkPolicy".into());
            let policy: NetworkPolicy = serde_yaml::from_value(value.clone()).expect("test policy is a NetworkPolicy");
            // k8s-openapi drops unknown keys: a misspelt one would silently make a case test
            // something else. Whatever does not survive the round trip was not understood.
            assert_eq!(serde_yaml::to_value(&policy).unwrap(), value, "part of this policy was ignored:\n{document}");
            policies.push(policy);
        }
        policies
    }

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    /// The endpoints every case refers to by name.
    fn world() -> Vec<(&'static str, Endpoint)> {
        let shop = |address, app, tier| {
            Pod::new("shop", ip(address))
                .with_namespace_label("env", "prod")
                .with_labels([("app", app), ("tier", tier)])
        };
        vec![
            (
                "web",
                shop("10.0.1.10", "web", "frontend")
                    .with_port(Some("http"), 8080, "TCP")
                    .with_port(Some("metrics"), 9090, "TCP")
                    .into(),
            ),
            (
                "api",
                shop("10.0.1.11", "api", "backend")
                    .with_port(Some("http"), 8000, "TCP")
                    .with_port(Some("grpc"), 9000, "TCP")
                    .into(),
            ),
            ("db", shop("10.0.1.12", "db", "data").with_port(Some("postgres"), 5432, "TCP").into()),
            // No `app` and no `tier`: for Exists, and for NotIn on a missing key.
            (
                "job",
                Pod::new("shop", ip("10.0.1.20"))
                    .with_namespace_label("env", "prod")
                    .with_label("job", "report")
                    .into(),
            ),
            (
                "dns",
                Pod::new("kube-system", ip("10.0.2.10"))
                    .with_label("k8s-app", "kube-dns")
                    .with_port(Some("dns"), 53, "UDP")
                    .with_port(Some("dns-tcp"), 53, "TCP")
                    .into(),
            ),
            (
                "prom",
                Pod::new("monitoring", ip("10.0.3.10"))
                    .with_namespace_label("team", "observability")
                    .with_label("app", "prometheus")
                    .with_port(Some("web"), 9090, "TCP")
                    .into(),
            ),
            // Same labels as `web`, another namespace.
            (
                "stage-web",
                Pod::new("staging", ip("10.0.4.10"))
                    .with_namespace_label("env", "staging")
                    .with_labels([("app", "web"), ("tier", "frontend")])
                    .with_port(Some("http"), 8080, "TCP")
                    .into(),
            ),
            ("internet", Endpoint::External(ip("93.184.216.34"))),
            ("imds", Endpoint::External(ip("169.254.169.254"))),
            ("lan", Endpoint::External(ip("192.168.1.5"))),
            ("office", Endpoint::External(ip("192.168.7.9"))),
            ("vpc", Endpoint::External(ip("10.20.30.40"))),
        ]
    }

    fn endpoint(name: &str) -> Endpoint {
        world().into_iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no endpoint {name:?}")).1
    }

    const NONE: &str = "";

    const SPECLESS: &str = "metadata: {name: bare, namespace: shop}";

    const DENY_INGRESS: &str = "
metadata: {name: deny-ingress, namespace: shop}
spec:
  podSelector: {}";

    const DENY_EGRESS_ONLY: &str = "
metadata: {name: deny-egress, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]";

    /// `egress: []` does not make a policy an egress policy (Go's `len(egress) != 0`).
    const EMPTY_EGRESS_LIST: &str = "
metadata: {name: empty-egress, namespace: shop}
spec:
  podSelector: {}
  egress: []";

    /// An empty `policyTypes` is defaulted like an absent one.
    const EMPTY_POLICY_TYPES: &str = "
metadata: {name: empty-types, namespace: shop}
spec:
  podSelector: {}
  policyTypes: []";

    const ALLOW_ALL_RULES: &str = "
metadata: {name: allow-all, namespace: shop}
spec:
  podSelector: {}
  ingress: [{}]
  egress: [{}]";

    /// Empty lists are no restriction, like absent ones.
    const EMPTY_LISTS: &str = "
metadata: {name: empty-lists, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress: [{from: [], ports: []}]
  egress: [{to: [], ports: []}]";

    const ADDITIVE: &str = "
metadata: {name: deny-all, namespace: shop}
spec:
  podSelector: {}
---
metadata: {name: api-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8000}]
---
metadata: {name: api-from-monitoring, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: observability}}}]
    ports: [{port: 9000}]";

    /// One peer with both selectors: web pods of staging namespaces.
    const PEER_AND: &str = "
metadata: {name: db-and, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {env: staging}}
      podSelector: {matchLabels: {app: web}}";

    /// Two peers: any pod of staging namespaces, or web pods of shop.
    const PEER_OR: &str = "
metadata: {name: db-or, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {env: staging}}
    - podSelector: {matchLabels: {app: web}}";

    const NAMESPACE_BY_NAME: &str = "
metadata: {name: db-from-monitoring, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]";

    const ANY_NAMESPACE: &str = "
metadata: {name: db-from-pods, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{namespaceSelector: {}}]";

    const EXPRESSIONS: &str = "
metadata: {name: expressions, namespace: shop}
spec:
  podSelector:
    matchExpressions:
    - {key: tier, operator: In, values: [backend, data]}
  ingress:
  - from:
    - podSelector:
        matchExpressions:
        - {key: tier, operator: NotIn, values: [data]}
        - {key: app, operator: Exists}
    - namespaceSelector:
        matchExpressions:
        - {key: team, operator: DoesNotExist}
        - {key: kubernetes.io/metadata.name, operator: NotIn, values: [shop, kube-system]}";

    /// NotIn also matches pods without the key.
    const NOT_IN_MISSING_KEY: &str = "
metadata: {name: db-not-data, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - podSelector:
        matchExpressions:
        - {key: tier, operator: NotIn, values: [data]}";

    const EGRESS_PUBLIC_ONLY: &str = "
metadata: {name: api-to-internet, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock:
        cidr: 0.0.0.0/0
        except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16]
    ports: [{port: 443}]";

    const INGRESS_IP_BLOCKS: &str = "
metadata: {name: web-from-blocks, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - ipBlock: {cidr: 192.168.0.0/16, except: [192.168.1.0/24]}
    - ipBlock: {cidr: 10.0.3.10/32}
    - ipBlock: {cidr: '::/0'}";

    const DNS_UDP: &str = "
metadata: {name: dns, namespace: kube-system}
spec:
  podSelector: {matchLabels: {k8s-app: kube-dns}}
  ingress:
  - ports: [{port: 53, protocol: UDP}]";

    const RANGES: &str = "
metadata: {name: api-range, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - ports:
    - {port: 8000, endPort: 8010}
    - {protocol: SCTP}";

    const NAMED_INGRESS: &str = "
metadata: {name: http-only, namespace: shop}
spec:
  podSelector: {}
  ingress:
  - ports: [{port: http}, {port: http, protocol: UDP}]";

    const NAMED_EGRESS: &str = "
metadata: {name: web-egress-named, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - ports: [{port: http}]
  - ports: [{port: dns, protocol: UDP}]";

    /// web may only send to api, api only accepts db, db only accepts web.
    const BOTH_DIRECTIONS: &str = "
metadata: {name: web-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: api}}}]
---
metadata: {name: api-from-db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: db}}}]
---
metadata: {name: db-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]";

    const STAGING_LOCKED: &str = "
metadata: {name: deny-all, namespace: staging}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]";

    /// (what, policies, from, to, port, protocol, expected).
    type Row = (&'static str, &'static str, &'static str, &'static str, u16, &'static str, bool);

    #[rustfmt::skip]
    const CASES: &[Row] = &[
        ("no policy: pod to pod", NONE, "web", "api", 8000, "TCP", true),
        ("no policy: internet to pod", NONE, "internet", "db", 5432, "TCP", true),
        ("no policy: pod to metadata", NONE, "api", "imds", 80, "TCP", true),
        ("no spec is default-deny ingress", SPECLESS, "web", "api", 8000, "TCP", false),
        ("no spec leaves egress open", SPECLESS, "api", "internet", 443, "TCP", true),
        ("default-deny ingress: same namespace", DENY_INGRESS, "web", "api", 8000, "TCP", false),
        ("default-deny ingress: from outside", DENY_INGRESS, "internet", "web", 8080, "TCP", false),
        ("default-deny ingress: egress still open", DENY_INGRESS, "web", "internet", 443, "TCP", true),
        ("default-deny ingress: to another namespace", DENY_INGRESS, "web", "dns", 53, "UDP", true),
        ("Egress-only deny: ingress stays open", DENY_EGRESS_ONLY, "internet", "web", 8080, "TCP", true),
        ("Egress-only deny: into shop from elsewhere", DENY_EGRESS_ONLY, "prom", "api", 9000, "TCP", true),
        ("Egress-only deny: egress closed", DENY_EGRESS_ONLY, "web", "api", 8000, "TCP", false),
        ("Egress-only deny: no DNS either", DENY_EGRESS_ONLY, "web", "dns", 53, "UDP", false),
        ("egress: [] is not an Egress policy", EMPTY_EGRESS_LIST, "web", "internet", 443, "TCP", true),
        ("egress: [] still denies ingress", EMPTY_EGRESS_LIST, "internet", "web", 8080, "TCP", false),
        ("policyTypes: [] defaults to Ingress", EMPTY_POLICY_TYPES, "internet", "web", 8080, "TCP", false),
        ("policyTypes: [] without egress rules", EMPTY_POLICY_TYPES, "web", "internet", 443, "TCP", true),
        ("empty rules allow everything in", ALLOW_ALL_RULES, "internet", "db", 5432, "TCP", true),
        ("empty rules allow everything out", ALLOW_ALL_RULES, "db", "imds", 80, "UDP", true),
        ("empty from and ports allow everything in", EMPTY_LISTS, "internet", "db", 5432, "TCP", true),
        ("empty to and ports allow everything out", EMPTY_LISTS, "db", "imds", 80, "UDP", true),
        ("additive: first allow", ADDITIVE, "web", "api", 8000, "TCP", true),
        ("additive: second allow", ADDITIVE, "prom", "api", 9000, "TCP", true),
        ("additive: first peer, second's port", ADDITIVE, "web", "api", 9000, "TCP", false),
        ("additive: second peer, first's port", ADDITIVE, "prom", "api", 8000, "TCP", false),
        ("additive: unlisted pod", ADDITIVE, "db", "api", 8000, "TCP", false),
        ("podSelector alone is the policy's namespace", ADDITIVE, "stage-web", "api", 8000, "TCP", false),
        ("additive: deny-all still holds elsewhere", ADDITIVE, "web", "db", 5432, "TCP", false),
        ("both selectors: both match", PEER_AND, "stage-web", "db", 5432, "TCP", true),
        ("both selectors: pod matches, namespace not", PEER_AND, "web", "db", 5432, "TCP", false),
        ("both selectors: neither", PEER_AND, "prom", "db", 5432, "TCP", false),
        ("selectors never match an address", PEER_AND, "internet", "db", 5432, "TCP", false),
        ("two peers: namespace peer", PEER_OR, "stage-web", "db", 5432, "TCP", true),
        ("two peers: pod peer", PEER_OR, "web", "db", 5432, "TCP", true),
        ("two peers: neither", PEER_OR, "api", "db", 5432, "TCP", false),
        ("two peers: other namespace", PEER_OR, "prom", "db", 5432, "TCP", false),
        ("namespace by metadata.name", NAMESPACE_BY_NAME, "prom", "db", 5432, "TCP", true),
        ("namespace by metadata.name: other", NAMESPACE_BY_NAME, "web", "db", 5432, "TCP", false),
        ("namespaceSelector {}: any pod", ANY_NAMESPACE, "dns", "db", 5432, "TCP", true),
        ("namespaceSelector {}: not an address", ANY_NAMESPACE, "vpc", "db", 5432, "TCP", false),
        ("In: unselected pod stays open", EXPRESSIONS, "prom", "web", 8080, "TCP", true),
        ("In on a missing key: not selected", EXPRESSIONS, "prom", "job", 8080, "TCP", true),
        ("NotIn + Exists: frontend", EXPRESSIONS, "web", "api", 8000, "TCP", true),
        ("NotIn + Exists: backend", EXPRESSIONS, "api", "db", 5432, "TCP", true),
        ("NotIn: excluded value", EXPRESSIONS, "db", "api", 8000, "TCP", false),
        ("Exists: key missing", EXPRESSIONS, "job", "api", 8000, "TCP", false),
        ("DoesNotExist + NotIn: staging", EXPRESSIONS, "stage-web", "db", 5432, "TCP", true),
        ("DoesNotExist: key present", EXPRESSIONS, "prom", "db", 5432, "TCP", false),
        ("NotIn on metadata.name", EXPRESSIONS, "dns", "api", 8000, "TCP", false),
        ("NotIn: key missing", NOT_IN_MISSING_KEY, "job", "db", 5432, "TCP", true),
        ("NotIn: other value", NOT_IN_MISSING_KEY, "api", "db", 5432, "TCP", true),
        ("NotIn: listed value", NOT_IN_MISSING_KEY, "db", "db", 5432, "TCP", false),
        ("ipBlock: public address", EGRESS_PUBLIC_ONLY, "api", "internet", 443, "TCP", true),
        ("ipBlock: public address, other port", EGRESS_PUBLIC_ONLY, "api", "internet", 80, "TCP", false),
        ("ipBlock except: metadata service", EGRESS_PUBLIC_ONLY, "api", "imds", 443, "TCP", false),
        ("ipBlock except: metadata service, port 80", EGRESS_PUBLIC_ONLY, "api", "imds", 80, "TCP", false),
        ("ipBlock except: 192.168/16", EGRESS_PUBLIC_ONLY, "api", "lan", 443, "TCP", false),
        ("ipBlock except: 10/8", EGRESS_PUBLIC_ONLY, "api", "vpc", 443, "TCP", false),
        ("ipBlock except: pod IP in 10/8", EGRESS_PUBLIC_ONLY, "api", "db", 443, "TCP", false),
        ("ipBlock: unselected pod keeps egress", EGRESS_PUBLIC_ONLY, "web", "vpc", 443, "TCP", true),
        ("ipBlock egress policy leaves ingress", EGRESS_PUBLIC_ONLY, "internet", "api", 8000, "TCP", true),
        ("ipBlock from: inside, not excepted", INGRESS_IP_BLOCKS, "office", "web", 8080, "TCP", true),
        ("ipBlock from: excepted", INGRESS_IP_BLOCKS, "lan", "web", 8080, "TCP", false),
        ("ipBlock from: outside", INGRESS_IP_BLOCKS, "internet", "web", 8080, "TCP", false),
        ("ipBlock /32 matches a pod IP", INGRESS_IP_BLOCKS, "prom", "web", 9090, "TCP", true),
        ("ipBlock: other pod IP", INGRESS_IP_BLOCKS, "api", "web", 8080, "TCP", false),
        ("port: UDP 53", DNS_UDP, "web", "dns", 53, "UDP", true),
        ("port: TCP 53 is another port", DNS_UDP, "web", "dns", 53, "TCP", false),
        ("port: UDP 54", DNS_UDP, "web", "dns", 54, "UDP", false),
        ("endPort: low end", RANGES, "web", "api", 8000, "TCP", true),
        ("endPort: inside", RANGES, "web", "api", 8005, "TCP", true),
        ("endPort: high end", RANGES, "web", "api", 8010, "TCP", true),
        ("endPort: above", RANGES, "web", "api", 8011, "TCP", false),
        ("endPort: below", RANGES, "web", "api", 7999, "TCP", false),
        ("endPort: range is TCP only", RANGES, "web", "api", 8005, "UDP", false),
        ("protocol without port: any port", RANGES, "web", "api", 1234, "SCTP", true),
        ("protocol without port: that protocol only", RANGES, "web", "api", 1234, "UDP", false),
        ("named ingress: web's http", NAMED_INGRESS, "internet", "web", 8080, "TCP", true),
        ("named ingress: web's other port", NAMED_INGRESS, "internet", "web", 9090, "TCP", false),
        ("named ingress: api's http", NAMED_INGRESS, "internet", "api", 8000, "TCP", true),
        ("named ingress: another pod's http number", NAMED_INGRESS, "internet", "api", 8080, "TCP", false),
        ("named ingress: pod without that name", NAMED_INGRESS, "internet", "db", 5432, "TCP", false),
        ("named ingress: UDP name, the pod's is TCP", NAMED_INGRESS, "internet", "web", 8080, "UDP", false),
        ("named egress: destination's http", NAMED_EGRESS, "web", "api", 8000, "TCP", true),
        ("named egress: not the source's http", NAMED_EGRESS, "web", "api", 8080, "TCP", false),
        ("named egress: other namespace", NAMED_EGRESS, "web", "stage-web", 8080, "TCP", true),
        ("named egress: UDP name", NAMED_EGRESS, "web", "dns", 53, "UDP", true),
        ("named egress: name of the other protocol", NAMED_EGRESS, "web", "dns", 53, "TCP", false),
        ("named egress: address has no names", NAMED_EGRESS, "web", "internet", 8080, "TCP", false),
        ("egress allowed, ingress denied", BOTH_DIRECTIONS, "web", "api", 8000, "TCP", false),
        ("ingress allowed, egress denied", BOTH_DIRECTIONS, "web", "db", 5432, "TCP", false),
        ("both allowed", BOTH_DIRECTIONS, "db", "api", 8000, "TCP", true),
        ("source unrestricted, destination denies", BOTH_DIRECTIONS, "api", "db", 5432, "TCP", false),
        ("other namespace's policy: not here", STAGING_LOCKED, "web", "api", 8000, "TCP", true),
        ("other namespace's policy: its egress", STAGING_LOCKED, "stage-web", "web", 8080, "TCP", false),
        ("other namespace's policy: its ingress", STAGING_LOCKED, "web", "stage-web", 8080, "TCP", false),
        ("other namespace's policy: outside traffic here", STAGING_LOCKED, "internet", "web", 8080, "TCP", true),
    ];

    type Evaluator<'a> = &'a dyn Fn(&[NetworkPolicy], &Endpoint, &Endpoint, u16, &str) -> bool;

    /// One case: `None` if `evaluate` agrees with `expected`, else a line saying how not.
    fn check(evaluate: Evaluator, row: &Row) -> Option<String> {
        let &(what, policies, from, to, port, protocol, expected) = row;
        let actual = evaluate(&parse(policies), &endpoint(from), &endpoint(to), port, protocol);
        (actual != expected)
            .then(|| format!("{what}: {from} -> {to} {port}/{protocol}: expected {expected}, got {actual}"))
    }

    fn failures(evaluate: Evaluator) -> Vec<String> {
        CASES.iter().filter_map(|row| check(evaluate, row)).collect()
    }

    fn real(policies: &[NetworkPolicy], from: &Endpoint, to: &Endpoint, port: u16, protocol: &str) -> bool {
        allowed(policies, from, to, port, protocol).expect("test policies are valid")
    }

    #[test]
    fn cases() {
        let failures = failures(&real);
        assert!(failures.is_empty(), "{} of {} cases fail:\n{}", failures.len(), CASES.len(), failures.join("\n"));
    }

    /// The table must catch evaluators that are wrong in the obvious ways, or passing it means
    /// little.
    #[test]
    fn cases_have_teeth() {
        let closed = CASES.iter().filter(|row| !row.6).count();
        let open = CASES.len() - closed;
        assert!(closed > 10 && open > 10, "{closed} closed and {open} open cases");
        assert_eq!(failures(&|_, _, _, _, _| true).len(), closed, "allow-all must fail every closed case");
        assert_eq!(failures(&|_, _, _, _, _| false).len(), open, "deny-all must fail every open case");

        // Mutants, each one rule of the semantics got wrong; each must fail some case.
        let ingress_only = |ps: &[NetworkPolicy], f: &Endpoint, t: &Endpoint, p, proto: &str| {
            Policies::new(ps).unwrap().ingress_allowed(f, t, p, proto)
        };
        let egress_only = |ps: &[NetworkPolicy], f: &Endpoint, t: &Endpoint, p, proto: &str| {
            Policies::new(ps).unwrap().egress_allowed(f, t, p, proto)
        };
        let edit = |ps: &[NetworkPolicy], change: &dyn Fn(&mut NetworkPolicySpec)| -> Vec<NetworkPolicy> {
            let mut ps = ps.to_vec();
            for spec in ps.iter_mut().filter_map(|p| p.spec.as_mut()) {
                change(spec);
            }
            ps
        };
        let ignore_ports = |ps: &[NetworkPolicy], f: &Endpoint, t: &Endpoint, p, proto: &str| {
            let ps = edit(ps, &|spec| {
                spec.ingress.iter_mut().flatten().for_each(|r| r.ports = None);
                spec.egress.iter_mut().flatten().for_each(|r| r.ports = None);
            });
            real(&ps, f, t, p, proto)
        };
        let ignore_except = |ps: &[NetworkPolicy], f: &Endpoint, t: &Endpoint, p, proto: &str| {
            let ps = edit(ps, &|spec| {
                let peers = spec.ingress.iter_mut().flatten().flat_map(|r| r.from.iter_mut().flatten());
                let peers = peers.chain(spec.egress.iter_mut().flatten().flat_map(|r| r.to.iter_mut().flatten()));
                peers.filter_map(|peer| peer.ip_block.as_mut()).for_each(|block| block.except = None);
            });
            real(&ps, f, t, p, proto)
        };
        let own_namespace_only = |ps: &[NetworkPolicy], f: &Endpoint, t: &Endpoint, p, proto: &str| {
            // Reads a namespaceSelector as if it were absent.
            let ps = edit(ps, &|spec| {
                let peers = spec.ingress.iter_mut().flatten().flat_map(|r| r.from.iter_mut().flatten());
                peers.for_each(|peer| {
                    if peer.namespace_selector.take().is_some() && peer.pod_selector.is_none() {
                        peer.pod_selector = Some(LabelSelector::default());
                    }
                });
            });
            real(&ps, f, t, p, proto)
        };
        let mutants: [(&str, Evaluator); 5] = [
            ("ingress only", &ingress_only),
            ("egress only", &egress_only),
            ("ports ignored", &ignore_ports),
            ("ipBlock.except ignored", &ignore_except),
            ("namespaceSelector ignored", &own_namespace_only),
        ];
        for (name, mutant) in mutants {
            assert!(!failures(mutant).is_empty(), "the mutant `{name}` passes every case");
        }
    }

    #[test]
    fn reachable_lists_every_allowed_flow() {
        let endpoints: Vec<_> =
            world().into_iter().filter(|(name, _)| ["web", "api", "dns", "internet"].contains(name)).collect();
        let flows = reachable(&parse(BOTH_DIRECTIONS), &endpoints, &[(8000, "TCP"), (53, "UDP")]).unwrap();
        let flow =
            |from: &str, to: &str, port, protocol: &str| (from.to_owned(), to.to_owned(), port, protocol.to_owned());
        let mut expected = BTreeSet::new();
        // web may only send to api, which refuses it: web sends nothing. api accepts only db.
        // Everyone else reaches everything but api.
        for from in ["api", "dns", "internet"] {
            for to in ["web", "dns", "internet"] {
                for (port, protocol) in [(8000, "TCP"), (53, "UDP")] {
                    expected.insert(flow(from, to, port, protocol));
                }
            }
        }
        assert_eq!(flows, expected);
    }

    /// Each side on its own: web may send to api (its egress) but api refuses it (its ingress);
    /// db accepts web, and web's egress refuses db.
    #[test]
    fn allows_answers_for_one_side_and_isolated_says_who_is_selected() {
        let policies = Policies::new(&parse(BOTH_DIRECTIONS)).unwrap();
        let side = |direction, from: &str, to: &str| {
            policies.allows(direction, &endpoint(from), &endpoint(to), 8000, "TCP").unwrap()
        };
        assert!(side(Direction::Egress, "web", "api"));
        assert!(!side(Direction::Ingress, "web", "api"));
        assert!(!side(Direction::Egress, "web", "db"));
        assert!(side(Direction::Ingress, "web", "db"));
        // An external source has no egress of its own to refuse with.
        assert!(side(Direction::Egress, "internet", "api"));

        let pod = |name: &str| endpoint(name).pod().cloned().unwrap();
        let isolated = |name: &str, direction| policies.isolated(&pod(name), direction);
        assert!(isolated("web", Direction::Egress) && !isolated("web", Direction::Ingress));
        assert!(isolated("api", Direction::Ingress) && !isolated("api", Direction::Egress));
        assert!(!isolated("job", Direction::Ingress) && !isolated("job", Direction::Egress));
        // Same labels as web, another namespace: web's policy does not reach it.
        assert!(!isolated("stage-web", Direction::Egress));
    }

    #[test]
    fn reachable_refuses_a_duplicate_name() {
        let endpoints = [("a", Endpoint::External(ip("1.1.1.1"))), ("a", Endpoint::External(ip("8.8.8.8")))];
        let error = reachable(&[], &endpoints, &[(53, "UDP")]).unwrap_err();
        assert_eq!(error, ReachError::InvalidInput { reason: "endpoint name \"a\" is used twice".into() });
    }

    #[test]
    fn namespace_name_label_cannot_be_overridden() {
        let pod = Pod::new("shop", ip("10.0.0.1")).with_namespace_labels([(NAMESPACE_NAME_LABEL, "other"), ("a", "b")]);
        assert_eq!(pod.namespace_labels().get(NAMESPACE_NAME_LABEL).map(String::as_str), Some("shop"));
        assert_eq!(pod.namespace_labels().get("a").map(String::as_str), Some("b"));
    }

    #[test]
    fn cidr_covers_and_overlaps() {
        let c = |text| Cidr::parse(text).unwrap();
        assert!(c("0.0.0.0/0").covers(c("10.0.0.0/8")));
        assert!(!c("10.0.0.0/8").covers(c("0.0.0.0/0")));
        assert!(c("10.0.0.0/8").covers(c("10.1.2.0/24")) && c("10.0.0.0/8").covers(c("10.0.0.0/8")));
        assert!(!c("10.0.0.0/8").covers(c("11.0.0.0/8")));
        assert!(c("10.1.2.0/24").overlaps(c("10.0.0.0/8")) && c("10.0.0.0/8").overlaps(c("10.1.2.0/24")));
        assert!(!c("172.16.0.0/12").overlaps(c("172.32.0.0/12")));
        assert_eq!(Cidr::parse("::/0"), None);
    }

    #[test]
    fn cidr() {
        let parsed = |text| Cidr::parse(text);
        assert_eq!(parsed("10.0.0.0/8"), Some(Cidr { network: 0x0a00_0000, prefix: 8 }));
        assert_eq!(parsed("10.1.2.3/8"), Some(Cidr { network: 0x0a00_0000, prefix: 8 }), "host bits are cleared");
        for bad in
            ["10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0/8", "256.0.0.0/8", "10.0.0.0/+8", "10.0.0.0/008", "a/8"]
        {
            assert_eq!(parsed(bad), None, "{bad}");
        }
        let contains = |cidr, address| parsed(cidr).unwrap().contains(ip(address));
        assert!(contains("0.0.0.0/0", "255.255.255.255"));
        assert!(contains("0.0.0.0/0", "0.0.0.0"));
        assert!(contains("169.254.169.254/32", "169.254.169.254"));
        assert!(!contains("169.254.169.254/32", "169.254.169.253"));
        assert!(contains("172.16.0.0/12", "172.31.255.255"));
        assert!(!contains("172.16.0.0/12", "172.32.0.0"));
        assert!(!contains("172.16.0.0/12", "172.15.255.255"));
    }

    #[test]
    fn invalid_input_is_an_error() {
        let error = |yaml: &str| Policies::new(&parse(yaml)).unwrap_err().to_string();
        assert_eq!(
            error("metadata: {name: x}\nspec: {podSelector: {}}"),
            "NetworkPolicy x: metadata.namespace is required to resolve its selectors"
        );
        let cases = [
            ("spec: {policyTypes: [ingress]}", "spec.policyTypes: unknown type \"ingress\""),
            ("spec: {ingress: [{from: [{}]}]}", "spec.ingress[0].from[0]: a peer needs"),
            (
                "spec: {egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}, podSelector: {}}]}]}",
                "spec.egress[0].to[0]: ipBlock cannot be combined",
            ),
            ("spec: {egress: [{to: [{ipBlock: {cidr: 10.0.0.0}}]}]}", "is not an IPv4 CIDR"),
            ("spec: {egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]}]}", "is not inside"),
            ("spec: {egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]}]}", "is not inside"),
            ("spec: {ingress: [{ports: [{protocol: tcp}]}]}", "protocol \"tcp\" is not one of"),
            ("spec: {ingress: [{ports: [{port: 0}]}]}", "spec.ingress[0].ports[0].port: 0 is not in"),
            ("spec: {ingress: [{ports: [{port: 70000}]}]}", "70000 is not in"),
            ("spec: {ingress: [{ports: [{port: 90, endPort: 80}]}]}", "endPort: 80 is below port 90"),
            ("spec: {ingress: [{ports: [{endPort: 80}]}]}", "endPort: needs a numeric port"),
            ("spec: {ingress: [{ports: [{port: http, endPort: 80}]}]}", "not allowed with a named port"),
            ("spec: {ingress: [{ports: [{port: '80'}]}]}", "\"80\" is not a valid port name"),
            (
                "spec: {podSelector: {matchExpressions: [{key: a, operator: Equals, values: [b]}]}}",
                "spec.podSelector.matchExpressions[0].operator: unknown operator \"Equals\"",
            ),
            ("spec: {podSelector: {matchExpressions: [{key: a, operator: In}]}}", "In needs values"),
            ("spec: {podSelector: {matchExpressions: [{key: a, operator: Exists, values: [b]}]}}", "takes no values"),
        ];
        for (spec, message) in cases {
            let text = error(&format!("metadata: {{name: x, namespace: shop}}\n{spec}"));
            assert!(text.starts_with("NetworkPolicy shop/x: ") && text.contains(message), "{spec}: {text}");
        }

        let (web, api) = (endpoint("web"), endpoint("api"));
        let none = Policies::new(&[]).unwrap();
        assert!(none.allowed(&web, &api, 80, "tcp").unwrap_err().to_string().contains("protocol \"tcp\""));
        let bad_port = Pod::new("shop", ip("10.0.0.1")).with_port(Some("HTTP"), 80, "TCP").into();
        assert!(none.allowed(&web, &bad_port, 80, "TCP").unwrap_err().to_string().contains("\"HTTP\" is not a valid"));
        let bad_protocol = Pod::new("shop", ip("10.0.0.1")).with_port(None, 80, "ICMP").into();
        assert!(none.allowed(&bad_protocol, &web, 80, "TCP").is_err());
    }
}
