//! Suppliers: on-time-in-full (OTIF) per supplier over the trailing window, which suppliers
//! are at risk (below the threshold), and the supplier facts: each supplier's OTIF and open
//! units, and the open receipts at risk with the supplier gaps they feed.
//!
//! Open receipts from a supplier below the threshold are expected to deliver only their OTIF
//! share; the constrained plan still assumes receipts arrive as promised.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::DataFrame;

use super::super::AnalysisError;
use super::columns::{dates, numbers, numbers0, texts};
use super::materials::Bom;
use super::{Gap, GapKind, ReceiptAtRisk, SupplierOtif, SupplyParams, date_of, day_of, r2, r3};
use crate::contract::{Month, Table};

/// A supplier's delivery record over the window: shares are of the deliveries promised in it.
pub(super) struct Otif {
    pub(super) deliveries: usize,
    pub(super) on_time: Option<f64>,
    pub(super) in_full: Option<f64>,
    pub(super) otif: Option<f64>,
}

/// OTIF per supplier over the deliveries promised in the trailing window before the cycle.
pub(super) fn supplier_otif(
    tables: &BTreeMap<Table, DataFrame>,
    cycle: Month,
    p: &SupplyParams,
) -> Result<BTreeMap<String, Otif>, AnalysisError> {
    let mut out = BTreeMap::new();
    let Some(df) = tables.get(&Table::SupplierDeliveries) else { return Ok(out) };
    let name = "supplier_deliveries";
    let (sup, prom, del, qp, qd) = (
        texts(df, name, "supplier")?,
        dates(df, name, "promised_date")?,
        dates(df, name, "delivered_date")?,
        numbers0(df, name, "qty_promised")?,
        numbers(df, name, "qty_delivered")?,
    );
    let from = day_of(cycle.plus(-(p.otif_window_months as i32)).first_day());
    let to = day_of(cycle.first_day());
    let mut counts: BTreeMap<&str, (usize, usize, usize, usize)> = BTreeMap::new();
    for i in 0..sup.len() {
        let Some(promised) = prom[i] else { continue };
        if promised < from || promised >= to {
            continue;
        }
        let on_time = del[i].is_some_and(|d| i64::from(d) <= i64::from(promised) + p.on_time_tolerance_days);
        let in_full = qd[i].unwrap_or(0.0) >= qp[i];
        let e = counts.entry(sup[i].as_str()).or_default();
        e.0 += 1;
        e.1 += usize::from(on_time);
        e.2 += usize::from(in_full);
        e.3 += usize::from(on_time && in_full);
    }
    for (s, (n, ot, inf, both)) in counts {
        let share = |k: usize| Some(k as f64 / n as f64);
        out.insert(s.to_string(), Otif { deliveries: n, on_time: share(ot), in_full: share(inf), otif: share(both) });
    }
    Ok(out)
}

/// The share of its receipts a supplier is expected to deliver, when its OTIF is below the
/// threshold; `None` for a supplier not at risk (or with no deliveries in the window).
pub(super) fn at_risk(otif: &BTreeMap<String, Otif>, p: &SupplyParams, supplier: &str) -> Option<f64> {
    otif.get(supplier).and_then(|o| o.otif).filter(|&v| v < p.otif_threshold)
}

/// The supplier facts: every supplier with deliveries in the window or open receipts (its
/// OTIF, open and at-risk units), and each open receipt from an at-risk supplier with the
/// expected units and the supplier gaps on its component.
pub(super) fn supplier_facts(
    p: &SupplyParams,
    bom: &Bom,
    otif: &BTreeMap<String, Otif>,
    gaps: &[Gap],
) -> (Vec<SupplierOtif>, Vec<ReceiptAtRisk>) {
    let nodes = &bom.nodes;
    let at_risk = |supplier: &str| at_risk(otif, p, supplier);
    let mut receipts_at_risk = Vec::new();
    let mut open_units: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for nd in nodes {
        for (due, qty, sup) in &nd.receipts {
            let e = open_units.entry(sup.as_str()).or_default();
            e.0 += qty;
            if let Some(o) = at_risk(sup) {
                e.1 += qty;
                let feeds: Vec<String> = gaps
                    .iter()
                    .filter(|g| g.kind == GapKind::Supplier && g.component.as_deref() == Some(nd.name.as_str()))
                    .map(|g| g.id.clone())
                    .collect();
                receipts_at_risk.push(ReceiptAtRisk {
                    component: nd.name.clone(),
                    supplier: sup.clone(),
                    due_date: date_of(*due).to_string(),
                    qty_units: r3(*qty),
                    otif_percent: r2(o * 100.0),
                    expected_units: r3(qty * o),
                    feeds_gaps: feeds,
                });
            }
        }
    }
    receipts_at_risk
        .sort_by(|a, b| (&a.supplier, &a.component, &a.due_date).cmp(&(&b.supplier, &b.component, &b.due_date)));
    let mut supplier_names: BTreeSet<&str> = otif.keys().map(String::as_str).collect();
    supplier_names.extend(open_units.keys().copied());
    let suppliers: Vec<SupplierOtif> = supplier_names
        .into_iter()
        .map(|sup| {
            let o = otif.get(sup);
            let (open, risky) = open_units.get(sup).copied().unwrap_or_default();
            let pct = |x: Option<f64>| x.map(|v| r2(v * 100.0));
            SupplierOtif {
                supplier: sup.to_string(),
                deliveries: o.map_or(0, |o| o.deliveries),
                on_time_percent: pct(o.and_then(|o| o.on_time)),
                in_full_percent: pct(o.and_then(|o| o.in_full)),
                otif_percent: pct(o.and_then(|o| o.otif)),
                below_threshold: at_risk(sup).is_some(),
                open_po_units: r3(open),
                at_risk_po_units: r3(risky),
            }
        })
        .collect();
    (suppliers, receipts_at_risk)
}
