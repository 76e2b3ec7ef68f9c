//! Nightly runs: what is due tonight by the calendar, run one at a time per workspace, a missed
//! night caught up, a failing agent reported without stopping the others; and the scheduler
//! glue (systemd units, a crontab line, a foreground loop on the calendar's nightly time).
//!
//! The lock is a file, `nightly.lock` in the workspace, created exclusively and holding the
//! holder's PID, host and start time. A lock whose process is gone (same host) or that is older
//! than [`LOCK_LEASE`] is stale: the next run moves it aside (an atomic rename, so only one
//! taker wins) and takes its place. A crashed run therefore blocks nothing for longer than it
//! takes the next run to look. The lock's start and age are the real clock's, never `--now`
//! (the night a run is for): a replay of an old or future night cannot take over a live run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::calendar::Calendar;
use crate::config::Workspace;
use crate::contract::Month;
use crate::draft::{State, StatusLine};
use crate::pipeline::{self, RunOutcome};
use crate::sop::Agent;
use crate::sop::Artifact;
use crate::store::Store;
use crate::{Progress, UserError};

pub const LOCK_FILE: &str = "nightly.lock";
/// How long a lock holds even when its process cannot be checked (another host).
pub const LOCK_LEASE: chrono::Duration = chrono::Duration::hours(6);
/// How far back missed nights are caught up.
pub const CATCH_UP_DAYS: u64 = 7;

/// Why a nightly run did not complete cleanly; each has its own exit code for schedulers.
#[derive(Debug, thiserror::Error)]
pub enum NightlyError {
    #[error(
        "another nightly run holds the lock since {since} (PID {pid} on {host}): nothing was run\nhint: if no snop is running, the lock is taken over once it is stale; `{lock}` says who holds it"
    )]
    Busy { pid: u32, host: String, since: String, lock: String },
    #[error("{failed} of {total} agent run(s) failed tonight: {names}; the others ran")]
    AgentsFailed { failed: usize, total: usize, names: String },
}

impl NightlyError {
    /// 75 (EX_TEMPFAIL: try again later) when busy, 3 when an agent failed.
    pub fn exit_code(&self) -> i32 {
        match self {
            NightlyError::Busy { .. } => 75,
            NightlyError::AgentsFailed { .. } => 3,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct LockBody {
    pid: u32,
    host: String,
    started_at: String,
}

/// The held lock; dropping it releases it.
pub struct NightlyLock {
    path: PathBuf,
    /// A stale lock this one replaced (its holder and start), for the report.
    pub recovered: Option<String>,
}

fn host() -> String {
    fs_err::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "localhost".into())
}

fn alive(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    proc.exists().then(|| proc.join(pid.to_string()).exists())
}

impl NightlyLock {
    /// Takes the lock, judging a held one's age by `now`: the real clock (`Utc::now()`),
    /// whatever night the run is for.
    pub fn acquire(root: &Path, now: DateTime<Utc>) -> anyhow::Result<NightlyLock> {
        let path = root.join(LOCK_FILE);
        let body = LockBody {
            pid: std::process::id(),
            host: host(),
            started_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let mut recovered = None;
        for _ in 0..3 {
            match fs_err::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    use std::io::Write as _;
                    f.write_all(serde_json::to_string(&body)?.as_bytes())?;
                    f.sync_all()?;
                    return Ok(NightlyLock { path, recovered });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = fs_err::read_to_string(&path).unwrap_or_default();
                    let held: Option<LockBody> = serde_json::from_str(&text).ok();
                    let age = fs_err::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|m| m.elapsed().ok())
                        .unwrap_or_default();
                    let stale = match &held {
                        // Being written this instant, or left half-written by a crash.
                        None => age > std::time::Duration::from_secs(60),
                        Some(h) => {
                            let since = DateTime::parse_from_rfc3339(&h.started_at).map(|t| t.with_timezone(&Utc));
                            let expired = since.map_or(true, |t| now - t > LOCK_LEASE);
                            let gone = h.host == body.host && alive(h.pid) == Some(false);
                            expired || gone
                        }
                    };
                    if !stale {
                        let h = held.unwrap_or(LockBody { pid: 0, host: "?".into(), started_at: "just now".into() });
                        return Err(NightlyError::Busy {
                            pid: h.pid,
                            host: h.host,
                            since: h.started_at,
                            lock: path.display().to_string(),
                        }
                        .into());
                    }
                    let aside = root.join(format!("{LOCK_FILE}.stale-{}", body.pid));
                    if fs_err::rename(&path, &aside).is_ok() {
                        let _ = fs_err::remove_file(&aside);
                        recovered = Some(held.map_or("an unreadable lock".into(), |h| {
                            format!("PID {} on {} since {}", h.pid, h.host, h.started_at)
                        }));
                        tracing::warn!(lock = %path.display(), "took over a stale nightly lock");
                    }
                }
                Err(e) => return Err(anyhow::Error::new(e).context(format!("creating `{}`", path.display()))),
            }
        }
        Err(anyhow::anyhow!("could not take the nightly lock `{}`: it keeps changing hands", path.display()))
    }
}

impl Drop for NightlyLock {
    fn drop(&mut self) {
        let ours = fs_err::read_to_string(&self.path)
            .ok()
            .and_then(|t| serde_json::from_str::<LockBody>(&t).ok())
            .is_some_and(|b| b.pid == std::process::id());
        if ours {
            let _ = fs_err::remove_file(&self.path);
        }
    }
}

fn signed(lines: &[StatusLine], a: Artifact) -> bool {
    let i = Artifact::ALL.iter().position(|x| *x == a).expect("listed");
    lines.get(i).is_some_and(|l| l.state == Some(State::Signed) || l.signed_version.is_some())
}

/// The agents due on `night` for its cycle, given what is signed (`lines`, as `Store::status`
/// gives them). Week 1 (the demand review's first day to the supply review's last): the demand
/// and supply agents, each until its artifact is signed. Later meetings: once the artifact before
/// is signed, until their own is, up to the cycle's last day. Pure.
pub fn due_on(ws: &Workspace, night: NaiveDate, lines: &[StatusLine]) -> (Month, Vec<Agent>) {
    let cycle = ws.calendar.cycle_on(night);
    let mut due = Vec::new();
    let week1 = cycle.meeting(Artifact::DemandConsensus).first..=cycle.meeting(Artifact::SupplyPlan).last;
    for (i, a) in Artifact::ALL.into_iter().enumerate() {
        if signed(lines, a) {
            continue;
        }
        let is_due = match a {
            Artifact::DemandConsensus | Artifact::SupplyPlan => week1.contains(&night),
            _ => night <= cycle.end() && signed(lines, Artifact::ALL[i - 1]),
        };
        if is_due {
            due.push(a.agent());
        }
    }
    (cycle.month, due)
}

/// What one agent did tonight.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentNight {
    pub agent: String,
    pub cycle: String,
    /// `recorded`, `unchanged`, `failed` or `skipped`.
    pub outcome: String,
    pub detail: String,
}

/// What a nightly run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NightReport {
    pub night: NaiveDate,
    /// Earlier nights that did not complete and were caught up tonight.
    pub caught_up: Vec<NaiveDate>,
    pub recovered_lock: Option<String>,
    pub agents: Vec<AgentNight>,
    pub notifications: Vec<crate::notify::Sent>,
}

impl NightReport {
    pub fn failed(&self) -> Vec<&AgentNight> {
        self.agents.iter().filter(|a| a.outcome == "failed").collect()
    }
}

/// Runs what is due at `now` (the clock is an input): takes the lock, catches up missed nights,
/// runs each due agent (a failure is recorded and the next agent runs), sends what there is to
/// say, and records the night as completed.
pub async fn nightly(
    ws: &Workspace,
    store: &Store,
    now: DateTime<Utc>,
    progress: &Progress,
) -> anyhow::Result<NightReport> {
    // The real clock, not the night's `--now`: a replay must not judge a live lock stale.
    let lock = NightlyLock::acquire(&ws.root, Utc::now())?;
    let night = ws.calendar.local_date(now);
    let last_done = store.last_completed_night().await?;
    let caught_up: Vec<NaiveDate> = match last_done {
        Some(last) if last < night => {
            let from = (last + Days::new(1)).max(night - Days::new(CATCH_UP_DAYS));
            from.iter_days().take_while(|d| *d < night).collect()
        }
        _ => Vec::new(),
    };
    store.start_night(night, &now.to_rfc3339()).await?;
    let mut todo: BTreeSet<(Month, usize)> = BTreeSet::new();
    for d in caught_up.iter().chain(std::iter::once(&night)) {
        let month = ws.calendar.cycle_on(*d).month;
        let lines = store.status(&month.to_string()).await?;
        let (m, agents) = due_on(ws, *d, &lines);
        for a in agents {
            todo.insert((m, Agent::ALL.iter().position(|x| *x == a).expect("listed")));
        }
    }
    let mut agents = Vec::new();
    for (cycle, i) in todo {
        let agent = Agent::ALL[i];
        let (outcome, detail) = if !ws.pipelines.contains_key(&agent) {
            ("skipped", format!("no `pipelines/{agent}.toml` in this workspace"))
        } else {
            match pipeline::run(ws, store, agent, cycle, progress).await {
                Ok(RunOutcome::Recorded { run, .. }) => ("recorded", format!("run {}", run.id)),
                Ok(RunOutcome::Unchanged { previous }) => ("unchanged", format!("inputs as in run {}", previous.id)),
                Err(e) => {
                    tracing::error!(%agent, %cycle, "nightly run failed: {e:#}");
                    ("failed", format!("{e:#}"))
                }
            }
        };
        agents.push(AgentNight {
            agent: agent.name().into(),
            cycle: cycle.to_string(),
            outcome: outcome.into(),
            detail,
        });
        crate::fail_point("nightly.after_agent");
    }
    let mut report =
        NightReport { night, caught_up, recovered_lock: lock.recovered.clone(), agents, notifications: Vec::new() };
    let failures: Vec<crate::notify::Failure> = report
        .failed()
        .iter()
        .map(|a| crate::notify::Failure { agent: a.agent.clone(), cycle: a.cycle.clone(), detail: a.detail.clone() })
        .collect();
    report.notifications = crate::notify::after_night(ws, store, now, &failures).await;
    store
        .finish_night(night, &Utc::now().to_rfc3339(), if report.failed().is_empty() { "ok" } else { "failed" })
        .await?;
    drop(lock);
    Ok(report)
}

/// The systemd service and timer that run `snop nightly` at the calendar's nightly time.
pub fn systemd_units(ws: &Workspace, exe: &Path) -> (String, String) {
    let root = fs_err::canonicalize(&ws.root).unwrap_or_else(|_| ws.root.clone());
    let service = format!(
        "[Unit]\nDescription=snop nightly run for {company}\nAfter=network-online.target\n\n[Service]\nType=oneshot\nWorkingDirectory={root}\nExecStart={exe} nightly --quiet --workspace {root}\n# 75: another run holds the lock (not a failure); 3: an agent failed, 1 and 2 as usual (failures:\n# an OnFailure= unit or `systemctl --failed` alerts on them).\nSuccessExitStatus=75\n",
        company = ws.company,
        root = root.display(),
        exe = exe.display()
    );
    let timer = format!(
        "[Unit]\nDescription=snop nightly run for {company}\n\n[Timer]\nOnCalendar=*-*-* {time} {tz}\n# A night missed while the machine was off runs at the next boot.\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n",
        company = ws.company,
        time = ws.calendar.nightly_at.format("%H:%M:%S"),
        tz = ws.calendar.timezone.name()
    );
    (service, timer)
}

/// The crontab line that runs `snop nightly` at the calendar's nightly time.
pub fn cron_line(ws: &Workspace, exe: &Path) -> String {
    use chrono::Timelike;
    let root = fs_err::canonicalize(&ws.root).unwrap_or_else(|_| ws.root.clone());
    let t = ws.calendar.nightly_at;
    format!(
        "CRON_TZ={tz}\n{m} {h} * * * {exe} nightly --quiet --workspace {root} >> {root}/nightly.log 2>&1",
        tz = ws.calendar.timezone.name(),
        m = t.minute(),
        h = t.hour(),
        exe = exe.display(),
        root = root.display()
    )
}

/// The cron pattern of the nightly time (minute hour, every day), for the foreground loop.
pub fn cron_pattern(cal: &Calendar) -> String {
    use chrono::Timelike;
    format!("{} {} * * *", cal.nightly_at.minute(), cal.nightly_at.hour())
}

/// The next nightly time after `after`, by croner in the calendar's zone.
pub fn next_run(cal: &Calendar, after: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    let cron: croner::Cron = cron_pattern(cal).parse().map_err(|e| UserError(format!("nightly time: {e}")))?;
    let local = after.with_timezone(&cal.timezone);
    Ok(cron.find_next_occurrence(&local, false)?.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::{DEMO, calendar};

    #[test]
    fn the_next_nightly_time_in_london_across_the_clock_change() {
        let mut cal = calendar(DEMO, &[], chrono_tz::Europe::London);
        cal.nightly_at = chrono::NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        // Winter: 02:30 GMT is 02:30Z, the next morning.
        assert_eq!(next_run(&cal, at("2027-01-10T12:00:00Z")).unwrap(), at("2027-01-11T02:30:00Z"));
        // Clocks go forward at 01:00Z on Sunday 28 March 2027: 02:30 BST that morning is 01:30Z.
        assert_eq!(next_run(&cal, at("2027-03-27T03:00:00Z")).unwrap(), at("2027-03-28T01:30:00Z"));
        // And back at 01:00Z on 31 October: 02:30 GMT is 02:30Z.
        assert_eq!(next_run(&cal, at("2027-10-30T12:00:00Z")).unwrap(), at("2027-10-31T02:30:00Z"));
        assert_eq!(cron_pattern(&cal), "30 2 * * *");
    }
}
