//! The sign-off workflow through the `snop` binary: a crash between rendering and storing
//! leaves no draft and the next run completes; editing, approving and stale row versions with
//! `snop drafts`. On SQLite and PostgreSQL alike.

use std::path::Path;

use super::signed_workspace;
use crate::common::{Db, on_both_backends, run_in, set_store, snop};

fn a_crash_between_render_and_store_leaves_no_draft_and_the_next_run_completes(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    // The demo company's data and the first two reviews, drafted and not yet signed (`snop demo`
    // would sign them and run the back half).
    let store = db.fresh_store();
    let (code, out, err) = run_in(tmp.path(), &["init", "ws", "--company", snop::demo::DEMO_COMPANY]);
    assert_eq!(code, 0, "{out}{err}");
    let ws = tmp.path().join("ws");
    set_store(&ws, &store);
    let (code, out, err) = run_in(tmp.path(), &["generate", "ws", "--skus", "30", "--customers", "10"]);
    assert_eq!(code, 0, "{out}{err}");
    for agent in ["demand-review", "supply-review"] {
        let (code, out, err) = run_in(&ws, &["run", agent, "--cycle", "2026-12", "--quiet"]);
        assert_eq!(code, 0, "{out}{err}");
    }
    let drafts = |ws: &Path| -> serde_json::Value {
        let (code, out, err) = run_in(ws, &["drafts", "list", "--json"]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap()
    };
    let before = drafts(&ws);
    assert_eq!(before.as_array().unwrap().len(), 2, "the demo drafts the demand consensus and the supply plan");
    assert!(ws.join("runs/2026-12/supply-review/run-2/supply-plan-2026-12.html").exists());
    assert!(ws.join("runs/2026-12/demand-review/run-1/demand-consensus-2026-12.md").exists());

    let pos = ws.join("data/open_purchase_orders.csv");
    let mut text = fs_err::read_to_string(&pos).unwrap();
    text.push_str("RM-00001,SUP-CASTWORKS,2027-02-15,500\n");
    fs_err::write(&pos, text).unwrap();
    // Killed after rendering, before storing; then killed inside the store's transaction,
    // after the draft row was written and the files moved, before the commit.
    for point in ["pipeline.after_render", "store.after_files"] {
        let out = snop()
            .current_dir(&ws)
            .args(["run", "supply-review", "--cycle", "2026-12", "--quiet"])
            .env("SNOP_FAIL_AT", point)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{point}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(point));
        assert_eq!(drafts(&ws), before, "no half-written draft after a crash at `{point}`");
        let (code, out, _) = run_in(&ws, &["audit", "verify"]);
        assert_eq!(code, 0, "{out}");
    }
    let (code, out, err) = run_in(&ws, &["run", "supply-review", "--cycle", "2026-12", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("run 3 "), "{out}");
    let after = drafts(&ws);
    let supply: Vec<&serde_json::Value> =
        after.as_array().unwrap().iter().filter(|d| d["artifact"] == "supply_plan").collect();
    assert_eq!(supply.len(), 2);
    assert_eq!((supply[0]["version"].as_i64(), supply[0]["state"].as_str()), (Some(2), Some("draft")));
    assert_eq!((supply[0]["run_id"].as_i64(), supply[1]["state"].as_str()), (Some(3), Some("superseded")));

    // The workflow through the binary: refusals say who may; status names the broken meetings.
    let (code, _, err) = run_in(&ws, &["drafts", "sign", "1", "--as", "leo.grant", "--row-version", "1"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: only the demand lead (Dana Whitfield) may sign the demand consensus; Leo Grant is not allowed to\n"
    );
    let (code, out, err) = run_in(&ws, &["drafts", "approve", "1", "--as", "dana.whitfield", "--row-version", "1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "Dana Whitfield approved the demand consensus 2026-12 version 1\ndraft 1: version 1, approved, row version 2\n"
    );
    let (code, _, err) = run_in(&ws, &["drafts", "approve", "1", "--as", "dana.whitfield", "--row-version", "1"]);
    assert_eq!(code, 1);
    assert!(err.contains("draft 1 was changed by dana.whitfield at "), "{err}");
    let (code, _, err) = run_in(&ws, &["drafts", "sign", "1", "--as", "dana.whitfield", "--row-version", "2"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run_in(&ws, &["status", "--cycle", "2026-12"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(
            "demand consensus         draft 1    version 1   signed     signed by Dana Whitfield (demand lead) at "
        ),
        "{out}"
    );
    assert!(out.contains("supply plan              draft 3    version 2   draft      not signed"), "{out}");
    assert!(
        out.contains(
            "this cycle is incomplete: no reconciliation pack, so the pre-S&OP reconciliation meeting is broken"
        ),
        "{out}"
    );
    assert!(out.contains("no customer commitment log, so the commercial commit-back meeting is broken"), "{out}");
    let (code, out, _) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 0, "{out}");
    // The supply review builds on the signed consensus: signing it makes the next run a new
    // one, whose plan says so; a run after that is unchanged.
    let (code, out, err) = run_in(&ws, &["run", "supply-review", "--cycle", "2026-12", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("run 4 "), "{out}");
    assert!(out.contains("draft 4 (supply_plan version 3) is ready for review"), "{out}");
    let (_, out, _) = run_in(&ws, &["drafts", "show", "4", "--json"]);
    let v3: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v3["content"]["facts"]["demand_consensus"], "signed");
    assert_eq!(supply[0]["id"], 3);
    let (_, out, _) = run_in(&ws, &["drafts", "show", "3", "--json"]);
    let v2: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v2["content"]["facts"]["demand_consensus"], "draft, not signed");
    let (code, out, _) = run_in(&ws, &["run", "supply-review", "--cycle", "2026-12", "--quiet"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("inputs unchanged since run 4"), "{out}");
    // The signed draft covers the run's workbook: changing it is caught.
    let xlsx = ws.join("runs/2026-12/demand-review/run-1/demand-consensus-2026-12.xlsx");
    let mut bytes = fs_err::read(&xlsx).unwrap();
    bytes.push(0);
    fs_err::write(&xlsx, bytes).unwrap();
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(err.contains("demand-consensus-2026-12.xlsx` was changed after it was signed"), "{err}");
}

fn the_review_workflow_through_the_binary(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, _) = signed_workspace(tmp.path(), db);
    // The supply plan (draft 2) is approved; its owner edits the narrative from a file.
    let (code, text, _) = run_in(&ws, &["drafts", "show", "2", "--narrative"]);
    assert_eq!(code, 0);
    assert_eq!(text, "# supply\n\nDemand is flat at 120 units.\n\n## Risks\n- Pumps may slip.\n- Budget gap.\n");
    let edited = text.replace("# supply", "# Supply <b>holds</b>").replace("- Budget gap.\n", "");
    fs_err::write(ws.join("n.txt"), edited).unwrap();
    let (code, _, err) =
        run_in(&ws, &["drafts", "edit", "2", "--as", "leo.grant", "--row-version", "2", "--file", "n.txt"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("error: only the supply lead (Sam Okafor) may edit the supply plan"), "{err}");
    let (code, out, err) =
        run_in(&ws, &["drafts", "edit", "2", "--as", "sam.okafor", "--row-version", "2", "--file", "n.txt", "--json"]);
    assert_eq!(code, 0, "{err}");
    let acted: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((acted["draft"]["state"].as_str(), acted["draft"]["row_version"].as_i64()), (Some("draft"), Some(3)));
    assert_eq!(
        acted["message"],
        "Sam Okafor edited the supply plan 2026-12 version 1; it is a draft again and needs approval"
    );

    let (code, out, _) = run_in(&ws, &["drafts", "show", "2"]);
    assert_eq!(code, 0);
    assert!(out.contains("  row version     3 (pass `--row-version 3` to act on it)\n"), "{out}");
    assert!(out.contains("-# supply\n+# Supply <b>holds</b>\n"), "the diff against the model's narrative: {out}");
    assert!(out.contains("-- Budget gap.\n"), "{out}");
    assert!(out.contains("comment by Fiona Reyes at "), "{out}");
    assert!(out.contains("approved by Sam Okafor (supply lead) at "), "{out}");
    let (code, out, _) = run_in(&ws, &["drafts", "show", "2", "--json"]);
    assert_eq!(code, 0);
    let detail: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(detail["content"]["model_narrative"]["headline"], "supply");
    assert_eq!(detail["content"]["narrative"]["headline"], "Supply <b>holds</b>");
    assert_eq!(detail["edits"].as_array().unwrap().len(), 1);
    let (code, html, _) = run_in(&ws, &["drafts", "show", "2", "--html"]);
    assert_eq!(code, 0);
    assert!(
        html.contains("Supply &lt;b&gt;holds&lt;&#x2F;b&gt;") || html.contains("Supply &lt;b&gt;holds&lt;/b&gt;"),
        "{html}"
    );
    assert!(!html.contains("<b>holds"));

    // A stale row version is refused and changes nothing.
    let (code, _, err) = run_in(&ws, &["drafts", "approve", "2", "--as", "sam.okafor", "--row-version", "2"]);
    assert_eq!(code, 1);
    assert!(err.contains("since you read it (row version 2, now 3): nothing was changed"), "{err}");
    let (code, out, _) = run_in(&ws, &["drafts", "list", "--json"]);
    assert_eq!(code, 0);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = list.as_array().unwrap().iter().find(|d| d["id"] == 2).unwrap();
    assert_eq!((row["state"].as_str(), row["row_version"].as_i64()), (Some("draft"), Some(3)));
    let (code, out, _) = run_in(&ws, &["status", "--cycle", "2026-12", "--json"]);
    assert_eq!(code, 0);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status[0]["signatures"][0]["actor"], "dana.whitfield");
    assert_eq!(status[1]["state"], "draft");
    assert_eq!(status[2]["exists"], false);
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 0, "{err}");
}

on_both_backends!(
    a_crash_between_render_and_store_leaves_no_draft_and_the_next_run_completes,
    the_review_workflow_through_the_binary,
);
