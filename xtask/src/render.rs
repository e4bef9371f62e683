//! `cargo xtask render [--env <environment>]`: the fully rendered manifests of one environment,
//! computed in process by [`lomash_manifests::manifests`] without running kustomize, written with
//! the same writer and key order as `generated/`. A reviewer sees what the environment will run;
//! the test below checks this equals what `kubectl kustomize` makes of the generated overlay, so
//! the derived patches are proven against the intent they came from.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use lomash_manifests::built::BuiltEnvironment;
use lomash_manifests::{manifests, validate, Catalogue};

use crate::environment;

/// Prints the manifests of `env`, or writes them to `out`.
pub fn run(catalogue: &Catalogue, env: &str, out: Option<&Path>) -> Result<ExitCode> {
    let model = validate(catalogue).map_err(|e| anyhow::anyhow!("{e}nothing was rendered"))?;
    let env = environment(&model.platform, env)?;
    let built = BuiltEnvironment::new(&model, env);
    let text = manifests::text(&model, &built);
    match out {
        None => {
            // `cargo xtask render | head` closes the pipe early: that is not an error.
            if let Err(e) = std::io::stdout().write_all(text.as_bytes()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e).context("writing to stdout");
                }
            }
        }
        Some(path) => {
            write_whole(path, &text)?;
            eprintln!("Wrote {} objects to {}", built.objects.len(), path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `text` to `path` whole or not at all: beside it first, then renamed over it. A device
/// (`--out /dev/null`) is written directly: it cannot be renamed over.
fn write_whole(path: &Path, text: &str) -> Result<()> {
    let is_file = std::fs::metadata(path).map_or(true, |m| m.is_file());
    if !is_file {
        return std::fs::write(path, text).with_context(|| format!("writing {}", path.display()));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let staged = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&staged, text).with_context(|| format!("writing {}", staged.display()))?;
    std::fs::rename(&staged, path).map_err(|e| {
        let _ = std::fs::remove_file(&staged);
        anyhow::Error::new(e).context(format!("renaming {} to {}", staged.display(), path.display()))
    })
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use lomash_manifests::object::parse_documents;
    use lomash_manifests::tree::render_model;
    use lomash_manifests::{catalogue, layout, validate, Object};
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::testing::TempDir;

    /// The in-process render of every environment equals what the real kustomize makes of its
    /// overlay, object for object, field for field and byte for byte (same writer, same order).
    /// Needs kubectl: fails, never skips, without it.
    #[test]
    fn render_equals_kubectl_kustomize() {
        let model = validate(&catalogue()).expect("valid catalogue");
        let dir = TempDir::new("render");
        for file in render_model(&model) {
            let path = dir.path().join(&file.path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, file.contents).unwrap();
        }
        for env in &model.platform.environments {
            let output = Command::new("kubectl")
                .arg("kustomize")
                .arg(dir.path().join(layout::overlay_dir(&env.name)))
                .output()
                .expect("kubectl must be installed for this test (kubectl kustomize)");
            assert!(output.status.success(), "kubectl kustomize failed:\n{}", String::from_utf8_lossy(&output.stderr));
            let kustomized =
                parse_documents(&String::from_utf8(output.stdout).unwrap()).expect("kustomize output parses");
            let text = manifests::text(&model, &BuiltEnvironment::new(&model, env));
            let ours = parse_documents(&text).expect("our output parses");

            let ids = |objects: &[Object]| objects.iter().map(Object::id).collect::<Vec<_>>();
            assert_eq!(ids(&ours), ids(&kustomized), "{}: objects or their order differ", env.name);
            // Written back through our writer, kubectl's objects give our text exactly: the
            // order of keys and documents is the files' own.
            let mut theirs = text.lines().take(2).map(|l| format!("{l}\n")).collect::<String>();
            for (i, o) in kustomized.iter().enumerate() {
                if i > 0 {
                    theirs.push_str("---\n");
                }
                lomash_manifests::yaml::document(&o.to_value(), &mut theirs);
            }
            assert_eq!(text, theirs, "{}", env.name);
            assert_eq!(ours, kustomized);
        }
    }

    /// `--out` replaces a file whole and leaves nothing beside it; a device is written to as it is.
    #[test]
    fn out_replaces_the_file_whole() {
        let dir = TempDir::new("render-out");
        let path = dir.path().join("prod.yaml");
        std::fs::write(&path, "old\n").unwrap();
        write_whole(&path, "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("prod.yaml")], "no staged file left beside it");
        write_whole(Path::new("/dev/null"), "discarded\n").unwrap();
    }

    /// The printed text is written like the files: the same writer, so an object of the base
    /// reads the same in both, key for key.
    #[test]
    fn render_writes_like_the_files() {
        let model = validate(&catalogue()).unwrap();
        let env = &model.platform.environments[0];
        let text = manifests::text(&model, &BuiltEnvironment::new(&model, env));
        let first = text.lines().nth(2).unwrap();
        assert_eq!(first, "apiVersion: v1", "conventional order: apiVersion first");
        for s in &model.services {
            let image = format!("image: {}", s.image_ref(&env.name));
            assert!(text.contains(&image), "{image:?} not rendered");
        }
        assert!(text.contains(&format!("namespace: {}", env.namespace)));
        assert!(!text.contains(":latest"), "a base tag leaked into {}", env.name);
    }
}
