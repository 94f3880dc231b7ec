//! The job: bring one server's accounts to the application's current desired links.

use std::sync::Arc;

use apalis::prelude::{Attempt, BoxDynError, Data};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use super::connect::{ConnectionError, unseal};
pub use super::lock::SERVER_LOCK_NAMESPACE;
use super::lock::ServerLock;
use super::pass::{Pass, Round, Tally, open, second_pass_pause};
use super::reconcile::{Desired, link_tokens};
use super::{JOB_MAX_ATTEMPTS, JobContext, log};
use crate::db;
use crate::db::operations::{NewEntry, Standing};
use crate::db::servers::Server;
use crate::domain::app::App;
use crate::domain::ids::{AccountId, OperationId, ServerId};
use crate::domain::operation::{Kind, Level, ServerState};
use crate::domain::server::version_supports_links;
use crate::whm::client::{ServerClient, WhmError};

/// One server of one operation.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProvisionServer {
    pub operation_id: OperationId,
    pub server_id: ServerId,
}

/// The `job` label of this job in the process metrics.
pub const JOB_NAME: &str = "provision_server";

/// The apalis handler. An error of ours (the database) fails the attempt and apalis runs the
/// job again; after the last attempt the server is marked failed, so the operation still
/// ends and *Retry failed accounts* can take it up.
pub async fn handle(
    job: ProvisionServer,
    ctx: Data<Arc<JobContext>>,
    attempt: Attempt,
) -> Result<(), BoxDynError> {
    let started = std::time::Instant::now();
    let result = run(&ctx, job).await;
    crate::metrics::job_finished(JOB_NAME, result.is_ok(), started.elapsed());
    let Err(e) = result else {
        return Ok(());
    };
    // apalis counts attempts from 1: the first run is attempt 1, the last `JOB_MAX_ATTEMPTS`.
    let last = attempt.current() >= JOB_MAX_ATTEMPTS;
    tracing::error!(error = ?e, ?job, attempt = attempt.current(), last, "provisioning job failed");
    if last && let Err(give_up_error) = give_up(&ctx, job, &e).await {
        tracing::error!(error = ?give_up_error, ?job, "could not record the failed job");
    }
    Err(BoxDynError::from(format!("{e:#}")))
}

/// Marks the job's server failed, says why in the log, and closes the operation if it can.
async fn give_up(
    ctx: &JobContext,
    job: ProvisionServer,
    error: &anyhow::Error,
) -> anyhow::Result<()> {
    let op = job.operation_id;
    let Some(head) = db::operations::head(&ctx.pool, op).await? else {
        return Ok(());
    };
    db::operations::server_finished(&ctx.pool, op, job.server_id, ServerState::Failed).await?;
    let server = db::servers::find(&ctx.pool, job.server_id).await?;
    db::operations::log(
        &ctx.pool,
        op,
        Level::Warning,
        &format!(
            "applinks could not finish this server after {JOB_MAX_ATTEMPTS} attempts: {error:#}"
        ),
        NewEntry {
            server_id: Some(job.server_id),
            server_name: server.as_ref().map(|s| s.name.as_str()),
            ..Default::default()
        },
    )
    .await?;
    close_if_complete(ctx, op, head.app, head.kind).await
}

/// The job's body; callable directly (tests, benchmarks).
pub async fn run(ctx: &JobContext, job: ProvisionServer) -> anyhow::Result<()> {
    let pool = &ctx.pool;
    let op = job.operation_id;
    let (head, server) = tokio::try_join!(
        db::operations::head(pool, op),
        db::servers::find_sealed(pool, job.server_id)
    )?;
    let Some(head) = head else {
        return Ok(()); // The operation was deleted: nothing to do.
    };
    let (app, kind) = (head.app, head.kind);
    let Some((server, sealed)) = server else {
        // The server was removed (its progress row went with it): the operation may now be
        // complete without it.
        return close_if_complete(ctx, op, app, kind).await;
    };
    let at = log::about(&server);
    if head.superseded_by.is_some() {
        stop_superseded(ctx, op, &server).await?;
        return Ok(());
    }
    if head.finished_at.is_some() {
        // Delivered again after its operation finished (see [`take`]). An operation that was
        // not superseded finishes only once every server's part has ended, and its closing is
        // written: nothing is left to do and nothing to call.
        return Ok(());
    }
    // A provisioning job asks the version now, while it takes the lock.
    let asking = (kind != Kind::ResetToken).then(|| ask(ctx, &server, &sealed));
    let Some(mut lock) = take(ctx, op, &server, app, kind).await? else {
        return Ok(()); // Dropping `asking` abandons the question.
    };
    let outcome = match asking {
        Some(asking) => {
            provision(ctx, lock.conn(), op, app, head.account_id, &server, asking).await?
        }
        None => {
            match super::reset_token::push(ctx, op, app, head.account_id, &server, &sealed).await? {
                Some(warnings) => Outcome::Done {
                    warnings,
                    failed: warnings,
                },
                None => Outcome::Unreachable,
            }
        }
    };
    lock.release().await?;
    let state = match outcome {
        Outcome::Done { failed: 0, .. } => ServerState::Done,
        Outcome::Done { .. } | Outcome::Unreachable => ServerState::Failed,
        Outcome::TooOld => ServerState::Skipped,
        Outcome::Superseded => {
            stop_superseded(ctx, op, &server).await?;
            return Ok(());
        }
    };
    db::operations::server_finished(pool, op, server.id, state).await?;
    if let Outcome::Done { warnings, .. } = outcome {
        db::operations::log(
            pool,
            op,
            Level::Debug,
            &format!("Server {} finished with {warnings} warning(s)", server.name),
            at.clone(),
        )
        .await?;
    }
    close_if_complete(ctx, op, app, kind).await
}

/// Takes the server's lock for the job, unless the job has nothing left to do: a newer
/// operation took over (the server is then marked superseded), or the server's part already
/// ended. The queue may deliver a job again after it ended: its acknowledgement was lost with
/// the database, or its worker missed heartbeats during an outage and the job was handed over.
/// Running it again would set the server's progress back to zero under an operation that may
/// already be finished; only the closing is left to make sure of (the first run may have
/// stopped between the server's end and the operation's).
async fn take(
    ctx: &JobContext,
    op: OperationId,
    server: &Server,
    app: App,
    kind: Kind,
) -> anyhow::Result<Option<ServerLock>> {
    // One job at a time per server: a superseded job may still be finishing the accounts it
    // has in flight, and its late creates must not land after the newer job's removals.
    let mut lock = ServerLock::take(&ctx.pool, server.id).await?;
    let standing = db::operations::standing(lock.conn(), op, server.id).await?;
    if standing == Standing::Due {
        return Ok(Some(lock));
    }
    lock.release().await?;
    match standing {
        Standing::Superseded => stop_superseded(ctx, op, server).await?,
        _ => close_if_complete(ctx, op, app, kind).await?,
    }
    Ok(None)
}

/// Closes the operation when no server of it is left to run, with its closing log lines
/// (exactly once, whichever job gets there).
async fn close_if_complete(
    ctx: &JobContext,
    op: OperationId,
    app: App,
    kind: Kind,
) -> anyhow::Result<()> {
    let pool = &ctx.pool;
    let mut tx = db::begin(pool).await?;
    if db::operations::finish_if_complete(&mut tx, op).await? {
        let s = db::operations::summary(&mut *tx, op).await?;
        if let Some(s) = s {
            if kind.is_application_wide() && s.servers_done + s.servers_failed == 0 {
                log::no_server(&mut tx, op, app).await?;
            }
            db::operations::log(
                &mut *tx,
                op,
                Level::Debug,
                &format!(
                    "Operation finished: {} server(s) done, {} failed, {} skipped; {} of {} accounts, {} warning(s)",
                    s.servers_done, s.servers_failed, s.servers_skipped, s.accounts_done, s.accounts_total, s.warnings
                ),
                NewEntry::default(),
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn stop_superseded(ctx: &JobContext, op: OperationId, server: &Server) -> anyhow::Result<()> {
    db::operations::server_finished(&ctx.pool, op, server.id, ServerState::Superseded).await?;
    db::operations::log(
        &ctx.pool,
        op,
        Level::Debug,
        &format!(
            "Stopped on {}: a newer operation of this application took over",
            server.name
        ),
        log::about(server),
    )
    .await?;
    Ok(())
}

enum Outcome {
    /// Every account was attempted; `failed` of them for a reason that is not harmless.
    Done {
        warnings: usize,
        failed: usize,
    },
    Unreachable,
    TooOld,
    Superseded,
}

/// A server's WHM client, and its version asked in a task of its own as soon as the job
/// knows the server: the answer travels while the job waits for the server's lock and reads
/// what it needs. Dropped before it is answered (the job had nothing left to do, or failed),
/// the question is abandoned. The version is asked on every run, never taken from the
/// server's row: the server may have been upgraded or downgraded since it was last checked.
struct Asking {
    client: ServerClient,
    task: tokio::task::JoinHandle<Result<String, WhmError>>,
}

impl Drop for Asking {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Asking {
    /// The version (`Err` when the server did not answer).
    async fn version(&mut self) -> Result<String, WhmError> {
        match (&mut self.task).await {
            Ok(answer) => answer,
            // Never cancelled while awaited (only on drop).
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        }
    }
}

/// Starts asking `server` its version. A blip gets a second chance, as accounts do.
fn ask(ctx: &JobContext, server: &Server, sealed: &[u8]) -> Result<Asking, ConnectionError> {
    let conn = unseal(&ctx.secrets, server, sealed)?;
    let client = ctx.whm.server(&conn);
    let pause = second_pass_pause(ctx);
    let asked = client.clone();
    let task = tokio::spawn(async move {
        match asked.version().await {
            Err(err) if err.is_transient() => {
                tokio::time::sleep(pause).await;
                asked.version().await
            }
            answer => answer,
        }
    });
    Ok(Asking { client, task })
}

/// `conn`: the job's own connection (it holds the server's lock). The job's statements run
/// on it rather than on whichever pooled connection is free: its session has them prepared
/// and planned after the first time, and a lock lost with its connection fails the job
/// (the queue runs it again) instead of going unnoticed.
///
/// Before the first request, only what it needs: the accounts, the desired links and the link
/// secrets, while the server's version travels ([`Asking`]). Naming the accounts in the
/// operation and starting the server's progress happen while the first requests travel.
async fn provision(
    ctx: &JobContext,
    conn: &mut PgConnection,
    op: OperationId,
    app: App,
    only_account: Option<AccountId>,
    server: &Server,
    asking: Result<Asking, ConnectionError>,
) -> anyhow::Result<Outcome> {
    let pool = &ctx.pool;
    let at = log::about(server);
    let prepare = async {
        let (accounts, desired) = tokio::try_join!(
            async {
                anyhow::Ok(db::outcomes::choose(&mut *conn, op, server.id, only_account).await?)
            },
            Desired::load(pool, app, &ctx.public_url),
        )?;
        let tokens = link_tokens(ctx, &mut *conn, app, &desired, &accounts).await?;
        anyhow::Ok((accounts, desired, tokens))
    };
    let answer = async {
        let mut asking = asking?;
        let version = asking.version().await;
        Ok::<_, ConnectionError>((asking, version))
    };
    let (prepared, reached) = tokio::join!(prepare, answer);
    let (accounts, desired, tokens) = prepared?;
    let (asking, version) = match reached {
        Ok(reached) => reached,
        Err(ConnectionError::Db(e)) => return Err(e.into()),
        Err(e) => {
            open(conn, op, server, &accounts, None).await?;
            db::operations::log(pool, op, Level::Warning, &format!("{e}"), at.clone()).await?;
            return Ok(Outcome::Unreachable);
        }
    };
    let version = match version {
        Ok(version) => version,
        Err(err) => {
            open(conn, op, server, &accounts, None).await?;
            log::warning(pool, op, server, None, &err).await?;
            return Ok(Outcome::Unreachable);
        }
    };
    if !version_supports_links(Some(&version)) {
        open(conn, op, server, &accounts, Some(&version)).await?;
        let mut updated = server.clone();
        updated.version = Some(version);
        log::too_old(conn, op, &updated).await?;
        return Ok(Outcome::TooOld);
    }

    let pass = Pass {
        ctx,
        op,
        server,
        client: &asking.client,
        desired: &desired,
        tokens: &tokens,
    };
    let mut tally = Tally::default();
    let first = Round::First { version: &version };
    let Some(again) = pass.run(conn, accounts, first, &mut tally).await? else {
        return Ok(Outcome::Superseded);
    };
    if !again.is_empty() {
        let pause = second_pass_pause(ctx);
        db::operations::log(
            pool,
            op,
            Level::Debug,
            &format!(
                "{} account(s) on {} could not be reached; second pass in {} ms",
                again.len(),
                server.name,
                pause.as_millis()
            ),
            at.clone(),
        )
        .await?;
        tokio::time::sleep(pause).await;
        if pass
            .run(conn, again, Round::Last, &mut tally)
            .await?
            .is_none()
        {
            return Ok(Outcome::Superseded);
        }
    }
    Ok(Outcome::Done {
        warnings: tally.warnings,
        failed: tally.failed,
    })
}

/// Compile-time guard: the job's future must be `Send` for apalis to run it on tokio.
#[allow(dead_code)]
fn _assert_send(ctx: &'static JobContext, job: ProvisionServer) {
    fn is_send<T: Send>(_: T) {}
    is_send(run(ctx, job));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jobs queued by an earlier version must still decode: the payload is bare numbers and
    /// text, as before the ids were typed.
    #[test]
    fn the_job_payload_keeps_its_json_shape() {
        let raw = r#"{"operation_id":"67e55044-10b1-426f-9247-bb680e5fe0c8","server_id":3}"#;
        let job: ProvisionServer = serde_json::from_str(raw).unwrap();
        assert_eq!(job.server_id, ServerId(3));
        assert_eq!(
            job.operation_id.to_string(),
            "67e55044-10b1-426f-9247-bb680e5fe0c8"
        );
        assert_eq!(serde_json::to_string(&job).unwrap(), raw);
    }
}
