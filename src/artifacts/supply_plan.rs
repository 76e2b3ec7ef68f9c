//! The supply plan as a workbook planners open: the gaps first, then the load per resource,
//! the material shortages, the constrained plan beside demand, and the financial impact.
//! Deterministic: identical facts give identical bytes (the creation date is the cycle's first
//! day, not the clock).

use rust_xlsxwriter::{Color, DocProperties, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet};

use crate::analysis::supply::{GapKind, OptionKind, SupplyFacts};
use crate::contract::Month;

/// One cell of a row.
pub(crate) enum Cell {
    Text(String),
    /// A number shown with the sheet's number format.
    Num(f64),
    /// A share shown as a percentage (the value is in percent).
    Percent(f64),
    Empty,
}

pub(crate) fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

pub(crate) fn opt_num(x: Option<f64>) -> Cell {
    x.map_or(Cell::Empty, Cell::Num)
}

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

/// The artifact's one-page agenda as a sheet of its workbook, for those who work in Excel: the
/// meeting and its dates, last cycle's promises scored, this cycle's output, the top risks and
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
        sheet.write(r, 0, text)?;
        sheet.write(r, 1, owner)?;
        sheet.write(r, 2, due)?;
        r += 1;
    }
    r += 1;
    heading(sheet, &mut r, "2. This cycle's output")?;
    for line in &agenda.this_cycle {
        sheet.write(r, 0, line)?;
        r += 1;
    }
    r += 1;
    heading(sheet, &mut r, "3. Top 3 risks and open questions")?;
    for line in &agenda.top_risks {
        sheet.write(r, 0, line)?;
        r += 1;
    }
    r += 1;
    heading(sheet, &mut r, "4. Decisions needed from the next meeting up")?;
    for (c, h) in ["decision", "owner", "date"].iter().enumerate() {
        sheet.write_with_format(r, c as u16, *h, &bold)?;
    }
    r += 1;
    for d in &agenda.decisions {
        sheet.write(r, 0, &d.decision)?;
        sheet.write(r, 1, &d.owner)?;
        sheet.write(r, 2, &d.due)?;
        r += 1;
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

/// Writes one table sheet: bold header row, frozen, with an autofilter and set widths.
pub(crate) fn table(
    sheet: &mut Worksheet,
    formats: &Formats,
    columns: &[(&str, f64)],
    rows: Vec<Vec<Cell>>,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    for (c, (name, width)) in columns.iter().enumerate() {
        let c = c as u16;
        sheet.write_string_with_format(0, c, *name, &formats.header)?;
        sheet.set_column_width(c, *width)?;
    }
    let n = rows.len() as u32;
    for (r, row) in rows.into_iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.into_iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) => {
                    sheet.write_string(r, c, fit_cell(&s))?;
                }
                Cell::Num(x) => {
                    sheet.write_number_with_format(r, c, x, &formats.number)?;
                }
                Cell::Percent(x) => {
                    sheet.write_number_with_format(r, c, x / 100.0, &formats.percent)?;
                }
                Cell::Empty => {}
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, n.max(1), columns.len() as u16 - 1)?;
    Ok(())
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

fn kind_name(k: GapKind) -> &'static str {
    match k {
        GapKind::Capacity => "capacity",
        GapKind::Labour => "labour",
        GapKind::Material => "material",
        GapKind::Supplier => "supplier",
    }
}

pub(crate) fn option_name(k: OptionKind) -> &'static str {
    match k {
        OptionKind::Overtime => "overtime",
        OptionKind::BuildAhead => "build ahead",
        OptionKind::AlternateSite => "alternate site",
        OptionKind::Expedite => "expedite",
        OptionKind::AlternateSupplier => "alternate supplier",
        OptionKind::AcceptShortfall => "accept shortfall",
    }
}

/// Renders the supply plan workbook.
pub fn supply_plan_xlsx(
    facts: &SupplyFacts,
    company: &str,
    agenda: Option<&crate::draft::Agenda>,
) -> anyhow::Result<Vec<u8>> {
    let mut book = workbook(&format!("Supply plan {}", facts.cycle), company, &facts.cycle)?;
    let formats = Formats::standard();

    // Gaps.
    let rows = facts
        .gaps
        .iter()
        .map(|g| {
            let place = g.resource.clone().or_else(|| g.component.clone()).unwrap_or_default();
            let at = g.site.clone().or_else(|| g.supplier.clone()).unwrap_or_default();
            let options: Vec<String> = g
                .options
                .iter()
                .map(|o| {
                    format!(
                        "{}: {:.1} units ({:.0}%) for {:.2}",
                        option_name(o.kind),
                        o.closes_units,
                        o.closes_percent,
                        o.cost_money
                    )
                })
                .collect();
            let recommended: Vec<String> = g
                .recommended
                .iter()
                .map(|s| format!("{} {:.1} units for {:.2}", option_name(s.kind), s.units, s.cost_money))
                .collect();
            vec![
                text(&g.id),
                text(kind_name(g.kind)),
                text(&g.month),
                text(if g.near_term { "yes" } else { "" }),
                text(place),
                text(at),
                opt_num(g.hours_short),
                opt_num(g.component_units_short),
                Cell::Num(g.units_short),
                Cell::Num(g.revenue_at_risk_money),
                Cell::Num(g.margin_at_risk_money),
                text(recommended.join("; ")),
                Cell::Num(g.recommended_cost_money),
                Cell::Num(g.recommended_closes_units),
                text(options.join("; ")),
                text(g.skus_hit.join(", ")),
                text(g.customers_hit.join(", ")),
            ]
        })
        .collect();
    table(
        book.add_worksheet().set_name("Gaps")?,
        &formats,
        &[
            ("Gap", 26.0),
            ("Kind", 10.0),
            ("Month", 9.0),
            ("6-12 weeks", 9.0),
            ("Resource / component", 20.0),
            ("Site / supplier", 18.0),
            ("Hours short", 11.0),
            ("Component units short", 12.0),
            ("Units short", 11.0),
            ("Revenue at risk", 14.0),
            ("Margin at risk", 14.0),
            ("Recommended", 44.0),
            ("Recommended cost", 14.0),
            ("Closes units", 11.0),
            ("Options", 70.0),
            ("SKUs hit", 30.0),
            ("Customers hit", 30.0),
        ],
        rows,
    )?;

    // Load by resource.
    let mut rows = Vec::new();
    for r in &facts.capacity {
        for m in &r.months {
            rows.push(vec![
                text(&r.resource),
                text(&r.site),
                text(&r.kind),
                text(&m.month),
                Cell::Num(m.load_hours),
                Cell::Num(m.available_hours),
                Cell::Num(m.max_overtime_hours),
                Cell::Percent(m.utilisation_percent),
                Cell::Num(m.overload_hours),
                Cell::Num(m.beyond_overtime_hours),
                text(if facts.near_term_months.contains(&m.month) { "yes" } else { "" }),
            ]);
        }
    }
    table(
        book.add_worksheet().set_name("Load by resource")?,
        &formats,
        &[
            ("Resource", 16.0),
            ("Site", 12.0),
            ("Kind", 9.0),
            ("Month", 9.0),
            ("Load hours", 12.0),
            ("Available hours", 12.0),
            ("Max overtime hours", 12.0),
            ("Utilisation", 11.0),
            ("Overload hours", 12.0),
            ("Beyond overtime hours", 12.0),
            ("6-12 weeks", 9.0),
        ],
        rows,
    )?;

    // Shortages.
    let rows = facts
        .shortages
        .iter()
        .map(|s| {
            vec![
                text(&s.component),
                text(&s.supplier),
                text(&s.month),
                Cell::Num(s.lead_time_days as f64),
                Cell::Num(s.gross_requirement_units),
                Cell::Num(s.short_units),
                Cell::Num(s.within_lead_time_units),
                Cell::Num(s.new_order_units),
                s.order_by.as_ref().map_or(Cell::Empty, text),
                text(s.skus_hit.join(", ")),
            ]
        })
        .collect();
    table(
        book.add_worksheet().set_name("Shortages")?,
        &formats,
        &[
            ("Component", 14.0),
            ("Supplier", 16.0),
            ("Month", 9.0),
            ("Lead time days", 10.0),
            ("Gross requirement", 12.0),
            ("Short", 11.0),
            ("Inside lead time", 11.0),
            ("New order", 11.0),
            ("Order by", 11.0),
            ("SKUs hit", 40.0),
        ],
        rows,
    )?;

    // Constrained plan.
    let rows = facts
        .constrained_plan
        .iter()
        .map(|l| {
            vec![
                text(&l.sku),
                text(&l.customer),
                text(&l.month),
                Cell::Num(l.demand_units),
                Cell::Num(l.constrained_units),
                Cell::Num(((l.demand_units - l.constrained_units) * 1000.0).round() / 1000.0),
            ]
        })
        .collect();
    table(
        book.add_worksheet().set_name("Constrained plan")?,
        &formats,
        &[("SKU", 12.0), ("Customer", 12.0), ("Month", 9.0), ("Demand", 11.0), ("Constrained", 11.0), ("Unmet", 11.0)],
        rows,
    )?;

    // Financials.
    let rows = facts
        .financials
        .iter()
        .map(|f| {
            vec![
                text(&f.family),
                text(&f.month),
                Cell::Num(f.revenue_unconstrained_money),
                Cell::Num(f.revenue_constrained_money),
                Cell::Num(f.margin_unconstrained_money),
                Cell::Num(f.margin_constrained_money),
                opt_num(f.budget_revenue_money),
                opt_num(f.constrained_vs_budget_money),
            ]
        })
        .collect();
    table(
        book.add_worksheet().set_name("Financials")?,
        &formats,
        &[
            ("Family", 20.0),
            ("Month", 9.0),
            ("Revenue unconstrained", 15.0),
            ("Revenue constrained", 15.0),
            ("Margin unconstrained", 15.0),
            ("Margin constrained", 15.0),
            ("Budget revenue", 15.0),
            ("Constrained vs budget", 15.0),
        ],
        rows,
    )?;

    if let Some(a) = agenda {
        super::supply_plan::agenda_sheet(&mut book, a)?;
    }
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cell over Excel's limit is cut to fit, saying how much is left out (42,000 characters
    /// less the 32,647 kept); one within it is written as it is; the cut never splits a
    /// character, and the workbook is written.
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
}
