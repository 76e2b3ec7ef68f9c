//! A draft as people read it: a self-contained HTML page (inline CSS, an inline SVG chart,
//! print-friendly) and Markdown, each opening with the meeting's one-page agenda. Rendered from
//! a draft's stored content (`DraftContent`), so what is rendered is what is signed: the
//! pipeline writes the first version's pages into the run folder, and `snop drafts show --html`
//! or `--markdown` renders any version, as it stands, on demand.
//!
//! Model text is untrusted: the HTML template is auto-escaped by tera; for Markdown every text
//! is escaped here (`<`, `>`, `&` as entities, `|` in table cells).

use std::sync::OnceLock;

use serde::Serialize;

use crate::draft::{Agenda, AgendaDecision, DraftContent, DraftDetail, LastCycle};
use crate::narrative::Narrative;
use crate::sop::{Artifact, Directory};

const HTML: &str = include_str!("templates/artifact.html");
const MARKDOWN: &str = include_str!("templates/artifact.md");

fn templates() -> &'static tera::Tera {
    static T: OnceLock<tera::Tera> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = tera::Tera::new();
        t.autoescape_on([".html"]);
        t.add_raw_template("artifact.html", HTML).expect("the HTML template parses");
        t.add_raw_template("artifact.md", MARKDOWN).expect("the Markdown template parses");
        t
    })
}

/// What the page says about the version it shows.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    /// The version number (for a page rendered before the draft is stored: the one it will get).
    pub version: i64,
    pub state: String,
    pub content_sha256: String,
    /// "signed by Dana Whitfield (demand lead) at ...", when signed.
    pub signed_line: Option<String>,
}

impl Standing {
    /// A stored draft version as it stands: its state and who signed it.
    pub fn of(d: &DraftDetail, dir: &Directory) -> Standing {
        let signed_line = (!d.signatures.is_empty()).then(|| {
            let who: Vec<String> = d
                .signatures
                .iter()
                .map(|s| format!("{} ({}) at {}", dir.name(&s.actor), crate::sop::role_title(&s.role), s.at))
                .collect();
            format!("signed by {}", who.join(" and "))
        });
        Standing {
            version: d.row.version,
            state: d.row.state.to_string(),
            content_sha256: d.row.content_sha256.clone(),
            signed_line,
        }
    }
}

/// A cell of a review page's table: its text as a planner reads it, and whether it is a number.
#[derive(Debug, Clone, Serialize)]
pub struct TableCell {
    pub text: String,
    pub num: bool,
}

/// A table of the facts (one per list of records).
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<TableCell>>,
    pub more: Option<String>,
}

#[derive(Serialize)]
struct Scalar {
    key: String,
    value: String,
}

#[derive(Serialize)]
pub(crate) struct Bar {
    label: String,
    value: String,
    label_x: u32,
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    value_x: u32,
    text_y: u32,
}

#[derive(Serialize)]
pub(crate) struct Chart {
    title: String,
    width: u32,
    height: u32,
    bars: Vec<Bar>,
}

impl Chart {
    /// The bars' values written in `locale`.
    pub(crate) fn localized(mut self, locale: crate::analysis::locale::Locale) -> Chart {
        for b in &mut self.bars {
            b.value = locale.localize(&b.value);
        }
        self
    }
}

#[derive(Serialize)]
struct FileLine {
    name: String,
    sha: String,
}

#[derive(Serialize)]
struct Page<'a> {
    title: String,
    company: &'a str,
    cycle: &'a str,
    meeting: &'static str,
    version: i64,
    state: &'a str,
    signed_line: Option<String>,
    content_sha256: &'a str,
    narrative_source: &'a str,
    /// Why the narrative is the fallback, escaped for the page.
    fallback_reason: Option<String>,
    model: &'a str,
    agenda: Agenda,
    /// The agenda as printed: one page.
    one: OnePage,
    /// The artifact this meeting produces ("demand consensus").
    output: &'static str,
    /// The meeting its decisions go to ("supply review"; "next cycle" for the last).
    next_meeting: &'static str,
    narrative: Narrative,
    chart: Option<Chart>,
    scalars: Vec<Scalar>,
    tables: Vec<Table>,
    files: Vec<FileLine>,
}

const MAX_ROWS: usize = 25;

/// A list of the printed agenda: the items shown and how many more there are (listed in full
/// on the page on screen).
#[derive(Debug, Clone, Serialize)]
pub struct Cut<T> {
    pub shown: Vec<T>,
    pub more: usize,
}

impl<T: Clone> Cut<T> {
    fn of(items: &[T], cap: usize) -> Cut<T> {
        Cut { shown: items.iter().take(cap).cloned().collect(), more: items.len().saturating_sub(cap) }
    }
}

/// One owner's decisions: the agenda's fifth line.
#[derive(Debug, Clone, Serialize)]
pub struct OwnerLine {
    pub owner: String,
    pub count: usize,
    pub first_due: String,
    pub last_due: String,
}

/// The agenda as it prints on one A4 or Letter page: the seed's five lines, each list cut at
/// [`PRINT_CAPS`] items (each item at most two printed lines), the rest "and N more".
#[derive(Debug, Clone, Serialize)]
pub struct OnePage {
    /// Last cycle's promises scored.
    pub lines: Cut<String>,
    pub attention: Cut<AgendaDecision>,
    /// Last cycle's signed agenda's decisions.
    pub commitments: Cut<AgendaDecision>,
    pub this_cycle: Cut<String>,
    pub risks: Cut<String>,
    pub decisions: Cut<AgendaDecision>,
    /// Line 5: each owner of a decision needed, with how many and by when.
    pub owners: Cut<OwnerLine>,
    /// Whether any list was cut (the page then lists them in full, on screen).
    pub cut: bool,
}

/// How many items each list of the printed agenda shows: scorecard lines, items needing
/// attention, last cycle's commitments, this cycle's output, risks, decisions, owners. At these
/// caps, with every item two lines long, the agenda prints on one A4 and one Letter page
/// (`tests/it/agenda.rs` prints it with Chromium and counts).
pub const PRINT_CAPS: [usize; 7] = [3, 3, 3, 4, 3, 4, 4];

/// The printed agenda of `agenda` (already escaped for its page).
pub fn one_page(agenda: &Agenda) -> OnePage {
    let [lines, attention, commitments, this_cycle, risks, decisions, owners] = PRINT_CAPS;
    let card = agenda.scorecard.as_ref();
    let mut by_owner: Vec<OwnerLine> = Vec::new();
    for d in &agenda.decisions {
        match by_owner.iter_mut().find(|o| o.owner == d.owner) {
            Some(o) => {
                o.count += 1;
                if d.due < o.first_due {
                    o.first_due = d.due.clone();
                }
                if d.due > o.last_due {
                    o.last_due = d.due.clone();
                }
            }
            None => by_owner.push(OwnerLine {
                owner: d.owner.clone(),
                count: 1,
                first_due: d.due.clone(),
                last_due: d.due.clone(),
            }),
        }
    }
    let mut one = OnePage {
        lines: Cut::of(card.map_or(&[][..], |c| &c.lines), lines),
        attention: Cut::of(card.map_or(&[][..], |c| &c.attention), attention),
        commitments: Cut::of(agenda.last_cycle.as_ref().map_or(&[][..], |l| &l.commitments), commitments),
        this_cycle: Cut::of(&agenda.this_cycle, this_cycle),
        risks: Cut::of(&agenda.top_risks, risks),
        decisions: Cut::of(&agenda.decisions, decisions),
        owners: Cut::of(&by_owner, owners),
        cut: false,
    };
    one.cut = one.lines.more
        + one.attention.more
        + one.commitments.more
        + one.this_cycle.more
        + one.risks.more
        + one.decisions.more
        + one.owners.more
        > 0;
    one
}

/// The page as HTML.
pub fn html(content: &DraftContent, standing: &Standing) -> anyhow::Result<String> {
    let page = page(content, standing, &|s: &str| s.to_string());
    render("artifact.html", &page)
}

/// The page as Markdown.
pub fn markdown(content: &DraftContent, standing: &Standing) -> anyhow::Result<String> {
    let page = page(content, standing, &md_escape);
    render("artifact.md", &page)
}

fn render(name: &str, page: &Page<'_>) -> anyhow::Result<String> {
    let mut context = tera::Context::new();
    context.insert("title", &page.title);
    let value = serde_json::to_value(page)?;
    if let serde_json::Value::Object(map) = value {
        for (k, v) in map {
            context.insert(k, &v);
        }
    }
    templates().render(name, &context).map_err(|e| anyhow::anyhow!("rendering `{name}`: {e:?}"))
}

/// A person's or the model's text as inert Markdown: no HTML (`<`, `>`, `&`), no table cell
/// break, one line. A link or image is kept only when it points inside the workspace (a
/// relative path: `tables/gaps.parquet`); any other keeps its text and loses its address
/// (`[x](https://evil.example)` is `x`), and a bare web address is dropped (Markdown viewers
/// make it live). Brackets left over are escaped, so nothing else reads as a link.
fn md_escape(s: &str) -> String {
    static LINK: std::sync::OnceLock<(regex::Regex, regex::Regex)> = std::sync::OnceLock::new();
    let (link, bare) = LINK.get_or_init(|| {
        (
            regex::Regex::new(r"!?\[([^\]\n]*)\]\(\s*<?((?:[^()\s>]|\([^()\s]*\))*)>?(?:\s+[^)]*)?\)")
                .expect("link pattern"),
            regex::Regex::new(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.|mailto:)[^\s<>()\[\]]*").expect("address pattern"),
        )
    });
    let inside = |url: &str| {
        !url.is_empty()
            && !url.starts_with(['/', '\\'])
            && !url.contains("..")
            && url.bytes().all(|b| b.is_ascii_alphanumeric() || b"_./#-".contains(&b))
    };
    let mut out = String::new();
    let mut last = 0;
    for caps in link.captures_iter(s) {
        let whole = caps.get(0).expect("match");
        out.push_str(&md_text(&bare.replace_all(&s[last..whole.start()], "(address removed)")));
        let text = md_text(&bare.replace_all(&caps[1], "(address removed)"));
        if inside(&caps[2]) {
            out.push_str(&format!("[{text}]({})", &caps[2]));
        } else {
            out.push_str(&text);
        }
        last = whole.end();
    }
    out.push_str(&md_text(&bare.replace_all(&s[last..], "(address removed)")));
    out
}

/// Text as inert Markdown: entities for HTML, `|` and brackets escaped, one line.
fn md_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace('\n', " ")
}

fn page<'a>(c: &'a DraftContent, s: &'a Standing, esc: &dyn Fn(&str) -> String) -> Page<'a> {
    let artifact = Artifact::from_key(&c.artifact).unwrap_or(Artifact::DemandConsensus);
    let n = &c.narrative;
    let narrative = Narrative {
        headline: esc(&n.headline),
        paragraphs: n.paragraphs.iter().map(|p| esc(p)).collect(),
        risks: n.risks.iter().map(|r| esc(r)).collect(),
    };
    let mut agenda = c.agenda.clone();
    let esc_d = |d: &mut AgendaDecision| {
        d.decision = esc(&d.decision);
        d.owner = esc(&d.owner);
    };
    agenda.this_cycle = agenda.this_cycle.iter().map(|l| esc(l)).collect();
    agenda.top_risks = agenda.top_risks.iter().map(|l| esc(l)).collect();
    agenda.decisions.iter_mut().for_each(esc_d);
    if let Some(last) = &mut agenda.last_cycle {
        last.commitments.iter_mut().for_each(esc_d);
        last.signed_by = esc(&last.signed_by);
    }
    if let Some(card) = &mut agenda.scorecard {
        card.lines = card.lines.iter().map(|l| esc(l)).collect();
        card.attention.iter_mut().for_each(esc_d);
    }
    let (mut scalars, mut tables) = facts_tables(&c.facts, esc, MAX_ROWS);
    let locale = c.locale.as_deref().and_then(Locale::parse).unwrap_or_default();
    if locale != Locale::EnUs {
        for s in &mut scalars {
            s.value = locale.localize(&s.value);
        }
        for cell in tables.iter_mut().flat_map(|t| t.rows.iter_mut().flatten()).filter(|c| c.num) {
            cell.text = locale.localize(&cell.text);
        }
    }
    Page {
        title: capitalise(artifact.title()),
        company: &c.company,
        cycle: &c.cycle,
        meeting: artifact.meeting(),
        version: s.version,
        state: &s.state,
        signed_line: s.signed_line.clone(),
        content_sha256: &s.content_sha256,
        narrative_source: &c.narrative_source,
        fallback_reason: c.fallback_reason.as_deref().map(esc),
        model: &c.model,
        one: one_page(&agenda),
        agenda,
        output: artifact.title(),
        next_meeting: artifact.next().map_or("next cycle", Artifact::meeting),
        narrative,
        chart: chart(artifact, &c.facts, esc).map(|c| c.localized(locale)),
        scalars,
        tables,
        files: c.files.iter().map(|(name, sha)| FileLine { name: esc(name), sha: sha.clone() }).collect(),
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|f| f.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}

pub use crate::analysis::format_number;
use crate::analysis::locale::Locale;

/// The text a value of the facts is shown as (unescaped).
pub(crate) fn cell_text(v: &serde_json::Value) -> String {
    cell(v, &|s: &str| s.to_string()).text
}

fn cell(v: &serde_json::Value, esc: &dyn Fn(&str) -> String) -> TableCell {
    match v {
        serde_json::Value::Number(n) => TableCell { text: format_number(n.as_f64().unwrap_or_default()), num: true },
        serde_json::Value::String(s) => TableCell { text: esc(s), num: false },
        serde_json::Value::Null => TableCell { text: String::new(), num: false },
        serde_json::Value::Bool(b) => TableCell { text: b.to_string(), num: false },
        serde_json::Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            TableCell { text: items.iter().map(|i| cell(i, esc).text).collect::<Vec<_>>().join(", "), num: false }
        }
        serde_json::Value::Array(items) => {
            TableCell { text: items.iter().map(|i| cell(i, esc).text).collect::<Vec<_>>().join("; "), num: false }
        }
        serde_json::Value::Object(fields) => {
            let parts: Vec<String> =
                fields.iter().map(|(k, v)| format!("{} {}", esc(&k.replace('_', " ")), cell(v, esc).text)).collect();
            TableCell { text: parts.join(", "), num: false }
        }
    }
}

/// Every table of the facts with all its rows, unescaped: what `tables::of_facts` must agree with.
#[cfg(test)]
pub(crate) fn tables(facts: &serde_json::Value) -> Vec<Table> {
    facts_tables(facts, &|s: &str| s.to_string(), usize::MAX).1
}

/// The facts as a key/value list (scalars) and one table per list of records, each cut at
/// `max_rows`.
fn facts_tables(facts: &serde_json::Value, esc: &dyn Fn(&str) -> String, max_rows: usize) -> (Vec<Scalar>, Vec<Table>) {
    let mut scalars = Vec::new();
    let mut tables = Vec::new();
    let Some(map) = facts.as_object() else { return (scalars, tables) };
    for (key, value) in map {
        let title = esc(&key.replace('_', " "));
        match value {
            serde_json::Value::Array(items) if items.first().is_some_and(serde_json::Value::is_object) => {
                let mut columns: Vec<String> = Vec::new();
                for item in items {
                    for k in item.as_object().into_iter().flat_map(|o| o.keys()) {
                        if !columns.contains(k) {
                            columns.push(k.clone());
                        }
                    }
                }
                let rows = items
                    .iter()
                    .take(max_rows)
                    .map(|item| {
                        columns.iter().map(|c| cell(item.get(c).unwrap_or(&serde_json::Value::Null), esc)).collect()
                    })
                    .collect();
                let more = (items.len() > max_rows).then(|| {
                    format!("the first {max_rows} of {} rows; all of them are in the run's files", items.len())
                });
                tables.push(Table {
                    title,
                    columns: columns.iter().map(|c| esc(&c.replace('_', " "))).collect(),
                    rows,
                    more,
                });
            }
            serde_json::Value::Object(inner) => {
                let columns = inner.keys().map(|k| esc(&k.replace('_', " "))).collect();
                let row = inner.values().map(|v| cell(v, esc)).collect();
                tables.push(Table { title, columns, rows: vec![row], more: None });
            }
            other => scalars.push(Scalar { key: title, value: cell(other, esc).text }),
        }
    }
    (scalars, tables)
}

/// A horizontal bar chart of the artifact's headline measure, as inline SVG geometry.
fn chart(artifact: Artifact, facts: &serde_json::Value, esc: &dyn Fn(&str) -> String) -> Option<Chart> {
    let (title, list, label_keys, value_key) = match artifact {
        Artifact::DemandConsensus => ("Final consensus by family (units)", "families", &["family"][..], "final_units"),
        Artifact::SupplyPlan => (
            "Near-term overloads (hours over regular)",
            "near_term_overloads",
            &["resource", "month"][..],
            "overload_hours",
        ),
        _ => return None,
    };
    let items = facts.get(list)?.as_array()?;
    let points: Vec<(String, f64)> = items
        .iter()
        .filter_map(|i| {
            let label = label_keys.iter().filter_map(|k| i.get(*k)?.as_str()).collect::<Vec<_>>().join(" ");
            Some((label, i.get(value_key)?.as_f64()?))
        })
        .take(15)
        .collect();
    bar_chart(title, &points, esc)
}

/// A horizontal bar chart as inline SVG geometry (labels escaped with `esc`); `None` without a
/// positive value.
pub(crate) fn bar_chart(title: &str, points: &[(String, f64)], esc: &dyn Fn(&str) -> String) -> Option<Chart> {
    let max = points.iter().map(|p| p.1).fold(0.0_f64, f64::max);
    if points.is_empty() || max <= 0.0 {
        return None;
    }
    let (label_w, bar_w, row_h) = (190_u32, 420_u32, 22_u32);
    let bars = points
        .iter()
        .enumerate()
        .map(|(i, (label, v))| {
            let y = 6 + row_h * i as u32;
            let width = ((v.max(0.0) / max) * f64::from(bar_w)).round() as u32;
            Bar {
                label: esc(label),
                value: format_number(*v),
                label_x: label_w - 6,
                x: label_w,
                y,
                width,
                height: row_h - 6,
                value_x: label_w + width + 4,
                text_y: y + row_h - 10,
            }
        })
        .collect();
    Some(Chart { title: title.into(), width: label_w + bar_w + 90, height: 12 + row_h * points.len() as u32, bars })
}

/// The one-page agenda of a new draft: last cycle's signed version and its decisions, this
/// cycle's output, the top 3 risks, and what the next meeting up must decide, by whom and when.
pub fn agenda(
    artifact: Artifact,
    dates: &crate::calendar::Cycle,
    dir: &Directory,
    narrative: &Narrative,
    facts: &serde_json::Value,
    last: Option<&DraftDetail>,
) -> Agenda {
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let meeting = dates.meeting(artifact);
    let last_cycle = last.map(|d| LastCycle {
        cycle: d.row.cycle.clone(),
        version: d.row.version,
        signed_by: d.signatures.iter().map(|s| dir.name(&s.actor)).collect::<Vec<_>>().join(" and "),
        signed_at: d.signatures.last().map(|s| s.at.clone()).unwrap_or_default(),
        commitments: d.content.agenda.decisions.clone(),
    });
    let this_cycle = this_cycle(artifact, narrative, facts);
    let top_risks: Vec<String> = narrative.risks.iter().take(3).cloned().collect();
    let top_risks =
        if top_risks.is_empty() { vec!["no risks were named in the narrative".to_string()] } else { top_risks };
    let (owner, due) = match artifact.next() {
        Some(next) => (dir.describe(next.owner_roles(), " and "), day(dates.meeting(next).first)),
        None => (dir.describe(artifact.owner_roles(), " and "), day(meeting.last)),
    };
    let next_meeting = artifact.next().map_or("the next cycle", Artifact::meeting);
    let decisions = decisions_needed(artifact, dir, facts, &top_risks, next_meeting, &owner, &due);
    Agenda {
        scorecard: None,
        meeting: artifact.meeting().into(),
        first_day: day(meeting.first),
        last_day: day(meeting.last),
        last_cycle,
        this_cycle,
        top_risks,
        decisions,
    }
}

/// The number at `path` in the facts, if there is one.
fn number_at(facts: &serde_json::Value, path: &[&str]) -> Option<f64> {
    let mut v = facts;
    for p in path {
        v = v.get(*p)?;
    }
    v.as_f64()
}

/// The agenda's "this cycle's output": the narrative's headline and the artifact's headline
/// numbers.
fn this_cycle(artifact: Artifact, narrative: &Narrative, facts: &serde_json::Value) -> Vec<String> {
    let mut this_cycle = vec![narrative.headline.clone()];
    let num = |path: &[&str]| number_at(facts, path);
    match artifact {
        Artifact::DemandConsensus => {
            if let Some(u) = num(&["totals", "final_units"]) {
                this_cycle.push(format!("final consensus {} units over the plan horizon", format_number(u)));
            }
            if let Some(r) = num(&["totals", "final_revenue"]) {
                let budget = num(&["totals", "budget_revenue"])
                    .map(|b| format!(" against a budget of {}", format_number(b)))
                    .unwrap_or_default();
                this_cycle.push(format!("final consensus revenue {}{budget}", format_number(r)));
            }
        }
        Artifact::SupplyPlan => {
            for (key, what) in [
                ("unmet_units", "units of demand cannot be met"),
                ("constrained_units", "units in the constrained plan"),
            ] {
                if let Some(u) = num(&["totals", key]) {
                    this_cycle.push(format!("{} {what}", format_number(u)));
                }
            }
        }
        Artifact::CommitmentLog => {
            if let (Some(n), Some(u), Some(by)) =
                (num(&["lines"]), num(&["short_units"]), facts.get("communicate_by").and_then(|v| v.as_str()))
            {
                this_cycle.push(format!(
                    "{} commitment lines ({} units less than asked) to communicate to customers by {by}",
                    format_number(n),
                    format_number(u)
                ));
            }
            if let Some(u) = num(&["to_book_units"]) {
                this_cycle.push(format!("{} units the plan commits beyond the order book, to book", format_number(u)));
            }
        }
        _ => {}
    }
    this_cycle
}

/// What the next meeting up must decide on the top gaps (at most 3), each with its
/// recommended option.
fn gap_decisions(facts: &serde_json::Value, next_meeting: &str, owner: &str, due: &str) -> Vec<AgendaDecision> {
    facts
        .get("top_gaps")
        .and_then(serde_json::Value::as_array)
        .map(|gaps| {
            gaps.iter()
                .take(3)
                .filter_map(|g| {
                    let id = g.get("id")?.as_str()?;
                    let option = g
                        .get("recommended")
                        .and_then(|r| r.as_array())
                        .and_then(|r| r.first())
                        .and_then(|o| o.get("kind"))
                        .and_then(|k| k.as_str())
                        .unwrap_or("an option");
                    Some(AgendaDecision {
                        decision: format!(
                            "{next_meeting}: choose how to close gap `{id}` (recommended: {})",
                            option.replace('_', " ")
                        ),
                        owner: owner.to_string(),
                        due: due.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The agenda's decisions needed: the top gaps', or the artifact's own (the pack's trade-offs,
/// the signed plan's decisions, the commitment log's lines), else a response to each risk.
fn decisions_needed(
    artifact: Artifact,
    dir: &Directory,
    facts: &serde_json::Value,
    top_risks: &[String],
    next_meeting: &str,
    owner: &str,
    due: &str,
) -> Vec<AgendaDecision> {
    let num = |path: &[&str]| number_at(facts, path);
    let mut decisions = gap_decisions(facts, next_meeting, owner, due);
    // The pack's trade-offs go to the executive meeting; the signed plan's decisions and the
    // commitment log's lines are this cycle's promises, each with its owner and date.
    let list = |key: &str| facts.get(key).and_then(serde_json::Value::as_array).cloned().unwrap_or_default();
    let text = |v: &serde_json::Value, key: &str| v.get(key).and_then(serde_json::Value::as_str).map(str::to_string);
    match artifact {
        Artifact::ReconciliationPack => {
            decisions = list("top_trade_offs")
                .iter()
                .take(3)
                .filter_map(|t| {
                    Some(AgendaDecision {
                        decision: format!(
                            "{next_meeting}: decide trade-off `{}` ({} in {}; recommended: {})",
                            text(t, "id")?,
                            text(t, "place")?,
                            text(t, "month")?,
                            text(t, "recommended_option").unwrap_or_default().replace('_', " ")
                        ),
                        owner: owner.to_string(),
                        due: due.to_string(),
                    })
                })
                .collect();
        }
        Artifact::SignedPlan => {
            decisions = list("decisions")
                .iter()
                .take(3)
                .filter_map(|d| {
                    Some(AgendaDecision {
                        decision: format!(
                            "carry out `{}`: {}{}",
                            text(d, "tradeoff_id")?,
                            text(d, "decision")?,
                            text(d, "scenario").map_or(String::new(), |s| format!(" (cites scenario `{s}`)"))
                        ),
                        owner: dir.name(&text(d, "owner")?),
                        due: text(d, "due")?,
                    })
                })
                .collect();
        }
        Artifact::CommitmentLog => {
            if let (Some(n), Some(by)) = (num(&["lines"]), text(facts, "communicate_by")) {
                decisions = vec![AgendaDecision {
                    decision: format!(
                        "tell customers of the {} commitment lines the plan gives less",
                        format_number(n)
                    ),
                    owner: dir.describe(&["sales_lead"], " and "),
                    due: by,
                }];
            }
        }
        _ => {}
    }
    if decisions.is_empty() {
        decisions = top_risks
            .iter()
            .filter(|r| !r.starts_with("no risks"))
            .map(|r| AgendaDecision {
                decision: format!("{next_meeting}: decide the response to: {r}"),
                owner: owner.to_string(),
                due: due.to_string(),
            })
            .collect();
    }
    decisions
}

/// The agenda's first line: last cycle's promises against this cycle's facts, from the
/// commitments scored (`LoopFacts`, when last cycle has a commitment log and a signed plan) and
/// the executive decisions' progress at `as_of`. `None` when there is nothing to score.
pub fn scorecard(
    scored_cycle: &str,
    as_of: &str,
    dir: &Directory,
    commitments: Option<&crate::analysis::commitments::LoopFacts>,
    decisions: &[crate::analysis::executive::DecisionProgress],
) -> Option<crate::draft::Scorecard> {
    use crate::analysis::commitments::Outcome;
    use crate::analysis::executive::Progress;
    if commitments.is_none() && decisions.is_empty() {
        return None;
    }
    let mut lines = Vec::new();
    let mut attention = Vec::new();
    if let Some(l) = commitments {
        lines.push(format!(
            "commitments to customers ({}): {} kept, {} missed ({} units short), {} re-negotiated, {} not yet due",
            l.scored_cycle,
            l.kept,
            l.missed,
            format_number(l.missed_units),
            l.renegotiated,
            l.not_yet_due
        ));
        let o = &l.orders;
        lines.push(format!(
            "order lines booked outside the signed plan: {} of {} ({} units): {} beyond the planned quantity, {} with no plan",
            o.lines_beyond_plan + o.lines_without_plan,
            o.order_lines,
            format_number(o.units_outside_plan),
            o.lines_beyond_plan,
            o.lines_without_plan
        ));
        let mut owners: Vec<&crate::analysis::commitments::Tally> =
            l.by_owner.iter().filter(|t| t.missed > 0).collect();
        owners.sort_by(|a, b| b.missed_units.total_cmp(&a.missed_units).then(a.name.cmp(&b.name)));
        for t in owners.into_iter().take(3) {
            let worst = l
                .commitments
                .iter()
                .filter(|c| c.owner == t.name && c.outcome == Outcome::Missed)
                .max_by(|a, b| a.missed_units.total_cmp(&b.missed_units).then(b.line_id.cmp(&a.line_id)));
            attention.push(AgendaDecision {
                decision: format!(
                    "{} commitment(s) missed by {} units{}: explain to the customers and re-commit",
                    t.missed,
                    format_number(t.missed_units),
                    worst.map(|c| format!(" (worst: {} {} in {})", c.customer, c.sku, c.month)).unwrap_or_default()
                ),
                owner: dir.name(&t.name),
                due: as_of.to_string(),
            });
        }
    }
    if !decisions.is_empty() {
        let count = |p: Progress| decisions.iter().filter(|d| d.progress == p).count();
        lines.push(format!(
            "executive decisions of {scored_cycle}: {} done, {} open, {} overdue",
            count(Progress::Done),
            count(Progress::Open),
            count(Progress::Overdue)
        ));
        for d in decisions.iter().filter(|d| d.progress == Progress::Overdue).take(3) {
            attention.push(AgendaDecision {
                decision: format!("overdue since {}: `{}`: {}", d.due, d.tradeoff_id, d.decision),
                owner: dir.name(&d.owner),
                due: as_of.to_string(),
            });
        }
    }
    Some(crate::draft::Scorecard { cycle: scored_cycle.to_string(), as_of: as_of.to_string(), lines, attention })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_a_planner_writes_them() {
        assert_eq!(format_number(1234567.04), "1,234,567");
        assert_eq!(format_number(-1234.56), "-1,234.6");
        assert_eq!(format_number(999.0), "999");
        assert_eq!(format_number(0.4435752), "0.444");
        assert_eq!(format_number(-0.05), "-0.05");
        assert_eq!(format_number(0.0001), "0");
        assert_eq!(format_number(12.25), "12.3");
    }

    /// Issue 21: a person's text (a decision's action and owner in the scorecard, an edited
    /// narrative) is inert in the Markdown download: no raw HTML, no `javascript:` link.
    #[test]
    fn the_markdown_page_escapes_every_persons_text() {
        use crate::draft::{Agenda, AgendaDecision, Scorecard};
        let hostile = "<script>alert(1)</script> [click](javascript:alert(2)) ![i](javascript:x)";
        let decision = AgendaDecision { decision: hostile.into(), owner: hostile.into(), due: "2027-01-12".into() };
        let narrative = Narrative { headline: hostile.into(), paragraphs: vec![hostile.into()], risks: vec![] };
        let content = DraftContent {
            artifact: "demand_consensus".into(),
            cycle: "2027-01".into(),
            company: "Test Pumps".into(),
            locale: None,
            currency: "EUR".into(),
            narrative: narrative.clone(),
            model_narrative: narrative,
            narrative_source: "edited".into(),
            fallback_reason: None,
            model: "snop-mock".into(),
            facts: serde_json::json!({}),
            files: Default::default(),
            agenda: Agenda {
                meeting: "demand review".into(),
                first_day: "2027-01-12".into(),
                last_day: "2027-01-14".into(),
                last_cycle: None,
                this_cycle: vec![hostile.into()],
                top_risks: vec![hostile.into()],
                decisions: vec![decision.clone()],
                scorecard: Some(Scorecard {
                    cycle: "2026-12".into(),
                    as_of: "2027-01-12".into(),
                    lines: vec![hostile.into()],
                    attention: vec![decision],
                }),
            },
        };
        let standing = Standing { version: 1, state: "draft".into(), content_sha256: "ab".into(), signed_line: None };
        let md = markdown(&content, &standing).unwrap();
        // A link outside the workspace keeps its text only: no link is left.
        assert!(!md.contains("<script>") && !md.contains("javascript:"), "{md}");
        assert!(md.contains("- needs attention: &lt;script&gt;alert(1)&lt;/script&gt; click i"), "{md}");
    }

    /// Issue 20: model text in Markdown: links out of the workspace and bare addresses dropped,
    /// a link to a file of the run kept, raw HTML escaped.
    #[test]
    fn markdown_links_live_only_inside_the_workspace() {
        for (raw, shown) in [
            ("see [the offer](https://evil.example/pay) now", "see the offer now"),
            ("see [gaps](tables/gaps.parquet)", "see [gaps](tables/gaps.parquet)"),
            ("see [up](../../etc/passwd)", "see up"),
            ("see [abs](/etc/passwd)", "see abs"),
            ("![pixel](http://track.example/p.gif)", "pixel"),
            ("visit https://evil.example/x or www.evil.example", "visit (address removed) or (address removed)"),
            ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
            ("a | b [c]", "a \\| b \\[c\\]"),
        ] {
            assert_eq!(md_escape(raw), shown, "{raw}");
        }
    }
}
