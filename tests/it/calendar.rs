//! The cycle calendar through the binary: `snop calendar --ics` read back by an independent
//! reader (Python's `icalendar`), and `snop validate` reporting the calendar's problems with
//! file, line and key.

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
    assert!(out.contains("wrote 10 event(s) to `cycle.ics` (times in UTC)"), "{out}");
    let first = fs_err::read(ws.join("cycle.ics")).unwrap();
    let (code, _, _) = run_in(&ws, &["calendar", "--from", "2027-03", "--months", "2", "--ics", "cycle.ics"]);
    assert_eq!(code, 0);
    assert_eq!(first, fs_err::read(ws.join("cycle.ics")).unwrap(), "the same calendar gives the same bytes");
    let script = r#"
import sys, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
for e in cal.walk('VEVENT'):
    s, t = e.decoded('DTSTART'), e.decoded('DTEND')
    print(e['UID'], s.isoformat(), t.isoformat(), e['SUMMARY'], str(e.get('ORGANIZER', '')), sep=' | ')
    print('  ' + str(e['DESCRIPTION']).replace('\n', ' / '))
"#;
    let out = std::process::Command::new("python3").arg("-c").arg(script).arg(ws.join("cycle.ics")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let events: Vec<&str> = text.lines().filter(|l| !l.starts_with("  ")).collect();
    assert_eq!(events.len(), 10, "{text}");
    // The demo's rules, by hand: the executive S&OP is the third Thursday (18 March 2027,
    // 15 April); the demand review starts 7 working days before it (Tue 9 March; Tue 6 April,
    // Easter Monday the 5th being before it). 09:00 London is 09:00Z in March before the clocks
    // change on the 28th, and 08:00Z in April.
    assert_eq!(
        events[0],
        "snop-2027-03-demand-review@my-company.snop | 2027-03-09T09:00:00+00:00 | 2027-03-11T17:00:00+00:00 | Demand review 2027-03 (My Company) | mailto:dana.whitfield@example.com"
    );
    assert_eq!(
        events[3],
        "snop-2027-03-executive@my-company.snop | 2027-03-18T09:00:00+00:00 | 2027-03-18T17:00:00+00:00 | Executive S&OP 2027-03 (My Company) | mailto:olivia.chen@example.com"
    );
    assert!(events[5].contains("| 2027-04-06T08:00:00+00:00 | 2027-04-08T16:00:00+00:00 |"), "{}", events[5]);
    let description = text.lines().nth(1).unwrap();
    assert_eq!(
        description,
        "  Owner: the demand lead (Dana Whitfield). Output: the demand consensus. / 1. Last cycle's commitments: kept, missed, re-negotiated / 2. This cycle's primary output: the demand consensus / 3. Top 3 risks or open questions / 4. What the supply review must decide, by whom and when / 5. Owner of each decision and the date it is due"
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
