//! `snop calendar`, `snop nightly`, `snop schedule install|run` and `snop cadence`: the cycle
//! running itself.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::config::Workspace;
use crate::contract::Month;
use crate::schedule::{self, NightlyError};
use crate::sop::Artifact;
use crate::{Progress, UserError, pipeline};

#[derive(Debug, clap::Subcommand)]
pub enum ScheduleCommand {
    /// Write a systemd service and timer (`--systemd`), or print a crontab line (`--cron`), that
    /// run `snop nightly` at the calendar's `nightly_at` time.
    Install {
        #[arg(long, conflicts_with = "cron", required_unless_present = "cron")]
        systemd: bool,
        #[arg(long)]
        cron: bool,
        /// Where to write the systemd units (default `~/.config/systemd/user`).
        #[arg(long, requires = "systemd")]
        dir: Option<PathBuf>,
    },
    /// Stay in the foreground and run `snop nightly` at the calendar's nightly time (for
    /// containers); stop with Ctrl-C.
    Run,
}

/// The clock, or `--now` for tests and replays.
fn now_or(now: Option<&str>) -> anyhow::Result<DateTime<Utc>> {
    match now {
        None => Ok(Utc::now()),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| UserError(format!("`{t}` is not a time in RFC 3339, e.g. `2027-01-11T02:30:00Z`")).into()),
    }
}

/// The owner of an artifact as a name and an e-mail, for invites.
fn owner(ws: &Workspace, a: Artifact) -> (String, Option<String>) {
    let dir = ws.directory();
    let people: Vec<&crate::config::Person> =
        a.owner_roles().iter().flat_map(|r| ws.holders(r)).filter_map(|p| ws.people.get(p)).collect();
    (dir.signers(a), people.first().and_then(|p| p.email.clone()))
}

/// The invites of `month`'s cycle written to `path` as `.ics`, and one line per meeting: its
/// days, its hours and who is invited (for `snop demo`).
pub(super) fn invites(ws: &Workspace, month: Month, path: &Path) -> anyhow::Result<Vec<String>> {
    let cal = &ws.calendar;
    let cycles = [cal.cycle(month)];
    let stamp = month.first_day().and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    fs_err::write(path, cal.ics(&ws.company, &cycles, stamp, &|a| ws.invitees(a)))?;
    let mut lines = vec![format!(
        "{} invite(s) in `{}`: one per meeting day, inside its hours, never through a night or a weekend",
        cal.event_count(&cycles),
        path.display()
    )];
    for (m, slot) in cycles[0].meetings.iter().zip(&cal.slots) {
        let days: Vec<String> = cal.meeting_days(m).iter().map(|d| d.format("%a %d").to_string()).collect();
        let who: Vec<String> = ws.invitees(m.artifact).attendees.into_iter().map(|a| a.name).collect();
        lines.push(format!(
            "  {:<24} {} {}-{}, {} invited: {}",
            m.artifact.meeting(),
            days.join(", "),
            slot.start.format("%H:%M"),
            slot.end().map_or("?".into(), |e| e.format("%H:%M").to_string()),
            who.len(),
            who.join(", ")
        ));
    }
    Ok(lines)
}

pub fn calendar(
    workspace: &Path,
    months: u32,
    from: Option<Month>,
    ics: Option<&Path>,
    json: bool,
    now: Option<&str>,
) -> anyhow::Result<()> {
    let ws = Workspace::load_without_inputs(workspace)?;
    let cal = &ws.calendar;
    let today = cal.local_date(now_or(now)?);
    let from = from.unwrap_or_else(|| cal.upcoming(today));
    let cycles = cal.cycles(from, months);
    if let Some(path) = ics {
        let stamp = from.first_day().and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        let text = cal.ics(&ws.company, &cycles, stamp, &|a| ws.invitees(a));
        fs_err::write(path, text)?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&cycles)?);
        return Ok(());
    }
    println!("{} cycle calendar ({}), {} cycle(s) from {from}", ws.company, cal.timezone.name(), cycles.len());
    for c in &cycles {
        println!("cycle {} ({} calendar days)", c.month, c.length_days());
        for m in &c.meetings {
            let days = if m.first == m.last {
                format!("{}", m.first.format("%a %Y-%m-%d"))
            } else {
                format!("{} to {}", m.first.format("%a %Y-%m-%d"), m.last.format("%a %Y-%m-%d"))
            };
            let moved = m.moved_from.map(|d| format!("  (moved from {d}, not a working day)")).unwrap_or_default();
            let slot = &cal.slots[Artifact::ALL.iter().position(|a| *a == m.artifact).expect("listed")];
            let hours = format!(
                "{}-{}",
                slot.start.format("%H:%M"),
                slot.end().map_or("?".into(), |e| e.format("%H:%M").to_string())
            );
            println!("  {:<24} {days}  {hours}  owner {}{moved}", m.artifact.meeting(), owner(&ws, m.artifact).0);
        }
    }
    for p in crate::config::calendar_problems(&ws, today) {
        println!("warning: {p}");
    }
    if let Some(path) = ics {
        println!(
            "wrote {} event(s) to `{}`: one per meeting day, inside its hours (times in UTC)",
            cal.event_count(&cycles),
            path.display()
        );
    }
    Ok(())
}

pub fn validate_calendar(ws: &Workspace, now: Option<&str>) -> anyhow::Result<()> {
    let today = ws.calendar.local_date(now_or(now)?);
    let problems = crate::config::calendar_problems(ws, today);
    if problems.is_empty() { Ok(()) } else { Err(crate::config::ConfigError { problems }.into()) }
}

pub async fn nightly(workspace: &Path, now: Option<&str>, json: bool, progress: &Progress) -> anyhow::Result<()> {
    let ws = Workspace::load(workspace)?;
    let now = now_or(now)?;
    let store = pipeline::open_store(&ws).await?;
    let report = schedule::nightly(&ws, &store, now, progress).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("night of {}", report.night);
        if let Some(r) = &report.recovered_lock {
            println!("  took over a stale lock ({r})");
        }
        if !report.caught_up.is_empty() {
            let nights: Vec<String> = report.caught_up.iter().map(ToString::to_string).collect();
            println!("  caught up missed night(s): {}", nights.join(", "));
        }
        if report.agents.is_empty() {
            println!("  nothing is due tonight by the calendar");
        }
        for a in &report.agents {
            println!("  {:<15} {} {:<9} {}", a.agent, a.cycle, a.outcome, a.detail);
        }
        for s in &report.notifications {
            println!("  notify {:<7} {:<7} {} {}: {}", s.channel, s.outcome, s.recipient, s.event, s.detail);
        }
    }
    let failed = report.failed();
    if !failed.is_empty() {
        return Err(NightlyError::AgentsFailed {
            failed: failed.len(),
            total: report.agents.len(),
            names: failed.iter().map(|a| format!("{} ({})", a.agent, a.cycle)).collect::<Vec<_>>().join(", "),
        }
        .into());
    }
    Ok(())
}

pub async fn schedule_command(workspace: &Path, what: ScheduleCommand, progress: &Progress) -> anyhow::Result<()> {
    let ws = Workspace::load_without_inputs(workspace)?;
    let exe = std::env::current_exe()?;
    match what {
        ScheduleCommand::Install { cron: true, .. } => println!("{}", schedule::cron_line(&ws, &exe)),
        ScheduleCommand::Install { dir, .. } => {
            let dir = match dir {
                Some(d) => d,
                None => {
                    PathBuf::from(std::env::var("HOME").map_err(|_| UserError("HOME is not set: pass `--dir`".into()))?)
                        .join(".config/systemd/user")
                }
            };
            fs_err::create_dir_all(&dir)?;
            let (service, timer) = schedule::systemd_units(&ws, &exe);
            fs_err::write(dir.join("snop-nightly.service"), service)?;
            fs_err::write(dir.join("snop-nightly.timer"), timer)?;
            println!(
                "wrote `{}` and `{}`",
                dir.join("snop-nightly.service").display(),
                dir.join("snop-nightly.timer").display()
            );
            println!("next: systemctl --user daemon-reload && systemctl --user enable --now snop-nightly.timer");
        }
        ScheduleCommand::Run => loop {
            let next = schedule::next_run(&ws.calendar, Utc::now())?;
            eprintln!(
                "next nightly run at {next} ({} {})",
                schedule::cron_pattern(&ws.calendar),
                ws.calendar.timezone.name()
            );
            let wait = (next - Utc::now()).to_std().unwrap_or_default();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = tokio::signal::ctrl_c() => return Ok(()),
            }
            // A failed night is reported and the loop goes on; the next night catches up.
            let ws = Workspace::load_without_inputs(workspace)?;
            if let Err(e) = nightly(&ws.root, None, false, progress).await {
                eprintln!("error: {e:#}");
            }
        },
    }
    Ok(())
}

pub async fn cadence(workspace: &Path, cycles: u32, json: bool, now: Option<&str>) -> anyhow::Result<()> {
    let ws = Workspace::load_without_inputs(workspace)?;
    let store = pipeline::open_store(&ws).await?;
    let today = ws.calendar.local_date(now_or(now)?);
    let months = crate::maturity::cycles_up_to(&store, None, cycles as usize).await?;
    let mut drifts = Vec::new();
    for m in &months {
        let lines = store.status(&m.to_string()).await?;
        drifts.push(crate::cadence::drift(&ws.calendar, *m, &lines, today));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&drifts)?);
        return Ok(());
    }
    if drifts.is_empty() {
        println!("no cycles in the store yet");
        return Ok(());
    }
    println!("days early (-) or late (+) against the calendar, per meeting; `.` not signed yet");
    println!(
        "{:<8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}  executive",
        "cycle", "demand", "supply", "recon", "exec", "commit", "length"
    );
    for d in &drifts {
        let cell = |i: usize| match (&d.meetings[i].signed_on, d.meetings[i].days_off) {
            (Some(_), Some(off)) => format!("{off:+}"),
            (None, Some(off)) => format!("{off:+}!"),
            _ => ".".into(),
        };
        let length = d.length_days.map_or(".".into(), |l| format!("{l}{}", if l > d.max_days { "!" } else { "" }));
        let exec = match d.executive_moved {
            Some(off) => format!("moved ({})", crate::cadence::describe_days(off)),
            None if d.meetings[3].signed_on.is_some() => "as planned".into(),
            None => String::new(),
        };
        println!(
            "{:<8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}  {exec}",
            d.cycle,
            cell(0),
            cell(1),
            cell(2),
            cell(3),
            cell(4),
            length
        );
    }
    println!("`!` after a number: overdue and not signed, or a cycle over {} days", crate::calendar::MAX_CYCLE_DAYS);
    Ok(())
}

pub async fn maturity(
    workspace: &Path,
    cycle: Option<Month>,
    cycles: u32,
    json: bool,
    now: Option<&str>,
) -> anyhow::Result<()> {
    let ws = Workspace::load_without_inputs(workspace)?;
    let store = pipeline::open_store(&ws).await?;
    let today = ws.calendar.local_date(now_or(now)?);
    let months = crate::maturity::cycles_up_to(&store, cycle, cycles as usize).await?;
    if months.is_empty() {
        return Err(UserError(
            "no cycles in the store yet\nhint: `snop run demand-review --cycle YYYY-MM` starts one".into(),
        )
        .into());
    }
    let mut records = Vec::new();
    for m in &months {
        records.push(crate::maturity::load(&store, &ws.calendar, *m, today).await?);
    }
    let report = crate::maturity::judge(&records);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "S&OP maturity of {}, cycle {}, from the record of {}",
        ws.company,
        report.cycle,
        report.cycles.join(", ")
    );
    println!("level {} of 5: {}", report.level.level, report.level.name);
    if let Some((n, name, _)) = crate::maturity::LEVELS.iter().find(|l| l.0 == report.level.level + 1) {
        let needs: Vec<String> =
            report.level.next_needs.iter().map(|q| format!("{q} ({})", report.answers[q - 1].answer.word())).collect();
        println!("  level {n} ({name}) needs a yes to: {}", needs.join(", "));
    }
    match &report.weakest_link {
        Some(w) => println!("weakest link: the {} ({} failing answer(s))", w.meeting, w.failing_answers),
        None => println!("weakest link: none, no answer fails"),
    }
    for a in &report.answers {
        println!("{:>2}. {:<8} {} [{}]", a.number, a.answer.word(), a.question, a.meeting);
        for c in &a.cycles {
            println!("             {}: {}", c.cycle, c.evidence);
        }
    }
    Ok(())
}
