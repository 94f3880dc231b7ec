//! Reset SSO token (SPEC §3, §6, §8): a new link secret for one account and its application.
//!
//! [`reset_token`] stores the new secret and starts an operation of kind `reset_token` with
//! one job for the account's server, in one transaction: from its commit on, `/sso/cpanel`
//! refuses the old token. The job ([`push`]) sends the new token to every `applinks_*` link
//! the account has on the server with `update_integration_link_token`: not a re-create, the
//! links keep their fields.
//!
//! The job runs as a provisioning job (`provision::run` hands a `reset_token` operation's
//! server to [`push`]), so it takes the server's lock like any reconcile: a sync that read the
//! old secret before the reset finishes first and the reset then overwrites what it pushed,
//! while a sync that starts after the reset reads the new secret. The secret is read under
//! the lock, so of two resets the later one's token is what stays.

use base64::Engine as _;

use super::JobContext;
use super::operations::{OperationError, start};
use crate::crypto::SecretBox;
use crate::db;
use crate::db::operations::NewEntry;
use crate::db::provisioning::AccountRecord;
use crate::db::servers::Server;
use crate::domain::app::App;
use crate::domain::ids::{AccountId, OperationId};
use crate::domain::links;
use crate::domain::operation::{Kind, Level, hint_for};
use crate::whm::client::{ServerClient, WhmError};

/// A reset that was stored and queued.
#[derive(Debug, Clone)]
pub struct ResetStarted {
    pub operation_id: OperationId,
    pub app: App,
    /// The account's cPanel username.
    pub username: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("there is no such account")]
    NotFound,
    #[error("the account's server runs {0}, which cannot carry application links")]
    NotLinkable(String),
    #[error(transparent)]
    Operation(#[from] OperationError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A fresh link secret: 256 random bits, as the first one (`reconcile`).
fn new_secret() -> String {
    let raw: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Gives the account a new link secret and queues the job that pushes it to its links. `by`
/// names who asked (an admin's username, or the command line) for the log.
pub async fn reset_token(
    pool: &sqlx::PgPool,
    secrets: &SecretBox,
    account_id: AccountId,
    by: &str,
) -> Result<ResetStarted, ResetError> {
    let mut tx = db::begin(pool).await?;
    let account = db::provisioning::account(&mut *tx, account_id)
        .await?
        .ok_or(ResetError::NotFound)?;
    let app = account
        .module
        .app()
        .ok_or_else(|| ResetError::NotLinkable(account.module.name().to_string()))?;
    // Operations of one application start one at a time.
    db::applications::lock(&mut tx, app).await?;
    let fresh = secrets.encrypt(&new_secret());
    db::provisioning::replace_link_secret(&mut *tx, account.id, app, &fresh).await?;
    let server = db::servers::find(&mut *tx, account.server_id).await?;
    let disabled = server.as_ref().filter(|s| !s.enabled).cloned();
    let servers = server.filter(|s| s.enabled).into_iter().collect();
    let op = start(&mut tx, app, Kind::ResetToken, Some(account.id), servers).await?;
    let shown = if account.username.is_empty() {
        format!("account {} (no username)", account.id)
    } else {
        format!("account {}", account.username)
    };
    db::operations::log(
        &mut *tx,
        op,
        Level::Debug,
        &format!(
            "SSO token of {shown} reset by {by}: the old token is refused from now on; the new one goes to its {} links",
            app.name()
        ),
        NewEntry {
            account: Some(&account.username),
            ..Default::default()
        },
    )
    .await?;
    if let Some(s) = disabled {
        db::operations::log(
            &mut *tx,
            op,
            Level::Info,
            &format!(
                "{} is disabled in applinks: its links keep the old token until it is enabled and synced",
                s.name
            ),
            NewEntry {
                server_id: Some(s.id),
                server_name: Some(&s.name),
                account: Some(&account.username),
                ..Default::default()
            },
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(account = %account.id, %by, operation = %op, "SSO token reset");
    Ok(ResetStarted {
        operation_id: op,
        app,
        username: account.username,
    })
}

/// The job's work on its server, under the server's lock: the account's current secret to
/// every `applinks_*` link it has there. Answers the number of warnings, or `None` when the
/// server could not be reached at all; the provisioning job records the server's outcome.
/// `sealed`: the server's encrypted credential, read with it ([`db::servers::find_sealed`]).
pub(super) async fn push(
    ctx: &JobContext,
    op: OperationId,
    app: App,
    account_id: Option<AccountId>,
    server: &Server,
    sealed: &[u8],
) -> anyhow::Result<Option<usize>> {
    let pool = &ctx.pool;
    let at = NewEntry {
        server_id: Some(server.id),
        server_name: Some(&server.name),
        ..Default::default()
    };
    // A reset always names its account; without one there is nothing to push.
    let accounts = match account_id {
        Some(id) => db::provisioning::accounts_on(pool, server.id, Some(id)).await?,
        None => Vec::new(),
    };
    db::operations::server_started(pool, op, server.id, accounts.len() as i64).await?;
    let conn = match super::connect::unseal(&ctx.secrets, server, sealed) {
        Ok(c) => c,
        Err(e) => {
            db::operations::log(pool, op, Level::Warning, &e.describe(), at).await?;
            return Ok(None);
        }
    };
    let client = ctx.whm.server(&conn);
    let mut warnings = 0;
    for account in &accounts {
        let warned = match push_account(ctx, &client, app, account).await? {
            Ok(n) => {
                db::operations::log(
                    pool,
                    op,
                    Level::Debug,
                    &format!("New SSO token pushed to {n} link(s) on {}", server.name),
                    NewEntry {
                        account: Some(&account.username),
                        ..at.clone()
                    },
                )
                .await?;
                false
            }
            Err(err) => {
                let message = if err.reason.is_empty() {
                    err.describe()
                } else {
                    err.reason.clone()
                };
                db::operations::log(
                    pool,
                    op,
                    Level::Warning,
                    &format!("{message} (after {} attempt(s))", err.attempts.max(1)),
                    NewEntry {
                        account: Some(&account.username),
                        hint: hint_for(&message),
                        ..at.clone()
                    },
                )
                .await?;
                true
            }
        };
        warnings += usize::from(warned);
        db::operations::account_done(pool, op, server.id, warned).await?;
    }
    Ok(Some(warnings))
}

/// One account: how many links got the token, or what the server answered.
async fn push_account(
    ctx: &JobContext,
    client: &ServerClient,
    app: App,
    account: &AccountRecord,
) -> anyhow::Result<Result<usize, WhmError>> {
    let user = account.username.as_str();
    if user.is_empty() {
        return Ok(Ok(0)); // No username: the server cannot have links for it.
    }
    let Some(stored) = db::sso::link_secret(&ctx.pool, account.id, app).await? else {
        return Ok(Ok(0));
    };
    let token = ctx.secrets.decrypt(&stored)?;
    let apps = match client.list_integration_links(user).await {
        Ok(apps) => apps,
        Err(e) => return Ok(Err(e)),
    };
    let mut pushed = 0;
    // Only applinks' own links; apps of others are never touched.
    for name in apps
        .iter()
        .filter(|a| links::key_of_cpanel_app(a).is_some())
    {
        if let Err(e) = client
            .update_integration_link_token(user, name, &token)
            .await
        {
            return Ok(Err(e));
        }
        pushed += 1;
    }
    Ok(Ok(pushed))
}
