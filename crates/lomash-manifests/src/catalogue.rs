//! The catalogue: the nine services as spec sheets ([`ServiceDef`]), the platform settings every
//! service shares ([`Platform`]) and the image tags in production ([`Release`]). Definitions hold
//! plain values as a reviewer reads them (`"500m"`, `"2Gi"`); [`crate::model`] parses and checks
//! them once.

use indexmap::IndexMap;

use crate::platform;
use crate::services;
use crate::values::unique_keys;

/// Everything the generated tree is made from.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub platform: Platform,
    pub services: Vec<ServiceDef>,
    pub release: Release,
}

/// The catalogue as committed: the platform, every service in [`services::all`] order and the
/// tags of `images.yaml`.
pub fn catalogue() -> Catalogue {
    Catalogue { platform: platform::platform(), services: services::all(), release: Release::committed() }
}

/// One service, as its spec sheet in `src/services/<name>.rs` writes it. [`ServiceDef::new`]
/// starts from the platform's defaults; the builder methods state what is particular to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceDef {
    pub name: String,
    /// One line: what the service does.
    pub summary: String,
    /// The container port, named `http`, that the Service and the probes use.
    pub port: u32,
    /// The image repository without a tag; the tag comes from the [`Release`].
    pub image: String,
    pub cpu: Requirement,
    pub memory: Requirement,
    pub autoscaling: Autoscaling,
    /// The PodDisruptionBudget's `minAvailable`.
    pub min_available: i32,
    pub probes: Probes,
    /// How long the service may take to start cold; the startup probe must allow at least this.
    pub cold_start_seconds: i32,
    /// Needs PostgreSQL: waits for it and runs `prisma migrate deploy` before starting.
    pub postgres: bool,
    /// Needs Redis: waits for it before starting.
    pub redis: bool,
    /// The gateway: gets `<NAME>_SERVICE_URL` for every other service of the catalogue.
    pub routes_to_services: bool,
    /// Production ConfigMap keys particular to this service (the platform's come on top).
    pub config: Vec<(String, String)>,
    /// Keys of `config` whose names look secret but are not, each with the reason a reviewer
    /// reads (`(key, reason)`); see [`ServiceDef::config_not_secret`].
    pub not_secret: Vec<(String, String)>,
    pub security: Security,
}

/// A request and a limit, as written (`"250m"`, `"1Gi"`); `None` is a missing value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub request: Option<String>,
    pub limit: Option<String>,
}

/// The production HorizontalPodAutoscaler (`autoscaling/v2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Autoscaling {
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// Target average CPU utilisation, in percent of the request.
    pub cpu_percent: i32,
    /// Target average memory utilisation, in percent of the request.
    pub memory_percent: i32,
    pub scale_down_window_seconds: i32,
}

/// The three HTTP probes, on the container port named `http`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probes {
    pub liveness: Probe,
    pub readiness: Probe,
    pub startup: Probe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub path: String,
    pub period_seconds: i32,
    /// `None` leaves Kubernetes' default (1 s).
    pub timeout_seconds: Option<i32>,
    pub failure_threshold: i32,
}

/// The production security context, of the pod and of every container in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Security {
    pub run_as_user: i64,
    pub run_as_group: i64,
    pub fs_group: i64,
    pub run_as_non_root: bool,
    pub read_only_root_filesystem: bool,
    pub allow_privilege_escalation: bool,
    pub privileged: bool,
    pub drop_all_capabilities: bool,
    pub seccomp_runtime_default: bool,
    pub automount_service_account_token: bool,
}

/// What every service shares, per stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Platform {
    /// The production namespace, set by the overlay (the base has none).
    pub namespace: String,
    /// `app.kubernetes.io/part-of`.
    pub part_of: String,
    /// `app.kubernetes.io/managed-by`.
    pub managed_by: String,
    /// Images are `<registry>/<service>`.
    pub registry: String,
    pub base: Stage,
    pub production: Stage,
}

/// The settings that differ between the base (development) and production.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub replicas: i32,
    pub image_tag: String,
    pub image_pull_policy: String,
    pub node_env: String,
    pub log_level: String,
    pub cors_origin: String,
    pub otel_traces_sampler_arg: String,
    pub db_host: String,
    pub db_port: u32,
    pub redis_host: String,
    pub redis_port: u32,
    /// Requests and limits every service gets in this stage; `None` means the service's own.
    pub resources: Option<(Requirement, Requirement)>,
}

/// The image tag each service runs in production: the one place a release changes, kept in
/// `crates/lomash-manifests/images.yaml` and edited by `cargo xtask set-image`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Release {
    pub tags: IndexMap<String, String>,
    /// Why the release file could not be read, when it could not.
    pub unreadable: Option<String>,
}

/// The committed release file, compiled in.
pub const RELEASE_FILE: &str = include_str!("../images.yaml");
/// Where the release file lives, from the workspace root.
pub const RELEASE_PATH: &str = "crates/lomash-manifests/images.yaml";

impl Release {
    /// The tags of the committed `images.yaml`. A file that does not parse gives no tags and
    /// its error, which validation reports (`release: images.yaml: …`) instead of panicking.
    pub fn committed() -> Release {
        Release::read(RELEASE_FILE)
    }

    /// Like [`Release::parse`], with a parse error kept in `unreadable` for validation to report.
    pub fn read(text: &str) -> Release {
        Release::parse(text).unwrap_or_else(|e| Release { tags: IndexMap::new(), unreadable: Some(e) })
    }

    /// Reads `service: tag` lines (YAML). Tags are checked later, with the rest of the catalogue.
    /// A key repeated in any mapping is an error naming it and its line: serde_yaml would keep
    /// the last silently, and the release would not be what the file seems to say.
    pub fn parse(text: &str) -> Result<Release, String> {
        let tags: Option<IndexMap<String, String>> =
            serde_yaml::from_str(text).map_err(|e| format!("{e} (expected `service: \"tag\"` lines, tags quoted)"))?;
        unique_keys(text).map_err(|e| format!("{e} (each key once: a repeat would silently replace the first)"))?;
        Ok(Release { tags: tags.unwrap_or_default(), unreadable: None })
    }

    /// `text`, a release file, with `service`'s tag set to `tag`: only the tag on the service's
    /// line changes (a line is appended for a new service), so comments, order and every other
    /// line stay as written. An error when `text` does not [`parse`](Release::parse) or the
    /// service's line is not one this edit understands; nothing is half-done.
    pub fn with_tag(text: &str, service: &str, tag: &str) -> Result<String, String> {
        let mut expected = Release::parse(text)?.tags;
        let listed = expected.insert(service.to_owned(), tag.to_owned()).is_some();
        let in_place = || format!("{service}: cannot set the tag in place: write its line as `{service}: \"tag\"`");

        let mut out = String::with_capacity(text.len() + service.len() + tag.len() + 8);
        let mut found = false;
        for line in text.split_inclusive('\n') {
            match tag_span(line, service).filter(|_| !found) {
                Some((start, end)) => {
                    out.push_str(&line[..start]);
                    out.push_str(&quote(tag));
                    out.push_str(&line[end..]);
                    found = true;
                }
                None => out.push_str(line),
            }
        }
        if !found {
            if listed {
                return Err(in_place());
            }
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("{service}: {}\n", quote(tag)));
        }
        // The edit is textual: read it back and accept only exactly the intended tags, in the
        // file's order, so that a line in a form `tag_span` misreads cannot slip through.
        match Release::parse(&out) {
            Ok(edited) if edited.tags.iter().eq(expected.iter()) => Ok(out),
            _ => Err(in_place()),
        }
    }
}

/// Where the tag is on `line` when it reads `service: tag` at the top level, the key plain or
/// quoted, the tag plain or quoted, a comment after it allowed.
fn tag_span(line: &str, service: &str) -> Option<(usize, usize)> {
    let keys = [service.to_owned(), format!("\"{service}\""), format!("'{service}'")];
    let rest = keys.iter().find_map(|k| line.strip_prefix(k.as_str()))?.strip_prefix(':')?;
    let value = rest.trim_start_matches([' ', '\t']);
    let start = line.len() - value.len();
    let bytes = value.as_bytes();
    let len = match bytes.first()? {
        b'"' => {
            let mut i = 1;
            loop {
                match bytes.get(i)? {
                    b'\\' => i += 2,
                    b'"' => break i + 1,
                    _ => i += 1,
                }
            }
        }
        b'\'' => {
            let mut i = 1;
            loop {
                match (bytes.get(i)?, bytes.get(i + 1)) {
                    (b'\'', Some(b'\'')) => i += 2,
                    (b'\'', _) => break i + 1,
                    _ => i += 1,
                }
            }
        }
        // No tag on the line (`service:` alone, or a comment): nothing to replace.
        b'#' | b'\r' | b'\n' => return None,
        _ => value[..value.find(" #").unwrap_or(value.len())].trim_end().len(),
    };
    Some((start, start + len))
}

/// Tags are always quoted: YAML would read `1.0` or `123` as numbers.
fn quote(tag: &str) -> String {
    format!("{tag:?}")
}

impl ServiceDef {
    /// A service listening on `port`, with the platform's defaults for everything else.
    pub fn new(name: &str, port: u32) -> ServiceDef {
        let d = platform::defaults();
        ServiceDef {
            name: name.to_owned(),
            summary: String::new(),
            port,
            image: format!("{}/{name}", d.registry),
            cpu: d.cpu,
            memory: d.memory,
            autoscaling: d.autoscaling,
            min_available: d.min_available,
            probes: d.probes,
            cold_start_seconds: d.cold_start_seconds,
            postgres: false,
            redis: false,
            routes_to_services: false,
            config: Vec::new(),
            not_secret: Vec::new(),
            security: d.security,
        }
    }

    pub fn summary(mut self, text: &str) -> Self {
        self.summary = text.to_owned();
        self
    }

    /// CPU request and limit, e.g. `.cpu("250m", "1000m")`.
    pub fn cpu(mut self, request: &str, limit: &str) -> Self {
        self.cpu = Requirement::new(request, limit);
        self
    }

    /// Memory request and limit, e.g. `.memory("256Mi", "1Gi")`.
    pub fn memory(mut self, request: &str, limit: &str) -> Self {
        self.memory = Requirement::new(request, limit);
        self
    }

    /// Scale between the platform's minimum and `max_replicas` on CPU and memory utilisation.
    pub fn autoscale(mut self, max_replicas: i32, cpu_percent: i32, memory_percent: i32) -> Self {
        self.autoscaling.max_replicas = max_replicas;
        self.autoscaling.cpu_percent = cpu_percent;
        self.autoscaling.memory_percent = memory_percent;
        self
    }

    /// Owns a PostgreSQL schema: wait for the database, then `prisma migrate deploy`.
    pub fn uses_postgres(mut self) -> Self {
        self.postgres = true;
        self
    }

    /// Waits for Redis before starting.
    pub fn uses_redis(mut self) -> Self {
        self.redis = true;
        self
    }

    /// The gateway: one `<NAME>_SERVICE_URL` for every other service, derived from the catalogue.
    pub fn routes_to_services(mut self) -> Self {
        self.routes_to_services = true;
        self
    }

    /// A production ConfigMap key of this service.
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.config.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A production ConfigMap key whose name looks secret but is not, with the reason, e.g.
    /// `.config_not_secret("ACCESS_TOKEN_TTL_SECONDS", "900", "a lifetime in seconds, not a token")`.
    /// The declaration sits in the spec sheet, where review sees it; the reason must not be empty.
    /// Only the name is excused: a value that looks like a credential is still refused.
    pub fn config_not_secret(mut self, key: &str, value: &str, reason: &str) -> Self {
        self.config.push((key.to_owned(), value.to_owned()));
        self.not_secret.push((key.to_owned(), reason.to_owned()));
        self
    }
}

impl Requirement {
    pub fn new(request: &str, limit: &str) -> Requirement {
        Requirement { request: Some(request.to_owned()), limit: Some(limit.to_owned()) }
    }
}
