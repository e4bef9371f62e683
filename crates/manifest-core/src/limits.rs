//! What the API server would refuse of objects that validation passed field by field: limits on
//! the whole of an object, checked on the objects as they are built. A ConfigMap's data (its keys
//! and values together) may hold at most 1 MiB, as the API server validates it: a larger one
//! renders, and then every `kubectl apply` of the overlay fails.

use crate::error::Errors;
use crate::k8s::config_data;
use crate::model::Model;

/// The most a ConfigMap's keys and values may hold together: 1 MiB.
pub const CONFIG_MAP_DATA_LIMIT: usize = 1024 * 1024;

/// Each service's ConfigMap over [`CONFIG_MAP_DATA_LIMIT`], in the base or an environment, named
/// with its size.
pub fn check(model: &Model) -> Result<(), Errors> {
    let mut errors = Errors::default();
    let stages = std::iter::once(None).chain(model.platform.environments.iter().map(Some));
    for env in stages {
        let stage = env.map_or(model.platform.base_name.as_str(), |e| e.name.as_str());
        for service in &model.services {
            let data = config_data(&model.platform, env, service);
            let size: usize = data.iter().map(|(key, value)| key.len() + value.len()).sum();
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
