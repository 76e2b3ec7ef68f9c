//! Analysis: turns validated contract data into typed facts, the interface that prompts and
//! renderers read.
//!
//! Architecture invariant: analysis is pure. No I/O, no clock, no network, no randomness:
//! identical inputs give bit-identical outputs, so a re-run with unchanged inputs reproduces
//! the same facts.

pub mod commitments;
pub mod demand;
pub mod executive;
pub mod forecast;
pub mod graph;
pub mod locale;
pub mod reconcile;
pub mod signed_plan;
pub mod supply;

use polars::prelude::*;

use crate::contract::Table;

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error(
        "the pipeline provides no `{0}` table, which this agent needs\nhint: add a source for `{0}` to the agent's pipeline"
    )]
    MissingTable(Table),
    #[error("table `{table}` column `{column}` cannot be read: {detail}")]
    Column { table: String, column: String, detail: String },
    #[error("the bill of materials has a loop: {}", path.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" -> "))]
    BomCycle { path: Vec<String> },
    #[error("demand row {row}: {detail}")]
    Demand { row: usize, detail: String },
    #[error("analysis failed: {0}")]
    Polars(#[from] PolarsError),
    #[error(transparent)]
    Solve(#[from] supply::lp::SolveError),
}

impl AnalysisError {
    /// Whether the fault lies with the data or configuration (exit 1) rather than the runtime.
    pub fn is_user_fault(&self) -> bool {
        matches!(self, AnalysisError::MissingTable(_) | AnalysisError::BomCycle { .. } | AnalysisError::Demand { .. })
    }
}

/// Rounded to cents (money) or hundredths (units) for the facts, never `-0`.
pub(crate) fn r2(x: f64) -> f64 {
    let v = (x * 100.0).round() / 100.0;
    if v == 0.0 { 0.0 } else { v }
}

/// A number as a planner reads it: thousands grouped, at most one decimal; a fraction (an
/// error rate, a bias) keeps three.
pub fn format_number(x: f64) -> String {
    if x != 0.0 && x.abs() < 1.0 {
        let s = format!("{x:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        return if s == "0" || s == "-0" { "0".into() } else { s.into() };
    }
    let rounded = (x * 10.0).round() / 10.0;
    let neg = rounded < 0.0;
    let abs = rounded.abs();
    let whole = abs.trunc() as u64;
    let tenth = ((abs - abs.trunc()) * 10.0).round() as u64;
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if neg { "-" } else { "" };
    if tenth == 0 { format!("{sign}{grouped}") } else { format!("{sign}{grouped}.{tenth}") }
}

/// A text column as owned values.
pub(crate) fn col_str(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>, AnalysisError> {
    Ok(df.column(name)?.str()?.iter().map(|v| v.map(str::to_string)).collect())
}

/// A numeric column as `f64`.
pub(crate) fn col_f64(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>, AnalysisError> {
    let c = df.column(name)?.cast(&DataType::Float64)?;
    Ok(c.f64()?.iter().collect())
}
