//! `snop maturity`: twelve questions about the S&OP process, answered from the store's record
//! (signatures against the calendar, the runs' facts, the executive decisions, last cycle's
//! promises scored), each with its evidence and the meeting it belongs to; the cycle placed on a
//! five-level scale; and the weakest link, the meeting with the most failing answers.
//!
//! [`judge`] is pure (records in, answers out); [`load`] reads the records from the store.
//!
//! The scale, from the guide's failure modes (drift first, then a plan that binds no one):
//!
//! | level | name                                | every answer `yes` among            |
//! |-------|-------------------------------------|-------------------------------------|
//! | 1     | forecast only                       | (the start: a plan exists, no more) |
//! | 2     | meetings held                       | 1 five artifacts, 8 capacity, 9 reconciliation first |
//! | 3     | signed by role, on time             | and 2 role, 3 on time, 4 14 days, 5 executive never moved |
//! | 4     | decisions closed and loop kept      | and 10 trade-offs decided, 11 commitments kept, 12 orders outside the plan surfaced |
//! | 5     | the cycle runs itself, value added  | and 6 layers and owners, 7 value added |
//!
//! A level needs every question of it and of the levels below answered `yes` over the cycles
//! looked at; `unknown` does not count as `yes` (a level needs its evidence).

use chrono::{DateTime, NaiveDate, Utc};

use serde_json::Value;

use crate::analysis::executive::{Choice, DecisionRow};
use crate::cadence::{CycleDrift, describe_days};
use crate::calendar::Calendar;
use crate::contract::Month;
use crate::draft::DraftDetail;
use crate::sop::Artifact;
use crate::store::Store;

/// An answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Yes,
    Partly,
    No,
    /// The store lacks the evidence (the evidence says what is missing), or it is not due yet.
    Unknown,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Yes => "yes",
            Verdict::Partly => "partly",
            Verdict::No => "no",
            Verdict::Unknown => "unknown",
        }
    }
}

/// One meeting's artifact in a cycle, as the store holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Held {
    /// A draft of the artifact exists.
    pub exists: bool,
    /// The roles its standing signatures were made under.
    pub signed_roles: Vec<String>,
    pub first_signed: Option<DateTime<Utc>>,
    pub last_signed: Option<DateTime<Utc>>,
}

/// One layer of the demand consensus: its units, its owners and their adjustments.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerRecord {
    /// `sales` or `marketing`.
    pub layer: String,
    pub units: f64,
    pub owners: usize,
    pub adjustments: usize,
    /// Adjustments with no owner named.
    pub unowned: usize,
}

/// What the demand review's facts say about the consensus (`facts.json` of its run).
#[derive(Debug, Clone, PartialEq)]
pub struct DemandRecord {
    pub statistical_units: f64,
    pub final_units: f64,
    pub layers: Vec<LayerRecord>,
    /// Value added in WMAPE points per layer (`statistical` over naive, `sales` over
    /// statistical, ...) at the shortest lag measured; `None` when not measurable.
    pub value_added: Vec<(String, Option<f64>)>,
}

/// Last cycle's promises scored (the demand review run's `last-cycle.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct LoopRecord {
    pub scored_cycle: String,
    pub log_signed: bool,
    pub kept: u64,
    pub missed: u64,
    pub renegotiated: u64,
    pub not_yet_due: u64,
    pub missed_units: f64,
    pub order_lines: u64,
    pub lines_beyond_plan: u64,
    pub lines_without_plan: u64,
    pub units_outside_plan: f64,
    /// Order lines outside the plan listed one by one.
    pub listed: usize,
    /// The demand consensus's agenda opens with the scorecard.
    pub on_agenda: bool,
}

/// Everything the questions need about one cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleRecord {
    pub cycle: String,
    /// One per artifact, in [`Artifact::ALL`] order.
    pub held: Vec<Held>,
    pub drift: CycleDrift,
    pub demand: Option<DemandRecord>,
    /// Resources the supply review loaded against capacity; `None` without supply facts.
    pub capacity_resources: Option<usize>,
    /// The trade-offs the reconciliation pack put to the executive; `None` without its facts.
    pub trade_offs: Option<Vec<String>>,
    /// The trade-offs with a standing decision (an option or an action, not a send-back).
    pub decided: Vec<String>,
    /// The standing decision on the whole plan is a send-back.
    pub plan_sent_back: bool,
    pub last_cycle: Option<LoopRecord>,
}

/// One question's answer on one cycle.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CycleAnswer {
    pub cycle: String,
    pub answer: Verdict,
    pub evidence: String,
    /// The meetings that fail it (`no` or `partly`), as artifact keys.
    pub failing: Vec<String>,
}

/// One question, answered over the cycles looked at.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Answer {
    pub number: usize,
    pub question: String,
    /// The meeting it belongs to, or `every meeting`.
    pub meeting: String,
    pub answer: Verdict,
    /// One sentence per cycle, joined.
    pub evidence: String,
    pub cycles: Vec<CycleAnswer>,
}

/// The place on the scale.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Level {
    pub level: u8,
    pub name: String,
    /// What the next level needs: the questions not yet `yes`, by number.
    pub next_needs: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WeakestLink {
    pub artifact: String,
    pub meeting: String,
    pub failing_answers: usize,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Maturity {
    pub cycle: String,
    pub cycles: Vec<String>,
    pub level: Level,
    /// `None` when nothing fails.
    pub weakest_link: Option<WeakestLink>,
    /// Failing answers per meeting, in cycle order (artifact key, count).
    pub failing_by_meeting: Vec<(String, usize)>,
    pub answers: Vec<Answer>,
}

/// The twelve questions: text and the meeting they belong to (`None`: every meeting).
pub const QUESTIONS: [(&str, Option<Artifact>); 12] = [
    ("all five artifacts every month", None),
    ("each signed by its named role", None),
    ("signed on time", None),
    ("cycle within 14 days", Some(Artifact::CommitmentLog)),
    ("executive meeting never moved", Some(Artifact::SignedPlan)),
    ("the consensus keeps its layers and owners", Some(Artifact::DemandConsensus)),
    ("statistical forecast and each adjustment layer add value", Some(Artifact::DemandConsensus)),
    ("capacity in every supply review", Some(Artifact::SupplyPlan)),
    ("a reconciliation before every executive meeting", Some(Artifact::ReconciliationPack)),
    ("every trade-off decided", Some(Artifact::SignedPlan)),
    ("last cycle's commitments kept", Some(Artifact::CommitmentLog)),
    ("orders outside the plan surfaced", Some(Artifact::CommitmentLog)),
];

/// The scale: level, name, the questions (1-based) that level adds.
pub const LEVELS: [(u8, &str, &[usize]); 5] = [
    (1, "forecast only", &[]),
    (2, "meetings held", &[1, 8, 9]),
    (3, "signed by role, on time", &[2, 3, 4, 5]),
    (4, "decisions closed and loop kept", &[10, 11, 12]),
    (5, "the cycle runs itself, value added", &[6, 7]),
];

fn index(a: Artifact) -> usize {
    Artifact::ALL.iter().position(|x| *x == a).expect("listed")
}

fn one(cycle: &str, answer: Verdict, evidence: String, failing: &[Artifact]) -> CycleAnswer {
    let failing = if matches!(answer, Verdict::No | Verdict::Partly) {
        failing.iter().map(|a| a.key().to_string()).collect()
    } else {
        Vec::new()
    };
    CycleAnswer { cycle: cycle.into(), answer, evidence, failing }
}

/// Whether the artifact is due: its meeting's last day has passed unsigned.
fn overdue(r: &CycleRecord, a: Artifact) -> bool {
    r.drift.meetings.get(index(a)).is_some_and(|m| m.overdue)
}

fn signed(r: &CycleRecord, a: Artifact) -> bool {
    r.held[index(a)].last_signed.is_some()
}

fn signed_by_role(h: &Held, a: Artifact) -> bool {
    let has = |role: &&str| h.signed_roles.iter().any(|r| r == role);
    if a.needs_every_signer() { a.signer_roles().iter().all(has) } else { a.signer_roles().iter().any(has) }
}

fn names(list: &[Artifact]) -> String {
    list.iter().map(|a| a.title()).collect::<Vec<_>>().join(", ")
}

/// From the meetings' state: `no` when any is due and failing, else `unknown` when any is not
/// due yet, else `yes`.
fn over_meetings(cycle: &str, failing: &[Artifact], pending: &[Artifact], yes: String, no: String) -> CycleAnswer {
    if !failing.is_empty() {
        one(cycle, Verdict::No, no, failing)
    } else if !pending.is_empty() {
        one(cycle, Verdict::Unknown, format!("{yes}; not due yet: {}", names(pending)), &[])
    } else {
        one(cycle, Verdict::Yes, yes, &[])
    }
}

fn q1_artifacts(r: &CycleRecord) -> CycleAnswer {
    let missing: Vec<Artifact> = Artifact::ALL.into_iter().filter(|a| !r.held[index(*a)].exists).collect();
    let (due, pending): (Vec<Artifact>, Vec<Artifact>) = missing.iter().partition(|a| overdue(r, **a));
    let n = 5 - missing.len();
    over_meetings(
        &r.cycle,
        &due,
        &pending,
        format!("{n} of 5 artifacts drafted"),
        format!("{n} of 5 artifacts drafted; missing past their meeting: {}", names(&due)),
    )
}

fn q2_roles(r: &CycleRecord) -> CycleAnswer {
    let mut wrong = Vec::new();
    let mut unsigned_due = Vec::new();
    let mut pending = Vec::new();
    for a in Artifact::ALL {
        let h = &r.held[index(a)];
        if h.last_signed.is_none() {
            if overdue(r, a) { unsigned_due.push(a) } else { pending.push(a) }
        } else if !signed_by_role(h, a) {
            wrong.push(a);
        }
    }
    let ok = 5 - wrong.len() - unsigned_due.len() - pending.len();
    let mut no = format!("{ok} of 5 signed by their named role");
    if !unsigned_due.is_empty() {
        no.push_str(&format!("; not signed past their meeting: {}", names(&unsigned_due)));
    }
    if !wrong.is_empty() {
        no.push_str(&format!("; signed by another role: {}", names(&wrong)));
    }
    let failing: Vec<Artifact> = unsigned_due.iter().chain(&wrong).copied().collect();
    over_meetings(&r.cycle, &failing, &pending, format!("{ok} of 5 signed by their named role"), no)
}

fn q3_on_time(r: &CycleRecord) -> CycleAnswer {
    let mut off = Vec::new();
    let mut failing = Vec::new();
    let mut pending = Vec::new();
    let mut on_time = 0;
    for (a, m) in Artifact::ALL.into_iter().zip(&r.drift.meetings) {
        match (m.signed_on, m.days_off) {
            (Some(_), Some(0)) => on_time += 1,
            (Some(d), Some(days)) => {
                off.push(format!(
                    "{} {} ({d}, planned {} to {})",
                    a.title(),
                    describe_days(days),
                    m.planned_first,
                    m.planned_last
                ));
                failing.push(a);
            }
            (None, Some(days)) => {
                off.push(format!("{} not signed, {days} day(s) past {}", a.title(), m.planned_last));
                failing.push(a);
            }
            _ => pending.push(a),
        }
    }
    over_meetings(
        &r.cycle,
        &failing,
        &pending,
        format!("{on_time} of 5 signed within their meeting's days"),
        format!("{on_time} of 5 signed within their meeting's days; {}", off.join("; ")),
    )
}

fn q4_length(r: &CycleRecord) -> CycleAnswer {
    let start = r.drift.meetings.first().map(|m| m.planned_first);
    let start = start.map_or_else(String::new, |d| d.to_string());
    match r.drift.length_days {
        // Signed before the cycle's calendar start: the signatures do not follow the calendar
        // (question 3 says so), and a length cannot be measured.
        Some(len) if len < 1 => one(
            &r.cycle,
            Verdict::Unknown,
            format!(
                "the commitment log was signed {}, before the demand review's planned start ({start}): no cycle length to measure",
                r.drift.meetings.last().and_then(|m| m.signed_on).map_or_else(String::new, |d| d.to_string())
            ),
            &[],
        ),
        Some(len) => {
            let end = r.drift.meetings.last().and_then(|m| m.signed_on).map_or_else(String::new, |d| d.to_string());
            let text = format!(
                "{len} days from the demand review's start ({start}) to the commitment log signed ({end}), limit {}",
                r.drift.max_days
            );
            let v = if len <= r.drift.max_days { Verdict::Yes } else { Verdict::No };
            one(&r.cycle, v, text, &[Artifact::CommitmentLog])
        }
        None if overdue(r, Artifact::CommitmentLog) => one(
            &r.cycle,
            Verdict::No,
            format!("the commitment log is not signed, past the commit-back's last day; the cycle started {start}"),
            &[Artifact::CommitmentLog],
        ),
        None => one(&r.cycle, Verdict::Unknown, "the commitment log is not signed yet (not due)".into(), &[]),
    }
}

fn q5_executive(r: &CycleRecord) -> CycleAnswer {
    let m = &r.drift.meetings[index(Artifact::SignedPlan)];
    let exec = [Artifact::SignedPlan];
    match (m.signed_on, r.drift.executive_moved) {
        (Some(d), Some(days)) => one(
            &r.cycle,
            Verdict::No,
            format!(
                "the signed plan was signed {d}, {} against the executive S&OP of {}",
                describe_days(days),
                m.planned_last
            ),
            &exec,
        ),
        (Some(d), None) => {
            one(&r.cycle, Verdict::Yes, format!("held on its day: signed {d} (planned {})", m.planned_last), &[])
        }
        (None, _) if m.overdue => one(
            &r.cycle,
            Verdict::No,
            format!(
                "not held: the signed plan is unsigned {} day(s) after {}",
                m.days_off.unwrap_or(0),
                m.planned_last
            ),
            &exec,
        ),
        (None, _) => one(
            &r.cycle,
            Verdict::Unknown,
            format!("the executive S&OP is on {} (not signed yet)", m.planned_last),
            &[],
        ),
    }
}

fn no_demand(r: &CycleRecord) -> CycleAnswer {
    one(&r.cycle, Verdict::Unknown, "no demand review facts (`facts.json`) in the store for this cycle".into(), &[])
}

fn q6_layers(r: &CycleRecord) -> CycleAnswer {
    let Some(d) = &r.demand else { return no_demand(r) };
    let demand = [Artifact::DemandConsensus];
    let mut parts = vec![format!("statistical {:.0} units", d.statistical_units)];
    let mut bad = Vec::new();
    if d.statistical_units <= 0.0 {
        bad.push("no statistical forecast".to_string());
    }
    for l in &d.layers {
        parts.push(format!(
            "{} {:+.0} units by {} owner(s) in {} adjustment(s)",
            l.layer, l.units, l.owners, l.adjustments
        ));
        if l.unowned > 0 {
            bad.push(format!("{} {} adjustment(s) without an owner", l.unowned, l.layer));
        }
        if l.units.abs() > 0.5 && l.adjustments == 0 {
            bad.push(format!("{} layer moves {:+.0} units with no adjustment on record", l.layer, l.units));
        }
    }
    parts.push(format!("final {:.0} units", d.final_units));
    let text = parts.join(", ");
    if bad.is_empty() {
        one(&r.cycle, Verdict::Yes, text, &[])
    } else {
        one(&r.cycle, Verdict::No, format!("{text}; {}", bad.join("; ")), &demand)
    }
}

fn q7_value(r: &CycleRecord) -> CycleAnswer {
    let Some(d) = &r.demand else { return no_demand(r) };
    // The layers that must add value: the statistical forecast, and each layer with adjustments.
    let mut layers = vec!["statistical".to_string()];
    layers.extend(d.layers.iter().filter(|l| l.adjustments > 0).map(|l| l.layer.clone()));
    let mut parts = Vec::new();
    let (mut losing, mut unmeasured) = (0, 0);
    for layer in &layers {
        match d.value_added.iter().find(|(l, _)| l == layer).and_then(|(_, p)| *p) {
            Some(p) => {
                parts.push(format!("{layer} {p:+.1} WMAPE points"));
                if p <= 0.0 {
                    losing += 1;
                }
            }
            None => {
                parts.push(format!("{layer} not measured yet (no earlier consensus with actuals)"));
                unmeasured += 1;
            }
        }
    }
    let text = format!("value added: {}", parts.join(", "));
    let v = match (losing, unmeasured) {
        (0, 0) => Verdict::Yes,
        (0, _) => Verdict::Unknown,
        (l, _) if l == layers.len() => Verdict::No,
        _ => Verdict::Partly,
    };
    one(&r.cycle, v, text, &[Artifact::DemandConsensus])
}

fn q8_capacity(r: &CycleRecord) -> CycleAnswer {
    match r.capacity_resources {
        Some(0) => one(
            &r.cycle,
            Verdict::No,
            "the supply review loaded no resource against capacity".into(),
            &[Artifact::SupplyPlan],
        ),
        Some(n) => one(&r.cycle, Verdict::Yes, format!("{n} resources loaded against capacity"), &[]),
        None if overdue(r, Artifact::SupplyPlan) => one(
            &r.cycle,
            Verdict::No,
            "no supply review facts, past the supply review's last day".into(),
            &[Artifact::SupplyPlan],
        ),
        None => one(&r.cycle, Verdict::Unknown, "no supply review facts (`facts.json`) in the store yet".into(), &[]),
    }
}

fn q9_reconciliation(r: &CycleRecord) -> CycleAnswer {
    let recon = &r.held[index(Artifact::ReconciliationPack)];
    let exec = &r.held[index(Artifact::SignedPlan)];
    let fail = [Artifact::ReconciliationPack];
    let at = |t: Option<DateTime<Utc>>| t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string());
    match (at(recon.last_signed), at(exec.first_signed)) {
        (Some(rs), Some(es)) if recon.last_signed <= exec.first_signed => {
            one(&r.cycle, Verdict::Yes, format!("reconciliation pack signed {rs}, before the signed plan ({es})"), &[])
        }
        (Some(rs), Some(es)) => {
            one(&r.cycle, Verdict::No, format!("reconciliation pack signed {rs}, after the signed plan ({es})"), &fail)
        }
        (None, Some(es)) => one(
            &r.cycle,
            Verdict::No,
            format!("the signed plan was signed {es} with no signed reconciliation pack"),
            &fail,
        ),
        (Some(rs), None) => {
            one(&r.cycle, Verdict::Yes, format!("reconciliation pack signed {rs}; executive S&OP to come"), &[])
        }
        (None, None) if overdue(r, Artifact::SignedPlan) || overdue(r, Artifact::ReconciliationPack) => one(
            &r.cycle,
            Verdict::No,
            "no signed reconciliation pack, past the pre-S&OP reconciliation's last day".into(),
            &fail,
        ),
        (None, None) => {
            one(&r.cycle, Verdict::Unknown, "neither the reconciliation nor the executive S&OP is due yet".into(), &[])
        }
    }
}

fn q10_decided(r: &CycleRecord) -> CycleAnswer {
    let Some(trade_offs) = &r.trade_offs else {
        return one(&r.cycle, Verdict::Unknown, "no reconciliation pack facts: no trade-offs on record".into(), &[]);
    };
    let open: Vec<&String> = trade_offs.iter().filter(|t| !r.decided.contains(t)).collect();
    let n = trade_offs.len();
    let mut text = format!("{} of {n} trade-off(s) decided", n - open.len());
    if !open.is_empty() {
        let shown: Vec<String> = open.iter().take(3).map(|t| format!("`{t}`")).collect();
        text.push_str(&format!("; undecided: {}{}", shown.join(", "), if open.len() > 3 { ", ..." } else { "" }));
    }
    if r.plan_sent_back {
        text.push_str("; the plan was sent back");
    }
    let held = signed(r, Artifact::SignedPlan) || overdue(r, Artifact::SignedPlan);
    let v = match (open.len(), held) {
        (0, _) if !r.plan_sent_back => Verdict::Yes,
        (_, false) => Verdict::Unknown,
        (o, true) if o == n => Verdict::No,
        _ => Verdict::Partly,
    };
    one(&r.cycle, v, text, &[Artifact::SignedPlan])
}

fn no_loop(r: &CycleRecord) -> CycleAnswer {
    one(
        &r.cycle,
        Verdict::Unknown,
        "no `last-cycle.json` in this cycle's demand review run: no earlier cycle's log scored".into(),
        &[],
    )
}

fn q11_kept(r: &CycleRecord) -> CycleAnswer {
    let Some(l) = &r.last_cycle else { return no_loop(r) };
    let mut text = format!(
        "{}'s commitments: {} kept, {} missed ({:.0} units), {} re-negotiated, {} not yet due",
        l.scored_cycle, l.kept, l.missed, l.missed_units, l.renegotiated, l.not_yet_due
    );
    if !l.log_signed {
        text.push_str(" (its log was never signed: its latest draft was scored)");
    }
    let v = match (l.kept + l.renegotiated, l.missed) {
        (0, 0) => Verdict::Unknown,
        (_, 0) if l.log_signed => Verdict::Yes,
        (0, _) => Verdict::No,
        _ => Verdict::Partly,
    };
    one(&r.cycle, v, text, &[Artifact::CommitmentLog])
}

fn q12_orders(r: &CycleRecord) -> CycleAnswer {
    let Some(l) = &r.last_cycle else { return no_loop(r) };
    let outside = l.lines_beyond_plan + l.lines_without_plan;
    let text = format!(
        "{outside} of {} order lines outside {}'s plan ({} beyond it, {} without a plan line; {:.0} units), {} listed by order, {}",
        l.order_lines,
        l.scored_cycle,
        l.lines_beyond_plan,
        l.lines_without_plan,
        l.units_outside_plan,
        l.listed,
        if l.on_agenda { "on the demand review's agenda" } else { "not on the demand review's agenda" }
    );
    let listed = l.listed as u64 >= outside;
    let v = match (listed, l.on_agenda) {
        (true, true) => Verdict::Yes,
        (false, false) => Verdict::No,
        _ => Verdict::Partly,
    };
    one(&r.cycle, v, text, &[Artifact::CommitmentLog])
}

/// One question over the cycles: `yes` when every cycle that knows says yes, `no` when every
/// one says no, `partly` between, `unknown` when none knows.
fn combine(answers: &[CycleAnswer]) -> Verdict {
    let known: Vec<Verdict> = answers.iter().map(|a| a.answer).filter(|v| *v != Verdict::Unknown).collect();
    if known.is_empty() {
        Verdict::Unknown
    } else if known.iter().all(|v| *v == Verdict::Yes) {
        Verdict::Yes
    } else if known.iter().all(|v| *v == Verdict::No) {
        Verdict::No
    } else {
        Verdict::Partly
    }
}

/// Answers the twelve questions over `records` (oldest first; the last is the cycle placed).
pub fn judge(records: &[CycleRecord]) -> Maturity {
    let rules: [fn(&CycleRecord) -> CycleAnswer; 12] = [
        q1_artifacts,
        q2_roles,
        q3_on_time,
        q4_length,
        q5_executive,
        q6_layers,
        q7_value,
        q8_capacity,
        q9_reconciliation,
        q10_decided,
        q11_kept,
        q12_orders,
    ];
    let answers: Vec<Answer> = QUESTIONS
        .iter()
        .zip(rules)
        .enumerate()
        .map(|(i, ((question, meeting), rule))| {
            let cycles: Vec<CycleAnswer> = records.iter().map(rule).collect();
            let evidence = if cycles.is_empty() {
                "no cycle in the store".to_string()
            } else {
                cycles.iter().map(|c| format!("{}: {}", c.cycle, c.evidence)).collect::<Vec<_>>().join("; ")
            };
            Answer {
                number: i + 1,
                question: (*question).into(),
                meeting: meeting.map_or("every meeting", |a| a.meeting()).into(),
                answer: combine(&cycles),
                evidence,
                cycles,
            }
        })
        .collect();
    let yes = |n: &usize| answers[n - 1].answer == Verdict::Yes;
    let mut level = &LEVELS[0];
    let mut next_needs = Vec::new();
    for l in &LEVELS[1..] {
        let missing: Vec<usize> = l.2.iter().copied().filter(|n| !yes(n)).collect();
        if missing.is_empty() {
            level = l;
        } else {
            next_needs = missing;
            break;
        }
    }
    let failing_by_meeting: Vec<(String, usize)> = Artifact::ALL
        .into_iter()
        .map(|a| {
            let n = answers.iter().flat_map(|q| &q.cycles).filter(|c| c.failing.iter().any(|f| f == a.key())).count();
            (a.key().to_string(), n)
        })
        .collect();
    // The most failing answers; `max_by_key` keeps the last of equals, so walk in reverse to
    // keep the earliest meeting in the cycle.
    let weakest_link =
        failing_by_meeting.iter().rev().max_by_key(|(_, n)| *n).filter(|(_, n)| *n > 0).map(|(key, n)| WeakestLink {
            artifact: key.clone(),
            meeting: Artifact::from_key(key).expect("a key").meeting().into(),
            failing_answers: *n,
        });
    Maturity {
        cycle: records.last().map_or_else(String::new, |r| r.cycle.clone()),
        cycles: records.iter().map(|r| r.cycle.clone()).collect(),
        level: Level { level: level.0, name: level.1.into(), next_needs },
        weakest_link,
        failing_by_meeting,
        answers,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the records from the store

/// The draft that stands for an artifact: its newest signed version, else its newest.
async fn standing_draft(store: &Store, a: Artifact, cycle: &str) -> anyhow::Result<Option<DraftDetail>> {
    if let Some(d) = store.latest_signed(a, cycle).await? {
        return Ok(Some(d));
    }
    match store.drafts(Some(cycle), Some(a)).await?.into_iter().next() {
        Some(row) => Ok(store.draft(row.id).await?),
        None => Ok(None),
    }
}

/// A JSON file kept with the draft's run, if any.
async fn run_json(store: &Store, draft: Option<&DraftDetail>, name: &str) -> anyhow::Result<Option<Value>> {
    let Some(d) = draft else { return Ok(None) };
    let Some(run) = store.run(d.row.run_id).await? else { return Ok(None) };
    match store.run_file(&run, name)? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}

fn f64_at(v: &Value, path: &[&str]) -> f64 {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_f64).unwrap_or(0.0)
}

fn u64_at(v: &Value, path: &[&str]) -> u64 {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_u64).unwrap_or(0)
}

fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The consensus's layers, owners and value added from the demand review's `facts.json`
/// (`analysis::demand::DemandFacts`).
pub fn demand_record(facts: &Value) -> DemandRecord {
    let owners = facts.get("owners").and_then(Value::as_array).cloned().unwrap_or_default();
    let layers = [("sales", "sales_adjustment_units"), ("marketing", "marketing_adjustment_units")]
        .into_iter()
        .map(|(layer, total)| {
            let of: Vec<&Value> = owners.iter().filter(|o| str_at(o, "layer") == layer).collect();
            LayerRecord {
                layer: layer.into(),
                units: f64_at(facts, &["totals", total]),
                owners: of.iter().filter(|o| !str_at(o, "owner").trim().is_empty()).count(),
                adjustments: of.iter().map(|o| u64_at(o, &["adjustments"]) as usize).sum(),
                unowned: of
                    .iter()
                    .filter(|o| str_at(o, "owner").trim().is_empty())
                    .map(|o| u64_at(o, &["adjustments"]) as usize)
                    .sum(),
            }
        })
        .collect();
    // Per layer, the value added at the shortest lag measured.
    let mut value_added: Vec<(String, Option<f64>, u64)> = Vec::new();
    for v in facts.get("value_added").and_then(Value::as_array).into_iter().flatten() {
        let (layer, lag) = (str_at(v, "layer").to_string(), u64_at(v, &["lag_months"]));
        let points = v.get("value_added_points").and_then(Value::as_f64);
        match value_added.iter_mut().find(|(l, _, _)| *l == layer) {
            Some(e) if lag < e.2 => *e = (layer, points, lag),
            Some(_) => {}
            None => value_added.push((layer, points, lag)),
        }
    }
    DemandRecord {
        statistical_units: f64_at(facts, &["totals", "statistical_units"]),
        final_units: f64_at(facts, &["totals", "final_units"]),
        layers,
        value_added: value_added.into_iter().map(|(l, p, _)| (l, p)).collect(),
    }
}

/// Last cycle's promises from the demand review's `last-cycle.json`
/// (`analysis::commitments::LoopFacts`).
pub fn loop_record(l: &Value, on_agenda: bool) -> LoopRecord {
    LoopRecord {
        scored_cycle: str_at(l, "scored_cycle").into(),
        log_signed: l.get("log_signed").and_then(Value::as_bool).unwrap_or(false),
        kept: u64_at(l, &["kept"]),
        missed: u64_at(l, &["missed"]),
        renegotiated: u64_at(l, &["renegotiated"]),
        not_yet_due: u64_at(l, &["not_yet_due"]),
        missed_units: f64_at(l, &["missed_units"]),
        order_lines: u64_at(l, &["orders", "order_lines"]),
        lines_beyond_plan: u64_at(l, &["orders", "lines_beyond_plan"]),
        lines_without_plan: u64_at(l, &["orders", "lines_without_plan"]),
        units_outside_plan: f64_at(l, &["orders", "units_outside_plan"]),
        listed: l.get("orders_outside_plan").and_then(Value::as_array).map_or(0, Vec::len),
        on_agenda,
    }
}

/// The cycles in the store up to `cycle` (default: the newest), the last `count` of them.
pub async fn cycles_up_to(store: &Store, cycle: Option<Month>, count: usize) -> anyhow::Result<Vec<Month>> {
    let mut months: Vec<Month> =
        store.drafts(None, None).await?.iter().filter_map(|d| Month::parse(&d.cycle)).collect();
    months.sort();
    months.dedup();
    if let Some(c) = cycle {
        if !months.contains(&c) {
            return Err(crate::UserError(format!(
                "the store holds no draft of cycle {c}\nhint: `snop status --cycle {c}` shows what it is waiting for"
            ))
            .into());
        }
        months.retain(|m| *m <= c);
    }
    let skip = months.len().saturating_sub(count);
    Ok(months.split_off(skip))
}

/// Reads one cycle's record from the store; `today` judges what is due.
pub async fn load(store: &Store, cal: &Calendar, cycle: Month, today: NaiveDate) -> anyhow::Result<CycleRecord> {
    let c = cycle.to_string();
    let lines = store.status(&c).await?;
    let drift = crate::cadence::drift(cal, cycle, &lines, today);
    let held = lines
        .iter()
        .map(|l| {
            let times: Vec<DateTime<Utc>> = l
                .signatures
                .iter()
                .filter_map(|s| DateTime::parse_from_rfc3339(&s.at).ok())
                .map(|t| t.with_timezone(&Utc))
                .collect();
            Held {
                exists: l.exists,
                signed_roles: l.signatures.iter().map(|s| s.role.clone()).collect(),
                first_signed: times.iter().min().copied(),
                last_signed: times.iter().max().copied(),
            }
        })
        .collect();
    let demand = standing_draft(store, Artifact::DemandConsensus, &c).await?;
    let supply = standing_draft(store, Artifact::SupplyPlan, &c).await?;
    let recon = standing_draft(store, Artifact::ReconciliationPack, &c).await?;
    let on_agenda = demand.as_ref().is_some_and(|d| d.content.agenda.scorecard.is_some());
    let decisions = store.decisions(&c).await?;
    let standing = crate::analysis::executive::standing(&decisions);
    let is_action = |d: &DecisionRow| !matches!(d.choice, Choice::SendBack { .. });
    Ok(CycleRecord {
        cycle: c,
        held,
        drift,
        demand: run_json(store, demand.as_ref(), "facts.json").await?.as_ref().map(demand_record),
        capacity_resources: run_json(store, supply.as_ref(), "facts.json")
            .await?
            .and_then(|f| f.get("capacity").and_then(Value::as_array).map(Vec::len)),
        trade_offs: run_json(store, recon.as_ref(), "facts.json").await?.and_then(|f| {
            f.get("trade_offs")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|t| str_at(t, "id").to_string()).collect())
        }),
        decided: standing.iter().filter(|(_, d)| is_action(d)).filter_map(|(t, _)| t.clone()).collect(),
        plan_sent_back: standing.get(&None).is_some_and(|d| !is_action(d)),
        last_cycle: run_json(store, demand.as_ref(), "last-cycle.json").await?.map(|l| loop_record(&l, on_agenda)),
    })
}

#[cfg(test)]
mod tests;
