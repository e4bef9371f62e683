//! Which tags an environment has ever run, from the committed history of `images.yaml`: what
//! tells a hotfix from a release that is merely behind. A tag pinned straight into production
//! (`cargo xtask set-image <service> <sha>`) that staging never ran is a hotfix; a `promote`
//! over every service must not quietly put staging's older tag back over it (see `promote`).
//!
//! Git is asked, read only: the commits that touched the file, then the file as each of them
//! left it. A version that does not parse (the flat form of one environment the file once had)
//! tells nothing and is passed over. Where git cannot answer (no git, not a checkout, a file
//! never committed) the answer is why, and the caller decides.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use crate::release_path;
use manifest_core::Release;

/// Every tag `env` has run, by service, in any committed version of `images.yaml` under `root`;
/// or why that cannot be told.
pub fn tags_ever_run(root: &Path, env: &str) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    // `./` makes the paths relative to `root`, wherever the repository's top is.
    let path = format!("./{}", release_path());
    let commits = git(root, &["rev-list", "HEAD", "--", &path])?;
    let commits: Vec<&str> = commits.lines().collect();
    if commits.is_empty() {
        return Err(format!("{} has no committed history in {}", release_path(), root.display()));
    }
    let mut ran: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for commit in commits {
        // A commit that deleted the file has no version of it: nothing to read there.
        let Ok(text) = git(root, &["show", &format!("{commit}:{path}")]) else { continue };
        let Ok(release) = Release::parse(&text) else { continue };
        for (service, tag) in release.tags_for(env).into_iter().flatten() {
            ran.entry(service.clone()).or_default().insert(tag.clone());
        }
    }
    Ok(ran)
}

/// The standard output of `git -C root <args>`, or what went wrong, in git's words.
fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .map_err(|e| format!("git could not be run ({e})"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().next().unwrap_or("no message").trim_start_matches("fatal: ");
        return Err(format!("{} is not a git checkout with history git can read ({first})", root.display()));
    }
    String::from_utf8(output.stdout).map_err(|_| "git printed something that is not UTF-8".to_owned())
}
