//! *Import accounts*: a server's `listaccts`, matched to clients by e-mail (case-insensitive,
//! a client's own e-mail or one of its users'), creating the clients that are missing (named
//! after the domain, or the username without one, with an owner user of that e-mail) and the
//! accounts that are new. An account the server already has in applinks (same username) is
//! skipped, so importing again is harmless.
//!
//! A match is never acted on alone (issue 8): the listed e-mail is the cPanel contact address,
//! which the customer sets himself, so an account that names another client's address would
//! otherwise be signed into that client's area. A matching account is recorded *pending*
//! instead (`db::accounts::Pending`, see [`crate::hosting::pending`]): no account, no links, no
//! single sign-on until an admin confirms it. That holds for a client created earlier in the
//! same import as well: it belongs to whichever account the server listed first.
//!
//! An account listed without a usable e-mail (`*unknown*`, empty, malformed; see
//! [`listed_email`]) gets a client of its own without an e-mail: it never matches an existing
//! client, since nothing would tell which one it belongs to.
//!
//! One transaction per import: it lands whole or not at all, with the operations that
//! provision its new accounts when their application is on (`jobs::account_changed_in`). So every field is checked before
//! it reaches the database: an account with a field applinks cannot store (a username cPanel
//! would not allow, a domain that is no host name, control characters) is skipped and named in
//! the summary, instead of one bad row rolling back the whole import. The admin page and
//! `applinks server import` both call [`import_accounts`].

use std::collections::{BTreeMap, HashSet};

use sqlx::PgPool;

use crate::crypto::SecretBox;
use crate::db;
use crate::domain::account::{AccountStatus, parse_cpanel_username};
use crate::domain::email::listed_email;
use crate::domain::ids::{AccountId, ClientId, ServerId};
use crate::domain::server::parse_host;
use crate::jobs::OperationError;
use crate::jobs::connect::{ConnectionError, server_conn};
use crate::whm::client::WhmClient;
use crate::whm::types::Account as ListedAccount;

/// Why an account of the server was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SkipReason {
    /// applinks already has an account with that username on this server.
    AlreadyImported,
    /// The server lists an account without a username.
    NoUsername,
    /// The username is not one cPanel allows (see [`parse_cpanel_username`]).
    BadUsername,
    /// The domain is not a host name (too long, control characters, …).
    BadDomain,
    /// An earlier import found it matching a client; it waits for an admin's decision.
    Pending,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::AlreadyImported => "already in applinks",
            SkipReason::NoUsername => "no username on the server",
            SkipReason::BadUsername => "with a username cPanel does not allow",
            SkipReason::BadDomain => "with a domain that is not a valid host name",
            SkipReason::Pending => "still waiting for a confirmed client",
        }
    }
}

/// How a skipped account is named in the summary: at most 40 characters, control characters
/// replaced, since the server's text ends up in a flash message (stored in the session) and
/// on the terminal.
fn shown(text: &str) -> String {
    let text = text.trim();
    let mut out: String = text
        .chars()
        .take(40)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// An account of the listing with every field checked, ready to store.
struct Checked {
    user: String,
    domain: String,
    email: Option<String>,
    status: AccountStatus,
}

impl Checked {
    /// The name of the client created for the account: its domain, or its username when the
    /// domain is missing or longer than a client name may be (200 characters).
    fn client_name(&self) -> &str {
        if self.domain.is_empty() || self.domain.chars().count() > 200 {
            &self.user
        } else {
            &self.domain
        }
    }
}

/// Checks one listed account; the reason and who to name when it cannot be imported.
fn check(acct: &ListedAccount) -> Result<Checked, (SkipReason, String)> {
    let user = match parse_cpanel_username(&acct.user) {
        Some(user) if user.is_empty() => {
            return Err((SkipReason::NoUsername, shown(&acct.domain)));
        }
        Some(user) => user,
        None => return Err((SkipReason::BadUsername, shown(&acct.user))),
    };
    let domain = match acct.domain.trim() {
        "" => String::new(),
        domain => parse_host(domain).ok_or((SkipReason::BadDomain, user.clone()))?,
    };
    Ok(Checked {
        user,
        domain,
        email: listed_email(&acct.email),
        status: if acct.suspended {
            AccountStatus::Suspended
        } else {
            AccountStatus::Active
        },
    })
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    /// Accounts the server listed.
    pub listed: usize,
    pub clients_created: usize,
    /// Of the created clients, those without an e-mail (their account listed none usable).
    pub clients_without_email: usize,
    /// Accounts whose e-mail matched an existing client, recorded pending (not created).
    pub pending: usize,
    /// The new accounts' ids, in the server's order.
    pub accounts_created: Vec<AccountId>,
    /// Skipped accounts by reason, with their usernames (or domains when there is none).
    pub skipped: BTreeMap<SkipReason, Vec<String>>,
}

impl ImportSummary {
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().map(Vec::len).sum()
    }

    /// One sentence with the counts.
    pub fn sentence(&self) -> String {
        // Said only when it happened: such clients cannot be matched by a later import, and
        // the admin may want to give them an e-mail.
        let without_email = match self.clients_without_email {
            0 => String::new(),
            n => format!(" ({n} without an e-mail)"),
        };
        // Likewise: an admin has to act on pending matches, so they are named when there are.
        let pending = match self.pending {
            0 => String::new(),
            n => format!(" {n} matching an existing client wait for confirmation,"),
        };
        format!(
            "Imported from {} accounts on the server: created {} clients{without_email}, created {} accounts,{pending} skipped {}.",
            self.listed,
            self.clients_created,
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
    /// The new accounts' provisioning could not be queued.
    #[error(transparent)]
    Provisioning(#[from] OperationError),
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
    server_id: ServerId,
) -> Result<ImportSummary, ImportError> {
    let server = db::servers::find(pool, server_id)
        .await?
        .ok_or(ImportError::NotFound)?;
    let conn = server_conn(pool, secrets, &server).await?;
    let listed = whm
        .server(&conn)
        .listaccts()
        .await
        .map_err(ConnectionError::from)?;

    let mut summary = ImportSummary {
        listed: listed.len(),
        ..ImportSummary::default()
    };
    let mut tx = db::begin(pool).await?;
    // Lock the server row so that a concurrent removal waits for the import.
    sqlx::query("select id from servers where id = $1 for update")
        .bind(server_id)
        .execute(&mut *tx)
        .await?;
    // The usernames applinks has on this server, and those this listing already gave: a
    // server listing one twice must not get a second (empty) client for it.
    let mut known: HashSet<String> = db::accounts::usernames(&mut *tx, server_id)
        .await?
        .into_iter()
        .collect();
    let waiting: HashSet<String> = db::accounts::pending_usernames(&mut *tx, server_id)
        .await?
        .into_iter()
        .collect();
    let mut created_clients: HashSet<ClientId> = HashSet::new();
    let mut pending = 0;
    let mut skip = |reason: SkipReason, who: &str| {
        summary
            .skipped
            .entry(reason)
            .or_default()
            .push(who.to_string());
    };
    let mut created_accounts = Vec::new();
    let mut without_email = 0;
    for acct in &listed {
        let acct = match check(acct) {
            Ok(acct) => acct,
            Err((reason, who)) => {
                skip(reason, &who);
                continue;
            }
        };
        if waiting.contains(&acct.user) {
            skip(SkipReason::Pending, &acct.user);
            continue;
        }
        if !known.insert(acct.user.clone()) {
            skip(SkipReason::AlreadyImported, &acct.user);
            continue;
        }
        let matched = match &acct.email {
            Some(email) => db::clients::find_id_by_email(&mut *tx, email)
                .await?
                .map(|id| (id, email)),
            None => None,
        };
        if let Some((client_id, email)) = matched {
            let new = db::accounts::NewPending {
                server_id,
                username: &acct.user,
                domain: &acct.domain,
                status: acct.status,
                email,
                client_id,
            };
            match db::accounts::insert_pending_if_new(&mut *tx, new).await? {
                Some(_) => pending += 1,
                // Recorded by a concurrent import meanwhile.
                None => skip(SkipReason::Pending, &acct.user),
            }
            continue;
        }
        let client_id =
            db::clients::insert(&mut tx, acct.client_name(), acct.email.as_deref(), true).await?;
        created_clients.insert(client_id);
        if acct.email.is_none() {
            without_email += 1;
        }
        match db::accounts::insert_if_new(
            &mut *tx,
            client_id,
            server_id,
            &acct.user,
            &acct.domain,
            acct.status,
        )
        .await?
        {
            Some(id) => created_accounts.push(id),
            // Added by hand meanwhile.
            None => skip(SkipReason::AlreadyImported, &acct.user),
        }
    }
    // New accounts of an application that is on get their links: the operations that do it
    // commit with the accounts, or neither does.
    for account_id in &created_accounts {
        crate::jobs::account_changed_in(&mut tx, *account_id).await?;
    }
    tx.commit().await?;
    summary.clients_created = created_clients.len();
    summary.pending = pending;
    summary.clients_without_email = without_email;
    summary.accounts_created = created_accounts;
    tracing::info!(
        server = %server_id,
        listed = summary.listed,
        clients_created = summary.clients_created,
        pending = summary.pending,
        accounts_created = summary.accounts_created.len(),
        skipped = summary.skipped_total(),
        "accounts imported"
    );
    Ok(summary)
}
