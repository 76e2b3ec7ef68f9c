//! Analysis: turns validated contract data into typed facts, the interface that prompts and
//! renderers read.
//!
//! Architecture invariant: analysis is pure. No I/O, no clock, no network, no randomness:
//! identical inputs give bit-identical outputs, so a re-run with unchanged inputs reproduces
//! the same facts.

pub mod demand;
pub mod executive;
pub mod forecast;
pub mod reconcile;
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
}

impl AnalysisError {
    /// Whether the fault lies with the data or configuration (exit 1) rather than the runtime.
    pub fn is_user_fault(&self) -> bool {
        matches!(self, AnalysisError::MissingTable(_) | AnalysisError::BomCycle { .. } | AnalysisError::Demand { .. })
    }
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
