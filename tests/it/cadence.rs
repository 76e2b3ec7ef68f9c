//! Cadence drift through the binary: signatures made now against an old cycle's calendar are
//! reported late by the days between, in `snop status` and `snop cadence`.

use snop::config::Workspace;
use snop::draft::Request;
use snop::sop::Artifact;

use crate::calendar::workspace;
use crate::common::{block_on, run_in};
use crate::signoff::record;

#[test]
fn status_and_cadence_report_meetings_signed_late() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = workspace(tmp.path());
    let dir = Workspace::load(&ws).unwrap().directory();
    // The June 2026 cycle by the demo rules (June 1 is a Monday): the third Thursday is the
    // 18th; 7 working days before it is Tuesday the 9th, so the demand review runs 9-11 June.
    block_on(async {
        let store = snop::store::Store::open(&ws, "sqlite://snop.db").await.unwrap();
        for (artifact, who) in [(Artifact::DemandConsensus, "dana.whitfield"), (Artifact::SignedPlan, "olivia.chen")] {
            let run = record(&store, artifact, "2026-06", "June").await;
            let id = store.draft_of_run(run.id).await.unwrap().unwrap().id;
            store.act(&dir, id, who, Request::Approve, Some(1)).await.unwrap();
            store.act(&dir, id, who, Request::Sign, Some(2)).await.unwrap();
        }
    });
    // Signed today (London), so late by the days since the meetings' last days.
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::London).date_naive();
    let late = |last: &str| (today - last.parse::<chrono::NaiveDate>().unwrap()).num_days();
    let (code, out, err) = run_in(&ws, &["status", "--cycle", "2026-06"]);
    assert_eq!(code, 0, "{err}");
    for line in [
        format!("  demand review: planned 2026-06-09 to 2026-06-11, signed {today}: {} days late", late("2026-06-11")),
        format!("  executive S&OP: planned 2026-06-18, signed {today}: {} days late", late("2026-06-18")),
        format!(
            "  the executive S&OP moved: signed {} days late against the calendar; the date is not negotiable",
            late("2026-06-18")
        ),
        "missing: the pre-S&OP reconciliation (2026-06-16 to 2026-06-17) has no artifact".to_string(),
    ] {
        assert!(out.contains(&line), "`{line}` in:\n{out}");
    }
    let (code, out, err) = run_in(&ws, &["cadence"]);
    assert_eq!(code, 0, "{err}");
    let row = out.lines().find(|l| l.starts_with("2026-06")).expect(&out);
    let cells: Vec<&str> = row.split_whitespace().collect();
    // Demand signed late; supply and reconciliation not signed and overdue (`!`); executive late.
    assert_eq!(cells[1], format!("+{}", late("2026-06-11")), "{out}");
    assert_eq!(cells[2], format!("+{}!", late("2026-06-15")), "{out}");
    assert_eq!(cells[4], format!("+{}", late("2026-06-18")), "{out}");
    assert!(row.ends_with(&format!("moved ({} days late)", late("2026-06-18"))), "{out}");
}

#[test]
fn the_next_cycles_agenda_says_the_executive_meeting_slipped() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = workspace(tmp.path());
    let dir = Workspace::load(&ws).unwrap().directory();
    // November 2026 by the demo rules (the 1st is a Sunday): the third Thursday is the 19th.
    // Its signed plan is signed today, later than that.
    block_on(async {
        let store = snop::store::Store::open(&ws, "sqlite://snop.db").await.unwrap();
        let run = record(&store, Artifact::SignedPlan, "2026-11", "November").await;
        let id = store.draft_of_run(run.id).await.unwrap().unwrap().id;
        store.act(&dir, id, "olivia.chen", Request::Approve, Some(1)).await.unwrap();
        store.act(&dir, id, "olivia.chen", Request::Sign, Some(2)).await.unwrap();
    });
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::London).date_naive();
    let late = (today - chrono::NaiveDate::from_ymd_opt(2026, 11, 19).unwrap()).num_days();
    let (code, _, err) = run_in(&ws, &["run", "demand-review", "--cycle", "2026-12", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    let (code, page, err) = run_in(&ws, &["drafts", "show", "2", "--markdown"]);
    assert_eq!(code, 0, "{err}");
    let line = format!(
        "cadence, 2026-11 cycle: the executive S&OP was signed {late} day{} late ({today}, planned 2026-11-19)",
        if late == 1 { "" } else { "s" }
    );
    // In "This cycle's output", as the page escapes it.
    assert!(page.contains(&format!("- {}\n", line.replace('&', "&amp;"))), "`{line}` in:\n{page}");
}
