//! The command line: clap's types and the dispatch of every subcommand, one file per family
//! (`serve` for migrate/serve/worker, `admin` for admins and roles, `server`, `account`, `demo`,
//! `bench`).
//!
//! The top of the import graph below `main`: commands build what they need through `startup`
//! (the application) and `hosting` (use cases); nothing imports `cli` but `main`.

pub mod account;
pub mod admin;
pub mod bench;
pub mod bench_web;
pub mod demo;
pub mod serve;
pub mod server;

use clap::{Parser, Subcommand};

use crate::config::{DbArgs, ProvisioningArgs, SecretArgs, WebArgs};

/// applinks: Application Links for cPanel & WHM and WP Squared.
#[derive(Debug, Parser)]
#[command(name = "applinks", about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply all migrations (ours, the job queue's, the session store's); safe to repeat.
    Migrate,
    /// Run the web server (admin, single sign-on, client area).
    Serve {
        #[command(flatten)]
        web: WebArgs,
        #[command(flatten)]
        secret: SecretArgs,
        /// Jobs (servers) the in-process workers run at once; 0 runs no worker here
        /// (then run `applinks worker` elsewhere).
        #[arg(long, env = "APPLINKS_WORKERS", default_value_t = 4)]
        workers: usize,
        #[command(flatten)]
        provisioning: ProvisioningArgs,
    },
    /// Run a worker process only; start as many as you like, on any machine.
    Worker(serve::WorkerArgs),
    /// Manage administrators.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Manage roles.
    Role {
        #[command(subcommand)]
        command: admin::RoleCommand,
    },
    /// The WHM API simulator (a stand-in for cPanel & WHM / WP Squared servers).
    WhmSim(crate::whm::sim::SimArgs),
    /// Manage WHM servers.
    Server {
        #[command(subcommand)]
        command: server::ServerCommand,
    },
    /// Hosting accounts: reset an account's single sign-on token.
    Account {
        #[command(subcommand)]
        command: account::AccountCommand,
    },
    /// Benchmarks; each prints one figure a line and cleans up after itself.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Migrate, seed demo data and serve: one command to see everything.
    Demo {
        #[command(flatten)]
        web: WebArgs,
    },
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx::postgres::notice=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs one command of the command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let database_url = cli.db.database_url;
    match cli.command {
        Command::Migrate => serve::migrate(&database_url).await,
        Command::Serve {
            web,
            secret,
            workers,
            provisioning,
        } => serve::serve(&database_url, web, secret, workers, provisioning).await,
        Command::Worker(args) => serve::worker(&database_url, args).await,
        Command::WhmSim(args) => crate::whm::sim::run(args.into_config()).await,
        Command::Bench { command } => bench::run(&database_url, command).await,
        Command::Demo { web } => {
            // Held until the demo ends: dropping it stops the private cluster, if any.
            let (database_url, _cluster) = demo_database(database_url).await?;
            let pool = crate::db::migrate::connect_for_jobs(&database_url, demo::WORKERS).await?;
            demo::run(pool, web).await
        }
        Command::Admin { command } => admin::run_admin(&database_url, command).await,
        Command::Role { command } => admin::run_role(&database_url, command).await,
        Command::Server { command } => server::run(&database_url, command).await,
        Command::Account { command } => account::run(&database_url, command).await,
    }
}

/// The demo's database: the given URL, or, when none was set and the default PostgreSQL is
/// refused or rejects the sign-in, a private cluster started for this run.
async fn demo_database(
    database_url: String,
) -> anyhow::Result<(String, Option<crate::private_pg::PrivateCluster>)> {
    use crate::private_pg::{self, PrivateCluster};
    let chosen = std::env::var_os("DATABASE_URL").is_some()
        || database_url != crate::config::DEFAULT_DATABASE_URL;
    if chosen {
        return Ok((database_url, None));
    }
    let Some(why) = private_pg::default_url_unusable(&database_url).await else {
        return Ok((database_url, None));
    };
    let cluster = tokio::task::spawn_blocking(|| PrivateCluster::start("demo")).await??;
    let url = cluster.url("applinks");
    println!(
        "PostgreSQL at {database_url} is unusable ({why}); the demo runs its own at {url}, stopped when the demo ends"
    );
    Ok((url, Some(cluster)))
}
