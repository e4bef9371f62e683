//! `cargo xtask new-service <name> --port <n> [--postgres] [--redis] [--summary <text>]`: adds a
//! service the way a person would, in the three places that name it: its spec sheet
//! `crates/lomash-manifests/src/services/<name_with_underscores>.rs`, the one list in
//! `services/mod.rs` (its `mod` line and its call in `all()`), and its tag, in every environment, in
//! `images.yaml`; then regenerates `generated/`.
//!
//! It works in the two all-or-nothing steps of [`crate::scaffold`]: first, under the write lock,
//! check the name (a DNS label, not a Rust keyword, not taken, no file of that name) and the port,
//! and render the whole catalogue with the new service as the sheet will define it, in memory,
//! then write the three files; second, build the sheet and regenerate in a child process, and put
//! the three files back if that fails.
//!
//! The values a new sheet starts from: the resources most services of the catalogue have, the
//! platform's autoscaling defaults written out as named values, the edges the flags ask for, and
//! the tag most services run in each environment (set the real one with `cargo xtask set-image --env`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::{catalogue, release_path};
use anyhow::{anyhow, bail, Context, Result};
use manifest_core::spec::{Autoscale, Resources, ServiceDef, Uses};
use manifest_core::values::dns_label_problem;
use manifest_core::{render, Catalogue, Release};

use crate::scaffold::{self, cargo_generate, module_name, ModuleList, RUST_KEYWORDS};

/// Where the spec sheets live, from the workspace root.
pub const SERVICES_DIR: &str = "crates/lomash-manifests/src/services";

/// The list a new sheet joins.
const SERVICES_LIST: ModuleList = ModuleList { file: "services/mod.rs", call: "definition" };

/// What `new-service` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub name: String,
    pub port: u32,
    pub postgres: bool,
    pub redis: bool,
    pub summary: Option<String>,
}

/// Reads `<name> --port <n> [--postgres] [--redis] [--summary <text>]`, flags in any order after
/// the name; a usage mistake is an error saying which.
pub fn parse_args(args: &[&str]) -> Result<Args, String> {
    let (name, mut rest) = match args {
        [name, rest @ ..] if !name.starts_with('-') => (*name, rest),
        _ => return Err("new-service: the service name comes first".to_owned()),
    };
    let (mut port, mut postgres, mut redis, mut summary) = (None, false, false, None);
    while let [flag, tail @ ..] = rest {
        rest = tail;
        match *flag {
            "--postgres" if !postgres => postgres = true,
            "--redis" if !redis => redis = true,
            "--port" | "--summary" => {
                let [value, tail @ ..] = rest else { return Err(format!("new-service: {flag} needs a value")) };
                rest = tail;
                if *flag == "--port" {
                    if port.is_some() {
                        return Err("new-service: --port is given twice".to_owned());
                    }
                    port = Some(
                        value
                            .parse::<u32>()
                            .map_err(|_| format!("new-service: --port {value:?} is not a port number (1–65535)"))?,
                    );
                } else {
                    if summary.is_some() {
                        return Err("new-service: --summary is given twice".to_owned());
                    }
                    summary = Some((*value).to_owned());
                }
            }
            other => return Err(format!("new-service: unexpected argument {other:?}")),
        }
    }
    let port = port.ok_or("new-service: --port <n> is required")?;
    Ok(Args { name: name.to_owned(), port, postgres, redis, summary })
}

/// The new service's spec sheet, as values: what [`Sheet::text`] writes and what
/// [`Sheet::definition`] is, the same builder calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    pub name: String,
    pub port: u32,
    pub summary: String,
    pub cpu: (String, String),
    pub memory: (String, String),
    pub autoscale: Autoscale,
    pub postgres: bool,
    pub redis: bool,
}

impl Sheet {
    /// The Rust module (and file stem) of the sheet: the name with underscores.
    pub fn module(&self) -> String {
        module_name(&self.name)
    }

    /// The sheet as `(crate::project().service)(..)` and the builder make it: what the file compiles to.
    pub fn definition(&self) -> ServiceDef {
        let a = self.autoscale;
        let mut def = (crate::project().service)(&self.name, self.port)
            .summary(&self.summary)
            .cpu(&self.cpu.0, &self.cpu.1)
            .memory(&self.memory.0, &self.memory.1)
            .autoscale(Autoscale { max: a.max, cpu_percent: a.cpu_percent, memory_percent: a.memory_percent });
        if self.postgres {
            def = def.uses(Uses::store("postgres"));
        }
        if self.redis {
            def = def.uses(Uses::store("redis"));
        }
        def
    }

    /// The file, in the style of the other sheets (and as `cargo fmt` leaves it).
    pub fn text(&self) -> String {
        let a = self.autoscale;
        let stores: String = [(self.postgres, "postgres, "), (self.redis, "redis, ")]
            .iter()
            .filter(|(used, _)| *used)
            .map(|(_, name)| *name)
            .collect();
        let platform = if stores.is_empty() { "service".to_owned() } else { format!("{{{stores}service}}") };
        let mut out = format!(
            "//! {summary}\n\
             \n\
             use crate::platform::{platform};\n\
             use crate::spec::{{Autoscale, ServiceDef}};\n\
             \n\
             pub fn definition() -> ServiceDef {{\n    \
                 service({name:?}, {port})\n        \
                     .summary({summary:?})\n        \
                     .cpu({cpu_request:?}, {cpu_limit:?})\n        \
                     .memory({memory_request:?}, {memory_limit:?})\n        \
                     .autoscale(Autoscale {{ max: {max}, cpu_percent: {cpu_percent}, memory_percent: {memory_percent} }})",
            summary = self.summary,
            name = self.name,
            port = self.port,
            cpu_request = self.cpu.0,
            cpu_limit = self.cpu.1,
            memory_request = self.memory.0,
            memory_limit = self.memory.1,
            max = a.max,
            cpu_percent = a.cpu_percent,
            memory_percent = a.memory_percent,
        );
        if self.postgres {
            out.push_str("\n        .uses(postgres())");
        }
        if self.redis {
            out.push_str("\n        .uses(redis())");
        }
        out.push_str("\n}\n");
        out
    }
}

/// The values a new sheet starts from, for `args`, given the catalogue it joins: the resources
/// most of its services have (the first such in catalogue order on a tie), the platform's
/// autoscaling defaults.
pub fn sheet(args: &Args, catalogue: &Catalogue) -> Sheet {
    let defaults = (crate::project().service)(&args.name, args.port).autoscaling;
    let pair = |r: &Resources| Some((r.request.clone()?, r.limit.clone()?));
    let cpu = most_common(catalogue.services.iter().filter_map(|s| pair(&s.cpu)));
    let memory = most_common(catalogue.services.iter().filter_map(|s| pair(&s.memory)));
    Sheet {
        name: args.name.clone(),
        port: args.port,
        summary: args.summary.clone().unwrap_or_else(|| format!("TODO: what {} does, in one line.", args.name)),
        // The spec's most common row, should the catalogue have no resources to go by.
        cpu: cpu.unwrap_or_else(|| ("250m".into(), "1000m".into())),
        memory: memory.unwrap_or_else(|| ("256Mi".into(), "1Gi".into())),
        autoscale: Autoscale {
            max: defaults.max_replicas,
            cpu_percent: defaults.cpu_percent,
            memory_percent: defaults.memory_percent,
        },
        postgres: args.postgres,
        redis: args.redis,
    }
}

/// The value that occurs most often, the first to occur on a tie.
fn most_common<T: Ord + Clone>(values: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: BTreeMap<T, (usize, usize)> = BTreeMap::new();
    for (i, v) in values.enumerate() {
        counts.entry(v).or_insert((0, i)).0 += 1;
    }
    counts.into_iter().max_by_key(|(_, (n, first))| (*n, std::cmp::Reverse(*first))).map(|(v, _)| v)
}

/// The three files the command writes, with their new contents, once everything is checked.
#[derive(Debug)]
pub struct Plan {
    pub sheet: Sheet,
    pub tag: String,
    /// (path, contents): the sheet, `services/mod.rs`, `images.yaml`.
    pub files: Vec<(PathBuf, String)>,
}

/// Checks `args` against the project under `root` and the catalogue it joins, and returns the
/// files to write; an error (naming the service and field) and nothing written otherwise.
pub fn plan(root: &Path, args: &Args, committed: &Catalogue) -> Result<Plan> {
    let name = args.name.as_str();
    if let Some(problem) = dns_label_problem(name) {
        bail!("{name}: name: {problem}; nothing was written");
    }
    let module = module_name(name);
    if RUST_KEYWORDS.contains(&module.as_str()) {
        bail!("{name}: name: {module:?} is a Rust keyword and cannot name the sheet's module; nothing was written");
    }
    if let Some(taken) = committed.services.iter().find(|s| s.name == name) {
        bail!("{}: name: the catalogue already has this service; nothing was written", taken.name);
    }
    let sheet_path = root.join(SERVICES_DIR).join(format!("{module}.rs"));
    if sheet_path.exists() {
        bail!(
            "{name}: name: {} already exists (a sheet left out of services/mod.rs?); nothing was written",
            sheet_path.display()
        );
    }
    if let Some(other) = committed.services.iter().find(|s| s.port == args.port) {
        bail!("{name}: port: {} is already used by {}; nothing was written", args.port, other.name);
    }
    if let Some(summary) = &args.summary {
        if summary.trim().is_empty() || summary.contains(|c: char| c.is_control()) {
            bail!("{name}: summary: {summary:?} is not one line of text; nothing was written");
        }
    }

    let mod_path = root.join(SERVICES_DIR).join("mod.rs");
    let mod_rs = fs::read_to_string(&mod_path).with_context(|| format!("reading {}", mod_path.display()))?;
    let registered =
        scaffold::register(&SERVICES_LIST, &mod_rs, &module).map_err(|e| anyhow!("{e}; nothing was written"))?;

    // The release on disk, as set-image reads it: the file may be newer than this binary.
    let release_path = root.join(release_path());
    let release_text =
        fs::read_to_string(&release_path).with_context(|| format!("reading {}", release_path.display()))?;
    let release =
        Release::parse(&release_text).map_err(|e| anyhow!("release: images.yaml: {e}; nothing was written"))?;
    // A tag in every environment: the one most of that environment's services run.
    let mut release_text = release_text;
    let mut first_tag = None;
    for env in &committed.platform.environments {
        let tags = release.tags_for(&env.name).into_iter().flat_map(|t| t.values().cloned());
        let tag = most_common(tags).ok_or_else(|| {
            anyhow!("release: images.yaml: {}: no tag to start the new service from; nothing was written", env.name)
        })?;
        release_text = Release::with_tag(&release_text, &env.name, name, &tag)
            .map_err(|e| anyhow!("release: images.yaml: {e}; nothing was written"))?;
        first_tag.get_or_insert(tag);
    }
    let tag = first_tag.ok_or_else(|| anyhow!("platform: environments: none; nothing was written"))?;

    // The whole catalogue with the new service, as its sheet will define it, must check and render.
    let sheet = sheet(args, committed);
    let mut candidate =
        Catalogue { release: Release::parse(&release_text).map_err(|e| anyhow!(e))?, ..committed.clone() };
    candidate.services.push(sheet.definition());
    render(&candidate).map_err(|e| anyhow!("{e}nothing was written"))?;

    let files = vec![(sheet_path, sheet.text()), (mod_path, registered), (release_path, release_text)];
    Ok(Plan { sheet, tag, files })
}

/// Adds the service under `root`: see the module doc. `regenerate` is the second step
/// ([`cargo_generate`] from the command line; tests pass their own).
pub fn new_service(root: &Path, args: &Args, regenerate: impl FnOnce(&Path) -> Result<()>) -> Result<Plan> {
    let addition = scaffold::Addition { name: &args.name, files: "its sheet, services/mod.rs and images.yaml" };
    scaffold::add(root, addition, || plan(root, args, &catalogue()), |plan: &Plan| &plan.files, regenerate)
}

/// The command line's `new-service`: the service added and the tree regenerated, then the
/// next steps.
pub fn run(root: &Path, args: &[&str]) -> Result<ExitCode> {
    let args = match parse_args(args) {
        Ok(args) => args,
        Err(e) => {
            eprint!("error: {e}\n\n{}", crate::usage::all());
            return Ok(ExitCode::from(2));
        }
    };
    let plan = new_service(root, &args, cargo_generate)?;
    let module = plan.sheet.module();
    println!(
        "\n{name} added on port {port}, pinned at {tag} (the tag most services run).\n\
         Next:\n  \
         1. Edit {SERVICES_DIR}/{module}.rs: its summary, resources, autoscaling, config; then `cargo xtask generate`.\n  \
         2. `cargo xtask set-image --env staging {name} <tag>` once its image is built, then `cargo xtask promote staging production {name}`.\n  \
         3. `cargo test --workspace --no-fail-fast`: the snapshots fail for the new service's files and for\n     \
         those that list every service (the kustomizations, the overlay README, the gateway's routes);\n     \
         read them and accept with `cargo insta review` or\n     \
         `INSTA_UPDATE=always cargo test -p lomash-manifests --test it snapshots::`.",
        name = args.name,
        port = args.port,
        tag = plan.tag,
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use manifest_core::layout::{self, GENERATED_DIR};
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::project_root;
    use crate::sync;
    use crate::testing::{copy_tree, TempDir};

    fn args(name: &str, port: u32, postgres: bool, redis: bool) -> Args {
        Args { name: name.into(), port, postgres, redis, summary: None }
    }

    #[test]
    fn reads_its_arguments_and_names_each_mistake() {
        let ok: [(&[&str], Args); 4] = [
            (&["search-service", "--port", "3009"], args("search-service", 3009, false, false)),
            (&["search-service", "--redis", "--port", "3009", "--postgres"], args("search-service", 3009, true, true)),
            (&["search-service", "--port", "3009", "--postgres"], args("search-service", 3009, true, false)),
            (
                &["search-service", "--summary", "Full-text search.", "--port", "3009"],
                Args { summary: Some("Full-text search.".into()), ..args("search-service", 3009, false, false) },
            ),
        ];
        for (input, expected) in ok {
            assert_eq!(parse_args(input), Ok(expected), "{input:?}");
        }
        let bad: [(&[&str], &str); 8] = [
            (&[], "new-service: the service name comes first"),
            (&["--port", "3009"], "new-service: the service name comes first"),
            (&["search-service"], "new-service: --port <n> is required"),
            (&["search-service", "--port"], "new-service: --port needs a value"),
            (&["search-service", "--port", "http"], "new-service: --port \"http\" is not a port number (1–65535)"),
            (&["search-service", "--port", "1", "--port", "2"], "new-service: --port is given twice"),
            (&["search-service", "--port", "1", "--mysql"], "new-service: unexpected argument \"--mysql\""),
            (&["search-service", "--port", "1", "--redis", "--redis"], "new-service: unexpected argument \"--redis\""),
        ];
        for (input, expected) in bad {
            assert_eq!(parse_args(input), Err(expected.to_owned()), "{input:?}");
        }
    }

    /// The sheet's text and its in-memory twin say the same: every committed sheet that the
    /// template can express (no config keys, edges only to Postgres and Redis, platform defaults
    /// otherwise) is exactly what the template writes for its values, byte for byte.
    #[test]
    fn the_template_writes_the_committed_sheets_it_can_express() {
        let c = catalogue();
        let mut compared = Vec::new();
        for def in &c.services {
            let (Some(cpu), Some(memory)) = (
                def.cpu.request.clone().zip(def.cpu.limit.clone()),
                def.memory.request.clone().zip(def.memory.limit.clone()),
            ) else {
                continue;
            };
            let sheet = Sheet {
                name: def.name.clone(),
                port: def.port,
                summary: def.summary.clone(),
                cpu,
                memory,
                autoscale: Autoscale {
                    max: def.autoscaling.max_replicas,
                    cpu_percent: def.autoscaling.cpu_percent,
                    memory_percent: def.autoscaling.memory_percent,
                },
                postgres: def.uses_store("postgres"),
                redis: def.uses_store("redis"),
            };
            if sheet.definition() != *def {
                continue;
            }
            let path = project_root().join(SERVICES_DIR).join(format!("{}.rs", sheet.module()));
            assert_eq!(sheet.text(), fs::read_to_string(&path).unwrap(), "{}", path.display());
            compared.push(def.name.clone());
        }
        assert!(compared.len() >= 2, "too few committed sheets in the template's shape to compare with: {compared:?}");
    }

    #[test]
    fn a_new_sheet_starts_from_the_commonest_resources_and_the_platform_defaults() {
        let sheet = sheet(&args("search-service", 3009, true, false), &catalogue());
        let defaults = (crate::project().service)("x", 1).autoscaling;
        assert_eq!((sheet.autoscale.max, sheet.autoscale.cpu_percent), (defaults.max_replicas, defaults.cpu_percent));
        // Today: five of the nine services run 250m/1000m and 256Mi/1Gi.
        let pair = |r: &Resources| (r.request.clone().unwrap(), r.limit.clone().unwrap());
        let count = |cpu: &(String, String)| catalogue().services.iter().filter(|s| pair(&s.cpu) == *cpu).count();
        assert!(
            catalogue().services.iter().all(|s| count(&pair(&s.cpu)) <= count(&sheet.cpu)),
            "{:?} is not the commonest CPU pair of the catalogue",
            sheet.cpu
        );
        let text = sheet.text();
        assert!(text.starts_with("//! TODO: what search-service does, in one line.\n"), "{text}");
        assert!(text.contains("use crate::platform::{postgres, service};\n"), "{text}");
        assert!(text.contains("        .uses(postgres())\n}\n") && !text.contains("redis()"), "{text}");
        // Without an edge, no store import: an unused import fails clippy.
        let plain = Sheet { postgres: false, redis: false, ..sheet }.text();
        assert!(plain.contains("use crate::platform::service;\n") && !plain.contains("postgres"), "{plain}");
    }

    #[test]
    fn register_adds_the_mod_line_in_order_and_the_call_last() {
        let mod_rs = fs::read_to_string(project_root().join(SERVICES_DIR).join("mod.rs")).unwrap();
        for module in ["aaa_service", "search_service", "zzz_service"] {
            let out = scaffold::register(&SERVICES_LIST, &mod_rs, module).unwrap();
            let mods: Vec<&str> = out.lines().filter(|l| l.starts_with("mod ")).collect();
            let mut sorted = mods.clone();
            sorted.sort();
            assert_eq!(mods, sorted, "{module}: the mod lines stay in order");
            assert!(mods.contains(&format!("mod {module};").as_str()), "{module}");
            let calls: Vec<&str> = out.lines().filter(|l| l.trim_end().ends_with("::definition(),")).collect();
            assert_eq!(calls.last().map(|l| l.trim()), Some(format!("{module}::definition(),").as_str()));
            assert_eq!(calls.len(), catalogue().services.len() + 1, "{module}: one definition() call more");
            assert_eq!(out.len(), mod_rs.len() + format!("mod {module};\n        {module}::definition(),\n").len());
        }
        for broken in ["pub fn all() -> Vec<ServiceDef> {\n    vec![]\n}\n", "mod a;\n"] {
            assert!(scaffold::register(&SERVICES_LIST, broken, "b").is_err(), "{broken:?}");
        }
    }

    /// A name and a port that no service of the catalogue has (whatever services it has by then).
    fn free() -> (String, u32) {
        let c = catalogue();
        let name = (0..)
            .map(|i| if i == 0 { "example-service".to_owned() } else { format!("example-service-{i}") })
            .find(|n| c.services.iter().all(|s| s.name != *n))
            .unwrap();
        (name, c.services.iter().map(|s| s.port).max().unwrap_or(3000) + 1)
    }

    /// A temporary project root: the sheets, images.yaml and generated/ of the committed tree.
    fn temp_root() -> TempDir {
        let dir = TempDir::new("new-service");
        copy_tree(&project_root().join(SERVICES_DIR), &dir.path().join(SERVICES_DIR));
        fs::copy(project_root().join(release_path()), dir.path().join(release_path())).unwrap();
        copy_tree(&project_root().join(GENERATED_DIR), &dir.path().join(GENERATED_DIR));
        dir
    }

    /// Every file under `dir` but the lock file, with its bytes.
    fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(folder) = pending.pop() {
            for entry in fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else if path != dir.join(sync::LOCK_FILE) {
                    files.insert(path.clone(), fs::read(&path).unwrap());
                }
            }
        }
        files
    }

    #[test]
    fn each_mistake_is_named_and_nothing_is_written() {
        let root = temp_root();
        fs::write(root.path().join(SERVICES_DIR).join("orphan_service.rs"), "// left out\n").unwrap();
        let before = snapshot(root.path());
        let taken_port = catalogue().services[1].port;
        let (free, port) = free();
        let cases: Vec<(Args, String)> = vec![
            (
                args("Search_Service", 3009, false, false),
                "Search_Service: name: \"Search_Service\" is not a DNS-1123 label".into(),
            ),
            (args("../search", 3009, false, false), "../search: name: \"../search\" is not a DNS-1123 label".into()),
            (args("match", 3009, false, false), "match: name: \"match\" is a Rust keyword".into()),
            (
                args("auth-service", 3009, false, false),
                "auth-service: name: the catalogue already has this service".into(),
            ),
            (args("orphan-service", 3009, false, false), "orphan-service: name: ".into()),
            (
                args(&free, taken_port, false, false),
                format!("{free}: port: {taken_port} is already used by {}", catalogue().services[1].name),
            ),
            (args(&free, 0, false, false), format!("{free}: port: 0 is outside 1–65535")),
            (args(&free, 70000, false, false), format!("{free}: port: 70000 is outside 1–65535")),
            (
                Args { summary: Some("two\nlines".into()), ..args(&free, port, false, false) },
                format!("{free}: summary: \"two\\nlines\" is not one line of text"),
            ),
        ];
        for (args, expected) in cases {
            let error = new_service(root.path(), &args, |_| panic!("nothing to regenerate")).expect_err(&args.name);
            let error = format!("{error:#}");
            assert!(error.contains(&expected), "{}: {expected:?} not in {error:?}", args.name);
            assert!(error.contains("nothing was written"), "{error}");
            assert!(snapshot(root.path()) == before, "{}: files changed", args.name);
        }
    }

    /// The catalogue with the sheet `plan` wrote, as the rebuilt binary compiles it, and the
    /// release on disk: what the child's generate renders.
    fn rebuilt(root: &Path, sheet: &Sheet) -> Catalogue {
        let mut c = catalogue();
        c.services.push(sheet.definition());
        c.release = Release::parse(&fs::read_to_string(root.join(release_path())).unwrap()).unwrap();
        c
    }

    /// The three files are written, the child regenerates; the tree is what the new catalogue
    /// renders, and the sheet is listed both ways.
    #[test]
    fn adds_the_sheet_the_list_entry_and_the_tag_then_regenerates() {
        let root = temp_root();
        let (name, port) = free();
        let args = Args { summary: Some("An example.".into()), ..args(&name, port, true, true) };
        let plan = new_service(root.path(), &args, |r| {
            let sheet = sheet(&args, &catalogue());
            sync::run_report(r, &rebuilt(r, &sheet), sync::Mode::Write).map(drop)
        })
        .expect("new-service succeeds");

        let services = root.path().join(SERVICES_DIR);
        let module = module_name(&name);
        assert_eq!(fs::read_to_string(services.join(format!("{module}.rs"))).unwrap(), plan.sheet.text());
        let mod_rs = fs::read_to_string(services.join("mod.rs")).unwrap();
        assert!(mod_rs.contains(&format!("\nmod {module};\n")), "{mod_rs}");
        assert!(mod_rs.contains(&format!("{module}::definition(),\n")), "{mod_rs}");
        let release = Release::parse(&fs::read_to_string(root.path().join(release_path())).unwrap()).unwrap();
        let committed = catalogue().release;
        for env in &catalogue().platform.environments {
            let tags = committed.tags_for(&env.name).unwrap();
            let want = most_common(tags.values().cloned());
            assert_eq!(release.tag(&env.name, &name).map(str::to_owned), want, "{}", env.name);
        }

        let check = sync::run_report(root.path(), &rebuilt(root.path(), &plan.sheet), sync::Mode::Check).unwrap();
        assert!(check.ok, "{}", check.text);
        for file in [layout::base_file(&name), layout::patch_file("production", &name)] {
            assert!(root.path().join(GENERATED_DIR).join(&file).is_file(), "{file}");
        }
    }

    /// When the second step fails (the sheet does not build, the tree does not render), the three
    /// files are put back: the project is byte for byte as before.
    #[test]
    fn a_failed_regeneration_puts_everything_back() {
        let root = temp_root();
        let before = snapshot(root.path());
        let (name, port) = free();
        let error = new_service(root.path(), &args(&name, port, true, true), |r| {
            assert!(
                r.join(SERVICES_DIR).join(format!("{}.rs", module_name(&name))).is_file(),
                "the sheet is written first"
            );
            bail!("error[E0425]: cannot find value `x`")
        })
        .expect_err("the regeneration fails");
        let error = format!("{error:#}");
        assert!(error.contains("are put back as they were; generated/ was not changed"), "{error}");
        assert!(error.contains("E0425"), "{error}");
        assert!(snapshot(root.path()) == before, "files changed");
    }
}
