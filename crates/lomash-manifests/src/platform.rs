//! What every service shares, written once: the namespace, the per-stage settings (development
//! base and production), the hardened security context, the probes, scheduling and the init
//! containers. Values are those of `shared/spec/services.md`.

use crate::catalogue::{Autoscaling, Platform, Probe, Probes, Requirement, Security, Stage};

pub fn platform() -> Platform {
    Platform {
        namespace: "lomash-wood-production".into(),
        part_of: "lomash-wood".into(),
        managed_by: "kustomize".into(),
        registry: REGISTRY.into(),
        base: Stage {
            replicas: 1,
            image_tag: "latest".into(),
            image_pull_policy: "IfNotPresent".into(),
            node_env: "development".into(),
            log_level: "debug".into(),
            cors_origin: "*".into(),
            otel_traces_sampler_arg: "1.0".into(),
            db_host: "postgres".into(),
            db_port: 5432,
            redis_host: "redis".into(),
            redis_port: 6379,
            resources: Some((Requirement::new("100m", "500m"), Requirement::new("128Mi", "512Mi"))),
        },
        production: Stage {
            replicas: 3,
            image_tag: String::new(), // per service, from the release
            image_pull_policy: "Always".into(),
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
    }
}

const REGISTRY: &str = "lomashwood";

/// What [`crate::catalogue::ServiceDef::new`] starts from.
pub struct Defaults {
    pub registry: &'static str,
    pub cpu: Requirement,
    pub memory: Requirement,
    pub autoscaling: Autoscaling,
    pub min_available: i32,
    pub probes: Probes,
    pub cold_start_seconds: i32,
    pub security: Security,
}

pub fn defaults() -> Defaults {
    Defaults {
        registry: REGISTRY,
        cpu: Requirement { request: None, limit: None },
        memory: Requirement { request: None, limit: None },
        autoscaling: Autoscaling {
            min_replicas: 3,
            max_replicas: 10,
            cpu_percent: 70,
            memory_percent: 80,
            scale_down_window_seconds: 300,
        },
        min_available: 2,
        probes: Probes {
            liveness: probe("/health/live", 10, Some(3), 3),
            readiness: probe("/health/ready", 5, Some(3), 3),
            // 12 × 10 s: up to two minutes for a cold start.
            startup: probe("/health/startup", 10, None, 12),
        },
        cold_start_seconds: 120,
        security: HARDENED,
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

/// Scheduling in production: backend production nodes only, one pod a node, spread over zones.
pub mod scheduling {
    pub const NODE_SELECTOR: [(&str, &str); 2] = [("node-role", "backend"), ("environment", "production")];
    pub const HOSTNAME_KEY: &str = "kubernetes.io/hostname";
    pub const ZONE_KEY: &str = "topology.kubernetes.io/zone";
    pub const MAX_SKEW: i32 = 1;
    pub const MAX_SURGE: i32 = 1;
    pub const MAX_UNAVAILABLE: i32 = 0;
}

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
