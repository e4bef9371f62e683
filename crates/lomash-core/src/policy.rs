//! Production readiness as code: checks the rendered production objects (those of
//! [`crate::k8s::production`], the same objects `kubectl kustomize` renders from the overlay)
//! against the Kubernetes Pod Security Standards, "restricted" profile and the "baseline" rules it
//! includes, and against the production rules of `shared/spec/services.md`.
//!
//! Every rule yields one [`Finding`] per object of the kind it applies to, so a reviewer sees
//! what was checked, not only what failed. Pod rules look at every container: main, init and
//! ephemeral. The checks of common scanners that production knowingly does not meet are listed
//! once, in [`crate::conventions::SCANNER_EXCEPTIONS`]; they show here as `excepted`, read back from
//! the Deployment's own `checkov.io/skipN` annotations, so the report shows what the cluster gets.
//!
//! PSS source: <https://kubernetes.io/docs/concepts/security/pod-security-standards/> (Kubernetes
//! 1.33/1.34). Windows-only relaxations do not apply: these pods run on Linux.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::core::v1::{
    Capabilities, ContainerPort, EnvFromSource, EnvVar, Lifecycle, PodSpec, Probe, ResourceRequirements,
    SecurityContext,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::Resource;
use serde_yaml::Value;

use crate::conventions::{SCANNER_EXCEPTIONS, SCANNER_SKIP_PREFIX};
use crate::model::Model;
use crate::object::Object;

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
    pub rule: &'static str,
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
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::PssBaseline => "PSS baseline",
            Source::PssRestricted => "PSS restricted",
            Source::Spec => "services.md",
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

/// Everything a rule may look up beyond its own object.
pub struct Context<'a> {
    pub objects: &'a [Object],
    /// Secrets provisioned outside the repository, the only ones a pod may reference.
    pub declared_secrets: &'a BTreeSet<String>,
}

/// The pod template of a Deployment, as a rule sees it.
pub struct Pod<'a> {
    pub namespace: Option<&'a str>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub spec: &'a PodSpec,
}

/// The secrets the catalogue declares as provisioned outside the repository.
pub fn declared_secrets(model: &Model) -> BTreeSet<String> {
    model.services.iter().map(|s| s.secret_name()).collect()
}

/// Runs every rule of [`RULES`] on `objects`, then lists the recorded scanner exceptions.
pub fn check(objects: &[Object], declared_secrets: &BTreeSet<String>) -> Vec<Finding> {
    let cx = Context { objects, declared_secrets };
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
            findings.push(Finding { rule: rule.id, object: object.id(), outcome, message: problems.join("; ") });
        }
    }
    for object in objects {
        for (id, reason) in recorded_exceptions(object.metadata()) {
            findings.push(Finding { rule: id, object: object.id(), outcome: Outcome::Excepted, message: reason });
        }
    }
    findings
}

/// The exceptions an object's annotations record, for checks of [`SCANNER_EXCEPTIONS`].
fn recorded_exceptions(meta: &ObjectMeta) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (key, value) in meta.annotations.iter().flatten() {
        if !key.starts_with(SCANNER_SKIP_PREFIX) {
            continue;
        }
        let Some((id, reason)) = value.split_once('=') else { continue };
        if let Some((id, _)) = SCANNER_EXCEPTIONS.iter().find(|(known, _)| *known == id) {
            out.push((*id, reason.to_owned()));
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
        "every Secret reference is one the catalogue declares (provisioned outside)",
        Check::Pod(secret_refs),
    ),
    rule(
        "spec.scanner-exceptions",
        Source::Spec,
        "the Deployment records exactly the scanner exceptions of platform.rs",
        Check::Object(Deployment::KIND, scanner_exceptions),
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
}

fn containers(spec: &PodSpec) -> Vec<Ctr<'_>> {
    fn plain<'a>(role: &str, main: bool, c: &'a k8s_openapi::api::core::v1::Container) -> Ctr<'a> {
        Ctr {
            label: format!("{role} {}", c.name),
            main,
            image: c.image.as_deref(),
            pull_policy: c.image_pull_policy.as_deref(),
            sc: c.security_context.as_ref(),
            ports: c.ports.as_deref().unwrap_or_default(),
            probes: [
                ("livenessProbe", c.liveness_probe.as_ref()),
                ("readinessProbe", c.readiness_probe.as_ref()),
                ("startupProbe", c.startup_probe.as_ref()),
            ],
            lifecycle: c.lifecycle.as_ref(),
            resources: c.resources.as_ref(),
            env: c.env.as_deref().unwrap_or_default(),
            env_from: c.env_from.as_deref().unwrap_or_default(),
        }
    }
    let mut out = Vec::new();
    out.extend(spec.containers.iter().map(|c| plain("container", true, c)));
    out.extend(spec.init_containers.iter().flatten().map(|c| plain("initContainer", false, c)));
    out.extend(spec.ephemeral_containers.iter().flatten().map(|c| Ctr {
        label: format!("ephemeralContainer {}", c.name),
        main: false,
        image: c.image.as_deref(),
        pull_policy: c.image_pull_policy.as_deref(),
        sc: c.security_context.as_ref(),
        ports: c.ports.as_deref().unwrap_or_default(),
        probes: [
            ("livenessProbe", c.liveness_probe.as_ref()),
            ("readinessProbe", c.readiness_probe.as_ref()),
            ("startupProbe", c.startup_probe.as_ref()),
        ],
        lifecycle: c.lifecycle.as_ref(),
        resources: c.resources.as_ref(),
        env: c.env.as_deref().unwrap_or_default(),
        env_from: c.env_from.as_deref().unwrap_or_default(),
    }));
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

// ---------------------------------------------------------------------------------------------
// Pod Security Standards, baseline.

fn host_process(_: &Context, pod: &Pod) -> Vec<String> {
    let mut out = Vec::new();
    if psc(pod).windows_options.and_then(|w| w.host_process) == Some(true) {
        out.push("pod: windowsOptions.hostProcess is true".into());
    }
    out.extend(per_container(pod, |c| {
        let on = c.sc.and_then(|s| s.windows_options.as_ref()).and_then(|w| w.host_process) == Some(true);
        on.then(|| "windowsOptions.hostProcess is true".to_owned()).into_iter().collect()
    }));
    out
}

fn host_namespaces(_: &Context, pod: &Pod) -> Vec<String> {
    let s = pod.spec;
    [("hostNetwork", s.host_network), ("hostPID", s.host_pid), ("hostIPC", s.host_ipc)]
        .into_iter()
        .filter(|(_, v)| *v == Some(true))
        .map(|(field, _)| format!("pod: {field} is true"))
        .collect()
}

fn privileged(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        let on = c.sc.and_then(|s| s.privileged) == Some(true);
        on.then(|| "privileged is true".to_owned()).into_iter().collect()
    })
}

/// Capabilities the baseline lets a container add (the container runtime's default set).
const BASELINE_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn capabilities_baseline(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        caps(c)
            .add
            .unwrap_or_default()
            .into_iter()
            .filter(|cap| !BASELINE_CAPABILITIES.contains(&cap.as_str()))
            .map(|cap| format!("adds capability {cap}"))
            .collect()
    })
}

fn host_path(_: &Context, pod: &Pod) -> Vec<String> {
    pod.spec
        .volumes
        .iter()
        .flatten()
        .filter(|v| v.host_path.is_some())
        .map(|v| format!("volume {}: hostPath", v.name))
        .collect()
}

fn host_ports(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        c.ports.iter().filter_map(|p| p.host_port.filter(|h| *h != 0)).map(|h| format!("hostPort {h}")).collect()
    })
}

fn host_probes(_: &Context, pod: &Pod) -> Vec<String> {
    let set = |h: &Option<String>| h.as_deref().is_some_and(|h| !h.is_empty());
    per_container(pod, |c| {
        let mut out = Vec::new();
        for (name, probe) in c.probes {
            let Some(p) = probe else { continue };
            if p.http_get.as_ref().is_some_and(|g| set(&g.host)) || p.tcp_socket.as_ref().is_some_and(|t| set(&t.host))
            {
                out.push(format!("{name} sets a host"));
            }
        }
        let hooks = c.lifecycle.map(|l| [("postStart", l.post_start.as_ref()), ("preStop", l.pre_stop.as_ref())]);
        for (name, hook) in hooks.into_iter().flatten() {
            let Some(h) = hook else { continue };
            if h.http_get.as_ref().is_some_and(|g| set(&g.host)) || h.tcp_socket.as_ref().is_some_and(|t| set(&t.host))
            {
                out.push(format!("lifecycle {name} sets a host"));
            }
        }
        out
    })
}

const APPARMOR_ANNOTATION: &str = "container.apparmor.security.beta.kubernetes.io/";

fn apparmor(_: &Context, pod: &Pod) -> Vec<String> {
    let allowed = |t: &str| matches!(t, "RuntimeDefault" | "Localhost");
    let mut out = Vec::new();
    if let Some(p) = psc(pod).app_armor_profile.filter(|p| !allowed(&p.type_)) {
        out.push(format!("pod: appArmorProfile {}", p.type_));
    }
    for (key, value) in &pod.annotations {
        if key.starts_with(APPARMOR_ANNOTATION) && value != "runtime/default" && !value.starts_with("localhost/") {
            out.push(format!("annotation {key}: {value}"));
        }
    }
    out.extend(per_container(pod, |c| {
        c.sc.and_then(|s| s.app_armor_profile.as_ref())
            .filter(|p| !allowed(&p.type_))
            .map(|p| format!("appArmorProfile {}", p.type_))
            .into_iter()
            .collect()
    }));
    out
}

const SELINUX_TYPES: [&str; 5] = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

fn selinux_problems(o: &k8s_openapi::api::core::v1::SELinuxOptions) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(t) = o.type_.as_deref().filter(|t| !SELINUX_TYPES.contains(t)) {
        out.push(format!("seLinuxOptions.type {t}"));
    }
    for (field, v) in [("user", &o.user), ("role", &o.role)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            out.push(format!("seLinuxOptions.{field} {v}"));
        }
    }
    out
}

fn selinux(_: &Context, pod: &Pod) -> Vec<String> {
    let mut out: Vec<String> =
        psc(pod).se_linux_options.iter().flat_map(selinux_problems).map(|p| format!("pod: {p}")).collect();
    out.extend(per_container(pod, |c| {
        c.sc.and_then(|s| s.se_linux_options.as_ref()).map(selinux_problems).unwrap_or_default()
    }));
    out
}

fn proc_mount(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        c.sc.and_then(|s| s.proc_mount.as_deref())
            .filter(|m| *m != "Default")
            .map(|m| format!("procMount {m}"))
            .into_iter()
            .collect()
    })
}

fn seccomp_baseline(_: &Context, pod: &Pod) -> Vec<String> {
    let mut out = Vec::new();
    if psc(pod).seccomp_profile.is_some_and(|p| p.type_ == "Unconfined") {
        out.push("pod: seccompProfile Unconfined".into());
    }
    out.extend(per_container(pod, |c| {
        let unconfined = c.sc.and_then(|s| s.seccomp_profile.as_ref()).is_some_and(|p| p.type_ == "Unconfined");
        unconfined.then(|| "seccompProfile Unconfined".to_owned()).into_iter().collect()
    }));
    out
}

/// The sysctls the baseline calls safe: namespaced, and isolated from other pods on the node.
const SAFE_SYSCTLS: [&str; 10] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

fn sysctls(_: &Context, pod: &Pod) -> Vec<String> {
    psc(pod)
        .sysctls
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !SAFE_SYSCTLS.contains(&s.name.as_str()))
        .map(|s| format!("pod: sysctl {}", s.name))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Pod Security Standards, restricted.

/// The volume sources restricted allows, by their field names.
const RESTRICTED_VOLUME_TYPES: [&str; 8] =
    ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

fn volume_types(_: &Context, pod: &Pod) -> Vec<String> {
    // Read through the YAML form so that a volume source added to the API later is caught too.
    let mut out = Vec::new();
    for volume in pod.spec.volumes.iter().flatten() {
        let value = serde_yaml::to_value(volume).unwrap_or(Value::Null);
        for key in value.as_mapping().into_iter().flat_map(|m| m.keys()).filter_map(Value::as_str) {
            if key != "name" && !RESTRICTED_VOLUME_TYPES.contains(&key) {
                out.push(format!("volume {}: type {key}", volume.name));
            }
        }
    }
    out
}

fn privilege_escalation(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| match c.sc.and_then(|s| s.allow_privilege_escalation) {
        Some(false) => vec![],
        Some(true) => vec!["allowPrivilegeEscalation is true".into()],
        None => vec!["allowPrivilegeEscalation is not set to false".into()],
    })
}

fn run_as_non_root(_: &Context, pod: &Pod) -> Vec<String> {
    let pod_level = psc(pod).run_as_non_root;
    let mut out = Vec::new();
    if pod_level == Some(false) {
        out.push("pod: runAsNonRoot is false".into());
    }
    out.extend(per_container(pod, |c| match (c.sc.and_then(|s| s.run_as_non_root), pod_level) {
        (Some(true), _) | (None, Some(true)) => vec![],
        (Some(false), _) => vec!["runAsNonRoot is false".into()],
        (None, _) => vec!["runAsNonRoot is set neither here nor on the pod".into()],
    }));
    out
}

fn run_as_non_root_user(_: &Context, pod: &Pod) -> Vec<String> {
    let mut out = Vec::new();
    if psc(pod).run_as_user == Some(0) {
        out.push("pod: runAsUser is 0".into());
    }
    out.extend(per_container(pod, |c| {
        (c.sc.and_then(|s| s.run_as_user) == Some(0)).then(|| "runAsUser is 0".to_owned()).into_iter().collect()
    }));
    out
}

/// "Non-root groups" was an (optional) restricted control of the first PSS versions; the issue
/// asks for it and the spec sets group 1001 everywhere, so it is kept: an effective runAsGroup must
/// be set and non-zero, and no fsGroup or supplemental group may be 0.
fn non_root_groups(_: &Context, pod: &Pod) -> Vec<String> {
    let p = psc(pod);
    let mut out = Vec::new();
    for (field, v) in [("runAsGroup", p.run_as_group), ("fsGroup", p.fs_group)] {
        if v == Some(0) {
            out.push(format!("pod: {field} is 0"));
        }
    }
    if p.supplemental_groups.iter().flatten().any(|g| *g == 0) {
        out.push("pod: supplementalGroups contains 0".into());
    }
    out.extend(per_container(pod, |c| match c.sc.and_then(|s| s.run_as_group).or(p.run_as_group) {
        Some(0) => vec!["runAsGroup is 0".into()],
        Some(_) => vec![],
        None => vec!["runAsGroup is set neither here nor on the pod".into()],
    }));
    out
}

fn seccomp_restricted(_: &Context, pod: &Pod) -> Vec<String> {
    let allowed = |t: &str| matches!(t, "RuntimeDefault" | "Localhost");
    let pod_type = psc(pod).seccomp_profile.map(|p| p.type_);
    let mut out = Vec::new();
    if let Some(t) = pod_type.as_deref().filter(|t| !allowed(t)) {
        out.push(format!("pod: seccompProfile {t}"));
    }
    let pod_ok = pod_type.as_deref().is_some_and(allowed);
    out.extend(per_container(pod, |c| match c.sc.and_then(|s| s.seccomp_profile.as_ref()) {
        Some(p) if allowed(&p.type_) => vec![],
        Some(p) => vec![format!("seccompProfile {}", p.type_)],
        None if pod_ok => vec![],
        None => vec!["seccompProfile is set neither here nor on the pod".into()],
    }));
    out
}

fn capabilities_restricted(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        let caps = caps(c);
        let mut out = Vec::new();
        if !caps.drop.iter().flatten().any(|d| d == "ALL") {
            out.push("does not drop ALL capabilities".to_owned());
        }
        out.extend(
            caps.add.into_iter().flatten().filter(|a| a != "NET_BIND_SERVICE").map(|a| format!("adds capability {a}")),
        );
        out
    })
}

// ---------------------------------------------------------------------------------------------
// services.md, pods.

fn probes(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        if !c.main {
            return vec![];
        }
        c.probes.iter().filter(|(_, p)| p.is_none()).map(|(name, _)| format!("no {name}")).collect()
    })
}

fn resources(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        let mut out = Vec::new();
        let r = c.resources.cloned().unwrap_or_default();
        for (kind, map) in [("requests", r.requests.unwrap_or_default()), ("limits", r.limits.unwrap_or_default())] {
            for resource in ["cpu", "memory"] {
                if map.get(resource).is_none_or(|q| q.0.is_empty()) {
                    out.push(format!("no {resource} {kind}"));
                }
            }
        }
        out
    })
}

/// The tag of an image reference, if any: what follows the last `:` after the last `/`.
fn image_tag_of(image: &str) -> Option<&str> {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split_once(':').map(|(_, tag)| tag)
}

fn image_tag(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        let Some(image) = c.image.filter(|i| !i.is_empty()) else { return vec!["no image".into()] };
        let digest = image.contains("@sha256:");
        match image_tag_of(image) {
            Some("latest") => vec![format!("image {image} uses the latest tag")],
            Some(t) if !t.is_empty() => vec![],
            _ if digest => vec![],
            _ => vec![format!("image {image} has no tag")],
        }
    })
}

fn pull_policy(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| match c.pull_policy {
        Some("Always") => vec![],
        Some(p) => vec![format!("imagePullPolicy {p}")],
        None => vec!["imagePullPolicy not set".into()],
    })
}

fn scheduling_selectors(_: &Context, pod: &Pod) -> Vec<String> {
    let mut out = Vec::new();
    let anti = pod.spec.affinity.as_ref().and_then(|a| a.pod_anti_affinity.as_ref());
    let required = anti.and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref());
    let preferred = anti.and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref());
    let terms = required.into_iter().flatten().chain(preferred.into_iter().flatten().map(|w| &w.pod_affinity_term));
    for (i, term) in terms.enumerate() {
        if let Some(p) = selector_problem(term.label_selector.as_ref(), &pod.labels) {
            out.push(format!("podAntiAffinity term {i}: {p}"));
        }
    }
    for (i, c) in pod.spec.topology_spread_constraints.iter().flatten().enumerate() {
        if let Some(p) = selector_problem(c.label_selector.as_ref(), &pod.labels) {
            out.push(format!("topologySpreadConstraint {i}: {p}"));
        }
    }
    out
}

fn configmap_refs(cx: &Context, pod: &Pod) -> Vec<String> {
    let config_map = |name: &str| {
        cx.objects.iter().find_map(|o| match o {
            Object::ConfigMap(c) if o.name() == name && c.metadata.namespace.as_deref() == pod.namespace => Some(c),
            _ => None,
        })
    };
    let missing = |name: &str| config_map(name).is_none().then(|| format!("ConfigMap {name} is not in the output"));
    let mut out = per_container(pod, |c| {
        let mut out: Vec<String> =
            c.env_from.iter().filter_map(|e| e.config_map_ref.as_ref()).filter_map(|r| missing(&r.name)).collect();
        for var in c.env {
            let Some(r) = var.value_from.as_ref().and_then(|v| v.config_map_key_ref.as_ref()) else { continue };
            match config_map(&r.name) {
                None => out.push(format!("env {}: ConfigMap {} is not in the output", var.name, r.name)),
                Some(cm)
                    if !cm.data.iter().flatten().any(|(k, _)| *k == r.key)
                        && !cm.binary_data.iter().flatten().any(|(k, _)| *k == r.key) =>
                {
                    out.push(format!("env {}: ConfigMap {} has no key {}", var.name, r.name, r.key))
                }
                Some(_) => {}
            }
        }
        out
    });
    for v in pod.spec.volumes.iter().flatten() {
        let projected =
            v.projected.iter().flat_map(|p| p.sources.iter().flatten()).filter_map(|s| s.config_map.as_ref());
        for name in v.config_map.iter().map(|c| &c.name).chain(projected.map(|c| &c.name)) {
            out.extend(missing(name).map(|m| format!("volume {}: {m}", v.name)));
        }
    }
    out
}

fn secret_refs(cx: &Context, pod: &Pod) -> Vec<String> {
    let undeclared = |name: &str| {
        (!cx.declared_secrets.contains(name))
            .then(|| format!("Secret {name} is not declared as provisioned outside the repository"))
    };
    let mut out = per_container(pod, |c| {
        let from = c.env_from.iter().filter_map(|e| e.secret_ref.as_ref()).map(|r| r.name.as_str());
        let keys = c.env.iter().filter_map(|v| v.value_from.as_ref()?.secret_key_ref.as_ref()).map(|r| r.name.as_str());
        from.chain(keys).filter_map(undeclared).collect()
    });
    for v in pod.spec.volumes.iter().flatten() {
        let projected = v
            .projected
            .iter()
            .flat_map(|p| p.sources.iter().flatten())
            .filter_map(|s| s.secret.as_ref())
            .map(|s| &s.name);
        let direct = v.secret.iter().filter_map(|s| s.secret_name.as_ref());
        for name in direct.chain(projected) {
            out.extend(undeclared(name).map(|m| format!("volume {}: {m}", v.name)));
        }
    }
    for r in pod.spec.image_pull_secrets.iter().flatten() {
        out.extend(undeclared(&r.name).map(|m| format!("imagePullSecrets: {m}")));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// services.md, objects.

/// Why `selector` does not select `labels`, or `None` when it does. An empty selector selects
/// every pod in the namespace: never what a service-scoped selector means.
fn selector_problem(selector: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> Option<String> {
    let Some(s) = selector else { return Some("no selector".into()) };
    let exprs = s.match_expressions.as_deref().unwrap_or_default();
    let pairs = s.match_labels.clone().unwrap_or_default();
    if pairs.is_empty() && exprs.is_empty() {
        return Some("empty selector selects every pod".into());
    }
    if !map_selects(&pairs, labels) {
        return Some(format!("matchLabels {} do not match the pod labels", show(&pairs)));
    }
    for e in exprs {
        let value = labels.get(&e.key);
        let values = e.values.as_deref().unwrap_or_default();
        let ok = match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        };
        if !ok {
            return Some(format!("matchExpression {} {} {values:?} does not match the pod labels", e.key, e.operator));
        }
    }
    None
}

fn map_selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn show(map: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", pairs.join(","))
}

/// The Deployments in `namespace` with their pod labels.
fn deployments<'a>(
    cx: &'a Context,
    namespace: Option<&'a str>,
) -> impl Iterator<Item = (&'a Deployment, BTreeMap<String, String>)> + 'a {
    cx.objects.iter().filter_map(move |o| match o {
        Object::Deployment(d) if d.metadata.namespace.as_deref() == namespace => {
            let labels = pod_of(d).map(|p| p.labels).unwrap_or_default();
            Some((d, labels))
        }
        _ => None,
    })
}

fn deployment_selector(_: &Context, o: &Object) -> Vec<String> {
    let Object::Deployment(d) = o else { return vec![] };
    let labels = pod_of(d).map(|p| p.labels).unwrap_or_default();
    selector_problem(d.spec.as_ref().map(|s| &s.selector), &labels).into_iter().collect()
}

fn service_selector(cx: &Context, o: &Object) -> Vec<String> {
    let Object::Service(s) = o else { return vec![] };
    let selector = s.spec.as_ref().and_then(|s| s.selector.clone()).unwrap_or_default();
    if selector.is_empty() {
        return vec!["no selector".into()];
    }
    let ns = s.metadata.namespace.as_deref();
    if deployments(cx, ns).any(|(_, labels)| map_selects(&selector, &labels)) {
        vec![]
    } else {
        vec![format!("selector {} matches the pods of no Deployment", show(&selector))]
    }
}

fn pdb_selector(cx: &Context, o: &Object) -> Vec<String> {
    let Object::PodDisruptionBudget(p) = o else { return vec![] };
    let selector = p.spec.as_ref().and_then(|s| s.selector.as_ref());
    let ns = p.metadata.namespace.as_deref();
    let problems: Vec<String> = deployments(cx, ns).filter_map(|(_, l)| selector_problem(selector, &l)).collect();
    if problems.len() < deployments(cx, ns).count() {
        vec![]
    } else {
        let why = problems.into_iter().next().unwrap_or_else(|| "no Deployment in its namespace".into());
        vec![format!("selects the pods of no Deployment ({why})")]
    }
}

fn hpa_target(cx: &Context, o: &Object) -> Vec<String> {
    let Object::HorizontalPodAutoscaler(h) = o else { return vec![] };
    let Some(target) = h.spec.as_ref().map(|s| &s.scale_target_ref) else { return vec!["no spec".into()] };
    let mut out = Vec::new();
    if target.kind != Deployment::KIND || target.api_version.as_deref() != Some(Deployment::API_VERSION) {
        out.push(format!(
            "targets {} {}, not an apps/v1 Deployment",
            target.api_version.as_deref().unwrap_or("?"),
            target.kind
        ));
    } else if !deployments(cx, h.metadata.namespace.as_deref())
        .any(|(d, _)| d.metadata.name.as_deref() == Some(&target.name))
    {
        out.push(format!("Deployment/{} is not in the output", target.name));
    }
    out
}

fn pdb_below_hpa(cx: &Context, o: &Object) -> Vec<String> {
    let Object::PodDisruptionBudget(p) = o else { return vec![] };
    let spec = p.spec.clone().unwrap_or_default();
    let min_available = match spec.min_available {
        Some(IntOrString::Int(n)) => n,
        Some(IntOrString::String(s)) => return vec![format!("minAvailable {s} is not a number of pods")],
        None => return vec!["no minAvailable".into()],
    };
    let ns = p.metadata.namespace.as_deref();
    let mut out = Vec::new();
    let selected = deployments(cx, ns).filter(|(_, l)| selector_problem(spec.selector.as_ref(), l).is_none());
    for (d, _) in selected {
        let name = d.metadata.name.clone().unwrap_or_default();
        let hpa = cx.objects.iter().find_map(|o| match o {
            Object::HorizontalPodAutoscaler(h)
                if h.metadata.namespace.as_deref() == ns
                    && h.spec.as_ref().is_some_and(|s| {
                        s.scale_target_ref.kind == Deployment::KIND && s.scale_target_ref.name == name
                    }) =>
            {
                h.spec.as_ref()
            }
            _ => None,
        });
        match hpa {
            None => out.push(format!("no HPA scales Deployment/{name}")),
            Some(h) => {
                let min_replicas = h.min_replicas.unwrap_or(1);
                if min_available >= min_replicas {
                    out.push(format!(
                        "minAvailable {min_available} is not below minReplicas {min_replicas} of Deployment/{name}: \
                         node drains would block"
                    ));
                }
            }
        }
    }
    out
}

fn service_port(cx: &Context, o: &Object) -> Vec<String> {
    let Object::Service(s) = o else { return vec![] };
    let spec = s.spec.clone().unwrap_or_default();
    let selector = spec.selector.unwrap_or_default();
    let ns = s.metadata.namespace.as_deref();
    let pods: Vec<(String, Vec<String>)> = deployments(cx, ns)
        .filter(|(_, l)| !selector.is_empty() && map_selects(&selector, l))
        .map(|(d, _)| {
            let names = pod_of(d)
                .map(|p| {
                    p.spec
                        .containers
                        .iter()
                        .flat_map(|c| c.ports.iter().flatten())
                        .filter_map(|p| p.name.clone())
                        .collect()
                })
                .unwrap_or_default();
            (d.metadata.name.clone().unwrap_or_default(), names)
        })
        .collect();
    let mut out = Vec::new();
    if pods.is_empty() {
        out.push("selects no Deployment's pods".into());
    }
    for port in spec.ports.iter().flatten() {
        let label = port.name.clone().unwrap_or_else(|| port.port.to_string());
        match &port.target_port {
            Some(IntOrString::String(name)) => {
                for (deployment, names) in &pods {
                    if !names.contains(name) {
                        out.push(format!("port {label}: Deployment/{deployment} has no container port named {name}"));
                    }
                }
            }
            Some(IntOrString::Int(n)) => out.push(format!("port {label}: targetPort {n} is a number, not a port name")),
            None => out.push(format!("port {label}: no targetPort")),
        }
    }
    out
}

fn scanner_exceptions(_: &Context, o: &Object) -> Vec<String> {
    let annotations = o.metadata().annotations.clone().unwrap_or_default();
    let mut out = Vec::new();
    let mut recorded = BTreeSet::new();
    for (key, value) in annotations.iter().filter(|(k, _)| k.starts_with(SCANNER_SKIP_PREFIX)) {
        match value.split_once('=') {
            Some((id, reason)) if !reason.is_empty() && !reason.contains('=') => {
                if !SCANNER_EXCEPTIONS.iter().any(|(known, _)| *known == id) {
                    out.push(format!("{key}: {id} is not an exception platform.rs declares"));
                }
                recorded.insert(id.to_owned());
            }
            _ => out.push(format!("{key}: not of the form CHECK_ID=reason (one `=`, a reason after it)")),
        }
    }
    for (id, _) in SCANNER_EXCEPTIONS {
        if !recorded.contains(id) {
            out.push(format!("exception {id} is not recorded"));
        }
    }
    out
}
