//! Keeps `generated/` equal to what the definitions render. One [`Mode`] serves the CLI and the
//! tests alike: `Write` updates the tree, `Check` reports drift without writing.
//!
//! Nothing is written unless every file rendered: the catalogue is validated and the whole tree
//! rendered in memory first. Each write goes to a temporary file beside its target and is renamed
//! over it, so a reader never sees half a file; an unchanged file is not touched.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use lomash_manifests::tree::GENERATED_DIR;
use lomash_manifests::{render, Catalogue, File};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bring the tree up to date.
    Write,
    /// Exit 1, with a diff, when the tree is not up to date; write nothing.
    Check,
    /// Print what `Write` would change, as a diff; write nothing.
    Diff,
}

/// What one file needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create { path: String, contents: String },
    Update { path: String, old: String, contents: String },
    Remove { path: String, old: String },
}

impl Change {
    pub fn path(&self) -> &str {
        match self {
            Change::Create { path, .. } | Change::Update { path, .. } | Change::Remove { path, .. } => path,
        }
    }
}

/// The changes that bring the tree under `dir` to `files`, and how many files are unchanged.
pub fn plan(dir: &Path, files: &[File]) -> Result<(Vec<Change>, usize)> {
    let mut on_disk = read_tree(dir)?;
    let mut changes = Vec::new();
    let mut unchanged = 0;
    for file in files {
        match on_disk.remove(&file.path) {
            None => changes.push(Change::Create { path: file.path.clone(), contents: file.contents.clone() }),
            Some(old) if old == file.contents => unchanged += 1,
            Some(old) => changes.push(Change::Update { path: file.path.clone(), old, contents: file.contents.clone() }),
        }
    }
    changes.extend(on_disk.into_iter().map(|(path, old)| Change::Remove { path, old }));
    Ok((changes, unchanged))
}

/// Applies `changes` under `dir`: atomic per file, orphans removed with their empty folders.
pub fn apply(dir: &Path, changes: &[Change]) -> Result<()> {
    for change in changes {
        let target = dir.join(change.path());
        match change {
            Change::Create { contents, .. } | Change::Update { contents, .. } => write_atomic(&target, contents)?,
            Change::Remove { .. } => {
                fs::remove_file(&target).with_context(|| format!("removing {}", target.display()))?;
                remove_empty_parents(dir, &target);
            }
        }
    }
    Ok(())
}

/// Renders `catalogue` and writes (or checks) `<root>/generated`. An invalid catalogue is an
/// error before anything is written.
pub fn run(root: &Path, catalogue: &Catalogue, mode: Mode) -> Result<ExitCode> {
    let files = render(catalogue).map_err(|e| anyhow::anyhow!("{e}nothing was written"))?;
    sync_files(&root.join(GENERATED_DIR), &files, mode)
}

/// Writes or checks `files` under `dir`, printing one line a change.
pub fn sync_files(dir: &Path, files: &[File], mode: Mode) -> Result<ExitCode> {
    let (changes, unchanged) = plan(dir, files)?;
    let shown = |p: &str| Path::new(GENERATED_DIR).join(p).display().to_string();
    match mode {
        Mode::Write => {
            apply(dir, &changes)?;
            for change in &changes {
                let verb = match change {
                    Change::Create { .. } => "Created",
                    Change::Update { .. } => "Updated",
                    Change::Remove { .. } => "Removed",
                };
                println!("{verb}: {}", shown(change.path()));
            }
            println!("Up-to-date: {unchanged} file{}", if unchanged == 1 { "" } else { "s" });
            Ok(ExitCode::SUCCESS)
        }
        Mode::Diff => {
            print!("{}", describe_drift(&changes));
            println!("{} file{} would change", changes.len(), if changes.len() == 1 { "" } else { "s" });
            Ok(ExitCode::SUCCESS)
        }
        Mode::Check => {
            if changes.is_empty() {
                println!("Up-to-date: {GENERATED_DIR}/ ({unchanged} files) is what the definitions render");
                return Ok(ExitCode::SUCCESS);
            }
            print!("{}", describe_drift(&changes));
            println!(
                "{} file{} in {GENERATED_DIR}/ differ from what the definitions render: run `cargo xtask generate`",
                changes.len(),
                if changes.len() == 1 { "" } else { "s" }
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A unified diff of every change, each named after its file and what is wrong with it. The
/// `-` side is what is on disk, the `+` side what the definitions render.
pub fn describe_drift(changes: &[Change]) -> String {
    let mut out = String::new();
    for change in changes {
        let path = Path::new(GENERATED_DIR).join(change.path()).display().to_string();
        let (what, old, new) = match change {
            Change::Create { contents, .. } => ("missing", "", contents.as_str()),
            Change::Update { old, contents, .. } => ("differs (hand edit or stale)", old.as_str(), contents.as_str()),
            Change::Remove { old, .. } => ("orphan: nothing renders it", old.as_str(), ""),
        };
        out.push_str(&format!("{path}: {what}\n"));
        let diff = similar::TextDiff::from_lines(old, new);
        out.push_str(
            &diff.unified_diff().context_radius(3).header(&format!("a/{path}"), &format!("b/{path}")).to_string(),
        );
    }
    out
}

/// Every file under `dir` (none when it does not exist), by path relative to it with `/`.
fn read_tree(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    if !dir.exists() {
        return Ok(files);
    }
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let contents = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                let relative = path.strip_prefix(dir).expect("under dir");
                let key = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                files.insert(key, String::from_utf8_lossy(&contents).into_owned());
            }
        }
    }
    Ok(files)
}

pub fn write_atomic(target: &Path, contents: &str) -> Result<()> {
    let folder = target.parent().expect("files live in a folder");
    fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    let name = target.file_name().expect("a file name").to_string_lossy();
    let temporary: PathBuf = folder.join(format!(".{name}.tmp-{}", std::process::id()));
    fs::write(&temporary, contents).with_context(|| format!("writing {}", temporary.display()))?;
    fs::rename(&temporary, target).with_context(|| format!("renaming {} to {}", temporary.display(), target.display()))
}

fn remove_empty_parents(root: &Path, file: &Path) {
    let mut folder = file.parent();
    while let Some(f) = folder.filter(|f| *f != root && f.starts_with(root)) {
        if fs::remove_dir(f).is_err() {
            break; // not empty
        }
        folder = f.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lomash_manifests::catalogue;

    /// `generated/` is what the definitions render, with no orphan: the same check as
    /// `cargo xtask check`.
    #[test]
    fn generated_tree_is_fresh() {
        let files = render(&catalogue()).expect("the catalogue is valid");
        let (changes, _) = plan(&crate::project_root().join(GENERATED_DIR), &files).unwrap();
        assert!(changes.is_empty(), "generated/ is stale: run `cargo xtask generate`\n{}", describe_drift(&changes));
    }
}

#[cfg(test)]
mod diff_tests {
    use super::*;
    use crate::testing::TempDir;
    use lomash_manifests::catalogue;
    use lomash_manifests::catalogue::Requirement;

    /// `diff` on a changed catalogue shows the change as a unified diff and writes nothing.
    #[test]
    fn diff_shows_a_changed_catalogue_and_writes_nothing() {
        let dir = TempDir::new("diff");
        let generated = dir.path().join(GENERATED_DIR);
        run(dir.path(), &catalogue(), Mode::Write).unwrap();
        let before = read_tree(&generated).unwrap();

        let mut changed = catalogue();
        let analytics = changed.services.iter_mut().find(|s| s.name == "analytics-service").unwrap();
        analytics.cpu = Requirement::new("500m", "3000m");
        let code = run(dir.path(), &changed, Mode::Diff).unwrap();
        assert_eq!(code, ExitCode::SUCCESS, "diff reports, it does not fail");
        assert_eq!(read_tree(&generated).unwrap(), before, "diff wrote to generated/");

        let (changes, _) = plan(&generated, &render(&changed).unwrap()).unwrap();
        let diff = describe_drift(&changes);
        let patch = "generated/infra/kubernetes/overlays/production/patches/analytics-service.yaml";
        for expected in [
            format!("--- a/{patch}"),
            format!("+++ b/{patch}"),
            "-            cpu: 2000m".to_owned(),
            "+            cpu: 3000m".to_owned(),
        ] {
            assert!(diff.contains(&expected), "{expected:?} not in the diff:\n{diff}");
        }
        // Only the files that mention the limit change: the patch and the README.
        let paths: Vec<&str> = changes.iter().map(Change::path).collect();
        assert_eq!(
            paths,
            [
                "infra/kubernetes/overlays/production/patches/README.md",
                "infra/kubernetes/overlays/production/patches/analytics-service.yaml"
            ]
        );
    }
}
