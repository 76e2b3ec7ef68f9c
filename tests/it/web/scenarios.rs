//! A what-if scenario run from the scenario page (`POST /cycles/{cycle}/scenarios/run`): only by
//! the roles that may run one, as a job with a status page (running, then done or failed in the
//! error's words), then the comparison; an unchanged scenario writes nothing, a file with
//! problems is said on the page.

use reqwest::StatusCode;
use snop::store::Store;

use super::{demo_login, demo_server, get, http, post};
use crate::common::block_on;

/// The run's answer: its status, and where it sends the browser.
async fn run(base: &str, cookie: &str, csrf: &str, name: &str) -> (StatusCode, Option<String>, String) {
    let r = http()
        .post(format!("{base}/cycles/2027-01/scenarios/run"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(serde_urlencoded::to_string([("csrf", csrf), ("name", name)]).unwrap())
        .send()
        .await
        .unwrap();
    let to = r.headers().get(reqwest::header::LOCATION).map(|v| v.to_str().unwrap().to_string());
    (r.status(), to, r.text().await.unwrap())
}

/// The job's status page once it has finished (it refreshes itself every 2 s while it runs),
/// within 10 minutes.
async fn until_finished(base: &str, path: &str, cookie: &str) -> String {
    for _ in 0..3000 {
        let (status, body) = get(base, path, cookie).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if !body.contains("class=\"job-running\"") {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("the job at {path} still runs after 10 minutes");
}

async fn runs(store: &Store, agent: &str) -> usize {
    store.runs(Some(agent), Some("2027-01")).await.unwrap().len()
}

#[test]
fn the_supply_lead_runs_a_scenario_from_its_page_and_sees_the_comparison() {
    let tmp = tempfile::tempdir().unwrap();
    block_on(async {
        let (ws_dir, base) = demo_server(tmp.path()).await;
        let store = Store::open(&ws_dir, "sqlite://snop.db").await.unwrap();
        let page = "/cycles/2027-01/scenarios";

        // The sales lead sees the files but no run button, and a forged post is refused.
        let leo = demo_login(&base, "leo.grant").await;
        let (status, body) = get(&base, page, &leo).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("id=\"file-saturday-shift\"") && !body.contains("run-scenario"), "{body}");
        let csrf = super::csrf_of(&body);
        let (status, body) = post(
            &base,
            "/cycles/2027-01/scenarios/run",
            Some(&leo),
            &[("csrf", &csrf), ("name", "saturday-shift")],
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body.contains("Leo Grant may not run a scenario"), "{body}");

        // The supply lead runs saturday-shift as edited (two crews, not one): a job, whose
        // status page says it runs (refreshing itself), then done with a new run, and links to
        // base against it. A second click while it runs joins it: one new run, not two.
        let sam = demo_login(&base, "sam.okafor").await;
        let (_, body) = get(&base, page, &sam).await;
        assert_eq!(body.matches("class=\"run-scenario\"").count(), 3, "a button per file: {body}");
        assert!(body.contains("hx-boost=\"false\""), "a plain form post, so the status page refreshes: {body}");
        let csrf = super::csrf_of(&body);
        let file = ws_dir.join("scenarios/saturday-shift.toml");
        let text = fs_err::read_to_string(&file).unwrap().replace("crews = 1 }", "crews = 2 }");
        fs_err::write(&file, text).unwrap();
        let (before, base_before) =
            (runs(&store, "scenario-saturday-shift").await, runs(&store, "scenario-base").await);
        let (status, to, body) = run(&base, &sam, &csrf, "saturday-shift").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let to = to.unwrap();
        assert_eq!(to, "/cycles/2027-01/scenarios/jobs/saturday-shift");
        let (status, again, _) = run(&base, &sam, &csrf, "saturday-shift").await;
        assert_eq!((status, again.as_deref()), (StatusCode::SEE_OTHER, Some(to.as_str())));
        // Ingesting the demo's inputs alone takes longer than these requests: it still runs.
        let (status, running) = get(&base, &to, &sam).await;
        assert_eq!(status, StatusCode::OK);
        assert!(running.contains("class=\"job-running\"") && running.contains("http-equiv=\"refresh\""), "{running}");
        assert!(running.contains("started by Sam Okafor"), "{running}");
        let (_, listed) = get(&base, page, &leo).await;
        assert!(listed.contains("Running now: <a href=\"/cycles/2027-01/scenarios/jobs/saturday-shift\">"), "{listed}");
        let done = until_finished(&base, &to, &sam).await;
        assert!(done.contains("id=\"done\"") && !done.contains("http-equiv=\"refresh\""), "{done}");
        assert!(done.contains("`saturday-shift`: run") && done.contains("(re-planned)"), "{done}");
        assert!(done.contains("`base`: run") && done.contains("(unchanged, not re-planned)"), "{done}");
        assert_eq!(runs(&store, "scenario-saturday-shift").await, before + 1, "the edited scenario re-planned, once");
        assert_eq!(runs(&store, "scenario-base").await, base_before, "the base unchanged: nothing written");
        let link = "/cycles/2027-01/scenarios?names=saturday-shift";
        assert!(done.contains(&format!("id=\"comparison\" href=\"{link}\"")), "{done}");
        let (_, shown) = get(&base, link, &sam).await;
        assert!(shown.contains("Compared: base, saturday-shift"), "{shown}");
        assert!(shown.contains("LEE-LINE-CENT shift sat x 8 h x 2 crew(s) (2027-01 5 day(s) 80 h"), "{shown}");
        // The job's state is the server's: another person's reload reads the same.
        let (_, seen) = get(&base, &to, &leo).await;
        assert!(seen.contains("id=\"done\""), "{seen}");

        // Again, unchanged: a job that writes nothing.
        let (status, _, _) = run(&base, &sam, &csrf, "saturday-shift").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let done = until_finished(&base, &to, &sam).await;
        assert!(done.contains("`saturday-shift`: run") && !done.contains("(re-planned)"), "{done}");
        assert_eq!(runs(&store, "scenario-saturday-shift").await, before + 1);

        // A run that fails says why, in the error's words: a resource the data does not know.
        let bad = ws_dir.join("scenarios/no-such-line.toml");
        fs_err::write(&bad, "[[capacity]]\nresource = \"NO-SUCH-LINE\"\nfrom = \"2027-01\"\nhours = 8\n").unwrap();
        let (status, to, _) = run(&base, &sam, &csrf, "no-such-line").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let failed = until_finished(&base, &to.unwrap(), &sam).await;
        assert!(failed.contains("id=\"failed\""), "{failed}");
        assert!(failed.contains("no resource `NO-SUCH-LINE` in the resources table"), "{failed}");
        assert_eq!(runs(&store, "scenario-no-such-line").await, 0);
        fs_err::remove_file(&bad).unwrap();

        // No job of that name since the server started: said, not a blank page.
        let (status, body) = get(&base, "/cycles/2027-01/scenarios/jobs/steelco-lost", &sam).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("kept in memory while `snop serve` runs"), "{body}");

        // A file that is not there is said on the page, with what there is.
        let (status, _, body) = run(&base, &sam, &csrf, "night-shift").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("no such scenario file") && body.contains("saturday-shift"), "{body}");
    });
}
