//! The binary acts only for the checkout it was compiled from. Two checkouts sharing one target
//! directory (a global `CARGO_TARGET_DIR`, git worktrees) share the compiled crates too: cargo
//! judges a path crate fresh by the modification times of its files, so in checkout B, whose files
//! are older than A's last build, `cargo xtask` runs A's build, with A's catalogue and A's core.
//! Reading the root at run time (see `project_root`) only points that build at B's tree: `check`
//! would report A's definitions as B's drift, and `generate` would write them into B.
//!
//! Each crate records the folder it was compiled from (`env!("CARGO_MANIFEST_DIR")`); [`ensure`]
//! compares them with the checkout the command runs for and refuses, naming both and the fix,
//! before anything is read or written.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
/// This crate: its name, the folder it was compiled from and where that folder is in a checkout.
const TASKS: (&str, &str, &str) = ("manifest-tasks", env!("CARGO_MANIFEST_DIR"), "crates/manifest-tasks");

/// Each crate whose build decides what a command does: the tasks', and those the project's binary
/// names ([`manifest_core::project::Project::built_from`]: itself, its catalogue, the core and the
/// objects below it).
fn crates() -> Vec<(&'static str, &'static str, &'static str)> {
    std::iter::once(TASKS).chain(crate::project().built_from.iter().copied()).collect()
}

/// The checkout the command runs for: `cargo run` sets `CARGO_MANIFEST_DIR` to this checkout's
/// `xtask/` at run time; a binary run by hand falls back to the folder it was compiled from.
pub fn running_for() -> PathBuf {
    // The package cargo runs (`xtask/`, or `crates/manifest-tasks/` for this crate's tests), else
    // the folder this crate was compiled in; the root is the first folder above it with the
    // workspace's `Cargo.lock`.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(TASKS.1), PathBuf::from);
    let root = dir.ancestors().skip(1).find(|d| d.join("Cargo.lock").is_file());
    root.map_or_else(|| dir.parent().map_or(dir.clone(), Path::to_path_buf), Path::to_path_buf)
}

/// An error when any crate of this binary was compiled from another checkout than `checkout`.
pub fn ensure(checkout: &Path) -> Result<()> {
    for (name, built_from, relative) in crates() {
        let expected = checkout.join(relative);
        if !same_folder(Path::new(built_from), &expected) {
            let built_root = Path::new(built_from).ancestors().nth(Path::new(relative).components().count());
            bail!(
                "this xtask binary was built from another checkout: {name} was compiled from {}, but the command \
                 runs for {} (the two share a target directory, and cargo reused the other's build); nothing was \
                 read or written. Fix: in {}, run `cargo clean -p xtask -p lomash-manifests -p manifest-core -p manifest-objects -p manifest-tasks`, then \
                 the command again (it rebuilds from this checkout); or give each checkout a target directory of \
                 its own (unset CARGO_TARGET_DIR)",
                built_root.unwrap_or(Path::new(built_from)).display(),
                checkout.display(),
                checkout.display()
            );
        }
    }
    Ok(())
}

/// Whether two paths name one folder: compared resolved (a link, `..`) when both exist, as
/// written otherwise (the other checkout may be gone).
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkout_it_was_built_from_passes() {
        ensure(&running_for()).expect("the tests run for the checkout they were built from");
    }

    #[test]
    fn another_checkout_is_refused_naming_both() {
        let other = crate::testing::TempDir::new("other-checkout");
        let error = ensure(other.path()).expect_err("must refuse").to_string();
        let built = Path::new(TASKS.1).ancestors().nth(2).unwrap().display().to_string();
        for fragment in [built.as_str(), &other.path().display().to_string(), "cargo clean -p xtask", "nothing was"] {
            assert!(error.contains(fragment), "{fragment:?} not in {error:?}");
        }
    }
}
