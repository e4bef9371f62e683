//! What every service shares, written once: the base (development) and each environment (its
//! namespace, settings, scheduling and scale), where the secrets live, the hardened security context, the probes and the
//! defaults every spec sheet starts from. Values are those of the spec (see the README's "The
//! spec" section). The renderer's own conventions (init containers, scanner exceptions) are in
//! `manifest_core::conventions`.

use crate::spec::{
    Autoscaling, Aws, Collector, ConnectionLimit, ConnectionPool, DataStore, Environment, IngressDef, Migration,
    NodePool, Placement, Platform, Probe, Probes, ProjectDocs, PullPolicy, Resources, Runtime, Scale, ScaleUp,
    ScannerExceptions, Scheduling, SecretSource, SecretStore, Security, ServiceDef, ServiceDefaults, Setting, Shutdown,
    Stage, StoreIdentity, StoreScope, Uses,
};

/// The platform every service shares, running in `environments` (the list of
/// [`crate::environments::all`], which the catalogue passes in: the environments are built from
/// this module's values, so this module does not name that list).
pub fn platform(environments: Vec<Environment>) -> Platform {
    Platform {
        part_of: "lomash-wood".into(),
        managed_by: "kustomize".into(),
        registry: REGISTRY.into(),
        // docs/spec.md ("Go-live") §1: the account id is the one value the platform team sets on adoption.
        aws: Some(Aws {
            account_id: "123456789012".into(),
            region: "eu-west-2".into(),
            docker_hub_cache: "docker-hub".into(),
        }),
        stores: vec![postgres_store(), redis_store()],
        runtime: runtime(),
        scanner_exceptions: scanner_exceptions(),
        docs: docs(),
        // docs/spec.md ("Go-live") §2: `kubectl apply -k <overlay> -l lomashwood.co.uk/apply-phase=migrate`
        // applies the migration Jobs and what they need, before the rollouts.
        first_phase_label: ("lomashwood.co.uk/apply-phase".into(), "migrate".into()),
        base_name: "development".into(),
        // docs/spec.md ("Secrets"): AWS Secrets Manager through the External Secrets Operator, one entry per
        // service and environment (`lomash-wood/<environment>/<service>`), read again hourly.
        // docs/spec.md ("Go-live") §6: a store in each environment's namespace, reading as that environment's
        // role, which reads `lomash-wood/<environment>/*` only.
        secrets: SecretSource {
            store: SecretStore {
                name: "aws-secrets-manager".into(),
                scope: StoreScope::Namespace(StoreIdentity {
                    service_account: "external-secrets".into(),
                    role: "lomash-wood-{environment}-external-secrets".into(),
                }),
            },
            key_prefix: "lomash-wood".into(),
            refresh_interval: "1h".into(),
        },
        base: Stage {
            replicas: Some(1),
            image_pull_policy: PullPolicy::IfNotPresent,
            settings: settings("development", "debug", "*", "1.0", "http://otel-collector:4317"),
            store_hosts: vec![(POSTGRES.into(), "postgres".into()), (REDIS.into(), "redis".into())],
            resources: Some((Resources::new("100m", "500m"), Resources::new("128Mi", "512Mi"))),
        },
        environments,
        // The same two values `service` starts every sheet from.
        defaults: ServiceDefaults { probes: probes(), security: HARDENED },
    }
}

/// The hosts of the data stores in `data_namespace`, by store.
fn data_hosts(data_namespace: &str) -> Vec<(String, String)> {
    vec![
        (POSTGRES.into(), format!("postgres-primary.{data_namespace}.svc.cluster.local")),
        (REDIS.into(), format!("redis-master.{data_namespace}.svc.cluster.local")),
    ]
}

/// The per-stage values of the runtime's keys: `NODE_ENV`, `LOG_LEVEL`, `CORS_ORIGIN`,
/// `OTEL_TRACES_SAMPLER_ARG` and `OTEL_EXPORTER_OTLP_ENDPOINT` (`collector`).
fn settings(
    node_env: &str,
    log_level: &str,
    cors_origin: &str,
    sampler_arg: &str,
    collector: &str,
) -> Vec<(String, String)> {
    [
        ("NODE_ENV", node_env),
        ("LOG_LEVEL", log_level),
        ("CORS_ORIGIN", cors_origin),
        ("OTEL_TRACES_SAMPLER_ARG", sampler_arg),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec()
}

/// The name of the PostgreSQL store: `.uses(postgres())` in a spec sheet.
pub const POSTGRES: &str = "postgres";
/// The name of the Redis store: `.uses(redis())`.
pub const REDIS: &str = "redis";

/// The edge to PostgreSQL: the service owns a schema, waits for the database, runs its migrations.
pub fn postgres() -> Uses {
    Uses::store(POSTGRES)
}

/// The edge to Redis: the service waits for it before starting.
pub fn redis() -> Uses {
    Uses::store(REDIS)
}

/// Attempts of a wait are bounded by the client's own timeout, so a dropped packet cannot stall one.
fn postgres_store() -> DataStore {
    DataStore {
        name: POSTGRES.into(),
        title: "PostgreSQL".into(),
        image: "postgres:16.4-alpine".into(),
        // The multi-architecture index digest of that tag, for a release pinned by digest.
        image_digest: Some("sha256:5660c2cbfea50c7a9127d17dc4e48543eedd3d7a41a595a2dfa572471e37e64c".into()),
        port: 5432,
        host_key: "DB_HOST".into(),
        port_key: "DB_PORT".into(),
        // pg_isready reports whether the server accepts connections, authentication aside; it
        // needs a user name, and uid 1001 has none in the image's /etc/passwd.
        ready: "pg_isready --host=\"$DB_HOST\" --port=\"$DB_PORT\" --username=postgres --timeout=3".into(),
        ready_means: "until PostgreSQL accepts connections, each attempt at most 3 s".into(),
        config: Vec::new(),
        // docs/spec.md ("Go-live") §2: once per release, in a Job, before the pods roll: a failed migration
        // (P3009) stops the release instead of every later pod of the service, and no two pods
        // race for Prisma's advisory lock (P1002).
        migration: Some(Migration {
            name: "migrate".into(),
            // The Prisma CLI the service image ships, never `npx` (which would install the latest
            // Prisma from the registry at pod start when the image lacks it).
            command: ["node_modules/.bin/prisma", "migrate", "deploy"].map(String::from).to_vec(),
            // Prisma writes under $HOME (the read-only root leaves only /tmp), and must not phone
            // home for update checks.
            env: vec![("HOME".into(), "/tmp".into()), ("CHECKPOINT_DISABLE".into(), "1".into())],
            notes: "a deliberate change to the seed, whose every pod ran the migrations in a `run-migrations` init \
                    container: a migration that failed once (Prisma P3009) then stopped every later pod of the \
                    service from starting, old release or new, drain replacements included, and pods starting \
                    together raced for Prisma's advisory lock, which gives up after 10 s (P1002). The Job runs the \
                    Prisma CLI shipped in the image (never `npx`, which would download the latest Prisma at pod \
                    start); a failed migration fails the Job (P3009 then needs a person: `prisma migrate resolve`), \
                    and the release stops before any pod rolls."
                .into(),
            backoff_limit: 2,
            active_deadline_seconds: 600,
            // A week: the finished Job and its logs stay for the release's post-mortem.
            ttl_seconds_after_finished: 604_800,
        }),
        // docs/spec.md ("Go-live") §7: Prisma's default pool grows with the node's CPUs; the services pass this
        // key to Prisma as `connection_limit`, so each pod opens at most this many.
        pool: Some(ConnectionPool {
            config_key: "DATABASE_POOL_SIZE".into(),
            default_size: 5,
            contract: "The services pass it to Prisma as `connection_limit`; a service that did not would open \
                       Prisma's default pool, which grows with the node's CPUs."
                .into(),
        }),
    }
}

fn redis_store() -> DataStore {
    DataStore {
        name: REDIS.into(),
        title: "Redis".into(),
        image: "redis:7.4-alpine".into(),
        image_digest: Some("sha256:ff02b58f971e7d7d156a1267e283fcbbeee91773b6aa36c49dac28ecfe28eadf".into()),
        port: 6379,
        host_key: "REDIS_HOST".into(),
        port_key: "REDIS_PORT".into(),
        // A Redis that requires a password answers NOAUTH: it is up all the same. redis-cli has no
        // connect timeout (a dropped packet makes one attempt last about two minutes): busybox's
        // `timeout`, in the alpine image, ends each attempt after 3 s (docs/spec.md ("Go-live") §3).
        ready: "case \"$(timeout 3 redis-cli -h \"$REDIS_HOST\" -p \"$REDIS_PORT\" ping 2>&1)\" in PONG|NOAUTH*) true ;; *) false ;; esac"
            .into(),
        ready_means: "until Redis answers `PONG`, each attempt at most 3 s (`timeout 3`)".into(),
        config: Vec::new(),
        migration: None,
        pool: None,
    }
}

/// The Node.js runtime and its OpenTelemetry SDK: the keys every ConfigMap carries.
fn runtime() -> Runtime {
    let key = |k: &str, setting: Setting| (k.to_owned(), setting);
    Runtime {
        keys: vec![
            key("NODE_ENV", Setting::PerStage),
            key("LOG_LEVEL", Setting::PerStage),
            key("CORS_ORIGIN", Setting::PerStageOrigin),
            key("OTEL_TRACES_SAMPLER_ARG", Setting::PerStage),
            // Without the sampler the SDK ignores OTEL_TRACES_SAMPLER_ARG: parent-based, else by
            // trace id ratio.
            key("OTEL_TRACES_SAMPLER", Setting::Text("parentbased_traceidratio".into())),
            key("OTEL_SERVICE_NAME", Setting::ServiceName),
            // docs/spec.md ("Go-live") §5: traces go to the collector, over OTLP gRPC.
            key("OTEL_EXPORTER_OTLP_ENDPOINT", Setting::PerStage),
            key("OTEL_EXPORTER_OTLP_PROTOCOL", Setting::Text("grpc".into())),
            key("OTEL_RESOURCE_ATTRIBUTES", Setting::StageName { prefix: "deployment.environment=".into() }),
            // V8's heap gets 75 % of the container's memory limit: the rest is for buffers, native
            // memory and the runtime itself.
            key("NODE_OPTIONS", Setting::MemoryLimitMib { prefix: "--max-old-space-size=".into(), percent: 75 }),
            key("PORT", Setting::Port),
        ],
    }
}

/// Checks of checkov that the deployed environments knowingly do not meet, because the spec
/// decides otherwise. A reason must not contain `=`: checkov splits `ID=reason` at the first one.
fn scanner_exceptions() -> ScannerExceptions {
    let declared = [
        (
            "CKV_K8S_40",
            "the spec fixes runAsUser 1001 (not the official Node.js image's user, which is 1000); PSS forbids only \
             UID 0",
        ),
        (
            "CKV_K8S_35",
            "the spec passes secrets by envFrom from <service>-secret, which an ExternalSecret writes from AWS \
             Secrets Manager through the environment's own SecretStore",
        ),
        (
            "CKV_K8S_43",
            "images are pinned by tag, not digest: the services' in images.yaml, the postgres and redis wait images \
             in the platform's data stores; all are pulled Always from ECR and the release owns the tags",
        ),
    ]
    .map(|(id, reason)| (id.to_owned(), reason.to_owned()))
    .to_vec();
    // A pod pinned by digest throughout meets the digest check: it needs no exception for it.
    ScannerExceptions { declared, met_by_digest: Some("CKV_K8S_43".into()) }
}

/// What the overlay READMEs say of Lomash Wood: the seed's pipeline and its pointers.
fn docs() -> ProjectDocs {
    ProjectDocs {
        title: "Lomash Wood Backend".into(),
        catalogue_dir: "crates/lomash-manifests".into(),
        build_steps: vec![
            "Builds and tags the Docker image".into(),
            "Pushes it to ECR (`{registry}/{service}:<git-sha>`)".into(),
        ],
        deploy_steps: vec![
            "Applies the overlay to the {environment} cluster in two phases (see [Applying](#applying-to-{environment})): \
             the migration Jobs, `kubectl wait` for them, then the whole overlay".into(),
            "Monitors the rollout (`kubectl rollout status`) and triggers `.github/workflows/rollback.yml` on failure"
                .into(),
        ],
        pointers: vec![
            "Refer to `infra/terraform/modules/secrets/` for the Terraform definitions of the secrets and \
             `security/policies/encryption-policy.md` for the encryption policy."
                .into(),
            String::new(),
            "See `/.github/CODEOWNERS` for ownership assignments.  ".into(),
            "Refer to `docs/runbooks/` for incident response procedures.".into(),
        ],
        secret_backend: "AWS Secrets Manager".into(),
        secret_backend_short: "Secrets Manager".into(),
        workflow_system: "GitHub Actions workflow".into(),
    }
}

/// Production: every value of the spec.
pub fn production() -> Environment {
    let data_namespace = "lomash-wood-data";
    Environment {
        name: "production".into(),
        namespace: "lomash-wood-production".into(),
        data_namespace: data_namespace.into(),
        stage: Stage {
            // The HPA owns the count (minReplicas 3): docs/spec.md ("The base and production").
            replicas: None,
            image_pull_policy: PullPolicy::Always,
            settings: settings("production", "info", "https://lomashwood.co.uk", "0.1", &cluster_collector()),
            store_hosts: data_hosts(data_namespace),
            resources: None,
        },
        scheduling: Scheduling {
            node_selector: vec![("node-role".into(), "backend".into()), ("environment".into(), "production".into())],
            anti_affinity: Placement::Required,
            zone_spread: Placement::Required,
            max_skew: 1,
            // With the hard anti-affinity, maxUnavailable 0 deadlocks a rollout on a cluster with
            // no spare node; 1 lets an old pod make room (docs/spec.md ("The base and production")).
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
        ingress: Some(gateway_ingress("api.lomashwood.co.uk")),
        collector: Some(Collector {
            namespace: COLLECTOR_NAMESPACE.into(),
            pod_label: ("app.kubernetes.io/name".into(), "opentelemetry-collector".into()),
            port: 4317,
        }),
        // docs/spec.md ("Go-live") §7: what production's PostgreSQL takes.
        connection_limits: vec![(POSTGRES.into(), ConnectionLimit { max_connections: 600, reserved: 50 })],
    }
}

/// The namespace the OpenTelemetry collector runs in (docs/spec.md ("The network")).
const COLLECTOR_NAMESPACE: &str = "observability";

/// docs/spec.md ("Go-live") §5: the cluster's collector, as a deployed environment's services reach it.
fn cluster_collector() -> String {
    format!("http://otel-collector.{COLLECTOR_NAMESPACE}.svc.cluster.local:4317")
}

/// docs/spec.md ("Go-live") §4: the gateway behind the AWS Load Balancer Controller, TLS 1.3 or 1.2 only, the
/// certificate found by host (no certificate id in the repository).
fn gateway_ingress(host: &str) -> IngressDef {
    let annotations = [
        ("scheme", "internet-facing"),
        // The load balancer sends to the pods' addresses, not through node ports.
        ("target-type", "ip"),
        ("listen-ports", r#"[{"HTTPS":443}]"#),
        ("healthcheck-path", "/health/ready"),
        ("ssl-policy", "ELBSecurityPolicy-TLS13-1-2-2021-06"),
    ];
    IngressDef {
        class: "alb".into(),
        annotations: annotations
            .into_iter()
            .map(|(key, value)| (format!("alb.ingress.kubernetes.io/{key}"), value.to_owned()))
            .collect(),
        host: host.into(),
        path: "/".into(),
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
            // docs/spec.md ("Go-live") §8: at most 4 pods or half the replicas a minute, whichever is more.
            scale_up: ScaleUp { window_seconds: 0, pods: 4, percent: 50, period_seconds: 60 },
        },
        min_available: 2,
        probes: probes(),
        cold_start_seconds: 120,
        uses: Vec::new(),
        public: None,
        config: Vec::new(),
        not_secret: Vec::new(),
        security: HARDENED,
        pool_size: None,
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
/// in it, the `environment: <name>` node label, the CORS origin `https://<name>.lomashwood.co.uk`
/// and the gateway's host `api.<name>.lomashwood.co.uk`.
/// No deploy workflow: the spec names production's only. Everything else is `from`'s, so an
/// environment is written as `derived(from, name)` plus what it changes.
pub fn derived(from: Environment, name: &str) -> Environment {
    let data_namespace = format!("lomash-wood-data-{name}");
    let store_hosts = data_hosts(&data_namespace);
    let mut settings = from.stage.settings;
    for (key, value) in &mut settings {
        if key == "CORS_ORIGIN" {
            *value = format!("https://{name}.lomashwood.co.uk");
        }
    }
    let mut node_selector = from.scheduling.node_selector;
    match node_selector.iter_mut().find(|(key, _)| key == "environment") {
        Some((_, value)) => *value = name.into(),
        None => node_selector.push(("environment".into(), name.into())),
    }
    Environment {
        name: name.into(),
        namespace: format!("lomash-wood-{name}"),
        data_namespace,
        stage: Stage { settings, store_hosts, ..from.stage },
        scheduling: Scheduling { node_selector, ..from.scheduling },
        deploy_workflow: None,
        ingress: from.ingress.map(|i| IngressDef { host: format!("api.{name}.lomashwood.co.uk"), ..i }),
        ..from
    }
}

/// Staging (docs/spec.md ("Staging")): production's hardening, probes, rollout and network rules at a
/// smaller scale, with its own data stores, a softer placement and its own tags. Written as what
/// differs from production, beyond what its name gives ([`derived`]).
pub fn staging() -> Environment {
    let staging = derived(production(), "staging");
    Environment {
        stage: Stage {
            settings: settings("production", "debug", "https://staging.lomashwood.co.uk", "1.0", &cluster_collector()),
            ..staging.stage
        },
        scheduling: Scheduling {
            // Two nodes a zone: a hard one-pod-a-node rule would leave the maximum unplaceable.
            anti_affinity: Placement::Preferred(100),
            zone_spread: Placement::Preferred(100),
            ..staging.scheduling
        },
        scale: Scale { min_replicas: Some(2), max_replicas: Some(4), min_available: Some(1) },
        pool: NodePool { nodes_per_zone: 2, ..staging.pool },
        // docs/spec.md ("Go-live") §7: what staging's PostgreSQL takes.
        connection_limits: vec![(POSTGRES.into(), ConnectionLimit { max_connections: 200, reserved: 20 })],
        ..staging
    }
}
