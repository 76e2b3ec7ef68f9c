//! The store: the only writer of runs, drafts, approvals, signatures and the audit log.
//! Embedded SQLite (one file in the workspace) by default, or a PostgreSQL server by URL for a
//! team that shares one store. One `Store` over both, through sqlx's runtime-selected `Any`
//! driver: the SQL is written once, portable; what differs between the two is named in
//! [`dialect`] (the write lock, the connection set-up, the migrations folder).
//!
//! A run's files (report, quarantine, pulled inputs) are written to a temporary folder, moved
//! into place, and only then is the run's row committed; a folder without a row is debris from
//! a crash and is removed by the next run to commit (whichever agent and cycle it is for: the
//! crashed run's number may go to another's folder), as is a staging folder whose process is
//! gone. So a reader who finds a row always finds its files, and nothing half-written is ever
//! listed, nor left behind.

pub mod audit;
pub mod decisions;
pub mod dialect;
pub mod keys;
pub mod nightly;
pub mod signoff;
pub mod users;
pub mod verify;

use std::path::{Path, PathBuf};

use sqlx::AnyPool as Pool;
use sqlx::Row;
use sqlx::any::AnyRow;

pub use dialect::Backend;

#[derive(Debug, thiserror::Error)]
pub enum SignoffError {
    /// The rules refuse the action; the message says why and who may.
    #[error("{0}")]
    Refused(String),
    /// The input does not stand (empty, too long, changes nothing, not one of the choices):
    /// the message says what to change. The web answers it 422, a refusal 403.
    #[error("{0}")]
    Invalid(String),
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

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store `{url}` cannot be opened: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("the store could not apply its schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("writing run files under `{path}` failed: {source}")]
    Files { path: PathBuf, source: std::io::Error },
}

/// A finished run, as listed by `snop runs`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRow {
    pub id: i64,
    pub agent: String,
    pub cycle: String,
    pub started_at: String,
    pub duration_ms: i64,
    pub outcome: String,
    pub inputs_sha256: String,
    pub rows_read: i64,
    pub rows_quarantined: i64,
    pub rows_kept: i64,
    pub folder: String,
}

/// A run to record.
pub struct NewRun<'a> {
    pub agent: &'a str,
    pub cycle: &'a str,
    pub started_at: &'a str,
    pub duration_ms: i64,
    pub outcome: &'a str,
    pub inputs_sha256: &'a str,
    pub rows_read: i64,
    pub rows_quarantined: i64,
    pub rows_kept: i64,
    pub report_json: &'a str,
    /// (source, table, location, sheet, sha256) per input file.
    pub inputs: Vec<(String, String, String, Option<String>, String)>,
    /// Files to keep with the run, relative to its folder.
    pub files: Vec<(String, Vec<u8>)>,
    /// The artifact's draft (a serialized `crate::draft::DraftContent`), stored in the run's own
    /// transaction: a new version, superseding the previous unsigned one.
    pub draft: Option<String>,
}

pub struct Store {
    pool: Pool,
    backend: Backend,
    root: PathBuf,
}

/// The LLM response cache, kept in the store (see [`Store::response_cache`]).
pub struct StoreCache {
    pool: Pool,
}

impl crate::narrative::ResponseCache for StoreCache {
    fn get<'a>(
        &'a self,
        key: &'a str,
    ) -> futures::future::BoxFuture<'a, anyhow::Result<Option<crate::narrative::Draft>>> {
        Box::pin(async move {
            let json: Option<String> = sqlx::query_scalar("SELECT draft_json FROM llm_cache WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
            Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
        })
    }
    fn put<'a>(
        &'a self,
        key: &'a str,
        draft: &'a crate::narrative::Draft,
    ) -> futures::future::BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO llm_cache (key, draft_json, created_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(serde_json::to_string(draft)?)
            .bind(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }
}

impl Store {
    /// Opens (creating if needed) the workspace's store and brings its schema up to date:
    /// `sqlite://FILE` (relative to the workspace) or `postgres://USER@HOST/DB`.
    pub async fn open(root: &Path, url: &str) -> Result<Store, StoreError> {
        let backend = Backend::of_url(url);
        let pool = dialect::connect(backend, root, url)
            .await
            .map_err(|source| StoreError::Open { url: dialect::redact(url), source })?;
        dialect::migrator(backend).run(&pool).await?;
        Ok(Store { pool, backend, root: root.to_path_buf() })
    }

    /// Which database the store is on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The LLM response cache in this store.
    pub fn response_cache(&self) -> StoreCache {
        StoreCache { pool: self.pool.clone() }
    }

    /// The latest run of an agent for a cycle that succeeded.
    pub async fn last_succeeded(&self, agent: &str, cycle: &str) -> Result<Option<RunRow>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM runs WHERE agent = $1 AND cycle = $2 AND outcome = 'succeeded' ORDER BY id DESC LIMIT 1",
        )
        .bind(agent)
        .bind(cycle)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(run_row))
    }

    /// One run by id.
    pub async fn run(&self, id: i64) -> Result<Option<RunRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM runs WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(run_row))
    }

    /// Runs, newest first, optionally of one agent or cycle.
    pub async fn runs(&self, agent: Option<&str>, cycle: Option<&str>) -> Result<Vec<RunRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM runs WHERE ($1 IS NULL OR agent = $1) AND ($2 IS NULL OR cycle = $2) ORDER BY id DESC",
        )
        .bind(agent)
        .bind(cycle)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(run_row).collect())
    }

    /// A file kept with a run (`report.json`, `consensus.parquet`, ...), if it has one.
    pub fn run_file(&self, run: &RunRow, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.root.join(&run.folder).join(name);
        match fs_err::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Files { path, source }),
        }
    }

    /// The draft version a run created, if it created one.
    pub async fn draft_of_run(&self, run_id: i64) -> Result<Option<crate::draft::DraftRow>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM drafts WHERE run_id = $1 ORDER BY version LIMIT 1")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match id {
            Some(id) => self.draft(id).await?.map(|d| d.row),
            None => None,
        })
    }

    /// Records a run and its files, all or nothing. Returns the run's row.
    pub async fn record_run(&self, run: NewRun<'_>) -> Result<RunRow, StoreError> {
        Ok(self.record(run, false).await?.0)
    }

    /// As [`Store::record_run`], unless the latest run of its agent and cycle has its identity
    /// (`inputs_sha256`): then that run, and nothing is written (false). Checked under the write
    /// lock, in the transaction that would insert it: two processes recording the same run at
    /// once record it once.
    pub async fn record_run_once(&self, run: NewRun<'_>) -> Result<(RunRow, bool), StoreError> {
        self.record(run, true).await
    }

    async fn record(&self, run: NewRun<'_>, once: bool) -> Result<(RunRow, bool), StoreError> {
        let runs_dir = self.root.join("runs");
        let files_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Files { path, source }
        };
        fs_err::create_dir_all(&runs_dir).map_err(files_err(&runs_dir))?;
        // The process id first (what `remove_debris` reads), then a number of this process's own:
        // two runs started in the same millisecond (two web jobs) get folders of their own.
        static STAGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = STAGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let staging = runs_dir.join(format!(".staging-{}-{n}-{}", std::process::id(), run.started_at.replace(':', "")));
        fs_err::create_dir_all(&staging).map_err(files_err(&staging))?;
        for (name, bytes) in &run.files {
            let path = staging.join(name);
            if let Some(parent) = path.parent() {
                fs_err::create_dir_all(parent).map_err(files_err(parent))?;
            }
            fs_err::write(&path, bytes).map_err(files_err(&path))?;
        }
        let result = self.commit_run(&run, &staging, once).await;
        if staging.exists() {
            let _ = fs_err::remove_dir_all(&staging);
        }
        result
    }

    async fn commit_run(&self, run: &NewRun<'_>, staging: &Path, once: bool) -> Result<(RunRow, bool), StoreError> {
        let mut tx = dialect::begin_write(&self.pool, self.backend).await?;
        if once {
            let latest = sqlx::query("SELECT * FROM runs WHERE agent = $1 AND cycle = $2 ORDER BY id DESC LIMIT 1")
                .bind(run.agent)
                .bind(run.cycle)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(latest) = latest.as_ref().map(run_row).filter(|r| r.inputs_sha256 == run.inputs_sha256) {
                tx.rollback().await?;
                return Ok((latest, false));
            }
        }
        // Run numbers are shown to people and name folders: the next one, never a gap after a
        // crash (a PostgreSQL sequence would skip the number a killed transaction took).
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO runs (id, agent, cycle, started_at, duration_ms, outcome, inputs_sha256, rows_read,
                rows_quarantined, rows_kept, folder, report_json)
             VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM runs), $1, $2, $3, $4, $5, $6, $7, $8, $9, '', $10)
             RETURNING id",
        )
        .bind(run.agent)
        .bind(run.cycle)
        .bind(run.started_at)
        .bind(run.duration_ms)
        .bind(run.outcome)
        .bind(run.inputs_sha256)
        .bind(run.rows_read)
        .bind(run.rows_quarantined)
        .bind(run.rows_kept)
        .bind(run.report_json)
        .fetch_one(&mut *tx)
        .await?;
        let folder = format!("runs/{}/{}/run-{id}", run.cycle, run.agent);
        sqlx::query("UPDATE runs SET folder = $1 WHERE id = $2").bind(&folder).bind(id).execute(&mut *tx).await?;
        for (source, table, location, sheet, sha) in &run.inputs {
            sqlx::query(
                "INSERT INTO run_inputs (run_id, source, table_name, location, sheet, sha256) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(source)
            .bind(table)
            .bind(location)
            .bind(sheet)
            .bind(sha)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(content) = &run.draft {
            // Every file of a drafted run hashed, with an audit entry over the list: what a
            // signature of its draft stands on (`snop audit verify` checks each file).
            let manifest: std::collections::BTreeMap<&str, String> =
                run.files.iter().map(|(name, bytes)| (name.as_str(), crate::draft::sha256_hex(bytes))).collect();
            let manifest = serde_json::to_string(&manifest).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            sqlx::query("UPDATE runs SET files_sha256 = $1 WHERE id = $2")
                .bind(&manifest)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let entity = format!("run:{id}");
            let sha = crate::draft::sha256_hex(manifest.as_bytes());
            audit::append_audit(&mut tx, &audit::now(), &format!("agent:{}", run.agent), "run_files", &entity, &sha)
                .await?;
            signoff::insert_draft(&mut tx, id, run.agent, content).await?;
        }
        // Under the write lock: no other run is between moving its files and committing.
        let kept: std::collections::HashSet<String> =
            sqlx::query_scalar("SELECT folder FROM runs").fetch_all(&mut *tx).await?.into_iter().collect();
        remove_debris(&self.root, &kept);
        let target = self.root.join(&folder);
        if target.exists() {
            // Debris of a run that crashed after moving its files and before committing.
            fs_err::remove_dir_all(&target).map_err(|source| StoreError::Files { path: target.clone(), source })?;
        }
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent)
                .map_err(|source| StoreError::Files { path: parent.to_path_buf(), source })?;
        }
        fs_err::rename(staging, &target).map_err(|source| StoreError::Files { path: target.clone(), source })?;
        crate::fail_point("store.after_files");
        let row = sqlx::query("SELECT * FROM runs WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok((run_row(&row), true))
    }
}

/// Removes what crashed runs left under `runs/`: a `runs/<cycle>/<agent>/run-<n>` folder that
/// no run row names (`kept`: every row's folder), and a `.staging-<pid>-<n>-...` folder whose
/// process is gone. Called under the write lock, so no run is between its files and its row. A
/// folder that cannot be removed is logged and left for the next run.
fn remove_debris(root: &Path, kept: &std::collections::HashSet<String>) {
    let runs = root.join("runs");
    let dirs = |p: &Path| -> Vec<(String, std::path::PathBuf)> {
        fs_err::read_dir(p)
            .map(|it| {
                it.filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let remove = |path: &Path| {
        if let Err(e) = fs_err::remove_dir_all(path) {
            tracing::warn!(error = %e, "removing the debris of a crashed run");
        } else {
            tracing::warn!(folder = %path.display(), "removed the debris of a crashed run");
        }
    };
    for (cycle, cycle_dir) in dirs(&runs) {
        if let Some(rest) = cycle.strip_prefix(".staging-") {
            let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
            let gone = pid.is_some_and(|p| p != std::process::id() && !Path::new(&format!("/proc/{p}")).exists());
            if gone && Path::new("/proc/self").exists() {
                remove(&cycle_dir);
            }
            continue;
        }
        for (agent, agent_dir) in dirs(&cycle_dir) {
            for (name, run_dir) in dirs(&agent_dir) {
                let numbered =
                    name.strip_prefix("run-").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                if numbered && !kept.contains(&format!("runs/{cycle}/{agent}/{name}")) {
                    remove(&run_dir);
                }
            }
        }
    }
}

fn run_row(r: &AnyRow) -> RunRow {
    RunRow {
        id: r.get("id"),
        agent: r.get("agent"),
        cycle: r.get("cycle"),
        started_at: r.get("started_at"),
        duration_ms: r.get("duration_ms"),
        outcome: r.get("outcome"),
        inputs_sha256: r.get("inputs_sha256"),
        rows_read: r.get("rows_read"),
        rows_quarantined: r.get("rows_quarantined"),
        rows_kept: r.get("rows_kept"),
        folder: r.get("folder"),
    }
}
