//! Writes through the real binary, on temporary project roots (`XTASK_ROOT`): concurrent runs
//! wait for each other, a kill at any point of the swap is made good by the next run, files get
//! their normal modes whatever the umask, and `diff` exits 1 exactly when there are differences.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use lomash_manifests::layout::{self, BASE_DIR, GENERATED_DIR};

use crate::testing;

use testing::TempDir;

/// The binary, pointed at `root`, with no fault hook unless a test sets one.
fn xtask(root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.args(args).env("XTASK_ROOT", root).env_remove("XTASK_FAULT");
    command
}

fn output(command: &mut Command) -> Output {
    command.output().expect("the xtask binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file of a tree with its bytes, by path relative to the tree.
type Tree = BTreeMap<PathBuf, Vec<u8>>;

/// The tree under `dir` (empty when `dir` is missing).
fn snapshot(dir: &Path) -> Tree {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = fs::read_dir(&folder) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if fs::symlink_metadata(&path).unwrap().is_dir() {
                pending.push(path);
            } else {
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// What is in the root besides `generated/` and the lock file: what a run left behind.
fn leftovers(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != GENERATED_DIR && n != ".generated.lock")
        .collect();
    names.sort();
    names
}

/// A root whose `generated/` is stale in four files (two hand edits, one missing, one orphan),
/// with the stale tree and the fresh one, to tell an all-old tree from an all-new one and both
/// from a mix.
fn stale_root(label: &str) -> (TempDir, Tree, Tree) {
    let root = TempDir::new(label);
    let out = output(&mut xtask(root.path(), &["generate"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let generated = root.path().join(GENERATED_DIR);
    let fresh = snapshot(&generated);
    for path in [format!("{BASE_DIR}/auth-service.yaml"), layout::patch_file("production", "analytics-service")] {
        fs::write(generated.join(path), "hand edit\n").unwrap();
    }
    fs::remove_file(generated.join(layout::resource_file("production", "content-service"))).unwrap();
    fs::write(generated.join(format!("{BASE_DIR}/orphan.yaml")), "kind: Orphan\n").unwrap();
    let stale = snapshot(&generated);
    assert_ne!(stale, fresh);
    (root, stale, fresh)
}

/// The report: of five runs at once, up to four failed on each other's temporary files.
/// Now each waits for the one before: all succeed, exactly one finds work to do, and check and
/// diff running among them do not fail either.
#[test]
fn five_concurrent_runs_all_succeed_one_after_the_other() {
    let (root, _, fresh) = stale_root("concurrent");
    let spawn = |args: &[&str]| {
        xtask(root.path(), args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary starts")
    };
    let writers: Vec<_> = (0..5).map(|_| spawn(&["generate"])).collect();
    let readers: Vec<_> = [["check"], ["diff"]].iter().map(|args| spawn(args)).collect();

    let writers: Vec<Output> = writers.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for out in &writers {
        assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    }
    let updated = writers.iter().filter(|o| text(&o.stdout).contains("Updated: generated/")).count();
    assert_eq!(updated, 1, "every run but the first waited and found the tree up to date");
    for out in readers.into_iter().map(|c| c.wait_with_output().unwrap()) {
        // Stale or fresh, depending on when they ran; never an error.
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out.stderr));
        assert!(!text(&out.stderr).contains("error"), "{}", text(&out.stderr));
    }
    assert_eq!(snapshot(&root.path().join(GENERATED_DIR)), fresh);
    assert_eq!(leftovers(root.path()), Vec::<String>::new());
}

/// A run killed (the fault hook aborts it, as a kill would) before, between and after the two
/// renames of its swap leaves a whole tree, old or new, or, between them, the old tree beside a
/// missing `generated/`, which check reports. The next run makes the tree all-new and leaves
/// nothing behind.
#[test]
fn a_kill_at_any_point_of_the_swap_is_made_good_by_the_next_run() {
    for point in ["before-swap", "after-first-rename", "after-second-rename"] {
        let (root, stale, fresh) = stale_root(point);
        let generated = root.path().join(GENERATED_DIR);
        let killed = output(xtask(root.path(), &["generate"]).env("XTASK_FAULT", point));
        assert!(!killed.status.success(), "{point}: the fault hook did not fire");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(killed.status.signal(), Some(6), "{point}: SIGABRT");
        }

        let left = leftovers(root.path());
        match point {
            "before-swap" => {
                assert_eq!(snapshot(&generated), stale, "{point}");
                assert!(left.len() == 1 && left[0].starts_with("generated.new-"), "{point}: {left:?}");
            }
            "after-first-rename" => {
                assert!(!generated.exists(), "{point}");
                let old = left.iter().find(|n| n.starts_with("generated.old-")).expect("the old tree is kept");
                assert_eq!(snapshot(&root.path().join(old)), stale, "{point}");
                let check = output(&mut xtask(root.path(), &["check"]));
                assert_eq!(check.status.code(), Some(1));
                assert!(
                    text(&check.stdout).contains("a run was interrupted during its swap"),
                    "{}",
                    text(&check.stdout)
                );
            }
            _ => {
                assert_eq!(snapshot(&generated), fresh, "{point}");
                assert!(left.len() == 1 && left[0].starts_with("generated.old-"), "{point}: {left:?}");
            }
        }

        let next = output(&mut xtask(root.path(), &["generate"]));
        assert!(next.status.success(), "{point}: {}", text(&next.stderr));
        if point == "after-first-rename" {
            assert!(text(&next.stderr).contains("restored"), "{point}: {}", text(&next.stderr));
        }
        assert_eq!(snapshot(&generated), fresh, "{point}");
        assert_eq!(leftovers(root.path()), Vec::<String>::new(), "{point}");
        assert_eq!(output(&mut xtask(root.path(), &["check"])).status.code(), Some(0), "{point}");
    }
}

/// Files 0644 and folders 0755 even under `umask 077`, which would make them private.
#[cfg(unix)]
#[test]
fn files_get_normal_modes_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let (root, _, _) = stale_root("umask");
    let generated = root.path().join(GENERATED_DIR);
    // An update of a stale tree (its folders are all new; its rewritten files too), then a tree
    // made from nothing.
    for _ in 0..2 {
        let out = output(
            Command::new("sh")
                .args(["-c", "umask 077 && exec \"$0\" generate", env!("CARGO_BIN_EXE_xtask")])
                .env("XTASK_ROOT", root.path()),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let mut pending = vec![generated.clone()];
        while let Some(folder) = pending.pop() {
            assert_eq!(fs::metadata(&folder).unwrap().permissions().mode() & 0o777, 0o755, "{}", folder.display());
            for entry in fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644, "{}", path.display());
                }
            }
        }
        fs::remove_dir_all(&generated).unwrap();
    }
}

/// `diff` exits like `git diff --exit-code`: 1 with differences, 0 without; it writes nothing.
#[test]
fn diff_exits_1_on_differences_and_0_without() {
    let (root, stale, _) = stale_root("diff");
    let generated = root.path().join(GENERATED_DIR);
    let out = output(&mut xtask(root.path(), &["diff"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).ends_with("4 files would change\n"), "{}", text(&out.stdout));
    assert_eq!(snapshot(&generated), stale, "diff writes nothing");

    assert!(output(&mut xtask(root.path(), &["generate"])).status.success());
    let out = output(&mut xtask(root.path(), &["diff"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "0 files would change\n");
}
