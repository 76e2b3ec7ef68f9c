//! The pre-S&OP reconciliation: every gap of the supply plan is either *resolved* by the leads
//! (its recommended fixes close it within `leads_may_approve_up_to`), part of a *decision* for
//! the executive meeting, or a *notice*. Also the agreed plan by family and quarter against the
//! budget and the last signed plan, the financial impact, and the risks computed from the facts.
//! Pure: the facts of the signed supply plan (and the demand review's signals) in,
//! [`ReconciliationFacts`] out.
//!
//! The grouping, in this order, per gap (`decisions::group`):
//! 1. A gap in the **frozen horizon** (the first `[supply] frozen_months` of the supply plan's
//!    months) is a notice: S&OP can no longer change it (grouped by month and kind of gap,
//!    `FROZEN-<month>-<kind>`).
//! 2. A gap whose recommended fixes close all of it (no part accepted short) at a cost within
//!    `leads_may_approve_up_to` is **resolved** by the leads, as before.
//! 3. A gap with **no fix** (its only option is accepting the shortfall) is a notice, grouped by
//!    the family of its first SKU and the quarter (`FAM-<family>-<quarter>`): short supply is
//!    shared by the allocation rule, there is nothing to choose.
//! 4. Every other gap joins the decision of its **root cause**: a resource over a quarter
//!    (capacity and labour gaps, `RES-<resource>-<quarter>`), a component (material gaps,
//!    `COMP-<component>`), a supplier (the at-risk supplier's extra shortfall,
//!    `SUPPLIER-<supplier>`). Ids are stable across re-runs of the same plan.
//!
//! A decision's options (2-4): the cheapest fixes of each member gap (its recommendation in the
//! supply plan), each fix kind any member offers applied to every member that offers it (the
//! others keep their cheapest fixes, as the executive's re-plan does; at most two, the best net
//! value first; one that does what the cheapest fixes do is left out), and accepting the
//! shortfall. Ranking and the cap use first estimates, sums over the member gaps: units closed,
//! revenue and margin kept (the gap's at-risk figures times the share it closes), spend, lost
//! margin, the customers still hit, the service level of the SKUs hit in the months hit. Then
//! each option of a decision that reaches the executive is **re-solved as a whole plan**
//! ([`whole`]: the pipeline re-plans each option as the executive would), and its figures and
//! the recommendation (the best margin after fixes) are that plan's. Decisions are ranked by
//! margin at risk (highest first), then first month and id; the first `max_executive_decisions`
//! go to the executive, the rest are notices (`below the cap`).
//!
//! The risks (`risks`) are computed from the facts, ranked, and never written by the model.
//!
//! The financial impact is the supply plan's; "with the recommended decisions" is the plan
//! re-solved with every recommended option taken (see [`Financial`], [`whole`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::locale::Locale;
use super::r2;
use super::supply::{Gap, GapKind, OptionKind, RecommendedStep, SupplyFacts};

/// `[reconciliation]` in `snop.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconcileParams {
    /// The cost (workspace currency) up to which the demand and supply leads may approve a gap's
    /// recommended fixes without executives.
    pub leads_may_approve_up_to: f64,
    /// How many decisions reach the executive meeting at most (ranked by margin at risk); the
    /// rest are notices.
    #[serde(default = "default_max_decisions")]
    pub max_executive_decisions: usize,
}

/// The default of `max_executive_decisions`.
pub const MAX_EXECUTIVE_DECISIONS: usize = 10;

fn default_max_decisions() -> usize {
    MAX_EXECUTIVE_DECISIONS
}

impl Default for ReconcileParams {
    fn default() -> Self {
        ReconcileParams { leads_may_approve_up_to: 25_000.0, max_executive_decisions: MAX_EXECUTIVE_DECISIONS }
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
    /// What the demand review says (value added, budget, last cycle's loop), when read.
    pub demand: Option<risks::DemandSignals>,
    /// Who owns what a risk asks for, by role (`supply_lead` to "Sam Okafor (supply lead)").
    pub owners: BTreeMap<String, String>,
    /// `[company] locale`: how the texts write numbers.
    pub locale: Locale,
    /// This cycle's consensus as (sku, month, units); `None`: the supply plan's demand is it.
    pub consensus: Option<Vec<(String, String, f64)>>,
    /// Last cycle's consensus, if it has one: its cycle and (sku, month, units).
    pub last_consensus: Option<SignedPlanLines>,
    /// SKU to unit cost, from the items master (the last signed plan's margin at today's costs).
    pub unit_costs: BTreeMap<String, f64>,
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
    /// The executive's decisions (at most `max_executive_decisions`), ranked by margin at risk,
    /// highest first. Named `trade_offs` in the JSON, as before.
    pub trade_offs: Vec<Decision>,
    pub resolved: Vec<Resolved>,
    /// What nobody decides this cycle: frozen, no fix, below the cap.
    #[serde(default)]
    pub notices: Vec<Notice>,
    /// The cap the decisions were cut at.
    #[serde(default)]
    pub max_executive_decisions: usize,
    /// The risks, computed from the facts and ranked; the pack's top 3 are the first three.
    #[serde(default)]
    pub risks: Vec<risks::Risk>,
    pub open_questions: Vec<String>,
    /// The locale the texts (and the pack) write numbers in.
    #[serde(default)]
    pub locale: Locale,
    /// The consensus and the plan with the recommended decisions against the budget, last
    /// cycle's consensus and the last signed plan.
    #[serde(default)]
    pub deltas: deltas::Deltas,
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
    /// Revenue with the recommended decisions: the plan re-solved with them (`whole`).
    pub revenue_with_recommendations_money: f64,
    /// Margin of that plan, when it was re-solved (else the supply plan's is it).
    #[serde(default)]
    pub margin_with_recommendations_money: Option<f64>,
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
    /// Re-solves of the plan the executive decisions' options took (one per option, one for
    /// every recommended option at once); 0 when the options are the member gaps' sums.
    #[serde(default)]
    pub decision_re_solves: usize,
    /// The recommended decisions re-planned together ([`whole::Combined`]): each recommended
    /// with the others undecided can lose margin together; when they do, the recommendations
    /// that do are withdrawn (or kept for a priority reason) and said on their decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combined: Option<whole::Combined>,
}

/// What a decision groups its gaps by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Root {
    ResourceQuarter,
    Component,
    Supplier,
    /// One gap (a pack made before decisions were grouped).
    #[default]
    Gap,
}

/// A decision for the executive meeting: the gaps of one root cause, its options, what each
/// buys, and the recommendation. (`TradeOff` is its old name.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// 1 = the most margin at risk.
    pub rank: usize,
    /// `RES-<resource>-<quarter>`, `COMP-<component>`, `SUPPLIER-<supplier>`; a gap id in packs
    /// made before decisions were grouped. `snop decide --decision ID`.
    pub id: String,
    #[serde(default)]
    pub root: Root,
    /// The kind of its gaps.
    pub kind: GapKind,
    /// Where: "LINE-2 at NORTH in 2027-Q1", "RM-7 from SUP-A".
    pub place: String,
    /// The first month hit.
    pub month: String,
    #[serde(default)]
    pub months: Vec<String>,
    pub near_term: bool,
    pub units_short: f64,
    pub revenue_at_risk_money: f64,
    pub margin_at_risk_money: f64,
    pub customers_hit: Vec<String>,
    /// Why the leads could not resolve it.
    pub why: String,
    /// The member gaps (empty in packs made before decisions were grouped: the decision is the
    /// gap of its id).
    #[serde(default)]
    pub gaps: Vec<MemberGap>,
    /// The service level of the SKUs hit in the months hit, as planned (percent).
    #[serde(default)]
    pub service_level_percent: Option<f64>,
    pub options: Vec<DecisionOption>,
    pub recommendation: Recommendation,
}

/// The old name of [`Decision`].
pub type TradeOff = Decision;

impl Decision {
    /// The ids of its gaps (its own id for a pack made before decisions were grouped).
    pub fn gap_ids(&self) -> Vec<&str> {
        if self.gaps.is_empty() { vec![self.id.as_str()] } else { self.gaps.iter().map(|g| g.id.as_str()).collect() }
    }

    /// The recommended option.
    pub fn recommended(&self) -> Option<&DecisionOption> {
        self.options.iter().find(|o| o.key == self.recommendation.option)
    }
}

/// A gap of a decision, and the options it may be given on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberGap {
    pub id: String,
    pub kind: GapKind,
    pub month: String,
    pub units_short: f64,
    pub margin_at_risk_money: f64,
    /// `cheapest_fixes`, its option kinds, `accept_shortfall`.
    pub options: Vec<String>,
}

/// One option of a decision and what it buys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionOption {
    /// `cheapest_fixes`, an option kind (`overtime`, `expedite`, ...) or `accept_shortfall`.
    #[serde(alias = "kind")]
    pub key: String,
    #[serde(default, alias = "detail")]
    pub label: String,
    #[serde(default)]
    pub closes_units: f64,
    #[serde(default)]
    pub revenue_kept_money: f64,
    #[serde(default)]
    pub margin_kept_money: f64,
    /// What the fixes cost (lost margin is apart).
    #[serde(default, alias = "cost_money")]
    pub spend_money: f64,
    #[serde(default)]
    pub lost_margin_money: f64,
    #[serde(default)]
    pub service_level_percent: Option<f64>,
    #[serde(default)]
    pub customers_still_hit: Vec<String>,
    /// Member gaps this option takes its fix on (the cheapest fixes: the gaps they close some
    /// of; the others keep their cheapest fixes).
    #[serde(default)]
    pub gaps_with_fix: usize,
    /// The whole plan re-solved with this option taken on every member gap (`None`: the figures
    /// above are sums over the member gaps' own options, see `whole`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<whole::OptionPlan>,
}

/// The decision the reconciliation recommends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The key of the recommended option.
    pub option: String,
    /// Its spend.
    pub cost_money: f64,
    /// What it buys: "closes 120 of 150 units for 3,000, keeps 9,000 of margin; service 91% to 97%".
    pub buys: String,
    pub owner: String,
    pub due: String,
}

/// Why a group of gaps is a notice, not a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// In the frozen horizon: S&OP can no longer change it.
    Frozen,
    /// No fix exists: the only option is the shortfall.
    NoFix,
    /// A decision ranked beyond `max_executive_decisions`.
    BelowCap,
}

/// Gaps nobody decides this cycle, grouped, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub id: String,
    pub kind: NoticeKind,
    pub place: String,
    pub months: Vec<String>,
    pub gaps: Vec<String>,
    pub units_short: f64,
    pub revenue_at_risk_money: f64,
    pub margin_at_risk_money: f64,
    /// How many customers it hits.
    pub customers_hit: usize,
    pub text: String,
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

/// The option key of a gap's own recommendation in the supply plan (its cheapest fixes).
pub const CHEAPEST_FIXES: &str = "cheapest_fixes";

/// The steps a gap takes under an option key: its cheapest fixes, one of its options (closing
/// at most the gap, priced pro rata when it could close more), or nothing for
/// `accept_shortfall`. `None` when the gap does not offer the key.
pub fn gap_steps(g: &Gap, key: &str) -> Option<Vec<RecommendedStep>> {
    match key {
        CHEAPEST_FIXES => Some(
            g.recommended
                .iter()
                .filter(|s| s.kind != OptionKind::AcceptShortfall && s.units > 1e-12)
                .cloned()
                .collect(),
        ),
        "accept_shortfall" => Some(Vec::new()),
        k => {
            let kind = option_from_key(k)?;
            let o = g.options.iter().find(|o| o.kind == kind)?;
            let units = o.closes_units.min(g.units_short);
            let cost = if o.closes_units > 1e-12 { o.cost_money * units / o.closes_units } else { 0.0 };
            Some(vec![RecommendedStep { kind, units, cost_money: cost }])
        }
    }
}

/// An amount as people read it: thousands separated, whole above 1,000 ("1,234,568").
pub fn money(x: f64) -> String {
    if x.abs() >= 1_000.0 { super::format_number(x.round()) } else { super::format_number(x) }
}

/// A percentage as people read it: "97.5%".
pub fn percent(x: f64) -> String {
    format!("{:.1}%", x)
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
    let decisions::Grouped { decisions: trade_offs, resolved, notices } = decisions::group(inputs);
    let agreed_plan = agreed_plan(inputs);
    let financial = financial_impact(s);
    let risks = risks::risks(inputs);
    let deltas = deltas::Deltas::of(inputs);
    let open_questions = open_questions(inputs, &trade_offs, &notices);

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
        notices,
        max_executive_decisions: inputs.params.max_executive_decisions,
        risks,
        open_questions,
        locale: inputs.locale,
        deltas,
    }
    .localized()
}

impl ReconciliationFacts {
    /// The texts people read (why, what the recommendation buys, notices, risks, open
    /// questions) with their numbers in the facts' locale (they are written in `en-US`).
    pub fn localized(mut self) -> ReconciliationFacts {
        let l = self.locale;
        if l == Locale::EnUs {
            return self;
        }
        for d in &mut self.trade_offs {
            d.why = l.localize(&d.why);
            d.recommendation.buys = l.localize(&d.recommendation.buys);
        }
        for n in &mut self.notices {
            n.text = l.localize(&n.text);
        }
        for r in &mut self.risks {
            r.text = l.localize(&r.text);
        }
        for q in &mut self.open_questions {
            *q = l.localize(q);
        }
        self
    }
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
        margin_with_recommendations_money: None,
        revenue_at_risk_money: t.revenue_at_risk_money,
        spend_money: r2(t.plan_cost.spend()),
        lost_margin_money: t.plan_cost.lost_margin_money,
        revenue_without_fixes_money: t.revenue_without_fixes_money,
        decision_re_solves: 0,
        combined: None,
    }
}

/// The open questions for the pack, in order: unsigned inputs, the top 3 decisions, revenue
/// below budget, how many more decisions and notices there are, and a missing last signed plan.
fn open_questions(inputs: &ReconcileInputs<'_>, decisions: &[Decision], notices: &[Notice]) -> Vec<String> {
    let t = &inputs.supply.totals;
    let mut open_questions = Vec::new();
    if !inputs.demand_signed {
        open_questions.push("the demand consensus is not signed: the demand review must sign it".to_string());
    }
    if !inputs.supply_signed {
        open_questions.push("the supply plan is not signed: the supply review must sign it".to_string());
    }
    for d in decisions.iter().take(3) {
        open_questions.push(format!(
            "{} ({}, from {}): {} of margin at risk; recommended {}",
            d.id,
            d.place,
            d.month,
            money(d.margin_at_risk_money),
            d.recommendation.option.replace('_', " ")
        ));
    }
    if t.budget_revenue_money > 0.0 && t.revenue_constrained_money < t.budget_revenue_money {
        open_questions.push(format!(
            "the constrained plan's revenue {} is below the budget {}",
            money(t.revenue_constrained_money),
            money(t.budget_revenue_money)
        ));
    }
    if decisions.len() > 3 {
        open_questions.push(format!("{} more decisions are in the appendix workbook", decisions.len() - 3));
    }
    if !notices.is_empty() {
        open_questions.push(format!(
            "{} notices (frozen horizon, no fix, below the cap) are in the appendix workbook: the supply plan stands for them unless someone decides otherwise",
            notices.len()
        ));
    }
    if inputs.last_signed.is_none() {
        open_questions.push("there is no signed plan of the previous cycle to compare against".to_string());
    }
    open_questions
}

/// How many notices of a kind.
pub fn notices_of(f: &ReconciliationFacts, kind: NoticeKind) -> usize {
    f.notices.iter().filter(|n| n.kind == kind).count()
}

/// The compact facts the narrative is drafted from (and the draft page shows): the totals, the
/// top 3 decisions, the risks and the counts. The model writes prose around the decisions and
/// the risks; the pack lists them from the facts, so it cannot add or drop one.
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
                "gaps": t.gap_ids().len(),
                "units_short": t.units_short,
                "margin_at_risk_money": t.margin_at_risk_money,
                "recommended_option": t.recommendation.option,
                "recommended_cost_money": t.recommendation.cost_money,
            })
        })
        .collect();
    let risks: Vec<serde_json::Value> = f
        .risks
        .iter()
        .take(3)
        .map(|r| serde_json::json!({ "rank": r.rank, "id": r.id, "risk": r.text, "owner": r.owner }))
        .collect();
    serde_json::json!({
        "cycle": f.cycle,
        "inputs": if f.built_on_unsigned_inputs { "built on unsigned inputs" } else { "signed demand consensus and signed supply plan" },
        "leads_may_approve_up_to_money": f.leads_may_approve_up_to_money,
        "executive_date": f.executive_date,
        "decision_count": f.trade_offs.len(),
        "max_executive_decisions": f.max_executive_decisions,
        "notice_count": f.notices.len(),
        "resolved_count": f.resolved.len(),
        "top_trade_offs": top,
        "top_risks": risks,
        "financial": f.financial,
        "last_signed_plan_cycle": f.last_signed_plan_cycle,
        "deltas": { "consensus": f.deltas.consensus, "plan_with_recommended_decisions": f.deltas.plan },
    })
}

pub mod decisions;
pub mod deltas;
pub mod risks;
pub mod whole;

#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;
