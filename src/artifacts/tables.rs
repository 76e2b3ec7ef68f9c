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
    let mut names: Vec<&String> = Vec::new();
    for r in records {
        for k in r.keys() {
            if !names.contains(&k) {
                names.push(k);
            }
        }
    }
    let null = serde_json::Value::Null;
    let columns = names
        .iter()
        .map(|name| {
            let values = records.iter().map(|r| r.get(name.as_str()).unwrap_or(&null));
            if values.clone().all(|v| v.is_number() || v.is_null()) {
                Column::new(name.as_str().into(), values.map(serde_json::Value::as_f64).collect::<Vec<_>>())
            } else {
                let text: Vec<Option<String>> = values.map(|v| (!v.is_null()).then(|| review::cell_text(v))).collect();
                Column::new(name.as_str().into(), text)
            }
        })
        .collect::<Vec<_>>();
    Ok(DataFrame::new(records.len(), columns)?)
}

/// The run's files for the tables of `facts_json` (the bytes of its `facts.json`):
/// `tables/<key>.parquet` each.
pub fn files(facts_json: &[u8]) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let facts: serde_json::Value = serde_json::from_slice(facts_json)?;
    let mut files = Vec::new();
    for mut t in of_facts(&facts)? {
        // Our own facts' keys are snake_case; anything else would not make a safe file name.
        if t.key.is_empty() || !t.key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            continue;
        }
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes).finish(&mut t.frame)?;
        files.push((format!("{FOLDER}{}.parquet", t.key), bytes));
    }
    Ok(files)
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
        let bytes = serde_json::to_vec(&facts()).unwrap();
        let files = files(&bytes).unwrap();
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
