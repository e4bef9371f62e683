//! What every service shares, written once: the namespace, the per-stage settings (development
//! base and production), the hardened security context, the probes, scheduling and the init
//! containers. Values are those of `shared/spec/services.md`.

use crate::spec::{
    Autoscaling, Environment, Placement, Platform, Probe, Probes, PullPolicy, Resources, Scale, Scheduling, Security,
    ServiceDef, Stage,
};

pub fn platform() -> Platform {
    Platform {
        part_of: "lomash-wood".into(),
        managed_by: "kustomize".into(),
        registry: REGISTRY.into(),
        base: Stage {
            replicas: 1,
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
        environments: vec![production()],
    }
}

/// The image tag of every service in the base: development runs whatever was built last.
pub const BASE_IMAGE_TAG: &str = "latest";

fn production() -> Environment {
    Environment {
        name: "production".into(),
        namespace: "lomash-wood-production".into(),
        stage: Stage {
            replicas: 3,
            image_pull_policy: PullPolicy::Always,
            node_env: "production".into(),
            log_level: "info".into(),
            cors_origin: "https://lomashwood.co.uk".into(),
            otel_traces_sampler_arg: "0.1".into(),
            db_host: "postgres-primary.lomash-wood-data.svc.cluster.local".into(),
            db_port: 5432,
            redis_host: "redis-master.lomash-wood-data.svc.cluster.local".into(),
            redis_port: 6379,
            resources: None,
        },
        scheduling: Scheduling {
            node_selector: vec![("node-role".into(), "backend".into()), ("environment".into(), "production".into())],
            anti_affinity: Placement::Required,
            zone_spread: Placement::Required,
            max_skew: 1,
            max_surge: 1,
            max_unavailable: 0,
        },
        // Each service's own bounds: min 3, max per spec sheet, PDB 2.
        scale: Scale::default(),
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
        },
        min_available: 2,
        probes: probes(),
        cold_start_seconds: 120,
        uses: Vec::new(),
        config: Vec::new(),
        security: HARDENED,
    }
}

/// The probes every service starts with.
pub fn probes() -> Probes {
    Probes {
        liveness: probe("/health/live", 10, Some(3), 3),
        readiness: probe("/health/ready", 5, Some(3), 3),
        // 12 × 10 s: up to two minutes for a cold start.
        startup: probe("/health/startup", 10, None, 12),
    }
}

fn probe(path: &str, period_seconds: i32, timeout_seconds: Option<i32>, failure_threshold: i32) -> Probe {
    Probe { path: path.into(), period_seconds, timeout_seconds, failure_threshold }
}

/// The fully hardened production context: passes the Pod Security Standards "restricted"
/// profile. The seed fixes user 1001 (the Node.js images' non-root user).
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

/// The init containers of production.
pub mod init {
    pub const POSTGRES_IMAGE: &str = "postgres:16.4-alpine";
    pub const REDIS_IMAGE: &str = "redis:7.4-alpine";
    /// Requests and limits of the two wait containers (run-migrations uses the service's own).
    pub const CPU: (&str, &str) = ("50m", "200m");
    pub const MEMORY: (&str, &str) = ("64Mi", "128Mi");
    /// pg_isready reports whether the server accepts connections, authentication aside; it
    /// needs a user name, and uid 1001 has none in the image's /etc/passwd.
    pub const WAIT_FOR_POSTGRES: &str = "until pg_isready --host=\"$DB_HOST\" --port=\"$DB_PORT\" --username=postgres --timeout=3; do echo waiting for postgres; sleep 2; done";
    /// A Redis that requires a password answers NOAUTH: it is up all the same.
    pub const WAIT_FOR_REDIS: &str = "until case \"$(redis-cli -h \"$REDIS_HOST\" -p \"$REDIS_PORT\" ping 2>&1)\" in PONG|NOAUTH*) true ;; *) false ;; esac; do echo waiting for redis; sleep 2; done";
    pub const MIGRATE: [&str; 4] = ["npx", "prisma", "migrate", "deploy"];
}

/// The writable scratch directory every container gets under a read-only root filesystem.
pub const TMP_VOLUME: &str = "tmp";
pub const TMP_PATH: &str = "/tmp";
/// The name of the container port the Service and the probes use.
pub const HTTP_PORT_NAME: &str = "http";

/// Checks of common scanners that production knowingly does not meet, because the spec decides
/// otherwise: (checkov check id, reason). Written down once, here; [`scanner_annotations`] puts
/// them on each production Deployment in checkov's own convention, and `cargo xtask lint` shows
/// them as `excepted`. A reason must not contain `=`: checkov splits `ID=reason` at the first one.
pub const SCANNER_EXCEPTIONS: [(&str, &str); 3] = [
    ("CKV_K8S_40", "the seed fixes runAsUser 1001, the Node.js images' non-root user; PSS forbids only UID 0"),
    ("CKV_K8S_35", "the spec passes secrets by envFrom from <service>-secret, provisioned outside the repository"),
    ("CKV_K8S_43", "images are pinned by semver tag in images.yaml and pulled Always; the release owns tags"),
];

/// The annotation key prefix checkov reads for a skipped check: `checkov.io/skip1`, `skip2`, …
pub const SCANNER_SKIP_PREFIX: &str = "checkov.io/skip";

/// [`SCANNER_EXCEPTIONS`] as the annotations of a production Deployment.
pub fn scanner_annotations() -> std::collections::BTreeMap<String, String> {
    SCANNER_EXCEPTIONS
        .iter()
        .enumerate()
        .map(|(i, (id, reason))| (format!("{SCANNER_SKIP_PREFIX}{}", i + 1), format!("{id}={reason}")))
        .collect()
}
