//! `cargo xtask capacity [--env ENV]`: validates the catalogue and prints the capacity table of
//! [`manifest_core::capacity`] for one environment (the same table as its overlay README), and
//! the connections its pods open to each store against the store's budget.
//! Exits 0 whatever the table says: `cargo xtask lint` is the gate.

use std::process::ExitCode;

use anyhow::{anyhow, Result};
use manifest_core::built::BuiltEnvironment;
use manifest_core::capacity;
use manifest_core::{validate, Catalogue};

use crate::environment;

pub fn run(catalogue: &Catalogue, env: &str) -> Result<ExitCode> {
    let model = validate(catalogue).map_err(|e| anyhow!("the catalogue is invalid:\n{e}"))?;
    let env = environment(&model.platform, env)?;
    let built = BuiltEnvironment::new(&model, env);
    let plan = built.capacity().map_err(|e| anyhow!(e))?;
    println!("Capacity of {} (namespace {})\n", env.name, env.namespace);
    print!("{}", capacity::table(&plan));
    print!("{}", connection_lines(&built));
    Ok(ExitCode::SUCCESS)
}

/// One line per store the environment budgets (docs/spec.md ("Go-live") §7), after a blank line; nothing when
/// it budgets none.
pub fn connection_lines(built: &BuiltEnvironment) -> String {
    built.connections().iter().map(|b| format!("\n{}\n", b.line())).collect()
}
