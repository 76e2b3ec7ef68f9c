//! The demo end to end through the binary: it runs from nothing, a re-run writes nothing new,
//! and the generator reproduces the committed fixture byte for byte.

use crate::common::{repo, run_in};

#[test]
fn demo_runs_from_nothing_and_reruns_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = run_in(tmp.path(), &["demo", "ws", "--skus", "40", "--customers", "12"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("demand-review: run 1"), "{out}");
    assert!(out.contains("supply-review: run 2"), "{out}");
    // The demo's people sign, decide and sign again by script: all five artifacts signed.
    assert!(out.contains("reconciliation: run 3"), "{out}");
    assert!(out.contains("executive: run 4"), "{out}");
    assert!(out.contains("commit-back: run 5"), "{out}");
    assert!(out.contains("Olivia Chen signed the signed plan 2026-12 version 1 as COO"), "{out}");
    // The two bad lines the demo's ERP extract carries are quarantined, not dropped.
    assert!(out.contains("row") && out.contains("`XX-9999`: unknown sku"), "{out}");
    let ws = tmp.path().join("ws");
    let report = std::fs::read_to_string(ws.join("runs/2026-12/demand-review/run-1/report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["rows_quarantined"], 2);
    let quarantine = std::fs::read_to_string(ws.join("runs/2026-12/demand-review/run-1/quarantine.csv")).unwrap();
    assert_eq!(quarantine.lines().count(), 3, "{quarantine}");

    // It says how to open the cycle in a browser, with demo-only logins for its people.
    assert!(out.contains("review in the browser: `snop serve -w"), "{out}");
    assert!(out.contains("dana.whitfield   demo-dana.whitfield    Dana Whitfield (demand lead)"), "{out}");
    assert!(out.contains("DEMO-ONLY passwords"), "{out}");
    let (code, users, _) = run_in(&ws, &["users", "list", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&users).unwrap().as_array().unwrap().len(), 5);

    let (code, out, _) = run_in(&ws, &["run", "demand-review", "--cycle", "2026-12"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("inputs unchanged since run 1"), "{out}");
    let (code, out, _) = run_in(&ws, &["runs", "--json"]);
    assert_eq!(code, 0);
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 5, "the re-run wrote no new run");
    let (code, out, _) = run_in(&ws, &["status", "--cycle", "2026-12", "--json"]);
    assert_eq!(code, 0);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    let signed: Vec<&str> = status
        .as_array()
        .or_else(|| status["artifacts"].as_array())
        .unwrap()
        .iter()
        .filter(|a| a["state"] == "signed")
        .map(|a| a["artifact"].as_str().unwrap())
        .collect();
    assert_eq!(signed, ["demand_consensus", "supply_plan", "reconciliation_pack", "signed_plan", "commitment_log"]);
    // The demo is the fixture company: its signed plan's facts are the executive prompt's sample.
    let facts = std::fs::read_to_string(ws.join("runs/2026-12/executive/run-4/narrative-facts.json")).unwrap();
    let sample = std::fs::read_to_string(repo().join("prompts/executive/sample-facts.json")).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&facts).unwrap(),
        serde_json::from_str::<serde_json::Value>(&sample).unwrap(),
        "regenerate prompts/executive/sample-facts.json from the demo's executive narrative-facts.json"
    );

    let (code, out, err) = run_in(&ws, &["validate"]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn generator_reproduces_the_committed_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run_in(tmp.path(), &["generate", "out", "--skus", "40", "--customers", "12"]);
    assert_eq!(code, 0, "{err}");
    let fixture = repo().join("fixtures/demo/data");
    let mut compared = 0;
    for entry in walk(&fixture) {
        let rel = entry.strip_prefix(&fixture).unwrap();
        let fresh = std::fs::read(tmp.path().join("out/data").join(rel)).unwrap();
        assert!(fresh == std::fs::read(&entry).unwrap(), "`{}` differs from the committed fixture", rel.display());
        compared += 1;
    }
    assert!(compared >= 17, "only {compared} fixture files");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out.sort();
    out
}
