//! `cargo xtask <task>`: hands Lomash Wood's catalogue to the tasks (`manifest-tasks`). Only this
//! small binary depends on the catalogue, so a spec sheet edit rebuilds the catalogue and relinks
//! this, never the tasks.

use lomash_manifests::project::Project;
use lomash_manifests::{CATALOGUE_BUILT_FROM, CORE_BUILT_FROM, OBJECTS_BUILT_FROM};

/// The crates whose code this binary runs beside the tasks, and where each was compiled: a binary
/// built in another checkout (a shared target directory) refuses to act.
const BUILT_FROM: [(&str, &str, &str); 4] = [
    ("xtask", env!("CARGO_MANIFEST_DIR"), "xtask"),
    ("lomash-manifests", CATALOGUE_BUILT_FROM, "crates/lomash-manifests"),
    ("manifest-core", CORE_BUILT_FROM, "crates/manifest-core"),
    ("manifest-objects", OBJECTS_BUILT_FROM, "crates/manifest-objects"),
];

/// Rendering is many small allocations; mimalloc serves them in about a third of glibc's
/// instructions (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    manifest_tasks::main(Project { built_from: &BUILT_FROM, ..lomash_manifests::project() })
}
