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

/// A decision carried out, as recorded.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DoneRow {
    pub decision_id: i64,
    pub done_by: String,
    pub done_at: String,
    pub note: Option<String>,
}

/// How a decision of the executive meeting stands at a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    Done,
    /// Not done, and not yet due.
    Open,
    /// Not done, and its due date has passed.
    Overdue,
}

/// One decision of a cycle with how it stands `as_of` a date (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DecisionProgress {
    pub tradeoff_id: String,
    /// What was decided, as a person says it.
    pub decision: String,
    pub owner: String,
    pub due: String,
    pub progress: Progress,
    /// When it was done, and by whom.
    pub done: Option<(String, String)>,
}

/// How last cycle's decisions stand `as_of` a date: the decision that counts for each trade-off
/// (sent-back ones are not actions to carry out and are left out), done when a `done` row names
/// it, else overdue when its due date is before `as_of`, else open. Pure.
pub fn decision_progress(decisions: &[DecisionRow], done: &[DoneRow], as_of: &str) -> Vec<DecisionProgress> {
    standing(decisions)
        .into_iter()
        .filter_map(|(tradeoff, d)| {
            let tradeoff = tradeoff?;
            let decision = match &d.choice {
                Choice::Option { option } => option.replace('_', " "),
                Choice::Action { text } => text.clone(),
                Choice::SendBack { .. } => return None,
            };
            let due = d.due.clone().unwrap_or_default();
            let finished = done.iter().find(|x| x.decision_id == d.id);
            let progress = match finished {
                Some(_) => Progress::Done,
                None if !due.is_empty() && due.as_str() < as_of => Progress::Overdue,
                None => Progress::Open,
            };
            Some(DecisionProgress {
                tradeoff_id: tradeoff,
                decision,
                owner: d.owner.clone().unwrap_or_default(),
                due,
                progress,
                done: finished.map(|f| (f.done_at.clone(), f.done_by.clone())),
            })
        })
        .collect()
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

    /// Three trade-offs decided for 2027-01-10, 2027-01-20 and 2027-01-10; the first carried
    /// out; as of 2027-01-12 the second is open (not yet due) and the third overdue (two days
    /// past). A sent-back trade-off is no action; a later decision on a trade-off counts.
    #[test]
    fn decisions_are_done_open_or_overdue() {
        let d = |id: i64, t: &str, choice: Choice, due: &str| DecisionRow {
            id,
            cycle: "2026-12".into(),
            tradeoff_id: Some(t.into()),
            choice,
            owner: Some("sam.okafor".into()),
            due: Some(due.into()),
            note: None,
            decided_by: "olivia.chen".into(),
            role: "coo".into(),
            decided_at: "2026-12-17T10:00:00Z".into(),
        };
        let opt = |o: &str| Choice::Option { option: o.into() };
        let decisions = vec![
            d(1, "A", opt("overtime"), "2027-01-10"),
            d(2, "B", opt("expedite"), "2027-01-20"),
            d(3, "C", opt("accept_shortfall"), "2027-01-05"),
            d(4, "C", Choice::Action { text: "re-source from Brno".into() }, "2027-01-10"),
            d(5, "D", Choice::SendBack { reason: "redo".into() }, ""),
        ];
        let done = vec![DoneRow {
            decision_id: 1,
            done_by: "sam.okafor".into(),
            done_at: "2027-01-08T09:00:00Z".into(),
            note: None,
        }];
        let p = decision_progress(&decisions, &done, "2027-01-12");
        let got: Vec<(&str, &str, Progress)> =
            p.iter().map(|x| (x.tradeoff_id.as_str(), x.decision.as_str(), x.progress)).collect();
        assert_eq!(
            got,
            vec![
                ("A", "overtime", Progress::Done),
                ("B", "expedite", Progress::Open),
                ("C", "re-source from Brno", Progress::Overdue),
            ]
        );
        assert_eq!(p[0].done, Some(("2027-01-08T09:00:00Z".into(), "sam.okafor".into())));
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
