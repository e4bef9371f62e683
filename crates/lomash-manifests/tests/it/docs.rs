//! The generated overlay README follows the definitions: a changed value changes its text, and
//! what it lists is what the tree holds.

use std::collections::BTreeMap;

use lomash_manifests::spec::Resources;
use lomash_manifests::tree::render;
use lomash_manifests::{catalogue, layout, Catalogue};

fn readme(catalogue: &Catalogue) -> String {
    let files = render(catalogue).expect("valid catalogue");
    files.into_iter().find(|f| f.path == layout::readme("production")).expect("the README is rendered").contents
}

fn edit(service: &str, change: impl Fn(&mut lomash_manifests::ServiceDef)) -> Catalogue {
    let mut c = catalogue();
    change(c.services.iter_mut().find(|s| s.name == service).expect("known service"));
    c
}

/// The lines `new` has more of than `old` (added), and those it has fewer of (removed).
fn line_changes(old: &str, new: &str) -> (Vec<String>, Vec<String>) {
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for line in old.lines() {
        *counts.entry(line).or_default() -= 1;
    }
    for line in new.lines() {
        *counts.entry(line).or_default() += 1;
    }
    let pick = |positive: bool| -> Vec<String> {
        counts.iter().filter(|(_, n)| (**n > 0) == positive && **n != 0).map(|(l, _)| (*l).to_owned()).collect()
    };
    (pick(true), pick(false))
}

/// A value of `current` changed to one it is not.
fn other(current: &str, value: &str, instead: &str) -> String {
    if current == value { instead } else { value }.to_owned()
}

/// A value changed in a definition changes the README with it: the line that showed the old value
/// is gone, one with the new value is there. The values come from the catalogue, so a change to a
/// spec sheet changes what this test expects, not whether it passes.
#[test]
fn readme_follows_the_definitions() {
    let committed = catalogue();
    let def = |name: &str| committed.services.iter().find(|s| s.name == name).expect("known service").clone();
    let (analytics, gateway) = (def("analytics-service"), def("api-gateway"));
    let (request, limit) = (analytics.cpu.request.clone().unwrap(), analytics.cpu.limit.clone().unwrap());
    let new_limit = other(&limit, "64000m", "65000m");
    let (key, value) = analytics.config[0].clone();
    let new_value = other(&value, "750", "751");
    let (min, max) = (gateway.autoscaling.min_replicas, gateway.autoscaling.max_replicas);
    let new_max = if max == 99 { 98 } else { 99 };

    // (case, catalogue, lines added, lines removed, a fragment an added line contains)
    let cases: Vec<(&str, Catalogue, String, String, String)> = vec![
        (
            "analytics cpu limit",
            edit("analytics-service", |s| s.cpu = Resources::new(&request, &new_limit)),
            format!("- **CPU:** request `{request}`, limit `{new_limit}`"),
            format!("- **CPU:** request `{request}`, limit `{limit}`"),
            format!("– {new_limit} |"),
        ),
        (
            "analytics config value",
            edit("analytics-service", |s| s.config[0].1 = new_value.clone()),
            format!("| `{key}` | `{new_value}` | this service |"),
            format!("| `{key}` | `{value}` | this service |"),
            format!("`{new_value}`"),
        ),
        (
            "gateway max replicas",
            edit("api-gateway", |s| s.autoscaling.max_replicas = new_max),
            format!("- Min: **{min}**, Max: **{new_max}**"),
            format!("- Min: **{min}**, Max: **{max}**"),
            format!("– {new_max} (service-dependent) |"),
        ),
    ];
    let before = readme(&committed);
    for (name, catalogue, added_line, removed_line, fragment) in cases {
        let (added, removed) = line_changes(&before, &readme(&catalogue));
        assert!(added.contains(&added_line), "{name}: {added_line:?} not added; added: {added:#?}");
        assert!(removed.contains(&removed_line), "{name}: {removed_line:?} not removed; removed: {removed:#?}");
        assert!(added.iter().any(|l| l.contains(&fragment)), "{name}: no added line has {fragment:?}: {added:#?}");
    }
}

/// A release changes the README's image lines: the new tag appears, the committed one (read from
/// the release, so that a release breaks nothing here) is gone.
#[test]
fn readme_follows_a_release() {
    let committed = catalogue().release.tags_for("production").expect("production tags")["auth-service"].clone();
    let tag = if committed == "2.3.4" { "2.3.5" } else { "2.3.4" };
    let mut c = catalogue();
    c.release.set_tag("production", "auth-service", tag);
    let text = readme(&c);
    for present in [format!("- **Image:** `lomashwood/auth-service:{tag}`"), format!("newTag: '{tag}'")] {
        assert!(text.contains(&present), "{present:?} missing from the README");
    }
    let absent = format!("- **Image:** `lomashwood/auth-service:{committed}`");
    assert!(!text.contains(&absent), "{absent:?} still in the README");
}

/// Every service has its section and its secret; the directory lists every overlay file.
#[test]
fn readme_covers_every_service_and_file() {
    let c = catalogue();
    let files = render(&c).unwrap();
    let text = readme(&c);
    assert!(text.starts_with("<!-- Generated by `cargo xtask generate`"));
    for s in &c.services {
        assert!(text.contains(&format!("## `{}.yaml` — Specifics", s.name)), "{}: no section", s.name);
        assert!(text.contains(&format!("`{}-secret`", s.name)), "{}: no secret", s.name);
    }
    for f in files.iter().filter(|f| f.path.starts_with(&layout::overlay_dir("production"))) {
        let name = f.path.rsplit('/').next().unwrap();
        assert!(text.contains(&format!("── {name}")), "{}: not in the directory structure", f.path);
    }
    let kustomization = files.iter().find(|f| f.path == layout::kustomization("production")).unwrap();
    assert!(text.contains(&kustomization.contents), "the kustomization.yaml is not embedded verbatim");
}

/// docs/spec.md ("The base and production"): the README says why there is no `replicas` and gives the
/// one-time step for a live cluster, and keeps the seed's pointers.
#[test]
fn readme_keeps_the_seed_pointers_and_the_one_time_step() {
    let c = catalogue();
    for env in &c.platform.environments {
        let files = render(&c).unwrap();
        let text = &files.iter().find(|f| f.path == layout::readme(&env.name)).unwrap().contents;
        for pointer in [
            "ECR",
            "infra/terraform/modules/secrets/",
            "security/policies/encryption-policy.md",
            ".github/workflows/rollback.yml",
            "/.github/CODEOWNERS",
            "docs/runbooks/",
            "advisory lock",
        ] {
            assert!(text.contains(pointer), "{}: {pointer:?} missing from the README", env.name);
        }
        if let Some(workflow) = &env.deploy_workflow {
            assert!(text.contains(workflow.as_str()), "{}: {workflow} missing from the README", env.name);
        }
        if env.stage.replicas.is_none() {
            for s in &c.services {
                let step = format!("kubectl apply edit-last-applied deployment/{} -n {}", s.name, env.namespace);
                assert!(text.contains(&step), "{}: no one-time step for {}", env.name, s.name);
            }
        }
    }
}

/// The project is self-contained: its README, its docs and the generated READMEs link nothing
/// outside the repository (no web link, no path out of the checkout).
#[test]
fn no_document_links_outside_the_repository() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut texts: Vec<(String, String)> = ["README.md", "BENCHMARKS.md"]
        .iter()
        .map(|p| (p.to_string(), std::fs::read_to_string(root.join(p)).unwrap()))
        .collect();
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        texts.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
    }
    for f in render(&catalogue()).unwrap().into_iter().filter(|f| f.path.ends_with(".md")) {
        texts.push((f.path, f.contents));
    }
    for (path, text) in &texts {
        for bad in ["](http://", "](https://", "<http://", "<https://", "](../../", "shared/spec", "](/"] {
            assert!(!text.contains(bad), "{path} links outside the repository ({bad})");
        }
        // A bare web address outside code: the only ones allowed are the product's own origins
        // and in-cluster service URLs, which are values, not links.
        for (i, _) in text.match_indices("http") {
            let rest = &text[i..];
            let url: String = rest.chars().take_while(|c| !c.is_whitespace() && !"`)|,".contains(*c)).collect();
            let is_value = url.contains("lomashwood.co.uk")
                || url.starts_with("http://") && url.contains(':') && url.matches(':').count() >= 2;
            let in_code = text[..i].matches('`').count() % 2 == 1;
            assert!(!url.contains("://") || is_value || in_code, "{path} links outside the repository: {url}");
        }
    }
    assert!(texts.len() >= 4, "the README, BENCHMARKS.md, docs/ and the generated READMEs were read");
}

/// docs/spec.md ("Go-live"): each overlay README gives the two-phase apply with the exact commands (the phase's
/// selector, a wait on each of the release's migration Jobs, then the whole overlay and the
/// rollouts), says why the migrations left the pods, describes the Ingress of the environment and
/// the connection budget with its contract with the services. Names come from the objects.
#[test]
fn readme_gives_the_two_phase_apply_the_ingress_and_the_connection_budget() {
    let c = catalogue();
    let model = lomash_manifests::validate(&c).unwrap();
    let files = render(&c).unwrap();
    for env in &model.platform.environments {
        let text = &files.iter().find(|f| f.path == layout::readme(&env.name)).unwrap().contents;
        let applying = text.split("## Applying to ").nth(1).expect("an Applying section");
        let applying = applying.split("\n## ").next().unwrap();
        let overlay = format!("generated/{}", layout::overlay_dir(&env.name));
        let phase = format!("kubectl apply -k {overlay} -l lomashwood.co.uk/apply-phase=migrate");
        let wait = format!("kubectl wait --for=condition=complete --timeout=660s -n {}", env.namespace);
        let whole = format!("kubectl apply -k {overlay}\n");
        let (p, w, a) = (applying.find(&phase), applying.find(&wait), applying.find(&whole));
        assert!(p.is_some() && w.is_some() && a.is_some(), "{}: the three commands:\n{applying}", env.name);
        assert!(p < w && w < a, "{}: in that order", env.name);
        let jobs = lomash_manifests::built::BuiltEnvironment::new(&model, env)
            .objects
            .into_iter()
            .filter(|o| matches!(o, lomash_manifests::Object::Job(_)))
            .map(|o| format!("job/{}", o.name()))
            .collect::<Vec<_>>();
        assert!(!jobs.is_empty());
        for job in &jobs {
            assert!(applying.contains(job.as_str()), "{}: {job} is not waited for", env.name);
        }
        for words in ["a deliberate change to the seed", "run-migrations", "P3009", "advisory lock"] {
            assert!(applying.contains(words), "{}: {words:?} not in the Applying section", env.name);
        }
        let host = env.ingress.as_ref().unwrap().host.as_str();
        assert!(applying.contains("### Ingress") && applying.contains(host), "{}: the Ingress and {host}", env.name);
        let capacity = text.split("## Capacity").nth(1).unwrap().split("\n## ").next().unwrap();
        for words in ["### Connection Budget", "connections to PostgreSQL", "DATABASE_POOL_SIZE", "connection_limit"] {
            assert!(capacity.contains(words), "{}: {words:?} not in the Capacity section", env.name);
        }
    }
}
