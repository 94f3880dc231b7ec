//! `applinks bench provision`: how close provisioning comes to its bound (SPEC §9).
//!
//! It creates a scratch database beside `DATABASE_URL`, starts simulators with a fixed latency,
//! seeds accounts, switches cPanel on with in-process workers and times the operation until
//! the database says it finished. The bound is what the latency alone forces: every account
//! needs one `list_integration_links` and one `create_integration_link` per link, and one
//! server runs `per_server_concurrency` calls at once, so
//! `bound = accounts × (links + 1) × latency / per-server concurrency` (servers run in
//! parallel, so the bound of the busiest server). Figures, one a line; the database is dropped.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sqlx::migrate::MigrateDatabase;
use sqlx::{PgPool, Postgres};

use crate::config::ProvisioningArgs;
use crate::crypto::SecretBox;
use crate::db;
use crate::domain::app::App;
use crate::domain::links::LINKS;
use crate::jobs;
use crate::whm::sim::{self, SimConfig};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time a cPanel activation against simulators and compare it with its bound.
    Provision(ProvisionBench),
    /// Requests/s of the Application Links page, its status fragment and the log's first page.
    Pages(super::bench_web::PagesBench),
    /// SSO round trips/s (autologin POST + /sso/login) against the bare commit rate.
    Sso(super::bench_web::SsoBench),
}

#[derive(Debug, Args)]
pub struct ProvisionBench {
    /// Simulated cPanel servers.
    #[arg(long, default_value_t = 2)]
    pub servers: usize,
    /// Accounts per server.
    #[arg(long, default_value_t = 100)]
    pub accounts: usize,
    /// Latency the simulators add to every API call.
    #[arg(long, default_value_t = 20)]
    pub latency_ms: u64,
    /// WHM calls in flight to one server.
    #[arg(long, default_value_t = 8)]
    pub per_server_concurrency: usize,
    /// Jobs (servers) the in-process workers run at once.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
}

pub async fn run(database_url: &str, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Provision(args) => provision(database_url, args).await,
        BenchCommand::Pages(args) => super::bench_web::pages(database_url, args).await,
        BenchCommand::Sso(args) => super::bench_web::sso(database_url, args).await,
    }
}

async fn provision(database_url: &str, args: ProvisionBench) -> anyhow::Result<()> {
    let mut url = url::Url::parse(database_url).context("DATABASE_URL is not a URL")?;
    url.set_path(&format!(
        "/applinks_bench_{}",
        uuid::Uuid::new_v4().simple()
    ));
    let url = url.to_string();
    let pool = db::migrate::connect(&url).await?;
    let result = measure(&pool, &args).await;
    pool.close().await;
    Postgres::force_drop_database(&url)
        .await
        .context("dropping the scratch database")?;
    let wall = result?;

    let links = LINKS.len() as f64;
    let calls_per_account = links + 1.0;
    let bound = args.accounts as f64 * calls_per_account * args.latency_ms as f64
        / 1000.0
        / args.per_server_concurrency.max(1) as f64;
    println!("servers {}", args.servers);
    println!("accounts {}", args.servers * args.accounts);
    println!("links {}", LINKS.len());
    println!("latency_ms {}", args.latency_ms);
    println!("per_server_concurrency {}", args.per_server_concurrency);
    println!("wall_s {:.3}", wall.as_secs_f64());
    println!("bound_s {bound:.3}");
    println!(
        "accounts_per_s {:.1}",
        (args.servers * args.accounts) as f64 / wall.as_secs_f64()
    );
    println!("ratio wall/bound {:.3}", wall.as_secs_f64() / bound);
    Ok(())
}

async fn measure(pool: &PgPool, args: &ProvisionBench) -> anyhow::Result<Duration> {
    db::migrate::run(pool).await?;
    let secrets = SecretBox::from_base64(Some(&SecretBox::generate_key()))?;
    let mut sims = Vec::new();
    for _ in 0..args.servers {
        sims.push(
            sim::spawn(SimConfig {
                accounts: args.accounts,
                latency_ms: args.latency_ms,
                ..Default::default()
            })
            .await?,
        );
    }
    let names: Vec<String> = (1..=args.servers).map(|i| format!("bench-{i}")).collect();
    let seeded: Vec<(&str, &sim::SimHandle, usize)> = names
        .iter()
        .zip(&sims)
        .map(|(n, s)| (n.as_str(), s, args.accounts))
        .collect();
    super::demo::seed(pool, &secrets, &seeded).await?;

    let provisioning = ProvisioningArgs {
        per_server_concurrency: args.per_server_concurrency,
        ..Default::default()
    };
    let ctx = crate::startup::job_context(
        pool.clone(),
        secrets,
        "http://127.0.0.1:8080",
        &provisioning,
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let workers = tokio::spawn(jobs::run_workers(
        ctx,
        args.workers,
        async {
            let _ = stopped.await;
        },
        jobs::WorkerStatus::default(),
    ));

    let started = Instant::now();
    let op = jobs::set_enabled(pool, App::Cpanel, true).await?;
    let wall = loop {
        let summary = db::operations::summary(pool, op).await?;
        if summary.is_some_and(|s| s.finished_at.is_some()) {
            break started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let summary = db::operations::summary(pool, op)
        .await?
        .context("the operation vanished")?;
    anyhow::ensure!(
        summary.accounts_done == (args.servers * args.accounts) as i64 && summary.warnings == 0,
        "the operation did not provision every account cleanly: {summary:?}"
    );
    let _ = stop.send(());
    let _ = workers.await;
    Ok(wall)
}
