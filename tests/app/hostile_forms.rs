//! Hostile input to the admin forms (issue 8, findings 2 and 6): a server's stored token never
//! follows an edit to another host, and every text field of the server, client, user and
//! account forms answers 422 naming the field (never a 5xx) and changes nothing.
//!
//! Run with `--nocapture` to print the table of inputs tried, as the closing note has it.

use applinks::domain::permission::Permission;
use applinks::whm::sim::SimHandle;
use reqwest::StatusCode;

use crate::helpers::{TestApp, location, select, spawn_app, start_sim};

/// Everything the forms can change, as text, so that "nothing changed" is one comparison.
async fn snapshot(app: &TestApp) -> String {
    let mut all = String::new();
    for table in [
        "servers",
        "clients",
        "client_users",
        "accounts",
        "operations",
    ] {
        let rows: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select coalesce(string_agg(t::text, '|' order by t.id), '') from {table} t"
        )))
        .fetch_one(&app.pool)
        .await
        .unwrap_or_else(|e| panic!("snapshot of {table}: {e}"));
        all.push_str(&rows);
        all.push('\n');
    }
    all
}

/// Where a server points and how it authenticates, as stored.
async fn reach(app: &TestApp, id: i64) -> (String, i32, bool, bool, String, String) {
    sqlx::query_as(
        "select hostname, port, use_tls, verify_tls, username, auth_kind from servers where id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

/// The edit form's fields for a server registered with `TestApp::add_server` on `sim`.
fn sim_fields<'a>(sim: &'a SimHandle, port: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", "Victim"),
        ("hostname", "127.0.0.1"),
        ("port", port),
        ("module", "cpanel"),
        ("username", &sim.username),
        ("auth_kind", "token"),
        ("secret", ""),
        ("verify_tls", "on"),
        ("enabled", "on"),
    ]
}

/// Replaces (or, with `Some`, adds; with `None`, removes) one field.
fn with<'a>(
    mut fields: Vec<(&'a str, &'a str)>,
    key: &'a str,
    value: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    fields.retain(|(k, _)| *k != key);
    if let Some(value) = value {
        fields.push((key, value));
    }
    fields
}

#[tokio::test]
async fn a_server_moved_with_a_blank_token_keeps_its_place_and_its_token_never_reaches_the_new_host()
 {
    let app = spawn_app().await;
    app.login_restricted(&[Permission::ConfigureServers]).await;
    let home = start_sim(1, "cpanel", "11.134.0.5").await;
    // The attacker's host accepts the same token, so a call would show up as a success too.
    let attacker = applinks::whm::sim::spawn(applinks::whm::sim::SimConfig {
        accounts: 0,
        token: home.token.clone(),
        username: home.username.clone(),
        ..Default::default()
    })
    .await
    .expect("simulator starts");
    let id = app.add_server("Victim", &home, "cpanel").await;
    let edit = format!("/admin/servers/{id}/edit");
    let home_port = home.addr.port().to_string();
    let evil_port = attacker.addr.port().to_string();
    let before = reach(&app, id).await;

    // The form says why before anyone tries.
    let (status, form) = app.text(&edit).await;
    assert_eq!(status, StatusCode::OK);
    let note = select(&form, ".secret-reentry-note");
    assert_eq!(note.len(), 1, "the edit form explains the rule");
    assert!(
        note[0].contains("host name") && note[0].contains("port"),
        "{note:?}"
    );

    let base = sim_fields(&home, &home_port);
    type Fields<'a> = Vec<(&'a str, &'a str)>;
    let attempts: Vec<(&str, Fields, &str)> = vec![
        ("port", with(base.clone(), "port", Some(&evil_port)), "port"),
        (
            "host",
            with(base.clone(), "hostname", Some("localhost")),
            "host name",
        ),
        (
            "use_tls",
            with(base.clone(), "use_tls", Some("on")),
            "TLS setting",
        ),
        (
            "verify_tls",
            with(base.clone(), "verify_tls", None),
            "certificate verification",
        ),
        (
            "username",
            with(base.clone(), "username", Some("reseller")),
            "WHM username",
        ),
        (
            "auth",
            with(base.clone(), "auth_kind", Some("password")),
            "authentication method",
        ),
    ];
    for (what, fields, reason) in attempts {
        let snapshot_before = snapshot(&app).await;
        let r = app.post_form(&edit, &fields).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        let html = r.text().await.unwrap();
        let errors = select(&html, ".field-error[data-field=secret]");
        assert_eq!(errors.len(), 1, "{what}: the token field says why");
        assert!(errors[0].contains(reason), "{what}: {errors:?}");
        assert!(
            !html.contains(&home.token),
            "{what}: the token is not echoed"
        );
        assert_eq!(
            snapshot(&app).await,
            snapshot_before,
            "{what}: nothing saved"
        );
    }
    assert_eq!(reach(&app, id).await, before);

    // Test connection still goes home; the attacker's host hears nothing.
    let r = app
        .post_form(&format!("/admin/servers/{id}/test"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(home.calls("version"), 1);
    assert_eq!(attacker.calls("version"), 0);
    assert_eq!(attacker.state_json()["calls"], serde_json::json!({}));

    // Name, module and enabled alone keep the stored token.
    let renamed = with(
        with(
            with(base.clone(), "name", Some("Renamed")),
            "module",
            Some("wp2"),
        ),
        "enabled",
        None,
    );
    let r = app.post_form(&edit, &renamed).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "a rename needs no token");
    let (name, module, enabled): (String, String, bool) =
        sqlx::query_as("select name, module, enabled from servers where id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (name.as_str(), module.as_str(), enabled),
        ("Renamed", "wp2", false)
    );
    assert_eq!(reach(&app, id).await, before);

    // With the token entered again, the move is saved.
    let moved = with(
        with(base.clone(), "port", Some(&evil_port)),
        "secret",
        Some(&attacker.token),
    );
    let r = app.post_form(&edit, &moved).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the move with its token");
    assert_eq!(location(r.headers()), format!("/admin/servers/{id}"));
    assert_eq!(reach(&app, id).await.1, i32::from(attacker.addr.port()));
    app.finish().await;
}

/// One row of the closing note's table.
struct Tried {
    route: String,
    field: &'static str,
    value: String,
    status: StatusCode,
    changed: bool,
}

/// A form to attack: where it posts, a valid set of fields, and its text fields with the
/// key of each one's error message and its length bound.
struct Target {
    route: String,
    valid: Vec<(&'static str, String)>,
    /// (posted field, error key, longest accepted value in characters or 0 for a choice)
    fields: Vec<(&'static str, &'static str, usize)>,
}

/// Hostile values for a field bounded at `max` characters: (description, value).
fn hostile_values(field: &str, max: usize) -> Vec<(String, String)> {
    let mut values: Vec<(String, String)> = [
        ("NUL in the middle", "ab\0cd"),
        ("NUL alone", "\0"),
        ("SOH (U+0001)", "ab\u{1}cd"),
        ("tab inside", "ab\tcd"),
        ("line feed inside", "ab\ncd"),
        ("carriage return + line feed inside", "ab\r\ncd"),
        ("escape (U+001B) sequence", "ab\u{1b}[31mcd"),
        ("DEL (U+007F)", "ab\u{7f}cd"),
        ("C1 NEL (U+0085)", "ab\u{85}cd"),
        ("line separator (U+2028)", "ab\u{2028}cd"),
        ("right-to-left override (U+202E)", "ab\u{202e}cd"),
    ]
    .into_iter()
    .map(|(d, v)| (d.to_string(), v.to_string()))
    .collect();
    if max > 0 {
        values.push((
            format!("{} characters (bound {max})", max + 1),
            "a".repeat(max + 1),
        ));
    }
    values.push(("60,000 characters".into(), "a".repeat(60_000)));
    match field {
        "port" => {
            for v in [
                "99999999999999999999",
                "65536",
                "0",
                "-1",
                "1e3",
                "20 87",
                "0x50",
            ] {
                values.push((format!("absurd port {v:?}"), v.to_string()));
            }
        }
        "hostname" => {
            for v in [
                "evil host.example",
                "https://evil.example",
                "evil.example:2087",
                "a..b",
                "[::1]",
            ] {
                values.push((format!("bad host {v:?}"), v.to_string()));
            }
        }
        "server_id" => {
            for v in ["99999999999999999999", "-1", "abc", "999"] {
                values.push((format!("unknown server id {v:?}"), v.to_string()));
            }
        }
        "module" | "auth_kind" | "status" => {
            values.push((
                "unlisted choice".into(),
                "root'; drop table servers;--".into(),
            ));
        }
        _ => {}
    }
    values
}

fn describe(value: &str) -> String {
    let shown: String = value
        .chars()
        .take(24)
        .flat_map(char::escape_debug)
        .collect();
    if value.chars().count() > 24 {
        format!("{shown}…")
    } else {
        shown
    }
}

#[tokio::test]
async fn hostile_values_in_every_admin_form_field_get_422_naming_the_field_and_change_nothing() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = start_sim(1, "cpanel", "11.134.0.5").await;
    let server_id = app.add_server("Sim", &sim, "cpanel").await;
    let r = app
        .post_form(
            "/admin/clients/new",
            &[
                ("name", "Acme"),
                ("email", "owner@acme.test"),
                ("allow_sso", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let client = location(r.headers());
    let port = sim.addr.port().to_string();
    let owned = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    };
    let server_text = vec![
        ("name", "name", 100),
        ("hostname", "hostname", 253),
        ("port", "port", 0),
        ("module", "module", 0),
        ("username", "username", 64),
        ("auth_kind", "auth_kind", 0),
        ("secret", "secret", 1024),
    ];
    let targets = vec![
        Target {
            route: "/admin/servers/new".into(),
            valid: owned(&[
                ("name", "Hostile"),
                ("hostname", "server9.example.test"),
                ("port", "2087"),
                ("module", "cpanel"),
                ("username", "root"),
                ("auth_kind", "token"),
                ("secret", "TOKEN"),
                ("use_tls", "on"),
                ("verify_tls", "on"),
                ("enabled", "on"),
            ]),
            fields: server_text.clone(),
        },
        Target {
            route: format!("/admin/servers/{server_id}/edit"),
            valid: owned(&[
                ("name", "Sim renamed"),
                ("hostname", "127.0.0.1"),
                ("port", &port),
                ("module", "cpanel"),
                ("username", &sim.username),
                ("auth_kind", "token"),
                ("secret", ""),
                ("verify_tls", "on"),
                ("enabled", "on"),
            ]),
            fields: server_text,
        },
        Target {
            route: "/admin/clients/new".into(),
            valid: owned(&[("name", "Hostile Ltd"), ("email", "h@hostile.test")]),
            fields: vec![("name", "name", 200), ("email", "email", 254)],
        },
        Target {
            route: format!("{client}/edit"),
            valid: owned(&[("name", "Acme renamed"), ("email", "owner@acme.test")]),
            fields: vec![("name", "name", 200), ("email", "email", 254)],
        },
        Target {
            route: format!("{client}/users"),
            valid: owned(&[
                ("name", "Jane"),
                ("email", "jane@acme.test"),
                ("sso_allowed", "on"),
            ]),
            fields: vec![("name", "user_name", 200), ("email", "user_email", 254)],
        },
        Target {
            route: format!("{client}/accounts"),
            valid: owned(&[
                ("server_id", &server_id.to_string()),
                ("username", "hostile1"),
                ("domain", "hostile.example"),
                ("status", "active"),
            ]),
            fields: vec![
                ("server_id", "server_id", 0),
                ("username", "username", 32),
                ("domain", "domain", 253),
                ("status", "status", 0),
            ],
        },
    ];

    let mut tried = Vec::new();
    let mut failures = Vec::new();
    for target in &targets {
        for (field, key, max) in &target.fields {
            for (description, value) in hostile_values(field, *max) {
                let fields: Vec<(&str, &str)> = target
                    .valid
                    .iter()
                    .map(|(k, v)| {
                        (
                            *k,
                            if k == field {
                                value.as_str()
                            } else {
                                v.as_str()
                            },
                        )
                    })
                    .collect();
                let before = snapshot(&app).await;
                let r = app.post_form(&target.route, &fields).await;
                let status = r.status();
                let html = r.text().await.unwrap_or_default();
                let changed = snapshot(&app).await != before;
                let named = select(&html, &format!(".field-error[data-field={key}]")).len() == 1;
                if status != StatusCode::UNPROCESSABLE_ENTITY || !named || changed {
                    failures.push(format!(
                        "{} {field} = {description}: {status}, named: {named}, changed: {changed}",
                        target.route
                    ));
                }
                tried.push(Tried {
                    route: target.route.clone(),
                    field,
                    value: format!("{description} ({})", describe(&value)),
                    status,
                    changed,
                });
            }
        }
        // Beyond the global 64 KiB cap on request bodies: a 4xx before any handler runs.
        let (field, _, _) = target.fields[target.fields.len() - 1];
        let huge = "a".repeat(70_000);
        let fields: Vec<(&str, &str)> = target
            .valid
            .iter()
            .map(|(k, v)| {
                (
                    *k,
                    if *k == field {
                        huge.as_str()
                    } else {
                        v.as_str()
                    },
                )
            })
            .collect();
        let before = snapshot(&app).await;
        let status = app.post_form(&target.route, &fields).await.status();
        let changed = snapshot(&app).await != before;
        // (The CSRF check reads the body first and answers 413.)
        if !status.is_client_error() || changed {
            failures.push(format!(
                "{} {field} = 70,000 characters: {status}",
                target.route
            ));
        }
        tried.push(Tried {
            route: target.route.clone(),
            field,
            value: "70,000 characters (over the 64 KiB body cap)".into(),
            status,
            changed,
        });
    }

    println!("| # | route | field | value | status | state changed? |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (i, t) in tried.iter().enumerate() {
        println!(
            "| {} | `POST {}` | `{}` | {} | {} | {} |",
            i + 1,
            t.route,
            t.field,
            t.value.replace('|', "\\|"),
            t.status.as_u16(),
            if t.changed { "yes" } else { "no" }
        );
    }
    assert!(tried.iter().all(|t| !t.status.is_server_error()));
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // The forms still work with the same valid values.
    for target in &targets {
        let fields: Vec<(&str, &str)> =
            target.valid.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.post_form(&target.route, &fields).await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "{} with valid values",
            target.route
        );
    }
    let (_, html) = app.text(&client).await;
    assert_eq!(
        select(&html, ".account-row .account-username"),
        vec!["hostile1"]
    );
    app.finish().await;
}

/// A form post whose body is not a form (a JSON `Content-Type`) answers our own 415 page in
/// the layout (JSON when asked for), never axum's plain text, and changes nothing.
#[tokio::test]
async fn a_body_that_is_not_a_form_gets_our_415_page_and_changes_nothing() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let before = snapshot(&app).await;
    let token = app.csrf_token().await;
    let body = format!("name=Acme&email=owner%40acme.test&csrf_token={token}");

    for content_type in ["application/json", "text/plain"] {
        let r = app
            .client
            .post(app.url("/admin/clients/new"))
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        let html = r.text().await.unwrap();
        assert!(html.contains("Not a form"), "{content_type}: {html}");
        assert!(html.contains("<nav"), "our layout, signed in: {html}");
    }

    // Asked for JSON, the same refusal is JSON.
    let r = app
        .client
        .post(app.url("/admin/clients/new"))
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(json["error"], "unsupported_media_type");

    assert_eq!(snapshot(&app).await, before, "nothing changed");
    app.finish().await;
}
