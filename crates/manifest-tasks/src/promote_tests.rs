//! `promote` on temporary roots, with a platform of two environments: the committed one plus a
//! second cloned from its first environment (own name and namespace), so the tests run whatever
//! environments the committed platform has. Each case starts from a release file whose second
//! environment leads the first in some tags, and shows what changed, or, on an error or when
//! there is nothing to promote, that not one byte under the root did.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::catalogue;
use lomash_manifests::catalogue::{RELEASE_FILE, RELEASE_PATH};
use manifest_core::layout::{self, GENERATED_DIR};
use manifest_core::validate;

use super::*;
use crate::testing::TempDir;

/// The first environment's name as the spec fixes it: production, where releases end.
const PRODUCTION: &str = "production";
/// The second environment the tests add; not one the platform has, so it never collides.
const SECOND: &str = "rehearsal";

/// The committed definitions with [`SECOND`] beside production: a copy of production's values
/// under its own name and namespace.
fn definitions() -> Catalogue {
    let mut c = catalogue();
    let mut second = c.platform.environment(PRODUCTION).expect("the platform has production").clone();
    second.name = SECOND.into();
    second.namespace = format!("lomash-wood-{SECOND}");
    c.platform.environments.push(second);
    c
}

/// The committed release file with a [`SECOND`] mapping holding production's tags, changed by
/// `edit` (a tag set, or a line left out); written through `with_tag`, line by line, as
/// set-image would.
fn release_text(edit: fn(&mut BTreeMap<&'static str, Option<&'static str>>)) -> String {
    let committed = Release::parse(RELEASE_FILE).unwrap();
    let mut changes = BTreeMap::new();
    edit(&mut changes);
    let mut text = RELEASE_FILE.to_owned();
    for (service, tag) in committed.tags_for(PRODUCTION).unwrap() {
        let tag = match changes.get(service.as_str()) {
            Some(Some(changed)) => changed,
            Some(None) => continue,
            None => tag.as_str(),
        };
        text = Release::with_tag(&text, SECOND, service, tag).unwrap();
    }
    text
}

/// `git` in `dir`, which must succeed; commits need no configured identity.
fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=promote test", "-c", "user.email=promote@test.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .expect("git must be installed for this test");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Commits the release file under `root` as it is now.
fn commit_release(root: &Path, message: &str) {
    git(root, &["add", RELEASE_PATH]);
    git(root, &["commit", "--quiet", "--allow-empty", "-m", message]);
}

/// [`root_with`], made a git checkout whose history of the release file is a real one: first
/// [`SECOND`] beside production at production's tags, then `release` (the second environment
/// moving ahead). Production's tags are then ones the second environment ran: none is a hotfix.
fn checkout_with(release: &str) -> TempDir {
    let root = root_with(release);
    let path = root.path().join(RELEASE_PATH);
    git(root.path(), &["init", "--quiet"]);
    fs::write(&path, release_text(|_| {})).unwrap();
    commit_release(root.path(), "both environments at production's tags");
    fs::write(&path, release).unwrap();
    commit_release(root.path(), "the second environment moves ahead");
    root
}

/// A root holding `release` and the tree it renders with [`definitions`]; when it does not
/// validate (the cases of a bad file), the tree of the committed tags instead. Not a git
/// checkout (see [`checkout_with`]).
fn root_with(release: &str) -> TempDir {
    let root = TempDir::new("promote");
    let path = root.path().join(RELEASE_PATH);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let valid = Catalogue { release: Release::parse(release).unwrap(), ..definitions() };
    let tree = if validate(&valid).is_ok() {
        valid
    } else {
        Catalogue { release: Release::parse(&release_text(|_| {})).unwrap(), ..definitions() }
    };
    sync::run_report(root.path(), &tree, sync::Mode::Write).unwrap();
    fs::write(&path, release).unwrap();
    root
}

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    crate::testing::snapshot(dir, sync::LOCK_FILE)
}

/// What a case must come to.
enum Expect {
    /// These services get these tags in `to`, in this order; the old tags come from the file.
    Promoted(&'static [(&'static str, &'static str)]),
    Nothing,
    /// The error, exactly; nothing under the root may change.
    Error(&'static str),
}

struct Case {
    name: &'static str,
    /// How [`SECOND`]'s tags differ from production's (`None`: no line for the service).
    second: fn(&mut BTreeMap<&'static str, Option<&'static str>>),
    from: &'static str,
    to: &'static str,
    services: &'static [&'static str],
    expect: Expect,
}

/// Tags no real release uses (a `-rehearsal` pre-release), so the committed tags can never equal
/// them: a release of any tag leaves these tests as they are.
const AHEAD_1: &str = "0.0.0-rehearsal.1";
const AHEAD_2: &str = "0.0.0-rehearsal.2";
const AHEAD_3: &str = "0.0.0-rehearsal.3";
/// A hotfix's tag, pinned in production only.
const HOTFIX: &str = "0.0.0-hotfix.1";
/// Stands, in an expectation, for production's committed tag of the service.
const PRODUCTION_TAG: &str = "{production}";

/// The committed production tag of `service`.
fn production_tag(service: &str) -> String {
    Release::parse(RELEASE_FILE).unwrap().tag(PRODUCTION, service).expect("a committed tag").to_owned()
}

/// The second environment leads production in two services.
fn two_ahead(tags: &mut BTreeMap<&'static str, Option<&'static str>>) {
    tags.insert("auth-service", Some(AHEAD_1));
    tags.insert("analytics-service", Some(AHEAD_2));
}

const CASES: &[Case] = &[
    Case {
        name: "all services: every tag that differs, in the catalogue's order",
        second: two_ahead,
        from: SECOND,
        to: PRODUCTION,
        services: &[],
        expect: Expect::Promoted(&[("auth-service", AHEAD_1), ("analytics-service", AHEAD_2)]),
    },
    Case {
        name: "some services: only the named one, though another differs too",
        second: two_ahead,
        from: SECOND,
        to: PRODUCTION,
        services: &["analytics-service"],
        expect: Expect::Promoted(&[("analytics-service", AHEAD_2)]),
    },
    Case {
        name: "named out of order and twice: each once, in the catalogue's order",
        second: two_ahead,
        from: SECOND,
        to: PRODUCTION,
        services: &["analytics-service", "auth-service", "analytics-service"],
        expect: Expect::Promoted(&[("auth-service", AHEAD_1), ("analytics-service", AHEAD_2)]),
    },
    Case {
        name: "the other way round: production's tag back into the second environment",
        second: two_ahead,
        from: PRODUCTION,
        to: SECOND,
        services: &["auth-service"],
        expect: Expect::Promoted(&[("auth-service", PRODUCTION_TAG)]),
    },
    Case {
        name: "none to promote: every tag already the same",
        second: |_| {},
        from: SECOND,
        to: PRODUCTION,
        services: &[],
        expect: Expect::Nothing,
    },
    Case {
        name: "none to promote: the named service already the same, though others differ",
        second: two_ahead,
        from: SECOND,
        to: PRODUCTION,
        services: &["content-service"],
        expect: Expect::Nothing,
    },
    Case {
        name: "unknown environment to copy from",
        second: two_ahead,
        // Not a DNS label, so no environment can take the name.
        from: "staging_2",
        to: PRODUCTION,
        services: &[],
        expect: Expect::Error("staging_2: environment: not one of the platform's (known: {envs}); nothing was changed"),
    },
    Case {
        name: "unknown environment to copy to",
        second: two_ahead,
        from: SECOND,
        to: "prod",
        services: &["auth-service"],
        expect: Expect::Error("prod: environment: not one of the platform's (known: {envs}); nothing was changed"),
    },
    Case {
        name: "unknown services, named all at once",
        second: two_ahead,
        from: SECOND,
        to: PRODUCTION,
        services: &["no-such-service", "auth-service", "auth"],
        expect: Expect::Error(
            "no-such-service, auth: service: not in the catalogue (known: {services}); nothing was changed",
        ),
    },
    Case {
        name: "the same environment twice",
        second: two_ahead,
        from: PRODUCTION,
        to: PRODUCTION,
        services: &[],
        expect: Expect::Error(
            "promote production production: the same environment twice: name the one to copy from, then another; \
             nothing was changed",
        ),
    },
    Case {
        name: "a bad tag: the one promoted fails validation in production too",
        second: |tags| {
            tags.insert("auth-service", Some("latest"));
        },
        from: SECOND,
        to: PRODUCTION,
        services: &["auth-service"],
        expect: Expect::Error(concat!(
            "2 errors in the service definitions:\n",
            "  auth-service: production.image.tag: \"latest\" is not pinned: use a version (e.g. \"1.0.0\")\n",
            "  auth-service: rehearsal.image.tag: \"latest\" is not pinned: use a version (e.g. \"1.0.0\")\n",
            "nothing was changed"
        )),
    },
    Case {
        name: "a service without a tag to copy",
        second: |tags| {
            tags.insert("content-service", None);
        },
        from: SECOND,
        to: PRODUCTION,
        services: &["content-service", "auth-service"],
        expect: Expect::Error(
            "content-service: no rehearsal tag in images.yaml to promote: pin one with \
             `cargo xtask set-image --env rehearsal`; nothing was changed",
        ),
    },
];

#[test]
fn promote_cases() {
    let defs = definitions();
    let envs: Vec<&str> = defs.platform.environments.iter().map(|e| e.name.as_str()).collect();
    let services: Vec<&str> = defs.services.iter().map(|s| s.name.as_str()).collect();
    for case in CASES {
        let before_text = release_text(case.second);
        let root = checkout_with(&before_text);
        let before = snapshot(root.path());
        let result = promote(root.path(), &defs, case.from, case.to, case.services);
        let name = case.name;
        match (&case.expect, result) {
            (Expect::Error(expected), Err(e)) => {
                let expected = expected.replace("{envs}", &envs.join(", ")).replace("{services}", &services.join(", "));
                assert_eq!(e.to_string(), expected, "{name}");
                assert!(snapshot(root.path()) == before, "{name}: a failed promote changed files");
            }
            (Expect::Nothing, Ok(Outcome::NothingToPromote { held })) => {
                assert_eq!(held, [], "{name}: no hotfix in this history");
                assert!(snapshot(root.path()) == before, "{name}: nothing to promote, yet files changed");
            }
            (Expect::Promoted(expected), Ok(Outcome::Promoted { changes, held, report })) => {
                assert_eq!(held, [], "{name}: no hotfix in this history");
                let old = Release::parse(&before_text).unwrap();
                let wanted: Vec<TagChange> = expected
                    .iter()
                    .map(|(service, tag)| TagChange {
                        service: (*service).to_owned(),
                        before: old.tag(case.to, service).map(str::to_owned),
                        after: if *tag == PRODUCTION_TAG { production_tag(service) } else { (*tag).to_owned() },
                    })
                    .collect();
                assert_eq!(changes, wanted, "{name}");
                promoted_as_expected(root.path(), &before_text, case, &changes, &report);
            }
            (_, got) => panic!("{name}: unexpected outcome {got:?}"),
        }
    }
}

/// After a promote: the file differs from before in exactly the promoted lines of `to`'s
/// mapping, the release it now holds is the old one with those tags, the report names files of
/// `to`'s overlay only, and `check` passes on the root.
fn promoted_as_expected(root: &Path, before: &str, case: &Case, changes: &[TagChange], report: &str) {
    let name = case.name;
    let after = fs::read_to_string(root.join(RELEASE_PATH)).unwrap();
    let mut expected = Release::parse(before).unwrap();
    for c in changes {
        expected.set_tag(case.to, &c.service, &c.after);
    }
    assert_eq!(Release::parse(&after).unwrap(), expected, "{name}");
    let differing: Vec<(&str, &str)> = before.lines().zip(after.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(before.lines().count(), after.lines().count(), "{name}: lines added or removed");
    assert_eq!(differing.len(), changes.len(), "{name}: {differing:?}");
    for (c, (_, line)) in changes.iter().zip(&differing) {
        assert_eq!(line.trim(), format!("{}: {:?}", c.service, c.after), "{name}");
    }

    let overlay = format!("{GENERATED_DIR}/{}/", layout::overlay_dir(case.to));
    let written: Vec<&str> = report.lines().filter(|l| !l.starts_with("Up-to-date")).collect();
    assert!(!written.is_empty(), "{name}: the tree did not change:\n{report}");
    for line in written {
        assert!(line.starts_with("Updated: ") && line.contains(&overlay), "{name}: {line} outside {overlay}");
    }
    let now = Catalogue { release: Release::parse(&after).unwrap(), ..definitions() };
    let check = sync::run_report(root, &now, sync::Mode::Check).unwrap();
    assert!(check.ok, "{name}: check fails after the promote:\n{}", check.text);
}

/// The printed line of a change, as the spec writes it.
#[test]
fn a_change_prints_as_the_spec_shows_it() {
    let change = TagChange { service: "auth-service".into(), before: Some("1.0.0".into()), after: "1.2.3".into() };
    assert_eq!(change.to_string(), "auth-service: 1.0.0 → 1.2.3");
    let new = TagChange { before: None, ..change };
    assert_eq!(new.to_string(), "auth-service: (none) → 1.2.3");
    assert_eq!(
        nothing_to_promote(SECOND, PRODUCTION),
        "nothing to promote: production already runs rehearsal's tags; nothing was changed"
    );
}

/// A release moving end to end: set-image in the second environment, then promote it to
/// production; the tag reaches production's overlay and `check` passes.
#[test]
fn set_image_then_promote_moves_a_tag_end_to_end() {
    let root = checkout_with(&release_text(|_| {}));
    let defs = definitions();
    let committed = production_tag("auth-service");
    let previous = crate::release::set_image(root.path(), &defs, SECOND, "auth-service", AHEAD_3).unwrap();
    assert_eq!(previous, committed);
    let after_set = fs::read_to_string(root.path().join(RELEASE_PATH)).unwrap();
    let release = Release::parse(&after_set).unwrap();
    assert_eq!(
        (release.tag(SECOND, "auth-service"), release.tag(PRODUCTION, "auth-service")),
        (Some(AHEAD_3), Some(committed.as_str()))
    );

    let outcome = promote(root.path(), &defs, SECOND, PRODUCTION, &[]).unwrap();
    let Outcome::Promoted { changes, .. } = outcome else { panic!("{outcome:?}") };
    assert_eq!(
        changes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [format!("auth-service: {committed} → {AHEAD_3}")]
    );
    let kustomization =
        fs::read_to_string(root.path().join(GENERATED_DIR).join(layout::kustomization(PRODUCTION))).unwrap();
    assert!(kustomization.contains(&format!("newTag: {AHEAD_3}")), "{kustomization}");

    let now = Catalogue {
        release: Release::parse(&fs::read_to_string(root.path().join(RELEASE_PATH)).unwrap()).unwrap(),
        ..defs
    };
    assert!(sync::run_report(root.path(), &now, sync::Mode::Check).unwrap().ok);
    // And again: the tags are the same now.
    assert_eq!(
        promote(root.path(), &now, SECOND, PRODUCTION, &[]).unwrap(),
        Outcome::NothingToPromote { held: vec![] }
    );
}

/// promote takes the write lock before it reads images.yaml, like set-image: queued behind a
/// held lock, it writes nothing until the lock is free, then runs.
#[test]
fn promote_waits_for_the_lock() {
    let root = root_with(&release_text(two_ahead));
    let before = snapshot(root.path());
    let lock = sync::WriteLock::acquire(root.path()).unwrap();
    let path = root.path().to_path_buf();
    let run = std::thread::spawn(move || promote(&path, &definitions(), SECOND, PRODUCTION, &["auth-service"]));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(snapshot(root.path()) == before, "promote wrote while another writer held the lock");
    drop(lock);
    assert!(matches!(run.join().unwrap().unwrap(), Outcome::Promoted { .. }));
}

/// A hotfix pinned straight into production, a tag the second environment never ran, survives a
/// promote of every service: it is left as it is and named, while the other services move. Named,
/// the service moves like any other.
#[test]
fn a_hotfix_survives_a_promote_of_every_service() {
    let root = checkout_with(&release_text(two_ahead));
    let defs = definitions();
    let hotfixed = "content-service";
    crate::release::set_image(root.path(), &defs, PRODUCTION, hotfixed, HOTFIX).unwrap();
    commit_release(root.path(), "hotfix");

    let outcome = promote(root.path(), &defs, SECOND, PRODUCTION, &[]).unwrap();
    let Outcome::Promoted { changes, held, .. } = outcome else { panic!("{outcome:?}") };
    let moved: Vec<&str> = changes.iter().map(|c| c.service.as_str()).collect();
    assert_eq!(moved, ["auth-service", "analytics-service"], "the others move");
    assert_eq!(held, [Hotfix { service: hotfixed.into(), tag: HOTFIX.into() }]);
    assert_eq!(
        held_lines(&held, SECOND, PRODUCTION),
        format!(
            "{hotfixed}: {HOTFIX} kept: a hotfix ({SECOND} never ran {HOTFIX}); \
             `cargo xtask promote {SECOND} {PRODUCTION} {hotfixed}` moves it\n"
        )
    );
    let release = Release::parse(&fs::read_to_string(root.path().join(RELEASE_PATH)).unwrap()).unwrap();
    assert_eq!(release.tag(PRODUCTION, hotfixed), Some(HOTFIX), "the hotfix is still what production runs");

    // Again: only the hotfix differs, and it stays.
    let now = Catalogue { release, ..definitions() };
    let held = vec![Hotfix { service: hotfixed.into(), tag: HOTFIX.into() }];
    assert_eq!(promote(root.path(), &now, SECOND, PRODUCTION, &[]).unwrap(), Outcome::NothingToPromote { held });

    // Named, it moves.
    let outcome = promote(root.path(), &now, SECOND, PRODUCTION, &[hotfixed]).unwrap();
    let Outcome::Promoted { changes, held, .. } = outcome else { panic!("{outcome:?}") };
    assert_eq!(
        changes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [format!("{hotfixed}: {HOTFIX} → {}", production_tag(hotfixed))]
    );
    assert_eq!(held, []);
}

/// Outside a git checkout the history cannot tell a hotfix: promote without service names
/// refuses, saying why, and changes nothing; with names it runs.
#[test]
fn outside_a_checkout_promote_of_every_service_refuses() {
    let root = root_with(&release_text(two_ahead));
    let before = snapshot(root.path());
    let error = promote(root.path(), &definitions(), SECOND, PRODUCTION, &[]).expect_err("must refuse").to_string();
    let expected = format!(
        "promote {SECOND} {PRODUCTION}: which of {PRODUCTION}'s tags are hotfixes is read from the committed history \
         of images.yaml, and {} is not a git checkout",
        root.path().display()
    );
    assert!(error.starts_with(&expected), "{error}");
    assert!(error.ends_with("name the services to promote; nothing was changed"), "{error}");
    assert!(snapshot(root.path()) == before, "a refused promote changed files");
    let named = promote(root.path(), &definitions(), SECOND, PRODUCTION, &["auth-service"]).unwrap();
    assert!(matches!(named, Outcome::Promoted { .. }), "{named:?}");
}
