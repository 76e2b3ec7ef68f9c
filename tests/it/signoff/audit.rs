//! Tampering caught by `snop audit verify`: a changed or rehashed signed artifact, a changed,
//! reordered or removed audit row; and signing with a per-person key, checked without trusting
//! the database. On SQLite and PostgreSQL alike.

use super::{open, signed_workspace};
use crate::common::{Db, block_on, connect, on_both_backends, raw_sql, run_in};

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
            "UPDATE audit_log SET actor = 'sam.okafor' WHERE seq = 4",
        ],
    );
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: the audit does not verify: audit entry 4 (`sign` of `draft:1` by `sam.okafor` at "),
        "{err}"
    );
    assert!(err.ends_with("its hash does not match its fields: the entry was changed\n"), "{err}");
}

fn audit_verify_catches_a_swapped_chain_order(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    // Entries 3 and 4 trade places (each keeps its own fields and hashes).
    raw_sql(
        &ws,
        &store,
        &[
            &db.drop_trigger("audit_log_no_update", "audit_log"),
            "UPDATE audit_log SET seq = -3 WHERE seq = 3",
            "UPDATE audit_log SET seq = 3 WHERE seq = 4",
            "UPDATE audit_log SET seq = 4 WHERE seq = -3",
        ],
    );
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("error: the audit does not verify: audit entry 3 (`sign` of `draft:1`"), "{err}");
    assert!(err.contains("it does not follow entry 2: the chain is broken or reordered"), "{err}");
}

fn audit_verify_catches_a_removed_audit_row(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, store) = signed_workspace(tmp.path(), db);
    // The last entry (the approval of the supply plan): the chain alone cannot see a cut end.
    raw_sql(
        &ws,
        &store,
        &[&db.drop_trigger("audit_log_no_delete", "audit_log"), "DELETE FROM audit_log WHERE seq = 8"],
    );
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(err.contains("the approval of draft 2 by `sam.okafor` at "), "{err}");
    assert!(err.contains("has no audit entry: the log was cut or an entry removed"), "{err}");
    // One in the middle.
    raw_sql(&ws, &store, &["DELETE FROM audit_log WHERE seq = 3"]);
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(err.contains("audit entry 4 (`sign` of `draft:1`"), "{err}");
    assert!(err.contains("expected entry 3 here: an entry is missing"), "{err}");
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
        "the audit log is intact: 9 entries chained, 2 signed draft(s) match what was signed\n\
         1 signature(s) verified against their signers' public keys in `snop.toml`\n"
    );

    // The forgery: new content for draft 2, its hash everywhere (the draft, its approval and
    // signature rows, its entries), the audit chain rehashed and the signature's anchor moved.
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
        let old: String = sqlx::query_scalar("SELECT content_sha256 FROM signatures WHERE draft_id = 2")
            .fetch_one(&pool)
            .await
            .unwrap();
        for table in ["signatures", "approvals"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE {table} SET content_sha256 = $1 WHERE draft_id = 2")))
                .bind(&sha)
                .execute(&pool)
                .await
                .unwrap();
        }
        let rows: Vec<(i64, String, String, String, String, String)> =
            sqlx::query_as("SELECT seq, ts, actor, action, entity, content_sha256 FROM audit_log ORDER BY seq")
                .fetch_all(&pool)
                .await
                .unwrap();
        let mut prev = "0".repeat(64);
        for (seq, ts, actor, action, entity, old_sha) in rows {
            let new_sha = if entity == "draft:2" && old_sha == old { sha.clone() } else { old_sha };
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
            if action == "approve" && entity == "draft:2" {
                sqlx::query("UPDATE signatures SET audit_hash = $1 WHERE draft_id = 2")
                    .bind(&prev)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
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

/// `[signoff] require_keys = true`: nobody signs without their key; the refusal says how to
/// register one, and with it the signature goes through.
fn require_keys_refuses_a_signature_without_a_key(db: Db) {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, _) = signed_workspace(tmp.path(), db);
    let toml = ws.join("snop.toml");
    let text = fs_err::read_to_string(&toml).unwrap();
    fs_err::write(&toml, format!("{text}\n[signoff]\nrequire_keys = true\n")).unwrap();
    let sign = |extra: &[&str]| {
        run_in(&ws, &[&["drafts", "sign", "2", "--as", "sam.okafor", "--row-version", "2"], extra].concat())
    };
    let (code, _, err) = sign(&[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("`[signoff] require_keys` in `snop.toml` says every signature needs the signer's key, and Sam Okafor has none: run `snop keys generate --as sam.okafor`, add the `public_key` line it prints under `[people.\"sam.okafor\"]`"),
        "{err}"
    );
    let (code, out, _) = run_in(&ws, &["keys", "generate", "--as", "sam.okafor", "--out", "sam.key"]);
    assert_eq!(code, 0);
    let line = out.lines().find(|l| l.starts_with("public_key = ")).unwrap();
    let text = fs_err::read_to_string(&toml).unwrap();
    let header = "[people.\"sam.okafor\"]\n";
    fs_err::write(&toml, text.replace(header, &format!("{header}{line}\n"))).unwrap();
    let (code, _, err) = sign(&["--key", "sam.key"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 signature(s) verified"), "{out}");
}

on_both_backends!(
    require_keys_refuses_a_signature_without_a_key,
    signing_with_a_key_is_checked_without_trusting_the_database,
    audit_verify_catches_a_changed_signed_artifact,
    audit_verify_catches_a_rehashed_signed_artifact,
    audit_verify_catches_a_changed_audit_row,
    audit_verify_catches_a_swapped_chain_order,
    audit_verify_catches_a_removed_audit_row,
);
