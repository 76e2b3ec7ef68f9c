//! Judging raw rows against the contract: parse every value into its type, check ranges,
//! horizons, references, row rules and keys, and split the rows into kept and quarantined.
//!
//! Every check is a polars expression over the whole frame that yields a fault code per column
//! (null when the value is fine), so a clean file costs one vectorised pass; only faulty rows
//! are walked in Rust to write their quarantine entries.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::parse::{cleaned, in_chunks, parse_number};
use super::read::{FILE_COL, Origins, ROW_COL, unparsed_col};
use crate::config::ColumnMap;
use crate::contract::{Horizon, Kind, Month, Quarantined, Range, RowRule, Table, TableSpec};

/// The months a run may see: history before the cycle, the plan from it.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub cycle: Month,
    pub history_months: u32,
    /// Months of the plan from the cycle on (`[demand] horizon_months`; the contract's
    /// [`crate::contract::PLAN_MONTHS`] unless a demand review says otherwise).
    pub plan_months: u32,
}

impl Window {
    fn bounds(&self, h: Horizon) -> Option<(Month, Month)> {
        let plan_end = self.cycle.plus(self.plan_months.max(1) as i32 - 1);
        match h {
            Horizon::Any => None,
            Horizon::History => Some((self.cycle.plus(-(self.history_months as i32)), self.cycle.plus(-1))),
            Horizon::Plan => Some((self.cycle, plan_end)),
            Horizon::UpToPlanEnd => Some((Month(i32::MIN / 2), plan_end)),
        }
    }
}

/// Values a reference may point at, by target table and column.
pub type Keys = BTreeMap<(Table, &'static str), Series>;

/// Values of quarantined master rows, by target table and column: the value to the file, sheet
/// and row it was quarantined in, so a reference to it says so rather than "unknown".
pub type QuarantinedKeys = BTreeMap<(Table, &'static str), BTreeMap<String, (String, Option<String>, u64)>>;

// Fault codes, in the order the checks run; the first that fails names the fault.
const MISSING: u32 = 1;
const UNPARSEABLE: u32 = 2;
const RANGE: u32 = 3;
const NOT_ALLOWED: u32 = 4;
const HORIZON: u32 = 5;
const UNKNOWN: u32 = 6;
const IMPLAUSIBLE: u32 = 7;

fn fault_col(name: &str) -> String {
    format!("__fault_{name}")
}
fn clean_col(name: &str) -> String {
    format!("__text_{name}")
}

/// Whether a text column holds a value [`cleaned`] would change: an empty one, or one with
/// blanks at either end. A column without one is used as it is (no copy of every value).
fn needs_cleaning(raw: &DataFrame, name: &str) -> bool {
    let Ok(c) = raw.column(name).and_then(|c| c.str()) else { return true };
    c.iter().flatten().any(|v| v.is_empty() || v.starts_with(char::is_whitespace) || v.ends_with(char::is_whitespace))
}

fn month_regex() -> Expr {
    lit(r"^\d{4}-(0[1-9]|1[0-2])$")
}

/// The contract columns read typed by the CSV reader (each with its `__unparsed_` flag).
type Typed = std::collections::BTreeSet<&'static str>;

/// Whether a column has a value: text, or a typed value, or text that is not a number.
fn present(name: &str, typed: &Typed) -> Expr {
    if typed.contains(name) {
        col(name).is_not_null().or(col(unparsed_col(name)))
    } else {
        col(clean_col(name)).is_not_null()
    }
}

/// The typed value of a column (null when empty or unparseable).
fn parsed(m: &ColumnMap, decimal_comma: bool) -> Expr {
    let text = col(clean_col(m.column.name));
    match m.column.kind {
        // The source's own words for a value (`values`), as the contract's.
        Kind::Text => m.values.iter().rev().fold(text.clone(), |acc, (from, to)| {
            when(text.clone().eq(lit(from.as_str()))).then(lit(to.as_str())).otherwise(acc)
        }),
        Kind::Int => parse_number(text, DataType::Int64, decimal_comma),
        Kind::Number => parse_number(text, DataType::Float64, decimal_comma),
        Kind::Date => dates(text, &m.date_formats),
        // `YYYY-MM`, or SAP's `YYYYMM` (`SPMON`) read as `YYYY-MM`.
        Kind::Month => when(text.clone().str().contains(month_regex(), true))
            .then(text.clone())
            .when(text.clone().str().contains(lit(r"^\d{4}(0[1-9]|1[0-2])$"), true))
            .then(concat_str(
                [text.clone().str().slice(lit(0), lit(4)), lit("-"), text.str().slice(lit(4), lit(2))],
                "",
                false,
            ))
            .otherwise(lit(NULL).cast(DataType::String)),
    }
}

/// Each format in turn: the first that reads the text gives the date.
fn strptime(text: Expr, formats: &[String]) -> Expr {
    let dates: Vec<Expr> = formats
        .iter()
        .map(|f| {
            text.clone().str().to_date(StrptimeOptions {
                format: Some(f.as_str().into()),
                strict: false,
                exact: true,
                cache: true,
            })
        })
        .collect();
    if dates.len() == 1 { dates.into_iter().next().expect("one format") } else { coalesce(&dates) }
}

/// The days since 1970-01-01 of a valid date written exactly `YYYY-MM-DD`, else `None`.
fn iso_days(b: &[u8]) -> Option<i32> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0i32, |n, d| d.is_ascii_digit().then(|| n * 10 + i32::from(d - b'0')))
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    // Days from the civil date (H. Hinnant's algorithm: years from March, 400-year eras).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// The dates of a text column. When the first format is `%Y-%m-%d`, a value written exactly so
/// is read directly (it is the date every format list would give it: the first format reads it);
/// the rest go through [`strptime`] as always.
fn dates(text: Expr, formats: &[String]) -> Expr {
    if formats.first().map(String::as_str) != Some("%Y-%m-%d") {
        return strptime(text, formats);
    }
    let formats = formats.to_vec();
    text.map(
        move |c: Column| {
            let ca = c.str()?;
            let (mut others, mut at) = (Vec::new(), Vec::new());
            // Straight into the column; the values written otherwise are patched after (few).
            let iso = ca.iter().enumerate().map(|(i, v)| {
                let d = v.and_then(|v| iso_days(v.as_bytes()));
                if let (None, Some(v)) = (d, v) {
                    others.push(v);
                    at.push(i);
                }
                d
            });
            // In the text's chunks (see [`in_chunks`]).
            let chunks: Vec<usize> = ca.chunk_lengths().collect();
            let days = in_chunks(Int32Chunked::from_iter_options(c.name().clone(), iso), &chunks);
            if others.is_empty() {
                return Ok(days.into_date().into_column());
            }
            let mut days: Vec<Option<i32>> = days.iter().collect();
            let df = DataFrame::new_infer_height(vec![Column::new("t".into(), others)])?;
            let got = df.lazy().select([strptime(col("t"), &formats).alias("d")]).collect()?;
            let got = got.column("d")?.cast(&DataType::Int32)?;
            let got = got.i32()?;
            for (k, &i) in at.iter().enumerate() {
                days[i] = got.get(k);
            }
            let days = in_chunks(Int32Chunked::from_iter_options(c.name().clone(), days.into_iter()), &chunks);
            Ok(days.into_date().into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Date)),
    )
}

fn month_of_text(e: Expr) -> Expr {
    e.clone().str().slice(lit(0), lit(4)).cast(DataType::Int32) * lit(12)
        + e.str().slice(lit(5), lit(2)).cast(DataType::Int32)
        - lit(1)
}

/// The month of a `Month` or `Date` value.
fn month_of(kind: Kind, value: Expr) -> Expr {
    match kind {
        Kind::Date => Month::of_date(value),
        _ => month_of_text(value),
    }
}

/// The days since 1970-01-01 of a month's first day (`None` beyond the calendar).
fn first_day(m: Month) -> Option<i32> {
    let d = chrono::NaiveDate::from_ymd_opt(m.year(), m.month(), 1)?;
    Some((d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days() as i32)
}

/// True where a `kind` value falls in a month before `m`. A date is compared with the month's
/// first day (its days, with no calendar worked out per row).
fn before(kind: Kind, value: Expr, m: Month) -> Expr {
    match first_day(m).filter(|_| kind == Kind::Date) {
        Some(d) => value.lt(lit(d).cast(DataType::Date)),
        None => month_of(kind, value).lt(lit(m.0)),
    }
}

/// True where a `kind` value falls in a month after `m`.
fn after(kind: Kind, value: Expr, m: Month) -> Expr {
    match first_day(m.plus(1)).filter(|_| kind == Kind::Date) {
        Some(d) => value.gt_eq(lit(d).cast(DataType::Date)),
        None => month_of(kind, value).gt(lit(m.0)),
    }
}

/// True where a row's history column (a [`Horizon::History`] one) falls before the window:
/// older history than the run reads, skipped and counted rather than quarantined.
fn before_window(cx: &Context<'_>) -> Expr {
    cx.columns
        .iter()
        .filter(|m| m.column.horizon == Horizon::History)
        .filter_map(|m| {
            let (from, _) = cx.window.bounds(Horizon::History)?;
            Some(before(m.column.kind, col(m.column.name), from).fill_null(lit(false)))
        })
        .reduce(Expr::or)
        .unwrap_or(lit(false))
}

/// The fault code of one column: the first check that fails, or null.
fn fault(m: &ColumnMap, cx: &Context<'_>, typed: &Typed) -> Expr {
    let mut expr: Expr = lit(NULL).cast(DataType::UInt32);
    for (cond, code) in checks(m, cx, typed).into_iter().rev() {
        expr = when(cond.fill_null(lit(false))).then(lit(code).cast(DataType::UInt32)).otherwise(expr);
    }
    expr.alias(fault_col(m.column.name))
}

/// Whether one column has a fault: true exactly where [`fault`] is not null, as flags (no code
/// column per check over the whole frame).
fn faulty(m: &ColumnMap, cx: &Context<'_>, typed: &Typed) -> Expr {
    checks(m, cx, typed).into_iter().map(|(cond, _)| cond.fill_null(lit(false))).reduce(Expr::or).unwrap_or(lit(false))
}

/// The checks of one column, in order, each a condition true where it fails, with its code.
fn checks(m: &ColumnMap, cx: &Context<'_>, typed: &Typed) -> Vec<(Expr, u32)> {
    let (keys, table, window) = (cx.keys, cx.table, cx.window);
    let c = m.column;
    let value = col(c.name);
    let present = present(c.name, typed);
    let mut checks: Vec<(Expr, u32)> = Vec::new();
    if c.required {
        checks.push((present.clone().not(), MISSING));
    }
    let unparseable =
        if typed.contains(c.name) { col(unparsed_col(c.name)) } else { present.and(value.clone().is_null()) };
    checks.push((unparseable, UNPARSEABLE));
    match c.range {
        Range::Any => {}
        Range::NonNegative => checks.push((value.clone().lt(lit(0)), RANGE)),
        Range::AtLeastOne => checks.push((value.clone().lt(lit(1)), RANGE)),
        Range::Positive => checks.push((value.clone().lt_eq(lit(0)), RANGE)),
        Range::Fraction => checks.push((value.clone().lt(lit(0)).or(value.clone().gt(lit(1))), RANGE)),
    }
    if let Some(max) = m.max {
        checks.push((value.clone().cast(DataType::Float64).abs().gt(lit(max)), IMPLAUSIBLE));
    }
    if !c.allowed.is_empty() {
        let allowed = Series::new("allowed".into(), c.allowed.to_vec());
        checks.push((value.clone().is_in(lit(allowed).implode(false), false).not(), NOT_ALLOWED));
    }
    if let Some((from, to)) = window.bounds(c.horizon) {
        // History older than the window is not a fault: the row is skipped and counted
        // ([`before_window`]), not quarantined.
        let early = if c.horizon == Horizon::History { lit(false) } else { before(c.kind, value.clone(), from) };
        checks.push((early.or(after(c.kind, value.clone(), to)), HORIZON));
    }
    if let Some(r) = table.spec().references.iter().find(|r| r.column == c.name) {
        let mut known: Option<Expr> = None;
        for target in r.targets {
            let found = match keys.get(target) {
                Some(s) => value.clone().is_in(lit(s.clone()).implode(false), false),
                None => lit(false),
            };
            known = Some(match known {
                None => found,
                Some(k) => k.or(found),
            });
        }
        if let Some(k) = known {
            checks.push((value.clone().is_not_null().and(k.not()), UNKNOWN));
        }
    }
    checks
}

fn reason(code: u32, m: &ColumnMap, table: Table, window: Window) -> String {
    let c = m.column;
    match code {
        MISSING => "a value is required".into(),
        UNPARSEABLE => match c.kind {
            Kind::Date => format!(
                "not a date in the format {}",
                m.date_formats.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(" or ")
            ),
            Kind::Month => "not a month `YYYY-MM` (or `YYYYMM`)".into(),
            Kind::Int => "not a whole number".into(),
            _ => "not a number".into(),
        },
        RANGE => match c.range {
            Range::NonNegative => "must be >= 0".into(),
            Range::AtLeastOne => "must be >= 1".into(),
            Range::Positive => "must be > 0".into(),
            _ => "must be between 0 and 1".into(),
        },
        NOT_ALLOWED => {
            format!("must be one of {}", c.allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", "))
        }
        HORIZON => {
            let (from, to) = window.bounds(c.horizon).expect("a horizon");
            if c.horizon == Horizon::UpToPlanEnd {
                format!("is after the end of the plan horizon {to}")
            } else {
                format!("outside the horizon {from} to {to}")
            }
        }
        IMPLAUSIBLE => format!(
            "implausibly large: more than {:e} (raise `limits.{}` of the source if it is real)",
            m.max.unwrap_or_default(),
            c.name
        ),
        UNKNOWN => {
            let r = table.spec().references.iter().find(|r| r.column == c.name).expect("a reference");
            let targets: Vec<String> = r.targets.iter().map(|(t, col)| format!("`{t}.{col}`")).collect();
            format!("unknown {}: not in {}", c.name, targets.join(" or "))
        }
        _ => unreachable!("fault code {code}"),
    }
}

pub struct Validated {
    pub frame: DataFrame,
    pub quarantined: Vec<Quarantined>,
    /// Rows with at least one fault.
    pub rows_quarantined: usize,
    /// History rows older than the window: skipped (neither kept nor quarantined) and counted.
    pub rows_before_window: usize,
    /// The values other tables refer to, of the rows quarantined for a fault (first row each).
    pub quarantined_keys: QuarantinedKeys,
}

pub struct Context<'a> {
    pub source: &'a str,
    /// Where the text of a typed value is read again, for a message.
    pub origins: &'a Origins,
    pub table: Table,
    pub columns: &'a [ColumnMap],
    pub decimal_comma: bool,
    pub files: &'a [(String, Option<String>)],
    pub keys: &'a Keys,
    pub quarantined_keys: &'a QuarantinedKeys,
    pub window: Window,
}

fn err(e: PolarsError) -> super::IngestError {
    super::IngestError::Runtime(e.to_string())
}

/// Splits a raw frame into typed, kept rows and quarantine entries.
///
/// Two passes: the whole frame is parsed and judged once, yielding only a "bad" flag per row;
/// the fault of each column (and so the reason) is worked out again on the few bad rows alone.
/// Duplicate keys are then found among the rows that passed, in file and row order.
pub fn validate(raw: DataFrame, cx: &Context<'_>) -> Result<Validated, super::IngestError> {
    let spec = cx.table.spec();
    let names: Vec<&'static str> = cx.columns.iter().map(|m| m.column.name).collect();
    let typed: Typed = names.iter().copied().filter(|n| raw.column(&unparsed_col(n)).is_ok()).collect();
    let broken_rules = broken_rules(spec, &typed);
    let (stage, firsts) = judge(raw, cx, &typed, &names, &broken_rules)?;
    let mut quarantined = Vec::new();
    let mut quarantined_keys = QuarantinedKeys::new();
    let mut rows_quarantined =
        quarantine_faults(&stage, cx, &typed, &broken_rules, &mut quarantined, &mut quarantined_keys)?;
    if !spec.key.is_empty() {
        rows_quarantined += quarantine_duplicates(&stage, cx, &firsts, &mut quarantined)?;
    }
    tracing::debug!(rss_mb = super::rss_mb(), "validate: bad rows quarantined");
    let rows_before_window = stage.column("__old").map_err(err)?.bool().map_err(err)?.sum().unwrap_or(0) as usize;
    let frame = kept(stage, cx, &names)?;
    tracing::debug!(rss_mb = super::rss_mb(), "validate: kept rows");
    quarantined.sort_by(|a, b| (&a.file, a.row).cmp(&(&b.file, b.row)));
    Ok(Validated { frame, quarantined, rows_quarantined, rows_before_window, quarantined_keys })
}

/// One flag per row rule of the table: true where the row breaks it.
fn broken_rules(spec: &TableSpec, typed: &Typed) -> Vec<Expr> {
    spec.rules
        .iter()
        .map(|rule| {
            let count = |cols: &[&str]| {
                cols.iter()
                    .map(|c| present(c, typed).cast(DataType::UInt32))
                    .reduce(|a, b| a + b)
                    .expect("a rule names columns")
            };
            match rule {
                RowRule::ExactlyOne(cols) => count(cols).neq(lit(1u32)),
                RowRule::AtLeastOne(cols) => count(cols).eq(lit(0u32)),
            }
        })
        .collect()
}

/// Pass 1, over the whole frame: the cleaned text replaces the raw text (it is what a message
/// shows), the typed values beside it, an `__old` flag (history before the window: skipped, so
/// neither judged nor compared), a `__bad` flag (any fault or broken rule) and a `__dup` flag
/// (a repeated key among the rows that passed), with each duplicate's first row (see
/// [`duplicate_flags`]).
fn judge(
    raw: DataFrame,
    cx: &Context<'_>,
    typed: &Typed,
    names: &[&'static str],
    broken_rules: &[Expr],
) -> Result<(DataFrame, Vec<(usize, usize)>), super::IngestError> {
    let mut clean: Vec<Expr> = vec![col(FILE_COL), col(ROW_COL)];
    for n in names {
        if typed.contains(n) {
            // Already the value: parsed while reading, its text read again where it was not.
            clean.extend([col(*n), col(unparsed_col(n))]);
        } else {
            clean.push(if needs_cleaning(&raw, n) { cleaned(n) } else { col(*n) }.alias(clean_col(n)));
        }
    }
    let mut any_fault: Vec<Expr> = cx.columns.iter().map(|m| faulty(m, cx, typed)).collect();
    any_fault.extend(broken_rules.iter().cloned());
    let values: Vec<Expr> = cx
        .columns
        .iter()
        .filter(|m| !typed.contains(m.column.name))
        .map(|m| parsed(m, cx.decimal_comma).alias(m.column.name))
        .collect();
    let t0 = std::time::Instant::now();
    let stage = raw
        .lazy()
        .select(clean)
        .with_columns(values)
        .with_column(before_window(cx).alias("__old"))
        .with_column(any_horizontal(any_fault).map_err(err)?.and(col("__old").not()).alias("__bad"));
    let mut stage = stage.collect().map_err(err)?;
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, rss_mb = super::rss_mb(), "validate: parsed and judged");
    let (dup, firsts) = duplicate_flags(&stage, cx.table.spec().key)?;
    stage.with_column(dup.into_column()).map_err(err)?;
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, rss_mb = super::rss_mb(), "validate: duplicates flagged");
    Ok((stage, firsts))
}

/// `__dup`: the row passed (neither bad nor before the window) but its key was seen before among
/// the rows that passed, so the first occurrence in file and row order is kept. Each row's key
/// is hashed to one number; only the rows whose number repeats (found by [`repeated`], no hash
/// set of every row) are compared by their key values, so no copy of every key is made. Also
/// returns each duplicate's row index with the index of the row it repeats, in row order.
fn duplicate_flags(
    stage: &DataFrame,
    key: &[&str],
) -> Result<(BooleanChunked, Vec<(usize, usize)>), super::IngestError> {
    let n = stage.height();
    // The flag in the frame's chunks (see [`in_chunks`]).
    let chunks: Vec<usize> = stage.column("__bad").map_err(err)?.as_materialized_series().chunk_lengths().collect();
    if key.is_empty() {
        return Ok((in_chunks(BooleanChunked::full("__dup".into(), false, n), &chunks), Vec::new()));
    }
    let (bad, old) = (
        stage.column("__bad").map_err(err)?.bool().map_err(err)?,
        stage.column("__old").map_err(err)?.bool().map_err(err)?,
    );
    // A null flag is not a pass (as in a filter).
    let passed: Vec<bool> = bad.iter().zip(old.iter()).map(|(b, o)| b == Some(false) && o == Some(false)).collect();
    let keys: Vec<Column> = key
        .iter()
        .map(|k| stage.column(k).and_then(|c| c.cast(&DataType::String)))
        .collect::<PolarsResult<_>>()
        .map_err(err)?;
    let keys: Vec<&StringChunked> = keys.iter().map(|c| c.str()).collect::<PolarsResult<_>>().map_err(err)?;
    let state = PlSeedableRandomStateQuality::fixed();
    let mut hashes = Vec::with_capacity(n);
    keys[0].vec_hash(state.clone(), &mut hashes).map_err(err)?;
    for k in &keys[1..] {
        k.vec_hash_combine(state.clone(), &mut hashes).map_err(err)?;
    }
    let again = repeated(&hashes, &passed);
    let mut dup = vec![false; n];
    let mut firsts = Vec::new();
    if !again.is_empty() {
        let mut first: std::collections::HashMap<Vec<Option<&str>>, usize> = std::collections::HashMap::new();
        for i in (0..n).filter(|&i| passed[i] && again.contains(&fingerprint(hashes[i]))) {
            match first.entry(keys.iter().map(|k| k.get(i)).collect()) {
                std::collections::hash_map::Entry::Occupied(at) => {
                    dup[i] = true;
                    firsts.push((i, *at.get()));
                }
                std::collections::hash_map::Entry::Vacant(at) => {
                    at.insert(i);
                }
            }
        }
    }
    Ok((in_chunks(BooleanChunked::from_slice("__dup".into(), &dup), &chunks), firsts))
}

/// A hash's fingerprint: its top 12 bits (its bucket in [`repeated`]) and its low 32 bits. Equal
/// hashes have equal fingerprints; the rows whose fingerprints repeat are compared by their key
/// values, so a fingerprint two hashes share costs a comparison, never a wrong flag.
fn fingerprint(h: u64) -> u64 {
    (h >> 52 << 32) | (h & 0xFFFF_FFFF)
}

/// The fingerprints (see [`fingerprint`]) that occur more than once among the rows `passed`
/// marks. They are spread by their hash's top bits into buckets a few thousand long, each kept as
/// its low 32 bits (half the memory of whole hashes) and sorted in cache: cheaper than a hash
/// set of every row (one random access into a large table per row).
fn repeated(hashes: &[u64], passed: &[bool]) -> PlHashSet<u64> {
    const BITS: u32 = 12;
    let bucket = |h: u64| (h >> (64 - BITS)) as usize;
    let mut starts = vec![0usize; (1 << BITS) + 1];
    for (h, _) in hashes.iter().zip(passed).filter(|(_, p)| **p) {
        starts[bucket(*h) + 1] += 1;
    }
    for b in 1..starts.len() {
        starts[b] += starts[b - 1];
    }
    let mut spread = vec![0u32; starts[1 << BITS]];
    let mut next = starts.clone();
    for (h, _) in hashes.iter().zip(passed).filter(|(_, p)| **p) {
        let b = bucket(*h);
        spread[next[b]] = *h as u32;
        next[b] += 1;
    }
    let mut again = PlHashSet::default();
    for b in 0..1 << BITS {
        let part = &mut spread[starts[b]..starts[b + 1]];
        part.sort_unstable();
        again.extend(part.windows(2).filter(|w| w[0] == w[1]).map(|w| ((b as u64) << 32) | u64::from(w[0])));
    }
    again
}

/// The file and sheet of a row's file index.
fn file_of(cx: &Context<'_>, idx: u32) -> (String, Option<String>) {
    cx.files[idx as usize].clone()
}

/// Pass 2, on the bad rows only: which column failed which check, and which rules are broken,
/// as quarantine entries (columns first, then rules). Returns how many rows were bad.
fn quarantine_faults(
    stage: &DataFrame,
    cx: &Context<'_>,
    typed: &Typed,
    broken_rules: &[Expr],
    quarantined: &mut Vec<Quarantined>,
    quarantined_keys: &mut QuarantinedKeys,
) -> Result<usize, super::IngestError> {
    let mut codes: Vec<Expr> = cx.columns.iter().map(|m| fault(m, cx, typed)).collect();
    codes.extend(broken_rules.iter().enumerate().map(|(i, b)| b.clone().alias(format!("__rule_{i}"))));
    let bad = stage.clone().lazy().filter(col("__bad")).with_columns(codes).collect().map_err(err)?;
    let height = bad.height();
    if height > 0 {
        let bad = with_texts(bad, cx, typed)?;
        let file_idx = bad.column(FILE_COL).map_err(err)?.u32().map_err(err)?.clone();
        let rows = bad.column(ROW_COL).map_err(err)?.cast(&DataType::UInt64).map_err(err)?;
        let rows = rows.u64().map_err(err)?;
        quarantine_column_faults(&bad, cx, &file_idx, rows, quarantined)?;
        quarantine_broken_rules(&bad, cx, &file_idx, rows, quarantined)?;
        keys_of_bad_rows(&bad, cx, &file_idx, rows, quarantined_keys)?;
    }
    Ok(height)
}

/// The text of each typed column beside its value, as the text path has it (trimmed, empty as
/// null), read again from the file for these (few) rows: what a message shows.
fn with_texts(rows: DataFrame, cx: &Context<'_>, typed: &Typed) -> Result<DataFrame, super::IngestError> {
    if typed.is_empty() {
        return Ok(rows);
    }
    let file_idx = rows.column(FILE_COL).map_err(err)?.u32().map_err(err)?.clone();
    let row_nos = rows.column(ROW_COL).map_err(err)?.cast(&DataType::UInt64).map_err(err)?;
    let at: Vec<(u32, u64)> = file_idx
        .iter()
        .zip(row_nos.u64().map_err(err)?.iter())
        .map(|(f, r)| (f.unwrap_or(0), r.unwrap_or(0)))
        .collect();
    let in_rule = |name: &str| {
        cx.table.spec().rules.iter().any(|r| match r {
            RowRule::ExactlyOne(cols) | RowRule::AtLeastOne(cols) => cols.contains(&name),
        })
    };
    let mut rows = rows;
    for name in typed {
        // Only the values a message shows: a faulty one, or any in a row rule's columns.
        let faults = rows.column(&fault_col(name)).map_err(err)?.u32().map_err(err)?.clone();
        let shown: Vec<usize> = (0..rows.height()).filter(|&i| in_rule(name) || faults.get(i).is_some()).collect();
        let found = cx.origins.texts(name, &shown.iter().map(|&i| at[i]).collect::<Vec<_>>())?;
        let mut texts: Vec<Option<String>> = vec![None; rows.height()];
        for (i, t) in shown.into_iter().zip(found) {
            texts[i] = t;
        }
        rows.with_column(Column::new(format!("__original_{name}").into(), texts)).map_err(err)?;
    }
    let texts: Vec<Expr> = typed.iter().map(|n| cleaned(&format!("__original_{n}")).alias(clean_col(n))).collect();
    rows.lazy().with_columns(texts).collect().map_err(err)
}

/// One quarantine entry per faulty value of the bad rows, column by column, with its reason.
fn quarantine_column_faults(
    bad: &DataFrame,
    cx: &Context<'_>,
    file_idx: &UInt32Chunked,
    rows: &UInt64Chunked,
    quarantined: &mut Vec<Quarantined>,
) -> Result<(), super::IngestError> {
    for m in cx.columns {
        let faults = bad.column(&fault_col(m.column.name)).map_err(err)?.u32().map_err(err)?.clone();
        let texts = bad.column(&clean_col(m.column.name)).map_err(err)?.str().map_err(err)?.clone();
        let values = bad.column(m.column.name).map_err(err)?.cast(&DataType::String).map_err(err)?;
        let values = values.str().map_err(err)?;
        for i in 0..bad.height() {
            if let Some(code) = faults.get(i) {
                let (file, sheet) = file_of(cx, file_idx.get(i).unwrap_or(0));
                let set_aside =
                    (code == UNKNOWN).then(|| values.get(i).and_then(|v| quarantined_at(cx, m, v))).flatten();
                quarantined.push(Quarantined {
                    source: cx.source.to_string(),
                    file,
                    sheet,
                    row: rows.get(i).unwrap_or(0),
                    column: m.column.name.to_string(),
                    value: texts.get(i).unwrap_or("").to_string(),
                    reason: set_aside.unwrap_or_else(|| reason(code, m, cx.table, cx.window)),
                    cell: None,
                });
            }
        }
    }
    Ok(())
}

/// Where a referenced value was quarantined in a master, in words, if it was.
fn quarantined_at(cx: &Context<'_>, m: &ColumnMap, value: &str) -> Option<String> {
    let r = cx.table.spec().references.iter().find(|r| r.column == m.column.name)?;
    r.targets.iter().find_map(|target| {
        let (file, sheet, row) = cx.quarantined_keys.get(target)?.get(value)?;
        let sheet = sheet.as_ref().map(|s| format!(" sheet `{s}`")).unwrap_or_default();
        Some(format!("`{value}` was quarantined in `{file}`{sheet} row {row}"))
    })
}

/// The values of the bad rows in the columns other tables refer to, first row each.
fn keys_of_bad_rows(
    bad: &DataFrame,
    cx: &Context<'_>,
    file_idx: &UInt32Chunked,
    rows: &UInt64Chunked,
    out: &mut QuarantinedKeys,
) -> Result<(), super::IngestError> {
    let targets = Table::ALL.iter().flat_map(|t| t.spec().references.iter().flat_map(|r| r.targets.iter().copied()));
    for (t, c) in targets.filter(|(t, _)| *t == cx.table) {
        let Ok(values) = bad.column(c) else { continue };
        let values = values.cast(&DataType::String).map_err(err)?;
        let entry = out.entry((t, c)).or_default();
        for (i, v) in values.str().map_err(err)?.iter().enumerate() {
            if let Some(v) = v {
                let (file, sheet) = file_of(cx, file_idx.get(i).unwrap_or(0));
                entry.entry(v.to_string()).or_insert((file, sheet, rows.get(i).unwrap_or(0)));
            }
        }
    }
    Ok(())
}

/// One quarantine entry per broken row rule of the bad rows, rule by rule.
fn quarantine_broken_rules(
    bad: &DataFrame,
    cx: &Context<'_>,
    file_idx: &UInt32Chunked,
    rows: &UInt64Chunked,
    quarantined: &mut Vec<Quarantined>,
) -> Result<(), super::IngestError> {
    for (r, rule) in cx.table.spec().rules.iter().enumerate() {
        let broken = bad.column(&format!("__rule_{r}")).map_err(err)?.bool().map_err(err)?.clone();
        let (cols, what) = match rule {
            RowRule::ExactlyOne(cols) => (cols, "exactly one of"),
            RowRule::AtLeastOne(cols) => (cols, "at least one of"),
        };
        let texts = cols
            .iter()
            .map(|c| Ok(bad.column(&clean_col(c)).map_err(err)?.str().map_err(err)?.clone()))
            .collect::<Result<Vec<_>, super::IngestError>>()?;
        for i in 0..bad.height() {
            if broken.get(i) == Some(true) {
                let (file, sheet) = file_of(cx, file_idx.get(i).unwrap_or(0));
                let shown: Vec<String> = cols.iter().map(|c| format!("`{c}`")).collect();
                // The values given, by column: none, or (for `exactly one`) more than one.
                let given: Vec<(&str, &str)> =
                    cols.iter().zip(&texts).filter_map(|(c, t)| t.get(i).map(|v| (*c, v))).collect();
                let (value, reason) = if given.is_empty() {
                    (String::new(), format!("{what} {} must be given", shown.join(", ")))
                } else {
                    let each: Vec<String> = given.iter().map(|(c, v)| format!("`{c}` is `{v}`")).collect();
                    let value = given.iter().map(|(_, v)| *v).collect::<Vec<_>>().join(" | ");
                    (value, format!("{}: give exactly one of {}", each.join(" and "), shown.join(", ")))
                };
                quarantined.push(Quarantined {
                    source: cx.source.to_string(),
                    file,
                    sheet,
                    row: rows.get(i).unwrap_or(0),
                    column: cols.join("+"),
                    value,
                    reason,
                    cell: None,
                });
            }
        }
    }
    Ok(())
}

/// The cleaned text of a row's key, column by column.
fn key_text(spec: &TableSpec, df: &DataFrame, i: usize) -> Result<Vec<String>, super::IngestError> {
    spec.key
        .iter()
        .map(|k| Ok(df.column(&clean_col(k)).map_err(err)?.str().map_err(err)?.get(i).unwrap_or("").to_string()))
        .collect()
}

/// One quarantine entry per duplicate row (`firsts`: its index and the index of the row whose
/// key it repeats, from [`duplicate_flags`]), naming where its key first appears. Returns how
/// many rows were duplicates.
fn quarantine_duplicates(
    stage: &DataFrame,
    cx: &Context<'_>,
    firsts: &[(usize, usize)],
    quarantined: &mut Vec<Quarantined>,
) -> Result<usize, super::IngestError> {
    let spec = cx.table.spec();
    if !firsts.is_empty() {
        let file_idx = stage.column(FILE_COL).map_err(err)?.u32().map_err(err)?.clone();
        let rows = stage.column(ROW_COL).map_err(err)?.cast(&DataType::UInt64).map_err(err)?;
        let rows = rows.u64().map_err(err)?;
        for &(i, f) in firsts {
            let (file, sheet) = file_of(cx, file_idx.get(i).unwrap_or(0));
            let (first_file, _) = file_of(cx, file_idx.get(f).unwrap_or(0));
            let first_row = rows.get(f).unwrap_or(0);
            quarantined.push(Quarantined {
                source: cx.source.to_string(),
                file: file.clone(),
                sheet,
                row: rows.get(i).unwrap_or(0),
                column: spec.key.join("+"),
                value: key_text(spec, stage, i)?.join(" | "),
                reason: if first_file == file {
                    format!("duplicate key: the same as row {first_row}")
                } else {
                    format!("duplicate key: the same as `{first_file}` row {first_row}")
                },
                cell: None,
            });
        }
    }
    Ok(firsts.len())
}

/// The kept rows: neither bad, duplicate nor before the window, with the contract's columns (and
/// the file and row they came from, for tables that keep their origin). The rest of the stage is
/// let go first, and the columns are filtered one at a time, so the kept rows never sit in memory
/// beside a second copy of the whole stage.
fn kept(stage: DataFrame, cx: &Context<'_>, names: &[&'static str]) -> Result<DataFrame, super::IngestError> {
    let mut keep: Vec<&str> = names.to_vec();
    if cx.table.origin_in_ingest() {
        keep.extend([FILE_COL, ROW_COL]);
    }
    let flag = |name: &str| -> Result<BooleanChunked, super::IngestError> {
        Ok(stage.column(name).map_err(err)?.bool().map_err(err)?.clone())
    };
    let mask = !(&(&flag("__bad")? | &flag("__dup")?) | &flag("__old")?);
    let columns = stage.select(keep).map_err(err)?;
    drop(stage);
    if mask.all() {
        return Ok(columns);
    }
    let filtered = columns
        .into_columns()
        .into_iter()
        .map(|c| c.filter(&mask))
        .collect::<PolarsResult<Vec<Column>>>()
        .map_err(err)?;
    DataFrame::new_infer_height(filtered).map_err(err)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The dates of `texts` read by [`dates`] and by polars' `to_date` alone.
    fn both(texts: &[String], formats: &[&str]) -> (Vec<Option<i32>>, Vec<Option<i32>>) {
        let formats: Vec<String> = formats.iter().map(|f| f.to_string()).collect();
        let df = DataFrame::new_infer_height(vec![Column::new("t".into(), texts.to_vec())]).unwrap();
        let got = df
            .lazy()
            .select([dates(col("t"), &formats).alias("fast"), strptime(col("t"), &formats).alias("slow")])
            .collect()
            .unwrap();
        let days =
            |name: &str| got.column(name).unwrap().cast(&DataType::Int32).unwrap().i32().unwrap().iter().collect();
        (days("fast"), days("slow"))
    }

    #[test]
    fn iso_days_are_chronos_days_for_every_day_and_not_a_day() {
        // Every month and day number 0 to 32 of leap, non-leap and century years, against
        // chrono's calendar: the same days, and no date where chrono has none.
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        for y in [0, 1, 4, 100, 399, 400, 1600, 1900, 1969, 1970, 1999, 2000, 2023, 2024, 2100, 9999] {
            for m in 0..=13 {
                for d in 0..=32 {
                    let text = format!("{y:04}-{m:02}-{d:02}");
                    let want = chrono::NaiveDate::from_ymd_opt(y, m, d).map(|date| (date - epoch).num_days() as i32);
                    assert_eq!(iso_days(text.as_bytes()), want, "{text}");
                }
            }
        }
    }

    #[test]
    fn dates_read_directly_are_the_dates_polars_reads() {
        let texts: Vec<String> = [
            "2024-01-05",
            "2024-02-29",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-1-5",
            "2024-01-5",
            "2024/01/05",
            "05.01.2024",
            "2024-01-05T10:00",
            "0000-01-01",
            "9999-12-31",
            "1969-12-31",
            "20240105",
            "2024-01-0x",
            "abcd-ef-gh",
            "",
        ]
        .map(String::from)
        .to_vec();
        for formats in [&["%Y-%m-%d"][..], &["%Y-%m-%d", "%d.%m.%Y"], &["%d.%m.%Y", "%Y-%m-%d"]] {
            let (fast, slow) = both(&texts, formats);
            assert_eq!(fast, slow, "{formats:?}");
        }
        // By hand: 2024-01-05 is 19,727 days after 1970-01-01 (54 years of 365 days, 13 leap
        // days, 4 days into January); 1969-12-31 is the day before.
        let (fast, _) = both(&texts, &["%Y-%m-%d"]);
        assert_eq!((fast[0], fast[12], fast[2], fast[7]), (Some(54 * 365 + 13 + 4), Some(-1), None, None));
    }

    #[test]
    fn a_date_is_before_or_after_a_month_as_its_month_is() {
        // Dates around the turns of 2023-12/2024-01 and 2024-02/2024-03 (a leap February).
        let days: Vec<i32> = (19_700..19_790).collect();
        let df =
            DataFrame::new_infer_height(vec![Column::new("d".into(), days.clone()).cast(&DataType::Date).unwrap()])
                .unwrap();
        for m in ["2023-12", "2024-01", "2024-02", "2024-03"].map(|m| Month::parse(m).unwrap()) {
            let got = df
                .clone()
                .lazy()
                .select([
                    before(Kind::Date, col("d"), m).alias("b"),
                    after(Kind::Date, col("d"), m).alias("a"),
                    month_of(Kind::Date, col("d")).alias("m"),
                ])
                .collect()
                .unwrap();
            let (b, a, months) = (
                got.column("b").unwrap().bool().unwrap(),
                got.column("a").unwrap().bool().unwrap(),
                got.column("m").unwrap().i32().unwrap(),
            );
            for (i, day) in days.iter().enumerate() {
                let month = months.get(i).unwrap();
                assert_eq!((b.get(i), a.get(i)), (Some(month < m.0), Some(month > m.0)), "day {day} month {m}");
            }
        }
    }

    #[test]
    fn repeated_fingerprints_are_the_repeated_hashes_and_the_ones_sharing_a_fingerprint() {
        let (top, low) = (0xABC0_0000_0000_0000u64, 0x1234_5678u64);
        let hashes = [
            top | low,                   // 0: repeated by 1
            top | low,                   // 1
            top | (7 << 32) | low,       // 2: another hash, same fingerprint as 0
            0x0010_0000_0000_0000 | low, // 3: same low bits, another bucket: alone
            top | 99,                    // 4: repeated by 5, which did not pass
            top | 99,                    // 5
            u64::MAX,                    // 6: repeated by 7
            u64::MAX,                    // 7
        ];
        let passed = [true, true, true, true, true, false, true, true];
        let got = repeated(&hashes, &passed);
        // By hand: bucket 0xABC with low 0x12345678, and bucket 0xFFF with low 0xFFFFFFFF.
        let want: PlHashSet<u64> = [(0xABCu64 << 32) | low, (0xFFFu64 << 32) | 0xFFFF_FFFF].into_iter().collect();
        assert_eq!(got, want);
        assert!(got.contains(&fingerprint(hashes[2])) && !got.contains(&fingerprint(hashes[3])));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn duplicates_are_the_repeated_keys_of_the_rows_that_passed(
            rows in proptest::collection::vec((proptest::option::of(0u8..4), proptest::option::of(0u8..3), 0u8..4), 0..60),
            cut in 0usize..60,
        ) {
            // Keys from few values (many repeats, nulls among them); flag 1 = bad, 2 = old,
            // 3 = a null flag; the frame in two chunks.
            let a: Vec<Option<String>> = rows.iter().map(|r| r.0.map(|v| format!("SO{v}"))).collect();
            let b: Vec<Option<String>> = rows.iter().map(|r| r.1.map(|v| format!("P-{v}"))).collect();
            let bad: Vec<Option<bool>> = rows.iter().map(|r| if r.2 == 3 { None } else { Some(r.2 == 1) }).collect();
            let old: Vec<bool> = rows.iter().map(|r| r.2 == 2).collect();
            let frame = |lo: usize, hi: usize| {
                DataFrame::new_infer_height(vec![
                    Column::new("a".into(), a[lo..hi].to_vec()),
                    Column::new("b".into(), b[lo..hi].to_vec()),
                    Column::new("__bad".into(), bad[lo..hi].to_vec()),
                    Column::new("__old".into(), old[lo..hi].to_vec()),
                ])
                .unwrap()
            };
            let cut = cut.min(rows.len());
            let mut stage = frame(0, cut);
            stage.vstack_mut_owned(frame(cut, rows.len())).unwrap();
            let (flags, firsts) = duplicate_flags(&stage, &["a", "b"]).unwrap();
            let got: Vec<bool> = flags.iter().map(|d| d == Some(true)).collect();
            // By hand: a passed row whose key a passed row before it had, and that row.
            let mut want = vec![false; rows.len()];
            let mut want_firsts = Vec::new();
            for i in 0..rows.len() {
                let passed = |j: usize| bad[j] == Some(false) && !old[j];
                if let Some(f) = (0..i).find(|&j| passed(j) && (&a[j], &b[j]) == (&a[i], &b[i])).filter(|_| passed(i)) {
                    want[i] = true;
                    want_firsts.push((i, f));
                }
            }
            prop_assert_eq!(got, want);
            prop_assert_eq!(firsts, want_firsts);
        }

        #[test]
        fn any_date_like_text_reads_the_same_both_ways(
            texts in proptest::collection::vec("[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{2}\\.[0-9]{2}\\.[0-9]{4}|[0-9 -]{8,11}", 1..40)
        ) {
            let (fast, slow) = both(&texts, &["%Y-%m-%d", "%d.%m.%Y"]);
            prop_assert_eq!(fast, slow);
        }
    }
}
