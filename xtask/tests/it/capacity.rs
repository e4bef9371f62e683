//! `cargo xtask capacity [--env ENV]` as a user meets it: the table of every environment (the
//! library's own, under a title), exit 0; an unknown environment is an error naming the known ones.

use std::process::{Command, Output};

use lomash_manifests::capacity::table;
use lomash_manifests::{catalogue, validate};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().expect("the xtask binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn capacity_prints_each_environment_s_table() {
    let model = validate(&catalogue()).expect("the catalogue is valid");
    let default = &model.platform.environment("production").expect("production is the default").name;
    let mut runs: Vec<(Vec<&str>, &str)> = vec![(vec!["capacity"], default.as_str())];
    for env in &model.platform.environments {
        runs.push((vec!["capacity", "--env", env.name.as_str()], env.name.as_str()));
    }
    for (args, env_name) in runs {
        let env = model.platform.environment(env_name).unwrap();
        let built = lomash_manifests::built::BuiltEnvironment::new(&model, env);
        let plan = built.capacity().unwrap();
        let out = xtask(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        let connections: String = built.connections().iter().map(|b| format!("\n{}\n", b.line())).collect();
        assert!(connections.contains("connections"), "{args:?}: a line that says connections");
        let expected =
            format!("Capacity of {} (namespace {})\n\n{}{connections}", env.name, env.namespace, table(&plan));
        assert_eq!(text(&out.stdout), expected, "{args:?}");
    }
}

#[test]
fn an_unknown_environment_is_an_error() {
    let out = xtask(&["capacity", "--env", "nowhere"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: nowhere: environment: not one of the platform's (known: "), "{stderr}");
    assert!(out.stdout.is_empty());
}
