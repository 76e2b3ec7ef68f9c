//! Artifacts: renders facts (and, later, narrative) into the files planners open. No I/O here:
//! renderers return bytes and the store writes them.

pub mod supply_plan;
