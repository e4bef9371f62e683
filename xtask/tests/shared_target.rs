//! Two checkouts sharing one target directory (a global `CARGO_TARGET_DIR`, git worktrees) run
//! the same compiled `xtask`: each must write only its own tree. The binary reads the checkout
//! from `CARGO_MANIFEST_DIR` at run time (`cargo run` sets it for the checkout it runs in), not
//! from the path compiled into it, which names whichever checkout built it last.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A checkout as far as `generate` cares: a root with an `xtask/` folder.
struct Checkout(PathBuf);

impl Checkout {
    fn new(name: &str) -> Checkout {
        let root = std::env::temp_dir().join(format!("lomash-shared-target-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("xtask")).unwrap();
        Checkout(root)
    }

    fn generate(&self) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("generate")
            .env("CARGO_MANIFEST_DIR", self.0.join("xtask"))
            .output()
            .expect("the xtask binary runs")
    }

    fn generated(&self) -> PathBuf {
        self.0.join("generated")
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn files(dir: &Path) -> usize {
    if !dir.exists() {
        return 0;
    }
    fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).map(|p| if p.is_dir() { files(&p) } else { 1 }).sum()
}

#[test]
fn each_checkout_writes_only_its_own_tree() {
    let (a, b) = (Checkout::new("a"), Checkout::new("b"));
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("generated");
    let before = files(&repository);

    let out = a.generate();
    assert!(out.status.success(), "generate in a: {}", String::from_utf8_lossy(&out.stderr));
    assert!(files(&a.generated()) > 0, "a's tree was written");
    assert_eq!(files(&b.generated()), 0, "b's tree was not touched by a's run");

    let out = b.generate();
    assert!(out.status.success(), "generate in b: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(files(&b.generated()), files(&a.generated()), "b got its own full tree");
    assert_eq!(files(&repository), before, "the checkout that built the binary was not written");
}
