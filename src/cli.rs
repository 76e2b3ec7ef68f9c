//! The command line: parses arguments, calls down into the library, prints results. Data goes
//! to stdout, logs and progress to stderr.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::config::{Agent, Workspace};
use crate::contract::Month;
use crate::pipeline::{self, RunOutcome};
use crate::{Progress, UserError, demo};

mod cycle;
mod signoff;

#[derive(Debug, Parser)]
#[command(
    name = "snop",
    version,
    about = "Prepares the data and drafts of a monthly S&OP cycle, so planners spend the cycle on decisions"
)]
pub struct Cli {
    /// The workspace folder (holds snop.toml, pipelines/, data/ and the store).
    #[arg(long, short = 'w', global = true, env = "SNOP_WORKSPACE", default_value = ".")]
    pub workspace: PathBuf,
    /// No progress bars.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// More log output on stderr (-v: debug, -vv: trace). `RUST_LOG` overrides it.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a workspace: snop.toml and the agents' pipelines.
    Init {
        /// The folder to create it in.
        dir: PathBuf,
        /// The company's name.
        #[arg(long, default_value = "My Company")]
        company: String,
    },
    /// Generate the demo manufacturer's workspace and run the cycle on it, end to end.
    Demo {
        /// The folder to create the demo workspace in.
        #[arg(default_value = "snop-demo")]
        dir: PathBuf,
        #[command(flatten)]
        size: DemoSize,
        /// Replace the folder if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Write the demo manufacturer's data files (no workspace, no runs): for fixtures and benchmarks.
    Generate {
        /// The folder to write `data/` into.
        dir: PathBuf,
        #[command(flatten)]
        size: DemoSize,
    },
    /// Check snop.toml and every pipeline, and report every problem at once (the calendar over
    /// the next 12 cycles and the months of its holidays).
    Validate {
        /// The time to take as now (RFC 3339), instead of the clock.
        #[arg(long)]
        now: Option<String>,
    },
    /// Run an agent for a cycle.
    Run {
        /// demand-review, supply-review, reconciliation, executive or commit-back.
        agent: String,
        /// The cycle month, `YYYY-MM`.
        #[arg(long)]
        cycle: Month,
        /// Print the run report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// List recorded runs, newest first.
    Runs {
        #[arg(long)]
        agent: Option<String>,
        #[arg(long)]
        cycle: Option<Month>,
        #[arg(long)]
        json: bool,
    },
    /// Serve the built-in mock LLM on loopback (the OpenAI chat-completions wire format), for
    /// demos and tests; deterministic, with switchable faults.
    MockLlm {
        #[arg(long, default_value_t = 11435)]
        port: u16,
        /// Delay before every reply.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// A fault to inject.
        #[arg(long, value_enum)]
        fault: Option<crate::narrative::mock::MockFault>,
        /// Inject the fault only on the first N requests (default: always).
        #[arg(long)]
        fault_first: Option<u64>,
        /// `Retry-After` seconds sent with the rate-limit fault.
        #[arg(long, default_value_t = 1)]
        retry_after_secs: u64,
    },
    /// Review, edit, comment on, approve, reject and sign drafts.
    Drafts {
        #[command(subcommand)]
        what: signoff::DraftsCommand,
    },
    /// For each of a cycle's five artifacts: whether it exists, its state, who signed it and when.
    Status {
        /// The cycle month, `YYYY-MM`.
        #[arg(long)]
        cycle: Month,
        #[arg(long)]
        json: bool,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        what: signoff::AuditCommand,
    },
    /// The cycle calendar: the next cycles' meeting dates; `--ics` writes them as a calendar file
    /// (one event per meeting) that Outlook and Google Calendar import.
    Calendar {
        /// How many cycles.
        #[arg(long, default_value_t = 12)]
        months: u32,
        /// The first cycle (default: the current one).
        #[arg(long)]
        from: Option<Month>,
        #[arg(long)]
        ics: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        /// The time to take as now (RFC 3339), instead of the clock.
        #[arg(long)]
        now: Option<String>,
    },
    /// Run what is due tonight by the calendar, one run at a time per workspace, catching up a
    /// missed night, and send the notifications. Exit codes: 0 done, 1 configuration, 2 runtime,
    /// 3 an agent failed (the others ran), 75 another run holds the lock.
    Nightly {
        /// The time to take as now (RFC 3339), instead of the clock.
        #[arg(long)]
        now: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Run `snop nightly` from systemd, cron, or a foreground loop.
    Schedule {
        #[command(subcommand)]
        what: cycle::ScheduleCommand,
    },
    /// Cadence drift over cycles: each meeting early or late against the calendar, the cycle's
    /// length against 14 days, a moved executive meeting.
    Cadence {
        /// How many of the latest cycles.
        #[arg(long, default_value_t = 12)]
        cycles: u32,
        #[arg(long)]
        json: bool,
        /// The time to take as now (RFC 3339), instead of the clock.
        #[arg(long)]
        now: Option<String>,
    },
    /// Measure snop against its peers (see the README's Benchmarks section).
    Bench {
        #[command(subcommand)]
        what: crate::bench::BenchCommand,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct DemoSize {
    /// Number of SKUs.
    #[arg(long, default_value_t = 300)]
    pub skus: usize,
    /// Number of customers.
    #[arg(long, default_value_t = 100)]
    pub customers: usize,
    /// Months of order history.
    #[arg(long, default_value_t = 36)]
    pub months: u32,
    /// The cycle the data leads up to.
    #[arg(long, default_value = "2026-12")]
    pub cycle: Month,
    /// The generator's seed: the same seed gives the same files.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

impl DemoSize {
    pub fn spec(&self) -> demo::Spec {
        demo::Spec {
            skus: self.skus,
            customers: self.customers,
            months: self.months,
            cycle: self.cycle,
            seed: self.seed,
        }
    }
}

fn agent_of(name: &str) -> anyhow::Result<Agent> {
    Agent::from_name(name).ok_or_else(|| {
        UserError(format!("unknown agent `{name}`: agents are {}", Agent::ALL.map(Agent::name).join(", "))).into()
    })
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let progress = Progress::new(cli.quiet);
    match cli.command {
        Command::Init { dir, company } => {
            demo::init(&dir, &company)?;
            println!("created a snop workspace in `{}`", dir.display());
            println!(
                "next: put the extracts under `{}/data` as the pipelines expect, then `snop validate -w {}`",
                dir.display(),
                dir.display()
            );
        }
        Command::Generate { dir, size } => {
            let g = demo::generate(&dir, size.spec())?;
            println!(
                "wrote {} files with {} order lines under `{}`",
                g.files.len(),
                g.order_lines,
                dir.join("data").display()
            );
        }
        Command::Demo { dir, size, force } => demo_command(&dir, &size, force, &progress).await?,
        Command::Validate { now } => {
            let ws = Workspace::load(&cli.workspace)?;
            cycle::validate_calendar(&ws, now.as_deref())?;
            println!(
                "`{}` is valid: {} pipeline(s) ({})",
                cli.workspace.join(crate::config::WORKSPACE_FILE).display(),
                ws.pipelines.len(),
                ws.pipelines.keys().map(|a| a.name()).collect::<Vec<_>>().join(", ")
            );
        }
        Command::Run { agent, cycle, json } => {
            let agent = agent_of(&agent)?;
            let ws = Workspace::load(&cli.workspace)?;
            let store = pipeline::open_store(&ws).await?;
            match pipeline::run(&ws, &store, agent, cycle, &progress).await? {
                RunOutcome::Recorded { run, report } => {
                    if json {
                        println!("{}", serde_json::to_string_pretty(&report)?);
                    } else {
                        println!(
                            "run {} of `{agent}` for {cycle}: {} rows read, {} quarantined, {} kept; report in `{}`",
                            run.id, report.rows_read, report.rows_quarantined, report.rows_kept, run.folder
                        );
                        for line in report.quarantine_sample.iter().take(5) {
                            println!("  quarantined: {line}");
                        }
                        if report.rows_quarantined > 0 {
                            println!("  every quarantined row is in `{}/quarantine.csv`", run.folder);
                        }
                        if let Some(d) = store.draft_of_run(run.id).await? {
                            println!(
                                "  draft {} ({} version {}) is ready for review: `snop drafts show {}`",
                                d.id, d.artifact, d.version, d.id
                            );
                        }
                    }
                }
                RunOutcome::Unchanged { previous } => {
                    if json {
                        println!("{}", serde_json::json!({ "unchanged": true, "previous_run": previous.id }));
                    } else {
                        println!(
                            "inputs unchanged since run {} ({}): nothing new was written",
                            previous.id, previous.started_at
                        );
                    }
                }
            }
        }
        Command::Runs { agent, cycle, json } => {
            let agent = agent.map(|a| agent_of(&a)).transpose()?;
            let ws = Workspace::load(&cli.workspace)?;
            let store = pipeline::open_store(&ws).await?;
            let runs = store.runs(agent.map(Agent::name), cycle.map(|c| c.to_string()).as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&runs)?);
            } else if runs.is_empty() {
                println!("no runs yet: start one with `snop run AGENT --cycle YYYY-MM`");
            } else {
                println!(
                    "{:>5}  {:<15} {:<8} {:<10} {:>10} {:>12} {:>9}  started",
                    "run", "agent", "cycle", "outcome", "rows read", "quarantined", "ms"
                );
                for r in runs {
                    println!(
                        "{:>5}  {:<15} {:<8} {:<10} {:>10} {:>12} {:>9}  {}",
                        r.id, r.agent, r.cycle, r.outcome, r.rows_read, r.rows_quarantined, r.duration_ms, r.started_at
                    );
                }
            }
        }
        Command::Calendar { months, from, ics, json, now } => {
            cycle::calendar(&cli.workspace, months, from, ics.as_deref(), json, now.as_deref())?
        }
        Command::Nightly { now, json } => cycle::nightly(&cli.workspace, now.as_deref(), json, &progress).await?,
        Command::Schedule { what } => cycle::schedule_command(&cli.workspace, what, &progress).await?,
        Command::Cadence { cycles, json, now } => cycle::cadence(&cli.workspace, cycles, json, now.as_deref()).await?,
        Command::Bench { what } => crate::bench::run(what, &progress).await?,
        Command::Drafts { what } => signoff::drafts(&cli.workspace, what).await?,
        Command::Status { cycle, json } => signoff::status(&cli.workspace, cycle, json).await?,
        Command::Audit { what } => signoff::audit(&cli.workspace, what).await?,
        Command::MockLlm { port, latency_ms, fault, fault_first, retry_after_secs } => {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            eprintln!("mock LLM on http://{addr}/v1 (OpenAI chat completions); stop with Ctrl-C");
            let config =
                crate::narrative::mock::MockConfig { latency_ms, fault, fault_first, retry_after_secs, port: None };
            tokio::select! {
                r = crate::narrative::mock::serve_forever(addr, config) => r?,
                _ = tokio::signal::ctrl_c() => {}
            }
        }
    }
    Ok(())
}

async fn demo_command(dir: &std::path::Path, size: &DemoSize, force: bool, progress: &Progress) -> anyhow::Result<()> {
    if dir.exists() && fs_err::read_dir(dir)?.next().is_some() {
        if !force {
            return Err(UserError(format!(
                "`{}` already exists and is not empty\nhint: pass `--force` to replace it, or name another folder",
                dir.display()
            ))
            .into());
        }
        if !dir.join(crate::config::WORKSPACE_FILE).exists() {
            return Err(UserError(format!("`{}` is not a snop workspace: refusing to delete it", dir.display())).into());
        }
        fs_err::remove_dir_all(dir)?;
    }
    demo::init(dir, demo::DEMO_COMPANY)?;
    let g = demo::generate(dir, size.spec()).context("generating the demo company")?;
    println!(
        "demo company `{}`: {} SKUs, {} customers, {} months of history ({} order lines) in `{}`",
        demo::DEMO_COMPANY,
        size.skus,
        size.customers,
        size.months,
        g.order_lines,
        dir.join("data").display()
    );
    let ws = Workspace::load(dir)?;
    let store = pipeline::open_store(&ws).await?;
    let mut drafted = Vec::new();
    for agent in [Agent::DemandReview, Agent::SupplyReview] {
        match pipeline::run(&ws, &store, agent, size.cycle, progress).await? {
            RunOutcome::Recorded { run, report } => {
                println!(
                    "{agent:>14}: run {} read {} rows from {} sources, quarantined {}, kept {}",
                    run.id,
                    report.rows_read,
                    report.sources.len(),
                    report.rows_quarantined,
                    report.rows_kept
                );
                for line in report.quarantine_sample.iter().take(3) {
                    println!("{:>16}quarantined: {line}", "");
                }
                if let Some(n) = &report.narrative {
                    println!(
                        "{:>16}narrative drafted by `{}` ({}), {} LLM call(s), every number checked",
                        "", n.model, n.source, n.llm_calls
                    );
                }
                if let Some(d) = store.draft_of_run(run.id).await? {
                    println!("{:>16}draft {} ({} version {}), state {}", "", d.id, d.artifact, d.version, d.state);
                    drafted.push(d);
                }
                for f in [
                    "facts.json",
                    &format!("demand-consensus-{}.xlsx", size.cycle),
                    &format!("demand-consensus-{}.html", size.cycle),
                    &format!("supply-plan-{}.xlsx", size.cycle),
                    &format!("supply-plan-{}.html", size.cycle),
                    "quarantine.csv",
                ] {
                    if dir.join(&run.folder).join(f).exists() {
                        println!("{:>16}{}/{}/{f}", "", dir.display(), run.folder);
                    }
                }
            }
            RunOutcome::Unchanged { previous } => {
                println!("{agent:>14}: unchanged since run {}", previous.id)
            }
        }
    }
    println!("\nwhere things are:");
    println!("  workspace      {}", dir.display());
    println!("  run reports    {}/runs/{}/<agent>/run-<n>/report.json", dir.display(), size.cycle);
    println!("  store          {}/snop.db", dir.display());
    println!(
        "next: `snop runs -w {}` lists the runs; `snop run demand-review --cycle {} -w {}` again writes nothing new",
        dir.display(),
        size.cycle,
        dir.display()
    );
    if !drafted.is_empty() {
        let w = dir.display();
        println!("\nreview and sign the drafts (each action carries the row version it read):");
        println!("  snop drafts list -w {w}");
        for d in &drafted {
            let Some(a) = crate::store::signoff::Artifact::from_key(&d.artifact) else { continue };
            let who = a.signer_roles().iter().filter_map(|r| ws.holders(r).first()).next().cloned().unwrap_or_default();
            println!("  snop drafts show {} -w {w} --html > {}.html", d.id, d.artifact);
            println!("  snop drafts approve {} --as {who} --row-version {} -w {w}", d.id, d.row_version);
            println!("  snop drafts sign {} --as {who} --row-version {} -w {w}", d.id, d.row_version + 1);
        }
        println!("  snop status --cycle {} -w {w}", size.cycle);
        println!(
            "  snop calendar -w {w}                 # the cycle's meeting dates (`--ics FILE` for Outlook or Google)"
        );
        println!("  snop audit verify -w {w}");
    }
    Ok(())
}
