//! `cargo xtask capacity [--env ENV]`: validates the catalogue and prints the capacity table of
//! [`lomash_manifests::capacity`] for one environment (the same table as its overlay README).
//! Exits 0 whatever the table says: `cargo xtask lint` is the gate.

use std::process::ExitCode;

use anyhow::{anyhow, Result};
use lomash_manifests::built::BuiltEnvironment;
use lomash_manifests::capacity;
use lomash_manifests::{validate, Catalogue};

use crate::environment;

pub fn run(catalogue: &Catalogue, env: &str) -> Result<ExitCode> {
    let model = validate(catalogue).map_err(|e| anyhow!("the catalogue is invalid:\n{e}"))?;
    let env = environment(&model.platform, env)?;
    let plan = BuiltEnvironment::new(&model, env).capacity().map_err(|e| anyhow!(e))?;
    println!("Capacity of {} (namespace {})\n", env.name, env.namespace);
    print!("{}", capacity::table(&plan));
    Ok(ExitCode::SUCCESS)
}
