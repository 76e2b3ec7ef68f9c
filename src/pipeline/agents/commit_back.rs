//! The commercial commit-back: the signed plan turned into the customer commitment log (what
//! is promised to whom and when, by account manager), with the returned logs applied and last
//! cycle's promises scored.

use polars::prelude::DataFrame;

use super::{Read as AgentRead, Upstream};
use crate::analysis::commitments;
use crate::artifacts::commitment_log::commitment_log_xlsx;
use crate::contract::{Month, Table};
use crate::pipeline::drafting::{Ctx, Prepared};
use crate::pipeline::upstream::{LastCycle, cycle_signed_plan, last_cycle_inputs};
use crate::sop::Artifact;
use crate::store::Store;

/// This cycle's signed plan, and last cycle's commitment log and signed plan.
pub(in crate::pipeline) struct Read {
    plan: DataFrame,
    last: Option<LastCycle>,
}

pub(super) async fn upstream(store: &Store, cycle: Month) -> anyhow::Result<Upstream> {
    let (run, signed, plan) = cycle_signed_plan(store, cycle).await?;
    let last = last_cycle_inputs(store, cycle).await?;
    let mut links = vec![(run, signed)];
    if let Some(l) = &last {
        links.push((l.log_run.clone(), l.log_signed));
        links.push((l.plan_run.clone(), l.plan_signed));
    }
    Ok(Upstream { links, identity: None, read: AgentRead::CommitBack(Read { plan, last }) })
}

pub(super) async fn prepare(ctx: &Ctx<'_>, Read { plan, last }: Read) -> anyhow::Result<Prepared> {
    let cycle = ctx.cycle;
    let owners = commitments::account_managers(ctx.table(Table::Customers)?)?;
    let orders = commitments::open_order_lines(ctx.table(Table::OpenOrders)?)?;
    // The last day of the commit-back meeting in the workspace's calendar.
    let communicate_by =
        ctx.ws.calendar.cycle(cycle).meeting(Artifact::CommitmentLog).last.format("%Y-%m-%d").to_string();
    let rows = commitments::plan_rows(&plan)?;
    let params = &ctx.pipeline.commit_back;
    let mut log = commitments::commitment_log(cycle, &rows, &orders, &owners, &communicate_by, params);
    let updates = match ctx.ingested.table(Table::CommitmentUpdates) {
        Some(df) => commitment_updates(df)?,
        None => Vec::new(),
    };
    let checked = commitments::apply_updates(&mut log, &updates);
    let loop_facts = last.map(|l| l.score(cycle, &ctx.ingested.tables)).transpose()?;
    let n = ctx.narrate(commitments::narrative_facts(&log, loop_facts.as_ref())).await?;
    let xlsx = commitment_log_xlsx(&log, loop_facts.as_ref(), &ctx.ws.company, Some(&n.agenda))?;
    // The log's lines and volume to book (a line per SKU x customer x month short: a million at
    // 50,000 series) are in `commitment-log.json`, which the later steps read, and in their
    // tables written from the typed rows; `facts.json` keeps the rest of the log.
    use crate::artifacts::tables::{file, frame_of};
    let facts = serde_json::json!({
        "log": {
            "cycle": &log.cycle,
            "communicate_by": &log.communicate_by,
            "by_customer": &log.by_customer,
            "left_out": &log.left_out,
            "min_units": log.min_units,
            "book_through": &log.book_through,
        },
        "last_cycle": &loop_facts,
    });
    let mut own = vec![
        ("commitment-log.json".into(), serde_json::to_vec_pretty(&log)?),
        (format!("commitment-log-{cycle}.xlsx"), xlsx),
    ];
    if !log.lines.is_empty() {
        own.push(file("log_lines", frame_of(&log.lines)?)?);
    }
    if !log.to_book.is_empty() {
        own.push(file("log_to_book", frame_of(&log.to_book)?)?);
    }
    if params.split_by_account_manager {
        for (owner, bytes) in account_manager_logs(&log, &ctx.ws.company)? {
            own.push((format!("commitment-log-{cycle}-{owner}.xlsx"), bytes));
        }
    }
    let mut prepared = n.prepared(&facts, own, Vec::new())?;
    prepared.quarantined = checked;
    Ok(prepared)
}

/// One workbook per account manager: the log with only their lines and volume to book, named by
/// the owner's id made safe for a file name (what is not a letter, a digit, `.`, `-` or `_` is
/// `_`). Its Log sheet comes back through the same `commitment_updates` source.
fn account_manager_logs(log: &commitments::CommitmentLog, company: &str) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let owners: std::collections::BTreeSet<&str> =
        log.lines.iter().map(|l| l.owner.as_str()).chain(log.to_book.iter().map(|t| t.owner.as_str())).collect();
    let mut out = Vec::new();
    for owner in owners {
        let mut own = log.clone();
        own.lines.retain(|l| l.owner == owner);
        own.to_book.retain(|t| t.owner == owner);
        own.by_customer.retain(|c| c.owner == owner);
        let safe: String =
            owner.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
        let name = if safe.is_empty() { "no-account-manager".to_string() } else { safe };
        out.push((name, commitment_log_xlsx(&own, None, company, None)?));
    }
    Ok(out)
}

/// The `commitment_updates` table (returned commitment logs) as updates with their origin.
fn commitment_updates(df: &DataFrame) -> anyhow::Result<Vec<commitments::Update>> {
    use crate::analysis::{col_f64, col_str};
    let line_id = col_str(df, "line_id")?;
    let status = col_str(df, "status")?;
    let committed = col_f64(df, "committed")?;
    let note = col_str(df, "note")?;
    let owner = col_str(df, "owner")?;
    let file = col_str(df, "source_file")?;
    let sheet = col_str(df, "source_sheet")?;
    let row: Vec<Option<u32>> = df.column("source_row")?.u32()?.iter().collect();
    Ok((0..df.height())
        .map(|i| commitments::Update {
            line_id: line_id[i].clone().unwrap_or_default(),
            status: status[i].clone().unwrap_or_default(),
            committed: committed[i],
            note: note[i].clone(),
            owner: owner[i].clone().unwrap_or_default(),
            file: file[i].clone().unwrap_or_default(),
            sheet: sheet[i].clone(),
            row: row[i].map_or(0, u64::from),
        })
        .collect())
}
