//! A cycle's executive decisions, per decision of the signed reconciliation pack (a group of
//! gaps with one root cause): the page (filtered and paged), a decision (and a gap of it decided
//! otherwise) or the whole plan sent back, and a decision marked done; each through
//! `crate::pipeline::decisions::decide_each` and `Store::record_done`, the same as `snop decide`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::auth::{Posted, Viewer};
use super::pages::{Frame, Outcome, frame, no_cycle, refusal};
use super::{App, Shared, internal, render};
use crate::analysis::executive::{DecisionRow, DoneRow};
use crate::analysis::reconcile::TradeOff;
use crate::sop::role_title;
use crate::store::SignoffError;
use crate::store::Store;

#[derive(Serialize)]
struct OptionView {
    key: String,
    detail: String,
    closes: String,
    cost: String,
    margin_kept: String,
    lost_margin: String,
    service: String,
    still_hit: String,
    recommended: bool,
}

#[derive(Serialize)]
struct GapView {
    id: String,
    month: String,
    units_short: String,
    margin_at_risk: String,
    options: Vec<String>,
    /// The decision that counts for it when it differs from the decision's own.
    otherwise: Option<String>,
}

#[derive(Serialize)]
struct TradeOffView {
    rank: usize,
    id: String,
    kind: String,
    place: String,
    month: String,
    units_short: String,
    margin_at_risk: String,
    revenue_at_risk: String,
    customers: String,
    why: String,
    buys: String,
    options: Vec<OptionView>,
    gaps: Vec<GapView>,
    /// The what-if scenarios of the cycle that touch it (see [`touching`]).
    scenarios: Vec<String>,
    /// The decision that counts, as a person says it.
    decision: Option<String>,
    decided: Option<String>,
    done: Option<String>,
    may_mark_done: bool,
}

#[derive(Serialize)]
struct PersonView {
    id: String,
    name: String,
}

/// Which trade-offs a decisions page shows: a page of those whose id, place, kind or customers
/// contain `find`, only the undecided ones when `open` is set.
#[derive(Deserialize, Default)]
pub struct DecisionsQuery {
    #[serde(default)]
    find: String,
    #[serde(default)]
    open: String,
    page: Option<usize>,
}

#[derive(Serialize)]
struct DecisionsPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    cycle: String,
    /// Why there is nothing to decide (no pack yet), when so.
    missing: Option<String>,
    tradeoffs: Vec<TradeOffView>,
    find: String,
    open: bool,
    page: usize,
    showing: String,
    prev: Option<String>,
    next: Option<String>,
    may_decide: bool,
    deciders: String,
    people: Vec<PersonView>,
    plan_sent_back: Option<String>,
    /// The cycle's scenarios with a run (the base left out): what a decision may cite.
    scenario_names: Vec<String>,
    outcome: Outcome,
}

/// A decision as the page says it: what was chosen, with its owner, due date and note.
fn said(d: &crate::analysis::executive::DecisionRow) -> String {
    use crate::analysis::executive::Choice;
    let what = match &d.choice {
        Choice::Option { option } => format!("option {}", option.replace('_', " ")),
        Choice::Action { text } => format!("action: {text}"),
        Choice::SendBack { reason } => format!("sent back: {reason}"),
    };
    let owner = d.owner.as_ref().map(|o| format!("; owner {o}")).unwrap_or_default();
    let due = d.due.as_ref().map(|o| format!("; due {o}")).unwrap_or_default();
    let note = d.note.as_ref().map(|o| format!("; note: {o}")).unwrap_or_default();
    let cites = d.scenario.as_ref().map(|s| format!("; cites scenario {s}")).unwrap_or_default();
    format!("{what}{owner}{due}{note}{cites}")
}

/// `GET /cycles/{cycle}/decisions`: the cycle's trade-offs and their decisions, filtered and paged.
pub async fn decisions(
    State(app): State<Shared>,
    viewer: Viewer,
    Path(cycle): Path<String>,
    Query(q): Query<DecisionsQuery>,
) -> Response {
    decisions_response(&app, &viewer, &cycle, &q, StatusCode::OK, Outcome::default()).await
}

/// The decisions page with `outcome` (what the last action did), at the cycle's own address.
async fn decisions_response(
    app: &App,
    viewer: &Viewer,
    cycle: &str,
    q: &DecisionsQuery,
    status: StatusCode,
    outcome: Outcome,
) -> Response {
    let Some(month) = crate::contract::Month::parse(cycle) else { return no_cycle(cycle) };
    match decisions_page(app, viewer, month, q, outcome).await {
        Ok(page) => {
            let mut r = render(status, "decisions.html", &page);
            if let Ok(v) = format!("/cycles/{month}/decisions").parse() {
                r.headers_mut().insert("hx-replace-url", v);
            }
            r
        }
        Err(e) => internal(&e),
    }
}

/// What the decisions page shows: a page of the pack's trade-offs with their options and the
/// decision that counts, the whole plan's decision, and who may decide.
async fn decisions_page<'a>(
    app: &'a App,
    viewer: &'a Viewer,
    cycle: crate::contract::Month,
    q: &DecisionsQuery,
    outcome: Outcome,
) -> anyhow::Result<DecisionsPage<'a>> {
    use crate::analysis::executive::{Choice, DECIDER_ROLES, may_decide};
    let may = may_decide(&app.dir, &viewer.person).is_ok();
    let (pack, missing, run) = match crate::pipeline::decisions::pack_run(&app.store, cycle).await {
        Ok(run) => {
            let read = || crate::pipeline::decisions::read_tradeoffs(&app.store, &run);
            (app.tradeoffs.get(format!("run {}", run.id), read).await?, None, format!("run {}", run.id))
        }
        Err(e) => match refusal(&e) {
            Some((_, why)) => (Arc::default(), Some(why), "no pack".to_string()),
            None => return Err(e),
        },
    };
    let c = cycle.to_string();
    let key = format!("{run}; {}", app.store.decisions_mark(&c).await?);
    let decided = app.decisions.get(key, || Decided::read(&app.store, &c, &pack)).await?;
    let rows: Vec<_> =
        pack.iter().zip(&decided.by_tradeoff).map(|(t, (d, done))| (t, d.as_ref(), done.as_ref())).collect();
    let plan_sent_back = decided.whole_plan.as_ref().and_then(|d| match &d.choice {
        Choice::SendBack { reason } => {
            Some(format!("{} sent the whole plan back at {}: {reason}", app.dir.name(&d.decided_by), d.decided_at))
        }
        _ => None,
    });
    let locale = app.options.locale;
    let n = |x: f64| locale.number(x);
    let (find, open) = (q.find.trim().to_lowercase(), !q.open.is_empty());
    let total = rows.len();
    let kept: Vec<_> = rows
        .into_iter()
        .filter(|(_, d, _)| !open || d.is_none())
        .filter(|(t, _, _)| {
            find.is_empty()
                || [&t.id, &t.place, &t.customers_hit.join(" ")].iter().any(|f| f.to_lowercase().contains(&find))
                || serde_json::to_value(t.kind).is_ok_and(|k| k.as_str().is_some_and(|k| k.contains(&find)))
        })
        .collect();
    // A trade-off is a section with its options and a form: fewer to a page than table rows.
    let per = (app.options.page_rows / 2).max(1);
    let pages = kept.len().div_ceil(per).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let start = (page - 1) * per;
    let filtered = if kept.len() == total { String::new() } else { format!(" (filtered from {})", n(total as f64)) };
    let showing = if kept.is_empty() {
        format!("no trade-offs{filtered}")
    } else {
        format!("trade-offs {}-{} of {}{filtered}", start + 1, (start + per).min(kept.len()), n(kept.len() as f64))
    };
    let link = |p: usize| {
        let query = serde_urlencoded::to_string([
            ("find", q.find.as_str()),
            ("open", if open { "1" } else { "" }),
            ("page", &p.to_string()),
        ])
        .unwrap_or_default();
        format!("/cycles/{cycle}/decisions?{query}")
    };
    let scenarios = crate::pipeline::scenario::latest(&app.store, cycle).await?;
    let tradeoffs = kept
        .into_iter()
        .skip(start)
        .take(per)
        .map(|(t, d, finished)| {
            let carried_out = d.is_some_and(|d| !matches!(d.choice, Choice::SendBack { .. }));
            TradeOffView {
                rank: t.rank,
                kind: serde_json::to_value(t.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
                    .unwrap_or_default(),
                place: t.place.clone(),
                month: t.month.clone(),
                units_short: n(t.units_short),
                margin_at_risk: n(t.margin_at_risk_money),
                revenue_at_risk: n(t.revenue_at_risk_money),
                customers: match t.customers_hit.len() {
                    0..=12 => t.customers_hit.join(", "),
                    n => format!("{} and {} more", t.customers_hit[..10].join(", "), n - 10),
                },
                why: t.why.clone(),
                buys: t.recommendation.buys.clone(),
                options: option_views(t, locale),
                gaps: gap_views(t, d, &decided.overrides, locale),
                scenarios: touching(t, &scenarios),
                decision: d.map(said),
                decided: d.map(|d| {
                    format!("decided by {} ({}) at {}", app.dir.name(&d.decided_by), role_title(&d.role), d.decided_at)
                }),
                done: finished.map(|f| {
                    format!(
                        "done: {} at {}{}",
                        app.dir.name(&f.done_by),
                        f.done_at,
                        f.note.as_ref().map(|x| format!(" ({x})")).unwrap_or_default()
                    )
                }),
                may_mark_done: carried_out
                    && finished.is_none()
                    && (may || d.and_then(|d| d.owner.as_deref()) == Some(viewer.person.as_str())),
                id: t.id.clone(),
            }
        })
        .collect();
    Ok(DecisionsPage {
        frame: frame(app, viewer, format!("Executive decisions {cycle}")),
        cycle: cycle.to_string(),
        missing,
        tradeoffs,
        find: q.find.clone(),
        open,
        page,
        showing,
        prev: (page > 1).then(|| link(page - 1)),
        next: (page < pages).then(|| link(page + 1)),
        may_decide: may,
        deciders: app.dir.describe(&DECIDER_ROLES, " or "),
        people: app.dir.names.iter().map(|(id, name)| PersonView { id: id.clone(), name: name.clone() }).collect(),
        plan_sent_back,
        scenario_names: scenarios.keys().filter(|k| k.as_str() != crate::scenario::BASE).cloned().collect(),
        outcome,
    })
}

/// A decision's options as the page shows them.
fn option_views(t: &TradeOff, locale: crate::analysis::locale::Locale) -> Vec<OptionView> {
    let n = |x: f64| locale.number(x);
    t.options
        .iter()
        .map(|o| OptionView {
            key: o.key.clone(),
            detail: o.label.clone(),
            closes: n(o.closes_units),
            cost: n(o.spend_money),
            margin_kept: n(o.margin_kept_money),
            lost_margin: n(o.lost_margin_money),
            service: o.service_level_percent.map(|s| locale.percent(s)).unwrap_or_default(),
            still_hit: match o.customers_still_hit.len() {
                0 => "none".into(),
                1..=5 => o.customers_still_hit.join(", "),
                k => format!("{} and {} more", o.customers_still_hit[..4].join(", "), k - 4),
            },
            recommended: o.key == t.recommendation.option,
        })
        .collect()
}

/// A decision's gaps as the page shows them, each with the decision that counts for it when it
/// is its own (newer than the decision's `d`).
fn gap_views(
    t: &TradeOff,
    d: Option<&DecisionRow>,
    overrides: &std::collections::HashMap<String, DecisionRow>,
    locale: crate::analysis::locale::Locale,
) -> Vec<GapView> {
    let n = |x: f64| locale.number(x);
    t.gaps
        .iter()
        .map(|g| GapView {
            id: g.id.clone(),
            month: g.month.clone(),
            units_short: n(g.units_short),
            margin_at_risk: n(g.margin_at_risk_money),
            options: g.options.clone(),
            otherwise: overrides.get(&g.id).filter(|o| d.is_none_or(|d| o.id > d.id)).map(said),
        })
        .collect()
}

/// A cycle's decisions as its page reads them, kept per pack and `Store::decisions_mark`: for
/// each trade-off of the pack (in its order) the decision that counts and when it was done; and
/// the whole plan's decision, if any.
pub(crate) struct Decided {
    by_tradeoff: Vec<(Option<DecisionRow>, Option<DoneRow>)>,
    whole_plan: Option<DecisionRow>,
    /// The decision that counts for each member gap decided on its own.
    overrides: std::collections::HashMap<String, DecisionRow>,
}

impl Decided {
    async fn read(store: &Store, cycle: &str, pack: &[TradeOff]) -> anyhow::Result<Decided> {
        let all = store.decisions(cycle).await?;
        let mut done = std::collections::HashMap::new();
        for d in store.decisions_done(cycle).await? {
            done.entry(d.decision_id).or_insert(d);
        }
        let standing = crate::analysis::executive::standing(&all);
        let by_tradeoff = pack
            .iter()
            .map(|t| {
                let d = standing.get(&Some(t.id.clone())).map(|d| (*d).clone());
                let finished = d.as_ref().and_then(|d| done.get(&d.id).cloned());
                (d, finished)
            })
            .collect();
        let overrides = pack
            .iter()
            .flat_map(|t| t.gaps.iter().filter(|g| g.id != t.id))
            .filter_map(|g| standing.get(&Some(g.id.clone())).map(|d| (g.id.clone(), (*d).clone())))
            .collect();
        Ok(Decided { by_tradeoff, whole_plan: standing.get(&None).map(|d| (*d).clone()), overrides })
    }
}

#[derive(Deserialize)]
pub struct DecideForm {
    /// Empty: the whole plan (only to send it back).
    #[serde(default)]
    tradeoff: String,
    /// `option`, `action` or `send_back`; `gap` to decide only `gap` otherwise.
    choice: String,
    /// A gap of the decision decided otherwise, with `gap_option`.
    #[serde(default)]
    gap: String,
    #[serde(default)]
    gap_option: String,
    option: Option<String>,
    action: Option<String>,
    owner: Option<String>,
    due: Option<String>,
    note: Option<String>,
    reason: Option<String>,
    /// A scenario the decision cites (empty: none).
    scenario: Option<String>,
    /// The page the form was on, shown again after it.
    #[serde(flatten)]
    view: ViewForm,
}

/// The decisions page a form was posted from (its filter and page), as text fields.
#[derive(Deserialize, Default)]
pub struct ViewForm {
    #[serde(default)]
    find: String,
    #[serde(default)]
    open: String,
    #[serde(default)]
    page: String,
}

impl ViewForm {
    fn query(&self) -> DecisionsQuery {
        DecisionsQuery { find: self.find.clone(), open: self.open.clone(), page: self.page.parse().ok() }
    }
}

/// `POST /cycles/{cycle}/decisions`: a decision on a trade-off (or the whole plan), through
/// `crate::pipeline::decisions::decide`; the page again, saying what was done or why not.
pub async fn decide_tradeoff(
    State(app): State<Shared>,
    Path(cycle): Path<String>,
    posted: Posted<DecideForm>,
) -> Response {
    use crate::analysis::executive::Choice;
    use crate::store::decisions::NewDecision;
    let Posted { viewer, form } = posted;
    let view = form.view.query();
    let Some(month) = crate::contract::Month::parse(&cycle) else { return no_cycle(&cycle) };
    let given = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let choice = match form.choice.as_str() {
        "option" => given(form.option).map(|option| Choice::Option { option }),
        "action" => given(form.action).map(|text| Choice::Action { text }),
        "send_back" => given(form.reason).map(|reason| Choice::SendBack { reason }),
        "gap" => given(Some(form.gap_option.clone())).map(|option| Choice::Option { option }),
        _ => None,
    };
    let gap = given(Some(form.gap.clone())).filter(|_| form.choice == "gap");
    let Some(choice) = choice.filter(|_| form.choice != "gap" || gap.is_some()) else {
        let outcome = Outcome {
            refused: Some(
                "say what is decided: choose an option, write an action in, send it back with a reason, or choose a gap and its option".into(),
            ),
            ..Outcome::default()
        };
        return decisions_response(&app, &viewer, &cycle, &view, StatusCode::UNPROCESSABLE_ENTITY, outcome).await;
    };
    let decision = NewDecision {
        cycle: month.to_string(),
        tradeoff_id: gap.or_else(|| given(Some(form.tradeoff))),
        choice,
        owner: given(form.owner),
        due: given(form.due),
        note: given(form.note),
        scenario: given(form.scenario),
    };
    match crate::pipeline::decisions::decide(&app.dir, &app.store, &viewer.person, decision).await {
        Ok(row) => {
            let what = row.tradeoff_id.as_deref().map_or("the whole plan".to_string(), |t| format!("trade-off `{t}`"));
            let outcome = Outcome {
                done: Some(format!(
                    "decision {} on {what} of {month} recorded for {} ({}){}; the executive agent's next run (`snop run executive --cycle {month}`, or the nightly run) builds the signed plan with it",
                    row.id,
                    app.dir.name(&row.decided_by),
                    role_title(&row.role),
                    row.scenario.as_ref().map_or(String::new(), |s| format!(", citing scenario `{s}`"))
                )),
                ..Outcome::default()
            };
            decisions_response(&app, &viewer, &cycle, &view, StatusCode::OK, outcome).await
        }
        Err(e) => match refusal(&e) {
            Some((status, why)) => {
                let status = if crate::analysis::executive::may_decide(&app.dir, &viewer.person).is_err() {
                    StatusCode::FORBIDDEN
                } else if status == StatusCode::FORBIDDEN {
                    // A decider refused by the rules of the cycle (the pack, the trade-off): not
                    // the person, the request; as before.
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    status
                };
                let outcome = Outcome { refused: Some(why), ..Outcome::default() };
                decisions_response(&app, &viewer, &cycle, &view, status, outcome).await
            }
            None => internal(&e),
        },
    }
}

#[derive(Deserialize)]
pub struct DoneForm {
    tradeoff: String,
    note: Option<String>,
    #[serde(flatten)]
    view: ViewForm,
}

/// `POST /cycles/{cycle}/decisions/done`: a decision marked done, through `Store::record_done`.
pub async fn decision_done(State(app): State<Shared>, Path(cycle): Path<String>, posted: Posted<DoneForm>) -> Response {
    let Posted { viewer, form } = posted;
    let view = form.view.query();
    let Some(month) = crate::contract::Month::parse(&cycle) else { return no_cycle(&cycle) };
    let note = form.note.filter(|n| !n.trim().is_empty());
    match app.store.record_done(&app.dir, &viewer.person, &month.to_string(), &form.tradeoff, note.as_deref()).await {
        Ok(row) => {
            let outcome = Outcome {
                done: Some(format!(
                    "decision {} on trade-off `{}` of {month} is done ({} at {})",
                    row.decision_id,
                    form.tradeoff,
                    app.dir.name(&row.done_by),
                    row.done_at
                )),
                ..Outcome::default()
            };
            decisions_response(&app, &viewer, &cycle, &view, StatusCode::OK, outcome).await
        }
        Err(e @ (SignoffError::Refused(_) | SignoffError::Invalid(_))) => {
            let status = if matches!(e, SignoffError::Invalid(_)) {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::FORBIDDEN
            };
            let outcome = Outcome { refused: Some(e.to_string()), ..Outcome::default() };
            decisions_response(&app, &viewer, &cycle, &view, status, outcome).await
        }
        Err(e) => internal(&e.into()),
    }
}

/// The scenarios (other than the base) that show what a decision's levers do: one whose
/// changes name the decision's resource, component or supplier, or that opens or closes one of
/// its gaps against the base run over the same inputs.
fn touching(
    t: &crate::analysis::reconcile::TradeOff,
    latest: &std::collections::BTreeMap<String, (crate::store::RunRow, crate::scenario::Outcome)>,
) -> Vec<String> {
    let names: Vec<&str> = t
        .place
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-'))
        .filter(|w| w.contains('-') && !w.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    let base = latest.get(crate::scenario::BASE).map(|(_, o)| o);
    let has = |o: &crate::scenario::Outcome, id: &str| o.gaps.iter().any(|g| g.id == id);
    latest
        .iter()
        .filter(|(name, _)| name.as_str() != crate::scenario::BASE)
        .filter(|(_, (_, o))| {
            let named = o.changes.iter().any(|c| names.iter().any(|n| c.contains(n)));
            let moved = base.is_some_and(|b| {
                b.base_inputs == o.base_inputs && t.gaps.iter().any(|g| has(b, &g.id) != has(o, &g.id))
            });
            named || moved
        })
        .map(|(name, _)| name.clone())
        .collect()
}
