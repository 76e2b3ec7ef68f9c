//! The facts' tables as polars frames, for the draft page of `snop serve` to page and filter.
//!
//! Every run that writes `facts.json` also writes each of its tables as
//! `tables/<key>.parquet` beside it (numbers as Float64, everything else as the text the
//! artifact shows). The draft holds their hashes like any other file of the run, so the page
//! reads a verified Parquet file instead of parsing the whole `facts.json`: at 50,000 series the
//! supply plan's facts are hundreds of MB of JSON, its constrained plan a million rows.

use std::io::Cursor;

use polars::prelude::*;

use super::review::{self, TableCell};
use crate::analysis::supply::SupplyFacts;

/// The folder of a run that holds its tables.
pub const FOLDER: &str = "tables/";

/// One table of the facts.
#[derive(Debug, Clone)]
pub struct FrameTable {
    /// The key in the facts (`constrained_plan`).
    pub key: String,
    pub frame: DataFrame,
}

impl FrameTable {
    /// As people read it (`constrained plan`).
    pub fn title(&self) -> String {
        self.key.replace('_', " ")
    }

    /// The column names as people read them.
    pub fn columns(&self) -> Vec<String> {
        self.frame.get_column_names().iter().map(|c| c.replace('_', " ")).collect()
    }
}

/// Every table of the facts: each list of records, and the plain values of each record of
/// records as a one-row table (its own lists of records are tables of their own, `log_lines` for
/// the `lines` of `log`), in the order of the facts' keys. A column whose values are all numbers
/// (or missing) is Float64; any other is the text the artifact shows for each value.
pub fn of_facts(facts: &serde_json::Value) -> anyhow::Result<Vec<FrameTable>> {
    let mut tables = Vec::new();
    if let Some(map) = facts.as_object() {
        for (key, value) in map {
            collect(key, value, &mut tables)?;
        }
    }
    Ok(tables)
}

fn collect(key: &str, value: &serde_json::Value, tables: &mut Vec<FrameTable>) -> anyhow::Result<()> {
    match value {
        serde_json::Value::Array(items) if items.first().is_some_and(serde_json::Value::is_object) => {
            let records: Vec<_> = items.iter().filter_map(serde_json::Value::as_object).collect();
            tables.push(FrameTable { key: key.to_string(), frame: frame(&records)? });
        }
        serde_json::Value::Object(inner) => {
            let nested = |v: &serde_json::Value| {
                v.is_object() || v.as_array().is_some_and(|a| a.first().is_some_and(serde_json::Value::is_object))
            };
            let plain: serde_json::Map<String, serde_json::Value> =
                inner.iter().filter(|(_, v)| !nested(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
            if !plain.is_empty() {
                tables.push(FrameTable { key: key.to_string(), frame: frame(&[&plain])? });
            }
            for (k, v) in inner.iter().filter(|(_, v)| nested(v)) {
                collect(&format!("{key}_{k}"), v, tables)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The frame of a list of records: a column per key, in order of first appearance.
fn frame(records: &[&serde_json::Map<String, serde_json::Value>]) -> anyhow::Result<DataFrame> {
    let mut columns = Columns::default();
    for r in records {
        columns.push(r.iter().map(|(k, v)| (k.as_str(), v.clone())));
    }
    columns.finish()
}

/// The frame of typed records (a struct of plain fields each), the same frame `of_facts` makes
/// of their serialized list: every row goes through serde's data model into values, one row at
/// a time, never through JSON text, so a table of millions of rows costs its columns, not a
/// document. A nested field is the text the artifact shows for it.
pub fn frame_of<T: serde::Serialize>(rows: &[T]) -> anyhow::Result<DataFrame> {
    let mut columns = Columns::default();
    for row in rows {
        match serde_json::to_value(row)? {
            serde_json::Value::Object(map) => columns.push(map.into_iter()),
            other => anyhow::bail!("a table's row must be a record, not `{other}`"),
        }
    }
    columns.finish()
}

/// The typed records of a frame `frame_of` made (read back from `tables/<key>.parquet`): each
/// row's cells as values, deserialized into `T`. Lossless for records of text, numbers and
/// their options (a whole number is read as an integer, so integer fields read too); a field
/// the artifact showed as text (a list, a record) does not read back.
pub fn rows_of<T: serde::de::DeserializeOwned>(frame: &DataFrame) -> anyhow::Result<Vec<T>> {
    enum Cells<'a> {
        Numbers(&'a Float64Chunked),
        Texts(&'a StringChunked),
    }
    let mut columns = Vec::new();
    for c in frame.columns() {
        let cells = match c.dtype() {
            DataType::Float64 => Cells::Numbers(c.f64()?),
            DataType::String => Cells::Texts(c.str()?),
            other => anyhow::bail!("column `{}` is {other}: a table's columns are numbers or text", c.name()),
        };
        columns.push((c.name().to_string(), cells));
    }
    let number = |x: f64| {
        let whole = x.fract() == 0.0 && x.abs() < 9.0e15 && (x != 0.0 || x.is_sign_positive());
        if whole { serde_json::Value::from(x as i64) } else { serde_json::Value::from(x) }
    };
    (0..frame.height())
        .map(|i| {
            let map: serde_json::Map<String, serde_json::Value> = columns
                .iter()
                .map(|(name, cells)| {
                    let value = match cells {
                        Cells::Numbers(c) => c.get(i).map_or(serde_json::Value::Null, number),
                        Cells::Texts(c) => c.get(i).map_or(serde_json::Value::Null, |s| s.into()),
                    };
                    (name.clone(), value)
                })
                .collect();
            serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| anyhow::anyhow!("row {}: {e}", i + 1))
        })
        .collect()
}

/// The columns of a table as its records arrive: a column per key in order of first
/// appearance, numbers while every value is a number (or missing), else the text the artifact
/// shows for each value.
#[derive(Default)]
struct Columns {
    names: Vec<String>,
    cells: Vec<Cells>,
    rows: usize,
}

enum Cells {
    Numbers(Vec<Option<f64>>),
    Texts(Vec<Option<String>>),
}

impl Columns {
    fn push<K: AsRef<str> + Into<String>>(&mut self, record: impl Iterator<Item = (K, serde_json::Value)>) {
        for (key, value) in record {
            let at = match self.names.iter().position(|n| n == key.as_ref()) {
                Some(at) => at,
                None => {
                    self.names.push(key.into());
                    self.cells.push(Cells::Numbers(Vec::new()));
                    self.cells.len() - 1
                }
            };
            let cells = &mut self.cells[at];
            // Missing in the rows before: null there.
            let filled = match cells {
                Cells::Numbers(v) => v.len(),
                Cells::Texts(v) => v.len(),
            };
            for _ in filled..self.rows {
                cells.push_null();
            }
            cells.push(value);
        }
        self.rows += 1;
    }

    fn finish(self) -> anyhow::Result<DataFrame> {
        let rows = self.rows;
        let columns = self
            .names
            .into_iter()
            .zip(self.cells)
            .map(|(name, mut cells)| {
                loop {
                    let len = match &cells {
                        Cells::Numbers(v) => v.len(),
                        Cells::Texts(v) => v.len(),
                    };
                    if len >= rows {
                        break;
                    }
                    cells.push_null();
                }
                match cells {
                    Cells::Numbers(v) => Column::new(name.into(), v),
                    Cells::Texts(v) => Column::new(name.into(), v),
                }
            })
            .collect::<Vec<_>>();
        Ok(DataFrame::new(rows, columns)?)
    }
}

impl Cells {
    fn push_null(&mut self) {
        match self {
            Cells::Numbers(v) => v.push(None),
            Cells::Texts(v) => v.push(None),
        }
    }

    fn push(&mut self, value: serde_json::Value) {
        match (&mut *self, value) {
            (_, serde_json::Value::Null) => self.push_null(),
            (Cells::Numbers(v), serde_json::Value::Number(n)) => v.push(n.as_f64()),
            (Cells::Numbers(v), other) => {
                // The first value that is not a number: the column is text, numbers as shown.
                let text = v.iter().map(|x| x.map(|x| review::cell_text(&serde_json::Value::from(x)))).collect();
                *self = Cells::Texts(text);
                self.push(other);
            }
            (Cells::Texts(v), serde_json::Value::String(s)) => v.push(Some(s)),
            (Cells::Texts(v), other) => v.push(Some(review::cell_text(&other))),
        }
    }
}

/// The run's files for the tables of `facts` (the value its `facts.json` is written from):
/// `tables/<key>.parquet` each.
pub fn files(facts: &serde_json::Value) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for t in of_facts(facts)? {
        // Our own facts' keys are snake_case; anything else would not make a safe file name.
        if t.key.is_empty() || !t.key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            continue;
        }
        files.push(file(&t.key, t.frame)?);
    }
    Ok(files)
}

/// The run's file of one table: `tables/<key>.parquet`.
pub fn file(key: &str, mut frame: DataFrame) -> anyhow::Result<(String, Vec<u8>)> {
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes).finish(&mut frame)?;
    Ok((format!("{FOLDER}{key}.parquet"), bytes))
}

/// The supply facts' tables that grow with SKUs x customers x months (a million plan lines at
/// 50,000 series): written to `tables/<key>.parquet` from the typed rows and left out of
/// `facts.json`, which keeps what the prompts, agendas, pages and later agents read besides.
pub const SUPPLY_TABLES: [&str; 2] = ["constrained_plan", "requirements"];

/// Takes the large tables out of supply facts (`SUPPLY_TABLES`) and gives their Parquet files.
pub fn take_supply_tables(facts: &mut SupplyFacts) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let plan = std::mem::take(&mut facts.constrained_plan);
    let requirements = std::mem::take(&mut facts.requirements);
    Ok(vec![file(SUPPLY_TABLES[0], frame_of(&plan)?)?, file(SUPPLY_TABLES[1], frame_of(&requirements)?)?])
}

/// Puts the large tables back into supply facts read from `facts.json`, from the run's files
/// (`file` gives a file's bytes by name, `None` when the run has none): what
/// `take_supply_tables` took. Facts that still hold a table (a run from before they moved) keep it.
pub fn restore_supply_tables(
    facts: &mut SupplyFacts,
    mut file: impl FnMut(&str) -> anyhow::Result<Option<Vec<u8>>>,
) -> anyhow::Result<()> {
    let mut frame = |key: &str| -> anyhow::Result<Option<DataFrame>> {
        let name = format!("{FOLDER}{key}.parquet");
        let Some(bytes) = file(&name)? else { return Ok(None) };
        Ok(Some(read(&name, bytes).map_err(|e| anyhow::anyhow!("reading `{name}`: {e}"))?.frame))
    };
    if facts.constrained_plan.is_empty()
        && let Some(f) = frame(SUPPLY_TABLES[0])?
    {
        facts.constrained_plan =
            rows_of(&f).map_err(|e| anyhow::anyhow!("`{FOLDER}{}.parquet`: {e}", SUPPLY_TABLES[0]))?;
    }
    if facts.requirements.is_empty()
        && let Some(f) = frame(SUPPLY_TABLES[1])?
    {
        facts.requirements = rows_of(&f).map_err(|e| anyhow::anyhow!("`{FOLDER}{}.parquet`: {e}", SUPPLY_TABLES[1]))?;
    }
    Ok(())
}

/// A table read back from its file's bytes (`name` is `tables/<key>.parquet`).
pub fn read(name: &str, bytes: Vec<u8>) -> anyhow::Result<FrameTable> {
    let key = name.strip_prefix(FOLDER).and_then(|n| n.strip_suffix(".parquet")).unwrap_or(name);
    Ok(FrameTable { key: key.to_string(), frame: ParquetReader::new(Cursor::new(bytes)).finish()? })
}

/// The rows of `table` whose `column` contains `value` (case-insensitive) for every filter.
/// `None` when nothing filters: the table as it is.
pub fn filtered(table: &FrameTable, filters: &[(&str, String)]) -> anyhow::Result<Option<DataFrame>> {
    let Some(keep) = filters
        .iter()
        .map(|(column, value)| {
            col(*column).cast(DataType::String).str().to_lowercase().str().contains_literal(lit(value.to_lowercase()))
        })
        .reduce(Expr::and)
    else {
        return Ok(None);
    };
    Ok(Some(table.frame.clone().lazy().filter(keep).collect()?))
}

/// The cells of `rows` rows of `frame` from `start`, as the page shows them.
pub fn cells(frame: &DataFrame, start: usize, rows: usize) -> Vec<Vec<TableCell>> {
    let page = frame.slice(start as i64, rows);
    let columns: Vec<Vec<TableCell>> = page
        .columns()
        .iter()
        .map(|c| match c.dtype() {
            DataType::Float64 => c
                .f64()
                .map(|v| {
                    v.iter()
                        .map(|x| match x {
                            Some(x) => TableCell { text: review::format_number(x), num: true },
                            None => TableCell { text: String::new(), num: false },
                        })
                        .collect()
                })
                .unwrap_or_default(),
            _ => match c.cast(&DataType::String) {
                Ok(s) => s
                    .str()
                    .map(|v| {
                        v.iter().map(|x| TableCell { text: shortened(x.unwrap_or_default()), num: false }).collect()
                    })
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            },
        })
        .collect();
    (0..page.height())
        .map(|i| {
            columns.iter().map(|c| c.get(i).cloned().unwrap_or(TableCell { text: String::new(), num: false })).collect()
        })
        .collect()
}

/// A cell's text as a page shows it: at most `LONGEST` characters (a list of 3,400 customers is
/// in the Parquet file and the workbook, not in one table cell of a page).
fn shortened(text: &str) -> String {
    const LONGEST: usize = 500;
    match text.char_indices().nth(LONGEST) {
        Some((at, _)) => {
            let rest = text[at..].chars().count();
            format!("{}… ({rest} more characters)", &text[..at])
        }
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> serde_json::Value {
        serde_json::json!({
            "total_units": 12.5,
            "constrained_plan": [
                {"sku": "AC-0005", "customer": "C10001", "family": "actuators", "units": 15.0},
                {"sku": "AC-0013", "customer": "<b>C10002</b>", "family": "actuators", "units": 5.5},
                {"sku": "SE-0001", "customer": "C10001", "family": "seal-kits", "units": null, "note": "late"},
            ],
            "params": {"horizon": 18, "site": "LEEDS", "lines": [{"line": "L1", "note": "x".repeat(600)}]},
            "mixed": [{"a": 1}, {"a": "two"}],
        })
    }

    #[test]
    fn tables_round_trip_through_parquet_with_the_cells_the_artifact_shows() {
        let files = files(&facts()).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "tables/constrained_plan.parquet",
                "tables/mixed.parquet",
                "tables/params.parquet",
                "tables/params_lines.parquet"
            ]
        );
        let plan = read(&files[0].0, files[0].1.clone()).unwrap();
        assert_eq!(plan.title(), "constrained plan");
        assert_eq!(plan.columns(), ["customer", "family", "sku", "units", "note"]);
        // The same cells as the artifact's own table of the same facts.
        let table = review::tables(&facts()).into_iter().find(|t| t.title == "constrained plan").unwrap();
        let text = |rows: Vec<Vec<TableCell>>| -> Vec<Vec<(String, bool)>> {
            rows.into_iter().map(|r| r.into_iter().map(|c| (c.text, c.num)).collect()).collect()
        };
        assert_eq!(text(cells(&plan.frame, 0, 50)), text(table.rows));
        assert_eq!(text(cells(&plan.frame, 2, 50))[0][4], ("late".to_string(), false));
        // A column of numbers and text is text; a nested record is a one-row table.
        let mixed = read(&files[1].0, files[1].1.clone()).unwrap();
        assert_eq!(text(cells(&mixed.frame, 0, 5)), [[("1".to_string(), false)], [("two".to_string(), false)]]);
        // A record of records: its plain values one row, its list of records a table of its own.
        let params = read(&files[2].0, files[2].1.clone()).unwrap();
        assert_eq!((params.frame.height(), params.columns()), (1, vec!["horizon".to_string(), "site".to_string()]));
        let lines = read(&files[3].0, files[3].1.clone()).unwrap();
        assert_eq!(lines.title(), "params lines");
        // A long text is shortened on the page, whole in the file.
        let note = &cells(&lines.frame, 0, 1)[0][1].text;
        assert_eq!(note, &format!("{}… (100 more characters)", "x".repeat(500)));
        assert_eq!(lines.frame.column("note").unwrap().str().unwrap().get(0).map(str::len), Some(600));
    }

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Line {
        sku: String,
        units: f64,
        priority: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        budget: Option<f64>,
    }

    fn lines() -> Vec<Line> {
        let line = |sku: &str, units, priority, note: Option<&str>, budget| Line {
            sku: sku.into(),
            units,
            priority,
            note: note.map(str::to_string),
            budget,
        };
        vec![
            line("AC-0005", 15.0, 1, None, None),
            line("AC-0013", 0.1 + 0.2, -3, Some("late"), Some(2.5)),
            line("SE-0001", -0.0, 7, None, Some(1e300)),
        ]
    }

    #[test]
    fn typed_rows_make_the_frame_their_serialized_list_made_and_read_back_whole() {
        let rows = lines();
        let typed = frame_of(&rows).unwrap();
        // What the facts' JSON of the same list gave before: the same frame, column for column.
        let facts = serde_json::json!({ "lines": rows });
        let from_json = of_facts(&facts).unwrap().remove(0).frame;
        assert!(typed.equals_missing(&from_json), "{typed}\n{from_json}");
        // Columns in the facts' (sorted) key order; `note` is missing from the first row: null.
        assert_eq!(
            FrameTable { key: "lines".into(), frame: typed.clone() }.columns(),
            ["budget", "priority", "sku", "units", "note"]
        );
        assert_eq!(typed.column("note").unwrap().str().unwrap().get(0), None);
        // Through Parquet and back into the typed rows: every value as it was, to the bit
        // (0.1 + 0.2 is not 0.3; -0.0 keeps its sign), integers read as integers.
        let (name, bytes) = file("lines", typed).unwrap();
        assert_eq!(name, "tables/lines.parquet");
        let back: Vec<Line> = rows_of(&read(&name, bytes).unwrap().frame).unwrap();
        assert_eq!(back, rows);
        assert_eq!(back[1].units.to_bits(), (0.1f64 + 0.2).to_bits());
        assert!(back[2].units.is_sign_negative());
        // A row that does not read names its row.
        let text = frame_of(&[serde_json::json!({"sku": "A", "units": "many"})]).unwrap();
        let err = rows_of::<Line>(&text).unwrap_err().to_string();
        assert!(err.starts_with("row 1: "), "{err}");
    }

    #[test]
    fn filters_are_case_insensitive_substrings_and_all_must_hold() {
        let plan = of_facts(&facts()).unwrap().remove(0);
        assert!(filtered(&plan, &[]).unwrap().is_none());
        let one = filtered(&plan, &[("customer", "c10001".into()), ("family", "SEAL".into())]).unwrap().unwrap();
        assert_eq!(cells(&one, 0, 10).iter().map(|r| r[2].text.as_str()).collect::<Vec<_>>(), ["SE-0001"]);
        let markup = filtered(&plan, &[("customer", "<b>".into())]).unwrap().unwrap();
        assert_eq!(markup.height(), 1);
        let none = filtered(&plan, &[("customer", "nobody".into())]).unwrap().unwrap();
        assert_eq!(none.height(), 0);
    }
}
