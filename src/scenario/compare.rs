//! What a scenario's plan comes to ([`Outcome`], computed once from its supply facts when it
//! runs, and stored with the run) and scenarios side by side ([`Comparison`]): revenue,
//! margin, cost by kind, service level, unmet units by customer and family, gaps opened and
//! closed, and the largest differences in words. Pure.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::analysis::format_number;
use crate::analysis::supply::lp::Cost;
use crate::analysis::supply::{GapKind, SupplyFacts};

/// A scenario's plan in the figures a comparison shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub name: String,
    pub description: String,
    pub cycle: String,
    /// The consensus as the scenario layers it (every layer of the cycle's consensus plus the
    /// scenario's demand layer, by the demand review's rules): final units and revenue.
    #[serde(default)]
    pub consensus_units: f64,
    #[serde(default)]
    pub consensus_revenue_money: f64,
    /// The scenario's demand layer, in units (0 without a demand change).
    #[serde(default)]
    pub scenario_layer_units: f64,
    /// Units the plan is asked for: the consensus, with booked open orders as a floor.
    pub demand_units: f64,
    pub served_units: f64,
    pub unmet_units: f64,
    /// Units served over units demanded, in percent (100 with no demand).
    pub service_level_percent: f64,
    pub revenue_money: f64,
    /// Margin of what is served, at standard cost.
    pub margin_money: f64,
    /// Spent on fixes: overtime, holding, routing and purchase premiums, expedites.
    pub spend_money: f64,
    /// Margin less the spend on fixes.
    pub margin_after_fixes_money: f64,
    pub cost: Cost,
    /// Per customer: units not served and their revenue.
    pub unmet_by_customer: Vec<Unmet>,
    /// Per family: units not served and their revenue.
    pub unmet_by_family: Vec<Unmet>,
    /// The gaps the plan has (where the requirement does not fit as it is).
    pub gaps: Vec<GapBrief>,
    /// What each change of the scenario did to the inputs.
    pub changes: Vec<String>,
    /// The identity of the inputs before the scenario's changes (its run sets it): outcomes are
    /// compared only over the same base inputs.
    #[serde(default)]
    pub base_inputs: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unmet {
    pub key: String,
    pub units: f64,
    pub revenue_money: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapBrief {
    pub id: String,
    pub kind: GapKind,
    pub month: String,
    pub units_short: f64,
    pub margin_at_risk_money: f64,
}

fn r2(x: f64) -> f64 {
    let v = (x * 100.0).round() / 100.0;
    if v == 0.0 { 0.0 } else { v }
}

/// The outcome of a plan: `families` maps each SKU to its family.
pub fn outcome(
    name: &str,
    description: &str,
    f: &SupplyFacts,
    families: &BTreeMap<String, String>,
    changes: Vec<String>,
) -> Outcome {
    let t = &f.totals;
    let mut by_family: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for l in &f.constrained_plan {
        let fam = families.get(&l.sku).cloned().unwrap_or_else(|| "(no family)".into());
        by_family.entry(fam).or_default().0 += l.demand_units - l.constrained_units;
    }
    for x in &f.financials {
        by_family.entry(x.family.clone()).or_default().1 += x.revenue_unconstrained_money - x.revenue_constrained_money;
    }
    let spend = t.plan_cost.spend();
    Outcome {
        name: name.into(),
        description: description.into(),
        cycle: f.cycle.clone(),
        consensus_units: 0.0,
        consensus_revenue_money: 0.0,
        scenario_layer_units: 0.0,
        demand_units: r2(t.demand_units),
        served_units: r2(t.constrained_units),
        unmet_units: r2(t.unmet_units),
        service_level_percent: if t.demand_units > 0.0 {
            r2(100.0 * t.constrained_units / t.demand_units)
        } else {
            100.0
        },
        revenue_money: r2(t.revenue_constrained_money),
        margin_money: r2(t.margin_constrained_money),
        spend_money: r2(spend),
        margin_after_fixes_money: r2(t.margin_constrained_money - spend),
        cost: t.plan_cost,
        unmet_by_customer: f
            .unmet_by_customer
            .iter()
            .map(|c| Unmet {
                key: c.customer.clone(),
                units: r2(c.unmet_units),
                revenue_money: r2(c.unmet_revenue_money),
            })
            .collect(),
        unmet_by_family: by_family
            .into_iter()
            .map(|(key, (units, revenue))| Unmet { key, units: r2(units), revenue_money: r2(revenue) })
            .collect(),
        gaps: f
            .gaps
            .iter()
            .map(|g| GapBrief {
                id: g.id.clone(),
                kind: g.kind,
                month: g.month.clone(),
                units_short: g.units_short,
                margin_at_risk_money: g.margin_at_risk_money,
            })
            .collect(),
        changes,
        base_inputs: String::new(),
    }
}

impl Outcome {
    /// The outcome with the consensus it planned: its layers' totals (`t`, the scenario's
    /// demand layer included) and that layer's units.
    pub fn with_consensus(self, t: &crate::analysis::demand::LayerTotals, layer_units: f64) -> Outcome {
        Outcome {
            consensus_units: r2(t.final_units),
            consensus_revenue_money: r2(t.final_revenue),
            scenario_layer_units: r2(layer_units),
            ..self
        }
    }
}

/// Scenarios side by side, the base first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub cycle: String,
    pub outcomes: Vec<Outcome>,
    /// The headline figures, one row each, a value per outcome.
    pub figures: Vec<Row>,
    /// Unmet units per customer (rows where any outcome has some), a value per outcome.
    pub unmet_by_customer: Vec<Row>,
    pub unmet_by_family: Vec<Row>,
    /// Per scenario after the base: the gaps it opens and closes against the base.
    pub gaps: Vec<GapChange>,
    /// Per scenario after the base: the largest differences, in words.
    pub explained: Vec<Explained>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub label: String,
    pub values: Vec<f64>,
    /// Whether the values are money (else units or percent, as the label says).
    pub money: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapChange {
    pub scenario: String,
    /// `opened` or `closed`.
    pub change: String,
    pub id: String,
    pub kind: GapKind,
    pub month: String,
    pub units_short: f64,
    pub margin_at_risk_money: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explained {
    pub scenario: String,
    pub lines: Vec<String>,
}

/// How many differences are explained per scenario (after the headline).
pub const TOP_DIFFERENCES: usize = 5;

/// The comparison of `outcomes`, the first one the base.
pub fn compare(outcomes: Vec<Outcome>) -> Comparison {
    let figure = |label: &str, money: bool, f: &dyn Fn(&Outcome) -> f64| Row {
        label: label.into(),
        values: outcomes.iter().map(f).collect(),
        money,
    };
    let figures = vec![
        figure("Revenue", true, &|o| o.revenue_money),
        figure("Margin (served, at standard cost)", true, &|o| o.margin_money),
        figure("Spend on fixes", true, &|o| o.spend_money),
        figure("Margin after fixes", true, &|o| o.margin_after_fixes_money),
        figure("Overtime", true, &|o| o.cost.overtime_money),
        figure("Holding (build-ahead)", true, &|o| o.cost.holding_money),
        figure("Alternate routings", true, &|o| o.cost.routing_premium_money),
        figure("Second sources", true, &|o| o.cost.purchase_premium_money),
        figure("Expedites", true, &|o| o.cost.expedite_money),
        figure("Margin lost on unmet demand", true, &|o| o.cost.lost_margin_money),
        figure("Consensus units", false, &|o| o.consensus_units),
        figure("Consensus revenue", true, &|o| o.consensus_revenue_money),
        figure("Scenario demand layer units", false, &|o| o.scenario_layer_units),
        figure("Demand units", false, &|o| o.demand_units),
        figure("Served units", false, &|o| o.served_units),
        figure("Unmet units", false, &|o| o.unmet_units),
        figure("Service level %", false, &|o| o.service_level_percent),
        figure("Gaps", false, &|o| o.gaps.len() as f64),
    ];
    let side = |pick: &dyn Fn(&Outcome) -> &Vec<Unmet>| -> Vec<Row> {
        let keys: BTreeSet<&str> =
            outcomes.iter().flat_map(|o| pick(o).iter().filter(|u| u.units > 0.0).map(|u| u.key.as_str())).collect();
        keys.into_iter()
            .map(|k| Row {
                label: k.to_string(),
                values: outcomes.iter().map(|o| pick(o).iter().find(|u| u.key == k).map_or(0.0, |u| u.units)).collect(),
                money: false,
            })
            .collect()
    };
    let unmet_by_customer = side(&|o| &o.unmet_by_customer);
    let unmet_by_family = side(&|o| &o.unmet_by_family);
    let mut gaps = Vec::new();
    let mut explained = Vec::new();
    if let Some((base, rest)) = outcomes.split_first() {
        for o in rest {
            let changed = gap_changes(base, o);
            explained.push(Explained { scenario: o.name.clone(), lines: explain(base, o, &changed) });
            gaps.extend(changed);
        }
    }
    Comparison {
        cycle: outcomes.first().map(|o| o.cycle.clone()).unwrap_or_default(),
        outcomes,
        figures,
        unmet_by_customer,
        unmet_by_family,
        gaps,
        explained,
    }
}

/// The gaps `o` has and `base` has not (opened), and those `base` has and `o` has not (closed).
fn gap_changes(base: &Outcome, o: &Outcome) -> Vec<GapChange> {
    let ids = |x: &Outcome| x.gaps.iter().map(|g| g.id.clone()).collect::<BTreeSet<_>>();
    let (b, s) = (ids(base), ids(o));
    let change = |g: &GapBrief, what: &str| GapChange {
        scenario: o.name.clone(),
        change: what.into(),
        id: g.id.clone(),
        kind: g.kind,
        month: g.month.clone(),
        units_short: g.units_short,
        margin_at_risk_money: g.margin_at_risk_money,
    };
    let mut out: Vec<GapChange> = o.gaps.iter().filter(|g| !b.contains(&g.id)).map(|g| change(g, "opened")).collect();
    out.extend(base.gaps.iter().filter(|g| !s.contains(&g.id)).map(|g| change(g, "closed")));
    out
}

fn signed_money(x: f64) -> String {
    if x > 0.0 { format!("+{}", format_number(x)) } else { format_number(x) }
}

/// The headline (margin after fixes and service level against the base), then the
/// [`TOP_DIFFERENCES`] largest differences by the money they move: a cost kind, revenue, a
/// customer's unmet revenue, a gap opened or closed.
fn explain(base: &Outcome, o: &Outcome, gaps: &[GapChange]) -> Vec<String> {
    let mut lines = vec![format!(
        "{}: margin after fixes {} against {} ({} -> {}); service level {}% -> {}%; unmet units {} -> {}.",
        o.name,
        signed_money(o.margin_after_fixes_money - base.margin_after_fixes_money),
        base.name,
        format_number(base.margin_after_fixes_money),
        format_number(o.margin_after_fixes_money),
        format_number(base.service_level_percent),
        format_number(o.service_level_percent),
        format_number(base.unmet_units),
        format_number(o.unmet_units),
    )];
    let mut cands: Vec<(f64, String)> = Vec::new();
    let (bc, oc) = (&base.cost, &o.cost);
    for (what, b, s) in [
        ("revenue", base.revenue_money, o.revenue_money),
        ("overtime spend", bc.overtime_money, oc.overtime_money),
        ("holding for build-ahead", bc.holding_money, oc.holding_money),
        ("alternate routing premiums", bc.routing_premium_money, oc.routing_premium_money),
        ("second-source premiums", bc.purchase_premium_money, oc.purchase_premium_money),
        ("expedite premiums", bc.expedite_money, oc.expedite_money),
        ("margin lost on unmet demand", bc.lost_margin_money, oc.lost_margin_money),
    ] {
        let d = s - b;
        if d.abs() >= 0.005 {
            cands.push((d.abs(), format!("{what} {} ({} -> {})", signed_money(d), format_number(b), format_number(s))));
        }
    }
    let unmet = |x: &Outcome, k: &str| {
        x.unmet_by_customer.iter().find(|u| u.key == k).map_or((0.0, 0.0), |u| (u.units, u.revenue_money))
    };
    let customers: BTreeSet<&str> =
        base.unmet_by_customer.iter().chain(&o.unmet_by_customer).map(|u| u.key.as_str()).collect();
    for c in customers {
        let ((bu, br), (su, sr)) = (unmet(base, c), unmet(o, c));
        let d = sr - br;
        if d.abs() >= 0.005 {
            let more = if su > bu { "more" } else { "fewer" };
            cands.push((
                d.abs(),
                format!(
                    "customer {c}: {} {more} units unmet ({} -> {}), unmet revenue {}",
                    format_number((su - bu).abs()),
                    format_number(bu),
                    format_number(su),
                    signed_money(d)
                ),
            ));
        }
    }
    for g in gaps {
        cands.push((
            g.margin_at_risk_money,
            format!(
                "gap {} {} ({} units short as planned, {} of margin at risk)",
                g.id,
                g.change,
                format_number(g.units_short),
                format_number(g.margin_at_risk_money)
            ),
        ));
    }
    cands.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    lines.extend(cands.into_iter().take(TOP_DIFFERENCES).map(|(_, s)| s));
    lines
}

/// The scenario comparison the reconciliation pack carries (`[reconciliation] pack_scenario`):
/// the base against the scenario from their current runs, or why it is not shown (a run missing,
/// or stale: the inputs or the file changed since it ran). Old figures are never shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackScenario {
    pub name: String,
    /// Base and scenario, as `snop scenario compare --cycle C base NAME` shows them.
    pub comparison: Option<Comparison>,
    /// Why there is no comparison, with what to run.
    pub problem: Option<String>,
}

impl PackScenario {
    /// The scenario's figure against the base's, by the comparison's row label: (base,
    /// scenario, difference).
    pub fn figure(&self, label: &str) -> Option<(f64, f64, f64)> {
        let row = self.comparison.as_ref()?.figures.iter().find(|r| r.label == label)?;
        match row.values.as_slice() {
            [b, s, ..] => Some((*b, *s, r2(*s - *b))),
            _ => None,
        }
    }
}
