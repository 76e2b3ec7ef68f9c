//! Sign-off: the transition table exhaustively (every artifact x state x action x role), the
//! workflow on a real store, SQLite and PostgreSQL alike (versions, supersession, the reconciliation pack's two
//! signatures), two approvals at once through two real connections, tampering caught by
//! `snop audit verify`, a crash between rendering and storing, and the rendered pages.
//!
//! This file holds what the tests share (the people, recording a run with a draft, a signed
//! workspace); the tests are in `table` (the transition table), `workflow` (on a real store,
//! and the rendered pages), `audit` (`snop audit verify` and per-person keys) and `binary` (the
//! workflow through the `snop` binary, a crash between rendering and storing).

mod audit;
mod binary;
mod table;
mod tamper;
mod workflow;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use snop::draft::Request;
use snop::narrative::Narrative;
use snop::sop::{Artifact, Directory};
use snop::store::SignoffError;
use snop::store::{NewRun, RunRow, Store};

use crate::common::{Db, block_on, run_in, set_store};

const CYCLE: &str = "2026-12";

/// The people of the demo workspace, plus a CEO and a person without a role.
fn directory() -> Directory {
    let mut d = Directory::default();
    for (role, id, name) in [
        ("demand_lead", "dana.whitfield", "Dana Whitfield"),
        ("supply_lead", "sam.okafor", "Sam Okafor"),
        ("finance_lead", "fiona.reyes", "Fiona Reyes"),
        ("sales_lead", "leo.grant", "Leo Grant"),
        ("coo", "olivia.chen", "Olivia Chen"),
        ("ceo", "carl.berg", "Carl Berg"),
    ] {
        d.roles.insert(role.into(), vec![id.into()]);
        d.names.insert(id.into(), name.into());
    }
    d.names.insert("nora.plain".into(), "Nora Plain".into());
    d
}

// ---------------------------------------------------------------------------------------------
// On a real store

fn narrative(headline: &str) -> Narrative {
    Narrative {
        headline: headline.into(),
        paragraphs: vec!["Demand is flat at 120 units.".into()],
        risks: vec!["Pumps may slip.".into(), "Budget gap.".into()],
    }
}

fn content(artifact: Artifact, cycle: &str, headline: &str) -> String {
    let facts = serde_json::json!({"cycle": cycle, "families": [{"family": "pumps", "final_units": 120.0}]});
    crate::common::draft_content(artifact, cycle, narrative(headline), facts, BTreeMap::new())
}

static RUNS: AtomicU64 = AtomicU64::new(0);

/// Records a run of the artifact's agent with a draft, as the pipeline does.
pub(crate) async fn record(store: &Store, artifact: Artifact, cycle: &str, headline: &str) -> RunRow {
    let n = RUNS.fetch_add(1, Ordering::SeqCst);
    store
        .record_run(NewRun {
            agent: artifact.agent().name(),
            cycle,
            started_at: &format!("2026-11-28T00-00-{n:04}Z"),
            duration_ms: 1,
            outcome: "succeeded",
            inputs_sha256: &format!("inputs-{n}"),
            rows_read: 0,
            rows_quarantined: 0,
            rows_kept: 0,
            report_json: "{}",
            inputs: vec![],
            files: vec![],
            draft: Some(content(artifact, cycle, headline)),
        })
        .await
        .unwrap()
}

async fn open(dir: &Path, store: &str) -> Store {
    Store::open(dir, store).await.unwrap()
}

fn refused(r: Result<snop::store::signoff::Acted, SignoffError>) -> String {
    match r {
        Err(e @ (SignoffError::Refused(_) | SignoffError::Invalid(_) | SignoffError::Stale(_))) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A workspace (from `snop init`) whose store holds a signed demand consensus and an approved
/// supply plan; returns the workspace folder.
fn signed_workspace(tmp: &Path, db: Db) -> (std::path::PathBuf, String) {
    let (code, _, err) = run_in(tmp, &["init", "ws"]);
    assert_eq!(code, 0, "{err}");
    let ws = tmp.join("ws");
    let store_url = db.fresh_store();
    set_store(&ws, &store_url);
    // The data files the pipelines name (a workspace must be valid to open), no runs.
    let (code, _, err) = run_in(tmp, &["generate", "ws", "--skus", "30", "--customers", "10"]);
    assert_eq!(code, 0, "{err}");
    let dir = directory();
    block_on(async {
        let store = open(&ws, &store_url).await;
        let run = record(&store, Artifact::DemandConsensus, CYCLE, "demand").await;
        let id = store.draft_of_run(run.id).await.unwrap().unwrap().id;
        store.act(&dir, id, "dana.whitfield", Request::Approve, Some(1)).await.unwrap();
        store.act(&dir, id, "dana.whitfield", Request::Sign, Some(2)).await.unwrap();
        let run = record(&store, Artifact::SupplyPlan, CYCLE, "supply").await;
        let id = store.draft_of_run(run.id).await.unwrap().unwrap().id;
        store.act(&dir, id, "fiona.reyes", Request::Comment { body: "check labour".into() }, None).await.unwrap();
        store.act(&dir, id, "sam.okafor", Request::Approve, Some(1)).await.unwrap();
    });
    let (code, out, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(out, "the audit log is intact: 8 entries chained, 1 signed draft(s) match what was signed\n");
    assert_eq!(ws.join("snop.db").exists(), db == Db::Sqlite, "the binary used the store the test chose");
    (ws, store_url)
}
