//! The xtask's integration tests, one test binary (one link of the dependency graph, not one a
//! file): each module runs the real binary for one concern (the CLI, releases, writes, capacity,
//! plan, two checkouts sharing a target directory). One concern: `cargo test -p xtask --test it cli::`.

// The unit tests' helpers (`TempDir`, `git`); some are the unit tests' only.
#[allow(dead_code)]
#[path = "../../../crates/manifest-tasks/src/testing.rs"]
mod testing;

mod capacity;
mod cli;
mod plan_cli;
mod release_cli;
mod shared_target;
mod writes;
