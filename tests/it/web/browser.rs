//! In a real browser (headless Chromium over WebDriver): the review workflow on the seeded
//! store (refusals, hostile text shown inert, two editors at once, approving and signing), and
//! the demo's month two taken to its executive meeting. Screenshots of each page are kept in
//! `$CARGO_TARGET_DIR/test-outputs/web/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use snop::draft::Request;
use snop::sop::{Artifact, Directory};
use snop::store::Store;
use snop::web::Options;

use super::{CYCLE, HOSTILE_CUSTOMER, HOSTILE_MODEL_TEXT, demo_server, directory, free_port, http, password, start};
use crate::common::block_on;

// A minimal W3C WebDriver client over reqwest (chromedriver speaks JSON over HTTP on loopback;
// a client crate would rebuild the HTTP stack polars shares for tests only).

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    child: std::process::Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn chromedriver() -> Driver {
    const HINT: &str = "the browser tests need Chromium and its WebDriver from the OS packages: `apt-get install chromium chromium-driver` (`.ci/setup` installs them)";
    for bin in ["chromedriver", "chromium"] {
        let found = std::process::Command::new(bin).arg("--version").output().is_ok_and(|o| o.status.success());
        assert!(found, "`{bin}` is missing: {HINT}");
    }
    let port = free_port();
    let child = std::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("chromedriver does not start ({e}): {HINT}"));
    let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
    for _ in 0..100 {
        if let Ok(r) = http().get(format!("{}/status", driver.url)).send().await
            && r.status().is_success()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on port {port}: {HINT}");
}

struct Browser {
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn open(driver: &Driver) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1280,1000", format!("--user-data-dir={}", profile.path().display())]}}}});
        let v = call("POST", &format!("{}/session", driver.url), Some(caps)).await.expect("a browser session");
        let id = v["value"]["sessionId"].as_str().expect("a session id").to_string();
        Browser { session: format!("{}/session/{id}", driver.url), _profile: profile }
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        call(method, &format!("{}{path}", self.session), body).await.map(|v| v["value"].clone())
    }

    async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url}))).await.unwrap();
    }

    /// Waits up to 10 s for an element.
    async fn find(&self, css: &str) -> String {
        let mut last = Ok(Value::Null);
        for _ in 0..100 {
            last = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css}))).await;
            if let Ok(v) = &last
                && let Some(id) = v[ELEMENT].as_str()
            {
                return id.to_string();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no `{css}` on the page ({last:?}); it says:\n{}", self.body_text().await);
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{e}/clear"), Some(json!({}))).await.unwrap();
        self.cmd("POST", &format!("/element/{e}/value"), Some(json!({"text": text}))).await.unwrap();
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({}))).await.unwrap();
    }

    async fn script(&self, js: &str) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": js, "args": []}))).await.unwrap()
    }

    async fn body_text(&self) -> String {
        self.script("return document.body ? document.body.innerText : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits up to 10 s for an element whose text contains `text`; returns its text.
    async fn wait_text(&self, css: &str, text: &str) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            if let Ok(v) = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css}))).await
                && let Some(id) = v[ELEMENT].as_str()
                && let Ok(t) = self.cmd("GET", &format!("/element/{id}/text"), None).await
            {
                last = t.as_str().unwrap_or_default().to_string();
                if last.contains(text) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("`{css}` never said `{text}` (last: `{last}`); the page says:\n{}", self.body_text().await);
    }

    async fn login(&self, base: &str, person: &str) {
        self.login_with(base, person, &password(person)).await;
        self.wait_text("#who", &directory().name(person)).await;
    }

    async fn login_with(&self, base: &str, person: &str, password: &str) {
        self.goto(&format!("{base}/login")).await;
        self.fill("#user", person).await;
        self.fill("#password", password).await;
        self.click("#login").await;
        self.find("#who").await;
    }

    async fn no_alert(&self) {
        let alert = self.cmd("GET", "/alert/text", None).await;
        assert!(alert.is_err(), "a script ran and opened an alert: {alert:?}");
    }

    async fn screenshot(&self, name: &str) {
        use base64::Engine as _;
        let png = self.cmd("GET", "/screenshot", None).await.unwrap();
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        let dir = outputs();
        fs_err::create_dir_all(&dir).unwrap();
        fs_err::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }

    async fn close(self) {
        let _ = call("DELETE", &self.session, None).await;
    }
}

async fn call(method: &str, url: &str, body: Option<Value>) -> Result<Value, String> {
    let client = http();
    let request = match method {
        "GET" => client.get(url),
        "DELETE" => client.delete(url),
        _ => client.post(url).json(&body.unwrap_or(json!({}))),
    };
    let r = request.send().await.map_err(|e| e.to_string())?;
    let ok = r.status().is_success();
    let v: Value = r.json().await.map_err(|e| e.to_string())?;
    if ok { Ok(v) } else { Err(v["value"]["message"].as_str().unwrap_or("webdriver error").to_string()) }
}

/// `$CARGO_TARGET_DIR/test-outputs/web/`: the screenshots of each page.
fn outputs() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_snop"));
    exe.parent().and_then(Path::parent).expect("target/<profile>/snop").join("test-outputs/web")
}

#[test]
fn the_review_workflow_in_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let base = start(tmp.path(), Options::default()).await;
        let driver = chromedriver().await;
        let a = Browser::open(&driver).await;

        // A planner without the role tries to approve: refused, told who may.
        a.goto(&format!("{base}/login")).await;
        a.screenshot("01-login").await;
        a.login(&base, "paul.planner").await;
        a.wait_text("#board", "demand consensus").await;
        a.goto(&format!("{base}/drafts/1")).await;
        a.click("#approve").await;
        let refused = a.wait_text("#refused", "may approve").await;
        assert_eq!(
            refused,
            "only the demand lead (Dana Whitfield, Priya Shah) may approve the demand consensus; Paul Planner is not allowed to"
        );
        a.screenshot("02-refused-without-the-role").await;
        assert_eq!(a.script("return typeof htmx").await, "object", "htmx runs under the policy");
        a.click("#logout").await;
        a.find("#login").await;

        // Hostile spreadsheet and model text are shown as text and run nothing.
        a.login(&base, "dana.whitfield").await;
        a.goto(&format!("{base}/drafts/2?table=top+customers&customer=script")).await;
        let table = a.wait_text("#facts", HOSTILE_CUSTOMER).await;
        assert!(table.contains(HOSTILE_CUSTOMER), "{table}");
        let narrative = a.script("return document.getElementById('narrative').value").await;
        assert!(narrative.as_str().unwrap().contains(HOSTILE_MODEL_TEXT), "{narrative}");
        let injected = a.script("return document.querySelectorAll('#facts script, main img').length").await;
        assert_eq!(injected, 0);
        a.no_alert().await;
        a.script("document.getElementById('tables').scrollIntoView(); return 0").await;
        a.screenshot("03-hostile-text-inert").await;
        // Filtering swaps the table in place (htmx), without loading the page again: a mark
        // left on the window survives. `Customer 110` to `Customer 119`: 10 rows.
        a.script("window.snopMark = 1; return 0").await;
        a.fill("#customer", "customer 11").await;
        a.click("#filter").await;
        a.wait_text("#showing", "top customers: rows 1-10 of 10 (filtered from 120)").await;
        assert_eq!(a.script("return window.snopMark").await, 1, "the table was swapped, not the page reloaded");
        a.screenshot("04-filtered-in-place").await;

        // Two demand leads edit draft 1 at once: the second save is refused and shown the change.
        let b = Browser::open(&driver).await;
        b.login(&base, "priya.shah").await;
        a.goto(&format!("{base}/drafts/1")).await;
        b.goto(&format!("{base}/drafts/1")).await;
        a.fill("#narrative", "# Demand holds at 200 units\n\nDana's reading.\n\n## Risks\n- Pumps may slip.\n").await;
        a.click("#save").await;
        a.wait_text("#done", "Dana Whitfield edited the demand consensus 2026-12 version 1").await;
        a.screenshot("05-edited").await;
        b.fill("#narrative", "# Demand dips\n\nPriya's reading.\n\n## Risks\n- Pumps may slip.\n").await;
        b.click("#save").await;
        let why = b.wait_text("#refused", "changed this draft").await;
        assert!(why.starts_with("Dana Whitfield changed this draft at "), "{why}");
        let diff = b.wait_text("#conflict", "stored now (by Dana Whitfield)").await;
        assert!(diff.contains("-# Demand holds at 200 units") && diff.contains("+# Demand dips"), "{diff}");
        let kept = b.script("return document.getElementById('narrative').value").await;
        assert!(kept.as_str().unwrap().contains("Priya's reading."), "her text is kept in the editor");
        b.screenshot("06-second-save-refused").await;
        b.close().await;
        let store = Store::open(tmp.path(), "sqlite://snop.db").await.unwrap();
        let d = store.draft(1).await.unwrap().unwrap();
        assert_eq!(d.content.narrative.headline, "Demand holds at 200 units", "never silently overwritten");

        // Dana approves and signs; the board shows it.
        a.goto(&format!("{base}/drafts/1")).await;
        a.click("#approve").await;
        a.wait_text("#done", "Dana Whitfield approved the demand consensus").await;
        a.fill("#sign-password", &password("dana.whitfield")).await;
        a.click("#sign").await;
        a.wait_text("#state", "signed").await;
        a.wait_text("#signed", "signed by Dana Whitfield (demand lead)").await;
        a.screenshot("07-signed").await;
        a.goto(&format!("{base}/")).await;
        a.wait_text("#board", "signed by Dana Whitfield (demand lead)").await;
        a.screenshot("08-board").await;
        a.no_alert().await;
        a.close().await;
        assert!(store.verify_audit().await.unwrap().first_problem.is_none());
    });
}

/// The newest version of a cycle's artifact, approved by the first signer and signed by each,
/// through the store as `snop drafts approve|sign` does.
async fn approve_and_sign(store: &Store, dir: &Directory, cycle: &str, artifact: Artifact, signers: &[&str]) {
    let d = store.drafts(Some(cycle), Some(artifact)).await.unwrap().remove(0);
    let mut row_version =
        store.act(dir, d.id, signers[0], Request::Approve, Some(d.row_version)).await.unwrap().draft.row_version;
    for who in signers {
        row_version = store.act(dir, d.id, who, Request::Sign, Some(row_version)).await.unwrap().draft.row_version;
    }
}

/// The demo's month two taken to its executive meeting in a real browser: the leads sign their
/// drafts and the pack as the CLI does; the COO decides a trade-off on the decisions page, the
/// executive agent drafts the plan from it, and the COO approves and signs the plan. Then an
/// account manager updates one of her lines of month one's commitment log.
#[test]
fn the_executive_decides_and_signs_the_plan_in_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let (ws_dir, base) = demo_server(tmp.path()).await;
        let ws = snop::config::Workspace::load_without_inputs(&ws_dir).unwrap();
        let dir = ws.directory();
        let store = Store::open(&ws_dir, "sqlite://snop.db").await.unwrap();
        const NEXT: &str = "2027-01";
        approve_and_sign(&store, &dir, NEXT, Artifact::DemandConsensus, &["dana.whitfield"]).await;
        approve_and_sign(&store, &dir, NEXT, Artifact::SupplyPlan, &["sam.okafor"]).await;
        let (code, _, err) = crate::common::run_in(&ws_dir, &["run", "reconciliation", "--cycle", NEXT, "--quiet"]);
        assert_eq!(code, 0, "{err}");
        approve_and_sign(&store, &dir, NEXT, Artifact::ReconciliationPack, &["dana.whitfield", "sam.okafor"]).await;

        let driver = chromedriver().await;
        let b = Browser::open(&driver).await;
        b.login_with(&base, "olivia.chen", &snop::demo::demo_password("olivia.chen")).await;
        // Month two's what-if scenarios, which the demo ran: linked from the board, each one's
        // plan, and the base compared with the three of them; one picked alone.
        b.goto(&format!("{base}/?cycle={NEXT}")).await;
        b.click("#scenarios-link").await;
        for name in ["base", "saturday-shift", "steelco-lost", "valves-promotion"] {
            b.find(&format!("#scenario-{name}")).await;
        }
        b.wait_text("#scenario-saturday-shift", "LEE-LINE-CENT shift sat x 8 h x 1 crew(s) (2027-01 5 day(s) 40 h")
            .await;
        b.wait_text("#compare h2", "Compared: base, saturday-shift, steelco-lost, valves-promotion").await;
        b.wait_text("#compare", "Gaps opened and closed").await;
        b.wait_text("#compare", "valves-promotion: margin after fixes").await;
        b.screenshot("08-scenarios-compared").await;
        b.click("#scenario-steelco-lost a").await;
        b.wait_text("#compare h2", "Compared: base, steelco-lost").await;
        let text = b.body_text().await;
        assert!(!text.contains("valves-promotion: margin after fixes"), "only the one picked:\n{text}");
        b.no_alert().await;
        // A decision links the scenarios that show what its levers do: computed here from the
        // pack and the scenario runs (a change naming the decision's resource or component, or
        // a gap of the decision opened or closed against the base).
        let month = snop::contract::Month::parse(NEXT).unwrap();
        let latest = snop::pipeline::scenario::latest(&store, month).await.unwrap();
        let plain = &latest["base"].1;
        let mut touched = Vec::new();
        for (t, _) in snop::pipeline::decisions::tradeoffs(&store, month).await.unwrap() {
            let first = t.place.split(' ').next().unwrap().to_string();
            for (name, (_, o)) in latest.iter().filter(|(n, _)| n.as_str() != "base") {
                let named = o.changes.iter().any(|c| c.contains(&first));
                let moved = t
                    .gaps
                    .iter()
                    .any(|g| plain.gaps.iter().any(|x| x.id == g.id) != o.gaps.iter().any(|x| x.id == g.id));
                if named || moved {
                    touched.push((t.id.clone(), name.clone()));
                }
            }
        }
        let (decision, name) = touched.first().expect("a decision of month two that a scenario touches").clone();
        b.goto(&format!("{base}/cycles/{NEXT}/decisions?find={decision}")).await;
        b.wait_text(".tradeoff .scenarios", &name).await;
        b.click(&format!(".tradeoff .scenarios a[href$='names={name}']")).await;
        b.wait_text("#compare h2", &format!("Compared: base, {name}")).await;
        // The run button starts a job and lands on its page, which refreshes itself (a meta
        // refresh, no script) until the job is done, then links to the comparison. The
        // consensus was signed since the demo ran its scenarios: a new base, and steelco-lost
        // re-planned over it.
        b.goto(&format!("{base}/cycles/{NEXT}/scenarios")).await;
        b.click("#file-steelco-lost button.run-scenario").await;
        b.find("#job").await;
        let path = b.script("return location.pathname").await;
        assert_eq!(path.as_str(), Some(format!("/cycles/{NEXT}/scenarios/jobs/steelco-lost").as_str()));
        let mut done = false;
        for _ in 0..1200 {
            let seen = b.cmd(
                "POST",
                "/execute/sync",
                Some(json!({"script": "return document.querySelector('#done') ? 1 : 0", "args": []})),
            );
            if seen.await.is_ok_and(|v| v == json!(1)) {
                done = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(done, "the job's page never said done:\n{}", b.body_text().await);
        b.screenshot("08b-scenario-run-done").await;
        b.click("#comparison").await;
        b.wait_text("#compare h2", "Compared: base, steelco-lost").await;
        b.no_alert().await;
        b.goto(&format!("{base}/cycles/{NEXT}/decisions")).await;
        let form = "#tradeoff-1 form.decide";
        let tradeoff = b.script(&format!("return document.querySelector('{form} input[name=tradeoff]').value")).await;
        let tradeoff = tradeoff.as_str().unwrap().to_string();
        b.click(&format!("{form} input[value=send_back]")).await;
        b.fill(&format!("{form} input[name=reason]"), "<b>recost</b> the overtime").await;
        b.click(&format!("{form} input[value=option]")).await;
        b.click(&format!("{form} select[name=option] option[value=accept_shortfall]")).await;
        b.click(&format!("{form} select[name=owner] option[value='sam.okafor']")).await;
        b.script(&format!("document.querySelector('{form} input[name=due]').value = '2027-02-05'; return 0")).await;
        b.fill(&format!("{form} input[name=note]"), "<i>tell</i> the OEMs first").await;
        // The decision cites a scenario of the cycle's runs (the form's optional select).
        b.click(&format!("{form} select[name=scenario] option[value='valves-promotion']")).await;
        b.screenshot("09-deciding-a-trade-off").await;
        b.click(&format!("{form} button")).await;
        b.wait_text(
            "#done",
            &format!(
                "on trade-off `{tradeoff}` of {NEXT} recorded for Olivia Chen (COO), citing scenario `valves-promotion`"
            ),
        )
        .await;
        b.no_alert().await;
        let decided = store.decisions(NEXT).await.unwrap();
        let d = decided.iter().find(|d| d.tradeoff_id.as_deref() == Some(&tradeoff)).expect("the decision is stored");
        assert!(
            matches!(&d.choice, snop::analysis::executive::Choice::Option { option } if option == "accept_shortfall"),
            "the option chosen, not the send-back tried first: {:?}",
            d.choice
        );
        assert_eq!(
            (d.owner.as_deref(), d.due.as_deref(), d.decided_by.as_str(), d.note.as_deref()),
            (Some("sam.okafor"), Some("2027-02-05"), "olivia.chen", Some("<i>tell</i> the OEMs first"))
        );
        assert_eq!(d.scenario.as_deref(), Some("valves-promotion"));

        // The rest as `snop decide` records them: the recommended option each.
        let month = snop::contract::Month::parse(NEXT).unwrap();
        let rest = snop::pipeline::decisions::tradeoffs(&store, month)
            .await
            .unwrap()
            .into_iter()
            .filter(|(_, decided)| decided.is_none())
            .map(|(t, _)| snop::store::decisions::NewDecision {
                cycle: NEXT.into(),
                tradeoff_id: Some(t.id.clone()),
                choice: snop::analysis::executive::Choice::Option { option: t.recommendation.option.clone() },
                owner: Some("sam.okafor".into()),
                due: Some("2027-02-05".into()),
                note: None,
                scenario: None,
            })
            .collect();
        snop::pipeline::decisions::decide_each(&dir, &store, "olivia.chen", rest).await.unwrap();

        // The executive agent drafts the plan from the decisions; the COO approves and signs it.
        let (code, _, err) = crate::common::run_in(&ws_dir, &["run", "executive", "--cycle", NEXT, "--quiet"]);
        assert_eq!(code, 0, "{err}");
        let plan = store.drafts(Some(NEXT), Some(Artifact::SignedPlan)).await.unwrap().remove(0);
        // The signed plan's agenda says which scenario the decision cited.
        let cited = format!("carry out `{tradeoff}`: accept shortfall (cites scenario `valves-promotion`)");
        let agenda = store.draft(plan.id).await.unwrap().unwrap().content.agenda;
        assert!(agenda.decisions.iter().any(|a| a.decision == cited), "{cited} in {agenda:#?}");
        b.goto(&format!("{base}/drafts/{}", plan.id)).await;
        b.click("#approve").await;
        b.wait_text("#done", &format!("Olivia Chen approved the signed plan {NEXT}")).await;
        b.fill("#sign-password", &snop::demo::demo_password("olivia.chen")).await;
        b.click("#sign").await;
        b.wait_text("#signed", "signed by Olivia Chen (COO)").await;
        b.screenshot("10-plan-signed").await;
        b.goto(&format!("{base}/?cycle={NEXT}")).await;
        b.wait_text("#board", "signed by Olivia Chen (COO)").await;
        b.screenshot("11-board-month-two").await;
        b.click("#logout").await;
        b.find("#login").await;

        // An account manager's own lines of month one's log; she marks one told.
        b.login_with(&base, "ana.lopez", &snop::demo::demo_password("ana.lopez")).await;
        b.goto(&format!("{base}/cycles/{CYCLE}/commitments?mine=1")).await;
        b.wait_text("#showing", "lines 1-").await;
        let row = "#log tr:nth-child(2) form";
        let line = b.script(&format!("return document.querySelector('{row} input[name=line]').value")).await;
        let line = line.as_str().unwrap().to_string();
        b.click(&format!("{row} select[name=status] option[value=communicated]")).await;
        b.fill(&format!("{row} input[name=note]"), "told on the phone").await;
        b.click(&format!("{row} button")).await;
        b.wait_text("#done", "saved as `returns/log-2026-12-web-").await;
        b.screenshot("12-commitment-line-updated").await;
        b.no_alert().await;
        b.close().await;
        let returned = fs_err::read_dir(ws_dir.join("returns")).unwrap().filter_map(Result::ok).any(|f| {
            let name = f.file_name().to_string_lossy().into_owned();
            name.starts_with("log-2026-12-web-") && name.ends_with("-ana.lopez.xlsx")
        });
        assert!(returned, "her update is a returned log for the commit-back agent ({line})");
        assert!(store.verify_audit().await.unwrap().first_problem.is_none());
    });
}
