//! docs/spec.md ("Secrets"), checked: each overlay declares one ExternalSecret per service, with the spec's
//! values, valid against the External Secrets Operator's own schema of `external-secrets.io/v1`
//! (kept in `tests/data/`, with where it came from); each Deployment carries the Reloader
//! annotation; the policy requires an ExternalSecret for every Secret a pod reads; the platform's
//! secret settings are checked. Values are read on what `kubectl kustomize` makes of each overlay
//! (nothing on stderr); counts and names come from the catalogue, and only the values docs/spec.md ("Secrets")
//! fixes are restated here.

use crate::common;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use lomash_manifests::external_secret::ExternalSecret;
use lomash_manifests::object::{kind, parse_documents};
use lomash_manifests::policy::{self, Outcome};
use lomash_manifests::tree::render_model;
use lomash_manifests::{catalogue, layout, validate, Model, Object};
use pretty_assertions::assert_eq;
use serde::Deserialize;
use serde_yaml::Value;

// --- The oracle: docs/spec.md ("Secrets")'s values, restated ---

// docs/spec.md ("Go-live") §6: the store of the ExternalSecret's own namespace (the cluster-wide one of docs/spec.md ("Secrets") served both
// environments).
const STORE_KIND: &str = "SecretStore";
const STORE_NAME: &str = "aws-secrets-manager";
const KEY_PREFIX: &str = "lomash-wood";
const REFRESH_INTERVAL: &str = "1h";
const RELOADER: &str = "secret.reloader.stakater.com/reload";
/// docs/spec.md ("Go-live") §6: the store's identity, in the platform's account and region.
const STORE_ACCOUNT: &str = "external-secrets";
/// docs/spec.md ("Go-live") §2: what a release applies before its rollouts carries this label.
const PHASE_LABEL: (&str, &str) = ("lomashwood.co.uk/apply-phase", "migrate");
const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-2";

/// The spec of `service`'s ExternalSecret in `environment`, as docs/spec.md ("Secrets") writes it.
fn expected_spec(environment: &str, service: &str) -> Value {
    let text = format!(
        "refreshInterval: {REFRESH_INTERVAL}\n\
         secretStoreRef: {{kind: {STORE_KIND}, name: {STORE_NAME}}}\n\
         target: {{name: {service}-secret, creationPolicy: Owner, deletionPolicy: Retain}}\n\
         dataFrom:\n\
         - extract: {{key: {KEY_PREFIX}/{environment}/{service}}}\n"
    );
    serde_yaml::from_str(&text).unwrap()
}

// --- What kubectl renders, once for all tests ---

struct Rendered {
    model: Model,
    /// Per environment (in the platform's order), kubectl's documents.
    overlays: Vec<Vec<Value>>,
}

fn rendered() -> &'static Rendered {
    static RENDERED: OnceLock<Rendered> = OnceLock::new();
    RENDERED.get_or_init(|| {
        let model = validate(&catalogue()).expect("the catalogue is valid");
        let files = render_model(&model).expect("within the limits");
        let overlays = model
            .platform
            .environments
            .iter()
            .map(|env| {
                let yaml = common::kustomized(&files, &layout::overlay_dir(&env.name))
                    .unwrap_or_else(|e| panic!("{}: {e}", env.name));
                serde_yaml::Deserializer::from_str(&yaml)
                    .map(|d| Value::deserialize(d).expect("kubectl prints YAML"))
                    .filter(|v| !v.is_null())
                    .collect()
            })
            .collect();
        Rendered { model, overlays }
    })
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"].as_str() == Some(kind)).collect()
}

fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or_default()
}

// --- A validator for the subset of OpenAPI v3 schema that a CRD uses ---

/// ESO's own `openAPIV3Schema` of each kind's v1, as the CRDs in ESO's repository serve them
/// (`data/eso-schemas.SOURCES.txt` says from which file, blob and tag).
const EXTERNAL_SECRET_SCHEMA: &str = include_str!("data/eso-externalsecret-v1.schema.json");
const SECRET_STORE_SCHEMA: &str = include_str!("data/eso-secretstore-v1.schema.json");

/// The schema of `kind` (JSON is YAML).
fn schema_of(kind: &str) -> Value {
    let text = match kind {
        "ExternalSecret" => EXTERNAL_SECRET_SCHEMA,
        "SecretStore" => SECRET_STORE_SCHEMA,
        other => panic!("no schema for {other}"),
    };
    serde_yaml::from_str(text).expect("the schema file is JSON")
}

fn schema() -> Value {
    schema_of("ExternalSecret")
}

/// The keywords the validator reads; a schema using any other would be checked only in part.
const KEYWORDS: [&str; 17] = [
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "minLength",
    "maxLength",
    "pattern",
    "minProperties",
    "maxProperties",
    "minItems",
    "minimum",
    "nullable",
    "anyOf",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
];

/// Keywords that constrain nothing the validator must check: documentation, defaults the API
/// server fills in, how a list or map merges, and a format that only refines a type already
/// checked (`int64`, `date-time` on fields we never write).
const ANNOTATIONS: [&str; 6] =
    ["description", "default", "example", "x-kubernetes-list-type", "x-kubernetes-map-type", "format"];

/// A keyword the validator cannot evaluate: a node that has it is an error when an object
/// reaches it, never silently passed.
const UNEVALUATED: &str = "x-kubernetes-validations";

/// The patterns of the schema, each matched by hand (no regex engine in the dependencies): a
/// pattern not listed here is an error, never skipped.
fn matches_pattern(pattern: &str, text: &str) -> Result<bool, String> {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    match pattern {
        // A DNS-1123 subdomain: labels of [a-z0-9-], starting and ending alphanumeric, joined by '.'.
        r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" => Ok(text.split('.').all(|label| {
            label.starts_with(alnum) && label.ends_with(alnum) && label.chars().all(|c| alnum(c) || c == '-')
        })),
        r"^[-._a-zA-Z0-9]+$" => {
            Ok(!text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)))
        }
        other => Err(format!("pattern {other:?} is not supported by this validator")),
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "array",
        Value::Mapping(_) => "object",
        Value::Tagged(_) => "tagged",
    }
}

/// Every way `value` breaks `schema`, each as `path: problem`. An object schema with
/// `properties` is closed unless it preserves unknown fields (Kubernetes' structural schemas: an
/// unknown field is pruned, or refused by strict field validation); one with neither
/// `properties` nor `additionalProperties` (`metadata`, which the API server checks as ObjectMeta)
/// takes any keys.
fn check(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let mut error = |problem: String| errors.push(format!("{path}: {problem}"));
    if schema.get(UNEVALUATED).is_some() {
        error("the schema has a CEL rule here, which this validator does not evaluate".into());
        return;
    }
    if value.is_null() && schema["nullable"].as_bool() == Some(true) {
        return;
    }
    if let Some(branches) = schema["anyOf"].as_sequence() {
        let fits = |branch: &Value| {
            let mut found = Vec::new();
            check(branch, value, path, &mut found);
            found.is_empty()
        };
        if !branches.iter().any(fits) {
            error(format!("fits none of the schema's {} alternatives", branches.len()));
            return;
        }
    }
    if schema["x-kubernetes-int-or-string"].as_bool() == Some(true) && !matches!(type_of(value), "integer" | "string") {
        error(format!("is {}, the schema wants an integer or a string", type_of(value)));
        return;
    }
    if let Some(want) = schema["type"].as_str() {
        let got = type_of(value);
        if got != want && !(want == "number" && got == "integer") {
            error(format!("is {got}, the schema wants {want}"));
            return;
        }
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_i64(), value.as_i64()) {
        if n < min {
            error(format!("{n} is below {min}"));
        }
    }
    if let Some(allowed) = schema["enum"].as_sequence() {
        if !allowed.contains(value) {
            error(format!("{value:?} is not one of {allowed:?}"));
        }
    }
    if let Some(text) = value.as_str() {
        let length = text.chars().count() as u64;
        if schema["minLength"].as_u64().is_some_and(|min| length < min) {
            error(format!("{text:?} is shorter than {}", schema["minLength"].as_u64().unwrap()));
        }
        if schema["maxLength"].as_u64().is_some_and(|max| length > max) {
            error(format!("{text:?} is longer than {}", schema["maxLength"].as_u64().unwrap()));
        }
        if let Some(pattern) = schema["pattern"].as_str() {
            match matches_pattern(pattern, text) {
                Ok(true) => {}
                Ok(false) => error(format!("{text:?} does not match {pattern}")),
                Err(e) => error(e),
            }
        }
    }
    if let Some(items) = value.as_sequence() {
        if schema["minItems"].as_u64().is_some_and(|min| (items.len() as u64) < min) {
            errors.push(format!("{path}: {} items, fewer than the schema's minimum", items.len()));
        }
        for (i, item) in items.iter().enumerate() {
            check(&schema["items"], item, &format!("{path}[{i}]"), errors);
        }
    }
    if let Some(map) = value.as_mapping() {
        let count = map.len() as u64;
        if schema["minProperties"].as_u64().is_some_and(|min| count < min)
            || schema["maxProperties"].as_u64().is_some_and(|max| count > max)
        {
            errors.push(format!("{path}: {count} fields, outside the schema's bounds"));
        }
        for required in schema["required"].as_sequence().into_iter().flatten() {
            if !map.contains_key(required) {
                errors.push(format!("{path}: missing required field {}", required.as_str().unwrap_or("?")));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_mapping);
        let open = schema["x-kubernetes-preserve-unknown-fields"].as_bool() == Some(true);
        for (key, child) in map {
            let key_text = key.as_str().unwrap_or("?");
            let here = format!("{path}.{key_text}");
            match (properties.and_then(|p| p.get(key)), schema.get("additionalProperties")) {
                (Some(s), _) => check(s, child, &here, errors),
                (None, Some(s)) => check(s, child, &here, errors),
                (None, None) if properties.is_some() && !open => {
                    errors.push(format!("{here}: unknown field (the schema does not have it)"))
                }
                (None, None) => {}
            }
        }
    }
}

/// Every way `value` breaks the schema of its kind.
fn schema_errors(value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(&schema_of(value["kind"].as_str().unwrap_or_default()), value, "$", &mut errors);
    errors
}

/// The keywords of every node of the schema: must all be ones the validator reads.
fn keywords(schema: &Value, path: &str, out: &mut Vec<String>) {
    for (key, child) in schema.as_mapping().into_iter().flatten() {
        let key = key.as_str().unwrap_or("?");
        out.push(format!("{path}.{key}"));
        match key {
            "properties" => {
                for (name, s) in child.as_mapping().into_iter().flatten() {
                    keywords(s, &format!("{path}.{}", name.as_str().unwrap_or("?")), out);
                }
            }
            "items" | "additionalProperties" => keywords(child, &format!("{path}[]"), out),
            "anyOf" => {
                for branch in child.as_sequence().into_iter().flatten() {
                    keywords(branch, &format!("{path}|"), out);
                }
            }
            _ => {}
        }
    }
}

// --- The tests ---

#[test]
fn the_validator_reads_every_keyword_of_the_schema_files() {
    let mut found = Vec::new();
    keywords(&schema(), "$", &mut found);
    keywords(&schema_of("SecretStore"), "$store", &mut found);
    // The constraints our objects meet are in the file (a truncated file would validate anything).
    for node in [
        "$.spec.secretStoreRef.kind.enum",
        "$.spec.secretStoreRef.name.pattern",
        "$.spec.target.name.pattern",
        "$.spec.target.creationPolicy.enum",
        "$.spec.target.deletionPolicy.enum",
        "$.spec.refreshInterval.type",
        "$.spec.dataFrom[].extract.required",
        "$store.spec.provider.maxProperties",
        "$store.spec.provider.aws.required",
        "$store.spec.provider.aws.service.enum",
        "$store.spec.provider.aws.auth.jwt.serviceAccountRef.name.pattern",
    ] {
        assert!(found.iter().any(|k| k == node), "{node} is not in the schema file");
    }
    let known =
        |k: &&String| KEYWORDS.iter().chain(&ANNOTATIONS).chain([&UNEVALUATED]).any(|w| k.ends_with(&format!(".{w}")));
    let unknown: Vec<&String> = found.iter().filter(|k| !known(k)).collect();
    assert_eq!(unknown, Vec::<&String>::new(), "keywords the validator would ignore");
}

/// Every ExternalSecret kubectl renders, in every environment, is valid against ESO's schema of
/// `external-secrets.io/v1`; there is one per service.
#[test]
fn rendered_external_secrets_are_valid_against_esos_schema() {
    let r = rendered();
    for (env, docs) in r.model.platform.environments.iter().zip(&r.overlays) {
        let secrets = of_kind(docs, kind::<ExternalSecret>());
        assert_eq!(secrets.len(), r.model.services.len(), "{}: one ExternalSecret per service", env.name);
        for doc in secrets {
            // The schema is that of version v1 of the group: the object must be of it.
            assert_eq!(doc["apiVersion"].as_str(), Some("external-secrets.io/v1"), "{}", name(doc));
            assert_eq!(schema_errors(doc), Vec::<String>::new(), "{}: {}", env.name, name(doc));
        }
    }
}

/// docs/spec.md ("Go-live") §6, on kubectl's output of every environment: one namespaced SecretStore, valid
/// against ESO's v1 SecretStore schema, reading Secrets Manager in the platform's region as the
/// `external-secrets` ServiceAccount, which carries that environment's own IAM role and no
/// mounted token; and no ClusterSecretStore anywhere.
#[test]
fn each_environment_has_its_own_secret_store_valid_against_esos_schema() {
    let r = rendered();
    for (env, docs) in r.model.platform.environments.iter().zip(&r.overlays) {
        assert_eq!(of_kind(docs, "ClusterSecretStore").len(), 0, "{}", env.name);
        let stores = of_kind(docs, "SecretStore");
        let [store] = stores.as_slice() else { panic!("{}: {} SecretStores", env.name, stores.len()) };
        assert_eq!(store["apiVersion"].as_str(), Some("external-secrets.io/v1"), "{}", env.name);
        assert_eq!(name(store), STORE_NAME, "{}", env.name);
        assert_eq!(store["metadata"]["namespace"].as_str(), Some(env.namespace.as_str()), "{}", env.name);
        let want: Value = serde_yaml::from_str(&format!(
            "provider: {{aws: {{service: SecretsManager, region: {REGION}, auth: {{jwt: {{serviceAccountRef: \
             {{name: {STORE_ACCOUNT}}}}}}}}}}}"
        ))
        .unwrap();
        assert_eq!(store["spec"], want, "{}", env.name);
        assert_eq!(schema_errors(store), Vec::<String>::new(), "{}", env.name);
        let typed = Object::from_value(store).unwrap_or_else(|e| panic!("{}: {e}", env.name));
        assert!(matches!(typed, Object::SecretStore(_)), "{}", env.name);

        let account = of_kind(docs, "ServiceAccount").into_iter().find(|d| name(d) == STORE_ACCOUNT);
        let account = account.unwrap_or_else(|| panic!("{}: no ServiceAccount {STORE_ACCOUNT}", env.name));
        assert_eq!(account["automountServiceAccountToken"].as_bool(), Some(false), "{}", env.name);
        let role = format!("arn:aws:iam::{ACCOUNT}:role/lomash-wood-{}-external-secrets", env.name);
        assert_eq!(
            account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].as_str(),
            Some(role.as_str()),
            "{}",
            env.name
        );
    }
}

/// The SecretStore schema check has teeth too.
#[test]
fn the_validator_rejects_a_secret_store_esos_schema_forbids() {
    let r = rendered();
    let original = of_kind(&r.overlays[0], "SecretStore")[0].clone();
    type Mutation = fn(&mut Value);
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "a service outside the enum",
            |v| v["spec"]["provider"]["aws"]["service"] = "S3".into(),
            "$.spec.provider.aws.service",
        ),
        (
            "no region",
            |v| {
                v["spec"]["provider"]["aws"].as_mapping_mut().unwrap().remove("region");
            },
            "$.spec.provider.aws",
        ),
        (
            "two providers",
            |v| v["spec"]["provider"]["vault"] = serde_yaml::from_str("{server: x, auth: {}}").unwrap(),
            "$.spec.provider",
        ),
        (
            "a ServiceAccount name that is not a DNS subdomain",
            |v| v["spec"]["provider"]["aws"]["auth"]["jwt"]["serviceAccountRef"]["name"] = "External_Secrets".into(),
            "$.spec.provider.aws.auth.jwt.serviceAccountRef.name",
        ),
        ("an unknown field", |v| v["spec"]["provider"]["aws"]["regions"] = "x".into(), "$.spec.provider.aws.regions"),
    ];
    for (case, mutate, path) in cases {
        let mut value = original.clone();
        mutate(&mut value);
        let errors = schema_errors(&value);
        assert!(errors.iter().any(|e| e.starts_with(&format!("{path}:"))), "{case}: {errors:?}");
    }
}

/// The validator is not a yes-machine: one change each to a real rendered ExternalSecret, and
/// the error names the field.
#[test]
fn the_validator_rejects_what_esos_schema_forbids() {
    let r = rendered();
    let original = of_kind(&r.overlays[0], kind::<ExternalSecret>())[0].clone();
    assert_eq!(schema_errors(&original), Vec::<String>::new());
    type Mutation = fn(&mut Value);
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "store kind outside the enum",
            |v| v["spec"]["secretStoreRef"]["kind"] = "ClusterStore".into(),
            "$.spec.secretStoreRef.kind",
        ),
        (
            "creation policy in the wrong case",
            |v| v["spec"]["target"]["creationPolicy"] = "owner".into(),
            "$.spec.target.creationPolicy",
        ),
        (
            "deletion policy outside the enum",
            |v| v["spec"]["target"]["deletionPolicy"] = "Keep".into(),
            "$.spec.target.deletionPolicy",
        ),
        (
            "target name not a DNS subdomain",
            |v| v["spec"]["target"]["name"] = "Auth_Secret".into(),
            "$.spec.target.name",
        ),
        ("empty store name", |v| v["spec"]["secretStoreRef"]["name"] = "".into(), "$.spec.secretStoreRef.name"),
        ("refresh interval as a number", |v| v["spec"]["refreshInterval"] = 3600.into(), "$.spec.refreshInterval"),
        ("unknown field in target", |v| v["spec"]["target"]["nam"] = "x".into(), "$.spec.target.nam"),
        (
            "extract without its key",
            |v| {
                v["spec"]["dataFrom"][0]["extract"].as_mapping_mut().unwrap().remove("key");
            },
            "$.spec.dataFrom[0].extract",
        ),
        (
            "conversion strategy outside the enum",
            |v| v["spec"]["dataFrom"][0]["extract"]["conversionStrategy"] = "Latin1".into(),
            "$.spec.dataFrom[0].extract.conversionStrategy",
        ),
        ("dataFrom not a list", |v| v["spec"]["dataFrom"] = "all".into(), "$.spec.dataFrom"),
        (
            "a template engine outside the enum",
            |v| v["spec"]["target"]["template"] = serde_yaml::from_str("{engineVersion: v1}").unwrap(),
            "$.spec.target.template.engineVersion",
        ),
    ];
    for (case, mutate, path) in cases {
        let mut value = original.clone();
        mutate(&mut value);
        let errors = schema_errors(&value);
        assert!(errors.iter().any(|e| e.starts_with(&format!("{path}:"))), "{case}: {errors:?}");
    }
}

/// docs/spec.md ("Secrets")'s values, for every service in every environment, on kubectl's output: name,
/// namespace, the service's labels, and the whole spec (store, key, target, refresh interval;
/// nothing more). Each also reads back strictly as the typed ExternalSecret.
#[test]
fn every_service_has_its_external_secret_with_the_specs_values() {
    let r = rendered();
    for (env, docs) in r.model.platform.environments.iter().zip(&r.overlays) {
        for service in &r.model.services {
            let id = format!("{}: {}", env.name, service.name);
            let secret_name = format!("{}-secret", service.name);
            let found: Vec<&Value> =
                of_kind(docs, kind::<ExternalSecret>()).into_iter().filter(|d| name(d) == secret_name).collect();
            let [doc] = found.as_slice() else { panic!("{id}: {} ExternalSecrets named {secret_name}", found.len()) };
            assert_eq!(doc["metadata"]["namespace"].as_str(), Some(env.namespace.as_str()), "{id}");
            let deployment = of_kind(docs, "Deployment").into_iter().find(|d| name(d) == service.name).unwrap();
            // The service's labels; and for a service with a migration Job, the first phase's
            // (docs/spec.md ("Go-live") §2: the Job reads this Secret, so it is applied with it).
            let mut labels = deployment["metadata"]["labels"].clone();
            if service.migrations().next().is_some() {
                labels[PHASE_LABEL.0] = PHASE_LABEL.1.into();
            }
            assert_eq!(doc["metadata"]["labels"], labels, "{id}: the service's labels");
            assert_eq!(doc["metadata"]["labels"]["app"].as_str(), Some(service.name.as_str()), "{id}");
            assert_eq!(doc["spec"], expected_spec(&env.name, &service.name), "{id}");
            let typed = Object::from_value(doc).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert!(matches!(typed, Object::ExternalSecret(ref e) if e.produces() == secret_name), "{id}");
        }
    }
}

/// docs/spec.md ("Secrets"): each Deployment restarts on a change of the Secret it reads.
#[test]
fn every_deployment_carries_the_reloader_annotation() {
    let r = rendered();
    for (env, docs) in r.model.platform.environments.iter().zip(&r.overlays) {
        let deployments = of_kind(docs, "Deployment");
        assert_eq!(deployments.len(), r.model.services.len(), "{}", env.name);
        for d in deployments {
            let want = format!("{}-secret", name(d));
            assert_eq!(
                d["metadata"]["annotations"][RELOADER].as_str(),
                Some(want.as_str()),
                "{}: {}",
                env.name,
                name(d)
            );
            // The annotation names the Secret the pods do read.
            let env_from = &d["spec"]["template"]["spec"]["containers"][0]["envFrom"];
            let reads: Vec<&str> =
                env_from.as_sequence().into_iter().flatten().filter_map(|e| e["secretRef"]["name"].as_str()).collect();
            assert_eq!(reads, vec![want.as_str()], "{}: {}", env.name, name(d));
        }
    }
}

/// The whole overlay reads back strictly: the ExternalSecrets are known objects with known
/// fields only, like every other kind.
#[test]
fn kubectls_output_reads_back_strictly_with_the_external_secrets() {
    let r = rendered();
    for (env, docs) in r.model.platform.environments.iter().zip(&r.overlays) {
        let text: String = docs.iter().map(|d| format!("---\n{}", serde_yaml::to_string(d).unwrap())).collect();
        let objects = parse_documents(&text).unwrap_or_else(|e| panic!("{}: {e}", env.name));
        assert_eq!(
            objects.len(),
            lomash_manifests::built::BuiltEnvironment::new(&r.model, env).objects.len(),
            "{}",
            env.name
        );
    }
}

/// The policy rule of docs/spec.md ("Secrets") on the real objects: removing any one service's ExternalSecret
/// fails `spec.secret-refs` on exactly that service's Deployment, and nothing else.
#[test]
fn removing_an_external_secret_fails_exactly_its_deployment() {
    let r = rendered();
    let env = &r.model.platform.environments[0];
    let objects = lomash_manifests::built::BuiltEnvironment::new(&r.model, env).objects;
    let pool = r.model.pool(env).expect("the environment declares a pool");
    let flows = lomash_manifests::netpol::graph(&r.model, env);
    let failures = |objects: &[Object]| -> Vec<(String, String)> {
        let budgets = lomash_manifests::connections::declared(&r.model.platform, env);
        policy::check(objects, pool, &flows, &lomash_manifests::catalogue().platform.scanner_exceptions, &budgets)
            .into_iter()
            .filter(|f| f.outcome == Outcome::Fail)
            .map(|f| (f.rule.to_owned(), f.object))
            .collect()
    };
    assert_eq!(failures(&objects), vec![]);
    for service in &r.model.services {
        let mut mutated = objects.clone();
        let removed = format!("ExternalSecret/{}-secret", service.name);
        mutated.retain(|o| o.id() != removed);
        assert_eq!(mutated.len() + 1, objects.len(), "{removed} exists");
        assert_eq!(failures(&mutated), vec![("spec.secret-refs".to_owned(), format!("Deployment/{}", service.name))]);
    }
}

/// Environments are data: one more environment gets its own ExternalSecrets, keyed by its name,
/// in its namespace, with nothing written for it but the Environment value.
#[test]
fn another_environment_gets_its_own_keys() {
    let mut model = validate(&catalogue()).unwrap();
    let mut staging = model.platform.environments[0].clone();
    staging.name = "staging".into();
    staging.namespace = "lomash-wood-staging".into();
    for s in &mut model.services {
        let tag = s.tags.values().next().unwrap().clone();
        s.tags.insert(staging.name.clone(), tag);
    }
    let keys: BTreeMap<String, (String, String)> = lomash_manifests::built::BuiltEnvironment::new(&model, &staging)
        .objects
        .into_iter()
        .filter_map(|o| match o {
            Object::ExternalSecret(e) => Some((
                e.metadata.name.clone().unwrap(),
                (e.spec.data_from[0].extract.key.clone(), e.metadata.namespace.clone().unwrap()),
            )),
            _ => None,
        })
        .collect();
    let want: BTreeMap<String, (String, String)> = model
        .services
        .iter()
        .map(|s| {
            (
                format!("{}-secret", s.name),
                (format!("{KEY_PREFIX}/staging/{}", s.name), "lomash-wood-staging".to_owned()),
            )
        })
        .collect();
    assert_eq!(keys, want);
}

/// The platform's secret settings are checked like every other value: each mistake names the
/// platform and the field.
#[test]
fn the_platforms_secret_settings_are_validated() {
    type Mutation = fn(&mut lomash_manifests::spec::SecretSource);
    let cases: Vec<(Mutation, &str)> = vec![
        (
            |s| s.store.name = "AWS_Secrets".into(),
            "platform: secrets.store.name: \"AWS_Secrets\" is not a DNS-1123 subdomain",
        ),
        (|s| s.store.name = String::new(), "platform: secrets.store.name: \"\" is not a DNS-1123 subdomain"),
        (
            |s| s.key_prefix = "lomash-wood/".into(),
            "platform: secrets.keyPrefix: \"lomash-wood/\" is not a Secrets Manager name prefix",
        ),
        (
            |s| s.key_prefix = "lomash wood".into(),
            "platform: secrets.keyPrefix: \"lomash wood\" is not a Secrets Manager name prefix",
        ),
        (
            |s| s.refresh_interval = "0s".into(),
            "platform: secrets.refreshInterval: \"0s\" is not a positive Go duration",
        ),
        (
            |s| s.refresh_interval = "1d".into(),
            "platform: secrets.refreshInterval: \"1d\" is not a positive Go duration",
        ),
        (
            |s| s.refresh_interval = "3600".into(),
            "platform: secrets.refreshInterval: \"3600\" is not a positive Go duration",
        ),
    ];
    assert!(validate(&catalogue()).is_ok());
    for (mutate, expected) in cases {
        let mut c = catalogue();
        mutate(&mut c.platform.secrets);
        let errors = validate(&c).expect_err(expected).to_string();
        assert!(errors.contains(expected), "want {expected:?} in:\n{errors}");
    }
}

/// The overlay README's secrets section lists, per service, the Secrets Manager key it reads and
/// the Secret it produces, and still says that no secret value is in the repository.
#[test]
fn the_readme_lists_each_services_key_and_secret() {
    let r = rendered();
    let files = render_model(&r.model).expect("within the limits");
    for env in &r.model.platform.environments {
        let readme = &files.iter().find(|f| f.path == layout::readme(&env.name)).expect("the README").contents;
        let section = readme.split("## Secrets Management").nth(1).expect("a secrets section");
        let section = section.split("\n## ").next().unwrap();
        assert!(section.contains("No secret value is ever in this repository"), "{}", env.name);
        assert!(section.contains(STORE_NAME) && section.contains(RELOADER), "{}", env.name);
        for s in &r.model.services {
            let row = format!("| `{0}` | `{KEY_PREFIX}/{1}/{0}` | `{0}-secret` |", s.name, env.name);
            assert!(section.contains(&row), "{}: no row {row:?}", env.name);
        }
    }
}
