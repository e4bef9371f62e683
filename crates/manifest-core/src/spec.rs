//! The spec vocabulary: what a spec sheet and the platform say, as plain values a reviewer reads
//! (`"500m"`, `"2Gi"`, `Uses::store("postgres")`). A leaf: it imports nothing of the crate, so every other
//! module may use it and none of them is needed to read it. [`crate::model`] parses and checks
//! these values once; `lomash_manifests::platform` holds the platform's own values and the defaults a
//! service starts from.

/// One service, as its spec sheet in `src/services/<name>.rs` writes it. A sheet starts from
/// `platform::service(name, port)` (the platform's defaults) and states what is particular to it
/// with the builder methods below.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceDef {
    pub name: String,
    /// One line: what the service does.
    pub summary: String,
    /// The container port, named `http`, that the Service and the probes use.
    pub port: u32,
    /// The image repository without a tag; the tag comes from the release file.
    pub image: String,
    pub cpu: Resources,
    pub memory: Resources,
    pub autoscaling: Autoscaling,
    /// The PodDisruptionBudget's `minAvailable`.
    pub min_available: i32,
    pub probes: Probes,
    /// How long the service may take to start cold; the startup probe must allow at least this.
    pub cold_start_seconds: i32,
    /// What the service depends on: the edges of the service graph. Init containers, config keys,
    /// the gateway's URLs, the network policies and the docs are derived from them.
    pub uses: Vec<Uses>,
    /// Why the service's port is open to any source (`None`: only to the services that call it
    /// and to monitoring). The gateway's clients arrive through the cloud load balancer, whose
    /// addresses are not known in advance; see [`ServiceDef::public`].
    pub public: Option<String>,
    /// ConfigMap keys particular to this service in every environment's overlay (the base, for
    /// development, has only the platform's keys).
    pub config: Vec<(String, String)>,
    /// Keys of `config` whose names look secret but are not, each with the reason a reviewer
    /// reads (`(key, reason)`); see [`ServiceDef::config_not_secret`].
    pub not_secret: Vec<(String, String)>,
    pub security: Security,
    /// The size of each connection pool the service opens (its stores' [`ConnectionPool`]),
    /// when not the store's default.
    pub pool_size: Option<u32>,
}

/// An edge of the service graph: something a service needs to reach.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Uses {
    /// Uses the data store of the platform of this name ([`Platform::stores`]): waits for it,
    /// gets its config keys, runs its migration step where the store has one, and may reach it.
    Store(String),
    /// Calls the named service of the catalogue.
    Service(String),
    /// Routes to every other service of the catalogue (the gateway): one `<NAME>_SERVICE_URL` each.
    AllServices,
    /// Calls providers on the internet over HTTPS, for the reason given.
    ExternalHttps(String),
}

impl Uses {
    /// The edge to the platform's data store `name`.
    pub fn store(name: &str) -> Uses {
        Uses::Store(name.to_owned())
    }
}

/// A data store the services use (a database, a cache), as the catalogue declares it: the core
/// knows no store by name. A service uses one through one edge, [`Uses::Store`]; from that edge
/// come its wait init container, its config keys, its migration step and its network egress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataStore {
    /// The edge's name and the wait container's (`wait-for-<name>`), e.g. `postgres`.
    pub name: String,
    /// How the docs call it, e.g. `PostgreSQL`.
    pub title: String,
    /// The image the wait container runs: it ships the store's own client.
    pub image: String,
    /// The multi-architecture index digest of that tag (`sha256:…`), for a pod whose release is
    /// pinned by digest. Re-read it when the tag changes (`docker buildx imagetools inspect`).
    pub image_digest: Option<String>,
    /// The TCP port its users reach it on, in the environment's data namespace.
    pub port: u32,
    /// The config keys that carry its address to its users (`DB_HOST`, `DB_PORT`).
    pub host_key: String,
    pub port_key: String,
    /// One attempt of the wait, a `sh` condition that holds once the store answers; it reads the
    /// address from the two keys above (`$DB_HOST`), which the wait container gets by `envFrom`.
    pub ready: String,
    /// What an attempt checks, for the docs, e.g. `until PostgreSQL accepts connections`.
    pub ready_means: String,
    /// Further config keys each user of the store gets, in every environment.
    pub config: Vec<(String, String)>,
    /// What each user runs against the store before it serves, where the store has a schema.
    pub migration: Option<Migration>,
    /// The connection pool each user opens, where the store limits its connections.
    pub pool: Option<ConnectionPool>,
}

/// How many connections one pod of a store's user opens: the config key that tells the service
/// its pool's size, and the size a service gets unless its sheet sets its own
/// ([`ServiceDef::pool_size`]). Each deployed environment budgets the sum
/// ([`Environment::connection_limits`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionPool {
    /// e.g. `DATABASE_POOL_SIZE`: the services pass it to their client as its pool's limit.
    pub config_key: String,
    pub default_size: u32,
    /// How the services honour the key, for the overlay README (the contract the budget rests
    /// on), e.g. "The services pass it to Prisma as `connection_limit`".
    pub contract: String,
}

/// What a store of an environment accepts: `max_connections`, of which `reserved` are kept for
/// administration and replication; the services' pools share the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimit {
    pub max_connections: u32,
    pub reserved: u32,
}

/// The step that brings a store's schema up to the service's release: a command of the service's
/// own image, run with the service's config and secret, once per release, in a `batch/v1` Job of
/// each deployed environment (`<service>-<name>-<hash of the image>`), before the release's pods
/// roll. No pod of a Deployment runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The Job's container, and the middle of the Job's and its NetworkPolicy's names, e.g. `migrate`.
    pub name: String,
    pub command: Vec<String>,
    /// Environment variables the command needs beyond the service's config and secret.
    pub env: Vec<(String, String)>,
    /// What the docs say of it: the tool, and what a failed run does.
    pub notes: String,
    /// How often a failed pod is retried before the Job fails.
    pub backoff_limit: i32,
    /// The Job fails when it has run this long, retries included.
    pub active_deadline_seconds: i64,
    /// How long a finished Job (and its pods' logs) is kept.
    pub ttl_seconds_after_finished: i32,
}

impl DataStore {
    /// The wait container's image: by tag, or by tag and digest beside a release pinned by
    /// digest (when the catalogue knows the image's digest), so that everything the pod runs is
    /// pinned.
    pub fn image_for(&self, by_digest: bool) -> String {
        match &self.image_digest {
            Some(digest) if by_digest => format!("{}@{digest}", self.image),
            _ => self.image.clone(),
        }
    }
}

/// The runtime every service runs on, as the catalogue declares it: the config keys each
/// ConfigMap carries beyond the service's own, and where each value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    /// In the order the docs list them; the ConfigMap sorts its keys.
    pub keys: Vec<(String, Setting)>,
}

/// Where a runtime config key's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// This text in every stage.
    Text(String),
    /// The stage's own value, from [`Stage::settings`] under the same key.
    PerStage,
    /// The stage's own value, which must be an `https://` origin in a deployed environment.
    PerStageOrigin,
    /// The service's name.
    ServiceName,
    /// The service's container port.
    Port,
    /// `<prefix><stage name>`: the base's name or the environment's.
    StageName { prefix: String },
    /// `<prefix><N>`, N = `percent` of the main container's memory limit in MiB, rounded down:
    /// a runtime's heap ceiling below the limit.
    MemoryLimitMib { prefix: String, percent: u32 },
}

/// Checks of common scanners (checkov's ids) that the deployed environments knowingly do not
/// meet, each with the reason a reviewer reads; the core records them on each Deployment in
/// checkov's own annotations and the lint shows them as `excepted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerExceptions {
    /// (check id, reason). A reason must not contain `=`: checkov splits `ID=reason` at the first.
    pub declared: Vec<(String, String)>,
    /// The declared check that a pod whose every image is pinned by digest meets on its own
    /// merits: such a Deployment carries no exception for it.
    pub met_by_digest: Option<String>,
}

/// What the generated docs say of the project: facts of the company, never of the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectDocs {
    /// The overlay README's title ends with it, e.g. `Example Corp Backend`.
    pub title: String,
    /// Where the catalogue lives, as the README names it (`crates/example-manifests`).
    pub catalogue_dir: String,
    /// The release pipeline's steps, in order, before `set-image`: each may name `{registry}`,
    /// `{service}` (an example service) and `{environment}`.
    pub build_steps: Vec<String>,
    /// The pipeline's steps after the commit; same placeholders.
    pub deploy_steps: Vec<String>,
    /// The closing section's lines (Markdown, an empty string a blank line): where ownership,
    /// runbooks and infrastructure live.
    pub pointers: Vec<String>,
    /// Where the secret store's values are kept, for the README's secrets section
    /// (`AWS Secrets Manager`), and its short name (`Secrets Manager`).
    pub secret_backend: String,
    pub secret_backend_short: String,
    /// What runs a deploy workflow, before its file name: `GitHub Actions workflow`.
    pub workflow_system: String,
}

/// A request and a limit. As written in a spec sheet, `Resources<Option<String>>` (`"250m"`;
/// `None` is a missing value); once checked, [`crate::model`] holds them as quantities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources<T = Option<String>> {
    pub request: T,
    pub limit: T,
}

impl Resources {
    pub fn new(request: &str, limit: &str) -> Resources {
        Resources { request: Some(request.to_owned()), limit: Some(limit.to_owned()) }
    }

    /// Neither value set: the service must state its own.
    pub fn unset() -> Resources {
        Resources { request: None, limit: None }
    }
}

/// How the HorizontalPodAutoscaler (`autoscaling/v2`) scales a service, as a spec sheet writes
/// it: `Autoscale { max: 20, cpu_percent: 60, memory_percent: 75 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autoscale {
    /// The most replicas the HPA may run.
    pub max: i32,
    /// Target average CPU utilisation, in percent of the request.
    pub cpu_percent: i32,
    /// Target average memory utilisation, in percent of the request.
    pub memory_percent: i32,
}

/// The HorizontalPodAutoscaler of a service, in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autoscaling {
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// Target average CPU utilisation, in percent of the request.
    pub cpu_percent: i32,
    /// Target average memory utilisation, in percent of the request.
    pub memory_percent: i32,
    pub scale_down_window_seconds: i32,
    /// Scale down by at most this percent of the replicas …
    pub scale_down_percent: i32,
    /// … per this many seconds.
    pub scale_down_period_seconds: i32,
    pub scale_up: ScaleUp,
}

/// How fast the HPA may add pods: per period, the larger of a number of pods and a percent of
/// the replicas (`selectPolicy: Max`), after a stabilisation window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleUp {
    pub window_seconds: i32,
    pub pods: i32,
    pub percent: i32,
    pub period_seconds: i32,
}

/// The three HTTP probes, on the container port named `http`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probes {
    pub liveness: Probe,
    pub readiness: Probe,
    pub startup: Probe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub path: String,
    pub period_seconds: i32,
    /// `None` leaves Kubernetes' default (1 s).
    pub timeout_seconds: Option<i32>,
    pub failure_threshold: i32,
}

/// The hardened security context, of the pod and of every container in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Security {
    pub run_as_user: i64,
    pub run_as_group: i64,
    pub fs_group: i64,
    pub run_as_non_root: bool,
    pub read_only_root_filesystem: bool,
    pub allow_privilege_escalation: bool,
    pub privileged: bool,
    pub drop_all_capabilities: bool,
    pub seccomp_runtime_default: bool,
    pub automount_service_account_token: bool,
}

/// `imagePullPolicy`: a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

/// What every service shares: the base (development) and the environments its overlays deploy.
#[derive(Debug, Clone, PartialEq)]
pub struct Platform {
    /// `app.kubernetes.io/part-of`.
    pub part_of: String,
    /// `app.kubernetes.io/managed-by`.
    pub managed_by: String,
    /// Images are `<registry>/<service>`.
    pub registry: String,
    /// The cloud account every environment runs in: its overlays pull every image from the
    /// account's container registry, and its pods assume the account's roles. `None`: the
    /// overlays pull the images by the names the base gives them.
    pub aws: Option<Aws>,
    /// The data stores the services may use ([`Uses::Store`]), in the order their waits run.
    pub stores: Vec<DataStore>,
    /// The config keys every service's ConfigMap carries.
    pub runtime: Runtime,
    /// Checks of common scanners the deployed environments knowingly do not meet, because the
    /// spec decides otherwise.
    pub scanner_exceptions: ScannerExceptions,
    /// What the generated docs say of the project.
    pub docs: ProjectDocs,
    /// The label (key, value) on every object a release applies before its rollouts: the
    /// migration Jobs and what they need (`kubectl apply -k <overlay> -l key=value`).
    pub first_phase_label: (String, String),
    /// Where every environment's secrets come from (the base reads none).
    pub secrets: SecretSource,
    /// The base: development values, no namespace, nothing hardened beyond `runAsNonRoot`.
    pub base: Stage,
    /// What the base is called where a name is needed (`deployment.environment` of its traces).
    pub base_name: String,
    /// Every overlay, one environment each, in the order they are rendered.
    pub environments: Vec<Environment>,
    /// What every service starts from, where it is the platform's.
    pub defaults: ServiceDefaults,
}

/// The values every spec sheet starts from (the catalogue's `service(name, port)` copies them into
/// each service). Validation checks them once, here: a mistake in them is the platform's, reported
/// once at its field, not once for every service that inherited it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDefaults {
    pub probes: Probes,
    pub security: Security,
}

impl Platform {
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    pub fn environment_mut(&mut self, name: &str) -> Option<&mut Environment> {
        self.environments.iter_mut().find(|e| e.name == name)
    }

    pub fn store(&self, name: &str) -> Option<&DataStore> {
        self.stores.iter().find(|s| s.name == name)
    }
}

/// An AWS account and region: where each environment's overlay pulls its images from (ECR) and
/// whose IAM roles its pods assume (IRSA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aws {
    /// The account id: 12 digits.
    pub account_id: String,
    /// The region, e.g. `eu-west-2`.
    pub region: String,
    /// The prefix of the registry's pull-through cache rule for Docker Hub (e.g. `docker-hub`):
    /// Docker Hub's `postgres` is then pulled as `<registry>/<prefix>/library/postgres`.
    pub docker_hub_cache: String,
}

impl Aws {
    /// The account's private ECR registry host.
    pub fn registry(&self) -> String {
        format!("{}.dkr.ecr.{}.amazonaws.com", self.account_id, self.region)
    }

    /// The ARN of the account's IAM role `role`.
    pub fn role_arn(&self, role: &str) -> String {
        format!("arn:aws:iam::{}:role/{role}", self.account_id)
    }

    /// Where the registry serves one of the platform's own repositories (`lomashwood/auth-service`):
    /// under the same path.
    pub fn own(&self, repository: &str) -> String {
        format!("{}/{repository}", self.registry())
    }

    /// Where the registry's pull-through cache serves a Docker Hub repository: official images
    /// (one path component, `postgres`) under `library/`, as Docker Hub names them.
    pub fn docker_hub(&self, repository: &str) -> String {
        let library = if repository.contains('/') { "" } else { "library/" };
        format!("{}/{}/{library}{repository}", self.registry(), self.docker_hub_cache)
    }
}

/// Where the services' secrets live, written once for every environment: the External Secrets
/// Operator reads each service's entry from a store and writes the Secret its pods read. The
/// repository says where a secret lives, never what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretSource {
    /// The store the operator reads from, e.g. the cluster-wide `aws-secrets-manager`.
    pub store: SecretStore,
    /// The first segment of every entry's key: see [`SecretSource::key`].
    pub key_prefix: String,
    /// How often the operator reads the store again, as a Go duration (`1h`): a rotated value
    /// reaches the Secret, and so the pods, within it.
    pub refresh_interval: String,
}

impl SecretSource {
    /// The store entry of a service in an environment: `<prefix>/<environment>/<service>`.
    pub fn key(&self, environment: &str, service: &str) -> String {
        format!("{}/{environment}/{service}", self.key_prefix)
    }
}

/// A secret store, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretStore {
    pub name: String,
    pub scope: StoreScope,
}

/// Whether a store serves the whole cluster (one store for every environment's namespace) or
/// only its own namespace. A namespaced store is part of each overlay, with the identity it reads
/// the provider as: one environment can then read only its own entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreScope {
    Cluster,
    Namespace(StoreIdentity),
}

/// Who a namespaced store reads its provider as: a ServiceAccount of the environment's namespace,
/// bound to the environment's IAM role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreIdentity {
    /// The ServiceAccount the store authenticates as (its token is the JWT the provider trusts).
    pub service_account: String,
    /// The IAM role of the platform's account it assumes, `{environment}` standing for the
    /// environment's name, e.g. `acme-{environment}-external-secrets`.
    pub role: String,
}

impl StoreIdentity {
    /// The role's name in `environment`.
    pub fn role_in(&self, environment: &str) -> String {
        self.role.replace(ENVIRONMENT_PLACEHOLDER, environment)
    }
}

/// Stands for the environment's name in a value written once for every environment.
pub const ENVIRONMENT_PLACEHOLDER: &str = "{environment}";

/// One overlay: where it deploys, its settings, how strictly it schedules, how it scales.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// The overlay's folder and the release file's key, e.g. `production`.
    pub name: String,
    pub namespace: String,
    /// The namespace the data stores run in: the only place the network policies let the
    /// services reach them (on each store's port).
    pub data_namespace: String,
    pub stage: Stage,
    pub scheduling: Scheduling,
    /// Replica bounds of this environment; unset bounds are each service's own.
    pub scale: Scale,
    /// How a pod stops: endpoints are removed before SIGTERM reaches it.
    pub shutdown: Shutdown,
    /// The workflow that applies this overlay, where the platform names one.
    pub deploy_workflow: Option<String>,
    /// The backend nodes its pods are scheduled on: what [`crate::capacity`] checks the
    /// replicas and requests against.
    pub pool: NodePool,
    /// How the public service is reached from outside the cluster, when it is.
    pub ingress: Option<IngressDef>,
    /// The OpenTelemetry collector the services send traces to (every service may reach it).
    pub collector: Option<Collector>,
    /// Each store's connection limit in this environment, by store name: what the pools of its
    /// users at their maximum replicas, and the migration Jobs, must fit in.
    pub connection_limits: Vec<(String, ConnectionLimit)>,
}

/// An `Ingress` to the catalogue's public service, for the cluster's ingress controller: one
/// host, one path prefix, TLS for the host (the controller finds the certificate by it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressDef {
    /// `ingressClassName`.
    pub class: String,
    /// The controller's annotations, as written.
    pub annotations: Vec<(String, String)>,
    pub host: String,
    /// A `Prefix` path.
    pub path: String,
}

/// Where the OpenTelemetry collector runs, as the network policies select it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collector {
    pub namespace: String,
    /// The label its pods carry.
    pub pod_label: (String, String),
    /// Its OTLP port (TCP).
    pub port: u16,
}

/// Graceful shutdown of every pod of an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shutdown {
    /// The main container's `preStop` sleep: time for the endpoints to be removed.
    pub pre_stop_sleep_seconds: i64,
    /// The pod's `terminationGracePeriodSeconds`: the preStop sleep plus the time to drain.
    pub termination_grace_period_seconds: i64,
}

/// The node pool an environment's pods run on (the nodes its node affinity selects), as the
/// platform declares it: the same number of nodes in each zone, all of one size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePool {
    /// The zones (`topology.kubernetes.io/zone` values) the pool spans.
    pub zones: Vec<String>,
    pub nodes_per_zone: u32,
    /// What one node offers pods (its allocatable, not its capacity), e.g. `"3920m"`.
    pub allocatable_cpu: String,
    /// e.g. `"14Gi"`.
    pub allocatable_memory: String,
}

/// Overrides of the services' own replica bounds in one environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scale {
    pub min_replicas: Option<i32>,
    pub max_replicas: Option<i32>,
    /// The PodDisruptionBudget's `minAvailable`.
    pub min_available: Option<i32>,
}

/// Where and how the pods of an environment are placed.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduling {
    /// Required node labels (`key In [value]`).
    pub node_selector: Vec<(String, String)>,
    /// No two pods of a service on one node: a hard rule, or a preference of this weight.
    pub anti_affinity: Placement,
    /// Spread over zones: a hard rule, or best effort.
    pub zone_spread: Placement,
    pub max_skew: i32,
    pub max_surge: i32,
    pub max_unavailable: i32,
    /// How long a new pod must be ready before it counts as available.
    pub min_ready_seconds: i32,
}

/// How strictly a scheduling rule holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Required,
    /// A preference, with its weight (1–100) where the API takes one.
    Preferred(i32),
}

/// The settings that differ between the base and each environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// `spec.replicas` of every Deployment; `None` leaves the count to the HorizontalPodAutoscaler
    /// (a value here would reset it on every `kubectl apply`).
    pub replicas: Option<i32>,
    pub image_pull_policy: PullPolicy,
    /// The values of the runtime's [`Setting::PerStage`] keys, by key.
    pub settings: Vec<(String, String)>,
    /// Where each data store answers in this stage: (store name, host).
    pub store_hosts: Vec<(String, String)>,
    /// Requests and limits every service gets here (cpu, memory); `None` means the service's own.
    pub resources: Option<(Resources, Resources)>,
}

impl ServiceDef {
    pub fn summary(mut self, text: &str) -> Self {
        self.summary = text.to_owned();
        self
    }

    /// CPU request and limit, e.g. `.cpu("250m", "1000m")`.
    pub fn cpu(mut self, request: &str, limit: &str) -> Self {
        self.cpu = Resources::new(request, limit);
        self
    }

    /// Memory request and limit, e.g. `.memory("256Mi", "1Gi")`.
    pub fn memory(mut self, request: &str, limit: &str) -> Self {
        self.memory = Resources::new(request, limit);
        self
    }

    /// Scale between the platform's minimum and `max` replicas on CPU and memory utilisation.
    pub fn autoscale(mut self, a: Autoscale) -> Self {
        self.autoscaling.max_replicas = a.max;
        self.autoscaling.cpu_percent = a.cpu_percent;
        self.autoscaling.memory_percent = a.memory_percent;
        self
    }

    /// The fewest replicas the HPA keeps (the platform's default otherwise).
    pub fn min_replicas(mut self, n: i32) -> Self {
        self.autoscaling.min_replicas = n;
        self
    }

    /// The PodDisruptionBudget's `minAvailable` (the platform's default otherwise).
    pub fn min_available(mut self, n: i32) -> Self {
        self.min_available = n;
        self
    }

    /// The three probes (the platform's defaults otherwise).
    pub fn probes(mut self, probes: Probes) -> Self {
        self.probes = probes;
        self
    }

    /// How long a cold start may take; the startup probe must allow at least this.
    pub fn cold_start_seconds(mut self, seconds: i32) -> Self {
        self.cold_start_seconds = seconds;
        self
    }

    /// Each pod's connection pool, when not the store's default, e.g. `.pool_size(10)`.
    pub fn pool_size(mut self, connections: u32) -> Self {
        self.pool_size = Some(connections);
        self
    }

    /// An edge of the service graph, e.g. `.uses(Uses::store("postgres"))`.
    pub fn uses(mut self, edge: Uses) -> Self {
        self.uses.push(edge);
        self
    }

    /// Opens the service's port to any source, for the reason given, e.g.
    /// `.public("client traffic through the cloud load balancer")`. Every other service is
    /// reached only by the services whose edges name it, and by monitoring.
    pub fn public(mut self, reason: &str) -> Self {
        self.public = Some(reason.to_owned());
        self
    }

    /// A ConfigMap key of this service.
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.config.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A ConfigMap key whose name looks secret but is not, with the reason, e.g.
    /// `.config_not_secret("ACCESS_TOKEN_TTL_SECONDS", "900", "a lifetime in seconds, not a token")`.
    /// The declaration sits in the spec sheet, where review sees it; the reason must not be empty.
    /// Only the name is excused: a value that looks like a credential is still refused.
    pub fn config_not_secret(mut self, key: &str, value: &str, reason: &str) -> Self {
        self.config.push((key.to_owned(), value.to_owned()));
        self.not_secret.push((key.to_owned(), reason.to_owned()));
        self
    }

    pub fn uses_store(&self, store: &str) -> bool {
        self.uses.iter().any(|u| matches!(u, Uses::Store(s) if s == store))
    }
}

impl Stage {
    /// The stage's value of a [`Setting::PerStage`] key.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn setting_mut(&mut self, key: &str) -> Option<&mut String> {
        self.settings.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Where the store `name` answers in this stage.
    pub fn store_host(&self, name: &str) -> Option<&str> {
        self.store_hosts.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn store_host_mut(&mut self, name: &str) -> Option<&mut String> {
        self.store_hosts.iter_mut().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}
