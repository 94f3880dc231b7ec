//! Wiring: settings → database pool → application state → HTTP server and workers.
//! The only place that knows how the pieces fit together; it builds the application and
//! dispatches no command (that is `cli`).

use std::net::SocketAddr;

use anyhow::Context as _;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tower_sessions::session_store::ExpiredDeletion as _;

use crate::config::{ProvisioningArgs, WebArgs};
use crate::crypto::SecretBox;
use crate::db::{self, PgPool};
use crate::jobs::{self, JobContext};
use crate::web::{self, AppState, WebSettings, throttle};
use crate::whm::client::{ClientSettings, WhmClient};

/// How often a web instance drops expired sessions and single sign-on tokens.
const CLEAN_UP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Runs `task` every `period` for as long as the process lives; a failure is logged as
/// `what` failing, and the next round comes anyway.
async fn every<F, Fut, T, E>(period: std::time::Duration, what: &'static str, mut task: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut interval = tokio::time::interval(period);
    loop {
        interval.tick().await;
        if let Err(err) = task().await {
            tracing::warn!(error = %err, "{what} failed");
        }
    }
}

/// Serves the worker's `/healthz`, `/readyz` and `/metrics` on `addr` until SIGINT or
/// SIGTERM; returns the bound address.
pub async fn spawn_worker_listener(
    addr: SocketAddr,
    pool: PgPool,
    public_url: &str,
    metrics_token: Option<SecretString>,
    secrets: SecretBox,
    status: jobs::WorkerStatus,
) -> anyhow::Result<SocketAddr> {
    let settings = WebSettings {
        public_url: public_url.to_string(),
        trusted_proxies: Vec::new(),
        metrics_token,
        client_session_max_secs: 0,
    };
    let state = AppState::new(pool, settings, secrets, status);
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let app = web::worker_router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
        {
            tracing::error!(error = %err, "the worker's listener stopped");
        }
    });
    Ok(bound)
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
        whm: WhmClient::new(ClientSettings {
            timeout_ms: p.whm_timeout_ms,
            retry_max_attempts: p.whm_retry_attempts.max(1),
            retry_base_delay_ms: p.whm_retry_base_delay_ms,
            ..ClientSettings::default()
        }),
        secrets,
        public_url: public_url.to_string(),
        per_server_concurrency: p.per_server_concurrency,
        batch_accounts: p.whm_batch_accounts.max(1),
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
        // The periodic clean-ups of every web instance.
        let sessions = db::session_store::PgSessionStore::new(pool.clone());
        tokio::spawn(every(
            CLEAN_UP_EVERY,
            "deleting expired sessions",
            move || {
                let sessions = sessions.clone();
                async move { sessions.delete_expired().await }
            },
        ));
        let tokens = pool.clone();
        tokio::spawn(every(
            CLEAN_UP_EVERY,
            "deleting expired single sign-on tokens",
            move || {
                let tokens = tokens.clone();
                async move { db::sso::delete_expired_tokens(&tokens).await }
            },
        ));
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
