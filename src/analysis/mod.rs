//! Analysis: turns validated contract data into typed facts.
//!
//! Architecture invariant: analysis is pure. No I/O, no clock, no network, no randomness:
//! identical inputs give bit-identical outputs, so a re-run with unchanged inputs reproduces
//! the same facts.

pub mod forecast;
