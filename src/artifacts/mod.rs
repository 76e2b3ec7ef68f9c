//! Artifacts: facts and narrative rendered into what people read and open (HTML, Markdown,
//! XLSX, slides). No I/O here: renderers return bytes and the store writes them.

pub mod commitment_log;
pub mod demand_consensus;
pub mod pack;
pub mod review;
pub mod signed_plan;
pub mod supply_plan;
pub mod tables;
pub(crate) mod xlsx;
