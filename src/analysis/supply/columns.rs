//! Reading the input tables' columns into plain vectors, with errors that name the table and
//! column. Every phase that reads a table goes through these.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::super::AnalysisError;
use crate::contract::Table;

/// A table every supply review needs; missing, it is an error that names it.
pub(super) fn table(tables: &BTreeMap<Table, DataFrame>, t: Table) -> Result<&DataFrame, AnalysisError> {
    tables.get(&t).ok_or(AnalysisError::MissingTable(t))
}

fn col_err(table: &str, column: &str, e: impl std::fmt::Display) -> AnalysisError {
    AnalysisError::Column { table: table.to_string(), column: column.to_string(), detail: e.to_string() }
}

pub(super) fn texts(df: &DataFrame, table: &str, column: &str) -> Result<Vec<String>, AnalysisError> {
    let c = df.column(column).map_err(|e| col_err(table, column, e))?;
    let c = c.cast(&DataType::String).map_err(|e| col_err(table, column, e))?;
    let s = c.str().map_err(|e| col_err(table, column, e))?;
    Ok(s.iter().map(|v| v.unwrap_or_default().to_string()).collect())
}

pub(super) fn numbers(df: &DataFrame, table: &str, column: &str) -> Result<Vec<Option<f64>>, AnalysisError> {
    let c = df.column(column).map_err(|e| col_err(table, column, e))?;
    let c = c.cast(&DataType::Float64).map_err(|e| col_err(table, column, e))?;
    let s = c.f64().map_err(|e| col_err(table, column, e))?;
    Ok(s.iter().collect())
}

pub(super) fn numbers0(df: &DataFrame, table: &str, column: &str) -> Result<Vec<f64>, AnalysisError> {
    Ok(numbers(df, table, column)?.into_iter().map(|v| v.unwrap_or(0.0)).collect())
}

/// Dates as days since 1970-01-01.
pub(super) fn dates(df: &DataFrame, table: &str, column: &str) -> Result<Vec<Option<i32>>, AnalysisError> {
    let c = df.column(column).map_err(|e| col_err(table, column, e))?;
    let c = c.cast(&DataType::Date).map_err(|e| col_err(table, column, e))?;
    let s = c.date().map_err(|e| col_err(table, column, e))?;
    Ok(s.physical().iter().collect())
}
