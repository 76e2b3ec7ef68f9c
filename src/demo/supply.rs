//! The supply side's extracts: inventory positions, open purchase orders, capacity per resource
//! and month, and the suppliers' delivery history.

use polars::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::masters::{FAMILIES, Item, Resource, SITES, SUPPLIERS};
use super::{Files, Spec, money};
use crate::contract::Month;

/// Writes `inventory.csv`: at the make site about a month of demand on hand, half a month as
/// safety stock; the raw parts spread over the sites.
pub(super) fn inventory(
    files: &mut Files,
    items: &[Item],
    raw: &[String],
    per_item: &[f64],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<()> {
    let mut out = String::new();
    row!(&mut out, "item", "site", "on_hand", "safety_stock");
    for (i, it) in items.iter().enumerate() {
        let site = FAMILIES[it.family].2;
        row!(&mut out, it.sku, site, (per_item[i] * rng.random_range(0.3..1.5)).round(), (per_item[i] * 0.5).round());
    }
    for (i, r) in raw.iter().enumerate() {
        row!(&mut out, r, SITES[i % 3], rng.random_range(0..800), rng.random_range(0..100));
    }
    files.write("inventory.csv", out)
}

/// Writes `open_purchase_orders.csv`: one for every other raw part, due in the next three months
/// (those due before a later extract's month were received by then).
pub(super) fn open_purchase_orders(
    files: &mut Files,
    spec: &Spec,
    raw: &[String],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<()> {
    let mut out = String::new();
    row!(&mut out, "component", "supplier", "due_date", "qty");
    for (i, r) in raw.iter().enumerate() {
        if i % 2 == 0 {
            let due = spec.cycle.plus(rng.random_range(0..3)).first_day() + chrono::Days::new(rng.random_range(0..27));
            let qty = rng.random_range(50..2000);
            // Received by the time of a later extract.
            if due >= spec.as_of.first_day() {
                row!(&mut out, r, SUPPLIERS[i % SUPPLIERS.len()], due.format("%Y-%m-%d"), qty);
            }
        }
    }
    files.write("open_purchase_orders.csv", out)
}

/// Writes `capacity.csv`: per resource and plan month, regular hours sized to recent load (the
/// finished goods' own operations and those of the sub-assembly each one takes: item `i` takes
/// `SA-{i mod n + 1}`, machined and assembled at site `SA mod 3`, as `masters` routes them); one
/// line and one site's labour pool short of their finished goods' own load (85 %, without the
/// sub-assemblies': the rough-cut check loads finished goods only), so the supply review has
/// capacity and labour gaps. Draws nothing.
pub(super) fn capacity(
    files: &mut Files,
    items: &[Item],
    resources: &[Resource],
    per_item: &[f64],
    plan_now: &[Month],
) -> anyhow::Result<()> {
    let mut load = vec![0.0f64; resources.len()];
    let mut sa_load = vec![0.0f64; resources.len()];
    for (i, it) in items.iter().enumerate() {
        let (fname, _, site) = FAMILIES[it.family];
        let short = &site[..3];
        let scale = (it.price / 1000.0).clamp(0.02, 2.0);
        for (name, h) in [
            (format!("{short}-LINE-{}", &fname[..4].to_uppercase()), 0.4),
            (format!("{short}-CNC-{}", 1 + it.family % 2), 0.25),
            (format!("{short}-LABOUR"), 0.6),
        ] {
            if let Some(r) = resources.iter().position(|(n, _, _)| *n == name) {
                load[r] += per_item[i] * h * scale;
            }
        }
        let sa = super::masters::sub_assembly_of(i, items.len());
        let sa_site = &super::masters::sub_assembly_site(sa)[..3];
        for (name, h) in [
            (format!("{sa_site}-CNC-2"), super::masters::SA_CNC_HOURS),
            (format!("{sa_site}-LABOUR"), super::masters::SA_LABOUR_HOURS),
        ] {
            if let Some(r) = resources.iter().position(|(n, _, _)| *n == name) {
                sa_load[r] += per_item[i] * h;
            }
        }
    }
    let mut out = String::new();
    row!(&mut out, "resource", "month", "available_hours", "max_overtime_hours", "overtime_cost_per_hour");
    for (r, (name, _, kind)) in resources.iter().enumerate() {
        let (base, headroom) = if name.contains("LINE-CENT") || name == "MON-LABOUR" {
            (load[r], 0.85)
        } else {
            (load[r] + sa_load[r], 1.25)
        };
        let rate = if *kind == "labour" { 38.0 } else { 55.0 };
        for m in plan_now {
            row!(
                &mut out,
                name,
                m,
                format!("{:.0}", (base * headroom).max(8.0)),
                format!("{:.0}", (base * 0.15).max(4.0)),
                money(rate)
            );
        }
    }
    files.write("capacity.csv", out)
}

/// Writes `supplier_deliveries.parquet` (as a data warehouse would export it): the last twelve
/// months of history, some deliveries late, some short.
pub(super) fn supplier_deliveries(
    files: &mut Files,
    spec: &Spec,
    first_month: Month,
    raw: &[String],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<()> {
    let (mut d_sup, mut d_comp, mut d_prom, mut d_del, mut d_qp, mut d_qd) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (i, r) in raw.iter().enumerate() {
        let supplier = SUPPLIERS[i % SUPPLIERS.len()];
        let reliability = 0.55 + 0.4 * ((i % SUPPLIERS.len()) as f64 / SUPPLIERS.len() as f64);
        for m in (spec.months.saturating_sub(12))..spec.months {
            if rng.random::<f64>() < 0.5 {
                continue;
            }
            let month = first_month.plus(m as i32);
            let promised = month.first_day() + chrono::Days::new(rng.random_range(0..27));
            let late = if rng.random::<f64>() > reliability { rng.random_range(1..21) } else { 0 };
            let qp: f64 = rng.random_range(100..1500) as f64;
            let qd = if rng.random::<f64>() > reliability { (qp * rng.random_range(0.6..0.95)).round() } else { qp };
            d_sup.push(supplier.to_string());
            d_comp.push(r.clone());
            d_prom.push(promised);
            d_del.push(promised + chrono::Days::new(late));
            d_qp.push(qp);
            d_qd.push(qd);
        }
    }
    let mut df = DataFrame::new_infer_height(vec![
        Column::new("supplier".into(), d_sup),
        Column::new("component".into(), d_comp),
        Column::new("promised_date".into(), d_prom),
        Column::new("delivered_date".into(), d_del),
        Column::new("qty_promised".into(), d_qp),
        Column::new("qty_delivered".into(), d_qd),
    ])?;
    let path = files.data.join("supplier_deliveries.parquet");
    let file = fs_err::File::create(&path)?;
    ParquetWriter::new(file).finish(&mut df)?;
    files.files.push(path);
    Ok(())
}
