//! Hand-built cycles: every answer below can be checked by reading the record.

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;
use crate::cadence::MeetingDrift;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
}

/// The planned days of the five meetings of a December cycle: demand 7-9, supply 10-11,
/// reconciliation 14-15, executive 17, commit-back 18.
const PLAN: [(u32, u32); 5] = [(7, 9), (10, 11), (14, 15), (17, 17), (18, 18)];

/// A cycle where everything is right: each artifact signed by its role on its meeting's last
/// day, at noon; layers owned and adding value; 3 trade-offs, all decided; last cycle's
/// commitments all kept; the orders outside the plan listed and on the agenda.
fn perfect() -> CycleRecord {
    let mut held = Vec::new();
    let mut meetings = Vec::new();
    for (a, (first, last)) in Artifact::ALL.into_iter().zip(PLAN) {
        let at = Utc.with_ymd_and_hms(2026, 12, last, 12, 0, 0).unwrap();
        held.push(Held {
            exists: true,
            signed_roles: a.signer_roles().iter().map(|r| r.to_string()).collect(),
            first_signed: Some(at),
            last_signed: Some(at),
        });
        meetings.push(MeetingDrift {
            artifact: a.key().into(),
            meeting: a.meeting().into(),
            planned_first: day(first),
            planned_last: day(last),
            signed_on: Some(day(last)),
            days_off: Some(0),
            overdue: false,
        });
    }
    CycleRecord {
        cycle: "2026-12".into(),
        held,
        // 7 to 18 December, both counted: 12 days.
        drift: CycleDrift {
            cycle: "2026-12".into(),
            meetings,
            length_days: Some(12),
            max_days: 14,
            executive_moved: None,
        },
        demand: Some(DemandRecord {
            statistical_units: 1000.0,
            final_units: 1150.0,
            layers: vec![
                LayerRecord { layer: "sales".into(), units: 100.0, owners: 2, adjustments: 3, unowned: 0 },
                LayerRecord { layer: "marketing".into(), units: 50.0, owners: 1, adjustments: 1, unowned: 0 },
            ],
            value_added: vec![
                ("statistical".into(), Some(9.0)),
                ("sales".into(), Some(2.5)),
                ("marketing".into(), Some(0.5)),
            ],
        }),
        capacity_resources: Some(17),
        trade_offs: Some(vec!["A".into(), "B".into(), "C".into()]),
        decided: vec!["A".into(), "B".into(), "C".into()],
        plan_sent_back: false,
        last_cycle: Some(LoopRecord {
            scored_cycle: "2026-11".into(),
            log_signed: true,
            kept: 40,
            missed: 0,
            renegotiated: 5,
            not_yet_due: 10,
            missed_units: 0.0,
            order_lines: 100,
            lines_beyond_plan: 3,
            lines_without_plan: 2,
            units_outside_plan: 80.0,
            listed: 5,
            on_agenda: true,
        }),
    }
}

/// Removes an artifact as if its meeting was never held and its days have passed (checked on
/// 2026-12-28).
fn not_held(r: &mut CycleRecord, a: Artifact) {
    let i = index(a);
    r.held[i] = Held::default();
    let m = &mut r.drift.meetings[i];
    m.signed_on = None;
    m.days_off = Some((day(28) - m.planned_last).num_days());
    m.overdue = true;
}

fn verdicts(m: &Maturity) -> Vec<Verdict> {
    m.answers.iter().map(|a| a.answer).collect()
}

#[test]
fn everything_right_is_level_five_with_no_weak_link() {
    let m = judge(&[perfect()]);
    assert_eq!(verdicts(&m), vec![Verdict::Yes; 12], "{:#?}", m.answers);
    assert_eq!(m.level.level, 5);
    assert_eq!(m.level.name, "the cycle runs itself, value added");
    assert!(m.level.next_needs.is_empty());
    assert_eq!(m.weakest_link, None);
    // The evidence carries the record's numbers.
    assert_eq!(
        m.answers[3].evidence,
        "2026-12: 12 days from the demand review's start (2026-12-07) to the commitment log signed (2026-12-18), limit 14"
    );
    assert_eq!(m.answers[7].evidence, "2026-12: 17 resources loaded against capacity");
    assert_eq!(m.answers[9].evidence, "2026-12: 3 of 3 trade-off(s) decided");
    assert!(m.answers[10].evidence.contains("2026-11's commitments: 40 kept, 0 missed (0 units), 5 re-negotiated"));
    assert!(m.answers[11].evidence.contains("5 of 100 order lines outside 2026-11's plan (3 beyond it, 2 without"));
    assert!(m.answers[6].evidence.contains("statistical +9.0 WMAPE points, sales +2.5 WMAPE points, marketing +0.5"));
}

#[test]
fn a_missing_executive_meeting_is_the_weakest_link() {
    let mut r = perfect();
    not_held(&mut r, Artifact::SignedPlan);
    r.decided.clear();
    let m = judge(&[r]);
    let v = verdicts(&m);
    // 1 artifacts, 2 roles, 3 on time, 5 never moved, 9 reconciliation (still signed, before
    // an executive to come: yes), 10 trade-offs: none decided after the meeting's day.
    assert_eq!(v[0], Verdict::No);
    assert_eq!(v[1], Verdict::No);
    assert_eq!(v[2], Verdict::No);
    assert_eq!(v[4], Verdict::No);
    assert_eq!(v[9], Verdict::No);
    assert_eq!(m.answers[0].evidence, "2026-12: 4 of 5 artifacts drafted; missing past their meeting: signed plan");
    // 11 days past the 17th as of the 28th.
    assert_eq!(m.answers[4].evidence, "2026-12: not held: the signed plan is unsigned 11 day(s) after 2026-12-17");
    assert_eq!(m.level.level, 1);
    assert_eq!(m.level.next_needs, vec![1]);
    let w = m.weakest_link.unwrap();
    assert_eq!(w.meeting, "executive S&OP");
    // Questions 1, 2, 3, 5 and 10 fail on it.
    assert_eq!(w.failing_answers, 5);
}

#[test]
fn unsigned_drafts_stop_at_meetings_held() {
    let mut r = perfect();
    // The demand consensus and supply plan were drafted but never signed, past their days.
    for a in [Artifact::DemandConsensus, Artifact::SupplyPlan] {
        let i = index(a);
        r.held[i].signed_roles.clear();
        r.held[i].first_signed = None;
        r.held[i].last_signed = None;
        let m = &mut r.drift.meetings[i];
        m.signed_on = None;
        m.days_off = Some((day(28) - m.planned_last).num_days());
        m.overdue = true;
    }
    let m = judge(&[r]);
    assert_eq!(m.answers[0].answer, Verdict::Yes, "drafted is held for question 1");
    assert_eq!(m.answers[1].answer, Verdict::No);
    assert_eq!(
        m.answers[1].evidence,
        "2026-12: 3 of 5 signed by their named role; not signed past their meeting: demand consensus, supply plan"
    );
    assert_eq!(m.level.level, 2);
    assert_eq!(m.level.next_needs, vec![2, 3]);
    // Demand and supply fail 2 and 3 each: a tie broken in cycle order.
    assert_eq!(m.weakest_link.unwrap().artifact, "demand_consensus");
}

#[test]
fn a_signature_by_another_role_and_a_late_moved_executive() {
    let mut r = perfect();
    // The reconciliation pack needs both leads: only the demand lead signed.
    r.held[index(Artifact::ReconciliationPack)].signed_roles = vec!["demand_lead".into()];
    // The executive S&OP signed 3 days late (the 20th).
    let e = &mut r.drift.meetings[index(Artifact::SignedPlan)];
    e.signed_on = Some(day(20));
    e.days_off = Some(3);
    r.drift.executive_moved = Some(3);
    let m = judge(&[r]);
    assert_eq!(
        m.answers[1].evidence,
        "2026-12: 4 of 5 signed by their named role; signed by another role: reconciliation pack"
    );
    assert_eq!(
        m.answers[2].evidence,
        "2026-12: 4 of 5 signed within their meeting's days; signed plan 3 days late (2026-12-20, planned 2026-12-17 to 2026-12-17)"
    );
    assert_eq!(m.answers[4].answer, Verdict::No);
    assert_eq!(m.level.level, 2);
    // Executive: 3 and 5; reconciliation: 2.
    assert_eq!(m.weakest_link.unwrap().meeting, "executive S&OP");
}

#[test]
fn a_layer_that_loses_accuracy_and_unowned_adjustments() {
    let mut r = perfect();
    let d = r.demand.as_mut().unwrap();
    d.value_added[1].1 = Some(-1.5);
    d.layers[1].unowned = 1;
    let m = judge(&[r]);
    assert_eq!(m.answers[5].answer, Verdict::No);
    assert!(
        m.answers[5].evidence.ends_with("; 1 marketing adjustment(s) without an owner"),
        "{}",
        m.answers[5].evidence
    );
    // Statistical and marketing add value, sales loses 1.5 points.
    assert_eq!(m.answers[6].answer, Verdict::Partly);
    assert_eq!(m.level.level, 4);
    assert_eq!(m.level.next_needs, vec![6, 7]);
    assert_eq!(m.weakest_link.unwrap().meeting, "demand review");
}

#[test]
fn the_first_cycle_does_not_know_last_cycles_promises() {
    let mut r = perfect();
    r.last_cycle = None;
    r.demand.as_mut().unwrap().value_added.truncate(1);
    let m = judge(&[r]);
    assert_eq!(m.answers[10].answer, Verdict::Unknown);
    assert!(m.answers[10].evidence.contains("no `last-cycle.json`"));
    assert_eq!(m.answers[6].answer, Verdict::Unknown);
    assert!(m.answers[6].evidence.contains("sales not measured yet"));
    // Unknown is not yes: level 3, and nothing fails.
    assert_eq!(m.level.level, 3);
    assert_eq!(m.level.next_needs, vec![11, 12]);
    assert_eq!(m.weakest_link, None);
}

#[test]
fn answers_over_cycles_combine_and_a_cycle_in_flight_is_not_judged_yet() {
    let good = perfect();
    let mut bad = perfect();
    bad.cycle = "2027-01".into();
    bad.capacity_resources = Some(0);
    let m = judge(&[good.clone(), bad]);
    assert_eq!(m.answers[7].answer, Verdict::Partly);
    assert_eq!(
        m.answers[7].evidence,
        "2026-12: 17 resources loaded against capacity; 2027-01: the supply review loaded no resource against capacity"
    );
    // A cycle whose meetings are all to come: nothing drafted, nothing due.
    let mut next = perfect();
    next.cycle = "2027-01".into();
    for i in 0..5 {
        next.held[i] = Held::default();
        next.drift.meetings[i].signed_on = None;
        next.drift.meetings[i].days_off = None;
    }
    next.drift.length_days = None;
    next.demand = None;
    next.capacity_resources = None;
    next.trade_offs = None;
    next.decided.clear();
    next.last_cycle = None;
    let alone = judge(&[next.clone()]);
    assert_eq!(verdicts(&alone), vec![Verdict::Unknown; 12], "{:#?}", alone.answers);
    assert_eq!(alone.level.level, 1);
    let m = judge(&[good, next]);
    assert_eq!(verdicts(&m), vec![Verdict::Yes; 12]);
    assert_eq!(m.cycle, "2027-01");
}

#[test]
fn a_log_signed_before_the_cycle_started_has_no_length() {
    let mut r = perfect();
    // Signed on 1 December, before the demand review's start on the 7th: (1 - 7) + 1 = -5.
    r.drift.length_days = Some(-5);
    r.drift.meetings[4].signed_on = Some(day(1));
    let m = judge(&[r]);
    assert_eq!(m.answers[3].answer, Verdict::Unknown);
    assert_eq!(
        m.answers[3].evidence,
        "2026-12: the commitment log was signed 2026-12-01, before the demand review's planned start (2026-12-07): no cycle length to measure"
    );
}

#[test]
fn a_reconciliation_signed_after_the_executive_fails() {
    let mut r = perfect();
    r.held[index(Artifact::ReconciliationPack)].last_signed =
        Some(Utc.with_ymd_and_hms(2026, 12, 17, 12, 0, 1).unwrap());
    let m = judge(&[r]);
    assert_eq!(m.answers[8].answer, Verdict::No);
    assert_eq!(
        m.answers[8].evidence,
        "2026-12: reconciliation pack signed 2026-12-17 12:00:01 UTC, after the signed plan (2026-12-17 12:00:00 UTC)"
    );
    assert_eq!(m.weakest_link.unwrap().meeting, "pre-S&OP reconciliation");
}
