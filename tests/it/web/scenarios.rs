//! A what-if scenario run from the scenario page (`POST /cycles/{cycle}/scenarios/run`): only by
//! the roles that may run one, then the comparison; an unchanged scenario writes nothing, a file
//! with problems is said on the page.

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

        // The supply lead runs saturday-shift as edited (two crews, not one): a new run, and the
        // page of base against it.
        let sam = demo_login(&base, "sam.okafor").await;
        let (_, body) = get(&base, page, &sam).await;
        assert_eq!(body.matches("class=\"run-scenario\"").count(), 3, "a button per file: {body}");
        let csrf = super::csrf_of(&body);
        let file = ws_dir.join("scenarios/saturday-shift.toml");
        let text = fs_err::read_to_string(&file).unwrap().replace("crews = 1 }", "crews = 2 }");
        fs_err::write(&file, text).unwrap();
        let (before, base_before) =
            (runs(&store, "scenario-saturday-shift").await, runs(&store, "scenario-base").await);
        let (status, to, body) = run(&base, &sam, &csrf, "saturday-shift").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let to = to.unwrap();
        assert_eq!(to, "/cycles/2027-01/scenarios?names=saturday-shift");
        assert_eq!(runs(&store, "scenario-saturday-shift").await, before + 1, "the edited scenario re-planned");
        assert_eq!(runs(&store, "scenario-base").await, base_before, "the base unchanged: nothing written");
        let (_, shown) = get(&base, &to, &sam).await;
        assert!(shown.contains("Compared: base, saturday-shift"), "{shown}");
        assert!(shown.contains("LEE-LINE-CENT shift sat x 8 h x 2 crew(s) (2027-01 5 day(s) 80 h"), "{shown}");

        // Again, unchanged: nothing new.
        let (status, _, _) = run(&base, &sam, &csrf, "saturday-shift").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(runs(&store, "scenario-saturday-shift").await, before + 1);

        // A file that is not there is said on the page, with what there is.
        let (status, _, body) = run(&base, &sam, &csrf, "night-shift").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("no such scenario file") && body.contains("saturday-shift"), "{body}");
    });
}
