//! The conventions the renderer applies to every service of every environment: the init
//! containers and their scripts, the writable `/tmp`, the name of the HTTP port, the image tag of
//! the base, the cluster facts the network policies rely on, and the scanner checks the spec
//! knowingly does not meet. Written once, here.

/// The image tag of every service in the base: development runs whatever was built last.
pub const BASE_IMAGE_TAG: &str = "latest";

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
/// The selector label, as in the seed's `kubectl get pods -l app=analytics-service`: Services,
/// Deployments, PDBs and network policies select a service's pods by it.
pub const APP_LABEL: &str = "app";
/// The name of the container port the Service and the probes use.
pub const HTTP_PORT_NAME: &str = "http";

/// What the network policies rely on in every cluster (`shared/spec/network.md`, "Platform
/// facts"). What differs per environment (the data namespace, the data stores' ports) is a value
/// of the [`crate::spec::Environment`] instead.
pub mod network {
    /// Cluster DNS: the `kube-dns` pods in `kube-system`, on UDP and TCP 53.
    pub const DNS_NAMESPACE: &str = "kube-system";
    pub const DNS_POD_LABEL: (&str, &str) = ("k8s-app", "kube-dns");
    pub const DNS_PORT: u16 = 53;
    /// Prometheus scrapes every service's port from this namespace.
    pub const MONITORING_NAMESPACE: &str = "monitoring";
    /// External providers are reached over HTTPS only.
    pub const HTTPS_PORT: u16 = 443;
    /// Every IPv4 address: what external egress starts from, less [`CLOSED_RANGES`].
    pub const ANY_ADDRESS: &str = "0.0.0.0/0";
    /// Never reachable through external egress: the private ranges (RFC 1918), where the
    /// cluster's and the VPC's own addresses live, and link-local, where the cloud metadata
    /// endpoint (`169.254.169.254`) answers.
    pub const CLOSED_RANGES: [&str; 4] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"];
    /// The environment-wide policies: nothing in or out for every pod, then DNS for every pod.
    pub const DEFAULT_DENY: &str = "default-deny";
    pub const ALLOW_DNS: &str = "allow-dns";
}

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

/// [`SCANNER_EXCEPTIONS`] as the annotations of an environment's Deployment.
pub fn scanner_annotations() -> std::collections::BTreeMap<String, String> {
    SCANNER_EXCEPTIONS
        .iter()
        .enumerate()
        .map(|(i, (id, reason))| (format!("{SCANNER_SKIP_PREFIX}{}", i + 1), format!("{id}={reason}")))
        .collect()
}
