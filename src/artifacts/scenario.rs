//! Scenarios side by side, as a workbook (`.xlsx`) and an HTML page (the same content as the
//! web's scenario page shows). No I/O: the renderers return bytes.

use std::sync::OnceLock;

use super::xlsx::{Formats, Value, table, text, workbook};
use crate::analysis::format_number;
use crate::scenario::Comparison;

const HTML: &str = include_str!("templates/scenario.html");

fn templates() -> &'static tera::Tera {
    static T: OnceLock<tera::Tera> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = tera::Tera::new();
        t.autoescape_on([".html"]);
        t.add_raw_template("scenario.html", HTML).expect("the scenario template parses");
        t
    })
}

fn names(c: &Comparison) -> Vec<String> {
    c.outcomes.iter().map(|o| o.name.clone()).collect()
}

/// The comparison as workbook bytes: Compare (the headline figures and the differences in
/// words), Gaps (opened and closed), Unmet by family, Unmet by customer, Changes.
pub fn compare_xlsx(c: &Comparison, company: &str) -> anyhow::Result<Vec<u8>> {
    let mut book = workbook(&format!("Scenarios {}", c.cycle), company, &c.cycle)?;
    let f = Formats::standard();
    let names = names(c);
    let mut cols: Vec<(&str, f64)> = vec![("figure", 34.0)];
    cols.extend(names.iter().map(|n| (n.as_str(), 16.0)));
    let mut rows: Vec<Vec<Value>> = c
        .figures
        .iter()
        .map(|r| std::iter::once(text(&r.label)).chain(r.values.iter().map(|v| Value::Num(*v))).collect())
        .collect();
    rows.push(vec![]);
    for e in &c.explained {
        for line in &e.lines {
            rows.push(vec![text(line.clone())]);
        }
    }
    table(book.add_worksheet().set_name("Compare")?, &f, &cols, rows)?;

    let gap_rows = c
        .gaps
        .iter()
        .map(|g| {
            vec![
                text(&g.scenario),
                text(&g.id),
                text(&g.change),
                text(format!("{:?}", g.kind).to_lowercase()),
                text(&g.month),
                Value::Num(g.units_short),
                Value::Num(g.margin_at_risk_money),
            ]
        })
        .collect();
    let gap_cols = [
        ("scenario", 18.0),
        ("gap", 26.0),
        ("opened or closed", 12.0),
        ("kind", 10.0),
        ("month", 9.0),
        ("units short", 12.0),
        ("margin at risk", 14.0),
    ];
    table(book.add_worksheet().set_name("Gaps")?, &f, &gap_cols, gap_rows)?;
    for (sheet, key, rows) in
        [("Unmet by family", "family", &c.unmet_by_family), ("Unmet by customer", "customer", &c.unmet_by_customer)]
    {
        let mut cols: Vec<(&str, f64)> = vec![(key, 22.0)];
        cols.extend(names.iter().map(|n| (n.as_str(), 14.0)));
        let rows = rows
            .iter()
            .map(|r| std::iter::once(text(&r.label)).chain(r.values.iter().map(|v| Value::Num(*v))).collect())
            .collect();
        table(book.add_worksheet().set_name(sheet)?, &f, &cols, rows)?;
    }
    let changes = c.outcomes.iter().flat_map(|o| o.changes.iter().map(|ch| vec![text(&o.name), text(ch)])).collect();
    table(
        book.add_worksheet().set_name("Changes")?,
        &f,
        &[("scenario", 18.0), ("what the change did", 120.0)],
        changes,
    )?;
    Ok(book.save_to_buffer()?)
}

/// The comparison as an HTML fragment (a `<section>`), numbers formatted.
pub fn compare_fragment(c: &Comparison) -> anyhow::Result<String> {
    let fmt_rows = |rows: &[crate::scenario::compare::Row]| -> Vec<serde_json::Value> {
        rows.iter()
            .map(|r| {
                serde_json::json!({
                    "label": r.label,
                    "values": r.values.iter().map(|v| format_number(*v)).collect::<Vec<_>>(),
                })
            })
            .collect()
    };
    let mut ctx = tera::Context::new();
    ctx.insert("cycle", &c.cycle);
    ctx.insert("names", &names(c));
    ctx.insert("figures", &fmt_rows(&c.figures));
    ctx.insert("families", &fmt_rows(&c.unmet_by_family));
    ctx.insert("customers", &fmt_rows(&c.unmet_by_customer));
    ctx.insert("explained", &c.explained);
    ctx.insert("outcomes", &c.outcomes);
    let gaps: Vec<serde_json::Value> = c
        .gaps
        .iter()
        .map(|g| {
            serde_json::json!({
                "scenario": g.scenario, "id": g.id, "change": g.change,
                "kind": format!("{:?}", g.kind).to_lowercase(), "month": g.month,
                "units_short": format_number(g.units_short),
                "margin_at_risk": format_number(g.margin_at_risk_money),
            })
        })
        .collect();
    ctx.insert("gaps", &gaps);
    templates().render("scenario.html", &ctx).map_err(|e| anyhow::anyhow!("rendering the scenario comparison: {e:?}"))
}

/// The comparison as a self-contained HTML page.
pub fn compare_html(c: &Comparison, company: &str) -> anyhow::Result<String> {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let title = format!("Scenarios {}: {}", c.cycle, names(c).join(", "));
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} · {}</title>\n<style>\nbody {{ font-family: system-ui, sans-serif; color: #1d2530; margin: 2rem auto; max-width: 64rem; padding: 0 1rem; }}\ntable {{ border-collapse: collapse; font-size: .85rem; margin: .5rem 0 1rem; }}\nth, td {{ border: 1px solid #c9d1db; padding: .25rem .45rem; text-align: left; }}\ntd.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}\n.meta {{ color: #4a5565; }}\n</style>\n</head>\n<body>\n<h1>{}</h1>\n{}\n</body>\n</html>\n",
        esc(&title),
        esc(company),
        esc(&title),
        compare_fragment(c)?
    ))
}
