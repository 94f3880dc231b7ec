//! Each account's outcome in an operation (`operation_accounts`): which accounts a server's
//! job reconciles, how each ended, and what *Retry* takes up again.

use super::provisioning::AccountRecord;
use crate::domain::ids::{AccountId, OperationId, ServerId};
use sqlx::PgExecutor;

/// How one account ended in an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// The server refused for a reason known to be harmless (SPEC §6).
    Skipped,
    Failed,
}

impl Outcome {
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
        }
    }
}

/// One settled account.
#[derive(Debug, Clone)]
pub struct Settled {
    pub account_id: AccountId,
    pub outcome: Outcome,
    pub reason: Option<String>,
}

/// The accounts a server's job reconciles: those the operation already names on this server
/// (a retry, or an earlier attempt of this job), else every account of the server, or just
/// `only`. A read: the job names them ([`name`]) while its first requests are on their way.
pub async fn choose(
    db: impl PgExecutor<'_>,
    op: OperationId,
    server_id: ServerId,
    only: Option<AccountId>,
) -> sqlx::Result<Vec<AccountRecord>> {
    sqlx::query_as(
        "with named as (select account_id from operation_accounts
                        where operation_id = $1 and server_id = $2)
         select a.id, a.username, a.status from accounts a
         where a.server_id = $2
           and case when exists (select 1 from named) then a.id in (select account_id from named)
                    else $3::bigint is null or a.id = $3 end
         order by a.username, a.id",
    )
    .bind(op)
    .bind(server_id)
    .bind(only)
    .fetch_all(db)
    .await
}

/// Names `accounts` in the operation, each pending (set back to pending where it had ended).
/// An account deleted meanwhile is left out (its outcome would go with it).
pub async fn name(
    db: impl PgExecutor<'_>,
    op: OperationId,
    server_id: ServerId,
    accounts: &[AccountId],
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into operation_accounts (operation_id, account_id, server_id)
         select $1, a.id, $2 from accounts a where a.id = any($3::bigint[])
         on conflict (operation_id, account_id) do update
             set outcome = 'pending', reason = null, updated_at = now()
             where operation_accounts.outcome <> 'pending'",
    )
    .bind(op)
    .bind(server_id)
    .bind(accounts)
    .execute(db)
    .await?;
    Ok(())
}

/// Settles accounts and counts them in the server's progress, in one statement; answers
/// whether a newer operation has taken over (or the operation is gone), so that the job stops.
pub async fn settle(
    db: impl PgExecutor<'_>,
    op: OperationId,
    server_id: ServerId,
    settled: &[Settled],
    warnings: usize,
) -> sqlx::Result<bool> {
    let ids: Vec<AccountId> = settled.iter().map(|s| s.account_id).collect();
    let outcomes: Vec<&str> = settled.iter().map(|s| s.outcome.key()).collect();
    let reasons: Vec<Option<&str>> = settled.iter().map(|s| s.reason.as_deref()).collect();
    let running: Option<bool> = sqlx::query_scalar(
        "with settled as (
             update operation_accounts t set outcome = u.outcome, reason = u.reason,
                    updated_at = now()
             from unnest($3::bigint[], $4::text[], $5::text[]) as u(account_id, outcome, reason)
             where t.operation_id = $1 and t.server_id = $2 and t.account_id = u.account_id
             returning 1),
         progress as (
             update operation_servers set accounts_done = accounts_done + $6,
                    warnings = warnings + $7, updated_at = now()
             where operation_id = $1 and server_id = $2
             returning 1)
         select superseded_by is null from operations where id = $1",
    )
    .bind(op)
    .bind(server_id)
    .bind(&ids)
    .bind(&outcomes)
    .bind(&reasons)
    .bind(settled.len() as i32)
    .bind(warnings as i32)
    .fetch_optional(db)
    .await?;
    Ok(running != Some(true))
}

/// Names, for the operation `to` on this server, the accounts that failed or never settled
/// in `from` and still exist; answers how many. None named: the job then takes every account
/// of the server.
pub async fn carry_unsettled(
    db: impl PgExecutor<'_>,
    from: OperationId,
    to: OperationId,
    server_id: ServerId,
) -> sqlx::Result<u64> {
    sqlx::query(
        "insert into operation_accounts (operation_id, account_id, server_id)
         select $2, o.account_id, o.server_id from operation_accounts o
         join accounts a on a.id = o.account_id
         where o.operation_id = $1 and o.server_id = $3 and o.outcome in ('pending', 'failed')",
    )
    .bind(from)
    .bind(to)
    .bind(server_id)
    .execute(db)
    .await
    .map(|done| done.rows_affected())
}

/// An account's outcome row in an operation: (outcome, reason).
pub async fn of_account(
    db: impl PgExecutor<'_>,
    op: OperationId,
    account_id: AccountId,
) -> sqlx::Result<Option<(String, Option<String>)>> {
    sqlx::query_as(
        "select outcome, reason from operation_accounts where operation_id = $1 and account_id = $2",
    )
    .bind(op)
    .bind(account_id)
    .fetch_optional(db)
    .await
}
