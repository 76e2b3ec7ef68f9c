//! The command line: parses arguments, calls down into the library, prints results. Data goes
//! to stdout, logs and progress to stderr.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::config::{Agent, Workspace};
use crate::contract::Month;
use crate::pipeline::{self, RunOutcome};
use crate::store::signoff::{Directory, role_title};
use crate::{Progress, UserError, demo};

mod cycle;
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
    Decide {
        /// The cycle month, `YYYY-MM`.
        #[arg(long)]
        cycle: Month,
        /// The trade-off's id, as the pack names it (`--list` lists them).
        #[arg(long)]
        tradeoff: Option<String>,
        /// One of the trade-off's costed options: overtime, build_ahead, alternate_site,
        /// expedite, alternate_supplier, accept_shortfall.
        #[arg(long, value_name = "KIND", conflicts_with_all = ["action", "send_back"])]
        option: Option<String>,
        /// Another action, written in.
        #[arg(long, value_name = "TEXT", conflicts_with = "send_back")]
        action: Option<String>,
        /// Who carries the decision out.
        #[arg(long, value_name = "PERSON")]
        owner: Option<String>,
        /// By when, `YYYY-MM-DD`.
        #[arg(long, value_name = "YYYY-MM-DD")]
        due: Option<String>,
        #[arg(long)]
        note: Option<String>,
        /// Send the trade-off (with `--tradeoff`) or the whole plan back, with `--reason`.
        #[arg(long, requires = "reason")]
        send_back: bool,
        /// What must be redone, and why.
        #[arg(long)]
        reason: Option<String>,
        /// The deciding person's id from `[people]` in `snop.toml`.
        #[arg(long = "as", value_name = "PERSON", env = "SNOP_PERSON")]
        actor: Option<String>,
        /// List the pack's trade-offs and the decision that counts for each, and decide nothing.
        #[arg(long)]
        list: bool,
        /// Say that the decision on `--tradeoff` was carried out (its owner, or the COO or CEO);
        /// the next cycle scores last cycle's decisions as done, open or overdue.
        #[arg(long, requires = "tradeoff", conflicts_with_all = ["option", "action", "send_back", "list"])]
        done: bool,
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
        Command::Run { agent, cycle, json, allow_unsigned } => {
            let agent = agent_of(&agent)?;
            let ws = Workspace::load(&cli.workspace)?;
            let store = pipeline::open_store(&ws).await?;
            let options = pipeline::RunOptions { allow_unsigned };
            match pipeline::run_with(&ws, &store, agent, cycle, &progress, options).await? {
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
        }
        Command::Runs { agent, cycle, json } => {
            let agent = agent.map(|a| agent_of(&a)).transpose()?;
            let ws = Workspace::load_without_inputs(&cli.workspace)?;
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
        Command::Decide {
            cycle,
            tradeoff,
            option,
            action,
            owner,
            due,
            note,
            send_back,
            reason,
            actor,
            list,
            done,
            json,
        } => {
            let ws = Workspace::load_without_inputs(&cli.workspace)?;
            let store = pipeline::open_store(&ws).await?;
            if done {
                let actor = actor.ok_or_else(|| UserError("say who carried it out: `--as PERSON`".into()))?;
                let tradeoff = tradeoff.expect("clap requires --tradeoff with --done");
                let row = store
                    .record_done(&Directory::of(&ws), &actor, &cycle.to_string(), &tradeoff, note.as_deref())
                    .await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&row)?);
                } else {
                    println!(
                        "decision {} on trade-off `{tradeoff}` of {cycle} is done ({} at {})",
                        row.decision_id, row.done_by, row.done_at
                    );
                }
                return Ok(());
            }
            if list {
                let rows = pipeline::tradeoffs(&store, cycle).await?;
                if json {
                    let v: Vec<serde_json::Value> =
                        rows.iter().map(|(t, d)| serde_json::json!({ "trade_off": t, "decision": d })).collect();
                    println!("{}", serde_json::to_string_pretty(&v)?);
                } else if rows.is_empty() {
                    println!("the reconciliation pack of {cycle} has no trade-offs: nothing to decide");
                }
                for (t, d) in rows.iter().filter(|_| !json) {
                    let options: Vec<&str> =
                        t.options.iter().map(|o| crate::analysis::reconcile::option_key(o.kind)).collect();
                    let state = match d {
                        Some(d) => format!("decided by {} at {}", d.decided_by, d.decided_at),
                        None => "no decision yet".into(),
                    };
                    println!(
                        "#{:<3} {:<32} {} {}: margin at risk {:.2}; options {}; {state}",
                        t.rank,
                        t.id,
                        t.place,
                        t.month,
                        t.margin_at_risk_money,
                        options.join(", ")
                    );
                }
                return Ok(());
            }
            let actor = actor.ok_or_else(|| UserError("say who decides: `--as PERSON` (the COO or the CEO)".into()))?;
            let choice = match (option, action, send_back) {
                (Some(option), None, false) => crate::store::decisions::Choice::Option { option },
                (None, Some(text), false) => crate::store::decisions::Choice::Action { text },
                (None, None, true) => crate::store::decisions::Choice::SendBack { reason: reason.unwrap_or_default() },
                _ => {
                    return Err(UserError(
                        "say what is decided: `--option KIND`, `--action \"text\"` or `--send-back --reason ...`"
                            .into(),
                    )
                    .into());
                }
            };
            let decision = crate::store::decisions::NewDecision {
                cycle: cycle.to_string(),
                tradeoff_id: tradeoff,
                choice,
                owner,
                due,
                note,
            };
            let row = pipeline::decide(&Directory::of(&ws), &store, &actor, decision).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&row)?);
            } else {
                let what =
                    row.tradeoff_id.as_deref().map_or("the whole plan".to_string(), |t| format!("trade-off `{t}`"));
                println!(
                    "decision {} on {what} of {cycle} recorded for {} ({}); run `snop run executive --cycle {cycle}` to build the signed plan with it",
                    row.id, row.decided_by, row.role
                );
            }
        }
        Command::Calendar { months, from, ics, json, now } => {
            cycle::calendar(&cli.workspace, months, from, ics.as_deref(), json, now.as_deref())?
        }
        Command::Nightly { now, json } => cycle::nightly(&cli.workspace, now.as_deref(), json, &progress).await?,
        Command::Schedule { what } => cycle::schedule_command(&cli.workspace, what, &progress).await?,
        Command::Cadence { cycles, json, now } => cycle::cadence(&cli.workspace, cycles, json, now.as_deref()).await?,
        Command::Maturity { cycle, cycles, json, now } => {
            cycle::maturity(&cli.workspace, cycle, cycles, json, now.as_deref()).await?
        }
        Command::Bench { what } => crate::bench::run(what, &progress).await?,
        Command::Drafts { what } => signoff::drafts(&cli.workspace, what).await?,
        Command::Status { cycle, json } => signoff::status(&cli.workspace, cycle, json).await?,
        Command::Audit { what } => signoff::audit(&cli.workspace, what).await?,
        Command::Serve { bind, behind_proxy } => web::serve(&cli.workspace, bind, behind_proxy).await?,
        Command::Users { what } => web::users(&cli.workspace, what).await?,
        Command::Keys { what } => signoff::keys(&cli.workspace, what)?,
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
    let dir_people = crate::store::signoff::Directory::of(&ws);
    let cycle = size.cycle;
    let w = dir.display();
    println!("\nmonth one, {cycle}: the five meetings, each artifact approved and signed by its people (by script)");
    for agent in [Agent::DemandReview, Agent::SupplyReview, Agent::Reconciliation, Agent::Executive, Agent::CommitBack]
    {
        if agent == Agent::Executive {
            let (coo, decided) = decide_by_script(&ws, &store, cycle).await?;
            println!(
                "{:>14}: {} decided all {decided} trade-offs of the signed pack (the recommended option each; `snop decide --cycle {cycle} --list -w {w}`)",
                "decisions",
                dir_people.name(&coo),
            );
        }
        let draft = demo_run(&ws, &store, agent, cycle, dir, progress).await?;
        if agent == Agent::CommitBack
            && let Some(d) = &draft
        {
            // The account managers send the log back before it is signed: a few lines
            // re-negotiated with their customers.
            if let Some(line) = return_log_by_script(&store, d, dir).await? {
                println!("{:>16}{line}", "");
                if let Some(d) = demo_run(&ws, &store, agent, cycle, dir, progress).await? {
                    sign_and_print(&store, &dir_people, &ws, d).await?;
                }
                continue;
            }
        }
        if let Some(d) = draft {
            sign_and_print(&store, &dir_people, &ws, d).await?;
        }
    }
    // Between the cycles, the owners carry out some of the executive decisions.
    let decided = store.decisions(&cycle.to_string()).await?;
    let standing = crate::store::decisions::standing(&decided);
    let mut done = 0;
    for (i, (tradeoff, d)) in standing.iter().enumerate() {
        if let (Some(t), Some(owner)) = (tradeoff, &d.owner)
            && i % 3 != 2
        {
            store.record_done(&dir_people, owner, &cycle.to_string(), t, Some("done, in the demo by script")).await?;
            done += 1;
        }
    }
    println!(
        "\nbetween the cycles: {done} of {} executive decisions carried out by their owners (`snop decide --done`); the rest are overdue by month two",
        standing.len()
    );

    // Month two: the same company a month on; its demand and supply reviews score month one.
    let next = cycle.plus(1);
    let g = demo::generate(dir, demo::Spec { as_of: next, ..size.spec() })
        .context("generating the demo company a month on")?;
    println!(
        "\nmonth two, {next}: the extracts a month on ({} order lines: {cycle}'s orders shipped, the order book moved on); week 1's drafts wait for review",
        g.order_lines
    );
    let mut scorecard = None;
    for agent in [Agent::DemandReview, Agent::SupplyReview] {
        if let Some(d) = demo_run(&ws, &store, agent, next, dir, progress).await?
            && agent == Agent::DemandReview
        {
            scorecard = store.draft(d.id).await?.and_then(|d| d.content.agenda.scorecard);
        }
    }
    if let Some(card) = scorecard {
        println!("\nthe first line of every agenda of {next}: last cycle's promises, as of {}", card.as_of);
        for line in &card.lines {
            println!("  {line}");
        }
        for a in &card.attention {
            println!("  needs attention: {} (owner: {})", a.decision, a.owner);
        }
    }
    println!("\nwhere things are:");
    println!("  workspace      {w}");
    println!("  run reports    {w}/runs/<cycle>/<agent>/run-<n>/report.json");
    println!("  store          {w}/snop.db");
    println!(
        "next: `snop status --cycle {cycle} -w {w}` shows all five artifacts signed; `snop status --cycle {next} -w {w}` what month two is waiting for; `snop audit verify -w {w}` checks the log; `snop run demand-review --cycle {next} -w {w}` again writes nothing new"
    );
    println!("  `snop calendar -w {w}` prints the cycle's meeting dates (`--ics FILE` for Outlook or Google Calendar)");
    // Demo-only logins: every demo person gets a password anyone reading this output knows.
    let mut logins = Vec::new();
    for (id, person) in &ws.people {
        let password = demo::demo_password(id);
        web::add_user(&store, id, &password, "snop demo").await?;
        let roles: Vec<String> = Directory::of(&ws).roles_of(id).into_iter().map(role_title).collect();
        let roles = if roles.is_empty() { "account manager".to_string() } else { roles.join(", ") };
        logins.push(format!("  {id:<16} {password:<22} {} ({roles})", person.name));
    }
    println!(
        "\nreview in the browser: `snop serve -w {}`, then open http://127.0.0.1:8080/ and log in as",
        dir.display()
    );
    for line in &logins {
        println!("{line}");
    }
    println!(
        "  the board shows each cycle's meetings and drafts; {next}'s drafts wait for the demand and supply leads; the COO's trade-offs are at /cycles/{cycle}/decisions; an account manager's lines at /cycles/{cycle}/commitments?mine=1"
    );
    println!(
        "  these are DEMO-ONLY passwords, printed for anyone to read: for real people use `snop users add PERSON --password-stdin`"
    );
    Ok(())
}

/// One agent's run in the demo, printed: what it read and wrote, its narrative, notes and files.
/// Returns the draft it stored.
async fn demo_run(
    ws: &Workspace,
    store: &crate::store::Store,
    agent: Agent,
    cycle: Month,
    dir: &std::path::Path,
    progress: &Progress,
) -> anyhow::Result<Option<crate::store::signoff::DraftRow>> {
    let w = dir.display();
    match pipeline::run(ws, store, agent, cycle, progress).await? {
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
            for note in report.notes.iter().filter(|n| !n.contains("no decision yet")) {
                println!("{:>16}note: {note}", "");
            }
            let mut names: Vec<String> = std::fs::read_dir(dir.join(&run.folder))?
                .filter_map(Result::ok)
                .map(|f| f.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            for name in names {
                if [".xlsx", ".html", ".pdf", ".csv"].iter().any(|x| name.ends_with(x))
                    || name == "signed-plan.parquet"
                    || name == "decisions.json"
                {
                    println!("{:>16}{w}/{}/{name}", "", run.folder);
                }
            }
            Ok(store.draft_of_run(run.id).await?)
        }
        RunOutcome::Unchanged { previous } => {
            println!("{agent:>14}: unchanged since run {}", previous.id);
            Ok(None)
        }
    }
}

async fn sign_and_print(
    store: &crate::store::Store,
    dir: &crate::store::signoff::Directory,
    ws: &Workspace,
    draft: crate::store::signoff::DraftRow,
) -> anyhow::Result<()> {
    for line in sign_by_script(store, dir, ws, draft).await? {
        println!("{:>16}{line}", "");
    }
    Ok(())
}

/// The executive meeting by script: the COO (or the CEO) takes the reconciliation's recommended
/// option on every trade-off of the cycle's pack, owned by the supply lead, due two weeks after
/// the meeting. Returns who decided and how many trade-offs.
pub(crate) async fn decide_by_script(
    ws: &Workspace,
    store: &crate::store::Store,
    cycle: Month,
) -> anyhow::Result<(String, usize)> {
    let coo = ws.holders("coo").first().or(ws.holders("ceo").first()).cloned().unwrap_or_default();
    let owner = ws.holders("supply_lead").first().cloned().unwrap_or_else(|| coo.clone());
    let due = (chrono::NaiveDate::parse_from_str(&pipeline::executive_date(ws, cycle), "%Y-%m-%d")?
        + chrono::Days::new(14))
    .format("%Y-%m-%d")
    .to_string();
    let decisions: Vec<_> = pipeline::tradeoffs(store, cycle)
        .await?
        .into_iter()
        .map(|(t, _)| crate::store::decisions::NewDecision {
            cycle: cycle.to_string(),
            tradeoff_id: Some(t.id),
            choice: crate::store::decisions::Choice::Option {
                option: crate::analysis::reconcile::option_key(t.recommendation.option).to_string(),
            },
            owner: Some(owner.clone()),
            due: Some(due.clone()),
            note: Some("the reconciliation's recommendation, decided in the demo by script".into()),
        })
        .collect();
    let decided = pipeline::decide_each(&crate::store::signoff::Directory::of(ws), store, &coo, decisions).await?;
    Ok((coo, decided.len()))
}

/// The account managers' returned log in the demo: every fifth line of the commitment log
/// re-negotiated with its customer, written as a workbook in `returns/` the way a person edits
/// the Log sheet (line, status, committed, note, owner). `None` when the log has no lines.
async fn return_log_by_script(
    store: &crate::store::Store,
    draft: &crate::store::signoff::DraftRow,
    dir: &std::path::Path,
) -> anyhow::Result<Option<String>> {
    let Some(run) = store.run(draft.run_id).await? else { return Ok(None) };
    let Some(bytes) = store.run_file(&run, "commitment-log.json")? else { return Ok(None) };
    let log: crate::analysis::commitments::CommitmentLog = serde_json::from_slice(&bytes)?;
    let lines: Vec<_> = log.lines.iter().step_by(5).collect();
    if lines.is_empty() {
        return Ok(None);
    }
    let rows: Vec<_> = lines
        .iter()
        .map(|l| crate::artifacts::commitment_log::ReturnedRow {
            line_id: l.line_id.clone(),
            status: "re-negotiated".into(),
            committed: l.committed,
            note: Some("the customer agreed to the committed quantity".into()),
            owner: l.owner.clone(),
        })
        .collect();
    let path = pipeline::write_returned_log(&dir.join("returns"), &format!("log-{}-returned.xlsx", log.cycle), &rows)?;
    Ok(Some(format!(
        "the account managers returned the log: {} of {} lines re-negotiated with their customers (`{}`)",
        lines.len(),
        log.lines.len(),
        path.display()
    )))
}

/// The demo's people approve and sign a draft by script: its owner approves, then each signer
/// role signs (both leads for the reconciliation pack). Returns what happened, line by line.
pub(crate) async fn sign_by_script(
    store: &crate::store::Store,
    dir: &crate::store::signoff::Directory,
    ws: &Workspace,
    draft: crate::store::signoff::DraftRow,
) -> anyhow::Result<Vec<String>> {
    use crate::store::signoff::{Artifact, Request};
    let Some(artifact) = Artifact::from_key(&draft.artifact) else { return Ok(Vec::new()) };
    let mut lines = Vec::new();
    let mut row_version = draft.row_version;
    let owner = artifact.owner_roles().iter().find_map(|r| ws.holders(r).first()).cloned().unwrap_or_default();
    let acted = store.act(dir, draft.id, &owner, Request::Approve, Some(row_version)).await?;
    row_version = acted.draft.row_version;
    lines.push(acted.message);
    let signers: Vec<String> = if artifact.needs_every_signer() {
        artifact.signer_roles().iter().filter_map(|r| ws.holders(r).first().cloned()).collect()
    } else {
        artifact.signer_roles().iter().find_map(|r| ws.holders(r).first().cloned()).into_iter().collect()
    };
    for who in signers {
        let acted = store.act(dir, draft.id, &who, Request::Sign, Some(row_version)).await?;
        row_version = acted.draft.row_version;
        lines.push(acted.message);
    }
    Ok(lines)
}
