//! `pipelines/<agent>.toml`: where an agent's inputs come from (files or URLs), how their
//! columns map onto the data contract, the quarantine limit, the analysis parameters and the
//! signed plan's export; resolved into a [`Pipeline`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::{Inputs, Problem, line_of, read_toml};
use crate::contract::{Column, Kind, Table};
use crate::sop::Agent;

/// `pipelines/<agent>.toml`, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    /// The agent this pipeline runs: demand-review, supply-review, reconciliation, executive or commit-back.
    agent: Spanned<String>,
    /// What the pipeline is for, in a planner's words.
    #[serde(default)]
    description: String,
    /// How many months of history the agent reads, counted back from the cycle month: a number
    /// of months, or `"all"` for everything the extracts hold. Older rows are skipped and counted.
    #[serde(default = "default_history_months")]
    history_months: RawHistoryMonths,
    /// When bad rows stop a run.
    #[serde(default)]
    quarantine: RawQuarantine,
    /// The inputs, each mapped onto one contract table.
    #[serde(default)]
    sources: Vec<Spanned<RawSource>>,
    /// Settings of the demand review's analysis.
    #[serde(default)]
    demand: crate::analysis::demand::DemandParams,
    /// Settings of the supply review's analysis: costs of the options, OTIF, allocation.
    #[serde(default)]
    supply: crate::analysis::supply::SupplyParams,
    /// The executive agent's export of the signed plan, in the ERP's own column names.
    #[serde(default)]
    export: Option<Spanned<RawExport>>,
    /// The commit-back's noise threshold, firm horizon and split by account manager.
    #[serde(default)]
    commit_back: Option<Spanned<RawCommitBack>>,
}

/// `[commit_back]`: what reaches the account managers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommitBack {
    /// Lines short by fewer units (breaking no booked order by as many) are noise: left out of
    /// the log and counted. Default: 1.
    #[serde(default)]
    min_units: Option<Spanned<f64>>,
    /// Months from the cycle month on whose planned volume is booked into the order book
    /// ("to book"); later months are forecast. Default: 3.
    #[serde(default)]
    firm_horizon_months: Option<Spanned<i64>>,
    /// Also write one workbook per account manager (its Log sheet only their lines).
    #[serde(default)]
    split_by_account_manager: bool,
}

/// `[export]`: the signed plan as the ERP loads it back, as the `open_orders` table of the data
/// contract (`order_id`, `sku`, `customer`, `requested_month`, `qty`) with the ERP's columns:
/// the reverse of a source's mapping, so a source with the same `columns` reads it back.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExport {
    /// The field separator of the CSV; one character. Default: `,`.
    #[serde(default)]
    delimiter: Option<String>,
    /// Numbers written `1.234,5` (comma for decimals).
    #[serde(default)]
    decimal_comma: bool,
    /// Contract column of `open_orders` (and `line`, `plant`, `uom`: the item number in its
    /// document, the plant, the unit of measure) to the ERP's column name; unmapped columns keep
    /// their name.
    #[serde(default)]
    columns: BTreeMap<String, String>,
    /// `sales_orders` (one document per customer and month, a line per SKU; the default) or
    /// `planned_independent_requirements` (SAP's MD61 upload: per material, plant and month,
    /// customers summed).
    #[serde(default)]
    layout: Option<Spanned<String>>,
    /// Make site (`items.make_site`) to the ERP's plant code (SAP's `WERKS`: 4 characters). A
    /// site not listed is written as it is.
    #[serde(default)]
    plants: BTreeMap<String, String>,
    /// The requirements type of the planned-independent-requirements layout (`BEDAE`, up to 4
    /// characters). Default: `LSF`.
    #[serde(default)]
    requirements_type: Option<String>,
    /// The version of the planned independent requirements (`VERSB`, 2 characters). Default: `00`.
    #[serde(default)]
    version: Option<String>,
}

/// The export's layout (`[export] layout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExportLayout {
    /// One document per customer and month, one line per SKU: the `open_orders` table.
    #[default]
    SalesOrders,
    /// SAP's planned independent requirements: per material, plant and month.
    PlannedIndependentRequirements,
}

/// The columns an export may name beyond `open_orders`'s: the line within its document, the
/// plant and the unit of measure.
pub const EXPORT_EXTRA_COLUMNS: [&str; 3] = ["line", "plant", "uom"];

/// The signed plan's export: the ERP's column name of each `open_orders` contract column.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    pub delimiter: u8,
    pub decimal_comma: bool,
    /// (contract column, ERP column) in the contract's order (the line after the document
    /// number), then the plant and the unit of measure.
    pub columns: Vec<(String, String)>,
    pub layout: ExportLayout,
    /// Make site to plant code.
    pub plants: BTreeMap<String, String>,
    pub requirements_type: String,
    pub version: String,
}

impl Default for Export {
    fn default() -> Self {
        Export {
            delimiter: b',',
            decimal_comma: false,
            columns: Table::OpenOrders
                .spec()
                .columns
                .iter()
                .flat_map(|c| {
                    // The line within its document right after the document number.
                    let line = (c.name == "order_id").then(|| ("line".to_string(), "line".to_string()));
                    std::iter::once((c.name.to_string(), c.name.to_string())).chain(line)
                })
                .chain(["plant", "uom"].iter().map(|c| (c.to_string(), c.to_string())))
                .collect(),
            layout: ExportLayout::SalesOrders,
            plants: BTreeMap::new(),
            requirements_type: "LSF".into(),
            version: "00".into(),
        }
    }
}

/// `history_months` as written: a number, or `"all"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawHistoryMonths {
    Months(i64),
    Word(String),
}

/// The default `history_months`: ten years, as long as most ERP extracts go back.
pub const DEFAULT_HISTORY_MONTHS: u32 = 120;

/// What `history_months = "all"` means, and the most a number may say: 100 years, older than
/// any order line an ERP keeps, so "all" reads everything.
pub const ALL_HISTORY_MONTHS: u32 = 1200;

fn default_history_months() -> RawHistoryMonths {
    RawHistoryMonths::Months(i64::from(DEFAULT_HISTORY_MONTHS))
}

impl RawHistoryMonths {
    /// The months, or why not.
    fn resolve(&self) -> Result<u32, String> {
        let bad = || format!("must be a number of months between 1 and {ALL_HISTORY_MONTHS}, or \"all\"");
        match self {
            RawHistoryMonths::Word(w) if w == "all" => Ok(ALL_HISTORY_MONTHS),
            RawHistoryMonths::Months(n) => {
                u32::try_from(*n).ok().filter(|n| (1..=ALL_HISTORY_MONTHS).contains(n)).ok_or_else(bad)
            }
            RawHistoryMonths::Word(_) => Err(bad()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuarantine {
    /// The share of a source's rows, in percent, that may be quarantined before the run fails.
    #[serde(default = "default_max_percent")]
    max_percent: f64,
    /// A source with fewer quarantined rows than this never rejects the run on `max_percent`:
    /// a few typos in a 12-row master are listed in the quarantine, not a reason to stop the cycle.
    #[serde(default = "default_min_rows_before_percent")]
    min_rows_before_percent: i64,
}

impl Default for RawQuarantine {
    fn default() -> Self {
        RawQuarantine { max_percent: default_max_percent(), min_rows_before_percent: default_min_rows_before_percent() }
    }
}

fn default_max_percent() -> f64 {
    5.0
}

/// Five: a handful of bad rows is a typo to fix, not a broken extract; from 100 rows up the
/// default 5% alone decides, so the large tables are judged by the percentage as before.
fn default_min_rows_before_percent() -> i64 {
    5
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    /// A name for the source in reports; defaults to the table name.
    #[serde(default)]
    name: Option<String>,
    /// The contract table the source fills.
    table: Spanned<String>,
    /// Where the data comes from: `csv`, `parquet`, `xlsx` or `http`.
    #[serde(rename = "type")]
    kind: Spanned<String>,
    /// A file path or glob, relative to the workspace (csv, parquet, xlsx).
    #[serde(default)]
    path: Option<Spanned<String>>,
    /// The sheet to read (xlsx).
    #[serde(default)]
    sheet: Option<Spanned<String>>,
    /// The row that holds the column names, counting from 1 (xlsx).
    #[serde(default)]
    header_row: Option<Spanned<u32>>,
    /// The field separator (csv, and http with format csv); one character.
    #[serde(default)]
    delimiter: Option<Spanned<String>>,
    /// The URL to pull (http).
    #[serde(default)]
    url: Option<Spanned<String>>,
    /// The body's format: `csv` or `parquet` (http).
    #[serde(default)]
    format: Option<Spanned<String>>,
    /// The HTTP header that carries the credential, e.g. `Authorization` (http).
    #[serde(default)]
    auth_header: Option<Spanned<String>>,
    /// The environment variable that holds the credential's value (http).
    #[serde(default)]
    auth_env: Option<Spanned<String>>,
    /// How long one attempt may take (http).
    #[serde(default)]
    timeout_seconds: Option<Spanned<u64>>,
    /// How many times a failed pull is tried again, with backoff (http).
    #[serde(default)]
    retries: Option<Spanned<u32>>,
    /// Numbers are written `1.234,5` (comma for decimals, dot for thousands).
    #[serde(default)]
    decimal_comma: bool,
    /// The default date format of the source's date columns (strftime), e.g. `%Y%m%d`, or a
    /// list of formats tried in order.
    #[serde(default)]
    date_format: Option<Spanned<Formats>>,
    /// Plausibility limits: contract column to the largest absolute value believed, overriding
    /// the contract's default (numeric columns).
    #[serde(default)]
    limits: Option<Spanned<BTreeMap<String, f64>>>,
    /// Value mappings: contract column to `{ source value = contract value }` (text columns).
    #[serde(default)]
    values: Option<Spanned<BTreeMap<String, BTreeMap<String, String>>>>,
    /// Overrides `[quarantine] max_percent` for this source.
    #[serde(default)]
    max_quarantined_percent: Option<f64>,
    /// No file matching `path` is not an error: the source then has no rows (spreadsheets people
    /// send back when they have something to say, such as returned commitment logs).
    #[serde(default)]
    optional: bool,
    /// Contract column to the source's own column name (or `{ column, format }` for dates).
    #[serde(default = "no_mapping")]
    columns: Spanned<BTreeMap<String, RawMapping>>,
}

fn no_mapping() -> Spanned<BTreeMap<String, RawMapping>> {
    Spanned::new(0..0, BTreeMap::new())
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawMapping {
    Name(String),
    Detailed {
        /// The source's column name.
        column: String,
        /// The date format of this column (strftime), or a list tried in order.
        #[serde(default)]
        format: Option<Formats>,
    },
}

/// One date format, or a list of them tried in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Formats {
    One(String),
    Many(Vec<String>),
}

impl Formats {
    fn list(&self) -> Vec<String> {
        match self {
            Formats::One(f) => vec![f.clone()],
            Formats::Many(v) => v.clone(),
        }
    }
}

/// A validated pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub agent: Agent,
    /// The file it was read from, relative to the workspace.
    pub file: PathBuf,
    /// The file's bytes, hashed into every run.
    pub text: String,
    pub description: String,
    /// Months of history read before the cycle month (`"all"` is [`ALL_HISTORY_MONTHS`]).
    pub history_months: u32,
    pub sources: Vec<Source>,
    pub demand: crate::analysis::demand::DemandParams,
    pub supply: crate::analysis::supply::SupplyParams,
    pub export: Export,
    pub commit_back: crate::analysis::commitments::CommitBackParams,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub table: Table,
    pub location: Location,
    pub columns: Vec<ColumnMap>,
    pub decimal_comma: bool,
    pub max_quarantined_percent: f64,
    /// Fewer quarantined rows than this never reject the run on the percentage.
    pub min_rows_before_percent: usize,
    /// No matching file means no rows, not an error.
    pub optional: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FileFormat {
    Csv { delimiter: u8 },
    Parquet,
    Xlsx { sheet: String, header_row: u32 },
}

#[derive(Debug, Clone)]
pub enum Location {
    /// A path or glob relative to the workspace.
    Files {
        pattern: String,
        format: FileFormat,
    },
    Http {
        url: String,
        format: FileFormat,
        auth: Option<(String, String)>,
        timeout_seconds: u64,
        retries: u32,
    },
}

/// One contract column and where it comes from in the source.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    pub column: Column,
    pub source: String,
    /// For date columns: the strftime formats of the source's text, tried in order (never empty).
    pub date_formats: Vec<String>,
    /// The largest absolute value believed (numeric columns): the source's `limits`, else the
    /// contract's default.
    pub max: Option<f64>,
    /// The source's values and the contract values they stand for (`values`; text columns).
    pub values: Vec<(String, String)>,
}

pub(super) fn load_pipelines(
    root: &Path,
    inputs: Inputs,
    problems: &mut Vec<Problem>,
    pending: &mut Vec<Problem>,
) -> Option<BTreeMap<Agent, Pipeline>> {
    let dir = root.join("pipelines");
    let mut files: Vec<PathBuf> = match fs_err::read_dir(&dir) {
        Ok(rd) => {
            rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect()
        }
        Err(_) => {
            problems.push(Problem {
                file: PathBuf::from("pipelines"),
                line: None,
                key: String::new(),
                message: "folder not found: a workspace keeps one pipeline per agent there".into(),
            });
            return None;
        }
    };
    files.sort();
    let before = problems.len();
    let mut out = BTreeMap::new();
    for path in files {
        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        // One agent per file: the file is named after its agent, so no agent is run twice.
        if let Some(p) = load_pipeline(root, &path, &rel, inputs, (problems, pending)) {
            out.insert(p.agent, p);
        }
    }
    (problems.len() == before).then_some(out)
}

/// The problems of one file, each placed at the line its span starts on.
struct Here<'a> {
    rel: &'a Path,
    text: &'a str,
    problems: &'a mut Vec<Problem>,
    /// Whether the input files must be there.
    check_files: bool,
    /// Input files not there, as problems and as the paths a note would name; kept apart until
    /// the whole file is read, for a pipeline may be pending (see `Inputs::Pending`).
    missing: Vec<(Problem, String)>,
}

impl Here<'_> {
    fn missing_file(&mut self, span: std::ops::Range<usize>, key: String, pattern: &str) {
        let problem = Problem {
            file: self.rel.to_path_buf(),
            line: Some(line_of(self.text, span.start)),
            key,
            message: format!("`{pattern}` matches no file in the workspace"),
        };
        self.missing.push((problem, pattern.to_string()));
    }

    fn at(&mut self, span: std::ops::Range<usize>, key: String, message: String) {
        self.problems.push(Problem {
            file: self.rel.to_path_buf(),
            line: Some(line_of(self.text, span.start)),
            key,
            message,
        });
    }
}

fn load_pipeline(
    root: &Path,
    path: &Path,
    rel: &Path,
    inputs: Inputs,
    (problems, pending): (&mut Vec<Problem>, &mut Vec<Problem>),
) -> Option<Pipeline> {
    let (raw, text): (RawPipeline, String) = read_toml(path, rel, problems)?;
    let before = problems.len();
    let agent = Agent::from_name(raw.agent.get_ref());
    let check_files = inputs.checked_for(agent);
    let mut here = Here { rel, text: &text, problems, check_files, missing: Vec::new() };
    if agent.is_none() {
        here.at(
            raw.agent.span(),
            "agent".into(),
            format!("unknown agent `{}`: agents are {}", raw.agent.get_ref(), Agent::ALL.map(Agent::name).join(", ")),
        );
    }
    if !(0.0..=100.0).contains(&raw.quarantine.max_percent) {
        here.at(0..0, "quarantine.max_percent".into(), "must be between 0 and 100".into());
    }
    if raw.quarantine.min_rows_before_percent < 0 {
        let n = raw.quarantine.min_rows_before_percent;
        here.at(
            0..0,
            "quarantine.min_rows_before_percent".into(),
            format!("`{n}` must be a number of rows, 0 or more"),
        );
    }
    let history_months = raw.history_months.resolve().unwrap_or_else(|why| {
        here.at(0..0, "history_months".into(), why);
        DEFAULT_HISTORY_MONTHS
    });
    let mut sources: Vec<Source> = Vec::new();
    let mut names = BTreeMap::new();
    for source in raw.sources.iter().enumerate() {
        sources.extend(resolve_source(root, &raw, source, &mut names, &mut here));
    }
    check_tables(agent, &raw, &sources, &mut here);
    check_params(&raw, &mut here);
    let export = resolve_export(raw.export.as_ref(), &mut here);
    let commit_back = resolve_commit_back(raw.commit_back.as_ref(), &mut here);
    let missing = std::mem::take(&mut here.missing);
    let files = sources.iter().filter(|s| !s.optional && matches!(s.location, Location::Files { .. })).count();
    if inputs == Inputs::Pending && problems.len() == before && !missing.is_empty() && missing.len() == files {
        let paths: Vec<String> = missing.iter().map(|(_, p)| format!("`{p}`")).collect();
        pending.push(Problem {
            file: rel.to_path_buf(),
            line: None,
            key: String::new(),
            message: format!(
                "pending: none of its input files is there yet; put {} in the workspace (`snop run {}` reads them)",
                paths.join(", "),
                raw.agent.get_ref()
            ),
        });
    } else {
        problems.extend(missing.into_iter().map(|(p, _)| p));
    }
    if problems.len() > before {
        return None;
    }
    let agent = agent?;
    if rel.file_stem().is_some_and(|s| s != agent.name()) {
        problems.push(Problem {
            file: rel.to_path_buf(),
            line: None,
            key: "agent".into(),
            message: format!("the file of agent `{agent}` must be named `pipelines/{agent}.toml`"),
        });
        return None;
    }
    Some(Pipeline {
        agent,
        file: rel.to_path_buf(),
        text,
        description: raw.description,
        history_months,
        sources,
        demand: raw.demand,
        supply: raw.supply,
        export,
        commit_back,
    })
}

/// One `[[sources]]` entry resolved, or `None` with its problems reported.
fn resolve_source(
    root: &Path,
    raw: &RawPipeline,
    (i, spanned): (usize, &Spanned<RawSource>),
    names: &mut BTreeMap<String, usize>,
    here: &mut Here<'_>,
) -> Option<Source> {
    let key = |k: &str| format!("sources[{i}].{k}");
    let s = spanned.get_ref();
    let Some(table) = Table::from_name(s.table.get_ref()) else {
        here.at(
            s.table.span(),
            key("table"),
            format!("unknown table `{}`: tables are {}", s.table.get_ref(), Table::ALL.map(Table::name).join(", ")),
        );
        return None;
    };
    let name = s.name.clone().unwrap_or_else(|| table.name().to_string());
    if let Some(prev) = names.insert(name.clone(), i) {
        here.at(
            spanned.span(),
            key("name"),
            format!("source name `{name}` is also used by sources[{prev}]: give one a `name`"),
        );
    }
    let delimiter = match &s.delimiter {
        None => b',',
        Some(d) if d.get_ref().len() == 1 => d.get_ref().as_bytes()[0],
        Some(d) => {
            here.at(d.span(), key("delimiter"), format!("`{}` must be a single character", d.get_ref()));
            b','
        }
    };
    let kind = s.kind.get_ref().as_str();
    // Which keys belong to which kind: a key for another kind is a mistake worth naming.
    let allowed: &[&str] = match kind {
        "csv" => &["path", "delimiter"],
        "parquet" => &["path"],
        "xlsx" => &["path", "sheet", "header_row"],
        "http" => &["url", "format", "auth_header", "auth_env", "timeout_seconds", "retries", "delimiter"],
        other => {
            here.at(
                s.kind.span(),
                key("type"),
                format!("unknown source type `{other}`: types are csv, parquet, xlsx, http"),
            );
            return None;
        }
    };
    let present: [(&str, Option<std::ops::Range<usize>>); 10] = [
        ("path", s.path.as_ref().map(Spanned::span)),
        ("sheet", s.sheet.as_ref().map(Spanned::span)),
        ("header_row", s.header_row.as_ref().map(Spanned::span)),
        ("delimiter", s.delimiter.as_ref().map(Spanned::span)),
        ("url", s.url.as_ref().map(Spanned::span)),
        ("format", s.format.as_ref().map(Spanned::span)),
        ("auth_header", s.auth_header.as_ref().map(Spanned::span)),
        ("auth_env", s.auth_env.as_ref().map(Spanned::span)),
        ("timeout_seconds", s.timeout_seconds.as_ref().map(Spanned::span)),
        ("retries", s.retries.as_ref().map(Spanned::span)),
    ];
    for (k, span) in present {
        if let Some(span) = span.filter(|_| !allowed.contains(&k)) {
            here.at(span, key(k), format!("`{k}` does not apply to a `{kind}` source"));
        }
    }
    let location = source_location(root, i, spanned, delimiter, here)?;
    let columns = column_maps(table, i, s, here);
    Some(Source {
        name,
        table,
        location,
        columns,
        decimal_comma: s.decimal_comma,
        max_quarantined_percent: s.max_quarantined_percent.unwrap_or(raw.quarantine.max_percent),
        min_rows_before_percent: usize::try_from(raw.quarantine.min_rows_before_percent).unwrap_or(0),
        optional: s.optional,
    })
}

/// Where a source's rows come from: files matching a glob (csv, parquet, xlsx) or a URL.
fn source_location(
    root: &Path,
    i: usize,
    spanned: &Spanned<RawSource>,
    delimiter: u8,
    here: &mut Here<'_>,
) -> Option<Location> {
    let key = |k: &str| format!("sources[{i}].{k}");
    let s = spanned.get_ref();
    let kind = s.kind.get_ref().as_str();
    Some(if kind == "http" {
        let Some(url) = &s.url else {
            here.at(spanned.span(), key("url"), "an http source needs a `url`".into());
            return None;
        };
        if !(url.get_ref().starts_with("http://") || url.get_ref().starts_with("https://")) {
            here.at(url.span(), key("url"), format!("`{}` is not an http(s) URL", url.get_ref()));
        }
        let format = match s.format.as_ref().map(|f| f.get_ref().as_str()) {
            None | Some("csv") => FileFormat::Csv { delimiter },
            Some("parquet") => FileFormat::Parquet,
            Some(other) => {
                here.at(
                    s.format.as_ref().expect("format").span(),
                    key("format"),
                    format!("`{other}` is not `csv` or `parquet`"),
                );
                return None;
            }
        };
        let auth = match (&s.auth_header, &s.auth_env) {
            (Some(h), Some(e)) => Some((h.get_ref().clone(), e.get_ref().clone())),
            (None, None) => None,
            (Some(h), None) => {
                here.at(
                    h.span(),
                    key("auth_env"),
                    "`auth_header` needs `auth_env`, the environment variable with its value".into(),
                );
                None
            }
            (None, Some(e)) => {
                here.at(
                    e.span(),
                    key("auth_header"),
                    "`auth_env` needs `auth_header`, the header to send it in".into(),
                );
                None
            }
        };
        Location::Http {
            url: url.get_ref().clone(),
            format,
            auth,
            timeout_seconds: s.timeout_seconds.as_ref().map_or(30, |t| *t.get_ref()),
            retries: s.retries.as_ref().map_or(3, |r| *r.get_ref()),
        }
    } else {
        let Some(p) = &s.path else {
            here.at(spanned.span(), key("path"), format!("a `{kind}` source needs a `path`"));
            return None;
        };
        let format = match kind {
            "csv" => FileFormat::Csv { delimiter },
            "parquet" => FileFormat::Parquet,
            _ => {
                let Some(sheet) = &s.sheet else {
                    here.at(spanned.span(), key("sheet"), "an xlsx source needs a `sheet`".into());
                    return None;
                };
                let header_row = s.header_row.as_ref().map_or(1, |h| *h.get_ref());
                if header_row == 0 {
                    here.at(
                        s.header_row.as_ref().expect("header_row").span(),
                        key("header_row"),
                        "rows count from 1".into(),
                    );
                }
                FileFormat::Xlsx { sheet: sheet.get_ref().clone(), header_row }
            }
        };
        let pattern = p.get_ref().clone();
        match glob::glob(&root.join(&pattern).to_string_lossy()) {
            Err(e) => here.at(p.span(), key("path"), format!("`{pattern}` is not a valid glob: {}", e.msg)),
            Ok(mut paths) => {
                if here.check_files && !s.optional && paths.next().is_none() {
                    here.missing_file(p.span(), key("path"), &pattern);
                }
            }
        }
        Location::Files { pattern, format }
    })
}

/// The column mapping of a source: every key a contract column, every required column mapped;
/// unmapped contract columns are read under their own name. Then its date formats, `limits`
/// and `values`.
fn column_maps(table: Table, i: usize, s: &RawSource, here: &mut Here<'_>) -> Vec<ColumnMap> {
    let key = |k: &str| format!("sources[{i}].{k}");
    let spec = table.spec();
    let default_formats = s.date_format.as_ref().map_or_else(|| vec!["%Y-%m-%d".to_string()], |f| f.get_ref().list());
    check_formats(&default_formats, s.date_format.as_ref().map_or(0..0, Spanned::span), key("date_format"), here);
    let mut columns = Vec::new();
    for (contract_name, mapping) in s.columns.get_ref() {
        let Some(column) = spec.column(contract_name) else {
            here.at(s.columns.span(), key(&format!("columns.{contract_name}")), not_a_column(contract_name, table));
            continue;
        };
        let (source, format) = match mapping {
            RawMapping::Name(n) => (n.clone(), None),
            RawMapping::Detailed { column, format } => (column.clone(), format.as_ref().map(Formats::list)),
        };
        if let Some(f) = &format {
            if column.kind != Kind::Date {
                here.at(
                    s.columns.span(),
                    key(&format!("columns.{contract_name}.format")),
                    "a `format` applies only to date columns".into(),
                );
            }
            check_formats(f, s.columns.span(), key(&format!("columns.{contract_name}.format")), here);
        }
        columns.push(ColumnMap {
            column: *column,
            source,
            date_formats: format.unwrap_or_else(|| default_formats.clone()),
            max: column.plausible_max(),
            values: Vec::new(),
        });
    }
    // Unmapped contract columns are read under their own name.
    for c in spec.columns {
        if !s.columns.get_ref().contains_key(c.name) {
            columns.push(ColumnMap {
                column: *c,
                source: c.name.to_string(),
                date_formats: default_formats.clone(),
                max: c.plausible_max(),
                values: Vec::new(),
            });
        }
    }
    columns.sort_by_key(|m| spec.columns.iter().position(|c| c.name == m.column.name));
    limits_and_values(table, i, s, &mut columns, here);
    columns
}

fn not_a_column(name: &str, table: Table) -> String {
    format!(
        "`{name}` is not a column of `{table}`: its columns are {}",
        table.spec().columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
    )
}

/// A list of date formats: not empty, each one chrono can read.
fn check_formats(formats: &[String], span: std::ops::Range<usize>, key: String, here: &mut Here<'_>) {
    if formats.is_empty() {
        here.at(span.clone(), key.clone(), "give at least one date format".into());
    }
    for f in formats {
        let broken = chrono::format::StrftimeItems::new(f).any(|i| matches!(i, chrono::format::Item::Error));
        if broken || f.trim().is_empty() {
            here.at(span.clone(), key.clone(), format!("`{f}` is not a date format (strftime, e.g. `%d.%m.%Y`)"));
        }
    }
}

/// `limits` (numeric columns, a positive number) and `values` (text columns; a value the
/// contract allows) onto the column maps.
fn limits_and_values(table: Table, i: usize, s: &RawSource, columns: &mut [ColumnMap], here: &mut Here<'_>) {
    let key = |k: &str| format!("sources[{i}].{k}");
    if let Some(limits) = &s.limits {
        for (name, max) in limits.get_ref() {
            let k = key(&format!("limits.{name}"));
            match columns.iter_mut().find(|m| m.column.name == name) {
                None => here.at(limits.span(), k, not_a_column(name, table)),
                Some(m) if !matches!(m.column.kind, Kind::Int | Kind::Number) => {
                    here.at(limits.span(), k, format!("`{name}` is not a number column: a limit applies to numbers"))
                }
                Some(_) if !(max.is_finite() && *max > 0.0) => {
                    here.at(limits.span(), k, format!("`{max}` must be a positive number"))
                }
                Some(m) => m.max = Some(*max),
            }
        }
    }
    if let Some(values) = &s.values {
        for (name, mapping) in values.get_ref() {
            let k = key(&format!("values.{name}"));
            let Some(m) = columns.iter_mut().find(|m| m.column.name == name) else {
                here.at(values.span(), k, not_a_column(name, table));
                continue;
            };
            if m.column.kind != Kind::Text {
                here.at(values.span(), k, format!("`{name}` is not a text column: `values` maps text"));
                continue;
            }
            for (from, to) in mapping {
                let allowed = m.column.allowed;
                if !allowed.is_empty() && !allowed.contains(&to.as_str()) {
                    here.at(
                        values.span(),
                        format!("{k}.{from}"),
                        format!(
                            "maps to `{to}`, which `{name}` does not allow: it must be one of {}",
                            allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
                        ),
                    );
                }
                m.values.push((from.clone(), to.clone()));
            }
        }
    }
}

/// The tables an agent needs, and the tables a source's references point to, are read by some
/// source of the pipeline.
fn check_tables(agent: Option<Agent>, raw: &RawPipeline, sources: &[Source], here: &mut Here<'_>) {
    if let Some(agent) = agent {
        for t in agent.required_tables() {
            if !sources.iter().any(|s| s.table == *t) {
                here.at(raw.agent.span(), "sources".into(), format!("the {agent} agent needs a source for `{t}`"));
            }
        }
    }
    // References need their target tables in the same pipeline.
    for s in sources {
        for r in s.table.spec().references {
            if !r.targets.iter().any(|(t, _)| *t == s.table || sources.iter().any(|o| o.table == *t)) {
                here.at(
                    0..0,
                    format!("sources.{}", s.name),
                    format!(
                        "`{}` refers to `{}`, which no source of this pipeline provides",
                        s.table,
                        r.targets.iter().map(|(t, _)| t.name()).collect::<Vec<_>>().join("` or `")
                    ),
                );
            }
        }
    }
}

/// `[demand]` and `[supply]`: every value in its range (unknown keys are refused when the file
/// is read), each problem at the line of its key.
fn check_params(raw: &RawPipeline, here: &mut Here<'_>) {
    let found: Vec<(&str, (&str, String))> = (raw.demand.problems().into_iter().map(|p| ("demand", p)))
        .chain(raw.supply.problems().into_iter().map(|p| ("supply", p)))
        .collect();
    for (section, (key, message)) in found {
        let at = key_offset(here.text, section, key);
        here.at(at..at, format!("{section}.{key}"), message);
    }
}

/// The byte offset of `key = ...` in the `[section]` table of a TOML text (else of the
/// `[section]` header, else 0): where a problem with a value read through serde is reported.
fn key_offset(text: &str, section: &str, key: &str) -> usize {
    let header = format!("[{section}]");
    let mut offset = 0;
    let mut in_section = None;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with('[') {
            if in_section.is_some() {
                break;
            }
            if t.trim_end().starts_with(&header) {
                in_section = Some(offset);
            }
        } else if in_section.is_some() && t.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('=')) {
            return offset;
        }
        offset += line.len();
    }
    in_section.unwrap_or(0)
}

/// `[export]`: the signed plan's ERP column names (the reverse of a source's `columns`).
fn resolve_export(raw: Option<&Spanned<RawExport>>, here: &mut Here<'_>) -> Export {
    let mut export = Export::default();
    if let Some(e) = raw {
        let spec = Table::OpenOrders.spec();
        for (contract, erp) in &e.get_ref().columns {
            match export.columns.iter_mut().find(|(c, _)| c == contract) {
                Some(slot) if !erp.trim().is_empty() => slot.1 = erp.clone(),
                Some(_) => {
                    here.at(e.span(), format!("export.columns.{contract}"), "the ERP column name is empty".into())
                }
                None => here.at(
                    e.span(),
                    format!("export.columns.{contract}"),
                    format!(
                        "`{contract}` is not a column of `open_orders` nor one of {}: its columns are {}",
                        EXPORT_EXTRA_COLUMNS.join(", "),
                        spec.columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
                    ),
                ),
            }
        }
        match e.get_ref().delimiter.as_deref() {
            None => {}
            Some(d) if d.len() == 1 => export.delimiter = d.as_bytes()[0],
            Some(d) => here.at(e.span(), "export.delimiter".into(), format!("`{d}` must be a single character")),
        }
        export.decimal_comma = e.get_ref().decimal_comma;
        resolve_export_sap(e, &mut export, here);
    }
    export
}

/// `[export]`'s layout, plants, requirements type and version, each within SAP's lengths.
fn resolve_export_sap(e: &Spanned<RawExport>, export: &mut Export, here: &mut Here<'_>) {
    let raw = e.get_ref();
    if let Some(l) = &raw.layout {
        match l.get_ref().as_str() {
            "sales_orders" => export.layout = ExportLayout::SalesOrders,
            "planned_independent_requirements" => export.layout = ExportLayout::PlannedIndependentRequirements,
            other => here.at(
                l.span(),
                "export.layout".into(),
                format!("unknown layout `{other}`: `sales_orders` or `planned_independent_requirements`"),
            ),
        }
    }
    for (site, plant) in &raw.plants {
        if plant.trim().is_empty() || plant.chars().count() > 4 {
            here.at(
                e.span(),
                format!("export.plants.{site}"),
                format!("`{plant}` must be a plant code of 1 to 4 characters"),
            );
        }
    }
    export.plants = raw.plants.clone();
    let mut short = |key: &str, value: &Option<String>, max: usize, slot: &mut String| {
        if let Some(v) = value {
            if v.trim().is_empty() || v.chars().count() > max {
                here.at(e.span(), format!("export.{key}"), format!("`{v}` must be 1 to {max} characters"));
            } else {
                *slot = v.clone();
            }
        }
    };
    short("requirements_type", &raw.requirements_type, 4, &mut export.requirements_type);
    short("version", &raw.version, 2, &mut export.version);
}

/// `[commit_back]`: the noise threshold (0 or more units) and the firm horizon (1 to 18 months).
fn resolve_commit_back(
    raw: Option<&Spanned<RawCommitBack>>,
    here: &mut Here<'_>,
) -> crate::analysis::commitments::CommitBackParams {
    let mut params = crate::analysis::commitments::CommitBackParams::default();
    let Some(raw) = raw else { return params };
    let raw = raw.get_ref();
    if let Some(m) = &raw.min_units {
        let x = *m.get_ref();
        if x.is_finite() && x >= 0.0 {
            params.min_units = x;
        } else {
            here.at(m.span(), "commit_back.min_units".into(), format!("`{x}` must be a number of units, 0 or more"));
        }
    }
    if let Some(h) = &raw.firm_horizon_months {
        let n = *h.get_ref();
        let max = crate::contract::PLAN_MONTHS;
        match u32::try_from(n).ok().filter(|n| (1..=max).contains(n)) {
            Some(n) => params.firm_horizon_months = n,
            None => here.at(
                h.span(),
                "commit_back.firm_horizon_months".into(),
                format!("`{n}` must be a number of months between 1 and {max} (the plan's horizon)"),
            ),
        }
    }
    params.split_by_account_manager = raw.split_by_account_manager;
    params
}
