//! `cargo xtask <task>`: the project's tasks. This file only dispatches; each task has its module.

use std::path::PathBuf;
use std::process::ExitCode;

use lomash_manifests::catalogue;

mod bench;
mod lint;
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
  lint       check the production objects against the Pod Security Standards and the spec; exit 1 on a violation
  render [--out FILE]
             print the production manifests computed from the definitions (no kustomize run)
  set-image <service> <tag>
             pin a service's production image tag in images.yaml and regenerate generated/
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
        ["lint"] => lint::run(&catalogue()),
        ["render"] => render::run(&catalogue(), None),
        ["render", "--out", file] => render::run(&catalogue(), Some(std::path::Path::new(file))),
        ["set-image", service, tag] => release::set_image(&project_root(), service, tag).map(|previous| {
            println!("{service}: {previous} -> {tag}");
            ExitCode::SUCCESS
        }),
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

/// The workspace root, found from this crate's manifest, never from the current directory. The
/// tests of the binary set `XTASK_ROOT` to point it at a temporary project root instead.
pub fn project_root() -> PathBuf {
    if let Some(root) = std::env::var_os("XTASK_ROOT") {
        return PathBuf::from(root);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace root").to_path_buf()
}
