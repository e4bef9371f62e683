//! Capacity as code (docs/spec.md ("The base and production")): the nodes, CPU and memory an
//! environment's services need at their replica bounds, against the node pool the platform
//! declares for it ([`crate::spec::NodePool`], checked as [`Pool`]).
//!
//! Everything is read from the rendered objects (each Deployment, and the HPA that scales it), the
//! objects `kubectl kustomize` prints, so `cargo xtask capacity`, the overlay README (both print
//! [`table`]) and the lint rules of `policy/capacity.rs` count what the cluster gets. The
//! arithmetic:
//! - **Nodes.** A required pod anti-affinity on `kubernetes.io/hostname` puts at most one pod of a
//!   service on a node, so a service at its maximum needs that many nodes. A pool of z zones × m
//!   nodes places at most z·m such pods: the zone spread (`maxSkew: 1`) never lowers that, since
//!   every zone can hold m; it does set how full the fullest zone gets: ceil(max / z). A
//!   *preferred* anti-affinity only prefers: more pods than nodes still schedule, so no node
//!   count follows from it, and the table says so rather than failing.
//! - **A pod's requests** are what the scheduler reserves, per resource: the larger of the largest
//!   init container and the sum of the app containers (sidecars, init containers that restart
//!   `Always`, add to both). Init containers run before the main container, never beside it, so
//!   they count only when one asks more than the app containers together. Ours do not (the wait
//!   containers ask 50m / 64Mi, `run-migrations` the service's own), so each pod's requests are
//!   its main container's; [`PodResources::init_decides`] and the table's notes say when that
//!   stops being true. Limits are combined the same way.
//! - **Totals** at minimum and at maximum replicas are set against the pool's allocatable (zones ×
//!   nodes × one node's). Requests must fit; limits are shown beside them and may exceed it (they
//!   cap a container, the scheduler reserves nothing for them).
//! - **The heaviest node** holds one pod of every service (the most required anti-affinity lets
//!   one node hold), set against one node's allocatable.
//!
//! Pod overhead (a RuntimeClass's) and the DaemonSets' share are outside: the pool declares what
//! nodes offer pods after them (their allocatable).

use std::fmt::Write as _;
use std::ops::Add;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, PodSpec};

use crate::markdown::{self, plural};
use crate::model::Pool;
use crate::object::Object;
use crate::values::Quantity;

/// CPU and memory, in base units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amount {
    /// Millicores.
    pub cpu: u128,
    /// Bytes.
    pub memory: u128,
}

impl Amount {
    /// Both resources within `room`.
    pub fn fits_in(self, room: Amount) -> bool {
        self.cpu <= room.cpu && self.memory <= room.memory
    }

    pub fn times(self, n: u64) -> Amount {
        Amount { cpu: self.cpu.saturating_mul(n.into()), memory: self.memory.saturating_mul(n.into()) }
    }

    fn max(self, other: Amount) -> Amount {
        Amount { cpu: self.cpu.max(other.cpu), memory: self.memory.max(other.memory) }
    }
}

impl Add for Amount {
    type Output = Amount;
    fn add(self, other: Amount) -> Amount {
        Amount { cpu: self.cpu.saturating_add(other.cpu), memory: self.memory.saturating_add(other.memory) }
    }
}

impl std::iter::Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        iter.fold(Amount::default(), Add::add)
    }
}

/// The pool's arithmetic.
impl Pool {
    pub fn zone_count(&self) -> u64 {
        self.zones.len() as u64
    }

    pub fn nodes(&self) -> u64 {
        self.zone_count() * u64::from(self.nodes_per_zone)
    }

    /// What one node offers pods.
    pub fn node(&self) -> Amount {
        Amount { cpu: self.cpu.base_units(), memory: self.memory.base_units() }
    }

    /// What the whole pool offers pods.
    pub fn allocatable(&self) -> Amount {
        self.node().times(self.nodes())
    }

    /// The pods of one service in the fullest zone when `pods` spread with `maxSkew: 1`.
    pub fn per_zone(&self, pods: u64) -> u64 {
        pods.div_ceil(self.zone_count().max(1))
    }

    /// `3 zones × 7 nodes`.
    pub fn shape(&self) -> String {
        format!("{} × {}", plural(self.zone_count(), "zone", "zones"), plural(self.nodes_per_zone, "node", "nodes"))
    }
}

/// What one pod asks for, as the scheduler counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodResources {
    /// The pod's effective requests: what the scheduler reserves on its node.
    pub requests: Amount,
    /// The pod's effective limits.
    pub limits: Amount,
    /// The app containers' requests (and sidecars'), summed.
    pub app_requests: Amount,
    pub app_limits: Amount,
}

impl PodResources {
    /// Whether an init container, not the app containers, sets a request or limit of the pod.
    pub fn init_decides(&self) -> bool {
        self.requests != self.app_requests || self.limits != self.app_limits
    }
}

/// The effective requests and limits of a pod, per Kubernetes' rule: per resource, the larger of
/// the init phase (each init container in turn, beside the sidecars started before it) and the
/// app phase (the app containers and every sidecar together). Every container must state both
/// (`spec.resources` of the policy checks it); one that does not counts as Kubernetes counts it.
pub fn pod_resources(spec: &PodSpec) -> Result<PodResources, String> {
    let mut sidecars = (Amount::default(), Amount::default());
    let mut init = (Amount::default(), Amount::default());
    for c in spec.init_containers.iter().flatten() {
        let own = container_resources(c)?;
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars = (sidecars.0 + own.0, sidecars.1 + own.1);
            init = (init.0.max(sidecars.0), init.1.max(sidecars.1));
        } else {
            init = (init.0.max(sidecars.0 + own.0), init.1.max(sidecars.1 + own.1));
        }
    }
    let mut app = sidecars;
    for c in &spec.containers {
        let own = container_resources(c)?;
        app = (app.0 + own.0, app.1 + own.1);
    }
    Ok(PodResources { requests: init.0.max(app.0), limits: init.1.max(app.1), app_requests: app.0, app_limits: app.1 })
}

/// A container's (requests, limits), defaulted as Kubernetes does: a missing request is the
/// limit, or nothing without one; a missing limit is [`UNBOUNDED`]. Only a value that does not
/// parse is an error.
fn container_resources(c: &Container) -> Result<(Amount, Amount), String> {
    let r = c.resources.clone().unwrap_or_default();
    let read = |kind: &str, resource: &str, parse: fn(&str) -> Result<Quantity, String>| {
        let map = if kind == "requests" { &r.requests } else { &r.limits };
        let text = map.as_ref().and_then(|m| m.get(resource)).map(|q| q.0.as_str());
        text.map(|t| {
            parse(t).map(|q| q.base_units()).map_err(|e| format!("container {}: {resource} {kind} {e}", c.name))
        })
        .transpose()
    };
    let cpu_limit = read("limits", "cpu", Quantity::cpu)?;
    let memory_limit = read("limits", "memory", Quantity::memory)?;
    let requests = Amount {
        cpu: read("requests", "cpu", Quantity::cpu)?.or(cpu_limit).unwrap_or(0),
        memory: read("requests", "memory", Quantity::memory)?.or(memory_limit).unwrap_or(0),
    };
    let limits = Amount { cpu: cpu_limit.unwrap_or(UNBOUNDED), memory: memory_limit.unwrap_or(UNBOUNDED) };
    Ok((requests, limits))
}

/// No limit: saturating arithmetic keeps it so through sums and products, and the table shows
/// it as `unbounded`.
pub const UNBOUNDED: u128 = u128::MAX;

/// One service (one Deployment): its replica bounds, its pod, how it is spread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The Deployment's name: the service.
    pub service: String,
    pub namespace: Option<String>,
    pub min_replicas: u64,
    pub max_replicas: u64,
    /// The bounds are an HPA's (otherwise both are the Deployment's fixed `replicas`).
    pub autoscaled: bool,
    pub pod: PodResources,
    /// A required anti-affinity on the hostname: at most one pod of the service on a node.
    pub one_per_node: bool,
}

/// Whether the pool places a service's maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// One pod a node: `needed` nodes, `room` in the pool.
    Fits {
        needed: u64,
        room: u64,
    },
    TooFewNodes {
        needed: u64,
        room: u64,
    },
    /// The anti-affinity only prefers one pod a node: the node count sets no limit.
    NotLimited,
}

impl Line {
    /// Reads the line of Deployment `d`, its HPA found in `lookup` (of the objects `d` is among).
    pub fn looked_up(lookup: &crate::object::Lookup, d: &Deployment) -> Result<Line, String> {
        let name = d.metadata.name.clone().unwrap_or_default();
        let namespace = d.metadata.namespace.clone();
        let spec = d.spec.as_ref().ok_or("no spec")?;
        let pod = spec.template.spec.as_ref().ok_or("no pod template spec")?;
        let hpa = lookup.hpa(d);
        let count = |what: &str, n: i32| u64::try_from(n).map_err(|_| format!("{what} {n} is not a number of pods"));
        let (min_replicas, max_replicas) = match hpa {
            // Kubernetes' defaults: an HPA without minReplicas keeps 1, a Deployment without
            // replicas runs 1.
            Some(h) => (count("minReplicas", h.min_replicas.unwrap_or(1))?, count("maxReplicas", h.max_replicas)?),
            None => {
                let n = count("replicas", spec.replicas.unwrap_or(1))?;
                (n, n)
            }
        };
        // The selector rules of the policy check that the term selects the pod's own labels.
        let one_per_node = crate::object::one_pod_per_node(pod);
        Ok(Line {
            service: name,
            namespace,
            min_replicas,
            max_replicas,
            autoscaled: hpa.is_some(),
            pod: pod_resources(pod)?,
            one_per_node,
        })
    }

    /// The nodes the maximum needs: one a pod under a required anti-affinity, none otherwise.
    pub fn nodes_at_max(&self) -> Option<u64> {
        self.one_per_node.then_some(self.max_replicas)
    }

    pub fn placement(&self, pool: &Pool) -> Placement {
        match self.nodes_at_max() {
            None => Placement::NotLimited,
            Some(needed) if needed <= pool.nodes() => Placement::Fits { needed, room: pool.nodes() },
            Some(needed) => Placement::TooFewNodes { needed, room: pool.nodes() },
        }
    }
}

/// Every service of an environment against its pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub pool: Pool,
    pub lines: Vec<Line>,
}

impl Plan {
    /// One line per Deployment of `objects`, in their order.
    pub fn of(objects: &crate::object::Lookup, pool: Pool) -> Result<Plan, String> {
        let mut lines = Vec::new();
        for o in objects.objects() {
            if let Object::Deployment(d) = o {
                lines.push(Line::looked_up(objects, d).map_err(|e| format!("{}: {e}", o.id()))?);
            }
        }
        Ok(Plan { pool, lines })
    }

    /// Requests and limits of every pod at minimum replicas.
    pub fn at_min(&self) -> (Amount, Amount) {
        self.total(|l| l.min_replicas)
    }

    /// Requests and limits of every pod at maximum replicas.
    pub fn at_max(&self) -> (Amount, Amount) {
        self.total(|l| l.max_replicas)
    }

    fn total(&self, replicas: impl Fn(&Line) -> u64) -> (Amount, Amount) {
        let requests = self.lines.iter().map(|l| l.pod.requests.times(replicas(l))).sum();
        let limits = self.lines.iter().map(|l| l.pod.limits.times(replicas(l))).sum();
        (requests, limits)
    }

    /// One pod of every service on one node: requests and limits.
    pub fn heaviest_node(&self) -> (Amount, Amount) {
        (self.lines.iter().map(|l| l.pod.requests).sum(), self.lines.iter().map(|l| l.pod.limits).sum())
    }

    /// The nodes per zone the required anti-affinity needs: the fullest zone of the largest
    /// maximum. A pool as even as the declared one needs that many in every zone.
    pub fn nodes_per_zone_needed(&self) -> u64 {
        self.lines.iter().filter_map(Line::nodes_at_max).map(|n| self.pool.per_zone(n)).max().unwrap_or(0)
    }

    /// The fewest nodes the requests at maximum would fit on by CPU and memory alone, were every
    /// node filled to its allocatable (no anti-affinity, perfect packing): a lower bound.
    pub fn nodes_by_requests(&self) -> u64 {
        let (requests, _) = self.at_max();
        let node = self.pool.node();
        let need = |total: u128, one: u128| if one == 0 { 0 } else { total.div_ceil(one) };
        u64::try_from(need(requests.cpu, node.cpu).max(need(requests.memory, node.memory))).unwrap_or(u64::MAX)
    }
}

/// The capacity table, in Markdown (aligned, so it reads in a terminal too): the pool, one row
/// per service, the totals and what they mean. `cargo xtask capacity` prints it; the overlay
/// README embeds it.
pub fn table(plan: &Plan) -> String {
    let pool = &plan.pool;
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "Pool: {} ({}) = {}, each with `{}` CPU and `{}` memory allocatable: {} CPU and {} in all.",
        pool.shape(),
        pool.zones.iter().map(|z| format!("`{z}`")).collect::<Vec<_>>().join(", "),
        plural(pool.nodes(), "node", "nodes"),
        pool.cpu,
        pool.memory,
        cpu_text(pool.allocatable().cpu),
        memory_text(pool.allocatable().memory),
    );
    let _ = writeln!(w);

    let rows: Vec<Vec<String>> = plan
        .lines
        .iter()
        .map(|l| {
            let (nodes, per_zone) = match l.nodes_at_max() {
                Some(n) => (n.to_string(), format!("{} of {}", pool.per_zone(n), pool.nodes_per_zone)),
                None => ("— (preferred)".to_owned(), format!("— of {}", pool.nodes_per_zone)),
            };
            let placed = match l.placement(pool) {
                Placement::Fits { needed, room } => format!("yes ({needed} ≤ {room})"),
                Placement::TooFewNodes { needed, room } => format!("**NO** ({needed} > {room})"),
                Placement::NotLimited => "not limited: anti-affinity preferred".to_owned(),
            };
            let bounds = if l.autoscaled { "HPA" } else { "fixed" };
            vec![
                format!("`{}`", l.service),
                format!("{} – {} ({bounds})", l.min_replicas, l.max_replicas),
                nodes,
                per_zone,
                placed,
                amount_text(l.pod.requests),
                amount_text(l.pod.limits),
            ]
        })
        .collect();
    markdown::table(
        w,
        &["Service", "Replicas", "Nodes at max", "Per zone", "Max placed", "Pod requests", "Pod limits"],
        rows,
        true,
    );
    let _ = writeln!(w);

    let all = pool.allocatable();
    let node = pool.node();
    let (min_requests, min_limits) = plan.at_min();
    let (max_requests, max_limits) = plan.at_max();
    let (heavy_requests, heavy_limits) = plan.heaviest_node();
    // (label, amount, what it is a share of, whether it must fit there)
    let row = |what: String, a: Amount, of: Amount, must_fit: Option<bool>| {
        let fits = match must_fit {
            None => "—".to_owned(),
            Some(false) => "— (not reserved)".to_owned(),
            Some(true) if a.fits_in(of) => "yes".to_owned(),
            Some(true) => "**NO**".to_owned(),
        };
        vec![what, cpu_text(a.cpu), percent(a.cpu, of.cpu), memory_text(a.memory), percent(a.memory, of.memory), fits]
    };
    let one_node = format!("share of one node, `{}` / `{}`", pool.cpu, pool.memory);
    let rows = vec![
        row(format!("Pool allocatable ({})", pool.shape()), all, all, None),
        row("Requests at minimum replicas".into(), min_requests, all, Some(true)),
        row("Requests at maximum replicas".into(), max_requests, all, Some(true)),
        row("Limits at minimum replicas".into(), min_limits, all, Some(false)),
        row("Limits at maximum replicas".into(), max_limits, all, Some(false)),
        row(format!("Heaviest node, requests: one pod of each service ({one_node})"), heavy_requests, node, Some(true)),
        row(format!("Heaviest node, limits ({one_node})"), heavy_limits, node, Some(false)),
    ];
    markdown::table(w, &["Total", "CPU", "Share", "Memory", "Share", "Fits"], rows, true);
    let _ = writeln!(w);

    let hard: Vec<&Line> = plan.lines.iter().filter(|l| l.one_per_node).collect();
    if let Some(widest) = hard.iter().map(|l| l.max_replicas).max() {
        let widest_services: Vec<String> =
            hard.iter().filter(|l| l.max_replicas == widest).map(|l| format!("`{}`", l.service)).collect();
        let per_zone = plan.nodes_per_zone_needed();
        let _ = writeln!(
            w,
            "- Nodes: the required anti-affinity (one pod of a service a node) decides the pool, not CPU. The \
             largest maximum, {widest} replicas ({}), needs {widest} nodes, {per_zone} in the fullest zone \
             (ceil({widest} / {})): an even pool needs {} = {} nodes. By requests alone, {} would do.",
            widest_services.join(", "),
            pool.zone_count(),
            format_args!("{} × {per_zone}", pool.zone_count()),
            pool.zone_count() * per_zone,
            plural(plan.nodes_by_requests(), "node", "nodes"),
        );
    }
    let preferred: Vec<String> =
        plan.lines.iter().filter(|l| !l.one_per_node).map(|l| format!("`{}`", l.service)).collect();
    if !preferred.is_empty() {
        let _ = writeln!(
            w,
            "- Not limited by nodes: {} (the anti-affinity only prefers one pod a node, so pods share nodes when \
             there are too few; the heaviest-node row is then not a bound).",
            preferred.join(", ")
        );
    }
    let init: Vec<String> =
        plan.lines.iter().filter(|l| l.pod.init_decides()).map(|l| format!("`{}`", l.service)).collect();
    if init.is_empty() {
        let _ = writeln!(
            w,
            "- Pod requests are what the scheduler reserves: the larger of the largest init container and the app \
             containers together (init containers run before them, never beside). No init container asks more than \
             its app container here, so each pod's requests and limits are its main container's."
        );
    } else {
        let _ = writeln!(
            w,
            "- Pod requests are what the scheduler reserves: the larger of the largest init container and the app \
             containers together. An init container asks more than the app containers in {}: the rows count it.",
            init.join(", ")
        );
    }
    let _ = writeln!(
        w,
        "- Requests must fit the allocatable; limits may exceed it (they cap a container, nothing is reserved for \
         them). `cargo xtask lint` fails when a maximum cannot be placed or the requests at maximum exceed the pool."
    );
    out
}

/// `cpu / memory`, e.g. `0.5 CPU / 0.5Gi`.
fn amount_text(a: Amount) -> String {
    format!("{} CPU / {}", cpu_text(a.cpu), memory_text(a.memory))
}

/// Millicores as cores: `42500` → `42.5`, `3920` → `3.92`, `2000` → `2`.
pub fn cpu_text(millicores: u128) -> String {
    if millicores == UNBOUNDED {
        return "unbounded".to_owned();
    }
    decimal(millicores, 1000).unwrap_or_else(|| format!("{millicores}m"))
}

/// Bytes in Gi (`42.5Gi`, `0.25Gi`) when three decimals say it exactly, else in Mi, else bytes.
pub fn memory_text(bytes: u128) -> String {
    if bytes == UNBOUNDED {
        return "unbounded".to_owned();
    }
    const MI: u128 = 1 << 20;
    match decimal(bytes, 1 << 30) {
        Some(gi) => format!("{gi}Gi"),
        None if bytes.is_multiple_of(MI) => format!("{}Mi", bytes / MI),
        None => bytes.to_string(),
    }
}

/// `value / unit` with at most three decimals, trailing zeros dropped; `None` when inexact.
fn decimal(value: u128, unit: u128) -> Option<String> {
    let thousandths = value.checked_mul(1000)?;
    if !thousandths.is_multiple_of(unit) {
        return None;
    }
    let t = thousandths / unit;
    let (whole, fraction) = (t / 1000, t % 1000);
    Some(if fraction == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{fraction:03}").trim_end_matches('0'))
    })
}

/// `part` of `whole` in percent, one decimal, rounded half up: `51.6 %`.
fn percent(part: u128, whole: u128) -> String {
    if whole == 0 || part == UNBOUNDED {
        return "—".to_owned();
    }
    let tenths = (part.saturating_mul(2000) / whole).div_ceil(2);
    format!("{}.{} %", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_read_naturally() {
        for (m, text) in [(42_500, "42.5"), (3920, "3.92"), (2000, "2"), (250, "0.25"), (1, "0.001"), (82_320, "82.32")]
        {
            assert_eq!(cpu_text(m), text);
        }
        for (bytes, text) in
            [(43_520 << 20, "42.5Gi"), (14 << 30, "14Gi"), (256 << 20, "0.25Gi"), (64 << 20, "64Mi"), (1000, "1000")]
        {
            assert_eq!(memory_text(bytes), text);
        }
        for (part, whole, text) in [(42_500, 82_320, "51.6 %"), (1, 3, "33.3 %"), (2, 3, "66.7 %"), (5, 5, "100.0 %")] {
            assert_eq!(percent(part, whole), text);
        }
    }
}
