//! Ingest: the only code that reads input files or pulls over HTTP. It maps each source onto
//! its contract table, validates every row, and hands analysis typed tables plus a report of
//! what was read, kept and quarantined.

mod bom;
mod layout;
mod parse;
pub mod read;
mod typed;
pub mod validate;

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;

use crate::config::{Pipeline, Source};
use crate::contract::Quarantined;
use crate::contract::Table;
pub use read::{InputFile, sha256_hex};
pub use validate::Window;

/// Why a source could not be used at all. Each says which file, sheet or column, and what was
/// expected, so a planner can fix it.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("source `{name}`: no file matches `{pattern}`\nhint: put the extract there, or fix `path` in the pipeline")]
    NoFile { name: String, pattern: String },
    #[error("`{file}` has no sheet `{sheet}`: its sheets are {found}")]
    MissingSheet { file: String, sheet: String, found: String },
    #[error("`{file}`{}: missing column {missing}; found {found}\nhint: add the column, or map it in the pipeline's `columns`", sheet.as_ref().map(|s| format!(" sheet `{s}`")).unwrap_or_default())]
    MissingColumns { file: String, sheet: Option<String>, missing: String, found: String },
    #[error("`{file}` cannot be read: {detail}")]
    Unreadable { file: String, detail: String },
    #[error("`{file}` is {found}\nhint: {hint}")]
    NotThisFormat { file: String, found: String, hint: String },
    #[error(
        "`{file}` is encrypted (password-protected): snop cannot read it\nhint: save a copy without the password (Excel: File > Info > Protect Workbook > Encrypt with Password, then clear it)"
    )]
    Encrypted { file: String },
    #[error(
        "`{file}` row {row} is not UTF-8 text (byte `0x{byte:02X}`): the file looks saved as Windows-1252 or Latin-1\nhint: save it as UTF-8: in Excel, Save As \"CSV UTF-8 (Comma delimited)\""
    )]
    NotUtf8 { file: String, row: u64, byte: u8 },
    #[error(
        "`{file}` row {row}: a quoted value opens with `\"` and never closes\nhint: close the quote; a quote inside a quoted value is written twice (`\"\"`)"
    )]
    UnterminatedQuote { file: String, row: u64 },
    #[error("`{file}`{}: the header names `{name}` twice, in columns {first} and {second}\nhint: rename or remove one of them", sheet.as_ref().map(|s| format!(" sheet `{s}`")).unwrap_or_default())]
    DuplicateHeader { file: String, sheet: Option<String>, name: String, first: String, second: String },
    #[error(
        "`{file}`: missing column {missing}; the header reads as `{header}`\nhint: the file looks separated by `{likely}`: set `delimiter = \"{likely}\"` on the source"
    )]
    WrongDelimiter { file: String, missing: String, header: String, likely: String },
    #[error(
        "`{file}`: column {column} is stored as {stored}, which cannot hold {kind}\nhint: export the column with a type that holds {kind}, or as text in a CSV"
    )]
    ColumnType { file: String, column: String, stored: String, kind: crate::contract::Kind },
    #[error(
        "reading `{file}` stopped on an internal error (a bug in snop, not a fault of the file): {detail}\nhint: please report it, with the file if you can share it"
    )]
    Panicked { file: String, detail: String },
    #[error(
        "source `{name}`: `{files}` has a header and no rows: `{table}` is a master table, and every row that refers to it would be quarantined as unknown\nhint: export `{table}` again with its rows, or point `path` at the full extract"
    )]
    EmptyMaster { name: String, files: String, table: Table },
    #[error(
        "the bill of materials has a loop: {path}, in {rows}\nhint: a part cannot contain itself: correct or remove one of these rows"
    )]
    BomLoop { path: String, rows: String },
    #[error("source `{name}` needs the environment variable `{var}` for its credential, and it is not set")]
    AuthEnvMissing { name: String, var: String },
    #[error("pulling `{url}` failed after {attempts} attempt(s): {detail}")]
    Http { url: String, attempts: u32, detail: String },
    #[error("internal error while ingesting: {0}")]
    Runtime(String),
}

impl IngestError {
    /// Whether the fault lies with the data or configuration (exit 1) rather than the runtime.
    pub fn is_user_fault(&self) -> bool {
        !matches!(self, IngestError::Runtime(_) | IngestError::Http { .. } | IngestError::Panicked { .. })
    }
}

/// What ingest did with one source.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceReport {
    pub name: String,
    pub table: String,
    pub files: Vec<InputFile>,
    pub rows_read: usize,
    pub rows_quarantined: usize,
    pub rows_kept: usize,
    /// History rows older than the pipeline's `history_months`: skipped (not kept, not
    /// quarantined) and counted here. `rows_read` is kept + quarantined + these.
    pub rows_before_window: usize,
    /// The share of rows that may be quarantined before the run is rejected.
    pub max_quarantined_percent: f64,
    /// Fewer quarantined rows than this never reject the run on the percentage.
    pub min_rows_before_percent: usize,
    /// More rows were quarantined than the limit allows: the run must not produce artifacts.
    pub over_limit: bool,
}

pub struct Ingested {
    /// Validated rows per contract table (sources of the same table appended).
    pub tables: BTreeMap<Table, DataFrame>,
    pub sources: Vec<SourceReport>,
    pub quarantine: Vec<Quarantined>,
}

impl Ingested {
    pub fn table(&self, t: Table) -> Option<&DataFrame> {
        self.tables.get(&t)
    }
}

/// Turns the file index and row a kept row came from into `source_file`, `source_sheet` and
/// `source_row`, for checks made after ingest.
fn with_origin(frame: DataFrame, files: &[(String, Option<String>)]) -> Result<DataFrame, IngestError> {
    let err = |e: PolarsError| IngestError::Runtime(e.to_string());
    let idx: Vec<Option<u32>> = frame.column(read::FILE_COL).map_err(err)?.u32().map_err(err)?.iter().collect();
    let file: Vec<Option<String>> =
        idx.iter().map(|i| i.and_then(|i| files.get(i as usize)).map(|f| f.0.clone())).collect();
    let sheet: Vec<Option<String>> =
        idx.iter().map(|i| i.and_then(|i| files.get(i as usize)).and_then(|f| f.1.clone())).collect();
    let mut frame = frame.drop(read::FILE_COL).map_err(err)?;
    frame.rename(read::ROW_COL, "source_row".into()).map_err(err)?;
    frame.with_column(Column::new("source_file".into(), file)).map_err(err)?;
    frame.with_column(Column::new("source_sheet".into(), sheet)).map_err(err)?;
    Ok(frame)
}

/// This process's resident memory in MB, for the `-v` timings of ingest's steps (0 where Linux's
/// `/proc` is not there).
fn rss_mb() -> u64 {
    let statm = fs_err::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).map_or(0, |pages| (pages * 4096) >> 20)
}

/// How deep a table sits in the reference graph: masters first.
fn depth(t: Table) -> usize {
    t.depends_on().into_iter().map(|d| depth(d) + 1).max().unwrap_or(0)
}

/// Reads and validates every source of a pipeline. Stops at the first source that cannot be
/// used at all; bad rows are quarantined and counted, and each source says whether it went
/// over its limit (the caller then rejects the run).
pub async fn ingest(
    root: &Path,
    pipeline: &Pipeline,
    window: Window,
    progress: &crate::Progress,
) -> Result<Ingested, IngestError> {
    ingest_with(root, pipeline, window, progress, read::Mode::Typed).await
}

/// [`ingest`], with a CSV file's numbers read as `mode` says (the result is the same either way).
async fn ingest_with(
    root: &Path,
    pipeline: &Pipeline,
    window: Window,
    progress: &crate::Progress,
    mode: read::Mode,
) -> Result<Ingested, IngestError> {
    let mut order: Vec<&Source> = pipeline.sources.iter().collect();
    order.sort_by_key(|s| depth(s.table));
    // Read everything first: a missing file or column is reported before any judgement.
    let mut raws = Vec::new();
    for s in &order {
        let bar = progress.spinner(format!("reading {}", s.name));
        let t0 = std::time::Instant::now();
        let raw = read::read_source(root, s, mode).await?;
        tracing::debug!(source = %s.name, ms = t0.elapsed().as_millis() as u64, "read");
        bar.finish_and_clear();
        raws.push(raw);
    }
    let mut keys: validate::Keys = BTreeMap::new();
    let mut quarantined_keys = validate::QuarantinedKeys::new();
    let mut tables: BTreeMap<Table, DataFrame> = BTreeMap::new();
    let mut reports = Vec::new();
    let mut quarantine = Vec::new();
    for (s, raw) in order.into_iter().zip(raws) {
        let bar = progress.spinner(format!("validating {}", s.name));
        // Rows set aside while reading (ragged records) count as read and quarantined.
        let rows_read = raw.frame.height() + raw.quarantined.len();
        let files: Vec<(String, Option<String>)> =
            raw.files.iter().map(|f| (f.location.clone(), f.sheet.clone())).collect();
        if rows_read == 0 && !s.optional && s.table.is_master() && !files.is_empty() {
            let files = files.iter().map(|f| f.0.as_str()).collect::<Vec<_>>().join("`, `");
            return Err(IngestError::EmptyMaster { name: s.name.clone(), files, table: s.table });
        }
        let cx = validate::Context {
            source: &s.name,
            origins: &raw.origins,
            table: s.table,
            columns: &s.columns,
            decimal_comma: s.decimal_comma,
            files: &files,
            keys: &keys,
            quarantined_keys: &quarantined_keys,
            window,
        };
        let shown = files.iter().map(|f| f.0.as_str()).collect::<Vec<_>>().join("`, `");
        let mut v = read::guarded(&shown, || validate::validate(raw.frame, &cx))?;
        for (target, values) in std::mem::take(&mut v.quarantined_keys) {
            let known = quarantined_keys.entry(target).or_default();
            for (value, at) in values {
                known.entry(value).or_insert(at);
            }
        }
        if !raw.quarantined.is_empty() {
            v.rows_quarantined += raw.quarantined.len();
            v.quarantined.extend(raw.quarantined);
            v.quarantined.sort_by(|a, b| (&a.file, a.row).cmp(&(&b.file, b.row)));
        }
        bar.finish_and_clear();
        name_cells(&mut v.quarantined, &raw.files);
        if s.table.origin_in_ingest() {
            v.frame = with_origin(v.frame, &files)?;
        }
        // The share of the rows judged: history older than the window is not judged.
        let judged = rows_read - v.rows_before_window;
        let percent = if judged == 0 { 0.0 } else { 100.0 * v.rows_quarantined as f64 / judged as f64 };
        if v.rows_before_window > 0 {
            tracing::info!(source = %s.name, rows = v.rows_before_window, "history rows older than the window skipped");
        }
        if v.rows_quarantined > 0 {
            tracing::info!(source = %s.name, rows = v.rows_quarantined, percent = format!("{percent:.2}"), "rows quarantined");
        }
        let kept = v.frame.height();
        let merged = match tables.remove(&s.table) {
            Some(prev) => prev.vstack(&v.frame).map_err(|e| IngestError::Runtime(e.to_string()))?,
            None => v.frame,
        };
        // The values other tables may refer to.
        for (t, c) in Table::ALL
            .iter()
            .flat_map(|t| t.spec().references.iter().flat_map(|r| r.targets.iter().copied()).collect::<Vec<_>>())
        {
            if t == s.table {
                let unique = merged
                    .column(c)
                    .and_then(|col| col.as_materialized_series().drop_nulls().unique())
                    .map_err(|e| IngestError::Runtime(e.to_string()))?;
                keys.insert((t, c), unique);
            }
        }
        if s.table == Table::Bom {
            bom::refuse_loops(&merged)?;
        }
        tables.insert(s.table, merged);
        reports.push(SourceReport {
            name: s.name.clone(),
            table: s.table.name().to_string(),
            files: raw.files,
            rows_read,
            rows_quarantined: v.rows_quarantined,
            rows_kept: kept,
            rows_before_window: v.rows_before_window,
            max_quarantined_percent: s.max_quarantined_percent,
            min_rows_before_percent: s.min_rows_before_percent,
            over_limit: v.rows_quarantined >= s.min_rows_before_percent && percent > s.max_quarantined_percent,
        });
        quarantine.extend(v.quarantined);
    }
    if let Some(bom) = tables.get_mut(&Table::Bom).filter(|_| !Table::Bom.keeps_origin()) {
        *bom = bom.drop_many(["source_file", "source_sheet", "source_row"]);
    }
    Ok(Ingested { tables, sources: reports, quarantine })
}

/// Gives each quarantined row of a workbook the cell (`D7`) a person types into Excel's name
/// box, from its file's column letters. Rows already naming a cell, or of a text file, or faults
/// of several columns keep what they have.
pub fn name_cells(quarantined: &mut [Quarantined], files: &[InputFile]) {
    for q in quarantined.iter_mut().filter(|q| q.cell.is_none()) {
        let file = files.iter().find(|f| f.location == q.file && f.sheet == q.sheet);
        q.cell = file.and_then(|f| f.letters.get(&q.column)).map(|letter| format!("{letter}{}", q.row));
    }
}

#[cfg(test)]
mod tests;
