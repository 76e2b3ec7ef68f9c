//! The deltas a narrative needs, computed once from the facts: this cycle's demand consensus
//! (units, revenue) and the plan with the recommended decisions (units, revenue, margin) against
//! the budget (revenue), last cycle's consensus (units, revenue) and the last signed plan (units,
//! revenue, margin), each as a difference in units or money and in %.
//!
//! Each comparison is over the months both sides cover, inside this cycle's plan months: last
//! cycle's consensus and signed plan start a month earlier, so their first month is left out,
//! and the budget counts only where it has a figure. Revenue and margin of the earlier lines are
//! at today's prices and unit costs (the items master's), as the agreed plan's last signed rows
//! are, so a delta is volume and mix, not price. There is no comparison (`None`, "no earlier
//! cycle") when a side has no figure for any month: never a 0 made up.
//!
//! Pure: the lines in, the figures out. The plan's side is set again when the plan with the
//! recommended decisions is re-solved ([`Deltas::set_plan`], from `whole`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ReconcileInputs;
use crate::analysis::locale::Locale;
use crate::analysis::r2;
use crate::analysis::supply::SupplyFacts;

/// One month's figures of a plan, a consensus or the budget (`None`: not known for it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MonthFigures {
    pub units: Option<f64>,
    pub revenue_money: f64,
    pub margin_money: Option<f64>,
}

/// Figures by month (`YYYY-MM`).
pub type ByMonth = BTreeMap<String, MonthFigures>;

/// A figure against its base.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// This cycle's.
    pub value: f64,
    /// The base's.
    pub base: f64,
    /// `value - base`.
    pub difference: f64,
    /// The difference in % of the base (`None` when the base is 0).
    pub percent: Option<f64>,
}

/// One side against one base, over the months both cover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The base's cycle (last cycle's); `None` for the budget.
    pub base_cycle: Option<String>,
    pub first_month: String,
    pub last_month: String,
    /// How many months (not `months`: the narrative's fact check reads a key as a name).
    pub months_compared: usize,
    pub units: Option<Change>,
    pub revenue_money: Option<Change>,
    pub margin_money: Option<Change>,
}

/// One side (the consensus or the plan) against each base.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Against {
    pub budget: Option<Comparison>,
    pub last_cycle_consensus: Option<Comparison>,
    pub last_signed_plan: Option<Comparison>,
}

/// The bases by month: what the sides are compared against.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bases {
    pub budget: ByMonth,
    /// Last cycle's consensus: its cycle and figures.
    pub last_cycle_consensus: Option<(String, ByMonth)>,
    /// The last signed plan: its cycle and figures.
    pub last_signed_plan: Option<(String, ByMonth)>,
}

/// The deltas of the consensus and of the plan with the recommended decisions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Deltas {
    /// This cycle's demand consensus (units, revenue).
    pub consensus: Against,
    /// The plan with the recommended decisions (units, revenue, margin).
    pub plan: Against,
    /// What they are compared against, by month.
    pub bases: Bases,
}

impl Deltas {
    /// The deltas of a reconciliation's inputs; the plan is the supply plan until
    /// [`Deltas::set_plan`] sets the re-solved one.
    pub fn of(inputs: &ReconcileInputs<'_>) -> Deltas {
        let s = inputs.supply;
        let price = |sku: &str| inputs.items.get(sku).map_or(0.0, |i| i.1);
        let cost = |sku: &str| inputs.unit_costs.get(sku).copied();
        let lines_by_month = |lines: &[(String, String, f64)], margin: bool| -> ByMonth {
            let mut by: ByMonth = BTreeMap::new();
            for (sku, month, units) in lines {
                if !s.plan_months.contains(month) {
                    continue;
                }
                let e = by.entry(month.clone()).or_insert(MonthFigures {
                    units: Some(0.0),
                    revenue_money: 0.0,
                    margin_money: margin.then_some(0.0),
                });
                e.units = e.units.map(|u| u + units);
                e.revenue_money += units * price(sku);
                e.margin_money = match (e.margin_money, cost(sku)) {
                    (Some(m), Some(c)) => Some(m + units * (price(sku) - c)),
                    _ => None,
                };
            }
            by
        };
        let mut budget: ByMonth = BTreeMap::new();
        for f in &s.financials {
            if let Some(b) = f.budget_revenue_money {
                budget.entry(f.month.clone()).or_default().revenue_money += b;
            }
        }
        let bases = Bases {
            budget,
            last_cycle_consensus: inputs.last_consensus.as_ref().map(|(c, l)| (c.clone(), lines_by_month(l, false))),
            last_signed_plan: inputs.last_signed.as_ref().map(|(c, l)| (c.clone(), lines_by_month(l, true))),
        };
        let consensus = match &inputs.consensus {
            Some(lines) => lines_by_month(lines, false),
            None => {
                let demand: Vec<(String, String, f64)> =
                    s.constrained_plan.iter().map(|l| (l.sku.clone(), l.month.clone(), l.demand_units)).collect();
                lines_by_month(&demand, false)
            }
        };
        // The budget has revenue only, so only revenue is compared with it.
        let consensus = bases.against(&with_every_month(consensus, &s.plan_months));
        let mut d = Deltas { consensus, plan: Against::default(), bases };
        d.set_plan(s);
        d
    }

    /// The plan's side from a plan (the supply plan, or the plan with the recommended decisions).
    pub fn set_plan(&mut self, plan: &SupplyFacts) {
        self.plan = self.bases.against(&plan_by_month(plan));
    }
}

/// Every plan month present (zero where nothing is planned or asked for).
fn with_every_month(mut by: ByMonth, months: &[String]) -> ByMonth {
    for m in months {
        by.entry(m.clone()).or_insert(MonthFigures { units: Some(0.0), revenue_money: 0.0, margin_money: None });
    }
    by
}

/// A plan's units (its constrained plan's lines), revenue and margin (its financials) by month.
pub fn plan_by_month(p: &SupplyFacts) -> ByMonth {
    let mut by: ByMonth = p
        .plan_months
        .iter()
        .map(|m| (m.clone(), MonthFigures { units: Some(0.0), revenue_money: 0.0, margin_money: Some(0.0) }))
        .collect();
    for l in &p.constrained_plan {
        if let Some(e) = by.get_mut(&l.month) {
            e.units = e.units.map(|u| u + l.constrained_units);
        }
    }
    for f in &p.financials {
        if let Some(e) = by.get_mut(&f.month) {
            e.revenue_money += f.revenue_constrained_money;
            e.margin_money = e.margin_money.map(|m| m + f.margin_constrained_money);
        }
    }
    by
}

impl Bases {
    /// A side against every base.
    fn against(&self, side: &ByMonth) -> Against {
        Against {
            budget: compare(side, &self.budget, None),
            last_cycle_consensus: self.last_cycle_consensus.as_ref().and_then(|(c, b)| compare(side, b, Some(c))),
            last_signed_plan: self.last_signed_plan.as_ref().and_then(|(c, b)| compare(side, b, Some(c))),
        }
    }
}

/// A side against a base over the months both cover; `None` when they share none.
fn compare(side: &ByMonth, base: &ByMonth, base_cycle: Option<&String>) -> Option<Comparison> {
    let months: Vec<&String> = base.keys().filter(|m| side.contains_key(*m)).collect();
    let (first, last) = (months.first()?, months.last()?);
    let sum = |by: &ByMonth, f: fn(&MonthFigures) -> Option<f64>| -> Option<f64> {
        months.iter().map(|m| f(&by[*m])).sum::<Option<f64>>()
    };
    let change = |f: fn(&MonthFigures) -> Option<f64>| -> Option<Change> {
        let (value, base) = (sum(side, f)?, sum(base, f)?);
        Some(Change {
            value: r2(value),
            base: r2(base),
            difference: r2(value - base),
            percent: (base.abs() > 1e-9).then(|| r2(100.0 * (value - base) / base)),
        })
    };
    Some(Comparison {
        base_cycle: base_cycle.cloned(),
        first_month: (*first).clone(),
        last_month: (*last).clone(),
        months_compared: months.len(),
        units: change(|f| f.units),
        revenue_money: change(|f| Some(f.revenue_money)),
        margin_money: change(|f| f.margin_money),
    })
}

/// A difference as people read it, signed: "+1,234", "-5.5%".
fn signed(x: f64, text: String) -> String {
    if x > 0.0 { format!("+{text}") } else { text }
}

/// One comparison in words, in the locale: "revenue 1,200 against 1,000 (+200, +20.0%)" for
/// each figure it has, over its months.
pub fn describe(c: &Comparison, locale: Locale) -> String {
    let figure = |name: &str, ch: &Option<Change>, money: bool| -> Option<String> {
        let ch = ch.as_ref()?;
        let n = |x: f64| if money { locale.money(x) } else { locale.number(x) };
        let pct = ch.percent.map(|p| format!(", {}", signed(p, locale.percent(p)))).unwrap_or_default();
        Some(format!(
            "{name} {} against {} ({}{pct})",
            n(ch.value),
            n(ch.base),
            signed(ch.difference, n(ch.difference))
        ))
    };
    let parts: Vec<String> = [
        figure("units", &c.units, false),
        figure("revenue", &c.revenue_money, true),
        figure("margin", &c.margin_money, true),
    ]
    .into_iter()
    .flatten()
    .collect();
    let months =
        if c.months_compared == 1 { c.first_month.clone() } else { format!("{} to {}", c.first_month, c.last_month) };
    format!("{} ({months})", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use polars::prelude::*;

    use super::*;
    use crate::analysis::executive::{DecisionRow, adjustments};
    use crate::analysis::reconcile::testkit::{self, one_resource};
    use crate::analysis::reconcile::whole::re_solve;
    use crate::analysis::reconcile::whole::tests::replan;
    use crate::analysis::reconcile::{ReconcileParams, SignedPlanLines, reconcile};
    use crate::analysis::supply::{SupplyInputs, SupplyParams, supply_review, supply_review_with};
    use crate::contract::{Month, Table};

    type Lines = Vec<(String, String, f64)>;

    fn lines(l: &[(&str, f64)]) -> Lines {
        l.iter().map(|(m, u)| ("A".to_string(), m.to_string(), *u)).collect()
    }

    fn ch(value: f64, base: f64, difference: f64, percent: Option<f64>) -> Option<Change> {
        Some(Change { value, base, difference, percent })
    }

    /// Reconciles the one-resource workspace (A: price 10, cost 6) with a consensus, last
    /// cycle's consensus and signed plan (of 2026-12) and a budget of family F; re-plans the
    /// options as the pipeline does.
    fn run(
        demand: &DataFrame,
        budget: &[(&str, f64)],
        last_consensus: Option<Lines>,
        last_signed: Option<Lines>,
    ) -> (super::super::ReconciliationFacts, crate::analysis::supply::SupplyFacts) {
        let cycle = Month::parse("2027-01").unwrap();
        let months: Vec<String> = (0..18).map(|i| cycle.plus(i).to_string()).collect();
        let mut tables = one_resource(&months, 50.0);
        let (bm, bv): (Vec<&str>, Vec<f64>) = budget.iter().copied().unzip();
        tables.insert(Table::Budget, df!("family" => vec!["F"; bm.len()], "month" => bm, "revenue" => bv).unwrap());
        let params = SupplyParams::default();
        let inputs = SupplyInputs { tables: &tables, demand, cycle, params: &params };
        let before = supply_review(&inputs).unwrap();
        let items: BTreeMap<String, (String, f64)> = [("A".to_string(), ("F".to_string(), 10.0))].into();
        let rparams = ReconcileParams { leads_may_approve_up_to: 0.0, ..Default::default() };
        let consensus: Lines = {
            let (s, m, q) =
                (demand.column("sku").unwrap(), demand.column("month").unwrap(), demand.column("qty").unwrap());
            let (s, m, q) = (s.str().unwrap(), m.str().unwrap(), q.f64().unwrap());
            (0..demand.height())
                .map(|i| (s.get(i).unwrap().into(), m.get(i).unwrap().into(), q.get(i).unwrap()))
                .collect()
        };
        let ri = ReconcileInputs {
            last_signed: last_signed.map(|l| ("2026-12".to_string(), l)) as Option<SignedPlanLines>,
            consensus: Some(consensus),
            last_consensus: last_consensus.map(|l| ("2026-12".to_string(), l)),
            unit_costs: [("A".to_string(), 6.0)].into(),
            ..testkit::inputs(&before, &items, &rparams)
        };
        let mut facts = reconcile(&ri);
        let pack = facts.clone();
        let plan = replan(&inputs, &pack, &before);
        re_solve(&mut facts, &before, true, &plan).unwrap();
        // The accept-the-shortfall plan of the one decision, for the test to set.
        let accept = supply_review_with(
            &inputs,
            &adjustments(&pack, &before, &[DecisionRow::option(1, "2027-01", "RES-R-2027-Q1", "accept_shortfall")]).0,
        )
        .unwrap();
        (facts, accept)
    }

    /// The consensus of 2027-01: January 60 (C1), February and March 140 each (C1 80, C2 60),
    /// all served by the plan with the recommended decisions (the cheapest fixes; `whole`'s
    /// case). Last cycle (2026-12): consensus December 50, January 50, February 100; signed
    /// plan December 50, January 40, March 120. Budget of F: January 500, February 2,000.
    /// - Against the budget (January and February, the months it has): revenue 600 + 1,400 =
    ///   2,000 against 2,500: -500, -20%; the same for the plan (it serves all).
    /// - Against last cycle's consensus (January and February: December is not a plan month):
    ///   units 200 against 150, +50, +33.33%; revenue 2,000 against 1,500, +500, +33.33%.
    /// - Against the signed plan (January and March, the months it has): units 60 + 140 = 200
    ///   against 160, +40, +25%; revenue 2,000 against 1,600; the plan's margin 200 x 4 = 800
    ///   against 640, +160, +25%. The consensus has no margin.
    /// - With the shortfall accepted instead (January 60, February and March 100): against the
    ///   budget 1,600 against 2,500, -900, -36%; against the signed plan 160 units against 160:
    ///   0 and 0%, margin 640 against 640.
    /// - Without a last cycle: no comparison at all, never a 0.
    #[test]
    fn two_cycles_by_hand() {
        let demand = df!(
            "sku" => ["A", "A", "A", "A", "A"],
            "customer" => ["C1", "C1", "C2", "C1", "C2"],
            "month" => ["2027-01", "2027-02", "2027-02", "2027-03", "2027-03"],
            "qty" => [60.0, 80.0, 60.0, 80.0, 60.0]
        )
        .unwrap();
        let budget = [("2027-01", 500.0), ("2027-02", 2000.0)];
        let last_consensus = lines(&[("2026-12", 50.0), ("2027-01", 50.0), ("2027-02", 100.0)]);
        let last_signed = lines(&[("2026-12", 50.0), ("2027-01", 40.0), ("2027-03", 120.0)]);
        let (f, accept) = run(&demand, &budget, Some(last_consensus), Some(last_signed));
        let d = &f.deltas;
        let b = d.consensus.budget.as_ref().unwrap();
        assert_eq!(
            (b.base_cycle.as_deref(), b.first_month.as_str(), b.last_month.as_str(), b.months_compared),
            (None, "2027-01", "2027-02", 2)
        );
        assert_eq!((b.units, b.revenue_money, b.margin_money), (None, ch(2000.0, 2500.0, -500.0, Some(-20.0)), None));
        let c = d.consensus.last_cycle_consensus.as_ref().unwrap();
        assert_eq!((c.base_cycle.as_deref(), c.months_compared), (Some("2026-12"), 2));
        assert_eq!(c.units, ch(200.0, 150.0, 50.0, Some(33.33)));
        assert_eq!((c.revenue_money, c.margin_money), (ch(2000.0, 1500.0, 500.0, Some(33.33)), None));
        let s = d.consensus.last_signed_plan.as_ref().unwrap();
        assert_eq!((s.first_month.as_str(), s.last_month.as_str(), s.months_compared), ("2027-01", "2027-03", 2));
        assert_eq!(
            (s.units, s.revenue_money, s.margin_money),
            (ch(200.0, 160.0, 40.0, Some(25.0)), ch(2000.0, 1600.0, 400.0, Some(25.0)), None)
        );
        assert_eq!(d.plan.budget.as_ref().unwrap().revenue_money, ch(2000.0, 2500.0, -500.0, Some(-20.0)));
        let p = d.plan.last_signed_plan.as_ref().unwrap();
        assert_eq!(p.units, ch(200.0, 160.0, 40.0, Some(25.0)));
        assert_eq!(p.margin_money, ch(800.0, 640.0, 160.0, Some(25.0)));
        assert_eq!(d.plan.last_cycle_consensus.as_ref().unwrap().margin_money, None, "a consensus has no margin");
        // In words, in the locale.
        assert_eq!(
            describe(p, Locale::EnUs),
            "units 200 against 160 (+40, +25.0%); revenue 2,000 against 1,600 (+400, +25.0%); margin 800 against 640 (+160, +25.0%) (2027-01 to 2027-03)"
        );
        assert_eq!(describe(b, Locale::DeDe), "revenue 2.000 against 2.500 (-500, -20,0\u{A0}%) (2027-01 to 2027-02)");
        // The narrative facts carry them, so the model may cite them.
        let n = super::super::narrative_facts(&f);
        assert_eq!(
            n["deltas"]["plan_with_recommended_decisions"]["last_signed_plan"]["margin_money"]["difference"],
            160.0
        );

        // The shortfall accepted: the plan's side is that plan's.
        let mut accepted = f.clone();
        accepted.deltas.set_plan(&accept);
        let a = &accepted.deltas.plan;
        assert_eq!(a.budget.as_ref().unwrap().revenue_money, ch(1600.0, 2500.0, -900.0, Some(-36.0)));
        let s = a.last_signed_plan.as_ref().unwrap();
        assert_eq!((s.units, s.margin_money), (ch(160.0, 160.0, 0.0, Some(0.0)), ch(640.0, 640.0, 0.0, Some(0.0))));

        // No last cycle: nothing to compare with, and the budget still is.
        let (f, _) = run(&demand, &budget, None, None);
        assert_eq!((&f.deltas.consensus.last_cycle_consensus, &f.deltas.plan.last_signed_plan), (&None, &None));
        assert!(f.deltas.plan.budget.is_some());
        let (f, _) = run(&demand, &[], None, None);
        assert_eq!(f.deltas.plan.budget, None, "no budget: no comparison, not 0");
    }

    /// 18 months of generated demand, budget on the first 12, last cycle's consensus and signed
    /// plan with holes; every comparison against plain loops over the lines: the months the base
    /// has inside the plan months, the side's lines summed over them (revenue at 10, margin at 4
    /// a unit), the plan being the executive's re-plan with the recommended decisions.
    #[test]
    fn every_comparison_against_plain_loops() {
        let cycle = Month::parse("2027-01").unwrap();
        let (mut sku, mut cust, mut month, mut qty) = (vec![], vec![], vec![], vec![]);
        for i in 0..18 {
            for (c, q) in [("C1", 30 + (i * 37) % 50), ("C2", 20 + (i * 53) % 70)] {
                sku.push("A");
                cust.push(c);
                month.push(cycle.plus(i).to_string());
                qty.push(q as f64);
            }
        }
        let demand = df!("sku" => sku, "customer" => cust, "month" => month.clone(), "qty" => qty.clone()).unwrap();
        let budget_months: Vec<String> = (0..12).map(|i| cycle.plus(i).to_string()).collect();
        let budget: Vec<(&str, f64)> =
            budget_months.iter().enumerate().map(|(i, m)| (m.as_str(), 700.0 + 13.0 * i as f64)).collect();
        let last_c: Lines = (-1..17)
            .filter(|i| i % 5 != 3)
            .map(|i| ("A".to_string(), cycle.plus(i).to_string(), (40 + (i * 29).rem_euclid(60)) as f64))
            .collect();
        let last_s: Lines = (-1..17)
            .filter(|i| i % 4 != 1)
            .map(|i| ("A".to_string(), cycle.plus(i).to_string(), (50 + (i * 7).rem_euclid(40)) as f64))
            .collect();
        let (f, _) = run(&demand, &budget, Some(last_c.clone()), Some(last_s.clone()));
        // The plan with the recommended decisions, again: the executive's re-plan.
        let months: Vec<String> = (0..18).map(|i| cycle.plus(i).to_string()).collect();
        let mut tables = one_resource(&months, 50.0);
        let (bm, bv): (Vec<&str>, Vec<f64>) = budget.iter().copied().unzip();
        tables.insert(Table::Budget, df!("family" => vec!["F"; bm.len()], "month" => bm, "revenue" => bv).unwrap());
        let params = SupplyParams::default();
        let inputs = SupplyInputs { tables: &tables, demand: &demand, cycle, params: &params };
        let before = supply_review(&inputs).unwrap();
        let rows: Vec<DecisionRow> = f
            .trade_offs
            .iter()
            .enumerate()
            .map(|(i, d)| DecisionRow::option(i as i64 + 1, "2027-01", &d.id, &d.recommendation.option))
            .collect();
        let plan = supply_review_with(&inputs, &adjustments(&f, &before, &rows).0).unwrap();
        assert!((plan.totals.revenue_constrained_money - f.financial.revenue_with_recommendations_money).abs() < 1e-6);
        let plan_lines: Lines =
            plan.constrained_plan.iter().map(|l| (l.sku.clone(), l.month.clone(), l.constrained_units)).collect();
        let consensus: Lines = month.iter().zip(&qty).map(|(m, q)| ("A".to_string(), m.clone(), *q)).collect();
        let budget_lines: Lines = budget.iter().map(|(m, r)| ("A".to_string(), m.to_string(), *r / 10.0)).collect();

        // (months compared, units, revenue) of `side` against `base`, by loops.
        let by_loops = |side: &Lines, base: &Lines| {
            let mut covered: Vec<String> = Vec::new();
            for (_, m, _) in base {
                if months.contains(m) && !covered.contains(m) {
                    covered.push(m.clone());
                }
            }
            let (mut su, mut bu) = (0.0, 0.0);
            for (_, m, u) in side {
                if covered.contains(m) {
                    su += u;
                }
            }
            for (_, m, u) in base {
                if covered.contains(m) {
                    bu += u;
                }
            }
            (covered.len(), su, bu)
        };
        let close = |a: f64, b: f64| (a - b).abs() < 0.01 + 1e-9 * b.abs();
        for (side, lines, a) in [("consensus", &consensus, &f.deltas.consensus), ("plan", &plan_lines, &f.deltas.plan)]
        {
            for (base, base_lines, c) in [
                ("budget", &budget_lines, &a.budget),
                ("last consensus", &last_c, &a.last_cycle_consensus),
                ("last signed", &last_s, &a.last_signed_plan),
            ] {
                let c = c.as_ref().unwrap_or_else(|| panic!("{side} against {base}"));
                let (n, su, bu) = by_loops(lines, base_lines);
                assert_eq!(c.months_compared, n, "{side} against {base}");
                let r = c.revenue_money.unwrap();
                assert!(close(r.value, su * 10.0) && close(r.base, bu * 10.0), "{side} against {base}: {r:?}");
                assert!(close(r.difference, (su - bu) * 10.0));
                assert!(close(r.percent.unwrap(), 100.0 * (su - bu) / bu), "{side} against {base}: {r:?}");
                if base == "budget" {
                    assert_eq!(c.units, None);
                } else {
                    let u = c.units.unwrap();
                    assert!(close(u.value, su) && close(u.base, bu) && close(u.difference, su - bu), "{u:?}");
                }
                match (side, base) {
                    ("plan", "last signed") => {
                        let m = c.margin_money.unwrap();
                        assert!(close(m.value, su * 4.0) && close(m.base, bu * 4.0), "{m:?}");
                    }
                    _ => assert_eq!(c.margin_money, None, "{side} against {base}"),
                }
            }
        }
        assert_eq!(f.deltas.plan.budget.as_ref().unwrap().months_compared, 12);
        assert_eq!(f.deltas.plan.last_signed_plan.as_ref().unwrap().months_compared, 13, "17 months less 4 holes");
    }
}
