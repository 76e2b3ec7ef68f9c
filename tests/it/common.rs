//! Helpers shared by the integration tests.

// Some helpers wait for the tests that will use them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `snop` binary built for these tests.
pub fn snop() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_snop"));
    cmd.env_remove("SNOP_WORKSPACE").env_remove("SNOP_STORE_URL").env_remove("RUST_LOG").env("NO_COLOR", "1");
    cmd
}

/// Runs `snop` with arguments in a folder; returns (exit code, stdout, stderr).
pub fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = snop().current_dir(dir).args(args).output().expect("snop runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The repository's root (for `fixtures/`, `pipelines/`).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies a folder tree (fixtures into a temporary workspace).
pub fn copy_dir(from: &Path, to: &Path) {
    fs_err::create_dir_all(to).unwrap();
    for entry in fs_err::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs_err::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A runtime for tests that drive the async library in-process.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(f)
}

/// The store a test runs on: every workflow test runs on both (see [`on_both_backends`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    /// A store URL for one test, as `snop.toml` says it: the workspace's SQLite file, or a fresh
    /// database on the test PostgreSQL server. Call it outside any async runtime.
    pub fn fresh_store(self) -> String {
        match self {
            Db::Sqlite => "sqlite://snop.db".into(),
            Db::Postgres => crate::pg::fresh_database(),
        }
    }

    /// `DROP TRIGGER`, as each dialect says it (a tamperer removing the last line of defence).
    pub fn drop_trigger(self, trigger: &str, table: &str) -> String {
        match self {
            Db::Sqlite => format!("DROP TRIGGER {trigger}"),
            Db::Postgres => format!("DROP TRIGGER {trigger} ON {table}"),
        }
    }
}

/// Runs SQL straight against a workspace's store, behind snop's back (`store` as in `snop.toml`,
/// a SQLite file relative to `ws`).
pub fn raw_sql(ws: &Path, store: &str, statements: &[&str]) {
    block_on(async {
        let pool = connect(ws, store).await;
        for s in statements {
            sqlx::query(sqlx::AssertSqlSafe(s.to_string())).execute(&pool).await.unwrap();
        }
        pool.close().await;
    });
}

/// A connection pool to a workspace's store, behind snop's back.
pub async fn connect(ws: &Path, store: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let url = match store.strip_prefix("sqlite://") {
        Some(file) => format!("sqlite://{}", ws.join(file).display()),
        None => store.to_string(),
    };
    sqlx::AnyPool::connect(&url).await.unwrap()
}

/// Points a workspace's `snop.toml` at a store.
pub fn set_store(ws: &Path, store: &str) {
    let path = ws.join("snop.toml");
    let text = fs_err::read_to_string(&path).unwrap();
    assert!(text.contains("url = \"sqlite://snop.db\""), "{text}");
    fs_err::write(&path, text.replace("url = \"sqlite://snop.db\"", &format!("url = \"{store}\""))).unwrap();
}

/// Runs each named test, a `fn name(db: Db)`, on SQLite and on PostgreSQL, as
/// `<module>::sqlite::name` and `<module>::postgres::name`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name($crate::common::Db::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name($crate::common::Db::Postgres) } )*
        }
    };
}
pub(crate) use on_both_backends;

/// A draft's stored content for tests that seed the store by hand: the test company, the mock
/// model, the narrative as given (also as the model's), and a one-page agenda that repeats the
/// headline.
pub fn draft_content(
    artifact: snop::sop::Artifact,
    cycle: &str,
    narrative: snop::narrative::Narrative,
    facts: serde_json::Value,
    files: std::collections::BTreeMap<String, String>,
) -> String {
    use snop::draft::{Agenda, DraftContent};
    serde_json::to_string(&DraftContent {
        artifact: artifact.key().into(),
        cycle: cycle.into(),
        company: "Test Pumps".into(),
        locale: None,
        currency: "EUR".into(),
        agenda: Agenda {
            meeting: artifact.meeting().into(),
            first_day: "2026-12-07".into(),
            last_day: "2026-12-09".into(),
            last_cycle: None,
            this_cycle: vec![narrative.headline.clone()],
            top_risks: vec!["Pumps may slip.".into()],
            decisions: vec![],
            scorecard: None,
        },
        model_narrative: narrative.clone(),
        narrative,
        narrative_source: "model".into(),
        fallback_reason: None,
        model: "snop-mock".into(),
        facts,
        files,
    })
    .unwrap()
}

/// A JSON file, parsed.
pub fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&fs_err::read_to_string(path).unwrap()).unwrap()
}

/// Compares what a run wrote (`actual`, a JSON file) with a golden file of the repository
/// (`golden`, relative to its root). With `SNOP_BLESS=1` in the environment it writes the run's
/// JSON there instead: then read the diff before committing it.
pub fn golden_json(actual: &std::path::Path, golden: &str) {
    let got = json(actual);
    let path = repo().join(golden);
    if std::env::var_os("SNOP_BLESS").is_some() {
        fs_err::write(&path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        return;
    }
    assert_eq!(got, json(&path), "{golden} differs from this run's: regenerate it with SNOP_BLESS=1 and read the diff");
}

/// Where test outputs are kept, emptied first: `$CARGO_TARGET_DIR/test-outputs/<name>`.
pub fn test_outputs(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().to_path_buf());
    let dir = target.join("test-outputs").join(name);
    let _ = fs_err::remove_dir_all(&dir);
    fs_err::create_dir_all(&dir).unwrap();
    dir
}
