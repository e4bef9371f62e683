//! Helpers shared by the integration tests: writing a rendered tree to a scratch folder and
//! running the real `kubectl kustomize` on it.

#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use lomash_manifests::patch::merge_key;
use lomash_manifests::File;
use serde_yaml::Value;

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

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
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

/// `kubectl kustomize` of the folder `dir` of the tree `files` (as [`write_tree`] lays it out), run
/// once per distinct tree and folder: the many tests that read the catalogue's own render share one
/// run of each overlay, and a test that changes the tree gets its own. Renders are kept in the
/// workspace's render cache (see [`kustomize`]), keyed by the tree's every path and byte, so no
/// test is handed another tree's render, and a later run of the suite reads them back.
pub fn kustomized(files: &[File], dir: &str) -> Result<String, String> {
    let mut inputs = kustomize_run::Inputs::new(dir);
    for f in files {
        inputs.file(&f.path, f.contents.as_bytes());
    }
    // Tests running at once on the same tree wait for one render instead of each running kubectl.
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    type Runs = Mutex<HashMap<String, Arc<OnceLock<Result<String, String>>>>>;
    static RUNS: OnceLock<Runs> = OnceLock::new();
    let run = Arc::clone(RUNS.get_or_init(Default::default).lock().unwrap().entry(inputs.digest()).or_default());
    // The tree is written out only when it has to be rendered: not for a render read back.
    run.get_or_init(|| render(&inputs, || Ok(write_tree("kustomized", files)))).clone()
}

/// Where every test binary of the workspace keeps `kubectl kustomize` renders: by the SHA-256 of
/// everything a render reads and of kubectl's version (`kustomize_run`), so a render is read back
/// only for byte-identical inputs and the same kubectl.
fn cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("kustomize-cache")
}

/// `kubectl kustomize` of the folder `dir` (relative to `tree`, `.` for the tree itself): its
/// output, or an error when it fails or prints anything on stderr (a warning such as the one for
/// `bases:` counts as a failure). Every file under `tree` is an input of the render's cache key,
/// so `tree` must hold everything the folder's kustomization reads (an overlay's base too). A
/// missing kubectl is a failure, never a skip: CI (`CI=true`) and every developer machine have
/// kubectl 1.32.
pub fn kustomize(tree: &Path, dir: &str) -> Result<String, String> {
    let inputs = kustomize_run::Inputs::tree(dir, tree, |_| false).expect("reading the folder to render");
    render(&inputs, || Ok(tree))
}

fn render<T: AsRef<Path>>(
    inputs: &kustomize_run::Inputs,
    tree: impl FnOnce() -> std::io::Result<T>,
) -> Result<String, String> {
    let out = kustomize_run::kustomize(inputs, Some(&cache()), tree).unwrap_or_else(|e| {
        panic!(
            "kubectl is needed to render the overlay and could not be run ({e}); install kubectl 1.32 (CI={})",
            std::env::var("CI").unwrap_or_default()
        )
    });
    out.clean()
}

/// Replaces `from` by `to` in the file at `path` of `files` (which must contain it).
pub fn edit(files: &mut [File], path: &str, from: &str, to: &str) {
    let file = files.iter_mut().find(|f| f.path == path).unwrap_or_else(|| panic!("no file {path}"));
    assert!(file.contents.contains(from), "{path} does not contain {from:?}");
    file.contents = file.contents.replace(from, to);
}

/// Applies a strategic-merge `patch` to `target` by the rules `patch::strategic_merge_patch` follows
/// (the inverse of it): maps merge key by key and a `null` removes the key; lists with a
/// `patch::merge_key` merge element by element, `$patch: delete` removing one, the patch's elements
/// first and then the target's others; every other list is replaced. Lets a test read a patch as
/// the whole object it produces (e.g. to parse that strictly) without running Kustomize.
pub fn apply_patch(target: &Value, patch: &Value) -> Value {
    match (target, patch) {
        (Value::Mapping(t), Value::Mapping(p)) => {
            let mut out = t.clone();
            for (key, p) in p {
                match (out.get(key), p) {
                    (_, Value::Null) => {
                        out.remove(key);
                    }
                    (Some(Value::Sequence(t)), Value::Sequence(p)) => {
                        let merged = apply_list(key.as_str().unwrap_or_default(), t, p);
                        out.insert(key.clone(), merged);
                    }
                    (Some(t), p) => {
                        let merged = apply_patch(t, p);
                        out.insert(key.clone(), merged);
                    }
                    (None, p) => {
                        out.insert(key.clone(), p.clone());
                    }
                }
            }
            Value::Mapping(out)
        }
        (_, patch) => patch.clone(),
    }
}

fn apply_list(field: &str, target: &[Value], patch: &[Value]) -> Value {
    let Some(key) = merge_key(field, patch.first().or(target.first())) else {
        return Value::Sequence(patch.to_vec());
    };
    let deletes = |p: &Value| p.get("$patch").and_then(Value::as_str) == Some("delete");
    let mut out = Vec::new();
    for p in patch.iter().filter(|p| !deletes(p)) {
        match target.iter().find(|t| t.get(key).is_some() && t.get(key) == p.get(key)) {
            Some(t) => out.push(apply_patch(t, p)),
            None => out.push(p.clone()),
        }
    }
    let mentioned = |t: &Value| patch.iter().any(|p| p.get(key).is_some() && p.get(key) == t.get(key));
    out.extend(target.iter().filter(|t| !mentioned(t)).cloned());
    Value::Sequence(out)
}
