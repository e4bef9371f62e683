//! Production readiness as code: checks the rendered objects of an environment (those of
//! [`crate::built::BuiltEnvironment`], the same objects `kubectl kustomize` renders from the overlay)
//! against the Kubernetes Pod Security Standards, "restricted" profile and the "baseline" rules it
//! includes, against the production rules of docs/spec.md ("The services") (and of `docs/spec.md` ("Secrets"): every
//! Secret a pod reads is declared by an ExternalSecret of the output), against the service graph of
//! docs/spec.md ("The network") (the flows of [`crate::netpol::graph`]), and against the node pool the
//! objects are scheduled on (`docs/spec.md` ("The base and production")). The pool and the flows come with the
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

use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::connections::Declared;
use crate::conventions::SCANNER_SKIP_PREFIX;
use crate::model::Pool;
use crate::netpol::Flow;
use crate::object::{Lookup, Object};
use crate::spec::ScannerExceptions;

mod capacity;
mod network;
mod pod;
mod production;
mod pss;
mod readiness;
mod references;
mod release;
mod selectors;

pub use pod::{Context, Pod};
use pod::{job_pod_of, pod_of};

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
    /// `docs/spec.md` ("The base and production"): what the overlay must do in a real cluster.
    Readiness,
    /// `docs/spec.md` ("The network"): the service graph and the policies derived from it.
    Network,
    /// `docs/spec.md` ("Go-live"): how a release runs, what the database can take.
    GoLive,
}

impl Source {
    /// Whether the rule is one of the Pod Security Standards, which every pod must meet.
    pub fn is_pss(self) -> bool {
        matches!(self, Source::PssBaseline | Source::PssRestricted)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Source::PssBaseline => "PSS baseline",
            Source::PssRestricted => "PSS restricted",
            Source::Spec => "docs/spec.md, The services",
            Source::Readiness => "docs/spec.md, The base and production",
            Source::Network => "docs/spec.md, The network",
            Source::GoLive => "docs/spec.md, Go-live",
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

/// Runs every rule of [`RULES`] on `objects`, scheduled on `pool`, with `flows` the service graph
/// of their environment ([`crate::netpol::graph`]), `exceptions` the platform's declared scanner
/// exceptions and `budgets` its stores' connection limits ([`crate::connections::declared`]),
/// then lists the recorded exceptions.
pub fn check(
    objects: &[Object],
    pool: &Pool,
    flows: &[Flow],
    exceptions: &ScannerExceptions,
    budgets: &[Declared],
) -> Vec<Finding> {
    let cx = Context { objects, pool, flows, exceptions, budgets, lookup: Lookup::new(objects) };
    let mut findings = Vec::new();
    for rule in RULES {
        for object in objects {
            let problems = match (rule.check, object) {
                (Check::Pod(f), Object::Deployment(d)) => match pod_of(d) {
                    Some(pod) => f(&cx, &pod),
                    None => vec!["no pod template spec".into()],
                },
                // A Job's pods run in the same namespace, under the same Pod Security Standards:
                // the PSS rules hold for them too (the Deployments' serving rules do not apply).
                (Check::Pod(f), Object::Job(j)) if rule.source.is_pss() => match job_pod_of(j) {
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
fn recorded_exceptions(meta: &ObjectMeta, exceptions: &ScannerExceptions) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, value) in meta.annotations.iter().flatten() {
        if !key.starts_with(SCANNER_SKIP_PREFIX) {
            continue;
        }
        let Some((id, reason)) = value.split_once('=') else { continue };
        if exceptions.declared.iter().any(|(known, _)| known == id) {
            out.push((id.to_owned(), reason.to_owned()));
        }
    }
    out
}

/// Every rule, in report order.
pub const RULES: &[Rule] = &[
    // --- Pod Security Standards: baseline (included in restricted) ---
    rule(
        "pss.host-process",
        Source::PssBaseline,
        "no Windows HostProcess pod or container",
        Check::Pod(pss::host_process),
    ),
    rule(
        "pss.host-namespaces",
        Source::PssBaseline,
        "hostNetwork, hostPID, hostIPC unset or false",
        Check::Pod(pss::host_namespaces),
    ),
    rule("pss.privileged", Source::PssBaseline, "no privileged container", Check::Pod(pss::privileged)),
    rule(
        "pss.capabilities.baseline",
        Source::PssBaseline,
        "capabilities.add only from the baseline's default set",
        Check::Pod(pss::capabilities_baseline),
    ),
    rule("pss.host-path", Source::PssBaseline, "no hostPath volume", Check::Pod(pss::host_path)),
    rule("pss.host-ports", Source::PssBaseline, "no hostPort (unset or 0)", Check::Pod(pss::host_ports)),
    rule(
        "pss.host-probes",
        Source::PssBaseline,
        "probes and lifecycle hooks set no host (1.34+)",
        Check::Pod(pss::host_probes),
    ),
    rule(
        "pss.apparmor",
        Source::PssBaseline,
        "AppArmor RuntimeDefault or Localhost, never unconfined",
        Check::Pod(pss::apparmor),
    ),
    rule(
        "pss.selinux",
        Source::PssBaseline,
        "SELinux type from the allowed set, no custom user or role",
        Check::Pod(pss::selinux),
    ),
    rule("pss.proc-mount", Source::PssBaseline, "procMount unset or Default", Check::Pod(pss::proc_mount)),
    rule(
        "pss.seccomp.baseline",
        Source::PssBaseline,
        "seccomp profile never Unconfined",
        Check::Pod(pss::seccomp_baseline),
    ),
    rule("pss.sysctls", Source::PssBaseline, "only the safe sysctls", Check::Pod(pss::sysctls)),
    // --- Pod Security Standards: restricted ---
    rule(
        "pss.volume-types",
        Source::PssRestricted,
        "only configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret volumes",
        Check::Pod(pss::volume_types),
    ),
    rule(
        "pss.privilege-escalation",
        Source::PssRestricted,
        "allowPrivilegeEscalation false on every container",
        Check::Pod(pss::privilege_escalation),
    ),
    rule(
        "pss.run-as-non-root",
        Source::PssRestricted,
        "runAsNonRoot true (pod, or every container)",
        Check::Pod(pss::run_as_non_root),
    ),
    rule("pss.run-as-non-root-user", Source::PssRestricted, "runAsUser never 0", Check::Pod(pss::run_as_non_root_user)),
    rule(
        "pss.non-root-groups",
        Source::PssRestricted,
        "runAsGroup set and non-zero; fsGroup, supplementalGroups non-zero",
        Check::Pod(pss::non_root_groups),
    ),
    rule(
        "pss.seccomp.restricted",
        Source::PssRestricted,
        "seccomp RuntimeDefault or Localhost (pod, or every container)",
        Check::Pod(pss::seccomp_restricted),
    ),
    rule(
        "pss.capabilities.restricted",
        Source::PssRestricted,
        "every container drops ALL, adds at most NET_BIND_SERVICE",
        Check::Pod(pss::capabilities_restricted),
    ),
    // --- docs/spec.md ("The services"): production rules ---
    rule(
        "spec.probes",
        Source::Spec,
        "liveness, readiness and startup probes on every main container",
        Check::Pod(production::probes),
    ),
    rule(
        "spec.resources",
        Source::Spec,
        "cpu and memory requests and limits on every container",
        Check::Pod(production::resources),
    ),
    rule(
        "spec.image-tag",
        Source::Spec,
        "every image tagged (or pinned by digest), never latest",
        Check::Pod(production::image_tag),
    ),
    rule(
        "spec.pull-policy",
        Source::Spec,
        "imagePullPolicy Always on every container",
        Check::Pod(production::pull_policy),
    ),
    rule(
        "spec.selector.deployment",
        Source::Spec,
        "the Deployment's selector matches its pod labels",
        Check::Object(Deployment::KIND, selectors::deployment_selector),
    ),
    rule(
        "spec.selector.scheduling",
        Source::Spec,
        "anti-affinity and topology spread select the pod's own labels",
        Check::Pod(selectors::scheduling_selectors),
    ),
    rule(
        "spec.selector.service",
        Source::Spec,
        "the Service selects the pods of a Deployment",
        Check::Object(Service::KIND, selectors::service_selector),
    ),
    rule(
        "spec.selector.pdb",
        Source::Spec,
        "the PDB selects the pods of a Deployment",
        Check::Object(PodDisruptionBudget::KIND, selectors::pdb_selector),
    ),
    rule(
        "spec.hpa-target",
        Source::Spec,
        "the HPA targets an apps/v1 Deployment present in the output",
        Check::Object(HorizontalPodAutoscaler::KIND, selectors::hpa_target),
    ),
    rule(
        "spec.pdb-below-hpa",
        Source::Spec,
        "PDB minAvailable below the HPA's minReplicas",
        Check::Object(PodDisruptionBudget::KIND, production::pdb_below_hpa),
    ),
    rule(
        "spec.service-port",
        Source::Spec,
        "every Service port targets a named container port that exists",
        Check::Object(Service::KIND, production::service_port),
    ),
    rule(
        "spec.configmap-refs",
        Source::Spec,
        "every ConfigMap reference resolves to a ConfigMap in the output",
        Check::Pod(references::configmap_refs),
    ),
    rule(
        "spec.secret-refs",
        Source::Spec,
        "every Secret a pod references is produced by an ExternalSecret of the output",
        Check::Pod(references::secret_refs),
    ),
    rule(
        "readiness.no-replicas-beside-hpa",
        Source::Readiness,
        "a Deployment an HPA scales carries no spec.replicas",
        Check::Object(Deployment::KIND, readiness::no_replicas_beside_hpa),
    ),
    rule(
        "readiness.rollout-cannot-deadlock",
        Source::Readiness,
        "under a required hostname anti-affinity, maxUnavailable is at least 1",
        Check::Object(Deployment::KIND, readiness::rollout_cannot_deadlock),
    ),
    rule(
        "readiness.graceful-shutdown",
        Source::Readiness,
        "a preStop sleep, and a grace period longer than it",
        Check::Pod(readiness::graceful_shutdown),
    ),
    rule(
        "readiness.config-checksum",
        Source::Readiness,
        "checksum/config is the checksum of the ConfigMap the pod reads",
        Check::Object(Deployment::KIND, readiness::config_checksum_matches),
    ),
    rule(
        "readiness.service-account",
        Source::Readiness,
        "the pod's ServiceAccount is in the output",
        Check::Pod(readiness::service_account_exists),
    ),
    rule(
        "readiness.bounded-waits",
        Source::Readiness,
        "every shell loop in a container command can give up (exit 1)",
        Check::Pod(readiness::bounded_waits),
    ),
    rule("readiness.no-npx", Source::Readiness, "no container runs npx", Check::Pod(readiness::no_npx)),
    rule(
        "spec.scanner-exceptions",
        Source::Spec,
        "the Deployment records exactly the scanner exceptions of conventions.rs",
        Check::Object(Deployment::KIND, production::scanner_exceptions),
    ),
    // --- docs/spec.md ("The base and production"): capacity ---
    rule(
        "capacity.placement",
        Source::Readiness,
        "the node pool places the maximum replicas under required anti-affinity",
        Check::Object(Deployment::KIND, capacity::placement),
    ),
    rule(
        "capacity.requests",
        Source::Readiness,
        "the requests at maximum replicas fit the node pool's allocatable",
        Check::Object(Namespace::KIND, capacity::requests_at_max),
    ),
    // --- docs/spec.md ("The network"): the service graph ---
    rule(
        "net.isolated",
        Source::Network,
        "a NetworkPolicy selects the pods for ingress and one for egress",
        Check::Object(Deployment::KIND, network::isolated),
    ),
    rule(
        "net.external-egress",
        Source::Network,
        "egress to addresses only on TCP 443, the private ranges and 169.254.0.0/16 excepted",
        Check::Object(NetworkPolicy::KIND, network::external_egress),
    ),
    rule(
        "net.edges",
        Source::Network,
        "every flow of the graph allowed at both ends (egress of the source, ingress of the destination)",
        Check::Object(Deployment::KIND, network::edges),
    ),
    // --- docs/spec.md ("Go-live"): releases and the database ---
    rule(
        "release.no-migrations-in-pods",
        Source::GoLive,
        "no Deployment's pod runs a migration Job's command: migrations run once per release",
        Check::Pod(release::no_migrations_in_pods),
    ),
    rule(
        "release.job-pods-uncounted",
        Source::GoLive,
        "no Service, PDB or Deployment selector (own, anti-affinity, spread) counts a Job's pods",
        Check::Object(Job::KIND, release::job_pods_uncounted),
    ),
    rule(
        "db.connection-budget",
        Source::GoLive,
        "the connections at maximum replicas (pools and migration Jobs) fit each store's max_connections less reserved",
        Check::Object(Namespace::KIND, release::connection_budget),
    ),
];

const fn rule(id: &'static str, source: Source, summary: &'static str, check: Check) -> Rule {
    Rule { id, source, summary, check }
}
