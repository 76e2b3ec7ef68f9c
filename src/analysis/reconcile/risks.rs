//! The risks for the executive meeting, computed from the facts (never written by the model),
//! deterministic and ranked:
//! - a resource over 100% of its regular hours in the near-term window (6 to 12 weeks out): the
//!   supply plan's near-term overloads; at stake: the margin at risk of its gap that month;
//! - a supplier below its OTIF threshold that feeds a constrained SKU (a gap names it, or its
//!   receipts at risk feed a gap); at stake: the margin at risk of those gaps;
//! - the demand consensus below the budget (else the constrained plan below it); at stake: the
//!   revenue short of the budget;
//! - a forecast layer that destroys value (negative value added), with its owner and the
//!   owners whose adjustments did;
//! - last cycle's missed commitments (the account manager with the most units missed owns it)
//!   and the order lines booked outside last cycle's signed plan.
//!
//! Ranked by money at stake (highest first); risks without a money figure (value added, last
//! cycle's loop) after them, in that order; then by id.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{ReconcileInputs, money, percent};
use crate::analysis::supply::{Gap, GapKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskKind {
    Overload,
    Supplier,
    Budget,
    ValueAdded,
    MissedCommitments,
    OffPlanOrders,
}

/// One risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Risk {
    pub rank: usize,
    /// `OVERLOAD-<resource>-<month>`, `OTIF-<supplier>`, `BUDGET`, `FVA-<layer>`, `MISSED-<cycle>`,
    /// `OFFPLAN-<cycle>`.
    pub id: String,
    pub kind: RiskKind,
    /// What it is, with its numbers formatted.
    pub text: String,
    /// Who acts on it.
    pub owner: String,
    pub at_stake_money: Option<f64>,
}

/// A forecast layer's value added, as the demand review measured it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LayerValue {
    pub layer: String,
    pub points: f64,
    pub lag_months: u32,
    pub source: String,
}

/// Last cycle's missed commitments.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Missed {
    /// The cycle scored.
    pub cycle: String,
    pub count: u32,
    pub units: f64,
    /// The account manager with the most units missed: name, units.
    pub worst: Option<(String, f64)>,
}

/// What the reconciliation reads of the demand review: the consensus against the budget, the
/// value added by layer and owner, and last cycle's loop. Built from the demand run's files.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DemandSignals {
    pub consensus_revenue_money: Option<f64>,
    pub budget_revenue_money: Option<f64>,
    /// Per layer (`sales`, `marketing`, `statistical`), its worst measured value added.
    pub layers: Vec<LayerValue>,
    /// Owners whose adjustments destroyed value: (owner's name, layer, points).
    pub owners_destroying: Vec<(String, String, f64)>,
    /// Last cycle's commitments missed.
    pub missed: Option<Missed>,
    /// Last cycle's order lines outside the plan, all order lines, units outside.
    pub off_plan: Option<(String, u64, u64, f64)>,
}

impl DemandSignals {
    /// From the demand review's `facts.json` and `last-cycle.json` (when the cycle has one);
    /// `names` turns person ids into names.
    pub fn from_json(
        facts: &serde_json::Value,
        last_cycle: Option<&serde_json::Value>,
        names: &BTreeMap<String, String>,
    ) -> DemandSignals {
        let f64_at = |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_f64);
        let str_at =
            |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_str).unwrap_or("").to_string();
        let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
        let totals = facts.get("totals").cloned().unwrap_or_default();
        let mut worst: BTreeMap<String, LayerValue> = BTreeMap::new();
        for v in facts.get("value_added").and_then(serde_json::Value::as_array).into_iter().flatten() {
            let (Some(points), layer) = (f64_at(v, "value_added_points"), str_at(v, "layer")) else { continue };
            let lag = v.get("lag_months").and_then(serde_json::Value::as_u64).unwrap_or(0) as u32;
            let e = worst.entry(layer.clone()).or_insert(LayerValue {
                layer,
                points,
                lag_months: lag,
                source: str_at(v, "source"),
            });
            if points < e.points {
                *e = LayerValue { layer: e.layer.clone(), points, lag_months: lag, source: str_at(v, "source") };
            }
        }
        let mut owners_destroying: Vec<(String, String, f64)> = facts
            .get("value_added_by_owner")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| {
                let p = f64_at(v, "value_added_points")?;
                (p < 0.0).then(|| (name(&str_at(v, "owner")), str_at(v, "layer"), p))
            })
            .collect();
        owners_destroying.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
        let missed = last_cycle.and_then(|l| {
            let n = l.get("missed").and_then(serde_json::Value::as_u64)? as u32;
            let worst = l
                .get("by_owner")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|o| Some((name(&str_at(o, "name")), f64_at(o, "missed_units")?)))
                .filter(|o| o.1 > 0.0)
                .fold(None::<(String, f64)>, |b, o| match b {
                    Some(b) if b.1 >= o.1 => Some(b),
                    _ => Some(o),
                });
            Some(Missed {
                cycle: str_at(l, "scored_cycle"),
                count: n,
                units: f64_at(l, "missed_units").unwrap_or(0.0),
                worst,
            })
        });
        let off_plan = last_cycle.and_then(|l| {
            let o = l.get("orders")?;
            let count = |k: &str| o.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
            Some((
                str_at(l, "scored_cycle"),
                count("lines_beyond_plan") + count("lines_without_plan"),
                count("order_lines"),
                f64_at(o, "units_outside_plan").unwrap_or(0.0),
            ))
        });
        DemandSignals {
            consensus_revenue_money: f64_at(&totals, "final_revenue"),
            budget_revenue_money: f64_at(&totals, "budget_revenue"),
            layers: worst.into_values().collect(),
            owners_destroying,
            missed,
            off_plan,
        }
    }
}

/// The owner of a role as the risks name it, or the role's title.
fn owner(inputs: &ReconcileInputs<'_>, role: &str) -> String {
    inputs.owners.get(role).cloned().unwrap_or_else(|| crate::sop::role_title(role).to_string())
}

/// The risks, ranked.
pub fn risks(inputs: &ReconcileInputs<'_>) -> Vec<Risk> {
    let mut out = supply_risks(inputs);
    out.extend(budget_risk(inputs));
    if let Some(d) = &inputs.demand {
        out.extend(demand_risks(inputs, d));
    }
    out.sort_by(|a, b| match (a.at_stake_money, b.at_stake_money) {
        (Some(x), Some(y)) => y.total_cmp(&x).then(a.kind.cmp(&b.kind)).then(a.id.cmp(&b.id)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.kind.cmp(&b.kind).then(a.id.cmp(&b.id)),
    });
    for (i, r) in out.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    out
}

/// Near-term overloads and suppliers below their OTIF threshold feeding a constrained SKU.
fn supply_risks(inputs: &ReconcileInputs<'_>) -> Vec<Risk> {
    let s = inputs.supply;
    let supply_lead = owner(inputs, "supply_lead");
    let mut out = Vec::new();
    for o in &s.near_term_overloads {
        let at_stake: f64 = s
            .gaps
            .iter()
            .filter(|g| matches!(g.kind, GapKind::Capacity | GapKind::Labour))
            .filter(|g| g.resource.as_deref() == Some(o.resource.as_str()) && g.month == o.month)
            .map(|g| g.margin_at_risk_money)
            .sum();
        out.push(Risk {
            rank: 0,
            id: format!("OVERLOAD-{}-{}", o.resource, o.month),
            kind: RiskKind::Overload,
            text: format!(
                "{} at {} is loaded to {} of its regular hours in {} ({} hours over), inside the 6-12-week window; {} of margin at risk",
                o.resource,
                o.site,
                percent(o.utilisation_percent),
                o.month,
                money(o.overload_hours),
                money(at_stake)
            ),
            owner: supply_lead.clone(),
            at_stake_money: Some(super::r2(at_stake)),
        });
    }
    let by_id: BTreeMap<&str, &Gap> = s.gaps.iter().map(|g| (g.id.as_str(), g)).collect();
    for sup in s.suppliers.iter().filter(|x| x.below_threshold) {
        let mut fed: BTreeSet<&str> = s
            .gaps
            .iter()
            .filter(|g| g.supplier.as_deref().is_some_and(|n| n.split(", ").any(|n| n == sup.supplier)))
            .map(|g| g.id.as_str())
            .collect();
        for r in s.receipts_at_risk.iter().filter(|r| r.supplier == sup.supplier) {
            fed.extend(r.feeds_gaps.iter().map(String::as_str).filter(|id| by_id.contains_key(id)));
        }
        if fed.is_empty() {
            continue;
        }
        let at_stake: f64 = fed.iter().filter_map(|id| by_id.get(id)).map(|g| g.margin_at_risk_money).sum();
        let skus: BTreeSet<&str> =
            fed.iter().filter_map(|id| by_id.get(id)).flat_map(|g| g.skus_hit.iter().map(String::as_str)).collect();
        out.push(Risk {
            rank: 0,
            id: format!("OTIF-{}", sup.supplier),
            kind: RiskKind::Supplier,
            text: format!(
                "{} delivers {} on time and in full (threshold {}){}, feeding {} constrained SKU(s) through {} gap(s); {} of margin at risk",
                sup.supplier,
                sup.otif_percent.map_or("an unknown share".to_string(), percent),
                percent(s.params.otif_threshold * 100.0),
                if sup.at_risk_po_units > 0.0 {
                    format!(", {} units of open orders at risk", money(sup.at_risk_po_units))
                } else {
                    String::new()
                },
                skus.len(),
                fed.len(),
                money(at_stake)
            ),
            owner: supply_lead.clone(),
            at_stake_money: Some(super::r2(at_stake)),
        });
    }
    out
}

/// The consensus against the budget (else the constrained plan against it).
fn budget_risk(inputs: &ReconcileInputs<'_>) -> Option<Risk> {
    let t = &inputs.supply.totals;
    let d = inputs.demand.as_ref();
    let budget = d.and_then(|d| d.budget_revenue_money).unwrap_or(t.budget_revenue_money);
    let consensus = d.and_then(|d| d.consensus_revenue_money).unwrap_or(t.revenue_unconstrained_money);
    if budget <= 0.0 {
        return None;
    }
    let (what, value, role) = if consensus < budget {
        ("the demand consensus", consensus, "demand_lead")
    } else if t.revenue_constrained_money < budget {
        ("the constrained supply plan", t.revenue_constrained_money, "supply_lead")
    } else {
        return None;
    };
    let short = budget - value;
    Some(Risk {
        rank: 0,
        id: "BUDGET".into(),
        kind: RiskKind::Budget,
        text: format!(
            "{what}'s revenue {} is {} ({}) below the budget {}",
            money(value),
            money(short),
            percent(100.0 * short / budget),
            money(budget)
        ),
        owner: owner(inputs, role),
        at_stake_money: Some(super::r2(short)),
    })
}

/// Layers that destroy value, last cycle's missed commitments and off-plan orders.
fn demand_risks(inputs: &ReconcileInputs<'_>, d: &DemandSignals) -> Vec<Risk> {
    let mut out = Vec::new();
    for l in d.layers.iter().filter(|l| l.points < 0.0) {
        let role = match l.layer.as_str() {
            "sales" => "sales_lead",
            _ => "demand_lead",
        };
        let owners: Vec<String> = d
            .owners_destroying
            .iter()
            .filter(|o| o.1 == l.layer)
            .take(3)
            .map(|o| format!("{} ({:.1} points)", o.0, o.2))
            .collect();
        out.push(Risk {
            rank: 0,
            id: format!("FVA-{}", l.layer),
            kind: RiskKind::ValueAdded,
            text: format!(
                "the {} layer made the forecast worse: {:.1} points of accuracy lost at lag {} ({}){}",
                l.layer,
                l.points,
                l.lag_months,
                l.source,
                if owners.is_empty() {
                    String::new()
                } else {
                    format!("; adjustments that hurt most: {}", owners.join(", "))
                }
            ),
            owner: owner(inputs, role),
            at_stake_money: None,
        });
    }
    if let Some(Missed { cycle, count: n, units, worst }) = &d.missed
        && *n > 0
    {
        out.push(Risk {
            rank: 0,
            id: format!("MISSED-{cycle}"),
            kind: RiskKind::MissedCommitments,
            text: format!(
                "{} commitment(s) to customers of {cycle} were missed ({} units short)",
                money(f64::from(*n)),
                money(*units)
            ),
            owner: worst.as_ref().map_or_else(|| owner(inputs, "sales_lead"), |w| w.0.clone()),
            at_stake_money: None,
        });
    }
    if let Some((cycle, lines, all, units)) = &d.off_plan
        && *lines > 0
    {
        out.push(Risk {
            rank: 0,
            id: format!("OFFPLAN-{cycle}"),
            kind: RiskKind::OffPlanOrders,
            text: format!(
                "{} of {} order lines ({} units) were booked outside {cycle}'s signed plan",
                money(*lines as f64),
                money(*all as f64),
                money(*units)
            ),
            owner: owner(inputs, "sales_lead"),
            at_stake_money: None,
        });
    }
    out
}
