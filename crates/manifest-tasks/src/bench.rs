//! `cargo xtask bench [--build]`: how fast rendering is, how its cost grows with the number of
//! services, what `generate` and `check` cost end to end beside `kubectl kustomize`, the peak
//! memory of `generate`, and (with `--build`, since it takes minutes) the build cost.
//!
//! Every figure is the median of repeated runs timed with [`Instant`]; no harness crate is needed
//! for figures in milliseconds and above, and xtask is built before every task, so it stays lean.
//! Benchmarks are never tests: nothing here asserts a time, and a missed target is reported, not
//! an error. The tests below check that the synthetic catalogue is a valid catalogue and that
//! cargo's timings are read, so CI compiles and exercises the bench.
//!
//! The end-to-end part runs the binary that is running now (`std::env::current_exe`), so
//! `cargo xtask bench` measures the debug build and `cargo run --release -p xtask -- bench` the
//! release build; the header says which.

use std::fs;
use std::path::Path;
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::catalogue;
use anyhow::{bail, Context, Result};
use manifest_core::layout::{self, GENERATED_DIR};
use manifest_core::spec::Uses;
use manifest_core::{render, Catalogue};

use crate::sync;

/// The service whose generated files the "one service changed" run edits, and whose definition
/// the rebuild run touches.
/// The environment whose overlay kubectl renders beside ours.
const BENCH_ENV: &str = "production";
const CHANGED_SERVICE: &str = "auth-service";
const CHANGED_SERVICE_FILE: &str = "crates/lomash-manifests/src/services/auth_service.rs";

/// Runs the benchmarks and prints every figure beside its target. `flags` is empty or `--build`.
pub fn run(root: &Path, flags: &[&str]) -> Result<ExitCode> {
    let (with_build, end_to_end_too) = match flags {
        [] => (false, true),
        ["--build"] => (true, true),
        ["--render"] => (false, false),
        _ => {
            eprintln!(
                "error: unknown bench arguments {:?}: the flags are --build (also the build cost) or --render (the in-process render alone)",
                flags.join(" ")
            );
            return Ok(ExitCode::from(2));
        }
    };
    let mut report = Report::default();
    println!(
        "lomash-manifests benchmarks: {} build of xtask, medians of repeated runs",
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    // End to end first: a child's max RSS as the kernel reports it counts the memory of the
    // process that spawned it (the parent's peak at the spawn), so the bench must still be small.
    if end_to_end_too {
        end_to_end(root, &mut report)?;
    }
    in_process(&mut report)?;
    if with_build {
        build_cost(root, &mut report)?;
    }
    report.summary();
    Ok(ExitCode::SUCCESS)
}

/// Rendering in memory: the catalogue's services, then synthetic catalogues of 90 and 900.
fn in_process(report: &mut Report) -> Result<()> {
    println!("\n## In process: render(&catalogue()), every file as a string");
    let real = catalogue().services.len();
    // 500 runs, not 50: this machine's speed changes by half for seconds at a time, and the
    // fastest tenth says what the code costs when nothing else runs.
    let times = times_of(500, || {
        render(&catalogue()).expect("the catalogue is valid");
    });
    let whole = median(times.clone());
    report.row(&format!("render the {real} services (with catalogue())"), ms(whole), "≤ 2 ms", Some(whole <= ms_(2.0)));
    let quiet = times[times.len() / 10];
    report.row("  the fastest tenth of those runs (a quiet machine)", ms(quiet), "≤ 2 ms", Some(quiet <= ms_(2.0)));
    phases(report);
    // Each environment's share: the same catalogue with one environment alone.
    for env in catalogue().platform.environments.iter().map(|e| e.name.clone()) {
        let mut one = catalogue();
        one.platform.environments.retain(|e| e.name == env);
        one.release.environments.retain(|name, _| *name == env);
        let time = median_of(50, || {
            render(&one).expect("the catalogue is valid with one environment");
        });
        report.row(&format!("  of which: the base and {env} alone"), ms(time), "", None);
    }

    let mut per_service = Vec::new();
    for (n, runs) in [(real, 50), (90, 15), (900, 9)] {
        let synthetic = synthetic_catalogue(n);
        let files = render(&synthetic).map_err(|e| anyhow::anyhow!("the synthetic catalogue of {n}: {e}"))?;
        let time = median_of(runs, || {
            render(&synthetic).expect("checked above");
        });
        let each = time / n as u32;
        per_service.push(each);
        let target = if n == 900 { Some(time <= ms_(500.0)) } else { None };
        report.row(
            &format!("render {n} services ({} files)", files.len()),
            format!("{} ({} a service)", ms(time), us(each)),
            if n == 900 { "≤ 500 ms" } else { "" },
            target,
        );
    }
    let ratio = per_service[2].as_secs_f64() / per_service[0].as_secs_f64();
    report.row(
        &format!("per-service cost, 900 ÷ {real}"),
        format!("{ratio:.2}×"),
        "≈ 1 (linear), ≤ 1.5",
        Some(ratio <= 1.5),
    );
    Ok(())
}

/// Where the render's time goes, phase by phase, on the catalogue's services: the catalogue value
/// itself, validation (with the size limits), building the objects once, and writing the files
/// (patches, YAML, the overlay README).
fn phases(report: &mut Report) {
    use manifest_core::built::Built;
    use manifest_core::tree::render_built;
    let catalogue_time = median_of(50, || {
        std::hint::black_box(catalogue());
    });
    report.row("  of which: catalogue()", ms(catalogue_time), "", None);
    let value = catalogue();
    let validate_time = median_of(50, || {
        std::hint::black_box(manifest_core::validate(&value).expect("the catalogue is valid"));
    });
    report.row("  of which: validate", ms(validate_time), "", None);
    let model = manifest_core::validate(&value).expect("the catalogue is valid");
    let build_time = median_of(50, || {
        let built = Built::new(&model);
        manifest_core::limits::check(&built).expect("within the limits");
        std::hint::black_box(built);
    });
    report.row("  of which: build the objects once (and check their sizes)", ms(build_time), "", None);
    let built = Built::new(&model);
    let write_time = median_of(50, || {
        std::hint::black_box(render_built(&built));
    });
    report.row("  of which: write every file (patches, YAML, README)", ms(write_time), "", None);
}

/// The binary, run as a user runs it, beside `kubectl kustomize` of the overlay it writes.
fn end_to_end(root: &Path, report: &mut Report) -> Result<()> {
    let exe = std::env::current_exe().context("finding the xtask binary")?;
    println!("\n## End to end: {} (run directly, not through cargo)", exe.display());
    let status = quiet(Command::new(&exe).arg("check")).status().context("running xtask check")?;
    if !status.success() {
        bail!("generated/ is not up to date: run `cargo xtask generate` before benchmarking (the bench edits it)");
    }
    let generated = root.join(GENERATED_DIR);
    let overlay = generated.join(layout::overlay_dir(BENCH_ENV));
    let changed_files = [
        layout::base_file(CHANGED_SERVICE),
        layout::patch_file(BENCH_ENV, CHANGED_SERVICE),
        layout::resource_file(BENCH_ENV, CHANGED_SERVICE),
    ];

    // One round runs each command once, so a burst of load from elsewhere hits all of them alike.
    let (mut warm, mut changed, mut check, mut kustomize) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut generate_rss, mut kustomize_rss) = (0, 0);
    let rounds = 10;
    for _ in 0..rounds {
        let run = spawn_measured(Command::new(&exe).arg("generate"))?;
        generate_rss = generate_rss.max(run.max_rss_kib.unwrap_or(0));
        warm.push(run.wall);

        // A service changed: its three generated files differ from what it renders now. These
        // edits write to generated/, so they take the writers' lock (released before the run).
        {
            let _lock = sync::WriteLock::acquire(root)?;
            for path in &changed_files {
                let path = generated.join(path);
                let old = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                fs::write(&path, format!("{old}# edited by cargo xtask bench\n"))?;
            }
        }
        let run = spawn_measured(Command::new(&exe).arg("generate"))?;
        generate_rss = generate_rss.max(run.max_rss_kib.unwrap_or(0));
        changed.push(run.wall);

        check.push(spawn_measured(Command::new(&exe).arg("check"))?.wall);

        match spawn_measured(Command::new("kubectl").arg("kustomize").arg(&overlay)) {
            Ok(run) => {
                kustomize_rss = kustomize_rss.max(run.max_rss_kib.unwrap_or(0));
                kustomize.push(run.wall);
            }
            Err(e) => println!("kubectl kustomize not measured: {e:#}"),
        }
    }
    let warm = median(warm);
    report.row("generate, nothing changed", ms(warm), "", None);
    report.row("generate, one service changed (3 files)", ms(median(changed)), "", None);
    report.row("check, up to date", ms(median(check)), "", None);
    if kustomize.is_empty() {
        report.row("kubectl kustomize overlays/production", "not measured".into(), "", None);
    } else {
        let kustomize = median(kustomize);
        let n = catalogue().services.len();
        report.row(&format!("kubectl kustomize overlays/production ({n})"), ms(kustomize), "", None);
        let ratio = warm.as_secs_f64() / kustomize.as_secs_f64();
        report.row("warm generate ÷ kustomize", format!("{ratio:.3}×"), "≤ 0.4×", Some(ratio <= 0.4));
    }
    match (generate_rss, own_peak_kib()) {
        (0, _) => report.row("peak memory (max RSS) of generate", "not measured on this OS".into(), "≤ 30 MiB", None),
        (kib, Some(own)) if kib <= own => report.row(
            "peak memory (max RSS) of generate",
            format!("≤ {} (the bench's own peak)", mib(kib)),
            "≤ 30 MiB",
            Some(kib <= 30 * 1024),
        ),
        (kib, _) => report.row("peak memory (max RSS) of generate", mib(kib), "≤ 30 MiB", Some(kib <= 30 * 1024)),
    }
    if kustomize_rss > 0 {
        report.row("peak memory (max RSS) of kubectl kustomize", mib(kustomize_rss), "", None);
    }
    kustomize_synthetic(report)
}

/// `kubectl kustomize` of a synthetic 90-service tree, written to a temporary folder: the figure
/// the issue compares against (Kustomize's cost grows faster than linearly).
fn kustomize_synthetic(report: &mut Report) -> Result<()> {
    let n = 90;
    let dir = std::env::temp_dir().join(format!("lomash-bench-{}", std::process::id()));
    let files = render(&synthetic_catalogue(n)).map_err(|e| anyhow::anyhow!("the synthetic catalogue: {e}"))?;
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let overlay = {
        let lock = sync::WriteLock::acquire(&dir)?;
        sync::write_report(&lock, &files, &[])?;
        lock.generated().join(layout::overlay_dir(BENCH_ENV))
    };
    let mut times = Vec::new();
    for _ in 0..3 {
        match spawn_measured(Command::new("kubectl").arg("kustomize").arg(&overlay)) {
            Ok(run) => times.push(run.wall),
            Err(e) => {
                println!("kubectl kustomize (90) not measured: {e:#}");
                break;
            }
        }
    }
    fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    if !times.is_empty() {
        report.row(&format!("kubectl kustomize overlays/production ({n})"), ms(median(times)), "", None);
    }
    Ok(())
}

/// A clean debug build of the workspace in its own target folder (the main one is untouched),
/// then rebuilds after touching one service definition.
fn build_cost(root: &Path, report: &mut Report) -> Result<()> {
    let target = std::env::temp_dir().join("lomash-bench-target");
    println!("\n## Build cost (CARGO_TARGET_DIR={}; takes minutes)", target.display());
    if target.exists() {
        fs::remove_dir_all(&target).with_context(|| format!("removing {}", target.display()))?;
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let build = |timings: bool| -> Result<Duration> {
        let mut command = Command::new(&cargo);
        command.current_dir(root).env("CARGO_TARGET_DIR", &target).args(["build", "--workspace"]);
        if timings {
            command.arg("--timings");
        }
        let start = Instant::now();
        let output = command.stdout(Stdio::null()).output().context("running cargo build")?;
        let wall = start.elapsed();
        if !output.status.success() {
            bail!("cargo build failed:\n{}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(wall)
    };

    let clean = build(true)?;
    // 53 s was the clean build before the machinery moved to the core crate: it must not grow.
    report.row(
        "clean debug build of the workspace (1 run)",
        secs(clean),
        "≤ 53 s",
        Some(clean <= Duration::from_secs(53)),
    );
    let timings = fs::read_to_string(target.join("cargo-timings/cargo-timing.html")).unwrap_or_default();
    for crate_name in ["k8s-openapi", "manifest-core", "lomash-manifests"] {
        let value = match unit_seconds(&timings, crate_name) {
            Some(t) => format!("{t:.1} s ({:.0} %)", 100.0 * t / clean.as_secs_f64()),
            None => "not found in cargo's timings".into(),
        };
        report.row(&format!("  of which {crate_name} (lib, cargo --timings)"), value, "", None);
    }

    let service = root.join(CHANGED_SERVICE_FILE);
    let mut rebuilds = Vec::new();
    for _ in 0..3 {
        touch(&service)?;
        rebuilds.push(build(false)?);
    }
    let rebuild = median(rebuilds);
    report.row(
        "rebuild after touching services/auth_service.rs",
        secs(rebuild),
        "≤ 10 s",
        Some(rebuild <= Duration::from_secs(10)),
    );

    // The edit loop as a developer runs it: touch a spec sheet, then `cargo xtask generate`
    // (rebuild, relink, render, compare; the tree is already up to date, so nothing is written).
    let mut loops = Vec::new();
    for _ in 0..5 {
        touch(&service)?;
        let start = Instant::now();
        let output = Command::new(&cargo)
            .current_dir(root)
            .env("CARGO_TARGET_DIR", &target)
            .args(["run", "--quiet", "--package", "xtask", "--", "generate"])
            .output()
            .context("running cargo xtask generate")?;
        if !output.status.success() {
            bail!("cargo xtask generate failed:\n{}", String::from_utf8_lossy(&output.stderr));
        }
        loops.push(start.elapsed());
    }
    let edit_loop = median(loops);
    report.row(
        "edit loop: touch services/auth_service.rs, cargo xtask generate (median of 5)",
        secs(edit_loop),
        "≤ 1.0 s",
        Some(edit_loop <= Duration::from_secs(1)),
    );
    Ok(())
}

/// A new modification time: what an edit does to cargo's fingerprint.
fn touch(path: &Path) -> Result<()> {
    fs::File::options()
        .append(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()))
        .with_context(|| format!("touching {}", path.display()))
}

/// The compile time of a crate's library, from the unit data cargo writes into its timings
/// report: objects like `{"name": "k8s-openapi", "target": "", …, "duration": 92.6, …}` (the
/// build script's unit has `"target": " build-script"`).
fn unit_seconds(timings: &str, crate_name: &str) -> Option<f64> {
    let compact: String = timings.chars().filter(|c| !c.is_whitespace()).collect();
    compact.split('{').find_map(|unit| {
        let unit = unit.split('}').next()?;
        if !unit.contains(&format!("\"name\":\"{crate_name}\"")) || !unit.contains("\"target\":\"\"") {
            return None;
        }
        let duration = unit.split("\"duration\":").nth(1)?;
        duration.split(',').next()?.parse().ok()
    })
}

/// The first `n` services of the catalogue, repeated under new names: copy `k` (from 1) of
/// `auth-service` is `auth-service-k`, on a port of its own above every original's (so moving a
/// port in a spec sheet can never make two copies collide), with its own image and the original's
/// release tags. Only the original gateway routes to every service; its copies do not (a hundred
/// gateways each routing to all would make the catalogue itself grow with n²).
pub fn synthetic_catalogue(n: usize) -> Catalogue {
    let nine = catalogue();
    let mut synthetic = Catalogue { services: Vec::with_capacity(n), ..nine.clone() };
    for tags in synthetic.release.environments.values_mut() {
        tags.clear();
    }
    let first_free_port = nine.services.iter().map(|s| s.port).max().unwrap_or(0) + 1;
    for k in 0..n.div_ceil(nine.services.len()) {
        for original in &nine.services {
            if synthetic.services.len() == n {
                break;
            }
            let mut copy = original.clone();
            if k > 0 {
                copy.name = format!("{}-{k}", original.name);
                copy.port = first_free_port + synthetic.services.len() as u32;
                copy.image = format!("{}-{k}", original.image);
                copy.uses.retain(|edge| *edge != Uses::AllServices);
                // One public entry point: the Ingress routes to it alone.
                copy.public = None;
            }
            for (env, tags) in &nine.release.environments {
                let tag = tags.get(&original.name).cloned().unwrap_or_default();
                synthetic.release.set_tag(env, &copy.name, &tag);
            }
            synthetic.services.push(copy);
        }
    }
    synthetic
}

/// One finished child: its wall time and, where the OS reports it, its peak resident memory.
struct Measured {
    wall: Duration,
    max_rss_kib: Option<u64>,
}

/// Runs `command` with its output discarded; an exit other than success is an error.
fn spawn_measured(command: &mut Command) -> Result<Measured> {
    let shown = format!("{command:?}");
    let start = Instant::now();
    let child = quiet(command).spawn().with_context(|| format!("starting {shown}"))?;
    let (status, max_rss_kib) = wait_with_rusage(child).with_context(|| format!("waiting for {shown}"))?;
    let wall = start.elapsed();
    if !status.success() {
        bail!("{shown} exited with {status}");
    }
    Ok(Measured { wall, max_rss_kib })
}

fn quiet(command: &mut Command) -> &mut Command {
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null())
}

/// Waits with `wait4`, which returns the child's resource usage (std's `wait` drops it): no
/// dependency needed for one system call. `ru_maxrss` is in KiB on Linux.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn wait_with_rusage(child: std::process::Child) -> std::io::Result<(ExitStatus, Option<u64>)> {
    use std::os::unix::process::ExitStatusExt;

    /// `struct rusage` on 64-bit Linux: two `timeval`s (two `long`s each), then 14 `long`s.
    #[repr(C)]
    struct Rusage {
        utime: [i64; 2],
        stime: [i64; 2],
        maxrss: i64,
        rest: [i64; 13],
    }
    extern "C" {
        fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
    }
    let pid = i32::try_from(child.id()).expect("Linux pids fit in i32");
    let mut status = 0;
    let mut usage = Rusage { utime: [0; 2], stime: [0; 2], maxrss: 0, rest: [0; 13] };
    loop {
        // SAFETY: `status` and `usage` are live, writable and laid out as the C ABI expects; the
        // child is ours and not yet reaped (std's `Child` is dropped without waiting).
        let reaped = unsafe { wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            return Ok((ExitStatus::from_raw(status), u64::try_from(usage.maxrss).ok()));
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn wait_with_rusage(mut child: std::process::Child) -> std::io::Result<(ExitStatus, Option<u64>)> {
    Ok((child.wait()?, None))
}

/// This process's peak resident memory (`VmHWM`), in KiB. A child's `ru_maxrss` is at least
/// this, since the kernel records the spawning process's memory when the child calls exec: when
/// they are equal, the child's figure is only an upper bound.
fn own_peak_kib() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `f` once to warm up, then `runs` times; the median.
fn median_of(runs: usize, f: impl FnMut()) -> Duration {
    median(times_of(runs, f))
}

/// The times of `runs` runs of `f` (after one run to warm up), fastest first.
fn times_of(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms_(milliseconds: f64) -> Duration {
    Duration::from_secs_f64(milliseconds / 1000.0)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The figures, printed as they come and again together at the end with pass/miss marks.
#[derive(Default)]
struct Report {
    rows: Vec<(String, String, String, Option<bool>)>,
}

impl Report {
    fn row(&mut self, what: &str, value: String, target: &str, pass: Option<bool>) {
        println!("{what:<48} {value}");
        self.rows.push((what.to_owned(), value, target.to_owned(), pass));
    }

    fn summary(&self) {
        println!("\n## Summary\n{:<48} {:<34} {:<20} mark", "figure", "median", "target");
        for (what, value, target, pass) in &self.rows {
            let mark = match pass {
                Some(true) => "pass",
                Some(false) => "MISS",
                None => "",
            };
            println!("{what:<48} {value:<34} {target:<20} {mark}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use manifest_core::validate;

    /// The synthetic catalogue of n services is a valid catalogue of exactly n distinct services,
    /// each with its own port and tag, and it renders the tree of n services.
    #[test]
    fn synthetic_catalogue_is_valid_with_n_services() {
        for n in [1, 9, 10, 90, 900] {
            let synthetic = synthetic_catalogue(n);
            let model = validate(&synthetic).unwrap_or_else(|e| panic!("{n} services: {e}"));
            assert_eq!(model.services.len(), n, "{n} services");
            for (env, tags) in &synthetic.release.environments {
                assert_eq!(tags.len(), n, "{env}: one tag a service, none more, at {n}");
            }
            let ports: std::collections::BTreeSet<u16> = model.services.iter().map(|s| s.port).collect();
            assert_eq!(ports.len(), n, "distinct ports at {n}");
        }
        let real = catalogue();
        let copy = &synthetic_catalogue(90).services[real.services.len() + 1];
        let above = real.services.iter().map(|s| s.port).max().unwrap();
        assert_eq!(copy.name, format!("{}-1", real.services[1].name));
        assert!(copy.port > above, "copies take ports above every original's");
        // One base file a service, and two overlay files a service per environment (its patches
        // and its resources); the rest of the tree (kustomizations, READMEs, environment-wide
        // files) does not grow with the services.
        let per_service = 1 + 2 * real.platform.environments.len();
        let fixed = render(&real).expect("valid").len() - real.services.len() * per_service;
        assert_eq!(
            render(&synthetic_catalogue(90)).expect("valid").len(),
            fixed + 90 * per_service,
            "files of 90 services: {fixed} that do not grow with the services, {per_service} a service"
        );
    }

    /// The library unit is read, not the build script's, whitespace as cargo writes it or not.
    #[test]
    fn unit_seconds_reads_the_library_unit_of_cargo_timings() {
        let timings = r#"const UNIT_DATA = [
  {"i": 11, "name": "k8s-openapi", "target": " build-script", "start": 14.47, "duration": 2.81},
  {"i": 12,
    "name": "k8s-openapi",
    "target": "",
    "start": 20.0,
    "duration": 92.6,
    "unblocked_units": [13]}
];"#;
        assert_eq!(unit_seconds(timings, "k8s-openapi"), Some(92.6));
        assert_eq!(unit_seconds(timings, "lomash-manifests"), None);
    }

    /// With n = the catalogue's size the synthetic catalogue is the catalogue itself, so the
    /// scaling figures start from the real services.
    #[test]
    fn as_many_synthetic_services_as_the_catalogue_are_the_catalogue() {
        let real = catalogue();
        let synthetic = synthetic_catalogue(real.services.len());
        assert_eq!(synthetic.services, real.services);
        assert_eq!(synthetic.release, real.release);
    }
}
