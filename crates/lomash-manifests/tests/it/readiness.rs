//! docs/spec.md ("The base and production"), checked on what `kubectl kustomize` renders for every environment
//! (and the base): the config checksum is the SHA-256 this test computes itself (with
//! `sha256sum`) from the rendered ConfigMap, a changed config value rolls exactly its own service,
//! no Deployment of an environment carries `replicas`, and the init containers' wait scripts end,
//! run for real under `sh` with stub `pg_isready` / `redis-cli`.

use crate::common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{kustomized, Scratch};
use lomash_manifests::k8s_openapi::api::apps::v1::Deployment;
use lomash_manifests::k8s_openapi::api::core::v1::Container;
use lomash_manifests::object::parse_documents;
use lomash_manifests::{catalogue, layout, render, Catalogue, Object};

/// Every rendered object of the base and of each environment, by folder name.
fn rendered(catalogue: &Catalogue) -> BTreeMap<String, Vec<Object>> {
    let files = render(catalogue).expect("valid catalogue");
    let mut dirs = vec![("base".to_owned(), layout::BASE_DIR.to_owned())];
    dirs.extend(catalogue.platform.environments.iter().map(|e| (e.name.clone(), layout::overlay_dir(&e.name))));
    dirs.into_iter()
        .map(|(name, dir)| {
            let yaml = kustomized(&files, &dir).unwrap_or_else(|e| panic!("{name}: {e}"));
            let objects = parse_documents(&yaml).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, objects)
        })
        .collect()
}

/// SHA-256 by the coreutils program: an oracle independent of the product's own digest.
fn sha256sum(text: &str) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils) runs");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

fn deployments(objects: &[Object]) -> impl Iterator<Item = &Deployment> {
    objects.iter().filter_map(|o| match o {
        Object::Deployment(d) => Some(&**d),
        _ => None,
    })
}

/// Each Deployment's `checksum/config`, by name.
fn checksums(objects: &[Object]) -> BTreeMap<String, String> {
    deployments(objects)
        .map(|d| {
            let annotations =
                d.spec.as_ref().and_then(|s| s.template.metadata.as_ref()).and_then(|m| m.annotations.as_ref());
            let sum = annotations.and_then(|a| a.get("checksum/config")).cloned().unwrap_or_default();
            (d.metadata.name.clone().unwrap_or_default(), sum)
        })
        .collect()
}

/// §4: the lowercase hex SHA-256 of the ConfigMap's data as that environment renders it, over the
/// lines `KEY=VALUE\n`, keys in byte order.
#[test]
fn the_config_checksum_is_the_sha256_of_the_rendered_configmap() {
    let c = catalogue();
    for (stage, objects) in rendered(&c) {
        let sums = checksums(&objects);
        assert_eq!(sums.len(), c.services.len(), "{stage}: one Deployment a service");
        for s in &c.services {
            let data = objects
                .iter()
                .find_map(|o| match o {
                    Object::ConfigMap(cm) if cm.metadata.name.as_deref() == Some(&format!("{}-config", s.name)) => {
                        cm.data.clone()
                    }
                    _ => None,
                })
                .unwrap_or_else(|| panic!("{stage}: no ConfigMap for {}", s.name));
            let mut keys: Vec<&String> = data.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            let lines: String = keys.iter().map(|k| format!("{k}={}\n", data[*k])).collect();
            assert_eq!(sums[&s.name], sha256sum(&lines), "{stage}: {}", s.name);
        }
    }
}

/// Changing one config value changes that service's checksum in every environment, and no other.
#[test]
fn a_changed_config_value_rolls_exactly_its_service() {
    let before = catalogue();
    let mut after = before.clone();
    let analytics = after.services.iter_mut().find(|s| !s.config.is_empty()).expect("a service with its own keys");
    let changed = analytics.name.clone();
    analytics.config[0].1.push('0');
    let (before, after) = (rendered(&before), rendered(&after));
    for (stage, objects) in &after {
        let (old, new) = (checksums(&before[stage]), checksums(objects));
        for (name, sum) in &new {
            // The base has no per-service keys: nothing of it changes.
            let should_change = *name == changed && stage != "base";
            assert_eq!(*sum != old[name], should_change, "{stage}: {name}");
        }
    }
}

/// §1: no Deployment of an environment carries `replicas` (the HPA owns it); the base keeps 1.
#[test]
fn only_the_base_sets_replicas() {
    for (stage, objects) in rendered(&catalogue()) {
        for d in deployments(&objects) {
            let replicas = d.spec.as_ref().and_then(|s| s.replicas);
            let want = if stage == "base" { Some(1) } else { None };
            assert_eq!(replicas, want, "{stage}: {:?}", d.metadata.name);
        }
    }
}

/// The init containers of the first service that has them, as rendered in the first environment.
fn init_containers() -> Vec<Container> {
    let c = catalogue();
    let env = &c.platform.environments[0].name;
    let all = rendered(&c);
    let found = deployments(&all[env])
        .flat_map(|d| d.spec.as_ref().and_then(|s| s.template.spec.as_ref()).and_then(|p| p.init_containers.clone()))
        .find(|inits| inits.len() >= 2);
    found.expect("a service waits for postgres and redis")
}

/// Writes an executable stub.
fn stub(dir: &Path, name: &str, script: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs a wait container's `sh -c` script with `tool` stubbed: it answers "down" `down` times,
/// then "up" (never, for `None`). `sleep` is stubbed too, so 60 attempts take no time. As root,
/// the script runs as uid 1001 with an unwritable HOME, as in the pod. Returns the exit code, the
/// number of calls to the tool and stderr.
fn run_wait(container: &Container, tool: &str, down: Option<u32>) -> (i32, u32, String) {
    run_wait_hanging(container, tool, down, 0)
}

/// [`run_wait`], the tool's first `hang` calls hanging for an hour (as a client does on a dropped
/// packet, with no timeout of its own) before it answers at all. The run itself is given a
/// minute: a wait that does not bound its attempts fails the test instead of hanging it.
fn run_wait_hanging(container: &Container, tool: &str, down: Option<u32>, hang: u32) -> (i32, u32, String) {
    let dir = Scratch::new("wait");
    let count = dir.0.join("calls");
    std::fs::write(&count, "").unwrap();
    let up = match tool {
        "pg_isready" => "echo accepting connections; exit 0",
        _ => "echo PONG; exit 0",
    };
    let down_answer = match tool {
        "pg_isready" => "echo no response; exit 2",
        _ => "echo 'Could not connect to Redis'; exit 1",
    };
    let limit = down.map_or(u32::MAX, |n| n);
    // The real sleep, by its path: the stub `sleep` below returns at once.
    let real_sleep = String::from_utf8(Command::new("sh").args(["-c", "command -v sleep"]).output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_owned();
    stub(
        &dir.0,
        tool,
        &format!(
            "echo x >> {}; n=$(wc -l < {}); if [ \"$n\" -le {hang} ]; then exec {real_sleep} 3600; fi; \
             if [ \"$n\" -gt {limit} ]; then {up}; fi; {down_answer}",
            count.display(),
            count.display()
        ),
    );
    stub(&dir.0, "sleep", "exit 0");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&count, std::fs::Permissions::from_mode(0o666)).unwrap();
    let command = container.command.clone().unwrap();
    assert_eq!(&command[..2], ["sh", "-c"]);
    let mut cmd = if unsafe_is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=1001", "--regid=1001", "--clear-groups", "sh", "-c", &command[2]]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", &command[2]]);
        c
    };
    // Its own process group: a hung run is ended whole, the stub's sleep included.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", dir.0.display()))
        .env("HOME", "/nonexistent")
        .envs([("DB_HOST", "postgres"), ("DB_PORT", "5432"), ("REDIS_HOST", "redis"), ("REDIS_PORT", "6379")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sh runs");
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            let _ = child.wait();
            panic!("{}: still waiting after a minute: an attempt of {tool} is not bounded", container.name);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let calls = std::fs::read_to_string(&count).unwrap().lines().count() as u32;
    (out.status.code().unwrap_or(-1), calls, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn unsafe_is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// §8: each wait ends: with 0 once the server answers, with 1 and a message after 60 attempts
/// when it never does.
#[test]
fn the_wait_scripts_end_either_way() {
    let inits = init_containers();
    for (name, tool) in [("wait-for-postgres", "pg_isready"), ("wait-for-redis", "redis-cli")] {
        let container = inits.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no {name}"));
        let (code, calls, _) = run_wait(container, tool, Some(3));
        assert_eq!((code, calls), (0, 4), "{name}: down three times, then up");
        let (code, calls, stderr) = run_wait(container, tool, None);
        assert_eq!((code, calls), (1, 60), "{name}: never up: 60 attempts, then exit 1");
        assert!(stderr.contains("gave up"), "{name}: says why it failed: {stderr:?}");
    }
}

/// docs/spec.md ("Go-live") §3: every attempt is bounded to 3 s. redis-cli has no connect timeout of its own,
/// so a stub that hangs for an hour on its first call (a dropped packet) must cost one bounded
/// attempt of 3 s, after which the loop tries again and ends with 0 once Redis answers; pg_isready
/// bounds its own attempts (`--timeout=3`).
#[test]
fn a_hanging_tool_costs_one_bounded_attempt() {
    let inits = init_containers();
    let redis = inits.iter().find(|c| c.name == "wait-for-redis").expect("wait-for-redis");
    let started = std::time::Instant::now();
    let (code, calls, _) = run_wait_hanging(redis, "redis-cli", Some(1), 1);
    let took = started.elapsed();
    assert_eq!((code, calls), (0, 2), "hung once, then up");
    assert!(took >= std::time::Duration::from_secs(3), "the hung attempt lasts its 3 s: {took:?}");
    assert!(took < std::time::Duration::from_secs(15), "and no more: {took:?}");
    let postgres = inits.iter().find(|c| c.name == "wait-for-postgres").expect("wait-for-postgres");
    let script = &postgres.command.as_ref().unwrap()[2];
    assert!(script.contains("pg_isready") && script.contains("--timeout=3"), "{script}");
}
