//! Grounding: every number and every named entity in a narrative must come from the facts.
//!
//! Numbers are compared with rounding and the usual business formats: `1,234`, `1.2M`, `340k`,
//! `$340k`, `€1.2M`, `12%` (the fact may be the ratio 0.12 or the percent 12), `12.3%`, `-5`,
//! `(5)`. A number written with `d` decimals (after its `k`/`M`/`B` scale) matches a fact that
//! rounds to it. Without an explicit sign the comparison is on magnitudes, so "fell by 12%"
//! grounds on a fact of -0.12; with a sign (`-5`, `(5)`) the sign must match too.
//!
//! Whitelisted without a fact (decided here, documented in `prompts/README.md`):
//! - years 2000..=2100 written as four plain digits (`2026`),
//! - month keys `YYYY-MM` and dates `YYYY-MM-DD`,
//! - the integers 1..=12 written plainly (no decimals, scale, currency or `%`): ordinals and
//!   counts such as "top 3" or "6 months".
//!
//! Digits inside identifiers (`SKU-0042`, `Q3`, `CUSTOMER_01`) are not numbers: they are part
//! of a word. Names are checked against the caller's ID patterns (a regex list): every match must
//! be a known name. Known names are blanked out before numbers are scanned, so a customer called
//! `Plant 7` does not count as the number 7. HTML or script markup in a narrative is a failure too:
//! LLM output is untrusted text.

use std::collections::BTreeSet;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// Why a narrative failed the fact check, with the offending token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GroundingFailure {
    /// A number that matches no fact.
    Number { token: String },
    /// A name that looks like an ID (by the caller's patterns) and is not in the facts.
    UnknownName { token: String },
    /// HTML or script markup.
    Markup { token: String },
}

impl std::fmt::Display for GroundingFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GroundingFailure::Number { token } => write!(f, "the number `{token}` is not in the facts"),
            GroundingFailure::UnknownName { token } => write!(f, "the name `{token}` is not in the facts"),
            GroundingFailure::Markup { token } => write!(f, "markup `{token}` is not allowed in a narrative"),
        }
    }
}

/// What a narrative is checked against.
#[derive(Debug, Clone, Default)]
pub struct GroundingContext {
    /// Every number found anywhere in the facts.
    pub numbers: Vec<f64>,
    /// Every name the narrative may use (SKUs, customers, sites, suppliers, ...).
    pub known_names: BTreeSet<String>,
    /// Patterns of name-like tokens (e.g. `SKU-\d+`); a match not in `known_names` fails.
    pub id_patterns: Vec<Regex>,
}

impl GroundingContext {
    /// Collects every number and every string leaf of `facts` (strings become known names).
    pub fn from_facts(facts: &serde_json::Value, id_patterns: Vec<Regex>) -> GroundingContext {
        let mut ctx = GroundingContext { id_patterns, ..GroundingContext::default() };
        collect(facts, &mut ctx);
        ctx
    }
}

fn collect(value: &serde_json::Value, ctx: &mut GroundingContext) {
    match value {
        serde_json::Value::Number(n) => ctx.numbers.extend(n.as_f64()),
        serde_json::Value::String(s) => {
            ctx.known_names.insert(s.clone());
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, ctx)),
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                // Maps keyed by name (`{"SKU-1": {...}}`) name real entities too.
                ctx.known_names.insert(key.clone());
                collect(v, ctx);
            }
        }
        serde_json::Value::Bool(_) | serde_json::Value::Null => {}
    }
}

struct Patterns {
    number: Regex,
    date: Regex,
    markup: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: std::sync::OnceLock<Patterns> = std::sync::OnceLock::new();
    PATTERNS.get_or_init(|| Patterns {
        number: Regex::new(
            r"(?x)
            (?P<open>\()?
            (?P<neg>[-−])?
            (?P<cur>[$€£])?
            (?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)
            (?:\s?(?P<scale>bn|[kKmMbB]))?
            (?P<pct>\s?%)?
            (?P<close>\))?",
        )
        .expect("number pattern"),
        date: Regex::new(r"\b\d{4}-\d{2}(?:-\d{2})?\b").expect("date pattern"),
        markup: Regex::new(r"(?i)</?[a-z!][^>]*>|javascript:").expect("markup pattern"),
    })
}

/// A number as written in a narrative.
#[derive(Debug, Clone, PartialEq)]
struct WrittenNumber {
    value: f64,
    /// Half a unit of the last written digit, in the value's units.
    tolerance: f64,
    signed: bool,
    percent: bool,
    plain_integer: bool,
}

/// Checks `text` against `ctx`; an empty list means the narrative is grounded.
pub fn check(text: &str, ctx: &GroundingContext) -> Vec<GroundingFailure> {
    let mut failures = Vec::new();
    for m in patterns().markup.find_iter(text) {
        failures.push(GroundingFailure::Markup { token: m.as_str().to_string() });
    }
    // Names: every ID-shaped token must be known.
    let mut scrubbed = text.to_string();
    for pattern in &ctx.id_patterns {
        for m in pattern.find_iter(text) {
            if !ctx.known_names.contains(m.as_str()) {
                failures.push(GroundingFailure::UnknownName { token: m.as_str().to_string() });
            }
        }
        scrubbed = pattern.replace_all(&scrubbed, " ").into_owned();
    }
    // Known names (longest first) are words, not numbers.
    let mut names: Vec<&String> = ctx.known_names.iter().filter(|n| n.len() > 1).collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for name in names {
        if scrubbed.contains(name.as_str()) {
            scrubbed = scrubbed.replace(name.as_str(), " ");
        }
    }
    let scrubbed = patterns().date.replace_all(&scrubbed, " ").into_owned();
    for (token, written) in numbers_in(&scrubbed) {
        if whitelisted(&written) || ctx.numbers.iter().any(|&fact| matches(&written, fact)) {
            continue;
        }
        failures.push(GroundingFailure::Number { token });
    }
    failures
}

fn whitelisted(n: &WrittenNumber) -> bool {
    n.plain_integer && ((1.0..=12.0).contains(&n.value) || (2000.0..=2100.0).contains(&n.value))
}

fn matches(n: &WrittenNumber, fact: f64) -> bool {
    let candidates: &[f64] = if n.percent { &[fact, fact * 100.0] } else { &[fact] };
    candidates.iter().any(|&c| {
        let c = if n.signed { c } else { c.abs() };
        (n.value - c).abs() <= n.tolerance * (1.0 + 1e-9) + 1e-9
    })
}

/// Every number token in `text` (not glued to a word) with how it was written.
fn numbers_in(text: &str) -> Vec<(String, WrittenNumber)> {
    let mut out = Vec::new();
    for caps in patterns().number.captures_iter(text) {
        let whole = caps.get(0).expect("match");
        let num = caps.name("num").expect("num");
        // Digits glued to a word (`Q3`, `SKU7`, `3rd`) are part of that word.
        let before = text[..whole.start()].chars().next_back();
        let after = text[whole.end()..].chars().next();
        let glued_before = before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == ',');
        let glued_after = after.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if glued_before || glued_after {
            continue;
        }
        let digits = num.as_str().replace(',', "");
        let Ok(mut value) = digits.parse::<f64>() else { continue };
        let decimals = digits.split_once('.').map_or(0, |(_, d)| d.len());
        let mut tolerance = 0.5 * 10f64.powi(-i32::try_from(decimals).unwrap_or(i32::MAX));
        let scale = match caps.name("scale").map(|m| m.as_str()) {
            Some("k" | "K") => 1e3,
            Some("m" | "M") => 1e6,
            Some("b" | "B" | "bn") => 1e9,
            _ => 1.0,
        };
        value *= scale;
        tolerance *= scale;
        let parenthesised = caps.name("open").is_some() && caps.name("close").is_some();
        let negative = caps.name("neg").is_some() || parenthesised;
        if negative {
            value = -value;
        }
        let percent = caps.name("pct").is_some();
        let plain_integer = decimals == 0
            && scale == 1.0
            && !percent
            && !negative
            && caps.name("cur").is_none()
            && !num.as_str().contains(',');
        out.push((
            whole.as_str().trim().to_string(),
            WrittenNumber { value, tolerance, signed: negative, percent, plain_integer },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(facts: serde_json::Value) -> GroundingContext {
        GroundingContext::from_facts(&facts, vec![Regex::new(r"\bSKU-\d+\b").unwrap()])
    }

    fn numbers(failures: &[GroundingFailure]) -> Vec<String> {
        failures
            .iter()
            .filter_map(|f| match f {
                GroundingFailure::Number { token } => Some(token.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn invented_number_is_caught() {
        let c = ctx(json!({"revenue": 1200, "units": 340}));
        let failures = check("Revenue was 1,200 on 340 units, up 17% on last year.", &c);
        assert_eq!(numbers(&failures), vec!["17%"]);
    }

    #[test]
    fn rounded_millions_pass_and_wrong_rounding_fails() {
        let c = ctx(json!({"revenue": 1_234_567}));
        assert!(check("Revenue reached 1.2M this month.", &c).is_empty());
        assert!(check("Revenue reached €1.2M, or 1,234,567 exactly.", &c).is_empty());
        assert_eq!(numbers(&check("Revenue reached 1.3M.", &c)), vec!["1.3M"]);
        assert!(check("Revenue reached $1.23M.", &c).is_empty());
        assert_eq!(numbers(&check("Revenue reached $1.24M.", &c)), vec!["$1.24M"]);
    }

    #[test]
    fn thousands_with_currency() {
        let c = ctx(json!({"gap_value": 340_123.0}));
        assert!(check("The gap is worth $340k.", &c).is_empty());
        assert_eq!(numbers(&check("The gap is worth $341k.", &c)), vec!["$341k"]);
    }

    #[test]
    fn percentages_both_ways() {
        let ratio = ctx(json!({"accuracy": 0.123}));
        assert!(check("Accuracy was 12.3%.", &ratio).is_empty());
        assert!(check("Accuracy was 12%.", &ratio).is_empty());
        assert_eq!(numbers(&check("Accuracy was 13%.", &ratio)), vec!["13%"]);
        let percent = ctx(json!({"accuracy_percent": 12}));
        assert!(check("Accuracy was 12%.", &percent).is_empty());
        assert_eq!(numbers(&check("Accuracy was 21%.", &percent)), vec!["21%"]);
        // A bare 0.12 is not a percent: it must match the fact itself.
        assert_eq!(numbers(&check("Accuracy was 0.12.", &percent)), vec!["0.12"]);
    }

    #[test]
    fn negative_and_parenthesised_numbers() {
        let c = ctx(json!({"variance": -5400, "bias": -0.05}));
        assert!(check("Variance was -5,400, shown as (5,400) in finance.", &c).is_empty());
        assert!(check("Bias fell by 5% to -5%.", &c).is_empty());
        // An explicit sign must match: the fact is negative.
        let positive = ctx(json!({"variance": 5400}));
        assert_eq!(numbers(&check("Variance was (5,400).", &positive)), vec!["(5,400)"]);
    }

    #[test]
    fn whitelist_years_months_and_small_ordinals() {
        let c = ctx(json!({"units": 987}));
        assert!(check("In 2026-03 and across 2026 the top 3 SKUs sold 987 units in 12 months.", &c).is_empty());
        assert_eq!(numbers(&check("The top 13 SKUs sold 987 units.", &c)), vec!["13"]);
    }

    #[test]
    fn unknown_sku_is_caught_and_digits_in_ids_are_not_numbers() {
        let c = ctx(json!({"items": [{"sku": "SKU-0042", "units": 120}]}));
        assert!(check("SKU-0042 sold 120 units in Q3.", &c).is_empty());
        let failures = check("SKU-0042 and SKU-9999 sold 120 units.", &c);
        assert_eq!(failures, vec![GroundingFailure::UnknownName { token: "SKU-9999".into() }]);
    }

    #[test]
    fn known_names_with_digits_are_words() {
        let c = ctx(json!({"customer": "Plant 77 GmbH", "units": 5000}));
        assert!(check("Plant 77 GmbH ordered 5,000 units.", &c).is_empty());
        assert_eq!(numbers(&check("Plant 78 GmbH ordered 5,000 units.", &c)), vec!["78"]);
    }

    #[test]
    fn markup_is_a_failure() {
        let c = ctx(json!({"units": 5}));
        let failures = check("Fine <script>alert(5)</script>", &c);
        assert!(failures.iter().any(|f| matches!(f, GroundingFailure::Markup { .. })), "{failures:?}");
    }
}
