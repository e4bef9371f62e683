//! Keeps `generated/` equal to what the definitions render. One [`Mode`] serves the CLI and the
//! tests alike: `Write` updates the tree, `Check` and `Diff` report drift without writing.
//!
//! Nothing is written unless every file rendered: the catalogue is validated and the whole tree
//! rendered in memory first. The report is returned as text ([`Report`]) so tests can read it;
//! [`run`] prints it.
//!
//! # All or nothing: a new tree, swapped in
//!
//! A write never modifies a file of the old tree. It builds the complete new tree beside it, in
//! `generated.new-<pid>` (same folder, so same file system): an unchanged file is hard-linked from
//! the old tree, so its mtime stays (when the link is refused, as for an immutable file, it is
//! copied and given the old mtime); every other file, and every folder, is written afresh with
//! mode 0644 (0755), whatever the umask. Then two renames swap the trees, `generated` →
//! `generated.old-<pid>` and `generated.new-<pid>` → `generated`, and the old tree is removed.
//! (One `renameat2(RENAME_EXCHANGE)` would swap them at once, but std does not offer it and xtask
//! takes no new dependency; the recovery below covers the moment between the two.) A run with
//! nothing to change writes nothing at all. Files written with the tree (`images.yaml`,
//! by `set-image`) are staged beside their target and renamed into place just before the swap:
//! they are the source the tree follows, so a kill between the two leaves a state that
//! `cargo xtask check` reports and `cargo xtask generate` completes.
//!
//! What a failure leaves, and what the error says:
//! - Up to the second rename, everything is undone (images.yaml rewritten with its old bytes, the
//!   old tree renamed back) and the error ends with "nothing was changed".
//! - If the old tree cannot be removed after the swap (an immutable file in it), every change is
//!   already in place: the error says so and names the leftover `generated.old-<pid>`. That is an
//!   error, not a warning, because the project now holds a folder nobody asked for; and the next
//!   writer refuses to start ("nothing was changed") until the leftover can be removed, so it is
//!   never forgotten.
//!
//! A kill at any point (nothing is fsynced, so a power cut is another matter) is made good by the
//! next writer, which first recovers, under the lock, deterministically:
//! - `generated/` missing and exactly one `generated.old-<pid>` folder: the kill came between the
//!   two renames. The old tree is renamed back (all-old; the run then writes as usual) and a line
//!   on stderr says so. Several such folders: an error naming them; nothing is guessed.
//! - Every other `generated.new-<digits>` and `generated.old-<digits>` is removed: a new tree
//!   never swapped in, or an old one already swapped out.
//!
//! `check` and `diff` do not recover (they write nothing); when `generated/` is missing and an old
//! tree is left, their report says so. The tests show each case by killing the real binary at
//! each point (`XTASK_FAULT`, see [`fault`]).
//!
//! # One at a time
//!
//! Every writer holds a [`WriteLock`]: an exclusive `flock` (`File::lock`) on `.generated.lock` in
//! the project root. A second run waits for the first (saying so on stderr), never fails because
//! of it; the kernel releases the lock when its holder dies, so a killed run leaves no stale lock.
//! `check` and `diff` take the shared lock when the file exists, so they never read a tree halfway
//! through a swap. A `generated` that is a symbolic link (or has one on its way from the project
//! root) is refused before anything is read or written: the writes would follow it out of the
//! project.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use manifest_core::layout::{self, GENERATED_DIR};
use manifest_core::{render, Catalogue, File};

/// The lock file, in the project root (ignored by git). Kept, never removed: removing a lock file
/// that another run is about to lock would let two runs in.
pub const LOCK_FILE: &str = ".generated.lock";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bring the tree up to date.
    Write,
    /// Exit 1, with a diff, when the tree is not up to date; write nothing.
    Check,
    /// Print what `Write` would change, as a diff, and exit 1 if it would change anything; write
    /// nothing.
    Diff,
}

/// What one file needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create {
        path: String,
        contents: String,
    },
    Update {
        path: String,
        old: String,
        contents: String,
    },
    Remove {
        path: String,
        old: String,
    },
    /// A folder with no file in it, at any depth: nothing renders into it. `generate` leaves it
    /// out of the new tree; `check` reports it, since it is not what the definitions render.
    RemoveFolder {
        path: String,
    },
}

impl Change {
    pub fn path(&self) -> &str {
        match self {
            Change::Create { path, .. }
            | Change::Update { path, .. }
            | Change::Remove { path, .. }
            | Change::RemoveFolder { path } => path,
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
    changes.extend(empty_folders(dir)?.into_iter().map(|path| Change::RemoveFolder { path }));
    Ok((changes, unchanged))
}

/// The folders under `dir` that hold no file at any depth, outermost only, by path relative to
/// `dir` with `/` (none when `dir` does not exist).
fn empty_folders(dir: &Path) -> Result<Vec<String>> {
    /// Whether `folder` holds a file (or a link) at any depth; pushes its file-less subfolders,
    /// outermost only, onto `empty`.
    fn holds_files(folder: &Path, relative: &str, empty: &mut Vec<String>) -> Result<bool> {
        let mut entries: Vec<fs::DirEntry> = fs::read_dir(folder)
            .with_context(|| format!("reading {}", folder.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("reading {}", folder.display()))?;
        entries.sort_by_key(fs::DirEntry::file_name);
        let mut files = false;
        let mut empty_here = Vec::new();
        for entry in entries {
            if !entry.file_type()?.is_dir() {
                files = true;
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if relative.is_empty() { name } else { format!("{relative}/{name}") };
            let mut inner = Vec::new();
            if holds_files(&entry.path(), &path, &mut inner)? {
                files = true;
                empty_here.extend(inner);
            } else {
                empty_here.push(path);
            }
        }
        empty.extend(empty_here);
        Ok(files)
    }
    let mut empty = Vec::new();
    if dir.is_dir() {
        holds_files(dir, "", &mut empty)?;
    }
    Ok(empty)
}

/// `<root>/generated`, or an error naming the link when it, or a folder on the way to it inside
/// the project, is a symbolic link (or it is not a folder). It need not exist.
pub fn tree_dir(root: &Path) -> Result<PathBuf> {
    let mut path = root.to_path_buf();
    for component in Path::new(GENERATED_DIR).components() {
        path.push(component);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&path).map(|t| t.display().to_string()).unwrap_or_default();
                bail!(
                    "{}: a symbolic link (to {target}), where {GENERATED_DIR}/ must be a folder of the project: \
                     writes would follow it out of the project; replace the link with a folder; nothing was changed",
                    path.display()
                );
            }
            Ok(meta) if !meta.is_dir() => {
                bail!("{}: not a folder, where {GENERATED_DIR}/ goes: remove it; nothing was changed", path.display())
            }
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => break,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
    Ok(root.join(GENERATED_DIR))
}

/// Held by the one process that may write `<root>/generated` and the files written with it: every
/// writer takes it first, through [`WriteLock::acquire`]. Dropping it (or dying) releases it.
pub struct WriteLock {
    root: PathBuf,
    _file: fs::File,
}

impl WriteLock {
    /// Waits for any other writer of `root` to finish, then repairs what a killed run left (see
    /// the module doc). Refuses a symbolic link at `generated`.
    pub fn acquire(root: &Path) -> Result<WriteLock> {
        let path = root.join(LOCK_FILE);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                eprintln!("waiting for another run to finish (it holds {})", path.display());
                file.lock().with_context(|| format!("locking {}", path.display()))?;
            }
            Err(fs::TryLockError::Error(e)) => return Err(e).with_context(|| format!("locking {}", path.display())),
        }
        // Under the lock: no other writer can be halfway through a swap now.
        let dir = tree_dir(root)?;
        recover(&dir)?;
        Ok(WriteLock { root: root.to_path_buf(), _file: file })
    }

    /// `<root>/generated`, checked by [`tree_dir`] when the lock was taken.
    pub fn generated(&self) -> PathBuf {
        self.root.join(GENERATED_DIR)
    }
}

/// The shared lock, for a reader: `None` when there is no lock file (no writer ever ran here, and
/// a reader creates nothing) or it cannot be locked; the reader then reads unlocked.
pub fn lock_for_reading(root: &Path) -> Option<fs::File> {
    let file = fs::File::open(root.join(LOCK_FILE)).ok()?;
    file.lock_shared().ok()?;
    Some(file)
}

/// A folder an earlier run left beside `generated/`: `generated.new-<pid>` or `generated.old-<pid>`.
struct Leftover {
    path: PathBuf,
    old: bool,
}

/// The leftovers beside `dir`, by name. Only `<name>.new-<digits>` and `<name>.old-<digits>`: a
/// user's `generated.old-backup` is not ours to remove.
fn leftovers(dir: &Path) -> Result<Vec<Leftover>> {
    let parent = dir.parent().expect("generated/ lives in the project root");
    let name = dir.file_name().expect("a folder name").to_string_lossy();
    let mut found = Vec::new();
    let entries = match fs::read_dir(parent) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e).with_context(|| format!("reading {}", parent.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", parent.display()))?;
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = entry_name.strip_prefix(&*name) else { continue };
        let (old, pid) = if let Some(pid) = rest.strip_prefix(".old-") {
            (true, pid)
        } else if let Some(pid) = rest.strip_prefix(".new-") {
            (false, pid)
        } else {
            continue;
        };
        if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
            found.push(Leftover { path: entry.path(), old });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Repairs what an earlier run left beside `dir`; see the module doc. Runs under the write lock.
fn recover(dir: &Path) -> Result<()> {
    let mut leftovers = leftovers(dir)?;
    if fs::symlink_metadata(dir).is_err_and(|e| e.kind() == ErrorKind::NotFound) {
        let old_trees: Vec<usize> = (0..leftovers.len())
            .filter(|&i| leftovers[i].old && fs::symlink_metadata(&leftovers[i].path).is_ok_and(|m| m.is_dir()))
            .collect();
        match old_trees.as_slice() {
            [] => {}
            [i] => {
                let old = leftovers.remove(*i).path;
                fs::rename(&old, dir).with_context(|| {
                    format!("restoring {} to {} after an interrupted run", old.display(), dir.display())
                })?;
                eprintln!(
                    "restored {} from {}, which an interrupted run had swapped out",
                    dir.display(),
                    old.display()
                );
            }
            several => {
                let names: Vec<String> = several.iter().map(|&i| leftovers[i].path.display().to_string()).collect();
                bail!(
                    "{} is missing and several earlier trees are left ({}): rename the right one to {GENERATED_DIR}; \
                     nothing was changed",
                    dir.display(),
                    names.join(", ")
                );
            }
        }
    }
    for leftover in &leftovers {
        remove_tree(&leftover.path).with_context(|| {
            format!(
                "{} was left by an earlier run and cannot be removed: remove it by hand \
                 (`chattr -R -i` first if a file in it is immutable); nothing was changed",
                leftover.path.display()
            )
        })?;
    }
    Ok(())
}

/// Removes `path` and, if it is a folder, everything in it, never following a link; the error
/// names the entry that could not be removed (which `fs::remove_dir_all` does not).
fn remove_tree(path: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if meta.is_dir() {
        for entry in fs::read_dir(path).with_context(|| format!("reading {}", path.display()))? {
            remove_tree(&entry.with_context(|| format!("reading {}", path.display()))?.path())?;
        }
        fs::remove_dir(path).with_context(|| format!("removing {}", path.display()))
    } else {
        fs::remove_file(path).with_context(|| format!("removing {}", path.display()))
    }
}

/// Test hook: with `XTASK_FAULT=<point>` in the environment, the process aborts at that point of
/// a write, as a kill would (no unwinding, no clean-up), so the tests can show what the next run
/// makes of it. The points: `before-swap`, `after-first-rename`, `after-second-rename`.
fn fault(point: &str) {
    if std::env::var_os("XTASK_FAULT").is_some_and(|v| v == point) {
        std::process::abort();
    }
}

/// `<dir>.<kind>-<pid>`, beside `dir`.
fn sibling(dir: &Path, kind: &str, pid: u32) -> PathBuf {
    let name = dir.file_name().expect("a folder name").to_string_lossy();
    dir.with_file_name(format!("{name}.{kind}-{pid}"))
}

/// Sets the normal mode (0644 for a file, 0755 for a folder) whatever the umask.
fn normal_mode(file: &fs::File, folder: bool) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(if folder { 0o755 } else { 0o644 }))
    }
    #[cfg(not(unix))]
    {
        let _ = (file, folder);
        Ok(())
    }
}

/// Writes a new file (it must not exist) with mode 0644 and returns it, still open.
fn write_new(path: &Path, contents: &[u8]) -> Result<fs::File> {
    let mut file = fs::File::create_new(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents).with_context(|| format!("writing {}", path.display()))?;
    normal_mode(&file, false).with_context(|| format!("setting the mode of {}", path.display()))?;
    Ok(file)
}

/// Creates `folder` (its parent exists) with mode 0755 unless it exists.
fn make_folder(folder: &Path) -> Result<()> {
    match fs::create_dir(folder) {
        Ok(()) => {
            let handle = fs::File::open(folder).with_context(|| format!("opening {}", folder.display()))?;
            normal_mode(&handle, true).with_context(|| format!("setting the mode of {}", folder.display()))
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists && folder.is_dir() => Ok(()),
        Err(e) => Err(e).with_context(|| format!("creating {}", folder.display())),
    }
}

/// Builds the whole of `files` in `new` (which must not exist): a file not in `changed` is
/// hard-linked from `old` (its bytes there are the rendered ones), or, if the link is refused,
/// copied with its mtime; the others are written.
fn build(old: &Path, new: &Path, files: &[File], changed: &BTreeSet<&str>) -> Result<()> {
    make_folder(new)?;
    for file in files {
        let target = new.join(&file.path);
        let relative_folder = Path::new(&file.path).parent().unwrap_or(Path::new(""));
        let mut folder = new.to_path_buf();
        for component in relative_folder.components() {
            folder.push(component);
            make_folder(&folder)?;
        }
        if changed.contains(file.path.as_str()) {
            write_new(&target, file.contents.as_bytes())?;
            continue;
        }
        let source = old.join(&file.path);
        // A link keeps the file as it is, mtime included. It is refused for an immutable or
        // append-only file (EPERM): the copy then stands in, with the same bytes and mtime.
        if fs::hard_link(&source, &target).is_err() {
            let modified = fs::symlink_metadata(&source)
                .and_then(|m| m.modified())
                .with_context(|| format!("reading {}", source.display()))?;
            write_new(&target, file.contents.as_bytes())?
                .set_modified(modified)
                .with_context(|| format!("setting the mtime of {}", target.display()))?;
        }
    }
    Ok(())
}

/// A file written with the tree (`images.yaml`): staged beside its target, then renamed over it.
struct Companion<'a> {
    target: &'a Path,
    contents: &'a str,
    /// The target's bytes before, to put back if the swap fails; `None` when it did not exist.
    previous: Option<Vec<u8>>,
    staged: PathBuf,
}

impl Companion<'_> {
    /// `.<name>.tmp-<pid>` beside `target`, where a rename over the target is atomic.
    fn staged_path(target: &Path, pid: u32) -> PathBuf {
        let name = target.file_name().expect("a file name").to_string_lossy();
        target.with_file_name(format!(".{name}.tmp-{pid}"))
    }
}

/// Stages the files of `also` that differ from what is on disk, and renames them into place. On
/// failure, puts back what was renamed and removes what was staged.
fn replace_companions<'a>(also: &'a [(PathBuf, String)], pid: u32) -> Result<Vec<Companion<'a>>> {
    let mut companions = Vec::new();
    for (target, contents) in also {
        let previous = match fs::read(target) {
            Ok(bytes) if bytes == contents.as_bytes() => continue,
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", target.display())),
        };
        companions.push(Companion { target, contents, previous, staged: Companion::staged_path(target, pid) });
    }
    let mut result = Ok(());
    for companion in &companions {
        // A staged file a killed run left under this name would make create_new fail.
        let _ = fs::remove_file(&companion.staged);
        result = write_new(&companion.staged, companion.contents.as_bytes()).map(drop);
        if result.is_err() {
            break;
        }
    }
    let mut renamed = 0;
    if result.is_ok() {
        for companion in &companions {
            result = fs::rename(&companion.staged, companion.target)
                .with_context(|| format!("renaming {} to {}", companion.staged.display(), companion.target.display()));
            if result.is_err() {
                break;
            }
            renamed += 1;
        }
    }
    if let Err(e) = result {
        for companion in &companions[renamed..] {
            let _ = fs::remove_file(&companion.staged);
        }
        return Err(match restore_companions(&companions[..renamed], pid) {
            Ok(()) => e,
            Err(undo) => e.context(format!("and then putting back the files renamed so far failed: {undo:#}")),
        });
    }
    Ok(companions)
}

/// Puts back the bytes each companion had before (or removes it if it did not exist).
fn restore_companions(companions: &[Companion], pid: u32) -> Result<()> {
    restore_previous(companions.iter().map(|c| (c.target, c.previous.as_deref())), pid)
}

/// Puts back each `(target, bytes before)`: the bytes, staged and renamed over the target, or,
/// for `None`, the target removed.
fn restore_previous<'a>(previous: impl Iterator<Item = (&'a Path, Option<&'a [u8]>)>, pid: u32) -> Result<()> {
    for (target, bytes) in previous {
        match bytes {
            None => fs::remove_file(target).with_context(|| format!("removing {}", target.display()))?,
            Some(bytes) => {
                let staged = Companion::staged_path(target, pid);
                let _ = fs::remove_file(&staged);
                write_new(&staged, bytes)?;
                fs::rename(&staged, target)
                    .with_context(|| format!("renaming {} to {}", staged.display(), target.display()))?;
            }
        }
    }
    Ok(())
}

/// Writes `files` (outside `generated/`) all or nothing, as the files written with the tree are:
/// each staged beside its target and renamed over it, and on a failure those renamed so far put
/// back. Returns each file's bytes before (`None`: it did not exist), for [`restore_files`].
/// A file that already holds its contents is left alone and not returned.
pub fn replace_files(_lock: &WriteLock, files: &[(PathBuf, String)]) -> Result<Vec<(PathBuf, Option<Vec<u8>>)>> {
    let companions = replace_companions(files, std::process::id())?;
    Ok(companions.into_iter().map(|c| (c.target.to_path_buf(), c.previous)).collect())
}

/// Puts back what [`replace_files`] returned.
pub fn restore_files(_lock: &WriteLock, previous: &[(PathBuf, Option<Vec<u8>>)]) -> Result<()> {
    restore_previous(previous.iter().map(|(p, b)| (p.as_path(), b.as_deref())), std::process::id())
}

/// Brings the tree to `files` (which differ from it by `changes`) and writes `also` (files outside
/// the tree, such as the release file) with it: see the module doc for the order and what a
/// failure leaves.
pub fn apply(lock: &WriteLock, files: &[File], changes: &[Change], also: &[(PathBuf, String)]) -> Result<()> {
    let dir = lock.generated();
    let pid = std::process::id();
    let (new, old) = (sibling(&dir, "new", pid), sibling(&dir, "old", pid));
    if !changes.is_empty() {
        let changed: BTreeSet<&str> = changes.iter().map(Change::path).collect();
        if let Err(e) = build(&dir, &new, files, &changed) {
            let _ = remove_tree(&new);
            return Err(e.context("nothing was changed"));
        }
    }
    let companions = match replace_companions(also, pid) {
        Ok(companions) => companions,
        Err(e) => {
            let _ = remove_tree(&new);
            return Err(e.context("nothing was changed"));
        }
    };
    if changes.is_empty() {
        return Ok(());
    }
    // Undoes the companions after a failed swap; the error says whether that worked.
    let undo = |e: anyhow::Error| -> anyhow::Error {
        let _ = remove_tree(&new);
        match restore_companions(&companions, pid) {
            Ok(()) => e.context("nothing was changed"),
            Err(undo) => e.context(format!(
                "{GENERATED_DIR}/ is as it was, but putting back the files written with it failed: {undo:#}"
            )),
        }
    };

    fault("before-swap");
    let had_old = fs::symlink_metadata(&dir).is_ok();
    if had_old {
        if let Err(e) = fs::rename(&dir, &old) {
            return Err(undo(anyhow!(e).context(format!("renaming {} to {}", dir.display(), old.display()))));
        }
    }
    fault("after-first-rename");
    if let Err(e) = fs::rename(&new, &dir) {
        let e = anyhow!(e).context(format!("renaming {} to {}", new.display(), dir.display()));
        if had_old {
            if let Err(back) = fs::rename(&old, &dir) {
                return Err(e.context(format!(
                    "and renaming the previous tree back failed ({back}): {} is missing, its previous \
                     contents are in {}; the next run restores them",
                    dir.display(),
                    old.display()
                )));
            }
        }
        return Err(undo(e));
    }
    fault("after-second-rename");
    if had_old {
        remove_tree(&old).with_context(|| {
            format!(
                "every change is in place in {}, but the previous tree, left as {}, could not be removed \
                 (an immutable file? see `lsattr -R`): the next run removes it, and writes nothing until it can",
                dir.display(),
                old.display()
            )
        })?;
    }
    Ok(())
}

/// What one run found (and, in `Write` mode, did): the text the CLI prints, and whether the run
/// succeeded (`Check` and `Diff` fail on drift).
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
    let files = render_all(catalogue)?;
    if mode == Mode::Write {
        return write_report(&WriteLock::acquire(root)?, &files, &[]);
    }
    let dir = tree_dir(root)?;
    let _shared = lock_for_reading(root);
    drift_report(&dir, &files, mode)
}

/// `cargo xtask diff [--env ENV]`: what `generate` would change, printed as a diff; exit 1 when
/// it would change anything. With an environment, only what that environment deploys from: the
/// base (every overlay builds on it), its own overlay, and anything outside the overlays; the
/// other environments' overlays are left out of the diff and of the exit code. Without one, every
/// file, as `generate` writes every environment.
pub fn diff(root: &Path, catalogue: &Catalogue, env: Option<&str>) -> Result<ExitCode> {
    let report = diff_report(root, catalogue, env)?;
    print!("{}", report.text);
    Ok(report.exit_code())
}

/// [`diff`] without the printing.
pub fn diff_report(root: &Path, catalogue: &Catalogue, env: Option<&str>) -> Result<Report> {
    let scope = match env {
        Some(name) => Some(crate::environment(&catalogue.platform, name)?.name.clone()),
        None => None,
    };
    let files = render_all(catalogue)?;
    let dir = tree_dir(root)?;
    let _shared = lock_for_reading(root);
    drift_report_in(&dir, &files, Mode::Diff, &|path| in_scope(path, scope.as_deref()))
}

/// Whether `path` (relative to `generated/`) is part of what `env` deploys: anything but another
/// environment's overlay. Every path is when no environment is named.
pub fn in_scope(path: &str, env: Option<&str>) -> bool {
    let Some(env) = env else { return true };
    match path.strip_prefix(layout::OVERLAYS_DIR).and_then(|p| p.strip_prefix('/')) {
        Some(in_overlays) => in_overlays.strip_prefix(env).is_some_and(|p| p.starts_with('/')),
        None => true,
    }
}

/// Every file, or the validation errors and nothing written.
fn render_all(catalogue: &Catalogue) -> Result<Vec<File>> {
    render(catalogue).map_err(|e| anyhow!("{e}nothing was written"))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Writes `files` as the tree, and `also` (files outside the tree) in the same step: the report
/// has one line a change.
pub fn write_report(lock: &WriteLock, files: &[File], also: &[(PathBuf, String)]) -> Result<Report> {
    let (changes, unchanged) = plan(&lock.generated(), files)?;
    apply(lock, files, &changes, also)?;
    let mut text = String::new();
    for change in &changes {
        let verb = match change {
            Change::Create { .. } => "Created",
            Change::Update { .. } => "Updated",
            Change::Remove { .. } | Change::RemoveFolder { .. } => "Removed",
        };
        text.push_str(&format!("{verb}: {}\n", Path::new(GENERATED_DIR).join(change.path()).display()));
    }
    text.push_str(&format!("Up-to-date: {unchanged} file{}\n", plural(unchanged)));
    Ok(Report { ok: true, text })
}

/// Checks `files` against the tree under `dir` (`Check` or `Diff`): the report has a diff of
/// every change, and fails when there is one.
pub fn drift_report(dir: &Path, files: &[File], mode: Mode) -> Result<Report> {
    drift_report_in(dir, files, mode, &|_| true)
}

/// [`drift_report`] of the files whose path `keep` accepts: the others, on disk or rendered, are
/// neither shown nor counted.
fn drift_report_in(dir: &Path, files: &[File], mode: Mode, keep: &dyn Fn(&str) -> bool) -> Result<Report> {
    let (mut changes, unchanged) = plan(dir, files)?;
    changes.retain(|c| keep(c.path()));
    let mut text = String::new();
    if !changes.is_empty() {
        text.push_str(&describe_drift(&changes));
    }
    match mode {
        Mode::Write => unreachable!("a drift report writes nothing"),
        Mode::Diff => text.push_str(&format!("{} would change\n", counted(&changes))),
        Mode::Check if changes.is_empty() => {
            text.push_str(&format!(
                "Up-to-date: {GENERATED_DIR}/ ({unchanged} files) is what the definitions render\n"
            ));
        }
        Mode::Check => {
            text.push_str(&format!(
                "{} in {GENERATED_DIR}/ differ from what the definitions render: run `cargo xtask generate`\n",
                counted(&changes)
            ));
        }
    }
    if fs::symlink_metadata(dir).is_err() {
        let old: Vec<String> =
            leftovers(dir)?.into_iter().filter(|l| l.old).map(|l| l.path.display().to_string()).collect();
        if !old.is_empty() {
            text.push_str(&format!(
                "{GENERATED_DIR}/ is missing: a run was interrupted during its swap and left {}; \
                 `cargo xtask generate` restores it\n",
                old.join(", ")
            ));
        }
    }
    Ok(Report { ok: changes.is_empty(), text })
}

/// How many files the changes touch, and empty folders beside them: `3 files`,
/// `1 empty folder`, `2 files and 1 empty folder`.
fn counted(changes: &[Change]) -> String {
    let folders = changes.iter().filter(|c| matches!(c, Change::RemoveFolder { .. })).count();
    let files = changes.len() - folders;
    let folders_text = format!("{folders} empty folder{}", plural(folders));
    match (files, folders) {
        (_, 0) => format!("{files} file{}", plural(files)),
        (0, _) => folders_text,
        _ => format!("{files} file{} and {folders_text}", plural(files)),
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
            Change::RemoveFolder { .. } => {
                out.push_str(&format!("{path}/: empty folder: nothing renders into it\n"));
                continue;
            }
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

#[cfg(test)]
#[path = "sync_tests.rs"]
mod behaviour;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue;

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
    use crate::catalogue;
    use crate::testing::TempDir;
    use manifest_core::spec::Resources;

    /// `diff` on a changed catalogue shows the change as a unified diff and writes nothing.
    #[test]
    fn diff_shows_a_changed_catalogue_and_writes_nothing() {
        let dir = TempDir::new("diff");
        let generated = dir.path().join(GENERATED_DIR);
        run(dir.path(), &catalogue(), Mode::Write).unwrap();
        let before = read_tree(&generated).unwrap();

        let mut changed = catalogue();
        let analytics = changed.services.iter_mut().find(|s| s.name == "analytics-service").unwrap();
        // Another limit than the sheet's, whatever it is now.
        let (request, old) = (analytics.cpu.request.clone().unwrap(), analytics.cpu.limit.clone().unwrap());
        let new = if old == "7000m" { "8000m" } else { "7000m" };
        analytics.cpu = Resources::new(&request, new);
        let code = run(dir.path(), &changed, Mode::Diff).unwrap();
        assert_eq!(code, ExitCode::FAILURE, "diff exits 1 when there are differences, like `git diff --exit-code`");
        assert_eq!(read_tree(&generated).unwrap(), before, "diff wrote to generated/");
        assert_eq!(run(dir.path(), &catalogue(), Mode::Diff).unwrap(), ExitCode::SUCCESS, "and 0 when none");

        let (changes, _) = plan(&generated, &render(&changed).unwrap()).unwrap();
        let diff = describe_drift(&changes);
        let patch = "generated/infra/kubernetes/overlays/production/patches/analytics-service.yaml";
        for expected in [
            format!("--- a/{patch}"),
            format!("+++ b/{patch}"),
            format!("-            cpu: {old}"),
            format!("+            cpu: {new}"),
        ] {
            assert!(diff.contains(&expected), "{expected:?} not in the diff:\n{diff}");
        }
        // Only the files that mention the limit change: each environment's patch, README and
        // resources (the migration Job runs with the service's resources).
        let paths: Vec<&str> = changes.iter().map(Change::path).collect();
        let mut want: Vec<String> = changed
            .platform
            .environments
            .iter()
            .flat_map(|e| {
                [
                    layout::readme(&e.name),
                    layout::patch_file(&e.name, "analytics-service"),
                    layout::resource_file(&e.name, "analytics-service"),
                ]
            })
            .collect();
        want.sort();
        assert_eq!(paths, want);
    }
}

#[cfg(test)]
mod diff_env_tests {
    use super::*;
    use crate::catalogue;
    use crate::testing::TempDir;

    /// Which files `diff --env` looks at: the base, the environment's own overlay, anything
    /// outside the overlays; never another environment's overlay, even one whose name starts
    /// with this one's.
    #[test]
    fn an_environment_sees_the_base_and_its_own_overlay() {
        let overlay = |env: &str, file: &str| format!("{}/{file}", layout::overlay_dir(env));
        let cases = [
            (layout::base_kustomization(), Some("production"), true),
            (overlay("production", "kustomization.yaml"), Some("production"), true),
            (overlay("production", "patches/auth-service.yaml"), Some("production"), true),
            (overlay("staging", "kustomization.yaml"), Some("production"), false),
            (overlay("production-eu", "kustomization.yaml"), Some("production"), false),
            (overlay("production", "kustomization.yaml"), Some("staging"), false),
            ("README.md".to_owned(), Some("staging"), true),
            (overlay("staging", "kustomization.yaml"), None, true),
        ];
        for (path, env, expected) in cases {
            assert_eq!(in_scope(&path, env), expected, "{path} in {env:?}");
        }
    }

    /// On a tree with two environments, a hand edit in each overlay: `diff --env` shows and counts
    /// only its own (exit 1 for each), plain `diff` both; an unknown environment is an error.
    #[test]
    fn diff_with_an_environment_shows_only_its_files() {
        let mut two = catalogue();
        let mut second = two.platform.environments[0].clone();
        second.name = "rehearsal".into();
        second.namespace = "lomash-wood-rehearsal".into();
        let tags = two.release.tags_for(&two.platform.environments[0].name).unwrap().clone();
        two.release.environments.insert(second.name.clone(), tags);
        two.platform.environments.push(second);

        let dir = TempDir::new("diff-env");
        run_report(dir.path(), &two, Mode::Write).unwrap();
        let names: Vec<String> = two.platform.environments.iter().map(|e| e.name.clone()).collect();
        assert!(names.len() >= 2, "two environments at least");
        let edited: Vec<String> = names.iter().map(|env| layout::kustomization(env)).collect();
        for path in &edited {
            fs::write(dir.path().join(GENERATED_DIR).join(path), "hand edit\n").unwrap();
        }
        for (env, own) in names.iter().zip(&edited) {
            let report = diff_report(dir.path(), &two, Some(env)).unwrap();
            assert!(!report.ok, "{env}: diff exits 1");
            assert!(report.text.ends_with("1 file would change\n"), "{env}: {}", report.text);
            assert!(report.text.contains(&format!("+++ b/{GENERATED_DIR}/{own}")), "{env}: {}", report.text);
        }
        let all = diff_report(dir.path(), &two, None).unwrap();
        assert!(all.text.ends_with(&format!("{} files would change\n", names.len())), "{}", all.text);

        // Not a DNS label, so no environment can take the name (`qa` once could).
        let error = diff_report(dir.path(), &two, Some("no_such_env")).unwrap_err().to_string();
        assert_eq!(error, format!("no_such_env: environment: not one of the platform's (known: {})", names.join(", ")));
    }
}
