//! Small value types parsed once from the text a definition is written in: CPU and memory
//! quantities, pinned image tags, DNS-1123 names, Go durations. A value of one of these types is valid by
//! construction; the parsers return a message (without the service or field, which the caller
//! knows) when the text is not. [`unique_keys`] checks the YAML text of a file the same way.

use std::fmt;

use serde::Deserialize;
use serde::de::value::{EnumAccessDeserializer, MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// A CPU or memory quantity, kept exactly as written (`"500m"`, `"2Gi"`, `"1.5Gi"`) so the YAML
/// shows what the definition says, with its value in base units (millicores or bytes) for
/// comparisons.
///
/// Every form of the Kubernetes `resource.Quantity` grammar is read: an optional sign, digits
/// with an optional decimal point (`1`, `1.5`, `.5`, `5.`), then at most one suffix: decimal SI
/// (`n`, `u`, `m`, `k`, `M`, `G`, `T`, `P`, `E`), binary SI (`Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei`)
/// or a decimal exponent (`e3`, `E-2`, `e+6`). Kubernetes rounds a value up to a whole millicore
/// or byte where it uses it; these parsers refuse such a value instead, so that the YAML says
/// exactly what is meant. Zero, negative values and values above 2^128 - 1 base units are refused
/// too; the arithmetic is checked, so no text makes the parsers panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {
    text: String,
    base_units: u128,
}

/// What a quantity measures: its name in messages and its base unit.
struct Measure {
    what: &'static str,
    examples: &'static str,
    base_unit: &'static str,
    /// A bare number means 10^`exponent` base units (cores are 10^3 millicores).
    exponent: i64,
}

const CPU: Measure = Measure { what: "CPU", examples: "\"250m\" or \"2\"", base_unit: "millicores", exponent: 3 };
const MEMORY: Measure = Measure { what: "memory", examples: "\"512Mi\" or \"2Gi\"", base_unit: "bytes", exponent: 0 };

impl Quantity {
    /// CPU, compared in millicores: whole or decimal cores (`"2"`, `"0.5"`), millicores
    /// (`"250m"`) or any other form of the grammar (`"1e3"`, `"+1"`).
    ///
    /// ```
    /// use manifest_core::values::Quantity;
    /// assert_eq!(Quantity::cpu("2").unwrap().base_units(), Quantity::cpu("2000m").unwrap().base_units());
    /// assert_eq!(Quantity::cpu("0.25").unwrap().base_units(), 250);
    /// assert_eq!(Quantity::cpu("1e-3").unwrap().base_units(), 1);
    /// assert_eq!(
    ///     Quantity::cpu("0.1m").unwrap_err(),
    ///     "\"0.1m\" is not a whole number of millicores: Kubernetes would round it up; write the exact amount"
    /// );
    /// assert!(Quantity::cpu("two").is_err());
    /// ```
    pub fn cpu(text: &str) -> Result<Quantity, String> {
        Quantity::parse(text, &CPU)
    }

    /// Memory, compared in bytes: a number of bytes with an optional binary (`Ki` … `Ei`) or
    /// decimal (`k` … `E`) suffix or a decimal exponent (`"1e9"`).
    ///
    /// ```
    /// use manifest_core::values::Quantity;
    /// assert_eq!(Quantity::memory("1.5Gi").unwrap().base_units(), 3 << 29);
    /// assert_eq!(Quantity::memory("1.5Gi").unwrap().as_str(), "1.5Gi");
    /// assert_eq!(Quantity::memory("500M").unwrap().base_units(), Quantity::memory("5e8").unwrap().base_units());
    /// assert_eq!(
    ///     Quantity::memory("0.5").unwrap_err(),
    ///     "\"0.5\" is not a whole number of bytes: Kubernetes would round it up; write the exact amount"
    /// );
    /// assert_eq!(
    ///     Quantity::memory("999999999999999999999999999999Ti").unwrap_err(),
    ///     "\"999999999999999999999999999999Ti\" is too large: more than 2^128 - 1 bytes"
    /// );
    /// ```
    pub fn memory(text: &str) -> Result<Quantity, String> {
        Quantity::parse(text, &MEMORY)
    }

    fn parse(text: &str, measure: &Measure) -> Result<Quantity, String> {
        let Measure { what, examples, base_unit, exponent } = measure;
        let written =
            Written::read(text).ok_or_else(|| format!("{text:?} is not a {what} quantity (e.g. {examples})"))?;
        let significant = written.digits.trim_start_matches('0');
        if significant.is_empty() {
            return Err(format!("{text:?} is zero: a {what} quantity must be above zero"));
        }
        if written.negative {
            return Err(format!("{text:?} is negative: a {what} quantity must be above zero"));
        }
        let base_units = whole(significant, written.exp10.saturating_add(*exponent), written.exp2).map_err(|e| {
            match e {
                NotWhole::Fraction => format!(
                    "{text:?} is not a whole number of {base_unit}: Kubernetes would round it up; write the exact amount"
                ),
                NotWhole::TooLarge => format!("{text:?} is too large: more than 2^128 - 1 {base_unit}"),
                NotWhole::TooManyDigits => {
                    format!("{text:?} has too many significant digits to compare exactly")
                }
            }
        })?;
        Ok(Quantity { text: text.to_owned(), base_units })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Millicores for CPU, bytes for memory.
    pub fn base_units(&self) -> u128 {
        self.base_units
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A quantity's text taken apart: its value is `±digits × 10^exp10 × 2^exp2`, the decimal point
/// counted in `exp10`.
struct Written {
    negative: bool,
    /// The digits before and after the decimal point, without the point.
    digits: String,
    exp10: i64,
    exp2: i64,
}

impl Written {
    /// `None` when `text` is not in the grammar.
    fn read(text: &str) -> Option<Written> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let number_len = unsigned.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(unsigned.len());
        let (number, suffix) = unsigned.split_at(number_len);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        // `.5` and `5.` are numbers, `.` and `1.2.3` are not.
        if whole.len() + fraction.len() == 0 || fraction.contains('.') {
            return None;
        }
        let (exp10, exp2) = suffix_exponents(suffix)?;
        let fraction_digits = i64::try_from(fraction.len()).ok()?;
        Some(Written {
            negative,
            digits: format!("{whole}{fraction}"),
            exp10: exp10.saturating_sub(fraction_digits),
            exp2,
        })
    }
}

/// The powers of 10 and of 2 that `suffix` multiplies by, or `None` when it is not a suffix.
fn suffix_exponents(suffix: &str) -> Option<(i64, i64)> {
    const DECIMAL: [(&str, i64); 10] =
        [("n", -9), ("u", -6), ("m", -3), ("", 0), ("k", 3), ("M", 6), ("G", 9), ("T", 12), ("P", 15), ("E", 18)];
    const BINARY: [(&str, i64); 6] = [("Ki", 10), ("Mi", 20), ("Gi", 30), ("Ti", 40), ("Pi", 50), ("Ei", 60)];
    if let Some((_, e)) = DECIMAL.iter().find(|(s, _)| *s == suffix) {
        return Some((*e, 0));
    }
    if let Some((_, e)) = BINARY.iter().find(|(s, _)| *s == suffix) {
        return Some((0, *e));
    }
    // `E` alone is exa (above); followed by digits, as `e` always is, it is an exponent.
    let exponent = suffix.strip_prefix(['e', 'E'])?;
    let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // An exponent beyond i64 is as good as infinite: the value is too large, or finer than a unit.
    let unbounded = if exponent.starts_with('-') { i64::MIN } else { i64::MAX };
    Some((exponent.parse().unwrap_or(unbounded), 0))
}

/// Why a quantity is not a whole number of base units that fits a `u128`.
enum NotWhole {
    Fraction,
    TooLarge,
    /// More significant digits than a `u128` holds, scaled down by the exponent: whether the
    /// value is whole is not worth a big-number type.
    TooManyDigits,
}

/// `digits × 10^exp10 × 2^exp2` as a whole number, computed with checked arithmetic. `digits`
/// is not empty and has no leading zero.
fn whole(digits: &str, exp10: i64, exp2: i64) -> Result<u128, NotWhole> {
    let significant = digits.trim_end_matches('0');
    let trailing_zeros = i64::try_from(digits.len() - significant.len()).unwrap_or(i64::MAX);
    let exp10 = exp10.saturating_add(trailing_zeros);
    let Ok(mut mantissa) = significant.parse::<u128>() else {
        // At least 39 digits: above 2^128 unless a negative exponent brings it down.
        return Err(if exp10 >= 0 { NotWhole::TooLarge } else { NotWhole::TooManyDigits });
    };
    // The value is mantissa × 2^(exp10 + exp2) × 5^exp10: with the mantissa's own factors of 2
    // and 5 moved into the powers, it is whole exactly when neither power is negative.
    let (mut twos, mut fives) = (exp10.saturating_add(exp2), exp10);
    while mantissa.is_multiple_of(2) {
        mantissa /= 2;
        twos = twos.saturating_add(1);
    }
    while mantissa.is_multiple_of(5) {
        mantissa /= 5;
        fives = fives.saturating_add(1);
    }
    if twos < 0 || fives < 0 {
        return Err(NotWhole::Fraction);
    }
    let power = |base: u128, exponent: i64| u32::try_from(exponent).ok().and_then(|e| base.checked_pow(e));
    power(2, twos)
        .and_then(|p| mantissa.checked_mul(p))
        .zip(power(5, fives))
        .and_then(|(v, p)| v.checked_mul(p))
        .ok_or(NotWhole::TooLarge)
}

/// An image tag that pins what runs: a semantic version (`1.0.0`, `2.3.1-rc.1`), a full git
/// commit SHA (40 hex digits), or either of those with a digest (`1.0.0@sha256:<64 hex>`).
/// `latest`, an empty tag and floating tags (`1`, `1.2`, `stable`) are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageTag(String);

impl ImageTag {
    pub fn parse(text: &str) -> Result<ImageTag, String> {
        let (tag, digest) = match text.split_once('@') {
            Some((t, d)) => (t, Some(d)),
            None => (text, None),
        };
        if let Some(digest) = digest {
            let hex = digest.strip_prefix("sha256:").unwrap_or("");
            if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(format!("{text:?} has a malformed digest: expected sha256:<64 lowercase hex digits>"));
            }
        }
        if tag.is_empty() {
            return Err("the tag is empty: pin a version (e.g. \"1.0.0\")".to_owned());
        }
        if tag == "latest" {
            return Err("\"latest\" is not pinned: use a version (e.g. \"1.0.0\")".to_owned());
        }
        if tag.contains('+') {
            return Err(format!(
                "{text:?} has semver build metadata: '+' is not allowed in an image tag ([A-Za-z0-9_.-], at most 128 characters)"
            ));
        }
        if tag.len() > 63 {
            // Image tags may be 128 characters long, but the tag is also the
            // app.kubernetes.io/version label, and label values stop at 63.
            return Err(format!("{text:?} is longer than 63 characters, the limit of the version label"));
        }
        if is_semver(tag) || is_git_sha(tag) {
            Ok(ImageTag(text.to_owned()))
        } else {
            Err(format!(
                "{text:?} is not pinned: use a semantic version (e.g. \"1.0.0\"), a full 40-digit git SHA, or either with @sha256:<digest>"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tag as a label value (`app.kubernetes.io/version`): without the digest, which is
    /// too long for a label. [`ImageTag::parse`] keeps what remains a valid label value.
    pub fn label_value(&self) -> String {
        self.0.split('@').next().unwrap_or_default().to_owned()
    }

    /// The digest the tag pins, `sha256:<64 hex>`, when it has one.
    pub fn digest(&self) -> Option<&str> {
        self.0.split_once('@').map(|(_, digest)| digest)
    }

    /// The image reference of `repository` at this tag: `repository@sha256:…` when the tag pins a
    /// digest (the digest decides what runs; the tag stays the version label), else
    /// `repository:tag`. Kustomize's `images:` writes the same form from its `digest` field.
    pub fn reference(&self, repository: &str) -> String {
        match self.digest() {
            Some(digest) => format!("{repository}@{digest}"),
            None => format!("{repository}:{}", self.0),
        }
    }
}

impl fmt::Display for ImageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_semver(tag: &str) -> bool {
    let core = tag.strip_prefix('v').unwrap_or(tag);
    let (core, pre) = core.split_once('-').map_or((core, None), |(c, p)| (c, Some(p)));
    let numbers: Vec<&str> = core.split('.').collect();
    let numeric =
        |s: &&str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s.len() == 1 || !s.starts_with('0'));
    let idents =
        |s: &str| s.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    numbers.len() == 3 && numbers.iter().all(numeric) && pre.is_none_or(idents)
}

fn is_git_sha(tag: &str) -> bool {
    tag.len() == 40 && tag.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Why `name` is not a DNS-1123 label usable as a Service name (lower-case alphanumerics and
/// `-`, starting with a letter, ending alphanumeric, at most 63 characters), or `None`.
pub fn dns_label_problem(name: &str) -> Option<String> {
    let ok_chars = name.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'));
    let starts = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    let ends = name.bytes().last().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if name.is_empty() || name.len() > 63 || !ok_chars || !starts || !ends {
        Some(format!(
            "{name:?} is not a DNS-1123 label (lower-case letters, digits and '-', starting with a letter, ending with a letter or digit, at most 63 characters)"
        ))
    } else {
        None
    }
}

/// Why `name` is not a DNS-1123 subdomain (DNS-1123 labels of lower-case alphanumerics and `-`
/// joined by `.`, each starting and ending alphanumeric, at most 253 characters in all), the
/// form of most Kubernetes object names, or `None`.
///
/// ```
/// use manifest_core::values::dns_subdomain_problem;
/// assert_eq!(dns_subdomain_problem("aws-secrets-manager"), None);
/// assert_eq!(dns_subdomain_problem("store.eu-west-1"), None);
/// assert!(dns_subdomain_problem("AWS").is_some());
/// assert!(dns_subdomain_problem("a..b").is_some());
/// assert!(dns_subdomain_problem("-a").is_some());
/// ```
pub fn dns_subdomain_problem(name: &str) -> Option<String> {
    let label_ok = |l: &str| {
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        !l.is_empty()
            && l.bytes().all(|b| alnum(b) || b == b'-')
            && l.bytes().next().is_some_and(alnum)
            && l.bytes().last().is_some_and(alnum)
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        Some(format!(
            "{name:?} is not a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit, at most 253 characters)"
        ))
    } else {
        None
    }
}

/// Why `text` is not a positive Go duration as Kubernetes APIs read them (`metav1.Duration`): one
/// or more numbers, each with a unit of `ns`, `us`, `µs`, `ms`, `s`, `m` or `h` (`1h`, `90s`,
/// `1h30m`, `1.5h`), adding up to more than zero. No sign: a negative or zero interval is not one.
/// A `0` alone, which Go reads as a duration, is refused too.
///
/// ```
/// use manifest_core::values::duration_problem;
/// for ok in ["1h", "30m", "1h30m", "1.5h", "90s", "500ms", "1h0m0s"] {
///     assert_eq!(duration_problem(ok), None, "{ok}");
/// }
/// for bad in ["", "1", "1d", "h", "-1h", "0s", "0h0m", "1 h", "1.h", ".5h", "1.2.3h"] {
///     assert!(duration_problem(bad).is_some(), "{bad}");
/// }
/// ```
pub fn duration_problem(text: &str) -> Option<String> {
    const UNITS: [&str; 7] = ["ns", "us", "µs", "ms", "s", "m", "h"];
    let problem = || {
        Some(format!(
            "{text:?} is not a positive Go duration (numbers with units ns, us, ms, s, m or h, e.g. \"1h\" or \"1h30m\")"
        ))
    };
    let mut rest = text;
    let mut positive = false;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        // Digits with an optional fraction (`1.5`); Go also reads `1.` and `.5`, refused here as
        // unclear to a reader.
        let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
        let number_ok = match number.split_once('.') {
            Some((whole, fraction)) => digits(whole) && digits(fraction),
            None => digits(number),
        };
        if !number_ok {
            return problem();
        }
        let Some(unit) = UNITS.iter().filter(|u| after.starts_with(**u)).max_by_key(|u| u.len()) else {
            return problem();
        };
        positive |= number.bytes().any(|b| matches!(b, b'1'..=b'9'));
        rest = &after[unit.len()..];
    }
    if positive { None } else { problem() }
}

/// Why `value` is not a Kubernetes label value (at most 63 characters: alphanumerics, `-`, `_`
/// and `.`, starting and ending alphanumeric), or `None`. Kubernetes accepts an empty value; the
/// labels we write always mean something, so an empty one is refused too.
///
/// ```
/// use manifest_core::values::label_value_problem;
/// assert_eq!(label_value_problem("lomash-wood"), None);
/// assert_eq!(label_value_problem("1.0.0-rc.1"), None);
/// assert!(label_value_problem("lomash wood").is_some());
/// assert!(label_value_problem("1.0.0-rc-").is_some());
/// assert!(label_value_problem("").is_some());
/// ```
pub fn label_value_problem(value: &str) -> Option<String> {
    let alphanumeric = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    let ok_chars = value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if value.is_empty() {
        Some("\"\" is empty: the label needs a value".to_owned())
    } else if value.len() > 63
        || !ok_chars
        || !alphanumeric(value.bytes().next())
        || !alphanumeric(value.bytes().next_back())
    {
        Some(format!(
            "{value:?} is not a valid label value (at most 63 characters: letters, digits, '-', '_' and '.', starting and ending with a letter or digit)"
        ))
    } else {
        None
    }
}

/// Why `repository` is not an image repository as an image reference names it (`[host[:port]/]`
/// then `/`-separated path components of lower-case letters and digits, joined by `.`, `_`, `__`
/// or dashes; at most 255 characters), or `None`. A first component with a `.` or a `:`, or
/// `localhost`, is the registry host. (Docker would also read a first component with upper case
/// as a host; here it is a path component, refused: `LomashWood/auth-service` is a typo, not a
/// registry.)
///
/// ```
/// use manifest_core::values::image_repository_problem;
/// assert_eq!(image_repository_problem("lomashwood/auth-service"), None);
/// assert_eq!(image_repository_problem("123456789012.dkr.ecr.eu-west-2.amazonaws.com/lomashwood/auth-service"), None);
/// assert_eq!(image_repository_problem("localhost:5000/a__b/c.d"), None);
/// assert!(image_repository_problem("LomashWood/auth-service").is_some());
/// assert!(image_repository_problem("lomash wood/auth-service").is_some());
/// assert!(image_repository_problem("lomashwood//auth-service").is_some());
/// assert!(image_repository_problem("lomashwood/auth_-service").is_some());
/// ```
pub fn image_repository_problem(repository: &str) -> Option<String> {
    let components: Vec<&str> = repository.split('/').collect();
    let has_host = components.len() > 1 && (components[0].contains(['.', ':']) || components[0] == "localhost");
    let (host, path) = if has_host { (Some(components[0]), &components[1..]) } else { (None, &components[..]) };
    let host_ok = host.is_none_or(|h| {
        let (name, port) = h.split_once(':').map_or((h, None), |(n, p)| (n, Some(p)));
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        name.split('.').all(label_ok) && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    if repository.len() <= 255 && host_ok && path.iter().all(|c| path_component_ok(c)) {
        None
    } else {
        Some(format!(
            "{repository:?} is not a valid image repository (lower-case letters and digits joined by '.', '_', '__' or '-' in '/'-separated components, after an optional registry host[:port])"
        ))
    }
}

/// One path component of an image repository: runs of `[a-z0-9]` joined by `.`, `_`, `__` or
/// any number of `-`.
fn path_component_ok(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.first().is_some_and(alnum) || !bytes.last().is_some_and(alnum) {
        return false;
    }
    let mut separator = String::new();
    for &b in bytes {
        if alnum(&b) {
            let ok = separator.is_empty()
                || matches!(separator.as_str(), "." | "_" | "__")
                || separator.bytes().all(|s| s == b'-');
            if !ok {
                return false;
            }
            separator.clear();
        } else if b"._-".contains(&b) {
            separator.push(b as char);
        } else {
            return false;
        }
    }
    true
}

/// Whether `kubectl kustomize` (Kustomize 5.5) cannot carry `c` in a string: it re-encodes every
/// object as JSON, which leaves DEL, the C1 controls (U+0080–U+009F), U+FFFE and U+FFFF
/// unescaped, then reads that JSON again as YAML, which refuses them, or, for U+0085 (a YAML line
/// break), folds it into a space. `tests/it/yaml_roundtrip.rs` shows each of them failing and every
/// other character of the Basic Multilingual Plane passing.
pub fn kustomize_cannot_carry(c: char) -> bool {
    matches!(c, '\u{7f}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}')
}

/// Why a string that reaches a generated object cannot get there unchanged, naming the first
/// character [`kustomize_cannot_carry`], or `None`.
pub fn uncarried_character_problem(value: &str) -> Option<String> {
    let c = value.chars().find(|c| kustomize_cannot_carry(*c))?;
    Some(format!(
        "contains U+{:04X}, which kustomize cannot carry: it refuses DEL, the C1 controls and U+FFFE/U+FFFF, and folds U+0085 into a space",
        u32::from(c)
    ))
}

/// Refuses YAML in which a mapping, at any depth, repeats a key: serde_yaml lets the last of two
/// equal keys win when it reads a map, so a file could say two things and be read as one. The
/// error names the key and the line of its second appearance.
///
/// ```
/// use manifest_core::values::unique_keys;
/// assert_eq!(unique_keys("a: 1\nb:\n  c: 2\n  d: 3\n"), Ok(()));
/// assert_eq!(
///     unique_keys("a: 1\nb:\n  c: 2\n  c: 3\n"),
///     Err("b: duplicate key \"c\" at line 4 column 3".to_owned())
/// );
/// ```
pub fn unique_keys(yaml: &str) -> Result<(), String> {
    serde_yaml::from_str::<UniqueKeys>(yaml).map(|_| ()).map_err(|e| e.to_string())
}

/// Any YAML value, read only to check that no mapping in it repeats a key.
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeys)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    /// An empty document.
    fn visit_none<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<UniqueKeys, D::Error> {
        UniqueKeys::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = Vec::new();
        while map.next_key_seed(Key { seen: &mut seen })?.is_some() {
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }

    /// A tagged value (`!tag value`): its content is checked like any other.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<UniqueKeys, A::Error> {
        let (IgnoredAny, content) = data.variant::<IgnoredAny>()?;
        content.newtype_variant::<UniqueKeys>()
    }
}

/// A mapping's key, checked against the keys before it. The check runs inside the key's own
/// deserialization so that serde_yaml places the error at the key's line.
struct Key<'a> {
    seen: &'a mut Vec<serde_yaml::Value>,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Key<'_> {
    fn check<E: de::Error>(self, key: serde_yaml::Value) -> Result<(), E> {
        if self.seen.contains(&key) {
            let shown = match &key {
                serde_yaml::Value::String(s) => format!("{s:?}"),
                other => serde_yaml::to_string(other).unwrap_or_default().trim_end().to_owned(),
            };
            // serde_yaml adds the key's path and " at line … column …".
            return Err(E::custom(format_args!("duplicate key {shown}")));
        }
        self.seen.push(key);
        Ok(())
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.check(v.into())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.check(v.into())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.check(v.into())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.check(v.into())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.check(v.into())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.check(serde_yaml::Value::Null)
    }
    /// A complex key (`? [a, b]`) is compared whole, as serde_yaml reads it.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.check(serde_yaml::Value::deserialize(SeqAccessDeserializer::new(seq))?)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.check(serde_yaml::Value::deserialize(MapAccessDeserializer::new(map))?)
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        self.check(serde_yaml::Value::deserialize(EnumAccessDeserializer::new(data))?)
    }
}

#[cfg(test)]
mod tests {
    use super::Quantity;

    /// Every form of the Kubernetes quantity grammar, with its value in base units: a form that
    /// stops parsing, or parses to another value, fails here.
    #[test]
    fn quantities_in_every_kubernetes_form() {
        let cpu: &[(&str, u128)] = &[
            ("2", 2_000),
            ("+1", 1_000),
            ("0.5", 500),
            (".5", 500),
            ("5.", 5_000),
            ("250m", 250),
            ("1000000u", 1_000),
            ("1000000000n", 1_000),
            ("1e3", 1_000_000),
            ("1E3", 1_000_000),
            ("1e+3", 1_000_000),
            ("25e-2", 250),
            ("1.5k", 1_500_000),
            ("0002", 2_000),
            ("2.000", 2_000),
            ("1Ki", 1_024_000),
        ];
        let memory: &[(&str, u128)] = &[
            ("512", 512),
            ("1.5Gi", 3 << 29),
            ("0.5Ki", 512),
            ("1Ki", 1 << 10),
            ("1Mi", 1 << 20),
            ("1Gi", 1 << 30),
            ("1Ti", 1 << 40),
            ("1Pi", 1 << 50),
            ("1Ei", 1 << 60),
            ("1k", 1_000),
            ("500M", 500_000_000),
            ("1G", 1_000_000_000),
            ("1T", 1_000_000_000_000),
            ("1P", 1_000_000_000_000_000),
            ("1E", 1_000_000_000_000_000_000),
            ("1e3", 1_000),
            ("1E3", 1_000),
            ("1000m", 1),
            ("1000000000n", 1),
            ("+64Mi", 64 << 20),
            // The largest value a u128 holds, and a form of it scaled by a suffix.
            ("340282366920938463463374607431768211455", u128::MAX),
            ("340282366920938463463374607431768211455000m", u128::MAX),
        ];
        for (parse, table) in [(Quantity::cpu as fn(&str) -> _, cpu), (Quantity::memory, memory)] {
            for (text, expected) in table {
                let q = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
                assert_eq!((q.base_units(), q.as_str()), (*expected, *text), "{text}");
            }
        }
    }

    /// A key repeated in one mapping is refused wherever the mapping is, with the key and the
    /// line of the repeat; the same key in two mappings (one per environment) is not a repeat.
    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        let cases: &[(&str, Result<(), &str>)] = &[
            ("a: \"1\"\nb: \"2\"\n", Ok(())),
            ("", Ok(())),
            ("# only a comment\n", Ok(())),
            ("production:\n  auth: \"1\"\nstaging:\n  auth: \"1\"\n", Ok(())),
            ("1: a\n\"1\": b\n", Ok(())),
            ("a: 1\nb: 2\na: 3\n", Err("duplicate key \"a\" at line 3 column 1")),
            ("a: 1\n\"a\": 2\n", Err("duplicate key \"a\" at line 2 column 1")),
            (
                "production:\n  auth: \"1\"\n  auth: \"2\"\n",
                Err("production: duplicate key \"auth\" at line 3 column 3"),
            ),
            ("production: {}\nstaging: {}\nproduction: {}\n", Err("duplicate key \"production\" at line 3 column 1")),
            ("- a: 1\n  a: 2\n", Err(".[0]: duplicate key \"a\" at line 2 column 3")),
            ("{a: 1, a: 2}\n", Err("duplicate key \"a\" at line 1 column 8")),
            ("1: a\n1: b\n", Err("duplicate key 1 at line 2 column 1")),
            ("x: !t\n  a: 1\n  a: 2\n", Err("x: duplicate key \"a\" at line 3 column 3")),
        ];
        for (yaml, expected) in cases {
            assert_eq!(super::unique_keys(yaml), expected.map_err(str::to_owned), "{yaml:?}");
        }
        assert!(super::unique_keys("? [a, b]\n: 1\n? [a, b]\n: 2\n").is_err(), "a complex key repeated");
    }

    /// What is refused, with the exact message: not the grammar, zero, negative, a fraction of
    /// the base unit, too large. None of these may panic.
    #[test]
    fn quantities_refused_with_their_reason() {
        let cpu: &[(&str, &str)] = &[
            ("two", "\"two\" is not a CPU quantity (e.g. \"250m\" or \"2\")"),
            ("", "\"\" is not a CPU quantity (e.g. \"250m\" or \"2\")"),
            (".", "\".\" is not a CPU quantity (e.g. \"250m\" or \"2\")"),
            ("1.2.3", "\"1.2.3\" is not a CPU quantity (e.g. \"250m\" or \"2\")"),
            ("1K", "\"1K\" is not a CPU quantity (e.g. \"250m\" or \"2\")"),
            ("1e", "\"1e\" is not a CPU quantity (e.g. \"250m\" or \"2\")"),
            ("1e1.5", "\"1e1.5\" is not a CPU quantity (e.g. \"250m\" or \"2\")"),
            ("1mm", "\"1mm\" is not a CPU quantity (e.g. \"250m\" or \"2\")"),
            (" 1", "\" 1\" is not a CPU quantity (e.g. \"250m\" or \"2\")"),
            ("+-1", "\"+-1\" is not a CPU quantity (e.g. \"250m\" or \"2\")"),
            ("0", "\"0\" is zero: a CPU quantity must be above zero"),
            ("-0", "\"-0\" is zero: a CPU quantity must be above zero"),
            ("0e999999999999999999999", "\"0e999999999999999999999\" is zero: a CPU quantity must be above zero"),
            ("-1", "\"-1\" is negative: a CPU quantity must be above zero"),
            ("-250m", "\"-250m\" is negative: a CPU quantity must be above zero"),
            (
                "0.1m",
                "\"0.1m\" is not a whole number of millicores: Kubernetes would round it up; write the exact amount",
            ),
            ("1u", "\"1u\" is not a whole number of millicores: Kubernetes would round it up; write the exact amount"),
            (
                "1e-4",
                "\"1e-4\" is not a whole number of millicores: Kubernetes would round it up; write the exact amount",
            ),
            (
                "1e-999999999999999999999",
                "\"1e-999999999999999999999\" is not a whole number of millicores: Kubernetes would round it up; write the exact amount",
            ),
            ("1e999999999999999999999", "\"1e999999999999999999999\" is too large: more than 2^128 - 1 millicores"),
            ("1e36", "\"1e36\" is too large: more than 2^128 - 1 millicores"),
        ];
        let memory: &[(&str, &str)] = &[
            ("1GB", "\"1GB\" is not a memory quantity (e.g. \"512Mi\" or \"2Gi\")"),
            ("1gi", "\"1gi\" is not a memory quantity (e.g. \"512Mi\" or \"2Gi\")"),
            ("Gi", "\"Gi\" is not a memory quantity (e.g. \"512Mi\" or \"2Gi\")"),
            ("0Gi", "\"0Gi\" is zero: a memory quantity must be above zero"),
            ("-1Gi", "\"-1Gi\" is negative: a memory quantity must be above zero"),
            ("0.5", "\"0.5\" is not a whole number of bytes: Kubernetes would round it up; write the exact amount"),
            ("1m", "\"1m\" is not a whole number of bytes: Kubernetes would round it up; write the exact amount"),
            ("0.1Ki", "\"0.1Ki\" is not a whole number of bytes: Kubernetes would round it up; write the exact amount"),
            (
                "999999999999999999999999999999Ti",
                "\"999999999999999999999999999999Ti\" is too large: more than 2^128 - 1 bytes",
            ),
            (
                "340282366920938463463374607431768211456",
                "\"340282366920938463463374607431768211456\" is too large: more than 2^128 - 1 bytes",
            ),
            ("1e39", "\"1e39\" is too large: more than 2^128 - 1 bytes"),
            ("300000000000000000000Ei", "\"300000000000000000000Ei\" is too large: more than 2^128 - 1 bytes"),
            (
                "1.0000000000000000000000000000000000000001",
                "\"1.0000000000000000000000000000000000000001\" has too many significant digits to compare exactly",
            ),
        ];
        for (parse, table) in [(Quantity::cpu as fn(&str) -> _, cpu), (Quantity::memory, memory)] {
            for (text, expected) in table {
                assert_eq!(parse(text).map(|q| q.base_units()), Err((*expected).to_owned()), "{text}");
            }
        }
    }
}
