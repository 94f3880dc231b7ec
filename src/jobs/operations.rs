//! Starting operations: the switch, a saved configuration, a retry, an account event. Each
//! writes the change, the operation, its per-server rows and its jobs in one transaction.

use apalis::prelude::TaskBuilder;
use sqlx::{PgConnection, PgPool};

use super::{JOB_MAX_ATTEMPTS, PROVISION_QUEUE, ProvisionServer, log};
use crate::db;
use crate::db::operations::NewEntry;
use crate::db::servers::Server;
use crate::domain::app::App;
use crate::domain::configuration::Configuration;
use crate::domain::ids::{AccountId, OperationId, ServerId};
use crate::domain::operation::{Kind, Level, ServerState};
use crate::domain::server::version_supports_links;

#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    #[error("there is nothing to retry: no server failed in the last operation")]
    NothingToRetry,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("could not queue the jobs: {0}")]
    Queue(String),
}

/// Switches the application on (`activate`) or off (`deactivate`) and starts the operation.
pub async fn set_enabled(
    pool: &PgPool,
    app: App,
    enabled: bool,
) -> Result<OperationId, OperationError> {
    let mut tx = db::begin(pool).await?;
    db::applications::lock(&mut tx, app).await?;
    db::applications::set_enabled(&mut *tx, app, enabled).await?;
    let kind = if enabled {
        Kind::Activate
    } else {
        Kind::Deactivate
    };
    let servers = db::servers::of_app(&mut *tx, app).await?;
    let id = start(&mut tx, app, kind, None, servers).await?;
    tx.commit().await?;
    Ok(id)
}

/// Saves the configuration; when the application is on, starts a `sync`.
pub async fn save_configuration(
    pool: &PgPool,
    app: App,
    config: &Configuration,
) -> Result<Option<OperationId>, OperationError> {
    let mut tx = db::begin(pool).await?;
    let enabled = db::applications::lock(&mut tx, app).await?;
    db::applications::set_group_label(&mut *tx, app, &config.group_label).await?;
    db::links::save(&mut tx, app, &config.links).await?;
    let id = if enabled {
        let servers = db::servers::of_app(&mut *tx, app).await?;
        Some(start(&mut tx, app, Kind::Sync, None, servers).await?)
    } else {
        None
    };
    tx.commit().await?;
    Ok(id)
}

/// Re-runs the accounts that failed in the application's last operation, on the servers
/// that failed in it.
pub async fn retry_failed(pool: &PgPool, app: App) -> Result<OperationId, OperationError> {
    let mut tx = db::begin(pool).await?;
    db::applications::lock(&mut tx, app).await?;
    let last = db::operations::last(&mut *tx, app)
        .await?
        .ok_or(OperationError::NothingToRetry)?;
    if last.finished_at.is_none() {
        return Err(OperationError::NothingToRetry);
    }
    let failed = db::operations::failed_servers(&mut *tx, last.id).await?;
    let mut servers = Vec::new();
    for id in failed {
        if let Some(s) = db::servers::find(&mut *tx, id).await? {
            servers.push(s);
        }
    }
    if servers.is_empty() {
        return Err(OperationError::NothingToRetry);
    }
    let ids: Vec<ServerId> = servers.iter().map(|s| s.id).collect();
    let id = start(&mut tx, app, Kind::Retry, None, servers).await?;
    // Only the accounts that failed (or never finished); a server that failed before any
    // account settled names none, and its job then takes all of its accounts.
    for server_id in ids {
        db::outcomes::carry_unsettled(&mut *tx, last.id, id, server_id).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// An account was created, re-activated or terminated: bring its links in line when its
/// application is on. Answers the operation started, if any. It runs inside the caller's
/// transaction, so that the account's change and the operation that provisions it commit
/// together (or not at all).
pub async fn account_changed_in(
    tx: &mut PgConnection,
    account_id: AccountId,
) -> Result<Option<OperationId>, OperationError> {
    let Some(account) = db::provisioning::account(&mut *tx, account_id).await? else {
        return Ok(None);
    };
    let Some(app) = account.module.app() else {
        return Ok(None);
    };
    if !db::applications::lock(tx, app).await? {
        return Ok(None);
    }
    let Some(server) = db::servers::find(&mut *tx, account.server_id).await? else {
        return Ok(None);
    };
    if !server.enabled {
        return Ok(None);
    }
    let id = start(tx, app, Kind::Account, Some(account_id), vec![server]).await?;
    Ok(Some(id))
}

/// Writes the operation, its servers, its log opening and its jobs.
pub(super) async fn start(
    tx: &mut PgConnection,
    app: App,
    kind: Kind,
    account_id: Option<AccountId>,
    servers: Vec<Server>,
) -> Result<OperationId, OperationError> {
    let op = db::operations::insert(tx, app, kind, account_id).await?;
    db::operations::log(
        &mut *tx,
        op,
        Level::Debug,
        &format!(
            "Operation started: {kind} {} links on {} server(s)",
            app.name(),
            servers.len()
        ),
        NewEntry::default(),
    )
    .await?;

    if kind.is_application_wide() {
        for s in db::servers::unlinkable(&mut *tx).await? {
            log::cannot_link(tx, op, &s).await?;
        }
    }

    // The jobs are due from this transaction's start, by the database's clock. apalis-postgres
    // would take this process's clock at this moment, and its trigger tells the workers of a
    // job only when the job is due by the transaction's start: a transaction that began in an
    // earlier second queued jobs nobody was told of, which waited for a worker's heartbeat
    // (5 s); and a process whose clock runs ahead of the database's would hold its jobs back
    // until the database's clock caught up.
    let due = db::transaction_start(&mut *tx).await?;
    let mut tasks = Vec::new();
    for s in &servers {
        if version_supports_links(s.version.as_deref()) {
            db::operations::add_server(&mut *tx, op, s.id, ServerState::Queued).await?;
            let job = ProvisionServer {
                operation_id: op,
                server_id: s.id,
            };
            let bytes =
                serde_json::to_vec(&job).map_err(|e| OperationError::Queue(e.to_string()))?;
            tasks.push(
                TaskBuilder::new(bytes)
                    .max_attempts(JOB_MAX_ATTEMPTS)
                    .run_at_timestamp(due)
                    .build(),
            );
        } else {
            db::operations::add_server(&mut *tx, op, s.id, ServerState::Skipped).await?;
            log::too_old(tx, op, s).await?;
        }
    }
    if tasks.is_empty() {
        if kind.is_application_wide() {
            log::no_server(tx, op, app).await?;
        }
        db::operations::finish_if_complete(tx, op).await?;
        db::operations::log(
            &mut *tx,
            op,
            Level::Debug,
            "Operation finished: nothing to do",
            NewEntry::default(),
        )
        .await?;
    } else {
        apalis_postgres::queries::push_tasks(&mut *tx, PROVISION_QUEUE, tasks)
            .await
            .map_err(|e| OperationError::Queue(e.to_string()))?;
    }
    Ok(op)
}
