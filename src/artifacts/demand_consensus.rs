//! The demand consensus as the workbook a planner opens: the layers side by side with the owner
//! of every adjustment, totals by family and month, accuracy and value added, the variance.

use rust_xlsxwriter::{Format, FormatAlign, Note, Workbook, Worksheet};

use super::xlsx::{SheetNames, sheet_pages};
use crate::analysis::demand::{Consensus, Layer, LayerTotals, Series};
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

/// Renders the workbook within `max_rows` rows a sheet (Excel's limit, 1,048,576, outside
/// tests: `Workspace::sheet_max_rows`). Its layout is chosen from
/// the sizes before a cell is written: the consensus on one sheet when it fits, else a summary
/// by family and month and the series on one sheet per family (more when a family does not
/// fit); a long adjustments or accuracy list goes on as many sheets as it takes. Every series is
/// in `consensus.parquet` and [`consensus_csv`] whatever the layout. Deterministic: the same
/// consensus gives the same bytes.
pub fn demand_consensus_xlsx(
    c: &Consensus,
    company: &str,
    signed_state: &str,
    narrative: Option<&Draft>,
    agenda: Option<&crate::draft::Agenda>,
    max_rows: u32,
) -> anyhow::Result<Vec<u8>> {
    let f = &c.facts;
    let mut book = Workbook::new();
    book.set_properties(
        &rust_xlsxwriter::DocProperties::new()
            .set_title(format!("Demand consensus {} - {company}", f.cycle))
            .set_creation_datetime(&rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 1, 1)?),
    );
    let st = Styles::new();
    let mut names = SheetNames::default();
    // The narrative first: what the meeting reads.
    if let Some(d) = narrative {
        names.name("Summary", 0);
        summary_sheet(&mut book, &st, c, company, signed_state, d)?;
    }
    consensus_sheets(&mut book, &st, c, signed_state, max_rows, &mut names)?;
    totals_sheet(&mut book, &st, c)?;
    accuracy_sheets(&mut book, &st, c, max_rows, &mut names)?;
    value_added_sheet(&mut book, &st, c)?;
    adjustments_sheets(&mut book, &st, c, max_rows, &mut names)?;
    variance_sheet(&mut book, &st, c)?;
    if let Some(a) = agenda {
        super::xlsx::agenda_sheet(&mut book, a)?;
    }
    Ok(book.save_to_buffer()?)
}

/// The file under `tables/` that holds every series as the consensus sheets show them.
pub const CONSENSUS_CSV: &str = "tables/consensus.csv";

/// Every series as the consensus sheets show it, at any size: one row per series and layer
/// (statistical, sales adjustment, marketing adjustment, final consensus), the months across,
/// then the total, in units to two decimals (the sheets show whole units; the full precision is
/// in `consensus.parquet`). Text cells escaped against formulas ([`super::csv_text`]).
pub fn consensus_csv(c: &Consensus) -> Vec<u8> {
    use std::fmt::Write as _;
    let f = &c.facts;
    let q = |s: &str| {
        let s = super::csv_text(s);
        if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.into_owned() }
    };
    let mut out = String::with_capacity(c.series.len() * 4 * (60 + 8 * f.months.len()));
    out.push_str("sku,customer,family,method,layer");
    for m in &f.months {
        out.push(',');
        out.push_str(m);
    }
    out.push_str(",total\n");
    for s in &c.series {
        let keys = format!("{},{},{},{}", q(&s.sku), q(&s.customer), q(&s.family), q(&s.method));
        for (label, values) in layers(s, f.months.len()) {
            let _ = write!(out, "{keys},{label}");
            for v in &values {
                out.push(',');
                out.push_str(&units(*v));
            }
            out.push(',');
            out.push_str(&units(values.iter().sum::<f64>()));
            out.push('\n');
        }
    }
    out.into_bytes()
}

/// Units to two decimals, without trailing zeros (`12.5`, `3`, `-0.25`).
fn units(x: f64) -> String {
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_string() } else { s.to_string() }
}

/// A series' four rows as the consensus sheets show them: the layer's label and its months.
fn layers(s: &Series, months: usize) -> [(&'static str, Vec<f64>); 4] {
    [
        ("statistical", s.statistical.clone()),
        ("sales adjustment", s.sales.clone()),
        ("marketing adjustment", s.marketing.clone()),
        ("final consensus", (0..months).map(|m| s.final_units(m)).collect()),
    ]
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
        DraftSource::ModelAfterRetry => {
            format!("Drafted by {} after a correction; every number checked against the facts.", d.model)
        }
        // The reason says which: the server gave no usable reply, or the drafts failed the check.
        DraftSource::Fallback => match &d.fallback_reason {
            Some(reason) => format!("Not written by the model: {reason}."),
            None => "Not written by the model: this text was built from the facts.".to_string(),
        },
    };
    ws.write(r, 0, source)?;
    ws.set_column_width(0, 110)?;
    Ok(())
}

/// Rows above the series on a consensus sheet: title, explanation, a blank row, the header.
const CONSENSUS_HEAD: u32 = 4;
/// Rows per series: statistical, sales and marketing adjustments, final consensus.
const ROWS_PER_SERIES: u32 = 4;

/// The consensus: every series on the Consensus sheet when they fit within `max_rows`; else
/// the Consensus sheet sums them by family and month and each family's series go on sheets of
/// their own (`Consensus <family>`, `Consensus <family> (2)` when it takes more than one).
fn consensus_sheets(
    book: &mut Workbook,
    st: &Styles,
    c: &Consensus,
    signed_state: &str,
    max_rows: u32,
    names: &mut SheetNames,
) -> anyhow::Result<()> {
    let f = &c.facts;
    let per_sheet = sheet_pages(c.series.len(), ROWS_PER_SERIES, CONSENSUS_HEAD, CONSENSUS_HEAD, max_rows);
    let title = format!("Demand consensus, cycle {} ({signed_state})", f.cycle);
    if per_sheet.len() == 1 {
        let ws = book.add_worksheet().set_name(names.name("Consensus", 0))?;
        let all: Vec<&Series> = c.series.iter().collect();
        return consensus_detail(ws, st, f.months.as_slice(), &all, &title);
    }
    let mut by_family: std::collections::BTreeMap<&str, Vec<&Series>> = std::collections::BTreeMap::new();
    for s in &c.series {
        by_family.entry(s.family.as_str()).or_default().push(s);
    }
    // The detail sheets' names first, so the summary can say how many there are.
    let mut details: Vec<(String, Vec<&Series>)> = Vec::new();
    let mut plan_names = SheetNames::default();
    for (family, series) in &by_family {
        for (k, page) in
            sheet_pages(series.len(), ROWS_PER_SERIES, CONSENSUS_HEAD, CONSENSUS_HEAD, max_rows).into_iter().enumerate()
        {
            details.push((plan_names.name(&format!("Consensus {family}"), k), series[page].to_vec()));
        }
    }
    let summary_rows = (by_family.len() + 1) * ROWS_PER_SERIES as usize;
    for (k, page) in
        sheet_pages(summary_rows, 1, CONSENSUS_HEAD + 1, CONSENSUS_HEAD + 1, max_rows).into_iter().enumerate()
    {
        let ws = book.add_worksheet().set_name(names.name("Consensus", k))?;
        consensus_summary(ws, st, c, &by_family, page, &title, details.len())?;
    }
    for (name, series) in &details {
        let ws = book.add_worksheet().set_name(names.name(name, 0))?;
        consensus_detail(ws, st, f.months.as_slice(), series, &format!("{title}: {}", series[0].family))?;
    }
    Ok(())
}

/// The Consensus sheet when the series do not fit on it: each family's layers summed by month
/// (then all families'), rows `page` of them.
fn consensus_summary(
    ws: &mut Worksheet,
    st: &Styles,
    c: &Consensus,
    by_family: &std::collections::BTreeMap<&str, Vec<&Series>>,
    page: std::ops::Range<usize>,
    title: &str,
    detail_sheets: usize,
) -> anyhow::Result<()> {
    let months = c.facts.months.len();
    ws.write_with_format(0, 0, title, &st.bold)?;
    ws.write(
        1,
        0,
        format!(
            "{} series: more than a sheet holds, so each family's layers are summed here by month, and its series are on the {detail_sheets} sheets `Consensus <family>` after this one (numbered when a family takes more than one).",
            c.series.len()
        ),
    )?;
    ws.write(2, 0, format!("Every series is also in the run's `consensus.parquet` and `{CONSENSUS_CSV}`."))?;
    let mut titles = vec!["Family", "Series", "Layer"];
    titles.extend(c.facts.months.iter().map(String::as_str));
    titles.push("Total");
    header(ws, CONSENSUS_HEAD, &titles, &st.bold)?;
    let all: Vec<&Series> = c.series.iter().collect();
    let groups = by_family.iter().map(|(f, s)| (*f, s)).chain(std::iter::once(("all families", &all)));
    let mut rows = Vec::new();
    for (family, series) in groups {
        let mut sums = [vec![0.0; months], vec![0.0; months], vec![0.0; months], vec![0.0; months]];
        for s in series.iter() {
            for (k, (_, values)) in layers(s, months).iter().enumerate() {
                for (m, v) in values.iter().enumerate() {
                    sums[k][m] += v;
                }
            }
        }
        for (k, label) in
            ["statistical", "sales adjustment", "marketing adjustment", "final consensus"].into_iter().enumerate()
        {
            rows.push((family, series.len(), label, std::mem::take(&mut sums[k])));
        }
    }
    for (i, (family, n, label, values)) in rows[page].iter().enumerate() {
        let r = CONSENSUS_HEAD + 1 + i as u32;
        let fmt = if *label == "final consensus" { &st.units_bold } else { &st.units };
        ws.write(r, 0, *family)?;
        ws.write(r, 1, *n as u32)?;
        ws.write(r, 2, *label)?;
        for (m, v) in values.iter().enumerate() {
            ws.write_with_format(r, 3 + m as u16, *v, fmt)?;
        }
        ws.write_with_format(r, 3 + months as u16, values.iter().sum::<f64>(), fmt)?;
    }
    ws.set_freeze_panes(CONSENSUS_HEAD + 1, 3)?;
    ws.set_column_width(0, 22)?;
    ws.set_column_width(2, 20)?;
    Ok(())
}

/// A consensus sheet of `series`: four rows each (statistical, sales and marketing
/// adjustments, final), months across, a note on each adjusted cell naming its owners and
/// reasons.
fn consensus_detail(
    ws: &mut Worksheet,
    st: &Styles,
    months: &[String],
    series: &[&Series],
    title: &str,
) -> anyhow::Result<()> {
    ws.write_with_format(0, 0, title, &st.bold)?;
    ws.write(1, 0, "Statistical forecast, sales adjustment, marketing adjustment and final consensus side by side; a note on an adjusted cell names its owners and reasons.")?;
    let mut titles = vec!["SKU", "Customer", "Family", "Method", "Layer"];
    titles.extend(months.iter().map(String::as_str));
    titles.push("Total");
    header(ws, CONSENSUS_HEAD - 1, &titles, &st.bold)?;
    let first_month_col = 5u16;
    let mut row = CONSENSUS_HEAD;
    for s in series {
        for (label, values) in layers(s, months.len()) {
            ws.write(row, 0, &s.sku)?;
            ws.write(row, 1, &s.customer)?;
            ws.write(row, 2, &s.family)?;
            ws.write(row, 3, &s.method)?;
            ws.write(row, 4, label)?;
            let fmt = if label == "final consensus" { &st.units_bold } else { &st.units };
            let layer = match label {
                "sales adjustment" => Some(Layer::Sales),
                "marketing adjustment" => Some(Layer::Marketing),
                _ => None,
            };
            for (m, v) in values.iter().enumerate() {
                ws.write_with_format(row, first_month_col + m as u16, *v, fmt)?;
                let traces: Vec<String> = s.traces[m]
                    .iter()
                    .filter(|t| Some(t.layer) == layer)
                    .map(|t| format!("{}: {:+.1} ({})", t.owner, t.delta_units, t.reason))
                    .collect();
                if !traces.is_empty() {
                    ws.insert_note(row, first_month_col + m as u16, &Note::new(traces.join("\n")).set_author("snop"))?;
                }
            }
            ws.write_with_format(row, first_month_col + months.len() as u16, values.iter().sum::<f64>(), fmt)?;
            row += 1;
        }
    }
    ws.set_freeze_panes(CONSENSUS_HEAD, 5)?;
    ws.autofilter(
        CONSENSUS_HEAD - 1,
        0,
        row.saturating_sub(1).max(CONSENSUS_HEAD),
        first_month_col + months.len() as u16,
    )?;
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

/// The Accuracy sheet: accuracy per source, lag and layer, then per family, customer and SKU
/// (continued on `Accuracy (2)` and on when they do not fit within `max_rows`).
fn accuracy_sheets(
    book: &mut Workbook,
    st: &Styles,
    c: &Consensus,
    max_rows: u32,
    names: &mut SheetNames,
) -> anyhow::Result<()> {
    let f = &c.facts;
    let groups: Vec<_> = f.accuracy_by_family.iter().chain(&f.accuracy_by_customer).chain(&c.accuracy_by_sku).collect();
    // The first sheet: a header, the accuracy rows, a blank row and the groups' header.
    let first_head = f.accuracy.len() as u32 + 3;
    for (k, page) in sheet_pages(groups.len(), 1, first_head, 1, max_rows).into_iter().enumerate() {
        let ws = book.add_worksheet().set_name(names.name("Accuracy", k))?;
        let mut r = 0u32;
        if k == 0 {
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
            r = f.accuracy.len() as u32 + 2;
        }
        header(
            ws,
            r,
            &["Family / customer / SKU", "Lag (months)", "Statistical WMAPE", "Naive WMAPE", "Actual units"],
            &st.bold,
        )?;
        for g in &groups[page] {
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
    }
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

/// The Adjustments sheet: every adjustment with its owner and reason, traceable (continued on
/// `Adjustments (2)` and on when they do not fit within `max_rows`).
fn adjustments_sheets(
    book: &mut Workbook,
    st: &Styles,
    c: &Consensus,
    max_rows: u32,
    names: &mut SheetNames,
) -> anyhow::Result<()> {
    let f = &c.facts;
    let rows: Vec<_> = c
        .series
        .iter()
        .flat_map(|s| s.traces.iter().enumerate().flat_map(move |(m, traces)| traces.iter().map(move |t| (s, m, t))))
        .collect();
    let delta = Format::new().set_num_format("+#,##0.0;-#,##0.0");
    for (k, page) in sheet_pages(rows.len(), 1, 1, 1, max_rows).into_iter().enumerate() {
        let ws = book.add_worksheet().set_name(names.name("Adjustments", k))?;
        header(ws, 0, &["SKU", "Customer", "Month", "Layer", "Owner", "Reason", "Units"], &st.bold)?;
        for (i, (s, m, t)) in rows[page].iter().enumerate() {
            let r = i as u32 + 1;
            ws.write(r, 0, &s.sku)?;
            ws.write(r, 1, &s.customer)?;
            ws.write(r, 2, &f.months[*m])?;
            ws.write(r, 3, layer_name(t.layer))?;
            ws.write(r, 4, &t.owner)?;
            ws.write_with_format(r, 5, &t.reason, &st.wrap)?;
            ws.write_with_format(r, 6, t.delta_units, &delta)?;
        }
        ws.set_column_width(5, 40)?;
        ws.set_freeze_panes(1, 0)?;
    }
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
