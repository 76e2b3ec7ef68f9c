//! A cycle's what-if scenarios: each one's latest run (what it changed, what its plan comes
//! to), and the comparison of the base with the others run over the same inputs. Read only:
//! scenarios are run by `snop scenario run|compare` (and `snop demo`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::auth::Viewer;
use super::pages::{Frame, frame, no_cycle};
use super::{Shared, internal, render};
use crate::analysis::format_number;
use crate::scenario::{BASE, compare};

#[derive(Deserialize, Default)]
pub struct ScenarioQuery {
    /// Scenarios to compare with the base, comma-separated (default: all run over its inputs).
    names: Option<String>,
}

#[derive(Serialize)]
struct Row {
    name: String,
    description: String,
    run: String,
    revenue: String,
    margin_after_fixes: String,
    spend: String,
    service_level: String,
    unmet: String,
    gaps: usize,
    changes: Vec<String>,
    /// Its inputs differ from the base run's (re-run both to compare).
    stale: bool,
}

#[derive(Serialize)]
struct ScenarioPage<'a> {
    #[serde(flatten)]
    frame: Frame<'a>,
    cycle: String,
    rows: Vec<Row>,
    missing: Option<String>,
    compared: Vec<String>,
    comparison: Option<String>,
}

/// `GET /cycles/{cycle}/scenarios`.
pub async fn scenarios(
    State(app): State<Shared>,
    viewer: Viewer,
    Path(cycle): Path<String>,
    Query(q): Query<ScenarioQuery>,
) -> Response {
    let Some(month) = crate::contract::Month::parse(&cycle) else { return no_cycle(&cycle) };
    let latest = match crate::pipeline::scenario::latest(&app.store, month).await {
        Ok(l) => l,
        Err(e) => return internal(&e),
    };
    let base = latest.get(BASE).map(|(_, o)| o.base_inputs.clone());
    let rows = latest
        .iter()
        .map(|(name, (run, o))| Row {
            name: name.clone(),
            description: o.description.clone(),
            run: format!("run {} of {}", run.id, run.started_at),
            revenue: format_number(o.revenue_money),
            margin_after_fixes: format_number(o.margin_after_fixes_money),
            spend: format_number(o.spend_money),
            service_level: format!("{}%", o.service_level_percent),
            unmet: format_number(o.unmet_units),
            gaps: o.gaps.len(),
            changes: o.changes.clone(),
            stale: base.as_ref().is_some_and(|b| *b != o.base_inputs),
        })
        .collect::<Vec<_>>();
    let wanted: Option<Vec<String>> =
        q.names.as_deref().map(|n| n.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect());
    let mut outcomes = Vec::new();
    if let Some((_, b)) = latest.get(BASE) {
        outcomes.push(b.clone());
        for (name, (_, o)) in &latest {
            let picked = wanted.as_ref().is_none_or(|w| w.contains(name));
            if name != BASE && picked && o.base_inputs == b.base_inputs {
                outcomes.push(o.clone());
            }
        }
    }
    let compared: Vec<String> = outcomes.iter().map(|o| o.name.clone()).collect();
    let comparison = if outcomes.len() > 1 {
        match crate::artifacts::scenario::compare_fragment(&compare(outcomes)) {
            Ok(html) => Some(html),
            Err(e) => return internal(&e),
        }
    } else {
        None
    };
    let missing = (rows.is_empty()).then(|| {
        format!(
            "no scenario has been run for {cycle}: write `scenarios/NAME.toml`, then `snop scenario compare --cycle {cycle} base NAME`"
        )
    });
    let page = ScenarioPage {
        frame: frame(&app, &viewer, format!("What-if scenarios {cycle}")),
        cycle,
        rows,
        missing,
        compared,
        comparison,
    };
    render(StatusCode::OK, "scenarios.html", &page)
}
