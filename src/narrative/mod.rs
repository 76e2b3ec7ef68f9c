//! Narrative: prompts (tera templates in `prompts/`) and the only code that talks to an LLM.
//!
//! [`Drafter::draft_section`] renders a section's prompt from the facts JSON, asks the model,
//! checks every number and name against the facts ([`grounding`]), retries with the failures fed
//! back, and at last falls back to a deterministic narrative that says it was not written by the
//! model. Facts go into prompts only as JSON inside a fenced block ([`FACTS_FENCE`]), so
//! spreadsheet text (reasons, names) is quoted data, never instructions; fields listed in
//! [`MaskingConfig`] are replaced by tokens such as `CUSTOMER_01` before the prompt is sent and
//! restored in the draft afterwards.

pub mod client;
pub mod grounding;
pub mod mock;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest;

pub use client::{AttemptRecord, ChatMessage, LlmClient, LlmConfig, LlmError, OutputMode, TokenUsage};
pub use grounding::{GroundingContext, GroundingFailure, NameDirectory};

/// Opens the fenced block that carries the facts JSON in a user prompt (closed by "\n```").
pub const FACTS_FENCE: &str = "```json\n";

/// The sections of a narrative, as the model returns them in JSON modes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Narrative {
    pub headline: String,
    pub paragraphs: Vec<String>,
    pub risks: Vec<String>,
}

impl Narrative {
    /// The JSON schema requested with `response_format: json_schema` (OpenAI strict mode rules:
    /// every property required, no additional properties).
    pub fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "headline": {"type": "string"},
                "paragraphs": {"type": "array", "items": {"type": "string"}},
                "risks": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["headline", "paragraphs", "risks"],
            "additionalProperties": false,
        })
    }

    /// Plain text: headline, paragraphs, then risks as `- ` lines, separated by blank lines.
    pub fn to_text(&self) -> String {
        let mut parts = vec![self.headline.clone()];
        parts.extend(self.paragraphs.iter().cloned());
        if !self.risks.is_empty() {
            parts.push(self.risks.iter().map(|r| format!("- {r}")).collect::<Vec<_>>().join("\n"));
        }
        parts.join("\n\n")
    }

    /// Reads a plain-text reply: first block is the headline, `- ` lines are risks.
    fn from_text(text: &str) -> Narrative {
        let mut blocks = text.split("\n\n").map(str::trim).filter(|b| !b.is_empty());
        let headline = blocks.next().unwrap_or_default().to_string();
        let mut n = Narrative { headline, ..Narrative::default() };
        for block in blocks {
            if block.lines().all(|l| l.trim_start().starts_with("- ")) {
                n.risks.extend(block.lines().map(|l| l.trim_start()[2..].trim().to_string()));
            } else {
                n.paragraphs.push(block.to_string());
            }
        }
        n
    }

    fn map_text(&self, f: impl Fn(&str) -> String) -> Narrative {
        Narrative {
            headline: f(&self.headline),
            paragraphs: self.paragraphs.iter().map(|p| f(p)).collect(),
            risks: self.risks.iter().map(|r| f(r)).collect(),
        }
    }
}

/// Where a draft's text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftSource {
    /// The model's first reply passed the fact check.
    Model,
    /// The model passed after being told what failed.
    ModelAfterRetry,
    /// Built from the facts without the model.
    Fallback,
}

/// The parameters a reply depends on (stored with the draft, part of the cache key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelParams {
    pub base_url: String,
    pub temperature: f32,
    pub max_tokens: u32,
    pub seed: Option<i64>,
    pub output: OutputMode,
    pub template: String,
}

/// A drafted section with everything needed to reproduce and audit it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub sections: Narrative,
    /// `sections` as plain text.
    pub text: String,
    pub source: DraftSource,
    /// The messages of the last request (masked, as sent).
    pub prompt: Vec<ChatMessage>,
    pub model: String,
    pub params: ModelParams,
    /// The last raw reply from the server (None when no reply came).
    pub raw_reply: Option<String>,
    pub tokens: TokenUsage,
    pub cost: f64,
    /// HTTP requests made, failed ones too (0 on a cache hit).
    pub calls: u32,
    /// Grounding failures of the last model reply (empty unless the draft is a fallback).
    pub failures: Vec<String>,
    /// Every HTTP attempt: status, tokens, time (empty on a cache hit).
    #[serde(default)]
    pub attempts: Vec<AttemptRecord>,
    /// Why the draft is a fallback, in a planner's words (None unless it is one).
    #[serde(default)]
    pub fallback_reason: Option<String>,
    /// sha256 of the first request (messages + model + parameters).
    pub cache_key: String,
}

/// Where finished drafts are kept by cache key. A hit makes no HTTP call.
pub trait ResponseCache: Send + Sync {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Draft>>>;
    fn put<'a>(&'a self, key: &'a str, draft: &'a Draft) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// A process-local cache.
#[derive(Debug, Default)]
pub struct MemoryCache {
    drafts: Mutex<HashMap<String, Draft>>,
}

impl ResponseCache for MemoryCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Draft>>> {
        let hit = self.drafts.lock().expect("cache lock").get(key).cloned();
        Box::pin(async move { Ok(hit) })
    }
    fn put<'a>(&'a self, key: &'a str, draft: &'a Draft) -> BoxFuture<'a, anyhow::Result<()>> {
        self.drafts.lock().expect("cache lock").insert(key.to_string(), draft.clone());
        Box::pin(async { Ok(()) })
    }
}

/// Which fields of the facts are masked before a prompt leaves the process.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MaskingConfig {
    /// Field names whose string values are masked, e.g. `["customer"]` gives `CUSTOMER_01`.
    pub fields: Vec<String>,
}

/// The mapping of one masking pass; restores real names in the model's text.
#[derive(Debug, Clone, Default)]
pub struct Mask {
    by_token: BTreeMap<String, String>,
    token_pattern: Option<Regex>,
}

impl Mask {
    /// Masks `facts`: every value of a listed field (and every other occurrence of that value in
    /// strings and keys) becomes `FIELD_NN`, numbered in order of first appearance.
    pub fn apply(facts: &Value, config: &MaskingConfig) -> (Value, Mask) {
        let mut real_to_token: Vec<(String, String)> = Vec::new();
        let mut counters: BTreeMap<String, usize> = BTreeMap::new();
        collect_masked(facts, &config.fields, &mut real_to_token, &mut counters);
        if real_to_token.is_empty() {
            return (facts.clone(), Mask::default());
        }
        // Longest names first, so `Acme Europe` is replaced before `Acme`.
        let mut ordered = real_to_token.clone();
        ordered.sort_by_key(|(real, _)| std::cmp::Reverse(real.len()));
        let masked = map_strings(facts, &|s| {
            let mut out = s.to_string();
            for (real, token) in &ordered {
                out = out.replace(real.as_str(), token);
            }
            out
        });
        let prefixes: Vec<String> =
            config.fields.iter().map(|f| regex::escape(&f.to_uppercase().replace(['-', ' '], "_"))).collect();
        let pattern = Regex::new(&format!(r"\b(?:{})_\d+\b", prefixes.join("|"))).expect("mask pattern");
        let by_token = real_to_token.into_iter().map(|(real, token)| (token, real)).collect();
        (masked, Mask { by_token, token_pattern: Some(pattern) })
    }

    /// Puts real names back; an unknown token (the model made one up) stays as it is and fails
    /// grounding by [`Mask::pattern`].
    pub fn restore(&self, text: &str) -> String {
        match &self.token_pattern {
            Some(p) => p
                .replace_all(text, |c: &regex::Captures<'_>| {
                    self.by_token.get(&c[0]).cloned().unwrap_or_else(|| c[0].to_string())
                })
                .into_owned(),
            None => text.to_string(),
        }
    }

    /// The pattern of mask tokens, for grounding.
    pub fn pattern(&self) -> Option<&Regex> {
        self.token_pattern.as_ref()
    }
}

fn collect_masked(
    value: &Value,
    fields: &[String],
    out: &mut Vec<(String, String)>,
    counters: &mut BTreeMap<String, usize>,
) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect_masked(v, fields, out, counters)),
        Value::Object(map) => {
            for (key, v) in map {
                if let (true, Value::String(real)) = (fields.contains(key), v)
                    && !real.is_empty()
                    && !out.iter().any(|(r, _)| r == real)
                {
                    let n = counters.entry(key.clone()).or_default();
                    *n += 1;
                    let token = format!("{}_{:02}", key.to_uppercase().replace(['-', ' '], "_"), n);
                    out.push((real.clone(), token));
                }
                collect_masked(v, fields, out, counters);
            }
        }
        _ => {}
    }
}

fn map_strings(value: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::String(s) => Value::String(f(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| map_strings(v, f)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (f(k), map_strings(v, f))).collect()),
        other => other.clone(),
    }
}

/// Errors of the narrative stage that are not the model's (those end in a fallback).
#[derive(Debug, thiserror::Error)]
pub enum NarrativeError {
    #[error("prompt template `{template}`: {message}")]
    Template { template: String, message: String },
    #[error("reading prompt templates in `{}`: {source}", dir.display())]
    Io { dir: PathBuf, source: std::io::Error },
    #[error("response cache: {0}")]
    Cache(anyhow::Error),
    #[error("id pattern `{pattern}` is not a valid regex: {message}")]
    Pattern { pattern: String, message: String },
}

/// The prompt templates of a `prompts/` directory, named by relative path
/// (`demand-review/summary.user.tera`).
pub struct Prompts {
    tera: tera::Tera,
    names: Vec<String>,
}

impl Prompts {
    /// Loads every `*.tera` file under `dir`; a parse error names the file.
    pub fn load(dir: &Path) -> Result<Prompts, NarrativeError> {
        let mut files = Vec::new();
        walk(dir, dir, &mut files).map_err(|source| NarrativeError::Io { dir: dir.to_path_buf(), source })?;
        let mut tera = tera::Tera::new();
        let mut names = Vec::new();
        for (name, content) in files {
            tera.add_raw_template(&name, &content)
                .map_err(|e| NarrativeError::Template { template: name.clone(), message: tera_message(&e) })?;
            names.push(name);
        }
        Ok(Prompts { tera, names })
    }

    /// The templates found, sorted.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Renders `name` from the facts: the context holds `facts` (the JSON value) and
    /// `facts_json` (the same, pretty-printed, safe inside a ```` ```json ```` fence).
    pub fn render(&self, name: &str, facts: &Value) -> Result<String, NarrativeError> {
        let mut context = tera::Context::new();
        context.insert("facts", facts);
        context.insert("facts_json", &facts_json(facts));
        self.tera
            .render(name, &context)
            .map_err(|e| NarrativeError::Template { template: name.to_string(), message: tera_message(&e) })
    }

    /// The system and user messages of `section` (e.g. `demand-review/summary`).
    pub fn messages(&self, section: &str, facts: &Value) -> Result<Vec<ChatMessage>, NarrativeError> {
        let system = self.render(&format!("{section}.system.tera"), facts)?;
        let user = self.render(&format!("{section}.user.tera"), facts)?;
        if !user.contains(FACTS_FENCE) {
            return Err(NarrativeError::Template {
                template: format!("{section}.user.tera"),
                message: "the user prompt must carry the facts as ```json\\n{{ facts_json }}\\n```".into(),
            });
        }
        Ok(vec![ChatMessage::system(system.trim()), ChatMessage::user(user.trim())])
    }
}

fn tera_message(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    msg
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = fs_err::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "tera") {
            let name = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            out.push((name, fs_err::read_to_string(&path)?));
        }
    }
    Ok(())
}

/// The facts as JSON text for a prompt. Backticks are escaped (`\u0060`, same JSON value) so a
/// name containing ```` ``` ```` cannot close the fence and speak as an instruction.
pub fn facts_json(facts: &Value) -> String {
    serde_json::to_string_pretty(facts).expect("JSON values serialize").replace('`', "\\u0060")
}

/// Parses every template under `dir` and renders it against `sample_facts`; returns one line per
/// problem (a parse error, or a field the template names that the facts do not have).
pub fn check_templates(dir: &Path, sample_facts: &Value) -> Vec<String> {
    let mut files = Vec::new();
    if let Err(e) = walk(dir, dir, &mut files) {
        return vec![format!("`{}`: {e}", dir.display())];
    }
    let mut problems = Vec::new();
    for (name, content) in &files {
        let mut tera = tera::Tera::new();
        if let Err(e) = tera.add_raw_template(name, content) {
            problems.push(format!("`{name}`: {}", tera_message(&e)));
            continue;
        }
        let prompts = Prompts { tera, names: vec![name.clone()] };
        if let Err(e) = prompts.render(name, sample_facts) {
            problems.push(format!("`{name}`: {e}"));
        }
    }
    if files.is_empty() {
        problems.push(format!("`{}`: no `*.tera` templates found", dir.display()));
    }
    problems
}

/// Counters for the run report.
#[derive(Debug, Default)]
pub struct Counters {
    checked: AtomicU64,
    corrected: AtomicU64,
    replaced: AtomicU64,
    cache_hits: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterSnapshot {
    /// Sections whose model reply went through the fact check.
    pub checked: u64,
    /// Sections that passed only after a retry with feedback.
    pub corrected: u64,
    /// Sections replaced by the deterministic fallback.
    pub replaced: u64,
    pub cache_hits: u64,
}

/// Drafting settings besides the client's.
#[derive(Debug, Clone)]
pub struct DraftConfig {
    pub masking: MaskingConfig,
    /// Regexes of name-like tokens (e.g. `\bSKU-\d+\b`) checked against the names in the facts.
    pub id_patterns: Vec<String>,
    /// Retries with grounding feedback before the fallback.
    pub grounding_retries: u32,
    /// The workspace's directories of names (kind to names: customers, SKUs, sites, people...),
    /// which the grounding check accepts besides the names in the facts.
    pub directory: grounding::NameDirectory,
    /// Fields whose text people typed, besides [`grounding::DATA_TEXT_FIELDS`].
    pub data_text_fields: Vec<String>,
    /// The company locale's (thousands separator, decimal mark), read by the grounding check
    /// besides `,` and `.` (`None`: en-US).
    pub number_separators: Option<(char, char)>,
    /// Names the endpoint in the parameters (and so in the cache key) instead of its URL: for
    /// the in-process mock, whose port changes from run to run.
    pub endpoint_label: Option<String>,
    /// How the fallback narrative writes numbers (`None`: en-US).
    pub number_marks: Option<NumberMarks>,
}

/// How the company writes numbers (`[company] locale`), as plain data: the thousands
/// separator, the decimal mark and what goes before `%` (the caller makes it from its locale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberMarks {
    pub group: char,
    pub decimal: char,
    pub before_percent: &'static str,
}

impl NumberMarks {
    /// Text written in en-US (`1,234.5`, `97.5%`) in these marks: a `,` or `.` between digits
    /// swapped, a `%` after a digit given `before_percent`; everything else as it is.
    pub fn write(self, en: &str) -> String {
        let chars: Vec<char> = en.chars().collect();
        let mut out = String::with_capacity(en.len() + 8);
        for (i, &c) in chars.iter().enumerate() {
            let after_digit = i > 0 && chars[i - 1].is_ascii_digit();
            let between = after_digit && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
            match c {
                ',' if between => out.push(self.group),
                '.' if between => out.push(self.decimal),
                '%' if after_digit => {
                    out.push_str(self.before_percent);
                    out.push('%');
                }
                _ => out.push(c),
            }
        }
        out
    }
}

impl Default for DraftConfig {
    fn default() -> Self {
        DraftConfig {
            masking: MaskingConfig::default(),
            id_patterns: Vec::new(),
            grounding_retries: 2,
            directory: grounding::NameDirectory::new(),
            data_text_fields: Vec::new(),
            number_separators: None,
            endpoint_label: None,
            number_marks: None,
        }
    }
}

/// Drafts sections: prompts + client + cache + grounding.
pub struct Drafter {
    prompts: Prompts,
    client: LlmClient,
    cache: Arc<dyn ResponseCache>,
    config: DraftConfig,
    id_patterns: Vec<Regex>,
    counters: Counters,
}

impl Drafter {
    pub fn new(
        prompts: Prompts,
        client: LlmClient,
        cache: Arc<dyn ResponseCache>,
        config: DraftConfig,
    ) -> Result<Drafter, NarrativeError> {
        let id_patterns = config
            .id_patterns
            .iter()
            .map(|p| Regex::new(p).map_err(|e| NarrativeError::Pattern { pattern: p.clone(), message: e.to_string() }))
            .collect::<Result<_, _>>()?;
        Ok(Drafter { prompts, client, cache, config, id_patterns, counters: Counters::default() })
    }

    pub fn counters(&self) -> CounterSnapshot {
        let c = &self.counters;
        CounterSnapshot {
            checked: c.checked.load(Ordering::SeqCst),
            corrected: c.corrected.load(Ordering::SeqCst),
            replaced: c.replaced.load(Ordering::SeqCst),
            cache_hits: c.cache_hits.load(Ordering::SeqCst),
        }
    }

    fn params(&self, section: &str) -> ModelParams {
        let c = self.client.config();
        ModelParams {
            base_url: self.config.endpoint_label.clone().unwrap_or_else(|| c.base_url.clone()),
            temperature: c.temperature,
            max_tokens: c.max_tokens,
            seed: c.seed,
            output: c.output,
            template: section.to_string(),
        }
    }

    /// Drafts `section` (e.g. `demand-review/summary`) from `facts`. Model failures end in a
    /// fallback draft, not an error; errors are template, pattern and cache problems.
    pub async fn draft_section(&self, section: &str, facts: &Value) -> Result<Draft, NarrativeError> {
        let (masked, mask) = Mask::apply(facts, &self.config.masking);
        let mut messages = self.prompts.messages(section, &masked)?;
        let model = self.client.config().model.clone();
        let params = self.params(section);
        let mut key = cache_key(&messages, &model, &params);
        if let Some(m) = self.config.number_marks {
            // The mock and the fallback write numbers in these marks: a reply cached for another
            // locale is not this one's (en-US keys stay as they were).
            let material = format!("{key}|numbers {}{}{}", m.group, m.decimal, m.before_percent);
            key = hex::encode(sha2::Sha256::digest(material.as_bytes()));
        }
        if let Some(mut hit) = self.cache.get(&key).await.map_err(NarrativeError::Cache)? {
            self.counters.cache_hits.fetch_add(1, Ordering::SeqCst);
            // This draft cost nothing: no call was made for it now.
            hit.calls = 0;
            hit.cost = 0.0;
            hit.attempts.clear();
            return Ok(hit);
        }

        let mut patterns = self.id_patterns.clone();
        patterns.extend(mask.pattern().cloned());
        let mut ground =
            GroundingContext::build(facts, patterns, &self.config.directory, &self.config.data_text_fields);
        if let Some((group, decimal)) = self.config.number_separators {
            ground = ground.with_separators(group, decimal);
        }
        let schema = Narrative::schema();
        let mut raw_reply = None;
        let mut failures: Vec<String> = Vec::new();
        let mut checked = false;
        let mut log: Vec<AttemptRecord> = Vec::new();
        let mut rounds_failed = 0u32;
        let mut server_failure: Option<LlmError> = None;

        for round in 0..=self.config.grounding_retries {
            let completion = match self.client.complete_logged(&messages, &schema, &mut log).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(section, error = %e, "LLM call failed; using the fallback narrative");
                    failures = vec![e.to_string()];
                    server_failure = Some(e);
                    break;
                }
            };
            let (calls, tokens) = totals(&log);
            raw_reply = Some(completion.raw.clone());
            if !checked {
                checked = true;
                self.counters.checked.fetch_add(1, Ordering::SeqCst);
            }
            let problems = match parse_reply(&completion.content, self.client.config().output) {
                Ok(narrative) => {
                    let restored = narrative.map_text(|t| mask.restore(t));
                    let found = grounding::check(&restored.to_text(), &ground);
                    if found.is_empty() {
                        let source = if round == 0 { DraftSource::Model } else { DraftSource::ModelAfterRetry };
                        if source == DraftSource::ModelAfterRetry {
                            self.counters.corrected.fetch_add(1, Ordering::SeqCst);
                        }
                        let draft = Draft {
                            text: restored.to_text(),
                            sections: restored,
                            source,
                            prompt: messages,
                            model,
                            params,
                            raw_reply,
                            cost: self.client.cost(tokens),
                            tokens,
                            calls,
                            failures: Vec::new(),
                            attempts: log,
                            fallback_reason: None,
                            cache_key: key.clone(),
                        };
                        self.cache.put(&key, &draft).await.map_err(NarrativeError::Cache)?;
                        return Ok(draft);
                    }
                    // Feed back masked tokens, never the real names.
                    found.iter().map(|f| mask_back(&f.to_string(), &mask)).collect()
                }
                Err(e) => vec![e],
            };
            tracing::info!(section, round, failures = problems.len(), "draft failed the fact check");
            rounds_failed += 1;
            failures = problems;
            messages.push(ChatMessage::assistant(completion.content));
            messages.push(ChatMessage::user(feedback(&failures)));
        }

        self.counters.replaced.fetch_add(1, Ordering::SeqCst);
        let reason = match &server_failure {
            Some(e) => server_reason(e, &log),
            None => format!(
                "the model's drafts did not pass the fact check {} ({}); this summary was built from the facts",
                times(rounds_failed),
                failures.first().map_or("no reply", String::as_str)
            ),
        };
        let sections = fallback_narrative_because(facts, server_failure.is_some(), self.config.number_marks);
        let (calls, tokens) = totals(&log);
        Ok(Draft {
            text: sections.to_text(),
            sections,
            source: DraftSource::Fallback,
            prompt: messages,
            model,
            params,
            raw_reply,
            cost: self.client.cost(tokens),
            tokens,
            calls,
            failures,
            attempts: log,
            fallback_reason: Some(reason),
            cache_key: key,
        })
    }
}

/// HTTP requests made and tokens used, over every attempt (failed ones too).
fn totals(log: &[AttemptRecord]) -> (u32, TokenUsage) {
    let mut tokens = TokenUsage::default();
    for a in log {
        tokens += TokenUsage {
            prompt_tokens: a.prompt_tokens,
            completion_tokens: a.completion_tokens,
            total_tokens: a.prompt_tokens + a.completion_tokens,
        };
    }
    (u32::try_from(log.len()).unwrap_or(u32::MAX), tokens)
}

/// "once", "twice", "three times", ... as a planner reads a count.
fn times(n: u32) -> String {
    const WORDS: &[&str] = &["no", "once", "twice", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
    match n {
        0..=2 => WORDS[n as usize].to_string(),
        3..=10 => format!("{} times", WORDS[n as usize]),
        _ => format!("{n} times"),
    }
}

/// Why the LLM server gave no usable draft, from its attempts: "the LLM server answered HTTP 429
/// four times; this summary was built from the facts".
fn server_reason(e: &LlmError, log: &[AttemptRecord]) -> String {
    let statuses: Vec<Option<u16>> = log.iter().map(|a| a.status).collect();
    let n = u32::try_from(log.len()).unwrap_or(u32::MAX);
    let what = match e {
        LlmError::Refused { status, .. } => format!("the LLM server refused the request with HTTP {status}"),
        LlmError::Timeout { .. } => format!("the LLM server did not answer in time ({} tried)", times(n)),
        LlmError::Truncated(m) if m.contains("max_tokens") => format!("the model's reply was {m}"),
        LlmError::Truncated(_) => format!("the LLM server's reply broke off {}", times(n)),
        LlmError::Malformed(_) => format!("the LLM server's reply could not be read {}", times(n)),
        LlmError::Config(m) => format!("the LLM client is misconfigured ({m})"),
        LlmError::Exhausted { .. } => match statuses.first().copied().flatten() {
            Some(s) if statuses.iter().all(|x| *x == Some(s)) && s != 200 => {
                format!("the LLM server answered HTTP {s} {}", times(n))
            }
            None if statuses.iter().all(Option::is_none) => {
                format!("the LLM server could not be reached ({} tried)", times(n))
            }
            _ => {
                let list: Vec<String> = statuses
                    .iter()
                    .map(|s| s.map_or_else(|| "no answer".to_string(), |s| format!("HTTP {s}")))
                    .collect();
                format!("the LLM server failed {} ({})", times(n), list.join(", "))
            }
        },
    };
    format!("{what}; this summary was built from the facts")
}

fn mask_back(text: &str, mask: &Mask) -> String {
    let mut out = text.to_string();
    let mut pairs: Vec<_> = mask.by_token.iter().collect();
    pairs.sort_by_key(|(_, real)| std::cmp::Reverse(real.len()));
    for (token, real) in pairs {
        out = out.replace(real.as_str(), token);
    }
    out
}

fn feedback(failures: &[String]) -> String {
    let list: Vec<String> = failures.iter().map(|f| format!("- {f}")).collect();
    format!(
        "Your draft failed the fact check:\n{}\nRewrite it. Use only numbers and names that appear in the \
         facts JSON above, with the same reply format.",
        list.join("\n")
    )
}

/// Parses the model's content into sections: JSON in JSON modes (after stripping fences and
/// `<think>` blocks), plain text otherwise. The error text is fed back to the model.
fn parse_reply(content: &str, mode: OutputMode) -> Result<Narrative, String> {
    let cleaned = client::clean_reply(content);
    let narrative = match mode {
        OutputMode::JsonSchema | OutputMode::JsonObject => serde_json::from_str::<Narrative>(cleaned)
            .map_err(|e| format!("the reply is not the requested JSON object: {e}"))?,
        OutputMode::None => Narrative::from_text(cleaned),
    };
    if narrative.headline.trim().is_empty() {
        return Err("the reply has an empty headline".into());
    }
    Ok(narrative)
}

/// The sha256 of the request that would be sent: messages, model and parameters.
pub fn cache_key(messages: &[ChatMessage], model: &str, params: &ModelParams) -> String {
    let material = json!({"messages": messages, "model": model, "params": params});
    hex::encode(sha2::Sha256::digest(material.to_string().as_bytes()))
}

/// A narrative built from the facts alone, saying plainly that the model did not write it.
pub fn fallback_narrative(facts: &Value, failures: &[String]) -> Narrative {
    fallback_narrative_with(
        None,
        facts,
        if failures.is_empty() { "" } else { ", whose draft could not be verified against the facts" },
    )
}

/// The fallback narrative, saying whether the server gave no usable reply or the model's drafts
/// failed the fact check (the counts and statuses are in the draft's `fallback_reason`).
fn fallback_narrative_because(facts: &Value, server_failed: bool, marks: Option<NumberMarks>) -> Narrative {
    fallback_narrative_with(
        marks,
        facts,
        if server_failed {
            ": the LLM server gave no usable reply"
        } else {
            ", whose drafts did not pass the check against the facts"
        },
    )
}

fn fallback_narrative_with(marks: Option<NumberMarks>, facts: &Value, why: &str) -> Narrative {
    let base = mock::narrative_from_facts(facts, marks);
    // No counts or other numbers of our own here: the fallback must pass grounding too.
    let mut paragraphs = vec![format!(
        "This summary was generated automatically from the computed facts: it was not written by the \
         language model{why}."
    )];
    paragraphs.extend(base.paragraphs);
    Narrative { headline: base.headline.replacen("Headline: ", "", 1), paragraphs, risks: base.risks }
}

/// Drafts `n` sections against an in-process mock with `latency_ms`, at most `concurrency` calls
/// in flight, and returns the wall time.
pub async fn bench_sections(n: usize, concurrency: usize, latency_ms: u64) -> anyhow::Result<Duration> {
    let server = mock::spawn(mock::MockConfig { latency_ms, ..mock::MockConfig::default() }).await?;
    let dir = std::env::temp_dir().join(format!("snop-bench-prompts-{}", std::process::id()));
    fs_err::create_dir_all(dir.join("bench"))?;
    fs_err::write(dir.join("bench/section.system.tera"), "You summarise S&OP facts.")?;
    fs_err::write(dir.join("bench/section.user.tera"), "Facts:\n```json\n{{ facts_json }}\n```\n")?;
    let prompts = Prompts::load(&dir)?;
    let client = LlmClient::new(LlmConfig {
        base_url: server.base_url(),
        concurrency,
        request_timeout_ms: latency_ms + 30_000,
        ..LlmConfig::default()
    })?;
    let drafter = Drafter::new(prompts, client, Arc::new(MemoryCache::default()), DraftConfig::default())?;
    let start = Instant::now();
    let drafts = futures::future::join_all((0..n).map(|i| {
        let facts = json!({"section": i, "units": 1000 + i, "revenue": 50_000 + i});
        let drafter = &drafter;
        async move { drafter.draft_section("bench/section", &facts).await }
    }))
    .await;
    let elapsed = start.elapsed();
    for d in drafts {
        anyhow::ensure!(d?.source == DraftSource::Model, "a bench section fell back");
    }
    let _ = fs_err::remove_dir_all(&dir);
    server.shutdown().await;
    Ok(elapsed)
}

#[cfg(test)]
mod tests;
