//! The shape of the code, checked: no import circles between the modules of any library
//! crate, nor between the files of a folder module such as `policy/`; the vocabulary and the
//! layout are leaves, and no Kubernetes kind is a hand-written string outside the types (kinds
//! come from `k8s_openapi::Resource`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().parent().unwrap().to_path_buf()
}

/// The top-level module a source file belongs to: `src/k8s.rs` → `k8s`,
/// `src/services/auth_service.rs` → `services`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_owned()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The code of a file without its test module and comments: what it imports to do its job.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap();
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Which modules of the crate each module names (`crate::x`, `use crate::{x, y}`).
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(src) {
        let module = module_of(src, &file);
        if module == "lib" {
            continue;
        }
        let text = code(&fs::read_to_string(&file).unwrap());
        let entry = graph.entry(module.clone()).or_default();
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group.split('}').next().unwrap().split(',').collect(),
                None => vec![rest],
            };
            for name in names {
                let name: String = name.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() && name != module && name != "self" {
                    entry.insert(name);
                }
            }
        }
    }
    graph
}

/// A cycle of the graph, as the path that closes it, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|p| p == node) {
            let mut c = path[start..].to_vec();
            c.push(node.to_owned());
            return Some(c);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

/// Which files of the folder module `dir` (a `mod.rs` and its children) each file names: a
/// child naming `super::x` names its sibling `x`, or `mod` (the folder's `mod.rs`) for an item of
/// `mod.rs` or a glob (`use super::*`); `mod.rs` naming `x::…` names its child `x` (`use pss::*`,
/// `pss::host_process`). The crate-level graph sees one module there, so a circle inside a folder
/// (`mod.rs` globbing each rule file and each rule file globbing `mod.rs`) is checked here.
fn folder_imports(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let children: BTreeSet<String> = rust_files(dir)
        .iter()
        .filter(|f| f.parent() == Some(dir))
        .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let ident = |rest: &str| -> String { rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for child in &children {
        let text = code(&fs::read_to_string(dir.join(format!("{child}.rs"))).unwrap());
        let entry = graph.entry(child.clone()).or_default();
        if child == "mod" {
            for other in children.iter().filter(|c| *c != "mod") {
                let named = text.match_indices(&format!("{other}::")).any(|(i, _)| {
                    // `pss::x`, not `crate::policy::pss::x` (still this folder) nor `other_pss::x`.
                    !text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                if named {
                    entry.insert(other.clone());
                }
            }
            continue;
        }
        for (i, _) in text.match_indices("super::") {
            let rest = &text[i + "super::".len()..];
            let names: Vec<String> = match rest.strip_prefix('{') {
                Some(group) => group.split('}').next().unwrap().split(',').map(|n| ident(n.trim())).collect(),
                None => vec![ident(rest)],
            };
            for name in names {
                let target = if children.contains(&name) && name != "mod" { name } else { "mod".to_owned() };
                if target != *child {
                    entry.insert(target);
                }
            }
        }
    }
    graph
}

/// Every folder module (a directory with a `mod.rs`) under `src`.
fn folders(src: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = rust_files(src)
        .into_iter()
        .filter(|f| f.ends_with("mod.rs"))
        .map(|f| f.parent().unwrap().to_path_buf())
        .collect();
    out.sort();
    out
}

#[test]
fn the_checker_finds_a_circle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]
    .into();
    assert_eq!(cycle(&graph), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
    let text = "use crate::{spec::X, layout};\nfn f() { crate::model::validate(); }\n// crate::docs";
    let dir = std::env::temp_dir().join(format!("architecture-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("k8s.rs"), text).unwrap();
    let found = imports(&dir);
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found["k8s"], BTreeSet::from(["spec".to_owned(), "layout".to_owned(), "model".to_owned()]));
}

#[test]
fn no_import_circles() {
    for krate in ["manifest-core", "manifest-objects", "lomash-manifests", "manifest-tasks"] {
        let src = workspace().join("crates").join(krate).join("src");
        let graph = imports(&src);
        assert!(graph.len() > 2, "{krate}: no modules found");
        assert_eq!(cycle(&graph), None, "{krate}: an import circle");
        for folder in folders(&src) {
            let graph = folder_imports(&folder);
            assert_eq!(cycle(&graph), None, "{}: an import circle between its files", folder.display());
        }
    }
    assert!(
        folders(&workspace().join("crates/manifest-core/src")).iter().any(|f| f.ends_with("policy")),
        "policy/ is a folder module the check reads"
    );
}

/// The folder check sees the circle globs make both ways (`mod.rs` `use pss::*`, `pss.rs`
/// `use super::*`), and a rule file naming an item of `mod.rs` by name; it does not see one in
/// rule files that share helpers through a module of their own.
#[test]
fn the_folder_checker_finds_a_circle_inside_a_folder() {
    let check = |files: &[(&str, &str)]| {
        let dir = std::env::temp_dir().join(format!("architecture-folder-{}-{}", std::process::id(), files.len()));
        fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            fs::write(dir.join(name), text).unwrap();
        }
        let found = cycle(&folder_imports(&dir));
        fs::remove_dir_all(&dir).unwrap();
        found
    };
    let globs = [("mod.rs", "mod pss;\nuse pss::*;\n"), ("pss.rs", "use super::*;\nfn f(_: &Context) {}\n")];
    assert_eq!(check(&globs), Some(vec!["mod".into(), "pss".into(), "mod".into()]));
    let named = [
        ("mod.rs", "mod pss;\npub struct Context;\nconst R: fn() = pss::f;\n"),
        ("pss.rs", "use super::Context;\n"),
        ("pod.rs", ""),
    ];
    assert_eq!(check(&named), Some(vec!["mod".into(), "pss".into(), "mod".into()]));
    let shared = [
        ("mod.rs", "mod pod;\nmod pss;\npub use pod::Context;\nconst R: fn() = pss::f;\n"),
        ("pss.rs", "use super::pod::{per_container, Context};\n"),
        ("pod.rs", "pub struct Context;\n"),
        ("selectors.rs", "use super::pod::Pod;\n"),
    ];
    assert_eq!(check(&shared), None);
}

#[test]
fn the_vocabulary_and_the_layout_are_leaves() {
    let graph = imports(&workspace().join("crates/manifest-core/src"));
    for leaf in ["spec", "layout", "values", "error", "conventions"] {
        assert_eq!(graph[leaf], BTreeSet::new(), "{leaf} imports modules of the crate");
    }
    // Below the core, the objects: the custom resources, the YAML tree and the reader are leaves.
    let graph = imports(&workspace().join("crates/manifest-objects/src"));
    for leaf in ["external_secret", "node", "strict"] {
        assert_eq!(graph[leaf], BTreeSet::new(), "manifest-objects: {leaf} imports modules of the crate");
    }
}

/// `kind: "Deployment"` written by hand drifts from the type; every kind string comes from
/// `k8s_openapi::Resource::KIND`. Test modules are not read (their fixtures are YAML text), nor
/// the header lines of the README's tables, where "Service" is the English word, nor the one
/// line where a type of our own defines its kind (`const KIND: &'static str = "ExternalSecret";`).
#[test]
fn no_kind_is_a_hand_written_string() {
    let kinds = [
        "ConfigMap",
        "Service",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Namespace",
        "ServiceAccount",
        "NetworkPolicy",
        "ExternalSecret",
    ];
    let mut offenders = Vec::new();
    for dir in [
        "crates/manifest-core/src",
        "crates/manifest-objects/src",
        "crates/lomash-manifests/src",
        "crates/manifest-tasks/src",
        "xtask/src",
    ] {
        for file in rust_files(&workspace().join(dir)) {
            let text = code(&fs::read_to_string(&file).unwrap());
            let text: String = text
                .lines()
                // A table's header names a column ("Service"), not a kind: on the call's line, or
                // on its own line when the call is wrapped.
                .filter(|l| !l.contains("table(") && !l.trim_start().starts_with("&[\""))
                .filter(|l| !l.trim_start().starts_with("const KIND: &'static str = "))
                .collect::<Vec<_>>()
                .join("\n");
            for kind in kinds {
                if text.contains(&format!("\"{kind}\"")) {
                    offenders.push(format!("{}: \"{kind}\"", file.display()));
                }
            }
        }
    }
    assert_eq!(offenders, Vec::<String>::new());
}

/// The Markdown documents a text names: each word ending in `.md`, its punctuation trimmed.
fn documents_named(text: &str) -> BTreeSet<String> {
    text.split(|c: char| c.is_whitespace() || "`'\"()[]<>,;:*".contains(c))
        .map(|w| w.trim_end_matches(['.', '!', '?']).trim_start_matches("./"))
        .filter(|w| w.ends_with(".md") && w.len() > 3 && !w.contains('{'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_document_finder_reads_a_comment() {
    // Built at run time, so that this file names no missing document itself.
    let page = ["network", "md"].join(".");
    let found = documents_named(&format!("// See `{page}` (and docs/spec.md, \"Staging\"), or README.md."));
    assert_eq!(found, BTreeSet::from([page, "docs/spec.md".to_owned(), "README.md".to_owned()]));
}

/// Every document a source file of the workspace names exists in the repository: a path from the
/// root, a generated README (`patches/README.md`), or a file name the repository has. The spec's
/// pages live outside it; the repository restates them in `docs/spec.md`, which comments cite.
/// The one exception is data, not a reference: the seed's pointers that the catalogue hands to the
/// overlay README name documents of the deployment repository.
#[test]
fn every_document_a_source_file_names_exists() {
    let root = workspace();
    let seed_pointers = ["security/policies/encryption-policy.md"];
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut files = Vec::new();
    for dir in ["crates", "xtask"] {
        files.extend(rust_files(&root.join(dir)));
    }
    let mut missing = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        for doc in documents_named(&text) {
            if seed_pointers.contains(&doc.as_str()) {
                continue;
            }
            let exists = root.join(&doc).is_file()
                // A path relative to the file's folder or its crate's (`CARGO_MANIFEST_DIR`).
                || file.ancestors().skip(1).take(3).any(|dir| dir.join(&doc).is_file())
                || (doc.ends_with("patches/README.md") && root.join("generated").is_dir())
                || (!doc.contains('/') && tracked_names(&root, &mut names).contains(&doc));
            if !exists {
                missing.push(format!("{}: {doc}", file.strip_prefix(&root).unwrap().display()));
            }
        }
    }
    assert!(missing.is_empty(), "documents named but not in the repository:\n{}", missing.join("\n"));
}

/// The file names of the repository's own Markdown files (outside target/ and .git/).
fn tracked_names<'a>(root: &Path, names: &'a mut BTreeSet<String>) -> &'a BTreeSet<String> {
    if names.is_empty() {
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if path.is_dir() && !name.starts_with('.') && name != "target" {
                    stack.push(path);
                } else if name.ends_with(".md") {
                    names.insert(name);
                }
            }
        }
    }
    names
}

/// The edit loop rebuilds only the catalogue: the tasks' crate takes the catalogue as a value
/// from the binary, and neither it nor the core depends on the catalogue's crate (a dev-dependency
/// for the tasks' own tests is no part of the binary's build).
#[test]
fn only_the_binary_depends_on_the_catalogue() {
    for krate in ["manifest-core", "manifest-objects", "manifest-tasks"] {
        let manifest = fs::read_to_string(workspace().join("crates").join(krate).join("Cargo.toml")).unwrap();
        let dependencies = manifest.split("[dependencies]").nth(1).unwrap().split("\n[").next().unwrap();
        assert!(!dependencies.contains("lomash-manifests"), "{krate} depends on the catalogue:\n{dependencies}");
    }
    let xtask = fs::read_to_string(workspace().join("xtask/Cargo.toml")).unwrap();
    assert!(xtask.contains("lomash-manifests") && xtask.contains("manifest-tasks"), "the binary joins the two");
    let main = fs::read_to_string(workspace().join("xtask/src/main.rs")).unwrap();
    assert!(main.lines().count() < 40, "xtask/src/main.rs only hands the catalogue over");
}
