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
            .map(|l| {
                // A row is its file and row number: two sources may both have a bad row 3.
                let f: Vec<&str> = l.split(',').collect();
                (f[1].to_string(), f[3].to_string())
            })
            .collect::<std::collections::BTreeSet<_>>();
        assert_eq!(report["rows_quarantined"], rows.len(), "case `{case}`: every bad row counted once");
        assert_eq!(
            report["rows_read"].as_u64().unwrap(),
            report["rows_kept"].as_u64().unwrap()
                + report["rows_quarantined"].as_u64().unwrap()
                + report["rows_before_window"].as_u64().unwrap(),
            "case `{case}`: no row silently dropped (history before the window is counted)"
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
    bom_loop,
    bom_qty_per_zero,
    component_supplier_unknown_component,
    csv_blank_lines,
    csv_duplicate_header,
    csv_latin1,
    csv_ragged_row,
    csv_that_is_a_workbook,
    csv_unterminated_quote,
    csv_utf16,
    csv_wrong_delimiter,
    date_formats_list,
    decimal_comma_ambiguous,
    duplicate_adjustment,
    duplicate_key,
    duplicate_of_a_bad_row,
    empty_master,
    empty_required,
    formula_in_a_value,
    implausible_quantity,
    limit_raised_per_source,
    missing_column,
    missing_column_in_sheet,
    missing_file,
    missing_mapped_column,
    missing_sheet,
    month_outside_horizon,
    negative_quantity,
    parquet_text_where_a_number_belongs,
    parquet_typed_columns,
    quarantine_minimum_rows,
    reference_to_a_quarantined_row,
    too_many_bad_rows,
    unknown_customer,
    unknown_sku,
    unparseable_date,
    unparseable_number,
    value_mapping,
    xlsx_cell_in_the_message,
    xlsx_duplicate_header,
    xlsx_encrypted,
    xlsx_formula_without_value,
    xlsx_renamed_csv,
    xlsx_written_by_libreoffice,
);

/// The formula case's hint works: the workbook that openpyxl saved without values, opened and
/// saved by LibreOffice (installed by `.ci/setup`), reads whole: the formula's row is kept with
/// its calculated value.
#[test]
fn a_formula_workbook_saved_by_libreoffice_reads_whole() {
    let (tmp, ws) = workspace("xlsx_formula_without_value");
    let sales = ws.join("data/sales.xlsx");
    let out = tmp.path().join("saved");
    let status = std::process::Command::new("soffice")
        .arg("--headless")
        .arg(format!("-env:UserInstallation=file://{}", tmp.path().join("profile").display()))
        .args(["--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir"])
        .arg(&out)
        .arg(&sales)
        .output()
        .expect("LibreOffice (`soffice`) is installed by .ci/setup");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    fs_err::copy(out.join("sales.xlsx"), &sales).unwrap();
    let (code, out, err) = run_in(&ws, &["run", "demand-review", "--cycle", "2026-12", "--quiet"]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let report: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(ws.join("runs/2026-12/demand-review/run-1/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["rows_quarantined"], 0, "{report}");
    assert!(!ws.join("runs/2026-12/demand-review/run-1/quarantine.csv").exists());
    // The three sales rows were all kept, the formula's among them.
    let sales = report["sources"].as_array().unwrap().iter().find(|s| s["table"] == "sales_history").unwrap();
    assert_eq!((sales["rows_read"].as_u64(), sales["rows_kept"].as_u64()), (Some(3), Some(3)), "{report}");
}

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

/// `snop validate` checks `values`, `limits` and date format lists, each problem with its file,
/// line and key, all of them at once.
#[test]
fn values_limits_and_date_formats_are_checked_by_validate() {
    let (_tmp, ws) = workspace("value_mapping");
    let pipeline = r#"agent = "demand-review"

[[sources]]
table = "items"
type = "csv"
path = "data/items.csv"
values = { lifecycle = { launch = "newish" }, unit_price = { a = "1" } }
limits = { sku = 5, unit_price = -1 }

[[sources]]
table = "customers"
type = "csv"
path = "data/customers.csv"

[[sources]]
table = "sales_history"
type = "csv"
path = "data/sales.csv"
date_format = ["%Y-%m-%d", "%Q"]
"#;
    fs_err::write(ws.join("pipelines/demand-review.toml"), pipeline).unwrap();
    let (code, _, err) = run_in(&ws, &["validate"]);
    assert_eq!(code, 1, "{err}");
    let file = "`pipelines/demand-review.toml`";
    assert_eq!(
        err,
        format!(
            "error: 5 problems in the workspace configuration\n\
             \x20 - {file} line 7, key `sources[0].values.lifecycle.launch`: maps to `newish`, which `lifecycle` does not allow: it must be one of `active`, `new`, `discontinued`\n\
             \x20 - {file} line 7, key `sources[0].values.unit_price`: `unit_price` is not a text column: `values` maps text\n\
             \x20 - {file} line 8, key `sources[0].limits.sku`: `sku` is not a number column: a limit applies to numbers\n\
             \x20 - {file} line 8, key `sources[0].limits.unit_price`: `-1` must be a positive number\n\
             \x20 - {file} line 19, key `sources[2].date_format`: `%Q` is not a date format (strftime, e.g. `%d.%m.%Y`)\n"
        )
    );
}

/// `snop validate` checks the values of `[demand]` and `[supply]`, each at its key's line, all at
/// once; an unknown key there is refused with its line too.
#[test]
fn demand_and_supply_parameters_are_checked_by_validate() {
    let (_tmp, ws) = workspace("value_mapping");
    let sources = r#"agent = "demand-review"

[[sources]]
table = "items"
type = "csv"
path = "data/items.csv"

[[sources]]
table = "customers"
type = "csv"
path = "data/customers.csv"

[[sources]]
table = "sales_history"
type = "csv"
path = "data/sales.csv"
"#;
    let pipeline = format!(
        "{sources}\n[demand]\nmin_pipeline_probability = 1.5\n\n[supply]\nholding_cost_percent_per_month = -2\n         near_term_from_weeks = 12\nnear_term_to_weeks = 6\n# a comment\nfrozen_months = 19\notif_threshold = 90\n         expedited_lead_time_percent = 0\n"
    );
    fs_err::write(ws.join("pipelines/demand-review.toml"), &pipeline).unwrap();
    let (code, _, err) = run_in(&ws, &["validate"]);
    assert_eq!(code, 1, "{err}");
    let file = "`pipelines/demand-review.toml`";
    assert_eq!(
        err,
        format!(
            "error: 6 problems in the workspace configuration\n\
             \x20 - {file} line 19, key `demand.min_pipeline_probability`: `1.5` must be a probability, 0 to 1\n\
             \x20 - {file} line 22, key `supply.holding_cost_percent_per_month`: `-2` must be a percent, 0 to 100\n\
             \x20 - {file} line 23, key `supply.near_term_from_weeks`: `12` must come before `near_term_to_weeks` (6): the window runs from one to the other\n\
             \x20 - {file} line 26, key `supply.frozen_months`: `19` is beyond the plan's 18 months\n\
             \x20 - {file} line 27, key `supply.otif_threshold`: `90` must be a share, 0 to 1 (0.9 is 90 %)\n\
             \x20 - {file} line 28, key `supply.expedited_lead_time_percent`: `0` must be a percent of the standard lead time, more than 0 and at most 100\n"
        )
    );
    // An unknown key in `[supply]` is refused at its line, naming the keys there are.
    fs_err::write(ws.join("pipelines/demand-review.toml"), format!("{sources}\n[supply]\nfrozen_weeks = 2\n")).unwrap();
    let (code, _, err) = run_in(&ws, &["validate"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("{file} line 19")) && err.contains("unknown field `frozen_weeks`"), "{err}");
    assert!(err.contains("frozen_months"), "the known keys are listed: {err}");
}

/// Read back as a spreadsheet would: the formula is text behind a `'`, the number a number.
#[test]
fn a_quarantined_formula_reads_back_as_text() {
    use polars::prelude::*;
    let (_tmp, ws) = workspace("formula_in_a_value");
    let (code, _, err) = run_in(&ws, &["run", "demand-review", "--cycle", "2026-12", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    let df = CsvReadOptions::default()
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(ws.join("runs/2026-12/demand-review/run-1/quarantine.csv")))
        .unwrap()
        .finish()
        .unwrap();
    let values: Vec<Option<&str>> = df.column("value").unwrap().str().unwrap().iter().collect();
    assert_eq!(values, [Some("'=HYPERLINK(\"http://x.example/\",\"open\")"), Some("-5")]);
}

/// `snop validate` checks the quarantine limit's two keys.
#[test]
fn the_quarantine_limit_is_checked_by_validate() {
    let (_tmp, ws) = workspace("quarantine_minimum_rows");
    let path = ws.join("pipelines/demand-review.toml");
    let pipeline = fs_err::read_to_string(&path).unwrap().replacen(
        "agent = \"demand-review\"\n",
        "agent = \"demand-review\"\n\n[quarantine]\nmax_percent = 110.0\nmin_rows_before_percent = -1\n",
        1,
    );
    fs_err::write(&path, pipeline).unwrap();
    let (code, _, err) = run_in(&ws, &["validate"]);
    assert_eq!(code, 1, "{err}");
    let file = "`pipelines/demand-review.toml`";
    assert_eq!(
        err,
        format!(
            "error: 2 problems in the workspace configuration\n\
             \x20 - {file} line 1, key `quarantine.max_percent`: must be between 0 and 100\n\
             \x20 - {file} line 1, key `quarantine.min_rows_before_percent`: `-1` must be a number of rows, 0 or more\n"
        )
    );
}
