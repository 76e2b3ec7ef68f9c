//! Cadence drift: a meeting is held when its artifact is signed. Per cycle and meeting, how many
//! days early or late that was against the calendar; the cycle's length from the demand review's
//! start to the commitment log signed, against 14 days; and whether the executive S&OP moved.
//! Pure: the signatures and "today" are inputs.

use chrono::NaiveDate;

use crate::calendar::{Calendar, MAX_CYCLE_DAYS};
use crate::contract::Month;
use crate::draft::StatusLine;
use crate::sop::Artifact;

/// One meeting against the calendar.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MeetingDrift {
    pub artifact: String,
    pub meeting: String,
    pub planned_first: NaiveDate,
    pub planned_last: NaiveDate,
    /// The local day its artifact was signed (the last signature needed).
    pub signed_on: Option<NaiveDate>,
    /// Days late (positive) or early (negative) against the meeting's days; 0 within them.
    /// Unsigned past its last day: days overdue as of today.
    pub days_off: Option<i64>,
    pub overdue: bool,
}

/// One cycle against the calendar.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CycleDrift {
    pub cycle: String,
    pub meetings: Vec<MeetingDrift>,
    /// Demand review start to the commitment log signed, calendar days, both counted.
    pub length_days: Option<i64>,
    pub max_days: i64,
    /// The executive S&OP was signed on another day than the calendar's.
    pub executive_moved: Option<i64>,
}

/// Days `d` lies outside `[first, last]`: negative before, positive after, 0 within.
pub fn days_outside(d: NaiveDate, first: NaiveDate, last: NaiveDate) -> i64 {
    if d < first {
        (d - first).num_days()
    } else if d > last {
        (d - last).num_days()
    } else {
        0
    }
}

/// The drift of `cycle`, from its status lines (as `Store::status` gives them, in
/// [`Artifact::ALL`] order) and today's date.
pub fn drift(cal: &Calendar, cycle: Month, lines: &[StatusLine], today: NaiveDate) -> CycleDrift {
    let dates = cal.cycle(cycle);
    let mut meetings = Vec::new();
    for (a, line) in Artifact::ALL.into_iter().zip(lines) {
        let m = dates.meeting(a);
        let signed_on = line
            .signatures
            .iter()
            .filter_map(|s| chrono::DateTime::parse_from_rfc3339(&s.at).ok())
            .max()
            .map(|t| cal.local_date(t.with_timezone(&chrono::Utc)));
        let (days_off, overdue) = match signed_on {
            Some(d) => (Some(days_outside(d, m.first, m.last)), false),
            None if today > m.last => (Some((today - m.last).num_days()), true),
            None => (None, false),
        };
        meetings.push(MeetingDrift {
            artifact: a.key().into(),
            meeting: a.meeting().into(),
            planned_first: m.first,
            planned_last: m.last,
            signed_on,
            days_off,
            overdue,
        });
    }
    let start = dates.meeting(Artifact::DemandConsensus).first;
    let length_days = meetings.last().and_then(|m| m.signed_on).map(|d| (d - start).num_days() + 1);
    let executive_moved =
        meetings.get(3).and_then(|m| m.signed_on.map(|_| m.days_off.unwrap_or(0))).filter(|d| *d != 0);
    CycleDrift { cycle: cycle.to_string(), meetings, length_days, max_days: MAX_CYCLE_DAYS, executive_moved }
}

/// "3 days late", "1 day early", "on time".
pub fn describe_days(days: i64) -> String {
    let plural = |n: i64| if n == 1 { "day" } else { "days" };
    match days {
        0 => "on time".into(),
        d if d > 0 => format!("{d} {} late", plural(d)),
        d => format!("{} {} early", -d, plural(-d)),
    }
}

impl CycleDrift {
    /// What slipped, for the next cycle's agendas: meetings signed off their days, a cycle over
    /// 14 days, a moved executive meeting. Empty when the cycle kept its calendar.
    pub fn slips(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .meetings
            .iter()
            .filter_map(|m| match (m.signed_on, m.days_off) {
                (Some(d), Some(off)) if off != 0 => Some(format!(
                    "cadence, {} cycle: the {} was signed {} ({d}, planned {})",
                    self.cycle,
                    m.meeting,
                    describe_days(off),
                    m.planned_last
                )),
                _ => None,
            })
            .collect();
        if let Some(len) = self.length_days.filter(|l| *l > self.max_days) {
            out.push(format!("cadence, {} cycle: it ran {len} days, over the {}", self.cycle, self.max_days));
        }
        out
    }

    /// The lines a person reads: one per meeting held or overdue, the cycle's length, a moved
    /// executive meeting.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for m in &self.meetings {
            let when = if m.planned_first == m.planned_last {
                m.planned_first.to_string()
            } else {
                format!("{} to {}", m.planned_first, m.planned_last)
            };
            match (m.signed_on, m.days_off) {
                (Some(d), Some(off)) => {
                    out.push(format!("{}: planned {when}, signed {d}: {}", m.meeting, describe_days(off)))
                }
                (None, Some(off)) => out.push(format!(
                    "{}: planned {when}, not signed: overdue by {off} day{}",
                    m.meeting,
                    if off == 1 { "" } else { "s" }
                )),
                _ => out.push(format!("{}: planned {when}", m.meeting)),
            }
        }
        if let Some(len) = self.length_days {
            let verdict = if len > self.max_days { "over" } else { "within" };
            out.push(format!("cycle length: {len} days, {verdict} the {} days", self.max_days));
        }
        if let Some(d) = self.executive_moved {
            out.push(format!(
                "the executive S&OP moved: signed {} against the calendar; the date is not negotiable",
                describe_days(d)
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::{DEMO, calendar, date, month};
    use crate::draft::SignatureRow;

    #[test]
    fn days_outside_a_window() {
        let d = |n| date(2027, 1, n);
        // The window is the 11th to the 13th: the 10th is a day early, the 16th three days late.
        assert_eq!(days_outside(d(10), d(11), d(13)), -1);
        assert_eq!(days_outside(d(12), d(11), d(13)), 0);
        assert_eq!(days_outside(d(16), d(11), d(13)), 3);
        assert_eq!(describe_days(3), "3 days late");
        assert_eq!(describe_days(-1), "1 day early");
    }

    /// Status lines with each artifact signed at the given London date-times (`None`: unsigned).
    fn lines(signed: [Option<&str>; 5]) -> Vec<StatusLine> {
        Artifact::ALL
            .into_iter()
            .zip(signed)
            .map(|(a, at)| StatusLine {
                artifact: a.key().into(),
                meeting: a.meeting().into(),
                exists: true,
                draft_id: Some(1),
                version: Some(1),
                state: Some(if at.is_some() { crate::draft::State::Signed } else { crate::draft::State::Draft }),
                signed_version: at.map(|_| 1),
                signatures: at
                    .map(|t| {
                        vec![SignatureRow {
                            actor: "x".into(),
                            role: "coo".into(),
                            at: t.into(),
                            content_sha256: String::new(),
                            ed25519: None,
                        }]
                    })
                    .unwrap_or_default(),
            })
            .collect()
    }

    #[test]
    fn two_months_with_the_second_executive_meeting_three_days_late() {
        // The demo rules (third Thursday): February 2027 runs demand 9-11, supply 12 and 15,
        // reconciliation 16-17, executive Thursday 18, commit-back 19 and 22; March 2027 the same
        // days (both months start on a Monday). February is signed on each meeting's last day; in
        // March the executive meeting is signed on Sunday the 21st, three days late, and the
        // commitment log on the 23rd, a day late: 15 days from the 9th.
        let cal = calendar(DEMO, &[], chrono_tz::Europe::London);
        let feb = drift(
            &cal,
            month("2027-02"),
            &lines([
                Some("2027-02-11T16:00:00Z"),
                Some("2027-02-15T16:00:00Z"),
                Some("2027-02-17T16:00:00Z"),
                Some("2027-02-18T10:00:00Z"),
                Some("2027-02-22T16:00:00Z"),
            ]),
            date(2027, 3, 1),
        );
        assert_eq!(feb.meetings.iter().map(|m| m.days_off).collect::<Vec<_>>(), vec![Some(0); 5]);
        assert_eq!((feb.length_days, feb.executive_moved), (Some(14), None));
        let mar = drift(
            &cal,
            month("2027-03"),
            &lines([
                Some("2027-03-11T16:00:00Z"),
                Some("2027-03-15T16:00:00Z"),
                Some("2027-03-17T16:00:00Z"),
                // Sunday 21 March, 00:30 GMT (London stays on GMT until the 28th).
                Some("2027-03-21T00:30:00Z"),
                Some("2027-03-23T09:00:00Z"),
            ]),
            date(2027, 3, 24),
        );
        assert_eq!(
            mar.lines(),
            vec![
                "demand review: planned 2027-03-09 to 2027-03-11, signed 2027-03-11: on time",
                "supply review: planned 2027-03-12 to 2027-03-15, signed 2027-03-15: on time",
                "pre-S&OP reconciliation: planned 2027-03-16 to 2027-03-17, signed 2027-03-17: on time",
                "executive S&OP: planned 2027-03-18, signed 2027-03-21: 3 days late",
                "commercial commit-back: planned 2027-03-19 to 2027-03-22, signed 2027-03-23: 1 day late",
                "cycle length: 15 days, over the 14 days",
                "the executive S&OP moved: signed 3 days late against the calendar; the date is not negotiable",
            ]
        );
        // What April's agendas say about March.
        assert_eq!(
            mar.slips(),
            vec![
                "cadence, 2027-03 cycle: the executive S&OP was signed 3 days late (2027-03-21, planned 2027-03-18)",
                "cadence, 2027-03 cycle: the commercial commit-back was signed 1 day late (2027-03-23, planned 2027-03-22)",
                "cadence, 2027-03 cycle: it ran 15 days, over the 14",
            ]
        );
        assert_eq!(feb.slips(), Vec::<String>::new(), "February kept its calendar");
    }

    #[test]
    fn an_unsigned_meeting_past_its_days_is_overdue() {
        // March 2027: the supply review ends Monday the 15th; on Thursday the 18th it is 3 days
        // overdue; the reconciliation (ends the 17th) 1 day.
        let cal = calendar(DEMO, &[], chrono_tz::UTC);
        let d = drift(
            &cal,
            month("2027-03"),
            &lines([Some("2027-03-10T12:00:00Z"), None, None, None, None]),
            date(2027, 3, 18),
        );
        let lines = d.lines();
        assert_eq!(lines[1], "supply review: planned 2027-03-12 to 2027-03-15, not signed: overdue by 3 days");
        assert_eq!(lines[2], "pre-S&OP reconciliation: planned 2027-03-16 to 2027-03-17, not signed: overdue by 1 day");
        assert_eq!(lines[3], "executive S&OP: planned 2027-03-18");
        assert_eq!(d.length_days, None);
    }
}
