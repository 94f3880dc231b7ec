//! `applinks migrate`, `applinks serve` and `applinks worker`: the long-running processes.

use std::net::SocketAddr;

use clap::Args;
use secrecy::SecretString;

use crate::config::{ProvisioningArgs, SecretArgs, WebArgs};
use crate::crypto::SecretBox;
use crate::db;
use crate::jobs;
use crate::startup::{self, Application};

/// `applinks worker`'s settings.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub secret: SecretArgs,
    /// Base URL of the web instances (for the links' `autologin_token_url` and `url`).
    #[arg(
        long,
        env = "APPLINKS_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,
    /// Jobs (servers) this process works on at once.
    #[arg(long, env = "APPLINKS_WORKER_CONCURRENCY", default_value_t = 4)]
    pub concurrency: usize,
    #[command(flatten)]
    pub provisioning: ProvisioningArgs,
    /// Serve `/healthz`, `/readyz` and `/metrics` of this worker on this address (off by
    /// default).
    #[arg(long, env = "APPLINKS_WORKER_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Bearer token for the listener's `/metrics` (as for the web's).
    #[arg(long, env = "APPLINKS_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<SecretString>,
}

/// `applinks migrate`.
pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    let pool = db::migrate::connect(database_url).await?;
    db::migrate::run(&pool).await?;
    println!("migrations applied");
    Ok(())
}

/// `applinks serve`: the web server, with `workers` in-process workers unless 0.
pub async fn serve(
    database_url: &str,
    web: WebArgs,
    secret: SecretArgs,
    workers: usize,
    provisioning: ProvisioningArgs,
) -> anyhow::Result<()> {
    let secrets = SecretBox::from_base64(secret.secret_key.as_ref())?;
    let pool = db::migrate::connect_for_jobs(database_url, workers).await?;
    let app = Application::build(pool, &web, secrets).await?;
    println!("applinks listening on {}", app.public_url);
    if workers > 0 {
        tokio::spawn(app.workers(&provisioning, workers));
    }
    app.run_until_stopped().await
}

/// `applinks worker`: takes jobs until SIGINT or SIGTERM; a lost database is waited out.
pub async fn worker(database_url: &str, args: WorkerArgs) -> anyhow::Result<()> {
    let secrets = SecretBox::from_base64(args.secret.secret_key.as_ref())?;
    let pool = db::migrate::connect_for_jobs(database_url, args.concurrency).await?;
    db::migrate::run(&pool).await?;
    let status = jobs::WorkerStatus::default();
    let public_url = args.public_url.trim_end_matches('/');
    if let Some(addr) = args.listen {
        let bound = startup::spawn_worker_listener(
            addr,
            pool.clone(),
            public_url,
            args.metrics_token,
            secrets.clone(),
            status.clone(),
        )
        .await?;
        println!("applinks worker listening on http://{bound}");
    }
    let ctx = startup::job_context(pool, secrets, public_url, &args.provisioning);
    jobs::run_workers(ctx, args.concurrency, startup::shutdown_signal(), status).await?;
    tracing::info!("worker stopped");
    Ok(())
}
