//! The catalogue: the services as spec sheets ([`ServiceDef`]), the platform settings every
//! service shares ([`Platform`]) and the image tags of each environment ([`Release`]): everything
//! the generated tree is made from.

use indexmap::IndexMap;

use crate::spec::{Platform, ServiceDef};
use crate::values::unique_keys;

/// Everything the generated tree is made from.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub platform: Platform,
    pub services: Vec<ServiceDef>,
    pub release: Release,
}

/// The image tag each service runs in production: the one place a release changes, kept in
/// `crates/lomash-manifests/images.yaml` and edited by `cargo xtask set-image`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Release {
    pub tags: IndexMap<String, String>,
    /// Why the release file could not be read, when it could not.
    pub unreadable: Option<String>,
}

pub use crate::layout::RELEASE_PATH;

impl Release {
    /// The tags `environment` runs, when the file pins any. The file holds one environment's,
    /// [`Release::ENVIRONMENT`]; every environment of the platform must find its tags here.
    pub fn tags_for(&self, environment: &str) -> Option<&IndexMap<String, String>> {
        (environment == Self::ENVIRONMENT).then_some(&self.tags)
    }

    /// The environment whose tags the file pins.
    pub const ENVIRONMENT: &'static str = "production";

    /// Like [`Release::parse`], with a parse error kept in `unreadable` for validation to report
    /// (`release: images.yaml: …`) instead of panicking.
    pub fn read(text: &str) -> Release {
        Release::parse(text).unwrap_or_else(|e| Release { tags: IndexMap::new(), unreadable: Some(e) })
    }

    /// Reads `service: tag` lines (YAML). Tags are checked later, with the rest of the catalogue.
    /// A key repeated in any mapping is an error naming it and its line: serde_yaml would keep
    /// the last silently, and the release would not be what the file seems to say.
    pub fn parse(text: &str) -> Result<Release, String> {
        let tags: Option<IndexMap<String, String>> =
            serde_yaml::from_str(text).map_err(|e| format!("{e} (expected `service: \"tag\"` lines, tags quoted)"))?;
        unique_keys(text).map_err(|e| format!("{e} (each key once: a repeat would silently replace the first)"))?;
        Ok(Release { tags: tags.unwrap_or_default(), unreadable: None })
    }

    /// `text`, a release file, with `service`'s tag set to `tag`: only the tag on the service's
    /// line changes (a line is appended for a new service), so comments, order and every other
    /// line stay as written. An error when `text` does not [`parse`](Release::parse) or the
    /// service's line is not one this edit understands; nothing is half-done.
    pub fn with_tag(text: &str, service: &str, tag: &str) -> Result<String, String> {
        let mut expected = Release::parse(text)?.tags;
        let listed = expected.insert(service.to_owned(), tag.to_owned()).is_some();
        let in_place = || format!("{service}: cannot set the tag in place: write its line as `{service}: \"tag\"`");

        let mut out = String::with_capacity(text.len() + service.len() + tag.len() + 8);
        let mut found = false;
        for line in text.split_inclusive('\n') {
            match tag_span(line, service).filter(|_| !found) {
                Some((start, end)) => {
                    out.push_str(&line[..start]);
                    out.push_str(&quote(tag));
                    out.push_str(&line[end..]);
                    found = true;
                }
                None => out.push_str(line),
            }
        }
        if !found {
            if listed {
                return Err(in_place());
            }
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("{service}: {}\n", quote(tag)));
        }
        // The edit is textual: read it back and accept only exactly the intended tags, in the
        // file's order, so that a line in a form `tag_span` misreads cannot slip through.
        match Release::parse(&out) {
            Ok(edited) if edited.tags.iter().eq(expected.iter()) => Ok(out),
            _ => Err(in_place()),
        }
    }
}

/// Where the tag is on `line` when it reads `service: tag` at the top level, the key plain or
/// quoted, the tag plain or quoted, a comment after it allowed.
fn tag_span(line: &str, service: &str) -> Option<(usize, usize)> {
    let keys = [service.to_owned(), format!("\"{service}\""), format!("'{service}'")];
    let rest = keys.iter().find_map(|k| line.strip_prefix(k.as_str()))?.strip_prefix(':')?;
    let value = rest.trim_start_matches([' ', '\t']);
    let start = line.len() - value.len();
    let bytes = value.as_bytes();
    let len = match bytes.first()? {
        b'"' => {
            let mut i = 1;
            loop {
                match bytes.get(i)? {
                    b'\\' => i += 2,
                    b'"' => break i + 1,
                    _ => i += 1,
                }
            }
        }
        b'\'' => {
            let mut i = 1;
            loop {
                match (bytes.get(i)?, bytes.get(i + 1)) {
                    (b'\'', Some(b'\'')) => i += 2,
                    (b'\'', _) => break i + 1,
                    _ => i += 1,
                }
            }
        }
        // No tag on the line (`service:` alone, or a comment): nothing to replace.
        b'#' | b'\r' | b'\n' => return None,
        _ => value[..value.find(" #").unwrap_or(value.len())].trim_end().len(),
    };
    Some((start, start + len))
}

/// Tags are always quoted: YAML would read `1.0` or `123` as numbers.
fn quote(tag: &str) -> String {
    format!("{tag:?}")
}
