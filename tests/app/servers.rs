//! Servers admin (`/admin/servers`): add, validate, edit, test connection, import, remove,
//! permissions, and `applinks server add|import`; against the WHM simulator on loopback.

use applinks::cli::server::ServerAddArgs;
use applinks::config::SecretArgs;
use applinks::crypto::SecretBox;
use applinks::domain::permission::Permission;
use applinks::whm::sim::{self, SimConfig, SimHandle};
use applinks::whm::types::Account;
use reqwest::StatusCode;

use crate::helpers::{TestApp, location, select, spawn_app};

async fn spawn_sim(accounts: usize) -> SimHandle {
    sim::spawn(SimConfig {
        accounts,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// The add form's fields for a server on `127.0.0.1:port` over plain http (the simulator).
fn fields<'a>(name: &'a str, port: &'a str, token: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("hostname", "127.0.0.1"),
        ("port", port),
        ("module", "cpanel"),
        ("username", "root"),
        ("auth_kind", "token"),
        ("secret", token),
        ("verify_tls", "on"),
        ("enabled", "on"),
    ]
}

/// Replaces (or adds) one field.
fn with<'a>(
    mut fields: Vec<(&'a str, &'a str)>,
    key: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    fields.retain(|(k, _)| *k != key);
    fields.push((key, value));
    fields
}

/// Adds a server through the form; answers its id.
async fn add_server(app: &TestApp, fields: &[(&str, &str)]) -> i64 {
    let r = app.post_form("/admin/servers/new", fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "server added");
    let to = location(r.headers());
    to.strip_prefix("/admin/servers/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("redirected to the server's page, not {to}"))
}

async fn add_sim_server(app: &TestApp, sim: &SimHandle, name: &str) -> i64 {
    let port = sim.addr.port().to_string();
    add_server(app, &fields(name, &port, &sim.token)).await
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// POSTs a button's form and answers the page it redirects to.
async fn press(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> String {
    let r = app.post_form(path, fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
    let (status, html) = app.text(&location(r.headers())).await;
    assert_eq!(status, StatusCode::OK);
    html
}

#[tokio::test]
async fn an_added_server_is_listed_and_its_token_appears_in_no_page() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let token = "TOKEN0SECRET0VALUE0123456789ABCD";

    let (status, html) = app.text("/admin/servers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(select(&html, ".server-row").len(), 0);
    assert_eq!(
        select(&html, ".empty-state a[href='/admin/servers/new']").len(),
        1
    );

    let (_, form) = app.text("/admin/servers/new").await;
    assert_eq!(
        crate::helpers::attr(&form, "input[name=port]", "value").as_deref(),
        Some("2087")
    );
    assert_eq!(
        crate::helpers::attr(&form, "input[name=username]", "value").as_deref(),
        Some("root")
    );
    assert_eq!(select(&form, "input[name=use_tls][checked]").len(), 1);
    assert_eq!(select(&form, "input[name=verify_tls][checked]").len(), 1);

    let id = add_server(
        &app,
        &with(
            fields("WHM <one> & co", "2087", token),
            "hostname",
            "WHM1.Example.com",
        ),
    )
    .await;
    let (_, list) = app.text("/admin/servers").await;
    assert_eq!(
        select(&list, ".server-row .server-name"),
        vec!["WHM <one> & co"]
    );
    assert_eq!(
        select(&list, ".server-row .server-host"),
        vec!["whm1.example.com:2087"]
    );
    assert_eq!(select(&list, ".server-row .server-accounts"), vec!["0"]);

    let detail = format!("/admin/servers/{id}");
    let edit = format!("/admin/servers/{id}/edit");
    for path in ["/admin/servers", detail.as_str(), edit.as_str()] {
        let (status, html) = app.text(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!html.contains(token), "the token leaks on {path}");
    }
    let (_, edit_html) = app.text(&edit).await;
    assert_eq!(
        crate::helpers::attr(&edit_html, "input[name=secret]", "value"),
        None,
        "the secret field carries no value at all"
    );
    // A form that fails validation is not an exception.
    let r = app
        .post_form(&edit, &with(fields("x", "0", token), "name", "Renamed"))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!r.text().await.unwrap().contains(token));

    // Stored encrypted, not as typed.
    let stored: Vec<u8> = sqlx::query_scalar("select secret_ciphertext from servers")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains(token));
}

#[tokio::test]
async fn invalid_server_fields_answer_422_with_a_message_per_field_and_save_nothing() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let good = fields("Box", "2087", "tok");
    let long_name = "n".repeat(101);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("hostname", with(good.clone(), "hostname", "not a host!")),
        (
            "hostname",
            with(good.clone(), "hostname", "https://whm.example.com"),
        ),
        ("port", with(good.clone(), "port", "0")),
        ("port", with(good.clone(), "port", "65536")),
        ("port", with(good.clone(), "port", "http")),
        ("module", with(good.clone(), "module", "cpanel99")),
        ("name", with(good.clone(), "name", "   ")),
        ("name", with(good.clone(), "name", &long_name)),
        ("secret", with(good.clone(), "secret", "")),
        ("auth_kind", with(good.clone(), "auth_kind", "ssh-key")),
    ];
    for (field, form) in &cases {
        let r = app.post_form("/admin/servers/new", form).await;
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {form:?}"
        );
        let html = r.text().await.unwrap();
        let selector = format!(".field-error[data-field={field}]");
        assert_eq!(select(&html, &selector).len(), 1, "{field}: {form:?}");
        assert_eq!(
            select(&html, "form#server-form").len(),
            1,
            "the form is shown again"
        );
    }
    assert_eq!(count(&app, "servers").await, 0, "nothing saved");

    // The posted values come back, so nothing has to be typed twice.
    let r = app
        .post_form("/admin/servers/new", &with(good.clone(), "port", "99999"))
        .await;
    let html = r.text().await.unwrap();
    assert_eq!(
        crate::helpers::attr(&html, "input[name=name]", "value").as_deref(),
        Some("Box")
    );

    // Names are unique, whatever their case.
    add_server(&app, &good).await;
    let r = app
        .post_form("/admin/servers/new", &with(good.clone(), "name", "BOX"))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert_eq!(select(&html, ".field-error[data-field=name]").len(), 1);
    assert_eq!(count(&app, "servers").await, 1);
}

#[tokio::test]
async fn test_connection_stores_and_shows_the_version_the_simulator_reports() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = sim::spawn(SimConfig {
        accounts: 1,
        version: "11.126.0.9".into(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let id = add_sim_server(&app, &sim, "Sim").await;

    let html = press(&app, &format!("/admin/servers/{id}/test"), &[]).await;
    let flash = select(&html, ".flash-success").join(" ");
    assert!(flash.contains("11.126.0.9"), "{flash}");
    assert_eq!(
        select(&html, ".server-version")[0].split(' ').next(),
        Some("11.126.0.9")
    );
    let (_, list) = app.text("/admin/servers").await;
    assert_eq!(
        select(&list, ".server-row .server-version"),
        vec!["11.126.0.9"]
    );
    let stored: (Option<String>, bool) =
        sqlx::query_as("select version, version_checked_at is not null from servers where id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, (Some("11.126.0.9".to_string()), true));
}

#[tokio::test]
async fn editing_a_server_with_a_blank_token_keeps_the_stored_one() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = spawn_sim(1).await;
    let port = sim.addr.port().to_string();
    let id = add_sim_server(&app, &sim, "Sim").await;

    let edit = format!("/admin/servers/{id}/edit");
    let r = app
        .post_form(
            &edit,
            &with(fields("Sim renamed", &port, ""), "enabled", ""),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = press(&app, &format!("/admin/servers/{id}/test"), &[]).await;
    assert_eq!(select(&html, ".server-title"), vec!["Sim renamed"]);
    assert_eq!(select(&html, ".flash-error"), Vec::<String>::new());
    assert!(select(&html, ".flash-success")[0].contains(&sim.version));

    // A new token replaces it (and this one is wrong).
    let r = app
        .post_form(&edit, &fields("Sim renamed", &port, "not-the-token"))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = press(&app, &format!("/admin/servers/{id}/test"), &[]).await;
    assert_eq!(select(&html, ".flash-error").len(), 1);

    // Switching to password authentication needs the password.
    let r = app
        .post_form(
            &edit,
            &with(fields("Sim renamed", &port, ""), "auth_kind", "password"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert_eq!(select(&html, ".field-error[data-field=secret]").len(), 1);
}

#[tokio::test]
async fn password_authentication_reaches_the_simulator_too() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = spawn_sim(1).await;
    let port = sim.addr.port().to_string();
    let id = add_server(
        &app,
        &with(fields("Sim", &port, &sim.token), "auth_kind", "password"),
    )
    .await;
    let html = press(&app, &format!("/admin/servers/{id}/test"), &[]).await;
    assert!(select(&html, ".flash-success")[0].contains(&sim.version));
}

#[tokio::test]
async fn a_wrong_token_is_reported_as_access_denied() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = spawn_sim(1).await;
    let port = sim.addr.port().to_string();
    let id = add_server(&app, &fields("Sim", &port, "WRONGTOKEN")).await;

    let html = press(&app, &format!("/admin/servers/{id}/test"), &[]).await;
    let flash = select(&html, ".flash-error").join(" ");
    assert!(flash.to_lowercase().contains("access denied"), "{flash}");
    assert!(!flash.contains("WRONGTOKEN"));
    let version: Option<String> = sqlx::query_scalar("select version from servers")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(version, None, "no version without an answer");
}

#[tokio::test]
async fn a_closed_port_is_reported_as_connection_refused() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let port = port.to_string();
    let id = add_server(&app, &fields("Nothing here", &port, "tok")).await;

    let html = press(&app, &format!("/admin/servers/{id}/test"), &[]).await;
    let flash = select(&html, ".flash-error").join(" ");
    assert!(flash.contains("refused"), "{flash}");
}

#[tokio::test]
async fn a_server_with_accounts_is_removed_only_when_the_removal_is_confirmed() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = spawn_sim(3).await;
    let id = add_sim_server(&app, &sim, "Sim").await;
    press(&app, &format!("/admin/servers/{id}/import"), &[]).await;
    assert_eq!(count(&app, "accounts").await, 3);

    let delete = format!("/admin/servers/{id}/delete");
    let html = press(&app, &delete, &[]).await;
    let flash = select(&html, ".flash-error").join(" ");
    assert!(flash.contains("3 accounts"), "{flash}");
    assert_eq!(select(&html, "#remove-server input[name=confirm]").len(), 1);
    assert_eq!(count(&app, "servers").await, 1, "refused");
    assert_eq!(count(&app, "accounts").await, 3);

    let html = press(&app, &delete, &[("confirm", "on")]).await;
    assert_eq!(select(&html, ".flash-success").len(), 1);
    assert_eq!(count(&app, "servers").await, 0);
    assert_eq!(count(&app, "accounts").await, 0);
    assert_eq!(count(&app, "clients").await, 3, "clients stay");
    assert_eq!(
        app.get(&format!("/admin/servers/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );

    // A server without accounts goes without asking.
    let other = add_sim_server(&app, &sim, "Empty").await;
    press(&app, &format!("/admin/servers/{other}/delete"), &[]).await;
    assert_eq!(count(&app, "servers").await, 0);
}

#[tokio::test]
async fn importing_fifty_accounts_creates_fifty_clients_and_importing_again_skips_them_all() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = spawn_sim(50).await;
    let id = add_sim_server(&app, &sim, "Sim").await;
    let import = format!("/admin/servers/{id}/import");

    let html = press(&app, &import, &[]).await;
    let flash = select(&html, ".flash-success").join(" ");
    assert!(flash.contains("created 50 clients"), "{flash}");
    assert!(flash.contains("created 50 accounts"), "{flash}");
    assert!(flash.contains("skipped 0"), "{flash}");
    assert_eq!(count(&app, "clients").await, 50);
    assert_eq!(count(&app, "client_users").await, 50, "an owner each");
    assert_eq!(count(&app, "accounts").await, 50);
    assert_eq!(select(&html, ".account-row").len(), 50);
    assert_eq!(select(&html, ".account-count"), vec!["(50)"]);
    let first: (String, String, String, String) = sqlx::query_as(
        "select c.name, c.email, a.domain, a.status from accounts a
         join clients c on c.id = a.client_id where a.username = 'user0001'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        first,
        (
            "user0001.example.test".into(),
            "owner0001@example.test".into(),
            "user0001.example.test".into(),
            "active".into()
        )
    );

    let html = press(&app, &import, &[]).await;
    let flash = select(&html, ".flash-success").join(" ");
    assert!(flash.contains("created 0 clients"), "{flash}");
    assert!(flash.contains("created 0 accounts"), "{flash}");
    assert!(flash.contains("skipped 50"), "{flash}");
    let reasons = select(&html, ".flash-info").join(" ");
    assert!(reasons.contains("50 already in applinks"), "{reasons}");
    assert_eq!(count(&app, "clients").await, 50);
    assert_eq!(count(&app, "accounts").await, 50);
}

#[tokio::test]
async fn import_matches_clients_by_email_whatever_the_case_but_only_as_pending_and_keeps_suspensions()
 {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = spawn_sim(2).await;
    sim.add_account(Account {
        user: "second".into(),
        domain: "second.example.test".into(),
        email: "owner0002@example.test".into(),
        suspended: true,
    });
    sim.add_account(Account {
        user: "noemail".into(),
        domain: "noemail.example.test".into(),
        email: String::new(),
        suspended: false,
    });
    let r = app
        .post_form(
            "/admin/clients/new",
            &[
                ("name", "Existing Ltd"),
                ("email", "OWNER0001@Example.Test"),
                ("allow_sso", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let id = add_sim_server(&app, &sim, "Sim").await;

    let html = press(&app, &format!("/admin/servers/{id}/import"), &[]).await;
    let flash = select(&html, ".flash-success").join(" ");
    assert!(
        flash.contains("created 2 clients (1 without an e-mail)"),
        "{flash}"
    );
    assert!(flash.contains("created 2 accounts"), "{flash}");
    assert!(
        flash.contains("2 matching an existing client wait for confirmation"),
        "{flash}"
    );
    assert!(flash.contains("skipped 0"), "{flash}");

    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "select a.username, c.name, a.status from accounts a join clients c on c.id = a.client_id
         order by a.username",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    // `second` and `user0002` share an e-mail: the first the server lists gets a client
    // (named after its domain), the other waits for an admin to confirm that it belongs
    // there too, like `user0001`, which names an existing client's e-mail (issue 8).
    // `noemail` has a client of its own.
    assert_eq!(
        rows,
        vec![
            (
                "noemail".into(),
                "noemail.example.test".into(),
                "active".into()
            ),
            (
                "second".into(),
                "second.example.test".into(),
                "suspended".into()
            ),
        ]
    );
    assert_eq!(
        select(&html, ".pending-row .pending-username"),
        vec!["user0001", "user0002"]
    );
    assert_eq!(
        select(&html, ".pending-row .pending-client"),
        vec!["Existing Ltd", "second.example.test"]
    );
}

/// The client each of `users` was imported under: (user, client id, client name, client
/// e-mail, owner user's e-mail), by username.
async fn clients_of(app: &TestApp) -> Vec<(String, i64, String, Option<String>, Option<String>)> {
    sqlx::query_as(
        "select a.username, c.id, c.name, c.email, u.email from accounts a
         join clients c on c.id = a.client_id
         join client_users u on u.client_id = c.id and u.is_owner
         order by a.username",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// Adds an account to the simulator through its control endpoint, as a test harness would.
async fn sim_account(sim: &SimHandle, user: &str, domain: &str, email: &str) {
    let r = crate::helpers::client()
        .post(format!("{}/__sim/accounts", sim.url))
        .json(&serde_json::json!({ "user": user, "domain": domain, "email": email }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{user}");
}

#[tokio::test]
async fn a_comma_separated_email_is_read_as_its_first_usable_address() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = spawn_sim(0).await;
    sim_account(
        &sim,
        "multi",
        "multi.test",
        "Lead@Multi.Test, billing@other.test",
    )
    .await;
    sim_account(&sim, "known", "known.test", " jane@acme.example ,x@y.test").await;
    sim_account(
        &sim,
        "badfirst",
        "badfirst.test",
        "*unknown*, second@first.test",
    )
    .await;
    // The second address of a list is not the account's: no match on it.
    sim_account(
        &sim,
        "second",
        "second.test",
        "nobody@none.test, jane@acme.example",
    )
    .await;
    let r = app
        .post_form(
            "/admin/clients/new",
            &[("name", "Acme"), ("email", "JANE@acme.example")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let id = add_sim_server(&app, &sim, "Sim").await;

    let html = press(&app, &format!("/admin/servers/{id}/import"), &[]).await;
    let flash = select(&html, ".flash-success").join(" ");
    assert!(flash.contains("created 3 clients,"), "{flash}");
    assert!(flash.contains("created 3 accounts"), "{flash}");
    assert!(
        flash.contains("1 matching an existing client wait for confirmation"),
        "{flash}"
    );
    // Read as its first address, `known` matches Acme: pending, not attached (issue 8).
    assert_eq!(
        select(&html, ".pending-row .pending-username"),
        vec!["known"]
    );
    assert_eq!(
        select(&html, ".pending-row .pending-email"),
        vec!["jane@acme.example"]
    );
    assert_eq!(select(&html, ".pending-row .pending-client"), vec!["Acme"]);
    let rows: Vec<_> = clients_of(&app)
        .await
        .into_iter()
        .map(|(user, _, name, email, owner)| (user, name, email, owner))
        .collect();
    let some = |s: &str| Some(s.to_string());
    assert_eq!(
        rows,
        vec![
            (
                "badfirst".into(),
                "badfirst.test".into(),
                some("second@first.test"),
                some("second@first.test")
            ),
            (
                "multi".into(),
                "multi.test".into(),
                some("Lead@multi.test"),
                some("Lead@multi.test")
            ),
            (
                "second".into(),
                "second.test".into(),
                some("nobody@none.test"),
                some("nobody@none.test")
            ),
        ]
    );
}

#[tokio::test]
async fn accounts_listed_without_an_email_each_get_a_client_of_their_own_and_reimporting_changes_nothing()
 {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = spawn_sim(0).await;
    for (user, domain, email) in [
        ("unknown1", "unknown1.test", "*unknown*"),
        ("unknown2", "unknown2.test", "*unknown*"),
        ("empty", "empty.test", ""),
        ("nodomain", "", "*unknown*"),
        ("garbled", "garbled.test", "not an e-mail, neither"),
    ] {
        sim.add_account(Account {
            user: user.into(),
            domain: domain.into(),
            email: email.into(),
            suspended: false,
        });
    }
    // A client that has no e-mail either: nothing ties these accounts to it.
    let r = app
        .post_form(
            "/admin/clients/new",
            &[("name", "Mailless Ltd"), ("email", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let id = add_sim_server(&app, &sim, "Sim").await;
    let import = format!("/admin/servers/{id}/import");

    let html = press(&app, &import, &[]).await;
    let flash = select(&html, ".flash-success").join(" ");
    assert!(
        flash.contains("created 5 clients (5 without an e-mail)"),
        "{flash}"
    );
    assert!(flash.contains("created 5 accounts, skipped 0"), "{flash}");
    assert_eq!(count(&app, "pending_accounts").await, 0, "nothing matched");
    let rows = clients_of(&app).await;
    let names: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "empty.test",
            "garbled.test",
            "nodomain",
            "unknown1.test",
            "unknown2.test"
        ]
    );
    let mut ids: Vec<i64> = rows.iter().map(|r| r.1).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 5, "a client each");
    assert!(
        rows.iter().all(|r| r.3.is_none() && r.4.is_none()),
        "{rows:?}"
    );
    assert_eq!(count(&app, "clients").await, 6);

    let (_, page) = app.text(&format!("/admin/clients/{}", rows[0].1)).await;
    assert_eq!(
        select(&page, ".client-details .client-email"),
        vec!["no e-mail"]
    );
    assert_eq!(
        select(&page, ".account-row .account-username"),
        vec!["empty"]
    );

    let html = press(&app, &import, &[]).await;
    let flash = select(&html, ".flash-success").join(" ");
    assert!(flash.contains("created 0 clients,"), "{flash}");
    assert!(flash.contains("created 0 accounts, skipped 5"), "{flash}");
    assert_eq!(clients_of(&app).await, rows, "nothing changed");
    assert_eq!(count(&app, "clients").await, 6);
    assert_eq!(count(&app, "client_users").await, 6);
}

#[tokio::test]
async fn accounts_with_fields_applinks_cannot_store_are_named_and_the_rest_is_imported() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = spawn_sim(1).await;
    // A valid host name longer than a client name may be (200 characters).
    let long_host = format!(
        "{}.{}.{}.{}.test",
        "a".repeat(60),
        "b".repeat(60),
        "c".repeat(60),
        "d".repeat(40)
    );
    let absurd_domain = format!("{}.test", "x".repeat(300));
    let absurd_user = format!("u{}", "x".repeat(299));
    for (user, domain, email) in [
        ("longdomain", absurd_domain.as_str(), "l@long.test"),
        ("ctrl", "ctrl\u{7}.test", "c@ctrl.test"),
        ("nul\u{0}user", "nul.test", "n@nul.test"),
        (absurd_user.as_str(), "absurd.test", "a@absurd.test"),
        ("bell", "bell.test", "b\u{7}ell@bell.test"),
        ("longhost", long_host.as_str(), "h@host.test"),
    ] {
        sim.add_account(Account {
            user: user.into(),
            domain: domain.into(),
            email: email.into(),
            suspended: false,
        });
    }
    let id = add_sim_server(&app, &sim, "Sim").await;

    let html = press(&app, &format!("/admin/servers/{id}/import"), &[]).await;
    let flash = select(&html, ".flash-success").join(" ");
    assert!(
        flash.contains("created 3 clients (1 without an e-mail)"),
        "{flash}"
    );
    assert!(flash.contains("created 3 accounts, skipped 4"), "{flash}");
    let reasons = select(&html, ".flash-info").join(" ");
    assert!(
        reasons.contains("2 with a username cPanel does not allow"),
        "{reasons}"
    );
    // Named, but shortened and without the control characters the server sent.
    let shortened = format!("u{}…", "x".repeat(39));
    assert!(
        reasons.contains(&format!("(nul\u{fffd}user, {shortened})")),
        "{reasons}"
    );
    assert!(
        reasons.contains("2 with a domain that is not a valid host name (ctrl, longdomain)"),
        "{reasons}"
    );
    let rows: Vec<_> = clients_of(&app)
        .await
        .into_iter()
        .map(|(user, _, name, email, _)| (user, name, email))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("bell".into(), "bell.test".into(), None),
            (
                "longhost".into(),
                "longhost".into(),
                Some("h@host.test".into())
            ),
            (
                "user0001".into(),
                "user0001.example.test".into(),
                Some("owner0001@example.test".into())
            ),
        ]
    );
}

#[tokio::test]
async fn an_import_from_an_unreachable_server_changes_nothing_and_says_why() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = spawn_sim(5).await;
    let port = sim.addr.port().to_string();
    let id = add_server(&app, &fields("Sim", &port, "WRONG")).await;
    let html = press(&app, &format!("/admin/servers/{id}/import"), &[]).await;
    let flash = select(&html, ".flash-error").join(" ");
    assert!(flash.to_lowercase().contains("access denied"), "{flash}");
    assert_eq!(count(&app, "accounts").await, 0);
    assert_eq!(count(&app, "clients").await, 0);
}

#[tokio::test]
async fn an_admin_without_configure_servers_gets_403_on_every_servers_route() {
    let app = spawn_app().await;
    let sim = spawn_sim(1).await;
    // A server to aim at, stored directly.
    let id: i64 = sqlx::query_scalar(
        "insert into servers (name, hostname, port, module, secret_ciphertext)
         values ('Sim', '127.0.0.1', $1, 'cpanel', '\\x00') returning id",
    )
    .bind(i32::from(sim.addr.port()))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    app.login_restricted(&[Permission::ManageClients]).await;

    let (_, home) = app.text("/admin").await;
    assert!(!select(&home, "nav.mainnav a").contains(&"Servers".to_string()));
    for path in [
        "/admin/servers".to_string(),
        "/admin/servers/new".to_string(),
        format!("/admin/servers/{id}"),
        format!("/admin/servers/{id}/edit"),
        "/admin/servers/no-such-page".to_string(),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "GET {path}");
    }
    let good = fields("Other", "2087", "tok");
    for path in [
        "/admin/servers/new".to_string(),
        format!("/admin/servers/{id}/edit"),
        format!("/admin/servers/{id}/test"),
        format!("/admin/servers/{id}/import"),
        format!("/admin/servers/{id}/delete"),
    ] {
        let r = app
            .post_form(&path, &with(good.clone(), "confirm", "on"))
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "POST {path}");
        let html = r.text().await.unwrap();
        assert_eq!(select(&html, ".error-page h1"), vec!["Access denied"]);
    }
    assert_eq!(sim.calls("version") + sim.calls("listaccts"), 0);
    let names: Vec<String> = sqlx::query_scalar("select name from servers")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(names, vec!["Sim"], "nothing changed");
}

#[tokio::test]
async fn the_server_cli_validates_like_the_form_and_imports_like_the_page() {
    let app = spawn_app().await;
    let sim = spawn_sim(4).await;
    let secrets = SecretBox::from_base64(Some(&SecretBox::generate_key())).unwrap();
    let args = ServerAddArgs {
        secret: SecretArgs { secret_key: None },
        name: "From the CLI".into(),
        host: "127.0.0.1".into(),
        port: sim.addr.port().to_string(),
        module: "cpanel".into(),
        username: "root".into(),
        auth: "token".into(),
        no_tls: true,
        insecure_skip_verify: false,
        disabled: false,
        token_stdin: true,
    };
    let bad = ServerAddArgs {
        port: "0".into(),
        module: "nope".into(),
        ..args.clone()
    };
    let err = applinks::cli::server::add(&app.pool, &secrets, &bad, "tok")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("--port") && err.contains("--module"), "{err}");
    let err = applinks::cli::server::add(&app.pool, &secrets, &args, "\n")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("standard input"), "{err}");
    assert_eq!(count(&app, "servers").await, 0);

    let stdin = format!("{}\n", sim.token);
    let id = applinks::cli::server::add(&app.pool, &secrets, &args, &stdin)
        .await
        .unwrap();
    let stored: (bool, bool, i32) =
        sqlx::query_as("select use_tls, verify_tls, port from servers where id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, (false, true, i32::from(sim.addr.port())));

    let whm = applinks::whm::WhmClient::new(applinks::whm::ClientSettings::default());
    let summary = applinks::cli::server::import(&app.pool, &whm, &secrets, id)
        .await
        .unwrap();
    assert_eq!(
        (
            summary.clients_created,
            summary.accounts_created.len(),
            summary.skipped_total()
        ),
        (4, 4, 0)
    );
    let again = applinks::cli::server::import(&app.pool, &whm, &secrets, id)
        .await
        .unwrap();
    assert_eq!(
        (again.accounts_created.len(), again.skipped_total()),
        (0, 4)
    );
}

#[tokio::test]
async fn the_owner_of_a_client_imported_without_an_email_can_use_the_client_area() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = spawn_sim(0).await;
    sim_account(&sim, "anon", "anon.test", "*unknown*").await;
    let id = add_sim_server(&app, &sim, "Sim").await;
    press(&app, &format!("/admin/servers/{id}/import"), &[]).await;

    // The one-time token `/sso/cpanel` would hand out, stored directly (by its SHA-256):
    // what matters here is the client area with an owner that has no e-mail.
    let token = "a-test-token";
    let hash = <sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()).to_vec();
    sqlx::query(
        "insert into sso_tokens (token_hash, client_id, client_user_id, account_id, destination, expires_at)
         select $1, a.client_id, u.id, a.id, '/client/upgrade', now() + interval '1 minute'
         from accounts a join client_users u on u.client_id = a.client_id and u.is_owner
         where a.username = 'anon'",
    )
    .bind(hash)
    .execute(&app.pool)
    .await
    .unwrap();
    let r = app.get(&format!("/sso/login?token={token}")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (status, page) = app.text(&location(r.headers())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(select(&page, ".client-name"), vec!["anon.test"]);
    assert_eq!(select(&page, ".client-email"), vec!["no e-mail"]);
}
