//! Logging in and out, sessions, and the forgery check on every form.

use std::net::SocketAddr;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use super::{App, CSS_PATH, HTMX_PATH, Shared, allow_attempt, internal, message, render};
use crate::sop::role_title;

/// An argon2id hash of a password (PHC string: salt and parameters inside).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

/// Whether a password matches a stored hash.
pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), phc).is_ok()
}

/// A hash nobody's password matches, verified against for unknown users so that a wrong user
/// name costs as long as a wrong password.
fn decoy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password(&random_hex()).expect("hashing a random password"))
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS gives random bytes");
    hex::encode(bytes)
}

const COOKIE: &str = "snop_session";
/// Over TLS the cookie is `__Host-` prefixed: Secure, for this host and path `/` only.
const SECURE_COOKIE: &str = "__Host-snop_session";

/// The answer to every failed login, whatever failed: an unknown user, a wrong password, a
/// locked or disabled account. Telling them apart would tell an attacker which names exist.
pub const LOGIN_FAILED: &str = "the user name or the password is wrong (after 5 failures in a row an account is locked for 15 minutes; an administrator can unlock it with `snop users reset-password`)";

fn over_tls(app: &App, headers: &HeaderMap) -> bool {
    app.options.behind_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// The session cookie's token. Over TLS behind a proxy only the `__Host-` cookie counts (a plain
/// one could be planted by another host of the domain); two session cookies in one request are
/// trusted neither.
fn session_token(app: &App, headers: &HeaderMap) -> Option<String> {
    let tls = over_tls(app, headers);
    let mut tokens = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == SECURE_COOKIE || (!tls && *name == COOKIE))
        .map(|(_, value)| value.to_string());
    let token = tokens.next()?;
    tokens.next().is_none().then_some(token)
}

fn client_address(app: &App, parts: &Parts) -> String {
    if app.options.behind_proxy
        && let Some(last) =
            parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()).and_then(|v| v.rsplit(',').next())
    {
        return last.trim().to_string();
    }
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or_else(|| "unknown".into(), |c| c.0.ip().to_string())
}

/// The logged-in person.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Viewer {
    pub person: String,
    pub name: String,
    /// The roles held, as people say them.
    pub roles: Vec<String>,
    /// The token every form of this session carries.
    pub csrf: String,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// The session's person, or a way to log in: a page request goes to the login page; any other
/// request is refused (401).
impl FromRequestParts<Shared> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Viewer, Response> {
        let unauthorised = || -> Response {
            if parts.method == Method::GET || parts.method == Method::HEAD {
                Redirect::to("/login").into_response()
            } else {
                message(
                    StatusCode::UNAUTHORIZED,
                    "Log in first",
                    "you are not logged in, or your session ended: log in again",
                )
            }
        };
        let Some(token) = session_token(app, &parts.headers) else { return Err(unauthorised()) };
        let session = match app.store.session(&token).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(unauthorised()),
            Err(e) => return Err(internal(&e.into())),
        };
        let now = Utc::now();
        let expired = parse_time(&session.expires_at).is_none_or(|t| now >= t)
            || parse_time(&session.last_seen_at)
                .is_none_or(|t| now - t >= chrono::Duration::minutes(app.options.idle_minutes));
        if expired {
            app.store.end_session(&token).await.map_err(|e| internal(&e.into()))?;
            return Err(unauthorised());
        }
        if parse_time(&session.last_seen_at).is_some_and(|t| now - t >= chrono::Duration::minutes(1)) {
            app.store.touch_session(&token).await.map_err(|e| internal(&e.into()))?;
        }
        let roles = app.dir.roles_of(&session.person).into_iter().map(role_title).collect();
        Ok(Viewer { name: app.dir.name(&session.person), person: session.person, roles, csrf: session.csrf_token })
    }
}

/// A form that changes state: the session's person, and the form, which must carry the
/// session's forgery token (`csrf`). Every state-changing handler takes one, so none can forget.
pub struct Posted<T> {
    pub viewer: Viewer,
    pub form: T,
}

#[derive(serde::Deserialize)]
struct Token {
    csrf: Option<String>,
}

impl<T: DeserializeOwned + Send> FromRequest<Shared> for Posted<T> {
    type Rejection = Response;

    async fn from_request(request: Request, app: &Shared) -> Result<Posted<T>, Response> {
        let (mut parts, body) = request.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, app).await?;
        let bytes = axum::body::to_bytes(body, 2 << 20)
            .await
            .map_err(|_| message(StatusCode::PAYLOAD_TOO_LARGE, "Too large", "the form is larger than 2 MiB"))?;
        let token = serde_urlencoded::from_bytes::<Token>(&bytes).ok().and_then(|t| t.csrf).unwrap_or_default();
        if !same_secret(&token, &viewer.csrf) {
            return Err(message(
                StatusCode::FORBIDDEN,
                "Refused",
                "refused: the form did not carry this session's token (it may be from before you logged in again): reload the page and retry",
            ));
        }
        let form = serde_urlencoded::from_bytes::<T>(&bytes).map_err(|e| {
            tracing::debug!(error = %e, "a form that does not read");
            message(StatusCode::UNPROCESSABLE_ENTITY, "Not saved", &unreadable_form(&e))
        })?;
        Ok(Posted { viewer, form })
    }
}

/// Why a form does not read, in the words of the person who sent it: the decoder's own
/// ("invalid digit found in string", "missing field `row_version`") name nothing they can act on.
/// The fields a person fills in are text; what does not read is the page's own (a version, a
/// page number), so the page is out of date or was changed by hand.
fn unreadable_form(e: &serde_urlencoded::de::Error) -> String {
    let text = e.to_string();
    let missing = text.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
    match missing {
        Some("row_version" | "csrf") | None => {
            "the form is incomplete or not as the page sent it (the page may be out of date): nothing was saved; reload the page and try again".into()
        }
        Some(field) => format!(
            "the form has no {}: nothing was saved; fill it in and send the form again",
            field.replace('_', " ")
        ),
    }
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && !b.is_empty() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(serde::Serialize)]
struct LoginPage<'a> {
    title: &'static str,
    company: &'a str,
    error: Option<&'a str>,
    viewer: Option<()>,
    htmx: &'static str,
    css: &'static str,
}

fn login_form(app: &App, status: StatusCode, error: Option<&str>) -> Response {
    render(
        status,
        "login.html",
        &LoginPage { title: "Log in", company: &app.company, error, viewer: None, htmx: HTMX_PATH, css: CSS_PATH },
    )
}

pub async fn login_page(State(app): State<Shared>) -> Response {
    login_form(&app, StatusCode::OK, None)
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    user: String,
    password: String,
}

pub async fn login(State(app): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if !allow_attempt(&app, &client_address(&app, &parts)) {
        return message(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "too many login attempts from your address: wait a minute and try again",
        );
    }
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 10).await else {
        return login_form(&app, StatusCode::BAD_REQUEST, Some("the login form is too large"));
    };
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&bytes) else {
        return login_form(
            &app,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("the login form needs a user name and a password"),
        );
    };
    let user = form.user.trim().to_string();
    let credentials = match app.store.credentials(&user).await {
        Ok(c) => c,
        Err(e) => return internal(&e.into()),
    };
    let phc = credentials.as_ref().map_or_else(|| decoy_hash().to_string(), |c| c.password_phc.clone());
    let password = form.password;
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &phc)).await.unwrap_or(false);
    let now = Utc::now();
    let Some(c) = credentials else { return login_form(&app, StatusCode::UNAUTHORIZED, Some(LOGIN_FAILED)) };
    let locked = c.locked_until.as_deref().and_then(parse_time).is_some_and(|t| now < t);
    if !matches || locked || c.disabled {
        // Tries while locked are not counted: they never push the lock forward.
        if !matches && !locked {
            let until = (now + chrono::Duration::minutes(app.options.lock_minutes))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            if let Err(e) = app.store.login_failed(&c.person, app.options.lock_after, &until).await {
                return internal(&e.into());
            }
        }
        return login_form(&app, StatusCode::UNAUTHORIZED, Some(LOGIN_FAILED));
    }
    let token = random_hex();
    let expires = now + chrono::Duration::hours(app.options.session_hours);
    let expires_text = expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    if let Err(e) = app.store.start_session(&c.person, &token, &random_hex(), &expires_text).await {
        return internal(&e.into());
    }
    tracing::info!(person = %c.person, "logged in");
    let cookie = if over_tls(&app, &parts.headers) {
        format!(
            "{SECURE_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
            app.options.session_hours * 3600
        )
    } else {
        format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}", app.options.session_hours * 3600)
    };
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

/// The address a request comes from, as the login limit counts it (the proxy's
/// `X-Forwarded-For` when behind one).
pub struct ClientAddress(pub String);

impl FromRequestParts<Shared> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<ClientAddress, Self::Rejection> {
        Ok(ClientAddress(client_address(app, parts)))
    }
}

/// What a password given to sign came to: the signing password counts as a login.
pub enum PasswordCheck {
    Matches,
    /// Wrong, and the account not locked by it.
    Wrong,
    /// The account is locked until then (by this try, or before it: then the password was not
    /// even judged, and the try does not push the lock forward); a lock ends every session.
    Locked(DateTime<Utc>),
    /// Too many tries from this address in the last minute.
    Limited,
}

/// Judges a logged-in person's password (to sign) as `/login` does: the per-address limit, the
/// per-account lock (a live lock is not pushed forward by more tries), a wrong one counted.
pub async fn check_password(app: &App, address: &str, person: &str, password: String) -> anyhow::Result<PasswordCheck> {
    if !allow_attempt(app, address) {
        return Ok(PasswordCheck::Limited);
    }
    let Some(c) = app.store.credentials(person).await? else { return Ok(PasswordCheck::Wrong) };
    let now = Utc::now();
    if let Some(until) = c.locked_until.as_deref().and_then(parse_time).filter(|t| now < *t) {
        return Ok(PasswordCheck::Locked(until));
    }
    let phc = c.password_phc.clone();
    if tokio::task::spawn_blocking(move || verify_password(&password, &phc)).await? {
        return Ok(PasswordCheck::Matches);
    }
    let until = now + chrono::Duration::minutes(app.options.lock_minutes);
    let text = until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    if app.store.login_failed(person, app.options.lock_after, &text).await? {
        tracing::warn!(person, "locked after too many wrong passwords on the sign form");
        return Ok(PasswordCheck::Locked(until));
    }
    Ok(PasswordCheck::Wrong)
}

#[derive(serde::Deserialize)]
pub struct Empty {}

pub async fn logout(State(app): State<Shared>, headers: HeaderMap, posted: Posted<Empty>) -> Response {
    if let Some(token) = session_token(&app, &headers)
        && let Err(e) = app.store.end_session(&token).await
    {
        return internal(&e.into());
    }
    tracing::info!(person = %posted.viewer.person, "logged out");
    let clear = [COOKIE, SECURE_COOKIE].map(|name| {
        let secure = if name == SECURE_COOKIE { "; Secure" } else { "" };
        (header::SET_COOKIE, format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"))
    });
    (clear, Redirect::to("/login")).into_response()
}
