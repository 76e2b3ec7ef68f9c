//! Reading sources into raw frames: every mapped column as text, renamed to its contract name,
//! with the file and row each value came from. Nothing here judges a value; `validate` does.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use calamine::{Data, Reader};
use polars::prelude::*;
use sha2::{Digest, Sha256};

use super::IngestError;
use super::layout::{self, Layout, Ragged, Scanner};
use crate::config::{ColumnMap, FileFormat, Location, Source};
use crate::contract::{Kind, Quarantined};

/// Column holding the index of the file a row came from (into `Raw::files`).
pub const FILE_COL: &str = "__file";
/// Column holding the row number a person would look for: in a CSV or a sheet the header is
/// row 1 (or `header_row`) and the first data row the one after it; in Parquet, the record number.
pub const ROW_COL: &str = "__row";

/// One input file, as read.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InputFile {
    /// The path relative to the workspace, or the URL.
    pub location: String,
    pub sheet: Option<String>,
    /// SHA-256 of the bytes read.
    pub sha256: String,
    /// The bytes, for sources pulled over HTTP (kept with the run).
    #[serde(skip)]
    pub fetched: Option<Vec<u8>>,
    /// In a workbook, the sheet column letter of each contract column read, so a fault names
    /// its cell (`B14`).
    #[serde(skip)]
    pub letters: BTreeMap<String, String>,
}

/// A source's rows, every mapped column under its contract name: as text, or (the numbers of a
/// CSV file, see [`Mode`]) typed, with an `__unparsed_<column>` flag beside each typed column.
pub struct Raw {
    pub frame: DataFrame,
    pub files: Vec<InputFile>,
    /// Rows set aside while reading (a CSV record with a value beyond its header's columns),
    /// not in `frame`.
    pub quarantined: Vec<Quarantined>,
    /// Where the text of a typed value is found again, by file index.
    pub origins: Origins,
}

/// How a CSV file's numbers are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Numbers (`Number`, `Int`) parsed by the CSV reader itself; the text of a value that came
    /// out null is read again from the file and judged as the text path judges it. Sources with
    /// `decimal_comma` are read as text.
    Typed,
    /// Every column as text, parsed by the validator.
    Text,
}

/// The flag beside a typed column: true where the value had text that is not a number.
pub fn unparsed_col(name: &str) -> String {
    format!("__unparsed_{name}")
}

/// A typed CSV file: where its records are, to read a value's text again.
pub struct Origin {
    path: PathBuf,
    delimiter: u8,
    checkpoints: Vec<(u64, u64)>,
    /// The field index of each contract column read typed.
    fields: BTreeMap<&'static str, usize>,
}

/// The typed files of a source, by file index (`None`: a file read as text).
#[derive(Default)]
pub struct Origins(Vec<Option<Origin>>);

impl Origins {
    /// The text of `column` at each `(file index, row)`, as the file has it (`None`: no such
    /// field, or a file read as text).
    pub fn texts(&self, column: &str, at: &[(u32, u64)]) -> Result<Vec<Option<String>>, IngestError> {
        let mut out = vec![None; at.len()];
        for (idx, origin) in self.0.iter().enumerate() {
            let Some(o) = origin else { continue };
            let Some(&field) = o.fields.get(column) else { continue };
            let mine: Vec<usize> = (0..at.len()).filter(|&i| at[i].0 as usize == idx).collect();
            if mine.is_empty() {
                continue;
            }
            let wanted: Vec<(u64, usize)> = mine.iter().map(|&i| (at[i].1, field)).collect();
            let shown = o.path.to_string_lossy().into_owned();
            let file = fs_err::File::open(&o.path)
                .map_err(|e| IngestError::Unreadable { file: shown.clone(), detail: e.to_string() })?;
            let texts = layout::fields_at(file, o.delimiter, &o.checkpoints, &wanted)
                .map_err(|e| IngestError::Unreadable { file: shown, detail: e.to_string() })?;
            for (i, t) in mine.into_iter().zip(texts) {
                out[i] = t;
            }
        }
        Ok(out)
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 of a CSV file and its layout, in one pass reading it as a stream.
fn scan_file(path: &Path, delimiter: u8) -> std::io::Result<(String, Layout)> {
    use std::io::Read;
    let mut file = fs_err::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut scanner = Scanner::new(delimiter);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        scanner.feed(&buf[..n]);
    }
    Ok((hex::encode(hasher.finalize()), scanner.finish()))
}

/// A row set aside while reading, before any value is judged: a CSV record with more fields
/// than its header, a sheet row whose formula has no saved value.
#[derive(Debug, Clone, PartialEq)]
struct SetAside {
    row: u64,
    /// The contract column, when the fault is in one cell.
    column: String,
    value: String,
    reason: String,
    /// In a workbook, the cell (`D7`).
    cell: Option<String>,
}

impl From<&Ragged> for SetAside {
    fn from(r: &Ragged) -> Self {
        SetAside {
            row: r.row,
            column: String::new(),
            value: r.text.clone(),
            reason: format!("{} fields where the header has {}", r.fields, r.expected),
            cell: None,
        }
    }
}

/// The quarantine entries of the rows a file's reader set aside.
fn set_aside_rows<'a>(
    source: &'a Source,
    file: &'a str,
    sheet: Option<&'a str>,
    rows: Vec<SetAside>,
) -> impl Iterator<Item = Quarantined> + 'a {
    rows.into_iter().map(move |r| Quarantined {
        source: source.name.clone(),
        file: file.to_string(),
        sheet: sheet.map(str::to_string),
        row: r.row,
        column: r.column,
        value: r.value,
        reason: r.reason,
        cell: r.cell,
    })
}

enum CsvInput<'a> {
    Bytes(Vec<u8>),
    Path(&'a Path),
}

/// Reads every file of a source. HTTP sources are pulled first (see [`fetch`]).
pub async fn read_source(root: &Path, source: &Source, mode: Mode) -> Result<Raw, IngestError> {
    let mut frames = Vec::new();
    let mut files = Vec::new();
    let mut quarantined = Vec::new();
    let mut origins = Origins::default();
    let typed = mode == Mode::Typed && !source.decimal_comma;
    match &source.location {
        Location::Files { pattern, format } => {
            let paths = expand(root, pattern)?;
            if paths.is_empty() && source.optional {
                return Ok(Raw { frame: empty(&source.columns)?, files, quarantined, origins });
            }
            if paths.is_empty() {
                return Err(IngestError::NoFile { name: source.name.clone(), pattern: pattern.clone() });
            }
            for path in paths {
                let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
                let unreadable =
                    |e: std::io::Error| IngestError::Unreadable { file: rel.clone(), detail: e.to_string() };
                let idx = files.len() as u32;
                let (frame, sheet, sha256, letters) = if let FileFormat::Csv { delimiter } = format {
                    // Extracts can be large: hashed and scanned as a stream and parsed a piece at
                    // a time, never held whole in memory.
                    let (sha256, layout) = scan_file(&path, *delimiter).map_err(unreadable)?;
                    let csv = Csv { name: &rel, delimiter: *delimiter, layout: &layout, columns: &source.columns };
                    let (frame, ragged, origin) = guarded(&rel, || read_csv(&csv, CsvInput::Path(&path), idx, typed))?;
                    quarantined.extend(set_aside_rows(source, &rel, None, ragged));
                    origins.0.push(origin);
                    (frame, None, sha256, BTreeMap::new())
                } else {
                    let bytes = fs_err::read(&path).map_err(unreadable)?;
                    let sha256 = sha256_hex(&bytes);
                    let (frame, sheet, aside, letters) =
                        guarded(&rel, || parse_bytes(bytes, &rel, format, source, idx))?;
                    quarantined.extend(set_aside_rows(source, &rel, sheet.as_deref(), aside));
                    origins.0.push(None);
                    (frame, sheet, sha256, letters)
                };
                files.push(InputFile { location: rel, sheet, sha256, fetched: None, letters });
                frames.push(frame);
            }
        }
        Location::Http { url, format, auth, timeout_seconds, retries } => {
            let bytes =
                fetch(url, auth.as_ref(), &source.name, Duration::from_secs(*timeout_seconds), *retries).await?;
            let (frame, sheet, aside, letters) = guarded(url, || parse_bytes(bytes.clone(), url, format, source, 0))?;
            quarantined.extend(set_aside_rows(source, url, sheet.as_deref(), aside));
            let sha256 = sha256_hex(&bytes);
            files.push(InputFile { location: url.clone(), sheet, sha256, fetched: Some(bytes), letters });
            frames.push(frame);
            origins.0.push(None);
        }
    }
    let frame = if frames.len() == 1 {
        frames.pop().expect("one frame")
    } else {
        let lazies: Vec<LazyFrame> = frames.into_iter().map(IntoLazy::lazy).collect();
        concat(lazies, UnionArgs::default())
            .and_then(LazyFrame::collect)
            .map_err(|e| IngestError::Runtime(e.to_string()))?
    };
    Ok(Raw { frame, files, quarantined, origins })
}

enum Expected {
    Workbook,
    Parquet,
}

/// Names what a file is when it is not what its source's `type` says: an encrypted workbook, or
/// a CSV (or workbook, or Parquet file) under another name. Anything else is left to the reader.
fn check_magic(bytes: &[u8], name: &str, expected: Expected) -> Result<(), IngestError> {
    const ZIP: &[u8] = b"PK\x03\x04";
    const CFB: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0];
    if bytes.starts_with(CFB) {
        // An encrypted `.xlsx` is a compound file holding the stream `EncryptedPackage`.
        let marker: Vec<u8> = "EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes).collect();
        if bytes.windows(marker.len()).any(|w| w == marker.as_slice()) {
            return Err(IngestError::Encrypted { file: name.to_string() });
        }
    }
    let (fits, what) = match expected {
        Expected::Workbook => (bytes.starts_with(ZIP) || bytes.starts_with(CFB), "a workbook"),
        Expected::Parquet => (bytes.starts_with(b"PAR1"), "a Parquet file"),
    };
    if fits {
        return Ok(());
    }
    let head = &bytes[..bytes.len().min(4096)];
    let (found, hint) = if bytes.starts_with(ZIP) {
        ("a workbook (`.xlsx`)", "make the source `type = \"xlsx\"` with its `sheet`")
    } else if bytes.starts_with(b"PAR1") {
        ("a Parquet file", "make the source `type = \"parquet\"`")
    } else if layout::not_text(head).is_none()
        && std::str::from_utf8(head).map_or_else(|e| e.error_len().is_none(), |_| true)
        && head.contains(&b'\n')
    {
        (
            "text, probably a CSV under another name",
            "make the source `type = \"csv\"` (and give the file a `.csv` name)",
        )
    } else {
        return Ok(());
    };
    Err(IngestError::NotThisFormat {
        file: name.to_string(),
        found: format!("not {what}: it is {found}"),
        hint: hint.to_string(),
    })
}

/// Runs a parser, turning a panic inside it (a bug in snop or polars, never the planner's fault)
/// into an error naming the file, so no input ends snop with a crash.
pub(super) fn guarded<T>(file: &str, f: impl FnOnce() -> Result<T, IngestError>) -> Result<T, IngestError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no detail".into());
        Err(IngestError::Panicked { file: file.to_string(), detail })
    })
}

fn expand(root: &Path, pattern: &str) -> Result<Vec<PathBuf>, IngestError> {
    let full = root.join(pattern);
    let mut paths: Vec<PathBuf> = glob::glob(&full.to_string_lossy())
        .map_err(|e| IngestError::Runtime(format!("`{pattern}` is not a valid glob: {}", e.msg)))?
        .filter_map(Result::ok)
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    Ok(paths)
}

/// A parsed file: its rows, its sheet, the rows set aside while reading, and (in a workbook)
/// the column letter of each contract column.
type Parsed = (DataFrame, Option<String>, Vec<SetAside>, BTreeMap<String, String>);

fn parse_bytes(
    bytes: Vec<u8>,
    name: &str,
    format: &FileFormat,
    source: &Source,
    file_idx: u32,
) -> Result<Parsed, IngestError> {
    let columns = &source.columns;
    match format {
        FileFormat::Csv { delimiter } => {
            let layout = Scanner::scan(&bytes, *delimiter);
            let csv = Csv { name, delimiter: *delimiter, layout: &layout, columns };
            let (frame, ragged, _) = read_csv(&csv, CsvInput::Bytes(bytes), file_idx, false)?;
            Ok((frame, None, ragged, BTreeMap::new()))
        }
        FileFormat::Parquet => {
            let frame = read_parquet(bytes, name, columns, source.decimal_comma, file_idx)?;
            Ok((frame, None, Vec::new(), BTreeMap::new()))
        }
        FileFormat::Xlsx { sheet, header_row } => read_xlsx(bytes, name, sheet, *header_row, columns, file_idx),
    }
}

/// Checks that every required contract column is there and returns the source columns to read.
fn check_columns(
    found: &[String],
    columns: &[ColumnMap],
    file: &str,
    sheet: Option<&str>,
) -> Result<Vec<(String, &'static str)>, IngestError> {
    let mut selected = Vec::new();
    let mut missing = Vec::new();
    for m in columns {
        if found.iter().any(|f| f == &m.source) {
            selected.push((m.source.clone(), m.column.name));
        } else if m.column.required {
            missing.push(shown_column(m));
        }
    }
    if missing.is_empty() {
        Ok(selected)
    } else {
        Err(IngestError::MissingColumns {
            file: file.to_string(),
            sheet: sheet.map(str::to_string),
            missing: missing.join(", "),
            found: found.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", "),
        })
    }
}

/// A source without rows (an optional source with no file yet).
fn empty(columns: &[ColumnMap]) -> Result<DataFrame, IngestError> {
    let mut cols = vec![
        Column::new_empty(FILE_COL.into(), &DataType::UInt32),
        Column::new_empty(ROW_COL.into(), &DataType::UInt32),
    ];
    cols.extend(columns.iter().map(|m| Column::new_empty(m.column.name.into(), &DataType::String)));
    DataFrame::new_infer_height(cols).map_err(|e| IngestError::Runtime(e.to_string()))
}

/// Renames source columns to contract names, adds the optional ones that are absent as nulls
/// (typed, with their flag, when `typed` says the file's numbers are read typed, so every file of
/// the source has the same columns) and the file index.
fn finish(
    frame: DataFrame,
    selected: &[(String, &'static str)],
    columns: &[ColumnMap],
    file_idx: u32,
    typed: bool,
) -> Result<DataFrame, IngestError> {
    let mut exprs = vec![lit(file_idx).cast(DataType::UInt32).alias(FILE_COL), col(ROW_COL).cast(DataType::UInt32)];
    for m in columns {
        match selected.iter().find(|(_, c)| *c == m.column.name) {
            Some((src, c)) if frame.column(src).is_ok_and(|c| c.dtype().is_primitive_numeric()) => {
                exprs.push(col(src.as_str()).alias(*c));
                exprs.push(col(unparsed_col(src)).alias(unparsed_col(c)));
            }
            Some((src, c)) => exprs.push(col(src.as_str()).cast(DataType::String).alias(*c)),
            None => match typed_dtype(m.column.kind).filter(|_| typed) {
                Some(dtype) => {
                    exprs.push(lit(NULL).cast(dtype).alias(m.column.name));
                    exprs.push(lit(false).alias(unparsed_col(m.column.name)));
                }
                None => exprs.push(lit(NULL).cast(DataType::String).alias(m.column.name)),
            },
        }
    }
    frame.lazy().select(exprs).collect().map_err(|e| IngestError::Runtime(e.to_string()))
}

/// Refuses a CSV whose layout cannot be read: not text, not UTF-8, an open quote, a header
/// naming a column it reads twice.
fn check_layout(layout: &Layout, name: &str, columns: &[ColumnMap]) -> Result<(), IngestError> {
    if let Some((found, hint)) = layout::not_text(&layout.head) {
        return Err(IngestError::NotThisFormat { file: name.to_string(), found: found.into(), hint: hint.into() });
    }
    if let Some((row, byte)) = layout.invalid_utf8 {
        return Err(IngestError::NotUtf8 { file: name.to_string(), row, byte });
    }
    if let Some(row) = layout.unterminated_quote {
        return Err(IngestError::UnterminatedQuote { file: name.to_string(), row });
    }
    check_duplicates(&layout.header, columns, name, None, 0)
}

/// Refuses a header that names a column the source reads twice, with both column letters.
fn check_duplicates(
    header: &[String],
    columns: &[ColumnMap],
    file: &str,
    sheet: Option<&str>,
    first_col: usize,
) -> Result<(), IngestError> {
    for m in columns {
        let mut at = header.iter().enumerate().filter(|(_, h)| **h == m.source).map(|(i, _)| i);
        if let (Some(a), Some(b)) = (at.next(), at.next()) {
            return Err(IngestError::DuplicateHeader {
                file: file.to_string(),
                sheet: sheet.map(str::to_string),
                name: m.source.clone(),
                first: layout::column_letter(first_col + a),
                second: layout::column_letter(first_col + b),
            });
        }
    }
    Ok(())
}

/// A CSV file being read: its name as shown, separator, layout and the source's columns.
struct Csv<'a> {
    name: &'a str,
    delimiter: u8,
    layout: &'a Layout,
    columns: &'a [ColumnMap],
}

/// About how many bytes of a CSV file are parsed at a time.
const PIECE: u64 = 16 << 20;

enum Piece {
    Io(std::io::Error),
    Polars(PolarsError),
}

/// Parses one piece strictly, and again with `ignore_errors` only when `tolerant` says the caller
/// wants it and the strict parse fails (a number the reader cannot take). The two give the same
/// frame wherever the strict one succeeds: `ignore_errors` only turns a failure into a null. The
/// strict parse checks the piece's UTF-8 once, not field by field as `ignore_errors` does.
/// `strict` is cleared by the first piece that fails, so a file whose numbers often fail (padded
/// with blanks, say) has its later pieces parsed once, tolerantly, not twice.
fn parse_piece(
    options: &CsvReadOptions,
    bytes: &[u8],
    row: u64,
    tolerant: bool,
    strict: &mut bool,
) -> PolarsResult<DataFrame> {
    let parse = |ignore: bool| {
        options
            .clone()
            .with_ignore_errors(ignore)
            .with_row_index(Some(RowIndex { name: ROW_COL.into(), offset: row as IdxSize }))
            .into_reader_with_file_handle(Cursor::new(bytes))
            .finish()
    };
    if *strict || !tolerant {
        match parse(false) {
            Err(_) if tolerant => *strict = false,
            got => return got,
        }
    }
    parse(true)
}

/// Reads a CSV file a piece at a time (each cut where a record starts, at one of the layout
/// scan's checkpoints, and parsed with the header before it), rather than mapping the whole file
/// into memory: the file's bytes never sit in memory beside its frame. `tolerant`: a piece the
/// strict parse refuses is parsed again with `ignore_errors` (see [`parse_piece`]).
fn read_in_pieces(
    path: &Path,
    layout: &Layout,
    options: CsvReadOptions,
    piece: u64,
    tolerant: bool,
) -> Result<DataFrame, Piece> {
    use std::io::{Read, Seek, SeekFrom};
    let len = fs_err::metadata(path).map_err(Piece::Io)?.len();
    let mut pieces: Vec<(u64, u64, u64)> = Vec::new();
    if let Some(&(mut row, mut start)) = layout.checkpoints.first() {
        for &(r, at) in &layout.checkpoints[1..] {
            if at - start >= piece && at < len {
                pieces.push((row, start, at));
                (row, start) = (r, at);
            }
        }
        pieces.push((row, start, len));
    }
    let mut file = fs_err::File::open(path).map_err(Piece::Io)?;
    let mut frame: Option<DataFrame> = None;
    // One buffer for every piece (not a fresh one the system must clear each time).
    let mut buf = Vec::new();
    let mut strict = true;
    for (row, start, end) in pieces.into_iter().filter(|(_, start, end)| end > start) {
        buf.clear();
        buf.extend_from_slice(&layout.header_line);
        file.seek(SeekFrom::Start(start)).map_err(Piece::Io)?;
        (&mut file).take(end - start).read_to_end(&mut buf).map_err(Piece::Io)?;
        let part = parse_piece(&options, &buf, row, tolerant, &mut strict).map_err(Piece::Polars)?;
        match frame.as_mut() {
            Some(f) => {
                f.vstack_mut_owned(part).map_err(Piece::Polars)?;
            }
            None => frame = Some(part),
        }
    }
    match frame {
        Some(f) => Ok(f),
        // No record: the header alone gives the columns.
        None => parse_piece(&options, &layout.header_line, 2, tolerant, &mut strict).map_err(Piece::Polars),
    }
}

/// The type a typed read gives a contract kind: numbers only.
fn typed_dtype(kind: Kind) -> Option<DataType> {
    match kind {
        Kind::Number => Some(DataType::Float64),
        Kind::Int => Some(DataType::Int64),
        _ => None,
    }
}

/// The source columns a typed read parses in the CSV reader, with their contract column, field
/// index and type: numbers, in a file read from disk (so their text can be read again).
fn typed_columns(
    csv: &Csv<'_>,
    found: &[String],
    selected: &[(String, &'static str)],
    input: &CsvInput<'_>,
) -> Vec<(String, &'static str, usize, DataType)> {
    if !matches!(input, CsvInput::Path(_)) {
        return Vec::new();
    }
    selected
        .iter()
        .filter_map(|(src, contract)| {
            let m = csv.columns.iter().find(|m| m.column.name == *contract)?;
            let dtype = typed_dtype(m.column.kind)?;
            let field = found.iter().position(|h| h == src)?;
            Some((src.clone(), *contract, field, dtype))
        })
        .collect()
}

fn read_csv(
    csv: &Csv<'_>,
    input: CsvInput<'_>,
    file_idx: u32,
    typed: bool,
) -> Result<(DataFrame, Vec<SetAside>, Option<Origin>), IngestError> {
    let &Csv { name, delimiter, layout, columns } = csv;
    check_layout(layout, name, columns)?;
    let unreadable = |e: PolarsError| IngestError::Unreadable { file: name.to_string(), detail: e.to_string() };
    // Ragged records are found by the layout scan and set aside below.
    let options = || {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .map_parse_options(|p| p.with_separator(delimiter).with_truncate_ragged_lines(true))
    };
    // The header first, so a missing column is named before the whole file is parsed.
    let header_line = layout.header_line.as_slice();
    let header = options()
        .with_n_rows(Some(0))
        .into_reader_with_file_handle(Cursor::new(header_line.to_vec()))
        .finish()
        .map_err(unreadable)?;
    let found: Vec<String> = header.get_column_names().iter().map(|c| c.to_string()).collect();
    let selected =
        check_columns(&found, columns, name, None).map_err(|e| wrong_delimiter(e, header_line, delimiter))?;
    let projection: Arc<[PlSmallStr]> = selected.iter().map(|(s, _)| PlSmallStr::from(s.as_str())).collect();
    let typed_absent = typed && matches!(input, CsvInput::Path(_));
    let typed = if typed { typed_columns(csv, &found, &selected, &input) } else { Vec::new() };
    let overwrite: Option<SchemaRef> = (!typed.is_empty()).then(|| {
        Arc::new(typed.iter().map(|(src, _, _, dtype)| Field::new(src.as_str().into(), dtype.clone())).collect())
    });
    // A number the reader cannot parse comes out null (`ignore_errors`, only for the pieces that
    // need it); its text is read again.
    let options = options().with_columns(Some(projection)).with_schema_overwrite(overwrite);
    let path = match &input {
        CsvInput::Path(p) => Some(p.to_path_buf()),
        CsvInput::Bytes(_) => None,
    };
    let frame = match input {
        CsvInput::Bytes(bytes) => parse_piece(&options, &bytes, 2, !typed.is_empty(), &mut true).map_err(unreadable)?,
        CsvInput::Path(path) => {
            read_in_pieces(path, layout, options, PIECE, !typed.is_empty()).map_err(|e| match e {
                Piece::Io(e) => IngestError::Unreadable { file: name.to_string(), detail: e.to_string() },
                Piece::Polars(e) => unreadable(e),
            })?
        }
    };
    tracing::debug!(file = name, rss_mb = super::rss_mb(), "read: parsed");
    if frame.height() as u64 != layout.records {
        return Err(IngestError::Unreadable {
            file: name.to_string(),
            detail: format!(
                "its rows cannot be told apart: {} by one count, {} by another\nhint: a quote `\"` that opens a value must close it",
                layout.records,
                frame.height()
            ),
        });
    }
    // Blank records carry no data (like blank sheet rows); ragged ones are quarantined.
    let set_aside: Vec<u32> =
        layout.blank.iter().chain(layout.ragged.iter().map(|r| &r.row)).map(|r| *r as u32).collect();
    let frame = if set_aside.is_empty() {
        frame
    } else {
        let rows = Series::new("rows".into(), set_aside);
        frame
            .lazy()
            .filter(col(ROW_COL).cast(DataType::UInt32).is_in(lit(rows).implode(false), false).not())
            .collect()
            .map_err(unreadable)?
    };
    let (frame, origin) = match path.filter(|_| !typed.is_empty()) {
        Some(path) => {
            let fields = typed.iter().map(|(_, contract, field, _)| (*contract, *field)).collect();
            let origin = Origin { path, delimiter, checkpoints: layout.checkpoints.clone(), fields };
            (with_fallback(frame, &typed, &origin, name)?, Some(origin))
        }
        None => (frame, None),
    };
    tracing::debug!(file = name, rss_mb = super::rss_mb(), "read: typed values made whole");
    let frame = finish(frame, &selected, columns, file_idx, typed_absent)?;
    tracing::debug!(file = name, rss_mb = super::rss_mb(), "read: columns named");
    Ok((frame, layout.ragged.iter().map(SetAside::from).collect(), origin))
}

/// The typed columns made whole: a value the reader left null (or read as infinite or NaN,
/// which the text path refuses) is judged again from its text in the file, as the text path
/// judges it (trimmed, empty as missing, then parsed), and an `__unparsed_` flag says where that
/// text is not a number. So the frame is the one the text path gives.
fn with_fallback(
    frame: DataFrame,
    typed: &[(String, &'static str, usize, DataType)],
    origin: &Origin,
    name: &str,
) -> Result<DataFrame, IngestError> {
    let err = |e: PolarsError| IngestError::Unreadable { file: name.to_string(), detail: e.to_string() };
    // Only the columns that hold such a value (rare) are rewritten: a copy of a column costs its
    // memory's page faults.
    let not_finite = |src: &str| {
        frame
            .column(src)
            .ok()
            .and_then(|c| c.f64().ok())
            .is_none_or(|ca| ca.downcast_iter().any(|arr| arr.values().iter().any(|v| !v.is_finite())))
    };
    let finite: Vec<Expr> = typed
        .iter()
        .filter(|t| t.3 == DataType::Float64 && not_finite(&t.0))
        .map(|(src, ..)| {
            let x = col(src.as_str());
            when(x.clone().is_finite()).then(x).otherwise(lit(NULL).cast(DataType::Float64)).alias(src.as_str())
        })
        .collect();
    let mut frame = if finite.is_empty() { frame } else { frame.lazy().with_columns(finite).collect().map_err(err)? };
    // The row index as polars numbers it (no copy when it already is `u32`).
    let rows = frame.column(ROW_COL).map_err(err)?.cast(&DataType::UInt32).map_err(err)?;
    let rows = rows.u32().map_err(err)?.clone();
    for (src, _, field, dtype) in typed {
        let values = frame.column(src).map_err(err)?.as_materialized_series().clone();
        let nulls: Vec<usize> = match values.null_count() {
            0 => Vec::new(),
            _ => values.is_null().iter().enumerate().filter_map(|(i, n)| (n == Some(true)).then_some(i)).collect(),
        };
        let mut unparsed = vec![false; frame.height()];
        let values = if nulls.is_empty() {
            values
        } else {
            let wanted: Vec<(u64, usize)> =
                nulls.iter().map(|&i| (u64::from(rows.get(i).unwrap_or(0)), *field)).collect();
            let file = fs_err::File::open(&origin.path)
                .map_err(|e| IngestError::Unreadable { file: name.to_string(), detail: e.to_string() })?;
            let texts = layout::fields_at(file, origin.delimiter, &origin.checkpoints, &wanted)
                .map_err(|e| IngestError::Unreadable { file: name.to_string(), detail: e.to_string() })?;
            let judged = DataFrame::new_infer_height(vec![Column::new("t".into(), texts)])
                .and_then(|df| {
                    let text = super::parse::cleaned("t");
                    df.lazy()
                        .select([
                            super::parse::parse_number(text.clone(), dtype.clone(), false).alias("v"),
                            text.is_not_null().alias("present"),
                        ])
                        .collect()
                })
                .map_err(err)?;
            let parsed = judged.column("v").map_err(err)?.as_materialized_series().clone();
            let present = judged.column("present").map_err(err)?.bool().map_err(err)?.clone();
            for (k, &i) in nulls.iter().enumerate() {
                unparsed[i] = present.get(k) == Some(true) && parsed.get(k).is_ok_and(|v| v.is_null());
            }
            patched(&values, &nulls, &parsed).map_err(err)?
        };
        // In the frame's chunks (see [`super::parse::in_chunks`]).
        let chunks: Vec<usize> = values.chunk_lengths().collect();
        frame.with_column(values.with_name(src.as_str().into()).into_column()).map_err(err)?;
        let unparsed = BooleanChunked::from_slice(unparsed_col(src).into(), &unparsed);
        frame.with_column(super::parse::in_chunks(unparsed, &chunks).into_column()).map_err(err)?;
    }
    Ok(frame)
}

/// `values` with the value at each of `nulls` taken from `parsed` (in the same order).
fn patched(values: &Series, nulls: &[usize], parsed: &Series) -> PolarsResult<Series> {
    fn patch<T: Copy>(mut v: Vec<Option<T>>, nulls: &[usize], get: impl Fn(usize) -> Option<T>) -> Vec<Option<T>> {
        for (k, &i) in nulls.iter().enumerate() {
            v[i] = get(k);
        }
        v
    }
    let name = values.name().clone();
    // In the chunks of `values` (see [`super::parse::in_chunks`]).
    let chunks: Vec<usize> = values.chunk_lengths().collect();
    use super::parse::in_chunks;
    Ok(match values.dtype() {
        DataType::Int64 => {
            let p = parsed.i64()?;
            let v = patch(values.i64()?.iter().collect(), nulls, |k| p.get(k));
            in_chunks(Int64Chunked::from_iter_options(name, v.into_iter()), &chunks).into_series()
        }
        _ => {
            let p = parsed.f64()?;
            let v = patch(values.f64()?.iter().collect(), nulls, |k| p.get(k));
            in_chunks(Float64Chunked::from_iter_options(name, v.into_iter()), &chunks).into_series()
        }
    })
}

/// A missing column whose header splits better at another separator says so.
fn wrong_delimiter(e: IngestError, header_line: &[u8], delimiter: u8) -> IngestError {
    let line = String::from_utf8_lossy(header_line).trim_end().to_string();
    match (e, layout::likely_delimiter(&line, delimiter)) {
        (IngestError::MissingColumns { file, missing, .. }, Some(d)) => IngestError::WrongDelimiter {
            file,
            missing,
            header: line,
            likely: if d == b'\t' { "\\t".into() } else { (d as char).to_string() },
        },
        (e, _) => e,
    }
}

fn read_parquet(
    bytes: Vec<u8>,
    name: &str,
    columns: &[ColumnMap],
    decimal_comma: bool,
    file_idx: u32,
) -> Result<DataFrame, IngestError> {
    let unreadable = |e: PolarsError| IngestError::Unreadable { file: name.to_string(), detail: e.to_string() };
    check_magic(&bytes, name, Expected::Parquet)?;
    let mut reader = ParquetReader::new(Cursor::new(bytes));
    let schema = reader.schema().map_err(unreadable)?;
    let found: Vec<String> = schema.iter_names().map(|c| c.to_string()).collect();
    let selected = check_columns(&found, columns, name, None)?;
    let projection: Vec<String> = selected.iter().map(|(s, _)| s.clone()).collect();
    let frame = reader
        .with_columns(Some(projection))
        .with_row_index(Some(RowIndex { name: ROW_COL.into(), offset: 1 }))
        .finish()
        .map_err(unreadable)?;
    // Typed columns become the text of their contract kind, or are refused by name.
    let mut texts = vec![col(ROW_COL)];
    for (src, contract) in &selected {
        let m = columns.iter().find(|m| m.column.name == *contract).expect("a selected column is mapped");
        let dtype = frame.column(src).map_err(unreadable)?.dtype().clone();
        let text = super::typed::as_text(src, &dtype, m, decimal_comma).map_err(|w| IngestError::ColumnType {
            file: name.to_string(),
            column: shown_column(m),
            stored: w.stored,
            kind: m.column.kind,
        })?;
        texts.push(text.alias(src.as_str()));
    }
    let frame = frame.lazy().select(texts).collect().map_err(unreadable)?;
    finish(frame, &selected, columns, file_idx, false)
}

/// A column as a message names it: the source's name, and the contract's when it differs.
fn shown_column(m: &ColumnMap) -> String {
    if m.source == m.column.name {
        format!("`{}`", m.source)
    } else {
        format!("`{}` (for `{}`)", m.source, m.column.name)
    }
}

/// The text of a cell as the validator reads it. Dates become ISO text; numbers keep their
/// full precision; a date column holding a plain number is read as an Excel serial date.
fn cell_text(cell: &Data, kind: Kind) -> Option<String> {
    let date_format = if kind == Kind::Month { "%Y-%m" } else { "%Y-%m-%d" };
    let is_date = matches!(kind, Kind::Date | Kind::Month);
    match cell {
        Data::Empty => None,
        Data::String(s) => Some(s.clone()),
        Data::Int(i) if is_date => serial_date(*i as f64, date_format),
        Data::Float(f) if is_date => serial_date(*f, date_format),
        Data::Int(i) => Some(i.to_string()),
        Data::Float(f) => Some(f.to_string()),
        Data::Bool(b) => Some(b.to_string()),
        Data::DateTime(d) => d.as_datetime().map(|dt| dt.date().format(date_format).to_string()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Some(s.clone()),
        Data::Error(e) => Some(e.to_string()),
    }
}

fn serial_date(serial: f64, format: &str) -> Option<String> {
    let dt = calamine::ExcelDateTime::new(serial, calamine::ExcelDateTimeType::DateTime, false);
    dt.as_datetime().map(|d| d.date().format(format).to_string())
}

fn read_xlsx(
    bytes: Vec<u8>,
    name: &str,
    sheet: &str,
    header_row: u32,
    columns: &[ColumnMap],
    file_idx: u32,
) -> Result<Parsed, IngestError> {
    check_magic(&bytes, name, Expected::Workbook)?;
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| IngestError::Unreadable { file: name.to_string(), detail: e.to_string() })?;
    let sheets = book.sheet_names();
    if !sheets.iter().any(|s| s == sheet) {
        return Err(IngestError::MissingSheet {
            file: name.to_string(),
            sheet: sheet.to_string(),
            found: sheets.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "),
        });
    }
    let range = book
        .worksheet_range(sheet)
        .map_err(|e| IngestError::Unreadable { file: name.to_string(), detail: e.to_string() })?;
    // Absolute (1-based) row and column of the range's first cell.
    let row0 = range.start().map_or(1, |(r, _)| r + 1);
    let width = range.width();
    let header_idx = header_row.checked_sub(row0).map(|i| i as usize);
    let header: Vec<String> = header_idx
        .and_then(|i| range.rows().nth(i))
        .map(|r| r.iter().map(|c| cell_text(c, Kind::Text).unwrap_or_default().trim().to_string()).collect())
        .unwrap_or_default();
    let selected = check_columns(&header, columns, name, Some(sheet))?;
    check_duplicates(&header, columns, name, Some(sheet), range.start().map_or(0, |(_, c)| c as usize))?;
    let header_idx = header_idx.expect("a header was found");
    let mut rows: Vec<u32> = Vec::new();
    let mut values: Vec<Vec<Option<String>>> = vec![Vec::new(); selected.len()];
    let positions: Vec<(usize, Kind)> = selected
        .iter()
        .map(|(src, contract)| {
            let pos = header.iter().position(|h| h == src).expect("checked");
            let kind = columns.iter().find(|m| m.column.name == *contract).map_or(Kind::Text, |m| m.column.kind);
            (pos, kind)
        })
        .collect();
    let col0 = range.start().map_or(0, |(_, c)| c as usize);
    let letter = |pos: usize| super::layout::column_letter(col0 + pos);
    // Formulas are read only when a mapped cell comes out empty: a formula saved without its
    // value (written by a program that does not calculate) is not an empty cell.
    let mut formulas: Option<calamine::Range<String>> = None;
    let mut aside = Vec::new();
    'rows: for (i, row) in range.rows().enumerate().skip(header_idx + 1) {
        if row.iter().all(|c| matches!(c, Data::Empty)) {
            continue; // a blank line in a spreadsheet carries no data
        }
        let at = row0 + i as u32;
        let texts: Vec<Option<String>> = positions
            .iter()
            .map(|(pos, kind)| row.get(*pos).filter(|_| *pos < width).and_then(|c| cell_text(c, *kind)))
            .collect();
        for (((pos, _), text), (_, contract)) in positions.iter().zip(&texts).zip(&selected) {
            if text.is_some() {
                continue;
            }
            let formulas = formulas
                .get_or_insert_with(|| book.worksheet_formula(sheet).unwrap_or_else(|_| calamine::Range::empty()));
            if let Some(f) = formulas.get_value((at - 1, (col0 + pos) as u32)).filter(|f| !f.is_empty()) {
                let formula = if f.starts_with('=') { f.clone() } else { format!("={f}") };
                aside.push(SetAside {
                    row: u64::from(at),
                    column: contract.to_string(),
                    reason: format!(
                        "holds the formula `{formula}` with no saved value (the program that wrote the file \
                         did not calculate it): open the file in Excel or LibreOffice and save it, or paste \
                         the values"
                    ),
                    value: formula,
                    cell: Some(format!("{}{at}", letter(*pos))),
                });
                continue 'rows;
            }
        }
        rows.push(at);
        for (v, t) in values.iter_mut().zip(texts) {
            v.push(t);
        }
    }
    let mut cols: Vec<Column> = vec![Column::new(ROW_COL.into(), rows)];
    for ((src, _), v) in selected.iter().zip(values) {
        cols.push(Column::new(src.as_str().into(), v));
    }
    let frame = DataFrame::new_infer_height(cols).map_err(|e| IngestError::Runtime(e.to_string()))?;
    let letters =
        selected.iter().zip(&positions).map(|((_, contract), (pos, _))| (contract.to_string(), letter(*pos))).collect();
    Ok((finish(frame, &selected, columns, file_idx, false)?, Some(sheet.to_string()), aside, letters))
}

/// Pulls a URL with a timeout per attempt and retries with exponential backoff on failures that
/// may pass (connection errors, timeouts, 5xx, 429). A 4xx other than 429 is final.
pub async fn fetch(
    url: &str,
    auth: Option<&(String, String)>,
    source: &str,
    timeout: Duration,
    retries: u32,
) -> Result<Vec<u8>, IngestError> {
    crate::install_tls_provider();
    let client =
        reqwest::Client::builder().timeout(timeout).build().map_err(|e| IngestError::Runtime(e.to_string()))?;
    let header = match auth {
        Some((name, var)) => {
            let value = std::env::var(var)
                .map_err(|_| IngestError::AuthEnvMissing { name: source.to_string(), var: var.clone() })?;
            Some((name.clone(), value))
        }
        None => None,
    };
    let mut attempt = 0;
    loop {
        let mut req = client.get(url);
        if let Some((name, value)) = &header {
            req = req.header(name.as_str(), value.as_str());
        }
        let outcome: Result<(), (bool, String)> = match req.send().await {
            Ok(resp) if resp.status().is_success() => match resp.bytes().await {
                Ok(b) => return Ok(b.to_vec()),
                Err(e) => Err((true, format!("the body could not be read: {e}"))),
            },
            Ok(resp) => {
                let status = resp.status();
                let passing = status.is_server_error() || status.as_u16() == 429;
                Err((passing, format!("the server answered {status}")))
            }
            Err(e) if e.is_timeout() => Err((true, format!("no answer within {timeout:?}"))),
            Err(e) => Err((true, format!("could not connect: {e}"))),
        };
        let Err((passing, detail)) = outcome else { unreachable!() };
        if !passing || attempt >= retries {
            return Err(IngestError::Http { url: url.to_string(), attempts: attempt + 1, detail });
        }
        attempt += 1;
        let backoff = Duration::from_millis(200 * 2u64.pow(attempt.min(6) - 1));
        tracing::warn!(url, attempt, %detail, "pull failed, retrying in {} ms", backoff.as_millis());
        tokio::time::sleep(backoff).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_reading_becomes_an_error_naming_the_file() {
        let err = guarded::<()>("data/sales.parquet", || panic!("activate 'dtype-decimal' feature")).unwrap_err();
        assert!(!err.is_user_fault(), "a panic is snop's fault: exit 2");
        assert_eq!(
            err.to_string(),
            "reading `data/sales.parquet` stopped on an internal error (a bug in snop, not a fault of the file): \
             activate 'dtype-decimal' feature\nhint: please report it, with the file if you can share it"
        );
        assert!(guarded("f", || Ok(1)).is_ok_and(|v| v == 1));
    }

    /// A file with quoted values over several lines, `""` quotes, blank and short records, Windows
    /// line ends and no line end at the last record, every field as polars reads it whole.
    const TRICKY: &[u8] = b"id,qty,note\r\n1,5,plain\r\n2,\" 7 \",\"two\r\nlines\"\n3,,\"say \"\"hi\"\"\"\n\n4,x\n5,1e3,\"a,b\"\n6,\"\",\n7,8,last";

    fn whole(path: &Path) -> DataFrame {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_row_index(Some(RowIndex { name: ROW_COL.into(), offset: 2 }))
            .map_parse_options(|p| p.with_truncate_ragged_lines(true))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
            .unwrap()
    }

    /// `t.csv` in `dir`: enough records for several checkpoints, then the tricky ones; its layout
    /// and bytes.
    fn several_checkpoints_then_tricky(dir: &Path) -> (PathBuf, Layout, Vec<u8>) {
        let path = dir.join("t.csv");
        let mut bytes: Vec<u8> = b"id,qty,note\n".to_vec();
        for i in 0..700 {
            bytes.extend_from_slice(format!("{i},{},\"n{i}\"\n", i % 13).as_bytes());
        }
        bytes.extend_from_slice(&TRICKY[13..]);
        fs_err::write(&path, &bytes).unwrap();
        let layout = Scanner::scan(&bytes, b',');
        (path, layout, bytes)
    }

    #[test]
    fn a_file_read_in_pieces_is_the_file_read_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let (path, layout, _) = several_checkpoints_then_tricky(tmp.path());
        assert_eq!(layout.checkpoints.len(), 3, "{:?}", layout.checkpoints);
        let options = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .map_parse_options(|p| p.with_truncate_ragged_lines(true));
        let want = whole(&path);
        for piece in [1, 1000, 5000, PIECE] {
            let Ok(got) = read_in_pieces(&path, &layout, options.clone(), piece, false) else {
                panic!("piece {piece}")
            };
            assert!(got.equals_missing(&want), "piece {piece}:\n{got}\n{want}");
        }
    }

    /// Numbers read typed: the pieces parsed strictly, and again with `ignore_errors` only where
    /// that fails, give the frame a read of the whole file with `ignore_errors` gives (`x`, ` 7 `
    /// and `1e3` are not integers: null), whichever pieces hold the bad values.
    #[test]
    fn typed_pieces_parsed_strictly_first_are_the_tolerant_read() {
        let tmp = tempfile::tempdir().unwrap();
        let (path, layout, bytes) = several_checkpoints_then_tricky(tmp.path());
        let schema: SchemaRef = Arc::new(Schema::from_iter([Field::new("qty".into(), DataType::Int64)]));
        let options = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_schema_overwrite(Some(schema))
            .map_parse_options(|p| p.with_truncate_ragged_lines(true));
        let want = options
            .clone()
            .with_ignore_errors(true)
            .with_row_index(Some(RowIndex { name: ROW_COL.into(), offset: 2 }))
            .try_into_reader_with_file_path(Some(path.clone()))
            .and_then(|r| r.finish())
            .unwrap();
        let qty = want.column("qty").unwrap();
        assert_eq!(qty.dtype(), &DataType::Int64);
        // Rows 704 (` 7 `), 706 (empty), 707 (`x`), 708 (`1e3`), 709 (`""`) and the blank line.
        assert_eq!(qty.null_count(), 6, "{want}");
        let mut strict = true;
        assert!(parse_piece(&options, &bytes, 2, false, &mut strict).is_err(), "the strict parse refuses `x`");
        let got = parse_piece(&options, &bytes, 2, true, &mut strict).unwrap();
        assert!(got.equals_missing(&want) && !strict, "once a piece fails, the next are parsed tolerantly");
        assert!(parse_piece(&options, &bytes, 2, true, &mut strict).unwrap().equals_missing(&want));
        for piece in [1, 1000, 5000, PIECE] {
            let Ok(got) = read_in_pieces(&path, &layout, options.clone(), piece, true) else { panic!("piece {piece}") };
            assert!(got.equals_missing(&want), "piece {piece}:\n{got}\n{want}");
        }
    }

    #[test]
    fn a_field_read_again_is_the_text_polars_reads() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("t.csv");
        fs_err::write(&path, TRICKY).unwrap();
        let layout = Scanner::scan(TRICKY, b',');
        let want = whole(&path);
        let rows: Vec<u64> =
            want.column(ROW_COL).unwrap().cast(&DataType::UInt64).unwrap().u64().unwrap().into_no_null_iter().collect();
        for (field, name) in ["id", "qty", "note"].into_iter().enumerate() {
            let wanted: Vec<(u64, usize)> = rows.iter().rev().map(|r| (*r, field)).collect();
            let file = fs_err::File::open(&path).unwrap();
            let mut got = layout::fields_at(file, b',', &layout.checkpoints, &wanted).unwrap();
            got.reverse();
            let polars: Vec<Option<String>> =
                want.column(name).unwrap().str().unwrap().iter().map(|v| v.map(str::to_string)).collect();
            // An empty field is missing or empty text, by who reads it: the same to the validator.
            let got: Vec<Option<String>> = got.into_iter().map(|v| v.filter(|v| !v.is_empty())).collect();
            let polars: Vec<Option<String>> = polars.into_iter().map(|v| v.filter(|v| !v.is_empty())).collect();
            assert_eq!(got, polars, "{name}");
        }
    }
}
