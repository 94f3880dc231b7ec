//! How applinks reaches a stored server: its address and its decrypted credential, as the
//! WHM client wants them. The one place a [`ServerConn`] is built from a server row, used by
//! the provisioning job and by the pages' *Test connection* and import (through `hosting`).
//!
//! The token or password is decrypted only here, right before the call; it is never logged,
//! never rendered and never part of an error message.

use sqlx::PgExecutor;

use crate::crypto::{DecryptError, SecretBox};
use crate::db;
use crate::db::servers::Server;
use crate::whm::client::{ServerConn, WhmAuth, WhmError};

/// Why a server could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error(transparent)]
    Decrypt(#[from] DecryptError),
    #[error(transparent)]
    Whm(#[from] WhmError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl ConnectionError {
    /// One sentence for an administrator.
    pub fn describe(&self) -> String {
        match self {
            ConnectionError::Decrypt(err) => err.to_string(),
            ConnectionError::Whm(err) => err.describe(),
            ConnectionError::Db(_) => "the database could not be read".to_string(),
        }
    }
}

/// How to reach `server`: its base URL and its credential, read and decrypted now.
pub async fn server_conn(
    db: impl PgExecutor<'_>,
    secrets: &SecretBox,
    server: &Server,
) -> Result<ServerConn, ConnectionError> {
    let sealed = db::servers::secret(db, server.id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    unseal(secrets, server, &sealed)
}

/// How to reach `server` with its encrypted credential `sealed`, already read
/// ([`db::servers::find_sealed`]).
pub fn unseal(
    secrets: &SecretBox,
    server: &Server,
    sealed: &[u8],
) -> Result<ServerConn, ConnectionError> {
    let secret = secrets.decrypt(sealed)?;
    Ok(ServerConn::new(
        &server.hostname,
        server.port,
        server.use_tls,
        server.verify_tls,
        WhmAuth::from_record(server.auth_kind, server.username.clone(), secret),
    ))
}
