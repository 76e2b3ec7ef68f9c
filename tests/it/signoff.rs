//! Sign-off: the transition table exhaustively (every artifact x state x action x role), the
//! workflow on a real store, SQLite and PostgreSQL alike (versions, supersession, the reconciliation pack's two
//! signatures), two approvals at once through two real connections, tampering caught by
//! `snop audit verify`, a crash between rendering and storing, and the rendered pages.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use snop::artifacts::review;
use snop::draft::{Action, Effect, Request, Situation, State, Verdict, verdict};
use snop::narrative::Narrative;
use snop::sop::{Artifact, Directory};
use snop::store::SignoffError;
use snop::store::{Backend, NewRun, RunRow, Store};

use crate::common::{Db, block_on, connect, on_both_backends, raw_sql, run_in, set_store, snop};

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

/// The person holding a role in [`directory`] (`None`: the person without a role).
fn holder(role: Option<&str>) -> &'static str {
    match role {
        Some("demand_lead") => "dana.whitfield",
        Some("supply_lead") => "sam.okafor",
        Some("finance_lead") => "fiona.reyes",
        Some("sales_lead") => "leo.grant",
        Some("coo") => "olivia.chen",
        Some("ceo") => "carl.berg",
        _ => "nora.plain",
    }
}

/// The specification, written out independently of `verdict`: who owns and signs what, and
/// what each action does in each state. `Err` holds a phrase the refusal must contain.
fn expected(artifact: Artifact, state: State, action: Action, role: Option<&str>) -> Result<Effect, String> {
    let (owners, signers): (&[&str], &[&str]) = match artifact {
        Artifact::DemandConsensus => (&["demand_lead"], &["demand_lead"]),
        Artifact::SupplyPlan => (&["supply_lead"], &["supply_lead"]),
        Artifact::ReconciliationPack => (&["demand_lead", "supply_lead"], &["demand_lead", "supply_lead"]),
        Artifact::SignedPlan => (&["coo", "ceo"], &["coo", "ceo"]),
        Artifact::CommitmentLog => (&["sales_lead"], &["sales_lead"]),
    };
    let held = |roles: &[&str]| role.is_some_and(|r| roles.contains(&r));
    let verb = match action {
        Action::Edit => "edit",
        Action::Approve => "approve",
        Action::Reject => "reject",
        Action::Sign => "sign",
        Action::Comment => return Ok(Effect::Commented),
    };
    let allowed = if action == Action::Sign { held(signers) } else { held(owners) };
    if !allowed {
        return Err(format!("may {verb} the {}", artifact.title()));
    }
    use State::*;
    match (state, action) {
        (Superseded, _) => Err("is superseded".into()),
        (Draft | Approved | Rejected, Action::Edit) => Ok(Effect::Becomes(Draft)),
        (Signed, Action::Edit) => Ok(Effect::NewVersion),
        (Draft, Action::Approve) => Ok(Effect::Becomes(Approved)),
        (Approved, Action::Approve) => Err("already approved".into()),
        (Rejected, Action::Approve) => Err("was rejected".into()),
        (Signed, Action::Approve | Action::Reject) => Err("is signed and never changes".into()),
        (Draft | Approved, Action::Reject) => Ok(Effect::Becomes(Rejected)),
        (Rejected, Action::Reject) => Err("already rejected".into()),
        (Draft | Rejected, Action::Sign) => Err("not approved".into()),
        (Signed, Action::Sign) => Err("already signed".into()),
        (Approved, Action::Sign) => {
            Ok(Effect::Signed { role: role.unwrap().to_string(), completes: artifact != Artifact::ReconciliationPack })
        }
        (_, Action::Comment) => unreachable!(),
    }
}

#[test]
fn the_transition_table_every_artifact_state_action_and_role() {
    let dir = directory();
    let roles: Vec<Option<&str>> = snop::sop::ROLES.iter().map(|r| Some(*r)).chain([None]).collect();
    let mut checked = 0;
    for artifact in Artifact::ALL {
        for state in State::ALL {
            for action in Action::ALL {
                for role in &roles {
                    let s = Situation {
                        artifact,
                        cycle: CYCLE,
                        version: 1,
                        state,
                        newer_version: (state == State::Superseded).then_some(2),
                        signed_roles: Vec::new(),
                    };
                    let got = verdict(&dir, holder(*role), action, &s);
                    let case = format!("{artifact} / {state} / {action:?} / {role:?}");
                    match (expected(artifact, state, action, *role), got) {
                        (Ok(effect), Ok(Verdict { effect: got, .. })) => assert_eq!(got, effect, "{case}"),
                        (Err(phrase), Err(message)) => {
                            assert!(message.contains(&phrase), "{case}: `{message}` should say `{phrase}`")
                        }
                        (want, got) => panic!("{case}: expected {want:?}, got {got:?}"),
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 5 * 5 * 5 * 7);
}

#[test]
fn refusals_say_who_may() {
    let dir = directory();
    let s = |artifact, state| Situation {
        artifact,
        cycle: CYCLE,
        version: 1,
        state,
        newer_version: None,
        signed_roles: vec![],
    };
    let err = verdict(&dir, "leo.grant", Action::Sign, &s(Artifact::DemandConsensus, State::Approved)).unwrap_err();
    assert!(err.starts_with("only the demand lead (Dana Whitfield) may sign the demand consensus"), "{err}");
    let err =
        verdict(&dir, "fiona.reyes", Action::Sign, &s(Artifact::ReconciliationPack, State::Approved)).unwrap_err();
    assert!(
        err.starts_with(
            "only the demand lead (Dana Whitfield) and the supply lead (Sam Okafor), both of them, may sign"
        ),
        "{err}"
    );
    let err = verdict(&dir, "dana.whitfield", Action::Sign, &s(Artifact::SignedPlan, State::Approved)).unwrap_err();
    assert!(err.starts_with("only the COO (Olivia Chen) or the CEO (Carl Berg) may sign the signed plan"), "{err}");
    let err = verdict(&dir, "mallory", Action::Comment, &s(Artifact::SupplyPlan, State::Draft)).unwrap_err();
    assert!(err.contains("`mallory` is not a person in `snop.toml`"), "{err}");
    // The reconciliation pack: the second signer completes it; nobody signs twice.
    let mut half = s(Artifact::ReconciliationPack, State::Approved);
    half.signed_roles = vec!["demand_lead".into()];
    let d = verdict(&dir, "sam.okafor", Action::Sign, &half).unwrap();
    assert_eq!(d.effect, Effect::Signed { role: "supply_lead".into(), completes: true });
    let err = verdict(&dir, "dana.whitfield", Action::Sign, &half).unwrap_err();
    assert!(err.contains("already signed by Dana Whitfield"), "{err}");
    // A signed version with a newer version is edited through the newer one.
    let mut old = s(Artifact::DemandConsensus, State::Signed);
    old.newer_version = Some(3);
    let err = verdict(&dir, "dana.whitfield", Action::Edit, &old).unwrap_err();
    assert!(err.contains("already has a newer version 3"), "{err}");
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
        Err(e @ (SignoffError::Refused(_) | SignoffError::Stale(_))) => e.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn versions_supersession_and_signed_drafts_that_never_change(db: Db) {
    let store_url = db.fresh_store();
    let tmp = tempfile::tempdir().unwrap();
    let dir = directory();
    block_on(async {
        let store = open(tmp.path(), &store_url).await;
        let expected = if db == Db::Sqlite { Backend::Sqlite } else { Backend::Postgres };
        assert_eq!(store.backend(), expected);
        let run = record(&store, Artifact::DemandConsensus, CYCLE, "first").await;
        let v1 = store.draft_of_run(run.id).await.unwrap().expect("the run made a draft");
        assert_eq!((v1.version, v1.state, v1.row_version), (1, State::Draft, 1));

        let a = store.act(&dir, v1.id, "dana.whitfield", Request::Approve, Some(1)).await.unwrap();
        assert_eq!((a.draft.state, a.draft.row_version), (State::Approved, 2));
        let s = store.act(&dir, v1.id, "dana.whitfield", Request::Sign, Some(2)).await.unwrap();
        assert_eq!(s.draft.state, State::Signed);
        let signed = store.draft(v1.id).await.unwrap().unwrap();
        assert_eq!(signed.signatures.len(), 1);
        assert_eq!(signed.signatures[0].content_sha256, signed.row.content_sha256);

        // Editing the signed version makes version 2; version 1 stays as it was signed.
        let e = store
            .act(&dir, v1.id, "dana.whitfield", Request::Edit { narrative: narrative("edited") }, Some(3))
            .await
            .unwrap();
        assert_eq!((e.draft.version, e.draft.parent_version, e.draft.state), (2, Some(1), State::Draft));
        let again = store.draft(v1.id).await.unwrap().unwrap();
        assert_eq!(again.row.row_version, 3);
        assert_eq!(again.row.content_sha256, signed.row.content_sha256);
        assert_eq!(again.content.narrative.headline, "first");
        let v2 = store.draft(e.draft.id).await.unwrap().unwrap();
        assert_eq!(v2.content.narrative.headline, "edited");
        assert_eq!(v2.content.model_narrative.headline, "first", "the model's narrative is kept");
        assert!(v2.edits[0].diff_vs_model.contains("-# first\n+# edited"), "{}", v2.edits[0].diff_vs_model);
        let err = refused(store.act(&dir, v1.id, "dana.whitfield", Request::Sign, Some(3)).await);
        assert!(err.contains("already signed"), "{err}");
        let err = refused(store.act(&dir, v2.row.id, "dana.whitfield", Request::Sign, Some(1)).await);
        assert!(err.contains("not approved"), "{err}");

        // A re-run supersedes the unsigned version 2; the signed version 1 is not touched.
        let run3 = record(&store, Artifact::DemandConsensus, CYCLE, "rerun").await;
        let v3 = store.draft_of_run(run3.id).await.unwrap().unwrap();
        assert_eq!((v3.version, v3.parent_version), (3, Some(2)));
        let v2 = store.draft(v2.row.id).await.unwrap().unwrap();
        assert_eq!(v2.row.state, State::Superseded);
        assert_eq!(store.draft(v1.id).await.unwrap().unwrap().row.state, State::Signed);
        let err =
            refused(store.act(&dir, v2.row.id, "dana.whitfield", Request::Approve, Some(v2.row.row_version)).await);
        assert!(err.contains("superseded by version 3"), "{err}");

        // The database itself refuses to change a signed draft.
        let pool = connect(tmp.path(), &store_url).await;
        let err =
            sqlx::query("UPDATE drafts SET content = 'x' WHERE id = $1").bind(v1.id).execute(&pool).await.unwrap_err();
        assert!(err.to_string().contains("a signed draft never changes"), "{err}");
        let err = sqlx::query("DELETE FROM audit_log").execute(&pool).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");

        // Rejected, then edited back to a draft, then approved.
        let r = store
            .act(&dir, v3.id, "dana.whitfield", Request::Reject { reason: "numbers off".into() }, Some(1))
            .await
            .unwrap();
        assert_eq!(r.draft.state, State::Rejected);
        let err = refused(store.act(&dir, v3.id, "dana.whitfield", Request::Approve, Some(2)).await);
        assert!(err.contains("was rejected"), "{err}");
        let e =
            store.act(&dir, v3.id, "dana.whitfield", Request::Edit { narrative: narrative("fixed") }, Some(2)).await;
        assert_eq!(e.unwrap().draft.state, State::Draft);
        assert_eq!(
            store.act(&dir, v3.id, "dana.whitfield", Request::Approve, Some(3)).await.unwrap().draft.state,
            State::Approved
        );
        assert!(store.verify_audit().await.unwrap().first_problem.is_none());
    });
}

fn the_reconciliation_pack_needs_both_signatures(db: Db) {
    let store_url = db.fresh_store();
    let tmp = tempfile::tempdir().unwrap();
    let dir = directory();
    block_on(async {
        let store = open(tmp.path(), &store_url).await;
        let run = record(&store, Artifact::ReconciliationPack, CYCLE, "pack").await;
        let id = store.draft_of_run(run.id).await.unwrap().unwrap().id;
        store.act(&dir, id, "sam.okafor", Request::Approve, Some(1)).await.unwrap();
        let first = store.act(&dir, id, "dana.whitfield", Request::Sign, Some(2)).await.unwrap();
        assert_eq!(first.draft.state, State::Approved, "one signature of two");
        assert!(
            first.message.contains("still needs the signature of the supply lead (Sam Okafor)"),
            "{}",
            first.message
        );
        let err = refused(store.act(&dir, id, "dana.whitfield", Request::Sign, Some(3)).await);
        assert!(err.contains("already signed by Dana Whitfield"), "{err}");
        // An edit between the two signatures voids the first: both sign the new content.
        let e = store.act(&dir, id, "sam.okafor", Request::Edit { narrative: narrative("pack, revised") }, Some(3));
        assert_eq!(e.await.unwrap().draft.state, State::Draft);
        store.act(&dir, id, "sam.okafor", Request::Approve, Some(4)).await.unwrap();
        let err = refused(store.act(&dir, id, "sam.okafor", Request::Sign, Some(4)).await);
        assert!(err.contains("changed by sam.okafor"), "{err}");
        let again = store.act(&dir, id, "dana.whitfield", Request::Sign, Some(5)).await.unwrap();
        assert_eq!(again.draft.state, State::Approved, "the first signature was over the old content");
        let second = store.act(&dir, id, "sam.okafor", Request::Sign, Some(6)).await.unwrap();
        assert_eq!(second.draft.state, State::Signed);
        let signed = store.draft(id).await.unwrap().unwrap();
        assert_eq!(signed.signatures.len(), 3, "one over the first content, two over the signed one");
        assert!(signed.signatures[1..].iter().all(|s| s.content_sha256 == signed.row.content_sha256));
        assert!(store.verify_audit().await.unwrap().first_problem.is_none());
        let status = store.status(CYCLE).await.unwrap();
        let line = status.iter().find(|l| l.artifact == "reconciliation_pack").unwrap();
        assert_eq!((line.state, line.signatures.len()), (Some(State::Signed), 3));
        assert!(!status.iter().find(|l| l.artifact == "signed_plan").unwrap().exists);
    });
}

/// Decisions and their `done` are append-only on both backends: their mark (what `snop serve`
/// keys its copy of a cycle's decisions by) moves with each, and not with reading.
fn decisions_and_done_move_the_cycles_mark(db: Db) {
    use snop::analysis::executive::Choice;
    use snop::store::decisions::NewDecision;
    let store_url = db.fresh_store();
    let tmp = tempfile::tempdir().unwrap();
    let dir = directory();
    block_on(async {
        let store = open(tmp.path(), &store_url).await;
        let empty = store.decisions_mark(CYCLE).await.unwrap();
        let decision = |tradeoff: &str, cycle: &str| NewDecision {
            cycle: cycle.into(),
            tradeoff_id: Some(tradeoff.into()),
            choice: Choice::Option { option: "overtime".into() },
            owner: Some("sam.okafor".into()),
            due: Some("2027-01-15".into()),
            note: None,
        };
        store.record_decision(&dir, "olivia.chen", &decision("CAP-1", CYCLE)).await.unwrap();
        let decided = store.decisions_mark(CYCLE).await.unwrap();
        assert_ne!(decided, empty);
        assert_eq!(store.decisions_mark(CYCLE).await.unwrap(), decided, "reading changes nothing");
        // Another cycle's decision moves it too (a key: moving too often is safe, too rarely not).
        store.record_decision(&dir, "olivia.chen", &decision("CAP-1", "2027-01")).await.unwrap();
        let moved = store.decisions_mark(CYCLE).await.unwrap();
        assert_ne!(moved, decided);
        let decided = moved;
        store.record_done(&dir, "sam.okafor", CYCLE, "CAP-1", Some("overtime booked")).await.unwrap();
        let done = store.decisions_mark(CYCLE).await.unwrap();
        assert_ne!(done, decided);
        assert_eq!(store.decisions_done(CYCLE).await.unwrap().len(), 1);
        assert_eq!(store.decisions_mark(CYCLE).await.unwrap(), done, "reading changes nothing");
    });
}

fn two_approvals_at_once_through_two_connections_the_second_is_refused(db: Db) {
    let store_url = db.fresh_store();
    let tmp = tempfile::tempdir().unwrap();
    let dir = directory();
    block_on(async {
        let setup = open(tmp.path(), &store_url).await;
        let run = record(&setup, Artifact::SignedPlan, CYCLE, "plan").await;
        let id = setup.draft_of_run(run.id).await.unwrap().unwrap().id;
        // Two people, two processes' worth of connections, the same row version read.
        let (olivia, carl) = (open(tmp.path(), &store_url).await, open(tmp.path(), &store_url).await);
        let read = olivia.draft(id).await.unwrap().unwrap().row.row_version;
        assert_eq!(read, carl.draft(id).await.unwrap().unwrap().row.row_version);
        let (a, b) = tokio::join!(
            olivia.act(&dir, id, "olivia.chen", Request::Approve, Some(read)),
            carl.act(&dir, id, "carl.berg", Request::Approve, Some(read)),
        );
        let (won, lost) = match (a, b) {
            (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
            other => panic!("exactly one approval must win: {other:?}"),
        };
        assert!(matches!(lost, SignoffError::Stale(_)), "{lost:?}");
        assert!(lost.to_string().contains("since you read it (row version 1, now 2)"), "{lost}");
        assert_eq!(won.draft.row_version, 2);
        let d = setup.draft(id).await.unwrap().unwrap();
        assert_eq!(d.approvals.len(), 1, "one approval stored, not two");

        // Two edits at once: one lands, the other is refused, nothing is lost silently.
        let (a, b) = tokio::join!(
            olivia.act(&dir, id, "olivia.chen", Request::Edit { narrative: narrative("olivia's") }, Some(2)),
            carl.act(&dir, id, "carl.berg", Request::Edit { narrative: narrative("carl's") }, Some(2)),
        );
        let winner = match (&a, &b) {
            (Ok(_), Err(SignoffError::Stale(_))) => "olivia's",
            (Err(SignoffError::Stale(_)), Ok(_)) => "carl's",
            other => panic!("exactly one edit must win: {other:?}"),
        };
        let d = setup.draft(id).await.unwrap().unwrap();
        assert_eq!(d.content.narrative.headline, winner);
        assert_eq!(d.edits.len(), 1);
        assert!(setup.verify_audit().await.unwrap().first_problem.is_none());
    });
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
    assert_eq!(out, "the audit log is intact: 6 entries chained, 1 signed draft(s) match what was signed\n");
    assert_eq!(ws.join("snop.db").exists(), db == Db::Sqlite, "the binary used the store the test chose");
    (ws, store_url)
}

fn audit_verify_catches_a_changed_signed_artifact(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    raw_sql(
        &ws,
        &store,
        &[
            &db.drop_trigger("drafts_signed_frozen", "drafts"),
            "UPDATE drafts SET content = replace(content, '120 units', '150 units') WHERE id = 1",
        ],
    );
    let (code, out, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "error: the audit does not verify: draft 1 (demand_consensus 2026-12 version 1): its content no longer matches its stored hash: the signed content was changed\n"
    );
    // A forger who also rewrites the stored hash is caught by the signature's hash.
    raw_sql(&ws, &store, &["UPDATE drafts SET content_sha256 = 'f00d' WHERE id = 1"]);
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(err.contains("draft 1 (demand_consensus 2026-12 version 1): its content no longer matches"), "{err}");
}

fn audit_verify_catches_a_rehashed_signed_artifact(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    // Content and its stored hash changed together: the signature still names the old hash.
    let content: String = block_on(async {
        let pool = connect(&ws, &store).await;
        sqlx::query_scalar("SELECT content FROM drafts WHERE id = 1").fetch_one(&pool).await.unwrap()
    });
    let forged = content.replace("120 units", "150 units");
    let sha = snop::draft::sha256_hex(forged.as_bytes());
    let sql =
        format!("UPDATE drafts SET content = '{}', content_sha256 = '{sha}' WHERE id = 1", forged.replace('\'', "''"));
    raw_sql(&ws, &store, &[&db.drop_trigger("drafts_signed_frozen", "drafts"), &sql]);
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(err.contains("draft 1 (demand_consensus 2026-12 version 1): it does not match the hash"), "{err}");
    assert!(err.contains("signed by `dana.whitfield`"), "{err}");
}

fn audit_verify_catches_a_changed_audit_row(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    raw_sql(
        &ws,
        &store,
        &[
            &db.drop_trigger("audit_log_no_update", "audit_log"),
            "UPDATE audit_log SET actor = 'sam.okafor' WHERE seq = 3",
        ],
    );
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: the audit does not verify: audit entry 3 (`sign` of `draft:1` by `sam.okafor` at "),
        "{err}"
    );
    assert!(err.ends_with("its hash does not match its fields: the entry was changed\n"), "{err}");
}

fn audit_verify_catches_a_swapped_chain_order(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    // Entries 2 and 3 trade places (each keeps its own fields and hashes).
    raw_sql(
        &ws,
        &store,
        &[
            &db.drop_trigger("audit_log_no_update", "audit_log"),
            "UPDATE audit_log SET seq = -2 WHERE seq = 2",
            "UPDATE audit_log SET seq = 2 WHERE seq = 3",
            "UPDATE audit_log SET seq = 3 WHERE seq = -2",
        ],
    );
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("error: the audit does not verify: audit entry 2 (`sign` of `draft:1`"), "{err}");
    assert!(err.contains("it does not follow entry 1: the chain is broken or reordered"), "{err}");
}

fn audit_verify_catches_a_removed_audit_row(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    // The last entry (the approval of the supply plan): the chain alone cannot see a cut end.
    raw_sql(
        &ws,
        &store,
        &[&db.drop_trigger("audit_log_no_delete", "audit_log"), "DELETE FROM audit_log WHERE seq = 6"],
    );
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(err.contains("the approval of draft 2 by `sam.okafor` at "), "{err}");
    assert!(err.contains("has no audit entry: the log was cut or an entry removed"), "{err}");
    // One in the middle.
    raw_sql(&ws, &store, &["DELETE FROM audit_log WHERE seq = 2"]);
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(err.contains("audit entry 3 (`sign` of `draft:1`"), "{err}");
    assert!(err.contains("expected entry 2 here: an entry is missing"), "{err}");
}

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

fn pages_escape_model_text_and_carry_the_agenda(db: Db) {
    let store_url = db.fresh_store();
    let tmp = tempfile::tempdir().unwrap();
    let dir = directory();
    block_on(async {
        let store = open(tmp.path(), &store_url).await;
        let hostile = "<script>alert('x')</script> | & done";
        let run = record(&store, Artifact::DemandConsensus, "2026-11", hostile).await;
        let id = store.draft_of_run(run.id).await.unwrap().unwrap().id;
        let d = store.draft(id).await.unwrap().unwrap();
        let standing = review::Standing {
            version: 1,
            state: "draft".into(),
            content_sha256: d.row.content_sha256.clone(),
            signed_line: None,
        };
        let html = review::html(&d.content, &standing).unwrap();
        assert!(!html.contains("<script>"), "model text is escaped");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("<svg"), "a chart of the families");
        assert!(html.contains("@media print"));
        assert!(html.contains("No earlier cycle"));
        let md = review::markdown(&d.content, &standing).unwrap();
        assert!(!md.contains("<script>"));
        assert!(md.contains("**&lt;script&gt;alert('x')&lt;/script&gt; \\| &amp; done**"), "{md}");
        assert!(md.contains("No earlier cycle"));

        // Next cycle's agenda reads last cycle's signed version.
        store.act(&dir, id, "dana.whitfield", Request::Approve, Some(1)).await.unwrap();
        store.act(&dir, id, "dana.whitfield", Request::Sign, Some(2)).await.unwrap();
        let last = store.latest_signed(Artifact::DemandConsensus, "2026-11").await.unwrap();
        // The cycle's dates as the calendar would give them (built by hand here).
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        let dates = snop::calendar::Cycle {
            month: "2026-12".parse().unwrap(),
            meetings: Artifact::ALL
                .into_iter()
                .zip([(7, 9), (10, 11), (14, 16), (17, 17), (18, 18)])
                .map(|(artifact, (f, l))| snop::calendar::Meeting {
                    artifact,
                    first: day(f),
                    last: day(l),
                    moved_from: None,
                })
                .collect(),
        };
        let n = narrative("December");
        let facts = serde_json::json!({"top_gaps": [{"id": "CAP-1", "recommended": [{"kind": "overtime"}]}]});
        let agenda = review::agenda(Artifact::DemandConsensus, &dates, &dir, &n, &facts, last.as_ref());
        let lc = agenda.last_cycle.as_ref().expect("last cycle");
        assert_eq!((lc.cycle.as_str(), lc.version, lc.signed_by.as_str()), ("2026-11", 1, "Dana Whitfield"));
        assert_eq!((agenda.first_day.as_str(), agenda.last_day.as_str()), ("2026-12-07", "2026-12-09"));
        assert_eq!(agenda.top_risks, vec!["Pumps may slip.".to_string(), "Budget gap.".to_string()]);
        assert_eq!(agenda.decisions.len(), 1);
        assert_eq!(agenda.decisions[0].owner, "the supply lead (Sam Okafor)");
        assert_eq!(agenda.decisions[0].due, "2026-12-10", "the supply review starts on cycle day 4");
        assert!(agenda.decisions[0].decision.contains("`CAP-1` (recommended: overtime)"));
    });
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

/// Per-person keys: once Sam's public key is in `snop.toml`, he signs only with his private key;
/// the signature carries an ed25519 signature that `snop audit verify` checks against the file,
/// so even a database administrator who rewrites the signed content, the signature row and the
/// whole audit chain consistently (which the chain alone cannot see) is caught.
fn signing_with_a_key_is_checked_without_trusting_the_database(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    let (code, out, err) = run_in(&ws, &["keys", "generate", "--as", "sam.okafor", "--out", "sam.key"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("wrote the private key of Sam Okafor to `sam.key`"), "{out}");
    let line = out.lines().find(|l| l.starts_with("public_key = \"ed25519:")).expect("the public key line");
    let (code, _, err) = run_in(&ws, &["keys", "generate", "--as", "sam.okafor", "--out", "sam.key"]);
    assert_eq!(code, 1);
    assert!(err.contains("`sam.key` already exists: snop never replaces a key"), "{err}");
    let (code, _, _) = run_in(&ws, &["keys", "generate", "--as", "dana.whitfield", "--out", "dana.key"]);
    assert_eq!(code, 0);
    let (code, _, err) =
        run_in(&ws, &["drafts", "sign", "2", "--as", "sam.okafor", "--row-version", "2", "--key", "sam.key"]);
    assert_eq!(code, 1, "no public key registered yet");
    assert!(err.contains("Sam Okafor has no public key in `snop.toml`"), "{err}");
    let toml = ws.join("snop.toml");
    let text = fs_err::read_to_string(&toml).unwrap();
    let header = "[people.\"sam.okafor\"]\n";
    assert!(text.contains(header), "{text}");
    fs_err::write(&toml, text.replace(header, "[people.\"sam.okafor\"]\npublic_key = \"ed25519:00\"\n")).unwrap();
    let (code, _, err) = run_in(&ws, &["validate"]);
    assert_eq!(code, 1);
    assert!(err.contains("key `people.sam.okafor.public_key`: `ed25519:00` is not a public key"), "{err}");
    fs_err::write(&toml, text.replace(header, &format!("{header}{line}\n"))).unwrap();

    let sign = |extra: &[&str]| {
        run_in(&ws, &[&["drafts", "sign", "2", "--as", "sam.okafor", "--row-version", "2"], extra].concat())
    };
    let (code, _, err) = sign(&[]);
    assert_eq!(code, 1);
    assert!(err.contains("Sam Okafor has a public key in `snop.toml`: sign with `--key FILE`"), "{err}");
    let (code, _, err) = sign(&["--key", "dana.key"]);
    assert_eq!(code, 1);
    assert!(err.contains("that private key is not Sam Okafor's"), "{err}");
    let (code, _, err) = sign(&["--key", "sam.key"]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = run_in(&ws, &["drafts", "show", "2", "--json"]);
    let detail: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(detail["state"], "signed");
    assert_eq!(detail["signatures"][0]["ed25519"].as_str().map(str::len), Some(128));
    let (code, out, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "the audit log is intact: 7 entries chained, 2 signed draft(s) match what was signed\n\
         1 signature(s) verified against their signers' public keys in `snop.toml`\n"
    );

    // The forgery: new content for draft 2, its hash everywhere, and the audit chain rehashed.
    let triggers =
        [("drafts_signed_frozen", "drafts"), ("signatures_frozen", "signatures"), ("audit_log_no_update", "audit_log")];
    let drops: Vec<String> = triggers.iter().map(|(t, table)| db.drop_trigger(t, table)).collect();
    raw_sql(&ws, &store, &drops.iter().map(String::as_str).collect::<Vec<_>>());
    block_on(async {
        let pool = connect(&ws, &store).await;
        let content: String =
            sqlx::query_scalar("SELECT content FROM drafts WHERE id = 2").fetch_one(&pool).await.unwrap();
        let forged = content.replace("120 units", "150 units");
        let sha = snop::draft::sha256_hex(forged.as_bytes());
        sqlx::query("UPDATE drafts SET content = $1, content_sha256 = $2 WHERE id = 2")
            .bind(&forged)
            .bind(&sha)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("UPDATE signatures SET content_sha256 = $1 WHERE draft_id = 2")
            .bind(&sha)
            .execute(&pool)
            .await
            .unwrap();
        let rows: Vec<(i64, String, String, String, String, String)> =
            sqlx::query_as("SELECT seq, ts, actor, action, entity, content_sha256 FROM audit_log ORDER BY seq")
                .fetch_all(&pool)
                .await
                .unwrap();
        let mut prev = "0".repeat(64);
        for (seq, ts, actor, action, entity, old_sha) in rows {
            let new_sha = if action == "sign" && entity == "draft:2" { sha.clone() } else { old_sha };
            let hash = snop::store::audit::entry_hash(&prev, seq, &ts, &actor, &action, &entity, &new_sha);
            sqlx::query("UPDATE audit_log SET content_sha256 = $1, prev_hash = $2, hash = $3 WHERE seq = $4")
                .bind(&new_sha)
                .bind(&prev)
                .bind(&hash)
                .bind(seq)
                .execute(&pool)
                .await
                .unwrap();
            prev = hash;
        }
        pool.close().await;
        let store = open(&ws, &store).await;
        assert_eq!(store.verify_audit().await.unwrap().first_problem, None, "the chain alone cannot see it");
    });
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("error: the audit does not verify: the signature of draft 2 by `sam.okafor` at "), "{err}");
    assert!(err.contains("its ed25519 signature does not verify against their public key in `snop.toml`"), "{err}");
}

on_both_backends!(
    decisions_and_done_move_the_cycles_mark,
    signing_with_a_key_is_checked_without_trusting_the_database,
    versions_supersession_and_signed_drafts_that_never_change,
    the_reconciliation_pack_needs_both_signatures,
    two_approvals_at_once_through_two_connections_the_second_is_refused,
    audit_verify_catches_a_changed_signed_artifact,
    audit_verify_catches_a_rehashed_signed_artifact,
    audit_verify_catches_a_changed_audit_row,
    audit_verify_catches_a_swapped_chain_order,
    audit_verify_catches_a_removed_audit_row,
    a_crash_between_render_and_store_leaves_no_draft_and_the_next_run_completes,
    pages_escape_model_text_and_carry_the_agenda,
    the_review_workflow_through_the_binary,
);
