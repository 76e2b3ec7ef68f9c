//! The bad-input corpus: one folder per case under `fixtures/bad/`, each a minimal workspace
//! that must give one exact error (`expected-stderr.txt`) or one exact quarantine
//! (`expected-quarantine.csv`). One test per case.

use std::path::{Path, PathBuf};

use crate::common::{copy_dir, repo, run_in};

/// A workspace made of the case's data and pipeline, with a fresh `snop.toml`.
fn workspace(case: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    let src = repo().join("fixtures/bad").join(case);
    let (code, _, err) = run_in(tmp.path(), &["init", "ws"]);
    assert_eq!(code, 0, "{err}");
    for p in fs_err::read_dir(ws.join("pipelines")).unwrap() {
        fs_err::remove_file(p.unwrap().path()).unwrap();
    }
    fs_err::copy(src.join("pipeline.toml"), ws.join("pipelines/demand-review.toml")).unwrap();
    copy_dir(&src.join("data"), &ws.join("data"));
    (tmp, ws)
}

/// A case with `expected-stderr.txt` fails (exit 1); with only that file it writes nothing; with
/// `expected-quarantine.csv` as well it is a rejected run, recorded with its quarantine.
fn check(case: &str) {
    let (_tmp, ws) = workspace(case);
    let src = repo().join("fixtures/bad").join(case);
    let (code, out, err) = run_in(&ws, &["run", "demand-review", "--cycle", "2026-12", "--quiet"]);
    let quarantine = fs_err::read_to_string(src.join("expected-quarantine.csv")).ok();
    if let Ok(expected) = fs_err::read_to_string(src.join("expected-stderr.txt")) {
        assert_eq!(code, 1, "a data or configuration fault exits 1\nstdout: {out}\nstderr: {err}");
        assert_eq!(err, expected, "case `{case}`: stderr");
        if quarantine.is_none() {
            assert!(!ws.join("runs").exists(), "case `{case}`: nothing may be written");
            return;
        }
    } else {
        assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    }
    {
        let expected = quarantine.expect("a case expects an error or a quarantine");
        let got = fs_err::read_to_string(ws.join("runs/2026-12/demand-review/run-1/quarantine.csv")).unwrap();
        assert_eq!(got, expected, "case `{case}`: quarantine");
        let report: serde_json::Value = serde_json::from_str(
            &fs_err::read_to_string(ws.join("runs/2026-12/demand-review/run-1/report.json")).unwrap(),
        )
        .unwrap();
        let rows = expected
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(3).unwrap().to_string())
            .collect::<std::collections::BTreeSet<_>>();
        assert_eq!(report["rows_quarantined"], rows.len(), "case `{case}`: every bad row counted once");
        assert_eq!(
            report["rows_read"].as_u64().unwrap(),
            report["rows_kept"].as_u64().unwrap() + report["rows_quarantined"].as_u64().unwrap(),
            "case `{case}`: no row silently dropped"
        );
    }
}

macro_rules! cases {
    ($($name:ident),+ $(,)?) => {
        $( #[test] fn $name() { check(stringify!($name)); } )+

        /// Every folder in the corpus has a test above.
        #[test]
        fn every_case_has_a_test() {
            let listed: Vec<&str> = vec![$(stringify!($name)),+];
            let on_disk = folders(&repo().join("fixtures/bad"));
            assert_eq!(on_disk, listed.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        }
    };
}

fn folders(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs_err::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

cases!(
    adjustment_delta_and_override,
    adjustment_unknown_sku_and_month,
    adjustment_without_owner,
    csv_blank_lines,
    csv_duplicate_header,
    csv_latin1,
    csv_ragged_row,
    csv_unterminated_quote,
    csv_utf16,
    csv_wrong_delimiter,
    decimal_comma_ambiguous,
    duplicate_adjustment,
    duplicate_key,
    duplicate_of_a_bad_row,
    empty_required,
    missing_column,
    missing_column_in_sheet,
    missing_file,
    missing_mapped_column,
    missing_sheet,
    month_outside_horizon,
    negative_quantity,
    parquet_text_where_a_number_belongs,
    parquet_typed_columns,
    too_many_bad_rows,
    unknown_customer,
    unknown_sku,
    unparseable_date,
    unparseable_number,
    xlsx_duplicate_header,
    xlsx_encrypted,
    xlsx_renamed_csv,
);

/// The rejected run is listed, so a planner finds it and its quarantine.
#[test]
fn a_rejected_run_is_listed() {
    let (_tmp, ws) = workspace("too_many_bad_rows");
    let (code, _, _) = run_in(&ws, &["run", "demand-review", "--cycle", "2026-12", "--quiet"]);
    assert_eq!(code, 1);
    let (code, out, _) = run_in(&ws, &["runs"]);
    assert_eq!(code, 0);
    let run = out.lines().nth(1).unwrap_or_default();
    assert!(run.contains("demand-review") && run.contains("rejected"), "{out}");
}
