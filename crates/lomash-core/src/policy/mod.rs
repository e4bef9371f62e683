//! Production readiness as code: checks the rendered objects of an environment (those of
//! [`crate::k8s::environment`], the same objects `kubectl kustomize` renders from the overlay)
//! against the Kubernetes Pod Security Standards, "restricted" profile and the "baseline" rules it
//! includes, against the production rules of `services.md` (see docs/spec.md) (and of `secrets.md`: every
//! Secret a pod reads is declared by an ExternalSecret of the output), against the service graph of
//! `network.md` (see docs/spec.md) (the flows of [`crate::netpol::graph`]), and against the node pool the
//! objects are scheduled on (`production-readiness.md` §10). The pool and the flows come with the
//! [`Context`]; the rest is read from the objects.
//!
//! Every rule yields one [`Finding`] per object of the kind it applies to, so a reviewer sees
//! what was checked, not only what failed. Pod rules look at every container: main, init and
//! ephemeral. The checks of common scanners that production knowingly does not meet are listed
//! once, by the catalogue ([`crate::spec::Platform::scanner_exceptions`]); they show here as `excepted`, read back from
//! the Deployment's own `checkov.io/skipN` annotations, so the report shows what the cluster gets.
//!
//! PSS source: the Kubernetes documentation, "Pod Security Standards" (Kubernetes
//! 1.33/1.34). Windows-only relaxations do not apply: these pods run on Linux.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{
    Capabilities, ContainerPort, EnvFromSource, EnvVar, Lifecycle, PodSpec, Probe, ResourceRequirements,
    SecurityContext,
};
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::Resource;
use serde_yaml::Value;

use crate::conventions::SCANNER_SKIP_PREFIX;
use crate::model::Pool;
use crate::netpol::Flow;

mod capacity;
mod network;
mod production;
mod pss;
mod readiness;
mod references;
mod selectors;

use crate::object::Object;
use capacity::*;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use network::*;
use production::*;
use pss::*;
use readiness::*;
use references::*;
use selectors::*;

/// The result of one rule on one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Pass,
    Fail,
    /// A scanner check the spec knowingly does not meet, with its recorded reason.
    Excepted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
            Outcome::Excepted => "excepted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// A [`Rule::id`], or for an exception the scanner's check id (`CKV_K8S_40`).
    pub rule: String,
    /// `Kind/name`, e.g. `Deployment/auth-service`.
    pub object: String,
    pub outcome: Outcome,
    /// What is wrong (fail), the recorded reason (excepted), empty on a pass.
    pub message: String,
}

/// Where a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    PssBaseline,
    PssRestricted,
    Spec,
    /// `production-readiness.md`: what the overlay must do in a real cluster.
    Readiness,
    /// `network.md`: the service graph and the policies derived from it.
    Network,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::PssBaseline => "PSS baseline",
            Source::PssRestricted => "PSS restricted",
            Source::Spec => "services.md",
            Source::Readiness => "production-readiness.md",
            Source::Network => "network.md",
        }
    }
}

/// How a rule looks at an object. Each returns the problems found; none means a pass.
#[derive(Clone, Copy)]
pub enum Check {
    /// Runs on the pod template of every Deployment.
    Pod(fn(&Context, &Pod) -> Vec<String>),
    /// Runs on every object of the named kind.
    Object(&'static str, fn(&Context, &Object) -> Vec<String>),
}

pub struct Rule {
    pub id: &'static str,
    pub source: Source,
    pub summary: &'static str,
    pub check: Check,
}

/// Everything a rule may look up beyond its own object: the other objects of the output.
pub struct Context<'a> {
    pub objects: &'a [Object],
    /// The node pool the objects are scheduled on (the environment's), for the capacity rules.
    pub pool: &'a Pool,
    /// The service graph the network must allow, both ends of each flow ([`crate::netpol::graph`]).
    pub flows: &'a [Flow],
    /// The scanner checks the platform knowingly does not meet: (check id, reason).
    pub exceptions: &'a [(String, String)],
}

/// The pod template of a Deployment, as a rule sees it.
pub struct Pod<'a> {
    pub namespace: Option<&'a str>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub spec: &'a PodSpec,
}

/// Runs every rule of [`RULES`] on `objects`, scheduled on `pool`, with `flows` the service graph
/// of their environment ([`crate::netpol::graph`]) and `exceptions` the platform's declared
/// scanner exceptions, then lists the recorded ones.
pub fn check(objects: &[Object], pool: &Pool, flows: &[Flow], exceptions: &[(String, String)]) -> Vec<Finding> {
    let cx = Context { objects, pool, flows, exceptions };
    let mut findings = Vec::new();
    for rule in RULES {
        for object in objects {
            let problems = match (rule.check, object) {
                (Check::Pod(f), Object::Deployment(d)) => match pod_of(d) {
                    Some(pod) => f(&cx, &pod),
                    None => vec!["no pod template spec".into()],
                },
                (Check::Object(kind, f), o) if o.kind() == kind => f(&cx, o),
                _ => continue,
            };
            let outcome = if problems.is_empty() { Outcome::Pass } else { Outcome::Fail };
            findings.push(Finding {
                rule: rule.id.to_owned(),
                object: object.id(),
                outcome,
                message: problems.join("; "),
            });
        }
    }
    for object in objects {
        for (id, reason) in recorded_exceptions(object.metadata(), exceptions) {
            findings.push(Finding { rule: id, object: object.id(), outcome: Outcome::Excepted, message: reason });
        }
    }
    findings
}

/// The exceptions an object's annotations record, for checks the platform declares.
fn recorded_exceptions(meta: &ObjectMeta, declared: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, value) in meta.annotations.iter().flatten() {
        if !key.starts_with(SCANNER_SKIP_PREFIX) {
            continue;
        }
        let Some((id, reason)) = value.split_once('=') else { continue };
        if declared.iter().any(|(known, _)| known == id) {
            out.push((id.to_owned(), reason.to_owned()));
        }
    }
    out
}

fn pod_of(d: &Deployment) -> Option<Pod<'_>> {
    let template = &d.spec.as_ref()?.template;
    let meta = template.metadata.as_ref();
    Some(Pod {
        namespace: d.metadata.namespace.as_deref(),
        labels: meta.and_then(|m| m.labels.clone()).unwrap_or_default(),
        annotations: meta.and_then(|m| m.annotations.clone()).unwrap_or_default(),
        spec: template.spec.as_ref()?,
    })
}

/// Every rule, in report order.
pub const RULES: &[Rule] = &[
    // --- Pod Security Standards: baseline (included in restricted) ---
    rule("pss.host-process", Source::PssBaseline, "no Windows HostProcess pod or container", Check::Pod(host_process)),
    rule(
        "pss.host-namespaces",
        Source::PssBaseline,
        "hostNetwork, hostPID, hostIPC unset or false",
        Check::Pod(host_namespaces),
    ),
    rule("pss.privileged", Source::PssBaseline, "no privileged container", Check::Pod(privileged)),
    rule(
        "pss.capabilities.baseline",
        Source::PssBaseline,
        "capabilities.add only from the baseline's default set",
        Check::Pod(capabilities_baseline),
    ),
    rule("pss.host-path", Source::PssBaseline, "no hostPath volume", Check::Pod(host_path)),
    rule("pss.host-ports", Source::PssBaseline, "no hostPort (unset or 0)", Check::Pod(host_ports)),
    rule(
        "pss.host-probes",
        Source::PssBaseline,
        "probes and lifecycle hooks set no host (1.34+)",
        Check::Pod(host_probes),
    ),
    rule(
        "pss.apparmor",
        Source::PssBaseline,
        "AppArmor RuntimeDefault or Localhost, never unconfined",
        Check::Pod(apparmor),
    ),
    rule(
        "pss.selinux",
        Source::PssBaseline,
        "SELinux type from the allowed set, no custom user or role",
        Check::Pod(selinux),
    ),
    rule("pss.proc-mount", Source::PssBaseline, "procMount unset or Default", Check::Pod(proc_mount)),
    rule("pss.seccomp.baseline", Source::PssBaseline, "seccomp profile never Unconfined", Check::Pod(seccomp_baseline)),
    rule("pss.sysctls", Source::PssBaseline, "only the safe sysctls", Check::Pod(sysctls)),
    // --- Pod Security Standards: restricted ---
    rule(
        "pss.volume-types",
        Source::PssRestricted,
        "only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret volumes",
        Check::Pod(volume_types),
    ),
    rule(
        "pss.privilege-escalation",
        Source::PssRestricted,
        "allowPrivilegeEscalation false on every container",
        Check::Pod(privilege_escalation),
    ),
    rule(
        "pss.run-as-non-root",
        Source::PssRestricted,
        "runAsNonRoot true (pod, or every container)",
        Check::Pod(run_as_non_root),
    ),
    rule("pss.run-as-non-root-user", Source::PssRestricted, "runAsUser never 0", Check::Pod(run_as_non_root_user)),
    rule(
        "pss.non-root-groups",
        Source::PssRestricted,
        "runAsGroup set and non-zero; fsGroup, supplementalGroups non-zero",
        Check::Pod(non_root_groups),
    ),
    rule(
        "pss.seccomp.restricted",
        Source::PssRestricted,
        "seccomp RuntimeDefault or Localhost (pod, or every container)",
        Check::Pod(seccomp_restricted),
    ),
    rule(
        "pss.capabilities.restricted",
        Source::PssRestricted,
        "every container drops ALL, adds at most NET_BIND_SERVICE",
        Check::Pod(capabilities_restricted),
    ),
    // --- services.md: production rules ---
    rule(
        "spec.probes",
        Source::Spec,
        "liveness, readiness and startup probes on every main container",
        Check::Pod(probes),
    ),
    rule(
        "spec.resources",
        Source::Spec,
        "cpu and memory requests and limits on every container",
        Check::Pod(resources),
    ),
    rule(
        "spec.image-tag",
        Source::Spec,
        "every image tagged (or pinned by digest), never latest",
        Check::Pod(image_tag),
    ),
    rule("spec.pull-policy", Source::Spec, "imagePullPolicy Always on every container", Check::Pod(pull_policy)),
    rule(
        "spec.selector.deployment",
        Source::Spec,
        "the Deployment's selector matches its pod labels",
        Check::Object(Deployment::KIND, deployment_selector),
    ),
    rule(
        "spec.selector.scheduling",
        Source::Spec,
        "anti-affinity and topology spread select the pod's own labels",
        Check::Pod(scheduling_selectors),
    ),
    rule(
        "spec.selector.service",
        Source::Spec,
        "the Service selects the pods of a Deployment",
        Check::Object(Service::KIND, service_selector),
    ),
    rule(
        "spec.selector.pdb",
        Source::Spec,
        "the PDB selects the pods of a Deployment",
        Check::Object(PodDisruptionBudget::KIND, pdb_selector),
    ),
    rule(
        "spec.hpa-target",
        Source::Spec,
        "the HPA targets an apps/v1 Deployment present in the output",
        Check::Object(HorizontalPodAutoscaler::KIND, hpa_target),
    ),
    rule(
        "spec.pdb-below-hpa",
        Source::Spec,
        "PDB minAvailable below the HPA's minReplicas",
        Check::Object(PodDisruptionBudget::KIND, pdb_below_hpa),
    ),
    rule(
        "spec.service-port",
        Source::Spec,
        "every Service port targets a named container port that exists",
        Check::Object(Service::KIND, service_port),
    ),
    rule(
        "spec.configmap-refs",
        Source::Spec,
        "every ConfigMap reference resolves to a ConfigMap in the output",
        Check::Pod(configmap_refs),
    ),
    rule(
        "spec.secret-refs",
        Source::Spec,
        "every Secret a pod references is produced by an ExternalSecret of the output",
        Check::Pod(secret_refs),
    ),
    rule(
        "readiness.no-replicas-beside-hpa",
        Source::Readiness,
        "a Deployment an HPA scales carries no spec.replicas",
        Check::Object(Deployment::KIND, no_replicas_beside_hpa),
    ),
    rule(
        "readiness.rollout-cannot-deadlock",
        Source::Readiness,
        "under a required hostname anti-affinity, maxUnavailable is at least 1",
        Check::Object(Deployment::KIND, rollout_cannot_deadlock),
    ),
    rule(
        "readiness.graceful-shutdown",
        Source::Readiness,
        "a preStop sleep, and a grace period longer than it",
        Check::Pod(graceful_shutdown),
    ),
    rule(
        "readiness.config-checksum",
        Source::Readiness,
        "checksum/config is the checksum of the ConfigMap the pod reads",
        Check::Object(Deployment::KIND, config_checksum_matches),
    ),
    rule(
        "readiness.service-account",
        Source::Readiness,
        "the pod's ServiceAccount is in the output",
        Check::Pod(service_account_exists),
    ),
    rule(
        "readiness.bounded-waits",
        Source::Readiness,
        "every shell loop in a container command can give up (exit 1)",
        Check::Pod(bounded_waits),
    ),
    rule("readiness.no-npx", Source::Readiness, "no container runs npx", Check::Pod(no_npx)),
    rule(
        "spec.scanner-exceptions",
        Source::Spec,
        "the Deployment records exactly the scanner exceptions of conventions.rs",
        Check::Object(Deployment::KIND, scanner_exceptions),
    ),
    // --- production-readiness.md: capacity ---
    rule(
        "capacity.placement",
        Source::Readiness,
        "the node pool places the maximum replicas under required anti-affinity",
        Check::Object(Deployment::KIND, placement),
    ),
    rule(
        "capacity.requests",
        Source::Readiness,
        "the requests at maximum replicas fit the node pool's allocatable",
        Check::Object(Namespace::KIND, requests_at_max),
    ),
    // --- network.md: the service graph ---
    rule(
        "net.isolated",
        Source::Network,
        "a NetworkPolicy selects the pods for ingress and one for egress",
        Check::Object(Deployment::KIND, isolated),
    ),
    rule(
        "net.external-egress",
        Source::Network,
        "egress to addresses only on TCP 443, the private ranges and 169.254.0.0/16 excepted",
        Check::Object(NetworkPolicy::KIND, external_egress),
    ),
    rule(
        "net.edges",
        Source::Network,
        "every flow of the graph allowed at both ends (egress of the source, ingress of the destination)",
        Check::Object(Deployment::KIND, edges),
    ),
];

const fn rule(id: &'static str, source: Source, summary: &'static str, check: Check) -> Rule {
    Rule { id, source, summary, check }
}

// ---------------------------------------------------------------------------------------------
// Containers, uniformly: main, init and ephemeral containers share the fields the rules read.

struct Ctr<'a> {
    /// `container auth-service`, `initContainer run-migrations`, …
    label: String,
    main: bool,
    image: Option<&'a str>,
    pull_policy: Option<&'a str>,
    sc: Option<&'a SecurityContext>,
    ports: &'a [ContainerPort],
    probes: [(&'static str, Option<&'a Probe>); 3],
    lifecycle: Option<&'a Lifecycle>,
    resources: Option<&'a ResourceRequirements>,
    env: &'a [EnvVar],
    env_from: &'a [EnvFromSource],
    command: &'a [String],
    args: &'a [String],
}

fn containers(spec: &PodSpec) -> Vec<Ctr<'_>> {
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
fn per_container(pod: &Pod, f: impl Fn(&Ctr) -> Vec<String>) -> Vec<String> {
    containers(pod.spec).iter().flat_map(|c| f(c).into_iter().map(move |p| format!("{}: {p}", c.label))).collect()
}

fn psc(pod: &Pod) -> k8s_openapi::api::core::v1::PodSecurityContext {
    pod.spec.security_context.clone().unwrap_or_default()
}

fn caps(c: &Ctr) -> Capabilities {
    c.sc.and_then(|s| s.capabilities.clone()).unwrap_or_default()
}
