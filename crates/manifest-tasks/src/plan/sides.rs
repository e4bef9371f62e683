//! The two sides of a plan, as files and as what `kubectl kustomize` makes of them: the base is
//! `generated/` as committed at a git ref, extracted with `git archive` into a scratch folder
//! (nothing is checked out, the index and the work tree are not touched); the head is the work
//! tree's `generated/`, read where it is. Every environment (`overlays/<name>/` holding a
//! `kustomization.yaml`) of either side is rendered by the real kustomize, all at once on threads:
//! the renders are most of a plan's time.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{anyhow, bail, Context, Result};
use kustomize_run::Inputs;
use manifest_core::layout::{self, GENERATED_DIR};

/// The commit the base side is read from, and how it was chosen (what a reader is told).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    /// `HEAD^`, `merge-base of HEAD and main`, … .
    pub label: String,
    /// The full commit id.
    pub commit: String,
}

/// Runs git in `root`; an error names git's own complaint.
fn git(root: &Path, args: &[&str]) -> Result<Output> {
    Command::new("git").arg("-C").arg(root).args(args).output().map_err(|e| match e.kind() {
        ErrorKind::NotFound => anyhow!("git: not found on PATH: plan reads the base side from the repository"),
        _ => anyhow!("running git {}: {e}", args.join(" ")),
    })
}

fn stdout_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn stderr_text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// The commit id `rev` names, if it names one.
fn commit_of(root: &Path, rev: &str) -> Result<Option<String>> {
    let out = git(root, &["rev-parse", "--verify", "--quiet", "--end-of-options", &format!("{rev}^{{commit}}")])?;
    Ok(out.status.success().then(|| stdout_line(&out)))
}

/// Where `root` sits in its repository (`""` at the top), or an error when it is not a checkout.
pub fn prefix(root: &Path) -> Result<String> {
    let out = git(root, &["rev-parse", "--show-prefix"])?;
    if !out.status.success() {
        bail!("{}: not a git checkout ({}): plan compares against a commit", root.display(), stderr_text(&out));
    }
    Ok(stdout_line(&out))
}

/// The base commit: `given` when there is one; else the merge-base of `HEAD` with `main` (or
/// `origin/main`, as a CI clone of a pull request has it), else `HEAD` itself.
pub fn base(root: &Path, given: Option<&str>) -> Result<Base> {
    if let Some(rev) = given {
        return match commit_of(root, rev)? {
            Some(commit) => Ok(Base { label: rev.to_owned(), commit }),
            None => bail!("{rev}: not a commit of the repository at {} (unknown ref)", root.display()),
        };
    }
    if commit_of(root, "HEAD")?.is_none() {
        bail!("HEAD: the repository at {} has no commit yet: there is no base to plan against", root.display());
    }
    for main in ["main", "origin/main"] {
        if commit_of(root, main)?.is_none() {
            continue;
        }
        let out = git(root, &["merge-base", "HEAD", main])?;
        if out.status.success() {
            return Ok(Base { label: format!("merge-base of HEAD and {main}"), commit: stdout_line(&out) });
        }
    }
    let commit = commit_of(root, "HEAD")?.expect("HEAD was just read");
    Ok(Base { label: "HEAD (no main branch to take a merge-base with)".to_owned(), commit })
}

/// A folder of its own under the system's temporary folder, removed with everything in it on
/// drop.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new() -> Result<Scratch> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("xtask-plan-base-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Scratch(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Extracts `generated/` as committed at `base` into `into` (which must exist). Returns false,
/// writing nothing, when that commit has no `generated/` (a commit from before the tree existed:
/// every environment of the head is then new).
pub fn extract(root: &Path, prefix: &str, base: &Base, into: &Path) -> Result<bool> {
    let tree = format!("{}:{prefix}{GENERATED_DIR}", base.commit);
    if !is_tree(root, &tree)? {
        return Ok(false);
    }
    let mut archive = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["archive", "--format=tar", &tree])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running git archive")?;
    let stdout = archive.stdout.take().expect("piped");
    let untar = Command::new("tar")
        .arg("-x")
        .arg("-f")
        .arg("-")
        .arg("-C")
        .arg(into)
        .stdin(stdout)
        .output()
        .map_err(|e| anyhow!("running tar to unpack {tree}: {e}"))?;
    let archived = archive.wait_with_output().context("waiting for git archive")?;
    if !archived.status.success() {
        bail!("git archive {tree} failed: {}", stderr_text(&archived));
    }
    if !untar.status.success() {
        bail!("tar could not unpack {tree}: {}", stderr_text(&untar));
    }
    Ok(true)
}

/// Whether `spec` (`<commit>:<path>`) names a folder. (`rev-parse <spec>^{tree}` would read the
/// suffix as part of the path.)
fn is_tree(root: &Path, spec: &str) -> Result<bool> {
    let out = git(root, &["cat-file", "-t", spec])?;
    Ok(out.status.success() && stdout_line(&out) == "tree")
}

/// The environments of a tree: every folder of `overlays/` that holds a `kustomization.yaml`,
/// by name. None when the tree has no overlays.
pub fn environments(tree: &Path) -> Result<Vec<String>> {
    let overlays = tree.join(layout::OVERLAYS_DIR);
    let entries = match std::fs::read_dir(&overlays) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", overlays.display())),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", overlays.display()))?;
        if entry.path().join("kustomization.yaml").is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// What `kubectl kustomize` prints for the overlay of `env` in `tree`, whose inputs are `inputs`
/// (see [`inputs`]): read back from the render cache when one is set ([`crate::kustomize_cache`]).
pub fn kustomize(tree: &Path, env: &str, inputs: Option<&Inputs>) -> Result<String> {
    let dir = tree.join(layout::overlay_dir(env));
    // Inputs that could not be read are never kept: the overlay is rendered, not looked up.
    let (cache, unread) = (crate::kustomize_cache(), Inputs::new(&layout::overlay_dir(env)));
    let (inputs, cache) = match inputs {
        Some(inputs) => (inputs, cache.as_deref()),
        None => (&unread, None),
    };
    let out = kustomize_run::kustomize(inputs, cache, || Ok(tree)).map_err(|e| match e.kind() {
        ErrorKind::NotFound => anyhow!(
            "kubectl: not found on PATH: plan renders every environment with `kubectl kustomize` \
             (kubectl 1.32 with Kustomize 5.5)"
        ),
        _ => anyhow!("running kubectl kustomize {}: {e}", dir.display()),
    })?;
    if !out.success {
        bail!("kubectl kustomize {} failed: {}", dir.display(), out.stderr.trim());
    }
    Ok(out.stdout)
}

/// Renders every `(tree, environment)` at once, one thread each; the results in the same order.
/// Two jobs whose inputs are byte-identical (see [`inputs`]) are rendered once and share the
/// output: a plan whose base and head agree on an environment (most pull requests touch one
/// environment, or none) pays one render for it, not two.
pub fn kustomize_all(jobs: &[(&Path, &str)]) -> Vec<Result<String>> {
    let inputs: Vec<Option<Inputs>> = jobs.iter().map(|(tree, env)| inputs(tree, env).ok()).collect();
    let keys: Vec<Option<String>> = inputs.iter().map(|i| i.as_ref().map(Inputs::digest)).collect();
    // The first job with each key renders; a job whose inputs could not be read renders alone.
    let first: Vec<usize> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| k.as_ref().and_then(|k| keys.iter().position(|o| o.as_ref() == Some(k))).unwrap_or(i))
        .collect();
    let rendered: Vec<Option<Result<String>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .iter()
            .zip(&inputs)
            .enumerate()
            .map(|(i, ((tree, env), inputs))| {
                (first[i] == i).then(|| scope.spawn(move || kustomize(tree, env, inputs.as_ref())))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("a render thread panicked")))))
            .collect()
    });
    first
        .iter()
        .map(|&f| match &rendered[f] {
            Some(Ok(text)) => Ok(text.clone()),
            Some(Err(e)) => Err(anyhow!("{e:#}")),
            None => unreachable!("the first job of each key renders"),
        })
        .collect()
}

/// Everything the render of `env`'s overlay in `tree` can read: every file's path and bytes, but
/// for the other environments' overlays (an overlay reads its own folder and the base, never a
/// sibling's).
fn inputs(tree: &Path, env: &str) -> Result<Inputs> {
    let overlays = tree.join(layout::OVERLAYS_DIR);
    let own = overlays.join(env);
    let skip = |dir: &Path| dir.parent() == Some(overlays.as_path()) && dir != own;
    Inputs::tree(&layout::overlay_dir(env), tree, skip).with_context(|| format!("reading {}", tree.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TempDir;

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Two trees that agree on the base and on an environment's overlay share that render; a byte
    /// changed in either makes them differ, and a change in another environment's overlay does not.
    #[test]
    fn a_render_is_shared_exactly_when_its_inputs_agree() {
        let trees = [TempDir::new("inputs-a"), TempDir::new("inputs-b")];
        for tree in &trees {
            write(tree.path(), &format!("{}/a.yaml", layout::BASE_DIR), "kind: A\n");
            for env in ["one", "two"] {
                write(tree.path(), &format!("{}/kustomization.yaml", layout::overlay_dir(env)), "resources: []\n");
            }
        }
        let key = |tree: &TempDir, env: &str| inputs(tree.path(), env).unwrap().digest();
        let [a, b] = &trees;
        assert_eq!(key(a, "one"), key(b, "one"));
        write(b.path(), &format!("{}/kustomization.yaml", layout::overlay_dir("two")), "resources: [x]\n");
        assert_eq!(key(a, "one"), key(b, "one"), "another environment's overlay is not an input");
        assert_ne!(key(a, "two"), key(b, "two"));
        write(b.path(), &format!("{}/a.yaml", layout::BASE_DIR), "kind: B\n");
        assert_ne!(key(a, "one"), key(b, "one"), "the base is an input");
    }
}
