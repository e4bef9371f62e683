//! `cargo xtask new-environment <name> --from <environment>`: adds an environment the way a person
//! would, in the three places that name it: its module
//! `crates/lomash-manifests/src/environments/<name_with_underscores>.rs` (the source environment
//! with the values of its own name, `platform::derived`), the one list in `environments/mod.rs`
//! (its `mod` line and its call in `all()`), and its mapping in `images.yaml` (a copy of the
//! source environment's tags); then regenerates `generated/`.
//!
//! It works in the two all-or-nothing steps of [`crate::scaffold`], as `new-service` does: first,
//! under the write lock, check the name (a DNS label, not a Rust keyword, not taken, no file of
//! that name) and the source, and render the whole catalogue with the new environment as its
//! module will define it, in memory, then write the three files; second, build the module and
//! regenerate in a child process, and put the three files back if that fails.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::{catalogue, release_path};
use anyhow::{anyhow, bail, Context, Result};
use manifest_core::spec::Environment;
use manifest_core::values::dns_label_problem;
use manifest_core::{render, Catalogue, Release};

use crate::scaffold::{self, cargo_generate, module_name, ModuleList, RUST_KEYWORDS};

/// Where the environment modules live, from the workspace root.
pub const ENVIRONMENTS_DIR: &str = "crates/lomash-manifests/src/environments";

/// The list a new environment joins.
const ENVIRONMENTS_LIST: ModuleList = ModuleList { file: "environments/mod.rs", call: "environment" };

/// What `new-environment` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub name: String,
    pub from: String,
}

/// Reads `<name> --from <environment>`; a usage mistake is an error saying which.
pub fn parse_args(args: &[&str]) -> Result<Args, String> {
    let (name, mut rest) = match args {
        [name, rest @ ..] if !name.starts_with('-') => (*name, rest),
        _ => return Err("new-environment: the environment name comes first".to_owned()),
    };
    let mut from = None;
    while let [flag, tail @ ..] = rest {
        rest = tail;
        if *flag != "--from" {
            return Err(format!("new-environment: unexpected argument {flag:?}"));
        }
        let [value, tail @ ..] = rest else { return Err("new-environment: --from needs an environment".to_owned()) };
        if value.starts_with('-') {
            return Err("new-environment: --from needs an environment".to_owned());
        }
        rest = tail;
        if from.replace(*value).is_some() {
            return Err("new-environment: --from is given twice".to_owned());
        }
    }
    let from = from.ok_or("new-environment: --from <environment> is required")?;
    Ok(Args { name: name.to_owned(), from: from.to_owned() })
}

/// How the new module reaches the source environment: a function of `platform.rs` (the spec's
/// two) or the `environment()` of another added module, as `environments/mod.rs` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `crate::platform::<function>()`.
    Platform(String),
    /// `super::<module>::environment()`.
    Module(String),
}

/// The source environment named `from`, as `all()` in `mod_rs` calls it; `None` when it does not.
pub fn source(mod_rs: &str, from: &str) -> Option<Source> {
    let module = module_name(from);
    mod_rs.lines().map(str::trim).find_map(|line| {
        if line == format!("crate::platform::{module}(),") {
            Some(Source::Platform(module.clone()))
        } else if line == format!("{module}::{}(),", ENVIRONMENTS_LIST.call) {
            Some(Source::Module(module.clone()))
        } else {
            None
        }
    })
}

/// The module `cargo xtask new-environment <name> --from <from>` writes, as `cargo fmt` leaves it.
pub fn module_text(name: &str, from: &str, source: &Source) -> String {
    let (imports, call) = match source {
        Source::Platform(function) => {
            (format!("use crate::platform::{{derived, {function}}};\n"), format!("{function}()"))
        }
        Source::Module(module) => {
            ("use crate::platform::derived;\n".to_owned(), format!("super::{module}::environment()"))
        }
    };
    format!(
        "//! The {name} environment: {from}'s values under its own name (its namespaces, node label,\n\
         //! data-store hosts and CORS origin; see `platform::derived`). What {name} changes of {from}\n\
         //! is written here, as staging is written over production in `platform.rs`.\n\
         \n\
         {imports}\
         use crate::spec::Environment;\n\
         \n\
         pub fn environment() -> Environment {{\n    \
             derived({call}, {name:?})\n\
         }}\n"
    )
}

/// The three files the command writes, with their new contents, once everything is checked.
#[derive(Debug)]
pub struct Plan {
    /// The environment as the module will define it.
    pub environment: Environment,
    /// (path, contents): the module, `environments/mod.rs`, `images.yaml`.
    pub files: Vec<(PathBuf, String)>,
}

/// Checks `args` against the project under `root` and the catalogue it joins, and returns the
/// files to write; an error (naming the environment and what is wrong) and nothing written
/// otherwise.
pub fn plan(root: &Path, args: &Args, committed: &Catalogue) -> Result<Plan> {
    let Args { name, from } = args;
    if let Some(problem) = dns_label_problem(name) {
        bail!("{name}: name: {problem}; nothing was written");
    }
    let module = module_name(name);
    if RUST_KEYWORDS.contains(&module.as_str()) {
        bail!(
            "{name}: name: {module:?} is a Rust keyword and cannot name the environment's module; nothing was written"
        );
    }
    if committed.platform.environment(name).is_some() {
        bail!("{name}: name: the platform already has this environment; nothing was written");
    }
    let module_path = root.join(ENVIRONMENTS_DIR).join(format!("{module}.rs"));
    if module_path.exists() {
        bail!(
            "{name}: name: {} already exists (a module left out of environments/mod.rs?); nothing was written",
            module_path.display()
        );
    }
    let source_env = crate::environment(&committed.platform, from).map_err(|e| anyhow!("{e}; nothing was written"))?;

    let mod_path = root.join(ENVIRONMENTS_DIR).join("mod.rs");
    let mod_rs = fs::read_to_string(&mod_path).with_context(|| format!("reading {}", mod_path.display()))?;
    let Some(source) = source(&mod_rs, from) else {
        bail!(
            "{from}: environments/mod.rs: `all()` has no `crate::platform::{0}(),` or `{0}::environment(),` entry \
             to build {name} from; write its module by hand; nothing was written",
            module_name(from)
        );
    };
    let registered =
        scaffold::register(&ENVIRONMENTS_LIST, &mod_rs, &module).map_err(|e| anyhow!("{e}; nothing was written"))?;

    // The release on disk, as set-image reads it: the file may be newer than this binary.
    let release_path = root.join(release_path());
    let mut release_text =
        fs::read_to_string(&release_path).with_context(|| format!("reading {}", release_path.display()))?;
    let release =
        Release::parse(&release_text).map_err(|e| anyhow!("release: images.yaml: {e}; nothing was written"))?;
    let tags = match release.tags_for(from) {
        Some(tags) if !tags.is_empty() => tags,
        _ => bail!("release: images.yaml: {from}: no tags to copy to {name}; nothing was written"),
    };
    for (service, tag) in tags {
        release_text = Release::with_tag(&release_text, name, service, tag)
            .map_err(|e| anyhow!("release: images.yaml: {e}; nothing was written"))?;
    }

    // The whole catalogue with the new environment, as its module will define it, must check and
    // render: a name too long for its namespaces is refused here, with validation's message.
    let environment = (crate::project().derived)(source_env.clone(), name);
    let mut candidate =
        Catalogue { release: Release::parse(&release_text).map_err(|e| anyhow!(e))?, ..committed.clone() };
    candidate.platform.environments.push(environment.clone());
    render(&candidate).map_err(|e| anyhow!("{e}nothing was written"))?;

    let files =
        vec![(module_path, module_text(name, from, &source)), (mod_path, registered), (release_path, release_text)];
    Ok(Plan { environment, files })
}

/// Adds the environment under `root`: see the module doc. `regenerate` is the second step
/// ([`cargo_generate`] from the command line; tests pass their own).
pub fn new_environment(root: &Path, args: &Args, regenerate: impl FnOnce(&Path) -> Result<()>) -> Result<Plan> {
    let addition = scaffold::Addition { name: &args.name, files: "its module, environments/mod.rs and images.yaml" };
    scaffold::add(root, addition, || plan(root, args, &catalogue()), |plan: &Plan| &plan.files, regenerate)
}

/// The command line's `new-environment`: the environment added and the tree regenerated, then
/// the next steps.
pub fn run(root: &Path, args: &[&str]) -> Result<ExitCode> {
    let args = match parse_args(args) {
        Ok(args) => args,
        Err(e) => {
            eprint!("error: {e}\n\n{}", crate::usage::all());
            return Ok(ExitCode::from(2));
        }
    };
    let plan = new_environment(root, &args, cargo_generate)?;
    println!(
        "\n{name} added from {from}: namespace {namespace}, data namespace {data}, {from}'s tags.\n\
         Next:\n  \
         1. Edit {ENVIRONMENTS_DIR}/{module}.rs for what {name} changes of {from} (its scale, pool, log level…);\n     \
         then `cargo xtask generate`.\n  \
         2. `cargo test --workspace --no-fail-fast`: the snapshot test fails for {name}'s new files;\n     \
         read them and accept with `cargo insta review` or\n     \
         `INSTA_UPDATE=always cargo test -p lomash-manifests --test it snapshots::`.\n  \
         3. `cargo xtask lint --env {name}` and `cargo xtask capacity --env {name}`, then commit.",
        name = args.name,
        from = args.from,
        namespace = plan.environment.namespace,
        data = plan.environment.data_namespace,
        module = module_name(&args.name),
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use manifest_core::layout::{self, GENERATED_DIR};
    use manifest_core::object::{parse_documents, Object};
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::project_root;
    use crate::sync;
    use crate::testing::{copy_tree, snapshot, TempDir};

    fn args(name: &str, from: &str) -> Args {
        Args { name: name.into(), from: from.into() }
    }

    #[test]
    fn reads_its_arguments_and_names_each_mistake() {
        assert_eq!(parse_args(&["qa", "--from", "staging"]), Ok(args("qa", "staging")));
        let bad: [(&[&str], &str); 7] = [
            (&[], "new-environment: the environment name comes first"),
            (&["--from", "staging"], "new-environment: the environment name comes first"),
            (&["qa"], "new-environment: --from <environment> is required"),
            (&["qa", "--from"], "new-environment: --from needs an environment"),
            (&["qa", "--from", "--port"], "new-environment: --from needs an environment"),
            (&["qa", "--from", "staging", "--from", "production"], "new-environment: --from is given twice"),
            (&["qa", "staging"], "new-environment: unexpected argument \"staging\""),
        ];
        for (input, expected) in bad {
            assert_eq!(parse_args(input), Err(expected.to_owned()), "{input:?}");
        }
    }

    /// `base`, then `base1`, `base2`, …: the first that `mod_rs` does not declare as a module.
    fn undeclared(mod_rs: &str, base: &str) -> String {
        (0..)
            .map(|i| if i == 0 { base.to_owned() } else { format!("{base}{i}") })
            .find(|m| !mod_rs.lines().any(|l| l == format!("mod {m};")))
            .unwrap()
    }

    /// The module reads like one a person writes: the source's function (or module) and the name.
    #[test]
    fn the_module_is_the_source_under_the_new_name() {
        let mod_rs = fs::read_to_string(project_root().join(ENVIRONMENTS_DIR).join("mod.rs")).unwrap();
        let from_staging = source(&mod_rs, "staging").expect("all() lists staging");
        assert_eq!(from_staging, Source::Platform("staging".into()));
        let text = module_text("qa", "staging", &from_staging);
        assert!(text.starts_with("//! The qa environment: staging's values under its own name"), "{text}");
        assert!(
            text.ends_with(
                "use crate::platform::{derived, staging};\nuse crate::spec::Environment;\n\n\
                 pub fn environment() -> Environment {\n    derived(staging(), \"qa\")\n}\n"
            ),
            "{text}"
        );
        // From an environment added before: its module's `environment()`.
        let (first, second) = (undeclared(&mod_rs, "example"), undeclared(&mod_rs, "example_eu"));
        let added = scaffold::register(&ENVIRONMENTS_LIST, &mod_rs, &first).unwrap();
        let from_first = source(&added, &first).expect("the registered module");
        assert_eq!(from_first, Source::Module(first.clone()));
        let text = module_text(&second, &first, &from_first);
        assert!(text.contains("use crate::platform::derived;\n"), "{text}");
        assert!(text.contains(&format!("derived(super::{first}::environment(), {second:?})")), "{text}");
        assert_eq!(source(&mod_rs, &second), None);
    }

    /// The first added environment gets its own `mod` paragraph above `all()`; a second joins the
    /// `mod` lines in order; each call goes last in the list.
    #[test]
    fn register_declares_the_module_and_calls_it_last() {
        let mod_rs = fs::read_to_string(project_root().join(ENVIRONMENTS_DIR).join("mod.rs")).unwrap();
        let calls = |text: &str| -> Vec<String> {
            let all = text.split("pub fn all()").nth(1).unwrap().to_owned();
            all.lines().map(str::trim).filter(|l| l.ends_with("(),")).map(str::to_owned).collect()
        };
        let mods =
            |text: &str| -> Vec<String> { text.lines().filter(|l| l.starts_with("mod ")).map(str::to_owned).collect() };
        let (zzz, aaa) = (undeclared(&mod_rs, "zzz"), undeclared(&mod_rs, "aaa"));
        let one = scaffold::register(&ENVIRONMENTS_LIST, &mod_rs, &zzz).unwrap();
        let two = scaffold::register(&ENVIRONMENTS_LIST, &one, &aaa).unwrap();
        let mut expected = calls(&mod_rs);
        expected.extend([format!("{zzz}::environment(),"), format!("{aaa}::environment(),")]);
        assert_eq!(calls(&two), expected);
        let mut expected = mods(&mod_rs);
        expected.extend([format!("mod {zzz};"), format!("mod {aaa};")]);
        expected.sort();
        assert_eq!(mods(&two), expected, "the mod lines stay in order");
        if mods(&mod_rs).is_empty() {
            assert!(one.contains(&format!("\nmod {zzz};\n\n/// ")), "its own paragraph: {one}");
        }
    }

    /// A temporary project root: the environment modules, images.yaml and generated/ as committed.
    fn temp_root() -> TempDir {
        let dir = TempDir::new("new-environment");
        copy_tree(&project_root().join(ENVIRONMENTS_DIR), &dir.path().join(ENVIRONMENTS_DIR));
        fs::copy(project_root().join(release_path()), dir.path().join(release_path())).unwrap();
        copy_tree(&project_root().join(GENERATED_DIR), &dir.path().join(GENERATED_DIR));
        dir
    }

    /// A name that no environment of the catalogue has (whatever environments it has by then).
    fn free() -> String {
        let c = catalogue();
        (0..)
            .map(|i| if i == 0 { "example".to_owned() } else { format!("example{i}") })
            .find(|n| c.platform.environment(n).is_none())
            .unwrap()
    }

    #[test]
    fn each_mistake_is_named_and_nothing_is_written() {
        let root = temp_root();
        fs::write(root.path().join(ENVIRONMENTS_DIR).join("orphan.rs"), "// left out\n").unwrap();
        let before = snapshot(root.path(), sync::LOCK_FILE);
        let free = free();
        let known = catalogue().platform.environments.iter().map(|e| e.name.clone()).collect::<Vec<_>>().join(", ");
        let long = "a".repeat(48);
        let cases: Vec<(Args, String)> = vec![
            (args("QA", "staging"), "QA: name: \"QA\" is not a DNS-1123 label".into()),
            (args("../qa", "staging"), "../qa: name: \"../qa\" is not a DNS-1123 label".into()),
            // A DNS label here starts with a letter, so the name is also a Rust module's.
            (args("1qa", "staging"), "1qa: name: \"1qa\" is not a DNS-1123 label".into()),
            (args("match", "staging"), "match: name: \"match\" is a Rust keyword".into()),
            (args("staging", "production"), "staging: name: the platform already has this environment".into()),
            (args("production", "staging"), "production: name: the platform already has this environment".into()),
            (args("orphan", "staging"), "orphan: name: ".into()),
            // `no_such_env` is not a DNS label: no environment can take it.
            (
                args(&free, "no_such_env"),
                format!("no_such_env: environment: not one of the platform's (known: {known})"),
            ),
            // Its data namespace, lomash-wood-data-<name>, would be longer than a DNS label.
            (args(&long, "staging"), format!("platform: {long}.dataNamespace: ")),
        ];
        for (args, expected) in cases {
            let error = new_environment(root.path(), &args, |_| panic!("nothing to regenerate")).expect_err(&args.name);
            let error = format!("{error:#}");
            assert!(error.contains(&expected), "{}: {expected:?} not in {error:?}", args.name);
            assert!(error.contains("nothing was written"), "{error}");
            assert!(snapshot(root.path(), sync::LOCK_FILE) == before, "{}: files changed", args.name);
        }
    }

    /// The catalogue with the environment the module defines, as the rebuilt binary compiles it,
    /// and the release on disk: what the child's generate renders.
    fn rebuilt(root: &Path, environment: &Environment) -> Catalogue {
        let mut c = catalogue();
        c.platform.environments.push(environment.clone());
        c.release = Release::parse(&fs::read_to_string(root.join(release_path())).unwrap()).unwrap();
        c
    }

    /// The three files are written, the child regenerates; the tree is what the new catalogue
    /// renders, the environment is the source under the new name, and its tags are the source's.
    #[test]
    fn adds_the_module_the_list_entry_and_the_tags_then_regenerates() {
        let root = temp_root();
        let name = free();
        let plan = new_environment(root.path(), &args(&name, "staging"), |r| {
            let environment = (crate::project().derived)(lomash_manifests::platform::staging(), &name);
            sync::run_report(r, &rebuilt(r, &environment), sync::Mode::Write).map(drop)
        })
        .expect("new-environment succeeds");

        let dir = root.path().join(ENVIRONMENTS_DIR);
        let module = module_name(&name);
        assert_eq!(
            fs::read_to_string(dir.join(format!("{module}.rs"))).unwrap(),
            module_text(&name, "staging", &Source::Platform("staging".into()))
        );
        let mod_rs = fs::read_to_string(dir.join("mod.rs")).unwrap();
        assert_eq!(source(&mod_rs, &name), Some(Source::Module(module.clone())), "{mod_rs}");
        assert!(mod_rs.contains(&format!("\nmod {module};\n")), "{mod_rs}");

        // The value: the name's own namespaces, label, hosts and origin; staging's otherwise.
        let staging = catalogue().platform.environment("staging").unwrap().clone();
        let env = &plan.environment;
        assert_eq!(env.namespace, format!("lomash-wood-{name}"));
        assert_eq!(env.data_namespace, format!("lomash-wood-data-{name}"));
        assert!(env.scheduling.node_selector.contains(&("environment".to_owned(), name.clone())));
        assert_eq!(env.stage.setting("CORS_ORIGIN"), Some(format!("https://{name}.lomashwood.co.uk").as_str()));
        assert!(!env.stage.store_hosts.is_empty(), "the data stores' hosts");
        for (_, host) in &env.stage.store_hosts {
            assert!(host.ends_with(&format!(".lomash-wood-data-{name}.svc.cluster.local")), "{host}");
        }
        assert_eq!(env.deploy_workflow, None);
        assert_eq!((env.scale, &env.pool, env.shutdown), (staging.scale, &staging.pool, staging.shutdown));
        assert_eq!(env.stage.setting("LOG_LEVEL"), staging.stage.setting("LOG_LEVEL"));
        assert_eq!(env.scheduling.anti_affinity, staging.scheduling.anti_affinity);

        let release = Release::parse(&fs::read_to_string(root.path().join(release_path())).unwrap()).unwrap();
        assert_eq!(release.tags_for(&name), catalogue().release.tags_for("staging"));
        let committed_text = fs::read_to_string(project_root().join(release_path())).unwrap();
        let written_text = fs::read_to_string(root.path().join(release_path())).unwrap();
        assert!(written_text.starts_with(&committed_text), "the other mappings and comments are kept");

        let check = sync::run_report(root.path(), &rebuilt(root.path(), env), sync::Mode::Check).unwrap();
        assert!(check.ok, "{}", check.text);
        let kustomization = root.path().join(GENERATED_DIR).join(layout::overlay_dir(&name)).join("kustomization.yaml");
        let text = fs::read_to_string(&kustomization).unwrap();
        assert!(text.contains(&format!("namespace: lomash-wood-{name}\n")), "{text}");
        let environment_yaml =
            root.path().join(GENERATED_DIR).join(layout::overlay_dir(&name)).join("resources/environment.yaml");
        let objects = parse_documents(&fs::read_to_string(&environment_yaml).unwrap()).unwrap();
        assert!(
            objects
                .iter()
                .any(|o| matches!(o, Object::Namespace(n) if n.metadata.name.as_deref() == Some(&*env.namespace))),
            "{}: no Namespace {}",
            environment_yaml.display(),
            env.namespace
        );
    }

    /// When the second step fails (the module does not build, the tree does not render), the
    /// three files are put back: the project is byte for byte as before.
    #[test]
    fn a_failed_regeneration_puts_everything_back() {
        let root = temp_root();
        let before = snapshot(root.path(), sync::LOCK_FILE);
        let name = free();
        let error = new_environment(root.path(), &args(&name, "production"), |r| {
            assert!(
                r.join(ENVIRONMENTS_DIR).join(format!("{}.rs", module_name(&name))).is_file(),
                "the module is written first"
            );
            bail!("error[E0425]: cannot find value `x`")
        })
        .expect_err("the regeneration fails");
        let error = format!("{error:#}");
        assert!(error.contains("its module, environments/mod.rs and images.yaml are put back as they were"), "{error}");
        assert!(error.contains("generated/ was not changed") && error.contains("E0425"), "{error}");
        assert!(snapshot(root.path(), sync::LOCK_FILE) == before, "files changed");
    }
}
