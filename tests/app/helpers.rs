//! Test support: `spawn_app()` gives each test its own database and a running server, and
//! the helpers every feature file shares (`press`, `count`, `add_client`, `insert_server`, …).
//!
//! Teardown (as crates.io's test harness does it): every test ends with
//! [`TestApp::finish`], which fails the test when a provisioning job is left queued, running
//! or failed. Dropping a `TestApp` without it fails the test too, so no test can forget; a
//! test that leaves jobs on purpose ends with [`TestApp::finish_leaving_jobs`] instead.

use std::sync::atomic::{AtomicU64, Ordering};

use applinks::config::{ProvisioningArgs, WebArgs};
use applinks::crypto::SecretBox;
use applinks::db::PgPool;
use applinks::domain::permission::Permission;
use applinks::startup::Application;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION};
use scraper::{Html, Selector};
use sqlx::Connection as _;
use sqlx::postgres::PgConnectOptions;

pub const PASSWORD: &str = "correct horse battery staple";

/// `DATABASE_URL`; unset, the default URL; and when that PostgreSQL is refused or rejects the
/// sign-in, one private cluster for this whole run (`applinks::private_pg`, stopped at exit).
pub fn database_url() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return url;
        }
        let default = applinks::config::DEFAULT_DATABASE_URL.to_string();
        let probe = default.clone();
        let unusable = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the probe")
                .block_on(applinks::private_pg::default_url_unusable(&probe))
        })
        .join()
        .expect("the probe ends");
        let Some(why) = unusable else {
            return default;
        };
        static CLUSTER: std::sync::OnceLock<applinks::private_pg::PrivateCluster> =
            std::sync::OnceLock::new();
        let cluster = CLUSTER.get_or_init(|| {
            applinks::private_pg::PrivateCluster::start("tests").unwrap_or_else(|err| {
                panic!("PostgreSQL at {default} is unusable ({why}) and no private one could start: {err:#}")
            })
        });
        eprintln!(
            "tests: PostgreSQL at {default} is unusable ({why}); using a private cluster in {}",
            cluster.dir().display()
        );
        cluster.url("postgres")
    })
    .clone()
}

/// A database created for one test and dropped afterwards.
pub struct TestDb {
    pub name: String,
    pub url: String,
    admin_opts: PgConnectOptions,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDb {
    pub async fn create() -> TestDb {
        let base: PgConnectOptions = database_url().parse().expect("DATABASE_URL parses");
        let admin_opts = base.clone().database("postgres");
        let name = format!(
            "applinks_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            uuid::Uuid::new_v4().simple()
        );
        let mut conn = sqlx::PgConnection::connect_with(&admin_opts)
            .await
            .expect("PostgreSQL reachable at DATABASE_URL (see README)");
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let mut url = url::Url::parse(&database_url()).expect("DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        TestDb {
            name,
            url: url.to_string(),
            admin_opts,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let opts = self.admin_opts.clone();
        // Drop runs outside async context guarantees: use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                let mut conn = sqlx::PgConnection::connect_with(&opts).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "drop database if exists {name} with (force)"
                )))
                .execute(&mut conn)
                .await
                .ok()
            })
        })
        .join();
    }
}

/// A browser on the app: its own cookies (its own session) and the requests tests send.
pub struct Browser {
    pub base_url: String,
    pub client: reqwest::Client,
}

/// The application under test, and the browser of the test's main user (`app.get(…)`,
/// `app.client` reach it through `Deref`).
pub struct TestApp {
    browser: Browser,
    pub pool: PgPool,
    pub secrets: SecretBox,
    /// The base64 key behind `secrets`, for worker processes.
    pub secret_key: secrecy::SecretString,
    pub db: TestDb,
    /// Set by the teardown ([`TestApp::finish`]); checked on drop.
    finished: bool,
}

impl std::ops::Deref for TestApp {
    type Target = Browser;

    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl TestApp {
    /// A second browser on this app, with cookies (a session) of its own.
    pub fn new_browser(&self) -> Browser {
        Browser {
            base_url: self.base_url.clone(),
            client: client(),
        }
    }

    /// A test app around an application the caller started itself.
    pub fn new(
        base_url: String,
        pool: PgPool,
        secrets: SecretBox,
        secret_key: secrecy::SecretString,
        db: TestDb,
    ) -> TestApp {
        TestApp {
            browser: Browser {
                base_url,
                client: client(),
            },
            pool,
            secrets,
            secret_key,
            db,
            finished: false,
        }
    }

    /// The teardown: waits (up to 10 s) for the provisioning queue to settle, then fails the
    /// test if any job is still queued or running, or failed (SPEC: a finished operation
    /// leaves no job behind). Every test that spawned an app ends with it.
    pub async fn finish(mut self) {
        self.finished = true;
        let left = self.jobs_left(100).await;
        assert!(
            left.is_empty(),
            "jobs left in the provisioning queue (status, attempts, last result): {left:?}"
        );
    }

    /// The teardown of a test that leaves jobs queued or failed on purpose.
    pub fn finish_leaving_jobs(mut self) {
        self.finished = true;
    }

    /// Jobs of the provisioning queue that are not done, once the queue has had up to
    /// `polls` × 100 ms to settle (workers acknowledge a finished job a moment after its
    /// last write, and a failed attempt is retried).
    async fn jobs_left(&self, polls: usize) -> Vec<(String, i32, Option<String>)> {
        let mut left = Vec::new();
        for _ in 0..polls {
            left = sqlx::query_as(
                "select status, attempts, last_result::text from apalis.jobs
                 where job_type = $1 and status <> 'Done' order by run_at",
            )
            .bind(applinks::jobs::PROVISION_QUEUE)
            .fetch_all(&self.pool)
            .await
            .expect("read the job queue");
            if left.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        left
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if !self.finished && !std::thread::panicking() {
            panic!(
                "a test must end with `app.finish().await` (it checks that no job is left queued, running or failed)"
            );
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with_workers(4).await
}

/// The app with `workers` in-process workers (0: none; tests then start worker processes).
pub async fn spawn_app_with_workers(workers: usize) -> TestApp {
    spawn_app_with(workers, |_| {}).await
}

/// The web settings of a test app: any free port, everything else as by default.
pub fn web_args() -> WebArgs {
    WebArgs {
        bind: "127.0.0.1:0".parse().expect("addr"),
        public_url: None,
        trusted_proxies: Vec::new(),
        metrics_token: None,
        client_session_max_secs: 28_800,
    }
}

/// The app with web settings changed by `configure`.
pub async fn spawn_app_with(workers: usize, configure: impl FnOnce(&mut WebArgs)) -> TestApp {
    let db = TestDb::create().await;
    let pool = applinks::db::migrate::connect_for_jobs(&db.url, workers)
        .await
        .expect("connect");
    let mut web = web_args();
    configure(&mut web);
    let secret_key = SecretBox::generate_key();
    let secrets = SecretBox::from_base64(Some(&secret_key)).expect("key");
    let app = Application::build(pool.clone(), &web, secrets.clone())
        .await
        .expect("build app");
    let base_url = app.public_url.clone();
    if workers > 0 {
        tokio::spawn(app.workers(&fast_provisioning(), workers));
    }
    tokio::spawn(app.run_until_stopped());
    TestApp::new(base_url, pool, secrets, secret_key, db)
}

/// WHM settings for tests: short timeouts and pauses, the same retry logic.
pub fn fast_provisioning() -> ProvisioningArgs {
    ProvisioningArgs {
        per_server_concurrency: 4,
        whm_timeout_ms: 2_000,
        whm_retry_attempts: 2,
        whm_retry_base_delay_ms: 10,
        ..ProvisioningArgs::default()
    }
}

pub fn select(html: &str, selector: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(selector).expect("valid selector");
    doc.select(&sel)
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect()
}

pub fn attr(html: &str, selector: &str, attr: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(selector).expect("valid selector");
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr(attr).map(str::to_string))
}

pub fn location(headers: &HeaderMap) -> String {
    headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

impl Browser {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_json(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("accept", "application/json")
            .send()
            .await
            .expect("GET")
    }

    pub async fn text(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        (r.status(), r.text().await.expect("body"))
    }

    /// The CSRF token of this client's session, read from a page's meta tag.
    pub async fn csrf_token(&self) -> String {
        let mut r = self.get("/admin/login").await;
        if r.status() == StatusCode::SEE_OTHER {
            r = self.get("/admin").await;
        }
        let html = r.text().await.expect("body");
        attr(&html, "meta[name=csrf-token]", "content").expect("page carries a CSRF token")
    }

    /// POSTs a form with this session's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf_token().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_raw(path, &all).await
    }

    /// POSTs a form exactly as given (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post_form(
            "/admin/login",
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// Whether this browser's session still reaches the admin panel.
    pub async fn signed_in(&self) -> bool {
        self.get("/admin").await.status() == StatusCode::OK
    }
}

impl TestApp {
    /// Creates a Full Administrator and signs this client in as them.
    pub async fn login_full_admin(&self) -> String {
        let name = "root";
        applinks::hosting::admins::create_admin(&self.pool, name, "Full Administrator", PASSWORD)
            .await
            .expect("create admin");
        let r = self.login(name, PASSWORD).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "full admin signs in");
        name.to_string()
    }

    /// Creates an admin whose role has only `permissions` and signs this client in.
    pub async fn login_restricted(&self, permissions: &[Permission]) -> String {
        let mut conn = self.pool.acquire().await.expect("conn");
        applinks::db::roles::create(&mut conn, "Support", permissions)
            .await
            .expect("create role");
        let name = "helpdesk";
        applinks::hosting::admins::create_admin(&self.pool, name, "Support", PASSWORD)
            .await
            .expect("create admin");
        let r = self.login(name, PASSWORD).await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "restricted admin signs in"
        );
        name.to_string()
    }
}

impl TestApp {
    /// `select count(*) from {from}`: a table, optionally with a `where` clause.
    pub async fn count(&self, from: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {from}")))
            .fetch_one(&self.pool)
            .await
            .expect("count")
    }

    /// POSTs a form (a button's, with no fields) that should succeed: asserts the 303 and
    /// answers the page it redirects to.
    pub async fn press(&self, path: &str, fields: &[(&str, &str)]) -> String {
        let r = self.post_form(path, fields).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "POST {path}");
        let (status, html) = self.text(&location(r.headers())).await;
        assert_eq!(status, StatusCode::OK);
        html
    }

    /// Adds a client with *Allow Single Sign-On* through the admin form; answers its id.
    pub async fn add_client(&self, name: &str, email: &str) -> i64 {
        let r = self
            .post_form(
                "/admin/clients/new",
                &[("name", name), ("email", email), ("allow_sso", "on")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "client {name} added");
        let to = location(r.headers());
        to.strip_prefix("/admin/clients/")
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("redirected to the client's page, not {to}"))
    }

    /// A cPanel server row stored directly, for tests where its credential and address do not
    /// matter (nothing ever calls it); answers its id.
    pub async fn insert_server(&self, name: &str) -> i64 {
        sqlx::query_scalar(
            "insert into servers (name, hostname, module, secret_ciphertext)
             values ($1, 'whm.example.test', 'cpanel', '\\x00') returning id",
        )
        .bind(name)
        .fetch_one(&self.pool)
        .await
        .expect("insert server")
    }

    /// Switches `app` on and waits until its operation has finished, active.
    pub async fn enable(&self, app: &str) {
        let r = self
            .post_form(&format!("/admin/setup/application-links/{app}/enable"), &[])
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let status = self.wait_idle(app).await;
        assert_eq!(status["state"], "active", "{status}");
    }

    /// POSTs cPanel's autologin form to `path` (`/sso/cpanel…`) from a fresh browser;
    /// answers the status and the JSON answer.
    pub async fn autologin(
        &self,
        path: &str,
        fields: &[(String, String)],
    ) -> (StatusCode, serde_json::Value) {
        let r = client()
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("autologin");
        (r.status(), r.json().await.expect("JSON answer"))
    }

    /// Registers a simulator as a server of `module`; answers the server id.
    pub async fn add_server(
        &self,
        name: &str,
        sim: &applinks::whm::sim::SimHandle,
        module: &str,
    ) -> i64 {
        let addr = sim.addr;
        sqlx::query_scalar(
            "insert into servers (name, hostname, port, module, username, auth_kind, secret_ciphertext, use_tls)
             values ($1, $2, $3, $4, $5, 'token', $6, false) returning id",
        )
        .bind(name)
        .bind(addr.ip().to_string())
        .bind(i32::from(addr.port()))
        .bind(module)
        .bind(&sim.username)
        .bind(self.secrets.encrypt(&sim.token))
        .fetch_one(&self.pool)
        .await
        .expect("insert server")
    }

    /// One client per account, with accounts for `users` on `server_id`; answers account ids.
    pub async fn add_accounts(&self, server_id: i64, users: &[String]) -> Vec<i64> {
        let mut ids = Vec::new();
        for user in users {
            let client_id: i64 = sqlx::query_scalar(
                "insert into clients (name, email) values ($1, $2)
                 on conflict (lower(email)) do update set name = excluded.name returning id",
            )
            .bind(format!("Client of {user}"))
            .bind(format!("{user}-{server_id}@example.test"))
            .fetch_one(&self.pool)
            .await
            .expect("client");
            let id: i64 = sqlx::query_scalar(
                "insert into accounts (client_id, server_id, username, domain) values ($1, $2, $3, $4) returning id",
            )
            .bind(client_id)
            .bind(server_id)
            .bind(user)
            .bind(format!("{user}.example.test"))
            .fetch_one(&self.pool)
            .await
            .expect("account");
            ids.push(id);
        }
        ids
    }

    /// Status JSON of an application.
    pub async fn status(&self, app: &str) -> serde_json::Value {
        self.get_json(&format!("/admin/setup/application-links/{app}/status"))
            .await
            .json()
            .await
            .expect("status JSON")
    }

    /// Polls the status until no operation runs; answers the final status.
    pub async fn wait_idle(&self, app: &str) -> serde_json::Value {
        for _ in 0..600 {
            let s = self.status(app).await;
            let state = s["state"].as_str().unwrap_or_default();
            if state != "syncing" && state != "deactivating" {
                return s;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{app} still running after 60 s: {}", self.status(app).await);
    }

    /// How many jobs of the provisioning queue are not done (pending, running, failed), once
    /// the workers have had up to 5 s to acknowledge the ones they just finished.
    pub async fn unfinished_jobs(&self) -> usize {
        self.jobs_left(50).await.len()
    }

    /// Log entries of an application as (level, server, account, message).
    pub async fn log_rows(&self, app: &str, level: &str) -> Vec<Vec<String>> {
        let (status, html) = self
            .text(&format!(
                "/admin/setup/application-links/{app}/log?level={level}"
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        let doc = Html::parse_document(&html);
        let row = Selector::parse("tr.log-entry").expect("selector");
        let cell = Selector::parse("td").expect("selector");
        doc.select(&row)
            .map(|r| {
                r.select(&cell)
                    .skip(1)
                    .map(|c| c.text().collect::<String>().trim().to_string())
                    .collect()
            })
            .collect()
    }
}

/// The simulator's links per user: user → app → link arguments.
pub fn sim_links(
    sim: &applinks::whm::sim::SimHandle,
) -> serde_json::Map<String, serde_json::Value> {
    sim.state_json()["users"]
        .as_object()
        .cloned()
        .unwrap_or_default()
}

/// How many of applinks' links (`applinks_*` apps) `user` carries in a simulator's
/// [`sim_links`]; 0 for a user it does not list.
pub fn applinks_count(links: &serde_json::Map<String, serde_json::Value>, user: &str) -> usize {
    links.get(user).and_then(|v| v.as_object()).map_or(0, |m| {
        m.keys().filter(|k| k.starts_with("applinks_")).count()
    })
}

/// Users `user0001`… of a simulator with `n` accounts.
pub fn sim_users(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("user{i:04}")).collect()
}

/// A simulator with `accounts` accounts and the default settings.
pub async fn spawn_sim(accounts: usize) -> applinks::whm::sim::SimHandle {
    applinks::whm::sim::spawn(applinks::whm::sim::SimConfig {
        accounts,
        ..Default::default()
    })
    .await
    .expect("simulator starts")
}

/// Adds an account to a running simulator.
pub fn sim_account(sim: &applinks::whm::sim::SimHandle, user: &str, domain: &str, email: &str) {
    sim.add_account(applinks::whm::types::Account {
        user: user.into(),
        domain: domain.into(),
        email: email.into(),
        suspended: false,
    });
}

/// A simulator with `accounts` accounts (and the given module and version).
pub async fn start_sim(
    accounts: usize,
    module: &str,
    version: &str,
) -> applinks::whm::sim::SimHandle {
    applinks::whm::sim::spawn(applinks::whm::sim::SimConfig {
        accounts,
        module: module.to_string(),
        version: version.to_string(),
        ..Default::default()
    })
    .await
    .expect("simulator starts")
}

impl TestApp {
    /// Starts a real `applinks worker` process against this app's database.
    pub fn worker_process(&self, concurrency: usize) -> std::process::Child {
        self.worker_process_with(concurrency, &[])
    }

    /// [`Self::worker_process`] with more settings in its environment.
    pub fn worker_process_with(
        &self,
        concurrency: usize,
        env: &[(&str, &str)],
    ) -> std::process::Child {
        use secrecy::ExposeSecret as _;
        std::process::Command::new(env!("CARGO_BIN_EXE_applinks"))
            .args(["worker", "--concurrency", &concurrency.to_string()])
            .env("DATABASE_URL", &self.db.url)
            .env("APPLINKS_SECRET_KEY", self.secret_key.expose_secret())
            .env("APPLINKS_PUBLIC_URL", &self.base_url)
            .env("APPLINKS_WHM_RETRY_BASE_DELAY_MS", "10")
            .env("APPLINKS_PER_SERVER_CONCURRENCY", "4")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start applinks worker")
    }

    /// Waits until `n` workers of the provisioning queue have registered.
    pub async fn wait_for_workers(&self, n: i64) {
        for _ in 0..300 {
            let live: i64 = sqlx::query_scalar(
                "select count(*) from apalis.workers where worker_type = $1 and last_seen > now() - interval '10 seconds'",
            )
            .bind(applinks::jobs::PROVISION_QUEUE)
            .fetch_one(&self.pool)
            .await
            .unwrap_or(0);
            if live >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{n} worker(s) did not register within 30 s");
    }
}

/// WHM client settings that retry without waiting to speak of, so failure tests stay fast.
pub fn fast_settings() -> applinks::whm::ClientSettings {
    applinks::whm::ClientSettings {
        timeout_ms: 5_000,
        retry_max_attempts: 3,
        retry_base_delay_ms: 1,
        ..applinks::whm::ClientSettings::default()
    }
}

/// The WHM client's calls to a simulator, with [`fast_settings`].
pub fn sim_client(sim: &applinks::whm::sim::SimHandle) -> applinks::whm::ServerClient {
    applinks::whm::WhmClient::new(fast_settings()).server(&sim_conn(sim))
}

/// Base64 of a real 2×2 PNG, as an icon.
pub fn tiny_png() -> String {
    use base64::Engine as _;
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, 2, 2);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[200; 16]).unwrap();
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A link as applinks creates it (whm-api.md §5).
pub fn link(user: &str, key: &str, label: &str, order: u32) -> applinks::whm::CreateLink {
    applinks::whm::CreateLink {
        user: user.to_string(),
        app: format!("applinks_{key}"),
        implements: "support".to_string(),
        label: label.to_string(),
        subscriber_unique_id: "42".to_string(),
        token: secrecy::SecretString::from("link-secret-0123456789abcdef"),
        autologin_token_url: Some("http://127.0.0.1:9/sso/cpanel".to_string()),
        url: Some(format!("http://127.0.0.1:9/client/{key}")),
        group_id: None,
        order: Some(order.to_string()),
        hide: false,
        base64_png_image: None,
    }
}

/// How a client reaches a simulator: the API token form, TLS verification on.
pub fn sim_conn(sim: &applinks::whm::sim::SimHandle) -> applinks::whm::client::ServerConn {
    applinks::whm::client::ServerConn {
        base_url: sim.url.clone(),
        auth: applinks::whm::client::WhmAuth::ApiToken {
            username: sim.username.clone(),
            token: secrecy::SecretString::from(sim.token.clone()),
        },
        verify_tls: true,
    }
}
