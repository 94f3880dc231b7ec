//! `applinks admin …` and `applinks role …`: administrators and roles from the shell.
//! Passwords come from standard input only, never from the command line.

use std::io::Read as _;

use anyhow::Context as _;
use clap::Subcommand;

use crate::db;
use crate::domain::permission::{FULL_ADMINISTRATOR, Permission};
use crate::hosting::admins::create_admin;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an administrator; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        /// Role name (default: Full Administrator).
        #[arg(long, default_value = FULL_ADMINISTRATOR)]
        role: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Create a role with the given permissions.
    Create {
        #[arg(long)]
        name: String,
        /// One of: configure_application_links, configure_servers, manage_clients, manage_admins.
        #[arg(long = "permission")]
        permissions: Vec<String>,
    },
}

/// Reads a password from standard input, without its line ending.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    Ok(password.trim_end_matches(['\r', '\n']).to_string())
}

/// Runs one `applinks admin …` command.
pub async fn run_admin(database_url: &str, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Create {
            username,
            role,
            password_stdin: _,
        } => {
            let password = password_from_stdin()?;
            let pool = db::migrate::connect(database_url).await?;
            // Works on a fresh database too: the schema comes first.
            db::migrate::run(&pool).await?;
            let id = create_admin(&pool, &username, &role, &password).await?;
            println!("created admin {username} (id {id}, role {role})");
            Ok(())
        }
    }
}

/// Runs one `applinks role …` command.
pub async fn run_role(database_url: &str, command: RoleCommand) -> anyhow::Result<()> {
    match command {
        RoleCommand::Create { name, permissions } => {
            let permissions = permissions
                .iter()
                .map(|p| p.parse::<Permission>())
                .collect::<Result<Vec<_>, _>>()?;
            let pool = db::migrate::connect(database_url).await?;
            db::migrate::run(&pool).await?;
            let mut conn = pool.acquire().await?;
            let role = db::roles::create(&mut conn, &name, &permissions).await?;
            println!("created role {} (id {})", role.name, role.id);
            Ok(())
        }
    }
}
