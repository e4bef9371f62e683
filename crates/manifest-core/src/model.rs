//! Checks a [`Catalogue`] and turns it into the [`Model`] the renderer reads: quantities, tags
//! and names parsed once, gateway URLs derived, and every mistake reported at once, each naming
//! the service and the field.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalogue::Catalogue;
use crate::error::Errors;
use crate::spec::{
    Autoscaling, Aws, DataStore, ENVIRONMENT_PLACEHOLDER, Environment, IngressDef, Migration, NodePool, Placement,
    Platform, Probe, Probes, Resources, SecretSource, Security, ServiceDef, Setting, StoreScope, Uses,
};
use crate::values::{
    ImageTag, Quantity, dns_label_problem, dns_subdomain_problem, duration_problem, image_repository_problem,
    label_value_problem, uncarried_character_problem,
};

/// A checked catalogue: what the renderer reads.
#[derive(Debug, Clone)]
pub struct Model {
    pub platform: Platform,
    pub services: Vec<Service>,
    /// Each environment's checked node pool, by environment name.
    pub pools: BTreeMap<String, Pool>,
}

impl Model {
    /// The checked node pool of `env` (every environment of a valid model has one).
    pub fn pool(&self, env: &Environment) -> Option<&Pool> {
        self.pools.get(&env.name)
    }
}

/// A checked [`NodePool`]: the nodes an environment's pods run on. Its arithmetic (allocatable,
/// pods per zone) is [`crate::capacity`]'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub zones: Vec<String>,
    pub nodes_per_zone: u32,
    /// One node's allocatable CPU, as declared.
    pub cpu: Quantity,
    /// One node's allocatable memory, as declared.
    pub memory: Quantity,
}

impl Pool {
    /// Checks a declared pool; each problem comes with its field (`pool.zones`, …).
    pub fn check(p: &NodePool) -> Result<Pool, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        if p.zones.is_empty() {
            problems.push(("pool.zones", "no zone: the pool needs at least one".to_owned()));
        }
        for (i, zone) in p.zones.iter().enumerate() {
            if zone.trim().is_empty() {
                problems.push(("pool.zones", "a zone without a name".to_owned()));
            } else if p.zones[..i].contains(zone) {
                // Counted twice, a zone would add nodes the pool does not have.
                problems.push(("pool.zones", format!("{zone:?} is listed twice")));
            }
        }
        if p.nodes_per_zone < 1 {
            problems.push(("pool.nodesPerZone", format!("{} is below 1", p.nodes_per_zone)));
        }
        let cpu = Quantity::cpu(&p.allocatable_cpu).map_err(|e| problems.push(("pool.allocatableCpu", e))).ok();
        let memory =
            Quantity::memory(&p.allocatable_memory).map_err(|e| problems.push(("pool.allocatableMemory", e))).ok();
        match (cpu, memory) {
            (Some(cpu), Some(memory)) if problems.is_empty() => {
                Ok(Pool { zones: p.zones.clone(), nodes_per_zone: p.nodes_per_zone, cpu, memory })
            }
            _ => Err(problems),
        }
    }
}

/// A checked service.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub summary: String,
    pub port: u16,
    /// The repository, e.g. `lomashwood/auth-service`.
    pub image: String,
    /// The tag of each environment, by environment name.
    pub tags: BTreeMap<String, ImageTag>,
    pub cpu: Resources<Quantity>,
    pub memory: Resources<Quantity>,
    pub autoscaling: Autoscaling,
    pub min_available: i32,
    pub probes: Probes,
    /// The edges of the service graph, as declared (each checked against the catalogue).
    pub uses: Vec<Uses>,
    /// The data stores it uses, in the platform's order (the order their waits run in).
    pub stores: Vec<DataStore>,
    /// The services this one calls, with their ports: its [`Uses::Service`] edges and, for
    /// [`Uses::AllServices`], every other service.
    pub calls: Vec<(String, u16)>,
    /// The services that call this one (whose [`Service::calls`] name it), in catalogue order:
    /// the other end of their edges, from which its network ingress is derived.
    pub callers: Vec<String>,
    /// Why the service's port is open to any source, when it is (the gateway).
    pub public: Option<String>,
    /// ConfigMap keys particular to the service, in every environment.
    pub config: Vec<(String, String)>,
    /// The gateway's `<NAME>_SERVICE_URL` keys, derived from [`Uses::AllServices`] (base and
    /// every environment).
    pub upstreams: Vec<(String, String)>,
    pub security: Security,
    /// The size of its connection pools, when its sheet sets one ([`Service::pool_size_for`]).
    pub pool_size: Option<u32>,
}

/// A service's replica bounds in one environment: the environment's overrides, else its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// The PodDisruptionBudget's `minAvailable`.
    pub min_available: i32,
}

impl Service {
    /// Its replica bounds in `env`: what the HPA and the PDB render, the docs and the checks read.
    pub fn bounds(&self, env: &Environment) -> Bounds {
        Bounds {
            min_replicas: env.scale.min_replicas.unwrap_or(self.autoscaling.min_replicas),
            max_replicas: env.scale.max_replicas.unwrap_or(self.autoscaling.max_replicas),
            min_available: env.scale.min_available.unwrap_or(self.min_available),
        }
    }

    /// The tag `environment` runs.
    pub fn tag(&self, environment: &str) -> &ImageTag {
        &self.tags[environment]
    }

    /// The image reference `environment` runs: `repository:tag`, or `repository@sha256:…` for a
    /// release pinned by digest.
    pub fn image_ref(&self, environment: &str) -> String {
        self.tag(environment).reference(&self.image)
    }

    pub fn uses_store(&self, store: &str) -> bool {
        self.stores.iter().any(|s| s.name == store)
    }

    /// How many connections each of its pods opens to `store`: its sheet's pool size, else the
    /// store's default; `None` for a store without a pool.
    pub fn pool_size_for(&self, store: &DataStore) -> Option<u32> {
        store.pool.as_ref().map(|p| self.pool_size.unwrap_or(p.default_size))
    }

    /// The migration steps of its stores, in the stores' order.
    pub fn migrations(&self) -> impl Iterator<Item = &Migration> {
        self.stores.iter().filter_map(|s| s.migration.as_ref())
    }

    pub fn config_map_name(&self) -> String {
        format!("{}-config", self.name)
    }

    /// The Secret each environment's pods read through `envFrom`. Its values are never in the
    /// repository: each overlay declares an ExternalSecret of the same name that has the External
    /// Secrets Operator write it from the platform's secret store.
    pub fn secret_name(&self) -> String {
        format!("{}-secret", self.name)
    }
}

/// The gateway's key for a service: its name without `-service`, upper-cased, dashes as
/// underscores, plus `_SERVICE_URL`.
///
/// ```
/// use manifest_core::model::upstream_key;
/// assert_eq!(upstream_key("order-payment-service"), "ORDER_PAYMENT_SERVICE_URL");
/// assert_eq!(upstream_key("auth-service"), "AUTH_SERVICE_URL");
/// ```
pub fn upstream_key(service: &str) -> String {
    let stem = service.strip_suffix("-service").unwrap_or(service);
    format!("{}_SERVICE_URL", stem.to_uppercase().replace('-', "_"))
}

/// Keys of the ConfigMap that the platform writes (the runtime's, then those of each store the
/// service uses), for a service whose edges are `uses`.
pub fn platform_config_keys<'a>(platform: &'a Platform, uses: &[Uses]) -> Vec<&'a str> {
    let mut keys: Vec<&str> = platform.runtime.keys.iter().map(|(k, _)| k.as_str()).collect();
    for store in platform.stores.iter().filter(|st| uses.contains(&Uses::Store(st.name.clone()))) {
        keys.extend([store.host_key.as_str(), store.port_key.as_str()]);
        keys.extend(store.config.iter().map(|(k, _)| k.as_str()));
        keys.extend(store.pool.iter().map(|p| p.config_key.as_str()));
    }
    keys
}

/// Key fragments that mark a secret: such values are referenced from `<service>-secret`,
/// never written into a ConfigMap.
const SECRET_MARKERS: [&str; 11] = [
    "PASSWORD",
    "PASSWD",
    "TOKEN",
    "SECRET",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
    "DATABASE_URL",
    "DSN",
    "CREDENTIAL",
];

/// Words of a key that mark a secret where a fragment would not: `DB_PASS`, `smtp-pass`,
/// `dbPwd`, but not `PASSTHROUGH_MODE` or `BYPASS_CACHE`.
const SECRET_WORDS: [&str; 2] = ["PASS", "PWD"];

/// The marker that makes `key` look secret: one of [`SECRET_MARKERS`] anywhere in it, one of
/// [`SECRET_WORDS`] as a word of it, or a name ending in `_KEY` (`JWT_KEY`, `STRIPE_KEY`).
fn secret_marker(key: &str) -> Option<&'static str> {
    let upper = key.to_uppercase();
    SECRET_MARKERS
        .iter()
        .copied()
        .find(|m| upper.contains(m))
        .or_else(|| SECRET_WORDS.iter().copied().find(|w| key_words(key).any(|word| word.eq_ignore_ascii_case(w))))
        .or(upper.ends_with("_KEY").then_some("_KEY"))
}

/// The words of a key: split at `_`, `-` and `.`, and where camelCase turns to upper case.
fn key_words(key: &str) -> impl Iterator<Item = &str> {
    key.split(['_', '-', '.']).flat_map(|part| {
        let bytes = part.as_bytes();
        let starts = (1..bytes.len()).filter(|&i| bytes[i].is_ascii_uppercase() && !bytes[i - 1].is_ascii_uppercase());
        let bounds: Vec<usize> = std::iter::once(0).chain(starts).chain(std::iter::once(part.len())).collect();
        (0..bounds.len() - 1).map(move |i| &part[bounds[i]..bounds[i + 1]])
    })
}

pub fn validate(catalogue: &Catalogue) -> Result<Model, Errors> {
    let mut errors = Errors::default();
    // An empty catalogue renders a tree without a service: writing it would delete every one.
    if catalogue.services.is_empty() {
        errors.push("catalogue", "services", "no services: refusing to render an empty tree");
    }
    check_platform(&catalogue.platform, &mut errors);
    if let Some(problem) = &catalogue.release.unreadable {
        errors.push("release", "images.yaml", problem.clone());
    }

    let mut names = BTreeSet::new();
    let mut ports: BTreeMap<u32, &str> = BTreeMap::new();
    for def in &catalogue.services {
        if !names.insert(def.name.as_str()) {
            errors.push(&def.name, "name", "duplicate service name: another service already has it");
        }
        if let Some(other) = ports.insert(def.port, &def.name)
            && other != def.name
        {
            errors.push(&def.name, "port", format!("{} is already used by {other}", def.port));
        }
    }
    check_release(catalogue, &names, &mut errors);

    let mut services: Vec<Service> =
        catalogue.services.iter().filter_map(|def| check_service(catalogue, def, &mut errors)).collect();
    // Each edge has two ends: the callee learns its callers here, once every edge is checked.
    let callers: Vec<Vec<String>> = services
        .iter()
        .map(|callee| services.iter().filter(|s| s.calls.iter().any(|(n, _)| *n == callee.name)))
        .map(|callers| callers.map(|s| s.name.clone()).collect())
        .collect();
    for (service, callers) in services.iter_mut().zip(callers) {
        service.callers = callers;
    }
    check_bounds(&catalogue.platform, &services, &mut errors);
    check_pools(catalogue, &mut errors);
    // An Ingress routes to the one public service: with none it routes nowhere, with two it
    // could not say which.
    let public: Vec<&str> = catalogue.services.iter().filter(|s| s.public.is_some()).map(|s| s.name.as_str()).collect();
    for env in catalogue.platform.environments.iter().filter(|e| e.ingress.is_some()) {
        // An empty catalogue is reported on its own.
        if public.len() != 1 && !catalogue.services.is_empty() {
            errors.push(
                "platform",
                &format!("{}.ingress", env.name),
                format!(
                    "routes to the catalogue's public service, but {} services are public ({public:?})",
                    public.len()
                ),
            );
        }
    }
    let pools = catalogue
        .platform
        .environments
        .iter()
        .filter_map(|e| Some((e.name.clone(), Pool::check(&e.pool).ok()?)))
        .collect();
    errors.into_result(Model { platform: catalogue.platform.clone(), services, pools })
}

/// The release file against the platform and the services: a mapping for every environment of
/// the platform and none for another, and no tag for a service the catalogue lacks. Each service's
/// own tags are checked with the service.
fn check_release(catalogue: &Catalogue, services: &BTreeSet<&str>, errors: &mut Errors) {
    let release = &catalogue.release;
    if release.unreadable.is_some() {
        return;
    }
    for (env, tags) in &release.environments {
        if catalogue.platform.environment(env).is_none() {
            // Its tags would deploy nowhere: a typo for an environment's name, or one removed.
            errors.push(
                "release",
                "images.yaml",
                format!("{env}: not an environment of the platform: remove its tags, or add the environment"),
            );
            continue;
        }
        for service in tags.keys().filter(|s| !services.contains(s.as_str())) {
            errors.push(
                service,
                &format!("{env}.image.tag"),
                "images.yaml pins a tag for it, but the catalogue has no service of that name",
            );
        }
    }
    for env in &catalogue.platform.environments {
        if release.tags_for(&env.name).is_none() {
            errors.push(
                "release",
                "images.yaml",
                format!(
                    "{0}: no tags for this environment of the platform: add a `{0}:` mapping with a tag for each service",
                    env.name
                ),
            );
        }
    }
}

/// The replica bounds each environment gives each service, where the environment overrides the
/// service's own (those are checked with the service): what its HPA and PDB will render.
fn check_bounds(platform: &Platform, services: &[Service], errors: &mut Errors) {
    for env in platform.environments.iter().filter(|e| e.scale != Default::default()) {
        for s in services {
            let b = s.bounds(env);
            let field = |f: &str| format!("{}.{f}", env.name);
            if b.min_replicas < 1 {
                errors.push(&s.name, &field("autoscaling.minReplicas"), format!("{} is below 1", b.min_replicas));
            } else if b.min_replicas > b.max_replicas {
                errors.push(
                    &s.name,
                    &field("autoscaling.maxReplicas"),
                    format!("{} is below minReplicas {}", b.max_replicas, b.min_replicas),
                );
            }
            if b.min_available < 1 {
                errors.push(
                    &s.name,
                    &field("podDisruptionBudget.minAvailable"),
                    format!("{} is below 1", b.min_available),
                );
            } else if b.min_available >= b.min_replicas {
                errors.push(
                    &s.name,
                    &field("podDisruptionBudget.minAvailable"),
                    format!(
                        "{} is not below the HPA's minReplicas {} (node drains would block)",
                        b.min_available, b.min_replicas
                    ),
                );
            }
        }
    }
}

/// How an environment schedules, rolls out and stops its pods: values the API server would
/// refuse, or that would hang a rollout or cut a shutdown short.
fn check_rollout(env: &Environment, errors: &mut Errors) {
    let field = |f: &str| format!("{}.{f}", env.name);
    let s = &env.scheduling;
    if s.max_skew < 1 {
        errors.push("platform", &field("scheduling.maxSkew"), format!("{} is below 1", s.max_skew));
    }
    for (name, placement) in [("antiAffinity", s.anti_affinity), ("zoneSpread", s.zone_spread)] {
        if let Placement::Preferred(weight) = placement
            && !(1..=100).contains(&weight)
        {
            errors.push("platform", &field(&format!("scheduling.{name}")), format!("weight {weight} is outside 1–100"));
        }
    }
    if s.max_surge < 0 || s.max_unavailable < 0 {
        errors.push("platform", &field("scheduling.maxSurge"), "maxSurge and maxUnavailable may not be negative");
    } else if s.max_surge == 0 && s.max_unavailable == 0 {
        errors.push(
            "platform",
            &field("scheduling.maxUnavailable"),
            "maxSurge and maxUnavailable are both 0: no rollout could start",
        );
    }
    if s.min_ready_seconds < 0 {
        errors.push("platform", &field("scheduling.minReadySeconds"), format!("{} is negative", s.min_ready_seconds));
    }
    let d = &env.shutdown;
    if d.pre_stop_sleep_seconds < 0 {
        errors.push(
            "platform",
            &field("shutdown.preStopSleepSeconds"),
            format!("{} is negative", d.pre_stop_sleep_seconds),
        );
    } else if d.termination_grace_period_seconds <= d.pre_stop_sleep_seconds {
        errors.push(
            "platform",
            &field("shutdown.terminationGracePeriodSeconds"),
            format!(
                "{} s leaves no time after the {} s preStop sleep",
                d.termination_grace_period_seconds, d.pre_stop_sleep_seconds
            ),
        );
    }
}

/// The mistakes of the platform's service defaults, as (field, message) the way a service that
/// inherits them would be told (`probes.liveness.periodSeconds`, …).
fn default_problems(platform: &Platform) -> Vec<(String, String)> {
    let mut problems = Errors::default();
    // The cold start is each service's own: the startup budget is checked per service.
    check_probes("platform", &platform.defaults.probes, 0, &mut problems);
    check_security("platform", &platform.defaults.security, &mut problems);
    problems.0.into_iter().map(|e| (e.field, e.message)).collect()
}

/// The platform's service defaults, once, each mistake at its field under `defaults.`.
fn check_defaults(platform: &Platform, errors: &mut Errors) {
    for (field, message) in default_problems(platform) {
        errors.push("platform", &format!("defaults.{field}"), message);
    }
}

fn check_platform(platform: &Platform, errors: &mut Errors) {
    check_secret_source(&platform.secrets, errors);
    if let Some(aws) = &platform.aws {
        check_aws(aws, errors);
    } else if matches!(platform.secrets.store.scope, StoreScope::Namespace(_)) {
        errors.push(
            "platform",
            "secrets.store.scope",
            "a namespaced store reads as an IAM role of the platform's account: declare `aws`",
        );
    }
    check_stores(platform, errors);
    check_defaults(platform, errors);
    // Every object carries these two as labels.
    for (field, value) in [("partOf", &platform.part_of), ("managedBy", &platform.managed_by)] {
        if let Some(problem) = label_value_problem(value) {
            errors.push("platform", field, problem);
        }
    }
    // Images are `<registry>/<service>`: checked with a service name after it, since a registry
    // may be a bare host (`registry.example.com`).
    if image_repository_problem(&format!("{}/service", platform.registry)).is_some() || platform.registry.is_empty() {
        errors.push(
            "platform",
            "registry",
            format!(
                "{:?} is not a valid image registry: images are <registry>/<service>, lower-case letters and digits \
                 joined by '.', '_', '__' or '-' in '/'-separated components, after an optional host[:port]",
                platform.registry
            ),
        );
    }
    let mut names = BTreeSet::new();
    for env in &platform.environments {
        let field = |f: &str| format!("{}.{f}", env.name);
        if let Some(problem) = dns_label_problem(&env.name) {
            errors.push("platform", "environment.name", format!("{:?}: {problem}", env.name));
        }
        if !names.insert(env.name.as_str()) {
            errors.push("platform", &field("name"), "duplicate environment name");
        }
        for (key, _) in platform.runtime.keys.iter().filter(|(_, s)| *s == Setting::PerStageOrigin) {
            let origin = env.stage.setting(key).unwrap_or_default();
            if !is_https_origin(origin) {
                errors.push(
                    "platform",
                    &field(&format!("settings.{key}")),
                    format!(
                        "{origin:?} is not an https:// origin (https://host[:port]: no path, wildcard, list or \
                         credentials)"
                    ),
                );
            }
        }
        if let Some(problem) = dns_label_problem(&env.namespace) {
            errors.push("platform", &field("namespace"), problem);
        }
        check_rollout(env, errors);
        // The pool the capacity table and lint count against.
        if let Err(problems) = Pool::check(&env.pool) {
            for (f, problem) in problems {
                errors.push("platform", &field(f), problem);
            }
        }
        if let Some(problem) = dns_label_problem(&env.data_namespace) {
            errors.push("platform", &field("dataNamespace"), problem);
        } else {
            // The policies open the data stores' ports towards the data namespace only: a host
            // in another namespace would be unreachable, and the policy would not say why.
            for (store, host) in &env.stage.store_hosts {
                if let Some(namespace) = cluster_namespace(host).filter(|ns| *ns != env.data_namespace) {
                    errors.push(
                        "platform",
                        &field(&format!("storeHosts.{store}")),
                        format!(
                            "{host:?} is in namespace {namespace}, but the network policies open the data \
                             stores only in the data namespace {}",
                            env.data_namespace
                        ),
                    );
                }
            }
        }
        if let Some(ingress) = &env.ingress {
            check_ingress(env, ingress, errors);
        }
        if let Some(c) = &env.collector {
            if let Some(problem) = dns_label_problem(&c.namespace) {
                errors.push("platform", &field("collector.namespace"), problem);
            }
            if let Some(problem) = label_value_problem(&c.pod_label.1) {
                errors.push("platform", &field("collector.podLabel"), problem);
            }
            if c.port == 0 {
                errors.push("platform", &field("collector.port"), "0 is outside 1–65535");
            }
        }
        // Node affinity matches these against node labels: each must be a label value.
        for (key, value) in &env.scheduling.node_selector {
            if let Some(problem) = label_value_problem(value) {
                errors.push("platform", &field(&format!("nodeSelector.{key}")), problem);
            }
        }
    }
    let stages = std::iter::once(("base", &platform.base))
        .chain(platform.environments.iter().map(|e| (e.name.as_str(), &e.stage)));
    for (stage, s) in stages {
        // `None` leaves the count to the HPA; a count that is there must be at least 1.
        if let Some(n) = s.replicas.filter(|n| *n < 1) {
            errors.push("platform", &format!("{stage}.replicas"), format!("{n} is below 1"));
        }
        // The stages' strings reach every ConfigMap as they are.
        let strings = s
            .settings
            .iter()
            .map(|(k, v)| (format!("settings.{k}"), v))
            .chain(s.store_hosts.iter().map(|(k, v)| (format!("storeHosts.{k}"), v)));
        for (field, value) in strings {
            if let Some(problem) = uncarried_character_problem(value) {
                errors.push("platform", &format!("{stage}.{field}"), format!("the value {problem}"));
            }
            // Nothing secret may ride in on them either.
            if has_url_credentials(value) || value.contains('@') {
                errors.push(
                    "platform",
                    &format!("{stage}.{field}"),
                    "carries credentials: reference them from each service's secret instead of generating them",
                );
            }
        }
        // Every per-stage key has its value here, and every store its host; nothing else.
        for (key, _) in
            platform.runtime.keys.iter().filter(|(_, v)| matches!(v, Setting::PerStage | Setting::PerStageOrigin))
        {
            if s.setting(key).is_none() {
                errors.push("platform", &format!("{stage}.settings.{key}"), "missing: the runtime reads it per stage");
            }
        }
        for (key, _) in &s.settings {
            if !platform
                .runtime
                .keys
                .iter()
                .any(|(k, v)| k == key && matches!(v, Setting::PerStage | Setting::PerStageOrigin))
            {
                errors.push("platform", &format!("{stage}.settings.{key}"), "not a per-stage key of the runtime");
            }
        }
        for store in &platform.stores {
            if s.store_host(&store.name).is_none() {
                errors.push(
                    "platform",
                    &format!("{stage}.storeHosts.{}", store.name),
                    "missing: no host for the store",
                );
            }
        }
        for (name, _) in &s.store_hosts {
            if platform.store(name).is_none() {
                errors.push("platform", &format!("{stage}.storeHosts.{name}"), "not a data store of the platform");
            }
        }
        // The stage's shared requests and limits replace every service's own: they obey the same
        // rules.
        if let Some((cpu, memory)) = &s.resources {
            resources("platform", &format!("{stage}.resources.cpu"), cpu, Quantity::cpu, errors);
            resources("platform", &format!("{stage}.resources.memory"), memory, Quantity::memory, errors);
        }
    }
}

/// The account the overlays pull from and assume roles in: ECR's host and IAM's ARNs are made of
/// these, and a wrong shape would render names no registry or role answers to.
fn check_aws(aws: &Aws, errors: &mut Errors) {
    if aws.account_id.len() != 12 || !aws.account_id.bytes().all(|b| b.is_ascii_digit()) {
        errors.push("platform", "aws.accountId", format!("{:?} is not an AWS account id (12 digits)", aws.account_id));
    }
    if !is_aws_region(&aws.region) {
        errors.push(
            "platform",
            "aws.region",
            format!(
                "{:?} is not an AWS region (<area>-<direction>-<digit>, e.g. eu-west-2 or us-gov-east-1)",
                aws.region
            ),
        );
    }
    if image_repository_problem(&format!("{}/library/postgres", aws.docker_hub_cache)).is_some()
        || aws.docker_hub_cache.is_empty()
    {
        errors.push(
            "platform",
            "aws.dockerHubCache",
            format!("{:?} is not a repository prefix of the registry", aws.docker_hub_cache),
        );
    }
}

/// `eu-west-2`, `ap-southeast-1`, `us-gov-east-1`: a lower-case area, an optional `gov` or
/// `iso` partition, a direction, a digit.
fn is_aws_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let lower = |p: &str| p.len() >= 2 && p.bytes().all(|b| b.is_ascii_lowercase());
    let digit = |p: &str| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit());
    const DIRECTIONS: [&str; 10] = [
        "north",
        "south",
        "east",
        "west",
        "central",
        "northeast",
        "northwest",
        "southeast",
        "southwest",
        "northcentral",
    ];
    let direction = |p: &str| DIRECTIONS.contains(&p);
    match parts.as_slice() {
        [area, dir, n] => lower(area) && direction(dir) && digit(n),
        [area, partition, dir, n] => lower(area) && ["gov", "iso"].contains(partition) && direction(dir) && digit(n),
        _ => false,
    }
}

/// The Ingress of an environment: it routes to the catalogue's public service, on a host and a
/// path the API accepts, with a class the controller answers to.
fn check_ingress(env: &Environment, ingress: &IngressDef, errors: &mut Errors) {
    let field = |f: &str| format!("{}.ingress.{f}", env.name);
    if let Some(problem) = dns_subdomain_problem(&ingress.class) {
        errors.push("platform", &field("class"), problem);
    }
    if let Some(problem) = dns_subdomain_problem(&ingress.host) {
        errors.push("platform", &field("host"), problem);
    } else if !ingress.host.contains('.') {
        errors.push("platform", &field("host"), format!("{:?} is not a fully qualified host", ingress.host));
    }
    if !ingress.path.starts_with('/') {
        errors.push("platform", &field("path"), format!("{:?} is not an absolute path", ingress.path));
    }
    for (key, value) in &ingress.annotations {
        if let Some(problem) = uncarried_character_problem(value) {
            errors.push("platform", &field(&format!("annotations.{key}")), format!("the value {problem}"));
        }
    }
}

/// Each service's pool size, and each environment's connection limits: a pool of 0 would leave
/// the service no connection at all, a size set for a service without a pooled store would be
/// read by nothing, and a limit must leave room after what it reserves.
fn check_pools(catalogue: &Catalogue, errors: &mut Errors) {
    let platform = &catalogue.platform;
    for def in &catalogue.services {
        let pooled = platform.stores.iter().any(|st| st.pool.is_some() && def.uses_store(&st.name));
        match def.pool_size {
            Some(0) => errors.push(&def.name, "poolSize", "0 is below 1: its pods could open no connection"),
            Some(n) if !pooled => errors.push(
                &def.name,
                "poolSize",
                format!("{n} is set, but the service uses no store with a connection pool"),
            ),
            _ => {}
        }
    }
    for store in &platform.stores {
        if store.pool.as_ref().is_some_and(|p| p.default_size == 0) {
            errors.push(
                "platform",
                &format!("stores.{}.pool.defaultSize", store.name),
                "0 is below 1: its users could open no connection",
            );
        }
        if let Some(problem) = store.pool.as_ref().and_then(|p| config_key_problem(&p.config_key)) {
            errors.push("platform", &format!("stores.{}.pool.configKey", store.name), problem);
        }
    }
    for env in &platform.environments {
        for (name, limit) in &env.connection_limits {
            let field = format!("{}.connectionLimits.{name}", env.name);
            match platform.store(name) {
                None => errors.push("platform", &field, format!("{name} is not a data store of the platform")),
                Some(st) if st.pool.is_none() => errors.push(
                    "platform",
                    &field,
                    format!("{name} declares no connection pool: there is nothing to budget"),
                ),
                Some(_) if limit.reserved >= limit.max_connections => errors.push(
                    "platform",
                    &field,
                    format!(
                        "reserved {} leaves nothing of max_connections {} for the services",
                        limit.reserved, limit.max_connections
                    ),
                ),
                Some(_) => {}
            }
        }
    }
}

/// The longest migration step name: a Job `<service>-<name>-<10 hex>` then keeps at least 11
/// characters of the service's name within 63.
const MIGRATION_NAME_LIMIT: usize = 40;

/// Each data store: a name the wait container's name can carry, an image, a port, address keys
/// and a wait; at most one of a name.
fn check_stores(platform: &Platform, errors: &mut Errors) {
    let mut names = BTreeSet::new();
    for store in &platform.stores {
        let field = |f: &str| format!("stores.{}.{f}", store.name);
        if let Some(problem) = dns_label_problem(&format!("wait-for-{}", store.name)) {
            errors.push("platform", &field("name"), problem);
        }
        if !names.insert(store.name.as_str()) {
            errors.push("platform", &field("name"), "duplicate data store name");
        }
        if !(1..=65535).contains(&store.port) {
            errors.push("platform", &field("port"), format!("{} is outside 1–65535", store.port));
        }
        if store.image.trim().is_empty() {
            errors.push("platform", &field("image"), "no image: the wait runs the store's own client");
        }
        if store.ready.trim().is_empty() {
            errors.push("platform", &field("ready"), "no wait command: say how an attempt knows the store is up");
        }
        for (f, key) in [("hostKey", &store.host_key), ("portKey", &store.port_key)] {
            if let Some(problem) = config_key_problem(key) {
                errors.push("platform", &field(f), problem);
            }
        }
        if let Some(m) = &store.migration {
            if m.command.is_empty() {
                errors.push("platform", &field("migration.command"), "empty: say what runs the migrations");
            }
            if let Some(problem) = dns_label_problem(&m.name) {
                errors.push("platform", &field("migration.name"), problem);
            } else if m.name.len() > MIGRATION_NAME_LIMIT {
                // `<service>-<name>-<hash>` must keep room for a service name within 63 characters.
                errors.push(
                    "platform",
                    &field("migration.name"),
                    format!("{:?} is longer than {MIGRATION_NAME_LIMIT} characters", m.name),
                );
            }
            if m.backoff_limit < 0 {
                errors.push("platform", &field("migration.backoffLimit"), format!("{} is negative", m.backoff_limit));
            }
            if m.active_deadline_seconds < 1 {
                errors.push(
                    "platform",
                    &field("migration.activeDeadlineSeconds"),
                    format!("{} is below 1: the Job could never run", m.active_deadline_seconds),
                );
            }
            if m.ttl_seconds_after_finished < 0 {
                errors.push(
                    "platform",
                    &field("migration.ttlSecondsAfterFinished"),
                    format!("{} is negative", m.ttl_seconds_after_finished),
                );
            }
        }
    }
    if platform.scanner_exceptions.declared.iter().any(|(_, reason)| reason.contains('=')) {
        errors.push(
            "platform",
            "scannerExceptions",
            "a reason contains '=': checkov splits ID=reason at the first one",
        );
    }
}

/// The settings every ExternalSecret is built from: a store the API accepts by name, a key
/// prefix AWS Secrets Manager accepts in a secret's name, and an interval that refreshes.
fn check_secret_source(source: &SecretSource, errors: &mut Errors) {
    if let Some(problem) = dns_subdomain_problem(&source.store.name) {
        errors.push("platform", "secrets.store.name", problem);
    }
    // Secrets Manager names: letters, digits and `/_+=.@-`; the prefix is whole path segments,
    // so that `<prefix>/<environment>/<service>` has no empty one.
    let segment_ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_+=.@-".contains(c));
    if !source.key_prefix.split('/').all(segment_ok) {
        errors.push(
            "platform",
            "secrets.keyPrefix",
            format!(
                "{:?} is not a Secrets Manager name prefix (non-empty segments of letters, digits and \
                 _+=.@- joined by '/')",
                source.key_prefix
            ),
        );
    }
    if let StoreScope::Namespace(identity) = &source.store.scope {
        if let Some(problem) = dns_subdomain_problem(&identity.service_account) {
            errors.push("platform", "secrets.store.serviceAccount", problem);
        }
        // One role for every environment would let each read the others' entries.
        let role_ok = |r: &str| {
            !r.is_empty() && r.len() <= 64 && r.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
        };
        if !identity.role.contains(ENVIRONMENT_PLACEHOLDER) {
            errors.push(
                "platform",
                "secrets.store.role",
                format!(
                    "{:?} names one role for every environment: put {ENVIRONMENT_PLACEHOLDER} in it",
                    identity.role
                ),
            );
        } else if !role_ok(&identity.role_in("production")) {
            errors.push(
                "platform",
                "secrets.store.role",
                format!("{:?} is not an IAM role name (at most 64 of letters, digits and +=,.@_-)", identity.role),
            );
        }
    }
    // An interval of zero would stop ESO refreshing: a rotated secret would never reach the pods.
    if let Some(problem) = duration_problem(&source.refresh_interval) {
        errors.push("platform", "secrets.refreshInterval", problem);
    }
}

fn check_service(catalogue: &Catalogue, def: &ServiceDef, errors: &mut Errors) -> Option<Service> {
    let before = errors.0.len();
    let name = def.name.as_str();
    if let Some(problem) = dns_label_problem(name) {
        errors.push(name, "name", problem);
    }
    let port = match u16::try_from(def.port) {
        Ok(p) if p >= 1 => p,
        _ => {
            errors.push(name, "port", format!("{} is outside 1–65535", def.port));
            0
        }
    };

    let last_segment = def.image.rsplit('/').next().unwrap_or_default();
    if def.image.is_empty() {
        errors.push(name, "image", "the image repository is empty");
    } else if last_segment.contains([':', '@']) {
        errors.push(
            name,
            "image",
            format!("{:?} has a tag inside: name the repository only; tags live in images.yaml", def.image),
        );
    } else if let Some(problem) = image_repository_problem(&def.image) {
        errors.push(name, "image", problem);
    }
    let mut tags = BTreeMap::new();
    for env in &catalogue.platform.environments {
        let field = format!("{}.image.tag", env.name);
        // An unreadable file, or an environment without a mapping, is reported once, above, not
        // once a service.
        let Some(pinned) = catalogue.release.tags_for(&env.name) else { continue };
        match pinned.get(name) {
            None => errors.push(
                name,
                &field,
                format!("no tag in images.yaml: pin one in its `{}:` mapping, e.g. {name}: \"1.0.0\"", env.name),
            ),
            Some(text) => {
                if let Ok(tag) = ImageTag::parse(text).map_err(|e| errors.push(name, &field, e)) {
                    // The tag is also the app.kubernetes.io/version label: a semantic version
                    // may end in '-' (`1.0.0-rc-`), a label value may not.
                    match label_value_problem(&tag.label_value()) {
                        Some(problem) => errors.push(name, &field, format!("as the version label, {problem}")),
                        None => {
                            tags.insert(env.name.clone(), tag);
                        }
                    }
                }
            }
        }
    }

    let cpu = resources(name, "resources.cpu", &def.cpu, Quantity::cpu, errors);
    let memory = resources(name, "resources.memory", &def.memory, Quantity::memory, errors);
    check_autoscaling(name, &def.autoscaling, def.min_available, errors);
    // A mistake the service inherited from the platform's defaults is the platform's, reported
    // once there (see `check_defaults`); its own mistakes are its own.
    let mut own = Errors::default();
    check_probes(name, &def.probes, def.cold_start_seconds, &mut own);
    check_security(name, &def.security, &mut own);
    let inherited = default_problems(&catalogue.platform);
    errors.0.extend(own.0.into_iter().filter(|e| !inherited.contains(&(e.field.clone(), e.message.clone()))));

    let calls = check_edges(catalogue, def, errors);
    if def.public.as_ref().is_some_and(|reason| reason.trim().is_empty()) {
        errors.push(name, "public", "a public port needs a reason: say who reaches it from where");
    }
    let upstreams: Vec<(String, String)> = if def.uses.contains(&Uses::AllServices) {
        calls.iter().map(|(s, port)| (upstream_key(s), format!("http://{s}:{port}"))).collect()
    } else {
        Vec::new()
    };
    check_config(&catalogue.platform, name, def, &upstreams, errors);

    if errors.0.len() != before {
        return None;
    }
    Some(Service {
        name: def.name.clone(),
        summary: def.summary.clone(),
        port,
        image: def.image.clone(),
        tags,
        cpu: cpu?,
        memory: memory?,
        autoscaling: def.autoscaling,
        min_available: def.min_available,
        probes: def.probes.clone(),
        uses: def.uses.clone(),
        stores: catalogue.platform.stores.iter().filter(|st| def.uses_store(&st.name)).cloned().collect(),
        calls,
        callers: Vec::new(),
        public: def.public.clone(),
        config: def.config.clone(),
        upstreams,
        security: def.security,
        pool_size: def.pool_size,
    })
}

/// The services `def` calls, with their ports, each edge checked against the catalogue (an edge
/// to an unknown service names both ends).
fn check_edges(catalogue: &Catalogue, def: &ServiceDef, errors: &mut Errors) -> Vec<(String, u16)> {
    let name = def.name.as_str();
    let port_of = |s: &ServiceDef| u16::try_from(s.port).unwrap_or(0);
    let mut calls: Vec<(String, u16)> = Vec::new();
    let mut add = |target: &ServiceDef| {
        // A duplicate name is reported on its own: one edge to it is enough.
        if !calls.iter().any(|(n, _)| *n == target.name) {
            calls.push((target.name.clone(), port_of(target)));
        }
    };
    for edge in &def.uses {
        match edge {
            Uses::Store(store) => {
                if catalogue.platform.store(store).is_none() {
                    let known: Vec<&str> = catalogue.platform.stores.iter().map(|s| s.name.as_str()).collect();
                    errors.push(
                        name,
                        "uses",
                        format!("{name} -> {store}: not a data store of the platform (known: {})", known.join(", ")),
                    )
                }
            }
            Uses::AllServices => catalogue.services.iter().filter(|s| s.name != name).for_each(&mut add),
            Uses::Service(target) if target == name => errors.push(
                name,
                "uses",
                format!("{name} -> {target}: a service does not call itself over the network"),
            ),
            Uses::Service(target) => match catalogue.services.iter().find(|s| s.name == *target) {
                Some(s) => add(s),
                None => {
                    errors.push(name, "uses", format!("{name} -> {target}: {target} is not a service of the catalogue"))
                }
            },
            Uses::ExternalHttps(reason) if reason.trim().is_empty() => {
                errors.push(name, "uses", "ExternalHttps needs a reason: say which provider it reaches")
            }
            Uses::ExternalHttps(_) => {}
        }
    }
    let mut seen = BTreeSet::new();
    for edge in &def.uses {
        if !seen.insert(edge) {
            let edge = match edge {
                Uses::Store(store) => format!("the store {store}"),
                Uses::Service(service) => format!("the service {service}"),
                Uses::AllServices => "AllServices".to_owned(),
                Uses::ExternalHttps(reason) => format!("ExternalHttps({reason:?})"),
            };
            errors.push(name, "uses", format!("{edge} is declared twice"));
        }
    }
    calls
}

fn resources(
    name: &str,
    field: &str,
    req: &Resources,
    parse: fn(&str) -> Result<Quantity, String>,
    errors: &mut Errors,
) -> Option<Resources<Quantity>> {
    let mut one = |what: &str, text: &Option<String>| match text {
        None => {
            errors.push(name, field, format!("{what} is missing: every container needs a request and a limit"));
            None
        }
        Some(t) => parse(t).map_err(|e| errors.push(name, field, format!("{what} {e}"))).ok(),
    };
    let request = one("request", &req.request);
    let limit = one("limit", &req.limit);
    let (request, limit) = (request?, limit?);
    if request.base_units() > limit.base_units() {
        errors.push(name, field, format!("request {request} exceeds limit {limit}"));
        return None;
    }
    Some(Resources { request, limit })
}

fn check_autoscaling(name: &str, a: &Autoscaling, min_available: i32, errors: &mut Errors) {
    if a.min_replicas < 1 {
        errors.push(name, "autoscaling.minReplicas", format!("{} is below 1", a.min_replicas));
    }
    if a.min_replicas > a.max_replicas {
        errors.push(
            name,
            "autoscaling.maxReplicas",
            format!("{} is below minReplicas {}", a.max_replicas, a.min_replicas),
        );
    }
    for (field, value) in [("autoscaling.cpuPercent", a.cpu_percent), ("autoscaling.memoryPercent", a.memory_percent)] {
        if !(1..=100).contains(&value) {
            errors.push(name, field, format!("{value} is outside 1–100"));
        }
    }
    if !(0..=3600).contains(&a.scale_down_window_seconds) {
        errors.push(
            name,
            "autoscaling.scaleDownWindowSeconds",
            format!("{} is outside 0–3600", a.scale_down_window_seconds),
        );
    }
    let up = &a.scale_up;
    if !(0..=3600).contains(&up.window_seconds) {
        errors.push(name, "autoscaling.scaleUp.windowSeconds", format!("{} is outside 0–3600", up.window_seconds));
    }
    for (field, value) in [("autoscaling.scaleUp.pods", up.pods), ("autoscaling.scaleUp.percent", up.percent)] {
        if value < 1 {
            errors.push(name, field, format!("{value} is below 1: the HPA could never scale up"));
        }
    }
    // The API's bounds of a policy's period.
    if !(1..=1800).contains(&up.period_seconds) {
        errors.push(name, "autoscaling.scaleUp.periodSeconds", format!("{} is outside 1–1800", up.period_seconds));
    }
    if min_available < 1 {
        errors.push(name, "podDisruptionBudget.minAvailable", format!("{min_available} is below 1"));
    } else if min_available >= a.min_replicas {
        errors.push(
            name,
            "podDisruptionBudget.minAvailable",
            format!("{min_available} is not below the HPA's minReplicas {} (node drains would block)", a.min_replicas),
        );
    }
}

fn check_probes(name: &str, probes: &Probes, cold_start_seconds: i32, errors: &mut Errors) {
    let all: [(&str, &Probe); 3] =
        [("liveness", &probes.liveness), ("readiness", &probes.readiness), ("startup", &probes.startup)];
    for (kind, p) in all {
        if !p.path.starts_with('/') {
            errors.push(
                name,
                &format!("probes.{kind}.path"),
                format!("{:?} is not an absolute path (expected one starting with '/')", p.path),
            );
        }
        let timings = [
            ("periodSeconds", Some(p.period_seconds)),
            ("timeoutSeconds", p.timeout_seconds),
            ("failureThreshold", Some(p.failure_threshold)),
        ];
        for (field, value) in timings {
            if let Some(v) = value.filter(|v| *v < 1) {
                errors.push(name, &format!("probes.{kind}.{field}"), format!("{v} is not at least 1"));
            }
        }
    }
    let s = &probes.startup;
    let budget = i64::from(s.period_seconds) * i64::from(s.failure_threshold);
    if s.period_seconds >= 1 && s.failure_threshold >= 1 && budget < i64::from(cold_start_seconds) {
        errors.push(
            name,
            "probes.startup",
            format!(
                "periodSeconds {} × failureThreshold {} = {budget} s is under the {cold_start_seconds} s cold start the service needs",
                s.period_seconds, s.failure_threshold
            ),
        );
    }
}

fn check_security(name: &str, s: &Security, errors: &mut Errors) {
    let mut bad = |field: &str, message: &str| errors.push(name, &format!("security.{field}"), message);
    let ids = [
        ("runAsUser", s.run_as_user, "0 runs as root"),
        ("runAsGroup", s.run_as_group, "0 runs with the root group"),
        ("fsGroup", s.fs_group, "0 gives volumes to the root group"),
    ];
    for (field, id, root) in ids {
        if id == 0 {
            bad(field, root);
        } else if !(1..=i64::from(i32::MAX)).contains(&id) {
            // Kubernetes takes user and group IDs from 0 to 2^31 - 1.
            bad(field, &format!("{id} is outside 1–2147483647"));
        }
    }
    if !s.run_as_non_root {
        bad("runAsNonRoot", "must be true");
    }
    if s.privileged {
        bad("privileged", "must be false");
    }
    if s.allow_privilege_escalation {
        bad("allowPrivilegeEscalation", "must be false");
    }
    if !s.read_only_root_filesystem {
        bad("readOnlyRootFilesystem", "must be true (a writable emptyDir is mounted at /tmp)");
    }
    if !s.drop_all_capabilities {
        bad("capabilities.drop", "must drop ALL");
    }
    if !s.seccomp_runtime_default {
        bad("seccompProfile", "must be RuntimeDefault");
    }
    if s.automount_service_account_token {
        bad("automountServiceAccountToken", "must be false: the services do not call the Kubernetes API");
    }
}

fn check_config(
    platform: &Platform,
    name: &str,
    def: &ServiceDef,
    upstreams: &[(String, String)],
    errors: &mut Errors,
) {
    let mut seen: BTreeMap<&str, &str> =
        platform_config_keys(platform, &def.uses).into_iter().map(|k| (k, "the platform")).collect();
    for (key, url) in upstreams {
        if seen.insert(key, "the gateway's routes").is_some() {
            // Two services whose names differ only by "-service" (or by '-' and '_') would share
            // a key, and one URL would silently win.
            errors.push(name, &format!("config.{key}"), format!("two services map to this route key ({url} is one)"));
        }
    }
    for (key, value) in &def.config {
        let field = format!("config.{key}");
        if let Some(problem) = config_key_problem(key) {
            errors.push(name, &field, problem);
        } else if let Some(owner) = seen.insert(key, "this service") {
            errors.push(name, &field, format!("duplicate key (already set by {owner})"));
        }
        // A key declared not secret skips the name's markers only: its value is checked like
        // any other, so a credential cannot ride in under an excused name.
        let excused = def.not_secret.iter().any(|(k, _)| k == key);
        if let Some(marker) = secret_marker(key).filter(|_| !excused) {
            errors.push(
                name,
                &field,
                format!("looks secret ({marker}): reference it from {name}-secret instead of generating it"),
            );
        } else if let Some(problem) = secret_value(value) {
            errors.push(
                name,
                &field,
                format!("the value {problem}: reference it from {name}-secret instead of generating it"),
            );
        }
        if let Some(problem) = uncarried_character_problem(value) {
            errors.push(name, &field, format!("the value {problem}"));
        }
    }
    // Each excuse must be reviewable and still needed, or it hides the next real secret.
    for (key, reason) in &def.not_secret {
        let field = format!("config.{key}");
        if reason.trim().is_empty() {
            errors.push(name, &field, "declared not secret without a reason: say why the name misleads");
        }
        if !def.config.iter().any(|(k, _)| k == key) {
            errors.push(name, &field, "declared not secret, but the service sets no such key");
        } else if secret_marker(key).is_none() {
            errors.push(name, &field, "declared not secret, but its name does not look secret: drop the declaration");
        }
    }
}

/// Why Kubernetes would reject `key` as a ConfigMap key (`IsConfigMapKey`), or `None`.
fn config_key_problem(key: &str) -> Option<String> {
    let chars_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    if !chars_ok || key.len() > 253 {
        Some(format!("{key:?} is not a valid ConfigMap key ([-._a-zA-Z0-9]+, at most 253 characters)"))
    } else if key == "." || key.starts_with("..") {
        Some(format!("{key:?} is not a valid ConfigMap key (it may not be '.' or start with '..')"))
    } else {
        None
    }
}

/// The namespace of an in-cluster Service host, `<service>.<namespace>.svc[.<cluster domain>]`;
/// `None` for any other host (a bare name, an address, an external DNS name).
fn cluster_namespace(host: &str) -> Option<&str> {
    let mut labels = host.split('.');
    let (_service, namespace, svc) = (labels.next()?, labels.next()?, labels.next()?);
    (svc == "svc").then_some(namespace)
}

/// `https://host[:port]`, the host made of DNS labels.
fn is_https_origin(origin: &str) -> bool {
    let Some(authority) = origin.strip_prefix("https://") else { return false };
    let (host, port) = authority.split_once(':').map_or((authority, None), |(h, p)| (h, Some(p)));
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    !host.is_empty()
        && host.split('.').all(label_ok)
        && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok())
}

/// Whether a URL in `value` carries credentials: `scheme://user[:password]@host…`.
fn has_url_credentials(value: &str) -> bool {
    value_words(value).any(|word| {
        word.split_once("://").is_some_and(|(_, rest)| {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            authority.contains('@')
        })
    })
}

/// Why `value` looks secret whatever its key is called, as "the value …" goes on, or `None`.
fn secret_value(value: &str) -> Option<String> {
    if has_url_credentials(value) {
        return Some("is a URL with credentials".to_owned());
    }
    if has_bare_credentials(value) {
        return Some("carries credentials (user:password@host)".to_owned());
    }
    if let Some(parameter) = password_parameter(value) {
        return Some(format!("carries a password ({parameter}=…)"));
    }
    if has_jwt(value) {
        return Some("looks like a JSON Web Token (eyJ….eyJ….…)".to_owned());
    }
    LIVE_CREDENTIALS.iter().find(|c| c.occurs_in(value)).map(|c| format!("looks like {}", c.what))
}

/// A JSON Web Token anywhere in `value`: two base64url segments that each open a JSON object
/// (`{"` encodes as `eyJ`), then a signature segment, which an unsigned token leaves empty.
fn has_jwt(value: &str) -> bool {
    value.match_indices("eyJ").any(|(at, _)| {
        let word_start = value[..at].bytes().next_back().is_none_or(|b| !is_base64url(&b));
        let segment = |text: &str| text.bytes().take_while(is_base64url).count();
        let rest = &value[at..];
        let header = segment(rest);
        let Some(payload) = rest[header..].strip_prefix('.').filter(|p| p.starts_with("eyJ")) else { return false };
        let claims = segment(payload);
        word_start && header > 3 && claims > 3 && payload[claims..].starts_with('.')
    })
}

/// The alphabet of base64url (RFC 4648 §5), the encoding of JWT segments and most API tokens.
fn is_base64url(b: &u8) -> bool {
    b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'
}

/// The words of a value, where URLs, DSN parts and addresses end.
fn value_words(value: &str) -> impl Iterator<Item = &str> {
    value.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '"' | '\'' | '<' | '>'))
}

/// `user:password@host` without a scheme (a URL with one is [`has_url_credentials`]'s).
/// `name@example.com` is an address and `mailto:name@example.com` a link, not credentials.
fn has_bare_credentials(value: &str) -> bool {
    value_words(value).filter(|w| !w.contains("://") && !w.starts_with("mailto:")).any(|word| {
        let authority = word.split(['/', '?', '#']).next().unwrap_or_default();
        authority.rsplit_once('@').is_some_and(|(user_info, host)| {
            !host.is_empty() && user_info.split_once(':').is_some_and(|(u, p)| !u.is_empty() && !p.is_empty())
        })
    })
}

/// A non-empty `password=…` (or `passwd`, `pwd`, `pass`) parameter of a DSN
/// (`host=db password=…`, `Server=db;Pwd=…`) or a query string (`?user=a&password=…`), as
/// written.
fn password_parameter(value: &str) -> Option<&str> {
    value.split(|c: char| c.is_whitespace() || matches!(c, '?' | '&' | ';' | ',')).find_map(|parameter| {
        let (name, secret) = parameter.split_once('=')?;
        let is_password = ["password", "passwd", "pwd", "pass"].iter().any(|p| name.eq_ignore_ascii_case(p));
        (is_password && !secret.is_empty()).then_some(name)
    })
}

/// A live credential recognised by its shape: `prefix` at the start of a word, followed by at
/// least `min_tail` characters that `tail` accepts.
struct Credential {
    prefix: &'static str,
    min_tail: usize,
    tail: fn(&u8) -> bool,
    what: &'static str,
}

/// Credentials that must never reach a ConfigMap, whatever the key is called: each provider's
/// documented prefix, and the least tail that makes it a credential rather than a word.
const LIVE_CREDENTIALS: [Credential; 19] = [
    Credential {
        prefix: "sk_live_",
        min_tail: 1,
        tail: u8::is_ascii_alphanumeric,
        what: "a Stripe live secret key (sk_live_…)",
    },
    Credential {
        prefix: "rk_live_",
        min_tail: 1,
        tail: u8::is_ascii_alphanumeric,
        what: "a Stripe live restricted key (rk_live_…)",
    },
    Credential { prefix: "AKIA", min_tail: 16, tail: is_upper_or_digit, what: "an AWS access key ID (AKIA…)" },
    Credential {
        prefix: "ASIA",
        min_tail: 16,
        tail: is_upper_or_digit,
        what: "an AWS temporary access key ID (ASIA…)",
    },
    Credential {
        prefix: "whsec_",
        min_tail: 16,
        tail: u8::is_ascii_alphanumeric,
        what: "a Stripe webhook signing secret (whsec_…)",
    },
    Credential {
        prefix: "ghp_",
        min_tail: 1,
        tail: u8::is_ascii_alphanumeric,
        what: "a GitHub personal access token (ghp_…)",
    },
    Credential {
        prefix: "gho_", min_tail: 16, tail: u8::is_ascii_alphanumeric, what: "a GitHub OAuth token (gho_…)"
    },
    Credential {
        prefix: "ghu_",
        min_tail: 16,
        tail: u8::is_ascii_alphanumeric,
        what: "a GitHub user-to-server token (ghu_…)",
    },
    Credential {
        prefix: "ghs_",
        min_tail: 16,
        tail: u8::is_ascii_alphanumeric,
        what: "a GitHub server-to-server token (ghs_…)",
    },
    Credential {
        prefix: "ghr_",
        min_tail: 16,
        tail: u8::is_ascii_alphanumeric,
        what: "a GitHub refresh token (ghr_…)",
    },
    Credential {
        prefix: "github_pat_",
        min_tail: 16,
        tail: is_base64url,
        what: "a GitHub fine-grained access token (github_pat_…)",
    },
    Credential {
        prefix: "glpat-", min_tail: 16, tail: is_base64url, what: "a GitLab personal access token (glpat-…)"
    },
    Credential { prefix: "npm_", min_tail: 32, tail: u8::is_ascii_alphanumeric, what: "an npm access token (npm_…)" },
    Credential { prefix: "AIza", min_tail: 35, tail: is_base64url, what: "a Google API key (AIza…)" },
    Credential { prefix: "xoxb-", min_tail: 1, tail: u8::is_ascii_alphanumeric, what: "a Slack bot token (xoxb-…)" },
    Credential { prefix: "xoxp-", min_tail: 1, tail: u8::is_ascii_alphanumeric, what: "a Slack user token (xoxp-…)" },
    Credential { prefix: "xoxa-", min_tail: 1, tail: u8::is_ascii_alphanumeric, what: "a Slack app token (xoxa-…)" },
    Credential {
        prefix: "xapp-",
        min_tail: 1,
        tail: u8::is_ascii_alphanumeric,
        what: "a Slack app-level token (xapp-…)",
    },
    // Any PEM block, certificates included: private keys' headers vary (RSA, EC, OPENSSH,
    // ENCRYPTED), and PEM belongs in a mounted file, not in an environment variable.
    Credential {
        prefix: "-----BEGIN",
        min_tail: 0,
        tail: u8::is_ascii_alphanumeric,
        what: "a PEM block (-----BEGIN …)",
    },
];

fn is_upper_or_digit(b: &u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

impl Credential {
    fn occurs_in(&self, value: &str) -> bool {
        value.match_indices(self.prefix).any(|(at, _)| {
            // `task_live_…` or `PAKIA…` are words of their own, not credentials.
            let word_start = value[..at].bytes().next_back().is_none_or(|b| !b.is_ascii_alphanumeric() && b != b'_');
            word_start && value[at + self.prefix.len()..].bytes().take_while(self.tail).count() >= self.min_tail
        })
    }
}
