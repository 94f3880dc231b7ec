//! Pending matches (issue 8): accounts an import found whose listed e-mail matches an existing
//! client. The customer sets that e-mail himself, so only an admin may decide: *confirm* makes
//! the account the matching client's, *dismiss* gives it a client of its own, like an account
//! that matched nothing. Either way the account is created and, when its application is on,
//! provisioned, in one transaction with the decision (`jobs::account_changed_in`).
//!
//! Each decision locks the pending row first, so two admins deciding at once cannot both act:
//! the second finds nothing pending and is told so ([`PendingError::NotPending`]). The admin
//! page and `applinks server import --attach-matching` both call these functions.

use sqlx::{PgConnection, PgPool};

use crate::db;
use crate::db::accounts::Pending;
use crate::domain::ids::{AccountId, ClientId, ServerId};
use crate::jobs::OperationError;

/// Why a decision changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum PendingError {
    /// No such pending account on that server (never was, or already confirmed or dismissed).
    #[error("that account is not waiting for confirmation (any more)")]
    NotPending,
    /// The server got an account with that username meanwhile (added by hand); confirming
    /// would make a second one. Dismissing drops the stale match.
    #[error(
        "the server already has an account “{0}” (added meanwhile): dismiss this match to drop it"
    )]
    UsernameTaken(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Operation(#[from] OperationError),
}

/// What a dismissal did.
#[derive(Debug, Clone)]
pub enum Dismissed {
    /// The account was created with a client of its own (this one's name).
    OwnClient {
        account: Pending,
        client_name: String,
    },
    /// The server had got an account with that username meanwhile: the match was only dropped.
    AlreadyImported(Pending),
}

/// What confirming every pending match of a server did.
#[derive(Debug, Clone, Default)]
pub struct ConfirmedAll {
    pub confirmed: Vec<Pending>,
    /// Left pending: their username was taken meanwhile (see [`PendingError::UsernameTaken`]).
    pub taken: Vec<Pending>,
}

/// Creates the account for `pending` under `client_id` and starts its provisioning; `None`
/// (nothing written) when the username is taken.
async fn create_account(
    tx: &mut PgConnection,
    pending: &Pending,
    client_id: ClientId,
) -> Result<Option<AccountId>, PendingError> {
    let created = db::accounts::insert_if_new(
        &mut *tx,
        client_id,
        pending.server_id,
        &pending.username,
        &pending.domain,
        pending.status,
    )
    .await?;
    let Some(account_id) = created else {
        return Ok(None);
    };
    db::accounts::delete_pending(&mut *tx, pending.id).await?;
    crate::jobs::account_changed_in(tx, account_id).await?;
    Ok(Some(account_id))
}

/// Confirms one match: the account becomes the matching client's.
pub async fn confirm(
    pool: &PgPool,
    server_id: ServerId,
    pending_id: i64,
) -> Result<Pending, PendingError> {
    let mut tx = db::begin(pool).await?;
    let pending = db::accounts::lock_pending(&mut *tx, server_id, pending_id)
        .await?
        .ok_or(PendingError::NotPending)?;
    if create_account(&mut tx, &pending, pending.client_id)
        .await?
        .is_none()
    {
        return Err(PendingError::UsernameTaken(pending.username));
    }
    tx.commit().await?;
    tracing::info!(
        server = %server_id,
        client = %pending.client_id,
        user = %pending.username,
        "pending account confirmed"
    );
    Ok(pending)
}

/// Confirms every match pending on the server, each as [`confirm`] does, in one transaction.
pub async fn confirm_all(pool: &PgPool, server_id: ServerId) -> Result<ConfirmedAll, PendingError> {
    let mut tx = db::begin(pool).await?;
    let mut done = ConfirmedAll::default();
    for listed in db::accounts::pending_for_server(&mut *tx, server_id).await? {
        // Locked one by one: a row another admin resolved meanwhile is simply gone.
        let Some(pending) = db::accounts::lock_pending(&mut *tx, server_id, listed.id).await?
        else {
            continue;
        };
        match create_account(&mut tx, &pending, pending.client_id).await? {
            Some(_) => done.confirmed.push(pending),
            None => done.taken.push(pending),
        }
    }
    tx.commit().await?;
    tracing::info!(
        server = %server_id,
        confirmed = done.confirmed.len(),
        taken = done.taken.len(),
        "pending accounts confirmed"
    );
    Ok(done)
}

/// Dismisses one match: the account gets a client of its own, named after its domain (or its
/// username without one). That client has no e-mail: the listed address is the matching
/// client's, and a second client with it would make later matches ambiguous.
pub async fn dismiss(
    pool: &PgPool,
    server_id: ServerId,
    pending_id: i64,
) -> Result<Dismissed, PendingError> {
    let mut tx = db::begin(pool).await?;
    let pending = db::accounts::lock_pending(&mut *tx, server_id, pending_id)
        .await?
        .ok_or(PendingError::NotPending)?;
    let name = if pending.domain.is_empty() || pending.domain.chars().count() > 200 {
        pending.username.clone()
    } else {
        pending.domain.clone()
    };
    let client_id = db::clients::insert(&mut tx, &name, None, true).await?;
    if create_account(&mut tx, &pending, client_id)
        .await?
        .is_none()
    {
        // The server has that account already: drop the stale match, keep nothing else.
        tx.rollback().await?;
        db::accounts::delete_pending(pool, pending.id).await?;
        return Ok(Dismissed::AlreadyImported(pending));
    }
    tx.commit().await?;
    tracing::info!(
        server = %server_id,
        client = %client_id,
        user = %pending.username,
        "pending account dismissed: a client of its own"
    );
    Ok(Dismissed::OwnClient {
        account: pending,
        client_name: name,
    })
}
