//! The commitment-line service: a cycle's latest commitment log, and an account manager's status
//! updates of their own lines, written as a returned log the commit-back agent's next run
//! applies (the one path every returned log takes). `snop serve`'s commitments page and the
//! demo's account managers update through here.

use anyhow::Context as _;

use crate::UserError;
use crate::config::Workspace;
use crate::contract::{Month, Table};
use crate::sop::{Agent, Directory};
use crate::store::{RunRow, SignoffError, Store};

/// A cycle's latest commitment log (the commit-back agent's latest succeeded run, with every
/// returned update it read), with the run it comes from; `None` before the agent has run.
pub async fn latest_commitment_log(
    store: &Store,
    cycle: Month,
) -> anyhow::Result<Option<(RunRow, crate::analysis::commitments::CommitmentLog)>> {
    let Some(run) = commitment_log_run(store, cycle).await? else { return Ok(None) };
    Ok(read_commitment_log(store, &run)?.map(|log| (run, log)))
}

/// The run a cycle's latest commitment log comes from: the commit-back agent's latest succeeded
/// run; `None` before the agent has run.
pub async fn commitment_log_run(store: &Store, cycle: Month) -> anyhow::Result<Option<RunRow>> {
    Ok(store.last_succeeded(Agent::CommitBack.name(), &cycle.to_string()).await?)
}

/// The commitment log a commit-back run wrote, if it wrote one.
pub fn read_commitment_log(
    store: &Store,
    run: &RunRow,
) -> anyhow::Result<Option<crate::analysis::commitments::CommitmentLog>> {
    let Some(bytes) = store.run_file(run, "commitment-log.json")? else { return Ok(None) };
    Ok(Some(serde_json::from_slice(&bytes).context("reading the stored commitment log")?))
}

/// The folder the commit-back agent reads returned commitment logs from: the folder of its
/// `commitment_updates` source (`returns/` by default), when that is a plain folder of the
/// workspace whose pattern reads a file named `log-<...>.xlsx`.
pub fn returns_folder(ws: &Workspace) -> Option<std::path::PathBuf> {
    let pipeline = ws.pipelines.get(&Agent::CommitBack)?;
    pipeline.sources.iter().find_map(|s| {
        let crate::config::Location::Files { pattern, .. } = &s.location else { return None };
        if s.table != Table::CommitmentUpdates {
            return None;
        }
        let (folder, _) = pattern.rsplit_once('/')?;
        let plain = !folder.contains(['*', '?', '[', '{']);
        let reads = glob::Pattern::new(pattern).is_ok_and(|p| p.matches(&format!("{folder}/log-2026-12-web-x.xlsx")));
        (plain && reads).then(|| ws.root.join(folder))
    })
}

/// A status update of one commitment-log line, as its owner asks for it.
#[derive(Debug, Clone)]
pub struct LineUpdate {
    pub line_id: String,
    pub status: String,
    pub note: Option<String>,
}

/// Saves of the same lines by the same person within one window of this many seconds (of the
/// clock, from the minute's start) go to one returned-log file, the last save replacing the
/// one before: 100 saves of a line in a minute are one file, holding what was saved last (what
/// the person meant), and a line saved again later is a new file.
pub const SAVE_WINDOW_SECS: i64 = 60;

/// An account manager updates lines of a cycle's latest commitment log: each must be theirs
/// (refused naming its owner) and its status one of the log's. The update is written as a
/// returned log into `returns` (the workbook a person would send back, staged then renamed;
/// named with the cycle, the save window, the lines and the person: a save of the same lines in
/// the same window replaces the file, [`SAVE_WINDOW_SECS`]), so the commit-back agent's next
/// run applies it by the one path every returned log takes. Returns the file written.
pub async fn update_commitment_lines(
    store: &Store,
    dir: &Directory,
    returns: &std::path::Path,
    cycle: Month,
    person: &str,
    updates: &[LineUpdate],
) -> anyhow::Result<std::path::PathBuf> {
    use crate::artifacts::commitment_log::ReturnedRow;
    let Some((_, log)) = latest_commitment_log(store, cycle).await? else {
        return Err(UserError(format!(
            "there is no commitment log for {cycle}: the commit-back agent has not run\nhint: `snop run commit-back --cycle {cycle}`"
        ))
        .into());
    };
    let mut rows = Vec::new();
    for u in updates {
        let Some(line) = log.lines.iter().find(|l| l.line_id == u.line_id) else {
            return Err(SignoffError::Invalid(format!(
                "`{}` is not a line of the commitment log of {cycle}: nothing was saved; reload the page and choose a line it lists",
                u.line_id
            ))
            .into());
        };
        if line.owner != person {
            return Err(UserError(format!(
                "line {} ({} {} {}) is {}'s: only its owner updates its status; {} is not allowed to",
                line.line_id,
                line.customer,
                line.sku,
                line.month,
                dir.name(&line.owner),
                dir.name(person)
            ))
            .into());
        }
        if !crate::contract::COMMITMENT_STATUSES.contains(&u.status.as_str()) {
            return Err(SignoffError::Invalid(format!(
                "`{}` is not a status of a commitment line: one of {}; nothing was saved",
                u.status,
                crate::contract::COMMITMENT_STATUSES.join(", ")
            ))
            .into());
        }
        rows.push(ReturnedRow {
            line_id: line.line_id.clone(),
            status: u.status.clone(),
            committed: line.committed,
            note: u.note.clone().filter(|n| !n.trim().is_empty()),
            owner: line.owner.clone(),
        });
    }
    let now = chrono::Utc::now().timestamp();
    let window = chrono::DateTime::from_timestamp(now - now.rem_euclid(SAVE_WINDOW_SECS), 0).unwrap_or_default();
    let safe = |s: &str| -> String {
        s.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect()
    };
    let lines = match updates {
        [one] => safe(&one.line_id),
        many => {
            let mut ids: Vec<&str> = many.iter().map(|u| u.line_id.as_str()).collect();
            ids.sort_unstable();
            format!("{}-lines-{}", ids.len(), &crate::draft::sha256_hex(ids.join("\n").as_bytes())[..12])
        }
    };
    let name = format!("log-{cycle}-web-{}-{lines}-{}.xlsx", window.format("%Y%m%dT%H%M%SZ"), safe(person));
    let bytes = crate::artifacts::commitment_log::returned_log_xlsx(&rows)?;
    fs_err::create_dir_all(returns)?;
    let path = returns.join(&name);
    // Staged under a name of this save alone, renamed over the window's file if there is one.
    let staged = returns.join(format!(".{name}.{}.part", random_suffix()));
    fs_err::write(&staged, bytes)?;
    fs_err::rename(&staged, &path)?;
    Ok(path)
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap_or_default();
    hex::encode(bytes)
}

/// Writes a returned commitment log into the returns folder: staged under a name the commit-back
/// agent does not read, then renamed, so it never reads half a file. Never replaces a file.
pub fn write_returned_log(
    returns: &std::path::Path,
    name: &str,
    rows: &[crate::artifacts::commitment_log::ReturnedRow],
) -> anyhow::Result<std::path::PathBuf> {
    let bytes = crate::artifacts::commitment_log::returned_log_xlsx(rows)?;
    fs_err::create_dir_all(returns)?;
    let path = returns.join(name);
    if path.exists() {
        return Err(UserError(format!("`{}` exists already: try again", path.display())).into());
    }
    let staged = returns.join(format!(".{name}.part"));
    fs_err::write(&staged, bytes)?;
    fs_err::rename(&staged, &path)?;
    Ok(path)
}
