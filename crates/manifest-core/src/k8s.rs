//! Turns a checked [`Service`] into k8s-openapi objects, for the base (development) and for each
//! [`Environment`] of the platform. This is the only layer with `Some(..)` and
//! `..Default::default()`: the service definitions stay spec sheets. An environment's objects
//! are the full intent (what its cluster should run); its overlay's patches are derived from them
//! by [`crate::patch`]. Nothing here names an environment: what differs between them is data.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use hmac_sha256::Hash as Sha256;
use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HPAScalingPolicy, HPAScalingRules, HorizontalPodAutoscaler,
    HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMap, ConfigMapEnvSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvFromSource, EnvVar, HTTPGetAction, Lifecycle, LifecycleHandler, Namespace, NodeAffinity, NodeSelector,
    NodeSelectorRequirement, NodeSelectorTerm, PodAffinityTerm, PodAntiAffinity, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe as K8sProbe, ResourceRequirements, SeccompProfile, SecretEnvSource, SecurityContext,
    Service as K8sService, ServiceAccount, ServicePort, ServiceSpec, SleepAction, TopologySpreadConstraint, Volume,
    VolumeMount, WeightedPodAffinityTerm,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule, IngressServiceBackend, IngressSpec,
    IngressTLS, NetworkPolicy, ServiceBackendPort,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::conventions::{
    BASE_IMAGE_TAG, HTTP_PORT_NAME, NAME_LABEL, RELOADER_SECRET_ANNOTATION, TMP_PATH, TMP_SIZE_LIMIT, TMP_VOLUME,
    init::{self, bounded_wait},
    scanner_annotations,
};
use crate::external_secret::{
    AwsAuth, AwsProvider, AwsService, JwtAuth, Provider, SecretStore, SecretStoreSpec, ServiceAccountRef,
};
use crate::external_secret::{
    CreationPolicy, DataFrom, DeletionPolicy, ExternalSecret, ExternalSecretSpec, Extract, SecretStoreKind,
    SecretStoreRef, Target,
};
use crate::images::pulled_image;
use crate::model::{Model, Service};
use crate::netpol;
use crate::object::Object;
use crate::spec::{
    DataStore, Environment, Migration, Placement, Platform, Probe, Resources, Security, Setting, Stage, StoreScope,
};
use crate::values::Quantity;

/// The base objects of a service: ConfigMap, Service, Deployment (no namespace).
pub fn base_objects(platform: &Platform, service: &Service) -> Vec<Object> {
    let b = Builder::new(platform, service, &platform.base, None);
    vec![b.service_account(), b.config_map(), b.service(), b.deployment()]
}

/// The data of a service's ConfigMap in `env` (the base's when `None`), as its ConfigMap carries it.
pub fn config_data(platform: &Platform, env: Option<&Environment>, service: &Service) -> BTreeMap<String, String> {
    let stage = env.map_or(&platform.base, |e| &e.stage);
    Builder::new(platform, service, stage, env).config_data().clone()
}

/// The objects of a service in `env`, exactly as its cluster should run them: the base objects
/// with the environment's values, the HorizontalPodAutoscaler, PodDisruptionBudget and
/// NetworkPolicy, and the ExternalSecret that provisions the Secret its pods read.
pub fn environment_objects(platform: &Platform, env: &Environment, service: &Service) -> Vec<Object> {
    let b = Builder::new(platform, service, &env.stage, Some(env));
    let mut objects = vec![
        b.service_account(),
        b.config_map(),
        b.service(),
        b.deployment(),
        b.hpa(env),
        b.pdb(env),
        b.network_policy(env),
        b.external_secret(env),
    ];
    objects.extend(b.ingress(env));
    objects.extend(b.migration_jobs(env));
    for o in &mut objects {
        o.metadata_mut().namespace = Some(env.namespace.clone());
    }
    objects
}

/// The objects of `env` that belong to no one service: its Namespace first (a first
/// `kubectl apply -k` on an empty cluster creates it before anything is put in it), then the
/// network policies of every pod (the default deny, DNS), then the environment's own secret
/// store and the ServiceAccount it reads as, when the store is namespaced.
pub fn environment_wide(model: &Model, env: &Environment) -> Vec<Object> {
    let platform = &model.platform;
    let labels = BTreeMap::from([
        ("app.kubernetes.io/part-of".to_owned(), platform.part_of.clone()),
        ("app.kubernetes.io/managed-by".to_owned(), platform.managed_by.clone()),
    ]);
    let meta = |name: &str| ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(env.namespace.clone()),
        labels: Some(labels.clone()),
        ..Default::default()
    };
    let policies = netpol::environment_policies()
        .into_iter()
        .map(|(name, spec)| Object::from(NetworkPolicy { metadata: meta(name), spec: Some(spec) }));
    let mut objects: Vec<Object> = std::iter::once(namespace(env)).chain(policies).collect();
    let store = &platform.secrets.store;
    if let (StoreScope::Namespace(identity), Some(aws)) = (&store.scope, &platform.aws) {
        objects.push(Object::from(ServiceAccount {
            metadata: ObjectMeta {
                // IRSA: the token of this ServiceAccount is exchanged for the environment's role,
                // which reads the environment's entries only.
                annotations: Some(BTreeMap::from([(
                    IRSA_ROLE_ANNOTATION.to_owned(),
                    aws.role_arn(&identity.role_in(&env.name)),
                )])),
                ..meta(&identity.service_account)
            },
            // The operator asks for the token itself (a projected token request): no pod mounts it.
            automount_service_account_token: Some(false),
            ..Default::default()
        }));
        objects.push(Object::from(SecretStore {
            metadata: meta(&store.name),
            spec: SecretStoreSpec {
                provider: Provider {
                    aws: AwsProvider {
                        service: AwsService::SecretsManager,
                        region: aws.region.clone(),
                        auth: AwsAuth {
                            jwt: JwtAuth {
                                service_account_ref: ServiceAccountRef { name: identity.service_account.clone() },
                            },
                        },
                    },
                },
            },
        }));
    }
    // The migration Jobs need every one of these (their namespace, its policies, the store their
    // Secret comes from): they are applied with the Jobs, before the rollouts.
    if has_migrations(platform) {
        let (key, value) = &platform.first_phase_label;
        for o in &mut objects {
            o.metadata_mut().labels.get_or_insert_with(BTreeMap::new).insert(key.clone(), value.clone());
        }
    }
    objects
}

/// Whether a release of the platform runs migration Jobs, and so is applied in two phases.
fn has_migrations(platform: &Platform) -> bool {
    platform.stores.iter().any(|st| st.migration.is_some())
}

/// The annotation that binds a ServiceAccount to an IAM role (EKS's IRSA).
pub const IRSA_ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

/// The Pod Security Standards level the namespace enforces, audits and warns at.
pub const POD_SECURITY_LEVEL: &str = "restricted";
/// The Kubernetes version of the Pod Security Standards the namespace enforces: the oldest API
/// every cluster serves (the workspace's k8s-openapi feature).
pub const POD_SECURITY_VERSION: &str = "v1.33";

fn namespace(env: &Environment) -> Object {
    let labels = ["enforce", "audit", "warn"]
        .into_iter()
        .map(|mode| (format!("pod-security.kubernetes.io/{mode}"), POD_SECURITY_LEVEL.to_owned()))
        .chain([("pod-security.kubernetes.io/enforce-version".to_owned(), POD_SECURITY_VERSION.to_owned())])
        .collect();
    Object::from(Namespace {
        metadata: ObjectMeta { name: Some(env.namespace.clone()), labels: Some(labels), ..Default::default() },
        ..Default::default()
    })
}

pub use crate::conventions::APP_LABEL;

/// Builds the objects of one service for the base (`env: None`) or for one environment. The base
/// is the development deployment; what only a deployed environment has (hardening, init
/// containers, scheduling, the rollout strategy, the secret) comes with its [`Environment`].
struct Builder<'a> {
    platform: &'a Platform,
    service: &'a Service,
    stage: &'a Stage,
    env: Option<&'a Environment>,
    /// The ConfigMap's data, worked out once: the ConfigMap carries it and the pod template's
    /// checksum is of it.
    config: OnceCell<BTreeMap<String, String>>,
}

impl<'a> Builder<'a> {
    fn new(platform: &'a Platform, service: &'a Service, stage: &'a Stage, env: Option<&'a Environment>) -> Self {
        Builder { platform, service, stage, env, config: OnceCell::new() }
    }

    fn stage(&self) -> &Stage {
        self.stage
    }

    fn name(&self) -> String {
        self.service.name.clone()
    }

    /// The service's image as this stage runs it (the base's is unpinned), from where it pulls it.
    fn image(&self) -> String {
        let s = self.service;
        self.env.map_or_else(|| format!("{}:{BASE_IMAGE_TAG}", s.image), |e| self.pulled(&s.image_ref(&e.name)))
    }

    /// Whether this stage runs the service pinned by digest: its init images are then pinned by
    /// digest too, so that everything the pod runs is.
    fn by_digest(&self) -> bool {
        self.env.is_some_and(|e| self.service.tag(&e.name).digest().is_some())
    }

    /// `image` as this stage pulls it: the base as written, an environment from the platform's
    /// registry.
    fn pulled(&self, image: &str) -> String {
        match self.env {
            Some(_) => pulled_image(self.platform, image),
            None => image.to_owned(),
        }
    }

    fn version_label(&self) -> String {
        self.env.map_or_else(|| BASE_IMAGE_TAG.to_owned(), |e| self.service.tag(&e.name).label_value())
    }

    fn labels(&self) -> BTreeMap<String, String> {
        let name = self.name();
        BTreeMap::from([
            (APP_LABEL.to_owned(), name.clone()),
            (NAME_LABEL.to_owned(), name),
            ("app.kubernetes.io/part-of".to_owned(), self.platform.part_of.clone()),
            ("app.kubernetes.io/version".to_owned(), self.version_label()),
            ("app.kubernetes.io/managed-by".to_owned(), self.platform.managed_by.clone()),
        ])
    }

    fn selector(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(APP_LABEL.to_owned(), self.name())])
    }

    fn label_selector(&self) -> LabelSelector {
        LabelSelector { match_labels: Some(self.selector()), ..Default::default() }
    }

    fn meta(&self, name: String) -> ObjectMeta {
        ObjectMeta { name: Some(name), labels: Some(self.labels()), ..Default::default() }
    }

    /// The name this stage goes by: the environment's, or the base's (`development`).
    fn stage_name(&self) -> &str {
        self.env.map_or(&self.platform.base_name, |e| &e.name)
    }

    /// The main container's memory limit, in bytes (validated before rendering).
    fn memory_limit_bytes(&self) -> u128 {
        match &self.stage().resources {
            Some((_, memory)) => {
                memory.limit.as_deref().and_then(|l| Quantity::memory(l).ok()).map_or(0, |q| q.base_units())
            }
            None => self.service.memory.limit.base_units(),
        }
    }

    /// `meta`, with the first phase's label in an environment where the service has a migration
    /// Job: its pods read this object, so it is applied with the Job, before the rollouts.
    fn first_phase_meta(&self, name: String) -> ObjectMeta {
        let mut meta = self.meta(name);
        if self.env.is_some() && self.service.migrations().next().is_some() {
            let (key, value) = &self.platform.first_phase_label;
            meta.labels.get_or_insert_with(BTreeMap::new).insert(key.clone(), value.clone());
        }
        meta
    }

    fn service_account(&self) -> Object {
        Object::from(ServiceAccount {
            metadata: self.first_phase_meta(self.name()),
            // The services do not call the Kubernetes API: no token, here or in the pod.
            automount_service_account_token: Some(false),
            ..Default::default()
        })
    }

    /// The ConfigMap's data, as the stage renders it: the runtime's keys, each store's address
    /// and keys, the gateway's routes and (in a deployed environment) the service's own keys.
    fn config_data(&self) -> &BTreeMap<String, String> {
        self.config.get_or_init(|| self.compute_config_data())
    }

    fn compute_config_data(&self) -> BTreeMap<String, String> {
        let s = self.service;
        let stage = self.stage();
        let mut data: BTreeMap<String, String> = self
            .platform
            .runtime
            .keys
            .iter()
            .map(|(key, setting)| {
                let value = match setting {
                    Setting::Text(text) => text.clone(),
                    Setting::PerStage | Setting::PerStageOrigin => stage.setting(key).unwrap_or_default().to_owned(),
                    Setting::ServiceName => s.name.clone(),
                    Setting::Port => s.port.to_string(),
                    Setting::StageName { prefix } => format!("{prefix}{}", self.stage_name()),
                    Setting::MemoryLimitMib { prefix, percent } => {
                        format!("{prefix}{}", mib_share(self.memory_limit_bytes(), *percent))
                    }
                };
                (key.clone(), value)
            })
            .collect();
        for store in &s.stores {
            data.insert(store.host_key.clone(), stage.store_host(&store.name).unwrap_or_default().to_owned());
            data.insert(store.port_key.clone(), store.port.to_string());
            data.extend(store.config.iter().cloned());
            if let (Some(pool), Some(size)) = (&store.pool, s.pool_size_for(store)) {
                data.insert(pool.config_key.clone(), size.to_string());
            }
        }
        data.extend(s.upstreams.iter().cloned());
        if self.env.is_some() {
            data.extend(s.config.iter().cloned());
        }
        data
    }

    fn config_map(&self) -> Object {
        Object::from(ConfigMap {
            metadata: self.first_phase_meta(self.service.config_map_name()),
            data: Some(self.config_data().clone()),
            ..Default::default()
        })
    }

    fn service(&self) -> Object {
        Object::from(K8sService {
            metadata: self.meta(self.name()),
            spec: Some(ServiceSpec {
                type_: Some("ClusterIP".into()),
                selector: Some(self.selector()),
                ports: Some(vec![ServicePort {
                    name: Some(HTTP_PORT_NAME.into()),
                    port: i32::from(self.service.port),
                    target_port: Some(IntOrString::String(HTTP_PORT_NAME.into())),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    fn deployment(&self) -> Object {
        let stage = self.stage();
        let pod = self.pod_spec();
        Object::from(Deployment {
            // Deployed environments only: the scanner exceptions describe the hardened pod, and
            // only they read a Secret; the development base carries neither annotation.
            metadata: ObjectMeta {
                annotations: self.env.map(|_| self.deployment_annotations(&pod)),
                ..self.meta(self.name())
            },
            spec: Some(DeploymentSpec {
                replicas: stage.replicas,
                min_ready_seconds: self.env.map(|e| e.scheduling.min_ready_seconds),
                selector: self.label_selector(),
                strategy: self.env.map(|e| DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_surge: Some(IntOrString::Int(e.scheduling.max_surge)),
                        max_unavailable: Some(IntOrString::Int(e.scheduling.max_unavailable)),
                    }),
                }),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(self.labels()),
                        // A changed ConfigMap changes the template, so the pods roll.
                        annotations: Some(BTreeMap::from([(
                            CONFIG_CHECKSUM_ANNOTATION.to_owned(),
                            config_checksum(self.config_data()),
                        )])),
                        ..Default::default()
                    }),
                    spec: Some(pod),
                },
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    fn deployment_annotations(&self, pod: &PodSpec) -> BTreeMap<String, String> {
        let images =
            pod.containers.iter().chain(pod.init_containers.iter().flatten()).filter_map(|c| c.image.as_deref());
        let exceptions = &self.platform.scanner_exceptions;
        let mut annotations = scanner_annotations(&exceptions.declared, exceptions.met_by_digest.as_deref(), images);
        annotations.insert(RELOADER_SECRET_ANNOTATION.to_owned(), self.service.secret_name());
        annotations
    }

    /// The scanner exceptions the migration Job's pod needs: those of the images it runs (its
    /// container's and its wait's), as for a Deployment.
    fn job_annotations(&self, image: &str, store: &DataStore) -> BTreeMap<String, String> {
        let wait = store.image_for(self.by_digest());
        let exceptions = &self.platform.scanner_exceptions;
        scanner_annotations(&exceptions.declared, exceptions.met_by_digest.as_deref(), [image, wait.as_str()])
    }

    fn pod_spec(&self) -> PodSpec {
        let main = self.main_container();
        let Some(env) = self.env else {
            return PodSpec {
                security_context: Some(PodSecurityContext { run_as_non_root: Some(true), ..Default::default() }),
                service_account_name: Some(self.name()),
                containers: vec![main],
                ..Default::default()
            };
        };
        let sec = &self.service.security;
        PodSpec {
            service_account_name: Some(self.name()),
            termination_grace_period_seconds: Some(env.shutdown.termination_grace_period_seconds),
            automount_service_account_token: Some(sec.automount_service_account_token),
            security_context: Some(pod_security(sec)),
            affinity: Some(self.affinity(env)),
            topology_spread_constraints: Some(vec![TopologySpreadConstraint {
                max_skew: env.scheduling.max_skew,
                topology_key: ZONE_KEY.into(),
                when_unsatisfiable: match env.scheduling.zone_spread {
                    Placement::Required => "DoNotSchedule",
                    Placement::Preferred(_) => "ScheduleAnyway",
                }
                .into(),
                label_selector: Some(self.label_selector()),
                // Cordoned and tainted nodes the pods cannot run on do not count towards the skew.
                node_taints_policy: Some("Honor".into()),
                ..Default::default()
            }]),
            // A service that uses neither store has none: no `initContainers: []` noise.
            init_containers: Some(self.init_containers()).filter(|c| !c.is_empty()),
            containers: vec![main],
            volumes: Some(vec![tmp_volume()]),
            ..Default::default()
        }
    }

    fn affinity(&self, env: &Environment) -> Affinity {
        let one_a_node = PodAffinityTerm {
            label_selector: Some(self.label_selector()),
            topology_key: HOSTNAME_KEY.into(),
            ..Default::default()
        };
        Affinity {
            node_affinity: Some(node_affinity(env)),
            pod_anti_affinity: Some(match env.scheduling.anti_affinity {
                Placement::Required => PodAntiAffinity {
                    required_during_scheduling_ignored_during_execution: Some(vec![one_a_node]),
                    ..Default::default()
                },
                Placement::Preferred(weight) => PodAntiAffinity {
                    preferred_during_scheduling_ignored_during_execution: Some(vec![WeightedPodAffinityTerm {
                        weight,
                        pod_affinity_term: one_a_node,
                    }]),
                    ..Default::default()
                },
            }),
            ..Default::default()
        }
    }

    fn env_from(&self) -> Vec<EnvFromSource> {
        let mut sources = vec![EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource { name: self.service.config_map_name(), ..Default::default() }),
            ..Default::default()
        }];
        if self.env.is_some() {
            sources.push(EnvFromSource {
                secret_ref: Some(SecretEnvSource { name: self.service.secret_name(), ..Default::default() }),
                ..Default::default()
            });
        }
        sources
    }

    fn main_container(&self) -> Container {
        let s = self.service;
        let (cpu, memory) = match &self.stage().resources {
            Some((cpu, memory)) => (written(cpu), written(memory)),
            None => (quantities(&s.cpu), quantities(&s.memory)),
        };
        let hardened = self.env.is_some();
        Container {
            name: s.name.clone(),
            image: Some(self.image()),
            image_pull_policy: Some(self.stage().image_pull_policy.as_str().into()),
            ports: Some(vec![ContainerPort {
                name: Some(HTTP_PORT_NAME.into()),
                container_port: i32::from(s.port),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            env_from: Some(self.env_from()),
            resources: Some(resources(cpu, memory)),
            liveness_probe: Some(http_probe(&s.probes.liveness)),
            readiness_probe: Some(http_probe(&s.probes.readiness)),
            startup_probe: Some(http_probe(&s.probes.startup)),
            security_context: hardened.then(|| container_security(&s.security)),
            volume_mounts: hardened.then(tmp_mount),
            // Endpoints are removed while the pod sleeps; SIGTERM comes after.
            lifecycle: self.env.map(|e| Lifecycle {
                pre_stop: Some(LifecycleHandler {
                    sleep: Some(SleepAction { seconds: e.shutdown.pre_stop_sleep_seconds }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// One wait container per store the service uses. No migration step: it runs once per
    /// release, in the Job of [`Builder::migration_jobs`].
    fn init_containers(&self) -> Vec<Container> {
        self.service.stores.iter().map(|store| self.wait_container(store)).collect()
    }

    /// `wait-for-<store>`: the store's own client, polling until it answers (bounded).
    fn wait_container(&self, store: &DataStore) -> Container {
        let config_only = vec![EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource { name: self.service.config_map_name(), ..Default::default() }),
            ..Default::default()
        }];
        // The message names the address the pod waits on, as its config gives it.
        let what = format!("{} at ${}:${}", store.name, store.host_key, store.port_key);
        Container {
            name: format!("wait-for-{}", store.name),
            image: Some(self.pulled(&store.image_for(self.by_digest()))),
            command: Some(vec!["sh".into(), "-c".into(), bounded_wait(&store.ready, &what)]),
            env_from: Some(config_only),
            resources: Some(resources(
                (init::CPU.0.into(), init::CPU.1.into()),
                (init::MEMORY.0.into(), init::MEMORY.1.into()),
            )),
            ..self.hardened_init()
        }
    }

    /// The Job of each of the service's migration steps in `env`, for this release, and the
    /// NetworkPolicy of its pods.
    fn migration_jobs(&self, env: &Environment) -> Vec<Object> {
        let s = self.service;
        let stores = s.stores.iter().filter_map(|st| Some((st, st.migration.as_ref()?)));
        stores
            .flat_map(|(store, m)| {
                let policy = Object::from(NetworkPolicy {
                    metadata: self.first_phase_meta(format!("{}-{}", s.name, m.name)),
                    spec: Some(netpol::migration_spec(env, s, store)),
                });
                [self.migration_job(env, store, m), policy]
            })
            .collect()
    }

    /// One run of `m` for this release: named after the image it runs, so a new release is a new
    /// Job (a Job's pod template cannot change) and the same release the same Job. Its pods carry
    /// the service's name but not its `app` label: no Service, PDB, HPA or scheduling selector of
    /// the service counts them.
    fn migration_job(&self, env: &Environment, store: &DataStore, m: &Migration) -> Object {
        let s = self.service;
        let image = self.image();
        let mut pod_labels = self.labels();
        pod_labels.remove(APP_LABEL);
        pod_labels.extend(netpol::migration_pods(&s.name));
        let mut labels = pod_labels.clone();
        let (key, value) = &self.platform.first_phase_label;
        labels.insert(key.clone(), value.clone());
        let sec = &s.security;
        let main = Container {
            name: m.name.clone(),
            image: Some(image.clone()),
            command: Some(m.command.clone()),
            // The tool may write under $HOME; the service's user has no home in the image and
            // the root filesystem is read-only, so the catalogue points it at the writable /tmp.
            env: Some(
                m.env
                    .iter()
                    .map(|(name, value)| EnvVar {
                        name: name.clone(),
                        value: Some(value.clone()),
                        ..Default::default()
                    })
                    .collect(),
            )
            .filter(|e: &Vec<EnvVar>| !e.is_empty()),
            env_from: Some(self.env_from()),
            resources: Some(resources(quantities(&s.cpu), quantities(&s.memory))),
            ..self.hardened_init()
        };
        Object::from(Job {
            metadata: ObjectMeta {
                name: Some(migration_job_name(&s.name, &m.name, &image)),
                labels: Some(labels),
                // The same scanner checks as the Deployment's pods, for the same reasons.
                annotations: Some(self.job_annotations(&image, store)),
                ..Default::default()
            },
            spec: Some(JobSpec {
                backoff_limit: Some(m.backoff_limit),
                active_deadline_seconds: Some(m.active_deadline_seconds),
                ttl_seconds_after_finished: Some(m.ttl_seconds_after_finished),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta { labels: Some(pod_labels), ..Default::default() }),
                    spec: Some(PodSpec {
                        restart_policy: Some("Never".into()),
                        service_account_name: Some(self.name()),
                        automount_service_account_token: Some(sec.automount_service_account_token),
                        security_context: Some(pod_security(sec)),
                        affinity: Some(Affinity { node_affinity: Some(node_affinity(env)), ..Default::default() }),
                        init_containers: Some(vec![self.wait_container(store)]),
                        containers: vec![main],
                        volumes: Some(vec![tmp_volume()]),
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    fn hardened_init(&self) -> Container {
        Container {
            image_pull_policy: Some(self.stage().image_pull_policy.as_str().into()),
            security_context: Some(container_security(&self.service.security)),
            volume_mounts: Some(tmp_mount()),
            ..Default::default()
        }
    }

    fn hpa(&self, env: &Environment) -> Object {
        let a = &self.service.autoscaling;
        let metric = |resource: &str, percent: i32| MetricSpec {
            type_: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: resource.into(),
                target: MetricTarget {
                    type_: "Utilization".into(),
                    average_utilization: Some(percent),
                    ..Default::default()
                },
            }),
            ..Default::default()
        };
        Object::from(HorizontalPodAutoscaler {
            metadata: self.meta(self.name()),
            spec: Some(HorizontalPodAutoscalerSpec {
                scale_target_ref: CrossVersionObjectReference {
                    api_version: Some(Deployment::API_VERSION.into()),
                    kind: Deployment::KIND.into(),
                    name: self.name(),
                },
                min_replicas: Some(self.service.bounds(env).min_replicas),
                max_replicas: self.service.bounds(env).max_replicas,
                metrics: Some(vec![metric("cpu", a.cpu_percent), metric("memory", a.memory_percent)]),
                behavior: Some(HorizontalPodAutoscalerBehavior {
                    // The larger of the two policies each period: a small service still gains
                    // whole pods, a large one half again, and never the default doubling every 15 s.
                    scale_up: Some(HPAScalingRules {
                        stabilization_window_seconds: Some(a.scale_up.window_seconds),
                        select_policy: Some("Max".into()),
                        policies: Some(vec![
                            HPAScalingPolicy {
                                type_: "Pods".into(),
                                value: a.scale_up.pods,
                                period_seconds: a.scale_up.period_seconds,
                            },
                            HPAScalingPolicy {
                                type_: "Percent".into(),
                                value: a.scale_up.percent,
                                period_seconds: a.scale_up.period_seconds,
                            },
                        ]),
                        ..Default::default()
                    }),
                    scale_down: Some(HPAScalingRules {
                        stabilization_window_seconds: Some(a.scale_down_window_seconds),
                        policies: Some(vec![HPAScalingPolicy {
                            type_: "Percent".into(),
                            value: a.scale_down_percent,
                            period_seconds: a.scale_down_period_seconds,
                        }]),
                        ..Default::default()
                    }),
                }),
            }),
            ..Default::default()
        })
    }

    /// The environment's Ingress, on its public service: one host, one prefix, TLS for the host.
    fn ingress(&self, env: &Environment) -> Option<Object> {
        let def = env.ingress.as_ref().filter(|_| self.service.public.is_some())?;
        Some(Object::from(Ingress {
            metadata: ObjectMeta {
                annotations: Some(def.annotations.iter().cloned().collect()),
                ..self.meta(self.name())
            },
            spec: Some(IngressSpec {
                ingress_class_name: Some(def.class.clone()),
                rules: Some(vec![IngressRule {
                    host: Some(def.host.clone()),
                    http: Some(HTTPIngressRuleValue {
                        paths: vec![HTTPIngressPath {
                            path: Some(def.path.clone()),
                            path_type: "Prefix".into(),
                            backend: IngressBackend {
                                service: Some(IngressServiceBackend {
                                    name: self.name(),
                                    port: Some(ServiceBackendPort {
                                        name: Some(HTTP_PORT_NAME.into()),
                                        ..Default::default()
                                    }),
                                }),
                                ..Default::default()
                            },
                        }],
                    }),
                }]),
                // No secret: the controller finds the certificate for the host itself.
                tls: Some(vec![IngressTLS { hosts: Some(vec![def.host.clone()]), ..Default::default() }]),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    fn network_policy(&self, env: &Environment) -> Object {
        let mut metadata = self.meta(self.name());
        // Every policy is applied in the first phase: a default deny applied without the policies
        // that allow would cut the running pods off until the second.
        if has_migrations(self.platform) {
            let (key, value) = &self.platform.first_phase_label;
            metadata.labels.get_or_insert_with(BTreeMap::new).insert(key.clone(), value.clone());
        }
        Object::from(NetworkPolicy { metadata, spec: Some(netpol::service_spec(env, self.service)) })
    }

    fn pdb(&self, env: &Environment) -> Object {
        Object::from(PodDisruptionBudget {
            metadata: self.meta(self.name()),
            spec: Some(PodDisruptionBudgetSpec {
                min_available: Some(IntOrString::Int(self.service.bounds(env).min_available)),
                selector: Some(self.label_selector()),
                // A crash-looping release must not block node drains.
                unhealthy_pod_eviction_policy: Some(UNHEALTHY_POD_EVICTION_POLICY.into()),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// docs/spec.md ("Secrets"): the ExternalSecret named like the Secret it produces, reading the service's
    /// entry of this environment from the platform's store.
    fn external_secret(&self, env: &Environment) -> Object {
        let source = &self.platform.secrets;
        let secret = self.service.secret_name();
        Object::from(ExternalSecret {
            metadata: self.first_phase_meta(secret.clone()),
            spec: ExternalSecretSpec {
                refresh_interval: source.refresh_interval.clone(),
                secret_store_ref: SecretStoreRef {
                    kind: match source.store.scope {
                        StoreScope::Cluster => SecretStoreKind::ClusterSecretStore,
                        StoreScope::Namespace(_) => SecretStoreKind::SecretStore,
                    },
                    name: source.store.name.clone(),
                },
                // The operator owns the Secret it creates, and keeps its last values when the
                // store entry goes: a store outage never empties a running service's Secret.
                target: Target {
                    name: secret,
                    creation_policy: CreationPolicy::Owner,
                    deletion_policy: DeletionPolicy::Retain,
                },
                data_from: vec![DataFrom { extract: Extract { key: source.key(&env.name, &self.service.name) } }],
            },
        })
    }
}

/// The pod template annotation that carries the ConfigMap's checksum.
pub const CONFIG_CHECKSUM_ANNOTATION: &str = "checksum/config";
/// Evict unhealthy pods whatever the budget says: a crash-looping release must not block drains.
pub const UNHEALTHY_POD_EVICTION_POLICY: &str = "AlwaysAllow";
/// `percent` of a memory limit in MiB, rounded down: [`Setting::MemoryLimitMib`].
pub fn mib_share(memory_limit_bytes: u128, percent: u32) -> u128 {
    memory_limit_bytes / (1 << 20) * u128::from(percent) / 100
}

/// The lowercase hex SHA-256 of a ConfigMap's data, over the lines `KEY=VALUE\n`, keys in byte
/// order (docs/spec.md ("The base and production")).
pub fn config_checksum(data: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (k, v) in data {
        hasher.update(k.as_bytes());
        hasher.update(b"=");
        hasher.update(v.as_bytes());
        hasher.update(b"\n");
    }
    hex(&hasher.finalize())
}

/// Lowercase hexadecimal, two digits a byte.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)].into());
        out.push(DIGITS[usize::from(b & 0xf)].into());
    }
    out
}

/// The well-known node labels scheduling spreads over.
pub use crate::object::HOSTNAME_KEY;
pub const ZONE_KEY: &str = "topology.kubernetes.io/zone";

fn written(r: &Resources) -> (String, String) {
    (r.request.clone().unwrap_or_default(), r.limit.clone().unwrap_or_default())
}

fn quantities(r: &Resources<Quantity>) -> (String, String) {
    (r.request.to_string(), r.limit.to_string())
}

fn resources(
    (cpu_request, cpu_limit): (String, String),
    (mem_request, mem_limit): (String, String),
) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), K8sQuantity(cpu_request)),
            ("memory".to_owned(), K8sQuantity(mem_request)),
        ])),
        limits: Some(BTreeMap::from([
            ("cpu".to_owned(), K8sQuantity(cpu_limit)),
            ("memory".to_owned(), K8sQuantity(mem_limit)),
        ])),
        ..Default::default()
    }
}

fn http_probe(p: &Probe) -> K8sProbe {
    K8sProbe {
        http_get: Some(HTTPGetAction {
            path: Some(p.path.clone()),
            port: IntOrString::String(HTTP_PORT_NAME.into()),
            ..Default::default()
        }),
        period_seconds: Some(p.period_seconds),
        timeout_seconds: p.timeout_seconds,
        failure_threshold: Some(p.failure_threshold),
        ..Default::default()
    }
}

fn container_security(s: &Security) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(s.allow_privilege_escalation),
        read_only_root_filesystem: Some(s.read_only_root_filesystem),
        privileged: Some(s.privileged),
        run_as_non_root: Some(s.run_as_non_root),
        capabilities: s
            .drop_all_capabilities
            .then(|| Capabilities { drop: Some(vec!["ALL".into()]), ..Default::default() }),
        ..Default::default()
    }
}

/// The hardened pod-level security context.
fn pod_security(sec: &Security) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(sec.run_as_non_root),
        run_as_user: Some(sec.run_as_user),
        run_as_group: Some(sec.run_as_group),
        fs_group: Some(sec.fs_group),
        seccomp_profile: sec
            .seccomp_runtime_default
            .then(|| SeccompProfile { type_: "RuntimeDefault".into(), ..Default::default() }),
        ..Default::default()
    }
}

/// The nodes of the environment's pool: a required match of each of its node labels.
fn node_affinity(env: &Environment) -> NodeAffinity {
    let expressions = env
        .scheduling
        .node_selector
        .iter()
        .map(|(key, value)| NodeSelectorRequirement {
            key: key.clone(),
            operator: "In".into(),
            values: Some(vec![value.clone()]),
        })
        .collect();
    NodeAffinity {
        required_during_scheduling_ignored_during_execution: Some(NodeSelector {
            node_selector_terms: vec![NodeSelectorTerm { match_expressions: Some(expressions), ..Default::default() }],
        }),
        ..Default::default()
    }
}

fn tmp_volume() -> Volume {
    Volume {
        name: TMP_VOLUME.into(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: Some(K8sQuantity(TMP_SIZE_LIMIT.into())),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Kubernetes' limit on a Job's name: its pods carry it as a label value.
pub const JOB_NAME_LIMIT: usize = 63;
/// How many hex digits of the image's SHA-256 name a migration Job.
pub const JOB_HASH_DIGITS: usize = 10;

/// `<service>-<step>-<h>`, `h` the first [`JOB_HASH_DIGITS`] hex digits of the SHA-256 of the
/// image reference the Job runs. A service name too long to fit is cut (its end, then any
/// trailing `-`): the hash of an image that names the whole service keeps the names apart.
pub fn migration_job_name(service: &str, step: &str, image: &str) -> String {
    let digest = hex(&Sha256::hash(image.as_bytes()));
    let hash = &digest[..JOB_HASH_DIGITS];
    let room = JOB_NAME_LIMIT.saturating_sub(step.len() + JOB_HASH_DIGITS + 2);
    let service = service[..service.len().min(room)].trim_end_matches('-');
    format!("{service}-{step}-{hash}")
}

fn tmp_mount() -> Vec<VolumeMount> {
    vec![VolumeMount { name: TMP_VOLUME.into(), mount_path: TMP_PATH.into(), ..Default::default() }]
}
