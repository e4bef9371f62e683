//! `cargo xtask render [--env <environment>]`: the fully rendered manifests of one environment,
//! computed in process by [`manifest_core::manifests`] without running kustomize, written with
//! the same writer and key order as `generated/`. A reviewer sees what the environment will run;
//! the test below checks this equals what `kubectl kustomize` makes of the generated overlay, so
//! the derived patches are proven against the intent they came from.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use manifest_core::built::BuiltEnvironment;
use manifest_core::{manifests, validate, Catalogue};

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
        return std::fs::write(path, text).with_context(|| format!("render --out: writing {}", path.display()));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // The staged file is this function's business: an error names the path the user gave.
    let staged = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = std::fs::write(&staged, text).and_then(|()| std::fs::rename(&staged, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    result.with_context(|| format!("render --out: writing {}", path.display()))
}

#[cfg(test)]
mod tests {

    use crate::catalogue;
    use manifest_core::object::parse_documents;
    use manifest_core::tree::render_model;
    use manifest_core::{layout, validate, Object};
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
        for file in render_model(&model).expect("within the limits") {
            let path = dir.path().join(&file.path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, file.contents).unwrap();
        }
        for env in &model.platform.environments {
            let output = crate::kustomized(dir.path(), &dir.path().join(layout::overlay_dir(&env.name)));
            let kustomized = parse_documents(&output).expect("kustomize output parses");
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
                manifest_core::yaml::write(&o.to_node(), &mut theirs);
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

    /// A path that cannot be written is named as given, never by the hidden file staged beside
    /// it, and nothing is left behind.
    #[test]
    fn out_errors_name_the_path_given() {
        let dir = TempDir::new("render-out-error");
        let cases = [dir.path().join("no-such-folder/prod.yaml"), dir.path().join("folder")];
        std::fs::create_dir(&cases[1]).unwrap();
        for path in cases {
            let error = format!("{:#}", write_whole(&path, "new\n").expect_err("must fail"));
            assert!(error.starts_with(&format!("render --out: writing {}: ", path.display())), "{error}");
            assert!(!error.contains(".tmp-"), "{error}");
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("folder")], "nothing staged is left");
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
            let image =
                format!("image: {}", manifest_core::images::pulled_image(&model.platform, &s.image_ref(&env.name)));
            assert!(text.contains(&image), "{image:?} not rendered");
        }
        assert!(text.contains(&format!("namespace: {}", env.namespace)));
        assert!(!text.contains(":latest"), "a base tag leaked into {}", env.name);
    }
}
