//! The cycle's pages over HTTP on a real demo workspace: the COO decides trade-offs on the
//! decisions page (others are refused), an account manager updates their own commitment-log
//! lines, and a run's tables are paged and filtered from its Parquet files (the pack's PDF
//! downloads from its page).

use std::path::Path;

use reqwest::StatusCode;
use serde_json::Value;
use snop::draft::sha256_hex;
use snop::sop::Artifact;
use snop::store::Store;

use super::{CYCLE, csrf_of, demo_login, demo_server, get, http, post};
use crate::common::block_on;

/// The decisions page of a `de-DE` workspace (`Options::locale`, as `snop serve` sets it from
/// `[company] locale`) writes its figures in German: each trade-off's margin at risk as
/// `Locale::DeDe` writes it, never as en-US does.
async fn in_german(ws_dir: &Path, listed: &[Value]) {
    use snop::analysis::locale::Locale;
    use snop::web::{self, App, Options};
    let ws = snop::config::Workspace::load_without_inputs(ws_dir).unwrap();
    let store = snop::pipeline::open_store(&ws).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let options = Options { locale: Locale::DeDe, ..Options::default() };
    tokio::spawn(web::serve(
        listener,
        App::new(store, ws.directory(), ws.company.clone(), options),
        std::future::pending(),
    ));
    let coo = demo_login(&base, "olivia.chen").await;
    let (s, page) = get(&base, "/cycles/2026-12/decisions", &coo).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let mut grouped = 0;
    for t in listed {
        let m = t["trade_off"]["margin_at_risk_money"].as_f64().unwrap();
        let (de, en) = (Locale::DeDe.number(m), Locale::EnUs.number(m));
        assert!(page.contains(&format!("margin at risk {de},")), "{de} in the page");
        if de != en {
            grouped += 1;
            assert!(!page.contains(&format!("margin at risk {en},")), "{en} in the page");
        }
    }
    assert!(grouped > 0, "a margin of 1,000 or more, written apart in German");
}

#[test]
fn the_coo_decides_a_trade_off_in_the_browser_and_others_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let (ws_dir, base) = demo_server(tmp.path()).await;
        let coo = demo_login(&base, "olivia.chen").await;
        // The board links to the cycle's two pages.
        let (_, board) = get(&base, "/?cycle=2026-12", &coo).await;
        assert!(
            board.contains("href=\"/cycles/2026-12/decisions\"")
                && board.contains("href=\"/cycles/2026-12/commitments\"")
        );
        let (s, page) = get(&base, "/cycles/2026-12/decisions", &coo).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let list = |ws: &Path| -> Vec<Value> {
            let (code, out, err) = crate::common::run_in(ws, &["decide", "--cycle", CYCLE, "--list", "--json"]);
            assert_eq!(code, 0, "{err}");
            serde_json::from_str(&out).unwrap()
        };
        let before = list(&ws_dir);
        in_german(&ws_dir, &before).await;
        let tradeoff = before[0]["trade_off"]["id"].as_str().unwrap().to_string();
        assert!(page.contains(&format!("{tradeoff} · ")), "every trade-off is listed: {page}");
        let options: Vec<&str> =
            before[0]["trade_off"]["options"].as_array().unwrap().iter().map(|o| o["key"].as_str().unwrap()).collect();
        assert!(options.contains(&"accept_shortfall"), "{options:?}");
        let csrf = csrf_of(&page);
        let hostile_note = "<b>go</b> now";
        let decide = [
            ("csrf", csrf.as_str()),
            ("tradeoff", tradeoff.as_str()),
            ("choice", "option"),
            ("option", "accept_shortfall"),
            ("owner", "sam.okafor"),
            ("due", "2027-01-15"),
            ("note", hostile_note),
        ];
        let (s, body) = post(&base, "/cycles/2026-12/decisions", Some(&coo), &decide, &[]).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(
            body.contains(&format!("on trade-off `{tradeoff}` of 2026-12 recorded for Olivia Chen (COO)")),
            "{body}"
        );
        assert!(body.contains("&lt;b&gt;go&lt;/b&gt; now") && !body.contains(hostile_note), "the note is escaped");
        // `snop decide --list` shows the decision that counts now.
        let after = list(&ws_dir);
        let d = &after[0]["decision"];
        assert_eq!(
            (
                d["kind"].as_str(),
                d["option"].as_str(),
                d["owner"].as_str(),
                d["due"].as_str(),
                d["decided_by"].as_str()
            ),
            (Some("option"), Some("accept_shortfall"), Some("sam.okafor"), Some("2027-01-15"), Some("olivia.chen")),
            "{d}"
        );
        assert_eq!(d["note"].as_str(), Some(hostile_note));
        // Found by a resource, or only the undecided ones; a page at a time.
        let n = |x: usize| snop::artifacts::review::format_number(x as f64);
        let total = before.len();
        // A word of the decisions' places (a supplier, a resource) found in some but not all.
        let place = |t: &Value| t["trade_off"]["place"].as_str().unwrap().to_string();
        let with = |word: &str| before.iter().filter(|t| place(t).contains(word)).count();
        let word = before
            .iter()
            .flat_map(|t| place(t).split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .find(|w| w.len() > 3 && (2..total).contains(&with(w)))
            .expect("a word in some decisions' places");
        let on_line = with(&word);
        let find = word.to_lowercase();
        let (_, page) = get(&base, &format!("/cycles/2026-12/decisions?find={find}"), &coo).await;
        assert!(page.contains(&format!("trade-offs 1-{on_line} of {on_line} (filtered from {})", n(total))), "{page}");
        assert_eq!(page.matches("class=\"tradeoff\"").count(), on_line);
        let (_, page) = get(&base, "/cycles/2026-12/decisions?open=1", &coo).await;
        // The demo decided every trade-off of its month one: none is open.
        let open = after.iter().filter(|t| t["decision"].is_null()).count();
        assert_eq!(open, 0);
        assert!(page.contains(&format!("no trade-offs (filtered from {})", n(total))), "{page}");
        assert!(!page.contains("class=\"tradeoff\""), "the decided ones are not shown");
        // A decision posted from a found page comes back to that page, not the first (on another
        // trade-off than the one checked below).
        let on_line_id = before
            .iter()
            .map(|t| t["trade_off"]["id"].as_str().unwrap())
            .zip(&before)
            .find(|(id, t)| place(t).contains(&word) && *id != tradeoff)
            .unwrap()
            .0;
        let from_found = [
            ("csrf", csrf.as_str()),
            ("tradeoff", on_line_id),
            ("choice", "action"),
            ("action", "move the volume to the second shift"),
            ("owner", "sam.okafor"),
            ("due", "2027-01-20"),
            ("find", find.as_str()),
            ("open", ""),
            ("page", "1"),
        ];
        let (s, body) = post(&base, "/cycles/2026-12/decisions", Some(&coo), &from_found, &[]).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(body.contains(&format!("on trade-off `{on_line_id}` of 2026-12 recorded")), "{body}");
        assert!(body.contains(&format!("trade-offs 1-{on_line} of {on_line} (filtered from {})", n(total))), "{body}");
        assert!(body.contains(&format!("value=\"{find}\"")), "the search box keeps what was searched: {body}");

        // A demand lead sees no form, and a decision posted anyway is refused naming who may.
        let dana = demo_login(&base, "dana.whitfield").await;
        let (_, page) = get(&base, "/cycles/2026-12/decisions", &dana).await;
        assert!(!page.contains("class=\"decide\""), "no decision form for a demand lead");
        let mut forged = decide;
        let dana_csrf = csrf_of(&page);
        forged[0] = ("csrf", &dana_csrf);
        let (s, body) = post(&base, "/cycles/2026-12/decisions", Some(&dana), &forged, &[]).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains("only the COO (Olivia Chen) may") && !body.contains("nobody holds"), "{body}");
        assert!(body.contains("Dana Whitfield is not allowed to"), "{body}");
        assert_eq!(list(&ws_dir)[0]["decision"]["id"], d["id"], "nothing recorded");
        // Nor may she say it is done; its owner, the supply lead, may.
        let (s, body) = post(
            &base,
            "/cycles/2026-12/decisions/done",
            Some(&dana),
            &[("csrf", &dana_csrf), ("tradeoff", &tradeoff)],
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains("only the decision&#39;s owner (Sam Okafor) or the COO (Olivia Chen)"), "{body}");
        let sam = demo_login(&base, "sam.okafor").await;
        let (_, page) = get(&base, "/cycles/2026-12/decisions", &sam).await;
        let (s, body) = post(
            &base,
            "/cycles/2026-12/decisions/done",
            Some(&sam),
            &[("csrf", &csrf_of(&page)), ("tradeoff", &tradeoff), ("note", "accepted with the customers")],
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(body.contains(&format!("on trade-off `{tradeoff}` of 2026-12 is done (Sam Okafor at ")), "{body}");
        let store = Store::open(&ws_dir, "sqlite://snop.db").await.unwrap();
        let done = store.decisions_done(CYCLE).await.unwrap();
        let id = d["id"].as_i64().unwrap();
        assert_eq!(
            done.iter().filter(|x| x.decision_id == id).map(|x| x.done_by.as_str()).collect::<Vec<_>>(),
            ["sam.okafor"]
        );
    });
}

#[test]
fn an_account_manager_updates_their_own_commitment_lines() {
    use calamine::{Data, Reader};
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let (ws_dir, base) = demo_server(tmp.path()).await;
        let store = Store::open(&ws_dir, "sqlite://snop.db").await.unwrap();
        let month = snop::contract::Month::parse(CYCLE).unwrap();
        let (_, log) = snop::pipeline::commitment_lines::latest_commitment_log(&store, month).await.unwrap().unwrap();
        let ana: Vec<_> = log.lines.iter().filter(|l| l.owner == "ana.lopez").collect();
        let theirs = log.lines.iter().find(|l| l.owner == "eva.novak").unwrap();
        // A line of Ana's the demo's returned log did not touch (it re-negotiated every fifth).
        let line = ana.iter().find(|l| l.status == "to communicate").unwrap();
        let cookie = demo_login(&base, "ana.lopez").await;
        let (s, page) = get(&base, "/cycles/2026-12/commitments?mine=1", &cookie).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let expected = format!(
            "lines 1-{} of {} (filtered from {})",
            ana.len().min(50),
            ana.len(),
            snop::artifacts::review::format_number(log.lines.len() as f64)
        );
        assert!(page.contains(&expected), "{expected}: {page}");
        assert!(page.contains(&line.line_id) && !page.contains(&theirs.line_id), "only her lines");
        // Everyone's lines, paged 50 at a time.
        let (_, all) = get(&base, "/cycles/2026-12/commitments?page=2", &cookie).await;
        assert!(all.contains(&format!("lines 51-100 of {}", log.lines.len())), "{all}");

        let csrf = csrf_of(&page);
        let note = "<script>alert(3)</script> told on the phone";
        let returns = ws_dir.join("returns");
        let files = || {
            let mut v: Vec<String> = fs_err::read_dir(&returns)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let before = files();
        let (s, body) = post(
            &base,
            "/cycles/2026-12/commitments",
            Some(&cookie),
            &[("csrf", &csrf), ("line", &line.line_id), ("status", "communicated"), ("note", note), ("mine", "1")],
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(body.contains("saved as `returns/log-2026-12-web-"), "{body}");
        assert!(body.contains("`snop run commit-back --cycle 2026-12`"), "{body}");
        let after = files();
        assert_eq!(after.len(), before.len() + 1, "one new workbook, nothing staged left: {after:?}");
        let new = after.iter().find(|f| !before.contains(f)).unwrap();
        assert!(new.starts_with("log-2026-12-web-") && new.ends_with("-ana.lopez.xlsx"), "{new}");
        // The returned workbook, read back as ingest reads it: the Log sheet, one row.
        let mut book = calamine::open_workbook_auto(returns.join(new)).unwrap();
        let range = book.worksheet_range("Log").unwrap();
        let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
        let text = |s: &str| Data::String(s.into());
        assert_eq!(
            rows,
            vec![
                vec![text("Line"), text("Status"), text("Committed"), text("Note"), text("Owner")],
                vec![
                    text(&line.line_id),
                    text("communicated"),
                    Data::Float(line.committed),
                    text(note),
                    text("ana.lopez")
                ],
            ]
        );

        // A line someone else owns is refused, naming its owner; nothing is written.
        let (s, body) = post(
            &base,
            "/cycles/2026-12/commitments",
            Some(&cookie),
            &[("csrf", &csrf), ("line", &theirs.line_id), ("status", "accepted"), ("note", "")],
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains(&format!("line {} (", theirs.line_id)), "{body}");
        assert!(
            body.contains("is Eva Novak&#39;s: only its owner updates its status; Ana Lopez is not allowed to"),
            "{body}"
        );
        assert_eq!(files(), after);

        // Issue 21: 100 saves of one line are one returned-log file per save window (the last
        // save replacing the one before in its window), never 100 files; the last save counts.
        let first_window = chrono::Utc::now().timestamp() / snop::pipeline::commitment_lines::SAVE_WINDOW_SECS;
        for i in 0..100 {
            let (status, text) =
                if i == 99 { ("communicated", note.to_string()) } else { ("accepted", format!("try {i}")) };
            let form = [("csrf", csrf.as_str()), ("line", &line.line_id), ("status", status), ("note", &text)];
            let (s, body) = post(&base, "/cycles/2026-12/commitments", Some(&cookie), &form, &[]).await;
            assert_eq!(s, StatusCode::OK, "{body}");
        }
        let windows =
            chrono::Utc::now().timestamp() / snop::pipeline::commitment_lines::SAVE_WINDOW_SECS - first_window + 1;
        let saved: Vec<String> = files().into_iter().filter(|f| !before.contains(f)).collect();
        assert!(
            !saved.is_empty() && saved.len() as i64 <= windows && saved.iter().all(|f| f.ends_with("-ana.lopez.xlsx")),
            "{} window(s): {saved:?}",
            windows
        );
        assert!(files().iter().all(|f| !f.ends_with(".part")), "nothing staged is left");
        let last = saved.iter().max().unwrap();
        let mut book = calamine::open_workbook_auto(returns.join(last)).unwrap();
        let range = book.worksheet_range("Log").unwrap();
        let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
        assert_eq!((&rows[1][1], &rows[1][3]), (&text("communicated"), &text(note)), "the last save is kept");

        // The commit-back agent's next run makes a new version of the log with the update; the
        // page shows it, the note escaped.
        let (code, _, err) = crate::common::run_in(&ws_dir, &["run", "commit-back", "--cycle", CYCLE]);
        assert_eq!(code, 0, "{err}");
        let (_, log) = snop::pipeline::commitment_lines::latest_commitment_log(&store, month).await.unwrap().unwrap();
        let updated = log.lines.iter().find(|l| l.line_id == line.line_id).unwrap();
        assert_eq!((updated.status.as_str(), updated.note.as_deref()), ("communicated", Some(note)));
        let (_, page) = get(&base, "/cycles/2026-12/commitments?mine=1", &cookie).await;
        assert!(page.contains("&lt;script&gt;alert(3)&lt;/script&gt; told on the phone"), "{page}");
        assert!(!page.contains("<script>alert(3)"), "spreadsheet text is escaped");
    });
}

/// A run's tables come to the page from its `tables/*.parquet` (hashed in the draft like every
/// file of the run): paged and filtered, the counts those of its lines read back; a changed
/// Parquet file is not shown (the page reads the checked `facts.json` instead). The pack's PDF
/// downloads from its page.
#[test]
fn a_runs_tables_are_paged_and_filtered_from_its_parquet_files() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let (ws_dir, base) = demo_server(tmp.path()).await;
        let store = Store::open(&ws_dir, "sqlite://snop.db").await.unwrap();
        let d = store.drafts(Some(CYCLE), Some(Artifact::SupplyPlan)).await.unwrap().remove(0);
        let detail = store.draft(d.id).await.unwrap().unwrap();
        let run = store.run(d.run_id).await.unwrap().unwrap();
        let folder = ws_dir.join(&run.folder);
        let parquet = folder.join("tables/constrained_plan.parquet");
        assert_eq!(
            detail.content.files.get("tables/constrained_plan.parquet"),
            Some(&sha256_hex(&fs_err::read(&parquet).unwrap())),
            "the draft holds the Parquet file's hash"
        );
        // The expected counts, from the plan's lines as the executive reads them back.
        let bytes = fs_err::read(&parquet).unwrap();
        let lines = snop::artifacts::tables::read("tables/constrained_plan.parquet", bytes).unwrap().frame;
        let lines: Vec<snop::analysis::supply::PlanLine> = snop::artifacts::tables::rows_of(&lines).unwrap();
        let plan: Vec<Value> = lines.iter().map(|l| serde_json::to_value(l).unwrap()).collect();
        let c10003 = plan.iter().filter(|r| r["customer"].as_str().unwrap().to_lowercase().contains("c10003")).count();
        assert!(c10003 > 50 && c10003 < plan.len(), "{c10003} of {}", plan.len());
        let n = |x: usize| snop::artifacts::review::format_number(x as f64);
        let cookie = demo_login(&base, "sam.okafor").await;
        let path = format!("/drafts/{}?table=constrained+plan&customer=c10003&page=2", d.id);
        let (s, page) = get(&base, &path, &cookie).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let showing = format!("rows 51-{} of {} (filtered from {})", c10003.min(100), n(c10003), n(plan.len()));
        assert!(page.contains(&showing), "{showing}: {page}");
        // The 51st matching row of facts.json is the first row shown (columns in the facts' order).
        let row = plan.iter().filter(|r| r["customer"].as_str().unwrap().contains("C10003")).nth(50).unwrap();
        let num = |k: &str| snop::artifacts::review::format_number(row[k].as_f64().unwrap());
        let text = |k: &str| row[k].as_str().unwrap().to_string();
        let first = format!(
            "</th></tr>\n<tr><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            num("constrained_units"),
            text("customer"),
            num("demand_units"),
            text("month"),
            text("sku")
        );
        assert!(page.contains(&first), "{first}: {page}");

        // Another run's Parquet file replaced by a valid one of other rows: its page is not fooled
        // (the hash differs) and shows the rows of the checked facts.json.
        let pack = store.drafts(Some(CYCLE), Some(Artifact::ReconciliationPack)).await.unwrap().remove(0);
        let pack_folder = ws_dir.join(store.run(pack.run_id).await.unwrap().unwrap().folder);
        let pack_facts: Value = serde_json::from_slice(&fs_err::read(pack_folder.join("facts.json")).unwrap()).unwrap();
        let agreed = pack_facts["agreed_plan"].as_array().unwrap().len();
        fs_err::copy(&parquet, pack_folder.join("tables/agreed_plan.parquet")).unwrap();
        let (s, page) = get(&base, &format!("/drafts/{}?table=agreed+plan", pack.id), &cookie).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let showing = format!("rows 1-{} of {}</p>", agreed.min(50), n(agreed));
        assert!(page.contains(&showing) && agreed != plan.len(), "{showing}: {page}");

        // The pack's PDF downloads as the run wrote it (Chromium from the OS packages prints it);
        // a draft without one says so.
        assert!(page.contains(&format!("href=\"/drafts/{}/pdf\"", pack.id)), "{page}");
        let pdf = fs_err::read_dir(&pack_folder)
            .unwrap()
            .filter_map(Result::ok)
            .find(|f| f.file_name().to_string_lossy().ends_with(".pdf"))
            .expect("the pack's PDF (Chromium is needed: `.ci/setup` installs it)");
        let r = http().get(format!("{base}/drafts/{}/pdf", pack.id)).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[reqwest::header::CONTENT_TYPE], "application/pdf");
        let bytes = r.bytes().await.unwrap();
        assert!(bytes.starts_with(b"%PDF") && bytes[..] == fs_err::read(pdf.path()).unwrap()[..]);
        let (s, page) = get(&base, &format!("/drafts/{}/pdf", d.id), &cookie).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(page.contains(&format!("draft {} has no PDF", d.id)), "{page}");
    });
}
