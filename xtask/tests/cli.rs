//! The `cargo xtask` command line as a user meets it: usage mistakes (and no command) exit 2 with
//! the usage on stderr, `--help` lists the commands, and `check` passes on the committed tree.

use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().expect("the xtask binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const COMMANDS: [&str; 12] = [
    "generate",
    "check",
    "diff",
    "lint",
    "capacity",
    "render",
    "set-image",
    "promote",
    "new-service",
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
        let out = xtask(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with(expected), "{args:?}: {stderr}");
        assert!(stderr.contains("Usage: cargo xtask <command>"), "{args:?}: {stderr}");
    }
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
