//! Security hardening: findings of the review, each with the test that reproduces it.

use applinks::db::session_store::PgSessionStore;
use applinks::domain::ids::ServerId;
use reqwest::StatusCode;
use tower_sessions::SessionStore as _;
use tower_sessions::session::{Id, Record};

use crate::helpers::{PASSWORD, client, location, spawn_app};

fn record() -> Record {
    let mut data = std::collections::HashMap::new();
    data.insert("admin_id".to_string(), serde_json::json!(1));
    Record {
        id: Id::default(),
        data,
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    }
}

#[tokio::test]
async fn a_session_deleted_at_sign_out_is_never_written_back_by_a_request_that_loaded_it_before() {
    let app = spawn_app().await;
    let store = PgSessionStore::new(app.pool.clone());
    let mut created = record();
    store.create(&mut created).await.unwrap();

    // A slow request loads the session, the admin signs out, then the slow request ends and
    // writes the session it holds.
    let mut held = store.load(&created.id).await.unwrap().expect("loaded");
    store.delete(&created.id).await.unwrap();
    held.data
        .insert("flash".into(), serde_json::json!("late write"));
    store.save(&held).await.unwrap();
    assert!(
        store.load(&created.id).await.unwrap().is_none(),
        "the signed-out session stays gone"
    );

    // A live session is still updated by a save.
    let mut live = record();
    store.create(&mut live).await.unwrap();
    live.data.insert("flash".into(), serde_json::json!("kept"));
    store.save(&live).await.unwrap();
    let loaded = store.load(&live.id).await.unwrap().expect("still there");
    assert_eq!(loaded.data["flash"], "kept");
    app.finish().await;
}

#[tokio::test]
async fn a_copied_cookie_stops_working_at_sign_out() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let r = app.get("/admin").await;
    assert_eq!(r.status(), StatusCode::OK);
    // Every stored session id (the signed-in one among them), replayed as a copied cookie
    // from another client after sign-out.
    let ids = sqlx::query_scalar::<_, String>("select id from tower_sessions.session")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(!ids.is_empty());
    let r = app.post_form("/admin/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for id in ids {
        let r = client()
            .get(app.url("/admin"))
            .header("cookie", format!("applinks_session={id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(r.headers()), "/admin/login");
    }
    app.finish().await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let anonymous = client();
    let mut responses = vec![
        anonymous.get(app.url("/admin/login")).send().await.unwrap(),
        anonymous.get(app.url("/admin")).send().await.unwrap(),
        anonymous.get(app.url("/nowhere")).send().await.unwrap(),
        anonymous
            .get(app.url("/static/applinks.css"))
            .send()
            .await
            .unwrap(),
        anonymous.get(app.url("/healthz")).send().await.unwrap(),
        anonymous
            .post(app.url("/sso/cpanel/profile"))
            .form(&[("token", "x")])
            .send()
            .await
            .unwrap(),
    ];
    app.login_full_admin().await;
    responses.push(app.get("/admin/setup/application-links").await);
    for r in responses {
        let url = r.url().to_string();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{url}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{url}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{url}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{url}");
        assert_eq!(h["referrer-policy"], "same-origin", "{url}");
        assert!(
            h.get("strict-transport-security").is_none(),
            "plain http: {url}"
        );
    }
    app.finish().await;
}

#[tokio::test]
async fn anonymous_requests_anywhere_under_admin_are_sent_to_sign_in_and_admins_get_404() {
    let app = spawn_app().await;
    for path in [
        "/admin/nowhere",
        "/admin/setup/nothing/here",
        "/admin/servers/9/x",
    ] {
        let r = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(r.headers()), "/admin/login", "{path}");
    }
    app.login_full_admin().await;
    let r = app.get("/admin/nowhere").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.finish().await;
}

/// An id in a path that is not one (text, a fraction, a number beyond the key's range) is the
/// 404 page, for a page and for a change alike, and the change is not made: the typed ids are
/// parsed by `web::extract::Path` before any handler runs.
#[tokio::test]
async fn malformed_ids_in_paths_are_404_and_change_nothing() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let client = app.add_client("Acme", "owner@acme.example").await;
    for path in [
        "/admin/servers/x",
        "/admin/servers/1.5/edit",
        "/admin/servers/99999999999999999999",
        "/admin/clients/x",
        "/admin/clients/1e3/edit",
    ] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let before = (app.count("clients").await, app.count("client_users").await);
    for path in [
        "/admin/servers/x/test".to_string(),
        "/admin/servers/-1.0/delete".to_string(),
        "/admin/clients/x/users".to_string(),
        format!("/admin/clients/{client}/accounts/x/status"),
        format!("/admin/clients/{client}/accounts/1.5/reset-token"),
    ] {
        let r = app
            .post_form(&path, &[("name", "Eve"), ("email", "eve@acme.example")])
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let after = (app.count("clients").await, app.count("client_users").await);
    assert_eq!(after, before);
    app.finish().await;
}

/// A client whose requests come from `address` (any 127.x.y.z is this machine).
fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(std::net::IpAddr::from(address))
        .build()
        .unwrap()
}

/// Signs in from `browser` (fetching the form's CSRF token first); answers the status.
async fn sign_in_from(
    app: &crate::helpers::TestApp,
    browser: &reqwest::Client,
    username: &str,
    password: &str,
) -> StatusCode {
    sign_in_with(app, browser, username, password, None).await
}

/// The same, with an `X-Forwarded-For` header when `forwarded` is given.
async fn sign_in_with(
    app: &crate::helpers::TestApp,
    browser: &reqwest::Client,
    username: &str,
    password: &str,
    forwarded: Option<&str>,
) -> StatusCode {
    let html = browser
        .get(app.url("/admin/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = crate::helpers::attr(&html, "meta[name=csrf-token]", "content").unwrap();
    let mut request = browser.post(app.url("/admin/login")).form(&[
        ("username", username),
        ("password", password),
        ("csrf_token", &token),
    ]);
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn wrong_passwords_from_one_address_never_lock_the_real_admin_out() {
    let app = spawn_app().await;
    applinks::hosting::admins::create_admin(&app.pool, "root", "Full Administrator", PASSWORD)
        .await
        .unwrap();
    let attacker = client_from([127, 0, 0, 2]);
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(sign_in_from(&app, &attacker, "root", "guess").await);
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let admin = client_from([127, 0, 0, 3]);
    assert_eq!(
        sign_in_from(&app, &admin, "root", PASSWORD).await,
        StatusCode::SEE_OTHER,
        "the real admin signs in from another address"
    );
    app.finish().await;
}

#[tokio::test]
async fn a_huge_or_control_character_username_is_refused_before_any_work() {
    let app = spawn_app().await;
    let browser = client();
    let long = "a".repeat(10_000);
    for username in [long.as_str(), "root\nINFO forged line", "root\u{0}"] {
        assert_eq!(
            sign_in_from(&app, &browser, username, "x").await,
            StatusCode::UNAUTHORIZED,
            "{:?}",
            &username[..username.len().min(20)]
        );
    }
    // A body beyond the form's bound is refused outright.
    let huge = "a".repeat(200_000);
    let r = browser
        .post(app.url("/admin/login"))
        .form(&[("username", huge.as_str()), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    app.finish().await;
}

async fn session_rows(app: &crate::helpers::TestApp) -> Vec<(String, serde_json::Value, f64)> {
    sqlx::query_as(
        "select id, data, extract(epoch from expiry_date - now())::float8
         from tower_sessions.session order by id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn pages_without_a_form_store_no_session_and_a_sign_in_form_one_of_30_minutes() {
    let app = spawn_app().await;
    let visitor = client();
    for path in [
        "/healthz",
        "/nowhere",
        "/admin",
        "/client/tickets",
        "/client/login",
        "/sso/login?token=nonsense",
        "/static/applinks.css",
    ] {
        visitor.get(app.url(path)).send().await.unwrap();
    }
    assert!(
        session_rows(&app).await.is_empty(),
        "an anonymous flood stores nothing"
    );

    let html = visitor
        .get(app.url("/admin/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        crate::helpers::attr(&html, "meta[name=csrf-token]", "content")
            .is_some_and(|t| !t.is_empty())
    );
    let rows = session_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].2 <= 30.0 * 60.0 + 5.0, "anonymous: {} s", rows[0].2);
    app.finish().await;
}

#[tokio::test]
async fn a_signed_in_page_view_does_not_rewrite_the_session() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    app.get("/admin").await;
    let before = session_rows(&app).await;
    let signed_in: Vec<_> = before
        .iter()
        .filter(|(_, data, _)| data.get("admin_id").is_some())
        .collect();
    assert_eq!(signed_in.len(), 1);
    assert!(signed_in[0].2 > 7.0 * 3600.0, "signed in: 8 h idle expiry");
    for path in ["/admin", "/admin/setup/application-links", "/admin/servers"] {
        assert_eq!(app.get(path).await.status(), StatusCode::OK);
    }
    let after = session_rows(&app).await;
    let same: Vec<_> = after.iter().map(|(id, data, _)| (id, data)).collect();
    let was: Vec<_> = before.iter().map(|(id, data, _)| (id, data)).collect();
    assert_eq!(
        same, was,
        "page views within a minute change nothing stored"
    );

    // A flash is shown once, then gone from the session.
    let r = app
        .post_form("/admin/setup/application-links/cpanel/retry", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = app
        .get("/admin/setup/application-links")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(crate::helpers::select(&html, ".flash").len(), 1);
    let html = app
        .get("/admin/setup/application-links")
        .await
        .text()
        .await
        .unwrap();
    assert!(crate::helpers::select(&html, ".flash").is_empty());
    app.finish().await;
}

#[tokio::test]
async fn an_oversized_or_field_flooded_configure_form_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let path = "/admin/setup/application-links/cpanel/configure";
    let token = app.csrf_token().await;
    // 16,000 fields within the size bound: refused at once, not parsed quadratically.
    let mut flood: Vec<(String, String)> = (0..16_000)
        .map(|_| ("x".to_string(), String::new()))
        .collect();
    flood.push(("csrf_token".into(), token.clone()));
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&flood)
        .finish();
    assert!(body.len() < 64 * 1024, "{}", body.len());
    let r = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // A body beyond 64 KiB is refused before anything reads it.
    let huge = "x".repeat(100 * 1024);
    let r = app
        .client
        .post(app.url(path))
        .form(&[
            ("csrf_token", token.as_str()),
            ("label_profile", huge.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let labels: Vec<String> =
        sqlx::query_scalar("select label from app_links where link_key = 'profile'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(labels.iter().all(|l| l == "Manage Profile"), "{labels:?}");
    app.finish().await;
}

#[tokio::test]
async fn metrics_need_the_bearer_token_when_one_is_set_and_refuse_proxied_requests_without_one() {
    let app = crate::helpers::spawn_app_with(0, |web| {
        web.metrics_token = Some("scrape-me".to_string().into());
    })
    .await;
    let r = client().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = client()
        .get(app.url("/metrics"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = client()
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("applinks_jobs"));
    app.finish().await;

    // No token, and a proxy on this machine relays the request: not a local scrape.
    let app = crate::helpers::spawn_app_with(0, |web| {
        web.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let r = client()
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = client().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "a direct local scrape");
    app.finish().await;
}

#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    // Without trusted proxies, rotating X-Forwarded-For does not dodge the throttle.
    let app = spawn_app().await;
    applinks::hosting::admins::create_admin(&app.pool, "root", "Full Administrator", PASSWORD)
        .await
        .unwrap();
    let mut last = StatusCode::OK;
    for i in 0..12 {
        last = sign_in_forwarded(&app, &format!("198.51.100.{i}")).await;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    app.finish().await;

    // Behind a trusted proxy, each forwarded client has its own quota.
    let app = crate::helpers::spawn_app_with(0, |web| {
        web.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    applinks::hosting::admins::create_admin(&app.pool, "root", "Full Administrator", PASSWORD)
        .await
        .unwrap();
    for _ in 0..12 {
        last = sign_in_forwarded(&app, "198.51.100.1").await;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        sign_in_forwarded(&app, "198.51.100.2").await,
        StatusCode::UNAUTHORIZED,
        "another client behind the same proxy is not throttled"
    );
    app.finish().await;
}

/// A wrong-password sign-in whose request names `forwarded` in X-Forwarded-For.
async fn sign_in_forwarded(app: &crate::helpers::TestApp, forwarded: &str) -> StatusCode {
    sign_in_with(app, &client(), "root", "guess", Some(forwarded)).await
}

#[tokio::test]
async fn the_log_shows_200_entries_a_page_and_keeps_the_filter_across_pages() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let op = uuid::Uuid::new_v4();
    sqlx::query(
        "insert into operations (id, app, kind, finished_at) values ($1, 'cpanel', 'sync', now())",
    )
    .bind(op)
    .execute(&app.pool)
    .await
    .unwrap();
    // As `db::operations::insert` does for an application-wide operation.
    sqlx::query("update applications set last_operation_id = $1 where app = 'cpanel'")
        .bind(op)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into operation_log (operation_id, level, message)
         select $1, case when n % 2 = 0 then 'warning' else 'debug' end, 'entry ' || n
         from generate_series(1, 450) as n",
    )
    .bind(op)
    .execute(&app.pool)
    .await
    .unwrap();
    let base = "/admin/setup/application-links/cpanel/log";
    let html = app.get(base).await.text().await.unwrap();
    assert_eq!(crate::helpers::select(&html, "tr.log-entry").len(), 200);
    assert_eq!(
        crate::helpers::attr(&html, "nav.pager a.older", "href").as_deref(),
        Some("?page=2")
    );
    let html = app
        .get(&format!("{base}?page=3"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(crate::helpers::select(&html, "tr.log-entry").len(), 50);
    assert!(crate::helpers::select(&html, "nav.pager a.older").is_empty());

    let html = app
        .get(&format!("{base}?level=warning&page=2"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(crate::helpers::select(&html, "tr.log-entry").len(), 25);
    assert_eq!(
        crate::helpers::attr(&html, "nav.pager a.newer", "href").as_deref(),
        Some("?level=warning&page=1")
    );
    for odd in [
        "?page=0",
        "?page=-4",
        "?page=abc",
        "?page=99999999999999999999",
    ] {
        let r = app.get(&format!("{base}{odd}")).await;
        assert_eq!(r.status(), StatusCode::OK, "{odd}");
    }
    app.finish().await;
}

#[tokio::test]
async fn client_and_server_lists_come_a_page_at_a_time_with_a_search() {
    let app = spawn_app().await;
    app.login_full_admin().await;
    sqlx::query(
        "insert into clients (name, email)
         select 'Client ' || lpad(n::text, 4, '0'), 'c' || n || '@example.test'
         from generate_series(1, 250) as n",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let html = app.get("/admin/clients").await.text().await.unwrap();
    assert_eq!(crate::helpers::select(&html, "tr.client-row").len(), 100);
    assert_eq!(
        crate::helpers::attr(&html, "nav.pager a.older", "href").as_deref(),
        Some("?page=2")
    );
    let html = app.get("/admin/clients?page=3").await.text().await.unwrap();
    assert_eq!(crate::helpers::select(&html, "tr.client-row").len(), 50);
    let html = app
        .get("/admin/clients?q=CLIENT%20012")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        crate::helpers::select(&html, "tr.client-row .client-name"),
        (120..=129)
            .map(|n| format!("Client 0{n}"))
            .collect::<Vec<_>>()
    );
    let html = app
        .get("/admin/clients?q=c77%40")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        crate::helpers::select(&html, "tr.client-row .client-name"),
        ["Client 0077"]
    );
    let html = app.get("/admin/clients?q=%25").await.text().await.unwrap();
    assert!(
        crate::helpers::select(&html, "tr.client-row").is_empty(),
        "% is no wildcard"
    );
    for odd in ["?page=0", "?page=x", "?q=%00", "?page=99999999999999"] {
        let r = app.get(&format!("/admin/clients{odd}")).await;
        assert_eq!(r.status(), StatusCode::OK, "{odd}");
    }

    for (name, host) in [("alpha", "10.0.0.1"), ("beta", "cp.example.test")] {
        sqlx::query(
            "insert into servers (name, hostname, module, secret_ciphertext) values ($1, $2, 'cpanel', '\\x00')",
        )
        .bind(name)
        .bind(host)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    let html = app
        .get("/admin/servers?q=example")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        crate::helpers::select(&html, "tr.server-row .server-name"),
        ["beta"]
    );
    app.finish().await;
}

#[tokio::test]
async fn a_kept_token_never_follows_a_server_that_moved_meanwhile() {
    let app = spawn_app().await;
    let id: i64 = sqlx::query_scalar(
        "insert into servers (name, hostname, module, secret_ciphertext) values ('cp', 'old.example.test', 'cpanel', '\\x01') returning id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // An edit read the server at old.example.test and keeps its token; meanwhile another
    // admin moved the server (with a new token) to new.example.test.
    sqlx::query("update servers set hostname = 'new.example.test', secret_ciphertext = '\\x02' where id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    let stale = applinks::db::servers::ServerFields {
        name: "cp renamed".into(),
        hostname: "old.example.test".into(),
        port: 2087,
        module: applinks::domain::server::Module::Cpanel,
        username: "root".into(),
        auth_kind: applinks::domain::server::AuthKind::Token,
        use_tls: true,
        verify_tls: true,
        enabled: true,
    };
    let updated = applinks::db::servers::update(&app.pool, ServerId(id), &stale, None)
        .await
        .unwrap();
    assert!(!updated, "the stale edit is refused");
    let (host, secret): (String, Vec<u8>) =
        sqlx::query_as("select hostname, secret_ciphertext from servers where id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (host.as_str(), secret.as_slice()),
        ("new.example.test", &[2u8][..])
    );
    // The same edit with the token entered again goes through.
    let updated = applinks::db::servers::update(&app.pool, ServerId(id), &stale, Some(&[3u8]))
        .await
        .unwrap();
    assert!(updated);
    app.finish().await;
}
