//! `cargo xtask set-image <service> <tag>`: the release pipeline's one way to change what runs in
//! production. The tag lives in `images.yaml`; the generated tree follows from it, so the
//! pipeline's commit is reviewable and `cargo xtask check` stays green.
//!
//! Everything is checked before anything is written: the service must exist, the whole catalogue
//! must validate with the new tag, and the tree must render. Only then are `images.yaml` and
//! `generated/` written, under the write lock, all or nothing (see `sync`). In `images.yaml` only
//! the service's tag changes (or a line is added for it): its comments and order stay as reviewed.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use lomash_manifests::catalogue::RELEASE_PATH;
use lomash_manifests::{catalogue, render, Catalogue, Release};

use crate::sync;

/// Sets `service`'s production tag under `root` and regenerates `root/generated`. Returns the
/// previous tag. On an error nothing under `root` has changed, unless the error says that every
/// change is in place (only the old tree could not be removed).
pub fn set_image(root: &Path, service: &str, tag: &str) -> Result<String> {
    // Before reading images.yaml: two set-image runs must not both read the old file and each
    // write back its own tag only.
    let lock = sync::WriteLock::acquire(root)?;
    let release_path = root.join(RELEASE_PATH);
    let text = fs::read_to_string(&release_path).with_context(|| format!("reading {}", release_path.display()))?;
    // The release on disk, not the one compiled into the library: this run may follow another
    // set-image that the binary was not rebuilt for.
    let mut release =
        Release::parse(&text).map_err(|e| anyhow::anyhow!("release: images.yaml: {e}; nothing was changed"))?;

    let definitions = catalogue();
    if !definitions.services.iter().any(|s| s.name == service) {
        let known: Vec<&str> = definitions.services.iter().map(|s| s.name.as_str()).collect();
        bail!("{service}: service: not in the catalogue (known: {}); nothing was changed", known.join(", "));
    }
    let previous = release.tags.insert(service.to_owned(), tag.to_owned()).unwrap_or_default();

    let candidate = Catalogue { release, ..definitions };
    let files = render(&candidate).map_err(|e| anyhow::anyhow!("{e}nothing was changed"))?;
    // Only the service's tag changes in the file: its comments and order are the reviewers'.
    // `with_tag` reads its result back, so the file written is the release just rendered.
    let edited = Release::with_tag(&text, service, tag)
        .map_err(|e| anyhow::anyhow!("release: images.yaml: {e}; nothing was changed"))?;

    // images.yaml is staged with the generated files: both change, or neither.
    let report = sync::write_report(&lock, &files, &[(release_path, edited)])?;
    print!("{}", report.text);
    Ok(previous)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use lomash_manifests::k8s_openapi::api::apps::v1::Deployment;
    use lomash_manifests::k8s_openapi::Resource;
    use serde_yaml::Value;

    use lomash_manifests::layout::GENERATED_DIR;

    use super::*;
    use crate::project_root;
    use crate::testing::{copy_tree, TempDir};

    const OVERLAY: &str = "generated/infra/kubernetes/overlays/production";

    /// A temporary root with a copy of the committed images.yaml and generated/.
    fn temp_root() -> TempDir {
        let dir = TempDir::new("set-image");
        let release = dir.path().join(RELEASE_PATH);
        fs::create_dir_all(release.parent().unwrap()).unwrap();
        fs::copy(project_root().join(RELEASE_PATH), &release).unwrap();
        copy_tree(&project_root().join(GENERATED_DIR), &dir.path().join(GENERATED_DIR));
        dir
    }

    /// Every file under `dir`, by path, to compare before and after; not the lock file, which
    /// every writer creates (and git ignores) before it reads anything.
    fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        let mut files = BTreeMap::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(folder) = pending.pop() {
            for entry in fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else if path != dir.join(sync::LOCK_FILE) {
                    files.insert(path.strip_prefix(dir).unwrap().display().to_string(), fs::read(&path).unwrap());
                }
            }
        }
        files
    }

    fn yaml_documents(path: &Path) -> Vec<Value> {
        let text = fs::read_to_string(path).unwrap();
        serde_yaml::Deserializer::from_str(&text).map(|d| serde::Deserialize::deserialize(d).unwrap()).collect()
    }

    #[test]
    fn rejects_unknown_services_and_unpinned_tags_without_changing_anything() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let cases: [(&str, &str, &[&str]); 7] = [
            ("no-such-service", "1.0.0", &["no-such-service: service: not in the catalogue", "analytics-service"]),
            ("auth-service", "latest", &["auth-service: image.tag:", "\"latest\" is not pinned"]),
            ("auth-service", "1.2", &["auth-service: image.tag:", "\"1.2\" is not pinned"]),
            ("auth-service", "", &["auth-service: image.tag:", "empty"]),
            ("auth-service", &sha[..12], &["auth-service: image.tag:", "not pinned"]),
            ("auth-service", "1.0.0@sha256:abc", &["auth-service: image.tag:", "malformed digest"]),
            ("analytics-service", "1.0.0@md5:00", &["analytics-service: image.tag:", "malformed digest"]),
        ];
        for (service, tag, expected) in cases {
            let root = temp_root();
            let before = snapshot(root.path());
            let error = set_image(root.path(), service, tag).expect_err("must fail").to_string();
            for fragment in expected {
                assert!(error.contains(fragment), "set-image {service} {tag:?}: {fragment:?} not in {error:?}");
            }
            assert!(error.contains("nothing was changed"), "{error}");
            assert!(snapshot(root.path()) == before, "set-image {service} {tag:?} changed files");
        }
    }

    #[test]
    fn sets_the_tag_everywhere_it_shows() {
        let tags = [
            "2.1.0",
            "0123456789abcdef0123456789abcdef01234567",
            "2.1.0@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
        ];
        // The committed tags, whatever the last release made them.
        let committed = catalogue().release.tags;
        for tag in tags {
            let root = temp_root();
            let previous = set_image(root.path(), "analytics-service", tag).expect("set-image succeeds");
            assert_eq!(previous, committed["analytics-service"], "set-image returns the tag it replaced");

            let release = fs::read_to_string(root.path().join(RELEASE_PATH)).unwrap();
            assert_eq!(Release::parse(&release).unwrap().tags["analytics-service"], tag);
            assert_eq!(
                Release::parse(&release).unwrap().tags["auth-service"],
                committed["auth-service"],
                "other tags kept"
            );

            let kustomization = &yaml_documents(&root.path().join(OVERLAY).join("kustomization.yaml"))[0];
            let images = kustomization["images"].as_sequence().unwrap();
            let pinned = images.iter().find(|i| i["name"] == "lomashwood/analytics-service").unwrap();
            assert_eq!(pinned["newTag"].as_str(), Some(tag));

            let patch = yaml_documents(&root.path().join(OVERLAY).join("patches/analytics-service.yaml"));
            let deployment = patch.iter().find(|d| d["kind"] == Deployment::KIND).unwrap();
            let init = deployment["spec"]["template"]["spec"]["initContainers"].as_sequence().unwrap();
            let migrations = init.iter().find(|c| c["name"] == "run-migrations").unwrap();
            assert_eq!(migrations["image"].as_str(), Some(format!("lomashwood/analytics-service:{tag}").as_str()));

            // The whole tree is what the new release renders: no stale file left behind.
            let expected = render(&Catalogue { release: Release::parse(&release).unwrap(), ..catalogue() }).unwrap();
            let (changes, _) = sync::plan(&root.path().join(GENERATED_DIR), &expected).unwrap();
            assert!(changes.is_empty(), "{}", sync::describe_drift(&changes));
        }
    }

    /// set-image holds the write lock from reading images.yaml to writing it: two at once (here
    /// queued behind a held lock) both land, neither overwrites the other's tag with the old one.
    #[test]
    fn set_image_waits_for_the_lock_and_loses_no_update() {
        let root = temp_root();
        let before = snapshot(root.path());
        let lock = sync::WriteLock::acquire(root.path()).unwrap();
        let runs: Vec<_> = [("analytics-service", "2.1.0"), ("auth-service", "2.2.0")]
            .into_iter()
            .map(|(service, tag)| {
                let path = root.path().to_path_buf();
                std::thread::spawn(move || set_image(&path, service, tag))
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(snapshot(root.path()) == before, "set-image wrote while another writer held the lock");

        drop(lock);
        for run in runs {
            run.join().unwrap().expect("set-image runs once the lock is free");
        }
        let release = Release::parse(&fs::read_to_string(root.path().join(RELEASE_PATH)).unwrap()).unwrap();
        assert_eq!(
            (release.tags["analytics-service"].as_str(), release.tags["auth-service"].as_str()),
            ("2.1.0", "2.2.0")
        );
    }

    /// The services [`hand_edited`] writes in a form of their own; every other service of the
    /// catalogue follows them, one plain line each.
    const HAND_WRITTEN: [&str; 5] =
        ["api-gateway", "auth-service", "product-service", "order-payment-service", "appointment-service"];

    /// A release file as a person edits it: comments between and after lines, a blank line,
    /// quoted and plain forms. Every service of the catalogue, at its committed tag.
    fn hand_edited() -> String {
        let c = catalogue();
        let tag = |service: &str| c.release.tags[service].clone();
        let rest: String = c
            .services
            .iter()
            .filter(|s| !HAND_WRITTEN.contains(&s.name.as_str()))
            .map(|s| format!("{}: \"{}\"\n", s.name, tag(&s.name)))
            .collect();
        format!(
            "# Production tags. Reviewers: see the release notes for each bump.\n\
             api-gateway: \"{}\"\n\
             auth-service: \"{}\"   # pinned: see incident 42\n\
             \n\
             # Commerce\n\
             product-service: '{}'\n\
             \"order-payment-service\": \"{}\"\n\
             appointment-service: {} # plain\n\
             {rest}\
             # end\n",
            tag("api-gateway"),
            tag("auth-service"),
            tag("product-service"),
            tag("order-payment-service"),
            tag("appointment-service"),
        )
    }

    /// A tag other than the committed one of `service`.
    fn another_tag(service: &str) -> &'static str {
        if catalogue().release.tags[service] == "2.1.0" {
            "2.1.1"
        } else {
            "2.1.0"
        }
    }

    fn write_release(root: &Path, text: &str) {
        fs::write(root.join(RELEASE_PATH), text).unwrap();
    }

    /// set-image changes the tag on the service's line and nothing else: comments, the blank
    /// line and the order are the reviewers', and a rewrite from the map would drop them.
    #[test]
    fn keeps_every_comment_and_the_order_of_the_file() {
        let root = temp_root();
        let text = hand_edited();
        write_release(root.path(), &text);
        let (old, new) = (&catalogue().release.tags["auth-service"], another_tag("auth-service"));
        set_image(root.path(), "auth-service", new).expect("set-image succeeds");
        let expected = text.replace(&format!("auth-service: \"{old}\"   #"), &format!("auth-service: \"{new}\"   #"));
        assert_ne!(expected, text, "the test must change a line");
        assert_eq!(fs::read_to_string(root.path().join(RELEASE_PATH)).unwrap(), expected);
    }

    /// Each form of a line is edited in place: plain, single- or double-quoted tag, quoted key,
    /// a comment after the tag, no newline at the end of the file; a service without a line gets
    /// one at the end.
    #[test]
    fn sets_the_tag_on_the_services_line_in_each_form() {
        let cases: [(&str, &str, &str); 7] = [
            ("a: \"1.0.0\"\nb: \"1.0.0\"\n", "a", "a: \"2.0.0\"\nb: \"1.0.0\"\n"),
            ("a: '1.0.0' # why\n", "a", "a: \"2.0.0\" # why\n"),
            ("a: 1.0.0   # why\n", "a", "a: \"2.0.0\"   # why\n"),
            ("\"a\": \"1.0.0\"\n", "a", "\"a\": \"2.0.0\"\n"),
            ("# head\nab: \"1.0.0\"\na: \"1.0.0\"", "a", "# head\nab: \"1.0.0\"\na: \"2.0.0\""),
            ("a: \"1.0.0\"\n# tail\n", "b", "a: \"1.0.0\"\n# tail\nb: \"2.0.0\"\n"),
            ("a: \"1.0.0\"", "b", "a: \"1.0.0\"\nb: \"2.0.0\"\n"),
        ];
        for (text, service, expected) in cases {
            assert_eq!(Release::with_tag(text, service, "2.0.0").as_deref(), Ok(expected), "{text:?}");
        }
    }

    /// A line the in-place edit cannot read is an error, never a second line for the service.
    #[test]
    fn refuses_a_line_it_cannot_edit_in_place() {
        let cases = ["a : \"1.0.0\"\n", "a:\n  \"1.0.0\"\n", "{a: \"1.0.0\"}\n"];
        for text in cases {
            assert_eq!(
                Release::with_tag(text, "a", "2.0.0"),
                Err("a: cannot set the tag in place: write its line as `a: \"tag\"`".to_owned()),
                "{text:?}"
            );
        }
    }

    /// A release file naming a service twice is refused before anything is written: which of
    /// the two tags runs would otherwise depend on the reader.
    #[test]
    fn a_duplicate_key_is_an_error_that_changes_nothing() {
        let root = temp_root();
        let text = hand_edited();
        // The repeat takes the place of the last line, the comment.
        let line = text.lines().count();
        let twice = text.replace("# end\n", "auth-service: \"1.0.1\"\n");
        write_release(root.path(), &twice);
        let before = snapshot(root.path());
        let error = set_image(root.path(), "analytics-service", "2.1.0").expect_err("must fail").to_string();
        assert_eq!(
            error,
            format!(
                "release: images.yaml: duplicate key \"auth-service\" at line {line} column 1 \
                 (each key once: a repeat would silently replace the first); nothing was changed"
            )
        );
        assert!(snapshot(root.path()) == before, "set-image changed files");
    }

    /// A service whose line was removed gets one again, at the end, after every comment.
    #[test]
    fn appends_a_line_for_a_service_the_file_lacks() {
        let root = temp_root();
        let text = hand_edited();
        let line = format!("analytics-service: \"{}\"\n", catalogue().release.tags["analytics-service"]);
        assert!(text.contains(&line), "the file has a line for analytics-service");
        let without = text.replace(&line, "");
        write_release(root.path(), &without);
        let previous = set_image(root.path(), "analytics-service", "2.1.0").expect("set-image succeeds");
        assert_eq!(previous, "");
        let text = fs::read_to_string(root.path().join(RELEASE_PATH)).unwrap();
        assert_eq!(text, format!("{without}analytics-service: \"2.1.0\"\n"));
    }
}
