//! Security of `snop serve` over HTTP: every state-changing route needs a session and the
//! forgery token, pages carry a strict content policy and downloads are the stored bytes,
//! sessions end at logout and when idle (with a secure cookie behind a TLS proxy), and failed
//! logins all look the same and are limited.

use reqwest::StatusCode;
use snop::draft::State;
use snop::store::Store;
use snop::web::{self, Options};

use super::{HOSTILE_CUSTOMER, WORKBOOK, csrf_of, draft_state, get, http, login, password, post, start};
use crate::common::block_on;

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

/// Issue 21: the sign form's password counts as a login. Five wrong passwords there lock the
/// account as five wrong logins do (429, the wait said, every session ended); tries while locked
/// are not counted and do not push the lock forward; nothing is signed, even with the right one.
#[test]
fn the_sign_forms_password_counts_as_a_login() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let options = Options { logins_per_minute: 100, lock_after: 5, ..Options::default() };
        let base = start(tmp.path(), options).await;
        let cookie = login(&base, "dana.whitfield").await;
        let (_, page) = get(&base, "/drafts/1", &cookie).await;
        let csrf = csrf_of(&page);
        let (s, _) =
            post(&base, "/drafts/1/approve", Some(&cookie), &[("csrf", &csrf), ("row_version", "1")], &[]).await;
        assert_eq!(s, StatusCode::OK);
        let sign = |pw: String| {
            let (base, cookie, csrf) = (base.clone(), cookie.clone(), csrf.clone());
            async move {
                let r = http()
                    .post(format!("{base}/drafts/1/sign"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("cookie", cookie)
                    .body(
                        serde_urlencoded::to_string([("csrf", csrf.as_str()), ("row_version", "2"), ("password", &pw)])
                            .unwrap(),
                    )
                    .send()
                    .await
                    .unwrap();
                let wait = r.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<i64>().unwrap());
                (r.status(), wait, r.text().await.unwrap())
            }
        };
        for _ in 0..4 {
            let (s, wait, body) = sign("guess-guess-guess".into()).await;
            assert_eq!((s, wait), (StatusCode::FORBIDDEN, None), "{body}");
        }
        let (s, wait, body) = sign("guess-guess-guess".into()).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(wait.is_some_and(|w| (800..=900).contains(&w)), "{wait:?}");
        assert!(body.contains("your account is locked after 5 wrong passwords in a row, until "), "{body}");
        assert!(body.contains("and your sessions have ended: nothing was signed"), "{body}");
        // The lock ended the session.
        let (s, _) = get(&base, "/", &cookie).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "the session ended with the lock");
        let store = Store::open(tmp.path(), "sqlite://snop.db").await.unwrap();
        let locked = store.credentials("dana.whitfield").await.unwrap().unwrap().locked_until.unwrap();
        // Tries while locked, on /login (wrong or right): refused, not counted, the lock stays put.
        for pw in ["guess-guess-guess".to_string(), password("dana.whitfield")] {
            for _ in 0..5 {
                let (s, _) =
                    post(&base, "/login", None, &[("user", "dana.whitfield"), ("password", pw.as_str())], &[]).await;
                assert_eq!(s, StatusCode::UNAUTHORIZED);
            }
        }
        let after = store.credentials("dana.whitfield").await.unwrap().unwrap();
        assert_eq!((after.locked_until.as_deref(), after.failed_logins), (Some(locked.as_str()), 0));
        assert_eq!(draft_state(tmp.path(), 1).await.0, State::Approved, "nothing was signed");
        let report = store.verify_audit().await.unwrap();
        assert_eq!(report.first_problem, None, "the lock is audited");
    });
}

/// The sign form shares the per-address limit of `/login`: a 429 with the wait.
#[test]
fn the_sign_form_shares_the_login_limit_of_an_address() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let options = Options { logins_per_minute: 3, lock_after: 5, ..Options::default() };
        let base = start(tmp.path(), options).await;
        let cookie = login(&base, "dana.whitfield").await; // attempt 1
        let (_, page) = get(&base, "/drafts/1", &cookie).await;
        let csrf = csrf_of(&page);
        let form = [("csrf", csrf.as_str()), ("row_version", "1"), ("password", "guess-guess-guess")];
        for _ in 0..2 {
            let (s, body) = post(&base, "/drafts/1/sign", Some(&cookie), &form, &[]).await; // 2, 3
            assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        }
        let pw = password("dana.whitfield");
        let form = [("csrf", csrf.as_str()), ("row_version", "1"), ("password", pw.as_str())];
        let (s, body) = post(&base, "/drafts/1/sign", Some(&cookie), &form, &[]).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(body.contains("too many password attempts from your address: nothing was signed; wait a minute"));
        let (s, body) = post(&base, "/login", None, &[("user", "sam.okafor"), ("password", "x")], &[]).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    });
}

/// `[signoff] require_keys`: the web cannot sign without the signer's key either, and says how
/// to register one.
#[test]
fn require_keys_refuses_signing_on_the_web() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let store = super::seeded(tmp.path()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let dir = snop::sop::Directory { require_keys: true, ..super::directory() };
        let app = web::App::new(store, dir, "Test Pumps".into(), Options::default());
        tokio::spawn(web::serve(listener, app, std::future::pending()));
        let cookie = login(&base, "dana.whitfield").await;
        let (_, page) = get(&base, "/drafts/1", &cookie).await;
        let csrf = csrf_of(&page);
        let (s, _) =
            post(&base, "/drafts/1/approve", Some(&cookie), &[("csrf", &csrf), ("row_version", "1")], &[]).await;
        assert_eq!(s, StatusCode::OK);
        let pw = password("dana.whitfield");
        let form = [("csrf", csrf.as_str()), ("row_version", "2"), ("password", pw.as_str())];
        let (s, body) = post(&base, "/drafts/1/sign", Some(&cookie), &form, &[]).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert!(
            body.contains("says every signature needs the signer&#39;s key, and Dana Whitfield has none"),
            "{body}"
        );
        assert!(body.contains("run `snop keys generate --as dana.whitfield`"), "{body}");
        assert_eq!(draft_state(tmp.path(), 1).await.0, State::Approved);
    });
}

/// Issue 21: behind a TLS proxy only the `__Host-` cookie counts, and two session cookies in one
/// request are trusted neither (the first no longer wins).
#[test]
fn behind_a_tls_proxy_only_the_host_cookie_counts() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let base = start(tmp.path(), Options { behind_proxy: true, ..Options::default() }).await;
        let r = http()
            .post(format!("{base}/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-proto", "https")
            .body(serde_urlencoded::to_string([("user", "sam.okafor"), ("password", &password("sam.okafor"))]).unwrap())
            .send()
            .await
            .unwrap();
        let cookie = r.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().to_string();
        let token = cookie.split(';').next().unwrap().strip_prefix("__Host-snop_session=").unwrap().to_string();
        let page = |cookies: String| {
            let base = base.clone();
            async move {
                let r = http()
                    .get(format!("{base}/"))
                    .header("x-forwarded-proto", "https")
                    .header("cookie", cookies)
                    .send()
                    .await
                    .unwrap();
                r.status()
            }
        };
        assert_eq!(page(format!("__Host-snop_session={token}")).await, StatusCode::OK);
        assert_eq!(page(format!("snop_session={token}")).await, StatusCode::SEE_OTHER, "the plain cookie over TLS");
        let planted = "0".repeat(64);
        for two in [
            format!("snop_session={planted}; __Host-snop_session={token}"),
            format!("__Host-snop_session={planted}; __Host-snop_session={token}"),
            format!("__Host-snop_session={token}; __Host-snop_session={planted}"),
        ] {
            let expected = if two.starts_with("snop_session") { StatusCode::OK } else { StatusCode::SEE_OTHER };
            assert_eq!(page(two.clone()).await, expected, "{two}");
        }
    });
}

/// Issue 21: a client that never finishes its request's headers is cut off after the header
/// read timeout, and one address holds at most so many connections; the server goes on
/// serving. Bounded in time: a second's timeout.
#[test]
fn slow_clients_are_cut_off_and_one_address_holds_few_connections() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let options = Options {
            header_read_timeout: std::time::Duration::from_secs(1),
            connections_per_address: 20,
            ..Options::default()
        };
        let base = start(tmp.path(), options).await;
        let addr = base.strip_prefix("http://").unwrap().to_string();
        // Half-sent requests: the headers never end.
        let mut slow = Vec::new();
        for _ in 0..10 {
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            s.write_all(b"GET /login HTTP/1.1\r\nHost: x\r\n").await.unwrap();
            slow.push(s);
        }
        // A connection over the limit of the address is closed at once.
        let mut more = Vec::new();
        for _ in 0..10 {
            more.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
        }
        let mut extra = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let mut buf = [0u8; 64];
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), extra.read(&mut buf)).await;
        assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "the 21st connection is closed: {closed:?}");
        drop(more);
        // Each slow one is cut off within the timeout (and a little).
        let started = std::time::Instant::now();
        for mut s in slow {
            let read = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut buf)).await;
            assert!(read.is_ok(), "a slow client was still held after 5 s");
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(4), "{:?}", started.elapsed());
        // A kept-alive connection left idle after its answer is closed too.
        let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
        idle.write_all(b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut answer = vec![0u8; 1 << 16];
        let n = idle.read(&mut answer).await.unwrap();
        assert!(answer[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer[..n]));
        let started = std::time::Instant::now();
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                match idle.read(&mut answer).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(read.is_ok() && started.elapsed() < std::time::Duration::from_secs(4), "an idle connection was held");
        // And the server still serves.
        let (s, _) = get(&base, "/login", "").await;
        assert_eq!(s, StatusCode::OK);
    });
}

/// Issue 21: a request whose body never ends is answered 408 once the request timeout passes,
/// and its connection closed (a kept-alive idle one is cut off by the header read timeout,
/// above). Bounded in time: a second's timeout.
#[test]
fn a_request_whose_body_never_ends_gets_a_408() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let second = std::time::Duration::from_secs(1);
        let options = Options { request_timeout: second, header_read_timeout: 10 * second, ..Options::default() };
        let base = start(tmp.path(), options).await;
        let addr = base.strip_prefix("http://").unwrap().to_string();
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let started = std::time::Instant::now();
        s.write_all(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nuser=sam",
        )
        .await
        .unwrap();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(5 * second, s.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "the connection was still held after 5 s");
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(text.contains("the request took too long to arrive or to answer"), "{text}");
        let took = started.elapsed();
        assert!(took >= second && took < 4 * second, "{took:?}");
        // And the server still serves.
        let (s, _) = get(&base, "/login", "").await;
        assert_eq!(s, StatusCode::OK);
    });
}

/// Issue 21: a form that does not read, and input that does not stand, are answered 422 in the
/// person's words (never the decoder's "missing field" or "invalid digit"); a refusal of the
/// person stays 403; an unknown address is a 404 page, an action opened as a page a 405 page.
#[test]
fn bad_input_is_a_422_in_words_and_an_unknown_address_a_404_page() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let base = start(tmp.path(), Options::default()).await;
        let cookie = login(&base, "dana.whitfield").await;
        let (_, page) = get(&base, "/drafts/1", &cookie).await;
        let csrf = csrf_of(&page);
        for form in [vec![("csrf", csrf.as_str())], vec![("csrf", csrf.as_str()), ("row_version", "1x")]] {
            let (s, body) = post(&base, "/drafts/1/approve", Some(&cookie), &form, &[]).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}: {body}");
            assert!(body.contains("nothing was saved; reload the page and try again"), "{body}");
            for internal in ["missing field", "row_version", "invalid digit"] {
                assert!(!body.contains(internal), "{internal}: {body}");
            }
        }
        // Input that does not stand (was 403).
        let (s, body) = post(&base, "/drafts/1/comment", Some(&cookie), &[("csrf", &csrf), ("body", "  ")], &[]).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.contains("a comment needs some text"), "{body}");
        let long = "x".repeat(10_001);
        let (s, body) = post(&base, "/drafts/1/comment", Some(&cookie), &[("csrf", &csrf), ("body", &long)], &[]).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("a comment is at most 10000 characters"));
        assert_eq!(draft_state(tmp.path(), 1).await, (State::Draft, 1, 0), "nothing was stored");
        // A login form without its password.
        let (s, body) = post(&base, "/login", None, &[("user", "dana.whitfield")], &[]).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.contains("the login form needs a user name and a password"), "{body}");
        // Addresses that are no page, and an action opened as a page.
        for path in ["/nowhere", "/drafts/1/nothing", "/assets/htmx-0.0.1.min.js"] {
            let (s, body) = get(&base, path, &cookie).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
            assert!(body.contains("there is no page at this address"), "{path}: {body}");
        }
        let (s, body) = get(&base, "/drafts/1/approve", &cookie).await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{body}");
        assert!(body.contains("this page is not used that way"), "{body}");
    });
}
