//! Each executive decision's options as whole plans: for every decision that reaches the
//! executive and each of its options, the plan re-solved with that option taken on all of the
//! decision's gaps at once (the other decisions undecided: the least-cost plan), exactly the plan
//! the executive's re-plan makes when that option is chosen. The option's figures are then that
//! plan's, not sums over the member gaps:
//! - against the decision's "accept the shortfall" plan (what the option buys): units served
//!   (`closes_units`), revenue and margin kept, spend (fix costs of the whole plan);
//!   `lost_margin_money` is the decision's margin at risk less the margin kept;
//! - the plan itself (`plan`): units served, revenue, margin, the cost by kind (spend and lost
//!   margin apart), the service level and the customers hit on the decision's SKUs in its months,
//!   and the differences against the decision's recommended option's plan.
//!
//! The recommendation is the option whose plan has the best margin after fixes (margin less
//! spend: the least total cost), ties (within a cent) to the earlier option, so the cheapest
//! fixes (the least-cost plan) win a tie. The financial impact "with the recommended decisions"
//! is one more re-solve with every decision's recommended option taken.
//!
//! Pure: the caller's `plan` re-solves (it builds the executive's adjustments from the choices).
//! Notices and the leads' gaps keep their per-gap pricing.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{CHEAPEST_FIXES, Decision, DecisionOption, ReconciliationFacts};
use crate::analysis::r2;
use crate::analysis::supply::{SupplyFacts, lp::Cost};

/// An option's whole plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionPlan {
    /// Units the whole plan serves.
    pub units_served: f64,
    pub revenue_money: f64,
    pub margin_money: f64,
    /// The whole plan's cost by kind (spend and lost margin apart).
    pub cost: Cost,
    /// The service level of the decision's SKUs in its months (percent).
    pub service_level_percent: Option<f64>,
    /// Customers short on the decision's SKUs in its months.
    pub customers_hit: Vec<String>,
    /// This plan less the decision's recommended option's plan.
    pub vs_recommended: Delta,
}

/// One plan's figures less another's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    pub units: f64,
    pub revenue_money: f64,
    pub margin_money: f64,
    pub spend_money: f64,
    pub lost_margin_money: f64,
}

/// A decision and the option taken on all of its gaps (`(decision id, option key)`).
pub type Choice = (String, String);

/// The largest supply plan (SKUs planned) whose decision options are each re-planned whole: up
/// to 41 plans of this size stay within minutes on one thread. Above it only "with the
/// recommended decisions" is re-planned (one plan), and the options stay their gaps' sums.
pub const WHOLE_OPTIONS_UP_TO_SKUS: usize = 2_000;

/// Whether a plan is small enough for every option to be re-planned whole.
pub fn options_re_planned(before: &SupplyFacts) -> bool {
    let skus: BTreeSet<&str> = before.constrained_plan.iter().map(|l| l.sku.as_str()).collect();
    skus.len() <= WHOLE_OPTIONS_UP_TO_SKUS
}

/// Re-solves every option of every executive decision as a whole plan (`plan(&[(decision,
/// option)])`) when `per_option`, sets the options' figures and the recommendation from those
/// plans, and the financial impact from the plan with every recommended option (`plan` of them
/// all). Returns the number of re-solves.
pub fn re_solve<E>(
    facts: &mut ReconciliationFacts,
    before: &SupplyFacts,
    per_option: bool,
    mut plan: impl FnMut(&[Choice]) -> Result<SupplyFacts, E>,
) -> Result<usize, E> {
    let mut n = 0;
    for d in facts.trade_offs.iter_mut().filter(|_| per_option) {
        let scope = Scope::of(d, before);
        let mut plans = Vec::with_capacity(d.options.len());
        for o in &d.options {
            let p = plan(&[(d.id.clone(), o.key.clone())])?;
            n += 1;
            plans.push(scope.figures(&p));
        }
        apply(d, &plans);
        d.recommendation.buys = facts.locale.localize(&d.recommendation.buys);
    }
    if !facts.trade_offs.is_empty() {
        let (p, m) = combine(facts, before, &mut plan)?;
        n += m;
        let t = &p.totals;
        let f = &mut facts.financial;
        f.revenue_with_recommendations_money = t.revenue_constrained_money;
        f.margin_with_recommendations_money = Some(t.margin_constrained_money);
        f.revenue_at_risk_money = t.revenue_at_risk_money;
        f.spend_money = r2(t.plan_cost.spend());
        f.lost_margin_money = t.plan_cost.lost_margin_money;
        facts.deltas.set_plan(&p);
    }
    facts.financial.decision_re_solves = n;
    Ok(n)
}

/// Within a cent: two plans' margins after fixes this close are the same.
const CENT: f64 = 0.01;

/// The recommended decisions re-planned together. Each decision is recommended with the others
/// undecided; together they can lose margin (a lever one forbids is what another's plan leaned
/// on; the priority allocation re-shares what the fixes buy). So the plan with every
/// recommendation is re-planned once; when its margin after fixes (margin less spend) is below
/// the supply plan's (every decision undecided), the recommendations are tried one by one in rank
/// order on top of those that stand: one that lowers the plan's margin after fixes by more than a
/// cent is withdrawn (its decision recommends the cheapest fixes, the supply plan's, and says
/// why with the figures), unless it serves more units to the first-priority customers, a reason
/// the decision then states. The recommendations that stand never give less margin after fixes
/// than the supply plan but for that stated reason.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Combined {
    /// Margin after fixes (margin less spend) of the supply plan: every decision undecided.
    pub supply_plan_net_money: f64,
    /// Of the plan with every decision's own recommendation (each made with the others undecided).
    pub each_recommended_net_money: f64,
    /// Of the plan with the recommendations that stand.
    pub recommended_net_money: f64,
    /// The recommendations that lose margin after fixes with those ranked above them, in rank
    /// order: withdrawn, or kept for the first-priority customers.
    pub interactions: Vec<Interaction>,
}

/// A recommendation that loses margin after fixes with the recommendations ranked above it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// The decision's id and rank.
    pub decision: String,
    pub rank: usize,
    /// The option it recommended on its own.
    pub option: String,
    /// What that option's plan adds to the supply plan's margin after fixes alone (`None` when
    /// the options were not re-planned whole).
    pub alone_money: Option<f64>,
    /// The plan's margin after fixes with it and without it (the recommendations above it that
    /// stand taken in both).
    pub with_money: f64,
    pub without_money: f64,
    /// The units it serves the first-priority customers beyond the plan without it.
    pub priority_units: f64,
    /// Withdrawn (the cheapest fixes recommended instead), or kept for the priority customers.
    pub withdrawn: bool,
}

/// A plan's margin after fixes: its margin less its spend on fixes.
pub fn net(p: &SupplyFacts) -> f64 {
    p.totals.margin_constrained_money - p.totals.plan_cost.spend()
}

/// The units a plan serves the customers of priority `top`.
fn priority_units(p: &SupplyFacts, top: i64) -> f64 {
    p.unmet_by_customer.iter().filter(|c| c.priority == top).map(|c| c.constrained_units).sum()
}

/// Re-plans the recommended decisions together and withdraws those that lose margin after fixes
/// ([`Combined`]). Returns the plan with the recommendations that stand and the re-solves made.
fn combine<E>(
    facts: &mut ReconciliationFacts,
    before: &SupplyFacts,
    plan: &mut impl FnMut(&[Choice]) -> Result<SupplyFacts, E>,
) -> Result<(SupplyFacts, usize), E> {
    let choices = |ds: &[Decision]| -> Vec<Choice> {
        ds.iter().map(|d| (d.id.clone(), d.recommendation.option.clone())).collect()
    };
    let all = plan(&choices(&facts.trade_offs))?;
    let (base, each) = (net(before), net(&all));
    let mut check =
        Combined { supply_plan_net_money: r2(base), each_recommended_net_money: r2(each), ..Default::default() };
    if each >= base - CENT {
        check.recommended_net_money = r2(each);
        facts.financial.combined = Some(check);
        return Ok((all, 1));
    }
    let top = before.unmet_by_customer.iter().map(|c| c.priority).min().unwrap_or(1);
    let mut n = 1;
    // The plan with the recommendations that stand so far (`None`: the supply plan).
    let mut current: Option<SupplyFacts> = None;
    let mut standing: Vec<Choice> = Vec::new();
    let mut above: Vec<String> = Vec::new();
    for i in 0..facts.trade_offs.len() {
        let d = &facts.trade_offs[i];
        let choice = (d.id.clone(), d.recommendation.option.clone());
        if choice.1 == CHEAPEST_FIXES {
            standing.push(choice);
            continue;
        }
        let mut trial = standing.clone();
        trial.push(choice.clone());
        let p = plan(&trial)?;
        n += 1;
        let without = current.as_ref().unwrap_or(before);
        let (with_money, without_money) = (net(&p), net(without));
        let fallback = d.options.iter().position(|o| o.key == CHEAPEST_FIXES);
        if with_money >= without_money - CENT || fallback.is_none() {
            standing = trial;
            current = Some(p);
            above.push(format!("D{}", d.rank));
            continue;
        }
        let priority = priority_units(&p, top) - priority_units(without, top);
        let alone = d.recommended().and_then(|o| o.plan.as_ref()).map(|o| r2(o.margin_money - o.cost.spend() - base));
        let withdrawn = priority < 0.5;
        let x = Interaction {
            decision: d.id.clone(),
            rank: d.rank,
            option: choice.1.clone(),
            alone_money: alone,
            with_money: r2(with_money),
            without_money: r2(without_money),
            priority_units: r2(priority),
            withdrawn,
        };
        let said = interaction_text(&x, &above, facts.locale);
        let locale = facts.locale;
        let d = &mut facts.trade_offs[i];
        if withdrawn {
            withdraw(d, fallback.expect("checked above"), &said, locale);
            standing.push((d.id.clone(), CHEAPEST_FIXES.to_string()));
        } else {
            d.recommendation.buys = format!("{}; {said}", d.recommendation.buys);
            standing = trial;
            current = Some(p);
            above.push(format!("D{}", d.rank));
        }
        check.interactions.push(x);
    }
    // The plan with exactly the recommendations that stand (the executive's re-plan with them).
    let last = plan(&standing)?;
    n += 1;
    check.recommended_net_money = r2(net(&last));
    facts.financial.combined = Some(check);
    Ok((last, n))
}

/// What a decision says of its recommendation checked with the others: "overtime not
/// recommended: alone it adds 5,368 of margin after fixes, with D1, D2 as recommended it loses
/// 12,300 (7,680,000 with it, 7,692,300 without) and serves no more units to the first-priority
/// customers".
fn interaction_text(x: &Interaction, above: &[String], locale: crate::analysis::locale::Locale) -> String {
    let money = |v: f64| locale.money(v);
    let with = if above.is_empty() {
        "on the supply plan".to_string()
    } else {
        format!("with {} as recommended", above.join(", "))
    };
    let loses = money(x.without_money - x.with_money);
    let figures = format!("({} with it, {} without)", money(x.with_money), money(x.without_money));
    let alone =
        x.alone_money.map(|a| format!("alone it adds {} of margin after fixes, ", money(a))).unwrap_or_default();
    let option = x.option.replace('_', " ");
    if x.withdrawn {
        format!(
            "{option} not recommended: {alone}{with} it loses {loses} {figures} and serves no more units to the first-priority customers"
        )
    } else {
        format!(
            "{option} kept for the first-priority customers: {with} it loses {loses} of margin after fixes {figures} and serves them {} more units",
            locale.number(x.priority_units)
        )
    }
}

/// Withdraws a decision's recommendation for its option `to` (the cheapest fixes), saying why;
/// each option's difference to the recommended plan is then to that option's.
fn withdraw(d: &mut Decision, to: usize, said: &str, locale: crate::analysis::locale::Locale) {
    let o = &d.options[to];
    d.recommendation.option = o.key.clone();
    d.recommendation.cost_money = o.spend_money;
    let buys = super::decisions::buys(o, d.units_short, d.service_level_percent);
    d.recommendation.buys = format!("{}; {said}", locale.localize(&buys));
    let Some(r) = o.plan.clone() else { return };
    for o in &mut d.options {
        if let Some(p) = o.plan.as_mut() {
            p.vs_recommended = Delta {
                units: r2(p.units_served - r.units_served),
                revenue_money: r2(p.revenue_money - r.revenue_money),
                margin_money: r2(p.margin_money - r.margin_money),
                spend_money: r2(p.cost.spend() - r.cost.spend()),
                lost_margin_money: r2(p.cost.lost_margin_money - r.cost.lost_margin_money),
            };
        }
    }
}

/// A whole plan's figures, and on the decision's SKU-months.
#[derive(Debug, Clone)]
pub struct Figures {
    pub units: f64,
    pub revenue: f64,
    pub margin: f64,
    pub cost: Cost,
    pub service: Option<f64>,
    pub customers_hit: Vec<String>,
}

/// The SKU-months a decision's gaps hit.
struct Scope {
    /// SKU to its months hit.
    cells: BTreeMap<String, BTreeSet<String>>,
}

impl Scope {
    fn of(d: &Decision, before: &SupplyFacts) -> Scope {
        let ids: BTreeSet<&str> = d.gap_ids().into_iter().collect();
        let gaps = before.gaps.iter().filter(|g| ids.contains(g.id.as_str()));
        let mut cells: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for g in gaps {
            for s in &g.skus_hit {
                cells.entry(s.clone()).or_default().insert(g.month.clone());
            }
        }
        Scope { cells }
    }

    fn figures(&self, p: &SupplyFacts) -> Figures {
        let (mut demand, mut planned) = (0.0, 0.0);
        let mut hit = BTreeSet::new();
        for l in &p.constrained_plan {
            if self.cells.get(&l.sku).is_some_and(|m| m.contains(&l.month)) {
                demand += l.demand_units;
                planned += l.constrained_units;
                if l.demand_units - l.constrained_units > 1e-6 {
                    hit.insert(l.customer.clone());
                }
            }
        }
        let t = &p.totals;
        Figures {
            units: t.constrained_units,
            revenue: t.revenue_constrained_money,
            margin: t.margin_constrained_money,
            cost: t.plan_cost,
            service: (demand > 1e-9).then(|| r2(100.0 * planned / demand)),
            customers_hit: hit.into_iter().collect(),
        }
    }
}

/// Sets a decision's options' figures from their plans (in the options' order) and recommends
/// the best margin after fixes.
pub fn apply(d: &mut Decision, plans: &[Figures]) {
    let accept = d.options.iter().position(|o| o.key == "accept_shortfall").unwrap_or(d.options.len() - 1);
    let a = plans[accept].clone();
    let net = |f: &Figures| f.margin - f.cost.spend();
    let mut best = 0;
    for (i, f) in plans.iter().enumerate() {
        if net(f) > net(&plans[best]) + 0.01 {
            best = i;
        }
    }
    let r = plans[best].clone();
    for (o, f) in d.options.iter_mut().zip(plans) {
        set(o, f, &a, &r, d.margin_at_risk_money);
    }
    let o = &d.options[best];
    d.recommendation.option = o.key.clone();
    d.recommendation.cost_money = o.spend_money;
    d.recommendation.buys = super::decisions::buys(o, d.units_short, d.service_level_percent);
}

/// One option's figures: against the accept plan `a` and the recommended plan `r`.
fn set(o: &mut DecisionOption, f: &Figures, a: &Figures, r: &Figures, margin_at_risk: f64) {
    o.closes_units = r2(f.units - a.units);
    o.revenue_kept_money = r2(f.revenue - a.revenue);
    o.margin_kept_money = r2(f.margin - a.margin);
    o.spend_money = r2(f.cost.spend() - a.cost.spend());
    o.lost_margin_money = r2(margin_at_risk - (f.margin - a.margin));
    o.service_level_percent = f.service;
    o.customers_still_hit = f.customers_hit.clone();
    o.plan = Some(OptionPlan {
        units_served: f.units,
        revenue_money: f.revenue,
        margin_money: f.margin,
        cost: f.cost,
        service_level_percent: f.service,
        customers_hit: f.customers_hit.clone(),
        vs_recommended: Delta {
            units: r2(f.units - r.units),
            revenue_money: r2(f.revenue - r.revenue),
            margin_money: r2(f.margin - r.margin),
            spend_money: r2(f.cost.spend() - r.cost.spend()),
            lost_margin_money: r2(f.cost.lost_margin_money - r.cost.lost_margin_money),
        },
    });
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeMap;

    use polars::prelude::*;

    use super::*;
    use crate::analysis::executive::{DecisionRow, adjustments};
    use crate::analysis::reconcile::testkit::{self, one_resource};
    use crate::analysis::reconcile::{ReconcileParams, reconcile};
    use crate::analysis::supply::{SupplyInputs, SupplyParams, supply_review, supply_review_with};
    use crate::contract::Month;

    /// The re-plan the reconciliation's pipeline hands [`re_solve`]: each chosen option decided
    /// as `snop decide` records it (cycle 2027-01), re-planned on `inputs` (the deltas' tests too).
    pub(crate) fn replan<'a>(
        inputs: &'a SupplyInputs<'_>,
        pack: &'a ReconciliationFacts,
        before: &'a SupplyFacts,
    ) -> impl Fn(&[Choice]) -> Result<SupplyFacts, crate::analysis::AnalysisError> + 'a {
        move |choices| {
            let rows: Vec<DecisionRow> = choices
                .iter()
                .enumerate()
                .map(|(i, (d, o))| DecisionRow::option(i as i64 + 1, "2027-01", d, o))
                .collect();
            supply_review_with(inputs, &adjustments(pack, before, &rows).0)
        }
    }

    /// Demand of A: January 60 (C1), February and March 140 each (C1 80, C2 60), against 100 h a
    /// month and at most 50 h of overtime at 3. Holding costs 2% of the unit cost (6) a month:
    /// 0.12 a unit-month. Two gaps of 40 h, February and March, one decision `RES-R-2027-Q1`
    /// (the leads may approve nothing).
    /// - The least-cost plan builds February's 40 ahead in January's spare 40 h (4.8) and buys
    ///   40 h of overtime in March (120): all 340 units served, revenue 3,400, margin 340 x 4 =
    ///   1,360, spend 124.8, nothing lost. Overtime or build-ahead alone changes nothing of the
    ///   gap that does not offer it (the executive keeps its cheapest fixes): the same plan, so
    ///   the decision has two options, the cheapest fixes and accepting the shortfall.
    /// - The shortfall accepted on both: January 60, February and March 100 each (C1 80, C2 20):
    ///   260 units, revenue 2,600, margin 1,040, 80 x 4 = 320 lost, no spend; the service of A
    ///   in February and March 200 / 280 = 71.43%, C2 hit.
    /// - So the cheapest fixes close 80 units, keep 800 of revenue and 320 of margin for 124.8
    ///   (net 1,360 - 124.8 = 1,235.2 against 1,040): recommended. Three re-solves: two options
    ///   and the plan with the recommended option.
    #[test]
    fn two_gaps_of_one_resource_re_solved_as_one_decision() {
        let cycle = Month::parse("2027-01").unwrap();
        let months: Vec<String> = (0..18).map(|i| cycle.plus(i).to_string()).collect();
        let tables = one_resource(&months, 50.0);
        let demand = df!(
            "sku" => ["A", "A", "A", "A", "A"],
            "customer" => ["C1", "C1", "C2", "C1", "C2"],
            "month" => ["2027-01", "2027-02", "2027-02", "2027-03", "2027-03"],
            "qty" => [60.0, 80.0, 60.0, 80.0, 60.0]
        )
        .unwrap();
        let params = SupplyParams::default();
        let inputs = SupplyInputs { tables: &tables, demand: &demand, cycle, params: &params };
        let before = supply_review(&inputs).unwrap();
        let items: BTreeMap<String, (String, f64)> = [("A".to_string(), ("F".to_string(), 10.0))].into();
        let rparams = ReconcileParams { leads_may_approve_up_to: 0.0, ..Default::default() };
        let ri = testkit::inputs(&before, &items, &rparams);
        let mut facts = reconcile(&ri);
        let pack = facts.clone();
        let plan = replan(&inputs, &pack, &before);
        assert_eq!(re_solve(&mut facts, &before, true, &plan).unwrap(), 3);
        assert_eq!(facts.trade_offs.len(), 1);
        let d = &facts.trade_offs[0];
        assert_eq!(d.id, "RES-R-2027-Q1");
        assert_eq!(d.gap_ids(), ["CAP-R-2027-02", "CAP-R-2027-03"]);
        let keys: Vec<&str> = d.options.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["cheapest_fixes", "accept_shortfall"]);
        let figures = |o: &DecisionOption| {
            (o.closes_units, o.revenue_kept_money, o.margin_kept_money, o.spend_money, o.lost_margin_money)
        };
        let (fix, accept) = (&d.options[0], &d.options[1]);
        assert_eq!(figures(fix), (80.0, 800.0, 320.0, 124.8, 0.0));
        assert_eq!(figures(accept), (0.0, 0.0, 0.0, 0.0, 320.0));
        let (pf, pa) = (fix.plan.as_ref().unwrap(), accept.plan.as_ref().unwrap());
        assert_eq!((pf.units_served, pf.revenue_money, pf.margin_money), (340.0, 3400.0, 1360.0));
        assert_eq!((pf.cost.overtime_money, pf.cost.holding_money, pf.cost.lost_margin_money), (120.0, 4.8, 0.0));
        assert_eq!((pa.units_served, pa.revenue_money, pa.margin_money), (260.0, 2600.0, 1040.0));
        assert_eq!((pa.cost.spend(), pa.cost.lost_margin_money), (0.0, 320.0));
        assert_eq!((fix.service_level_percent, accept.service_level_percent), (Some(100.0), Some(71.43)));
        assert_eq!(
            (fix.customers_still_hit.len(), accept.customers_still_hit.as_slice()),
            (0, &["C2".to_string()][..])
        );
        assert_eq!(
            pa.vs_recommended,
            Delta {
                units: -80.0,
                revenue_money: -800.0,
                margin_money: -320.0,
                spend_money: -124.8,
                lost_margin_money: 320.0
            }
        );
        assert_eq!(pf.vs_recommended, Delta::default());
        assert_eq!(d.recommendation.option, "cheapest_fixes");
        assert_eq!(d.recommendation.cost_money, 124.8);
        assert_eq!(
            d.recommendation.buys,
            "closes 80 of 80 units for 124.8, keeps 320 of margin; service 100.0% to 100.0%"
        );
        let f = &facts.financial;
        assert_eq!((f.revenue_with_recommendations_money, f.spend_money, f.lost_margin_money), (3400.0, 124.8, 0.0));
        assert_eq!(f.decision_re_solves, 3);
        // Each option's plan is the executive's re-plan with exactly that option chosen, by
        // another path: the decision row as `snop decide` records it, the adjustments, the plan.
        for (i, o) in d.options.iter().enumerate() {
            let rows = [DecisionRow::option(i as i64 + 1, "2027-01", &d.id, &o.key)];
            let after = supply_review_with(&inputs, &adjustments(&facts, &before, &rows).0).unwrap();
            let p = o.plan.as_ref().unwrap();
            assert!((after.totals.revenue_constrained_money - p.revenue_money).abs() < 1e-6, "{}", o.key);
            assert!((after.totals.plan_cost.total() - p.cost.total()).abs() < 1e-6, "{}", o.key);
        }
        // A plan too large for every option (`per_option` false): the options keep their gaps'
        // sums and no plan, and only "with the recommended decisions" is re-planned (one solve),
        // to the same figures as above.
        let mut large = pack.clone();
        assert_eq!(re_solve(&mut large, &before, false, &plan).unwrap(), 1);
        assert_eq!(large.trade_offs, pack.trade_offs);
        assert!(large.trade_offs[0].options.iter().all(|o| o.plan.is_none()));
        let g = &large.financial;
        assert_eq!((g.revenue_with_recommendations_money, g.spend_money, g.lost_margin_money), (3400.0, 124.8, 0.0));
        assert_eq!(g.decision_re_solves, 1);
        assert!(options_re_planned(&before), "one SKU is within {WHOLE_OPTIONS_UP_TO_SKUS}");
    }
}
