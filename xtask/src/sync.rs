//! Keeps `generated/` equal to what the definitions render. One [`Mode`] serves the CLI and the
//! tests alike: `Write` updates the tree, `Check` reports drift without writing.
//!
//! Nothing is written unless every file rendered: the catalogue is validated and the whole tree
//! rendered in memory first. Then every new content is staged in a temporary file beside its
//! target; only when all are staged are they renamed over their targets (each rename atomic), and
//! a failure while staging removes what was staged, leaving the tree as it was. An unchanged file
//! is not touched; nothing outside the generated folder is (symbolic links are not followed).
//!
//! The report is returned as text ([`Report`]) so tests can read it; [`run`] prints it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use lomash_manifests::layout::GENERATED_DIR;
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

/// Applies `changes` under `dir`, and writes `also` (files outside the tree, such as the release
/// file) in the same step. Every new content is staged first, then renamed into place (each rename
/// atomic), then orphans are removed with the folders they leave empty. If staging fails, the
/// staged files and the folders made for them are removed again and nothing has changed.
///
/// An orphan that stands where a folder must go (a file, or a link that would lead the writes
/// out of the tree) is removed before staging: it is going anyway, and staging through it would
/// fail, or write outside `dir`.
pub fn apply(dir: &Path, changes: &[Change], also: &[(PathBuf, String)]) -> Result<()> {
    let written: Vec<(PathBuf, &str)> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Create { contents, .. } | Change::Update { contents, .. } => {
                Some((dir.join(c.path()), contents.as_str()))
            }
            Change::Remove { .. } => None,
        })
        .chain(also.iter().map(|(path, contents)| (path.clone(), contents.as_str())))
        .collect();
    let in_the_way: Vec<PathBuf> = changes
        .iter()
        .filter(|c| matches!(c, Change::Remove { .. }))
        .map(|c| dir.join(c.path()))
        .filter(|orphan| written.iter().any(|(target, _)| target.starts_with(orphan)))
        .collect();
    for orphan in &in_the_way {
        fs::remove_file(orphan).with_context(|| format!("removing {}", orphan.display()))?;
    }
    let mut staging = Staging::default();
    for (target, contents) in &written {
        if let Err(e) = staging.stage(target, contents) {
            staging.roll_back();
            return Err(e.context("nothing was changed"));
        }
    }
    staging.commit()?;
    for change in changes {
        if let Change::Remove { .. } = change {
            let target = dir.join(change.path());
            if !in_the_way.contains(&target) {
                fs::remove_file(&target).with_context(|| format!("removing {}", target.display()))?;
                remove_empty_parents(dir, &target);
            }
        }
    }
    Ok(())
}

/// What one run found (and, in `Write` mode, did): the text the CLI prints, and whether the run
/// succeeded (`Check` fails on drift).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub ok: bool,
    pub text: String,
}

impl Report {
    pub fn exit_code(&self) -> ExitCode {
        if self.ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// Renders `catalogue` and writes (or checks) `<root>/generated`, printing the report. An invalid
/// catalogue is an error before anything is written.
pub fn run(root: &Path, catalogue: &Catalogue, mode: Mode) -> Result<ExitCode> {
    let report = run_report(root, catalogue, mode)?;
    print!("{}", report.text);
    Ok(report.exit_code())
}

/// [`run`] without the printing.
pub fn run_report(root: &Path, catalogue: &Catalogue, mode: Mode) -> Result<Report> {
    sync_report(&root.join(GENERATED_DIR), &render_all(catalogue)?, mode)
}

/// Every file, or the validation errors and nothing written.
fn render_all(catalogue: &Catalogue) -> Result<Vec<File>> {
    render(catalogue).map_err(|e| anyhow::anyhow!("{e}nothing was written"))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Writes `files` under `dir`, and `also` (files outside the tree) in the same staged step: the
/// report has one line a change.
pub fn write_report(dir: &Path, files: &[File], also: &[(PathBuf, String)]) -> Result<Report> {
    let (changes, unchanged) = plan(dir, files)?;
    apply(dir, &changes, also)?;
    let mut text = String::new();
    for change in &changes {
        let verb = match change {
            Change::Create { .. } => "Created",
            Change::Update { .. } => "Updated",
            Change::Remove { .. } => "Removed",
        };
        text.push_str(&format!("{verb}: {}\n", Path::new(GENERATED_DIR).join(change.path()).display()));
    }
    text.push_str(&format!("Up-to-date: {unchanged} file{}\n", plural(unchanged)));
    Ok(Report { ok: true, text })
}

/// Writes or checks `files` under `dir`: the report has one line a change (or a diff).
pub fn sync_report(dir: &Path, files: &[File], mode: Mode) -> Result<Report> {
    if mode == Mode::Write {
        return write_report(dir, files, &[]);
    }
    let (changes, unchanged) = plan(dir, files)?;
    let mut text = String::new();
    let ok = match mode {
        Mode::Write => unreachable!("handled above"),
        Mode::Diff => {
            text.push_str(&describe_drift(&changes));
            text.push_str(&format!("{} file{} would change\n", changes.len(), plural(changes.len())));
            true
        }
        Mode::Check if changes.is_empty() => {
            text.push_str(&format!(
                "Up-to-date: {GENERATED_DIR}/ ({unchanged} files) is what the definitions render\n"
            ));
            true
        }
        Mode::Check => {
            text.push_str(&describe_drift(&changes));
            text.push_str(&format!(
                "{} file{} in {GENERATED_DIR}/ differ from what the definitions render: run `cargo xtask generate`\n",
                changes.len(),
                plural(changes.len())
            ));
            false
        }
    };
    Ok(Report { ok, text })
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
            let entry = entry?;
            let path = entry.path();
            // The entry's own type: a symbolic link is never followed out of the tree. It is
            // listed as a file, so it is replaced (by a rename) or removed, never written through.
            let kind = entry.file_type()?;
            let contents = if kind.is_dir() {
                pending.push(path);
                continue;
            } else if kind.is_symlink() {
                format!("(a symbolic link to {})\n", fs::read_link(&path)?.display())
            } else {
                let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                String::from_utf8_lossy(&bytes).into_owned()
            };
            let relative = path.strip_prefix(dir).expect("under dir");
            let key = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            files.insert(key, contents);
        }
    }
    Ok(files)
}

/// Temporary files written beside their targets, and the folders made for them, so that a
/// failure part-way can take them all back.
#[derive(Default)]
struct Staging {
    /// (temporary, target), in the order staged.
    files: Vec<(PathBuf, PathBuf)>,
    /// Folders that did not exist before, outermost first.
    folders: Vec<PathBuf>,
}

impl Staging {
    fn stage(&mut self, target: &Path, contents: &str) -> Result<()> {
        let folder = target.parent().expect("files live in a folder");
        let missing: Vec<PathBuf> =
            folder.ancestors().take_while(|f| !f.exists()).map(Path::to_path_buf).collect::<Vec<_>>();
        self.folders.extend(missing.into_iter().rev());
        fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
        let name = target.file_name().expect("a file name").to_string_lossy();
        let temporary: PathBuf = folder.join(format!(".{name}.tmp-{}", std::process::id()));
        self.files.push((temporary.clone(), target.to_path_buf()));
        fs::write(&temporary, contents).with_context(|| format!("writing {}", temporary.display()))
    }

    /// Renames every staged file over its target (each rename is atomic). Should a rename fail,
    /// the temporary files not yet renamed are removed.
    fn commit(&self) -> Result<()> {
        for (i, (temporary, target)) in self.files.iter().enumerate() {
            if let Err(e) = fs::rename(temporary, target) {
                for (left, _) in &self.files[i..] {
                    let _ = fs::remove_file(left);
                }
                return Err(e).with_context(|| format!("renaming {} to {}", temporary.display(), target.display()));
            }
        }
        Ok(())
    }

    /// Best effort: this runs after an error, which is the one reported.
    fn roll_back(&self) {
        for (temporary, _) in &self.files {
            let _ = fs::remove_file(temporary);
        }
        for folder in self.folders.iter().rev() {
            let _ = fs::remove_dir(folder);
        }
    }
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
#[path = "sync_tests.rs"]
mod behaviour;

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
    use lomash_manifests::spec::Resources;

    /// `diff` on a changed catalogue shows the change as a unified diff and writes nothing.
    #[test]
    fn diff_shows_a_changed_catalogue_and_writes_nothing() {
        let dir = TempDir::new("diff");
        let generated = dir.path().join(GENERATED_DIR);
        run(dir.path(), &catalogue(), Mode::Write).unwrap();
        let before = read_tree(&generated).unwrap();

        let mut changed = catalogue();
        let analytics = changed.services.iter_mut().find(|s| s.name == "analytics-service").unwrap();
        analytics.cpu = Resources::new("500m", "3000m");
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
