//! `cargo xtask render`: the fully rendered production manifests, computed in-process from the
//! typed definitions ([`k8s::production`]), without running kustomize. A reviewer sees what
//! production will run; the test below checks this equals what `kubectl kustomize` makes of the
//! generated overlay, so the derived patches are proven against the intent they came from.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use lomash_manifests::{k8s, validate, Catalogue, Model, Object};

/// The objects in kustomize's legacy order (by kind, then name), so the output reads like
/// `kubectl kustomize`'s.
pub fn ordered(model: &Model) -> Vec<Object> {
    // kustomize's `legacy` sort puts these kinds first in this order; the
    // HorizontalPodAutoscaler is not in its list, so it comes after them.
    const ORDER: [&str; 5] = ["ConfigMap", "Service", "Deployment", "PodDisruptionBudget", "HorizontalPodAutoscaler"];
    let rank = |o: &Object| ORDER.iter().position(|k| *k == o.kind()).unwrap_or(ORDER.len());
    let mut objects = k8s::production(model);
    objects.sort_by(|a, b| (rank(a), a.name()).cmp(&(rank(b), b.name())));
    objects
}

/// Multi-document YAML of the production objects.
pub fn production_yaml(model: &Model) -> String {
    let mut out = String::from(
        "# Production manifests computed by `cargo xtask render` from crates/lomash-manifests\n\
         # (the same objects `kubectl kustomize generated/infra/kubernetes/overlays/production` yields).\n",
    );
    for (i, object) in ordered(model).iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&serde_yaml::to_string(&object.to_value()).expect("YAML values serialise"));
    }
    out
}

/// Prints the manifests, or writes them to `out`.
pub fn run(catalogue: &Catalogue, out: Option<&Path>) -> Result<ExitCode> {
    let model = validate(catalogue).map_err(|e| anyhow::anyhow!("{e}nothing was rendered"))?;
    let text = production_yaml(&model);
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
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("Wrote {} objects to {}", ordered(&model).len(), path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use lomash_manifests::object::parse_documents;
    use lomash_manifests::tree::{render_model, OVERLAY_DIR};
    use lomash_manifests::{catalogue, validate};
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::testing::TempDir;

    fn canonical(objects: &[Object]) -> String {
        objects.iter().map(|o| serde_yaml::to_string(&o.to_value()).unwrap()).collect::<Vec<_>>().join("---\n")
    }

    /// The in-process render equals what the real kustomize makes of the rendered overlay,
    /// object for object and field for field. Needs kubectl: fails, never skips, without it.
    #[test]
    fn render_equals_kubectl_kustomize() {
        let model = validate(&catalogue()).expect("valid catalogue");
        let dir = TempDir::new("render");
        for file in render_model(&model) {
            let path = dir.path().join(&file.path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, file.contents).unwrap();
        }
        let output = Command::new("kubectl")
            .arg("kustomize")
            .arg(dir.path().join(OVERLAY_DIR))
            .output()
            .expect("kubectl must be installed for this test (kubectl kustomize)");
        assert!(output.status.success(), "kubectl kustomize failed:\n{}", String::from_utf8_lossy(&output.stderr));
        let kustomized = parse_documents(&String::from_utf8(output.stdout).unwrap()).expect("kustomize output parses");
        let ours = parse_documents(&production_yaml(&model)).expect("our output parses");

        let ids = |objects: &[Object]| objects.iter().map(Object::id).collect::<Vec<_>>();
        assert_eq!(ids(&ours), ids(&kustomized), "objects or their order differ");
        // Re-serialised through the same types, so only the content can differ; the text diff
        // is what a reader wants on failure.
        assert_eq!(canonical(&ours), canonical(&kustomized));
        assert_eq!(ours, kustomized);
        assert_eq!(ours.len(), model.services.len() * 5);
    }

    /// The printed text carries the definitions' values (so the test above is about real output).
    #[test]
    fn render_prints_production_values() {
        let model = validate(&catalogue()).unwrap();
        let text = production_yaml(&model);
        for expected in
            ["namespace: lomash-wood-production", "image: lomashwood/analytics-service:1.0.0", "maxReplicas: 20"]
        {
            assert!(text.contains(expected), "{expected:?} not rendered");
        }
        assert!(!text.contains(":latest"), "a base tag leaked into production");
    }
}
