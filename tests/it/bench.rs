//! `snop bench cycle` at a tiny size: the generator and every agent run in their own measured
//! process, the demo's people sign in between, and each step gets a row with a time and memory.

use crate::common::snop;

#[test]
fn the_cycle_benchmark_prints_a_measured_row_per_step() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cycle");
    let out = snop()
        .args(["bench", "cycle", "--skus", "24", "--customers", "6", "--months", "18", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for step in ["generate", "demand-review", "supply-review", "reconciliation", "executive"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{step} ")))
            .unwrap_or_else(|| panic!("no row for {step}:\n{stdout}"));
        let cols: Vec<&str> = line.split_whitespace().collect();
        let seconds: f64 = cols[1].parse().unwrap();
        let rss_mb: f64 = cols[2].parse().unwrap();
        assert!(seconds > 0.0, "{line}");
        // A snop process holds at least a few MB: a zero means the rusage was not read.
        assert!(rss_mb >= 5.0, "{line}");
        // The run's folder (the generated data for `generate`): its files' size, in MB.
        let folder_mb: f64 = cols[5].parse().unwrap_or_else(|_| panic!("no folder size: {line}"));
        assert!(folder_mb >= 0.0, "{line}");
    }
    // Each draft was signed by script, so the executive agent found a signed pack and decided.
    assert!(stdout.contains("decided"), "{stdout}");
    let (code, status, _) = crate::common::run_in(&dir, &["status", "--cycle", "2026-12"]);
    assert_eq!(code, 0);
    assert!(status.matches("signed by").count() >= 4, "{status}");
}

/// `--until demand-review`: the generator and the demand review, and nothing after them.
#[test]
fn the_cycle_benchmark_stops_after_the_step_it_is_told() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cycle");
    let out = snop()
        .args(["bench", "cycle", "--skus", "24", "--customers", "6", "--months", "18", "--until", "demand-review"])
        .arg("--dir")
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let steps: Vec<&str> = stdout.lines().skip(2).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(steps, ["generate", "demand-review", "total"], "{stdout}");
    let bad = snop().args(["bench", "cycle", "--until", "lunch", "--dir"]).arg(tmp.path().join("x")).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`--until lunch`: not an agent"));
}

/// `--scenarios`: after the demand review, the demo's what-if scenarios, each in its own
/// measured process: a row each with its time, its memory and the re-plan's own seconds.
#[test]
fn the_cycle_benchmark_times_the_what_if_scenarios() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cycle");
    let out = snop()
        .args(["bench", "cycle", "--skus", "24", "--customers", "6", "--months", "18", "--until", "demand-review"])
        .args(["--scenarios", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let steps: Vec<&str> = stdout.lines().skip(2).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(
        steps,
        [
            "generate",
            "demand-review",
            "scenario:base",
            "scenario:saturday-shift",
            "scenario:steelco-lost",
            "scenario:valves-promotion",
            "total"
        ],
        "{stdout}"
    );
    let mut pieces = Vec::new();
    for line in stdout.lines().filter(|l| l.starts_with("scenario:")) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (seconds, rss_mb): (f64, f64) = (cols[1].parse().unwrap(), cols[2].parse().unwrap());
        assert!(seconds > 0.0 && rss_mb >= 5.0, "{line}");
        // "re-planned in 1.23 s; pieces: 3 from disk, 4 solved"
        let after = line.split("re-planned in ").nth(1).unwrap();
        let plan: f64 = after.split(" s;").next().and_then(|p| p.parse().ok()).unwrap();
        assert!(plan > 0.0 && plan < seconds, "the re-plan is part of the step: {line}");
        let n = |w: &str| -> usize {
            let before = after.split(w).next().unwrap();
            before.rsplit([' ', ':']).find(|t| !t.is_empty()).unwrap().parse().unwrap()
        };
        pieces.push((n(" from disk"), n(" solved")));
    }
    // The base solves every piece of a fresh workspace; each scenario plans as many pieces,
    // read from the base's on disk or solved.
    let (read, solved) = pieces[0];
    assert!(read == 0 && solved > 0, "{pieces:?}");
    assert!(pieces.iter().all(|p| p.0 + p.1 == solved), "{pieces:?}");
    let (code, list, _) = crate::common::run_in(&dir, &["scenario", "list", "--cycle", "2026-12"]);
    assert_eq!(code, 0);
    assert_eq!(list.matches("; run ").count(), 4, "{list}");
}

#[test]
fn the_forecast_benchmark_writes_the_held_out_forecasts_as_unique_id_ds_y() {
    use snop::analysis::forecast;

    let tmp = tempfile::tempdir().unwrap();
    // Two series of 30 and 26 months; the last 4 of each are held out.
    let a: Vec<f64> = (0..30).map(|t| 50.0 + 2.0 * t as f64 + [3.0, -2.0, 1.0][t % 3]).collect();
    let b: Vec<f64> = (0..26).map(|t| 80.0 + [4.0, -6.0, 2.0, 7.0, -3.0][t % 5]).collect();
    let mut csv = String::from("unique_id,ds,y\n");
    for (id, y) in [("A", &a), ("B", &b)] {
        for (t, v) in y.iter().enumerate() {
            csv += &format!("{id},{}-{:02}-01,{v}\n", 2020 + t / 12, t % 12 + 1);
        }
    }
    fs_err::write(tmp.path().join("series.csv"), csv).unwrap();
    let (code, stdout, err) = crate::common::run_in(
        tmp.path(),
        &["bench", "forecast", "series.csv", "--holdout", "4", "--threads", "1", "--out", "fc.csv"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("\"evaluated\":2"), "{stdout}");
    let out = fs_err::read_to_string(tmp.path().join("fc.csv")).unwrap();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("unique_id,ds,y"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 8);
    let cfg = forecast::Config { horizon: 4, ..forecast::Config::default() };
    for (k, (id, y)) in [("A", &a), ("B", &b)].into_iter().enumerate() {
        let engine = forecast::forecast(&y[..y.len() - 4], &cfg);
        for h in 0..4 {
            let t = y.len() - 4 + h;
            let row = &rows[k * 4 + h];
            assert_eq!((row[0], row[1]), (id, format!("{}-{:02}-01", 2020 + t / 12, t % 12 + 1).as_str()));
            assert_eq!(row[2].parse::<f64>().unwrap(), engine.point[h], "{id} month {t}");
        }
    }
}
