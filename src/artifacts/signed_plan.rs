//! The signed plan's export for the ERP: one line per SKU x customer x month the plan gives
//! volume to, as the `open_orders` table of the data contract (`order_id`, `sku`, `customer`,
//! `requested_month`, `qty`) under the ERP's own column names (`[export]` in
//! `pipelines/executive.toml`: the reverse of a source's `columns` mapping, so a source with the
//! same mapping reads the file back). As CSV and as `.xlsx` (sheet `Signed plan`). Launch volume
//! not yet given to a customer (`*`) is left out: the ERP books by customer.

use polars::prelude::{Column, DataFrame, PolarsResult};
use rust_xlsxwriter::{Format, Workbook};

use crate::analysis::executive::SignedPlanRow;
use crate::config::Export;
use crate::contract::Month;

/// The sheet the `.xlsx` export writes.
pub const SHEET: &str = "Signed plan";

fn number(x: f64, decimal_comma: bool) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    if decimal_comma { s.replace('.', ",") } else { s }
}

/// A text cell of the CSV: formula-like text escaped (`super::csv_text`), then quoted when it
/// holds the separator, a quote or a line end. Quantities are numbers and are written as they
/// are (a negative one stays a number).
fn csv_field(s: &str, delimiter: u8, number: bool) -> String {
    let s = if number { s.into() } else { super::csv_text(s) };
    if s.contains([delimiter as char, '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.into() }
}

/// The export as (CSV bytes, `.xlsx` bytes, lines left out as unassigned).
pub fn erp_export(rows: &[SignedPlanRow], export: &Export, cycle: Month) -> anyhow::Result<(Vec<u8>, Vec<u8>, usize)> {
    let unassigned = crate::analysis::demand::UNASSIGNED;
    let kept: Vec<&SignedPlanRow> = rows.iter().filter(|r| r.planned_units > 0.0 && r.customer != unassigned).collect();
    let left_out = rows.iter().filter(|r| r.planned_units > 0.0 && r.customer == unassigned).count();
    let values = |i: usize, r: &SignedPlanRow| -> Vec<(String, Option<f64>)> {
        export
            .columns
            .iter()
            .map(|(contract, _)| match contract.as_str() {
                "order_id" => (format!("SOP-{cycle}-{:06}", i + 1), None),
                "sku" => (r.sku.clone(), None),
                "customer" => (r.customer.clone(), None),
                "requested_month" => (r.month.clone(), None),
                _ => (number(r.planned_units, export.decimal_comma), Some(r.planned_units)),
            })
            .collect()
    };
    let d = export.delimiter;
    let mut csv = String::new();
    let header: Vec<String> = export.columns.iter().map(|(_, erp)| csv_field(erp, d, false)).collect();
    csv.push_str(&header.join(&(d as char).to_string()));
    csv.push('\n');
    let mut book = Workbook::new();
    let sheet = book.add_worksheet().set_name(SHEET)?;
    let bold = Format::new().set_bold();
    for (c, (_, erp)) in export.columns.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, erp, &bold)?;
    }
    for (i, r) in kept.iter().enumerate() {
        let vals = values(i, r);
        let line: Vec<String> = vals.iter().map(|(s, num)| csv_field(s, d, num.is_some())).collect();
        csv.push_str(&line.join(&(d as char).to_string()));
        csv.push('\n');
        for (c, (s, num)) in vals.into_iter().enumerate() {
            match num {
                Some(x) => sheet.write_number(i as u32 + 1, c as u16, x)?,
                None => sheet.write_string(i as u32 + 1, c as u16, s)?,
            };
        }
    }
    Ok((csv.into_bytes(), book.save_to_buffer()?, left_out))
}

/// The signed plan as a frame: the interface the commit-back agent reads
/// (`signed-plan.parquet`).
pub fn signed_plan_frame(rows: &[SignedPlanRow]) -> PolarsResult<DataFrame> {
    DataFrame::new_infer_height(vec![
        Column::new("sku".into(), rows.iter().map(|r| r.sku.as_str()).collect::<Vec<_>>()),
        Column::new("customer".into(), rows.iter().map(|r| r.customer.as_str()).collect::<Vec<_>>()),
        Column::new("month".into(), rows.iter().map(|r| r.month.as_str()).collect::<Vec<_>>()),
        Column::new("requested_units".into(), rows.iter().map(|r| r.requested_units).collect::<Vec<_>>()),
        Column::new("planned_units".into(), rows.iter().map(|r| r.planned_units).collect::<Vec<_>>()),
        Column::new("constraint".into(), rows.iter().map(|r| r.constraint.clone()).collect::<Vec<_>>()),
        Column::new("gap_id".into(), rows.iter().map(|r| r.gap_id.clone()).collect::<Vec<_>>()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(customer: &str, planned: f64) -> SignedPlanRow {
        SignedPlanRow {
            sku: "P-1".into(),
            customer: customer.into(),
            month: "2027-01".into(),
            requested_units: 10.0,
            planned_units: planned,
            constraint: None,
            gap_id: None,
        }
    }

    #[test]
    fn the_export_speaks_the_erps_columns_and_leaves_out_unassigned_and_empty_lines() {
        let export = Export {
            delimiter: b';',
            decimal_comma: true,
            columns: vec![
                ("order_id".into(), "VBELN".into()),
                ("sku".into(), "MATNR".into()),
                ("customer".into(), "KUNNR".into()),
                ("requested_month".into(), "SPMON".into()),
                ("qty".into(), "KWMENG".into()),
            ],
        };
        let rows = [row("C1", 7.5), row("*", 3.0), row("C2", 0.0)];
        let (csv, _, left_out) = erp_export(&rows, &export, Month::parse("2027-01").unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "VBELN;MATNR;KUNNR;SPMON;KWMENG\nSOP-2027-01-000001;P-1;C1;2027-01;7,5\n"
        );
        assert_eq!(left_out, 1);
    }

    /// Text that a spreadsheet would run is escaped; quantities stay numbers. Read back as a
    /// CSV reader (and Excel) reads it.
    #[test]
    fn formula_like_text_is_escaped_and_numbers_are_not() {
        use polars::prelude::*;
        let mut evil = row("=HYPERLINK(\"http://x.example\",\"open\")", 2.5);
        evil.sku = "-P1".into();
        let export = Export { decimal_comma: true, ..Export::default() };
        let (csv, _, _) = erp_export(&[evil, row("+C2", 1.0)], &export, Month::parse("2027-01").unwrap()).unwrap();
        let df = CsvReadOptions::default()
            .with_infer_schema_length(Some(0))
            .into_reader_with_file_handle(std::io::Cursor::new(csv))
            .finish()
            .unwrap();
        let text =
            |c: &str| df.column(c).unwrap().str().unwrap().iter().map(|v| v.unwrap().to_string()).collect::<Vec<_>>();
        assert_eq!(text("customer"), ["'=HYPERLINK(\"http://x.example\",\"open\")", "'+C2"]);
        assert_eq!(text("sku"), ["'-P1", "P-1"]);
        assert_eq!(text("qty"), ["2,5", "1"], "a number is written as a number, quoted only for the separator");
    }
}
