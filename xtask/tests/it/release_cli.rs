//! The release commands and `--env` through the real binary, on temporary project roots
//! (`XTASK_ROOT`): `set-image` without `--env` keeps meaning production, `--env` is accepted in any
//! position by the commands that take it and refused by those that cover every environment, and
//! an unknown environment, service or a promote to itself exits 1 with not one byte changed. The
//! committed platform's environments are read from the catalogue; promote between two of them
//! is shown by the unit tests, which can give it a second environment.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use lomash_manifests::catalogue;
use lomash_manifests::catalogue::{RELEASE_FILE, RELEASE_PATH};

use crate::testing;

use testing::TempDir;

const LOCK_FILE: &str = ".generated.lock";
/// The environment the platform does not have: not a DNS label, so no environment can take the
/// name (`qa` once stood here, until an environment could be called that).
const UNKNOWN_ENV: &str = "no_such_env";

fn xtask(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("XTASK_ROOT", root)
        .env_remove("XTASK_FAULT")
        .output()
        .expect("the xtask binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A root with the committed release file and the tree it renders.
fn root() -> TempDir {
    let root = TempDir::new("release-cli");
    let path = root.path().join(RELEASE_PATH);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, RELEASE_FILE).unwrap();
    let out = xtask(root.path(), &["generate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    root
}

fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    testing::snapshot(root, LOCK_FILE)
}

fn known_environments() -> String {
    catalogue().platform.environments.iter().map(|e| e.name.clone()).collect::<Vec<_>>().join(", ")
}

/// Without `--env`, set-image pins production, as it always did: the same bytes, file and tree,
/// as with `--env production` before or after the arguments.
#[test]
fn set_image_without_env_means_production() {
    let forms: [&[&str]; 4] = [
        &["set-image", "auth-service", "2.1.0"],
        &["set-image", "--env", "production", "auth-service", "2.1.0"],
        &["set-image", "auth-service", "2.1.0", "--env", "production"],
        &["--env=production", "set-image", "auth-service", "2.1.0"],
    ];
    let mut results = Vec::new();
    for args in forms {
        let root = root();
        let out = xtask(root.path(), args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        let committed = catalogue().release.tag("production", "auth-service").unwrap().to_owned();
        let printed = format!("auth-service: {committed} → 2.1.0\n");
        assert!(text(&out.stdout).ends_with(&printed), "{args:?}: {}", text(&out.stdout));
        results.push(snapshot(root.path()));
    }
    let release = String::from_utf8(results[0][RELEASE_PATH].clone()).unwrap();
    // Production's line changes, and nothing else (staging's line for the service stays).
    let want = lomash_manifests::Release::with_tag(RELEASE_FILE, "production", "auth-service", "2.1.0").unwrap();
    assert_eq!(release, want);
    assert!(results.iter().all(|r| *r == results[0]), "the forms wrote different bytes");
}

/// Mistakes in the environment, the service or the direction: exit 1, the message, and the
/// root byte for byte as it was.
#[test]
fn release_mistakes_exit_1_and_change_nothing() {
    let known = known_environments();
    let first = catalogue().platform.environments[0].name.clone();
    let unknown = UNKNOWN_ENV;
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["set-image", "--env", unknown, "auth-service", "2.1.0"],
            format!("error: {unknown}: environment: not one of the platform's (known: {known}); nothing was changed\n"),
        ),
        (
            vec!["promote", unknown, &first],
            format!("error: {unknown}: environment: not one of the platform's (known: {known}); nothing was changed\n"),
        ),
        (
            vec!["promote", &first, unknown, "auth-service"],
            format!("error: {unknown}: environment: not one of the platform's (known: {known}); nothing was changed\n"),
        ),
        (
            vec!["promote", &first, &first],
            format!(
                "error: promote {first} {first}: the same environment twice: name the one to copy from, then \
                 another; nothing was changed\n"
            ),
        ),
    ];
    for (args, expected) in cases {
        let root = root();
        let before = snapshot(root.path());
        let out = xtask(root.path(), &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stderr), expected, "{args:?}");
        assert!(snapshot(root.path()) == before, "{args:?} changed files");
    }
}

/// `--env` on a command that covers every environment, or without its value, is a usage
/// mistake: exit 2 with the usage, nothing run.
#[test]
fn env_where_it_does_not_belong_is_a_usage_mistake() {
    let cases: [(&[&str], &str); 5] = [
        (&["generate", "--env", "production"], "error: --env is not an option of generate"),
        (&["--env", "production", "check"], "error: --env is not an option of check"),
        (&["promote", "--env", "production", "a", "b"], "error: --env is not an option of promote"),
        (&["render", "--env"], "error: --env needs an environment"),
        (&["lint", "--env", "production", "--env", "production"], "error: --env is given twice"),
    ];
    let root = root();
    let before = snapshot(root.path());
    for (args, expected) in cases {
        let out = xtask(root.path(), args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with(expected), "{args:?}: {stderr}");
        assert!(stderr.contains("Usage: cargo xtask <command>"), "{args:?}: {stderr}");
    }
    assert!(snapshot(root.path()) == before);
}

/// render, diff and lint take `--env` in any position and mean the same thing by it; an unknown
/// environment is an error naming the known ones.
#[test]
fn render_diff_and_lint_take_env_anywhere() {
    let root = root();
    for env in catalogue().platform.environments.iter().map(|e| e.name.as_str()) {
        let env_eq = format!("--env={env}");
        for command in ["render", "diff", "lint"] {
            let forms: [Vec<&str>; 3] =
                [vec![command, "--env", env], vec!["--env", env, command], vec![command, &env_eq]];
            let outputs: Vec<Output> = forms.iter().map(|args| xtask(root.path(), args)).collect();
            for (args, out) in forms.iter().zip(&outputs) {
                assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
                assert_eq!(out.stdout, outputs[0].stdout, "{args:?}");
            }
        }
    }
    // The default is production.
    assert_eq!(xtask(root.path(), &["render"]).stdout, xtask(root.path(), &["render", "--env", "production"]).stdout);
    let known = known_environments();
    for command in ["render", "diff", "lint"] {
        let out = xtask(root.path(), &[command, "--env", UNKNOWN_ENV]);
        assert_eq!(out.status.code(), Some(1), "{command}");
        assert!(
            text(&out.stderr)
                .contains(&format!("{UNKNOWN_ENV}: environment: not one of the platform's (known: {known})")),
            "{command}: {}",
            text(&out.stderr)
        );
    }
}
