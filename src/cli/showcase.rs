//! `snop demo`: a demo manufacturer's workspace made from nothing, and two months of its cycle
//! played by its people (by script), printed as it goes.

use anyhow::Context as _;

use super::DemoSize;
use crate::config::Workspace;
use crate::contract::Month;
use crate::demo::people::{decide_by_script, return_log_by_script, sign_by_script};
use crate::pipeline::{self, RunOutcome};
use crate::sop::{Agent, role_title};
use crate::{Progress, UserError, demo};

pub(super) async fn demo_command(
    dir: &std::path::Path,
    size: &DemoSize,
    force: bool,
    locale: Option<&str>,
    progress: &Progress,
) -> anyhow::Result<()> {
    let locale = locale.map(super::parse_locale).transpose()?;
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
    demo::enable_pack_scenario(dir, size.cycle)?;
    if let Some(l) = locale {
        set_locale(dir, l)?;
    }
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
    let dir_people = ws.directory();
    let cycle = size.cycle;
    let w = dir.display();
    println!("\nmonth one, {cycle}: the five meetings, each artifact approved and signed by its people (by script)");
    for agent in [Agent::DemandReview, Agent::SupplyReview, Agent::Reconciliation, Agent::Executive, Agent::CommitBack]
    {
        if agent == Agent::Executive {
            decide_and_print(&ws, &store, cycle, &w.to_string()).await?;
        }
        if agent == Agent::Reconciliation {
            pack_scenario(&ws, &store, cycle, progress).await?;
        }
        let draft = demo_run(&ws, &store, agent, cycle, dir, progress).await?;
        if agent == Agent::Reconciliation {
            print_pack_counts(&store, cycle).await?;
        }
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
    let standing = crate::analysis::executive::standing(&decided);
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
    show_scenarios(&ws, &store, next, progress).await?;
    println!("\nthe invites of {next}'s meetings:");
    for line in super::cycle::invites(&ws, next, &dir.join(format!("cycle-{next}.ics")))? {
        println!("  {line}");
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
        super::web::add_user(&store, id, &password, "snop demo").await?;
        let roles: Vec<String> = ws.directory().roles_of(id).into_iter().map(role_title).collect();
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

/// How many decisions and notices the cycle's pack brings to the executive meeting.
async fn print_pack_counts(store: &crate::store::Store, cycle: Month) -> anyhow::Result<()> {
    use crate::analysis::reconcile::NoticeKind;
    let pack = crate::pipeline::decisions::pack_facts(store, cycle).await?;
    let count = |k| crate::analysis::reconcile::notices_of(&pack, k);
    println!(
        "{:>16}{} executive decisions (at most {}, grouped by root cause) and {} notices ({} in the frozen horizon, {} with no fix, {} below the cap); {} gaps resolved by the leads",
        "",
        pack.trade_offs.len(),
        pack.max_executive_decisions,
        pack.notices.len(),
        count(NoticeKind::Frozen),
        count(NoticeKind::NoFix),
        count(NoticeKind::BelowCap),
        pack.resolved.len()
    );
    Ok(())
}

/// One agent's run in the demo, printed: what it read and wrote, its narrative, notes and files.
/// Writes `[company] locale` into the demo workspace's `snop.toml` (after its currency).
fn set_locale(dir: &std::path::Path, locale: crate::analysis::locale::Locale) -> anyhow::Result<()> {
    let path = dir.join(crate::config::WORKSPACE_FILE);
    let toml = fs_err::read_to_string(&path)?;
    let Some(at) = toml.find("currency = ").and_then(|i| toml[i..].find('\n').map(|n| i + n + 1)) else {
        anyhow::bail!("the demo's `snop.toml` has no `currency` line to put the locale after");
    };
    fs_err::write(&path, format!("{}locale = \"{}\"\n{}", &toml[..at], locale.tag(), &toml[at..]))?;
    Ok(())
}

/// Returns the draft it stored.
async fn demo_run(
    ws: &Workspace,
    store: &crate::store::Store,
    agent: Agent,
    cycle: Month,
    dir: &std::path::Path,
    progress: &Progress,
) -> anyhow::Result<Option<crate::draft::DraftRow>> {
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
                    "{:>16}narrative drafted by `{}` ({}), {} LLM call(s), every number and name checked",
                    "", n.model, n.source, n.llm_calls
                );
                if let Some(reason) = &n.fallback_reason {
                    println!("{:>16}narrative not written by the model: {reason}", "");
                }
            }
            for note in report.notes.iter().filter(|n| !n.contains("no decision yet")) {
                println!("{:>16}note: {}", "", ws.locale.localize(note));
            }
            let mut names: Vec<String> = fs_err::read_dir(dir.join(&run.folder))?
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
    dir: &crate::sop::Directory,
    ws: &Workspace,
    draft: crate::draft::DraftRow,
) -> anyhow::Result<()> {
    for line in sign_by_script(store, dir, ws, draft).await? {
        println!("{:>16}{line}", "");
    }
    Ok(())
}

/// The executive meeting by script (`decide_by_script`), printed: who decided, and the decision
/// that cites the pack's what-if.
async fn decide_and_print(ws: &Workspace, store: &crate::store::Store, cycle: Month, w: &str) -> anyhow::Result<()> {
    let (coo, decided, otherwise) = decide_by_script(ws, store, cycle).await?;
    println!(
        "{:>14}: {} decided all {decided} trade-offs of the signed pack (the recommended option each, {otherwise} gap decided otherwise; `snop decide --cycle {cycle} --list -w {w}`)",
        "decisions",
        ws.directory().name(&coo),
    );
    for d in store.decisions(&cycle.to_string()).await?.iter().filter(|d| d.scenario.is_some()) {
        println!(
            "{:>14}: decision {} on `{}` cites the what-if `{}` (`snop decide --scenario`); the signed plan records it",
            "",
            d.id,
            d.tradeoff_id.as_deref().unwrap_or_default(),
            d.scenario.as_deref().unwrap_or_default()
        );
    }
    Ok(())
}

/// Before month one's reconciliation: the base and the pack's scenario re-planned, so the pack
/// carries their comparison (`[reconciliation] pack_scenario`).
async fn pack_scenario(
    ws: &Workspace,
    store: &crate::store::Store,
    cycle: Month,
    progress: &Progress,
) -> anyhow::Result<()> {
    let Some(name) = &ws.pack_scenario else { return Ok(()) };
    let (_, c) = pipeline::scenario::run_and_compare(
        ws,
        store,
        cycle,
        crate::scenario::BASE,
        std::slice::from_ref(name),
        progress,
    )
    .await?;
    if let Some(line) = c.explained.first().and_then(|e| e.lines.first()) {
        let line = ws.locale.localize(line);
        println!("{:>14}: {line} (on the pack's trade-offs slide: `[reconciliation] pack_scenario`)", "what-if");
    }
    Ok(())
}

/// Month two's what-ifs: the three example scenarios written, re-planned and compared with the
/// base, the comparison printed and written as a workbook and a page.
async fn show_scenarios(
    ws: &Workspace,
    store: &crate::store::Store,
    cycle: Month,
    progress: &Progress,
) -> anyhow::Result<()> {
    let names = demo::write_scenarios(&ws.root, cycle)?;
    let started = std::time::Instant::now();
    let (runs, c) =
        pipeline::scenario::run_and_compare(ws, store, cycle, crate::scenario::BASE, &names, progress).await?;
    let (xlsx, html) = super::scenario::write_comparison(ws, &c)?;
    println!(
        "\nwhat-if scenarios of {cycle}: {} re-planned with the supply review's linear program in {:.1} s (runs {}; `snop scenario list --cycle {cycle}`)",
        names.join(", "),
        started.elapsed().as_secs_f64(),
        runs.iter().map(|r| r.run.id.to_string()).collect::<Vec<_>>().join(", ")
    );
    super::scenario::print_comparison(&c);
    println!(
        "the comparison: `{}` and `{}`; in the browser at /cycles/{cycle}/scenarios",
        xlsx.display(),
        html.display()
    );
    Ok(())
}
