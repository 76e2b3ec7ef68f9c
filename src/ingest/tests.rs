//! The typed CSV read (numbers parsed by the reader, the text read again where a value came out
//! null) against the all-text read: the same frames, the same quarantine, the same counts.

use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::config::Workspace;
use crate::contract::{Kind, Month};
use crate::sop::Agent;

/// Cells a planner's numbers come as: clean, padded, quoted, with a comma, in exponent form,
/// empty, text, out of range, not finite, beyond `f64`, and `+`, `.5`, `5.` forms.
const NUMBERS: &[&str] = &[
    "12",
    "0",
    "-3",
    " 12 ",
    "\t7",
    "12 ",
    "\"12\"",
    "\" 4.5 \"",
    "1,5",
    "\"1,5\"",
    "1e3",
    "1E-2",
    "",
    " ",
    "\"\"",
    "abc",
    "12abc",
    "inf",
    "-inf",
    "NaN",
    "1e400",
    "1e22",
    "+5",
    ".5",
    "5.",
    "1_000",
    "0x10",
    "½",
    "\u{a0}3",
    "007",
    "2.50",
    "9007199254740993",
    "-0",
    "\"=1+2\"",
    "3\r",
];

const PIPELINE: &str = r#"agent = "demand-review"
[quarantine]
max_percent = 100.0
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
path = "data/sales_*.csv"
[[sources]]
table = "sales_adjustments"
type = "csv"
path = "data/adjustments*.csv"
"#;

fn window() -> Window {
    Window { cycle: Month::parse("2026-12").expect("month"), history_months: 36, plan_months: 18 }
}

/// A workspace whose four CSV files take their number cells, in turn, from `cells`.
fn workspace(dir: &Path, cells: &[&str]) -> Workspace {
    crate::demo::init(dir, "Test Co").expect("init");
    for p in fs_err::read_dir(dir.join("pipelines")).expect("pipelines") {
        fs_err::remove_file(p.expect("entry").path()).expect("remove");
    }
    fs_err::write(dir.join("pipelines/demand-review.toml"), PIPELINE).expect("pipeline");
    let mut cell = cells.iter().cycle();
    let mut next = || *cell.next().expect("cells");
    let mut items = String::from("sku,family,uom,unit_price,unit_cost,make_site,lifecycle,end_month\n");
    for i in 0..6 {
        items.push_str(&format!("P-{i},pumps,ea,{},{},LEEDS,active,\n", next(), next()));
    }
    items.push_str("P-9,pumps,ea,100,60,LEEDS,active,\n");
    let mut customers = String::from("customer,channel,region,account_manager,priority\nC-9,oem,EMEA,ana,1\n");
    for i in 0..6 {
        customers.push_str(&format!("C-{i},oem,EMEA,ana,{}\n", next()));
    }
    // Two files of one source, one with Windows line ends.
    let mut sales = [String::new(), String::new()];
    for (f, text) in sales.iter_mut().enumerate() {
        let end = if f == 0 { "\n" } else { "\r\n" };
        text.push_str(&format!("order_id,order_date,ship_date,sku,customer,qty,net_revenue{end}"));
        for i in 0..(cells.len() + 3) {
            let date = ["2026-03-01", "2026-3-1", "2026-03-02", "", "2026-03-03", "03/01/2026"][i % 6];
            // One corpus cell a row, in `qty` or `net_revenue` by turns, so most rows are kept.
            let (qty, revenue) = if i % 2 == 0 { (next(), "10") } else { ("5", next()) };
            let (sku, customer) = if i % 3 == 0 {
                (format!("P-{}", i % 7), format!("C-{}", i % 7))
            } else {
                ("P-9".into(), "C-9".into())
            };
            text.push_str(&format!("SO{f}{i},{date},,{sku},{customer},{qty},{revenue}{end}"));
        }
    }
    let mut adjustments = String::from("sku,customer,family,month,delta,override,reason,owner\n");
    for i in 0..(cells.len() / 2 + 2) {
        // The cell in `delta` or `override` by turns, the other empty; every fifth row both.
        let (delta, over) = match i % 5 {
            4 => (next(), next()),
            k if k % 2 == 0 => (next(), ""),
            _ => ("", next()),
        };
        adjustments.push_str(&format!("P-{},,,2027-0{},{delta},{over},promo,ana\n", i % 6, 1 + i % 9));
    }
    for (name, text) in [
        ("data/items.csv", items),
        ("data/customers.csv", customers),
        ("data/sales_1.csv", sales[0].clone()),
        ("data/sales_2.csv", sales[1].clone()),
        ("data/adjustments.csv", adjustments),
        // A second file without the optional `override` column.
        (
            "data/adjustments_more.csv",
            format!("sku,month,delta,reason,owner\nP-1,2027-02,{},promo,ana\nP-2,2027-03,,promo,ana\n", next()),
        ),
    ] {
        fs_err::write(dir.join(name), text).expect("write");
    }
    Workspace::load(dir).expect("workspace")
}

fn run(dir: &Path, pipeline: &Pipeline, mode: read::Mode) -> Result<Ingested, IngestError> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    rt.block_on(ingest_with(dir, pipeline, window(), &crate::Progress::hidden(), mode))
}

/// Both reads of the workspace give the same tables, quarantine and counts; returns how many
/// rows were quarantined and how many number values the typed read parsed itself.
fn same_both_ways(cells: &[&str]) -> (usize, usize) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ws = workspace(tmp.path(), cells);
    let pipeline = ws.pipeline(Agent::DemandReview).expect("pipeline");
    let typed = run(tmp.path(), pipeline, read::Mode::Typed);
    let text = run(tmp.path(), pipeline, read::Mode::Text);
    let (typed, text) = match (typed, text) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string());
            return (0, 0);
        }
        (a, b) => panic!("one read failed: typed {:?}, text {:?}", a.err(), b.err()),
    };
    assert_eq!(typed.tables.keys().collect::<Vec<_>>(), text.tables.keys().collect::<Vec<_>>());
    let mut parsed = 0;
    for (t, frame) in &typed.tables {
        let other = &text.tables[t];
        assert_eq!(frame.schema(), other.schema(), "{t}");
        assert!(frame.equals_missing(other), "{t}: typed\n{frame}\ntext\n{other}");
        for m in t.spec().columns.iter().filter(|c| matches!(c.kind, Kind::Number | Kind::Int)) {
            parsed += frame.column(m.name).map_or(0, |c| c.len() - c.null_count());
        }
    }
    assert_eq!(typed.quarantine, text.quarantine);
    let counts =
        |i: &Ingested| i.sources.iter().map(|s| (s.rows_read, s.rows_kept, s.rows_quarantined)).collect::<Vec<_>>();
    assert_eq!(counts(&typed), counts(&text));
    (typed.quarantine.len(), parsed)
}

#[test]
fn typed_and_text_reads_agree_on_every_kind_of_number_cell() {
    let (quarantined, parsed) = same_both_ways(NUMBERS);
    // The corpus has bad cells and good ones, and both reads judged them alike.
    assert!(quarantined > 20, "{quarantined} quarantined");
    assert!(parsed > 40, "{parsed} numbers kept");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn typed_and_text_reads_agree_on_mixed_files(picks in proptest::collection::vec(0..NUMBERS.len(), 8..40)) {
        let cells: Vec<&str> = picks.iter().map(|&i| NUMBERS[i]).collect();
        same_both_ways(&cells);
    }
}

#[test]
fn a_typed_value_is_judged_from_its_text_where_the_reader_gave_up() {
    // Row 2: a padded number the reader does not take (kept as 12 all the same); row 3: text
    // (quarantined with its text as written); row 4: negative (quarantined with `-3`, not `-3.0`).
    let tmp = tempfile::tempdir().expect("tempdir");
    let ws = workspace(tmp.path(), &["1"]);
    fs_err::write(
        tmp.path().join("data/sales_1.csv"),
        "order_id,order_date,ship_date,sku,customer,qty,net_revenue\n\
         SO1,2026-03-01,,P-1,C-1,\" 12 \",10\nSO2,2026-03-01,,P-1,C-1,twelve,10\nSO3,2026-03-01,,P-1,C-1,-3,10\n",
    )
    .expect("write");
    fs_err::remove_file(tmp.path().join("data/sales_2.csv")).expect("remove");
    let got = run(tmp.path(), ws.pipeline(Agent::DemandReview).expect("pipeline"), read::Mode::Typed).expect("ingest");
    let sales = got.table(Table::SalesHistory).expect("sales");
    let qty: Vec<Option<f64>> = sales.column("qty").expect("qty").f64().expect("f64").iter().collect();
    assert_eq!(qty, [Some(12.0)]);
    let q: Vec<(u64, &str, &str, &str)> = got
        .quarantine
        .iter()
        .filter(|q| q.file == "data/sales_1.csv")
        .map(|q| (q.row, q.column.as_str(), q.value.as_str(), q.reason.as_str()))
        .collect();
    assert_eq!(q, [(3, "qty", "twelve", "not a number"), (4, "qty", "-3", "must be >= 0")]);
}

#[test]
fn no_key_column_is_a_number() {
    // Duplicate messages show a key's text from the frame; a typed column has none there.
    for t in Table::ALL {
        for k in t.spec().key {
            let kind = t.spec().column(k).expect("a key is a column").kind;
            assert!(!matches!(kind, Kind::Number | Kind::Int), "{t}.{k}");
        }
    }
}
