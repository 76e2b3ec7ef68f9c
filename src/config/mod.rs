//! The workspace: `snop.toml` ([`workspace`]) and the agents' `pipelines/*.toml`
//! ([`pipeline`]).
//!
//! Each file is read into a raw spec (serde, `deny_unknown_fields`, spans kept), then resolved
//! into a validated plan the rest of the code can trust. Resolution collects every problem of
//! every file, each with its file, line and key, so `snop validate` reports them all at once.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::sop::{Agent, Directory};

mod pipeline;
mod workspace;

pub use pipeline::{ColumnMap, EXPORT_EXTRA_COLUMNS, Export, ExportLayout, FileFormat, Location, Pipeline, Source};
pub use workspace::{
    NotifyConfig, Person, STORE_URL_ENV, SmtpConfig, WORKSPACE_FILE, WebhookConfig, calendar_problems,
};

/// One thing wrong in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ", key `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a workspace's configuration.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(f, "{n} problem{} in the workspace configuration", if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

/// A validated workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub company: String,
    pub currency: String,
    /// `[company] locale`: how numbers people read are written.
    pub locale: crate::analysis::locale::Locale,
    pub calendar: crate::calendar::Calendar,
    pub roles: BTreeMap<String, Vec<String>>,
    pub people: BTreeMap<String, Person>,
    pub llm: crate::narrative::client::LlmConfig,
    pub mask_fields: Vec<String>,
    pub store_url: String,
    pub reconciliation: crate::analysis::reconcile::ReconcileParams,
    /// `[reconciliation] pack_scenario`: the scenario whose comparison with the base the pack
    /// carries (its file exists; its run is checked when the pack is made).
    pub pack_scenario: Option<String>,
    pub pipelines: BTreeMap<Agent, Pipeline>,
    pub notify: NotifyConfig,
    /// `[signoff] require_keys`: every signature needs the signer's key.
    pub require_keys: bool,
    /// Pipelines none of whose input files is there yet (a fresh `snop init`), one note each
    /// with the files to put in; only [`Workspace::load_allowing_pending`] leaves them out of
    /// the problems.
    pub pending: Vec<Problem>,
    /// The most rows a workbook sheet may have: Excel's 1,048,576. Not a setting of
    /// `snop.toml`; tests set it small to prove that a workbook over it is split.
    pub sheet_max_rows: u32,
}

impl Workspace {
    /// Who holds which role, with people's names and keys: what the sign-off rules read.
    pub fn directory(&self) -> Directory {
        Directory {
            roles: self.roles.clone(),
            names: self.people.iter().map(|(id, p)| (id.clone(), p.name.clone())).collect(),
            public_keys: self.people.iter().filter_map(|(id, p)| Some((id.clone(), p.public_key.clone()?))).collect(),
            require_keys: self.require_keys,
        }
    }
    /// Reads and validates `snop.toml` and every `pipelines/*.toml` under `root`, and checks
    /// that every file a pipeline names is there.
    pub fn load(root: &Path) -> Result<Workspace, ConfigError> {
        Workspace::load_checking(root, Inputs::Required)
    }

    /// As [`Workspace::load`], for commands that read no input file (reviewing, signing, the
    /// calendar, the web): a reviewer on a team's shared store need not have the extracts.
    pub fn load_without_inputs(root: &Path) -> Result<Workspace, ConfigError> {
        Workspace::load_checking(root, Inputs::NotRead)
    }

    /// As [`Workspace::load`], checking only the input files of `agent`'s pipeline: an agent is
    /// run with its own files, whether the others' are there yet or not.
    pub fn load_for(root: &Path, agent: Agent) -> Result<Workspace, ConfigError> {
        Workspace::load_checking(root, Inputs::Only(agent))
    }

    /// As [`Workspace::load`], for `snop validate`: a pipeline none of whose input files is
    /// there yet is pending (a note in `pending` saying what to put where), not a problem. A
    /// pipeline with some of its files is checked in full.
    pub fn load_allowing_pending(root: &Path) -> Result<Workspace, ConfigError> {
        Workspace::load_checking(root, Inputs::Pending)
    }

    fn load_checking(root: &Path, inputs: Inputs) -> Result<Workspace, ConfigError> {
        let mut problems = Vec::new();
        let ws = workspace::load_workspace(root, inputs, &mut problems);
        problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        if problems.is_empty() { Ok(ws.expect("a workspace without problems")) } else { Err(ConfigError { problems }) }
    }

    pub fn pipeline(&self, agent: Agent) -> Result<&Pipeline, ConfigError> {
        self.pipelines.get(&agent).ok_or_else(|| ConfigError {
            problems: vec![Problem {
                file: self.root.join("pipelines"),
                line: None,
                key: String::new(),
                message: format!("no pipeline for agent `{agent}`: expected `pipelines/{agent}.toml`"),
            }],
        })
    }

    /// The people who hold a role.
    pub fn holders(&self, role: &str) -> &[String] {
        self.roles.get(role).map(Vec::as_slice).unwrap_or_default()
    }
}

pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// Reads a TOML file into `T`, recording a problem (with its line) when it does not parse.
/// Every unknown key of the file is reported, not only the first: each is taken out of the
/// parsed document and the rest read again.
pub(crate) fn read_toml<T: for<'de> Deserialize<'de>>(
    path: &Path,
    rel: &Path,
    problems: &mut Vec<Problem>,
) -> Option<(T, String)> {
    let text = match fs_err::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(Problem {
                file: rel.to_path_buf(),
                line: None,
                key: String::new(),
                message: format!("cannot be read: {}", e.kind()),
            });
            return None;
        }
    };
    let problem = |e: &toml::de::Error| Problem {
        file: rel.to_path_buf(),
        line: e.span().map(|s| line_of(&text, s.start)),
        key: String::new(),
        message: e.message().trim().to_string(),
    };
    let read = {
        let mut table = match toml::de::DeTable::parse(&text) {
            Ok(t) => t,
            Err(e) => {
                problems.push(problem(&e));
                return None;
            }
        };
        let mut unknown = false;
        // A bound, not a limit in practice: one pass per unknown key.
        let mut passes = 0;
        loop {
            passes += 1;
            match T::deserialize(toml::de::Deserializer::from(table.clone())) {
                Ok(v) => break (!unknown).then_some(v),
                Err(e) => {
                    problems.push(problem(&e));
                    let span = e.span().filter(|_| e.message().starts_with("unknown field") && passes < 100);
                    if span.is_some_and(|s| remove_key(table.get_mut(), &s)) {
                        unknown = true;
                        continue;
                    }
                    break None;
                }
            }
        }
    };
    read.map(|v| (v, text))
}

/// Takes the key whose span is `span` out of a parsed document, wherever it is nested.
fn remove_key(table: &mut toml::de::DeTable<'_>, span: &std::ops::Range<usize>) -> bool {
    if let Some(key) = table.keys().find(|k| k.span() == *span).cloned() {
        table.remove(&key);
        return true;
    }
    table.iter_mut().any(|(_, v)| match v.get_mut() {
        toml::de::DeValue::Table(t) => remove_key(t, span),
        toml::de::DeValue::Array(a) => a.iter_mut().any(|item| match item.get_mut() {
            toml::de::DeValue::Table(t) => remove_key(t, span),
            _ => false,
        }),
        _ => false,
    })
}

/// Whether the pipelines' input files must be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Inputs {
    Required,
    NotRead,
    /// Only this agent's pipeline's.
    Only(Agent),
    /// Every pipeline's, but one with none of its files is pending rather than a problem.
    Pending,
}

impl Inputs {
    /// Whether the files of `agent`'s pipeline must be there.
    fn checked_for(self, agent: Option<Agent>) -> bool {
        match self {
            Inputs::Required | Inputs::Pending => true,
            Inputs::NotRead => false,
            Inputs::Only(a) => agent == Some(a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::workspace::check_store_url;
    use super::*;

    #[test]
    fn store_urls_snop_can_open() {
        assert_eq!(check_store_url("sqlite://snop.db"), Ok(()));
        assert_eq!(check_store_url("postgres://snop@db.example:5432/snop"), Ok(()));
        assert_eq!(check_store_url("postgresql://snop:pw@db.example/snop?sslmode=require"), Ok(()));
        let err = check_store_url("mysql://root:hunter2@db/snop").unwrap_err();
        assert!(err.starts_with("`mysql://root:***@db/snop` is not supported: use `sqlite://FILE`"), "{err}");
        let err = check_store_url("postgres://snop:hunter2@db.example").unwrap_err();
        assert_eq!(err, "`postgres://snop:***@db.example` names no database: use `postgres://USER@HOST/DATABASE`");
        assert!(check_store_url("sqlite://").is_err());
        let err = check_store_url("postgres://snop@db.example:notaport/snop").unwrap_err();
        assert!(err.contains("is not a PostgreSQL URL snop can read"), "{err}");
    }

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
    }
}
