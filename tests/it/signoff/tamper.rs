//! Every row `snop audit verify` vouches for, tampered with behind snop's back (the triggers
//! dropped first, as someone with write access to the database would): a signature's signer or
//! time, a forged signature, an approval, a comment, a decision and its `done`, an unsigned
//! draft, the last entry when it is no draft's, a keyed signature stripped or re-timed, the chain
//! rewritten under a signature's anchor, a signed run's files; and a store written before these
//! checks still verifies. On SQLite and PostgreSQL alike.

use std::path::Path;

use snop::analysis::executive::Choice;
use snop::draft::Request;
use snop::sop::Artifact;
use snop::store::NewRun;
use snop::store::decisions::NewDecision;

use super::{CYCLE, content, directory, open, signed_workspace};
use crate::common::{Db, block_on, connect, on_both_backends, raw_sql, run_in};

/// `snop audit verify` fails; returns its error.
fn verify_fails(ws: &Path) -> String {
    let (code, out, err) = run_in(ws, &["audit", "verify"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(err.starts_with("error: the audit does not verify: "), "{err}");
    err
}

/// Drops every trigger that guards the sign-off tables.
fn drop_guards(ws: &Path, store: &str, db: Db) {
    let triggers = [
        ("drafts_signed_frozen", "drafts"),
        ("signatures_frozen", "signatures"),
        ("signatures_no_delete", "signatures"),
        ("audit_log_no_update", "audit_log"),
        ("audit_log_no_delete", "audit_log"),
        ("decisions_no_delete", "decisions"),
        ("decision_done_no_delete", "decision_done"),
    ];
    let drops: Vec<String> = triggers.iter().map(|(t, table)| db.drop_trigger(t, table)).collect();
    raw_sql(ws, store, &drops.iter().map(String::as_str).collect::<Vec<_>>());
}

/// Rewrites the audit chain consistently after `change` edits an entry's fields
/// (seq, ts, actor, action, entity, sha): what someone who knows the hash does.
fn rehash(ws: &Path, store: &str, change: impl Fn(&mut (i64, String, String, String, String, String))) {
    block_on(async {
        let pool = connect(ws, store).await;
        let rows: Vec<(i64, String, String, String, String, String)> =
            sqlx::query_as("SELECT seq, ts, actor, action, entity, content_sha256 FROM audit_log ORDER BY seq")
                .fetch_all(&pool)
                .await
                .unwrap();
        let mut prev = "0".repeat(64);
        for mut row in rows {
            change(&mut row);
            let (seq, ts, actor, action, entity, sha) = &row;
            let hash = snop::store::audit::entry_hash(&prev, *seq, ts, actor, action, entity, sha);
            sqlx::query(
                "UPDATE audit_log SET ts = $1, actor = $2, content_sha256 = $3, prev_hash = $4, hash = $5 WHERE seq = $6",
            )
            .bind(ts)
            .bind(actor)
            .bind(sha)
            .bind(&prev)
            .bind(&hash)
            .bind(seq)
            .execute(&pool)
            .await
            .unwrap();
            prev = hash;
        }
        pool.close().await;
    });
}

/// The signed workspace (entries: 1 run 1's files, 2 draft 1 made, 3 approved, 4 signed by Dana;
/// 5 run 2's files, 6 draft 2 made, 7 Fiona's comment, 8 approved by Sam) with a decision and
/// its `done` after them (entries 9 and 10).
fn workspace_with_decision(tmp: &Path, db: Db) -> (std::path::PathBuf, String) {
    let (ws, store) = signed_workspace(tmp, db);
    let dir = directory();
    block_on(async {
        let s = open(&ws, &store).await;
        let d = NewDecision {
            cycle: CYCLE.into(),
            tradeoff_id: Some("GAP-1".into()),
            choice: Choice::Option { option: "overtime".into() },
            owner: Some("sam.okafor".into()),
            due: Some("2027-01-15".into()),
            note: None,
            scenario: None,
        };
        s.record_decision(&dir, "olivia.chen", &d).await.unwrap();
        s.record_done(&dir, "sam.okafor", CYCLE, "GAP-1", Some("booked")).await.unwrap();
    });
    let (code, out, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("the audit log is intact: 10 entries chained"), "{out}");
    (ws, store)
}

fn a_signatures_signer_or_time_changed_is_caught(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    drop_guards(&ws, &store, db);
    raw_sql(&ws, &store, &["UPDATE signatures SET actor = 'ben.carter' WHERE draft_id = 1"]);
    let err = verify_fails(&ws);
    assert!(err.contains("the signature of draft 1 by `ben.carter` at "), "{err}");
    assert!(err.contains("has no audit entry: the log was cut or an entry removed, or the row was changed"), "{err}");
    // The audit entry rewritten to match, and the chain rehashed: Ben holds no role to sign it.
    rehash(&ws, &store, |e| {
        if e.3 == "sign" {
            e.2 = "ben.carter".into();
        }
    });
    let err = verify_fails(&ws);
    assert!(err.contains("the signature of draft 1 by `ben.carter` at "), "{err}");
    assert!(err.contains("is under the role `demand_lead`, which `ben.carter` does not hold"), "{err}");

    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    drop_guards(&ws, &store, db);
    raw_sql(&ws, &store, &["UPDATE signatures SET at = '2026-12-01T09:00:00.000Z' WHERE draft_id = 1"]);
    let err = verify_fails(&ws);
    assert!(
        err.contains("the signature of draft 1 by `dana.whitfield` at 2026-12-01T09:00:00.000Z has no audit entry")
    );
}

fn a_forged_signature_is_caught(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    drop_guards(&ws, &store, db);
    raw_sql(
        &ws,
        &store,
        &[
            "INSERT INTO signatures (draft_id, actor, role, at, content_sha256)
           SELECT id, 'sam.okafor', 'supply_lead', '2026-12-08T10:00:00.000Z', content_sha256 FROM drafts WHERE id = 2",
        ],
    );
    let err = verify_fails(&ws);
    assert!(err.contains("the signature of draft 2 by `sam.okafor` at 2026-12-08T10:00:00.000Z has no audit entry"));
}

fn an_approval_deleted_or_its_approver_changed_is_caught(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    drop_guards(&ws, &store, db);
    raw_sql(&ws, &store, &["UPDATE approvals SET actor = 'leo.grant' WHERE draft_id = 2"]);
    let err = verify_fails(&ws);
    assert!(err.contains("the approval of draft 2 by `leo.grant` at "), "{err}");
    raw_sql(&ws, &store, &["DELETE FROM approvals WHERE draft_id = 2"]);
    let err = verify_fails(&ws);
    assert!(err.contains("audit entry 8 (`approve` of `draft:2` by `sam.okafor` at "), "{err}");
    assert!(err.contains("the store shows no approval it recorded: the row was deleted or changed"), "{err}");
}

fn a_comment_changed_or_deleted_is_caught(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    drop_guards(&ws, &store, db);
    raw_sql(&ws, &store, &["UPDATE comments SET body = 'labour is fine' WHERE draft_id = 2"]);
    let err = verify_fails(&ws);
    assert!(err.contains("the comment of draft 2 by `fiona.reyes` at "), "{err}");
    raw_sql(&ws, &store, &["DELETE FROM comments WHERE draft_id = 2"]);
    let err = verify_fails(&ws);
    assert!(err.contains("audit entry 7 (`comment` of `draft:2` by `fiona.reyes` at "), "{err}");
    assert!(err.contains("the store shows no comment it recorded"), "{err}");
}

fn a_decision_or_its_done_deleted_is_caught(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = workspace_with_decision(tmp.path(), db);
    drop_guards(&ws, &store, db);
    raw_sql(&ws, &store, &["DELETE FROM decision_done"]);
    let err = verify_fails(&ws);
    assert!(err.contains("audit entry 10 (`done` of `decision:1` by `sam.okafor` at "), "{err}");
    assert!(err.contains("the store shows no decision done it recorded"), "{err}");
    raw_sql(&ws, &store, &["DELETE FROM decisions"]);
    let err = verify_fails(&ws);
    assert!(err.contains("audit entry 9 (`decide` of `decision:1` by `olivia.chen` at "), "{err}");
}

fn the_last_entry_cut_when_it_is_no_drafts_is_caught(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = workspace_with_decision(tmp.path(), db);
    drop_guards(&ws, &store, db);
    raw_sql(&ws, &store, &["DELETE FROM audit_log WHERE seq = 10"]);
    let err = verify_fails(&ws);
    assert!(err.contains("decision 1 said done by `sam.okafor` at "), "{err}");
    assert!(err.contains("has no audit entry over its content: the log was cut or the row changed"), "{err}");

    // A user added last, then its entry cut.
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    block_on(async {
        let s = open(&ws, &store).await;
        assert!(s.add_user("leo.grant", "phc", "admin").await.unwrap());
    });
    drop_guards(&ws, &store, db);
    raw_sql(&ws, &store, &["DELETE FROM audit_log WHERE seq = 9"]);
    let err = verify_fails(&ws);
    assert!(err.contains("the user `leo.grant` added at "), "{err}");
}

fn an_unsigned_drafts_content_changed_is_caught(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    raw_sql(&ws, &store, &["UPDATE drafts SET content = replace(content, '120 units', '150 units') WHERE id = 2"]);
    let err = verify_fails(&ws);
    assert!(err.contains("draft 2 (supply_plan 2026-12 version 1): its content no longer matches its stored hash"));
}

/// Sam's supply plan signed with his key; returns the workspace with the triggers dropped.
fn keyed_workspace(tmp: &Path, db: Db) -> (std::path::PathBuf, String) {
    let (ws, store) = signed_workspace(tmp, db);
    let (code, out, err) = run_in(&ws, &["keys", "generate", "--as", "sam.okafor", "--out", "sam.key"]);
    assert_eq!(code, 0, "{err}");
    let line = out.lines().find(|l| l.starts_with("public_key = ")).unwrap();
    let toml = ws.join("snop.toml");
    let text = fs_err::read_to_string(&toml).unwrap();
    let header = "[people.\"sam.okafor\"]\n";
    fs_err::write(&toml, text.replace(header, &format!("{header}{line}\n"))).unwrap();
    let (code, _, err) =
        run_in(&ws, &["drafts", "sign", "2", "--as", "sam.okafor", "--row-version", "2", "--key", "sam.key"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 signature(s) verified against their signers' public keys"), "{out}");
    drop_guards(&ws, &store, db);
    (ws, store)
}

fn a_stripped_key_signature_is_caught(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = keyed_workspace(tmp.path(), db);
    raw_sql(&ws, &store, &["UPDATE signatures SET ed25519 = NULL WHERE draft_id = 2"]);
    let err = verify_fails(&ws);
    assert!(err.contains("the signature of draft 2 by `sam.okafor` at "), "{err}");
    assert!(err.contains("carries no ed25519 signature, yet `sam.okafor` has a public key in `snop.toml`"), "{err}");
}

fn a_keyed_signatures_time_changed_is_caught(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = keyed_workspace(tmp.path(), db);
    // The time changed in the row and in its entry, the chain rehashed: only the key can tell.
    let later = "2026-12-20T09:00:00.000Z";
    raw_sql(&ws, &store, &[&format!("UPDATE signatures SET at = '{later}' WHERE draft_id = 2")]);
    rehash(&ws, &store, |e| {
        if e.3 == "sign" && e.4 == "draft:2" {
            e.1 = later.into();
        }
    });
    let err = verify_fails(&ws);
    assert!(err.contains(&format!(
        "the signature of draft 2 by `sam.okafor` at {later}: its ed25519 signature does not verify"
    )));
}

fn the_chain_rewritten_under_a_signature_is_caught(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    drop_guards(&ws, &store, db);
    // Dana's approval re-timed in its row and its entry (3), the whole chain rehashed: every row
    // matches its entry, but her signature (entry 4) was made on another log.
    let at = "2026-12-02T08:00:00.000Z";
    raw_sql(&ws, &store, &[&format!("UPDATE approvals SET at = '{at}' WHERE draft_id = 1")]);
    rehash(&ws, &store, |e| {
        if e.0 == 3 {
            e.1 = at.into();
        }
    });
    let err = verify_fails(&ws);
    assert!(err.contains("the signature of draft 1 by `dana.whitfield` at "), "{err}");
    assert!(err.contains("was made when the audit log had 3 entries ending in "), "{err}");
    assert!(err.contains("the log no longer reads so: it was rewritten or cut"), "{err}");
    // The anchor cleared: a signature made by this version cannot pass for an older one.
    raw_sql(&ws, &store, &["UPDATE signatures SET audit_count = NULL, audit_hash = NULL WHERE draft_id = 1"]);
    let err = verify_fails(&ws);
    assert!(err.contains("the signature of draft 1 by `dana.whitfield` at "), "{err}");
    assert!(err.contains("has lost its anchor in the audit log"), "{err}");
}

/// A signed run's files that its content does not name (the first pages, `report.json`, the
/// quarantine) are checked against the list the store kept of them.
fn a_signed_runs_files_changed_or_unlisted_are_caught(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    let dir = directory();
    let folder = block_on(async {
        let s = open(&ws, &store).await;
        let files = ["report.json", "quarantine.csv", "demand_consensus-2026-12.html", "demand_consensus-2026-12.md"]
            .map(|f| (f.to_string(), format!("{f} as drafted").into_bytes()));
        let run = s
            .record_run(NewRun {
                agent: Artifact::DemandConsensus.agent().name(),
                cycle: "2027-01",
                started_at: "2026-12-28T00-00-00Z",
                duration_ms: 1,
                outcome: "succeeded",
                inputs_sha256: "inputs-files",
                rows_read: 0,
                rows_quarantined: 0,
                rows_kept: 0,
                report_json: "{}",
                inputs: vec![],
                files: files.to_vec(),
                draft: Some(content(Artifact::DemandConsensus, "2027-01", "january")),
            })
            .await
            .unwrap();
        let id = s.draft_of_run(run.id).await.unwrap().unwrap().id;
        s.act(&dir, id, "dana.whitfield", Request::Approve, Some(1)).await.unwrap();
        s.act(&dir, id, "dana.whitfield", Request::Sign, Some(2)).await.unwrap();
        ws.join(run.folder)
    });
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 0, "{err}");
    for file in ["report.json", "quarantine.csv", "demand_consensus-2026-12.md"] {
        let path = folder.join(file);
        fs_err::write(&path, "changed").unwrap();
        let err = verify_fails(&ws);
        let named = format!("runs/2027-01/demand-review/run-3/{file}` was changed after it was signed");
        assert!(err.contains(&named), "{err}");
        fs_err::write(&path, format!("{file} as drafted")).unwrap();
    }
    // The store's list of them cleared: its audit entry has no row.
    raw_sql(&ws, &store, &["UPDATE runs SET files_sha256 = NULL WHERE id = 3"]);
    let err = verify_fails(&ws);
    assert!(err.contains("(`run_files` of `run:3` by `agent:demand-review` at "), "{err}");
    assert!(err.contains("the store shows no list of run files it recorded"), "{err}");
}

/// A store written before these checks (no anchors, no run file lists, a version 1 key
/// signature) opens, migrates and verifies clean; signatures made after are anchored.
fn a_store_from_before_still_verifies(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let store_url = db.fresh_store();
    let (code, _, err) = run_in(tmp.path(), &["init", "ws"]);
    assert_eq!(code, 0, "{err}");
    let ws = tmp.path().join("ws");
    crate::common::set_store(&ws, &store_url);
    let key = snop::store::keys::generate().unwrap();
    let public = snop::store::keys::public_text(&key.verifying_key());
    let toml = ws.join("snop.toml");
    let text = fs_err::read_to_string(&toml).unwrap();
    let header = "[people.\"dana.whitfield\"]\n";
    fs_err::write(&toml, text.replace(header, &format!("{header}public_key = \"{public}\"\n"))).unwrap();
    block_on(async {
        old_store(&ws, &store_url, db, &key).await;
        let s = open(&ws, &store_url).await;
        let report = s.verify_audit().await.unwrap();
        assert_eq!((report.entries, report.first_problem), (3, None));
    });
    let (code, out, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "the audit log is intact: 3 entries chained, 1 signed draft(s) match what was signed\n\
         1 signature(s) verified against their signers' public keys in `snop.toml`\n"
    );
}

/// What the version before migration 0011 wrote: the schema up to 0010, a draft made, approved
/// and signed with Dana's key over message version 1, each with its entry.
async fn old_store(ws: &Path, url: &str, db: Db, key: &ed25519_dalek::SigningKey) {
    let folder = if db == Db::Sqlite { "sqlite" } else { "postgres" };
    let old = tempfile::tempdir().unwrap();
    for entry in fs_err::read_dir(crate::common::repo().join("src/store/migrations").join(folder)).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name().to_string_lossy().as_ref() < "0011" {
            fs_err::copy(entry.path(), old.path().join(entry.file_name())).unwrap();
        }
    }
    if db == Db::Sqlite {
        fs_err::File::create(ws.join("snop.db")).unwrap();
    }
    let pool = connect(ws, url).await;
    sqlx::migrate::Migrator::new(old.path()).await.unwrap().run(&pool).await.unwrap();
    let text = content(Artifact::DemandConsensus, CYCLE, "before");
    let sha = snop::draft::sha256_hex(text.as_bytes());
    let ts = ["2026-11-30T10:00:00.000Z", "2026-11-30T11:00:00.000Z", "2026-11-30T12:00:00.000Z"];
    let message = snop::store::keys::message(1, "demand_consensus", CYCLE, 1, "demand_lead", "dana.whitfield", &sha);
    let signature = snop::store::keys::sign(key, &message);
    let statements: Vec<(String, Vec<String>)> = vec![
        (
            "INSERT INTO runs (id, agent, cycle, started_at, duration_ms, outcome, inputs_sha256, rows_read,
                rows_quarantined, rows_kept, folder, report_json)
             VALUES (1, 'demand-review', $1, $2, 1, 'succeeded', 'x', 0, 0, 0, 'runs/2026-12/demand-review/run-1', '{}')"
                .into(),
            vec![CYCLE.into(), ts[0].into()],
        ),
        (
            "INSERT INTO drafts (id, artifact, cycle, version, run_id, content, content_sha256, state, row_version,
                created_at, created_by, updated_at, updated_by)
             VALUES (1, 'demand_consensus', $1, 1, 1, $2, $3, 'signed', 3, $4, 'agent:demand-review', $5, 'dana.whitfield')"
                .into(),
            vec![CYCLE.into(), text.clone(), sha.clone(), ts[0].into(), ts[2].into()],
        ),
        (
            "INSERT INTO approvals (draft_id, actor, role, decision, at, content_sha256)
             VALUES (1, 'dana.whitfield', 'demand_lead', 'approved', $1, $2)"
                .into(),
            vec![ts[1].into(), sha.clone()],
        ),
        (
            "INSERT INTO signatures (draft_id, actor, role, at, content_sha256, ed25519)
             VALUES (1, 'dana.whitfield', 'demand_lead', $1, $2, $3)"
                .into(),
            vec![ts[2].into(), sha.clone(), signature],
        ),
    ];
    for (sql, binds) in statements {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        q.execute(&pool).await.unwrap();
    }
    let mut prev = "0".repeat(64);
    let entries = [
        (ts[0], "agent:demand-review", "create"),
        (ts[1], "dana.whitfield", "approve"),
        (ts[2], "dana.whitfield", "sign"),
    ];
    for (seq, (at, actor, action)) in (1_i64..).zip(entries) {
        let hash = snop::store::audit::entry_hash(&prev, seq, at, actor, action, "draft:1", &sha);
        sqlx::query(
            "INSERT INTO audit_log (seq, ts, actor, action, entity, content_sha256, prev_hash, hash)
             VALUES ($1, $2, $3, $4, 'draft:1', $5, $6, $7)",
        )
        .bind(seq)
        .bind(at)
        .bind(actor)
        .bind(action)
        .bind(&sha)
        .bind(&prev)
        .bind(&hash)
        .execute(&pool)
        .await
        .unwrap();
        prev = hash;
    }
    pool.close().await;
}

on_both_backends!(
    a_signatures_signer_or_time_changed_is_caught,
    a_forged_signature_is_caught,
    an_approval_deleted_or_its_approver_changed_is_caught,
    a_comment_changed_or_deleted_is_caught,
    a_decision_or_its_done_deleted_is_caught,
    the_last_entry_cut_when_it_is_no_drafts_is_caught,
    an_unsigned_drafts_content_changed_is_caught,
    a_stripped_key_signature_is_caught,
    a_keyed_signatures_time_changed_is_caught,
    the_chain_rewritten_under_a_signature_is_caught,
    a_signed_runs_files_changed_or_unlisted_are_caught,
    a_store_from_before_still_verifies,
);
