//! The demo end to end through the binary: it runs from nothing, a re-run writes nothing new,
//! and the generator reproduces the committed fixture byte for byte.

use crate::common::{repo, run_in};

/// The golden two-month demo: month one's five artifacts made and signed by the demo's people,
/// then the same company a month on, whose first meeting scores month one's promises.
#[test]
fn demo_runs_two_months_from_nothing_and_reruns_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = run_in(tmp.path(), &["demo", "ws", "--skus", "40", "--customers", "12"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    for line in [
        "demand-review: run 1",
        "supply-review: run 2",
        "reconciliation: run 3",
        "executive: run 4",
        // The account managers return the log with lines re-negotiated: a second commit-back.
        "commit-back: run 5",
        "commit-back: run 6",
        "month two, 2027-01",
        "demand-review: run 7",
        "supply-review: run 8",
        "Olivia Chen signed the signed plan 2026-12 version 1 as COO",
        "Leo Grant signed the customer commitment log 2026-12 version 2 as sales lead",
    ] {
        assert!(out.contains(line), "`{line}` in:\n{out}");
    }
    // The two bad lines the demo's ERP extract carries are quarantined, not dropped.
    assert!(out.contains("row") && out.contains("`XX-9999`: unknown sku"), "{out}");
    let ws = tmp.path().join("ws");
    let report = fs_err::read_to_string(ws.join("runs/2026-12/demand-review/run-1/report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["rows_quarantined"], 2);
    let quarantine = fs_err::read_to_string(ws.join("runs/2026-12/demand-review/run-1/quarantine.csv")).unwrap();
    assert_eq!(quarantine.lines().count(), 3, "{quarantine}");

    // It says how to open the cycle in a browser, with demo-only logins for its people.
    assert!(out.contains("review in the browser: `snop serve -w"), "{out}");
    assert!(out.contains("dana.whitfield   demo-dana.whitfield    Dana Whitfield (demand lead)"), "{out}");
    assert!(out.contains("ana.lopez        demo-ana.lopez         Ana Lopez (account manager)"), "{out}");
    assert!(out.contains("DEMO-ONLY passwords"), "{out}");
    let (code, users, _) = run_in(&ws, &["users", "list", "--json"]);
    assert_eq!(code, 0);
    // The five leads and executives, and the five account managers.
    assert_eq!(serde_json::from_str::<serde_json::Value>(&users).unwrap().as_array().unwrap().len(), 10);

    // Month one: all five signed. Month two: week 1's drafts, the rest not yet made.
    let states = |cycle: &str| -> Vec<(String, String)> {
        let (code, out, _) = run_in(&ws, &["status", "--cycle", cycle, "--json"]);
        assert_eq!(code, 0);
        let status: serde_json::Value = serde_json::from_str(&out).unwrap();
        status
            .as_array()
            .or_else(|| status["artifacts"].as_array())
            .unwrap()
            .iter()
            .map(|a| {
                (a["artifact"].as_str().unwrap().to_string(), a["state"].as_str().unwrap_or("missing").to_string())
            })
            .collect()
    };
    let all_signed: Vec<(String, String)> =
        ["demand_consensus", "supply_plan", "reconciliation_pack", "signed_plan", "commitment_log"]
            .iter()
            .map(|a| (a.to_string(), "signed".to_string()))
            .collect();
    assert_eq!(states("2026-12"), all_signed);
    let month_two: Vec<String> = states("2027-01").into_iter().map(|(a, s)| format!("{a} {s}")).collect();
    assert_eq!(
        month_two,
        [
            "demand_consensus draft",
            "supply_plan draft",
            "reconciliation_pack missing",
            "signed_plan missing",
            "commitment_log missing"
        ]
    );

    // Month two's first agenda line scores month one. Checked against what month one stored:
    // every line of the signed log is scored once; the re-negotiated ones are those returned;
    // every decision not carried out is overdue on 12 January (all were due 31 December).
    let draft = |id: &str| -> serde_json::Value {
        let (code, out, err) = run_in(&ws, &["drafts", "show", id, "--json"]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap()
    };
    let month_two_consensus = draft("7");
    let card = &month_two_consensus["content"]["agenda"]["scorecard"];
    assert_eq!(card["cycle"], "2026-12");
    assert_eq!(card["as_of"], "2027-01-12", "the demand review's first day");
    let scored: serde_json::Value = serde_json::from_str(
        &fs_err::read_to_string(ws.join("runs/2027-01/demand-review/run-7/last-cycle.json")).unwrap(),
    )
    .unwrap();
    let log: serde_json::Value = serde_json::from_str(
        &fs_err::read_to_string(ws.join("runs/2026-12/commit-back/run-6/commitment-log.json")).unwrap(),
    )
    .unwrap();
    let log_lines = log["lines"].as_array().unwrap();
    let n = |k: &str| scored[k].as_u64().unwrap() as usize;
    assert_eq!(n("kept") + n("missed") + n("renegotiated") + n("not_yet_due"), log_lines.len());
    assert_eq!(n("renegotiated"), log_lines.iter().filter(|l| l["status"] == "re-negotiated").count());
    assert_eq!(n("renegotiated"), log_lines.len().div_ceil(5), "every fifth line was returned re-negotiated");
    let decided = out.lines().find(|l| l.contains("decided all")).unwrap();
    let trade_offs: usize = decided.split("decided all ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let done = trade_offs - trade_offs / 3;
    let line = format!("executive decisions of 2026-12: {done} done, 0 open, {} overdue", trade_offs - done);
    assert!(
        card["lines"].as_array().unwrap().iter().any(|l| l == &serde_json::Value::from(line.clone())),
        "{line}\n{card}"
    );
    insta::assert_snapshot!("two_month_demo_scorecard", serde_json::to_string_pretty(card).unwrap());

    // Re-running month two's first meeting with unchanged extracts writes nothing.
    let (code, out, _) = run_in(&ws, &["run", "demand-review", "--cycle", "2027-01"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("inputs unchanged since run 7"), "{out}");
    let (code, out, _) = run_in(&ws, &["runs", "--json"]);
    assert_eq!(code, 0);
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 8, "the re-run wrote no new run");
    // The demo is the fixture company: its signed plan's facts are the executive prompt's sample.
    let facts = fs_err::read_to_string(ws.join("runs/2026-12/executive/run-4/narrative-facts.json")).unwrap();
    let sample = fs_err::read_to_string(repo().join("prompts/executive/sample-facts.json")).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&facts).unwrap(),
        serde_json::from_str::<serde_json::Value>(&sample).unwrap(),
        "regenerate prompts/executive/sample-facts.json from the demo's executive narrative-facts.json"
    );
    let (code, out, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run_in(&ws, &["validate"]);
    assert_eq!(code, 0, "{out}{err}");
    // A decision quietly re-dated as done by someone else is caught (behind the trigger's back).
    crate::common::raw_sql(
        &ws,
        "sqlite://snop.db",
        &["DROP TRIGGER decision_done_no_update", "UPDATE decision_done SET done_by = 'olivia.chen' WHERE id = 1"],
    );
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(err.contains("said done by `olivia.chen`") && err.contains("has no audit entry over its content"), "{err}");
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
        let fresh = fs_err::read(tmp.path().join("out/data").join(rel)).unwrap();
        assert!(fresh == fs_err::read(&entry).unwrap(), "`{}` differs from the committed fixture", rel.display());
        compared += 1;
    }
    assert!(compared >= 17, "only {compared} fixture files");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs_err::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out.sort();
    out
}
