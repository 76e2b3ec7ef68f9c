//! The demo end to end through the binary: it runs from nothing, a re-run writes nothing new,
//! and the generator reproduces the committed fixture byte for byte.

use crate::common::{json, repo, run_in};

/// The golden two-month demo: month one's five artifacts made and signed by the demo's people,
/// then the same company a month on, whose first meeting scores month one's promises.
#[test]
fn demo_runs_two_months_from_nothing_and_reruns_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = run_in(tmp.path(), &["demo", "ws", "--skus", "40", "--customers", "12"]);
    let demo_out = out.clone();
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    for line in [
        "demand-review: run 1",
        "supply-review: run 2",
        "reconciliation: run 5",
        "executive: run 6",
        // The account managers return the log with lines re-negotiated: a second commit-back.
        "commit-back: run 7",
        "commit-back: run 8",
        "month two, 2027-01",
        "demand-review: run 9",
        "supply-review: run 10",
        "Olivia Chen signed the signed plan 2026-12 version 1 as COO",
        "Leo Grant signed the customer commitment log 2026-12 version 2 as sales lead",
    ] {
        assert!(out.contains(line), "`{line}` in:\n{out}");
    }
    // What it prints writes numbers in en-US, its locale: "174,927.2 spent on fixes".
    let german = regex::Regex::new(r"\d\.\d{3}\b").unwrap();
    let notes: Vec<&str> = out.lines().filter(|l| l.trim_start().starts_with("note:")).collect();
    assert!(notes.iter().any(|l| l.contains(" spent on fixes (overtime ")), "{out}");
    assert!(notes.iter().all(|l| !german.is_match(l)), "{notes:#?}");
    // The two bad lines the demo's ERP extract carries are quarantined, not dropped.
    assert!(out.contains("row") && out.contains("`XX-9999`: unknown sku"), "{out}");
    let ws = tmp.path().join("ws");
    let report = fs_err::read_to_string(ws.join("runs/2026-12/demand-review/run-1/report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["rows_quarantined"], 2);
    let quarantine = fs_err::read_to_string(ws.join("runs/2026-12/demand-review/run-1/quarantine.csv")).unwrap();
    assert_eq!(quarantine.lines().count(), 3, "{quarantine}");

    // It says how to open the cycle in a browser, with demo-only logins for its people.
    assert!(out.contains("review in the browser: `snop serve -w"), "{out}");
    assert!(out.contains("dana.whitfield   demo-dana.whitfield    Dana Whitfield (demand lead)"), "{out}");
    assert!(out.contains("ana.lopez        demo-ana.lopez         Ana Lopez (account manager)"), "{out}");
    assert!(out.contains("DEMO-ONLY passwords"), "{out}");
    let (code, users, _) = run_in(&ws, &["users", "list", "--json"]);
    assert_eq!(code, 0);
    // The five leads and executives, and the five account managers.
    assert_eq!(serde_json::from_str::<serde_json::Value>(&users).unwrap().as_array().unwrap().len(), 10);

    // Month one: all five signed. Month two: week 1's drafts, the rest not yet made.
    let states = |cycle: &str| -> Vec<(String, String)> {
        let (code, out, _) = run_in(&ws, &["status", "--cycle", cycle, "--json"]);
        assert_eq!(code, 0);
        let status: serde_json::Value = serde_json::from_str(&out).unwrap();
        status
            .as_array()
            .or_else(|| status["artifacts"].as_array())
            .unwrap()
            .iter()
            .map(|a| {
                (a["artifact"].as_str().unwrap().to_string(), a["state"].as_str().unwrap_or("missing").to_string())
            })
            .collect()
    };
    let all_signed: Vec<(String, String)> =
        ["demand_consensus", "supply_plan", "reconciliation_pack", "signed_plan", "commitment_log"]
            .iter()
            .map(|a| (a.to_string(), "signed".to_string()))
            .collect();
    assert_eq!(states("2026-12"), all_signed);
    let month_two: Vec<String> = states("2027-01").into_iter().map(|(a, s)| format!("{a} {s}")).collect();
    assert_eq!(
        month_two,
        [
            "demand_consensus draft",
            "supply_plan draft",
            "reconciliation_pack missing",
            "signed_plan missing",
            "commitment_log missing"
        ]
    );

    // Month two's first agenda line scores month one. Checked against what month one stored:
    // every line of the signed log is scored once; the re-negotiated ones are those returned;
    // every decision not carried out is overdue on 12 January (all were due 31 December).
    let draft = |id: &str| -> serde_json::Value {
        let (code, out, err) = run_in(&ws, &["drafts", "show", id, "--json"]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap()
    };
    let month_two_consensus = draft("7");
    let card = &month_two_consensus["content"]["agenda"]["scorecard"];
    assert_eq!(card["cycle"], "2026-12");
    assert_eq!(card["as_of"], "2027-01-12", "the demand review's first day");
    let scored: serde_json::Value = serde_json::from_str(
        &fs_err::read_to_string(ws.join("runs/2027-01/demand-review/run-9/last-cycle.json")).unwrap(),
    )
    .unwrap();
    let log: serde_json::Value = serde_json::from_str(
        &fs_err::read_to_string(ws.join("runs/2026-12/commit-back/run-8/commitment-log.json")).unwrap(),
    )
    .unwrap();
    let log_lines = log["lines"].as_array().unwrap();
    commitment_counts_before_and_after_the_threshold(&ws, &log);
    let n = |k: &str| scored[k].as_u64().unwrap() as usize;
    assert_eq!(n("kept") + n("missed") + n("renegotiated") + n("not_yet_due"), log_lines.len());
    assert_eq!(n("renegotiated"), log_lines.iter().filter(|l| l["status"] == "re-negotiated").count());
    assert_eq!(n("renegotiated"), log_lines.len().div_ceil(5), "every fifth line was returned re-negotiated");
    let decided = out.lines().find(|l| l.contains("decided all")).unwrap();
    let count_after =
        |l: &str, key: &str| -> usize { l.split(key).nth(1).unwrap().split(' ').next().unwrap().parse().unwrap() };
    // The demo's pack: at most `max_executive_decisions` (10) decisions reach the executive, the
    // count the demo prints; the rest of the gaps are resolved or notices.
    let pack = json(&ws.join("runs/2026-12/reconciliation/run-5/facts.json"));
    let (decisions, notices) =
        (pack["trade_offs"].as_array().unwrap().len(), pack["notices"].as_array().unwrap().len());
    assert!((1..=10).contains(&decisions), "{decisions} decisions");
    assert_eq!(pack["max_executive_decisions"], 10);
    let printed =
        format!("{decisions} executive decisions (at most 10, grouped by root cause) and {notices} notices (");
    assert!(out.contains(&printed), "{printed}\n{out}");
    let deck = fs_err::read_to_string(ws.join("runs/2026-12/reconciliation/run-5/pack-2026-12.html")).unwrap();
    assert_eq!(deck.matches("<div class=\"card\">").count(), decisions.min(3));
    let first = pack["trade_offs"][0]["id"].as_str().unwrap();
    assert!(deck.contains(&format!("D1 {first}")), "the first decision is on the deck");
    // Every decision, and each gap decided otherwise: a decision each.
    let trade_offs = count_after(decided, "decided all ") + count_after(decided, "the recommended option each, ");
    let done = trade_offs - trade_offs / 3;
    let line = format!("executive decisions of 2026-12: {done} done, 0 open, {} overdue", trade_offs - done);
    assert!(
        card["lines"].as_array().unwrap().iter().any(|l| l == &serde_json::Value::from(line.clone())),
        "{line}\n{card}"
    );
    insta::assert_snapshot!("two_month_demo_scorecard", serde_json::to_string_pretty(card).unwrap());

    // Re-running month two's first meeting with unchanged extracts writes nothing.
    let (code, out, _) = run_in(&ws, &["run", "demand-review", "--cycle", "2027-01"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("inputs unchanged since run 9"), "{out}");
    let (code, out, _) = run_in(&ws, &["runs", "--json"]);
    assert_eq!(code, 0);
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Eight agent runs, month one's two scenario runs (the base and the pack's scenario) and
    // month two's four (the base and three what-ifs).
    assert_eq!(runs.as_array().unwrap().len(), 14, "the re-run wrote no new run");
    scenarios_of_month_two(&ws, &demo_out, &month_two);
    // The demo decides every decision with its recommended option, and one gap of one decision
    // otherwise (its shortfall accepted): the executive's re-plan with those choices (under the
    // default allocation, customer priorities first, a fix forbidden can re-share what is served,
    // so the signed plan is not bounded by the supply plan; its totals are checked against its
    // lines below). The pack's "with the recommended decisions" is one more re-solve besides one per option
    // (equal to the executive's re-plan with every recommended option: the test
    // `executive::every_decision_option_is_the_executives_re_plan_with_that_option`). (That the
    // recommended decisions alone give the supply plan to the byte is held by the unit test
    // `analysis::executive::tests::the_re_plan_imposes_the_decisions_on_the_same_linear_program`.)
    // The signed plan's total is checked against a plain sum over its lines.
    let facts = |run: &str| -> serde_json::Value {
        serde_json::from_str(&fs_err::read_to_string(ws.join(run).join("facts.json")).unwrap()).unwrap()
    };
    let (supply, pack, signed) = (
        facts("runs/2026-12/supply-review/run-2"),
        facts("runs/2026-12/reconciliation/run-5"),
        facts("runs/2026-12/executive/run-6"),
    );
    let total = |f: &serde_json::Value, key: &str| f["totals"][key].as_f64().unwrap();
    assert!(total(&signed, "constrained_units") <= total(&supply, "demand_units") + 1e-6);
    let options: usize =
        pack["trade_offs"].as_array().unwrap().iter().map(|d| d["options"].as_array().unwrap().len()).sum();
    // One per option and one with every recommendation; when those lose margin after fixes
    // together, one per recommendation tried and one with what stands (`whole::Combined`).
    let combined = &pack["financial"]["combined"];
    let net = |k: &str| combined[k].as_f64().unwrap();
    let withdrawn = combined["interactions"].as_array().unwrap().iter().filter(|x| x["withdrawn"] == true).count();
    let standing = pack["trade_offs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["recommendation"]["option"] != "cheapest_fixes")
        .count();
    let forward = if net("each_recommended_net_money") < net("supply_plan_net_money") - 0.01 {
        standing + withdrawn + 1
    } else {
        0
    };
    assert_eq!(pack["financial"]["decision_re_solves"].as_u64(), Some((options + 1 + forward) as u64));
    assert!(
        net("recommended_net_money") >= net("supply_plan_net_money") - 0.01
            || withdrawn < combined["interactions"].as_array().unwrap().len()
    );
    // The signed plan's lines are in its Parquet table (not in `facts.json`), hashed in the draft.
    let name = "tables/constrained_plan.parquet";
    assert!(signed.get("constrained_plan").is_some_and(|p| p.as_array().is_some_and(Vec::is_empty)));
    let bytes = fs_err::read(ws.join("runs/2026-12/executive/run-6").join(name)).unwrap();
    let plan = snop::artifacts::tables::read(name, bytes).unwrap().frame;
    let lines: f64 = plan.column("constrained_units").unwrap().f64().unwrap().into_no_null_iter().sum();
    assert!((lines - signed["totals"]["constrained_units"].as_f64().unwrap()).abs() < 0.5, "{lines}");
    // The demo company is a supply plan with notices in its frozen month and gaps to decide.
    let gaps = supply["gaps"].as_array().unwrap();
    let notices = gaps.iter().filter(|g| g["frozen"] == true).count();
    assert_eq!(supply["totals"]["frozen_gaps"].as_u64().unwrap() as usize, notices);
    assert!(notices > 0 && notices < gaps.len(), "{notices} of {}", gaps.len());
    assert!(demo_out.contains("notice(s) inside the frozen horizon"), "{demo_out}");
    // The demo is the fixture company: its signed plan's facts are the executive prompt's sample.
    crate::common::golden_json(
        &ws.join("runs/2026-12/executive/run-6/narrative-facts.json"),
        "prompts/executive/sample-facts.json",
    );
    let (code, out, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run_in(&ws, &["validate"]);
    assert_eq!(code, 0, "{out}{err}");
    // A decision quietly re-dated as done by someone else is caught (behind the trigger's back).
    crate::common::raw_sql(
        &ws,
        "sqlite://snop.db",
        &["DROP TRIGGER decision_done_no_update", "UPDATE decision_done SET done_by = 'olivia.chen' WHERE id = 1"],
    );
    let (code, _, err) = run_in(&ws, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(err.contains("said done by `olivia.chen`") && err.contains("has no audit entry over its content"), "{err}");
}

/// `snop demo --locale de-DE`: the demo company in German. What it prints (the runs' notes, the
/// pack's what-if) writes numbers as a German reader does, `174.927,2`, never `174,927`; the
/// demo above, in en-US, prints `174,927.2`. An unknown locale is refused, naming those snop knows.
#[test]
fn the_demo_prints_numbers_in_its_locale() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run_in(tmp.path(), &["demo", "x", "--locale", "xx-YY"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("`--locale xx-YY` is not a locale snop knows") && err.contains("de-DE"), "{err}");
    let (code, out, err) =
        run_in(tmp.path(), &["demo", "ws", "--skus", "40", "--customers", "12", "--locale", "de-DE"]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let toml = fs_err::read_to_string(tmp.path().join("ws/snop.toml")).unwrap();
    assert!(toml.contains("locale = \"de-DE\""), "{toml}");
    let (german, english) = (regex::Regex::new(r"\d\.\d{3}\b").unwrap(), regex::Regex::new(r"\d,\d{3}\b").unwrap());
    let printed: Vec<&str> =
        out.lines().filter(|l| l.trim_start().starts_with("note:") || l.contains("what-if:")).collect();
    assert!(printed.iter().all(|l| !english.is_match(l)), "{printed:#?}");
    let spent = printed.iter().find(|l| l.contains(" spent on fixes (overtime ")).unwrap();
    assert!(german.is_match(spent), "{spent}");
    assert!(printed.iter().any(|l| l.contains("what-if:") && german.is_match(l)), "{printed:#?}");
}

#[test]
fn generator_reproduces_the_committed_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run_in(tmp.path(), &["generate", "out", "--skus", "40", "--customers", "12"]);
    assert_eq!(code, 0, "{err}");
    let fixture = repo().join("fixtures/demo/data");
    let mut compared = 0;
    for entry in walk(&fixture) {
        let rel = entry.strip_prefix(&fixture).unwrap();
        let fresh = fs_err::read(tmp.path().join("out/data").join(rel)).unwrap();
        assert!(fresh == fs_err::read(&entry).unwrap(), "`{}` differs from the committed fixture", rel.display());
        compared += 1;
    }
    assert!(compared >= 17, "only {compared} fixture files");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs_err::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out.sort();
    out
}

/// The commitment log's counts on the demo before and after `[commit_back] min_units` (1 unit),
/// checked against the signed plan by plain loops: before the threshold a line is every
/// customer x SKU x month the plan shortens (the log's lines plus those it counts as noise);
/// every shortfall of a unit or more is a line; a line under a unit is one that breaks a booked
/// order by a unit or more. (The order book itself is month two's by now, so the orders are read
/// from the lines.) Lines breaking orders come first.
fn commitment_counts_before_and_after_the_threshold(ws: &std::path::Path, log: &serde_json::Value) {
    use polars::prelude::*;
    let bytes = fs_err::read(ws.join("runs/2026-12/executive/run-6/signed-plan.parquet")).unwrap();
    let plan = ParquetReader::new(std::io::Cursor::new(bytes)).finish().unwrap();
    let text = |c: &str| plan.column(c).unwrap().str().unwrap().clone();
    let num = |c: &str| plan.column(c).unwrap().f64().unwrap().clone();
    let (sku, customer, month, requested, planned) =
        (text("sku"), text("customer"), text("month"), num("requested_units"), num("planned_units"));
    let lines = log["lines"].as_array().unwrap();
    let key = |l: &serde_json::Value| {
        (
            l["customer"].as_str().unwrap().to_string(),
            l["sku"].as_str().unwrap().to_string(),
            l["month"].as_str().unwrap().to_string(),
        )
    };
    let listed: std::collections::BTreeSet<(String, String, String)> = lines.iter().map(key).collect();
    let (mut before, mut one_or_more) = (0, 0);
    for i in 0..plan.height() {
        let (c, s, m) = (customer.get(i).unwrap(), sku.get(i).unwrap(), month.get(i).unwrap());
        let (r, p) = (requested.get(i).unwrap(), planned.get(i).unwrap());
        if c == "*" || p + 1e-6 >= r {
            continue;
        }
        before += 1;
        if r - p + 1e-6 >= 1.0 {
            one_or_more += 1;
            assert!(listed.contains(&(c.to_string(), s.to_string(), m.to_string())), "{c} {s} {m} short by {}", r - p);
        }
    }
    let below = log["left_out"]["lines_below_min_units"].as_u64().unwrap() as usize;
    assert_eq!(lines.len() + below, before, "lines before the threshold");
    assert!(below > 0, "the demo's plan has shortfalls under one unit: {before} before, {} after", lines.len());
    let f = |l: &serde_json::Value, k: &str| l[k].as_f64().unwrap();
    let small: Vec<&serde_json::Value> =
        lines.iter().filter(|l| f(l, "requested") - f(l, "committed") + 1e-6 < 1.0).collect();
    assert!(small.iter().all(|l| f(l, "orders_not_covered") + 1e-6 >= 1.0), "a line under a unit breaks an order");
    assert_eq!(one_or_more + small.len(), lines.len(), "after the threshold");
    let breaking: Vec<bool> = lines.iter().map(|l| f(l, "orders_not_covered") > 1e-6).collect();
    let n = breaking.iter().filter(|b| **b).count();
    assert!(breaking.iter().take(n).all(|b| *b), "the {n} lines breaking booked orders come first");
    // What the demo shows, for the record (the closing note quotes it).
    eprintln!("demo commitment log: {before} lines before the threshold, {} after, {n} breaking orders", lines.len());
}

/// The demo writes three scenarios for month two, re-plans them and the base into the store
/// under their names (runs 11 to 14) and compares them; an unchanged scenario re-run writes
/// nothing, a changed file writes a new run, and no real agent's run or draft is touched.
fn scenarios_of_month_two(ws: &std::path::Path, demo_out: &str, month_two: &[String]) {
    let line = "what-if scenarios of 2027-01: saturday-shift, steelco-lost, valves-promotion re-planned";
    assert!(demo_out.contains(line), "{demo_out}");
    assert!(demo_out.contains("(runs 11, 12, 13, 14;"), "{demo_out}");
    let stem = ws.join("scenario-compare/2027-01/base-vs-saturday-shift-steelco-lost-valves-promotion");
    let shown =
        "the comparison: `ws/scenario-compare/2027-01/base-vs-saturday-shift-steelco-lost-valves-promotion.xlsx`";
    assert!(demo_out.contains(shown), "{shown} in:\n{demo_out}");
    let html = fs_err::read_to_string(stem.with_extension("html")).unwrap();
    assert!(html.contains("Gaps opened and closed") && html.contains("valves-promotion"), "{html}");
    let xlsx = fs_err::read(stem.with_extension("xlsx")).unwrap();
    assert!(xlsx.starts_with(b"PK"), "a workbook (a zip)");
    // The promotion opens a gap on the Brno ball-valve line: the demand it adds needs hours there.
    assert!(demo_out.contains("gap CAP-BRN-LINE-BALL-"), "{demo_out}");

    let (code, out, err) = run_in(ws, &["scenario", "run", "saturday-shift", "--cycle", "2027-01"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("scenario `saturday-shift` and the inputs are unchanged since run 12"), "{out}");
    let count = || {
        let (_, out, _) = run_in(ws, &["runs", "--json"]);
        serde_json::from_str::<serde_json::Value>(&out).unwrap().as_array().unwrap().len()
    };
    assert_eq!(count(), 14, "an unchanged scenario writes nothing");
    let file = ws.join("scenarios/saturday-shift.toml");
    let text = fs_err::read_to_string(&file).unwrap().replace("crews = 1 }", "crews = 2 }");
    fs_err::write(&file, text).unwrap();
    let (code, out, err) = run_in(ws, &["scenario", "run", "saturday-shift", "--cycle", "2027-01"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("run 15 of scenario `saturday-shift` for 2027-01"), "{out}");
    // Two crews on January's five Saturdays (the 2nd to the 30th): 5 x 8 x 2 = 80 h.
    assert!(out.contains("LEE-LINE-CENT shift sat x 8 h x 2 crew(s) (2027-01 5 day(s) 80 h, "), "{out}");
    assert_eq!(count(), 15);
    // The cycle's drafts are as they were: a scenario drafts nothing and signs nothing.
    let (code, out, _) = run_in(ws, &["status", "--cycle", "2027-01", "--json"]);
    assert_eq!(code, 0);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    let states: Vec<String> = status
        .as_array()
        .or_else(|| status["artifacts"].as_array())
        .unwrap()
        .iter()
        .map(|a| format!("{} {}", a["artifact"].as_str().unwrap(), a["state"].as_str().unwrap_or("missing")))
        .collect();
    assert_eq!(states, month_two);
    let (code, out, _) = run_in(ws, &["validate"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3 scenario file(s) valid (saturday-shift, steelco-lost, valves-promotion)"), "{out}");
    pack_carries_the_scenario(ws, demo_out);
}

/// Month two's pack compares with month one: last cycle's consensus and signed plan (2026-12) over
/// the 17 months both cover (2027-01 to 2028-05); the signed plan's units as summed here from
/// month one's `signed-plan.parquet`; slide 3 says it in words.
fn last_cycle_deltas(ws: &std::path::Path, folder: &std::path::Path, deck: &str) {
    use polars::prelude::*;
    let facts = json(&folder.join("facts.json"));
    let plan = &facts["deltas"]["plan"]["last_signed_plan"];
    assert_eq!((plan["base_cycle"].as_str(), plan["months_compared"].as_u64()), (Some("2026-12"), Some(17)), "{plan}");
    let consensus = &facts["deltas"]["consensus"]["last_cycle_consensus"];
    assert_eq!(
        (consensus["first_month"].as_str(), consensus["last_month"].as_str()),
        (Some("2027-01"), Some("2028-05"))
    );
    let bytes = fs_err::read(ws.join("runs/2026-12/executive/run-6/signed-plan.parquet")).unwrap();
    let df = ParquetReader::new(std::io::Cursor::new(bytes)).finish().unwrap();
    let (month, units) =
        (df.column("month").unwrap().str().unwrap(), df.column("planned_units").unwrap().f64().unwrap());
    let mut signed = 0.0;
    for i in 0..df.height() {
        if month.get(i).unwrap() >= "2027-01" {
            signed += units.get(i).unwrap();
        }
    }
    let base = plan["units"]["base"].as_f64().unwrap();
    assert!((base - signed).abs() < 0.01, "{base} against {signed} summed here");
    let slide3 = deck.split("id=\"slide-3\"").nth(1).unwrap().split("id=\"slide-4\"").next().unwrap();
    assert!(slide3.contains("Against the signed plan of 2026-12: units "), "{slide3}");
}

/// Month one's pack carries `[reconciliation] pack_scenario` (saturday-shift, runs 3 and 4,
/// re-planned before the reconciliation): its figures on slide 2 are the stored outcomes' (read
/// here from each run's `outcome.json`, the difference subtracted here). A scenario edited and
/// not re-run is stale: the pack says so and shows no figure.
fn pack_carries_the_scenario(ws: &std::path::Path, demo_out: &str) {
    assert!(demo_out.contains("what-if: saturday-shift: margin after fixes"), "{demo_out}");
    let outcome = |run: &str| json(&ws.join(format!("runs/2026-12/{run}/outcome.json")));
    let (base, shift) = (outcome("scenario-base/run-3"), outcome("scenario-saturday-shift/run-4"));
    assert_eq!(shift["name"], "saturday-shift");
    let pack = json(&ws.join("runs/2026-12/reconciliation/run-5/pack-scenario.json"));
    assert!(pack["problem"].is_null(), "{pack}");
    let deck = fs_err::read_to_string(ws.join("runs/2026-12/reconciliation/run-5/pack-2026-12.html")).unwrap();
    let n = snop::analysis::format_number;
    for key in ["revenue_money", "margin_after_fixes_money", "spend_money", "unmet_units"] {
        let (b, s) = (base[key].as_f64().unwrap(), shift[key].as_f64().unwrap());
        let d = ((s - b) * 100.0).round() / 100.0;
        let d = if d > 0.0 { format!("+{}", n(d)) } else { n(d) };
        let row = format!("<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{d}</td>", n(b), n(s));
        assert!(deck.contains(&row), "{key}: {row} on the pack's slide 2:\n{deck}");
    }
    let slide2 = deck.split("id=\"slide-2\"").nth(1).unwrap().split("id=\"slide-3\"").next().unwrap();
    assert!(slide2.contains("What if: saturday-shift"), "{slide2}");
    assert_eq!(deck.matches("<section class=\"slide\"").count(), 5, "still five slides");

    // The demo's COO cites the pack's scenario on the first decision; the signed plan's log,
    // its agenda and its workbook's decision say so.
    let facts = json(&ws.join("runs/2026-12/reconciliation/run-5/facts.json"));
    let first = &facts["trade_offs"][0];
    let id = first["id"].as_str().unwrap();
    assert!(demo_out.contains(&format!("on `{id}` cites the what-if `saturday-shift`")), "{demo_out}");
    let log = json(&ws.join("runs/2026-12/executive/run-6/decisions.json"));
    let cited: Vec<&str> = log["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["scenario"] == "saturday-shift")
        .map(|d| d["tradeoff_id"].as_str().unwrap())
        .collect();
    assert_eq!(cited, [id]);
    let (code, out, err) = run_in(ws, &["drafts", "show", "4", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("carry out `{id}`: ")) && out.contains("(cites scenario `saturday-shift`)"), "{out}");
    // A decision citing a scenario with no run for the cycle is refused, and nothing recorded.
    let option = first["recommendation"]["option"].as_str().unwrap();
    let args = ["decide", "--cycle", "2026-12", "--decision", id, "--option", option, "--owner", "sam.okafor"];
    let args = [&args[..], &["--due", "2027-01-08", "--as", "olivia.chen", "--scenario", "steelco-lost"]].concat();
    let (code, out, err) = run_in(ws, &args);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains(
            "the scenario `steelco-lost` has no run for 2026-12 (the cycle's scenario runs: base, saturday-shift)"
        ),
        "{err}"
    );

    // Month two's pack, drafted on unsigned inputs: the base (run 11) and saturday-shift as last
    // re-planned (run 15, two crews) are current, so it carries them; the file edited again and not
    // re-run, the next pack says the run is stale and shows no figure.
    let recon = |run: u32| {
        let (code, out, err) = run_in(ws, &["run", "reconciliation", "--cycle", "2027-01", "--allow-unsigned"]);
        assert_eq!(code, 0, "{out}{err}");
        let folder = ws.join(format!("runs/2027-01/reconciliation/run-{run}"));
        (
            json(&folder.join("pack-scenario.json")),
            fs_err::read_to_string(folder.join("pack-2027-01.html")).unwrap(),
            folder,
        )
    };
    let (current, deck, folder) = recon(16);
    assert!(current["problem"].is_null(), "{current}");
    last_cycle_deltas(ws, &folder, &deck);
    let names: Vec<&str> =
        current["comparison"]["outcomes"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["base", "saturday-shift"]);
    assert!(deck.contains("What if: saturday-shift"), "{deck}");
    let file = ws.join("scenarios/saturday-shift.toml");
    let text = fs_err::read_to_string(&file).unwrap().replace("crews = 2 }", "crews = 3 }");
    fs_err::write(&file, text).unwrap();
    let (stale, deck, folder) = recon(17);
    let why = stale["problem"].as_str().unwrap();
    assert!(
        why.starts_with("the scenario `saturday-shift` is not in the pack: the run 15 of `saturday-shift` is stale"),
        "{why}"
    );
    assert!(stale["comparison"].is_null());
    let slide2 = deck.split("id=\"slide-2\"").nth(1).unwrap().split("id=\"slide-3\"").next().unwrap();
    assert!(slide2.contains("is stale") && !slide2.contains("difference"), "no old figure:\n{slide2}");
    let report = fs_err::read_to_string(folder.join("report.json")).unwrap();
    assert!(report.contains("is not in the pack"), "the run's notes say so: {report}");
}
