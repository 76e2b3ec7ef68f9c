//! What-if scenarios: a named set of changes over a cycle's inputs (`scenarios/<name>.toml`),
//! applied in memory to the supply review's ingested tables and the cycle's demand consensus,
//! re-planned by the supply review's own linear program, recorded in the store under the
//! scenario's name, and compared side by side.
//!
//! - [`spec`]: the file, read and validated with file, line and key (`snop validate` checks
//!   every scenario file).
//! - [`apply`]: the changes applied to the tables (pure): capacity hours per resource and
//!   months, a site down, a supplier unavailable or its lead time changed, an item's cost or
//!   price, demand uplift or cut by family, customer and SKU, a customer's priority.
//! - [`compare`]: a plan's [`Outcome`] (computed once, stored with the run) and the
//!   [`Comparison`] of several (pure).
//! - The run (ingest, consensus, identity, re-plan, store) is `pipeline::scenario`'s.

pub mod apply;
pub mod compare;
pub mod spec;

pub use apply::{Applied, ApplyError, apply};
pub use compare::{Comparison, Outcome, PackScenario, compare, outcome};
pub use spec::{BASE, Scenario, check_all, load, names};
