//! The network of `docs/spec.md` ("The network"), proven on what the real `kubectl kustomize` renders:
//! the policies read back strictly, and evaluated with the Kubernetes semantics
//! (`lomash_manifests::reach`, itself tested on hand-written policies with known answers) they
//! allow exactly the flows the page allows, between every pair of endpoints, on every port
//! involved. The expected set is written here from the page's rules ([`spec_allows`]), not
//! derived from the policies or from `netpol`: names, ports and counts come from the catalogue,
//! the rules and the graph's table are restated. Last, an edge added in a spec sheet changes the
//! two services' policies and the README's table, and nothing else.

use crate::common;

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use lomash_manifests::model::Model;
use lomash_manifests::object::{parse_documents, Object};
use lomash_manifests::reach::{Endpoint, Flow, Pod, Policies};
use lomash_manifests::spec::{Environment, Uses};
use lomash_manifests::{catalogue, layout, render, validate, Catalogue, File};
use pretty_assertions::assert_eq;

use common::kustomized;

// --- docs/spec.md ("The network"), restated ---

/// The graph's table: (service, calls every other service, Postgres, Redis, external HTTPS).
const GRAPH: [(&str, bool, bool, bool, bool); 9] = [
    ("api-gateway", true, false, true, false),
    ("auth-service", false, true, true, false),
    ("product-service", false, true, true, false),
    ("order-payment-service", false, true, true, true),
    ("appointment-service", false, true, true, false),
    ("content-service", false, true, true, false),
    ("customer-service", false, true, true, false),
    ("notification-service", false, true, true, true),
    ("analytics-service", false, true, true, false),
];

/// The public service: ingress on its port from any source.
const GATEWAY: &str = "api-gateway";
/// Each environment's namespace and data namespace (docs/spec.md ("The network"); docs/spec.md ("Staging") for staging):
/// the spec's two, restated. See [`namespaces`] for an environment added since.
const NAMESPACES: [(&str, &str, &str); 2] = [
    ("production", "lomash-wood-production", "lomash-wood-data"),
    ("staging", "lomash-wood-staging", "lomash-wood-data-staging"),
];
const POSTGRES_PORT: u16 = 5432;
const REDIS_PORT: u16 = 6379;
const DNS_PORT: u16 = 53;
const HTTPS_PORT: u16 = 443;
/// The OpenTelemetry collector (docs/spec.md, "The network" and "Go-live" §5): its namespace, its pods' label, OTLP.
const COLLECTOR_NAMESPACE: &str = "observability";
const COLLECTOR_LABEL: (&str, &str) = ("app.kubernetes.io/name", "opentelemetry-collector");
const OTLP_PORT: u16 = 4317;
/// A port nobody allows.
const UNUSED_PORT: u16 = 9999;

/// The graph's row of `service`: docs/spec.md ("The network"), restated above; for a service added after the
/// page (`cargo xtask new-service`), what its own spec sheet declares, as for the other oracles.
fn graph_row(service: &str) -> (&'static str, bool, bool, bool, bool) {
    if let Some(row) = GRAPH.iter().find(|row| row.0 == service) {
        return *row;
    }
    let c = catalogue();
    let def = c.services.iter().find(|s| s.name == service).unwrap_or_else(|| panic!("no service {service}"));
    let external = def.uses.iter().any(|u| matches!(u, Uses::ExternalHttps(_)));
    ("", def.uses.contains(&Uses::AllServices), def.uses_store("postgres"), def.uses_store("redis"), external)
}

/// The namespace and the data namespace of `env`: the spec's, restated above, for the two
/// environments it names (and the catalogue must agree); for an environment added after the
/// spec (`cargo xtask new-environment`), which no page fixes, what the catalogue declares, as the
/// other oracles take a service added later from its own sheet. The flows are checked in it all
/// the same.
fn namespaces(env: &Environment) -> (String, String) {
    match NAMESPACES.iter().find(|(name, ..)| *name == env.name) {
        Some((_, namespace, data)) => {
            assert_eq!(env.namespace, *namespace, "{}: namespace", env.name);
            assert_eq!(env.data_namespace, *data, "{}: data namespace", env.name);
            ((*namespace).to_owned(), (*data).to_owned())
        }
        None => (env.namespace.clone(), env.data_namespace.clone()),
    }
}

/// One end of the test's traffic, as the rules see it.
#[derive(Debug, Clone, PartialEq)]
enum Who {
    /// A service's pod, with its port.
    Workload(String, u16),
    /// A pod of a service's migration Job (docs/spec.md ("Go-live") §2).
    Migration(String),
    /// A pod of the environment's namespace that belongs to no service.
    Stray,
    Dns,
    /// The OpenTelemetry collector's pods.
    Collector,
    /// A pod of the data namespace.
    Data,
    Monitoring,
    /// A pod of a namespace the page says nothing about.
    OtherNamespace,
    /// An address outside the cluster; `public` when no closed range holds it.
    Outside {
        public: bool,
    },
}

/// Whether docs/spec.md ("The network") allows `from` to reach `to` on `port`/`protocol`: the egress of the
/// source and the ingress of the destination must both allow it; only the environment's pods
/// have policies, so every other end is open on its own side.
fn spec_allows(from: &Who, to: &Who, port: u16, protocol: &str) -> bool {
    let tcp = protocol == "TCP";
    let ours = |w: &Who| matches!(w, Who::Workload(..) | Who::Migration(_) | Who::Stray);
    let egress = !ours(from)
        // Every pod: kube-dns on UDP and TCP 53.
        || (*to == Who::Dns && port == DNS_PORT)
        || match from {
            Who::Workload(name, _) => {
                let (_, calls_all, postgres, redis, external) = graph_row(name);
                match to {
                    // The gateway: each other service's pods on that service's port.
                    Who::Workload(callee, callee_port) => calls_all && callee != name && tcp && port == *callee_port,
                    // Postgres users TCP 5432, Redis users TCP 6379, to the data namespace.
                    Who::Data => tcp && ((postgres && port == POSTGRES_PORT) || (redis && port == REDIS_PORT)),
                    // HTTPS to the internet, private ranges and the metadata endpoint closed.
                    Who::Outside { public } => external && *public && tcp && port == HTTPS_PORT,
                    // Every service: traces to the collector on TCP 4317.
                    Who::Collector => tcp && port == OTLP_PORT,
                    _ => false,
                }
            }
            // A migration Job's pods: DNS (above) and Postgres in the data namespace, nothing else.
            Who::Migration(name) => *to == Who::Data && tcp && port == POSTGRES_PORT && graph_row(name).2,
            _ => false,
        };
    // No ingress to a migration Job's pods: the arm below matches workloads only.
    let ingress = !ours(to)
        || match to {
            Who::Workload(name, own_port) if tcp && port == *own_port => {
                name == GATEWAY
                    || matches!(from, Who::Workload(caller, _) if caller == GATEWAY)
                    || *from == Who::Monitoring
            }
            _ => false,
        };
    egress && ingress
}

// --- the world the rendered policies are evaluated in ---

/// Every endpoint: each workload as kubectl rendered its Deployment (labels, container ports),
/// a stray pod of the namespace, kube-dns, a data store pod, Prometheus, a pod of another
/// namespace, and outside addresses on either side of each closed range's edge. Pods get
/// addresses in `10.0.0.0/8`, as a cluster's pods have, so only selectors can reach them.
fn world(model: &Model, objects: &[Object], env: &Environment, data_namespace: &str) -> Vec<(String, Who, Endpoint)> {
    let mut world = Vec::new();
    let mut address = 0u32;
    let mut ip = || {
        address += 1;
        Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 244, 0, 0)) + address)
    };
    for o in objects {
        let Object::Deployment(d) = o else { continue };
        let name = o.name().to_owned();
        let template = &d.spec.as_ref().unwrap().template;
        let labels = template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
        let mut pod =
            Pod::new(d.metadata.namespace.clone().expect("kubectl sets the namespace"), ip()).with_labels(labels);
        for c in &template.spec.as_ref().unwrap().containers {
            for p in c.ports.iter().flatten() {
                pod = pod.with_port(p.name.as_deref(), p.container_port as u16, p.protocol.as_deref().unwrap_or("TCP"));
            }
        }
        let port = model.services.iter().find(|s| s.name == name).map(|s| s.port).expect("a Deployment a service");
        world.push((name.clone(), Who::Workload(name, port), pod.into()));
    }
    // Each migration Job's pod, as kubectl rendered its template (labels only: it listens on
    // nothing).
    for o in objects {
        let Object::Job(job) = o else { continue };
        let template = &job.spec.as_ref().unwrap().template;
        let labels = template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
        let service = labels["app.kubernetes.io/name"].clone();
        let pod =
            Pod::new(job.metadata.namespace.clone().expect("kubectl sets the namespace"), ip()).with_labels(labels);
        world.push((format!("{service}-migration"), Who::Migration(service), pod.into()));
    }
    let pods = [
        ("stray", Who::Stray, Pod::new(env.namespace.clone(), ip()).with_label("run", "debug")),
        (
            "kube-dns",
            Who::Dns,
            Pod::new("kube-system", ip())
                .with_label("k8s-app", "kube-dns")
                .with_port(Some("dns"), DNS_PORT, "UDP")
                .with_port(Some("dns-tcp"), DNS_PORT, "TCP"),
        ),
        (
            "postgres",
            Who::Data,
            Pod::new(data_namespace, ip()).with_label("app", "postgres").with_port(Some("tcp-postgres"), 5432, "TCP"),
        ),
        (
            "redis",
            Who::Data,
            Pod::new(data_namespace, ip()).with_label("app", "redis").with_port(Some("tcp-redis"), 6379, "TCP"),
        ),
        ("prometheus", Who::Monitoring, Pod::new("monitoring", ip()).with_label("app", "prometheus")),
        (
            "otel-collector",
            Who::Collector,
            Pod::new(COLLECTOR_NAMESPACE, ip()).with_label(COLLECTOR_LABEL.0, COLLECTOR_LABEL.1).with_port(
                Some("otlp-grpc"),
                OTLP_PORT,
                "TCP",
            ),
        ),
        // Another pod of the collector's namespace, and a pod with the collector's label elsewhere:
        // neither is the collector.
        (
            "observability-other",
            Who::OtherNamespace,
            Pod::new(COLLECTOR_NAMESPACE, ip()).with_label("app", "jaeger").with_port(Some("otlp"), OTLP_PORT, "TCP"),
        ),
        (
            "collector-label-elsewhere",
            Who::OtherNamespace,
            Pod::new("team-x", ip()).with_label(COLLECTOR_LABEL.0, COLLECTOR_LABEL.1),
        ),
        ("other-namespace", Who::OtherNamespace, Pod::new("team-x", ip()).with_label("app", "api-gateway")),
    ];
    world.extend(pods.into_iter().map(|(n, who, pod)| (n.to_owned(), who, pod.into())));
    let outside = [
        ("internet", "93.184.216.34", true),
        ("past-172.16/12", "172.32.0.1", true),
        ("private-10", "10.20.30.40", false),
        ("private-172", "172.20.1.1", false),
        ("private-192", "192.168.1.5", false),
        ("metadata", "169.254.169.254", false),
    ];
    for (name, address, public) in outside {
        world.push((name.to_owned(), Who::Outside { public }, Endpoint::External(address.parse().unwrap())));
    }
    world
}

/// Each service's port, DNS on both protocols, the data stores, HTTPS (and its UDP twin), and
/// a port nobody allows.
fn probes(model: &Model) -> Vec<(u16, &'static str)> {
    let mut probes: Vec<(u16, &str)> = model.services.iter().map(|s| (s.port, "TCP")).collect();
    probes.extend([
        (DNS_PORT, "UDP"),
        (DNS_PORT, "TCP"),
        (POSTGRES_PORT, "TCP"),
        (REDIS_PORT, "TCP"),
        (HTTPS_PORT, "TCP"),
        (HTTPS_PORT, "UDP"),
        (OTLP_PORT, "TCP"),
        (UNUSED_PORT, "TCP"),
    ]);
    probes
}

fn flow(from: &str, to: &str, port: u16, protocol: &str) -> Flow {
    (from.to_owned(), to.to_owned(), port, protocol.to_owned())
}

/// What the policies allow beyond docs/spec.md ("The network"), and what docs/spec.md ("The network") allows that they do not.
#[derive(Debug)]
struct Mismatch {
    extra: BTreeSet<Flow>,
    missing: BTreeSet<Flow>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |flows: &BTreeSet<Flow>| {
            flows
                .iter()
                .map(|(from, to, port, protocol)| format!("  {from} -> {to} {protocol} {port}\n"))
                .collect::<String>()
        };
        write!(
            f,
            "{} flows allowed that docs/spec.md (The network) forbids:\n{}{} flows docs/spec.md (The network) allows are missing:\n{}",
            self.extra.len(),
            show(&self.extra),
            self.missing.len(),
            show(&self.missing)
        )
    }
}

/// Compares what `policies` allow in `world` with what docs/spec.md ("The network") allows ([`spec_allows`]):
/// the number of flows allowed, or the difference.
fn check_connectivity(
    policies: &Policies,
    world: &[(String, Who, Endpoint)],
    probes: &[(u16, &str)],
) -> Result<usize, Mismatch> {
    let endpoints: Vec<(&str, Endpoint)> = world.iter().map(|(n, _, e)| (n.as_str(), e.clone())).collect();
    let actual = policies.reachable(&endpoints, probes).expect("the world and probes are valid");
    let mut expected = BTreeSet::new();
    for (from_name, from, _) in world {
        for (to_name, to, _) in world {
            for &(port, protocol) in probes {
                if spec_allows(from, to, port, protocol) {
                    expected.insert(flow(from_name, to_name, port, protocol));
                }
            }
        }
    }
    let extra: BTreeSet<Flow> = actual.difference(&expected).cloned().collect();
    let missing: BTreeSet<Flow> = expected.difference(&actual).cloned().collect();
    if extra.is_empty() && missing.is_empty() {
        Ok(expected.len())
    } else {
        Err(Mismatch { extra, missing })
    }
}

fn network_policies(objects: &[Object]) -> Vec<NetworkPolicy> {
    objects
        .iter()
        .filter_map(|o| match o {
            Object::NetworkPolicy(p) => Some((**p).clone()),
            _ => None,
        })
        .collect()
}

/// Every overlay, as the real kubectl renders it: (environment, its data namespace, objects).
fn kubectl_overlays(model: &Model) -> Vec<(Environment, String, Vec<Object>)> {
    let files = render(&catalogue()).expect("the catalogue is valid");
    model
        .platform
        .environments
        .iter()
        .map(|env| {
            let (_, data) = namespaces(env);
            let yaml = kustomized(&files, &layout::overlay_dir(&env.name)).unwrap_or_else(|e| panic!("{e}"));
            let objects = parse_documents(&yaml).unwrap_or_else(|e| panic!("{}: {e}", env.name));
            (env.clone(), data, objects)
        })
        .collect()
}

#[test]
fn kubectl_renders_the_policies_and_they_read_back_strictly() {
    let model = validate(&catalogue()).unwrap();
    let names: Vec<&str> = model.services.iter().map(|s| s.name.as_str()).collect();
    for (service, ..) in GRAPH {
        assert!(names.contains(&service), "{service} of docs/spec.md (The network)'s table is not in the catalogue");
    }
    for (env, ..) in NAMESPACES {
        assert!(model.platform.environment(env).is_some(), "{env} of the spec is not an environment of the catalogue");
    }
    for (env, _, objects) in kubectl_overlays(&model) {
        let mut rendered: Vec<String> = network_policies(&objects)
            .iter()
            .map(|p| {
                assert_eq!(p.metadata.namespace.as_deref(), Some(env.namespace.as_str()));
                p.metadata.name.clone().unwrap()
            })
            .collect();
        rendered.sort();
        let mut expected: Vec<String> = ["default-deny", "allow-dns"].map(str::to_owned).to_vec();
        expected.extend(names.iter().map(|n| (*n).to_owned()));
        // docs/spec.md ("Go-live") §2: one for each Postgres user's migration Job.
        expected.extend(names.iter().filter(|n| graph_row(n).2).map(|n| format!("{n}-migrate")));
        expected.sort();
        assert_eq!(
            rendered, expected,
            "{}: one policy a service and a migration Job, the default deny and DNS",
            env.name
        );
    }
}

#[test]
fn the_rendered_policies_allow_exactly_what_network_md_allows() {
    let model = validate(&catalogue()).unwrap();
    for (env, data, objects) in kubectl_overlays(&model) {
        let policies = Policies::new(&network_policies(&objects)).unwrap_or_else(|e| panic!("{}: {e}", env.name));
        let world = world(&model, &objects, &env, &data);
        assert_eq!(world.iter().filter(|(_, w, _)| matches!(w, Who::Workload(..))).count(), model.services.len());
        let migrating = model.services.iter().filter(|s| s.uses_store("postgres")).count();
        assert_eq!(world.iter().filter(|(_, w, _)| matches!(w, Who::Migration(_))).count(), migrating);
        let allowed =
            check_connectivity(&policies, &world, &probes(&model)).unwrap_or_else(|e| panic!("{}: {e}", env.name));
        println!("{}: {allowed} flows allowed, as docs/spec.md (The network) says", env.name);
    }
}

/// The comparison has teeth: an open network, a default deny alone, or the real policies less
/// any one of them each fail it.
#[test]
fn the_connectivity_check_fails_on_wrong_policies() {
    let model = validate(&catalogue()).unwrap();
    let env = &model.platform.environments[0];
    let (_, data) = namespaces(env);
    let objects = lomash_manifests::built::BuiltEnvironment::new(&model, env).objects;
    let world = world(&model, &objects, env, &data);
    let probes = probes(&model);
    let all = network_policies(&objects);
    let check = |policies: &[NetworkPolicy]| check_connectivity(&Policies::new(policies).unwrap(), &world, &probes);
    assert!(check(&all).is_ok());

    let open = check(&[]).unwrap_err();
    assert!(open.extra.contains(&flow("content-service", "order-payment-service", 3003, "TCP")), "{open}");
    assert!(open.extra.contains(&flow("order-payment-service", "metadata", 443, "TCP")), "{open}");
    assert!(open.missing.is_empty(), "an open network allows everything: {open}");
    let deny_only: Vec<NetworkPolicy> =
        all.iter().filter(|p| p.metadata.name.as_deref() == Some("default-deny")).cloned().collect();
    let denied = check(&deny_only).unwrap_err();
    assert!(denied.extra.is_empty() && denied.missing.contains(&flow("internet", GATEWAY, 3000, "TCP")), "{denied}");
    for left_out in &all {
        let rest: Vec<NetworkPolicy> =
            all.iter().filter(|p| p.metadata.name != left_out.metadata.name).cloned().collect();
        let name = left_out.metadata.name.as_deref().unwrap();
        assert!(check(&rest).is_err(), "without {name}");
    }
}

/// The oracle itself, on the page's own sentences: what it must deny and allow.
#[test]
fn the_restated_rules_say_what_network_md_says() {
    let w = |name: &str, port| Who::Workload(name.to_owned(), port);
    let public = Who::Outside { public: true };
    let metadata = Who::Outside { public: false };
    let cases = [
        ("public traffic reaches the gateway", public.clone(), w(GATEWAY, 3000), 3000, "TCP", true),
        ("public traffic does not reach a service", public.clone(), w("auth-service", 3001), 3001, "TCP", false),
        ("the gateway calls a service", w(GATEWAY, 3000), w("auth-service", 3001), 3001, "TCP", true),
        ("on its port only", w(GATEWAY, 3000), w("auth-service", 3001), 3002, "TCP", false),
        ("no service calls another", w("content-service", 3005), w("order-payment-service", 3003), 3003, "TCP", false),
        ("monitoring scrapes", Who::Monitoring, w("analytics-service", 3008), 3008, "TCP", true),
        ("another namespace does not", Who::OtherNamespace, w("analytics-service", 3008), 3008, "TCP", false),
        ("a service uses Postgres", w("auth-service", 3001), Who::Data, 5432, "TCP", true),
        ("every service sends traces", w(GATEWAY, 3000), Who::Collector, OTLP_PORT, "TCP", true),
        ("a migration Job reaches Postgres", Who::Migration("auth-service".into()), Who::Data, 5432, "TCP", true),
        ("and not Redis", Who::Migration("auth-service".into()), Who::Data, 6379, "TCP", false),
        ("nor its service", Who::Migration("auth-service".into()), w("auth-service", 3001), 3001, "TCP", false),
        ("nor the collector", Who::Migration("auth-service".into()), Who::Collector, OTLP_PORT, "TCP", false),
        ("nothing reaches it", w(GATEWAY, 3000), Who::Migration("auth-service".into()), 3001, "TCP", false),
        ("a migration Job resolves names", Who::Migration("auth-service".into()), Who::Dns, 53, "UDP", true),
        ("on OTLP gRPC only", w(GATEWAY, 3000), Who::Collector, 4318, "TCP", false),
        (
            "the collector's namespace alone is not the collector",
            w(GATEWAY, 3000),
            Who::OtherNamespace,
            OTLP_PORT,
            "TCP",
            false,
        ),
        ("the gateway does not", w(GATEWAY, 3000), Who::Data, 5432, "TCP", false),
        ("DNS over UDP", w("auth-service", 3001), Who::Dns, 53, "UDP", true),
        ("a stray pod resolves names", Who::Stray, Who::Dns, 53, "TCP", true),
        ("and nothing else", Who::Stray, Who::Data, 6379, "TCP", false),
        ("payments over HTTPS", w("order-payment-service", 3003), public.clone(), 443, "TCP", true),
        ("not to the metadata endpoint", w("order-payment-service", 3003), metadata, 443, "TCP", false),
        ("no other service reaches the internet", w("auth-service", 3001), public, 443, "TCP", false),
    ];
    for (what, from, to, port, protocol, allowed) in cases {
        assert_eq!(spec_allows(&from, &to, port, protocol), allowed, "{what}");
    }
}

// --- one more edge ---

fn with_edge(mut catalogue: Catalogue, from: &str, to: &str) -> Catalogue {
    let service = catalogue.services.iter_mut().find(|s| s.name == from).unwrap();
    service.uses.push(Uses::Service(to.to_owned()));
    catalogue
}

fn changed(before: &[File], after: &[File]) -> Vec<String> {
    let paths = |files: &[File]| files.iter().map(|f| f.path.clone()).collect::<Vec<_>>();
    assert_eq!(paths(before), paths(after), "the same files are rendered");
    before.iter().zip(after).filter(|(b, a)| b.contents != a.contents).map(|(b, _)| b.path.clone()).collect()
}

#[test]
fn an_added_edge_changes_the_two_policies_and_the_table_only() {
    let (caller, callee) = ("order-payment-service", "notification-service");
    let before = render(&catalogue()).unwrap();
    let after = render(&with_edge(catalogue(), caller, callee)).unwrap();
    let model = validate(&catalogue()).unwrap();
    let mut expected: Vec<String> = model
        .platform
        .environments
        .iter()
        .flat_map(|e| {
            [layout::resource_file(&e.name, caller), layout::resource_file(&e.name, callee), layout::readme(&e.name)]
        })
        .collect();
    expected.sort();
    assert_eq!(changed(&before, &after), expected);

    let callee_port = model.services.iter().find(|s| s.name == callee).unwrap().port;
    let edited = validate(&with_edge(catalogue(), caller, callee)).unwrap();
    for env in &model.platform.environments {
        // In the resource files, only the NetworkPolicy changed.
        for service in [caller, callee] {
            let path = layout::resource_file(&env.name, service);
            let read =
                |files: &[File]| parse_documents(&files.iter().find(|f| f.path == path).unwrap().contents).unwrap();
            let (old, new) = (read(&before), read(&after));
            let others = |objects: &[Object]| {
                objects.iter().filter(|o| o.kind() != "NetworkPolicy").cloned().collect::<Vec<_>>()
            };
            assert_eq!(others(&old), others(&new), "{path}");
            assert_ne!(old, new, "{path}: the NetworkPolicy changed");
        }
        // In the README, one row more in the table.
        let readme =
            |files: &[File]| files.iter().find(|f| f.path == layout::readme(&env.name)).unwrap().contents.clone();
        let (old, new) = (readme(&before), readme(&after));
        let row = format!("| `{caller}` | `{callee}` | TCP {callee_port} | calls it |");
        assert!(new.contains(&format!("{row}\n")), "{row} is not in the README");
        assert_eq!(new.replacen(&format!("{row}\n"), "", 1), old);

        // And the network allows exactly that one flow more.
        let (_, data) = namespaces(env);
        let reach = |m: &Model| {
            let objects = lomash_manifests::built::BuiltEnvironment::new(m, env).objects;
            let world = world(m, &objects, env, &data);
            let endpoints: Vec<(&str, Endpoint)> = world.iter().map(|(n, _, e)| (n.as_str(), e.clone())).collect();
            Policies::new(&network_policies(&objects)).unwrap().reachable(&endpoints, &probes(m)).unwrap()
        };
        let (old, new) = (reach(&model), reach(&edited));
        let added: Vec<&Flow> = new.difference(&old).collect();
        assert_eq!(added, vec![&flow(caller, callee, callee_port, "TCP")], "{}", env.name);
        assert!(old.is_subset(&new), "{}: nothing is taken away", env.name);
    }
}

/// A service that declares no edge, and that no edge names, gets its monitoring scrape, DNS and
/// its traces' way to the collector, nothing else: docs/spec.md ("The network")'s "no traffic but
/// its monitoring scrape", with the collector every service reaches.
#[test]
fn a_service_without_edges_gets_only_its_scrape() {
    let lonely = "analytics-service";
    let mut c = catalogue();
    let others: Vec<String> =
        c.services.iter().map(|s| s.name.clone()).filter(|n| n != lonely && n != GATEWAY).collect();
    for s in &mut c.services {
        if s.name == lonely {
            s.uses.clear();
        } else if s.name == GATEWAY {
            // The gateway routes to every service but this one, edge by edge.
            s.uses.retain(|u| *u != Uses::AllServices);
            s.uses.extend(others.iter().map(|n| Uses::Service(n.clone())));
        }
    }
    let model = validate(&c).unwrap();
    let port = model.services.iter().find(|s| s.name == lonely).unwrap().port;
    for env in &model.platform.environments {
        let (_, data) = namespaces(env);
        let objects = lomash_manifests::built::BuiltEnvironment::new(&model, env).objects;
        let world = world(&model, &objects, env, &data);
        let endpoints: Vec<(&str, Endpoint)> = world.iter().map(|(n, _, e)| (n.as_str(), e.clone())).collect();
        let flows = Policies::new(&network_policies(&objects)).unwrap().reachable(&endpoints, &probes(&model)).unwrap();
        let touching: BTreeSet<Flow> =
            flows.into_iter().filter(|(from, to, ..)| from == lonely || to == lonely).collect();
        let expected = BTreeSet::from([
            flow(lonely, "kube-dns", DNS_PORT, "UDP"),
            flow(lonely, "kube-dns", DNS_PORT, "TCP"),
            flow("prometheus", lonely, port, "TCP"),
            flow(lonely, "otel-collector", OTLP_PORT, "TCP"),
        ]);
        assert_eq!(touching, expected, "{}", env.name);
    }
}
