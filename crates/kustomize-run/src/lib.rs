//! `kubectl kustomize`, run once per input.
//!
//! A render reads a folder of files and nothing else (no plugins, no network, no generator reading
//! the environment's variables: the trees we render use none), so the same files and the same
//! kubectl give the same output, stderr and exit status. The render's [`Inputs`] are every file of
//! a tree, path and bytes, and which folder of it is rendered; [`kustomize`] renders that folder
//! of that tree, and given a cache folder keeps each render under the SHA-256 of those inputs and
//! of `kubectl version --client`, and reads a render back instead of running kubectl again. kubectl still has to be there: its version is part of every key, so a missing kubectl
//! fails as it always did, and a new kubectl renders everything afresh.
//!
//! The tests render the same trees in several test binaries and in every run of the suite; `plan`
//! renders the same base again for every `--env` and `--format`. Without a cache folder nothing is
//! kept and every call runs kubectl.

use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

use hmac_sha256::Hash as Sha256;

/// What `kubectl kustomize` did: its exit status, what it printed on stdout and on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub success: bool,
    /// The exit status as the process reported it (`exit status: 1`), for messages.
    pub status: String,
    pub stdout: String,
    pub stderr: String,
}

/// Everything a render can read, as a digest: which folder is rendered, and each file's path
/// (relative to the tree) and bytes, in the order they are given. The folder rendered is kept
/// too: [`kustomize`] renders exactly that folder of the tree it is given, so a render is never
/// kept under the inputs of another folder.
#[derive(Clone)]
pub struct Inputs {
    digest: Sha256,
    rendered: String,
}

impl Inputs {
    /// The inputs of rendering the folder `rendered` (relative to the tree's root, e.g.
    /// `overlays/production`; `.` for the root itself).
    pub fn new(rendered: &str) -> Inputs {
        let mut inputs = Inputs { digest: Sha256::new(), rendered: rendered.to_owned() };
        inputs.part(b"kustomize-run 2");
        inputs.part(rendered.as_bytes());
        inputs
    }

    /// The folder rendered, relative to the tree's root.
    pub fn rendered(&self) -> &str {
        &self.rendered
    }

    /// One file the render can read.
    pub fn file(&mut self, path: &str, bytes: &[u8]) -> &mut Inputs {
        self.part(path.as_bytes());
        self.part(bytes);
        self
    }

    /// Every file under `root`, by path relative to it in sorted order, but for the folders
    /// `skip` says the render cannot read.
    pub fn tree(rendered: &str, root: &Path, skip: impl Fn(&Path) -> bool) -> io::Result<Inputs> {
        let mut files = Vec::new();
        let mut pending = vec![root.to_path_buf()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    if !skip(&path) {
                        pending.push(path);
                    }
                } else {
                    files.push(path);
                }
            }
        }
        files.sort();
        let mut inputs = Inputs::new(rendered);
        for path in files {
            let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
            inputs.file(&relative, &std::fs::read(&path)?);
        }
        Ok(inputs)
    }

    /// A part, length first, so that no two sequences of parts digest alike.
    fn part(&mut self, bytes: &[u8]) {
        self.digest.update((bytes.len() as u64).to_le_bytes());
        self.digest.update(bytes);
    }

    /// The digest of these inputs, as hex: equal exactly when the inputs are (byte for byte).
    pub fn digest(&self) -> String {
        hex(&self.digest.finalize())
    }

    fn key(&self, kubectl: &str) -> String {
        let mut digest = self.clone();
        digest.part(kubectl.as_bytes());
        hex(&digest.digest.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `kubectl kustomize` of the folder [`Inputs::rendered`] names in the tree `tree` lays out (its
/// root), the tree being what `inputs` digests. With a `cache` folder, a render of the same inputs
/// by the same kubectl is read back instead of run, and `tree` is not even called (a caller that
/// writes its tree to disk writes it only for a render); a new one is stored there (whole or not
/// at all, so concurrent runs never read half a render). An error only when the tree cannot be
/// laid out or kubectl cannot be run (`ErrorKind::NotFound` when it is not installed).
pub fn kustomize<T: AsRef<Path>>(
    inputs: &Inputs,
    cache: Option<&Path>,
    tree: impl FnOnce() -> io::Result<T>,
) -> io::Result<Rendered> {
    let Some(folder) = cache else { return run(&tree()?.as_ref().join(&inputs.rendered)) };
    let path = kept_at(folder, inputs)?;
    if let Some(rendered) = read(&path) {
        return Ok(rendered);
    }
    let rendered = run(&tree()?.as_ref().join(&inputs.rendered))?;
    // A render that cannot be kept is still a render: the cache only saves time.
    if store(folder, &path, &encode(&rendered)).is_ok() {
        let _ = prune(folder, KEPT);
    }
    Ok(rendered)
}

impl Rendered {
    /// Its stdout when kubectl succeeded and printed nothing on stderr (a warning, such as the one
    /// for `bases:`, counts as a failure), else what went wrong.
    pub fn clean(self) -> Result<String, String> {
        if !self.success {
            return Err(format!("kubectl kustomize failed ({}):\n{}", self.status, self.stderr));
        }
        if !self.stderr.trim().is_empty() {
            return Err(format!("kubectl kustomize printed on stderr:\n{}", self.stderr));
        }
        Ok(self.stdout)
    }
}

/// How many renders a cache folder keeps: the most recently used. Every change to a tree renders
/// anew, so an unbounded folder would grow with every edit; a run of the tests reads about ninety.
pub const KEPT: usize = 512;

/// Removes all but the `keep` most recently used renders of `folder` (a render read back counts as
/// used: [`read`] touches it), and what a run stopped between staging and renaming a render left
/// behind (a staged file over an hour old).
fn prune(folder: &Path, keep: usize) -> io::Result<()> {
    let mut renders = Vec::new();
    let an_hour_ago = SystemTime::now() - std::time::Duration::from_secs(3600);
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let (path, modified) = (entry.path(), entry.metadata()?.modified()?);
        if path.extension().is_some_and(|e| e == "render") {
            renders.push((modified, path));
        } else if entry.file_name().to_string_lossy().starts_with(STAGED) && modified < an_hour_ago {
            let _ = std::fs::remove_file(&path);
        }
    }
    if renders.len() > keep {
        renders.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
        for (_, path) in &renders[keep..] {
            let _ = std::fs::remove_file(path);
        }
    }
    Ok(())
}

/// How a render being stored is named until it is renamed into place.
const STAGED: &str = ".staged-";

/// Where the render of `inputs` by this kubectl is kept in `folder`.
fn kept_at(folder: &Path, inputs: &Inputs) -> io::Result<PathBuf> {
    Ok(folder.join(format!("{}.render", inputs.key(kubectl_version()?))))
}

/// The render kept at `path`, if there is a whole one; it counts as used now (the last a prune
/// removes).
fn read(path: &Path) -> Option<Rendered> {
    let rendered = std::fs::read_to_string(path).ok().and_then(|text| decode(&text))?;
    let _ = std::fs::File::options().write(true).open(path).and_then(|f| f.set_modified(SystemTime::now()));
    Some(rendered)
}

fn run(dir: &Path) -> io::Result<Rendered> {
    let out = Command::new("kubectl").arg("kustomize").arg(dir).output()?;
    Ok(Rendered {
        success: out.status.success(),
        status: out.status.to_string(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// `kubectl version --client`, asked once per process.
fn kubectl_version() -> io::Result<&'static str> {
    static VERSION: OnceLock<Result<String, (ErrorKind, String)>> = OnceLock::new();
    let version = VERSION.get_or_init(|| {
        let out =
            Command::new("kubectl").args(["version", "--client"]).output().map_err(|e| (e.kind(), e.to_string()))?;
        if !out.status.success() {
            return Err((ErrorKind::Other, format!("kubectl version --client: {}", out.status)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    });
    version.as_deref().map_err(|(kind, message)| io::Error::new(*kind, message.clone()))
}

fn store(folder: &Path, path: &Path, text: &str) -> io::Result<()> {
    std::fs::create_dir_all(folder)?;
    let staged: PathBuf = folder.join(format!("{STAGED}{}.{}", std::process::id(), unique()));
    std::fs::write(&staged, text)?;
    std::fs::rename(&staged, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&staged);
    })
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A render as a file: `ok` or the status, stderr's and stdout's lengths in bytes, stderr, stdout.
/// A file of any other length (cut short by a crash before the rename, say) is no render.
fn encode(r: &Rendered) -> String {
    let head = if r.success { "ok".to_owned() } else { format!("failed {}", r.status) };
    format!("{head}\n{}\n{}\n{}{}", r.stderr.len(), r.stdout.len(), r.stderr, r.stdout)
}

fn decode(text: &str) -> Option<Rendered> {
    let (head, rest) = text.split_once('\n')?;
    let (stderr_length, rest) = rest.split_once('\n')?;
    let (stdout_length, rest) = rest.split_once('\n')?;
    let (stderr_length, stdout_length): (usize, usize) = (stderr_length.parse().ok()?, stdout_length.parse().ok()?);
    if rest.len() != stderr_length.checked_add(stdout_length)? {
        return None;
    }
    let (stderr, stdout) = (rest.get(..stderr_length)?, rest.get(stderr_length..)?);
    let (success, status) = match head.strip_prefix("failed ") {
        Some(status) => (false, status.to_owned()),
        None if head == "ok" => (true, "exit status: 0".to_owned()),
        None => return None,
    };
    Some(Rendered { success, status, stdout: stdout.to_owned(), stderr: stderr.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_render_reads_back_as_it_was_stored() {
        let cases = [
            Rendered { success: true, status: "exit status: 0".into(), stdout: "a: 1\n".into(), stderr: String::new() },
            Rendered {
                success: false,
                status: "exit status: 1".into(),
                stdout: String::new(),
                stderr: "Error: 12\nline two\n".into(),
            },
            Rendered {
                success: true,
                status: "exit status: 0".into(),
                stdout: "x\n".into(),
                stderr: "warn é\n".into(),
            },
        ];
        for r in cases {
            assert_eq!(decode(&encode(&r)).as_ref(), Some(&r));
        }
        assert_eq!(decode("garbage"), None);
        assert_eq!(decode("ok\n99\n0\nshort"), None, "a truncated file is no render");
        let whole = encode(&Rendered {
            success: true,
            status: "exit status: 0".into(),
            stdout: "a: 1\n".into(),
            stderr: String::new(),
        });
        assert_eq!(decode(&whole[..whole.len() - 1]), None, "a stdout cut short is no render");
    }

    /// With a cache, a render is kept and read back for the same inputs (without laying the tree
    /// out again), and run again for others; what is read back is what was kept (a planted render
    /// proves no kubectl ran). The folder rendered is the one the inputs name, inside the tree
    /// given. Needs kubectl: fails, never skips, without it.
    #[test]
    fn a_render_is_kept_and_read_back_for_the_same_inputs_only() {
        let root = std::env::temp_dir().join(format!("kustomize-run-{}", std::process::id()));
        let (tree, cache) = (root.join("tree"), root.join("cache"));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(tree.join("overlay")).unwrap();
        std::fs::create_dir_all(tree.join("base")).unwrap();
        let write = |text: &str| {
            std::fs::write(tree.join("base/kustomization.yaml"), "resources: [cm.yaml]\n").unwrap();
            std::fs::write(tree.join("overlay/kustomization.yaml"), "resources: [../base]\nnamePrefix: o-\n").unwrap();
            std::fs::write(tree.join("base/cm.yaml"), text).unwrap();
            Inputs::tree("overlay", &tree, |_| false).unwrap()
        };
        let laid_out = std::cell::Cell::new(0);
        let lay_out = || {
            laid_out.set(laid_out.get() + 1);
            Ok(tree.as_path())
        };
        let one = write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n");
        let first = kustomize(&one, Some(&cache), lay_out).expect("kubectl must be installed for this test");
        assert!(first.success && first.stdout.contains("name: o-one"), "the overlay, not the root: {first:?}");
        let kept: Vec<_> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect();
        let [kept] = kept.as_slice() else { panic!("one render kept: {kept:?}") };
        let planted = Rendered { stdout: "planted\n".into(), ..first.clone() };
        std::fs::write(kept, encode(&planted)).unwrap();
        assert_eq!(kustomize(&one, Some(&cache), lay_out).unwrap(), planted, "read back, not run");
        assert_eq!(laid_out.get(), 1, "a render read back needs no tree");
        let two = write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n");
        let second = kustomize(&two, Some(&cache), lay_out).unwrap();
        assert!(second.stdout.contains("name: o-two"), "other inputs run kubectl: {second:?}");
        assert_eq!(kustomize(&two, None, lay_out).unwrap(), second, "without a cache, kubectl runs");
        assert_eq!(second.clean(), Ok(first.stdout.replace("one", "two")));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_clean_render_is_a_success_with_nothing_on_stderr() {
        let ok = Rendered { success: true, status: "exit status: 0".into(), stdout: "a\n".into(), stderr: "\n".into() };
        assert_eq!(ok.clone().clean(), Ok("a\n".to_owned()));
        let warned = Rendered { stderr: "# Warning: 'bases' is deprecated\n".into(), ..ok.clone() };
        assert!(warned.clean().unwrap_err().contains("printed on stderr:\n# Warning"));
        let failed = Rendered { success: false, status: "exit status: 1".into(), stderr: "Error: x\n".into(), ..ok };
        assert_eq!(failed.clean(), Err("kubectl kustomize failed (exit status: 1):\nError: x\n".to_owned()));
    }

    /// A folder keeps the most recently used renders, a render read back counting as used.
    #[test]
    fn a_folder_keeps_the_most_recently_used_renders() {
        let folder = std::env::temp_dir().join(format!("kustomize-run-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).unwrap();
        let at = |n: u64| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000 + n);
        for n in 0..6u64 {
            let path = folder.join(format!("{n}.render"));
            std::fs::write(&path, "ok\n0\n0\n").unwrap();
            std::fs::File::options().write(true).open(&path).unwrap().set_modified(at(n)).unwrap();
        }
        // Staged files: one being written now is kept, one a stopped run left long ago goes.
        std::fs::write(folder.join(format!("{STAGED}now")), "not a render").unwrap();
        let old = folder.join(format!("{STAGED}old"));
        std::fs::write(&old, "not a render").unwrap();
        std::fs::File::options().write(true).open(&old).unwrap().set_modified(at(0)).unwrap();
        prune(&folder, 3).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".staged-now", "3.render", "4.render", "5.render"]);
        let _ = std::fs::remove_dir_all(&folder);
    }

    #[test]
    fn every_byte_and_name_is_part_of_the_key() {
        let key = |rendered: &str, files: &[(&str, &[u8])]| {
            let mut inputs = Inputs::new(rendered);
            for (path, bytes) in files {
                inputs.file(path, bytes);
            }
            inputs.key("kubectl 1.32")
        };
        let base = key("overlays/production", &[("a.yaml", b"x: 1\n"), ("b.yaml", b"y")]);
        let others = [
            key("overlays/staging", &[("a.yaml", b"x: 1\n"), ("b.yaml", b"y")]),
            key("overlays/production", &[("a.yaml", b"x: 2\n"), ("b.yaml", b"y")]),
            key("overlays/production", &[("c.yaml", b"x: 1\n"), ("b.yaml", b"y")]),
            key("overlays/production", &[("a.yaml", b"x: 1\n")]),
            key("overlays/production", &[("a.yaml", b"x: 1\nb.yaml"), ("", b"y")]),
        ];
        for other in &others {
            assert_ne!(&base, other);
        }
        assert_eq!(base, key("overlays/production", &[("a.yaml", b"x: 1\n"), ("b.yaml", b"y")]));
        let mut inputs = Inputs::new("o");
        inputs.file("a", b"1");
        assert_ne!(inputs.key("kubectl 1.32"), inputs.key("kubectl 1.33"), "a new kubectl renders afresh");
    }
}
