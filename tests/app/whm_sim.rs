//! The WHM simulator over real HTTP: its flags, state, validation, control routes, the
//! simulated cPanel page and its autologin (whm-api.md §4–§5).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use applinks::whm::sim::{self, SimArgs, SimConfig, SimHandle, Sleeper};
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clap::Parser;
use futures::future::BoxFuture;
use scraper::{Html, Selector};
use serde_json::{Value, json};

use crate::whm_client::{client, link, spawn_sim};

/// A browser that does not follow redirects, so 303s can be asserted.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn state(sim: &SimHandle) -> Value {
    browser()
        .get(format!("{}/__sim/state", sim.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A raw API call with the right token: `(HTTP status, envelope)`.
async fn api(sim: &SimHandle, function: &str, args: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = browser()
        .get(format!("{}/json-api/{function}", sim.url))
        .header(
            "Authorization",
            format!("whm {}:{}", sim.username, sim.token),
        )
        .query(&[("api.version", "1")])
        .query(args)
        .send()
        .await
        .unwrap();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    (status, response.json().await.unwrap())
}

#[derive(Parser)]
struct TestCli {
    #[command(subcommand)]
    command: TestCommand,
}

#[derive(clap::Subcommand)]
enum TestCommand {
    WhmSim(SimArgs),
}

#[test]
fn sim_args_parse_as_the_whm_sim_subcommand_with_their_own_version_flag() {
    use clap::CommandFactory;
    TestCli::command().debug_assert();

    let cli = TestCli::try_parse_from([
        "applinks",
        "whm-sim",
        "--port",
        "0",
        "--accounts",
        "25",
        "--version",
        "11.110.0.1",
        "--module",
        "wp2",
        "--token",
        "sekrit",
        "--latency-ms",
        "15",
        "--fail-rate",
        "0.25",
        "--timeout-rate",
        "0.1",
        "--fail-users",
        "user0002,user0005",
    ])
    .unwrap();

    let TestCommand::WhmSim(args) = cli.command;
    let config = args.into_config();
    assert_eq!(config.accounts, 25);
    assert_eq!(config.version, "11.110.0.1");
    assert_eq!(config.module, "wp2");
    assert_eq!(config.token, "sekrit");
    assert_eq!(config.latency_ms, 15);
    assert_eq!(config.fail_rate, 0.25);
    assert_eq!(config.timeout_rate, 0.1);
    assert_eq!(config.fail_users, ["user0002", "user0005"]);
}

#[test]
fn sim_args_default_to_the_documented_version_and_a_random_token() {
    let parse = || {
        let TestCommand::WhmSim(args) = TestCli::try_parse_from(["applinks", "whm-sim"])
            .unwrap()
            .command;
        args.into_config()
    };
    let (first, second) = (parse(), parse());

    assert_eq!(first.version, "11.134.0.5");
    assert_eq!(first.module, "cpanel");
    assert_eq!(first.username, "root");
    assert!(first.token.len() >= 32);
    assert_ne!(first.token, second.token);
}

#[test]
fn sim_args_refuse_a_rate_above_1_and_an_unknown_module() {
    assert!(TestCli::try_parse_from(["applinks", "whm-sim", "--fail-rate", "1.5"]).is_err());
    assert!(TestCli::try_parse_from(["applinks", "whm-sim", "--module", "plesk"]).is_err());
}

#[tokio::test]
async fn state_shows_every_argument_of_a_created_link_as_received() {
    let sim = spawn_sim(2).await;
    client(&sim)
        .create_integration_link(&link("user0001", "ticket_open", "Open Ticket", 5))
        .await
        .unwrap();

    let state = state(&sim).await;

    assert_eq!(state["calls"]["create_integration_link"], 1);
    assert_eq!(
        state["users"]["user0001"]["applinks_ticket_open"],
        json!({
            "label": "Open Ticket",
            "order": "5",
            "implements": "support",
            "subscriber_unique_id": "42",
            "token": "link-secret-0123456789abcdef",
            "autologin_token_url": "http://127.0.0.1:9/sso/cpanel",
            "url": "http://127.0.0.1:9/client/ticket_open",
            "hide": "0",
        })
    );
    assert_eq!(state["users"]["user0002"], json!({}));
}

#[tokio::test]
async fn re_creating_an_app_replaces_its_link() {
    let sim = spawn_sim(1).await;
    let whm = client(&sim);
    whm.create_integration_link(&link("user0001", "ticket_open", "Open Ticket", 1))
        .await
        .unwrap();

    whm.create_integration_link(&link("user0001", "ticket_open", "New Ticket", 2))
        .await
        .unwrap();

    let state = state(&sim).await;
    let links = state["users"]["user0001"].as_object().unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links["applinks_ticket_open"]["label"], "New Ticket");
    assert_eq!(links["applinks_ticket_open"]["order"], "2");
}

#[tokio::test]
async fn removing_the_last_link_leaves_the_user_with_no_links() {
    let sim = spawn_sim(1).await;
    let whm = client(&sim);
    whm.create_integration_link(&link("user0001", "ticket_open", "Open Ticket", 1))
        .await
        .unwrap();

    whm.remove_integration_link("user0001", "applinks_ticket_open")
        .await
        .unwrap();

    assert_eq!(state(&sim).await["users"]["user0001"], json!({}));
}

type Arg = (&'static str, &'static str);

#[tokio::test]
async fn invalid_create_calls_answer_result_0_naming_the_argument_and_change_nothing() {
    let sim = spawn_sim(1).await;
    let valid = [
        ("user", "user0001"),
        ("app", "applinks_ticket_open"),
        ("implements", "support"),
        ("label", "Open Ticket"),
        ("subscriber_unique_id", "42"),
        ("token", "secret"),
        ("url", "http://127.0.0.1:9/client/tickets/new"),
    ];
    // (argument to drop, argument to add, word the reason must contain)
    let cases: [(&str, Option<Arg>, &str); 8] = [
        ("token", None, "“token”"),
        ("label", None, "“label”"),
        ("implements", None, "“implements”"),
        ("subscriber_unique_id", None, "“subscriber_unique_id”"),
        ("url", None, "“url”"),
        ("", Some(("group_id", "toolbox")), "“group_id”"),
        ("", Some(("hide", "yes")), "“hide”"),
        ("app", Some(("app", "applinks-ticket open")), "“app”"),
    ];

    for (drop, add, word) in cases {
        let mut args: Vec<(&str, &str)> = valid
            .iter()
            .copied()
            .filter(|(name, _)| *name != drop)
            .collect();
        args.extend(add);

        let (status, answer) = api(&sim, "create_integration_link", &args).await;

        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["metadata"]["result"], 0, "{args:?}");
        let reason = answer["metadata"]["reason"].as_str().unwrap();
        assert!(reason.contains(word), "{reason} should name {word}");
    }
    assert!(sim.links("user0001").is_empty());

    let (_, answer) = api(&sim, "create_integration_link", &valid).await;
    assert_eq!(answer["metadata"]["result"], 1);
    assert_eq!(answer["metadata"]["reason"], "OK");
}

#[tokio::test]
async fn a_call_without_api_version_1_is_refused() {
    let sim = spawn_sim(1).await;

    let answer: Value = browser()
        .get(format!("{}/json-api/version", sim.url))
        .header("Authorization", format!("whm root:{}", sim.token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(answer["metadata"]["result"], 0);
    assert!(
        answer["metadata"]["reason"]
            .as_str()
            .unwrap()
            .contains("api.version")
    );
}

#[tokio::test]
async fn missing_or_wrong_credentials_answer_403_with_the_envelope() {
    let sim = spawn_sim(1).await;
    let url = format!("{}/json-api/version?api.version=1", sim.url);

    let without = browser().get(&url).send().await.unwrap();
    let wrong_user = browser()
        .get(&url)
        .header("Authorization", format!("whm admin:{}", sim.token))
        .send()
        .await
        .unwrap();

    for response in [without, wrong_user] {
        assert_eq!(response.status().as_u16(), 403);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["metadata"]["result"], 0);
        assert_eq!(answer["metadata"]["reason"], "Access denied");
    }
}

#[tokio::test]
async fn faults_change_at_run_time_and_answer_the_new_settings() {
    let sim = spawn_sim(1).await;

    let answer: Value = browser()
        .post(format!("{}/__sim/faults", sim.url))
        .json(&json!({ "fail_rate": 1.0, "fail_users": ["user0001"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(
        answer,
        json!({ "latency_ms": 0, "fail_rate": 1.0, "timeout_rate": 0.0, "fail_users": ["user0001"] })
    );
    let (status, _) = api(&sim, "version", &[]).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    let refused = browser()
        .post(format!("{}/__sim/faults", sim.url))
        .json(&json!({ "timeout_rate": 2.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 422);
}

#[tokio::test]
async fn accounts_added_and_removed_at_run_time_are_seen_by_the_api() {
    let sim = spawn_sim(1).await;
    let whm = client(&sim);
    let added = browser()
        .post(format!("{}/__sim/accounts", sim.url))
        .json(&json!({ "user": "newbie", "domain": "newbie.example.test", "email": "n@example.test" }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status().as_u16(), 201);
    whm.create_integration_link(&link("newbie", "profile", "Manage Profile", 1))
        .await
        .unwrap();
    assert!(
        whm.listaccts()
            .await
            .unwrap()
            .iter()
            .any(|a| a.user == "newbie")
    );

    let removed = browser()
        .delete(format!("{}/__sim/accounts/newbie", sim.url))
        .send()
        .await
        .unwrap();

    assert_eq!(removed.status().as_u16(), 204);
    let err = whm.list_integration_links("newbie").await.unwrap_err();
    assert_eq!(err.reason, "cPanel Account Username not found");
    assert!(state(&sim).await["users"].get("newbie").is_none());
    let again = browser()
        .delete(format!("{}/__sim/accounts/newbie", sim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 404);
}

#[tokio::test]
async fn shutting_down_does_not_wait_for_a_hanging_call() {
    let sim = sim::spawn(SimConfig {
        timeout_rate: 1.0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let url = format!("{}/json-api/version?api.version=1", sim.url);
    let auth = format!("whm root:{}", sim.token);
    let hanging = tokio::spawn(async move {
        browser()
            .get(url)
            .header("Authorization", auth)
            .send()
            .await
    });
    // Wait until the call has arrived and hangs.
    while sim.calls("version") == 0 {
        tokio::task::yield_now().await;
    }

    // A guard against a hang, not a timing assertion.
    tokio::time::timeout(Duration::from_secs(30), sim.shutdown())
        .await
        .expect("shutdown finishes");
    let _ = hanging.await;
}

#[tokio::test]
async fn the_cpanel_page_groups_links_by_service_in_order_with_escaped_labels() {
    let sim = spawn_sim(1).await;
    let whm = client(&sim);
    whm.create_integration_link(&link("user0001", "downloads", "Download Resources", 10))
        .await
        .unwrap();
    whm.create_integration_link(&link("user0001", "ticket_open", "<b>Open</b> Ticket", 2))
        .await
        .unwrap();
    let mut billing = link("user0001", "billing_view", "View Billing", 1);
    billing.implements = "billing".into();
    whm.create_integration_link(&billing).await.unwrap();
    let mut hidden = link("user0001", "profile", "Hidden Profile", 1);
    hidden.hide = true;
    whm.create_integration_link(&hidden).await.unwrap();

    let response = browser()
        .get(format!("{}/cpanel/user0001", sim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let html = Html::parse_document(&response.text().await.unwrap());

    let services: Vec<_> = html
        .select(&Selector::parse("section.service").unwrap())
        .map(|section| section.value().attr("data-implements").unwrap().to_string())
        .collect();
    assert_eq!(services, ["billing", "support"]);
    let support = Selector::parse(r#"section[data-implements="support"] form.link"#).unwrap();
    let forms: Vec<_> = html.select(&support).collect();
    let labels: Vec<String> = forms
        .iter()
        .map(|form| form.text().collect::<String>().trim().to_string())
        .collect();
    assert_eq!(labels, ["<b>Open</b> Ticket", "Download Resources"]);
    assert_eq!(
        forms[0].value().attr("action"),
        Some("/cpanel/user0001/open/applinks_ticket_open")
    );
    assert_eq!(forms[0].value().attr("method"), Some("post"));
    assert_eq!(html.select(&Selector::parse("b").unwrap()).count(), 0);
    assert_eq!(
        html.select(&Selector::parse(r#"form[data-app="applinks_profile"]"#).unwrap())
            .count(),
        0
    );
}

#[tokio::test]
async fn the_cpanel_page_of_an_unknown_user_is_404() {
    let sim = spawn_sim(1).await;

    let response = browser()
        .get(format!("{}/cpanel/nobody", sim.url))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 404);
}

// --- autologin (whm-api.md §4) ---

/// Records the waits it is asked for and returns at once.
#[derive(Clone, Default)]
struct RecordingSleeper(Arc<Mutex<Vec<Duration>>>);

impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.0.lock().unwrap().push(duration);
        Box::pin(async {})
    }
}

impl RecordingSleeper {
    fn waits(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

/// A stand-in for applinks' `/sso/cpanel`: answers the Nth call with `answers[N]` (the last
/// one repeats) and records the forms it receives.
#[derive(Clone)]
struct Target {
    url: String,
    forms: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

async fn spawn_target(answers: Vec<(u16, &'static str)>) -> Target {
    let forms: Arc<Mutex<Vec<HashMap<String, String>>>> = Arc::default();
    let state = (forms.clone(), Arc::new(answers));
    let app = axum::Router::new()
        .route("/sso/cpanel", axum::routing::post(answer))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sso/cpanel", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Target { url, forms }
}

type TargetState = (
    Arc<Mutex<Vec<HashMap<String, String>>>>,
    Arc<Vec<(u16, &'static str)>>,
);

async fn answer(
    State((forms, answers)): State<TargetState>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut forms = forms.lock().unwrap();
    forms.push(form);
    let (status, body) = answers[(forms.len() - 1).min(answers.len() - 1)];
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

/// A simulator with one link of user0001 whose autologin URL is `autologin_url`.
async fn sim_with_link(autologin_url: &str) -> (SimHandle, RecordingSleeper) {
    let sleeper = RecordingSleeper::default();
    let sim = sim::spawn(SimConfig {
        accounts: 1,
        sleeper: Arc::new(sleeper.clone()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut created = link("user0001", "ticket_open", "Open Ticket", 1);
    created.autologin_token_url = Some(autologin_url.to_string());
    created.url = Some("http://client.example.test/client/tickets/new".to_string());
    client(&sim)
        .create_integration_link(&created)
        .await
        .unwrap();
    (sim, sleeper)
}

/// Clicks the link on the simulated cPanel page; answers the 303's Location.
async fn click(sim: &SimHandle) -> String {
    let response = browser()
        .post(format!(
            "{}/cpanel/user0001/open/applinks_ticket_open",
            sim.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    response.headers()["location"].to_str().unwrap().to_string()
}

const FALLBACK: &str = "http://client.example.test/client/tickets/new";

#[tokio::test]
async fn clicking_a_link_posts_its_fields_and_follows_the_redirect_url() {
    let target = spawn_target(vec![(
        200,
        r#"{"redirect_url": "http://applinks.test/sso/login?token=abc"}"#,
    )])
    .await;
    let (sim, sleeper) = sim_with_link(&target.url).await;

    assert_eq!(
        click(&sim).await,
        "http://applinks.test/sso/login?token=abc"
    );

    let forms = target.forms.lock().unwrap().clone();
    assert_eq!(forms.len(), 1);
    let expected: HashMap<String, String> = [
        ("app", "applinks_ticket_open"),
        ("token", "link-secret-0123456789abcdef"),
        ("user", "user0001"),
        ("subscriber_unique_id", "42"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect();
    assert_eq!(forms[0], expected);
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn autologin_retries_after_the_wait_it_is_told_then_follows_the_redirect() {
    let target = spawn_target(vec![
        (200, r#"{"retry": 2, "attempt": 1}"#),
        (
            200,
            r#"{"redirect_url": "http://applinks.test/sso/login?token=xyz"}"#,
        ),
    ])
    .await;
    let (sim, sleeper) = sim_with_link(&target.url).await;

    assert_eq!(
        click(&sim).await,
        "http://applinks.test/sso/login?token=xyz"
    );

    assert_eq!(target.forms.lock().unwrap().len(), 2);
    assert_eq!(sleeper.waits(), [Duration::from_secs(2)]);
}

#[tokio::test]
async fn autologin_gives_up_after_3_attempts_with_waits_capped_at_60_seconds() {
    let target = spawn_target(vec![
        (200, r#"{"retry": 5, "attempt": 1}"#),
        (200, r#"{"retry": 600, "attempt": 2}"#),
        (200, r#"{"retry": 5, "attempt": 3}"#),
    ])
    .await;
    let (sim, sleeper) = sim_with_link(&target.url).await;

    assert_eq!(click(&sim).await, FALLBACK);

    assert_eq!(target.forms.lock().unwrap().len(), 3);
    assert_eq!(
        sleeper.waits(),
        [Duration::from_secs(5), Duration::from_secs(60)]
    );
}

#[tokio::test]
async fn autologin_stops_when_the_server_counts_its_third_attempt() {
    let target = spawn_target(vec![(200, r#"{"retry": 1, "attempt": 3}"#)]).await;
    let (sim, sleeper) = sim_with_link(&target.url).await;

    assert_eq!(click(&sim).await, FALLBACK);

    assert_eq!(target.forms.lock().unwrap().len(), 1);
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn autologin_falls_back_to_url_when_the_autologin_url_is_down() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}/sso/cpanel", listener.local_addr().unwrap());
    drop(listener);
    let (sim, sleeper) = sim_with_link(&down).await;

    assert_eq!(click(&sim).await, FALLBACK);
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn autologin_falls_back_to_url_on_an_error_or_an_answer_that_is_not_json() {
    for answer in [
        (500, r#"{"error": "boom"}"#),
        (200, "<html>oops</html>"),
        (200, "{}"),
    ] {
        let target = spawn_target(vec![answer]).await;
        let (sim, _) = sim_with_link(&target.url).await;

        assert_eq!(click(&sim).await, FALLBACK, "{answer:?}");
        assert_eq!(target.forms.lock().unwrap().len(), 1);
    }
}
