//! `snop serve`: security over HTTP (reqwest against the server on a free loopback port) and the
//! review workflow end to end in a real browser (headless Chromium over WebDriver).
//!
//! The store is seeded by hand (drafts recorded as the pipeline records them), so every
//! expectation below is known in advance: four people, two of them demand leads.
//!
//! This file holds what the tests share (the seeded store, the server, logging in, forms); the
//! tests are in `security` (routes, sessions, logins), `pages` (the cycle's decisions and
//! commitments pages and a run's tables, over HTTP), `scenarios` (a scenario run from its
//! page), `browser` (the WebDriver client and the
//! real-browser tests) and `users` (`snop users` and `snop serve` through the binary).

mod browser;
mod pages;
mod scenarios;
mod security;
mod users;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::json;
use snop::draft::{State, sha256_hex};
use snop::narrative::Narrative;
use snop::sop::{Artifact, Directory};
use snop::store::{NewRun, Store};
use snop::web::{self, App, Options};

const HOSTILE_CUSTOMER: &str = "<script>alert(1)</script>";
const HOSTILE_MODEL_TEXT: &str = "Pumps <img src=x onerror=alert(2)> hold <b>steady</b>.";
const WORKBOOK: &[u8] = b"not really a workbook, but its bytes are checked";

fn directory() -> Directory {
    let mut d = Directory::default();
    for (id, name) in [
        ("dana.whitfield", "Dana Whitfield"),
        ("priya.shah", "Priya Shah"),
        ("sam.okafor", "Sam Okafor"),
        ("paul.planner", "Paul Planner"),
    ] {
        d.names.insert(id.into(), name.into());
    }
    d.roles.insert("demand_lead".into(), vec!["dana.whitfield".into(), "priya.shah".into()]);
    d.roles.insert("supply_lead".into(), vec!["sam.okafor".into()]);
    d.roles.insert("planner".into(), vec!["paul.planner".into()]);
    d
}

fn password(person: &str) -> String {
    format!("pw-of-{person}-long")
}

fn content(artifact: Artifact, headline: &str, paragraph: &str, files: BTreeMap<String, String>) -> String {
    let n = Narrative {
        headline: headline.into(),
        paragraphs: vec![paragraph.into()],
        risks: vec!["Pumps may slip.".into()],
    };
    let facts = json!({
        "families": [{"family": "pumps", "final_units": 120.0}, {"family": "valves", "final_units": 80.0}],
        // 120 customer lines: 3 pages of 50; the hostile name is line 0.
        "top_customers": (0..120).map(|i| json!({
            "customer": if i == 0 { HOSTILE_CUSTOMER.to_string() } else { format!("Customer {i:03}") },
            "family": if i % 2 == 0 { "pumps" } else { "valves" },
            "final_units": i,
        })).collect::<Vec<_>>(),
    });
    crate::common::draft_content(artifact, "2026-12", n, facts, files)
}

/// A store with draft 1 (demand consensus, with a workbook) and draft 2 (supply plan, whose
/// model text carries HTML), and a user for each person.
async fn seeded(dir: &Path) -> Store {
    let store = Store::open(dir, "sqlite://snop.db").await.unwrap();
    let drafts = [
        (Artifact::DemandConsensus, "Demand is flat", "Demand is flat at 200 units.", true),
        (Artifact::SupplyPlan, "Supply holds", HOSTILE_MODEL_TEXT, false),
    ];
    for (n, (artifact, headline, paragraph, workbook)) in drafts.into_iter().enumerate() {
        let mut files = BTreeMap::new();
        let mut run_files = Vec::new();
        if workbook {
            files.insert("wb-2026-12.xlsx".to_string(), sha256_hex(WORKBOOK));
            run_files.push(("wb-2026-12.xlsx".to_string(), WORKBOOK.to_vec()));
        }
        store
            .record_run(NewRun {
                agent: artifact.agent().name(),
                cycle: "2026-12",
                started_at: &format!("2026-11-28T00-00-{n:02}Z"),
                duration_ms: 1,
                outcome: "succeeded",
                inputs_sha256: &format!("inputs-{n}"),
                rows_read: 0,
                rows_quarantined: 0,
                rows_kept: 0,
                report_json: "{}",
                inputs: vec![],
                files: run_files,
                draft: Some(content(artifact, headline, paragraph, files)),
            })
            .await
            .unwrap();
    }
    for person in directory().names.keys() {
        let phc = web::hash_password(&password(person)).unwrap();
        assert!(store.add_user(person, &phc, "test").await.unwrap());
    }
    store
}

/// The server on a free loopback port, in this runtime; returns its base URL.
async fn start(dir: &Path, options: Options) -> String {
    let store = seeded(dir).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = App::new(store, directory(), "Test Pumps".into(), options);
    tokio::spawn(web::serve(listener, app, std::future::pending()));
    base
}

fn http() -> reqwest::Client {
    snop::install_tls_provider();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Logs in; returns the session cookie (`name=value`).
async fn login(base: &str, person: &str) -> String {
    login_with(base, person, &password(person)).await
}

async fn login_with(base: &str, person: &str, password: &str) -> String {
    let r = http()
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string([("user", person), ("password", password)]).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{person} logs in");
    let cookie = r.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    cookie.split(';').next().unwrap().to_string()
}

async fn get(base: &str, path: &str, cookie: &str) -> (StatusCode, String) {
    let r = http().get(format!("{base}{path}")).header("cookie", cookie).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The session's form token, as the pages carry it.
fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a form with the token") + 19;
    page[at..at + 64].to_string()
}

async fn post(
    base: &str,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut r = http()
        .post(format!("{base}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap());
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let r = r.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn draft_state(dir: &Path, id: i64) -> (State, i64, usize) {
    let store = Store::open(dir, "sqlite://snop.db").await.unwrap();
    let d = store.draft(id).await.unwrap().unwrap();
    (d.row.state, d.row.row_version, d.comments.len())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------------
// The cycle's pages on a real demo workspace: executive decisions per trade-off, and the
// account managers' commitment-log lines.

const CYCLE: &str = "2026-12";

/// The demo's workspace (month one signed, month two's first drafts waiting), served; every
/// demo person logs in with the demo's password (`demo_login`).
async fn demo_server(dir: &Path) -> (PathBuf, String) {
    let (code, _, err) = crate::common::run_in(dir, &["demo", "ws", "--skus", "30", "--customers", "10", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    let ws_dir = dir.join("ws");
    let ws = snop::config::Workspace::load_without_inputs(&ws_dir).unwrap();
    let store = snop::pipeline::open_store(&ws).await.unwrap();
    let options = Options {
        calendar: Some(ws.calendar.clone()),
        returns: snop::pipeline::commitment_lines::returns_folder(&ws),
        workspace: Some(ws_dir.clone()),
        ..Options::default()
    };
    assert_eq!(options.returns.as_deref(), Some(ws_dir.join("returns").as_path()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = App::new(store, ws.directory(), ws.company.clone(), options);
    tokio::spawn(web::serve(listener, app, std::future::pending()));
    (ws_dir, base)
}

async fn demo_login(base: &str, person: &str) -> String {
    login_with(base, person, &snop::demo::demo_password(person)).await
}
