//! Background provisioning: operations, their jobs, and the workers that run them (SPEC §6).
//!
//! An operation is a row in `operations` plus one apalis job per server, written in ONE
//! transaction (apalis-postgres's `push_tasks` takes our transaction), so an operation never
//! waits for a job that was never queued. Jobs reconcile a server to the application's
//! *current* desired state, so a retried, repeated or superseded job is harmless.
//!
//! A job reconciles its server's accounts in batches (several accounts' commands per
//! request), records each account's outcome, and gives accounts whose request got no answer
//! a second pass before it finishes; *Retry* re-runs only the accounts that failed.
//!
//! Error policy: what a server answers (access denied, unknown account, HTTP errors after the
//! client's retries) is logged as a Warning, one per account, and the job still succeeds; only infrastructure
//! failures (the database) fail the job, which apalis then retries. A worker that dies
//! mid-job stops heart-beating and apalis hands its jobs to another worker.

pub mod connect;
mod lock;
mod log;
mod notified;
pub mod operations;
mod pass;
pub mod provision;
mod reconcile;
pub mod reset_token;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::time::Duration;

use apalis::prelude::*;
use apalis_postgres::{PostgresStorage, Pubsub};
use sqlx::PgPool;

use crate::crypto::SecretBox;
use crate::whm::client::WhmClient;

pub use operations::{
    OperationError, account_changed_in, retry_failed, save_configuration, set_enabled,
};
pub use provision::ProvisionServer;
pub use reset_token::{ResetError, ResetStarted, reset_token};

/// Queue names are set explicitly, so renaming a Rust type never orphans queued jobs.
pub const PROVISION_QUEUE: &str = "applinks.provision_server";

/// A dead worker's jobs are handed out again after `HEARTBEAT × MISSED_HEARTBEATS` (15 s).
pub const HEARTBEAT: Duration = Duration::from_secs(5);
pub const MISSED_HEARTBEATS: usize = 3;

/// Attempts of one job when the database fails under it.
pub const JOB_MAX_ATTEMPTS: usize = 5;

/// What jobs need; deliberately not the web's `AppState`.
#[derive(Clone)]
pub struct JobContext {
    pub pool: PgPool,
    pub whm: WhmClient,
    pub secrets: SecretBox,
    /// Base URL of the web instances, for `autologin_token_url` and the fallback `url`.
    pub public_url: String,
    /// Requests in flight to one server at a time.
    pub per_server_concurrency: usize,
    /// Accounts whose commands travel in one `batch` request.
    pub batch_accounts: usize,
}

/// Accounts per `batch` request unless the settings say otherwise (chosen from the
/// benchmark, BENCHMARKS.md).
pub const DEFAULT_BATCH_ACCOUNTS: usize = crate::config::DEFAULT_WHM_BATCH_ACCOUNTS;

/// A worker name unique to this process, so apalis can tell a dead process's jobs apart.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("applinks-{host}-{}-{}", std::process::id(), &nonce[..8])
}

/// Runs provisioning workers until `shutdown` resolves: then no new job is taken and the
/// running ones finish (or, if the process is killed, are handed back by the heartbeat).
///
/// A worker that stops with an error (the database went away, a poll failed) is started
/// again after a pause that grows to [`MAX_RESTART_DELAY`], under a new name, for as long as
/// the process runs: a database restart never ends a worker. Its unfinished jobs are handed
/// to a live worker once its heartbeat is stale. The outage is logged once when it starts and
/// once when a worker runs again, not at every attempt.
///
/// Not an `async fn`: the worker future is boxed where its concrete type is known, which lets
/// the compiler prove it `Send` (inside an async fn it cannot, a known rustc limitation).
pub fn run_workers(
    ctx: JobContext,
    concurrency: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
    status: WorkerStatus,
) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> {
    let shutdown = futures::FutureExt::shared(shutdown);
    status.expected.store(true, AtomicOrdering::Release);
    Box::pin(async move {
        let mut delay = MIN_RESTART_DELAY;
        let mut outage: Option<std::time::Instant> = None;
        loop {
            let started = std::time::Instant::now();
            status.running.store(true, AtomicOrdering::Release);
            let result = run_worker_once(ctx.clone(), concurrency, shutdown.clone()).await;
            status.running.store(false, AtomicOrdering::Release);
            let Err(err) = result else {
                return Ok(()); // Stopped on the shutdown signal.
            };
            // A worker that ran a good while before failing ends the previous outage.
            if started.elapsed() > HEALTHY_RUN {
                delay = MIN_RESTART_DELAY;
                outage = None;
            }
            match outage {
                None => {
                    tracing::error!(error = %err, "provisioning worker stopped; restarting it until the database answers");
                    outage = Some(std::time::Instant::now());
                }
                Some(_) => tracing::debug!(error = %err, "provisioning worker still cannot run"),
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = shutdown.clone() => return Ok(()),
            }
            delay = (delay * 2).min(MAX_RESTART_DELAY);
            if let Some(since) = outage
                && ctx.pool.acquire().await.is_ok()
            {
                tracing::warn!(
                    down_secs = since.elapsed().as_secs(),
                    "the database answers again; provisioning worker restarting"
                );
                crate::metrics::db_reconnect();
                outage = None;
            }
        }
    })
}

/// Whether this process's workers run, for `/readyz`. Cheap to clone; all clones share it.
#[derive(Debug, Clone, Default)]
pub struct WorkerStatus {
    /// The process runs workers at all.
    expected: Arc<AtomicBool>,
    /// A worker is running now (not waiting to be restarted).
    running: Arc<AtomicBool>,
}

impl WorkerStatus {
    /// False while workers that this process should run are down (waiting for a restart).
    pub fn is_ready(&self) -> bool {
        !self.expected.load(AtomicOrdering::Acquire) || self.running.load(AtomicOrdering::Acquire)
    }
}

/// First pause before a stopped worker is started again.
const MIN_RESTART_DELAY: Duration = Duration::from_millis(500);
/// Longest pause between two restarts.
pub const MAX_RESTART_DELAY: Duration = Duration::from_secs(10);
/// A worker that ran this long before failing was healthy: the next failure is a new outage.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// Connections of a worker's queue pool beyond one per job slot: the fetch, the
/// notification listener, acknowledgements and heart beats.
const QUEUE_CONNECTIONS: u32 = 3;

/// One apalis worker under a fresh name, until `shutdown` or an error.
fn run_worker_once(
    ctx: JobContext,
    concurrency: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> {
    let concurrency = concurrency.max(1);
    let config = apalis_postgres::Config::default()
        .queue(PROVISION_QUEUE)
        // Take only what this process can run, so other processes get the rest.
        .batch_size(concurrency)
        .heartbeat_interval(HEARTBEAT)
        .missed_heartbeats(MISSED_HEARTBEATS);
    // The queue gets a pool of its own, closed when this worker stops: apalis begins
    // transactions in futures that a stopping worker drops, and sqlx 0.9.0 leaves a dropped
    // `BEGIN` open (see `db::begin`). Closing the pool ends such a session, so a stopped
    // worker cannot leave a connection in a transaction behind for the jobs or the web.
    // Pooled as the jobs' pool is ([`db::migrate::pool_options`]): a connection in steady use
    // is not pinged before each of apalis's statements, one idle a while is.
    let queue_pool = crate::db::migrate::pool_options()
        .max_connections(concurrency as u32 + QUEUE_CONNECTIONS)
        .connect_lazy_with((*ctx.pool.connect_options()).clone());
    // New jobs wake the worker (a notification from its own listening connection), and it
    // looks again shortly after each (`notified`): apalis's `with_pubsub` alone could let a
    // job wait for the next heartbeat.
    let notifications = Pubsub::new(queue_pool.clone(), PROVISION_QUEUE.to_string());
    let backend = PollWith::new(
        PostgresStorage::<ProvisionServer>::new(&queue_pool).with_config(config),
        notified::Notified::new(notifications),
    );
    let name = worker_name();
    tracing::info!(worker = %name, concurrency, "provisioning worker started");
    let worker = WorkerBuilder::new(name)
        .backend(backend)
        .data(Arc::new(ctx))
        .parallelize(tokio::spawn)
        .concurrency(concurrency)
        .build(provision::handle);
    let running = worker.run_until(async move {
        shutdown.await;
        Ok::<(), std::io::Error>(())
    });
    let running: Pin<Box<dyn Future<Output = Result<(), WorkerError>> + Send>> = Box::pin(running);
    Box::pin(async move {
        let result = running
            .await
            .map_err(|e| anyhow::anyhow!("worker stopped with an error: {e}"));
        // Closing waits for connections still checked out; none should be, but never hang on it.
        let _ = tokio::time::timeout(Duration::from_secs(5), queue_pool.close()).await;
        result
    })
}
