//! `cargo xtask plan` as a user meets it, through the real binary on temporary clones of this
//! repository (`XTASK_ROOT`): exit codes like `git diff`'s (0 when it ran, 1 with `--exit-code`
//! when anything changes, 2 for a usage mistake, 1 with an error naming what is wrong: an unknown
//! ref, a folder that is not a git checkout, kubectl missing), `--env` and the formats. The base
//! side's change is a hand edit committed in a generated file: the binary's catalogue is compiled
//! in, so the head must stay what it renders, and only the base can differ without a rebuild.
//! (The plan of real spec-sheet changes is shown by the unit tests, `src/plan/tests.rs`.) Needs
//! kubectl: fails, never skips, without it.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Output};

use lomash_manifests::catalogue;
use serde_json::Value as Json;

use crate::testing;

use testing::{git, TempDir};

fn run(root: &Path, args: &[&str], path: Option<&OsString>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.args(args).env("XTASK_ROOT", root).env_remove("XTASK_FAULT").env_remove("NO_COLOR");
    // The renders are kept where every test binary keeps them: the tests plan the same trees many
    // times (and kubectl's version is in every key, so the missing-kubectl case still fails).
    command.env("XTASK_KUSTOMIZE_CACHE", Path::new(env!("CARGO_TARGET_TMPDIR")).join("kustomize-cache"));
    if let Some(path) = path {
        command.env("PATH", path);
    }
    command.output().expect("the xtask binary runs")
}

fn xtask(root: &Path, args: &[&str]) -> Output {
    run(root, args, None)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A clone whose last commit holds what the binary renders.
fn clone() -> TempDir {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let paths = [format!("/{}/", lomash_manifests::layout::GENERATED_DIR), format!("/{}", catalogue::RELEASE_PATH)];
    let dir = testing::sparse_clone(source, "plan-cli", &paths.each_ref().map(String::as_str));
    generate(dir.path());
    git(dir.path(), &["add", "-A", "generated"]);
    git(dir.path(), &["commit", "--quiet", "--allow-empty", "-m", "base"]);
    dir
}

fn generate(root: &Path) {
    let out = xtask(root, &["generate"]);
    assert!(out.status.success(), "generate: {}", text(&out.stderr));
}

fn environments() -> Vec<String> {
    catalogue().platform.environments.iter().map(|e| e.name.clone()).collect()
}

#[test]
fn an_unchanged_tree_plans_nothing_and_exits_0() {
    let root = clone();
    for args in [&["plan", "--base", "HEAD"][..], &["plan", "--base", "HEAD", "--exit-code"]] {
        let out = xtask(root.path(), args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.ends_with("\nno change in any environment\n"), "{args:?}: {stdout}");
        assert!(!stdout.contains('\x1b'), "{args:?}: colour when stdout is not a terminal");
    }
    let out = xtask(root.path(), &["plan", "--base", "HEAD", "--format", "json", "--exit-code"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: Json = serde_json::from_str(&text(&out.stdout)).expect("the JSON parses");
    assert_eq!(json["changes"], false);
    let names: Vec<&str> =
        json["environments"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, environments());
}

/// A base that differs from the head in staging's ConfigMap of one service: `--exit-code` exits 1,
/// without it 0; `--env` narrows the plan to one environment, and production alone changes
/// nothing. The JSON names the object and the field with both values.
#[test]
fn a_change_exits_1_with_exit_code_and_env_narrows_it() {
    let root = clone();
    let patch = root.path().join("generated/infra/kubernetes/overlays/staging/patches/auth-service.yaml");
    let original = std::fs::read_to_string(&patch).unwrap();
    let line = original.lines().find(|l| l.trim_start().starts_with("NODE_ENV: ")).expect("a NODE_ENV key");
    let value = line.trim_start().trim_start_matches("NODE_ENV: ").to_owned();
    std::fs::write(&patch, original.replace(line, &line.replace(&value, "plan-test"))).unwrap();
    git(root.path(), &["commit", "--quiet", "-am", "a base that differs"]);
    generate(root.path());

    let code = |args: &[&str]| xtask(root.path(), args).status.code();
    assert_eq!(code(&["plan", "--base", "HEAD"]), Some(0));
    assert_eq!(code(&["plan", "--base", "HEAD", "--exit-code"]), Some(1));
    assert_eq!(code(&["plan", "--base", "HEAD", "--env", "production", "--exit-code"]), Some(0));
    assert_eq!(code(&["plan", "--base=HEAD^", "--exit-code"]), Some(0), "HEAD^ is the head's own tree");

    let out = xtask(root.path(), &["--env=staging", "plan", "--base", "HEAD", "--format=json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: Json = serde_json::from_str(&text(&out.stdout)).expect("the JSON parses");
    let [staging] = json["environments"].as_array().unwrap().as_slice() else { panic!("one environment: {json}") };
    assert_eq!(staging["name"], "staging");
    let objects = staging["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 1, "{objects:?}");
    assert_eq!(
        (&objects[0]["kind"], &objects[0]["name"]),
        (&Json::from("ConfigMap"), &Json::from("auth-service-config"))
    );
    assert_eq!(objects[0]["rolls"], false, "the base's edit left its checksum: nothing rolls");
    let fields = objects[0]["fields"].as_array().unwrap();
    assert_eq!(fields, &[serde_json::json!({"path": "data.NODE_ENV", "from": "plan-test", "to": value})]);

    let out = xtask(root.path(), &["plan", "--base", "HEAD", "--env", "staging", "--format", "markdown"]);
    let markdown = text(&out.stdout);
    assert!(markdown.contains("\n### staging\n") && !markdown.contains("### production"), "{markdown}");
    assert!(markdown.contains("| `data.NODE_ENV` | `plan-test` | "), "{markdown}");
}

#[test]
fn usage_mistakes_exit_2() {
    let root = TempDir::new("plan-cli-usage");
    let cases: [(&[&str], &str); 4] = [
        (&["plan", "--format", "yaml"], "error: plan: --format \"yaml\" is not one of text, markdown, json\n"),
        (&["plan", "--base"], "error: plan: --base needs a git ref, e.g. --base main\n"),
        (&["plan", "HEAD"], "error: plan: unknown argument \"HEAD\"\n"),
        (&["plan", "--env"], "error: --env needs an environment, e.g. --env production\n"),
    ];
    for (args, expected) in cases {
        let out = xtask(root.path(), args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with(expected), "{args:?}: {stderr}");
        assert!(stderr.contains("Usage: cargo xtask "), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// An unknown ref, a folder that is not a git checkout, kubectl missing, an unknown
/// environment: exit 1, one line naming what is wrong, nothing on stdout.
#[test]
fn errors_exit_1_and_name_what_is_wrong() {
    let root = clone();
    let not_a_checkout = TempDir::new("plan-cli-no-git");
    generate(not_a_checkout.path());
    // A PATH with git and tar but no kubectl.
    let bin = TempDir::new("plan-cli-bin");
    for tool in ["git", "tar"] {
        let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().unwrap();
        let found = text(&found.stdout).trim().to_owned();
        assert!(!found.is_empty(), "{tool} is on PATH");
        std::os::unix::fs::symlink(found, bin.path().join(tool)).unwrap();
    }
    let no_kubectl = OsString::from(bin.path());
    let cases: [(&Path, &[&str], Option<&OsString>, String); 4] = [
        (
            root.path(),
            &["plan", "--base", "no-such-ref"],
            None,
            format!("error: no-such-ref: not a commit of the repository at {} (unknown ref)\n", root.path().display()),
        ),
        (
            not_a_checkout.path(),
            &["plan"],
            None,
            format!("error: {}: not a git checkout (", not_a_checkout.path().display()),
        ),
        (root.path(), &["plan"], Some(&no_kubectl), "error: kubectl: not found on PATH: plan renders".to_owned()),
        // A name no environment can take (not a DNS label).
        (
            root.path(),
            &["plan", "--env", "no_such_env"],
            None,
            "error: no_such_env: environment: not in generated/ at ".to_owned(),
        ),
    ];
    for (dir, args, path, expected) in cases {
        let out = run(dir, args, path);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.starts_with(&expected), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
    }
}
