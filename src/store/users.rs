//! People who log in to `snop serve`, and their sessions. Who a person is and which roles they
//! hold stay in `snop.toml`; this keeps only how they log in (an argon2 hash, made by the
//! caller), the failed-login counter, and sessions. Session tokens are stored as their sha256
//! only. Adding, disabling and resetting a user are audit entries, like every other change.

use sqlx::Row;

use super::{Store, StoreError};
use crate::draft::sha256_hex;
use crate::store::audit::append_audit;
use crate::store::audit::now;

/// A user as listed by `snop users list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UserRow {
    pub person: String,
    pub disabled: bool,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// What a login needs to judge a password.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub person: String,
    pub password_phc: String,
    pub disabled: bool,
    pub failed_logins: i64,
    pub locked_until: Option<String>,
}

/// A live or expired session, as stored.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub person: String,
    pub csrf_token: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
}

fn user_row(r: &sqlx::any::AnyRow) -> UserRow {
    UserRow {
        person: r.get("person"),
        disabled: r.get::<i64, _>("disabled") != 0,
        failed_logins: r.get("failed_logins"),
        locked_until: r.get("locked_until"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

impl Store {
    /// Adds a user; `false` when the person already has one (nothing changed).
    pub async fn add_user(&self, person: &str, password_phc: &str, by: &str) -> Result<bool, StoreError> {
        let mut tx = super::dialect::begin_write(&self.pool, self.backend).await?;
        let exists: Option<String> = sqlx::query_scalar("SELECT person FROM users WHERE person = $1")
            .bind(person)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Ok(false);
        }
        let ts = now();
        sqlx::query(
            "INSERT INTO users (person, password_phc, disabled, failed_logins, created_at, updated_at)
             VALUES ($1, $2, 0, 0, $3, $3)",
        )
        .bind(person)
        .bind(password_phc)
        .bind(&ts)
        .execute(&mut *tx)
        .await?;
        append_audit(&mut tx, &ts, by, "user_add", &format!("user:{person}"), &sha256_hex(person.as_bytes())).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Every user, by person id.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY person").fetch_all(&self.pool).await?;
        Ok(rows.iter().map(user_row).collect())
    }

    /// Disables a user and ends their sessions; `false` when there is no such user.
    pub async fn disable_user(&self, person: &str, by: &str) -> Result<bool, StoreError> {
        self.change_user(
            person,
            by,
            "user_disable",
            "UPDATE users SET disabled = 1, updated_at = $1 WHERE person = $2",
            None,
        )
        .await
    }

    /// Sets a new password, enables the user, clears the failure counter and the lock, and ends
    /// their sessions; `false` when there is no such user.
    pub async fn reset_password(&self, person: &str, password_phc: &str, by: &str) -> Result<bool, StoreError> {
        self.change_user(
            person,
            by,
            "user_reset_password",
            "UPDATE users SET password_phc = $3, disabled = 0, failed_logins = 0, locked_until = NULL, updated_at = $1
             WHERE person = $2",
            Some(password_phc),
        )
        .await
    }

    async fn change_user(
        &self,
        person: &str,
        by: &str,
        action: &str,
        update: &'static str,
        password_phc: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut tx = super::dialect::begin_write(&self.pool, self.backend).await?;
        let ts = now();
        let mut q = sqlx::query(update).bind(&ts).bind(person);
        if let Some(p) = password_phc {
            q = q.bind(p);
        }
        if q.execute(&mut *tx).await?.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM sessions WHERE person = $1").bind(person).execute(&mut *tx).await?;
        append_audit(&mut tx, &ts, by, action, &format!("user:{person}"), &sha256_hex(person.as_bytes())).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A user's password hash and login state, if the person has a user.
    pub async fn credentials(&self, person: &str) -> Result<Option<Credentials>, StoreError> {
        let r = sqlx::query("SELECT * FROM users WHERE person = $1").bind(person).fetch_optional(&self.pool).await?;
        Ok(r.map(|r| Credentials {
            person: r.get("person"),
            password_phc: r.get("password_phc"),
            disabled: r.get::<i64, _>("disabled") != 0,
            failed_logins: r.get("failed_logins"),
            locked_until: r.get("locked_until"),
        }))
    }

    /// Counts a failed login; at `lock_after` consecutive failures the user is locked until
    /// `lock_until` (an audit entry says so) and their sessions end. Returns whether this failure
    /// locked them. The caller judges a live lock first: tries while locked are not counted, so
    /// they never push the lock forward.
    pub async fn login_failed(&self, person: &str, lock_after: i64, lock_until: &str) -> Result<bool, StoreError> {
        let mut tx = super::dialect::begin_write(&self.pool, self.backend).await?;
        let failures: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET failed_logins = failed_logins + 1 WHERE person = $1 RETURNING failed_logins",
        )
        .bind(person)
        .fetch_optional(&mut *tx)
        .await?;
        let locks = failures.is_some_and(|f| f >= lock_after);
        if locks {
            sqlx::query("UPDATE users SET locked_until = $1, failed_logins = 0 WHERE person = $2")
                .bind(lock_until)
                .bind(person)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE person = $1").bind(person).execute(&mut *tx).await?;
            let ts = now();
            append_audit(
                &mut tx,
                &ts,
                "snop serve",
                "user_lock",
                &format!("user:{person}"),
                &sha256_hex(lock_until.as_bytes()),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(locks)
    }

    /// Starts a session for a person who gave the right password: clears their failure counter
    /// and stores the new token's hash. The token is the caller's (fresh for every login, so a
    /// token planted before login is worth nothing).
    pub async fn start_session(
        &self,
        person: &str,
        token: &str,
        csrf_token: &str,
        expires_at: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let ts = now();
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE person = $1")
            .bind(person)
            .execute(&mut *tx)
            .await?;
        // Sessions that ended by time are removed as others start.
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(&ts).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO sessions (token_sha256, person, csrf_token, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(sha256_hex(token.as_bytes()))
        .bind(person)
        .bind(csrf_token)
        .bind(&ts)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session a token belongs to, if it exists and its user is enabled (expiry is the
    /// caller's to judge, against its own clock and idle limit).
    pub async fn session(&self, token: &str) -> Result<Option<SessionRow>, StoreError> {
        let r = sqlx::query(
            "SELECT s.* FROM sessions s JOIN users u ON u.person = s.person
             WHERE s.token_sha256 = $1 AND u.disabled = 0",
        )
        .bind(sha256_hex(token.as_bytes()))
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(|r| SessionRow {
            person: r.get("person"),
            csrf_token: r.get("csrf_token"),
            created_at: r.get("created_at"),
            last_seen_at: r.get("last_seen_at"),
            expires_at: r.get("expires_at"),
        }))
    }

    /// Notes that a session was used now (for the idle limit).
    pub async fn touch_session(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_sha256 = $2")
            .bind(now())
            .bind(sha256_hex(token.as_bytes()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a session (logout, or found expired).
    pub async fn end_session(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1")
            .bind(sha256_hex(token.as_bytes()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
