//! `cargo xtask <task>`: the project's tasks. This file only dispatches; each task has its module.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use lomash_manifests::catalogue;
use lomash_manifests::spec::{Environment, Platform};

mod bench;
mod capacity;
mod lint;
mod new_service;
mod plan;
mod promote;
mod release;
mod render;
mod sync;
#[cfg(test)]
mod testing;

const USAGE: &str = "\
Usage: cargo xtask <command> [--env ENV]

Commands:
  generate   render the service definitions and write generated/, every environment (only changed files)
  check      exit 1, with a diff, when generated/ is not exactly what the definitions render (every environment)
  diff [--env ENV]
             show what `generate` would change, as a unified diff, without writing; exit 1 if it would
             change anything, 0 if not. With --env: only the base and that environment's overlay
  lint [--env ENV]
             check an environment's objects against the Pod Security Standards and the spec; exit 1 on a violation
  capacity [--env ENV]
             print the nodes, CPU and memory an environment's services need at their replica bounds,
             against its declared node pool
  render [--env ENV] [--out FILE]
             print an environment's manifests computed from the definitions (no kustomize run)
  set-image [--env ENV] <service> <tag>
             pin a service's image tag in an environment in images.yaml and regenerate generated/
  promote <from> <to> [<service>...]
             copy the tags of the named services (all when none is named) from one environment to
             another in images.yaml and regenerate generated/; exit 0 with \"nothing to promote\"
             when the tags are already the same
  new-service <name> --port <n> [--postgres] [--redis] [--summary <text>]
             add a service: write its spec sheet, list it in services/mod.rs, pin its tag in
             images.yaml, then build it and regenerate generated/ (all or nothing)
  plan [--base REF] [--env ENV] [--format text|markdown|json] [--exit-code]
             what the work tree's generated/ changes against REF's (default: the merge-base with
             main), per environment, rendered with kubectl kustomize: objects field by field, the
             Deployments that roll and why, capacity, network paths, lint findings; every
             environment unless --env; exit 0 (with --exit-code: 1 when anything changes)
  bench      time rendering, generate/check beside kubectl kustomize, peak memory
             (add --build for the build cost: minutes); figures in BENCHMARKS.md
  help       print this help

--env ENV (or --env=ENV) may stand anywhere on the line; without it, ENV is production.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let line = match CommandLine::parse(&args) {
        Ok(line) => line,
        Err(mistake) => {
            eprint!("error: {mistake}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let env = line.env.unwrap_or(DEFAULT_ENV);
    let result = match (line.command, line.env, line.rest.as_slice()) {
        (Some("generate"), None, []) => sync::run(&project_root(), &catalogue(), sync::Mode::Write),
        (Some("check"), None, []) => sync::run(&project_root(), &catalogue(), sync::Mode::Check),
        // Without --env, diff previews everything `generate` would write: every environment.
        (Some("diff"), scope, []) => sync::diff(&project_root(), &catalogue(), scope),
        (Some("lint"), _, []) => lint::run(&catalogue(), env),
        (Some("capacity"), _, []) => capacity::run(&catalogue(), env),
        (Some("render"), _, []) => render::run(&catalogue(), env, None),
        (Some("render"), _, ["--out", file]) => render::run(&catalogue(), env, Some(std::path::Path::new(file))),
        (Some("set-image"), _, [service, tag]) => release::set_image(&project_root(), &catalogue(), env, service, tag)
            .map(|previous| {
                println!("{service}: {previous} -> {tag}");
                ExitCode::SUCCESS
            }),
        (Some("promote"), None, [from, to, services @ ..]) => {
            promote::run(&project_root(), &catalogue(), from, to, services)
        }
        (Some("new-service"), None, rest) => new_service::run(&project_root(), rest),
        (Some("plan"), scope, rest) => match plan::Options::parse(scope, rest) {
            Ok(options) => plan::run(&project_root(), &catalogue(), &options),
            Err(mistake) => {
                eprint!("error: {mistake}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        (Some("bench"), None, flags) => bench::run(&project_root(), flags),
        (Some("help" | "--help" | "-h"), None, []) => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        (None, None, []) => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
        (Some(command @ ("generate" | "check" | "promote" | "bench" | "help")), Some(_), _) => {
            eprint!(
                "error: --env is not an option of {command}: generate and check cover every environment, \
                 promote names its two\n\n{USAGE}"
            );
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

/// A command line with `--env` taken out: the commands match on the rest, and any of them can
/// be given an environment in any position (`render --env staging`, `--env staging lint`,
/// `set-image auth-service 1.2.3 --env staging`) without an arm per position.
#[derive(Debug, PartialEq, Eq)]
struct CommandLine<'a> {
    /// The first word that is not `--env` or its value; none on an empty line.
    command: Option<&'a str>,
    /// The value of `--env ENV` or `--env=ENV`, when given.
    env: Option<&'a str>,
    /// The other words after the command, in order.
    rest: Vec<&'a str>,
}

impl<'a> CommandLine<'a> {
    /// Splits `args`; a usage mistake (`--env` without a value, or given twice) is an error.
    fn parse(args: &[&'a str]) -> Result<CommandLine<'a>, String> {
        let mut env = None;
        let mut words = Vec::with_capacity(args.len());
        let mut args = args.iter().copied();
        while let Some(arg) = args.next() {
            let value = match arg.strip_prefix("--env") {
                Some("") => match args.next() {
                    Some(v) if !v.is_empty() && !v.starts_with('-') => v,
                    _ => return Err("--env needs an environment, e.g. --env production".to_owned()),
                },
                Some(rest) if rest.starts_with('=') => match &rest[1..] {
                    "" => return Err("--env needs an environment, e.g. --env=production".to_owned()),
                    v => v,
                },
                _ => {
                    words.push(arg);
                    continue;
                }
            };
            if env.replace(value).is_some() {
                return Err("--env is given twice: name one environment".to_owned());
            }
        }
        let mut words = words.into_iter();
        Ok(CommandLine { command: words.next(), env, rest: words.collect() })
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

#[cfg(test)]
mod tests {
    use super::CommandLine;

    /// A line, then the command, the environment and the rest it must split into.
    type Case = (&'static [&'static str], Option<&'static str>, Option<&'static str>, &'static [&'static str]);

    /// `--env` is taken out wherever it stands, in either form; the rest keeps its order.
    #[test]
    fn env_is_found_in_any_position() {
        let cases: [Case; 9] = [
            (&[], None, None, &[]),
            (&["render"], Some("render"), None, &[]),
            (&["render", "--env", "staging"], Some("render"), Some("staging"), &[]),
            (&["--env", "staging", "render"], Some("render"), Some("staging"), &[]),
            (&["render", "--out", "f", "--env", "staging"], Some("render"), Some("staging"), &["--out", "f"]),
            (&["render", "--env=staging", "--out", "f"], Some("render"), Some("staging"), &["--out", "f"]),
            (&["set-image", "a", "--env", "staging", "1.0.0"], Some("set-image"), Some("staging"), &["a", "1.0.0"]),
            (&["promote", "staging", "production", "a"], Some("promote"), None, &["staging", "production", "a"]),
            // Not `--env`: left for the command to refuse.
            (&["lint", "--environment", "x"], Some("lint"), None, &["--environment", "x"]),
        ];
        for (args, command, env, rest) in cases {
            assert_eq!(CommandLine::parse(args), Ok(CommandLine { command, env, rest: rest.to_vec() }), "{args:?}");
        }
    }

    #[test]
    fn env_without_a_value_or_twice_is_a_usage_mistake() {
        let cases: [(&[&str], &str); 5] = [
            (&["render", "--env"], "--env needs an environment, e.g. --env production"),
            (&["render", "--env", "--out", "f"], "--env needs an environment, e.g. --env production"),
            (&["render", "--env", ""], "--env needs an environment, e.g. --env production"),
            (&["render", "--env="], "--env needs an environment, e.g. --env=production"),
            (&["lint", "--env", "a", "--env=b"], "--env is given twice: name one environment"),
        ];
        for (args, expected) in cases {
            assert_eq!(CommandLine::parse(args), Err(expected.to_owned()), "{args:?}");
        }
    }
}
