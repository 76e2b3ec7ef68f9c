//! Sign-off in the store: drafts and their versions, edits, comments, approvals and signatures.
//! The rules are [`crate::draft::verdict`]'s (which action is legal in which state for which
//! role); [`Store::act`] applies a legal action in one transaction together with its audit
//! entry ([`super::audit`]).
//!
//! - Every mutating call carries the row version it read; a stale one is refused, never
//!   silently overwritten (comments are append-only and carry none: they cannot lose an update).
//! - Signing needs an approved draft; a signature covers the content hash of exactly what was
//!   signed; a signed draft never changes (a trigger aborts any update), and editing it makes a
//!   new version that must be approved and signed again.
//! - `snop audit verify` ([`super::verify`]) finds a changed, removed or reordered audit entry,
//!   and a signed draft whose content no longer matches.

use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::{AnyQueryResult, AnyRow};

use super::audit::{append_audit, now};
use super::{SignoffError, Store, StoreError, keys};
use crate::draft::{
    Action, ApprovalRow, CommentRow, DraftContent, DraftDetail, DraftRow, EditRow, Effect, Request, SignatureRow,
    Situation, State, StatusLine, Verdict, narrative_diff, narrative_text, sha256_hex, verdict,
};
use crate::sop::{Artifact, Directory, role_title};

pub(crate) fn draft_row(r: &AnyRow) -> DraftRow {
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

    pub(crate) async fn signatures(&self, draft_id: i64) -> Result<Vec<SignatureRow>, StoreError> {
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
        let (a, verdict) = Acting::read(&mut tx, dir, draft_id, actor, &request, expected_row_version).await?;
        let (result_id, message) = match (&request, &verdict.effect) {
            (Request::Comment { body }, _) => a.comment(&mut tx, body).await?,
            (Request::Edit { narrative }, effect) => a.edit(&mut tx, narrative, effect).await?,
            (Request::Approve, _) | (Request::Reject { .. }, _) => {
                a.approve_or_reject(&mut tx, &request, &verdict.role.clone().unwrap_or_default()).await?
            }
            (Request::Sign, Effect::Signed { role, completes }) => a.sign(&mut tx, key, role, *completes).await?,
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
}

/// A draft as one person's request found it, inside the request's transaction: what every kind
/// of change reads and says.
struct Acting<'a> {
    dir: &'a Directory,
    actor: &'a str,
    row: DraftRow,
    content_text: String,
    artifact: Artifact,
    /// The roles that signed the current content (for what a signature still misses).
    signed_roles: Vec<String>,
    ts: String,
    /// `draft:<id>`, the audit entry's entity.
    entity: String,
    who: String,
    /// "supply plan 2026-12 version 2", as messages name the draft.
    title: String,
}

impl<'a> Acting<'a> {
    /// Reads the draft, checks the row version the caller read (comments need none), asks the
    /// rules ([`verdict`]) and, for the signed plan, whether every trade-off is decided.
    async fn read(
        tx: &mut AnyConnection,
        dir: &'a Directory,
        draft_id: i64,
        actor: &'a str,
        request: &Request,
        expected_row_version: Option<i64>,
    ) -> Result<(Acting<'a>, Verdict), SignoffError> {
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
            check_row_version(&row, action, expected_row_version)?;
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
            signed_roles: signed_roles.clone(),
        };
        let decision = verdict(dir, actor, action, &situation).map_err(SignoffError::Refused)?;
        // The signed plan binds the executive decisions: it is signed only with every trade-off
        // decided, and only as built with the latest decision.
        if artifact == Artifact::SignedPlan && action == Action::Sign {
            let content: DraftContent = serde_json::from_str(&content_text)
                .map_err(|e| SignoffError::Store(StoreError::Query(sqlx::Error::Decode(Box::new(e)))))?;
            let latest = super::decisions::latest_decision_id(tx, &row.cycle).await?;
            if let Some(refusal) = crate::analysis::executive::plan_sign_refusal(&content.facts, &row.cycle, latest) {
                return Err(SignoffError::Refused(refusal));
            }
        }
        let title = format!("{} {} version {}", artifact.title(), row.cycle, row.version);
        let acting = Acting {
            dir,
            actor,
            content_text,
            artifact,
            signed_roles,
            ts: now(),
            entity: format!("draft:{draft_id}"),
            who: dir.name(actor),
            title,
            row,
        };
        Ok((acting, decision))
    }

    /// Moves the draft to `state` (with new content when given), checking the row version again
    /// in the update itself: never a silent overwrite.
    async fn bump(
        &self,
        tx: &mut AnyConnection,
        state: State,
        content: Option<(&str, &str)>,
    ) -> Result<(), SignoffError> {
        let (text, sha) = content.unwrap_or((&self.content_text, &self.row.content_sha256));
        let done = sqlx::query(
            "UPDATE drafts SET state = $1, content = $2, content_sha256 = $3, row_version = row_version + 1,
                updated_at = $4, updated_by = $5 WHERE id = $6 AND row_version = $7",
        )
        .bind(state.key())
        .bind(text.to_string())
        .bind(sha.to_string())
        .bind(self.ts.clone())
        .bind(self.actor.to_string())
        .bind(self.row.id)
        .bind(self.row.row_version)
        .execute(&mut *tx)
        .await?;
        stale_check(done, self.row.id)
    }

    /// A comment appended; the draft does not change.
    async fn comment(&self, tx: &mut AnyConnection, body: &str) -> Result<(i64, String), SignoffError> {
        let row = &self.row;
        let (draft_id, actor, ts, who, title) = (row.id, self.actor, self.ts.as_str(), &self.who, &self.title);
        if body.trim().is_empty() {
            return Err(SignoffError::Invalid("a comment needs some text".into()));
        }
        if let Some(refusal) = crate::draft::too_long("a comment", body) {
            return Err(SignoffError::Invalid(refusal));
        }
        sqlx::query("INSERT INTO comments (draft_id, actor, at, body) VALUES ($1, $2, $3, $4)")
            .bind(draft_id)
            .bind(actor)
            .bind(ts)
            .bind(body)
            .execute(&mut *tx)
            .await?;
        append_audit(tx, ts, actor, "comment", &self.entity, &sha256_hex(body.as_bytes())).await?;
        Ok((draft_id, format!("{who} commented on the {title}")))
    }

    /// The narrative edited: in place (a draft again, to be approved), or, on a signed draft, as
    /// a new version to be approved and signed again.
    async fn edit(
        &self,
        tx: &mut AnyConnection,
        narrative: &crate::narrative::Narrative,
        effect: &Effect,
    ) -> Result<(i64, String), SignoffError> {
        let row = &self.row;
        let (draft_id, actor, ts, who, title) = (row.id, self.actor, self.ts.as_str(), &self.who, &self.title);
        let mut content: DraftContent = serde_json::from_str(&self.content_text)
            .map_err(|e| SignoffError::Store(StoreError::Query(sqlx::Error::Decode(Box::new(e)))))?;
        if &content.narrative == narrative {
            return Err(SignoffError::Invalid(format!("the edit changes nothing in the {title}")));
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
            .bind(ts)
            .bind(actor)
            .fetch_one(&mut *tx)
            .await?;
            append_audit(tx, ts, actor, "new_version", &format!("draft:{id}"), &sha).await?;
            id
        } else {
            self.bump(tx, State::Draft, Some((&text, &sha))).await?;
            draft_id
        };
        sqlx::query(
            "INSERT INTO edits (draft_id, actor, at, narrative, diff_vs_model, before_sha256, after_sha256)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(target)
        .bind(actor)
        .bind(ts)
        .bind(narrative_text(narrative))
        .bind(&diff)
        .bind(&row.content_sha256)
        .bind(&sha)
        .execute(&mut *tx)
        .await?;
        append_audit(tx, ts, actor, "edit", &format!("draft:{target}"), &sha).await?;
        let message = if target == draft_id {
            format!("{who} edited the {title}; it is a draft again and needs approval")
        } else {
            format!(
                "{who} edited the signed {title}: that stays signed; the edit is version {} (draft {target}), to be approved and signed again",
                row.version + 1
            )
        };
        Ok((target, message))
    }

    /// An approval or a rejection under the owner's role, recorded with the content it was for.
    async fn approve_or_reject(
        &self,
        tx: &mut AnyConnection,
        request: &Request,
        role: &str,
    ) -> Result<(i64, String), SignoffError> {
        let row = &self.row;
        let (draft_id, actor, ts, who, title) = (row.id, self.actor, self.ts.as_str(), &self.who, &self.title);
        let (state, decision_key, reason) = match request {
            Request::Reject { reason } => (State::Rejected, "rejected", Some(reason.clone())),
            _ => (State::Approved, "approved", None),
        };
        if let Some(refusal) = reason.as_deref().and_then(|r| crate::draft::too_long("a rejection's reason", r)) {
            return Err(SignoffError::Invalid(refusal));
        }
        self.bump(tx, state, None).await?;
        sqlx::query(
            "INSERT INTO approvals (draft_id, actor, role, decision, reason, at, content_sha256)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(draft_id)
        .bind(actor)
        .bind(role)
        .bind(decision_key)
        .bind(&reason)
        .bind(ts)
        .bind(&row.content_sha256)
        .execute(&mut *tx)
        .await?;
        let verb = if state == State::Approved { "approve" } else { "reject" };
        append_audit(tx, ts, actor, verb, &self.entity, &row.content_sha256).await?;
        Ok((draft_id, format!("{who} {decision_key} the {title}")))
    }

    /// A signature under `role` (with the signer's key, when they registered one); the draft is
    /// signed when it `completes` the signatures the artifact needs.
    async fn sign(
        &self,
        tx: &mut AnyConnection,
        key: Option<&ed25519_dalek::SigningKey>,
        role: &str,
        completes: bool,
    ) -> Result<(i64, String), SignoffError> {
        let row = &self.row;
        let (draft_id, actor, ts, who, title) = (row.id, self.actor, self.ts.as_str(), &self.who, &self.title);
        // The audit chain's end as it stands (under the write lock): the signature's own entry
        // follows it, and the signature records (and with a key, signs) it.
        let (audit_count, audit_hash) = super::audit::chain_end(tx).await?;
        let signature = key_signature(self.dir, actor, key, || {
            keys::message_v2(&keys::Signed {
                draft_id,
                artifact: &row.artifact,
                cycle: &row.cycle,
                version: row.version,
                role,
                actor,
                sha: &row.content_sha256,
                at: ts,
                audit_count,
                audit_hash: &audit_hash,
            })
        })?;
        sqlx::query(
            "INSERT INTO signatures (draft_id, actor, role, at, content_sha256, ed25519, audit_count, audit_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(draft_id)
        .bind(actor)
        .bind(role)
        .bind(ts)
        .bind(&row.content_sha256)
        .bind(&signature)
        .bind(audit_count)
        .bind(&audit_hash)
        .execute(&mut *tx)
        .await?;
        let state = if completes { State::Signed } else { State::Approved };
        self.bump(tx, state, None).await?;
        append_audit(tx, ts, actor, "sign", &self.entity, &row.content_sha256).await?;
        let message = if completes {
            format!("{who} signed the {title} as {}; it is signed and frozen", role_title(role))
        } else {
            let missing: Vec<&str> = self
                .artifact
                .signer_roles()
                .iter()
                .copied()
                .filter(|r| *r != role && !self.signed_roles.iter().any(|x| x == r))
                .collect();
            format!(
                "{who} signed the {title} as {}; it still needs the signature of {}",
                role_title(role),
                self.dir.describe(&missing, " and ")
            )
        };
        Ok((draft_id, message))
    }
}

/// The row version the caller read must be the draft's: a stale one is refused, never
/// silently overwritten.
fn check_row_version(row: &DraftRow, action: Action, expected: Option<i64>) -> Result<(), SignoffError> {
    let draft_id = row.id;
    match expected {
        None => Err(SignoffError::Refused(format!(
            "to {} draft {draft_id}, say which row version you read: `--row-version {}` (see `snop drafts show {draft_id}`)",
            action.verb(),
            row.row_version
        ))),
        Some(v) if v != row.row_version => Err(SignoffError::Stale(format!(
            "draft {draft_id} was changed by {} at {} since you read it (row version {v}, now {}): nothing was changed; look at it again with `snop drafts show {draft_id}` and retry",
            row.updated_by, row.updated_at, row.row_version
        ))),
        Some(_) => Ok(()),
    }
}

/// The ed25519 signature a person's signing carries: required (and checked against their
/// public key) when `snop.toml` has one for them, refused when it has none; with `[signoff]
/// require_keys`, nobody signs without one.
fn key_signature(
    dir: &Directory,
    actor: &str,
    key: Option<&ed25519_dalek::SigningKey>,
    message: impl FnOnce() -> String,
) -> Result<Option<String>, SignoffError> {
    let who = dir.name(actor);
    match (dir.public_keys.get(actor), key) {
        (None, None) if dir.require_keys => Err(SignoffError::Refused(format!(
            "`[signoff] require_keys` in `snop.toml` says every signature needs the signer's key, and {who} has none: run `snop keys generate --as {actor}`, add the `public_key` line it prints under `[people.\"{actor}\"]` in `snop.toml`, then sign with `snop drafts sign ID --as {actor} --row-version N --key FILE`"
        ))),
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
