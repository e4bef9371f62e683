//! Small value types parsed once from the text a definition is written in: CPU and memory
//! quantities, pinned image tags, DNS-1123 names. A value of one of these types is valid by
//! construction; the parsers return a message (without the service or field, which the caller
//! knows) when the text is not.

use std::fmt;

/// A CPU or memory quantity, kept exactly as written (`"500m"`, `"2Gi"`) so the YAML shows what
/// the definition says, with its value in base units (millicores or bytes) for comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {
    text: String,
    base_units: u128,
}

impl Quantity {
    /// CPU: whole or decimal cores (`"2"`, `"0.5"`) or millicores (`"250m"`).
    ///
    /// ```
    /// use lomash_core::values::Quantity;
    /// assert_eq!(Quantity::cpu("2").unwrap().base_units(), Quantity::cpu("2000m").unwrap().base_units());
    /// assert_eq!(Quantity::cpu("0.25").unwrap().base_units(), 250);
    /// assert!(Quantity::cpu("two").is_err());
    /// ```
    pub fn cpu(text: &str) -> Result<Quantity, String> {
        let (number, scale) = match text.strip_suffix('m') {
            Some(n) => (n, 1),
            None => (text, 1000),
        };
        let millis = parse_decimal(number, scale)
            .ok_or_else(|| format!("{text:?} is not a CPU quantity (e.g. \"250m\" or \"2\")"))?;
        if millis == 0 {
            return Err(format!("{text:?} is zero: a CPU quantity must be above zero"));
        }
        Ok(Quantity { text: text.to_owned(), base_units: millis })
    }

    /// Memory: bytes with an optional binary (`Ki`, `Mi`, `Gi`, `Ti`) or decimal (`k`, `M`, `G`,
    /// `T`) suffix.
    pub fn memory(text: &str) -> Result<Quantity, String> {
        const SUFFIXES: [(&str, u128); 8] = [
            ("Ki", 1 << 10),
            ("Mi", 1 << 20),
            ("Gi", 1 << 30),
            ("Ti", 1 << 40),
            ("k", 1_000),
            ("M", 1_000_000),
            ("G", 1_000_000_000),
            ("T", 1_000_000_000_000),
        ];
        let (number, scale) =
            SUFFIXES.iter().find_map(|(s, f)| text.strip_suffix(s).map(|n| (n, *f))).unwrap_or((text, 1));
        let bytes = parse_decimal(number, scale)
            .ok_or_else(|| format!("{text:?} is not a memory quantity (e.g. \"512Mi\" or \"2Gi\")"))?;
        if bytes == 0 {
            return Err(format!("{text:?} is zero: a memory quantity must be above zero"));
        }
        Ok(Quantity { text: text.to_owned(), base_units: bytes })
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

/// `digits[.digits]` times `scale`, exactly, when the result is whole.
fn parse_decimal(text: &str, scale: u128) -> Option<u128> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || whole.len() + frac.len() > 30 {
        return None;
    }
    let mut value = whole.parse::<u128>().ok()? * scale;
    let mut unit = scale;
    for b in frac.bytes() {
        if !unit.is_multiple_of(10) {
            return None; // finer than the smallest unit (e.g. "0.5m")
        }
        unit /= 10;
        value += u128::from(b - b'0') * unit;
    }
    Some(value)
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
