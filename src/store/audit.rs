//! The hash-chained audit log: every change to a draft, a decision or a user is appended with
//! its entry in the change's own transaction ([`append_audit`]); each entry's hash covers the
//! previous entry's, so `snop audit verify` (`store::verify`) finds a changed, removed or
//! reordered entry.

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};

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

/// The chain's end inside the caller's transaction: how many entries it has and the last one's
/// hash ([`GENESIS`] when empty).
pub(crate) async fn chain_end(conn: &mut AnyConnection) -> Result<(i64, String), sqlx::Error> {
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *conn).await?;
    Ok(last.unwrap_or_else(|| (0, GENESIS.to_string())))
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
    let (count, prev) = chain_end(conn).await?;
    let seq = count + 1;
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

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
