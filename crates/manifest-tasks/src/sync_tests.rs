//! What `generate` and `check` promise, tried on throwaway project roots under the system's
//! temporary folder: a bad definition writes nothing, check names every kind of drift, unchanged
//! files are left alone, orphans go, nothing outside `generated/` is touched, and two runs give
//! the same bytes. And the faults: an immutable file, a second writer, a run killed during its
//! swap, a linked `generated/`, a folder where a file belongs. (Concurrent processes, kills and
//! the umask are tried on the real binary, in `tests/it/writes.rs`.)

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use crate::catalogue;
use manifest_core::layout::{self, BASE_DIR};
use manifest_core::spec::Resources;
use manifest_core::Catalogue;
use pretty_assertions::assert_eq;

use super::*;
use crate::testing::TempDir;

/// A project root of its own, removed when the test ends (with the [`TempDir`] it holds).
// The TempDir is held only for its Drop, which removes the folder.
struct Root(PathBuf, #[allow(dead_code)] TempDir);

impl Root {
    fn new(test: &str) -> Root {
        let dir = TempDir::new(test);
        Root(dir.path().to_path_buf(), dir)
    }

    fn generated(&self) -> PathBuf {
        self.0.join(GENERATED_DIR)
    }

    /// `generated/<path>`.
    fn file(&self, path: &str) -> PathBuf {
        self.generated().join(path)
    }

    fn generate(&self) -> Report {
        run_report(&self.0, &catalogue(), Mode::Write).expect("the committed catalogue generates")
    }
}

/// Every entry under `dir`: folders as `None`, files (and links) with their full bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = fs::read_dir(&folder) else { continue };
        for entry in entries {
            let entry = entry.unwrap();
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            let relative = path.strip_prefix(dir).unwrap().to_path_buf();
            if kind.is_dir() {
                out.insert(relative, None);
                pending.push(path);
            } else if kind.is_symlink() {
                out.insert(relative, Some(fs::read_link(&path).unwrap().into_os_string().into_encoded_bytes()));
            } else {
                out.insert(relative, Some(fs::read(&path).unwrap()));
            }
        }
    }
    out
}

/// The committed catalogue with one mistake.
fn bad_catalogue() -> Catalogue {
    let mut c = catalogue();
    // Both values set here, so the message does not follow the spec sheet's.
    c.services.iter_mut().find(|s| s.name == "analytics-service").unwrap().cpu = Resources::new("3", "2000m");
    c
}

const BAD_MESSAGE: &str = "analytics-service: resources.cpu: request 3 exceeds limit 2000m";

fn auth_base() -> String {
    format!("{BASE_DIR}/auth-service.yaml")
}

fn rendered_count() -> usize {
    render(&catalogue()).unwrap().len()
}

#[test]
fn a_bad_definition_leaves_generated_byte_identical() {
    let root = Root::new("bad");
    root.generate();
    // A hand edit too: even drift the run would fix stays as it is.
    fs::write(root.file(&auth_base()), "hand edit\n").unwrap();
    let before = snapshot(&root.0);

    for mode in [Mode::Write, Mode::Check, Mode::Diff] {
        let error = run_report(&root.0, &bad_catalogue(), mode).expect_err("the definition is bad");
        let text = format!("{error:#}");
        assert!(text.contains(BAD_MESSAGE), "{text}");
        assert!(text.contains("nothing was written"), "{text}");
        assert_eq!(snapshot(&root.0), before, "{mode:?} changed the tree");
    }
}

#[test]
fn a_bad_definition_does_not_even_create_generated() {
    let root = Root::new("bad-empty");
    assert!(run_report(&root.0, &bad_catalogue(), Mode::Write).is_err());
    assert!(!root.generated().exists());
}

/// A failure while the new tree is built (here: a file name the system refuses, after the
/// changed files before it are written) leaves the tree, folders included, as it was, and no
/// half-built tree beside it.
#[test]
fn a_failure_while_building_changes_nothing() {
    let root = Root::new("staging");
    root.generate();
    fs::write(root.file(&auth_base()), "hand edit\n").unwrap();
    let before = snapshot(&root.0);
    let mut files = render(&catalogue()).unwrap();
    files.insert(1, File { path: "new/first.yaml".into(), contents: "first\n".into() });
    files.push(File { path: "new/bad\0name.yaml".into(), contents: "refused\n".into() });

    let lock = WriteLock::acquire(&root.0).unwrap();
    let error = write_report(&lock, &files, &[]).expect_err("a NUL byte in a file name is refused");
    assert!(format!("{error:#}").contains("nothing was changed"), "{error:#}");
    assert_eq!(snapshot(&root.0), before);
}

/// A file standing where a folder must go is an orphan like any other: generate removes it and
/// writes the folder, so what check reports, generate repairs.
#[test]
fn a_file_where_a_folder_must_go_is_repaired() {
    let root = Root::new("in-the-way");
    root.generate();
    fs::remove_dir_all(root.file(BASE_DIR)).unwrap();
    fs::write(root.file(BASE_DIR), "in the way\n").unwrap();
    assert!(!run_report(&root.0, &catalogue(), Mode::Check).unwrap().ok);

    let report = root.generate();
    assert!(report.text.contains(&format!("Removed: generated/{BASE_DIR}\n")), "{}", report.text);
    assert!(run_report(&root.0, &catalogue(), Mode::Check).unwrap().ok);
}

#[test]
fn check_names_a_hand_edit_a_missing_file_and_an_orphan() {
    let root = Root::new("check");
    root.generate();
    let fresh = run_report(&root.0, &catalogue(), Mode::Check).unwrap();
    assert!(fresh.ok);
    assert_eq!(
        fresh.text,
        format!("Up-to-date: generated/ ({} files) is what the definitions render\n", rendered_count())
    );

    let edited = auth_base();
    let missing = layout::patch_file("production", "content-service");
    let orphan = layout::patch_file("production", "no-such-service");
    let port = catalogue().services.iter().find(|s| s.name == "auth-service").unwrap().port;
    let text = fs::read_to_string(root.file(&edited))
        .unwrap()
        .replace(&format!("containerPort: {port}"), "containerPort: 3999");
    fs::write(root.file(&edited), text).unwrap();
    fs::remove_file(root.file(&missing)).unwrap();
    fs::write(root.file(&orphan), "kind: Deployment\n").unwrap();
    let before = snapshot(&root.0);

    let report = run_report(&root.0, &catalogue(), Mode::Check).unwrap();
    assert!(!report.ok);
    for expected in [
        format!("generated/{edited}: differs (hand edit or stale)\n"),
        format!("--- a/generated/{edited}\n+++ b/generated/{edited}\n"),
        format!("-          containerPort: 3999\n+          containerPort: {port}\n"),
        format!("generated/{missing}: missing\n"),
        format!("generated/{orphan}: orphan: nothing renders it\n"),
        "-kind: Deployment\n".to_owned(),
        "3 files in generated/ differ from what the definitions render: run `cargo xtask generate`\n".to_owned(),
    ] {
        assert!(report.text.contains(&expected), "{expected:?} not in:\n{}", report.text);
    }
    assert_eq!(snapshot(&root.0), before, "check writes nothing");

    let diff = run_report(&root.0, &catalogue(), Mode::Diff).unwrap();
    assert!(!diff.ok && diff.text.ends_with("3 files would change\n"), "{}", diff.text);
    assert_eq!(snapshot(&root.0), before, "diff writes nothing");
}

#[test]
fn an_unchanged_file_is_not_rewritten() {
    let root = Root::new("mtime");
    let first = root.generate();
    let n = rendered_count();
    assert_eq!(first.text.lines().filter(|l| l.starts_with("Created: generated/")).count(), n);

    // Date every file far back; a rewrite, whenever it happens, would move its mtime.
    let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let paths: Vec<String> = render(&catalogue()).unwrap().into_iter().map(|f| f.path).collect();
    for path in &paths {
        fs::File::options().write(true).open(root.file(path)).unwrap().set_modified(long_ago).unwrap();
    }
    fs::write(root.file(&auth_base()), "hand edit\n").unwrap();

    let report = root.generate();
    assert_eq!(report.text, format!("Updated: generated/{}\nUp-to-date: {} files\n", auth_base(), n - 1));
    for path in paths.iter().filter(|p| **p != auth_base()) {
        let modified = fs::metadata(root.file(path)).unwrap().modified().unwrap();
        assert_eq!(modified, long_ago, "{path} was rewritten");
    }
    assert_ne!(fs::metadata(root.file(&auth_base())).unwrap().modified().unwrap(), long_ago);
    assert!(run_report(&root.0, &catalogue(), Mode::Check).unwrap().ok);
}

#[test]
fn orphans_are_removed_with_their_empty_folders() {
    let root = Root::new("orphans");
    root.generate();
    let deep = "infra/kubernetes/overlays/no-such-environment/patches/auth-service.yaml";
    let beside = format!("{BASE_DIR}/no-such-service.yaml");
    // A temporary file an interrupted run left behind is an orphan like any other.
    let leftover = format!("{BASE_DIR}/.auth-service.yaml.tmp-12345");
    for path in [deep, &beside, &leftover] {
        fs::create_dir_all(root.file(path).parent().unwrap()).unwrap();
        fs::write(root.file(path), "old\n").unwrap();
    }

    let report = root.generate();
    for path in [deep, &beside, &leftover] {
        assert!(report.text.contains(&format!("Removed: generated/{path}\n")), "{}", report.text);
        assert!(!root.file(path).exists(), "{path}");
    }
    assert!(!root.file("infra/kubernetes/overlays/no-such-environment").exists(), "empty folders go too");
    assert!(
        root.file(&layout::overlay_dir("production")).is_dir() && root.file(BASE_DIR).is_dir(),
        "folders with files stay"
    );
    assert!(run_report(&root.0, &catalogue(), Mode::Check).unwrap().ok);
}

#[test]
fn nothing_outside_generated_is_touched() {
    let root = Root::new("outside");
    for (path, text) in [("README.md", "readme\n"), ("crates/notes.txt", "notes\n"), ("generated.bak/x.yaml", "x\n")] {
        fs::create_dir_all(root.0.join(path).parent().unwrap()).unwrap();
        fs::write(root.0.join(path), text).unwrap();
    }
    // The lock file is the one thing a write adds beside generated/ (and keeps).
    let outside = |s: BTreeMap<PathBuf, Option<Vec<u8>>>| {
        s.into_iter()
            .filter(|(p, _)| !p.starts_with(GENERATED_DIR) && *p != Path::new(LOCK_FILE))
            .collect::<BTreeMap<_, _>>()
    };
    let before = outside(snapshot(&root.0));
    root.generate();
    fs::write(root.file(&auth_base()), "hand edit\n").unwrap();
    fs::write(root.file("orphan.yaml"), "x\n").unwrap();
    root.generate();
    assert_eq!(outside(snapshot(&root.0)), before);
}

/// A symbolic link inside `generated/` is not followed: an orphan link is removed, not the
/// folder it points to, and a link at a generated path is replaced, not written through.
#[cfg(unix)]
#[test]
fn links_in_generated_are_not_followed() {
    let root = Root::new("links");
    let elsewhere = root.0.join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    fs::write(elsewhere.join("keep.yaml"), "keep\n").unwrap();
    root.generate();
    std::os::unix::fs::symlink(&elsewhere, root.file("linked")).unwrap();
    fs::remove_file(root.file(&auth_base())).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("keep.yaml"), root.file(&auth_base())).unwrap();

    let report = root.generate();
    assert!(report.text.contains("Removed: generated/linked\n"), "{}", report.text);
    assert!(report.text.contains(&format!("Updated: generated/{}\n", auth_base())), "{}", report.text);
    assert_eq!(fs::read_to_string(elsewhere.join("keep.yaml")).unwrap(), "keep\n");
    assert!(!fs::symlink_metadata(root.file(&auth_base())).unwrap().file_type().is_symlink());
    assert!(run_report(&root.0, &catalogue(), Mode::Check).unwrap().ok);
}

/// A link to a folder outside the tree, standing where one of the tree's folders must go, is
/// removed and replaced by a real folder: nothing is written through it.
#[cfg(unix)]
#[test]
fn a_linked_folder_does_not_lead_writes_out_of_the_tree() {
    let root = Root::new("linked-folder");
    let elsewhere = root.0.join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    root.generate();
    fs::remove_dir_all(root.file(BASE_DIR)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, root.file(BASE_DIR)).unwrap();

    root.generate();
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0, "nothing may be written through the link");
    assert!(fs::symlink_metadata(root.file(BASE_DIR)).unwrap().is_dir());
    assert!(run_report(&root.0, &catalogue(), Mode::Check).unwrap().ok);
}

#[test]
fn two_runs_from_nothing_give_identical_bytes() {
    let (a, b) = (Root::new("determinism-a"), Root::new("determinism-b"));
    a.generate();
    b.generate();
    let (first, second) = (snapshot(&a.generated()), snapshot(&b.generated()));
    assert_eq!(first, second);
    // And the bytes are exactly what the library renders: nothing added or lost on the way.
    let rendered: BTreeMap<PathBuf, Option<Vec<u8>>> = render(&catalogue())
        .unwrap()
        .into_iter()
        .map(|f| (PathBuf::from(f.path), Some(f.contents.into_bytes())))
        .collect();
    let files: BTreeMap<_, _> = first.into_iter().filter(|(_, c)| c.is_some()).collect();
    assert_eq!(files, rendered);
}

/// A catalogue whose tree differs from the committed one in the analytics patch and the patches
/// README: the two files of the immutable-file report.
fn raised_limit_catalogue() -> Catalogue {
    let mut c = catalogue();
    let cpu = &mut c.services.iter_mut().find(|s| s.name == "analytics-service").unwrap().cpu;
    // Any other limit than the sheet's, above its request.
    let raised = if cpu.limit.as_deref() == Some("7000m") { "8000m" } else { "7000m" };
    cpu.limit = Some(raised.into());
    c
}

/// Files made unremovable for a test, made removable again when dropped (even when the test
/// fails), so the [`TempDir`] can go. `chattr +i` where the file system has it (we run as root,
/// as CI does); else a read-only folder, which stops the removal only for a user without root.
struct Unremovable {
    root: PathBuf,
    how: &'static str,
}

impl Unremovable {
    /// `None` when neither way works here: the caller then skips, saying so.
    fn make(root: &Path, files: &[PathBuf]) -> Option<Unremovable> {
        let chattr =
            |flag: &str, file: &Path| Command::new("chattr").arg(flag).arg(file).status().is_ok_and(|s| s.success());
        if files.iter().all(|f| chattr("+i", f)) {
            return Some(Unremovable { root: root.to_path_buf(), how: "chattr" });
        }
        for f in files {
            chattr("-i", f);
        }
        Unremovable::read_only_folders(root, files)
    }

    #[cfg(unix)]
    fn read_only_folders(root: &Path, files: &[PathBuf]) -> Option<Unremovable> {
        use std::os::unix::fs::PermissionsExt;
        for f in files {
            fs::set_permissions(f.parent().unwrap(), fs::Permissions::from_mode(0o555)).unwrap();
        }
        let guard = Unremovable { root: root.to_path_buf(), how: "read-only folder" };
        // Root ignores the folder's mode: then this emulation proves nothing.
        let probe = files[0].with_file_name("probe");
        if fs::write(&probe, "").is_ok() {
            let _ = fs::remove_file(&probe);
            return None;
        }
        Some(guard)
    }

    #[cfg(not(unix))]
    fn read_only_folders(_: &Path, _: &[PathBuf]) -> Option<Unremovable> {
        None
    }
}

impl Drop for Unremovable {
    fn drop(&mut self) {
        if self.how == "chattr" {
            let _ = Command::new("chattr").arg("-R").arg("-i").arg(&self.root).status();
        }
        #[cfg(unix)]
        let _ = Command::new("chmod").arg("-R").arg("u+w").arg(&self.root).status();
    }
}

/// The report: one patch immutable, and generate had already rewritten the patches
/// README when it failed. Now the new tree is swapped in whole; only the old tree, which holds
/// the immutable file, stays, and the error says both. An unchanged immutable file is copied
/// into the new tree with its mtime, since it cannot be linked.
#[test]
fn an_immutable_file_leaves_no_half_written_tree() {
    let root = Root::new("immutable");
    run_report(&root.0, &raised_limit_catalogue(), Mode::Write).unwrap();
    let patch = root.file(&layout::patch_file("production", "analytics-service"));
    let unchanged = root.file(&auth_base());
    let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    fs::File::options().write(true).open(&unchanged).unwrap().set_modified(long_ago).unwrap();
    let Some(guard) = Unremovable::make(&root.0, &[patch.clone(), unchanged.clone()]) else {
        eprintln!("skipped: neither chattr +i nor a read-only folder stops a removal here");
        return;
    };

    let error = run_report(&root.0, &catalogue(), Mode::Write).expect_err("the old tree cannot be removed");
    let text = format!("{error:#}");
    let leftover = root.0.join(format!("{GENERATED_DIR}.old-{}", std::process::id()));
    for expected in ["every change is in place", &leftover.display().to_string(), "could not be removed"] {
        assert!(text.contains(expected), "{expected:?} not in {text:?} ({})", guard.how);
    }
    // Every change is in place: the tree is the committed catalogue's, README and patch alike.
    assert!(run_report(&root.0, &catalogue(), Mode::Check).unwrap().ok);
    assert_eq!(fs::metadata(&unchanged).unwrap().modified().unwrap(), long_ago, "the copy keeps the mtime");
    assert!(leftover.join(layout::patch_file("production", "analytics-service")).exists(), "the old patch is left");

    // While the leftover cannot go, the next writer changes nothing and says why.
    fs::write(root.file(&auth_base()), "hand edit\n").unwrap();
    let before = snapshot(&root.0);
    let error = run_report(&root.0, &catalogue(), Mode::Write).expect_err("the leftover is still there");
    let text = format!("{error:#}");
    assert!(text.contains("cannot be removed") && text.contains("nothing was changed"), "{text}");
    assert!(text.contains(&leftover.display().to_string()), "{text}");
    assert_eq!(snapshot(&root.0), before);

    // Once it can, the next run removes it and writes.
    drop(guard);
    root.generate();
    assert!(!leftover.exists());
    assert!(run_report(&root.0, &catalogue(), Mode::Check).unwrap().ok);
}

/// A second writer waits for the first, then runs; check and diff wait too, so they never read
/// a tree halfway through a swap.
#[test]
fn a_second_run_waits_for_the_first() {
    let root = Root::new("lock");
    root.generate();
    fs::write(root.file(&auth_base()), "hand edit\n").unwrap();
    let lock = WriteLock::acquire(&root.0).unwrap();

    let (done, finished) = mpsc::channel();
    let runs: Vec<_> = [Mode::Check, Mode::Write]
        .into_iter()
        .map(|mode| {
            let (path, done) = (root.0.clone(), done.clone());
            std::thread::spawn(move || {
                let report = run_report(&path, &catalogue(), mode);
                done.send(mode).unwrap();
                report
            })
        })
        .collect();
    assert_eq!(finished.recv_timeout(Duration::from_millis(500)).ok(), None, "a run went ahead of the lock");
    assert_eq!(fs::read_to_string(root.file(&auth_base())).unwrap(), "hand edit\n");

    drop(lock);
    let reports: Vec<Report> =
        runs.into_iter().map(|r| r.join().unwrap().expect("each runs once the lock is free")).collect();
    assert!(run_report(&root.0, &catalogue(), Mode::Check).unwrap().ok, "the waiting write ran");
    assert!(reports[1].text.starts_with(&format!("Updated: generated/{}\n", auth_base())), "{}", reports[1].text);
}

/// A run killed between its two renames leaves no `generated/`, the old tree beside it, and
/// perhaps a half-built new one. Check says so; the next writer renames the old tree back (so
/// what it then updates is the old tree, not a tree made from nothing) and removes the rest.
#[test]
fn the_next_writer_restores_a_tree_a_killed_run_swapped_out() {
    let root = Root::new("recover");
    root.generate();
    fs::write(root.file(&auth_base()), "hand edit\n").unwrap();
    fs::rename(root.generated(), root.0.join("generated.old-4242")).unwrap();
    fs::create_dir_all(root.0.join("generated.new-4242/infra")).unwrap();
    // The same family of names, not ours: it stays.
    fs::create_dir(root.0.join("generated.old-backup")).unwrap();

    let check = run_report(&root.0, &catalogue(), Mode::Check).unwrap();
    assert!(!check.ok);
    assert!(check.text.contains("generated/ is missing: a run was interrupted during its swap"), "{}", check.text);
    assert!(check.text.contains("generated.old-4242"), "{}", check.text);

    let report = root.generate();
    let n = rendered_count();
    assert_eq!(report.text, format!("Updated: generated/{}\nUp-to-date: {} files\n", auth_base(), n - 1));
    assert!(!root.0.join("generated.old-4242").exists() && !root.0.join("generated.new-4242").exists());
    assert!(root.0.join("generated.old-backup").exists());
    assert!(run_report(&root.0, &catalogue(), Mode::Check).unwrap().ok);
}

/// Two swapped-out trees and no `generated/`: which is newer is not guessed.
#[test]
fn several_swapped_out_trees_are_not_guessed_between() {
    let root = Root::new("recover-several");
    root.generate();
    fs::rename(root.generated(), root.0.join("generated.old-1")).unwrap();
    fs::create_dir(root.0.join("generated.old-2")).unwrap();
    let before = snapshot(&root.0);

    let error = run_report(&root.0, &catalogue(), Mode::Write).expect_err("ambiguous");
    let text = format!("{error:#}");
    for expected in ["several earlier trees are left", "generated.old-1", "generated.old-2", "nothing was changed"] {
        assert!(text.contains(expected), "{expected:?} not in {text:?}");
    }
    assert_eq!(snapshot(&root.0), before);
}

/// A `generated/` that is a link to a folder elsewhere is refused by every mode, naming the
/// link, and nothing there is read into a report or written.
#[cfg(unix)]
#[test]
fn a_linked_generated_is_refused() {
    let (root, elsewhere) = (Root::new("linked-root"), Root::new("linked-root-target"));
    elsewhere.generate();
    fs::write(elsewhere.file(&auth_base()), "hand edit\n").unwrap();
    let before = snapshot(&elsewhere.0);
    std::os::unix::fs::symlink(elsewhere.generated(), root.generated()).unwrap();

    for mode in [Mode::Write, Mode::Check, Mode::Diff] {
        let error = run_report(&root.0, &catalogue(), mode).expect_err("a linked generated/ is refused");
        let text = format!("{error:#}");
        assert!(text.contains(&format!("{}: a symbolic link", root.generated().display())), "{mode:?}: {text}");
        assert_eq!(snapshot(&elsewhere.0), before, "{mode:?} touched the link's target");
    }
    assert!(WriteLock::acquire(&root.0).is_err(), "set-image takes the same way in");
    assert!(fs::symlink_metadata(root.generated()).unwrap().file_type().is_symlink(), "the link itself stays");
}

/// A folder where a file belongs, empty or not, is replaced by the file (it used to fail with
/// `Is a directory`, and generate could not repair it).
#[test]
fn a_folder_where_a_file_belongs_is_repaired() {
    let root = Root::new("folder-in-the-way");
    root.generate();
    let full = auth_base();
    let empty = format!("{BASE_DIR}/content-service.yaml");
    for path in [&full, &empty] {
        fs::remove_file(root.file(path)).unwrap();
        fs::create_dir(root.file(path)).unwrap();
    }
    fs::write(root.file(&full).join("inside.yaml"), "in the way\n").unwrap();
    assert!(!run_report(&root.0, &catalogue(), Mode::Check).unwrap().ok);

    let report = root.generate();
    for expected in [
        format!("Created: generated/{full}\n"),
        format!("Removed: generated/{full}/inside.yaml\n"),
        format!("Created: generated/{empty}\n"),
    ] {
        assert!(report.text.contains(&expected), "{expected:?} not in:\n{}", report.text);
    }
    assert!(root.file(&full).is_file() && root.file(&empty).is_file());
    assert!(run_report(&root.0, &catalogue(), Mode::Check).unwrap().ok);
}

/// An empty stray folder (here two, nested, beside the overlays) is drift: `check` names the
/// outermost and fails, `diff` counts it, and `generate` leaves it out of the new tree; a folder
/// that holds a file is not reported.
#[test]
fn an_empty_stray_folder_is_reported_and_removed() {
    let root = Root::new("stray-folder");
    root.generate();
    let stray = format!("{BASE_DIR}/stray");
    fs::create_dir_all(root.file(&format!("{stray}/inner"))).unwrap();
    let before = snapshot(&root.0);

    let report = run_report(&root.0, &catalogue(), Mode::Check).unwrap();
    assert!(!report.ok, "{}", report.text);
    assert_eq!(
        report.text,
        format!(
            "generated/{stray}/: empty folder: nothing renders into it\n\
             1 empty folder in generated/ differ from what the definitions render: run `cargo xtask generate`\n"
        )
    );
    let diff = run_report(&root.0, &catalogue(), Mode::Diff).unwrap();
    assert!(!diff.ok && diff.text.ends_with("1 empty folder would change\n"), "{}", diff.text);
    assert_eq!(snapshot(&root.0), before, "check and diff write nothing");

    let written = root.generate();
    assert!(written.text.starts_with(&format!("Removed: generated/{stray}\n")), "{}", written.text);
    assert!(!root.file(&stray).exists(), "the stray folder is gone");
    assert!(run_report(&root.0, &catalogue(), Mode::Check).unwrap().ok);
}
