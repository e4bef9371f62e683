//! Every object of the tree, built once: the base objects of each service, and for each
//! environment its environment-wide objects, each service's objects and its service graph. The
//! patch derivation, the YAML writer, the overlay README, capacity and the lint all read these
//! same values ("compute once, query many"): nothing downstream rebuilds an object or re-parses a
//! platform string.

use std::ops::Range;

use crate::capacity::Plan;
use crate::connections::{self, Budget, Declared};
use crate::k8s::{base_objects, environment_objects, environment_wide};
use crate::model::{Model, Pool};
use crate::netpol::{self, Flow};
use crate::object::{Lookup, Object};
use crate::parallel::in_parallel;
use crate::policy::{self, Finding};
use crate::spec::Environment;

/// The whole tree's objects, for a checked model.
pub struct Built<'m> {
    pub model: &'m Model,
    /// Each service's base objects (development; no namespace), in catalogue order.
    pub base: Vec<Vec<Object>>,
    /// One per environment of the platform, in its order.
    pub environments: Vec<BuiltEnvironment<'m>>,
}

/// One environment's objects and graph, built once.
pub struct BuiltEnvironment<'m> {
    pub env: &'m Environment,
    /// Its checked node pool.
    pub pool: &'m Pool,
    /// Every object of the environment: the environment-wide ones (Namespace first), then service
    /// by service in catalogue order; [`BuiltEnvironment::service`] slices one service's out.
    pub objects: Vec<Object>,
    /// Where each service's objects sit in [`BuiltEnvironment::objects`], in catalogue order.
    spans: Vec<Range<usize>>,
    /// The service graph the environment's network policies allow ([`netpol::graph`]).
    pub flows: Vec<Flow>,
    /// The connection limits of its stores ([`connections::declared`]).
    pub budgets: Vec<Declared>,
}

impl<'m> Built<'m> {
    /// Builds every object of `model` once. Each environment is one piece of work, built on one
    /// core, and each service's base objects another: the environments come first, so that on two
    /// cores each is built by the thread that then writes its overlay and frees it (both take
    /// work in the same order), and its objects stay in that core's cache. Built in small pieces
    /// (each service of each environment), the objects crossed between the cores' caches and the
    /// render was 14–20 % slower (BENCHMARKS.md, "fourth pass").
    pub fn new(model: &'m Model) -> Built<'m> {
        enum Job<'m> {
            Environment(&'m Environment),
            Base(&'m crate::model::Service),
        }
        enum Part<'m> {
            Environment(BuiltEnvironment<'m>),
            Base(Vec<Object>),
        }
        let envs = model.platform.environments.iter().map(Job::Environment);
        let jobs: Vec<Job> = envs.chain(model.services.iter().map(Job::Base)).collect();
        let parts = in_parallel(&jobs, |job| match job {
            Job::Environment(env) => Part::Environment(BuiltEnvironment::new(model, env)),
            Job::Base(s) => Part::Base(base_objects(&model.platform, s)),
        });
        // In the jobs' order: the environments in the platform's, the services in the catalogue's.
        let (mut environments, mut base) = (Vec::new(), Vec::new());
        for part in parts {
            match part {
                Part::Environment(b) => environments.push(b),
                Part::Base(objects) => base.push(objects),
            }
        }
        Built { model, base, environments }
    }
}

impl Built<'_> {
    /// Frees everything built, each environment on a core of its own (see
    /// [`crate::parallel::drop_in_parallel`]).
    pub fn free(self) {
        let Built { base, environments, .. } = self;
        crate::parallel::drop_in_parallel(environments);
        drop(base);
    }
}

impl<'m> BuiltEnvironment<'m> {
    /// Builds the objects of one environment of `model`: each of [`Built::new`]'s environment jobs
    /// (where the services are built in turn, on that job's core), or alone for a command that
    /// needs one environment (the services shared between the cores). A checked model has a pool
    /// for every environment (validation refuses one without), so a missing pool is a bug, not an
    /// input.
    pub fn new(model: &'m Model, env: &'m Environment) -> BuiltEnvironment<'m> {
        let pool = model.pool(env).unwrap_or_else(|| panic!("{}: a checked model has a node pool", env.name));
        let per_service = in_parallel(&model.services, |s| environment_objects(&model.platform, env, s));
        let mut objects = environment_wide(model, env);
        objects.reserve(per_service.iter().map(Vec::len).sum());
        let mut spans = Vec::with_capacity(per_service.len());
        for service_objects in per_service {
            let start = objects.len();
            objects.extend(service_objects);
            spans.push(start..objects.len());
        }
        let budgets = connections::declared(&model.platform, env);
        BuiltEnvironment { env, pool, objects, spans, flows: netpol::graph(model, env), budgets }
    }

    /// The objects of the `index`th service of the catalogue in this environment.
    pub fn service(&self, index: usize) -> &[Object] {
        &self.objects[self.spans[index].clone()]
    }

    /// The environment-wide objects: those before the first service's.
    pub fn wide(&self) -> &[Object] {
        &self.objects[..self.spans.first().map_or(self.objects.len(), |s| s.start)]
    }

    /// The capacity plan of these objects against the environment's pool.
    pub fn capacity(&self) -> Result<Plan, String> {
        Plan::of(&Lookup::new(&self.objects), self.pool.clone())
    }

    /// Every lint rule on these objects ([`policy::check`]).
    pub fn lint(&self, model: &Model) -> Vec<Finding> {
        policy::check(&self.objects, self.pool, &self.flows, &model.platform.scanner_exceptions, &self.budgets)
    }

    /// The connections these objects open to each store the environment budgets.
    pub fn connections(&self) -> Vec<Budget> {
        let objects = Lookup::new(&self.objects);
        self.budgets.iter().map(|d| connections::count(&objects, d)).collect()
    }
}
