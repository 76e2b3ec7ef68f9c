//! The masters phase: the plan's horizon (18 months from the cycle, the near-term window) and
//! the master tables every later phase indexes into (items, customers, resources), each sorted
//! by name so that indices and iteration order are stable.

use std::collections::BTreeMap;

use super::super::AnalysisError;
use super::columns::{numbers0, table, texts};
use super::{SupplyInputs, SupplyParams, day_of};
use crate::contract::{Month, PLAN_MONTHS, Table};

/// A finished SKU: its family, unit price and cost, and the site that makes it.
pub(super) struct Item {
    pub(super) sku: String,
    pub(super) family: String,
    pub(super) price: f64,
    pub(super) cost: f64,
    pub(super) site: String,
}

impl Item {
    pub(super) fn margin(&self) -> f64 {
        self.price - self.cost
    }
}

/// A production resource (a line or a labour pool) at a site.
pub(super) struct Resource {
    pub(super) name: String,
    pub(super) site: String,
    pub(super) kind: String,
}

/// The horizon and the masters: what every phase reads and none changes. Indices into `items`,
/// `customers` and `resources` are what the other phases' tables are keyed by.
pub(super) struct Masters<'a> {
    pub(super) params: &'a SupplyParams,
    pub(super) cycle: Month,
    /// Months in the plan (`PLAN_MONTHS`).
    pub(super) n: usize,
    /// The plan's months, the cycle month first.
    pub(super) months: Vec<Month>,
    /// The cycle's first day, as days since 1970-01-01.
    pub(super) cycle_start: i32,
    /// Per plan month: whether it overlaps the near-term window (`near_term_from_weeks` to
    /// `near_term_to_weeks` from the cycle start).
    pub(super) near_term: Vec<bool>,
    /// Items by SKU.
    pub(super) items: Vec<Item>,
    pub(super) sku_ix: BTreeMap<String, usize>,
    /// (customer, priority), by name; the unassigned launch volume is the lowest priority.
    pub(super) customers: Vec<(String, i64)>,
    pub(super) cust_ix: BTreeMap<String, usize>,
    /// Resources by name.
    pub(super) resources: Vec<Resource>,
    pub(super) res_ix: BTreeMap<String, usize>,
}

impl<'a> Masters<'a> {
    /// The plan month's index, if `m` is inside the horizon.
    pub(super) fn month_index(&self, m: Month) -> Option<usize> {
        let d = m.0 - self.cycle.0;
        (0..self.n as i32).contains(&d).then_some(d as usize)
    }

    /// Reads the horizon and the items, customers and resources tables.
    pub(super) fn read(inputs: &SupplyInputs<'a>) -> Result<Masters<'a>, AnalysisError> {
        let p = inputs.params;
        let cycle = inputs.cycle;
        let n = PLAN_MONTHS as usize;
        let months: Vec<Month> = (0..n as i32).map(|i| cycle.plus(i)).collect();
        let cycle_start = day_of(cycle.first_day());

        let df = table(inputs.tables, Table::Items)?;
        let name = "items";
        let items: Vec<Item> = {
            let (skus, fams, prices, costs, sites) = (
                texts(df, name, "sku")?,
                texts(df, name, "family")?,
                numbers0(df, name, "unit_price")?,
                numbers0(df, name, "unit_cost")?,
                texts(df, name, "make_site")?,
            );
            let mut v: Vec<Item> = (0..skus.len())
                .map(|i| Item {
                    sku: skus[i].clone(),
                    family: fams[i].clone(),
                    price: prices[i],
                    cost: costs[i],
                    site: sites[i].clone(),
                })
                .collect();
            v.sort_by(|a, b| a.sku.cmp(&b.sku));
            v
        };
        let sku_ix: BTreeMap<String, usize> = items.iter().enumerate().map(|(i, it)| (it.sku.clone(), i)).collect();

        let df = table(inputs.tables, Table::Customers)?;
        let mut customers: Vec<(String, i64)> = texts(df, "customers", "customer")?
            .into_iter()
            .zip(numbers0(df, "customers", "priority")?)
            .map(|(c, p)| (c, p as i64))
            .collect();
        // Launch volume the consensus has not yet given to a customer is served last.
        let lowest = customers.iter().map(|c| c.1).max().unwrap_or(0) + 1;
        customers.push((super::super::demand::UNASSIGNED.to_string(), lowest));
        customers.sort();
        let cust_ix: BTreeMap<String, usize> = customers.iter().enumerate().map(|(i, c)| (c.0.clone(), i)).collect();

        let df = table(inputs.tables, Table::Resources)?;
        let mut resources: Vec<Resource> = {
            let (r, s, k) =
                (texts(df, "resources", "resource")?, texts(df, "resources", "site")?, texts(df, "resources", "kind")?);
            (0..r.len()).map(|i| Resource { name: r[i].clone(), site: s[i].clone(), kind: k[i].clone() }).collect()
        };
        resources.sort_by(|a, b| a.name.cmp(&b.name));
        let res_ix: BTreeMap<String, usize> = resources.iter().enumerate().map(|(i, r)| (r.name.clone(), i)).collect();

        // The near-term window.
        let window_from = cycle_start + 7 * p.near_term_from_weeks as i32;
        let window_to = cycle_start + 7 * p.near_term_to_weeks as i32;
        let near_term: Vec<bool> = months
            .iter()
            .map(|m| {
                let first = day_of(m.first_day());
                let last = day_of(m.plus(1).first_day()) - 1;
                first <= window_to && last >= window_from
            })
            .collect();

        Ok(Masters {
            params: p,
            cycle,
            n,
            months,
            cycle_start,
            near_term,
            items,
            sku_ix,
            customers,
            cust_ix,
            resources,
            res_ix,
        })
    }
}
