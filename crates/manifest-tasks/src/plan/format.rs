//! A [`Plan`] written out: `text` for a terminal (ANSI colour only when asked, i.e. on a
//! terminal), `markdown` for a pull-request comment (a heading per environment, a table of the
//! objects that change with a "rolls" column, the capacity and network deltas, each object's
//! fields in a collapsed `<details>` block), `json` for tools. All three say the same things in
//! the same order.

use std::fmt::Write as _;

use manifest_core::capacity::{cpu_text, memory_text, Amount, UNBOUNDED};
use serde_json::{json, Value as Json};
use serde_yaml::Value;

use super::effects::{Capacity, Finding, NetPath};
use super::fields::{scalar_text, FieldChange};
use super::{CapacityDelta, EnvPlan, ObjectChange, Plan, Presence};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

impl Format {
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "text" => Some(Format::Text),
            "markdown" => Some(Format::Markdown),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

pub fn render(plan: &Plan, format: Format, colour: bool) -> String {
    match format {
        Format::Text => text(plan, colour),
        Format::Markdown => markdown(plan),
        Format::Json => {
            let mut out = serde_json::to_string_pretty(&json(plan)).expect("a JSON value serialises");
            out.push('\n');
            out
        }
    }
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// A value as a reader sees it: a scalar bare, anything else as compact JSON, `(none)` when the
/// field is absent on that side.
fn shown(value: &Option<Value>) -> String {
    match value {
        None => "(none)".to_owned(),
        Some(v) => scalar_text(v).unwrap_or_else(|| serde_json::to_string(v).unwrap_or_else(|_| format!("{v:?}"))),
    }
}

fn path_text(p: &NetPath) -> String {
    format!("{} → {} {} {}", p.from, p.to, p.protocol, p.port)
}

fn finding_text(f: &Finding) -> String {
    let message = if f.message.is_empty() { String::new() } else { format!(": {}", f.message) };
    format!("{} {} {}{message}", f.rule, f.object, f.outcome)
}

fn nodes(n: Option<u64>) -> String {
    n.map_or("not limited (anti-affinity preferred)".to_owned(), |n| n.to_string())
}

/// A row of the capacity table: what it counts, and how one side's count reads.
type CapacityRow<'a> = (&'static str, &'a dyn Fn(&Capacity) -> String);

/// The rows of the capacity table: (what, before, after), each side's text.
fn capacity_rows(delta: &CapacityDelta) -> Vec<(&'static str, String, String)> {
    let side = |c: &Option<Capacity>, f: &dyn Fn(&Capacity) -> String| c.as_ref().map_or("—".to_owned(), f);
    let amount = |a: Amount| format!("{} CPU / {}", cpu_text(a.cpu), memory_text(a.memory));
    let rows: [CapacityRow; 7] = [
        ("nodes needed at max", &|c| nodes(c.nodes_at_max)),
        ("nodes of an even pool at max", &|c| nodes(c.nodes_even_pool)),
        ("requests at min", &|c| amount(c.requests_min)),
        ("requests at max", &|c| amount(c.requests_max)),
        ("limits at min", &|c| amount(c.limits_min)),
        ("limits at max", &|c| amount(c.limits_max)),
        ("connections at max", &|c| {
            c.connections
                .map_or("— (no connection budget)".to_owned(), |n| format!("{} of {}", n.at_max, n.available))
        }),
    ];
    rows.into_iter().map(|(what, f)| (what, side(&delta.before, f), side(&delta.after, f))).collect()
}

fn summary(env: &EnvPlan) -> String {
    let presence = match env.presence {
        Presence::Both => "",
        Presence::Added => " (new environment: every object is added)",
        Presence::Removed => " (removed environment: every object is removed)",
    };
    if !env.changes() {
        return "no change".to_owned();
    }
    let rolling = env.rolling().count();
    format!(
        "{} object{} change{}, {} Deployment{} roll{}{presence}",
        env.objects.len(),
        if env.objects.len() == 1 { "" } else { "s" },
        if env.objects.len() == 1 { "s" } else { "" },
        rolling,
        if rolling == 1 { "" } else { "s" },
        if rolling == 1 { "s" } else { "" },
    )
}

fn lines<T>(items: &[T], line: fn(&T) -> String) -> Vec<String> {
    items.iter().map(line).collect()
}

fn text(plan: &Plan, colour: bool) -> String {
    let paint = |code: &str, s: &str| if colour { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_owned() };
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "plan: generated/ at {} ({}) → the work tree", plan.base.label, short(&plan.base.commit));
    for env in &plan.environments {
        let _ = writeln!(w, "\n{}: {}", paint("1", &env.name), summary(env));
        for o in &env.objects {
            let (mark, code) = match o.change {
                super::Change::Added => ("+", "32"),
                super::Change::Removed => ("-", "31"),
                super::Change::Changed => ("~", "33"),
            };
            let rolls = if o.rolls { format!("  rolls ({})", o.why.join(", ")) } else { String::new() };
            let _ = writeln!(w, "  {} {}/{}  {}{rolls}", paint(code, mark), o.kind, o.name, o.change.as_str());
            for f in &o.fields {
                let _ = writeln!(w, "      {}: {} → {}", f.path, shown(&f.from), shown(&f.to));
            }
        }
        let rows: Vec<_> = capacity_rows(&env.capacity).into_iter().filter(|(_, a, b)| a != b).collect();
        match (&env.capacity.pool, rows.is_empty()) {
            (None, _) => {}
            (Some(_), true) => {
                let _ = writeln!(w, "  capacity: unchanged");
            }
            (Some(pool), false) => {
                let _ = writeln!(w, "  capacity (pool {pool}):");
                for (what, a, b) in rows {
                    let _ = writeln!(w, "      {what}: {a} → {b}");
                }
            }
        }
        // (what, said when nothing moves, added, removed, the colours of + and -): a new path
        // is green, a new finding red.
        let deltas = [
            (
                "network",
                "no path added or removed",
                lines(&env.network_added, path_text),
                lines(&env.network_removed, path_text),
                ("32", "31"),
            ),
            (
                "lint",
                "no finding appears or disappears",
                lines(&env.lint_added, finding_text),
                lines(&env.lint_removed, finding_text),
                ("31", "32"),
            ),
        ];
        for (what, nothing, added, removed, (plus, minus)) in deltas {
            if added.is_empty() && removed.is_empty() {
                let _ = writeln!(w, "  {what}: {nothing}");
            }
            for line in added {
                let _ = writeln!(w, "  {what} {} {line}", paint(plus, "+"));
            }
            for line in removed {
                let _ = writeln!(w, "  {what} {} {line}", paint(minus, "-"));
            }
        }
        for note in &env.notes {
            let _ = writeln!(w, "  note: {note}");
        }
    }
    if !plan.changes() {
        let _ = writeln!(w, "\nno change in any environment");
    }
    out
}

/// Text as a Markdown table cell: a code span long enough for any backticks inside, pipes
/// escaped, no line breaks.
fn code(s: &str) -> String {
    let s = s.replace('|', "\\|").replace('\n', " ");
    let ticks = "`".repeat((1..).find(|n| !s.contains(&"`".repeat(*n))).unwrap_or(1));
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "## Plan of this change");
    let _ = writeln!(
        w,
        "\nAgainst `generated/` at {} (`{}`), each environment rendered with `kubectl kustomize`.",
        plan.base.label,
        short(&plan.base.commit)
    );
    for env in &plan.environments {
        let _ = writeln!(w, "\n### {}\n\n{}", env.name, summary(env));
        if !env.objects.is_empty() {
            let _ = writeln!(w, "\n| Object | Change | Rolls |\n| --- | --- | --- |");
            for o in &env.objects {
                let rolls = if o.rolls { format!("yes: {}", o.why.join(", ")) } else { "—".to_owned() };
                let _ =
                    writeln!(w, "| {} | {} | {rolls} |", code(&format!("{}/{}", o.kind, o.name)), o.change.as_str());
            }
        }
        let rows = capacity_rows(&env.capacity);
        if let Some(pool) = &env.capacity.pool {
            if rows.iter().all(|(_, a, b)| a == b) {
                let _ = writeln!(w, "\n**Capacity** (pool {pool}): unchanged.");
            } else {
                let _ = writeln!(w, "\n**Capacity** (pool {pool})\n\n| | Before | After |\n| --- | --- | --- |");
                for (what, a, b) in rows {
                    let (a, b) = if a == b { (a, b) } else { (format!("**{a}**"), format!("**{b}**")) };
                    let _ = writeln!(w, "| {what} | {a} | {b} |");
                }
            }
        }
        if env.network_added.is_empty() && env.network_removed.is_empty() {
            let _ = writeln!(w, "\n**Network**: no path added or removed.");
        } else {
            let _ = writeln!(w, "\n**Network**\n\n| | From | To | Protocol | Port |\n| --- | --- | --- | --- | --- |");
            let paths = env
                .network_added
                .iter()
                .map(|p| ("added", p))
                .chain(env.network_removed.iter().map(|p| ("removed", p)));
            for (what, p) in paths {
                let _ = writeln!(w, "| {what} | {} | {} | {} | {} |", code(&p.from), code(&p.to), p.protocol, p.port);
            }
        }
        if env.lint_added.is_empty() && env.lint_removed.is_empty() {
            let _ = writeln!(w, "\n**Lint**: no finding appears or disappears.");
        } else {
            let _ = writeln!(w, "\n**Lint**\n\n| | Rule | Object | Result | Detail |\n| --- | --- | --- | --- | --- |");
            let found =
                env.lint_added.iter().map(|f| ("appears", f)).chain(env.lint_removed.iter().map(|f| ("disappears", f)));
            for (what, f) in found {
                let detail = f.message.replace('|', "\\|");
                let _ = writeln!(w, "| {what} | {} | {} | {} | {detail} |", code(&f.rule), code(&f.object), f.outcome);
            }
        }
        for o in env.objects.iter().filter(|o| !o.fields.is_empty()) {
            let fields = o.fields.len();
            let _ = writeln!(
                w,
                "\n<details><summary>{}/{}: {fields} field{}</summary>\n\n| Field | Before | After |\n| --- | --- | --- |",
                o.kind,
                o.name,
                if fields == 1 { "" } else { "s" }
            );
            for f in &o.fields {
                let _ = writeln!(w, "| {} | {} | {} |", code(&f.path), code(&shown(&f.from)), code(&shown(&f.to)));
            }
            let _ = writeln!(w, "\n</details>");
        }
        for note in &env.notes {
            let _ = writeln!(w, "\n_Note: {note}._");
        }
    }
    out
}

fn amount_json(a: Amount) -> Json {
    let number = |n: u128| if n == UNBOUNDED { Json::Null } else { json!(n) };
    json!({
        "cpu": cpu_text(a.cpu),
        "memory": memory_text(a.memory),
        "cpu_millicores": number(a.cpu),
        "memory_bytes": number(a.memory),
    })
}

fn capacity_json(c: &Option<Capacity>) -> Json {
    match c {
        None => Json::Null,
        Some(c) => json!({
            "nodes_needed_at_max": c.nodes_at_max,
            "nodes_even_pool_at_max": c.nodes_even_pool,
            "requests": {"min": amount_json(c.requests_min), "max": amount_json(c.requests_max)},
            "limits": {"min": amount_json(c.limits_min), "max": amount_json(c.limits_max)},
            "connections": c.connections.map(|n| json!({"min": n.at_min, "max": n.at_max, "available": n.available})),
        }),
    }
}

fn value_json(v: &Option<Value>) -> Json {
    v.as_ref().map_or(Json::Null, |v| serde_json::to_value(v).unwrap_or_else(|_| Json::String(format!("{v:?}"))))
}

fn object_json(o: &ObjectChange) -> Json {
    let fields: Vec<Json> = o
        .fields
        .iter()
        .map(|f: &FieldChange| json!({"path": f.path, "from": value_json(&f.from), "to": value_json(&f.to)}))
        .collect();
    json!({
        "kind": o.kind,
        "name": o.name,
        "namespace": o.namespace,
        "change": o.change.as_str(),
        "rolls": o.rolls,
        "why": o.why,
        "fields": fields,
    })
}

fn json(plan: &Plan) -> Json {
    let paths = |ps: &[NetPath]| -> Vec<Json> {
        ps.iter().map(|p| json!({"from": p.from, "to": p.to, "protocol": p.protocol, "port": p.port})).collect()
    };
    let findings = |fs: &[Finding]| -> Vec<Json> {
        fs.iter()
            .map(|f| json!({"rule": f.rule, "object": f.object, "outcome": f.outcome, "message": f.message}))
            .collect()
    };
    let environments: Vec<Json> = plan
        .environments
        .iter()
        .map(|e| {
            json!({
                "name": e.name,
                "presence": match e.presence {
                    Presence::Both => "both",
                    Presence::Added => "added",
                    Presence::Removed => "removed",
                },
                "changes": e.changes(),
                "objects": e.objects.iter().map(object_json).collect::<Vec<_>>(),
                "capacity": {
                    "pool": e.capacity.pool,
                    "pool_nodes": e.capacity.pool_nodes,
                    "before": capacity_json(&e.capacity.before),
                    "after": capacity_json(&e.capacity.after),
                },
                "network": {"added": paths(&e.network_added), "removed": paths(&e.network_removed)},
                "lint": {"added": findings(&e.lint_added), "removed": findings(&e.lint_removed)},
                "notes": e.notes,
            })
        })
        .collect();
    json!({
        "base": plan.base.label,
        "base_commit": plan.base.commit,
        "head": "work tree",
        "changes": plan.changes(),
        "environments": environments,
    })
}
