//! Nightly runs across a simulated week 1 of the demo calendar's December 2026 cycle (the clock
//! is `--now`): the demand review runs 8 to 10 December and the supply review 11 and 14 December
//! (7 working days before the third Thursday, the 17th). Run twice the same night, a night killed
//! mid-run, a failing agent, a missed night caught up; and the lock.

use std::path::Path;

use crate::calendar::workspace;
use crate::common::{run_in, snop};

/// Runs `snop nightly --now NOW --json`; returns the exit code, the report and stderr.
fn night(ws: &Path, now: &str) -> (i32, serde_json::Value, String) {
    let (code, out, err) = run_in(ws, &["nightly", "--now", now, "--json", "--quiet"]);
    let report = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
    (code, report, err)
}

/// (agent, outcome) of each agent run in a night's report.
fn outcomes(report: &serde_json::Value) -> Vec<(String, String)> {
    report["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["agent"].as_str().unwrap().to_string(), a["outcome"].as_str().unwrap().to_string()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

fn run_count(ws: &Path) -> usize {
    let (_, runs, _) = run_in(ws, &["runs", "--json"]);
    serde_json::from_str::<serde_json::Value>(&runs).unwrap().as_array().unwrap().len()
}

/// A new open purchase order (an input of the supply review only).
fn new_purchase_order(ws: &Path, qty: u32) {
    let path = ws.join("data/open_purchase_orders.csv");
    let mut text = fs_err::read_to_string(&path).unwrap();
    text.push_str(&format!("RM-00001,SUP-CASTWORKS,2027-02-15,{qty}\n"));
    fs_err::write(&path, text).unwrap();
}

#[test]
fn a_simulated_week_one() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = workspace(tmp.path());

    // Tuesday 8 December, 02:30 London (GMT = UTC): the first night drafts both.
    let (code, r, err) = night(&ws, "2026-12-08T02:30:00Z");
    assert_eq!(code, 0, "{err}");
    assert_eq!(outcomes(&r), pairs(&[("demand-review", "recorded"), ("supply-review", "recorded")]));
    assert_eq!(run_count(&ws), 2);
    // The same night again: nothing changed, nothing written.
    let (code, r, err) = night(&ws, "2026-12-08T04:00:00Z");
    assert_eq!(code, 0, "{err}");
    assert_eq!(outcomes(&r), pairs(&[("demand-review", "unchanged"), ("supply-review", "unchanged")]));
    assert_eq!(run_count(&ws), 2, "an unchanged night writes no run");

    // Wednesday 9th: a new purchase order; the run is killed after its first agent.
    new_purchase_order(&ws, 500);
    let out = snop()
        .current_dir(&ws)
        .args(["nightly", "--now", "2026-12-09T02:30:00Z", "--quiet"])
        .env("SNOP_FAIL_AT", "nightly.after_agent")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(ws.join("nightly.lock").exists(), "the killed run left its lock behind");
    assert_eq!(run_count(&ws), 2, "the demand review was unchanged and the supply review never ran");

    // Thursday 10th: the stale lock is taken over, the 9th is caught up, the supply review runs.
    let (code, r, err) = night(&ws, "2026-12-10T02:30:00Z");
    assert_eq!(code, 0, "{err}");
    assert!(r["recovered_lock"].as_str().unwrap().starts_with("PID "), "{r}");
    assert_eq!(r["caught_up"], serde_json::json!(["2026-12-09"]));
    assert_eq!(outcomes(&r), pairs(&[("demand-review", "unchanged"), ("supply-review", "recorded")]));
    assert!(!ws.join("nightly.lock").exists(), "a finished run releases its lock");

    // Friday 11th: the CRM extract is broken, so the demand review fails; the supply review
    // still runs (a new purchase order) and the exit code tells the scheduler.
    // The failure is also posted to the planning channel's webhook.
    let (hook_port, hooks) = crate::notify::webhook_receiver();
    let mut toml = fs_err::read_to_string(ws.join("snop.toml")).unwrap();
    toml.push_str(&format!("\n[[notify.webhooks]]\nname = \"planning\"\nurl = \"http://127.0.0.1:{hook_port}/\"\n"));
    fs_err::write(ws.join("snop.toml"), toml).unwrap();
    let crm = ws.join("data/crm/pipeline.csv");
    let good = fs_err::read_to_string(&crm).unwrap();
    fs_err::write(&crm, good.replace("probability", "prob")).unwrap();
    new_purchase_order(&ws, 600);
    let (code, out, err) = run_in(&ws, &["nightly", "--now", "2026-12-11T02:30:00Z", "--quiet"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.contains("demand-review   2026-12 failed"), "{out}");
    assert!(out.contains("supply-review   2026-12 recorded  run 4"), "{out}");
    assert!(
        err.contains("\nerror: 1 of 2 agent run(s) failed tonight: demand-review (2026-12); the others ran"),
        "{err}"
    );
    let posts = hooks.lock().unwrap().clone();
    let failed: Vec<&str> = posts
        .iter()
        .filter_map(|p| p["text"].as_str())
        .filter(|t| t.starts_with("Nightly run failed: demand-review for 2026-12"))
        .collect();
    assert_eq!(failed.len(), 1, "{posts:?}");
    for line in ["missing column `probability`", "For: Dana Whitfield", "By: 2026-12-10"] {
        assert!(failed[0].contains(line), "`{line}` in {}", failed[0]);
    }
    fs_err::write(&crm, good).unwrap();

    // Nights 12 to 15 are missed (the machine was off). On Wednesday 16th week 1 is over and
    // nothing is due for that night alone, but Monday 14th (the supply review's second day) is
    // caught up with the purchase order that came in meanwhile.
    new_purchase_order(&ws, 700);
    let (code, r, err) = night(&ws, "2026-12-16T02:30:00Z");
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["caught_up"], serde_json::json!(["2026-12-12", "2026-12-13", "2026-12-14", "2026-12-15"]));
    assert_eq!(outcomes(&r), pairs(&[("demand-review", "unchanged"), ("supply-review", "recorded")]));
    // Thursday 17th: nothing missed, nothing due (the later agents wait for signatures).
    let (code, out, err) = run_in(&ws, &["nightly", "--now", "2026-12-17T02:30:00Z"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "night of 2026-12-17\n  nothing is due tonight by the calendar\n");
}

#[test]
fn a_live_lock_stops_a_second_run_and_an_expired_one_is_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = workspace(tmp.path());
    let host = fs_err::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or("localhost".into());
    // The lock's age is the real clock's, whatever night `--now` asks for.
    let ago = |hours: i64| {
        (chrono::Utc::now() - chrono::Duration::hours(hours)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    // This test's own process holds it, started an hour ago: alive and within its lease.
    let started = ago(1);
    let lock = serde_json::json!({"pid": std::process::id(), "host": host, "started_at": started});
    fs_err::write(ws.join("nightly.lock"), lock.to_string()).unwrap();
    let (code, out, err) = run_in(&ws, &["nightly", "--now", "2026-12-17T02:30:00Z"]);
    assert_eq!(code, 75, "{out}{err}");
    assert!(
        err.starts_with(&format!(
            "error: another nightly run holds the lock since {started} (PID {} on {host}): nothing was run",
            std::process::id()
        )),
        "{err}"
    );
    // A replay of a night long after (or before) the lock's start does not make it stale: on
    // another machine (its PID cannot be checked), an hour old by the real clock, it holds.
    let lock = serde_json::json!({"pid": 1, "host": "elsewhere", "started_at": ago(1)});
    fs_err::write(ws.join("nightly.lock"), lock.to_string()).unwrap();
    for now in ["2027-06-17T02:30:00Z", "2025-01-02T02:30:00Z"] {
        let (code, out, err) = run_in(&ws, &["nightly", "--now", now]);
        assert_eq!(code, 75, "a replay at {now} took over a live lock: {out}{err}");
    }
    // Started 7 hours ago by the real clock: past the 6-hour lease, taken over.
    let started = ago(7);
    let lock = serde_json::json!({"pid": 1, "host": "elsewhere", "started_at": started});
    fs_err::write(ws.join("nightly.lock"), lock.to_string()).unwrap();
    let (code, out, err) = run_in(&ws, &["nightly", "--now", "2026-12-17T02:30:00Z"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("took over a stale lock (PID 1 on elsewhere since {started})")), "{out}");
}

#[test]
fn schedule_install_writes_systemd_units_and_prints_a_crontab_line() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = workspace(tmp.path());
    let root = fs_err::canonicalize(&ws).unwrap();
    let exe = env!("CARGO_BIN_EXE_snop");
    let (code, out, err) = run_in(&ws, &["schedule", "install", "--systemd", "--dir", "units"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("systemctl --user enable --now snop-nightly.timer"), "{out}");
    let service = fs_err::read_to_string(ws.join("units/snop-nightly.service")).unwrap();
    assert!(
        service.contains(&format!("ExecStart={exe} nightly --quiet --workspace {}\n", root.display())),
        "{service}"
    );
    let timer = fs_err::read_to_string(ws.join("units/snop-nightly.timer")).unwrap();
    // The demo's `nightly_at = "02:30"` in its zone, caught up after downtime.
    assert!(timer.contains("OnCalendar=*-*-* 02:30:00 Europe/London\n"), "{timer}");
    assert!(timer.contains("Persistent=true\n"), "{timer}");
    let (code, out, err) = run_in(&ws, &["schedule", "install", "--cron"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "CRON_TZ=Europe/London\n30 2 * * * {exe} nightly --quiet --workspace {r} >> {r}/nightly.log 2>&1\n",
            r = root.display()
        )
    );
}
