//! The connections an environment's pods may open to each data store that limits them
//! (docs/spec.md ("Go-live") §7): for each Deployment whose ConfigMap gives a store's pool size, its replicas
//! (the HPA's bounds) times that size, plus one for each migration Job that reads it, against the
//! store's `max_connections` less what it reserves. Counted on the objects themselves, as the
//! capacity table is: `cargo xtask capacity` prints it, the overlay README shows it, the lint
//! fails when the maximum does not fit.

use k8s_openapi::api::core::v1::PodSpec;

use crate::object::{Lookup, Object};
use crate::spec::{ConnectionLimit, Environment, Platform};

/// A store's connection limit in one environment, and the config key its users' pool size is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub environment: String,
    /// How the docs call the store, e.g. `PostgreSQL`.
    pub store: String,
    pub pool_key: String,
    /// How the services honour the key ([`crate::spec::ConnectionPool::contract`]).
    pub contract: String,
    pub limit: ConnectionLimit,
}

/// The limits `env` declares, for the stores that have a pool.
pub fn declared(platform: &Platform, env: &Environment) -> Vec<Declared> {
    env.connection_limits
        .iter()
        .filter_map(|(name, limit)| {
            let store = platform.store(name)?;
            Some(Declared {
                environment: env.name.clone(),
                store: store.title.clone(),
                pool_key: store.pool.as_ref()?.config_key.clone(),
                contract: store.pool.as_ref()?.contract.clone(),
                limit: *limit,
            })
        })
        .collect()
}

/// What the objects open to one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub declared: Declared,
    /// Σ replicas × pool size, at the HPAs' minimum and maximum, migration Jobs included.
    pub at_min: u64,
    pub at_max: u64,
    /// The migration Jobs among them, one connection each.
    pub jobs: u64,
}

impl Budget {
    /// What the services may use: `max_connections` less the reserved ones.
    pub fn available(&self) -> u64 {
        u64::from(self.declared.limit.max_connections.saturating_sub(self.declared.limit.reserved))
    }

    pub fn fits(&self) -> bool {
        self.at_max <= self.available()
    }

    /// One line, for the capacity table and the README.
    pub fn line(&self) -> String {
        let d = &self.declared;
        format!(
            "connections to {}: {} at minimum, {} at maximum replicas ({} per pod, + 1 for each of {} migration Jobs), \
             of {} (max_connections {} − reserved {})",
            d.store,
            self.at_min,
            self.at_max,
            d.pool_key,
            self.jobs,
            self.available(),
            d.limit.max_connections,
            d.limit.reserved,
        )
    }
}

/// The pool size a pod reads from its ConfigMap under `key` (its first container's), if any.
fn pool_size(lookup: &Lookup, pod: Option<&PodSpec>, namespace: Option<&str>, key: &str) -> Option<u64> {
    let container = pod?.containers.first()?;
    let config_maps = container.env_from.iter().flatten().filter_map(|e| e.config_map_ref.as_ref());
    config_maps.filter_map(|r| lookup.config_map(namespace, &r.name)?.data.as_ref()?.get(key)?.parse().ok()).next()
}

/// The connections `objects` open to the store of `declared`.
pub fn count(objects: &Lookup, declared: &Declared) -> Budget {
    let key = &declared.pool_key;
    let (mut at_min, mut at_max, mut jobs) = (0, 0, 0);
    for o in objects.objects() {
        match o {
            Object::Deployment(d) => {
                let spec = d.spec.as_ref();
                let pod = spec.and_then(|s| s.template.spec.as_ref());
                let Some(size) = pool_size(objects, pod, d.metadata.namespace.as_deref(), key) else { continue };
                let (min, max) = match objects.hpa(d) {
                    Some(h) => (h.min_replicas.unwrap_or(1), h.max_replicas),
                    None => {
                        let n = spec.and_then(|s| s.replicas).unwrap_or(1);
                        (n, n)
                    }
                };
                at_min += u64::try_from(min).unwrap_or(0) * size;
                at_max += u64::try_from(max).unwrap_or(0) * size;
            }
            // A migration Job runs one pod at a time, which opens one connection.
            Object::Job(j) => {
                let pod = j.spec.as_ref().and_then(|s| s.template.spec.as_ref());
                if pool_size(objects, pod, j.metadata.namespace.as_deref(), key).is_some() {
                    jobs += 1;
                }
            }
            _ => {}
        }
    }
    Budget { declared: declared.clone(), at_min: at_min + jobs, at_max: at_max + jobs, jobs }
}
