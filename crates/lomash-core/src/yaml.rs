//! Writes YAML values as block-style text, the way the generated files are read: keys in the
//! conventional order (`apiVersion`, `kind`, `metadata` with `name` first, then the rest; list
//! elements opening with their `name`), two-space indentation, lists at their key's indentation.
//!
//! It replaces `serde_yaml::to_string` because rendering was most of the generator's time (libyaml's
//! emitter plus copying every tree to reorder it). Scalars are quoted whenever a YAML 1.1 or 1.2
//! reader (serde_yaml, Kustomize's go-yaml) could take them for anything but the same string; the
//! tests read every generated file back and compare.

use serde_yaml::{Mapping, Value};

const TOP: &[&str] = &["apiVersion", "kind", "metadata"];
const METADATA: &[&str] = &["name", "namespace", "labels", "annotations"];
const ELEMENT: &[&str] = &["name"];

/// One document, ending with a newline.
pub fn document(value: &Value, out: &mut String) {
    match value {
        Value::Mapping(m) if !m.is_empty() => mapping(m, TOP, 0, out),
        Value::Sequence(s) if !s.is_empty() => sequence(s, 0, out),
        scalar => {
            inline(scalar, out);
            out.push('\n');
        }
    }
}

/// The entries of `m` with the keys of `first` (those present) leading, in that order.
fn ordered<'a>(m: &'a Mapping, first: &'a [&str]) -> impl Iterator<Item = (&'a Value, &'a Value)> {
    let leading = first.iter().filter_map(move |k| m.get_key_value_str(k));
    let rest = m.iter().filter(move |(k, _)| !k.as_str().is_some_and(|k| first.contains(&k)));
    leading.chain(rest)
}

trait GetStr {
    fn get_key_value_str(&self, key: &str) -> Option<(&Value, &Value)>;
}

impl GetStr for Mapping {
    fn get_key_value_str(&self, key: &str) -> Option<(&Value, &Value)> {
        self.iter().find(|(k, _)| k.as_str() == Some(key))
    }
}

fn indent(n: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// A block mapping at `depth` spaces; the first line's indentation is already written when
/// `depth` is reached through a list dash (see [`sequence`]).
fn mapping(m: &Mapping, first: &[&str], depth: usize, out: &mut String) {
    for (i, (key, value)) in ordered(m, first).enumerate() {
        if i > 0 {
            indent(depth, out);
        }
        inline(key, out);
        out.push(':');
        let order: &[&str] = if key.as_str() == Some("metadata") { METADATA } else { &[] };
        match value {
            Value::Mapping(child) if !child.is_empty() => {
                out.push('\n');
                indent(depth + 2, out);
                mapping(child, order, depth + 2, out);
            }
            // Lists sit at their key's indentation, as kubectl and serde_yaml write them.
            Value::Sequence(items) if !items.is_empty() => {
                out.push('\n');
                indent(depth, out);
                sequence(items, depth, out);
            }
            scalar => {
                out.push(' ');
                inline(scalar, out);
                out.push('\n');
            }
        }
    }
}

/// A block sequence whose first dash is already indented to `depth`.
fn sequence(items: &[Value], depth: usize, out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            indent(depth, out);
        }
        out.push_str("- ");
        match item {
            Value::Mapping(m) if !m.is_empty() => mapping(m, ELEMENT, depth + 2, out),
            Value::Sequence(s) if !s.is_empty() => sequence(s, depth + 2, out),
            scalar => {
                inline(scalar, out);
                out.push('\n');
            }
        }
    }
}

/// A scalar, or an empty collection, on the current line.
fn inline(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => string(s, out),
        Value::Mapping(_) => out.push_str("{}"),
        Value::Sequence(_) => out.push_str("[]"),
        Value::Tagged(t) => {
            out.push_str(&t.tag.to_string());
            out.push(' ');
            inline(&t.value, out);
        }
    }
}

fn string(s: &str, out: &mut String) {
    if is_plain(s) {
        out.push_str(s);
    } else if s.chars().all(|c| !c.is_control()) {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    } else {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// Whether `s` reads back as this very string when written unquoted. Conservative: anything
/// that might be a number, boolean, null, date, alias, tag, comment or flow syntax is quoted.
/// One pass over the bytes: this runs for every scalar of every file.
pub fn is_plain(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else { return false };
    let indicator = matches!(
        first,
        b'?' | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    );
    if first == b' ' || last == b' ' || last == b':' || indicator {
        return false;
    }
    if (first == b'-' && (b.len() == 1 || b[1] == b' ' || b.starts_with(b"---"))) || b.starts_with(b"...") {
        return false;
    }
    let (mut digit, mut number_chars, mut prev) = (false, true, 0u8);
    for &c in b {
        // Printable ASCII only; no ": " (a key) and no " #" (a comment).
        if !matches!(c, 0x20..=0x7e) || (c == b' ' && prev == b':') || (c == b'#' && prev == b' ') {
            return false;
        }
        digit |= c.is_ascii_digit();
        number_chars = number_chars
            && matches!(c, b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' | b'.' | b'_' | b'+' | b'-' | b':' | b'x' | b'X' | b'o' | b'O');
        prev = c;
    }
    let numeric_looking = (first.is_ascii_digit() || matches!(first, b'.' | b'+' | b'-')) && digit && number_chars;
    const SPECIAL: [&str; 15] =
        ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "<<", ".inf", "-.inf", "+.inf", ".nan"];
    let special = b.len() <= 5 && SPECIAL.iter().any(|w| w.eq_ignore_ascii_case(s));
    !numeric_looking && !special
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every scalar that some YAML reader could take for something else comes back as the same
    /// string; ordinary ones stay unquoted.
    #[test]
    fn strings_read_back_as_themselves() {
        let tricky = [
            "",
            " ",
            "true",
            "True",
            "yes",
            "No",
            "on",
            "OFF",
            "y",
            "n",
            "null",
            "Null",
            "~",
            "<<",
            "1",
            "0",
            "-1",
            "1.5",
            "1.0",
            "0.1",
            ".5",
            "1e3",
            "1E3",
            "0x1F",
            "0o17",
            "0b11",
            "1_000",
            "1:20",
            "2001-12-14",
            ".inf",
            "-.inf",
            ".nan",
            "+1",
            "a: b",
            "a #b",
            "a:",
            "-",
            "- a",
            "--- x",
            "...",
            "*",
            "*a",
            "&a",
            "!x",
            "?",
            "? a",
            "{",
            "}",
            "[",
            "]",
            ",",
            "#x",
            "@x",
            "%x",
            "`x",
            "'",
            "\"",
            "|",
            ">",
            "a'b",
            "a\"b",
            "a\nb",
            "a\tb",
            "a\\b",
            "tab\t",
            " lead",
            "trail ",
            "é",
            "1.0.0",
            "3008",
            "500m",
            "2Gi",
            "http://auth-service:3001",
            "https://lomashwood.co.uk",
            "-c",
            "sh",
            "$(x)",
            "=",
            "CKV_K8S_40=reason; with: colon",
        ];
        for s in tricky {
            let mut text = String::new();
            document(&Value::Mapping(Mapping::from_iter([(Value::from("k"), Value::from(s))])), &mut text);
            let back: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{s:?} wrote {text:?}: {e}"));
            assert_eq!(back["k"], Value::from(s), "{s:?} wrote {text:?}");
        }
        for plain in
            ["500m", "2Gi", "http://auth-service:3001", "-c", "lomashwood/auth-service:1.0.0", "RuntimeDefault"]
        {
            assert!(is_plain(plain), "{plain} needs no quotes");
        }
        for quoted in ["1.0.0", "3008", "true", "*", "a: b", ""] {
            assert!(!is_plain(quoted), "{quoted} must be quoted");
        }
    }

    #[test]
    fn documents_are_block_style_in_conventional_order() {
        let value: Value = serde_yaml::from_str(
            "data: {B: '2', A: x}\nkind: ConfigMap\nmetadata: {labels: {app: a}, name: a}\napiVersion: v1\n\
             spec: {containers: [{image: i, name: c, ports: [{name: http, containerPort: 1}]}], volumes: [], x: {}}\n",
        )
        .unwrap();
        let mut text = String::new();
        document(&value, &mut text);
        let want = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  labels:
    app: a
data:
  B: '2'
  A: x
spec:
  containers:
  - name: c
    image: i
    ports:
    - name: http
      containerPort: 1
  volumes: []
  x: {}
";
        assert_eq!(text, want);
        assert_eq!(serde_yaml::from_str::<Value>(&text).unwrap(), value);
    }
}
