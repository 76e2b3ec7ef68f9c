//! Analysis is pure: no I/O, no clock, no network, deterministic. It reads the contract tables
//! that ingest hands over and returns a typed, serializable facts report per artifact: the
//! interface that prompts and renderers read.

pub mod supply;
