//! Ingest in-process and through the binary: the ERP column mapping, Excel dates, and the HTTP
//! source against a real server on loopback.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use polars::prelude::*;
use snop::config::Workspace;
use snop::contract::{Month, Table};
use snop::ingest::{self, IngestError, Window};
use snop::sop::Agent;

use crate::common::{block_on, run_in};

const ITEMS: &str = "sku,family,uom,unit_price,unit_cost,make_site,lifecycle,end_month\nP-1,pumps,ea,100,60,LEEDS,active,\nP-2,valves,ea,50,30,BRNO,discontinued,2027-03\n";
const CUSTOMERS: &str = "customer,channel,region,account_manager,priority\nC-1,oem,EMEA,ana,1\n";

/// A workspace with `snop.toml`, the given demand-review pipeline and data files.
fn workspace(dir: &Path, pipeline: &str, files: &[(&str, &[u8])]) -> Workspace {
    snop::demo::init(dir, "Test Co").unwrap();
    for p in fs_err::read_dir(dir.join("pipelines")).unwrap() {
        fs_err::remove_file(p.unwrap().path()).unwrap();
    }
    fs_err::write(dir.join("pipelines/demand-review.toml"), pipeline).unwrap();
    for (name, bytes) in files {
        let p = dir.join(name);
        fs_err::create_dir_all(p.parent().unwrap()).unwrap();
        fs_err::write(p, bytes).unwrap();
    }
    Workspace::load(dir).unwrap()
}

const MASTERS: &str = r#"agent = "demand-review"
[[sources]]
table = "items"
type = "csv"
path = "data/items.csv"
[[sources]]
table = "customers"
type = "csv"
path = "data/customers.csv"
"#;

fn window() -> Window {
    Window { cycle: Month::parse("2026-12").unwrap(), history_months: 36, plan_months: snop::contract::PLAN_MONTHS }
}

#[test]
fn erp_columns_dates_and_decimal_commas_map_onto_the_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let pipeline = format!(
        r#"{MASTERS}
[[sources]]
table = "sales_history"
type = "csv"
path = "data/VBAP.csv"
delimiter = ";"
decimal_comma = true
date_format = "%Y%m%d"
columns = {{ order_id = "VBELN", order_date = "AUDAT", ship_date = {{ column = "LFDAT", format = "%d.%m.%Y" }}, sku = "MATNR", customer = "KUNNR", qty = "MENGE", net_revenue = "NETWR" }}
"#
    );
    let sales = "VBELN;AUDAT;LFDAT;MATNR;KUNNR;MENGE;NETWR;ERNAM\n4500001;20261005;09.10.2026; P-1 ;C-1;1.200;1.234.567,89;JSMITH\n4500002;20240131;;P-2;C-1;3;150,5;JSMITH\n";
    let ws = workspace(
        tmp.path(),
        &pipeline,
        &[
            ("data/items.csv", ITEMS.as_bytes()),
            ("data/customers.csv", CUSTOMERS.as_bytes()),
            ("data/VBAP.csv", sales.as_bytes()),
        ],
    );
    let got = block_on(ingest::ingest(
        &ws.root,
        ws.pipeline(Agent::DemandReview).unwrap(),
        window(),
        &snop::Progress::hidden(),
    ))
    .unwrap();
    assert!(got.quarantine.is_empty(), "{:?}", got.quarantine);
    let df = got.table(Table::SalesHistory).unwrap();
    assert_eq!(
        df.get_column_names().iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        ["order_id", "order_date", "ship_date", "sku", "customer", "qty", "net_revenue"]
    );
    assert_eq!(df.column("sku").unwrap().str().unwrap().get(0), Some("P-1"), "values are trimmed");
    assert_eq!(
        df.column("qty").unwrap().f64().unwrap().get(0),
        Some(1200.0),
        "`1.200` is twelve hundred with decimal commas"
    );
    assert_eq!(df.column("net_revenue").unwrap().f64().unwrap().get(0), Some(1_234_567.89));
    assert_eq!(df.column("net_revenue").unwrap().f64().unwrap().get(1), Some(150.5));
    let dates = df.column("order_date").unwrap().cast(&DataType::String).unwrap();
    assert_eq!(dates.str().unwrap().get(0), Some("2026-10-05"));
    assert_eq!(dates.str().unwrap().get(1), Some("2024-01-31"));
    let ship = df.column("ship_date").unwrap().cast(&DataType::String).unwrap();
    assert_eq!(ship.str().unwrap().get(0), Some("2026-10-09"), "a per-column format overrides the source's");
    assert_eq!(ship.str().unwrap().get(1), None, "an optional date may be empty");
    let items = got.table(Table::Items).unwrap();
    assert_eq!(items.column("end_month").unwrap().str().unwrap().get(1), Some("2027-03"));
}

#[test]
fn excel_date_cells_serials_and_text_months_all_read_as_months() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet().set_name("Plan").unwrap();
    for (c, h) in ["SKU", "Customer", "Month", "Delta", "Override", "Reason", "Owner"].iter().enumerate() {
        sheet.write(0, c as u16, *h).unwrap();
    }
    let fmt = Format::new().set_num_format("mmm-yy");
    // A date cell, a bare Excel serial number (1900 date system), and text.
    sheet.write_with_format(1, 2, ExcelDateTime::from_ymd(2027, 2, 1).unwrap(), &fmt).unwrap();
    sheet.write(2, 2, 46418.0).unwrap(); // 2027-01-31 (2027-01-01 is 46388)
    sheet.write(3, 2, "2027-05").unwrap();
    for r in 1..4 {
        sheet.write(r, 0, "P-1").unwrap();
        sheet.write(r, 1, "C-1").unwrap();
        sheet.write(r, 3, 5.0 * r as f64).unwrap();
        sheet.write(r, 5, "promo").unwrap();
        sheet.write(r, 6, "ana").unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let pipeline = format!(
        r#"{MASTERS}
[[sources]]
table = "sales_adjustments"
type = "xlsx"
path = "data/plan.xlsx"
sheet = "Plan"
columns = {{ sku = "SKU", customer = "Customer", month = "Month", delta = "Delta", override = "Override", reason = "Reason", owner = "Owner" }}
[[sources]]
table = "sales_history"
type = "csv"
path = "data/sales.csv"
"#
    );
    let sales = "order_id,order_date,ship_date,sku,customer,qty,net_revenue\nSO-1,2026-10-05,,P-1,C-1,5,500\n";
    let ws = workspace(
        tmp.path(),
        &pipeline,
        &[
            ("data/items.csv", ITEMS.as_bytes()),
            ("data/customers.csv", CUSTOMERS.as_bytes()),
            ("data/plan.xlsx", &bytes),
            ("data/sales.csv", sales.as_bytes()),
        ],
    );
    let got = block_on(ingest::ingest(
        &ws.root,
        ws.pipeline(Agent::DemandReview).unwrap(),
        window(),
        &snop::Progress::hidden(),
    ))
    .unwrap();
    assert!(got.quarantine.is_empty(), "{:?}", got.quarantine);
    let df = got.table(Table::SalesAdjustments).unwrap();
    let months: Vec<_> = df.column("month").unwrap().str().unwrap().iter().map(|m| m.unwrap().to_string()).collect();
    assert_eq!(months, ["2027-02", "2027-01", "2027-05"]);
    let deltas: Vec<_> = df.column("delta").unwrap().f64().unwrap().iter().collect();
    assert_eq!(deltas, [Some(5.0), Some(10.0), Some(15.0)]);
}

/// A loopback HTTP server whose behaviour the test controls.
struct Server {
    base: String,
    hits: Arc<AtomicUsize>,
    body: Arc<Mutex<String>>,
    _rt: tokio::runtime::Runtime,
}

fn server() -> Server {
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::get;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let body = Arc::new(Mutex::new(ITEMS.to_string()));
    let (h1, h2, h3, b1, b2) = (hits.clone(), hits.clone(), hits.clone(), body.clone(), body.clone());
    let app = axum::Router::new()
        .route(
            "/flaky",
            get(move || {
                let n = h1.fetch_add(1, Ordering::SeqCst);
                let b = b1.lock().unwrap().clone();
                async move {
                    if n == 0 { (StatusCode::INTERNAL_SERVER_ERROR, "boom".to_string()) } else { (StatusCode::OK, b) }
                }
            }),
        )
        .route(
            "/slow",
            get(move || {
                h2.fetch_add(1, Ordering::SeqCst);
                async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }
            }),
        )
        .route(
            "/items",
            get(move |headers: HeaderMap| {
                h3.fetch_add(1, Ordering::SeqCst);
                let ok = headers.get("x-erp-token").is_some_and(|v| v == "s3cret");
                let b = b2.lock().unwrap().clone();
                async move { if ok { (StatusCode::OK, b) } else { (StatusCode::UNAUTHORIZED, "no".to_string()) } }
            }),
        );
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { base: format!("http://{addr}"), hits, body, _rt: rt }
}

#[test]
fn http_pull_retries_a_500_then_succeeds() {
    let s = server();
    let bytes =
        block_on(ingest::read::fetch(&format!("{}/flaky", s.base), None, "items", Duration::from_secs(2), 2)).unwrap();
    assert_eq!(bytes, ITEMS.as_bytes());
    assert_eq!(s.hits.load(Ordering::SeqCst), 2, "one failure, one success");
}

#[test]
fn http_pull_times_out_and_names_the_url() {
    let s = server();
    let url = format!("{}/slow", s.base);
    let err = block_on(ingest::read::fetch(&url, None, "items", Duration::from_millis(300), 1)).unwrap_err();
    assert!(matches!(err, IngestError::Http { attempts: 2, .. }), "{err:?}");
    assert_eq!(err.to_string(), format!("pulling `{url}` failed after 2 attempt(s): no answer within 300ms"));
    assert_eq!(s.hits.load(Ordering::SeqCst), 2);
}

#[test]
fn http_pull_gives_up_at_once_on_a_refused_credential() {
    let s = server();
    let url = format!("{}/items", s.base);
    let err = block_on(ingest::read::fetch(&url, None, "items", Duration::from_secs(2), 3)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("pulling `{url}` failed after 1 attempt(s): the server answered 401 Unauthorized")
    );
    assert_eq!(s.hits.load(Ordering::SeqCst), 1, "a 401 is not retried");
}

/// Through the binary: the credential comes from the environment, the pulled bytes are kept
/// with the run, an unchanged body writes nothing new and a changed one makes a new run.
#[test]
fn http_source_runs_are_idempotent_and_keep_what_they_pulled() {
    let s = server();
    let tmp = tempfile::tempdir().unwrap();
    let pipeline = format!(
        r#"agent = "demand-review"
[[sources]]
table = "items"
type = "http"
url = "{}/items"
auth_header = "X-ERP-Token"
auth_env = "SNOP_TEST_ERP_TOKEN"
timeout_seconds = 5
retries = 1
[[sources]]
table = "customers"
type = "csv"
path = "data/customers.csv"
[[sources]]
table = "sales_history"
type = "csv"
path = "data/sales.csv"
"#,
        s.base
    );
    let sales = "order_id,order_date,ship_date,sku,customer,qty,net_revenue\nSO-1,2026-10-05,,P-1,C-1,5,500\n";
    workspace(
        tmp.path(),
        &pipeline,
        &[("data/customers.csv", CUSTOMERS.as_bytes()), ("data/sales.csv", sales.as_bytes())],
    );
    let run = |token: Option<&str>| {
        let mut cmd = crate::common::snop();
        cmd.current_dir(tmp.path()).args(["run", "demand-review", "--cycle", "2026-12", "--quiet"]);
        match token {
            Some(t) => cmd.env("SNOP_TEST_ERP_TOKEN", t),
            None => cmd.env_remove("SNOP_TEST_ERP_TOKEN"),
        };
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, err) = run(None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("source `items` needs the environment variable `SNOP_TEST_ERP_TOKEN`"), "{err}");

    let (code, out, err) = run(Some("s3cret"));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("run 1 "), "{out}");
    let kept = fs_err::read(tmp.path().join("runs/2026-12/demand-review/run-1/inputs/items")).unwrap();
    assert_eq!(kept, ITEMS.as_bytes(), "the pulled bytes are kept with the run");

    let (code, out, _) = run(Some("s3cret"));
    assert_eq!(code, 0);
    assert!(out.starts_with("inputs unchanged since run 1"), "{out}");

    s.body.lock().unwrap().push_str("P-3,pumps,ea,120,70,LEEDS,new,\n");
    let (code, out, err) = run(Some("s3cret"));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("run 2 "), "a changed body is a new run: {out}");
    let (_, out, _) = run_in(tmp.path(), &["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_ne!(runs[0]["inputs_sha256"], runs[1]["inputs_sha256"]);
}

/// `snop bench ingest` runs on a fresh folder (it was broken by pipelines naming files not there):
/// both phases read every generated line, snop's kept and quarantined together.
#[test]
fn the_ingest_benchmark_reads_every_line_in_both_phases() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bench");
    let out = crate::common::snop()
        .args(["bench", "ingest", "--rows", "3000", "--repeat", "1", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("rows read: polars 3000, snop 3000 (kept and quarantined)"), "{stdout}");
    let ratio = stdout.lines().find_map(|l| l.strip_prefix("time ratio (snop / polars bare): ")).unwrap();
    assert!(ratio.trim_end_matches('x').parse::<f64>().unwrap() > 0.0, "{stdout}");
}
