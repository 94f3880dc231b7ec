//! A real browser: headless Chromium driven through chromedriver (WebDriver) along the demo's
//! main path, so what plain HTTP cannot show is checked too: htmx polling the badge, the
//! arrows of the configure form, the customer's click in the simulated cPanel, and that no
//! page logs a 404 (the favicon) or another error in the browser's console.
//!
//! The test starts chromedriver itself on a free port and ends it afterwards. Without
//! Chromium and chromedriver (Debian: `chromium`, `chromium-driver`) it is skipped with the
//! reason written to stderr, unless `APPLINKS_BROWSER_TEST=required` (set by `.ci/run`): then
//! a missing browser is a failure. `CHROMEDRIVER` and `CHROMIUM` name other binaries.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use applinks::domain::permission::Permission;
use applinks::whm::sim::SimHandle;
use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt as _;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, sim_users, spawn_app};

/// `required`: the test must run (CI); anything else lets it skip without a browser.
const REQUIRED_VAR: &str = "APPLINKS_BROWSER_TEST";
/// How long the test waits for one thing to appear (the sync itself takes a few seconds).
const WAIT: Duration = Duration::from_secs(60);
/// Per WHM call: long enough that the badge is still SYNCING when the page comes back.
const SIM_LATENCY_MS: u64 = 1_500;

/// The binaries the test needs.
struct Tools {
    chromedriver: PathBuf,
    chromium: PathBuf,
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn find_binary(var: &str, names: &[&str]) -> Result<PathBuf, String> {
    match std::env::var_os(var) {
        Some(path) if Path::new(&path).is_file() => Ok(PathBuf::from(path)),
        Some(path) => Err(format!("{var}={} is not a file", path.to_string_lossy())),
        None => on_path(names).ok_or_else(|| format!("no {} on PATH", names.join(" or "))),
    }
}

fn find_tools() -> Result<Tools, String> {
    Ok(Tools {
        chromedriver: find_binary("CHROMEDRIVER", &["chromedriver"])?,
        chromium: find_binary(
            "CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        )?,
    })
}

/// The tools, or `None` after saying why the test is skipped. Written straight to stderr:
/// the test harness swallows `eprintln!` of a passing test.
fn tools_or_skip() -> Option<Tools> {
    let required = std::env::var(REQUIRED_VAR).is_ok_and(|v| v == "required");
    match find_tools() {
        Ok(tools) => Some(tools),
        Err(reason) if required => {
            panic!("{REQUIRED_VAR}=required, but the browser test cannot run: {reason}")
        }
        Err(reason) => {
            let _ = writeln!(
                std::io::stderr(),
                "browser test SKIPPED: {reason}. Install Chromium and chromedriver \
                 (Debian: apt-get install chromium chromium-driver) to run it; \
                 {REQUIRED_VAR}=required makes this a failure."
            );
            None
        }
    }
}

/// A chromedriver process of this test, ended on drop.
struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    async fn start(tools: &Tools) -> Chromedriver {
        let mut last_error = String::new();
        // A port found free can be taken before chromedriver binds it: try a few.
        for _ in 0..3 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let child = Command::new(&tools.chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", tools.chromedriver.display()));
            let mut driver = Chromedriver {
                child,
                url: format!("http://127.0.0.1:{port}"),
            };
            match driver.wait_ready().await {
                Ok(()) => return driver,
                Err(e) => last_error = e,
            }
        }
        panic!("chromedriver did not start: {last_error}");
    }

    /// Waits until chromedriver answers `/status` with `ready`.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("chromedriver exited: {status}"));
            }
            if let Ok(r) = http.get(format!("{}/status", self.url)).send().await
                && let Ok(body) = r.json::<Value>().await
                && body["value"]["ready"] == true
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("not ready after 20 s".into())
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chromedriver's (non-W3C) `POST /session/{id}/se/log`: the browser console's entries since
/// the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (reqwest::Method, Option<String>) {
        (
            reqwest::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

/// One headless Chromium session on the app under test.
struct Browser {
    client: Client,
    base_url: String,
    /// Every console entry so far, as `LEVEL message`.
    console: Vec<String>,
}

impl Browser {
    async fn open(driver: &Chromedriver, tools: &Tools, base_url: &str) -> Browser {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": tools.chromium,
                // root (CI) needs --no-sandbox; /dev/shm is small in containers.
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--disable-gpu", "--no-first-run", "--window-size=1280,1000"],
            }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("a Chromium session through chromedriver");
        Browser {
            client,
            base_url: base_url.to_string(),
            console: Vec::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    async fn goto(&mut self, url: &str) {
        self.client.goto(url).await.expect("navigate");
        self.read_console().await;
    }

    /// The element once it is there (waiting up to [`WAIT`]).
    async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("no `{css}` on {}: {e}", self.path().await),
        }
    }

    /// The element's text. htmx may swap the element between finding and reading it (the
    /// status polls every second): a stale element is found again, a few times.
    async fn text(&self, css: &str) -> String {
        let mut last = None;
        for _ in 0..5 {
            match self.find(css).await.text().await {
                Ok(text) => return text.trim().to_string(),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("text of `{css}`: {last:?}")
    }

    async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.client.find_all(Locator::Css(css)).await.expect("find") {
            out.push(e.text().await.expect("text").trim().to_string());
        }
        out
    }

    async fn attrs(&self, css: &str, attr: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.client.find_all(Locator::Css(css)).await.expect("find") {
            out.push(e.attr(attr).await.expect("attr").unwrap_or_default());
        }
        out
    }

    /// Clicks and reads the console of whatever page the click led to.
    async fn click(&mut self, css: &str) {
        self.find(css).await.click().await.expect("click");
        self.read_console().await;
    }

    async fn path(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            },
            Err(e) => format!("(no URL: {e})"),
        }
    }

    async fn sign_in(&mut self, username: &str) {
        self.goto(&self.url("/admin/login")).await;
        self.find("input[name=username]")
            .await
            .send_keys(username)
            .await
            .expect("type");
        self.find("input[name=password]")
            .await
            .send_keys(PASSWORD)
            .await
            .expect("type");
        self.click("form[action='/admin/login'] button[type=submit]")
            .await;
        assert_eq!(self.text(".signed-in-as strong").await, username);
    }

    /// Appends the console's new entries to `console`.
    async fn read_console(&mut self) {
        let entries = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("chromedriver answers the browser log");
        for e in entries.as_array().into_iter().flatten() {
            self.console.push(format!(
                "{} {}",
                e["level"].as_str().unwrap_or("?"),
                e["message"].as_str().unwrap_or("?")
            ));
        }
    }
}

/// A sim with `n` accounts behind slow calls, registered as a cPanel server, one client each
/// with an owner user (as the import creates them).
async fn setup(app: &TestApp, n: usize) -> SimHandle {
    let sim = applinks::whm::sim::spawn(applinks::whm::sim::SimConfig {
        accounts: n,
        module: "cpanel".into(),
        version: "11.134.0.5".into(),
        latency_ms: SIM_LATENCY_MS,
        ..Default::default()
    })
    .await
    .expect("simulator starts");
    let server = app.add_server("cp1", &sim, "cpanel").await;
    app.add_accounts(server, &sim_users(n)).await;
    sqlx::query(
        "insert into client_users (client_id, name, email, is_owner)
         select id, 'Owner ' || name, email, true from clients",
    )
    .execute(&app.pool)
    .await
    .expect("owner users");
    sim
}

async fn set_sim_latency(sim: &SimHandle, latency_ms: u64) {
    let r = reqwest::Client::new()
        .post(format!("{}/__sim/faults", sim.url))
        .json(&json!({ "latency_ms": latency_ms }))
        .send()
        .await
        .expect("sim faults");
    assert!(r.status().is_success(), "{}", r.status());
}

#[tokio::test]
async fn in_a_real_browser_an_admin_switches_cpanel_on_and_a_customer_clicks_a_link_in_cpanel() {
    let Some(tools) = tools_or_skip() else {
        return;
    };
    let app = spawn_app().await;
    app.login_full_admin().await;
    let sim = setup(&app, 2).await;
    let driver = Chromedriver::start(&tools).await;
    let mut browser = Browser::open(&driver, &tools, &app.base_url).await;
    // Whatever happens, the browser session ends (and chromedriver with `driver`).
    let outcome = std::panic::AssertUnwindSafe(scenario(&app, &sim, &mut browser))
        .catch_unwind()
        .await;
    let _ = browser.client.close().await;
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    app.finish().await;
}

async fn scenario(app: &TestApp, sim: &SimHandle, browser: &mut Browser) {
    // Sign in and open Setup › Application Links from the navigation.
    browser.sign_in("root").await;
    browser
        .click("nav.mainnav a[href='/admin/setup/application-links']")
        .await;
    assert_eq!(browser.text("#status-cpanel .badge").await, "DISABLED");

    // Switch cPanel on: the page comes back while the (slow) sync runs…
    browser.click("tr[data-app=cpanel] button.toggle").await;
    assert_eq!(browser.path().await, "/admin/setup/application-links");
    assert_eq!(browser.text("#status-cpanel .badge").await, "SYNCING");
    browser
        .client
        .execute("window.applinksNotReloaded = true; return null;", vec![])
        .await
        .expect("mark the page");
    // …and htmx turns the badge to ACTIVE in place.
    browser.find("#status-cpanel[data-state=active]").await;
    assert_eq!(browser.text("#status-cpanel .badge").await, "ACTIVE");
    let kept = browser
        .client
        .execute("return window.applinksNotReloaded === true;", vec![])
        .await
        .expect("read the mark");
    assert_eq!(kept, json!(true), "the badge changed without a reload");
    browser.read_console().await;
    set_sim_latency(sim, 0).await;

    // Move Upgrade/Downgrade one down with its arrow, then save.
    browser
        .click("tr[data-app=cpanel] a[href$='/configure']")
        .await;
    browser
        .click("tr[data-key=upgrade] button[value='upgrade:down']")
        .await;
    assert_eq!(
        browser.text(".flash-info").await,
        "Order changed: Save Changes to keep it."
    );
    let order = browser.attrs("tr.link-row", "data-key").await;
    assert_eq!(order[..3], ["addons", "upgrade", "domain_register"]);
    browser.click("button.save").await;
    assert!(browser.text(".flash-success").await.starts_with("Saved."));
    browser
        .goto(&browser.url("/admin/setup/application-links/cpanel/configure"))
        .await;
    let order = browser.attrs("tr.link-row", "data-key").await;
    assert_eq!(
        order[..3],
        ["addons", "upgrade", "domain_register"],
        "saved"
    );
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["state"], "active", "{status}");

    // The log of the operation.
    browser
        .goto(&browser.url("/admin/setup/application-links"))
        .await;
    browser.click("tr[data-app=cpanel] a[href$='/log']").await;
    assert_eq!(browser.text("h1").await, "cPanel provisioning log");
    assert!(
        !browser.texts("tr.log-entry").await.is_empty(),
        "log entries"
    );

    // The customer's cPanel shows the links in the new order; Open Ticket signs them in.
    browser.goto(&format!("{}/cpanel/user0001", sim.url)).await;
    let labels = browser.texts("section.group form.link .label").await;
    assert_eq!(labels[..2], ["View/Order Addons", "Upgrade/Downgrade"]);
    let open_ticket = browser
        .client
        .find(Locator::XPath(
            "//form[contains(@class,'link')][.//span[@class='label' and text()='Open Ticket']]//button",
        ))
        .await
        .expect("the Open Ticket button");
    open_ticket.click().await.expect("click Open Ticket");
    browser.find(".client-page").await;
    browser.read_console().await;
    assert_eq!(browser.path().await, "/client/tickets/new");
    assert_eq!(browser.text("h1").await, "Open Ticket");
    assert_eq!(browser.text(".client-name").await, "Client of user0001");
    assert_eq!(
        browser.attrs(".client-nav-group", "data-group").await,
        ["Ordering", "Support", "Account", "Settings"]
    );
    assert_eq!(
        browser.text(".client-nav a[aria-current=page]").await,
        "Open Ticket"
    );

    // The customer signs out; the admin of this browser is still signed in, then signs out.
    browser.click("form.client-logout button").await;
    browser.find(".signed-out").await;
    browser.goto(&browser.url("/admin")).await;
    assert_eq!(browser.text(".signed-in-as strong").await, "root");
    browser
        .click(".who form[action='/admin/logout'] button")
        .await;
    browser.find("form[action='/admin/login']").await;

    // A restricted admin: no Application Links in the navigation, and the 403 page.
    app.login_restricted(&[Permission::ConfigureServers]).await;
    browser.sign_in("helpdesk").await;
    assert!(
        !browser
            .texts("nav.mainnav a")
            .await
            .contains(&"Setup › Application Links".to_string())
    );
    browser
        .goto(&browser.url("/admin/setup/application-links"))
        .await;
    assert_eq!(browser.text("h1").await, "Access denied");
    assert!(
        browser
            .text(".error-message")
            .await
            .contains("Configure Application Links")
    );

    // No page of ours logged a 404 (favicon) or any other error, but the expected 403.
    browser.read_console().await;
    let unexpected: Vec<&String> = browser
        .console
        .iter()
        .filter(|e| e.starts_with("SEVERE"))
        .filter(|e| !(e.contains("/admin/setup/application-links") && e.contains("403")))
        .collect();
    assert!(unexpected.is_empty(), "console: {:#?}", browser.console);
    // Chromium says "the server responded with a status of 404 (Not Found)"; a bare "404"
    // also matches a port such as 40405 in the page's address.
    assert!(
        !browser.console.iter().any(|e| e.contains("status of 404")),
        "console: {:#?}",
        browser.console
    );
}

/// The favicon over plain HTTP, so it is checked without a browser too: every page names it,
/// and `/favicon.ico` answers for pages that name none.
#[tokio::test]
async fn every_page_names_a_favicon_that_is_served() {
    let app = spawn_app().await;
    let (status, html) = app.text("/admin/login").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let icons = crate::helpers::attr(&html, "link[rel=icon]", "href").expect("an icon link");
    for path in [icons.as_str(), "/favicon.ico"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), reqwest::StatusCode::OK, "{path}");
        let kind = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(kind.starts_with("image/"), "{path}: {kind}");
        assert!(!r.bytes().await.unwrap().is_empty(), "{path}");
    }
    app.finish().await;
}
