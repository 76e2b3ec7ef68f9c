//! The demo manufacturer: a deterministic generator (seeded) of a mid-market maker of pumps and
//! valves, its ERP extracts and its people's spreadsheets, and the `snop demo` workspace.
//!
//! Identical specs give byte-identical files, so a small version is committed under
//! `fixtures/demo` and a test regenerates and compares it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::contract::{Month, PLAN_MONTHS};

/// How big a demo company to generate.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub skus: usize,
    pub customers: usize,
    /// Months of order history before the cycle.
    pub months: u32,
    /// The cycle the data leads up to: history ends the month before it.
    pub cycle: Month,
    /// The month the extracts are taken in: `cycle` for the first cycle; a later month gives the
    /// same company that many months on: the months in between became history (the orders
    /// booked for them shipped, with more on top), the order book and the plan months moved on.
    /// What was generated for earlier months is unchanged.
    pub as_of: Month,
    pub seed: u64,
}

impl Default for Spec {
    fn default() -> Self {
        let cycle = Month::parse("2026-12").expect("month");
        Spec { skus: 300, customers: 100, months: 36, cycle, as_of: cycle, seed: 7 }
    }
}

const FAMILIES: [(&str, f64, &str); 8] = [
    // family, typical unit price, site that makes it
    ("centrifugal-pumps", 1450.0, "LEEDS"),
    ("diaphragm-pumps", 980.0, "LEEDS"),
    ("ball-valves", 210.0, "BRNO"),
    ("gate-valves", 340.0, "BRNO"),
    ("actuators", 620.0, "BRNO"),
    ("controllers", 890.0, "MONTERREY"),
    ("seal-kits", 45.0, "MONTERREY"),
    ("spare-parts", 28.0, "MONTERREY"),
];
const SITES: [&str; 3] = ["LEEDS", "BRNO", "MONTERREY"];
const CHANNELS: [&str; 4] = ["oem", "distributor", "direct", "e-commerce"];
const REGIONS: [&str; 4] = ["EMEA", "NA", "LATAM", "APAC"];
/// The account managers (id, name): each owns its customers' lines in the commitment log.
const ACCOUNT_MANAGERS: [(&str, &str); 5] = [
    ("ana.lopez", "Ana Lopez"),
    ("ben.carter", "Ben Carter"),
    ("chloe.martin", "Chloe Martin"),
    ("dev.patel", "Dev Patel"),
    ("eva.novak", "Eva Novak"),
];
const SUPPLIERS: [&str; 10] = [
    "SUP-CASTWORKS",
    "SUP-STEELCO",
    "SUP-SEALTECH",
    "SUP-MOTORIX",
    "SUP-ELECTRA",
    "SUP-POLYMER",
    "SUP-FASTEN",
    "SUP-BEARINGS",
    "SUP-CHIPS",
    "SUP-PACKAGING",
];

struct Item {
    sku: String,
    family: usize,
    price: f64,
    lifecycle: &'static str,
    launch: Option<Month>,
}

/// A series' demand shape: what its history is drawn from.
struct Shape {
    level: f64,
    trend: f64,
    intermittent: bool,
    discount: f64,
}

struct Customer {
    id: String,
    channel: &'static str,
    manager: &'static str,
}

/// Everything generated, as files under `data/`.
pub struct Generated {
    pub files: Vec<PathBuf>,
    pub order_lines: usize,
}

fn csv(out: &mut String, fields: &[String]) {
    let line: Vec<String> = fields
        .iter()
        .map(|f| if f.contains([',', '"', '\n', ';']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.clone() })
        .collect();
    out.push_str(&line.join(","));
    out.push('\n');
}

macro_rules! row {
    ($out:expr, $($f:expr),+ $(,)?) => { csv($out, &[$($f.to_string()),+]) };
}

fn money(x: f64) -> String {
    format!("{x:.2}")
}

/// A deterministic seasonal profile per family: 12 multipliers around 1.
fn season(family: usize, month_of_year: u32) -> f64 {
    let phase = family as f64 * 0.8;
    let amp = [0.25, 0.1, 0.3, 0.15, 0.05, 0.2, 0.0, 0.1][family % 8];
    1.0 + amp * ((month_of_year as f64 - 1.0) / 12.0 * std::f64::consts::TAU + phase).sin()
}

/// Writes the demo company's extracts and spreadsheets under `dir/data`.
pub fn generate(dir: &Path, spec: Spec) -> anyhow::Result<Generated> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let data = dir.join("data");
    for sub in ["", "erp", "crm", "spreadsheets"] {
        fs_err::create_dir_all(data.join(sub))?;
    }
    let mut files = Vec::new();
    let write = |name: &str, text: String| -> anyhow::Result<PathBuf> {
        let p = data.join(name);
        fs_err::write(&p, text)?;
        Ok(p)
    };
    anyhow::ensure!(spec.as_of >= spec.cycle, "the extracts' month {} is before the cycle {}", spec.as_of, spec.cycle);
    let first_month = spec.cycle.plus(-(spec.months as i32));
    let window_start = spec.as_of.plus(-(spec.months as i32));
    let plan: Vec<Month> = (0..PLAN_MONTHS as i32).map(|i| spec.cycle.plus(i)).collect();
    // The plan months as of the extracts' month (the same as `plan` for the first cycle).
    let plan_now: Vec<Month> = (0..PLAN_MONTHS as i32).map(|i| spec.as_of.plus(i)).collect();

    // Items: most active, a few new (launching in the plan) and a few being discontinued.
    let mut items = Vec::with_capacity(spec.skus);
    let mut out = String::new();
    row!(&mut out, "sku", "family", "uom", "unit_price", "unit_cost", "make_site", "lifecycle", "end_month");
    for i in 0..spec.skus {
        let family = i % FAMILIES.len();
        let (fname, base, site) = FAMILIES[family];
        let price = (base * rng.random_range(0.6..1.6) * 100.0).round() / 100.0;
        let cost = (price * rng.random_range(0.45..0.72) * 100.0).round() / 100.0;
        // Always at least one launch and one phase-out, however small the company.
        let roll: f64 = if i == 3 {
            0.0
        } else if i == 5 {
            0.07
        } else {
            rng.random()
        };
        let (lifecycle, end_month, launch) = if roll < 0.05 {
            ("new", None, Some(spec.cycle.plus(rng.random_range(1..6))))
        } else if roll < 0.11 {
            ("discontinued", Some(spec.cycle.plus(rng.random_range(0..9))), None)
        } else {
            ("active", None, None)
        };
        let sku = format!("{}-{:04}", &fname[..2].to_uppercase(), i + 1);
        row!(
            &mut out,
            sku,
            fname,
            if family >= 6 { "set" } else { "ea" },
            money(price),
            money(cost),
            site,
            lifecycle,
            end_month.map(|m| m.to_string()).unwrap_or_default()
        );
        items.push(Item { sku, family, price, lifecycle, launch });
    }
    files.push(write("items.csv", out)?);

    let mut customers = Vec::with_capacity(spec.customers);
    let mut out = String::new();
    row!(&mut out, "customer", "channel", "region", "account_manager", "priority");
    for i in 0..spec.customers {
        let channel = CHANNELS[rng.random_range(0..CHANNELS.len())];
        let manager = ACCOUNT_MANAGERS[i % ACCOUNT_MANAGERS.len()].0;
        let id = format!("C{:05}", 10001 + i);
        let priority = if channel == "oem" { 1 } else { rng.random_range(2..4) };
        row!(&mut out, id, channel, REGIONS[rng.random_range(0..REGIONS.len())], manager, priority);
        customers.push(Customer { id, channel, manager });
    }
    files.push(write("customers.csv", out)?);

    // Resources: per site two machines, a line per family made there, and a labour pool.
    let mut resources: Vec<(String, &str, &str)> = Vec::new();
    for site in SITES {
        let short = &site[..3];
        resources.push((format!("{short}-CNC-1"), site, "machine"));
        resources.push((format!("{short}-CNC-2"), site, "machine"));
        for (fname, _, fsite) in FAMILIES {
            if fsite == site {
                resources.push((format!("{short}-LINE-{}", &fname[..4].to_uppercase()), site, "line"));
            }
        }
        resources.push((format!("{short}-LABOUR"), site, "labour"));
    }
    let mut out = String::new();
    row!(&mut out, "resource", "site", "kind");
    for (r, s, k) in &resources {
        row!(&mut out, r, s, k);
    }
    files.push(write("resources.csv", out)?);

    let mut out = String::new();
    row!(&mut out, "sku", "resource", "hours_per_unit");
    for it in &items {
        let (fname, _, site) = FAMILIES[it.family];
        let short = &site[..3];
        let scale = (it.price / 1000.0).clamp(0.02, 2.0);
        row!(&mut out, it.sku, format!("{short}-LINE-{}", &fname[..4].to_uppercase()), format!("{:.3}", 0.4 * scale));
        row!(&mut out, it.sku, format!("{short}-CNC-{}", 1 + it.family % 2), format!("{:.3}", 0.25 * scale));
        row!(&mut out, it.sku, format!("{short}-LABOUR"), format!("{:.3}", 0.6 * scale));
    }
    files.push(write("routings.csv", out)?);

    // Components: raw parts from suppliers and sub-assemblies built from them (a 3-level BOM).
    let n_raw = (spec.skus / 2).max(12);
    let n_sub = (spec.skus / 6).max(4);
    let mut out = String::new();
    row!(&mut out, "component", "supplier", "lead_time_days", "unit_cost");
    let mut raw = Vec::new();
    for i in 0..n_raw {
        let id = format!("RM-{:05}", i + 1);
        let supplier = SUPPLIERS[i % SUPPLIERS.len()];
        row!(&mut out, id, supplier, rng.random_range(14..120), money(rng.random_range(0.5..120.0)));
        raw.push(id);
    }
    let mut subs = Vec::new();
    for i in 0..n_sub {
        let id = format!("SA-{:04}", i + 1);
        row!(&mut out, id, "INTERNAL", rng.random_range(5..15), money(rng.random_range(40.0..300.0)));
        subs.push(id);
    }
    files.push(write("components.csv", out)?);
    let mut out = String::new();
    row!(&mut out, "parent_sku", "component", "qty_per");
    for (i, sa) in subs.iter().enumerate() {
        for k in 0..3 {
            row!(&mut out, sa, raw[(i * 3 + k) % raw.len()], rng.random_range(1..5));
        }
    }
    for (i, it) in items.iter().enumerate() {
        row!(&mut out, it.sku, subs[i % subs.len()], 1);
        row!(&mut out, it.sku, raw[(i * 7 + 1) % raw.len()], rng.random_range(1..4));
        if i % 3 == 0 {
            row!(&mut out, it.sku, raw[(i * 5 + 2) % raw.len()], rng.random_range(1..8));
        }
    }
    files.push(write("bom.csv", out)?);

    // History: each customer buys a subset of SKUs; each series has a level, a trend, its
    // family's seasonality and, for the tail, intermittency.
    let mut monthly: Vec<Vec<f64>> = Vec::new(); // per series, per month: used for positions
    let mut series: Vec<(usize, usize)> = Vec::new();
    for (c, cust) in customers.iter().enumerate() {
        let n = match cust.channel {
            "distributor" => 24,
            "oem" => 8,
            _ => 14,
        }
        .min(spec.skus);
        let start = rng.random_range(0..spec.skus);
        for k in 0..n {
            let s = (start + k * 7 + c) % spec.skus;
            if !series.contains(&(c, s)) {
                series.push((c, s));
            }
        }
    }
    series.sort();
    let mut sales = String::new();
    sales.push_str("VBELN;AUDAT;LFDAT;MATNR;KUNNR;MENGE;NETWR\n");
    let mut order_no = 4_500_000u64;
    let mut lines = 0usize;
    let mut shapes = Vec::with_capacity(series.len());
    for &(c, s) in &series {
        let it = &items[s];
        let cust = &customers[c];
        let level = rng.random_range(2.0f64..60.0) / (it.price / 500.0).max(0.3);
        let trend = rng.random_range(-0.01..0.02);
        let intermittent = rng.random::<f64>() < 0.3;
        let discount = match cust.channel {
            "oem" => 0.18,
            "distributor" => 0.25,
            _ => 0.05,
        };
        let mut per_month = Vec::with_capacity(spec.months as usize);
        for m in 0..spec.months {
            let month = first_month.plus(m as i32);
            let active = it.launch.is_none();
            let p_order = if intermittent { 0.25 } else { 0.92 };
            if !active || rng.random::<f64>() > p_order {
                per_month.push(0.0);
                continue;
            }
            let mean = level * (1.0 + trend * m as f64) * season(it.family, month.month());
            let qty = (mean * rng.random_range(0.6..1.4)).round().max(1.0);
            per_month.push(qty);
            // One to three order lines a month.
            let n_lines = 1 + (qty as u64 % 3).min(2);
            let mut left = qty as u64;
            for l in 0..n_lines {
                let q = if l + 1 == n_lines { left } else { (left / 2).max(1) };
                if q == 0 {
                    break;
                }
                left -= q;
                order_no += 1;
                let day = rng.random_range(1..=28);
                let date = chrono::NaiveDate::from_ymd_opt(month.year(), month.month(), day).expect("date");
                let ship = date + chrono::Days::new(rng.random_range(2..12));
                let value = q as f64 * it.price * (1.0 - discount);
                // A later extract covers the same number of months, ending later: the oldest
                // month falls out of it (drawn all the same, so what follows is unchanged).
                if month >= window_start {
                    let _ = writeln!(
                        sales,
                        "{order_no};{};{};{};{};{q};{}",
                        date.format("%Y%m%d"),
                        ship.format("%Y%m%d"),
                        it.sku,
                        cust.id,
                        decimal_comma(value)
                    );
                    lines += 1;
                }
            }
        }
        monthly.push(per_month);
        shapes.push(Shape { level, trend, intermittent, discount });
    }
    // Real extracts are never clean: an order for a SKU that was deleted from the master, and a
    // cancelled line booked with a negative quantity. snop quarantines both.
    let last = first_month.plus(spec.months as i32 - 1);
    let _ = writeln!(
        sales,
        "{};{}15;;XX-9999;{};5;100,00",
        order_no + 1,
        format_args!("{:04}{:02}", last.year(), last.month()),
        customers[0].id
    );
    let _ = writeln!(
        sales,
        "{};{}16;;{};{};-3;0,00",
        order_no + 2,
        format_args!("{:04}{:02}", last.year(), last.month()),
        items[0].sku,
        customers[0].id
    );
    lines += 2;

    // Open orders for the next three months, roughly a third of recent demand.
    let mut book: Vec<(String, usize, Month, f64)> = Vec::new();
    for (k, _) in series.iter().enumerate() {
        let recent: f64 = monthly[k].iter().rev().take(3).sum::<f64>() / 3.0;
        for (ahead, month) in plan.iter().take(3).enumerate() {
            if recent >= 1.0 && rng.random::<f64>() < 0.5 {
                let qty = (recent * rng.random_range(0.2..0.6)).round().max(1.0);
                book.push((format!("SO-{}-{}", 9_000_000 + k * 3, ahead), k, *month, qty));
            }
        }
    }
    // Months on (`as_of` after `cycle`): each month between became history, drawn per series
    // from its own seeded stream so what came before is unchanged; orders booked for it shipped
    // and customers ordered more on top (or not), and new orders were booked for the new months.
    let mut later_order_no = 5_500_000u64;
    for (k, &(c, s)) in series.iter().enumerate() {
        let recent: f64 = monthly[k].iter().rev().take(3).sum::<f64>() / 3.0;
        for e in 0..(spec.as_of.0 - spec.cycle.0) {
            let month = spec.cycle.plus(e);
            let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ (0x5eed_0000_0000 + (k as u64) * 4096 + e as u64));
            let (it, cust, shape) = (&items[s], &customers[c], &shapes[k]);
            let booked: f64 = book.iter().filter(|b| b.1 == k && b.2 == month).map(|b| b.3).sum();
            let m = spec.months as f64 + e as f64;
            let drawn = if it.launch.is_none() && rng.random::<f64>() <= if shape.intermittent { 0.25 } else { 0.92 } {
                let mean = shape.level * (1.0 + shape.trend * m) * season(it.family, month.month());
                (mean * rng.random_range(0.6..1.4)).round().max(1.0)
            } else {
                0.0
            };
            let qty = drawn.max(booked) as u64;
            if qty > 0 {
                later_order_no += 1;
                let day = rng.random_range(1..=28);
                let date = chrono::NaiveDate::from_ymd_opt(month.year(), month.month(), day).expect("date");
                let ship = date + chrono::Days::new(rng.random_range(2..12));
                let value = qty as f64 * it.price * (1.0 - shape.discount);
                let _ = writeln!(
                    sales,
                    "{later_order_no};{};{};{};{};{qty};{}",
                    date.format("%Y%m%d"),
                    ship.format("%Y%m%d"),
                    it.sku,
                    cust.id,
                    decimal_comma(value)
                );
                lines += 1;
            }
            // New bookings for the month that came into the three-month window.
            let new_month = month.plus(3);
            if recent >= 1.0 && rng.random::<f64>() < 0.5 {
                let qty = (recent * rng.random_range(0.2..0.6)).round().max(1.0);
                book.push((format!("SO-{}-{}", 9_500_000 + k * 3, e), k, new_month, qty));
            }
        }
    }
    book.retain(|b| b.2 >= spec.as_of);
    files.push(write("erp/sales_lines.csv", sales)?);
    let mut out = String::new();
    row!(&mut out, "order_id", "sku", "customer", "requested_month", "qty");
    for (id, k, month, qty) in &book {
        let (c, s) = series[*k];
        row!(&mut out, id, items[s].sku, customers[c].id, month, qty);
    }
    files.push(write("erp/open_orders.csv", out)?);

    // Positions at the make site: about a month of demand on hand, half a month as safety stock.
    let mut per_item = vec![0.0f64; spec.skus];
    for (k, &(_, s)) in series.iter().enumerate() {
        per_item[s] += monthly[k].iter().rev().take(6).sum::<f64>() / 6.0;
    }
    let mut out = String::new();
    row!(&mut out, "item", "site", "on_hand", "safety_stock");
    for (i, it) in items.iter().enumerate() {
        let site = FAMILIES[it.family].2;
        row!(&mut out, it.sku, site, (per_item[i] * rng.random_range(0.3..1.5)).round(), (per_item[i] * 0.5).round());
    }
    for (i, r) in raw.iter().enumerate() {
        row!(&mut out, r, SITES[i % 3], rng.random_range(0..800), rng.random_range(0..100));
    }
    files.push(write("inventory.csv", out)?);

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
    files.push(write("open_purchase_orders.csv", out)?);

    // Capacity per resource and plan month: regular hours sized to recent load; one line and
    // one site's labour pool short, so the supply review has capacity and labour gaps.
    let mut load = vec![0.0f64; resources.len()];
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
    }
    let mut out = String::new();
    row!(&mut out, "resource", "month", "available_hours", "max_overtime_hours", "overtime_cost_per_hour");
    for (r, (name, _, kind)) in resources.iter().enumerate() {
        let headroom = if name.contains("LINE-CENT") || name == "MON-LABOUR" { 0.85 } else { 1.25 };
        let rate = if *kind == "labour" { 38.0 } else { 55.0 };
        for m in &plan_now {
            row!(
                &mut out,
                name,
                m,
                format!("{:.0}", (load[r] * headroom).max(8.0)),
                format!("{:.0}", (load[r] * 0.15).max(4.0)),
                money(rate)
            );
        }
    }
    files.push(write("capacity.csv", out)?);

    // Supplier delivery history (Parquet, as a data warehouse would export it): some late, some short.
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
    let path = data.join("supplier_deliveries.parquet");
    let file = fs_err::File::create(&path)?;
    ParquetWriter::new(file).finish(&mut df)?;
    files.push(path);

    // CRM pipeline: opportunities with probabilities.
    let mut out = String::new();
    row!(&mut out, "opportunity", "customer", "sku", "month", "qty", "probability");
    for i in 0..(spec.customers / 3).max(3) {
        let c = &customers[(i * 7) % customers.len()];
        let it = &items[(i * 11) % items.len()];
        if it.lifecycle == "discontinued" {
            continue;
        }
        row!(
            &mut out,
            format!("OPP-{:05}", i + 1),
            c.id,
            it.sku,
            plan_now[rng.random_range(1..9)],
            rng.random_range(10..400),
            format!("{:.2}", rng.random_range(0.1..0.9))
        );
    }
    files.push(write("crm/pipeline.csv", out)?);

    let mut out = String::new();
    row!(&mut out, "sku", "month", "qty");
    for it in &items {
        if let Some(m) = it.launch {
            for k in 0..6 {
                row!(&mut out, it.sku, m.plus(k), (20.0 * (1.0 + k as f64 * 0.3)).round());
            }
        }
    }
    files.push(write("launches.csv", out)?);

    // Budget: revenue per family and plan month, a little above the run rate.
    let mut fam_rev = vec![0.0f64; FAMILIES.len()];
    for (i, it) in items.iter().enumerate() {
        fam_rev[it.family] += per_item[i] * it.price * 0.85;
    }
    let mut out = String::new();
    row!(&mut out, "family", "month", "revenue");
    for (f, (fname, _, _)) in FAMILIES.iter().enumerate() {
        for m in &plan_now {
            row!(&mut out, fname, m, format!("{:.0}", fam_rev[f] * 1.06 * season(f, m.month())));
        }
    }
    files.push(write("budget.csv", out)?);

    files.extend(write_spreadsheets(&data.join("spreadsheets"), &items, &customers, &plan_now, &mut rng)?);
    Ok(Generated { files, order_lines: lines })
}

fn decimal_comma(x: f64) -> String {
    let s = format!("{x:.2}");
    let (int, frac) = s.split_once('.').expect("two decimals");
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(ch);
    }
    format!("{grouped},{frac}")
}

/// The account managers' and marketing's spreadsheets, as people make them: a title above the
/// header, months as date cells, an owner and a reason per line.
fn write_spreadsheets(
    dir: &Path,
    items: &[Item],
    customers: &[Customer],
    plan: &[Month],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Vec<PathBuf>> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let date_format = Format::new().set_num_format("mmm yyyy");
    let bold = Format::new().set_bold();
    let fixed_time = ExcelDateTime::from_ymd(2026, 1, 1)?;

    let mut book = Workbook::new();
    book.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&fixed_time));
    let sheet = book.add_worksheet().set_name("Adjustments")?;
    sheet.write_with_format(0, 0, "Sales adjustments for the demand review", &bold)?;
    for (c, h) in ["SKU", "Customer", "Month", "Delta", "Override", "Reason", "Owner"].iter().enumerate() {
        sheet.write_with_format(2, c as u16, *h, &bold)?;
    }
    let reasons = [
        "customer confirmed a project",
        "competitor lost a tender",
        "destocking at the distributor",
        "price increase in April",
        "new plant opening",
    ];
    let mut r = 3u32;
    for i in 0..(customers.len() / 2).max(4) {
        let cust = &customers[(i * 3) % customers.len()];
        let it = &items[(i * 13 + 5) % items.len()];
        if it.lifecycle != "active" {
            continue;
        }
        let m = plan[rng.random_range(0..6)];
        sheet.write(r, 0, &it.sku)?;
        sheet.write(r, 1, &cust.id)?;
        sheet.write_with_format(r, 2, &ExcelDateTime::from_ymd(m.year() as u16, m.month() as u8, 1)?, &date_format)?;
        if i % 4 == 0 {
            sheet.write(r, 4, rng.random_range(5..80) as f64)?;
        } else {
            sheet.write(r, 3, rng.random_range(-30..60) as f64)?;
        }
        sheet.write(r, 5, reasons[i % reasons.len()])?;
        sheet.write(r, 6, cust.manager)?;
        r += 1;
    }
    let sales_path = dir.join("sales_adjustments.xlsx");
    book.save(&sales_path)?;

    let mut book = Workbook::new();
    book.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&fixed_time));
    let sheet = book.add_worksheet().set_name("Promotions")?;
    for (c, h) in ["SKU", "Family", "Month", "Delta", "Override", "Reason", "Owner"].iter().enumerate() {
        sheet.write_with_format(0, c as u16, *h, &bold)?;
    }
    let mut r = 1u32;
    for (f, (fname, _, _)) in FAMILIES.iter().enumerate().take(4) {
        let m = plan[2 + f];
        sheet.write(r, 1, *fname)?;
        sheet.write_with_format(r, 2, &ExcelDateTime::from_ymd(m.year() as u16, m.month() as u8, 1)?, &date_format)?;
        sheet.write(r, 3, (40 + 10 * f) as f64)?;
        sheet.write(r, 5, "spring trade promotion")?;
        sheet.write(r, 6, "maya.brooks")?;
        r += 1;
    }
    for it in items.iter().filter(|i| i.lifecycle == "new").take(3) {
        let m = it.launch.expect("a launch month");
        sheet.write(r, 0, &it.sku)?;
        sheet.write_with_format(r, 2, &ExcelDateTime::from_ymd(m.year() as u16, m.month() as u8, 1)?, &date_format)?;
        sheet.write(r, 3, 25.0)?;
        sheet.write(r, 5, "launch campaign")?;
        sheet.write(r, 6, "maya.brooks")?;
        r += 1;
    }
    let marketing_path = dir.join("marketing_adjustments.xlsx");
    book.save(&marketing_path)?;
    Ok(vec![sales_path, marketing_path])
}

// ---------------------------------------------------------------------------------------------
// The supply review at scale (for `snop bench supply`)

/// Tables and a demand consensus for the supply review at benchmark scale: at `divisor` 1,
/// 50,000 SKUs, a 5-level BOM, 2,000 resources at 10 sites, 1,000 customers, 18 months; at 10
/// and 100, a tenth and a hundredth of each. Deterministic (seeded).
pub fn large_supply_tables(
    divisor: usize,
) -> anyhow::Result<(std::collections::BTreeMap<crate::contract::Table, DataFrame>, DataFrame)> {
    use crate::contract::Table;
    let divisor = divisor.max(1);
    let n_sku = (50_000 / divisor).max(10);
    let n_res = (2_000 / divisor).max(20);
    let n_cust = (1_000 / divisor).max(10);
    let n_sites = 10usize;
    let cycle = Month::parse("2026-12").expect("month");
    let plan: Vec<String> = (0..PLAN_MONTHS as i32).map(|i| cycle.plus(i).to_string()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_201);
    let site = |i: usize| format!("S{:02}", i % n_sites);
    let mut tables = std::collections::BTreeMap::new();

    // Items and their average monthly demand.
    let (mut sku, mut fam, mut price, mut cost, mut msite, mut life) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut level = Vec::with_capacity(n_sku);
    for i in 0..n_sku {
        let p: f64 = (rng.random_range(20.0..2000.0f64) * 100.0).round() / 100.0;
        sku.push(format!("P{i:06}"));
        fam.push(format!("F{:02}", i % 20));
        price.push(p);
        cost.push((p * rng.random_range(0.5..0.75) * 100.0).round() / 100.0);
        msite.push(site(i));
        life.push("active");
        level.push(rng.random_range(5.0..200.0f64) / (p / 200.0).max(1.0));
    }
    tables.insert(
        Table::Items,
        df!("sku" => &sku, "family" => &fam, "uom" => vec!["ea"; n_sku], "unit_price" => &price,
            "unit_cost" => &cost, "make_site" => &msite, "lifecycle" => life)?,
    );
    let cust: Vec<String> = (0..n_cust).map(|i| format!("K{i:05}")).collect();
    let prio: Vec<i64> = (0..n_cust).map(|_| rng.random_range(1..4)).collect();
    tables.insert(Table::Customers, df!("customer" => &cust, "priority" => prio)?);
    let res: Vec<String> = (0..n_res).map(|i| format!("R{i:05}")).collect();
    // Resource `k * n_sites + s` is the k-th at site `s`; every tenth at a site is a labour pool.
    let is_labour = |r: usize| (r / n_sites) % 10 == 9;
    let kinds: Vec<&str> = (0..n_res)
        .map(|r| {
            if is_labour(r) {
                "labour"
            } else if (r / n_sites) % 10 < 5 {
                "machine"
            } else {
                "line"
            }
        })
        .collect();
    tables.insert(
        Table::Resources,
        df!("resource" => &res, "site" => (0..n_res).map(site).collect::<Vec<_>>(), "kind" => kinds)?,
    );

    // Routings: three operations at the make site (one on its labour pool); 5 % of SKUs also
    // have a routing at the next site.
    let per_site = n_res / n_sites;
    let at_site = |s: usize, k: usize| (k % per_site) * n_sites + s;
    let (mut r_sku, mut r_res, mut r_h) = (vec![], vec![], vec![]);
    let mut load = vec![0.0f64; n_res];
    for i in 0..n_sku {
        let s = i % n_sites;
        let mut ops = vec![at_site(s, rng.random_range(0..per_site)), at_site(s, rng.random_range(0..per_site))];
        ops.push(at_site(s, 9 + 10 * rng.random_range(0..(per_site / 10).max(1))));
        ops.sort();
        ops.dedup();
        if i % 20 == 0 {
            ops.push(at_site((s + 1) % n_sites, rng.random_range(0..per_site)));
        }
        for (k, r) in ops.into_iter().enumerate() {
            let h = rng.random_range(0.01..0.5f64);
            if k < 3 && r % n_sites == s {
                load[r] += level[i] * h;
            }
            r_sku.push(sku[i].clone());
            r_res.push(res[r].clone());
            r_h.push((h * 1000.0).round() / 1000.0);
        }
    }
    tables.insert(Table::Routings, df!("sku" => r_sku, "resource" => r_res, "hours_per_unit" => r_h)?);
    let (mut c_res, mut c_m, mut c_av, mut c_ot, mut c_rate) = (vec![], vec![], vec![], vec![], vec![]);
    for r in 0..n_res {
        let headroom = rng.random_range(0.8..1.4f64);
        for m in &plan {
            c_res.push(res[r].clone());
            c_m.push(m.clone());
            c_av.push((load[r] * headroom).round().max(8.0));
            c_ot.push((load[r] * 0.15).round().max(4.0));
            c_rate.push(if is_labour(r) { 38.0 } else { 55.0 });
        }
    }
    tables.insert(
        Table::Capacity,
        df!("resource" => c_res, "month" => c_m, "available_hours" => c_av, "max_overtime_hours" => c_ot,
            "overtime_cost_per_hour" => c_rate)?,
    );

    // A 5-level BOM: SKU -> L1 -> L2 -> L3 -> L4 sub-assemblies, each with a raw part, and raw
    // parts under L4.
    let n_sub = (n_sku / 5).max(2);
    let n_raw = (n_sku / 2).max(4);
    let suppliers: Vec<String> = (0..(n_raw / 50).max(5)).map(|i| format!("V{i:04}")).collect();
    let (mut comp, mut sup, mut lt, mut ucost) = (vec![], vec![], vec![], vec![]);
    for l in 1..=4 {
        for i in 0..n_sub {
            comp.push(format!("L{l}-{i:06}"));
            sup.push("INTERNAL".to_string());
            lt.push(rng.random_range(3..10i64));
            ucost.push(rng.random_range(5.0..200.0f64).round());
        }
    }
    for i in 0..n_raw {
        comp.push(format!("RAW-{i:06}"));
        sup.push(suppliers[i % suppliers.len()].clone());
        lt.push(rng.random_range(14..100i64));
        ucost.push((rng.random_range(0.5..50.0f64) * 100.0).round() / 100.0);
    }
    tables.insert(
        Table::Components,
        df!("component" => &comp, "supplier" => &sup, "lead_time_days" => lt, "unit_cost" => ucost)?,
    );
    let (mut b_par, mut b_comp, mut b_q) = (vec![], vec![], vec![]);
    let raw = |i: usize| format!("RAW-{:06}", i % n_raw);
    for (i, s) in sku.iter().enumerate() {
        b_par.push(s.clone());
        b_comp.push(format!("L1-{:06}", i % n_sub));
        b_q.push(1.0);
        b_par.push(s.clone());
        b_comp.push(raw(i * 7 + 1));
        b_q.push(rng.random_range(1..4) as f64);
    }
    for l in 1..=4 {
        for i in 0..n_sub {
            let parent = format!("L{l}-{i:06}");
            if l < 4 {
                b_par.push(parent.clone());
                b_comp.push(format!("L{}-{:06}", l + 1, (i * 3 + l) % n_sub));
                b_q.push(1.0);
            } else {
                b_par.push(parent.clone());
                b_comp.push(raw(i * 11 + 3));
                b_q.push(rng.random_range(1..3) as f64);
            }
            b_par.push(parent);
            b_comp.push(raw(i * 5 + l));
            b_q.push(rng.random_range(1..3) as f64);
        }
    }
    tables.insert(Table::Bom, df!("parent_sku" => b_par, "component" => b_comp, "qty_per" => b_q)?);

    // Positions: finished goods for about half a month, raw parts with stock and open orders.
    let (mut inv_item, mut inv_site, mut inv_on, mut inv_ss) = (vec![], vec![], vec![], vec![]);
    for i in 0..n_sku {
        inv_item.push(sku[i].clone());
        inv_site.push(msite[i].clone());
        inv_on.push((level[i] * rng.random_range(0.0..1.2)).round());
        inv_ss.push((level[i] * 0.3).round());
    }
    let (mut po_c, mut po_s, mut po_d, mut po_q) = (vec![], vec![], vec![], vec![]);
    for i in 0..n_raw {
        inv_item.push(raw(i));
        inv_site.push(site(i));
        inv_on.push(rng.random_range(0..3000) as f64);
        inv_ss.push(rng.random_range(0..200) as f64);
        if i % 2 == 0 {
            po_c.push(raw(i));
            po_s.push(suppliers[i % suppliers.len()].clone());
            po_d.push(cycle.plus(rng.random_range(0..3)).first_day() + chrono::Days::new(rng.random_range(0..27)));
            po_q.push(rng.random_range(100..5000) as f64);
        }
    }
    tables.insert(
        Table::Inventory,
        df!("item" => inv_item, "site" => inv_site, "on_hand" => inv_on, "safety_stock" => inv_ss)?,
    );
    tables.insert(
        Table::OpenPurchaseOrders,
        df!("component" => po_c, "supplier" => po_s, "due_date" => po_d, "qty" => po_q)?,
    );
    let (mut d_sup, mut d_comp, mut d_prom, mut d_del, mut d_qp, mut d_qd) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n_raw {
        let reliability = 0.6 + 0.4 * ((i % suppliers.len()) as f64 / suppliers.len() as f64);
        for m in 1..=6 {
            let promised = cycle.plus(-2 * m).first_day() + chrono::Days::new(rng.random_range(0..27));
            let late = if rng.random::<f64>() > reliability { rng.random_range(1..15) } else { 0 };
            let qp = rng.random_range(100..2000) as f64;
            d_sup.push(suppliers[i % suppliers.len()].clone());
            d_comp.push(raw(i));
            d_prom.push(promised);
            d_del.push(promised + chrono::Days::new(late));
            d_qp.push(qp);
            d_qd.push(if rng.random::<f64>() > reliability { (qp * 0.8).round() } else { qp });
        }
    }
    tables.insert(
        Table::SupplierDeliveries,
        df!("supplier" => d_sup, "component" => d_comp, "promised_date" => d_prom, "delivered_date" => d_del,
            "qty_promised" => d_qp, "qty_delivered" => d_qd)?,
    );

    // Demand: each SKU to one to three customers, the monthly level with noise.
    let (mut q_sku, mut q_cust, mut q_m, mut q_q) = (vec![], vec![], vec![], vec![]);
    let mut fam_rev = std::collections::BTreeMap::<String, f64>::new();
    for i in 0..n_sku {
        let n = rng.random_range(1..4usize);
        for k in 0..n {
            let c = (i * 13 + k * 7) % n_cust;
            for m in &plan {
                let q = (level[i] / n as f64 * rng.random_range(0.7..1.3)).round();
                q_sku.push(sku[i].clone());
                q_cust.push(cust[c].clone());
                q_m.push(m.clone());
                q_q.push(q);
                *fam_rev.entry(fam[i].clone()).or_default() += q * price[i] / plan.len() as f64;
            }
        }
    }
    let demand = df!("sku" => q_sku, "customer" => q_cust, "month" => q_m, "qty" => q_q)?;
    let (mut b_f, mut b_m, mut b_r) = (vec![], vec![], vec![]);
    for (f, rev) in &fam_rev {
        for m in &plan {
            b_f.push(f.clone());
            b_m.push(m.clone());
            b_r.push((rev * 1.05).round());
        }
    }
    tables.insert(Table::Budget, df!("family" => b_f, "month" => b_m, "revenue" => b_r)?);
    Ok((tables, demand))
}

/// What one supply-review benchmark run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SupplyBench {
    pub divisor: usize,
    pub skus: usize,
    pub resources: usize,
    pub bom_rows: usize,
    pub demand_rows: usize,
    pub gaps: usize,
    pub generate_seconds: f64,
    pub analysis_seconds: f64,
}

/// Generates the benchmark company at `1/divisor` scale and times the supply review on it
/// (for `snop bench supply`; the clock is read here, never in analysis).
pub fn supply_bench(divisor: usize) -> anyhow::Result<SupplyBench> {
    use crate::analysis::supply::{SupplyInputs, SupplyParams, supply_review};
    use crate::contract::Table;
    let started = std::time::Instant::now();
    let (tables, demand) = large_supply_tables(divisor)?;
    let generate_seconds = started.elapsed().as_secs_f64();
    let params = SupplyParams::default();
    let started = std::time::Instant::now();
    let cycle = Month::parse("2026-12").expect("month");
    let facts = supply_review(&SupplyInputs { tables: &tables, demand: &demand, cycle, params: &params })?;
    let analysis_seconds = started.elapsed().as_secs_f64();
    Ok(SupplyBench {
        divisor,
        skus: tables[&Table::Items].height(),
        resources: tables[&Table::Resources].height(),
        bom_rows: tables[&Table::Bom].height(),
        demand_rows: demand.height(),
        gaps: facts.gaps.len(),
        generate_seconds,
        analysis_seconds,
    })
}

// ---------------------------------------------------------------------------------------------
// The workspace files

/// `snop.toml` of a new workspace.
pub fn workspace_toml(company: &str) -> String {
    format!(
        r#"# snop workspace: who the company is, when the cycle runs, who signs what.

[company]
name = "{company}"
currency = "EUR"

[calendar]
timezone = "Europe/London"
working_days = ["Mon", "Tue", "Wed", "Thu", "Fri"]
meeting_hours = "09:00-17:00"
# When `snop nightly` runs from the scheduler (local time).
nightly_at = "02:30"
holidays = [
    "2026-12-25 Christmas Day",
    "2026-12-28 Boxing Day (substitute)",
    "2027-01-01 New Year's Day",
    "2027-04-02 Good Friday",
    "2027-04-05 Easter Monday",
    "2027-05-03 Early May bank holiday",
    "2027-05-31 Spring bank holiday",
    "2027-08-30 Summer bank holiday",
    "2027-12-27 Christmas Day (substitute)",
    "2027-12-28 Boxing Day (substitute)",
]

# One rule per meeting, in the words planners use. The executive S&OP is the fixed point: the
# same weekday of the same week every month; the rest of the cycle is laid around it.
[calendar.meetings]
demand-review = "7 working days before the executive S&OP, 3 working days"
supply-review = "next working day, 2 working days"
reconciliation = "next working day, 2 working days"
executive = "third Thursday"
commit-back = "next working day, 2 working days"

[store]
# The embedded store: one SQLite file in the workspace.
url = "sqlite://snop.db"

[llm]
# `mock` is the built-in mock LLM; any OpenAI-compatible base URL ending in /v1 works.
base_url = "mock"
model = "snop-mock"
api_key_env = "SNOP_LLM_API_KEY"

[narrative]
# Customer names are replaced by CUSTOMER_01, ... in prompts, and restored in the drafts.
mask_fields = ["customer"]

# Who holds each role. Artifacts are signed by roles: demand consensus by the demand lead,
# supply plan by the supply lead, reconciliation pack by both, signed plan by the COO or CEO,
# customer commitment log by the sales lead.
[roles]
demand_lead = ["dana.whitfield"]
supply_lead = ["sam.okafor"]
finance_lead = ["fiona.reyes"]
sales_lead = ["leo.grant"]
coo = ["olivia.chen"]

# Gaps whose recommended fixes cost up to this much (EUR) are closed by the demand and supply
# leads in the reconciliation; costlier ones go to the executive meeting as trade-offs.
[reconciliation]
leads_may_approve_up_to = 25000

[people."dana.whitfield"]
name = "Dana Whitfield"
email = "dana.whitfield@example.com"

[people."sam.okafor"]
name = "Sam Okafor"
email = "sam.okafor@example.com"

[people."fiona.reyes"]
name = "Fiona Reyes"
email = "fiona.reyes@example.com"

[people."leo.grant"]
name = "Leo Grant"
email = "leo.grant@example.com"

[people."olivia.chen"]
name = "Olivia Chen"
email = "olivia.chen@example.com"

# The account managers hold no role: each updates its own customers' lines of the commitment log.
"#
    ) + &ACCOUNT_MANAGERS
        .iter()
        .map(|(id, name)| format!("\n[people.\"{id}\"]\nname = \"{name}\"\nemail = \"{id}@example.com\"\n"))
        .collect::<String>()
}

/// The default pipelines, embedded from `pipelines/` at the top of the repository.
pub const PIPELINES: [(&str, &str); 5] = [
    ("demand-review.toml", include_str!("../../pipelines/demand-review.toml")),
    ("supply-review.toml", include_str!("../../pipelines/supply-review.toml")),
    ("reconciliation.toml", include_str!("../../pipelines/reconciliation.toml")),
    ("executive.toml", include_str!("../../pipelines/executive.toml")),
    ("commit-back.toml", include_str!("../../pipelines/commit-back.toml")),
];

/// The default prompts, embedded from `prompts/` at the top of the repository.
pub const PROMPTS: [(&str, &str); 16] = [
    ("README.md", include_str!("../../prompts/README.md")),
    ("demand-review/summary.system.tera", include_str!("../../prompts/demand-review/summary.system.tera")),
    ("demand-review/summary.user.tera", include_str!("../../prompts/demand-review/summary.user.tera")),
    ("demand-review/sample-facts.json", include_str!("../../prompts/demand-review/sample-facts.json")),
    ("supply-review/summary.system.tera", include_str!("../../prompts/supply-review/summary.system.tera")),
    ("supply-review/summary.user.tera", include_str!("../../prompts/supply-review/summary.user.tera")),
    ("supply-review/sample-facts.json", include_str!("../../prompts/supply-review/sample-facts.json")),
    ("reconciliation/summary.system.tera", include_str!("../../prompts/reconciliation/summary.system.tera")),
    ("reconciliation/summary.user.tera", include_str!("../../prompts/reconciliation/summary.user.tera")),
    ("reconciliation/sample-facts.json", include_str!("../../prompts/reconciliation/sample-facts.json")),
    ("executive/summary.system.tera", include_str!("../../prompts/executive/summary.system.tera")),
    ("executive/summary.user.tera", include_str!("../../prompts/executive/summary.user.tera")),
    ("executive/sample-facts.json", include_str!("../../prompts/executive/sample-facts.json")),
    ("commit-back/summary.system.tera", include_str!("../../prompts/commit-back/summary.system.tera")),
    ("commit-back/summary.user.tera", include_str!("../../prompts/commit-back/summary.user.tera")),
    ("commit-back/sample-facts.json", include_str!("../../prompts/commit-back/sample-facts.json")),
];

/// Creates a workspace: `snop.toml`, the agents' pipelines and the prompts. Refuses to overwrite.
pub fn init(dir: &Path, company: &str) -> anyhow::Result<()> {
    if dir.join(crate::config::WORKSPACE_FILE).exists() {
        return Err(
            crate::UserError(format!("`{}` is already a snop workspace: nothing was changed", dir.display())).into()
        );
    }
    fs_err::create_dir_all(dir.join("pipelines"))?;
    fs_err::create_dir_all(dir.join("data"))?;
    fs_err::write(dir.join(crate::config::WORKSPACE_FILE), workspace_toml(company))
        .with_context(|| format!("writing `{}`", dir.display()))?;
    for (name, text) in PIPELINES {
        fs_err::write(dir.join("pipelines").join(name), text)?;
    }
    for (name, text) in PROMPTS {
        let path = dir.join("prompts").join(name);
        fs_err::create_dir_all(path.parent().expect("a folder"))?;
        fs_err::write(path, text)?;
    }
    Ok(())
}

pub const DEMO_COMPANY: &str = "Demo Pumps & Valves Ltd";

/// The demo workspace's password for a person: known to anyone who reads the demo's output or
/// this code, so for the demo only.
pub fn demo_password(person: &str) -> String {
    format!("demo-{person}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_comma_groups_thousands() {
        assert_eq!(decimal_comma(1234567.5), "1.234.567,50");
        assert_eq!(decimal_comma(12.0), "12,00");
        assert_eq!(decimal_comma(999.999), "1.000,00");
    }

    #[test]
    fn the_supply_benchmark_company_is_deterministic_and_has_gaps() {
        let (a, da) = large_supply_tables(1000).unwrap();
        let (b, db) = large_supply_tables(1000).unwrap();
        assert!(da.equals(&db));
        assert!(a.iter().zip(&b).all(|(x, y)| x.0 == y.0 && x.1.equals(y.1)));
        let run = supply_bench(1000).unwrap();
        assert_eq!((run.skus, run.resources), (50, 20));
        assert!(run.gaps > 0, "{run:?}");
    }

    /// A month on, the company is the same: every earlier order line is still there, the open
    /// orders that were booked for the month that passed shipped (at least as much, per series),
    /// the ones for later months are still open, and the plan months moved on by one.
    #[test]
    fn a_month_on_keeps_the_past_and_ships_the_booked_orders() {
        let dir = tempfile::tempdir().unwrap();
        let cycle = Month::parse("2026-12").unwrap();
        let spec = Spec { skus: 24, customers: 8, months: 24, cycle, as_of: cycle, seed: 3 };
        generate(&dir.path().join("m1"), spec).unwrap();
        generate(&dir.path().join("m2"), Spec { as_of: cycle.plus(1), ..spec }).unwrap();
        let read = |m: &str, f: &str| fs_err::read_to_string(dir.path().join(m).join("data").join(f)).unwrap();
        let (s1, s2) = (read("m1", "erp/sales_lines.csv"), read("m2", "erp/sales_lines.csv"));
        // The extract a month on covers as many months, from 2025-01 (month one's from 2024-12).
        let month_of = |l: &str| l.split(';').nth(1).and_then(|d| d.get(..6)).unwrap_or_default().to_string();
        let kept: Vec<&str> = s1.lines().filter(|l| month_of(l).as_str() >= "202501").collect();
        assert!(kept.len() < s1.lines().count() - 1, "December 2024 fell out");
        assert!(s1.lines().skip(1).all(|l| month_of(l).as_str() >= "202412"));
        let s2_lines: std::collections::HashSet<&str> = s2.lines().collect();
        assert!(kept.iter().all(|l| s2_lines.contains(l)), "month one's order lines are unchanged");
        assert!(s2.lines().skip(1).all(|l| month_of(l).as_str() >= "202501"), "{s2}");
        let shipped = |sku: &str, cust: &str| -> f64 {
            s2.lines()
                .skip(1)
                .map(|l| l.split(';').collect::<Vec<_>>())
                .filter(|f| f[1].starts_with("202612") && f[3] == sku && f[4] == cust)
                .map(|f| f[5].parse::<f64>().unwrap())
                .sum()
        };
        let (o1, o2) = (read("m1", "erp/open_orders.csv"), read("m2", "erp/open_orders.csv"));
        let mut booked_december = 0;
        for line in o1.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if f[3] == "2026-12" {
                booked_december += 1;
                assert!(shipped(f[1], f[2]) >= f[4].parse::<f64>().unwrap(), "{line} shipped");
                assert!(!o2.contains(f[0]), "{line} is no longer open");
            } else {
                assert!(o2.lines().any(|l| l == line), "{line} is still open");
            }
        }
        assert!(booked_december > 0);
        assert!(o2.lines().skip(1).all(|l| !l.contains(",2026-12,")));
        let capacity = read("m2", "capacity.csv");
        assert!(!capacity.contains(",2026-12,") && capacity.contains(",2028-06,"), "plan months 2027-01 to 2028-06");
    }

    #[test]
    fn seasonality_averages_to_one() {
        for f in 0..8 {
            let mean: f64 = (1..=12).map(|m| season(f, m)).sum::<f64>() / 12.0;
            assert!((mean - 1.0).abs() < 1e-9, "family {f}: {mean}");
        }
    }
}
