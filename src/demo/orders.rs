//! The order history and the order book: which customer buys which SKUs, the ERP's sales lines
//! (as the ERP exports them: semicolons, decimal commas and a couple of bad lines), the open
//! orders, and the months that passed when the extracts are taken after the cycle.

use std::fmt::Write as _;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::masters::{Customer, Item};
use super::{Files, Months, Spec, decimal_comma, season};
use crate::contract::Month;

/// A series' demand shape: what its history is drawn from.
struct Shape {
    level: f64,
    trend: f64,
    intermittent: bool,
    discount: f64,
}

/// What the order history drew, for the steps after it.
pub(super) struct History {
    /// The series: (customer, item) indices, sorted.
    series: Vec<(usize, usize)>,
    /// Per series, per month of history: the quantity ordered.
    monthly: Vec<Vec<f64>>,
    /// The lines in `erp/sales_lines.csv`.
    pub(super) order_lines: usize,
}

impl History {
    /// Each item's average monthly demand over the last six months of history.
    pub(super) fn per_item(&self, skus: usize) -> Vec<f64> {
        let mut per_item = vec![0.0f64; skus];
        for (k, &(_, s)) in self.series.iter().enumerate() {
            per_item[s] += self.monthly[k].iter().rev().take(6).sum::<f64>() / 6.0;
        }
        per_item
    }
}

/// An open order: its id, series, requested month and quantity.
type Booking = (String, usize, Month, f64);

/// The sales lines of the history as drawn, before the bad lines and the months on.
struct Drawn {
    monthly: Vec<Vec<f64>>,
    shapes: Vec<Shape>,
    /// The last order number used.
    order_no: u64,
    lines: usize,
}

/// Writes `erp/sales_lines.csv` and `erp/open_orders.csv`.
pub(super) fn orders(
    files: &mut Files,
    spec: &Spec,
    months: &Months,
    items: &[Item],
    customers: &[Customer],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<History> {
    let series = choose_series(spec, customers, rng);
    let mut sales = String::new();
    sales.push_str("VBELN;AUDAT;LFDAT;MATNR;KUNNR;MENGE;NETWR\n");
    let drawn = history(&mut sales, spec, months, items, customers, &series, rng);
    let mut lines = drawn.lines;
    lines += bad_lines(&mut sales, spec, months.first, items, customers, drawn.order_no);
    let mut book = open_orders(&series, &drawn.monthly, &months.plan, rng);
    lines += months_on(&mut sales, &mut book, spec, items, customers, &series, &drawn);
    book.retain(|b| b.2 >= spec.as_of);
    files.write("erp/sales_lines.csv", sales)?;
    let mut out = String::new();
    row!(&mut out, "order_id", "sku", "customer", "requested_month", "qty");
    for (id, k, month, qty) in &book {
        let (c, s) = series[*k];
        row!(&mut out, id, items[s].sku, customers[c].id, month, qty);
    }
    files.write("erp/open_orders.csv", out)?;
    Ok(History { series, monthly: drawn.monthly, order_lines: lines })
}

/// Each customer buys a subset of SKUs, more for a distributor, fewer for an OEM. The series
/// come out sorted and each once (a customer's picks can wrap around onto one it has): sorted,
/// then deduplicated, not checked against all earlier ones (484,000 series at $5B).
fn choose_series(spec: &Spec, customers: &[Customer], rng: &mut ChaCha8Rng) -> Vec<(usize, usize)> {
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
            series.push((c, (start + k * 7 + c) % spec.skus));
        }
    }
    series.sort_unstable();
    series.dedup();
    series
}

/// The history's sales lines: each series has a level, a trend, its family's seasonality and,
/// for the tail, intermittency; one to three order lines a month.
fn history(
    sales: &mut String,
    spec: &Spec,
    months: &Months,
    items: &[Item],
    customers: &[Customer],
    series: &[(usize, usize)],
    rng: &mut ChaCha8Rng,
) -> Drawn {
    let (first_month, window_start) = (months.first, months.window_start);
    let mut monthly: Vec<Vec<f64>> = Vec::new(); // per series, per month: used for positions
    let mut order_no = 4_500_000u64;
    let mut lines = 0usize;
    let mut shapes = Vec::with_capacity(series.len());
    for &(c, s) in series {
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
    Drawn { monthly, shapes, order_no, lines }
}

/// Real extracts are never clean: an order for a SKU that was deleted from the master, and a
/// cancelled line booked with a negative quantity. snop quarantines both. Returns the lines
/// written (two). Draws nothing.
fn bad_lines(
    sales: &mut String,
    spec: &Spec,
    first_month: Month,
    items: &[Item],
    customers: &[Customer],
    order_no: u64,
) -> usize {
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
    2
}

/// Open orders for the next three months, roughly a third of recent demand.
fn open_orders(series: &[(usize, usize)], monthly: &[Vec<f64>], plan: &[Month], rng: &mut ChaCha8Rng) -> Vec<Booking> {
    let mut book: Vec<Booking> = Vec::new();
    for (k, _) in series.iter().enumerate() {
        let recent: f64 = monthly[k].iter().rev().take(3).sum::<f64>() / 3.0;
        for (ahead, month) in plan.iter().take(3).enumerate() {
            if recent >= 1.0 && rng.random::<f64>() < 0.5 {
                let qty = (recent * rng.random_range(0.2..0.6)).round().max(1.0);
                book.push((format!("SO-{}-{}", 9_000_000 + k * 3, ahead), k, *month, qty));
            }
        }
    }
    book
}

/// Months on (`as_of` after `cycle`): each month between became history, drawn per series from
/// its own seeded stream so what came before is unchanged; orders booked for it shipped and
/// customers ordered more on top (or not), and new orders were booked for the new months.
/// Returns the sales lines written. Takes nothing from the main stream.
fn months_on(
    sales: &mut String,
    book: &mut Vec<Booking>,
    spec: &Spec,
    items: &[Item],
    customers: &[Customer],
    series: &[(usize, usize)],
    past: &Drawn,
) -> usize {
    let (monthly, shapes) = (&past.monthly, &past.shapes);
    let mut lines = 0usize;
    let mut later_order_no = 5_500_000u64;
    // What is booked per series and month, kept up to date as months on book more.
    let mut booked_for: std::collections::HashMap<(usize, Month), f64> = std::collections::HashMap::new();
    for b in book.iter() {
        *booked_for.entry((b.1, b.2)).or_default() += b.3;
    }
    for (k, &(c, s)) in series.iter().enumerate() {
        let recent: f64 = monthly[k].iter().rev().take(3).sum::<f64>() / 3.0;
        for e in 0..(spec.as_of.0 - spec.cycle.0) {
            let month = spec.cycle.plus(e);
            let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ (0x5eed_0000_0000 + (k as u64) * 4096 + e as u64));
            let (it, cust, shape) = (&items[s], &customers[c], &shapes[k]);
            let booked: f64 = booked_for.get(&(k, month)).copied().unwrap_or(0.0);
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
                *booked_for.entry((k, new_month)).or_default() += qty;
                book.push((format!("SO-{}-{}", 9_500_000 + k * 3, e), k, new_month, qty));
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The series as they were chosen before: each new one checked against a list of all
    /// earlier ones, in the order drawn, then sorted.
    fn by_list_scan(spec: &Spec, customers: &[Customer], rng: &mut ChaCha8Rng) -> Vec<(usize, usize)> {
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
        series
    }

    #[test]
    fn series_are_the_list_scans_and_each_once_where_picks_wrap_around() {
        // 14 SKUs: a distributor's 24 picks (every 7th SKU) wrap onto two SKUs only.
        for skus in [14, 30, 300] {
            let spec = Spec { skus, customers: 40, ..Spec::default() };
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let dir = tempfile::tempdir().unwrap();
            let mut files = Files { data: dir.path().to_path_buf(), files: Vec::new() };
            let customers = super::super::masters::customers(&mut files, &spec, &mut rng).unwrap();
            let mut a = ChaCha8Rng::seed_from_u64(9);
            let mut b = ChaCha8Rng::seed_from_u64(9);
            let fast = choose_series(&spec, &customers, &mut a);
            assert_eq!(fast, by_list_scan(&spec, &customers, &mut b), "{skus} SKUs");
            assert!(fast.windows(2).all(|w| w[0] < w[1]), "sorted, each once");
            // Both took the same draws: what follows in the stream is unchanged.
            assert_eq!(a.random::<u64>(), b.random::<u64>());
            if skus == 14 {
                let distributor = customers.iter().position(|c| c.channel == "distributor").unwrap();
                assert_eq!(fast.iter().filter(|s| s.0 == distributor).count(), 2, "24 picks, every 7th of 14");
            }
        }
    }
}
