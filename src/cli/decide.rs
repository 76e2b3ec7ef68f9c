//! `snop decide`: the executive meeting's decisions on the trade-offs of the signed pack, a
//! decision carried out, or the pack's trade-offs listed with the decision that counts.

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
    /// The trade-off's id, as the pack names it (`--list` lists them).
    #[arg(long)]
    pub tradeoff: Option<String>,
    /// One of the trade-off's costed options: overtime, build_ahead, alternate_site,
    /// expedite, alternate_supplier, accept_shortfall.
    #[arg(long, value_name = "KIND", conflicts_with_all = ["action", "send_back"])]
    pub option: Option<String>,
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
    /// Say that the decision on `--tradeoff` was carried out (its owner, or the COO or CEO);
    /// the next cycle scores last cycle's decisions as done, open or overdue.
    #[arg(long, requires = "tradeoff", conflicts_with_all = ["option", "action", "send_back", "list"])]
    pub done: bool,
    #[arg(long)]
    pub json: bool,
}

/// Records a decision (or a decision done), or lists the trade-offs.
pub(super) async fn decide(workspace: &Path, args: DecideArgs) -> anyhow::Result<()> {
    let DecideArgs { cycle, tradeoff, option, action, owner, due, note, send_back, reason, actor, list, done, json } =
        args;
    let ws = Workspace::load_without_inputs(workspace)?;
    let store = pipeline::open_store(&ws).await?;
    if done {
        let actor = actor.ok_or_else(|| UserError("say who carried it out: `--as PERSON`".into()))?;
        let tradeoff = tradeoff.expect("clap requires --tradeoff with --done");
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
            println!("the reconciliation pack of {cycle} has no trade-offs: nothing to decide");
        }
        for (t, d) in rows.iter().filter(|_| !json) {
            let options: Vec<&str> = t.options.iter().map(|o| crate::analysis::reconcile::option_key(o.kind)).collect();
            let state = match d {
                Some(d) => format!("decided by {} at {}", d.decided_by, d.decided_at),
                None => "no decision yet".into(),
            };
            println!(
                "#{:<3} {:<32} {} {}: margin at risk {:.2}; options {}; {state}",
                t.rank,
                t.id,
                t.place,
                t.month,
                t.margin_at_risk_money,
                options.join(", ")
            );
        }
        return Ok(());
    }
    let actor = actor.ok_or_else(|| UserError("say who decides: `--as PERSON` (the COO or the CEO)".into()))?;
    let choice = match (option, action, send_back) {
        (Some(option), None, false) => crate::analysis::executive::Choice::Option { option },
        (None, Some(text), false) => crate::analysis::executive::Choice::Action { text },
        (None, None, true) => crate::analysis::executive::Choice::SendBack { reason: reason.unwrap_or_default() },
        _ => {
            return Err(UserError(
                "say what is decided: `--option KIND`, `--action \"text\"` or `--send-back --reason ...`".into(),
            )
            .into());
        }
    };
    let decision = crate::store::decisions::NewDecision {
        cycle: cycle.to_string(),
        tradeoff_id: tradeoff,
        choice,
        owner,
        due,
        note,
    };
    let row = crate::pipeline::decisions::decide(&ws.directory(), &store, &actor, decision).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&row)?);
    } else {
        let what = row.tradeoff_id.as_deref().map_or("the whole plan".to_string(), |t| format!("trade-off `{t}`"));
        println!(
            "decision {} on {what} of {cycle} recorded for {} ({}); run `snop run executive --cycle {cycle}` to build the signed plan with it",
            row.id, row.decided_by, row.role
        );
    }
    Ok(())
}
