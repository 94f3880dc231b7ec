//! Reset SSO token: a new link secret for one account, refused-old-from-the-click, pushed to
//! every link of the account with `update_integration_link_token` by a `reset_token` job that
//! takes the server's lock, over HTTP against the simulator.

use std::collections::BTreeSet;

use applinks::domain::app::App;
use applinks::domain::permission::Permission;
use applinks::whm::sim::SimHandle;
use reqwest::StatusCode;
use secrecy::ExposeSecret as _;

use crate::helpers::{TestApp, client, location, sim_links, sim_users, spawn_app, start_sim};

const OPEN_TICKET: &str = "applinks_ticket_open";

/// cPanel on, one simulator with `n` provisioned accounts whose clients have owner users;
/// answers the server and account ids.
async fn setup(app: &TestApp, sim: &SimHandle, n: usize) -> (i64, Vec<i64>) {
    let server = app.add_server("cp1", sim, "cpanel").await;
    let ids = app.add_accounts(server, &sim_users(n)).await;
    sqlx::query(
        "insert into client_users (client_id, name, email, is_owner)
         select id, 'Owner ' || name, email, true from clients",
    )
    .execute(&app.pool)
    .await
    .expect("owner users");
    let r = app
        .post_form("/admin/setup/application-links/cpanel/enable", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["state"], "active", "{status}");
    (server, ids)
}

async fn client_of(app: &TestApp, account: i64) -> i64 {
    sqlx::query_scalar("select client_id from accounts where id = $1")
        .bind(account)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// The tokens on `user`'s applinks links in the simulator.
fn sim_tokens(sim: &SimHandle, user: &str) -> BTreeSet<String> {
    sim_links(sim)[user]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(app, _)| app.starts_with("applinks_"))
        .map(|(_, link)| link["token"].as_str().unwrap().to_string())
        .collect()
}

/// The account's link secret as applinks stores it.
async fn stored_secret(app: &TestApp, account: i64) -> String {
    let ciphertext: Vec<u8> = sqlx::query_scalar(
        "select token_ciphertext from account_link_secrets where account_id = $1 and app = $2",
    )
    .bind(account)
    .bind(App::Cpanel.key())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    app.secrets
        .decrypt(&ciphertext)
        .unwrap()
        .expose_secret()
        .to_string()
}

/// Waits until every `reset_token` operation has finished.
/// Presses *Reset SSO token* beside `account` on its client's admin page.
async fn press_reset(app: &TestApp, account: i64) -> reqwest::Response {
    let client_id = client_of(app, account).await;
    app.post_form(
        &format!("/admin/clients/{client_id}/accounts/{account}/reset-token"),
        &[],
    )
    .await
}

async fn wait_resets(app: &TestApp) {
    for _ in 0..600 {
        let open: i64 = sqlx::query_scalar(
            "select count(*) from operations where kind = 'reset_token' and finished_at is null",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if open == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("a token reset is still running after 60 s");
}

/// What cPanel posts to the link's `autologin_token_url`, with `token`.
async fn autologin(sim: &SimHandle, user: &str, token: &str) -> StatusCode {
    let link = &sim_links(sim)[user][OPEN_TICKET];
    client()
        .post(link["autologin_token_url"].as_str().unwrap())
        .form(&[
            (
                "subscriber_unique_id",
                link["subscriber_unique_id"].as_str().unwrap(),
            ),
            ("token", token),
            ("attempt", "1"),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_reset_token_reaches_every_link_of_the_account_and_the_old_one_is_refused_at_once() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = start_sim(2, "cpanel", "11.134.0.5").await;
    let (_, ids) = setup(&app, &sim, 2).await;
    let old = sim_tokens(&sim, "user0001");
    assert_eq!(old.len(), 1, "one token on all 15 links");
    let old = old.into_iter().next().unwrap();
    let other_before = sim_tokens(&sim, "user0002");
    let creates = sim.calls("create_integration_link");
    assert_eq!(autologin(&sim, "user0001", &old).await, StatusCode::OK);

    // The old token is refused as soon as the click answers, whether or not a worker has run
    // the job yet.
    let client_id = client_of(&app, ids[0]).await;
    let (_, page) = app.text(&format!("/admin/clients/{client_id}")).await;
    assert_eq!(
        crate::helpers::select(&page, ".account-row form.reset-token button"),
        vec!["Reset SSO token"]
    );
    let r = press_reset(&app, ids[0]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(r.headers()), format!("/admin/clients/{client_id}"));
    let new = stored_secret(&app, ids[0]).await;
    assert_ne!(new, old);
    assert!(new.len() >= 43, "256 bits");
    assert_eq!(
        autologin(&sim, "user0001", &old).await,
        StatusCode::FORBIDDEN,
        "the old token is refused from the click on"
    );

    wait_resets(&app).await;
    assert_eq!(
        sim_tokens(&sim, "user0001"),
        BTreeSet::from([new.clone()]),
        "every link carries the new token"
    );
    assert_eq!(sim_links(&sim)["user0001"].as_object().unwrap().len(), 15);
    assert_eq!(sim.calls("update_integration_link_token"), 15);
    assert_eq!(
        sim.calls("create_integration_link"),
        creates,
        "not a re-create"
    );
    assert!(sim.orphan_tokens("user0001").is_empty());
    assert_eq!(
        sim_tokens(&sim, "user0002"),
        other_before,
        "other accounts keep theirs"
    );
    assert_eq!(
        autologin(&sim, "user0001", &old).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(autologin(&sim, "user0001", &new).await, StatusCode::OK);

    // The customer's click in cPanel signs in with the new token.
    let r = client()
        .post(format!("{}/cpanel/user0001/open/{OPEN_TICKET}", sim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        location(r.headers()).starts_with(&app.url("/sso/login?token=")),
        "{}",
        location(r.headers())
    );

    // The log says who reset which account, and that the job pushed it.
    let debug = app.log_rows("cpanel", "debug").await;
    let text: Vec<String> = debug.iter().map(|row| row.join(" | ")).collect();
    assert!(
        text.iter()
            .any(|l| l.contains("SSO token of account user0001 reset by administrator root")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|l| l.contains("New SSO token pushed to 15 link(s)")),
        "{text:#?}"
    );
    // The application's state is still that of its last sync.
    assert_eq!(app.status("cpanel").await["operation"]["kind"], "activate");
    assert_eq!(app.unfinished_jobs().await, 0);
    app.finish().await;
}

#[tokio::test]
async fn reset_token_needs_manage_clients_a_csrf_token_and_an_account_of_that_client() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = start_sim(2, "cpanel", "11.134.0.5").await;
    let (_, ids) = setup(&app, &sim, 2).await;
    let before = [
        stored_secret(&app, ids[0]).await,
        stored_secret(&app, ids[1]).await,
    ];
    let first = client_of(&app, ids[0]).await;
    let path = format!("/admin/clients/{first}/accounts/{}/reset-token", ids[0]);

    // Without a CSRF token.
    assert_eq!(
        app.post_raw(&path, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    // The other client's account through this client's URL, an unknown account, a bad id.
    for bad in [
        format!("/admin/clients/{first}/accounts/{}/reset-token", ids[1]),
        format!("/admin/clients/{first}/accounts/999999/reset-token"),
        format!("/admin/clients/{first}/accounts/x/reset-token"),
    ] {
        assert_eq!(
            app.post_form(&bad, &[]).await.status(),
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
    // An admin without manage_clients.
    let restricted = app.new_browser();
    let mut conn = app.pool.acquire().await.unwrap();
    applinks::db::roles::create(
        &mut conn,
        "Links only",
        &[Permission::ConfigureApplicationLinks],
    )
    .await
    .unwrap();
    applinks::hosting::admins::create_admin(
        &app.pool,
        "linker",
        "Links only",
        crate::helpers::PASSWORD,
    )
    .await
    .unwrap();
    restricted.login("linker", crate::helpers::PASSWORD).await;
    assert_eq!(
        restricted.post_form(&path, &[]).await.status(),
        StatusCode::FORBIDDEN
    );

    assert_eq!(
        [
            stored_secret(&app, ids[0]).await,
            stored_secret(&app, ids[1]).await
        ],
        before
    );
    let resets: i64 =
        sqlx::query_scalar("select count(*) from operations where kind = 'reset_token'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(resets, 0);
    assert_eq!(sim.calls("update_integration_link_token"), 0);
    app.finish().await;
}

#[tokio::test]
async fn a_sync_in_flight_cannot_push_the_old_token_back_over_a_reset() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = start_sim(6, "cpanel", "11.134.0.5").await;
    let (_, ids) = setup(&app, &sim, 6).await;
    let old: Vec<String> =
        futures::future::join_all(ids.iter().map(|id| stored_secret(&app, *id))).await;
    // A slow server: the sync below is still running when the tokens are reset.
    sim.set_faults(applinks::whm::sim::FaultsUpdate {
        latency_ms: Some(40),
        ..Default::default()
    })
    .unwrap();
    let fields = configure_fields(&app).await;
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = app
        .post_form("/admin/setup/application-links/cpanel/configure", &pairs)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for id in &ids {
        assert_eq!(press_reset(&app, *id).await.status(), StatusCode::SEE_OTHER);
    }
    app.wait_idle("cpanel").await;
    wait_resets(&app).await;
    for (i, (id, user)) in ids.iter().zip(sim_users(6)).enumerate() {
        let new = stored_secret(&app, *id).await;
        assert_ne!(new, old[i]);
        assert_eq!(
            sim_tokens(&sim, &user),
            BTreeSet::from([new]),
            "{user}: the server ends with the new token only"
        );
    }
    assert_eq!(app.unfinished_jobs().await, 0);
    app.finish().await;
}

/// The reset's job takes the server's lock: while something else holds it (here the test, as
/// a sync in flight would), the job waits for it (PostgreSQL shows its request waiting) and
/// pushes nothing; once the lock is free, the new token reaches the server.
#[tokio::test]
async fn a_token_reset_waits_for_the_servers_lock_before_it_pushes_anything() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = start_sim(1, "cpanel", "11.134.0.5").await;
    let (server, ids) = setup(&app, &sim, 1).await;
    let key = (server % i64::from(i32::MAX)) as i32;
    let mut holder = app.pool.acquire().await.unwrap().detach();
    sqlx::query("select pg_advisory_lock($1, $2)")
        .bind(applinks::jobs::provision::SERVER_LOCK_NAMESPACE)
        .bind(key)
        .execute(&mut holder)
        .await
        .unwrap();

    assert_eq!(
        press_reset(&app, ids[0]).await.status(),
        StatusCode::SEE_OTHER
    );
    // The job's request for the lock, waiting (advisory locks of the two-key form: classid
    // is the first key, objid the second, objsubid 2).
    let mut waiting = false;
    for _ in 0..600 {
        waiting = sqlx::query_scalar(
            "select exists (select 1 from pg_locks where locktype = 'advisory' and not granted
                              and classid::bigint = $1 and objid::bigint = $2 and objsubid = 2)",
        )
        .bind(i64::from(applinks::jobs::provision::SERVER_LOCK_NAMESPACE))
        .bind(i64::from(key))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if waiting {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(waiting, "the reset job never asked for the server's lock");
    assert_eq!(sim.calls("update_integration_link_token"), 0);

    sqlx::query("select pg_advisory_unlock($1, $2)")
        .bind(applinks::jobs::provision::SERVER_LOCK_NAMESPACE)
        .bind(key)
        .execute(&mut holder)
        .await
        .unwrap();
    wait_resets(&app).await;
    assert!(sim.calls("update_integration_link_token") > 0);
    let new = stored_secret(&app, ids[0]).await;
    assert_eq!(
        sim_tokens(&sim, "user0001"),
        BTreeSet::from([new]),
        "the server ends with the new token only"
    );
    app.finish().await;
}

/// The configure form's fields as the page renders them, with one label changed (a save
/// starts a sync of every account).
async fn configure_fields(app: &TestApp) -> Vec<(String, String)> {
    let (status, html) = app
        .text("/admin/setup/application-links/cpanel/configure")
        .await;
    assert_eq!(status, StatusCode::OK);
    let doc = scraper::Html::parse_document(&html);
    let inputs = scraper::Selector::parse("form.configure-form input").unwrap();
    doc.select(&inputs)
        .filter_map(|i| {
            let name = i.value().attr("name")?.to_string();
            if name == "csrf_token" {
                return None;
            }
            if i.value().attr("type") == Some("checkbox") {
                return i.value().attr("checked").map(|_| (name, "on".to_string()));
            }
            let value = if name == "label_ticket_open" {
                "Open a Ticket".to_string()
            } else {
                i.value().attr("value").unwrap_or_default().to_string()
            };
            Some((name, value))
        })
        .collect()
}

#[tokio::test]
async fn account_reset_token_on_the_command_line_is_pushed_by_a_worker() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = start_sim(1, "cpanel", "11.134.0.5").await;
    let (_, ids) = setup(&app, &sim, 1).await;
    let old = stored_secret(&app, ids[0]).await;
    // tokio's Command: the app's workers keep running on this test's runtime meanwhile.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_applinks"))
        .args(["account", "reset-token", &ids[0].to_string()])
        .env("DATABASE_URL", &app.db.url)
        .env("APPLINKS_SECRET_KEY", app.secret_key.expose_secret())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run applinks account reset-token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("new SSO token stored"));
    let new = stored_secret(&app, ids[0]).await;
    assert_ne!(new, old);
    assert_eq!(
        autologin(&sim, "user0001", &old).await,
        StatusCode::FORBIDDEN
    );
    wait_resets(&app).await;
    assert_eq!(sim_tokens(&sim, "user0001"), BTreeSet::from([new]));
    let text: Vec<String> = app
        .log_rows("cpanel", "debug")
        .await
        .iter()
        .map(|row| row.join(" | "))
        .collect();
    assert!(
        text.iter().any(|l| l.contains("reset by the command line")),
        "{text:#?}"
    );

    // An unknown account: an error, nothing started.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_applinks"))
        .args(["account", "reset-token", "999999"])
        .env("DATABASE_URL", &app.db.url)
        .env("APPLINKS_SECRET_KEY", app.secret_key.expose_secret())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such account"));
    assert_eq!(app.unfinished_jobs().await, 0);
    app.finish().await;
}
