//! Calendar cases checked by hand against a wall calendar (the weekday of each month's 1st is
//! noted beside each case).

use super::*;

pub(crate) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub(crate) fn month(s: &str) -> Month {
    s.parse().unwrap()
}

/// A calendar from five rules, Monday to Friday, 09:00-17:00 in `tz`.
pub(crate) fn calendar(rules: [&str; 5], holidays: &[(NaiveDate, &str)], tz: chrono_tz::Tz) -> Calendar {
    let hours = (NaiveTime::from_hms_opt(9, 0, 0).unwrap(), NaiveTime::from_hms_opt(17, 0, 0).unwrap());
    Calendar {
        timezone: tz,
        working_days: [true, true, true, true, true, false, false],
        holidays: holidays.iter().map(|(d, n)| (*d, n.to_string())).collect(),
        rules: rules.map(|r| Rule::parse(r).unwrap()),
        hours,
        slots: Artifact::ALL.map(|a| Slot::default_for(a, hours)),
        nightly_at: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
    }
}

/// The brief's rules: demand review the first Monday, executive the second Thursday.
const FIRST_MONDAY: [&str; 5] = [
    "first Monday of the month, 3 working days",
    "next working day, 2 working days",
    "next working day, 3 working days",
    "second Thursday",
    "next working day, 2 working days",
];

fn days(c: &Cycle) -> Vec<(NaiveDate, NaiveDate)> {
    c.meetings.iter().map(|m| (m.first, m.last)).collect()
}

#[test]
fn rules_in_planners_words() {
    let r = Rule::parse("First Monday of the month, 3 working days").unwrap();
    assert_eq!(r.anchor, Anchor::Fixed(WeekdayOfMonth { nth: 1, weekday: Weekday::Mon }));
    assert_eq!(r.working_days, 3);
    assert_eq!(Rule::parse("second Thursday").unwrap().working_days, 1);
    assert_eq!(
        Rule::parse("8 working days before the executive S&OP, 3 working days").unwrap().anchor,
        Anchor::Before(8, Artifact::SignedPlan)
    );
    assert_eq!(Rule::parse("the next working day").unwrap().anchor, Anchor::Next);
    for (name, artifact) in [
        ("the pre-S&OP reconciliation", Artifact::ReconciliationPack),
        ("reconciliation", Artifact::ReconciliationPack),
        ("Commercial commit-back", Artifact::CommitmentLog),
        ("commit-back", Artifact::CommitmentLog),
        ("exec S&OP", Artifact::SignedPlan),
    ] {
        assert_eq!(meeting_named(name.strip_prefix("the ").unwrap_or(name)), Some(artifact), "{name}");
    }
    let e = Rule::parse("first Mondai").unwrap_err();
    assert!(e.starts_with("`Mondai` is not a day of the week"), "{e}");
    let e = Rule::parse("next working day, three days").unwrap_err();
    assert!(e.starts_with("`three` is not a number of working days"), "{e}");
    let e = Rule::parse("2 working days before the board").unwrap_err();
    assert!(e.starts_with("`board` is not a meeting"), "{e}");
}

#[test]
fn a_month_starting_on_a_monday() {
    // February 2027: the 1st is a Monday. Demand Mon 1-Wed 3, supply Thu 4-Fri 5, reconciliation
    // Mon 8-Wed 10, executive Thu 11 (the second Thursday), commit-back Fri 12-Mon 15.
    let c = calendar(FIRST_MONDAY, &[], chrono_tz::UTC).cycle(month("2027-02"));
    assert_eq!(
        days(&c),
        vec![
            (date(2027, 2, 1), date(2027, 2, 3)),
            (date(2027, 2, 4), date(2027, 2, 5)),
            (date(2027, 2, 8), date(2027, 2, 10)),
            (date(2027, 2, 11), date(2027, 2, 11)),
            (date(2027, 2, 12), date(2027, 2, 15)),
        ]
    );
    assert_eq!(c.length_days(), 15, "1 to 15 February, both counted");
}

#[test]
fn a_month_starting_on_a_sunday_puts_the_executive_inside_the_demand_review() {
    // November 2026: the 1st is a Sunday. First Monday is the 2nd (demand 2-4), supply Thu 5-Fri 6,
    // reconciliation Mon 9-Wed 11; the second Thursday is the 12th.
    let cal = calendar(FIRST_MONDAY, &[], chrono_tz::UTC);
    let c = cal.cycle(month("2026-11"));
    assert_eq!(c.meeting(Artifact::DemandConsensus).first, date(2026, 11, 2));
    assert_eq!(c.meeting(Artifact::SignedPlan).first, date(2026, 11, 12));
    // December 2026 starts on a Tuesday: the first Monday is the 7th and the second Thursday the
    // 10th, inside the demand review (7-9 ends, supply 10-11): out of order.
    let c = cal.cycle(month("2026-12"));
    assert_eq!(c.meeting(Artifact::DemandConsensus).first, date(2026, 12, 7));
    assert_eq!(c.meeting(Artifact::SignedPlan).first, date(2026, 12, 10));
    let problems = cal.check(&[month("2026-11"), month("2026-12")]);
    let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    assert!(
        messages.iter().any(|m| m.starts_with(
            "in the 2026-12 cycle the executive S&OP (2026-12-10) starts before the pre-S&OP reconciliation ends"
        )),
        "{messages:#?}"
    );
}

#[test]
fn a_holiday_on_the_first_monday_moves_the_meeting_and_is_reported() {
    // January 2027: the 1st is a Friday, the first Monday the 4th, here a plant holiday: the demand
    // review moves to Tue 5-Thu 7, supply Fri 8-Mon 11.
    let cal = calendar(FIRST_MONDAY, &[(date(2027, 1, 4), "Plant shutdown")], chrono_tz::UTC);
    let c = cal.cycle(month("2027-01"));
    let demand = c.meeting(Artifact::DemandConsensus);
    assert_eq!(
        (demand.first, demand.last, demand.moved_from),
        (date(2027, 1, 5), date(2027, 1, 7), Some(date(2027, 1, 4)))
    );
    assert_eq!(c.meeting(Artifact::SupplyPlan).first, date(2027, 1, 8));
    let problems = cal.check(&[month("2027-01")]);
    assert_eq!(problems[0].artifact, Some(Artifact::DemandConsensus));
    assert!(
        problems[0].message.starts_with(
            "the demand review of the 2027-01 cycle falls on 2027-01-04 (Mon), a holiday (Plant shutdown): it would move to 2027-01-05 (Tue)"
        ),
        "{}",
        problems[0].message
    );
}

#[test]
fn a_leap_february() {
    // February 2028 has 29 days; the 1st is a Tuesday, so the last Monday is the 28th and the last
    // Tuesday the 29th. A 3-day demand review from the last Monday runs Mon 28, Tue 29, Wed 1 March.
    let cal = calendar(
        [
            "last Monday, 3 working days",
            "next working day, 1 working day",
            "next working day",
            "last Tuesday",
            "next working day",
        ],
        &[],
        chrono_tz::UTC,
    );
    let c = cal.cycle(month("2028-02"));
    assert_eq!(c.meeting(Artifact::DemandConsensus).last, date(2028, 3, 1), "the 29th is a working day in a leap year");
    assert_eq!(c.meeting(Artifact::SignedPlan).first, date(2028, 2, 29));
    // In 2027 (not leap) the last Tuesday of February is the 23rd.
    assert_eq!(cal.cycle(month("2027-02")).meeting(Artifact::SignedPlan).first, date(2027, 2, 23));
}

#[test]
fn a_change_of_daylight_saving_time_keeps_local_hours() {
    // London springs forward on Sunday 28 March 2027: 09:00 local is 09:00Z on Friday the 26th and
    // 08:00Z on Monday the 29th.
    let cal = calendar(FIRST_MONDAY, &[], chrono_tz::Europe::London);
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    assert_eq!(cal.to_utc(date(2027, 3, 26), nine).to_rfc3339(), "2027-03-26T09:00:00+00:00");
    assert_eq!(cal.to_utc(date(2027, 3, 29), nine).to_rfc3339(), "2027-03-29T08:00:00+00:00");
    // 01:30 on the 28th does not exist: read an hour later, 02:30 BST = 01:30Z.
    let gap = NaiveTime::from_hms_opt(1, 30, 0).unwrap();
    assert_eq!(cal.to_utc(date(2027, 3, 28), gap).to_rfc3339(), "2027-03-28T01:30:00+00:00");
    // In the .ics: the March 2027 cycle starts Monday 1 March (GMT, 09:00Z); April's on Thursday
    // 1 April... the first Monday of April 2027 is the 5th, in BST: 08:00Z.
    let ics =
        cal.ics("Acme", &cal.cycles(month("2027-03"), 2), Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap(), &|_| {
            Invitees { owner: "Dana".into(), organizer: None, attendees: vec![] }
        });
    assert!(ics.contains("DTSTART:20270301T090000Z\r\n"), "{ics}");
    assert!(ics.contains("DTSTART:20270405T080000Z\r\n"), "{ics}");
}

#[test]
fn the_executive_meeting_must_keep_its_weekday_of_month() {
    // An executive meeting that just follows the reconciliation drifts with the month's start.
    let cal = calendar(
        [
            "first Monday, 3 working days",
            "next working day, 2 working days",
            "next working day, 3 working days",
            "next working day",
            "next working day",
        ],
        &[],
        chrono_tz::UTC,
    );
    // Feb 2027: demand 1-3, supply 4-5, reconciliation 8-10, executive Thu 11 (second Thursday).
    // Mar 2027 (1st a Monday too): executive Thu 11, second Thursday. Apr 2027 (1st a Thursday):
    // first Monday the 5th, demand 5-7, supply 8-9, reconciliation 12-14, executive Thu 15, the
    // third Thursday.
    let months = [month("2027-02"), month("2027-03"), month("2027-04")];
    assert_eq!(cal.cycle(months[2]).meeting(Artifact::SignedPlan).first, date(2027, 4, 15));
    let problems = cal.check(&months);
    let exec: Vec<&CalendarProblem> = problems.iter().filter(|p| p.artifact == Some(Artifact::SignedPlan)).collect();
    assert_eq!(exec.len(), 1, "{problems:#?}");
    assert!(
        exec[0]
            .message
            .starts_with("the executive S&OP is the second Thu in 2027-02 but the third Thu in 2027-04 (2027-04-15)"),
        "{}",
        exec[0].message
    );
}

#[test]
fn a_cycle_longer_than_fourteen_days_is_reported() {
    // February 2027 with the brief's rules runs 1 to 15 February: 15 days.
    let cal = calendar(FIRST_MONDAY, &[], chrono_tz::UTC);
    let problems = cal.check(&[month("2027-02")]);
    assert!(
        problems.iter().any(|p| p.artifact.is_none()
            && p.message
                .starts_with("the 2027-02 cycle runs 15 calendar days (2027-02-01 to 2027-02-15), more than 14")),
        "{problems:#?}"
    );
}

/// The demo workspace's rules.
pub(crate) const DEMO: [&str; 5] = [
    "7 working days before the executive S&OP, 3 working days",
    "next working day, 2 working days",
    "next working day, 2 working days",
    "third Thursday",
    "next working day, 2 working days",
];

#[test]
fn the_demo_rules_hold_for_a_year_of_uk_holidays() {
    // Third Thursday as the fixed point, the rest laid around it: 14 days every month, nothing on
    // a holiday, in order, the executive always the third Thursday.
    let holidays = [
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 28), "Boxing Day (substitute)"),
        (date(2027, 1, 1), "New Year's Day"),
        (date(2027, 4, 2), "Good Friday"),
        (date(2027, 4, 5), "Easter Monday"),
        (date(2027, 5, 3), "Early May bank holiday"),
        (date(2027, 5, 31), "Spring bank holiday"),
        (date(2027, 8, 30), "Summer bank holiday"),
    ];
    let cal = calendar(DEMO, &holidays, chrono_tz::Europe::London);
    let months: Vec<Month> = (0..13).map(|i| month("2026-12").plus(i)).collect();
    assert_eq!(cal.check(&months), vec![]);
    // April 2027: the third Thursday is the 15th; 7 working days back is Tuesday the 6th (Easter
    // Monday the 5th is before it): demand 6-8, supply Fri 9 and Mon 12, reconciliation 13-14,
    // executive 15, commit-back Fri 16 and Mon 19: 14 days.
    let april = cal.cycle(month("2027-04"));
    assert_eq!(
        days(&april),
        vec![
            (date(2027, 4, 6), date(2027, 4, 8)),
            (date(2027, 4, 9), date(2027, 4, 12)),
            (date(2027, 4, 13), date(2027, 4, 14)),
            (date(2027, 4, 15), date(2027, 4, 15)),
            (date(2027, 4, 16), date(2027, 4, 19)),
        ]
    );
    assert_eq!(april.length_days(), 14);
}

#[test]
fn ics_lines_are_escaped_and_folded() {
    assert_eq!(escape("a, b; c\nd\\"), "a\\, b\\; c\\nd\\\\");
    let long = "DESCRIPTION:".to_string() + &"é".repeat(40);
    let folded = fold(&long);
    assert!(folded.split("\r\n").all(|l| l.len() <= 75), "{folded}");
    assert_eq!(folded.replace("\r\n ", "").trim_end(), long);
}

#[test]
fn weekday_rules() {
    let r = WeekdayOfMonth::parse("first Monday").unwrap();
    // 2026-06-01 is a Monday; 2026-11-01 is a Sunday.
    assert_eq!(r.in_month(Month::parse("2026-06").unwrap()).to_string(), "2026-06-01");
    assert_eq!(r.in_month(Month::parse("2026-11").unwrap()).to_string(), "2026-11-02");
    let last = WeekdayOfMonth::parse("last Friday").unwrap();
    assert_eq!(last.in_month(Month::parse("2026-02").unwrap()).to_string(), "2026-02-27");
    let second = WeekdayOfMonth::parse("Second thursday").unwrap();
    assert_eq!(second.in_month(Month::parse("2026-10").unwrap()).to_string(), "2026-10-08");
    assert!(WeekdayOfMonth::parse("fifth Monday").is_err());
    assert!(WeekdayOfMonth::parse("first Mondai").is_err());
}

/// The events of an `.ics` text, read with plain string handling (unfolded lines, one map per
/// VEVENT, ATTENDEE lines kept in order).
fn events(ics: &str) -> Vec<BTreeMap<String, Vec<String>>> {
    let unfolded = ics.replace("\r\n ", "");
    let mut out = Vec::new();
    let mut current: Option<BTreeMap<String, Vec<String>>> = None;
    for line in unfolded.split("\r\n") {
        match line {
            "BEGIN:VEVENT" => current = Some(BTreeMap::new()),
            "END:VEVENT" => out.extend(current.take()),
            _ => {
                if let (Some(e), Some((name, value))) = (current.as_mut(), line.split_once(':')) {
                    let name = name.split(';').next().unwrap().to_string();
                    e.entry(name).or_default().push(line[line.len() - value.len()..].to_string());
                }
            }
        }
    }
    out
}

#[test]
fn one_event_per_meeting_day_inside_its_slot_with_its_attendees() {
    // March 2027 starts on a Monday (GMT until the 28th). By hand: demand review Mon 1 to Wed 3,
    // supply review Thu 4 and Fri 5, reconciliation Mon 8 to Wed 10, executive Thursday 11,
    // commit-back Friday 12 and Monday 15 (not the weekend between): 3 + 2 + 3 + 1 + 2 = 11.
    let mut cal = calendar(FIRST_MONDAY, &[], chrono_tz::Europe::London);
    cal.slots[3] = Slot { start: NaiveTime::from_hms_opt(10, 0, 0).unwrap(), minutes: 60, attendees: vec![] };
    let cycles = cal.cycles(month("2027-03"), 1);
    let invitees = |a: Artifact| Invitees {
        owner: format!("the owner of the {}", a.title()),
        organizer: Some(("Olivia Chen".into(), "olivia@example.com".into())),
        attendees: vec![
            Attendee { name: "Olivia Chen".into(), email: Some("olivia@example.com".into()), chair: true },
            Attendee { name: "Plant Head, Leeds".into(), email: None, chair: false },
        ],
    };
    let ics = cal.ics("Acme", &cycles, Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap(), &invitees);
    let evs = events(&ics);
    assert_eq!(evs.len(), 11, "{ics}");
    assert_eq!(cal.event_count(&cycles), 11);
    let field = |e: &BTreeMap<String, Vec<String>>, k: &str| e[k][0].clone();
    let spans: Vec<(String, String)> = evs.iter().map(|e| (field(e, "DTSTART"), field(e, "DTEND"))).collect();
    let by_hand = [
        ("20270301T090000Z", "20270301T103000Z"),
        ("20270302T090000Z", "20270302T103000Z"),
        ("20270303T090000Z", "20270303T103000Z"),
        ("20270304T090000Z", "20270304T103000Z"),
        ("20270305T090000Z", "20270305T103000Z"),
        ("20270308T090000Z", "20270308T103000Z"),
        ("20270309T090000Z", "20270309T103000Z"),
        ("20270310T090000Z", "20270310T103000Z"),
        ("20270311T100000Z", "20270311T110000Z"),
        ("20270312T090000Z", "20270312T100000Z"),
        ("20270315T090000Z", "20270315T100000Z"),
    ];
    assert_eq!(spans, by_hand.map(|(a, b)| (a.to_string(), b.to_string())));
    let uids: Vec<String> = evs.iter().map(|e| field(e, "UID")).collect();
    assert_eq!(uids[0], "snop-2027-03-demand-review@acme.snop", "day 1 keeps the meeting's UID");
    assert_eq!(uids[2], "snop-2027-03-demand-review-day3@acme.snop");
    assert_eq!(uids.iter().collect::<std::collections::BTreeSet<_>>().len(), 11, "every UID differs");
    assert_eq!(field(&evs[10], "SUMMARY"), "Commercial commit-back 2027-03\\, day 2 of 2 (Acme)");
    assert_eq!(field(&evs[8], "SUMMARY"), "Executive S&OP 2027-03 (Acme)");
    assert_eq!(evs[8]["ATTENDEE"], ["mailto:olivia@example.com".to_string(), "invalid:nomail".to_string()], "{ics}");
    let unfolded = ics.replace("\r\n ", "");
    assert!(
        unfolded.contains("ATTENDEE;CN=Olivia Chen;ROLE=CHAIR;PARTSTAT=NEEDS-ACTION:mailto:olivia@example.com\r\n")
    );
    assert!(unfolded.contains("ATTENDEE;CN=\"Plant Head, Leeds\";ROLE=REQ-PARTICIPANT;"), "{ics}");
}

#[test]
fn a_slot_ends_the_same_day_or_not_at_all() {
    let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
    assert_eq!(Slot { start: at(9, 30), minutes: 90, attendees: vec![] }.end(), Some(at(11, 0)));
    assert_eq!(Slot { start: at(23, 30), minutes: 60, attendees: vec![] }.end(), None);
    assert_eq!(default_minutes(Artifact::SignedPlan), 60, "the seed: 60 minutes at most");
    let hours = (at(9, 0), at(17, 0));
    assert!(Slot { start: at(16, 0), minutes: 60, attendees: vec![] }.inside(hours), "ends at 17:00 sharp");
    assert!(!Slot { start: at(16, 30), minutes: 60, attendees: vec![] }.inside(hours));
    assert!(!Slot { start: at(8, 45), minutes: 30, attendees: vec![] }.inside(hours));
}
