//! Executive decisions on the trade-offs of a cycle's reconciliation pack: the option chosen
//! (or another action written in), its owner, due date and note; or the plan (or one trade-off)
//! sent back with the reason. Append-only: a newer decision on the same trade-off supersedes the
//! older one, and both stay. The rules live here: only the COO or the CEO decides
//! ([`may_decide`]), and a signed plan can only be signed once every trade-off has a decision
//! that the draft was built with ([`plan_sign_refusal`], called by `Store::act`).

use sqlx::Row;

pub use crate::analysis::executive::{Choice, DecisionRow, standing};

use super::signoff::{Directory, SignoffError, append_audit, now, sha256_hex};
use super::{Store, StoreError};

/// The roles that decide the executive meeting's trade-offs.
pub const DECIDER_ROLES: [&str; 2] = ["coo", "ceo"];

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
}

/// Whether `actor` may decide trade-offs: the role under which they decide, or why not.
pub fn may_decide(dir: &Directory, actor: &str) -> Result<String, String> {
    if !dir.names.contains_key(actor) {
        return Err(format!("`{actor}` is not a person in `snop.toml`: pass `--as` with a person id from `[people]`"));
    }
    let held = dir.roles_of(actor);
    DECIDER_ROLES.iter().find(|r| held.contains(r)).map(|r| r.to_string()).ok_or_else(|| {
        format!(
            "only {} may decide the executive meeting's trade-offs; {} is not allowed to",
            dir.describe(&DECIDER_ROLES, " or "),
            dir.name(actor)
        )
    })
}

/// Why a signed plan's draft may not be signed, if it may not: its facts name the trade-offs
/// without a decision (`undecided`), whether it was sent back (`sent_back`), and the newest
/// decision it was built with (`decisions_through`), against the newest recorded one.
pub fn plan_sign_refusal(facts: &serde_json::Value, cycle: &str, latest_decision: i64) -> Option<String> {
    if let Some(sent) = facts.get("sent_back").and_then(serde_json::Value::as_str) {
        return Some(format!("the signed plan of {cycle} cannot be signed: it was sent back: {sent}"));
    }
    let undecided: Vec<&str> = facts
        .get("undecided")
        .and_then(serde_json::Value::as_array)
        .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    if !undecided.is_empty() {
        return Some(format!(
            "the signed plan of {cycle} cannot be signed: {} trade-off(s) have no decision: {}\nhint: the COO or the CEO decides each with `snop decide --cycle {cycle} --tradeoff ID --option KIND --owner PERSON --due YYYY-MM-DD`, then `snop run executive --cycle {cycle}` again",
            undecided.len(),
            undecided.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    let through = facts.get("decisions_through").and_then(serde_json::Value::as_i64).unwrap_or(0);
    if latest_decision > through {
        return Some(format!(
            "the signed plan of {cycle} cannot be signed: it was built before the latest decision (decision {latest_decision})\nhint: run `snop run executive --cycle {cycle}` again to build it with every decision, then approve and sign the new version"
        ));
    }
    None
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
            return Err(SignoffError::Refused("a decision needs an `--owner` and a `--due` date".into()));
        }
        let ts = now();
        let sha = decision_sha(d, actor, &role);
        let mut tx = super::dialect::begin_write(&self.pool, self.backend).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO decisions (cycle, tradeoff_id, kind, option_kind, action_text, owner, due, note, reason,
                decided_by, role, decided_at, content_sha256)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
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

/// The newest decision id of a cycle (0 without any), inside a transaction.
pub(crate) async fn latest_decision_id(conn: &mut sqlx::AnyConnection, cycle: &str) -> Result<i64, sqlx::Error> {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT MAX(id) FROM decisions WHERE cycle = $1").bind(cycle).fetch_one(&mut *conn).await?;
    Ok(id.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> Directory {
        let mut d = Directory::default();
        for (role, id, name) in
            [("coo", "olivia.chen", "Olivia Chen"), ("demand_lead", "dana.whitfield", "Dana Whitfield")]
        {
            d.roles.insert(role.into(), vec![id.into()]);
            d.names.insert(id.into(), name.into());
        }
        d
    }

    #[test]
    fn only_the_coo_or_the_ceo_decides() {
        assert_eq!(may_decide(&dir(), "olivia.chen"), Ok("coo".to_string()));
        let no = may_decide(&dir(), "dana.whitfield").unwrap_err();
        assert!(no.starts_with("only the COO (Olivia Chen) or the CEO"), "{no}");
        assert!(no.ends_with("Dana Whitfield is not allowed to"), "{no}");
        assert!(may_decide(&dir(), "nobody").unwrap_err().contains("is not a person in `snop.toml`"));
    }

    #[test]
    fn a_plan_is_signed_only_fully_decided_not_sent_back_and_built_with_the_latest_decision() {
        let facts = |undecided: &[&str], sent_back: Option<&str>, through: i64| serde_json::json!({ "undecided": undecided, "sent_back": sent_back, "decisions_through": through });
        let r = plan_sign_refusal(&facts(&["CAP-A-2027-01", "MAT-B-2027-02"], None, 3), "2026-12", 3).unwrap();
        assert!(r.contains("2 trade-off(s) have no decision: `CAP-A-2027-01`, `MAT-B-2027-02`"), "{r}");
        let r = plan_sign_refusal(&facts(&[], Some("the whole plan: redo valves"), 3), "2026-12", 3).unwrap();
        assert!(r.contains("it was sent back: the whole plan: redo valves"), "{r}");
        let r = plan_sign_refusal(&facts(&[], None, 3), "2026-12", 4).unwrap();
        assert!(r.contains("built before the latest decision (decision 4)"), "{r}");
        assert_eq!(plan_sign_refusal(&facts(&[], None, 4), "2026-12", 4), None);
    }
}
