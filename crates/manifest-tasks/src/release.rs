//! `cargo xtask set-image [--env <environment>] <service> <tag>`: the release pipeline's one way
//! to change what runs in an environment (production when none is named, so the command keeps the
//! meaning it had before there were several). The tag lives in `images.yaml`, one mapping per
//! environment; the generated tree follows from it, so the pipeline's commit is reviewable and
//! `cargo xtask check` stays green.
//!
//! Everything is checked before anything is written: the environment and the service must exist,
//! the whole catalogue must validate with the new tag, and the tree must render. Only then are
//! `images.yaml` and `generated/` written, under the write lock, all or nothing (see `sync`). In
//! `images.yaml` only the service's tag in that environment changes (or a line is added for it):
//! its comments and order stay as reviewed. `promote` (see `promote`) edits the file the same way.

use std::fs;
use std::path::{Path, PathBuf};

use crate::release_path;
use anyhow::{anyhow, bail, Context, Result};
use manifest_core::{render, Catalogue, Release};

use crate::{environment, sync};

/// Sets `service`'s tag in `env` under `root` and regenerates `root/generated` from `definitions`
/// (their platform and services; the release is the one on disk). Returns the previous tag (empty
/// when there was none). On an error nothing under `root` has changed, unless the error says that
/// every change is in place (only the old tree could not be removed).
pub fn set_image(root: &Path, definitions: &Catalogue, env: &str, service: &str, tag: &str) -> Result<String> {
    let env = environment(&definitions.platform, env).map_err(|e| anyhow!("{e}; nothing was changed"))?;
    if !definitions.services.iter().any(|s| s.name == service) {
        let known: Vec<&str> = definitions.services.iter().map(|s| s.name.as_str()).collect();
        bail!("{service}: service: not in the catalogue (known: {}); nothing was changed", known.join(", "));
    }
    // Before reading images.yaml: two set-image runs must not both read the old file and each
    // write back its own tag only.
    let lock = sync::WriteLock::acquire(root)?;
    let (path, text, mut release) = read_release(root)?;
    let previous = release.set_tag(&env.name, service, tag).unwrap_or_default();

    let candidate = Catalogue { release, ..definitions.clone() };
    let files = render(&candidate).map_err(|e| anyhow!("{e}nothing was changed"))?;
    // Only the service's tag changes in the file: its comments and order are the reviewers'.
    // `with_tag` reads its result back, so the file written is the release just rendered.
    let edited = Release::with_tag(&text, &env.name, service, tag)
        .map_err(|e| anyhow!("release: images.yaml: {e}; nothing was changed"))?;

    // images.yaml is staged with the generated files: both change, or neither.
    let report = sync::write_report(&lock, &files, &[(path, edited)])?;
    print!("{}", report.text);
    Ok(previous)
}

/// The release file under `root`: its path, its text and what it says. Read under the write
/// lock, and from disk, not the copy compiled into the library: this run may follow another
/// set-image or promote that the binary was not rebuilt for.
pub fn read_release(root: &Path) -> Result<(PathBuf, String, Release)> {
    let path = root.join(release_path());
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let release = Release::parse(&text).map_err(|e| anyhow!("release: images.yaml: {e}; nothing was changed"))?;
    Ok((path, text, release))
}

#[cfg(test)]
mod tests {
    use lomash_manifests::catalogue::RELEASE_PATH;
    use std::collections::BTreeMap;

    use crate::catalogue;
    use manifest_core::k8s_openapi::api::apps::v1::Deployment;
    use manifest_core::k8s_openapi::api::batch::v1::Job;
    use manifest_core::k8s_openapi::Resource;
    use serde_yaml::Value;

    use manifest_core::layout::GENERATED_DIR;

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

    /// Every file under `dir`, by path, to compare before and after.
    fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        crate::testing::snapshot(dir, sync::LOCK_FILE)
    }

    /// set-image as the binary runs it without `--env`: the committed definitions, production.
    fn set_image(root: &Path, service: &str, tag: &str) -> Result<String> {
        super::set_image(root, &catalogue(), "production", service, tag)
    }

    /// A service's production tag in a release file.
    fn production_tag(text: &str, service: &str) -> Option<String> {
        Release::parse(text).unwrap().tag("production", service).map(str::to_owned)
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
            ("auth-service", "latest", &["auth-service: production.image.tag:", "\"latest\" is not pinned"]),
            ("auth-service", "1.2", &["auth-service: production.image.tag:", "\"1.2\" is not pinned"]),
            ("auth-service", "", &["auth-service: production.image.tag:", "empty"]),
            ("auth-service", &sha[..12], &["auth-service: production.image.tag:", "not pinned"]),
            ("auth-service", "1.0.0@sha256:abc", &["auth-service: production.image.tag:", "malformed digest"]),
            ("analytics-service", "1.0.0@md5:00", &["analytics-service: production.image.tag:", "malformed digest"]),
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
        let committed = catalogue().release.tags_for("production").cloned().expect("production tags");
        for tag in tags {
            let root = temp_root();
            let previous = set_image(root.path(), "analytics-service", tag).expect("set-image succeeds");
            assert_eq!(previous, committed["analytics-service"], "set-image returns the tag it replaced");

            let release = fs::read_to_string(root.path().join(RELEASE_PATH)).unwrap();
            assert_eq!(production_tag(&release, "analytics-service").as_deref(), Some(tag));
            assert_eq!(
                production_tag(&release, "auth-service").as_deref(),
                Some(committed["auth-service"].as_str()),
                "other tags kept"
            );

            let kustomization = &yaml_documents(&root.path().join(OVERLAY).join("kustomization.yaml"))[0];
            let images = kustomization["images"].as_sequence().unwrap();
            let pinned = images.iter().find(|i| i["name"] == "lomashwood/analytics-service").unwrap();
            // A digest is Kustomize's `digest` field, which renders `name@sha256:…`; a tag alone
            // is `newTag`.
            let (version, digest) = tag.split_once('@').map_or((tag, None), |(t, d)| (t, Some(d)));
            assert_eq!(
                (pinned["newTag"].as_str(), pinned["digest"].as_str()),
                (digest.is_none().then_some(tag), digest)
            );
            let image = match digest {
                Some(digest) => format!("lomashwood/analytics-service@{digest}"),
                None => format!("lomashwood/analytics-service:{tag}"),
            };

            // The release's migration Job runs the new image (named as the base names it; the
            // overlay's `images:` maps it).
            let resources = yaml_documents(&root.path().join(OVERLAY).join("resources/analytics-service.yaml"));
            let job = resources.iter().find(|d| d["kind"] == Job::KIND).unwrap();
            let migrate = &job["spec"]["template"]["spec"]["containers"][0];
            assert_eq!(migrate["image"].as_str(), Some(image.as_str()));
            let patch = yaml_documents(&root.path().join(OVERLAY).join("patches/analytics-service.yaml"));
            let deployment = patch.iter().find(|d| d["kind"] == Deployment::KIND).unwrap();
            let labels = &deployment["metadata"]["labels"];
            assert_eq!(labels["app.kubernetes.io/version"].as_str(), Some(version), "the tag stays the version label");

            // The whole tree is what the new release renders: no stale file left behind.
            let expected = render(&Catalogue { release: Release::parse(&release).unwrap(), ..catalogue() }).unwrap();
            let (changes, _) = sync::plan(&root.path().join(GENERATED_DIR), &expected).unwrap();
            assert!(changes.is_empty(), "{}", sync::describe_drift(&changes));
        }
    }

    /// A release by digest, as kubectl renders the overlay: the service's image is
    /// `name@sha256:…`, the tag its version label, every image of the pod is pinned by digest,
    /// and the Deployment carries no exception for the digest check, which the lint then passes.
    /// Needs kubectl: fails, never skips, without it.
    #[test]
    fn a_release_by_digest_runs_the_digest_and_needs_no_digest_exception() {
        use manifest_core::built::BuiltEnvironment;
        use manifest_core::conventions::SCANNER_SKIP_PREFIX;
        use manifest_core::policy::Outcome;
        use manifest_core::validate;

        let digest_check = catalogue().platform.scanner_exceptions.met_by_digest.expect("the digest check is declared");
        let digest_check = digest_check.as_str();

        let root = temp_root();
        let service = catalogue().services[0].name.clone();
        // A version and a digest no release uses.
        let digest = format!("sha256:{}", "e".repeat(64));
        set_image(root.path(), &service, &format!("9.8.7@{digest}")).expect("set-image succeeds");

        let output = crate::kustomized(&root.path().join(GENERATED_DIR), &root.path().join(OVERLAY));
        let rendered: Vec<Value> =
            serde_yaml::Deserializer::from_str(&output).map(|d| serde::Deserialize::deserialize(d).unwrap()).collect();
        let deployment = rendered
            .iter()
            .find(|d| d["kind"] == Deployment::KIND && d["metadata"]["name"].as_str() == Some(service.as_str()))
            .expect("the service's Deployment");
        let pod = &deployment["spec"]["template"]["spec"];
        let main = pod["containers"].as_sequence().unwrap().iter().find(|c| c["name"] == service.as_str()).unwrap();
        let repository = &catalogue().services[0].image;
        // From the platform's registry (docs/spec.md ("Go-live") §1), by digest.
        let pulled = manifest_core::images::pulled_image(&catalogue().platform, &format!("{repository}@{digest}"));
        assert_eq!(main["image"].as_str(), Some(pulled.as_str()));
        assert_eq!(deployment["metadata"]["labels"]["app.kubernetes.io/version"].as_str(), Some("9.8.7"));
        let all = pod["containers"].as_sequence().unwrap().iter().chain(pod["initContainers"].as_sequence().unwrap());
        for c in all {
            let image = c["image"].as_str().unwrap();
            assert!(image.contains("@sha256:"), "{service}: {:?} runs {image}, not pinned by digest", c["name"]);
        }
        let annotations = deployment["metadata"]["annotations"].as_mapping().unwrap();
        for (key, value) in annotations {
            let (key, value) = (key.as_str().unwrap(), value.as_str().unwrap());
            assert!(
                !(key.starts_with(SCANNER_SKIP_PREFIX) && value.starts_with(digest_check)),
                "{service}: {key}: {value}"
            );
        }

        // The lint agrees: no failure, and the digest check is not excepted for this Deployment.
        let release = Release::parse(&fs::read_to_string(root.path().join(RELEASE_PATH)).unwrap()).unwrap();
        let model = validate(&Catalogue { release, ..catalogue() }).unwrap();
        let env = model.platform.environment("production").unwrap();
        let findings = BuiltEnvironment::new(&model, env).lint(&model);
        let failed: Vec<_> = findings.iter().filter(|f| f.outcome == Outcome::Fail).collect();
        assert!(failed.is_empty(), "{failed:?}");
        let object = format!("{}/{service}", Deployment::KIND);
        assert!(!findings.iter().any(|f| f.rule == digest_check && f.object.ends_with(&object)), "still excepted");
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
        let release = fs::read_to_string(root.path().join(RELEASE_PATH)).unwrap();
        assert_eq!(
            (production_tag(&release, "analytics-service"), production_tag(&release, "auth-service")),
            (Some("2.1.0".to_owned()), Some("2.2.0".to_owned()))
        );
    }

    /// The production mapping of a release file as a person edits it: comments between and after
    /// lines, a blank line, quoted and plain forms, the environment's key quoted and commented.
    /// Nine services, the committed tags. [`hand_edited`] adds the other environments.
    const HAND_EDITED: &str = "\
# Production tags. Reviewers: see the release notes for each bump.
\"production\": # what runs for customers
  api-gateway: \"1.0.0\"
  auth-service: \"1.0.0\"   # pinned: see incident 42

  # Commerce
  product-service: '1.0.0'
  \"order-payment-service\": \"1.0.0\"
  appointment-service: 1.0.0 # plain
  content-service: \"1.0.0\"
  customer-service: \"1.0.0\"
  notification-service: \"1.0.0\"
  analytics-service: \"1.0.0\"
# end
";

    /// [`HAND_EDITED`], a production line for every service added since (at its committed tag),
    /// then the committed tags of every other environment of the platform, so the file validates
    /// whatever services and environments there are.
    fn hand_edited() -> String {
        let committed = catalogue().release;
        let mut text = HAND_EDITED.to_owned();
        let written = Release::parse(HAND_EDITED).unwrap();
        for service in catalogue().services.iter().map(|s| s.name.clone()) {
            if written.tag("production", &service).is_none() {
                let tag = committed.tag("production", &service).unwrap();
                text = Release::with_tag(&text, "production", &service, tag).unwrap();
            }
        }
        for env in catalogue().platform.environments.iter().filter(|e| e.name != "production") {
            for (service, tag) in committed.tags_for(&env.name).unwrap() {
                text = Release::with_tag(&text, &env.name, service, tag).unwrap();
            }
        }
        text
    }

    fn write_release(root: &Path, text: &str) {
        fs::write(root.join(RELEASE_PATH), text).unwrap();
    }

    /// set-image changes the tag on the service's line and nothing else: comments, the blank
    /// line and the order are the reviewers', and a rewrite from the map would drop them.
    #[test]
    fn keeps_every_comment_and_the_order_of_the_file() {
        let root = temp_root();
        let hand_edited = hand_edited();
        write_release(root.path(), &hand_edited);
        set_image(root.path(), "auth-service", "2.1.0").expect("set-image succeeds");
        let expected = hand_edited.replace("auth-service: \"1.0.0\"   #", "auth-service: \"2.1.0\"   #");
        assert_ne!(expected, hand_edited, "the test must change a line");
        assert_eq!(fs::read_to_string(root.path().join(RELEASE_PATH)).unwrap(), expected);
    }

    /// An environment the platform does not have is refused before anything is read or written,
    /// naming the known ones.
    #[test]
    fn an_unknown_environment_is_an_error_that_changes_nothing() {
        let root = temp_root();
        let before = snapshot(root.path());
        // Not a DNS label, so no environment can take the name (`qa` once could).
        let error = super::set_image(root.path(), &catalogue(), "no_such_env", "auth-service", "2.1.0")
            .expect_err("must fail")
            .to_string();
        let known: Vec<String> = catalogue().platform.environments.iter().map(|e| e.name.clone()).collect();
        assert_eq!(
            error,
            format!(
                "no_such_env: environment: not one of the platform's (known: {}); nothing was changed",
                known.join(", ")
            )
        );
        assert!(snapshot(root.path()) == before, "set-image changed files");
    }

    /// Each form of a line is edited in place, in its environment's mapping only: plain, single-
    /// or double-quoted tag, quoted key, a comment after the tag, another indent, comments and
    /// blank lines inside the mapping, no newline at the end of the file. A service the mapping
    /// lacks gets a line after the mapping's last; an environment the file lacks, a mapping at
    /// the end.
    #[test]
    fn sets_the_tag_on_the_services_line_in_each_form() {
        let cases: [(&str, &str, &str, &str); 14] = [
            ("p:\n  a: \"1.0.0\"\n  b: \"1.0.0\"\n", "p", "a", "p:\n  a: \"2.0.0\"\n  b: \"1.0.0\"\n"),
            ("p:\n  a: '1.0.0' # why\n", "p", "a", "p:\n  a: \"2.0.0\" # why\n"),
            ("p:\n  a: 1.0.0   # why\n", "p", "a", "p:\n  a: \"2.0.0\"   # why\n"),
            ("p:\n  \"a\": \"1.0.0\"\n", "p", "a", "p:\n  \"a\": \"2.0.0\"\n"),
            ("p:\n    a: \"1.0.0\"\n", "p", "a", "p:\n    a: \"2.0.0\"\n"),
            ("# head\np:\n  ab: \"1.0.0\"\n  a: \"1.0.0\"", "p", "a", "# head\np:\n  ab: \"1.0.0\"\n  a: \"2.0.0\""),
            // The same service in two environments: only the named one's line changes.
            ("p:\n  a: \"1.0.0\"\ns:\n  a: \"1.0.0\"\n", "s", "a", "p:\n  a: \"1.0.0\"\ns:\n  a: \"2.0.0\"\n"),
            ("p:\n  a: \"1.0.0\"\ns:\n  a: \"1.0.0\"\n", "p", "a", "p:\n  a: \"2.0.0\"\ns:\n  a: \"1.0.0\"\n"),
            ("'s': # c\n  # c\n\n  a: \"1.0.0\"\n", "s", "a", "'s': # c\n  # c\n\n  a: \"2.0.0\"\n"),
            // A new service: after the mapping's last line, before what follows the mapping.
            (
                "p:\n  a: \"1.0.0\"\n# tail\ns:\n  a: \"1.0.0\"\n",
                "p",
                "b",
                "p:\n  a: \"1.0.0\"\n  b: \"2.0.0\"\n# tail\ns:\n  a: \"1.0.0\"\n",
            ),
            ("p:\n  a: \"1.0.0\"", "p", "b", "p:\n  a: \"1.0.0\"\n  b: \"2.0.0\"\n"),
            ("p:\n  a: \"1.0.0\"\ns:\n", "s", "a", "p:\n  a: \"1.0.0\"\ns:\n  a: \"2.0.0\"\n"),
            // A new environment: a mapping at the end.
            ("p:\n  a: \"1.0.0\"\n# tail\n", "s", "a", "p:\n  a: \"1.0.0\"\n# tail\ns:\n  a: \"2.0.0\"\n"),
            ("", "s", "a", "s:\n  a: \"2.0.0\"\n"),
        ];
        for (text, env, service, expected) in cases {
            assert_eq!(Release::with_tag(text, env, service, "2.0.0").as_deref(), Ok(expected), "{text:?}");
        }
    }

    /// A line the in-place edit cannot read is an error, never a second line for the service.
    #[test]
    fn refuses_a_line_it_cannot_edit_in_place() {
        let cases = [
            "p:\n  a : \"1.0.0\"\n",
            "p:\n  a:\n    \"1.0.0\"\n",
            "p:\n  {a: \"1.0.0\"}\n",
            "p: {a: \"1.0.0\"}\n",
            "p :\n  a: \"1.0.0\"\n",
        ];
        for text in cases {
            assert_eq!(
                Release::with_tag(text, "p", "a", "2.0.0"),
                Err("p.a: cannot set the tag in place: write its line as `  a: \"tag\"` in the `p:` mapping".to_owned()),
                "{text:?}"
            );
        }
    }

    /// A release file naming a service twice is refused before anything is written: which of
    /// the two tags runs would otherwise depend on the reader.
    #[test]
    fn a_duplicate_key_is_an_error_that_changes_nothing() {
        let root = temp_root();
        let twice = hand_edited().replace("# end\n", "  auth-service: \"1.0.1\"\n");
        write_release(root.path(), &twice);
        let before = snapshot(root.path());
        let error = set_image(root.path(), "analytics-service", "2.1.0").expect_err("must fail").to_string();
        let line = twice.lines().position(|l| l == "  auth-service: \"1.0.1\"").unwrap() + 1;
        assert_eq!(
            error,
            format!(
                "release: images.yaml: production: duplicate key \"auth-service\" at line {line} column 3 \
                 (each key once: a repeat would silently replace the first); nothing was changed"
            )
        );
        assert!(snapshot(root.path()) == before, "set-image changed files");
    }

    /// A release file still in the flat form of one environment is refused with what it should
    /// look like, and nothing changes.
    #[test]
    fn the_old_flat_form_is_an_error_that_changes_nothing() {
        let root = temp_root();
        write_release(root.path(), "api-gateway: \"1.0.0\"\nauth-service: \"1.0.0\"\n");
        let before = snapshot(root.path());
        let error = set_image(root.path(), "auth-service", "2.1.0").expect_err("must fail").to_string();
        assert_eq!(
            error,
            concat!(
                "release: images.yaml: api-gateway: invalid type: string \"1.0.0\", expected a map at line 1 column 14 ",
                "(expected one mapping per environment, `service: \"tag\"` lines inside, tags quoted); nothing was changed"
            )
        );
        assert!(snapshot(root.path()) == before, "set-image changed files");
    }

    /// A service whose line was removed gets one again, at the end of its environment's mapping,
    /// before the comment that follows the mapping.
    #[test]
    fn appends_a_line_for_a_service_the_file_lacks() {
        let root = temp_root();
        let without = hand_edited().replacen("  analytics-service: \"1.0.0\"\n", "", 1);
        write_release(root.path(), &without);
        let previous = set_image(root.path(), "analytics-service", "2.1.0").expect("set-image succeeds");
        assert_eq!(previous, "");
        let text = fs::read_to_string(root.path().join(RELEASE_PATH)).unwrap();
        assert_eq!(text, without.replace("# end\n", "  analytics-service: \"2.1.0\"\n# end\n"));
    }
}
