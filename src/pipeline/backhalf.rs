//! The back half of the cycle: the pre-S&OP reconciliation (the pack, built on the signed
//! demand consensus and the signed supply plan) and the executive S&OP (the signed plan, built
//! on the signed pack and the executive decisions).

use std::collections::BTreeMap;

use anyhow::Context as _;
use polars::prelude::*;

use super::{Analysed, RunOptions, artifact_run, cycle_consensus, narrate, parquet_bytes};
use crate::UserError;
use crate::analysis::executive::{self, DecisionLog, SignedPlanRow};
use crate::analysis::executive::{Choice, DecisionRow};
use crate::analysis::reconcile::{self, ReconcileInputs, ReconciliationFacts, option_from_key};
use crate::analysis::supply::{SupplyFacts, SupplyInputs, supply_review_with};
use crate::config::Workspace;
use crate::contract::{Month, Table};
use crate::ingest;
use crate::sop::Agent;
use crate::sop::{Artifact, Directory};
use crate::store::decisions::NewDecision;
use crate::store::{RunRow, Store};

/// What the reconciliation or the executive agent reads from the store.
pub(super) struct BackHalf {
    /// The runs it builds on, each with its signed draft (part of the run's identity).
    pub links: Vec<(RunRow, Option<i64>)>,
    /// More of the run's identity (the newest decision, `--allow-unsigned`).
    pub identity: String,
    pub demand_signed: bool,
    pub supply_signed: bool,
    pub supply: SupplyFacts,
    /// The previous cycle's signed plan: its cycle and (sku, month, planned units).
    pub last_signed: Option<reconcile::SignedPlanLines>,
    /// The executive: the cycle's pack and whether it is signed; the consensus; the decisions.
    pub pack: Option<(ReconciliationFacts, bool)>,
    pub demand: Option<DataFrame>,
    pub decisions: Vec<DecisionRow>,
    /// The signed supply plan was planned against a consensus that was not signed then.
    pub stale_supply: Option<String>,
}

/// An artifact this agent builds on is missing or not signed: which, and so which meeting is
/// broken.
fn upstream_error(artifact: Artifact, cycle: Month, exists: bool, for_agent: Agent) -> String {
    let meeting = artifact.meeting();
    let here = Artifact::of_agent(for_agent).meeting();
    if !exists {
        return format!(
            "the {} of {cycle} does not exist: the {meeting} has not run, so the {here} has nothing to build on\nhint: run `snop run {} --cycle {cycle}` first",
            artifact.title(),
            artifact.agent()
        );
    }
    let signers = artifact.signer_roles().iter().map(|r| crate::sop::role_title(r)).collect::<Vec<_>>();
    let joiner = if artifact.needs_every_signer() { " and the " } else { " or the " };
    format!(
        "the {} of {cycle} is not signed: the {meeting} has not been held (or has not signed its output), so the {here} cannot build on it\nhint: the {} approves and signs it (`snop drafts list --cycle {cycle}`); or pass `--allow-unsigned` to draft anyway, with every page marked as built on unsigned inputs",
        artifact.title(),
        signers.join(joiner)
    )
}

async fn read_json<T: serde::de::DeserializeOwned>(store: &Store, run: &RunRow, name: &str) -> anyhow::Result<T> {
    let bytes = store
        .run_file(run, name)?
        .ok_or_else(|| anyhow::anyhow!("run {} has no `{name}` in `{}`", run.id, run.folder))?;
    serde_json::from_slice(&bytes).with_context(|| format!("reading `{}/{name}`", run.folder))
}

/// The previous cycle's signed plan as (sku, month, planned units), if it has one.
async fn last_signed_plan(store: &Store, cycle: Month) -> anyhow::Result<Option<reconcile::SignedPlanLines>> {
    let previous = cycle.plus(-1);
    let Some(signed) = store.latest_signed(Artifact::SignedPlan, &previous.to_string()).await? else {
        return Ok(None);
    };
    let Some(run) = store.run(signed.row.run_id).await? else { return Ok(None) };
    let Some(bytes) = store.run_file(&run, "signed-plan.parquet")? else { return Ok(None) };
    let df = ParquetReader::new(std::io::Cursor::new(bytes)).finish()?;
    let sku = df.column("sku")?.str()?.clone();
    let month = df.column("month")?.str()?.clone();
    let units = df.column("planned_units")?.f64()?.clone();
    let rows = (0..df.height())
        .filter_map(|i| Some((sku.get(i)?.to_string(), month.get(i)?.to_string(), units.get(i)?)))
        .collect();
    Ok(Some((previous.to_string(), rows)))
}

/// The reconciliation's inputs: the cycle's demand consensus and supply plan, signed unless
/// `--allow-unsigned`, and the previous cycle's signed plan.
pub(super) async fn reconciliation_upstream(
    store: &Store,
    cycle: Month,
    options: RunOptions,
) -> anyhow::Result<BackHalf> {
    let demand = artifact_run(store, Artifact::DemandConsensus, cycle).await?;
    let supply = artifact_run(store, Artifact::SupplyPlan, cycle).await?;
    let mut problems = Vec::new();
    for (artifact, found) in [(Artifact::DemandConsensus, &demand), (Artifact::SupplyPlan, &supply)] {
        match found {
            None => problems.push(upstream_error(artifact, cycle, false, Agent::Reconciliation)),
            Some((_, None)) if !options.allow_unsigned => {
                problems.push(upstream_error(artifact, cycle, true, Agent::Reconciliation));
            }
            _ => {}
        }
    }
    if !problems.is_empty() {
        return Err(UserError(problems.join("\n")).into());
    }
    let (demand, supply) = (demand.expect("checked"), supply.expect("checked"));
    let facts: SupplyFacts = read_json(store, &supply.0, "facts.json").await?;
    // A supply plan signed before the consensus was: its plan may not be the signed demand.
    let planned_on: Option<serde_json::Value> =
        store.run_file(&supply.0, "narrative-facts.json")?.and_then(|b| serde_json::from_slice(&b).ok());
    let stale_supply = planned_on
        .as_ref()
        .and_then(|f| f.get("demand_consensus")?.as_str().map(str::to_string))
        .filter(|s| s != "signed" && demand.1.is_some())
        .map(|_| {
            format!(
                "the supply plan was planned against a demand consensus that was not signed at the time: run `snop run supply-review --cycle {cycle}` again and sign it, so the pack builds on the signed demand"
            )
        });
    Ok(BackHalf {
        identity: format!("allow_unsigned {}", options.allow_unsigned),
        demand_signed: demand.1.is_some(),
        supply_signed: supply.1.is_some(),
        supply: facts,
        last_signed: last_signed_plan(store, cycle).await?,
        pack: None,
        demand: None,
        decisions: Vec::new(),
        stale_supply,
        links: vec![demand, supply],
    })
}

/// The executive's inputs: the cycle's reconciliation pack (signed unless `--allow-unsigned`),
/// the supply plan and the consensus it was built on, and the decisions recorded so far.
pub(super) async fn executive_upstream(store: &Store, cycle: Month, options: RunOptions) -> anyhow::Result<BackHalf> {
    let pack = artifact_run(store, Artifact::ReconciliationPack, cycle).await?;
    let problem = match &pack {
        None => Some(upstream_error(Artifact::ReconciliationPack, cycle, false, Agent::Executive)),
        Some((_, None)) if !options.allow_unsigned => {
            Some(upstream_error(Artifact::ReconciliationPack, cycle, true, Agent::Executive))
        }
        _ => None,
    };
    if let Some(p) = problem {
        return Err(UserError(p).into());
    }
    let pack = pack.expect("checked");
    let pack_facts: ReconciliationFacts = read_json(store, &pack.0, "facts.json").await?;
    let supply = artifact_run(store, Artifact::SupplyPlan, cycle)
        .await?
        .ok_or_else(|| UserError(upstream_error(Artifact::SupplyPlan, cycle, false, Agent::Executive)))?;
    let facts: SupplyFacts = read_json(store, &supply.0, "facts.json").await?;
    let (demand_run, demand_signed, demand) = cycle_consensus(store, cycle).await?;
    let decisions = store.decisions(&cycle.to_string()).await?;
    let through = decisions.iter().map(|d| d.id).max().unwrap_or(0);
    Ok(BackHalf {
        identity: format!("allow_unsigned {} decisions through {through}", options.allow_unsigned),
        demand_signed: demand_signed.is_some(),
        supply_signed: supply.1.is_some(),
        supply: facts,
        last_signed: None,
        pack: Some((pack_facts, pack.1.is_some())),
        demand: Some(demand),
        decisions,
        stale_supply: None,
        links: vec![pack, supply, (demand_run, demand_signed)],
    })
}

/// The executive meeting's first day of a cycle, `YYYY-MM-DD`.
pub fn executive_date(ws: &Workspace, cycle: Month) -> String {
    ws.calendar.cycle(cycle).meeting(Artifact::SignedPlan).first.format("%Y-%m-%d").to_string()
}

/// Who decides the trade-offs: "Olivia Chen (COO)", the first holder of the COO or CEO role.
fn decision_owner(ws: &Workspace, dir: &Directory) -> String {
    Artifact::SignedPlan
        .signer_roles()
        .iter()
        .find_map(|r| ws.holders(r).first().map(|p| format!("{} ({})", dir.name(p), crate::sop::role_title(r))))
        .unwrap_or_else(|| dir.describe(Artifact::SignedPlan.signer_roles(), " or "))
}

/// SKU to (family, unit price) from the items master.
fn items_of(ingested: &ingest::Ingested) -> anyhow::Result<BTreeMap<String, (String, f64)>> {
    let df = ingested.tables.get(&Table::Items).ok_or_else(|| UserError("the pipeline reads no `items`".into()))?;
    let sku = df.column("sku")?.cast(&DataType::String)?;
    let family = df.column("family")?.cast(&DataType::String)?;
    let price = df.column("unit_price")?.cast(&DataType::Float64)?;
    let (sku, family, price) = (sku.str()?, family.str()?, price.f64()?);
    Ok((0..df.height())
        .filter_map(|i| {
            Some((
                sku.get(i)?.to_string(),
                (family.get(i).unwrap_or_default().to_string(), price.get(i).unwrap_or(0.0)),
            ))
        })
        .collect())
}

/// The reconciliation: facts, narrative, the five-slide deck (HTML, and PDF when Chromium is
/// installed) and the appendix workbook.
pub(super) async fn reconciliation(
    ws: &Workspace,
    store: &Store,
    cycle: Month,
    ingested: &ingest::Ingested,
    b: BackHalf,
) -> anyhow::Result<Analysed> {
    let items = items_of(ingested)?;
    let dir = ws.directory();
    let inputs = ReconcileInputs {
        supply: &b.supply,
        items: &items,
        last_signed: b.last_signed,
        params: &ws.reconciliation,
        demand_signed: b.demand_signed,
        supply_signed: b.supply_signed,
        executive_date: executive_date(ws, cycle),
        decision_owner: decision_owner(ws, &dir),
    };
    let mut facts = tracing::info_span!("analysis").in_scope(|| reconcile::reconcile(&inputs));
    if let Some(q) = b.stale_supply {
        facts.open_questions.insert(0, q);
    }
    let story = reconcile::narrative_facts(&facts);
    let (draft, narrative) = narrate(ws, store, "reconciliation/summary", &story).await?;
    let (agenda, _) =
        super::agenda_of(ws, store, Agent::Reconciliation, cycle, (&draft, &story), &ingested.tables).await?;
    let deck = crate::artifacts::pack::deck_html(&facts, &draft, &ws.company, &ws.currency)?;
    let appendix = crate::artifacts::pack::appendix_xlsx(&facts, &ws.company, Some(&agenda))?;
    let mut notes = Vec::new();
    let mut files = vec![
        ("facts.json".into(), serde_json::to_vec_pretty(&facts)?),
        ("narrative.json".into(), serde_json::to_vec_pretty(&draft)?),
        ("narrative-facts.json".into(), serde_json::to_vec_pretty(&story)?),
        (format!("pack-{cycle}.html"), deck.clone().into_bytes()),
        (format!("pack-appendix-{cycle}.xlsx"), appendix),
    ];
    if facts.built_on_unsigned_inputs {
        notes.push("drafted with --allow-unsigned: every slide says it was built on unsigned inputs".into());
    }
    match tokio::task::block_in_place(|| print_pdf(&deck)) {
        Ok(pdf) => files.push((format!("pack-{cycle}.pdf"), pdf)),
        Err(why) => notes.push(format!(
            "the PDF of the pack was not made: {why}; the HTML deck prints one slide per page\nhint: install Chromium (`apt-get install chromium`) and run the reconciliation again, or print `pack-{cycle}.html` from a browser"
        )),
    }
    Ok((files, Some(narrative), Some((draft, story, agenda)), notes, Vec::new()))
}

/// Prints a self-contained HTML page to PDF with headless Chromium, if it is installed.
pub fn print_pdf(html: &str) -> Result<Vec<u8>, String> {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(b).is_file())))
        .ok_or("Chromium is not on the PATH")?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let tmp = std::env::temp_dir().join(format!("snop-pdf-{}-{nanos}", std::process::id()));
    let result = (|| {
        fs_err::create_dir_all(&tmp).map_err(|e| e.to_string())?;
        let page = tmp.join("pack.html");
        let pdf = tmp.join("pack.pdf");
        fs_err::write(&page, html).map_err(|e| e.to_string())?;
        let mut child = std::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-pdf-header-footer",
            ])
            .arg(format!("--user-data-dir={}", tmp.join("profile").display()))
            .arg(format!("--print-to-pdf={}", pdf.display()))
            .arg(format!("file://{}", page.display()))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("`{browser}` did not start: {e}"))?;
        let started = std::time::Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if started.elapsed() > std::time::Duration::from_secs(120) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("`{browser}` took more than 120 s"));
                }
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(50)),
                Err(e) => return Err(e.to_string()),
            }
        }
        fs_err::read(&pdf).map_err(|_| format!("`{browser}` wrote no PDF"))
    })();
    let _ = fs_err::remove_dir_all(&tmp);
    result
}

/// The signed plan as a frame: the interface the commit-back agent reads
/// (`signed-plan.parquet`).
pub fn signed_plan_frame(rows: &[SignedPlanRow]) -> PolarsResult<DataFrame> {
    DataFrame::new_infer_height(vec![
        Column::new("sku".into(), rows.iter().map(|r| r.sku.as_str()).collect::<Vec<_>>()),
        Column::new("customer".into(), rows.iter().map(|r| r.customer.as_str()).collect::<Vec<_>>()),
        Column::new("month".into(), rows.iter().map(|r| r.month.as_str()).collect::<Vec<_>>()),
        Column::new("requested_units".into(), rows.iter().map(|r| r.requested_units).collect::<Vec<_>>()),
        Column::new("planned_units".into(), rows.iter().map(|r| r.planned_units).collect::<Vec<_>>()),
        Column::new("constraint".into(), rows.iter().map(|r| r.constraint.clone()).collect::<Vec<_>>()),
        Column::new("gap_id".into(), rows.iter().map(|r| r.gap_id.clone()).collect::<Vec<_>>()),
    ])
}

/// The executive: the decisions applied, the allocation recomputed, the signed plan, its
/// decision log and its export in the ERP's column names.
pub(super) async fn executive(
    ws: &Workspace,
    store: &Store,
    cycle: Month,
    pipeline: &crate::config::Pipeline,
    ingested: &ingest::Ingested,
    b: BackHalf,
) -> anyhow::Result<Analysed> {
    let (pack, pack_signed) = b.pack.expect("loaded for the executive");
    let demand = b.demand.expect("loaded for the executive");
    let (adjust, log) = executive::adjustments(&pack, &b.supply, &b.decisions);
    // Plan with the supply review's own parameters, so the allocation is the same rule.
    let params = ws.pipelines.get(&Agent::SupplyReview).map_or(&pipeline.supply, |p| &p.supply);
    let inputs = SupplyInputs { tables: &ingested.tables, demand: &demand, cycle, params };
    let after = tracing::info_span!("analysis")
        .in_scope(|| tokio::task::block_in_place(|| supply_review_with(&inputs, &adjust)))?;
    let rows = executive::plan_rows(&after, &b.supply, &log);
    let story = executive_story(&pack, pack_signed, &b.supply, &after, &rows, &log);
    let (draft, narrative) = narrate(ws, store, "executive/summary", &story).await?;
    let (agenda, _) = super::agenda_of(ws, store, Agent::Executive, cycle, (&draft, &story), &ingested.tables).await?;
    let (csv, xlsx, left_out) = crate::artifacts::signed_plan::erp_export(&rows, &pipeline.export, cycle)?;
    let mut notes = Vec::new();
    if left_out > 0 {
        notes.push(format!(
            "{left_out} plan line(s) of launch volume not yet given to a customer (`*`) are not in the ERP export: the ERP books by customer"
        ));
    }
    if !log.undecided.is_empty() {
        notes.push(format!(
            "{} trade-off(s) have no decision yet, so the plan cannot be signed: {}",
            log.undecided.len(),
            log.undecided.join(", ")
        ));
    }
    if let Some(s) = &log.sent_back {
        notes.push(format!("the plan was sent back: {s}"));
    }
    let mut frame = signed_plan_frame(&rows)?;
    let files = vec![
        ("signed-plan.parquet".into(), parquet_bytes(&mut frame)?),
        ("decisions.json".into(), serde_json::to_vec_pretty(&log)?),
        ("facts.json".into(), serde_json::to_vec_pretty(&after)?),
        ("narrative.json".into(), serde_json::to_vec_pretty(&draft)?),
        ("narrative-facts.json".into(), serde_json::to_vec_pretty(&story)?),
        (format!("signed-plan-{cycle}-erp.csv"), csv),
        (format!("signed-plan-{cycle}-erp.xlsx"), xlsx),
    ];
    Ok((files, Some(narrative), Some((draft, story, agenda)), notes, Vec::new()))
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Decisions listed in the signed plan's draft facts (the rest are in `decisions.json`).
const STORY_DECISIONS: usize = 10;

/// The signed plan's draft facts: what the narrative is drafted from, and what signing checks
/// (`undecided`, `sent_back`, `decisions_through`).
fn executive_story(
    pack: &ReconciliationFacts,
    pack_signed: bool,
    before: &SupplyFacts,
    after: &SupplyFacts,
    rows: &[SignedPlanRow],
    log: &DecisionLog,
) -> serde_json::Value {
    let decisions: Vec<serde_json::Value> = log
        .lines
        .iter()
        .filter(|l| l.kind == "trade_off")
        .take(STORY_DECISIONS)
        .map(|l| {
            let (decision, owner, due) = match &l.decision {
                None => ("no decision yet".to_string(), None, None),
                Some(d) => (
                    match &d.choice {
                        Choice::Option { option } => option.replace('_', " "),
                        Choice::Action { text } => format!("action: {text}"),
                        Choice::SendBack { reason } => format!("sent back: {reason}"),
                    },
                    d.owner.clone(),
                    d.due.clone(),
                ),
            };
            serde_json::json!({
                "tradeoff_id": l.tradeoff_id, "rank": l.rank, "decision": decision, "owner": owner, "due": due,
                "effect": l.effect,
            })
        })
        .collect();
    let requested: f64 = rows.iter().map(|r| r.requested_units).sum();
    let planned: f64 = rows.iter().map(|r| r.planned_units).sum();
    serde_json::json!({
        "cycle": pack.cycle,
        "pack": if pack_signed { "signed" } else { "not signed" },
        "trade_off_count": pack.trade_offs.len(),
        "decided_count": pack.trade_offs.len() - log.undecided.len(),
        "undecided": log.undecided,
        "sent_back": log.sent_back,
        "decisions_through": log.decisions_through,
        "resolved_by_leads_count": pack.resolved.len(),
        "decisions": decisions,
        "decisions_not_listed": pack.trade_offs.len().saturating_sub(STORY_DECISIONS),
        "totals": {
            "requested_units": r2(requested),
            "planned_units": r2(planned),
            "planned_before_decisions_units": before.totals.constrained_units,
            "revenue_planned_money": after.totals.revenue_constrained_money,
            "revenue_before_decisions_money": before.totals.revenue_constrained_money,
            "budget_revenue_money": after.totals.budget_revenue_money,
        },
    })
}

/// The signed plan of a cycle, for the commit-back agent: the run of the signed executive draft
/// (with its id), else the latest succeeded executive run; and its `signed-plan.parquet`.
pub async fn cycle_signed_plan(store: &Store, cycle: Month) -> anyhow::Result<(RunRow, Option<i64>, DataFrame)> {
    super::signed_plan_of(store, cycle).await?.ok_or_else(|| {
        UserError(format!(
            "there is no signed plan for {cycle}: the executive S&OP has not run\nhint: run `snop run executive --cycle {cycle}` first"
        ))
        .into()
    })
}

/// Records an executive decision on a trade-off of the cycle's signed reconciliation pack,
/// after checking the person may decide, the trade-off is in the pack and the option is one of
/// its options.
pub async fn decide(dir: &Directory, store: &Store, actor: &str, d: NewDecision) -> anyhow::Result<DecisionRow> {
    let mut rows = decide_each(dir, store, actor, vec![d]).await?;
    rows.pop().ok_or_else(|| anyhow::anyhow!("no decision recorded"))
}

/// Records decisions of one cycle as `decide` does, reading the pack once: every decision is
/// checked before the first is recorded (each then in its own audited transaction).
pub async fn decide_each(
    dir: &Directory,
    store: &Store,
    actor: &str,
    decisions: Vec<NewDecision>,
) -> anyhow::Result<Vec<DecisionRow>> {
    crate::analysis::executive::may_decide(dir, actor).map_err(UserError)?;
    let Some(first) = decisions.first() else { return Ok(Vec::new()) };
    let cycle =
        Month::parse(&first.cycle).ok_or_else(|| UserError(format!("`{}` is not a month `YYYY-MM`", first.cycle)))?;
    if let Some(other) = decisions.iter().find(|d| d.cycle != first.cycle) {
        return Err(anyhow::anyhow!("decisions of two cycles at once ({} and {})", first.cycle, other.cycle));
    }
    let Some((run, signed)) = artifact_run(store, Artifact::ReconciliationPack, cycle).await? else {
        return Err(UserError(upstream_error(Artifact::ReconciliationPack, cycle, false, Agent::Executive)).into());
    };
    if signed.is_none() {
        return Err(UserError(format!(
            "the reconciliation pack of {cycle} is not signed: the executive meeting decides the trade-offs of the signed pack\nhint: the demand lead and the supply lead approve and sign it first (`snop drafts list --cycle {cycle}`)"
        ))
        .into());
    }
    let pack: ReconciliationFacts = read_json(store, &run, "facts.json").await?;
    let by_id: std::collections::HashMap<&str, &reconcile::TradeOff> =
        pack.trade_offs.iter().map(|t| (t.id.as_str(), t)).collect();
    for d in &decisions {
        check_decision(&pack, &by_id, cycle, d)?;
    }
    let mut rows = Vec::with_capacity(decisions.len());
    for d in &decisions {
        rows.push(store.record_decision(dir, actor, d).await?);
    }
    Ok(rows)
}

/// Whether a decision fits the pack: its trade-off is there and its option is one of the
/// trade-off's; its due date is a date and its owner is named.
fn check_decision(
    pack: &ReconciliationFacts,
    by_id: &std::collections::HashMap<&str, &reconcile::TradeOff>,
    cycle: Month,
    d: &NewDecision,
) -> anyhow::Result<()> {
    if let Some(id) = &d.tradeoff_id {
        let Some(t) = by_id.get(id.as_str()) else {
            let known: Vec<&str> = pack.trade_offs.iter().map(|t| t.id.as_str()).take(10).collect();
            return Err(UserError(format!(
                "`{id}` is not a trade-off of the reconciliation pack of {cycle}{}\nhint: `snop decide --cycle {cycle} --list` lists them",
                if known.is_empty() { ": it has none".to_string() } else { format!(": its trade-offs include {}", known.join(", ")) }
            ))
            .into());
        };
        if let Choice::Option { option } = &d.choice {
            let kind = option_from_key(option);
            if !kind.is_some_and(|k| t.options.iter().any(|o| o.kind == k)) {
                let options: Vec<&str> = t.options.iter().map(|o| reconcile::option_key(o.kind)).collect();
                return Err(UserError(format!(
                    "`{option}` is not an option of trade-off `{id}`: its options are {}\nhint: or write another action in with `--action \"...\"`",
                    options.join(", ")
                ))
                .into());
            }
        }
    } else if !matches!(d.choice, Choice::SendBack { .. }) {
        return Err(UserError(
            "name the trade-off with `--tradeoff ID` (only sending the whole plan back needs none)".into(),
        )
        .into());
    }
    if let Some(due) = &d.due
        && chrono::NaiveDate::parse_from_str(due, "%Y-%m-%d").is_err()
    {
        return Err(UserError(format!("`--due {due}` is not a date `YYYY-MM-DD`")).into());
    }
    if let Some(owner) = &d.owner
        && owner.trim().is_empty()
    {
        return Err(UserError("`--owner` is empty: name the person who carries the decision out".into()).into());
    }
    Ok(())
}

/// The trade-offs of a cycle's pack, each with the decision that counts, for `snop decide --list`.
pub async fn tradeoffs(store: &Store, cycle: Month) -> anyhow::Result<Vec<(reconcile::TradeOff, Option<DecisionRow>)>> {
    let pack = read_tradeoffs(store, &pack_run(store, cycle).await?).await?;
    let decisions = store.decisions(&cycle.to_string()).await?;
    let standing = crate::analysis::executive::standing(&decisions);
    Ok(with_decisions(&pack, &standing).into_iter().map(|(t, d)| (t.clone(), d.cloned())).collect())
}

/// The run of the cycle's reconciliation pack (signed, else the latest), or the error that says
/// to run the reconciliation first.
pub async fn pack_run(store: &Store, cycle: Month) -> anyhow::Result<RunRow> {
    match artifact_run(store, Artifact::ReconciliationPack, cycle).await? {
        Some((run, _)) => Ok(run),
        None => Err(UserError(upstream_error(Artifact::ReconciliationPack, cycle, false, Agent::Executive)).into()),
    }
}

/// The trade-offs of a pack's run (its `facts.json`: tens of MB at 50,000 series).
pub async fn read_tradeoffs(store: &Store, run: &RunRow) -> anyhow::Result<Vec<reconcile::TradeOff>> {
    let pack: ReconciliationFacts = read_json(store, run, "facts.json").await?;
    Ok(pack.trade_offs)
}

/// Each trade-off with the decision that counts for it (`standing`: the decisions' standing).
fn with_decisions<'a>(
    tradeoffs: &'a [reconcile::TradeOff],
    standing: &std::collections::BTreeMap<Option<String>, &'a DecisionRow>,
) -> Vec<(&'a reconcile::TradeOff, Option<&'a DecisionRow>)> {
    tradeoffs.iter().map(|t| (t, standing.get(&Some(t.id.clone())).copied())).collect()
}

/// A cycle's latest commitment log (the commit-back agent's latest succeeded run, with every
/// returned update it read), with the run it comes from; `None` before the agent has run.
pub async fn latest_commitment_log(
    store: &Store,
    cycle: Month,
) -> anyhow::Result<Option<(RunRow, crate::analysis::commitments::CommitmentLog)>> {
    let Some(run) = commitment_log_run(store, cycle).await? else { return Ok(None) };
    Ok(read_commitment_log(store, &run)?.map(|log| (run, log)))
}

/// The run a cycle's latest commitment log comes from: the commit-back agent's latest succeeded
/// run; `None` before the agent has run.
pub async fn commitment_log_run(store: &Store, cycle: Month) -> anyhow::Result<Option<RunRow>> {
    Ok(store.last_succeeded(Agent::CommitBack.name(), &cycle.to_string()).await?)
}

/// The commitment log a commit-back run wrote, if it wrote one.
pub fn read_commitment_log(
    store: &Store,
    run: &RunRow,
) -> anyhow::Result<Option<crate::analysis::commitments::CommitmentLog>> {
    let Some(bytes) = store.run_file(run, "commitment-log.json")? else { return Ok(None) };
    Ok(Some(serde_json::from_slice(&bytes).context("reading the stored commitment log")?))
}

/// The folder the commit-back agent reads returned commitment logs from: the folder of its
/// `commitment_updates` source (`returns/` by default), when that is a plain folder of the
/// workspace whose pattern reads a file named `log-<...>.xlsx`.
pub fn returns_folder(ws: &Workspace) -> Option<std::path::PathBuf> {
    let pipeline = ws.pipelines.get(&Agent::CommitBack)?;
    pipeline.sources.iter().find_map(|s| {
        let crate::config::Location::Files { pattern, .. } = &s.location else { return None };
        if s.table != Table::CommitmentUpdates {
            return None;
        }
        let (folder, _) = pattern.rsplit_once('/')?;
        let plain = !folder.contains(['*', '?', '[', '{']);
        let reads = glob::Pattern::new(pattern).is_ok_and(|p| p.matches(&format!("{folder}/log-2026-12-web-x.xlsx")));
        (plain && reads).then(|| ws.root.join(folder))
    })
}

/// A status update of one commitment-log line, as its owner asks for it.
#[derive(Debug, Clone)]
pub struct LineUpdate {
    pub line_id: String,
    pub status: String,
    pub note: Option<String>,
}

/// An account manager updates lines of a cycle's latest commitment log: each must be theirs
/// (refused naming its owner) and its status one of the log's. The update is written as a
/// returned log into `returns` (the workbook a person would send back, staged then renamed;
/// named with the cycle, the time and the person), so the commit-back agent's next run applies
/// it by the one path every returned log takes. Returns the file written.
pub async fn update_commitment_lines(
    store: &Store,
    dir: &Directory,
    returns: &std::path::Path,
    cycle: Month,
    person: &str,
    updates: &[LineUpdate],
) -> anyhow::Result<std::path::PathBuf> {
    use crate::artifacts::commitment_log::ReturnedRow;
    let Some((_, log)) = latest_commitment_log(store, cycle).await? else {
        return Err(UserError(format!(
            "there is no commitment log for {cycle}: the commit-back agent has not run\nhint: `snop run commit-back --cycle {cycle}`"
        ))
        .into());
    };
    let mut rows = Vec::new();
    for u in updates {
        let Some(line) = log.lines.iter().find(|l| l.line_id == u.line_id) else {
            return Err(UserError(format!("`{}` is not a line of the commitment log of {cycle}", u.line_id)).into());
        };
        if line.owner != person {
            return Err(UserError(format!(
                "line {} ({} {} {}) is {}'s: only its owner updates its status; {} is not allowed to",
                line.line_id,
                line.customer,
                line.sku,
                line.month,
                dir.name(&line.owner),
                dir.name(person)
            ))
            .into());
        }
        if !crate::contract::COMMITMENT_STATUSES.contains(&u.status.as_str()) {
            return Err(UserError(format!(
                "`{}` is not a status of a commitment line: one of {}",
                u.status,
                crate::contract::COMMITMENT_STATUSES.join(", ")
            ))
            .into());
        }
        rows.push(ReturnedRow {
            line_id: line.line_id.clone(),
            status: u.status.clone(),
            committed: line.committed,
            note: u.note.clone().filter(|n| !n.trim().is_empty()),
            owner: line.owner.clone(),
        });
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let safe: String =
        person.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    write_returned_log(returns, &format!("log-{cycle}-web-{stamp}-{safe}.xlsx"), &rows)
}

/// Writes a returned commitment log into the returns folder: staged under a name the commit-back
/// agent does not read, then renamed, so it never reads half a file. Never replaces a file.
pub fn write_returned_log(
    returns: &std::path::Path,
    name: &str,
    rows: &[crate::artifacts::commitment_log::ReturnedRow],
) -> anyhow::Result<std::path::PathBuf> {
    let bytes = crate::artifacts::commitment_log::returned_log_xlsx(rows)?;
    fs_err::create_dir_all(returns)?;
    let path = returns.join(name);
    if path.exists() {
        return Err(UserError(format!("`{}` exists already: try again", path.display())).into());
    }
    let staged = returns.join(format!(".{name}.part"));
    fs_err::write(&staged, bytes)?;
    fs_err::rename(&staged, &path)?;
    Ok(path)
}
