//! The commercial inputs: the CRM's pipeline, the launch plans, the budget, and the account
//! managers' and marketing's spreadsheets.

use std::path::{Path, PathBuf};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::masters::{Customer, FAMILIES, Item};
use super::{Files, Spec, season};
use crate::contract::Month;

/// Writes `crm/pipeline.csv`: opportunities with probabilities.
pub(super) fn crm_pipeline(
    files: &mut Files,
    spec: &Spec,
    items: &[Item],
    customers: &[Customer],
    plan_now: &[Month],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<()> {
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
    files.write("crm/pipeline.csv", out)
}

/// Writes `launches.csv`: six months of a ramp from each new item's launch month. Draws nothing.
pub(super) fn launches(files: &mut Files, items: &[Item]) -> anyhow::Result<()> {
    let mut out = String::new();
    row!(&mut out, "sku", "month", "qty");
    for it in items {
        if let Some(m) = it.launch {
            for k in 0..6 {
                row!(&mut out, it.sku, m.plus(k), (20.0 * (1.0 + k as f64 * 0.3)).round());
            }
        }
    }
    files.write("launches.csv", out)
}

/// Writes `budget.csv`: revenue per family and plan month, a little above the run rate. Draws
/// nothing.
pub(super) fn budget(files: &mut Files, items: &[Item], per_item: &[f64], plan_now: &[Month]) -> anyhow::Result<()> {
    let mut fam_rev = vec![0.0f64; FAMILIES.len()];
    for (i, it) in items.iter().enumerate() {
        fam_rev[it.family] += per_item[i] * it.price * 0.85;
    }
    let mut out = String::new();
    row!(&mut out, "family", "month", "revenue");
    for (f, (fname, _, _)) in FAMILIES.iter().enumerate() {
        for m in plan_now {
            row!(&mut out, fname, m, format!("{:.0}", fam_rev[f] * 1.06 * season(f, m.month())));
        }
    }
    files.write("budget.csv", out)
}

/// The account managers' and marketing's spreadsheets, as people make them: a title above the
/// header, months as date cells, an owner and a reason per line.
pub(super) fn write_spreadsheets(
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
