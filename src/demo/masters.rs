//! The demo manufacturer's master data: its product families, sites, channels, account managers
//! and suppliers, and the extracts drawn from them: items, customers, resources and routings,
//! components and the bill of materials.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{Files, Spec, money};
use crate::contract::Month;

pub(super) const FAMILIES: [(&str, f64, &str); 8] = [
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
pub(super) const SITES: [&str; 3] = ["LEEDS", "BRNO", "MONTERREY"];
const CHANNELS: [&str; 4] = ["oem", "distributor", "direct", "e-commerce"];
const REGIONS: [&str; 4] = ["EMEA", "NA", "LATAM", "APAC"];
/// The account managers (id, name): each owns its customers' lines in the commitment log.
pub(super) const ACCOUNT_MANAGERS: [(&str, &str); 5] = [
    ("ana.lopez", "Ana Lopez"),
    ("ben.carter", "Ben Carter"),
    ("chloe.martin", "Chloe Martin"),
    ("dev.patel", "Dev Patel"),
    ("eva.novak", "Eva Novak"),
];
pub(super) const SUPPLIERS: [&str; 10] = [
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

pub(super) struct Item {
    pub(super) sku: String,
    pub(super) family: usize,
    pub(super) price: f64,
    pub(super) lifecycle: &'static str,
    pub(super) launch: Option<Month>,
}

pub(super) struct Customer {
    pub(super) id: String,
    pub(super) channel: &'static str,
    pub(super) manager: &'static str,
}

/// A resource: its name, site and kind (machine, line or labour).
pub(super) type Resource = (String, &'static str, &'static str);

/// Writes `items.csv`: most items active, a few new (launching in the plan) and a few being
/// discontinued.
pub(super) fn items(files: &mut Files, spec: &Spec, rng: &mut ChaCha8Rng) -> anyhow::Result<Vec<Item>> {
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
    files.write("items.csv", out)?;
    Ok(items)
}

/// Writes `customers.csv`: a channel and a region each, the account managers in turn.
pub(super) fn customers(files: &mut Files, spec: &Spec, rng: &mut ChaCha8Rng) -> anyhow::Result<Vec<Customer>> {
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
    files.write("customers.csv", out)?;
    Ok(customers)
}

/// Hours per sub-assembly on its site's second machine and on its labour pool.
pub(super) const SA_CNC_HOURS: f64 = 0.15;
pub(super) const SA_LABOUR_HOURS: f64 = 0.2;

/// The sub-assembly (its index) finished good `i` of `skus` takes, one of each, and the site that
/// makes sub-assembly `sa`: the BOM, the routings and the capacity's sizing all follow these.
pub(super) fn sub_assembly_of(i: usize, skus: usize) -> usize {
    i % sub_assemblies(skus)
}

pub(super) fn sub_assembly_site(sa: usize) -> &'static str {
    SITES[sa % SITES.len()]
}

/// How many sub-assemblies a company of `skus` finished goods has.
pub(super) fn sub_assemblies(skus: usize) -> usize {
    (skus / 6).max(4)
}

/// Writes `resources.csv` (per site two machines, a line per family made there, and a labour
/// pool) and `routings.csv`, every row's `routing` explicit: each item's `primary` routing is
/// three successive operations (its family's line, a machine and the labour pool); every fifth
/// item can also be made at the next site (`alt-<SITE>`: a machine and the labour pool there,
/// 20 % slower); each sub-assembly is machined and assembled at a site in turn. Draws nothing.
pub(super) fn resources_and_routings(files: &mut Files, spec: &Spec, items: &[Item]) -> anyhow::Result<Vec<Resource>> {
    let mut resources: Vec<Resource> = Vec::new();
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
    files.write("resources.csv", out)?;

    let mut out = String::new();
    row!(&mut out, "sku", "resource", "hours_per_unit", "routing");
    for (i, it) in items.iter().enumerate() {
        let (fname, _, site) = FAMILIES[it.family];
        let short = &site[..3];
        let scale = (it.price / 1000.0).clamp(0.02, 2.0);
        let line = format!("{short}-LINE-{}", &fname[..4].to_uppercase());
        row!(&mut out, it.sku, line, format!("{:.3}", 0.4 * scale), "primary");
        row!(&mut out, it.sku, format!("{short}-CNC-{}", 1 + it.family % 2), format!("{:.3}", 0.25 * scale), "primary");
        row!(&mut out, it.sku, format!("{short}-LABOUR"), format!("{:.3}", 0.6 * scale), "primary");
        if i % 5 == 4 {
            let other = SITES[(SITES.iter().position(|s| *s == site).unwrap_or(0) + 1) % SITES.len()];
            let (o, name) = (&other[..3], format!("alt-{other}"));
            row!(&mut out, it.sku, format!("{o}-CNC-1"), format!("{:.3}", 0.25 * scale * 1.2), name);
            row!(&mut out, it.sku, format!("{o}-LABOUR"), format!("{:.3}", 0.6 * scale * 1.2), name);
        }
    }
    for i in 0..sub_assemblies(spec.skus) {
        let short = &sub_assembly_site(i)[..3];
        row!(&mut out, format!("SA-{:04}", i + 1), format!("{short}-CNC-2"), format!("{SA_CNC_HOURS:.3}"), "primary");
        row!(
            &mut out,
            format!("SA-{:04}", i + 1),
            format!("{short}-LABOUR"),
            format!("{SA_LABOUR_HOURS:.3}"),
            "primary"
        );
    }
    files.write("routings.csv", out)?;
    Ok(resources)
}

/// Writes `components.csv` (raw parts from suppliers and sub-assemblies built from them),
/// `component_suppliers.csv` (a second source for every fourth raw part: faster and dearer, see
/// [`second_source`]) and `bom.csv` (a 3-level BOM); returns the raw parts' ids.
pub(super) fn components_and_bom(
    files: &mut Files,
    spec: &Spec,
    items: &[Item],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Vec<String>> {
    let n_raw = (spec.skus / 2).max(12);
    let n_sub = sub_assemblies(spec.skus);
    let mut out = String::new();
    row!(&mut out, "component", "supplier", "lead_time_days", "unit_cost");
    let mut raw = Vec::new();
    let mut second = String::new();
    row!(
        &mut second,
        "component",
        "supplier",
        "unit_cost",
        "lead_time_days",
        "min_order_qty",
        "can_expedite",
        "expedite_premium_percent",
        "expedited_lead_time_days"
    );
    for i in 0..n_raw {
        let id = format!("RM-{:05}", i + 1);
        let supplier = SUPPLIERS[i % SUPPLIERS.len()];
        // Drawn as before this table existed (an `i32`, then an `f64`), so the rest of the
        // company is unchanged.
        let (lead, cost): (i32, f64) = (rng.random_range(14..120), rng.random_range(0.5..120.0));
        row!(&mut out, id, supplier, lead, money(cost));
        if i % 4 == 1 {
            second_source(&mut second, i, &id, lead, cost);
        }
        raw.push(id);
    }
    files.write("component_suppliers.csv", second)?;
    let mut subs = Vec::new();
    for i in 0..n_sub {
        let id = format!("SA-{:04}", i + 1);
        row!(&mut out, id, "INTERNAL", rng.random_range(5..15), money(rng.random_range(40.0..300.0)));
        subs.push(id);
    }
    files.write("components.csv", out)?;
    let mut out = String::new();
    row!(&mut out, "parent_sku", "component", "qty_per");
    for (i, sa) in subs.iter().enumerate() {
        for k in 0..3 {
            row!(&mut out, sa, raw[(i * 3 + k) % raw.len()], rng.random_range(1..5));
        }
    }
    for (i, it) in items.iter().enumerate() {
        row!(&mut out, it.sku, subs[sub_assembly_of(i, items.len())], 1);
        row!(&mut out, it.sku, raw[(i * 7 + 1) % raw.len()], rng.random_range(1..4));
        if i % 3 == 0 {
            row!(&mut out, it.sku, raw[(i * 5 + 2) % raw.len()], rng.random_range(1..8));
        }
    }
    files.write("bom.csv", out)?;
    Ok(raw)
}

/// A second supplier for raw part `i` (one row of `component_suppliers.csv`): the supplier three
/// down the list, at 40 % of the lead time (at least a week) for 18 % more, in lots of 50; every
/// other one expedites at 25 % to half its lead time, the rest cannot expedite. Draws nothing.
fn second_source(out: &mut String, i: usize, id: &str, lead: i32, cost: f64) {
    let supplier = SUPPLIERS[(i + 3) % SUPPLIERS.len()];
    let fast = (lead * 2 / 5).max(7);
    if i % 8 == 1 {
        row!(out, id, supplier, money(cost * 1.18), fast, 50, "yes", 25, (fast / 2).max(3));
    } else {
        row!(out, id, supplier, money(cost * 1.18), fast, 50, "no", "", "");
    }
}
