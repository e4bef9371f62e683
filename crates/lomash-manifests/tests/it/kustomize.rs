//! The generated production overlay, rendered by the real `kubectl kustomize`: it must render
//! with nothing on stderr, read back strictly into k8s-openapi types, equal the typed production
//! intent object for object, and carry every production value of the spec (`docs/spec.md`, which
//! restates the team's spec pages), which this file restates independently.
//!
//! What the oracle restates, and what it takes from the catalogue:
//! - [`SPEC`] is the service table of the spec, nine rows, and [`SPEC_CONFIG`] its
//!   service-specific ConfigMap keys: each row is checked on the service it names, which must be
//!   in the catalogue.
//! - Every platform value (namespace, labels, replicas, security context, scheduling, probes,
//!   init containers, the ConfigMap's platform keys, HPA minimum and window, PDB) is restated here
//!   and checked on every service of the catalogue.
//! - A service the table does not name (one added after the spec) is checked with its own spec
//!   sheet's values for what the table would fix (port, resources, HPA, edges), and with every
//!   platform value: restating them here would only copy the sheet.
//! - Names, counts and image tags come from the catalogue and its release, so a release
//!   (`cargo xtask set-image`) or a new service (`cargo xtask new-service`) breaks nothing here;
//!   [`the_oracle_follows_a_release_and_a_new_service`] shows both.

use crate::common;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use lomash_manifests::object::{parse_documents, Object};
use lomash_manifests::spec::{Autoscale, Uses};
use lomash_manifests::{catalogue, layout, platform, render, validate, Catalogue, File};
use pretty_assertions::assert_eq;

use common::{edit, kustomized, OVERLAY};

/// One row of the service table of the spec (`docs/spec.md`).
struct Row {
    name: &'static str,
    port: i32,
    cpu: (&'static str, &'static str),
    memory: (&'static str, &'static str),
    hpa_max: i32,
    cpu_percent: i32,
    memory_percent: i32,
    postgres: bool,
    redis: bool,
}

const fn row(
    name: &'static str,
    port: i32,
    cpu: (&'static str, &'static str),
    memory: (&'static str, &'static str),
    hpa_max: i32,
    (cpu_percent, memory_percent): (i32, i32),
    (postgres, redis): (bool, bool),
) -> Row {
    Row { name, port, cpu, memory, hpa_max, cpu_percent, memory_percent, postgres, redis }
}

const SPEC: [Row; 9] = [
    row("api-gateway", 3000, ("500m", "2000m"), ("512Mi", "1Gi"), 20, (60, 75), (false, true)),
    row("auth-service", 3001, ("250m", "1000m"), ("256Mi", "1Gi"), 15, (70, 80), (true, true)),
    row("product-service", 3002, ("250m", "1000m"), ("256Mi", "1Gi"), 15, (70, 80), (true, true)),
    row("order-payment-service", 3003, ("500m", "2000m"), ("512Mi", "2Gi"), 20, (65, 75), (true, true)),
    row("appointment-service", 3004, ("250m", "1000m"), ("256Mi", "1Gi"), 10, (70, 80), (true, true)),
    row("content-service", 3005, ("250m", "1000m"), ("256Mi", "1Gi"), 10, (70, 80), (true, true)),
    row("customer-service", 3006, ("250m", "1000m"), ("256Mi", "1Gi"), 10, (70, 80), (true, true)),
    row("notification-service", 3007, ("250m", "1000m"), ("256Mi", "1Gi"), 10, (70, 80), (true, true)),
    row("analytics-service", 3008, ("500m", "2000m"), ("512Mi", "2Gi"), 10, (65, 75), (true, true)),
];

/// The service-specific ConfigMap keys the spec fixes. A key a spec sheet adds beyond these
/// is the sheet's own (the spec does not fix it) and is expected as the sheet writes it.
const SPEC_CONFIG: &[(&str, &[(&str, &str)])] = &[(
    "analytics-service",
    &[
        ("INGESTION_BATCH_SIZE", "500"),
        ("INGESTION_FLUSH_INTERVAL_MS", "5000"),
        ("EVENT_RETENTION_DAYS", "365"),
        ("CACHE_TTL_DASHBOARD", "900"),
    ],
)];

/// The service that routes to every other one, with one `<NAME>_SERVICE_URL` each.
const GATEWAY: &str = "api-gateway";

const NAMESPACE: &str = "lomash-wood-production";
/// docs/spec.md ("Go-live") §1: images are `<registry>/lomashwood/<service>:<tag>`, the init images Docker
/// Hub's through the registry's pull-through cache.
const REGISTRY: &str = "123456789012.dkr.ecr.eu-west-2.amazonaws.com";
const POSTGRES_IMAGE: &str = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/docker-hub/library/postgres:16.4-alpine";
/// docs/spec.md ("Go-live") §2: the label that carries the first phase of a release.
const PHASE_LABEL: (&str, &str) = ("lomashwood.co.uk/apply-phase", "migrate");
const REDIS_IMAGE: &str = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/docker-hub/library/redis:7.4-alpine";

/// What the oracle expects of one service of the catalogue: its row of [`SPEC`] when the table
/// names it, else its own spec sheet's values for what a row fixes; its tag from the release.
#[derive(Debug, Clone)]
struct Expected {
    name: String,
    port: i32,
    cpu: (String, String),
    memory: (String, String),
    hpa_max: i32,
    cpu_percent: i32,
    memory_percent: i32,
    postgres: bool,
    redis: bool,
    /// Routes to every other service (the gateway).
    routes: bool,
    /// Service-specific ConfigMap keys, beside the platform's and the gateway's routes.
    config: BTreeMap<String, String>,
    /// The production tag, from the release.
    tag: String,
    /// docs/spec.md ("Go-live") §7: `DATABASE_POOL_SIZE` of a Postgres user, 5 unless its sheet sets its own.
    pool: u32,
}

impl Expected {
    /// The version label: the tag without its digest (a label value has no room for one).
    fn version(&self) -> &str {
        self.tag.split('@').next().unwrap_or_default()
    }

    /// `registry/name:tag`, or `registry/name@sha256:…` for a release pinned by digest.
    fn image(&self) -> String {
        match self.tag.split_once('@') {
            Some((_, digest)) => format!("{REGISTRY}/lomashwood/{}@{digest}", self.name),
            None => format!("{REGISTRY}/lomashwood/{}:{}", self.name, self.tag),
        }
    }

    /// The image of a wait container: the spec's, and beside a release pinned by digest pinned
    /// by a digest too (the spec fixes the tag; the digest is the one that tag had).
    fn wait_image_matches(&self, spec_image: &str, image: Option<&str>) -> bool {
        let Some(image) = image else { return false };
        match (self.tag.contains('@'), image.strip_prefix(spec_image)) {
            (false, Some(rest)) => rest.is_empty(),
            (true, Some(rest)) => rest
                .strip_prefix("@sha256:")
                .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())),
            (_, None) => false,
        }
    }
}

/// The expectation of every service of `c`, in catalogue order; an error when a row of [`SPEC`]
/// names a service the catalogue lacks, or a service has no production tag.
fn expectations(c: &Catalogue) -> Result<Vec<Expected>, String> {
    for row in &SPEC {
        if !c.services.iter().any(|s| s.name == row.name) {
            return Err(format!(
                "{}: the spec lists it (docs/spec.md), but the catalogue has no such service",
                row.name
            ));
        }
    }
    let tags = c.release.tags_for("production").ok_or("the release has no production tags")?;
    let pair = |r: &lomash_manifests::spec::Resources| -> Result<(String, String), String> {
        Ok((r.request.clone().ok_or("no request")?, r.limit.clone().ok_or("no limit")?))
    };
    c.services
        .iter()
        .map(|def| {
            let tag = tags.get(&def.name).ok_or(format!("{}: no production tag in the release", def.name))?.clone();
            let spec_config = SPEC_CONFIG.iter().find(|(n, _)| *n == def.name).map_or(&[][..], |(_, keys)| keys);
            // The sheet's own keys, then the spec's over them: a spec key set otherwise is caught.
            let mut config: BTreeMap<String, String> = def.config.iter().cloned().collect();
            config.extend(spec_config.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
            Ok(match SPEC.iter().find(|r| r.name == def.name) {
                Some(r) => Expected {
                    name: r.name.to_owned(),
                    port: r.port,
                    cpu: (r.cpu.0.to_owned(), r.cpu.1.to_owned()),
                    memory: (r.memory.0.to_owned(), r.memory.1.to_owned()),
                    hpa_max: r.hpa_max,
                    cpu_percent: r.cpu_percent,
                    memory_percent: r.memory_percent,
                    postgres: r.postgres,
                    redis: r.redis,
                    routes: r.name == GATEWAY,
                    config,
                    tag,
                    pool: def.pool_size.unwrap_or(5),
                },
                None => Expected {
                    name: def.name.clone(),
                    port: i32::try_from(def.port).map_err(|e| format!("{}: port: {e}", def.name))?,
                    cpu: pair(&def.cpu).map_err(|e| format!("{}: cpu: {e}", def.name))?,
                    memory: pair(&def.memory).map_err(|e| format!("{}: memory: {e}", def.name))?,
                    hpa_max: def.autoscaling.max_replicas,
                    cpu_percent: def.autoscaling.cpu_percent,
                    memory_percent: def.autoscaling.memory_percent,
                    postgres: def.uses_store("postgres"),
                    redis: def.uses_store("redis"),
                    routes: def.uses.contains(&Uses::AllServices),
                    config,
                    tag,
                    pool: def.pool_size.unwrap_or(5),
                },
            })
        })
        .collect()
}

/// Renders `files` with kubectl and reads the objects back strictly.
fn kubectl_objects(files: &[File]) -> Result<Vec<Object>, String> {
    parse_documents(&kustomized(files, OVERLAY)?)
}

fn rendered_files() -> Vec<File> {
    render(&catalogue()).expect("the catalogue is valid")
}

fn find<'a>(objects: &'a [Object], kind: &str, name: &str) -> Result<&'a Object, String> {
    objects
        .iter()
        .find(|o| o.kind() == kind && o.name() == name)
        .ok_or_else(|| format!("{kind}/{name} is not in the rendered output"))
}

/// Every production value of the spec, checked on kubectl's output for every service of
/// `catalogue`; the first difference is the error.
fn check_spec(catalogue: &Catalogue, objects: &[Object]) -> Result<(), String> {
    let expected = expectations(catalogue)?;
    // The spec: the Namespace is part of the overlay, with its Pod Security labels.
    let (namespaces, objects): (Vec<Object>, Vec<Object>) =
        objects.iter().cloned().partition(|o| matches!(o, Object::Namespace(_)));
    let [Object::Namespace(ns)] = namespaces.as_slice() else {
        return Err(format!("{} Namespace objects rendered, expected 1", namespaces.len()));
    };
    check("Namespace", "name", ns.metadata.name.as_deref(), Some(NAMESPACE))?;
    let want: BTreeMap<String, String> = [
        ("pod-security.kubernetes.io/enforce", "restricted"),
        ("pod-security.kubernetes.io/enforce-version", "v1.33"),
        ("pod-security.kubernetes.io/audit", "restricted"),
        ("pod-security.kubernetes.io/warn", "restricted"),
        // docs/spec.md ("Go-live") §2: the Jobs need their namespace, so it is applied with them.
        PHASE_LABEL,
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    check("Namespace", "labels", ns.metadata.labels.as_ref(), Some(&want))?;
    let objects = objects.as_slice();
    // Per service: ServiceAccount, ConfigMap, Service, Deployment, HPA, PDB, NetworkPolicy and
    // ExternalSecret (their values are checked by tests/it/network.rs and tests/it/secrets.rs); the
    // gateway's Ingress; a migration Job and its NetworkPolicy per Postgres user (docs/spec.md ("Go-live") §2);
    // and the default-deny and DNS policies, the SecretStore and its ServiceAccount (docs/spec.md ("Go-live") §6,
    // checked by tests/it/secrets.rs).
    let wide = 4;
    let migrating = expected.iter().filter(|e| e.postgres).count();
    let want = 8 * expected.len() + 1 + 2 * migrating + wide;
    if objects.len() != want {
        return Err(format!(
            "{} objects rendered beside the Namespace, expected 8 for each of the catalogue's {} services, the \
             gateway's Ingress, 2 for each of its {migrating} Postgres users and {wide} environment-wide objects \
             ({want})",
            objects.len(),
            expected.len(),
        ));
    }
    for o in objects {
        let meta = o.metadata();
        check(&o.id(), "namespace", meta.namespace.as_deref(), Some(NAMESPACE))?;
        let owner = expected.iter().find(|e| {
            o.name() == e.name || o.name() == format!("{}-config", e.name) || o.name() == format!("{}-secret", e.name)
        });
        // docs/spec.md ("Go-live") §2: each migration Job (checked with its service) and its policy (checked
        // by tests/it/network.rs) carry the phase label.
        let migration = expected.iter().find(|e| {
            o.name() == format!("{}-migrate", e.name) || o.name().starts_with(&format!("{}-migrate-", e.name))
        });
        if let (None, Some(e)) = (owner, migration) {
            let mut want = labels(e);
            want.insert(PHASE_LABEL.0.into(), PHASE_LABEL.1.into());
            if matches!(o, Object::Job(_)) {
                want.remove("app");
                want.insert("app.kubernetes.io/component".into(), "migration".into());
            }
            check(&o.id(), "labels", meta.labels.as_ref(), Some(&want))?;
            continue;
        }
        // docs/spec.md ("The network"): the two environment-wide policies belong to no one service, nor do the
        // SecretStore and its ServiceAccount (docs/spec.md ("Go-live") §6).
        let wide = match o {
            Object::NetworkPolicy(_) => ["default-deny", "allow-dns"].contains(&o.name()),
            Object::SecretStore(_) => o.name() == "aws-secrets-manager",
            Object::ServiceAccount(_) => o.name() == "external-secrets",
            _ => false,
        };
        if owner.is_none() && wide {
            continue;
        }
        let owner = owner.ok_or(format!("{}: belongs to no service of the catalogue", o.id()))?;
        let mut want = labels(owner);
        // What a Postgres user's migration Job reads is applied with it, in the first phase.
        if owner.postgres && matches!(o, Object::ServiceAccount(_) | Object::ConfigMap(_) | Object::ExternalSecret(_)) {
            want.insert(PHASE_LABEL.0.into(), PHASE_LABEL.1.into());
        }
        // Every NetworkPolicy too: a default deny applied alone would cut the running pods off.
        if matches!(o, Object::NetworkPolicy(_)) {
            want.insert(PHASE_LABEL.0.into(), PHASE_LABEL.1.into());
        }
        check(&o.id(), "labels", meta.labels.as_ref(), Some(&want))?;
    }
    for e in &expected {
        check_service(objects, e, &expected).map_err(|err| format!("{}: {err}", e.name))?;
    }
    Ok(())
}

fn check<T: PartialEq + std::fmt::Debug>(object: &str, field: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{object}: {field}: got {got:?}, want {want:?}"))
    }
}

fn labels(e: &Expected) -> BTreeMap<String, String> {
    [
        ("app", e.name.as_str()),
        ("app.kubernetes.io/name", e.name.as_str()),
        ("app.kubernetes.io/part-of", "lomash-wood"),
        ("app.kubernetes.io/version", e.version()),
        ("app.kubernetes.io/managed-by", "kustomize"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn selector(e: &Expected) -> BTreeMap<String, String> {
    BTreeMap::from([("app".to_owned(), e.name.clone())])
}

fn check_service(objects: &[Object], e: &Expected, all: &[Expected]) -> Result<(), String> {
    let Object::Deployment(d) = find(objects, "Deployment", &e.name)? else { unreachable!() };
    check_deployment(d, e)?;

    let Object::ConfigMap(cm) = find(objects, "ConfigMap", &format!("{}-config", e.name))? else { unreachable!() };
    let pod = pod(d);
    let main = &pod.containers[0];
    check_environment(objects, main, e, all)?;
    check("ConfigMap", "exists with data", cm.data.is_some(), true)?;

    let Object::Service(svc) = find(objects, "Service", &e.name)? else { unreachable!() };
    let spec = svc.spec.as_ref().ok_or("Service has no spec")?;
    check("Service", "type", spec.type_.as_deref(), Some("ClusterIP"))?;
    check("Service", "selector", spec.selector.as_ref(), Some(&selector(e)))?;
    let port = &spec.ports.as_ref().ok_or("Service has no ports")?[0];
    check("Service", "port", port.port, e.port)?;
    check("Service", "targetPort", port.target_port.as_ref(), Some(&IntOrString::String("http".into())))?;

    let Object::HorizontalPodAutoscaler(hpa) = find(objects, "HorizontalPodAutoscaler", &e.name)? else {
        unreachable!()
    };
    let spec = hpa.spec.as_ref().ok_or("HPA has no spec")?;
    check("HPA", "scaleTargetRef.kind", spec.scale_target_ref.kind.as_str(), "Deployment")?;
    check("HPA", "scaleTargetRef.name", spec.scale_target_ref.name.as_str(), e.name.as_str())?;
    check("HPA", "minReplicas", spec.min_replicas, Some(3))?;
    check("HPA", "maxReplicas", spec.max_replicas, e.hpa_max)?;
    let targets: Vec<(String, Option<i32>)> = spec
        .metrics
        .iter()
        .flatten()
        .filter_map(|m| m.resource.as_ref())
        .map(|r| (r.name.clone(), r.target.average_utilization))
        .collect();
    let want = vec![("cpu".to_owned(), Some(e.cpu_percent)), ("memory".to_owned(), Some(e.memory_percent))];
    check("HPA", "metrics", targets, want)?;
    let window =
        spec.behavior.as_ref().and_then(|b| b.scale_down.as_ref()).and_then(|s| s.stabilization_window_seconds);
    check("HPA", "scaleDown.stabilizationWindowSeconds", window, Some(300))?;
    // docs/spec.md ("The base and production"): at most half the pods a minute.
    let policies: Vec<(String, i32, i32)> = spec
        .behavior
        .as_ref()
        .and_then(|b| b.scale_down.as_ref())
        .and_then(|s| s.policies.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.type_, p.value, p.period_seconds))
        .collect();
    check("HPA", "scaleDown.policies", policies, vec![("Percent".to_owned(), 50, 60)])?;
    // docs/spec.md ("Go-live") §8: at most 4 pods or half again a minute, whichever is more, without delay.
    let up = spec.behavior.as_ref().and_then(|b| b.scale_up.as_ref()).ok_or("HPA has no scaleUp")?;
    check("HPA", "scaleUp.stabilizationWindowSeconds", up.stabilization_window_seconds, Some(0))?;
    check("HPA", "scaleUp.selectPolicy", up.select_policy.as_deref(), Some("Max"))?;
    let policies: Vec<(String, i32, i32)> =
        up.policies.clone().unwrap_or_default().into_iter().map(|p| (p.type_, p.value, p.period_seconds)).collect();
    check("HPA", "scaleUp.policies", policies, vec![("Pods".to_owned(), 4, 60), ("Percent".to_owned(), 50, 60)])?;
    if e.name == GATEWAY {
        check_ingress(find(objects, "Ingress", GATEWAY)?, e)?;
    }
    if e.postgres {
        check_migration_job(objects, e)?;
    }

    let Object::PodDisruptionBudget(pdb) = find(objects, "PodDisruptionBudget", &e.name)? else { unreachable!() };
    let spec = pdb.spec.as_ref().ok_or("PDB has no spec")?;
    check("PDB", "minAvailable", spec.min_available.as_ref(), Some(&IntOrString::Int(2)))?;
    check("PDB", "unhealthyPodEvictionPolicy", spec.unhealthy_pod_eviction_policy.as_deref(), Some("AlwaysAllow"))?;

    // docs/spec.md ("The base and production"): one ServiceAccount per service, without a token.
    let Object::ServiceAccount(sa) = find(objects, "ServiceAccount", &e.name)? else { unreachable!() };
    check("ServiceAccount", "automountServiceAccountToken", sa.automount_service_account_token, Some(false))?;
    check("PDB", "selector", spec.selector.as_ref().and_then(|s| s.match_labels.as_ref()), Some(&selector(e)))?;
    Ok(())
}

fn pod(d: &Deployment) -> &PodSpec {
    d.spec.as_ref().and_then(|s| s.template.spec.as_ref()).expect("a Deployment has a pod spec")
}

fn check_deployment(d: &Deployment, e: &Expected) -> Result<(), String> {
    let spec = d.spec.as_ref().ok_or("Deployment has no spec")?;
    // docs/spec.md ("The base and production"): the HPA owns the count; an apply must never reset it.
    check("Deployment", "replicas", spec.replicas, None)?;
    check("Deployment", "minReadySeconds", spec.min_ready_seconds, Some(10))?;
    check("Deployment", "selector", spec.selector.match_labels.as_ref(), Some(&selector(e)))?;
    check(
        "Deployment",
        "template labels",
        spec.template.metadata.as_ref().and_then(|m| m.labels.as_ref()),
        Some(&labels(e)),
    )?;
    let rolling = spec.strategy.as_ref().and_then(|s| s.rolling_update.as_ref()).ok_or("no rollingUpdate")?;
    check("Deployment", "maxSurge", rolling.max_surge.as_ref(), Some(&IntOrString::Int(1)))?;
    check("Deployment", "maxUnavailable", rolling.max_unavailable.as_ref(), Some(&IntOrString::Int(1)))?;

    let pod = pod(d);
    check("pod", "serviceAccountName", pod.service_account_name.as_deref(), Some(e.name.as_str()))?;
    check("pod", "terminationGracePeriodSeconds", pod.termination_grace_period_seconds, Some(45))?;
    check("pod", "automountServiceAccountToken", pod.automount_service_account_token, Some(false))?;
    let psc = pod.security_context.as_ref().ok_or("no pod securityContext")?;
    check("pod", "runAsNonRoot", psc.run_as_non_root, Some(true))?;
    check("pod", "runAsUser", psc.run_as_user, Some(1001))?;
    check("pod", "runAsGroup", psc.run_as_group, Some(1001))?;
    check("pod", "fsGroup", psc.fs_group, Some(1001))?;
    check("pod", "seccompProfile", psc.seccomp_profile.as_ref().map(|s| s.type_.as_str()), Some("RuntimeDefault"))?;

    let affinity = pod.affinity.as_ref().ok_or("no affinity")?;
    let terms = &affinity
        .node_affinity
        .as_ref()
        .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref())
        .ok_or("no required node affinity")?
        .node_selector_terms;
    let expressions: Vec<(String, String, Vec<String>)> = terms
        .iter()
        .flat_map(|t| t.match_expressions.iter().flatten())
        .map(|e| (e.key.clone(), e.operator.clone(), e.values.clone().unwrap_or_default()))
        .collect();
    let want = vec![
        ("node-role".to_owned(), "In".to_owned(), vec!["backend".to_owned()]),
        ("environment".to_owned(), "In".to_owned(), vec!["production".to_owned()]),
    ];
    check("pod", "nodeAffinity", expressions, want)?;
    let anti = affinity
        .pod_anti_affinity
        .as_ref()
        .and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref())
        .ok_or("no required pod anti-affinity")?;
    check("pod", "podAntiAffinity terms", anti.len(), 1)?;
    check("pod", "podAntiAffinity.topologyKey", anti[0].topology_key.as_str(), "kubernetes.io/hostname")?;
    check(
        "pod",
        "podAntiAffinity.labelSelector",
        anti[0].label_selector.as_ref().and_then(|s| s.match_labels.as_ref()),
        Some(&selector(e)),
    )?;
    let spread = pod.topology_spread_constraints.as_ref().ok_or("no topologySpreadConstraints")?;
    check("pod", "topologySpreadConstraints", spread.len(), 1)?;
    check("spread", "topologyKey", spread[0].topology_key.as_str(), "topology.kubernetes.io/zone")?;
    check("spread", "maxSkew", spread[0].max_skew, 1)?;
    check("spread", "whenUnsatisfiable", spread[0].when_unsatisfiable.as_str(), "DoNotSchedule")?;
    check("spread", "nodeTaintsPolicy", spread[0].node_taints_policy.as_deref(), Some("Honor"))?;
    check(
        "spread",
        "labelSelector",
        spread[0].label_selector.as_ref().and_then(|s| s.match_labels.as_ref()),
        Some(&selector(e)),
    )?;
    let tmp = pod.volumes.iter().flatten().find(|v| v.name == "tmp").ok_or("no tmp volume")?;
    check(
        "pod",
        "volumes.tmp.emptyDir.sizeLimit",
        tmp.empty_dir.as_ref().and_then(|e| e.size_limit.as_ref()).map(|q| q.0.as_str()),
        Some("256Mi"),
    )?;

    check("pod", "containers", pod.containers.len(), 1)?;
    let main = &pod.containers[0];
    let image = e.image();
    check("container", "name", main.name.as_str(), e.name.as_str())?;
    check("container", "image", main.image.as_deref(), Some(image.as_str()))?;
    check_hardened(main)?;
    check_resources(main, &e.cpu, &e.memory)?;
    let pre_stop = main.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()).and_then(|h| h.sleep.as_ref());
    check("container", "lifecycle.preStop.sleep.seconds", pre_stop.map(|s| s.seconds), Some(10))?;
    let port = &main.ports.as_ref().ok_or("no container ports")?[0];
    check("container", "port", (port.name.as_deref(), port.container_port), (Some("http"), e.port))?;
    let probes = [
        ("liveness", main.liveness_probe.as_ref(), "/health/live", 10, Some(3), 3),
        ("readiness", main.readiness_probe.as_ref(), "/health/ready", 5, Some(3), 3),
        ("startup", main.startup_probe.as_ref(), "/health/startup", 10, Some(3), 12),
    ];
    for (kind, probe, path, period, timeout, failures) in probes {
        let probe = probe.ok_or(format!("no {kind} probe"))?;
        let get = probe.http_get.as_ref().ok_or(format!("{kind} probe is not HTTP GET"))?;
        check(kind, "path", get.path.as_deref(), Some(path))?;
        check(kind, "port", &get.port, &IntOrString::String("http".into()))?;
        check(kind, "periodSeconds", probe.period_seconds, Some(period))?;
        check(kind, "timeoutSeconds", probe.timeout_seconds, timeout)?;
        check(kind, "failureThreshold", probe.failure_threshold, Some(failures))?;
    }

    let init = pod.init_containers.as_deref().unwrap_or_default();
    let names: Vec<&str> = init.iter().map(|c| c.name.as_str()).collect();
    // Each waits for what the service uses; docs/spec.md ("Go-live") §2: no pod of a Deployment runs the
    // migrations any more (the Job of the release does).
    let want: Vec<&str> = [(e.postgres, "wait-for-postgres"), (e.redis, "wait-for-redis")]
        .into_iter()
        .filter_map(|(used, name)| used.then_some(name))
        .collect();
    check("pod", "initContainers (in order)", names, want)?;
    for c in init {
        check_wait(c, e)?;
    }
    Ok(())
}

/// A wait container: the store's own client image, a shell script that asks the right tool, the
/// ConfigMap for the address, small resources, hardened.
fn check_wait(c: &Container, e: &Expected) -> Result<(), String> {
    check_hardened(c)?;
    let command = c.command.clone().unwrap_or_default();
    let sh = |script: &str| vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()];
    // The scripts are run for real, with stubs, by tests/it/readiness.rs; here: a shell script
    // that asks the right tool.
    let (wait_image, tool) = match c.name.as_str() {
        "wait-for-postgres" => (POSTGRES_IMAGE, "pg_isready"),
        "wait-for-redis" => (REDIS_IMAGE, "redis-cli"),
        other => return Err(format!("{other}: not a wait container of the spec")),
    };
    // Beside a release pinned by digest, the wait image is pinned by a digest too.
    let pinned = if e.tag.contains('@') { format!("{wait_image}@sha256:<64 hex>") } else { wait_image.to_owned() };
    check(
        &c.name,
        "image",
        // The image as it is when it does not match, so the message shows it.
        if e.wait_image_matches(wait_image, c.image.as_deref()) { Some(pinned.as_str()) } else { c.image.as_deref() },
        Some(pinned.as_str()),
    )?;
    check(&c.name, "command[..2]", &command[..2.min(command.len())], &sh("")[..2])?;
    let script = command.get(2).cloned().unwrap_or_default();
    check(&c.name, &format!("script calls {tool}"), script.contains(tool), true)?;
    // docs/spec.md ("Go-live") §3: every attempt bounded to 3 s (redis-cli has no timeout of its own).
    let bounded = if tool == "redis-cli" { "timeout 3 redis-cli " } else { "--timeout=3" };
    check(&c.name, &format!("each attempt bounded ({bounded})"), script.contains(bounded), true)?;
    // The wait containers read DB_HOST/REDIS_HOST from the ConfigMap.
    check(&c.name, "envFrom", env_from_names(c), vec![format!("{}-config", e.name)])?;
    check_resources(c, &("50m".into(), "200m".into()), &("64Mi".into(), "128Mi".into()))
}

/// docs/spec.md ("Go-live") §2: the Job of this release, for a Postgres user: named after its image, its pods
/// uncounted by the service's selectors, the spec's limits, one `migrate` container running the
/// image's own Prisma, after `wait-for-postgres`.
fn check_migration_job(objects: &[Object], e: &Expected) -> Result<(), String> {
    let jobs: Vec<&Object> = objects
        .iter()
        .filter(|o| matches!(o, Object::Job(_)))
        .filter(|o| o.name().starts_with(&format!("{}-migrate-", e.name)))
        .collect();
    let [Object::Job(job)] = jobs.as_slice() else {
        return Err(format!("{} migration Jobs, want 1", jobs.len()));
    };
    let image = e.image();
    let hash = sha256_hex(&image);
    let name = format!("{}-migrate-{}", e.name, &hash[..10]);
    check("Job", "name", job.metadata.name.as_deref(), Some(name.as_str()))?;
    let mut want_labels = labels(e);
    want_labels.remove("app");
    want_labels.insert("app.kubernetes.io/component".into(), "migration".into());
    let pod_labels = want_labels.clone();
    want_labels.insert(PHASE_LABEL.0.into(), PHASE_LABEL.1.into());
    check("Job", "labels", job.metadata.labels.as_ref(), Some(&want_labels))?;
    let spec = job.spec.as_ref().ok_or("Job has no spec")?;
    check("Job", "backoffLimit", spec.backoff_limit, Some(2))?;
    check("Job", "activeDeadlineSeconds", spec.active_deadline_seconds, Some(600))?;
    check("Job", "ttlSecondsAfterFinished", spec.ttl_seconds_after_finished, Some(604800))?;
    let template = &spec.template;
    check("Job pod", "labels", template.metadata.as_ref().and_then(|m| m.labels.as_ref()), Some(&pod_labels))?;
    let pod = template.spec.as_ref().ok_or("the Job has no pod spec")?;
    check("Job pod", "restartPolicy", pod.restart_policy.as_deref(), Some("Never"))?;
    check("Job pod", "serviceAccountName", pod.service_account_name.as_deref(), Some(e.name.as_str()))?;
    check("Job pod", "automountServiceAccountToken", pod.automount_service_account_token, Some(false))?;
    let psc = pod.security_context.as_ref().ok_or("no pod securityContext")?;
    check("Job pod", "runAsUser", psc.run_as_user, Some(1001))?;
    check("Job pod", "runAsNonRoot", psc.run_as_non_root, Some(true))?;
    check("Job pod", "seccompProfile", psc.seccomp_profile.as_ref().map(|s| s.type_.as_str()), Some("RuntimeDefault"))?;
    let node = pod.affinity.as_ref().and_then(|a| a.node_affinity.as_ref());
    let expressions: Vec<(String, Vec<String>)> = node
        .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref())
        .map(|s| {
            s.node_selector_terms
                .iter()
                .flat_map(|t| t.match_expressions.iter().flatten())
                .map(|x| (x.key.clone(), x.values.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let want = vec![
        ("node-role".to_owned(), vec!["backend".to_owned()]),
        ("environment".to_owned(), vec!["production".to_owned()]),
    ];
    check("Job pod", "nodeAffinity", expressions, want)?;
    let init: Vec<&str> = pod.init_containers.iter().flatten().map(|c| c.name.as_str()).collect();
    check("Job pod", "initContainers", init, vec!["wait-for-postgres"])?;
    for c in pod.init_containers.iter().flatten() {
        check_wait(c, e)?;
    }
    let [c] = pod.containers.as_slice() else { return Err(format!("{} Job containers, want 1", pod.containers.len())) };
    check("Job", "container", c.name.as_str(), "migrate")?;
    check("migrate", "image", c.image.as_deref(), Some(image.as_str()))?;
    // docs/spec.md ("The base and production"): the image's own Prisma CLI, never npx.
    let want: Vec<String> = ["node_modules/.bin/prisma", "migrate", "deploy"].map(String::from).to_vec();
    check("migrate", "command", c.command.clone(), Some(want))?;
    let env: Vec<(String, Option<String>)> =
        c.env.iter().flatten().map(|e| (e.name.clone(), e.value.clone())).collect();
    let want =
        vec![("HOME".to_owned(), Some("/tmp".to_owned())), ("CHECKPOINT_DISABLE".to_owned(), Some("1".to_owned()))];
    check("migrate", "env (HOME writable under a read-only root; no update checks)", env, want)?;
    check("migrate", "envFrom", env_from_names(c), vec![format!("{}-config", e.name), format!("{}-secret", e.name)])?;
    check_resources(c, &e.cpu, &e.memory)?;
    check_hardened(c)
}

/// The lowercase hex SHA-256 of `text`, by `sha256sum` (the oracle does not borrow the code's).
fn sha256_hex(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum runs");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap_or_default().to_owned()
}

/// docs/spec.md ("Go-live") §4: the gateway's Ingress for the AWS Load Balancer Controller.
fn check_ingress(o: &Object, e: &Expected) -> Result<(), String> {
    let Object::Ingress(ingress) = o else { unreachable!() };
    check("Ingress", "labels", ingress.metadata.labels.as_ref(), Some(&labels(e)))?;
    let want: BTreeMap<String, String> = [
        ("alb.ingress.kubernetes.io/scheme", "internet-facing"),
        ("alb.ingress.kubernetes.io/target-type", "ip"),
        ("alb.ingress.kubernetes.io/listen-ports", r#"[{"HTTPS":443}]"#),
        ("alb.ingress.kubernetes.io/healthcheck-path", "/health/ready"),
        ("alb.ingress.kubernetes.io/ssl-policy", "ELBSecurityPolicy-TLS13-1-2-2021-06"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    check("Ingress", "annotations", ingress.metadata.annotations.as_ref(), Some(&want))?;
    let spec = ingress.spec.as_ref().ok_or("Ingress has no spec")?;
    check("Ingress", "ingressClassName", spec.ingress_class_name.as_deref(), Some("alb"))?;
    let rules = spec.rules.as_deref().unwrap_or_default();
    check("Ingress", "rules", rules.len(), 1)?;
    check("Ingress", "host", rules[0].host.as_deref(), Some("api.lomashwood.co.uk"))?;
    let paths = rules[0].http.as_ref().map(|h| h.paths.as_slice()).unwrap_or_default();
    // (path, type, Service, port name)
    let got: Vec<[Option<&str>; 4]> = paths
        .iter()
        .map(|p| {
            let service = p.backend.service.as_ref();
            [
                p.path.as_deref(),
                Some(p.path_type.as_str()),
                service.map(|s| s.name.as_str()),
                service.and_then(|s| s.port.as_ref()).and_then(|p| p.name.as_deref()),
            ]
        })
        .collect();
    check("Ingress", "paths", got, vec![[Some("/"), Some("Prefix"), Some(GATEWAY), Some("http")]])?;
    let tls: Vec<(Option<Vec<String>>, Option<&str>)> =
        spec.tls.iter().flatten().map(|t| (t.hosts.clone(), t.secret_name.as_deref())).collect();
    // No certificate in the repository: the controller finds it by host.
    check("Ingress", "tls", tls, vec![(Some(vec!["api.lomashwood.co.uk".to_owned()]), None)])
}

fn check_hardened(c: &Container) -> Result<(), String> {
    let name = c.name.as_str();
    check(name, "imagePullPolicy", c.image_pull_policy.as_deref(), Some("Always"))?;
    let sc = c.security_context.as_ref().ok_or(format!("{name}: no securityContext"))?;
    check(name, "allowPrivilegeEscalation", sc.allow_privilege_escalation, Some(false))?;
    check(name, "readOnlyRootFilesystem", sc.read_only_root_filesystem, Some(true))?;
    check(name, "privileged", sc.privileged, Some(false))?;
    check(name, "runAsNonRoot", sc.run_as_non_root, Some(true))?;
    let drop = sc.capabilities.as_ref().and_then(|c| c.drop.clone());
    check(name, "capabilities.drop", drop, Some(vec!["ALL".to_owned()]))?;
    let tmp = c.volume_mounts.iter().flatten().any(|m| m.name == "tmp" && m.mount_path == "/tmp");
    check(name, "/tmp mounted", tmp, true)
}

fn check_resources(c: &Container, cpu: &(String, String), memory: &(String, String)) -> Result<(), String> {
    let r = c.resources.as_ref().ok_or(format!("{}: no resources", c.name))?;
    let get = |m: &Option<BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>, k: &str| {
        m.as_ref().and_then(|m| m.get(k)).map(|q| q.0.clone())
    };
    let got = (get(&r.requests, "cpu"), get(&r.limits, "cpu"), get(&r.requests, "memory"), get(&r.limits, "memory"));
    let want = (Some(cpu.0.clone()), Some(cpu.1.clone()), Some(memory.0.clone()), Some(memory.1.clone()));
    check(&format!("container {}", c.name), "resources (cpu req, cpu lim, mem req, mem lim)", got, want)
}

fn env_from_names(c: &Container) -> Vec<String> {
    c.env_from
        .iter()
        .flatten()
        .map(|e| match (&e.config_map_ref, &e.secret_ref) {
            (Some(cm), _) => cm.name.clone(),
            (_, Some(s)) => s.name.clone(),
            _ => String::from("?"),
        })
        .collect()
}

/// The environment the main container sees: ConfigMap values resolved through `envFrom`, and
/// the secret referenced by name only.
fn check_environment(objects: &[Object], main: &Container, e: &Expected, all: &[Expected]) -> Result<(), String> {
    let config = format!("{}-config", e.name);
    let secret = format!("{}-secret", e.name);
    check("container", "envFrom", env_from_names(main), vec![config.clone(), secret])?;
    let mut env = BTreeMap::new();
    for source in main.env_from.iter().flatten() {
        if let Some(cm) = &source.config_map_ref {
            let Object::ConfigMap(cm) = find(objects, "ConfigMap", &cm.name)? else { unreachable!() };
            env.extend(cm.data.clone().unwrap_or_default());
        }
    }
    let mut want: BTreeMap<String, String> = e.config.clone();
    let platform = [
        ("NODE_ENV", "production"),
        ("LOG_LEVEL", "info"),
        ("CORS_ORIGIN", "https://lomashwood.co.uk"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=production"),
        // docs/spec.md ("Go-live") §5.
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector.observability.svc.cluster.local:4317"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ];
    want.extend(platform.map(|(k, v)| (k.to_owned(), v.to_owned())));
    want.insert("PORT".into(), e.port.to_string());
    want.insert("OTEL_SERVICE_NAME".into(), e.name.clone());
    // docs/spec.md ("The base and production"): 75 % of the memory limit in MiB, rounded down.
    let mib = match e.memory.1.as_str() {
        l if l.ends_with("Gi") => l.trim_end_matches("Gi").parse::<u64>().map(|n| n * 1024),
        l if l.ends_with("Mi") => l.trim_end_matches("Mi").parse::<u64>(),
        other => return Err(format!("no NODE_OPTIONS oracle for a {other} limit")),
    }
    .map_err(|err| err.to_string())?;
    want.insert("NODE_OPTIONS".into(), format!("--max-old-space-size={}", mib * 75 / 100));
    if e.postgres {
        want.insert("DB_HOST".into(), "postgres-primary.lomash-wood-data.svc.cluster.local".into());
        want.insert("DB_PORT".into(), "5432".into());
        want.insert("DATABASE_POOL_SIZE".into(), e.pool.to_string());
    }
    if e.redis {
        want.insert("REDIS_HOST".into(), "redis-master.lomash-wood-data.svc.cluster.local".into());
        want.insert("REDIS_PORT".into(), "6379".into());
    }
    if e.routes {
        // One URL per other service of the catalogue: the name without `-service`, upper-cased,
        // dashes as underscores, plus `_SERVICE_URL`.
        for other in all.iter().filter(|o| o.name != e.name) {
            let stem = other.name.strip_suffix("-service").unwrap_or(&other.name).to_uppercase().replace('-', "_");
            want.insert(format!("{stem}_SERVICE_URL"), format!("http://{}:{}", other.name, other.port));
        }
    }
    check("container", "environment from envFrom", env, want)
}

/// kubectl's render of `catalogue`'s tree: every production value of the spec, and equal to the
/// typed production objects.
fn check_catalogue(catalogue: &Catalogue) -> Result<(), String> {
    let files = render(catalogue).map_err(|e| e.to_string())?;
    let rendered = kubectl_objects(&files)?;
    check_spec(catalogue, &rendered)
        .map_err(|e| format!("the rendered production overlay differs from the spec: {e}"))?;
    let model = validate(catalogue).map_err(|e| e.to_string())?;
    let intended = lomash_manifests::built::BuiltEnvironment::new(
        &model,
        model.platform.environment("production").ok_or("no production")?,
    )
    .objects;
    let by_id = |objects: &[Object]| -> BTreeMap<String, String> {
        objects.iter().map(|o| (o.id(), serde_yaml::to_string(&o.to_value()).unwrap())).collect()
    };
    check("kubectl output", "objects, by id", by_id(&rendered), by_id(&intended))?;
    match intended.iter().find(|o| !rendered.contains(o)) {
        Some(o) => Err(format!("{} differs between kubectl and the typed intent", o.id())),
        None => Ok(()),
    }
}

#[test]
fn kubectl_renders_every_production_value_of_the_spec() {
    let objects = kubectl_objects(&rendered_files()).unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = check_spec(&catalogue(), &objects) {
        panic!("the rendered production overlay differs from the spec (docs/spec.md): {e}");
    }
}

/// kustomize's result and the typed production intent are the same objects, field for field:
/// the patches say exactly what the definitions mean.
#[test]
fn kubectl_output_equals_the_typed_production_objects() {
    let rendered = kubectl_objects(&rendered_files()).unwrap_or_else(|e| panic!("{e}"));
    let model = validate(&catalogue()).unwrap();
    let intended =
        lomash_manifests::built::BuiltEnvironment::new(&model, model.platform.environment("production").unwrap())
            .objects;
    let by_id = |objects: &[Object]| -> BTreeMap<String, String> {
        objects.iter().map(|o| (o.id(), serde_yaml::to_string(&o.to_value()).unwrap())).collect()
    };
    assert_eq!(by_id(&intended), by_id(&rendered), "the typed production objects (left) and kubectl's (right), by id");
    for o in &intended {
        assert!(rendered.contains(o), "{} differs between kubectl and the typed intent", o.id());
    }
}

/// A service added after the spec (as `cargo xtask new-service` starts one, with a key of its
/// own): its sheet's values are its own, the spec fixes none of them. Its name and port are free
/// in the catalogue (whatever services it has by then); returns them.
fn added_service(c: &mut Catalogue) -> (String, u32) {
    let name = (0..)
        .map(|i| if i == 0 { "example-service".to_owned() } else { format!("example-service-{i}") })
        .find(|n| c.services.iter().all(|s| s.name != *n))
        .unwrap();
    let port = c.services.iter().map(|s| s.port).max().unwrap_or(3000) + 1;
    let def = platform::service(&name, port)
        .summary("An example service.")
        .cpu("250m", "1000m")
        .memory("256Mi", "1Gi")
        .autoscale(Autoscale { max: 12, cpu_percent: 70, memory_percent: 80 })
        .uses(lomash_manifests::platform::postgres())
        .config("EXAMPLE_SETTING", "on");
    c.services.push(def);
    c.release.set_tag_everywhere(&name, "0.1.0");
    (name, port)
}

/// The same checks hold after a release (every tag form, the version label without the digest)
/// and after a new service (counted, labelled, checked with its own values and every platform
/// value, and routed to by the gateway): nothing in the oracle names a tag or a count.
#[test]
fn the_oracle_follows_a_release_and_a_new_service() {
    let mut c = catalogue();
    let digest = format!("sha256:{}", "4f53cda18c2baa0c".repeat(4));
    c.release.set_tag("production", "auth-service", "1.2.3");
    c.release.set_tag("production", "analytics-service", &format!("2.0.0@{digest}"));
    c.release.set_tag("production", "product-service", "0123456789abcdef0123456789abcdef01234567");
    let (added, port) = added_service(&mut c);
    check_catalogue(&c).unwrap_or_else(|e| panic!("{e}"));

    // The new service's own values are checked: its HPA maximum, a platform value, its route.
    let files = render(&c).unwrap();
    let route = format!("http://{added}:{port}");
    let cases = [
        (
            format!("{OVERLAY}/resources/{added}.yaml"),
            "maxReplicas: 12".to_owned(),
            "maxReplicas: 13".to_owned(),
            format!("{added}: HPA: maxReplicas: got 13, want 12"),
        ),
        (
            format!("{OVERLAY}/resources/{added}.yaml"),
            "minAvailable: 2".to_owned(),
            "minAvailable: 1".to_owned(),
            format!("{added}: PDB: minAvailable: got Some(Int(1)), want Some(Int(2))"),
        ),
        (
            layout::kustomization("production"),
            "newTag: '1.2.3'".to_owned(),
            "newTag: '1.2.4'".to_owned(),
            format!("auth-service: container: image: got Some(\"{REGISTRY}/lomashwood/auth-service:1.2.4\")"),
        ),
        (
            layout::base_file("api-gateway"),
            format!("{route}\n"),
            format!("{route}0\n"),
            "api-gateway: container: environment from envFrom".to_owned(),
        ),
    ];
    for (file, from, to, expected) in cases {
        let mut edited = files.clone();
        edit(&mut edited, &file, &from, &to);
        let objects = kubectl_objects(&edited).unwrap_or_else(|e| panic!("{e}"));
        let err = check_spec(&c, &objects).expect_err(&format!("{file}: {from} -> {to} must be caught"));
        assert!(err.starts_with(&expected), "{file}: {from} -> {to}: {err}");
    }

    // A service of the spec that the catalogue lost is an error, not a row skipped.
    let mut lost = catalogue();
    lost.services.retain(|s| s.name != "content-service");
    lost.release.remove_service("content-service");
    assert_eq!(
        expectations(&lost).map(|_| ()),
        Err("content-service: the spec lists it (docs/spec.md), but the catalogue has no such service".to_owned())
    );
}

/// `docs/spec.md`, the repository's statement of the spec, says what this oracle restates: its
/// service table is [`SPEC`], row for row, and it names each key of [`SPEC_CONFIG`] with its value.
#[test]
fn docs_spec_md_states_the_oracle_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/spec.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let marker = "<!-- The oracle's table:";
    let table = text.split(marker).nth(1).unwrap_or_else(|| panic!("docs/spec.md: no {marker:?} before the table"));
    // The comment's line, the header, the separator; then the rows, up to the first other line.
    let rows: Vec<&str> = table.lines().skip(3).take_while(|l| l.starts_with("| ")).collect();
    let yes = |b: bool| if b { "yes" } else { "no" };
    let want: Vec<String> = SPEC
        .iter()
        .map(|r| {
            format!(
                "| {} | {} | {} / {} | {} / {} | {} | {} / {} | {} | {} |",
                r.name,
                r.port,
                r.cpu.0,
                r.cpu.1,
                r.memory.0,
                r.memory.1,
                r.hpa_max,
                r.cpu_percent,
                r.memory_percent,
                yes(r.postgres),
                yes(r.redis)
            )
        })
        .collect();
    assert_eq!(rows, want, "docs/spec.md's service table and the oracle's SPEC");
    for (service, keys) in SPEC_CONFIG {
        for (key, value) in *keys {
            assert!(text.contains(&format!("`{key}={value}`")), "docs/spec.md does not give {service}'s {key}={value}");
        }
    }
}

// The traps below break production silently; each test plants one in the rendered tree and
// shows that the checks above catch it.

#[test]
fn a_deprecated_bases_field_is_caught_by_its_warning() {
    let mut files = rendered_files();
    edit(
        &mut files,
        &format!("{OVERLAY}/kustomization.yaml"),
        "resources:\n- ../../base\n",
        "bases:\n- ../../base\nresources:\n",
    );
    let err = kubectl_objects(&files).expect_err("a `bases:` field must fail the render");
    assert!(err.contains("bases"), "{err}");
}

#[test]
fn a_patch_whose_target_is_missing_is_caught() {
    let mut files = rendered_files();
    edit(
        &mut files,
        &format!("{OVERLAY}/patches/auth-service.yaml"),
        "kind: Deployment\nmetadata:\n  name: auth-service\n",
        "kind: Deployment\nmetadata:\n  name: auth-servic\n",
    );
    let err = kubectl_objects(&files).expect_err("a patch without a target must fail the render");
    assert!(err.contains("no resource matches"), "{err}");
}

#[test]
fn a_list_that_kustomize_replaces_is_caught_when_not_restated_whole() {
    // A hand-written patch that only "adds" the secret to envFrom replaces the whole list: the
    // ConfigMap reference is gone and the container loses every setting.
    let mut files = rendered_files();
    let path = format!("{OVERLAY}/patches/product-service.yaml");
    let whole = "        envFrom:\n        - configMapRef:\n            name: product-service-config\n        - secretRef:\n            name: product-service-secret\n        imagePullPolicy: Always\n";
    edit(&mut files, &path, whole, "        envFrom:\n        - secretRef:\n            name: product-service-secret\n        imagePullPolicy: Always\n");
    let objects = kubectl_objects(&files).expect("kustomize accepts such a patch without a word");
    let err = check_spec(&catalogue(), &objects).expect_err("the lost ConfigMap reference must be caught");
    assert!(err.starts_with("product-service: container: envFrom"), "{err}");
}

#[test]
fn a_wrong_production_value_is_caught() {
    let mut files = rendered_files();
    edit(&mut files, &format!("{OVERLAY}/resources/analytics-service.yaml"), "maxReplicas: 10", "maxReplicas: 11");
    let objects = kubectl_objects(&files).unwrap();
    let err = check_spec(&catalogue(), &objects).expect_err("a changed HPA maximum must be caught");
    assert_eq!(err, "analytics-service: HPA: maxReplicas: got 11, want 10");
}

/// docs/spec.md ("Go-live") §2: what `kubectl apply -k <overlay> -l lomashwood.co.uk/apply-phase=migrate`
/// selects of kubectl's output is everything the migration Jobs need, read from the Jobs
/// themselves (their namespace, ServiceAccount, ConfigMap, the ExternalSecret that writes their
/// Secret and the store it reads, every NetworkPolicy), and nothing that rolls or serves: no
/// Deployment, Service, HPA, PDB or Ingress.
#[test]
fn the_first_phase_holds_what_the_jobs_need_and_nothing_that_rolls() {
    let objects = kubectl_objects(&rendered_files()).unwrap_or_else(|e| panic!("{e}"));
    let selected: Vec<&Object> = objects
        .iter()
        .filter(|o| {
            o.metadata().labels.as_ref().and_then(|l| l.get(PHASE_LABEL.0)).map(String::as_str) == Some(PHASE_LABEL.1)
        })
        .collect();
    let has = |kind: &str, name: &str| selected.iter().any(|o| o.kind() == kind && o.name() == name);
    let jobs: Vec<&k8s_openapi::api::batch::v1::Job> = selected
        .iter()
        .filter_map(|o| match o {
            Object::Job(j) => Some(&**j),
            _ => None,
        })
        .collect();
    let migrating = catalogue().services.iter().filter(|s| s.uses_store("postgres")).count();
    assert_eq!(jobs.len(), migrating, "every migration Job is in the first phase");
    assert!(has("Namespace", NAMESPACE), "its namespace");
    assert!(has("SecretStore", "aws-secrets-manager") && has("ServiceAccount", "external-secrets"), "the store");
    for job in &jobs {
        let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        let account = pod.service_account_name.clone().unwrap();
        assert!(has("ServiceAccount", &account), "{account}");
        for c in pod.containers.iter().chain(pod.init_containers.iter().flatten()) {
            for source in c.env_from.iter().flatten() {
                if let Some(cm) = &source.config_map_ref {
                    assert!(has("ConfigMap", &cm.name), "{}", cm.name);
                }
                if let Some(secret) = &source.secret_ref {
                    let writes =
                        selected.iter().any(|o| matches!(o, Object::ExternalSecret(e) if e.produces() == secret.name));
                    assert!(writes, "the ExternalSecret that writes {}", secret.name);
                }
            }
        }
    }
    let policies = objects.iter().filter(|o| matches!(o, Object::NetworkPolicy(_))).count();
    assert_eq!(selected.iter().filter(|o| matches!(o, Object::NetworkPolicy(_))).count(), policies, "every policy");
    for o in &selected {
        assert!(
            !matches!(
                o,
                Object::Deployment(_)
                    | Object::Service(_)
                    | Object::HorizontalPodAutoscaler(_)
                    | Object::PodDisruptionBudget(_)
                    | Object::Ingress(_)
            ),
            "{} is applied before the Jobs have run",
            o.id()
        );
    }
}
