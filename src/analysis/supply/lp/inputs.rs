//! `Problem::from_inputs`: the optimiser's data from today's contract tables, read by the same
//! phases the supply review runs, so the two see the same masters, demand, routings, capacity
//! and bill of materials.
//!
//! Today's contract, mapped:
//! - **Items**: every finished SKU; a BOM node with children that is not a finished SKU is a
//!   sub-assembly, made on its own routings (`routings` rows with its name; none: one routing of
//!   no operations, loading no capacity). Finished goods' stock is the stock at the make site;
//!   safety stock is kept back.
//! - **Routings** (`analysis::supply::routings`): a SKU's `primary` routing first, its
//!   operations successive (each loads); every other routing is an alternative at
//!   `alternate_site_premium_percent` of the unit cost per unit. Without a `routing` column the
//!   rows at the make site are the primary and each other site's rows an alternative; a SKU with
//!   no row at its make site has all its rows as one primary routing; a SKU with none can be
//!   made without loading any resource.
//! - **Components**: BOM leaves. Their suppliers (`analysis::supply::supplier_options`): the one
//!   `components` names and every other `component_suppliers` lists, each with its unit cost,
//!   lead time, minimum order and expedite terms (by default `expedite_premium_percent` and
//!   `expedited_lead_time_percent` of the lead time). No supplier is invented: a component
//!   with one source has one option. A lead time in days becomes the first plan month whose
//!   15th (the need date) is at least that many days after the cycle start.
//! - **Open purchase orders**: due by the 15th of a month serve that month, later ones the next
//!   (past-due orders are due at the cycle start); every supplier's measured OTIF derates them
//!   (unknown: 1).
//! - **Frozen horizon**: `[supply] frozen_months`.

use std::collections::BTreeMap;

use super::super::capacity::{self, Routes};
use super::super::columns::{numbers0, table, texts};
use super::super::masters::Masters;
use super::super::materials;
use super::super::{NEED_DAY_OF_MONTH, SupplyInputs, netting, routings, supplier_options, suppliers};
use super::{
    BomEdge, Component, DemandLine, Item, OpenPo, Operation, Part, Problem, Resource, ResourceMonth, Routing, Supplier,
    SupplierOption,
};
use crate::analysis::AnalysisError;
use crate::contract::Table;

impl Problem {
    /// The optimiser's data from the supply review's inputs (see the module's doc).
    pub fn from_inputs(inputs: &SupplyInputs<'_>) -> Result<Problem, AnalysisError> {
        let masters = Masters::read(inputs)?;
        let demand = netting::read_demand(&masters, inputs)?;
        let routes = capacity::read_routes(&masters, inputs.tables)?;
        let cap = capacity::read_capacity(&masters, inputs.tables)?;
        let bom = materials::read_bom(&masters, inputs.tables)?;
        let otif = suppliers::supplier_otif(inputs.tables, masters.cycle, masters.params)?;
        let p = masters.params;
        let n = masters.n;

        let resources = resources(&masters, &cap);

        let mut items = finished_items(&masters, inputs, &routes)?;
        let sources = supplier_options(inputs.tables, p)?;
        let routings_of = routings(inputs.tables)?;
        // BOM nodes: finished SKUs, sub-assemblies (children, not finished) and components.
        let mut part_of: Vec<Option<Part>> = vec![None; bom.nodes.len()];
        for (s, node) in bom.item_node.iter().enumerate() {
            if let Some(k) = *node {
                part_of[k] = Some(Part::Item(s));
            }
        }
        let mut suppliers: Vec<Supplier> = Vec::new();
        let mut supplier_ix: BTreeMap<String, usize> = BTreeMap::new();
        let mut supplier = |name: &str| -> usize {
            *supplier_ix.entry(name.to_string()).or_insert_with(|| {
                let o = otif.get(name).and_then(|o| o.otif).unwrap_or(1.0);
                suppliers.push(Supplier::new(name, o));
                suppliers.len() - 1
            })
        };
        let lead_months = |days: f64| lead_time_months(&masters, days);
        let mut components = Vec::new();
        for (k, nd) in bom.nodes.iter().enumerate() {
            if part_of[k].is_some() {
                continue;
            }
            let hold = nd.unit_cost * p.holding_cost_percent_per_month / 100.0;
            if !nd.children.is_empty() {
                let premium = nd.unit_cost * p.alternate_site_premium_percent / 100.0;
                let made_on: Vec<Routing> = routings_of
                    .get(&nd.name)
                    .map(|list| list.iter().map(|r| lp_routing(&masters, r, premium)).collect())
                    .unwrap_or_default();
                items.push(Item {
                    name: nd.name.clone(),
                    site: String::new(),
                    unit_cost: nd.unit_cost,
                    opening_stock: nd.on_hand,
                    safety_stock: 0.0,
                    holding_cost_per_month: hold,
                    routings: if made_on.is_empty() {
                        vec![Routing { label: String::new(), premium_per_unit: 0.0, operations: Vec::new() }]
                    } else {
                        made_on
                    },
                });
                part_of[k] = Some(Part::Item(items.len() - 1));
                continue;
            }
            // The suppliers the data lists; a BOM leaf missing from `components` has the node's.
            let listed = sources.get(&nd.name).cloned().unwrap_or_else(|| {
                let lead = nd.lead_time_days as f64;
                vec![super::super::SupplierOption {
                    supplier: nd.supplier.clone(),
                    unit_cost: nd.unit_cost,
                    lead_time_days: nd.lead_time_days,
                    min_order_qty: 0.0,
                    can_expedite: true,
                    expedite_premium_percent: p.expedite_premium_percent,
                    expedited_lead_time_days: lead * p.expedited_lead_time_percent / 100.0,
                    current: true,
                }]
            });
            let options: Vec<SupplierOption> = listed
                .iter()
                .map(|o| SupplierOption {
                    supplier: supplier(&o.supplier),
                    unit_cost: o.unit_cost,
                    lead_time_months: lead_months(o.lead_time_days as f64),
                    min_order_qty: o.min_order_qty,
                    can_expedite: o.can_expedite,
                    expedite_premium_per_unit: if o.can_expedite {
                        o.unit_cost * o.expedite_premium_percent / 100.0
                    } else {
                        0.0
                    },
                    expedite_lead_time_months: lead_months(o.expedited_lead_time_days),
                })
                .collect();
            let mut open_pos = Vec::new();
            for (day, qty, sup) in &nd.receipts {
                let month = receipt_month(&masters, *day);
                if month < n && *qty > 0.0 {
                    open_pos.push(OpenPo { month, qty: *qty, supplier: supplier(sup) });
                }
            }
            components.push(Component {
                name: nd.name.clone(),
                unit_cost: nd.unit_cost,
                opening_stock: nd.on_hand,
                safety_stock: 0.0,
                holding_cost_per_month: hold,
                open_pos,
                options,
            });
            part_of[k] = Some(Part::Component(components.len() - 1));
        }
        let mut edges = Vec::new();
        for (k, nd) in bom.nodes.iter().enumerate() {
            let Some(Part::Item(parent)) = part_of[k] else { continue };
            for &(child, qty_per) in &nd.children {
                if let Some(child) = part_of[child] {
                    edges.push(BomEdge { parent, child, qty_per });
                }
            }
        }

        Ok(Problem {
            months: masters.months.iter().map(ToString::to_string).collect(),
            frozen_months: (p.frozen_months as usize).min(n),
            items,
            resources,
            components,
            suppliers,
            bom: edges,
            demand: demand_lines(&masters, &demand),
            rule: p.allocation,
        })
    }
}

/// The resources with their hours per plan month.
fn resources(masters: &Masters<'_>, cap: &[Vec<capacity::Cap>]) -> Vec<Resource> {
    masters
        .resources
        .iter()
        .zip(cap)
        .map(|(r, caps)| Resource {
            name: r.name.clone(),
            site: r.site.clone(),
            kind: r.kind.clone(),
            months: caps
                .iter()
                .map(|c| ResourceMonth {
                    regular_hours: c.available,
                    overtime_ceiling_hours: c.overtime,
                    overtime_cost_per_hour: c.rate,
                })
                .collect(),
        })
        .collect()
}

/// A demand line per SKU, customer and month with demand.
fn demand_lines(masters: &Masters<'_>, demand: &netting::Demand) -> Vec<DemandLine> {
    let mut lines = Vec::new();
    for (&(s, c), qty) in &demand.cells {
        let it = &masters.items[s];
        for (month, &q) in qty.iter().enumerate() {
            if q > 0.0 {
                lines.push(DemandLine {
                    item: s,
                    customer: masters.customers[c].0.clone(),
                    priority: masters.customers[c].1,
                    month,
                    qty: q,
                    unit_price: it.price,
                    unit_margin: it.margin(),
                });
            }
        }
    }
    lines
}

/// The finished SKUs, in the masters' order, with their routings and stock at the make site.
fn finished_items(
    masters: &Masters<'_>,
    inputs: &SupplyInputs<'_>,
    routes: &Routes,
) -> Result<Vec<Item>, AnalysisError> {
    let p = masters.params;
    let df = table(inputs.tables, Table::Inventory)?;
    let (inv_item, inv_site, inv_on, inv_ss) = (
        texts(df, "inventory", "item")?,
        texts(df, "inventory", "site")?,
        numbers0(df, "inventory", "on_hand")?,
        numbers0(df, "inventory", "safety_stock")?,
    );
    let mut stock = vec![(0.0f64, 0.0f64); masters.items.len()];
    for i in 0..inv_item.len() {
        if let Some(&s) = masters.sku_ix.get(inv_item[i].as_str())
            && masters.items[s].site == inv_site[i]
        {
            stock[s].0 += inv_on[i];
            stock[s].1 += inv_ss[i];
        }
    }
    let ops = |steps: &[(usize, f64)]| -> Vec<Operation> {
        steps.iter().map(|&(resource, hours_per_unit)| Operation { resource, hours_per_unit }).collect()
    };
    Ok(masters
        .items
        .iter()
        .enumerate()
        .map(|(s, it)| {
            let mut routings =
                vec![Routing { label: it.site.clone(), premium_per_unit: 0.0, operations: ops(&routes.primary[s]) }];
            for (site, steps) in &routes.alternates[s] {
                routings.push(Routing {
                    label: site.clone(),
                    premium_per_unit: it.cost * p.alternate_site_premium_percent / 100.0,
                    operations: ops(steps),
                });
            }
            Item {
                name: it.sku.clone(),
                site: it.site.clone(),
                unit_cost: it.cost,
                opening_stock: stock[s].0,
                safety_stock: stock[s].1,
                holding_cost_per_month: it.cost * p.holding_cost_percent_per_month / 100.0,
                routings,
            }
        })
        .collect())
}

/// A sub-assembly's routing as the optimiser reads it: operations on the resources the masters
/// know, the premium on every routing but the primary.
fn lp_routing(masters: &Masters<'_>, r: &super::super::Routing, premium: f64) -> Routing {
    Routing {
        label: r.name.clone(),
        premium_per_unit: if r.is_primary() { 0.0 } else { premium },
        operations: r
            .operations
            .iter()
            .filter_map(|o| {
                masters
                    .res_ix
                    .get(&o.resource)
                    .map(|&resource| Operation { resource, hours_per_unit: o.hours_per_unit })
            })
            .collect(),
    }
}

/// The first plan month whose need date (the 15th) is at least `days` after the cycle start;
/// the horizon's length when none is.
fn lead_time_months(masters: &Masters<'_>, days: f64) -> usize {
    (0..masters.n)
        .find(|&t| {
            let need = super::super::day_of(masters.months[t].first_day()) + NEED_DAY_OF_MONTH as i32 - 1;
            f64::from(need - masters.cycle_start) >= days
        })
        .unwrap_or(masters.n)
}

/// The plan month a receipt due on `day` serves: its own month when it arrives by the 15th,
/// else the next.
fn receipt_month(masters: &Masters<'_>, day: i32) -> usize {
    let day = day.max(masters.cycle_start);
    let m = super::super::month_of_day(day);
    let t = (m.0 - masters.cycle.0).max(0) as usize;
    let dom = day - super::super::day_of(m.first_day()) + 1;
    if dom as u32 <= NEED_DAY_OF_MONTH { t } else { t + 1 }
}
