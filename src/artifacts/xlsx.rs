//! The workbook kit every artifact workbook is built with: a new workbook with deterministic
//! properties ([`workbook`]), the house look ([`Formats`]), a table sheet from rows of cell
//! values ([`table`], [`Value`], [`text`], [`opt_num`]) with over-long texts cut to what Excel
//! holds ([`fit_cell`]), and the meeting's agenda as a sheet ([`agenda_sheet`]).

use rust_xlsxwriter::{Color, DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet};

use crate::contract::Month;

/// A workbook cell's value, as one cell of a row [`table`] writes.
pub(crate) enum Value {
    Text(String),
    /// A number shown with the sheet's number format.
    Num(f64),
    /// A share shown as a percentage (the value is in percent).
    Percent(f64),
    Empty,
}

/// A text cell.
pub(crate) fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

/// Text as a workbook shows it, inert: a text that would start like a formula (`=`, `+`, `-`,
/// `@`, a tab) gets a leading apostrophe, as in the CSV files (a plain number such as `-5` is
/// left alone), and an over-long one is cut to what Excel holds ([`fit_cell`]). Every text the
/// kit writes goes through here; model text written elsewhere must too.
pub(crate) fn inert(s: &str) -> String {
    super::csv_text(&fit_cell(s)).into_owned()
}

/// A number cell, or an empty one when there is no number.
pub(crate) fn opt_num(x: Option<f64>) -> Value {
    x.map_or(Value::Empty, Value::Num)
}

/// The formats a table sheet is written with: its header row, its numbers, its percentages.
pub(crate) struct Formats {
    pub(crate) header: Format,
    pub(crate) number: Format,
    pub(crate) percent: Format,
}

impl Formats {
    /// The artifacts' workbook look: a bold, shaded, wrapped header; thousands and percents.
    pub(crate) fn standard() -> Formats {
        Formats {
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0xDDE4EE))
                .set_border_bottom(FormatBorder::Thin)
                .set_text_wrap(),
            number: Format::new().set_num_format("#,##0.00"),
            percent: Format::new().set_num_format("0.0%"),
        }
    }
}

/// The artifact's one-page agenda as the first sheet of its workbook (moved there, whenever it
/// is added), printed on one landscape page, for those who work in Excel: the meeting and its dates, last cycle's promises scored, this cycle's output, the top risks and
/// the decisions needed, each with its owner and date.
pub(crate) fn agenda_sheet(
    book: &mut Workbook,
    agenda: &crate::draft::Agenda,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet().set_name("Agenda")?;
    sheet.set_column_width(0, 90)?;
    sheet.set_column_width(1, 28)?;
    sheet.set_column_width(2, 14)?;
    sheet.write_with_format(
        0,
        0,
        format!("Agenda: {}, {} to {}", agenda.meeting, agenda.first_day, agenda.last_day),
        &bold,
    )?;
    let mut r = 2u32;
    let heading = |sheet: &mut Worksheet, r: &mut u32, text: &str| -> Result<(), rust_xlsxwriter::XlsxError> {
        sheet.write_with_format(*r, 0, text, &bold)?;
        *r += 1;
        Ok(())
    };
    heading(sheet, &mut r, "1. Last cycle's commitments: kept, missed, re-negotiated")?;
    let mut promised: Vec<(String, String, String)> = Vec::new();
    match &agenda.scorecard {
        Some(card) => {
            for line in &card.lines {
                promised.push((line.clone(), String::new(), String::new()));
            }
            for a in &card.attention {
                promised.push((a.decision.clone(), a.owner.clone(), a.due.clone()));
            }
        }
        None => promised.push(("No earlier cycle to score.".into(), String::new(), String::new())),
    }
    for (text, owner, due) in &promised {
        sheet.write_string(r, 0, inert(text))?;
        sheet.write_string(r, 1, inert(owner))?;
        sheet.write_string(r, 2, inert(due))?;
        r += 1;
    }
    r += 1;
    heading(sheet, &mut r, "2. This cycle's output")?;
    for line in &agenda.this_cycle {
        sheet.write_string(r, 0, inert(line))?;
        r += 1;
    }
    r += 1;
    heading(sheet, &mut r, "3. Top 3 risks and open questions")?;
    for line in &agenda.top_risks {
        sheet.write_string(r, 0, inert(line))?;
        r += 1;
    }
    r += 1;
    heading(sheet, &mut r, "4. Decisions needed from the next meeting up")?;
    for (c, h) in ["decision", "owner", "date"].iter().enumerate() {
        sheet.write_with_format(r, c as u16, *h, &bold)?;
    }
    r += 1;
    for d in &agenda.decisions {
        sheet.write_string(r, 0, inert(&d.decision))?;
        sheet.write_string(r, 1, inert(&d.owner))?;
        sheet.write_string(r, 2, inert(&d.due))?;
        r += 1;
    }
    sheet.set_landscape();
    sheet.set_print_fit_to_pages(1, 1);
    // The agenda is what people open first: the workbook's first sheet, whatever was added before.
    let sheets = book.worksheets_mut();
    if let Some(agenda) = sheets.pop() {
        sheets.insert(0, agenda);
    }
    Ok(())
}

/// A new artifact workbook with its title and company, created (for the file's properties) on
/// the cycle's first day, so the same facts give the same bytes.
pub(crate) fn workbook(title: &str, company: &str, cycle: &str) -> Result<Workbook, rust_xlsxwriter::XlsxError> {
    use chrono::Datelike;
    let day = Month::parse(cycle).map_or_else(chrono::NaiveDate::default, Month::first_day);
    let created = ExcelDateTime::from_ymd(day.year() as u16, day.month() as u8, day.day() as u8)?;
    let mut book = Workbook::new();
    book.set_properties(&DocProperties::new().set_title(title).set_company(company).set_creation_datetime(&created));
    Ok(book)
}

/// Writes one table sheet: bold header row, frozen, with an autofilter; each column as wide as
/// set, or as its widest number needs (so Excel never shows `###`); printed landscape, one page
/// wide, the header row repeated on every page.
pub(crate) fn table(
    sheet: &mut Worksheet,
    formats: &Formats,
    columns: &[(&str, f64)],
    rows: Vec<Vec<Value>>,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    for (c, (name, width)) in columns.iter().enumerate() {
        let c = c as u16;
        sheet.write_string_with_format(0, c, *name, &formats.header)?;
        sheet.set_column_width(c, *width)?;
    }
    let n = rows.len() as u32;
    let mut widths: Vec<f64> = columns.iter().map(|c| c.1).collect();
    for row in &rows {
        for (c, cell) in row.iter().enumerate() {
            if let (Value::Num(x), Some(w)) = (cell, widths.get_mut(c)) {
                *w = w.max(number_width(*x));
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        sheet.set_column_width(c as u16, *w)?;
    }
    sheet.set_landscape();
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_repeat_rows(0, 0)?;
    for (r, row) in rows.into_iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.into_iter().enumerate() {
            let c = c as u16;
            match cell {
                Value::Text(s) => {
                    sheet.write_string(r, c, inert(&s))?;
                }
                Value::Num(x) => {
                    sheet.write_number_with_format(r, c, x, &formats.number)?;
                }
                Value::Percent(x) => {
                    sheet.write_number_with_format(r, c, x / 100.0, &formats.percent)?;
                }
                Value::Empty => {}
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, n.max(1), columns.len() as u16 - 1)?;
    Ok(())
}

/// The column width (in characters) a number needs in the `#,##0.00` format: its digits, a
/// thousands separator every three, the sign, two decimals, and a margin of two.
pub(crate) fn number_width(x: f64) -> f64 {
    let digits = format!("{:.0}", x.abs().trunc()).len();
    let sign = usize::from(x < 0.0);
    (digits + (digits - 1) / 3 + sign + 3 + 2) as f64
}

/// Excel's most rows on a sheet.
pub(crate) const EXCEL_MAX_ROWS: u32 = 1_048_576;

/// [`table`] over as many sheets as `max_rows` needs: `name`, then `name (2)` and on, each with
/// its header row, the rows in order, each on exactly one sheet.
pub(crate) fn paged_table(
    book: &mut Workbook,
    name: &str,
    formats: &Formats,
    columns: &[(&str, f64)],
    rows: Vec<Vec<Value>>,
    max_rows: u32,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let pages = sheet_pages(rows.len(), 1, 1, 1, max_rows);
    let mut names = SheetNames::default();
    let mut rows = rows.into_iter();
    for (k, page) in pages.into_iter().enumerate() {
        let sheet = book.add_worksheet().set_name(names.name(name, k))?;
        table(sheet, formats, columns, rows.by_ref().take(page.len()).collect())?;
    }
    Ok(())
}

/// How `n` items go onto sheets of at most `max_rows` rows, when each item takes `per_item`
/// rows and the items start at row `first_head` on the first sheet and at row `head` on the
/// ones after it: the items of each sheet, in order; always one sheet at least (maybe empty), and
/// one item a sheet at the least whatever the limit. The size is known before a cell is written,
/// so a workbook is laid out to fit rather than refused when it is saved.
pub(crate) fn sheet_pages(
    n: usize,
    per_item: u32,
    first_head: u32,
    head: u32,
    max_rows: u32,
) -> Vec<std::ops::Range<usize>> {
    let fit = |h: u32| (max_rows.saturating_sub(h) / per_item.max(1)).max(1) as usize;
    let first = 0..n.min(fit(first_head));
    let mut at = first.end;
    let mut pages = Vec::from([first]);
    while at < n {
        let end = (at + fit(head)).min(n);
        pages.push(at..end);
        at = end;
    }
    pages
}

/// The names of a workbook's sheets, each unique as Excel compares them (ignoring case).
#[derive(Default)]
pub(crate) struct SheetNames(std::collections::HashSet<String>);

impl SheetNames {
    /// `base` for a sheet's first page, `base (2)` and on for the next: at most 31 characters
    /// (the base is shortened, never the page number), without the characters Excel refuses in
    /// a name (`[]:*?/\`), and numbered further when the name is taken.
    pub(crate) fn name(&mut self, base: &str, page: usize) -> String {
        let clean: String = base.chars().map(|ch| if "[]:*?/\\".contains(ch) { '_' } else { ch }).collect::<String>();
        let clean = clean.trim_matches('\'').to_string();
        let mut k = page;
        loop {
            let suffix = if k == 0 { String::new() } else { format!(" ({})", k + 1) };
            let keep = 31 - suffix.chars().count();
            let name: String = clean.chars().take(keep).collect::<String>().trim_end().to_string() + &suffix;
            if self.0.insert(name.to_lowercase()) {
                return name;
            }
            k += 1;
        }
    }
}

/// Excel holds at most 32,767 characters in a cell (a longer one is refused when the workbook
/// is written). A longer text, such as the SKUs a gap hits at 50,000 SKUs, is cut at a character
/// boundary and says how much more there is and where the whole is.
pub(crate) fn fit_cell(s: &str) -> std::borrow::Cow<'_, str> {
    const EXCEL_MAX: usize = 32_767;
    let total = s.chars().count();
    if total <= EXCEL_MAX {
        return std::borrow::Cow::Borrowed(s);
    }
    let keep = EXCEL_MAX - 120;
    let head: String = s.chars().take(keep).collect();
    std::borrow::Cow::Owned(format!(
        "{head} ... and {} more characters: the whole list is in the run's facts.json",
        total - keep
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10 items of 4 rows under a 4-row head on sheets of 20 rows: 4 on the first (rows 4 to
    /// 19), then 4 (a 1-row head: rows 1 to 16; a fifth would end on row 20), then the last 2.
    #[test]
    #[allow(clippy::single_range_in_vec_init)]
    fn items_go_onto_as_many_sheets_as_the_row_limit_needs() {
        assert_eq!(sheet_pages(10, 4, 4, 1, 20), [0..4, 4..8, 8..10]);
        // Exactly full: 1,048,572 rows of items below a 4-row head is one sheet; one more is two.
        assert_eq!(sheet_pages(262_143, 4, 4, 4, EXCEL_MAX_ROWS), [0..262_143]);
        assert_eq!(sheet_pages(262_144, 4, 4, 4, EXCEL_MAX_ROWS), [0..262_143, 262_143..262_144]);
        assert_eq!(sheet_pages(0, 4, 4, 4, 20), [0..0]);
        // A limit below one item still places one item a sheet rather than none.
        assert_eq!(sheet_pages(2, 4, 4, 4, 5), [0..1, 1..2]);
    }

    /// Seven rows on sheets of three (a header and two rows): `Plan`, `Plan (2)`, `Plan (3)`,
    /// `Plan (4)`, read back with calamine: every row once, in order.
    #[test]
    fn a_long_table_goes_on_as_many_sheets_as_it_needs() {
        use calamine::Reader as _;
        let mut book = Workbook::new();
        let rows = (0..7).map(|i| vec![text(format!("row {i}")), Value::Num(i as f64)]).collect();
        paged_table(&mut book, "Plan", &Formats::standard(), &[("Line", 10.0), ("Units", 10.0)], rows, 3).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let mut read = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(read.sheet_names(), ["Plan", "Plan (2)", "Plan (3)", "Plan (4)"]);
        let mut lines = Vec::new();
        for name in read.sheet_names() {
            let range = read.worksheet_range(&name).unwrap();
            assert!(range.height() <= 3, "{name}");
            assert_eq!(range.rows().next().unwrap()[0].to_string(), "Line");
            lines.extend(range.rows().skip(1).map(|r| r[0].to_string()));
        }
        assert_eq!(lines, (0..7).map(|i| format!("row {i}")).collect::<Vec<_>>());
    }

    #[test]
    fn sheet_names_fit_excel_and_never_repeat() {
        let mut names = SheetNames::default();
        assert_eq!(names.name("Consensus centrifugal-pumps", 0), "Consensus centrifugal-pumps");
        assert_eq!(names.name("Consensus centrifugal-pumps", 1), "Consensus centrifugal-pumps (2)");
        let long = names.name("Consensus a family with a long name", 2);
        assert_eq!(long, "Consensus a family with a l (3)");
        assert_eq!(long.chars().count(), 31);
        // Excel compares names ignoring case; a taken one is numbered on.
        assert_eq!(names.name("CONSENSUS centrifugal-pumps", 0), "CONSENSUS centrifugal-pumps (3)");
        assert_eq!(names.name("a/b:c", 0), "a_b_c");
    }

    /// A cell over Excel's limit is cut to fit, saying how much is left out (42,000 characters
    /// less the 32,647 kept); one within it is written as it is; the cut never splits a
    /// character, and the workbook is written.
    /// By hand: 222,599,147.00 is 9 digits, 2 separators, 3 for the decimals and 2 of margin:
    /// 16; -1,234.50 is 4 + 1 + 1 (sign) + 3 + 2 = 11; 0.50 is 1 + 3 + 2 = 6.
    #[test]
    fn a_column_is_as_wide_as_its_widest_number() {
        assert_eq!(number_width(222_599_147.0), 16.0);
        assert_eq!(number_width(-1_234.5), 11.0);
        assert_eq!(number_width(0.5), 6.0);
    }

    /// The agenda is the first sheet even when added last.
    #[test]
    fn the_agenda_is_the_first_sheet() {
        use calamine::Reader;
        let mut book = Workbook::new();
        book.add_worksheet().set_name("Log").unwrap();
        let agenda = crate::draft::Agenda {
            meeting: "Executive S&OP".into(),
            first_day: "2026-12-17".into(),
            last_day: "2026-12-17".into(),
            last_cycle: None,
            this_cycle: vec!["the plan".into()],
            top_risks: vec![],
            decisions: vec![],
            scorecard: None,
        };
        agenda_sheet(&mut book, &agenda).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(book.sheet_names(), ["Agenda", "Log"]);
    }

    #[test]
    fn a_cell_longer_than_excel_holds_is_cut_and_says_so() {
        let long = "SKU-é, ".repeat(6_000);
        let fitted = fit_cell(&long);
        assert!(fitted.chars().count() <= 32_767, "{}", fitted.chars().count());
        assert!(fitted.ends_with("... and 9353 more characters: the whole list is in the run's facts.json"));
        assert_eq!(fit_cell("short"), "short");
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        table(sheet, &Formats::standard(), &[("skus hit", 20.0)], vec![vec![text(long)]]).unwrap();
        book.save_to_buffer().unwrap();
    }

    /// Issue 20: model text that starts like a formula is written as text with a leading
    /// apostrophe, in the agenda sheet and in a table, and read back so with calamine.
    #[test]
    fn formula_like_text_is_written_inert() {
        use calamine::Reader;
        let hostile = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)"];
        let agenda = crate::draft::Agenda {
            meeting: "demand review".into(),
            first_day: "2027-01-12".into(),
            last_day: "2027-01-14".into(),
            last_cycle: None,
            this_cycle: hostile.iter().map(|s| (*s).to_string()).collect(),
            top_risks: vec!["-5".into()],
            decisions: vec![],
            scorecard: None,
        };
        let mut book = Workbook::new();
        agenda_sheet(&mut book, &agenda).unwrap();
        let sheet = book.add_worksheet().set_name("T").unwrap();
        table(sheet, &Formats::standard(), &[("text", 20.0)], hostile.iter().map(|s| vec![text(*s)]).collect())
            .unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let mut read = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
        fn read_cells(read: &mut calamine::Sheets<std::io::Cursor<Vec<u8>>>, name: &str) -> Vec<String> {
            let range = read.worksheet_range(name).unwrap();
            range.rows().flat_map(|r| r.iter().map(|c| c.to_string())).filter(|c| !c.is_empty()).collect()
        }
        let agenda_cells = read_cells(&mut read, "Agenda");
        let table_cells = read_cells(&mut read, "T");
        for h in hostile {
            assert!(agenda_cells.contains(&format!("'{h}")), "{h} in {agenda_cells:?}");
            assert!(table_cells.contains(&format!("'{h}")), "{h} in {table_cells:?}");
            assert!(!agenda_cells.contains(&h.to_string()) && !table_cells.contains(&h.to_string()));
        }
        // A plain negative number stays as written.
        assert!(agenda_cells.contains(&"-5".to_string()), "{agenda_cells:?}");
        // No cell is a formula.
        for name in ["Agenda", "T"] {
            let formulas = read.worksheet_formula(name).unwrap();
            assert!(formulas.rows().all(|r| r.iter().all(String::is_empty)), "{name}");
        }
    }
}
