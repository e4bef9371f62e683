//! Two renderings of one object, field by field: every leaf that differs, with its path and both
//! values. Lists of objects are matched by their merge key, as a strategic-merge patch matches
//! them (`containers[auth-service]`, `volumeMounts[/tmp]`, `ports[3001]`), so a container added in
//! front of another reads as one added item, not as every later item changed; a list without a
//! merge key (or whose items do not all carry a unique one) is compared by position (`[0]`).
//! A subtree only one side has is one change, its whole value on that side.

use std::collections::BTreeSet;

use serde_yaml::{Mapping, Value};

/// One field that differs. `None` on a side: the field is absent there.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub path: String,
    pub from: Option<Value>,
    pub to: Option<Value>,
}

/// Every difference between `old` and `new`, in the order of the fields (mapping keys sorted,
/// list items in the base's order, then the head's new ones).
pub fn diff(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk("", "", old, new, &mut out);
    out
}

fn walk(path: &str, field: &str, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Value::Mapping(a), Value::Mapping(b)) => {
            let keys: BTreeSet<String> = a.keys().chain(b.keys()).map(key_text).collect();
            for key in keys {
                let child = join(path, &key);
                match (get(a, &key), get(b, &key)) {
                    (Some(x), Some(y)) => walk(&child, &key, x, y, out),
                    (x, y) => out.push(change(child, x, y)),
                }
            }
        }
        (Value::Sequence(a), Value::Sequence(b)) => {
            let keyed = merge_key(field, a, b).and_then(|key| Some((labels(a, key)?, labels(b, key)?)));
            match keyed {
                Some((la, lb)) => {
                    for (i, label) in la.iter().enumerate() {
                        let child = format!("{path}[{label}]");
                        match lb.iter().position(|l| l == label) {
                            Some(j) => walk(&child, "", &a[i], &b[j], out),
                            None => out.push(change(child, Some(&a[i]), None)),
                        }
                    }
                    for (j, label) in lb.iter().enumerate().filter(|(_, l)| !la.contains(l)) {
                        out.push(change(format!("{path}[{label}]"), None, Some(&b[j])));
                    }
                }
                None => {
                    for i in 0..a.len().max(b.len()) {
                        let child = format!("{path}[{i}]");
                        match (a.get(i), b.get(i)) {
                            (Some(x), Some(y)) => walk(&child, "", x, y, out),
                            (x, y) => out.push(change(child, x, y)),
                        }
                    }
                }
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(change(path.to_owned(), Some(a), Some(b))),
    }
}

fn change(path: String, from: Option<&Value>, to: Option<&Value>) -> FieldChange {
    FieldChange { path, from: from.cloned(), to: to.cloned() }
}

/// `path.key`, or `path["key"]` for a key a dot would make ambiguous (`app.kubernetes.io/name`,
/// `checksum/config`).
fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{key:?}]"),
    }
}

/// The value of `key` in `m`, whatever the key's YAML type (`3001:` is a number).
fn get<'a>(m: &'a Mapping, key: &str) -> Option<&'a Value> {
    m.iter().find(|(k, _)| key_text(k) == key).map(|(_, v)| v)
}

fn key_text(key: &Value) -> String {
    scalar_text(key).unwrap_or_else(|| format!("{key:?}"))
}

/// A scalar as it reads: a string without quotes, a number as its digits.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".to_owned()),
        _ => None,
    }
}

/// The merge keys Kubernetes' strategic merge gives the lists of the objects we render (the
/// `patchMergeKey` of the API types), by the list's field name. `ports` is a container's
/// (`containerPort`) or a Service's (`port`): the items say which.
fn candidates(field: &str) -> &'static [&'static str] {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => &["name"],
        "volumeMounts" => &["mountPath"],
        "volumeDevices" => &["devicePath"],
        "ports" => &["containerPort", "port"],
        "topologySpreadConstraints" => &["topologyKey"],
        "hostAliases" => &["ip"],
        _ => &[],
    }
}

/// The first merge key of the list's field that every item of both sides carries as a scalar.
fn merge_key(field: &str, a: &[Value], b: &[Value]) -> Option<&'static str> {
    candidates(field).iter().copied().find(|key| a.iter().chain(b).all(|item| item_key(item, key).is_some()))
}

fn item_key(item: &Value, key: &str) -> Option<String> {
    item.as_mapping().and_then(|m: &Mapping| m.get(key)).and_then(scalar_text)
}

/// Each item's label: its merge key, with the protocol when the key alone repeats (a port open
/// for TCP and UDP, `53/UDP`); `None` when even that repeats (then positions are compared).
fn labels(items: &[Value], key: &str) -> Option<Vec<String>> {
    let unique = |labels: &Vec<String>| labels.iter().collect::<BTreeSet<_>>().len() == labels.len();
    let plain: Vec<String> = items.iter().map(|i| item_key(i, key)).collect::<Option<_>>()?;
    if unique(&plain) {
        return Some(plain);
    }
    let with_protocol: Vec<String> = items
        .iter()
        .zip(&plain)
        .map(|(i, k)| format!("{k}/{}", item_key(i, "protocol").unwrap_or_else(|| "TCP".to_owned())))
        .collect();
    unique(&with_protocol).then_some(with_protocol)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    /// (base, head, the changes as `path: from → to`, `-` for an absent side).
    fn check(old: &str, new: &str, expected: &[&str]) {
        let shown: Vec<String> = diff(&yaml(old), &yaml(new))
            .iter()
            .map(|c| {
                let side = |v: &Option<Value>| match v {
                    None => "-".to_owned(),
                    Some(v) => scalar_text(v).unwrap_or_else(|| serde_json::to_string(v).unwrap()),
                };
                format!("{}: {} → {}", c.path, side(&c.from), side(&c.to))
            })
            .collect();
        assert_eq!(shown, expected, "{old}\n=>\n{new}");
    }

    #[test]
    fn equal_values_have_no_change() {
        check("a: {b: [1, 2], c: x}", "a: {c: x, b: [1, 2]}", &[]);
    }

    #[test]
    fn leaves_are_named_by_their_path() {
        check("a: {b: 1, c: x}", "a: {b: 2, c: x}", &["a.b: 1 → 2"]);
        check("a: {b: 1}", "a: {b: 1, d: {e: f}}", &[r#"a.d: - → {"e":"f"}"#]);
        check("a: {b: 1, d: 2}", "a: {b: 1}", &["a.d: 2 → -"]);
        check("a: 1", "a: [1]", &["a: 1 → [1]"]);
    }

    #[test]
    fn keys_with_dots_or_slashes_are_quoted() {
        check(
            "metadata: {labels: {app.kubernetes.io/version: '1.0.0'}, annotations: {checksum/config: a}}",
            "metadata: {labels: {app.kubernetes.io/version: '1.2.3'}, annotations: {checksum/config: b}}",
            &[
                r#"metadata.annotations["checksum/config"]: a → b"#,
                r#"metadata.labels["app.kubernetes.io/version"]: 1.0.0 → 1.2.3"#,
            ],
        );
    }

    /// Containers are matched by name wherever they stand; one added in front is one change.
    #[test]
    fn containers_are_matched_by_name() {
        check(
            "containers: [{name: a, image: x:1}, {name: b, image: y:1}]",
            "containers: [{name: c, image: z:1}, {name: b, image: y:2}, {name: a, image: x:1}]",
            &["containers[b].image: y:1 → y:2", r#"containers[c]: - → {"name":"c","image":"z:1"}"#],
        );
        check(
            "containers: [{name: a, resources: {limits: {memory: 1Gi}}}]",
            "containers: [{name: a, resources: {limits: {memory: 2Gi}}}]",
            &["containers[a].resources.limits.memory: 1Gi → 2Gi"],
        );
    }

    #[test]
    fn env_mounts_and_ports_have_their_merge_keys() {
        check(
            "env: [{name: A, value: '1'}]",
            "env: [{name: B, value: '2'}, {name: A, value: '3'}]",
            &["env[A].value: 1 → 3", r#"env[B]: - → {"name":"B","value":"2"}"#],
        );
        check(
            "volumeMounts: [{mountPath: /tmp, name: t}]",
            "volumeMounts: [{mountPath: /tmp, name: u}]",
            &["volumeMounts[/tmp].name: t → u"],
        );
        check(
            "ports: [{containerPort: 3001, name: http}]",
            "ports: [{containerPort: 3001, name: web}]",
            &["ports[3001].name: http → web"],
        );
        // A Service's ports have no containerPort: `port` keys them.
        check(
            "ports: [{port: 80, targetPort: http}]",
            "ports: [{port: 80, targetPort: web}]",
            &["ports[80].targetPort: http → web"],
        );
        // The same number for two protocols: the protocol tells them apart.
        check(
            "ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]",
            "ports: [{port: 53, protocol: TCP}, {port: 53, protocol: UDP, name: x}]",
            &[r#"ports[53/UDP].name: - → x"#],
        );
    }

    /// Lists without a merge key (command, args, a NetworkPolicy's rules) compare by position.
    #[test]
    fn other_lists_compare_by_position() {
        check("command: [sh, -c, a]", "command: [sh, -c, b, c]", &["command[2]: a → b", "command[3]: - → c"]);
        // A merge key some item lacks: by position too.
        check(
            "containers: [{name: a}, {image: b}]",
            "containers: [{name: a}, {image: c}]",
            &["containers[1].image: b → c"],
        );
    }
}
