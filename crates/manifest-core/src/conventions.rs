//! The conventions the renderer applies to every service of every environment: the init
//! containers and their scripts, the writable `/tmp`, the name of the HTTP port, the image tag of
//! the base, the annotation that restarts pods on a rotated secret, the cluster facts the network
//! policies rely on, and the scanner checks the spec knowingly does not meet. Written once, here.

/// The image tag of every service in the base: development runs whatever was built last.
pub const BASE_IMAGE_TAG: &str = "latest";

/// The init containers of every environment.
pub mod init {
    /// Requests and limits of the wait containers (a migration step uses the service's own).
    pub const CPU: (&str, &str) = ("50m", "200m");
    pub const MEMORY: (&str, &str) = ("64Mi", "128Mi");
    /// A wait gives up after this many attempts, [`WAIT_INTERVAL_SECONDS`] apart: the pod then shows
    /// an init error and restarts with back-off, instead of hanging silently.
    pub const WAIT_ATTEMPTS: u32 = 60;
    pub const WAIT_INTERVAL_SECONDS: u32 = 2;

    /// `sh -c` script: until `ready` succeeds, at most [`WAIT_ATTEMPTS`] times; then a message
    /// naming what it waited for on stderr, and exit 1.
    pub fn bounded_wait(ready: &str, what: &str) -> String {
        format!(
            "i=1; until {ready}; do if [ \"$i\" -ge {WAIT_ATTEMPTS} ]; then echo \"gave up: {what} did not answer in \
             {WAIT_ATTEMPTS} attempts {WAIT_INTERVAL_SECONDS} s apart\" >&2; exit 1; fi; echo \"waiting for {what} \
             ($i/{WAIT_ATTEMPTS})\"; i=$((i + 1)); sleep {WAIT_INTERVAL_SECONDS}; done"
        )
    }
}

/// The writable scratch directory every container gets under a read-only root filesystem.
pub const TMP_VOLUME: &str = "tmp";
pub const TMP_PATH: &str = "/tmp";
/// The most `/tmp` may hold: runtime and tool scratch files, not a disk.
pub const TMP_SIZE_LIMIT: &str = "256Mi";
/// The selector label, as in the seed's `kubectl get pods -l app=analytics-service`: Services,
/// Deployments, PDBs and network policies select a service's pods by it.
pub const APP_LABEL: &str = "app";
/// The recommended labels every object carries its service's name and, on the pods of a
/// migration Job, its part in by.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";
pub const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
/// The component of a migration Job's pods: with the service's name, what its NetworkPolicy
/// selects them by.
pub const MIGRATION_COMPONENT: &str = "migration";
/// The name of the container port the Service and the probes use.
pub const HTTP_PORT_NAME: &str = "http";

/// The annotation on a Deployment that makes Stakater Reloader restart its pods when the named
/// Secret changes: environment variables from `envFrom` are read once, at container start, so a
/// rotated secret reaches running pods only through a restart.
pub const RELOADER_SECRET_ANNOTATION: &str = "secret.reloader.stakater.com/reload";

/// What the network policies rely on in every cluster (docs/spec.md ("The network"), "Platform
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

/// The annotation key prefix checkov reads for a skipped check: `checkov.io/skip1`, `skip2`, …
pub const SCANNER_SKIP_PREFIX: &str = "checkov.io/skip";

/// The `declared` exceptions (check id, reason) a Deployment running `images` needs: all of them,
/// but `met_by_digest` (the check that pinning by digest meets) when every image is pinned by
/// digest: such a pod meets it on its own merits.
pub fn scanner_exceptions_for<'e, 'a>(
    declared: &'e [(String, String)],
    met_by_digest: Option<&str>,
    images: impl IntoIterator<Item = &'a str>,
) -> Vec<&'e (String, String)> {
    let mut images = images.into_iter().peekable();
    let by_digest = images.peek().is_some() && images.all(|image| image.contains("@sha256:"));
    let met = met_by_digest.filter(|_| by_digest);
    declared.iter().filter(|(id, _)| Some(id.as_str()) != met).collect()
}

/// The exceptions a Deployment running `images` needs (see [`scanner_exceptions_for`]), as its
/// annotations, in checkov's own convention; `cargo xtask lint` shows them as `excepted`.
pub fn scanner_annotations<'a>(
    declared: &[(String, String)],
    met_by_digest: Option<&str>,
    images: impl IntoIterator<Item = &'a str>,
) -> std::collections::BTreeMap<String, String> {
    scanner_exceptions_for(declared, met_by_digest, images)
        .iter()
        .enumerate()
        .map(|(i, (id, reason))| (format!("{SCANNER_SKIP_PREFIX}{}", i + 1), format!("{id}={reason}")))
        .collect()
}
