//! Where each environment pulls its images from. The base names every image as development
//! pulls it (`lomashwood/auth-service`, Docker Hub's `postgres`); each overlay maps them, through
//! its `kustomization.yaml`'s `images:` (`name` → `newName`, and the release's `newTag` for the
//! services), to the platform's registry ([`crate::spec::Aws`]): the platform's own repositories
//! under the same path, Docker Hub's through the registry's pull-through cache. The typed objects
//! of an environment carry the mapped names (what its cluster runs); the overlay's own files name
//! images as the base does, so `images:` is the one place a registry is written
//! ([`Unmap`]).

use std::collections::HashMap;

use crate::model::Model;
use crate::node::Node;
use crate::spec::{Environment, Platform};

/// One entry of an overlay's `images:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageMapping {
    /// The repository as the base and the overlay's files name it.
    pub name: String,
    /// The repository the environment pulls.
    pub new_name: String,
    /// What the environment runs of it, when the overlay pins it (the services'; the init images
    /// keep the tag they are written with).
    pub pin: Option<Pin>,
}

/// How an overlay pins a service's image: by tag (`newTag`), or by digest (`digest`), which
/// Kustomize writes as `name@sha256:…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    Tag(String),
    Digest(String),
}

/// The `images:` of `env`'s overlay: every service's repository with its tag, then each data
/// store's image (its wait containers') the services use, mapped to where the environment pulls it. Without a registry to map
/// to, the services' tags only.
pub fn overlay_images(model: &Model, env: &Environment) -> Vec<ImageMapping> {
    let platform = &model.platform;
    let services = model.services.iter().map(|s| ImageMapping {
        name: s.image.clone(),
        new_name: pulled(platform, &s.image),
        pin: Some({
            let tag = s.tag(&env.name);
            match tag.digest() {
                Some(digest) => Pin::Digest(digest.to_owned()),
                None => Pin::Tag(tag.to_string()),
            }
        }),
    });
    let used = platform.stores.iter().filter(|st| model.services.iter().any(|s| s.uses_store(&st.name)));
    let inits = used.filter_map(|store| {
        let (repository, _) = split(&store.image);
        let new_name = pulled(platform, repository);
        (new_name != repository).then(|| ImageMapping { name: repository.to_owned(), new_name, pin: None })
    });
    services.chain(inits).collect()
}

/// The repository an environment of `platform` pulls for `repository` (no tag).
pub fn pulled(platform: &Platform, repository: &str) -> String {
    let Some(aws) = &platform.aws else { return repository.to_owned() };
    if repository.starts_with(&format!("{}/", platform.registry)) {
        aws.own(repository)
    } else if has_registry_host(repository) {
        // Already names its registry: pulled from there.
        repository.to_owned()
    } else {
        aws.docker_hub(repository)
    }
}

/// `image` (`repository[:tag][@digest]`) with its repository as an environment pulls it.
pub fn pulled_image(platform: &Platform, image: &str) -> String {
    let (repository, rest) = split(image);
    format!("{}{rest}", pulled(platform, repository))
}

/// Whether a repository's first component is a registry host (`registry.local:5000/x`), as
/// Docker reads it.
fn has_registry_host(repository: &str) -> bool {
    repository.split_once('/').is_some_and(|(first, _)| first.contains(['.', ':']) || first == "localhost")
}

/// An image reference split into its repository and the rest (`:tag`, `@digest`, or both).
pub fn split(image: &str) -> (&str, &str) {
    let name_start = image.rfind('/').map_or(0, |i| i + 1);
    let end = image[name_start..].find([':', '@']).map_or(image.len(), |i| name_start + i);
    image.split_at(end)
}

/// The overlay's `images:`, looked up by the repository an environment pulls (`newName`): what
/// [`Unmap::apply`] puts back. Built once an overlay; a lookup does not grow with the services.
pub struct Unmap<'a>(HashMap<&'a str, &'a str>);

impl<'a> Unmap<'a> {
    /// Where two mappings pull one repository, the first counts.
    pub fn new(mappings: &'a [ImageMapping]) -> Unmap<'a> {
        let mut by_pulled = HashMap::new();
        for m in mappings {
            by_pulled.entry(m.new_name.as_str()).or_insert(m.name.as_str());
        }
        Unmap(by_pulled)
    }

    /// Every `image:` of `node` that names a mapped repository, put back to the name `images:`
    /// maps from (the tag stays): what the overlay's files write, so that the transformer, not
    /// the file, says where an image comes from.
    pub fn apply(&self, node: &mut Node) {
        match node {
            Node::Map(m) => {
                for (key, v) in m.iter_mut() {
                    match (key.as_ref(), &*v) {
                        ("image", Node::Str(image)) => {
                            let (repository, rest) = split(image);
                            if let Some(name) = self.0.get(repository) {
                                *v = Node::Str(format!("{name}{rest}"));
                            }
                        }
                        _ => self.apply(v),
                    }
                }
            }
            Node::Seq(items) => items.iter_mut().for_each(|v| self.apply(v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_the_repository_from_its_tag_and_digest() {
        let cases = [
            ("postgres:16.4-alpine", ("postgres", ":16.4-alpine")),
            ("lomashwood/auth-service", ("lomashwood/auth-service", "")),
            ("registry.local:5000/a/b:1.0.0", ("registry.local:5000/a/b", ":1.0.0")),
            ("a/b:1.0.0@sha256:00", ("a/b", ":1.0.0@sha256:00")),
            ("a/b@sha256:00", ("a/b", "@sha256:00")),
        ];
        for (image, want) in cases {
            assert_eq!(split(image), want, "{image}");
        }
    }
}
