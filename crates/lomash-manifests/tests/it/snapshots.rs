//! An insta snapshot of every generated file, named after its service and file, so that a pull
//! request shows its effect on the YAML as a reviewable diff. Accept a change with
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test -p lomash-manifests --test it snapshots::`),
//! then `cargo xtask generate`.
//!
//! A release is not a change to review here: `cargo xtask set-image` changes `images.yaml` and
//! the tags in `generated/`, and nothing else, so after it every test must still pass. The
//! snapshots are therefore rendered from the catalogue with its release replaced: every service
//! runs a placeholder tag, written `[tag of <service>]` wherever a tag shows (the image
//! references, `newTag`, the `app.kubernetes.io/version` label, the README). They still show
//! where each service's tag goes, and every other change still changes them; the real tags are
//! covered byte for byte by the freshness check (`cargo xtask check`, and the
//! `generated_tree_is_fresh` test), which compares `generated/` with what the committed release
//! renders. [`a_release_changes_no_snapshot_and_any_other_change_does`] proves both halves.

use lomash_manifests::spec::Resources;
use lomash_manifests::values::ImageTag;
use lomash_manifests::{catalogue, layout, render, Catalogue};

/// `analytics-service.base`, `production.analytics-service.patch`, `staging.kustomization`, …
fn snapshot_name(path: &str) -> String {
    let mut parts: Vec<&str> = path.rsplit('/').collect();
    let file = parts.remove(0);
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    let folder = parts.first().copied().unwrap_or_default();
    // The environment of an overlay file: `infra/kubernetes/overlays/<env>/…`.
    let env = path.strip_prefix(&format!("{}/", layout::OVERLAYS_DIR)).and_then(|rest| rest.split('/').next());
    match (env, stem, folder) {
        (None, "kustomization", _) => "base.kustomization".to_owned(),
        (None, service, folder) => format!("{service}.{folder}"),
        (Some(env), "kustomization", _) => format!("{env}.kustomization"),
        (Some(env), "README", _) => format!("{env}.readme"),
        (Some(env), service, "patches") => format!("{env}.{service}.patch"),
        (Some(env), service, "resources") => format!("{env}.{service}.resources"),
        (Some(env), service, folder) => format!("{env}.{service}.{folder}"),
    }
}

/// The placeholder tag a service runs in the snapshots: `0.0.0-<service>`, a pinned tag that
/// validation accepts and that no real release uses; `0.0.0-<index>` for a name too long for a
/// tag (a tag is also a label value: at most 63 characters).
fn placeholder(index: usize, service: &str) -> String {
    let named = format!("0.0.0-{service}");
    if ImageTag::parse(&named).is_ok() {
        named
    } else {
        format!("0.0.0-{index}")
    }
}

/// The snapshot of every generated file of `catalogue`, rendered with placeholder tags and the
/// placeholders then written `[tag of <service>]`: (snapshot name, path, contents).
fn snapshot_files(catalogue: &Catalogue) -> Vec<(String, String, String)> {
    let mut redacted = catalogue.clone();
    let mut placeholders: Vec<(String, String)> = Vec::new();
    // One placeholder a service, the same in every environment: a promote is a release too.
    let services: Vec<String> = catalogue.services.iter().map(|s| s.name.clone()).collect();
    for (service, tag) in redacted.release.all_tags_mut() {
        let index = services.iter().position(|s| s == service).unwrap_or(services.len());
        *tag = placeholder(index, service);
        placeholders.push((tag.clone(), format!("[tag of {service}]")));
    }
    placeholders.dedup();
    // Longest first: `0.0.0-auth-service` must not eat the start of `0.0.0-auth-service-v2`.
    placeholders.sort_by_key(|(tag, _)| std::cmp::Reverse(tag.len()));
    let files = render(&redacted).expect("the catalogue is valid with placeholder tags");
    files
        .into_iter()
        .map(|f| {
            let contents = placeholders.iter().fold(f.contents, |text, (tag, shown)| text.replace(tag.as_str(), shown));
            (snapshot_name(&f.path), f.path, contents)
        })
        .collect()
}

/// Every file is compared, even after one differs: insta stops at the first failing assertion,
/// which would show (and, for `cargo insta review`, record) one diff a run. Each differing
/// snapshot prints its diff and is recorded as `.snap.new`; the test then fails naming them all.
#[test]
fn every_generated_file_matches_its_snapshot() {
    let files = snapshot_files(&catalogue());
    let mut names: Vec<&str> = files.iter().map(|(name, _, _)| name.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), files.len(), "two files would share a snapshot name");
    let mut differing = Vec::new();
    for (name, path, contents) in &files {
        let compared = std::panic::catch_unwind(|| {
            insta::with_settings!({ description => path.as_str(), omit_expression => true }, {
                insta::assert_snapshot!(name.as_str(), contents);
            });
        });
        if compared.is_err() {
            differing.push(name.as_str());
        } else {
            // A pending `.snap.new` an earlier run recorded is stale once the snapshot matches
            // (accepted with INSTA_UPDATE=always, or the change undone): `cargo insta review`
            // must not offer it again.
            // insta names the file after this test's binary and module, `it::snapshots`.
            let pending = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("tests/it/snapshots/it__snapshots__{name}.snap.new"));
            let _ = std::fs::remove_file(pending);
        }
    }
    assert!(
        differing.is_empty(),
        "{} of {} snapshots differ: {differing:?}. Read the diffs above; accept them with `cargo insta review`, \
         or all at once with `INSTA_UPDATE=always cargo test -p lomash-manifests --test it snapshots::`",
        differing.len(),
        files.len()
    );
}

/// The committed catalogue with every service released at `tag`.
fn released(tag: &str) -> Catalogue {
    let mut c = catalogue();
    for (_, t) in c.release.all_tags_mut() {
        *t = tag.to_owned();
    }
    c
}

/// A release, in every form a tag takes, renders other bytes (so the check below is not vacuous)
/// and the same snapshots, none of which shows the released tag; a change that is not a release
/// changes a snapshot.
#[test]
fn a_release_changes_no_snapshot_and_any_other_change_does() {
    let committed = snapshot_files(&catalogue());
    let digest = format!("sha256:{}", "4f53cda18c2baa0c".repeat(4));
    let tags = [
        "9.8.7".to_owned(),
        "9.8.7-rc.1".to_owned(),
        "0123456789abcdef0123456789abcdef01234567".to_owned(),
        format!("9.8.7@{digest}"),
    ];
    for tag in &tags {
        let release = released(tag);
        assert_ne!(render(&release).unwrap(), render(&catalogue()).unwrap(), "{tag}: the release changes the tree");
        let snapshots = snapshot_files(&release);
        assert!(snapshots == committed, "{tag}: a release changed a snapshot");
        let label = tag.split('@').next().unwrap();
        for (name, _, contents) in &snapshots {
            assert!(!contents.contains(label), "{name} shows the released tag {tag}");
        }
    }
    // One service released alone, as `cargo xtask set-image` does.
    let mut one = catalogue();
    let first = one.services[0].name.clone();
    one.release.set_tag("production", &first, "9.8.7");
    assert!(snapshot_files(&one) == committed, "releasing one service changed a snapshot");

    let mut changed = catalogue();
    changed.services[0].cpu = Resources::new("100m", "4000m");
    let differing: Vec<&str> = snapshot_files(&changed)
        .iter()
        .zip(&committed)
        .filter(|(a, b)| a != b)
        .map(|(_, (name, _, _))| name.as_str())
        .collect();
    let service = &changed.services[0].name;
    for env in &changed.platform.environments {
        assert!(
            differing.contains(&format!("{}.{service}.patch", env.name).as_str()),
            "{}: a CPU limit is not in the snapshots: {differing:?}",
            env.name
        );
    }
}
