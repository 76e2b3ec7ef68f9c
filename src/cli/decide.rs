//! `snop decide`: the executive meeting's decisions of the signed pack (each for its group of
//! gaps, and a gap of one decided otherwise: `--decision D --option K [--gap G --option K2]`),
//! a decision carried out, or the pack's decisions listed with the decision that counts.

use std::path::Path;

use clap::Args;

use crate::UserError;
use crate::config::Workspace;
use crate::contract::Month;
use crate::pipeline;

/// What `snop decide` is asked.
#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The cycle month, `YYYY-MM`.
    #[arg(long)]
    pub cycle: Month,
    /// The decision's id as the pack names it (`--list` lists them), or `D<rank>` (`D3`).
    /// `--tradeoff` is its old name.
    #[arg(long, alias = "tradeoff", value_name = "ID")]
    pub decision: Option<String>,
    /// One of the decision's options (`cheapest_fixes`, `overtime`, `build_ahead`,
    /// `alternate_site`, `expedite`, `alternate_supplier`, `accept_shortfall`: `--list` shows
    /// each decision's). Given once more after each `--gap`, for that gap.
    #[arg(long, value_name = "KEY", conflicts_with = "send_back")]
    pub option: Vec<String>,
    /// A gap of the decision decided otherwise, with the `--option` that follows it.
    #[arg(long, value_name = "GAP_ID", requires = "decision")]
    pub gap: Vec<String>,
    /// Another action, written in.
    #[arg(long, value_name = "TEXT", conflicts_with = "send_back")]
    pub action: Option<String>,
    /// Who carries the decision out.
    #[arg(long, value_name = "PERSON")]
    pub owner: Option<String>,
    /// By when, `YYYY-MM-DD`.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub due: Option<String>,
    #[arg(long)]
    pub note: Option<String>,
    /// A what-if scenario the decision cites (`scenarios/NAME.toml`, run for the cycle: `snop
    /// scenario list --cycle C`); the signed plan records it.
    #[arg(long, value_name = "NAME", conflicts_with = "send_back")]
    pub scenario: Option<String>,
    /// Send the trade-off (with `--tradeoff`) or the whole plan back, with `--reason`.
    #[arg(long, requires = "reason")]
    pub send_back: bool,
    /// What must be redone, and why.
    #[arg(long)]
    pub reason: Option<String>,
    /// The deciding person's id from `[people]` in `snop.toml`.
    #[arg(long = "as", value_name = "PERSON", env = "SNOP_PERSON")]
    pub actor: Option<String>,
    /// List the pack's trade-offs and the decision that counts for each, and decide nothing.
    #[arg(long)]
    pub list: bool,
    /// Say that `--decision` was carried out (its owner, or the COO or CEO); the next cycle
    /// scores last cycle's decisions as done, open or overdue.
    #[arg(long, requires = "decision", conflicts_with_all = ["option", "action", "send_back", "list"])]
    pub done: bool,
    #[arg(long)]
    pub json: bool,
}

/// Records a decision (or a decision done), or lists the trade-offs.
pub(super) async fn decide(workspace: &Path, args: DecideArgs) -> anyhow::Result<()> {
    let DecideArgs {
        cycle,
        decision,
        option,
        gap,
        action,
        owner,
        due,
        note,
        scenario,
        send_back,
        reason,
        actor,
        list,
        done,
        json,
    } = args;
    let tradeoff = decision;
    let ws = Workspace::load_without_inputs(workspace)?;
    let store = pipeline::open_store(&ws).await?;
    if done {
        let actor = actor.ok_or_else(|| UserError("say who carried it out: `--as PERSON`".into()))?;
        let tradeoff = tradeoff.expect("clap requires --decision with --done");
        let row = store.record_done(&ws.directory(), &actor, &cycle.to_string(), &tradeoff, note.as_deref()).await?;
        if json {
            println!("{}", serde_json::to_string_pretty(&row)?);
        } else {
            println!(
                "decision {} on trade-off `{tradeoff}` of {cycle} is done ({} at {})",
                row.decision_id, row.done_by, row.done_at
            );
        }
        return Ok(());
    }
    if list {
        let rows = crate::pipeline::decisions::tradeoffs(&store, cycle).await?;
        if json {
            let v: Vec<serde_json::Value> =
                rows.iter().map(|(t, d)| serde_json::json!({ "trade_off": t, "decision": d })).collect();
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else if rows.is_empty() {
            println!("the reconciliation pack of {cycle} has no decisions for the executive: nothing to decide");
        }
        for (t, d) in rows.iter().filter(|_| !json) {
            print_decision(t, d.as_ref(), ws.locale);
        }
        return Ok(());
    }
    let actor = actor.ok_or_else(|| UserError("say who decides: `--as PERSON` (the COO or the CEO)".into()))?;
    // `--option K` for the decision, then `--gap G --option K2` pairs: one more option than gaps
    // when the decision itself is decided, as many when only gaps are.
    let (own, per_gap) = if option.len() == gap.len() + 1 {
        (Some(option[0].clone()), option[1..].to_vec())
    } else if option.len() == gap.len() {
        (None, option.clone())
    } else {
        return Err(UserError(format!(
            "{} `--option` for {} `--gap`: give the decision's option first (or none), then one `--option` after each `--gap`",
            option.len(),
            gap.len()
        ))
        .into());
    };
    let choice = match (own, action, send_back) {
        (Some(option), None, false) => Some(crate::analysis::executive::Choice::Option { option }),
        (None, Some(text), false) => Some(crate::analysis::executive::Choice::Action { text }),
        (None, None, true) => Some(crate::analysis::executive::Choice::SendBack { reason: reason.unwrap_or_default() }),
        (None, None, false) if !gap.is_empty() => None,
        _ => {
            return Err(UserError(
                "say what is decided: `--option KEY`, `--action \"text\"` or `--send-back --reason ...`".into(),
            )
            .into());
        }
    };
    let new = |tradeoff_id: Option<String>, choice| crate::store::decisions::NewDecision {
        cycle: cycle.to_string(),
        tradeoff_id,
        choice,
        owner: owner.clone(),
        due: due.clone(),
        note: note.clone(),
        scenario: scenario.clone(),
    };
    let mut batch: Vec<_> = choice.into_iter().map(|c| new(tradeoff.clone(), c)).collect();
    for (g, option) in gap.iter().zip(per_gap) {
        batch.push(new(Some(g.clone()), crate::analysis::executive::Choice::Option { option }));
    }
    let rows = crate::pipeline::decisions::decide_each(&ws.directory(), &store, &actor, batch).await?;
    for row in rows {
        print_recorded(&row, cycle, json)?;
    }
    Ok(())
}

/// One decision of the pack, for `--list`: its rank, id, place, margin at risk, options with
/// what each buys, its gaps, and the decision that counts; numbers in the company's locale.
fn print_decision(
    t: &crate::analysis::reconcile::TradeOff,
    d: Option<&crate::analysis::executive::DecisionRow>,
    locale: crate::analysis::locale::Locale,
) {
    let money = |x: f64| locale.money(x);
    let state = match d {
        Some(d) => format!("decided by {} at {}", d.decided_by, d.decided_at),
        None => "no decision yet".into(),
    };
    println!(
        "D{:<3} {:<32} {}, {}: {} gap(s), margin at risk {}; recommended {}; {state}",
        t.rank,
        t.id,
        t.place,
        match t.months.as_slice() {
            [first, .., last] => format!("{first} to {last}"),
            _ => t.month.clone(),
        },
        t.gap_ids().len(),
        money(t.margin_at_risk_money),
        t.recommendation.option
    );
    for o in &t.options {
        println!(
            "       --option {:<20} closes {} units, spend {}, keeps {} of margin{}",
            o.key,
            money(o.closes_units),
            money(o.spend_money),
            money(o.margin_kept_money),
            o.service_level_percent.map_or(String::new(), |s| format!(", service {}", locale.percent(s)))
        );
    }
    for g in &t.gaps {
        println!("       --gap {:<28} {} units short; options {}", g.id, money(g.units_short), g.options.join(", "));
    }
}

/// What was recorded, as a line (or JSON).
fn print_recorded(row: &crate::analysis::executive::DecisionRow, cycle: Month, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(row)?);
    } else {
        let what = row.tradeoff_id.as_deref().map_or("the whole plan".to_string(), |t| format!("trade-off `{t}`"));
        let cites = row.scenario.as_deref().map_or(String::new(), |s| format!(", citing scenario `{s}`"));
        println!(
            "decision {} on {what} of {cycle} recorded for {} ({}){cites}; run `snop run executive --cycle {cycle}` to build the signed plan with it",
            row.id, row.decided_by, row.role
        );
    }
    Ok(())
}
