//! The demo's people, by script: the COO takes every decision as recommended (one gap decided
//! otherwise), the owners
//! approve and the signers sign each draft, the account managers send the commitment log back.
//! `snop demo` and `snop bench cycle` play the cycle's meetings with them.

use crate::config::Workspace;
use crate::contract::Month;
use crate::draft::Request;
use crate::pipeline;
use crate::sop::Artifact;

/// The executive meeting by script: the COO (or the CEO) takes the reconciliation's recommended
/// option on every decision of the cycle's pack, owned by the supply lead, due two weeks after
/// the meeting; on the first decision of more than one gap whose recommendation fixes
/// something, its last gap is decided otherwise (its shortfall accepted, to be revisited next
/// cycle), as `snop decide --decision D --option K --gap G --option accept_shortfall` does. The
/// first decision cites the pack's what-if (`[reconciliation] pack_scenario`) when it has a run.
/// Returns who decided, how many decisions, and how many gaps were decided otherwise.
pub async fn decide_by_script(
    ws: &Workspace,
    store: &crate::store::Store,
    cycle: Month,
) -> anyhow::Result<(String, usize, usize)> {
    use crate::analysis::executive::Choice;
    use crate::store::decisions::NewDecision;
    let coo = ws.holders("coo").first().or(ws.holders("ceo").first()).cloned().unwrap_or_default();
    let owner = ws.holders("supply_lead").first().cloned().unwrap_or_else(|| coo.clone());
    let due = (chrono::NaiveDate::parse_from_str(&pipeline::executive_date(ws, cycle), "%Y-%m-%d")?
        + chrono::Days::new(14))
    .format("%Y-%m-%d")
    .to_string();
    let new = |id: String, option: String, note: &str| NewDecision {
        cycle: cycle.to_string(),
        tradeoff_id: Some(id),
        choice: Choice::Option { option },
        owner: Some(owner.clone()),
        due: Some(due.clone()),
        note: Some(note.into()),
        scenario: None,
    };
    let pack = crate::pipeline::decisions::tradeoffs(store, cycle).await?;
    let mut decisions: Vec<NewDecision> = pack
        .iter()
        .map(|(t, _)| {
            new(
                t.id.clone(),
                t.recommendation.option.clone(),
                "the reconciliation's recommendation, decided in the demo by script",
            )
        })
        .collect();
    // The first decision cites the pack's what-if (`[reconciliation] pack_scenario`) when it ran.
    if let (Some(first), Some(name)) = (decisions.first_mut(), &ws.pack_scenario)
        && !store.runs(Some(&pipeline::scenario::agent_name(name)), Some(&cycle.to_string())).await?.is_empty()
    {
        first.scenario = Some(name.clone());
    }
    let n = decisions.len();
    let otherwise = pack
        .iter()
        .find(|(t, _)| t.gaps.len() > 1 && t.recommendation.option != "accept_shortfall")
        .and_then(|(t, _)| t.gaps.last());
    if let Some(g) = otherwise {
        decisions.push(new(
            g.id.clone(),
            "accept_shortfall".into(),
            "decided otherwise in the demo by script: the last month's shortfall accepted, to revisit next cycle",
        ));
    }
    crate::pipeline::decisions::decide_each(&ws.directory(), store, &coo, decisions).await?;
    Ok((coo, n, usize::from(otherwise.is_some())))
}

/// The account managers' returned log in the demo: every fifth line of the commitment log
/// re-negotiated with its customer, written as a workbook in `returns/` the way a person edits
/// the Log sheet (line, status, committed, note, owner). `None` when the log has no lines.
pub async fn return_log_by_script(
    store: &crate::store::Store,
    draft: &crate::draft::DraftRow,
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
    let path = crate::pipeline::commitment_lines::write_returned_log(
        &dir.join("returns"),
        &format!("log-{}-returned.xlsx", log.cycle),
        &rows,
    )?;
    Ok(Some(format!(
        "the account managers returned the log: {} of {} lines re-negotiated with their customers (`{}`)",
        lines.len(),
        log.lines.len(),
        path.display()
    )))
}

/// The demo's people approve and sign a draft by script: its owner approves, then each signer
/// role signs (both leads for the reconciliation pack). Returns what happened, line by line.
pub async fn sign_by_script(
    store: &crate::store::Store,
    dir: &crate::sop::Directory,
    ws: &Workspace,
    draft: crate::draft::DraftRow,
) -> anyhow::Result<Vec<String>> {
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
