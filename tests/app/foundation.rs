//! Sign-in, sessions, CSRF, permissions, layout, health, migrations.

use applinks::db;
use applinks::domain::app::App;
use applinks::domain::ids::{AccountId, OperationId, ServerId};
use applinks::domain::permission::Permission;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, attr, client, location, select, spawn_app};

#[tokio::test]
async fn anonymous_requests_to_admin_are_sent_to_login() {
    let app = spawn_app().await;
    for path in [
        "/admin",
        "/admin/setup/application-links",
        "/admin/setup/application-links/cpanel/log",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(r.headers()), "/admin/login", "{path}");
    }
    app.finish().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_refused_alike_and_the_right_one_signs_in() {
    let app = spawn_app().await;
    applinks::hosting::admins::create_admin(&app.pool, "root", "Full Administrator", PASSWORD)
        .await
        .unwrap();

    let wrong_password = app.login("root", "not the password at all").await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    let wrong_password = wrong_password.text().await.unwrap();
    let unknown_user = app.login("nobody", "not the password at all").await;
    assert_eq!(unknown_user.status(), StatusCode::UNAUTHORIZED);
    let unknown_user = unknown_user.text().await.unwrap();
    assert_eq!(
        select(&wrong_password, ".flash-error"),
        vec!["Wrong username or password."]
    );
    assert_eq!(
        select(&wrong_password, ".flash-error"),
        select(&unknown_user, ".flash-error")
    );
    assert_eq!(
        app.get("/admin").await.status(),
        StatusCode::SEE_OTHER,
        "still anonymous"
    );

    let r = app.login("root", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(r.headers()), "/admin");

    // The session survives several requests.
    for _ in 0..3 {
        let (status, html) = app.text("/admin").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(select(&html, ".signed-in-as strong"), vec!["root"]);
    }

    // ...and ends at sign-out.
    let r = app.post_form("/admin/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(r.headers()), "/admin/login");
    let r = app.get("/admin").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    app.finish().await;
}

#[tokio::test]
async fn session_cookie_is_http_only_lax_and_the_id_changes_at_sign_in() {
    let app = spawn_app().await;
    applinks::hosting::admins::create_admin(&app.pool, "root", "Full Administrator", PASSWORD)
        .await
        .unwrap();
    let r = app.get("/admin/login").await;
    let before = r
        .headers()
        .get("set-cookie")
        .expect("anonymous session cookie for the CSRF token")
        .to_str()
        .unwrap()
        .to_string();
    assert!(before.contains("HttpOnly"), "{before}");
    assert!(before.contains("SameSite=Lax"), "{before}");
    assert!(
        !before.contains("Secure"),
        "plain http public URL: {before}"
    );
    let r = app.login("root", PASSWORD).await;
    let after = r
        .headers()
        .get("set-cookie")
        .expect("new cookie")
        .to_str()
        .unwrap()
        .to_string();
    let id = |c: &str| c.split(';').next().unwrap().to_string();
    assert_ne!(id(&before), id(&after), "session id cycled at sign-in");
    app.finish().await;
}

#[tokio::test]
async fn a_post_without_or_with_a_foreign_csrf_token_is_403_and_changes_nothing() {
    let app = spawn_app().await;
    app.login_full_admin().await;

    // No token at all (like curl: no Origin header either): refused, still signed in.
    let r = app.post_raw("/admin/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.unwrap();
    assert_eq!(select(&html, "h1"), vec!["Form expired"]);
    assert_eq!(
        app.get("/admin").await.status(),
        StatusCode::OK,
        "still signed in"
    );

    // Another session's token: refused.
    let other = client();
    let page = other
        .get(app.url("/admin/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let foreign = attr(&page, "meta[name=csrf-token]", "content").unwrap();
    assert_ne!(foreign, app.csrf_token().await);
    let r = app
        .post_raw("/admin/logout", &[("csrf_token", &foreign)])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/admin").await.status(),
        StatusCode::OK,
        "still signed in"
    );

    // A sign-in without a token creates no session either.
    let r = other
        .post(app.url("/admin/login"))
        .form(&[("username", "root"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = other.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // A cross-site browser request is refused by the Origin check even with a token.
    let token = app.csrf_token().await;
    let r = app
        .client
        .post(app.url("/admin/logout"))
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.unwrap();
    assert_eq!(select(&html, "h1"), vec!["Request refused"]);
    assert_eq!(
        app.get("/admin").await.status(),
        StatusCode::OK,
        "still signed in"
    );

    // The header form works for htmx.
    let r = app
        .client
        .post(app.url("/admin/logout"))
        .header("x-csrf-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    app.finish().await;
}

#[tokio::test]
async fn restricted_admin_gets_403_on_the_application_links_page_and_below_and_no_nav_entry() {
    let app = spawn_app().await;
    app.login_restricted(&[Permission::ManageClients]).await;

    for path in [
        "/admin/setup/application-links",
        "/admin/setup/application-links/cpanel/configure",
        "/admin/setup/application-links/cpanel/status",
        "/admin/setup/application-links/anything/at/all",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        let html = r.text().await.unwrap();
        assert_eq!(select(&html, "h1"), vec!["Access denied"], "{path}");
        let message = select(&html, ".error-message").join("");
        assert!(message.contains("Configure Application Links"), "{message}");
        // The normal layout, with who is signed in.
        assert_eq!(select(&html, ".signed-in-as strong"), vec!["helpdesk"]);

        let r = app.get_json(path).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "permission_denied");
        assert_eq!(body["permission"], "configure_application_links");
    }

    // POSTs are refused the same way (with a valid CSRF token).
    let r = app
        .post_form("/admin/setup/application-links/cpanel/enable", &[])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let (status, html) = app.text("/admin").await;
    assert_eq!(status, StatusCode::OK);
    let nav = select(&html, ".mainnav a");
    assert_eq!(nav, vec!["Clients"]);
    assert!(attr(&html, "a[href='/admin/setup/application-links']", "href").is_none());
    app.finish().await;
}

#[tokio::test]
async fn full_admin_sees_cpanel_and_wp_squared_both_off_on_a_new_install() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let (status, html) = app.text("/admin/setup/application-links").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        select(&html, ".app-row .app-title"),
        vec!["cPanel", "WP Squared"]
    );
    assert_eq!(
        select(&html, ".app-row .badge"),
        vec!["DISABLED", "DISABLED"]
    );
    assert_eq!(select(&html, ".app-row .toggle"), vec!["Off", "Off"]);
    let nav = select(&html, ".mainnav a");
    assert_eq!(
        nav,
        vec![
            "Setup › Application Links",
            "Servers",
            "Clients",
            "Setup › Administrators",
            "Setup › Roles"
        ]
    );
    app.finish().await;
}

#[tokio::test]
async fn unknown_pages_are_404_in_the_layout() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let (status, html) = app.text("/admin/no-such-page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(select(&html, "h1"), vec!["Page not found"]);
    assert_eq!(select(&html, ".signed-in-as strong"), vec!["root"]);
    app.finish().await;
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    let css = app.get("/static/applinks.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    app.finish().await;
}

#[tokio::test]
async fn migrate_twice_is_harmless() {
    let app = spawn_app().await;
    for _ in 0..2 {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_applinks"))
            .arg("migrate")
            .env("DATABASE_URL", &app.db.url)
            .output()
            .expect("run applinks migrate");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let roles: i64 = sqlx::query_scalar("select count(*) from roles where built_in")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(roles, 1);
    let apps: i64 = sqlx::query_scalar("select count(*) from applications")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(apps, 2);
    app.finish().await;
}

#[tokio::test]
async fn repeated_sign_in_attempts_for_one_username_are_slowed_down() {
    let app = spawn_app().await;
    applinks::hosting::admins::create_admin(&app.pool, "root", "Full Administrator", PASSWORD)
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(app.login("root", "wrong password!!").await.status());
    }
    assert!(
        statuses[..10]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
    // Even the right password waits now.
    let r = app.login("root", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    app.finish().await;
}

#[tokio::test]
async fn admin_create_refuses_unknown_roles_and_short_passwords() {
    let app = spawn_app().await;
    let err = applinks::hosting::admins::create_admin(&app.pool, "x", "No Such Role", PASSWORD)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no role named"), "{err}");
    let err =
        applinks::hosting::admins::create_admin(&app.pool, "x", "Full Administrator", "short")
            .await
            .unwrap_err();
    assert!(err.to_string().contains("at least 12"), "{err}");
    app.finish().await;
}

#[tokio::test]
async fn admin_create_and_role_create_work_on_a_fresh_database() {
    use std::io::Write as _;
    let db = crate::helpers::TestDb::create().await;
    let bin = env!("CARGO_BIN_EXE_applinks");
    let out = std::process::Command::new(bin)
        .args([
            "role",
            "create",
            "--name",
            "Support",
            "--permission",
            "manage_clients",
        ])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut child = std::process::Command::new(bin)
        .args([
            "admin",
            "create",
            "--username",
            "helpdesk",
            "--role",
            "Support",
            "--password-stdin",
        ])
        .env("DATABASE_URL", &db.url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(PASSWORD.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin helpdesk"));
    let out = std::process::Command::new(bin)
        .args(["role", "create", "--name", "Bad", "--permission", "root"])
        .env("DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown permission"));
}

/// A link secret belongs to one of the two applications: the check that replaced its foreign
/// key to `applications` refuses any other, as the key did.
#[tokio::test]
async fn a_link_secret_names_one_of_the_applications() {
    let app = spawn_app().await;
    let server = app.insert_server("cp1").await;
    let account = app.add_accounts(server, &["alice".to_string()]).await[0];
    let insert = |application: &'static str| {
        sqlx::query(
            "insert into account_link_secrets (account_id, app, token_ciphertext)
             values ($1, $2, '\\x00')",
        )
        .bind(account)
        .bind(application)
        .execute(&app.pool)
    };
    let refused = insert("whmcs").await.unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("account_link_secrets_app_check"),
        "{refused}"
    );
    insert("wp2").await.unwrap();
    insert("cpanel").await.unwrap();
    app.finish().await;
}

/// An account's link secrets and outcomes go with it (a trigger replaced their foreign keys to
/// `accounts`), whichever statement deletes it; other accounts keep theirs. A secret is
/// written only for an account that exists.
#[tokio::test]
async fn deleting_an_account_deletes_its_link_secrets_and_outcomes() {
    let app = spawn_app().await;
    let server = app.insert_server("cp1").await;
    let ids = app
        .add_accounts(
            server,
            &["alice".to_string(), "bob".to_string(), "carol".to_string()],
        )
        .await;
    let op: uuid::Uuid = sqlx::query_scalar(
        "insert into operations (id, app, kind) values (gen_random_uuid(), 'cpanel', 'activate')
         returning id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query("insert into operation_servers (operation_id, server_id) values ($1, $2)")
        .bind(op)
        .bind(server)
        .execute(&app.pool)
        .await
        .unwrap();
    let account_ids: Vec<AccountId> = ids.iter().map(|&id| AccountId(id)).collect();
    let ciphertexts = vec![vec![0u8]; ids.len()];
    db::provisioning::link_secrets(&app.pool, &account_ids, App::Cpanel, &ciphertexts)
        .await
        .unwrap();
    db::outcomes::name(&app.pool, OperationId(op), ServerId(server), &account_ids)
        .await
        .unwrap();
    let rows = |id: i64| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select (select count(*) from account_link_secrets where account_id = $1)
                      + (select count(*) from operation_accounts where account_id = $1)",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    sqlx::query("delete from accounts where id = $1")
        .bind(ids[0])
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows(ids[0]).await, 0);
    assert_eq!(rows(ids[1]).await, 2);
    assert_eq!(rows(ids[2]).await, 2);
    // Through the cascade from the account's client.
    sqlx::query("delete from clients where id = (select client_id from accounts where id = $1)")
        .bind(ids[1])
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows(ids[1]).await, 0);
    assert_eq!(rows(ids[2]).await, 2);

    // No secret for an account that is gone.
    let secret =
        db::provisioning::link_secret(&app.pool, account_ids[0], App::Cpanel, b"\x01").await;
    assert!(
        matches!(secret, Err(sqlx::Error::RowNotFound)),
        "{secret:?}"
    );
    assert_eq!(rows(ids[0]).await, 0);
    app.finish().await;
}
