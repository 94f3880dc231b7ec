//! WHM `batch` (whm-api.md §2, issue 11): the client's batches against the simulator and a
//! recording stand-in, and batched reconciliation end to end: one Warning per failing
//! account, a second pass for a blip, Retry re-running only the accounts that failed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use applinks::domain::links::LINKS;
use applinks::jobs::DEFAULT_BATCH_ACCOUNTS;
use applinks::whm::sim::FaultsUpdate;
use applinks::whm::{Cause, ClientSettings, Command, ErrorKind, WhmClient};
use reqwest::StatusCode;
use secrecy::SecretString;

use crate::helpers::{fast_settings, sim_client, spawn_sim};
use crate::helpers::{sim_links, sim_users, spawn_app, start_sim};

const BASE: &str = "/admin/setup/application-links";

#[tokio::test]
async fn a_batch_answers_each_command_and_a_refused_one_fails_alone() {
    let sim = spawn_sim(3).await;
    sim.set_faults(FaultsUpdate {
        fail_users: Some(vec!["user0002".into()]),
        ..FaultsUpdate::default()
    })
    .unwrap();
    let commands = [
        Command::create_integration_group("user0001", "applinks", "Billing", 1),
        Command::list_integration_links("user0002"),
        Command::list_integration_groups("user0001"),
        Command::create_integration_group("user0003", "group_x", "", 1),
    ];

    let results = sim_client(&sim).batch(&commands).await.unwrap();

    assert_eq!(results.len(), 4);
    assert!(results[0].is_ok(), "{:?}", results[0]);
    let refused = results[1].as_ref().unwrap_err();
    assert_eq!(refused.cause, Cause::Api);
    assert_eq!(refused.kind, ErrorKind::Permanent);
    assert_eq!(refused.function, "list_integration_links");
    assert_eq!(refused.reason, "You do not have a user named “user0002”.");
    // The group the first command created is seen by a later command of the same batch.
    assert_eq!(
        results[2].as_ref().unwrap()["links"],
        serde_json::json!([{ "group": "applinks" }])
    );
    assert_eq!(
        results[3].as_ref().unwrap_err().reason,
        "The “group_id” argument cannot begin with “group_”."
    );
    // One request; every command counted under its own function (whm-api.md §7).
    assert_eq!(sim.requests(), 1);
    assert_eq!(sim.calls("batch"), 1);
    assert_eq!(sim.calls("create_integration_group"), 2);
    assert_eq!(sim.calls("list_integration_links"), 1);
    assert!(
        sim.groups("user0003").is_empty(),
        "a refused command stores nothing"
    );
}

#[tokio::test]
async fn a_batch_request_that_times_out_is_sent_again_and_then_succeeds() {
    let sim = spawn_sim(2).await;
    sim.set_faults(FaultsUpdate {
        hang_users: Some(BTreeMap::from([("user0002".to_string(), 1)])),
        ..FaultsUpdate::default()
    })
    .unwrap();
    let settings = ClientSettings {
        timeout_ms: 300,
        command_timeout_ms: 10,
        retry_max_attempts: 3,
        retry_base_delay_ms: 1,
        ..ClientSettings::default()
    };
    let commands = [
        Command::create_integration_group("user0001", "applinks", "", 1),
        Command::create_integration_group("user0002", "applinks", "", 1),
    ];

    let results = WhmClient::new(settings)
        .server(&crate::helpers::sim_conn(&sim))
        .batch(&commands)
        .await
        .unwrap();

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        sim.calls("batch"),
        2,
        "the first request hung, the second answered"
    );
    assert_eq!(sim.groups("user0002").len(), 1);
}

#[tokio::test]
async fn a_batch_that_keeps_failing_reports_the_request_error_after_its_attempts() {
    let sim = spawn_sim(1).await;
    sim.set_faults(FaultsUpdate {
        fail_rate: Some(1.0),
        ..FaultsUpdate::default()
    })
    .unwrap();
    let err = sim_client(&sim)
        .batch(&[Command::list_integration_links("user0001")])
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.function, "batch");
    assert_eq!(err.attempts, fast_settings().retry_max_attempts);
}

/// Each request a recorder received: its query string and body.
type Received = Arc<Mutex<Vec<(Option<String>, String)>>>;

/// A WHM stand-in that records each request and answers every command of a batch with
/// `result: 1`.
async fn spawn_batch_recorder() -> (String, Received) {
    use axum::http::Uri;

    let received: Received = Arc::default();
    let log = received.clone();
    let app = axum::Router::new().fallback(move |uri: Uri, body: String| {
        let log = log.clone();
        async move {
            let commands = form_urlencoded::parse(body.as_bytes())
                .filter(|(name, _)| name == "command")
                .count();
            log.lock()
                .unwrap()
                .push((uri.query().map(str::to_string), body));
            let ok = serde_json::json!({
                "metadata": { "command": "x", "reason": "OK", "result": 1, "version": 1 }
            });
            axum::Json(serde_json::json!({
                "metadata": { "command": "batch", "reason": "OK", "result": 1, "version": 1 },
                "data": { "result": vec![ok; commands] }
            }))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test]
async fn a_batch_is_a_post_whose_commands_and_tokens_travel_in_the_body_never_the_url() {
    let (url, received) = spawn_batch_recorder().await;
    let conn = applinks::whm::ServerConn {
        base_url: url,
        auth: applinks::whm::WhmAuth::ApiToken {
            username: "root".into(),
            token: SecretString::from("api-token"),
        },
        verify_tls: true,
    };
    let token = SecretString::from("link-secret-&-more");
    let commands = [
        Command::update_integration_link_token("user0001", "applinks_ticket_open", &token),
        Command::remove_integration_link("user0002", "applinks_addons"),
    ];

    let results = WhmClient::new(fast_settings())
        .server(&conn)
        .batch(&commands)
        .await
        .unwrap();

    assert_eq!(results.len(), 2);
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (query, body) = &received[0];
    assert_eq!(*query, None);
    let fields: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(fields[0], ("api.version".into(), "1".into()));
    assert_eq!(fields[1], ("abort_on_error".into(), "0".into()));
    let commands: Vec<&str> = fields
        .iter()
        .filter(|(name, _)| name == "command")
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(commands.len(), 2);
    let (function, args) = commands[0].split_once('?').unwrap();
    assert_eq!(function, "update_integration_link_token");
    let args: HashMap<String, String> = form_urlencoded::parse(args.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(args["user"], "user0001");
    assert_eq!(args["token"], "link-secret-&-more");
    assert_eq!(
        commands[1],
        "remove_integration_link?api.version=1&user=user0002&app=applinks_addons"
    );
}

/// The applinks_* apps of a user on a simulator.
fn apps_of(links: &serde_json::Map<String, serde_json::Value>, user: &str) -> Vec<String> {
    links
        .get(user)
        .and_then(serde_json::Value::as_object)
        .map(|apps| {
            apps.keys()
                .filter(|app| app.starts_with("applinks_"))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

fn all_apps() -> Vec<String> {
    let mut apps: Vec<String> = LINKS
        .iter()
        .map(|l| format!("applinks_{}", l.key))
        .collect();
    apps.sort();
    apps
}

#[tokio::test]
async fn one_refused_account_in_a_batch_gets_one_warning_and_the_others_their_links() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = start_sim(3, "cpanel", "11.134.0.5").await;
    let sid = app.add_server("cp1", &sim, "cpanel").await;
    app.add_accounts(sid, &sim_users(3)).await;
    sim.set_faults(FaultsUpdate {
        fail_users: Some(vec!["user0002".into()]),
        ..FaultsUpdate::default()
    })
    .unwrap();

    app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    let status = app.wait_idle("cpanel").await;

    // A known-harmless refusal is a hinted Warning, not a failure.
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(status["operation"]["accounts_done"], 3);
    assert_eq!(status["operation"]["warnings"], 1);
    let warnings = app.log_rows("cpanel", "warning").await;
    assert_eq!(
        warnings.len(),
        1,
        "one Warning, not one per command: {warnings:?}"
    );
    assert_eq!(warnings[0][2], "user0002");
    assert!(
        warnings[0][3].contains("You do not have a user named “user0002”.")
            && warnings[0][3].contains("no longer has"),
        "{warnings:?}"
    );
    let links = sim_links(&sim);
    assert_eq!(apps_of(&links, "user0001"), all_apps());
    assert_eq!(apps_of(&links, "user0003"), all_apps());
    // Batches, beside the version call; every command counted under its function.
    assert_eq!(sim.requests(), 1 + sim.calls("batch"));
    assert!(sim.calls("batch") <= 3);
    assert_eq!(sim.calls("list_integration_links"), 3);
    assert_eq!(sim.calls("create_integration_link"), 3 * LINKS.len() as u64);
    app.finish().await;
}

#[tokio::test]
async fn a_request_that_keeps_failing_gets_a_second_pass_and_the_server_ends_active() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = start_sim(3, "cpanel", "11.134.0.5").await;
    let sid = app.add_server("cp1", &sim, "cpanel").await;
    app.add_accounts(sid, &sim_users(3)).await;
    // Both attempts of the first pass's request (the tests' client makes 2) answer 500.
    sim.set_faults(FaultsUpdate {
        error_users: Some(BTreeMap::from([("user0002".to_string(), 2)])),
        ..FaultsUpdate::default()
    })
    .unwrap();

    app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    let status = app.wait_idle("cpanel").await;

    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(status["operation"]["accounts_done"], 3);
    assert_eq!(status["operation"]["warnings"], 0);
    // The request carrying user0002 failed twice, then its second pass went through.
    assert_eq!(sim.calls("list_integration_links"), 3 + 2);
    let debug = app.log_rows("cpanel", "debug").await;
    assert!(
        debug.iter().any(|r| r[3].contains("second pass")),
        "{debug:?}"
    );
    let links = sim_links(&sim);
    for user in sim_users(3) {
        assert_eq!(apps_of(&links, &user), all_apps(), "{user}");
    }
    app.finish().await;
}

#[tokio::test]
async fn retry_re_runs_only_the_accounts_that_failed() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let total = DEFAULT_BATCH_ACCOUNTS * 2;
    let sim = start_sim(total, "cpanel", "11.134.0.5").await;
    let sid = app.add_server("cp1", &sim, "cpanel").await;
    app.add_accounts(sid, &sim_users(total)).await;
    // The request carrying user0003 fails in both passes (2 attempts each): its accounts
    // fail, the other requests' accounts are done.
    sim.set_faults(FaultsUpdate {
        error_users: Some(BTreeMap::from([("user0003".to_string(), 4)])),
        ..FaultsUpdate::default()
    })
    .unwrap();

    app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["state"], "failed", "{status}");
    assert_eq!(status["operation"]["accounts_done"], total);
    let warnings = app.log_rows("cpanel", "warning").await;
    let failed: BTreeSet<String> = warnings.iter().map(|r| r[2].clone()).collect();
    assert_eq!(
        failed.len(),
        warnings.len(),
        "one Warning per account: {warnings:?}"
    );
    assert!(failed.contains("user0003"), "{failed:?}");
    assert!(
        failed.len() < total / 2,
        "only one request's accounts: {failed:?}"
    );
    assert!(
        warnings
            .iter()
            .all(|r| r[3].contains("Internal Server Error")),
        "the server's words: {warnings:?}"
    );
    assert_eq!(status["operation"]["warnings"], failed.len());
    let links = sim_links(&sim);
    for user in sim_users(total) {
        let expected = if failed.contains(&user) {
            Vec::new()
        } else {
            all_apps()
        };
        assert_eq!(apps_of(&links, &user), expected, "{user}");
    }
    // The second pass spreads the first pass's failed request over smaller ones: only the
    // one carrying user0003 fails again.
    assert!(failed.len() < DEFAULT_BATCH_ACCOUNTS / 2, "{failed:?}");
    let lists_before = sim.calls("list_integration_links");

    let r = app.post_form(&format!("{BASE}/cpanel/retry"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(status["operation"]["kind"], "retry");
    assert_eq!(status["operation"]["accounts_total"], failed.len());
    assert_eq!(status["operation"]["warnings"], 0);
    // Only the failed accounts were touched again.
    assert_eq!(
        sim.calls("list_integration_links"),
        lists_before + failed.len() as u64
    );
    let links = sim_links(&sim);
    for user in sim_users(total) {
        assert_eq!(apps_of(&links, &user), all_apps(), "{user}");
    }
    // Nothing is left to retry: no new operation starts.
    app.post_form(&format!("{BASE}/cpanel/retry"), &[]).await;
    assert_eq!(
        app.status("cpanel").await["operation"]["id"],
        status["operation"]["id"]
    );
    app.finish().await;
}

#[tokio::test]
async fn the_simulators_batch_stops_at_a_failure_with_abort_on_error_and_refuses_nesting() {
    let sim = spawn_sim(1).await;
    let post = |fields: Vec<(&'static str, &'static str)>| {
        let url = format!("{}/json-api/batch", sim.url);
        let token = sim.token.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .header("authorization", format!("whm root:{token}"))
                .form(&fields)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };

    let answer = post(vec![
        ("api.version", "1"),
        ("abort_on_error", "1"),
        ("command", "version"),
        ("command", "batch?command=version"),
        ("command", "list_integration_links?user=user0001"),
    ])
    .await;
    assert_eq!(answer["metadata"]["result"], 0, "{answer}");
    let results = answer["data"]["result"].as_array().unwrap();
    assert_eq!(results.len(), 2, "stopped at the failing command: {answer}");
    assert_eq!(results[0]["metadata"]["result"], 1);
    assert_eq!(results[1]["metadata"]["command"], "batch");
    assert_eq!(results[1]["metadata"]["result"], 0);

    let answer = post(vec![("api.version", "1")]).await;
    assert_eq!(answer["metadata"]["result"], 0);
    assert_eq!(
        answer["metadata"]["reason"],
        "Provide the “command” parameter."
    );
    // Counted as whm-api.md §7 says: requests under `batch`, commands under their function.
    assert_eq!(sim.calls("batch"), 2);
    assert_eq!(sim.calls("version"), 1);
    assert_eq!(sim.calls("list_integration_links"), 1);
    assert_eq!(sim.state_json()["calls"]["batch"], 2);
}
