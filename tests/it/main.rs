//! The one integration-test binary (one link of polars, not one per file). Each module drives
//! the library in-process or spawns the `snop` binary.

mod agenda;
mod bad_inputs;
mod bench;
mod cadence;
mod calendar;
mod commitments;
mod common;
mod demand;
mod demo;
mod executive;
mod ingest;
mod maturity;
mod narrative;
mod nightly;
mod notify;
mod pg;
mod scenario;
mod signoff;
mod supply;
mod tables;
mod web;
mod workspace;
