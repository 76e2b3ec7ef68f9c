//! The executive S&OP's signed plan: the decisions on the pack's trade-offs (and the fixes the
//! leads approved for the resolved gaps) turned into [`PlanAdjustments`], so the supply
//! optimiser re-solves the same linear program with them as constraints; then every SKU x
//! customer x month of the plan with what was asked, what the plan gives, and the constraint
//! behind any shortfall.
//!
//! Decisions:
//! - Choosing a gap's recommended option (or the leads approving its recommended fixes) imposes
//!   nothing: the plan keeps the least-cost plan, so the signed plan's totals are the supply
//!   plan's. Choosing another fix forbids the gap's levers of the kinds not chosen; accepting the
//!   shortfall forbids every fix of the gap. The plan is then re-solved: the option's figures in
//!   the pack are that plan's. Written-in actions change no number (the log says so).
//! - The constraint named for a row is the gap still short after the decisions (capacity and
//!   labour first, then material), preferring one that names the row's customer; without one,
//!   short supply was shared by the allocation rule.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::r2;
use super::reconcile::{CHEAPEST_FIXES, ReconciliationFacts, gap_steps, kind_word, option_key, place_of};
use super::supply::{Gap, GapKind, OptionKind, PlanAdjustments, SupplyFacts, recommended_option};
use crate::sop::Directory;

/// What was decided.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Choice {
    /// One of the trade-off's costed options (`overtime`, `expedite`, `accept_shortfall`, ...).
    Option { option: String },
    /// Another action, written in.
    Action { text: String },
    /// Sent back: what must be redone, and why.
    SendBack { reason: String },
}

/// A recorded decision.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DecisionRow {
    pub id: i64,
    pub cycle: String,
    pub tradeoff_id: Option<String>,
    #[serde(flatten)]
    pub choice: Choice,
    pub owner: Option<String>,
    pub due: Option<String>,
    pub note: Option<String>,
    pub decided_by: String,
    pub role: String,
    pub decided_at: String,
    /// The what-if scenario the decision cites (`snop decide --scenario`): a run of it exists
    /// for the cycle when the decision is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
}

impl DecisionRow {
    /// Row `id` of `cycle`: option `option` taken on every gap of decision `decision`, recorded
    /// by nobody (a re-plan of an option, not a person's decision).
    pub fn option(id: i64, cycle: &str, decision: &str, option: &str) -> DecisionRow {
        DecisionRow {
            id,
            cycle: cycle.to_string(),
            tradeoff_id: Some(decision.to_string()),
            choice: Choice::Option { option: option.to_string() },
            owner: None,
            due: None,
            note: None,
            decided_by: String::new(),
            role: String::new(),
            decided_at: String::new(),
            scenario: None,
        }
    }
}

/// The decision that counts for each trade-off (the newest), keyed by trade-off id (`None`: the
/// whole plan).
pub fn standing(decisions: &[DecisionRow]) -> BTreeMap<Option<String>, &DecisionRow> {
    let mut out = BTreeMap::new();
    for d in decisions {
        let e = out.entry(d.tradeoff_id.clone()).or_insert(d);
        if d.id > e.id {
            *e = d;
        }
    }
    out
}

/// One entry of the decision log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// The gap (a decision's member gap, or a gap the leads resolved).
    pub tradeoff_id: String,
    /// The executive decision the gap belongs to (`None` for the leads' resolutions).
    #[serde(default)]
    pub decision_id: Option<String>,
    /// `trade_off` (decided by the executive) or `resolved` (approved by the leads).
    pub kind: String,
    pub rank: Option<usize>,
    pub place: String,
    pub month: String,
    pub margin_at_risk_money: f64,
    /// The decision that counts (the newest), if any.
    pub decision: Option<DecisionRow>,
    /// What it does to the plan, in words.
    pub effect: String,
}

/// The decision log (`decisions.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionLog {
    pub cycle: String,
    pub lines: Vec<LogLine>,
    /// Trade-offs without a decision.
    pub undecided: Vec<String>,
    /// Why the plan was sent back and what must be redone, when it was.
    pub sent_back: Option<String>,
    /// The newest decision the plan was built with (0 without any).
    pub decisions_through: i64,
    /// Every decision of the cycle, oldest first (superseded ones included).
    pub history: Vec<DecisionRow>,
}

/// One row of the signed plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedPlanRow {
    pub sku: String,
    pub customer: String,
    pub month: String,
    pub requested_units: f64,
    pub planned_units: f64,
    pub constraint: Option<String>,
    pub gap_id: Option<String>,
}

/// Records a choice of `kind` for gap `g` in the adjustments (the units it closes are the
/// option's own: its plan is re-solved, see [`PlanAdjustments`]); says what it does.
fn apply(adj: &mut PlanAdjustments, g: &Gap, kind: OptionKind, _units: f64) -> String {
    let main = recommended_option(g);
    adj.choose(&g.id, kind, main);
    let word = option_key(kind).replace('_', " ");
    if kind == main {
        format!("as recommended ({word}): the least-cost plan")
    } else if kind == OptionKind::AcceptShortfall {
        format!("shortfall accepted: the fixes of {} forbidden and the plan re-solved", g.id)
    } else if g.recommended.iter().any(|s| s.kind == kind) {
        format!("{word}, as recommended")
    } else {
        format!(
            "{word} instead of the recommended {}: the other fixes of {} forbidden and the plan re-solved",
            option_key(main).replace('_', " "),
            g.id
        )
    }
}

/// The adjustments the decisions and the leads' resolutions make, and the decision log.
pub fn adjustments(
    pack: &ReconciliationFacts,
    supply: &SupplyFacts,
    decisions: &[DecisionRow],
) -> (PlanAdjustments, DecisionLog) {
    let gaps: BTreeMap<&str, &Gap> = supply.gaps.iter().map(|g| (g.id.as_str(), g)).collect();
    let now = standing(decisions);
    let mut adj = PlanAdjustments::default();
    let mut lines = Vec::new();
    let mut undecided = Vec::new();
    let mut sent_back = Vec::new();
    // The whole plan sent back stands until a later decision on a trade-off (made on the redone
    // reconciliation) supersedes it.
    if let Some(d) = now.get(&None)
        && let Choice::SendBack { reason } = &d.choice
        && decisions.iter().all(|x| x.tradeoff_id.is_none() || x.id < d.id)
    {
        sent_back.push(format!(
            "the whole plan, by {} at {}: {reason}; to redo: the reconciliation pack, then the executive decisions",
            d.decided_by, d.decided_at
        ));
    }
    for r in &pack.resolved {
        let Some(g) = gaps.get(r.id.as_str()) else { continue };
        let effects: Vec<String> = r
            .steps
            .iter()
            .filter(|s| s.kind != OptionKind::AcceptShortfall)
            .map(|s| apply(&mut adj, g, s.kind, s.units))
            .collect();
        lines.push(LogLine {
            tradeoff_id: r.id.clone(),
            kind: "resolved".into(),
            rank: None,
            place: r.place.clone(),
            month: r.month.clone(),
            margin_at_risk_money: r.margin_at_risk_money,
            decision_id: None,
            decision: None,
            effect: format!("approved by the leads within their limit: {}", effects.join("; ")),
        });
    }
    for t in &pack.trade_offs {
        let (effects, any_undecided) = decision_lines(t, &gaps, &now, &mut adj, &mut sent_back);
        if any_undecided {
            undecided.push(t.id.clone());
        }
        lines.extend(effects);
    }
    let log = DecisionLog {
        cycle: pack.cycle.clone(),
        lines,
        undecided,
        sent_back: (!sent_back.is_empty()).then(|| sent_back.join("; ")),
        decisions_through: decisions.iter().map(|d| d.id).max().unwrap_or(0),
        history: decisions.to_vec(),
    };
    (adj, log)
}

/// The decision that counts for a member gap: the newer of the decision's own and the gap's
/// (a per-gap override, or a decision recorded on the gap before decisions were grouped).
fn counting<'a>(decision: Option<&'a DecisionRow>, gap: Option<&'a DecisionRow>) -> Option<&'a DecisionRow> {
    match (decision, gap) {
        (Some(a), Some(b)) => Some(if b.id > a.id { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// A decision's log lines, one per member gap, with what the decision that counts for the gap
/// does to the plan (added to `adj`); whether a member gap has no decision.
fn decision_lines(
    t: &super::reconcile::Decision,
    gaps: &BTreeMap<&str, &Gap>,
    now: &BTreeMap<Option<String>, &DecisionRow>,
    adj: &mut PlanAdjustments,
    sent_back: &mut Vec<String>,
) -> (Vec<LogLine>, bool) {
    let own = now.get(&Some(t.id.clone())).copied();
    let mut lines = Vec::new();
    let mut any_undecided = false;
    let mut sent = false;
    for gid in t.gap_ids() {
        let over = if gid == t.id { None } else { now.get(&Some(gid.to_string())).copied() };
        let decision = counting(own, over);
        let g = gaps.get(gid).copied();
        let effect = match decision {
            None => {
                any_undecided = true;
                "no decision yet".to_string()
            }
            Some(d) => match &d.choice {
                Choice::Option { option } => match g.and_then(|g| gap_steps(g, option).map(|s| (g, s))) {
                    // The cheapest fixes are the least-cost plan: they impose nothing, even when
                    // the gap's recommended option is a step of about 0 units, which its steps
                    // leave out (choosing the others only would forbid it and cost more).
                    Some((g, steps)) if option == CHEAPEST_FIXES => {
                        let main = recommended_option(g);
                        let mut said: Vec<String> = steps
                            .iter()
                            .filter(|s| s.kind != OptionKind::AcceptShortfall)
                            .map(|s| apply(adj, g, s.kind, s.units))
                            .collect();
                        if !steps.iter().any(|s| s.kind == main) {
                            said.insert(0, apply(adj, g, main, 0.0));
                        }
                        said.join("; ")
                    }
                    Some((g, steps)) if steps.iter().all(|s| s.kind == OptionKind::AcceptShortfall) => {
                        apply(adj, g, OptionKind::AcceptShortfall, 0.0)
                    }
                    // The fixes chosen; what they leave short is accepted by the re-plan itself.
                    Some((g, steps)) => steps
                        .iter()
                        .filter(|s| s.kind != OptionKind::AcceptShortfall)
                        .map(|s| apply(adj, g, s.kind, s.units))
                        .collect::<Vec<_>>()
                        .join("; "),
                    None => format!("option `{option}` is not an option of gap `{gid}`: no change to the plan"),
                },
                Choice::Action { text } => format!("written-in action, not modelled in the plan: {text}"),
                Choice::SendBack { reason } => {
                    if !sent {
                        sent_back.push(format!(
                            "decision `{}`, by {} at {}: {reason}; to redo: its reconciliation",
                            t.id, d.decided_by, d.decided_at
                        ));
                        sent = true;
                    }
                    "sent back".to_string()
                }
            },
        };
        lines.push(LogLine {
            tradeoff_id: gid.to_string(),
            decision_id: Some(t.id.clone()),
            kind: "trade_off".into(),
            rank: Some(t.rank),
            place: g.map_or_else(|| t.place.clone(), place_of),
            month: g.map_or_else(|| t.month.clone(), |g| g.month.clone()),
            margin_at_risk_money: g.map_or(t.margin_at_risk_money, |g| g.margin_at_risk_money),
            decision: decision.cloned(),
            effect,
        });
    }
    (lines, any_undecided)
}

/// The signed plan's rows from the re-planned supply facts, each shortfall with its constraint.
/// `closed` are the gaps the re-plan leaves nothing short in (named as a constraint only when
/// no other gap is).
pub fn plan_rows(after: &SupplyFacts, before: &SupplyFacts, log: &DecisionLog) -> Vec<SignedPlanRow> {
    let closed: std::collections::BTreeSet<&str> = after
        .gaps
        .iter()
        .filter(|g| g.recommended.iter().all(|s| s.kind != OptionKind::AcceptShortfall || s.units <= 1e-9))
        .map(|g| g.id.as_str())
        .collect();
    let accepted: std::collections::BTreeSet<&str> = log
        .lines
        .iter()
        .filter(|l| {
            l.decision
                .as_ref()
                .is_some_and(|d| matches!(&d.choice, Choice::Option { option } if option == "accept_shortfall"))
        })
        .map(|l| l.tradeoff_id.as_str())
        .collect();
    // Gaps by month and SKU, capacity and labour first.
    let mut index: BTreeMap<(&str, &str), Vec<&Gap>> = BTreeMap::new();
    for g in after.gaps.iter().chain(before.gaps.iter()) {
        for s in &g.skus_hit {
            index.entry((g.month.as_str(), s.as_str())).or_default().push(g);
        }
    }
    after
        .constrained_plan
        .iter()
        .map(|p| {
            let short = p.demand_units - p.constrained_units > 1e-6;
            let gap = short
                .then(|| {
                    let candidates = index.get(&(p.month.as_str(), p.sku.as_str()))?;
                    let open: Vec<&&Gap> = candidates.iter().filter(|g| !closed.contains(g.id.as_str())).collect();
                    let pool = if open.is_empty() { candidates.iter().collect() } else { open };
                    pool.iter()
                        .min_by_key(|g| {
                            (
                                !matches!(g.kind, GapKind::Capacity | GapKind::Labour),
                                !g.customers_hit.contains(&p.customer),
                                g.kind,
                            )
                        })
                        .map(|g| **g)
                })
                .flatten();
            let constraint = short.then(|| match gap {
                Some(g) => {
                    let mut s = format!("{}: {}, {}", kind_word(g.kind), place_of(g), g.month);
                    if accepted.contains(g.id.as_str()) {
                        s.push_str("; shortfall accepted by the executive meeting");
                    }
                    s
                }
                None => "allocation: short supply shared by customer priority and margin".to_string(),
            });
            SignedPlanRow {
                sku: p.sku.clone(),
                customer: p.customer.clone(),
                month: p.month.clone(),
                requested_units: p.demand_units,
                planned_units: p.constrained_units,
                constraint,
                gap_id: if short { gap.map(|g| g.id.clone()) } else { None },
            }
        })
        .collect()
}

/// The roles that decide the executive meeting's trade-offs.
pub const DECIDER_ROLES: [&str; 2] = ["coo", "ceo"];

/// Whether `actor` may decide trade-offs: the role under which they decide, or why not.
pub fn may_decide(dir: &Directory, actor: &str) -> Result<String, String> {
    if !dir.names.contains_key(actor) {
        return Err(format!("`{actor}` is not a person in `snop.toml`: pass `--as` with a person id from `[people]`"));
    }
    let held = dir.roles_of(actor);
    DECIDER_ROLES.iter().find(|r| held.contains(r)).map(|r| r.to_string()).ok_or_else(|| {
        format!(
            "only {} may decide the executive meeting's trade-offs; {} is not allowed to",
            dir.describe(&DECIDER_ROLES, " or "),
            dir.name(actor)
        )
    })
}

/// Why a signed plan's draft may not be signed, if it may not: its facts name the trade-offs
/// without a decision (`undecided`), whether it was sent back (`sent_back`), and the newest
/// decision it was built with (`decisions_through`), against the newest recorded one.
pub fn plan_sign_refusal(facts: &serde_json::Value, cycle: &str, latest_decision: i64) -> Option<String> {
    // `{"text": ...}`; a plain string in drafts made before the reason was data text.
    let sent_back = facts.get("sent_back").map(|v| v.get("text").unwrap_or(v));
    if let Some(sent) = sent_back.and_then(serde_json::Value::as_str) {
        return Some(format!("the signed plan of {cycle} cannot be signed: it was sent back: {sent}"));
    }
    let undecided: Vec<&str> = facts
        .get("undecided")
        .and_then(serde_json::Value::as_array)
        .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    if !undecided.is_empty() {
        return Some(format!(
            "the signed plan of {cycle} cannot be signed: {} trade-off(s) have no decision: {}\nhint: the COO or the CEO decides each with `snop decide --cycle {cycle} --decision ID --option KEY --owner PERSON --due YYYY-MM-DD`, then `snop run executive --cycle {cycle}` again",
            undecided.len(),
            undecided.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    let through = facts.get("decisions_through").and_then(serde_json::Value::as_i64).unwrap_or(0);
    if latest_decision > through {
        return Some(format!(
            "the signed plan of {cycle} cannot be signed: it was built before the latest decision (decision {latest_decision})\nhint: run `snop run executive --cycle {cycle}` again to build it with every decision, then approve and sign the new version"
        ));
    }
    None
}

/// A decision carried out, as recorded.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DoneRow {
    pub decision_id: i64,
    pub done_by: String,
    pub done_at: String,
    pub note: Option<String>,
}

/// How a decision of the executive meeting stands at a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    Done,
    /// Not done, and not yet due.
    Open,
    /// Not done, and its due date has passed.
    Overdue,
}

/// One decision of a cycle with how it stands `as_of` a date (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DecisionProgress {
    pub tradeoff_id: String,
    /// What was decided, as a person says it.
    pub decision: String,
    pub owner: String,
    pub due: String,
    pub progress: Progress,
    /// When it was done, and by whom.
    pub done: Option<(String, String)>,
}

/// How last cycle's decisions stand `as_of` a date: the decision that counts for each trade-off
/// (sent-back ones are not actions to carry out and are left out), done when a `done` row names
/// it, else overdue when its due date is before `as_of`, else open. Pure.
pub fn decision_progress(decisions: &[DecisionRow], done: &[DoneRow], as_of: &str) -> Vec<DecisionProgress> {
    standing(decisions)
        .into_iter()
        .filter_map(|(tradeoff, d)| {
            let tradeoff = tradeoff?;
            let decision = match &d.choice {
                Choice::Option { option } => option.replace('_', " "),
                Choice::Action { text } => text.clone(),
                Choice::SendBack { .. } => return None,
            };
            let due = d.due.clone().unwrap_or_default();
            let finished = done.iter().find(|x| x.decision_id == d.id);
            let progress = match finished {
                Some(_) => Progress::Done,
                None if !due.is_empty() && due.as_str() < as_of => Progress::Overdue,
                None => Progress::Open,
            };
            Some(DecisionProgress {
                tradeoff_id: tradeoff,
                decision,
                owner: d.owner.clone().unwrap_or_default(),
                due,
                progress,
                done: finished.map(|f| (f.done_at.clone(), f.done_by.clone())),
            })
        })
        .collect()
}

/// Decisions listed in the signed plan's draft facts (the rest are in `decisions.json`).
const LISTED_DECISIONS: usize = 10;

/// The signed plan's draft facts: what the narrative is drafted from, and what signing checks
/// (`undecided`, `sent_back`, `decisions_through`).
pub fn narrative_facts(
    pack: &ReconciliationFacts,
    pack_signed: bool,
    before: &SupplyFacts,
    after: &SupplyFacts,
    rows: &[SignedPlanRow],
    log: &DecisionLog,
) -> serde_json::Value {
    // One entry per decision: its first gap's line carries the decision that counts for the
    // decision; the effects of its gaps are joined (the first three, then a count).
    let mut groups: Vec<(&str, Vec<&LogLine>)> = Vec::new();
    for l in log.lines.iter().filter(|l| l.kind == "trade_off") {
        let id = l.decision_id.as_deref().unwrap_or(l.tradeoff_id.as_str());
        match groups.last_mut() {
            Some((last, members)) if *last == id => members.push(l),
            _ => groups.push((id, vec![l])),
        }
    }
    let decisions: Vec<serde_json::Value> = groups
        .iter()
        .take(LISTED_DECISIONS)
        .map(|(id, members)| {
            // The decision's own row, where a gap carries it; else the first gap's.
            let own = members.iter().find(|m| m.decision.as_ref().and_then(|d| d.tradeoff_id.as_deref()) == Some(*id));
            let l = own.copied().unwrap_or(members[0]);
            let overrides = members
                .iter()
                .filter(|m| m.decision.as_ref().map(|d| d.id) != l.decision.as_ref().map(|d| d.id))
                .count();
            let mut effects: Vec<&str> = members.iter().take(3).map(|m| m.effect.as_str()).collect();
            let more = (members.len() > 3).then(|| format!("and {} more gap(s)", members.len() - 3));
            effects.extend(more.as_deref());
            // What a person typed (an action, a reason) goes in a field of its own, which the
            // fact check reads as data text: never a source of numbers or names.
            let mut typed = None;
            let (decision, owner, due) = match &l.decision {
                None => ("no decision yet".to_string(), None, None),
                Some(d) => (
                    match &d.choice {
                        Choice::Option { option } => option.replace('_', " "),
                        Choice::Action { text } => {
                            typed = Some(("action", text.clone()));
                            "written-in action, not modelled in the plan".to_string()
                        }
                        Choice::SendBack { reason } => {
                            typed = Some(("reason", reason.clone()));
                            "sent back to its reconciliation".to_string()
                        }
                    },
                    d.owner.clone(),
                    d.due.clone(),
                ),
            };
            let effect = if typed.is_some() { decision.clone() } else { effects.join("; ") };
            let mut line = serde_json::json!({
                "tradeoff_id": id, "rank": l.rank, "decision": decision, "owner": owner, "due": due,
                "gaps": members.len(), "gaps_decided_otherwise": overrides, "effect": effect,
            });
            if let Some((field, text)) = typed {
                line[field] = serde_json::Value::String(text);
            }
            // The what-if scenario the decision cites, only when it cites one.
            if let Some(s) = l.decision.as_ref().and_then(|d| d.scenario.clone()) {
                line["scenario"] = serde_json::Value::String(s);
            }
            line
        })
        .collect();
    let requested: f64 = rows.iter().map(|r| r.requested_units).sum();
    let planned: f64 = rows.iter().map(|r| r.planned_units).sum();
    serde_json::json!({
        "cycle": pack.cycle,
        "pack": if pack_signed { "signed" } else { "not signed" },
        "trade_off_count": pack.trade_offs.len(),
        "decided_count": pack.trade_offs.len() - log.undecided.len(),
        "undecided": log.undecided,
        // What was sent back carries the reason a person typed: it goes under `text`, which the
        // fact check reads as data text (never a source of numbers or names).
        "sent_back": log.sent_back.as_ref().map(|s| serde_json::json!({ "text": s })),
        "decisions_through": log.decisions_through,
        "resolved_by_leads_count": pack.resolved.len(),
        "decisions": decisions,
        "decisions_not_listed": pack.trade_offs.len().saturating_sub(LISTED_DECISIONS),
        "totals": {
            "requested_units": r2(requested),
            "planned_units": r2(planned),
            "planned_before_decisions_units": before.totals.constrained_units,
            "revenue_planned_money": after.totals.revenue_constrained_money,
            "revenue_before_decisions_money": before.totals.revenue_constrained_money,
            "budget_revenue_money": after.totals.budget_revenue_money,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The re-plan is the supply plan's linear program with the decisions as constraints,
    /// checked by hand. One resource R (site S) with 100 regular hours and 50 of overtime at 3/h
    /// in each month; SKU A (price 10, cost 6: margin 4) takes 1 h a unit, no stock, no BOM.
    /// Customer C1 (priority 1) wants 80 a month and C2 (priority 2) 60 in January and February:
    /// 140 h against 100, a 40 h gap each month. Overtime (3 a unit) costs less than the margin
    /// (4): the least-cost plan buys 40 h in each month (240) and serves all 280 units (2,800).
    /// - The recommended decisions (overtime on both gaps) impose nothing: the signed plan is
    ///   the supply plan, to the byte.
    /// - Accepting the shortfall on both forbids the gaps' overtime and build-ahead: C1 gets 80
    ///   and C2 20 each month, 200 units, revenue 2,000, 80 x 4 = 320 of margin lost; the same
    ///   plan as the supply review's "every shortfall accepted" (its revenue without fixes).
    /// - Overtime in January and the shortfall accepted in February: 240 units, 2,400.
    #[test]
    fn the_re_plan_imposes_the_decisions_on_the_same_linear_program() {
        use crate::analysis::supply::{SupplyInputs, SupplyParams, supply_review, supply_review_with};
        use crate::contract::Month;
        use polars::prelude::*;
        let cycle = Month::parse("2027-01").unwrap();
        let months: Vec<String> = (0..18).map(|i| cycle.plus(i).to_string()).collect();
        let tables = crate::analysis::reconcile::testkit::one_resource(&months, 50.0);
        let demand = df!(
            "sku" => ["A", "A", "A", "A"],
            "customer" => ["C1", "C2", "C1", "C2"],
            "month" => ["2027-01", "2027-01", "2027-02", "2027-02"],
            "qty" => [80.0, 60.0, 80.0, 60.0]
        )
        .unwrap();
        let params = SupplyParams::default();
        let inputs = SupplyInputs { tables: &tables, demand: &demand, cycle, params: &params };
        let before = supply_review(&inputs).unwrap();
        let got = |f: &SupplyFacts, c: &str, m: &str| {
            f.constrained_plan.iter().find(|p| p.customer == c && p.month == m).unwrap().constrained_units
        };
        assert_eq!((before.totals.constrained_units, before.totals.revenue_constrained_money), (280.0, 2800.0));
        assert_eq!(before.totals.plan_cost.overtime_money, 240.0);
        let gap = |id: &str| before.gaps.iter().find(|g| g.id == id).unwrap_or_else(|| panic!("{id}"));
        let (jan, feb) = (gap("CAP-R-2027-01"), gap("CAP-R-2027-02"));
        assert_eq!(recommended_option(jan), OptionKind::Overtime);
        assert_eq!(
            jan.recommended,
            vec![crate::analysis::supply::RecommendedStep {
                kind: OptionKind::Overtime,
                units: 40.0,
                cost_money: 120.0
            }]
        );

        // The recommended decisions: the same plan.
        let mut adj = PlanAdjustments::default();
        assert_eq!(apply(&mut adj, jan, OptionKind::Overtime, 40.0), "as recommended (overtime): the least-cost plan");
        apply(&mut adj, feb, OptionKind::Overtime, 40.0);
        let after = supply_review_with(&inputs, &adj).unwrap();
        assert_eq!(after.constrained_plan, before.constrained_plan);
        assert_eq!((after.totals.constrained_units, after.totals.revenue_constrained_money), (280.0, 2800.0));
        assert_eq!(after.totals.plan_cost, before.totals.plan_cost);

        // The shortfall accepted everywhere: every fix of every gap forbidden.
        let mut adj = PlanAdjustments::default();
        let effect = apply(&mut adj, jan, OptionKind::AcceptShortfall, 0.0);
        assert_eq!(effect, "shortfall accepted: the fixes of CAP-R-2027-01 forbidden and the plan re-solved");
        apply(&mut adj, feb, OptionKind::AcceptShortfall, 0.0);
        let after = supply_review_with(&inputs, &adj).unwrap();
        assert_eq!((got(&after, "C1", "2027-01"), got(&after, "C2", "2027-01")), (80.0, 20.0));
        assert_eq!((got(&after, "C1", "2027-02"), got(&after, "C2", "2027-02")), (80.0, 20.0));
        assert_eq!((after.totals.revenue_constrained_money, after.totals.plan_cost.lost_margin_money), (2000.0, 320.0));
        assert_eq!(after.totals.plan_cost.spend(), 0.0);
        assert_eq!(before.totals.revenue_without_fixes_money, Some(after.totals.revenue_constrained_money));
        // Each gap's "accept" option is that gap's plan: January accepted alone loses 80 x 4.
        let accept = jan.options.iter().find(|o| o.kind == OptionKind::AcceptShortfall).unwrap();
        assert_eq!((accept.spend_money, accept.lost_margin_money, accept.closes_units), (0.0, 160.0, 0.0));

        // Overtime in January, the shortfall accepted in February.
        let mut adj = PlanAdjustments::default();
        apply(&mut adj, jan, OptionKind::Overtime, 40.0);
        apply(&mut adj, feb, OptionKind::AcceptShortfall, 0.0);
        let after = supply_review_with(&inputs, &adj).unwrap();
        assert_eq!((got(&after, "C2", "2027-01"), got(&after, "C2", "2027-02")), (60.0, 20.0));
        assert_eq!((after.totals.constrained_units, after.totals.revenue_constrained_money), (240.0, 2400.0));
        assert_eq!(after.totals.plan_cost.overtime_money, 120.0);
    }

    fn dir() -> Directory {
        let mut d = Directory::default();
        for (role, id, name) in
            [("coo", "olivia.chen", "Olivia Chen"), ("demand_lead", "dana.whitfield", "Dana Whitfield")]
        {
            d.roles.insert(role.into(), vec![id.into()]);
            d.names.insert(id.into(), name.into());
        }
        d
    }

    /// Three trade-offs decided for 2027-01-10, 2027-01-20 and 2027-01-10; the first carried
    /// out; as of 2027-01-12 the second is open (not yet due) and the third overdue (two days
    /// past). A sent-back trade-off is no action; a later decision on a trade-off counts.
    #[test]
    fn decisions_are_done_open_or_overdue() {
        let d = |id: i64, t: &str, choice: Choice, due: &str| DecisionRow {
            id,
            cycle: "2026-12".into(),
            tradeoff_id: Some(t.into()),
            choice,
            owner: Some("sam.okafor".into()),
            due: Some(due.into()),
            note: None,
            decided_by: "olivia.chen".into(),
            role: "coo".into(),
            decided_at: "2026-12-17T10:00:00Z".into(),
            scenario: None,
        };
        let opt = |o: &str| Choice::Option { option: o.into() };
        let decisions = vec![
            d(1, "A", opt("overtime"), "2027-01-10"),
            d(2, "B", opt("expedite"), "2027-01-20"),
            d(3, "C", opt("accept_shortfall"), "2027-01-05"),
            d(4, "C", Choice::Action { text: "re-source from Brno".into() }, "2027-01-10"),
            d(5, "D", Choice::SendBack { reason: "redo".into() }, ""),
        ];
        let done = vec![DoneRow {
            decision_id: 1,
            done_by: "sam.okafor".into(),
            done_at: "2027-01-08T09:00:00Z".into(),
            note: None,
        }];
        let p = decision_progress(&decisions, &done, "2027-01-12");
        let got: Vec<(&str, &str, Progress)> =
            p.iter().map(|x| (x.tradeoff_id.as_str(), x.decision.as_str(), x.progress)).collect();
        assert_eq!(
            got,
            vec![
                ("A", "overtime", Progress::Done),
                ("B", "expedite", Progress::Open),
                ("C", "re-source from Brno", Progress::Overdue),
            ]
        );
        assert_eq!(p[0].done, Some(("2027-01-08T09:00:00Z".into(), "sam.okafor".into())));
    }

    #[test]
    fn only_the_coo_or_the_ceo_decides() {
        assert_eq!(may_decide(&dir(), "olivia.chen"), Ok("coo".to_string()));
        let no = may_decide(&dir(), "dana.whitfield").unwrap_err();
        // Nobody is CEO here: the refusal names who may, not a vacant role.
        assert!(no.starts_with("only the COO (Olivia Chen) may decide"), "{no}");
        assert!(no.ends_with("Dana Whitfield is not allowed to"), "{no}");
        assert!(may_decide(&dir(), "nobody").unwrap_err().contains("is not a person in `snop.toml`"));
    }

    #[test]
    fn a_plan_is_signed_only_fully_decided_not_sent_back_and_built_with_the_latest_decision() {
        let facts = |undecided: &[&str], sent_back: Option<&str>, through: i64| serde_json::json!({ "undecided": undecided, "sent_back": sent_back, "decisions_through": through });
        let r = plan_sign_refusal(&facts(&["CAP-A-2027-01", "MAT-B-2027-02"], None, 3), "2026-12", 3).unwrap();
        assert!(r.contains("2 trade-off(s) have no decision: `CAP-A-2027-01`, `MAT-B-2027-02`"), "{r}");
        let r = plan_sign_refusal(&facts(&[], Some("the whole plan: redo valves"), 3), "2026-12", 3).unwrap();
        assert!(r.contains("it was sent back: the whole plan: redo valves"), "{r}");
        // The shape narrative_facts writes: the sent-back line as data text.
        let typed = serde_json::json!({ "undecided": [], "sent_back": { "text": "the whole plan: redo valves" }, "decisions_through": 3 });
        let r = plan_sign_refusal(&typed, "2026-12", 3).unwrap();
        assert!(r.contains("it was sent back: the whole plan: redo valves"), "{r}");
        let r = plan_sign_refusal(&facts(&[], None, 3), "2026-12", 4).unwrap();
        assert!(r.contains("built before the latest decision (decision 4)"), "{r}");
        assert_eq!(plan_sign_refusal(&facts(&[], None, 4), "2026-12", 4), None);
    }
}
