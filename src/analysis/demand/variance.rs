//! Last month's actuals against the last plan (price, volume and mix), and how this cycle's
//! consensus moved from last cycle's.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;

use super::super::{AnalysisError, col_f64, col_str};
use super::history::Item;
use super::{ConsensusChange, DemandInputs, EarlierConsensus, FamilyChange, Mover, Series, Variance};
use crate::contract::Month;

/// Last month's actuals against the last signed consensus, or the last consensus when none is
/// signed: units and revenue, revenue variance split into price, volume and mix.
pub(super) fn variance(
    inputs: &DemandInputs<'_>,
    actuals: &BTreeMap<(String, String), (f64, f64)>,
    items: &BTreeMap<String, Item>,
) -> Result<Variance, String> {
    let month = inputs.cycle.plus(-1);
    let mut candidates: Vec<&EarlierConsensus> = inputs.earlier.iter().filter(|e| e.cycle <= month).collect();
    candidates.sort_by_key(|e| (e.signed, e.cycle));
    let Some(e) = candidates.last() else {
        return Err(format!(
            "no earlier plan covers {month}: the variance starts with the next cycle, once this one's consensus is stored"
        ));
    };
    let err = |x: PolarsError| x.to_string();
    let cells = e.cells.clone().lazy().filter(col("month").eq(lit(month.to_string()))).collect().map_err(err)?;
    let (sk, fi) =
        (col_str(&cells, "sku").map_err(|e| e.to_string())?, col_f64(&cells, "final").map_err(|e| e.to_string())?);
    let mut plan: BTreeMap<String, f64> = BTreeMap::new();
    for i in 0..sk.len() {
        *plan.entry(sk[i].clone().unwrap_or_default()).or_default() += fi[i].unwrap_or(0.0);
    }
    let mut actual: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for ((sku, _), (q, r)) in actuals {
        let a = actual.entry(sku.clone()).or_default();
        a.0 += q;
        a.1 += r;
    }
    let price = |sku: &str| items.get(sku).map_or(0.0, |i| i.price);
    let all: BTreeSet<&String> = plan.keys().chain(actual.keys()).collect();
    let plan_units: f64 = plan.values().sum();
    let plan_revenue: f64 = plan.iter().map(|(s, q)| q * price(s)).sum();
    let actual_units: f64 = actual.values().map(|a| a.0).sum();
    let actual_revenue: f64 = actual.values().map(|a| a.1).sum();
    let plan_avg_price = if plan_units > 0.0 { plan_revenue / plan_units } else { 0.0 };
    // Volume: the change in units at the plan's average price; mix: the shift between SKUs at
    // plan prices; price: what the actual prices made of the actual units. They add up to the
    // revenue variance.
    let volume_effect = (actual_units - plan_units) * plan_avg_price;
    let at_plan_prices: f64 = actual.iter().map(|(s, a)| a.0 * price(s)).sum();
    let mix_effect = at_plan_prices - actual_units * plan_avg_price;
    let price_effect = actual_revenue - at_plan_prices;
    let mut movers: Vec<Mover> = all
        .iter()
        .map(|s| {
            let p = plan.get(*s).copied().unwrap_or(0.0);
            let (aq, ar) = actual.get(*s).copied().unwrap_or((0.0, 0.0));
            Mover {
                sku: (*s).clone(),
                family: items.get(*s).map(|i| i.family.clone()).unwrap_or_default(),
                plan_units: p,
                actual_units: aq,
                variance_units: aq - p,
                variance_revenue: ar - p * price(s),
            }
        })
        .collect();
    let mut fam: BTreeMap<String, Mover> = BTreeMap::new();
    for m in &movers {
        let f = fam.entry(m.family.clone()).or_insert_with(|| Mover {
            sku: String::new(),
            family: m.family.clone(),
            plan_units: 0.0,
            actual_units: 0.0,
            variance_units: 0.0,
            variance_revenue: 0.0,
        });
        f.plan_units += m.plan_units;
        f.actual_units += m.actual_units;
        f.variance_units += m.variance_units;
        f.variance_revenue += m.variance_revenue;
    }
    movers.sort_by(|a, b| b.variance_revenue.abs().total_cmp(&a.variance_revenue.abs()).then(a.sku.cmp(&b.sku)));
    movers.truncate(inputs.params.top_movers);
    Ok(Variance {
        month: month.to_string(),
        against: if e.signed { "signed consensus".into() } else { "last consensus (unsigned)".into() },
        against_cycle: e.cycle.to_string(),
        plan_units,
        actual_units,
        plan_revenue,
        actual_revenue,
        price_effect,
        volume_effect,
        mix_effect,
        by_family: fam.into_values().collect(),
        top_movers: movers,
    })
}

/// This cycle's consensus against last cycle's, by family, over the months both plan.
pub(super) fn changes_since_last(
    inputs: &DemandInputs<'_>,
    series: &[Series],
) -> Result<Option<ConsensusChange>, AnalysisError> {
    let Some(last) = inputs.earlier.iter().find(|e| e.cycle == inputs.cycle.plus(-1)) else { return Ok(None) };
    let cells = &last.cells;
    let (fam, month, fin) = (col_str(cells, "family")?, col_str(cells, "month")?, col_f64(cells, "final")?);
    // The months both plan: from this cycle to the end of the shorter horizon (each cycle's
    // `[demand] horizon_months` may differ).
    let last_end = month.iter().filter_map(|m| m.as_deref().and_then(Month::parse)).max_by_key(|m| m.0);
    let now_end = inputs.params.plan(inputs.cycle).last().copied().unwrap_or(inputs.cycle);
    let to = last_end.map_or(now_end, |e| if e.0 < now_end.0 { e } else { now_end });
    let from = inputs.cycle;
    let mut by_family: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for s in series {
        for m in 0..=(to.0 - from.0).max(0) as usize {
            by_family.entry(s.family.clone()).or_default().1 += s.final_units(m);
        }
    }
    for i in 0..fam.len() {
        let Some(m) = month[i].as_deref().and_then(Month::parse) else { continue };
        if m >= from && m <= to {
            by_family.entry(fam[i].clone().unwrap_or_default()).or_default().0 += fin[i].unwrap_or(0.0);
        }
    }
    let mut families: Vec<FamilyChange> = by_family
        .into_iter()
        .map(|(family, (last_units, this_units))| FamilyChange {
            family,
            last_units,
            this_units,
            change_units: this_units - last_units,
        })
        .collect();
    families.sort_by(|a, b| b.change_units.abs().total_cmp(&a.change_units.abs()).then(a.family.cmp(&b.family)));
    let last_units = families.iter().map(|f| f.last_units).sum::<f64>();
    let this_units = families.iter().map(|f| f.this_units).sum::<f64>();
    Ok(Some(ConsensusChange {
        against_cycle: last.cycle.to_string(),
        from_month: from.to_string(),
        to_month: to.to_string(),
        last_units,
        this_units,
        change_units: this_units - last_units,
        by_family: families,
    }))
}
