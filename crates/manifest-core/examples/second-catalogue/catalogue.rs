//! Fernhill Bakery's catalogue: another company's two services, one environment and a MySQL
//! store, declared as values and rendered by the same core as Lomash Wood's. Nothing here is
//! Lomash Wood's: a different registry, runtime (Python), data store, secret backend and docs.

use manifest_core::spec::{
    Autoscaling, DataStore, Environment, Migration, NodePool, Placement, Platform, Probe, Probes, ProjectDocs,
    PullPolicy, Resources, Runtime, Scale, ScaleUp, ScannerExceptions, Scheduling, SecretSource, SecretStore, Security,
    ServiceDef, ServiceDefaults, Setting, Shutdown, Stage, StoreScope, Uses,
};
use manifest_core::{Catalogue, Release};

/// The name of the one data store.
pub const MYSQL: &str = "mysql";

pub fn catalogue() -> Catalogue {
    Catalogue {
        platform: platform(),
        services: vec![
            service("storefront", 8080, "The shop window: browses the bakes and takes orders.")
                .uses(Uses::Service("orders".into()))
                .public("customers through the cloud load balancer"),
            service("orders", 8081, "Orders and their baking schedule.").uses(Uses::store(MYSQL)),
        ],
        release: Release::read("live:\n  storefront: \"2.4.1\"\n  orders: \"1.9.0\"\n"),
    }
}

fn platform() -> Platform {
    Platform {
        part_of: "fernhill".into(),
        managed_by: "kustomize".into(),
        registry: "registry.fernhill.example/bakery".into(),
        // No cloud account: the images are pulled by the names the base gives them.
        aws: None,
        first_phase_label: ("fernhill.example/phase".into(), "before-rollout".into()),
        stores: vec![DataStore {
            name: MYSQL.into(),
            title: "MySQL".into(),
            image: "mysql:8.4".into(),
            image_digest: None,
            port: 3306,
            host_key: "MYSQL_HOST".into(),
            port_key: "MYSQL_PORT".into(),
            ready: "mysqladmin ping --host=\"$MYSQL_HOST\" --port=\"$MYSQL_PORT\" --connect-timeout=3 --silent".into(),
            ready_means: "until MySQL answers a ping".into(),
            config: vec![("MYSQL_DATABASE".into(), "orders".into())],
            migration: Some(Migration {
                name: "migrate".into(),
                command: ["python", "-m", "alembic", "upgrade", "head"].map(String::from).to_vec(),
                env: Vec::new(),
                notes: "runs Alembic from the image; Alembic's version table makes a second run a no-op.".into(),
                backoff_limit: 1,
                active_deadline_seconds: 300,
                ttl_seconds_after_finished: 86_400,
            }),
            pool: None,
        }],
        runtime: Runtime {
            keys: vec![
                ("APP_ENV".into(), Setting::PerStage),
                ("LOG_LEVEL".into(), Setting::PerStage),
                ("SERVICE_NAME".into(), Setting::ServiceName),
                ("PORT".into(), Setting::Port),
            ],
        },
        scanner_exceptions: ScannerExceptions {
            declared: vec![
                (
                    "CKV_K8S_35".into(),
                    "secrets come by envFrom from <service>-secret, which an ExternalSecret writes".into(),
                ),
                ("CKV_K8S_43".into(), "images are pinned by tag; the release file owns the tags".into()),
            ],
            met_by_digest: Some("CKV_K8S_43".into()),
        },
        docs: ProjectDocs {
            title: "Fernhill Bakery Platform".into(),
            catalogue_dir: "crates/manifest-core/examples/second-catalogue".into(),
            build_steps: vec!["Builds the image and pushes it to `{registry}/{service}:<version>`".into()],
            deploy_steps: vec!["Applies the overlay to the {environment} cluster".into()],
            pointers: vec!["Ownership: the bakery's platform team.".into()],
            secret_backend: "HashiCorp Vault".into(),
            secret_backend_short: "Vault".into(),
            workflow_system: "pipeline".into(),
        },
        secrets: SecretSource {
            store: SecretStore { name: "vault".into(), scope: StoreScope::Cluster },
            key_prefix: "fernhill".into(),
            refresh_interval: "30m".into(),
        },
        base: Stage {
            replicas: Some(1),
            image_pull_policy: PullPolicy::IfNotPresent,
            settings: settings("dev", "debug"),
            store_hosts: vec![(MYSQL.into(), "mysql".into())],
            resources: Some((Resources::new("50m", "250m"), Resources::new("128Mi", "256Mi"))),
        },
        defaults: ServiceDefaults { probes: probes(), security: SECURITY },
        base_name: "dev".into(),
        environments: vec![live()],
    }
}

fn settings(app_env: &str, log_level: &str) -> Vec<(String, String)> {
    vec![("APP_ENV".into(), app_env.into()), ("LOG_LEVEL".into(), log_level.into())]
}

fn live() -> Environment {
    Environment {
        name: "live".into(),
        namespace: "bakery-live".into(),
        data_namespace: "bakery-data".into(),
        stage: Stage {
            replicas: None,
            image_pull_policy: PullPolicy::Always,
            settings: settings("live", "info"),
            store_hosts: vec![(MYSQL.into(), "mysql.bakery-data.svc.cluster.local".into())],
            resources: None,
        },
        scheduling: Scheduling {
            node_selector: vec![("pool".into(), "apps".into())],
            anti_affinity: Placement::Preferred(50),
            zone_spread: Placement::Preferred(50),
            max_skew: 1,
            max_surge: 1,
            max_unavailable: 0,
            min_ready_seconds: 5,
        },
        scale: Scale::default(),
        shutdown: Shutdown { pre_stop_sleep_seconds: 5, termination_grace_period_seconds: 30 },
        deploy_workflow: None,
        pool: NodePool {
            zones: vec!["zone-a".into(), "zone-b".into()],
            nodes_per_zone: 2,
            allocatable_cpu: "1900m".into(),
            allocatable_memory: "7Gi".into(),
        },
        // The storefront is reached through the bakery's own proxy; no trace collector yet.
        ingress: None,
        collector: None,
        connection_limits: Vec::new(),
    }
}

/// The probes every service starts with.
fn probes() -> Probes {
    let probe = |path: &str, failure_threshold| Probe {
        path: path.into(),
        period_seconds: 10,
        timeout_seconds: Some(2),
        failure_threshold,
    };
    Probes { liveness: probe("/livez", 3), readiness: probe("/readyz", 3), startup: probe("/livez", 9) }
}

/// The hardened context: a user above 10000, nothing writable but `/tmp`.
const SECURITY: Security = Security {
    run_as_user: 10001,
    run_as_group: 10001,
    fs_group: 10001,
    run_as_non_root: true,
    read_only_root_filesystem: true,
    allow_privilege_escalation: false,
    privileged: false,
    drop_all_capabilities: true,
    seccomp_runtime_default: true,
    automount_service_account_token: false,
};

fn service(name: &str, port: u32, summary: &str) -> ServiceDef {
    ServiceDef {
        name: name.into(),
        summary: summary.into(),
        port,
        image: format!("registry.fernhill.example/bakery/{name}"),
        cpu: Resources::new("100m", "500m"),
        memory: Resources::new("192Mi", "384Mi"),
        autoscaling: Autoscaling {
            min_replicas: 2,
            max_replicas: 4,
            cpu_percent: 75,
            memory_percent: 80,
            scale_down_window_seconds: 300,
            scale_down_percent: 50,
            scale_down_period_seconds: 60,
            scale_up: ScaleUp { window_seconds: 60, pods: 1, percent: 100, period_seconds: 60 },
        },
        min_available: 1,
        probes: probes(),
        cold_start_seconds: 60,
        uses: Vec::new(),
        public: None,
        config: Vec::new(),
        not_secret: Vec::new(),
        pool_size: None,
        security: SECURITY,
    }
}
