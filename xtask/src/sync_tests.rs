//! What `generate` and `check` promise, tried on throwaway project roots under the system's
//! temporary folder: a bad definition writes nothing, check names every kind of drift, unchanged
//! files are left alone, orphans go, nothing outside `generated/` is touched, and two runs give
//! the same bytes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use lomash_manifests::tree::{BASE_DIR, OVERLAY_DIR};
use lomash_manifests::{catalogue, Catalogue};
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
    c.services.iter_mut().find(|s| s.name == "analytics-service").unwrap().cpu.request = Some("3".into());
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
    let missing = format!("{OVERLAY_DIR}/patches/content-service.yaml");
    let orphan = format!("{OVERLAY_DIR}/patches/search-service.yaml");
    let text = fs::read_to_string(root.file(&edited)).unwrap().replace("containerPort: 3001", "containerPort: 3999");
    fs::write(root.file(&edited), text).unwrap();
    fs::remove_file(root.file(&missing)).unwrap();
    fs::write(root.file(&orphan), "kind: Deployment\n").unwrap();
    let before = snapshot(&root.0);

    let report = run_report(&root.0, &catalogue(), Mode::Check).unwrap();
    assert!(!report.ok);
    for expected in [
        format!("generated/{edited}: differs (hand edit or stale)\n"),
        format!("--- a/generated/{edited}\n+++ b/generated/{edited}\n"),
        "-          containerPort: 3999\n+          containerPort: 3001\n".to_owned(),
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
    let deep = "infra/kubernetes/overlays/staging/patches/auth-service.yaml";
    let beside = format!("{BASE_DIR}/search-service.yaml");
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
    assert!(!root.file("infra/kubernetes/overlays/staging").exists(), "empty folders go too");
    assert!(root.file(OVERLAY_DIR).is_dir() && root.file(BASE_DIR).is_dir(), "folders with files stay");
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
