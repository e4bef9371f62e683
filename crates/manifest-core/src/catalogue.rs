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

/// The image tag each service runs in each environment: the one place a release changes, kept in
/// the catalogue's `images.yaml` (one mapping per environment, `service: "tag"` inside) and
/// edited by `cargo xtask set-image` and `cargo xtask promote`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Release {
    /// The tags of each environment, by environment then service, in the file's order.
    pub environments: IndexMap<String, IndexMap<String, String>>,
    /// Why the release file could not be read, when it could not.
    pub unreadable: Option<String>,
}

/// How a release file reads, for the errors of a file that does not.
const SHAPE: &str = "expected one mapping per environment, `service: \"tag\"` lines inside, tags quoted";

impl Release {
    /// The tags `environment` runs, when the file has a mapping for it. Validation requires one
    /// for every environment of the platform, and no other.
    pub fn tags_for(&self, environment: &str) -> Option<&IndexMap<String, String>> {
        self.environments.get(environment)
    }

    /// The tag `service` runs in `environment`, when the file pins one.
    pub fn tag(&self, environment: &str, service: &str) -> Option<&str> {
        self.tags_for(environment)?.get(service).map(String::as_str)
    }

    /// Pins `service` at `tag` in every environment the release has (a new service starts the
    /// same everywhere).
    pub fn set_tag_everywhere(&mut self, service: &str, tag: &str) {
        for tags in self.environments.values_mut() {
            tags.insert(service.to_owned(), tag.to_owned());
        }
    }

    /// Every tag of every environment, for changing them all alike.
    pub fn all_tags_mut(&mut self) -> impl Iterator<Item = (&String, &mut String)> {
        self.environments.values_mut().flat_map(|tags| tags.iter_mut())
    }

    /// Forgets `service` in every environment.
    pub fn remove_service(&mut self, service: &str) {
        for tags in self.environments.values_mut() {
            tags.shift_remove(service);
        }
    }

    /// Pins `service` to `tag` in `environment` (the environment's mapping is added at the end
    /// when the release has none) and returns the tag it replaces.
    pub fn set_tag(&mut self, environment: &str, service: &str, tag: &str) -> Option<String> {
        self.environments.entry(environment.to_owned()).or_default().insert(service.to_owned(), tag.to_owned())
    }

    /// Like [`Release::parse`], with a parse error kept in `unreadable` for validation to report
    /// (`release: images.yaml: …`) instead of panicking.
    pub fn read(text: &str) -> Release {
        Release::parse(text).unwrap_or_else(|e| Release { environments: IndexMap::new(), unreadable: Some(e) })
    }

    /// Reads one mapping per environment of `service: tag` lines (YAML); an environment with no
    /// lines yet (`staging:` alone) has no tags. Tags are checked later, with the rest of the
    /// catalogue. A key repeated in any mapping is an error naming it and its line: serde_yaml
    /// would keep the last silently, and the release would not be what the file seems to say.
    pub fn parse(text: &str) -> Result<Release, String> {
        let environments: Option<IndexMap<String, Option<IndexMap<String, String>>>> =
            serde_yaml::from_str(text).map_err(|e| format!("{e} ({SHAPE})"))?;
        unique_keys(text).map_err(|e| format!("{e} (each key once: a repeat would silently replace the first)"))?;
        let environments =
            environments.unwrap_or_default().into_iter().map(|(env, tags)| (env, tags.unwrap_or_default())).collect();
        Ok(Release { environments, unreadable: None })
    }

    /// `text`, a release file, with `service`'s tag in `environment` set to `tag`: only the tag
    /// on the service's line in the environment's mapping changes, so comments, order and every
    /// other line stay as written. A service the mapping lacks gets a line after the mapping's
    /// last; an environment the file lacks gets a mapping at the end. An error when `text` does
    /// not [`parse`](Release::parse) or the line is not one this edit understands; nothing is
    /// half-done.
    pub fn with_tag(text: &str, environment: &str, service: &str, tag: &str) -> Result<String, String> {
        let mut expected = Release::parse(text)?;
        expected.set_tag(environment, service, tag);
        let in_place = || {
            format!(
                "{environment}.{service}: cannot set the tag in place: write its line as `  {service}: \"tag\"` \
                 in the `{environment}:` mapping"
            )
        };

        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let mut out = String::with_capacity(text.len() + environment.len() + service.len() + tag.len() + 16);
        match mapping(&lines, environment) {
            Some(block) => {
                let indent = " ".repeat(block.indent);
                let mut edited = false;
                for (i, line) in lines.iter().enumerate() {
                    let span = (block.entries.contains(&i) && !edited)
                        .then(|| line.strip_prefix(indent.as_str()).and_then(|entry| tag_span(entry, service)))
                        .flatten();
                    match span {
                        Some((start, end)) => {
                            out.push_str(&line[..block.indent + start]);
                            out.push_str(&quote(tag));
                            out.push_str(&line[block.indent + end..]);
                            edited = true;
                        }
                        None => out.push_str(line),
                    }
                    if i == block.last && !edited {
                        if !out.ends_with('\n') {
                            out.push('\n');
                        }
                        out.push_str(&format!("{indent}{service}: {}\n", quote(tag)));
                    }
                }
            }
            None => {
                out.push_str(text);
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(&format!("{environment}:\n  {service}: {}\n", quote(tag)));
            }
        }
        // The edit is textual: read it back and accept only exactly the intended tags, in the
        // file's order, so that a line in a form this edit misreads cannot slip through.
        match Release::parse(&out) {
            Ok(edited) if same_order(&edited, &expected) => Ok(out),
            _ => Err(in_place()),
        }
    }
}

/// Equal, and in the same order (an `IndexMap`'s `==` ignores order).
fn same_order(a: &Release, b: &Release) -> bool {
    a.environments.len() == b.environments.len()
        && a.environments.iter().zip(&b.environments).all(|((ea, ta), (eb, tb))| ea == eb && ta.iter().eq(tb.iter()))
}

/// Where an environment's mapping is in the file, by line index.
struct Mapping {
    /// The line after which a new entry goes: the last entry's, or the header's when it has none.
    last: usize,
    /// The lines of the mapping's entries.
    entries: std::ops::Range<usize>,
    /// How far its entries are indented (that of the first, two spaces when it has none).
    indent: usize,
}

/// The mapping of `environment`: the top-level line `environment:` (the key plain or quoted, a
/// comment after it allowed), then every line up to the next top-level key. Blank and comment
/// lines count as entries too: the edit reads only `service: tag` lines at the entries' indent.
fn mapping(lines: &[&str], environment: &str) -> Option<Mapping> {
    let header = lines.iter().position(|line| {
        key_rest(line, environment).is_some_and(|rest| {
            matches!(rest.trim_start_matches([' ', '\t']).as_bytes().first(), None | Some(b'#' | b'\r' | b'\n'))
        })
    })?;
    let mut last = header;
    let mut indent = None;
    let mut end = header + 1;
    while let Some(line) = lines.get(end) {
        let body = line.trim_start_matches(' ');
        let blank_or_comment = matches!(body.trim_start().as_bytes().first(), None | Some(b'#'));
        if !blank_or_comment {
            if body.len() == line.len() {
                break;
            }
            indent.get_or_insert(line.len() - body.len());
            last = end;
        }
        end += 1;
    }
    Some(Mapping { last, entries: header + 1..end, indent: indent.unwrap_or(2) })
}

/// The rest of `line` after `key:` when the line starts with the key, plain or quoted.
fn key_rest<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let keys = [key.to_owned(), format!("\"{key}\""), format!("'{key}'")];
    keys.iter().find_map(|k| line.strip_prefix(k.as_str()))?.strip_prefix(':')
}

/// Where the tag is on `line` when it reads `service: tag` (the entries' indent removed), the key
/// plain or quoted, the tag plain or quoted, a comment after it allowed.
fn tag_span(line: &str, service: &str) -> Option<(usize, usize)> {
    let rest = key_rest(line, service)?;
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
