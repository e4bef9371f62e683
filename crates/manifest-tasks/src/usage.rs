//! The command line's help, as data: one entry a command (its arguments and what it does), from
//! which both the whole usage (`cargo xtask help`) and one command's (`cargo xtask help <command>`,
//! `<command> --help`, and the usage a mistake in its arguments prints) are written, so the two
//! never disagree.
//!
//! The parsing stays hand-rolled (see `main`): the tasks take a handful of positional words and
//! one option that may stand anywhere, and an argument-parsing crate would add to the build that
//! runs before every task.

/// One command: its name, its arguments as the usage writes them, and what it does (lines joined
/// by `\n`, each printed indented).
pub struct Help {
    pub name: &'static str,
    pub arguments: &'static str,
    pub about: &'static str,
}

pub const COMMANDS: [Help; 13] = [
    Help {
        name: "generate",
        arguments: "",
        about: "render the service definitions and write generated/, every environment (only changed files)",
    },
    Help {
        name: "check",
        arguments: "",
        about: "exit 1, with a diff, when generated/ is not exactly what the definitions render (every environment)",
    },
    Help {
        name: "diff",
        arguments: "[--env ENV]",
        about: "show what `generate` would change, as a unified diff, without writing; exit 1 if it would\n\
                change anything, 0 if not. With --env: only the base and that environment's overlay",
    },
    Help {
        name: "lint",
        arguments: "[--env ENV]",
        about: "check an environment's objects against the Pod Security Standards and the spec; exit 1 on a violation",
    },
    Help {
        name: "capacity",
        arguments: "[--env ENV]",
        about: "print the nodes, CPU and memory an environment's services need at their replica bounds,\n\
                against its declared node pool",
    },
    Help {
        name: "render",
        arguments: "[--env ENV] [--out FILE]",
        about: "print an environment's manifests computed from the definitions (no kustomize run)",
    },
    Help {
        name: "set-image",
        arguments: "[--env ENV] <service> <tag>",
        about: "pin a service's image tag in an environment in images.yaml and regenerate generated/;\n\
                a tag is a semantic version or a full git SHA, optionally with @sha256:<64 hex>",
    },
    Help {
        name: "promote",
        arguments: "<from> <to> [<service>...]",
        about: "copy the tags of the named services (all when none is named) from one environment to\n\
                another in images.yaml and regenerate generated/; exit 0 with \"nothing to promote\"\n\
                when the tags are already the same. With no service named, a hotfix (a tag of <to>\n\
                that <from> never ran, by the git history of images.yaml) is kept and named",
    },
    Help {
        name: "new-service",
        arguments: "<name> --port <n> [--postgres] [--redis] [--summary <text>]",
        about: "add a service: write its spec sheet, list it in services/mod.rs, pin its tag in\n\
                images.yaml, then build it and regenerate generated/ (all or nothing)",
    },
    Help {
        name: "new-environment",
        arguments: "<name> --from <environment>",
        about: "add an environment: write its module (the source environment under the new name's\n\
                namespaces, node label, hosts and CORS origin), list it in environments/mod.rs, copy\n\
                the source's tags in images.yaml, then build it and regenerate generated/ (all or nothing)",
    },
    Help {
        name: "plan",
        arguments: "[--base REF] [--env ENV] [--format text|markdown|json] [--exit-code]",
        about: "what the work tree's generated/ changes against REF's (default: the merge-base with\n\
                main), per environment, rendered with kubectl kustomize: objects field by field, the\n\
                Deployments that roll and why, capacity, network paths, lint findings; every\n\
                environment unless --env; exit 0 (with --exit-code: 1 when anything changes)",
    },
    Help {
        name: "bench",
        arguments: "[--build | --render]",
        about: "time rendering, generate/check beside kubectl kustomize, peak memory\n\
                (add --build for the build cost: minutes; --render times the in-process\n\
                render alone, phase by phase); figures in BENCHMARKS.md",
    },
    Help { name: "help", arguments: "[<command>]", about: "print this help, or one command's" },
];

const ENV_NOTE: &str = "--env ENV (or --env=ENV) may stand anywhere on the line; without it, ENV is production.\n";

/// The usage of every command.
pub fn all() -> String {
    let mut out = String::from("Usage: cargo xtask <command> [--env ENV]\n\nCommands:\n");
    for help in &COMMANDS {
        let head = format!("{} {}", help.name, help.arguments);
        let mut about = help.about.lines();
        // A short head and a one-line text share a line; anything longer starts below.
        if head.trim_end().len() < 11 && help.about.lines().count() == 1 {
            out.push_str(&format!("  {:<11}{}\n", help.name, about.next().unwrap_or_default()));
        } else {
            out.push_str(&format!("  {}\n", head.trim_end()));
        }
        for line in about {
            out.push_str(&format!("             {line}\n"));
        }
    }
    out.push('\n');
    out.push_str(ENV_NOTE);
    out
}

/// The usage of the command `name`, or `None` for a command there is not.
pub fn of(name: &str) -> Option<String> {
    let help = COMMANDS.iter().find(|h| h.name == name)?;
    let mut out = format!("Usage: cargo xtask {} {}\n\n", help.name, help.arguments).replace(" \n", "\n");
    for line in help.about.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    if help.arguments.contains("--env") {
        out.push('\n');
        out.push_str(ENV_NOTE);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command's usage names it and its arguments, and the whole usage lists every command.
    #[test]
    fn each_command_has_its_usage_in_the_whole() {
        let whole = all();
        for help in &COMMANDS {
            let one = of(help.name).unwrap();
            assert!(one.starts_with(&format!("Usage: cargo xtask {}", help.name)), "{one}");
            assert!(one.contains(help.arguments), "{one}");
            assert!(whole.lines().any(|l| l.trim_start().starts_with(help.name)), "{} not in the usage", help.name);
        }
        assert_eq!(of("frobnicate"), None);
    }
}
