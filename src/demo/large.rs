//! The supply review at scale (for `snop bench supply`): the benchmark company's tables, drawn
//! straight into DataFrames, and the timed run on them.

use std::collections::BTreeMap;

use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::contract::{Month, PLAN_MONTHS, Table};

/// The benchmark company's tables, by the table they stand for.
type Tables = BTreeMap<Table, DataFrame>;

/// The benchmark company's sizes at one scale, and the names that follow from them.
struct Scale {
    n_sku: usize,
    n_res: usize,
    n_cust: usize,
    n_sites: usize,
    /// Sub-assemblies per BOM level.
    n_sub: usize,
    n_raw: usize,
    cycle: Month,
    plan: Vec<String>,
}

impl Scale {
    fn of(divisor: usize) -> Scale {
        let divisor = divisor.max(1);
        let n_sku = (50_000 / divisor).max(10);
        let n_res = (2_000 / divisor).max(20);
        let n_cust = (1_000 / divisor).max(10);
        let n_sites = 10usize;
        let cycle = Month::parse("2026-12").expect("month");
        let plan: Vec<String> = (0..PLAN_MONTHS as i32).map(|i| cycle.plus(i).to_string()).collect();
        let n_sub = (n_sku / 5).max(2);
        let n_raw = (n_sku / 2).max(4);
        Scale { n_sku, n_res, n_cust, n_sites, n_sub, n_raw, cycle, plan }
    }

    /// The site of the `i`-th item, resource or raw part.
    fn site(&self, i: usize) -> String {
        format!("S{:02}", i % self.n_sites)
    }

    /// Resource `k * n_sites + s` is the k-th at site `s`; every tenth at a site is a labour pool.
    fn is_labour(&self, r: usize) -> bool {
        (r / self.n_sites) % 10 == 9
    }

    /// The `i`-th raw part (wrapping around).
    fn raw(&self, i: usize) -> String {
        format!("RAW-{:06}", i % self.n_raw)
    }
}

/// The benchmark items' columns that later tables are drawn from.
struct Items {
    sku: Vec<String>,
    fam: Vec<String>,
    price: Vec<f64>,
    msite: Vec<String>,
    /// Average monthly demand.
    level: Vec<f64>,
}

/// Tables and a demand consensus for the supply review at benchmark scale: at `divisor` 1,
/// 50,000 SKUs, a 5-level BOM, 2,000 resources at 10 sites, 1,000 customers, 18 months; at 10
/// and 100, a tenth and a hundredth of each. Deterministic (seeded).
pub fn large_supply_tables(divisor: usize) -> anyhow::Result<(BTreeMap<Table, DataFrame>, DataFrame)> {
    large_supply_tables_seeded(divisor, 20_261_201)
}

/// The benchmark company drawn with another seed: the same shape, other numbers (the greedy
/// against the least-cost plan on medium problems).
pub fn large_supply_tables_seeded(
    divisor: usize,
    seed: u64,
) -> anyhow::Result<(BTreeMap<Table, DataFrame>, DataFrame)> {
    let sc = Scale::of(divisor);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut tables = BTreeMap::new();
    // The draws are taken in this order: changing it changes every table.
    let items = items(&sc, &mut tables, &mut rng)?;
    let cust = customers(&sc, &mut tables, &mut rng)?;
    let res = resources(&sc, &mut tables)?;
    let load = routings(&sc, &mut tables, &items, &res, &mut rng)?;
    capacity(&sc, &mut tables, &res, &load, &mut rng)?;
    let suppliers = components(&sc, &mut tables, &mut rng)?;
    bom(&sc, &mut tables, &items.sku, &mut rng)?;
    positions(&sc, &mut tables, &items, &suppliers, &mut rng)?;
    supplier_deliveries(&sc, &mut tables, &suppliers, &mut rng)?;
    let demand = demand_and_budget(&sc, &mut tables, &items, &cust, &mut rng)?;
    Ok((tables, demand))
}

/// Items and their average monthly demand.
fn items(sc: &Scale, tables: &mut Tables, rng: &mut ChaCha8Rng) -> anyhow::Result<Items> {
    let n_sku = sc.n_sku;
    let (mut sku, mut fam, mut price, mut cost, mut msite, mut life) = (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut level = Vec::with_capacity(n_sku);
    for i in 0..n_sku {
        let p: f64 = (rng.random_range(20.0..2000.0f64) * 100.0).round() / 100.0;
        sku.push(format!("P{i:06}"));
        fam.push(format!("F{:02}", i % 20));
        price.push(p);
        cost.push((p * rng.random_range(0.5..0.75) * 100.0).round() / 100.0);
        msite.push(sc.site(i));
        life.push("active");
        level.push(rng.random_range(5.0..200.0f64) / (p / 200.0).max(1.0));
    }
    tables.insert(
        Table::Items,
        df!("sku" => &sku, "family" => &fam, "uom" => vec!["ea"; n_sku], "unit_price" => &price,
            "unit_cost" => &cost, "make_site" => &msite, "lifecycle" => life)?,
    );
    Ok(Items { sku, fam, price, msite, level })
}

/// Customers with a priority each; returns their ids.
fn customers(sc: &Scale, tables: &mut Tables, rng: &mut ChaCha8Rng) -> anyhow::Result<Vec<String>> {
    let cust: Vec<String> = (0..sc.n_cust).map(|i| format!("K{i:05}")).collect();
    let prio: Vec<i64> = (0..sc.n_cust).map(|_| rng.random_range(1..4)).collect();
    tables.insert(Table::Customers, df!("customer" => &cust, "priority" => prio)?);
    Ok(cust)
}

/// Resources: machines, lines and labour pools over the sites; returns their ids. Draws nothing.
fn resources(sc: &Scale, tables: &mut Tables) -> anyhow::Result<Vec<String>> {
    let n_res = sc.n_res;
    let res: Vec<String> = (0..n_res).map(|i| format!("R{i:05}")).collect();
    let kinds: Vec<&str> = (0..n_res)
        .map(|r| {
            if sc.is_labour(r) {
                "labour"
            } else if (r / sc.n_sites) % 10 < 5 {
                "machine"
            } else {
                "line"
            }
        })
        .collect();
    tables.insert(
        Table::Resources,
        df!("resource" => &res, "site" => (0..n_res).map(|i| sc.site(i)).collect::<Vec<_>>(), "kind" => kinds)?,
    );
    Ok(res)
}

/// Routings: three operations at the make site (one on its labour pool); 5 % of SKUs also have a
/// routing at the next site. Returns each resource's load (hours a month) at the make sites.
fn routings(
    sc: &Scale,
    tables: &mut Tables,
    items: &Items,
    res: &[String],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Vec<f64>> {
    let (n_sku, n_sites) = (sc.n_sku, sc.n_sites);
    let (sku, level) = (&items.sku, &items.level);
    let per_site = sc.n_res / n_sites;
    let at_site = |s: usize, k: usize| (k % per_site) * n_sites + s;
    let (mut r_sku, mut r_res, mut r_h) = (vec![], vec![], vec![]);
    let mut load = vec![0.0f64; sc.n_res];
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
    Ok(load)
}

/// Capacity per resource and plan month: regular hours the load times a headroom drawn per
/// resource.
fn capacity(sc: &Scale, tables: &mut Tables, res: &[String], load: &[f64], rng: &mut ChaCha8Rng) -> anyhow::Result<()> {
    let (mut c_res, mut c_m, mut c_av, mut c_ot, mut c_rate) = (vec![], vec![], vec![], vec![], vec![]);
    for r in 0..sc.n_res {
        let headroom = rng.random_range(0.8..1.4f64);
        for m in &sc.plan {
            c_res.push(res[r].clone());
            c_m.push(m.clone());
            c_av.push((load[r] * headroom).round().max(8.0));
            c_ot.push((load[r] * 0.15).round().max(4.0));
            c_rate.push(if sc.is_labour(r) { 38.0 } else { 55.0 });
        }
    }
    tables.insert(
        Table::Capacity,
        df!("resource" => c_res, "month" => c_m, "available_hours" => c_av, "max_overtime_hours" => c_ot,
            "overtime_cost_per_hour" => c_rate)?,
    );
    Ok(())
}

/// Components for a 5-level BOM: four levels of sub-assemblies (internal) and the raw parts from
/// suppliers, with a second source for some (`component_suppliers`); returns the suppliers' ids.
fn components(sc: &Scale, tables: &mut Tables, rng: &mut ChaCha8Rng) -> anyhow::Result<Vec<String>> {
    let (n_sub, n_raw) = (sc.n_sub, sc.n_raw);
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
    // A second source for every fifth raw part: the next supplier, 40 % of the lead time (at
    // least a week) for 20 % more. Draws nothing.
    let (mut s_comp, mut s_sup, mut s_lt, mut s_cost) = (vec![], vec![], vec![], vec![]);
    for k in (4 * n_sub..comp.len()).step_by(5) {
        let i = k - 4 * n_sub;
        s_comp.push(comp[k].clone());
        s_sup.push(suppliers[(i + 1) % suppliers.len()].clone());
        s_lt.push((lt[k] * 2 / 5).max(7));
        s_cost.push((ucost[k] * 1.2 * 100.0f64).round() / 100.0);
    }
    tables.insert(
        Table::ComponentSuppliers,
        df!("component" => s_comp, "supplier" => s_sup, "unit_cost" => s_cost, "lead_time_days" => s_lt)?,
    );
    tables.insert(
        Table::Components,
        df!("component" => &comp, "supplier" => &sup, "lead_time_days" => lt, "unit_cost" => ucost)?,
    );
    Ok(suppliers)
}

/// The 5-level BOM: SKU -> L1 -> L2 -> L3 -> L4 sub-assemblies, each with a raw part, and raw
/// parts under L4.
fn bom(sc: &Scale, tables: &mut Tables, sku: &[String], rng: &mut ChaCha8Rng) -> anyhow::Result<()> {
    let n_sub = sc.n_sub;
    let raw = |i: usize| sc.raw(i);
    let (mut b_par, mut b_comp, mut b_q) = (vec![], vec![], vec![]);
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
    Ok(())
}

/// Positions: finished goods for about half a month, raw parts with stock and open orders.
fn positions(
    sc: &Scale,
    tables: &mut Tables,
    items: &Items,
    suppliers: &[String],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<()> {
    let (sku, msite, level) = (&items.sku, &items.msite, &items.level);
    let (mut inv_item, mut inv_site, mut inv_on, mut inv_ss) = (vec![], vec![], vec![], vec![]);
    for i in 0..sc.n_sku {
        inv_item.push(sku[i].clone());
        inv_site.push(msite[i].clone());
        inv_on.push((level[i] * rng.random_range(0.0..1.2)).round());
        inv_ss.push((level[i] * 0.3).round());
    }
    let (mut po_c, mut po_s, mut po_d, mut po_q) = (vec![], vec![], vec![], vec![]);
    for i in 0..sc.n_raw {
        inv_item.push(sc.raw(i));
        inv_site.push(sc.site(i));
        inv_on.push(rng.random_range(0..3000) as f64);
        inv_ss.push(rng.random_range(0..200) as f64);
        if i % 2 == 0 {
            po_c.push(sc.raw(i));
            po_s.push(suppliers[i % suppliers.len()].clone());
            po_d.push(sc.cycle.plus(rng.random_range(0..3)).first_day() + chrono::Days::new(rng.random_range(0..27)));
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
    Ok(())
}

/// The suppliers' delivery history: six deliveries per raw part, some late, some short.
fn supplier_deliveries(
    sc: &Scale,
    tables: &mut Tables,
    suppliers: &[String],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<()> {
    let (mut d_sup, mut d_comp, mut d_prom, mut d_del, mut d_qp, mut d_qd) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for i in 0..sc.n_raw {
        let reliability = 0.6 + 0.4 * ((i % suppliers.len()) as f64 / suppliers.len() as f64);
        for m in 1..=6 {
            let promised = sc.cycle.plus(-2 * m).first_day() + chrono::Days::new(rng.random_range(0..27));
            let late = if rng.random::<f64>() > reliability { rng.random_range(1..15) } else { 0 };
            let qp = rng.random_range(100..2000) as f64;
            d_sup.push(suppliers[i % suppliers.len()].clone());
            d_comp.push(sc.raw(i));
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
    Ok(())
}

/// Demand: each SKU to one to three customers, the monthly level with noise; and the budget per
/// family, a little above the demand's revenue. Returns the demand.
fn demand_and_budget(
    sc: &Scale,
    tables: &mut Tables,
    items: &Items,
    cust: &[String],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<DataFrame> {
    let (sku, fam, price, level) = (&items.sku, &items.fam, &items.price, &items.level);
    let plan = &sc.plan;
    let (mut q_sku, mut q_cust, mut q_m, mut q_q) = (vec![], vec![], vec![], vec![]);
    let mut fam_rev = BTreeMap::<String, f64>::new();
    for i in 0..sc.n_sku {
        let n = rng.random_range(1..4usize);
        for k in 0..n {
            let c = (i * 13 + k * 7) % sc.n_cust;
            for m in plan {
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
        for m in plan {
            b_f.push(f.clone());
            b_m.push(m.clone());
            b_r.push((rev * 1.05).round());
        }
    }
    tables.insert(Table::Budget, df!("family" => b_f, "month" => b_m, "revenue" => b_r)?);
    Ok(demand)
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
    /// The plan's cost (spend plus lost margin).
    pub plan_cost_money: f64,
    pub re_solves: usize,
    /// Gaps priced by the least-cost plan alone, beyond the pricing budget.
    pub gaps_priced_by_plan: usize,
    /// Linear programs the optimiser solved, and whether any was cut approximately.
    pub optimiser_pieces: usize,
    pub optimiser_approximate: bool,
}

/// Generates the benchmark company at `1/divisor` scale and times the supply review on it
/// (for `snop bench supply`; the clock is read here, never in analysis).
pub fn supply_bench(divisor: usize) -> anyhow::Result<SupplyBench> {
    use crate::analysis::supply::{SupplyInputs, SupplyParams, supply_review};
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
        plan_cost_money: facts.totals.recommended_cost_money,
        re_solves: facts.totals.re_solves,
        gaps_priced_by_plan: facts.totals.gaps_priced_by_plan,
        optimiser_pieces: facts.totals.optimiser_pieces,
        optimiser_approximate: facts.totals.optimiser_approximate,
    })
}

/// What one run of the supply optimiser at scale measured: the problem's size, the time to
/// build it from the tables and to solve it (every lexicographic stage), and the plan.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LpBench {
    pub divisor: usize,
    pub items: usize,
    pub components: usize,
    pub resources: usize,
    pub demand_lines: usize,
    pub generate_seconds: f64,
    pub build_seconds: f64,
    pub solve_seconds: f64,
    pub cost_money: f64,
    pub unmet_units: f64,
    /// The least-cost stage alone (`lp::solve_least_cost`).
    pub least_cost_seconds: f64,
    pub least_cost_money: f64,
    /// Linear programs the default cut solves, whether any is approximate, and the most items
    /// in one.
    pub pieces: usize,
    pub approximate: bool,
    pub largest_piece_items: usize,
    /// The least-cost stage of the whole problem as one linear program (not cut), when asked
    /// for (`None` otherwise).
    pub whole_least_cost_seconds: Option<f64>,
    pub whole_least_cost_money: Option<f64>,
    /// The least-cost stage cut approximately into pieces of at most this many finished goods
    /// (when asked for): time and cost.
    pub approximate_piece_items: Option<usize>,
    pub approximate_least_cost_seconds: Option<f64>,
    pub approximate_least_cost_money: Option<f64>,
}

/// Generates the benchmark company at `1/divisor` scale and times the supply optimiser on it:
/// the whole lexicographic solve (when `full`) and the least-cost stage alone, as the default
/// cut solves them; with `compare`, the least-cost stage also uncut and cut approximately into
/// pieces of `compare` finished goods (the approximation's cost against the optimum).
pub fn lp_bench(divisor: usize, full: bool) -> anyhow::Result<LpBench> {
    lp_bench_compare(divisor, full, None)
}

/// As [`lp_bench`], comparing the cuts (see there).
pub fn lp_bench_compare(divisor: usize, full: bool, compare: Option<usize>) -> anyhow::Result<LpBench> {
    use crate::analysis::supply::{SupplyInputs, SupplyParams, lp};
    use std::collections::BTreeSet;
    let started = std::time::Instant::now();
    let (tables, demand) = large_supply_tables(divisor)?;
    let generate_seconds = started.elapsed().as_secs_f64();
    let params = SupplyParams::default();
    let cycle = Month::parse("2026-12").expect("month");
    let started = std::time::Instant::now();
    let problem = lp::Problem::from_inputs(&SupplyInputs { tables: &tables, demand: &demand, cycle, params: &params })?;
    let build_seconds = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let least = lp::solve_least_cost(&problem)?;
    let least_cost_seconds = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let plan = if full { lp::solve(&problem)? } else { least.clone() };
    let solve_seconds = if full { started.elapsed().as_secs_f64() } else { 0.0 };
    let cut = lp::split::split(&problem, lp::SplitOptions::default());
    let timed = |opts: lp::SplitOptions| -> anyhow::Result<(f64, f64)> {
        let started = std::time::Instant::now();
        let s = lp::solve_with(&problem, &BTreeSet::new(), 1, opts)?;
        Ok((started.elapsed().as_secs_f64(), s.cost.total()))
    };
    let whole = compare.map(|_| timed(lp::SplitOptions::whole())).transpose()?;
    let approx = compare
        .map(|n| timed(lp::SplitOptions { connected: true, approximate_above_items: Some(0), piece_items: n }))
        .transpose()?;
    Ok(LpBench {
        pieces: cut.pieces.len(),
        approximate: cut.approximate(),
        largest_piece_items: cut.largest_items(),
        whole_least_cost_seconds: whole.map(|x| x.0),
        whole_least_cost_money: whole.map(|x| x.1),
        approximate_piece_items: compare,
        approximate_least_cost_seconds: approx.map(|x| x.0),
        approximate_least_cost_money: approx.map(|x| x.1),
        divisor,
        items: problem.items.len(),
        components: problem.components.len(),
        resources: problem.resources.len(),
        demand_lines: problem.demand.len(),
        generate_seconds,
        build_seconds,
        solve_seconds,
        cost_money: plan.cost.total(),
        unmet_units: unmet_units(&problem, &plan),
        least_cost_seconds,
        least_cost_money: least.cost.total(),
    })
}

fn unmet_units(problem: &crate::analysis::supply::lp::Problem, plan: &crate::analysis::supply::lp::Solution) -> f64 {
    problem.demand.iter().zip(&plan.served).map(|(d, s)| d.qty - s).sum()
}

/// The greedy supply review against the least-cost plan on one seeded company, both under
/// `cost_first` and the same prices.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GreedyVsLp {
    pub seed: u64,
    /// The greedy constrained plan (`supply::greedy_baseline`) re-costed by the optimiser's
    /// cost function: it buys no fix, so its cost is the margin it loses.
    pub greedy_cost_money: f64,
    pub greedy_unmet_units: f64,
    pub lp_cost_money: f64,
    pub lp_spend_money: f64,
    pub lp_unmet_units: f64,
}

/// Runs the greedy review and the optimiser on the company drawn with `seed` at `1/divisor`.
pub fn greedy_vs_lp(divisor: usize, seed: u64) -> anyhow::Result<GreedyVsLp> {
    use crate::analysis::supply::{AllocationRule, SupplyInputs, SupplyParams, greedy_baseline, lp};
    let (tables, demand) = large_supply_tables_seeded(divisor, seed)?;
    let params = SupplyParams { allocation: AllocationRule::CostFirst, ..SupplyParams::default() };
    let cycle = Month::parse("2026-12").expect("month");
    let inputs = SupplyInputs { tables: &tables, demand: &demand, cycle, params: &params };
    let greedy = greedy_baseline(&inputs)?;
    let problem = lp::Problem::from_inputs(&inputs)?;
    let plan = lp::solve(&problem)?;
    Ok(GreedyVsLp {
        seed,
        greedy_cost_money: greedy.lost_margin_money,
        greedy_unmet_units: greedy.unmet_units,
        lp_cost_money: plan.cost.total(),
        lp_spend_money: plan.cost.spend(),
        lp_unmet_units: unmet_units(&problem, &plan),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// On the smallest benchmark company the least-cost plan is never dearer than the greedy
    /// plan re-costed, and every unit it leaves unmet is a unit of demand.
    #[test]
    fn the_least_cost_plan_beats_the_greedy_one_on_the_benchmark_company() {
        let r = greedy_vs_lp(1000, 7).unwrap();
        assert!(r.lp_cost_money <= r.greedy_cost_money + 0.05, "{r:?}");
        assert!(r.lp_unmet_units >= -1e-6, "{r:?}");
        let lp = lp_bench(1000, true).unwrap();
        assert_eq!((lp.resources, lp.demand_lines > 0), (20, true), "{lp:?}");
    }
}
