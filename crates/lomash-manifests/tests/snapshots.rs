//! An insta snapshot of every generated file, named after its service and file, so that a pull
//! request shows its effect on the YAML as a reviewable diff. Accept a change with
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test`), then `cargo xtask generate`.

use lomash_manifests::{catalogue, render};

/// `analytics-service.patch`, `analytics-service.base`, `production.kustomization`, …
fn snapshot_name(path: &str) -> String {
    let mut parts: Vec<&str> = path.rsplit('/').collect();
    let file = parts.remove(0);
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    let folder = parts.first().copied().unwrap_or_default();
    match (stem, folder) {
        ("kustomization", overlay) => format!("{overlay}.kustomization"),
        ("README", folder) => format!("{folder}.readme"),
        (service, "patches") => format!("{service}.patch"),
        (service, "resources") => format!("{service}.resources"),
        (service, folder) => format!("{service}.{folder}"),
    }
}

#[test]
fn every_generated_file_matches_its_snapshot() {
    let files = render(&catalogue()).expect("the catalogue is valid");
    let mut names: Vec<String> = files.iter().map(|f| snapshot_name(&f.path)).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), files.len(), "two files would share a snapshot name");
    for file in &files {
        insta::with_settings!({ description => file.path.as_str(), omit_expression => true }, {
            insta::assert_snapshot!(snapshot_name(&file.path), &file.contents);
        });
    }
}
