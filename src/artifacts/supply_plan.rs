//! The supply plan as a workbook planners open: the gaps first, then the load per resource,
//! the material shortages, the constrained plan beside demand, and the financial impact.
//! Deterministic: identical facts give identical bytes (the creation date is the cycle's first
//! day, not the clock).

use rust_xlsxwriter::{Workbook, XlsxError};

use super::xlsx::{EXCEL_MAX_ROWS, Formats, Value, opt_num, paged_table, table, text, workbook};
use crate::analysis::locale::Locale;
use crate::analysis::supply::{GapKind, OptionKind, SupplyFacts};

/// A gap's kind as the Gaps sheet names it.
fn kind_name(k: GapKind) -> &'static str {
    match k {
        GapKind::Capacity => "capacity",
        GapKind::Labour => "labour",
        GapKind::Material => "material",
        GapKind::Supplier => "supplier",
    }
}

/// A supply option as the plan's sheets and the pack's slides name it.
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
    locale: Locale,
) -> anyhow::Result<Vec<u8>> {
    let mut book = workbook(&format!("Supply plan {}", facts.cycle), company, &facts.cycle)?;
    let formats = Formats::standard();

    gap_summary_sheet(&mut book, &formats, facts)?;
    gaps_sheet(&mut book, &formats, facts, locale)?;
    load_sheet(&mut book, &formats, facts)?;
    shortages_sheet(&mut book, &formats, facts)?;
    constrained_plan_sheet(&mut book, &formats, facts)?;
    financials_sheet(&mut book, &formats, facts)?;
    if let Some(a) = agenda {
        super::xlsx::agenda_sheet(&mut book, a)?;
    }
    Ok(book.save_to_buffer()?)
}

/// A gap's option as the Gaps sheet writes it: "overtime: 1,234.5 units (80.0%) for 3,000
/// (spend 3,000, margin lost 250)", in `locale`.
fn option_text(o: &crate::analysis::supply::GapOption, locale: Locale) -> String {
    format!(
        "{}: {} units ({}) for {} (spend {}, margin lost {})",
        option_name(o.kind),
        locale.number(o.closes_units),
        locale.percent(o.closes_percent),
        locale.money(o.cost_money),
        locale.money(o.spend_money),
        locale.money(o.lost_margin_money)
    )
}

/// The gaps by margin at risk, largest first (then by id, so the order is stable).
fn gaps_by_margin(facts: &SupplyFacts) -> Vec<&crate::analysis::supply::Gap> {
    let mut gaps: Vec<_> = facts.gaps.iter().collect();
    gaps.sort_by(|a, b| b.margin_at_risk_money.total_cmp(&a.margin_at_risk_money).then(a.id.cmp(&b.id)));
    gaps
}

/// The Gap summary sheet: per kind of gap, how many, in the 6-12-week window, units short and
/// margin at risk; a total row; then the plan's own totals, which count a shortfall once where
/// gaps overlap (a SKU short of hours and of a component is in both gaps).
fn gap_summary_sheet(book: &mut Workbook, formats: &Formats, facts: &SupplyFacts) -> Result<(), XlsxError> {
    let kinds = [GapKind::Capacity, GapKind::Labour, GapKind::Material, GapKind::Supplier];
    let mut rows: Vec<Vec<Value>> = Vec::new();
    let mut all = (0.0, 0.0, 0.0, 0.0, 0.0);
    for k in kinds {
        let of: Vec<_> = facts.gaps.iter().filter(|g| g.kind == k).collect();
        let n = of.len() as f64;
        let near = of.iter().filter(|g| g.near_term).count() as f64;
        let units: f64 = of.iter().map(|g| g.units_short).sum();
        let margin: f64 = of.iter().map(|g| g.margin_at_risk_money).sum();
        let cost: f64 = of.iter().map(|g| g.recommended_cost_money).sum();
        all = (all.0 + n, all.1 + near, all.2 + units, all.3 + margin, all.4 + cost);
        rows.push(vec![
            text(kind_name(k)),
            Value::Num(n),
            Value::Num(near),
            Value::Num(units),
            Value::Num(margin),
            Value::Num(cost),
        ]);
    }
    rows.push(vec![
        text("All gaps (overlapping)"),
        Value::Num(all.0),
        Value::Num(all.1),
        Value::Num(all.2),
        Value::Num(all.3),
        Value::Num(all.4),
    ]);
    let t = &facts.totals;
    rows.push(vec![
        text("The plan (each shortfall once)"),
        Value::Empty,
        Value::Empty,
        Value::Num(t.unmet_units),
        Value::Num(t.margin_at_risk_money),
        Value::Empty,
    ]);
    let sheet = book.add_worksheet().set_name("Gap summary")?;
    table(
        sheet,
        formats,
        &[
            ("Kind", 28.0),
            ("Gaps", 8.0),
            ("In 6-12 weeks", 10.0),
            ("Units short", 13.0),
            ("Margin at risk", 15.0),
            ("Recommended cost", 15.0),
        ],
        rows,
    )?;
    sheet.write_string(8, 0, "The Gaps sheet lists every gap, largest margin at risk first.")?;
    Ok(())
}

/// The Gaps sheet: every gap with what it puts at risk, the recommended fix and all its options,
/// largest margin at risk first. The numbers inside its texts are written in `locale` (the cells
/// that are numbers stay numbers).
fn gaps_sheet(book: &mut Workbook, formats: &Formats, facts: &SupplyFacts, locale: Locale) -> Result<(), XlsxError> {
    let rows = gaps_by_margin(facts)
        .into_iter()
        .map(|g| {
            let place = g.resource.clone().or_else(|| g.component.clone()).unwrap_or_default();
            let at = g.site.clone().or_else(|| g.supplier.clone()).unwrap_or_default();
            let options: Vec<String> = g.options.iter().map(|o| option_text(o, locale)).collect();
            let recommended: Vec<String> = g
                .recommended
                .iter()
                .map(|s| {
                    format!(
                        "{} {} units for {}",
                        option_name(s.kind),
                        locale.number(s.units),
                        locale.money(s.cost_money)
                    )
                })
                .collect();
            vec![
                text(&g.id),
                text(kind_name(g.kind)),
                text(&g.month),
                text(if g.frozen {
                    "frozen: a notice"
                } else if g.near_term {
                    "yes"
                } else {
                    ""
                }),
                text(place),
                text(at),
                opt_num(g.hours_short),
                opt_num(g.component_units_short),
                Value::Num(g.units_short),
                Value::Num(g.revenue_at_risk_money),
                Value::Num(g.margin_at_risk_money),
                text(recommended.join("; ")),
                Value::Num(g.recommended_cost_money),
                Value::Num(g.recommended_closes_units),
                text(options.join("; ")),
                text(g.skus_hit.join(", ")),
                text(g.customers_hit.join(", ")),
            ]
        })
        .collect();
    table(
        book.add_worksheet().set_name("Gaps")?,
        formats,
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
    Ok(())
}

/// The Load by resource sheet: each resource's load against its hours, month by month.
fn load_sheet(book: &mut Workbook, formats: &Formats, facts: &SupplyFacts) -> Result<(), XlsxError> {
    let mut rows = Vec::new();
    for r in &facts.capacity {
        for m in &r.months {
            rows.push(vec![
                text(&r.resource),
                text(&r.site),
                text(&r.kind),
                text(&m.month),
                Value::Num(m.load_hours),
                Value::Num(m.available_hours),
                Value::Num(m.max_overtime_hours),
                Value::Percent(m.utilisation_percent),
                Value::Num(m.overload_hours),
                Value::Num(m.beyond_overtime_hours),
                text(if facts.near_term_months.contains(&m.month) { "yes" } else { "" }),
            ]);
        }
    }
    table(
        book.add_worksheet().set_name("Load by resource")?,
        formats,
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
    Ok(())
}

/// The Shortages sheet: each component short, with its supplier, lead time and order-by date.
fn shortages_sheet(book: &mut Workbook, formats: &Formats, facts: &SupplyFacts) -> Result<(), XlsxError> {
    let rows = facts
        .shortages
        .iter()
        .map(|s| {
            vec![
                text(&s.component),
                text(&s.supplier),
                text(&s.month),
                Value::Num(s.lead_time_days as f64),
                Value::Num(s.gross_requirement_units),
                Value::Num(s.short_units),
                Value::Num(s.within_lead_time_units),
                Value::Num(s.new_order_units),
                s.order_by.as_ref().map_or(Value::Empty, text),
                text(s.skus_hit.join(", ")),
            ]
        })
        .collect();
    table(
        book.add_worksheet().set_name("Shortages")?,
        formats,
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
    Ok(())
}

/// The Constrained plan sheet: demand beside what supply can meet, per SKU, customer and month
/// (continued on `Constrained plan (2)` and on past Excel's rows: 484,000 series by 18 months).
fn constrained_plan_sheet(book: &mut Workbook, formats: &Formats, facts: &SupplyFacts) -> Result<(), XlsxError> {
    let rows = facts
        .constrained_plan
        .iter()
        .map(|l| {
            vec![
                text(&l.sku),
                text(&l.customer),
                text(&l.month),
                Value::Num(l.demand_units),
                Value::Num(l.constrained_units),
                Value::Num(((l.demand_units - l.constrained_units) * 1000.0).round() / 1000.0),
            ]
        })
        .collect();
    paged_table(
        book,
        "Constrained plan",
        formats,
        &[("SKU", 12.0), ("Customer", 12.0), ("Month", 9.0), ("Demand", 11.0), ("Constrained", 11.0), ("Unmet", 11.0)],
        rows,
        EXCEL_MAX_ROWS,
    )?;
    Ok(())
}

/// The Financials sheet: revenue and margin unconstrained and constrained, against budget.
fn financials_sheet(book: &mut Workbook, formats: &Formats, facts: &SupplyFacts) -> Result<(), XlsxError> {
    let rows = facts
        .financials
        .iter()
        .map(|f| {
            vec![
                text(&f.family),
                text(&f.month),
                Value::Num(f.revenue_unconstrained_money),
                Value::Num(f.revenue_constrained_money),
                Value::Num(f.margin_unconstrained_money),
                Value::Num(f.margin_constrained_money),
                opt_num(f.budget_revenue_money),
                opt_num(f.constrained_vs_budget_money),
            ]
        })
        .collect();
    table(
        book.add_worksheet().set_name("Financials")?,
        formats,
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
    Ok(())
}
