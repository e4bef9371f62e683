//! `cargo xtask plan [--base <git-ref>] [--env <environment>] [--format text|markdown|json]
//! [--exit-code]`: what a change does to each environment, before it merges.
//!
//! Two sides, each rendered by the real `kubectl kustomize` ([`sides`]): the base is `generated/`
//! as committed at `--base` (the merge-base with `main` by default), the head the work tree's
//! `generated/`, which must be what the definitions render (the test of `cargo xtask check`):
//! a stale tree would plan something no commit holds. Per environment (an overlay of either side;
//! one side only is all added or all removed), the plan lists
//! - every object added, removed or changed, and for a changed one each field that differs
//!   ([`fields`]), lists keyed by their merge key;
//! - for each Deployment whether its pods roll (its pod template changed) and why;
//! - the capacity before and after (`capacity.rs`' arithmetic on the rendered Deployments and HPAs),
//!   on the environment's node pool. The rendered tree does not carry the pool, so both sides are
//!   set against the current catalogue's, and the plan says so;
//! - the network paths added and removed, the rendered NetworkPolicies read by `reach.rs`;
//! - the lint findings (failures and recorded exceptions) that appear or disappear, the rules of
//!   `policy/` on each side's rendered objects. The service graph a side must allow is in the
//!   catalogue, not in the tree: the head is checked against the current catalogue's graph (as
//!   `cargo xtask lint` does), the base with no graph (its own is not known; it passed its lint
//!   when it was committed). Otherwise a new edge would show as a base failure it "fixes". The
//!   scanner exceptions likewise: the head's are the catalogue's, the base's those its
//!   Deployments record.
//!
//! Formats ([`format`]): text (coloured only on a terminal), Markdown for a pull-request comment,
//! JSON for tools. Exit codes follow `git diff`: 0 when the plan ran, 1 with `--exit-code` when
//! anything changes, 2 for a usage mistake, 1 with an error naming what is wrong. Nothing is
//! written to `generated/`; the base is extracted into a scratch folder, removed afterwards.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use manifest_core::k8s_openapi::api::apps::v1::Deployment;
use manifest_core::k8s_openapi::Resource;
use manifest_core::layout::GENERATED_DIR;
use manifest_core::spec::ScannerExceptions;
use manifest_core::{netpol, validate, Catalogue, Model, Object};
use serde::Deserialize;
use serde_yaml::Value;

use crate::sync;

mod effects;
mod fields;
mod format;
mod sides;
#[cfg(test)]
mod tests;

pub use effects::{Capacity, Finding, NetPath};
pub use fields::FieldChange;
pub use format::Format;
pub use sides::Base;

/// The command line of `plan`, `--env` already taken out by the dispatcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub base: Option<String>,
    pub env: Option<String>,
    pub format: Format,
    pub exit_code: bool,
}

impl Options {
    /// Reads the words after `plan`; a usage mistake is the error, without a trailing period.
    pub fn parse(env: Option<&str>, rest: &[&str]) -> Result<Options, String> {
        let mut options = Options { base: None, env: env.map(str::to_owned), format: Format::Text, exit_code: false };
        let mut format = None;
        let mut words = rest.iter().copied();
        while let Some(word) = words.next() {
            let (flag, inline) = match word.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
                _ => (word, None),
            };
            let mut value = |what: &str| match inline.map(str::to_owned).or_else(|| words.next().map(str::to_owned)) {
                Some(v) if !v.is_empty() && !v.starts_with('-') => Ok(v),
                _ => Err(format!("plan: {flag} needs {what}")),
            };
            match flag {
                "--base" => {
                    let rev = value("a git ref, e.g. --base main")?;
                    if options.base.replace(rev).is_some() {
                        return Err("plan: --base is given twice: name one ref".to_owned());
                    }
                }
                "--format" => {
                    let name = value("one of text, markdown, json")?;
                    let parsed = Format::from_name(&name)
                        .ok_or_else(|| format!("plan: --format {name:?} is not one of text, markdown, json"))?;
                    if format.replace(parsed).is_some() {
                        return Err("plan: --format is given twice: name one format".to_owned());
                    }
                }
                "--exit-code" if inline.is_none() => options.exit_code = true,
                _ => return Err(format!("plan: unknown argument {word:?}")),
            }
        }
        options.format = format.unwrap_or(Format::Text);
        Ok(options)
    }
}

/// The plan of a change: the base it was read against and each environment's part.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub base: Base,
    pub environments: Vec<EnvPlan>,
}

impl Plan {
    /// Whether anything changes in any environment.
    pub fn changes(&self) -> bool {
        self.environments.iter().any(EnvPlan::changes)
    }
}

/// Whether an environment is on both sides, or on one only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Both,
    /// Only the head has it: every object is added.
    Added,
    /// Only the base has it: every object is removed.
    Removed,
}

/// One environment's part of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvPlan {
    pub name: String,
    pub presence: Presence,
    /// Sorted by kind, then name.
    pub objects: Vec<ObjectChange>,
    pub capacity: CapacityDelta,
    pub network_added: Vec<NetPath>,
    pub network_removed: Vec<NetPath>,
    pub lint_added: Vec<Finding>,
    pub lint_removed: Vec<Finding>,
    /// What a reader must know about how this part was made (the pool's source, …).
    pub notes: Vec<String>,
}

impl EnvPlan {
    pub fn changes(&self) -> bool {
        self.presence != Presence::Both
            || !self.objects.is_empty()
            || !self.network_added.is_empty()
            || !self.network_removed.is_empty()
            || !self.lint_added.is_empty()
            || !self.lint_removed.is_empty()
    }

    pub fn rolling(&self) -> impl Iterator<Item = &ObjectChange> {
        self.objects.iter().filter(|o| o.rolls)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    Changed,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
        }
    }
}

/// One object that differs between the sides.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectChange {
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub change: Change,
    /// A changed Deployment whose pod template changed: its pods are replaced.
    pub rolls: bool,
    /// Why it rolls (see [`effects::roll_reasons`]); empty when it does not.
    pub why: Vec<String>,
    /// The fields that differ, for a changed object; empty for an added or removed one.
    pub fields: Vec<FieldChange>,
}

/// The capacity of both sides, on the pool named in `pool` (none when the current catalogue
/// has no pool for the environment: then neither side is counted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityDelta {
    /// `3 zones × 7 nodes`, the current catalogue's pool.
    pub pool: Option<String>,
    pub pool_nodes: Option<u64>,
    pub before: Option<Capacity>,
    pub after: Option<Capacity>,
}

/// `plan` from the command line: prints the plan of `root` in the chosen format.
pub fn run(root: &Path, definitions: &Catalogue, options: &Options) -> Result<ExitCode> {
    let plan = plan(root, definitions, options.base.as_deref(), options.env.as_deref())?;
    let colour = options.format == Format::Text
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let text = format::render(&plan, options.format, colour);
    if let Err(e) = std::io::stdout().write_all(text.as_bytes()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e).context("writing to stdout");
        }
    }
    Ok(if options.exit_code && plan.changes() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The plan of the work tree of `root` against `base` (see the module doc), every environment
/// or only `env`. `definitions` are what the head's `generated/` must render from.
pub fn plan(root: &Path, definitions: &Catalogue, base: Option<&str>, env: Option<&str>) -> Result<Plan> {
    let prefix = sides::prefix(root)?;
    let base = sides::base(root, base)?;
    let model = validate(definitions).map_err(|e| anyhow!("the catalogue is invalid:\n{e}"))?;
    let head_tree = root.join(GENERATED_DIR);
    // Held until the head is rendered: a writer's swap cannot land between the check and the
    // renders, so the head planned is the one checked.
    let _shared = sync::lock_for_reading(root);
    let fresh = sync::run_report(root, definitions, sync::Mode::Check)?;
    if !fresh.ok {
        let stale: Vec<&str> =
            fresh.text.lines().filter(|l| l.starts_with(GENERATED_DIR) && l.contains(": ")).collect();
        bail!(
            "the work tree's {GENERATED_DIR}/ is not what the definitions render, so it is not the change to plan \
             ({}): run `cargo xtask generate` (`cargo xtask check` shows the diff)",
            stale.join("; ")
        );
    }

    let scratch = sides::Scratch::new()?;
    let base_tree = scratch.path().join(GENERATED_DIR);
    std::fs::create_dir_all(&base_tree).with_context(|| format!("creating {}", base_tree.display()))?;
    sides::extract(root, &prefix, &base, &base_tree)?;

    let before = sides::environments(&base_tree)?;
    let after = sides::environments(&head_tree)?;
    let mut names: BTreeSet<String> = before.iter().chain(&after).cloned().collect();
    if let Some(env) = env {
        if !names.contains(env) {
            let known: Vec<&str> = names.iter().map(String::as_str).collect();
            bail!(
                "{env}: environment: not in {GENERATED_DIR}/ at {} nor in the work tree (known: {})",
                base.label,
                known.join(", ")
            );
        }
        names.retain(|n| n == env);
    }

    let mut jobs: Vec<(&Path, &str)> = Vec::new();
    for name in &names {
        for (tree, present) in [(base_tree.as_path(), &before), (head_tree.as_path(), &after)] {
            if present.contains(name) {
                jobs.push((tree, name.as_str()));
            }
        }
    }
    // (is the base side, environment) → kubectl's output
    let mut rendered: BTreeMap<(bool, &str), String> = BTreeMap::new();
    for ((tree, env), text) in jobs.iter().zip(sides::kustomize_all(&jobs)) {
        rendered.insert((*tree == base_tree.as_path(), env), text?);
    }
    // The catalogue's environments in its order (production first, as everywhere), then any the
    // catalogue no longer has, by name.
    let rank = |name: &str| model.platform.environments.iter().position(|e| e.name == name).unwrap_or(usize::MAX);
    let mut names: Vec<&String> = names.iter().collect();
    names.sort_by_key(|n| (rank(n), n.as_str()));
    let mut environments = Vec::new();
    for name in &names {
        let (old, new) = (rendered.get(&(true, name.as_str())), rendered.get(&(false, name.as_str())));
        let (old, new) = (old.map(String::as_str), new.map(String::as_str));
        environments.push(environment(&model, name, old, new).with_context(|| format!("planning {name}"))?);
    }
    Ok(Plan { base, environments })
}

/// One rendered side of an environment: its documents and those of them the project's types read.
struct Side {
    documents: Vec<Value>,
    objects: Vec<Object>,
}

impl Side {
    /// Reads kubectl's output; a document the types do not read (a kind this version does not
    /// know, in an old base) still counts for the field diff, and is named in `notes`.
    fn read(text: Option<&str>, which: &str, notes: &mut Vec<String>) -> Result<Side> {
        let mut side = Side { documents: Vec::new(), objects: Vec::new() };
        for document in serde_yaml::Deserializer::from_str(text.unwrap_or_default()) {
            let value = Value::deserialize(document).context("reading kubectl kustomize's output")?;
            if value.is_null() {
                continue;
            }
            match Object::from_value(&value) {
                Ok(object) => side.objects.push(object),
                Err(e) => notes.push(format!("{which}: not read by capacity, network and lint: {e}")),
            }
            side.documents.push(value);
        }
        Ok(side)
    }
}

/// (kind, namespace, name) of a rendered document.
fn identity(document: &Value) -> (String, String, String) {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    let meta = document.get("metadata");
    (text(document.get("kind")), text(meta.and_then(|m| m.get("namespace"))), text(meta.and_then(|m| m.get("name"))))
}

fn environment(model: &Model, name: &str, old: Option<&str>, new: Option<&str>) -> Result<EnvPlan> {
    let presence = match (old, new) {
        (Some(_), Some(_)) => Presence::Both,
        (None, _) => Presence::Added,
        (_, None) => Presence::Removed,
    };
    let mut notes = Vec::new();
    let base = Side::read(old, "base", &mut notes)?;
    let head = Side::read(new, "head", &mut notes)?;

    let index = |side: &Side| -> BTreeMap<(String, String, String), Value> {
        side.documents.iter().map(|d| (identity(d), d.clone())).collect()
    };
    let (a, b) = (index(&base), index(&head));
    let ids: BTreeSet<&(String, String, String)> = a.keys().chain(b.keys()).collect();
    let mut objects = Vec::new();
    for id in ids {
        let (kind, namespace, object_name) = id.clone();
        let (change, fields) = match (a.get(id), b.get(id)) {
            (Some(x), Some(y)) => match fields::diff(x, y) {
                f if f.is_empty() => continue,
                f => (Change::Changed, f),
            },
            (Some(_), None) => (Change::Removed, Vec::new()),
            (None, _) => (Change::Added, Vec::new()),
        };
        let why = if kind == Deployment::KIND { effects::roll_reasons(&fields) } else { Vec::new() };
        objects.push(ObjectChange {
            kind,
            name: object_name,
            namespace: Some(namespace).filter(|n| !n.is_empty()),
            change,
            rolls: !why.is_empty(),
            why,
            fields,
        });
    }

    let platform_env = model.platform.environment(name);
    let pool = platform_env.and_then(|e| model.pool(e));
    let capacity = match pool {
        Some(pool) => {
            notes.push(format!(
                "capacity: the rendered tree carries no node pool: both sides are set against the current \
                 catalogue's ({})",
                pool.shape()
            ));
            // Both sides against the current catalogue's connection limits, like the pool.
            let budgets = platform_env.map(|e| manifest_core::connections::declared(&model.platform, e));
            let budgets = budgets.unwrap_or_default();
            let count = |side: &Side, present: bool| {
                present.then(|| effects::capacity(&side.objects, pool, &budgets)).transpose().map_err(|e| anyhow!(e))
            };
            CapacityDelta {
                pool: Some(pool.shape()),
                pool_nodes: Some(pool.nodes()),
                before: count(&base, old.is_some())?,
                after: count(&head, new.is_some())?,
            }
        }
        None => {
            notes.push(format!(
                "capacity and lint: the current catalogue has no environment {name}, so no node pool: not counted"
            ));
            CapacityDelta { pool: None, pool_nodes: None, before: None, after: None }
        }
    };

    let (network_added, network_removed) = effects::network(&base.objects, &head.objects).map_err(|e| anyhow!(e))?;

    let (lint_added, lint_removed) = match (pool, platform_env) {
        (Some(pool), Some(env)) => {
            let declared = &model.platform.scanner_exceptions;
            // The base is read with the exceptions its own Deployments record (the current
            // catalogue's may have changed), and the digest check the platform declares.
            let recorded = ScannerExceptions {
                declared: effects::recorded_exceptions(&base.objects),
                met_by_digest: declared.met_by_digest.clone(),
            };
            // Both sides are counted against the current catalogue's connection limits: a change
            // that takes the connections over them shows as a new failure.
            let budgets = manifest_core::connections::declared(&model.platform, env);
            let before = effects::lint(&base.objects, pool, &[], &recorded, &budgets);
            let after = effects::lint(&head.objects, pool, &netpol::graph(model, env), declared, &budgets);
            (after.difference(&before).cloned().collect(), before.difference(&after).cloned().collect())
        }
        _ => (Vec::new(), Vec::new()),
    };
    Ok(EnvPlan {
        name: name.to_owned(),
        presence,
        objects,
        capacity,
        network_added,
        network_removed,
        lint_added,
        lint_removed,
        notes,
    })
}
