//! `applinks server add` and `applinks server import`: the same validation, encryption and
//! import as the admin pages, from the command line. Secrets come from standard input only.
//! `import` lists the matches it left pending and confirms them only with `--attach-matching`.

use std::io::Read as _;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use sqlx::PgPool;

use crate::config::SecretArgs;
use crate::crypto::SecretBox;
use crate::db;
use crate::db::accounts::Pending;
use crate::domain::ids::ServerId;
use crate::hosting::forms::{FieldErrors, ServerForm};
use crate::hosting::import::{ImportSummary, import_accounts};
use crate::hosting::pending;
use crate::hosting::servers::{self, SaveError};
use crate::whm::client::{ClientSettings, WhmClient};

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Add a server; its API token (or password) is read from standard input.
    Add(ServerAddArgs),
    /// Import a server's accounts (`listaccts`). An account whose e-mail matches an existing
    /// client waits for confirmation (listed here and on the server's page) unless
    /// `--attach-matching` is given.
    Import {
        #[command(flatten)]
        secret: SecretArgs,
        /// The server's id (shown on its page in the admin panel).
        id: ServerId,
        /// Confirm every pending match of the server: attach those accounts to the clients
        /// their e-mail matched. Off by default, since the customer sets that e-mail himself.
        #[arg(long)]
        attach_matching: bool,
    },
}

/// `applinks server add`: the fields of the admin panel's server form.
#[derive(Debug, Clone, Args)]
pub struct ServerAddArgs {
    #[command(flatten)]
    pub secret: SecretArgs,
    /// Name shown in the admin panel (1 to 100 characters, unique).
    #[arg(long)]
    pub name: String,
    /// Host name or IP address of the WHM server.
    #[arg(long)]
    pub host: String,
    /// WHM port.
    #[arg(long, default_value = "2087")]
    pub port: String,
    /// One of: cpanel, wp2, plesk, directadmin.
    #[arg(long)]
    pub module: String,
    /// WHM username.
    #[arg(long, default_value = "root")]
    pub username: String,
    /// How to authenticate: an API token or a password.
    #[arg(long, default_value = "token", value_parser = ["token", "password"])]
    pub auth: String,
    /// Plain http instead of https (for the simulator on loopback).
    #[arg(long)]
    pub no_tls: bool,
    /// Do not verify the server's TLS certificate (self-signed certificates).
    #[arg(long)]
    pub insecure_skip_verify: bool,
    /// Add the server switched off.
    #[arg(long)]
    pub disabled: bool,
    /// Read the API token or password from standard input (required: secrets never go on the
    /// command line).
    #[arg(long, required = true)]
    pub token_stdin: bool,
}

/// Runs one `applinks server …` command.
pub async fn run(database_url: &str, command: ServerCommand) -> anyhow::Result<()> {
    match command {
        ServerCommand::Add(args) => {
            let secrets = SecretBox::from_base64(args.secret.secret_key.as_ref())?;
            let mut secret = String::new();
            std::io::stdin()
                .read_to_string(&mut secret)
                .context("reading the API token from standard input")?;
            let pool = connect(database_url).await?;
            let id = add(&pool, &secrets, &args, &secret).await?;
            println!("added server {} (id {id})", args.name.trim());
            Ok(())
        }
        ServerCommand::Import {
            secret,
            id,
            attach_matching,
        } => {
            let secrets = SecretBox::from_base64(secret.secret_key.as_ref())?;
            let pool = connect(database_url).await?;
            let whm = WhmClient::new(ClientSettings::default());
            let summary = import(&pool, &whm, &secrets, id).await?;
            println!("{}", summary.sentence());
            for line in summary.skipped_reasons() {
                println!("skipped: {line}");
            }
            if attach_matching {
                let done = pending::confirm_all(&pool, id).await?;
                for p in &done.confirmed {
                    println!("attached: {}", describe(p));
                }
                for p in &done.taken {
                    println!(
                        "not attached, the server has an account with that username already: {}",
                        describe(p)
                    );
                }
            }
            let waiting = db::accounts::pending_for_server(&pool, id).await?;
            if !waiting.is_empty() {
                println!(
                    "{} accounts match an existing client by e-mail and wait for confirmation (on the server's page, or with --attach-matching):",
                    waiting.len()
                );
                for p in &waiting {
                    println!("pending: {}", describe(p));
                }
            }
            Ok(())
        }
    }
}

/// Connects and applies any missing migrations (safe to repeat), so the commands work on a
/// fresh database.
async fn connect(database_url: &str) -> anyhow::Result<PgPool> {
    let pool = db::migrate::connect(database_url).await?;
    db::migrate::run(&pool).await?;
    Ok(pool)
}

/// Adds a server from the command line's flags and the secret read from standard input.
pub async fn add(
    pool: &PgPool,
    secrets: &SecretBox,
    args: &ServerAddArgs,
    secret: &str,
) -> anyhow::Result<ServerId> {
    let form = ServerForm {
        name: args.name.clone(),
        hostname: args.host.clone(),
        port: args.port.clone(),
        module: args.module.clone(),
        username: args.username.clone(),
        auth_kind: args.auth.clone(),
        secret: secret.trim_end_matches(['\r', '\n']).to_string(),
        use_tls: (!args.no_tls).then(|| "on".to_string()),
        verify_tls: (!args.insecure_skip_verify).then(|| "on".to_string()),
        enabled: (!args.disabled).then(|| "on".to_string()),
    };
    let input = match form.validate(true) {
        Ok(input) => input,
        Err(errors) => bail!("the server was not added:\n{}", flag_errors(&errors)),
    };
    match servers::create(pool, secrets, &input).await {
        Ok(id) => Ok(id),
        Err(SaveError::Invalid(errors)) => {
            bail!("the server was not added:\n{}", flag_errors(&errors))
        }
        Err(err) => Err(err.into()),
    }
}

/// The form's messages, one a line, named after the flags that set the fields.
fn flag_errors(errors: &FieldErrors) -> String {
    errors
        .iter()
        .map(|(field, message)| {
            let flag = match field {
                "hostname" => "--host",
                "auth_kind" => "--auth",
                "secret" => "the token on standard input",
                "name" => "--name",
                "port" => "--port",
                "module" => "--module",
                "username" => "--username",
                other => other,
            };
            format!("  {flag}: {message}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Imports server `id`'s accounts.
pub async fn import(
    pool: &PgPool,
    whm: &WhmClient,
    secrets: &SecretBox,
    id: ServerId,
) -> anyhow::Result<ImportSummary> {
    // As on the page, new accounts of an application that is on get their links: the import
    // queues their provisioning in its own transaction.
    import_accounts(pool, whm, secrets, id)
        .await
        .with_context(|| format!("importing the accounts of server {id} failed"))
}

/// One pending match on a line: `mallory (mallory.test, listed e-mail a@b.test) → client
/// “Acme” (id 3)`. Control characters are replaced: a client's name is whatever an admin
/// typed, and the terminal must not obey it.
fn describe(p: &Pending) -> String {
    let domain = if p.domain.is_empty() {
        "no domain"
    } else {
        &p.domain
    };
    let line = format!(
        "{} ({domain}, listed e-mail {}) → client “{}” (id {})",
        p.username, p.email, p.client_name, p.client_id
    );
    line.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}
