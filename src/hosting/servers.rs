//! Saving servers with their credential encrypted, and talking to them.
//!
//! The token or password is encrypted with the installation's [`SecretBox`] before it reaches
//! the database and is decrypted only to build a connection (`jobs::connect`); it is never
//! logged, never rendered, and never part of an error message.

use sqlx::PgPool;

use crate::crypto::SecretBox;
use crate::db;
use crate::db::servers::Server;
use crate::domain::ids::ServerId;
use crate::hosting::forms::{FieldErrors, ServerInput, credential_reach_changes};
use crate::jobs::connect::{ConnectionError, server_conn};
use crate::whm::client::WhmClient;

/// Why a server could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// Something the admin can correct, per field.
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("there is no such server")]
    NotFound,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn name_taken(name: &str) -> SaveError {
    SaveError::Invalid(FieldErrors::one(
        "name",
        format!("A server named “{name}” already exists; choose another name."),
    ))
}

/// Stores a new server; the input must carry a secret.
pub async fn create(
    pool: &PgPool,
    secrets: &SecretBox,
    input: &ServerInput,
) -> Result<ServerId, SaveError> {
    use secrecy::ExposeSecret as _;
    let Some(secret) = &input.secret else {
        return Err(SaveError::Invalid(FieldErrors::one(
            "secret",
            "Enter the API token or password.",
        )));
    };
    let sealed = secrets.encrypt(secret.expose_secret());
    match db::servers::insert(pool, &input.fields, &sealed).await {
        Ok(id) => {
            tracing::info!(server = %id, name = %input.fields.name, "server added");
            Ok(id)
        }
        Err(err) if db::servers::is_name_taken(&err) => Err(name_taken(&input.fields.name)),
        Err(err) => Err(err.into()),
    }
}

/// Updates a server. A blank secret keeps the stored one only when the edit leaves alone
/// where and how it is sent ([`credential_reach_changes`]): a stored token must never follow
/// a server to another host, port, scheme or username it was not entered for. Nothing is
/// saved otherwise.
pub async fn update(
    pool: &PgPool,
    secrets: &SecretBox,
    id: ServerId,
    input: &ServerInput,
) -> Result<(), SaveError> {
    use secrecy::ExposeSecret as _;
    let current = db::servers::find(pool, id)
        .await?
        .ok_or(SaveError::NotFound)?;
    if input.secret.is_none() {
        let changed = credential_reach_changes(&current, &input.fields);
        if !changed.is_empty() {
            let what = input.fields.auth_kind.the_secret();
            return Err(SaveError::Invalid(FieldErrors::one(
                "secret",
                format!(
                    "You changed the {}: enter {what} again. The stored one is only ever sent to the server it was entered for.",
                    listed(&changed)
                ),
            )));
        }
    }
    let sealed = input
        .secret
        .as_ref()
        .map(|s| secrets.encrypt(s.expose_secret()));
    match db::servers::update(pool, id, &input.fields, sealed.as_deref()).await {
        Ok(true) => {
            tracing::info!(
                server = %id,
                secret_changed = sealed.is_some(),
                "server updated"
            );
            Ok(())
        }
        Ok(false) if sealed.is_none() && db::servers::find(pool, id).await?.is_some() => {
            // Someone moved the server between our read and our write.
            Err(SaveError::Invalid(FieldErrors::one(
                "secret",
                "The server's address or credentials changed meanwhile: enter the token again.",
            )))
        }
        Ok(false) => Err(SaveError::NotFound),
        Err(err) if db::servers::is_name_taken(&err) => Err(name_taken(&input.fields.name)),
        Err(err) => Err(err.into()),
    }
}

/// "a", "a and b", "a, b and c".
fn listed(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// *Test connection*: calls `version` and stores the answer. Answers the version.
pub async fn test_connection(
    pool: &PgPool,
    whm: &WhmClient,
    secrets: &SecretBox,
    server: &Server,
) -> Result<String, ConnectionError> {
    let conn = server_conn(pool, secrets, server).await?;
    match whm.server(&conn).version().await {
        Ok(version) => {
            db::servers::set_version(pool, server.id, &version).await?;
            tracing::info!(server = %server.id, %version, "test connection succeeded");
            Ok(version)
        }
        Err(err) => {
            tracing::info!(server = %server.id, error = %err, "test connection failed");
            Err(err.into())
        }
    }
}
