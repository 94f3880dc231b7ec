//! Clients admin (`/admin/clients`): clients with *Allow Single Sign-On*, their users and SSO
//! permissions, accounts added by hand and their status; validation and permissions.

use applinks::domain::permission::Permission;
use reqwest::StatusCode;

use crate::helpers::{TestApp, attr, location, select, spawn_app};

#[tokio::test]
async fn a_client_is_added_with_its_owner_listed_and_edited() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let (_, html) = app.text("/admin/clients").await;
    assert_eq!(select(&html, ".client-row").len(), 0);
    let (_, form) = app.text("/admin/clients/new").await;
    assert_eq!(select(&form, "input[name=allow_sso][checked]").len(), 1);

    let id = app.add_client("Acme <Hosting>", "jane@acme.example").await;
    let (_, list) = app.text("/admin/clients").await;
    assert_eq!(
        select(&list, ".client-row .client-name"),
        vec!["Acme <Hosting>"]
    );
    assert_eq!(
        select(&list, ".client-row .client-email"),
        vec!["jane@acme.example"]
    );
    assert_eq!(select(&list, ".client-row .client-sso"), vec!["Allowed"]);
    assert_eq!(select(&list, ".client-row .client-accounts"), vec!["0"]);

    let (_, page) = app.text(&format!("/admin/clients/{id}")).await;
    assert_eq!(select(&page, ".user-row .user-role"), vec!["Owner"]);
    assert_eq!(
        select(&page, ".user-row .user-email"),
        vec!["jane@acme.example"]
    );

    // Unticked box: SSO off; the owner's e-mail follows the client's.
    let r = app
        .post_form(
            &format!("/admin/clients/{id}/edit"),
            &[("name", "Acme"), ("email", "ops@acme.example")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, list) = app.text("/admin/clients").await;
    assert_eq!(
        select(&list, ".client-row .client-sso"),
        vec!["Not allowed"]
    );
    let (_, page) = app.text(&format!("/admin/clients/{id}")).await;
    assert_eq!(select(&page, ".client-title"), vec!["Acme"]);
    assert_eq!(
        select(&page, ".user-row .user-email"),
        vec!["ops@acme.example"]
    );
    let (_, edit) = app.text(&format!("/admin/clients/{id}/edit")).await;
    assert_eq!(select(&edit, "input[name=allow_sso][checked]").len(), 0);
    app.finish().await;
}

#[tokio::test]
async fn client_forms_refuse_bad_input_with_422_and_save_nothing() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    for (field, name, email) in [
        ("email", "Acme", "not-an-email"),
        ("email", "Acme", "jane@localhost"),
        ("email", "Acme", "jane@acme.example, ops@acme.example"),
        ("name", "  ", "jane@acme.example"),
    ] {
        let r = app
            .post_form("/admin/clients/new", &[("name", name), ("email", email)])
            .await;
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name} {email}"
        );
        let html = r.text().await.unwrap();
        let selector = format!(".field-error[data-field={field}]");
        assert_eq!(select(&html, &selector).len(), 1, "{name} {email}");
    }
    assert_eq!(app.count("clients").await, 0);

    // One client per e-mail, whatever the case.
    let id = app.add_client("Acme", "jane@acme.example").await;
    let r = app
        .post_form(
            "/admin/clients/new",
            &[("name", "Other"), ("email", "JANE@acme.example")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert_eq!(select(&html, ".field-error[data-field=email]").len(), 1);
    assert_eq!(
        attr(&html, "input[name=name]", "value").as_deref(),
        Some("Other")
    );
    let r = app
        .post_form(
            &format!("/admin/clients/{id}/edit"),
            &[("name", "Acme"), ("email", "bad@")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("clients").await, 1);
    let email: String = sqlx::query_scalar("select email from clients")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(email, "jane@acme.example");
    app.finish().await;
}

/// The stored e-mails of a client and of its owner user, NULL as `None`.
async fn stored_emails(app: &TestApp, id: i64) -> (Option<String>, Option<String>) {
    sqlx::query_as(
        "select c.email, u.email from clients c
         join client_users u on u.client_id = c.id and u.is_owner where c.id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_client_without_an_email_is_saved_shown_as_no_email_and_others_can_be_too() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let (_, form) = app.text("/admin/clients/new").await;
    assert_eq!(select(&form, "input[name=email][required]").len(), 0);

    let first = app.add_client("No Mail One", "").await;
    let second = app.add_client("No Mail Two", "   ").await;
    assert_eq!(
        stored_emails(&app, first).await,
        (None, None),
        "NULL, never ''"
    );
    assert_eq!(stored_emails(&app, second).await, (None, None));

    let (_, list) = app.text("/admin/clients").await;
    assert_eq!(
        select(&list, ".client-row .client-email .no-email"),
        vec!["no e-mail", "no e-mail"]
    );
    let (_, page) = app.text(&format!("/admin/clients/{first}")).await;
    assert_eq!(
        select(&page, ".client-details .client-email"),
        vec!["no e-mail"]
    );
    assert_eq!(select(&page, ".user-row .user-email"), vec!["no e-mail"]);
    let (_, edit) = app.text(&format!("/admin/clients/{first}/edit")).await;
    assert_eq!(
        attr(&edit, "input[name=email]", "value").as_deref(),
        Some("")
    );

    // Given an e-mail, it is unique again: the other one cannot take it.
    let html = app
        .press(
            &format!("/admin/clients/{first}/edit"),
            &[("name", "No Mail One"), ("email", "one@acme.example")],
        )
        .await;
    assert_eq!(
        select(&html, ".client-details .client-email"),
        vec!["one@acme.example"]
    );
    let r = app
        .post_form(
            &format!("/admin/clients/{second}/edit"),
            &[("name", "No Mail Two"), ("email", "ONE@acme.example")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert_eq!(select(&html, ".field-error[data-field=email]").len(), 1);
    assert_eq!(stored_emails(&app, second).await, (None, None));

    // And taken away again, from the owner user too.
    app.press(
        &format!("/admin/clients/{first}/edit"),
        &[("name", "No Mail One"), ("email", "")],
    )
    .await;
    assert_eq!(stored_emails(&app, first).await, (None, None));
    assert_eq!(app.count("clients").await, 2);
    app.finish().await;
}

#[tokio::test]
async fn users_are_added_and_their_sso_permission_toggles() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let id = app.add_client("Acme", "jane@acme.example").await;
    let users = format!("/admin/clients/{id}/users");

    let html = app
        .press(&users, &[("name", "Bob"), ("email", "bob@acme.example")])
        .await;
    assert_eq!(select(&html, ".user-row .user-name"), vec!["Acme", "Bob"]);
    assert_eq!(select(&html, ".user-row .user-role"), vec!["Owner", "User"]);
    assert_eq!(
        select(&html, ".user-row .user-sso"),
        vec!["Allowed", "Not allowed"],
        "the box was not ticked"
    );

    for (field, name, email) in [
        ("user_email", "Carol", "carol"),
        ("user_name", "", "carol@acme.example"),
        ("user_email", "Bobby", "BOB@acme.example"),
    ] {
        let r = app
            .post_form(
                &users,
                &[("name", name), ("email", email), ("sso_allowed", "on")],
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name} {email}"
        );
        let html = r.text().await.unwrap();
        let selector = format!("#add-user .field-error[data-field={field}]");
        assert_eq!(select(&html, &selector).len(), 1, "{name} {email}");
    }
    assert_eq!(app.count("client_users").await, 2);

    let bob: i64 = sqlx::query_scalar("select id from client_users where name = 'Bob'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let toggle = format!("/admin/clients/{id}/users/{bob}/sso");
    let html = app.press(&toggle, &[("sso_allowed", "1")]).await;
    let bob_row = format!(".user-row[data-id='{bob}'] .user-sso");
    assert_eq!(select(&html, &bob_row), vec!["Allowed"]);
    let button = format!(".user-row[data-id='{bob}'] .sso-toggle input[name=sso_allowed]");
    assert_eq!(attr(&html, &button, "value").as_deref(), Some("0"));
    let html = app.press(&toggle, &[("sso_allowed", "0")]).await;
    assert_eq!(select(&html, &bob_row), vec!["Not allowed"]);

    // Another client's user cannot be reached through this client.
    let other = app.add_client("Other", "x@other.example").await;
    let r = app
        .post_form(
            &format!("/admin/clients/{other}/users/{bob}/sso"),
            &[("sso_allowed", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.finish().await;
}

#[tokio::test]
async fn accounts_are_added_by_hand_unique_per_server_and_change_status() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let id = app.add_client("Acme", "jane@acme.example").await;
    let (_, page) = app.text(&format!("/admin/clients/{id}")).await;
    assert_eq!(select(&page, "#add-account").len(), 0, "no server yet");
    let one = app.insert_server("One").await;
    let two = app.insert_server("Two").await;
    let (one, two) = (one.to_string(), two.to_string());
    let accounts = format!("/admin/clients/{id}/accounts");

    let html = app
        .press(
            &accounts,
            &[
                ("server_id", &one),
                ("username", "Acme01"),
                ("domain", "acme.example"),
                ("status", "active"),
            ],
        )
        .await;
    assert_eq!(
        select(&html, ".account-row .account-username"),
        vec!["acme01"]
    );
    assert_eq!(select(&html, ".account-row .account-server"), vec!["One"]);
    // The same username on another server is another account.
    app.press(
        &accounts,
        &[
            ("server_id", &two),
            ("username", "acme01"),
            ("status", "suspended"),
        ],
    )
    .await;

    for (field, fields) in [
        (
            "username",
            vec![
                ("server_id", one.as_str()),
                ("username", "acme01"),
                ("status", "active"),
            ],
        ),
        (
            "username",
            vec![
                ("server_id", one.as_str()),
                ("username", "9lives"),
                ("status", "active"),
            ],
        ),
        (
            "domain",
            vec![
                ("server_id", one.as_str()),
                ("username", "b"),
                ("domain", "no such domain"),
                ("status", "active"),
            ],
        ),
        (
            "status",
            vec![
                ("server_id", one.as_str()),
                ("username", "c"),
                ("status", "deleted"),
            ],
        ),
        (
            "server_id",
            vec![
                ("server_id", "999999"),
                ("username", "d"),
                ("status", "active"),
            ],
        ),
    ] {
        let r = app.post_form(&accounts, &fields).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let html = r.text().await.unwrap();
        let selector = format!("#add-account .field-error[data-field={field}]");
        assert_eq!(select(&html, &selector).len(), 1, "{fields:?}");
    }
    assert_eq!(app.count("accounts").await, 2);

    let account: i64 = sqlx::query_scalar("select id from accounts where server_id = $1")
        .bind(one.parse::<i64>().unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let status = format!("/admin/clients/{id}/accounts/{account}/status");
    let row = format!(".account-row[data-id='{account}'] .account-status");
    for next in ["suspended", "terminated", "active"] {
        let html = app.press(&status, &[("status", next)]).await;
        assert_eq!(select(&html, &row), vec![next]);
    }
    let r = app.post_form(&status, &[("status", "gone")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert_eq!(
        select(&html, ".field-error[data-field=status_change]").len(),
        1
    );
    let (_, list) = app.text("/admin/clients").await;
    assert_eq!(select(&list, ".client-row .client-accounts"), vec!["2"]);
    app.finish().await;
}

#[tokio::test]
async fn an_admin_without_manage_clients_gets_403_on_every_clients_route() {
    let app = spawn_app().await;
    let client: i64 = sqlx::query_scalar(
        "insert into clients (name, email) values ('Acme', 'jane@acme.example') returning id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    app.login_restricted(&[Permission::ConfigureServers]).await;
    let (_, home) = app.text("/admin").await;
    assert!(!select(&home, "nav.mainnav a").contains(&"Clients".to_string()));
    assert_eq!(app.get("/admin/servers").await.status(), StatusCode::OK);

    for path in [
        "/admin/clients".to_string(),
        "/admin/clients/new".to_string(),
        format!("/admin/clients/{client}"),
        format!("/admin/clients/{client}/edit"),
    ] {
        assert_eq!(
            app.get(&path).await.status(),
            StatusCode::FORBIDDEN,
            "GET {path}"
        );
    }
    for path in [
        "/admin/clients/new".to_string(),
        format!("/admin/clients/{client}/edit"),
        format!("/admin/clients/{client}/users"),
        format!("/admin/clients/{client}/users/1/sso"),
        format!("/admin/clients/{client}/sso"),
        format!("/admin/clients/{client}/accounts"),
        format!("/admin/clients/{client}/accounts/1/status"),
    ] {
        let r = app
            .post_form(
                &path,
                &[
                    ("name", "Evil"),
                    ("email", "evil@example.com"),
                    ("sso_allowed", "1"),
                    ("allow_sso", "0"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    let names: Vec<String> = sqlx::query_scalar("select name from clients")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(names, vec!["Acme"]);
    assert_eq!(app.count("client_users").await, 0);
    assert_eq!(
        app.count("clients where allow_sso").await,
        1,
        "SSO unchanged"
    );
    app.finish().await;
}

#[tokio::test]
async fn client_posts_without_a_csrf_token_change_nothing() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let r = app
        .post_raw(
            "/admin/clients/new",
            &[("name", "Acme"), ("email", "jane@acme.example")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("clients").await, 0);
    app.finish().await;
}

async fn client_allows_sso(app: &TestApp, id: i64) -> bool {
    sqlx::query_scalar("select allow_sso from clients where id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Presses the client-wide SSO button on the client's page as a browser would (its action and
/// hidden fields); answers the response.
async fn press_client_sso_button(app: &TestApp, id: i64, label: &str) -> reqwest::Response {
    let (_, page) = app.text(&format!("/admin/clients/{id}")).await;
    let form = "form.client-sso-toggle";
    assert_eq!(select(&page, &format!("{form} button")), vec![label]);
    let action = attr(&page, form, "action").unwrap();
    assert_eq!(action, format!("/admin/clients/{id}/sso"));
    let value = attr(&page, &format!("{form} input[name=allow_sso]"), "value").unwrap();
    let token = attr(&page, &format!("{form} input[name=csrf_token]"), "value").unwrap();
    app.post_raw(&action, &[("allow_sso", &value), ("csrf_token", &token)])
        .await
}

#[tokio::test]
async fn the_sso_button_on_the_client_page_switches_single_sign_on_off_and_on_for_the_client() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let id = app.add_client("Acme <Hosting>", "jane@acme.example").await;
    let other = app.add_client("Other", "other@example.test").await;
    let page = format!("/admin/clients/{id}");

    let r = press_client_sso_button(&app, id, "Disallow SSO").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(r.headers()), page);
    assert!(!client_allows_sso(&app, id).await);
    assert!(client_allows_sso(&app, other).await, "only this client");
    let (_, html) = app.text(&page).await;
    assert_eq!(select(&html, ".client-sso"), vec!["Not allowed"]);
    assert_eq!(
        select(&html, ".flash-success"),
        vec!["Single sign-on switched off for “Acme <Hosting>”."]
    );

    let r = press_client_sso_button(&app, id, "Allow SSO").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(client_allows_sso(&app, id).await);
    let (_, html) = app.text(&page).await;
    assert_eq!(select(&html, ".client-sso"), vec!["Allowed"]);
    assert_eq!(
        select(&html, "form.client-sso-toggle button"),
        vec!["Disallow SSO"]
    );
    app.finish().await;
}

#[tokio::test]
async fn the_client_sso_switch_refuses_bad_values_a_missing_token_and_unknown_clients() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let id = app.add_client("Acme", "jane@acme.example").await;
    let path = format!("/admin/clients/{id}/sso");

    for value in ["", "maybe", "2", "yes please"] {
        let r = app.post_form(&path, &[("allow_sso", value)]).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "allow_sso={value}");
        let html = r.text().await.unwrap();
        assert_eq!(select(&html, ".error-page h1"), vec!["Bad request"]);
    }
    let r = app.post_form(&path, &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "no allow_sso");
    let r = app.post_raw(&path, &[("allow_sso", "0")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no CSRF token");
    let r = app
        .post_raw(&path, &[("allow_sso", "0"), ("csrf_token", "forged")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "wrong CSRF token");
    assert!(client_allows_sso(&app, id).await, "nothing changed");

    for unknown in ["/admin/clients/999999999/sso", "/admin/clients/abc/sso"] {
        let r = app.post_form(unknown, &[("allow_sso", "0")]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{unknown}");
    }
    assert!(client_allows_sso(&app, id).await);
    app.finish().await;
}
