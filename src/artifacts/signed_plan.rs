//! The signed plan as people and the ERP read it.
//!
//! [`erp_export`]: the plan in the ERP's columns (`[export]` in `pipelines/executive.toml`), as
//! CSV and as `.xlsx` (sheet `Signed plan`), in one of two layouts. `sales_orders` (the default)
//! is the `open_orders` table of the data contract (`order_id`, `sku`, `customer`,
//! `requested_month`, `qty`) plus the line, plant and unit of measure, under the ERP's own
//! column names (the reverse of a source's `columns` mapping, so a source with the same mapping
//! reads the file back): one document per customer and month, numbered with 10 digits (the
//! cycle's `YYMM` and a 6-digit sequence, as SAP's `VBELN`), its lines numbered 10, 20, ... with
//! 6 digits (`POSNR`), the month as `YYYYMM` (`SPMON`). `planned_independent_requirements` is
//! SAP's MD61 upload: per material, plant and month, customers (and launch volume not yet given
//! to one) summed. Quantities of discrete items are whole pieces, rounded down. Launch volume not
//! yet given to a customer (`*`) is left out of the sales orders: the ERP books by customer.
//!
//! [`signed_plan_xlsx`]: the workbook a person reads: the agenda, the plan by family and by
//! customer per month, the decisions and what each changed, and every plan line.

use std::collections::BTreeMap;

use polars::prelude::{Column, DataFrame, PolarsResult};
use rust_xlsxwriter::{Format, Workbook};

use super::xlsx::{EXCEL_MAX_ROWS, Formats, SheetNames, Value, paged_table, sheet_pages, table, text};
use crate::analysis::executive::{Choice, DecisionLog, SignedPlanRow};
use crate::analysis::signed_plan::{DecisionChange, ItemInfo, PlanSummary, booked_quantity, is_discrete};
use crate::config::{Export, ExportLayout};
use crate::contract::Month;

/// The sheet the `.xlsx` export writes (then `Signed plan (2)` and on, each with the header,
/// when the lines are more than a sheet holds; the CSV is always one file).
pub const SHEET: &str = "Signed plan";

/// The columns of the planned-independent-requirements layout, SAP's names: material, plant,
/// requirements type, version, period indicator (`M`: months), period (`YYYYMM`), quantity,
/// unit of measure.
pub const PIR_COLUMNS: [&str; 8] = ["MATNR", "WERKS", "BEDAE", "VERSB", "ENTLU", "PDATU", "PLNMG", "MEINS"];

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

/// The export's files and what it left out.
#[derive(Debug)]
pub struct ErpExport {
    pub csv: Vec<u8>,
    pub xlsx: Vec<u8>,
    /// Lines of launch volume not yet given to a customer (sales orders only).
    pub unassigned: usize,
    /// Lines of a discrete item under one piece, which round down to nothing.
    pub under_one_piece: usize,
    /// Make sites with no plant code in `[export] plants`, written as they are.
    pub sites_without_plant: Vec<String>,
}

/// `YYYYMM`, SAP's period.
fn period(month: &str) -> String {
    month.replace('-', "")
}

/// One cell: its text, and its number when it is a quantity.
type Cell = (String, Option<f64>);

/// The export in the layout `[export] layout` names (see the module's doc).
pub fn erp_export(
    rows: &[SignedPlanRow],
    items: &BTreeMap<String, ItemInfo>,
    export: &Export,
    cycle: Month,
) -> anyhow::Result<ErpExport> {
    let info = |sku: &str| items.get(sku).cloned().unwrap_or_default();
    let mut missing = std::collections::BTreeSet::new();
    let mut plant = |site: &str| match export.plants.get(site) {
        Some(p) => p.clone(),
        None => {
            missing.insert(site.to_string());
            site.to_string()
        }
    };
    let unassigned = crate::analysis::demand::UNASSIGNED;
    let mut under_one_piece = 0;
    let mut out = ErpExport {
        csv: Vec::new(),
        xlsx: Vec::new(),
        unassigned: 0,
        under_one_piece: 0,
        sites_without_plant: Vec::new(),
    };
    let (header, lines): (Vec<String>, Vec<Vec<Cell>>) = match export.layout {
        ExportLayout::SalesOrders => {
            out.unassigned = rows.iter().filter(|r| r.planned_units > 0.0 && r.customer == unassigned).count();
            let mut kept: Vec<(&SignedPlanRow, f64)> = Vec::new();
            for r in rows.iter().filter(|r| r.planned_units > 0.0 && r.customer != unassigned) {
                let q = booked_quantity(r.planned_units, &info(&r.sku).uom);
                if q > 0.0 { kept.push((r, q)) } else { under_one_piece += 1 }
            }
            kept.sort_by(|a, b| (&a.0.customer, &a.0.month, &a.0.sku).cmp(&(&b.0.customer, &b.0.month, &b.0.sku)));
            let mut lines = Vec::with_capacity(kept.len());
            let (mut document, mut item, mut last) = (0u32, 0u32, None);
            for (r, q) in kept {
                if last != Some((&r.customer, &r.month)) {
                    (document, item, last) = (document + 1, 0, Some((&r.customer, &r.month)));
                    anyhow::ensure!(
                        document <= 999_999,
                        "the signed plan of {cycle} needs more than 999,999 sales documents: a 10-digit document number holds `YYMM` and 6 digits"
                    );
                }
                item += 10;
                anyhow::ensure!(
                    item <= 999_999,
                    "a sales document of {} in {} has more than 99,999 lines: the line number holds 6 digits",
                    r.customer,
                    r.month
                );
                let i = info(&r.sku);
                let doc = format!("{:02}{:02}{document:06}", cycle.year().rem_euclid(100), cycle.month());
                let cells: Vec<Cell> = export
                    .columns
                    .iter()
                    .map(|(contract, _)| match contract.as_str() {
                        "order_id" => (doc.clone(), None),
                        "line" => (format!("{item:06}"), None),
                        "sku" => (r.sku.clone(), None),
                        "customer" => (r.customer.clone(), None),
                        "requested_month" => (period(&r.month), None),
                        "plant" => (plant(&i.site), None),
                        "uom" => (i.uom.to_uppercase(), None),
                        _ => (number(q, export.decimal_comma), Some(q)),
                    })
                    .collect();
                lines.push(cells);
            }
            (export.columns.iter().map(|(_, erp)| erp.clone()).collect(), lines)
        }
        ExportLayout::PlannedIndependentRequirements => {
            let mut sums: BTreeMap<(&str, &str), f64> = BTreeMap::new();
            for r in rows.iter().filter(|r| r.planned_units > 0.0) {
                *sums.entry((r.sku.as_str(), r.month.as_str())).or_default() += r.planned_units;
            }
            let mut lines = Vec::with_capacity(sums.len());
            for ((sku, month), units) in sums {
                let i = info(sku);
                let q = booked_quantity(units, &i.uom);
                if q <= 0.0 {
                    under_one_piece += 1;
                    continue;
                }
                lines.push(vec![
                    (sku.to_string(), None),
                    (plant(&i.site), None),
                    (export.requirements_type.clone(), None),
                    (export.version.clone(), None),
                    ("M".to_string(), None),
                    (period(month), None),
                    (number(q, export.decimal_comma), Some(q)),
                    (i.uom.to_uppercase(), None),
                ]);
            }
            (PIR_COLUMNS.iter().map(|c| c.to_string()).collect(), lines)
        }
    };
    out.under_one_piece = under_one_piece;
    out.sites_without_plant = missing.into_iter().collect();
    let d = export.delimiter;
    let sep = (d as char).to_string();
    let mut csv = String::new();
    csv.push_str(&header.iter().map(|h| csv_field(h, d, false)).collect::<Vec<_>>().join(&sep));
    csv.push('\n');
    for cells in &lines {
        csv.push_str(&cells.iter().map(|(s, n)| csv_field(s, d, n.is_some())).collect::<Vec<_>>().join(&sep));
        csv.push('\n');
    }
    out.xlsx = export_xlsx(&header, &lines, EXCEL_MAX_ROWS)?;
    out.csv = csv.into_bytes();
    Ok(out)
}

/// The export's workbook: the lines under the header on as many sheets as `max_rows` needs.
fn export_xlsx(header: &[String], lines: &[Vec<Cell>], max_rows: u32) -> anyhow::Result<Vec<u8>> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let mut names = SheetNames::default();
    for (k, page) in sheet_pages(lines.len(), 1, 1, 1, max_rows).into_iter().enumerate() {
        let sheet = book.add_worksheet().set_name(names.name(SHEET, k))?;
        for (c, h) in header.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, h, &bold)?;
            sheet.set_column_width(c as u16, 12)?;
        }
        for (i, cells) in lines[page].iter().enumerate() {
            for (c, (s, num)) in cells.iter().enumerate() {
                match num {
                    Some(x) => sheet.write_number(i as u32 + 1, c as u16, *x)?,
                    None => sheet.write_string(i as u32 + 1, c as u16, s)?,
                };
            }
        }
    }
    Ok(book.save_to_buffer()?)
}

/// What the signed plan's workbook is made of.
pub struct PlanBook<'a> {
    pub cycle: Month,
    pub company: &'a str,
    pub rows: &'a [SignedPlanRow],
    pub items: &'a BTreeMap<String, ItemInfo>,
    pub summary: &'a PlanSummary,
    pub log: &'a DecisionLog,
    pub changes: &'a [DecisionChange],
    pub agenda: Option<&'a crate::draft::Agenda>,
}

/// The signed plan as a workbook a person reads: the agenda first, then the plan by family and
/// by customer (planned units per month, with a total row), the decisions and what each changed,
/// and every plan line (discrete items in whole pieces, as the ERP gets them; `Plan lines (2)`
/// and on when they are more than a sheet holds). Deterministic bytes.
pub fn signed_plan_xlsx(b: &PlanBook<'_>) -> anyhow::Result<Vec<u8>> {
    plan_book(b, EXCEL_MAX_ROWS)
}

fn plan_book(b: &PlanBook<'_>, max_rows: u32) -> anyhow::Result<Vec<u8>> {
    let cycle = b.cycle.to_string();
    let mut book = super::xlsx::workbook(&format!("Signed plan {cycle}"), b.company, &cycle)?;
    let formats = Formats { number: Format::new().set_num_format("#,##0"), ..Formats::standard() };
    if let Some(a) = b.agenda {
        super::xlsx::agenda_sheet(&mut book, a)?;
    }
    for (name, first, rows) in
        [("By family", "Family", &b.summary.by_family), ("By customer", "Customer", &b.summary.by_customer)]
    {
        let mut columns: Vec<(&str, f64)> = vec![(first, 22.0)];
        columns.extend(b.summary.months.iter().map(|m| (m.as_str(), 11.0)));
        columns.extend([("Planned", 13.0), ("Requested", 13.0), ("Short", 13.0)]);
        let mut total = vec![0.0; b.summary.months.len()];
        let (mut planned, mut requested) = (0.0, 0.0);
        let mut cells: Vec<Vec<Value>> = rows
            .iter()
            .map(|r| {
                for (t, x) in total.iter_mut().zip(&r.planned) {
                    *t += x;
                }
                planned += r.planned_total;
                requested += r.requested_total;
                let mut row = vec![text(&r.name)];
                row.extend(r.planned.iter().map(|x| Value::Num(*x)));
                row.extend([
                    Value::Num(r.planned_total),
                    Value::Num(r.requested_total),
                    Value::Num(r.requested_total - r.planned_total),
                ]);
                row
            })
            .collect();
        let mut last = vec![text("Total")];
        last.extend(total.into_iter().map(Value::Num));
        last.extend([Value::Num(planned), Value::Num(requested), Value::Num(requested - planned)]);
        cells.push(last);
        let n = cells.len() as u32;
        let sheet = book.add_worksheet().set_name(name)?;
        table(sheet, &formats, &columns, cells)?;
        sheet.set_row_format(n, &Format::new().set_bold())?;
    }
    decisions_sheet(&mut book, &formats, b)?;
    lines_sheet(&mut book, &formats, b, max_rows)?;
    Ok(book.save_to_buffer()?)
}

/// The Decisions sheet: each trade-off and resolved gap, what was decided, by whom, what it does
/// and the planned units of the SKUs it hits in its month before and after the decisions.
fn decisions_sheet(book: &mut Workbook, formats: &Formats, b: &PlanBook<'_>) -> anyhow::Result<()> {
    let changes: BTreeMap<&str, &DecisionChange> = b.changes.iter().map(|c| (c.tradeoff_id.as_str(), c)).collect();
    let rows = b
        .log
        .lines
        .iter()
        .map(|l| {
            let change = changes.get(l.tradeoff_id.as_str());
            let (decision, by) = match &l.decision {
                Some(d) => {
                    let what = match &d.choice {
                        Choice::Option { option } => option.replace('_', " "),
                        Choice::Action { text } => format!("action: {text}"),
                        Choice::SendBack { reason } => format!("sent back: {reason}"),
                    };
                    let cites = d.scenario.as_ref().map_or(String::new(), |s| format!(" (cites scenario {s})"));
                    (format!("{what}{cites}"), d.decided_by.clone())
                }
                None if l.kind == "resolved" => ("resolved by the leads".to_string(), String::new()),
                None => ("not decided".to_string(), String::new()),
            };
            vec![
                text(&l.tradeoff_id),
                text(&l.kind),
                text(&l.place),
                text(&l.month),
                Value::Num(l.margin_at_risk_money),
                text(decision),
                text(by),
                text(&l.effect),
                change.map_or(Value::Empty, |c| Value::Num(c.before_units)),
                change.map_or(Value::Empty, |c| Value::Num(c.after_units)),
                change.map_or(Value::Empty, |c| Value::Num(c.after_units - c.before_units)),
            ]
        })
        .collect();
    let sheet = book.add_worksheet().set_name("Decisions")?;
    table(
        sheet,
        formats,
        &[
            ("Trade-off", 22.0),
            ("Kind", 10.0),
            ("Where", 24.0),
            ("Month", 9.0),
            ("Margin at risk", 14.0),
            ("Decision", 30.0),
            ("Decided by", 14.0),
            ("What it does", 50.0),
            ("Planned before", 13.0),
            ("Planned after", 13.0),
            ("Change", 11.0),
        ],
        rows,
    )?;
    Ok(())
}

/// The Plan lines sheet: every SKU x customer x month, its family and unit, what was asked and
/// what the plan gives (whole pieces for discrete items), and the constraint behind a shortfall.
fn lines_sheet(book: &mut Workbook, formats: &Formats, b: &PlanBook<'_>, max_rows: u32) -> anyhow::Result<()> {
    let rows = b
        .rows
        .iter()
        .map(|r| {
            let i = b.items.get(&r.sku).cloned().unwrap_or_default();
            let planned = if is_discrete(&i.uom) { booked_quantity(r.planned_units, &i.uom) } else { r.planned_units };
            vec![
                text(&r.sku),
                text(i.family),
                text(&r.customer),
                text(&r.month),
                text(i.uom),
                Value::Num(r.requested_units),
                Value::Num(planned),
                text(r.constraint.clone().unwrap_or_default()),
            ]
        })
        .collect();
    paged_table(
        book,
        "Plan lines",
        formats,
        &[
            ("SKU", 14.0),
            ("Family", 20.0),
            ("Customer", 14.0),
            ("Month", 9.0),
            ("Unit", 6.0),
            ("Requested", 12.0),
            ("Planned", 12.0),
            ("Constraint", 50.0),
        ],
        rows,
        max_rows,
    )?;
    Ok(())
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

    fn items() -> BTreeMap<String, ItemInfo> {
        BTreeMap::from([
            ("P-1".to_string(), ItemInfo { family: "pumps".into(), uom: "kg".into(), site: "LEEDS".into() }),
            ("P-2".to_string(), ItemInfo { family: "pumps".into(), uom: "ea".into(), site: "BRNO".into() }),
        ])
    }

    fn sap() -> Export {
        Export {
            delimiter: b';',
            decimal_comma: true,
            columns: vec![
                ("order_id".into(), "VBELN".into()),
                ("line".into(), "POSNR".into()),
                ("sku".into(), "MATNR".into()),
                ("customer".into(), "KUNNR".into()),
                ("requested_month".into(), "SPMON".into()),
                ("qty".into(), "KWMENG".into()),
                ("plant".into(), "WERKS".into()),
                ("uom".into(), "VRKME".into()),
            ],
            plants: BTreeMap::from([("LEEDS".to_string(), "1000".to_string())]),
            ..Export::default()
        }
    }

    /// By hand: C1 gets 7.5 kg of P-1 and 2.9 pieces of P-2 in January (one document, two lines;
    /// 2 whole pieces), C2 0.4 pieces of P-2 (under one piece: left out) and nothing of P-1;
    /// `*` 3 kg (unassigned: left out). BRNO has no plant code: written as it is, and named.
    #[test]
    fn the_export_speaks_sap_documents_periods_plants_and_whole_pieces() {
        let mut p2 = row("C1", 2.9);
        p2.sku = "P-2".into();
        let mut small = row("C2", 0.4);
        small.sku = "P-2".into();
        let rows = [row("C1", 7.5), p2, row("*", 3.0), row("C2", 0.0), small];
        let out = erp_export(&rows, &items(), &sap(), Month::parse("2026-12").unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(out.csv).unwrap(),
            "VBELN;POSNR;MATNR;KUNNR;SPMON;KWMENG;WERKS;VRKME\n\
             2612000001;000010;P-1;C1;202701;7,5;1000;KG\n\
             2612000001;000020;P-2;C1;202701;2;BRNO;EA\n"
        );
        assert_eq!((out.unassigned, out.under_one_piece), (1, 1));
        assert_eq!(out.sites_without_plant, ["BRNO"]);
    }

    /// The planned-independent-requirements layout sums customers (the unassigned launch volume
    /// too: a requirement is not a customer's): P-1 in January 7.5 + 3 = 10.5 kg at plant 1000;
    /// P-2 2.9 + 0.4 = 3.3 pieces, 3 whole.
    #[test]
    fn planned_independent_requirements_sum_customers_per_material_plant_and_month() {
        let mut p2 = row("C1", 2.9);
        p2.sku = "P-2".into();
        let mut small = row("C2", 0.4);
        small.sku = "P-2".into();
        let rows = [row("C1", 7.5), p2, row("*", 3.0), small];
        let export = Export { layout: ExportLayout::PlannedIndependentRequirements, ..sap() };
        let out = erp_export(&rows, &items(), &export, Month::parse("2026-12").unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(out.csv).unwrap(),
            "MATNR;WERKS;BEDAE;VERSB;ENTLU;PDATU;PLNMG;MEINS\n\
             P-1;1000;LSF;00;M;202701;10,5;KG\n\
             P-2;BRNO;LSF;00;M;202701;3;EA\n"
        );
    }

    /// Text that a spreadsheet would run is escaped; quantities stay numbers. Read back as a
    /// CSV reader (and Excel) reads it.
    #[test]
    fn formula_like_text_is_escaped_and_numbers_are_not() {
        use polars::prelude::*;
        let mut evil = row("=HYPERLINK(\"http://x.example\",\"open\")", 2.5);
        evil.sku = "-P1".into();
        let export = Export { decimal_comma: true, ..Export::default() };
        let out = erp_export(&[evil, row("+C2", 1.0)], &items(), &export, Month::parse("2027-01").unwrap()).unwrap();
        let df = CsvReadOptions::default()
            .with_infer_schema_length(Some(0))
            .into_reader_with_file_handle(std::io::Cursor::new(out.csv))
            .finish()
            .unwrap();
        let text =
            |c: &str| df.column(c).unwrap().str().unwrap().iter().map(|v| v.unwrap().to_string()).collect::<Vec<_>>();
        // Documents by customer: `+C2` sorts before `=HYPERLINK...`.
        assert_eq!(text("customer"), ["'+C2", "'=HYPERLINK(\"http://x.example\",\"open\")"]);
        assert_eq!(text("sku"), ["P-1", "'-P1"]);
        assert_eq!(text("qty"), ["1", "2,5"], "a number is written as a number, quoted only for the separator");
    }

    /// Five export lines on sheets of three rows (the header and two lines): `Signed plan`,
    /// `(2)`, `(3)`, each with the header, every line once and in order, quantities as numbers.
    #[test]
    fn a_long_export_goes_on_as_many_sheets_as_it_needs() {
        use calamine::{DataType as _, Reader as _};
        let header = ["KUNNR".to_string(), "KWMENG".to_string()];
        let lines: Vec<Vec<Cell>> =
            (0..5).map(|i| vec![(format!("C{i}"), None), (i.to_string(), Some(f64::from(i)))]).collect();
        let bytes = export_xlsx(&header, &lines, 3).unwrap();
        let mut read = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(read.sheet_names(), ["Signed plan", "Signed plan (2)", "Signed plan (3)"]);
        let mut seen = Vec::new();
        for name in read.sheet_names() {
            let range = read.worksheet_range(&name).unwrap();
            let mut rows = range.rows();
            assert_eq!(rows.next().unwrap().iter().map(|c| c.to_string()).collect::<Vec<_>>(), header, "{name}");
            for r in rows {
                assert_eq!(r[1].get_float(), Some(seen.len() as f64), "{name}: a quantity is a number");
                seen.push(r[0].to_string());
            }
        }
        assert_eq!(seen, ["C0", "C1", "C2", "C3", "C4"]);
    }
}
