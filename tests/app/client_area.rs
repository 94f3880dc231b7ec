//! The client area as a place (issue 12): its navigation and who is signed in, the account
//! owner's `/client/security` and `/client/users`, which change the same data as the admin's
//! client page, its error pages in its own layout, and the wall between client and admin
//! sessions.

use applinks::domain::ids::{AccountId, ClientId};
use reqwest::StatusCode;
use sha2::Digest as _;

use crate::helpers::{TestApp, attr, client, location, select, sim_users, spawn_app, start_sim};

/// The parts of the admin's layout that must never appear on a client-area page.
fn assert_no_admin_chrome(html: &str, what: &str) {
    for selector in [
        "nav.mainnav",
        "a.my-account",
        "form[action='/admin/logout']",
        "a[href='/admin']",
    ] {
        assert!(select(html, selector).is_empty(), "{what}: {selector}");
    }
}

/// A client with an account, its owner user and one more user.
struct Fixture {
    app: TestApp,
    client_id: i64,
    owner_id: i64,
    user_id: i64,
    account_id: i64,
    /// A user of another client.
    stranger_id: i64,
}

async fn fixture() -> Fixture {
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = start_sim(2, "cpanel", "11.134.0.5").await;
    let server = app.add_server("cp1", &sim, "cpanel").await;
    let accounts = app.add_accounts(server, &sim_users(2)).await;
    let client_of = |account: i64| {
        sqlx::query_scalar::<_, i64>("select client_id from accounts where id = $1")
            .bind(account)
            .fetch_one(&app.pool)
    };
    let client_id = client_of(accounts[0]).await.unwrap();
    let other_client = client_of(accounts[1]).await.unwrap();
    let add_user = |client: i64, name: &'static str, owner: bool| {
        sqlx::query_scalar::<_, i64>(
            "insert into client_users (client_id, name, email, is_owner)
             values ($1, $2, $2 || '@example.test', $3) returning id",
        )
        .bind(client)
        .bind(name)
        .bind(owner)
        .fetch_one(&app.pool)
    };
    let owner_id = add_user(client_id, "olivia", true).await.unwrap();
    let user_id = add_user(client_id, "uma", false).await.unwrap();
    let stranger_id = add_user(other_client, "sam", false).await.unwrap();
    Fixture {
        client_id,
        owner_id,
        user_id,
        account_id: accounts[0],
        stranger_id,
        app,
    }
}

impl Fixture {
    /// A browser signed in as client user `user_id` through a one-time token, as
    /// `/sso/cpanel` hands them out.
    async fn client_browser(&self, user_id: i64) -> reqwest::Client {
        let browser = client();
        self.sign_in(&browser, user_id).await;
        browser
    }

    /// Signs `browser` in as client user `user_id` (an admin signed in there stays so).
    async fn sign_in(&self, browser: &reqwest::Client, user_id: i64) {
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let hash = sha2::Sha256::digest(token.as_bytes()).to_vec();
        applinks::db::sso::insert_token(
            &self.app.pool,
            applinks::db::sso::NewToken {
                token_hash: &hash,
                client_id: ClientId(self.client_id),
                client_user_id: user_id,
                account_id: AccountId(self.account_id),
                destination: "/client/profile",
                ttl_secs: 120,
            },
        )
        .await
        .unwrap();
        let r = browser
            .get(self.app.url(&format!("/sso/login?token={token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(r.headers()), "/client/profile");
    }

    async fn page(&self, browser: &reqwest::Client, path: &str) -> (StatusCode, String) {
        let r = browser.get(self.app.url(path)).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// The CSRF token of `browser`'s session, from a client page.
    async fn token(&self, browser: &reqwest::Client) -> String {
        let (_, html) = self.page(browser, "/client/profile").await;
        attr(&html, "meta[name=csrf-token]", "content").expect("token")
    }

    async fn post(
        &self,
        browser: &reqwest::Client,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        browser
            .post(self.app.url(path))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    async fn allow_sso(&self) -> bool {
        sqlx::query_scalar("select allow_sso from clients where id = $1")
            .bind(self.client_id)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    async fn user_sso(&self, user_id: i64) -> bool {
        sqlx::query_scalar("select sso_allowed from client_users where id = $1")
            .bind(user_id)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn every_client_page_has_the_navigation_grouped_as_on_the_links_page_and_who_is_signed_in() {
    let f = fixture().await;
    let owner = f.client_browser(f.owner_id).await;
    for path in [
        "/client",
        "/client/profile",
        "/client/security",
        "/client/users",
    ] {
        let (status, html) = f.page(&owner, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(
            select(&html, ".client-nav-group h2"),
            ["Ordering", "Support", "Account", "Your account"],
            "{path}"
        );
        assert_eq!(select(&html, ".client-user"), ["olivia"], "{path}");
        assert_eq!(
            select(&html, ".client-name"),
            ["Client of user0001"],
            "{path}"
        );
        assert_eq!(
            select(&html, "form.client-logout button").len(),
            1,
            "{path}"
        );
    }
    let (_, html) = f.page(&owner, "/client/tickets/new").await;
    let labels: Vec<String> = applinks::domain::links::LINKS
        .iter()
        .map(|l| l.default_label.to_string())
        .chain(["Security Settings".into(), "User Management".into()])
        .collect();
    assert_eq!(select(&html, ".client-nav a"), labels);
    assert_eq!(
        select(&html, ".client-nav a[aria-current=page]"),
        ["Open Ticket"]
    );
    assert_eq!(
        attr(&html, ".client-nav-group[data-group=Support] a", "href").as_deref(),
        Some("/client/tickets/new")
    );

    // Another user sees the destinations but not the owner's settings.
    let user = f.client_browser(f.user_id).await;
    let (_, html) = f.page(&user, "/client/billing").await;
    assert_eq!(select(&html, ".client-user"), ["uma"]);
    assert_eq!(
        select(&html, ".client-nav-group h2"),
        ["Ordering", "Support", "Account"]
    );
    assert!(select(&html, ".client-nav a[href='/client/security']").is_empty());

    // Nobody signed in as a client: sent to sign in.
    let r = client().get(f.app.url("/client")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(r.headers()), "/client/login");
    f.app.finish().await;
}

#[tokio::test]
async fn the_account_owner_switches_single_sign_on_for_the_client_and_the_admin_page_shows_the_same_switch()
 {
    let f = fixture().await;
    let owner = f.client_browser(f.owner_id).await;
    let (_, html) = f.page(&owner, "/client/security").await;
    assert_eq!(
        attr(&html, ".client-sso", "data-allowed").as_deref(),
        Some("true")
    );
    let token = attr(&html, "form.sso-toggle input[name=csrf_token]", "value").unwrap();

    let r = f
        .post(
            &owner,
            "/client/security",
            &[("allow_sso", "0"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(r.headers()), "/client/security");
    assert!(!f.allow_sso().await);
    let (_, html) = f.page(&owner, "/client/security").await;
    assert_eq!(
        attr(&html, ".client-sso", "data-allowed").as_deref(),
        Some("false")
    );
    assert_eq!(select(&html, ".flash-success").len(), 1);

    // The admin's client page shows it, and the admin's form switches it back on.
    let admin_page = format!("/admin/clients/{}", f.client_id);
    let (_, html) = f.app.text(&admin_page).await;
    assert_eq!(select(&html, ".client-sso"), ["Not allowed"]);
    let (name, email): (String, String) =
        sqlx::query_as("select name, email from clients where id = $1")
            .bind(f.client_id)
            .fetch_one(&f.app.pool)
            .await
            .unwrap();
    let r = f
        .app
        .post_form(
            &format!("{admin_page}/edit"),
            &[("name", &name), ("email", &email), ("allow_sso", "on")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(f.allow_sso().await);
    let (_, html) = f.page(&owner, "/client/security").await;
    assert_eq!(
        attr(&html, ".client-sso", "data-allowed").as_deref(),
        Some("true")
    );
    f.app.finish().await;
}

#[tokio::test]
async fn the_account_owner_sets_each_users_sso_permission_and_the_admin_page_changes_the_same_data()
{
    let f = fixture().await;
    let owner = f.client_browser(f.owner_id).await;
    let (_, html) = f.page(&owner, "/client/users").await;
    assert_eq!(select(&html, ".user-row .user-name"), ["olivia", "uma"]);
    // The owner's own row has no switch: the client-wide one governs it.
    let owner_row = format!(".user-row[data-id=\"{}\"] form", f.owner_id);
    assert!(select(&html, &owner_row).is_empty());
    let token = f.token(&owner).await;
    let uma = f.user_id.to_string();

    let r = f
        .post(
            &owner,
            "/client/users",
            &[
                ("user_id", &uma),
                ("sso_allowed", "0"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(r.headers()), "/client/users");
    assert!(!f.user_sso(f.user_id).await);
    let (_, html) = f.page(&owner, "/client/users").await;
    let cell = format!(".user-row[data-id=\"{uma}\"] .user-sso");
    assert_eq!(select(&html, &cell), ["Not allowed"]);

    // The admin sees the same and switches it back.
    let admin_page = format!("/admin/clients/{}", f.client_id);
    let (_, html) = f.app.text(&admin_page).await;
    assert_eq!(select(&html, &cell), ["Not allowed"]);
    let r = f
        .app
        .post_form(
            &format!("{admin_page}/users/{uma}/sso"),
            &[("sso_allowed", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = f.page(&owner, "/client/users").await;
    assert_eq!(select(&html, &cell), ["Allowed"]);
    assert!(f.user_sso(f.user_id).await);
    f.app.finish().await;
}

#[tokio::test]
async fn a_user_who_is_not_the_account_owner_gets_403_on_the_owners_settings_and_changes_nothing() {
    let f = fixture().await;
    let user = f.client_browser(f.user_id).await;
    for path in ["/client/security", "/client/users"] {
        let (status, html) = f.page(&user, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(select(&html, "h1"), ["Access denied"], "{path}");
        assert_eq!(select(&html, ".client-user"), ["uma"], "{path}");
    }
    let token = f.token(&user).await;
    let r = f
        .post(
            &user,
            "/client/security",
            &[("allow_sso", "0"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let me = f.user_id.to_string();
    let r = f
        .post(
            &user,
            "/client/users",
            &[
                ("user_id", &me),
                ("sso_allowed", "0"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(f.allow_sso().await);
    assert!(f.user_sso(f.user_id).await);
    f.app.finish().await;
}

#[tokio::test]
async fn the_owners_settings_refuse_a_missing_token_bad_values_and_users_of_other_clients() {
    let f = fixture().await;
    let owner = f.client_browser(f.owner_id).await;
    let token = f.token(&owner).await;
    let uma = f.user_id.to_string();
    let stranger = f.stranger_id.to_string();
    let owner_id = f.owner_id.to_string();

    let r = f
        .post(&owner, "/client/security", &[("allow_sso", "0")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no CSRF token");
    let r = f
        .post(
            &owner,
            "/client/security",
            &[("allow_sso", "0"), ("csrf_token", "forged")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "wrong CSRF token");
    let r = f
        .post(
            &owner,
            "/client/users",
            &[("user_id", &uma), ("sso_allowed", "0")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no CSRF token");
    for value in ["", "maybe", "2"] {
        let r = f
            .post(
                &owner,
                "/client/security",
                &[("allow_sso", value), ("csrf_token", &token)],
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "allow_sso={value}");
        let r = f
            .post(
                &owner,
                "/client/users",
                &[
                    ("user_id", &uma),
                    ("sso_allowed", value),
                    ("csrf_token", &token),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "sso_allowed={value}");
    }
    for (user_id, expected) in [
        ("abc", StatusCode::BAD_REQUEST),
        ("", StatusCode::BAD_REQUEST),
        (stranger.as_str(), StatusCode::NOT_FOUND),
        ("999999999", StatusCode::NOT_FOUND),
        (owner_id.as_str(), StatusCode::BAD_REQUEST),
    ] {
        let r = f
            .post(
                &owner,
                "/client/users",
                &[
                    ("user_id", user_id),
                    ("sso_allowed", "0"),
                    ("csrf_token", &token),
                ],
            )
            .await;
        assert_eq!(r.status(), expected, "user_id={user_id}");
    }
    assert!(f.allow_sso().await);
    assert!(f.user_sso(f.user_id).await);
    assert!(f.user_sso(f.owner_id).await);
    assert!(f.user_sso(f.stranger_id).await);
    f.app.finish().await;
}

#[tokio::test]
async fn an_admin_session_never_acts_as_a_client_and_a_client_session_never_reaches_the_admin() {
    let f = fixture().await;
    // The admin's browser (`f.app.client`) is no client.
    for path in [
        "/client",
        "/client/security",
        "/client/users",
        "/client/profile",
    ] {
        let r = f.app.get(path).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(location(r.headers()).starts_with("/client/login"), "{path}");
    }
    let uma = f.user_id.to_string();
    let r = f
        .app
        .post_form("/client/security", &[("allow_sso", "0")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(r.headers()), "/client/login");
    let r = f
        .app
        .post_form("/client/users", &[("user_id", &uma), ("sso_allowed", "0")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(f.allow_sso().await);
    assert!(f.user_sso(f.user_id).await);

    // The owner's client session opens nothing under /admin, posts included.
    let owner = f.client_browser(f.owner_id).await;
    let token = f.token(&owner).await;
    let admin_page = format!("/admin/clients/{}", f.client_id);
    let (status, _) = f.page(&owner, &admin_page).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let r = f
        .post(
            &owner,
            &format!("{admin_page}/users/{uma}/sso"),
            &[("sso_allowed", "0"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(r.headers()), "/admin/login");
    assert!(f.user_sso(f.user_id).await);
    f.app.finish().await;
}

#[tokio::test]
async fn a_signed_in_client_gets_errors_under_client_in_the_client_layout_without_the_admins() {
    let f = fixture().await;
    let owner = f.client_browser(f.owner_id).await;
    for path in ["/client/nonexistent", "/client/tickets/nope/deeper"] {
        let (status, html) = f.page(&owner, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            select(&html, ".error-page h1"),
            ["Page not found"],
            "{path}"
        );
        assert_eq!(
            select(&html, ".client-nav-group h2"),
            ["Ordering", "Support", "Account", "Your account"],
            "{path}"
        );
        assert!(select(&html, ".client-nav a[aria-current]").is_empty());
        assert_eq!(select(&html, ".client-user"), ["olivia"], "{path}");
        assert_eq!(select(&html, "form.client-logout button").len(), 1);
        assert_no_admin_chrome(&html, path);
    }

    // A bad form post: 400 in the layout, the page it came from marked, nothing changed.
    let token = f.token(&owner).await;
    let r = f
        .post(
            &owner,
            "/client/security",
            &[("allow_sso", "maybe"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = r.text().await.unwrap();
    assert_eq!(select(&html, ".error-page h1"), ["Bad request"]);
    assert_eq!(
        select(&html, ".client-nav a[aria-current=page]"),
        ["Security Settings"]
    );
    assert_no_admin_chrome(&html, "400");
    assert!(f.allow_sso().await);

    // A forged token on Sign out: 403 in the layout, still signed in; the page's own
    // sign-out form carries the session's token and works.
    let r = f
        .post(&owner, "/client/logout", &[("csrf_token", "forged")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.unwrap();
    assert_eq!(select(&html, ".error-page h1"), ["Form expired"]);
    assert_eq!(select(&html, ".client-user"), ["olivia"]);
    assert_no_admin_chrome(&html, "403");
    let sign_out = attr(&html, "form.client-logout input[name=csrf_token]", "value").unwrap();
    let r = f
        .post(&owner, "/client/logout", &[("csrf_token", &sign_out)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (status, _) = f.page(&owner, "/client").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed out");

    // JSON callers keep getting JSON.
    let r = f.app.get_json("/client/nonexistent").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    f.app.finish().await;
}

#[tokio::test]
async fn a_visitor_without_a_client_sign_in_gets_a_plain_client_area_404_even_with_an_admin_signed_in()
 {
    let f = fixture().await;
    // A fresh browser, and the admin's (signed in as root, no client sign-in).
    let visitor = client();
    for browser in [&visitor, &f.app.client] {
        let (status, html) = f.page(browser, "/client/nonexistent").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(select(&html, ".error-page h1"), ["Page not found"]);
        assert_eq!(attr(&html, "a.brand", "href").as_deref(), Some("/client"));
        assert_eq!(
            attr(&html, "a.sign-in", "href").as_deref(),
            Some("/client/login")
        );
        assert!(select(&html, ".client-nav").is_empty());
        assert!(select(&html, ".signed-in-as").is_empty());
        assert!(select(&html, "form").is_empty());
        assert_no_admin_chrome(&html, "404");
    }
    // The admin's refused post there, the sign-in page and an expired sign-in link: no
    // admin navigation either.
    let r = f.app.post_raw("/client/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = r.text().await.unwrap();
    assert_eq!(select(&html, ".error-page h1"), ["Form expired"]);
    assert_no_admin_chrome(&html, "403");
    for (path, expected) in [
        ("/client/login", StatusCode::OK),
        ("/sso/login?token=nonsense", StatusCode::GONE),
    ] {
        let (status, html) = f.page(&f.app.client, path).await;
        assert_eq!(status, expected, "{path}");
        assert_no_admin_chrome(&html, path);
    }
    f.app.finish().await;
}

#[tokio::test]
async fn an_admins_404_under_admin_keeps_the_admin_layout_even_with_a_client_signed_in_there() {
    let f = fixture().await;
    let (status, html) = f.app.text("/admin/nonexistent").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(select(&html, ".error-page h1"), ["Page not found"]);
    assert!(select(&html, "nav.mainnav a").contains(&"Clients".to_string()));
    assert_eq!(select(&html, ".signed-in-as strong"), ["root"]);
    assert!(select(&html, ".client-nav").is_empty());

    // The same browser signed in as a client too: each side keeps its own layout.
    f.sign_in(&f.app.client, f.owner_id).await;
    for path in ["/admin/nonexistent", "/admin/clients/999999999"] {
        let (status, html) = f.app.text(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(select(&html, ".signed-in-as strong"), ["root"], "{path}");
        assert!(select(&html, ".client-nav").is_empty(), "{path}");
        assert!(select(&html, ".client-user").is_empty(), "{path}");
    }
    let (status, html) = f.app.text("/client/nonexistent").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(select(&html, ".client-user"), ["olivia"]);
    assert_no_admin_chrome(&html, "client 404");
    f.app.finish().await;
}
