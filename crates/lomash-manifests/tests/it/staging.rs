//! Staging beside production (docs/spec.md ("Staging")), checked on what `kubectl kustomize` renders:
//! every staging value of the spec, restated here as the oracle; the two overlays differ only
//! where the spec says they do; a value of one environment changes no file of the other; and the
//! policy holds on both.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::kustomized;
use lomash_manifests::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use lomash_manifests::object::parse_documents;
use lomash_manifests::{catalogue, layout, netpol, policy, render, validate, Catalogue, Object};
use serde_yaml::Value;

const STAGING: &str = "staging";
const PRODUCTION: &str = "production";

/// docs/spec.md ("Staging"), "Staging values": the oracle, restated from the page.
const NAMESPACE: &str = "lomash-wood-staging";
const DATA_NAMESPACE: &str = "lomash-wood-data-staging";
const CONFIG: [(&str, &str); 7] = [
    ("NODE_ENV", "production"),
    ("LOG_LEVEL", "debug"),
    ("CORS_ORIGIN", "https://staging.lomashwood.co.uk"),
    ("OTEL_TRACES_SAMPLER_ARG", "1.0"),
    ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging"),
    ("DB_HOST", "postgres-primary.lomash-wood-data-staging.svc.cluster.local"),
    ("REDIS_HOST", "redis-master.lomash-wood-data-staging.svc.cluster.local"),
];

/// docs/spec.md ("Go-live") §4 and §6, staging's values.
const STAGING_HOST: &str = "api.staging.lomashwood.co.uk";
const STAGING_ROLE: &str = "arn:aws:iam::123456789012:role/lomash-wood-staging-external-secrets";

/// kubectl's render of one overlay of `c`.
fn kubectl(c: &Catalogue, env: &str) -> Vec<Object> {
    let files = render(c).expect("valid catalogue");
    let yaml = kustomized(&files, &layout::overlay_dir(env)).unwrap_or_else(|e| panic!("{env}: {e}"));
    parse_documents(&yaml).unwrap_or_else(|e| panic!("{env}: {e}"))
}

fn find<'a>(objects: &'a [Object], kind: &str, name: &str) -> &'a Object {
    objects.iter().find(|o| o.kind() == kind && o.name() == name).unwrap_or_else(|| panic!("no {kind}/{name}"))
}

#[test]
fn kubectl_renders_every_staging_value_of_the_spec() {
    let c = catalogue();
    let objects = kubectl(&c, STAGING);
    for o in &objects {
        let want = if matches!(o, Object::Namespace(_)) { None } else { Some(NAMESPACE) };
        assert_eq!(o.metadata().namespace.as_deref(), want, "{}", o.id());
    }
    assert_eq!(find(&objects, "Namespace", NAMESPACE).name(), NAMESPACE);
    // docs/spec.md ("Go-live") §4 and §6: staging's own host, and its own role (which reads staging's entries).
    let Object::Ingress(ingress) = find(&objects, "Ingress", "api-gateway") else { unreachable!() };
    let spec = ingress.spec.as_ref().unwrap();
    let hosts: Vec<Option<&str>> = spec.rules.iter().flatten().map(|r| r.host.as_deref()).collect();
    assert_eq!(hosts, vec![Some(STAGING_HOST)], "Ingress host");
    let tls: Vec<Option<Vec<String>>> = spec.tls.iter().flatten().map(|t| t.hosts.clone()).collect();
    assert_eq!(tls, vec![Some(vec![STAGING_HOST.to_owned()])], "Ingress TLS host");
    let Object::ServiceAccount(sa) = find(&objects, "ServiceAccount", "external-secrets") else { unreachable!() };
    let role = sa.metadata.annotations.as_ref().and_then(|a| a.get("eks.amazonaws.com/role-arn"));
    assert_eq!(role.map(String::as_str), Some(STAGING_ROLE), "the SecretStore's role");
    for s in &c.services {
        let name = s.name.as_str();
        let Object::ConfigMap(cm) = find(&objects, "ConfigMap", &format!("{name}-config")) else { unreachable!() };
        let data = cm.data.clone().unwrap_or_default();
        for (key, value) in CONFIG {
            let uses = match key {
                "DB_HOST" => s.uses_store("postgres"),
                "REDIS_HOST" => s.uses_store("redis"),
                _ => true,
            };
            assert_eq!(data.get(key).map(String::as_str), uses.then_some(value), "{name}: {key}");
        }

        let Object::HorizontalPodAutoscaler(hpa) = find(&objects, "HorizontalPodAutoscaler", name) else {
            unreachable!()
        };
        let spec = hpa.spec.as_ref().unwrap();
        assert_eq!((spec.min_replicas, spec.max_replicas), (Some(2), 4), "{name}: HPA min 2, max 4");
        // "the service's own CPU and memory targets"
        let targets: Vec<Option<i32>> =
            spec.metrics.iter().flatten().map(|m| m.resource.as_ref().unwrap().target.average_utilization).collect();
        let own = [Some(s.autoscaling.cpu_percent), Some(s.autoscaling.memory_percent)];
        assert_eq!(targets, own, "{name}: the service's own targets");

        let Object::PodDisruptionBudget(pdb) = find(&objects, "PodDisruptionBudget", name) else { unreachable!() };
        assert_eq!(pdb.spec.as_ref().unwrap().min_available, Some(IntOrString::Int(1)), "{name}: PDB");

        let Object::Deployment(d) = find(&objects, "Deployment", name) else { unreachable!() };
        let pod = d.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        let affinity = pod.affinity.as_ref().unwrap();
        let terms = &affinity
            .node_affinity
            .as_ref()
            .unwrap()
            .required_during_scheduling_ignored_during_execution
            .as_ref()
            .unwrap()
            .node_selector_terms;
        let expressions: Vec<(String, String, Vec<String>)> = terms
            .iter()
            .flat_map(|t| t.match_expressions.iter().flatten())
            .map(|e| (e.key.clone(), e.operator.clone(), e.values.clone().unwrap_or_default()))
            .collect();
        let want = vec![
            ("node-role".to_owned(), "In".to_owned(), vec!["backend".to_owned()]),
            ("environment".to_owned(), "In".to_owned(), vec!["staging".to_owned()]),
        ];
        assert_eq!(expressions, want, "{name}: node affinity");
        let anti = affinity.pod_anti_affinity.as_ref().unwrap();
        assert!(anti.required_during_scheduling_ignored_during_execution.is_none(), "{name}: no hard anti-affinity");
        let preferred = anti.preferred_during_scheduling_ignored_during_execution.as_ref().unwrap();
        let got: Vec<(i32, &str)> =
            preferred.iter().map(|t| (t.weight, t.pod_affinity_term.topology_key.as_str())).collect();
        assert_eq!(got, vec![(100, "kubernetes.io/hostname")], "{name}: preferred anti-affinity");
        let spread = pod.topology_spread_constraints.as_ref().unwrap();
        let got: Vec<(i32, &str)> = spread.iter().map(|s| (s.max_skew, s.when_unsatisfiable.as_str())).collect();
        assert_eq!(got, vec![(1, "ScheduleAnyway")], "{name}: zone spread");

        let Object::ExternalSecret(es) = find(&objects, "ExternalSecret", &format!("{name}-secret")) else {
            unreachable!()
        };
        let keys: Vec<String> = es.spec.data_from.iter().map(|d| d.extract.key.clone()).collect();
        assert_eq!(keys, vec![format!("lomash-wood/staging/{name}")], "{name}: Secrets Manager key");

        if s.uses_store("postgres") || s.uses_store("redis") {
            let Object::NetworkPolicy(np) = find(&objects, "NetworkPolicy", name) else { unreachable!() };
            let namespaces: BTreeSet<String> = np
                .spec
                .as_ref()
                .unwrap()
                .egress
                .iter()
                .flatten()
                .flat_map(|r| r.to.iter().flatten())
                .filter_map(|p| {
                    p.namespace_selector.as_ref()?.match_labels.as_ref()?.get("kubernetes.io/metadata.name")
                })
                .cloned()
                .collect();
            assert!(namespaces.contains(DATA_NAMESPACE), "{name}: egress to {DATA_NAMESPACE}: {namespaces:?}");
            assert!(!namespaces.contains("lomash-wood-data"), "{name}: no egress to production's data");
        }
    }
}

/// Where two values of one object differ: the paths (indices folded to `[]`) at which they first
/// disagree, with the two values there.
fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<(String, String, String)>) {
    let show = |v: &Value| serde_yaml::to_string(v).unwrap().trim_end().to_owned();
    match (a, b) {
        (Value::Mapping(x), Value::Mapping(y)) => {
            let keys: BTreeSet<String> =
                x.keys().chain(y.keys()).map(|k| k.as_str().unwrap_or_default().to_owned()).collect();
            for k in keys {
                let (va, vb) = (x.get(k.as_str()).unwrap_or(&Value::Null), y.get(k.as_str()).unwrap_or(&Value::Null));
                differences(&format!("{path}.{k}"), va, vb, out);
            }
        }
        (Value::Sequence(x), Value::Sequence(y)) if x.len() == y.len() => {
            for (va, vb) in x.iter().zip(y) {
                differences(&format!("{path}[]"), va, vb, out);
            }
        }
        _ if a != b => out.push((path.to_owned(), show(a), show(b))),
        _ => {}
    }
}

/// docs/spec.md ("Staging"): "Everything else is as in production". The two renders differ exactly at
/// these places (kind, path): each differs, and nothing else does.
#[test]
fn the_overlays_differ_only_where_the_spec_says() {
    let c = catalogue();
    let (production, staging) = (kubectl(&c, PRODUCTION), kubectl(&c, STAGING));
    let ids = |objects: &[Object]| {
        objects.iter().map(|o| (o.kind().to_owned(), o.name().to_owned())).collect::<BTreeSet<_>>()
    };
    let mut production_ids = ids(&production);
    production_ids.remove(&("Namespace".to_owned(), "lomash-wood-production".to_owned()));
    production_ids.insert(("Namespace".to_owned(), NAMESPACE.to_owned()));
    assert_eq!(production_ids, ids(&staging), "the same objects, in another namespace");

    let allowed: BTreeSet<(&str, &str)> = [
        ("*", ".metadata.namespace"),
        ("Namespace", ".metadata.name"),
        ("ConfigMap", ".data.LOG_LEVEL"),
        ("ConfigMap", ".data.CORS_ORIGIN"),
        ("ConfigMap", ".data.OTEL_TRACES_SAMPLER_ARG"),
        ("ConfigMap", ".data.OTEL_RESOURCE_ATTRIBUTES"),
        ("ConfigMap", ".data.DB_HOST"),
        ("ConfigMap", ".data.REDIS_HOST"),
        // The checksum of the ConfigMap above: it follows the config.
        ("Deployment", ".spec.template.metadata.annotations.checksum/config"),
        ("Deployment", ".spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[].matchExpressions[].values[]"),
        ("Deployment", ".spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution"),
        ("Deployment", ".spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution"),
        ("Deployment", ".spec.template.spec.topologySpreadConstraints[].whenUnsatisfiable"),
        ("HorizontalPodAutoscaler", ".spec.minReplicas"),
        ("HorizontalPodAutoscaler", ".spec.maxReplicas"),
        ("PodDisruptionBudget", ".spec.minAvailable"),
        ("NetworkPolicy", ".spec.egress[].to[].namespaceSelector.matchLabels.kubernetes.io/metadata.name"),
        ("ExternalSecret", ".spec.dataFrom[].extract.key"),
        // docs/spec.md ("Go-live"): each environment's role, and the gateway's host.
        ("ServiceAccount", ".metadata.annotations.eks.amazonaws.com/role-arn"),
        ("Ingress", ".spec.rules[].host"),
        ("Ingress", ".spec.tls[].hosts[]"),
        // The migration Jobs run on each environment's own nodes, like the Deployments.
        ("Job", ".spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[].matchExpressions[].values[]"),
    ]
    .into();
    // Each environment pins its own tags: where they differ, the images and version labels do.
    let release_paths = [
        ".metadata.labels.app.kubernetes.io/version",
        ".spec.template.metadata.labels.app.kubernetes.io/version",
        ".spec.template.spec.containers[].image",
        ".spec.template.spec.initContainers[].image",
    ];
    let mut seen = BTreeSet::new();
    for p in &production {
        let name = if matches!(p, Object::Namespace(_)) { NAMESPACE } else { p.name() };
        let s = find(&staging, p.kind(), name);
        let mut found = Vec::new();
        differences("", &p.to_value(), &s.to_value(), &mut found);
        for (path, a, b) in found {
            let key = allowed.iter().find(|(kind, at)| (*kind == "*" || *kind == p.kind()) && *at == path);
            let released = release_paths.contains(&path.as_str())
                && c.release.tag(PRODUCTION, &p.metadata().labels.as_ref().unwrap()["app.kubernetes.io/name"])
                    != c.release.tag(STAGING, &p.metadata().labels.as_ref().unwrap()["app.kubernetes.io/name"]);
            assert!(key.is_some() || released, "{}: {path} differs where the spec says nothing: {a} / {b}", p.id());
            if let Some(key) = key {
                seen.insert(*key);
            }
        }
    }
    let missing: Vec<_> = allowed.difference(&seen).collect();
    assert!(missing.is_empty(), "the spec says these differ, and they do not: {missing:?}");
}

/// A value of one environment changes no file of the other (and the base changes for neither).
#[test]
fn one_environments_value_changes_no_file_of_the_other() {
    let before = render(&catalogue()).unwrap();
    let files = |c: &Catalogue| -> BTreeMap<String, String> {
        render(c).unwrap().into_iter().map(|f| (f.path, f.contents)).collect()
    };
    let before: BTreeMap<String, String> = before.into_iter().map(|f| (f.path, f.contents)).collect();
    for (changed, other) in [(PRODUCTION, STAGING), (STAGING, PRODUCTION)] {
        let mut c = catalogue();
        *c.platform.environment_mut(changed).unwrap().stage.setting_mut("LOG_LEVEL").unwrap() = "warn".into();
        let after = files(&c);
        let differing: Vec<&String> = after.keys().filter(|p| after[*p] != before[*p]).collect();
        assert!(!differing.is_empty(), "{changed}: the change shows");
        let prefix = format!("{}/", layout::overlay_dir(changed));
        for path in differing {
            assert!(path.starts_with(&prefix), "changing {changed} changed {path} (of {other} or the base)");
        }
    }
}

/// The lint holds on every environment, each against its own pool and graph.
#[test]
fn the_policy_holds_on_every_environment() {
    let model = validate(&catalogue()).unwrap();
    assert!(model.platform.environments.len() >= 2, "staging beside production");
    for env in &model.platform.environments {
        let objects = lomash_manifests::built::BuiltEnvironment::new(&model, env).objects;
        let findings = policy::check(
            &objects,
            model.pool(env).unwrap(),
            &netpol::graph(&model, env),
            &lomash_manifests::catalogue().platform.scanner_exceptions,
            &lomash_manifests::connections::declared(&model.platform, env),
        );
        let failed: Vec<_> = findings.iter().filter(|f| f.outcome == policy::Outcome::Fail).collect();
        assert!(failed.is_empty(), "{}: {failed:#?}", env.name);
        assert!(findings.iter().filter(|f| f.outcome == policy::Outcome::Pass).count() > 100, "{}", env.name);
    }
}
