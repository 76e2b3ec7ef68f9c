//! The only network client for the LLM: any OpenAI-compatible `/v1` endpoint through
//! async-openai, with our own retry classification.
//!
//! async-openai wraps its transport in a retry layer that parses 429 bodies and loses the HTTP
//! status of non-OpenAI error bodies. We replace that transport (the crate's `middleware`
//! feature) with a single-attempt service that turns every non-2xx response into an
//! [`HttpStatus`] error carrying status, `Retry-After` and body; the loop in
//! [`LlmClient::complete`] then decides: give up (4xx), back off (5xx, timeouts, connection
//! errors, malformed or truncated replies) or wait (429, honouring `Retry-After`), within a cap
//! on total time. Requests and replies are plain JSON (`create_byot`) so servers that omit
//! fields (`id`, `object`, `usage`) still work.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How the reply's structure is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputMode {
    /// `response_format: {type: json_schema}` with the narrative schema (OpenAI, vLLM, Ollama,
    /// llama.cpp).
    #[default]
    JsonSchema,
    /// `response_format: {type: json_object}`; the schema goes into the prompt.
    JsonObject,
    /// Plain text; the reply is split into headline and paragraphs.
    None,
}

/// Client settings. `Default` suits a local server (no key, no cost); a config file may give
/// any subset of the fields (see the README, "The LLM").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// Base URL including `/v1`, e.g. `http://127.0.0.1:11434/v1` (a trailing `/` is removed).
    pub base_url: String,
    pub model: String,
    /// Environment variable holding the API key; absent or unset means no key (local servers).
    pub api_key_env: Option<String>,
    /// Extra `api-key` header (Azure OpenAI v1 endpoint) instead of `Authorization: Bearer`.
    pub api_key_header: bool,
    pub temperature: f32,
    pub max_tokens: u32,
    pub seed: Option<i64>,
    pub output: OutputMode,
    /// Stream the reply (SSE) instead of one JSON body.
    pub stream: bool,
    /// Timeout of one HTTP attempt.
    pub request_timeout_ms: u64,
    /// Requests in flight at once, across all sections.
    pub concurrency: usize,
    /// Attempts per completion (1 = no retry).
    pub max_attempts: u32,
    /// First backoff delay; doubles each retry, up to `max_backoff_ms`.
    pub backoff_initial_ms: u64,
    pub max_backoff_ms: u64,
    /// Cap on the total time of one completion including waits.
    pub total_timeout_ms: u64,
    /// Price per 1,000 tokens (prompt and completion alike), for the run report.
    pub price_per_1k_tokens: f64,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            base_url: "http://127.0.0.1:11434/v1".into(),
            model: "mock".into(),
            api_key_env: None,
            api_key_header: false,
            temperature: 0.0,
            max_tokens: 900,
            seed: Some(7),
            output: OutputMode::JsonSchema,
            stream: false,
            request_timeout_ms: 60_000,
            concurrency: 4,
            max_attempts: 4,
            backoff_initial_ms: 200,
            max_backoff_ms: 8_000,
            total_timeout_ms: 180_000,
            price_per_1k_tokens: 0.0,
        }
    }
}

/// A chat message as sent on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> ChatMessage {
        ChatMessage { role: "system".into(), content: content.into() }
    }
    pub fn user(content: impl Into<String>) -> ChatMessage {
        ChatMessage { role: "user".into(), content: content.into() }
    }
    pub fn assistant(content: impl Into<String>) -> ChatMessage {
        ChatMessage { role: "assistant".into(), content: content.into() }
    }
}

/// Tokens used by one or more completions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, o: TokenUsage) {
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
        self.total_tokens += o.total_tokens;
    }
}

/// One successful completion.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The assistant's content (not yet parsed).
    pub content: String,
    /// The raw reply: the response JSON, or the concatenated stream chunks.
    pub raw: String,
    pub usage: TokenUsage,
    /// HTTP attempts made (1 = no retry).
    pub attempts: u32,
}

/// One HTTP attempt as the run report shows it: what came back, the tokens it cost (a reply
/// cut off at `max_tokens` costs tokens too), how long it took.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// The HTTP status of the reply (None: no reply, e.g. a timeout or a refused connection).
    pub status: Option<u16>,
    /// `ok`, or what went wrong, in a few words.
    pub outcome: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub elapsed_ms: u64,
    /// The `max_tokens` the request asked for.
    pub max_tokens: u32,
}

/// Largest `max_tokens` a reply cut off at its limit is retried with.
pub const MAX_TOKENS_CAP: u32 = 8_192;

/// A non-2xx HTTP reply, captured before async-openai parses (and may lose) it.
#[derive(Debug, thiserror::Error)]
#[error("HTTP {status}: {body}")]
pub struct HttpStatus {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: String,
}

/// Why a completion failed, after classification.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the LLM server refused the request (HTTP {status}), not retried: {body}")]
    Refused { status: u16, body: String },
    #[error("the LLM call timed out after {attempts} attempts in {elapsed_ms} ms")]
    Timeout { attempts: u32, elapsed_ms: u64 },
    #[error("the LLM call failed after {attempts} attempts in {elapsed_ms} ms: {last}")]
    Exhausted { attempts: u32, elapsed_ms: u64, last: String },
    #[error("the LLM reply was cut off: {0}")]
    Truncated(String),
    #[error("the LLM reply is not valid: {0}")]
    Malformed(String),
    #[error("the LLM client is misconfigured: {0}")]
    Config(String),
}

/// How one failed attempt is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Class {
    GiveUp,
    Backoff,
    Wait(Duration),
}

/// One attempt's error.
#[derive(Debug)]
enum AttemptError {
    Status(HttpStatus),
    Timeout(String),
    Transport(String),
    Malformed(String),
    Truncated(String),
    /// `finish_reason: length`: the reply hit `max_tokens` (with the tokens it used).
    Length(TokenUsage),
    Other(String),
}

impl AttemptError {
    fn status(&self) -> Option<u16> {
        match self {
            AttemptError::Status(s) => Some(s.status),
            AttemptError::Malformed(_) | AttemptError::Truncated(_) | AttemptError::Length(_) => Some(200),
            _ => None,
        }
    }

    fn class(&self) -> Class {
        match self {
            AttemptError::Status(s) if s.status == 429 => Class::Wait(s.retry_after.unwrap_or_default()),
            AttemptError::Status(s) if s.status >= 500 => Class::Backoff,
            AttemptError::Status(_) => Class::GiveUp,
            AttemptError::Timeout(_)
            | AttemptError::Transport(_)
            | AttemptError::Malformed(_)
            | AttemptError::Truncated(_)
            | AttemptError::Length(_) => Class::Backoff,
            AttemptError::Other(_) => Class::GiveUp,
        }
    }

    fn from_openai(e: OpenAIError) -> AttemptError {
        match e {
            OpenAIError::Boxed(b) => match b.downcast::<HttpStatus>() {
                Ok(s) => AttemptError::Status(*s),
                Err(b) => match b.downcast::<reqwest::Error>() {
                    Ok(r) => AttemptError::from_reqwest(&r),
                    Err(b) => AttemptError::Other(b.to_string()),
                },
            },
            OpenAIError::Reqwest(r) => AttemptError::from_reqwest(&r),
            OpenAIError::ApiError(a) => AttemptError::Status(HttpStatus {
                status: a.status_code.as_u16(),
                retry_after: None,
                body: a.api_error.message,
            }),
            OpenAIError::JSONDeserialize(err, body) => {
                AttemptError::Malformed(format!("{err} in `{}`", truncate_for_log(&body)))
            }
            OpenAIError::StreamError(s) => AttemptError::Truncated(s.to_string()),
            other => AttemptError::Other(other.to_string()),
        }
    }

    fn from_reqwest(e: &reqwest::Error) -> AttemptError {
        if e.is_timeout() {
            AttemptError::Timeout(e.to_string())
        } else if e.is_connect() || e.is_request() || e.is_body() || e.is_decode() {
            AttemptError::Transport(e.to_string())
        } else {
            AttemptError::Other(e.to_string())
        }
    }
}

impl std::fmt::Display for AttemptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttemptError::Status(s) => write!(f, "{s}"),
            AttemptError::Timeout(m) => write!(f, "timeout: {m}"),
            AttemptError::Transport(m) => write!(f, "connection: {m}"),
            AttemptError::Malformed(m) => write!(f, "malformed reply: {m}"),
            AttemptError::Truncated(m) => write!(f, "truncated reply: {m}"),
            AttemptError::Length(_) => write!(f, "the reply was cut off at max_tokens (finish_reason `length`)"),
            AttemptError::Other(m) => write!(f, "{m}"),
        }
    }
}

fn truncate_for_log(s: &str) -> &str {
    match s.char_indices().nth(200) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A lenient chat-completion reply: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LenientResponse {
    choices: Vec<LenientChoice>,
    usage: Option<LenientUsage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LenientChoice {
    message: LenientMessage,
    delta: LenientMessage,
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LenientMessage {
    content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LenientUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

impl From<LenientUsage> for TokenUsage {
    fn from(u: LenientUsage) -> TokenUsage {
        let total = if u.total_tokens == 0 { u.prompt_tokens + u.completion_tokens } else { u.total_tokens };
        TokenUsage { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: total }
    }
}

/// The LLM client: cheap to clone, shares its concurrency limit.
#[derive(Clone)]
pub struct LlmClient {
    client: Client<OpenAIConfig>,
    config: Arc<LlmConfig>,
    permits: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient").field("config", &self.config).finish_non_exhaustive()
    }
}

impl LlmClient {
    pub fn new(config: LlmConfig) -> Result<LlmClient, LlmError> {
        crate::install_tls_provider();
        let key = match &config.api_key_env {
            Some(var) => std::env::var(var).unwrap_or_default(),
            None => String::new(),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(config.request_timeout_ms.min(10_000)))
            .timeout(Duration::from_millis(config.request_timeout_ms))
            .build()
            .map_err(|e| LlmError::Config(e.to_string()))?;
        // Always explicit: a stray OPENAI_BASE_URL must not redirect traffic.
        let mut openai = OpenAIConfig::new().with_api_base(config.base_url.trim_end_matches('/')).with_api_key(&key);
        if config.api_key_header && !key.is_empty() {
            openai = openai.with_header("api-key", key.as_str()).map_err(|e| LlmError::Config(e.to_string()))?;
        }
        // One attempt per call, no retry layer: non-2xx replies become `HttpStatus` errors.
        let service = tower::service_fn(move |factory: HttpRequestFactory| {
            let http = http.clone();
            async move {
                let request = factory.build().await?;
                let response = http.execute(request).await.map_err(|e| OpenAIError::Boxed(Box::new(e)))?;
                if response.status().is_success() {
                    return Ok(response);
                }
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let body = response.text().await.unwrap_or_default();
                Err(OpenAIError::Boxed(Box::new(HttpStatus { status, retry_after, body })))
            }
        });
        let client = Client::with_config(openai).with_http_service(service);
        let permits = Arc::new(tokio::sync::Semaphore::new(config.concurrency.max(1)));
        Ok(LlmClient { client, config: Arc::new(config), permits })
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// Estimated cost of `usage` at the configured price.
    pub fn cost(&self, usage: TokenUsage) -> f64 {
        usage.total_tokens as f64 / 1000.0 * self.config.price_per_1k_tokens
    }

    /// The request body for `messages`.
    pub fn request_body(&self, messages: &[ChatMessage], schema: &Value) -> Value {
        let c = &self.config;
        let mut body = json!({
            "model": c.model,
            "messages": messages,
            "temperature": c.temperature,
            "max_tokens": c.max_tokens,
            "stream": c.stream,
        });
        if let Some(seed) = c.seed {
            body["seed"] = json!(seed);
        }
        if c.stream {
            body["stream_options"] = json!({"include_usage": true});
        }
        match c.output {
            OutputMode::JsonSchema => {
                body["response_format"] = json!({"type": "json_schema",
                    "json_schema": {"name": "narrative", "schema": schema, "strict": true}});
            }
            OutputMode::JsonObject => body["response_format"] = json!({"type": "json_object"}),
            OutputMode::None => {}
        }
        body
    }

    /// One completion, retried as classified. Waits for a concurrency permit first.
    pub async fn complete(&self, messages: &[ChatMessage], schema: &Value) -> Result<Completion, LlmError> {
        self.complete_logged(messages, schema, &mut Vec::new()).await
    }

    /// As [`LlmClient::complete`], appending every HTTP attempt to `log`, failed ones too. A
    /// reply cut off at `max_tokens` (`finish_reason: length`) is retried once at once with
    /// twice the limit (at most [`MAX_TOKENS_CAP`]); cut off again, the error says so.
    pub async fn complete_logged(
        &self,
        messages: &[ChatMessage],
        schema: &Value,
        log: &mut Vec<AttemptRecord>,
    ) -> Result<Completion, LlmError> {
        let _permit = self.permits.acquire().await.map_err(|e| LlmError::Config(e.to_string()))?;
        let c = &self.config;
        let mut body = self.request_body(messages, schema);
        let mut max_tokens = c.max_tokens;
        let start = Instant::now();
        let cap = Duration::from_millis(c.total_timeout_ms);
        let mut backoff = Duration::from_millis(c.backoff_initial_ms);
        let mut attempts = 0;
        let mut raised = false;
        loop {
            attempts += 1;
            let remaining = cap.saturating_sub(start.elapsed());
            let began = Instant::now();
            let result = match tokio::time::timeout(remaining, self.attempt(&body)).await {
                Ok(r) => r,
                Err(_) => Err(AttemptError::Timeout("total time cap reached".into())),
            };
            let elapsed = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
            let err = match result {
                Ok(mut completion) => {
                    log.push(AttemptRecord {
                        status: Some(200),
                        outcome: "ok".into(),
                        prompt_tokens: completion.usage.prompt_tokens,
                        completion_tokens: completion.usage.completion_tokens,
                        elapsed_ms: elapsed,
                        max_tokens,
                    });
                    completion.attempts = attempts;
                    return Ok(completion);
                }
                Err(e) => e,
            };
            let used = if let AttemptError::Length(u) = &err { *u } else { TokenUsage::default() };
            log.push(AttemptRecord {
                status: err.status(),
                outcome: err.to_string(),
                prompt_tokens: used.prompt_tokens,
                completion_tokens: used.completion_tokens,
                elapsed_ms: elapsed,
                max_tokens,
            });
            let elapsed_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
            if let AttemptError::Length(_) = err {
                let larger = max_tokens.saturating_mul(2).min(MAX_TOKENS_CAP);
                if raised || larger <= max_tokens {
                    return Err(LlmError::Truncated(format!(
                        "the reply was cut off at its token limit (max_tokens {max_tokens}){}; raise `max_tokens` in `[llm]`",
                        if raised { ", also after one retry with a larger limit" } else { "" }
                    )));
                }
                tracing::warn!(
                    max_tokens,
                    larger,
                    "LLM reply cut off at max_tokens; retrying once with a larger limit"
                );
                raised = true;
                max_tokens = larger;
                body["max_tokens"] = json!(max_tokens);
                continue;
            }
            let class = err.class();
            tracing::debug!(attempt = attempts, error = %err, ?class, "LLM attempt failed");
            let delay = match class {
                Class::GiveUp => return Err(final_error(err, attempts, elapsed_ms)),
                Class::Wait(d) => d,
                Class::Backoff => {
                    let d = backoff;
                    backoff = (backoff * 2).min(Duration::from_millis(c.max_backoff_ms));
                    d
                }
            };
            if attempts >= c.max_attempts || start.elapsed() + delay >= cap {
                return Err(match err {
                    AttemptError::Timeout(_) => LlmError::Timeout { attempts, elapsed_ms },
                    AttemptError::Truncated(m) => LlmError::Truncated(m),
                    AttemptError::Malformed(m) => LlmError::Malformed(m),
                    other => LlmError::Exhausted { attempts, elapsed_ms, last: other.to_string() },
                });
            }
            tracing::warn!(attempt = attempts, delay_ms = delay.as_millis() as u64, "retrying LLM call");
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(&self, body: &Value) -> Result<Completion, AttemptError> {
        if self.config.stream {
            return self.attempt_stream(body).await;
        }
        let reply: Value = self.client.chat().create_byot(body).await.map_err(AttemptError::from_openai)?;
        let raw = reply.to_string();
        let parsed: LenientResponse =
            serde_json::from_value(reply).map_err(|e| AttemptError::Malformed(e.to_string()))?;
        let choice = parsed.choices.into_iter().next().ok_or_else(|| AttemptError::Malformed("no choices".into()))?;
        if choice.finish_reason.as_deref() == Some("length") {
            return Err(AttemptError::Length(parsed.usage.map(Into::into).unwrap_or_default()));
        }
        let content = choice.message.content.unwrap_or_default();
        if content.trim().is_empty() {
            return Err(AttemptError::Malformed("empty content".into()));
        }
        Ok(Completion { content, raw, usage: parsed.usage.map(Into::into).unwrap_or_default(), attempts: 1 })
    }

    async fn attempt_stream(&self, body: &Value) -> Result<Completion, AttemptError> {
        let mut stream =
            self.client.chat().create_stream_byot::<_, Value>(body).await.map_err(AttemptError::from_openai)?;
        let mut content = String::new();
        let mut raw = Vec::new();
        let mut finish = None;
        let mut usage = TokenUsage::default();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| match AttemptError::from_openai(e) {
                AttemptError::Malformed(m) => AttemptError::Truncated(m),
                other => other,
            })?;
            raw.push(chunk.to_string());
            let parsed: LenientResponse =
                serde_json::from_value(chunk).map_err(|e| AttemptError::Malformed(e.to_string()))?;
            if let Some(u) = parsed.usage {
                usage = u.into();
            }
            for choice in parsed.choices {
                content.push_str(choice.delta.content.as_deref().unwrap_or(""));
                if choice.finish_reason.is_some() {
                    finish = choice.finish_reason;
                }
            }
        }
        match finish.as_deref() {
            None => return Err(AttemptError::Truncated("the stream ended without a finish reason".into())),
            Some("length") => return Err(AttemptError::Length(usage)),
            Some(_) => {}
        }
        if content.trim().is_empty() {
            return Err(AttemptError::Malformed("empty content".into()));
        }
        Ok(Completion { content, raw: raw.join("\n"), usage, attempts: 1 })
    }
}

fn final_error(err: AttemptError, attempts: u32, elapsed_ms: u64) -> LlmError {
    match err {
        AttemptError::Status(s) => LlmError::Refused { status: s.status, body: s.body },
        other => LlmError::Exhausted { attempts, elapsed_ms, last: other.to_string() },
    }
}

/// Strips `<think>…</think>` blocks and a surrounding ``` fence from a reply.
pub fn clean_reply(content: &str) -> &str {
    let mut s = content.trim();
    while let Some(start) = s.find("<think>") {
        match s[start..].find("</think>") {
            Some(end) if start == 0 => s = s[end + "</think>".len()..].trim_start(),
            _ => break,
        }
    }
    if let Some(rest) = s.strip_prefix("```") {
        let rest = rest.strip_prefix("json").unwrap_or(rest);
        s = rest.trim_start().strip_suffix("```").unwrap_or(rest).trim();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::narrative::mock::{self, MockConfig, MockFault};

    fn messages() -> Vec<ChatMessage> {
        vec![ChatMessage::system("You write."), ChatMessage::user("Facts:\n```json\n{\"units\": 1200}\n```\n")]
    }

    fn config(base: String) -> LlmConfig {
        LlmConfig {
            base_url: base,
            model: "mock".into(),
            backoff_initial_ms: 10,
            max_backoff_ms: 50,
            request_timeout_ms: 5_000,
            total_timeout_ms: 10_000,
            ..LlmConfig::default()
        }
    }

    async fn server(fault: Option<MockFault>, first: Option<u64>) -> mock::MockServer {
        mock::spawn(MockConfig { fault, fault_first: first, ..MockConfig::default() }).await.unwrap()
    }

    #[test]
    fn readme_config_snippets_parse() {
        let readme = include_str!("../../README.md");
        let snippets: Vec<&str> = readme
            .split("```toml\n")
            .skip(1)
            .map(|s| s.split("```").next().unwrap())
            .filter(|s| s.starts_with("# ") && s.contains("[llm]"))
            .collect();
        assert_eq!(snippets.len(), 6);
        for snippet in snippets {
            #[derive(Deserialize)]
            struct File {
                llm: LlmConfig,
            }
            let file: File = toml::from_str(snippet).unwrap_or_else(|e| panic!("{e}\n{snippet}"));
            assert!(file.llm.base_url.ends_with("/v1"), "{}", file.llm.base_url);
        }
    }

    #[test]
    fn replies_are_cleaned() {
        assert_eq!(clean_reply("<think>hmm</think>\n```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(clean_reply("  plain  "), "plain");
    }

    #[tokio::test]
    async fn plain_and_streamed_replies_carry_usage() {
        let mock = server(None, None).await;
        let client = LlmClient::new(config(mock.base_url())).unwrap();
        let c = client.complete(&messages(), &json!({})).await.unwrap();
        assert!(c.content.contains("1,200"), "{}", c.content);
        assert!(c.usage.total_tokens > 0);
        let streamed = LlmClient::new(LlmConfig { stream: true, ..config(mock.base_url()) }).unwrap();
        let s = streamed.complete(&messages(), &json!({})).await.unwrap();
        assert_eq!(s.content, c.content);
        assert_eq!(s.usage, c.usage);
        assert_eq!(mock.requests(), 2);
    }

    #[tokio::test]
    async fn latency_beyond_the_timeout_is_retried_then_fails() {
        let mock = mock::spawn(MockConfig { latency_ms: 400, ..MockConfig::default() }).await.unwrap();
        let cfg = LlmConfig { request_timeout_ms: 100, max_attempts: 3, ..config(mock.base_url()) };
        let err = LlmClient::new(cfg).unwrap().complete(&messages(), &json!({})).await.unwrap_err();
        assert!(matches!(err, LlmError::Timeout { attempts: 3, .. }), "{err}");
        assert_eq!(mock.requests(), 3);
    }

    #[tokio::test]
    async fn total_time_cap_stops_retries() {
        let mock = mock::spawn(MockConfig { latency_ms: 400, ..MockConfig::default() }).await.unwrap();
        let cfg =
            LlmConfig { request_timeout_ms: 100, max_attempts: 50, total_timeout_ms: 350, ..config(mock.base_url()) };
        let start = Instant::now();
        let err = LlmClient::new(cfg).unwrap().complete(&messages(), &json!({})).await.unwrap_err();
        assert!(matches!(err, LlmError::Timeout { .. }), "{err}");
        assert!(start.elapsed() < Duration::from_millis(2_000), "{:?}", start.elapsed());
        assert!(mock.requests() < 5, "{}", mock.requests());
    }

    #[tokio::test]
    async fn server_error_then_success() {
        let mock = server(Some(MockFault::ServerError), Some(2)).await;
        let c = LlmClient::new(config(mock.base_url())).unwrap().complete(&messages(), &json!({})).await.unwrap();
        assert_eq!(c.attempts, 3);
        assert_eq!(mock.requests(), 3);
    }

    #[tokio::test]
    async fn always_500_exhausts_attempts() {
        let mock = server(None, None).await;
        let cfg = LlmConfig { model: "mock-fault-500".into(), max_attempts: 3, ..config(mock.base_url()) };
        let err = LlmClient::new(cfg).unwrap().complete(&messages(), &json!({})).await.unwrap_err();
        assert!(matches!(err, LlmError::Exhausted { attempts: 3, .. }), "{err}");
        assert_eq!(mock.requests(), 3);
    }

    #[tokio::test]
    async fn rate_limit_honours_retry_after() {
        let mock = mock::spawn(MockConfig {
            fault: Some(MockFault::RateLimit),
            fault_first: Some(1),
            retry_after_secs: 1,
            ..MockConfig::default()
        })
        .await
        .unwrap();
        let start = Instant::now();
        let c = LlmClient::new(config(mock.base_url())).unwrap().complete(&messages(), &json!({})).await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(1), "{:?}", start.elapsed());
        assert_eq!(c.attempts, 2);
        assert_eq!(mock.requests(), 2);
    }

    #[tokio::test]
    async fn bad_request_gives_up_at_once() {
        let mock = server(None, None).await;
        let cfg = LlmConfig { model: "mock-fault-400".into(), ..config(mock.base_url()) };
        let err = LlmClient::new(cfg).unwrap().complete(&messages(), &json!({})).await.unwrap_err();
        assert!(matches!(err, LlmError::Refused { status: 400, .. }), "{err}");
        assert_eq!(mock.requests(), 1);
    }

    #[tokio::test]
    async fn malformed_json_is_retried() {
        let mock = server(Some(MockFault::MalformedJson), Some(1)).await;
        let c = LlmClient::new(config(mock.base_url())).unwrap().complete(&messages(), &json!({})).await.unwrap();
        assert_eq!(c.attempts, 2);
        let always = server(Some(MockFault::MalformedJson), None).await;
        let cfg = LlmConfig { max_attempts: 2, ..config(always.base_url()) };
        let err = LlmClient::new(cfg).unwrap().complete(&messages(), &json!({})).await.unwrap_err();
        assert!(matches!(err, LlmError::Malformed(_)), "{err}");
        assert_eq!(always.requests(), 2);
    }

    #[tokio::test]
    async fn truncated_stream_is_an_error() {
        let mock = server(Some(MockFault::TruncatedStream), None).await;
        let cfg = LlmConfig { stream: true, max_attempts: 2, ..config(mock.base_url()) };
        let err = LlmClient::new(cfg).unwrap().complete(&messages(), &json!({})).await.unwrap_err();
        assert!(matches!(err, LlmError::Truncated(_)), "{err}");
        assert_eq!(mock.requests(), 2);
    }

    #[tokio::test]
    async fn connection_refused_is_retried() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let cfg = LlmConfig { max_attempts: 2, ..config(format!("http://{addr}/v1")) };
        let err = LlmClient::new(cfg).unwrap().complete(&messages(), &json!({})).await.unwrap_err();
        assert!(matches!(err, LlmError::Exhausted { attempts: 2, .. }), "{err}");
    }

    #[tokio::test]
    async fn json_schema_is_requested() {
        let mock = server(None, None).await;
        let client = LlmClient::new(config(mock.base_url())).unwrap();
        client.complete(&messages(), &json!({"type": "object"})).await.unwrap();
        let req = mock.last_request().unwrap();
        assert_eq!(req["response_format"]["type"], "json_schema");
        assert_eq!(req["response_format"]["json_schema"]["schema"], json!({"type": "object"}));
        assert_eq!(req["model"], "mock");
    }
}
