//! Writes YAML values as block-style text, the way the generated files are read: keys in the
//! conventional order (`apiVersion`, `kind`, `metadata` with `name` first, then the rest; list
//! elements opening with their `name`), two-space indentation, lists at their key's indentation.
//!
//! It replaces `serde_yaml::to_string` because rendering was most of the generator's time (libyaml's
//! emitter plus copying every tree to reorder it). Scalars are quoted whenever a YAML 1.1 or 1.2
//! reader (serde_yaml, Kustomize's go-yaml) could take them for anything but the same string; the
//! tests read every generated file back and compare.

use serde_yaml::Value;

use std::borrow::Cow;

use crate::node::{Key, Map, Node};

const TOP: &[&str] = &["apiVersion", "kind", "metadata"];
const METADATA: &[&str] = &["name", "namespace", "labels", "annotations"];
const ELEMENT: &[&str] = &["name"];

/// One document, ending with a newline.
pub fn write(node: &Node, out: &mut String) {
    Writer::new(out).document(node);
}

/// Writes documents into one `String`, remembering whether each struct field name (a borrowed
/// key: the same few hundred `&'static str` in every object) can be written plain, so that each
/// is classified once per file rather than once per occurrence.
pub struct Writer<'o> {
    out: &'o mut String,
    /// Borrowed keys already classified, by address and length: a small direct-mapped cache.
    keys: [(usize, usize, bool); KEY_SLOTS],
}

const KEY_SLOTS: usize = 256;

impl<'o> Writer<'o> {
    pub fn new(out: &'o mut String) -> Writer<'o> {
        Writer { out, keys: [(0, 0, false); KEY_SLOTS] }
    }

    /// The line between two documents of one file.
    pub fn separator(&mut self) {
        self.out.push_str("---\n");
    }

    /// One document, ending with a newline.
    pub fn document(&mut self, node: &Node) {
        match node {
            Node::Map(m) if !m.is_empty() => self.mapping(m, TOP, 0),
            Node::Seq(s) if !s.is_empty() => self.sequence(s, 0),
            scalar => {
                inline(scalar, self.out);
                self.out.push('\n');
            }
        }
    }

    /// A mapping's key: a struct's field name is classified once and remembered by its address.
    fn key(&mut self, key: &Key) {
        let Cow::Borrowed(k) = key else { return string(key, self.out) };
        let (at, len) = (k.as_ptr() as usize, k.len());
        let slot = &mut self.keys[(at >> 3 ^ len) % KEY_SLOTS];
        let plain = if slot.0 == at && slot.1 == len {
            slot.2
        } else {
            let plain = is_plain(k);
            *slot = (at, len, plain);
            plain
        };
        if plain { self.out.push_str(k) } else { string(k, self.out) }
    }

    /// A block mapping at `depth` spaces; the first line's indentation is already written when
    /// `depth` is reached through a list dash (see [`Writer::sequence`]).
    fn mapping(&mut self, m: &Map, first: &[&str], depth: usize) {
        // Most mappings have no leading keys; walking them in order spares the position checks
        // of `ordered` (0.3 M of a render's 19.4 M instructions).
        if first.is_empty() {
            for (i, (key, value)) in m.iter().enumerate() {
                self.entry(i, key, value, depth);
            }
        } else {
            for (i, (key, value)) in ordered(m, first).enumerate() {
                self.entry(i, key, value, depth);
            }
        }
    }

    /// The `i`th entry of a block mapping (a metadata mapping, at any depth, leads with its name).
    fn entry(&mut self, i: usize, key: &Key, value: &Node, depth: usize) {
        if i > 0 {
            indent(depth, self.out);
        }
        self.key(key);
        self.out.push(':');
        match value {
            Node::Map(child) if !child.is_empty() => {
                self.out.push('\n');
                indent(depth + 2, self.out);
                let order: &[&str] = if key == "metadata" { METADATA } else { &[] };
                self.mapping(child, order, depth + 2);
            }
            // Lists sit at their key's indentation, as kubectl and serde_yaml write them.
            Node::Seq(items) if !items.is_empty() => {
                self.out.push('\n');
                indent(depth, self.out);
                self.sequence(items, depth);
            }
            scalar => {
                self.out.push(' ');
                inline(scalar, self.out);
                self.out.push('\n');
            }
        }
    }

    /// A block sequence whose first dash is already indented to `depth`.
    fn sequence(&mut self, items: &[Node], depth: usize) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                indent(depth, self.out);
            }
            self.out.push_str("- ");
            match item {
                Node::Map(m) if !m.is_empty() => self.mapping(m, ELEMENT, depth + 2),
                Node::Seq(s) if !s.is_empty() => self.sequence(s, depth + 2),
                scalar => {
                    inline(scalar, self.out);
                    self.out.push('\n');
                }
            }
        }
    }
}

/// One document of a `serde_yaml::Value`, ending with a newline: [`write`] of its [`Node`].
pub fn document(value: &Value, out: &mut String) {
    write(&Node::of(value), out);
}

/// The entries of `m` with the keys of `first` (those present, at most four) leading, in that
/// order. Each key of `first` is looked for once; the rest are told apart by position.
fn ordered<'a>(m: &'a Map, first: &[&str]) -> impl Iterator<Item = &'a (Key, Node)> {
    const NONE: usize = usize::MAX;
    let mut leading = [NONE; 4];
    debug_assert!(first.len() <= leading.len(), "at most four leading keys");
    for (at, k) in leading.iter_mut().zip(first) {
        *at = m.iter().position(|(key, _)| key == k).unwrap_or(NONE);
    }
    let rest = m.iter().enumerate().filter(move |(i, _)| !leading.contains(i)).map(|(_, entry)| entry);
    leading.into_iter().filter(|&i| i != NONE).map(|i| &m[i]).chain(rest)
}

/// `n` in decimal, without the formatting machinery (numbers are in every object).
fn integer(n: u64, negative: bool, out: &mut String) {
    let mut digits = [0u8; 20];
    let (mut at, mut n) = (digits.len(), n);
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if negative {
        out.push('-');
    }
    out.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
}

fn indent(n: usize, out: &mut String) {
    const SPACES: &str = "                                                                ";
    if n <= SPACES.len() {
        out.push_str(&SPACES[..n]);
    } else {
        out.extend(std::iter::repeat_n(' ', n));
    }
}

/// A scalar, or an empty collection, on the current line.
fn inline(node: &Node, out: &mut String) {
    use std::fmt::Write;
    match node {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Int(n) => integer(n.unsigned_abs(), *n < 0, out),
        Node::UInt(n) => integer(*n, false, out),
        // As serde_yaml writes a float.
        Node::Float(f) if f.is_nan() => out.push_str(".nan"),
        Node::Float(f) if f.is_infinite() => out.push_str(if *f < 0.0 { "-.inf" } else { ".inf" }),
        Node::Float(f) => write!(out, "{f:?}").expect("writing to a String"),
        Node::Str(s) => string(s, out),
        Node::Map(_) => out.push_str("{}"),
        Node::Seq(_) => out.push_str("[]"),
    }
}

/// Writes `s` so that every YAML 1.1 and 1.2 reader gets back exactly `s`: plain when
/// [`is_plain`] allows it (most values, so the files read naturally), single-quoted when it only
/// needs protection from being typed or parsed as syntax, double-quoted with escapes when it holds
/// a character that must not appear raw (see [`escaped`]).
fn string(s: &str, out: &mut String) {
    if is_plain(s) {
        out.push_str(s);
    } else if !s.chars().any(escaped) {
        // A single-quoted scalar on one line keeps every character but `'` (doubled) as it is.
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
                '\r' => out.push_str("\\r"),
                // `\u` is read by go-yaml, libyaml (serde_yaml) and PyYAML alike; every escaped
                // character is in the Basic Multilingual Plane, so four digits always suffice.
                c if escaped(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// Characters that are written only as an escape inside double quotes: those YAML does not allow
/// raw (C0 controls but tab and line feed, DEL, C1 controls, U+FFFE, U+FFFF), the line breaks
/// (`\n`, `\r`, and U+0085, U+2028, U+2029, which YAML 1.1 readers such as go-yaml, libyaml and
/// PyYAML fold like a newline even inside quotes), tab (so no reader trims it) and U+FEFF (a byte
/// order mark, which a reader may drop).
fn escaped(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// Whether `s` reads back as this very string when written unquoted, in YAML 1.1 (go-yaml v2,
/// PyYAML, libyaml's resolvers) and 1.2 (go-yaml v3 as used by Kustomize, serde_yaml) alike.
/// Conservative: a string is plain only when it is printable ASCII, cannot be taken for syntax
/// (an indicator, a key, a comment, a document marker, surrounding spaces) and does not look like
/// any scalar type of either version (see [`looks_typed`]). One pass over the bytes: this runs
/// for every scalar of every file.
pub fn is_plain(s: &str) -> bool {
    let class = classify(s.as_bytes());
    match word_answer(s, class) {
        Some(plain) => plain,
        None => is_plain_any(s, class & SIMPLE != 0),
    }
}

/// Byte classes, one bit each: a character of a word (letters, digits, `-`, `_`, `.`, `/`), and a
/// simple character (printable ASCII but space, `:` and `#`). Every word character is simple.
const WORD: u8 = 1;
const SIMPLE: u8 = 2;
static CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/') {
            table[c] |= WORD;
        }
        if 0x21 <= b && b <= 0x7e && b != b':' && b != b'#' {
            table[c] |= SIMPLE;
        }
        c += 1;
    }
    table
};

/// The classes every byte of `b` is in: one pass, no branch per byte.
fn classify(b: &[u8]) -> u8 {
    b.iter().fold(WORD | SIMPLE, |class, &c| class & CLASSES[c as usize])
}

/// The quick answer of [`is_plain`] for the strings most keys and values are: a letter, then
/// word characters (`metadata`, `lomash-wood`, `RuntimeDefault`, `app.kubernetes.io/name`). Such
/// a string is no syntax and no number or timestamp (those start with a digit, a sign or a dot),
/// so it is plain unless it is one of YAML's words. `None` for any other string.
fn word_answer(s: &str, class: u8) -> Option<bool> {
    let first = *s.as_bytes().first()?;
    if class & WORD == 0 || !first.is_ascii_alphabetic() {
        return None;
    }
    // Every word of [`looks_typed`] that begins with a letter begins with one of these (`true`,
    // `false`, `yes`, `y`, `no`, `n`, `null`, `nan`, `on`, `off`, `inf`, `infinity`); most keys
    // and values do not, and skip the comparisons.
    let maybe_word = matches!(first.to_ascii_lowercase(), b't' | b'f' | b'y' | b'n' | b'o' | b'i');
    Some(!(maybe_word && looks_typed(s)))
}

/// [`is_plain`] for any string; `simple` says that every byte is simple (see [`CLASSES`]), which
/// spares the character-by-character check. With `simple` false it is the general rule.
fn is_plain_any(s: &str, simple: bool) -> bool {
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
    if simple {
        return !looks_typed(s);
    }
    let mut prev = 0u8;
    for &c in b {
        // Printable ASCII only; no ": " (a key) and no " #" (a comment).
        if !matches!(c, 0x20..=0x7e) || (c == b' ' && prev == b':') || (c == b'#' && prev == b' ') {
            return false;
        }
        prev = c;
    }
    !looks_typed(s)
}

/// Whether a plain `s` (printable ASCII) might resolve to something other than a string in some
/// YAML 1.1 or 1.2 schema. Each test is wider than the grammar it guards against, so that no
/// reader's variant (go-yaml's `strconv` parsing, YAML 1.1's loose float regexp) slips through:
/// - numbers: an optional sign, then a digit or `.`, then only characters that occur in ints of
///   any base (`0x`, `0o`, `0b`, legacy `0777`), underscores, floats with exponents (and Go's hex
///   floats' `p`) and sexagesimal `1:20`: `1`, `-0x1F`, `1_000`, `1e3`, `1:20`, `.5`, `1.0.0`, `.`;
/// - timestamps: four digits and a dash, as every YAML 1.1 timestamp and go-yaml's begin:
///   `2001-12-14`, `2001-12-14 21:59:43`, `2001-12-14T21:59:43Z`;
/// - words, in any letter case: YAML 1.1 booleans (`y`, `n`, `yes`, `no`, `on`, `off`, `true`,
///   `false`), `null` and `~`, infinities and NaN with or without the dot and sign, the merge key
///   `<<` and YAML 1.1's value key `=`.
fn looks_typed(s: &str) -> bool {
    let b = s.as_bytes();
    let unsigned = b.strip_prefix(b"+").or_else(|| b.strip_prefix(b"-")).unwrap_or(b);
    let number = matches!(unsigned.first(), Some(b'0'..=b'9' | b'.'))
        && unsigned.iter().all(|c| {
            matches!(c, b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' | b'x' | b'X' | b'o' | b'O' | b'p' | b'P')
                || matches!(c, b'.' | b'_' | b'+' | b'-' | b':')
        });
    let timestamp = b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-';
    if number || timestamp {
        return true;
    }
    // The words and the special floats are at most ten characters long (`-.infinity`): a longer
    // string is none of them, which spares most strings the comparisons.
    if s.len() > 10 {
        return false;
    }
    const WORDS: [&str; 12] = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "<<", "="];
    let word = WORDS.iter().any(|w| w.eq_ignore_ascii_case(s));
    let dotless = s.strip_prefix(['+', '-']).unwrap_or(s);
    let dotless = dotless.strip_prefix('.').unwrap_or(dotless);
    let special_float = ["inf", "infinity", "nan"].iter().any(|w| w.eq_ignore_ascii_case(dotless));
    word || special_float
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_yaml::Mapping;

    /// Strings that some YAML 1.1 or 1.2 reader would take for something else, or whose value a
    /// reader would change, when written plain.
    #[rustfmt::skip] // one line per kind of danger
    const MUST_QUOTE: &[&str] = &[
        // empty, whitespace at either end, line breaks
        "", " ", " lead", "trail ", "\t", "tab\t", "\ttab", "\n", "a\nb",
        // YAML 1.1 and 1.2 booleans, in every letter case
        "true", "True", "TRUE", "tRUE", "false", "FALSE", "yes", "Yes", "YES", "no", "No", "NO", "on", "On",
        "ON", "off", "Off", "OFF", "y", "Y", "n", "N", "yEs", "oN",
        // null, the merge key, YAML 1.1's value key
        "null", "Null", "NULL", "nULL", "~", "<<", "=",
        // integers in every base and form
        "0", "1", "-1", "+1", "3008", "007", "0777", "-0777", "0x1F", "0X1f", "-0x1F", "+0x1f", "0o17", "0O17",
        "0b11", "-0b11", "0b_1", "1_000", "1__0", "0_", "+0_7", "18446744073709551616", "1:20", "-1:20",
        "190:20:30", "1_0:59",
        // floats, exponents, infinities, not-a-number, sexagesimal floats
        "1.5", "1.0", "0.1", ".5", "-.5", "+.5", "1.", "1.e3", "1e3", "1E3", "1e+3", "1E-3", "-1.5e-3", "1_0.5",
        "190:20:30.15", "0x1p-2", ".", "1.0.0", "6.8523015e+5", ".inf", ".Inf", ".INF", "-.inf", "+.inf",
        ".nan", ".NaN", ".NAN", "inf", "-Infinity", "NaN", "nan", "+nan",
        // timestamps
        "2001-12-14", "2001-1-1", "2001-12-14 21:59:43", "2001-12-14T21:59:43Z", "2001-12-14t21:59:43.10-05:00",
        "2001-12-14 21:59:43.10 -5", "2002-12-14\t21:59:43",
        // indicators and syntax
        "a: b", "a #b", "a:", "-", "- a", "--- x", "---", "...", "*", "*a", "&a", "!x", "!!str", "?", "? a",
        "?a", ":a", "{", "}", "[", "]", ",", "#x", "@x", "%x", "`x", "'", "\"", "|", ">", "|-", ">+",
        // quotes, backslashes, characters that must be escaped, characters that are not ASCII
        "a'b ", "a\"b:", "a\\b\t", "é", "x\u{85}y", "\u{85}", "a\u{2028}b", "a\u{2029}b", "\u{feff}x", "a\rb",
        "\r\n", "\0", "\u{1}", "\u{1b}[0m", "\u{7f}", "\u{9f}", "\u{a0}", "\u{fffe}", "\u{ffff}", "😀",
        "CKV_K8S_40=reason; with: colon",
    ];

    /// Ordinary values, as the generated files hold them: they must stay unquoted so that those
    /// files stay as they are.
    const STAY_PLAIN: &[&str] = &[
        "lomash-wood",
        "lomash-wood-production",
        "https://lomashwood.co.uk",
        "http://auth-service:3001",
        "production",
        "/health/live",
        "500m",
        "2Gi",
        "512Mi",
        "-c",
        "-name",
        "_1",
        "sh",
        "$(x)",
        "lomashwood/auth-service:1.0.0",
        "RuntimeDefault",
        "v1",
        "apps/v1",
        "app.kubernetes.io/name",
        "a=b",
        "a<<b",
        "yesterday",
        "none",
        "information",
        "nano",
        "e3",
        "x1",
        "1.0.0-rc1",
        "a b",
        "a,b",
        "a#b",
        "a:b",
        "a'b'c",
    ];

    /// `s` as the value of a one-entry mapping, and what serde_yaml reads back from it.
    fn write_and_read(s: &str) -> (String, Value) {
        let mut text = String::new();
        document(&Value::Mapping(Mapping::from_iter([(Value::from("k"), Value::from(s))])), &mut text);
        let back: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{s:?} wrote {text:?}: {e}"));
        (text, back["k"].clone())
    }

    #[test]
    fn dangerous_strings_are_quoted_and_read_back_as_themselves() {
        for &s in MUST_QUOTE {
            assert!(!is_plain(s), "{s:?} must be quoted");
            let (text, back) = write_and_read(s);
            let value = text.strip_prefix("k: ").unwrap_or_else(|| panic!("{text:?}"));
            assert!(value.starts_with(['\'', '"']), "{s:?} wrote {text:?}");
            assert_eq!(back, Value::from(s), "{s:?} wrote {text:?}");
        }
    }

    /// The quick answers (word-like strings, strings of simple characters) agree with the general
    /// rule on every string of up to four characters over an alphabet that spells every YAML
    /// word's start, and on the lists above (with every word in three letter cases).
    #[test]
    fn the_quick_answer_agrees_with_the_general_rule() {
        let alphabet =
            ["a", "e", "f", "i", "l", "n", "o", "r", "s", "t", "u", "y", "Y", "N", "1", "-", ".", "_", "/", ":"];
        let mut strings: Vec<String> = vec![String::new()];
        let mut last = strings.clone();
        for _ in 0..4 {
            last = last.iter().flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}"))).collect();
            strings.extend(last.iter().cloned());
        }
        let words = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "inf", "infinity", "nan", "Infinity"];
        for w in words.iter().chain(MUST_QUOTE).chain(STAY_PLAIN) {
            strings.extend([w.to_string(), w.to_uppercase(), w.to_lowercase(), format!("{w}x"), format!("x{w}")]);
        }
        let (mut word, mut simple) = (0, 0);
        for s in &strings {
            let class = classify(s.as_bytes());
            word += usize::from(word_answer(s, class).is_some());
            simple += usize::from(class & SIMPLE != 0);
            assert_eq!(is_plain(s), is_plain_any(s, false), "{s:?}");
        }
        assert!(word > 10_000 && simple > 10_000, "the quick answers were tried on {word} and {simple} strings only");
    }

    /// A struct's field names (borrowed keys) are classified once per writer and remembered by
    /// address: many documents of many borrowed keys, YAML words among them, are written exactly
    /// as the same keys owned (classified every time).
    #[test]
    fn remembered_keys_are_written_as_keys_classified_each_time() {
        let words: Vec<&'static str> = STAY_PLAIN.iter().chain(MUST_QUOTE).copied().filter(|k| !k.is_empty()).collect();
        let doc = |owned: bool, turn: usize| {
            let key = |k: &'static str| if owned { Key::Owned(k.to_owned()) } else { Key::Borrowed(k) };
            let entries = words.iter().cycle().skip(turn).take(words.len());
            Node::Map(entries.enumerate().map(|(i, k)| (key(k), Node::UInt(i as u64))).collect())
        };
        let write_all = |owned: bool| {
            let mut out = String::new();
            let mut writer = Writer::new(&mut out);
            for turn in 0..5 {
                writer.separator();
                writer.document(&Node::Map(vec![(Key::Borrowed("x"), doc(owned, turn))]));
            }
            out
        };
        let (borrowed, owned) = (write_all(false), write_all(true));
        assert_eq!(borrowed, owned);
        assert!(borrowed.contains("\n  'on': ") && borrowed.contains("\n  lomash-wood: "), "{borrowed}");
    }

    #[test]
    fn integers_are_written_as_rust_formats_them() {
        let signed = [0, 1, 9, 10, 99, 100, 3008, -1, -10, i64::MIN, i64::MAX];
        let unsigned = [0, 7, 10, 1_000_000, u64::MAX];
        for n in signed {
            let mut out = String::new();
            inline(&Node::Int(n), &mut out);
            assert_eq!(out, n.to_string());
        }
        for n in unsigned {
            let mut out = String::new();
            inline(&Node::UInt(n), &mut out);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn ordinary_strings_stay_plain() {
        for &s in STAY_PLAIN {
            assert!(is_plain(s), "{s:?} needs no quotes");
            let (text, back) = write_and_read(s);
            assert_eq!(text, format!("k: {s}\n"));
            assert_eq!(back, Value::from(s), "{s:?} wrote {text:?}");
        }
    }

    /// Line breaks, controls, the byte order mark and the non-characters are never written raw (a
    /// YAML 1.1 reader takes U+0085, U+2028 and U+2029 for line breaks even inside quotes and folds
    /// them: libyaml reads `'x<U+0085>y'` as `x y`), and what is only protected from typing keeps
    /// the lighter single quotes.
    #[test]
    fn unprintable_characters_are_escaped() {
        let cases = [
            ("x\u{85}y", r#""x\u0085y""#),
            ("a\u{2028}b\u{2029}", r#""a\u2028b\u2029""#),
            ("\u{feff}", r#""\ufeff""#),
            ("\0\u{1}\u{1b}\u{7f}\u{9f}", r#""\u0000\u0001\u001b\u007f\u009f""#),
            ("\u{fffe}\u{ffff}", r#""\ufffe\uffff""#),
            ("a\tb\r\n\"\\'", r#""a\tb\r\n\"\\'""#),
            ("é 😀 \u{a0}", "'é 😀 \u{a0}'"),
            ("'it's", "'''it''s'"),
            ("2001-12-14 21:59:43", "'2001-12-14 21:59:43'"),
        ];
        for (s, want) in cases {
            let (text, back) = write_and_read(s);
            assert_eq!(text, format!("k: {want}\n"), "{s:?}");
            assert_eq!(back, Value::from(s), "{s:?} wrote {text:?}");
        }
        // Every character of the Basic Multilingual Plane and a sample of the others, between
        // two letters, in one document: escaped ones never appear raw, the others always do.
        let chars: Vec<char> =
            (0..0x10000).chain((0x10000..=0x10ffff).step_by(0x3f1)).filter_map(char::from_u32).collect();
        let map = Mapping::from_iter(
            chars.iter().map(|c| (Value::from(format!("k{}", *c as u32)), Value::from(format!("a{c}b")))),
        );
        let mut text = String::new();
        document(&Value::Mapping(map), &mut text);
        let back: Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(text.lines().count(), chars.len(), "one line per character");
        for (c, line) in chars.iter().zip(text.lines()) {
            let (key, value) = line.split_once(": ").unwrap();
            assert_eq!(key, format!("k{}", *c as u32));
            assert_eq!(value.contains(*c), !escaped(*c), "{c:?} wrote {line:?}");
            assert_eq!(back[key], Value::from(format!("a{c}b")), "{c:?} wrote {line:?}");
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
