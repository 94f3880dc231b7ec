//! Wiring: settings → database pool → application state → HTTP server (and, later, workers).
//! The only place that knows how the pieces fit together.

use std::io::Read as _;
use std::net::SocketAddr;

use anyhow::{Context as _, bail};
use tokio::net::TcpListener;

use crate::config::{AdminCommand, Cli, Command, ProvisioningArgs, RoleCommand, WebArgs};
use crate::crypto::SecretBox;
use crate::db::{self, PgPool};
use crate::domain::permission::Permission;
use crate::jobs::{self, JobContext};
use crate::web::{self, AppState, WebSettings, auth, throttle};
use crate::whm::client::WhmClient;

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
    match cli.command {
        Command::Migrate => {
            let pool = db::migrate::connect(&cli.db.database_url).await?;
            db::migrate::run(&pool).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Serve {
            web,
            secret,
            workers,
            provisioning,
        } => {
            let secrets = SecretBox::from_base64(secret.secret_key.as_ref())?;
            let pool = db::migrate::connect(&cli.db.database_url).await?;
            let app = Application::build(pool, &web, secrets).await?;
            println!("applinks listening on {}", app.public_url);
            if workers > 0 {
                tokio::spawn(app.workers(&provisioning, workers));
            }
            app.run_until_stopped().await
        }
        Command::Worker {
            secret,
            public_url,
            concurrency,
            provisioning,
            listen,
            metrics_token,
        } => {
            let secrets = SecretBox::from_base64(secret.secret_key.as_ref())?;
            let pool = db::migrate::connect(&cli.db.database_url).await?;
            db::migrate::run(&pool).await?;
            let status = jobs::WorkerStatus::default();
            if let Some(addr) = listen {
                let settings = WebSettings {
                    public_url: public_url.trim_end_matches('/').to_string(),
                    trusted_proxies: Vec::new(),
                    metrics_token,
                    client_session_max_secs: 0,
                };
                let state = AppState::new(pool.clone(), settings, secrets.clone(), status.clone());
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?;
                println!(
                    "applinks worker listening on http://{}",
                    listener.local_addr()?
                );
                let app =
                    web::worker_router(state).into_make_service_with_connect_info::<SocketAddr>();
                tokio::spawn(async move {
                    if let Err(err) = axum::serve(listener, app)
                        .with_graceful_shutdown(shutdown_signal())
                        .await
                    {
                        tracing::error!(error = %err, "the worker's listener stopped");
                    }
                });
            }
            let ctx = job_context(
                pool,
                secrets,
                public_url.trim_end_matches('/'),
                &provisioning,
            );
            jobs::run_workers(ctx, concurrency, shutdown_signal(), status).await?;
            tracing::info!("worker stopped");
            Ok(())
        }
        Command::WhmSim(args) => crate::whm::sim::run(args.into_config()).await,
        Command::Bench { command } => crate::bench::run(&cli.db.database_url, command).await,
        Command::Demo { web } => {
            let pool = db::migrate::connect(&cli.db.database_url).await?;
            crate::demo::run(pool, web).await
        }
        Command::Admin {
            command:
                AdminCommand::Create {
                    username,
                    role,
                    password_stdin: _,
                },
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let pool = db::migrate::connect(&cli.db.database_url).await?;
            // Works on a fresh database too: the schema comes first.
            db::migrate::run(&pool).await?;
            let id = create_admin(&pool, &username, &role, password).await?;
            println!("created admin {username} (id {id}, role {role})");
            Ok(())
        }
        Command::Server { command } => {
            crate::hosting::cli::run(&cli.db.database_url, command).await
        }
        Command::Role {
            command: RoleCommand::Create { name, permissions },
        } => {
            let permissions = permissions
                .iter()
                .map(|p| p.parse::<Permission>())
                .collect::<Result<Vec<_>, _>>()?;
            let pool = db::migrate::connect(&cli.db.database_url).await?;
            db::migrate::run(&pool).await?;
            let mut conn = pool.acquire().await?;
            let role = db::roles::create(&mut conn, &name, &permissions).await?;
            println!("created role {} (id {})", role.name, role.id);
            Ok(())
        }
    }
}

/// Creates an administrator with `role`; refuses short passwords and taken usernames.
pub async fn create_admin(
    pool: &PgPool,
    username: &str,
    role: &str,
    password: &str,
) -> anyhow::Result<i64> {
    let username = username.trim();
    if username.is_empty() || username.chars().count() > 64 {
        bail!("a username must be 1 to 64 characters");
    }
    if password.chars().count() < 12 {
        bail!("the password must be at least 12 characters");
    }
    let role_row = db::roles::find_by_name(pool, role)
        .await?
        .with_context(|| {
            format!("there is no role named “{role}” (create it with `applinks role create`)")
        })?;
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password)).await??;
    db::admins::insert(pool, username, &hash, role_row.id)
        .await?
        .with_context(|| format!("an admin named “{username}” already exists"))
}

/// What jobs need, from the settings.
pub fn job_context(
    pool: PgPool,
    secrets: SecretBox,
    public_url: &str,
    p: &ProvisioningArgs,
) -> JobContext {
    JobContext {
        pool,
        whm: WhmClient::new(p.client_settings()),
        secrets,
        public_url: public_url.to_string(),
        per_server_concurrency: p.per_server_concurrency,
    }
}

/// A bound, ready-to-run web server. Binding happens in `build`, so port 0 works and the
/// actual address is known before serving (tests rely on this).
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    pub addr: SocketAddr,
    pub public_url: String,
    pub pool: PgPool,
    secrets: SecretBox,
    /// Shared with `/readyz`: whether the in-process workers run.
    worker_status: jobs::WorkerStatus,
}

impl Application {
    pub async fn build(pool: PgPool, web: &WebArgs, secrets: SecretBox) -> anyhow::Result<Self> {
        db::migrate::run(&pool).await?;
        let listener = TcpListener::bind(web.bind)
            .await
            .with_context(|| format!("cannot listen on {}", web.bind))?;
        let addr = listener.local_addr()?;
        let public_url = match &web.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{addr}"),
        };
        tokio::spawn(
            db::session_store::PgSessionStore::new(pool.clone())
                .delete_expired_every(std::time::Duration::from_secs(600)),
        );
        let worker_status = jobs::WorkerStatus::default();
        let settings = WebSettings {
            public_url: public_url.clone(),
            trusted_proxies: web.trusted_proxies.clone(),
            metrics_token: web.metrics_token.clone(),
            client_session_max_secs: web.client_session_max_secs,
        };
        let state = AppState::new(
            pool.clone(),
            settings,
            secrets.clone(),
            worker_status.clone(),
        );
        tokio::spawn(throttle::prune(state.login_limiter.clone()));
        Ok(Self {
            listener,
            router: web::router(state),
            addr,
            public_url,
            pool,
            secrets,
            worker_status,
        })
    }

    /// In-process workers for this instance (stop on SIGINT or SIGTERM).
    pub fn workers(
        &self,
        p: &ProvisioningArgs,
        concurrency: usize,
    ) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> {
        let ctx = job_context(self.pool.clone(), self.secrets.clone(), &self.public_url, p);
        jobs::run_workers(
            ctx,
            concurrency,
            shutdown_signal(),
            self.worker_status.clone(),
        )
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("web server failed")
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
