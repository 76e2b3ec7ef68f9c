//! The sign-off workflow on a real store, SQLite and PostgreSQL alike: versions, supersession
//! and signed drafts that never change, the reconciliation pack's two signatures, decisions
//! moving the cycle's mark, two approvals at once through two real connections, and the
//! rendered pages (model text escaped, the agenda from last cycle's signed version).

use snop::artifacts::review;
use snop::draft::{Request, State};
use snop::sop::Artifact;
use snop::store::{Backend, SignoffError};

use super::{CYCLE, directory, narrative, open, record, refused};
use crate::common::{Db, block_on, connect, on_both_backends};

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
            scenario: None,
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

/// Issue 21: a comment, a rejection's reason, a decision's note and a done note are text for a
/// page everybody opens: over 10,000 characters they are refused, and nothing is stored.
fn texts_over_the_limit_are_refused(db: Db) {
    let store_url = db.fresh_store();
    let tmp = tempfile::tempdir().unwrap();
    let dir = directory();
    let long = "x".repeat(10_001);
    block_on(async {
        let store = open(tmp.path(), &store_url).await;
        let run = record(&store, Artifact::DemandConsensus, CYCLE, "long").await;
        let id = store.draft_of_run(run.id).await.unwrap().unwrap().id;
        let err = refused(store.act(&dir, id, "fiona.reyes", Request::Comment { body: long.clone() }, None).await);
        assert!(
            err.contains("a comment is at most 10000 characters, and this one has 10001: nothing was saved"),
            "{err}"
        );
        let ok = "y".repeat(10_000);
        store.act(&dir, id, "fiona.reyes", Request::Comment { body: ok }, None).await.unwrap();
        let err =
            refused(store.act(&dir, id, "dana.whitfield", Request::Reject { reason: long.clone() }, Some(1)).await);
        assert!(err.contains("a rejection's reason is at most 10000 characters"), "{err}");
        let d = snop::store::decisions::NewDecision {
            cycle: CYCLE.into(),
            tradeoff_id: Some("GAP-1".into()),
            choice: snop::analysis::executive::Choice::Option { option: "overtime".into() },
            owner: Some("sam.okafor".into()),
            due: Some("2027-01-15".into()),
            note: Some(long.clone()),
            scenario: None,
        };
        let err = store.record_decision(&dir, "olivia.chen", &d).await.unwrap_err().to_string();
        assert!(err.contains("a decision's note is at most 10000 characters"), "{err}");
        let d = snop::store::decisions::NewDecision { note: None, ..d };
        store.record_decision(&dir, "olivia.chen", &d).await.unwrap();
        let err = store.record_done(&dir, "sam.okafor", CYCLE, "GAP-1", Some(&long)).await.unwrap_err().to_string();
        assert!(err.contains("a note is at most 10000 characters"), "{err}");
        let detail = store.draft(id).await.unwrap().unwrap();
        assert_eq!((detail.comments.len(), detail.row.state), (1, State::Draft));
        assert!(store.decisions_done(CYCLE).await.unwrap().is_empty());
        assert!(store.verify_audit().await.unwrap().first_problem.is_none());
    });
}

on_both_backends!(
    texts_over_the_limit_are_refused,
    decisions_and_done_move_the_cycles_mark,
    versions_supersession_and_signed_drafts_that_never_change,
    the_reconciliation_pack_needs_both_signatures,
    two_approvals_at_once_through_two_connections_the_second_is_refused,
    pages_escape_model_text_and_carry_the_agenda,
);
