//! Sign-off: drafts and their versions, edits, comments, approvals, signatures, and the
//! hash-chained audit log. The rules live here and only here: [`decide`] says which action is
//! legal in which state for which role; the `Store` methods below apply a legal action in one
//! transaction together with its audit entry.
//!
//! - Every mutating call carries the row version it read; a stale one is refused, never
//!   silently overwritten (comments are append-only and carry none: they cannot lose an update).
//! - Signing needs an approved draft; a signature covers the content hash of exactly what was
//!   signed; a signed draft never changes (a trigger aborts any update), and editing it makes a
//!   new version that must be approved and signed again.
//! - Each audit entry's hash covers the previous entry's hash, so `snop audit verify` finds a
//!   changed, removed or reordered entry, and a signed draft whose content no longer matches.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::{AnyQueryResult, AnyRow};

use super::{Store, StoreError, keys};
use crate::draft::{
    Action, ApprovalRow, CommentRow, DraftContent, DraftDetail, DraftRow, EditRow, Effect, Request, SignatureRow,
    Situation, State, StatusLine, narrative_diff, narrative_text, sha256_hex, verdict,
};
use crate::sop::{Artifact, Directory, role_title};

fn draft_row(r: &AnyRow) -> DraftRow {
    DraftRow {
        id: r.get("id"),
        artifact: r.get("artifact"),
        cycle: r.get("cycle"),
        version: r.get("version"),
        parent_version: r.get("parent_version"),
        run_id: r.get("run_id"),
        state: State::from_key(r.get::<&str, _>("state")),
        row_version: r.get("row_version"),
        content_sha256: r.get("content_sha256"),
        created_at: r.get("created_at"),
        created_by: r.get("created_by"),
        updated_at: r.get("updated_at"),
        updated_by: r.get("updated_by"),
    }
}

/// What an action did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Acted {
    /// The draft version as it is now (a new version after editing a signed one).
    pub draft: DraftRow,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SignoffError {
    /// The rules refuse the action; the message says why and who may.
    #[error("{0}")]
    Refused(String),
    /// Someone changed the draft since the caller read it.
    #[error("{0}")]
    Stale(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SignoffError {
    pub fn is_user_fault(&self) -> bool {
        !matches!(self, SignoffError::Store(_))
    }
}

impl From<sqlx::Error> for SignoffError {
    fn from(e: sqlx::Error) -> Self {
        SignoffError::Store(StoreError::Query(e))
    }
}

/// What `snop audit verify` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditReport {
    pub entries: i64,
    pub signed_drafts: i64,
    /// The first problem found, naming the entry or draft; `None` when all is well.
    pub first_problem: Option<String>,
}

pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An audit entry's hash: over the previous hash and each field, length-prefixed.
pub fn entry_hash(prev: &str, seq: i64, ts: &str, actor: &str, action: &str, entity: &str, sha: &str) -> String {
    let mut h = Sha256::new();
    let seq = seq.to_string();
    for field in [prev, &seq, ts, actor, action, entity, sha] {
        h.update((field.len() as u64).to_le_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends an audit entry inside the caller's transaction (which holds the write lock).
pub(crate) async fn append_audit(
    conn: &mut AnyConnection,
    ts: &str,
    actor: &str,
    action: &str,
    entity: &str,
    sha: &str,
) -> Result<i64, sqlx::Error> {
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *conn).await?;
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS.to_string()),
    };
    let hash = entry_hash(&prev, seq, ts, actor, action, entity, sha);
    sqlx::query(
        "INSERT INTO audit_log (seq, ts, actor, action, entity, content_sha256, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(seq)
    .bind(ts)
    .bind(actor)
    .bind(action)
    .bind(entity)
    .bind(sha)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    Ok(seq)
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Stores a new draft version for a run inside the run's transaction: the previous unsigned
/// version (if any) is superseded; a signed one is not touched. Returns the new draft's id, or
/// `None` when the content is the same as the latest version's.
pub(crate) async fn insert_draft(
    conn: &mut AnyConnection,
    run_id: i64,
    agent: &str,
    content: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let parsed: DraftContent = serde_json::from_str(content).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let sha = sha256_hex(content.as_bytes());
    let ts = now();
    let actor = format!("agent:{agent}");
    let latest = sqlx::query("SELECT * FROM drafts WHERE artifact = $1 AND cycle = $2 ORDER BY version DESC LIMIT 1")
        .bind(&parsed.artifact)
        .bind(&parsed.cycle)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| draft_row(&r));
    if latest.as_ref().is_some_and(|l| l.content_sha256 == sha) {
        return Ok(None);
    }
    if let Some(l) = &latest
        && matches!(l.state, State::Draft | State::Approved | State::Rejected)
    {
        sqlx::query(
            "UPDATE drafts SET state = 'superseded', row_version = row_version + 1, updated_at = $1, updated_by = $2 WHERE id = $3",
        )
        .bind(&ts)
        .bind(&actor)
        .bind(l.id)
        .execute(&mut *conn)
        .await?;
        append_audit(conn, &ts, &actor, "supersede", &format!("draft:{}", l.id), &l.content_sha256).await?;
    }
    let version = latest.as_ref().map_or(1, |l| l.version + 1);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO drafts (id, artifact, cycle, version, parent_version, run_id, content, content_sha256, state,
            row_version, created_at, created_by, updated_at, updated_by)
         VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM drafts), $1, $2, $3, $4, $5, $6, $7, 'draft', 1, $8, $9, $8, $9)
         RETURNING id",
    )
    .bind(&parsed.artifact)
    .bind(&parsed.cycle)
    .bind(version)
    .bind(latest.as_ref().map(|l| l.version))
    .bind(run_id)
    .bind(content)
    .bind(&sha)
    .bind(&ts)
    .bind(&actor)
    .fetch_one(&mut *conn)
    .await?;
    append_audit(conn, &ts, &actor, "create", &format!("draft:{id}"), &sha).await?;
    Ok(Some(id))
}

impl Store {
    /// Draft versions, newest cycle first, optionally of one cycle or artifact.
    pub async fn drafts(&self, cycle: Option<&str>, artifact: Option<Artifact>) -> Result<Vec<DraftRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM drafts WHERE ($1 IS NULL OR cycle = $1) AND ($2 IS NULL OR artifact = $2)
             ORDER BY cycle DESC, artifact, version DESC",
        )
        .bind(cycle)
        .bind(artifact.map(Artifact::key))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(draft_row).collect())
    }

    /// One draft version with its content and history.
    pub async fn draft(&self, id: i64) -> Result<Option<DraftDetail>, StoreError> {
        let Some(r) = sqlx::query("SELECT * FROM drafts WHERE id = $1").bind(id).fetch_optional(&self.pool).await?
        else {
            return Ok(None);
        };
        let row = draft_row(&r);
        let content: DraftContent = serde_json::from_str(r.get::<&str, _>("content"))
            .map_err(|e| StoreError::Query(sqlx::Error::Decode(Box::new(e))))?;
        let edits = sqlx::query("SELECT * FROM edits WHERE draft_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| EditRow {
                actor: r.get("actor"),
                at: r.get("at"),
                diff_vs_model: r.get("diff_vs_model"),
                before_sha256: r.get("before_sha256"),
                after_sha256: r.get("after_sha256"),
            })
            .collect();
        let comments = sqlx::query("SELECT * FROM comments WHERE draft_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| CommentRow { actor: r.get("actor"), at: r.get("at"), body: r.get("body") })
            .collect();
        let approvals = sqlx::query("SELECT * FROM approvals WHERE draft_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| ApprovalRow {
                actor: r.get("actor"),
                role: r.get("role"),
                decision: r.get("decision"),
                reason: r.get("reason"),
                at: r.get("at"),
                content_sha256: r.get("content_sha256"),
            })
            .collect();
        let signatures = self.signatures(id).await?;
        Ok(Some(DraftDetail { row, content, edits, comments, approvals, signatures }))
    }

    async fn signatures(&self, draft_id: i64) -> Result<Vec<SignatureRow>, StoreError> {
        Ok(sqlx::query("SELECT * FROM signatures WHERE draft_id = $1 ORDER BY id")
            .bind(draft_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| SignatureRow {
                actor: r.get("actor"),
                role: r.get("role"),
                at: r.get("at"),
                content_sha256: r.get("content_sha256"),
                ed25519: r.get("ed25519"),
            })
            .collect())
    }

    /// The newest signed version of an artifact for a cycle, with its content and signatures.
    pub async fn latest_signed(&self, artifact: Artifact, cycle: &str) -> Result<Option<DraftDetail>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM drafts WHERE artifact = $1 AND cycle = $2 AND state = 'signed' ORDER BY version DESC LIMIT 1",
        )
        .bind(artifact.key())
        .bind(cycle)
        .fetch_optional(&self.pool)
        .await?;
        match id {
            Some(id) => self.draft(id).await,
            None => Ok(None),
        }
    }

    /// Applies a person's request to a draft version, if the rules allow it and nobody changed
    /// the draft since `expected_row_version` was read (comments need no row version). One
    /// transaction, taken with the write lock first ([`super::dialect::begin_write`]), with its
    /// audit entry.
    pub async fn act(
        &self,
        dir: &Directory,
        draft_id: i64,
        actor: &str,
        request: Request,
        expected_row_version: Option<i64>,
    ) -> Result<Acted, SignoffError> {
        self.act_with_key(dir, draft_id, actor, request, expected_row_version, None).await
    }

    /// [`Store::act`], signing with the actor's private key. A person whose public key is in
    /// `snop.toml` signs only with the matching private key; anyone else signs without one.
    pub async fn act_with_key(
        &self,
        dir: &Directory,
        draft_id: i64,
        actor: &str,
        request: Request,
        expected_row_version: Option<i64>,
        key: Option<&ed25519_dalek::SigningKey>,
    ) -> Result<Acted, SignoffError> {
        let mut tx = super::dialect::begin_write(&self.pool, self.backend).await?;
        let r = sqlx::query("SELECT * FROM drafts WHERE id = $1")
            .bind(draft_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| {
                SignoffError::Refused(format!("there is no draft {draft_id}: `snop drafts list` lists them"))
            })?;
        let row = draft_row(&r);
        let content_text: String = r.get("content");
        let artifact = Artifact::from_key(&row.artifact)
            .ok_or_else(|| SignoffError::Refused(format!("draft {draft_id} is of unknown kind `{}`", row.artifact)))?;
        let action = request.action();
        if action != Action::Comment {
            match expected_row_version {
                None => {
                    return Err(SignoffError::Refused(format!(
                        "to {} draft {draft_id}, say which row version you read: `--row-version {}` (see `snop drafts show {draft_id}`)",
                        action.verb(),
                        row.row_version
                    )));
                }
                Some(v) if v != row.row_version => {
                    return Err(SignoffError::Stale(format!(
                        "draft {draft_id} was changed by {} at {} since you read it (row version {v}, now {}): nothing was changed; look at it again with `snop drafts show {draft_id}` and retry",
                        row.updated_by, row.updated_at, row.row_version
                    )));
                }
                Some(_) => {}
            }
        }
        let newer: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM drafts WHERE artifact = $1 AND cycle = $2 AND version > $3")
                .bind(&row.artifact)
                .bind(&row.cycle)
                .bind(row.version)
                .fetch_one(&mut *tx)
                .await?;
        let signed_roles: Vec<String> =
            sqlx::query_scalar("SELECT role FROM signatures WHERE draft_id = $1 AND content_sha256 = $2")
                .bind(draft_id)
                .bind(&row.content_sha256)
                .fetch_all(&mut *tx)
                .await?;
        let situation = Situation {
            artifact,
            cycle: &row.cycle,
            version: row.version,
            state: row.state,
            newer_version: newer,
            signed_roles,
        };
        let decision = verdict(dir, actor, action, &situation).map_err(SignoffError::Refused)?;
        // The signed plan binds the executive decisions: it is signed only with every trade-off
        // decided, and only as built with the latest decision.
        if artifact == Artifact::SignedPlan && action == Action::Sign {
            let content: DraftContent = serde_json::from_str(&content_text)
                .map_err(|e| SignoffError::Store(StoreError::Query(sqlx::Error::Decode(Box::new(e)))))?;
            let latest = super::decisions::latest_decision_id(&mut tx, &row.cycle).await?;
            if let Some(refusal) = crate::analysis::executive::plan_sign_refusal(&content.facts, &row.cycle, latest) {
                return Err(SignoffError::Refused(refusal));
            }
        }
        let ts = now();
        let entity = format!("draft:{draft_id}");
        let role = decision.role.clone().unwrap_or_default();
        let who = dir.name(actor);
        let title = format!("{} {} version {}", artifact.title(), row.cycle, row.version);
        // The row-version check again in the update itself: never a silent overwrite.
        let bump = |state: State, content: Option<(&str, &str)>| {
            let (text, sha) = content.unwrap_or((&content_text, &row.content_sha256));
            sqlx::query(
                "UPDATE drafts SET state = $1, content = $2, content_sha256 = $3, row_version = row_version + 1,
                    updated_at = $4, updated_by = $5 WHERE id = $6 AND row_version = $7",
            )
            .bind(state.key())
            .bind(text.to_string())
            .bind(sha.to_string())
            .bind(ts.clone())
            .bind(actor.to_string())
            .bind(draft_id)
            .bind(row.row_version)
        };
        let (result_id, message) = match (&request, &decision.effect) {
            (Request::Comment { body }, _) => {
                if body.trim().is_empty() {
                    return Err(SignoffError::Refused("a comment needs some text".into()));
                }
                sqlx::query("INSERT INTO comments (draft_id, actor, at, body) VALUES ($1, $2, $3, $4)")
                    .bind(draft_id)
                    .bind(actor)
                    .bind(&ts)
                    .bind(body)
                    .execute(&mut *tx)
                    .await?;
                append_audit(&mut tx, &ts, actor, "comment", &entity, &sha256_hex(body.as_bytes())).await?;
                (draft_id, format!("{who} commented on the {title}"))
            }
            (Request::Edit { narrative }, effect) => {
                let mut content: DraftContent = serde_json::from_str(&content_text)
                    .map_err(|e| SignoffError::Store(StoreError::Query(sqlx::Error::Decode(Box::new(e)))))?;
                if &content.narrative == narrative {
                    return Err(SignoffError::Refused(format!("the edit changes nothing in the {title}")));
                }
                content.narrative = narrative.clone();
                let text = serde_json::to_string(&content).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                let sha = sha256_hex(text.as_bytes());
                let diff = narrative_diff(&content.model_narrative, narrative);
                let target = if *effect == Effect::NewVersion {
                    let version = row.version + 1;
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO drafts (id, artifact, cycle, version, parent_version, run_id, content, content_sha256,
                            state, row_version, created_at, created_by, updated_at, updated_by)
                         VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM drafts), $1, $2, $3, $4, $5, $6, $7, 'draft', 1,
                            $8, $9, $8, $9) RETURNING id",
                    )
                    .bind(&row.artifact)
                    .bind(&row.cycle)
                    .bind(version)
                    .bind(row.version)
                    .bind(row.run_id)
                    .bind(&text)
                    .bind(&sha)
                    .bind(&ts)
                    .bind(actor)
                    .fetch_one(&mut *tx)
                    .await?;
                    append_audit(&mut tx, &ts, actor, "new_version", &format!("draft:{id}"), &sha).await?;
                    id
                } else {
                    stale_check(bump(State::Draft, Some((&text, &sha))).execute(&mut *tx).await?, draft_id)?;
                    draft_id
                };
                sqlx::query(
                    "INSERT INTO edits (draft_id, actor, at, narrative, diff_vs_model, before_sha256, after_sha256)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(target)
                .bind(actor)
                .bind(&ts)
                .bind(narrative_text(narrative))
                .bind(&diff)
                .bind(&row.content_sha256)
                .bind(&sha)
                .execute(&mut *tx)
                .await?;
                append_audit(&mut tx, &ts, actor, "edit", &format!("draft:{target}"), &sha).await?;
                let message = if target == draft_id {
                    format!("{who} edited the {title}; it is a draft again and needs approval")
                } else {
                    format!(
                        "{who} edited the signed {title}: that stays signed; the edit is version {} (draft {target}), to be approved and signed again",
                        row.version + 1
                    )
                };
                (target, message)
            }
            (Request::Approve, _) | (Request::Reject { .. }, _) => {
                let (state, decision_key, reason) = match &request {
                    Request::Reject { reason } => (State::Rejected, "rejected", Some(reason.clone())),
                    _ => (State::Approved, "approved", None),
                };
                stale_check(bump(state, None).execute(&mut *tx).await?, draft_id)?;
                sqlx::query(
                    "INSERT INTO approvals (draft_id, actor, role, decision, reason, at, content_sha256)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(draft_id)
                .bind(actor)
                .bind(&role)
                .bind(decision_key)
                .bind(&reason)
                .bind(&ts)
                .bind(&row.content_sha256)
                .execute(&mut *tx)
                .await?;
                let verb = if state == State::Approved { "approve" } else { "reject" };
                append_audit(&mut tx, &ts, actor, verb, &entity, &row.content_sha256).await?;
                (draft_id, format!("{who} {decision_key} the {title}"))
            }
            (Request::Sign, Effect::Signed { role, completes }) => {
                let signature = key_signature(dir, actor, key, || {
                    keys::message(draft_id, &row.artifact, &row.cycle, row.version, role, actor, &row.content_sha256)
                })?;
                sqlx::query(
                    "INSERT INTO signatures (draft_id, actor, role, at, content_sha256, ed25519) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(draft_id)
                .bind(actor)
                .bind(role)
                .bind(&ts)
                .bind(&row.content_sha256)
                .bind(&signature)
                .execute(&mut *tx)
                .await?;
                let state = if *completes { State::Signed } else { State::Approved };
                stale_check(bump(state, None).execute(&mut *tx).await?, draft_id)?;
                append_audit(&mut tx, &ts, actor, "sign", &entity, &row.content_sha256).await?;
                let message = if *completes {
                    format!("{who} signed the {title} as {}; it is signed and frozen", role_title(role))
                } else {
                    let missing: Vec<&str> = artifact
                        .signer_roles()
                        .iter()
                        .copied()
                        .filter(|r| r != role && !situation.signed_roles.iter().any(|x| x == r))
                        .collect();
                    format!(
                        "{who} signed the {title} as {}; it still needs the signature of {}",
                        role_title(role),
                        dir.describe(&missing, " and ")
                    )
                };
                (draft_id, message)
            }
            (Request::Sign, _) => unreachable!("a legal signing decides a signature"),
        };
        let draft =
            draft_row(&sqlx::query("SELECT * FROM drafts WHERE id = $1").bind(result_id).fetch_one(&mut *tx).await?);
        crate::fail_point("signoff.before_commit");
        tx.commit().await?;
        Ok(Acted { draft, message })
    }

    /// For `snop status`: the newest version of each artifact of a cycle, and its signatures.
    pub async fn status(&self, cycle: &str) -> Result<Vec<StatusLine>, StoreError> {
        let mut out = Vec::new();
        for a in Artifact::ALL {
            let latest = self.drafts(Some(cycle), Some(a)).await?.into_iter().next();
            // When the newest version is an unsigned edit of a signed one, the signed one still
            // stands: say which it is and who signed it.
            let signed = self.latest_signed(a, cycle).await?;
            let own = match &latest {
                Some(l) => self.signatures(l.id).await?,
                None => Vec::new(),
            };
            let (signed_version, signatures) = if own.is_empty() {
                signed.map_or((None, Vec::new()), |s| (Some(s.row.version), s.signatures))
            } else {
                (latest.as_ref().map(|l| l.version), own)
            };
            out.push(StatusLine {
                artifact: a.key().into(),
                meeting: a.meeting().into(),
                exists: latest.is_some(),
                draft_id: latest.as_ref().map(|l| l.id),
                version: latest.as_ref().map(|l| l.version),
                state: latest.as_ref().map(|l| l.state),
                signed_version,
                signatures,
            });
        }
        Ok(out)
    }

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

    /// Checks the audit chain entry by entry, and every signed draft against the hash its
    /// signatures cover (and the run files its content names). Names the first problem.
    pub async fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        let rows = sqlx::query("SELECT * FROM audit_log ORDER BY seq").fetch_all(&self.pool).await?;
        let entries = rows.len() as i64;
        let mut prev = GENESIS.to_string();
        let mut hashes_by_entity: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
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
            if problem.is_some() {
                return Ok(AuditReport { entries, signed_drafts: 0, first_problem: problem });
            }
            hashes_by_entity.entry(entity).or_default().push((action, sha));
            prev = hash;
        }
        // Every recorded change has its entry: a log cut short at its end is caught here.
        let recorded = |entity: &str, actions: &[&str], sha: Option<&str>| {
            hashes_by_entity
                .get(entity)
                .is_some_and(|h| h.iter().any(|(a, x)| actions.contains(&a.as_str()) && sha.is_none_or(|s| s == x)))
        };
        let broken = |problem: String| AuditReport { entries, signed_drafts: 0, first_problem: Some(problem) };
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
                return Ok(broken(format!(
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
                return Ok(broken(format!(
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
                return Ok(broken(format!(
                    "decision {decision} said done by `{actor}` at {at} has no audit entry over its content: the log was cut or the row changed"
                )));
            }
        }
        let signed =
            sqlx::query("SELECT * FROM drafts WHERE state = 'signed' ORDER BY id").fetch_all(&self.pool).await?;
        let signed_drafts = signed.len() as i64;
        for r in &signed {
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
            } else if !hashes_by_entity
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
                                Err(_) => Some(format!(
                                    "{name}: the run file `{}` it was signed with is missing",
                                    path.display()
                                )),
                            }
                        })
                    }
                }
            };
            if problem.is_some() {
                return Ok(AuditReport { entries, signed_drafts, first_problem: problem });
            }
        }
        Ok(AuditReport { entries, signed_drafts, first_problem: None })
    }
}

/// The ed25519 signature a person's signing carries: required (and checked against their
/// public key) when `snop.toml` has one for them, refused when it has none.
fn key_signature(
    dir: &Directory,
    actor: &str,
    key: Option<&ed25519_dalek::SigningKey>,
    message: impl FnOnce() -> String,
) -> Result<Option<String>, SignoffError> {
    let who = dir.name(actor);
    match (dir.public_keys.get(actor), key) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(SignoffError::Refused(format!(
            "{who} has a public key in `snop.toml`: sign with `--key FILE`, their private key from `snop keys generate`"
        ))),
        (None, Some(_)) => Err(SignoffError::Refused(format!(
            "{who} has no public key in `snop.toml` to check a key against: add the `public_key` line `snop keys generate` printed under `[people.\"{actor}\"]`, or sign without `--key`"
        ))),
        (Some(public), Some(key)) => {
            let public = keys::parse_public(public).map_err(SignoffError::Refused)?;
            if key.verifying_key() != public {
                return Err(SignoffError::Refused(format!(
                    "that private key is not {who}'s: it does not match their public key in `snop.toml`"
                )));
            }
            Ok(Some(keys::sign(key, &message())))
        }
    }
}

fn stale_check(done: AnyQueryResult, draft_id: i64) -> Result<(), SignoffError> {
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(SignoffError::Stale(format!(
            "draft {draft_id} was changed by someone else while you acted: nothing was changed; look at it again and retry"
        )))
    }
}

/// One entry of the audit log, as a page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub ts: String,
    pub actor: String,
    pub action: String,
    pub content_sha256: String,
}

impl Store {
    /// The audit entries about one draft version, in order.
    pub async fn audit_of_draft(&self, draft_id: i64) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(sqlx::query("SELECT * FROM audit_log WHERE entity = $1 ORDER BY seq")
            .bind(format!("draft:{draft_id}"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| AuditEntry {
                seq: r.get("seq"),
                ts: r.get("ts"),
                actor: r.get("actor"),
                action: r.get("action"),
                content_sha256: r.get("content_sha256"),
            })
            .collect())
    }
}
