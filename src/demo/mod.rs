//! The demo manufacturer: a deterministic generator (seeded) of a mid-market maker of pumps and
//! valves, its ERP extracts and its people's spreadsheets, and the `snop demo` workspace.
//!
//! Identical specs give byte-identical files, so a small version is committed under
//! `fixtures/demo` and a test regenerates and compares it.
//!
//! One seeded stream is drawn from by [`generate`]'s steps in turn, so their order is part of
//! the output: the masters (`masters`), the order history and book (`orders`), the supply side
//! (`supply`), the commercial inputs (`commercial`). The benchmark company (`large`, its own
//! seed) and the workspace files (`workspace`) are apart from it.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
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

/// Everything generated, as files under `data/`.
pub struct Generated {
    pub files: Vec<PathBuf>,
    pub order_lines: usize,
}

/// Appends one CSV line, quoting the fields that need it.
fn csv(out: &mut String, fields: &[String]) {
    let line: Vec<String> = fields
        .iter()
        .map(|f| if f.contains([',', '"', '\n', ';']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.clone() })
        .collect();
    out.push_str(&line.join(","));
    out.push('\n');
}

/// Appends one CSV line of the given fields (anything `Display`).
macro_rules! row {
    ($out:expr, $($f:expr),+ $(,)?) => { $crate::demo::csv($out, &[$($f.to_string()),+]) };
}

/// An amount with two decimals.
fn money(x: f64) -> String {
    format!("{x:.2}")
}

/// A deterministic seasonal profile per family: 12 multipliers around 1.
fn season(family: usize, month_of_year: u32) -> f64 {
    let phase = family as f64 * 0.8;
    let amp = [0.25, 0.1, 0.3, 0.15, 0.05, 0.2, 0.0, 0.1][family % 8];
    1.0 + amp * ((month_of_year as f64 - 1.0) / 12.0 * std::f64::consts::TAU + phase).sin()
}

mod commercial;
mod large;
mod masters;
mod orders;
pub mod people;
mod supply;
mod workspace;

pub use large::{
    GreedyVsLp, LpBench, SupplyBench, greedy_vs_lp, large_supply_tables, lp_bench, lp_bench_compare, supply_bench,
};
pub use workspace::{
    PACK_SCENARIO, PIPELINES, PROMPTS, enable_pack_scenario, init, scenario_files, workspace_toml, write_scenarios,
};

/// Where the generated files go, and the files written so far, in order.
struct Files {
    data: PathBuf,
    files: Vec<PathBuf>,
}

impl Files {
    /// Writes `text` to `name` under `data/` and lists it.
    fn write(&mut self, name: &str, text: String) -> anyhow::Result<()> {
        let p = self.data.join(name);
        fs_err::write(&p, text)?;
        self.files.push(p);
        Ok(())
    }
}

/// The months the extracts are laid out by.
struct Months {
    /// The first month of history (drawn from, whether or not still in the extract).
    first: Month,
    /// The first month of history in the extract.
    window_start: Month,
    /// The plan months of the cycle.
    plan: Vec<Month>,
    /// The plan months as of the extracts' month (the same as `plan` for the first cycle).
    plan_now: Vec<Month>,
}

impl Months {
    fn of(spec: &Spec) -> Months {
        let first = spec.cycle.plus(-(spec.months as i32));
        let window_start = spec.as_of.plus(-(spec.months as i32));
        let plan: Vec<Month> = (0..PLAN_MONTHS as i32).map(|i| spec.cycle.plus(i)).collect();
        let plan_now: Vec<Month> = (0..PLAN_MONTHS as i32).map(|i| spec.as_of.plus(i)).collect();
        Months { first, window_start, plan, plan_now }
    }
}

/// Writes the demo company's extracts and spreadsheets under `dir/data`.
pub fn generate(dir: &Path, spec: Spec) -> anyhow::Result<Generated> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let data = dir.join("data");
    for sub in ["", "erp", "crm", "spreadsheets"] {
        fs_err::create_dir_all(data.join(sub))?;
    }
    let mut files = Files { data, files: Vec::new() };
    anyhow::ensure!(spec.as_of >= spec.cycle, "the extracts' month {} is before the cycle {}", spec.as_of, spec.cycle);
    let months = Months::of(&spec);
    // The steps draw from `rng` in this order: changing it changes every file.
    let items = masters::items(&mut files, &spec, &mut rng)?;
    let customers = masters::customers(&mut files, &spec, &mut rng)?;
    let resources = masters::resources_and_routings(&mut files, &spec, &items)?;
    let raw = masters::components_and_bom(&mut files, &spec, &items, &mut rng)?;
    let history = orders::orders(&mut files, &spec, &months, &items, &customers, &mut rng)?;
    let per_item = history.per_item(spec.skus);
    supply::inventory(&mut files, &items, &raw, &per_item, &mut rng)?;
    supply::open_purchase_orders(&mut files, &spec, &raw, &mut rng)?;
    supply::capacity(&mut files, &items, &resources, &per_item, &months.plan_now)?;
    supply::supplier_deliveries(&mut files, &spec, months.first, &raw, &mut rng)?;
    commercial::crm_pipeline(&mut files, &spec, &items, &customers, &months.plan_now, &mut rng)?;
    commercial::launches(&mut files, &items)?;
    commercial::budget(&mut files, &items, &per_item, &months.plan_now)?;
    let sheets = commercial::write_spreadsheets(
        &files.data.join("spreadsheets"),
        &items,
        &customers,
        &months.plan_now,
        &mut rng,
    )?;
    files.files.extend(sheets);
    Ok(Generated { files: files.files, order_lines: history.order_lines })
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

    /// Same spec, same seed: the same files, byte for byte (two months on, so the bookings of
    /// the months between are read back too); another seed: other order lines.
    #[test]
    fn the_same_seed_gives_the_same_files() {
        let dir = tempfile::tempdir().unwrap();
        let cycle = Month::parse("2026-12").unwrap();
        let spec = Spec { skus: 30, customers: 25, months: 24, cycle, as_of: cycle.plus(2), seed: 11 };
        let a = generate(&dir.path().join("a"), spec).unwrap();
        let b = generate(&dir.path().join("b"), spec).unwrap();
        let c = generate(&dir.path().join("c"), Spec { seed: 12, ..spec }).unwrap();
        assert_eq!((a.files.len(), a.order_lines), (b.files.len(), b.order_lines));
        for (x, y) in a.files.iter().zip(&b.files) {
            assert_eq!(x.strip_prefix(dir.path().join("a")).unwrap(), y.strip_prefix(dir.path().join("b")).unwrap());
            assert!(fs_err::read(x).unwrap() == fs_err::read(y).unwrap(), "{} differs", x.display());
        }
        let sales = |g: &Generated| fs_err::read(g.files.iter().find(|f| f.ends_with("erp/sales_lines.csv")).unwrap());
        assert!(sales(&a).unwrap() != sales(&c).unwrap());
    }

    #[test]
    fn seasonality_averages_to_one() {
        for f in 0..8 {
            let mean: f64 = (1..=12).map(|m| season(f, m)).sum::<f64>() / 12.0;
            assert!((mean - 1.0).abs() < 1e-9, "family {f}: {mean}");
        }
    }
}
