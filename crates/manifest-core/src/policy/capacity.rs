//! Capacity (`docs/spec.md` ("The base and production")): every maximum can be placed on the environment's
//! node pool, and the requests at maximum fit its allocatable. The arithmetic is
//! [`crate::capacity`]'s, read from the same objects; the pool comes with the [`Context`].

use super::pod::Context;
use crate::capacity::{Line, Placement, Plan, cpu_text, memory_text};
use crate::object::Object;

/// On each Deployment: under a required anti-affinity on the hostname, its maximum needs one
/// node a pod, and the pool must have that many.
pub(super) fn placement(cx: &Context, o: &Object) -> Vec<String> {
    let Object::Deployment(d) = o else { return vec![] };
    let line = match Line::looked_up(&cx.lookup, d) {
        Ok(line) => line,
        Err(e) => return vec![format!("cannot count: {e}")],
    };
    let pool = cx.pool;
    match line.placement(pool) {
        Placement::Fits { .. } | Placement::NotLimited => vec![],
        Placement::TooFewNodes { needed, room } => vec![format!(
            "{} {} needs {needed} nodes, one pod a node (required anti-affinity on {HOSTNAME}), {} in the fullest \
             zone; the pool has {} = {room}",
            if line.autoscaled { "HPA maxReplicas" } else { "replicas" },
            line.max_replicas,
            pool.per_zone(needed),
            pool.shape(),
        )],
    }
}

use crate::object::HOSTNAME_KEY as HOSTNAME;

/// On each Namespace: the requests of its pods at their maximum replicas, against the pool's
/// allocatable. The Namespace stands for the environment: the total belongs to no one service.
pub(super) fn requests_at_max(cx: &Context, o: &Object) -> Vec<String> {
    let Object::Namespace(n) = o else { return vec![] };
    let plan = match Plan::of(&cx.lookup, cx.pool.clone()) {
        Ok(plan) => plan,
        Err(e) => return vec![format!("cannot count: {e}")],
    };
    let ns = n.metadata.name.as_deref();
    let lines: Vec<Line> = plan.lines.into_iter().filter(|l| l.namespace.as_deref() == ns).collect();
    let plan = Plan { lines, ..plan };
    let (requests, _) = plan.at_max();
    let room = plan.pool.allocatable();
    let mut out = Vec::new();
    for (what, need, has, text) in [
        ("CPU", requests.cpu, room.cpu, cpu_text as fn(u128) -> String),
        ("memory", requests.memory, room.memory, memory_text),
    ] {
        if need > has {
            out.push(format!(
                "{what} requests at maximum replicas, {}, exceed the pool's allocatable {} ({} of {} / {})",
                text(need),
                text(has),
                plan.pool.shape(),
                plan.pool.cpu,
                plan.pool.memory
            ));
        }
    }
    out
}
