//! The command line: parses arguments, calls down into the library, prints results. Data goes
//! to stdout, logs and progress to stderr.

// The one module that prints results (the crate denies `print_stdout` elsewhere).
#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Workspace;
use crate::contract::Month;
use crate::pipeline::{self, RunOutcome};
use crate::sop::Agent;
use crate::{Progress, UserError, demo};

pub mod bench;
mod cycle;
mod decide;
mod scenario;
mod showcase;
mod signoff;
mod web;

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
        /// The demo company's `[company] locale` (`de-DE`: numbers as 1.234,5 in its pack,
        /// pages, agendas and what the demo prints); default en-US.
        #[arg(long)]
        locale: Option<String>,
    },
    /// Write the demo manufacturer's data files (no workspace, no runs): for fixtures and benchmarks.
    Generate {
        /// The folder to write `data/` into.
        dir: PathBuf,
        #[command(flatten)]
        size: DemoSize,
        /// The month the extracts are taken in (default: the cycle): a later month gives the same
        /// company that many months on, its orders in between shipped and its order book moved on.
        #[arg(long)]
        as_of: Option<Month>,
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
        /// Reconciliation and executive: draft even when what they build on is not signed
        /// (every page then says it was built on unsigned inputs).
        #[arg(long)]
        allow_unsigned: bool,
    },
    /// Record an executive decision on a trade-off of the cycle's signed reconciliation pack
    /// (the COO or the CEO): an option, or another action; or send the plan back.
    Decide(decide::DecideArgs),
    /// What-if scenarios (`scenarios/NAME.toml`): list, run, compare side by side.
    Scenario {
        #[command(subcommand)]
        what: scenario::ScenarioCommand,
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
        /// How the narrative writes numbers (`de-DE`: 1.234,5); default: the workspace's
        /// `[company] locale` when there is a `snop.toml`, else en-US.
        #[arg(long)]
        locale: Option<String>,
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
    /// Serve the review workflow in the browser: the cycle board, drafts, edits, approvals and
    /// signatures, for the people who log in (`snop users add`). For a team, put it behind a
    /// TLS reverse proxy and pass `--behind-proxy`.
    Serve {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
        /// Behind a reverse proxy: trust its `X-Forwarded-For` and `X-Forwarded-Proto` (the
        /// session cookie is then `Secure` when the proxy says the request came over HTTPS).
        #[arg(long)]
        behind_proxy: bool,
    },
    /// Who may log in to `snop serve`: add, list, disable, reset-password.
    Users {
        #[command(subcommand)]
        what: web::UsersCommand,
    },
    /// Per-person signing keys, so a signature can be checked without trusting the database.
    Keys {
        #[command(subcommand)]
        what: signoff::KeysCommand,
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
    /// S&OP maturity from the record: twelve questions answered with their evidence, the cycle
    /// on a five-level scale, and the weakest meeting.
    Maturity {
        /// The cycle to place (default: the newest in the store).
        #[arg(long)]
        cycle: Option<Month>,
        /// How many cycles up to it the answers look at.
        #[arg(long, default_value_t = 6)]
        cycles: u32,
        #[arg(long)]
        json: bool,
        /// The time to take as now (RFC 3339), instead of the clock: what is due is judged at it.
        #[arg(long)]
        now: Option<String>,
    },
    /// Measure snop against its peers (see the README's Benchmarks section).
    Bench {
        #[command(subcommand)]
        what: bench::BenchCommand,
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
            as_of: self.cycle,
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
        Command::Generate { dir, size, as_of } => {
            let spec = demo::Spec { as_of: as_of.unwrap_or(size.cycle), ..size.spec() };
            let g = demo::generate(&dir, spec)?;
            println!(
                "wrote {} files with {} order lines under `{}`",
                g.files.len(),
                g.order_lines,
                dir.join("data").display()
            );
        }
        Command::Demo { dir, size, force, locale } => {
            showcase::demo_command(&dir, &size, force, locale.as_deref(), &progress).await?
        }
        Command::Validate { now } => {
            let ws = Workspace::load_allowing_pending(&cli.workspace)?;
            cycle::validate_calendar(&ws, now.as_deref())?;
            let problems = crate::scenario::check_all(&cli.workspace);
            if !problems.is_empty() {
                return Err(crate::config::ConfigError { problems }.into());
            }
            println!(
                "`{}` is valid: {} pipeline(s) ({})",
                cli.workspace.join(crate::config::WORKSPACE_FILE).display(),
                ws.pipelines.len(),
                ws.pipelines.keys().map(|a| a.name()).collect::<Vec<_>>().join(", ")
            );
            for note in &ws.pending {
                println!("note: `{}` is {}", note.file.display(), note.message);
            }
            let scenarios = crate::scenario::names(&cli.workspace);
            if !scenarios.is_empty() {
                println!("{} scenario file(s) valid ({})", scenarios.len(), scenarios.join(", "));
            }
        }
        Command::Run { agent, cycle, json, allow_unsigned } => {
            run_agent(&cli.workspace, &agent, cycle, (json, allow_unsigned), &progress).await?
        }
        Command::Runs { agent, cycle, json } => list_runs(&cli.workspace, agent, cycle, json).await?,
        Command::Decide(args) => decide::decide(&cli.workspace, args).await?,
        Command::Scenario { what } => scenario::scenario_command(&cli.workspace, what, &progress).await?,
        Command::Calendar { months, from, ics, json, now } => {
            cycle::calendar(&cli.workspace, months, from, ics.as_deref(), json, now.as_deref())?
        }
        Command::Nightly { now, json } => cycle::nightly(&cli.workspace, now.as_deref(), json, &progress).await?,
        Command::Schedule { what } => cycle::schedule_command(&cli.workspace, what, &progress).await?,
        Command::Cadence { cycles, json, now } => cycle::cadence(&cli.workspace, cycles, json, now.as_deref()).await?,
        Command::Maturity { cycle, cycles, json, now } => {
            cycle::maturity(&cli.workspace, cycle, cycles, json, now.as_deref()).await?
        }
        Command::Bench { what } => bench::run(what, &progress).await?,
        Command::Drafts { what } => signoff::drafts(&cli.workspace, what).await?,
        Command::Status { cycle, json } => signoff::status(&cli.workspace, cycle, json).await?,
        Command::Audit { what } => signoff::audit(&cli.workspace, what).await?,
        Command::Serve { bind, behind_proxy } => web::serve(&cli.workspace, bind, behind_proxy).await?,
        Command::Users { what } => web::users(&cli.workspace, what).await?,
        Command::Keys { what } => signoff::keys(&cli.workspace, what)?,
        Command::MockLlm { port, latency_ms, fault, fault_first, retry_after_secs, locale } => {
            let locale = mock_locale(&cli.workspace, locale.as_deref())?;
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            eprintln!("mock LLM on http://{addr}/v1 (OpenAI chat completions); stop with Ctrl-C");
            let config = crate::narrative::mock::MockConfig {
                latency_ms,
                fault,
                fault_first,
                retry_after_secs,
                port: None,
                variant: 0,
                fault_first_round_only: false,
                number_marks: (locale != crate::analysis::locale::Locale::EnUs).then(|| {
                    let (group, decimal) = locale.separators();
                    crate::narrative::NumberMarks { group, decimal, before_percent: locale.before_percent() }
                }),
            };
            tokio::select! {
                r = crate::narrative::mock::serve_forever(addr, config) => r?,
                _ = tokio::signal::ctrl_c() => {}
            }
        }
    }
    Ok(())
}

/// `--locale TAG` as a locale of the table, or an error naming those snop knows.
fn parse_locale(tag: &str) -> anyhow::Result<crate::analysis::locale::Locale> {
    use crate::analysis::locale::Locale;
    Locale::parse(tag).ok_or_else(|| {
        anyhow::Error::new(crate::UserError(format!(
            "`--locale {tag}` is not a locale snop knows\nhint: one of {}",
            Locale::known().join(", ")
        )))
    })
}

/// The locale `snop mock-llm` writes numbers in: `--locale`, else the workspace's when it has a
/// `snop.toml` that loads, else en-US.
fn mock_locale(workspace: &std::path::Path, tag: Option<&str>) -> anyhow::Result<crate::analysis::locale::Locale> {
    use crate::analysis::locale::Locale;
    match tag {
        Some(t) => parse_locale(t),
        None if workspace.join("snop.toml").is_file() => {
            Ok(crate::config::Workspace::load_without_inputs(workspace).map(|w| w.locale).unwrap_or_default())
        }
        None => Ok(Locale::default()),
    }
}

/// `snop run AGENT`: one agent's run for a cycle, and what it wrote.
async fn run_agent(
    workspace: &std::path::Path,
    agent: &str,
    cycle: Month,
    (json, allow_unsigned): (bool, bool),
    progress: &Progress,
) -> anyhow::Result<()> {
    let agent = agent_of(agent)?;
    // The agent's own input files must be there; another's may still be pending.
    let ws = Workspace::load_for(workspace, agent)?;
    let store = pipeline::open_store(&ws).await?;
    let options = pipeline::RunOptions { allow_unsigned };
    match pipeline::run_with(&ws, &store, agent, cycle, progress, options).await? {
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
                if report.rows_before_window > 0 {
                    println!(
                        "  {} history rows older than the pipeline's `history_months` skipped (counted in the report)",
                        report.rows_before_window
                    );
                }
                for note in &report.notes {
                    println!("  note: {note}");
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
    Ok(())
}

/// `snop runs`: the recorded runs, newest first.
async fn list_runs(
    workspace: &std::path::Path,
    agent: Option<String>,
    cycle: Option<Month>,
    json: bool,
) -> anyhow::Result<()> {
    let agent = agent.map(|a| agent_of(&a)).transpose()?;
    let ws = Workspace::load_without_inputs(workspace)?;
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
            // A narrative built without the model says why, under its run.
            let report = store.run_file(&r, "report.json").ok().flatten();
            let reason = report
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v["narrative"]["fallback_reason"].as_str().map(str::to_string));
            if let Some(reason) = reason {
                println!("       narrative not written by the model: {reason}");
            }
        }
    }
    Ok(())
}
