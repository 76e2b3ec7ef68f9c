//! `snop audit verify`: the audit chain walked entry by entry, every recorded change (drafts,
//! approvals, signatures, edits, comments, executive decisions and their `done`) checked against
//! its entry, every signed draft against the hash its signatures cover and the run files its
//! content names, and every keyed signature against the signer's public key.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{GENESIS, entry_hash};
use super::signoff::draft_row;
use super::{Store, StoreError, keys};
use crate::draft::{DraftContent, sha256_hex};
use crate::sop::{Artifact, Directory, role_title};

/// What `snop audit verify` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditReport {
    pub entries: i64,
    pub signed_drafts: i64,
    /// The first problem found, naming the entry or draft; `None` when all is well.
    pub first_problem: Option<String>,
}

impl Store {
    /// Checks every signature made with a key against the signer's public key in `snop.toml`
    /// (`dir`), which the database cannot change. Returns how many were checked and the first
    /// that does not verify.
    pub async fn verify_keys(&self, dir: &Directory) -> Result<(i64, Option<String>), StoreError> {
        let rows = sqlx::query(
            "SELECT s.draft_id, s.actor, s.role, s.at, s.content_sha256, s.ed25519, d.artifact, d.cycle, d.version
             FROM signatures s JOIN drafts d ON d.id = s.draft_id WHERE s.ed25519 IS NOT NULL ORDER BY s.id",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let (draft_id, actor, role, at): (i64, String, String, String) =
                (r.get("draft_id"), r.get("actor"), r.get("role"), r.get("at"));
            let name = format!("the signature of draft {draft_id} by `{actor}` at {at}");
            let public = match dir.public_keys.get(&actor).map(|p| keys::parse_public(p)) {
                Some(Ok(p)) => p,
                Some(Err(e)) => return Ok((rows.len() as i64, Some(format!("{name}: {e}")))),
                None => {
                    return Ok((
                        rows.len() as i64,
                        Some(format!("{name}: `{actor}` has no public key in `snop.toml` to check it against")),
                    ));
                }
            };
            let message = keys::message(
                draft_id,
                r.get("artifact"),
                r.get("cycle"),
                r.get("version"),
                &role,
                &actor,
                r.get("content_sha256"),
            );
            if !keys::verify(&public, &message, r.get("ed25519")) {
                return Ok((
                    rows.len() as i64,
                    Some(format!(
                        "{name}: its ed25519 signature does not verify against their public key in `snop.toml`: the signature or what it covers was changed"
                    )),
                ));
            }
        }
        Ok((rows.len() as i64, None))
    }

    /// Checks the audit chain entry by entry, every recorded change against its entry, and every
    /// signed draft against the hash its signatures cover (and the run files its content names).
    /// Names the first problem.
    pub async fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        let rows = sqlx::query("SELECT * FROM audit_log ORDER BY seq").fetch_all(&self.pool).await?;
        let entries = rows.len() as i64;
        let report = |signed_drafts, problem| AuditReport { entries, signed_drafts, first_problem: Some(problem) };
        let chain = match audit_chain(&rows) {
            Ok(chain) => chain,
            Err(problem) => return Ok(report(0, problem)),
        };
        if let Some(problem) = self.unrecorded_change(&chain).await? {
            return Ok(report(0, problem));
        }
        let signed =
            sqlx::query("SELECT * FROM drafts WHERE state = 'signed' ORDER BY id").fetch_all(&self.pool).await?;
        let signed_drafts = signed.len() as i64;
        for r in &signed {
            if let Some(problem) = self.signed_draft_problem(r, &chain).await? {
                return Ok(report(signed_drafts, problem));
            }
        }
        Ok(AuditReport { entries, signed_drafts, first_problem: None })
    }

    /// The first recorded change (a draft, approval, signature, edit, comment, executive decision
    /// or decision done) without its audit entry: a log cut short at its end is caught here.
    async fn unrecorded_change(&self, chain: &AuditChain) -> Result<Option<String>, StoreError> {
        let recorded = |entity: &str, actions: &[&str], sha: Option<&str>| {
            chain
                .get(entity)
                .is_some_and(|h| h.iter().any(|(a, x)| actions.contains(&a.as_str()) && sha.is_none_or(|s| s == x)))
        };
        let changes = sqlx::query(
            "SELECT 'draft' AS kind, id AS draft_id, created_by AS actor, created_at AS at, NULL AS sha FROM drafts
             UNION ALL SELECT 'approval', draft_id, actor, at, content_sha256 FROM approvals
             UNION ALL SELECT 'signature', draft_id, actor, at, content_sha256 FROM signatures
             UNION ALL SELECT 'edit', draft_id, actor, at, after_sha256 FROM edits
             UNION ALL SELECT 'comment', draft_id, actor, at, NULL FROM comments",
        )
        .fetch_all(&self.pool)
        .await?;
        for c in &changes {
            let kind: String = c.get("kind");
            let draft_id: i64 = c.get("draft_id");
            let sha: Option<String> = c.get("sha");
            let actions: &[&str] = match kind.as_str() {
                "draft" => &["create", "new_version"],
                "approval" => &["approve", "reject"],
                "signature" => &["sign"],
                "edit" => &["edit"],
                _ => &["comment"],
            };
            if !recorded(&format!("draft:{draft_id}"), actions, sha.as_deref()) {
                let (actor, at): (String, String) = (c.get("actor"), c.get("at"));
                return Ok(Some(format!(
                    "the {kind} of draft {draft_id} by `{actor}` at {at} has no audit entry: the log was cut or an entry removed"
                )));
            }
        }
        // Every executive decision has its entry, over the same content.
        let decisions = sqlx::query("SELECT * FROM decisions ORDER BY id").fetch_all(&self.pool).await?;
        for r in &decisions {
            let d = super::decisions::decision_row(r);
            let (id, actor, at) = (d.id, d.decided_by.clone(), d.decided_at.clone());
            let sha = super::decisions::stored_sha(&d);
            if !recorded(&format!("decision:{id}"), &["decide", "send_back"], Some(&sha)) {
                return Ok(Some(format!(
                    "decision {id} by `{actor}` at {at} has no audit entry over its content: the log was cut or the decision changed"
                )));
            }
        }
        // Every decision said to be done has its entry, over the same content.
        let done = sqlx::query("SELECT * FROM decision_done ORDER BY id").fetch_all(&self.pool).await?;
        for r in &done {
            let (decision, actor, at, note): (i64, String, String, Option<String>) =
                (r.get("decision_id"), r.get("done_by"), r.get("done_at"), r.get("note"));
            let sha = super::decisions::done_sha(decision, &actor, note.as_deref());
            if !recorded(&format!("decision:{decision}"), &["done"], Some(&sha)) {
                return Ok(Some(format!(
                    "decision {decision} said done by `{actor}` at {at} has no audit entry over its content: the log was cut or the row changed"
                )));
            }
        }
        Ok(None)
    }

    /// What is wrong with a signed draft, if anything: its content against its hash and its
    /// signatures, the signatures its artifact needs, the audit entry of its signature, and the
    /// run files its content names.
    async fn signed_draft_problem(&self, r: &AnyRow, chain: &AuditChain) -> Result<Option<String>, StoreError> {
        let row = draft_row(r);
        let content: String = r.get("content");
        let name = format!("draft {} ({} {} version {})", row.id, row.artifact, row.cycle, row.version);
        let actual = sha256_hex(content.as_bytes());
        let sigs = self.signatures(row.id).await?;
        let problem = if actual != row.content_sha256 {
            Some(format!("{name}: its content no longer matches its stored hash: the signed content was changed"))
        } else if sigs.is_empty() {
            Some(format!("{name}: it is marked signed but has no signature"))
        } else if let Some(s) = sigs.last().filter(|s| s.content_sha256 != actual) {
            // The last signature is the one that made it signed: it covers this content.
            // (Earlier ones may cover content an edit replaced before signing was complete.)
            Some(format!(
                "{name}: it does not match the hash {} signed by `{}` at {}: the signed content was changed",
                s.content_sha256, s.actor, s.at
            ))
        } else if let Some(missing) = Artifact::from_key(&row.artifact).and_then(|a| {
            let roles: Vec<&str> = a.signer_roles().to_vec();
            let signed_now = |r: &str| sigs.iter().any(|s| s.role == r && s.content_sha256 == actual);
            if a.needs_every_signer() {
                roles.into_iter().find(|r| !signed_now(r))
            } else {
                (!roles.iter().any(|r| signed_now(r))).then_some(roles[0])
            }
        }) {
            Some(format!(
                "{name}: it is marked signed but lacks the {}'s signature over its content",
                role_title(missing)
            ))
        } else if !chain
            .get(&format!("draft:{}", row.id))
            .is_some_and(|h| h.iter().any(|(a, sha)| a == "sign" && *sha == actual))
        {
            Some(format!("{name}: no audit entry records its signature over this content"))
        } else {
            match serde_json::from_str::<DraftContent>(&content) {
                Err(e) => Some(format!("{name}: its content does not read: {e}")),
                Ok(c) => {
                    let folder: Option<String> = sqlx::query_scalar("SELECT folder FROM runs WHERE id = $1")
                        .bind(row.run_id)
                        .fetch_optional(&self.pool)
                        .await?;
                    let folder = self.root.join(folder.unwrap_or_default());
                    c.files.iter().find_map(|(file, sha)| {
                        let path = folder.join(file);
                        match fs_err::read(&path) {
                            Ok(bytes) if sha256_hex(&bytes) == *sha => None,
                            Ok(_) => Some(format!(
                                "{name}: the run file `{}` was changed after it was signed",
                                path.display()
                            )),
                            Err(_) => {
                                Some(format!("{name}: the run file `{}` it was signed with is missing", path.display()))
                            }
                        }
                    })
                }
            }
        };
        Ok(problem)
    }
}

/// Each audited entity's entries, as (action, content hash), in the order of the log.
type AuditChain = BTreeMap<String, Vec<(String, String)>>;

/// Walks the audit log entry by entry (sequence, link to the previous entry, hash over the
/// fields): the entries by entity, or the first broken entry.
fn audit_chain(rows: &[AnyRow]) -> Result<AuditChain, String> {
    let mut prev = GENESIS.to_string();
    let mut hashes_by_entity: AuditChain = BTreeMap::new();
    for (expected_seq, r) in (1_i64..).zip(rows.iter()) {
        let seq: i64 = r.get("seq");
        let ts: String = r.get("ts");
        let actor: String = r.get("actor");
        let action: String = r.get("action");
        let entity: String = r.get("entity");
        let sha: String = r.get("content_sha256");
        let prev_hash: String = r.get("prev_hash");
        let hash: String = r.get("hash");
        let name = format!("audit entry {seq} (`{action}` of `{entity}` by `{actor}` at {ts})");
        let problem = if seq != expected_seq {
            Some(format!("{name}: expected entry {expected_seq} here: an entry is missing"))
        } else if prev_hash != prev {
            Some(format!("{name}: it does not follow entry {}: the chain is broken or reordered", seq - 1))
        } else if entry_hash(&prev_hash, seq, &ts, &actor, &action, &entity, &sha) != hash {
            Some(format!("{name}: its hash does not match its fields: the entry was changed"))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(problem);
        }
        hashes_by_entity.entry(entity).or_default().push((action, sha));
        prev = hash;
    }
    Ok(hashes_by_entity)
}
