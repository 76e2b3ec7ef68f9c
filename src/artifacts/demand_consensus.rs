//! The demand consensus as the workbook a planner opens: the layers side by side with the owner
//! of every adjustment, totals by family and month, accuracy and value added, the variance.

use rust_xlsxwriter::{Format, FormatAlign, Note, Workbook, Worksheet};

use crate::analysis::demand::{Consensus, Layer, LayerTotals};
use crate::narrative::{Draft, DraftSource};

/// Writes a row of bold column titles at `row`.
fn header(ws: &mut Worksheet, row: u32, titles: &[&str], bold: &Format) -> anyhow::Result<()> {
    for (c, t) in titles.iter().enumerate() {
        ws.write_with_format(row, c as u16, *t, bold)?;
    }
    Ok(())
}

/// Writes a number with `fmt`, or "n/a" when there is none.
fn opt(ws: &mut Worksheet, row: u32, col: u16, v: Option<f64>, fmt: &Format) -> anyhow::Result<()> {
    match v {
        Some(v) => ws.write_with_format(row, col, v, fmt)?,
        None => ws.write(row, col, "n/a")?,
    };
    Ok(())
}

/// A forecast layer as the sheets name it.
fn layer_name(l: Layer) -> &'static str {
    match l {
        Layer::Naive => "naive",
        Layer::Statistical => "statistical",
        Layer::Sales => "sales",
        Layer::Marketing => "marketing",
        Layer::Final => "final",
    }
}

/// Renders the workbook. Deterministic: the same consensus gives the same bytes.
pub fn demand_consensus_xlsx(
    c: &Consensus,
    company: &str,
    signed_state: &str,
    narrative: Option<&Draft>,
    agenda: Option<&crate::draft::Agenda>,
) -> anyhow::Result<Vec<u8>> {
    let f = &c.facts;
    let mut book = Workbook::new();
    book.set_properties(
        &rust_xlsxwriter::DocProperties::new()
            .set_title(format!("Demand consensus {} - {company}", f.cycle))
            .set_creation_datetime(&rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 1, 1)?),
    );
    let st = Styles::new();
    // The narrative first: what the meeting reads.
    if let Some(d) = narrative {
        summary_sheet(&mut book, &st, c, company, signed_state, d)?;
    }
    consensus_sheet(&mut book, &st, c, signed_state)?;
    totals_sheet(&mut book, &st, c)?;
    accuracy_sheet(&mut book, &st, c)?;
    value_added_sheet(&mut book, &st, c)?;
    adjustments_sheet(&mut book, &st, c)?;
    variance_sheet(&mut book, &st, c)?;
    if let Some(a) = agenda {
        super::xlsx::agenda_sheet(&mut book, a)?;
    }
    Ok(book.save_to_buffer()?)
}

/// The formats the demand consensus workbook is written with.
struct Styles {
    bold: Format,
    units: Format,
    units_bold: Format,
    money: Format,
    pct: Format,
    wrap: Format,
}

impl Styles {
    /// Bold titles, whole units and money, percentages, wrapped text.
    fn new() -> Styles {
        Styles {
            bold: Format::new().set_bold(),
            units: Format::new().set_num_format("#,##0"),
            units_bold: Format::new().set_num_format("#,##0").set_bold(),
            money: Format::new().set_num_format("#,##0"),
            pct: Format::new().set_num_format("0.0%"),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
        }
    }
}

/// The Summary sheet: the narrative (headline, paragraphs, risks) and who drafted it.
fn summary_sheet(
    book: &mut Workbook,
    st: &Styles,
    c: &Consensus,
    company: &str,
    signed_state: &str,
    d: &Draft,
) -> anyhow::Result<()> {
    let f = &c.facts;
    let ws = book.add_worksheet().set_name("Summary")?;
    ws.write_with_format(0, 0, format!("Demand review {} - {company} ({signed_state})", f.cycle), &st.bold)?;
    ws.write_with_format(2, 0, super::xlsx::inert(&d.sections.headline), &st.bold)?;
    let mut r = 4u32;
    for p in &d.sections.paragraphs {
        ws.write_with_format(r, 0, super::xlsx::inert(p), &st.wrap)?;
        r += 1;
    }
    r += 1;
    ws.write_with_format(r, 0, "Risks and open questions", &st.bold)?;
    for risk in &d.sections.risks {
        r += 1;
        ws.write_with_format(r, 0, format!("- {risk}"), &st.wrap)?;
    }
    r += 2;
    let source = match d.source {
        DraftSource::Model => format!("Drafted by {} from the facts; every number checked against them.", d.model),
        DraftSource::ModelAfterRetry => format!("Drafted by {} after a correction; every number checked against the facts.", d.model),
        DraftSource::Fallback => "Not written by the model: the model's drafts did not pass the fact check, so this text was built from the facts.".to_string(),
    };
    ws.write(r, 0, source)?;
    ws.set_column_width(0, 110)?;
    Ok(())
}

/// The Consensus sheet: four rows per series (statistical, sales and marketing adjustments,
/// final), months across, a note on each adjusted cell naming its owners and reasons.
fn consensus_sheet(book: &mut Workbook, st: &Styles, c: &Consensus, signed_state: &str) -> anyhow::Result<()> {
    let f = &c.facts;
    let ws = book.add_worksheet().set_name("Consensus")?;
    ws.write_with_format(0, 0, format!("Demand consensus, cycle {} ({signed_state})", f.cycle), &st.bold)?;
    ws.write(1, 0, "Statistical forecast, sales adjustment, marketing adjustment and final consensus side by side; a note on an adjusted cell names its owners and reasons.")?;
    let mut titles = vec!["SKU", "Customer", "Family", "Method", "Layer"];
    titles.extend(f.months.iter().map(String::as_str));
    titles.push("Total");
    header(ws, 3, &titles, &st.bold)?;
    let first_month_col = 5u16;
    let mut row = 4u32;
    for s in &c.series {
        let finals: Vec<f64> = (0..f.months.len()).map(|m| s.final_units(m)).collect();
        for (label, values) in [
            ("statistical", &s.statistical),
            ("sales adjustment", &s.sales),
            ("marketing adjustment", &s.marketing),
            ("final consensus", &finals),
        ] {
            ws.write(row, 0, &s.sku)?;
            ws.write(row, 1, &s.customer)?;
            ws.write(row, 2, &s.family)?;
            ws.write(row, 3, &s.method)?;
            ws.write(row, 4, label)?;
            let fmt = if label == "final consensus" { &st.units_bold } else { &st.units };
            for (m, v) in values.iter().enumerate() {
                ws.write_with_format(row, first_month_col + m as u16, *v, fmt)?;
                let layer = match label {
                    "sales adjustment" => Some(Layer::Sales),
                    "marketing adjustment" => Some(Layer::Marketing),
                    _ => None,
                };
                let traces: Vec<String> = s.traces[m]
                    .iter()
                    .filter(|t| Some(t.layer) == layer)
                    .map(|t| format!("{}: {:+.1} ({})", t.owner, t.delta_units, t.reason))
                    .collect();
                if !traces.is_empty() {
                    ws.insert_note(row, first_month_col + m as u16, &Note::new(traces.join("\n")).set_author("snop"))?;
                }
            }
            ws.write_with_format(row, first_month_col + f.months.len() as u16, values.iter().sum::<f64>(), fmt)?;
            row += 1;
        }
    }
    ws.set_freeze_panes(4, 5)?;
    ws.autofilter(3, 0, row.saturating_sub(1).max(4), first_month_col + f.months.len() as u16)?;
    ws.set_column_width(0, 12)?;
    ws.set_column_width(4, 20)?;
    Ok(())
}

/// The Totals sheet: the layers' totals by family (and all families), then by month.
fn totals_sheet(book: &mut Workbook, st: &Styles, c: &Consensus) -> anyhow::Result<()> {
    let f = &c.facts;
    let ws = book.add_worksheet().set_name("Totals")?;
    header(
        ws,
        0,
        &[
            "Family",
            "Statistical",
            "Sales adj.",
            "Marketing adj.",
            "Final units",
            "Final revenue",
            "Budget revenue",
            "vs budget",
        ],
        &st.bold,
    )?;
    let mut r = 1u32;
    let write_totals = |ws: &mut Worksheet, r: &mut u32, name: &str, t: &LayerTotals| -> anyhow::Result<()> {
        ws.write(*r, 0, name)?;
        ws.write_with_format(*r, 1, t.statistical_units, &st.units)?;
        ws.write_with_format(*r, 2, t.sales_adjustment_units, &st.units)?;
        ws.write_with_format(*r, 3, t.marketing_adjustment_units, &st.units)?;
        ws.write_with_format(*r, 4, t.final_units, &st.units)?;
        ws.write_with_format(*r, 5, t.final_revenue, &st.money)?;
        opt(ws, *r, 6, t.budget_revenue, &st.money)?;
        opt(ws, *r, 7, t.budget_revenue.filter(|b| *b > 0.0).map(|b| t.final_revenue / b - 1.0), &st.pct)?;
        *r += 1;
        Ok(())
    };
    for (fam, t) in &f.by_family {
        write_totals(ws, &mut r, fam, t)?;
    }
    write_totals(ws, &mut r, "all families", &f.totals)?;
    r += 1;
    ws.write_with_format(r, 0, "Month", &st.bold)?;
    r += 1;
    for (m, t) in &f.by_month {
        write_totals(ws, &mut r, m, t)?;
    }
    ws.set_column_width(0, 22)?;
    Ok(())
}

/// The Accuracy sheet: accuracy per source, lag and layer, then per family, customer and SKU.
fn accuracy_sheet(book: &mut Workbook, st: &Styles, c: &Consensus) -> anyhow::Result<()> {
    let f = &c.facts;
    let ws = book.add_worksheet().set_name("Accuracy")?;
    header(ws, 0, &["Source", "Lag (months)", "Layer", "WMAPE", "MAPE", "Bias"], &st.bold)?;
    for (i, a) in f.accuracy.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write(r, 0, &a.source)?;
        ws.write(r, 1, a.lag_months)?;
        ws.write(r, 2, layer_name(a.layer))?;
        opt(ws, r, 3, a.wmape, &st.pct)?;
        opt(ws, r, 4, a.mape, &st.pct)?;
        opt(ws, r, 5, a.bias, &st.pct)?;
    }
    let mut r = f.accuracy.len() as u32 + 2;
    header(
        ws,
        r,
        &["Family / customer / SKU", "Lag (months)", "Statistical WMAPE", "Naive WMAPE", "Actual units"],
        &st.bold,
    )?;
    for g in f.accuracy_by_family.iter().chain(&f.accuracy_by_customer).chain(&c.accuracy_by_sku) {
        r += 1;
        ws.write(r, 0, &g.group)?;
        ws.write(r, 1, g.lag_months)?;
        opt(ws, r, 2, g.statistical_wmape, &st.pct)?;
        opt(ws, r, 3, g.naive_wmape, &st.pct)?;
        ws.write_with_format(r, 4, g.actual_units, &st.units)?;
        opt(ws, r, 5, g.statistical_mape, &st.pct)?;
        opt(ws, r, 6, g.statistical_bias, &st.pct)?;
    }
    ws.set_column_width(0, 26)?;
    Ok(())
}

/// The Value added sheet: the WMAPE points each layer took off the one before it, then each
/// owner's.
fn value_added_sheet(book: &mut Workbook, st: &Styles, c: &Consensus) -> anyhow::Result<()> {
    let f = &c.facts;
    let ws = book.add_worksheet().set_name("Value added")?;
    ws.write(0, 0, "Forecast value added: how many WMAPE points each layer took off the one before it (positive helped, negative hurt).")?;
    header(
        ws,
        2,
        &["Layer", "Over", "Lag (months)", "Source", "WMAPE before", "WMAPE after", "Value added (points)"],
        &st.bold,
    )?;
    let mut r = 3u32;
    for v in &f.value_added {
        ws.write(r, 0, layer_name(v.layer))?;
        ws.write(r, 1, layer_name(v.over))?;
        ws.write(r, 2, v.lag_months)?;
        ws.write(r, 3, &v.source)?;
        opt(ws, r, 4, v.wmape_before, &st.pct)?;
        opt(ws, r, 5, v.wmape_after, &st.pct)?;
        opt(ws, r, 6, v.value_added_points, &Format::new().set_num_format("+0.0;-0.0"))?;
        r += 1;
    }
    r += 1;
    header(ws, r, &["Owner", "Layer", "Cells moved", "WMAPE without", "WMAPE with", "Value added (points)"], &st.bold)?;
    if f.value_added_by_owner.is_empty() {
        ws.write(r + 1, 0, "needs an earlier cycle's consensus in the store: measured from the next cycle on")?;
    }
    for o in &f.value_added_by_owner {
        r += 1;
        ws.write(r, 0, &o.owner)?;
        ws.write(r, 1, layer_name(o.layer))?;
        ws.write(r, 2, o.cells as u32)?;
        opt(ws, r, 3, o.wmape_before, &st.pct)?;
        opt(ws, r, 4, o.wmape_after, &st.pct)?;
        opt(ws, r, 5, o.value_added_points, &Format::new().set_num_format("+0.0;-0.0"))?;
    }
    ws.set_column_width(0, 18)?;
    ws.set_column_width(3, 26)?;
    Ok(())
}

/// The Adjustments sheet: every adjustment with its owner and reason, traceable.
fn adjustments_sheet(book: &mut Workbook, st: &Styles, c: &Consensus) -> anyhow::Result<()> {
    let f = &c.facts;
    let ws = book.add_worksheet().set_name("Adjustments")?;
    header(ws, 0, &["SKU", "Customer", "Month", "Layer", "Owner", "Reason", "Units"], &st.bold)?;
    let mut r = 1u32;
    for s in &c.series {
        for (m, traces) in s.traces.iter().enumerate() {
            for t in traces {
                ws.write(r, 0, &s.sku)?;
                ws.write(r, 1, &s.customer)?;
                ws.write(r, 2, &f.months[m])?;
                ws.write(r, 3, layer_name(t.layer))?;
                ws.write(r, 4, &t.owner)?;
                ws.write_with_format(r, 5, &t.reason, &st.wrap)?;
                ws.write_with_format(r, 6, t.delta_units, &Format::new().set_num_format("+#,##0.0;-#,##0.0"))?;
                r += 1;
            }
        }
    }
    ws.set_column_width(5, 40)?;
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// The Variance sheet: last month's actuals against the plan (volume, mix and price effects,
/// by family and top movers), then what changed since the last consensus.
fn variance_sheet(book: &mut Workbook, st: &Styles, c: &Consensus) -> anyhow::Result<()> {
    let f = &c.facts;
    let ws = book.add_worksheet().set_name("Variance")?;
    match &f.variance {
        None => {
            ws.write(0, 0, f.variance_unavailable.as_deref().unwrap_or("no variance"))?;
        }
        Some(v) => {
            ws.write_with_format(
                0,
                0,
                format!("{} actuals against the {} of cycle {}", v.month, v.against, v.against_cycle),
                &st.bold,
            )?;
            let rows: [(&str, f64); 7] = [
                ("Plan units", v.plan_units),
                ("Actual units", v.actual_units),
                ("Plan revenue", v.plan_revenue),
                ("Actual revenue", v.actual_revenue),
                ("Volume effect", v.volume_effect),
                ("Mix effect", v.mix_effect),
                ("Price effect", v.price_effect),
            ];
            for (i, (k, x)) in rows.iter().enumerate() {
                ws.write(2 + i as u32, 0, *k)?;
                ws.write_with_format(2 + i as u32, 1, *x, &st.money)?;
            }
            let mut r = 11u32;
            header(
                ws,
                r,
                &["SKU", "Family", "Plan units", "Actual units", "Variance units", "Variance revenue"],
                &st.bold,
            )?;
            for m in v.by_family.iter().chain(&v.top_movers) {
                r += 1;
                ws.write(r, 0, &m.sku)?;
                ws.write(r, 1, &m.family)?;
                ws.write_with_format(r, 2, m.plan_units, &st.units)?;
                ws.write_with_format(r, 3, m.actual_units, &st.units)?;
                ws.write_with_format(r, 4, m.variance_units, &st.units)?;
                ws.write_with_format(r, 5, m.variance_revenue, &st.money)?;
            }
        }
    }
    if let Some(ch) = &f.changes_since_last_consensus {
        // Below the variance: its 12 header rows and one row per family and mover.
        let r0 = f.variance.as_ref().map_or(2, |v| 14 + (v.by_family.len() + v.top_movers.len()) as u32);
        ws.write_with_format(
            r0,
            0,
            format!(
                "What changed since the consensus of cycle {} ({} to {})",
                ch.against_cycle, ch.from_month, ch.to_month
            ),
            &st.bold,
        )?;
        header(ws, r0 + 1, &["Family", "Last units", "This units", "Change"], &st.bold)?;
        for (i, fc) in ch.by_family.iter().enumerate() {
            let r = r0 + 2 + i as u32;
            ws.write(r, 0, &fc.family)?;
            ws.write_with_format(r, 1, fc.last_units, &st.units)?;
            ws.write_with_format(r, 2, fc.this_units, &st.units)?;
            ws.write_with_format(r, 3, fc.change_units, &st.units)?;
        }
    }
    ws.set_column_width(0, 18)?;
    Ok(())
}
