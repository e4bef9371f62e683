//! Every rule of [`validate`], one table row each: the committed catalogue, one mistake made in
//! it, and the exact messages that must come back (`service: field: message`). The table is the
//! list of rules a reviewer can read; a rule that stops firing, or a message that loses its
//! service or field, fails here.

use lomash_manifests::catalogue::{Catalogue, Release, ServiceDef};
use lomash_manifests::spec::Resources;
use lomash_manifests::spec::{ServiceDefaults, Uses};
use lomash_manifests::values::ImageTag;
use lomash_manifests::{catalogue, validate};
use pretty_assertions::assert_eq;

/// One rule: a mistake made in the committed catalogue, and what `validate` must say about it.
struct Case {
    rule: &'static str,
    mutate: fn(&mut Catalogue),
    expected: &'static [&'static str],
}

fn service<'a>(c: &'a mut Catalogue, name: &str) -> &'a mut ServiceDef {
    c.services.iter_mut().find(|s| s.name == name).unwrap_or_else(|| panic!("no service {name}"))
}

/// The first environment of the platform: the one whose messages the rows spell out.
fn first_env(c: &Catalogue) -> String {
    c.platform.environments[0].name.clone()
}

/// Sets a tag in the first environment only, so one mistake gives one message whatever other
/// environments the platform has.
fn set_tag(c: &mut Catalogue, name: &str, tag: &str) {
    let env = first_env(c);
    c.release.set_tag(&env, name, tag);
}

/// Pins `name` to `tag` in every environment: a new service, valid everywhere.
fn set_tag_everywhere(c: &mut Catalogue, name: &str, tag: &str) {
    for tags in c.release.environments.values_mut() {
        tags.insert(name.to_owned(), tag.to_owned());
    }
}

/// Renames a service and its release tags together, so only the name itself is wrong.
fn rename(c: &mut Catalogue, from: &str, to: &str) {
    service(c, from).name = to.to_owned();
    for tags in c.release.environments.values_mut() {
        let tag = tags.shift_remove(from).expect("a tag");
        tags.insert(to.to_owned(), tag);
    }
}

/// Puts `a` on `b`'s port, `port` (set on both, so that the message does not follow the sheets).
fn same_port(c: &mut Catalogue, a: &str, b: &str, port: u32) {
    service(c, b).port = port;
    service(c, a).port = port;
}

fn config(c: &mut Catalogue, name: &str, key: &str, value: &str) {
    service(c, name).config.push((key.to_owned(), value.to_owned()));
}

/// Adds a key declared not secret, through the spec sheets' own builder method.
fn config_not_secret(c: &mut Catalogue, name: &str, key: &str, value: &str, reason: &str) {
    let def = service(c, name);
    *def = def.clone().config_not_secret(key, value, reason);
}

const CASES: &[Case] = &[
    // Names
    Case {
        rule: "name with upper case and underscore",
        mutate: |c| rename(c, "product-service", "Product_Service"),
        expected: &[concat!(
            "Product_Service: name: \"Product_Service\" is not a DNS-1123 label (lower-case letters, digits and '-', ",
            "starting with a letter, ending with a letter or digit, at most 63 characters)"
        )],
    },
    Case {
        rule: "name starting with a digit",
        mutate: |c| rename(c, "product-service", "1product"),
        expected: &[concat!(
            "1product: name: \"1product\" is not a DNS-1123 label (lower-case letters, digits and '-', ",
            "starting with a letter, ending with a letter or digit, at most 63 characters)"
        )],
    },
    Case {
        rule: "name ending with a hyphen",
        mutate: |c| rename(c, "product-service", "product-"),
        expected: &[concat!(
            "product-: name: \"product-\" is not a DNS-1123 label (lower-case letters, digits and '-', ",
            "starting with a letter, ending with a letter or digit, at most 63 characters)"
        )],
    },
    Case {
        rule: "duplicate service name",
        mutate: |c| {
            let mut copy = service(c, "auth-service").clone();
            copy.port = 3999;
            c.services.push(copy);
        },
        expected: &["auth-service: name: duplicate service name: another service already has it"],
    },
    Case {
        rule: "two services on one port",
        mutate: |c| same_port(c, "content-service", "auth-service", 3001),
        expected: &["content-service: port: 3001 is already used by auth-service"],
    },
    // Image tags
    Case {
        rule: "tag latest",
        mutate: |c| set_tag(c, "auth-service", "latest"),
        expected: &["auth-service: production.image.tag: \"latest\" is not pinned: use a version (e.g. \"1.0.0\")"],
    },
    Case {
        rule: "empty tag",
        mutate: |c| set_tag(c, "auth-service", ""),
        expected: &["auth-service: production.image.tag: the tag is empty: pin a version (e.g. \"1.0.0\")"],
    },
    Case {
        rule: "floating tag 1.2",
        mutate: |c| set_tag(c, "auth-service", "1.2"),
        expected: &[concat!(
            "auth-service: production.image.tag: \"1.2\" is not pinned: use a semantic version (e.g. \"1.0.0\"), ",
            "a full 40-digit git SHA, or either with @sha256:<digest>"
        )],
    },
    Case {
        rule: "floating tag stable",
        mutate: |c| set_tag(c, "auth-service", "stable"),
        expected: &[concat!(
            "auth-service: production.image.tag: \"stable\" is not pinned: use a semantic version (e.g. \"1.0.0\"), ",
            "a full 40-digit git SHA, or either with @sha256:<digest>"
        )],
    },
    Case {
        rule: "short git SHA",
        mutate: |c| set_tag(c, "auth-service", "3f9c2ab"),
        expected: &[concat!(
            "auth-service: production.image.tag: \"3f9c2ab\" is not pinned: use a semantic version (e.g. \"1.0.0\"), ",
            "a full 40-digit git SHA, or either with @sha256:<digest>"
        )],
    },
    Case {
        rule: "malformed digest",
        mutate: |c| set_tag(c, "auth-service", "1.0.0@sha256:abc"),
        expected: &[concat!(
            "auth-service: production.image.tag: \"1.0.0@sha256:abc\" has a malformed digest: ",
            "expected sha256:<64 lowercase hex digits>"
        )],
    },
    Case {
        rule: "image name with a tag inside",
        mutate: |c| service(c, "auth-service").image = "lomashwood/auth-service:1.0.0".into(),
        expected: &[concat!(
            "auth-service: image: \"lomashwood/auth-service:1.0.0\" has a tag inside: ",
            "name the repository only; tags live in images.yaml"
        )],
    },
    Case {
        rule: "image name with a digest inside",
        mutate: |c| service(c, "auth-service").image = format!("lomashwood/auth-service@sha256:{}", "a".repeat(64)),
        expected: &[concat!(
            "auth-service: image: \"lomashwood/auth-service@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" ",
            "has a tag inside: name the repository only; tags live in images.yaml"
        )],
    },
    Case {
        rule: "missing tag",
        mutate: |c| {
            let env = first_env(c);
            c.release.environments[&env].shift_remove("auth-service");
        },
        expected: &[concat!(
            "auth-service: production.image.tag: no tag in images.yaml: ",
            "pin one in its `production:` mapping, e.g. auth-service: \"1.0.0\""
        )],
    },
    Case {
        rule: "tag for an unknown service",
        mutate: |c| set_tag(c, "no-such-service", "1.0.0"),
        expected: &[concat!(
            "no-such-service: production.image.tag: images.yaml pins a tag for it, ",
            "but the catalogue has no service of that name"
        )],
    },
    Case {
        rule: "a preferred placement's weight outside 1–100",
        mutate: |c| {
            c.platform.environment_mut("staging").unwrap().scheduling.anti_affinity =
                lomash_manifests::spec::Placement::Preferred(0)
        },
        expected: &["platform: staging.scheduling.antiAffinity: weight 0 is outside 1–100"],
    },
    Case {
        rule: "a rollout that could not start",
        mutate: |c| {
            let s = &mut c.platform.environments[0].scheduling;
            s.max_surge = 0;
            s.max_unavailable = 0;
        },
        expected: &["platform: production.scheduling.maxUnavailable: maxSurge and maxUnavailable are both 0: no rollout could start"],
    },
    Case {
        rule: "a grace period no longer than the preStop sleep",
        mutate: |c| c.platform.environments[0].shutdown.termination_grace_period_seconds = 10,
        expected: &["platform: production.shutdown.terminationGracePeriodSeconds: 10 s leaves no time after the 10 s preStop sleep"],
    },
    Case {
        rule: "a spread with no skew",
        mutate: |c| c.platform.environments[0].scheduling.max_skew = 0,
        expected: &["platform: production.scheduling.maxSkew: 0 is below 1"],
    },
    Case {
        rule: "release file without a mapping for an environment of the platform",
        mutate: |c| {
            let env = first_env(c);
            c.release.environments.shift_remove(&env);
        },
        expected: &[concat!(
            "release: images.yaml: production: no tags for this environment of the platform: ",
            "add a `production:` mapping with a tag for each service"
        )],
    },
    Case {
        rule: "release file with an environment the platform lacks (its tags would deploy nowhere)",
        mutate: |c| {
            let tags = c.release.environments[0].clone();
            // Not a DNS label, so no environment can take the name (`qa` once could).
            c.release.environments.insert("no_such_env".into(), tags);
        },
        expected: &["release: images.yaml: no_such_env: not an environment of the platform: remove its tags, or add the environment"],
    },
    Case {
        rule: "release file with a misspelt environment: the unknown one and the untagged one",
        mutate: |c| {
            let env = first_env(c);
            let tags = c.release.environments.shift_remove(&env).expect("tags");
            c.release.environments.insert(env.replace('o', "0"), tags);
        },
        expected: &[
            "release: images.yaml: pr0ducti0n: not an environment of the platform: remove its tags, or add the environment",
            concat!(
                "release: images.yaml: production: no tags for this environment of the platform: ",
                "add a `production:` mapping with a tag for each service"
            ),
        ],
    },
    Case {
        rule: "release file in the old flat form (one environment's tags, no mapping per environment)",
        mutate: |c| c.release = Release::read("auth-service: \"1.0.0\"\n"),
        expected: &[concat!(
            "release: images.yaml: auth-service: invalid type: string \"1.0.0\", expected a map at line 1 column 15 ",
            "(expected one mapping per environment, `service: \"tag\"` lines inside, tags quoted)"
        )],
    },
    // Resources
    Case {
        rule: "CPU that does not parse",
        mutate: |c| service(c, "auth-service").cpu.request = Some("half".into()),
        expected: &["auth-service: resources.cpu: request \"half\" is not a CPU quantity (e.g. \"250m\" or \"2\")"],
    },
    Case {
        rule: "CPU finer than a millicore",
        mutate: |c| service(c, "auth-service").cpu.limit = Some("0.5m".into()),
        expected: &[concat!(
            "auth-service: resources.cpu: limit \"0.5m\" is not a whole number of millicores: ",
            "Kubernetes would round it up; write the exact amount"
        )],
    },
    Case {
        rule: "CPU finer than a millicore, by exponent",
        mutate: |c| service(c, "auth-service").cpu.request = Some("1e-4".into()),
        expected: &[concat!(
            "auth-service: resources.cpu: request \"1e-4\" is not a whole number of millicores: ",
            "Kubernetes would round it up; write the exact amount"
        )],
    },
    Case {
        rule: "negative CPU",
        mutate: |c| service(c, "auth-service").cpu.request = Some("-250m".into()),
        expected: &["auth-service: resources.cpu: request \"-250m\" is negative: a CPU quantity must be above zero"],
    },
    Case {
        rule: "memory of half a byte",
        mutate: |c| service(c, "auth-service").memory.request = Some("0.5".into()),
        expected: &[concat!(
            "auth-service: resources.memory: request \"0.5\" is not a whole number of bytes: ",
            "Kubernetes would round it up; write the exact amount"
        )],
    },
    Case {
        rule: "memory too large for any arithmetic (once a panic)",
        mutate: |c| service(c, "auth-service").memory.limit = Some("999999999999999999999999999999Ti".into()),
        expected: &[concat!(
            "auth-service: resources.memory: limit \"999999999999999999999999999999Ti\" is too large: ",
            "more than 2^128 - 1 bytes"
        )],
    },
    Case {
        rule: "negative memory",
        mutate: |c| service(c, "auth-service").memory.limit = Some("-1Gi".into()),
        expected: &["auth-service: resources.memory: limit \"-1Gi\" is negative: a memory quantity must be above zero"],
    },
    Case {
        rule: "memory of zero, by exponent",
        mutate: |c| service(c, "auth-service").memory.request = Some("0e3".into()),
        expected: &["auth-service: resources.memory: request \"0e3\" is zero: a memory quantity must be above zero"],
    },
    Case {
        rule: "memory request above limit, across the grammar's forms",
        mutate: |c| {
            let memory = &mut service(c, "auth-service").memory;
            memory.request = Some("1.5Gi".into());
            memory.limit = Some("1e9".into());
        },
        expected: &["auth-service: resources.memory: request 1.5Gi exceeds limit 1e9"],
    },
    Case {
        rule: "CPU request above limit, across the grammar's forms",
        mutate: |c| service(c, "auth-service").cpu = Resources::new("1.001", "1000m"),
        expected: &["auth-service: resources.cpu: request 1.001 exceeds limit 1000m"],
    },
    Case {
        rule: "CPU of zero",
        mutate: |c| service(c, "auth-service").cpu.request = Some("0m".into()),
        expected: &["auth-service: resources.cpu: request \"0m\" is zero: a CPU quantity must be above zero"],
    },
    Case {
        rule: "memory that does not parse",
        mutate: |c| service(c, "auth-service").memory.limit = Some("1GB".into()),
        expected: &[
            "auth-service: resources.memory: limit \"1GB\" is not a memory quantity (e.g. \"512Mi\" or \"2Gi\")",
        ],
    },
    Case {
        rule: "CPU request above limit",
        mutate: |c| service(c, "analytics-service").cpu = Resources::new("3", "2000m"),
        expected: &["analytics-service: resources.cpu: request 3 exceeds limit 2000m"],
    },
    Case {
        rule: "memory request above limit, across units",
        mutate: |c| service(c, "analytics-service").memory = Resources::new("3G", "2Gi"),
        expected: &["analytics-service: resources.memory: request 3G exceeds limit 2Gi"],
    },
    Case {
        rule: "missing request",
        mutate: |c| service(c, "auth-service").cpu.request = None,
        expected: &["auth-service: resources.cpu: request is missing: every container needs a request and a limit"],
    },
    Case {
        rule: "missing limit",
        mutate: |c| service(c, "auth-service").memory.limit = None,
        expected: &["auth-service: resources.memory: limit is missing: every container needs a request and a limit"],
    },
    Case {
        rule: "platform stage resources obey the same rules",
        mutate: |c| {
            let (cpu, _) = c.platform.base.resources.as_mut().expect("the base sets resources");
            cpu.request = Some("lots".into());
        },
        expected: &["platform: base.resources.cpu: request \"lots\" is not a CPU quantity (e.g. \"250m\" or \"2\")"],
    },
    // Autoscaling and disruption budget
    Case {
        rule: "HPA min above max",
        mutate: |c| {
            let a = &mut service(c, "auth-service").autoscaling;
            (a.min_replicas, a.max_replicas) = (3, 2);
        },
        expected: &["auth-service: autoscaling.maxReplicas: 2 is below minReplicas 3"],
    },
    Case {
        rule: "HPA min below 1 (so no PDB can fit under it)",
        mutate: |c| {
            service(c, "auth-service").autoscaling.min_replicas = 0;
            service(c, "auth-service").min_available = 2;
        },
        expected: &[
            "auth-service: autoscaling.minReplicas: 0 is below 1",
            "auth-service: podDisruptionBudget.minAvailable: 2 is not below the HPA's minReplicas 0 (node drains would block)",
        ],
    },
    Case {
        rule: "CPU utilisation 0",
        mutate: |c| service(c, "auth-service").autoscaling.cpu_percent = 0,
        expected: &["auth-service: autoscaling.cpuPercent: 0 is outside 1–100"],
    },
    Case {
        rule: "memory utilisation 101",
        mutate: |c| service(c, "auth-service").autoscaling.memory_percent = 101,
        expected: &["auth-service: autoscaling.memoryPercent: 101 is outside 1–100"],
    },
    Case {
        rule: "scale-down window negative",
        mutate: |c| service(c, "auth-service").autoscaling.scale_down_window_seconds = -1,
        expected: &["auth-service: autoscaling.scaleDownWindowSeconds: -1 is outside 0–3600"],
    },
    Case {
        rule: "scale-down window above an hour",
        mutate: |c| service(c, "auth-service").autoscaling.scale_down_window_seconds = 3601,
        expected: &["auth-service: autoscaling.scaleDownWindowSeconds: 3601 is outside 0–3600"],
    },
    Case {
        rule: "PDB minAvailable equal to HPA minReplicas",
        mutate: |c| {
            service(c, "auth-service").autoscaling.min_replicas = 3;
            service(c, "auth-service").min_available = 3;
        },
        expected: &[
            "auth-service: podDisruptionBudget.minAvailable: 3 is not below the HPA's minReplicas 3 (node drains would block)",
        ],
    },
    Case {
        rule: "PDB minAvailable zero",
        mutate: |c| service(c, "auth-service").min_available = 0,
        expected: &["auth-service: podDisruptionBudget.minAvailable: 0 is below 1"],
    },
    // Probes
    Case {
        rule: "probe path not absolute",
        mutate: |c| service(c, "auth-service").probes.readiness.path = "health/ready".into(),
        expected: &[
            "auth-service: probes.readiness.path: \"health/ready\" is not an absolute path (expected one starting with '/')",
        ],
    },
    Case {
        rule: "probe timings of zero",
        mutate: |c| {
            let p = &mut service(c, "auth-service").probes;
            p.liveness.period_seconds = 0;
            p.readiness.timeout_seconds = Some(0);
            p.startup.failure_threshold = 0;
        },
        expected: &[
            "auth-service: probes.liveness.periodSeconds: 0 is not at least 1",
            "auth-service: probes.readiness.timeoutSeconds: 0 is not at least 1",
            "auth-service: probes.startup.failureThreshold: 0 is not at least 1",
        ],
    },
    Case {
        rule: "startup budget under the declared cold start",
        mutate: |c| {
            let auth = service(c, "auth-service");
            (auth.probes.startup.period_seconds, auth.probes.startup.failure_threshold) = (10, 12);
            auth.cold_start_seconds = 180;
        },
        expected: &[
            "auth-service: probes.startup: periodSeconds 10 × failureThreshold 12 = 120 s is under the 180 s cold start the service needs",
        ],
    },
    // Ports
    Case {
        rule: "port 0",
        mutate: |c| service(c, "auth-service").port = 0,
        expected: &["auth-service: port: 0 is outside 1–65535"],
    },
    Case {
        rule: "port above 65535",
        mutate: |c| service(c, "auth-service").port = 70000,
        expected: &["auth-service: port: 70000 is outside 1–65535"],
    },
    Case {
        rule: "data store port 0",
        mutate: |c| c.platform.stores[1].port = 0,
        expected: &["platform: stores.redis.port: 0 is outside 1–65535"],
    },
    // Node pools
    Case {
        rule: "pool without a zone",
        mutate: |c| c.platform.environments[0].pool.zones.clear(),
        expected: &["platform: production.pool.zones: no zone: the pool needs at least one"],
    },
    Case {
        rule: "pool zone listed twice",
        mutate: |c| {
            let zones = &mut c.platform.environments[0].pool.zones;
            zones.push(zones[0].clone());
        },
        expected: &["platform: production.pool.zones: \"eu-west-2a\" is listed twice"],
    },
    Case {
        rule: "pool zone without a name",
        mutate: |c| c.platform.environments[0].pool.zones[1] = " ".into(),
        expected: &["platform: production.pool.zones: a zone without a name"],
    },
    Case {
        rule: "pool of no node a zone",
        mutate: |c| c.platform.environments[0].pool.nodes_per_zone = 0,
        expected: &["platform: production.pool.nodesPerZone: 0 is below 1"],
    },
    Case {
        rule: "pool CPU not a quantity",
        mutate: |c| c.platform.environments[0].pool.allocatable_cpu = "3.92 cores".into(),
        expected: &["platform: production.pool.allocatableCpu: \"3.92 cores\" is not a CPU quantity (e.g. \"250m\" or \"2\")"],
    },
    Case {
        rule: "pool memory zero",
        mutate: |c| c.platform.environments[0].pool.allocatable_memory = "0Gi".into(),
        expected: &["platform: production.pool.allocatableMemory: \"0Gi\" is zero: a memory quantity must be above zero"],
    },
    // ConfigMap keys
    Case {
        rule: "ConfigMap key with a space",
        mutate: |c| config(c, "auth-service", "SESSION TTL", "3600"),
        expected: &[
            "auth-service: config.SESSION TTL: \"SESSION TTL\" is not a valid ConfigMap key ([-._a-zA-Z0-9]+, at most 253 characters)",
        ],
    },
    Case {
        rule: "ConfigMap key starting with ..",
        mutate: |c| config(c, "auth-service", "..data", "x"),
        expected: &["auth-service: config...data: \"..data\" is not a valid ConfigMap key (it may not be '.' or start with '..')"],
    },
    Case {
        rule: "duplicate ConfigMap key",
        mutate: |c| {
            config(c, "analytics-service", "EVENT_RETENTION_DAYS", "30");
        },
        expected: &["analytics-service: config.EVENT_RETENTION_DAYS: duplicate key (already set by this service)"],
    },
    Case {
        rule: "ConfigMap key clashing with a platform key",
        mutate: |c| config(c, "auth-service", "LOG_LEVEL", "trace"),
        expected: &["auth-service: config.LOG_LEVEL: duplicate key (already set by the platform)"],
    },
    Case {
        rule: "ConfigMap key clashing with the gateway's routes",
        mutate: |c| config(c, "api-gateway", "AUTH_SERVICE_URL", "http://auth:3001"),
        expected: &["api-gateway: config.AUTH_SERVICE_URL: duplicate key (already set by the gateway's routes)"],
    },
    // Secrets
    Case {
        rule: "secret-looking key PASSWORD",
        mutate: |c| config(c, "auth-service", "ADMIN_PASSWORD", "hunter2"),
        expected: &[
            "auth-service: config.ADMIN_PASSWORD: looks secret (PASSWORD): reference it from auth-service-secret instead of generating it",
        ],
    },
    Case {
        rule: "secret-looking key TOKEN",
        mutate: |c| config(c, "auth-service", "github_token", "ghp_x"),
        expected: &[
            "auth-service: config.github_token: looks secret (TOKEN): reference it from auth-service-secret instead of generating it",
        ],
    },
    Case {
        rule: "secret-looking key SECRET",
        mutate: |c| config(c, "auth-service", "JWT_SECRET", "s3cr3t"),
        expected: &[
            "auth-service: config.JWT_SECRET: looks secret (SECRET): reference it from auth-service-secret instead of generating it",
        ],
    },
    Case {
        rule: "secret-looking key API_KEY",
        mutate: |c| config(c, "notification-service", "SENDGRID_API_KEY", "SG.x"),
        expected: &[concat!(
            "notification-service: config.SENDGRID_API_KEY: looks secret (API_KEY): ",
            "reference it from notification-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "secret-looking key PRIVATE_KEY",
        mutate: |c| config(c, "auth-service", "TLS_PRIVATE_KEY", "-----BEGIN"),
        expected: &[
            "auth-service: config.TLS_PRIVATE_KEY: looks secret (PRIVATE_KEY): reference it from auth-service-secret instead of generating it",
        ],
    },
    Case {
        rule: "secret-looking key DATABASE_URL",
        mutate: |c| config(c, "auth-service", "DATABASE_URL", "postgres://postgres-primary/auth"),
        expected: &[
            "auth-service: config.DATABASE_URL: looks secret (DATABASE_URL): reference it from auth-service-secret instead of generating it",
        ],
    },
    Case {
        rule: "URL with credentials",
        mutate: |c| config(c, "analytics-service", "WAREHOUSE_URI", "postgres://report:pa55@warehouse:5432/events"),
        expected: &[concat!(
            "analytics-service: config.WAREHOUSE_URI: the value is a URL with credentials: ",
            "reference it from analytics-service-secret instead of generating it"
        )],
    },
    // Secrets, must catch: key words, values shaped like live credentials, and excuses that do
    // not hold
    Case {
        rule: "secret-looking key word PASS",
        mutate: |c| config(c, "auth-service", "DB_PASS", "hunter2"),
        expected: &[
            "auth-service: config.DB_PASS: looks secret (PASS): reference it from auth-service-secret instead of generating it",
        ],
    },
    Case {
        rule: "secret-looking key word PWD",
        mutate: |c| config(c, "auth-service", "DB_PWD", "hunter2"),
        expected: &[
            "auth-service: config.DB_PWD: looks secret (PWD): reference it from auth-service-secret instead of generating it",
        ],
    },
    Case {
        rule: "secret-looking key word pass, lower case with dashes",
        mutate: |c| config(c, "notification-service", "smtp-pass", "hunter2"),
        expected: &[concat!(
            "notification-service: config.smtp-pass: looks secret (PASS): ",
            "reference it from notification-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "secret-looking key word Pass, camelCase",
        mutate: |c| config(c, "notification-service", "smtpPass", "hunter2"),
        expected: &[concat!(
            "notification-service: config.smtpPass: looks secret (PASS): ",
            "reference it from notification-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "TOKEN in a name that is not a token is still caught until declared",
        mutate: |c| config(c, "auth-service", "ACCESS_TOKEN_TTL_SECONDS", "900"),
        expected: &[concat!(
            "auth-service: config.ACCESS_TOKEN_TTL_SECONDS: looks secret (TOKEN): ",
            "reference it from auth-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value shaped like a Stripe live secret key",
        mutate: |c| config(c, "order-payment-service", "PAYMENT_PROVIDER", "sk_live_51HxYzAbCdEf"),
        expected: &[concat!(
            "order-payment-service: config.PAYMENT_PROVIDER: the value looks like a Stripe live secret key (sk_live_…): ",
            "reference it from order-payment-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value shaped like a Stripe live restricted key, inside a header",
        mutate: |c| config(c, "order-payment-service", "PAYMENT_AUTH_HEADER", "Bearer rk_live_51HxYzAbCdEf"),
        expected: &[concat!(
            "order-payment-service: config.PAYMENT_AUTH_HEADER: the value looks like a Stripe live restricted key (rk_live_…): ",
            "reference it from order-payment-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value shaped like an AWS access key ID",
        mutate: |c| config(c, "content-service", "S3_UPLOADER", "AKIAIOSFODNN7EXAMPLE"),
        expected: &[concat!(
            "content-service: config.S3_UPLOADER: the value looks like an AWS access key ID (AKIA…): ",
            "reference it from content-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value shaped like a GitHub personal access token",
        mutate: |c| config(c, "content-service", "CHANGELOG_SOURCE", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
        expected: &[concat!(
            "content-service: config.CHANGELOG_SOURCE: the value looks like a GitHub personal access token (ghp_…): ",
            "reference it from content-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value shaped like a Slack bot token",
        mutate: |c| config(c, "notification-service", "SLACK_BOT", "xoxb-123456-789012-AbCdEf"),
        expected: &[concat!(
            "notification-service: config.SLACK_BOT: the value looks like a Slack bot token (xoxb-…): ",
            "reference it from notification-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value shaped like a Slack user token",
        mutate: |c| config(c, "notification-service", "SLACK_USER", "xoxp-123456-789012-AbCdEf"),
        expected: &[concat!(
            "notification-service: config.SLACK_USER: the value looks like a Slack user token (xoxp-…): ",
            "reference it from notification-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value with a PEM header",
        mutate: |c| config(c, "auth-service", "SAML_SIGNING", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA"),
        expected: &[concat!(
            "auth-service: config.SAML_SIGNING: the value looks like a PEM block (-----BEGIN …): ",
            "reference it from auth-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "password= inside a DSN",
        mutate: |c| {
            config(c, "analytics-service", "WAREHOUSE_CONNINFO", "host=warehouse user=report password=pa55 dbname=events")
        },
        expected: &[concat!(
            "analytics-service: config.WAREHOUSE_CONNINFO: the value carries a password (password=…): ",
            "reference it from analytics-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "Pwd= inside a connection string",
        mutate: |c| config(c, "analytics-service", "WAREHOUSE_CONNECTION", "Server=warehouse;Uid=report;Pwd=pa55"),
        expected: &[concat!(
            "analytics-service: config.WAREHOUSE_CONNECTION: the value carries a password (Pwd=…): ",
            "reference it from analytics-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "password= inside a query string",
        mutate: |c| {
            config(c, "analytics-service", "EXPORT_URL", "https://reports.lomashwood.co.uk/export?user=report&password=pa55")
        },
        expected: &[concat!(
            "analytics-service: config.EXPORT_URL: the value carries a password (password=…): ",
            "reference it from analytics-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "user:password@host without a scheme",
        mutate: |c| config(c, "analytics-service", "WAREHOUSE_ADDR", "report:pa55@warehouse:5432/events"),
        expected: &[concat!(
            "analytics-service: config.WAREHOUSE_ADDR: the value carries credentials (user:password@host): ",
            "reference it from analytics-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "URL with credentials after another URL in the value",
        mutate: |c| {
            config(c, "analytics-service", "WAREHOUSES", "http://cache:8080, postgres://report:pa55@warehouse/events")
        },
        expected: &[concat!(
            "analytics-service: config.WAREHOUSES: the value is a URL with credentials: ",
            "reference it from analytics-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "key declared not secret whose value is a live key",
        mutate: |c| {
            config_not_secret(c, "auth-service", "ACCESS_TOKEN_TTL_SECONDS", "sk_live_51HxYzAbCdEf", "a lifetime")
        },
        expected: &[concat!(
            "auth-service: config.ACCESS_TOKEN_TTL_SECONDS: the value looks like a Stripe live secret key (sk_live_…): ",
            "reference it from auth-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "key declared not secret without a reason",
        mutate: |c| config_not_secret(c, "auth-service", "ACCESS_TOKEN_TTL_SECONDS", "900", " "),
        expected: &[
            "auth-service: config.ACCESS_TOKEN_TTL_SECONDS: declared not secret without a reason: say why the name misleads",
        ],
    },
    Case {
        rule: "key declared not secret whose name does not look secret",
        mutate: |c| config_not_secret(c, "auth-service", "SESSION_TTL_SECONDS", "900", "a lifetime in seconds"),
        expected: &[concat!(
            "auth-service: config.SESSION_TTL_SECONDS: declared not secret, ",
            "but its name does not look secret: drop the declaration"
        )],
    },
    Case {
        rule: "key declared not secret that the service does not set",
        mutate: |c| {
            service(c, "auth-service").not_secret.push(("ACCESS_TOKEN_TTL_SECONDS".into(), "a lifetime".into()))
        },
        expected: &["auth-service: config.ACCESS_TOKEN_TTL_SECONDS: declared not secret, but the service sets no such key"],
    },
    // Secrets, must pass: names and values that only resemble secrets
    Case {
        rule: "key with TOKEN declared not secret, with a reason",
        mutate: |c| {
            config_not_secret(c, "auth-service", "ACCESS_TOKEN_TTL_SECONDS", "900", "a lifetime in seconds, not a token")
        },
        expected: &[],
    },
    Case {
        rule: "key ending in _KEY declared not secret, with a reason",
        mutate: |c| {
            config_not_secret(c, "analytics-service", "PARTITION_KEY", "customer_id", "the column events are split by")
        },
        expected: &[],
    },
    Case {
        rule: "PASS inside a word is not the word PASS",
        mutate: |c| {
            config(c, "api-gateway", "PASSTHROUGH_MODE", "true");
            config(c, "api-gateway", "BYPASS_CACHE", "false");
        },
        expected: &[],
    },
    Case {
        rule: "e-mail addresses and mailto links are not credentials",
        mutate: |c| {
            config(c, "notification-service", "SMTP_FROM", "Lomash Wood <noreply@lomashwood.co.uk>");
            config(c, "notification-service", "SUPPORT_LINK", "mailto:support@lomashwood.co.uk");
        },
        expected: &[],
    },
    Case {
        rule: "URLs, query strings and DSNs without credentials",
        mutate: |c| {
            config(c, "analytics-service", "SHOP_URL", "https://lomashwood.co.uk/shop?page=2&sort=asc");
            config(c, "analytics-service", "WAREHOUSE_CONNINFO", "host=warehouse user=report sslmode=require");
            config(c, "analytics-service", "WAREHOUSE_HOST", "warehouse:5432");
        },
        expected: &[],
    },
    Case {
        rule: "a live-key prefix inside a word",
        mutate: |c| config(c, "analytics-service", "DISK_METRIC", "disk_live_bytes"),
        expected: &[],
    },
    // CORS
    Case {
        rule: "production CORS origin over http",
        mutate: |c| *c.platform.environments[0].stage.setting_mut("CORS_ORIGIN").unwrap() = "http://lomashwood.co.uk".into(),
        expected: &[concat!(
            "platform: production.settings.CORS_ORIGIN: \"http://lomashwood.co.uk\" is not an https:// origin ",
            "(https://host[:port]: no path, wildcard, list or credentials)"
        )],
    },
    Case {
        rule: "production CORS origin wildcard",
        mutate: |c| *c.platform.environments[0].stage.setting_mut("CORS_ORIGIN").unwrap() = "*".into(),
        expected: &["platform: production.settings.CORS_ORIGIN: \"*\" is not an https:// origin (https://host[:port]: no path, wildcard, list or credentials)"],
    },
    Case {
        rule: "production CORS origin with a path",
        mutate: |c| *c.platform.environments[0].stage.setting_mut("CORS_ORIGIN").unwrap() = "https://lomashwood.co.uk/shop".into(),
        expected: &[concat!(
            "platform: production.settings.CORS_ORIGIN: \"https://lomashwood.co.uk/shop\" is not an https:// origin ",
            "(https://host[:port]: no path, wildcard, list or credentials)"
        )],
    },
    Case {
        rule: "production CORS origin list",
        mutate: |c| *c.platform.environments[0].stage.setting_mut("CORS_ORIGIN").unwrap() = "https://a.co.uk,https://b.co.uk".into(),
        expected: &[concat!(
            "platform: production.settings.CORS_ORIGIN: \"https://a.co.uk,https://b.co.uk\" is not an https:// origin ",
            "(https://host[:port]: no path, wildcard, list or credentials)"
        )],
    },
    Case {
        rule: "platform host with credentials",
        mutate: |c| *c.platform.environments[0].stage.store_host_mut("postgres").unwrap() = "admin:hunter2@postgres-primary".into(),
        expected: &[concat!(
            "platform: production.storeHosts.postgres: carries credentials: ",
            "reference them from each service's secret instead of generating them"
        )],
    },
    Case {
        rule: "secret-looking key ending in _KEY",
        mutate: |c| config(c, "order-payment-service", "STRIPE_KEY", "sk_live_x"),
        expected: &[concat!(
            "order-payment-service: config.STRIPE_KEY: looks secret (_KEY): ",
            "reference it from order-payment-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "secret-looking key ACCESS_KEY",
        mutate: |c| config(c, "content-service", "AWS_ACCESS_KEY_ID", "AKIA0000"),
        expected: &[concat!(
            "content-service: config.AWS_ACCESS_KEY_ID: looks secret (ACCESS_KEY): ",
            "reference it from content-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "two services on one gateway route key",
        mutate: |c| {
            let mut extra = c.services[1].clone();
            extra.name = "auth".into();
            extra.port = 3999;
            c.services.push(extra);
            set_tag_everywhere(c, "auth", "1.0.0");
        },
        expected: &["api-gateway: config.AUTH_SERVICE_URL: two services map to this route key (http://auth:3999 is one)"],
    },
    Case {
        rule: "unreadable release file",
        mutate: |c| c.release = Release::read("production:\n  auth-service: [1, 0]\n"),
        expected: &[concat!(
            "release: images.yaml: production.auth-service: invalid type: sequence, expected a string ",
            "at line 2 column 17 (expected one mapping per environment, `service: \"tag\"` lines inside, tags quoted)"
        )],
    },
    Case {
        rule: "release file naming a service twice (the last tag used to win silently)",
        mutate: |c| {
            c.release = Release::read(
                "production:\n  auth-service: \"1.0.0\"\n  product-service: \"1.0.0\"\n  auth-service: \"1.0.1\"\n",
            )
        },
        expected: &[concat!(
            "release: images.yaml: production: duplicate key \"auth-service\" at line 4 column 3 ",
            "(each key once: a repeat would silently replace the first)"
        )],
    },
    Case {
        rule: "release file naming an environment twice",
        mutate: |c| {
            c.release = Release::read("production:\n  auth-service: \"1.0.0\"\nproduction:\n  auth-service: \"1.0.1\"\n")
        },
        expected: &[concat!(
            "release: images.yaml: duplicate key \"production\" at line 3 column 1 ",
            "(each key once: a repeat would silently replace the first)"
        )],
    },
    // Security context
    Case {
        rule: "root user",
        mutate: |c| service(c, "auth-service").security.run_as_user = 0,
        expected: &["auth-service: security.runAsUser: 0 runs as root"],
    },
    Case {
        rule: "privileged",
        mutate: |c| service(c, "auth-service").security.privileged = true,
        expected: &["auth-service: security.privileged: must be false"],
    },
    Case {
        rule: "privilege escalation",
        mutate: |c| service(c, "auth-service").security.allow_privilege_escalation = true,
        expected: &["auth-service: security.allowPrivilegeEscalation: must be false"],
    },
    Case {
        rule: "writable root filesystem",
        mutate: |c| service(c, "auth-service").security.read_only_root_filesystem = false,
        expected: &[
            "auth-service: security.readOnlyRootFilesystem: must be true (a writable emptyDir is mounted at /tmp)",
        ],
    },
    Case {
        rule: "capabilities not dropped",
        mutate: |c| service(c, "auth-service").security.drop_all_capabilities = false,
        expected: &["auth-service: security.capabilities.drop: must drop ALL"],
    },
    Case {
        rule: "no seccomp profile",
        mutate: |c| service(c, "auth-service").security.seccomp_runtime_default = false,
        expected: &["auth-service: security.seccompProfile: must be RuntimeDefault"],
    },
    Case {
        rule: "runAsNonRoot off",
        mutate: |c| service(c, "auth-service").security.run_as_non_root = false,
        expected: &["auth-service: security.runAsNonRoot: must be true"],
    },
    Case {
        rule: "negative runAsUser",
        mutate: |c| service(c, "auth-service").security.run_as_user = -1,
        expected: &["auth-service: security.runAsUser: -1 is outside 1–2147483647"],
    },
    Case {
        rule: "runAsUser beyond what Kubernetes takes",
        mutate: |c| service(c, "auth-service").security.run_as_user = 1 << 31,
        expected: &["auth-service: security.runAsUser: 2147483648 is outside 1–2147483647"],
    },
    Case {
        rule: "root group",
        mutate: |c| service(c, "auth-service").security.run_as_group = 0,
        expected: &["auth-service: security.runAsGroup: 0 runs with the root group"],
    },
    Case {
        rule: "negative runAsGroup",
        mutate: |c| service(c, "auth-service").security.run_as_group = -1001,
        expected: &["auth-service: security.runAsGroup: -1001 is outside 1–2147483647"],
    },
    Case {
        rule: "root fsGroup",
        mutate: |c| service(c, "auth-service").security.fs_group = 0,
        expected: &["auth-service: security.fsGroup: 0 gives volumes to the root group"],
    },
    Case {
        rule: "negative fsGroup",
        mutate: |c| service(c, "auth-service").security.fs_group = -1,
        expected: &["auth-service: security.fsGroup: -1 is outside 1–2147483647"],
    },
    // Platform values
    Case {
        rule: "an environment with no replicas",
        mutate: |c| c.platform.environments[0].stage.replicas = Some(0),
        expected: &["platform: production.replicas: 0 is below 1"],
    },
    Case {
        rule: "negative replicas in the base",
        mutate: |c| c.platform.base.replicas = Some(-1),
        expected: &["platform: base.replicas: -1 is below 1"],
    },
    Case {
        rule: "part-of label that is not a label value",
        mutate: |c| c.platform.part_of = "lomash wood".into(),
        expected: &[concat!(
            "platform: partOf: \"lomash wood\" is not a valid label value (at most 63 characters: letters, digits, ",
            "'-', '_' and '.', starting and ending with a letter or digit)"
        )],
    },
    Case {
        rule: "managed-by label empty",
        mutate: |c| c.platform.managed_by = String::new(),
        expected: &["platform: managedBy: \"\" is empty: the label needs a value"],
    },
    Case {
        rule: "node selector value that is not a label value",
        mutate: |c| c.platform.environments[0].scheduling.node_selector[0].1 = "back end".into(),
        expected: &[concat!(
            "platform: production.nodeSelector.node-role: \"back end\" is not a valid label value (at most 63 ",
            "characters: letters, digits, '-', '_' and '.', starting and ending with a letter or digit)"
        )],
    },
    Case {
        rule: "tag whose version label is not a label value",
        mutate: |c| set_tag(c, "auth-service", "1.0.0-rc-"),
        expected: &[concat!(
            "auth-service: production.image.tag: as the version label, \"1.0.0-rc-\" is not a valid label value (at most 63 ",
            "characters: letters, digits, '-', '_' and '.', starting and ending with a letter or digit)"
        )],
    },
    Case {
        rule: "registry that is not an image reference",
        mutate: |c| c.platform.registry = "Lomash Wood".into(),
        expected: &[concat!(
            "platform: registry: \"Lomash Wood\" is not a valid image registry: images are <registry>/<service>, ",
            "lower-case letters and digits joined by '.', '_', '__' or '-' in '/'-separated components, after an ",
            "optional host[:port]"
        )],
    },
    Case {
        rule: "empty registry",
        mutate: |c| c.platform.registry = String::new(),
        expected: &[concat!(
            "platform: registry: \"\" is not a valid image registry: images are <registry>/<service>, ",
            "lower-case letters and digits joined by '.', '_', '__' or '-' in '/'-separated components, after an ",
            "optional host[:port]"
        )],
    },
    Case {
        rule: "AWS account id that is not 12 digits",
        mutate: |c| c.platform.aws.as_mut().unwrap().account_id = "12345678901".into(),
        expected: &["platform: aws.accountId: \"12345678901\" is not an AWS account id (12 digits)"],
    },
    Case {
        rule: "AWS account id with a letter",
        mutate: |c| c.platform.aws.as_mut().unwrap().account_id = "12345678901O".into(),
        expected: &["platform: aws.accountId: \"12345678901O\" is not an AWS account id (12 digits)"],
    },
    Case {
        rule: "AWS region of an unknown shape",
        mutate: |c| c.platform.aws.as_mut().unwrap().region = "eu-west".into(),
        expected: &[concat!(
            "platform: aws.region: \"eu-west\" is not an AWS region (<area>-<direction>-<digit>, e.g. eu-west-2 or ",
            "us-gov-east-1)"
        )],
    },
    Case {
        rule: "AWS region written as a zone",
        mutate: |c| c.platform.aws.as_mut().unwrap().region = "eu-west-2a".into(),
        expected: &[concat!(
            "platform: aws.region: \"eu-west-2a\" is not an AWS region (<area>-<direction>-<digit>, e.g. eu-west-2 or ",
            "us-gov-east-1)"
        )],
    },
    Case {
        rule: "a namespaced secret store without an account to assume its role in",
        mutate: |c| c.platform.aws = None,
        expected: &[
            "platform: secrets.store.scope: a namespaced store reads as an IAM role of the platform's account: declare `aws`",
        ],
    },
    Case {
        rule: "one store role for every environment",
        mutate: |c| {
            if let lomash_manifests::spec::StoreScope::Namespace(identity) = &mut c.platform.secrets.store.scope {
                identity.role = "external-secrets".into();
            }
        },
        expected: &[
            "platform: secrets.store.role: \"external-secrets\" names one role for every environment: put {environment} in it",
        ],
    },
    Case {
        rule: "an Ingress host that is not a DNS name",
        mutate: |c| c.platform.environment_mut("staging").unwrap().ingress.as_mut().unwrap().host = "api staging".into(),
        expected: &[concat!(
            "platform: staging.ingress.host: \"api staging\" is not a DNS-1123 subdomain (lower-case letters, ",
            "digits, '-' and '.', each part starting and ending with a letter or digit, at most 253 characters)"
        )],
    },
    Case {
        rule: "an Ingress with no public service to route to",
        // Environments added after the spec's two lose their Ingress too, so that the expected
        // messages are the spec's two however many environments the catalogue has.
        mutate: |c| {
            service(c, "api-gateway").public = None;
            c.platform.environments.iter_mut().filter(|e| !["production", "staging"].contains(&e.name.as_str())).for_each(|e| e.ingress = None);
        },
        expected: &[
            "platform: production.ingress: routes to the catalogue's public service, but 0 services are public ([])",
            "platform: staging.ingress: routes to the catalogue's public service, but 0 services are public ([])",
        ],
    },
    Case {
        rule: "a migration Job that could never run",
        mutate: |c| {
            let store = c.platform.stores.iter_mut().find(|s| s.migration.is_some()).unwrap();
            store.migration.as_mut().unwrap().active_deadline_seconds = 0;
        },
        expected: &["platform: stores.postgres.migration.activeDeadlineSeconds: 0 is below 1: the Job could never run"],
    },
    Case {
        rule: "a connection pool of 0",
        mutate: |c| service(c, "auth-service").pool_size = Some(0),
        expected: &["auth-service: poolSize: 0 is below 1: its pods could open no connection"],
    },
    Case {
        rule: "a pool size for a service without a database",
        mutate: |c| service(c, "api-gateway").pool_size = Some(10),
        expected: &["api-gateway: poolSize: 10 is set, but the service uses no store with a connection pool"],
    },
    Case {
        rule: "a connection limit that reserves everything",
        mutate: |c| c.platform.environment_mut("staging").unwrap().connection_limits[0].1.reserved = 200,
        expected: &[
            "platform: staging.connectionLimits.postgres: reserved 200 leaves nothing of max_connections 200 for the services",
        ],
    },
    Case {
        rule: "an HPA that could never scale up",
        mutate: |c| service(c, "auth-service").autoscaling.scale_up.pods = 0,
        expected: &["auth-service: autoscaling.scaleUp.pods: 0 is below 1: the HPA could never scale up"],
    },
    Case {
        rule: "service image that is not an image reference",
        mutate: |c| service(c, "auth-service").image = "LomashWood/auth-service".into(),
        expected: &[concat!(
            "auth-service: image: \"LomashWood/auth-service\" is not a valid image repository (lower-case letters ",
            "and digits joined by '.', '_', '__' or '-' in '/'-separated components, after an optional registry ",
            "host[:port])"
        )],
    },
    Case {
        rule: "an empty catalogue (which would delete every service)",
        mutate: |c| {
            c.services.clear();
            c.release.environments.values_mut().for_each(|t| t.clear());
        },
        expected: &["catalogue: services: no services: refusing to render an empty tree"],
    },
    // Characters kustomize cannot carry (see tests/it/yaml_roundtrip.rs)
    Case {
        rule: "ConfigMap value with U+0085, which kustomize folds into a space",
        mutate: |c| config(c, "auth-service", "GREETING", "hello\u{85}world"),
        expected: &[concat!(
            "auth-service: config.GREETING: the value contains U+0085, which kustomize cannot carry: it refuses ",
            "DEL, the C1 controls and U+FFFE/U+FFFF, and folds U+0085 into a space"
        )],
    },
    Case {
        rule: "ConfigMap value with DEL",
        mutate: |c| config(c, "auth-service", "GREETING", "a\u{7f}"),
        expected: &[concat!(
            "auth-service: config.GREETING: the value contains U+007F, which kustomize cannot carry: it refuses ",
            "DEL, the C1 controls and U+FFFE/U+FFFF, and folds U+0085 into a space"
        )],
    },
    Case {
        rule: "ConfigMap value with U+FFFE",
        mutate: |c| config(c, "analytics-service", "SEPARATOR", "\u{fffe}"),
        expected: &[concat!(
            "analytics-service: config.SEPARATOR: the value contains U+FFFE, which kustomize cannot carry: it ",
            "refuses DEL, the C1 controls and U+FFFE/U+FFFF, and folds U+0085 into a space"
        )],
    },
    Case {
        rule: "platform value with a C1 control, which reaches every ConfigMap",
        mutate: |c| *c.platform.environments[0].stage.store_host_mut("postgres").unwrap() = "postgres\u{9f}".into(),
        expected: &[concat!(
            "platform: production.storeHosts.postgres: the value contains U+009F, which kustomize cannot carry: it refuses DEL, ",
            "the C1 controls and U+FFFE/U+FFFF, and folds U+0085 into a space"
        )],
    },
    Case {
        rule: "namespace not a DNS label",
        mutate: |c| c.platform.environments[0].namespace = "Lomash.Wood".into(),
        expected: &[concat!(
            "platform: production.namespace: \"Lomash.Wood\" is not a DNS-1123 label (lower-case letters, digits and '-', ",
            "starting with a letter, ending with a letter or digit, at most 63 characters)"
        )],
    },
    // The service graph
    Case {
        rule: "an edge to an unknown service names both ends",
        mutate: |c| service(c, "order-payment-service").uses.push(Uses::Service("invoice-service".into())),
        expected: &[
            "order-payment-service: uses: order-payment-service -> invoice-service: invoice-service is not a service of the catalogue",
        ],
    },
    Case {
        rule: "a service calling itself",
        mutate: |c| service(c, "content-service").uses.push(Uses::Service("content-service".into())),
        expected: &["content-service: uses: content-service -> content-service: a service does not call itself over the network"],
    },
    Case {
        rule: "an edge declared twice",
        mutate: |c| service(c, "auth-service").uses.push(Uses::store("redis")),
        expected: &["auth-service: uses: the store redis is declared twice"],
    },
    Case {
        rule: "an edge to a store the platform does not declare",
        mutate: |c| service(c, "auth-service").uses.push(Uses::store("mysql")),
        expected: &["auth-service: uses: auth-service -> mysql: not a data store of the platform (known: postgres, redis)"],
    },
    Case {
        rule: "a store without a wait command",
        mutate: |c| c.platform.stores[0].ready = " ".into(),
        expected: &["platform: stores.postgres.ready: no wait command: say how an attempt knows the store is up"],
    },
    Case {
        rule: "a stage without a host for a store",
        mutate: |c| c.platform.environments[0].stage.store_hosts.retain(|(s, _)| s != "redis"),
        expected: &["platform: production.storeHosts.redis: missing: no host for the store"],
    },
    Case {
        rule: "external HTTPS without a reason",
        mutate: |c| service(c, "analytics-service").uses.push(Uses::ExternalHttps(" ".into())),
        expected: &["analytics-service: uses: ExternalHttps needs a reason: say which provider it reaches"],
    },
    Case {
        rule: "a public port without a reason",
        mutate: |c| service(c, "api-gateway").public = Some(String::new()),
        expected: &["api-gateway: public: a public port needs a reason: say who reaches it from where"],
    },
    Case {
        rule: "data namespace not a DNS label",
        mutate: |c| c.platform.environments[0].data_namespace = "lomash_wood_data".into(),
        expected: &[concat!(
            "platform: production.dataNamespace: \"lomash_wood_data\" is not a DNS-1123 label (lower-case letters, digits and '-', ",
            "starting with a letter, ending with a letter or digit, at most 63 characters)"
        )],
    },
    Case {
        rule: "a data store outside the data namespace the policies open",
        mutate: |c| *c.platform.environments[0].stage.store_host_mut("redis").unwrap() = "redis-master.cache.svc.cluster.local".into(),
        expected: &[concat!(
            "platform: production.storeHosts.redis: \"redis-master.cache.svc.cluster.local\" is in namespace cache, but the ",
            "network policies open the data stores only in the data namespace lomash-wood-data"
        )],
    },
    Case {
        rule: "a signed JSON Web Token",
        mutate: |c| config(c, "auth-service", "SESSION_SAMPLE", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl"),
        expected: &[concat!(
            "auth-service: config.SESSION_SAMPLE: the value looks like a JSON Web Token (eyJ….eyJ….…): ",
            "reference it from auth-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "an unsigned JSON Web Token after a word",
        mutate: |c| config(c, "auth-service", "SERVICE_AUTHORIZATION", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0."),
        expected: &[concat!(
            "auth-service: config.SERVICE_AUTHORIZATION: the value looks like a JSON Web Token (eyJ….eyJ….…): ",
            "reference it from auth-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value shaped like an AWS temporary access key ID",
        mutate: |c| config(c, "content-service", "S3_SESSION", "ASIAIOSFODNN7EXAMPLE"),
        expected: &[concat!(
            "content-service: config.S3_SESSION: the value looks like an AWS temporary access key ID (ASIA…): ",
            "reference it from content-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value shaped like a Stripe webhook signing secret",
        mutate: |c| config(c, "order-payment-service", "STRIPE_WEBHOOK", "whsec_0000fixture0000fixture"),
        expected: &[concat!(
            "order-payment-service: config.STRIPE_WEBHOOK: the value looks like a Stripe webhook signing secret (whsec_…): ",
            "reference it from order-payment-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value shaped like a GitHub OAuth token",
        mutate: |c| config(c, "content-service", "CHANGELOG_OAUTH", "gho_0000fixture0000fixture"),
        expected: &[concat!(
            "content-service: config.CHANGELOG_OAUTH: the value looks like a GitHub OAuth token (gho_…): ",
            "reference it from content-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value shaped like a GitHub app token",
        mutate: |c| config(c, "content-service", "CHANGELOG_APP", "ghs_0000fixture0000fixture"),
        expected: &[concat!(
            "content-service: config.CHANGELOG_APP: the value looks like a GitHub server-to-server token (ghs_…): ",
            "reference it from content-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value shaped like a GitHub fine-grained token",
        mutate: |c| config(c, "content-service", "CHANGELOG_PAT", "github_pat_0000fixture_0000fixture"),
        expected: &[concat!(
            "content-service: config.CHANGELOG_PAT: the value looks like a GitHub fine-grained access token (github_pat_…): ",
            "reference it from content-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value shaped like a GitLab personal access token",
        mutate: |c| config(c, "content-service", "MIRROR_SOURCE", "glpat-0000fixture-0000"),
        expected: &[concat!(
            "content-service: config.MIRROR_SOURCE: the value looks like a GitLab personal access token (glpat-…): ",
            "reference it from content-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value shaped like an npm token",
        mutate: |c| config(c, "content-service", "REGISTRY_AUTH", "npm_0000fixture0000fixture0000fixture00"),
        expected: &[concat!(
            "content-service: config.REGISTRY_AUTH: the value looks like an npm access token (npm_…): ",
            "reference it from content-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value shaped like a Google API key",
        mutate: |c| config(c, "appointment-service", "MAPS", "AIza0000fixture0000fixture0000fixture00"),
        expected: &[concat!(
            "appointment-service: config.MAPS: the value looks like a Google API key (AIza…): ",
            "reference it from appointment-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "value shaped like a Slack app-level token",
        mutate: |c| config(c, "notification-service", "SLACK_APP", "xapp-1-A0000-0000-fixture"),
        expected: &[concat!(
            "notification-service: config.SLACK_APP: the value looks like a Slack app-level token (xapp-…): ",
            "reference it from notification-service-secret instead of generating it"
        )],
    },
    Case {
        rule: "base64 JSON that is not a token: one segment",
        mutate: |c| config(c, "content-service", "FEATURE_FLAGS_B64", "eyJrZXkiOiJ2YWx1ZSJ9"),
        expected: &[],
    },
    Case {
        rule: "a credential prefix without the tail of one",
        mutate: |c| config(c, "content-service", "GREETING", "npm_start AIza glpat- ASIA"),
        expected: &[],
    },
    // The platform's service defaults: a mistake in them is reported once, at the platform,
    // not once for every service that inherits it.
    Case {
        rule: "a probe period of the platform's defaults",
        mutate: |c| inherit_defaults(c, |d| d.probes.liveness.period_seconds = 0),
        expected: &["platform: defaults.probes.liveness.periodSeconds: 0 is not at least 1"],
    },
    Case {
        rule: "runAsUser 0 in the platform's defaults",
        mutate: |c| inherit_defaults(c, |d| d.security.run_as_user = 0),
        expected: &["platform: defaults.security.runAsUser: 0 runs as root"],
    },
];

/// Changes the platform's service defaults as an edit of the platform would: every service that
/// starts from them (all whose values equal them) gets the change too.
fn inherit_defaults(c: &mut Catalogue, change: fn(&mut ServiceDefaults)) {
    let before = c.platform.defaults.clone();
    change(&mut c.platform.defaults);
    let after = c.platform.defaults.clone();
    let inheriting = c.services.iter().filter(|s| s.probes == before.probes).count();
    assert!(inheriting > 1, "several services start from the platform's probes");
    for s in c.services.iter_mut() {
        if s.probes == before.probes {
            s.probes = after.probes.clone();
        }
        if s.security == before.security {
            s.security = after.security;
        }
    }
}

#[test]
fn the_committed_catalogue_is_valid() {
    if let Err(errors) = validate(&catalogue()) {
        panic!("{errors}");
    }
}

#[test]
fn each_rule_reports_its_exact_message() {
    assert!(CASES.len() >= 25, "one case per rule");
    let mut failures = Vec::new();
    for case in CASES {
        let mut c = catalogue();
        (case.mutate)(&mut c);
        let got = match validate(&c) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.messages(),
        };
        if got != case.expected {
            failures.push(format!("{}:\n  expected {:#?}\n  got      {:#?}", case.rule, case.expected, got));
        }
    }
    assert!(failures.is_empty(), "{} of {} rules:\n{}", failures.len(), CASES.len(), failures.join("\n"));
}

/// Several mistakes in several services (and the platform): every one is reported, in catalogue
/// order, not just the first.
#[test]
fn all_mistakes_are_reported_at_once() {
    let mut c = catalogue();
    *c.platform.environments[0].stage.setting_mut("CORS_ORIGIN").unwrap() = "http://lomashwood.co.uk".into();
    set_tag(&mut c, "auth-service", "latest");
    same_port(&mut c, "content-service", "auth-service", 3001);
    service(&mut c, "content-service").probes.liveness.path = "live".into();
    service(&mut c, "analytics-service").cpu = Resources::new("3", "2000m");
    service(&mut c, "analytics-service").security.privileged = true;
    config(&mut c, "notification-service", "SMTP_PASSWORD", "x");
    set_tag(&mut c, "no-such-service", "1.0.0");

    let errors = validate(&c).expect_err("the catalogue has mistakes");
    assert_eq!(
        errors.messages(),
        [
            "platform: production.settings.CORS_ORIGIN: \"http://lomashwood.co.uk\" is not an https:// origin (https://host[:port]: no path, wildcard, list or credentials)",
            "content-service: port: 3001 is already used by auth-service",
            "no-such-service: production.image.tag: images.yaml pins a tag for it, but the catalogue has no service of that name",
            "auth-service: production.image.tag: \"latest\" is not pinned: use a version (e.g. \"1.0.0\")",
            "content-service: probes.liveness.path: \"live\" is not an absolute path (expected one starting with '/')",
            "notification-service: config.SMTP_PASSWORD: looks secret (PASSWORD): reference it from notification-service-secret instead of generating it",
            "analytics-service: resources.cpu: request 3 exceeds limit 2000m",
            "analytics-service: security.privileged: must be false",
        ]
    );
    assert!(errors.to_string().starts_with("8 errors in the service definitions:\n"));
}

#[test]
fn pinned_tags_are_accepted() {
    let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
    let sha = "3f9c2ab47d1e0c8b5a6f7e9d0c1b2a3f4e5d6c7b";
    let tags = [
        "1.0.0".to_owned(),
        "v2.3.1".to_owned(),
        "10.20.30".to_owned(),
        "2.3.1-rc.1".to_owned(),
        "1.0.0-alpha.beta.7".to_owned(),
        sha.to_owned(),
        format!("1.4.2@{digest}"),
        format!("{sha}@{digest}"),
    ];
    for tag in &tags {
        assert!(ImageTag::parse(tag).is_ok(), "{tag} is pinned: {:?}", ImageTag::parse(tag));
        let mut c = catalogue();
        set_tag(&mut c, "auth-service", tag);
        let model = validate(&c).unwrap_or_else(|e| panic!("{tag}: {e}"));
        let auth = model.services.iter().find(|s| s.name == "auth-service").unwrap();
        // Pinned by digest, the image runs the digest (`name@sha256:…`); the tag is its label.
        let image = match tag.split_once('@') {
            Some((_, digest)) => format!("lomashwood/auth-service@{digest}"),
            None => format!("lomashwood/auth-service:{tag}"),
        };
        assert_eq!(auth.image_ref("production"), image);
    }
}

/// Requests and limits in the Kubernetes quantity grammar's other forms validate, and the model
/// keeps each as written: the YAML must show what the definition says, not a normalised value.
#[test]
fn quantities_in_every_kubernetes_form_are_accepted_as_written() {
    let forms = [
        (["0.25", "+1"], [".25Gi", "1Gi"]),
        (["25e-2", "1E0"], ["256Mi", "1.5Gi"]),
        (["250000u", "1000000000n"], ["268435456", "1e9"]),
        (["0.5", "2."], ["500M", "1G"]),
    ];
    for ([cpu_request, cpu_limit], [memory_request, memory_limit]) in forms {
        let mut c = catalogue();
        let auth = service(&mut c, "auth-service");
        auth.cpu.request = Some(cpu_request.into());
        auth.cpu.limit = Some(cpu_limit.into());
        auth.memory.request = Some(memory_request.into());
        auth.memory.limit = Some(memory_limit.into());
        let model =
            validate(&c).unwrap_or_else(|e| panic!("{cpu_request} {cpu_limit} {memory_request} {memory_limit}: {e}"));
        let auth = model.services.iter().find(|s| s.name == "auth-service").unwrap();
        let written =
            [&auth.cpu.request, &auth.cpu.limit, &auth.memory.request, &auth.memory.limit].map(|q| q.as_str());
        assert_eq!(written, [cpu_request, cpu_limit, memory_request, memory_limit]);
    }
}

#[test]
fn unpinned_tags_are_rejected() {
    let upper_sha = "3F9C2AB47D1E0C8B5A6F7E9D0C1B2A3F4E5D6C7B";
    let too_long = format!("1.0.0-{}", "a".repeat(60));
    let tags =
        ["latest", "", "1", "1.2", "stable", "01.0.0", "1.0.0-", "1.0.0@sha256:", upper_sha, "1.0.0 ", "1.0.0+build.7"];
    for tag in tags.iter().copied().chain([too_long.as_str()]) {
        assert!(ImageTag::parse(tag).is_err(), "{tag:?} must not be accepted as pinned");
    }
}

/// An environment's replica bounds are checked for every service they apply to: one message each,
/// naming the service and the environment (the names come from the catalogue).
#[test]
fn an_environments_bounds_are_checked_for_every_service() {
    type Mutation = fn(&mut Catalogue);
    let cases: [(Mutation, &str); 2] = [
        (
            |c| c.platform.environment_mut("staging").unwrap().scale.min_replicas = Some(5),
            "staging.autoscaling.maxReplicas: 4 is below minReplicas 5",
        ),
        (
            |c| c.platform.environment_mut("staging").unwrap().scale.min_available = Some(2),
            "staging.podDisruptionBudget.minAvailable: 2 is not below the HPA's minReplicas 2 (node drains would block)",
        ),
    ];
    for (mutate, message) in cases {
        let mut c = catalogue();
        mutate(&mut c);
        let got: Vec<String> = validate(&c).expect_err("refused").0.iter().map(ToString::to_string).collect();
        let want: Vec<String> = c.services.iter().map(|s| format!("{}: {message}", s.name)).collect();
        assert_eq!(got, want);
    }
}

/// docs/spec.md ("Go-live") §2: a migration Job's name is at most 63 characters (its pods carry it as a label
/// value) by construction, for the longest service names validation allows: 63 characters, one
/// cut where a `-` would end the Job's name, and two that share their first 44 characters (the
/// hash of their images keeps their Jobs apart).
#[test]
fn a_migration_jobs_name_fits_63_characters_for_the_longest_service_names() {
    let names = [
        "a".repeat(63),
        format!("{}-{}", "b".repeat(43), "c".repeat(19)),
        format!("{}-x", "d".repeat(60)),
        format!("{}-y", "d".repeat(60)),
    ];
    let mut c = catalogue();
    let port = c.services.iter().map(|s| s.port).max().unwrap();
    for (i, name) in names.iter().enumerate() {
        let def = lomash_manifests::platform::service(name, port + 1 + i as u32)
            .cpu("250m", "1000m")
            .memory("256Mi", "1Gi")
            .uses(lomash_manifests::platform::postgres());
        c.services.push(def);
        c.release.set_tag_everywhere(name, "1.0.0");
    }
    let model = validate(&c).expect("63-character service names are valid");
    for env in &model.platform.environments {
        let jobs: Vec<String> = lomash_manifests::built::BuiltEnvironment::new(&model, env)
            .objects
            .iter()
            .filter(|o| {
                o.kind() == lomash_manifests::object::kind::<lomash_manifests::k8s_openapi::api::batch::v1::Job>()
            })
            .map(|o| o.name().to_owned())
            .collect();
        assert_eq!(jobs.len(), model.services.iter().filter(|s| s.migrations().next().is_some()).count());
        for job in &jobs {
            assert!(job.len() <= 63, "{}: {job} is {} characters", env.name, job.len());
            assert_eq!(lomash_manifests::values::dns_label_problem(job), None, "{}: {job}", env.name);
        }
        let unique: std::collections::BTreeSet<&String> = jobs.iter().collect();
        assert_eq!(unique.len(), jobs.len(), "{}: two Jobs share a name: {jobs:?}", env.name);
    }
}

/// A ConfigMap may hold at most 1 MiB of keys and values (the API server's limit): one byte over
/// is refused naming the service, the environment and the size; exactly the limit renders.
#[test]
fn a_config_map_over_one_mebibyte_is_refused_with_its_size() {
    const LIMIT: usize = 1_048_576;
    let c = catalogue();
    let name = c.services[0].name.clone();
    let model = validate(&c).unwrap();
    let size = |env: &str| -> usize {
        let env = model.platform.environment(env);
        let service = model.services.iter().find(|s| s.name == name).unwrap();
        lomash_manifests::k8s::config_data(&model.platform, env, service).iter().map(|(k, v)| k.len() + v.len()).sum()
    };
    let key = "LARGE_FIXTURE";
    // The largest environment ConfigMap reaches the limit exactly with this value.
    let envs: Vec<String> = model.platform.environments.iter().map(|e| e.name.clone()).collect();
    let largest = envs.iter().map(|e| size(e)).max().unwrap();
    let at_limit = "x".repeat(LIMIT - largest - key.len());

    let mut fits = catalogue();
    config(&mut fits, &name, key, &at_limit);
    lomash_manifests::render(&fits).unwrap_or_else(|e| panic!("exactly the limit must render: {e}"));

    let mut over = catalogue();
    config(&mut over, &name, key, &format!("{at_limit}x"));
    let Err(errors) = lomash_manifests::render(&over) else { panic!("one byte over must be refused") };
    let errors = errors.messages();
    let expected: Vec<String> = envs
        .iter()
        .filter(|e| size(e) == largest)
        .map(|e| {
            format!(
                "{name}: {e}.config: the ConfigMap's data is {} bytes, over the API server's limit of {LIMIT} (1 MiB): \
                 move the large values into a mounted file or an image",
                LIMIT + 1
            )
        })
        .collect();
    assert_eq!(errors, expected);
}
