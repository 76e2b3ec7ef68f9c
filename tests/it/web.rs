//! `snop serve`: security over HTTP (reqwest against the server on a free loopback port) and the
//! review workflow end to end in a real browser (headless Chromium over WebDriver).
//!
//! The store is seeded by hand (drafts recorded as the pipeline records them), so every
//! expectation below is known in advance: four people, two of them demand leads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use snop::draft::{Request, State, sha256_hex};
use snop::narrative::Narrative;
use snop::sop::{Artifact, Directory};
use snop::store::{NewRun, Store};
use snop::web::{self, App, Options};

use crate::common::block_on;

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

#[test]
fn every_state_changing_route_needs_a_session_and_the_forgery_token() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let base = start(tmp.path(), Options::default()).await;
        let cookie = login(&base, "dana.whitfield").await;
        let (status, page) = get(&base, "/drafts/1", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        let csrf = csrf_of(&page);
        let narrative = "# Edited\n\nText.\n\n## Risks\n- One.\n";
        let fields = |token: &str| -> Vec<(&'static str, String)> {
            vec![
                ("csrf", token.to_string()),
                ("row_version", "1".into()),
                ("narrative", narrative.into()),
                ("body", "a comment".into()),
                ("reason", "a reason".into()),
                ("password", password("dana.whitfield")),
            ]
        };
        for route in web::STATE_CHANGING_ROUTES {
            let path = route.replace("{id}", "1").replace("{cycle}", "2026-12");
            let with = |t: &str| fields(t);
            let form_of = |f: &Vec<(&'static str, String)>| f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
            let good = form_of(&with(&csrf));
            let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
            // No session at all.
            let (s, _) = post(&base, &path, None, &good, &[]).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{path} without a session");
            // A session, but a forged form: no token, a wrong token.
            let no_token: Vec<(&str, &str)> = good.iter().filter(|(k, _)| *k != "csrf").copied().collect();
            let (s, body) = post(&base, &path, Some(&cookie), &no_token, &[]).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{path} without the token: {body}");
            assert!(body.contains("did not carry this session&#39;s token"), "{body}");
            let wrong = "0".repeat(64);
            let mut forged = good.clone();
            forged[0] = ("csrf", wrong.as_str());
            let (s, _) = post(&base, &path, Some(&cookie), &forged, &[]).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{path} with a wrong token");
            // The right token, sent from another site by the browser.
            for header in [("origin", "http://evil.example"), ("sec-fetch-site", "cross-site")] {
                let (s, _) = post(&base, &path, Some(&cookie), &good, &[header]).await;
                assert_eq!(s, StatusCode::FORBIDDEN, "{path} with {header:?}");
            }
        }
        // Nothing of all that changed the draft, nor ended the session.
        assert_eq!(draft_state(tmp.path(), 1).await, (State::Draft, 1, 0));
        let (s, _) = get(&base, "/", &cookie).await;
        assert_eq!(s, StatusCode::OK);

        // The same form, right: a comment and an approval go through `Store::act`.
        let (s, body) =
            post(&base, "/drafts/1/comment", Some(&cookie), &[("csrf", &csrf), ("body", "looks right")], &[]).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(body.contains("Dana Whitfield commented on the demand consensus 2026-12 version 1"), "{body}");
        // A planner without the role is refused by `decide`, with who may.
        let planner = login(&base, "paul.planner").await;
        let (_, page) = get(&base, "/drafts/1", &planner).await;
        let (s, body) =
            post(&base, "/drafts/1/approve", Some(&planner), &[("csrf", &csrf_of(&page)), ("row_version", "1")], &[])
                .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert!(
            body.contains("only the demand lead (Dana Whitfield, Priya Shah) may approve the demand consensus; Paul Planner is not allowed to"),
            "{body}"
        );
        let (s, body) =
            post(&base, "/drafts/1/approve", Some(&cookie), &[("csrf", &csrf), ("row_version", "1")], &[]).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(draft_state(tmp.path(), 1).await, (State::Approved, 2, 1));
        // A stale row version is refused, not applied.
        // Signing asks for the password again.
        let (s, body) = post(
            &base,
            "/drafts/1/sign",
            Some(&cookie),
            &[("csrf", &csrf), ("row_version", "2"), ("password", "not-her-password")],
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains("signing needs your password, and the one given does not match"), "{body}");
        let pw = password("dana.whitfield");
        let (s, body) = post(
            &base,
            "/drafts/1/sign",
            Some(&cookie),
            &[("csrf", &csrf), ("row_version", "1"), ("password", &pw)],
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{body}");
        assert!(body.contains("Dana Whitfield changed this draft at "), "{body}");
        assert!(body.contains("(you had row version 1, it is now 2)"), "{body}");
        assert_eq!(draft_state(tmp.path(), 1).await, (State::Approved, 2, 1));
    });
}

#[test]
fn pages_carry_a_strict_policy_and_downloads_are_the_stored_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let base = start(tmp.path(), Options::default()).await;
        // Not logged in: pages send you to log in; downloads are not served.
        let r = http().get(format!("{base}/drafts/1/workbook")).send().await.unwrap();
        assert_eq!((r.status(), r.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/login"));
        let cookie = login(&base, "sam.okafor").await;
        let r = http().get(format!("{base}/")).header("cookie", &cookie).send().await.unwrap();
        let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("script-src 'self';") && !csp.contains("unsafe"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let board = r.text().await.unwrap();
        assert!(!board.contains("<script>") && !board.contains(" style="), "no inline script or style");
        // The board says what waits for the supply lead: approving the supply plan.
        assert!(board.contains("approve the supply plan (draft 2, version 1)"), "{board}");

        let r = http().get(format!("{base}/drafts/1/workbook")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-disposition"], "attachment; filename=\"wb-2026-12.xlsx\"");
        assert_eq!(&r.bytes().await.unwrap()[..], WORKBOOK);
        let (s, md) = get(&base, "/drafts/2/markdown", &cookie).await;
        assert_eq!(s, StatusCode::OK);
        assert!(md.contains("Pumps &lt;img src=x onerror=alert(2)&gt; hold &lt;b&gt;steady&lt;/b&gt;."), "{md}");
        // The framed artifact runs no script at all.
        let r = http().get(format!("{base}/drafts/2/page")).header("cookie", &cookie).send().await.unwrap();
        let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("sandbox") && csp.contains("default-src 'none'") && !csp.contains("script-src"), "{csp}");
        let page = r.text().await.unwrap();
        assert!(page.contains("&lt;img src=x onerror=alert(2)&gt;") && !page.contains("<img"), "model text escaped");
        // Large tables are paged and filtered: 120 customer lines, 50 a page; `valves` are odd.
        let (_, page) = get(&base, "/drafts/1?table=top+customers&page=3", &cookie).await;
        assert!(page.contains("rows 101-120 of 120"), "{page}");
        let (_, page) = get(&base, "/drafts/1?table=top+customers&family=valves&customer=customer+1", &cookie).await;
        // `Customer 100` to `Customer 119` contain "customer 1"; the odd ones are valves: 10 rows.
        assert!(page.contains("rows 1-10 of 10 (filtered from 120)"), "{page}");
        let (_, page) = get(&base, "/drafts/1?table=top+customers&customer=script", &cookie).await;
        assert!(page.contains("rows 1-1 of 1 (filtered from 120)"), "{page}");
        assert!(page.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>") && !page.contains(HOSTILE_CUSTOMER));
    });
}

#[test]
fn a_session_after_logout_is_dead() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let base = start(tmp.path(), Options::default()).await;
        let cookie = login(&base, "dana.whitfield").await;
        let (s, page) = get(&base, "/drafts/1", &cookie).await;
        assert_eq!(s, StatusCode::OK);
        let csrf = csrf_of(&page);
        let (s, _) = post(&base, "/logout", Some(&cookie), &[("csrf", &csrf)], &[]).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let r = http().get(format!("{base}/drafts/1")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!((r.status(), r.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/login"));
        let (s, _) =
            post(&base, "/drafts/1/approve", Some(&cookie), &[("csrf", &csrf), ("row_version", "1")], &[]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(draft_state(tmp.path(), 1).await, (State::Draft, 1, 0));
    });
}

#[test]
fn failed_logins_all_look_the_same_and_are_limited() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        // 8 attempts a minute from one address; an account locks after 5 failures in a row.
        let options = Options { logins_per_minute: 8, lock_after: 5, ..Options::default() };
        let base = start(tmp.path(), options).await;
        let attempt = |user: &'static str, pw: String| {
            let base = base.clone();
            async move { post(&base, "/login", None, &[("user", user), ("password", &pw)], &[]).await }
        };
        let unknown = attempt("nobody.at.all", "whatever-password".into()).await; // attempt 1
        let wrong = attempt("dana.whitfield", "not-her-password".into()).await; // 2
        assert_eq!(unknown.0, StatusCode::UNAUTHORIZED);
        assert_eq!(unknown, wrong, "a wrong user name and a wrong password get the same answer");
        // Paul fails 5 times (attempts 3-7): locked; his right password (8) gets the same answer.
        for _ in 0..5 {
            assert_eq!(attempt("paul.planner", "guess-guess-guess".into()).await, wrong);
        }
        assert_eq!(attempt("paul.planner", password("paul.planner")).await, wrong, "a locked account");
        // The 9th attempt from this address within the minute is refused outright.
        let (s, body) = attempt("dana.whitfield", password("dana.whitfield")).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(body.contains("too many login attempts"), "{body}");
        let store = Store::open(tmp.path(), "sqlite://snop.db").await.unwrap();
        let paul = store.credentials("paul.planner").await.unwrap().unwrap();
        assert!(paul.locked_until.is_some(), "the lock is in the store, so it survives a restart");
    });
}

// ---------------------------------------------------------------------------------------------
// The cycle's pages on a real demo workspace: executive decisions per trade-off, and the
// account managers' commitment-log lines.

const CYCLE: &str = "2026-12";

/// A small demo workspace (month one's five artifacts signed, so the pack and the log exist),
/// with two of its account managers added as people who can log in; the server on it.
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

#[test]
fn the_coo_decides_a_trade_off_in_the_browser_and_others_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let (ws_dir, base) = demo_server(tmp.path()).await;
        let coo = demo_login(&base, "olivia.chen").await;
        // The board links to the cycle's two pages.
        let (_, board) = get(&base, "/?cycle=2026-12", &coo).await;
        assert!(
            board.contains("href=\"/cycles/2026-12/decisions\"")
                && board.contains("href=\"/cycles/2026-12/commitments\"")
        );
        let (s, page) = get(&base, "/cycles/2026-12/decisions", &coo).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let list = |ws: &Path| -> Vec<Value> {
            let (code, out, err) = crate::common::run_in(ws, &["decide", "--cycle", CYCLE, "--list", "--json"]);
            assert_eq!(code, 0, "{err}");
            serde_json::from_str(&out).unwrap()
        };
        let before = list(&ws_dir);
        let tradeoff = before[0]["trade_off"]["id"].as_str().unwrap().to_string();
        assert!(page.contains(&format!("{tradeoff} · ")), "every trade-off is listed: {page}");
        let options: Vec<&str> =
            before[0]["trade_off"]["options"].as_array().unwrap().iter().map(|o| o["kind"].as_str().unwrap()).collect();
        assert!(options.contains(&"accept_shortfall"), "{options:?}");
        let csrf = csrf_of(&page);
        let hostile_note = "<b>go</b> now";
        let decide = [
            ("csrf", csrf.as_str()),
            ("tradeoff", tradeoff.as_str()),
            ("choice", "option"),
            ("option", "accept_shortfall"),
            ("owner", "sam.okafor"),
            ("due", "2027-01-15"),
            ("note", hostile_note),
        ];
        let (s, body) = post(&base, "/cycles/2026-12/decisions", Some(&coo), &decide, &[]).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(
            body.contains(&format!("on trade-off `{tradeoff}` of 2026-12 recorded for Olivia Chen (COO)")),
            "{body}"
        );
        assert!(body.contains("&lt;b&gt;go&lt;/b&gt; now") && !body.contains(hostile_note), "the note is escaped");
        // `snop decide --list` shows the decision that counts now.
        let after = list(&ws_dir);
        let d = &after[0]["decision"];
        assert_eq!(
            (
                d["kind"].as_str(),
                d["option"].as_str(),
                d["owner"].as_str(),
                d["due"].as_str(),
                d["decided_by"].as_str()
            ),
            (Some("option"), Some("accept_shortfall"), Some("sam.okafor"), Some("2027-01-15"), Some("olivia.chen")),
            "{d}"
        );
        assert_eq!(d["note"].as_str(), Some(hostile_note));
        // Found by a resource, or only the undecided ones; a page at a time.
        let n = |x: usize| snop::artifacts::review::format_number(x as f64);
        let total = before.len();
        let on_line =
            before.iter().filter(|t| t["trade_off"]["id"].as_str().unwrap().contains("LEE-LINE-CENT")).count();
        assert!(on_line > 0 && on_line < total, "{on_line} of {total}");
        let (_, page) = get(&base, "/cycles/2026-12/decisions?find=lee-line-cent", &coo).await;
        assert!(page.contains(&format!("trade-offs 1-{on_line} of {on_line} (filtered from {})", n(total))), "{page}");
        assert_eq!(page.matches("class=\"tradeoff\"").count(), on_line);
        let (_, page) = get(&base, "/cycles/2026-12/decisions?open=1", &coo).await;
        // The demo decided every trade-off of its month one: none is open.
        let open = after.iter().filter(|t| t["decision"].is_null()).count();
        assert_eq!(open, 0);
        assert!(page.contains(&format!("no trade-offs (filtered from {})", n(total))), "{page}");
        assert!(!page.contains("class=\"tradeoff\""), "the decided ones are not shown");
        // A decision posted from a found page comes back to that page, not the first (on another
        // trade-off than the one checked below).
        let on_line_id = before
            .iter()
            .map(|t| t["trade_off"]["id"].as_str().unwrap())
            .find(|id| id.contains("LEE-LINE-CENT") && *id != tradeoff)
            .unwrap();
        let from_found = [
            ("csrf", csrf.as_str()),
            ("tradeoff", on_line_id),
            ("choice", "action"),
            ("action", "move the volume to the second shift"),
            ("owner", "sam.okafor"),
            ("due", "2027-01-20"),
            ("find", "lee-line-cent"),
            ("open", ""),
            ("page", "1"),
        ];
        let (s, body) = post(&base, "/cycles/2026-12/decisions", Some(&coo), &from_found, &[]).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(body.contains(&format!("on trade-off `{on_line_id}` of 2026-12 recorded")), "{body}");
        assert!(body.contains(&format!("trade-offs 1-{on_line} of {on_line} (filtered from {})", n(total))), "{body}");
        assert!(body.contains("value=\"lee-line-cent\""), "the search box keeps what was searched: {body}");

        // A demand lead sees no form, and a decision posted anyway is refused naming who may.
        let dana = demo_login(&base, "dana.whitfield").await;
        let (_, page) = get(&base, "/cycles/2026-12/decisions", &dana).await;
        assert!(!page.contains("class=\"decide\""), "no decision form for a demand lead");
        let mut forged = decide;
        let dana_csrf = csrf_of(&page);
        forged[0] = ("csrf", &dana_csrf);
        let (s, body) = post(&base, "/cycles/2026-12/decisions", Some(&dana), &forged, &[]).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains("only the COO (Olivia Chen) or the CEO"), "{body}");
        assert!(body.contains("Dana Whitfield is not allowed to"), "{body}");
        assert_eq!(list(&ws_dir)[0]["decision"]["id"], d["id"], "nothing recorded");
        // Nor may she say it is done; its owner, the supply lead, may.
        let (s, body) = post(
            &base,
            "/cycles/2026-12/decisions/done",
            Some(&dana),
            &[("csrf", &dana_csrf), ("tradeoff", &tradeoff)],
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains("only the decision&#39;s owner (Sam Okafor) or the COO (Olivia Chen)"), "{body}");
        let sam = demo_login(&base, "sam.okafor").await;
        let (_, page) = get(&base, "/cycles/2026-12/decisions", &sam).await;
        let (s, body) = post(
            &base,
            "/cycles/2026-12/decisions/done",
            Some(&sam),
            &[("csrf", &csrf_of(&page)), ("tradeoff", &tradeoff), ("note", "accepted with the customers")],
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(body.contains(&format!("on trade-off `{tradeoff}` of 2026-12 is done (Sam Okafor at ")), "{body}");
        let store = Store::open(&ws_dir, "sqlite://snop.db").await.unwrap();
        let done = store.decisions_done(CYCLE).await.unwrap();
        let id = d["id"].as_i64().unwrap();
        assert_eq!(
            done.iter().filter(|x| x.decision_id == id).map(|x| x.done_by.as_str()).collect::<Vec<_>>(),
            ["sam.okafor"]
        );
    });
}

#[test]
fn an_account_manager_updates_their_own_commitment_lines() {
    use calamine::{Data, Reader};
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let (ws_dir, base) = demo_server(tmp.path()).await;
        let store = Store::open(&ws_dir, "sqlite://snop.db").await.unwrap();
        let month = snop::contract::Month::parse(CYCLE).unwrap();
        let (_, log) = snop::pipeline::commitment_lines::latest_commitment_log(&store, month).await.unwrap().unwrap();
        let ana: Vec<_> = log.lines.iter().filter(|l| l.owner == "ana.lopez").collect();
        let theirs = log.lines.iter().find(|l| l.owner == "eva.novak").unwrap();
        // A line of Ana's the demo's returned log did not touch (it re-negotiated every fifth).
        let line = ana.iter().find(|l| l.status == "to communicate").unwrap();
        let cookie = demo_login(&base, "ana.lopez").await;
        let (s, page) = get(&base, "/cycles/2026-12/commitments?mine=1", &cookie).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let expected = format!(
            "lines 1-{} of {} (filtered from {})",
            ana.len().min(50),
            ana.len(),
            snop::artifacts::review::format_number(log.lines.len() as f64)
        );
        assert!(page.contains(&expected), "{expected}: {page}");
        assert!(page.contains(&line.line_id) && !page.contains(&theirs.line_id), "only her lines");
        // Everyone's lines, paged 50 at a time.
        let (_, all) = get(&base, "/cycles/2026-12/commitments?page=2", &cookie).await;
        assert!(all.contains(&format!("lines 51-100 of {}", log.lines.len())), "{all}");

        let csrf = csrf_of(&page);
        let note = "<script>alert(3)</script> told on the phone";
        let returns = ws_dir.join("returns");
        let files = || {
            let mut v: Vec<String> = fs_err::read_dir(&returns)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let before = files();
        let (s, body) = post(
            &base,
            "/cycles/2026-12/commitments",
            Some(&cookie),
            &[("csrf", &csrf), ("line", &line.line_id), ("status", "communicated"), ("note", note), ("mine", "1")],
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(body.contains("saved as `returns/log-2026-12-web-"), "{body}");
        assert!(body.contains("`snop run commit-back --cycle 2026-12`"), "{body}");
        let after = files();
        assert_eq!(after.len(), before.len() + 1, "one new workbook, nothing staged left: {after:?}");
        let new = after.iter().find(|f| !before.contains(f)).unwrap();
        assert!(new.starts_with("log-2026-12-web-") && new.ends_with("-ana.lopez.xlsx"), "{new}");
        // The returned workbook, read back as ingest reads it: the Log sheet, one row.
        let mut book = calamine::open_workbook_auto(returns.join(new)).unwrap();
        let range = book.worksheet_range("Log").unwrap();
        let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
        let text = |s: &str| Data::String(s.into());
        assert_eq!(
            rows,
            vec![
                vec![text("Line"), text("Status"), text("Committed"), text("Note"), text("Owner")],
                vec![
                    text(&line.line_id),
                    text("communicated"),
                    Data::Float(line.committed),
                    text(note),
                    text("ana.lopez")
                ],
            ]
        );

        // A line someone else owns is refused, naming its owner; nothing is written.
        let (s, body) = post(
            &base,
            "/cycles/2026-12/commitments",
            Some(&cookie),
            &[("csrf", &csrf), ("line", &theirs.line_id), ("status", "accepted"), ("note", "")],
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains(&format!("line {} (", theirs.line_id)), "{body}");
        assert!(
            body.contains("is Eva Novak&#39;s: only its owner updates its status; Ana Lopez is not allowed to"),
            "{body}"
        );
        assert_eq!(files(), after);

        // The commit-back agent's next run makes a new version of the log with the update; the
        // page shows it, the note escaped.
        let (code, _, err) = crate::common::run_in(&ws_dir, &["run", "commit-back", "--cycle", CYCLE]);
        assert_eq!(code, 0, "{err}");
        let (_, log) = snop::pipeline::commitment_lines::latest_commitment_log(&store, month).await.unwrap().unwrap();
        let updated = log.lines.iter().find(|l| l.line_id == line.line_id).unwrap();
        assert_eq!((updated.status.as_str(), updated.note.as_deref()), ("communicated", Some(note)));
        let (_, page) = get(&base, "/cycles/2026-12/commitments?mine=1", &cookie).await;
        assert!(page.contains("&lt;script&gt;alert(3)&lt;/script&gt; told on the phone"), "{page}");
        assert!(!page.contains("<script>alert(3)"), "spreadsheet text is escaped");
    });
}

// ---------------------------------------------------------------------------------------------
// In a real browser: a minimal W3C WebDriver client over reqwest (chromedriver speaks JSON over
// HTTP on loopback; a client crate would rebuild the HTTP stack polars shares for tests only).

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    child: std::process::Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn chromedriver() -> Driver {
    const HINT: &str = "the browser tests need Chromium and its WebDriver from the OS packages: `apt-get install chromium chromium-driver` (`.ci/setup` installs them)";
    for bin in ["chromedriver", "chromium"] {
        let found = std::process::Command::new(bin).arg("--version").output().is_ok_and(|o| o.status.success());
        assert!(found, "`{bin}` is missing: {HINT}");
    }
    let port = free_port();
    let child = std::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("chromedriver does not start ({e}): {HINT}"));
    let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
    for _ in 0..100 {
        if let Ok(r) = http().get(format!("{}/status", driver.url)).send().await
            && r.status().is_success()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on port {port}: {HINT}");
}

struct Browser {
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn open(driver: &Driver) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1280,1000", format!("--user-data-dir={}", profile.path().display())]}}}});
        let v = call("POST", &format!("{}/session", driver.url), Some(caps)).await.expect("a browser session");
        let id = v["value"]["sessionId"].as_str().expect("a session id").to_string();
        Browser { session: format!("{}/session/{id}", driver.url), _profile: profile }
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        call(method, &format!("{}{path}", self.session), body).await.map(|v| v["value"].clone())
    }

    async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url}))).await.unwrap();
    }

    /// Waits up to 10 s for an element.
    async fn find(&self, css: &str) -> String {
        let mut last = Ok(Value::Null);
        for _ in 0..100 {
            last = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css}))).await;
            if let Ok(v) = &last
                && let Some(id) = v[ELEMENT].as_str()
            {
                return id.to_string();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no `{css}` on the page ({last:?}); it says:\n{}", self.body_text().await);
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{e}/clear"), Some(json!({}))).await.unwrap();
        self.cmd("POST", &format!("/element/{e}/value"), Some(json!({"text": text}))).await.unwrap();
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({}))).await.unwrap();
    }

    async fn script(&self, js: &str) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": js, "args": []}))).await.unwrap()
    }

    async fn body_text(&self) -> String {
        self.script("return document.body ? document.body.innerText : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits up to 10 s for an element whose text contains `text`; returns its text.
    async fn wait_text(&self, css: &str, text: &str) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            if let Ok(v) = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css}))).await
                && let Some(id) = v[ELEMENT].as_str()
                && let Ok(t) = self.cmd("GET", &format!("/element/{id}/text"), None).await
            {
                last = t.as_str().unwrap_or_default().to_string();
                if last.contains(text) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("`{css}` never said `{text}` (last: `{last}`); the page says:\n{}", self.body_text().await);
    }

    async fn login(&self, base: &str, person: &str) {
        self.login_with(base, person, &password(person)).await;
        self.wait_text("#who", &directory().name(person)).await;
    }

    async fn login_with(&self, base: &str, person: &str, password: &str) {
        self.goto(&format!("{base}/login")).await;
        self.fill("#user", person).await;
        self.fill("#password", password).await;
        self.click("#login").await;
        self.find("#who").await;
    }

    async fn no_alert(&self) {
        let alert = self.cmd("GET", "/alert/text", None).await;
        assert!(alert.is_err(), "a script ran and opened an alert: {alert:?}");
    }

    async fn screenshot(&self, name: &str) {
        use base64::Engine as _;
        let png = self.cmd("GET", "/screenshot", None).await.unwrap();
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        let dir = outputs();
        fs_err::create_dir_all(&dir).unwrap();
        fs_err::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }

    async fn close(self) {
        let _ = call("DELETE", &self.session, None).await;
    }
}

async fn call(method: &str, url: &str, body: Option<Value>) -> Result<Value, String> {
    let client = http();
    let request = match method {
        "GET" => client.get(url),
        "DELETE" => client.delete(url),
        _ => client.post(url).json(&body.unwrap_or(json!({}))),
    };
    let r = request.send().await.map_err(|e| e.to_string())?;
    let ok = r.status().is_success();
    let v: Value = r.json().await.map_err(|e| e.to_string())?;
    if ok { Ok(v) } else { Err(v["value"]["message"].as_str().unwrap_or("webdriver error").to_string()) }
}

/// `$CARGO_TARGET_DIR/test-outputs/web/`: the screenshots of each page.
fn outputs() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_snop"));
    exe.parent().and_then(Path::parent).expect("target/<profile>/snop").join("test-outputs/web")
}

#[test]
fn the_review_workflow_in_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let base = start(tmp.path(), Options::default()).await;
        let driver = chromedriver().await;
        let a = Browser::open(&driver).await;

        // A planner without the role tries to approve: refused, told who may.
        a.goto(&format!("{base}/login")).await;
        a.screenshot("01-login").await;
        a.login(&base, "paul.planner").await;
        a.wait_text("#board", "demand consensus").await;
        a.goto(&format!("{base}/drafts/1")).await;
        a.click("#approve").await;
        let refused = a.wait_text("#refused", "may approve").await;
        assert_eq!(
            refused,
            "only the demand lead (Dana Whitfield, Priya Shah) may approve the demand consensus; Paul Planner is not allowed to"
        );
        a.screenshot("02-refused-without-the-role").await;
        assert_eq!(a.script("return typeof htmx").await, "object", "htmx runs under the policy");
        a.click("#logout").await;
        a.find("#login").await;

        // Hostile spreadsheet and model text are shown as text and run nothing.
        a.login(&base, "dana.whitfield").await;
        a.goto(&format!("{base}/drafts/2?table=top+customers&customer=script")).await;
        let table = a.wait_text("#facts", HOSTILE_CUSTOMER).await;
        assert!(table.contains(HOSTILE_CUSTOMER), "{table}");
        let narrative = a.script("return document.getElementById('narrative').value").await;
        assert!(narrative.as_str().unwrap().contains(HOSTILE_MODEL_TEXT), "{narrative}");
        let injected = a.script("return document.querySelectorAll('#facts script, main img').length").await;
        assert_eq!(injected, 0);
        a.no_alert().await;
        a.script("document.getElementById('tables').scrollIntoView(); return 0").await;
        a.screenshot("03-hostile-text-inert").await;
        // Filtering swaps the table in place (htmx), without loading the page again: a mark
        // left on the window survives. `Customer 110` to `Customer 119`: 10 rows.
        a.script("window.snopMark = 1; return 0").await;
        a.fill("#customer", "customer 11").await;
        a.click("#filter").await;
        a.wait_text("#showing", "top customers: rows 1-10 of 10 (filtered from 120)").await;
        assert_eq!(a.script("return window.snopMark").await, 1, "the table was swapped, not the page reloaded");
        a.screenshot("04-filtered-in-place").await;

        // Two demand leads edit draft 1 at once: the second save is refused and shown the change.
        let b = Browser::open(&driver).await;
        b.login(&base, "priya.shah").await;
        a.goto(&format!("{base}/drafts/1")).await;
        b.goto(&format!("{base}/drafts/1")).await;
        a.fill("#narrative", "# Demand holds at 200 units\n\nDana's reading.\n\n## Risks\n- Pumps may slip.\n").await;
        a.click("#save").await;
        a.wait_text("#done", "Dana Whitfield edited the demand consensus 2026-12 version 1").await;
        a.screenshot("05-edited").await;
        b.fill("#narrative", "# Demand dips\n\nPriya's reading.\n\n## Risks\n- Pumps may slip.\n").await;
        b.click("#save").await;
        let why = b.wait_text("#refused", "changed this draft").await;
        assert!(why.starts_with("Dana Whitfield changed this draft at "), "{why}");
        let diff = b.wait_text("#conflict", "stored now (by Dana Whitfield)").await;
        assert!(diff.contains("-# Demand holds at 200 units") && diff.contains("+# Demand dips"), "{diff}");
        let kept = b.script("return document.getElementById('narrative').value").await;
        assert!(kept.as_str().unwrap().contains("Priya's reading."), "her text is kept in the editor");
        b.screenshot("06-second-save-refused").await;
        b.close().await;
        let store = Store::open(tmp.path(), "sqlite://snop.db").await.unwrap();
        let d = store.draft(1).await.unwrap().unwrap();
        assert_eq!(d.content.narrative.headline, "Demand holds at 200 units", "never silently overwritten");

        // Dana approves and signs; the board shows it.
        a.goto(&format!("{base}/drafts/1")).await;
        a.click("#approve").await;
        a.wait_text("#done", "Dana Whitfield approved the demand consensus").await;
        a.fill("#sign-password", &password("dana.whitfield")).await;
        a.click("#sign").await;
        a.wait_text("#state", "signed").await;
        a.wait_text("#signed", "signed by Dana Whitfield (demand lead)").await;
        a.screenshot("07-signed").await;
        a.goto(&format!("{base}/")).await;
        a.wait_text("#board", "signed by Dana Whitfield (demand lead)").await;
        a.screenshot("08-board").await;
        a.no_alert().await;
        a.close().await;
        assert!(store.verify_audit().await.unwrap().first_problem.is_none());
    });
}

/// A run's tables come to the page from its `tables/*.parquet` (hashed in the draft like every
/// file of the run): paged and filtered, the counts those of `facts.json` itself; a changed
/// Parquet file is not shown (the page reads the checked `facts.json` instead). The pack's PDF
/// downloads from its page.
#[test]
fn a_runs_tables_are_paged_and_filtered_from_its_parquet_files() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let (ws_dir, base) = demo_server(tmp.path()).await;
        let store = Store::open(&ws_dir, "sqlite://snop.db").await.unwrap();
        let d = store.drafts(Some(CYCLE), Some(Artifact::SupplyPlan)).await.unwrap().remove(0);
        let detail = store.draft(d.id).await.unwrap().unwrap();
        let run = store.run(d.run_id).await.unwrap().unwrap();
        let folder = ws_dir.join(&run.folder);
        let parquet = folder.join("tables/constrained_plan.parquet");
        assert_eq!(
            detail.content.files.get("tables/constrained_plan.parquet"),
            Some(&sha256_hex(&fs_err::read(&parquet).unwrap())),
            "the draft holds the Parquet file's hash"
        );
        // The expected counts, from facts.json.
        let facts: Value = serde_json::from_slice(&fs_err::read(folder.join("facts.json")).unwrap()).unwrap();
        let plan = facts["constrained_plan"].as_array().unwrap();
        let c10003 = plan.iter().filter(|r| r["customer"].as_str().unwrap().to_lowercase().contains("c10003")).count();
        assert!(c10003 > 50 && c10003 < plan.len(), "{c10003} of {}", plan.len());
        let n = |x: usize| snop::artifacts::review::format_number(x as f64);
        let cookie = demo_login(&base, "sam.okafor").await;
        let path = format!("/drafts/{}?table=constrained+plan&customer=c10003&page=2", d.id);
        let (s, page) = get(&base, &path, &cookie).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let showing = format!("rows 51-{} of {} (filtered from {})", c10003.min(100), n(c10003), n(plan.len()));
        assert!(page.contains(&showing), "{showing}: {page}");
        // The 51st matching row of facts.json is the first row shown (columns in the facts' order).
        let row = plan.iter().filter(|r| r["customer"].as_str().unwrap().contains("C10003")).nth(50).unwrap();
        let num = |k: &str| snop::artifacts::review::format_number(row[k].as_f64().unwrap());
        let text = |k: &str| row[k].as_str().unwrap().to_string();
        let first = format!(
            "</th></tr>\n<tr><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            num("constrained_units"),
            text("customer"),
            num("demand_units"),
            text("month"),
            text("sku")
        );
        assert!(page.contains(&first), "{first}: {page}");

        // Another run's Parquet file replaced by a valid one of other rows: its page is not fooled
        // (the hash differs) and shows the rows of the checked facts.json.
        let pack = store.drafts(Some(CYCLE), Some(Artifact::ReconciliationPack)).await.unwrap().remove(0);
        let pack_folder = ws_dir.join(store.run(pack.run_id).await.unwrap().unwrap().folder);
        let pack_facts: Value = serde_json::from_slice(&fs_err::read(pack_folder.join("facts.json")).unwrap()).unwrap();
        let agreed = pack_facts["agreed_plan"].as_array().unwrap().len();
        fs_err::copy(&parquet, pack_folder.join("tables/agreed_plan.parquet")).unwrap();
        let (s, page) = get(&base, &format!("/drafts/{}?table=agreed+plan", pack.id), &cookie).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let showing = format!("rows 1-{} of {}</p>", agreed.min(50), n(agreed));
        assert!(page.contains(&showing) && agreed != plan.len(), "{showing}: {page}");

        // The pack's PDF downloads as the run wrote it (Chromium from the OS packages prints it);
        // a draft without one says so.
        assert!(page.contains(&format!("href=\"/drafts/{}/pdf\"", pack.id)), "{page}");
        let pdf = fs_err::read_dir(&pack_folder)
            .unwrap()
            .filter_map(Result::ok)
            .find(|f| f.file_name().to_string_lossy().ends_with(".pdf"))
            .expect("the pack's PDF (Chromium is needed: `.ci/setup` installs it)");
        let r = http().get(format!("{base}/drafts/{}/pdf", pack.id)).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[reqwest::header::CONTENT_TYPE], "application/pdf");
        let bytes = r.bytes().await.unwrap();
        assert!(bytes.starts_with(b"%PDF") && bytes[..] == fs_err::read(pdf.path()).unwrap()[..]);
        let (s, page) = get(&base, &format!("/drafts/{}/pdf", d.id), &cookie).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(page.contains(&format!("draft {} has no PDF", d.id)), "{page}");
    });
}

/// The newest version of a cycle's artifact, approved by the first signer and signed by each,
/// through the store as `snop drafts approve|sign` does.
async fn approve_and_sign(store: &Store, dir: &Directory, cycle: &str, artifact: Artifact, signers: &[&str]) {
    let d = store.drafts(Some(cycle), Some(artifact)).await.unwrap().remove(0);
    let mut row_version =
        store.act(dir, d.id, signers[0], Request::Approve, Some(d.row_version)).await.unwrap().draft.row_version;
    for who in signers {
        row_version = store.act(dir, d.id, who, Request::Sign, Some(row_version)).await.unwrap().draft.row_version;
    }
}

/// The demo's month two taken to its executive meeting in a real browser: the leads sign their
/// drafts and the pack as the CLI does; the COO decides a trade-off on the decisions page, the
/// executive agent drafts the plan from it, and the COO approves and signs the plan. Then an
/// account manager updates one of her lines of month one's commitment log.
#[test]
fn the_executive_decides_and_signs_the_plan_in_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let (ws_dir, base) = demo_server(tmp.path()).await;
        let ws = snop::config::Workspace::load_without_inputs(&ws_dir).unwrap();
        let dir = ws.directory();
        let store = Store::open(&ws_dir, "sqlite://snop.db").await.unwrap();
        const NEXT: &str = "2027-01";
        approve_and_sign(&store, &dir, NEXT, Artifact::DemandConsensus, &["dana.whitfield"]).await;
        approve_and_sign(&store, &dir, NEXT, Artifact::SupplyPlan, &["sam.okafor"]).await;
        let (code, _, err) = crate::common::run_in(&ws_dir, &["run", "reconciliation", "--cycle", NEXT, "--quiet"]);
        assert_eq!(code, 0, "{err}");
        approve_and_sign(&store, &dir, NEXT, Artifact::ReconciliationPack, &["dana.whitfield", "sam.okafor"]).await;

        let driver = chromedriver().await;
        let b = Browser::open(&driver).await;
        b.login_with(&base, "olivia.chen", &snop::demo::demo_password("olivia.chen")).await;
        b.goto(&format!("{base}/cycles/{NEXT}/decisions")).await;
        let form = "#tradeoff-1 form.decide";
        let tradeoff = b.script(&format!("return document.querySelector('{form} input[name=tradeoff]').value")).await;
        let tradeoff = tradeoff.as_str().unwrap().to_string();
        b.click(&format!("{form} input[value=send_back]")).await;
        b.fill(&format!("{form} input[name=reason]"), "<b>recost</b> the overtime").await;
        b.click(&format!("{form} input[value=option]")).await;
        b.click(&format!("{form} select[name=option] option[value=accept_shortfall]")).await;
        b.click(&format!("{form} select[name=owner] option[value='sam.okafor']")).await;
        b.script(&format!("document.querySelector('{form} input[name=due]').value = '2027-02-05'; return 0")).await;
        b.fill(&format!("{form} input[name=note]"), "<i>tell</i> the OEMs first").await;
        b.screenshot("09-deciding-a-trade-off").await;
        b.click(&format!("{form} button")).await;
        b.wait_text("#done", &format!("on trade-off `{tradeoff}` of {NEXT} recorded for Olivia Chen (COO)")).await;
        b.no_alert().await;
        let decided = store.decisions(NEXT).await.unwrap();
        let d = decided.iter().find(|d| d.tradeoff_id.as_deref() == Some(&tradeoff)).expect("the decision is stored");
        assert!(
            matches!(&d.choice, snop::analysis::executive::Choice::Option { option } if option == "accept_shortfall"),
            "the option chosen, not the send-back tried first: {:?}",
            d.choice
        );
        assert_eq!(
            (d.owner.as_deref(), d.due.as_deref(), d.decided_by.as_str(), d.note.as_deref()),
            (Some("sam.okafor"), Some("2027-02-05"), "olivia.chen", Some("<i>tell</i> the OEMs first"))
        );

        // The rest as `snop decide` records them: the recommended option each.
        let month = snop::contract::Month::parse(NEXT).unwrap();
        let rest = snop::pipeline::decisions::tradeoffs(&store, month)
            .await
            .unwrap()
            .into_iter()
            .filter(|(_, decided)| decided.is_none())
            .map(|(t, _)| snop::store::decisions::NewDecision {
                cycle: NEXT.into(),
                tradeoff_id: Some(t.id.clone()),
                choice: snop::analysis::executive::Choice::Option {
                    option: snop::analysis::reconcile::option_key(t.recommendation.option).to_string(),
                },
                owner: Some("sam.okafor".into()),
                due: Some("2027-02-05".into()),
                note: None,
            })
            .collect();
        snop::pipeline::decisions::decide_each(&dir, &store, "olivia.chen", rest).await.unwrap();

        // The executive agent drafts the plan from the decisions; the COO approves and signs it.
        let (code, _, err) = crate::common::run_in(&ws_dir, &["run", "executive", "--cycle", NEXT, "--quiet"]);
        assert_eq!(code, 0, "{err}");
        let plan = store.drafts(Some(NEXT), Some(Artifact::SignedPlan)).await.unwrap().remove(0);
        b.goto(&format!("{base}/drafts/{}", plan.id)).await;
        b.click("#approve").await;
        b.wait_text("#done", &format!("Olivia Chen approved the signed plan {NEXT}")).await;
        b.fill("#sign-password", &snop::demo::demo_password("olivia.chen")).await;
        b.click("#sign").await;
        b.wait_text("#signed", "signed by Olivia Chen (COO)").await;
        b.screenshot("10-plan-signed").await;
        b.goto(&format!("{base}/?cycle={NEXT}")).await;
        b.wait_text("#board", "signed by Olivia Chen (COO)").await;
        b.screenshot("11-board-month-two").await;
        b.click("#logout").await;
        b.find("#login").await;

        // An account manager's own lines of month one's log; she marks one told.
        b.login_with(&base, "ana.lopez", &snop::demo::demo_password("ana.lopez")).await;
        b.goto(&format!("{base}/cycles/{CYCLE}/commitments?mine=1")).await;
        b.wait_text("#showing", "lines 1-").await;
        let row = "#log tr:nth-child(2) form";
        let line = b.script(&format!("return document.querySelector('{row} input[name=line]').value")).await;
        let line = line.as_str().unwrap().to_string();
        b.click(&format!("{row} select[name=status] option[value=communicated]")).await;
        b.fill(&format!("{row} input[name=note]"), "told on the phone").await;
        b.click(&format!("{row} button")).await;
        b.wait_text("#done", "saved as `returns/log-2026-12-web-").await;
        b.screenshot("12-commitment-line-updated").await;
        b.no_alert().await;
        b.close().await;
        let returned = fs_err::read_dir(ws_dir.join("returns")).unwrap().filter_map(Result::ok).any(|f| {
            let name = f.file_name().to_string_lossy().into_owned();
            name.starts_with("log-2026-12-web-") && name.ends_with("-ana.lopez.xlsx")
        });
        assert!(returned, "her update is a returned log for the commit-back agent ({line})");
        assert!(store.verify_audit().await.unwrap().first_problem.is_none());
    });
}

// ---------------------------------------------------------------------------------------------
// Through the binary: `snop users` and `snop serve`.

/// Runs `snop` with `stdin` piped in; returns (exit code, stdout, stderr).
fn snop_with_stdin(ws: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write as _;
    let mut child = crate::common::snop()
        .current_dir(ws)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn users_are_managed_on_the_command_line_and_log_in_to_snop_serve() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = crate::common::run_in(tmp.path(), &["init", "ws", "--company", "Test Pumps"]);
    assert_eq!(code, 0, "{err}");
    let ws = tmp.path().join("ws");
    crate::common::copy_dir(&crate::common::repo().join("fixtures/demo/data"), &ws.join("data"));
    let pw = "a-long-enough-password\n";
    let (code, _, err) = snop_with_stdin(&ws, &["users", "add", "somebody.else", "--password-stdin"], pw);
    assert_eq!(code, 1);
    assert!(err.contains("`somebody.else` is not a person in `snop.toml`"), "{err}");
    let (code, _, err) = snop_with_stdin(&ws, &["users", "add", "dana.whitfield", "--password-stdin"], "short\n");
    assert_eq!(code, 1);
    assert!(err.contains("at least 10 characters"), "{err}");
    let (code, out, err) = snop_with_stdin(&ws, &["users", "add", "dana.whitfield", "--password-stdin"], pw);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("`dana.whitfield` (Dana Whitfield) can log in"), "{out}");
    let (code, _, err) = snop_with_stdin(&ws, &["users", "add", "dana.whitfield", "--password-stdin"], pw);
    assert_eq!(code, 1, "a second add is refused");
    assert!(err.contains("already has a user"), "{err}");
    let (_, out, _) = crate::common::run_in(&ws, &["users", "list", "--json"]);
    let users: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(users[0]["person"], "dana.whitfield");
    assert_eq!(users[0]["disabled"], false);
    assert!(!out.contains("a-long-enough-password") && !out.contains("argon2"), "no secret is listed");

    let port = free_port();
    let child = crate::common::snop()
        .current_dir(&ws)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _server = Serving(child);
    let base = format!("http://127.0.0.1:{port}");
    block_on(async {
        let try_login = |pw: &'static str| {
            let base = base.clone();
            async move { post(&base, "/login", None, &[("user", "dana.whitfield"), ("password", pw)], &[]).await.0 }
        };
        for _ in 0..100 {
            if http().get(format!("{base}/login")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(try_login("a-long-enough-password").await, StatusCode::SEE_OTHER);
        let (code, _, err) = crate::common::run_in(&ws, &["users", "disable", "dana.whitfield"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(try_login("a-long-enough-password").await, StatusCode::UNAUTHORIZED, "disabled");
        let (code, _, err) = snop_with_stdin(
            &ws,
            &["users", "reset-password", "dana.whitfield", "--password-stdin"],
            "another-password-1\n",
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(try_login("a-long-enough-password").await, StatusCode::UNAUTHORIZED, "the old password");
        assert_eq!(try_login("another-password-1").await, StatusCode::SEE_OTHER, "enabled again, new password");
    });
}

#[test]
fn sessions_expire_and_the_cookie_is_secure_behind_a_tls_proxy() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        // Idle limit 0: every session has ended by its next request.
        let options = Options { idle_minutes: 0, behind_proxy: true, ..Options::default() };
        let base = start(tmp.path(), options).await;
        let r = http()
            .post(format!("{base}/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-proto", "https")
            .body(serde_urlencoded::to_string([("user", "sam.okafor"), ("password", &password("sam.okafor"))]).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let cookie = r.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().to_string();
        assert!(cookie.starts_with("__Host-snop_session=") && cookie.contains("; Secure;"), "{cookie}");
        let r =
            http().get(format!("{base}/")).header("cookie", cookie.split(';').next().unwrap()).send().await.unwrap();
        assert_eq!((r.status(), r.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/login"));
    });
}
