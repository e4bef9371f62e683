//! The xtask's integration tests, one test binary (one link of the dependency graph, not one a
//! file): each module runs the real binary for one concern (the CLI, releases, writes, capacity,
//! plan, two checkouts sharing a target directory). One concern: `cargo test -p xtask --test it cli::`.

// The unit tests' helpers (`TempDir`, `git`); some are the unit tests' only.
#[allow(dead_code)]
#[path = "../../../crates/manifest-tasks/src/testing.rs"]
mod testing;

// The test harness starts tests in the order of their names, two at a time on this machine's two
// cores: the slowest (two real builds, about half a minute) is named to start first, so that the
// others run beside it instead of after it.
mod checkouts_sharing_a_target;

mod capacity;
mod cli;
mod plan_cli;
mod release_cli;
mod writes;
