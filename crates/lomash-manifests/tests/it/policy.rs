//! The production policy, rule by rule: each case starts from the real production objects,
//! mutates one field, and names exactly which (rule, object) pairs must then fail; the same
//! pairs pass on the unmutated objects. A last check makes sure no rule goes without a case.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    AppArmorProfile, ConfigMapKeySelector, Container, EnvFromSource, EnvVar, EnvVarSource, EphemeralContainer,
    HostPathVolumeSource, LocalObjectReference, NFSVolumeSource, PodSecurityContext, PodSpec, SELinuxOptions,
    SeccompProfile, SecretEnvSource, SecurityContext, Sysctl, Volume, WindowsSecurityContextOptions,
};
use k8s_openapi::api::networking::v1::{IPBlock, NetworkPolicyEgressRule, NetworkPolicyPort, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use lomash_manifests::conventions::{scanner_annotations, scanner_exceptions_for, SCANNER_SKIP_PREFIX};
use lomash_manifests::model::Pool;
use lomash_manifests::netpol::Flow;
use lomash_manifests::policy::{self, Finding, Outcome, RULES};
use lomash_manifests::{catalogue, netpol, validate, Object};
use pretty_assertions::assert_eq;

const SVC: &str = "auth-service";
const DEP: &str = "Deployment/auth-service";
const NAMESPACE: &str = "Namespace/lomash-wood-production";

/// The production objects and the service graph the policy reads.
fn production() -> (Vec<Object>, Vec<Flow>) {
    let model = validate(&catalogue()).expect("the catalogue is valid");
    let env = &model.platform.environments[0];
    (lomash_manifests::built::BuiltEnvironment::new(&model, env).objects, netpol::graph(&model, env))
}

/// Production's connection limits.
fn budgets() -> Vec<lomash_manifests::connections::Declared> {
    let platform = catalogue().platform;
    lomash_manifests::connections::declared(&platform, &platform.environments[0])
}

/// The node pool production is scheduled on.
fn pool() -> Pool {
    let model = validate(&catalogue()).expect("the catalogue is valid");
    model.pool(&model.platform.environments[0]).expect("production declares a pool").clone()
}

fn failures(findings: &[Finding]) -> BTreeSet<(String, String)> {
    findings.iter().filter(|f| f.outcome == Outcome::Fail).map(|f| (f.rule.to_owned(), f.object.clone())).collect()
}

// --- mutation helpers: reach into one service's objects ---

fn deployment(objects: &mut [Object]) -> &mut Deployment {
    objects
        .iter_mut()
        .find_map(|o| match o {
            Object::Deployment(d) if d.metadata.name.as_deref() == Some(SVC) => Some(d),
            _ => None,
        })
        .expect("the Deployment exists")
}

/// Every image a Deployment's pod runs, main and init containers.
fn images_of(o: &Object) -> Vec<&str> {
    let spec = match o {
        Object::Deployment(d) => d.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
        // docs/spec.md ("Go-live") §2: a migration Job's pod, scanned like a Deployment's.
        Object::Job(j) => j.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
        _ => return Vec::new(),
    };
    let spec = spec.expect("a pod template");
    spec.containers.iter().chain(spec.init_containers.iter().flatten()).filter_map(|c| c.image.as_deref()).collect()
}

fn pod(objects: &mut [Object]) -> &mut PodSpec {
    deployment(objects).spec.as_mut().unwrap().template.spec.as_mut().unwrap()
}

fn pod_sc(objects: &mut [Object]) -> &mut PodSecurityContext {
    pod(objects).security_context.get_or_insert_default()
}

fn main_container(objects: &mut [Object]) -> &mut Container {
    &mut pod(objects).containers[0]
}

fn init<'a>(objects: &'a mut [Object], name: &str) -> &'a mut Container {
    pod(objects).init_containers.as_mut().unwrap().iter_mut().find(|c| c.name == name).expect("init container exists")
}

/// The migration Job of [`SVC`].
fn job(objects: &mut [Object]) -> &mut Job {
    objects
        .iter_mut()
        .find_map(|o| match o {
            Object::Job(j) if j.metadata.name.as_deref().is_some_and(|n| n.starts_with(&format!("{SVC}-migrate-"))) => {
                Some(j)
            }
            _ => None,
        })
        .expect("the service has a migration Job")
}

fn sc(c: &mut Container) -> &mut SecurityContext {
    c.security_context.get_or_insert_default()
}

fn other_selector() -> LabelSelector {
    LabelSelector { match_labels: Some([("app".to_owned(), "someone-else".to_owned())].into()), ..Default::default() }
}

fn object_of_kind<'a>(objects: &'a mut [Object], kind: &str) -> &'a mut Object {
    objects.iter_mut().find(|o| o.kind() == kind && o.name() == SVC).expect("object exists")
}

fn object_of_kind_named<'a>(objects: &'a mut [Object], kind: &str, name: &str) -> &'a mut Object {
    objects.iter_mut().find(|o| o.kind() == kind && o.name() == name).expect("object exists")
}

fn network_policy<'a>(objects: &'a mut [Object], name: &str) -> &'a mut NetworkPolicySpec {
    objects
        .iter_mut()
        .find_map(|o| match o {
            Object::NetworkPolicy(p) if p.metadata.name.as_deref() == Some(name) => p.spec.as_mut(),
            _ => None,
        })
        .unwrap_or_else(|| panic!("NetworkPolicy/{name} exists"))
}

/// The egress rule of `policy` that sends to an `ipBlock`.
fn internet_rule<'a>(objects: &'a mut [Object], policy: &str) -> &'a mut NetworkPolicyEgressRule {
    let spec = network_policy(objects, policy);
    let mut rules = spec.egress.as_mut().unwrap().iter_mut();
    rules.find(|r| r.to.iter().flatten().any(|p| p.ip_block.is_some())).expect("an ipBlock egress rule")
}

fn tcp(port: i32) -> NetworkPolicyPort {
    NetworkPolicyPort { protocol: Some("TCP".into()), port: Some(IntOrString::Int(port)), ..Default::default() }
}

type Mutation = fn(&mut Vec<Object>);

/// (rule, `Deployment/<service>`) for every rule given and every service of the catalogue: the
/// cases where a mutation breaks every pod name no service themselves, so a new one is covered.
fn every_deployment(rules: &[&'static str]) -> Vec<(&'static str, &'static str)> {
    let services: Vec<String> = catalogue().services.into_iter().map(|s| s.name).collect();
    rules.iter().flat_map(|rule| services.iter().map(move |s| (*rule, &*format!("Deployment/{s}").leak()))).collect()
}
/// (rule id, object id).
type Pair = (&'static str, &'static str);

/// (rule under test, mutation, every (rule, object) that must fail after it).
fn cases() -> Vec<(&'static str, Mutation, Vec<Pair>)> {
    vec![
        // --- PSS baseline ---
        (
            "pss.host-process",
            |o| {
                pod_sc(o).windows_options =
                    Some(WindowsSecurityContextOptions { host_process: Some(true), ..Default::default() })
            },
            vec![("pss.host-process", DEP)],
        ),
        ("pss.host-namespaces", |o| pod(o).host_pid = Some(true), vec![("pss.host-namespaces", DEP)]),
        ("pss.privileged", |o| sc(init(o, "wait-for-postgres")).privileged = Some(true), vec![("pss.privileged", DEP)]),
        (
            // An ephemeral container is checked like any other.
            "pss.privileged",
            |o| {
                let c = init(o, "wait-for-redis").clone();
                let mut security = c.security_context.clone().unwrap();
                security.privileged = Some(true);
                pod(o).ephemeral_containers = Some(vec![EphemeralContainer {
                    name: "debug".into(),
                    image: c.image,
                    image_pull_policy: c.image_pull_policy,
                    resources: c.resources,
                    security_context: Some(security),
                    ..Default::default()
                }]);
            },
            vec![("pss.privileged", DEP)],
        ),
        (
            // SYS_ADMIN is outside the baseline's set, so restricted fails too.
            "pss.capabilities.baseline",
            |o| sc(main_container(o)).capabilities.as_mut().unwrap().add = Some(vec!["SYS_ADMIN".into()]),
            vec![("pss.capabilities.baseline", DEP), ("pss.capabilities.restricted", DEP)],
        ),
        (
            "pss.host-path",
            |o| {
                pod(o).volumes.get_or_insert_default().push(Volume {
                    name: "host".into(),
                    host_path: Some(HostPathVolumeSource { path: "/var/run".into(), ..Default::default() }),
                    ..Default::default()
                })
            },
            vec![("pss.host-path", DEP), ("pss.volume-types", DEP)],
        ),
        (
            "pss.host-ports",
            |o| main_container(o).ports.as_mut().unwrap()[0].host_port = Some(3001),
            vec![("pss.host-ports", DEP)],
        ),
        (
            "pss.host-probes",
            |o| {
                main_container(o).liveness_probe.as_mut().unwrap().http_get.as_mut().unwrap().host =
                    Some("169.254.169.254".into())
            },
            vec![("pss.host-probes", DEP)],
        ),
        (
            "pss.apparmor",
            |o| {
                pod_sc(o).app_armor_profile = Some(AppArmorProfile { type_: "Unconfined".into(), ..Default::default() })
            },
            vec![("pss.apparmor", DEP)],
        ),
        (
            "pss.apparmor",
            |o| {
                let template = deployment(o).spec.as_mut().unwrap().template.metadata.as_mut().unwrap();
                template.annotations.get_or_insert_default().insert(
                    "container.apparmor.security.beta.kubernetes.io/auth-service".to_owned(),
                    "unconfined".to_owned(),
                );
            },
            vec![("pss.apparmor", DEP)],
        ),
        (
            "pss.selinux",
            |o| {
                sc(main_container(o)).se_linux_options =
                    Some(SELinuxOptions { type_: Some("spc_t".into()), ..Default::default() })
            },
            vec![("pss.selinux", DEP)],
        ),
        (
            "pss.selinux",
            |o| pod_sc(o).se_linux_options = Some(SELinuxOptions { user: Some("root".into()), ..Default::default() }),
            vec![("pss.selinux", DEP)],
        ),
        (
            "pss.proc-mount",
            |o| sc(init(o, "wait-for-postgres")).proc_mount = Some("Unmasked".into()),
            vec![("pss.proc-mount", DEP)],
        ),
        (
            // Unconfined breaks baseline, and restricted as well.
            "pss.seccomp.baseline",
            |o| pod_sc(o).seccomp_profile = Some(SeccompProfile { type_: "Unconfined".into(), ..Default::default() }),
            vec![("pss.seccomp.baseline", DEP), ("pss.seccomp.restricted", DEP)],
        ),
        (
            "pss.sysctls",
            |o| {
                pod_sc(o).sysctls = Some(vec![
                    Sysctl { name: "net.ipv4.tcp_syncookies".into(), value: "1".into() },
                    Sysctl { name: "kernel.msgmax".into(), value: "65536".into() },
                ])
            },
            vec![("pss.sysctls", DEP)],
        ),
        // --- PSS restricted ---
        (
            "pss.volume-types",
            |o| {
                pod(o).volumes.get_or_insert_default().push(Volume {
                    name: "share".into(),
                    nfs: Some(NFSVolumeSource { server: "nfs".into(), path: "/".into(), ..Default::default() }),
                    ..Default::default()
                })
            },
            vec![("pss.volume-types", DEP)],
        ),
        (
            "pss.privilege-escalation",
            |o| sc(init(o, "wait-for-postgres")).allow_privilege_escalation = None,
            vec![("pss.privilege-escalation", DEP)],
        ),
        (
            "pss.run-as-non-root",
            |o| sc(main_container(o)).run_as_non_root = Some(false),
            vec![("pss.run-as-non-root", DEP)],
        ),
        (
            // Unset on the pod and on one container: nothing requires non-root there.
            "pss.run-as-non-root",
            |o| {
                pod_sc(o).run_as_non_root = None;
                sc(init(o, "wait-for-redis")).run_as_non_root = None;
            },
            vec![("pss.run-as-non-root", DEP)],
        ),
        (
            "pss.run-as-non-root-user",
            |o| sc(init(o, "wait-for-postgres")).run_as_user = Some(0),
            vec![("pss.run-as-non-root-user", DEP)],
        ),
        ("pss.non-root-groups", |o| pod_sc(o).fs_group = Some(0), vec![("pss.non-root-groups", DEP)]),
        ("pss.non-root-groups", |o| pod_sc(o).run_as_group = None, vec![("pss.non-root-groups", DEP)]),
        (
            // No profile on the pod nor on the containers: baseline allows it, restricted not.
            "pss.seccomp.restricted",
            |o| pod_sc(o).seccomp_profile = None,
            vec![("pss.seccomp.restricted", DEP)],
        ),
        (
            "pss.capabilities.restricted",
            |o| sc(init(o, "wait-for-redis")).capabilities.as_mut().unwrap().drop = Some(vec!["NET_RAW".into()]),
            vec![("pss.capabilities.restricted", DEP)],
        ),
        (
            // CHOWN is in the baseline's set, not in restricted's.
            "pss.capabilities.restricted",
            |o| sc(main_container(o)).capabilities.as_mut().unwrap().add = Some(vec!["CHOWN".into()]),
            vec![("pss.capabilities.restricted", DEP)],
        ),
        // --- docs/spec.md ("The services") ---
        ("spec.probes", |o| main_container(o).startup_probe = None, vec![("spec.probes", DEP)]),
        (
            "spec.resources",
            |o| {
                init(o, "wait-for-redis").resources.as_mut().unwrap().limits.as_mut().unwrap().remove("memory");
            },
            vec![("spec.resources", DEP)],
        ),
        (
            "spec.image-tag",
            |o| main_container(o).image = Some("lomashwood/auth-service:latest".into()),
            vec![("spec.image-tag", DEP)],
        ),
        (
            // A registry port is not a tag.
            "spec.image-tag",
            |o| init(o, "wait-for-postgres").image = Some("registry.local:5000/docker-hub/library/postgres".into()),
            vec![("spec.image-tag", DEP)],
        ),
        (
            "spec.pull-policy",
            |o| init(o, "wait-for-postgres").image_pull_policy = Some("IfNotPresent".into()),
            vec![("spec.pull-policy", DEP)],
        ),
        (
            "spec.selector.deployment",
            |o| deployment(o).spec.as_mut().unwrap().selector = other_selector(),
            vec![("spec.selector.deployment", DEP)],
        ),
        (
            "spec.selector.scheduling",
            |o| {
                let anti = pod(o).affinity.as_mut().unwrap().pod_anti_affinity.as_mut().unwrap();
                anti.required_during_scheduling_ignored_during_execution.as_mut().unwrap()[0].label_selector =
                    Some(other_selector());
            },
            vec![("spec.selector.scheduling", DEP)],
        ),
        (
            "spec.selector.scheduling",
            |o| pod(o).topology_spread_constraints.as_mut().unwrap()[0].label_selector = Some(LabelSelector::default()),
            vec![("spec.selector.scheduling", DEP)],
        ),
        (
            // A Service that selects nothing has no port to target either.
            "spec.selector.service",
            |o| {
                let Object::Service(s) = object_of_kind(o, "Service") else { unreachable!() };
                s.spec.as_mut().unwrap().selector = Some([("app".to_owned(), "auth".to_owned())].into());
            },
            vec![("spec.selector.service", "Service/auth-service"), ("spec.service-port", "Service/auth-service")],
        ),
        (
            "spec.selector.pdb",
            |o| {
                let Object::PodDisruptionBudget(p) = object_of_kind(o, "PodDisruptionBudget") else { unreachable!() };
                p.spec.as_mut().unwrap().selector = Some(other_selector());
            },
            vec![("spec.selector.pdb", "PodDisruptionBudget/auth-service")],
        ),
        (
            // With its HPA pointing elsewhere, the Deployment's PDB has no minReplicas to stay below.
            "spec.hpa-target",
            |o| {
                let Object::HorizontalPodAutoscaler(h) = object_of_kind(o, "HorizontalPodAutoscaler") else {
                    unreachable!()
                };
                h.spec.as_mut().unwrap().scale_target_ref.name = "auth".into();
            },
            vec![
                ("spec.hpa-target", "HorizontalPodAutoscaler/auth-service"),
                ("spec.pdb-below-hpa", "PodDisruptionBudget/auth-service"),
            ],
        ),
        (
            "spec.hpa-target",
            |o| {
                let Object::HorizontalPodAutoscaler(h) = object_of_kind(o, "HorizontalPodAutoscaler") else {
                    unreachable!()
                };
                h.spec.as_mut().unwrap().scale_target_ref.kind = "StatefulSet".into();
            },
            vec![
                ("spec.hpa-target", "HorizontalPodAutoscaler/auth-service"),
                ("spec.pdb-below-hpa", "PodDisruptionBudget/auth-service"),
            ],
        ),
        (
            "spec.pdb-below-hpa",
            |o| {
                let Object::PodDisruptionBudget(p) = object_of_kind(o, "PodDisruptionBudget") else { unreachable!() };
                p.spec.as_mut().unwrap().min_available = Some(IntOrString::Int(3));
            },
            vec![("spec.pdb-below-hpa", "PodDisruptionBudget/auth-service")],
        ),
        (
            "spec.service-port",
            |o| {
                let Object::Service(s) = object_of_kind(o, "Service") else { unreachable!() };
                s.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].target_port =
                    Some(IntOrString::String("web".into()));
            },
            vec![("spec.service-port", "Service/auth-service")],
        ),
        (
            "spec.service-port",
            |o| {
                let Object::Service(s) = object_of_kind(o, "Service") else { unreachable!() };
                s.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].target_port = Some(IntOrString::Int(3001));
            },
            vec![("spec.service-port", "Service/auth-service")],
        ),
        (
            "spec.configmap-refs",
            |o| o.retain(|o| o.id() != "ConfigMap/auth-service-config"),
            // The checksum then covers nothing: that rule fails too.
            vec![("spec.configmap-refs", DEP), ("readiness.config-checksum", DEP)],
        ),
        (
            "spec.configmap-refs",
            |o| {
                main_container(o).env.get_or_insert_default().push(EnvVar {
                    name: "FEATURE".into(),
                    value_from: Some(EnvVarSource {
                        config_map_key_ref: Some(ConfigMapKeySelector {
                            name: "auth-service-config".into(),
                            key: "NO_SUCH_KEY".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
            },
            vec![("spec.configmap-refs", DEP)],
        ),
        (
            "spec.secret-refs",
            |o| {
                main_container(o).env_from.get_or_insert_default().push(EnvFromSource {
                    secret_ref: Some(SecretEnvSource { name: "stripe-keys".into(), ..Default::default() }),
                    ..Default::default()
                })
            },
            vec![("spec.secret-refs", DEP)],
        ),
        (
            "spec.secret-refs",
            |o| pod(o).image_pull_secrets = Some(vec![LocalObjectReference { name: "regcred".into() }]),
            vec![("spec.secret-refs", DEP)],
        ),
        (
            // docs/spec.md ("Secrets"): the Secret the pod reads is declared by an ExternalSecret of the overlay.
            "spec.secret-refs",
            |o| o.retain(|o| o.id() != "ExternalSecret/auth-service-secret"),
            vec![("spec.secret-refs", DEP)],
        ),
        (
            // An ExternalSecret of that name that writes another Secret does not declare it.
            "spec.secret-refs",
            |o| {
                let Object::ExternalSecret(e) = object_of_kind_named(o, "ExternalSecret", "auth-service-secret") else {
                    unreachable!()
                };
                e.spec.target.name = "auth-secret".into();
            },
            vec![("spec.secret-refs", DEP)],
        ),
        (
            // Nor does one in another namespace.
            "spec.secret-refs",
            |o| {
                object_of_kind_named(o, "ExternalSecret", "auth-service-secret").metadata_mut().namespace =
                    Some("lomash-wood-data".into())
            },
            vec![("spec.secret-refs", DEP)],
        ),
        (
            "spec.scanner-exceptions",
            |o| {
                deployment(o).metadata.annotations.as_mut().unwrap().remove(&format!("{SCANNER_SKIP_PREFIX}2"));
            },
            vec![("spec.scanner-exceptions", DEP)],
        ),
        (
            "spec.scanner-exceptions",
            |o| {
                deployment(o)
                    .metadata
                    .annotations
                    .as_mut()
                    .unwrap()
                    .insert(format!("{SCANNER_SKIP_PREFIX}1"), "CKV_K8S_40=uid=1001".into());
            },
            vec![("spec.scanner-exceptions", DEP)],
        ),
        (
            // Every image pinned by digest: the digest check passes on its own, and an exception
            // kept for it would hide the day an image goes back to a tag.
            "spec.scanner-exceptions",
            |o| {
                let pod = pod(o);
                for c in pod.containers.iter_mut().chain(pod.init_containers.iter_mut().flatten()) {
                    let image = c.image.as_deref().unwrap().split(['@']).next().unwrap().to_owned();
                    c.image = Some(format!("{image}@sha256:{}", "d".repeat(64)));
                }
            },
            vec![("spec.scanner-exceptions", DEP)],
        ),
        // --- docs/spec.md ("The base and production") ---
        (
            "readiness.no-replicas-beside-hpa",
            |o| deployment(o).spec.as_mut().unwrap().replicas = Some(3),
            vec![("readiness.no-replicas-beside-hpa", DEP)],
        ),
        (
            "readiness.rollout-cannot-deadlock",
            |o| {
                let strategy = deployment(o).spec.as_mut().unwrap().strategy.as_mut().unwrap();
                strategy.rolling_update.as_mut().unwrap().max_unavailable = Some(IntOrString::Int(0));
            },
            vec![("readiness.rollout-cannot-deadlock", DEP)],
        ),
        (
            "readiness.graceful-shutdown",
            |o| pod(o).termination_grace_period_seconds = Some(10),
            vec![("readiness.graceful-shutdown", DEP)],
        ),
        (
            "readiness.graceful-shutdown",
            |o| main_container(o).lifecycle = None,
            vec![("readiness.graceful-shutdown", DEP)],
        ),
        (
            // A config value changed without the checksum following: the pods would not roll.
            "readiness.config-checksum",
            |o| {
                let cm = o
                    .iter_mut()
                    .find_map(|x| match x {
                        Object::ConfigMap(cm) if cm.metadata.name.as_deref() == Some("auth-service-config") => Some(cm),
                        _ => None,
                    })
                    .unwrap();
                cm.data.as_mut().unwrap().insert("LOG_LEVEL".into(), "debug".into());
            },
            vec![("readiness.config-checksum", DEP)],
        ),
        (
            "readiness.service-account",
            |o| o.retain(|x| !(matches!(x, Object::ServiceAccount(_)) && x.name() == SVC)),
            vec![("readiness.service-account", DEP)],
        ),
        (
            "readiness.bounded-waits",
            |o| {
                init(o, "wait-for-postgres").command =
                    Some(["sh", "-c", "until pg_isready; do sleep 2; done"].map(String::from).to_vec())
            },
            vec![("readiness.bounded-waits", DEP)],
        ),
        (
            "readiness.no-npx",
            |o| {
                init(o, "wait-for-postgres").command =
                    Some(["npx", "prisma", "migrate", "deploy"].map(String::from).to_vec())
            },
            vec![("readiness.no-npx", DEP)],
        ),
        // --- docs/spec.md ("Go-live"): releases and the database ---
        (
            // The seed's way back: the release's migrations run again in every pod.
            "release.no-migrations-in-pods",
            |o| {
                let migrate = job(o).spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0].clone();
                pod(o).init_containers.as_mut().unwrap().push(migrate);
            },
            vec![("release.no-migrations-in-pods", DEP)],
        ),
        (
            // A migration Job's pod under the Pod Security Standards like any other.
            "pss.privileged",
            |o| {
                let pod = job(o).spec.as_mut().unwrap().template.spec.as_mut().unwrap();
                sc(&mut pod.containers[0]).privileged = Some(true);
            },
            vec![("pss.privileged", "JOB")],
        ),
        (
            // A Job's pods labelled like the service's: its Service, PDB and scheduling count them.
            "release.job-pods-uncounted",
            |o| {
                let template = &mut job(o).spec.as_mut().unwrap().template;
                let labels = template.metadata.as_mut().unwrap().labels.as_mut().unwrap();
                labels.insert("app".into(), SVC.into());
            },
            vec![("release.job-pods-uncounted", "JOB")],
        ),
        (
            // A pool of 40 for one service: 15 pods × 40 = 600 alone, over production's 550 (the
            // checksum follows the ConfigMap, as a regenerated tree's would).
            "db.connection-budget",
            |o| {
                let data = match object_of_kind_named(o, "ConfigMap", &format!("{SVC}-config")) {
                    Object::ConfigMap(cm) => {
                        let data = cm.data.as_mut().unwrap();
                        data.insert("DATABASE_POOL_SIZE".into(), "40".into());
                        data.clone()
                    }
                    _ => unreachable!(),
                };
                let template = deployment(o).spec.as_mut().unwrap().template.metadata.as_mut().unwrap();
                template
                    .annotations
                    .as_mut()
                    .unwrap()
                    .insert("checksum/config".into(), lomash_manifests::k8s::config_checksum(&data));
            },
            vec![("db.connection-budget", NAMESPACE)],
        ),
        // --- docs/spec.md ("The base and production"): capacity (the pool's own mutations are in tests/it/capacity.rs) ---
        (
            // 22 pods, one a node, on 3 zones × 7 nodes.
            "capacity.placement",
            |o| {
                let Object::HorizontalPodAutoscaler(h) = object_of_kind(o, "HorizontalPodAutoscaler") else {
                    unreachable!()
                };
                h.spec.as_mut().unwrap().max_replicas = 22;
            },
            vec![("capacity.placement", DEP)],
        ),
        (
            // 3 CPU a pod at 15 replicas: 45 CPU more than the 3.75 it asked, 83.75 of 82.32.
            "capacity.requests",
            |o| {
                let r = main_container(o).resources.as_mut().unwrap();
                for map in [r.requests.as_mut().unwrap(), r.limits.as_mut().unwrap()] {
                    map.insert("cpu".into(), k8s_openapi::apimachinery::pkg::api::resource::Quantity("3".into()));
                }
            },
            vec![("capacity.requests", NAMESPACE)],
        ),
        // --- docs/spec.md ("The network") ---
        (
            // Without the default deny, auth-service's own policy must isolate its ingress; made
            // egress-only, it does not. Its ingress is then open: no edge is refused.
            "net.isolated",
            |o| {
                o.retain(|o| o.id() != "NetworkPolicy/default-deny");
                let spec = network_policy(o, SVC);
                spec.policy_types = Some(vec!["Egress".into()]);
                spec.ingress = None;
            },
            vec![("net.isolated", DEP)],
        ),
        (
            // The DNS policy only isolates egress: ingress stays open for every other pod too
            // once nothing else selects them.
            "net.isolated",
            |o| o.retain(|o| o.kind() != "NetworkPolicy" || o.name() == "allow-dns"),
            // Egress stays isolated by allow-dns, and now allows nothing but DNS: every edge fails.
            every_deployment(&["net.isolated", "net.edges"]),
        ),
        (
            "net.external-egress",
            |o| {
                internet_rule(o, "order-payment-service").to.as_mut().unwrap()[0].ip_block.as_mut().unwrap().except =
                    Some(vec!["10.0.0.0/8".into(), "172.16.0.0/12".into(), "192.168.0.0/16".into()])
            },
            vec![("net.external-egress", "NetworkPolicy/order-payment-service")],
        ),
        (
            "net.external-egress",
            |o| internet_rule(o, "notification-service").ports.as_mut().unwrap().push(tcp(80)),
            vec![("net.external-egress", "NetworkPolicy/notification-service")],
        ),
        (
            // A rule without `to` sends anywhere, private ranges and metadata endpoint included.
            "net.external-egress",
            |o| {
                network_policy(o, SVC)
                    .egress
                    .as_mut()
                    .unwrap()
                    .push(NetworkPolicyEgressRule { to: None, ports: Some(vec![tcp(443)]) })
            },
            vec![("net.external-egress", "NetworkPolicy/auth-service")],
        ),
        (
            // A narrower block inside a closed range is no better.
            "net.external-egress",
            |o| {
                internet_rule(o, "order-payment-service").to.as_mut().unwrap()[0].ip_block =
                    Some(IPBlock { cidr: "10.1.0.0/16".into(), except: None })
            },
            vec![
                ("net.external-egress", "NetworkPolicy/order-payment-service"),
                ("net.edges", "Deployment/order-payment-service"),
            ],
        ),
        (
            // The callee's end: auth-service no longer admits the gateway.
            "net.edges",
            |o| {
                let ingress = network_policy(o, SVC).ingress.as_mut().unwrap();
                ingress.retain(|r| !r.from.iter().flatten().any(|p| p.pod_selector.is_some()));
            },
            vec![("net.edges", DEP)],
        ),
        (
            // The caller's end: the gateway no longer sends to auth-service.
            "net.edges",
            |o| {
                let egress = network_policy(o, "api-gateway").egress.as_mut().unwrap();
                egress.retain(|r| r.ports.as_ref().unwrap()[0].port != Some(IntOrString::Int(3001)));
            },
            vec![("net.edges", "Deployment/api-gateway")],
        ),
        (
            // Postgres sought in the wrong namespace.
            "net.edges",
            |o| {
                let egress = network_policy(o, SVC).egress.as_mut().unwrap();
                let postgres =
                    egress.iter_mut().find(|r| r.ports.as_ref().unwrap()[0].port == Some(IntOrString::Int(5432)));
                let selector = postgres.unwrap().to.as_mut().unwrap()[0].namespace_selector.as_mut().unwrap();
                selector.match_labels.as_mut().unwrap().insert("kubernetes.io/metadata.name".into(), "data".into());
            },
            vec![("net.edges", DEP)],
        ),
    ]
}

#[test]
fn each_case_fails_exactly_its_rules_and_passes_unmutated() {
    let (objects, flows) = production();
    let before = policy::check(
        &objects,
        &pool(),
        &flows,
        &lomash_manifests::catalogue().platform.scanner_exceptions,
        &budgets(),
    );
    // `JOB` stands for the service's migration Job, whose name carries its image's hash.
    let job_id = {
        let mut objects = objects.clone();
        Object::from(job(&mut objects).clone()).id()
    };
    let resolve = |object: &str| if object == "JOB" { job_id.clone() } else { object.to_owned() };
    for (rule, mutate, expected) in cases() {
        for (r, object) in &expected {
            let object = resolve(object);
            let finding = before.iter().find(|f| f.rule == *r && f.object == object);
            assert_eq!(
                finding.map(|f| f.outcome),
                Some(Outcome::Pass),
                "case {rule}: {r} on {object} must pass before the mutation"
            );
        }
        let mut mutated = objects.clone();
        mutate(&mut mutated);
        let after = policy::check(
            &mutated,
            &pool(),
            &flows,
            &lomash_manifests::catalogue().platform.scanner_exceptions,
            &budgets(),
        );
        let expected: BTreeSet<(String, String)> =
            expected.iter().map(|(r, o)| ((*r).to_owned(), resolve(o))).collect();
        assert_eq!(failures(&after), expected, "case {rule}");
        let message = &after.iter().find(|f| f.rule == rule && f.outcome == Outcome::Fail).unwrap().message;
        assert!(!message.is_empty(), "case {rule}: a failure says what is wrong");
    }
}

#[test]
fn every_rule_has_a_failing_case() {
    let covered: BTreeSet<&str> = cases().iter().map(|(rule, _, _)| *rule).collect();
    let rules: BTreeSet<&str> = RULES.iter().map(|r| r.id).collect();
    assert_eq!(covered, rules);
}

#[test]
fn generated_production_objects_have_no_violation() {
    let (objects, flows) = production();
    let findings = policy::check(
        &objects,
        &pool(),
        &flows,
        &lomash_manifests::catalogue().platform.scanner_exceptions,
        &budgets(),
    );
    assert_eq!(failures(&findings), BTreeSet::new());
    // Every rule looked at something: a rule whose kind is absent would pass vacuously.
    for rule in RULES {
        assert!(findings.iter().any(|f| f.rule == rule.id), "{} checked no object", rule.id);
    }
}

#[test]
fn exceptions_are_annotations_on_each_production_deployment() {
    let (objects, flows) = production();
    let exceptions = catalogue().platform.scanner_exceptions;
    let deployments: Vec<&Object> = objects.iter().filter(|o| o.kind() == "Deployment").collect();
    let services = catalogue().services.len();
    assert_eq!(deployments.len(), services, "one production Deployment for each of the {services} services");
    // docs/spec.md ("Go-live") §2: the migration Jobs' pods are scanned too, and miss the same checks.
    let jobs: Vec<&Object> = objects.iter().filter(|o| o.kind() == "Job").collect();
    let workloads: Vec<&Object> = deployments.iter().chain(&jobs).copied().collect();
    for d in &workloads {
        let annotations = d.metadata().annotations.clone().unwrap_or_default();
        for (i, (id, reason)) in
            scanner_exceptions_for(&exceptions.declared, exceptions.met_by_digest.as_deref(), images_of(d))
                .iter()
                .enumerate()
        {
            assert_eq!(annotations.get(&format!("checkov.io/skip{}", i + 1)), Some(&format!("{id}={reason}")));
        }
        // The checkov annotations are exactly the recorded exceptions (Reloader's is the other one
        // of a Deployment).
        let checkov: BTreeMap<String, String> =
            annotations.into_iter().filter(|(k, _)| k.starts_with(SCANNER_SKIP_PREFIX)).collect();
        assert_eq!(
            checkov,
            scanner_annotations(&exceptions.declared, exceptions.met_by_digest.as_deref(), images_of(d)),
            "{}",
            d.id()
        );
    }
    let excepted: Vec<(String, String)> = policy::check(
        &objects,
        &pool(),
        &flows,
        &lomash_manifests::catalogue().platform.scanner_exceptions,
        &budgets(),
    )
    .into_iter()
    .filter(|f| f.outcome == Outcome::Excepted)
    .map(|f| (f.rule, f.object))
    .collect();
    assert_eq!(
        excepted.len(),
        workloads
            .iter()
            .map(|d| scanner_exceptions_for(&exceptions.declared, exceptions.met_by_digest.as_deref(), images_of(d))
                .len())
            .sum::<usize>(),
        "each scanner exception listed as excepted once per Deployment and migration Job"
    );
}

#[test]
fn no_exception_reason_contains_an_equals_sign() {
    for (id, reason) in catalogue().platform.scanner_exceptions.declared {
        assert!(id.starts_with("CKV_K8S_"), "{id}");
        assert!(!reason.is_empty() && !reason.contains('='), "{id}: {reason}");
    }
}
