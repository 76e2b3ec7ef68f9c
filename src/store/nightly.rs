//! The store's part of nightly runs: the nights run, the notifications sent-log and the
//! meeting dates last announced. Schema in `migrations/sqlite/0006_nightly.sql`.

use super::{Store, StoreError};
use sqlx::Row as _;

/// A notification's row in the sent-log.
#[derive(Debug, Clone)]
pub struct SentLog {
    pub attempts: i64,
    pub sent_at: Option<String>,
}

/// Attempts to deliver one event to one recipient, for the sent-log.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub event: &'a str,
    pub recipient: &'a str,
    pub channel: &'a str,
    pub subject: &'a str,
    pub attempts: i64,
    /// The last error; `None`: delivered.
    pub error: Option<&'a str>,
    pub at: &'a str,
}

impl Store {
    /// The latest night that ran to its end.
    pub async fn last_completed_night(&self) -> Result<Option<chrono::NaiveDate>, StoreError> {
        let row =
            sqlx::query("SELECT night FROM nightly_runs WHERE finished_at IS NOT NULL ORDER BY night DESC LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|r| r.get::<String, _>("night").parse().ok()))
    }

    /// Records that a night started (again, when an earlier attempt did not finish).
    pub async fn start_night(&self, night: chrono::NaiveDate, at: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO nightly_runs (night, started_at) VALUES ($1, $2)
             ON CONFLICT (night) DO UPDATE SET started_at = $2, finished_at = NULL, outcome = NULL",
        )
        .bind(night.to_string())
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn finish_night(&self, night: chrono::NaiveDate, at: &str, outcome: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE nightly_runs SET finished_at = $2, outcome = $3 WHERE night = $1")
            .bind(night.to_string())
            .bind(at)
            .bind(outcome)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The sent-log row of an event for a recipient.
    pub async fn sent_log(&self, event: &str, recipient: &str) -> Result<Option<SentLog>, StoreError> {
        let row = sqlx::query("SELECT attempts, sent_at FROM notifications WHERE event = $1 AND recipient = $2")
            .bind(event)
            .bind(recipient)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| SentLog { attempts: r.get("attempts"), sent_at: r.get("sent_at") }))
    }

    /// Records attempts to deliver: sent (`error` is `None`) or failed.
    pub async fn log_attempt(&self, a: &Attempt<'_>) -> Result<(), StoreError> {
        let sent_at = a.error.is_none().then_some(a.at);
        sqlx::query(
            "INSERT INTO notifications (event, recipient, channel, subject, attempts, last_error, first_at, sent_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (event, recipient) DO UPDATE SET attempts = notifications.attempts + $5,
                 last_error = $6, sent_at = $8",
        )
        .bind(a.event)
        .bind(a.recipient)
        .bind(a.channel)
        .bind(a.subject)
        .bind(a.attempts)
        .bind(a.error)
        .bind(a.at)
        .bind(sent_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The dates last announced for a cycle's meetings: artifact key to (first, last).
    pub async fn announced_dates(&self, cycle: &str) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = sqlx::query("SELECT artifact, first_day, last_day FROM meeting_dates WHERE cycle = $1")
            .bind(cycle)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get("artifact"), r.get("first_day"), r.get("last_day"))).collect())
    }

    pub async fn announce_dates(&self, cycle: &str, artifact: &str, first: &str, last: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO meeting_dates (cycle, artifact, first_day, last_day) VALUES ($1, $2, $3, $4)
             ON CONFLICT (cycle, artifact) DO UPDATE SET first_day = $3, last_day = $4",
        )
        .bind(cycle)
        .bind(artifact)
        .bind(first)
        .bind(last)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
