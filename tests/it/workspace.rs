//! The workspace through the binary: `snop validate` reports every problem at once with file,
//! line and key; a crash between writing a run's files and storing it leaves nothing listed
//! and the next run completes; exit codes say whose fault an error is.

use crate::common::{Db, repo, run_in};

/// A reviewer on a team's shared store has `snop.toml` and the pipelines but not the extracts:
/// the commands that read no input file work; those that do name the missing files.
#[test]
fn reviewing_needs_no_input_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, _) = run_in(tmp.path(), &["init", "ws"]);
    assert_eq!(code, 0);
    let ws = tmp.path().join("ws");
    let (code, out, err) = run_in(&ws, &["calendar", "--from", "2026-12", "--months", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("executive S&OP           Thu 2026-12-17"), "{out}");
    let (code, out, err) = run_in(&ws, &["status", "--cycle", "2026-12"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("demand consensus"), "{out}");
    let (code, out, err) = run_in(&ws, &["drafts", "list"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = run_in(&ws, &["run", "demand-review", "--cycle", "2026-12"]);
    assert_eq!(code, 1);
    assert!(err.contains("`data/items.csv` matches no file in the workspace"), "{err}");
}

#[test]
fn validate_reports_every_problem_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, _) = run_in(tmp.path(), &["init", "ws"]);
    assert_eq!(code, 0);
    let ws = tmp.path().join("ws");
    let toml = fs_err::read_to_string(ws.join("snop.toml")).unwrap();
    let toml = toml
        .replace("executive = \"third Thursday\"", "executive = \"third Thursdai\"")
        .replace(
            "coo = [\"olivia.chen\"]",
            "coo = [\"olivia.chen\"]\ncfo = [\"fiona.reyes\"]\nsales_lead = [\"nobody\"]",
        )
        .replace("sales_lead = [\"leo.grant\"]\n", "")
        .replace("leads_may_approve_up_to = 25000", "leads_may_approve_up_to = -5.0")
        .replace("max_executive_decisions = 10", "max_executive_decisions = 0");
    fs_err::write(ws.join("snop.toml"), toml).unwrap();
    fs_err::write(
        ws.join("pipelines/demand-review.toml"),
        r#"agent = "demand-review"

[[sources]]
table = "orders"
type = "csv"
path = "data/orders.csv"

[[sources]]
table = "items"
type = "xlsx"
path = "data/items.csv"
delimiter = ";"

[[sources]]
table = "customers"
type = "csv"
path = "data/customers.csv"
columns = { customer = "KUNNR", colour = "FARBE" }
"#,
    )
    .unwrap();
    // The back half's pipelines read files an empty workspace does not have: left out here.
    fs_err::remove_file(ws.join("pipelines/reconciliation.toml")).unwrap();
    fs_err::remove_file(ws.join("pipelines/executive.toml")).unwrap();
    fs_err::remove_file(ws.join("pipelines/commit-back.toml")).unwrap();
    fs_err::write(ws.join("pipelines/supply-review.toml"), "agent = \"supply-review\"\n[[sources]]\ntable = \"items\"\ntype = \"csv\"\npath = \"data/items.csv\"\nsheet = 3\n").unwrap();
    let (code, out, err) = run_in(&ws, &["validate"]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        err,
        "error: 13 problems in the workspace configuration
  - `pipelines/demand-review.toml` line 1, key `sources`: the demand-review agent needs a source for `items`
  - `pipelines/demand-review.toml` line 1, key `sources`: the demand-review agent needs a source for `sales_history`
  - `pipelines/demand-review.toml` line 4, key `sources[0].table`: unknown table `orders`: tables are items, customers, resources, routings, bom, components, component_suppliers, inventory, open_purchase_orders, capacity, sales_history, open_orders, supplier_deliveries, pipeline, launches, sales_adjustments, marketing_adjustments, budget, commitment_updates
  - `pipelines/demand-review.toml` line 8, key `sources[1].sheet`: an xlsx source needs a `sheet`
  - `pipelines/demand-review.toml` line 12, key `sources[1].delimiter`: `delimiter` does not apply to a `xlsx` source
  - `pipelines/demand-review.toml` line 17, key `sources[2].path`: `data/customers.csv` matches no file in the workspace
  - `pipelines/demand-review.toml` line 18, key `sources[2].columns.colour`: `colour` is not a column of `customers`: its columns are customer, channel, region, account_manager, priority
  - `pipelines/supply-review.toml` line 6: invalid type: integer `3`, expected a string
  - `snop.toml` line 32, key `calendar.meetings.executive`: `Thursdai` is not a day of the week
hint: a rule reads like `first Monday of the month, 3 working days`, `next working day, 2 working days` or `8 working days before the executive S&OP`
  - `snop.toml` line 57, key `roles.cfo`: unknown role `cfo`: roles are demand_lead, supply_lead, finance_lead, sales_lead, coo, ceo
  - `snop.toml` line 58, key `roles.sales_lead`: `nobody` is not in `[people]`
  - `snop.toml` line 63, key `reconciliation.leads_may_approve_up_to`: `-5` must be an amount of 0 or more in the workspace currency
  - `snop.toml` line 64, key `reconciliation.max_executive_decisions`: `0` must be a whole number of decisions, 1 to 100 (an executive meeting of an hour takes about 10)
"
    );
}

/// `[company] locale`: an unknown one is named with file, line and key, and the known ones
/// listed; a known one is valid.
#[test]
fn validate_names_an_unknown_locale_and_the_known_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, _) = run_in(tmp.path(), &["init", "ws"]);
    assert_eq!(code, 0);
    let ws = tmp.path().join("ws");
    let toml = fs_err::read_to_string(ws.join("snop.toml")).unwrap();
    let line = toml.lines().position(|l| l.starts_with("currency = ")).unwrap() + 2;
    for pipeline in ["reconciliation", "executive", "commit-back", "supply-review", "demand-review"] {
        fs_err::remove_file(ws.join(format!("pipelines/{pipeline}.toml"))).unwrap();
    }
    let with =
        |locale: &str| toml.replacen("currency = \"EUR\"", &format!("currency = \"EUR\"\nlocale = \"{locale}\""), 1);
    fs_err::write(ws.join("snop.toml"), with("de_XX")).unwrap();
    let (code, _, err) = run_in(&ws, &["validate"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "`snop.toml` line {line}, key `company.locale`: unknown locale `de_XX`: the known locales are en-US, en-GB, de-DE, de-AT, de-CH, fr-FR, fr-CH, it-IT, nl-NL, es-MX, pt-BR, sv-SE"
        )),
        "{err}"
    );
    fs_err::write(ws.join("snop.toml"), with("de-DE")).unwrap();
    let ws = snop::config::Workspace::load_allowing_pending(&ws).unwrap();
    assert_eq!(ws.locale, snop::analysis::locale::Locale::DeDe);
}

#[test]
fn the_default_pipelines_are_valid_in_a_fresh_demo_workspace() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = run_in(tmp.path(), &["demo", "ws", "--skus", "30", "--customers", "10", "--quiet"]);
    assert_eq!(code, 0, "{out}{err}");
    for entry in fs_err::read_dir(repo().join("pipelines")).unwrap() {
        let p = entry.unwrap().path();
        let shipped = fs_err::read(tmp.path().join("ws/pipelines").join(p.file_name().unwrap())).unwrap();
        assert_eq!(shipped, fs_err::read(&p).unwrap(), "`snop init` writes `{}` as committed", p.display());
    }
    let (code, out, err) = run_in(&tmp.path().join("ws"), &["validate"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(
        out,
        "`./snop.toml` is valid: 5 pipeline(s) (demand-review, supply-review, reconciliation, executive, commit-back)\n3 scenario file(s) valid (saturday-shift, steelco-lost, valves-promotion)\n"
    );
}

/// The 30-SKU demo (two months recorded, runs 1 to 8) in a temporary folder, on a fresh store
/// of `db`: the folder (removed when dropped) and the workspace.
fn demo_on(db: Db) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let store = db.fresh_store();
    let out = crate::common::snop()
        .current_dir(tmp.path())
        .args(["demo", "ws", "--skus", "30", "--customers", "10", "--quiet"])
        .env("SNOP_STORE_URL", &store)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ws = tmp.path().join("ws");
    crate::common::set_store(&ws, &store);
    (tmp, ws)
}

fn a_crash_between_files_and_store_leaves_nothing_listed_and_the_next_run_completes(db: Db) {
    let (_tmp, ws) = demo_on(db);
    // The demo recorded runs 1 to 14 (two months, month one's two scenario runs and month two's four). A changed extract, so the run is not "unchanged"; the process dies after its files are in place.
    let pos = ws.join("data/open_purchase_orders.csv");
    let mut text = fs_err::read_to_string(&pos).unwrap();
    text.push_str("RM-00001,SUP-CASTWORKS,2027-02-15,500\n");
    fs_err::write(&pos, text).unwrap();
    let out = crate::common::snop()
        .current_dir(&ws)
        .args(["run", "supply-review", "--cycle", "2027-01", "--quiet"])
        .env("SNOP_FAIL_AT", "store.after_files")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(ws.join("runs/2027-01/supply-review/run-15").exists(), "the crash came after the files were moved");
    let (code, runs, _) = run_in(&ws, &["runs", "--json"]);
    assert_eq!(code, 0);
    let runs: serde_json::Value = serde_json::from_str(&runs).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 14, "a run that was not committed is not listed");

    let (code, out, err) = run_in(&ws, &["run", "supply-review", "--cycle", "2027-01", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("run 15 "), "{out}");
    let report = fs_err::read_to_string(ws.join("runs/2027-01/supply-review/run-15/report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let (_, runs, _) = run_in(&ws, &["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&runs).unwrap();
    assert_eq!(report["inputs_sha256"], runs[0]["inputs_sha256"], "the folder holds the committed run's files");
    let leftovers: Vec<_> = fs_err::read_dir(ws.join("runs"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.starts_with(".staging").then_some(name)
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn exit_codes_say_whose_fault_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run_in(tmp.path(), &["validate"]);
    assert_eq!(code, 1, "not a workspace is the user's to fix");
    assert!(err.starts_with("error: 1 problem in the workspace configuration\n  - `./snop.toml`: not found: this folder is not a snop workspace"), "{err}");
    let (code, _, err) = run_in(tmp.path(), &["run", "forecasting", "--cycle", "2026-12"]);
    assert_eq!(
        (code, err.as_str()),
        (
            1,
            "error: unknown agent `forecasting`: agents are demand-review, supply-review, reconciliation, executive, commit-back\n"
        )
    );
    let (code, _, err) = run_in(tmp.path(), &["run", "demand-review", "--cycle", "2026-13"]);
    assert_eq!(code, 2, "clap's own usage errors exit 2: {err}");
    let (code, _, _) = run_in(tmp.path(), &["init", "ws"]);
    assert_eq!(code, 0);
    let (code, _, err) = run_in(tmp.path(), &["init", "ws"]);
    assert_eq!((code, err.as_str()), (1, "error: `ws` is already a snop workspace: nothing was changed\n"));
}

/// A crash just before commit leaves `runs/<cycle>/<agent>/run-<n>` without a row (the test
/// above shows it does); when the next run to commit is another agent's or another cycle's, it
/// takes the number `n` in its own folder, and the debris is removed all the same, as is the
/// staging folder of a process that is gone.
fn debris_of_a_crash_is_removed_when_another_run_takes_its_number(db: Db) {
    let (_tmp, ws) = demo_on(db);
    // What a demand review of 2026-12 killed after moving its files as run 15 leaves, and a
    // staging folder of a process that no longer runs.
    let debris = ws.join("runs/2026-12/demand-review/run-15");
    fs_err::create_dir_all(&debris).unwrap();
    fs_err::write(debris.join("report.json"), "{}").unwrap();
    let staging = ws.join("runs/.staging-4194303-2027-01-05T000000Z");
    fs_err::create_dir_all(&staging).unwrap();
    let pos = ws.join("data/open_purchase_orders.csv");
    let mut text = fs_err::read_to_string(&pos).unwrap();
    text.push_str("RM-00001,SUP-CASTWORKS,2027-02-15,500\n");
    fs_err::write(&pos, text).unwrap();
    let (code, out, err) = run_in(&ws, &["run", "supply-review", "--cycle", "2027-01", "--quiet"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("run 15 "), "{out}");
    assert!(ws.join("runs/2027-01/supply-review/run-15/report.json").exists());
    assert!(!debris.exists(), "the debris of the crashed run 15 is removed");
    assert!(!staging.exists(), "the staging folder of a process that is gone is removed");
    // Every run a row lists keeps its folder.
    let (_, runs, _) = run_in(&ws, &["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&runs).unwrap();
    for r in runs.as_array().unwrap() {
        let folder = r["folder"].as_str().unwrap();
        assert!(ws.join(folder).is_dir(), "{folder}");
    }
}

crate::common::on_both_backends!(
    a_crash_between_files_and_store_leaves_nothing_listed_and_the_next_run_completes,
    debris_of_a_crash_is_removed_when_another_run_takes_its_number
);

/// `snop validate` checks the store URL, in `snop.toml` (with its line) or in `SNOP_STORE_URL`,
/// and never prints a password.
#[test]
fn validate_checks_the_store_url() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, _) = run_in(tmp.path(), &["init", "ws"]);
    assert_eq!(code, 0);
    let ws = tmp.path().join("ws");
    crate::common::set_store(&ws, "postgres://snop:hunter2@db.example");
    let (code, _, err) = run_in(&ws, &["validate"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "key `store.url`: `postgres://snop:***@db.example` names no database: use `postgres://USER@HOST/DATABASE`"
        ),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    let toml = fs_err::read_to_string(ws.join("snop.toml")).unwrap();
    fs_err::write(ws.join("snop.toml"), toml.replace("postgres://snop:hunter2@db.example", "sqlite://snop.db"))
        .unwrap();
    let out = crate::common::snop()
        .current_dir(&ws)
        .arg("validate")
        .env("SNOP_STORE_URL", "mysql://root@db/snop")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("`$SNOP_STORE_URL`: `mysql://root@db/snop` is not supported"), "{err}");
}

/// A fresh `snop init`: every pipeline names files not put in yet. `snop validate` says what to
/// put where and exits 0; `snop run` still needs its own agent's files; a pipeline with some of
/// its files but not all is checked in full.
#[test]
fn pipelines_whose_files_are_not_there_yet_are_pending() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, _) = run_in(tmp.path(), &["init", "ws"]);
    assert_eq!(code, 0);
    let ws = tmp.path().join("ws");
    let (code, out, err) = run_in(&ws, &["validate"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let notes: Vec<&str> = out.lines().filter(|l| l.starts_with("note: ")).collect();
    assert_eq!(notes.len(), 5, "{out}");
    assert_eq!(
        notes[3],
        "note: `pipelines/reconciliation.toml` is pending: none of its input files is there yet; put `data/items.csv`, \
         `data/customers.csv`, `data/resources.csv`, `data/routings.csv`, `data/components.csv`, \
         `data/component_suppliers.csv`, `data/bom.csv`, `data/inventory.csv`, `data/open_purchase_orders.csv`, \
         `data/capacity.csv`, `data/erp/open_orders.csv`, `data/supplier_deliveries.parquet`, `data/budget.csv` in the \
         workspace (`snop run reconciliation` reads them)"
    );
    let (code, _, err) = run_in(&ws, &["run", "reconciliation", "--cycle", "2026-12"]);
    assert_eq!(code, 1);
    assert!(err.contains("`data/items.csv` matches no file in the workspace"), "{err}");
    // Now the masters are there: the pipelines that read more are missing files, not pending.
    fs_err::write(ws.join("data/items.csv"), "sku\n").unwrap();
    let (code, _, err) = run_in(&ws, &["validate"]);
    assert_eq!(code, 1);
    // Line 20 of `pipelines/demand-review.toml` since its `history_months` comment (was 18).
    assert!(
        err.contains(
            "`pipelines/demand-review.toml` line 20, key `sources[1].path`: `data/customers.csv` matches no file"
        ),
        "{err}"
    );
    // The reconciliation reads the supply extracts too (it re-plans the decisions' options).
    assert!(err.contains("`pipelines/reconciliation.toml` line"), "{err}");
}

/// `snop bench ingest` needs only the demand review's files, which it generates.
#[test]
fn the_ingest_benchmark_runs_on_its_own_workspace() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bench");
    let args = ["bench", "ingest", "--rows", "2000", "--repeat", "1", "--dir"];
    let out = crate::common::snop().args(args).arg(&dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("snop ingest + validation"), "{stdout}");
}

/// Every unknown key of every file, each with its line, not only serde's first.
#[test]
fn validate_reports_every_unknown_key() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, _) = run_in(tmp.path(), &["init", "ws"]);
    assert_eq!(code, 0);
    let ws = tmp.path().join("ws");
    for p in fs_err::read_dir(ws.join("pipelines")).unwrap() {
        fs_err::remove_file(p.unwrap().path()).unwrap();
    }
    fs_err::write(
        ws.join("pipelines/demand-review.toml"),
        "agent = \"demand-review\"\nhistory_month = 24\n\n[[sources]]\ntable = \"items\"\ntype = \"csv\"\npath = \"data/items.csv\"\n\n[[sources]]\ntable = \"customers\"\ntype = \"csv\"\npaht = \"data/customers.csv\"\nseperator = \";\"\n",
    )
    .unwrap();
    let (code, out, err) = run_in(&ws, &["validate"]);
    assert_eq!(code, 1, "{out}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("unknown field")).collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines[0].starts_with("  - `pipelines/demand-review.toml` line 2: unknown field `history_month`"), "{err}");
    assert!(lines[1].starts_with("  - `pipelines/demand-review.toml` line 12: unknown field `paht`"), "{err}");
    assert!(lines[2].starts_with("  - `pipelines/demand-review.toml` line 13: unknown field `seperator`"), "{err}");
}

/// `[commit_back]` and `[export]` are checked like the rest: a negative threshold, a horizon
/// past the plan's 18 months, an unknown layout and a plant code longer than SAP's 4 characters
/// are each named with file, line and key; an unknown key is refused.
#[test]
fn validate_checks_the_commit_back_threshold_and_the_erp_export() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, _) = run_in(tmp.path(), &["init", "ws"]);
    assert_eq!(code, 0);
    let ws = tmp.path().join("ws");
    let commit_back = fs_err::read_to_string(ws.join("pipelines/commit-back.toml")).unwrap();
    let commit_back = commit_back
        .replace("min_units = 1.0", "min_units = -2.0")
        .replace("firm_horizon_months = 3", "firm_horizon_months = 24");
    fs_err::write(ws.join("pipelines/commit-back.toml"), &commit_back).unwrap();
    let executive = fs_err::read_to_string(ws.join("pipelines/executive.toml")).unwrap();
    let executive = executive
        .replace("layout = \"sales_orders\"", "layout = \"idocs\"")
        .replace("MONTERREY = \"3000\"", "MONTERREY = \"MONTERREY\"");
    fs_err::write(ws.join("pipelines/executive.toml"), &executive).unwrap();
    let line = |text: &str, needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let (code, out, err) = run_in(&ws, &["validate"]);
    assert_eq!(code, 1, "{out}");
    for expected in [
        format!(
            "`pipelines/commit-back.toml` line {}, key `commit_back.min_units`: `-2` must be a number of units, 0 or more",
            line(&commit_back, "min_units")
        ),
        format!(
            "`pipelines/commit-back.toml` line {}, key `commit_back.firm_horizon_months`: `24` must be a number of months between 1 and 18 (the plan's horizon)",
            line(&commit_back, "firm_horizon_months")
        ),
        format!(
            "`pipelines/executive.toml` line {}, key `export.layout`: unknown layout `idocs`: `sales_orders` or `planned_independent_requirements`",
            line(&executive, "layout")
        ),
        "key `export.plants.MONTERREY`: `MONTERREY` must be a plant code of 1 to 4 characters".to_string(),
    ] {
        assert!(err.contains(&expected), "`{expected}` in:\n{err}");
    }
    fs_err::write(ws.join("pipelines/commit-back.toml"), commit_back.replace("min_units = -2.0", "min_unit = 2"))
        .unwrap();
    let (code, _, err) = run_in(&ws, &["validate"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown field `min_unit`"), "{err}");
}
