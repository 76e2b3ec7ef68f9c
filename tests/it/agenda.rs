//! The one-page agenda (issue 19, item 4): what people print of a draft's page is its agenda,
//! the seed's five lines, on one A4 page and one Letter page. Proved by printing with headless
//! Chromium and counting the PDF's pages with poppler's `pdfinfo`, on the demo's month two (all
//! five meetings) and on a hand-built agenda as long as 50,000 SKUs make one; each page is kept
//! as an image under the target folder's `test-outputs/`.

use std::path::Path;

use snop::artifacts::review;
use snop::draft::{Agenda, AgendaDecision, DraftContent, LastCycle, Scorecard};

use crate::common::{run_in, test_outputs};

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

fn printers() {
    let missing: Vec<&str> = ["chromium", "pdfinfo", "pdftoppm"].into_iter().filter(|p| !on_path(p)).collect();
    assert!(
        missing.is_empty(),
        "`{}` not found: install them with `apt-get install chromium poppler-utils` (or run `.ci/setup`)",
        missing.join("`, `")
    );
}

/// The page printed by Chromium on `size` paper (`A4`, `letter`): its page count and the page
/// size `pdfinfo` reports; the PDF and its first page as PNG kept in `out`.
fn printed_pages(html: &str, size: &str, out: &Path) -> (usize, String) {
    let html = html.replacen("</head>", &format!("<style>@page {{ size: {size}; }}</style></head>"), 1);
    let pdf = snop::pipeline::pdf::print_pdf(&html).unwrap();
    let file = out.join(format!("agenda-{size}.pdf"));
    fs_err::write(&file, &pdf).unwrap();
    let info = std::process::Command::new("pdfinfo").arg(&file).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout).to_string();
    let field = |name: &str| info.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string());
    let pages = field("Pages:").expect("pdfinfo reports the pages").parse().unwrap();
    let status = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "50", "-f", "1", "-l", "1"])
        .arg(&file)
        .arg(out.join(format!("agenda-{size}")))
        .status()
        .unwrap();
    assert!(status.success());
    (pages, field("Page size:").unwrap_or_default())
}

/// Prints `html` on A4 and on Letter and asserts one page each.
fn one_page_on_both(html: &str, name: &str) {
    let out = test_outputs(name);
    fs_err::write(out.join("page.html"), html).unwrap();
    for (size, paper) in [("A4", "(A4)"), ("letter", "(letter)")] {
        let (pages, shown) = printed_pages(html, size, &out);
        assert!(shown.ends_with(paper), "{name}: printed on {shown}, not {size}");
        assert_eq!(pages, 1, "{name} prints on {pages} {size} pages (kept in `{}`)", out.display());
    }
}

/// A long text: a line of the agenda as a 50,000-SKU company writes it (long ids, names,
/// numbers), far longer than two printed lines.
fn long(what: &str, i: usize) -> String {
    format!(
        "{what} {i}: gap `MAT-RM-{i:05}-2027-0{}` on component RM-{i:05} at site MONTERREY-ASSEMBLY-LINE-{i} hits 1,234 SKUs of 57 customers from 2027-02 to 2027-06, 123,456.7 units short and 9,876,543 EUR of revenue at risk unless the alternate supplier or overtime is approved in time",
        1 + i % 9
    )
}

fn decision(what: &str, i: usize, owners: usize) -> AgendaDecision {
    AgendaDecision {
        decision: long(what, i),
        owner: format!("the owner number {} (Person With A Long Name {})", i % owners, i % owners),
        due: format!("2027-01-{:02}", 10 + i % 19),
    }
}

/// 40 items in every list, every one far longer than two lines, 12 owners of decisions: the
/// printed agenda is still one page, each list says how many more there are, and the page on
/// screen lists them all.
#[test]
fn an_agenda_as_long_as_fifty_thousand_skus_make_prints_on_one_page() {
    printers();
    let n = 40;
    let agenda = Agenda {
        meeting: "supply review".into(),
        first_day: "2027-01-15".into(),
        last_day: "2027-01-18".into(),
        last_cycle: Some(LastCycle {
            cycle: "2026-12".into(),
            version: 3,
            signed_by: "Sam Okafor".into(),
            signed_at: "2026-12-14T16:02:11Z".into(),
            commitments: (0..n).map(|i| decision("commitment", i, 7)).collect(),
        }),
        this_cycle: (0..n).map(|i| long("output line", i)).collect(),
        top_risks: (0..n).map(|i| long("risk", i)).collect(),
        decisions: (0..n).map(|i| decision("decide", i, 12)).collect(),
        scorecard: Some(Scorecard {
            cycle: "2026-12".into(),
            as_of: "2027-01-15".into(),
            lines: (0..n).map(|i| long("scorecard line", i)).collect(),
            attention: (0..n).map(|i| decision("attention", i, 9)).collect(),
        }),
    };
    let narrative = snop::narrative::Narrative {
        headline: long("headline", 0),
        paragraphs: (0..30).map(|i| long("paragraph", i)).collect(),
        risks: (0..n).map(|i| long("risk", i)).collect(),
    };
    let content = DraftContent {
        artifact: "supply_plan".into(),
        cycle: "2027-01".into(),
        company: "Large Pumps & Valves Group".into(),
        locale: None,
        currency: "EUR".into(),
        narrative: narrative.clone(),
        model_narrative: narrative,
        narrative_source: "model".into(),
        fallback_reason: None,
        model: "snop-mock".into(),
        facts: serde_json::json!({"gaps": (0..200).map(|i| serde_json::json!({"id": format!("G{i}"), "text": long("gap", i)})).collect::<Vec<_>>()}),
        files: Default::default(),
        agenda,
    };
    let standing =
        review::Standing { version: 1, state: "draft".into(), content_sha256: "ab".repeat(32), signed_line: None };
    let html = review::html(&content, &standing).unwrap();
    // By hand, 40 items a list: the printed agenda shows 3 scorecard lines (37 more), 3 items
    // needing attention (37 more), 3 of last cycle's commitments (37 more), 4 output lines (36
    // more), 3 risks (37 more), 4 decisions (36 more) and 4 of the 12 owners (8 more).
    for more in [
        "and 37 more: <a href=\"#all-lines\">",
        "and 37 more: <a href=\"#all-attention\">",
        "and 37 more: <a href=\"#all-commitments\">",
        "and 36 more: <a href=\"#all-this-cycle\">",
        "and 37 more: <a href=\"#all-risks\">",
        "and 36 more: <a href=\"#all-decisions\">",
        "and 8 more owners: <a href=\"#all-decisions\">",
    ] {
        assert_eq!(html.matches(more).count(), 1, "`{more}`");
    }
    // Line 5 by hand: decisions i = 0..40 go to owner i % 12, so owner 0 has i = 0, 12, 24, 36
    // (4 decisions), due 2027-01-(10 + i % 19): the 10th, 22nd, 15th and 27th.
    assert!(
        html.contains("4 decisions due 2027-01-10 to 2027-01-27: the owner number 0 (Person With A Long Name 0)"),
        "line 5"
    );
    // The page on screen lists every item: each list's last one is there, in the lists in full.
    let full = &html[html.find("id=\"agenda-full\"").expect("the lists in full")..];
    for last in [
        "scorecard line 39:",
        "attention 39:",
        "commitment 39:",
        "output line 39:",
        "risk 39:",
        "decide 39:",
        "owner number 11",
    ] {
        assert!(full.contains(last), "`{last}` in the lists in full");
    }
    one_page_on_both(&html, "agenda-50000-skus");
}

/// The demo's month two, all five meetings: the demo makes the demand and supply drafts of
/// 2027-01; the reconciliation, the executive and the commit-back are run on them unsigned
/// (`--allow-unsigned`), so every agenda carries month one's promises scored. Each draft's page
/// prints as one A4 page and one Letter page (before: two pages of agenda, four to six in all).
#[test]
fn the_demos_month_two_agendas_print_on_one_page_each() {
    printers();
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = run_in(tmp.path(), &["demo", "ws", "--skus", "40", "--customers", "12", "--quiet"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let ws = tmp.path().join("ws");
    // The demo shows month two's invites. By hand: the executive S&OP is the third Thursday of
    // January 2027 (the 21st), 10:00-11:00; the demand review 7 working days before it, Tue 12
    // to Thu 14; 3 + 2 + 2 + 1 + 2 = 10 meeting days, one invite each.
    assert!(out.contains("10 invite(s) in `"), "{out}");
    assert!(
        out.contains(
            "executive S&OP           Thu 21 10:00-11:00, 4 invited: Olivia Chen, Leo Grant, Sam Okafor, Fiona Reyes"
        ),
        "{out}"
    );
    let ics = fs_err::read_to_string(ws.join("cycle-2027-01.ics")).unwrap();
    assert_eq!(ics.matches("BEGIN:VEVENT\r\n").count(), 10);
    for agent in ["reconciliation", "executive", "commit-back"] {
        let (code, out, err) = run_in(&ws, &["run", agent, "--cycle", "2027-01", "--allow-unsigned", "--quiet"]);
        assert_eq!(code, 0, "{agent}: {out}\n{err}");
    }
    let (code, out, err) = run_in(&ws, &["drafts", "list", "--cycle", "2027-01", "--json"]);
    assert_eq!(code, 0, "{err}");
    let drafts: serde_json::Value = serde_json::from_str(&out).unwrap();
    let drafts = drafts.as_array().unwrap();
    let mut artifacts: Vec<&str> = drafts.iter().map(|d| d["artifact"].as_str().unwrap()).collect();
    artifacts.sort();
    assert_eq!(artifacts, ["commitment_log", "demand_consensus", "reconciliation_pack", "signed_plan", "supply_plan"]);
    for d in drafts {
        let (id, artifact) = (d["id"].as_i64().unwrap().to_string(), d["artifact"].as_str().unwrap());
        let (code, html, err) = run_in(&ws, &["drafts", "show", &id, "--html"]);
        assert_eq!(code, 0, "{err}");
        assert!(html.contains("<h3>5. Owner and date for each decision</h3>"), "{artifact}: the seed's five lines");
        assert!(html.contains("2026-12, as of 2027-01-"), "{artifact}: month one's promises scored");
        one_page_on_both(&html, &format!("agenda-month-two-{artifact}"));
    }
}
