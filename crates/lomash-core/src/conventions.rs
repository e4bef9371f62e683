//! The conventions the renderer applies to every service of every environment: the init
//! containers and their scripts, the writable `/tmp`, the name of the HTTP port, the image tag of
//! the base, the annotation that restarts pods on a rotated secret, the cluster facts the network
//! policies rely on, and the scanner checks the spec knowingly does not meet. Written once, here.

/// The image tag of every service in the base: development runs whatever was built last.
pub const BASE_IMAGE_TAG: &str = "latest";

/// The init containers of every environment.
pub mod init {
    pub const POSTGRES_IMAGE: &str = "postgres:16.4-alpine";
    pub const REDIS_IMAGE: &str = "redis:7.4-alpine";
    /// The multi-architecture index digests of those two tags, for a pod whose release is pinned
    /// by digest: everything it runs is then pinned by digest. Re-read them when a tag changes
    /// (`docker buildx imagetools inspect postgres:16.4-alpine`).
    pub const POSTGRES_DIGEST: &str = "sha256:5660c2cbfea50c7a9127d17dc4e48543eedd3d7a41a595a2dfa572471e37e64c";
    pub const REDIS_DIGEST: &str = "sha256:ff02b58f971e7d7d156a1267e283fcbbeee91773b6aa36c49dac28ecfe28eadf";

    /// The wait-for-postgres image: by tag, or by tag and digest beside a release pinned by digest.
    pub fn postgres_image(by_digest: bool) -> String {
        pinned(POSTGRES_IMAGE, POSTGRES_DIGEST, by_digest)
    }

    /// The wait-for-redis image, like [`postgres_image`].
    pub fn redis_image(by_digest: bool) -> String {
        pinned(REDIS_IMAGE, REDIS_DIGEST, by_digest)
    }

    fn pinned(image: &str, digest: &str, by_digest: bool) -> String {
        if by_digest {
            format!("{image}@{digest}")
        } else {
            image.to_owned()
        }
    }
    /// Requests and limits of the two wait containers (run-migrations uses the service's own).
    pub const CPU: (&str, &str) = ("50m", "200m");
    pub const MEMORY: (&str, &str) = ("64Mi", "128Mi");
    /// A wait gives up after this many attempts, [`WAIT_INTERVAL_SECONDS`] apart: the pod then shows
    /// an init error and restarts with back-off, instead of hanging silently.
    pub const WAIT_ATTEMPTS: u32 = 60;
    pub const WAIT_INTERVAL_SECONDS: u32 = 2;

    /// `sh -c` script: until `ready` succeeds, at most [`WAIT_ATTEMPTS`] times; then a message
    /// naming what it waited for on stderr, and exit 1.
    fn bounded_wait(ready: &str, what: &str) -> String {
        format!(
            "i=1; until {ready}; do if [ \"$i\" -ge {WAIT_ATTEMPTS} ]; then echo \"gave up: {what} did not answer in \
             {WAIT_ATTEMPTS} attempts {WAIT_INTERVAL_SECONDS} s apart\" >&2; exit 1; fi; echo \"waiting for {what} \
             ($i/{WAIT_ATTEMPTS})\"; i=$((i + 1)); sleep {WAIT_INTERVAL_SECONDS}; done"
        )
    }

    /// pg_isready reports whether the server accepts connections, authentication aside; it
    /// needs a user name, and uid 1001 has none in the image's /etc/passwd.
    pub fn wait_for_postgres() -> String {
        bounded_wait(
            "pg_isready --host=\"$DB_HOST\" --port=\"$DB_PORT\" --username=postgres --timeout=3",
            "postgres at $DB_HOST:$DB_PORT",
        )
    }

    /// A Redis that requires a password answers NOAUTH: it is up all the same.
    pub fn wait_for_redis() -> String {
        bounded_wait(
            "case \"$(redis-cli -h \"$REDIS_HOST\" -p \"$REDIS_PORT\" ping 2>&1)\" in PONG|NOAUTH*) true ;; *) false ;; esac",
            "redis at $REDIS_HOST:$REDIS_PORT",
        )
    }

    /// The Prisma CLI the service image ships, never `npx` (which would install the latest Prisma
    /// from the registry at pod start when the image lacks it).
    pub const MIGRATE: [&str; 3] = ["node_modules/.bin/prisma", "migrate", "deploy"];
    /// The migration container's environment: Prisma writes under `$HOME` (the read-only root
    /// leaves only `/tmp`), and must not phone home for update checks.
    pub const MIGRATE_ENV: [(&str, &str); 2] = [("HOME", super::TMP_PATH), ("CHECKPOINT_DISABLE", "1")];
}

/// The writable scratch directory every container gets under a read-only root filesystem.
pub const TMP_VOLUME: &str = "tmp";
pub const TMP_PATH: &str = "/tmp";
/// The most `/tmp` may hold: Node.js and Prisma scratch files, not a disk.
pub const TMP_SIZE_LIMIT: &str = "256Mi";
/// The selector label, as in the seed's `kubectl get pods -l app=analytics-service`: Services,
/// Deployments, PDBs and network policies select a service's pods by it.
pub const APP_LABEL: &str = "app";
/// The name of the container port the Service and the probes use.
pub const HTTP_PORT_NAME: &str = "http";

/// The annotation on a Deployment that makes Stakater Reloader restart its pods when the named
/// Secret changes: environment variables from `envFrom` are read once, at container start, so a
/// rotated secret reaches running pods only through a restart.
pub const RELOADER_SECRET_ANNOTATION: &str = "secret.reloader.stakater.com/reload";

/// What the network policies rely on in every cluster (`network.md` (see docs/spec.md), "Platform
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

/// Checks of common scanners that the deployed environments knowingly do not meet, because the spec decides
/// otherwise: (checkov check id, reason). Written down once, here; [`scanner_annotations`] puts
/// them on each environment's Deployments in checkov's own convention, and `cargo xtask lint` shows
/// them as `excepted`. A reason must not contain `=`: checkov splits `ID=reason` at the first one.
pub const SCANNER_EXCEPTIONS: [(&str, &str); 3] = [
    (
        "CKV_K8S_40",
        "the spec fixes runAsUser 1001 (not the official Node.js image's user, which is 1000); PSS forbids only UID 0",
    ),
    (
        "CKV_K8S_35",
        "the spec passes secrets by envFrom from <service>-secret, which an ExternalSecret writes from AWS Secrets \
         Manager",
    ),
    (
        "CKV_K8S_43",
        "images are pinned by tag, not digest: the services' in images.yaml, the postgres and redis init images in \
         the conventions; all are pulled Always and the release owns the tags",
    ),
];

/// The annotation key prefix checkov reads for a skipped check: `checkov.io/skip1`, `skip2`, …
pub const SCANNER_SKIP_PREFIX: &str = "checkov.io/skip";

/// The exception that only a pod running some image by tag needs: one whose every image is pinned
/// by digest meets the check on its own merits.
pub const DIGEST_CHECK: &str = "CKV_K8S_43";

/// The exceptions of [`SCANNER_EXCEPTIONS`] a Deployment running `images` needs: all of them, but
/// [`DIGEST_CHECK`] when every image is pinned by digest.
pub fn scanner_exceptions_for<'a>(images: impl IntoIterator<Item = &'a str>) -> Vec<(&'static str, &'static str)> {
    let mut images = images.into_iter().peekable();
    let by_digest = images.peek().is_some() && images.all(|image| image.contains("@sha256:"));
    SCANNER_EXCEPTIONS.iter().copied().filter(|(id, _)| !(by_digest && *id == DIGEST_CHECK)).collect()
}

/// The exceptions a Deployment running `images` needs (see [`scanner_exceptions_for`]), as its
/// annotations.
pub fn scanner_annotations<'a>(
    images: impl IntoIterator<Item = &'a str>,
) -> std::collections::BTreeMap<String, String> {
    scanner_exceptions_for(images)
        .iter()
        .enumerate()
        .map(|(i, (id, reason))| (format!("{SCANNER_SKIP_PREFIX}{}", i + 1), format!("{id}={reason}")))
        .collect()
}
