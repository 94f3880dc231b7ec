//! `applinks bench pages` and `applinks bench sso` (issue 10, point 6): requests per second of
//! the signed-in pages and of the SSO round trip, served in-process and loaded from the same
//! process over loopback (so the load generator's CPU is counted against the figures, as on a
//! machine that runs `wrk` beside the server).
//!
//! Each creates a scratch database beside `DATABASE_URL`, a simulated cPanel server whose
//! accounts are provisioned for real (so accounts carry link secrets), an admin signed in
//! through the sign-in form, and the web server on a free loopback port; it prints one figure
//! a line and drops the database.

pub mod http;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use secrecy::ExposeSecret as _;
use sqlx::migrate::MigrateDatabase;
use sqlx::{PgPool, Postgres};

use crate::config::{ProvisioningArgs, WebArgs};
use crate::crypto::SecretBox;
use crate::db;
use crate::domain::app::App;
use crate::domain::permission::FULL_ADMINISTRATOR;
use crate::hosting::admins::create_admin;
use crate::jobs;
use crate::startup::Application;
use crate::whm::sim::{self, SimConfig, SimHandle};
use http::{Conn, Rate, measure};
use hyper::Method;

/// How hard and how long each figure is measured.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Concurrent keep-alive connections (SSO: concurrent round trips; the bare insert loop
    /// runs as many tasks on the same pool).
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Seconds each figure is measured, after one second of warm-up.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
}

#[derive(Debug, Args)]
pub struct PagesBench {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Entries in the log whose first page is measured.
    #[arg(long, default_value_t = 2000)]
    pub log_entries: usize,
}

#[derive(Debug, Args)]
pub struct SsoBench {
    #[command(flatten)]
    pub load: LoadArgs,
}

const ADMIN: &str = "bench";
const FORM: &str = "application/x-www-form-urlencoded";
const HTML: &str = "text/html";
const PAGE: &str = "/admin/setup/application-links";
const WARMUP: Duration = Duration::from_secs(1);
/// Accounts of the simulated server (the SSO round trips take them in turn).
const ACCOUNTS: usize = 64;

/// A scratch database with provisioned accounts and the web server running on it.
struct Stage {
    pool: PgPool,
    addr: SocketAddr,
    secrets: SecretBox,
    admin_password: String,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _sim: SimHandle,
}

/// Runs `bench` on a fresh stage and drops the scratch database whatever happens.
async fn on_stage<T>(
    database_url: &str,
    bench: impl AsyncFnOnce(&Stage) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut url = url::Url::parse(database_url).context("DATABASE_URL is not a URL")?;
    url.set_path(&format!(
        "/applinks_bench_{}",
        uuid::Uuid::new_v4().simple()
    ));
    let url = url.to_string();
    let pool = db::migrate::connect(&url).await?;
    let result = async {
        let stage = Stage::build(pool.clone()).await?;
        let result = bench(&stage).await;
        stage.server.abort();
        result
    }
    .await;
    pool.close().await;
    Postgres::force_drop_database(&url)
        .await
        .context("dropping the scratch database")?;
    result
}

impl Stage {
    async fn build(pool: PgPool) -> anyhow::Result<Self> {
        db::migrate::run(&pool).await?;
        let secrets = SecretBox::from_base64(Some(&SecretBox::generate_key()))?;
        let sim = sim::spawn(SimConfig {
            accounts: ACCOUNTS,
            ..Default::default()
        })
        .await?;
        crate::cli::demo::seed(&pool, &secrets, &[("bench-1", &sim, ACCOUNTS)]).await?;
        let admin_password = uuid::Uuid::new_v4().simple().to_string();
        create_admin(&pool, ADMIN, FULL_ADMINISTRATOR, &admin_password).await?;
        let web = WebArgs {
            bind: "127.0.0.1:0".parse()?,
            public_url: None,
            trusted_proxies: Vec::new(),
            metrics_token: None,
            client_session_max_secs: 28_800,
        };
        let app = Application::build(pool.clone(), &web, secrets.clone()).await?;
        let addr = app.addr;
        let public_url = app.public_url.clone();
        let server = tokio::spawn(app.run_until_stopped());
        provision(&pool, &secrets, &public_url).await?;
        Ok(Self {
            pool,
            addr,
            secrets,
            admin_password,
            server,
            _sim: sim,
        })
    }

    /// Signs the admin in through the form; answers the session's `Cookie` header value.
    async fn sign_in(&self) -> anyhow::Result<String> {
        let mut conn = Conn::open(self.addr).await?;
        let form = conn.send(Method::GET, "/admin/login", &[], b"").await?;
        let cookie = form
            .cookies()
            .next()
            .context("the sign-in form sets no cookie")?
            .to_string();
        let html = String::from_utf8_lossy(&form.body);
        let token = html
            .split_once(r#"name="csrf-token" content=""#)
            .and_then(|(_, rest)| rest.split('"').next())
            .context("the sign-in form carries no CSRF token")?;
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("username", ADMIN)
            .append_pair("password", &self.admin_password)
            .append_pair("csrf_token", token)
            .finish();
        let signed_in = conn
            .send(
                Method::POST,
                "/admin/login",
                &[("cookie", &cookie), ("content-type", FORM)],
                body.as_bytes(),
            )
            .await?;
        if signed_in.status != 303 {
            bail!("signing in answered {}", signed_in.status);
        }
        let cookie = signed_in.cookies().next().map_or(cookie, str::to_string);
        // The first signed-in page marks the session active (a write); later ones do not.
        let page = conn
            .send(Method::GET, PAGE, &[("cookie", &cookie)], b"")
            .await?;
        if page.status != 200 {
            bail!("the signed-in page answered {}", page.status);
        }
        Ok(cookie)
    }

    /// Requests/s of one GET of `path` with the session `cookie` and an `accept` header,
    /// expecting 200.
    async fn rate_of_get(
        &self,
        load: &LoadArgs,
        path: String,
        cookie: &str,
        accept: &'static str,
    ) -> anyhow::Result<Rate> {
        let mut conns = Vec::new();
        for _ in 0..load.connections {
            conns.push(Conn::open(self.addr).await?);
        }
        let get = std::sync::Arc::new((path, cookie.to_string()));
        measure(conns, WARMUP, window(load), move |mut conn: Conn| {
            let get = get.clone();
            async move {
                let (path, cookie) = &*get;
                let headers = [("cookie", cookie.as_str()), ("accept", accept)];
                let answer = conn.send(Method::GET, path, &headers, b"").await?;
                if answer.status != 200 {
                    bail!("GET {path} answered {}", answer.status);
                }
                Ok(conn)
            }
        })
        .await
    }
}

fn window(load: &LoadArgs) -> Duration {
    Duration::from_secs(load.seconds.max(1))
}

/// Switches cPanel on with in-process workers and waits until every account is linked.
async fn provision(pool: &PgPool, secrets: &SecretBox, public_url: &str) -> anyhow::Result<()> {
    let ctx = crate::startup::job_context(
        pool.clone(),
        secrets.clone(),
        public_url,
        &ProvisioningArgs::default(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let workers = tokio::spawn(jobs::run_workers(
        ctx,
        2,
        async {
            let _ = stopped.await;
        },
        jobs::WorkerStatus::default(),
    ));
    let op = jobs::set_enabled(pool, App::Cpanel, true).await?;
    let summary = loop {
        let summary = db::operations::summary(pool, op).await?;
        if let Some(summary) = summary.filter(|s| s.finished_at.is_some()) {
            break summary;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = stop.send(());
    let _ = workers.await;
    if summary.accounts_done != ACCOUNTS as i64 || summary.warnings != 0 {
        bail!("provisioning the bench accounts did not go cleanly: {summary:?}");
    }
    Ok(())
}

/// `applinks bench pages`.
pub async fn pages(database_url: &str, args: PagesBench) -> anyhow::Result<()> {
    on_stage(database_url, async |stage: &Stage| {
        fill_log(&stage.pool, args.log_entries).await?;
        let cookie = stage.sign_in().await?;
        let load = &args.load;
        let status = format!("{PAGE}/cpanel/status");
        let figures = [
            ("application_links_page", PAGE.to_string(), HTML),
            ("status_fragment_html", status.clone(), HTML),
            ("status_fragment_json", status, "application/json"),
            ("log_first_page", format!("{PAGE}/cpanel/log"), HTML),
        ];
        println!("connections {}", load.connections);
        println!("seconds {}", load.seconds);
        println!("log_entries {}", args.log_entries);
        for (name, path, accept) in figures {
            let rate = stage.rate_of_get(load, path, &cookie, accept).await?;
            println!("{name}_req_per_s {:.0}", rate.per_sec());
        }
        Ok(())
    })
    .await
}

/// Adds `n` entries to the log of cPanel's last operation (one in ten a warning).
async fn fill_log(pool: &PgPool, n: usize) -> anyhow::Result<()> {
    let op = db::operations::last(pool, App::Cpanel)
        .await?
        .context("no cPanel operation")?;
    sqlx::query(
        "with entries as (
             insert into operation_log (operation_id, level, server_name, account_username, message)
             select $1, case when i % 10 = 0 then 'warning' else 'info' end, 'bench-1',
                    'user' || lpad((i % 64 + 1)::text, 4, '0'), 'bench entry ' || i
             from generate_series(1, $2) i
             returning level)
         update operations set warnings = warnings
                + (select count(*) from entries where level = 'warning')
         where id = $1",
    )
    .bind(op.id)
    .bind(n as i64)
    .execute(pool)
    .await?;
    Ok(())
}

/// `applinks bench sso`.
pub async fn sso(database_url: &str, args: SsoBench) -> anyhow::Result<()> {
    on_stage(database_url, async |stage: &Stage| {
        let load = &args.load;
        let bare = bare_inserts(&stage.pool, load).await?;
        let round_trips = sso_round_trips(stage, load).await?;
        println!("connections {}", load.connections);
        println!("seconds {}", load.seconds);
        println!("bare_insert_per_s {:.0}", bare.per_sec());
        println!("sso_round_trips_per_s {:.0}", round_trips.per_sec());
        println!(
            "ratio sso/bare {:.3}",
            round_trips.per_sec() / bare.per_sec()
        );
        Ok(())
    })
    .await
}

/// The machine's commit rate as applinks sees it: one-row inserts, each its own transaction,
/// from as many tasks as the SSO run has connections, on the application's pool.
async fn bare_inserts(pool: &PgPool, load: &LoadArgs) -> anyhow::Result<Rate> {
    sqlx::query("create table bench_commits (id bigserial primary key, at timestamptz not null default now(), n int not null)")
        .execute(pool)
        .await?;
    let states = (0..load.connections)
        .map(|i| (pool.clone(), i as i32))
        .collect();
    measure(
        states,
        WARMUP,
        window(load),
        |(pool, n): (PgPool, i32)| async move {
            sqlx::query("insert into bench_commits (n) values ($1)")
                .bind(n)
                .execute(&pool)
                .await?;
            Ok((pool, n))
        },
    )
    .await
}

/// One account with what cPanel sends for it: the link path and the form body.
struct Caller {
    path: String,
    body: String,
}

/// Autologin POST (as cPanel sends it, server to server) plus `GET /sso/login` with the
/// one-time token (as the browser follows it, without a session yet).
async fn sso_round_trips(stage: &Stage, load: &LoadArgs) -> anyhow::Result<Rate> {
    let link = db::links::load(&stage.pool, App::Cpanel)
        .await?
        .into_iter()
        .find(|l| l.shown)
        .context("no shown cPanel link")?;
    let secrets: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "select account_id, token_ciphertext from account_link_secrets where app = 'cpanel' order by account_id",
    )
    .fetch_all(&stage.pool)
    .await?;
    if secrets.is_empty() {
        bail!("no account has a link secret");
    }
    let mut states = Vec::new();
    for i in 0..load.connections {
        let (account, ciphertext) = &secrets[i % secrets.len()];
        let token = stage.secrets.decrypt(ciphertext)?;
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("subscriber_unique_id", &account.to_string())
            .append_pair("token", token.expose_secret())
            .finish();
        let caller = Caller {
            path: format!("/sso/cpanel/{}", link.key),
            body,
        };
        states.push((Conn::open(stage.addr).await?, std::sync::Arc::new(caller)));
    }
    measure(
        states,
        WARMUP,
        window(load),
        |(mut conn, caller): (Conn, std::sync::Arc<Caller>)| async move {
            let answer = conn
                .send(
                    Method::POST,
                    &caller.path,
                    &[("content-type", FORM)],
                    caller.body.as_bytes(),
                )
                .await?;
            let json: serde_json::Value = serde_json::from_slice(&answer.body)
                .with_context(|| format!("autologin answered {}", answer.status))?;
            let Some(redirect) = json["redirect_url"].as_str() else {
                bail!("autologin answered {} {json}", answer.status);
            };
            let path = redirect
                .find("/sso/login?")
                .map(|at| &redirect[at..])
                .with_context(|| format!("autologin redirects to {redirect}"))?;
            let login = conn.send(Method::GET, path, &[], b"").await?;
            if login.status != 303 || login.cookies().next().is_none() {
                bail!("/sso/login answered {} without a session", login.status);
            }
            Ok((conn, caller))
        },
    )
    .await
}
