//! What differs between the store's two databases, named in one place. Everything else in the
//! store is portable SQL (`$1` placeholders, `BIGINT`/`TEXT` values, `RETURNING`, `ON CONFLICT`)
//! run once through sqlx's runtime-selected `Any` driver.
//!
//! The differences:
//! - **Connecting**: SQLite is a file in the workspace, opened in WAL mode with foreign keys on
//!   and a busy timeout; PostgreSQL is a server by URL (the password from the URL, `PGPASSWORD`
//!   or `~/.pgpass`).
//! - **The write lock** ([`begin_write`]): every writing transaction takes one store-wide lock
//!   before it reads what it will change, so the audit chain's next entry and the next run or
//!   draft number are computed by one writer at a time. SQLite: `BEGIN IMMEDIATE`; PostgreSQL:
//!   a transaction-scoped advisory lock (released by commit, rollback, or the connection dying).
//! - **Migrations**: `migrations/sqlite/` and `migrations/postgres/`, one for one, same names
//!   (a unit test below holds them to it). Identity columns (`INTEGER PRIMARY KEY
//!   AUTOINCREMENT` vs `BIGINT GENERATED ALWAYS AS IDENTITY`) and the triggers that freeze
//!   signed drafts, signatures and the audit log (a `RAISE(ABORT)` vs a plpgsql function) are
//!   written in each dialect there. Numbers people see (runs, drafts) are not left to a
//!   PostgreSQL sequence, which skips the number a killed transaction took: the insert gives
//!   `(SELECT COALESCE(MAX(id), 0) + 1 ...)`, safe under the write lock, the same SQL on both.

use std::path::Path;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, ConnectOptions, Transaction};

/// The database a store is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a store URL names: `postgres://` or `postgresql://`, else SQLite.
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// The key of PostgreSQL's store-wide write lock (`pg_advisory_xact_lock`): any fixed number
/// nothing else on the server uses; this one is "snop" in ASCII.
const PG_WRITE_LOCK: i64 = 0x736e_6f70;

/// A pool of connections to the store.
pub(crate) async fn connect(backend: Backend, root: &Path, url: &str) -> Result<AnyPool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    match backend {
        Backend::Sqlite => {
            let file = url.strip_prefix("sqlite://").unwrap_or(url);
            let path = std::path::absolute(root.join(file)).map_err(sqlx::Error::Io)?;
            let sqlite = SqliteConnectOptions::new().filename(path).create_if_missing(true);
            let options = AnyConnectOptions::from_url(&sqlite.to_url_lossy())?;
            AnyPoolOptions::new()
                .max_connections(4)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::raw_sql(
                            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .execute(conn)
                        .await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await
        }
        Backend::Postgres => {
            AnyPoolOptions::new().max_connections(4).acquire_timeout(Duration::from_secs(15)).connect(url).await
        }
    }
}

/// The schema's migrations for a backend.
pub(crate) fn migrator(backend: Backend) -> &'static Migrator {
    static SQLITE: Migrator = sqlx::migrate!("src/store/migrations/sqlite");
    static POSTGRES: Migrator = sqlx::migrate!("src/store/migrations/postgres");
    match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    }
}

/// Begins a transaction that holds the store's write lock (see the module's doc).
pub(crate) async fn begin_write(pool: &AnyPool, backend: Backend) -> Result<Transaction<'static, Any>, sqlx::Error> {
    match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(PG_WRITE_LOCK).execute(&mut *tx).await?;
            Ok(tx)
        }
    }
}

/// A store URL fit to print: the password, if any, replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((userinfo, host)) = rest.rsplit_once('@') else { return url.to_string() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every migration exists for both backends, under the same number and name: a migration
    /// added to one folder and not the other fails here.
    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |b: Backend| -> Vec<(i64, String)> {
            migrator(b).iter().map(|m| (m.version, m.description.to_string())).collect()
        };
        let sqlite = names(Backend::Sqlite);
        assert!(sqlite.len() >= 3, "{sqlite:?}");
        assert_eq!(sqlite, names(Backend::Postgres), "src/store/migrations/sqlite and postgres differ");
    }

    #[test]
    fn backends_by_url_and_passwords_kept_out_of_messages() {
        assert_eq!(Backend::of_url("sqlite://snop.db"), Backend::Sqlite);
        assert_eq!(Backend::of_url("postgres://snop@db.example/snop"), Backend::Postgres);
        assert_eq!(Backend::of_url("postgresql://db.example/snop"), Backend::Postgres);
        assert_eq!(redact("postgres://snop:s3cret@db.example:5432/snop"), "postgres://snop:***@db.example:5432/snop");
        assert_eq!(redact("postgres://snop@db.example/snop"), "postgres://snop@db.example/snop");
        assert_eq!(redact("sqlite://snop.db"), "sqlite://snop.db");
    }
}
