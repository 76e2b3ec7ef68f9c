//! `snop maturity` on the two-month demo: twelve answers whose evidence carries the numbers the
//! store holds, read here straight from the run folders and the store.

use std::path::Path;

use serde_json::Value;
use snop::sop::Artifact;

use crate::common::{block_on, run_in};

/// The `facts.json` (or another file) of the one run of an agent in a cycle of the demo.
fn run_json(ws: &Path, cycle: &str, agent: &str, file: &str) -> Value {
    let dir = ws.join("runs").join(cycle).join(agent);
    let runs: Vec<_> = fs_err::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(runs.len(), 1, "one {agent} run in {cycle}: {runs:?}");
    serde_json::from_slice(&fs_err::read(runs[0].join(file)).unwrap()).unwrap()
}

fn answers(out: &str) -> Value {
    let v: Value = serde_json::from_str(out).unwrap();
    assert_eq!(v["answers"].as_array().unwrap().len(), 12, "{out}");
    v
}

#[test]
fn maturity_answers_twelve_questions_from_the_demo_store() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run_in(tmp.path(), &["demo", "ws", "--skus", "30", "--customers", "10"]);
    assert_eq!(code, 0, "{err}");
    let ws = tmp.path().join("ws");

    let (code, out, err) = run_in(&ws, &["maturity", "--cycle", "2026-12", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v = answers(&out);
    let a = |n: usize| &v["answers"][n - 1];
    for n in 1..=12 {
        assert_eq!(a(n)["number"], n as u64);
        assert!(["yes", "no", "partly", "unknown"].contains(&a(n)["answer"].as_str().unwrap()), "{out}");
        assert!(a(n)["evidence"].as_str().unwrap().starts_with("2026-12: "), "{out}");
    }
    let evidence = |n: usize| a(n)["evidence"].as_str().unwrap().to_string();

    // What the store holds, read without the maturity code.
    let (signed, decided) = block_on(async {
        let store = snop::store::Store::open(&ws, "sqlite://snop.db").await.unwrap();
        let status = store.status("2026-12").await.unwrap();
        let signed: Vec<bool> = status.iter().map(|l| !l.signatures.is_empty()).collect();
        let mut ids: Vec<String> =
            store.decisions("2026-12").await.unwrap().into_iter().filter_map(|d| d.tradeoff_id).collect();
        ids.sort();
        ids.dedup();
        (signed, ids)
    });
    // The demo signs all five artifacts by their roles.
    assert_eq!(signed, vec![true; 5]);
    assert_eq!(a(1)["answer"], "yes");
    assert_eq!(evidence(1), "2026-12: 5 of 5 artifacts drafted");
    assert_eq!(a(2)["answer"], "yes");
    // Capacity: one resource per entry of the supply run's `capacity`.
    let supply = run_json(&ws, "2026-12", "supply-review", "facts.json");
    let resources = supply["capacity"].as_array().unwrap().len();
    assert!(resources > 0);
    assert_eq!(evidence(8), format!("2026-12: {resources} resources loaded against capacity"));
    // Trade-offs: the pack's, each decided by the demo's COO.
    let recon = run_json(&ws, "2026-12", "reconciliation", "facts.json");
    let trade_offs = recon["trade_offs"].as_array().unwrap().len();
    // A decision row names a decision of the pack, or a gap of one decided otherwise.
    let decided = decided
        .iter()
        .filter(|id| recon["trade_offs"].as_array().unwrap().iter().any(|t| t["id"].as_str() == Some(id.as_str())))
        .count();
    assert_eq!(decided, trade_offs);
    assert_eq!(evidence(10), format!("2026-12: {trade_offs} of {trade_offs} trade-off(s) decided"));
    assert_eq!(a(10)["answer"], "yes");
    // The consensus's layers, from the demand run's totals.
    let demand = run_json(&ws, "2026-12", "demand-review", "facts.json");
    let t = &demand["totals"];
    assert!(
        evidence(6).starts_with(&format!(
            "2026-12: statistical {:.0} units, sales {:+.0} units",
            t["statistical_units"].as_f64().unwrap(),
            t["sales_adjustment_units"].as_f64().unwrap()
        )),
        "{}",
        evidence(6)
    );
    // The first cycle scores no earlier one.
    assert_eq!(a(11)["answer"], "unknown");
    assert!(evidence(11).contains("no `last-cycle.json`"));
    // The demo signs all five on one day, so at most one meeting is on its day: question 3 is
    // `no` whatever the date, and the cycle stays at level 2 (1, 8 and 9 are yes).
    assert_eq!(a(3)["answer"], "no");
    assert_eq!(a(9)["answer"], "yes");
    assert_eq!(v["level"]["level"], 2, "{out}");
    assert_eq!(v["level"]["name"], "meetings held");

    // Month two scores month one's promises: its demand run's `last-cycle.json`.
    let (code, out, err) = run_in(&ws, &["maturity", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v = answers(&out);
    assert_eq!(v["cycles"], serde_json::json!(["2026-12", "2027-01"]));
    let last = run_json(&ws, "2027-01", "demand-review", "last-cycle.json");
    let n = |k: &str| last[k].as_u64().unwrap();
    let o = |k: &str| last["orders"][k].as_u64().unwrap();
    let kept = v["answers"][10]["cycles"][1]["evidence"].as_str().unwrap();
    assert!(
        kept.starts_with(&format!(
            "2026-12's commitments: {} kept, {} missed ({:.0} units), {} re-negotiated",
            n("kept"),
            n("missed"),
            last["missed_units"].as_f64().unwrap(),
            n("renegotiated")
        )),
        "{kept}"
    );
    let orders = v["answers"][11]["cycles"][1]["evidence"].as_str().unwrap();
    assert!(
        orders.starts_with(&format!(
            "{} of {} order lines outside 2026-12's plan",
            o("lines_beyond_plan") + o("lines_without_plan"),
            o("order_lines")
        )),
        "{orders}"
    );

    // The text says the level and the weakest meeting.
    let (code, out, err) = run_in(&ws, &["maturity", "--cycle", "2026-12"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("level 2 of 5: meetings held"), "{out}");
    assert!(out.contains("weakest link: the "), "{out}");
    let meetings: Vec<&str> = Artifact::ALL.iter().map(|a| a.meeting()).collect();
    assert!(meetings.iter().any(|m| out.contains(&format!("weakest link: the {m} ("))), "{out}");

    // A cycle the store does not hold is the user's mistake.
    let (code, _, err) = run_in(&ws, &["maturity", "--cycle", "2030-01"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the store holds no draft of cycle 2030-01"), "{err}");
}
