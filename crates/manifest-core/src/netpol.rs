//! The service graph as network policy (docs/spec.md ("The network")): the edges the spec sheets
//! declare ([`crate::spec::Uses`], resolved by [`crate::model`] into each service's calls and
//! callers) become [`Flow`]s, and the flows become `networking.k8s.io/v1` NetworkPolicy specs.
//! The policies, the overlay README's table ([`crate::docs`]) and the lint ([`crate::policy`])
//! all read these flows, so what the network allows cannot drift from what the services declare.
//!
//! Per environment: a default deny for every pod, both directions, and DNS for every pod
//! ([`environment_policies`]); then one policy per service ([`service_spec`]) holding its
//! ingress ([`ingress`]: any source when it is public, its callers, monitoring) and its egress
//! ([`egress`]: the services it calls, the data stores of the environment, HTTPS to the internet
//! for a reason). A service that declares no edge and is called by none gets its monitoring
//! scrape and nothing else. Ports are numbers, as the table and the spec state them.
//!
//! Pure, and nothing here names an environment or a store: the data namespace is a value of the
//! [`Environment`], the stores' ports of the catalogue's stores; the cluster's facts are
//! [`crate::conventions::network`].

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::conventions::network::{
    ALLOW_DNS, ANY_ADDRESS, CLOSED_RANGES, DEFAULT_DENY, DNS_NAMESPACE, DNS_POD_LABEL, DNS_PORT, HTTPS_PORT,
    MONITORING_NAMESPACE,
};
use crate::conventions::{APP_LABEL, COMPONENT_LABEL, MIGRATION_COMPONENT, NAME_LABEL};
use crate::model::{Model, Service, upstream_key};
use crate::reach::NAMESPACE_NAME_LABEL;
use crate::spec::{DataStore, Environment, Uses};

/// One end of an allowed flow, as a policy selects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The pods of a service of the catalogue (`app: <name>`), in the environment's namespace.
    Service(String),
    /// The pods of a service's migration Jobs ([`migration_pods`]), which no selector of the
    /// service counts.
    Migration(String),
    /// Every pod of the environment's namespace.
    EveryPod,
    /// Every pod of a namespace, selected by its name.
    Namespace(String),
    /// The pods of a namespace that carry a label.
    Pods { namespace: String, label: (String, String) },
    /// Any address, in the cluster or outside it (no `from`: the source is not known in advance).
    AnySource,
    /// The internet: [`ANY_ADDRESS`] less the [`CLOSED_RANGES`].
    Internet,
}

/// A port a flow uses: `TCP` or `UDP`, and its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Port {
    pub protocol: &'static str,
    pub number: u16,
}

pub const fn tcp(number: u16) -> Port {
    Port { protocol: "TCP", number }
}

pub const fn udp(number: u16) -> Port {
    Port { protocol: "UDP", number }
}

/// Traffic the network allows: from one end to the other, on these ports, for a reason a
/// reviewer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub from: End,
    pub to: End,
    pub ports: Vec<Port>,
    pub why: String,
}

fn flow(from: End, to: End, ports: Vec<Port>, why: impl Into<String>) -> Flow {
    Flow { from, to, ports, why: why.into() }
}

/// What every pod of an environment may do: resolve names through the cluster's DNS.
pub fn environment_flows() -> Vec<Flow> {
    let dns = End::Pods {
        namespace: DNS_NAMESPACE.to_owned(),
        label: (DNS_POD_LABEL.0.to_owned(), DNS_POD_LABEL.1.to_owned()),
    };
    vec![flow(End::EveryPod, dns, vec![udp(DNS_PORT), tcp(DNS_PORT)], "name resolution (cluster DNS)")]
}

/// What may reach `service`, always on its own port: any source when it is public, the pods of
/// each service that calls it, and monitoring.
pub fn ingress(service: &Service) -> Vec<Flow> {
    let me = || End::Service(service.name.clone());
    let port = vec![tcp(service.port)];
    let mut flows = Vec::new();
    if let Some(reason) = &service.public {
        flows.push(flow(End::AnySource, me(), port.clone(), format!("public entry point: {reason}")));
    }
    for caller in &service.callers {
        flows.push(flow(End::Service(caller.clone()), me(), port.clone(), format!("{caller} calls it")));
    }
    flows.push(flow(End::Namespace(MONITORING_NAMESPACE.to_owned()), me(), port, "Prometheus scrapes its port"));
    flows
}

/// What `service` may reach in `env`: each service it calls on that service's port, the data
/// stores it uses in the environment's data namespace, the internet over HTTPS when it
/// declares why, and the environment's trace collector.
pub fn egress(env: &Environment, service: &Service) -> Vec<Flow> {
    let me = || End::Service(service.name.clone());
    let data = || End::Namespace(env.data_namespace.clone());
    let mut flows = Vec::new();
    for (callee, port) in &service.calls {
        let why = if service.uses.contains(&Uses::Service(callee.clone())) {
            "calls it".to_owned()
        } else {
            format!("routes client requests to it (`{}`)", upstream_key(callee))
        };
        flows.push(flow(me(), End::Service(callee.clone()), vec![tcp(*port)], why));
    }
    for store in &service.stores {
        let why = format!("{} (`{}`)", store.title, store.host_key);
        flows.push(flow(me(), data(), vec![store_port(store.port)], why));
    }
    for edge in &service.uses {
        if let Uses::ExternalHttps(reason) = edge {
            flows.push(flow(me(), End::Internet, vec![tcp(HTTPS_PORT)], format!("HTTPS to {reason}")))
        }
    }
    // Every service exports its traces (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    if let Some(c) = &env.collector {
        let collector = End::Pods { namespace: c.namespace.clone(), label: c.pod_label.clone() };
        flows.push(flow(me(), collector, vec![tcp(c.port)], "traces (OTLP) to the OpenTelemetry collector"));
    }
    flows
}

/// A data store's port; [`crate::model`] has checked it is in range.
fn store_port(port: u32) -> Port {
    tcp(u16::try_from(port).unwrap_or_default())
}

/// What the migration Job of `service` for `store` may reach in `env`: DNS and the store, in the
/// data namespace. Nothing reaches it.
pub fn migration_egress(env: &Environment, service: &Service, store: &DataStore) -> Vec<Flow> {
    let me = || End::Migration(service.name.clone());
    let dns = environment_flows().into_iter().map(|f| Flow { from: me(), ..f });
    let data = End::Namespace(env.data_namespace.clone());
    let why = format!("{} (`{}`): the release's migrations", store.title, store.host_key);
    dns.chain([flow(me(), data, vec![store_port(store.port)], why)]).collect()
}

/// The whole graph of `env`, each flow once: DNS for every pod, then service by service what
/// reaches it from outside the catalogue (any source, monitoring), what it reaches, and what its
/// migration Jobs reach. A flow between two services is listed once, at its caller, which
/// declares it.
pub fn graph(model: &Model, env: &Environment) -> Vec<Flow> {
    let mut flows = environment_flows();
    for service in &model.services {
        flows.extend(ingress(service).into_iter().filter(|f| !matches!(f.from, End::Service(_))));
        flows.extend(egress(env, service));
        for store in service.stores.iter().filter(|st| st.migration.is_some()) {
            // DNS is every pod's already (the first flow): listed once.
            flows.extend(
                migration_egress(env, service, store).into_iter().filter(|f| !matches!(f.to, End::Pods { .. })),
            );
        }
    }
    flows
}

/// The labels of the pods of `service`'s migration Jobs: the service's name and the migration
/// component, and not the `app` label every selector of the service reads.
pub fn migration_pods(service: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (NAME_LABEL.to_owned(), service.to_owned()),
        (COMPONENT_LABEL.to_owned(), MIGRATION_COMPONENT.to_owned()),
    ])
}

/// The policy of `service`'s migration Job for `store` in `env`: its pods, no ingress, egress to
/// DNS and the store only.
pub fn migration_spec(env: &Environment, service: &Service, store: &DataStore) -> NetworkPolicySpec {
    NetworkPolicySpec {
        pod_selector: Some(LabelSelector { match_labels: Some(migration_pods(&service.name)), ..Default::default() }),
        policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
        ingress: None,
        egress: Some(migration_egress(env, service, store).iter().map(egress_rule).collect()),
    }
}

/// The environment-wide policies, by name: the default deny (every pod selected, both
/// directions, no rule), then DNS egress for every pod.
pub fn environment_policies() -> Vec<(&'static str, NetworkPolicySpec)> {
    let deny = NetworkPolicySpec {
        pod_selector: Some(LabelSelector::default()),
        policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
        ..Default::default()
    };
    let dns = NetworkPolicySpec {
        pod_selector: Some(LabelSelector::default()),
        policy_types: Some(vec!["Egress".into()]),
        egress: Some(environment_flows().iter().map(egress_rule).collect()),
        ..Default::default()
    };
    vec![(DEFAULT_DENY, deny), (ALLOW_DNS, dns)]
}

/// The policy of `service` in `env`: its pods, with a rule for each flow of [`ingress`] and
/// [`egress`]. It names both directions, so it isolates its pods on its own even without the
/// default deny.
pub fn service_spec(env: &Environment, service: &Service) -> NetworkPolicySpec {
    let ingress: Vec<NetworkPolicyIngressRule> = ingress(service).iter().map(ingress_rule).collect();
    let egress: Vec<NetworkPolicyEgressRule> = egress(env, service).iter().map(egress_rule).collect();
    NetworkPolicySpec {
        pod_selector: Some(pods(APP_LABEL, &service.name)),
        policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
        ingress: (!ingress.is_empty()).then_some(ingress),
        egress: (!egress.is_empty()).then_some(egress),
    }
}

fn ingress_rule(flow: &Flow) -> NetworkPolicyIngressRule {
    NetworkPolicyIngressRule { from: peers(&flow.from), ports: Some(ports(&flow.ports)) }
}

fn egress_rule(flow: &Flow) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule { to: peers(&flow.to), ports: Some(ports(&flow.ports)) }
}

fn pods(key: &str, value: &str) -> LabelSelector {
    LabelSelector { match_labels: Some(BTreeMap::from([(key.to_owned(), value.to_owned())])), ..Default::default() }
}

/// The peers that stand for `end`; `None` (no `from`/`to`) is any address.
fn peers(end: &End) -> Option<Vec<NetworkPolicyPeer>> {
    let peer = match end {
        End::AnySource => return None,
        End::Service(name) => NetworkPolicyPeer { pod_selector: Some(pods(APP_LABEL, name)), ..Default::default() },
        End::Migration(name) => NetworkPolicyPeer {
            pod_selector: Some(LabelSelector { match_labels: Some(migration_pods(name)), ..Default::default() }),
            ..Default::default()
        },
        End::EveryPod => NetworkPolicyPeer { pod_selector: Some(LabelSelector::default()), ..Default::default() },
        End::Namespace(namespace) => {
            NetworkPolicyPeer { namespace_selector: Some(pods(NAMESPACE_NAME_LABEL, namespace)), ..Default::default() }
        }
        End::Pods { namespace, label: (key, value) } => NetworkPolicyPeer {
            namespace_selector: Some(pods(NAMESPACE_NAME_LABEL, namespace)),
            pod_selector: Some(pods(key, value)),
            ..Default::default()
        },
        End::Internet => NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: ANY_ADDRESS.to_owned(),
                except: Some(CLOSED_RANGES.iter().map(|r| (*r).to_owned()).collect()),
            }),
            ..Default::default()
        },
    };
    Some(vec![peer])
}

fn ports(ports: &[Port]) -> Vec<NetworkPolicyPort> {
    ports
        .iter()
        .map(|p| NetworkPolicyPort {
            protocol: Some(p.protocol.to_owned()),
            port: Some(IntOrString::Int(i32::from(p.number))),
            ..Default::default()
        })
        .collect()
}
