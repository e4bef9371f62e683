//! What `new-service` and `new-environment` share: both add a Rust module to a list in
//! `crates/lomash-manifests` (a spec sheet to `services/mod.rs`, an environment to
//! `environments/mod.rs`) and a mapping or line to `images.yaml`, then regenerate. The catalogue
//! is compiled into this binary, so the new module only renders once it is built; the command
//! therefore works in two steps, all or nothing:
//! 1. Under the write lock: check the request and render the catalogue with the addition in
//!    memory, then write the files together ([`sync::replace_files`]: each staged beside its target
//!    and renamed into place, and put back if one fails). Any mistake is an error and nothing is
//!    written.
//! 2. `cargo run -p xtask -- generate` in a child process ([`cargo_generate`]), which builds the
//!    new module and writes the tree with it (taking the lock itself). If it fails, the files are
//!    put back as they were, and `generated/` is untouched (a failed generate writes nothing).
//!
//! The lock is released between the two steps, since the child takes it; a file that another run
//! changed meanwhile is not put back over its change (only files still holding what this run
//! wrote are).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::sync;

/// Words Rust reserves (2021 edition, strict and reserved): a module cannot take one as its name.
pub const RUST_KEYWORDS: [&str; 51] = [
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in",
    "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait",
    "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn", "abstract", "become", "box", "do",
    "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// `search-service` → `search_service`: the Rust module (and file stem) of a name.
pub fn module_name(name: &str) -> String {
    name.replace('-', "_")
}

/// A `mod.rs` that declares one module a line and calls each in its `pub fn all()` list.
pub struct ModuleList {
    /// The file, as the errors name it: `services/mod.rs`.
    pub file: &'static str,
    /// The function each module's entry calls: `definition` for `module::definition(),`.
    pub call: &'static str,
}

/// `mod_rs` with `module` declared (its `mod` line among the others, in order; before
/// `pub fn all()`'s doc comment when there is none yet) and called last in `all()`; an error when
/// the file is not in the form this edit knows.
pub fn register(list: &ModuleList, mod_rs: &str, module: &str) -> Result<String> {
    let ModuleList { file, call } = list;
    let lines: Vec<&str> = mod_rs.split_inclusive('\n').collect();
    let is_mod = |l: &str| l.starts_with("mod ") && l.trim_end().ends_with(';');
    let mods: Vec<usize> = (0..lines.len()).filter(|&i| is_mod(lines[i])).collect();

    let all = lines.iter().position(|l| l.starts_with("pub fn all()"));
    let close = all.and_then(|start| (start..lines.len()).find(|&i| lines[i].trim() == "]"));
    let (Some(all), Some(close)) = (all, close) else {
        bail!("{file}: no `pub fn all()` with a `vec![…]` ending in a `]` line; add `{module}::{call}(),` by hand");
    };
    let mut declaration = format!("mod {module};\n");
    let at = match (mods.first(), mods.last()) {
        (Some(&first), Some(&last)) => {
            (first..=last).find(|&i| is_mod(lines[i]) && lines[i] > declaration.as_str()).unwrap_or(last + 1)
        }
        // The first module: its own paragraph above `all()` and the comment that documents it.
        _ => {
            declaration.push('\n');
            (0..all)
                .rev()
                .take_while(|&i| lines[i].starts_with("///") || lines[i].starts_with("#["))
                .last()
                .unwrap_or(all)
        }
    };
    if at > all {
        bail!("{file}: the `mod` lines are expected before `pub fn all()`");
    }
    let indent: String = lines[close].chars().take_while(|c| c.is_whitespace()).collect();
    let entry = format!("{indent}    {module}::{call}(),\n");

    let mut out = String::with_capacity(mod_rs.len() + declaration.len() + entry.len());
    for (i, line) in lines.iter().enumerate() {
        if i == at {
            out.push_str(&declaration);
        }
        if i == close {
            out.push_str(&entry);
        }
        out.push_str(line);
    }
    Ok(out)
}

/// The rebuilt binary regenerates `root`'s tree: `cargo run -p xtask -- generate`.
pub fn cargo_generate(root: &Path) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .arg("run")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args(["--package", "xtask", "--", "generate"])
        .status()
        .context("running `cargo run -p xtask -- generate`")?;
    if !status.success() {
        bail!("`cargo run -p xtask -- generate` failed ({status})");
    }
    Ok(())
}

/// What the two steps say about the addition when the second fails.
pub struct Addition<'a> {
    /// What is added, e.g. `search-service`.
    pub name: &'a str,
    /// The files written, as the rollback names them: `its sheet, services/mod.rs and images.yaml`.
    pub files: &'a str,
}

/// The two steps of the module doc under `root`. First `make_plan`, under the write lock, checks the
/// request and returns its plan, whose `files` are then written. Then `regenerate` runs
/// ([`cargo_generate`] from the command line; tests pass their own), and the files are put back if
/// it fails.
pub fn add<P>(
    root: &Path,
    addition: Addition,
    make_plan: impl FnOnce() -> Result<P>,
    files: impl Fn(&P) -> &[(PathBuf, String)],
    regenerate: impl FnOnce(&Path) -> Result<()>,
) -> Result<P> {
    let plan;
    let previous;
    {
        let lock = sync::WriteLock::acquire(root)?;
        plan = make_plan()?;
        previous = sync::replace_files(&lock, files(&plan)).map_err(|e| e.context("nothing was written"))?;
        for (path, _) in files(&plan) {
            println!("Wrote: {}", path.strip_prefix(root).unwrap_or(path).display());
        }
        // The lock is released here: the child's generate takes it.
    }
    if let Err(e) = regenerate(root) {
        let lock = sync::WriteLock::acquire(root)?;
        // Only what still holds our bytes is put back: a file another run changed since is theirs.
        let ours: Vec<(PathBuf, Option<Vec<u8>>)> = previous
            .into_iter()
            .filter(|(path, _)| {
                let written = files(&plan).iter().find(|(p, _)| p == path).map(|(_, c)| c.as_bytes());
                fs::read(path).ok().as_deref() == written
            })
            .collect();
        let Addition { name, files } = addition;
        return Err(match sync::restore_files(&lock, &ours) {
            Ok(()) => e.context(format!(
                "regenerating with {name} failed: {files} are put back as they were; generated/ was not changed"
            )),
            Err(undo) => e.context(format!(
                "regenerating with {name} failed, and putting back the files written failed too ({undo:#}): \
                 undo {files} by hand"
            )),
        });
    }
    Ok(plan)
}
