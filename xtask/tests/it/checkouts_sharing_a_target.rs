//! Two real checkouts sharing one target directory (a global `CARGO_TARGET_DIR`, git worktrees):
//! after a change and `generate` in A, the clean checkout B must not act on A's definitions.
//! Cargo judges a path crate fresh by its files' modification times, so in B, whose files are
//! older than A's last build, `cargo xtask` runs A's build; the binary must notice and refuse.
//!
//! The test this one replaces ran one binary against two empty folders: the same compiled
//! catalogue rendered the same tree into both, so it passed while B was being given A's values.
//! Here each checkout is a `git clone` of this repository (with the working tree's uncommitted
//! edits copied over), built with `cargo xtask` exactly as a user runs it. The two clones are kept
//! between runs (see [`Checkouts`]), which spares one of the two builds of the core a run.

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

/// The two checkouts, kept between runs beside the shared target directory and brought to this
/// repository's state at the start of each run, and the lock that keeps two runs of this test
/// from using them at once.
///
/// Each run's B rebuilds the crates the refusal says to clean, in its own checkout; the next run
/// takes that checkout as its A, whose build then only recompiles the edited catalogue and relinks
/// (the core it finds was compiled there, and is fresh). One build of the core a run instead of
/// two, and the same scenario: A's build is newer than every file of B.
struct Checkouts {
    a: Checkout,
    b: Checkout,
    roles: PathBuf,
    _lock: fs::File,
}

impl Checkouts {
    fn new() -> Checkouts {
        let dir = shared_target().with_file_name("shared-checkouts");
        fs::create_dir_all(&dir).unwrap();
        let lock = fs::File::create(dir.join("lock")).unwrap();
        lock.lock().expect("locking the shared checkouts");
        let roles = dir.join("last-b");
        // The checkout whose build the target directory holds (the last run's B) is this run's A.
        let a = match fs::read_to_string(&roles).as_deref().map(str::trim) {
            Ok("two") => "two",
            _ => "one",
        };
        let b = if a == "one" { "two" } else { "one" };
        // Both brought up to date before any build: B's files are older than A's builds, as for a
        // checkout left alone while another is worked on.
        let (a, b) = (Checkout::sync(&dir.join(a)), Checkout::sync(&dir.join(b)));
        Checkouts { a, b, roles, _lock: lock }
    }

    /// Records that B's build is the one the target directory holds now.
    fn done(&self) {
        let name = self.b.0.file_name().unwrap().to_string_lossy().into_owned();
        fs::write(&self.roles, name).unwrap();
    }
}

impl Checkout {
    /// `dir` as a clone of this repository at its HEAD with the working tree's uncommitted changes
    /// on top: cloned the first time, then fetched and reset, so that files that did not change
    /// keep their modification times (and the builds made from them stay fresh).
    fn sync(dir: &Path) -> Checkout {
        let repo = repository();
        let listed = git(&repo, &["ls-files", "-z", "--modified", "--others", "--exclude-standard"]).stdout;
        let listed: Vec<&str> =
            listed.split(|b| *b == 0).filter(|p| !p.is_empty()).map(|p| std::str::from_utf8(p).unwrap()).collect();
        if !dir.join(".git").is_dir() {
            let _ = fs::remove_dir_all(dir);
            let out = Command::new("git").args(["clone", "--quiet"]).arg(&repo).arg(dir).output().unwrap();
            assert!(out.status.success(), "git clone: {}", String::from_utf8_lossy(&out.stderr));
        } else {
            git(dir, &["fetch", "--quiet", repo.to_str().expect("a UTF-8 path"), "HEAD"]);
            git(dir, &["reset", "--quiet", "--hard", "FETCH_HEAD"]);
            // Everything else the last run left, but the files copied below: an untracked one kept
            // as it is when unchanged keeps its time too. (A tracked file with uncommitted edits
            // was just reset to HEAD and is written again below: it gets a new time every run.)
            let keep: Vec<String> = listed.iter().map(|path| format!("--exclude=/{path}")).collect();
            let mut clean = vec!["clean", "--quiet", "-fdx"];
            clean.extend(keep.iter().map(String::as_str));
            git(dir, &clean);
        }
        for path in listed {
            let (from, to) = (repo.join(path), dir.join(path));
            if from.is_file() {
                let bytes = fs::read(&from).unwrap();
                if fs::read(&to).ok().as_ref() != Some(&bytes) {
                    fs::create_dir_all(to.parent().unwrap()).unwrap();
                    fs::write(&to, bytes).unwrap();
                }
            } else {
                let _ = fs::remove_file(&to);
            }
        }
        Checkout(dir.to_path_buf())
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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn holds(tree: &BTreeMap<PathBuf, Vec<u8>>, marker: &str) -> bool {
    tree.values().any(|bytes| text(bytes).contains(marker))
}

#[test]
fn a_binary_never_acts_on_another_checkouts_definitions() {
    let checkouts = Checkouts::new();
    let (a, b) = (&checkouts.a, &checkouts.b);

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
    let out = b.xtask(&["generate"]);
    refusal(&out, "generate");
    assert!(b.tree() == before, "b's generated/ changed");

    // The fix the refusal names, run as it is written there: B's own build, which tells the truth
    // about B. (A crate the command leaves out keeps A's build, and B's binary refuses again.)
    let stderr = text(&out.stderr);
    let fix =
        stderr.split("run `cargo ").nth(1).and_then(|rest| rest.split('`').next()).expect("the fix names a command");
    let clean = cargo(&b.0).args(fix.split_whitespace()).arg("--quiet").output().unwrap();
    assert!(clean.status.success(), "cargo clean: {}", text(&clean.stderr));
    let out = b.xtask(&["check"]);
    assert!(out.status.success(), "check in b after the fix: {}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).starts_with("Up-to-date: generated/"), "{}", text(&out.stdout));
    let out = b.xtask(&["generate"]);
    assert!(out.status.success(), "generate in b after the fix: {}", text(&out.stderr));
    assert!(b.tree() == before, "b's generate wrote something into a clean checkout");
    assert!(!holds(&b.tree(), &marker));
    checkouts.done();
}
