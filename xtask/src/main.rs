//! `cargo xtask <task>`: the project's tasks. This file only dispatches; each task has its module.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use lomash_manifests::catalogue;
use lomash_manifests::spec::{Environment, Platform};

mod bench;
mod lint;
mod new_service;
mod release;
mod render;
mod sync;
#[cfg(test)]
mod testing;

const USAGE: &str = "\
Usage: cargo xtask <command>

Commands:
  generate   render the service definitions and write generated/ (only changed files)
  check      exit 1, with a diff, when generated/ is not exactly what the definitions render
  diff       show what `generate` would change, as a unified diff, without writing; exit 1 if it would
             change anything, 0 if not
  lint [--env ENV]
             check an environment's objects against the Pod Security Standards and the spec; exit 1 on a violation
  render [--env ENV] [--out FILE]
             print an environment's manifests computed from the definitions (no kustomize run)
  set-image <service> <tag>
             pin a service's production image tag in images.yaml and regenerate generated/
  new-service <name> --port <n> [--postgres] [--redis] [--summary <text>]
             add a service: write its spec sheet, list it in services/mod.rs, pin its tag in
             images.yaml, then build it and regenerate generated/ (all or nothing)
  bench      time rendering, generate/check beside kubectl kustomize, peak memory
             (add --build for the build cost: minutes); figures in BENCHMARKS.md
  help       print this help
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["generate"] => sync::run(&project_root(), &catalogue(), sync::Mode::Write),
        ["check"] => sync::run(&project_root(), &catalogue(), sync::Mode::Check),
        ["diff"] => sync::run(&project_root(), &catalogue(), sync::Mode::Diff),
        ["lint"] => lint::run(&catalogue(), DEFAULT_ENV),
        ["lint", "--env", env] => lint::run(&catalogue(), env),
        ["render"] => render::run(&catalogue(), DEFAULT_ENV, None),
        ["render", "--out", file] => render::run(&catalogue(), DEFAULT_ENV, Some(std::path::Path::new(file))),
        ["render", "--env", env] => render::run(&catalogue(), env, None),
        ["render", "--env", env, "--out", file] | ["render", "--out", file, "--env", env] => {
            render::run(&catalogue(), env, Some(std::path::Path::new(file)))
        }
        ["set-image", service, tag] => release::set_image(&project_root(), service, tag).map(|previous| {
            println!("{service}: {previous} -> {tag}");
            ExitCode::SUCCESS
        }),
        ["new-service", rest @ ..] => new_service::run(&project_root(), rest),
        ["bench", flags @ ..] => bench::run(&project_root(), flags),
        ["help" | "--help" | "-h"] => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        [] => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
        _ => {
            eprint!("error: unknown command or arguments: {:?}\n\n{USAGE}", args.join(" "));
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The environment a command means when none is named: the one every habit and script grew up on.
const DEFAULT_ENV: &str = "production";

/// The environment of the platform named `name`, or an error listing the known ones.
pub fn environment<'a>(platform: &'a Platform, name: &str) -> Result<&'a Environment> {
    match platform.environment(name) {
        Some(env) => Ok(env),
        None => {
            let known: Vec<&str> = platform.environments.iter().map(|e| e.name.as_str()).collect();
            bail!("{name}: environment: not one of the platform's (known: {})", known.join(", "))
        }
    }
}

/// The workspace root, found from this crate's manifest, never from the current directory. Read
/// at run time: `cargo run` sets `CARGO_MANIFEST_DIR` for the checkout it runs in, while the
/// compiled-in `env!` value names the checkout the binary was built in, which differs when two
/// checkouts share a target directory (a global `CARGO_TARGET_DIR`, git worktrees).
///
/// The tests of the binary set `XTASK_ROOT` to point it at a temporary project root instead.
pub fn project_root() -> PathBuf {
    if let Some(root) = std::env::var_os("XTASK_ROOT") {
        return PathBuf::from(root);
    }
    root_from(std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from))
}

fn root_from(manifest_dir: Option<PathBuf>) -> PathBuf {
    let dir = manifest_dir.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    dir.parent().expect("xtask lives in the workspace root").to_path_buf()
}
