//! A what-if scenario's demand change as a layer of the consensus (the hook `scenario::apply`
//! uses): the cycle's consensus read back, layer by layer, from its run's cells; each change
//! added as the `scenario` layer of the cells it names, on top of marketing, by the review's own
//! rules: an amount aimed at several cells spread by their share ([`spread`], as the planners'
//! spreadsheets are), a SKU and customer with no cell getting one ([`cell`]), nothing for a
//! discontinued SKU after its end month ([`Item::sells_in`]), the final layer never below zero
//! ([`Series::final_units`]), totals bottom-up ([`layer_totals`]).
//!
//! The statistical forecast is not re-run: a scenario changes demand, not the history it is
//! forecast from, so the statistical, sales and marketing layers are the consensus's as stored
//! (re-forecasting would give the same numbers at the forecast's cost: minutes at 50,000 SKUs).

use std::collections::BTreeMap;

use polars::prelude::*;

use super::super::{AnalysisError, col_f64, col_str};
use super::adjustments::spread;
use super::history::{Item, read_items};
use super::statistical::{cell, month_index};
use super::totals::layer_totals;
use super::{LayerTotals, Series, UNASSIGNED};
use crate::contract::Month;

/// How much a scenario changes the demand of the cells it names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DemandAmount {
    /// A percent of each cell's consensus.
    Percent(f64),
    /// Units a month, spread over the cells by their share.
    UnitsPerMonth(f64),
}

/// A demand change: the cells of every filter given, in the months `from` to `to` (both
/// included; months outside the consensus are left alone).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemandChange<'a> {
    pub family: Option<&'a str>,
    pub customer: Option<&'a str>,
    pub sku: Option<&'a str>,
    pub from: Month,
    pub to: Month,
    pub amount: DemandAmount,
}

/// What a change did, in cell-months and final units.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LayerDone {
    /// Cell-months the change went onto (added cells included).
    pub cells: usize,
    /// Cells with no consensus before, made for a SKU and customer (or a SKU alone) named.
    pub added_cells: usize,
    /// Cell-months of discontinued SKUs after their end month: named, left at zero.
    pub discontinued_cells: usize,
    /// The final units of the cells named, before and after.
    pub before_units: f64,
    pub after_units: f64,
    /// Units a month that had no cell to go onto (no SKU named to make one), in all.
    pub unplaced_units: f64,
}

/// A stored consensus, layer by layer, with the scenario's layer on top.
pub struct Relayered {
    items: BTreeMap<String, Item>,
    plan: Vec<Month>,
    pub series: Vec<Series>,
    index: BTreeMap<(String, String), usize>,
}

impl Relayered {
    /// The consensus of `cells` ([`super::CELL_COLUMNS`], as the demand review's run stores
    /// them), over the months from `cycle` to the last month the cells have; `items` is the
    /// item master (its lifecycle and end month).
    pub fn from_cells(cells: &DataFrame, items: &DataFrame, cycle: Month) -> Result<Relayered, AnalysisError> {
        let items = read_items(&with_lifecycle(items)?)?;
        let (sku, cust, fam, month, method) = (
            col_str(cells, "sku")?,
            col_str(cells, "customer")?,
            col_str(cells, "family")?,
            col_str(cells, "month")?,
            col_str(cells, "method")?,
        );
        let (st, sa, mk) = (col_f64(cells, "statistical")?, col_f64(cells, "sales")?, col_f64(cells, "marketing")?);
        let months: Vec<Option<Month>> = month.iter().map(|m| m.as_deref().and_then(Month::parse)).collect();
        let last = months.iter().flatten().filter(|m| **m >= cycle).max().copied().unwrap_or(cycle);
        let plan: Vec<Month> = (0..=(last.0 - cycle.0)).map(|k| cycle.plus(k)).collect();
        let mut r = Relayered { items, plan, series: Vec::new(), index: BTreeMap::new() };
        let n = r.plan.len();
        for i in 0..sku.len() {
            let (Some(s), Some(c), Some(mi)) = (&sku[i], &cust[i], months[i].and_then(|m| month_index(&r.plan, m)))
            else {
                continue;
            };
            let k = cell(&mut r.series, &mut r.index, s, c, fam[i].as_deref().unwrap_or_default(), n);
            let series = &mut r.series[k];
            if let Some(m) = &method[i] {
                series.method.clone_from(m);
            }
            series.statistical[mi] = st[i].unwrap_or(0.0);
            series.sales[mi] = sa[i].unwrap_or(0.0);
            series.marketing[mi] = mk[i].unwrap_or(0.0);
        }
        Ok(r)
    }

    /// Adds `c` to the scenario layer of the cells it names, month by month.
    pub fn apply(&mut self, c: &DemandChange<'_>) -> LayerDone {
        let mut done = LayerDone::default();
        let n = self.plan.len();
        for mi in 0..n {
            let m = self.plan[mi];
            if m < c.from || m > c.to {
                continue;
            }
            let named: Vec<usize> = (0..self.series.len()).filter(|&k| self.names(c, k)).collect();
            let (mut targets, mut off) = (Vec::new(), 0);
            for k in named {
                if self.sells(&self.series[k].sku, m) {
                    targets.push(k);
                } else {
                    off += 1;
                }
            }
            done.discontinued_cells += off;
            if targets.is_empty() && off == 0 {
                // No cell yet: a SKU named gets one (for its customer, else none yet), as the
                // planners' spreadsheets do; otherwise the units have nowhere to go.
                match (c.amount, c.sku) {
                    (_, Some(sku)) if !self.sells(sku, m) => done.discontinued_cells += 1,
                    (DemandAmount::UnitsPerMonth(u), Some(sku)) if u > 0.0 => {
                        let family = self.items.get(sku).map(|i| i.family.clone()).unwrap_or_default();
                        let customer = c.customer.unwrap_or(UNASSIGNED);
                        targets.push(cell(&mut self.series, &mut self.index, sku, customer, &family, n));
                        done.added_cells += 1;
                    }
                    (DemandAmount::UnitsPerMonth(u), _) => done.unplaced_units += u,
                    (DemandAmount::Percent(_), _) => {}
                }
            }
            let current: Vec<f64> = targets.iter().map(|&k| self.series[k].final_units(mi)).collect();
            let total: f64 = current.iter().sum();
            let delta = match c.amount {
                DemandAmount::Percent(p) => total * p / 100.0,
                DemandAmount::UnitsPerMonth(u) => u,
            };
            done.before_units += total;
            for (&k, d) in targets.iter().zip(spread(&current, delta)) {
                let s = &mut self.series[k];
                s.scenario.resize(n, 0.0);
                s.scenario[mi] += d;
                done.after_units += s.final_units(mi);
            }
            done.cells += targets.len();
        }
        done
    }

    /// Whether series `k` is one `c` names (every filter given matches).
    fn names(&self, c: &DemandChange<'_>, k: usize) -> bool {
        let s = &self.series[k];
        c.family.is_none_or(|f| s.family == f)
            && c.customer.is_none_or(|x| s.customer == x)
            && c.sku.is_none_or(|x| s.sku == x)
    }

    /// Whether `sku` may have demand in `m` (a SKU the item master does not know: yes).
    fn sells(&self, sku: &str, m: Month) -> bool {
        self.items.get(sku).is_none_or(|i| i.sells_in(m))
    }

    /// The totals of every layer, bottom-up, revenue at the prices of `items` (the item
    /// master as the scenario left it).
    pub fn totals(&self, items: &DataFrame) -> Result<LayerTotals, AnalysisError> {
        let items = read_items(&with_lifecycle(items)?)?;
        Ok(layer_totals(&self.series, &items, &self.plan, &BTreeMap::new()).totals)
    }

    /// The scenario layer's units, in all.
    pub fn scenario_units(&self) -> f64 {
        self.series.iter().flat_map(|s| s.scenario.iter()).sum()
    }

    /// The final layer as the supply review reads demand: `sku`, `customer`, `month`, `qty`.
    pub fn demand(&self) -> PolarsResult<DataFrame> {
        let n = self.series.len() * self.plan.len();
        let (mut sku, mut cust, mut month, mut qty) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        for s in &self.series {
            for (mi, m) in self.plan.iter().enumerate() {
                sku.push(s.sku.as_str());
                cust.push(s.customer.as_str());
                month.push(m.to_string());
                qty.push(s.final_units(mi));
            }
        }
        df!("sku" => sku, "customer" => cust, "month" => month, "qty" => qty)
    }
}

/// The item master with `lifecycle` and `end_month` (empty when a pipeline maps neither: every
/// SKU then active).
fn with_lifecycle(items: &DataFrame) -> PolarsResult<DataFrame> {
    let mut out = items.clone();
    for c in ["lifecycle", "end_month"] {
        match out.column(c) {
            Ok(col) if col.dtype() == &DataType::String => {}
            Ok(col) => {
                let text = col.cast(&DataType::String)?;
                out.with_column(text)?;
            }
            Err(_) => {
                out.with_column(Column::full_null(c.into(), out.height(), &DataType::String))?;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn m(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    /// Items: `V1` and `V2` (valves, 10 and 20), `D1` (valves, 30, discontinued after 2027-01).
    fn items() -> DataFrame {
        df!("sku" => ["V1", "V2", "D1"], "family" => ["valves"; 3], "unit_price" => [10.0, 20.0, 30.0],
            "lifecycle" => ["active", "active", "discontinued"], "end_month" => [None, None, Some("2027-01")])
        .unwrap()
    }

    /// Cells over 2026-12 to 2027-03: V1 x A statistical 20 + sales 10 = 30 a month; V2 x B
    /// statistical 15 (sales -5 in 2027-02: 10); D1 x A statistical 6 through its end month
    /// (2027-01), 0 after, as the statistical layer cuts it.
    fn cells() -> DataFrame {
        let months = ["2026-12", "2027-01", "2027-02", "2027-03"];
        let (mut sku, mut cust, mut month, mut st, mut sa) = (vec![], vec![], vec![], vec![], vec![]);
        for mo in months {
            for (s, c, stat, sales) in [
                ("V1", "A", 20.0, 10.0),
                ("V2", "B", 15.0, if mo == "2027-02" { -5.0 } else { 0.0 }),
                ("D1", "A", if mo <= "2027-01" { 6.0 } else { 0.0 }, 0.0),
            ] {
                sku.push(s);
                cust.push(c);
                month.push(mo);
                st.push(stat);
                sa.push(sales);
            }
        }
        let n = sku.len();
        df!("sku" => sku, "customer" => cust, "family" => vec!["valves"; n], "month" => month,
            "statistical" => st, "sales" => sa, "marketing" => vec![0.0; n], "final" => vec![0.0; n],
            "method" => vec!["ses"; n])
        .unwrap()
    }

    fn qty(r: &Relayered, sku: &str, cust: &str, month: &str) -> f64 {
        let k = r.index[&(sku.to_string(), cust.to_string())];
        r.series[k].final_units(month_index(&r.plan, m(month)).unwrap())
    }

    fn change(amount: DemandAmount, from: &str, to: &str) -> DemandChange<'static> {
        DemandChange { family: Some("valves"), customer: None, sku: None, from: m(from), to: m(to), amount }
    }

    /// Read back with no change, every cell's final layer is the layers' sum; the totals are
    /// sums of cells: 4 x 30 + (15 + 15 + 10 + 15) + 2 x 6 = 187 units; revenue 120 x 10 +
    /// 55 x 20 + 12 x 30 = 2,660.
    #[test]
    fn a_stored_consensus_reads_back_layer_by_layer() {
        let r = Relayered::from_cells(&cells(), &items(), m("2026-12")).unwrap();
        assert_eq!(r.plan.len(), 4);
        assert_eq!((qty(&r, "V1", "A", "2027-02"), qty(&r, "V2", "B", "2027-02")), (30.0, 10.0));
        let t = r.totals(&items()).unwrap();
        assert_eq!((t.statistical_units, t.sales_adjustment_units, t.final_units), (4.0 * 35.0 + 12.0, 35.0, 187.0));
        assert_eq!(t.final_revenue, 2660.0);
        assert_eq!(r.demand().unwrap().height(), 12);
    }

    /// The layer rules bite. +60 units a month on valves in 2027-02 and 2027-03: D1 is
    /// discontinued after 2027-01, so it takes none (2 cell-months left at 0, said); V1 and V2
    /// share by their final layer: 2027-02 V1 30/40 x 60 = 45 -> 75, V2 10/40 x 60 = 15 -> 25;
    /// 2027-03 V1 30/45 x 60 = 40 -> 70, V2 15/45 x 60 = 20 -> 35. A cut of 200 % on V2 x B in
    /// 2027-01 floors its final layer at 0, not -15. 5 units a month on a SKU and customer with
    /// no cell (V2 x A) makes one; on D1 after its end month, nothing (said as discontinued).
    #[test]
    fn the_scenario_layer_follows_the_consensus_rules() {
        let mut r = Relayered::from_cells(&cells(), &items(), m("2026-12")).unwrap();
        let done = r.apply(&change(DemandAmount::UnitsPerMonth(60.0), "2027-02", "2027-03"));
        assert_eq!((done.cells, done.discontinued_cells, done.added_cells), (4, 2, 0));
        assert_eq!((qty(&r, "V1", "A", "2027-02"), qty(&r, "V2", "B", "2027-02")), (75.0, 25.0));
        assert!(close(qty(&r, "V1", "A", "2027-03"), 70.0) && close(qty(&r, "V2", "B", "2027-03"), 35.0));
        assert_eq!((qty(&r, "D1", "A", "2027-02"), qty(&r, "D1", "A", "2027-03")), (0.0, 0.0));
        assert!(close(done.before_units, 40.0 + 45.0) && close(done.after_units, 100.0 + 105.0), "{done:?}");

        let cut = DemandChange {
            sku: Some("V2"),
            customer: Some("B"),
            ..change(DemandAmount::Percent(-200.0), "2027-01", "2027-01")
        };
        let done = r.apply(&cut);
        assert_eq!((done.before_units, done.after_units), (15.0, 0.0));
        assert_eq!(qty(&r, "V2", "B", "2027-01"), 0.0, "the final layer is never below 0");

        let new = DemandChange {
            sku: Some("V2"),
            customer: Some("A"),
            ..change(DemandAmount::UnitsPerMonth(5.0), "2027-03", "2027-03")
        };
        let done = r.apply(&new);
        assert_eq!((done.cells, done.added_cells, done.after_units), (1, 1, 5.0));
        let gone = DemandChange {
            sku: Some("D1"),
            customer: Some("B"),
            ..change(DemandAmount::UnitsPerMonth(5.0), "2027-03", "2027-03")
        };
        let done = r.apply(&gone);
        assert_eq!((done.cells, done.added_cells, done.discontinued_cells, done.unplaced_units), (0, 0, 1, 0.0));
        assert!(!r.index.contains_key(&("D1".to_string(), "B".to_string())));

        // Every total is the cells' sum, and the scenario layer's units are what was added:
        // +120 units, -30 of the cut (its layer; the final layer lost 15), +5 on the new cell.
        assert!(close(r.scenario_units(), 120.0 - 30.0 + 5.0));
        let t = r.totals(&items()).unwrap();
        let mut by_hand = 0.0;
        for s in &r.series {
            for k in 0..r.plan.len() {
                by_hand +=
                    (s.statistical[k] + s.sales[k] + s.marketing[k] + s.scenario.get(k).unwrap_or(&0.0)).max(0.0);
            }
        }
        assert!(close(t.final_units, by_hand));
        assert!(close(t.final_units, 187.0 + 120.0 - 15.0 + 5.0), "{}", t.final_units);
    }
}
