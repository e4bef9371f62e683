//! Test helpers: a temporary directory removed on drop (std only, no tempfile dependency),
//! the bytes of every file of a tree, to show that a failed run changed nothing, and git for the
//! tests that commit in a temporary clone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh, empty directory, unique per process and call.
    pub fn new(label: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("xtask-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("creating a temporary directory");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies the tree under `from` to `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Every file under `dir` with its bytes, by path relative to it, except `skip` (relative to
/// `dir`; the lock file, which every writer creates, and git ignores, before it reads anything).
pub fn snapshot(dir: &Path, skip: &str) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path != dir.join(skip) {
                files.insert(path.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// A clone of the repository at `source` in a new temporary directory, sharing its objects, with
/// only `paths` checked out (git patterns: `/generated/`): the plan tests read and write the tree
/// and the release file only, and a full checkout made git most of their time, writing and then
/// removing every file of the repository.
pub fn sparse_clone(source: &Path, label: &str, paths: &[&str]) -> TempDir {
    let dir = TempDir::new(label);
    let out = std::process::Command::new("git")
        .args(["clone", "--quiet", "--shared", "--no-checkout"])
        .arg(source)
        .arg(dir.path())
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git clone {}: {}", source.display(), String::from_utf8_lossy(&out.stderr));
    let mut set = vec!["sparse-checkout", "set", "--no-cone"];
    set.extend(paths);
    git(dir.path(), &set);
    git(dir.path(), &["checkout", "--quiet"]);
    dir
}

/// Runs git in `root` as a throwaway identity, without the machine's hooks or commit signing;
/// returns its stdout, trimmed. An error fails the test with git's message.
pub fn git(root: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["-c", "user.name=plan test", "-c", "user.email=plan-test@example.invalid"])
        .args(["-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
