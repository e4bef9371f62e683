//! The spec sheets and the one list of them: a file in `src/services/` that `services/mod.rs`
//! does not declare is not compiled at all, and one declared but not called in `all()` compiles
//! but renders nothing. Both would leave a service out silently; here every sheet is declared,
//! called in `all()`, and renders the service its file is named after, and the list names no
//! sheet that is not there.

use std::collections::BTreeSet;
use std::path::Path;

use lomash_manifests::catalogue;

fn services_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/services")
}

/// The module of each `.rs` file in `src/services/` but `mod.rs`.
fn sheet_files() -> BTreeSet<String> {
    std::fs::read_dir(services_dir())
        .expect("src/services is readable")
        .map(|entry| entry.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.strip_suffix(".rs").map(str::to_owned))
        .filter(|module| module != "mod")
        .collect()
}

/// The modules `mod.rs` declares (`mod x;` or `pub mod x;`), and those `all()` calls
/// (`x::definition()`), as written.
fn declared_and_called(source: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let declared = source
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line.strip_prefix("pub mod ").or_else(|| line.strip_prefix("mod "))?;
            Some(rest.strip_suffix(';')?.trim().to_owned())
        })
        .collect();
    let body = source.split("pub fn all()").nth(1).unwrap_or_default();
    let called = body
        .match_indices("::definition()")
        .map(|(at, _)| {
            let before = &body[..at];
            let start = before.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
            before[start..].to_owned()
        })
        .collect();
    (declared, called)
}

/// What is wrong between the sheet files and `mod.rs`, one line each.
fn problems(files: &BTreeSet<String>, source: &str) -> Vec<String> {
    let (declared, called) = declared_and_called(source);
    let mut out = Vec::new();
    for module in files {
        if !declared.contains(module) {
            out.push(format!("src/services/{module}.rs: not declared in services/mod.rs (add `mod {module};`)"));
        }
        if !called.contains(module) {
            out.push(format!("src/services/{module}.rs: not in services::all() (add `{module}::definition(),`)"));
        }
    }
    for module in declared.difference(files) {
        out.push(format!("services/mod.rs: declares `mod {module};`, but there is no src/services/{module}.rs"));
    }
    for module in called.difference(files) {
        out.push(format!("services::all(): calls {module}::definition(), but there is no src/services/{module}.rs"));
    }
    out
}

#[test]
fn every_spec_sheet_is_declared_and_listed_and_nothing_else_is() {
    let source = std::fs::read_to_string(services_dir().join("mod.rs")).expect("services/mod.rs is readable");
    let files = sheet_files();
    assert!(!files.is_empty(), "no spec sheet in src/services");
    assert_eq!(problems(&files, &source), Vec::<String>::new());
}

/// Each sheet renders the service its file is named after (`auth_service.rs` → `auth-service`),
/// once: the catalogue is exactly the sheets.
#[test]
fn each_sheet_is_the_service_its_file_names() {
    let mut names: Vec<String> = catalogue().services.iter().map(|s| s.name.replace('-', "_")).collect();
    names.sort();
    let files: Vec<String> = sheet_files().into_iter().collect();
    assert_eq!(names, files, "the catalogue's services (dashes as underscores) and the files of src/services");
}

/// The check above sees each way a sheet can be left out, or listed without being there.
#[test]
fn a_sheet_left_out_is_named() {
    let files: BTreeSet<String> = ["auth_service", "search_service"].map(String::from).into();
    let source = "\
mod auth_service;
mod billing_service;

pub fn all() -> Vec<ServiceDef> {
    vec![
        auth_service::definition(),
        billing_service::definition(),
    ]
}
";
    assert_eq!(
        problems(&files, source),
        [
            "src/services/search_service.rs: not declared in services/mod.rs (add `mod search_service;`)",
            "src/services/search_service.rs: not in services::all() (add `search_service::definition(),`)",
            "services/mod.rs: declares `mod billing_service;`, but there is no src/services/billing_service.rs",
            "services::all(): calls billing_service::definition(), but there is no src/services/billing_service.rs",
        ]
    );
    // Declared but not called: it compiles, and renders nothing.
    let declared_only = "mod auth_service;\nmod search_service;\npub fn all() -> Vec<ServiceDef> {\n    vec![auth_service::definition()]\n}\n";
    assert_eq!(
        problems(&files, declared_only),
        ["src/services/search_service.rs: not in services::all() (add `search_service::definition(),`)"]
    );
}
