//! Issue 8, finding 1: an imported account whose cPanel contact e-mail matches an existing
//! client waits for an admin's confirmation, with no links and no single sign-on, instead of
//! being attached to that client. Against the real app, Postgres and the WHM simulator.

use applinks::domain::permission::Permission;
use applinks::whm::sim::SimHandle;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, attr, client, select, sim_account, sim_links, spawn_app, start_sim};

const VICTIM_EMAIL: &str = "owner@victim.example";

async fn import(app: &TestApp, server: i64) -> String {
    app.press(&format!("/admin/servers/{server}/import"), &[])
        .await
}

/// The client an account of `user` belongs to, if applinks has such an account.
async fn client_of(app: &TestApp, user: &str) -> Option<i64> {
    sqlx::query_scalar("select client_id from accounts where username = $1")
        .bind(user)
        .fetch_optional(&app.pool)
        .await
        .unwrap()
}

/// The id of `user`'s pending match.
async fn pending_id(app: &TestApp, user: &str) -> i64 {
    sqlx::query_scalar("select id from pending_accounts where username = $1")
        .bind(user)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Everything a decision could change, to compare before and after a refused request.
async fn snapshot(app: &TestApp) -> (i64, i64, i64, i64) {
    (
        app.count("accounts").await,
        app.count("clients").await,
        app.count("pending_accounts").await,
        app.count("operations").await,
    )
}

/// What a real cPanel POSTs to `autologin_token_url` for `user`'s *Manage Profile* link.
fn profile_fields(sim: &SimHandle, user: &str) -> Vec<(String, String)> {
    let stored = &sim_links(sim)[user]["applinks_profile"];
    ["subscriber_unique_id", "token"]
        .iter()
        .map(|f| (f.to_string(), stored[*f].as_str().unwrap().to_string()))
        .collect()
}

/// A full admin signed in, a simulator with one account of its own (`bystander`) and
/// `mallory`, whose contact e-mail is the victim client's owner address (another case),
/// registered as a cPanel server; answers the app, the simulator, the server and the victim.
async fn takeover_setup() -> (TestApp, SimHandle, i64, i64) {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let victim = app.add_client("Victim Ltd", VICTIM_EMAIL).await;
    let sim = start_sim(0, "cpanel", "11.134.0.5").await;
    sim_account(&sim, "bystander", "bystander.test", "bystander@own.example");
    sim_account(&sim, "mallory", "mallory.test", "OWNER@Victim.Example");
    let server = app.add_server("cp1", &sim, "cpanel").await;
    (app, sim, server, victim)
}

#[tokio::test]
async fn an_account_listing_another_clients_email_gets_no_links_and_no_sign_in_until_confirmed() {
    let (app, sim, server, victim) = takeover_setup().await;

    let html = import(&app, server).await;
    let flash = select(&html, ".flash-success").join(" ");
    assert!(flash.contains("created 1 accounts"), "{flash}");
    assert!(
        flash.contains("1 matching an existing client wait for confirmation"),
        "{flash}"
    );
    assert_eq!(client_of(&app, "mallory").await, None, "not attached");
    // The server's page lists the match with what the admin needs to judge it.
    assert_eq!(
        select(&html, ".pending-row .pending-username"),
        vec!["mallory"]
    );
    assert_eq!(
        select(&html, ".pending-row .pending-domain"),
        vec!["mallory.test"]
    );
    assert_eq!(
        select(&html, ".pending-row .pending-email"),
        vec!["OWNER@victim.example"]
    );
    assert_eq!(
        select(&html, ".pending-row .pending-client"),
        vec!["Victim Ltd"]
    );
    assert_eq!(
        select(&html, ".account-row .account-username"),
        vec!["bystander"]
    );

    app.enable("cpanel").await;
    let links = sim_links(&sim);
    assert!(
        links["bystander"]
            .as_object()
            .is_some_and(|l| !l.is_empty())
    );
    assert!(
        links
            .get("mallory")
            .and_then(Value::as_object)
            .is_none_or(|l| l.is_empty()),
        "mallory got links: {links:?}"
    );
    // Nothing to click in mallory's cPanel, and a forged autologin is refused like any
    // unknown credential: by the pending row's id, and by every id there is.
    let r = client()
        .post(format!("{}/cpanel/mallory/open/applinks_profile", sim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let pending = pending_id(&app, "mallory").await;
    for id in [pending, victim, 1, 2, 3] {
        let fields = vec![
            ("subscriber_unique_id".to_string(), id.to_string()),
            ("user".to_string(), "mallory".to_string()),
            ("token".to_string(), "x".repeat(43)),
        ];
        let (status, body) = app.autologin("/sso/cpanel/profile", &fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "id {id}");
        assert_eq!(body["error"], "invalid_credentials");
    }
    assert_eq!(app.count("sso_tokens").await, 0);
    // The victim's pages do not list it.
    let (_, page) = app.text(&format!("/admin/clients/{victim}")).await;
    assert!(select(&page, ".account-row").is_empty(), "{page}");
    let (_, list) = app.text("/admin/clients").await;
    assert_eq!(
        select(
            &list,
            &format!(".client-row[data-id=\"{victim}\"] .client-accounts")
        ),
        vec!["0"]
    );

    // Importing again leaves it waiting, and says so.
    let html = import(&app, server).await;
    let reasons = select(&html, ".flash-info").join(" ");
    assert!(
        reasons.contains("1 still waiting for a confirmed client (mallory)"),
        "{reasons}"
    );
    assert_eq!(app.count("pending_accounts").await, 1);

    // Confirmed: an account of the victim's client, provisioned, and its link signs in.
    let html = app
        .press(
            &format!("/admin/servers/{server}/pending/{pending}/confirm"),
            &[],
        )
        .await;
    let flash = select(&html, ".flash-success").join(" ");
    assert!(
        flash.contains("“mallory” is now an account of “Victim Ltd”"),
        "{flash}"
    );
    assert!(select(&html, ".pending-row").is_empty());
    assert_eq!(client_of(&app, "mallory").await, Some(victim));
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(app.unfinished_jobs().await, 0);
    let fields = profile_fields(&sim, "mallory");
    let (status, body) = app.autologin("/sso/cpanel/profile", &fields).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url = body["redirect_url"].as_str().unwrap();
    assert!(url.contains("/sso/login?token="), "{url}");

    // Deciding again: it is no longer pending.
    let before = snapshot(&app).await;
    for action in ["confirm", "dismiss"] {
        let path = format!("/admin/servers/{server}/pending/{pending}/{action}");
        let r = app.post_form(&path, &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(snapshot(&app).await, before);
    app.finish().await;
}

#[tokio::test]
async fn a_dismissed_match_gets_a_client_of_its_own_and_its_links_sign_into_that_client() {
    let (app, sim, server, victim) = takeover_setup().await;
    app.enable("cpanel").await;
    import(&app, server).await;
    let pending = pending_id(&app, "mallory").await;

    let html = app
        .press(
            &format!("/admin/servers/{server}/pending/{pending}/dismiss"),
            &[],
        )
        .await;
    let flash = select(&html, ".flash-success").join(" ");
    assert!(
        flash.contains("has a client of its own, “mallory.test”"),
        "{flash}"
    );
    assert!(select(&html, ".pending-row").is_empty());
    let own = client_of(&app, "mallory").await.expect("imported");
    assert_ne!(own, victim);
    let (name, email): (String, Option<String>) =
        sqlx::query_as("select name, email from clients where id = $1")
            .bind(own)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((name.as_str(), email), ("mallory.test", None));
    let (_, page) = app.text(&format!("/admin/clients/{victim}")).await;
    assert!(select(&page, ".account-row").is_empty());

    app.wait_idle("cpanel").await;
    assert_eq!(app.unfinished_jobs().await, 0);
    let (status, body) = app
        .autologin("/sso/cpanel/profile", &profile_fields(&sim, "mallory"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let granted: i64 = sqlx::query_scalar("select client_id from sso_tokens")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(granted, own, "signed into its own client, not the victim's");
    app.finish().await;
}

#[tokio::test]
async fn confirm_all_attaches_every_pending_match_and_bad_or_stale_ids_change_nothing() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let acme = app.add_client("Acme", "boss@acme.example").await;
    // A match on one of a client's users, not the owner, counts too.
    let r = app
        .post_form(
            &format!("/admin/clients/{acme}/users"),
            &[
                ("name", "Billing"),
                ("email", "billing@acme.example"),
                ("sso_allowed", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let sim = start_sim(0, "cpanel", "11.134.0.5").await;
    sim_account(&sim, "acmeone", "acmeone.test", "boss@acme.example");
    sim_account(&sim, "acmetwo", "acmetwo.test", "Billing@Acme.Example");
    // Two new accounts sharing an e-mail: the client made for the first is no proof for the
    // second either.
    sim_account(&sim, "newone", "newone.test", "shared@new.example");
    sim_account(&sim, "newtwo", "newtwo.test", "shared@new.example");
    let server = app.add_server("cp1", &sim, "cpanel").await;
    let other = app.add_server("cp2", &sim, "cpanel").await;
    app.enable("cpanel").await;
    let html = import(&app, server).await;
    assert_eq!(
        select(&html, ".pending-row .pending-username"),
        vec!["acmeone", "acmetwo", "newtwo"]
    );
    assert_eq!(select(&html, ".pending-count"), vec!["(3)"]);
    assert_eq!(
        attr(&html, "#confirm-all-pending", "action").as_deref(),
        Some(format!("/admin/servers/{server}/pending/confirm-all").as_str())
    );

    // Refused, nothing changed: malformed ids, another server's path, an unknown server, no
    // CSRF token.
    let pending = pending_id(&app, "acmeone").await;
    let before = snapshot(&app).await;
    for path in [
        format!("/admin/servers/{server}/pending/abc/confirm"),
        format!("/admin/servers/{server}/pending/99999999999999999999/dismiss"),
        format!("/admin/servers/{other}/pending/{pending}/confirm"),
        format!("/admin/servers/{other}/pending/confirm-all"),
        format!("/admin/servers/0/pending/{pending}/confirm"),
        "/admin/servers/x/pending/confirm-all".to_string(),
    ] {
        let r = app.post_form(&path, &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = app
        .post_raw(&format!("/admin/servers/{server}/pending/confirm-all"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(snapshot(&app).await, before);

    let html = app
        .press(&format!("/admin/servers/{server}/pending/confirm-all"), &[])
        .await;
    let flash = select(&html, ".flash-success").join(" ");
    assert!(flash.contains("Confirmed 3 accounts"), "{flash}");
    assert!(select(&html, "#pending-matches").is_empty());
    assert_eq!(client_of(&app, "acmeone").await, Some(acme));
    assert_eq!(client_of(&app, "acmetwo").await, Some(acme));
    assert_eq!(
        client_of(&app, "newtwo").await,
        client_of(&app, "newone").await
    );
    app.wait_idle("cpanel").await;
    assert_eq!(app.unfinished_jobs().await, 0);
    let links = sim_links(&sim);
    for user in ["acmeone", "acmetwo", "newone", "newtwo"] {
        assert!(
            links[user].as_object().is_some_and(|l| !l.is_empty()),
            "{user} provisioned"
        );
    }

    let before = snapshot(&app).await;
    let r = app
        .post_form(&format!("/admin/servers/{server}/pending/confirm-all"), &[])
        .await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "nothing pending any more"
    );
    assert_eq!(snapshot(&app).await, before);
    app.finish().await;
}

#[tokio::test]
async fn the_import_command_lists_pending_matches_and_attaches_them_only_with_attach_matching() {
    use secrecy::ExposeSecret as _;
    let app = spawn_app().await;
    app.login_full_admin().await;
    let victim = app.add_client("Victim Ltd", VICTIM_EMAIL).await;
    let sim = start_sim(0, "cpanel", "11.134.0.5").await;
    sim_account(&sim, "mallory", "mallory.test", VICTIM_EMAIL);
    let server = app.add_server("cp1", &sim, "cpanel").await;
    // tokio's Command: the simulator answers on this test's runtime while the command runs.
    let run = async |attach: bool| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_applinks"));
        cmd.args(["server", "import", &server.to_string()]);
        if attach {
            cmd.arg("--attach-matching");
        }
        let out = cmd
            .env("DATABASE_URL", &app.db.url)
            .env("APPLINKS_SECRET_KEY", app.secret_key.expose_secret())
            .env("RUST_LOG", "warn")
            .output()
            .await
            .expect("run applinks server import");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };

    let out = run(false).await;
    assert!(
        out.contains(
            "pending: mallory (mallory.test, listed e-mail owner@victim.example) → client “Victim Ltd”"
        ),
        "{out}"
    );
    assert_eq!(client_of(&app, "mallory").await, None);

    let out = run(true).await;
    assert!(out.contains("attached: mallory (mallory.test"), "{out}");
    assert!(!out.contains("pending:"), "{out}");
    assert_eq!(client_of(&app, "mallory").await, Some(victim));
    assert_eq!(app.count("pending_accounts").await, 0);
    app.finish().await;
}

#[tokio::test]
async fn an_admin_without_configure_servers_gets_403_on_the_pending_routes_and_nothing_changes() {
    let (app, _sim, server, _victim) = takeover_setup().await;
    import(&app, server).await;
    let pending = pending_id(&app, "mallory").await;
    let r = app.post_form("/admin/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    app.login_restricted(&[
        Permission::ManageClients,
        Permission::ConfigureApplicationLinks,
    ])
    .await;

    let before = snapshot(&app).await;
    for path in [
        format!("/admin/servers/{server}/pending/{pending}/confirm"),
        format!("/admin/servers/{server}/pending/{pending}/dismiss"),
        format!("/admin/servers/{server}/pending/confirm-all"),
    ] {
        let r = app.post_form(&path, &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "POST {path}");
        let html = r.text().await.unwrap();
        assert_eq!(select(&html, ".error-page h1"), vec!["Access denied"]);
    }
    assert_eq!(snapshot(&app).await, before);
    assert_eq!(client_of(&app, "mallory").await, None);
    app.finish().await;
}

#[tokio::test]
async fn a_match_overtaken_by_an_account_added_by_hand_is_not_confirmed_and_dismissing_drops_it() {
    let (app, _sim, server, victim) = takeover_setup().await;
    import(&app, server).await;
    let pending = pending_id(&app, "mallory").await;
    // Meanwhile an admin adds a "mallory" account on that server by hand, to another client.
    let bystander = client_of(&app, "bystander").await.expect("imported");
    sqlx::query(
        "insert into accounts (client_id, server_id, username, domain) values ($1, $2, 'mallory', 'mallory.test')",
    )
    .bind(bystander)
    .bind(server)
    .execute(&app.pool)
    .await
    .unwrap();

    let before = snapshot(&app).await;
    let r = app
        .post_form(
            &format!("/admin/servers/{server}/pending/{pending}/confirm"),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert!(
        select(&html, ".error-page")
            .join(" ")
            .contains("dismiss this match"),
        "{html}"
    );
    let r = app
        .post_form(&format!("/admin/servers/{server}/pending/confirm-all"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(snapshot(&app).await, before, "nothing changed");
    assert_eq!(client_of(&app, "mallory").await, Some(bystander));

    let html = app
        .press(
            &format!("/admin/servers/{server}/pending/{pending}/dismiss"),
            &[],
        )
        .await;
    let flash = select(&html, ".flash-success").join(" ");
    assert!(flash.contains("was already in applinks"), "{flash}");
    assert!(select(&html, ".pending-row").is_empty());
    let (accounts, clients, pending_left, _) = snapshot(&app).await;
    assert_eq!((accounts, clients, pending_left), (before.0, before.1, 0));
    assert_ne!(client_of(&app, "mallory").await, Some(victim));
    app.finish().await;
}
