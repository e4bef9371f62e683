//! The plan of real changes, each made in a temporary clone of this repository: its committed
//! `generated/` brought to what the definitions render (the base commit, also `main`), then the
//! change made to the catalogue value, as a spec sheet edit makes it, and written with the code
//! `cargo xtask generate` runs (`sync`; a release with `set-image`'s own code). In process rather
//! than through a rebuilt binary: the catalogue is compiled in, and building a clone's xtask would
//! cost a workspace build per case. Every side is rendered by the real `kubectl kustomize`: these
//! tests fail, never skip, without it.

use std::path::Path;

use crate::catalogue;
use lomash_manifests::catalogue::{RELEASE_FILE, RELEASE_PATH};
use manifest_core::built::BuiltEnvironment;
use manifest_core::k8s_openapi::api::apps::v1::Deployment;
use manifest_core::k8s_openapi::api::batch::v1::Job;
use manifest_core::k8s_openapi::api::core::v1::ConfigMap;
use manifest_core::k8s_openapi::api::networking::v1::NetworkPolicy;
use manifest_core::k8s_openapi::Resource;
use manifest_core::object::Lookup;
use manifest_core::spec::{Resources, Uses};
use manifest_core::{validate, Catalogue, Release};
use serde_json::Value as Json;

use super::format::render;
use super::{plan, Change, EnvPlan, FieldChange, Format, NetPath, ObjectChange, Options, Plan, Presence};
use crate::testing::{git, snapshot, sparse_clone, TempDir};
use crate::{release, sync};
use manifest_core::layout::GENERATED_DIR;
use serde_yaml::Value;

/// A clone of this repository whose last commit (on `main`) holds what the committed catalogue
/// renders, checked out on a branch `change` at that commit.
fn clone() -> TempDir {
    let paths = [format!("/{GENERATED_DIR}/"), format!("/{RELEASE_PATH}")];
    let dir = sparse_clone(&crate::project_root(), "plan-clone", &paths.each_ref().map(String::as_str));
    // The work tree this test was built from may hold what its HEAD does not: commit it.
    std::fs::write(dir.path().join(RELEASE_PATH), RELEASE_FILE).unwrap();
    assert!(sync::run_report(dir.path(), &catalogue(), sync::Mode::Write).unwrap().ok);
    git(dir.path(), &["add", "-A", "generated", RELEASE_PATH]);
    git(dir.path(), &["commit", "--quiet", "--allow-empty", "-m", "base"]);
    git(dir.path(), &["checkout", "--quiet", "-B", "change"]);
    git(dir.path(), &["branch", "--quiet", "-f", "main", "HEAD"]);
    dir
}

fn write(root: &Path, definitions: &Catalogue) {
    let report = sync::run_report(root, definitions, sync::Mode::Write).unwrap();
    let changed = ["Created: ", "Updated: ", "Removed: "].iter().any(|verb| report.text.contains(verb));
    assert!(changed, "the change changed no file:\n{}", report.text);
}

fn object<'a>(env: &'a EnvPlan, kind: &str, name: &str) -> &'a ObjectChange {
    env.objects
        .iter()
        .find(|o| o.kind == kind && o.name == name)
        .unwrap_or_else(|| panic!("{}: {kind}/{name} does not change: {:?}", env.name, env.objects))
}

fn field<'a>(o: &'a ObjectChange, path: &str) -> &'a FieldChange {
    o.fields.iter().find(|f| f.path == path).unwrap_or_else(|| {
        let paths: Vec<&str> = o.fields.iter().map(|f| f.path.as_str()).collect();
        panic!("{}/{}: no change at {path}; the changes: {paths:?}", o.kind, o.name)
    })
}

fn text(v: &Option<Value>) -> Option<&str> {
    v.as_ref().and_then(Value::as_str)
}

fn rolling(env: &EnvPlan) -> Vec<&str> {
    env.rolling().map(|o| o.name.as_str()).collect()
}

fn environments() -> Vec<String> {
    catalogue().platform.environments.iter().map(|e| e.name.clone()).collect()
}

fn json_of(plan: &Plan) -> Json {
    serde_json::from_str(&render(plan, Format::Json, false)).expect("the JSON parses")
}

/// The JSON environment named `name`.
fn json_env<'a>(json: &'a Json, name: &str) -> &'a Json {
    let all = json["environments"].as_array().expect("environments is a list");
    all.iter().find(|e| e["name"] == name).unwrap_or_else(|| panic!("{name} not in the JSON"))
}

/// A memory limit raised: in every environment the Deployment rolls for its resources and its
/// config checksum, the limit reads 1Gi → 2Gi, the ConfigMap's Node.js heap follows (768 →
/// 1536 MiB), the limits at minimum and maximum grow by 1Gi a pod and the requests stay. The
/// default base is the merge-base with `main`; the plan writes nothing.
#[test]
fn a_memory_limit_raised() {
    let root = clone();
    let mut changed = catalogue();
    let auth = changed.services.iter_mut().find(|s| s.name == "auth-service").unwrap();
    assert_eq!(auth.memory.limit.as_deref(), Some("1Gi"), "the case is written for a 1Gi limit");
    auth.memory = Resources::new(auth.memory.request.as_deref().unwrap(), "2Gi");
    write(root.path(), &changed);
    let generated = root.path().join(GENERATED_DIR);
    let before = snapshot(&generated, "");

    let plan = plan(root.path(), &changed, None, None).unwrap();
    assert_eq!(snapshot(&generated, ""), before, "plan wrote to generated/");
    assert_eq!(plan.base.label, "merge-base of HEAD and main");
    assert_eq!(plan.base.commit, git(root.path(), &["rev-parse", "main"]));
    let model = validate(&changed).unwrap();
    let names: Vec<&str> = plan.environments.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, environments(), "every environment, by name");
    let json = json_of(&plan);
    assert_eq!(json["base_commit"], plan.base.commit.as_str());
    for env in &plan.environments {
        assert_eq!(rolling(env), ["auth-service"], "{}", env.name);
        let deployment = object(env, Deployment::KIND, "auth-service");
        assert_eq!(deployment.why, ["config checksum", "resources"], "{}", env.name);
        let limit = field(deployment, "spec.template.spec.containers[auth-service].resources.limits.memory");
        assert_eq!((text(&limit.from), text(&limit.to)), (Some("1Gi"), Some("2Gi")), "{}", env.name);
        let heap = field(object(env, ConfigMap::KIND, "auth-service-config"), "data.NODE_OPTIONS");
        assert_eq!(
            (text(&heap.from), text(&heap.to)),
            (Some("--max-old-space-size=768"), Some("--max-old-space-size=1536")),
            "{}",
            env.name
        );
        let kinds: Vec<&str> = env.objects.iter().map(|o| o.kind.as_str()).collect();
        // The migration Job runs with the service's resources too (docs/spec.md ("Go-live") §2).
        assert_eq!(
            kinds,
            [ConfigMap::KIND, Deployment::KIND, Job::KIND],
            "{}: only the ConfigMap, the Deployment and the migration Job",
            env.name
        );

        let (old, new) = (env.capacity.before.as_ref().unwrap(), env.capacity.after.as_ref().unwrap());
        let platform_env = model.platform.environment(&env.name).unwrap();
        let line = BuiltEnvironment::new(&model, platform_env).capacity().unwrap();
        let line = line.lines.iter().find(|l| l.service == "auth-service").unwrap();
        let gi = 1u128 << 30;
        assert_eq!(new.limits_max.memory - old.limits_max.memory, gi * u128::from(line.max_replicas), "{}", env.name);
        assert_eq!(new.limits_min.memory - old.limits_min.memory, gi * u128::from(line.min_replicas), "{}", env.name);
        assert_eq!((old.requests_min, old.requests_max), (new.requests_min, new.requests_max), "{}", env.name);
        assert!(env.network_added.is_empty() && env.network_removed.is_empty(), "{}", env.name);
        assert!(env.lint_added.is_empty() && env.lint_removed.is_empty(), "{}", env.name);
        // Memory opens no connection: the budget's figures are the ones the core counts, on both sides.
        let built = BuiltEnvironment::new(&model, platform_env);
        let budgets = manifest_core::connections::declared(&model.platform, platform_env);
        let counted: Vec<_> =
            budgets.iter().map(|d| manifest_core::connections::count(&Lookup::new(&built.objects), d)).collect();
        let at_max: u64 = counted.iter().map(|b| b.at_max).sum();
        let connections = old.connections.expect("the environment declares a connection budget");
        assert_eq!((connections.at_max, new.connections), (at_max, old.connections), "{}", env.name);

        // The same, read back from the JSON.
        let e = json_env(&json, &env.name);
        let objects = e["objects"].as_array().unwrap();
        let d = objects.iter().find(|o| o["kind"] == Deployment::KIND && o["name"] == "auth-service").unwrap();
        assert_eq!(d["change"], "changed");
        assert_eq!(d["rolls"], true);
        let f = d["fields"].as_array().unwrap().iter().find(|f| f["path"] == limit.path.as_str()).unwrap();
        assert_eq!((&f["from"], &f["to"]), (&Json::from("1Gi"), &Json::from("2Gi")));
        let memory = |side: &str| e["capacity"][side]["limits"]["max"]["memory_bytes"].as_u64().unwrap();
        assert_eq!(u128::from(memory("after") - memory("before")), gi * u128::from(line.max_replicas));
        assert_eq!(e["network"]["added"], Json::Array(vec![]));
        assert_eq!(e["capacity"]["after"]["connections"]["max"].as_u64(), Some(at_max), "{}", env.name);
    }
    let markdown = render(&plan, Format::Markdown, false);
    for name in environments() {
        assert!(markdown.contains(&format!("\n### {name}\n")), "no heading for {name}:\n{markdown}");
    }
    for expected in [
        "| `Deployment/auth-service` | changed | yes: config checksum, resources |",
        "| `ConfigMap/auth-service-config` | changed | — |",
        "<details><summary>Deployment/auth-service: ",
        "| `spec.template.spec.containers[auth-service].resources.limits.memory` | `1Gi` | `2Gi` |",
        "| `data.NODE_OPTIONS` | `--max-old-space-size=768` | `--max-old-space-size=1536` |",
    ] {
        assert!(markdown.contains(expected), "{expected:?} not in:\n{markdown}");
    }
}

/// A release pinned for staging only, with `set-image --env staging`'s own code: production
/// does not change at all; in staging only the service's Deployment rolls, for its image.
#[test]
fn a_staging_only_release() {
    let root = clone();
    let old = catalogue().release.tag("staging", "auth-service").unwrap().to_owned();
    let tag = if old == "9.9.9" { "9.9.8" } else { "9.9.9" };
    release::set_image(root.path(), &catalogue(), "staging", "auth-service", tag).unwrap();
    let text_now = std::fs::read_to_string(root.path().join(RELEASE_PATH)).unwrap();
    let released = Catalogue { release: Release::parse(&text_now).unwrap(), ..catalogue() };

    let plan = plan(root.path(), &released, Some("HEAD"), None).unwrap();
    assert_eq!(plan.base.label, "HEAD");
    for env in &plan.environments {
        if env.name == "staging" {
            assert_eq!(rolling(env), ["auth-service"], "staging");
            let deployment = object(env, Deployment::KIND, "auth-service");
            assert!(deployment.why.contains(&"image".to_owned()), "{:?}", deployment.why);
            let image = field(deployment, "spec.template.spec.containers[auth-service].image");
            let (from, to) = (text(&image.from).unwrap(), text(&image.to).unwrap());
            assert!(from.ends_with(&format!(":{old}")) && to.ends_with(&format!(":{tag}")), "{from} → {to}");
        } else {
            assert!(!env.changes(), "{}: a staging release changed it: {:?}", env.name, env.objects);
        }
    }
    let json = json_of(&plan);
    let rolls = |name: &str| -> Vec<String> {
        let objects = json_env(&json, name)["objects"].as_array().unwrap().clone();
        objects.iter().filter(|o| o["rolls"] == true).map(|o| o["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(rolls("staging"), ["auth-service"]);
    assert_eq!(rolls("production"), Vec::<String>::new());
}

/// An edge added to the service graph (and committed): in every environment exactly one
/// network path appears, from the caller to the callee on the callee's port; none goes, and the
/// lint finds nothing new.
#[test]
fn an_added_edge() {
    let root = clone();
    let mut changed = catalogue();
    let callee = changed.services.iter().find(|s| s.name == "notification-service").unwrap().clone();
    let caller = changed.services.iter_mut().find(|s| s.name == "auth-service").unwrap();
    let edge = Uses::Service(callee.name.clone());
    assert!(!caller.uses.contains(&edge), "the case needs an edge the catalogue does not have");
    caller.uses.push(edge);
    write(root.path(), &changed);
    git(root.path(), &["commit", "--quiet", "-am", "auth-service calls notification-service"]);

    let plan = plan(root.path(), &changed, Some("HEAD^"), None).unwrap();
    let port = u16::try_from(callee.port).unwrap();
    let expected = NetPath { from: "auth-service".into(), to: callee.name.clone(), protocol: "TCP".into(), port };
    for env in &plan.environments {
        assert_eq!(env.network_added, std::slice::from_ref(&expected), "{}", env.name);
        assert_eq!(env.network_removed, [], "{}", env.name);
        assert!(env.lint_added.is_empty() && env.lint_removed.is_empty(), "{}: {:?}", env.name, env.lint_added);
        let policies: Vec<&str> =
            env.objects.iter().filter(|o| o.kind == NetworkPolicy::KIND).map(|o| o.name.as_str()).collect();
        assert_eq!(policies, ["auth-service", "notification-service"], "{}: both ends' policies", env.name);
    }
    let json = json_of(&plan);
    for name in environments() {
        let added = &json_env(&json, &name)["network"]["added"];
        let want = serde_json::json!([{"from": "auth-service", "to": callee.name, "protocol": "TCP", "port": port}]);
        assert_eq!(added, &want, "{name}");
    }
}

/// Nothing changed: every environment is listed with no object, no path, no finding, the same
/// capacity on both sides, and the plan says it changes nothing (what `--exit-code` reads).
#[test]
fn nothing_changed() {
    let root = clone();
    let plan = plan(root.path(), &catalogue(), Some("main"), None).unwrap();
    assert!(!plan.changes());
    assert_eq!(plan.environments.len(), environments().len());
    for env in &plan.environments {
        assert_eq!(env.presence, Presence::Both);
        assert!(env.objects.is_empty() && env.network_added.is_empty() && env.lint_added.is_empty(), "{}", env.name);
        assert!(env.capacity.before.is_some(), "{}: counted", env.name);
        assert_eq!(env.capacity.before, env.capacity.after, "{}", env.name);
    }
    let json = json_of(&plan);
    assert_eq!(json["changes"], false);
    for e in json["environments"].as_array().unwrap() {
        assert_eq!(e["objects"], Json::Array(vec![]));
        assert_eq!(e["capacity"]["before"], e["capacity"]["after"]);
    }
    assert!(render(&plan, Format::Text, false).ends_with("\nno change in any environment\n"));
}

/// An environment on one side only is all added: a base without the staging overlay (a commit
/// from before it), against the head that has it.
#[test]
fn an_environment_on_one_side_only_is_all_added() {
    let root = clone();
    git(root.path(), &["rm", "--quiet", "-r", "generated/infra/kubernetes/overlays/staging"]);
    git(root.path(), &["commit", "--quiet", "-m", "no staging yet"]);
    let base = git(root.path(), &["rev-parse", "HEAD"]);
    git(root.path(), &["checkout", "--quiet", "HEAD^", "--", "generated"]);

    let plan = plan(root.path(), &catalogue(), Some(&base), Some("staging")).unwrap();
    let [staging] = plan.environments.as_slice() else { panic!("--env staging: {:?}", plan.environments) };
    assert_eq!(staging.presence, Presence::Added);
    assert!(!staging.objects.is_empty() && staging.objects.iter().all(|o| o.change == Change::Added));
    assert!(staging.capacity.before.is_none() && staging.capacity.after.is_some());
    assert!(!staging.network_added.is_empty(), "its paths are added");

    // A name no environment can take (not a DNS label): an added environment never makes it known.
    let error = super::plan(root.path(), &catalogue(), Some(&base), Some("no_such_env")).unwrap_err().to_string();
    assert!(error.starts_with("no_such_env: environment: not in generated/ at "), "{error}");
}

/// A work tree whose `generated/` is not what the definitions render is refused, naming the
/// file: the plan would not be the change's.
#[test]
fn a_stale_work_tree_is_refused() {
    let root = clone();
    let file = root.path().join("generated/infra/kubernetes/overlays/production/patches/auth-service.yaml");
    let edited = std::fs::read_to_string(&file).unwrap().replace("LOG_LEVEL: info", "LOG_LEVEL: debug");
    std::fs::write(&file, edited).unwrap();
    let error = format!("{:#}", plan(root.path(), &catalogue(), Some("HEAD"), None).unwrap_err());
    assert!(error.starts_with("the work tree's generated/ is not what the definitions render"), "{error}");
    assert!(error.contains("overlays/production/patches/auth-service.yaml: differs"), "{error}");
    assert!(error.ends_with("run `cargo xtask generate` (`cargo xtask check` shows the diff)"), "{error}");
}

/// The command line of `plan`: each flag in both forms; each mistake named.
#[test]
fn options_parse() {
    let parsed = Options::parse(Some("staging"), &["--base=main", "--format", "json", "--exit-code"]).unwrap();
    assert_eq!(
        parsed,
        Options { base: Some("main".into()), env: Some("staging".into()), format: Format::Json, exit_code: true }
    );
    assert_eq!(Options::parse(None, &[]).unwrap().format, Format::Text);
    let mistakes: [(&[&str], &str); 6] = [
        (&["--format", "yaml"], "plan: --format \"yaml\" is not one of text, markdown, json"),
        (&["--format"], "plan: --format needs one of text, markdown, json"),
        (&["--base"], "plan: --base needs a git ref, e.g. --base main"),
        (&["--base", "a", "--base", "b"], "plan: --base is given twice: name one ref"),
        (&["HEAD"], "plan: unknown argument \"HEAD\""),
        (&["--exit-code=1"], "plan: unknown argument \"--exit-code=1\""),
    ];
    for (args, expected) in mistakes {
        assert_eq!(Options::parse(None, args), Err(expected.to_owned()), "{args:?}");
    }
}

/// An environment the change removes is all removed: its objects and its paths go; with no pool
/// in the current catalogue its capacity is not counted, and the plan says why.
#[test]
fn a_removed_environment_is_all_removed() {
    let root = clone();
    let mut changed = catalogue();
    changed.platform.environments.retain(|e| e.name != "staging");
    changed.release.environments.shift_remove("staging");
    write(root.path(), &changed);

    let plan = plan(root.path(), &changed, Some("HEAD"), None).unwrap();
    let staging = plan.environments.iter().find(|e| e.name == "staging").expect("staging is planned");
    assert_eq!(staging.presence, Presence::Removed);
    assert!(!staging.objects.is_empty() && staging.objects.iter().all(|o| o.change == Change::Removed));
    assert!(staging.network_added.is_empty() && !staging.network_removed.is_empty());
    assert_eq!((&staging.capacity.before, &staging.capacity.after), (&None, &None));
    assert!(staging.notes.iter().any(|n| n.contains("no environment staging")), "{:?}", staging.notes);
    for env in plan.environments.iter().filter(|e| e.name != "staging") {
        assert!(!env.changes(), "{}: {:?}", env.name, env.objects);
    }
}
