//! Two real checkouts sharing one target directory (a global `CARGO_TARGET_DIR`, git worktrees):
//! after a change and `generate` in A, the clean checkout B must not act on A's definitions.
//! Cargo judges a path crate fresh by its files' modification times, so in B, whose files are
//! older than A's last build, `cargo xtask` runs A's build; the binary must notice and refuse.
//!
//! The test this one replaces ran one binary against two empty folders: the same compiled
//! catalogue rendered the same tree into both, so it passed while B was being given A's values.
//! Here each checkout is a `git clone` of this repository (with the working tree's uncommitted
//! edits copied over), built with `cargo xtask` exactly as a user runs it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lomash_manifests::catalogue;

/// This repository: the parent of the xtask crate.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The target directory both checkouts build in: beside this test's own, kept between runs so
/// that only the first run builds the dependencies.
fn shared_target() -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_xtask"));
    binary.parent().and_then(Path::parent).expect("target/<profile>/xtask").join("shared-checkouts-target")
}

fn git(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().expect("git must be installed");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// cargo in `dir`, building in the shared target directory. The two checkouts' builds are
/// throwaway: without debug info and incremental caches they cost a quarter less, and neither
/// changes how cargo judges a path crate fresh, which is what this test is about.
fn cargo(dir: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", shared_target())
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        .env("CARGO_INCREMENTAL", "0")
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("XTASK_ROOT");
    command
}

struct Checkout(PathBuf);

impl Checkout {
    /// A clone of this repository with the working tree's uncommitted changes on top.
    fn clone(name: &str) -> Checkout {
        let root = std::env::temp_dir().join(format!("lomash-checkout-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let repo = repository();
        let out = Command::new("git").args(["clone", "--quiet"]).arg(&repo).arg(&root).output().unwrap();
        assert!(out.status.success(), "git clone: {}", String::from_utf8_lossy(&out.stderr));
        let listed = git(&repo, &["ls-files", "-z", "--modified", "--others", "--exclude-standard"]).stdout;
        for path in listed.split(|b| *b == 0).filter(|p| !p.is_empty()) {
            let path = std::str::from_utf8(path).unwrap();
            let (from, to) = (repo.join(path), root.join(path));
            if from.is_file() {
                fs::create_dir_all(to.parent().unwrap()).unwrap();
                fs::copy(&from, &to).unwrap();
            } else {
                let _ = fs::remove_file(&to);
            }
        }
        Checkout(root)
    }

    /// `cargo xtask <args>` in this checkout, with the shared target directory.
    fn xtask(&self, args: &[&str]) -> Output {
        cargo(&self.0).args(["--locked", "--offline", "--quiet", "xtask"]).args(args).output().expect("cargo runs")
    }

    fn tree(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        let mut pending = vec![self.0.join("generated")];
        while let Some(dir) = pending.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    files.insert(path.strip_prefix(&self.0).unwrap().to_path_buf(), fs::read(&path).unwrap());
                }
            }
        }
        files
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn holds(tree: &BTreeMap<PathBuf, Vec<u8>>, marker: &str) -> bool {
    tree.values().any(|bytes| text(bytes).contains(marker))
}

#[test]
fn a_binary_never_acts_on_another_checkouts_definitions() {
    // Both cloned before any build: B's files are older than A's builds, as for a checkout left
    // alone while another is worked on.
    let (a, b) = (Checkout::clone("a"), Checkout::clone("b"));

    // A: one config value changed in its spec sheet, then generated.
    let catalogue = catalogue();
    let service = catalogue.services.iter().find(|s| !s.config.is_empty()).expect("a service with a config key");
    let (key, value) = &service.config[0];
    let marker = format!("{value}-only-in-checkout-a");
    let sheet = a.0.join("crates/lomash-manifests/src/services").join(format!("{}.rs", service.name.replace('-', "_")));
    let written = fs::read_to_string(&sheet).unwrap();
    let edited = written.replacen(&format!("{key:?}, {value:?}"), &format!("{key:?}, {marker:?}"), 1);
    assert_ne!(edited, written, "{}: the sheet writes {key:?}, {value:?}", sheet.display());
    fs::write(&sheet, edited).unwrap();
    let out = a.xtask(&["generate"]);
    assert!(out.status.success(), "generate in a: {}", text(&out.stderr));
    assert!(holds(&a.tree(), &marker), "a's tree has a's value");

    // B, clean: its check must not report A's definitions as B's drift, nor its generate write them.
    let before = b.tree();
    let refusal = |out: &Output, what: &str| {
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what} in b must refuse: {}{stderr}", text(&out.stdout));
        for fragment in [a.0.display().to_string(), b.0.display().to_string(), "cargo clean -p xtask".to_owned()] {
            assert!(stderr.contains(&fragment), "{what} in b: {fragment:?} not in {stderr:?}");
        }
        assert!(!text(&out.stdout).contains(&marker), "{what} in b showed a's value");
    };
    refusal(&b.xtask(&["check"]), "check");
    refusal(&b.xtask(&["generate"]), "generate");
    assert!(b.tree() == before, "b's generated/ changed");

    // The fix the refusal names: B's own build, which tells the truth about B.
    let clean = cargo(&b.0)
        .args(["clean", "--quiet", "-p", "xtask", "-p", "lomash-manifests", "-p", "manifest-core"])
        .output()
        .unwrap();
    assert!(clean.status.success(), "cargo clean: {}", text(&clean.stderr));
    let out = b.xtask(&["check"]);
    assert!(out.status.success(), "check in b after the fix: {}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).starts_with("Up-to-date: generated/"), "{}", text(&out.stdout));
    let out = b.xtask(&["generate"]);
    assert!(out.status.success(), "generate in b after the fix: {}", text(&out.stderr));
    assert!(b.tree() == before, "b's generate wrote something into a clean checkout");
    assert!(!holds(&b.tree(), &marker));
}
