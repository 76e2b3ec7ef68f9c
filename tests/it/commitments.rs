//! The commercial commit-back: the customer commitment log built from a signed plan, sent out
//! as `.xlsx`, edited by an account manager and read back through ingest; and at the start of
//! the next cycle, last cycle's commitments and orders scored. Small hand-made plans on the
//! demo fixture's masters, so every number can be checked by hand.

use std::path::Path;

use calamine::{Data, Reader};
use polars::prelude::*;
use snop::config::Workspace;
use snop::contract::{Month, Table};
use snop::pipeline::{self, RunOutcome};
use snop::sop::Agent;
use snop::store::{NewRun, Store};

use crate::common::{block_on, copy_dir, json, repo};

fn fixture_workspace(dir: &Path) -> Workspace {
    snop::demo::init(dir, snop::demo::DEMO_COMPANY).unwrap();
    copy_dir(&repo().join("fixtures/demo/data"), &dir.join("data"));
    Workspace::load(dir).unwrap()
}

/// Stores an executive run for a cycle whose folder holds `signed-plan.parquet` (the interface
/// the executive agent delivers), as the executive agent would.
/// customer, SKU, month, requested, planned, constraint.
type PlanLine = (&'static str, &'static str, &'static str, f64, f64, Option<&'static str>);

async fn store_signed_plan(store: &Store, cycle: &str, rows: &[PlanLine]) {
    let mut df = df!(
        "sku" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "customer" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        "month" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "requested_units" => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
        "planned_units" => rows.iter().map(|r| r.4).collect::<Vec<_>>(),
        "constraint" => rows.iter().map(|r| r.5).collect::<Vec<_>>(),
        "gap_id" => rows.iter().map(|_| None::<&str>).collect::<Vec<_>>(),
    )
    .unwrap();
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes).finish(&mut df).unwrap();
    store
        .record_run(NewRun {
            agent: "executive",
            cycle,
            started_at: "2026-12-16T09:00:00.000Z",
            duration_ms: 1,
            outcome: "succeeded",
            inputs_sha256: &format!("test plan {cycle}"),
            rows_read: 0,
            rows_quarantined: 0,
            rows_kept: 0,
            report_json: "{}",
            inputs: Vec::new(),
            files: vec![("signed-plan.parquet".into(), bytes)],
            draft: None,
        })
        .await
        .unwrap();
}

async fn commit_back(ws: &Workspace, store: &Store, cycle: &str) -> snop::store::RunRow {
    match pipeline::run(ws, store, Agent::CommitBack, Month::parse(cycle).unwrap(), &snop::Progress::hidden())
        .await
        .unwrap()
    {
        RunOutcome::Recorded { run, .. } => run,
        RunOutcome::Unchanged { .. } => panic!("a new run is recorded"),
    }
}

/// December's plan, by hand (SKU AC-0005): C10001 asks 20 and gets 12 (capacity), and gets 4
/// more than asked in January (14 for 10): its date moved. C10002 asks 30, gets 20. C10003 asks
/// 10, gets nothing (material). So three lines, in customer order 0001-0003.
const DECEMBER: [PlanLine; 4] = [
    ("C10001", "AC-0005", "2026-12", 20.0, 12.0, Some("capacity: LEE-LINE-CENT overloaded")),
    ("C10001", "AC-0005", "2027-01", 10.0, 14.0, None),
    ("C10002", "AC-0005", "2026-12", 30.0, 20.0, Some("capacity: LEE-LINE-CENT overloaded")),
    ("C10003", "AC-0005", "2026-12", 10.0, 0.0, Some("material: BRG-220 short")),
];

/// Reads the `Log` sheet of a workbook as rows of text.
fn log_rows(path: &Path) -> Vec<Vec<String>> {
    let mut book = calamine::open_workbook_auto(path).unwrap();
    let range = book.worksheet_range("Log").unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Float(x) => x.to_string(),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

/// Writes rows back as an account manager's returned workbook (numbers in `Committed`).
fn write_return(path: &Path, rows: &[Vec<String>]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet().set_name("Log").unwrap();
    let committed = rows[0].iter().position(|h| h == "Committed").unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            match v.parse::<f64>() {
                Ok(x) if r > 0 && c == committed => sheet.write_number(r as u32, c as u16, x).unwrap(),
                _ => sheet.write_string(r as u32, c as u16, v).unwrap(),
            };
        }
    }
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    book.save(path).unwrap();
}

#[test]
fn the_log_goes_out_as_xlsx_and_comes_back_through_ingest() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = fixture_workspace(tmp.path());
    block_on(async {
        let store = pipeline::open_store(&ws).await.unwrap();
        // Without a signed plan the commit-back names the executive meeting.
        let err =
            pipeline::run(&ws, &store, Agent::CommitBack, Month::parse("2026-12").unwrap(), &snop::Progress::hidden())
                .await
                .err()
                .unwrap();
        assert_eq!(snop::Fault::of(&err), snop::Fault::User);
        assert!(err.to_string().contains("run `snop run executive --cycle 2026-12` first"), "{err}");

        store_signed_plan(&store, "2026-12", &DECEMBER).await;
        let first = commit_back(&ws, &store, "2026-12").await;
        let folder = tmp.path().join(&first.folder);
        let log = json(&folder.join("commitment-log.json"));
        let lines = log["lines"].as_array().unwrap();
        let got: Vec<(&str, &str, f64, f64, &str, &str)> = lines
            .iter()
            .map(|l| {
                (
                    l["line_id"].as_str().unwrap(),
                    l["customer"].as_str().unwrap(),
                    l["requested"].as_f64().unwrap(),
                    l["committed"].as_f64().unwrap(),
                    l["owner"].as_str().unwrap(),
                    l["status"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("2026-12-0001", "C10001", 20.0, 12.0, "ana.lopez", "to communicate"),
                ("2026-12-0002", "C10002", 30.0, 20.0, "ben.carter", "to communicate"),
                ("2026-12-0003", "C10003", 10.0, 0.0, "chloe.martin", "to communicate"),
            ]
        );
        // The demo calendar: the executive S&OP on the third Thursday (17 December 2026), the
        // commit-back the next working day for 2 working days (Friday 18th, Monday 21st).
        assert_eq!(lines[0]["communicate_by"], "2026-12-21");
        assert_eq!((lines[0]["moved_to"].as_str(), lines[0]["moved_units"].as_f64()), (Some("2027-01"), Some(4.0)));
        // The fixture's order book holds 5 (December) and 6 (January) for C10001/AC-0005: to book
        // are December's 12 - 5 = 7, January's 14 - 6 = 8, and all of C10002's 20 (no orders).
        let to_book: Vec<(&str, &str, f64)> = log["to_book"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["customer"].as_str().unwrap(), t["month"].as_str().unwrap(), t["to_book"].as_f64().unwrap()))
            .collect();
        assert_eq!(to_book, vec![("C10001", "2026-12", 7.0), ("C10001", "2027-01", 8.0), ("C10002", "2026-12", 20.0)]);
        crate::common::golden_json(&folder.join("narrative-facts.json"), "prompts/commit-back/sample-facts.json");
        let drafts = store.drafts(Some("2026-12"), Some(snop::sop::Artifact::CommitmentLog)).await.unwrap();
        assert_eq!(drafts.len(), 1);
        let report = json(&folder.join("report.json"));
        assert_eq!(report["narrative"]["source"], "model", "the mock's draft passes the fact check: {report}");
        let page = fs_err::read_to_string(folder.join("commitment-log-2026-12.md")).unwrap();
        assert!(
            page.contains("3 commitment lines (28 units less than asked) to communicate to customers by 2026-12-21"),
            "{page}"
        );

        // The workbook: the agenda first, then the Log sheet, its editable columns as the header says.
        let xlsx = folder.join("commitment-log-2026-12.xlsx");
        let book = calamine::open_workbook_auto(&xlsx).unwrap();
        assert_eq!(book.sheet_names(), vec!["Agenda", "Log", "By customer", "To book"]);
        let raw = fs_err::read(&xlsx).unwrap();
        let mut zip = ::zip::ZipArchive::new(std::io::Cursor::new(raw)).unwrap();
        let mut sheet1 = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("xl/worksheets/sheet2.xml").unwrap(), &mut sheet1).unwrap();
        assert!(sheet1.contains("<dataValidation type=\"list\""), "the status is a list: {sheet1}");
        assert!(sheet1.contains("to communicate,communicated,accepted,re-negotiated"), "{sheet1}");

        // Ana accepts line 1, Ben has communicated line 2, Chloe re-negotiated line 3 (note);
        // then a line that is not in the log, and a row without its owner.
        let mut rows = log_rows(&xlsx);
        let header = rows[0].clone();
        let at = |name: &str| header.iter().position(|h| h == name).unwrap();
        rows[1][at("Status")] = "accepted".into();
        rows[2][at("Status")] = "communicated".into();
        rows[3][at("Status")] = "re-negotiated".into();
        rows[3][at("Committed")] = "4".into();
        rows[3][at("Note")] = "4 in December, the rest in February".into();
        let mut unknown = rows[1].clone();
        unknown[at("Line")] = "2026-12-0099".into();
        let mut ownerless = rows[2].clone();
        ownerless[at("Owner")] = String::new();
        let mut silent = rows[2].clone();
        silent[at("Committed")] = "25".into();
        let mut unsure = rows[1].clone();
        unsure[at("Status")] = "maybe".into();
        rows.extend([unknown, ownerless, silent, unsure]);
        write_return(&tmp.path().join("returns/account-managers.xlsx"), &rows);

        let second = commit_back(&ws, &store, "2026-12").await;
        let folder = tmp.path().join(&second.folder);
        let quarantine = fs_err::read_to_string(folder.join("quarantine.csv")).unwrap();
        let named: Vec<&str> = quarantine.lines().filter(|l| l.contains("returns/account-managers.xlsx")).collect();
        assert_eq!(named.len(), 4, "{quarantine}");
        // Each names the cell a person types into Excel's name box (the header is row 1, column
        // A the first of `rows`).
        let cell = |name: &str, row: usize| format!("{}{row}", (b'A' + at(name) as u8) as char);
        let (line, owner, committed, status) =
            (cell("Line", 5), cell("Owner", 6), cell("Committed", 7), cell("Status", 8));
        assert!(named[0].contains(&format!(",Log,5,line_id,{line},2026-12-0099,unknown line")), "{quarantine}");
        assert!(named[1].contains(&format!(",Log,6,owner,{owner},")), "{quarantine}");
        assert!(named[2].contains(&format!(",Log,7,committed,{committed},25,")), "{quarantine}");
        assert!(named[3].contains(&format!(",Log,8,status,{status},maybe,\"must be one of")), "{quarantine}");
        let log = json(&folder.join("commitment-log.json"));
        let status: Vec<(&str, f64)> = log["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["status"].as_str().unwrap(), l["committed"].as_f64().unwrap()))
            .collect();
        assert_eq!(status, vec![("accepted", 12.0), ("communicated", 20.0), ("re-negotiated", 4.0)]);
        let report = json(&folder.join("report.json"));
        let source = report["sources"].as_array().unwrap().iter().find(|s| s["name"] == "commitment_updates").unwrap();
        assert_eq!(
            (source["rows_read"].as_u64(), source["rows_quarantined"].as_u64(), source["rows_kept"].as_u64()),
            (Some(7), Some(4), Some(3))
        );
        let drafts = store.drafts(Some("2026-12"), Some(snop::sop::Artifact::CommitmentLog)).await.unwrap();
        assert_eq!(drafts.len(), 2, "the returned statuses make a new draft version");
    });
}

/// January scores December, by hand: C10001 was promised 12 and 12 shipped (kept); C10002 was
/// promised 20 and 15 shipped (missed by 5); C10003 re-negotiated. Orders against December's
/// plan (C10001 January planned 14): O-A (10) fits, O-B (8) is 4 beyond; C10004 has no plan and
/// orders 3 (O-C). December's shipments (12 and 15) are inside their plan (12 and 20).
#[test]
fn next_cycle_scores_last_cycles_commitments_and_orders() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = fixture_workspace(tmp.path());
    block_on(async {
        let store = pipeline::open_store(&ws).await.unwrap();
        store_signed_plan(&store, "2026-12", &DECEMBER).await;
        let mut rows = vec![snop::artifacts::commitment_log::LOG_COLUMNS.map(|c| c.0.to_string()).to_vec()];
        let mut line = |id: &str, committed: &str, owner: &str, status: &str, note: &str| {
            let mut r = vec![String::new(); rows[0].len()];
            let at = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
            r[at("Line")] = id.into();
            r[at("Committed")] = committed.into();
            r[at("Owner")] = owner.into();
            r[at("Status")] = status.into();
            r[at("Note")] = note.into();
            rows.push(r);
        };
        line("2026-12-0003", "0", "chloe.martin", "re-negotiated", "moved to March with the customer");
        write_return(&tmp.path().join("returns/chloe.xlsx"), &rows);
        commit_back(&ws, &store, "2026-12").await;

        let date = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let sales = df!(
            "order_id" => ["S-1", "S-2", "S-OLD"],
            "order_date" => [date("2026-11-20"), date("2026-12-01"), date("2026-10-01")],
            "ship_date" => [Some(date("2026-12-10")), Some(date("2026-12-12")), Some(date("2026-10-05"))],
            "sku" => ["AC-0005", "AC-0005", "AC-0005"],
            "customer" => ["C10001", "C10002", "C10002"],
            "qty" => [12.0, 15.0, 99.0],
            "net_revenue" => [120.0, 150.0, 990.0],
        )
        .unwrap();
        let open = df!(
            "order_id" => ["O-A", "O-B", "O-C"],
            "sku" => ["AC-0005", "AC-0005", "AC-0005"],
            "customer" => ["C10001", "C10001", "C10004"],
            "requested_month" => ["2027-01", "2027-01", "2027-01"],
            "qty" => [10.0, 8.0, 3.0],
        )
        .unwrap();
        let customers = df!(
            "customer" => ["C10001", "C10002", "C10003", "C10004"],
            "account_manager" => ["ana.lopez", "ben.carter", "chloe.martin", "dev.patel"],
        )
        .unwrap();
        let tables = [(Table::SalesHistory, sales), (Table::OpenOrders, open), (Table::Customers, customers)].into();
        let facts = snop::pipeline::upstream::last_cycle_loop(&store, Month::parse("2027-01").unwrap(), &tables)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(facts.scored_cycle, "2026-12");
        assert!(!facts.log_signed, "December's log is a draft here");
        assert_eq!((facts.kept, facts.missed, facts.renegotiated, facts.missed_units), (1, 1, 1, 5.0));
        let ben = facts.by_owner.iter().find(|t| t.name == "ben.carter").unwrap();
        assert_eq!((ben.missed, ben.missed_units), (1, 5.0));
        let outside: Vec<(&str, f64, &str)> = facts
            .orders_outside_plan
            .iter()
            .map(|o| (o.order_id.as_str(), o.units_outside, o.account_manager.as_str()))
            .collect();
        assert_eq!(outside, vec![("O-B", 4.0, "ana.lopez"), ("O-C", 3.0, "dev.patel")]);
        let o = &facts.orders;
        assert_eq!((o.order_lines, o.lines_inside_plan, o.lines_beyond_plan, o.lines_without_plan), (5, 3, 1, 1));
        assert_eq!((o.units_ordered, o.units_outside_plan), (48.0, 7.0));
        // A cycle with no log the month before has nothing to score.
        assert!(
            snop::pipeline::upstream::last_cycle_loop(&store, Month::parse("2026-12").unwrap(), &tables)
                .await
                .unwrap()
                .is_none()
        );

        // January's commit-back run carries the score in its facts and workbook. (The fixture's
        // history starts in 2023-12: one month more of history keeps it all in the window.)
        let path = tmp.path().join("pipelines/commit-back.toml");
        let text = fs_err::read_to_string(&path).unwrap().replace("history_months = 36", "history_months = 37");
        fs_err::write(&path, text).unwrap();
        fs_err::remove_file(tmp.path().join("returns/chloe.xlsx")).unwrap();
        let ws = Workspace::load(tmp.path()).unwrap();
        store_signed_plan(&store, "2027-01", &[("C10001", "AC-0005", "2027-01", 10.0, 8.0, Some("capacity"))]).await;
        let january = commit_back(&ws, &store, "2027-01").await;
        let folder = tmp.path().join(&january.folder);
        let facts = json(&folder.join("facts.json"));
        let last = &facts["last_cycle"];
        assert_eq!(last["scored_cycle"], "2026-12");
        let outcomes: Vec<&str> =
            last["commitments"].as_array().unwrap().iter().map(|c| c["outcome"].as_str().unwrap()).collect();
        assert_eq!(outcomes.len(), 3);
        assert_eq!(outcomes[2], "renegotiated", "C10003's line was re-negotiated in December's log");
        assert_eq!(json(&folder.join("narrative-facts.json"))["last_cycle"]["cycle"], "2026-12");
        let book = calamine::open_workbook_auto(folder.join("commitment-log-2027-01.xlsx")).unwrap();
        assert_eq!(
            book.sheet_names(),
            vec!["Agenda", "Log", "By customer", "To book", "Last cycle", "Last cycle commitments"]
        );
    });
}
