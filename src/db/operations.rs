//! Operations, their per-server rows and the provisioning log.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::app::App;
use crate::domain::ids::{AccountId, OperationId, ServerId};
use crate::domain::operation::{Kind, Level, ServerState};

/// One row of `operations` with its aggregated progress.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OperationSummary {
    pub id: OperationId,
    pub kind: Kind,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    pub servers_total: i64,
    pub servers_done: i64,
    pub servers_failed: i64,
    pub servers_skipped: i64,
    pub accounts_total: i64,
    pub accounts_done: i64,
    pub warnings: i64,
}

const SUMMARY: &str = "select o.id, o.kind, o.started_at, o.finished_at,
        count(s.server_id) as servers_total,
        count(s.server_id) filter (where s.state = 'done') as servers_done,
        count(s.server_id) filter (where s.state = 'failed') as servers_failed,
        count(s.server_id) filter (where s.state in ('skipped', 'superseded')) as servers_skipped,
        coalesce(sum(s.accounts_total), 0)::bigint as accounts_total,
        coalesce(sum(s.accounts_done), 0)::bigint as accounts_done,
        o.warnings::bigint as warnings
    from operations o left join operation_servers s on s.operation_id = o.id";

/// The application's last application-wide operation (account events and token resets aside).
pub async fn last(db: impl PgExecutor<'_>, app: App) -> sqlx::Result<Option<OperationSummary>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SUMMARY} where o.id = (select last_operation_id from applications where app = $1)
         group by o.id"
    )))
    .bind(app.key())
    .fetch_optional(db)
    .await
}

pub async fn summary(
    db: impl PgExecutor<'_>,
    id: OperationId,
) -> sqlx::Result<Option<OperationSummary>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SUMMARY} where o.id = $1 group by o.id"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Inserts an operation; with `supersede`, marks the application's unfinished operations as
/// taken over by this one.
pub async fn insert(
    conn: &mut PgConnection,
    app: App,
    kind: Kind,
    account_id: Option<AccountId>,
) -> sqlx::Result<OperationId> {
    let id = OperationId(Uuid::new_v4());
    sqlx::query("insert into operations (id, app, kind, account_id) values ($1, $2, $3, $4)")
        .bind(id)
        .bind(app.key())
        .bind(kind.key())
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    if kind.is_application_wide() {
        // The caller holds the application's row (`db::applications::lock`), so this is the
        // newest application-wide operation.
        sqlx::query(
            "update applications set last_operation_id = $1, updated_at = now() where app = $2",
        )
        .bind(id)
        .bind(app.key())
        .execute(&mut *conn)
        .await?;
    }
    if kind.supersedes() {
        // A token reset is never superseded: a later sync would carry the new token too, but
        // a deactivation would not, and the reset must still reach the links that remain.
        sqlx::query(
            "update operations set superseded_by = $1, finished_at = now(), updated_at = now()
             where app = $2 and id <> $1 and finished_at is null and kind <> 'reset_token'",
        )
        .bind(id)
        .bind(app.key())
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}

pub async fn add_server(
    db: impl PgExecutor<'_>,
    operation_id: OperationId,
    server_id: ServerId,
    state: ServerState,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into operation_servers (operation_id, server_id, state, finished_at)
         values ($1, $2, $3, case when $3 in ('queued', 'running') then null else now() end)",
    )
    .bind(operation_id)
    .bind(server_id)
    .bind(state.key())
    .execute(db)
    .await?;
    Ok(())
}

/// The operation's app, kind, account and whether a newer operation took over.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OperationHead {
    pub app: App,
    pub kind: Kind,
    pub account_id: Option<AccountId>,
    pub superseded_by: Option<OperationId>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn head(db: impl PgExecutor<'_>, id: OperationId) -> sqlx::Result<Option<OperationHead>> {
    sqlx::query_as(
        "select app, kind, account_id, superseded_by, finished_at from operations where id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn is_superseded(db: impl PgExecutor<'_>, id: OperationId) -> sqlx::Result<bool> {
    sqlx::query_scalar("select superseded_by is not null from operations where id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
        .map(|r| r.unwrap_or(true))
}

/// Marks a server's job started (again): a re-run after a crash starts counting afresh.
pub async fn server_started(
    db: impl PgExecutor<'_>,
    op: OperationId,
    server_id: ServerId,
    accounts_total: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update operation_servers set state = 'running', started_at = now(), finished_at = null,
                accounts_total = $3, accounts_done = 0, warnings = 0, updated_at = now()
         where operation_id = $1 and server_id = $2",
    )
    .bind(op)
    .bind(server_id)
    .bind(accounts_total as i32)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn account_done(
    db: impl PgExecutor<'_>,
    op: OperationId,
    server_id: ServerId,
    warning: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "update operation_servers set accounts_done = accounts_done + 1,
                warnings = warnings + $3, updated_at = now()
         where operation_id = $1 and server_id = $2",
    )
    .bind(op)
    .bind(server_id)
    .bind(i32::from(warning))
    .execute(db)
    .await?;
    Ok(())
}

pub async fn server_finished(
    db: impl PgExecutor<'_>,
    op: OperationId,
    server_id: ServerId,
    state: ServerState,
) -> sqlx::Result<()> {
    sqlx::query(
        "update operation_servers set state = $3, finished_at = now(), updated_at = now()
         where operation_id = $1 and server_id = $2",
    )
    .bind(op)
    .bind(server_id)
    .bind(state.key())
    .execute(db)
    .await?;
    Ok(())
}

/// Where a server's part of an operation stands when its job is about to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// To run: the operation is current and the server's part has not ended.
    Due,
    /// A newer operation took over (or the operation is gone).
    Superseded,
    /// The server's part has ended (done, failed, skipped, superseded).
    Ended,
}

/// [`Standing`] of the server's part of the operation, in one statement.
pub async fn standing(
    db: impl PgExecutor<'_>,
    op: OperationId,
    server_id: ServerId,
) -> sqlx::Result<Standing> {
    let row: Option<(bool, bool)> = sqlx::query_as(
        "select o.superseded_by is not null,
                coalesce((select s.state not in ('queued', 'running') from operation_servers s
                          where s.operation_id = o.id and s.server_id = $2), false)
         from operations o where o.id = $1",
    )
    .bind(op)
    .bind(server_id)
    .fetch_optional(db)
    .await?;
    Ok(match row {
        None | Some((true, _)) => Standing::Superseded,
        Some((false, true)) => Standing::Ended,
        Some((false, false)) => Standing::Due,
    })
}

/// Closes the operation when none of its servers is queued or running; true when this call
/// closed it (so exactly one caller writes the closing log lines).
pub async fn finish_if_complete(conn: &mut PgConnection, op: OperationId) -> sqlx::Result<bool> {
    let closed = sqlx::query(
        "update operations set finished_at = now(), updated_at = now()
         where id = $1 and finished_at is null
           and not exists (select 1 from operation_servers
                           where operation_id = $1 and state in ('queued', 'running'))",
    )
    .bind(op)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(closed == 1)
}

/// Servers that failed in an operation.
pub async fn failed_servers(
    db: impl PgExecutor<'_>,
    op: OperationId,
) -> sqlx::Result<Vec<ServerId>> {
    sqlx::query_scalar("select server_id from operation_servers where operation_id = $1 and state = 'failed' order by server_id")
        .bind(op)
        .fetch_all(db)
        .await
}

/// A line of the provisioning log.
#[derive(Debug, Clone, Default)]
pub struct NewEntry<'a> {
    pub server_id: Option<ServerId>,
    pub server_name: Option<&'a str>,
    pub account: Option<&'a str>,
    pub hint: Option<&'a str>,
}

pub async fn log(
    db: impl PgExecutor<'_>,
    op: OperationId,
    level: Level,
    message: &str,
    at: NewEntry<'_>,
) -> sqlx::Result<()> {
    // A Warning also counts in its operation's `warnings`, in the same statement, so that the
    // status poll reads the count instead of counting the log.
    sqlx::query(
        "with entry as (
             insert into operation_log (operation_id, level, server_id, server_name, account_username, message, hint)
             values ($1, $2, $3, $4, $5, $6, $7))
         update operations set warnings = warnings + 1
         where id = $1 and $2 = 'warning'",
    )
    .bind(op)
    .bind(level.key())
    .bind(at.server_id)
    .bind(at.server_name)
    .bind(at.account)
    .bind(message)
    .bind(at.hint)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LogEntry {
    pub at: chrono::DateTime<chrono::Utc>,
    pub level: Level,
    pub server_name: Option<String>,
    pub account_username: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

/// The log of the application's last application-wide operation and of the account events
/// and token resets since it started, newest first, optionally of one level.
pub async fn log_entries(
    db: impl PgExecutor<'_>,
    app: App,
    level: Option<Level>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<LogEntry>> {
    sqlx::query_as(
        "with last as (select o.id, o.started_at from applications a
                       join operations o on o.id = a.last_operation_id where a.app = $1)
         select l.at, l.level, l.server_name, l.account_username, l.message, l.hint
         from operation_log l join operations o on o.id = l.operation_id
         where o.app = $1
           and (o.id = (select id from last)
                or (o.kind in ('account', 'reset_token')
                    and o.started_at >= coalesce((select started_at from last), '-infinity')))
           and ($2::text is null or l.level = $2)
         order by l.at desc, l.id desc
         limit $3 offset $4",
    )
    .bind(app.key())
    .bind(level.map(|l| l.key()))
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

/// An application as the Application Links page shows it: its switch, its enabled servers
/// and its last application-wide operation.
#[derive(Debug, Clone)]
pub struct AppOverview {
    pub app: App,
    pub enabled: bool,
    pub servers: i64,
    pub last: Option<OperationSummary>,
}

/// The overview's columns (`app`, `enabled`, `servers`, then [`SUMMARY`]'s) of the
/// applications that `filter`, a condition on `a` (applications), selects.
pub(crate) fn overview_sql(filter: &str) -> String {
    format!(
        "select a.app, a.enabled,
                (select count(*) from servers sv where sv.module = a.app and sv.enabled) as servers,
                last.*
         from applications a
         left join lateral ({SUMMARY} where o.id = a.last_operation_id group by o.id) last on true
         where {filter}"
    )
}

/// A row of [`overview_sql`]: also read by name out of a wider row (`db::session_store`).
#[derive(sqlx::FromRow)]
pub(crate) struct OverviewRow {
    app: String,
    enabled: bool,
    servers: i64,
    id: Option<OperationId>,
    kind: Option<Kind>,
    started_at: Option<chrono::DateTime<chrono::Utc>>,
    finished_at: Option<chrono::DateTime<chrono::Utc>>,
    servers_total: Option<i64>,
    servers_done: Option<i64>,
    servers_failed: Option<i64>,
    servers_skipped: Option<i64>,
    accounts_total: Option<i64>,
    accounts_done: Option<i64>,
    warnings: Option<i64>,
}

impl OverviewRow {
    pub(crate) fn into_overview(self) -> Option<AppOverview> {
        let app: App = self.app.parse().ok()?;
        let last = match (self.id, self.kind, self.started_at) {
            (Some(id), Some(kind), Some(started_at)) => Some(OperationSummary {
                id,
                kind,
                started_at,
                finished_at: self.finished_at,
                servers_total: self.servers_total.unwrap_or(0),
                servers_done: self.servers_done.unwrap_or(0),
                servers_failed: self.servers_failed.unwrap_or(0),
                servers_skipped: self.servers_skipped.unwrap_or(0),
                accounts_total: self.accounts_total.unwrap_or(0),
                accounts_done: self.accounts_done.unwrap_or(0),
                warnings: self.warnings.unwrap_or(0),
            }),
            _ => None,
        };
        Some(AppOverview {
            app,
            enabled: self.enabled,
            servers: self.servers,
            last,
        })
    }
}

/// [`AppOverview`] of every application (`only: None`, in the order of `App::ALL`) or of one,
/// in ONE query: a page's data is one round trip.
pub async fn overview(
    db: impl PgExecutor<'_>,
    only: Option<App>,
) -> sqlx::Result<Vec<AppOverview>> {
    let rows: Vec<OverviewRow> = sqlx::query_as(sqlx::AssertSqlSafe(overview_sql(
        "$1::text is null or a.app = $1",
    )))
    .bind(only.map(App::key))
    .fetch_all(db)
    .await?;
    let mut all: Vec<AppOverview> = rows
        .into_iter()
        .filter_map(OverviewRow::into_overview)
        .collect();
    all.sort_by_key(|o| App::ALL.iter().position(|a| *a == o.app));
    Ok(all)
}
