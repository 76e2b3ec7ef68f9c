//! The materials phase: the BOM with component stock and open purchase orders, its explosion
//! level by level from the production requirement (netting each level against stock above
//! safety stock, then open orders by due date), the production that materials allow, and the
//! shortage table.
//!
//! Lead times: production in month M needs its components by the 15th of M
//! ([`NEED_DAY_OF_MONTH`]); a component's order must be placed `lead_time_days` before its need
//! date, and a sub-assembly's own components are needed when its order is released. A net
//! requirement whose order date falls before the cycle start is inside the lead time (a
//! material gap); one that can still be ordered is a shortage to order now.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::DataFrame;

use super::super::AnalysisError;
use super::columns::{dates, numbers0, texts};
use super::masters::Masters;
use super::{EPS, NEED_DAY_OF_MONTH, Shortage, date_of, day_of, month_of_day, r3};
use crate::contract::{Month, Table};

/// A component (or an item used as a sub-assembly) in the BOM.
pub(super) struct Node {
    pub(super) name: String,
    pub(super) supplier: String,
    pub(super) lead_time_days: i64,
    pub(super) unit_cost: f64,
    pub(super) children: Vec<(usize, f64)>,
    /// Stock above safety stock.
    pub(super) on_hand: f64,
    /// Open purchase orders: (due day, qty, supplier).
    pub(super) receipts: Vec<(i32, f64, String)>,
    /// The current supplier's expedite: (lead time in days, premium percent), if it expedites.
    pub(super) expedite: Option<(f64, f64)>,
    /// The other supplier that delivers soonest (then the cheapest, then by name), if the data
    /// lists one (`component_suppliers`).
    pub(super) alternate: Option<super::SupplierOption>,
}

/// A gross requirement on a BOM node, pegged to the finished SKU and month it serves.
#[derive(Clone, Copy)]
pub(super) struct Need {
    pub(super) day: i32,
    pub(super) qty: f64,
    pub(super) root: usize,
    pub(super) root_month: usize,
    /// Node units per finished unit along the path.
    pub(super) factor: f64,
}

/// A net requirement (not covered by stock or open orders).
#[derive(Clone, Copy)]
pub(super) struct Short {
    pub(super) node: usize,
    pub(super) need: Need,
    pub(super) within_lead_time: bool,
}

/// The BOM read and ordered, and the node of each finished SKU that appears in it.
pub(super) struct Bom {
    pub(super) nodes: Vec<Node>,
    /// A topological order of `nodes`: parents before children.
    pub(super) order: Vec<usize>,
    /// Per item: its node, if the item has a BOM (or is a component of another item).
    pub(super) item_node: Vec<Option<usize>>,
}

/// Reads the BOM (see [`build_bom`]) and finds each item's node.
pub(super) fn read_bom(masters: &Masters<'_>, tables: &BTreeMap<Table, DataFrame>) -> Result<Bom, AnalysisError> {
    let Masters { params, cycle_start, ref items, ref sku_ix, .. } = *masters;
    let (mut nodes, order) = build_bom(tables, sku_ix, cycle_start)?;
    let options = super::supplier_options(tables, params)?;
    for nd in &mut nodes {
        let Some(list) = options.get(&nd.name) else { continue };
        // The current supplier expedites on its terms (by default the `[supply]` ones).
        nd.expedite = list
            .iter()
            .find(|o| o.current)
            .filter(|o| o.can_expedite)
            .map(|o| (o.expedited_lead_time_days, o.expedite_premium_percent));
        nd.alternate = list
            .iter()
            .filter(|o| !o.current)
            .min_by(|a, b| {
                a.lead_time_days
                    .cmp(&b.lead_time_days)
                    .then(a.unit_cost.total_cmp(&b.unit_cost))
                    .then_with(|| a.supplier.cmp(&b.supplier))
            })
            .cloned();
    }
    let item_node: Vec<Option<usize>> = {
        let by_name: BTreeMap<&str, usize> = nodes.iter().enumerate().map(|(i, nd)| (nd.name.as_str(), i)).collect();
        items.iter().map(|it| by_name.get(it.sku.as_str()).copied()).collect()
    };
    Ok(Bom { nodes, order, item_node })
}

/// The net requirements of the production requirement, pegged to the finished SKU and month.
pub(super) struct Shorts {
    /// With open receipts as promised.
    pub(super) base: Vec<Short>,
    /// With receipts from suppliers below the OTIF threshold at their OTIF share.
    pub(super) risk: Vec<Short>,
}

/// Explodes the production requirement through the BOM twice: with receipts as promised, and
/// with at-risk suppliers' receipts at their OTIF share (`at_risk` gives that share).
pub(super) fn explode_requirements(
    masters: &Masters<'_>,
    bom: &Bom,
    prod: &[Vec<f64>],
    at_risk: RiskShare<'_>,
) -> Shorts {
    let Masters { cycle_start, ref months, .. } = *masters;
    let Bom { ref nodes, ref order, ref item_node } = *bom;
    let base_shorts = explode(nodes, order, item_node, prod, months, cycle_start, None);
    let risk_shorts = explode(nodes, order, item_node, prod, months, cycle_start, Some(at_risk));
    Shorts { base: base_shorts, risk: risk_shorts }
}

/// Material-limited production per SKU and month (baseline: receipts as promised): the
/// production requirement less, per component short inside its lead time, the finished units
/// it cannot supply (the smallest limit over the components wins). Only the greedy baseline
/// reads it.
pub(super) fn material_limits(base_shorts: &[Short], prod: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut mat_short_by_node: BTreeMap<(usize, usize, usize), f64> = BTreeMap::new(); // (root, month, node) -> fg units
    for sh in base_shorts.iter().filter(|s| s.within_lead_time) {
        *mat_short_by_node.entry((sh.need.root, sh.need.root_month, sh.node)).or_default() +=
            sh.need.qty / sh.need.factor.max(EPS);
    }
    let mut mat_cap: Vec<Vec<f64>> = prod.to_vec();
    for (&(s, mi, _), &fg) in &mat_short_by_node {
        let limit = (prod[s][mi] - fg).max(0.0);
        if limit < mat_cap[s][mi] {
            mat_cap[s][mi] = limit;
        }
    }
    mat_cap
}

/// A component's baseline shortage in a need month, while it is summed.
#[derive(Default)]
struct ShortAgg {
    short: f64,
    within: f64,
    order_by: Option<i32>,
    skus: BTreeSet<usize>,
}

/// The shortage table: per component and need month (baseline), the gross requirement, the
/// net shortage, the part inside the lead time (a gap) and the part to order now, with the
/// latest order date.
pub(super) fn shortages(masters: &Masters<'_>, bom: &Bom, base_shorts: &[Short], prod: &[Vec<f64>]) -> Vec<Shortage> {
    let Masters { cycle_start, ref months, ref items, .. } = *masters;
    let Bom { ref nodes, ref order, ref item_node } = *bom;
    let mut by_comp_month: BTreeMap<(usize, Month), ShortAgg> = BTreeMap::new();
    for sh in base_shorts {
        let a = by_comp_month.entry((sh.node, month_of_day(sh.need.day))).or_default();
        a.short += sh.need.qty;
        if sh.within_lead_time {
            a.within += sh.need.qty;
        } else {
            let order_day = sh.need.day - nodes[sh.node].lead_time_days as i32;
            a.order_by = Some(a.order_by.map_or(order_day, |d: i32| d.min(order_day)));
        }
        a.skus.insert(sh.need.root);
    }
    let gross = gross_by_month(nodes, order, item_node, prod, months, cycle_start);
    by_comp_month
        .into_iter()
        .filter(|(_, a)| a.short > 1e-6)
        .map(|((node, m), a)| Shortage {
            component: nodes[node].name.clone(),
            supplier: nodes[node].supplier.clone(),
            month: m.to_string(),
            lead_time_days: nodes[node].lead_time_days,
            gross_requirement_units: r3(gross.get(&(node, m)).copied().unwrap_or(0.0)),
            short_units: r3(a.short),
            within_lead_time_units: r3(a.within),
            new_order_units: r3(a.short - a.within),
            order_by: a.order_by.map(|d| date_of(d).to_string()),
            skus_hit: a.skus.iter().map(|&s| items[s].sku.clone()).collect(),
        })
        .collect()
}

/// Reads components, the BOM, component stock and open purchase orders into nodes, and
/// returns them with a topological order (parents before children). A loop is an error that
/// names it.
fn build_bom(
    tables: &BTreeMap<Table, DataFrame>,
    sku_ix: &BTreeMap<String, usize>,
    cycle_start: i32,
) -> Result<(Vec<Node>, Vec<usize>), AnalysisError> {
    let get = |t: Table| tables.get(&t).ok_or(AnalysisError::MissingTable(t));
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut node = |name: &str, nodes: &mut Vec<Node>| -> usize {
        if let Some(&i) = names.get(name) {
            return i;
        }
        nodes.push(Node {
            name: name.to_string(),
            supplier: String::new(),
            lead_time_days: 0,
            unit_cost: 0.0,
            children: Vec::new(),
            on_hand: 0.0,
            receipts: Vec::new(),
            expedite: None,
            alternate: None,
        });
        names.insert(name.to_string(), nodes.len() - 1);
        nodes.len() - 1
    };
    let df = get(Table::Components)?;
    let (c, s, lt, uc) = (
        texts(df, "components", "component")?,
        texts(df, "components", "supplier")?,
        numbers0(df, "components", "lead_time_days")?,
        numbers0(df, "components", "unit_cost")?,
    );
    for i in 0..c.len() {
        let k = node(&c[i], &mut nodes);
        nodes[k].supplier = s[i].clone();
        nodes[k].lead_time_days = lt[i] as i64;
        nodes[k].unit_cost = uc[i];
    }
    let df = get(Table::Bom)?;
    let (par, comp, q) =
        (texts(df, "bom", "parent_sku")?, texts(df, "bom", "component")?, numbers0(df, "bom", "qty_per")?);
    for i in 0..par.len() {
        let a = node(&par[i], &mut nodes);
        let b = node(&comp[i], &mut nodes);
        nodes[a].children.push((b, q[i]));
    }
    // Finished items that appear in the BOM have no stock of their own here (it served their
    // demand) and are made in-house with no lead time.
    let df = get(Table::Inventory)?;
    let (item, on, ss) = (
        texts(df, "inventory", "item")?,
        numbers0(df, "inventory", "on_hand")?,
        numbers0(df, "inventory", "safety_stock")?,
    );
    for i in 0..item.len() {
        if sku_ix.contains_key(item[i].as_str()) {
            continue;
        }
        if let Some(&k) = names.get(item[i].as_str()) {
            nodes[k].on_hand += (on[i] - ss[i]).max(0.0);
        }
    }
    if let Some(df) = tables.get(&Table::OpenPurchaseOrders) {
        let (c, s, due, q) = (
            texts(df, "open_purchase_orders", "component")?,
            texts(df, "open_purchase_orders", "supplier")?,
            dates(df, "open_purchase_orders", "due_date")?,
            numbers0(df, "open_purchase_orders", "qty")?,
        );
        for i in 0..c.len() {
            if let Some(&k) = names.get(c[i].as_str()) {
                // Past-due receipts are expected at the cycle start.
                let day = due[i].unwrap_or(cycle_start).max(cycle_start);
                nodes[k].receipts.push((day, q[i], s[i].clone()));
            }
        }
    }
    for nd in &mut nodes {
        nd.children.sort_by_key(|a| a.0);
        nd.receipts.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(&b.2)).then(a.1.total_cmp(&b.1)));
    }
    // Topological order by depth-first search; a part met again on the walk closes a loop.
    let children: Vec<Vec<usize>> = nodes.iter().map(|nd| nd.children.iter().map(|c| c.0).collect()).collect();
    match crate::analysis::graph::topological_order(&children) {
        Ok(order) => Ok((nodes, order)),
        Err(lines) => {
            let mut path: Vec<String> = lines.iter().map(|&(x, _)| nodes[x].name.clone()).collect();
            path.push(nodes[lines[0].0].name.clone());
            Err(AnalysisError::BomCycle { path })
        }
    }
}

/// The first-level gross requirements of each finished SKU's production.
fn root_needs(nodes: &[Node], item_node: &[Option<usize>], prod: &[Vec<f64>], months: &[Month]) -> Vec<Vec<Need>> {
    let mut needs: Vec<Vec<Need>> = vec![Vec::new(); nodes.len()];
    for (s, node) in item_node.iter().enumerate() {
        let Some(k) = *node else { continue };
        for (mi, m) in months.iter().enumerate() {
            let q = prod[s][mi];
            if q <= EPS {
                continue;
            }
            let day = day_of(m.first_day()) + NEED_DAY_OF_MONTH as i32 - 1;
            for &(c, per) in &nodes[k].children {
                if per > 0.0 {
                    needs[c].push(Need { day, qty: q * per, root: s, root_month: mi, factor: per });
                }
            }
        }
    }
    needs
}

/// The share of a supplier's receipts expected on time and in full, when it is at risk.
pub(super) type RiskShare<'a> = &'a dyn Fn(&str) -> Option<f64>;

/// Nets requirements level by level and returns every net requirement, pegged to its finished
/// SKU. With `at_risk`, receipts from a supplier below the OTIF threshold count at their OTIF
/// share.
fn explode(
    nodes: &[Node],
    order: &[usize],
    item_node: &[Option<usize>],
    prod: &[Vec<f64>],
    months: &[Month],
    cycle_start: i32,
    at_risk: Option<RiskShare<'_>>,
) -> Vec<Short> {
    let mut needs = root_needs(nodes, item_node, prod, months);
    let is_item: BTreeSet<usize> = item_node.iter().flatten().copied().collect();
    let mut shorts = Vec::new();
    for &v in order {
        let mut list = std::mem::take(&mut needs[v]);
        if list.is_empty() {
            continue;
        }
        list.sort_by(|a, b| a.day.cmp(&b.day).then(a.root.cmp(&b.root)).then(a.root_month.cmp(&b.root_month)));
        let nd = &nodes[v];
        let mut avail = if is_item.contains(&v) { 0.0 } else { nd.on_hand };
        let mut next_receipt = 0;
        for need in list {
            while next_receipt < nd.receipts.len() && nd.receipts[next_receipt].0 <= need.day {
                let (_, q, sup) = &nd.receipts[next_receipt];
                let share = at_risk.and_then(|f| f(sup)).unwrap_or(1.0);
                avail += q * share;
                next_receipt += 1;
            }
            let take = need.qty.min(avail);
            avail -= take;
            let net = need.qty - take;
            if net <= EPS {
                continue;
            }
            let release = need.day - nd.lead_time_days as i32;
            let within = release < cycle_start;
            shorts.push(Short { node: v, need: Need { qty: net, ..need }, within_lead_time: within });
            if !within {
                for &(c, per) in &nd.children {
                    if per > 0.0 {
                        needs[c].push(Need {
                            day: release,
                            qty: net * per,
                            root: need.root,
                            root_month: need.root_month,
                            factor: need.factor * per,
                        });
                    }
                }
            }
        }
    }
    shorts
}

/// Gross requirements per component and need month, before any netting (for the shortage table).
fn gross_by_month(
    nodes: &[Node],
    order: &[usize],
    item_node: &[Option<usize>],
    prod: &[Vec<f64>],
    months: &[Month],
    cycle_start: i32,
) -> BTreeMap<(usize, Month), f64> {
    // Netting changes the quantities passed down, so the gross is what each level was asked for.
    let mut needs = root_needs(nodes, item_node, prod, months);
    let mut out = BTreeMap::new();
    let is_item: BTreeSet<usize> = item_node.iter().flatten().copied().collect();
    for &v in order {
        let list = std::mem::take(&mut needs[v]);
        let nd = &nodes[v];
        let mut avail = if is_item.contains(&v) { 0.0 } else { nd.on_hand };
        let mut next_receipt = 0;
        let mut sorted = list;
        sorted.sort_by(|a, b| a.day.cmp(&b.day).then(a.root.cmp(&b.root)).then(a.root_month.cmp(&b.root_month)));
        for need in sorted {
            *out.entry((v, month_of_day(need.day))).or_insert(0.0) += need.qty;
            while next_receipt < nd.receipts.len() && nd.receipts[next_receipt].0 <= need.day {
                avail += nd.receipts[next_receipt].1;
                next_receipt += 1;
            }
            let take = need.qty.min(avail);
            avail -= take;
            let net = need.qty - take;
            let release = need.day - nd.lead_time_days as i32;
            if net > EPS && release >= cycle_start {
                for &(c, per) in &nd.children {
                    needs[c].push(Need { day: release, qty: net * per, factor: need.factor * per, ..need });
                }
            }
        }
    }
    out
}
