//! The reconciliation and the executive meeting on the committed demo fixture: the reconciliation refused without
//! a signed supply plan (naming the supply review), the pack's five slides however many
//! trade-offs (the HTML always; the PDF's pages with Chromium and poppler), executive decisions
//! (only the COO or the CEO), signing refused with an undecided trade-off or on a plan built
//! before the latest decision, and the ERP export read back through ingest.

use std::path::Path;

use snop::analysis::executive::Choice;
use snop::analysis::reconcile::ReconciliationFacts;
use snop::config::Workspace;
use snop::contract::Month;
use snop::draft::Request;
use snop::pipeline::{self, RunOptions, RunOutcome};
use snop::sop::Agent;
use snop::sop::Artifact;
use snop::store::decisions::NewDecision;
use snop::store::{RunRow, Store};

use crate::common::{block_on, copy_dir, json, repo, test_outputs};

const CYCLE: &str = "2026-12";

fn cycle() -> Month {
    Month::parse(CYCLE).unwrap()
}

fn fixture_workspace(dir: &Path) -> Workspace {
    snop::demo::init(dir, snop::demo::DEMO_COMPANY).unwrap();
    copy_dir(&repo().join("fixtures/demo/data"), &dir.join("data"));
    Workspace::load(dir).unwrap()
}

async fn run(ws: &Workspace, store: &Store, agent: Agent, allow_unsigned: bool) -> anyhow::Result<RunRow> {
    let options = RunOptions { allow_unsigned };
    match pipeline::run_with(ws, store, agent, cycle(), &snop::Progress::hidden(), options).await? {
        RunOutcome::Recorded { run, .. } => Ok(run),
        RunOutcome::Unchanged { previous } => Ok(previous),
    }
}

/// The run's draft, approved by the first person and signed by each of `signers`.
async fn approve_and_sign(ws: &Workspace, store: &Store, run: &RunRow, signers: &[&str]) -> anyhow::Result<i64> {
    let dir = ws.directory();
    let d = store.draft_of_run(run.id).await?.expect("the run drafted its artifact");
    let mut v = store.act(&dir, d.id, signers[0], Request::Approve, Some(d.row_version)).await?.draft.row_version;
    for who in signers {
        v = store.act(&dir, d.id, who, Request::Sign, Some(v)).await?.draft.row_version;
    }
    Ok(d.id)
}

/// Demand and supply reviews run and signed, the reconciliation run and signed by both leads.
async fn signed_pack(ws: &Workspace, store: &Store) -> RunRow {
    let demand = run(ws, store, Agent::DemandReview, false).await.unwrap();
    approve_and_sign(ws, store, &demand, &["dana.whitfield"]).await.unwrap();
    let supply = run(ws, store, Agent::SupplyReview, false).await.unwrap();
    approve_and_sign(ws, store, &supply, &["sam.okafor"]).await.unwrap();
    let pack = run(ws, store, Agent::Reconciliation, false).await.unwrap();
    approve_and_sign(ws, store, &pack, &["dana.whitfield", "sam.okafor"]).await.unwrap();
    pack
}

fn slides(html: &str) -> usize {
    html.matches("<section class=\"slide\"").count()
}

/// Without a signed supply plan the reconciliation stops and names the supply review as the
/// broken meeting; `--allow-unsigned` drafts it with every slide marked. Signed, the pack's
/// facts are the prompt's sample facts.
#[test]
fn reconciliation_without_a_signed_supply_plan_names_the_supply_review() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = fixture_workspace(tmp.path());
    block_on(async {
        let store = pipeline::open_store(&ws).await.unwrap();
        let demand = run(&ws, &store, Agent::DemandReview, false).await.unwrap();
        approve_and_sign(&ws, &store, &demand, &["dana.whitfield"]).await.unwrap();
        let supply = run(&ws, &store, Agent::SupplyReview, false).await.unwrap();
        let err = run(&ws, &store, Agent::Reconciliation, false).await.unwrap_err();
        assert_eq!(snop::Fault::of(&err), snop::Fault::User);
        let msg = err.to_string();
        assert!(
            msg.starts_with("the supply plan of 2026-12 is not signed: the supply review has not been held"),
            "{msg}"
        );
        assert!(msg.contains("hint: the supply lead approves and signs it"), "{msg}");
        assert!(msg.contains("--allow-unsigned"), "{msg}");
        assert!(!msg.contains("demand consensus"), "the signed consensus is not named: {msg}");

        let unsigned = run(&ws, &store, Agent::Reconciliation, true).await.unwrap();
        let deck = fs_err::read_to_string(tmp.path().join(&unsigned.folder).join("pack-2026-12.html")).unwrap();
        assert_eq!(slides(&deck), 5);
        assert_eq!(deck.matches("Built on unsigned inputs: the supply plan is not signed").count(), 5, "every slide");

        approve_and_sign(&ws, &store, &supply, &["sam.okafor"]).await.unwrap();
        let signed = run(&ws, &store, Agent::Reconciliation, false).await.unwrap();
        assert_ne!(signed.id, unsigned.id, "signing the supply plan makes a new reconciliation");
        let folder = tmp.path().join(&signed.folder);
        let deck = fs_err::read_to_string(folder.join("pack-2026-12.html")).unwrap();
        assert!(!deck.contains("Built on unsigned inputs"));
        crate::common::golden_json(&folder.join("narrative-facts.json"), "prompts/reconciliation/sample-facts.json");
        // Every gap of the supply plan is resolved, in one decision or in one notice, once; the
        // decisions ranked by margin, at most the cap.
        let facts: ReconciliationFacts =
            serde_json::from_slice(&fs_err::read(folder.join("facts.json")).unwrap()).unwrap();
        let supply_facts = json(&tmp.path().join(&supply.folder).join("facts.json"));
        let mut gaps: Vec<&str> =
            supply_facts["gaps"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap()).collect();
        let mut placed: Vec<&str> = facts.resolved.iter().map(|r| r.id.as_str()).collect();
        placed.extend(facts.trade_offs.iter().flat_map(|t| t.gap_ids()));
        placed.extend(facts.notices.iter().flat_map(|n| n.gaps.iter().map(String::as_str)));
        gaps.sort();
        placed.sort();
        assert_eq!(placed, gaps);
        assert!(facts.trade_offs.len() <= ws.reconciliation.max_executive_decisions);
        assert!(facts.trade_offs.windows(2).all(|w| w[0].margin_at_risk_money >= w[1].margin_at_risk_money));
        for r in &facts.resolved {
            assert!(r.cost_money <= ws.reconciliation.leads_may_approve_up_to, "{r:?}");
        }
        let book = folder.join("pack-appendix-2026-12.xlsx");
        use calamine::Reader;
        let mut book = calamine::open_workbook_auto(book).unwrap();
        let trade_offs = book.worksheet_range("Decisions").unwrap();
        assert_eq!(trade_offs.height(), facts.trade_offs.len() + 1, "every decision is in the appendix");
        let notices = book.worksheet_range("Notices").unwrap();
        assert_eq!(notices.height(), facts.notices.len() + 1, "every notice is in the appendix");
    });
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Packs with 0, 1, 3 and 20 trade-offs (the fixture's pack cut down) never have more than five
/// slides: counted in the HTML, and as pages of the PDF Chromium prints, each page kept as PNG.
#[test]
fn packs_with_0_1_3_and_20_trade_offs_have_five_slides() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = fixture_workspace(tmp.path());
    let (facts, draft) = block_on(async {
        let store = pipeline::open_store(&ws).await.unwrap();
        let pack = signed_pack(&ws, &store).await;
        let folder = tmp.path().join(&pack.folder);
        let facts: ReconciliationFacts =
            serde_json::from_slice(&fs_err::read(folder.join("facts.json")).unwrap()).unwrap();
        let draft: snop::narrative::Draft =
            serde_json::from_slice(&fs_err::read(folder.join("narrative.json")).unwrap()).unwrap();
        (facts, draft)
    });
    // The pack holds at most the cap (10): 20 decisions are its own, repeated under new ids.
    assert!(!facts.trade_offs.is_empty(), "the fixture has decisions");
    let many: Vec<_> = (0..20)
        .map(|i| {
            let mut t = facts.trade_offs[i % facts.trade_offs.len()].clone();
            (t.id, t.rank) = (format!("{}-{i}", t.id), i + 1);
            // The second recommends accepting the shortfall: slide 4 says why that can be.
            if i == 1 {
                t.recommendation.option = "accept_shortfall".into();
            }
            t
        })
        .collect();
    let mut decks = Vec::new();
    for n in [0, 1, 3, 20] {
        let mut f = facts.clone();
        f.trade_offs = many[..n].to_vec();
        let html = snop::artifacts::pack::deck_html(&f, &draft, "Demo Pumps & Valves Ltd", "EUR").unwrap();
        assert_eq!(slides(&html), 5, "{n} trade-offs");
        let shown = html.matches("<div class=\"card\">").count();
        assert_eq!(shown, n.min(3), "{n} trade-offs: the top 3 on slide 2");
        if n > 3 {
            assert!(html.contains(&format!("{} more decision(s)", n - 3)), "{n} decisions");
        }
        let slide4 = html.split("id=\"slide-4\"").nth(1).unwrap().split("id=\"slide-5\"").next().unwrap();
        let note = slide4.split("<p class=\"small\">").find(|p| p.contains(" accepting the shortfall: "));
        assert_eq!(
            note.is_some_and(|p| p.starts_with("D2 recommends ") || p.starts_with("D2, ")),
            n >= 2,
            "{n}: {note:?}"
        );
        decks.push((n, html));
    }
    // The revenue with every shortfall accepted, when the supply review left it out (beyond its
    // pricing budget), is a row that says so on slide 3, not a row dropped in silence.
    let mut f = facts.clone();
    assert!(f.financial.revenue_without_fixes_money.is_some(), "the fixture has the figure");
    let said = "not computed: beyond the supply review";
    let html = snop::artifacts::pack::deck_html(&f, &draft, "Demo Pumps & Valves Ltd", "EUR").unwrap();
    assert!(html.contains("with every shortfall accepted (no fix)") && !html.contains(said));
    f.financial.revenue_without_fixes_money = None;
    let html = snop::artifacts::pack::deck_html(&f, &draft, "Demo Pumps & Valves Ltd", "EUR").unwrap();
    let slide3 = html.split("id=\"slide-3\"").nth(1).unwrap().split("id=\"slide-4\"").next().unwrap();
    assert!(slide3.contains("with every shortfall accepted (no fix)") && slide3.contains(said), "{slide3}");
    assert!(!slide3.contains("every shortfall accepted, budget"), "the chart's title names only its bars");
    let missing: Vec<&str> = ["chromium", "pdfinfo", "pdftoppm"].into_iter().filter(|p| !on_path(p)).collect();
    assert!(
        missing.is_empty(),
        "`{}` not found: install them with `apt-get install chromium poppler-utils` (or run `.ci/setup`)",
        missing.join("`, `")
    );
    for (n, html) in decks {
        let pdf = snop::pipeline::pdf::print_pdf(&html).unwrap();
        let out = test_outputs(&format!("pack-{n}-trade-offs"));
        fs_err::write(out.join("pack.pdf"), &pdf).unwrap();
        fs_err::write(out.join("pack.html"), &html).unwrap();
        let info = std::process::Command::new("pdfinfo").arg(out.join("pack.pdf")).output().unwrap();
        let info = String::from_utf8_lossy(&info.stdout);
        let pages: usize = info
            .lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .map(|p| p.trim().parse().unwrap())
            .expect("pdfinfo reports the pages");
        assert_eq!(pages, 5, "{n} trade-offs: {info}");
        assert!(info.contains("960 x 540 pts"), "13.333 x 7.5 in pages: {info}");
        let status = std::process::Command::new("pdftoppm")
            .args(["-png", "-r", "50"])
            .arg(out.join("pack.pdf"))
            .arg(out.join("page"))
            .status()
            .unwrap();
        assert!(status.success());
        let pngs = fs_err::read_dir(&out)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "png"))
            .count();
        assert_eq!(pngs, 5, "one image per page in `{}`", out.display());
    }
}

fn decision(tradeoff: &str, option: &str) -> NewDecision {
    NewDecision {
        cycle: CYCLE.into(),
        tradeoff_id: Some(tradeoff.into()),
        choice: Choice::Option { option: option.into() },
        owner: Some("sam.okafor".into()),
        due: Some("2027-01-15".into()),
        note: None,
        scenario: None,
    }
}

/// `snop decide --decision D<rank> --option K --gap G --option accept_shortfall`: the decision
/// and its gap decided otherwise are two rows (`D<rank>` recorded as the decision's id); the
/// executive's decision log gives the gap its own choice and the decision's other gaps the
/// decision's. An option the gap does not have, or a gap of no decision, is refused.
#[test]
fn a_decision_with_one_gap_decided_otherwise_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = fixture_workspace(tmp.path());
    block_on(async {
        let store = pipeline::open_store(&ws).await.unwrap();
        signed_pack(&ws, &store).await;
        let decisions = snop::pipeline::decisions::tradeoffs(&store, cycle()).await.unwrap();
        let d = &decisions.iter().find(|(t, _)| t.gaps.len() > 1).expect("a decision of two gaps or more").0;
        let (rank, own, gap) = (format!("D{}", d.rank), d.recommendation.option.clone(), d.gaps[1].id.clone());
        let decide = |extra: &[&str]| {
            let mut args = vec![
                "decide",
                "--cycle",
                CYCLE,
                "--as",
                "olivia.chen",
                "--owner",
                "sam.okafor",
                "--due",
                "2027-01-15",
                "--json",
            ];
            args.extend_from_slice(extra);
            crate::common::run_in(tmp.path(), &args)
        };
        let (code, _, err) = decide(&["--decision", &rank, "--option", &own, "--gap", &gap, "--option", "teleport"]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(&format!("`teleport` is not an option of gap `{gap}` (of decision `{}`)", d.id)), "{err}");
        let (code, _, err) = decide(&["--decision", "NOT-A-DECISION", "--option", "accept_shortfall"]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("`NOT-A-DECISION` is not a decision of the reconciliation pack of 2026-12"), "{err}");
        assert!(store.decisions(CYCLE).await.unwrap().is_empty(), "nothing recorded");
        let (code, out, err) =
            decide(&["--decision", &rank, "--option", &own, "--gap", &gap, "--option", "accept_shortfall"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.matches("\"tradeoff_id\"").count(), 2, "{out}");
        let rows = store.decisions(CYCLE).await.unwrap();
        let got: Vec<(Option<&str>, &Choice)> = rows.iter().map(|r| (r.tradeoff_id.as_deref(), &r.choice)).collect();
        assert_eq!(
            got,
            [
                (Some(d.id.as_str()), &Choice::Option { option: own.clone() }),
                (Some(gap.as_str()), &Choice::Option { option: "accept_shortfall".into() }),
            ]
        );
        let exec = run(&ws, &store, Agent::Executive, false).await.unwrap();
        let log = json(&tmp.path().join(&exec.folder).join("decisions.json"));
        let lines: Vec<&serde_json::Value> =
            log["lines"].as_array().unwrap().iter().filter(|l| l["decision_id"] == d.id.as_str()).collect();
        assert_eq!(lines.len(), d.gaps.len(), "a line per gap of the decision");
        for l in lines {
            let option = l["decision"]["option"].as_str().unwrap();
            if l["tradeoff_id"] == gap.as_str() {
                assert_eq!(option, "accept_shortfall");
                let effect = l["effect"].as_str().unwrap();
                assert!(
                    effect.starts_with("as recommended (accept shortfall)")
                        || effect.starts_with("shortfall accepted: the fixes of"),
                    "{effect}"
                );
            } else {
                assert_eq!(option, own, "{l}");
            }
        }
        assert!(!log["undecided"].as_array().unwrap().iter().any(|u| u == d.id.as_str()));
    });
}

/// Only the COO or the CEO decides; signing is refused while a trade-off has no decision (named)
/// and on a plan built before the latest decision; decided and re-run, the plan is signed; its
/// ERP export read back through ingest is the same plan.
#[test]
fn decisions_authority_signing_refusals_and_the_erp_export_read_back() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = fixture_workspace(tmp.path());
    block_on(async {
        let store = pipeline::open_store(&ws).await.unwrap();
        signed_pack(&ws, &store).await;
        let tradeoffs = snop::pipeline::decisions::tradeoffs(&store, cycle()).await.unwrap();
        let first = tradeoffs[0].0.id.clone();
        let option = tradeoffs[0].0.recommendation.option.as_str();

        // A demand lead may not decide.
        let err =
            snop::pipeline::decisions::decide(&ws.directory(), &store, "dana.whitfield", decision(&first, option))
                .await
                .unwrap_err();
        assert_eq!(snop::Fault::of(&err), snop::Fault::User);
        // The demo has no CEO: the refusal names who may, not a vacant role.
        assert!(err.to_string().contains("only the COO (Olivia Chen) may"), "{err}");
        assert!(!err.to_string().contains("nobody holds"), "{err}");
        assert!(err.to_string().contains("Dana Whitfield is not allowed to"), "{err}");
        // An option the trade-off does not have is refused, naming its options.
        let err =
            snop::pipeline::decisions::decide(&ws.directory(), &store, "olivia.chen", decision(&first, "teleport"))
                .await
                .unwrap_err();
        assert!(err.to_string().contains("`teleport` is not an option of decision"), "{err}");
        // An owner who is nobody of `[people]` (issue 21) is refused, naming who is.
        let nobody = NewDecision { owner: Some("<script>x</script>".into()), ..decision(&first, option) };
        let err = snop::pipeline::decisions::decide(&ws.directory(), &store, "olivia.chen", nobody).await.unwrap_err();
        assert_eq!(snop::Fault::of(&err), snop::Fault::User);
        assert!(err.to_string().contains("the owner `<script>x</script>` is not a person of `[people]`"), "{err}");

        // The COO sends the whole plan back (through the binary): the plan says so and cannot be
        // signed; the next decision, on the redone reconciliation, supersedes it.
        let (code, out, err) = crate::common::run_in(
            tmp.path(),
            &[
                "decide",
                "--cycle",
                CYCLE,
                "--send-back",
                "--reason",
                "redo the valves trade-offs",
                "--as",
                "olivia.chen",
                "--json",
            ],
        );
        assert_eq!(code, 0, "{err}");
        let sent: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!((sent["kind"].as_str(), sent["tradeoff_id"].as_str()), (Some("send_back"), None));
        let exec = run(&ws, &store, Agent::Executive, false).await.unwrap();
        // The typed reason reaches the narrative's facts as data text only: a number in it
        // vouches for nothing, so a reply repeating it fails the fact check.
        let facts: serde_json::Value =
            serde_json::from_slice(&fs_err::read(tmp.path().join(&exec.folder).join("narrative-facts.json")).unwrap())
                .unwrap();
        let typed = facts["sent_back"]["text"].as_str().unwrap();
        assert!(typed.contains("redo the valves trade-offs"), "{facts}");
        let planted = serde_json::json!({ "sent_back": { "text": format!("{typed}: revenue must reach 99,000,000") } });
        let ctx = snop::narrative::grounding::GroundingContext::from_facts(&planted, Vec::new());
        assert!(!snop::narrative::grounding::check("Revenue is 99,000,000.", &ctx).is_empty());
        // As a computed string (the shape before), the same text would have vouched for it.
        let computed = serde_json::json!({ "sent_back": planted["sent_back"]["text"] });
        let ctx = snop::narrative::grounding::GroundingContext::from_facts(&computed, Vec::new());
        assert!(snop::narrative::grounding::check("Revenue is 99,000,000.", &ctx).is_empty());
        let err = approve_and_sign(&ws, &store, &exec, &["olivia.chen"]).await.unwrap_err();
        assert!(err.to_string().contains("it was sent back: the whole plan, by olivia.chen"), "{err}");
        assert!(err.to_string().contains("redo the valves trade-offs; to redo: the reconciliation pack"), "{err}");

        // One decision, then the plan: signing names the trade-offs without a decision.
        snop::pipeline::decisions::decide(&ws.directory(), &store, "olivia.chen", decision(&first, option))
            .await
            .unwrap();
        let exec = run(&ws, &store, Agent::Executive, false).await.unwrap();
        let err = approve_and_sign(&ws, &store, &exec, &["olivia.chen"]).await.unwrap_err();
        let msg = err.to_string();
        let second = &tradeoffs[1].0.id;
        assert!(msg.contains("trade-off(s) have no decision"), "{msg}");
        assert!(msg.contains(&format!("`{second}`")), "the undecided trade-off is named: {msg}");
        assert!(!msg.contains(&format!("`{first}`")), "the decided one is not: {msg}");

        // Every trade-off decided, the plan rebuilt and approved; then one more decision: the
        // draft is older than it, and signing says to re-run the executive agent.
        let rest: Vec<_> = tradeoffs[1..].iter().map(|(t, _)| decision(&t.id, &t.recommendation.option)).collect();
        // All at once, the pack read once; one bad decision among them and none is recorded.
        let recorded = store.decisions(CYCLE).await.unwrap().len();
        let mut with_a_bad_one = rest.clone();
        with_a_bad_one.push(decision(&first, "teleport"));
        let err = snop::pipeline::decisions::decide_each(&ws.directory(), &store, "olivia.chen", with_a_bad_one)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("`teleport` is not an option of decision"), "{err}");
        assert_eq!(store.decisions(CYCLE).await.unwrap().len(), recorded, "checked before any is recorded");
        let rows = snop::pipeline::decisions::decide_each(&ws.directory(), &store, "olivia.chen", rest).await.unwrap();
        assert_eq!(rows.len(), tradeoffs.len() - 1);
        let exec = run(&ws, &store, Agent::Executive, false).await.unwrap();
        snop::pipeline::decisions::decide(&ws.directory(), &store, "olivia.chen", decision(&first, "accept_shortfall"))
            .await
            .unwrap();
        let err = approve_and_sign(&ws, &store, &exec, &["olivia.chen"]).await.unwrap_err();
        assert!(err.to_string().contains("built before the latest decision"), "{err}");
        assert!(err.to_string().contains("snop run executive --cycle 2026-12"), "{err}");
        let exec = run(&ws, &store, Agent::Executive, false).await.unwrap();
        approve_and_sign(&ws, &store, &exec, &["olivia.chen"]).await.unwrap();
        let status = store.status(CYCLE).await.unwrap();
        let plan = status.iter().find(|s| s.artifact == Artifact::SignedPlan.key()).unwrap();
        assert_eq!(plan.state, Some(snop::draft::State::Signed));
        assert!(store.verify_audit().await.unwrap().first_problem.is_none());
        // A decision changed behind the store's back is caught.
        let pool =
            sqlx::SqlitePool::connect(&format!("sqlite://{}", tmp.path().join("snop.db").display())).await.unwrap();
        for s in ["DROP TRIGGER decisions_no_update", "UPDATE decisions SET option_kind = 'overtime' WHERE id = 3"] {
            sqlx::query(sqlx::AssertSqlSafe(s.to_string())).execute(&pool).await.unwrap();
        }
        pool.close().await;
        let problem = store.verify_audit().await.unwrap().first_problem.unwrap();
        assert!(problem.starts_with("decision 3 by `olivia.chen`"), "{problem}");

        // The interface the commit-back agent reads.
        let (run_row, signed, df) = snop::pipeline::upstream::cycle_signed_plan(&store, cycle()).await.unwrap();
        assert_eq!(run_row.id, exec.id);
        assert!(signed.is_some());
        let names: Vec<&str> = df.get_column_names().into_iter().map(|n| n.as_str()).collect();
        assert_eq!(names, ["sku", "customer", "month", "requested_units", "planned_units", "constraint", "gap_id"]);
        let log = json(&tmp.path().join(&exec.folder).join("decisions.json"));
        assert_eq!(log["undecided"].as_array().unwrap().len(), 0);
        assert_eq!(log["history"].as_array().unwrap().len(), tradeoffs.len() + 2, "superseded decisions are kept");
        assert!(log["sent_back"].is_null(), "the send-back was superseded");
        let planned = df.column("planned_units").unwrap().f64().unwrap().clone();
        let requested = df.column("requested_units").unwrap().f64().unwrap().clone();
        let constraint = df.column("constraint").unwrap().str().unwrap().clone();
        for i in 0..df.height() {
            let short = requested.get(i).unwrap() - planned.get(i).unwrap() > 1e-6;
            assert_eq!(short, constraint.get(i).is_some(), "row {i}: a shortfall has a constraint, only then");
        }

        // The ERP export, read back through ingest with the export's mapping as a source. What
        // it should hold, computed here from the plan and the items master: every line with a
        // customer, discrete items (`ea`, `set`) in whole pieces rounded down, lines under one
        // piece left out.
        let uom: std::collections::BTreeMap<String, String> = fs_err::read_to_string(tmp.path().join("data/items.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].to_string(), f[2].to_string())
            })
            .collect();
        let plan: Vec<(String, String, String, f64)> = {
            let sku = df.column("sku").unwrap().str().unwrap().clone();
            let cust = df.column("customer").unwrap().str().unwrap().clone();
            let month = df.column("month").unwrap().str().unwrap().clone();
            let mut v: Vec<_> = (0..df.height())
                .filter(|&i| planned.get(i).unwrap() > 0.0 && cust.get(i).unwrap() != "*")
                .map(|i| {
                    let p = planned.get(i).unwrap();
                    let units = match uom[sku.get(i).unwrap()].as_str() {
                        "ea" | "set" => (p + 1e-6).floor(),
                        _ => (p * 1000.0).round() / 1000.0,
                    };
                    (sku.get(i).unwrap().into(), cust.get(i).unwrap().into(), month.get(i).unwrap().into(), units)
                })
                .filter(|r| r.3 > 0.0)
                .collect();
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            v
        };
        // The workbook a person reads: the agenda first; by family, the total row's planned units
        // are the plan's, summed here row by row.
        {
            use calamine::{DataType, Reader};
            let mut book =
                calamine::open_workbook_auto(tmp.path().join(&exec.folder).join("signed-plan-2026-12.xlsx")).unwrap();
            assert_eq!(book.sheet_names(), ["Agenda", "By family", "By customer", "Decisions", "Plan lines"]);
            let total: f64 = (0..df.height()).map(|i| planned.get(i).unwrap()).sum();
            let fam = book.worksheet_range("By family").unwrap();
            let last = fam.height() - 1;
            assert_eq!(fam.get((last, 0)).unwrap().to_string(), "Total");
            let months = fam.width() - 4;
            let cell = fam.get((last, months + 1)).unwrap().get_float().unwrap();
            assert!((cell - total).abs() < 1e-6, "{cell} vs {total}");
            let decisions = book.worksheet_range("Decisions").unwrap();
            assert_eq!(decisions.height(), log["lines"].as_array().unwrap().len() + 1);
        }
        // SAP's fields as a SAP user's upload checks them: VBELN 10 digits, POSNR 6, SPMON
        // `YYYYMM`, WERKS at most 4 characters, VRKME at most 3, KWMENG a whole number for
        // pieces, MATNR at most 40 and KUNNR at most 10; one document per customer and month.
        let csv = fs_err::read_to_string(tmp.path().join(&exec.folder).join("signed-plan-2026-12-erp.csv")).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("VBELN;POSNR;MATNR;KUNNR;SPMON;KWMENG;WERKS;VRKME"));
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        let mut documents: std::collections::BTreeMap<String, (String, String)> = Default::default();
        let mut count = 0;
        for line in lines {
            let f: Vec<&str> = line.split(';').collect();
            assert_eq!(f.len(), 8, "{line}");
            assert!(digits(f[0], 10) && f[0].starts_with("2612"), "VBELN `{}`", f[0]);
            assert!(digits(f[1], 6) && f[1].ends_with('0'), "POSNR `{}`", f[1]);
            assert!(f[2].chars().count() <= 40 && f[3].chars().count() <= 10, "{line}");
            assert!(digits(f[4], 6) && f[4].starts_with("202"), "SPMON `{}`", f[4]);
            assert!(["1000", "2000", "3000"].contains(&f[6]), "WERKS `{}`", f[6]);
            assert!(["EA", "SET"].contains(&f[7]), "VRKME `{}`", f[7]);
            assert!(!f[5].contains(','), "pieces are whole: {line}");
            let doc = documents.entry(f[0].to_string()).or_insert((f[3].to_string(), f[4].to_string()));
            assert_eq!(doc, &(f[3].to_string(), f[4].to_string()), "one customer and month per document");
            count += 1;
        }
        assert_eq!(count, plan.len());
        let pairs: std::collections::BTreeSet<(&str, String)> =
            plan.iter().map(|p| (p.1.as_str(), p.2.replace('-', ""))).collect();
        assert_eq!(documents.len(), pairs.len(), "a document per customer and month");
        for (file, source) in [
            ("signed-plan-2026-12-erp.csv", "type = \"csv\"\ndelimiter = \";\"\ndecimal_comma = true"),
            ("signed-plan-2026-12-erp.xlsx", "type = \"xlsx\"\nsheet = \"Signed plan\""),
        ] {
            fs_err::copy(tmp.path().join(&exec.folder).join(file), tmp.path().join("data").join(file)).unwrap();
            let toml = format!(
                "agent = \"commit-back\"\n\n[[sources]]\ntable = \"items\"\ntype = \"csv\"\npath = \"data/items.csv\"\n\n[[sources]]\ntable = \"customers\"\ntype = \"csv\"\npath = \"data/customers.csv\"\n\n[[sources]]\ntable = \"open_orders\"\n{source}\npath = \"data/{file}\"\ncolumns = {{ order_id = \"VBELN\", sku = \"MATNR\", customer = \"KUNNR\", requested_month = \"SPMON\", qty = \"KWMENG\" }}\n"
            );
            fs_err::write(tmp.path().join("pipelines/commit-back.toml"), toml).unwrap();
            let ws2 = Workspace::load(tmp.path()).unwrap();
            let window =
                snop::ingest::Window { cycle: cycle(), history_months: 12, plan_months: snop::contract::PLAN_MONTHS };
            let ingested = snop::ingest::ingest(
                tmp.path(),
                ws2.pipeline(Agent::CommitBack).unwrap(),
                window,
                &snop::Progress::hidden(),
            )
            .await
            .unwrap();
            let orders = &ingested.tables[&snop::contract::Table::OpenOrders];
            assert_eq!(
                ingested.quarantine.len(),
                0,
                "{file}: {:?}",
                ingested.quarantine.first().map(|q| q.to_string())
            );
            let s = |c: &str| orders.column(c).unwrap().cast(&polars::prelude::DataType::String).unwrap();
            let (sku, cust, month) = (s("sku"), s("customer"), s("requested_month"));
            let qty = orders.column("qty").unwrap().cast(&polars::prelude::DataType::Float64).unwrap();
            let (sku, cust, month, qty) =
                (sku.str().unwrap(), cust.str().unwrap(), month.str().unwrap(), qty.f64().unwrap());
            let mut back: Vec<(String, String, String, f64)> = (0..orders.height())
                .map(|i| {
                    let q = (qty.get(i).unwrap() * 1000.0).round() / 1000.0;
                    (sku.get(i).unwrap().into(), cust.get(i).unwrap().into(), month.get(i).unwrap().into(), q)
                })
                .collect();
            back.sort_by(|a, b| a.partial_cmp(b).unwrap());
            assert_eq!(back.len(), plan.len(), "{file}");
            assert!(
                back == plan,
                "{file}: the plan read back differs, first: {:?} vs {:?}",
                back.first(),
                plan.first()
            );
        }
    });
}

/// Every option of every executive decision of the demo's pack is the executive's re-plan with
/// exactly that option chosen: recorded as `snop decide` records it (`decide`, the newest
/// decision counting), the executive agent run, its plan's totals read back from its run folder
/// and compared with the pack's figures of the option to 1e-6 (the decision then set aside with
/// a written-in action, which changes no number). The pack's "with the recommended decisions" is
/// the plan with every recommended option (decided the same way).
#[test]
fn every_decision_option_is_the_executives_re_plan_with_that_option() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = fixture_workspace(tmp.path());
    block_on(async {
        let store = pipeline::open_store(&ws).await.unwrap();
        let pack = signed_pack(&ws, &store).await;
        let facts: ReconciliationFacts =
            serde_json::from_value(json(&tmp.path().join(&pack.folder).join("facts.json"))).unwrap();
        let decisions = &facts.trade_offs;
        assert!(!decisions.is_empty() && decisions.len() <= facts.max_executive_decisions);
        let options: usize = decisions.iter().map(|d| d.options.len()).sum();
        // One per option, one with every recommendation; when those lose margin after fixes
        // together (`whole::Combined`), one per recommendation tried in rank order (those that
        // stand and those withdrawn) and one with what stands.
        let c = facts.financial.combined.as_ref().unwrap();
        let tried = decisions.iter().filter(|d| d.recommendation.option != "cheapest_fixes").count()
            + c.interactions.iter().filter(|x| x.withdrawn).count();
        let forward = if c.each_recommended_net_money < c.supply_plan_net_money - 0.01 { tried + 1 } else { 0 };
        assert_eq!(facts.financial.decision_re_solves, options + 1 + forward);
        // What stands never has less margin after fixes than the supply plan, but for a
        // priority reason a decision states.
        assert!(
            c.recommended_net_money >= c.supply_plan_net_money - 0.01 || c.interactions.iter().any(|x| !x.withdrawn),
            "{c:?}"
        );
        let dir = ws.directory();
        let totals = |run: &RunRow| json(&tmp.path().join(&run.folder).join("facts.json"))["totals"].clone();
        let close = |a: &serde_json::Value, b: f64, what: &str| {
            let a = a.as_f64().unwrap();
            assert!((a - b).abs() < 1e-6, "{what}: the executive's {a}, the pack's {b}");
        };
        for d in decisions {
            assert!((2..=4).contains(&d.options.len()), "{}", d.id);
            for o in &d.options {
                snop::pipeline::decisions::decide(&dir, &store, "olivia.chen", decision(&d.id, &o.key)).await.unwrap();
                let exec = run(&ws, &store, Agent::Executive, false).await.unwrap();
                let t = totals(&exec);
                let p = o.plan.as_ref().unwrap_or_else(|| panic!("{} {} re-solved", d.id, o.key));
                let what = format!("{} {}", d.id, o.key);
                close(&t["constrained_units"], p.units_served, &what);
                close(&t["revenue_constrained_money"], p.revenue_money, &what);
                close(&t["margin_constrained_money"], p.margin_money, &what);
                close(&t["plan_cost"]["lost_margin_money"], p.cost.lost_margin_money, &what);
                let spend: f64 = [
                    "overtime_money",
                    "holding_money",
                    "routing_premium_money",
                    "purchase_premium_money",
                    "expedite_money",
                ]
                .iter()
                .map(|k| t["plan_cost"][k].as_f64().unwrap())
                .sum();
                assert!((spend - p.cost.spend()).abs() < 1e-6, "{what}: spend {spend} against {}", p.cost.spend());
            }
            // A written-in action changes no number: the decision is as undecided for the plan
            // while the next one is tried.
            let action = NewDecision {
                choice: Choice::Action { text: "tried in the test".into() },
                ..decision(&d.id, &d.recommendation.option)
            };
            snop::pipeline::decisions::decide(&dir, &store, "olivia.chen", action).await.unwrap();
        }
        // Every decision at its recommendation: the pack's "with the recommended decisions".
        let recommended: Vec<NewDecision> =
            decisions.iter().map(|d| decision(&d.id, &d.recommendation.option)).collect();
        snop::pipeline::decisions::decide_each(&dir, &store, "olivia.chen", recommended).await.unwrap();
        let exec = run(&ws, &store, Agent::Executive, false).await.unwrap();
        let t = totals(&exec);
        close(&t["revenue_constrained_money"], facts.financial.revenue_with_recommendations_money, "recommended");
        close(&t["plan_cost"]["lost_margin_money"], facts.financial.lost_margin_money, "recommended");
        close(
            &t["margin_constrained_money"],
            facts.financial.margin_with_recommendations_money.unwrap(),
            "recommended",
        );
        // The financial slide shows that re-plan's revenue and margin (en-US, one decimal).
        let deck = fs_err::read_to_string(tmp.path().join(&pack.folder).join(format!("pack-{CYCLE}.html"))).unwrap();
        let slide = &deck[deck.find("id=\"slide-3\"").unwrap()..deck.find("id=\"slide-4\"").unwrap()];
        for key in ["revenue_constrained_money", "margin_constrained_money"] {
            let shown = snop::analysis::format_number(t[key].as_f64().unwrap());
            assert!(slide.contains(&format!("<td class=\"num\">{shown}</td>")), "{key} {shown} on the financial slide");
        }
    });
}

/// A workspace in `de-DE` (`[company] locale`): the pack's financial slide, its decisions' texts,
/// the reconciliation's agenda and its draft page write numbers with German grouping (1.234.567), never the
/// en-US `1,234`; the narrative still grounds (the mock writes en-US, read as written).
#[test]
fn a_de_de_workspace_writes_the_pack_and_the_agenda_in_german() {
    use snop::analysis::locale::Locale;
    let tmp = tempfile::tempdir().unwrap();
    fixture_workspace(tmp.path());
    let toml = fs_err::read_to_string(tmp.path().join("snop.toml")).unwrap();
    let toml = toml.replacen("currency = \"EUR\"", "currency = \"EUR\"\nlocale = \"de-DE\"", 1);
    fs_err::write(tmp.path().join("snop.toml"), toml).unwrap();
    let ws = Workspace::load(tmp.path()).unwrap();
    assert_eq!(ws.locale, Locale::DeDe);
    block_on(async {
        let store = pipeline::open_store(&ws).await.unwrap();
        let pack = signed_pack(&ws, &store).await;
        let folder = tmp.path().join(&pack.folder);
        let facts: ReconciliationFacts = serde_json::from_value(json(&folder.join("facts.json"))).unwrap();
        assert_eq!(facts.locale, Locale::DeDe);
        let html = fs_err::read_to_string(folder.join(format!("pack-{CYCLE}.html"))).unwrap();
        let german = regex::Regex::new(r"\d\.\d{3}\b").unwrap();
        let english = regex::Regex::new(r"\d,\d{3}\b").unwrap();
        // The financial slide's revenues: 30.546.858 and so on, as computed by hand here.
        let german_of = |whole: i64| {
            let mut digits = whole.to_string();
            let mut grouped = String::new();
            while digits.len() > 3 {
                grouped = format!(".{}{grouped}", &digits[digits.len() - 3..]);
                digits.truncate(digits.len() - 3);
            }
            format!("{digits}{grouped}")
        };
        for x in [facts.financial.revenue_unconstrained_money, facts.financial.revenue_with_recommendations_money] {
            // Whole (an amount), or with its tenth after a decimal comma (the slide's table).
            let tenths = (x * 10.0).round() as i64;
            let (whole, tenth) = (german_of(x.round() as i64), german_of(tenths / 10));
            let tenth = if tenths % 10 == 0 { tenth } else { format!("{tenth},{}", tenths % 10) };
            assert!(html.contains(&whole) || html.contains(&tenth), "{whole} or {tenth} on the financial slide");
        }
        for d in &facts.trade_offs {
            assert!(!english.is_match(&d.recommendation.buys) && !english.is_match(&d.why), "{d:?}");
        }
        assert!(facts.trade_offs.iter().any(|d| german.is_match(&d.recommendation.buys) || german.is_match(&d.why)));
        for n in &facts.notices {
            assert!(!english.is_match(&n.text), "{}", n.text);
        }
        // Slide 3 compares the plan with the budget in words, in German.
        let slide3 = html.split("id=\"slide-3\"").nth(1).unwrap().split("id=\"slide-4\"").next().unwrap();
        let against = slide3.split("Against the budget: ").nth(1).expect("slide 3 against the budget");
        let against = against.split('<').next().unwrap();
        assert!(german.is_match(against) && !english.is_match(against), "{against}");
        let draft = store.draft_of_run(pack.id).await.unwrap().unwrap();
        let content = store.draft(draft.id).await.unwrap().unwrap().content;
        // The mock model writes its narrative's numbers in German, and the fact check takes them.
        assert_eq!(content.narrative_source, "model");
        let text = format!("{} {}", content.narrative.headline, content.narrative.paragraphs.join(" "));
        assert!(german.is_match(&text) && !english.is_match(&text), "{text}");
        let agenda = content.agenda;
        // `snop decide --list` prints the decisions' figures in German.
        let (code, out, err) = crate::common::run_in(tmp.path(), &["decide", "--cycle", CYCLE, "--list"]);
        assert_eq!(code, 0, "{out}{err}");
        let margins: Vec<&str> = out.lines().filter_map(|l| l.split("margin at risk ").nth(1)).collect();
        assert_eq!(margins.len(), facts.trade_offs.len(), "{out}");
        for (m, d) in margins.iter().zip(&facts.trade_offs) {
            assert!(m.starts_with(&format!("{};", Locale::DeDe.money(d.margin_at_risk_money))), "{m}");
        }
        assert!(german.is_match(&out) && !english.is_match(&out), "{out}");
        let lines: Vec<&String> =
            agenda.this_cycle.iter().chain(agenda.decisions.iter().map(|d| &d.decision)).collect();
        assert!(lines.iter().any(|l| german.is_match(l)), "{lines:?}");
        assert!(lines.iter().all(|l| !english.is_match(l)), "{lines:?}");
        // The draft's page (markdown) writes the facts' numbers in German too.
        let page = fs_err::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "md"))
            .expect("the draft page as markdown");
        let md = fs_err::read_to_string(&page).unwrap();
        assert!(german.is_match(&md), "{}", page.display());
    });
}
