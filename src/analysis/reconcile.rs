//! The pre-S&OP reconciliation: every disagreement between the demand consensus and the supply
//! plan (each gap of the supply plan) becomes either *resolved* (its recommended fixes close it
//! at a cost the leads may approve without executives) or a *trade-off* for the executive
//! meeting, ranked by margin at risk. Also the agreed plan by family and quarter against the
//! budget and the last signed plan, and the financial impact. Pure: the facts of the signed
//! supply plan in, [`ReconciliationFacts`] out.
//!
//! Decisions:
//! - A gap is **resolved** when its recommended fixes close all of it (no part accepted as a
//!   shortfall) and their cost is within `leads_may_approve_up_to`. A gap whose recommendation
//!   accepts a shortfall is always a trade-off: losing a customer's volume is an executive call.
//! - Trade-offs are ranked by margin at risk (highest first), then by month and id, so the top 3
//!   on the pack are the ones that matter most and the order is stable.
//! - The financial impact is the supply plan's: the least-cost plan is the plan with the
//!   recommended decisions, so its revenue is "with the recommended decisions" (see
//!   [`Financial`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::r2;
use super::supply::{Gap, GapKind, GapOption, OptionKind, RecommendedStep, SupplyFacts};

/// `[reconciliation]` in `snop.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconcileParams {
    /// The cost (workspace currency) up to which the demand and supply leads may approve a gap's
    /// recommended fixes without executives.
    pub leads_may_approve_up_to: f64,
}

impl Default for ReconcileParams {
    fn default() -> Self {
        ReconcileParams { leads_may_approve_up_to: 25_000.0 }
    }
}

/// A signed plan as its cycle and (sku, month `YYYY-MM`, planned units) lines.
pub type SignedPlanLines = (String, Vec<(String, String, f64)>);

/// What the reconciliation reads.
pub struct ReconcileInputs<'a> {
    pub supply: &'a SupplyFacts,
    /// SKU to (family, unit price), from the items master.
    pub items: &'a BTreeMap<String, (String, f64)>,
    /// The previous cycle's signed plan, if any: its cycle and (sku, month, planned units).
    pub last_signed: Option<SignedPlanLines>,
    pub params: &'a ReconcileParams,
    pub demand_signed: bool,
    pub supply_signed: bool,
    /// The executive meeting's first day (`YYYY-MM-DD`): the due date of every decision.
    pub executive_date: String,
    /// Who decides the trade-offs ("the COO (Olivia Chen)").
    pub decision_owner: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconciliationFacts {
    pub cycle: String,
    pub demand_consensus_signed: bool,
    pub supply_plan_signed: bool,
    /// Either input is not signed (drafted with `--allow-unsigned`): every page says so.
    pub built_on_unsigned_inputs: bool,
    pub leads_may_approve_up_to_money: f64,
    pub executive_date: String,
    pub decision_owner: String,
    /// The cycle of the last signed plan compared against, or `None` when there is none.
    pub last_signed_plan_cycle: Option<String>,
    pub agreed_plan: Vec<QuarterLine>,
    pub financial: Financial,
    /// Ranked by margin at risk, highest first.
    pub trade_offs: Vec<TradeOff>,
    pub resolved: Vec<Resolved>,
    pub open_questions: Vec<String>,
}

/// One family and quarter of the agreed (constrained) plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarterLine {
    pub family: String,
    /// `YYYY-Qn`.
    pub quarter: String,
    pub units: f64,
    pub revenue_money: f64,
    pub unconstrained_revenue_money: f64,
    pub budget_revenue_money: Option<f64>,
    pub last_signed_units: Option<f64>,
    pub last_signed_revenue_money: Option<f64>,
}

/// The financial impact, from the supply plan's totals. The supply plan is the least-cost plan:
/// it is the plan with the recommended decisions (the executive's re-plan with them is the same
/// plan), so every figure here is a feasible plan's, computed once, never summed over gaps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Financial {
    pub revenue_unconstrained_money: f64,
    /// The supply plan's revenue: the plan with the recommended decisions.
    pub revenue_constrained_money: f64,
    pub budget_revenue_money: f64,
    pub margin_unconstrained_money: f64,
    pub margin_constrained_money: f64,
    /// Revenue with the recommended decisions: the re-planned (least-cost) plan's.
    pub revenue_with_recommendations_money: f64,
    /// Demand's revenue that plan does not serve (unconstrained less its revenue).
    pub revenue_at_risk_money: f64,
    /// What that plan spends on fixes (overtime, build-ahead, alternate routings, purchases and
    /// expedites above standard cost).
    pub spend_money: f64,
    /// The margin that plan loses on demand it does not serve.
    pub lost_margin_money: f64,
    /// Revenue with every gap's fixes forbidden (every shortfall accepted), when the supply plan
    /// computed it.
    pub revenue_without_fixes_money: Option<f64>,
}

/// A gap the executive meeting must decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeOff {
    /// 1 = the most margin at risk.
    pub rank: usize,
    /// The gap's id in the supply plan: the trade-off's id in `snop decide --tradeoff`.
    pub id: String,
    pub kind: GapKind,
    /// Where: "Assembly 2 at Plant North", "component X from supplier Y".
    pub place: String,
    pub month: String,
    pub near_term: bool,
    pub units_short: f64,
    pub revenue_at_risk_money: f64,
    pub margin_at_risk_money: f64,
    pub customers_hit: Vec<String>,
    /// Why the leads could not resolve it.
    pub why: String,
    pub options: Vec<GapOption>,
    pub recommendation: Recommendation,
}

/// The decision the reconciliation recommends for a trade-off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The main option (the first fix recommended, or accepting the shortfall).
    pub option: OptionKind,
    pub steps: Vec<RecommendedStep>,
    pub cost_money: f64,
    /// What it buys: "closes 120 of 150 units, keeps 9,000 of margin".
    pub buys: String,
    pub owner: String,
    pub due: String,
}

/// A gap the leads close within their limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolved {
    pub id: String,
    pub kind: GapKind,
    pub place: String,
    pub month: String,
    pub units_short: f64,
    pub margin_at_risk_money: f64,
    pub steps: Vec<RecommendedStep>,
    pub cost_money: f64,
}

/// "2027-Q1" for "2027-02".
pub fn quarter_of(month: &str) -> String {
    let (y, m) = month.split_once('-').unwrap_or((month, "1"));
    let m: u32 = m.parse().unwrap_or(1);
    format!("{y}-Q{}", (m.max(1) - 1) / 3 + 1)
}

/// Where a gap is, as a planner says it.
pub fn place_of(g: &Gap) -> String {
    match g.kind {
        GapKind::Capacity | GapKind::Labour => {
            format!("{} at {}", g.resource.as_deref().unwrap_or("a resource"), g.site.as_deref().unwrap_or("its site"))
        }
        GapKind::Material | GapKind::Supplier => format!(
            "{} from {}",
            g.component.as_deref().unwrap_or("a component"),
            g.supplier.as_deref().unwrap_or("its supplier")
        ),
    }
}

/// The kind of gap as a word: "capacity", "labour", "material", "supplier".
pub fn kind_word(k: GapKind) -> &'static str {
    match k {
        GapKind::Capacity => "capacity",
        GapKind::Labour => "labour",
        GapKind::Material => "material",
        GapKind::Supplier => "supplier",
    }
}

/// An option kind as it is typed (`overtime`, `build_ahead`, ...).
pub fn option_key(k: OptionKind) -> &'static str {
    match k {
        OptionKind::Overtime => "overtime",
        OptionKind::BuildAhead => "build_ahead",
        OptionKind::AlternateSite => "alternate_site",
        OptionKind::Expedite => "expedite",
        OptionKind::AlternateSupplier => "alternate_supplier",
        OptionKind::AcceptShortfall => "accept_shortfall",
    }
}

pub fn option_from_key(key: &str) -> Option<OptionKind> {
    [
        OptionKind::Overtime,
        OptionKind::BuildAhead,
        OptionKind::AlternateSite,
        OptionKind::Expedite,
        OptionKind::AlternateSupplier,
        OptionKind::AcceptShortfall,
    ]
    .into_iter()
    .find(|k| option_key(*k) == key)
}

/// Units the fixes of a set of steps close (accepting the shortfall closes nothing).
fn closes(steps: &[RecommendedStep]) -> f64 {
    steps.iter().filter(|s| s.kind != OptionKind::AcceptShortfall).map(|s| s.units).sum()
}

/// Whether the leads may close a gap themselves: every unit closed by a fix, within the limit.
pub fn leads_resolve(g: &Gap, limit: f64) -> bool {
    let accepts = g.recommended.iter().any(|s| s.kind == OptionKind::AcceptShortfall && s.units > 1e-9);
    !accepts && closes(&g.recommended) + 1e-6 >= g.units_short && g.recommended_cost_money <= limit + 1e-9
}

/// Reconciles the supply plan's gaps and builds the pack's facts.
pub fn reconcile(inputs: &ReconcileInputs<'_>) -> ReconciliationFacts {
    let s = inputs.supply;
    let limit = inputs.params.leads_may_approve_up_to;
    let (mut trade_offs, resolved) = split_gaps(inputs);
    rank_trade_offs(&mut trade_offs);
    let agreed_plan = agreed_plan(inputs);
    let financial = financial_impact(s);
    let open_questions = open_questions(inputs, &trade_offs);

    ReconciliationFacts {
        cycle: s.cycle.clone(),
        demand_consensus_signed: inputs.demand_signed,
        supply_plan_signed: inputs.supply_signed,
        built_on_unsigned_inputs: !(inputs.demand_signed && inputs.supply_signed),
        leads_may_approve_up_to_money: limit,
        executive_date: inputs.executive_date.clone(),
        decision_owner: inputs.decision_owner.clone(),
        last_signed_plan_cycle: inputs.last_signed.as_ref().map(|(c, _)| c.clone()),
        agreed_plan,
        financial,
        trade_offs,
        resolved,
        open_questions,
    }
}

/// Splits the gaps of the supply plan, in the plan's order, into trade-offs for the executives
/// (not yet ranked) and gaps the leads resolve.
fn split_gaps(inputs: &ReconcileInputs<'_>) -> (Vec<TradeOff>, Vec<Resolved>) {
    let limit = inputs.params.leads_may_approve_up_to;
    let mut trade_offs = Vec::new();
    let mut resolved = Vec::new();
    for g in &inputs.supply.gaps {
        if leads_resolve(g, limit) {
            resolved.push(resolved_gap(g));
        } else {
            trade_offs.push(trade_off(g, inputs));
        }
    }
    (trade_offs, resolved)
}

/// A gap the leads close: its recommended fixes and their cost.
fn resolved_gap(g: &Gap) -> Resolved {
    Resolved {
        id: g.id.clone(),
        kind: g.kind,
        place: place_of(g),
        month: g.month.clone(),
        units_short: g.units_short,
        margin_at_risk_money: g.margin_at_risk_money,
        steps: g.recommended.clone(),
        cost_money: g.recommended_cost_money,
    }
}

/// A gap for the executives (rank 0 until ranked): why the leads could not close it, its
/// options, and the recommended decision with what it buys, owner and due date.
fn trade_off(g: &Gap, inputs: &ReconcileInputs<'_>) -> TradeOff {
    let limit = inputs.params.leads_may_approve_up_to;
    let money = super::format_number;
    let accepted: f64 = g.recommended.iter().filter(|s| s.kind == OptionKind::AcceptShortfall).map(|s| s.units).sum();
    let why = if accepted > 1e-9 {
        format!(
            "no fix closes all of it: {} of {} units would be accepted short",
            money(accepted),
            money(g.units_short)
        )
    } else {
        format!("its fixes cost {}, over the {} the leads may approve", money(g.recommended_cost_money), money(limit))
    };
    let option = g
        .recommended
        .iter()
        .find(|s| s.kind != OptionKind::AcceptShortfall)
        .or(g.recommended.first())
        .map_or(OptionKind::AcceptShortfall, |s| s.kind);
    let closed = closes(&g.recommended);
    let margin_kept =
        if g.units_short > 0.0 { g.margin_at_risk_money * (closed / g.units_short).min(1.0) } else { 0.0 };
    TradeOff {
        rank: 0,
        id: g.id.clone(),
        kind: g.kind,
        place: place_of(g),
        month: g.month.clone(),
        near_term: g.near_term,
        units_short: g.units_short,
        revenue_at_risk_money: g.revenue_at_risk_money,
        margin_at_risk_money: g.margin_at_risk_money,
        customers_hit: g.customers_hit.clone(),
        why,
        options: g.options.clone(),
        recommendation: Recommendation {
            option,
            steps: g.recommended.clone(),
            cost_money: g.recommended_cost_money,
            buys: format!(
                "closes {} of {} units, keeps {} of margin",
                money(closed),
                money(g.units_short),
                money(r2(margin_kept))
            ),
            owner: inputs.decision_owner.clone(),
            due: inputs.executive_date.clone(),
        },
    }
}

/// Orders the trade-offs by margin at risk (highest first), then month and id, and numbers
/// their ranks from 1.
fn rank_trade_offs(trade_offs: &mut [TradeOff]) {
    trade_offs.sort_by(|a, b| {
        b.margin_at_risk_money.total_cmp(&a.margin_at_risk_money).then(a.month.cmp(&b.month)).then(a.id.cmp(&b.id))
    });
    for (i, t) in trade_offs.iter_mut().enumerate() {
        t.rank = i + 1;
    }
}

/// The lines of the agreed plan, by family and quarter.
type QuarterLines = BTreeMap<(String, String), QuarterLine>;

/// Makes sure the line of a family and quarter exists (empty when new).
fn line(lines: &mut QuarterLines, family: &str, quarter: String) -> QuarterLine {
    lines
        .entry((family.to_string(), quarter.clone()))
        .or_insert_with(|| QuarterLine {
            family: family.to_string(),
            quarter,
            units: 0.0,
            revenue_money: 0.0,
            unconstrained_revenue_money: 0.0,
            budget_revenue_money: None,
            last_signed_units: None,
            last_signed_revenue_money: None,
        })
        .clone()
}

/// The family of a SKU unknown to the items master.
fn unknown_family() -> (String, f64) {
    ("(unknown family)".to_string(), 0.0)
}

/// The agreed plan by family and quarter: the constrained units, the revenue (constrained,
/// unconstrained, budget) and the last signed plan, each rounded to cents.
fn agreed_plan(inputs: &ReconcileInputs<'_>) -> Vec<QuarterLine> {
    let s = inputs.supply;
    let mut lines: QuarterLines = BTreeMap::new();
    let unknown = unknown_family();
    for p in &s.constrained_plan {
        let (family, _) = inputs.items.get(&p.sku).unwrap_or(&unknown);
        line(&mut lines, family, quarter_of(&p.month));
        let l = lines.get_mut(&(family.clone(), quarter_of(&p.month))).expect("inserted");
        l.units += p.constrained_units;
    }
    for f in &s.financials {
        line(&mut lines, &f.family, quarter_of(&f.month));
        let l = lines.get_mut(&(f.family.clone(), quarter_of(&f.month))).expect("inserted");
        l.revenue_money += f.revenue_constrained_money;
        l.unconstrained_revenue_money += f.revenue_unconstrained_money;
        if let Some(b) = f.budget_revenue_money {
            l.budget_revenue_money = Some(l.budget_revenue_money.unwrap_or(0.0) + b);
        }
    }
    add_last_signed(inputs, &mut lines);
    lines
        .into_values()
        .map(|mut l| {
            l.units = r2(l.units);
            l.revenue_money = r2(l.revenue_money);
            l.unconstrained_revenue_money = r2(l.unconstrained_revenue_money);
            l.budget_revenue_money = l.budget_revenue_money.map(r2);
            l.last_signed_units = l.last_signed_units.map(r2);
            l.last_signed_revenue_money = l.last_signed_revenue_money.map(r2);
            l
        })
        .collect()
}

/// Adds the last signed plan's units and revenue (at the items' prices) to the lines, over the
/// months both plans cover only.
fn add_last_signed(inputs: &ReconcileInputs<'_>, lines: &mut QuarterLines) {
    let s = inputs.supply;
    let unknown = unknown_family();
    if let Some((_, rows)) = &inputs.last_signed {
        let quarters: std::collections::BTreeSet<String> = s.plan_months.iter().map(|m| quarter_of(m)).collect();
        let plan_months: std::collections::BTreeSet<&str> = s.plan_months.iter().map(String::as_str).collect();
        for (sku, month, units) in rows {
            // Only the months both plans cover: a quarter is compared over the same months.
            if !plan_months.contains(month.as_str()) || !quarters.contains(&quarter_of(month)) {
                continue;
            }
            let (family, price) = inputs.items.get(sku).unwrap_or(&unknown);
            line(lines, family, quarter_of(month));
            let l = lines.get_mut(&(family.clone(), quarter_of(month))).expect("inserted");
            l.last_signed_units = Some(l.last_signed_units.unwrap_or(0.0) + units);
            l.last_signed_revenue_money = Some(l.last_signed_revenue_money.unwrap_or(0.0) + units * price);
        }
    }
}

/// The financial impact: the supply plan's totals (see [`Financial`]).
fn financial_impact(s: &SupplyFacts) -> Financial {
    let t = &s.totals;
    Financial {
        revenue_unconstrained_money: t.revenue_unconstrained_money,
        revenue_constrained_money: t.revenue_constrained_money,
        budget_revenue_money: t.budget_revenue_money,
        margin_unconstrained_money: t.margin_unconstrained_money,
        margin_constrained_money: t.margin_constrained_money,
        revenue_with_recommendations_money: t.revenue_constrained_money,
        revenue_at_risk_money: t.revenue_at_risk_money,
        spend_money: r2(t.plan_cost.spend()),
        lost_margin_money: t.plan_cost.lost_margin_money,
        revenue_without_fixes_money: t.revenue_without_fixes_money,
    }
}

/// The open questions for the pack, in order: unsigned inputs, the top 3 trade-offs, revenue
/// below budget, how many more trade-offs there are, and a missing last signed plan.
fn open_questions(inputs: &ReconcileInputs<'_>, trade_offs: &[TradeOff]) -> Vec<String> {
    let money = super::format_number;
    let t = &inputs.supply.totals;
    let mut open_questions = Vec::new();
    if !inputs.demand_signed {
        open_questions.push("the demand consensus is not signed: the demand review must sign it".to_string());
    }
    if !inputs.supply_signed {
        open_questions.push("the supply plan is not signed: the supply review must sign it".to_string());
    }
    for t in trade_offs.iter().take(3) {
        open_questions.push(format!(
            "{} ({} {}, {}): {} of margin at risk; recommended {}",
            t.id,
            kind_word(t.kind),
            t.place,
            t.month,
            money(t.margin_at_risk_money),
            option_key(t.recommendation.option).replace('_', " ")
        ));
    }
    if t.budget_revenue_money > 0.0 && t.revenue_constrained_money < t.budget_revenue_money {
        open_questions.push(format!(
            "the constrained plan's revenue {} is below the budget {}",
            money(t.revenue_constrained_money),
            money(t.budget_revenue_money)
        ));
    }
    if trade_offs.len() > 3 {
        open_questions.push(format!("{} more trade-offs are in the appendix workbook", trade_offs.len() - 3));
    }
    if inputs.last_signed.is_none() {
        open_questions.push("there is no signed plan of the previous cycle to compare against".to_string());
    }
    open_questions
}

/// The compact facts the narrative is drafted from (and the draft page shows): the totals, the
/// top 3 trade-offs and the counts.
pub fn narrative_facts(f: &ReconciliationFacts) -> serde_json::Value {
    let top: Vec<serde_json::Value> = f
        .trade_offs
        .iter()
        .take(3)
        .map(|t| {
            serde_json::json!({
                "id": t.id,
                "kind": kind_word(t.kind),
                "place": t.place,
                "month": t.month,
                "units_short": t.units_short,
                "margin_at_risk_money": t.margin_at_risk_money,
                "recommended_option": option_key(t.recommendation.option),
                "recommended_cost_money": t.recommendation.cost_money,
            })
        })
        .collect();
    serde_json::json!({
        "cycle": f.cycle,
        "inputs": if f.built_on_unsigned_inputs { "built on unsigned inputs" } else { "signed demand consensus and signed supply plan" },
        "leads_may_approve_up_to_money": f.leads_may_approve_up_to_money,
        "executive_date": f.executive_date,
        "trade_off_count": f.trade_offs.len(),
        "resolved_count": f.resolved.len(),
        "top_trade_offs": top,
        "financial": f.financial,
        "last_signed_plan_cycle": f.last_signed_plan_cycle,
    })
}

#[cfg(test)]
mod tests;
