//! `cargo xtask promote <from> <to> [<service>…]`: moves a release from one environment to the
//! next (staging to production) by copying tags, so what production runs is exactly what was
//! rehearsed, never retyped. The tags of the named services (every service of the catalogue when
//! none is named) in `from` become theirs in `to`; each change is printed
//! (`auth-service: 1.0.0 → 1.2.3`).
//!
//! Like `set-image`, everything is checked before anything is written, and nothing changes on any
//! error: an unknown environment or service, `from` equal to `to`, a service without a tag in
//! `from`, a catalogue that does not validate with the result (a bad tag). Then `images.yaml` and
//! `generated/` are written under the write lock, all or nothing (see `sync`), only the promoted
//! tag lines of `to`'s mapping changing in the file.
//!
//! When every named service already runs `from`'s tag in `to`, nothing is written and the command
//! says "nothing to promote" and exits 0: a pipeline that promotes after every staging deploy must
//! not fail on a deploy that changed no tag.
//!
//! A hotfix survives: without service names, a service whose tag in `to` is one `from` never ran
//! (by the committed history of `images.yaml`, see `hotfix`) is left as it is and named; naming
//! the service moves it like any other. Outside a git checkout, where that cannot be told, promote
//! without service names refuses.
//!
//! The work is [`promote`], which takes the catalogue's definitions as an argument, so tests can
//! give it a platform with more environments than the committed one; the binary passes
//! `catalogue()`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};
use manifest_core::{render, Catalogue, Release};

use crate::release::read_release;
use crate::{environment, sync};

/// One service's tag moving: `to`'s tag before, and the tag it gets from `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagChange {
    pub service: String,
    /// The tag `to` ran; `None` when it had none.
    pub before: Option<String>,
    pub after: String,
}

impl std::fmt::Display for TagChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} → {}", self.service, self.before.as_deref().unwrap_or("(none)"), self.after)
    }
}

/// A tag of `to` that `from` never ran, left in place by a promote of every service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hotfix {
    pub service: String,
    /// The tag `to` runs and keeps.
    pub tag: String,
}

/// What a promotion did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The tags changed, in the catalogue's order of services, the hotfixes left alone, and the
    /// report of the files written.
    Promoted { changes: Vec<TagChange>, held: Vec<Hotfix>, report: String },
    /// Every named service already runs `from`'s tag in `to`, or is a hotfix left alone: nothing
    /// was written.
    NothingToPromote { held: Vec<Hotfix> },
}

/// `cargo xtask promote`: [`promote`] with the committed definitions, printing what it did.
pub fn run(root: &Path, definitions: &Catalogue, from: &str, to: &str, services: &[&str]) -> Result<ExitCode> {
    match promote(root, definitions, from, to, services)? {
        Outcome::Promoted { changes, held, report } => {
            for change in &changes {
                println!("{change}");
            }
            print!("{}", held_lines(&held, from, to));
            print!("{report}");
        }
        Outcome::NothingToPromote { held } => {
            print!("{}", held_lines(&held, from, to));
            println!("{}", nothing_to_promote(from, to));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line for each hotfix left alone, with the command that moves it anyway.
pub fn held_lines(held: &[Hotfix], from: &str, to: &str) -> String {
    held.iter()
        .map(|h| {
            format!(
                "{0}: {1} kept: a hotfix ({from} never ran {1}); `cargo xtask promote {from} {to} {0}` moves it\n",
                h.service, h.tag
            )
        })
        .collect()
}

/// The message of [`Outcome::NothingToPromote`].
pub fn nothing_to_promote(from: &str, to: &str) -> String {
    format!("nothing to promote: {to} already runs {from}'s tags; nothing was changed")
}

/// Copies the tags of `services` (every service of `definitions` when empty) from `from` to `to`
/// in the release file under `root`, and regenerates `root/generated` from `definitions` with the
/// result. On an error nothing under `root` has changed, unless the error says that every change
/// is in place (only the old tree could not be removed).
pub fn promote(root: &Path, definitions: &Catalogue, from: &str, to: &str, services: &[&str]) -> Result<Outcome> {
    let unchanged = |e: anyhow::Error| anyhow!("{e}; nothing was changed");
    let from = environment(&definitions.platform, from).map_err(unchanged)?.name.as_str();
    let to = environment(&definitions.platform, to).map_err(unchanged)?.name.as_str();
    if from == to {
        bail!("promote {from} {to}: the same environment twice: name the one to copy from, then another; nothing was changed");
    }
    let named = chosen(definitions, services)?;

    // Before reading images.yaml: a set-image or promote running at the same time must not have
    // its tag overwritten by this run's copy of the old file.
    let lock = sync::WriteLock::acquire(root)?;
    let (path, text, mut release) = read_release(root)?;
    let untagged: Vec<&str> = named.iter().copied().filter(|s| release.tag(from, s).is_none()).collect();
    if !untagged.is_empty() {
        bail!(
            "{}: no {from} tag in images.yaml to promote: pin one with `cargo xtask set-image --env {from}`; \
             nothing was changed",
            untagged.join(", ")
        );
    }
    let changes: Vec<TagChange> = named
        .iter()
        .filter_map(|&service| {
            let after = release.tag(from, service)?.to_owned();
            let before = release.tag(to, service).map(str::to_owned);
            (before.as_deref() != Some(after.as_str())).then(|| TagChange {
                service: service.to_owned(),
                before,
                after,
            })
        })
        .collect();
    // Every service, none named: a tag of `to` that `from` never ran is a hotfix, and stays.
    let mut held = Vec::new();
    let changes = if services.is_empty() && !changes.is_empty() {
        let ran = crate::hotfix::tags_ever_run(root, from).map_err(|why| {
            anyhow!(
                "promote {from} {to}: which of {to}'s tags are hotfixes is read from the committed history of \
                 images.yaml, and {why}: name the services to promote; nothing was changed"
            )
        })?;
        let (hotfixes, moves): (Vec<TagChange>, Vec<TagChange>) = changes.into_iter().partition(|c| {
            c.before.as_ref().is_some_and(|tag| !ran.get(&c.service).is_some_and(|tags| tags.contains(tag)))
        });
        held = hotfixes.into_iter().map(|c| Hotfix { service: c.service, tag: c.before.unwrap_or_default() }).collect();
        moves
    } else {
        changes
    };
    if changes.is_empty() {
        return Ok(Outcome::NothingToPromote { held });
    }

    let mut edited = text;
    for change in &changes {
        release.set_tag(to, &change.service, &change.after);
        // Line by line, so the file keeps its comments and order; `with_tag` reads each result
        // back, so the file written is the release rendered below.
        edited = Release::with_tag(&edited, to, &change.service, &change.after)
            .map_err(|e| anyhow!("release: images.yaml: {e}; nothing was changed"))?;
    }
    let candidate = Catalogue { release, ..definitions.clone() };
    let files = render(&candidate).map_err(|e| anyhow!("{e}nothing was changed"))?;

    // images.yaml is staged with the generated files: both change, or neither.
    let report = sync::write_report(&lock, &files, &[(path, edited)])?;
    Ok(Outcome::Promoted { changes, held, report: report.text })
}

/// The services to promote, in the catalogue's order, each once: the named ones, or all. Every
/// name must be a service of the catalogue; the error names each that is not.
fn chosen<'a>(definitions: &'a Catalogue, services: &[&str]) -> Result<Vec<&'a str>> {
    let known: Vec<&str> = definitions.services.iter().map(|s| s.name.as_str()).collect();
    let unknown: Vec<&str> = services.iter().copied().filter(|s| !known.contains(s)).collect();
    if !unknown.is_empty() {
        bail!(
            "{}: service: not in the catalogue (known: {}); nothing was changed",
            unknown.join(", "),
            known.join(", ")
        );
    }
    Ok(known.into_iter().filter(|s| services.is_empty() || services.contains(s)).collect())
}

#[cfg(test)]
#[path = "promote_tests.rs"]
mod tests;
