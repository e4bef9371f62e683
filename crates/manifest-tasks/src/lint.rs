//! `cargo xtask lint`: validates the catalogue, builds an environment's objects and runs the policy
//! of [`manifest_core::policy`] on them, scheduled on the environment's node pool, the service
//! graph included. Prints one aligned table (rule, object, result) and a
//! summary line; exits 1 when any rule fails.
//!
//! The table stays short: objects of one kind that pass a rule collapse into one row
//! (`Deployment/* (9)`), and so do identical exceptions; every failure has its own row, with
//! what is wrong.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use manifest_core::built::BuiltEnvironment;
use manifest_core::policy::{Finding, Outcome};
use manifest_core::{validate, Catalogue};

use crate::environment;

pub fn run(catalogue: &Catalogue, env: &str) -> Result<ExitCode> {
    let model = validate(catalogue).map_err(|e| anyhow!("the catalogue is invalid:\n{e}"))?;
    let env = environment(&model.platform, env)?;
    let findings = BuiltEnvironment::new(&model, env).lint(&model);
    print!("{}", report(&findings));
    let failed = findings.iter().any(|f| f.outcome == Outcome::Fail);
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The table and its summary line.
pub fn report(findings: &[Finding]) -> String {
    let mut rows: Vec<[String; 4]> = Vec::new();
    let rules: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).fold(Vec::new(), |mut seen, r| {
        if !seen.contains(&r) {
            seen.push(r);
        }
        seen
    });
    for rule in rules {
        let of_rule: Vec<&Finding> = findings.iter().filter(|f| f.rule == rule).collect();
        for f in of_rule.iter().filter(|f| f.outcome == Outcome::Fail) {
            rows.push([rule.into(), f.object.clone(), f.outcome.as_str().into(), f.message.clone()]);
        }
        // One row per (kind, outcome, message) for what passes or is excepted.
        let mut groups: Vec<(&str, Outcome, &str, usize)> = Vec::new();
        for f in of_rule.iter().filter(|f| f.outcome != Outcome::Fail) {
            let kind = kind_of(&f.object);
            match groups.iter_mut().find(|g| g.0 == kind && g.1 == f.outcome && g.2 == f.message) {
                Some(g) => g.3 += 1,
                None => groups.push((kind, f.outcome, &f.message, 1)),
            }
        }
        for (kind, outcome, message, n) in groups {
            let total = of_rule.iter().filter(|f| kind_of(&f.object) == kind).count();
            let object = if n == total { format!("{kind}/* ({n})") } else { format!("{kind}/* ({n} of {total})") };
            rows.push([rule.into(), object, outcome.as_str().into(), message.into()]);
        }
    }

    let header = ["RULE".to_owned(), "OBJECT".into(), "RESULT".into(), "DETAIL".into()];
    let width = |i: usize| rows.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0);
    let widths = [width(0), width(1), width(2)];
    let mut out = String::new();
    for row in [&header].into_iter().chain(&rows) {
        let line = format!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }

    let count = |o: Outcome| findings.iter().filter(|f| f.outcome == o).count();
    let rules =
        findings.iter().filter(|f| f.outcome != Outcome::Excepted).map(|f| f.rule.as_str()).collect::<BTreeSet<_>>();
    let objects = findings.iter().map(|f| f.object.as_str()).collect::<BTreeSet<_>>();
    let fail = count(Outcome::Fail);
    out.push_str(&format!(
        "\nlint: {} rule(s) on {} objects: {} pass, {} fail, {} excepted (reasons: the platform's scanner_exceptions in the catalogue){}\n",
        rules.len(),
        objects.len(),
        count(Outcome::Pass),
        fail,
        count(Outcome::Excepted),
        if fail > 0 { " - FAILED" } else { "" },
    ));
    out
}

fn kind_of(object: &str) -> &str {
    object.split('/').next().unwrap_or(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &'static str, object: &str, outcome: Outcome, message: &str) -> Finding {
        Finding { rule: rule.into(), object: object.into(), outcome, message: message.into() }
    }

    #[test]
    fn passes_collapse_and_failures_stand_alone() {
        let findings = [
            finding("spec.probes", "Deployment/a", Outcome::Pass, ""),
            finding("spec.probes", "Deployment/b", Outcome::Fail, "container b: no startupProbe"),
            finding("spec.probes", "Deployment/c", Outcome::Pass, ""),
            finding("CKV_K8S_40", "Deployment/a", Outcome::Excepted, "uid 1001"),
            finding("CKV_K8S_40", "Deployment/b", Outcome::Excepted, "uid 1001"),
        ];
        let expected = "\
RULE         OBJECT                 RESULT    DETAIL
spec.probes  Deployment/b           FAIL      container b: no startupProbe
spec.probes  Deployment/* (2 of 3)  pass
CKV_K8S_40   Deployment/* (2)       excepted  uid 1001

lint: 1 rule(s) on 3 objects: 2 pass, 1 fail, 2 excepted (reasons: the platform's scanner_exceptions in the catalogue) - FAILED
";
        pretty_assertions::assert_eq!(report(&findings), expected);
    }
}
