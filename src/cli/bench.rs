//! `snop bench`: measurements side by side with a peer, each phase in its own child process so
//! its time and peak memory are its own. Figures, not assertions: see the README.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use clap::Subcommand;
use polars::prelude::*;
use rand::{Rng, SeedableRng};

use crate::config::Workspace;
use crate::contract::Month;
use crate::ingest::{self, Window};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Ingest and validation of an order-line extract, beside polars reading the same file bare.
    Ingest {
        /// Order lines to generate.
        #[arg(long, default_value_t = 5_000_000)]
        rows: usize,
        /// Where to write the generated workspace (reused when it already has the rows).
        #[arg(long, default_value = "target/bench-ingest")]
        dir: PathBuf,
        /// Threads for polars in both phases (1 for the single-threaded figures).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Runs of each phase; the median is reported.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
    },
    /// The statistical forecast on a long CSV of monthly series (`unique_id,ds,y`, as written by
    /// `bench/make_series.py`): hold out the last months, forecast them, score WMAPE and MASE.
    /// `bench/forecast_compare.py` runs statsforecast on the same file.
    Forecast {
        /// The long CSV.
        series: PathBuf,
        /// Months held out at the end of every series.
        #[arg(long, default_value_t = 6)]
        holdout: usize,
        /// Threads (1 for the single-threaded figures; 0 for all cores).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Also write the forecasts of the held-out months to this CSV, in the layout of the
        /// input (`unique_id,ds,y`), for scoring with another tool.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The whole supply review at 1/divisor of a large manufacturer (50,000 SKUs, a 5-level
    /// BOM, 2,000 resources, 18 months), in a child process per size for time and peak memory.
    Supply {
        /// Sizes to run, as divisors of the full scale.
        #[arg(long, value_delimiter = ',', default_value = "100,10,1")]
        divisors: Vec<usize>,
        /// Seeded medium companies the greedy plan and the least-cost plan are compared on.
        #[arg(long, default_value_t = 8)]
        seeds: u64,
    },
    /// Narrative drafting against the in-process mock LLM with a latency, at two concurrency limits.
    Narrative {
        #[arg(long, default_value_t = 200)]
        sections: usize,
        #[arg(long, default_value_t = 200)]
        latency_ms: u64,
        #[arg(long, value_delimiter = ',', default_value = "1,16")]
        concurrency: Vec<usize>,
    },
    /// `snop serve` under load on loopback: concurrent reviewers browsing the cycle board and
    /// every draft's page in a workspace (e.g. `snop demo`'s), each request timed.
    Web {
        /// The workspace to serve (its drafts are the pages browsed).
        #[arg(long, default_value = "snop-demo")]
        dir: PathBuf,
        #[arg(long, default_value_t = 50)]
        reviewers: usize,
        #[arg(long, default_value_t = 5_000)]
        requests: usize,
        /// Slow connections held open all the while (a request's headers never finished, each
        /// reopened when the server cuts it off), from loopback addresses 127.0.0.2 and on.
        #[arg(long, default_value_t = 0)]
        slow_clients: usize,
    },
    /// The whole cycle on the demo company generated at a size: the generator and every agent
    /// in order, each in its own child process (its wall time and peak memory), the demo's people
    /// deciding and signing by script in between, as `snop demo` does.
    Cycle {
        #[arg(long, default_value_t = 50_000)]
        skus: usize,
        #[arg(long, default_value_t = 1_000)]
        customers: usize,
        /// Months of order history.
        #[arg(long, default_value_t = 36)]
        months: u32,
        /// Where to generate the workspace (replaced when it is a snop workspace already).
        #[arg(long, default_value = "target/bench-cycle")]
        dir: PathBuf,
        /// Threads for polars and rayon in every step (1 for the single-threaded figures).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Stop after this agent's step (`demand-review` measures the demand review alone).
        #[arg(long)]
        until: Option<String>,
        /// Then the demo's what-if scenarios (`snop scenario run`: the base, a Saturday shift,
        /// a supplier lost for a quarter, a promotion), each in its own measured process, with
        /// the re-plan's own seconds (`plan_seconds`); needs the demand review.
        #[arg(long)]
        scenarios: bool,
    },
    /// One measured phase (used by `snop bench ingest` in a child process).
    #[command(hide = true)]
    Phase { phase: String, dir: PathBuf },
    /// Runs `snop ARGS...` in this process and writes its wall time and this process's peak
    /// memory as JSON to `--to` (used by `snop bench cycle`, one process per step).
    #[command(hide = true)]
    Measure {
        #[arg(long)]
        to: PathBuf,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// One step measured in its own child process by `snop bench measure`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Measured {
    seconds: f64,
    peak_rss_bytes: u64,
    error: Option<String>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct PhaseResult {
    seconds: f64,
    peak_rss_bytes: u64,
    rows: usize,
    /// Size of the resulting typed frame(s) in memory.
    frame_bytes: usize,
}

const CYCLE: &str = "2026-12";

pub async fn run(cmd: BenchCommand, progress: &crate::Progress) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ingest { rows, dir, threads, repeat } => ingest_bench(rows, &dir, threads, repeat, progress),
        BenchCommand::Forecast { series, holdout, threads, out } => {
            forecast_bench(&series, holdout, threads, out.as_deref())
        }
        BenchCommand::Web { dir, reviewers, requests, slow_clients } => {
            let ws = Workspace::load(&dir)?;
            print_web(&crate::web::load::measure(&ws, reviewers, requests, slow_clients).await?);
            Ok(())
        }
        BenchCommand::Supply { divisors, seeds } => {
            let exe = std::env::current_exe()?;
            println!("supply review at scale (release build recommended): one child process per size");
            println!(
                "{:>8} {:>8} {:>10} {:>10} {:>10} {:>8} {:>11} {:>11} {:>12}",
                "divisor", "SKUs", "resources", "BOM rows", "demand", "gaps", "generate s", "analysis s", "peak RSS MB"
            );
            for d in &divisors {
                let out = std::process::Command::new(&exe)
                    .args(["bench", "phase", &format!("supply-{d}"), "."])
                    .output()
                    .context("running the supply phase")?;
                anyhow::ensure!(out.status.success(), "size 1/{d} failed: {}", String::from_utf8_lossy(&out.stderr));
                let r: serde_json::Value = serde_json::from_slice(&out.stdout)?;
                println!(
                    "{:>8} {:>8} {:>10} {:>10} {:>10} {:>8} {:>11.2} {:>11.2} {:>12.0}",
                    d,
                    r["skus"],
                    r["resources"],
                    r["bom_rows"],
                    r["demand_rows"],
                    r["gaps"],
                    r["generate_seconds"].as_f64().unwrap_or(0.0),
                    r["analysis_seconds"].as_f64().unwrap_or(0.0),
                    r["peak_rss_bytes"].as_f64().unwrap_or(0.0) / 1e6
                );
            }
            optimiser_tables(&exe, &divisors, seeds)
        }
        BenchCommand::Narrative { sections, latency_ms, concurrency } => {
            println!("{sections} sections drafted against the mock LLM with {latency_ms} ms latency");
            for c in concurrency {
                let took = crate::narrative::bench_sections(sections, c, latency_ms).await?;
                println!("  concurrency {c:>3}: {:.2} s wall", took.as_secs_f64());
            }
            Ok(())
        }
        BenchCommand::Cycle { skus, customers, months, dir, threads, until, scenarios } => {
            let until = match until.as_deref().map(|n| (n, crate::sop::Agent::from_name(n))) {
                None => None,
                Some((_, Some(agent))) => Some(agent),
                Some((name, None)) => {
                    return Err(crate::UserError(format!(
                        "`--until {name}`: not an agent; one of {}",
                        crate::sop::Agent::ALL.map(|a| a.name()).join(", ")
                    ))
                    .into());
                }
            };
            let size = crate::demo::Spec { skus, customers, months, ..Default::default() };
            cycle_bench(&size, &dir, threads, until, scenarios).await
        }
        BenchCommand::Measure { to, args } => {
            // The command runs in this process, parsed and run as `snop ARGS` would be, so this
            // process's peak memory is the step's.
            let cli = <super::Cli as clap::Parser>::try_parse_from(
                std::iter::once("snop".to_string()).chain(args.iter().cloned()),
            )?;
            let started = Instant::now();
            let outcome = Box::pin(super::run(cli)).await;
            let m = Measured {
                seconds: started.elapsed().as_secs_f64(),
                peak_rss_bytes: peak_rss(),
                error: outcome.as_ref().err().map(|e| format!("{e:#}")),
            };
            fs_err::write(&to, serde_json::to_string(&m)?)?;
            outcome
        }
        BenchCommand::Phase { phase, dir } if phase.starts_with("lp-") => {
            // `lp-least-N`: the least-cost stage alone (the whole solve is too long at scale);
            // `lp-cut-N-K`: the least-cost stage cut by default, uncut, and cut approximately
            // into pieces of K finished goods.
            let (full, divisor, compare) = if let Some(rest) = phase.strip_prefix("lp-cut-") {
                let (d, k) = rest.split_once('-').context("`lp-cut-DIVISOR-PIECE_ITEMS`")?;
                (false, d.parse::<usize>()?, Some(k.parse::<usize>()?))
            } else {
                match phase.strip_prefix("lp-least-") {
                    Some(d) => (false, d.parse::<usize>()?, None),
                    None => (true, phase.trim_start_matches("lp-").parse::<usize>()?, None),
                }
            };
            let _ = dir;
            let b = crate::demo::lp_bench_compare(divisor, full, compare)?;
            let mut v = serde_json::to_value(&b)?;
            v["peak_rss_bytes"] = serde_json::json!(peak_rss());
            println!("{v}");
            Ok(())
        }
        BenchCommand::Phase { phase, dir } if phase.starts_with("supply-") => {
            let divisor: usize = phase.trim_start_matches("supply-").parse()?;
            let _ = dir;
            let b = crate::demo::supply_bench(divisor)?;
            let mut v = serde_json::to_value(&b)?;
            v["peak_rss_bytes"] = serde_json::json!(peak_rss());
            println!("{v}");
            Ok(())
        }
        BenchCommand::Phase { phase, dir } => {
            let started = Instant::now();
            let (rows, frame_bytes) = match phase.as_str() {
                "bare" => {
                    let df = CsvReadOptions::default()
                        .with_has_header(true)
                        .try_into_reader_with_file_path(Some(dir.join("data/erp/sales_lines.csv")))?
                        .finish()?;
                    (df.height(), df.estimated_size())
                }
                "validate" => {
                    // The bench workspace has the demand review's files only.
                    let ws = Workspace::load_for(&dir, crate::sop::Agent::DemandReview)?;
                    let pipeline = ws.pipeline(crate::sop::Agent::DemandReview)?;
                    let window = Window {
                        cycle: Month::parse(CYCLE).expect("month"),
                        history_months: 36,
                        plan_months: crate::contract::PLAN_MONTHS,
                    };
                    let got = ingest::ingest(&dir, pipeline, window, &crate::Progress::hidden()).await?;
                    let sales = got.table(crate::contract::Table::SalesHistory).context("no sales")?;
                    (
                        sales.height()
                            + got.sources.iter().find(|s| s.table == "sales_history").map_or(0, |s| s.rows_quarantined),
                        sales.estimated_size(),
                    )
                }
                other => anyhow::bail!("unknown phase `{other}`"),
            };
            let result =
                PhaseResult { seconds: started.elapsed().as_secs_f64(), peak_rss_bytes: peak_rss(), rows, frame_bytes };
            println!("{}", serde_json::to_string(&result)?);
            Ok(())
        }
    }
}

/// Runs `snop ARGS` in a child process (`snop bench measure`, which runs the command in-process
/// and reads its own peak memory), with polars and rayon held to `threads`. Returns the
/// measurement and the command's stdout.
fn measured(args: &[String], threads: usize) -> anyhow::Result<(Measured, String)> {
    let to = tempfile_path()?;
    let out = std::process::Command::new(std::env::current_exe()?)
        .args(["bench", "measure", "--to"])
        .arg(&to)
        .arg("--")
        .args(args)
        .env("POLARS_MAX_THREADS", threads.to_string())
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .context("running `snop bench measure`")?;
    let m: Option<Measured> = fs_err::read(&to).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let _ = fs_err::remove_file(&to);
    let why = m.as_ref().and_then(|m| m.error.clone()).unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).into());
    let m =
        m.filter(|_| out.status.success()).ok_or_else(|| anyhow::anyhow!("`snop {}` failed: {why}", args.join(" ")))?;
    Ok((m, String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// A fresh file name in the temporary folder for one measurement.
fn tempfile_path() -> anyhow::Result<PathBuf> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(std::env::temp_dir().join(format!("snop-bench-{}-{n}.json", std::process::id())))
}

/// `snop bench cycle`: generates the demo company at `size` in `dir` and runs the cycle on it,
/// one measured child process per step; prints a row per step.
async fn cycle_bench(
    size: &crate::demo::Spec,
    dir: &Path,
    threads: usize,
    until: Option<crate::sop::Agent>,
    scenarios: bool,
) -> anyhow::Result<()> {
    use crate::pipeline;
    use crate::sop::Agent;
    if dir.exists() && fs_err::read_dir(dir)?.next().is_some() {
        if !dir.join(crate::config::WORKSPACE_FILE).exists() {
            return Err(crate::UserError(format!(
                "`{}` is not empty and not a snop workspace: refusing to replace it; name another `--dir`",
                dir.display()
            ))
            .into());
        }
        fs_err::remove_dir_all(dir)?;
    }
    crate::demo::init(dir, crate::demo::DEMO_COMPANY)?;
    let w = dir.to_string_lossy().into_owned();
    let cycle = size.cycle;
    let s = |v: &[&str]| v.iter().map(|a| (*a).to_string()).collect::<Vec<_>>();
    let (generate, generated) = measured(
        &s(&[
            "generate",
            &w,
            "--skus",
            &size.skus.to_string(),
            "--customers",
            &size.customers.to_string(),
            "--months",
            &size.months.to_string(),
            "--cycle",
            &cycle.to_string(),
            "--seed",
            &size.seed.to_string(),
        ]),
        threads,
    )?;
    let ws = Workspace::load(dir)?;
    let store = pipeline::open_store(&ws).await?;
    let people = ws.directory();
    let series = LazyCsvReader::new(PlRefPath::from(dir.join("data/erp/sales_lines.csv").to_string_lossy().as_ref()))
        .with_separator(b';')
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .finish()?
        .select([col("MATNR"), col("KUNNR")])
        .unique(None, UniqueKeepStrategy::Any)
        .collect()?
        .height();
    println!(
        "the whole cycle {cycle}: {} SKUs x {} customers, {} months of history, {series} series; {threads} thread(s); every step in its own process",
        size.skus, size.customers, size.months
    );
    println!(
        "{:<15} {:>9} {:>12} {:>10} {:>12} {:>10}  then, by script",
        "step", "seconds", "peak RSS MB", "rows read", "quarantined", "folder MB"
    );
    let row = |step: &str, m: &Measured, rows: &str, quarantined: &str, folder: &str, then: &str| {
        println!(
            "{step:<15} {:>9.2} {:>12.0} {rows:>10} {quarantined:>12} {folder:>10}  {then}",
            m.seconds,
            m.peak_rss_bytes as f64 / 1e6
        );
    };
    row(
        "generate",
        &generate,
        "-",
        "-",
        &format!("{:.0}", folder_bytes(&dir.join("data")) as f64 / 1e6),
        generated.trim(),
    );
    let mut total = generate.seconds;
    let mut skipped = Vec::new();
    for agent in Agent::ALL {
        if !ws.pipelines.contains_key(&agent) {
            skipped.push(agent.name());
            continue;
        }
        let mut then = Vec::new();
        if agent == Agent::Executive {
            let (coo, n, _) = crate::demo::people::decide_by_script(&ws, &store, cycle).await?;
            then.push(format!("{} decided {n} decisions first", people.name(&coo)));
        }
        let (m, stdout) =
            measured(&s(&["-q", "-w", &w, "run", agent.name(), "--cycle", &cycle.to_string(), "--json"]), threads)?;
        total += m.seconds;
        let report: serde_json::Value = serde_json::from_str(&stdout).context("reading the run's JSON report")?;
        let run = store.runs(Some(agent.name()), Some(&cycle.to_string())).await?.into_iter().next();
        let folder =
            run.as_ref().map_or("-".to_string(), |r| format!("{:.0}", folder_bytes(&dir.join(&r.folder)) as f64 / 1e6));
        if let Some(draft) = match run {
            Some(r) => store.draft_of_run(r.id).await?,
            None => None,
        } {
            let signed = crate::demo::people::sign_by_script(&store, &people, &ws, draft).await?;
            then.push(format!("{} approval(s) and signature(s)", signed.len()));
        }
        row(
            agent.name(),
            &m,
            &report["rows_read"].to_string(),
            &report["rows_quarantined"].to_string(),
            &folder,
            &then.join("; "),
        );
        if until == Some(agent) {
            break;
        }
    }
    if scenarios {
        total += scenario_rows(dir, &store, cycle, threads, &row).await?;
    }
    println!("{:<15} {total:>9.2}", "total");
    if !skipped.is_empty() {
        println!("not run (no pipeline in the demo workspace): {}", skipped.join(", "));
    }
    Ok(())
}

/// Prints a step's row: its name, measurement, rows read, quarantined, folder MB and what
/// followed.
type Row<'a> = dyn Fn(&str, &Measured, &str, &str, &str, &str) + 'a;

/// The demo's what-if scenarios written and run (`snop scenario run`), the base first, each in
/// its own measured process; a row each (`scenario:NAME`), its re-plan's own seconds after it.
/// Returns the seconds in all.
async fn scenario_rows(
    dir: &Path,
    store: &crate::store::Store,
    cycle: Month,
    threads: usize,
    row: &Row<'_>,
) -> anyhow::Result<f64> {
    let w = dir.to_string_lossy().into_owned();
    let names = crate::demo::write_scenarios(dir, cycle)?;
    let mut total = 0.0;
    for name in std::iter::once(crate::scenario::BASE.to_string()).chain(names) {
        let args: Vec<String> =
            ["-q", "-w", &w, "scenario", "run", &name, "--cycle", &cycle.to_string()].map(String::from).to_vec();
        let (m, _) = measured(&args, threads)?;
        total += m.seconds;
        let agent = crate::pipeline::scenario::agent_name(&name);
        let run = store.runs(Some(&agent), Some(&cycle.to_string())).await?.into_iter().next();
        let report: Option<serde_json::Value> = match &run {
            Some(r) => store.run_file(r, "report.json")?.and_then(|b| serde_json::from_slice(&b).ok()),
            None => None,
        };
        let plan = report.and_then(|r| {
            let n = |k: &str| r["pieces"][k].as_u64().unwrap_or(0);
            let p = r["plan_seconds"].as_f64()?;
            Some(format!(
                "re-planned in {p:.2} s; pieces: {} from disk, {} solved",
                n("from_disk") + n("from_memory"),
                n("solved")
            ))
        });
        let plan = plan.unwrap_or_else(|| "-".into());
        let folder =
            run.as_ref().map_or("-".to_string(), |r| format!("{:.0}", folder_bytes(&dir.join(&r.folder)) as f64 / 1e6));
        row(&format!("scenario:{name}"), &m, "-", "-", &folder, &plan);
    }
    Ok(total)
}

/// The bytes of the files under `dir`, all the way down (0 when it cannot be read).
fn folder_bytes(dir: &Path) -> u64 {
    let Ok(entries) = fs_err::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => folder_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// Peak resident memory of this process (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = fs_err::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// What `snop bench web` measured.
fn print_web(r: &crate::web::load::LoadReport) {
    println!(
        "snop serve on loopback: {} reviewers, {} requests over {} pages, {} failed",
        r.reviewers, r.requests, r.pages, r.failed
    );
    println!(
        "  {:.0} requests/s; latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        r.per_second, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms
    );
    if r.slow_clients > 0 {
        println!(
            "  meanwhile {} slow connections held open; the server cut off {} of them (header read timeout)",
            r.slow_clients, r.slow_cut_off
        );
    }
}

fn ingest_bench(
    rows: usize,
    dir: &Path,
    threads: usize,
    repeat: usize,
    progress: &crate::Progress,
) -> anyhow::Result<()> {
    let marker = dir.join(format!(".rows-{rows}"));
    if !marker.exists() {
        let bar = progress.spinner(format!("generating {rows} order lines"));
        write_bench_workspace(dir, rows)?;
        fs_err::write(&marker, "")?;
        bar.finish_and_clear();
    }
    let file = dir.join("data/erp/sales_lines.csv");
    let file_bytes = fs_err::metadata(&file)?.len();
    let exe = std::env::current_exe()?;
    let mut results: Vec<(String, PhaseResult)> = Vec::new();
    for phase in ["bare", "validate"] {
        let mut runs = Vec::new();
        for _ in 0..repeat.max(1) {
            let out = std::process::Command::new(&exe)
                .args(["bench", "phase", phase])
                .arg(dir)
                .env("POLARS_MAX_THREADS", threads.to_string())
                .env("RAYON_NUM_THREADS", threads.to_string())
                .output()
                .with_context(|| format!("running the `{phase}` phase"))?;
            anyhow::ensure!(out.status.success(), "phase `{phase}` failed: {}", String::from_utf8_lossy(&out.stderr));
            runs.push(serde_json::from_slice::<PhaseResult>(&out.stdout)?);
        }
        runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        results.push((phase.to_string(), runs.swap_remove(runs.len() / 2)));
    }
    let bare = &results[0].1;
    let val = &results[1].1;
    println!(
        "ingest benchmark: {rows} order lines, {:.0} MB of CSV, {threads} thread(s), median of {repeat}",
        file_bytes as f64 / 1e6
    );
    println!("{:<34} {:>9} {:>14} {:>13} {:>12}", "phase", "seconds", "rows/second", "peak RSS MB", "frame MB");
    for (name, r) in &results {
        let label = if name == "bare" { "polars read_csv, no validation" } else { "snop ingest + validation" };
        println!(
            "{:<34} {:>9.2} {:>14.0} {:>13.0} {:>12.0}",
            label,
            r.seconds,
            r.rows as f64 / r.seconds,
            r.peak_rss_bytes as f64 / 1e6,
            r.frame_bytes as f64 / 1e6
        );
    }
    println!("rows read: polars {}, snop {} (kept and quarantined)", bare.rows, val.rows);
    println!("time ratio (snop / polars bare): {:.2}x", val.seconds / bare.seconds);
    println!(
        "peak memory / typed data in memory: snop {:.2}x, polars bare {:.2}x",
        val.peak_rss_bytes as f64 / bare.frame_bytes as f64,
        bare.peak_rss_bytes as f64 / bare.frame_bytes as f64
    );
    Ok(())
}

/// A workspace whose demand-review pipeline reads masters and one big order-line extract.
fn write_bench_workspace(dir: &Path, rows: usize) -> anyhow::Result<()> {
    let skus = 5_000usize;
    let customers = 2_000usize;
    if !dir.join(crate::config::WORKSPACE_FILE).exists() {
        crate::demo::init(dir, "Bench Co")?;
    }
    fs_err::create_dir_all(dir.join("data/erp"))?;
    // Only the demand review's sources are generated.
    let _ = fs_err::remove_file(dir.join("pipelines/supply-review.toml"));
    fs_err::write(
        dir.join("pipelines/demand-review.toml"),
        r#"agent = "demand-review"
[quarantine]
max_percent = 1.0
[[sources]]
table = "items"
type = "csv"
path = "data/items.csv"
[[sources]]
table = "customers"
type = "csv"
path = "data/customers.csv"
[[sources]]
table = "sales_history"
type = "csv"
path = "data/erp/sales_lines.csv"
"#,
    )?;
    let mut items = String::from("sku,family,uom,unit_price,unit_cost,make_site,lifecycle,end_month\n");
    for i in 0..skus {
        items.push_str(&format!(
            "P-{i:06},fam-{},ea,{}.50,{}.10,SITE-{},active,\n",
            i % 40,
            10 + i % 300,
            5 + i % 150,
            i % 3
        ));
    }
    fs_err::write(dir.join("data/items.csv"), items)?;
    let mut cust = String::from("customer,channel,region,account_manager,priority\n");
    for i in 0..customers {
        cust.push_str(&format!("C{i:06},distributor,EMEA,am.{},{}\n", i % 20, 1 + i % 3));
    }
    fs_err::write(dir.join("data/customers.csv"), cust)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut w = std::io::BufWriter::with_capacity(1 << 20, fs_err::File::create(dir.join("data/erp/sales_lines.csv"))?);
    writeln!(w, "order_id,order_date,ship_date,sku,customer,qty,net_revenue")?;
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
    for i in 0..rows {
        let date = start + chrono::Days::new(rng.random_range(0..1060));
        let ship = date + chrono::Days::new(rng.random_range(1..10));
        // One line in a thousand is bad: an unknown SKU or a negative quantity.
        let bad = rng.random_range(0..1000) == 0;
        let sku =
            if bad && i % 2 == 0 { "P-999999".to_string() } else { format!("P-{:06}", rng.random_range(0..skus)) };
        let qty: i64 = if bad && i % 2 == 1 { -rng.random_range(1..20) } else { rng.random_range(1..200) };
        writeln!(
            w,
            "SO{:09},{},{},{sku},C{:06},{qty},{:.2}",
            i / 3,
            date.format("%Y-%m-%d"),
            ship.format("%Y-%m-%d"),
            rng.random_range(0..customers),
            qty.max(0) as f64 * 17.25
        )?;
    }
    w.flush()?;
    Ok(())
}

/// Reads a long CSV of monthly series and scores the automatic forecast on held-out months.
/// One series of the long CSV: its id, its months (`ds` as written) and its values.
struct LongSeries {
    id: String,
    ds: Vec<String>,
    y: Vec<f64>,
}

/// The long CSV (`unique_id,ds,y`), one series per id, each sorted by `ds`.
fn read_long(path: &Path) -> anyhow::Result<Vec<LongSeries>> {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))?
        .finish()?
        .lazy()
        .select([
            col("unique_id").cast(DataType::String),
            col("ds").cast(DataType::String),
            col("y").cast(DataType::Float64),
        ])
        .sort(["unique_id", "ds"], SortMultipleOptions::default())
        .collect()?;
    let ids = df.column("unique_id")?.str()?.clone();
    let ds = df.column("ds")?.str()?.clone();
    let ys = df.column("y")?.f64()?.clone();
    let mut series: Vec<LongSeries> = Vec::new();
    for ((id, d), y) in ids.iter().zip(ds.iter()).zip(ys.iter()) {
        let id = id.unwrap_or_default();
        if series.last().is_none_or(|s| s.id != id) {
            series.push(LongSeries { id: id.to_string(), ds: Vec::new(), y: Vec::new() });
        }
        let s = series.last_mut().expect("a series");
        s.ds.push(d.unwrap_or_default().to_string());
        s.y.push(y.unwrap_or(0.0));
    }
    Ok(series)
}

fn forecast_bench(path: &Path, holdout: usize, threads: usize, out: Option<&Path>) -> anyhow::Result<()> {
    use crate::analysis::forecast;
    let long = read_long(path)?;
    let series: Vec<Vec<f64>> = long.iter().map(|s| s.y.clone()).collect();
    let cfg = forecast::Config::default();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let started = Instant::now();
    let fcs = pool.install(|| forecast::holdout_forecasts(&series, holdout, &cfg));
    let seconds = started.elapsed().as_secs_f64();
    let eval = forecast::score(&series, holdout, &fcs);
    println!(
        "snop forecast: {} series ({} evaluated), holdout {holdout}, {} thread(s): {seconds:.2} s, sMAPE {:.2}, WMAPE {:.4}, MASE {:.4}",
        eval.series,
        eval.evaluated,
        if threads == 0 { "all".to_string() } else { threads.to_string() },
        eval.smape.unwrap_or(f64::NAN),
        eval.wmape.unwrap_or(f64::NAN),
        eval.mase.unwrap_or(f64::NAN)
    );
    if let Some(out) = out {
        let mut w = std::io::BufWriter::new(fs_err::File::create(out)?);
        writeln!(w, "unique_id,ds,y")?;
        for (s, fc) in long.iter().zip(&fcs) {
            let Some(fc) = fc else { continue };
            for (d, v) in s.ds[s.ds.len() - holdout..].iter().zip(&fc.point) {
                writeln!(w, "{},{d},{v}", s.id)?;
            }
        }
        w.flush()?;
    }
    println!("{}", serde_json::json!({ "tool": "snop", "seconds": seconds, "evaluation": eval }));
    Ok(())
}

/// `snop bench supply`'s optimiser part: the LP at each size in a child process, then the
/// greedy plan against the least-cost plan on seeded medium companies.
fn optimiser_tables(exe: &std::path::Path, divisors: &[usize], seeds: u64) -> anyhow::Result<()> {
    println!("supply optimiser (one LP, HiGHS on one thread) at the same sizes: one child process per size");
    println!(
        "{:>8} {:>8} {:>11} {:>10} {:>10} {:>9} {:>9} {:>14} {:>12} {:>12} {:>13} {:>14}",
        "divisor",
        "items",
        "components",
        "resources",
        "demand",
        "build s",
        "solve s",
        "cost",
        "unmet units",
        "peak RSS MB",
        "least-cost s",
        "least cost"
    );
    for d in divisors {
        let out = std::process::Command::new(exe)
            .args(["bench", "phase", &format!("lp-{d}"), "."])
            .output()
            .context("running the optimiser phase")?;
        if !out.status.success() {
            println!("{d:>8} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
            continue;
        }
        let r: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        println!(
            "{:>8} {:>8} {:>11} {:>10} {:>10} {:>9.2} {:>9.2} {:>14.0} {:>12.0} {:>12.0} {:>13.2} {:>14.0}",
            d,
            r["items"],
            r["components"],
            r["resources"],
            r["demand_lines"],
            r["build_seconds"].as_f64().unwrap_or(0.0),
            r["solve_seconds"].as_f64().unwrap_or(0.0),
            r["cost_money"].as_f64().unwrap_or(0.0),
            r["unmet_units"].as_f64().unwrap_or(0.0),
            r["peak_rss_bytes"].as_f64().unwrap_or(0.0) / 1e6,
            r["least_cost_seconds"].as_f64().unwrap_or(0.0),
            r["least_cost_money"].as_f64().unwrap_or(0.0)
        );
    }
    println!("greedy against least cost on seeded medium companies (1/1000: 50 SKUs, 20 resources; cost_first)");
    println!(
        "{:>6} {:>14} {:>12} {:>14} {:>8} {:>12} {:>12}",
        "seed", "greedy cost", "LP cost", "LP spend", "ratio", "greedy unmet", "LP unmet"
    );
    for seed in 1..=seeds {
        let r = crate::demo::greedy_vs_lp(1000, seed)?;
        let ratio = if r.lp_cost_money > 0.0 { r.greedy_cost_money / r.lp_cost_money } else { 1.0 };
        println!(
            "{:>6} {:>14.0} {:>12.0} {:>14.0} {:>8.3} {:>12.0} {:>12.0}",
            seed, r.greedy_cost_money, r.lp_cost_money, r.lp_spend_money, ratio, r.greedy_unmet_units, r.lp_unmet_units
        );
    }
    Ok(())
}
