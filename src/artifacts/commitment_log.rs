//! The customer commitment log as the workbook the account managers receive and send back: the
//! "Log" sheet (one row per line, its id first; the columns they may edit marked and the
//! status a drop-down list; the lines that break booked orders first), "By customer" (one row
//! per customer, a total, and what the noise threshold and the firm horizon left out), "To book"
//! (volume the plan commits beyond the order book inside the firm horizon) and
//! "Last cycle" (last cycle's commitments scored and the orders taken outside its plan).
//! A returned workbook is read back by ingest as the `commitment_updates` table, through the
//! column names below (`pipelines/commit-back.toml` maps them). Deterministic bytes.

use rust_xlsxwriter::{Color, DataValidation, DataValidationErrorStyle, Format, FormatBorder, Workbook, XlsxError};

use super::xlsx::{Formats, Value, table, text, workbook};
use crate::analysis::commitments::{CommitmentLog, LoopFacts, Outcome, Outside, STATUSES};

/// The sheet the account managers edit and ingest reads back.
pub const LOG_SHEET: &str = "Log";

/// The sheet with one row per customer.
pub const BY_CUSTOMER_SHEET: &str = "By customer";

/// The Log sheet's columns: (header, width, editable by the account manager).
pub const LOG_COLUMNS: [(&str, f64, bool); 14] = [
    ("Line", 14.0, false),
    ("Customer", 16.0, false),
    ("SKU", 14.0, false),
    ("Month", 9.0, false),
    ("Requested", 11.0, false),
    ("Committed", 11.0, true),
    ("Moved to", 9.0, false),
    ("On order", 10.0, false),
    ("Orders not covered", 11.0, false),
    ("Constraint", 36.0, false),
    ("Owner", 14.0, true),
    ("Status", 15.0, true),
    ("Note", 40.0, true),
    ("Communicate by", 13.0, false),
];

/// The Log sheet's column index of the column named `name`.
fn column(name: &str) -> u16 {
    LOG_COLUMNS.iter().position(|c| c.0 == name).expect("a log column") as u16
}

/// One row of a returned log: what an account manager changes on a line of the Log sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnedRow {
    pub line_id: String,
    pub status: String,
    pub committed: f64,
    pub note: Option<String>,
    pub owner: String,
}

/// A returned log as `.xlsx` bytes: the Log sheet with the columns ingest reads back (Line,
/// Status, Committed, Note, Owner), as a person sends the workbook back. Deterministic bytes.
pub fn returned_log_xlsx(rows: &[ReturnedRow]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let fixed = rust_xlsxwriter::ExcelDateTime::from_ymd(2000, 1, 1)?;
    book.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&fixed));
    let sheet = book.add_worksheet().set_name(LOG_SHEET)?;
    for (c, h) in ["Line", "Status", "Committed", "Note", "Owner"].iter().enumerate() {
        debug_assert!(LOG_COLUMNS.iter().any(|(name, _, _)| name == h));
        sheet.write_string(0, c as u16, *h)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, &row.line_id)?;
        sheet.write_string(r, 1, &row.status)?;
        sheet.write_number(r, 2, row.committed)?;
        if let Some(note) = &row.note {
            sheet.write_string(r, 3, note)?;
        }
        sheet.write_string(r, 4, &row.owner)?;
    }
    book.save_to_buffer()
}

/// Renders the log (and last cycle's score, when there is one) as `.xlsx` bytes.
pub fn commitment_log_xlsx(
    log: &CommitmentLog,
    last: Option<&LoopFacts>,
    company: &str,
    agenda: Option<&crate::draft::Agenda>,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = workbook(&format!("Customer commitment log {}", log.cycle), company, &log.cycle)?;
    let header = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDE4EE))
        .set_border_bottom(FormatBorder::Thin)
        .set_text_wrap();
    let number = Format::new().set_num_format("#,##0.00");
    let formats = Formats { header, number, percent: Format::new() };
    log_sheet(&mut book, &formats, log)?;
    by_customer_sheet(&mut book, &formats, log)?;
    to_book_sheet(&mut book, &formats, log)?;
    if let Some(f) = last {
        last_cycle_sheet(&mut book, &formats, f)?;
        last_cycle_commitments_sheet(&mut book, &formats, f)?;
    }
    if let Some(a) = agenda {
        super::xlsx::agenda_sheet(&mut book, a)?;
    }
    book.save_to_buffer()
}

/// The Log sheet: one row per line, the columns the account managers may edit marked, the
/// status a drop-down list and the committed quantity checked.
fn log_sheet(book: &mut Workbook, formats: &Formats, log: &CommitmentLog) -> Result<(), XlsxError> {
    let (header, number) = (&formats.header, &formats.number);
    let editable_header = header.clone().set_background_color(Color::RGB(0xFFE699));
    let editable = Format::new().set_background_color(Color::RGB(0xFFF2CC));
    let editable_number = editable.clone().set_num_format("#,##0.00");

    let sheet = book.add_worksheet().set_name(LOG_SHEET)?;
    for (c, (name, width, edit)) in LOG_COLUMNS.iter().enumerate() {
        let c = c as u16;
        sheet.write_string_with_format(0, c, *name, if *edit { &editable_header } else { header })?;
        sheet.set_column_width(c, *width)?;
    }
    for (r, l) in log.lines.iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write_string(r, column("Line"), &l.line_id)?;
        sheet.write_string(r, column("Customer"), &l.customer)?;
        sheet.write_string(r, column("SKU"), &l.sku)?;
        sheet.write_string(r, column("Month"), &l.month)?;
        sheet.write_number_with_format(r, column("Requested"), l.requested, number)?;
        sheet.write_number_with_format(r, column("Committed"), l.committed, &editable_number)?;
        if let Some(m) = &l.moved_to {
            sheet.write_string(r, column("Moved to"), m)?;
        }
        sheet.write_number_with_format(r, column("On order"), l.open_order_units, number)?;
        sheet.write_number_with_format(r, column("Orders not covered"), l.orders_not_covered, number)?;
        sheet.write_string(r, column("Constraint"), &l.constraint)?;
        sheet.write_string_with_format(r, column("Owner"), &l.owner, &editable)?;
        sheet.write_string_with_format(r, column("Status"), &l.status, &editable)?;
        sheet.write_string_with_format(r, column("Note"), l.note.as_deref().unwrap_or_default(), &editable)?;
        sheet.write_string(r, column("Communicate by"), &l.communicate_by)?;
    }
    let last_row = (log.lines.len() as u32).max(1);
    let status = DataValidation::new()
        .allow_list_strings(&STATUSES)?
        .set_error_style(DataValidationErrorStyle::Stop)
        .set_error_title("Status")?
        .set_error_message(format!("The status is one of: {}.", STATUSES.join(", ")))?
        .set_input_title("Status")?
        .set_input_message("Pick the line's status. Change Committed only with a Note saying why.")?;
    sheet.add_data_validation(1, column("Status"), last_row, column("Status"), &status)?;
    let quantity = DataValidation::new()
        .allow_decimal_number(rust_xlsxwriter::DataValidationRule::GreaterThanOrEqualTo(0.0))
        .set_error_message("The committed quantity is a number of units, 0 or more.")?;
    sheet.add_data_validation(1, column("Committed"), last_row, column("Committed"), &quantity)?;
    sheet.set_freeze_panes(1, 1)?;
    sheet.autofilter(0, 0, last_row, LOG_COLUMNS.len() as u16 - 1)?;
    Ok(())
}

/// The By customer sheet: one row per customer (what its account manager has to say to it), a
/// total row, and what the noise threshold and the firm horizon left out of the log.
fn by_customer_sheet(book: &mut Workbook, formats: &Formats, log: &CommitmentLog) -> Result<(), XlsxError> {
    let row = |c: &crate::analysis::commitments::CustomerSummary| {
        vec![
            text(&c.customer),
            text(&c.owner),
            Value::Num(f64::from(c.lines)),
            Value::Num(f64::from(c.lines_breaking_orders)),
            Value::Num(c.requested),
            Value::Num(c.committed),
            Value::Num(c.short_units),
            Value::Num(c.orders_not_covered),
            Value::Num(c.to_book_units),
        ]
    };
    let mut rows: Vec<Vec<Value>> = log.by_customer.iter().map(row).collect();
    let mut total = crate::analysis::commitments::CustomerSummary { customer: "Total".into(), ..Default::default() };
    for c in &log.by_customer {
        total.lines += c.lines;
        total.lines_breaking_orders += c.lines_breaking_orders;
        total.requested += c.requested;
        total.committed += c.committed;
        total.short_units += c.short_units;
        total.orders_not_covered += c.orders_not_covered;
        total.to_book_units += c.to_book_units;
    }
    let n = rows.len() as u32;
    rows.push(row(&total));
    let sheet = book.add_worksheet().set_name(BY_CUSTOMER_SHEET)?;
    table(
        sheet,
        formats,
        &[
            ("Customer", 16.0),
            ("Account manager", 16.0),
            ("Lines", 8.0),
            ("Lines breaking orders", 11.0),
            ("Requested", 13.0),
            ("Committed", 13.0),
            ("Short", 13.0),
            ("Orders not covered", 13.0),
            ("To book", 13.0),
        ],
        rows,
    )?;
    sheet.set_row_format(n + 1, &Format::new().set_bold())?;
    let o = &log.left_out;
    let notes = [
        format!(
            "Left out as noise (short by less than {} units, breaking no booked order by as much): {} lines, {:.2} units",
            log.min_units, o.lines_below_min_units, o.units_below_min_units
        ),
        format!(
            "To book through {} (the firm horizon); {} lines ({:.2} units) after it are forecast, not yet orders to take; {} to book under {} units left out",
            log.book_through,
            o.to_book_beyond_horizon,
            o.units_beyond_horizon,
            o.to_book_below_min_units,
            log.min_units
        ),
    ];
    for (i, note) in notes.iter().enumerate() {
        sheet.write_string(n + 3 + i as u32, 0, note)?;
    }
    Ok(())
}

/// The To book sheet: the volume the plan commits beyond the order book, per customer, SKU and
/// month, with its account manager.
fn to_book_sheet(book: &mut Workbook, formats: &Formats, log: &CommitmentLog) -> Result<(), XlsxError> {
    let rows = log
        .to_book
        .iter()
        .map(|t| {
            vec![
                text(&t.customer),
                text(&t.sku),
                text(&t.month),
                Value::Num(t.planned),
                Value::Num(t.open_order_units),
                Value::Num(t.to_book),
                text(&t.owner),
            ]
        })
        .collect();
    table(
        book.add_worksheet().set_name("To book")?,
        formats,
        &[
            ("Customer", 16.0),
            ("SKU", 14.0),
            ("Month", 9.0),
            ("Planned", 11.0),
            ("On order", 11.0),
            ("To book", 11.0),
            ("Account manager", 16.0),
        ],
        rows,
    )?;
    Ok(())
}

/// The Last cycle sheet: last cycle's commitments and its orders against the signed plan in two
/// lines, then the orders taken outside the plan.
fn last_cycle_sheet(book: &mut Workbook, formats: &Formats, f: &LoopFacts) -> Result<(), XlsxError> {
    let (header, number) = (&formats.header, &formats.number);
    let sheet = book.add_worksheet().set_name("Last cycle")?;
    let o = &f.orders;
    let summary = [
        format!(
            "Commitments of {}{}: {} kept, {} missed (by {:.2} units), {} re-negotiated, {} not yet due",
            f.scored_cycle,
            if f.log_signed { "" } else { " (log not signed)" },
            f.kept,
            f.missed,
            f.missed_units,
            f.renegotiated,
            f.not_yet_due
        ),
        format!(
            "Order lines against its signed plan: {} in all, {} inside, {} beyond plan, {} without plan; {:.2} of {:.2} units outside the plan",
            o.order_lines,
            o.lines_inside_plan,
            o.lines_beyond_plan,
            o.lines_without_plan,
            o.units_outside_plan,
            o.units_ordered
        ),
    ];
    for (r, line) in summary.iter().enumerate() {
        sheet.write_string(r as u32, 0, line)?;
    }
    let top = summary.len() as u32 + 1;
    let orders: [(&str, f64); 9] = [
        ("Order", 14.0),
        ("Customer", 16.0),
        ("SKU", 14.0),
        ("Month", 9.0),
        ("Quantity", 11.0),
        ("Planned", 11.0),
        ("Outside plan", 12.0),
        ("Why", 14.0),
        ("Account manager", 16.0),
    ];
    for (c, (name, width)) in orders.iter().enumerate() {
        sheet.write_string_with_format(top, c as u16, *name, header)?;
        sheet.set_column_width(c as u16, *width)?;
    }
    for (i, x) in f.orders_outside_plan.iter().enumerate() {
        let r = top + 1 + i as u32;
        sheet.write_string(r, 0, &x.order_id)?;
        sheet.write_string(r, 1, &x.customer)?;
        sheet.write_string(r, 2, &x.sku)?;
        sheet.write_string(r, 3, &x.month)?;
        sheet.write_number_with_format(r, 4, x.qty, number)?;
        sheet.write_number_with_format(r, 5, x.planned, number)?;
        sheet.write_number_with_format(r, 6, x.units_outside, number)?;
        sheet.write_string(r, 7, if x.outside == Outside::NoPlan { "no plan" } else { "beyond plan" })?;
        sheet.write_string(r, 8, &x.account_manager)?;
    }
    Ok(())
}

/// The Last cycle commitments sheet: each of last cycle's lines scored (kept, missed,
/// re-negotiated, not yet due).
fn last_cycle_commitments_sheet(book: &mut Workbook, formats: &Formats, f: &LoopFacts) -> Result<(), XlsxError> {
    let rows = f
        .commitments
        .iter()
        .map(|c| {
            vec![
                text(&c.line_id),
                text(&c.customer),
                text(&c.sku),
                text(&c.month),
                text(&c.owner),
                Value::Num(c.committed),
                Value::Num(c.shipped),
                Value::Num(c.ordered),
                text(match c.outcome {
                    Outcome::Kept => "kept",
                    Outcome::Missed => "missed",
                    Outcome::Renegotiated => "re-negotiated",
                    Outcome::NotYetDue => "not yet due",
                }),
                Value::Num(c.missed_units),
            ]
        })
        .collect();
    table(
        book.add_worksheet().set_name("Last cycle commitments")?,
        formats,
        &[
            ("Line", 14.0),
            ("Customer", 16.0),
            ("SKU", 14.0),
            ("Month", 9.0),
            ("Owner", 14.0),
            ("Committed", 11.0),
            ("Shipped", 11.0),
            ("On order", 11.0),
            ("Outcome", 13.0),
            ("Missed by", 11.0),
        ],
        rows,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use calamine::{Reader, Xlsx};

    use super::*;
    use crate::analysis::commitments::{PlanRow, commitment_log, loop_facts};
    use crate::contract::Month;

    /// A log of one line, and a last cycle with one order beyond plan: the workbook has the Log
    /// (line id first, editable columns marked), To book, and the two Last cycle sheets with the
    /// order named; identical inputs give identical bytes.
    #[test]
    fn the_workbook_carries_the_log_and_last_cycle() {
        let m = |s: &str| Month::parse(s).unwrap();
        let plan = vec![PlanRow {
            sku: "X".into(),
            customer: "A".into(),
            month: m("2027-01"),
            requested_units: 10.0,
            planned_units: 6.0,
            constraint: Some("capacity".into()),
        }];
        let owners = BTreeMap::from([("A".to_string(), "ann".to_string())]);
        let log = commitment_log(m("2026-12"), &plan, &[], &owners, "2026-12-20", &Default::default());
        let order = crate::analysis::commitments::OrderLine {
            order_id: "SO-7".into(),
            sku: "X".into(),
            customer: "A".into(),
            month: m("2027-01"),
            qty: 9.0,
        };
        let last = loop_facts(m("2027-01"), &log, true, &plan, &[], &[order], &owners);
        let bytes = commitment_log_xlsx(&log, Some(&last), "Acme", None).unwrap();
        assert_eq!(bytes, commitment_log_xlsx(&log, Some(&last), "Acme", None).unwrap());
        let mut book = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(book.sheet_names(), vec!["Log", "By customer", "To book", "Last cycle", "Last cycle commitments"]);
        let sheet = book.worksheet_range("Log").unwrap();
        assert_eq!(sheet.get((0, 0)).unwrap().to_string(), "Line");
        assert_eq!(sheet.get((1, 0)).unwrap().to_string(), "2026-12-0001");
        assert_eq!(sheet.get((1, column("Status") as usize)).unwrap().to_string(), "to communicate");
        let last_sheet = book.worksheet_range("Last cycle").unwrap();
        // 9 ordered against 6 planned: 3 beyond plan, named by order with its account manager.
        assert!(last_sheet.get((0, 0)).unwrap().to_string().contains("0 kept, 0 missed"));
        assert_eq!(last_sheet.get((4, 0)).unwrap().to_string(), "SO-7");
        assert_eq!(last_sheet.get((4, 6)).unwrap().to_string(), "3");
        assert_eq!(last_sheet.get((4, 8)).unwrap().to_string(), "ann");
    }
}
