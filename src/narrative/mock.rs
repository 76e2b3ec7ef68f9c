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
}

#[derive(Default)]
struct Shared {
    config: MockConfig,
    requests: AtomicU64,
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

    let server_fault = config.fault.filter(|_| config.fault_first.is_none_or(|first| n <= first));
    let fault = MockFault::from_model(&model).or(server_fault);

    let Some(messages) = request["messages"].as_array().filter(|m| !m.is_empty()) else {
        let body = error_body("`messages` must be a non-empty array", "invalid_request_error");
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    };
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
    let mut narrative = narrative_from_facts(&facts);
    match fault {
        Some(MockFault::InventedNumber) => {
            let invented = invented_number(&facts);
            narrative.paragraphs.push(format!("Demand also rose by {invented} units against the last signed plan."));
        }
        Some(MockFault::Html) => {
            narrative.paragraphs.push("<b>Note</b><script>alert('x')</script>".to_string());
        }
        _ => {}
    }
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
            events.push(chunk(json!({}), json!("stop")).to_string());
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
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": usage,
    })
    .to_string();
    if truncate {
        return ([(header::CONTENT_TYPE, "application/json")], reply[..reply.len() / 2].to_string()).into_response();
    }
    ([(header::CONTENT_TYPE, "application/json")], reply).into_response()
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
        Value::Number(n) => out.push(Figure {
            key: key.replace('_', " "),
            owner: owner.map(str::to_string),
            value: n.as_f64().unwrap_or(0.0),
            text: format_number(n),
        }),
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
pub(crate) fn narrative_from_facts(facts: &Value) -> Narrative {
    let top = top_figures(facts, 3);
    if top.is_empty() {
        return Narrative {
            headline: "No figures were provided".into(),
            paragraphs: vec!["The facts contain no figures to report on.".into()],
            risks: vec![],
        };
    }
    let described: Vec<String> = top.iter().map(describe).collect();
    let headline = format!("Headline: {}", described[0]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrative_quotes_the_largest_figures() {
        let facts = json!({"items": [
            {"sku": "SKU-1", "units": 1_234_567, "growth": 0.12},
            {"sku": "SKU-2", "units": 5400},
        ], "total": 2_000_000});
        let n = narrative_from_facts(&facts);
        let text = n.to_text();
        assert!(text.contains("total at 2,000,000"), "{text}");
        assert!(text.contains("SKU-1 units at 1,234,567"), "{text}");
        assert!(text.contains("SKU-2 units at 5,400"), "{text}");
        assert!(!text.contains("0.12"), "{text}");
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
