//! The project's tasks behind `cargo xtask <task>`: this file dispatches a command line, each task
//! has its module. The project's binary (`xtask`) hands over its catalogue with [`main`]: this
//! crate does not depend on the catalogue's, so an edited spec sheet never rebuilds it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use manifest_core::catalogue::Catalogue;
use manifest_core::project::Project;
use manifest_core::spec::{Environment, Platform};

mod bench;
mod capacity;
mod checkout;
mod hotfix;
mod lint;
mod new_environment;
mod new_service;
mod plan;
mod promote;
mod release;
mod render;
mod scaffold;
mod sync;
#[cfg(test)]
mod testing;
mod usage;

/// The project the binary was built for, set once by [`main`] before any task runs.
static PROJECT: std::sync::OnceLock<Project> = std::sync::OnceLock::new();

/// The project the tasks act for. The unit tests act for Lomash Wood's catalogue.
pub fn project() -> &'static Project {
    #[cfg(test)]
    return PROJECT.get_or_init(lomash_manifests::project);
    #[cfg(not(test))]
    PROJECT.get().expect("manifest_tasks::main sets the project before any task runs")
}

/// Where `kubectl kustomize` renders are kept and read back ([`kustomize_run`]): the folder
/// `XTASK_KUSTOMIZE_CACHE` names, when set and not empty. Unset, every render asks kubectl (a
/// user's `plan` keeps nothing); this crate's own tests keep theirs where every test binary of the
/// workspace does, `target/tmp/kustomize-cache`.
pub(crate) fn kustomize_cache() -> Option<PathBuf> {
    match std::env::var_os("XTASK_KUSTOMIZE_CACHE") {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ if cfg!(test) => {
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.parent()?.parent()?.join("tmp/kustomize-cache"))
        }
        _ => None,
    }
}

/// `kubectl kustomize` of the folder `dir` inside the tree `tree` (every file under `tree` is an
/// input), through the tests' render cache ([`crate::kustomize_cache`]): its stdout, after
/// asserting that it succeeded with nothing on stderr. Needs kubectl: fails, never skips, without
/// it (its version is part of every cache key).
#[cfg(test)]
fn kustomized(tree: &std::path::Path, dir: &std::path::Path) -> String {
    let rendered = dir.strip_prefix(tree).expect("the folder is inside the tree").to_string_lossy().into_owned();
    let inputs = kustomize_run::Inputs::tree(&rendered, tree, |_| false).expect("reading the tree");
    let cache = crate::kustomize_cache().expect("the tests keep a render cache");
    let out = kustomize_run::kustomize(&inputs, Some(&cache), || Ok(tree))
        .expect("kubectl must be installed for this test (kubectl kustomize)");
    out.clean().unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// The release file, from the workspace root.
pub fn release_path() -> &'static str {
    project().release_path
}

/// The catalogue as committed.
pub fn catalogue() -> Catalogue {
    (project().catalogue)()
}

/// Runs the command line of `cargo xtask` for `project`.
pub fn main(project: Project) -> ExitCode {
    let _ = PROJECT.set(project);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let line = match CommandLine::parse(&args) {
        Ok(line) => line,
        Err(mistake) => {
            eprint!("error: {mistake}\n\n{}", usage::all());
            return ExitCode::from(2);
        }
    };
    // `<command> --help` and `help <command>`: that command's usage, before anything is read.
    let asks_help = line.rest.iter().any(|a| matches!(*a, "--help" | "-h"));
    if let (Some(command), true) = (line.command, asks_help) {
        if let Some(text) = usage::of(command) {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
    }
    if let (Some("help"), [command]) = (line.command, line.rest.as_slice()) {
        return match usage::of(command) {
            Some(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            None => usage_mistake(&format!("help: {command:?} is not a command"), &usage::all()),
        };
    }
    if let Some(code) = missing_argument(line.command, &line.rest) {
        return code;
    }
    let env = line.env.unwrap_or(DEFAULT_ENV);
    // Every command but help reads the compiled-in definitions: none may act for another checkout.
    if !matches!(line.command, None | Some("help" | "--help" | "-h")) {
        if let Err(e) = checkout::ensure(&checkout::running_for()) {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    }
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
                let before = Some(previous).filter(|p| !p.is_empty());
                println!("{}", promote::TagChange { service: (*service).to_owned(), before, after: (*tag).to_owned() });
                ExitCode::SUCCESS
            }),
        (Some("promote"), None, [from, to, services @ ..]) => {
            promote::run(&project_root(), &catalogue(), from, to, services)
        }
        (Some("new-service"), None, rest) => new_service::run(&project_root(), rest),
        (Some("new-environment"), None, rest) => new_environment::run(&project_root(), rest),
        (Some("plan"), scope, rest) => match plan::Options::parse(scope, rest) {
            Ok(options) => plan::run(&project_root(), &catalogue(), &options),
            Err(mistake) => {
                eprint!("error: {mistake}\n\n{}", usage::of("plan").unwrap_or_else(usage::all));
                return ExitCode::from(2);
            }
        },
        (Some("bench"), None, flags) => bench::run(&project_root(), flags),
        (Some("help" | "--help" | "-h"), None, []) => {
            print!("{}", usage::all());
            Ok(ExitCode::SUCCESS)
        }
        (None, None, []) => {
            eprint!("{}", usage::all());
            return ExitCode::from(2);
        }
        (Some(command @ ("generate" | "check" | "promote" | "bench" | "help")), Some(_), _) => {
            return usage_mistake(
                &format!(
                    "--env is not an option of {command}: generate and check cover every environment, promote \
                     names its two"
                ),
                &usage::all(),
            );
        }
        _ => return usage_mistake(&format!("unknown command or arguments: {:?}", args.join(" ")), &usage::all()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints `error: <mistake>` and `usage` on stderr; exit 2.
fn usage_mistake(mistake: &str, usage: &str) -> ExitCode {
    eprint!("error: {mistake}\n\n{usage}");
    ExitCode::from(2)
}

/// The first positional argument `command` needs and `rest` lacks (`set-image: missing <tag>`),
/// as a usage mistake with the command's own usage; `None` when none is missing.
fn missing_argument(command: Option<&str>, rest: &[&str]) -> Option<ExitCode> {
    let name = command?;
    let missing = match (name, rest) {
        ("set-image", []) => "<service>",
        ("set-image", [_]) => "<tag>",
        ("promote", []) => "<from>",
        ("promote", [_]) => "<to>",
        ("render", [.., "--out"]) => "FILE after --out",
        _ => return None,
    };
    let usage = usage::of(name).expect("the commands above have a usage");
    Some(usage_mistake(&format!("{name}: missing {missing}"), &usage))
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
/// checkouts share a target directory (a global `CARGO_TARGET_DIR`, git worktrees); `checkout`
/// then refuses to run at all.
///
/// The tests of the binary set `XTASK_ROOT` to point it at a temporary project root instead.
pub fn project_root() -> PathBuf {
    if let Some(root) = std::env::var_os("XTASK_ROOT") {
        return PathBuf::from(root);
    }
    checkout::running_for()
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
