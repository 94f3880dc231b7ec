//! Setup › Administrators, Setup › Roles and My account over HTTP: who may open them, what
//! they change, whose sessions end, and that no change locks the installation out.

use applinks::domain::permission::Permission;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, attr, location, select, spawn_app};

async fn role_id(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("select id from roles where name = $1")
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .expect("role")
}

async fn admin_id(app: &TestApp, username: &str) -> i64 {
    sqlx::query_scalar("select id from admins where username = $1")
        .bind(username)
        .fetch_one(&app.pool)
        .await
        .expect("admin")
}

async fn is_disabled(app: &TestApp, username: &str) -> bool {
    sqlx::query_scalar("select disabled from admins where username = $1")
        .bind(username)
        .fetch_one(&app.pool)
        .await
        .expect("admin")
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&app.pool)
        .await
        .expect("count")
}

/// Adds an admin through the form as the signed-in admin; answers the admin's id.
async fn add_admin(app: &TestApp, username: &str, role: &str) -> i64 {
    let role = role_id(app, role).await.to_string();
    let r = app
        .post_form(
            "/admin/setup/admins/new",
            &[
                ("username", username),
                ("name", &format!("{username} Example")),
                ("email", &format!("{username}@example.test")),
                ("role_id", &role),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "admin {username} added");
    let id = admin_id(app, username).await;
    assert_eq!(location(r.headers()), format!("/admin/setup/admins/{id}"));
    id
}

/// Adds a role through the form; answers its id.
async fn add_role(app: &TestApp, name: &str, permissions: &[Permission]) -> i64 {
    let mut fields = vec![("name", name)];
    fields.extend(permissions.iter().map(|p| ("permission", p.key())));
    let r = app.post_form("/admin/setup/roles/new", &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "role {name} added");
    role_id(app, name).await
}

#[tokio::test]
async fn an_admin_without_manage_admins_gets_403_on_every_admins_and_roles_route() {
    let app = spawn_app().await;
    app.login_restricted(&[
        Permission::ConfigureApplicationLinks,
        Permission::ConfigureServers,
        Permission::ManageClients,
    ])
    .await;
    let me = admin_id(&app, "helpdesk").await;
    let role = role_id(&app, "Support").await;
    let (_, home) = app.text("/admin").await;
    let nav = select(&home, "nav.mainnav a");
    assert!(nav.contains(&"Clients".to_string()), "{nav:?}");
    assert!(
        !nav.iter()
            .any(|n| n.contains("Administrators") || n.contains("Roles"))
    );
    // My account is every admin's.
    assert_eq!(app.get("/admin/account").await.status(), StatusCode::OK);

    for path in [
        "/admin/setup/admins".to_string(),
        "/admin/setup/admins/new".to_string(),
        format!("/admin/setup/admins/{me}"),
        "/admin/setup/roles".to_string(),
        "/admin/setup/roles/new".to_string(),
        format!("/admin/setup/roles/{role}"),
        "/admin/setup/roles/nothing-here".to_string(),
    ] {
        let r = app.get(&path).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "GET {path}");
        let json = app.get_json(&path).await;
        let body: serde_json::Value = json.json().await.unwrap();
        assert_eq!(body["permission"], "manage_admins", "GET {path}");
    }
    let full = role_id(&app, "Full Administrator").await.to_string();
    for path in [
        "/admin/setup/admins/new".to_string(),
        format!("/admin/setup/admins/{me}"),
        format!("/admin/setup/admins/{me}/password"),
        format!("/admin/setup/admins/{me}/disable"),
        format!("/admin/setup/admins/{me}/enable"),
        "/admin/setup/roles/new".to_string(),
        format!("/admin/setup/roles/{role}"),
        format!("/admin/setup/roles/{role}/delete"),
    ] {
        let r = app
            .post_form(
                &path,
                &[
                    ("username", "evil"),
                    ("name", "Evil"),
                    ("role_id", &full),
                    ("password", "a password long enough"),
                    ("password_confirm", "a password long enough"),
                    ("permission", "manage_admins"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    // Nothing changed: no new admin, the role still lacks manage_admins, the admin still has
    // the Support role and is enabled.
    assert_eq!(count(&app, "select count(*) from admins").await, 1);
    assert_eq!(count(&app, "select count(*) from roles").await, 2);
    assert_eq!(
        count(
            &app,
            "select count(*) from role_permissions where permission = 'manage_admins'"
        )
        .await,
        1,
        "only the built-in role's"
    );
    assert!(!is_disabled(&app, "helpdesk").await);
    assert!(app.get("/admin").await.status() == StatusCode::OK);
    app.finish().await;
}

#[tokio::test]
async fn admins_are_listed_added_edited_and_a_new_role_limits_what_they_see() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let (_, home) = app.text("/admin").await;
    let nav = select(&home, "nav.mainnav a");
    assert!(
        nav.contains(&"Setup › Administrators".to_string()),
        "{nav:?}"
    );
    assert!(nav.contains(&"Setup › Roles".to_string()), "{nav:?}");

    // A role without Configure Application Links, each box explained.
    let (status, form) = app.text("/admin/setup/roles/new").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        select(&form, "input[type=checkbox][name=permission]").len(),
        4
    );
    assert_eq!(select(&form, ".permission .explanation").len(), 4);
    add_role(
        &app,
        "Support",
        &[Permission::ManageClients, Permission::ConfigureServers],
    )
    .await;
    let jane = add_admin(&app, "jane", "Support").await;

    let (_, list) = app.text("/admin/setup/admins").await;
    assert_eq!(
        select(&list, ".admin-row .admin-username"),
        vec!["jane", "root (you)"]
    );
    assert_eq!(
        select(&list, ".admin-row .admin-role"),
        vec!["Support", "Full Administrator"]
    );
    assert_eq!(
        select(&list, ".admin-row .admin-email")[0],
        "jane@example.test"
    );
    let (_, roles) = app.text("/admin/setup/roles").await;
    assert_eq!(
        select(&roles, ".role-row .role-name"),
        vec!["Full Administrator (built in)", "Support"]
    );
    assert_eq!(
        select(&roles, ".role-row .role-permissions")[1],
        "Configure Servers, Manage Clients"
    );

    // Jane signs in and meets the 403 of the area her role lacks.
    let browser = app.new_browser();
    assert_eq!(
        browser.login("jane", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        browser.get("/admin/setup/application-links").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(browser.get("/admin/clients").await.status(), StatusCode::OK);

    // Edited: a new name, e-mail and role; Jane's next request has the new role.
    let full = role_id(&app, "Full Administrator").await.to_string();
    let r = app
        .post_form(
            &format!("/admin/setup/admins/{jane}"),
            &[
                ("username", "jane.doe"),
                ("name", "Jane Doe"),
                ("email", ""),
                ("role_id", &full),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.text(&format!("/admin/setup/admins/{jane}")).await;
    assert_eq!(
        attr(&page, "#admin-form input[name=username]", "value").as_deref(),
        Some("jane.doe")
    );
    assert_eq!(
        attr(&page, "#admin-form input[name=email]", "value").as_deref(),
        Some("")
    );
    assert_eq!(
        browser.get("/admin/setup/application-links").await.status(),
        StatusCode::OK
    );
    app.finish().await;
}

#[tokio::test]
async fn admin_and_role_forms_refuse_bad_input_with_422_and_save_nothing() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let full = role_id(&app, "Full Administrator").await.to_string();
    let long = "u".repeat(65);
    for (fields, field) in [
        (
            vec![("username", "a\u{0}b"), ("password", PASSWORD)],
            "username",
        ),
        (vec![("username", long.as_str())], "username"),
        (vec![("username", "two words")], "username"),
        (vec![("username", "root")], "username"), // taken
        (vec![("name", "line\nbreak")], "name"),
        (vec![("email", "not-an-email")], "email"),
        (vec![("role_id", "999")], "role_id"),
        (vec![("password", "short")], "password"),
        (
            vec![("password_confirm", "something else entirely")],
            "password_confirm",
        ),
    ] {
        let mut all = vec![
            ("username", "newbie"),
            ("name", "New Admin"),
            ("email", "new@example.test"),
            ("role_id", full.as_str()),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ];
        for (k, v) in &fields {
            all.retain(|(key, _)| key != k);
            all.push((k, v));
        }
        let r = app.post_form("/admin/setup/admins/new", &all).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let html = r.text().await.unwrap();
        assert_eq!(
            select(&html, &format!(".field-error[data-field={field}]")).len(),
            1,
            "{fields:?}: {html}"
        );
        // The password never comes back.
        assert_eq!(
            attr(&html, "#admin-form input[name=password]", "value"),
            None
        );
    }
    assert_eq!(count(&app, "select count(*) from admins").await, 1);

    for (fields, field) in [
        (vec![("name", "")], "name"),
        (vec![("name", "Ops\u{202e}")], "name"),
        (vec![("name", "Full Administrator")], "name"), // taken
        (
            vec![("name", "Ops"), ("permission", "root_access")],
            "permissions",
        ),
    ] {
        let r = app.post_form("/admin/setup/roles/new", &fields).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let html = r.text().await.unwrap();
        assert_eq!(
            select(&html, &format!(".field-error[data-field={field}]")).len(),
            1,
            "{fields:?}"
        );
    }
    assert_eq!(count(&app, "select count(*) from roles").await, 1);

    // Without a CSRF token: 403, nothing changed.
    let root = admin_id(&app, "root").await;
    for (path, fields) in [
        (
            "/admin/setup/admins/new".to_string(),
            vec![
                ("username", "sneaky"),
                ("name", "Sneaky"),
                ("role_id", full.as_str()),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
            ],
        ),
        (format!("/admin/setup/admins/{root}/disable"), vec![]),
        (
            format!("/admin/setup/admins/{root}/password"),
            vec![
                ("password", "a brand new password"),
                ("password_confirm", "a brand new password"),
            ],
        ),
        (
            "/admin/setup/roles/new".to_string(),
            vec![("name", "Sneaky")],
        ),
        (
            "/admin/account".to_string(),
            vec![
                ("current_password", PASSWORD),
                ("password", "a brand new password"),
                ("password_confirm", "a brand new password"),
            ],
        ),
    ] {
        let r = app.post_raw(&path, &fields).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    assert_eq!(count(&app, "select count(*) from admins").await, 1);
    assert_eq!(count(&app, "select count(*) from roles").await, 1);
    assert!(!is_disabled(&app, "root").await);
    let other = app.new_browser();
    assert_eq!(
        other.login("root", PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "the password is unchanged"
    );
    app.finish().await;
}

#[tokio::test]
async fn a_disabled_admin_is_signed_out_at_once_and_cannot_sign_in_until_enabled() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let jane = add_admin(&app, "jane", "Full Administrator").await;
    let laptop = app.new_browser();
    let phone = app.new_browser();
    for b in [&laptop, &phone] {
        assert_eq!(
            b.login("jane", PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
        assert!(b.signed_in().await);
    }

    let r = app
        .post_form(&format!("/admin/setup/admins/{jane}/disable"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(is_disabled(&app, "jane").await);
    for b in [&laptop, &phone] {
        let r = b.get("/admin/clients").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(r.headers()), "/admin/login");
    }
    assert_eq!(
        count(
            &app,
            &format!(
                "select count(*) from tower_sessions.session where data -> 'admin_id' = '{jane}'"
            )
        )
        .await,
        0
    );
    let r = laptop.login("jane", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("disabled"));
    // A wrong password learns nothing about the account.
    let r = laptop.login("jane", "not the password at all").await;
    assert!(!r.text().await.unwrap().contains("disabled"));

    let (_, page) = app.text(&format!("/admin/setup/admins/{jane}")).await;
    assert_eq!(select(&page, ".admin-status"), vec!["Disabled"]);
    let r = app
        .post_form(&format!("/admin/setup/admins/{jane}/enable"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        laptop.login("jane", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert!(laptop.signed_in().await);
    app.finish().await;
}

#[tokio::test]
async fn a_password_set_by_another_admin_ends_every_session_of_theirs() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let jane = add_admin(&app, "jane", "Full Administrator").await;
    let browser = app.new_browser();
    browser.login("jane", PASSWORD).await;
    assert!(browser.signed_in().await);

    let bad = app
        .post_form(
            &format!("/admin/setup/admins/{jane}/password"),
            &[("password", "short"), ("password_confirm", "short")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        select(
            &bad.text().await.unwrap(),
            "#password-form .field-error[data-field=password]"
        )
        .len(),
        1
    );
    assert!(browser.signed_in().await, "a refused reset ends nothing");

    let new = "jane's brand new password";
    let r = app
        .post_form(
            &format!("/admin/setup/admins/{jane}/password"),
            &[("password", new), ("password_confirm", new)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!browser.signed_in().await, "jane's session ended");
    assert!(
        app.get("/admin").await.status() == StatusCode::OK,
        "root's did not"
    );
    assert_eq!(
        browser.login("jane", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        browser.login("jane", new).await.status(),
        StatusCode::SEE_OTHER
    );
    let hash: String = sqlx::query_scalar("select password_hash from admins where id = $1")
        .bind(jane)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    app.finish().await;
}

#[tokio::test]
async fn my_account_changes_my_password_with_the_current_one_and_ends_my_other_sessions() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let other = app.new_browser();
    other.login("root", PASSWORD).await;
    assert!(other.signed_in().await);
    let (status, page) = app.text("/admin/account").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(select(&page, ".account-username"), vec!["root"]);

    let new = "a much better passphrase";
    let r = app
        .post_form(
            "/admin/account",
            &[
                ("current_password", "not my password!"),
                ("password", new),
                ("password_confirm", new),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        select(
            &r.text().await.unwrap(),
            ".field-error[data-field=current_password]"
        ),
        vec!["This is not your current password."]
    );
    assert!(other.signed_in().await);

    let r = app
        .post_form(
            "/admin/account",
            &[
                ("current_password", PASSWORD),
                ("password", new),
                ("password_confirm", new),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(r.headers()), "/admin/account");
    assert!(
        app.get("/admin").await.status() == StatusCode::OK,
        "this session stays"
    );
    assert!(!other.signed_in().await, "the other one ended");
    assert_eq!(
        other.login("root", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        other.login("root", new).await.status(),
        StatusCode::SEE_OTHER
    );
    app.finish().await;
}

#[tokio::test]
async fn no_change_may_leave_nobody_able_to_manage_admins() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let root = admin_id(&app, "root").await;
    let refused = |r: reqwest::Response| async move {
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = r.text().await.unwrap();
        let refusal = select(&html, ".refusal").join(" ");
        assert!(refusal.contains("Manage Admins"), "{html}");
        assert!(refusal.contains("nothing was saved"), "{refusal}");
    };

    // The only admin cannot disable themself, nor take a role without manage_admins.
    refused(
        app.post_form(&format!("/admin/setup/admins/{root}/disable"), &[])
            .await,
    )
    .await;
    let support = add_role(&app, "Support", &[Permission::ManageClients]).await;
    refused(
        app.post_form(
            &format!("/admin/setup/admins/{root}"),
            &[
                ("username", "root"),
                ("name", "root"),
                ("role_id", &support.to_string()),
            ],
        )
        .await,
    )
    .await;
    assert!(!is_disabled(&app, "root").await);
    assert_eq!(
        count(
            &app,
            &format!("select role_id from admins where id = {root}")
        )
        .await,
        role_id(&app, "Full Administrator").await
    );

    // With another admin holding manage_admins through a role of their own, root may go.
    let admins_role = add_role(&app, "Admins", &[Permission::ManageAdmins]).await;
    let ops = add_admin(&app, "ops", "Admins").await;
    let browser = app.new_browser();
    browser.login("ops", PASSWORD).await;
    let r = app
        .post_form(&format!("/admin/setup/admins/{root}/disable"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        !app.get("/admin").await.status().is_success(),
        "root is out"
    );

    // Now ops is the last one: unticking manage_admins on their role, or disabling them, is
    // refused, and nothing is saved.
    let r = browser
        .post_form(
            &format!("/admin/setup/roles/{admins_role}"),
            &[("name", "Admins renamed"), ("permission", "manage_clients")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        select(&r.text().await.unwrap(), ".refusal")
            .join(" ")
            .contains("Manage Admins")
    );
    let perms: Vec<String> = sqlx::query_scalar(
        "select permission from role_permissions where role_id = $1 order by permission",
    )
    .bind(admins_role)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(perms, vec!["manage_admins"]);
    assert_eq!(
        count(
            &app,
            "select count(*) from roles where name = 'Admins renamed'"
        )
        .await,
        0
    );
    let r = browser
        .post_form(&format!("/admin/setup/admins/{ops}/disable"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!is_disabled(&app, "ops").await);

    // Root back: then the same role change passes.
    let r = browser
        .post_form(&format!("/admin/setup/admins/{root}/enable"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = browser
        .post_form(
            &format!("/admin/setup/roles/{admins_role}"),
            &[("name", "Admins"), ("permission", "manage_clients")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Ops just lost the permission: the next request of theirs is refused.
    assert_eq!(
        browser.get("/admin/setup/admins").await.status(),
        StatusCode::FORBIDDEN
    );
    app.finish().await;
}

#[tokio::test]
async fn two_concurrent_changes_cannot_both_pass_the_lockout_check() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let root = admin_id(&app, "root").await;
    let alice = add_admin(&app, "alice", "Full Administrator").await;
    for round in 0..5 {
        // Root disables alice and root at the same time: at most one of them may go.
        let (disable_alice, disable_root) = (
            format!("/admin/setup/admins/{alice}/disable"),
            format!("/admin/setup/admins/{root}/disable"),
        );
        // One token read first: reading it inside each request could race root's sign-out.
        let token = app.csrf_token().await;
        let fields = [("csrf_token", token.as_str())];
        let (a, b) = tokio::join!(
            app.post_raw(&disable_alice, &fields),
            app.post_raw(&disable_root, &fields),
        );
        // The winner answers 303; the loser 422 (refused) or, when root went first and its
        // session ended before the request was read, 303 to the sign-in.
        let statuses = [a.status(), b.status()];
        let left = count(&app, "select count(*) from admins where not disabled").await;
        assert_eq!(
            left, 1,
            "round {round}: exactly one stays enabled ({statuses:?})"
        );
        // Back to two enabled admins, root signed in again.
        sqlx::query("update admins set disabled = false")
            .execute(&app.pool)
            .await
            .unwrap();
        if !app.get("/admin").await.status().is_success() {
            assert_eq!(
                app.login("root", PASSWORD).await.status(),
                StatusCode::SEE_OTHER
            );
        }
    }
    app.finish().await;
}

#[tokio::test]
async fn full_administrator_is_shown_read_only_and_a_role_in_use_cannot_be_deleted() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let full = role_id(&app, "Full Administrator").await;
    let (status, page) = app.text(&format!("/admin/setup/roles/{full}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(select(&page, ".built-in-note").len(), 1);
    assert_eq!(
        select(&page, "input[name=permission][disabled][checked]").len(),
        4
    );
    assert!(select(&page, "#role-form button[type=submit]").is_empty());
    let (_, list) = app.text("/admin/setup/roles").await;
    assert!(select(&list, &format!("tr[data-id=\"{full}\"] .role-delete")).is_empty());

    for path in [
        format!("/admin/setup/roles/{full}"),
        format!("/admin/setup/roles/{full}/delete"),
    ] {
        let r = app
            .post_form(
                &path,
                &[("name", "Renamed"), ("permission", "manage_clients")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "POST {path}");
    }
    assert_eq!(
        count(
            &app,
            &format!("select count(*) from role_permissions where role_id = {full}")
        )
        .await,
        4
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from roles where name = 'Full Administrator' and built_in"
        )
        .await,
        1
    );

    // A role in use (even by a disabled admin) stays.
    let support = add_role(&app, "Support", &[Permission::ManageClients]).await;
    let jane = add_admin(&app, "jane", "Support").await;
    app.post_form(&format!("/admin/setup/admins/{jane}/disable"), &[])
        .await;
    let r = app
        .post_form(&format!("/admin/setup/roles/{support}/delete"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refusal = select(&r.text().await.unwrap(), ".refusal").join(" ");
    assert!(refusal.contains("“Support” is the role of 1"), "{refusal}");
    assert_eq!(
        count(&app, "select count(*) from roles where name = 'Support'").await,
        1
    );

    // Once nobody has it, it goes.
    let r = app
        .post_form(
            &format!("/admin/setup/admins/{jane}"),
            &[
                ("username", "jane"),
                ("name", "Jane"),
                ("role_id", &full.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = app
        .post_form(&format!("/admin/setup/roles/{support}/delete"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        count(&app, "select count(*) from roles where name = 'Support'").await,
        0
    );
    app.finish().await;
}

#[tokio::test]
async fn admin_set_password_on_the_command_line_ends_that_admins_sessions() {
    use std::io::Write as _;
    let app = spawn_app().await;
    app.login_full_admin().await;
    assert!(app.get("/admin").await.status() == StatusCode::OK);
    let run = |password: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_applinks"))
            .args([
                "admin",
                "set-password",
                "--username",
                "root",
                "--password-stdin",
            ])
            .env("DATABASE_URL", &app.db.url)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run applinks admin set-password");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let short = run("too short");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12"));
    assert!(
        app.get("/admin").await.status() == StatusCode::OK,
        "nothing changed"
    );

    let new = "set from the shell, long enough";
    let out = run(new);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("password set for root"));
    let r = app.get("/admin").await;
    assert_eq!(location(r.headers()), "/admin/login", "the session ended");
    assert_eq!(
        app.login("root", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.login("root", new).await.status(), StatusCode::SEE_OTHER);
    app.finish().await;
}

/// The admin comes with the session's own statement (`db::session_store`): what changes in the
/// database behind the application's back (another web instance, the shell, a hand-run SQL)
/// counts from the next request, since nothing is cached beyond a request.
#[tokio::test]
async fn a_role_change_or_a_disable_made_elsewhere_counts_from_the_next_request() {
    let app = spawn_app().await;
    app.login_restricted(&[Permission::ConfigureApplicationLinks])
        .await;
    let page = "/admin/setup/application-links";
    assert_eq!(app.get(page).await.status(), StatusCode::OK);

    // The role loses the permission: the next request is refused.
    sqlx::query("delete from role_permissions where role_id = (select id from roles where name = 'Support')")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.get(page).await.status(), StatusCode::FORBIDDEN);
    sqlx::query(
        "insert into role_permissions (role_id, permission)
         select id, 'configure_application_links' from roles where name = 'Support'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(app.get(page).await.status(), StatusCode::OK);

    // Disabled without its sessions being deleted: signed out at the next request.
    sqlx::query("update admins set disabled = true where username = 'helpdesk'")
        .execute(&app.pool)
        .await
        .unwrap();
    let r = app.get(page).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(r.headers()), "/admin/login");
    app.finish().await;
}
