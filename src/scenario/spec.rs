//! A scenario file, `scenarios/<name>.toml`: read with serde (`deny_unknown_fields`, spans kept)
//! and resolved into a [`Scenario`], every problem with its file, line and key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::config::{ConfigError, Problem, line_of, read_toml};
use crate::contract::Month;

/// The folder of the scenario files, under the workspace.
pub const SCENARIO_DIR: &str = "scenarios";

/// The name of the plan with no change: the cycle's inputs as they are.
pub const BASE: &str = "base";

/// A named set of changes over a cycle's inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    /// The file, relative to the workspace (`scenarios/<name>.toml`); none for [`BASE`].
    pub file: Option<PathBuf>,
    /// The file's bytes as written (its hash is part of a run's identity).
    pub text: String,
    pub description: String,
    pub changes: Vec<Change>,
    /// The company's holidays (`[calendar] holidays` of `snop.toml`): a shift pattern works
    /// none of them. The run sets them ([`Scenario::with_holidays`]); none when read alone.
    pub holidays: BTreeSet<chrono::NaiveDate>,
}

impl Scenario {
    /// The scenario with the company's holidays (what a shift pattern's hours leave out).
    pub fn with_holidays(self, holidays: impl IntoIterator<Item = chrono::NaiveDate>) -> Scenario {
        Scenario { holidays: holidays.into_iter().collect(), ..self }
    }

    /// Whether a change is a shift pattern (its hours then depend on the calendar).
    pub fn has_shift(&self) -> bool {
        self.changes.iter().any(|c| matches!(&c.kind, ChangeKind::Capacity { shift: Some(_), .. }))
    }
}

/// A shift pattern: `crews` crews working `hours_per_day` on each of `days` of the week in a
/// month, holidays excepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub days: Vec<chrono::Weekday>,
    pub hours_per_day: f64,
    pub crews: i64,
}

impl Shift {
    /// The shift's days in `m` (those weekdays, less the holidays among them) and its hours.
    pub fn hours_in(&self, m: Month, holidays: &BTreeSet<chrono::NaiveDate>) -> (usize, f64) {
        use chrono::Datelike as _;
        let first = m.first_day();
        let days = first
            .iter_days()
            .take_while(|d| d.month() == first.month())
            .filter(|d| self.days.contains(&d.weekday()) && !holidays.contains(d))
            .count();
        (days, days as f64 * self.hours_per_day * self.crews as f64)
    }
}

impl std::fmt::Display for Shift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let days: Vec<String> = self.days.iter().map(|d| d.to_string().to_lowercase()).collect();
        write!(f, "shift {} x {} h x {} crew(s)", days.join("+"), self.hours_per_day, self.crews)
    }
}

/// One change, with where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The line of the change's table in the file.
    pub line: usize,
    /// Where in the file: `capacity[0]`, `demand[2]`, ...
    pub key: String,
    pub kind: ChangeKind,
}

/// Months from `from` to `to` (both included); no `to`: to the plan's end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Months {
    pub from: Month,
    pub to: Option<Month>,
}

impl Months {
    pub fn contains(&self, m: Month) -> bool {
        m >= self.from && self.to.is_none_or(|t| m <= t)
    }
}

impl std::fmt::Display for Months {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to {
            Some(t) if t == self.from => write!(f, "{}", self.from),
            Some(t) => write!(f, "{} to {t}", self.from),
            None => write!(f, "{} on", self.from),
        }
    }
}

/// How much demand changes: a percent of the consensus, or units a month.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    Percent(f64),
    UnitsPerMonth(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChangeKind {
    /// Regular hours added (or removed, negative) per month, or a shift pattern's hours (from
    /// the calendar, month by month); optionally a new overtime ceiling.
    Capacity { resource: String, months: Months, hours: f64, max_overtime_hours: Option<f64>, shift: Option<Shift> },
    /// Every resource of a site at 0 hours, overtime included.
    SiteDown { site: String, months: Months },
    /// A supplier delivers nothing due in the months: its open orders due then are dropped and
    /// its new orders arrive after them at the earliest.
    SupplierUnavailable { supplier: String, months: Months },
    /// A supplier's lead time, in days, for every component it supplies.
    LeadTime { supplier: String, days: i64 },
    /// An item's unit cost or price (absolute, or a percent change).
    Item { sku: String, unit_cost: Option<f64>, unit_price: Option<f64>, cost_percent: f64, price_percent: f64 },
    /// Demand uplift or cut on the consensus cells that match every filter given.
    Demand { family: Option<String>, customer: Option<String>, sku: Option<String>, months: Months, amount: Amount },
    /// A customer's priority (1 first).
    Priority { customer: String, priority: i64 },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    description: String,
    #[serde(default)]
    capacity: Vec<Spanned<RawCapacity>>,
    #[serde(default)]
    site_down: Vec<Spanned<RawSiteDown>>,
    #[serde(default)]
    supplier: Vec<Spanned<RawSupplier>>,
    #[serde(default)]
    item: Vec<Spanned<RawItem>>,
    #[serde(default)]
    demand: Vec<Spanned<RawDemand>>,
    #[serde(default)]
    customer: Vec<Spanned<RawCustomer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapacity {
    resource: String,
    from: String,
    to: Option<String>,
    /// Regular hours added per month (negative: removed).
    #[serde(default)]
    hours: f64,
    max_overtime_hours: Option<f64>,
    /// A shift pattern instead of `hours`: `{ days = ["sat"], hours_per_day = 8, crews = 1 }`.
    shift: Option<RawShift>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShift {
    /// Days of the week: `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun`.
    days: Vec<String>,
    hours_per_day: f64,
    /// Crews working it (default 1).
    #[serde(default = "one_crew")]
    crews: i64,
}

fn one_crew() -> i64 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSiteDown {
    site: String,
    from: String,
    to: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSupplier {
    supplier: String,
    unavailable_from: Option<String>,
    unavailable_to: Option<String>,
    lead_time_days: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    sku: String,
    unit_cost: Option<f64>,
    unit_price: Option<f64>,
    #[serde(default)]
    cost_percent: f64,
    #[serde(default)]
    price_percent: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDemand {
    family: Option<String>,
    customer: Option<String>,
    sku: Option<String>,
    from: String,
    to: Option<String>,
    percent: Option<f64>,
    units: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustomer {
    customer: String,
    priority: i64,
}

/// Whether a scenario name is one snop takes: lowercase letters, digits, `-` and `_`, starting
/// with a letter or digit (it names a folder and a store key).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name.as_bytes()[0].is_ascii_alphanumeric()
}

/// The scenario files of a workspace, by name (sorted).
pub fn names(root: &Path) -> Vec<String> {
    let Ok(dir) = fs_err::read_dir(root.join(SCENARIO_DIR)) else { return Vec::new() };
    let mut out: Vec<String> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".toml")).map(str::to_string))
        .collect();
    out.sort();
    out
}

/// Reads and validates `scenarios/<name>.toml` ([`BASE`] is the scenario with no change).
pub fn load(root: &Path, name: &str) -> Result<Scenario, ConfigError> {
    if name == BASE {
        return Ok(Scenario {
            name: BASE.into(),
            file: None,
            text: String::new(),
            description: "the cycle's inputs as they are".into(),
            changes: Vec::new(),
            holidays: BTreeSet::new(),
        });
    }
    let rel = Path::new(SCENARIO_DIR).join(format!("{name}.toml"));
    let one = |message: String| ConfigError {
        problems: vec![Problem { file: rel.clone(), line: None, key: String::new(), message }],
    };
    if !valid_name(name) {
        return Err(one(format!(
            "`{name}` is not a scenario name: use lowercase letters, digits, `-` and `_` (the file `scenarios/NAME.toml`)"
        )));
    }
    let path = root.join(&rel);
    if !path.exists() {
        let known = names(root);
        return Err(one(format!(
            "no such scenario file{}",
            if known.is_empty() { String::new() } else { format!(" (scenarios: {}, and `base`)", known.join(", ")) }
        )));
    }
    let mut problems = Vec::new();
    let scenario = read_toml::<Raw>(&path, &rel, &mut problems).map(|(raw, text)| {
        let s = resolve(name, &rel, raw, &text, &mut problems);
        Scenario { text, ..s }
    });
    match scenario {
        Some(s) if problems.is_empty() => Ok(s),
        _ => Err(ConfigError { problems }),
    }
}

/// Every problem of every scenario file (what `snop validate` reports).
pub fn check_all(root: &Path) -> Vec<Problem> {
    let mut out = Vec::new();
    for name in names(root) {
        if name == BASE {
            out.push(Problem {
                file: Path::new(SCENARIO_DIR).join("base.toml"),
                line: None,
                key: String::new(),
                message: "`base` is the plan with no change: name the scenario otherwise".into(),
            });
            continue;
        }
        if let Err(e) = load(root, &name) {
            out.extend(e.problems);
        }
    }
    out
}

/// The raw file into a scenario: every change checked, problems placed at their line and key.
fn resolve(name: &str, rel: &Path, raw: Raw, text: &str, problems: &mut Vec<Problem>) -> Scenario {
    let mut changes = Vec::new();
    let mut at = |span: std::ops::Range<usize>, key: String, r: Result<ChangeKind, String>| {
        let line = line_of(text, span.start);
        match r {
            Ok(kind) => changes.push(Change { line, key, kind }),
            Err(message) => problems.push(Problem { file: rel.to_path_buf(), line: Some(line), key, message }),
        }
    };
    for (i, c) in raw.capacity.into_iter().enumerate() {
        let span = c.span();
        at(span, format!("capacity[{i}]"), capacity(c.into_inner()));
    }
    for (i, c) in raw.site_down.into_iter().enumerate() {
        let span = c.span();
        let c = c.into_inner();
        let r = months(&c.from, c.to.as_deref()).and_then(|months| {
            nonempty("site", &c.site)?;
            Ok(ChangeKind::SiteDown { site: c.site, months })
        });
        at(span, format!("site_down[{i}]"), r);
    }
    for (i, c) in raw.supplier.into_iter().enumerate() {
        let span = c.span();
        at(span, format!("supplier[{i}]"), supplier(c.into_inner()));
    }
    for (i, c) in raw.item.into_iter().enumerate() {
        let span = c.span();
        at(span, format!("item[{i}]"), item(c.into_inner()));
    }
    for (i, c) in raw.demand.into_iter().enumerate() {
        let span = c.span();
        at(span, format!("demand[{i}]"), demand(c.into_inner()));
    }
    for (i, c) in raw.customer.into_iter().enumerate() {
        let span = c.span();
        let c = c.into_inner();
        let r = if c.priority < 1 {
            Err(format!("`priority` is {}: priorities start at 1 (1 first)", c.priority))
        } else {
            nonempty("customer", &c.customer)
                .map(|()| ChangeKind::Priority { customer: c.customer, priority: c.priority })
        };
        at(span, format!("customer[{i}]"), r);
    }
    changes.sort_by_key(|c| c.line);
    if changes.is_empty() && problems.is_empty() {
        problems.push(Problem {
            file: rel.to_path_buf(),
            line: None,
            key: String::new(),
            message: "the scenario changes nothing: add a `[[capacity]]`, `[[site_down]]`, `[[supplier]]`, `[[item]]`, `[[demand]]` or `[[customer]]` table".into(),
        });
    }
    Scenario {
        name: name.into(),
        file: Some(rel.to_path_buf()),
        text: String::new(),
        description: raw.description,
        changes,
        holidays: BTreeSet::new(),
    }
}

fn nonempty(key: &str, v: &str) -> Result<(), String> {
    if v.trim().is_empty() { Err(format!("`{key}` is empty")) } else { Ok(()) }
}

fn month(key: &str, v: &str) -> Result<Month, String> {
    Month::parse(v).ok_or_else(|| format!("`{key}` is `{v}`: a month is written `YYYY-MM`"))
}

fn months(from: &str, to: Option<&str>) -> Result<Months, String> {
    let from = month("from", from)?;
    let to = to.map(|t| month("to", t)).transpose()?;
    if let Some(t) = to.filter(|t| *t < from) {
        return Err(format!("`to` ({t}) is before `from` ({from})"));
    }
    Ok(Months { from, to })
}

fn finite(key: &str, v: f64) -> Result<f64, String> {
    if v.is_finite() { Ok(v) } else { Err(format!("`{key}` is not a number")) }
}

fn capacity(c: RawCapacity) -> Result<ChangeKind, String> {
    nonempty("resource", &c.resource)?;
    let months = months(&c.from, c.to.as_deref())?;
    let hours = finite("hours", c.hours)?;
    if let Some(o) = c.max_overtime_hours
        && !(o.is_finite() && o >= 0.0)
    {
        return Err(format!("`max_overtime_hours` is {o}: hours are 0 or more"));
    }
    let shift = c.shift.map(shift).transpose()?;
    if shift.is_some() && hours != 0.0 {
        return Err("give `hours` or `shift`, not both".into());
    }
    if hours == 0.0 && shift.is_none() && c.max_overtime_hours.is_none() {
        return Err(
            "changes nothing: give `hours` (added a month, negative to remove), a `shift` or `max_overtime_hours`"
                .into(),
        );
    }
    Ok(ChangeKind::Capacity { resource: c.resource, months, hours, max_overtime_hours: c.max_overtime_hours, shift })
}

fn shift(s: RawShift) -> Result<Shift, String> {
    use chrono::Weekday::*;
    let mut days = Vec::new();
    for d in &s.days {
        let day = match d.to_lowercase().as_str() {
            "mon" | "monday" => Mon,
            "tue" | "tuesday" => Tue,
            "wed" | "wednesday" => Wed,
            "thu" | "thursday" => Thu,
            "fri" | "friday" => Fri,
            "sat" | "saturday" => Sat,
            "sun" | "sunday" => Sun,
            _ => return Err(format!("`shift.days` has `{d}`: days are mon, tue, wed, thu, fri, sat, sun")),
        };
        if days.contains(&day) {
            return Err(format!("`shift.days` names `{d}` twice"));
        }
        days.push(day);
    }
    if days.is_empty() {
        return Err("`shift.days` is empty: name the days of the week the shift works (`[\"sat\"]`)".into());
    }
    if !(s.hours_per_day.is_finite() && s.hours_per_day > 0.0 && s.hours_per_day <= 24.0) {
        return Err(format!("`shift.hours_per_day` is {}: more than 0, at most 24", s.hours_per_day));
    }
    if !(1..=10).contains(&s.crews) {
        return Err(format!("`shift.crews` is {}: 1 to 10 crews", s.crews));
    }
    Ok(Shift { days, hours_per_day: s.hours_per_day, crews: s.crews })
}

fn supplier(c: RawSupplier) -> Result<ChangeKind, String> {
    nonempty("supplier", &c.supplier)?;
    match (c.unavailable_from, c.lead_time_days) {
        (Some(_), Some(_)) => {
            Err("give `unavailable_from` or `lead_time_days`, not both: write two `[[supplier]]` tables".into())
        }
        (Some(from), None) => {
            let months = months(&from, c.unavailable_to.as_deref())?;
            Ok(ChangeKind::SupplierUnavailable { supplier: c.supplier, months })
        }
        (None, Some(days)) if (0..=3650).contains(&days) => Ok(ChangeKind::LeadTime { supplier: c.supplier, days }),
        (None, Some(days)) => Err(format!("`lead_time_days` is {days}: 0 to 3650 days")),
        (None, None) if c.unavailable_to.is_some() => Err("`unavailable_to` needs `unavailable_from`".into()),
        (None, None) => {
            Err("changes nothing: give `unavailable_from` (and `unavailable_to`) or `lead_time_days`".into())
        }
    }
}

fn item(c: RawItem) -> Result<ChangeKind, String> {
    nonempty("sku", &c.sku)?;
    for (key, v) in [("unit_cost", c.unit_cost), ("unit_price", c.unit_price)] {
        if let Some(v) = v
            && !(v.is_finite() && v >= 0.0)
        {
            return Err(format!("`{key}` is {v}: money is 0 or more"));
        }
    }
    for (key, v) in [("cost_percent", c.cost_percent), ("price_percent", c.price_percent)] {
        if !(v.is_finite() && v > -100.0 && v <= 1000.0) {
            return Err(format!("`{key}` is {v}: a change in percent, more than -100 and at most 1000"));
        }
    }
    if c.unit_cost.is_some() && c.cost_percent != 0.0 || c.unit_price.is_some() && c.price_percent != 0.0 {
        return Err("give a new value or a percent change, not both".into());
    }
    if c.unit_cost.is_none() && c.unit_price.is_none() && c.cost_percent == 0.0 && c.price_percent == 0.0 {
        return Err("changes nothing: give `unit_cost`, `unit_price`, `cost_percent` or `price_percent`".into());
    }
    Ok(ChangeKind::Item {
        sku: c.sku,
        unit_cost: c.unit_cost,
        unit_price: c.unit_price,
        cost_percent: c.cost_percent,
        price_percent: c.price_percent,
    })
}

fn demand(c: RawDemand) -> Result<ChangeKind, String> {
    let months = months(&c.from, c.to.as_deref())?;
    if c.family.is_none() && c.customer.is_none() && c.sku.is_none() {
        return Err("name what changes: `family`, `customer` or `sku` (any of them; all must match)".into());
    }
    let amount = match (c.percent, c.units) {
        (Some(p), None) if (-100.0..=1000.0).contains(&p) && p != 0.0 => Amount::Percent(p),
        (Some(p), None) => return Err(format!("`percent` is {p}: a change from -100 to 1000, not 0")),
        (None, Some(u)) if u.is_finite() && u != 0.0 => Amount::UnitsPerMonth(u),
        (None, Some(u)) => return Err(format!("`units` is {u}: units a month, added (or cut, negative), not 0")),
        _ => return Err("give `percent` or `units` (one of them)".into()),
    };
    Ok(ChangeKind::Demand { family: c.family, customer: c.customer, sku: c.sku, months, amount })
}
