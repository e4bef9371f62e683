//! The environments of the platform, in one list: production and staging (the spec's two, in
//! [`crate::platform`]), then each environment added since, one module a name, written by
//! `cargo xtask new-environment <name> --from <environment>` as the source environment with the
//! values of its own name ([`crate::platform::derived`]).

use crate::spec::Environment;

/// Every environment, in order: the renderer, the docs, the lint and the tests loop over it.
pub fn all() -> Vec<Environment> {
    vec![
        // The spec's two.
        crate::platform::production(),
        crate::platform::staging(),
        // Those added since, in the order they were added.
    ]
}
