//! Single sign-on end to end: the simulator's customer button calls the link's
//! `autologin_token_url` (`/sso/cpanel/{link}`) as cPanel does, the browser follows the
//! one-time link to `/sso/login` and lands in the client area.

use applinks::whm::sim::SimHandle;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{
    TestApp, client, location, select, sim_links, sim_users, spawn_app, start_sim,
};

const OPEN_TICKET: &str = "applinks_ticket_open";

/// An app with cPanel on, one simulator with two provisioned accounts whose clients each
/// have an owner user; answers the account ids.
async fn setup() -> (TestApp, SimHandle, Vec<i64>) {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = start_sim(2, "cpanel", "11.134.0.5").await;
    let server = app.add_server("cp1", &sim, "cpanel").await;
    let ids = app.add_accounts(server, &sim_users(2)).await;
    sqlx::query(
        "insert into client_users (client_id, name, email, is_owner)
         select id, 'Owner ' || name, email, true from clients",
    )
    .execute(&app.pool)
    .await
    .expect("owner users");
    app.enable("cpanel").await;
    (app, sim, ids)
}

/// Clicks a link on the simulated cPanel home of `user`; answers the redirect target.
async fn click(sim: &SimHandle, user: &str, link: &str) -> String {
    let r = client()
        .post(format!("{}/cpanel/{user}/open/{link}", sim.url))
        .send()
        .await
        .expect("click");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    location(r.headers())
}

/// The user-config fields cPanel posts back to `autologin_token_url` (whm-api.md §6).
const USER_CONFIG_FIELDS: [&str; 8] = [
    "url",
    "label",
    "implements",
    "order",
    "hide",
    "group_id",
    "subscriber_unique_id",
    "base64_png_image",
];

/// Exactly what a real cPanel POSTs for `user`'s link `link` (whm-api.md §6): every stored
/// user-config field, `token` and `attempt`, and neither `user` nor `app`.
fn cpanel_fields(sim: &SimHandle, user: &str, link: &str) -> Vec<(String, String)> {
    let stored = sim_links(sim)[user][link].clone();
    let mut fields: Vec<(String, String)> = USER_CONFIG_FIELDS
        .iter()
        .filter_map(|name| Some((name.to_string(), stored.get(*name)?.as_str()?.to_string())))
        .collect();
    fields.push(("token".into(), stored["token"].as_str().unwrap().into()));
    fields.push(("attempt".into(), "1".into()));
    fields
}

/// The link's `autologin_token_url` as provisioned.
fn autologin_url(sim: &SimHandle, user: &str, link: &str) -> String {
    sim_links(sim)[user][link]["autologin_token_url"]
        .as_str()
        .unwrap()
        .to_string()
}

/// POSTs `fields` form-encoded to `url`; answers the status and the JSON answer.
async fn post_autologin(url: &str, fields: &[(String, String)]) -> (StatusCode, Value) {
    let r = client()
        .post(url)
        .form(fields)
        .send()
        .await
        .expect("autologin");
    (r.status(), r.json().await.expect("JSON answer"))
}

/// The fields a caller of the keyless `/sso/cpanel` sends: the link named by `app`.
fn autologin_fields(sim: &SimHandle, user: &str, link: &str) -> Vec<(String, String)> {
    let stored = &sim_links(sim)[user][link];
    vec![
        ("app".into(), link.into()),
        ("token".into(), stored["token"].as_str().unwrap().into()),
        ("user".into(), user.into()),
        (
            "subscriber_unique_id".into(),
            stored["subscriber_unique_id"].as_str().unwrap().into(),
        ),
    ]
}

#[tokio::test]
async fn clicking_a_link_in_cpanel_signs_the_client_in_and_lands_on_the_destination() {
    let (app, sim, _) = setup().await;
    let target = click(&sim, "user0001", OPEN_TICKET).await;
    let prefix = app.url("/sso/login?token=");
    assert!(target.starts_with(&prefix), "{target}");
    let token = &target[prefix.len()..];
    assert!(token.len() >= 43, "256 bits: {token}");

    // Only the hash is stored.
    let stored: Vec<u8> = sqlx::query_scalar("select token_hash from sso_tokens")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert_ne!(stored, token.as_bytes());

    let browser = client();
    let r = browser.get(&target).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(r.headers()), "/client/tickets/new");

    let r = browser
        .get(app.url("/client/tickets/new"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert_eq!(select(&html, ".client-name"), ["Client of user0001"]);
    assert_eq!(select(&html, ".client-user"), ["Owner Client of user0001"]);
    assert_eq!(select(&html, "h1"), ["Open Ticket"]);
    app.finish().await;
}

#[tokio::test]
async fn cpanels_exact_autologin_request_without_user_or_app_signs_the_client_in_at_the_link() {
    let (app, sim, ids) = setup().await;
    let url = autologin_url(&sim, "user0002", "applinks_billing_view");
    assert_eq!(url, app.url("/sso/cpanel/billing_view"));
    let fields = cpanel_fields(&sim, "user0002", "applinks_billing_view");
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        !names.contains(&"user") && !names.contains(&"app"),
        "{names:?}"
    );
    for name in [
        "token",
        "attempt",
        "subscriber_unique_id",
        "base64_png_image",
        "group_id",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert!(fields.contains(&("subscriber_unique_id".into(), ids[1].to_string())));

    let (status, body) = post_autologin(&url, &fields).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let target = body["redirect_url"].as_str().unwrap().to_string();
    assert!(
        target.starts_with(&app.url("/sso/login?token=")),
        "{target}"
    );
    let browser = client();
    let r = browser.get(&target).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(r.headers()), "/client/billing");
    let html = browser
        .get(app.url("/client/billing"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(select(&html, ".client-name"), ["Client of user0002"]);
    assert_eq!(select(&html, "h1"), ["View Billing Information"]);

    // A caller that does send `user` and `app` is cross-checked against them.
    let mut named = fields.clone();
    named.push(("user".into(), "user0002".into()));
    named.push(("app".into(), "applinks_billing_view".into()));
    assert_eq!(post_autologin(&url, &named).await.0, StatusCode::OK);
    for (name, value) in [("user", "user0001"), ("app", "applinks_ticket_open")] {
        let mut wrong = fields.clone();
        wrong.push((name.into(), value.into()));
        let (status, body) = post_autologin(&url, &wrong).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {body}");
    }
    // Another link's URL with this link's fields signs in at that other link: the path is
    // what names the link, and both belong to the same account.
    let (status, body) = post_autologin(&app.url("/sso/cpanel/profile"), &fields).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = post_autologin(&app.url("/sso/cpanel/no_such_link"), &fields).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.finish().await;
}

#[tokio::test]
async fn the_customers_cpanel_shows_the_links_in_applinks_own_group_with_icons_in_order() {
    let (app, sim, _) = setup().await;
    let html = client()
        .get(format!("{}/cpanel/user0001", sim.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let group = "section.group[data-group=applinks]";
    assert_eq!(select(&html, &format!("{group} h2")), ["Billing & Support"]);
    let labels = select(&html, &format!("{group} form.link"));
    let expected: Vec<&str> = applinks::domain::links::LINKS
        .iter()
        .map(|l| l.default_label)
        .collect();
    assert_eq!(labels, expected);
    let doc = scraper::Html::parse_document(&html);
    let icon = scraper::Selector::parse(&format!("{group} form.link img.icon")).unwrap();
    let sources: Vec<&str> = doc
        .select(&icon)
        .filter_map(|img| img.value().attr("src"))
        .collect();
    assert_eq!(sources.len(), 15);
    assert!(
        sources
            .iter()
            .all(|src| src.starts_with("data:image/png;base64,")),
        "{sources:?}"
    );
    // Nothing of ours is left in cPanel's Preferences group.
    assert!(select(&html, "section.group[data-group=pref] form.link").is_empty());

    // Renaming the group shows in cPanel after the sync.
    sqlx::query("update applications set group_label = 'Your Account' where app = 'cpanel'")
        .execute(&app.pool)
        .await
        .unwrap();
    let r = app
        .post_form("/admin/setup/application-links/cpanel/disable", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    app.wait_idle("cpanel").await;
    let html = client()
        .get(format!("{}/cpanel/user0001", sim.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        select(&html, group).is_empty(),
        "disabling removes the group"
    );
    app.post_form("/admin/setup/application-links/cpanel/enable", &[])
        .await;
    app.wait_idle("cpanel").await;
    let html = client()
        .get(format!("{}/cpanel/user0001", sim.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(select(&html, &format!("{group} h2")), ["Your Account"]);
    app.finish().await;
}

#[tokio::test]
async fn every_client_destination_shows_its_page_to_a_signed_in_client_and_sends_anonymous_visitors_to_sign_in()
 {
    let (app, sim, _) = setup().await;
    let anonymous = client();
    let browser = client();
    let target = click(&sim, "user0002", "applinks_profile").await;
    let r = browser.get(&target).send().await.unwrap();
    assert_eq!(location(r.headers()), "/client/profile");
    for link in applinks::domain::links::LINKS {
        let r = browser.get(app.url(link.path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", link.path);
        let html = r.text().await.unwrap();
        assert_eq!(select(&html, "h1"), [link.default_label], "{}", link.path);
        assert_eq!(select(&html, ".client-name"), ["Client of user0002"]);

        let r = anonymous.get(app.url(link.path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", link.path);
        let next: String = form_urlencoded::byte_serialize(link.path.as_bytes()).collect();
        assert_eq!(location(r.headers()), format!("/client/login?next={next}"));
    }
    let r = anonymous
        .get(app.url("/client/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert_eq!(select(&html, ".no-password-sign-in").len(), 1);
    app.finish().await;
}

#[tokio::test]
async fn a_used_token_answers_410_with_a_sign_in_link() {
    let (app, sim, _) = setup().await;
    let target = click(&sim, "user0001", OPEN_TICKET).await;
    let r = client().get(&target).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let r = client().get(&target).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    let html = r.text().await.unwrap();
    assert!(select(&html, "h1")[0].contains("expired"));
    assert_eq!(
        crate::helpers::attr(&html, "a.sign-in", "href").as_deref(),
        Some("/client/login")
    );
    // An unknown token reads the same.
    let r = client()
        .get(app.url("/sso/login?token=nonsense"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    app.finish().await;
}

#[tokio::test]
async fn a_token_older_than_120_seconds_answers_410() {
    let (app, sim, _) = setup().await;
    let target = click(&sim, "user0001", OPEN_TICKET).await;
    let ttl: f64 = sqlx::query_scalar(
        "select extract(epoch from expires_at - created_at)::float8 from sso_tokens",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!((119.0..=121.0).contains(&ttl), "{ttl}");
    sqlx::query("update sso_tokens set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let browser = client();
    let r = browser.get(&target).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    let r = browser
        .get(app.url("/client/tickets/new"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "not signed in");
    app.finish().await;
}

#[tokio::test]
async fn a_client_session_gives_no_access_to_the_admin_area() {
    let (app, sim, _) = setup().await;
    let target = click(&sim, "user0001", OPEN_TICKET).await;
    let browser = client();
    browser.get(&target).send().await.unwrap();
    for path in ["/admin", "/admin/setup/application-links", "/admin/clients"] {
        let r = browser.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(r.headers()), "/admin/login", "{path}");
    }
    app.finish().await;
}

#[tokio::test]
async fn wrong_credentials_are_refused_with_403_and_store_nothing() {
    let (app, sim, ids) = setup().await;
    let url = autologin_url(&sim, "user0001", OPEN_TICKET);
    let good = cpanel_fields(&sim, "user0001", OPEN_TICKET);
    let with = |name: &str, value: &str| -> Vec<(String, String)> {
        good.iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if k == name {
                        value.to_string()
                    } else {
                        v.clone()
                    },
                )
            })
            .collect()
    };
    let other_token = sim_links(&sim)["user0002"][OPEN_TICKET]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let without_token: Vec<(String, String)> =
        good.iter().filter(|(k, _)| k != "token").cloned().collect();
    let without_id: Vec<(String, String)> = good
        .iter()
        .filter(|(k, _)| k != "subscriber_unique_id")
        .cloned()
        .collect();
    for fields in [
        with("token", "wrong"),
        with("token", &other_token),
        with("token", ""),
        without_token,
        with("subscriber_unique_id", &ids[1].to_string()),
        with("subscriber_unique_id", "999999"),
        with("subscriber_unique_id", "x"),
        without_id,
    ] {
        let (status, body) = post_autologin(&url, &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{fields:?}");
        assert!(body["error"].is_string(), "{body}");
    }
    // The keyless URL refuses a wrong `user` too.
    let mut keyless = autologin_fields(&sim, "user0001", OPEN_TICKET);
    keyless[2].1 = "user0002".into();
    assert_eq!(
        app.autologin("/sso/cpanel", &keyless).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.count("sso_tokens").await, 0);

    let (status, body) = post_autologin(&url, &good).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.count("sso_tokens").await, 1);
    app.finish().await;
}

#[tokio::test]
async fn sso_switched_off_for_the_client_or_its_user_redirects_to_an_explaining_login_page() {
    let (app, sim, ids) = setup().await;
    let fields = autologin_fields(&sim, "user0001", OPEN_TICKET);
    let expected = app.url("/client/login?sso=disabled&next=%2Fclient%2Ftickets%2Fnew");
    let client_id: i64 = sqlx::query_scalar("select client_id from accounts where id = $1")
        .bind(ids[0])
        .fetch_one(&app.pool)
        .await
        .unwrap();

    sqlx::query("update clients set allow_sso = false where id = $1")
        .bind(client_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, body) = app.autologin("/sso/cpanel", &fields).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["redirect_url"], expected);
    // The customer's button lands on the same page.
    assert_eq!(click(&sim, "user0001", OPEN_TICKET).await, expected);

    sqlx::query("update clients set allow_sso = true where id = $1")
        .bind(client_id)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("update client_users set sso_allowed = false where client_id = $1 and is_owner")
        .bind(client_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, body) = app.autologin("/sso/cpanel", &fields).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["redirect_url"], expected);
    assert_eq!(app.count("sso_tokens").await, 0);

    let r = client().get(&expected).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let notice = select(&html, ".sso-disabled").join(" ");
    assert!(notice.contains("switched off"), "{notice}");
    assert!(notice.contains("client-area credentials"), "{notice}");
    assert_eq!(select(&html, "form").len(), 0, "no fake password form");
    app.finish().await;
}

#[tokio::test]
async fn a_json_autologin_body_works_like_a_form() {
    let (app, sim, ids) = setup().await;
    let stored = &sim_links(&sim)["user0001"][OPEN_TICKET];
    let r = client()
        .post(app.url("/sso/cpanel"))
        .json(&serde_json::json!({
            "app": OPEN_TICKET,
            "token": stored["token"],
            "user": "user0001",
            "subscriber_unique_id": ids[0],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let target = body["redirect_url"].as_str().unwrap().to_string();
    assert!(
        target.starts_with(&app.url("/sso/login?token=")),
        "{target}"
    );
    let r = client().get(&target).send().await.unwrap();
    assert_eq!(location(r.headers()), "/client/tickets/new");

    let r = client()
        .post(app.url("/sso/cpanel"))
        .json(&serde_json::json!({
            "app": OPEN_TICKET, "token": "wrong", "user": "user0001",
            "subscriber_unique_id": ids[0].to_string(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.finish().await;
}

#[tokio::test]
async fn a_hidden_or_unknown_link_and_a_switched_off_application_are_refused_with_403() {
    let (app, sim, _) = setup().await;
    let fields = autologin_fields(&sim, "user0001", OPEN_TICKET);

    // cPanel still shows a link the admin has just hidden.
    sqlx::query(
        "update app_links set shown = false where app = 'cpanel' and link_key = 'ticket_open'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (status, _) = app.autologin("/sso/cpanel", &fields).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let mut unknown = fields.clone();
    unknown[0].1 = "applinks_nothing".into();
    let (status, _) = app.autologin("/sso/cpanel", &unknown).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    unknown[0].1 = "someone_elses_app".into();
    let (status, _) = app.autologin("/sso/cpanel", &unknown).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The keyless URL cannot tell which link is meant without `app`.
    unknown.remove(0);
    let (status, body) = app.autologin("/sso/cpanel", &unknown).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "unknown_link");

    let profile = autologin_fields(&sim, "user0001", "applinks_profile");
    sqlx::query("update applications set enabled = false where app = 'cpanel'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, _) = app.autologin("/sso/cpanel", &profile).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("sso_tokens").await, 0);
    app.finish().await;
}

#[tokio::test]
async fn a_suspended_or_terminated_service_gets_no_token_but_a_page_that_says_why() {
    let (app, sim, ids) = setup().await;
    let url = autologin_url(&sim, "user0001", OPEN_TICKET);
    let fields = cpanel_fields(&sim, "user0001", OPEN_TICKET);
    let expected = app.url("/client/login?sso=suspended&next=%2Fclient%2Ftickets%2Fnew");
    for status in ["suspended", "terminated"] {
        sqlx::query("update accounts set status = $2 where id = $1")
            .bind(ids[0])
            .bind(status)
            .execute(&app.pool)
            .await
            .unwrap();
        let (code, body) = post_autologin(&url, &fields).await;
        assert_eq!(code, StatusCode::OK, "{status}");
        assert_eq!(body["redirect_url"], expected, "{status}");
    }
    assert_eq!(app.count("sso_tokens").await, 0);
    let html = client()
        .get(&expected)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let notice = select(&html, ".sso-suspended").join(" ");
    assert!(notice.contains("suspended"), "{notice}");
    app.finish().await;
}

#[tokio::test]
async fn a_client_signs_out_and_an_admin_in_the_same_browser_stays_signed_in() {
    let (app, sim, _) = setup().await;
    // `app.client` is the admin's browser; the customer's SSO lands in the same one.
    let target = click(&sim, "user0001", OPEN_TICKET).await;
    let r = app.client.get(&target).send().await.unwrap();
    assert_eq!(location(r.headers()), "/client/tickets/new");
    assert_eq!(
        app.get("/admin").await.status(),
        StatusCode::OK,
        "admin kept"
    );
    let html = app.get("/client/tickets/new").await.text().await.unwrap();
    assert_eq!(select(&html, ".client-name"), ["Client of user0001"]);
    let token =
        crate::helpers::attr(&html, "form.client-logout input[name=csrf_token]", "value").unwrap();

    let r = app
        .client
        .post(app.url("/client/logout"))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app.get("/client/tickets/new").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "client signed out");
    assert_eq!(
        app.get("/admin").await.status(),
        StatusCode::OK,
        "admin still in"
    );

    // Without the token nothing happens.
    let again = click(&sim, "user0001", OPEN_TICKET).await;
    app.client.get(&again).send().await.unwrap();
    let r = app
        .client
        .post(app.url("/client/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/client/tickets/new").await.status(),
        StatusCode::OK
    );
    app.finish().await;
}

#[tokio::test]
async fn a_client_sign_in_ends_after_its_absolute_lifetime_however_active() {
    let (app, sim, _) = setup().await;
    let browser = client();
    let target = click(&sim, "user0001", OPEN_TICKET).await;
    browser.get(&target).send().await.unwrap();
    let r = browser
        .get(app.url("/client/tickets/new"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Nine hours pass (the default lifetime is eight).
    sqlx::query(
        "update tower_sessions.session
         set data = jsonb_set(data, '{client_since}', to_jsonb((data->>'client_since')::bigint - 32400))
         where data ? 'client_since'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let r = browser
        .get(app.url("/client/tickets/new"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    app.finish().await;
}

#[tokio::test]
async fn a_token_is_refused_when_sso_is_switched_off_or_its_account_goes_before_it_is_used() {
    let (app, sim, ids) = setup().await;
    let client_id: i64 = sqlx::query_scalar("select client_id from accounts where id = $1")
        .bind(ids[0])
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let switch = async |table: &str, column: &str, on: bool| {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "update {table} set {column} = $2 where {} = $1",
            if table == "clients" {
                "id"
            } else {
                "client_id"
            }
        )))
        .bind(client_id)
        .bind(on)
        .execute(&app.pool)
        .await
        .unwrap();
    };
    // Issued while single sign-on was on, used after the client or its user switched it off.
    for (table, column) in [("clients", "allow_sso"), ("client_users", "sso_allowed")] {
        let target = click(&sim, "user0001", OPEN_TICKET).await;
        switch(table, column, false).await;
        let r = client().get(&target).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::GONE, "{table}.{column}");
        switch(table, column, true).await;
    }
    // Issued, then the account was deleted.
    let target = click(&sim, "user0001", OPEN_TICKET).await;
    sqlx::query("delete from accounts where id = $1")
        .bind(ids[0])
        .execute(&app.pool)
        .await
        .unwrap();
    let r = client().get(&target).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    // The other account's token still works.
    let r = client()
        .get(click(&sim, "user0002", OPEN_TICKET).await)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Tokens that expired more than a day ago are dropped by the periodic task's query.
    sqlx::query("update sso_tokens set expires_at = now() - interval '25 hours'")
        .execute(&app.pool)
        .await
        .unwrap();
    let tokens = app.count("sso_tokens").await;
    assert!(tokens >= 4, "{tokens}");
    let dropped = applinks::db::sso::delete_expired_tokens(&app.pool)
        .await
        .unwrap();
    assert_eq!((dropped, app.count("sso_tokens").await), (tokens as u64, 0));
    app.finish().await;
}

/// One browser signed in to both sides: each side's one-time messages stay on its own pages.
#[tokio::test]
async fn an_admin_and_a_client_in_the_same_browser_each_see_only_their_own_messages() {
    let (app, sim, _) = setup().await;
    // The customer signs in in the browser where the admin is signed in.
    let target = click(&sim, "user0001", OPEN_TICKET).await;
    app.client.get(&target).send().await.unwrap();
    // The admin's news, not yet shown: none of it on the client's pages.
    let r = app
        .post_form("/admin/setup/application-links/cpanel/disable", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app.get("/client/security").await.text().await.unwrap();
    assert!(select(&html, ".flash").is_empty(), "{html}");
    let token =
        crate::helpers::attr(&html, "form.client-logout input[name=csrf_token]", "value").unwrap();
    let r = app
        .client
        .post(app.url("/client/security"))
        .form(&[("csrf_token", token.as_str()), ("allow_sso", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // The admin's page shows the admin's message only ...
    let html = app
        .get("/admin/setup/application-links")
        .await
        .text()
        .await
        .unwrap();
    let admin_news = select(&html, ".flash").join(" ");
    assert!(admin_news.contains("being removed"), "{admin_news}");
    assert!(!admin_news.contains("Single sign-on"), "{admin_news}");
    // ... and the client's page the client's.
    let html = app.get("/client/security").await.text().await.unwrap();
    let client_news = select(&html, ".flash").join(" ");
    assert!(client_news.contains("switched off"), "{client_news}");
    assert!(!client_news.contains("being removed"), "{client_news}");
    app.wait_idle("cpanel").await;
    app.finish().await;
}
