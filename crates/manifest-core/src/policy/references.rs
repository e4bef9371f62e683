//! What a container references exists: the ConfigMaps of `envFrom`, `env` and volumes are
//! objects of the output, and every Secret they name is declared there by an ExternalSecret of
//! the pod's namespace that produces it (docs/spec.md ("Secrets"): the overlay declares where each secret comes
//! from, never its value).

use super::pod::{Context, Pod, per_container};
use crate::object::Object;

pub(super) fn configmap_refs(cx: &Context, pod: &Pod) -> Vec<String> {
    let config_map = |name: &str| {
        cx.objects.iter().find_map(|o| match o {
            Object::ConfigMap(c) if o.name() == name && c.metadata.namespace.as_deref() == pod.namespace => Some(c),
            _ => None,
        })
    };
    let missing = |name: &str| config_map(name).is_none().then(|| format!("ConfigMap {name} is not in the output"));
    let mut out = per_container(pod, |c| {
        let mut out: Vec<String> =
            c.env_from.iter().filter_map(|e| e.config_map_ref.as_ref()).filter_map(|r| missing(&r.name)).collect();
        for var in c.env {
            let Some(r) = var.value_from.as_ref().and_then(|v| v.config_map_key_ref.as_ref()) else { continue };
            match config_map(&r.name) {
                None => out.push(format!("env {}: ConfigMap {} is not in the output", var.name, r.name)),
                Some(cm)
                    if !cm.data.iter().flatten().any(|(k, _)| *k == r.key)
                        && !cm.binary_data.iter().flatten().any(|(k, _)| *k == r.key) =>
                {
                    out.push(format!("env {}: ConfigMap {} has no key {}", var.name, r.name, r.key))
                }
                Some(_) => {}
            }
        }
        out
    });
    for v in pod.spec.volumes.iter().flatten() {
        let projected =
            v.projected.iter().flat_map(|p| p.sources.iter().flatten()).filter_map(|s| s.config_map.as_ref());
        for name in v.config_map.iter().map(|c| &c.name).chain(projected.map(|c| &c.name)) {
            out.extend(missing(name).map(|m| format!("volume {}: {m}", v.name)));
        }
    }
    out
}

pub(super) fn secret_refs(cx: &Context, pod: &Pod) -> Vec<String> {
    let declared = |name: &str| {
        cx.objects.iter().any(|o| match o {
            Object::ExternalSecret(e) => e.produces() == name && e.metadata.namespace.as_deref() == pod.namespace,
            _ => false,
        })
    };
    let undeclared = |name: &str| {
        (!declared(name)).then(|| format!("Secret {name} is produced by no ExternalSecret of the pod's namespace"))
    };
    let mut out = per_container(pod, |c| {
        let from = c.env_from.iter().filter_map(|e| e.secret_ref.as_ref()).map(|r| r.name.as_str());
        let keys = c.env.iter().filter_map(|v| v.value_from.as_ref()?.secret_key_ref.as_ref()).map(|r| r.name.as_str());
        from.chain(keys).filter_map(undeclared).collect()
    });
    for v in pod.spec.volumes.iter().flatten() {
        let projected = v
            .projected
            .iter()
            .flat_map(|p| p.sources.iter().flatten())
            .filter_map(|s| s.secret.as_ref())
            .map(|s| &s.name);
        let direct = v.secret.iter().filter_map(|s| s.secret_name.as_ref());
        for name in direct.chain(projected) {
            out.extend(undeclared(name).map(|m| format!("volume {}: {m}", v.name)));
        }
    }
    for r in pod.spec.image_pull_secrets.iter().flatten() {
        out.extend(undeclared(&r.name).map(|m| format!("imagePullSecrets: {m}")));
    }
    out
}
