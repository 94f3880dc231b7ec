//! Application Links end to end: the page's forms, apalis jobs run by real workers, the WHM
//! simulator's final state.

use std::collections::BTreeSet;

use applinks::domain::links::LINKS;
use applinks::domain::permission::Permission;
use applinks::whm::sim::FaultsUpdate;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, select, sim_conn, sim_links, sim_users, spawn_app, start_sim};

const BASE: &str = "/admin/setup/application-links";

/// The applinks_* apps of one user on a simulator, with label and order.
fn links_of(links: &serde_json::Map<String, Value>, user: &str) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = links
        .get(user)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(app, _)| app.starts_with("applinks_"))
                .map(|(app, l)| {
                    (
                        app.clone(),
                        l["label"].as_str().unwrap_or_default().to_string(),
                        l["order"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|(_, _, order)| order.parse::<i32>().unwrap_or(0));
    out
}

fn default_links() -> Vec<(String, String, String)> {
    LINKS
        .iter()
        .enumerate()
        .map(|(i, l)| {
            (
                format!("applinks_{}", l.key),
                l.default_label.to_string(),
                (i + 1).to_string(),
            )
        })
        .collect()
}

/// The configure form's fields as the page renders them, for editing in tests.
async fn config_fields(app: &TestApp, name: &str) -> Vec<(String, String)> {
    let (status, html) = app.text(&format!("{BASE}/{name}/configure")).await;
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
            Some((
                name,
                i.value().attr("value").unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

async fn post_fields(app: &TestApp, path: &str, fields: &[(String, String)]) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.post_form(path, &pairs).await
}

#[tokio::test]
async fn enabling_cpanel_provisions_exactly_the_shown_links_on_every_account_of_every_cpanel_server()
 {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let one = start_sim(6, "cpanel", "11.134.0.5").await;
    let two = start_sim(4, "cpanel", "11.134.0.5").await;
    let wp = start_sim(3, "wp2", "11.134.0.5").await;
    let s1 = app.add_server("cp1", &one, "cpanel").await;
    let s2 = app.add_server("cp2", &two, "cpanel").await;
    let s3 = app.add_server("wp", &wp, "wp2").await;
    let ids1 = app.add_accounts(s1, &sim_users(6)).await;
    app.add_accounts(s2, &sim_users(4)).await;
    app.add_accounts(s3, &sim_users(3)).await;

    let r = app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(status["enabled"], true);
    let op = &status["operation"];
    assert_eq!(op["kind"], "activate");
    assert_eq!(op["servers_total"], 2);
    assert_eq!(op["servers_done"], 2);
    assert_eq!(op["accounts_total"], 10);
    assert_eq!(op["accounts_done"], 10);
    assert_eq!(op["warnings"], 0);

    let links = sim_links(&one);
    for user in sim_users(6) {
        assert_eq!(links_of(&links, &user), default_links(), "{user}");
    }
    let first = &links["user0001"]["applinks_ticket_open"];
    assert_eq!(first["implements"], "support");
    assert_eq!(first["subscriber_unique_id"], ids1[0].to_string());
    assert_eq!(
        first["autologin_token_url"],
        format!("{}/sso/cpanel/ticket_open", app.base_url),
        "the URL names the link: cPanel does not send `app`"
    );
    assert_eq!(first["url"], format!("{}/client/tickets/new", app.base_url));
    assert_eq!(first["group_id"], "applinks");
    assert_eq!(first["hide"], "0");
    // Each link carries its group's icon, the PNG that ships in static/icons/.
    let support_icon = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/static/icons/support.png"
        ))
        .unwrap(),
    );
    assert_eq!(first["base64_png_image"], support_icon.as_str());
    assert_ne!(
        links["user0001"]["applinks_profile"]["base64_png_image"],
        support_icon.as_str(),
        "Account links have an icon of their own"
    );
    // Every account has applinks' own group, first, with the default label.
    for user in sim_users(6) {
        let groups = one.state_json()["groups"][&user].clone();
        assert_eq!(
            groups,
            serde_json::json!({"applinks": {"label": "Billing & Support", "order": 1}}),
            "{user}"
        );
    }
    let token = first["token"].as_str().unwrap();
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    // One token per account and application, the same on all its links.
    assert_eq!(links["user0001"]["applinks_profile"]["token"], token);
    assert_ne!(links["user0002"]["applinks_profile"]["token"], token);
    for user in sim_users(4) {
        assert_eq!(links_of(&sim_links(&two), &user), default_links(), "{user}");
    }
    // WP Squared is still off: its server was not touched.
    assert!(
        sim_links(&wp)
            .values()
            .all(|v| v.as_object().is_none_or(|m| m.is_empty()))
    );
    assert_eq!(app.unfinished_jobs().await, 0);

    // The page shows the badge, and the log the steps.
    let (_, html) = app.text(BASE).await;
    assert_eq!(select(&html, "tr[data-app=cpanel] .badge"), vec!["ACTIVE"]);
    assert_eq!(select(&html, "tr[data-app=wp2] .badge"), vec!["DISABLED"]);
    let debug = app.log_rows("cpanel", "debug").await;
    assert!(
        debug
            .iter()
            .any(|r| r[3].starts_with("Operation started: activate")),
        "{debug:?}"
    );
    assert!(
        debug.iter().any(|r| r[3].starts_with("Operation finished")),
        "{debug:?}"
    );
    assert!(
        debug
            .iter()
            .any(|r| r[1] == "cp1" && r[3].starts_with("Server cp1 finished")),
        "{debug:?}"
    );

    // Operators see the same figures on /metrics (no sign-in needed).
    let metrics = crate::helpers::client()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.unwrap();
    for line in [
        "applinks_app_enabled{app=\"cpanel\"} 1",
        "applinks_app_enabled{app=\"wp2\"} 0",
        "applinks_operation_accounts{app=\"cpanel\",progress=\"done\"} 10",
        "applinks_operation_servers{app=\"cpanel\",outcome=\"done\"} 2",
        "applinks_operation_running{app=\"cpanel\"} 0",
        "applinks_jobs{status=\"Done\"} 2",
        "applinks_workers_alive 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
    }
    app.finish().await;
}

#[tokio::test]
async fn editing_labels_hiding_and_reordering_while_active_converges_and_disabling_removes_everything()
 {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = start_sim(3, "cpanel", "11.134.0.5").await;
    let sid = app.add_server("cp1", &sim, "cpanel").await;
    app.add_accounts(sid, &sim_users(3)).await;
    // A link that belongs to someone else must survive everything.
    let foreign = applinks::whm::types::CreateLink {
        user: "user0001".into(),
        app: "otherbilling_portal".into(),
        implements: "billing".into(),
        label: "Theirs".into(),
        subscriber_unique_id: "x".into(),
        token: "t".to_string().into(),
        autologin_token_url: None,
        url: Some("https://other.example/".into()),
        group_id: None,
        order: None,
        hide: false,
        base64_png_image: None,
    };
    applinks::whm::client::WhmClient::new(Default::default())
        .server(&sim_conn(&sim))
        .create_integration_link(&foreign)
        .await
        .unwrap();

    app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    app.wait_idle("cpanel").await;
    let token_before = sim_links(&sim)["user0002"]["applinks_profile"]["token"].clone();

    // Rename one, hide two, move the last link to the top.
    let mut fields = config_fields(&app, "cpanel").await;
    for (name, value) in fields.iter_mut() {
        if name == "label_ticket_open" {
            *value = "Get <help> & \"support\"".into();
        }
        if name == "order" {
            let mut keys: Vec<&str> = value.split(',').collect();
            let last = keys.pop().unwrap();
            keys.insert(0, last);
            *value = keys.join(",");
        }
    }
    fields.retain(|(n, _)| n != "shown_addons" && n != "shown_downloads");
    for (name, value) in fields.iter_mut() {
        if name == "group_label" {
            *value = "Hosting Help".into();
        }
    }
    let r = post_fields(&app, &format!("{BASE}/cpanel/configure"), &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["operation"]["kind"], "sync");
    assert_eq!(status["state"], "active");

    let links = sim_links(&sim);
    for user in sim_users(3) {
        let got = links_of(&links, &user);
        assert_eq!(got.len(), 13, "{user}: {got:?}");
        assert_eq!(got[0].0, "applinks_invoice_history", "moved to the top");
        assert_eq!(got[0].2, "1");
        assert!(
            !got.iter()
                .any(|(a, _, _)| a == "applinks_addons" || a == "applinks_downloads")
        );
        let ticket = got
            .iter()
            .find(|(a, _, _)| a == "applinks_ticket_open")
            .unwrap();
        assert_eq!(ticket.1, "Get <help> & \"support\"");
        assert_eq!(
            sim.state_json()["groups"][&user]["applinks"]["label"],
            "Hosting Help"
        );
    }
    assert_eq!(
        links["user0002"]["applinks_profile"]["token"], token_before,
        "token reused on re-create"
    );
    // The form shows the saved state, escaped.
    let (_, html) = app.text(&format!("{BASE}/cpanel/configure")).await;
    assert_eq!(
        crate::helpers::attr(&html, "input[name=label_ticket_open]", "value").unwrap(),
        "Get <help> & \"support\""
    );

    let r = app.post_form(&format!("{BASE}/cpanel/disable"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["state"], "disabled", "{status}");
    assert_eq!(status["operation"]["kind"], "deactivate");
    let links = sim_links(&sim);
    for user in sim_users(3) {
        assert!(links_of(&links, &user).is_empty(), "{user}");
        assert!(
            sim.state_json()["groups"][&user].get("applinks").is_none(),
            "{user}: the group goes with the links"
        );
    }
    assert!(
        links["user0001"].get("otherbilling_portal").is_some(),
        "foreign link untouched"
    );
    assert_eq!(app.unfinished_jobs().await, 0);
    app.finish().await;
}

#[tokio::test]
async fn an_old_server_is_skipped_with_information_and_no_supported_server_gives_a_notice() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let new = start_sim(2, "cpanel", "11.134.0.5").await;
    let old = start_sim(2, "cpanel", "11.52.0.1").await;
    let s_new = app.add_server("modern", &new, "cpanel").await;
    let s_old = app.add_server("ancient", &old, "cpanel").await;
    app.add_accounts(s_new, &sim_users(2)).await;
    app.add_accounts(s_old, &sim_users(2)).await;

    app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(status["operation"]["servers_skipped"], 1);
    assert_eq!(status["operation"]["servers_done"], 1);
    let info = app.log_rows("cpanel", "info").await;
    assert_eq!(info.len(), 1, "{info:?}");
    assert_eq!(info[0][0], "Information");
    assert_eq!(info[0][1], "ancient");
    assert!(info[0][3].contains("11.52.0.1"), "{info:?}");
    assert!(app.log_rows("cpanel", "notice").await.is_empty());
    assert!(
        sim_links(&old)
            .values()
            .all(|v| v.as_object().is_none_or(|m| m.is_empty()))
    );
    assert_eq!(links_of(&sim_links(&new), "user0001").len(), 15);

    // WP Squared has no server at all: switching it on ends in a Notice, and the page says why.
    let (_, html) = app.text(BASE).await;
    assert_eq!(
        select(&html, "tr[data-app=wp2] .empty-state a"),
        vec!["Add a server"]
    );
    app.post_form(&format!("{BASE}/wp2/enable"), &[]).await;
    let status = app.wait_idle("wp2").await;
    assert_eq!(status["operation"]["servers_total"], 0);
    let notice = app.log_rows("wp2", "notice").await;
    assert_eq!(notice.len(), 1, "{notice:?}");
    assert!(notice[0][3].starts_with("No server of WP Squared supports application links"));
    app.finish().await;
}

#[tokio::test]
async fn an_application_whose_only_servers_are_too_old_gets_a_notice() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let old = start_sim(1, "cpanel", "11.40.0.0").await;
    let sid = app.add_server("ancient", &old, "cpanel").await;
    app.add_accounts(sid, &sim_users(1)).await;
    app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    app.wait_idle("cpanel").await;
    assert_eq!(app.log_rows("cpanel", "info").await.len(), 1);
    assert_eq!(app.log_rows("cpanel", "notice").await.len(), 1);
    app.finish().await;
}

#[tokio::test]
async fn accounts_the_server_lacks_give_hinted_warnings_for_exactly_those_and_no_failure() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = start_sim(5, "cpanel", "11.134.0.5").await;
    let sid = app.add_server("cp1", &sim, "cpanel").await;
    app.add_accounts(sid, &sim_users(5)).await;
    // An account applinks has but the server does not, and one without a username.
    app.add_accounts(sid, &["gone0001".to_string()]).await;
    sqlx::query("insert into accounts (client_id, server_id, username) select client_id, server_id, '' from accounts where username = 'gone0001'")
        .execute(&app.pool)
        .await
        .unwrap();
    sim.set_faults(FaultsUpdate {
        fail_users: Some(vec!["user0002".into(), "user0004".into()]),
        ..Default::default()
    })
    .unwrap();

    app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    let status = app.wait_idle("cpanel").await;
    // Known-harmless warnings (SPEC §6) are not failures (issue 11).
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(status["operation"]["servers_failed"], 0);
    assert_eq!(status["operation"]["accounts_done"], 7);
    assert_eq!(status["operation"]["warnings"], 4);

    let warnings = app.log_rows("cpanel", "warning").await;
    let accounts: BTreeSet<&str> = warnings.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(
        accounts,
        BTreeSet::from(["", "gone0001", "user0002", "user0004"]),
        "{warnings:?}"
    );
    let not_found = warnings.iter().find(|r| r[2] == "user0002").unwrap();
    assert!(
        not_found[3].contains("You do not have a user named “user0002”."),
        "cPanel's own words: {not_found:?}"
    );
    assert!(
        not_found[3].contains("no longer has"),
        "hint beside the server's words: {not_found:?}"
    );
    let empty = warnings.iter().find(|r| r[2].is_empty()).unwrap();
    assert!(empty[3].contains("may not be empty"), "{empty:?}");
    let links = sim_links(&sim);
    for user in ["user0001", "user0003", "user0005"] {
        assert_eq!(links_of(&links, user).len(), 15, "{user}");
    }
    assert!(links_of(&links, "user0002").is_empty());

    let (_, html) = app.text(BASE).await;
    assert_eq!(select(&html, "tr[data-app=cpanel] .badge"), vec!["ACTIVE"]);

    // Lift the fault, fix the data, run again.
    sim.set_faults(FaultsUpdate {
        fail_users: Some(vec![]),
        ..Default::default()
    })
    .unwrap();
    sqlx::query("update accounts set status = 'terminated' where username in ('', 'gone0001')")
        .execute(&app.pool)
        .await
        .unwrap();
    let r = app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["operation"]["kind"], "activate");
    assert_eq!(
        status["state"], "active",
        "terminated accounts the server lacks are fine: {status}"
    );
    assert_eq!(status["operation"]["warnings"], 0);
    let links = sim_links(&sim);
    for user in sim_users(5) {
        assert_eq!(links_of(&links, &user).len(), 15, "{user}");
    }
    app.finish().await;
}

#[tokio::test]
async fn a_resellers_unknown_account_text_gets_the_hint_and_a_terminated_account_it_lacks_is_fine()
{
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = applinks::whm::sim::spawn(applinks::whm::sim::SimConfig {
        accounts: 2,
        owner: applinks::whm::sim::Owner::Reseller,
        ..Default::default()
    })
    .await
    .unwrap();
    let sid = app.add_server("reseller", &sim, "cpanel").await;
    app.add_accounts(sid, &sim_users(2)).await;
    app.add_accounts(sid, &["gone0001".to_string(), "gone0002".to_string()])
        .await;
    sqlx::query("update accounts set status = 'terminated' where username = 'gone0002'")
        .execute(&app.pool)
        .await
        .unwrap();

    app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["operation"]["warnings"], 1, "{status}");
    let warnings = app.log_rows("cpanel", "warning").await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0][2], "gone0001");
    assert!(
        warnings[0][3].contains("You do not have access to an account named “gone0001”."),
        "{warnings:?}"
    );
    assert!(
        warnings[0][3].contains("no longer has"),
        "hint: {warnings:?}"
    );
    for user in sim_users(2) {
        assert_eq!(links_of(&sim_links(&sim), &user).len(), 15, "{user}");
    }
    app.finish().await;
}

#[tokio::test]
async fn configuration_validation_errors_are_422_and_change_nothing() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let before = config_fields(&app, "cpanel").await;

    let mut empty_label = before.clone();
    for (n, v) in empty_label.iter_mut() {
        if n == "label_profile" {
            *v = "   ".into();
        }
        if n == "label_upgrade" {
            *v = "x".repeat(101);
        }
    }
    let r = post_fields(&app, &format!("{BASE}/cpanel/configure"), &empty_label).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert_eq!(
        select(&html, "tr[data-key=profile] .field-error"),
        vec!["Enter a display label."]
    );
    assert!(select(&html, "tr[data-key=upgrade] .field-error")[0].contains("at most 100"));

    let mut unknown = before.clone();
    unknown.push(("label_rm_rf".into(), "boom".into()));
    let r = post_fields(&app, &format!("{BASE}/cpanel/configure"), &unknown).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        select(&html, ".form-errors li")
            .iter()
            .any(|e| e.contains("Unknown link"))
    );

    let mut bad_order = before.clone();
    for (n, v) in bad_order.iter_mut() {
        if n == "order" {
            *v = "upgrade,upgrade".into();
        }
    }
    let r = post_fields(&app, &format!("{BASE}/cpanel/configure"), &bad_order).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    assert_eq!(config_fields(&app, "cpanel").await, before, "nothing saved");
    let ops: i64 = sqlx::query_scalar("select count(*) from operations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(ops, 0);

    // Saving while off is allowed and starts nothing.
    let mut renamed = before.clone();
    for (n, v) in renamed.iter_mut() {
        if n == "label_profile" {
            *v = "My details".into();
        }
    }
    let r = post_fields(&app, &format!("{BASE}/cpanel/configure"), &renamed).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(config_fields(&app, "cpanel").await, renamed);
    let ops: i64 = sqlx::query_scalar("select count(*) from operations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(ops, 0);

    // The arrows work without JavaScript: they reorder the form, unsaved.
    let mut moving = before.clone();
    moving.push(("move".into(), "addons:up".into()));
    let r = post_fields(&app, &format!("{BASE}/cpanel/configure"), &moving).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let order = crate::helpers::attr(&html, "input[name=order]", "value").unwrap();
    assert!(order.starts_with("addons,upgrade,"), "{order}");
    app.finish().await;
}

/// `fields` with `name` set to `value`.
fn with_field(fields: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(n, v)| {
            let v = if n == name { value } else { v.as_str() };
            (n.clone(), v.to_string())
        })
        .collect()
}

#[tokio::test]
async fn a_straight_apostrophe_or_a_control_character_is_refused_and_the_typographic_one_is_offered()
 {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let path = format!("{BASE}/cpanel/configure");
    let before = config_fields(&app, "cpanel").await;
    assert!(
        before.contains(&("group_label".into(), "Billing & Support".into())),
        "{before:?}"
    );

    let quoted = with_field(&before, "label_profile", "Customer's Profile");
    let r = post_fields(&app, &path, &quoted).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    let error = select(&html, "tr[data-key=profile] .field-error").join(" ");
    assert!(error.contains("cPanel refuses"), "{error}");
    assert!(error.contains('’'), "{error}");
    assert_eq!(
        crate::helpers::attr(&html, "input[name=label_profile]", "value").as_deref(),
        Some("Customer's Profile"),
        "what was typed stays in the form"
    );

    let quoted_group = with_field(&before, "group_label", "Rock'n'Roll Hosting");
    let r = post_fields(&app, &path, &quoted_group).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(select(&html, ".group-label-field .field-error")[0].contains('’'));

    for bad in ["Open\u{0}Ticket", "Open\nTicket", "Open\u{7f}Ticket"] {
        let r = post_fields(&app, &path, &with_field(&before, "label_ticket_open", bad)).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        let html = r.text().await.unwrap();
        assert!(
            select(&html, "tr[data-key=ticket_open] .field-error")[0].contains("control"),
            "{bad:?}"
        );
    }
    assert_eq!(config_fields(&app, "cpanel").await, before, "nothing saved");

    let typographic = with_field(&before, "label_profile", "Customer’s Profile");
    let typographic = with_field(&typographic, "group_label", "Customer’s Corner");
    let r = post_fields(&app, &path, &typographic).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(config_fields(&app, "cpanel").await, typographic);
    let ops: i64 = sqlx::query_scalar("select count(*) from operations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(ops, 0, "cPanel is off: nothing to push yet");
    app.finish().await;
}

#[tokio::test]
async fn the_configure_page_shows_each_links_icon() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let (_, html) = app.text(&format!("{BASE}/cpanel/configure")).await;
    for (key, icon) in [
        ("upgrade", "ordering.png"),
        ("ticket_open", "support.png"),
        ("invoice_history", "account.png"),
    ] {
        let src =
            crate::helpers::attr(&html, &format!("tr[data-key={key}] td.icon img"), "src").unwrap();
        assert_eq!(src, format!("/static/icons/{icon}"));
        let r = app.get(&src).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "image/png");
    }
    app.finish().await;
}

#[tokio::test]
async fn restricted_admin_gets_403_on_every_application_links_route_and_nothing_changes() {
    let app = spawn_app().await;
    app.login_restricted(&[Permission::ConfigureServers]).await;
    for path in [
        BASE.to_string(),
        format!("{BASE}/cpanel/configure"),
        format!("{BASE}/cpanel/status"),
        format!("{BASE}/cpanel/log"),
        format!("{BASE}/wp2/log?level=warning"),
    ] {
        assert_eq!(
            app.get(&path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
        assert_eq!(
            app.get_json(&path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    for path in ["enable", "disable", "configure", "retry"] {
        let r = app
            .post_form(&format!("{BASE}/cpanel/{path}"), &[("label_profile", "x")])
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let enabled: bool = sqlx::query_scalar("select enabled from applications where app = 'cpanel'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!enabled);
    let ops: i64 = sqlx::query_scalar("select count(*) from operations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(ops, 0);
    app.finish().await;
}

#[tokio::test]
async fn a_superseded_operation_stops_early_and_says_so() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    // Enough accounts for several rounds of batches, each taking the server a while.
    let sim = start_sim(300, "cpanel", "11.134.0.5").await;
    sim.set_faults(FaultsUpdate {
        latency_ms: Some(30),
        command_ms: Some(1),
        ..Default::default()
    })
    .unwrap();
    let sid = app.add_server("slow", &sim, "cpanel").await;
    app.add_accounts(sid, &sim_users(300)).await;
    app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    // Wait until the job is under way, then switch off.
    for _ in 0..200 {
        let s = app.status("cpanel").await;
        if s["operation"]["accounts_done"].as_i64().unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.post_form(&format!("{BASE}/cpanel/disable"), &[]).await;
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["operation"]["kind"], "deactivate");
    assert_eq!(status["state"], "disabled");
    // Give the superseded job a moment to notice, then check it said so.
    for _ in 0..100 {
        let said: i64 = sqlx::query_scalar("select count(*) from operation_log where message like 'Stopped on slow: a newer operation%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        if said == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let said: i64 = sqlx::query_scalar("select count(*) from operation_log where message like 'Stopped on slow: a newer operation%'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(said, 1);
    // Whatever order the jobs ran in, the end state is the current desired one: no links.
    let links = sim_links(&sim);
    for user in sim_users(300) {
        assert!(links_of(&links, &user).is_empty(), "{user}");
    }
    app.finish().await;
}

/// Polls the simulator until `user` has `n` applinks_* links (up to 30 s).
async fn wait_for_links(sim: &applinks::whm::sim::SimHandle, user: &str, n: usize) -> usize {
    let mut got = 0;
    for _ in 0..300 {
        got = links_of(&sim_links(sim), user).len();
        if got == n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    got
}

#[tokio::test]
async fn an_account_added_while_cpanel_is_on_gets_its_links_and_loses_them_when_terminated() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = start_sim(3, "cpanel", "11.134.0.5").await;
    let sid = app.add_server("cp1", &sim, "cpanel").await;
    app.add_accounts(sid, &sim_users(2)).await;
    app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    app.wait_idle("cpanel").await;
    assert!(links_of(&sim_links(&sim), "user0003").is_empty());

    // The admin adds user0003's account by hand on a client's page.
    let client_id: i64 = sqlx::query_scalar("select id from clients order by id limit 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let r = app
        .post_form(
            &format!("/admin/clients/{client_id}/accounts"),
            &[
                ("server_id", &sid.to_string()),
                ("username", "user0003"),
                ("domain", "user0003.example.test"),
                ("status", "active"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(wait_for_links(&sim, "user0003", 15).await, 15);
    // An account event does not replace the application's status.
    assert_eq!(app.status("cpanel").await["operation"]["kind"], "activate");

    let account_id: i64 = sqlx::query_scalar("select id from accounts where username = 'user0003'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let r = app
        .post_form(
            &format!("/admin/clients/{client_id}/accounts/{account_id}/status"),
            &[("status", "terminated")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(wait_for_links(&sim, "user0003", 0).await, 0);
    assert_eq!(
        links_of(&sim_links(&sim), "user0001").len(),
        15,
        "others untouched"
    );
    // The account operations' steps are in the log.
    let debug = app.log_rows("cpanel", "debug").await;
    assert!(
        debug
            .iter()
            .any(|r| r[3].starts_with("Operation started: account")),
        "{debug:?}"
    );
    app.finish().await;
}
