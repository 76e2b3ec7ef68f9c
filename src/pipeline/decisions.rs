//! The executive decisions service: a decision of the cycle's signed pack (or one of its gaps,
//! decided otherwise than the decision), checked against the pack (read once for a batch) and
//! recorded with its audit entry; the decisions of a cycle with the decision that counts.
//! `snop decide`, the decisions page and the demo's COO all record through here. A decision
//! row's `tradeoff_id` is a decision id (`RES-...`, `COMP-...`, `SUPPLIER-...`), a member gap's
//! id (a per-gap override; or a decision recorded before decisions were grouped), or none (the
//! whole plan). `D<rank>` (`D3`) names the pack's decision of that rank and is recorded as its id.

use crate::UserError;
use crate::analysis::executive::{Choice, DecisionRow};
use crate::analysis::reconcile::{self, ReconciliationFacts};
use crate::contract::Month;
use crate::sop::{Agent, Artifact, Directory};
use crate::store::decisions::NewDecision;
use crate::store::{RunRow, Store};

use super::upstream::{artifact_run, read_json, upstream_error};

/// Records an executive decision on a trade-off of the cycle's signed reconciliation pack,
/// after checking the person may decide, the trade-off is in the pack and the option is one of
/// its options.
pub async fn decide(dir: &Directory, store: &Store, actor: &str, d: NewDecision) -> anyhow::Result<DecisionRow> {
    let mut rows = decide_each(dir, store, actor, vec![d]).await?;
    rows.pop().ok_or_else(|| anyhow::anyhow!("no decision recorded"))
}

/// Records decisions of one cycle as `decide` does, reading the pack once: every decision is
/// checked before the first is recorded (each then in its own audited transaction).
pub async fn decide_each(
    dir: &Directory,
    store: &Store,
    actor: &str,
    decisions: Vec<NewDecision>,
) -> anyhow::Result<Vec<DecisionRow>> {
    crate::analysis::executive::may_decide(dir, actor).map_err(UserError)?;
    let Some(first) = decisions.first() else { return Ok(Vec::new()) };
    let cycle =
        Month::parse(&first.cycle).ok_or_else(|| UserError(format!("`{}` is not a month `YYYY-MM`", first.cycle)))?;
    if let Some(other) = decisions.iter().find(|d| d.cycle != first.cycle) {
        return Err(anyhow::anyhow!("decisions of two cycles at once ({} and {})", first.cycle, other.cycle));
    }
    let Some((run, signed)) = artifact_run(store, Artifact::ReconciliationPack, cycle).await? else {
        return Err(UserError(upstream_error(Artifact::ReconciliationPack, cycle, false, Agent::Executive)).into());
    };
    if signed.is_none() {
        return Err(UserError(format!(
            "the reconciliation pack of {cycle} is not signed: the executive meeting decides the trade-offs of the signed pack\nhint: the demand lead and the supply lead approve and sign it first (`snop drafts list --cycle {cycle}`)"
        ))
        .into());
    }
    let pack: ReconciliationFacts = read_json(store, &run, "facts.json").await?;
    let by_id: std::collections::HashMap<&str, &reconcile::TradeOff> =
        pack.trade_offs.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut decisions = decisions;
    for d in &mut decisions {
        d.tradeoff_id = d.tradeoff_id.take().map(|id| by_rank(&pack, id));
        check_decision(dir, &pack, &by_id, cycle, d)?;
    }
    let cited: std::collections::BTreeSet<&str> = decisions.iter().filter_map(|d| d.scenario.as_deref()).collect();
    for name in cited {
        check_scenario(store, cycle, name).await?;
    }
    let mut rows = Vec::with_capacity(decisions.len());
    for d in &decisions {
        rows.push(store.record_decision(dir, actor, d).await?);
    }
    Ok(rows)
}

/// Whether a decision fits the pack: its trade-off is there and its option is one of the
/// trade-off's; its due date is a date and its owner is a person of `[people]`.
fn check_decision(
    dir: &Directory,
    pack: &ReconciliationFacts,
    by_id: &std::collections::HashMap<&str, &reconcile::TradeOff>,
    cycle: Month,
    d: &NewDecision,
) -> anyhow::Result<()> {
    if let Some(id) = &d.tradeoff_id {
        // A decision of the pack, or a gap of one (decided otherwise than its decision).
        let (what, keys): (String, Vec<String>) = match by_id.get(id.as_str()) {
            Some(t) => (format!("decision `{id}`"), t.options.iter().map(|o| o.key.clone()).collect()),
            None => match pack.trade_offs.iter().find_map(|t| t.gaps.iter().find(|g| &g.id == id).map(|g| (t, g))) {
                Some((t, g)) => (format!("gap `{id}` (of decision `{}`)", t.id), g.options.clone()),
                None => {
                    let known: Vec<&str> = pack.trade_offs.iter().map(|t| t.id.as_str()).take(10).collect();
                    let notice = pack.notices.iter().find(|n| &n.id == id || n.gaps.contains(id));
                    return Err(UserError(format!(
                        "`{id}` is not a decision of the reconciliation pack of {cycle}{}{}\nhint: `snop decide --cycle {cycle} --list` lists them",
                        if known.is_empty() { ": it has none".to_string() } else { format!(": its decisions are {}", known.join(", ")) },
                        notice.map_or(String::new(), |n| format!(
                            "; it is a notice ({}: {}), which nobody decides this cycle",
                            reconcile::decisions::notice_word(n.kind),
                            n.text
                        ))
                    ))
                    .into());
                }
            },
        };
        if let Choice::Option { option } = &d.choice
            && !keys.iter().any(|k| k == option)
        {
            return Err(UserError(format!(
                "`{option}` is not an option of {what}: its options are {}\nhint: or write another action in with `--action \"...\"`",
                keys.join(", ")
            ))
            .into());
        }
    } else if !matches!(d.choice, Choice::SendBack { .. }) {
        return Err(UserError(
            "name the decision with `--decision ID` (only sending the whole plan back needs none)".into(),
        )
        .into());
    }
    if let Some(due) = &d.due
        && chrono::NaiveDate::parse_from_str(due, "%Y-%m-%d").is_err()
    {
        return Err(UserError(format!("`--due {due}` is not a date `YYYY-MM-DD`")).into());
    }
    if let Some(owner) = &d.owner
        && owner.trim().is_empty()
    {
        return Err(UserError("`--owner` is empty: name the person who carries the decision out".into()).into());
    }
    if let Some(owner) = &d.owner
        && !dir.names.contains_key(owner.as_str())
    {
        let some: Vec<&str> = dir.names.keys().map(String::as_str).take(6).collect();
        return Err(UserError(format!(
            "the owner `{owner}` is not a person of `[people]` in `snop.toml`: name the one who carries the decision out by their id ({})",
            some.join(", ")
        ))
        .into());
    }
    Ok(())
}

/// A decision cites a scenario the meeting could see: one with a run for the cycle.
async fn check_scenario(store: &Store, cycle: Month, name: &str) -> anyhow::Result<()> {
    let c = cycle.to_string();
    if !store.runs(Some(&super::scenario::agent_name(name)), Some(&c)).await?.is_empty() {
        return Ok(());
    }
    let mut known: Vec<String> = store
        .runs(None, Some(&c))
        .await?
        .into_iter()
        .filter_map(|r| r.agent.strip_prefix("scenario-").map(str::to_string))
        .collect();
    known.sort();
    known.dedup();
    Err(UserError(format!(
        "the scenario `{name}` has no run for {cycle}{}: a decision cites a scenario whose comparison the meeting has seen\nhint: `snop scenario compare --cycle {cycle} base {name}` runs it",
        if known.is_empty() { " (no scenario has)".to_string() } else { format!(" (the cycle's scenario runs: {})", known.join(", ")) }
    ))
    .into())
}

/// `D3` as the id of the pack's decision ranked 3 (when no decision is called `D3`); any other id
/// as it is.
fn by_rank(pack: &ReconciliationFacts, id: String) -> String {
    let rank = id.strip_prefix('D').or(id.strip_prefix('d')).and_then(|r| r.parse::<usize>().ok());
    match rank {
        Some(r) if pack.trade_offs.iter().all(|t| t.id != id) => {
            pack.trade_offs.iter().find(|t| t.rank == r).map_or(id, |t| t.id.clone())
        }
        _ => id,
    }
}

/// The trade-offs of a cycle's pack, each with the decision that counts, for `snop decide --list`.
pub async fn tradeoffs(store: &Store, cycle: Month) -> anyhow::Result<Vec<(reconcile::TradeOff, Option<DecisionRow>)>> {
    let pack = read_tradeoffs(store, &pack_run(store, cycle).await?).await?;
    let decisions = store.decisions(&cycle.to_string()).await?;
    let standing = crate::analysis::executive::standing(&decisions);
    Ok(with_decisions(&pack, &standing).into_iter().map(|(t, d)| (t.clone(), d.cloned())).collect())
}

/// The run of the cycle's reconciliation pack (signed, else the latest), or the error that says
/// to run the reconciliation first.
pub async fn pack_run(store: &Store, cycle: Month) -> anyhow::Result<RunRow> {
    match artifact_run(store, Artifact::ReconciliationPack, cycle).await? {
        Some((run, _)) => Ok(run),
        None => Err(UserError(upstream_error(Artifact::ReconciliationPack, cycle, false, Agent::Executive)).into()),
    }
}

/// The whole facts of the cycle's pack (signed, else the latest).
pub async fn pack_facts(store: &Store, cycle: Month) -> anyhow::Result<ReconciliationFacts> {
    read_json(store, &pack_run(store, cycle).await?, "facts.json").await
}

/// The trade-offs of a pack's run (its `facts.json`: tens of MB at 50,000 series).
pub async fn read_tradeoffs(store: &Store, run: &RunRow) -> anyhow::Result<Vec<reconcile::TradeOff>> {
    let pack: ReconciliationFacts = read_json(store, run, "facts.json").await?;
    Ok(pack.trade_offs)
}

/// Each trade-off with the decision that counts for it (`standing`: the decisions' standing).
fn with_decisions<'a>(
    tradeoffs: &'a [reconcile::TradeOff],
    standing: &std::collections::BTreeMap<Option<String>, &'a DecisionRow>,
) -> Vec<(&'a reconcile::TradeOff, Option<&'a DecisionRow>)> {
    tradeoffs.iter().map(|t| (t, standing.get(&Some(t.id.clone())).copied())).collect()
}
