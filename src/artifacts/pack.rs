//! The reconciliation pack: five slides, always, as one self-contained HTML deck (inline CSS,
//! inline SVG, one slide per printed page of 13.333 x 7.5 in), and the appendix workbook that
//! takes everything the slides leave out (decisions 4 and on with their gaps, the notices, the
//! risks, the resolved gaps, the plan by family, quarter and units). The decisions and the
//! risks on the slides are the facts' lists, never the model's: the model writes the headline
//! and the paragraph around them. However many trade-offs there are, the deck has five
//! `section.slide` elements: what does not fit is counted on the slide and listed in the
//! appendix. Model text is escaped by tera's auto-escape.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde::Serialize;

use super::review::{Chart, bar_chart};
use super::supply_plan::option_name;
use super::xlsx::{Formats, Value, opt_num, table, text, workbook};
use crate::analysis::locale::Locale;
use crate::analysis::reconcile::decisions::notice_word;
use crate::analysis::reconcile::deltas;
use crate::analysis::reconcile::{ReconciliationFacts, kind_word};
use crate::narrative::Draft;
use crate::scenario::PackScenario;

const PACK: &str = include_str!("templates/pack.html");

/// The deck never has more slides than this.
pub const SLIDES: usize = 5;
/// Trade-offs with their options on slide 2.
const TOP: usize = 3;
/// Rows of recommended decisions on slide 4.
const DECISION_ROWS: usize = 8;
/// Family rows on slide 1 (the rest summed as "other families").
const FAMILY_ROWS: usize = 9;

fn template() -> &'static tera::Tera {
    static T: OnceLock<tera::Tera> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = tera::Tera::new();
        t.autoescape_on([".html"]);
        t.add_raw_template("pack.html", PACK).expect("the pack template parses");
        t
    })
}

#[derive(Serialize)]
struct PlanCell {
    revenue: String,
    units: Option<String>,
}

#[derive(Serialize)]
struct PlanRow {
    label: String,
    cells: Vec<PlanCell>,
}

#[derive(Serialize)]
struct OptionLine {
    kind: String,
    detail: String,
    closes: String,
    cost: String,
    margin_kept: String,
    service: String,
    recommended: bool,
}

#[derive(Serialize)]
struct RiskLine {
    id: String,
    text: String,
    owner: String,
}

#[derive(Serialize)]
struct TopTradeOff {
    rank: usize,
    id: String,
    kind: &'static str,
    place: String,
    month: String,
    near_term: bool,
    units_short: String,
    margin: String,
    gaps: usize,
    why: String,
    options: Vec<OptionLine>,
}

#[derive(Serialize)]
struct FinancialRow {
    label: String,
    revenue: String,
    margin: String,
}

#[derive(Serialize)]
struct DecisionLine {
    id: String,
    place: String,
    option: String,
    cost: String,
    buys: String,
    owner: String,
    due: String,
}

/// The deck as self-contained HTML: each slide's content, then the template.
pub fn deck_html(f: &ReconciliationFacts, narrative: &Draft, company: &str, currency: &str) -> anyhow::Result<String> {
    deck_html_with(f, narrative, company, currency, None)
}

/// What slide 2 says of the pack's scenario: its headline figures against the base (the
/// comparison's, not recomputed), the first differences in words, or why it is not shown.
#[derive(Serialize)]
struct ScenarioBox {
    name: String,
    description: String,
    rows: Vec<ScenarioRow>,
    lines: Vec<String>,
    problem: Option<String>,
}

/// The figures of the pack's scenario on slide 2 (all of them are in the appendix).
const SCENARIO_FIGURES: [&str; 5] =
    ["Revenue", "Margin after fixes", "Spend on fixes", "Service level %", "Unmet units"];

/// A figure of the pack's scenario, formatted.
#[derive(Serialize)]
struct ScenarioRow {
    label: String,
    base: String,
    scenario: String,
    difference: String,
}

fn scenario_box(p: &PackScenario, locale: Locale) -> ScenarioBox {
    let signed = |x: String, positive: bool| if positive { format!("+{x}") } else { x };
    let rows = SCENARIO_FIGURES
        .iter()
        .filter_map(|label| {
            let (b, s, d) = p.figure(label)?;
            // A service level reads as a percentage, its difference in points.
            Some(match label.strip_suffix(" %") {
                Some(shown) => ScenarioRow {
                    label: shown.to_string(),
                    base: locale.percent(b),
                    scenario: locale.percent(s),
                    difference: format!("{} pts", signed(locale.localize(&format!("{d:.1}")), d > 0.0)),
                },
                None => ScenarioRow {
                    label: label.to_string(),
                    base: locale.number(b),
                    scenario: locale.number(s),
                    difference: signed(locale.number(d), d > 0.0),
                },
            })
        })
        .collect();
    let c = p.comparison.as_ref();
    ScenarioBox {
        name: p.name.clone(),
        description: c.and_then(|c| c.outcomes.get(1)).map(|o| o.description.clone()).unwrap_or_default(),
        rows,
        lines: c
            .and_then(|c| c.explained.first())
            .map(|e| e.lines.iter().skip(1).take(2).map(|l| locale.localize(l)).collect())
            .unwrap_or_default(),
        problem: p.problem.as_ref().map(|why| why.lines().next().unwrap_or_default().to_string()),
    }
}

/// The deck, with the comparison of the pack's scenario (`[reconciliation] pack_scenario`) on
/// slide 2 when there is one.
pub fn deck_html_with(
    f: &ReconciliationFacts,
    narrative: &Draft,
    company: &str,
    currency: &str,
    scenario: Option<&PackScenario>,
) -> anyhow::Result<String> {
    let money = |x: f64| f.locale.number(x);
    let PlanSlide { quarters, plan_rows, last_signed_note } = plan_slide(f);
    let (top, more_trade_offs) = trade_offs_slide(f);
    let (chart, financial_rows) = financial_slide(f);
    let (decisions, more_decisions) = decisions_slide(f);
    let (risks, unsigned) = risks_slide(f, narrative);

    let mut c = tera::Context::new();
    c.insert("company", company);
    c.insert("currency", currency);
    c.insert("cycle", &f.cycle);
    c.insert("unsigned", &f.built_on_unsigned_inputs);
    c.insert("unsigned_detail", &unsigned.join("; "));
    c.insert("headline", &narrative.sections.headline);
    c.insert("quarters", &quarters);
    c.insert("plan_rows", &plan_rows);
    c.insert("last_signed_note", &last_signed_note);
    c.insert("trade_off_count", &f.trade_offs.len());
    c.insert("cap", &f.max_executive_decisions);
    c.insert("notice_count", &f.notices.len());
    c.insert("resolved_count", &f.resolved.len());
    c.insert("limit", &format!("{} {currency}", money(f.leads_may_approve_up_to_money)));
    c.insert("top", &top);
    c.insert("more_trade_offs", &more_trade_offs);
    c.insert("scenario", &scenario.map(|p| scenario_box(p, f.locale)));
    c.insert("chart", &chart);
    c.insert("financial_rows", &financial_rows);
    c.insert("deltas_note", &deltas_note(f));
    c.insert("paragraph", &narrative.sections.paragraphs.first());
    c.insert("executive_date", &f.executive_date);
    c.insert("decisions", &decisions);
    c.insert("more_decisions", &more_decisions);
    c.insert("accept_note", &accept_note(f));
    c.insert("risks", &risks);
    c.insert("questions", &f.open_questions);
    c.insert("narrative_source", &serde_json::to_value(narrative.source)?.as_str().unwrap_or_default());
    c.insert("model", &narrative.model);
    template().render("pack.html", &c).map_err(|e| anyhow::anyhow!("rendering the reconciliation pack: {e:?}"))
}

/// Slide 1's table: the quarters across, and a row per family (the largest by revenue), the
/// plan total, the budget and the last signed plan; with what the slide says about the last
/// signed plan.
struct PlanSlide {
    quarters: Vec<String>,
    plan_rows: Vec<PlanRow>,
    last_signed_note: String,
}

/// Slide 1: revenue / units by family and quarter, with budget and last signed plan rows.
fn plan_slide(f: &ReconciliationFacts) -> PlanSlide {
    let money = |x: f64| f.locale.number(x);
    let cell = |revenue: f64, units: f64| PlanCell { revenue: money(revenue), units: Some(money(units)) };
    let only = |revenue: String| PlanCell { revenue, units: None };
    let quarters: Vec<String> =
        f.agreed_plan.iter().map(|l| l.quarter.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let families: Vec<String> =
        f.agreed_plan.iter().map(|l| l.family.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let mut by_revenue: Vec<(String, f64)> = families
        .iter()
        .map(|fam| (fam.clone(), f.agreed_plan.iter().filter(|l| &l.family == fam).map(|l| l.revenue_money).sum()))
        .collect();
    by_revenue.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let shown: Vec<String> = by_revenue.iter().take(FAMILY_ROWS).map(|x| x.0.clone()).collect();
    let row_of = |label: String, pick: &dyn Fn(&crate::analysis::reconcile::QuarterLine) -> bool| {
        let mut cells = Vec::new();
        let (mut tr, mut tu) = (0.0, 0.0);
        for q in &quarters {
            let (r, u) = f
                .agreed_plan
                .iter()
                .filter(|l| &l.quarter == q && pick(l))
                .fold((0.0, 0.0), |acc, l| (acc.0 + l.revenue_money, acc.1 + l.units));
            tr += r;
            tu += u;
            cells.push(cell(r, u));
        }
        cells.push(cell(tr, tu));
        PlanRow { label, cells }
    };
    let mut plan_rows: Vec<PlanRow> = shown.iter().map(|fam| row_of(fam.clone(), &|l| &l.family == fam)).collect();
    if families.len() > shown.len() {
        plan_rows
            .push(row_of(format!("{} other families", families.len() - shown.len()), &|l| !shown.contains(&l.family)));
    }
    plan_rows.push(row_of("plan total".into(), &|_| true));
    let sum_opt = |q: Option<&String>, get: &dyn Fn(&crate::analysis::reconcile::QuarterLine) -> Option<f64>| {
        let vals: Vec<f64> =
            f.agreed_plan.iter().filter(|l| q.is_none_or(|q| &l.quarter == q)).filter_map(get).collect();
        if vals.is_empty() { "none".to_string() } else { money(vals.iter().sum()) }
    };
    let mut budget: Vec<PlanCell> =
        quarters.iter().map(|q| only(sum_opt(Some(q), &|l| l.budget_revenue_money))).collect();
    budget.push(only(sum_opt(None, &|l| l.budget_revenue_money)));
    plan_rows.push(PlanRow { label: "budget (revenue)".into(), cells: budget });
    let last_signed_note = match &f.last_signed_plan_cycle {
        Some(c) => {
            let pair = |q: Option<&String>| {
                let r = sum_opt(q, &|l| l.last_signed_revenue_money);
                let u = sum_opt(q, &|l| l.last_signed_units);
                PlanCell { units: (r != "none").then_some(u), revenue: r }
            };
            let mut last: Vec<PlanCell> = quarters.iter().map(|q| pair(Some(q))).collect();
            last.push(pair(None));
            plan_rows.push(PlanRow { label: format!("last signed plan ({c})"), cells: last });
            format!("The last signed plan is {c}'s, over the months both plans cover.")
        }
        None => "There is no signed plan of the previous cycle to compare against.".to_string(),
    };
    PlanSlide { quarters, plan_rows, last_signed_note }
}

/// Slide 2: the top 3 decisions with their options and what each buys, and the line counting
/// the rest and the notices.
fn trade_offs_slide(f: &ReconciliationFacts) -> (Vec<TopTradeOff>, Option<String>) {
    let top: Vec<TopTradeOff> = f
        .trade_offs
        .iter()
        .take(TOP)
        .map(|t| TopTradeOff {
            rank: t.rank,
            id: t.id.clone(),
            kind: kind_word(t.kind),
            place: t.place.clone(),
            month: t
                .months
                .last()
                .filter(|m| **m != t.month)
                .map_or(t.month.clone(), |l| format!("{} to {l}", t.month)),
            near_term: t.near_term,
            units_short: f.locale.money(t.units_short),
            margin: f.locale.money(t.margin_at_risk_money),
            gaps: t.gap_ids().len(),
            why: t.why.clone(),
            options: t
                .options
                .iter()
                .map(|o| OptionLine {
                    kind: o.key.replace('_', " "),
                    detail: o.label.clone(),
                    closes: f.locale.money(o.closes_units),
                    cost: f.locale.money(o.spend_money),
                    margin_kept: f.locale.money(o.margin_kept_money),
                    service: o.service_level_percent.map(|s| f.locale.percent(s)).unwrap_or_default(),
                    recommended: o.key == t.recommendation.option,
                })
                .collect(),
        })
        .collect();
    let mut more = Vec::new();
    if f.trade_offs.len() > TOP {
        more.push(format!("{} more decision(s)", f.trade_offs.len() - TOP));
    }
    if !f.notices.is_empty() {
        more.push(format!("{} notice(s) nobody decides this cycle", f.notices.len()));
    }
    let more_trade_offs = (!more.is_empty())
        .then(|| format!("{} are in the appendix workbook (sheets Decisions and Notices).", more.join(" and ")));
    (top, more_trade_offs)
}

/// Slide 3's row of the plan with every fix forbidden.
const WITHOUT_FIXES: &str = "with every shortfall accepted (no fix)";

/// Slide 3: financial impact, as a chart of revenue and a table of revenue and margin.
fn financial_slide(f: &ReconciliationFacts) -> (Option<Chart>, Vec<FinancialRow>) {
    let money = |x: f64| f.locale.number(x);
    let fin = &f.financial;
    let mut points = vec![
        ("unconstrained".to_string(), fin.revenue_unconstrained_money),
        ("with the recommended decisions".to_string(), fin.revenue_with_recommendations_money),
    ];
    points.extend(fin.revenue_without_fixes_money.map(|r| ("every shortfall accepted".to_string(), r)));
    points.push(("budget".to_string(), fin.budget_revenue_money));
    let title = format!("Revenue: {}", points.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>().join(", "));
    let chart = bar_chart(&title, &points, &|s| s.to_string()).map(|c| c.localized(f.locale));
    let row = |label: &str, revenue: f64, margin: Option<f64>| FinancialRow {
        label: label.into(),
        revenue: money(revenue),
        margin: margin.map(money).unwrap_or_default(),
    };
    let mut financial_rows = vec![
        row(
            "unconstrained (the demand consensus)",
            fin.revenue_unconstrained_money,
            Some(fin.margin_unconstrained_money),
        ),
        row(
            "with the recommended decisions (re-planned together)",
            fin.revenue_with_recommendations_money,
            Some(fin.margin_with_recommendations_money.unwrap_or(fin.margin_constrained_money)),
        ),
    ];
    // Left out of the supply review beyond its pricing budget: said, not dropped in silence.
    financial_rows.push(match fin.revenue_without_fixes_money {
        Some(r) => row(WITHOUT_FIXES, r, None),
        None => FinancialRow {
            label: WITHOUT_FIXES.into(),
            revenue: "not computed: beyond the supply review's pricing budget ([supply] max_piece_solves)".into(),
            margin: String::new(),
        },
    });
    financial_rows.extend([
        row("budget", fin.budget_revenue_money, None),
        row("revenue at risk with the recommended decisions", fin.revenue_at_risk_money, None),
        row("spend on fixes with the recommended decisions", fin.spend_money, None),
        row("margin lost with the recommended decisions", fin.lost_margin_money, None),
    ]);
    (chart, financial_rows)
}

/// Slide 3's lines on the plan with the recommended decisions against the budget and the last
/// signed plan (every comparison is in the appendix's `Against` sheet).
fn deltas_note(f: &ReconciliationFacts) -> Vec<String> {
    let a = &f.deltas.plan;
    let mut out = Vec::new();
    if let Some(c) = &a.budget {
        out.push(format!("Against the budget: {}.", deltas::describe(c, f.locale)));
    }
    out.push(match &a.last_signed_plan {
        Some(c) => format!(
            "Against the signed plan of {}: {}.",
            c.base_cycle.as_deref().unwrap_or_default(),
            deltas::describe(c, f.locale)
        ),
        None => "Against the last signed plan: no earlier cycle.".to_string(),
    });
    out.extend(combined_note(f));
    out
}

/// Slide 3's line when the decisions' own recommendations lose margin together
/// (`whole::Combined`): which are not recommended, and the margins after fixes.
fn combined_note(f: &ReconciliationFacts) -> Option<String> {
    let c = f.financial.combined.as_ref().filter(|c| !c.interactions.is_empty())?;
    let ids = |withdrawn: bool| -> Vec<String> {
        c.interactions.iter().filter(|x| x.withdrawn == withdrawn).map(|x| format!("D{}", x.rank)).collect()
    };
    let (out, kept) = (ids(true), ids(false));
    let mut said = format!(
        "Checked together: each decision's own recommendation gives {} of margin after fixes, the supply plan {}",
        f.locale.money(c.each_recommended_net_money),
        f.locale.money(c.supply_plan_net_money)
    );
    if !out.is_empty() {
        said.push_str(&format!("; {} not recommended (they lose margin with those ranked above)", out.join(", ")));
    }
    if !kept.is_empty() {
        said.push_str(&format!("; {} kept for the first-priority customers", kept.join(", ")));
    }
    said.push_str(&format!(": the recommended decisions give {}.", f.locale.money(c.recommended_net_money)));
    Some(said)
}

/// Slide 4's note when a decision recommends accepting the shortfall: under the default
/// allocation (customer priorities before margin) the plan is not least-cost, so no fix may
/// pay for itself.
fn accept_note(f: &ReconciliationFacts) -> Option<String> {
    let ids: Vec<String> = f
        .trade_offs
        .iter()
        .filter(|t| t.recommendation.option == "accept_shortfall")
        .map(|t| format!("D{}", t.rank))
        .collect();
    (!ids.is_empty()).then(|| {
        format!(
            "{} recommend{} accepting the shortfall: no option's plan has a better margin after fixes (the plan serves customer priorities before margin, so it is not the least-cost plan).",
            ids.join(", "),
            if ids.len() == 1 { "s" } else { "" }
        )
    })
}

/// Slide 4: the recommended decisions, and the line counting those left to the appendix.
fn decisions_slide(f: &ReconciliationFacts) -> (Vec<DecisionLine>, Option<String>) {
    let decisions: Vec<DecisionLine> = f
        .trade_offs
        .iter()
        .take(DECISION_ROWS)
        .map(|t| DecisionLine {
            id: format!("D{} {}", t.rank, t.id),
            place: t.place.clone(),
            option: t.recommendation.option.replace('_', " "),
            cost: f.locale.money(t.recommendation.cost_money),
            buys: t.recommendation.buys.clone(),
            owner: t.recommendation.owner.clone(),
            due: t.recommendation.due.clone(),
        })
        .collect();
    let more_decisions = (f.trade_offs.len() > DECISION_ROWS).then(|| {
        format!(
            "{} more recommended decision(s) are in the appendix workbook (sheet Decisions).",
            f.trade_offs.len() - DECISION_ROWS
        )
    });
    (decisions, more_decisions)
}

/// Slide 5: the top 3 risks, computed from the facts (the narrative's own list is not used: the
/// model cannot add or drop one), and which inputs are not signed.
fn risks_slide(f: &ReconciliationFacts, _narrative: &Draft) -> (Vec<RiskLine>, Vec<&'static str>) {
    let risks = f
        .risks
        .iter()
        .take(3)
        .map(|r| RiskLine { id: r.id.clone(), text: r.text.clone(), owner: r.owner.clone() })
        .collect();
    let mut unsigned = Vec::new();
    if !f.demand_consensus_signed {
        unsigned.push("the demand consensus is not signed");
    }
    if !f.supply_plan_signed {
        unsigned.push("the supply plan is not signed");
    }
    (risks, unsigned)
}

/// The Decisions sheet: every executive decision with its options (what each buys), the
/// recommendation, and its gaps.
fn decisions_sheet(
    book: &mut rust_xlsxwriter::Workbook,
    formats: &Formats,
    f: &ReconciliationFacts,
) -> anyhow::Result<()> {
    let rows: Vec<Vec<Value>> = f
        .trade_offs
        .iter()
        .map(|t| {
            let options: Vec<String> = t
                .options
                .iter()
                .map(|o| {
                    format!(
                        "{}: closes {} units, spend {}, keeps {} of margin, loses {}{}",
                        o.key,
                        f.locale.money(o.closes_units),
                        f.locale.money(o.spend_money),
                        f.locale.money(o.margin_kept_money),
                        f.locale.money(o.lost_margin_money),
                        o.service_level_percent.map_or(String::new(), |s| format!(", service {}", f.locale.percent(s)))
                    )
                })
                .collect();
            vec![
                Value::Num(t.rank as f64),
                text(&t.id),
                text(kind_word(t.kind)),
                text(&t.place),
                text(t.months.join(", ")),
                Value::Num(t.gap_ids().len() as f64),
                Value::Num(t.units_short),
                Value::Num(t.revenue_at_risk_money),
                Value::Num(t.margin_at_risk_money),
                text(&t.why),
                text(options.join("\n")),
                text(t.recommendation.option.replace('_', " ")),
                Value::Num(t.recommendation.cost_money),
                text(&t.recommendation.buys),
                text(&t.recommendation.owner),
                text(&t.recommendation.due),
                text(t.customers_hit.join(", ")),
                text(t.gap_ids().join(", ")),
            ]
        })
        .collect();
    table(
        book.add_worksheet().set_name("Decisions")?,
        formats,
        &[
            ("rank", 6.0),
            ("decision", 28.0),
            ("kind", 10.0),
            ("where", 30.0),
            ("months", 16.0),
            ("gaps", 6.0),
            ("units short", 12.0),
            ("revenue at risk", 14.0),
            ("margin at risk", 14.0),
            ("why it goes up", 40.0),
            ("options", 70.0),
            ("recommended", 16.0),
            ("spend", 12.0),
            ("what it buys", 40.0),
            ("decision owner", 26.0),
            ("due", 11.0),
            ("customers hit", 30.0),
            ("gaps", 40.0),
        ],
        rows,
    )?;
    Ok(())
}

/// The Notices sheet: what nobody decides this cycle (frozen, no fix, below the cap), and why.
fn notices_sheet(
    book: &mut rust_xlsxwriter::Workbook,
    formats: &Formats,
    f: &ReconciliationFacts,
) -> anyhow::Result<()> {
    let rows: Vec<Vec<Value>> = f
        .notices
        .iter()
        .map(|n| {
            vec![
                text(&n.id),
                text(notice_word(n.kind)),
                text(&n.place),
                text(n.months.join(", ")),
                Value::Num(n.gaps.len() as f64),
                Value::Num(n.units_short),
                Value::Num(n.margin_at_risk_money),
                Value::Num(n.customers_hit as f64),
                text(&n.text),
                text(n.gaps.join(", ")),
            ]
        })
        .collect();
    table(
        book.add_worksheet().set_name("Notices")?,
        formats,
        &[
            ("notice", 28.0),
            ("why", 14.0),
            ("where", 30.0),
            ("months", 16.0),
            ("gaps", 6.0),
            ("units short", 12.0),
            ("margin at risk", 14.0),
            ("customers hit", 10.0),
            ("what it says", 70.0),
            ("gaps", 40.0),
        ],
        rows,
    )?;
    Ok(())
}

/// The appendix workbook: every decision with its options and recommendation, the notices, the
/// risks, the resolved gaps, and the agreed plan by family and quarter.
pub fn appendix_xlsx(
    f: &ReconciliationFacts,
    company: &str,
    agenda: Option<&crate::draft::Agenda>,
) -> anyhow::Result<Vec<u8>> {
    appendix_xlsx_with(f, company, agenda, None)
}

/// The appendix workbook, with a `Scenario` sheet when the pack carries one: every figure of
/// the comparison (base, scenario, difference), the differences in words and the gaps opened
/// and closed; or why it is not shown.
pub fn appendix_xlsx_with(
    f: &ReconciliationFacts,
    company: &str,
    agenda: Option<&crate::draft::Agenda>,
    scenario: Option<&PackScenario>,
) -> anyhow::Result<Vec<u8>> {
    let mut book = workbook(&format!("Reconciliation pack appendix {}", f.cycle), company, &f.cycle)?;
    let formats = Formats::standard();
    decisions_sheet(&mut book, &formats, f)?;
    notices_sheet(&mut book, &formats, f)?;
    let rows: Vec<Vec<Value>> = f
        .risks
        .iter()
        .map(|r| {
            vec![
                Value::Num(r.rank as f64),
                text(&r.id),
                text(&r.text),
                text(&r.owner),
                r.at_stake_money.map_or(Value::Empty, Value::Num),
            ]
        })
        .collect();
    table(
        book.add_worksheet().set_name("Risks")?,
        &formats,
        &[("rank", 6.0), ("risk", 28.0), ("what", 90.0), ("owner", 26.0), ("at stake", 14.0)],
        rows,
    )?;
    let rows: Vec<Vec<Value>> = f
        .resolved
        .iter()
        .map(|r| {
            let steps: Vec<String> = r
                .steps
                .iter()
                .map(|s| {
                    f.locale.localize(&format!("{} {:.1} units for {:.2}", option_name(s.kind), s.units, s.cost_money))
                })
                .collect();
            vec![
                text(&r.id),
                text(kind_word(r.kind)),
                text(&r.place),
                text(&r.month),
                Value::Num(r.units_short),
                Value::Num(r.margin_at_risk_money),
                text(steps.join("; ")),
                Value::Num(r.cost_money),
            ]
        })
        .collect();
    table(
        book.add_worksheet().set_name("Resolved by the leads")?,
        &formats,
        &[
            ("gap", 28.0),
            ("kind", 10.0),
            ("where", 30.0),
            ("month", 9.0),
            ("units short", 12.0),
            ("margin at risk", 14.0),
            ("fixes", 50.0),
            ("cost", 12.0),
        ],
        rows,
    )?;
    let rows: Vec<Vec<Value>> = f
        .agreed_plan
        .iter()
        .map(|l| {
            vec![
                text(&l.family),
                text(&l.quarter),
                Value::Num(l.units),
                Value::Num(l.revenue_money),
                Value::Num(l.unconstrained_revenue_money),
                opt_num(l.budget_revenue_money),
                opt_num(l.last_signed_units),
                opt_num(l.last_signed_revenue_money),
            ]
        })
        .collect();
    table(
        book.add_worksheet().set_name("Agreed plan")?,
        &formats,
        &[
            ("family", 18.0),
            ("quarter", 10.0),
            ("units", 12.0),
            ("revenue", 14.0),
            ("unconstrained revenue", 16.0),
            ("budget revenue", 14.0),
            ("last signed units", 14.0),
            ("last signed revenue", 16.0),
        ],
        rows,
    )?;
    against_sheet(&mut book, &formats, f)?;
    let sheet = book.add_worksheet().set_name("Open questions")?;
    sheet.write_string(0, 0, "open questions")?;
    sheet.set_column_width(0, 100.0)?;
    for (i, q) in f.open_questions.iter().enumerate() {
        sheet.write_string(i as u32 + 1, 0, q)?;
    }
    if let Some(p) = scenario {
        scenario_sheet(&mut book, &formats, p, f.locale)?;
    }
    if let Some(a) = agenda {
        super::xlsx::agenda_sheet(&mut book, a)?;
    }
    Ok(book.save_to_buffer()?)
}

/// The appendix's `Against` sheet: the consensus and the plan with the recommended decisions
/// against the budget, last cycle's consensus and the last signed plan, one row per figure
/// (units, revenue, margin), or a row saying there is nothing to compare with.
fn against_sheet(
    book: &mut rust_xlsxwriter::Workbook,
    formats: &Formats,
    f: &ReconciliationFacts,
) -> anyhow::Result<()> {
    let d = &f.deltas;
    let mut rows: Vec<Vec<Value>> = Vec::new();
    for (side, a) in [("consensus", &d.consensus), ("plan with the recommended decisions", &d.plan)] {
        for (base, c) in [
            ("budget", &a.budget),
            ("last cycle's consensus", &a.last_cycle_consensus),
            ("last signed plan", &a.last_signed_plan),
        ] {
            let Some(c) = c else {
                let none = if base == "budget" { "no budget for the plan's months" } else { "no earlier cycle" };
                rows.push(vec![text(side), text(base), Value::Empty, text(none)]);
                continue;
            };
            let months = format!("{} to {} ({} months)", c.first_month, c.last_month, c.months_compared);
            for (figure, ch) in [("units", &c.units), ("revenue", &c.revenue_money), ("margin", &c.margin_money)] {
                let Some(ch) = ch else { continue };
                rows.push(vec![
                    text(side),
                    text(base),
                    text(c.base_cycle.clone().unwrap_or_default()),
                    text(&months),
                    text(figure),
                    Value::Num(ch.value),
                    Value::Num(ch.base),
                    Value::Num(ch.difference),
                    opt_num(ch.percent),
                ]);
            }
        }
    }
    table(
        book.add_worksheet().set_name("Against")?,
        formats,
        &[
            ("this cycle's", 30.0),
            ("against", 22.0),
            ("its cycle", 10.0),
            ("months compared", 28.0),
            ("figure", 9.0),
            ("this cycle", 14.0),
            ("against it", 14.0),
            ("difference", 14.0),
            ("difference %", 12.0),
        ],
        rows,
    )?;
    Ok(())
}

/// The appendix's `Scenario` sheet.
fn scenario_sheet(
    book: &mut rust_xlsxwriter::Workbook,
    formats: &Formats,
    p: &PackScenario,
    locale: Locale,
) -> anyhow::Result<()> {
    let mut rows: Vec<Vec<Value>> = Vec::new();
    if let Some(problem) = &p.problem {
        rows.extend(problem.lines().map(|l| vec![text(l)]));
    }
    if let Some(c) = &p.comparison {
        for r in &c.figures {
            let (b, s, d) = p.figure(&r.label).unwrap_or_default();
            rows.push(vec![text(&r.label), Value::Num(b), Value::Num(s), Value::Num(d)]);
        }
        rows.push(vec![]);
        rows.extend(c.explained.iter().flat_map(|e| e.lines.iter().map(|l| vec![text(locale.localize(l))])));
        rows.extend(c.gaps.iter().map(|g| {
            vec![text(format!(
                "gap {} {} ({} units short, {} of margin at risk)",
                g.id,
                g.change,
                locale.number(g.units_short),
                locale.money(g.margin_at_risk_money)
            ))]
        }));
    }
    let cols = [("figure", 40.0), ("base", 16.0), (p.name.as_str(), 16.0), ("difference", 16.0)];
    table(book.add_worksheet().set_name("Scenario")?, formats, &cols, rows)?;
    Ok(())
}
