//! What every service shares, written once: the base (development) and each environment (its
//! namespace, settings, scheduling and scale), where the secrets live, the hardened security context, the probes and the
//! defaults every spec sheet starts from. Values are those of the spec (see the README's "The
//! spec" section). The renderer's own conventions (init containers, scanner exceptions) are in
//! `lomash_core::conventions`.

use crate::spec::{
    Autoscaling, Environment, NodePool, Placement, Platform, Probe, Probes, PullPolicy, Resources, Scale, Scheduling,
    SecretSource, SecretStore, Security, ServiceDef, Shutdown, Stage, StoreScope,
};

/// The platform every service shares, running in `environments` (the list of
/// [`crate::environments::all`], which the catalogue passes in: the environments are built from
/// this module's values, so this module does not name that list).
pub fn platform(environments: Vec<Environment>) -> Platform {
    Platform {
        part_of: "lomash-wood".into(),
        managed_by: "kustomize".into(),
        registry: REGISTRY.into(),
        base_name: "development".into(),
        // secrets.md: AWS Secrets Manager through the External Secrets Operator, one entry per
        // service and environment (`lomash-wood/<environment>/<service>`), read again hourly.
        secrets: SecretSource {
            store: SecretStore { name: "aws-secrets-manager".into(), scope: StoreScope::Cluster },
            key_prefix: "lomash-wood".into(),
            refresh_interval: "1h".into(),
        },
        base: Stage {
            replicas: Some(1),
            image_pull_policy: PullPolicy::IfNotPresent,
            node_env: "development".into(),
            log_level: "debug".into(),
            cors_origin: "*".into(),
            otel_traces_sampler_arg: "1.0".into(),
            db_host: "postgres".into(),
            db_port: 5432,
            redis_host: "redis".into(),
            redis_port: 6379,
            resources: Some((Resources::new("100m", "500m"), Resources::new("128Mi", "512Mi"))),
        },
        environments,
    }
}

/// The hosts of the data stores in `data_namespace`: (Postgres, Redis).
fn data_hosts(data_namespace: &str) -> (String, String) {
    (
        format!("postgres-primary.{data_namespace}.svc.cluster.local"),
        format!("redis-master.{data_namespace}.svc.cluster.local"),
    )
}

/// Production: every value of the spec.
pub fn production() -> Environment {
    let data_namespace = "lomash-wood-data";
    let (db_host, redis_host) = data_hosts(data_namespace);
    Environment {
        name: "production".into(),
        namespace: "lomash-wood-production".into(),
        data_namespace: data_namespace.into(),
        stage: Stage {
            // The HPA owns the count (minReplicas 3): production-readiness.md §1.
            replicas: None,
            image_pull_policy: PullPolicy::Always,
            node_env: "production".into(),
            log_level: "info".into(),
            cors_origin: "https://lomashwood.co.uk".into(),
            otel_traces_sampler_arg: "0.1".into(),
            db_host,
            db_port: 5432,
            redis_host,
            redis_port: 6379,
            resources: None,
        },
        scheduling: Scheduling {
            node_selector: vec![("node-role".into(), "backend".into()), ("environment".into(), "production".into())],
            anti_affinity: Placement::Required,
            zone_spread: Placement::Required,
            max_skew: 1,
            // With the hard anti-affinity, maxUnavailable 0 deadlocks a rollout on a cluster with
            // no spare node; 1 lets an old pod make room (production-readiness.md §2).
            max_surge: 1,
            max_unavailable: 1,
            min_ready_seconds: 10,
        },
        // Each service's own bounds: min 3, max per spec sheet, PDB 2.
        scale: Scale::default(),
        shutdown: Shutdown { pre_stop_sleep_seconds: 10, termination_grace_period_seconds: 45 },
        deploy_workflow: Some(".github/workflows/deploy-production.yml".into()),
        pool: NodePool {
            zones: ["eu-west-2a", "eu-west-2b", "eu-west-2c"].map(String::from).to_vec(),
            nodes_per_zone: 7,
            allocatable_cpu: "3920m".into(),
            allocatable_memory: "14Gi".into(),
        },
    }
}

const REGISTRY: &str = "lomashwood";

/// A service listening on `port`, with the platform's defaults for everything else: where every
/// spec sheet starts.
pub fn service(name: &str, port: u32) -> ServiceDef {
    ServiceDef {
        name: name.to_owned(),
        summary: String::new(),
        port,
        image: format!("{REGISTRY}/{name}"),
        cpu: Resources::unset(),
        memory: Resources::unset(),
        autoscaling: Autoscaling {
            min_replicas: 3,
            max_replicas: 10,
            cpu_percent: 70,
            memory_percent: 80,
            scale_down_window_seconds: 300,
            // At most half the pods a minute: a quiet spell does not drop the service to its floor.
            scale_down_percent: 50,
            scale_down_period_seconds: 60,
        },
        min_available: 2,
        probes: probes(),
        cold_start_seconds: 120,
        uses: Vec::new(),
        public: None,
        config: Vec::new(),
        not_secret: Vec::new(),
        security: HARDENED,
    }
}

/// The probes every service starts with.
pub fn probes() -> Probes {
    Probes {
        liveness: probe("/health/live", 10, Some(3), 3),
        readiness: probe("/health/ready", 5, Some(3), 3),
        // 12 × 10 s: up to two minutes for a cold start; each try may take 3 s, not the default 1.
        startup: probe("/health/startup", 10, Some(3), 12),
    }
}

fn probe(path: &str, period_seconds: i32, timeout_seconds: Option<i32>, failure_threshold: i32) -> Probe {
    Probe { path: path.into(), period_seconds, timeout_seconds, failure_threshold }
}

/// The fully hardened production context: passes the Pod Security Standards "restricted"
/// profile. The spec fixes user 1001 (not the official Node.js image's user, which is 1000).
pub const HARDENED: Security = Security {
    run_as_user: 1001,
    run_as_group: 1001,
    fs_group: 1001,
    run_as_non_root: true,
    read_only_root_filesystem: true,
    allow_privilege_escalation: false,
    privileged: false,
    drop_all_capabilities: true,
    seccomp_runtime_default: true,
    automount_service_account_token: false,
};

/// The values of an environment that follow from its name, over those of `from`: its namespace
/// `lomash-wood-<name>`, its data namespace `lomash-wood-data-<name>` and the data stores' hosts
/// in it, the `environment: <name>` node label and the CORS origin `https://<name>.lomashwood.co.uk`.
/// No deploy workflow: the spec names production's only. Everything else is `from`'s, so an
/// environment is written as `derived(from, name)` plus what it changes.
pub fn derived(from: Environment, name: &str) -> Environment {
    let data_namespace = format!("lomash-wood-data-{name}");
    let (db_host, redis_host) = data_hosts(&data_namespace);
    let mut node_selector = from.scheduling.node_selector;
    match node_selector.iter_mut().find(|(key, _)| key == "environment") {
        Some((_, value)) => *value = name.into(),
        None => node_selector.push(("environment".into(), name.into())),
    }
    Environment {
        name: name.into(),
        namespace: format!("lomash-wood-{name}"),
        data_namespace,
        stage: Stage { cors_origin: format!("https://{name}.lomashwood.co.uk"), db_host, redis_host, ..from.stage },
        scheduling: Scheduling { node_selector, ..from.scheduling },
        deploy_workflow: None,
        ..from
    }
}

/// Staging (environments.md): production's hardening, probes, rollout and network rules at a
/// smaller scale, with its own data stores, a softer placement and its own tags. Written as what
/// differs from production, beyond what its name gives ([`derived`]).
pub fn staging() -> Environment {
    let staging = derived(production(), "staging");
    Environment {
        stage: Stage { log_level: "debug".into(), otel_traces_sampler_arg: "1.0".into(), ..staging.stage },
        scheduling: Scheduling {
            // Two nodes a zone: a hard one-pod-a-node rule would leave the maximum unplaceable.
            anti_affinity: Placement::Preferred(100),
            zone_spread: Placement::Preferred(100),
            ..staging.scheduling
        },
        scale: Scale { min_replicas: Some(2), max_replicas: Some(4), min_available: Some(1) },
        pool: NodePool { nodes_per_zone: 2, ..staging.pool },
        ..staging
    }
}
