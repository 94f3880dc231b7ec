//! `applinks account reset-token ID`: a new single sign-on token for one hosting account, as
//! *Reset SSO token* on the client's page does: the old token is refused as soon as this
//! returns, and a job (run by any worker) pushes the new one to the account's links.

use clap::Subcommand;

use crate::config::SecretArgs;
use crate::crypto::SecretBox;
use crate::db;
use crate::domain::ids::AccountId;

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Give an account a new link secret and push it to its links
    /// (`update_integration_link_token`, through a job a worker runs).
    ResetToken {
        #[command(flatten)]
        secret: SecretArgs,
        /// The account's id (its `subscriber_unique_id`, shown on its client's page).
        id: AccountId,
    },
}

/// Runs one `applinks account …` command.
pub async fn run(database_url: &str, command: AccountCommand) -> anyhow::Result<()> {
    match command {
        AccountCommand::ResetToken { secret, id } => {
            let secrets = SecretBox::from_base64(secret.secret_key.as_ref())?;
            let pool = db::migrate::connect(database_url).await?;
            db::migrate::run(&pool).await?;
            let started = crate::jobs::reset_token(&pool, &secrets, id, "the command line")
                .await
                .map_err(|e| anyhow::anyhow!("account {id}: {e}"))?;
            println!(
                "account {id} ({}): new SSO token stored, the old one is refused; operation {} pushes it to its {} links",
                started.username,
                started.operation_id,
                started.app.name()
            );
            Ok(())
        }
    }
}
