//! Issue 20: the demand review drafted against `snop mock-llm` in each hostile mode, end to end
//! through the binary: what is stored, what the pages and the workbook show, what the run
//! report and `snop runs` say.

use std::path::Path;
use std::process::{Child, Stdio};

use calamine::Reader;

use crate::common::{copy_dir, json, repo, run_in, snop};

/// `snop mock-llm` on a free loopback port in `fault`, killed when dropped.
struct MockLlm {
    child: Child,
    port: u16,
}

impl MockLlm {
    fn start(fault: &str) -> MockLlm {
        MockLlm::start_with(&["--fault", fault])
    }

    /// With `args` after the port (a fault, `--locale de-DE`).
    fn start_with(args: &[&str]) -> MockLlm {
        let fault = args.join(" ");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = snop()
            .args(["mock-llm", "--port", &port.to_string(), "--retry-after-secs", "0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Killed and waited for when dropped, on every path.
        let mock = MockLlm { child, port };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return mock;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("snop mock-llm {fault} did not listen on {port}");
    }
}

impl Drop for MockLlm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo workspace on the committed fixture, drafting with the mock at `port`; runs the
/// demand review of 2026-12 and returns the run's folder.
fn demand_run(dir: &Path, port: u16) -> std::path::PathBuf {
    demand_run_in(dir, port, None)
}

/// [`demand_run`] in `[company] locale` `locale` when given.
fn demand_run_in(dir: &Path, port: u16, locale: Option<&str>) -> std::path::PathBuf {
    snop::demo::init(dir, snop::demo::DEMO_COMPANY).unwrap();
    copy_dir(&repo().join("fixtures/demo/data"), &dir.join("data"));
    let mut toml = fs_err::read_to_string(dir.join("snop.toml")).unwrap().replace(
        "base_url = \"mock\"",
        &format!("base_url = \"http://127.0.0.1:{port}/v1\"\nbackoff_initial_ms = 5\nmax_backoff_ms = 20"),
    );
    if let Some(tag) = locale {
        toml = toml.replacen("currency = \"EUR\"", &format!("currency = \"EUR\"\nlocale = \"{tag}\""), 1);
        assert!(toml.contains(&format!("locale = \"{tag}\"")), "the demo's snop.toml names its currency");
    }
    fs_err::write(dir.join("snop.toml"), toml).unwrap();
    let (code, out, err) = run_in(dir, &["run", "demand-review", "--cycle", "2026-12"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (_, runs, _) = run_in(dir, &["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&runs).unwrap();
    dir.join(runs[0]["folder"].as_str().unwrap())
}

/// Every cell of a sheet as text.
fn cells(book: &Path, sheet: &str) -> Vec<String> {
    let mut wb = calamine::open_workbook_auto(book).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    range.rows().flat_map(|r| r.iter().map(|c| c.to_string())).filter(|c| !c.is_empty()).collect()
}

/// Names, numbers and data text: every mode's reply fails the check on each of the three
/// tries, so the stored draft is the fallback, says why in words, and counts every call.
#[test]
fn hostile_replies_never_reach_a_stored_draft() {
    for (fault, invented) in
        [("invent-name", "CUSTOMER_47"), ("number-words", "Revenue is"), ("data-text", "APPROVED BY CEO")]
    {
        let mock = MockLlm::start(fault);
        let tmp = tempfile::tempdir().unwrap();
        let folder = demand_run(tmp.path(), mock.port);
        let narrative = json(&folder.join("narrative.json"));
        assert_eq!(narrative["source"], "fallback", "{fault}: {narrative}");
        assert!(!narrative["text"].as_str().unwrap().contains(invented), "{fault}");
        let report = json(&folder.join("report.json"));
        assert_eq!(report["narrative"]["llm_calls"], 3, "{fault}: {report}");
        assert_eq!(report["narrative"]["attempts"].as_array().unwrap().len(), 3);
        let reason = report["narrative"]["fallback_reason"].as_str().unwrap().to_string();
        assert!(reason.starts_with("the model's drafts did not pass the fact check three times"), "{reason}");
        let md = fs_err::read_to_string(folder.join("demand-consensus-2026-12.md")).unwrap();
        assert!(md.contains("**Not written by the model:** the model's drafts did not pass"), "{md}");
        let summary = cells(&folder.join("demand-consensus-2026-12.xlsx"), "Summary");
        assert!(summary.contains(&format!("Not written by the model: {reason}.")), "{fault}: {summary:?}");
        let (_, runs, _) = run_in(tmp.path(), &["runs"]);
        assert!(runs.contains("narrative not written by the model: the model's drafts did not pass"), "{runs}");
    }
}

/// `snop mock-llm --locale de-DE` run standalone writes the narrative's numbers as a German
/// reader does (`1.234,5`) and the fact check grounds them in a `de-DE` workspace: the stored
/// draft is the model's. Without the flag (and no `snop.toml` where it runs) it writes en-US
/// (`1,234.5`), grounded in an en-US workspace.
#[test]
fn the_standalone_mock_writes_numbers_in_the_locale_and_they_ground() {
    let german = regex::Regex::new(r"\d\.\d{3}\b").unwrap();
    let english = regex::Regex::new(r"\d,\d{3}\b").unwrap();
    for (args, tag) in [(&["--locale", "de-DE"][..], Some("de-DE")), (&[][..], None)] {
        let mock = MockLlm::start_with(args);
        let tmp = tempfile::tempdir().unwrap();
        let folder = demand_run_in(tmp.path(), mock.port, tag);
        let narrative = json(&folder.join("narrative.json"));
        assert_eq!(narrative["source"], "model", "{args:?}: {narrative}");
        let text = narrative["text"].as_str().unwrap();
        let (want, not) = if tag.is_some() { (&german, &english) } else { (&english, &german) };
        assert!(want.is_match(text) && !not.is_match(text), "{args:?}: {text}");
    }
}

/// True but tricky sentences pass at the first try.
#[test]
fn tricky_true_replies_are_stored_as_written() {
    let mock = MockLlm::start("tricky-true");
    let tmp = tempfile::tempdir().unwrap();
    let folder = demand_run(tmp.path(), mock.port);
    let narrative = json(&folder.join("narrative.json"));
    assert_eq!(narrative["source"], "model", "{narrative}");
    assert!(narrative["text"].as_str().unwrap().contains("Over the next 3 months the plan holds."));
    assert_eq!(json(&folder.join("report.json"))["narrative"]["llm_calls"], 1);
}

/// A payload that passes the check (true words) is inert in every file: the workbook's cells
/// are text with a leading apostrophe, the Markdown page has no link out of the workspace.
#[test]
fn payloads_are_inert_in_the_workbook_and_the_markdown_page() {
    let mock = MockLlm::start("payload");
    let tmp = tempfile::tempdir().unwrap();
    let folder = demand_run(tmp.path(), mock.port);
    let narrative = json(&folder.join("narrative.json"));
    assert_eq!(narrative["source"], "model", "{narrative}");
    let headline = narrative["sections"]["headline"].as_str().unwrap().to_string();
    assert!(headline.starts_with("=HYPERLINK("), "{headline}");
    let book = folder.join("demand-consensus-2026-12.xlsx");
    let summary = cells(&book, "Summary");
    assert!(summary.contains(&format!("'{headline}")), "{summary:?}");
    let agenda = cells(&book, "Agenda");
    let live: Vec<&String> = summary.iter().chain(&agenda).filter(|c| c.starts_with(['=', '+', '@'])).collect();
    assert!(live.is_empty(), "{live:?}");
    let md = fs_err::read_to_string(folder.join("demand-consensus-2026-12.md")).unwrap();
    assert!(!md.contains("](http"), "{md}");
}

/// The server answers HTTP 429 four times: the report counts the four calls, each attempt's
/// status, and says so in words; so do the page and `snop runs`.
#[test]
fn a_server_that_only_rate_limits_is_reported_in_words() {
    let mock = MockLlm::start("rate-limit");
    let tmp = tempfile::tempdir().unwrap();
    let folder = demand_run(tmp.path(), mock.port);
    let report = json(&folder.join("report.json"));
    let n = &report["narrative"];
    assert_eq!(n["llm_calls"], 4, "{report}");
    let statuses: Vec<u64> = n["attempts"].as_array().unwrap().iter().map(|a| a["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, vec![429; 4]);
    let reason = "the LLM server answered HTTP 429 four times; this summary was built from the facts";
    assert_eq!(n["fallback_reason"], reason);
    let html = fs_err::read_to_string(folder.join("demand-consensus-2026-12.html")).unwrap();
    assert!(html.contains(reason), "the draft page says why");
    // So does the workbook's Summary sheet: not "did not pass the fact check".
    let summary = cells(&folder.join("demand-consensus-2026-12.xlsx"), "Summary");
    assert!(summary.contains(&format!("Not written by the model: {reason}.")), "{summary:?}");
    assert!(!summary.iter().any(|c| c.contains("fact check")), "{summary:?}");
    let (_, runs, _) = run_in(tmp.path(), &["runs"]);
    assert!(runs.contains(reason), "{runs}");
}
