//! Executive decisions on the trade-offs of a cycle's reconciliation pack: the option chosen
//! (or another action written in), its owner, due date and note; or the plan (or one trade-off)
//! sent back with the reason. Append-only: a newer decision on the same trade-off supersedes the
//! older one, and both stay. The rules are pure and live in `analysis::executive`: only the COO
//! or the CEO decides (`may_decide`, checked here before recording), and a signed plan can only
//! be signed once every trade-off has a decision that the draft was built with
//! (`plan_sign_refusal`, called by `Store::act`).

use sqlx::Row;

use crate::analysis::executive::{Choice, DECIDER_ROLES, DecisionRow, DoneRow, may_decide, standing};
use crate::sop::Directory;

use super::{Store, StoreError};
use crate::draft::sha256_hex;
use crate::store::SignoffError;
use crate::store::audit::append_audit;
use crate::store::audit::now;

/// A decision to record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewDecision {
    pub cycle: String,
    /// The trade-off (a gap id of the pack); `None` sends the whole plan back.
    pub tradeoff_id: Option<String>,
    pub choice: Choice,
    pub owner: Option<String>,
    pub due: Option<String>,
    pub note: Option<String>,
    /// The what-if scenario the decision cites (its run for the cycle is checked by the caller);
    /// left out of the hashed JSON when none, so older decisions' hashes hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
}

/// The hash an audit entry of a decision covers: the decision as asked, who, under which role.
pub(crate) fn decision_sha(d: &NewDecision, actor: &str, role: &str) -> String {
    sha256_hex(serde_json::to_string(&(d, actor, role)).expect("a decision serializes").as_bytes())
}

/// A stored decision's hash, recomputed from its fields (what `snop audit verify` checks).
pub(crate) fn stored_sha(d: &DecisionRow) -> String {
    let asked = NewDecision {
        cycle: d.cycle.clone(),
        tradeoff_id: d.tradeoff_id.clone(),
        choice: d.choice.clone(),
        owner: d.owner.clone(),
        due: d.due.clone(),
        note: d.note.clone(),
        scenario: d.scenario.clone(),
    };
    decision_sha(&asked, &d.decided_by, &d.role)
}

pub(crate) fn decision_row(r: &sqlx::any::AnyRow) -> DecisionRow {
    let kind: String = r.get("kind");
    let choice = match kind.as_str() {
        "option" => Choice::Option { option: r.get::<Option<String>, _>("option_kind").unwrap_or_default() },
        "action" => Choice::Action { text: r.get::<Option<String>, _>("action_text").unwrap_or_default() },
        _ => Choice::SendBack { reason: r.get::<Option<String>, _>("reason").unwrap_or_default() },
    };
    DecisionRow {
        id: r.get("id"),
        cycle: r.get("cycle"),
        tradeoff_id: r.get("tradeoff_id"),
        choice,
        owner: r.get("owner"),
        due: r.get("due"),
        note: r.get("note"),
        decided_by: r.get("decided_by"),
        role: r.get("role"),
        decided_at: r.get("decided_at"),
        scenario: r.get("scenario"),
    }
}

impl Store {
    /// Records a decision, if `actor` may decide, with its audit entry, in one transaction.
    /// Whether the trade-off and the option exist is the caller's check (it reads the pack).
    pub async fn record_decision(
        &self,
        dir: &Directory,
        actor: &str,
        d: &NewDecision,
    ) -> Result<DecisionRow, SignoffError> {
        let role = may_decide(dir, actor).map_err(SignoffError::Refused)?;
        let (kind, option, text, reason) = match &d.choice {
            Choice::Option { option } => ("option", Some(option.clone()), None, None),
            Choice::Action { text } => ("action", None, Some(text.clone()), None),
            Choice::SendBack { reason } => ("send_back", None, None, Some(reason.clone())),
        };
        if kind != "send_back" && (d.owner.is_none() || d.due.is_none()) {
            return Err(SignoffError::Invalid("a decision needs an `--owner` and a `--due` date".into()));
        }
        let texts = [("a decision's note", &d.note), ("a decision's action", &text), ("a decision's reason", &reason)];
        if let Some(refusal) =
            texts.iter().find_map(|(what, t)| t.as_deref().and_then(|t| crate::draft::too_long(what, t)))
        {
            return Err(SignoffError::Invalid(refusal));
        }
        let ts = now();
        let sha = decision_sha(d, actor, &role);
        let mut tx = super::dialect::begin_write(&self.pool, self.backend).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO decisions (cycle, tradeoff_id, kind, option_kind, action_text, owner, due, note, reason,
                decided_by, role, decided_at, content_sha256, scenario)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(&d.cycle)
        .bind(&d.tradeoff_id)
        .bind(kind)
        .bind(&option)
        .bind(&text)
        .bind(&d.owner)
        .bind(&d.due)
        .bind(&d.note)
        .bind(&reason)
        .bind(actor)
        .bind(&role)
        .bind(&ts)
        .bind(&sha)
        .bind(&d.scenario)
        .fetch_one(&mut *tx)
        .await?;
        append_audit(
            &mut tx,
            &ts,
            actor,
            if kind == "send_back" { "send_back" } else { "decide" },
            &format!("decision:{id}"),
            &sha,
        )
        .await?;
        let row = sqlx::query("SELECT * FROM decisions WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(decision_row(&row))
    }

    /// Every decision of a cycle, oldest first.
    pub async fn decisions(&self, cycle: &str) -> Result<Vec<DecisionRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM decisions WHERE cycle = $1 ORDER BY id")
            .bind(cycle)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(decision_row).collect())
    }
}

impl Store {
    /// Records that the decision that counts on a trade-off of `cycle` was carried out, by its
    /// owner or the COO or the CEO, with its audit entry.
    pub async fn record_done(
        &self,
        dir: &Directory,
        actor: &str,
        cycle: &str,
        tradeoff: &str,
        note: Option<&str>,
    ) -> Result<DoneRow, SignoffError> {
        let decisions = self.decisions(cycle).await?;
        let counts = standing(&decisions);
        let Some(d) = counts.get(&Some(tradeoff.to_string())) else {
            return Err(SignoffError::Refused(format!(
                "trade-off `{tradeoff}` of {cycle} has no decision to carry out: `snop decide --cycle {cycle} --list` lists them"
            )));
        };
        if matches!(d.choice, Choice::SendBack { .. }) {
            return Err(SignoffError::Refused(format!(
                "trade-off `{tradeoff}` of {cycle} was sent back: there is nothing to carry out until it is decided"
            )));
        }
        if d.owner.as_deref() != Some(actor) && may_decide(dir, actor).is_err() {
            return Err(SignoffError::Refused(format!(
                "only the decision's owner ({}) or {} may say it is done",
                d.owner.as_deref().map_or_else(|| "nobody".to_string(), |o| dir.name(o)),
                dir.describe(&DECIDER_ROLES, " or ")
            )));
        }
        if let Some(refusal) = note.and_then(|n| crate::draft::too_long("a note", n)) {
            return Err(SignoffError::Invalid(refusal));
        }
        let ts = now();
        let sha = done_sha(d.id, actor, note);
        let mut tx = super::dialect::begin_write(&self.pool, self.backend).await?;
        let already: Option<i64> = sqlx::query_scalar("SELECT id FROM decision_done WHERE decision_id = $1")
            .bind(d.id)
            .fetch_optional(&mut *tx)
            .await?;
        if already.is_some() {
            return Err(SignoffError::Refused(format!("decision {} on `{tradeoff}` is already done", d.id)));
        }
        sqlx::query(
            "INSERT INTO decision_done (decision_id, done_by, done_at, note, content_sha256) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(d.id)
        .bind(actor)
        .bind(&ts)
        .bind(note)
        .bind(&sha)
        .execute(&mut *tx)
        .await?;
        append_audit(&mut tx, &ts, actor, "done", &format!("decision:{}", d.id), &sha).await?;
        tx.commit().await?;
        Ok(DoneRow { decision_id: d.id, done_by: actor.into(), done_at: ts, note: note.map(str::to_string) })
    }

    /// Every decision of a cycle said to be done.
    /// Where a cycle's decisions stand, as a key that changes with every decision or `done`
    /// recorded, of this cycle or any other (both tables are append-only: triggers refuse
    /// updates and deletes; the newest ids are read from their primary keys, at once at any size).
    pub async fn decisions_mark(&self, cycle: &str) -> Result<String, StoreError> {
        let r = sqlx::query(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM decisions) AS decided,
                    (SELECT COALESCE(MAX(id), 0) FROM decision_done) AS done",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(format!("{cycle}: decision {}, done {}", r.get::<i64, _>("decided"), r.get::<i64, _>("done")))
    }

    pub async fn decisions_done(&self, cycle: &str) -> Result<Vec<DoneRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT x.decision_id, x.done_by, x.done_at, x.note FROM decision_done x
             JOIN decisions d ON d.id = x.decision_id WHERE d.cycle = $1 ORDER BY x.id",
        )
        .bind(cycle)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| DoneRow {
                decision_id: r.get("decision_id"),
                done_by: r.get("done_by"),
                done_at: r.get("done_at"),
                note: r.get("note"),
            })
            .collect())
    }
}

/// The hash an audit entry of a decision carried out covers (what `snop audit verify` checks).
pub(crate) fn done_sha(decision_id: i64, actor: &str, note: Option<&str>) -> String {
    sha256_hex(serde_json::to_string(&(decision_id, actor, note)).expect("a done row serializes").as_bytes())
}

/// The newest decision id of a cycle (0 without any), inside a transaction.
pub(crate) async fn latest_decision_id(conn: &mut sqlx::AnyConnection, cycle: &str) -> Result<i64, sqlx::Error> {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT MAX(id) FROM decisions WHERE cycle = $1").bind(cycle).fetch_one(&mut *conn).await?;
    Ok(id.unwrap_or(0))
}
