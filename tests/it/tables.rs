//! The facts' large tables live in Parquet, written from the typed facts: the same tables
//! `facts.json` held before, and read back by the agents that build on them.

use snop::analysis::supply::SupplyFacts;
use snop::artifacts::tables::{self, SUPPLY_TABLES};

use crate::supply::demo_facts;

#[test]
fn the_supply_plans_large_tables_are_the_parquet_files_facts_json_held_before() {
    let facts = demo_facts();
    assert!(facts.constrained_plan.len() > 1000 && facts.requirements.len() > 100);
    // Before: `facts.json` held every table and `tables/*.parquet` were parsed back from it.
    let whole = serde_json::to_vec_pretty(&facts).unwrap();
    let before = tables::of_facts(&serde_json::from_slice(&whole).unwrap()).unwrap();
    // Now: the large tables are taken out of the facts and written from the typed rows.
    let mut split = facts.clone();
    let files = tables::take_supply_tables(&mut split).unwrap();
    assert!(split.constrained_plan.is_empty() && split.requirements.is_empty());
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["tables/constrained_plan.parquet", "tables/requirements.parquet"]);
    for ((name, bytes), key) in files.iter().zip(SUPPLY_TABLES) {
        let now = tables::read(name, bytes.clone()).unwrap();
        let old = before.iter().find(|t| t.key == key).unwrap();
        assert_eq!(now.columns(), old.columns(), "{key}");
        assert!(now.frame.equals_missing(&old.frame), "{key}: the Parquet table differs from facts.json's");
    }
    // `facts.json` now: the demo's is half the size (1.13 MB to 0.57 MB: the rest is mostly the
    // shortages, per component and month), and the tables of the rest are as they were.
    let small = serde_json::to_vec_pretty(&split).unwrap();
    assert!(small.len() * 3 < whole.len() * 2, "{} of {} bytes", small.len(), whole.len());
    let rest = tables::of_facts(&serde_json::to_value(&split).unwrap()).unwrap();
    let kept: Vec<&str> = before.iter().map(|t| t.key.as_str()).filter(|k| !SUPPLY_TABLES.contains(k)).collect();
    assert_eq!(rest.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(), kept);
    // A later agent reads `facts.json` and the tables back: the supply plan as it was made.
    let mut read: SupplyFacts = serde_json::from_slice(&small).unwrap();
    let file = |name: &str| Ok(files.iter().find(|(n, _)| n == name).map(|(_, b)| b.clone()));
    tables::restore_supply_tables(&mut read, file).unwrap();
    assert_eq!(read.constrained_plan, facts.constrained_plan);
    assert_eq!(read.requirements, facts.requirements);
    // The plan's total from the lines read back, against the facts' own total (a plain loop).
    let mut served = 0.0;
    for line in &read.constrained_plan {
        served += line.constrained_units;
    }
    assert!((served - facts.totals.constrained_units).abs() < 0.5, "{served}");
    // A run from before the change (the tables inside `facts.json`) reads as it did.
    let mut old: SupplyFacts = serde_json::from_slice(&whole).unwrap();
    tables::restore_supply_tables(&mut old, |_| Ok(None)).unwrap();
    assert_eq!(old.constrained_plan.len(), facts.constrained_plan.len());
}
