//! The five agents, one per S&OP meeting, each in its own module with the same two steps:
//!
//! - `upstream`: what it reads from earlier runs before its analysis (the artifacts it builds
//!   on), with the runs it read, which join the run's identity;
//! - `prepare`: its analysis (pure, in `analysis/`), its narrative and agenda (the drafting
//!   sequence in [`super::drafting`]), and its renderings (`artifacts/`), as files to keep.
//!
//! The generic run in [`super`] ingests the inputs the agent's pipeline names, hashes, stages
//! and records; the two tables below are the only places that name every agent.

mod commit_back;
mod demand_review;
mod executive;
mod reconciliation;
mod supply_review;

pub use executive::executive_date;

use super::RunOptions;
use super::drafting::{Ctx, Prepared};
use crate::contract::Month;
use crate::sop::Agent;
use crate::store::{RunRow, Store};

/// What an agent read from earlier runs.
pub(super) struct Upstream {
    /// The runs it builds on, in the order read, each with its signed draft's id when it read a
    /// signed version (signing what a run builds on changes what it says: a new run).
    pub links: Vec<(RunRow, Option<i64>)>,
    /// More of the run's identity (the newest decision, `--allow-unsigned`).
    pub identity: Option<String>,
    pub read: Read,
}

/// What each agent read, for its `prepare`.
#[allow(clippy::large_enum_variant)] // one value per run, moved once into its agent's `prepare`
pub(super) enum Read {
    DemandReview(demand_review::Read),
    SupplyReview(supply_review::Read),
    Reconciliation(reconciliation::Read),
    Executive(executive::Read),
    CommitBack(commit_back::Read),
}

/// Reads what `agent` builds on (the first table: one arm per agent).
pub(super) async fn upstream(
    agent: Agent,
    store: &Store,
    cycle: Month,
    options: RunOptions,
) -> anyhow::Result<Upstream> {
    match agent {
        Agent::DemandReview => demand_review::upstream(store, cycle).await,
        Agent::SupplyReview => supply_review::upstream(store, cycle).await,
        Agent::Reconciliation => reconciliation::upstream(store, cycle, options).await,
        Agent::Executive => executive::upstream(store, cycle, options).await,
        Agent::CommitBack => commit_back::upstream(store, cycle).await,
    }
}

/// The agent's analysis, narrative and artifacts (the second table).
pub(super) async fn prepare(ctx: &Ctx<'_>, read: Read) -> anyhow::Result<Prepared> {
    match read {
        Read::DemandReview(r) => demand_review::prepare(ctx, r).await,
        Read::SupplyReview(r) => supply_review::prepare(ctx, r).await,
        Read::Reconciliation(r) => reconciliation::prepare(ctx, r).await,
        Read::Executive(r) => executive::prepare(ctx, r).await,
        Read::CommitBack(r) => commit_back::prepare(ctx, r).await,
    }
}
