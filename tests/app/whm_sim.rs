//! The WHM simulator over real HTTP: its flags, state, validation (whm-api.md §3), control
//! routes, the simulated cPanel page and its autologin (§6, §7).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use applinks::whm::CreateLink;
use applinks::whm::sim::{self, FaultsUpdate, Owner, SimArgs, SimConfig, SimHandle, Sleeper};
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clap::Parser;
use futures::future::BoxFuture;
use scraper::{Html, Selector};
use serde_json::{Value, json};

use crate::helpers::{attr, link, select, sim_client, spawn_sim, tiny_png};

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

/// A raw API call as WHM's callers make it (POST, form body) with the right token:
/// `(HTTP status, envelope)`.
async fn api(sim: &SimHandle, function: &str, args: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut form = vec![("api.version", "1")];
    form.extend_from_slice(args);
    let response = browser()
        .post(format!("{}/json-api/{function}", sim.url))
        .header(
            "Authorization",
            format!("whm {}:{}", sim.username, sim.token),
        )
        .form(&form)
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
        "--owner",
        "reseller",
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
    assert_eq!(config.owner, Owner::Reseller);
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
    assert_eq!(first.owner, Owner::Root);
    assert!(first.token.len() >= 32);
    assert_ne!(first.token, second.token);
}

#[test]
fn sim_args_refuse_a_rate_above_1_and_an_unknown_module() {
    assert!(TestCli::try_parse_from(["applinks", "whm-sim", "--fail-rate", "1.5"]).is_err());
    assert!(TestCli::try_parse_from(["applinks", "whm-sim", "--module", "plesk"]).is_err());
    assert!(TestCli::try_parse_from(["applinks", "whm-sim", "--owner", "admin"]).is_err());
}

#[tokio::test]
async fn state_shows_every_argument_of_a_created_link_as_received() {
    let sim = spawn_sim(2).await;
    sim_client(&sim)
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
    let whm = sim_client(&sim);
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
    let whm = sim_client(&sim);
    whm.create_integration_link(&link("user0001", "ticket_open", "Open Ticket", 1))
        .await
        .unwrap();

    whm.remove_integration_link("user0001", "applinks_ticket_open")
        .await
        .unwrap();

    assert_eq!(state(&sim).await["users"]["user0001"], json!({}));
}

// --- validation as the server applies it (whm-api.md §3) ---

/// Everything a refused call must leave as it was: the state without the call counters,
/// and user0001's tokens without a link.
fn snapshot(sim: &SimHandle) -> (Value, BTreeMap<String, String>) {
    let mut state = sim.state_json();
    state.as_object_mut().unwrap().remove("calls");
    (state, sim.orphan_tokens("user0001"))
}

/// Calls `function` (POST, form body) and asserts `result: 0` with exactly `reason` and no
/// change to the simulator's state.
async fn assert_refused(sim: &SimHandle, function: &str, args: &[(&str, &str)], reason: &str) {
    let before = snapshot(sim);

    let (status, answer) = api(sim, function, args).await;

    assert_eq!(status, StatusCode::OK, "{function} {args:?}");
    assert_eq!(answer["metadata"]["result"], 0, "{function} {args:?}");
    assert_eq!(answer["metadata"]["reason"], reason, "{function} {args:?}");
    assert_eq!(answer["metadata"]["command"], function);
    assert_eq!(
        snapshot(sim),
        before,
        "{function} {args:?} changed the state"
    );
}

/// A simulator whose user0001 already has a link and a group, so that "changes nothing"
/// also means "replaces nothing".
async fn sim_with_a_link_and_a_group() -> SimHandle {
    let sim = spawn_sim(2).await;
    let whm = sim_client(&sim);
    whm.create_integration_link(&link("user0001", "ticket_open", "Open Ticket", 1))
        .await
        .unwrap();
    whm.create_integration_group("user0001", "applinks", "Billing & Support", 3)
        .await
        .unwrap();
    sim
}

/// Valid arguments of each function that takes any, the required ones first.
const VALID: [(&str, &[(&str, &str)]); 8] = [
    (
        "create_integration_link",
        &[
            ("user", "user0001"),
            ("app", "applinks_ticket_open"),
            ("url", "http://127.0.0.1:9/client/other"),
        ],
    ),
    (
        "remove_integration_link",
        &[("user", "user0001"), ("app", "applinks_ticket_open")],
    ),
    ("list_integration_links", &[("user", "user0001")]),
    (
        "get_integration_link_user_config",
        &[("user", "user0001"), ("app", "applinks_ticket_open")],
    ),
    (
        "update_integration_link_token",
        &[
            ("user", "user0001"),
            ("app", "applinks_ticket_open"),
            ("token", "fresh"),
        ],
    ),
    (
        "create_integration_group",
        &[("user", "user0001"), ("group_id", "applinks")],
    ),
    ("list_integration_groups", &[("user", "user0001")]),
    (
        "remove_integration_group",
        &[("user", "user0001"), ("group_id", "applinks")],
    ),
];

/// The required arguments of a function (whm-api.md §3's table): the ones `VALID` lists,
/// but `url` (one of two).
fn required_of(args: &[(&'static str, &'static str)]) -> Vec<&'static str> {
    args.iter()
        .map(|(name, _)| *name)
        .filter(|name| *name != "url")
        .collect()
}

#[tokio::test]
async fn a_missing_argument_is_refused_with_provide_the_parameter_and_changes_nothing() {
    let sim = sim_with_a_link_and_a_group().await;
    for (function, valid) in VALID {
        for missing in required_of(valid) {
            let args: Vec<(&str, &str)> = valid
                .iter()
                .copied()
                .filter(|(name, _)| *name != missing)
                .collect();
            let reason = format!("Provide the “{missing}” parameter.");
            assert_refused(&sim, function, &args, &reason).await;
        }
    }
}

#[tokio::test]
async fn an_empty_argument_is_refused_with_may_not_be_empty_and_changes_nothing() {
    let sim = sim_with_a_link_and_a_group().await;
    for (function, valid) in VALID {
        for empty in required_of(valid) {
            let args: Vec<(&str, &str)> = valid
                .iter()
                .map(|&(name, value)| (name, if name == empty { "" } else { value }))
                .collect();
            let reason = format!("The value of “{empty}” may not be empty.");
            assert_refused(&sim, function, &args, &reason).await;
        }
    }
}

/// `VALID` with `user` replaced.
fn as_user<'a>(valid: &[(&'a str, &'a str)], user: &'a str) -> Vec<(&'a str, &'a str)> {
    valid
        .iter()
        .map(|&(name, value)| (name, if name == "user" { user } else { value }))
        .collect()
}

#[tokio::test]
async fn an_account_the_server_lacks_is_refused_with_you_do_not_have_a_user_named() {
    let sim = sim_with_a_link_and_a_group().await;
    for (function, valid) in VALID {
        let args = as_user(valid, "nobody");
        assert_refused(
            &sim,
            function,
            &args,
            "You do not have a user named “nobody”.",
        )
        .await;
    }
}

#[tokio::test]
async fn fail_users_are_refused_with_the_unknown_user_reason_though_the_server_has_them() {
    let sim = sim_with_a_link_and_a_group().await;
    sim.set_faults(FaultsUpdate {
        fail_users: Some(vec!["user0001".into()]),
        ..FaultsUpdate::default()
    })
    .unwrap();
    for (function, valid) in VALID {
        let reason = "You do not have a user named “user0001”.";
        assert_refused(&sim, function, valid, reason).await;
    }
}

#[tokio::test]
async fn a_reseller_simulator_answers_you_do_not_have_access_to_an_account_named() {
    let sim = sim::spawn(SimConfig {
        accounts: 2,
        owner: Owner::Reseller,
        fail_users: vec!["user0002".into()],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    for (function, valid) in VALID {
        for user in ["nobody", "user0002"] {
            let args = as_user(valid, user);
            let reason = format!("You do not have access to an account named “{user}”.");
            assert_refused(&sim, function, &args, &reason).await;
        }
    }
    let (_, answer) = api(&sim, "list_integration_links", &[("user", "user0001")]).await;
    assert_eq!(answer["metadata"]["result"], 1);
}

#[tokio::test]
async fn the_owner_changes_at_run_time_through_the_faults_route() {
    let sim = spawn_sim(1).await;

    let answer: Value = browser()
        .post(format!("{}/__sim/faults", sim.url))
        .json(&json!({ "owner": "reseller" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(answer["owner"], "reseller");
    let reason = "You do not have access to an account named “nobody”.";
    assert_refused(
        &sim,
        "list_integration_links",
        &[("user", "nobody")],
        reason,
    )
    .await;
}

/// `VALID` arguments of `function` with `name` set to `value` (added when absent).
fn with<'a>(function: &str, name: &'a str, value: &'a str) -> Vec<(&'a str, &'a str)> {
    let valid = VALID.iter().find(|(f, _)| *f == function).unwrap().1;
    let mut args: Vec<(&str, &str)> = valid.iter().copied().filter(|(n, _)| *n != name).collect();
    args.push((name, value));
    args
}

#[tokio::test]
async fn app_and_group_id_must_be_valid_file_names() {
    let sim = sim_with_a_link_and_a_group().await;
    let cases = [
        ("create_integration_link", "app"),
        ("remove_integration_link", "app"),
        ("get_integration_link_user_config", "app"),
        ("update_integration_link_token", "app"),
        ("create_integration_link", "group_id"),
        ("create_integration_group", "group_id"),
        ("remove_integration_group", "group_id"),
    ];
    for (function, name) in cases {
        for bad in [".", "..", "applinks/ticket", "applinks\0ticket"] {
            let reason = format!("The “{name}” argument is not a valid file name.");
            assert_refused(&sim, function, &with(function, name, bad), &reason).await;
        }
        let reason = format!("The “{name}” argument cannot begin with “group_”.");
        assert_refused(
            &sim,
            function,
            &with(function, name, "group_tools"),
            &reason,
        )
        .await;
    }
}

#[tokio::test]
async fn any_valid_file_name_is_an_app_or_a_group_id() {
    let sim = spawn_sim(1).await;
    let group = with("create_integration_link", "group_id", "My Tools-2.0");
    let mut args = group.clone();
    args.retain(|(name, _)| *name != "app");
    args.push(("app", "Third party: app #1"));

    let (_, answer) = api(&sim, "create_integration_link", &args).await;

    assert_eq!(answer["metadata"]["result"], 1, "{answer}");
    assert_eq!(
        sim.links("user0001")["Third party: app #1"]["group_id"],
        "My Tools-2.0"
    );
}

#[tokio::test]
async fn a_link_needs_a_url_or_an_autologin_token_url() {
    let sim = sim_with_a_link_and_a_group().await;
    let reason = "You must supply one of the following parameters: autologin_token_url url";
    let mut args = with("create_integration_link", "label", "Other");
    args.retain(|(name, _)| *name != "url");
    assert_refused(&sim, "create_integration_link", &args, reason).await;
    args.push(("url", ""));
    args.push(("autologin_token_url", ""));
    assert_refused(&sim, "create_integration_link", &args, reason).await;

    let autologin_only = with(
        "create_integration_link",
        "autologin_token_url",
        "http://127.0.0.1:9/sso/cpanel",
    )
    .into_iter()
    .filter(|(name, _)| *name != "url")
    .collect::<Vec<_>>();
    let (_, answer) = api(&sim, "create_integration_link", &autologin_only).await;
    assert_eq!(answer["metadata"]["result"], 1, "{answer}");
}

#[tokio::test]
async fn a_label_with_a_single_quote_is_refused() {
    let sim = sim_with_a_link_and_a_group().await;
    let reason = "The parameter “label” may not contain single-quote characters (').";
    for function in ["create_integration_link", "create_integration_group"] {
        let args = with(function, "label", "Customer's Area");
        assert_refused(&sim, function, &args, reason).await;
    }
}

#[tokio::test]
async fn hide_must_be_0_or_1() {
    let sim = sim_with_a_link_and_a_group().await;
    for bad in ["yes", "2", "", "true"] {
        let args = with("create_integration_link", "hide", bad);
        let reason = "The “hide” argument must be 0 or 1.";
        assert_refused(&sim, "create_integration_link", &args, reason).await;
    }
}

#[tokio::test]
async fn order_must_be_an_integer_and_may_be_negative() {
    let sim = sim_with_a_link_and_a_group().await;
    for function in ["create_integration_link", "create_integration_group"] {
        for bad in ["first", "1.5", ""] {
            let args = with(function, "order", bad);
            let reason = "The “order” argument must be an integer.";
            assert_refused(&sim, function, &args, reason).await;
        }
        let (_, answer) = api(&sim, function, &with(function, "order", "-7")).await;
        assert_eq!(answer["metadata"]["result"], 1, "{function}: {answer}");
    }
    assert_eq!(sim.links("user0001")["applinks_ticket_open"]["order"], "-7");
    assert_eq!(sim.groups("user0001")["applinks"].order, -7);
}

#[tokio::test]
async fn base64_png_image_must_be_base64_of_a_real_png() {
    let sim = sim_with_a_link_and_a_group().await;
    let not_base64 = with("create_integration_link", "base64_png_image", "a picture!");
    let reason = "“base64_png_image” is not valid Base64.";
    assert_refused(&sim, "create_integration_link", &not_base64, reason).await;
    let reason = "“base64_png_image” is not a valid PNG image.";
    // Base64 of a GIF header, and the PNG signature without any image.
    for not_png in ["R0lGODlhAQABAAAAACw=", "iVBORw0KGgo="] {
        let args = with("create_integration_link", "base64_png_image", not_png);
        assert_refused(&sim, "create_integration_link", &args, reason).await;
    }

    let icon = tiny_png();
    let args = with("create_integration_link", "base64_png_image", &icon);
    let (_, answer) = api(&sim, "create_integration_link", &args).await;
    assert_eq!(answer["metadata"]["result"], 1, "{answer}");
}

#[tokio::test]
async fn label_implements_token_and_subscriber_unique_id_are_optional() {
    let sim = spawn_sim(1).await;

    let (_, answer) = api(
        &sim,
        "create_integration_link",
        VALID[0].1, // user, app and url only
    )
    .await;

    assert_eq!(answer["metadata"]["result"], 1, "{answer}");
    assert_eq!(
        state(&sim).await["users"]["user0001"]["applinks_ticket_open"],
        json!({ "url": "http://127.0.0.1:9/client/other" })
    );
    let (_, answer) = api(&sim, "create_integration_group", VALID[5].1).await;
    assert_eq!(answer["metadata"]["result"], 1, "{answer}");
    assert_eq!(
        state(&sim).await["groups"]["user0001"]["applinks"],
        json!({ "label": null, "order": 99999 })
    );
}

#[tokio::test]
async fn get_with_a_query_string_and_post_with_a_form_body_both_work_and_merge() {
    let sim = spawn_sim(1).await;
    let auth = format!("whm {}:{}", sim.username, sim.token);
    let url = format!("{}/json-api/create_integration_link", sim.url);

    let got: Value = browser()
        .get(&url)
        .header("Authorization", &auth)
        .query(&[("api.version", "1")])
        .query(&with("create_integration_link", "label", "By GET"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["metadata"]["result"], 1, "{got}");
    assert_eq!(
        sim.links("user0001")["applinks_ticket_open"]["label"],
        "By GET"
    );

    let (_, posted) = api(
        &sim,
        "create_integration_link",
        &with("create_integration_link", "label", "By POST"),
    )
    .await;
    assert_eq!(posted["metadata"]["result"], 1, "{posted}");
    assert_eq!(
        sim.links("user0001")["applinks_ticket_open"]["label"],
        "By POST"
    );

    // Half in the query string, half in the body.
    let merged: Value = browser()
        .post(format!("{url}?api.version=1&user=user0001"))
        .header("Authorization", &auth)
        .form(&[
            ("app", "applinks_profile"),
            ("url", "http://127.0.0.1:9/client/profile"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(merged["metadata"]["result"], 1, "{merged}");
    assert!(sim.links("user0001").contains_key("applinks_profile"));
}

#[tokio::test]
async fn a_body_larger_than_1_mib_is_refused_with_413_and_stores_nothing() {
    let sim = spawn_sim(1).await;
    let huge = "A".repeat(sim::MAX_BODY_BYTES + 1);

    let response = browser()
        .post(format!("{}/json-api/create_integration_link", sim.url))
        .header(
            "Authorization",
            format!("whm {}:{}", sim.username, sim.token),
        )
        .form(&with("create_integration_link", "base64_png_image", &huge))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 413);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["metadata"]["result"], 0);
    assert!(sim.links("user0001").is_empty());
}

// --- the token kept apart from the user config ---

#[tokio::test]
async fn the_token_is_stored_apart_and_never_answered_with_the_user_config() {
    let sim = spawn_sim(1).await;
    sim_client(&sim)
        .create_integration_link(&link("user0001", "ticket_open", "Open Ticket", 1))
        .await
        .unwrap();

    let (_, answer) = api(&sim, "get_integration_link_user_config", VALID[3].1).await;

    let userconfig = answer["data"]["userconfig"].as_object().unwrap();
    assert!(!userconfig.contains_key("token"), "{answer}");
    assert_eq!(userconfig["label"], "Open Ticket");
    assert_eq!(userconfig["subscriber_unique_id"], "42");
    let stored = &sim.stored_links("user0001")["applinks_ticket_open"];
    assert_eq!(
        stored.token.as_deref(),
        Some("link-secret-0123456789abcdef")
    );
    assert!(!stored.config.contains_key("token"));
    assert!(!stored.config.contains_key("user"));
    assert!(!stored.config.contains_key("app"));
    assert_eq!(stored.get("token"), Some("link-secret-0123456789abcdef"));
}

#[tokio::test]
async fn updating_the_token_of_a_link_that_does_not_exist_succeeds_and_creates_no_link() {
    let sim = spawn_sim(1).await;
    let before = state(&sim).await["users"].clone();

    let (_, answer) = api(&sim, "update_integration_link_token", VALID[4].1).await;

    assert_eq!(answer["metadata"]["result"], 1, "{answer}");
    assert_eq!(state(&sim).await["users"], before);
    assert!(sim.links("user0001").is_empty());
    assert_eq!(
        sim.orphan_tokens("user0001"),
        BTreeMap::from([("applinks_ticket_open".to_string(), "fresh".to_string())])
    );
    let (_, listed) = api(&sim, "list_integration_links", VALID[2].1).await;
    assert_eq!(listed["data"]["links"], json!([]));
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
        json!({
            "latency_ms": 0,
            "fail_rate": 1.0,
            "timeout_rate": 0.0,
            "fail_users": ["user0001"],
            "owner": "root",
        })
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
    let whm = sim_client(&sim);
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
    assert_eq!(err.reason, "You do not have a user named “newbie”.");
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
async fn the_cpanel_page_shows_groups_in_order_with_icons_and_labels_and_ungrouped_links_under_preferences()
 {
    let sim = spawn_sim(1).await;
    let whm = sim_client(&sim);
    whm.create_integration_group("user0001", "applinks", "Billing & Support", 5)
        .await
        .unwrap();
    whm.create_integration_group("user0001", "early", "", -1)
        .await
        .unwrap();
    let grouped = |key: &str, label: &str, order: i64, group: &str| CreateLink {
        group_id: Some(group.to_string()),
        order: Some(order.to_string()),
        ..link("user0001", key, label, 1)
    };
    whm.create_integration_link(&grouped("downloads", "Downloads", 10, "applinks"))
        .await
        .unwrap();
    whm.create_integration_link(&CreateLink {
        base64_png_image: Some(tiny_png()),
        ..grouped("ticket_open", "<b>Open</b> Ticket", -2, "applinks")
    })
    .await
    .unwrap();
    whm.create_integration_link(&CreateLink {
        order: None,
        ..grouped("zz_default_order", "Default order", 0, "applinks")
    })
    .await
    .unwrap();
    whm.create_integration_link(&CreateLink {
        hide: true,
        ..grouped("hidden", "Hidden", 1, "applinks")
    })
    .await
    .unwrap();
    whm.create_integration_link(&grouped("status", "", 1, "early"))
        .await
        .unwrap();
    // No group, and a group the user does not have: both sit in Preferences.
    whm.create_integration_link(&link("user0001", "profile", "Manage Profile", 2))
        .await
        .unwrap();
    whm.create_integration_link(&grouped("billing_view", "View Billing", 1, "nosuchgroup"))
        .await
        .unwrap();

    let response = browser()
        .get(format!("{}/cpanel/user0001", sim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let html = response.text().await.unwrap();

    let groups: Vec<String> = Html::parse_document(&html)
        .select(&Selector::parse("section.group").unwrap())
        .map(|section| section.value().attr("data-group").unwrap().to_string())
        .collect();
    assert_eq!(groups, ["early", "applinks", "pref"]);
    assert_eq!(
        select(&html, "section.group > h2"),
        ["early", "Billing & Support", "Preferences"]
    );
    assert_eq!(
        select(&html, r#"section[data-group="applinks"] form.link .label"#),
        ["<b>Open</b> Ticket", "Downloads", "Default order"]
    );
    assert_eq!(
        select(&html, r#"section[data-group="early"] form.link .label"#),
        ["applinks_status"]
    );
    assert_eq!(
        select(&html, r#"section[data-group="pref"] form.link .label"#),
        ["View Billing", "Manage Profile"]
    );
    assert_eq!(select(&html, "b").len(), 0, "labels are escaped");
    assert!(select(&html, r#"form[data-app="applinks_hidden"]"#).is_empty());
    let open = r#"form.link[data-app="applinks_ticket_open"]"#;
    assert_eq!(
        attr(&html, open, "action").as_deref(),
        Some("/cpanel/user0001/open/applinks_ticket_open")
    );
    assert_eq!(attr(&html, open, "method").as_deref(), Some("post"));
    assert_eq!(
        attr(&html, &format!("{open} img.icon"), "src"),
        Some(format!("data:image/png;base64,{}", tiny_png()))
    );
    assert_eq!(
        attr(&html, &format!("{open} img.icon"), "alt").as_deref(),
        Some("")
    );
    let downloads = r#"form.link[data-app="applinks_downloads"]"#;
    assert!(select(&html, &format!("{downloads} img")).is_empty());
    assert_eq!(
        select(&html, &format!("{downloads} .icon.generic")).len(),
        1
    );
}

#[tokio::test]
async fn the_cpanel_page_of_a_user_without_links_says_so() {
    let sim = spawn_sim(1).await;

    let html = browser()
        .get(format!("{}/cpanel/user0001", sim.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert_eq!(select(&html, "p.empty"), ["No application links."]);
    assert!(select(&html, "section.group").is_empty());
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

// --- autologin (whm-api.md §6) ---

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
    created.url = Some(FALLBACK.to_string());
    created.group_id = Some("applinks".to_string());
    created.base64_png_image = Some(tiny_png());
    sim_client(&sim)
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
async fn clicking_a_link_posts_exactly_its_user_config_token_and_attempt_without_user_or_app() {
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
        ("url", FALLBACK.to_string()),
        ("label", "Open Ticket".to_string()),
        ("implements", "support".to_string()),
        ("order", "1".to_string()),
        ("hide", "0".to_string()),
        ("group_id", "applinks".to_string()),
        ("subscriber_unique_id", "42".to_string()),
        ("base64_png_image", tiny_png()),
        ("token", "link-secret-0123456789abcdef".to_string()),
        ("attempt", "1".to_string()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value))
    .collect();
    assert_eq!(forms[0], expected);
    assert!(!forms[0].contains_key("user"));
    assert!(!forms[0].contains_key("app"));
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn clicking_a_link_posts_only_the_fields_it_has() {
    let target = spawn_target(vec![(
        200,
        r#"{"redirect_url": "http://applinks.test/in"}"#,
    )])
    .await;
    let sim = spawn_sim(1).await;
    let (_, answer) = api(
        &sim,
        "create_integration_link",
        &[
            ("user", "user0001"),
            ("app", "bare"),
            ("autologin_token_url", &target.url),
        ],
    )
    .await;
    assert_eq!(answer["metadata"]["result"], 1, "{answer}");

    let response = browser()
        .post(format!("{}/cpanel/user0001/open/bare", sim.url))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 303);
    let forms = target.forms.lock().unwrap().clone();
    assert_eq!(
        forms[0],
        HashMap::from([("attempt".to_string(), "1".to_string())])
    );
}

#[tokio::test]
async fn autologin_retries_after_the_wait_it_is_told_with_the_next_attempt_number() {
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

    let forms = target.forms.lock().unwrap().clone();
    assert_eq!(forms.len(), 2);
    assert_eq!(forms[0]["attempt"], "1");
    assert_eq!(forms[1]["attempt"], "2");
    assert!(!forms[1].contains_key("user") && !forms[1].contains_key("app"));
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

    let forms = target.forms.lock().unwrap().clone();
    let attempts: Vec<&str> = forms.iter().map(|form| form["attempt"].as_str()).collect();
    assert_eq!(attempts, ["1", "2", "3"]);
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
