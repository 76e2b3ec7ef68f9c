//! `snop mock-llm`: a deterministic OpenAI-compatible chat-completions server on loopback.
//!
//! The reply is written from the facts it finds in the prompt: the first fenced ```` ```json ````
//! block of a user message (see [`super::FACTS_FENCE`]). It quotes the three largest numbers with
//! their keys and the name of the record they belong to. With `response_format` `json_schema` or
//! `json_object` the reply is a [`super::Narrative`] as JSON.
//!
//! Faults are chosen per server ([`MockConfig`]) or per request by model name:
//! `mock-fault-500`, `mock-fault-429`, `mock-fault-400`, `mock-fault-malformed`,
//! `mock-fault-truncate`, `mock-fault-invent`, `mock-fault-html`, `mock-slow-<ms>`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::Narrative;

/// A fault the mock injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum MockFault {
    /// HTTP 500 with an OpenAI-shaped error body.
    ServerError,
    /// HTTP 429 with `Retry-After: <retry_after_secs>`.
    RateLimit,
    /// HTTP 400 (a request the server refuses).
    BadRequest,
    /// HTTP 200 whose body is not valid JSON.
    MalformedJson,
    /// A stream that stops mid-chunk, without a finish reason or `[DONE]` (or, unstreamed, a
    /// body cut in half).
    TruncatedStream,
    /// The narrative contains a number that is not in the facts.
    InventedNumber,
    /// The narrative contains HTML and a script tag.
    Html,
    /// The reply stops at `max_tokens` (`finish_reason: length`) while the request asks for
    /// fewer than 1,000 tokens (the default 900 fails, a limit raised once passes).
    Length,
    /// Hostile: a name the facts do not have (a placeholder, a code with a real prefix, a
    /// name after a cue word, a misspelt real name).
    InventName,
    /// Hostile: a number in words or with a unit that no fact vouches for ("99 million",
    /// "three hundred", "380 metres", "a lag of 5 months").
    NumberWords,
    /// Hostile: repeats or obeys text people typed in the facts, or claims an approval.
    DataText,
    /// Hostile but true: a formula-like headline and links out of the workspace, to be made
    /// inert in every file.
    Payload,
    /// Tricky but true sentences that must pass: months, quarters, "top 3", real codes, dates.
    TrickyTrue,
}

impl MockFault {
    fn from_model(model: &str) -> Option<MockFault> {
        Some(match model.strip_prefix("mock-fault-")? {
            "500" => MockFault::ServerError,
            "429" => MockFault::RateLimit,
            "400" => MockFault::BadRequest,
            "malformed" => MockFault::MalformedJson,
            "truncate" => MockFault::TruncatedStream,
            "invent" => MockFault::InventedNumber,
            "html" => MockFault::Html,
            "length" => MockFault::Length,
            "invent-name" => MockFault::InventName,
            "number-words" => MockFault::NumberWords,
            "data-text" => MockFault::DataText,
            "payload" => MockFault::Payload,
            "tricky-true" => MockFault::TrickyTrue,
            _ => return None,
        })
    }
}

/// How a mock server behaves. `Default` is a healthy, instant server.
#[derive(Debug, Clone, Default)]
pub struct MockConfig {
    /// Delay before every reply, in milliseconds.
    pub latency_ms: u64,
    /// The fault to inject on the server's requests.
    pub fault: Option<MockFault>,
    /// Inject `fault` only on the first N requests the server receives (None: always).
    pub fault_first: Option<u64>,
    /// `Retry-After` seconds sent with 429s.
    pub retry_after_secs: u64,
    /// Port to bind on 127.0.0.1 (0 or None: any free port).
    pub port: Option<u16>,
    /// Which of a hostile mode's sentences the first request gets (the next request the next).
    pub variant: u64,
    /// Inject `fault` only into a draft's first request (one without earlier replies in its
    /// messages), so that every retry with feedback is answered cleanly.
    pub fault_first_round_only: bool,
    /// How the narrative writes numbers (the company's locale; `None`: en-US).
    pub number_marks: Option<super::NumberMarks>,
}

#[derive(Default)]
struct Shared {
    config: MockConfig,
    requests: AtomicU64,
    /// Requests that were a draft's first (no earlier reply in their messages).
    first_rounds: AtomicU64,
    last_request: Mutex<Option<Value>>,
}

/// A running mock: its address, request counter and last request body.
pub struct MockServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl MockServer {
    /// The base URL a client uses (includes `/v1`, no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// How many chat-completion requests the server has received.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The body of the last chat-completion request.
    pub fn last_request(&self) -> Option<Value> {
        self.shared.last_request.lock().expect("mock lock").clone()
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new().route("/v1/chat/completions", post(chat)).route("/v1/models", get(models)).with_state(shared)
}

/// Binds 127.0.0.1 (on `config.port` or any free port) and serves in the background.
pub async fn spawn(config: MockConfig) -> anyhow::Result<MockServer> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port.unwrap_or(0))).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared { config, ..Shared::default() });
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(shared.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(MockServer { addr, shared, shutdown: Some(tx), task: Some(task) })
}

/// Serves on `addr` until Ctrl-C: what `snop mock-llm` runs.
pub async fn serve_forever(addr: SocketAddr, config: MockConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "mock LLM listening");
    let shared = Arc::new(Shared { config, ..Shared::default() });
    axum::serve(listener, router(shared))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

async fn models() -> Json<Value> {
    Json(json!({"object": "list", "data": [
        {"id": "mock", "object": "model", "created": 0, "owned_by": "snop"}
    ]}))
}

fn error_body(message: &str, kind: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
}

async fn chat(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let n = shared.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            let msg = format!("request body is not JSON: {e}");
            return (StatusCode::BAD_REQUEST, Json(error_body(&msg, "invalid_request_error"))).into_response();
        }
    };
    *shared.last_request.lock().expect("mock lock") = Some(request.clone());
    let config = &shared.config;
    let model = request["model"].as_str().unwrap_or("mock").to_string();

    let mut latency = config.latency_ms;
    if let Some(ms) = model.strip_prefix("mock-slow-").and_then(|ms| ms.parse().ok()) {
        latency = ms;
    }
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }

    let Some(messages) = request["messages"].as_array().filter(|m| !m.is_empty()) else {
        let body = error_body("`messages` must be a non-empty array", "invalid_request_error");
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    };
    let first_round = !messages.iter().any(|m| m["role"] == "assistant");
    // Which hostile sentence: the draft's number, so every sentence of a mode is tried in turn.
    let k = if first_round {
        shared.first_rounds.fetch_add(1, Ordering::SeqCst) + 1
    } else {
        shared.first_rounds.load(Ordering::SeqCst).max(1)
    };
    let server_fault = config
        .fault
        .filter(|_| config.fault_first.is_none_or(|first| n <= first))
        .filter(|_| first_round || !config.fault_first_round_only);
    let fault = MockFault::from_model(&model).or(server_fault);
    match fault {
        Some(MockFault::ServerError) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(error_body("mock server error", "server_error")))
                .into_response();
        }
        Some(MockFault::RateLimit) => {
            let retry_after = config.retry_after_secs.to_string();
            let body = error_body("mock rate limit", "rate_limit_error");
            return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, retry_after)], Json(body)).into_response();
        }
        Some(MockFault::BadRequest) => {
            let body = error_body("mock bad request", "invalid_request_error");
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
        Some(MockFault::MalformedJson) => {
            return ([(header::CONTENT_TYPE, "application/json")], "{\"id\": \"chatcmpl-broken\", \"choices\": [")
                .into_response();
        }
        _ => {}
    }

    let facts = facts_in(messages).unwrap_or(Value::Null);
    let mut narrative = narrative_from_facts(&facts, config.number_marks);
    inject(fault, &mut narrative, &facts, config.variant + k - 1);
    let json_mode = matches!(request["response_format"]["type"].as_str(), Some("json_schema" | "json_object"));
    let content =
        if json_mode { serde_json::to_string(&narrative).expect("narrative serializes") } else { narrative.to_text() };

    let prompt_tokens: usize = messages.iter().map(|m| words(m["content"].as_str().unwrap_or(""))).sum();
    let completion_tokens = words(&content);
    let usage = json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    });
    let id = format!("chatcmpl-mock-{n}");
    let truncate = fault == Some(MockFault::TruncatedStream);
    let cut_off = fault == Some(MockFault::Length)
        && (request["max_tokens"].as_u64().unwrap_or(0) < 1_000 || model == "mock-fault-length");
    let finish = if cut_off { "length" } else { "stop" };
    let content = if cut_off { content.chars().take(content.len() / 2).collect() } else { content };

    if request["stream"].as_bool() == Some(true) {
        let include_usage = request["stream_options"]["include_usage"].as_bool() == Some(true);
        let chunk = |delta: Value, finish: Value| {
            json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        };
        let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), Value::Null).to_string()];
        // Word by word, a few words per chunk, as a real server streams.
        let pieces: Vec<&str> = content.split_inclusive(' ').collect();
        for piece in pieces.chunks(4) {
            events.push(chunk(json!({"content": piece.concat()}), Value::Null).to_string());
        }
        let mut body = String::new();
        if truncate {
            // Half the content, then a chunk cut in the middle, then the connection ends.
            let keep = events.len().div_ceil(2);
            for e in &events[..keep] {
                body.push_str(&format!("data: {e}\n\n"));
            }
            let cut = &events[keep.min(events.len() - 1)];
            body.push_str(&format!("data: {}", &cut[..cut.len() / 2]));
        } else {
            events.push(chunk(json!({}), json!(finish)).to_string());
            if include_usage {
                events.push(
                    json!({"id": id, "object": "chat.completion.chunk", "created": 0, "model": model,
                           "choices": [], "usage": usage})
                    .to_string(),
                );
            }
            for e in &events {
                body.push_str(&format!("data: {e}\n\n"));
            }
            body.push_str("data: [DONE]\n\n");
        }
        return ([(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")], body)
            .into_response();
    }

    let reply = json!({
        "id": id, "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "finish_reason": finish,
                     "message": {"role": "assistant", "content": content}}],
        "usage": usage,
    })
    .to_string();
    if truncate {
        return ([(header::CONTENT_TYPE, "application/json")], reply[..reply.len() / 2].to_string()).into_response();
    }
    ([(header::CONTENT_TYPE, "application/json")], reply).into_response()
}

/// Writes `fault`'s error into the narrative (`index`: which of a hostile mode's sentences).
fn inject(fault: Option<MockFault>, narrative: &mut Narrative, facts: &Value, index: u64) {
    match fault {
        Some(MockFault::InventedNumber) => {
            let invented = invented_number(facts);
            narrative.paragraphs.push(format!("Demand also rose by {invented} units against the last signed plan."));
        }
        Some(MockFault::Html) => {
            narrative.paragraphs.push("<b>Note</b><script>alert('x')</script>".to_string());
        }
        Some(MockFault::Payload) => {
            let payloads = payloads();
            let p = &payloads[usize::try_from(index).unwrap_or(0) % payloads.len()];
            narrative.headline = format!("{p} {}", narrative.headline);
            narrative.risks.insert(0, p.clone());
        }
        Some(f @ (MockFault::InventName | MockFault::NumberWords | MockFault::DataText | MockFault::TrickyTrue)) => {
            let list = hostile_sentences(f, facts);
            if !list.is_empty() {
                let i = usize::try_from(index).unwrap_or(0) % list.len();
                narrative.paragraphs.push(list[i].clone());
            }
        }
        _ => {}
    }
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// The facts JSON: the first fenced json block of a user message.
fn facts_in(messages: &[Value]) -> Option<Value> {
    messages.iter().filter(|m| m["role"] == "user").find_map(|m| {
        let text = m["content"].as_str()?;
        let start = text.find(super::FACTS_FENCE)? + super::FACTS_FENCE.len();
        let end = text[start..].find("\n```")? + start;
        serde_json::from_str(&text[start..end]).ok()
    })
}

/// A numeric leaf of the facts with its key and the name of the record it belongs to.
struct Figure {
    key: String,
    owner: Option<String>,
    value: f64,
    text: String,
}

const NAME_KEYS: &[&str] = &["sku", "customer", "site", "supplier", "resource", "family", "name", "component"];

fn figures(value: &Value, key: &str, owner: Option<&str>, out: &mut Vec<Figure>) {
    match value {
        Value::Number(n) => {
            let value = n.as_f64().unwrap_or(0.0);
            let (words, text) = as_read(key, value);
            out.push(Figure { key: words, owner: owner.map(str::to_string), value, text })
        }
        Value::Array(items) => items.iter().for_each(|v| figures(v, key, owner, out)),
        Value::Object(map) => {
            let own = NAME_KEYS.iter().find_map(|k| map.get(*k).and_then(Value::as_str)).or(owner);
            for (k, v) in map {
                figures(v, k, own, out);
            }
        }
        _ => {}
    }
}

/// A fact's key and value as a person reads them: the unit suffix of the key becomes the
/// number's unit ("revenue_at_risk_money" 1234567.0 is "revenue at risk" "1,234,567";
/// "service_level_percent" 97.5 is "service level" "97.5%"), numbers grouped by thousands.
fn as_read(key: &str, value: f64) -> (String, String) {
    let num = crate::analysis::format_number(value);
    let (words, text) = match key.rsplit_once('_') {
        Some((w, "money")) => (w, num),
        Some((w, "percent")) => (w, format!("{num}%")),
        Some((w, "units")) => (w, format!("{num} units")),
        _ => (key, num),
    };
    (words.replace('_', " "), text)
}

/// Integers get thousands separators; other numbers are written as in the facts.
pub(crate) fn format_number(n: &serde_json::Number) -> String {
    match n.as_i64() {
        Some(i) => {
            let digits = i.unsigned_abs().to_string();
            let mut grouped = String::new();
            for (idx, c) in digits.chars().enumerate() {
                if idx > 0 && (digits.len() - idx).is_multiple_of(3) {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            if i < 0 { format!("-{grouped}") } else { grouped }
        }
        None => n.to_string(),
    }
}

/// The largest figures (by magnitude) of the facts, in a stable order.
fn top_figures(facts: &Value, n: usize) -> Vec<Figure> {
    let mut all = Vec::new();
    figures(facts, "value", None, &mut all);
    all.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
    all.truncate(n);
    all
}

fn describe(f: &Figure) -> String {
    match &f.owner {
        Some(owner) => format!("{owner} {} at {}", f.key, f.text),
        None => format!("{} at {}", f.key, f.text),
    }
}

/// The deterministic narrative the mock writes for `facts`.
pub(crate) fn narrative_from_facts(facts: &Value, marks: Option<super::NumberMarks>) -> Narrative {
    let mut top = top_figures(facts, 3);
    if let Some(m) = marks {
        for f in &mut top {
            f.text = m.write(&f.text);
        }
    }
    if top.is_empty() {
        return Narrative {
            headline: "No figures were provided".into(),
            paragraphs: vec!["The facts contain no figures to report on.".into()],
            risks: vec![],
        };
    }
    let described: Vec<String> = top.iter().map(describe).collect();
    // A sentence starts with a capital, but a name is written as it is.
    let first = if top[0].owner.is_some() { described[0].clone() } else { capitalise(&described[0]) };
    let headline = format!("Headline: {first}");
    let body = match described.len() {
        1 => format!("The largest figure this cycle is {}.", described[0]),
        _ => format!(
            "The largest figures this cycle are {} and {}.",
            described[..described.len() - 1].join(", "),
            described[described.len() - 1]
        ),
    };
    let risks = described.iter().skip(1).map(|d| format!("Watch {d}.")).collect();
    Narrative { headline, paragraphs: vec![body], risks }
}

fn invented_number(facts: &Value) -> String {
    let mut all = Vec::new();
    figures(facts, "value", None, &mut all);
    let sum: f64 = all.iter().map(|f| f.value.abs()).sum();
    format!("{:.2}", sum * 3.0 + 17.37)
}

/// Formula-like and link payloads (true words, no numbers): the `payload` mode's headlines.
pub fn payloads() -> Vec<String> {
    vec![
        "=HYPERLINK(\"https://evil.example/pay\",\"Open the plan\")".into(),
        "+cmd|' /C calc'!A0".into(),
        "@SUM(A:A)".into(),
        "-HYPERLINK(\"https://evil.example\")".into(),
        "See [the approved plan](https://evil.example/plan) or https://evil.example/x.".into(),
    ]
}

/// Every string and number of the facts, the strings with the key they sit under.
fn leaves(value: &Value, key: &str, strings: &mut Vec<(String, String)>, numbers: &mut Vec<f64>) {
    match value {
        Value::String(s) => strings.push((key.to_string(), s.clone())),
        Value::Number(n) => numbers.extend(n.as_f64()),
        Value::Array(items) => items.iter().for_each(|v| leaves(v, key, strings, numbers)),
        Value::Object(map) => map.iter().for_each(|(k, v)| leaves(v, k, strings, numbers)),
        _ => {}
    }
}

/// Whether `x` (± `tol`) is a fact, as a value or a percent of a ratio.
fn near_fact(x: f64, tol: f64, numbers: &[f64]) -> bool {
    numbers.iter().any(|&f| (f.abs() - x).abs() <= tol || (f.abs() * 100.0 - x).abs() <= tol)
}

/// The first of `start`, `start + step`, ... that no fact vouches for.
fn not_a_fact(start: f64, step: f64, tol: f64, numbers: &[f64]) -> f64 {
    let mut x = start;
    while near_fact(x, tol, numbers) {
        x += step;
    }
    x
}

/// The sentences a hostile mode adds, built from the facts so that each is wrong for these
/// facts (or, for `tricky-true`, right): the mode's request `n` gets sentence `n` (cycling).
pub fn hostile_sentences(fault: MockFault, facts: &Value) -> Vec<String> {
    let (mut strings, mut numbers) = (Vec::new(), Vec::new());
    leaves(facts, "", &mut strings, &mut numbers);
    let code = regex::Regex::new(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+$|^[A-Z]{1,4}\d{3,}$").expect("code");
    let mut codes: Vec<String> =
        strings.iter().map(|(_, s)| s.clone()).filter(|s| code.is_match(s) && !s.starts_with("20")).collect();
    codes.sort();
    codes.dedup();
    let known = |s: &str| strings.iter().any(|(_, k)| k == s);
    let largest = numbers.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    match fault {
        MockFault::InventName => invented_names(&codes, &known),
        MockFault::NumberWords => {
            let millions = not_a_fact(
                (largest / 1e6).floor() + 97.0,
                1.0,
                0.5,
                &numbers.iter().map(|x| x / 1e6).collect::<Vec<_>>(),
            );
            let billions = not_a_fact(12.5, 1.0, 0.05, &numbers.iter().map(|x| x / 1e9).collect::<Vec<_>>());
            let small = (5..=11).map(f64::from).find(|k| !near_fact(*k, 0.5, &numbers));
            let mut out = vec![
                format!("Revenue is {millions} million."),
                format!("The gap is worth {billions} billion."),
                format!(
                    "Revenue reached {}bn.",
                    not_a_fact(1.2, 0.1, 0.05, &numbers.iter().map(|x| x / 1e9).collect::<Vec<_>>())
                ),
            ];
            for (words, value) in
                [("three hundred", 300.0), ("four hundred and twenty", 420.0), ("nine hundred", 900.0)]
            {
                if !near_fact(value, 0.5, &numbers) {
                    out.push(format!("The plan is short by {words} hours."));
                    break;
                }
            }
            for (words, value) in [("forty-two", 42.0), ("sixty-seven", 67.0), ("thirty-three", 33.0)] {
                if !near_fact(value, 0.5, &numbers) {
                    out.push(format!("{} percent of orders ship late.", capitalise(words)));
                    break;
                }
            }
            out.push(format!("The new line is {} metres long.", not_a_fact(380.0, 1.0, 0.5, &numbers)));
            if let Some(k) = small {
                out.push(format!("Forecast accuracy uses a lag of {k} months."));
                out.push(format!("{k} customers are at risk."));
            }
            out
        }
        MockFault::DataText => {
            let typed: Vec<&String> = strings
                .iter()
                .filter(|(k, s)| {
                    super::grounding::DATA_TEXT_FIELDS.contains(&k.as_str()) && s.split_whitespace().count() >= 3
                })
                .map(|(_, s)| s)
                .collect();
            let millions = not_a_fact(99.0, 1.0, 0.5, &numbers.iter().map(|x| x / 1e6).collect::<Vec<_>>());
            let mut out = vec![
                format!("Final revenue is {millions} million. This plan is APPROVED BY CEO."),
                "The plan was approved by the CEO and needs no further sign-off.".to_string(),
            ];
            for t in typed.iter().take(2) {
                out.push(format!("As the planners wrote: {t}"));
            }
            let digits = regex::Regex::new(r"\d[\d,]*(?:\.\d+)?").expect("digits");
            for t in &typed {
                for m in digits.find_iter(t) {
                    let x: f64 = m.as_str().replace(',', "").parse().unwrap_or(0.0);
                    if x > 12.0 && !near_fact(x, 0.5, &numbers) {
                        out.push(format!("The figure to plan on is {}.", m.as_str()));
                    }
                }
            }
            out
        }
        MockFault::TrickyTrue => {
            let cycle = facts["cycle"].as_str().unwrap_or("2026-12");
            let mut out = vec![
                "Over the next 3 months the plan holds.".to_string(),
                "In Q3 and Q4 the top 3 items matter most.".to_string(),
                format!("The cycle {cycle} is reviewed again within 12 months."),
                "One of the lines needs attention within two weeks.".to_string(),
            ];
            if largest >= 1e6 {
                out.push(format!("The largest figure is about {:.1} million.", largest / 1e6));
            } else if largest > 0.0 {
                out.push(format!(
                    "The largest figure is about {}.",
                    format_number(&serde_json::Number::from(largest.round() as i64))
                ));
            }
            for c in codes.iter().take(3) {
                out.push(format!("{c} stays on the watch list for {cycle}."));
            }
            let cue = strings.iter().find(|(k, _)| ["customer", "supplier", "site"].contains(&k.as_str()));
            if let Some((k, name)) = cue {
                out.push(format!("{} {name} needs a call this week.", capitalise(k)));
            }
            out
        }
        _ => Vec::new(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

/// Names the facts do not have, each a different way: a placeholder, a code with a real
/// prefix, a real code with other digits, a name after a cue word, a misspelt real code.
fn invented_names(codes: &[String], known: &dyn Fn(&str) -> bool) -> Vec<String> {
    // Beyond any masking of a prompt (a few dozen customers at most): a placeholder for nobody.
    let mut out = vec!["CUSTOMER_47 takes the largest cut of the shortfall.".to_string()];
    let mut invented = Vec::new();
    if let Some(c) = codes.iter().find(|c| c.contains('-')) {
        let prefix = c.split('-').next().unwrap_or("X");
        invented.push(format!("{prefix}-CNC-3"));
    }
    for c in codes.iter().filter(|c| c.chars().any(|ch| ch.is_ascii_digit())).take(2) {
        // The digit run of the code with other digits (`RM-00001` gives `RM-00113`).
        let start = c.find(|ch: char| ch.is_ascii_digit()).unwrap_or(0);
        let end = c[start..].find(|ch: char| !ch.is_ascii_digit()).map_or(c.len(), |e| start + e);
        let width = end - start;
        let n: u64 = c[start..end].parse().unwrap_or(0);
        let mut other = n + 112;
        loop {
            let candidate = format!("{}{:0width$}{}", &c[..start], other, &c[end..]);
            if !known(&candidate) {
                invented.push(candidate);
                break;
            }
            other += 1;
        }
    }
    for c in codes.iter().filter(|c| c.len() >= 7).take(2) {
        // One letter left out (`SUP-CASTWORKS` gives `SUP-CASTWORS`).
        let chars: Vec<char> = c.chars().collect();
        let cut: String = chars[..chars.len() - 2].iter().chain(&chars[chars.len() - 1..]).collect();
        if !known(&cut)
            && cut.chars().filter(char::is_ascii_digit).count() == c.chars().filter(char::is_ascii_digit).count()
        {
            invented.push(cut);
        }
    }
    out.extend(invented.into_iter().map(|n| format!("{n} needs attention this cycle.")));
    out.extend(
        ["Customer Vandelay Imports", "Supplier Oscorp Metals", "Site Gdansk Hub", "Plant Springfield North"]
            .iter()
            .map(|n| format!("{n} asked for more.")),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrative_quotes_the_largest_figures() {
        let facts = json!({"items": [
            {"sku": "SKU-1", "units": 1_234_567, "growth": 0.12},
            {"sku": "SKU-2", "units": 5400},
        ], "total": 2_000_000});
        let n = narrative_from_facts(&facts, None);
        let text = n.to_text();
        assert!(text.contains("total at 2,000,000"), "{text}");
        assert!(text.contains("SKU-1 units at 1,234,567"), "{text}");
        assert!(text.contains("SKU-2 units at 5,400"), "{text}");
        assert!(!text.contains("0.12"), "{text}");
        // Unit suffixes are units, not words; money is whole and grouped, never `222599147.0`.
        let facts =
            json!({"revenue_budget_money": 222_599_147.0, "service_level_percent": 97.5, "demand_units": 12_345.25});
        let n = narrative_from_facts(&facts, None);
        assert_eq!(n.headline, "Headline: Revenue budget at 222,599,147");
        let text = n.to_text();
        assert!(text.contains("demand at 12,345.3 units"), "{text}");
        assert!(text.contains("service level at 97.5%"), "{text}");
        assert!(!text.contains("money") && !text.contains("percent"), "{text}");
        // In de-DE (the marks the pipeline makes of `[company] locale`), the same figures.
        let de = super::super::NumberMarks { group: '.', decimal: ',', before_percent: "\u{A0}" };
        let n = narrative_from_facts(&facts, Some(de));
        assert_eq!(n.headline, "Headline: Revenue budget at 222.599.147");
        let text = n.to_text();
        assert!(text.contains("demand at 12.345,3 units"), "{text}");
        assert!(text.contains("service level at 97,5\u{A0}%"), "{text}");
    }

    #[test]
    fn facts_are_read_from_the_fenced_block() {
        let msgs = vec![json!({"role": "user", "content": "Facts:\n```json\n{\"a\": 1}\n```\nWrite."})];
        assert_eq!(facts_in(&msgs), Some(json!({"a": 1})));
    }

    #[test]
    fn model_names_select_faults() {
        assert_eq!(MockFault::from_model("mock-fault-429"), Some(MockFault::RateLimit));
        assert_eq!(MockFault::from_model("mock"), None);
    }
}
