//! snop: takes the data-prep 80% of a monthly S&OP cycle off planners' hands.
//!
//! Data flows one way: [`ingest`] (the only reader of inputs) → analysis → narrative →
//! artifacts → [`store`] (the only writer), over a ground floor of shared words ([`contract`],
//! [`sop`], [`draft`]). [`pipeline`] runs an agent (one room per meeting in
//! `pipeline::agents`) through those stages; [`cli`], [`schedule`] and [`web`] sit on top. See
//! `ARCHITECTURE.md`.

pub mod analysis;
pub mod artifacts;
pub mod cadence;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod contract;
pub mod demo;
pub mod draft;
pub mod ingest;
pub mod maturity;
pub mod narrative;
pub mod notify;
pub mod pipeline;
pub mod scenario;
pub mod schedule;
pub mod sop;
pub mod store;
pub mod web;

use std::io::IsTerminal;
use std::time::Duration;

/// glibc's allocator settings `snop` starts itself with (see `main.rs`): one arena, no separate
/// mapping per large block, 256 MB of freed heap kept. Another program `snop` starts (Chromium
/// for the pack's PDF) is started without them.
pub const ALLOCATOR_TUNABLES: &str =
    "glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=268435456";

/// Whose fault an error is: it decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The user's data or configuration (exit 1).
    User,
    /// The runtime or a bug (exit 2).
    Runtime,
    /// A nightly run that could not complete cleanly (its own exit code, see [`schedule`]).
    Nightly(i32),
}

impl Fault {
    /// Walks an error's chain for a known cause; anything unknown is the runtime's.
    pub fn of(err: &anyhow::Error) -> Fault {
        for cause in err.chain() {
            if let Some(e) = cause.downcast_ref::<schedule::NightlyError>() {
                return Fault::Nightly(e.exit_code());
            }
            if cause.is::<config::ConfigError>() || cause.is::<UserError>() {
                return Fault::User;
            }
            if let Some(e) = cause.downcast_ref::<analysis::AnalysisError>() {
                return if e.is_user_fault() { Fault::User } else { Fault::Runtime };
            }
            if let Some(e) = cause.downcast_ref::<store::SignoffError>() {
                return if e.is_user_fault() { Fault::User } else { Fault::Runtime };
            }
            if let Some(e) = cause.downcast_ref::<ingest::IngestError>() {
                return if e.is_user_fault() { Fault::User } else { Fault::Runtime };
            }
        }
        Fault::Runtime
    }

    pub fn exit_code(self) -> i32 {
        match self {
            Fault::User => 1,
            Fault::Runtime => 2,
            Fault::Nightly(code) => code,
        }
    }
}

/// A fault in what the user asked for or gave us, with a message that says what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

/// Installs the process-wide TLS provider (ring, already in the build through polars) once.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A crash-injection point for tests: `SNOP_FAIL_AT=<name>` aborts the process here, as a
/// power cut or `kill -9` would.
pub fn fail_point(name: &str) {
    if std::env::var("SNOP_FAIL_AT").is_ok_and(|v| v == name) {
        eprintln!("snop: fail point `{name}` reached, aborting");
        std::process::abort();
    }
}

/// Progress bars on stderr, shown only to a person at a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    visible: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress { visible: !quiet && std::io::stderr().is_terminal() }
    }

    pub fn hidden() -> Progress {
        Progress { visible: false }
    }

    pub fn spinner(&self, message: String) -> indicatif::ProgressBar {
        if !self.visible {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new_spinner().with_message(message);
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }
}
