//! docs/spec.md ("The base and production") as rules, so that no later change can undo a decision quietly: the HPA
//! owns the replica count, a rollout under hard anti-affinity can always make progress, pods stop
//! gracefully, the config checksum matches the ConfigMap, every pod's ServiceAccount exists, the
//! wait loops are bounded and nothing runs `npx`.

use k8s_openapi::Resource;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::pod::{Context, Pod, per_container, pod_of};
use crate::k8s::{CONFIG_CHECKSUM_ANNOTATION, HOSTNAME_KEY, config_checksum};
use crate::object::{Object, one_pod_per_node};

/// A Deployment an HPA scales carries no `spec.replicas`: `kubectl apply` would reset the
/// autoscaled count to it on every deploy.
pub(super) fn no_replicas_beside_hpa(cx: &Context, o: &Object) -> Vec<String> {
    let Object::Deployment(d) = o else { return vec![] };
    let name = d.metadata.name.as_deref().unwrap_or_default();
    let scaled = cx.lookup.hpa(d).is_some();
    match d.spec.as_ref().and_then(|s| s.replicas) {
        Some(n) if scaled => vec![format!("replicas {n} beside HorizontalPodAutoscaler/{name}: every apply resets it")],
        _ => vec![],
    }
}

/// Under a required anti-affinity on the hostname, a surge pod needs a spare node; without one it
/// stays Pending, and with `maxUnavailable: 0` the rollout then never ends. An old pod must be
/// allowed to make room.
pub(super) fn rollout_cannot_deadlock(_: &Context, o: &Object) -> Vec<String> {
    let Object::Deployment(d) = o else { return vec![] };
    let Some(spec) = d.spec.as_ref() else { return vec![] };
    let hard_one_a_node = spec.template.spec.as_ref().is_some_and(one_pod_per_node);
    if !hard_one_a_node {
        return vec![];
    }
    let strategy = spec.strategy.as_ref();
    if strategy.and_then(|s| s.type_.as_deref()) == Some("Recreate") {
        return vec![];
    }
    // Kubernetes' default is 25 %, which rounds down to 0 below four replicas.
    let unavailable = strategy.and_then(|s| s.rolling_update.as_ref()).and_then(|r| r.max_unavailable.as_ref());
    let can_make_room = match unavailable {
        Some(IntOrString::Int(n)) => *n >= 1,
        Some(IntOrString::String(_)) | None => false,
    };
    if can_make_room {
        vec![]
    } else {
        vec![format!(
            "maxUnavailable {} under a required anti-affinity on {HOSTNAME_KEY}: a rollout with no spare node never ends",
            unavailable.map_or("unset".to_owned(), |u| match u {
                IntOrString::Int(n) => n.to_string(),
                IntOrString::String(s) => s.clone(),
            })
        )]
    }
}

/// The main container sleeps in `preStop` (endpoints go before SIGTERM comes) and the pod's grace
/// period leaves time after it.
pub(super) fn graceful_shutdown(_: &Context, pod: &Pod) -> Vec<String> {
    let Some(main) = pod.spec.containers.first() else { return vec![] };
    let sleep = main.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()).and_then(|h| h.sleep.as_ref());
    let Some(sleep) = sleep else { return vec![format!("{}: no preStop sleep", main.name)] };
    // Kubernetes' default grace period is 30 s.
    let grace = pod.spec.termination_grace_period_seconds.unwrap_or(30);
    if grace <= sleep.seconds {
        vec![format!(
            "terminationGracePeriodSeconds {grace} leaves no time after the {} s preStop sleep",
            sleep.seconds
        )]
    } else {
        vec![]
    }
}

/// `checksum/config` on the pod template is the checksum of the ConfigMap the pod reads, as it is
/// in this output: a stale one would not roll the pods on a config change.
pub(super) fn config_checksum_matches(cx: &Context, o: &Object) -> Vec<String> {
    let Object::Deployment(d) = o else { return vec![] };
    let Some(pod) = pod_of(d) else { return vec![] };
    let Some(sum) = pod.annotations.get(CONFIG_CHECKSUM_ANNOTATION) else {
        return vec![format!("no {CONFIG_CHECKSUM_ANNOTATION} annotation on the pod template")];
    };
    let names: Vec<&str> = pod
        .spec
        .containers
        .iter()
        .flat_map(|c| c.env_from.iter().flatten())
        .filter_map(|e| e.config_map_ref.as_ref().map(|r| r.name.as_str()))
        .collect();
    let [name] = names.as_slice() else {
        return vec![format!("the main containers read {} ConfigMaps; the checksum covers one", names.len())];
    };
    let data = cx.objects.iter().find_map(|o| match o {
        Object::ConfigMap(cm)
            if cm.metadata.name.as_deref() == Some(name) && cm.metadata.namespace == d.metadata.namespace =>
        {
            Some(cm.data.clone().unwrap_or_default())
        }
        _ => None,
    });
    match data {
        None => vec![format!("ConfigMap/{name} is not in the output")],
        Some(data) if config_checksum(&data) != *sum => {
            vec![format!("{CONFIG_CHECKSUM_ANNOTATION} {sum} is not the checksum of ConfigMap/{name}")]
        }
        Some(_) => vec![],
    }
}

/// The pod names its ServiceAccount, and that ServiceAccount is in the output.
pub(super) fn service_account_exists(cx: &Context, pod: &Pod) -> Vec<String> {
    let Some(name) = pod.spec.service_account_name.as_deref() else {
        return vec!["no serviceAccountName: the pod would run as the namespace's default".into()];
    };
    let exists = cx.objects.iter().any(|o| {
        o.kind() == ServiceAccount::KIND && o.name() == name && o.metadata().namespace.as_deref() == pod.namespace
    });
    if exists { vec![] } else { vec![format!("ServiceAccount/{name} is not in the output")] }
}

/// A shell loop in a container command gives up: it has an `exit 1` to reach.
pub(super) fn bounded_waits(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        let words: Vec<&String> = c.command.iter().chain(c.args).collect();
        let loops = words.iter().any(|w| w.contains("until ") || w.contains("while "));
        let gives_up = words.iter().any(|w| w.contains("exit 1"));
        if loops && !gives_up {
            vec!["a shell loop with no way out: it would wait silently forever".into()]
        } else {
            vec![]
        }
    })
}

/// No container runs `npx`, which installs the latest package from the registry at start.
pub(super) fn no_npx(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        let runs_npx = c.command.iter().chain(c.args).any(|w| {
            w.split(|ch: char| !(ch.is_alphanumeric() || ch == '/' || ch == '.' || ch == '-'))
                .any(|t| t == "npx" || t.ends_with("/npx"))
        });
        if runs_npx { vec!["runs npx: the image's own CLI, never a download at pod start".into()] } else { vec![] }
    })
}
