//! The core holds no fact of Lomash Wood's: another company's catalogue (the example
//! `second-catalogue`: two services, one environment, a MySQL store declared as a value) renders
//! through it into a tree that `kubectl kustomize` renders cleanly and that says nothing of Lomash
//! Wood or Prisma. The test runs the example as a user would, with `cargo run`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("second-catalogue-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn another_company_renders_through_the_same_core() {
    let dir = scratch();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let run = Command::new(cargo)
        .args(["run", "--quiet", "--locked", "-p", "manifest-core", "--example", "second-catalogue", "--"])
        .arg(&dir)
        .output()
        .expect("cargo runs");
    assert!(run.status.success(), "the example failed:\n{}", String::from_utf8_lossy(&run.stderr));

    // Rendered afresh (no cache): the example wrote a new tree.
    let overlay = kustomize_run::Inputs::new("infra/kubernetes/overlays/live");
    let output = kustomize_run::kustomize(&overlay, None, || Ok(&dir)).unwrap_or_else(|e| {
        panic!("kubectl 1.32 is needed to render the overlay ({e}; CI={})", std::env::var("CI").unwrap_or_default())
    });
    let rendered = output.clean().unwrap_or_else(|e| panic!("{e}"));

    // The store is a value of the catalogue: its wait, its keys, its migration step and its port.
    assert!(rendered.contains("name: wait-for-mysql"), "the MySQL wait container");
    assert!(rendered.contains("mysqladmin ping"), "the store's own wait command");
    assert!(rendered.contains("MYSQL_PORT: \"3306\""), "the store's port key");
    assert!(rendered.contains("- port: 3306\n      protocol: TCP"), "egress to the store on 3306");
    assert!(rendered.contains("name: migrate\n"), "the store's migration step");
    assert_eq!(rendered.matches("\nkind: Deployment\n").count(), 2, "two services");
    assert!(rendered.contains("namespace: bakery-live"), "its one environment");

    // Nothing of Lomash Wood's, in any file the tree has or in what kubectl renders.
    let mut texts: Vec<(String, String)> =
        files(&dir).into_iter().map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap())).collect();
    texts.push(("kubectl's output".into(), rendered));
    for (name, text) in &texts {
        let lower = text.to_lowercase();
        for word in ["lomash", "prisma", "node_options", "pg_isready", "redis"] {
            assert!(!lower.contains(word), "{name} says {word:?}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
