//! The catalogue: the services as spec sheets ([`ServiceDef`]), the platform settings every
//! service shares ([`Platform`]) and the image tags of each environment ([`Release`]): everything
//! the generated tree is made from.

use indexmap::IndexMap;

use crate::spec::{Platform, ServiceDef};

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
    pub fn parse(text: &str) -> Result<Release, String> {
        let tags: Option<IndexMap<String, String>> =
            serde_yaml::from_str(text).map_err(|e| format!("{e} (expected `service: \"tag\"` lines, tags quoted)"))?;
        Ok(Release { tags: tags.unwrap_or_default(), unreadable: None })
    }

    /// The file `parse` reads, with a header; one line a service, in the order given.
    pub fn to_file(&self) -> String {
        let mut out = String::from(
            "# The image tag each service runs in production: the one place a release changes.\n\
             # Change it with `cargo xtask set-image <service> <tag>`, which also regenerates\n\
             # generated/. Tags are pinned: a semantic version, a full git SHA, or either with\n\
             # @sha256:<digest>.\n",
        );
        for (service, tag) in &self.tags {
            out.push_str(&format!("{service}: {}\n", quote(tag)));
        }
        out
    }
}

/// Tags are always quoted: YAML would read `1.0` or `123` as numbers.
fn quote(tag: &str) -> String {
    format!("{tag:?}")
}
