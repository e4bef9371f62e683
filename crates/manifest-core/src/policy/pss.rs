//! Rules of the Kubernetes Pod Security Standards: the "baseline" profile and the "restricted"
//! profile on top of it, on every container of a pod (init and ephemeral included).

use crate::node::Node;

use super::pod::{Context, Pod, caps, per_container, psc};

pub(super) fn host_process(_: &Context, pod: &Pod) -> Vec<String> {
    let mut out = Vec::new();
    if psc(pod).windows_options.and_then(|w| w.host_process) == Some(true) {
        out.push("pod: windowsOptions.hostProcess is true".into());
    }
    out.extend(per_container(pod, |c| {
        let on = c.sc.and_then(|s| s.windows_options.as_ref()).and_then(|w| w.host_process) == Some(true);
        on.then(|| "windowsOptions.hostProcess is true".to_owned()).into_iter().collect()
    }));
    out
}

pub(super) fn host_namespaces(_: &Context, pod: &Pod) -> Vec<String> {
    let s = pod.spec;
    [("hostNetwork", s.host_network), ("hostPID", s.host_pid), ("hostIPC", s.host_ipc)]
        .into_iter()
        .filter(|(_, v)| *v == Some(true))
        .map(|(field, _)| format!("pod: {field} is true"))
        .collect()
}

pub(super) fn privileged(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        let on = c.sc.and_then(|s| s.privileged) == Some(true);
        on.then(|| "privileged is true".to_owned()).into_iter().collect()
    })
}

/// Capabilities the baseline lets a container add (the container runtime's default set).
pub(super) const BASELINE_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

pub(super) fn capabilities_baseline(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        caps(c)
            .add
            .unwrap_or_default()
            .into_iter()
            .filter(|cap| !BASELINE_CAPABILITIES.contains(&cap.as_str()))
            .map(|cap| format!("adds capability {cap}"))
            .collect()
    })
}

pub(super) fn host_path(_: &Context, pod: &Pod) -> Vec<String> {
    pod.spec
        .volumes
        .iter()
        .flatten()
        .filter(|v| v.host_path.is_some())
        .map(|v| format!("volume {}: hostPath", v.name))
        .collect()
}

pub(super) fn host_ports(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        c.ports.iter().filter_map(|p| p.host_port.filter(|h| *h != 0)).map(|h| format!("hostPort {h}")).collect()
    })
}

pub(super) fn host_probes(_: &Context, pod: &Pod) -> Vec<String> {
    let set = |h: &Option<String>| h.as_deref().is_some_and(|h| !h.is_empty());
    per_container(pod, |c| {
        let mut out = Vec::new();
        for (name, probe) in c.probes {
            let Some(p) = probe else { continue };
            if p.http_get.as_ref().is_some_and(|g| set(&g.host)) || p.tcp_socket.as_ref().is_some_and(|t| set(&t.host))
            {
                out.push(format!("{name} sets a host"));
            }
        }
        let hooks = c.lifecycle.map(|l| [("postStart", l.post_start.as_ref()), ("preStop", l.pre_stop.as_ref())]);
        for (name, hook) in hooks.into_iter().flatten() {
            let Some(h) = hook else { continue };
            if h.http_get.as_ref().is_some_and(|g| set(&g.host)) || h.tcp_socket.as_ref().is_some_and(|t| set(&t.host))
            {
                out.push(format!("lifecycle {name} sets a host"));
            }
        }
        out
    })
}

pub(super) const APPARMOR_ANNOTATION: &str = "container.apparmor.security.beta.kubernetes.io/";

pub(super) fn apparmor(_: &Context, pod: &Pod) -> Vec<String> {
    let allowed = |t: &str| matches!(t, "RuntimeDefault" | "Localhost");
    let mut out = Vec::new();
    if let Some(p) = psc(pod).app_armor_profile.filter(|p| !allowed(&p.type_)) {
        out.push(format!("pod: appArmorProfile {}", p.type_));
    }
    for (key, value) in &pod.annotations {
        if key.starts_with(APPARMOR_ANNOTATION) && value != "runtime/default" && !value.starts_with("localhost/") {
            out.push(format!("annotation {key}: {value}"));
        }
    }
    out.extend(per_container(pod, |c| {
        c.sc.and_then(|s| s.app_armor_profile.as_ref())
            .filter(|p| !allowed(&p.type_))
            .map(|p| format!("appArmorProfile {}", p.type_))
            .into_iter()
            .collect()
    }));
    out
}

pub(super) const SELINUX_TYPES: [&str; 5] =
    ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

pub(super) fn selinux_problems(o: &k8s_openapi::api::core::v1::SELinuxOptions) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(t) = o.type_.as_deref().filter(|t| !SELINUX_TYPES.contains(t)) {
        out.push(format!("seLinuxOptions.type {t}"));
    }
    for (field, v) in [("user", &o.user), ("role", &o.role)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            out.push(format!("seLinuxOptions.{field} {v}"));
        }
    }
    out
}

pub(super) fn selinux(_: &Context, pod: &Pod) -> Vec<String> {
    let mut out: Vec<String> =
        psc(pod).se_linux_options.iter().flat_map(selinux_problems).map(|p| format!("pod: {p}")).collect();
    out.extend(per_container(pod, |c| {
        c.sc.and_then(|s| s.se_linux_options.as_ref()).map(selinux_problems).unwrap_or_default()
    }));
    out
}

pub(super) fn proc_mount(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        c.sc.and_then(|s| s.proc_mount.as_deref())
            .filter(|m| *m != "Default")
            .map(|m| format!("procMount {m}"))
            .into_iter()
            .collect()
    })
}

pub(super) fn seccomp_baseline(_: &Context, pod: &Pod) -> Vec<String> {
    let mut out = Vec::new();
    if psc(pod).seccomp_profile.is_some_and(|p| p.type_ == "Unconfined") {
        out.push("pod: seccompProfile Unconfined".into());
    }
    out.extend(per_container(pod, |c| {
        let unconfined = c.sc.and_then(|s| s.seccomp_profile.as_ref()).is_some_and(|p| p.type_ == "Unconfined");
        unconfined.then(|| "seccompProfile Unconfined".to_owned()).into_iter().collect()
    }));
    out
}

/// The sysctls the baseline calls safe: namespaced, and isolated from other pods on the node.
pub(super) const SAFE_SYSCTLS: [&str; 10] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

pub(super) fn sysctls(_: &Context, pod: &Pod) -> Vec<String> {
    psc(pod)
        .sysctls
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !SAFE_SYSCTLS.contains(&s.name.as_str()))
        .map(|s| format!("pod: sysctl {}", s.name))
        .collect()
}

/// The volume sources restricted allows, by their field names.
pub(super) const RESTRICTED_VOLUME_TYPES: [&str; 8] =
    ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

pub(super) fn volume_types(_: &Context, pod: &Pod) -> Vec<String> {
    // Read through the YAML form so that a volume source added to the API later is caught too
    // (the tree the writer uses: its serializer is compiled for every kind already).
    let mut out = Vec::new();
    for volume in pod.spec.volumes.iter().flatten() {
        let Node::Map(fields) = Node::of(volume) else { continue };
        for key in fields.iter().map(|(key, _)| key.as_ref()) {
            if key != "name" && !RESTRICTED_VOLUME_TYPES.contains(&key) {
                out.push(format!("volume {}: type {key}", volume.name));
            }
        }
    }
    out
}

pub(super) fn privilege_escalation(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| match c.sc.and_then(|s| s.allow_privilege_escalation) {
        Some(false) => vec![],
        Some(true) => vec!["allowPrivilegeEscalation is true".into()],
        None => vec!["allowPrivilegeEscalation is not set to false".into()],
    })
}

pub(super) fn run_as_non_root(_: &Context, pod: &Pod) -> Vec<String> {
    let pod_level = psc(pod).run_as_non_root;
    let mut out = Vec::new();
    if pod_level == Some(false) {
        out.push("pod: runAsNonRoot is false".into());
    }
    out.extend(per_container(pod, |c| match (c.sc.and_then(|s| s.run_as_non_root), pod_level) {
        (Some(true), _) | (None, Some(true)) => vec![],
        (Some(false), _) => vec!["runAsNonRoot is false".into()],
        (None, _) => vec!["runAsNonRoot is set neither here nor on the pod".into()],
    }));
    out
}

pub(super) fn run_as_non_root_user(_: &Context, pod: &Pod) -> Vec<String> {
    let mut out = Vec::new();
    if psc(pod).run_as_user == Some(0) {
        out.push("pod: runAsUser is 0".into());
    }
    out.extend(per_container(pod, |c| {
        (c.sc.and_then(|s| s.run_as_user) == Some(0)).then(|| "runAsUser is 0".to_owned()).into_iter().collect()
    }));
    out
}

/// "Non-root groups" was an (optional) restricted control of the first PSS versions; the issue
/// asks for it and the spec sets group 1001 everywhere, so it is kept: an effective runAsGroup must
/// be set and non-zero, and no fsGroup or supplemental group may be 0.
pub(super) fn non_root_groups(_: &Context, pod: &Pod) -> Vec<String> {
    let p = psc(pod);
    let mut out = Vec::new();
    for (field, v) in [("runAsGroup", p.run_as_group), ("fsGroup", p.fs_group)] {
        if v == Some(0) {
            out.push(format!("pod: {field} is 0"));
        }
    }
    if p.supplemental_groups.iter().flatten().any(|g| *g == 0) {
        out.push("pod: supplementalGroups contains 0".into());
    }
    out.extend(per_container(pod, |c| match c.sc.and_then(|s| s.run_as_group).or(p.run_as_group) {
        Some(0) => vec!["runAsGroup is 0".into()],
        Some(_) => vec![],
        None => vec!["runAsGroup is set neither here nor on the pod".into()],
    }));
    out
}

pub(super) fn seccomp_restricted(_: &Context, pod: &Pod) -> Vec<String> {
    let allowed = |t: &str| matches!(t, "RuntimeDefault" | "Localhost");
    let pod_type = psc(pod).seccomp_profile.map(|p| p.type_);
    let mut out = Vec::new();
    if let Some(t) = pod_type.as_deref().filter(|t| !allowed(t)) {
        out.push(format!("pod: seccompProfile {t}"));
    }
    let pod_ok = pod_type.as_deref().is_some_and(allowed);
    out.extend(per_container(pod, |c| match c.sc.and_then(|s| s.seccomp_profile.as_ref()) {
        Some(p) if allowed(&p.type_) => vec![],
        Some(p) => vec![format!("seccompProfile {}", p.type_)],
        None if pod_ok => vec![],
        None => vec!["seccompProfile is set neither here nor on the pod".into()],
    }));
    out
}

pub(super) fn capabilities_restricted(_: &Context, pod: &Pod) -> Vec<String> {
    per_container(pod, |c| {
        let caps = caps(c);
        let mut out = Vec::new();
        if !caps.drop.iter().flatten().any(|d| d == "ALL") {
            out.push("does not drop ALL capabilities".to_owned());
        }
        out.extend(
            caps.add.into_iter().flatten().filter(|a| a != "NET_BIND_SERVICE").map(|a| format!("adds capability {a}")),
        );
        out
    })
}
