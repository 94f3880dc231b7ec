//! *Import accounts*: a server's `listaccts`, matched to clients by e-mail (case-insensitive,
//! a client's own e-mail or one of its users'), creating the clients that are missing (named
//! after the domain, or the username without one, with an owner user of that e-mail) and the
//! accounts that are new. An account the server already has in applinks (same username) is
//! skipped, so importing again is harmless.
//!
//! One transaction per import: it lands whole or not at all. The admin page and
//! `applinks server import` both call [`import_accounts`].

use std::collections::{BTreeMap, HashSet};

use sqlx::PgPool;

use crate::crypto::SecretBox;
use crate::db;
use crate::hosting::forms::{AccountStatus, parse_email};
use crate::hosting::servers::{ConnectionError, connection};
use crate::whm::client::WhmClient;

/// Why an account of the server was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SkipReason {
    /// applinks already has an account with that username on this server.
    AlreadyImported,
    /// The server lists an account without a username.
    NoUsername,
    /// No client has the account's e-mail and there is no usable e-mail to create one with.
    NoEmail,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::AlreadyImported => "already in applinks",
            SkipReason::NoUsername => "no username on the server",
            SkipReason::NoEmail => "no usable contact e-mail to match or create a client",
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    /// Accounts the server listed.
    pub listed: usize,
    pub clients_created: usize,
    /// Existing clients that received accounts.
    pub clients_matched: usize,
    /// The new accounts' ids, in the server's order.
    pub accounts_created: Vec<i64>,
    /// Skipped accounts by reason, with their usernames (or domains when there is none).
    pub skipped: BTreeMap<SkipReason, Vec<String>>,
}

impl ImportSummary {
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().map(Vec::len).sum()
    }

    /// One sentence with the counts.
    pub fn sentence(&self) -> String {
        format!(
            "Imported from {} accounts on the server: created {} clients, matched {} existing clients, created {} accounts, skipped {}.",
            self.listed,
            self.clients_created,
            self.clients_matched,
            self.accounts_created.len(),
            self.skipped_total()
        )
    }

    /// The skipped accounts by reason, e.g. `50 already in applinks (user0001, user0002, …)`.
    pub fn skipped_reasons(&self) -> Vec<String> {
        self.skipped
            .iter()
            .map(|(reason, users)| {
                let mut sample = users.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
                if users.len() > 5 {
                    sample.push_str(", …");
                }
                format!("{} {} ({sample})", users.len(), reason.describe())
            })
            .collect()
    }
}

/// Why an import failed before it changed anything.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("there is no such server")]
    NotFound,
    /// The server could not be asked (its own words are in [`ConnectionError::describe`]).
    #[error("{}", .0.describe())]
    Connection(ConnectionError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<ConnectionError> for ImportError {
    fn from(err: ConnectionError) -> Self {
        ImportError::Connection(err)
    }
}

/// Imports the accounts of server `server_id` (see the module's documentation).
pub async fn import_accounts(
    pool: &PgPool,
    whm: &WhmClient,
    secrets: &SecretBox,
    server_id: i64,
) -> Result<ImportSummary, ImportError> {
    let server = db::servers::find(pool, server_id)
        .await?
        .ok_or(ImportError::NotFound)?;
    let conn = connection(pool, secrets, &server).await?;
    let listed = whm
        .server(&conn)
        .listaccts()
        .await
        .map_err(ConnectionError::from)?;

    let mut summary = ImportSummary {
        listed: listed.len(),
        ..ImportSummary::default()
    };
    let mut tx = pool.begin().await?;
    // Lock the server row so that a concurrent removal waits for the import.
    sqlx::query("select id from servers where id = $1 for update")
        .bind(server_id)
        .execute(&mut *tx)
        .await?;
    let known: HashSet<String> = db::accounts::usernames(&mut *tx, server_id)
        .await?
        .into_iter()
        .collect();
    let mut created_clients: HashSet<i64> = HashSet::new();
    let mut matched_clients: HashSet<i64> = HashSet::new();
    let mut skip = |reason: SkipReason, who: &str| {
        summary
            .skipped
            .entry(reason)
            .or_default()
            .push(who.to_string());
    };
    let mut created_accounts = Vec::new();
    for acct in &listed {
        let user = acct.user.trim().to_ascii_lowercase();
        if user.is_empty() {
            skip(SkipReason::NoUsername, acct.domain.trim());
            continue;
        }
        if known.contains(&user) {
            skip(SkipReason::AlreadyImported, &user);
            continue;
        }
        let Some(email) = parse_email(&acct.email) else {
            skip(SkipReason::NoEmail, &user);
            continue;
        };
        let client_id = match db::clients::find_id_by_email(&mut *tx, &email).await? {
            Some(id) => {
                if !created_clients.contains(&id) {
                    matched_clients.insert(id);
                }
                id
            }
            None => {
                let domain = acct.domain.trim();
                let name = if domain.is_empty() {
                    user.as_str()
                } else {
                    domain
                };
                let id = db::clients::insert(&mut tx, name, &email, true).await?;
                created_clients.insert(id);
                id
            }
        };
        let status = if acct.suspended {
            AccountStatus::Suspended
        } else {
            AccountStatus::Active
        };
        match db::accounts::insert_if_new(
            &mut *tx,
            client_id,
            server_id,
            &user,
            acct.domain.trim(),
            status.key(),
        )
        .await?
        {
            Some(id) => created_accounts.push(id),
            // Listed twice by the server, or added meanwhile.
            None => skip(SkipReason::AlreadyImported, &user),
        }
    }
    tx.commit().await?;
    summary.clients_created = created_clients.len();
    summary.clients_matched = matched_clients.len();
    summary.accounts_created = created_accounts;
    tracing::info!(
        server = server_id,
        listed = summary.listed,
        clients_created = summary.clients_created,
        clients_matched = summary.clients_matched,
        accounts_created = summary.accounts_created.len(),
        skipped = summary.skipped_total(),
        "accounts imported"
    );
    Ok(summary)
}
