//! The signed plan as people and the ERP read it: each item's family, unit of measure and plant
//! (the `items` master), whole units for discrete items, the plan summed by family and by
//! customer per month, and what each decision changed in the plan.

use std::collections::BTreeMap;

use polars::prelude::DataFrame;
use serde::{Deserialize, Serialize};

use super::executive::{DecisionLog, SignedPlanRow};
use super::supply::SupplyFacts;
use super::{AnalysisError, col_str};

/// What the signed plan's renderings need of an item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemInfo {
    pub family: String,
    /// The unit of measure as the items master writes it (`ea`, `set`, `kg`).
    pub uom: String,
    /// The make site (`make_site`), which the ERP export names as a plant.
    pub site: String,
}

/// Each item's family, unit of measure and make site (the `items` table).
pub fn item_info(df: &DataFrame) -> Result<BTreeMap<String, ItemInfo>, AnalysisError> {
    let sku = col_str(df, "sku")?;
    let family = col_str(df, "family")?;
    let uom = col_str(df, "uom")?;
    let site = col_str(df, "make_site")?;
    Ok((0..df.height())
        .filter_map(|i| {
            let info = ItemInfo {
                family: family[i].clone().unwrap_or_default(),
                uom: uom[i].clone().unwrap_or_default(),
                site: site[i].clone().unwrap_or_default(),
            };
            Some((sku[i].clone()?, info))
        })
        .collect())
}

/// Units of measure counted in whole pieces (case does not matter): a plan of 7.5 of them is
/// 7 in the ERP. Anything else (`kg`, `l`, `m`) keeps three decimals.
pub const DISCRETE_UOMS: [&str; 12] =
    ["ea", "each", "pc", "pcs", "piece", "st", "stk", "set", "unit", "units", "box", "pal"];

/// Whether `uom` is counted in whole pieces ([`DISCRETE_UOMS`]).
pub fn is_discrete(uom: &str) -> bool {
    DISCRETE_UOMS.iter().any(|d| d.eq_ignore_ascii_case(uom.trim()))
}

/// The quantity as the ERP books it: whole pieces, rounded down (never more than the plan
/// gives), for a discrete unit; three decimals otherwise.
pub fn booked_quantity(units: f64, uom: &str) -> f64 {
    if is_discrete(uom) { (units + 1e-6).floor().max(0.0) } else { (units * 1000.0).round() / 1000.0 }
}

/// One row of a summary by family or by customer: requested and planned units per plan month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthlyRow {
    pub name: String,
    /// Planned units per month of [`PlanSummary::months`].
    pub planned: Vec<f64>,
    pub requested_total: f64,
    pub planned_total: f64,
}

/// The plan summed by family and by customer, month by month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub months: Vec<String>,
    pub by_family: Vec<MonthlyRow>,
    pub by_customer: Vec<MonthlyRow>,
}

/// Sums the plan's rows by family (an item not in the master is under its SKU) and by customer.
pub fn plan_summary(rows: &[SignedPlanRow], items: &BTreeMap<String, ItemInfo>) -> PlanSummary {
    let months: Vec<String> =
        rows.iter().map(|r| r.month.clone()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    let index: BTreeMap<&str, usize> = months.iter().enumerate().map(|(i, m)| (m.as_str(), i)).collect();
    let sum = |key: &dyn Fn(&SignedPlanRow) -> String| {
        let mut m: BTreeMap<String, MonthlyRow> = BTreeMap::new();
        for r in rows {
            let k = key(r);
            let row = m.entry(k.clone()).or_insert_with(|| MonthlyRow {
                name: k,
                planned: vec![0.0; months.len()],
                requested_total: 0.0,
                planned_total: 0.0,
            });
            row.planned[index[r.month.as_str()]] += r.planned_units;
            row.requested_total += r.requested_units;
            row.planned_total += r.planned_units;
        }
        m.into_values().collect::<Vec<_>>()
    };
    let family = |r: &SignedPlanRow| items.get(&r.sku).map_or_else(|| r.sku.clone(), |i| i.family.clone());
    PlanSummary { by_family: sum(&family), by_customer: sum(&|r| r.customer.clone()), months }
}

/// What one decision changed: the planned units of the SKUs its gap hits, in its month, before
/// the decisions (the supply plan) and after them (the signed plan).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionChange {
    pub tradeoff_id: String,
    pub before_units: f64,
    pub after_units: f64,
}

/// For each line of the decision log whose gap the supply plan knows, the planned units of its
/// SKUs in its month before and after. Gaps of one month that share SKUs show the same change.
pub fn decision_changes(log: &DecisionLog, before: &SupplyFacts, after: &SupplyFacts) -> Vec<DecisionChange> {
    fn planned(f: &SupplyFacts) -> BTreeMap<(&str, &str), f64> {
        let mut m: BTreeMap<(&str, &str), f64> = BTreeMap::new();
        for p in &f.constrained_plan {
            *m.entry((p.sku.as_str(), p.month.as_str())).or_default() += p.constrained_units;
        }
        m
    }
    let (b, a) = (planned(before), planned(after));
    let gaps: BTreeMap<&str, &super::supply::Gap> = before.gaps.iter().map(|g| (g.id.as_str(), g)).collect();
    log.lines
        .iter()
        .filter_map(|l| {
            let g = gaps.get(l.tradeoff_id.as_str())?;
            let total = |m: &BTreeMap<(&str, &str), f64>| {
                g.skus_hit.iter().map(|s| m.get(&(s.as_str(), g.month.as_str())).copied().unwrap_or(0.0)).sum::<f64>()
            };
            Some(DecisionChange { tradeoff_id: l.tradeoff_id.clone(), before_units: total(&b), after_units: total(&a) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sku: &str, customer: &str, month: &str, requested: f64, planned: f64) -> SignedPlanRow {
        SignedPlanRow {
            sku: sku.into(),
            customer: customer.into(),
            month: month.into(),
            requested_units: requested,
            planned_units: planned,
            constraint: None,
            gap_id: None,
        }
    }

    /// Whole pieces round down (7.9 ea is 7; 2.9999999 is 3, a float's noise), kilograms keep
    /// three decimals; case does not matter.
    #[test]
    fn discrete_units_are_whole_and_others_keep_three_decimals() {
        assert_eq!(booked_quantity(7.9, "ea"), 7.0);
        assert_eq!(booked_quantity(2.999_999_9, "EA"), 3.0);
        assert_eq!(booked_quantity(4.0, "set"), 4.0);
        assert_eq!(booked_quantity(1.23456, "kg"), 1.235);
        assert!(!is_discrete("kg") && is_discrete(" Pc "));
    }

    /// By hand: pumps P1 (family A) and P2 (family B), valve V (not in the master: its own
    /// family). January: P1/C1 10 of 12, P2/C2 5 of 5; February: P1/C2 3 of 3, V/C1 2 of 4.
    /// Family A: January 10, February 3 (13 of 15 asked); B: 5, 0; V: 0, 2. Customer C1: 10, 2
    /// (12 of 16); C2: 5, 3 (8 of 8).
    #[test]
    fn the_plan_sums_by_family_and_customer_per_month() {
        let items = BTreeMap::from([
            ("P1".to_string(), ItemInfo { family: "A".into(), ..Default::default() }),
            ("P2".to_string(), ItemInfo { family: "B".into(), ..Default::default() }),
        ]);
        let rows = [
            row("P1", "C1", "2027-01", 12.0, 10.0),
            row("P2", "C2", "2027-01", 5.0, 5.0),
            row("P1", "C2", "2027-02", 3.0, 3.0),
            row("V", "C1", "2027-02", 4.0, 2.0),
        ];
        let s = plan_summary(&rows, &items);
        assert_eq!(s.months, ["2027-01", "2027-02"]);
        let view = |v: &[MonthlyRow]| {
            v.iter()
                .map(|r| (r.name.clone(), r.planned.clone(), r.requested_total, r.planned_total))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            view(&s.by_family),
            vec![
                ("A".into(), vec![10.0, 3.0], 15.0, 13.0),
                ("B".into(), vec![5.0, 0.0], 5.0, 5.0),
                ("V".into(), vec![0.0, 2.0], 4.0, 2.0)
            ]
        );
        assert_eq!(
            view(&s.by_customer),
            vec![("C1".into(), vec![10.0, 2.0], 16.0, 12.0), ("C2".into(), vec![5.0, 3.0], 8.0, 8.0)]
        );
    }
}
