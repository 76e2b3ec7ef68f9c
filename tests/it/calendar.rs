//! The cycle calendar through the binary: `snop calendar --ics` read back by an independent
//! reader (Python's `icalendar`), and `snop validate` reporting the calendar's problems with
//! file, line and key; one invite per meeting day inside its hours, with its attendees.

use std::path::{Path, PathBuf};

use crate::common::run_in;

/// A fresh workspace (`snop init` and the demo's data files, no runs).
pub fn workspace(tmp: &Path) -> PathBuf {
    let (code, _, err) = run_in(tmp, &["init", "ws"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_in(tmp, &["generate", "ws", "--skus", "30", "--customers", "10"]);
    assert_eq!(code, 0, "{err}");
    tmp.join("ws")
}

/// Python 3 with a module, or a failure that says how to install it.
pub fn python_with(module: &str) {
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "this test needs the Python package `{module}`: run `.ci/setup`, or `python3 -m pip install {module}`");
}

#[test]
fn the_ics_file_is_read_back_by_python_icalendar() {
    python_with("icalendar");
    let tmp = tempfile::tempdir().unwrap();
    let ws = workspace(tmp.path());
    let (code, out, err) = run_in(&ws, &["calendar", "--from", "2027-03", "--months", "2", "--ics", "cycle.ics"]);
    assert_eq!(code, 0, "{err}");
    // One event per meeting day: the demo's rules give 3 + 2 + 2 + 1 + 2 = 10 days a cycle.
    assert!(
        out.contains("wrote 20 event(s) to `cycle.ics`: one per meeting day, inside its hours (times in UTC)"),
        "{out}"
    );
    assert!(out.contains("executive S&OP           Thu 2027-03-18  10:00-11:00  owner the COO (Olivia Chen)"), "{out}");
    let first = fs_err::read(ws.join("cycle.ics")).unwrap();
    let (code, _, _) = run_in(&ws, &["calendar", "--from", "2027-03", "--months", "2", "--ics", "cycle.ics"]);
    assert_eq!(code, 0);
    assert_eq!(first, fs_err::read(ws.join("cycle.ics")).unwrap(), "the same calendar gives the same bytes");
    // Read by icalendar; times turned to London time by Python's zoneinfo, not by snop.
    let script = r#"
import sys, icalendar, zoneinfo
london = zoneinfo.ZoneInfo('Europe/London')
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
for e in cal.walk('VEVENT'):
    s, t = e.decoded('DTSTART').astimezone(london), e.decoded('DTEND').astimezone(london)
    att = e.get('ATTENDEE', [])
    att = att if isinstance(att, list) else [att]
    who = ', '.join('%s <%s> %s' % (a.params['CN'], a, a.params['ROLE']) for a in att)
    print(e['UID'], s.date().isoformat(), s.strftime('%a'), s.strftime('%H:%M'), t.date().isoformat(), t.strftime('%H:%M'), e['SUMMARY'], who, sep=' | ')
    print('  ' + str(e['DESCRIPTION']).replace('\n', ' / '))
"#;
    let out = std::process::Command::new("python3").arg("-c").arg(script).arg(ws.join("cycle.ics")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let events: Vec<Vec<&str>> =
        text.lines().filter(|l| !l.starts_with("  ")).map(|l| l.split(" | ").collect()).collect();
    assert_eq!(events.len(), 20, "{text}");
    for e in &events {
        assert_eq!(e[1], e[4], "an event starts and ends on the same day: {e:?}");
        assert!(!["Sat", "Sun"].contains(&e[2]), "no weekend day: {e:?}");
        assert!(e[3] >= "09:00" && e[5] <= "17:00" && e[3] < e[5], "inside the meeting hours: {e:?}");
    }
    // By hand, the demo's rules: the executive S&OP is the third Thursday (18 March 2027); the
    // demand review starts 7 working days before it (Tue 9 to Thu 11 March); the supply review
    // Fri 12 and Mon 15 (not the weekend); the commit-back Fri 19 and Mon 22. April's executive
    // is Thursday 15 April; its demand review Tue 6 to Thu 8 April (Easter Monday the 5th).
    let days = |uid_part: &str| -> Vec<String> {
        events.iter().filter(|e| e[0].contains(uid_part)).map(|e| format!("{} {}-{}", e[1], e[3], e[5])).collect()
    };
    assert_eq!(
        days("2027-03-demand-review"),
        ["2027-03-09 09:30-11:00", "2027-03-10 09:30-11:00", "2027-03-11 09:30-11:00"]
    );
    assert_eq!(days("2027-03-supply-review"), ["2027-03-12 09:30-11:00", "2027-03-15 09:30-11:00"]);
    assert_eq!(days("2027-03-executive"), ["2027-03-18 10:00-11:00"]);
    assert_eq!(days("2027-03-commit-back"), ["2027-03-19 09:30-10:30", "2027-03-22 09:30-10:30"]);
    assert_eq!(
        days("2027-04-demand-review"),
        ["2027-04-06 09:30-11:00", "2027-04-07 09:30-11:00", "2027-04-08 09:30-11:00"]
    );
    let exec = events.iter().find(|e| e[0] == "snop-2027-03-executive@my-company.snop").unwrap();
    assert_eq!(exec[6], "Executive S&OP 2027-03 (My Company)");
    // The COO chairs; the sales, supply and finance leads take part (the seed's executive S&OP).
    assert_eq!(
        exec[7],
        "Olivia Chen <mailto:olivia.chen@example.com> CHAIR, Leo Grant <mailto:leo.grant@example.com> REQ-PARTICIPANT, Sam Okafor <mailto:sam.okafor@example.com> REQ-PARTICIPANT, Fiona Reyes <mailto:fiona.reyes@example.com> REQ-PARTICIPANT"
    );
    // The commit-back: the sales lead and the five account managers `[calendar.times]` invites.
    let commit = events.iter().find(|e| e[0] == "snop-2027-03-commit-back-day2@my-company.snop").unwrap();
    assert_eq!(commit[6], "Commercial commit-back 2027-03, day 2 of 2 (My Company)");
    assert_eq!(commit[7].matches("REQ-PARTICIPANT").count(), 5, "{}", commit[7]);
    assert!(commit[7].starts_with("Leo Grant <mailto:leo.grant@example.com> CHAIR, "), "{}", commit[7]);
    let description = text.lines().nth(1).unwrap();
    assert_eq!(
        description,
        "  Owner: the demand lead (Dana Whitfield). Output: the demand consensus. / 1. Last cycle's commitments: kept, missed, re-negotiated / 2. This cycle's primary output: the demand consensus / 3. Top 3 risks or open questions / 4. What the supply review must decide, by whom and when / 5. Owner of each decision and the date it is due"
    );
}

/// `[calendar.times]` checked by `snop validate`: a start that is not a time, a length out of
/// range, an unknown attendee, a meeting past the meeting hours, each with its line and key.
#[test]
fn validate_reports_bad_meeting_times_with_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = workspace(tmp.path());
    let toml = fs_err::read_to_string(ws.join("snop.toml")).unwrap();
    let toml = toml
        .replace(
            "demand-review = { start = \"09:30\", minutes = 90 }",
            "demand-review = { start = \"9h30\", minutes = 90 }",
        )
        .replace("supply-review = { start = \"09:30\", minutes = 90 }", "supply-review = { minutes = 600 }")
        .replace(
            "executive = { start = \"10:00\", minutes = 60 }",
            "executive = { start = \"16:30\", minutes = 60, attendees = [\"plant.head\"] }",
        );
    fs_err::write(ws.join("snop.toml"), &toml).unwrap();
    let line = |key: &str| toml.lines().position(|l| l.starts_with(key)).unwrap() + 1;
    let (code, out, err) = run_in(&ws, &["validate", "--now", "2026-12-01T12:00:00Z"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        err,
        format!(
            "error: 4 problems in the workspace configuration
  - `snop.toml` line {d}, key `calendar.times.demand-review.start`: `9h30` is not a time `HH:MM`
  - `snop.toml` line {s}, key `calendar.times.supply-review.minutes`: `600` is not a length from 15 to 480 minutes
  - `snop.toml` line {x}, key `calendar.times.executive`: the executive S&OP would run 16:30 to 17:30, outside the meeting hours 09:00-17:00
hint: start it earlier, shorten it, or widen `calendar.meeting_hours`
  - `snop.toml` line {x}, key `calendar.times.executive.attendees`: `plant.head` is neither a person in `[people]` nor a role (demand_lead, supply_lead, finance_lead, sales_lead, coo, ceo)
",
            d = line("demand-review = { start"),
            x = line("executive = { start"),
            s = line("supply-review = { minutes"),
        )
    );
}

#[test]
fn validate_reports_the_calendars_problems_with_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = workspace(tmp.path());
    let (code, out, err) = run_in(&ws, &["validate", "--now", "2026-12-01T12:00:00Z"]);
    assert_eq!((code, err.as_str()), (0, ""), "the demo calendar is valid: {out}");
    // The brief's rules: first Monday for the demand review, second Thursday for the executive,
    // with New Year's Day moved onto Monday 4 January 2027.
    let toml = fs_err::read_to_string(ws.join("snop.toml")).unwrap();
    let toml = toml
        .replace(
            "demand-review = \"7 working days before the executive S&OP, 3 working days\"",
            "demand-review = \"first Monday of the month, 3 working days\"",
        )
        .replace("executive = \"third Thursday\"", "executive = \"second Thursday\"")
        .replace("\"2027-01-01 New Year's Day\"", "\"2027-01-04 New Year's Day (moved)\"");
    fs_err::write(ws.join("snop.toml"), &toml).unwrap();
    let line = |key: &str| toml.lines().position(|l| l.starts_with(key)).unwrap() + 1;
    let (code, out, err) = run_in(&ws, &["validate", "--now", "2026-12-01T12:00:00Z"]);
    assert_eq!(code, 1, "{out}");
    // By hand: December 2026 starts on a Tuesday, so the first Monday is the 7th (demand 7-9,
    // supply 10-11, reconciliation 14-15) and the second Thursday the 10th, in the middle of it.
    // January's first Monday (the 4th) is the holiday. February 2027 starts on a Monday: demand
    // 1-3, supply 4-5, reconciliation 8-9, executive Thursday 11, commit-back 12 and 15: 15 days.
    assert_eq!(
        err,
        format!(
            "error: 3 problems in the workspace configuration
  - `snop.toml` line {}, key `calendar.meetings.executive`: in the 2026-12 cycle the executive S&OP (2026-12-10) starts before the pre-S&OP reconciliation ends (2026-12-15): meetings must follow the cycle's order
  - `snop.toml` line {}, key `calendar.meetings.demand-review`: the demand review of the 2027-01 cycle falls on 2027-01-04 (Mon), a holiday (New Year's Day (moved)): it would move to 2027-01-05 (Tue)
hint: choose a rule that avoids it, or hold the meeting on the holiday by removing it from `calendar.holidays`
  - `snop.toml` line {}, key `calendar.meetings`: the 2027-02 cycle runs 15 calendar days (2027-02-01 to 2027-02-15), more than 14: decisions go stale
hint: shorten a meeting or start the demand review later
",
            line("executive ="),
            line("demand-review ="),
            line("[calendar.meetings]"),
        )
    );
}

/// `snop calendar | head -1`: the reader closes the pipe after one line, and snop, with far more
/// than a pipe's buffer still to print, ends quietly with exit 0 instead of panicking.
#[test]
fn a_closed_stdout_ends_quietly() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run_in(tmp.path(), &["init", "ws"]);
    assert_eq!(code, 0, "{err}");
    let mut child = crate::common::snop()
        .current_dir(tmp.path().join("ws"))
        .args(["calendar", "--months", "600", "--from", "2026-01"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.contains("cycle calendar"), "{first}");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
