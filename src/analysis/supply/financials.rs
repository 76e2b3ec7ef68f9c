//! Financials: the constrained plan's lines per SKU x customer x month, unmet demand by
//! customer, revenue and margin per family and month (unconstrained and constrained, against
//! the budget), and the totals.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::DataFrame;

use super::super::AnalysisError;
use super::columns::{numbers0, texts};
use super::masters::Masters;
use super::netting::Demand;
use super::pricing::Constrained;
use super::{CustomerUnmet, EPS, FamilyMonthFinancials, Gap, GapKind, PlanLine, Totals, lp, r2, r3};
use crate::contract::{Month, Table};

/// (family, plan month) to [revenue unconstrained, revenue constrained, margin unconstrained,
/// margin constrained].
pub(super) type FamilyMonthMoney = BTreeMap<(String, usize), [f64; 4]>;

/// The constrained plan set against demand, per line, per customer and per family and month.
pub(super) struct PlanOutcome {
    pub(super) constrained_plan: Vec<PlanLine>,
    pub(super) unmet_by_customer: Vec<CustomerUnmet>,
    pub(super) fin: FamilyMonthMoney,
}

/// Sets the constrained plan against demand: a line per SKU x customer x month with demand,
/// unmet units and revenue per customer, and revenue and margin per family and month.
pub(super) fn plan_outcome(
    masters: &Masters<'_>,
    cells: &BTreeMap<(usize, usize), Vec<f64>>,
    constrained: &Constrained,
) -> PlanOutcome {
    let Masters { n, ref months, ref items, ref customers, .. } = *masters;
    let mut constrained_plan = Vec::new();
    let mut per_customer: BTreeMap<usize, (f64, f64, f64)> = BTreeMap::new();
    let mut fin: BTreeMap<(String, usize), [f64; 4]> = BTreeMap::new();
    for (&(s, c), d) in cells {
        let none = vec![0.0; n];
        let k = constrained.get(&(s, c)).unwrap_or(&none);
        for mi in 0..n {
            if d[mi] <= EPS {
                continue;
            }
            constrained_plan.push(PlanLine {
                sku: items[s].sku.clone(),
                customer: customers[c].0.clone(),
                month: months[mi].to_string(),
                demand_units: r3(d[mi]),
                constrained_units: r3(k[mi]),
            });
            let e = per_customer.entry(c).or_default();
            e.0 += d[mi];
            e.1 += k[mi];
            e.2 += (d[mi] - k[mi]) * items[s].price;
            let f = fin.entry((items[s].family.clone(), mi)).or_default();
            f[0] += d[mi] * items[s].price;
            f[1] += k[mi] * items[s].price;
            f[2] += d[mi] * items[s].margin();
            f[3] += k[mi] * items[s].margin();
        }
    }
    constrained_plan.sort_by(|a, b| (&a.month, &a.sku, &a.customer).cmp(&(&b.month, &b.sku, &b.customer)));
    let unmet_by_customer: Vec<CustomerUnmet> = per_customer
        .into_iter()
        .map(|(c, (d, k, rev))| CustomerUnmet {
            customer: customers[c].0.clone(),
            priority: customers[c].1,
            demand_units: r3(d),
            constrained_units: r3(k),
            unmet_units: r3(d - k),
            unmet_revenue_money: r2(rev),
        })
        .collect();
    PlanOutcome { constrained_plan, unmet_by_customer, fin }
}

/// Reads the budget's revenue per family and plan month (none without a budget table).
pub(super) fn read_budget(
    masters: &Masters<'_>,
    tables: &BTreeMap<Table, DataFrame>,
) -> Result<BTreeMap<(String, usize), f64>, AnalysisError> {
    let month_index = |m: Month| masters.month_index(m);
    let mut budget: BTreeMap<(String, usize), f64> = BTreeMap::new();
    if let Some(df) = tables.get(&Table::Budget) {
        let (f, m, v) =
            (texts(df, "budget", "family")?, texts(df, "budget", "month")?, numbers0(df, "budget", "revenue")?);
        for i in 0..f.len() {
            if let Some(mi) = Month::parse(&m[i]).and_then(month_index) {
                *budget.entry((f[i].clone(), mi)).or_default() += v[i];
            }
        }
    }
    Ok(budget)
}

/// Revenue and margin per family and month, unconstrained and constrained, with the budget and
/// the constrained revenue's difference to it.
pub(super) fn family_financials(
    masters: &Masters<'_>,
    fin: &FamilyMonthMoney,
    budget: &BTreeMap<(String, usize), f64>,
) -> Vec<FamilyMonthFinancials> {
    let months = &masters.months;
    let mut keys: BTreeSet<(String, usize)> = fin.keys().cloned().collect();
    keys.extend(budget.keys().cloned());
    let mut financials = Vec::new();
    for key in keys {
        let f = fin.get(&key).copied().unwrap_or_default();
        let b = budget.get(&key).copied();
        financials.push(FamilyMonthFinancials {
            family: key.0.clone(),
            month: months[key.1].to_string(),
            revenue_unconstrained_money: r2(f[0]),
            revenue_constrained_money: r2(f[1]),
            margin_unconstrained_money: r2(f[2]),
            margin_constrained_money: r2(f[3]),
            budget_revenue_money: b.map(r2),
            constrained_vs_budget_money: b.map(|b| r2(f[1] - b)),
        });
    }
    financials.sort_by(|a, b| (&a.month, &a.family).cmp(&(&b.month, &b.family)));
    financials
}

/// The totals: demand, constrained and unmet units, gap counts, revenue and margin, budget,
/// and what the plan leaves at risk, computed once from the plan (never summed over gaps,
/// which overlap). The plan's cost is filled in by the caller.
pub(super) fn totals(
    demand: &Demand,
    constrained: &Constrained,
    fin: &FamilyMonthMoney,
    budget: &BTreeMap<(String, usize), f64>,
    gaps: &[Gap],
) -> Totals {
    let Demand { ref cells, outside, above_consensus } = *demand;
    let sum_fin = |i: usize| fin.values().map(|f| f[i]).sum::<f64>();
    let demand_units: f64 = cells.values().flatten().sum();
    let constrained_units: f64 = constrained.values().flatten().sum();
    let count = |k: GapKind| gaps.iter().filter(|g| g.kind == k).count();
    Totals {
        demand_units: r3(demand_units),
        open_orders_above_consensus_units: r3(above_consensus),
        demand_rows_outside_horizon: outside,
        constrained_units: r3(constrained_units),
        unmet_units: r3(demand_units - constrained_units),
        capacity_gaps: count(GapKind::Capacity),
        labour_gaps: count(GapKind::Labour),
        material_gaps: count(GapKind::Material),
        supplier_gaps: count(GapKind::Supplier),
        revenue_unconstrained_money: r2(sum_fin(0)),
        revenue_constrained_money: r2(sum_fin(1)),
        margin_unconstrained_money: r2(sum_fin(2)),
        margin_constrained_money: r2(sum_fin(3)),
        budget_revenue_money: r2(budget.values().sum()),
        revenue_at_risk_money: r2(sum_fin(0) - sum_fin(1)),
        margin_at_risk_money: r2(sum_fin(2) - sum_fin(3)),
        recommended_cost_money: 0.0,
        plan_cost: lp::Cost::default(),
        revenue_without_fixes_money: None,
        frozen_gaps: gaps.iter().filter(|g| g.frozen).count(),
        re_solves: 0,
        gaps_priced_by_plan: 0,
        optimiser_pieces: 0,
        optimiser_approximate: false,
    }
}
