//! `applinks whm-sim`: a WHM API 1 server on loopback that behaves as cPanel's server does
//! (whm-api.md §7: the behaviour of §1–§6, not the published reference), for the demo, the
//! tests and the benchmarks. Plain HTTP, state in memory.
//!
//! - `api`: `GET`/`POST /json-api/FUNCTION` (query string or form body), both auth forms,
//!   faults, `--command-ms`; `batch`: many commands in one request (§2); `validate`:
//!   cPanel's argument rules and reason texts (§3).
//! - `cpanel`: the customer's cPanel home, `GET /cpanel/USER`; `autologin`: the click,
//!   `POST /cpanel/USER/open/APP` (§6).
//! - `control`: test support without auth: `GET /__sim/state`, `POST /__sim/faults`,
//!   `POST /__sim/accounts`, `DELETE /__sim/accounts/USER`.
//! - `config`: [`SimConfig`], the flags ([`SimArgs`]) and the [`Sleeper`].
//! - `state`: the memory (links keep user config and token apart, as cPanel does).
//!
//! In-process: [`spawn`] answers a [`SimHandle`]; from the command line: [`run`].

mod api;
mod autologin;
mod batch;
mod config;
mod control;
mod cpanel;
mod fields;
mod functions;
pub mod state;
mod validate;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use api::MAX_BODY_BYTES;
pub use autologin::{AUTOLOGIN_FIELDS, MAX_AUTOLOGIN_ATTEMPTS, MAX_RETRY_WAIT};
pub use config::{DEFAULT_VERSION, MODULES, SimArgs, SimConfig, Sleeper, TokioSleeper};
pub use cpanel::{PREFERENCES_GROUP, PREFERENCES_LABEL};
pub use state::{Faults, FaultsUpdate, Owner, StoredGroup, StoredLink, UserConfigMap};
pub use validate::DEFAULT_ORDER;

use self::state::{SharedWorld, World};
use super::types::Account;

/// The state the handlers share.
struct Sim {
    world: SharedWorld,
    version: String,
    username: String,
    token: String,
    sleeper: Arc<dyn Sleeper>,
    /// For the autologin calls of the simulated cPanel.
    http: reqwest::Client,
    /// Turns true when the simulator stops; ends simulated hangs.
    shutdown: watch::Receiver<bool>,
}

fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route(
            "/json-api/{function}",
            get(api::call)
                .post(api::call)
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route("/cpanel/{user}", get(cpanel::home))
        .route("/cpanel/{user}/open/{app}", post(autologin::open))
        .merge(control::router())
        .with_state(sim)
}

/// A running simulator. Dropping it stops the server without waiting for it.
pub struct SimHandle {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub addr: SocketAddr,
    pub token: String,
    pub username: String,
    pub module: String,
    pub version: String,
    sim: Arc<Sim>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("url", &self.url)
            .field("module", &self.module)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Binds 127.0.0.1:`config.port` and serves in a tokio task.
pub async fn spawn(config: SimConfig) -> anyhow::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
        .await
        .with_context(|| format!("whm-sim: binding 127.0.0.1:{}", config.port))?;
    let addr = listener.local_addr()?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("whm-sim: building the autologin HTTP client")?;
    let faults = Faults {
        latency_ms: config.latency_ms,
        command_ms: config.command_ms,
        fail_rate: config.fail_rate,
        timeout_rate: config.timeout_rate,
        fail_users: config.fail_users,
        owner: config.owner,
        ..Faults::default()
    };
    let sim = Arc::new(Sim {
        world: SharedWorld::new(World::with_accounts(config.accounts, faults)),
        version: config.version.clone(),
        username: config.username.clone(),
        token: config.token.clone(),
        sleeper: config.sleeper,
        http,
        shutdown: shutdown_rx.clone(),
    });
    let app = router(sim.clone());
    let mut stop = shutdown_rx;
    let task = tokio::spawn(async move {
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                // An error means the sender is gone: stop as well.
                let _ = stop.wait_for(|stopping| *stopping).await;
            })
            .await;
        if let Err(err) = served {
            tracing::error!(error = %err, "whm-sim stopped with an error");
        }
    });
    Ok(SimHandle {
        url: format!("http://{addr}"),
        addr,
        token: config.token,
        username: config.username,
        module: config.module,
        version: config.version,
        sim,
        shutdown: shutdown_tx,
        task: Some(task),
    })
}

/// `applinks whm-sim`: prints the listening line and serves until Ctrl-C or SIGTERM.
pub async fn run(config: SimConfig) -> anyhow::Result<()> {
    let accounts = config.accounts;
    let handle = spawn(config).await?;
    println!(
        "whm-sim listening on {} (module {}, {} accounts, version {}, token {})",
        handle.url, handle.module, accounts, handle.version, handle.token
    );
    shutdown_signal().await;
    handle.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "whm-sim: cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "whm-sim: cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

impl SimHandle {
    /// The same JSON as `GET /__sim/state`.
    pub fn state_json(&self) -> serde_json::Value {
        self.sim.world.lock().to_json()
    }

    /// The user's links as `GET /__sim/state` shows them: app → user config with the token
    /// merged in under `token`.
    pub fn links(&self, user: &str) -> BTreeMap<String, BTreeMap<String, String>> {
        self.sim.world.lock().merged_links(user)
    }

    /// The user's links as stored: app → user config and token apart.
    pub fn stored_links(&self, user: &str) -> BTreeMap<String, StoredLink> {
        self.sim
            .world
            .lock()
            .links
            .get(user)
            .cloned()
            .unwrap_or_default()
    }

    /// Tokens set by `update_integration_link_token` for apps of the user that have no link:
    /// app → token.
    pub fn orphan_tokens(&self, user: &str) -> BTreeMap<String, String> {
        self.sim
            .world
            .lock()
            .orphan_tokens
            .get(user)
            .cloned()
            .unwrap_or_default()
    }

    /// The user's groups: group id → group.
    pub fn groups(&self, user: &str) -> BTreeMap<String, StoredGroup> {
        self.sim
            .world
            .lock()
            .groups
            .get(user)
            .cloned()
            .unwrap_or_default()
    }

    /// Calls received of one function, whatever their answer.
    pub fn calls(&self, function: &str) -> u64 {
        self.sim
            .world
            .lock()
            .calls
            .get(function)
            .copied()
            .unwrap_or(0)
    }

    /// HTTP requests to the API received (a batch is one, whatever it carries).
    pub fn requests(&self) -> u64 {
        self.sim.world.lock().requests
    }

    pub fn faults(&self) -> Faults {
        self.sim.world.lock().faults.clone()
    }

    /// Changes the faults as `POST /__sim/faults` does; answers the new settings.
    pub fn set_faults(&self, update: FaultsUpdate) -> Result<Faults, String> {
        let mut world = self.sim.world.lock();
        world.faults.apply(update)?;
        Ok(world.faults.clone())
    }

    /// Adds (or replaces) an account.
    pub fn add_account(&self, account: Account) {
        self.sim.world.lock().add_account(account);
    }

    /// Removes an account with its links; false when there was none.
    pub fn remove_account(&self, user: &str) -> bool {
        self.sim.world.lock().remove_account(user)
    }

    /// Stops serving and waits until the server task has ended (simulated hangs end too).
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take()
            && let Err(err) = task.await
        {
            tracing::warn!(error = %err, "whm-sim task ended abnormally");
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        // Signal only: the server task ends by itself, nothing here waits.
        let _ = self.shutdown.send(true);
    }
}
