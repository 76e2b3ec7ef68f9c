//! `snop serve`: the review workflow in the browser, for the people who never open a terminal.
//!
//! Server-rendered pages (axum + tera, auto-escaped), htmx for partial updates (vendored and
//! embedded; no JavaScript of our own, no build step). Every action goes through the same
//! service layer as the CLI: [`Store::act`], whose [`decide`](crate::draft::verdict)
//! is the one place that says who may do what, so a rule enforced for the CLI is enforced here
//! by the same code. A refusal shows `decide`'s message, which names who may.
//!
//! Security, by layer:
//! - login: argon2id hashes; a per-account failure counter in the store that locks the account
//!   for a while, and a per-address limit on `POST /login` (the sign form's password counts as
//!   a login: [`auth::check_password`]); a wrong user name, a wrong password
//!   and a locked or disabled account get the same answer;
//! - sessions: a random token in an HttpOnly, SameSite=Strict cookie (`__Host-` and Secure
//!   behind a TLS proxy that says so), only its sha256 stored; idle and absolute expiry; logout
//!   deletes the row;
//! - forgery: every state-changing request must come from our own origin (Sec-Fetch-Site /
//!   Origin) and carry the session's token in its form ([`auth::Posted`]);
//! - connections: a header read timeout (slow clients cut off, and a kept-alive connection
//!   idle between requests: hyper's timer runs while it waits for the next request's headers),
//!   a request timeout (a request whose body or answer takes longer gets a 408: tower's
//!   `Timeout`, in [`router`]) and a cap per address ([`conn`]);
//! - output: tera escapes every value; a Content-Security-Policy forbids inline script (and the
//!   rendered artifact, framed, runs no script at all).
//!
//! Adding a page is a template, a handler (in [`pages`] for the board and a draft's pages, in
//! [`decisions`] for a cycle's executive decisions, in [`commitments`] for its commitment log)
//! and a route in [`router`] (a route that changes state is listed in [`STATE_CHANGING_ROUTES`]
//! too).

mod auth;
mod commitments;
mod conn;
mod decisions;
pub mod load;
mod pages;
mod scenarios;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use auth::{hash_password, verify_password};

use crate::sop::Directory;
use crate::store::Store;

/// How the server behaves; the defaults are what `snop serve` uses.
#[derive(Debug, Clone)]
pub struct Options {
    /// Served behind a reverse proxy: trust its `X-Forwarded-For` (the client's address, for
    /// the login limit) and `X-Forwarded-Proto: https` (the cookie becomes `__Host-` + Secure).
    pub behind_proxy: bool,
    /// Login attempts allowed per client address per minute.
    pub logins_per_minute: usize,
    /// Consecutive failed logins that lock an account ...
    pub lock_after: i64,
    /// ... for this long.
    pub lock_minutes: i64,
    /// A session ends after this long without a request ...
    pub idle_minutes: i64,
    /// ... and this long after login, whatever.
    pub session_hours: i64,
    /// Rows of a facts table per page.
    pub page_rows: usize,
    /// A client that has not sent a request's headers within this long is cut off.
    pub header_read_timeout: Duration,
    /// A request not answered within this long (its body sent too slowly, say) gets a 408 and
    /// its connection is closed.
    pub request_timeout: Duration,
    /// Connections one address may hold open at once (not behind a proxy).
    pub connections_per_address: usize,
    /// The cycle calendar, for the meetings' dates on the board.
    pub calendar: Option<crate::calendar::Calendar>,
    /// The folder the commit-back agent reads returned commitment logs from
    /// ([`crate::pipeline::commitment_lines::returns_folder`]): where a line's update is saved. `None`: the
    /// commitment log is read-only.
    pub returns: Option<std::path::PathBuf>,
    /// The workspace whose `scenarios/` the scenario page runs (its run buttons). `None`: the
    /// page only reads the scenario runs.
    pub workspace: Option<std::path::PathBuf>,
    /// `[company] locale`: how the pages write the numbers they format.
    pub locale: crate::analysis::locale::Locale,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            behind_proxy: false,
            logins_per_minute: 10,
            lock_after: 5,
            lock_minutes: 15,
            idle_minutes: 30,
            session_hours: 12,
            page_rows: 50,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            connections_per_address: 256,
            calendar: None,
            returns: None,
            workspace: None,
            locale: crate::analysis::locale::Locale::EnUs,
        }
    }
}

/// What every request handler shares.
pub struct App {
    store: Store,
    dir: Directory,
    company: String,
    options: Options,
    /// Login attempts per client address in the last minute.
    attempts: Mutex<HashMap<String, Vec<Instant>>>,
    /// The facts tables of the drafts viewed last, by the hash of their facts.
    tables: Memo<Vec<crate::artifacts::tables::FrameTable>>,
    /// The trade-offs of the packs viewed last, by the pack's run.
    tradeoffs: Memo<Vec<crate::analysis::reconcile::TradeOff>>,
    /// The commitment logs viewed last, by the commit-back run.
    logs: Memo<Option<crate::analysis::commitments::CommitmentLog>>,
    /// The decisions of the cycles viewed last and which are done, by `Store::decisions_mark`.
    decisions: Memo<decisions::Decided>,
    /// The scenario runs started from the scenario page (in memory while the server runs).
    scenario_jobs: scenarios::Jobs,
}

impl App {
    pub fn new(store: Store, dir: Directory, company: String, options: Options) -> App {
        App {
            store,
            dir,
            company,
            options,
            attempts: Mutex::new(HashMap::new()),
            tables: Memo::default(),
            tradeoffs: Memo::default(),
            logs: Memo::default(),
            decisions: Memo::default(),
            scenario_jobs: scenarios::Jobs::default(),
        }
    }
}

/// What was read from a run's files (which never change once written), kept for the last few
/// keys asked for, least recently asked first; each read once however many requests ask for it
/// at the same time.
pub(crate) struct Memo<T> {
    cells: Mutex<Vec<(String, MemoCell<T>)>>,
}

type MemoCell<T> = Arc<tokio::sync::OnceCell<Arc<T>>>;

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Memo { cells: Mutex::new(Vec::new()) }
    }
}

impl<T> Memo<T> {
    /// How many keys are kept.
    const KEEP: usize = 8;

    pub(crate) async fn get<F, Fut>(&self, key: String, read: F) -> anyhow::Result<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<T>>,
    {
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let cell = match cells.iter().position(|(k, _)| *k == key) {
                Some(i) => cells.remove(i).1,
                None => Arc::default(),
            };
            cells.push((key, Arc::clone(&cell)));
            if cells.len() > Self::KEEP {
                cells.remove(0);
            }
            cell
        };
        Ok(Arc::clone(cell.get_or_try_init(|| async { read().await.map(Arc::new) }).await?))
    }
}

type Shared = Arc<App>;

/// The routes that change state (each takes a form with the session's forgery token). Tests
/// walk this list, so a new one is listed here.
pub const STATE_CHANGING_ROUTES: &[&str] = &[
    "/logout",
    "/drafts/{id}/edit",
    "/drafts/{id}/comment",
    "/drafts/{id}/approve",
    "/drafts/{id}/reject",
    "/drafts/{id}/sign",
    "/cycles/{cycle}/decisions",
    "/cycles/{cycle}/decisions/done",
    "/cycles/{cycle}/commitments",
    "/cycles/{cycle}/scenarios/run",
];

/// The vendored htmx (0BSD, see `assets/htmx-LICENSE`), served under its version.
pub const HTMX_PATH: &str = "/assets/htmx-2.0.11.min.js";
const HTMX: &[u8] = include_bytes!("assets/htmx-2.0.11.min.js");
const CSS_PATH: &str = "/assets/snop-1.css";
const CSS: &[u8] = include_bytes!("assets/snop.css");

/// The application: every page and action.
pub fn router(app: App) -> Router {
    let request_timeout = app.options.request_timeout;
    let app: Shared = Arc::new(app);
    Router::new()
        .route("/", get(pages::board))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/drafts/{id}", get(pages::draft))
        .route("/drafts/{id}/page", get(pages::rendered))
        .route("/drafts/{id}/markdown", get(pages::markdown))
        .route("/drafts/{id}/workbook", get(pages::workbook))
        .route("/drafts/{id}/pdf", get(pages::pdf))
        .route("/drafts/{id}/edit", post(pages::edit))
        .route("/drafts/{id}/comment", post(pages::comment))
        .route("/drafts/{id}/approve", post(pages::approve))
        .route("/drafts/{id}/reject", post(pages::reject))
        .route("/drafts/{id}/sign", post(pages::sign))
        .route("/cycles/{cycle}/decisions", get(decisions::decisions).post(decisions::decide_tradeoff))
        .route("/cycles/{cycle}/decisions/done", post(decisions::decision_done))
        .route("/cycles/{cycle}/commitments", get(commitments::commitments).post(commitments::update_line))
        .route("/cycles/{cycle}/scenarios", get(scenarios::scenarios))
        .route("/cycles/{cycle}/scenarios/run", post(scenarios::run_scenario))
        .route("/cycles/{cycle}/scenarios/jobs/{name}", get(scenarios::job))
        .route(HTMX_PATH, get(|| async { asset("text/javascript; charset=utf-8", HTMX) }))
        .route(CSS_PATH, get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .fallback(|| async {
            message(
                StatusCode::NOT_FOUND,
                "Not found",
                "there is no page at this address: the board (/) lists the cycle's pages",
            )
        })
        .method_not_allowed_fallback(|| async {
            message(
                StatusCode::METHOD_NOT_ALLOWED,
                "Not allowed",
                "this page is not used that way: open it from the board (/)",
            )
        })
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(|_: tower::BoxError| async {
                    let mut r = message(
                        StatusCode::REQUEST_TIMEOUT,
                        "Too slow",
                        "the request took too long to arrive or to answer: nothing more was done; try again",
                    );
                    r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                    r
                }))
                .timeout(request_timeout),
        )
        .layer(middleware::from_fn(same_origin_only))
        .layer(middleware::map_response(security_headers))
        .with_state(app)
}

/// Serves the application on a bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let options = app.options.clone();
    conn::serve(listener, router(app), &options, shutdown).await
}

fn asset(content_type: &'static str, bytes: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // The version is in the path: a new version is a new path.
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response()
}

/// The policy of every page: scripts and styles only from our own files (htmx and our CSS),
/// nothing inline, no other origin, not framed by anyone.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(header::CONTENT_SECURITY_POLICY, CSP);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    set(HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    set(header::CACHE_CONTROL, "no-store");
    response
}

/// Cross-site request forgery, first layer: a request that changes state must come from a page
/// of ours. Browsers say where a request comes from (`Sec-Fetch-Site`, else `Origin`); a
/// cross-site one is refused here. The second layer is the form's token ([`auth::Posted`]).
async fn same_origin_only(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    if let Some(problem) = cross_origin(request.headers()) {
        return (StatusCode::FORBIDDEN, problem).into_response();
    }
    next.run(request).await
}

fn cross_origin(headers: &HeaderMap) -> Option<&'static str> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match text("sec-fetch-site") {
        Some("same-origin" | "none") => return None,
        Some(_) => return Some("refused: this request came from another site"),
        None => {}
    }
    let origin = text("origin")?;
    let host = text("host").unwrap_or_default();
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest.trim_end_matches('/'));
    if origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
        return Some("refused: this request came from another origin");
    }
    None
}

/// The page templates, embedded, auto-escaped.
fn templates() -> &'static tera::Tera {
    static T: OnceLock<tera::Tera> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = tera::Tera::new();
        t.autoescape_on([".html"]);
        t.add_raw_templates([
            ("base.html", include_str!("templates/base.html")),
            ("login.html", include_str!("templates/login.html")),
            ("message.html", include_str!("templates/message.html")),
            ("board.html", include_str!("templates/board.html")),
            ("draft.html", include_str!("templates/draft.html")),
            ("decisions.html", include_str!("templates/decisions.html")),
            ("commitments.html", include_str!("templates/commitments.html")),
            ("scenarios.html", include_str!("templates/scenarios.html")),
            ("scenario_job.html", include_str!("templates/scenario_job.html")),
        ])
        .expect("the web templates parse");
        t
    })
}

/// Renders a page template with a serializable context, as a response with a status.
fn render(status: StatusCode, name: &str, page: &impl serde::Serialize) -> Response {
    let rendered = tera::Context::from_serialize(page)
        .and_then(|c| templates().render(name, &c))
        .map_err(|e| anyhow::anyhow!("rendering `{name}`: {e:?}"));
    match rendered {
        Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => internal(&e),
    }
}

/// A page with one message (errors, refusals without a draft to show).
fn message(status: StatusCode, title: &str, text: &str) -> Response {
    #[derive(serde::Serialize)]
    struct Message<'a> {
        title: &'a str,
        text: &'a str,
        company: &'a str,
        viewer: Option<()>,
        htmx: &'static str,
        css: &'static str,
    }
    render(status, "message.html", &Message { title, text, company: "", viewer: None, htmx: HTMX_PATH, css: CSS_PATH })
}

/// A fault of ours: logged in full, shown without detail.
fn internal(e: &anyhow::Error) -> Response {
    tracing::error!(error = format!("{e:#}"), "snop serve: a request failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "something went wrong on the server; the log says what").into_response()
}

/// Deletes expired login attempts and says whether `key` may try again; counts the attempt.
fn allow_attempt(app: &App, key: &str) -> bool {
    let mut attempts = app.attempts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let now = Instant::now();
    let window = Duration::from_secs(60);
    attempts.retain(|_, times| {
        times.retain(|t| now.duration_since(*t) < window);
        !times.is_empty()
    });
    let times = attempts.entry(key.to_string()).or_default();
    if times.len() >= app.options.logins_per_minute {
        return false;
    }
    times.push(now);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_htmx_is_the_one_pinned() {
        use sha2::Digest as _;
        // sha256 of `dist/htmx.min.js` in the npm package `htmx.org@2.0.11`.
        assert_eq!(
            hex::encode(sha2::Sha256::digest(HTMX)),
            "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
        );
    }

    #[test]
    fn cross_site_requests_are_told_apart_from_our_own() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
            }
            m
        };
        assert_eq!(cross_origin(&h(&[("sec-fetch-site", "same-origin")])), None);
        assert_eq!(cross_origin(&h(&[("sec-fetch-site", "none")])), None);
        assert!(cross_origin(&h(&[("sec-fetch-site", "cross-site")])).is_some());
        assert!(cross_origin(&h(&[("sec-fetch-site", "same-site")])).is_some());
        assert_eq!(cross_origin(&h(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")])), None);
        assert!(cross_origin(&h(&[("origin", "http://evil.example"), ("host", "127.0.0.1:8080")])).is_some());
        assert!(cross_origin(&h(&[("origin", "null"), ("host", "127.0.0.1:8080")])).is_some());
        // Neither header: not a browser; the form token decides.
        assert_eq!(cross_origin(&h(&[("host", "127.0.0.1:8080")])), None);
    }
}
