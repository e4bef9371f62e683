//! How a release runs its migrations (docs/spec.md ("Go-live") §2): once, in a Job of the release, never in
//! the pods of a Deployment; and the Job's pods are nobody's replicas: no Service, PDB, Deployment
//! or scheduling selector of the service may count them. Read from the objects alone: a migration
//! is what the output's Jobs run. And what the database takes (§7): the connections the objects
//! open at their maximum replicas fit each store's budget.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::pod::{Context, Pod, per_container};
use super::selectors::{map_selects, selector_problem, show};
use crate::object::Object;

/// The commands the Jobs of `namespace` run, with the Job's name.
fn job_commands<'a>(cx: &'a Context, namespace: Option<&'a str>) -> impl Iterator<Item = (&'a str, &'a [String])> {
    cx.objects
        .iter()
        .filter_map(move |o| match o {
            Object::Job(j) if j.metadata.namespace.as_deref() == namespace => Some(j),
            _ => None,
        })
        .flat_map(|j| {
            let name = j.metadata.name.as_deref().unwrap_or_default();
            let pod = j.spec.as_ref().and_then(|s| s.template.spec.as_ref());
            pod.into_iter().flat_map(|p| &p.containers).filter_map(move |c| Some((name, c.command.as_deref()?)))
        })
}

/// No container of a Deployment's pod runs what a migration Job runs: in every pod, one failed
/// migration would stop each later pod of the service, and pods starting together race for the
/// migration tool's lock.
pub(super) fn no_migrations_in_pods(cx: &Context, pod: &Pod) -> Vec<String> {
    let jobs: Vec<(&str, &[String])> = job_commands(cx, pod.namespace).filter(|(_, c)| !c.is_empty()).collect();
    per_container(pod, |c| {
        jobs.iter()
            .filter(|(_, command)| c.command == *command)
            .map(|(job, command)| {
                format!(
                    "runs `{}`, the migrations of Job/{job}: they run once per release, in the Job",
                    command.join(" ")
                )
            })
            .collect()
    })
}

/// A Job's pods are counted by no selector of a Service, a PodDisruptionBudget or a Deployment
/// (its own, its anti-affinity and its spread) of the namespace: a Service would route to them,
/// a PDB and an HPA would count them as replicas, the scheduler would place the service around
/// them.
pub(super) fn job_pods_uncounted(cx: &Context, o: &Object) -> Vec<String> {
    let Object::Job(job) = o else { return vec![] };
    let labels = job_pod_labels(job);
    let namespace = job.metadata.namespace.as_deref();
    let mut out = Vec::new();
    for other in cx.objects.iter().filter(|x| x.metadata().namespace.as_deref() == namespace) {
        let counts = |selector: Option<&LabelSelector>| selector_problem(selector, &labels).is_none();
        let mut selectors: Vec<(String, bool)> = Vec::new();
        match other {
            Object::Service(s) => {
                let selector = s.spec.as_ref().and_then(|s| s.selector.clone()).unwrap_or_default();
                selectors.push(("selector".into(), !selector.is_empty() && map_selects(&selector, &labels)));
            }
            Object::PodDisruptionBudget(p) => {
                selectors.push(("selector".into(), counts(p.spec.as_ref().and_then(|s| s.selector.as_ref()))));
            }
            Object::Deployment(d) => {
                let spec = d.spec.as_ref();
                selectors.push(("selector (and so its HPA)".into(), counts(spec.map(|s| &s.selector))));
                let pod = spec.and_then(|s| s.template.spec.as_ref());
                let anti = pod.and_then(|p| p.affinity.as_ref()).and_then(|a| a.pod_anti_affinity.as_ref());
                let required = anti.and_then(|a| a.required_during_scheduling_ignored_during_execution.as_ref());
                let preferred = anti.and_then(|a| a.preferred_during_scheduling_ignored_during_execution.as_ref());
                let terms =
                    required.into_iter().flatten().chain(preferred.into_iter().flatten().map(|w| &w.pod_affinity_term));
                for term in terms {
                    selectors.push(("podAntiAffinity".into(), counts(term.label_selector.as_ref())));
                }
                for c in pod.and_then(|p| p.topology_spread_constraints.as_ref()).into_iter().flatten() {
                    selectors.push(("topologySpreadConstraint".into(), counts(c.label_selector.as_ref())));
                }
            }
            _ => {}
        }
        for (what, counted) in selectors {
            if counted {
                out.push(format!("its pods ({}) are counted by the {what} of {}", show(&labels), other.id()));
            }
        }
    }
    out
}

fn job_pod_labels(job: &Job) -> BTreeMap<String, String> {
    let template = job.spec.as_ref().map(|s| &s.template);
    template.and_then(|t| t.metadata.as_ref()).and_then(|m| m.labels.clone()).unwrap_or_default()
}

/// docs/spec.md ("Go-live") §7: for each store the environment budgets, the connections at maximum replicas
/// (each Deployment's HPA maximum × the pool size its ConfigMap gives, + 1 per migration Job) fit
/// in `max_connections` less the reserved ones.
pub(super) fn connection_budget(cx: &Context, _: &Object) -> Vec<String> {
    cx.budgets
        .iter()
        .map(|d| crate::connections::count(&cx.lookup, d))
        .filter(|b| !b.fits())
        .map(|b| {
            let d = &b.declared;
            format!(
                "{}: {} connections at maximum replicas, {} ({} of them migration Jobs'), exceed the budget of {} \
                 (max_connections {} − reserved {}): lower a pool ({}) or a maximum, or raise the limit",
                d.environment,
                d.store,
                b.at_max,
                b.jobs,
                b.available(),
                d.limit.max_connections,
                d.limit.reserved,
                d.pool_key
            )
        })
        .collect()
}
