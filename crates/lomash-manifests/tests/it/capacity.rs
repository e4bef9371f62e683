//! Capacity as code (`docs/spec.md` ("The base and production")): the arithmetic of `capacity` in table form,
//! each environment's lines and totals recomputed here from the catalogue, the production figures
//! the spec and issue 11 state (restated as the oracle), the lint rules on a shrunken pool, and
//! the same table in the overlay README.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Container, PodSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use lomash_manifests::capacity::{self, pod_resources, Amount, Line, Placement, Plan, PodResources, UNBOUNDED};
use lomash_manifests::model::{Model, Pool};
use lomash_manifests::object::Lookup;
use lomash_manifests::policy::{self, Outcome};
use lomash_manifests::spec::{Environment, NodePool, Placement as Strictness};
use lomash_manifests::tree::render;
use lomash_manifests::values::Quantity;
use lomash_manifests::{catalogue, layout, validate, Catalogue, Object};
use pretty_assertions::assert_eq;

const MI: u128 = 1 << 20;
const GI: u128 = 1 << 30;

fn model_of(c: &Catalogue) -> Model {
    validate(c).unwrap_or_else(|e| panic!("{e}"))
}

/// The nine services of docs/spec.md ("The services"), whose figures the spec states (21 nodes, 42.5 vCPU): the
/// catalogue without any service added since, so that `cargo xtask new-service` breaks no figure.
fn the_specs_nine() -> Catalogue {
    const NINE: [&str; 9] = [
        "api-gateway",
        "auth-service",
        "product-service",
        "order-payment-service",
        "appointment-service",
        "content-service",
        "customer-service",
        "notification-service",
        "analytics-service",
    ];
    let mut c = catalogue();
    c.services.retain(|s| NINE.contains(&s.name.as_str()));
    assert_eq!(c.services.len(), NINE.len(), "the spec's nine are in the catalogue");
    let names: Vec<String> = c.services.iter().map(|s| s.name.clone()).collect();
    for tags in c.release.environments.values_mut() {
        tags.retain(|service, _| names.contains(service));
    }
    c
}

fn plan(model: &Model, env: &Environment) -> Plan {
    lomash_manifests::built::BuiltEnvironment::new(model, env).capacity().unwrap_or_else(|e| panic!("{e}"))
}

fn production(model: &Model) -> &Environment {
    model.platform.environment("production").expect("production is an environment")
}

fn pool(zones: usize, nodes_per_zone: u32) -> Pool {
    Pool {
        zones: (0..zones).map(|i| format!("zone-{i}")).collect(),
        nodes_per_zone,
        cpu: Quantity::cpu("3920m").unwrap(),
        memory: Quantity::memory("14Gi").unwrap(),
    }
}

fn line(max: u64, one_per_node: bool) -> Line {
    let pod = PodResources {
        requests: Amount::default(),
        limits: Amount::default(),
        app_requests: Amount::default(),
        app_limits: Amount::default(),
    };
    Line {
        service: "s".into(),
        namespace: None,
        min_replicas: 1,
        max_replicas: max,
        autoscaled: true,
        pod,
        one_per_node,
    }
}

/// The (rule, object) pairs of the capacity rules that fail.
fn capacity_failures(model: &Model, env: &Environment) -> BTreeSet<(String, String)> {
    let objects = lomash_manifests::built::BuiltEnvironment::new(model, env).objects;
    let pool = model.pool(env).expect("a checked pool");
    policy::check(
        &objects,
        pool,
        &lomash_manifests::netpol::graph(model, env),
        &lomash_manifests::catalogue().platform.scanner_exceptions,
        &lomash_manifests::connections::declared(&model.platform, env),
    )
    .into_iter()
    .filter(|f| f.outcome == Outcome::Fail)
    .map(|f| (f.rule.to_owned(), f.object))
    .collect()
}

/// The spec's pool: `docs/spec.md` ("The base and production"), restated.
#[test]
fn production_declares_the_spec_s_pool() {
    let model = model_of(&catalogue());
    let expected = NodePool {
        zones: vec!["eu-west-2a".into(), "eu-west-2b".into(), "eu-west-2c".into()],
        nodes_per_zone: 7,
        allocatable_cpu: "3920m".into(),
        allocatable_memory: "14Gi".into(),
    };
    assert_eq!(production(&model).pool, expected);
    let pool = model.pool(production(&model)).unwrap();
    assert_eq!(pool.nodes(), 21);
    assert_eq!(pool.allocatable(), Amount { cpu: 21 * 3920, memory: 21 * 14 * GI });
}

/// Pods of one service in the fullest zone (`maxSkew: 1`: ceil(max / z)) and whether z zones of
/// m nodes place the maximum under a required anti-affinity (at most z·m pods).
#[test]
fn pods_per_zone_and_what_the_pool_places() {
    // (zones, nodes a zone, maximum, pods in the fullest zone, placed)
    let rows: [(usize, u32, u64, u64, bool); 12] = [
        (3, 7, 20, 7, true),
        (3, 7, 21, 7, true),
        (3, 7, 22, 8, false),
        (3, 7, 15, 5, true),
        (3, 7, 10, 4, true),
        (3, 6, 18, 6, true),
        (3, 6, 19, 7, false),
        (3, 6, 20, 7, false),
        (3, 2, 4, 2, true),
        (3, 2, 7, 3, false),
        (1, 1, 1, 1, true),
        (2, 5, 11, 6, false),
    ];
    for (zones, m, max, per_zone, placed) in rows {
        let pool = pool(zones, m);
        let case = format!("{zones} zones × {m}, max {max}");
        assert_eq!(pool.per_zone(max), per_zone, "{case}");
        let room = zones as u64 * u64::from(m);
        let expected =
            if placed { Placement::Fits { needed: max, room } } else { Placement::TooFewNodes { needed: max, room } };
        assert_eq!(line(max, true).placement(&pool), expected, "{case}");
        assert_eq!(line(max, true).nodes_at_max(), Some(max), "{case}");
        // A preferred anti-affinity lets pods share nodes: no node count follows.
        assert_eq!(line(max, false).placement(&pool), Placement::NotLimited, "{case}");
        assert_eq!(line(max, false).nodes_at_max(), None, "{case}");
    }
}

/// Each environment's lines, recomputed from the catalogue: the environment's effective HPA
/// bounds, the service's own requests and limits (init containers asking no more), one pod a
/// node where the anti-affinity is required.
#[test]
fn every_line_follows_the_catalogue() {
    let model = model_of(&catalogue());
    for env in &model.platform.environments {
        let plan = plan(&model, env);
        let pool = model.pool(env).unwrap();
        let names: Vec<&str> = plan.lines.iter().map(|l| l.service.as_str()).collect();
        let services: Vec<&str> = model.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, services, "{}", env.name);
        for (l, s) in plan.lines.iter().zip(&model.services) {
            let case = format!("{} {}", env.name, s.name);
            let min = env.scale.min_replicas.unwrap_or(s.autoscaling.min_replicas);
            let max = env.scale.max_replicas.unwrap_or(s.autoscaling.max_replicas);
            assert_eq!((l.min_replicas, l.max_replicas), (min as u64, max as u64), "{case}");
            assert!(l.autoscaled, "{case}");
            assert_eq!(l.namespace.as_deref(), Some(env.namespace.as_str()), "{case}");
            // The environment's shared resources, where it sets them, else the service's own.
            let own = Amount { cpu: s.cpu.request.base_units(), memory: s.memory.request.base_units() };
            let own_limits = Amount { cpu: s.cpu.limit.base_units(), memory: s.memory.limit.base_units() };
            let (requests, limits) = match &env.stage.resources {
                None => (own, own_limits),
                Some((cpu, memory)) => {
                    let q = |t: &Option<String>, f: fn(&str) -> Result<Quantity, String>| {
                        f(t.as_deref().unwrap()).unwrap().base_units()
                    };
                    (
                        Amount { cpu: q(&cpu.request, Quantity::cpu), memory: q(&memory.request, Quantity::memory) },
                        Amount { cpu: q(&cpu.limit, Quantity::cpu), memory: q(&memory.limit, Quantity::memory) },
                    )
                }
            };
            assert_eq!((l.pod.requests, l.pod.limits), (requests, limits), "{case}");
            // Our init containers ask at most what the main container does: they never decide.
            assert!(!l.pod.init_decides(), "{case}: an init container sets the pod's resources");
            let required = env.scheduling.anti_affinity == Strictness::Required;
            assert_eq!(l.one_per_node, required, "{case}");
            let per_zone = (max as u64).div_ceil(pool.zones.len() as u64);
            assert_eq!(pool.per_zone(max as u64), per_zone, "{case}");
            let nodes = pool.zones.len() as u64 * u64::from(pool.nodes_per_zone);
            let expected = match (required, max as u64 <= nodes) {
                (false, _) => Placement::NotLimited,
                (true, true) => Placement::Fits { needed: max as u64, room: nodes },
                (true, false) => Placement::TooFewNodes { needed: max as u64, room: nodes },
            };
            assert_eq!(l.placement(pool), expected, "{case}");
        }
    }
}

/// The totals, recomputed here: requests and limits × replicas at each bound, the heaviest node
/// (one pod of each service), the pool's allocatable (zones × nodes × one node).
#[test]
fn totals_follow_the_catalogue() {
    let model = model_of(&catalogue());
    for env in &model.platform.environments {
        let plan = plan(&model, env);
        let sum = |f: &dyn Fn(&Line) -> Amount| -> Amount {
            plan.lines.iter().fold(Amount::default(), |a, l| {
                let b = f(l);
                Amount { cpu: a.cpu + b.cpu, memory: a.memory + b.memory }
            })
        };
        let times = |a: Amount, n: u64| Amount { cpu: a.cpu * n as u128, memory: a.memory * n as u128 };
        assert_eq!(
            plan.at_min(),
            (sum(&|l| times(l.pod.requests, l.min_replicas)), sum(&|l| times(l.pod.limits, l.min_replicas))),
            "{}",
            env.name
        );
        assert_eq!(
            plan.at_max(),
            (sum(&|l| times(l.pod.requests, l.max_replicas)), sum(&|l| times(l.pod.limits, l.max_replicas))),
            "{}",
            env.name
        );
        assert_eq!(plan.heaviest_node(), (sum(&|l| l.pod.requests), sum(&|l| l.pod.limits)), "{}", env.name);
        let p = &env.pool;
        let nodes = p.zones.len() as u128 * u128::from(p.nodes_per_zone);
        let node = Amount {
            cpu: Quantity::cpu(&p.allocatable_cpu).unwrap().base_units(),
            memory: Quantity::memory(&p.allocatable_memory).unwrap().base_units(),
        };
        assert_eq!(plan.pool.allocatable(), Amount { cpu: node.cpu * nodes, memory: node.memory * nodes });
    }
}

/// The figures the spec and issue 11 state for production, restated: "21 [nodes] for the HPA
/// maxima, though the pods request only 42.5 vCPU"; api-gateway's maximum of 20 needs
/// ceil(20 / 3) = 7 nodes in the fullest zone and fits the 3 × 7 = 21.
#[test]
fn production_figures_the_spec_states() {
    let model = model_of(&the_specs_nine());
    let plan = plan(&model, production(&model));
    let gateway = plan.lines.iter().find(|l| l.service == "api-gateway").unwrap();
    assert_eq!(gateway.max_replicas, 20);
    assert_eq!(plan.pool.per_zone(gateway.max_replicas), 7);
    assert_eq!(gateway.placement(&plan.pool), Placement::Fits { needed: 20, room: 21 });
    // 21 nodes: 7 in each of the three zones, for the largest maximum (20).
    assert_eq!(plan.nodes_per_zone_needed(), 7);
    assert_eq!(plan.nodes_per_zone_needed() * plan.pool.zones.len() as u64, 21);
    // 42.5 vCPU requested at the maxima: the requests, not the limits.
    let (requests, limits) = plan.at_max();
    assert_eq!(requests.cpu, 42_500);
    assert_ne!(limits.cpu, 42_500);
    assert!(requests.fits_in(plan.pool.allocatable()));
    // By requests alone: ceil(42.5 / 3.92) = 11 nodes.
    assert_eq!(plan.nodes_by_requests(), 11);

    let table = capacity::table(&plan);
    for text in
        ["| 3 – 20 (HPA) | 20 ", "| 7 of 7 ", "| yes (20 ≤ 21) ", "an even pool needs 3 × 7 = 21 nodes", "| 42.5 "]
    {
        assert!(table.contains(text), "{text:?} missing from\n{table}");
    }
}

fn container(name: &str, requests: (&str, &str), limits: (&str, &str)) -> Container {
    let map = |(cpu, memory): (&str, &str)| {
        let mut m = std::collections::BTreeMap::new();
        if !cpu.is_empty() {
            m.insert("cpu".to_owned(), K8sQuantity(cpu.into()));
        }
        if !memory.is_empty() {
            m.insert("memory".to_owned(), K8sQuantity(memory.into()));
        }
        Some(m)
    };
    Container {
        name: name.into(),
        resources: Some(ResourceRequirements { requests: map(requests), limits: map(limits), ..Default::default() }),
        ..Default::default()
    }
}

/// Init containers run before the app containers, so a pod reserves the larger of its largest
/// init container and its app containers together; sidecars (init containers restarting
/// `Always`) run beside both. Missing values count as Kubernetes counts them.
#[test]
fn init_containers_count_only_when_they_ask_more() {
    let main = || container("main", ("500m", "512Mi"), ("2", "1Gi"));
    let sidecar = || Container {
        restart_policy: Some("Always".into()),
        ..container("proxy", ("100m", "64Mi"), ("200m", "128Mi"))
    };
    let m = |millicores: u128, mib: u128| Amount { cpu: millicores, memory: mib * MI };
    // (case, init containers, app containers, pod requests, pod limits, an init container decides)
    type Row = (&'static str, Vec<Container>, Vec<Container>, Amount, Amount, bool);
    let rows: Vec<Row> = vec![
        (
            "smaller init containers: the main container's",
            vec![
                container("wait", ("50m", "64Mi"), ("200m", "128Mi")),
                container("migrate", ("500m", "512Mi"), ("2", "1Gi")),
            ],
            vec![main()],
            m(500, 512),
            m(2000, 1024),
            false,
        ),
        (
            "a larger init container: its own",
            vec![container("migrate", ("4", "256Mi"), ("4", "2Gi"))],
            vec![main()],
            m(4000, 512),
            m(4000, 2048),
            true,
        ),
        (
            "two app containers add up",
            vec![container("migrate", ("800m", "768Mi"), ("2", "1Gi"))],
            vec![main(), container("second", ("500m", "512Mi"), ("1", "1Gi"))],
            m(1000, 1024),
            m(3000, 2048),
            false,
        ),
        (
            // App phase: 500m + 100m; init phase: the sidecar beside the later init container.
            "a sidecar runs beside the app and the later init containers",
            vec![sidecar(), container("migrate", ("550m", "64Mi"), ("1", "128Mi"))],
            vec![main()],
            m(650, 576),
            m(2200, 1152),
            true,
        ),
        (
            "a missing request is the limit; a missing limit is unbounded",
            vec![],
            vec![container("main", ("", "512Mi"), ("2", ""))],
            m(2000, 512),
            Amount { cpu: 2000, memory: UNBOUNDED },
            false,
        ),
    ];
    for (case, init, app, requests, limits, decides) in rows {
        let spec = PodSpec { init_containers: Some(init), containers: app, ..Default::default() };
        let pod = pod_resources(&spec).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!((pod.requests, pod.limits, pod.init_decides()), (requests, limits, decides), "{case}");
    }
    let bad = PodSpec { containers: vec![container("main", ("lots", "1Gi"), ("2", "1Gi"))], ..Default::default() };
    assert_eq!(
        pod_resources(&bad).unwrap_err(),
        "container main: cpu requests \"lots\" is not a CPU quantity (e.g. \"250m\" or \"2\")"
    );
}

/// Should an init container (a wait) ever ask more than its service, the table counts it and says so.
#[test]
fn a_larger_init_container_shows_in_the_table() {
    let model = model_of(&catalogue());
    let env = production(&model);
    let service = model.services.iter().find(|s| s.uses_store("postgres")).expect("a service migrates").name.clone();
    let mut objects = lomash_manifests::built::BuiltEnvironment::new(&model, env).objects;
    let migrations = objects
        .iter_mut()
        .find_map(|o| match o {
            Object::Deployment(d) if d.metadata.name.as_deref() == Some(service.as_str()) => d.spec.as_mut(),
            _ => None,
        })
        .and_then(|s| s.template.spec.as_mut())
        .and_then(|p| p.init_containers.as_mut())
        .and_then(|c| c.iter_mut().find(|c| c.name == "wait-for-postgres"))
        .expect("wait-for-postgres");
    let r = migrations.resources.as_mut().unwrap();
    for map in [r.requests.as_mut().unwrap(), r.limits.as_mut().unwrap()] {
        map.insert("cpu".into(), K8sQuantity("3".into()));
    }
    let plan = Plan::of(&Lookup::new(&objects), model.pool(env).unwrap().clone()).unwrap();
    let l = plan.lines.iter().find(|l| l.service == service).unwrap();
    assert_eq!(l.pod.requests.cpu, 3000);
    assert!(l.pod.init_decides());
    let table = capacity::table(&plan);
    assert!(table.contains(&format!("An init container asks more than the app containers in `{service}`")), "{table}");
}

/// `docs/spec.md` ("The base and production") and issue 11: with 6 nodes a zone, the services whose maximum
/// exceeds 3 × 6 = 18 (api-gateway and order-payment-service, at 20) cannot be placed.
#[test]
fn the_lint_fails_when_the_pool_shrinks_to_6_nodes_per_zone() {
    let mut c = catalogue();
    c.platform.environment_mut("production").unwrap().pool.nodes_per_zone = 6;
    let model = model_of(&c);
    let env = production(&model);
    let room = 3 * 6;
    let expected: BTreeSet<(String, String)> = model
        .services
        .iter()
        .filter(|s| env.scale.max_replicas.unwrap_or(s.autoscaling.max_replicas) > room)
        .map(|s| ("capacity.placement".to_owned(), format!("Deployment/{}", s.name)))
        .collect();
    let oracle: BTreeSet<(String, String)> = ["api-gateway", "order-payment-service"]
        .map(|s| ("capacity.placement".to_owned(), format!("Deployment/{s}")))
        .into();
    assert_eq!(expected, oracle);
    assert_eq!(capacity_failures(&model, env), expected);

    let objects = lomash_manifests::built::BuiltEnvironment::new(&model, env).objects;
    let findings = policy::check(
        &objects,
        model.pool(env).unwrap(),
        &lomash_manifests::netpol::graph(&model, env),
        &lomash_manifests::catalogue().platform.scanner_exceptions,
        &lomash_manifests::connections::declared(&model.platform, env),
    );
    let message = &findings
        .iter()
        .find(|f| f.object == "Deployment/api-gateway" && f.rule == "capacity.placement")
        .unwrap()
        .message;
    assert_eq!(
        message,
        "HPA maxReplicas 20 needs 20 nodes, one pod a node (required anti-affinity on kubernetes.io/hostname), 7 in \
         the fullest zone; the pool has 3 zones × 6 nodes = 18"
    );
    let table = capacity::table(&plan(&model, env));
    assert!(table.contains("| **NO** (20 > 18) "), "{table}");

    // The declared 7 places everything.
    let model = model_of(&catalogue());
    assert_eq!(capacity_failures(&model, production(&model)), BTreeSet::new());
}

/// The requests at maximum against the allocatable, at the boundary: one node's share of the
/// total (rounded up) passes, one unit less fails. Production's: 42.5 CPU over 21 nodes needs
/// 2024m a node (21 × 2023m = 42.483 CPU).
#[test]
fn the_lint_fails_when_requests_at_maximum_exceed_the_pool() {
    let model = model_of(&the_specs_nine());
    let env = production(&model);
    let (requests, _) = plan(&model, env).at_max();
    let nodes = model.pool(env).unwrap().nodes() as u128;
    let cpu = requests.cpu.div_ceil(nodes);
    let memory = requests.memory.div_ceil(nodes);
    assert_eq!(cpu, 2024);
    let namespace = format!("Namespace/{}", env.namespace);
    let failing = BTreeSet::from([("capacity.requests".to_owned(), namespace.clone())]);
    // (case, per-node CPU, per-node memory, fails)
    let rows = [
        ("CPU at the boundary", format!("{cpu}m"), "14Gi".to_owned(), false),
        ("CPU one millicore short", format!("{}m", cpu - 1), "14Gi".to_owned(), true),
        ("memory at the boundary", "3920m".to_owned(), memory.to_string(), false),
        ("memory one byte short", "3920m".to_owned(), (memory - 1).to_string(), true),
    ];
    for (case, node_cpu, node_memory, fails) in rows {
        let mut c = the_specs_nine();
        let pool = &mut c.platform.environment_mut("production").unwrap().pool;
        pool.allocatable_cpu = node_cpu;
        pool.allocatable_memory = node_memory;
        let model = model_of(&c);
        let expected = if fails { failing.clone() } else { BTreeSet::new() };
        assert_eq!(capacity_failures(&model, production(&model)), expected, "{case}");
    }

    let mut c = the_specs_nine();
    c.platform.environment_mut("production").unwrap().pool.allocatable_cpu = "2000m".into();
    let model = model_of(&c);
    let env = production(&model);
    let objects = lomash_manifests::built::BuiltEnvironment::new(&model, env).objects;
    let findings = policy::check(
        &objects,
        model.pool(env).unwrap(),
        &lomash_manifests::netpol::graph(&model, env),
        &lomash_manifests::catalogue().platform.scanner_exceptions,
        &lomash_manifests::connections::declared(&model.platform, env),
    );
    let message = &findings.iter().find(|f| f.object == namespace && f.rule == "capacity.requests").unwrap().message;
    assert_eq!(
        message,
        "CPU requests at maximum replicas, 42.5, exceed the pool's allocatable 42 (3 zones × 7 nodes of 2000m / 14Gi)"
    );
    let table = capacity::table(&plan(&model, env));
    assert!(table.contains("| Requests at maximum replicas "), "{table}");
    assert!(table.lines().any(|l| l.starts_with("| Requests at maximum replicas") && l.contains("**NO**")), "{table}");
}

/// A preferred anti-affinity (staging's, per `docs/spec.md` ("Staging")) lets pods share nodes: the table
/// says the nodes do not limit, the placement rule passes however small the pool, and the
/// requests are still checked.
#[test]
fn a_preferred_anti_affinity_is_not_limited_by_nodes() {
    let mut c = catalogue();
    let env = c.platform.environment_mut("production").unwrap();
    env.scheduling.anti_affinity = Strictness::Preferred(100);
    env.pool.nodes_per_zone = 1;
    let model = model_of(&c);
    let env = production(&model);
    // 3 nodes of 3.92 CPU hold 11.76 CPU, under the 42.5 requested at the maxima.
    let expected = BTreeSet::from([("capacity.requests".to_owned(), format!("Namespace/{}", env.namespace))]);
    assert_eq!(capacity_failures(&model, env), expected);
    let plan = plan(&model, env);
    assert!(plan.lines.iter().all(|l| l.placement(&plan.pool) == Placement::NotLimited));
    let table = capacity::table(&plan);
    assert!(table.contains("| not limited: anti-affinity preferred "), "{table}");
    assert!(table.contains("- Not limited by nodes: `api-gateway`"), "{table}");
}

/// The overlay README carries the table `cargo xtask capacity` prints, verbatim, and follows the
/// pool.
#[test]
fn the_readme_carries_the_capacity_table() {
    let readme = |c: &Catalogue, env: &str| {
        let files = render(c).expect("valid catalogue");
        files.into_iter().find(|f| f.path == layout::readme(env)).expect("the README is rendered").contents
    };
    let c = catalogue();
    let model = model_of(&c);
    for env in &model.platform.environments {
        let text = readme(&c, &env.name);
        let table = capacity::table(&plan(&model, env));
        assert!(text.contains("## Capacity\n"), "{}", env.name);
        assert!(text.contains(&table), "{}: the README lacks the capacity table", env.name);
    }
    let mut c = catalogue();
    c.platform.environment_mut("production").unwrap().pool.nodes_per_zone = 8;
    let text = readme(&c, "production");
    assert!(text.contains("| yes (20 ≤ 24) "));
    assert!(!text.contains("| yes (20 ≤ 21) "));
}

/// docs/spec.md ("Go-live") §7 on the real objects of every environment: Σ replicas × `DATABASE_POOL_SIZE` (5,
/// unless a sheet sets its own) over the Postgres users, + 1 for each migration Job, at the HPAs'
/// minimum and maximum, against `max_connections − reserved` (production 600 − 50, staging
/// 200 − 20). Counts come from the catalogue; with the committed one that is 508 of 550 and 168
/// of 180, as the page says.
#[test]
fn the_connection_budget_is_the_spec_s_arithmetic() {
    let c = catalogue();
    let model = model_of(&c);
    let limits: [(&str, u64, u64); 2] = [("production", 600, 50), ("staging", 200, 20)];
    for env in &model.platform.environments {
        // The spec fixes production's and staging's; an environment added since has its own,
        // as the catalogue declares them.
        let declared = || {
            let (_, limit) = env.connection_limits.iter().find(|(store, _)| store == "postgres").expect("a limit");
            (env.name.as_str(), u64::from(limit.max_connections), u64::from(limit.reserved))
        };
        let (_, max_connections, reserved) =
            limits.iter().copied().find(|(n, ..)| *n == env.name).unwrap_or_else(declared);
        let users: Vec<&lomash_manifests::model::Service> =
            model.services.iter().filter(|s| s.uses_store("postgres")).collect();
        let pool = |s: &lomash_manifests::model::Service| u64::from(s.pool_size.unwrap_or(5));
        let bound = |s: &lomash_manifests::model::Service, max: bool| {
            let b = s.bounds(env);
            u64::try_from(if max { b.max_replicas } else { b.min_replicas }).unwrap()
        };
        let jobs = users.len() as u64;
        let at_max: u64 = users.iter().map(|s| bound(s, true) * pool(s)).sum::<u64>() + jobs;
        let at_min: u64 = users.iter().map(|s| bound(s, false) * pool(s)).sum::<u64>() + jobs;
        let built = lomash_manifests::built::BuiltEnvironment::new(&model, env);
        let [budget] = built.connections().try_into().unwrap_or_else(|b: Vec<_>| panic!("{} budgets", b.len()));
        assert_eq!((budget.at_min, budget.at_max, budget.jobs), (at_min, at_max, jobs), "{}", env.name);
        assert_eq!(budget.available(), max_connections - reserved, "{}", env.name);
        let line = budget.line();
        assert!(line.starts_with("connections to PostgreSQL"), "{line}");
        assert!(
            line.contains(&format!("{at_max} at maximum"))
                && line.contains(&format!("of {}", max_connections - reserved)),
            "{line}"
        );
    }
    // The page's figures are the spec's two environments' (one added since has its own).
    let figures: Vec<(String, u64, u64)> = model
        .platform
        .environments
        .iter()
        .filter(|env| ["production", "staging"].contains(&env.name.as_str()))
        .map(|env| {
            let b = lomash_manifests::built::BuiltEnvironment::new(&model, env).connections().remove(0);
            (env.name.clone(), b.at_max, b.available())
        })
        .collect();
    if c.services.len() == 9 {
        // The page's own figures, for the nine services it names.
        assert_eq!(figures, vec![("production".to_owned(), 508, 550), ("staging".to_owned(), 168, 180)]);
    }
}

/// The lint fails, naming the environment and the figures, when the maximum exceeds the budget:
/// production's `max_connections` lowered to 500 leaves 450 for the 508 the services open.
#[test]
fn the_lint_fails_when_the_connections_exceed_the_budget() {
    let mut c = catalogue();
    let production = c.platform.environment_mut("production").unwrap();
    production.connection_limits[0].1.max_connections = 500;
    let model = model_of(&c);
    for env in &model.platform.environments {
        let built = lomash_manifests::built::BuiltEnvironment::new(&model, env);
        let at_max = built.connections()[0].at_max;
        let failed: Vec<_> = built.lint(&model).into_iter().filter(|f| f.outcome == Outcome::Fail).collect();
        if env.name == "production" {
            let [f] = failed.as_slice() else { panic!("{failed:#?}") };
            assert_eq!(
                (f.rule.as_str(), f.object.as_str()),
                ("db.connection-budget", "Namespace/lomash-wood-production")
            );
            for figure in ["production", &format!("{at_max}"), "450", "max_connections 500", "reserved 50"] {
                assert!(f.message.contains(figure), "{figure:?} not in {:?}", f.message);
            }
        } else {
            assert!(failed.is_empty(), "{}: {failed:#?}", env.name);
        }
    }
}
