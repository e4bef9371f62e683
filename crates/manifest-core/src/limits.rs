//! What the API server would refuse of objects that validation passed field by field: limits on
//! the whole of an object, checked on the objects as they are built. A ConfigMap's data (its keys
//! and values together) may hold at most 1 MiB, as the API server validates it: a larger one
//! renders, and then every `kubectl apply` of the overlay fails.

use crate::built::Built;
use crate::error::Errors;
use crate::object::Object;

/// The most a ConfigMap's keys and values may hold together: 1 MiB.
pub const CONFIG_MAP_DATA_LIMIT: usize = 1024 * 1024;

/// Each service's ConfigMap over [`CONFIG_MAP_DATA_LIMIT`], in the base or an environment, named
/// with its size: read from the objects as built (nothing is built again to check them).
pub fn check(built: &Built) -> Result<(), Errors> {
    let model = built.model;
    let mut errors = Errors::default();
    let base = (model.platform.base_name.as_str(), built.base.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let environments = built.environments.iter().map(|b| {
        let objects = (0..model.services.len()).map(|i| b.service(i)).collect::<Vec<_>>();
        (b.env.name.as_str(), objects)
    });
    for (stage, objects) in std::iter::once(base).chain(environments) {
        for (service, objects) in model.services.iter().zip(objects) {
            let size: usize = objects
                .iter()
                .filter_map(|o| match o {
                    Object::ConfigMap(c) => c.data.as_ref(),
                    _ => None,
                })
                .flatten()
                .map(|(key, value)| key.len() + value.len())
                .sum();
            if size > CONFIG_MAP_DATA_LIMIT {
                errors.push(
                    &service.name,
                    &format!("{stage}.config"),
                    format!(
                        "the ConfigMap's data is {size} bytes, over the API server's limit of {CONFIG_MAP_DATA_LIMIT} \
                         (1 MiB): move the large values into a mounted file or an image"
                    ),
                );
            }
        }
    }
    errors.into_result(())
}
