//! A private, throwaway PostgreSQL server for the tests, started once per test binary from the
//! OS's own programs (`/usr/lib/postgresql/<version>/bin`): its data folder and socket in a
//! temporary folder, listening on a free loopback port, with trust authentication for the
//! `snop` user, and TLS on with a certificate made for it (so a test can check that a store URL
//! with `sslmode=verify-full` really verifies). Each test gets a fresh database. A watchdog
//! process stops the server and removes its folder when the test binary exits, however it exits.
//!
//! With `SNOP_TEST_POSTGRES_URL` set (a URL of a server where the tests may create databases),
//! that server is used for the workflow tests instead (the TLS test still needs the private
//! server, whose certificate it knows). Without either, the PostgreSQL tests fail and say what
//! to install: they never skip.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::Connection;

pub const URL_ENV: &str = "SNOP_TEST_POSTGRES_URL";

/// A server the tests may create databases on.
pub struct Server {
    /// A URL of the server's `postgres` database, as a superuser.
    pub admin_url: String,
    /// The certificate the server's TLS certificate is checked against.
    pub root_cert: PathBuf,
}

static PRIVATE: OnceLock<Result<Server, String>> = OnceLock::new();
static DATABASES: AtomicU64 = AtomicU64::new(0);

/// The private test server, started on first use. Call it outside any async runtime.
pub fn private_server() -> &'static Server {
    PRIVATE.get_or_init(start).as_ref().unwrap_or_else(|e| panic!("{e}"))
}

/// The URL of a new, empty database for one test, on `SNOP_TEST_POSTGRES_URL`'s server or the
/// private one. Call it outside any async runtime.
pub fn fresh_database() -> String {
    match std::env::var(URL_ENV) {
        Ok(url) if !url.is_empty() => database_on(&url),
        _ => database_on(&private_server().admin_url),
    }
}

/// A new, empty database on a server, as a URL.
pub fn database_on(admin: &str) -> String {
    let name = format!("snop_test_{}_{}", std::process::id(), DATABASES.fetch_add(1, Ordering::SeqCst));
    runtime().block_on(async {
        let mut conn =
            sqlx::PgConnection::connect(admin).await.unwrap_or_else(|e| panic!("connecting to {admin}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    });
    with_database(admin, &name)
}

/// `admin` with its database (the URL's path) replaced by `name`.
fn with_database(admin: &str, name: &str) -> String {
    let (base, query) = admin.split_once('?').map_or((admin, None), |(b, q)| (b, Some(q)));
    let (scheme, rest) = base.split_once("://").expect("a URL");
    let host = rest.split_once('/').map_or(rest, |(h, _)| h);
    match query {
        Some(q) => format!("{scheme}://{host}/{name}?{q}"),
        None => format!("{scheme}://{host}/{name}"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// The newest PostgreSQL server programs the OS has.
fn binaries() -> Result<PathBuf, String> {
    binaries_under(Path::new("/usr/lib/postgresql"))
}

/// The newest `<version>/bin` under `root` that has `initdb` and `postgres`.
fn binaries_under(root: &Path) -> Result<PathBuf, String> {
    let newest = fs_err::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").exists() && bin.join("postgres").exists()).then_some((version, bin))
        })
        .max();
    newest.map(|(_, bin)| bin).ok_or_else(|| {
        format!(
            "the PostgreSQL tests need PostgreSQL's server programs (`initdb`, `postgres`) under \
             `{}/<version>/bin`, and there are none\n\
             hint: install the `postgresql` package (`apt-get install postgresql`, as `.ci/setup` does), \
             or set `{URL_ENV}` to a server where the tests may create databases",
            root.display()
        )
    })
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command run as the `postgres` OS user when we are root (`initdb` refuses to run as root).
fn as_server_user(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn start() -> Result<Server, String> {
    let bin = binaries()?;
    let root = is_root();
    let dir = tempfile::Builder::new().prefix("snop-test-pg-").tempdir().map_err(|e| e.to_string())?.keep();
    // TLS: a throwaway root, and the server's certificate for 127.0.0.1 signed by it.
    let cert = dir.join("ca.crt");
    let script = r#"set -e; cd "$1"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=snop-test-ca -keyout ca.key -out ca.crt
        openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
            -extfile server.ext -out server.crt
        chmod 600 server.key"#;
    let out =
        Command::new("sh").args(["-c", script, "certs"]).arg(&dir).output().map_err(|e| {
            format!("making the test server's TLS certificate with `openssl` (the `openssl` package): {e}")
        })?;
    if !out.status.success() {
        return Err(format!(
            "making the test server's TLS certificate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if root {
        let ok = Command::new("chown").args(["-R", "postgres:"]).arg(&dir).status().is_ok_and(|s| s.success());
        if !ok {
            return Err(format!(
                "running as root, the test PostgreSQL server runs as the `postgres` OS user, but `{}` could not be given to it\nhint: install the `postgresql` package, which creates that user",
                dir.display()
            ));
        }
    }
    let data = dir.join("data");
    let out = as_server_user(&bin.join("initdb"), root)
        .arg("-D")
        .arg(&data)
        .args(["-U", "snop", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"])
        .output()
        .map_err(|e| format!("running `{}`: {e}", bin.join("initdb").display()))?;
    if !out.status.success() {
        return Err(format!(
            "`initdb` failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    // The watchdog: runs the server, and when this test binary's process is gone, stops the
    // server and removes its folder.
    let script = r#"
        "$1" -D "$2/data" -k "$2" -h 127.0.0.1 -p "$3" -c fsync=off -c synchronous_commit=off \
            -c full_page_writes=off -c max_connections=400 -c shared_buffers=32MB \
            -c ssl=on -c ssl_cert_file="$2/server.crt" -c ssl_key_file="$2/server.key" >"$2/server.log" 2>&1 &
        pg=$!
        while [ -d "/proc/$4" ] && kill -0 "$pg" 2>/dev/null; do sleep 0.5; done
        kill -INT "$pg" 2>/dev/null; wait "$pg"; rm -rf "$2"
    "#;
    let mut watchdog = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", "sh", "-c", script, "watchdog"]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", script, "watchdog"]);
        c
    };
    watchdog
        .arg(bin.join("postgres"))
        .arg(&dir)
        .arg(port.to_string())
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting the test PostgreSQL server: {e}"))?;
    let url = format!("postgres://snop@127.0.0.1:{port}/postgres");
    let deadline = Instant::now() + Duration::from_secs(60);
    runtime().block_on(async {
        loop {
            match sqlx::PgConnection::connect(&url).await {
                Ok(c) => {
                    let _ = c.close().await;
                    return Ok(Server { admin_url: url.clone(), root_cert: cert.clone() });
                }
                Err(e) if Instant::now() > deadline => {
                    let log = fs_err::read_to_string(dir.join("server.log")).unwrap_or_default();
                    return Err(format!("the test PostgreSQL server did not start on port {port}: {e}\n{log}"));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    })
}

#[test]
fn with_database_replaces_only_the_database() {
    assert_eq!(with_database("postgres://snop@127.0.0.1:5/postgres", "t1"), "postgres://snop@127.0.0.1:5/t1");
    assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "t2"), "postgres://u:p@h/t2?sslmode=disable");
    assert_eq!(with_database("postgresql://u@h:5432", "t3"), "postgresql://u@h:5432/t3");
}

/// A team's store across a network: with `sslmode=verify-full` the connection is encrypted and
/// the server's certificate is checked against the root given (`sslrootcert`), and without that
/// root the store is not opened at all.
#[test]
fn a_team_store_over_tls_checks_the_server_certificate() {
    let server = private_server();
    let url = database_on(&server.admin_url);
    let tmp = tempfile::tempdir().unwrap();
    let verified = format!("{url}?sslmode=verify-full&sslrootcert={}", server.root_cert.display());
    crate::common::block_on(async {
        let store = snop::store::Store::open(tmp.path(), &verified).await.unwrap();
        assert_eq!(store.backend(), snop::store::Backend::Postgres);
        assert!(store.runs(None, None).await.unwrap().is_empty(), "the schema was created");
        let pool = crate::common::connect(tmp.path(), &verified).await;
        let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(ssl, "the server sees an encrypted connection");
        let untrusted = snop::store::Store::open(tmp.path(), &format!("{url}?sslmode=verify-full")).await;
        let err = untrusted.err().expect("a certificate no known root signed is refused").to_string();
        assert!(err.starts_with(&format!("the store `{url}?sslmode=verify-full` cannot be opened: ")), "{err}");
        assert!(err.to_lowercase().contains("certificate"), "{err}");
    });
}

/// A store that cannot be opened says which, without its password.
#[test]
fn a_store_that_cannot_be_opened_says_which_without_the_password() {
    let server = private_server();
    let url = database_on(&server.admin_url);
    // The same server, a database that does not exist, and a password in the URL.
    let wrong = url.replace("snop@", "snop:hunter2@").replace("/snop_test_", "/missing_");
    let tmp = tempfile::tempdir().unwrap();
    let err = crate::common::block_on(snop::store::Store::open(tmp.path(), &wrong)).err().expect("refused").to_string();
    let shown = wrong.replace("hunter2", "***");
    assert!(err.starts_with(&format!("the store `{shown}` cannot be opened: ")), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

/// Without the server programs the PostgreSQL tests fail, saying which package to install.
#[test]
fn missing_server_programs_name_the_package() {
    let tmp = tempfile::tempdir().unwrap();
    fs_err::create_dir_all(tmp.path().join("15/bin")).unwrap();
    fs_err::write(tmp.path().join("15/bin/initdb"), "").unwrap(); // no `postgres` beside it
    let err = binaries_under(tmp.path()).unwrap_err();
    assert!(err.contains("install the `postgresql` package (`apt-get install postgresql`"), "{err}");
    fs_err::write(tmp.path().join("15/bin/postgres"), "").unwrap();
    fs_err::create_dir_all(tmp.path().join("9/bin")).unwrap();
    assert_eq!(binaries_under(tmp.path()).unwrap(), tmp.path().join("15/bin"));
}
