//! Helpers shared by the integration tests: writing a rendered tree to a scratch folder and
//! running the real `kubectl kustomize` on it.

#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use lomash_manifests::File;

/// The production overlay, relative to `generated/`.
pub const OVERLAY: &str = "infra/kubernetes/overlays/production";

/// A fresh scratch folder, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(label: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "lomash-{label}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `files` under a new scratch folder, as `cargo xtask generate` lays them out.
pub fn write_tree(label: &str, files: &[File]) -> Scratch {
    let scratch = Scratch::new(label);
    for f in files {
        let path = scratch.0.join(&f.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &f.contents).unwrap();
    }
    scratch
}

/// `kubectl kustomize <dir>`: its output, or an error when it fails or prints anything on
/// stderr (a warning such as the one for `bases:` counts as a failure). A missing kubectl is a
/// failure, never a skip: CI (`CI=true`) and every developer machine have kubectl 1.32.
pub fn kustomize(dir: &Path) -> Result<String, String> {
    let output = Command::new("kubectl").arg("kustomize").arg(dir).output().unwrap_or_else(|e| {
        panic!(
            "kubectl is needed to render the overlay and could not be run ({e}); install kubectl 1.32 \
             (CI={})",
            std::env::var("CI").unwrap_or_default()
        )
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("kubectl kustomize failed ({}):\n{stderr}", output.status));
    }
    if !stderr.trim().is_empty() {
        return Err(format!("kubectl kustomize printed on stderr:\n{stderr}"));
    }
    Ok(String::from_utf8(output.stdout).expect("kubectl prints UTF-8"))
}

/// Replaces `from` by `to` in the file at `path` of `files` (which must contain it).
pub fn edit(files: &mut [File], path: &str, from: &str, to: &str) {
    let file = files.iter_mut().find(|f| f.path == path).unwrap_or_else(|| panic!("no file {path}"));
    assert!(file.contents.contains(from), "{path} does not contain {from:?}");
    file.contents = file.contents.replace(from, to);
}
