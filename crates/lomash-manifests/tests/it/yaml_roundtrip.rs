//! Issue 10, "the YAML must mean what the model says": thousands of strings, dangerous ones
//! above all, written by the project's own writer as the data of one ConfigMap, come back
//! byte-identical through serde_yaml, through PyYAML (a YAML 1.1 reader, when installed) and
//! through one run of the real `kubectl kustomize`, whose go-yaml is what Kustomize and the
//! cluster see.

use crate::common;

use std::fmt::Write as _;
use std::process::Command;

use lomash_manifests::yaml::document;
use serde_yaml::{Mapping, Value};

use common::{kustomize, Scratch};

/// Characters that `kubectl kustomize` (v5.5.0 in kubectl 1.32) cannot carry, however they are
/// written: it re-encodes every object as JSON with Go's `encoding/json`, which leaves DEL, the C1
/// controls, U+FFFE and U+FFFF unescaped, and parses that JSON again as YAML. A raw DEL, C1
/// control (but U+0085), U+FFFE or U+FFFF then fails the whole run ("yaml: control characters are
/// not allowed"); a raw U+0085 is a YAML line break inside the JSON string and is folded: one
/// becomes a space, two a newline, and spaces next to it are dropped. Validation refuses them
/// ([`validation_refuses_exactly_what_kustomize_cannot_carry`]); [`kustomize_cannot_carry_exactly_these`]
/// shows each one failing, and the round trip below, which covers every other character of the
/// Basic Multilingual Plane, shows the rest pass.
fn kustomize_cannot_carry(c: char) -> bool {
    matches!(c, '\u{7f}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}')
}

/// Values that have broken YAML round trips somewhere, or would with a careless writer.
const CORPUS: &[&str] = &[
    // the issue's own example, and the other timestamp forms of YAML 1.1 and go-yaml
    "2001-12-14 21:59:43",
    "2001-12-14",
    "2001-12-14T21:59:43Z",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10 -5",
    "2001-12-14\t21:59:43",
    "2001-1-1",
    // YAML 1.1 booleans and nulls in every case
    "y",
    "Y",
    "n",
    "N",
    "yes",
    "No",
    "ON",
    "off",
    "True",
    "FALSE",
    "null",
    "NULL",
    "~",
    "",
    // numbers in every base and form
    "0",
    "-0",
    "+1",
    "007",
    "0777",
    "0o17",
    "0x1F",
    "-0x1f",
    "0b101",
    "0b_1",
    "1_000",
    "0_",
    "1:20",
    "-1:20:30",
    "190:20:30.15",
    "1.5",
    ".5",
    "1.",
    "1e3",
    "1E-3",
    "6.8523015e+5",
    "1e400",
    "18446744073709551616",
    "0x1p-2",
    ".inf",
    "-.Inf",
    "+.INF",
    ".nan",
    "NaN",
    "inf",
    "-Infinity",
    ".",
    "1.0.0",
    // YAML 1.1's value and merge keys, indicators, comments, keys, document markers
    "=",
    "<<",
    "-",
    "- a",
    "---",
    "...",
    "? a",
    ":",
    "a:",
    "a: b",
    "a #b",
    "#a",
    "&a",
    "*a",
    "!a",
    "!!str",
    "|",
    "|-",
    ">+",
    "%YAML",
    "@a",
    "`a",
    "[a]",
    "{a: b}",
    "'",
    "''",
    "\"",
    "\\",
    "\\n",
    "'a' b",
    // whitespace at the ends and line breaks of every kind
    " ",
    " a",
    "a ",
    "\t",
    "a\t",
    "\ta",
    "\n",
    "a\n",
    "\na",
    "a\n\nb",
    "a\n b\n",
    " \n ",
    "a\r\nb",
    "a\rb",
    "\r",
    "a\u{2028}b",
    "\u{2029}",
    "a \u{2028} b",
    // controls, the byte order mark, characters outside ASCII
    "\0",
    "a\0b",
    "\u{1}\u{1f}",
    "\u{1b}[0m",
    "\u{8}\u{b}\u{c}",
    "\u{feff}",
    "a\u{feff}b",
    "\u{a0}",
    "\u{3000}a\u{3000}",
    "\u{200b}",
    "\u{fffd}",
    "\u{e000}",
    "\u{d7ff}",
    "\u{10000}",
    "\u{10ffff}",
    "\u{1fffe}",
    "é",
    "中文",
    "😀",
    // ordinary values, which must also survive
    "lomash-wood",
    "https://lomashwood.co.uk",
    "production",
    "/health/live",
    "500m",
    "-c",
    "a=b",
];

/// SplitMix64: a few lines, deterministic, good enough to spread the generated strings.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Pieces of dangerous shapes: glued together they make timestamps, numbers, booleans, keys,
/// comments, breaks in odd places…
#[rustfmt::skip] // one line per kind of danger
const PIECES: &[&str] = &[
    // timestamps, numbers
    "2001", "-12-14", "2001-12-14", "21:59:43", "T", "t", "Z", ".10", "-05:00", "0", "1", "7", "9", "00", "59",
    "0x", "0o", "0b", "1F", "_", "e", "E", "e+", "p", "-", "+", ".", ":", "1:20", "inf", "Infinity", ".inf", ".nan",
    "NaN",
    // booleans, null, merge and value keys
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "<<", "=",
    // indicators, comments, keys, document markers, escapes
    "?", ",", "[", "]", "{", "}", "#", "&", "*", "!", "|", ">", "'", "\"", "%", "@", "`", "---", "...", "- ", ": ",
    " #", "\\", "\\n",
    // whitespace and line breaks
    " ", "  ", "\t", "\n", "\r", "\r\n", "\n\n", " \n", "\n ", "\u{2028}", "\u{2029}",
    // beyond ASCII, controls
    "é", "ß", "中", "😀", "\u{a0}", "\u{3000}", "\u{200b}", "\u{feff}", "\u{fffd}", "\u{10ffff}", "\0", "\u{1}",
    "\u{7}", "\u{1b}", "\u{1f}",
    // ordinary
    "a", "lomash-wood", "http://a:1",
];

/// A character: mostly printable ASCII, else a control, else any character at all.
fn random_char(rng: &mut Rng) -> char {
    loop {
        let code = match rng.below(10) {
            0..=5 => 0x20 + rng.below(0x5f),
            6 => rng.below(0x20),
            7 => 0x80 + rng.below(0x780),
            _ => rng.below(0x11_0000),
        };
        match char::from_u32(code as u32) {
            Some(c) if !kustomize_cannot_carry(c) => return c,
            _ => {}
        }
    }
}

fn random_string(rng: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..1 + rng.below(5) {
        if rng.below(4) == 0 {
            s.push(random_char(rng));
        } else {
            s.push_str(rng.pick(PIECES));
        }
    }
    // Letter case matters to YAML 1.1 (`Yes`, `NULL`, `.Inf`) and to go-yaml (`0X1F`).
    match rng.below(6) {
        0 => s.to_uppercase(),
        1 => s.chars().map(|c| if rng.below(2) == 0 { c.to_ascii_uppercase() } else { c }).collect(),
        _ => s,
    }
}

/// The strings under test: the corpus, every character of the Basic Multilingual Plane that
/// Kustomize can carry in runs of 64, a sample of the other planes, then generated strings.
fn strings() -> Vec<String> {
    let mut all: Vec<String> = CORPUS.iter().map(|s| s.to_string()).collect();
    let carried = |c: &char| !kustomize_cannot_carry(*c);
    let bmp: Vec<char> = (0..0x1_0000).filter_map(char::from_u32).filter(carried).collect();
    all.extend(bmp.chunks(64).map(String::from_iter));
    let astral: Vec<char> = (0x1_0000..=0x10_ffff).step_by(97).filter_map(char::from_u32).collect();
    all.extend(astral.chunks(64).map(String::from_iter));
    let mut rng = Rng(0x10_2001_1214);
    all.extend((0..5000).map(|_| random_string(&mut rng)));
    all
}

fn key(i: usize) -> String {
    format!("v{i:05}")
}

/// A ConfigMap holding `values` under [`key`]s, as the project writes it.
fn config_map(values: &[String]) -> String {
    let data =
        Mapping::from_iter(values.iter().enumerate().map(|(i, v)| (Value::from(key(i)), Value::from(v.as_str()))));
    let object = Mapping::from_iter([
        (Value::from("apiVersion"), Value::from("v1")),
        (Value::from("kind"), Value::from("ConfigMap")),
        (
            Value::from("metadata"),
            Value::Mapping(Mapping::from_iter([(Value::from("name"), Value::from("roundtrip"))])),
        ),
        (Value::from("data"), Value::Mapping(data)),
    ]);
    let mut text = String::new();
    document(&Value::Mapping(object), &mut text);
    text
}

/// The entries of `data` in the YAML `text` (a ConfigMap) that are not exactly `values`, each
/// with what came back (the first ten, then how many more).
fn differences(reader: &str, text: &str, values: &[String]) -> Vec<String> {
    let object: Value = serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{reader}: not YAML: {e}"));
    let data = object["data"].as_mapping().unwrap_or_else(|| panic!("{reader}: no data"));
    let mut wrong = Vec::new();
    if data.len() != values.len() {
        wrong.push(format!("{reader}: {} entries instead of {}", data.len(), values.len()));
    }
    for (i, want) in values.iter().enumerate() {
        // `Value::String`, not a string conversion: a scalar read as a number or a timestamp
        // must count as a difference.
        let got = data.get(key(i));
        if got != Some(&Value::String(want.clone())) {
            wrong.push(format!("{reader}: {want:?} came back as {got:?}"));
        }
    }
    if wrong.len() > 10 {
        let more = wrong.len() - 10;
        wrong.truncate(10);
        wrong.push(format!("{reader}: … and {more} more"));
    }
    wrong
}

fn write_kustomization(dir: &Scratch, text: &str) {
    std::fs::write(dir.0.join("configmap.yaml"), text).unwrap();
    std::fs::write(dir.0.join("kustomization.yaml"), "resources:\n- configmap.yaml\n").unwrap();
}

#[test]
fn thousands_of_strings_come_back_byte_identical() {
    let values = strings();
    assert!(values.len() > 5000, "{} strings", values.len());
    let text = config_map(&values);
    let dir = Scratch::new("yaml-roundtrip");
    write_kustomization(&dir, &text);

    let mut wrong = differences("serde_yaml", &text, &values);
    // One run for all of them; any output on stderr is an error too.
    let rendered = kustomize(&dir.0, ".").unwrap_or_else(|e| panic!("{e}"));
    wrong.extend(differences("kubectl kustomize", &rendered, &values));
    wrong.extend(pyyaml_differences(&dir, &values));
    assert!(wrong.is_empty(), "{} strings:\n{}", values.len(), wrong.join("\n"));
}

/// What PyYAML (YAML 1.1, its pure-Python `SafeLoader`) reads differently from our own file, or
/// nothing with a note when Python or PyYAML is not installed: only this part is optional.
fn pyyaml_differences(dir: &Scratch, values: &[String]) -> Vec<String> {
    let available = Command::new("python3").args(["-c", "import yaml"]).output().is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("note: python3 with PyYAML is not installed; the PyYAML reading is skipped (pip install pyyaml)");
        return Vec::new();
    }
    // The expected values travel as hex of their UTF-8, so that no YAML is involved.
    let mut expected = String::new();
    for (i, v) in values.iter().enumerate() {
        let hex: String = v.bytes().map(|b| format!("{b:02x}")).collect();
        writeln!(expected, "{}\t{hex}", key(i)).unwrap();
    }
    std::fs::write(dir.0.join("expected.tsv"), expected).unwrap();
    let script = r#"
import sys, yaml
with open(sys.argv[1], encoding="utf-8") as f:
    data = yaml.load(f, Loader=yaml.SafeLoader)["data"]
with open(sys.argv[2], encoding="utf-8") as f:
    expected = [line.rstrip("\n").split("\t") for line in f]
wrong = [] if len(data) == len(expected) else ["PyYAML: %d entries instead of %d" % (len(data), len(expected))]
for key, hex in expected:
    want = bytes.fromhex(hex).decode("utf-8")
    got = data.get(key)
    # `type(got) is str`: a value read as a date, number or boolean is a difference.
    if type(got) is not str or got != want:
        wrong.append("PyYAML: %r came back as %r" % (want, got))
for line in wrong[:10]:
    print(line)
if len(wrong) > 10:
    print("PyYAML: ... and %d more" % (len(wrong) - 10))
"#;
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(dir.0.join("configmap.yaml"))
        .arg(dir.0.join("expected.tsv"))
        .output()
        .expect("python3 ran a moment ago");
    if !output.status.success() {
        // The end of the traceback: the error and where in the file.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.trim().lines().collect();
        return vec![format!("PyYAML cannot read our file: {}", lines[lines.len().saturating_sub(3)..].join(" / "))];
    }
    String::from_utf8(output.stdout).unwrap().lines().map(str::to_string).collect()
}

/// Each character [`kustomize_cannot_carry`] names really is lost, one `kubectl kustomize` run
/// each (a failing character fails the whole run): if a Kustomize release starts carrying one,
/// this fails and the exclusion (and the validation refusing it) can shrink.
#[test]
fn kustomize_cannot_carry_exactly_these() {
    let excluded: Vec<char> =
        (0..=0x10_ffff).filter_map(char::from_u32).filter(|&c| kustomize_cannot_carry(c)).collect();
    assert_eq!(excluded.len(), 35, "DEL, the 32 C1 controls, U+FFFE and U+FFFF");
    let dir = Scratch::new("yaml-cannot-carry");
    for c in excluded {
        let value = format!("a{c}b");
        let text = config_map(std::slice::from_ref(&value));
        assert!(differences("serde_yaml", &text, std::slice::from_ref(&value)).is_empty(), "{c:?}");
        write_kustomization(&dir, &text);
        match kustomize(&dir.0, ".") {
            Err(e) => assert!(e.contains("control characters are not allowed"), "{c:?}: {e}"),
            Ok(rendered) if c == '\u{85}' => {
                let object: Value = serde_yaml::from_str(&rendered).unwrap();
                assert_eq!(object["data"][key(0)], Value::from("a b"), "U+0085 is folded to a space");
            }
            Ok(rendered) => panic!("{c:?} came through kubectl kustomize:\n{rendered}"),
        }
    }
}

/// Validation refuses a ConfigMap value for exactly the characters shown above to be lost, and
/// for no other character of the Basic Multilingual Plane: one catalogue, one key a character,
/// each refusal naming its key and character.
#[test]
fn validation_refuses_exactly_what_kustomize_cannot_carry() {
    let mut c = lomash_manifests::catalogue();
    let service = c.services[0].name.clone();
    let chars: Vec<char> = (0..=0xFFFF_u32).filter_map(char::from_u32).collect();
    for ch in &chars {
        c.services[0].config.push((format!("CHAR_{:04X}", u32::from(*ch)), format!("a{ch}b")));
    }
    let refused: Vec<String> = match lomash_manifests::validate(&c) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.messages(),
    };
    let expected: Vec<String> = chars
        .iter()
        .filter(|ch| kustomize_cannot_carry(**ch))
        .map(|ch| {
            let code = format!("{:04X}", u32::from(*ch));
            format!(
                "{service}: config.CHAR_{code}: the value contains U+{code}, which kustomize cannot carry: it refuses \
                 DEL, the C1 controls and U+FFFE/U+FFFF, and folds U+0085 into a space"
            )
        })
        .collect();
    assert_eq!(refused, expected);
}
