//! The drafting sequence every agent shares, written once: the narrative drafted from the
//! agent's narrative facts (prompt `<agent>/summary`), the one-page agenda (which reads the
//! narrative and last cycle's promises), then the agent's own renderings made with both, and the
//! files every drafted run keeps (`facts.json`, `narrative.json`, `narrative-facts.json`); then
//! the draft's content and its first pages.

use anyhow::Context as _;
use polars::prelude::*;

use crate::analysis::commitments::LoopFacts;
use crate::config::{Pipeline, Workspace};
use crate::contract::{Month, Quarantined, Table};
use crate::draft::Agenda;
use crate::ingest::Ingested;
use crate::narrative::{Draft, DraftConfig, Drafter, NameDirectory, Prompts};
use crate::sop::{Agent, Artifact};
use crate::store::Store;

use super::upstream::{consensus_run, last_cycle_loop};

/// What an agent's run works with: the workspace, the store, which meeting of which cycle, its
/// pipeline and its ingested inputs.
pub(super) struct Ctx<'a> {
    pub ws: &'a Workspace,
    pub store: &'a Store,
    pub agent: Agent,
    pub cycle: Month,
    pub pipeline: &'a Pipeline,
    pub ingested: &'a Ingested,
}

/// What an agent prepared for its run: the files to keep with it, how its narrative was
/// drafted, what its draft is made of, notes for the run report, and rows judged bad after
/// ingest (quarantined and counted like any other bad row).
pub(super) struct Prepared {
    pub files: Vec<(String, Vec<u8>)>,
    pub narrative: Option<NarrativeReport>,
    pub draft: Option<DraftBasis>,
    pub notes: Vec<String>,
    pub quarantined: Vec<Quarantined>,
}

/// What a draft is made of: the narrative as drafted, the narrative facts it was drafted from,
/// and the agenda.
pub(super) struct DraftBasis {
    pub narrated: Draft,
    pub narrative_facts: serde_json::Value,
    pub agenda: Agenda,
}

/// An agent's narrative and agenda, drafted in the order every agent drafts them.
pub(super) struct Narrated {
    pub draft: Draft,
    pub report: NarrativeReport,
    pub agenda: Agenda,
    pub narrative_facts: serde_json::Value,
    /// Last cycle's promises scored (what the agenda's scorecard was made from).
    pub scored: Option<LoopFacts>,
}

impl Ctx<'_> {
    /// Drafts the agent's narrative from its narrative facts (prompt `<agent>/summary`), then its
    /// one-page agenda.
    pub(super) async fn narrate(&self, narrative_facts: serde_json::Value) -> anyhow::Result<Narrated> {
        let section = format!("{}/summary", self.agent.name());
        let directory = name_directory(self.ws, self.ingested);
        let (draft, report) = narrate(self.ws, self.store, &section, &narrative_facts, directory).await?;
        let (agenda, scored) = self.agenda(&draft, &narrative_facts).await?;
        Ok(Narrated { draft, report, agenda, narrative_facts, scored })
    }

    /// The one-page agenda of an agent's artifact, made after its narrative and before its workbook
    /// (which carries it as a sheet): this cycle's output and risks, the decisions the next meeting
    /// up must take, how last cycle kept its calendar, and last cycle's promises scored (returned
    /// too, so the demand review keeps them with its run for the later agents).
    async fn agenda(
        &self,
        narrated: &Draft,
        narrative_facts: &serde_json::Value,
    ) -> anyhow::Result<(Agenda, Option<LoopFacts>)> {
        use crate::artifacts::review;
        let (ws, store, cycle) = (self.ws, self.store, self.cycle);
        let artifact = Artifact::of_agent(self.agent);
        let last = store.latest_signed(artifact, &cycle.plus(-1).to_string()).await?;
        let dir = ws.directory();
        let dates = ws.calendar.cycle(cycle);
        let mut agenda = review::agenda(artifact, &dates, &dir, &narrated.sections, narrative_facts, last.as_ref());
        // How the last cycle kept its calendar.
        let previous = store.status(&cycle.plus(-1).to_string()).await?;
        agenda.this_cycle.extend(crate::cadence::drift(&ws.calendar, cycle.plus(-1), &previous, dates.start()).slips());
        // Last cycle's promises: commitments to customers, orders outside the plan, and the
        // executive decisions as they stand on this meeting's first day.
        let scored = last_cycle_scored(store, cycle, &self.ingested.tables).await?;
        let last_cycle = cycle.plus(-1).to_string();
        let as_of = dates.meeting(artifact).first.format("%Y-%m-%d").to_string();
        let progress = crate::analysis::executive::decision_progress(
            &store.decisions(&last_cycle).await?,
            &store.decisions_done(&last_cycle).await?,
            &as_of,
        );
        agenda.scorecard = review::scorecard(&last_cycle, &as_of, &dir, scored.as_ref(), &progress);
        localize_agenda(&mut agenda, ws.locale);
        Ok((agenda, scored))
    }

    /// A table the agent's analysis cannot do without.
    pub(super) fn table(&self, t: Table) -> Result<&DataFrame, crate::analysis::AnalysisError> {
        self.ingested.table(t).ok_or(crate::analysis::AnalysisError::MissingTable(t))
    }
}

/// The agenda's lines snop writes (this cycle's output, the decisions, the scorecard) with their
/// numbers in the company's locale; the narrative's risks are quoted as the model wrote them.
fn localize_agenda(agenda: &mut Agenda, locale: crate::analysis::locale::Locale) {
    if locale == crate::analysis::locale::Locale::EnUs {
        return;
    }
    // The first line is the narrative's headline, quoted as the model wrote it (in the locale).
    for line in agenda.this_cycle.iter_mut().skip(1) {
        *line = locale.localize(line);
    }
    let decisions = agenda.decisions.iter_mut().chain(agenda.scorecard.iter_mut().flat_map(|s| s.attention.iter_mut()));
    for d in decisions {
        d.decision = locale.localize(&d.decision);
    }
    for line in agenda.scorecard.iter_mut().flat_map(|s| s.lines.iter_mut()) {
        *line = locale.localize(line);
    }
}

impl Narrated {
    /// The run's files: `facts.json` (the facts, less the large tables an agent writes to
    /// `tables/` itself), `narrative.json` and `narrative-facts.json`, then the agent's own
    /// (`own`: its workbook, pages, frames, large tables), then the facts' tables as Parquet
    /// (`tables/<key>.parquet`, made from the same value `facts.json` is written from, never
    /// parsed back); and the draft made of the narrative, its facts and the agenda.
    pub(super) fn prepared(
        self,
        facts: &impl serde::Serialize,
        own: Vec<(String, Vec<u8>)>,
        notes: Vec<String>,
    ) -> anyhow::Result<Prepared> {
        let tables = crate::artifacts::tables::files(&serde_json::to_value(facts)?)?;
        let mut files = vec![
            ("facts.json".to_string(), serde_json::to_vec_pretty(facts)?),
            ("narrative.json".to_string(), serde_json::to_vec_pretty(&self.draft)?),
            ("narrative-facts.json".to_string(), serde_json::to_vec_pretty(&self.narrative_facts)?),
        ];
        files.extend(own);
        files.extend(tables);
        Ok(Prepared {
            files,
            narrative: Some(self.report),
            draft: Some(DraftBasis {
                narrated: self.draft,
                narrative_facts: self.narrative_facts,
                agenda: self.agenda,
            }),
            notes,
            quarantined: Vec::new(),
        })
    }
}

/// How the narrative of a run was drafted, for the run report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NarrativeReport {
    pub model: String,
    /// `model`, `model_after_retry` or `fallback`.
    pub source: String,
    pub sections_checked: u64,
    pub sections_corrected: u64,
    pub sections_replaced: u64,
    /// Sections served from the response cache (same prompt, model and parameters as before).
    pub cache_hits: u64,
    /// HTTP requests made to the LLM server, failed ones too.
    pub llm_calls: u32,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub estimated_cost: f64,
    /// Every HTTP attempt: status, tokens, milliseconds, `max_tokens`.
    pub attempts: Vec<crate::narrative::AttemptRecord>,
    /// Why the narrative is the fallback, in a planner's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
}

/// Drafts one narrative section with the workspace's LLM (the built-in mock, started on a free
/// loopback port, when `base_url = "mock"`, so the real client code runs).
async fn narrate(
    ws: &Workspace,
    store: &Store,
    section: &str,
    facts: &serde_json::Value,
    directory: NameDirectory,
) -> anyhow::Result<(Draft, NarrativeReport)> {
    let span = tracing::info_span!("narrative", section);
    let _enter = span.enter();
    let mut llm = ws.llm.clone();
    // The company's locale as the narrative module's plain data (the mock and the fallback).
    let (group, decimal) = ws.locale.separators();
    let number_marks = (ws.locale != crate::analysis::locale::Locale::EnUs).then(|| crate::narrative::NumberMarks {
        group,
        decimal,
        before_percent: ws.locale.before_percent(),
    });
    let mock = if llm.base_url == "mock" {
        let config = crate::narrative::mock::MockConfig { number_marks, ..Default::default() };
        let server = crate::narrative::mock::spawn(config).await?;
        llm.base_url = server.base_url();
        Some(server)
    } else {
        None
    };
    let prompts = Prompts::load(&ws.root.join("prompts")).context("loading the workspace's `prompts/`")?;
    let client = crate::narrative::client::LlmClient::new(llm)?;
    let config = DraftConfig {
        masking: crate::narrative::MaskingConfig { fields: ws.mask_fields.clone() },
        endpoint_label: mock.as_ref().map(|_| "mock".to_string()),
        directory,
        number_separators: Some(ws.locale.separators()).filter(|s| *s != (',', '.')),
        number_marks,
        ..DraftConfig::default()
    };
    let drafter = Drafter::new(prompts, client, std::sync::Arc::new(store.response_cache()), config)?;
    let draft = drafter.draft_section(section, facts).await?;
    if let Some(server) = mock {
        server.shutdown().await;
    }
    let counters = drafter.counters();
    let report = NarrativeReport {
        model: draft.model.clone(),
        source: serde_json::to_value(draft.source)?.as_str().unwrap_or_default().to_string(),
        sections_checked: counters.checked,
        sections_corrected: counters.corrected,
        sections_replaced: counters.replaced,
        cache_hits: counters.cache_hits,
        llm_calls: draft.calls,
        prompt_tokens: draft.tokens.prompt_tokens,
        completion_tokens: draft.tokens.completion_tokens,
        estimated_cost: draft.cost,
        attempts: draft.attempts.clone(),
        fallback_reason: draft.fallback_reason.clone(),
    };
    Ok((draft, report))
}

/// The names the workspace knows, by kind, for the narrative's fact check: the keys of the
/// master data this run read (customers, SKUs, families, sites, resources, components,
/// suppliers) and the people of `snop.toml` (ids and names).
fn name_directory(ws: &Workspace, ingested: &Ingested) -> NameDirectory {
    const COLUMNS: &[(Table, &str, &str)] = &[
        (Table::Customers, "customer", "customers"),
        (Table::SalesHistory, "customer", "customers"),
        (Table::Items, "sku", "skus"),
        (Table::Items, "family", "families"),
        (Table::Items, "make_site", "sites"),
        (Table::Resources, "resource", "resources"),
        (Table::Resources, "site", "sites"),
        (Table::Inventory, "site", "sites"),
        (Table::Components, "component", "components"),
        (Table::Components, "supplier", "suppliers"),
        (Table::OpenPurchaseOrders, "supplier", "suppliers"),
    ];
    let mut directory = NameDirectory::new();
    for (table, column, kind) in COLUMNS {
        let Some(values) = ingested.table(*table).and_then(|df| df.column(column).ok()).and_then(|c| c.str().ok())
        else {
            continue;
        };
        directory.entry((*kind).to_string()).or_default().extend(values.iter().flatten().map(str::to_string));
    }
    let people = directory.entry("people".to_string()).or_default();
    for (id, person) in &ws.people {
        people.insert(id.clone());
        people.insert(person.name.clone());
    }
    directory
}

/// The file of a demand review run that holds last cycle's promises scored (`LoopFacts`).
pub(super) const LAST_CYCLE_FILE: &str = "last-cycle.json";

/// Last cycle's commitments and plan scored: from this run's own `customers`, `sales_history`
/// and `open_orders` when it read them, else from the file the cycle's demand review kept (the
/// signed one's run, else the latest). `None` when last cycle has no log or signed plan.
async fn last_cycle_scored(
    store: &Store,
    cycle: Month,
    tables: &std::collections::BTreeMap<Table, DataFrame>,
) -> anyhow::Result<Option<LoopFacts>> {
    if [Table::Customers, Table::SalesHistory, Table::OpenOrders].iter().all(|t| tables.contains_key(t)) {
        return last_cycle_loop(store, cycle, tables).await;
    }
    let Some((run, _)) = consensus_run(store, cycle).await? else { return Ok(None) };
    store
        .run_file(&run, LAST_CYCLE_FILE)?
        .map(|bytes| {
            serde_json::from_slice(&bytes).with_context(|| format!("reading `{}/{LAST_CYCLE_FILE}`", run.folder))
        })
        .transpose()
}

/// A new draft's content (serialized `DraftContent`) and its pages as first drafted
/// (`<artifact>-<cycle>.html` and `.md`). The content names the run's analysis files with their
/// hashes, so a signature covers the workbook too; the agenda reads last cycle's signed version.
pub(super) async fn draft_content(
    ws: &Workspace,
    store: &Store,
    agent: Agent,
    cycle: Month,
    DraftBasis { narrated, narrative_facts, agenda }: DraftBasis,
    files: &[(String, Vec<u8>)],
) -> anyhow::Result<(String, Vec<(String, Vec<u8>)>)> {
    use crate::artifacts::review;
    use crate::draft::{DraftContent, sha256_hex};
    let artifact = Artifact::of_agent(agent);
    let content = DraftContent {
        artifact: artifact.key().into(),
        cycle: cycle.to_string(),
        company: ws.company.clone(),
        locale: (ws.locale != crate::analysis::locale::Locale::EnUs).then(|| ws.locale.tag().to_string()),
        currency: ws.currency.clone(),
        narrative: narrated.sections.clone(),
        model_narrative: narrated.sections.clone(),
        narrative_source: serde_json::to_value(narrated.source)?.as_str().unwrap_or_default().to_string(),
        fallback_reason: narrated.fallback_reason.clone(),
        model: narrated.model.clone(),
        facts: narrative_facts,
        files: files.iter().map(|(name, bytes)| (name.clone(), sha256_hex(bytes))).collect(),
        agenda,
    };
    let text = serde_json::to_string(&content)?;
    // The version it will get (a concurrent run of the same agent could take it first: the
    // stored draft is the authority; `snop drafts show --html` renders it as it stands).
    let latest = store.drafts(Some(&cycle.to_string()), Some(artifact)).await?.into_iter().next();
    let standing = review::Standing {
        version: latest.map_or(1, |l| l.version + 1),
        state: "draft".into(),
        content_sha256: sha256_hex(text.as_bytes()),
        signed_line: None,
    };
    let stem = format!("{}-{cycle}", artifact.key().replace('_', "-"));
    let pages = vec![
        (format!("{stem}.html"), review::html(&content, &standing)?.into_bytes()),
        (format!("{stem}.md"), review::markdown(&content, &standing)?.into_bytes()),
    ];
    Ok((text, pages))
}
