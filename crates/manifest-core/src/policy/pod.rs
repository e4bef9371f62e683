//! What the rules share: the [`Context`] a rule reads beyond its object, the [`Pod`] template of a
//! Deployment as a pod rule sees it, and its containers read uniformly ([`containers`]: main,
//! init and ephemeral). The rule files import these by name from here, and `mod.rs` imports the
//! rules by name from them: no module of `policy/` imports the one that imports it.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    Capabilities, ContainerPort, EnvFromSource, EnvVar, Lifecycle, PodSecurityContext, PodSpec, Probe,
    ResourceRequirements, SecurityContext,
};

use crate::connections::Declared;
use crate::model::Pool;
use crate::netpol::Flow;
use crate::object::{Lookup, Object};
use crate::spec::ScannerExceptions;

/// Everything a rule may look up beyond its own object: the other objects of the output.
pub struct Context<'a> {
    pub objects: &'a [Object],
    /// The node pool the objects are scheduled on (the environment's), for the capacity rules.
    pub pool: &'a Pool,
    /// The service graph the network must allow, both ends of each flow ([`crate::netpol::graph`]).
    pub flows: &'a [Flow],
    /// The scanner checks the platform knowingly does not meet, with the check pinning by digest
    /// meets.
    pub exceptions: &'a ScannerExceptions,
    /// Each store's connection limit in the environment, for the connection budget.
    pub budgets: &'a [Declared],
    /// Each Deployment's HPA and ConfigMap among the objects, found once for every rule.
    pub lookup: Lookup<'a>,
}

/// The pod template of a Deployment (or, for the Pod Security Standards, of a Job), as a rule
/// sees it.
pub struct Pod<'a> {
    pub namespace: Option<&'a str>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub spec: &'a PodSpec,
}

/// The pod template of `d`, when it has one.
pub(super) fn pod_of(d: &Deployment) -> Option<Pod<'_>> {
    let template = &d.spec.as_ref()?.template;
    let meta = template.metadata.as_ref();
    Some(Pod {
        namespace: d.metadata.namespace.as_deref(),
        labels: meta.and_then(|m| m.labels.clone()).unwrap_or_default(),
        annotations: meta.and_then(|m| m.annotations.clone()).unwrap_or_default(),
        spec: template.spec.as_ref()?,
    })
}

/// The pod template of a Job, read as a Deployment's is.
pub(super) fn job_pod_of(j: &Job) -> Option<Pod<'_>> {
    let template = &j.spec.as_ref()?.template;
    let meta = template.metadata.as_ref();
    Some(Pod {
        namespace: j.metadata.namespace.as_deref(),
        labels: meta.and_then(|m| m.labels.clone()).unwrap_or_default(),
        annotations: meta.and_then(|m| m.annotations.clone()).unwrap_or_default(),
        spec: template.spec.as_ref()?,
    })
}

// ---------------------------------------------------------------------------------------------
// Containers, uniformly: main, init and ephemeral containers share the fields the rules read.

pub(super) struct Ctr<'a> {
    /// `container auth-service`, `initContainer run-migrations`, …
    pub(super) label: String,
    pub(super) main: bool,
    pub(super) image: Option<&'a str>,
    pub(super) pull_policy: Option<&'a str>,
    pub(super) sc: Option<&'a SecurityContext>,
    pub(super) ports: &'a [ContainerPort],
    pub(super) probes: [(&'static str, Option<&'a Probe>); 3],
    pub(super) lifecycle: Option<&'a Lifecycle>,
    pub(super) resources: Option<&'a ResourceRequirements>,
    pub(super) env: &'a [EnvVar],
    pub(super) env_from: &'a [EnvFromSource],
    pub(super) command: &'a [String],
    pub(super) args: &'a [String],
}

pub(super) fn containers(spec: &PodSpec) -> Vec<Ctr<'_>> {
    // Container and EphemeralContainer are distinct types with the same fields: one reading.
    macro_rules! ctr {
        ($role:expr, $main:expr, $c:expr) => {
            Ctr {
                label: format!("{} {}", $role, $c.name),
                main: $main,
                image: $c.image.as_deref(),
                pull_policy: $c.image_pull_policy.as_deref(),
                sc: $c.security_context.as_ref(),
                ports: $c.ports.as_deref().unwrap_or_default(),
                probes: [
                    ("livenessProbe", $c.liveness_probe.as_ref()),
                    ("readinessProbe", $c.readiness_probe.as_ref()),
                    ("startupProbe", $c.startup_probe.as_ref()),
                ],
                lifecycle: $c.lifecycle.as_ref(),
                resources: $c.resources.as_ref(),
                env: $c.env.as_deref().unwrap_or_default(),
                env_from: $c.env_from.as_deref().unwrap_or_default(),
                command: $c.command.as_deref().unwrap_or_default(),
                args: $c.args.as_deref().unwrap_or_default(),
            }
        };
    }
    let mut out = Vec::new();
    out.extend(spec.containers.iter().map(|c| ctr!("container", true, c)));
    out.extend(spec.init_containers.iter().flatten().map(|c| ctr!("initContainer", false, c)));
    out.extend(spec.ephemeral_containers.iter().flatten().map(|c| ctr!("ephemeralContainer", false, c)));
    out
}

/// Problems of every container, each prefixed with the container's label.
pub(super) fn per_container(pod: &Pod, f: impl Fn(&Ctr) -> Vec<String>) -> Vec<String> {
    containers(pod.spec).iter().flat_map(|c| f(c).into_iter().map(move |p| format!("{}: {p}", c.label))).collect()
}

pub(super) fn psc(pod: &Pod) -> PodSecurityContext {
    pod.spec.security_context.clone().unwrap_or_default()
}

pub(super) fn caps(c: &Ctr) -> Capabilities {
    c.sc.and_then(|s| s.capabilities.clone()).unwrap_or_default()
}
