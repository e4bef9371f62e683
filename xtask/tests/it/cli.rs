//! The `cargo xtask` command line as a user meets it: usage mistakes (and no command) exit 2 with
//! the usage on stderr, a refused `new-environment` exits 1, `--help` lists the commands, and `check` passes on the committed tree.

use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().expect("the xtask binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const COMMANDS: [&str; 13] = [
    "generate",
    "check",
    "diff",
    "lint",
    "capacity",
    "render",
    "set-image",
    "promote",
    "new-service",
    "new-environment",
    "plan",
    "bench",
    "help",
];

#[test]
fn a_usage_mistake_prints_the_usage_and_exits_2() {
    for args in [&["frobnicate"][..], &["generate", "--force"], &["--verbose"]] {
        let out = xtask(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: unknown command or arguments"), "{args:?}: {stderr}");
        assert!(stderr.contains("Usage: cargo xtask <command>"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: usage mistakes print nothing on stdout");
    }
}

/// `args` exit 2, naming the mistake (`expected` starts stderr), then the usage.
fn assert_usage_mistake(args: &[&str], expected: &str) {
    let out = xtask(args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.starts_with(expected), "{args:?}: {stderr}");
    assert!(stderr.contains("Usage: cargo xtask <command>"), "{args:?}: {stderr}");
}

/// `new-service` names what is wrong with its arguments, then prints the usage; exit 2, nothing
/// written (the arguments are read before anything else).
#[test]
fn new_service_usage_mistakes_exit_2() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["new-service"],
            "error: new-service: the service name comes first
",
        ),
        (
            &["new-service", "search-service"],
            "error: new-service: --port <n> is required
",
        ),
        (&["new-service", "search-service", "--port", "x"], "error: new-service: --port \"x\" is not a port number"),
    ];
    for (args, expected) in cases {
        assert_usage_mistake(args, expected);
    }
}

/// `new-environment` likewise: a usage mistake exits 2 with the usage; a name the platform has is a
/// failure, exit 1, with nothing written (run in an empty root: the name is refused before any
/// file is read).
#[test]
fn new_environment_mistakes_exit_2_or_1() {
    let cases: [(&[&str], &str); 3] = [
        (&["new-environment"], "error: new-environment: the environment name comes first\n"),
        (&["new-environment", "qa"], "error: new-environment: --from <environment> is required\n"),
        (&["new-environment", "qa", "--from"], "error: new-environment: --from needs an environment\n"),
    ];
    for (args, expected) in cases {
        assert_usage_mistake(args, expected);
    }
    let root = std::env::temp_dir().join(format!("xtask-cli-new-environment-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["new-environment", "staging", "--from", "production"])
        .env("XTASK_ROOT", &root)
        .output()
        .expect("the xtask binary runs");
    let left: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name()).collect();
    std::fs::remove_dir_all(&root).unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr, "error: staging: name: the platform already has this environment; nothing was written\n");
    assert_eq!(left, [".generated.lock"], "only the lock file, which every writer takes first");
}

/// No command at all is not an unknown command named "": just the usage, and exit 2.
#[test]
fn no_arguments_print_the_usage_and_exit_2() {
    let out = xtask(&[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("Usage: cargo xtask <command>"), "{stderr}");
    assert!(out.stdout.is_empty(), "the usage goes to stderr");
}

#[test]
fn help_lists_the_commands() {
    for flag in ["--help", "-h", "help"] {
        let out = xtask(&[flag]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(stdout.starts_with("Usage: cargo xtask <command>"), "{flag}: {stdout}");
        for command in COMMANDS {
            assert!(stdout.lines().any(|l| l.trim_start().starts_with(command)), "{flag}: {command} not listed");
        }
    }
}

#[test]
fn check_passes_on_the_committed_tree() {
    let out = xtask(&["check"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("Up-to-date: generated/"), "{stdout}");
}

/// `help <command>` and `<command> --help` (or `-h`) print that command's usage on stdout, exit 0,
/// and run nothing.
#[test]
fn each_command_has_its_own_help() {
    for command in COMMANDS {
        for args in [vec!["help", command], vec![command, "--help"], vec![command, "-h"]] {
            let out = xtask(&args);
            let stdout = text(&out.stdout);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
            assert!(stdout.starts_with(&format!("Usage: cargo xtask {command}")), "{args:?}: {stdout}");
            assert!(!stdout.contains("Commands:"), "{args:?}: the command's usage, not the whole");
        }
    }
    let out = xtask(&["help", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error: help: \"frobnicate\" is not a command\n"), "{}", text(&out.stderr));
}

/// A missing argument is named, with the command's usage; exit 2, nothing run.
#[test]
fn a_missing_argument_is_named() {
    let cases: [(&[&str], &str, &str); 6] = [
        (&["set-image"], "set-image: missing <service>", "set-image"),
        (&["set-image", "auth-service"], "set-image: missing <tag>", "set-image"),
        (&["set-image", "--env", "staging", "auth-service"], "set-image: missing <tag>", "set-image"),
        (&["promote"], "promote: missing <from>", "promote"),
        (&["promote", "staging"], "promote: missing <to>", "promote"),
        (&["render", "--out"], "render: missing FILE after --out", "render"),
    ];
    for (args, mistake, command) in cases {
        let out = xtask(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: {mistake}\n\nUsage: cargo xtask {command} ")),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
