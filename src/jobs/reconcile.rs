//! One account brought in line with the application's desired links (whm-api.md §4), and
//! what every account of a job shares: the shown links, the group label, the icons.

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

use super::JobContext;
use crate::db;
use crate::db::provisioning::AccountRecord;
use crate::domain::account::AccountStatus;
use crate::domain::app::App;
use crate::domain::links::{self, CPANEL_GROUP_ID, CPANEL_GROUP_ORDER, Group, LinkSetting};
use crate::domain::operation::is_unknown_account;
use crate::whm::client::{ServerClient, WhmError};
use crate::whm::types::CreateLink;

/// The account's link secret for `app`, created on first use and reused ever after, so a
/// re-created link carries the same token.
async fn link_token(ctx: &JobContext, account_id: i64, app: App) -> anyhow::Result<SecretString> {
    let fresh: [u8; 32] = rand::random();
    let fresh = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(fresh);
    let stored =
        db::provisioning::link_secret(&ctx.pool, account_id, app, &ctx.secrets.encrypt(&fresh))
            .await?;
    Ok(ctx.secrets.decrypt(&stored)?)
}

/// What every account of the application should carry, read once per job.
pub(super) struct Desired {
    /// The shown links, in order; none when the application is off.
    pub(super) shown: Vec<LinkSetting>,
    /// The label of applinks' group in cPanel.
    group_label: String,
    /// Each link group's icon, base64 (`base64_png_image`).
    icons: Vec<(Group, String)>,
}

impl Desired {
    pub(super) async fn load(pool: &sqlx::PgPool, app: App) -> anyhow::Result<Self> {
        let enabled = db::applications::is_enabled(pool, app).await?;
        let shown = if enabled {
            let config = db::links::load(pool, app).await?;
            config.into_iter().filter(|l| l.shown).collect()
        } else {
            Vec::new()
        };
        let icons = Group::ALL
            .into_iter()
            .map(|g| {
                let png = base64::engine::general_purpose::STANDARD.encode(g.icon_png());
                (g, png)
            })
            .collect();
        Ok(Self {
            shown,
            group_label: db::applications::group_label(pool, app).await?,
            icons,
        })
    }

    fn icon(&self, group: Group) -> Option<String> {
        self.icons
            .iter()
            .find(|(g, _)| *g == group)
            .map(|(_, png)| png.clone())
    }
}

/// Brings one account in line (whm-api.md §4): applinks' group and every wanted link created
/// (or replaced), every other `applinks_*` link removed, and the group removed when no link
/// is wanted. The outer error is ours (database); the inner one is what the server answered.
pub(super) async fn reconcile_account(
    ctx: &JobContext,
    client: &ServerClient,
    app: App,
    account: &AccountRecord,
    desired: &Desired,
    wanted: &[LinkSetting],
) -> anyhow::Result<Result<(), WhmError>> {
    let user = account.username.as_str();
    let terminated = account.status == AccountStatus::Terminated;
    if terminated && user.is_empty() {
        return Ok(Ok(())); // Nothing can exist on the server for it.
    }
    let existing = match client.list_integration_links(user).await {
        Ok(apps) => apps,
        // A terminated account the server no longer has carries no links: that is the goal.
        Err(e) if terminated && is_unknown_account(&e.reason) => return Ok(Ok(())),
        Err(e) => return Ok(Err(e)),
    };
    if !wanted.is_empty() {
        if let Err(e) = client
            .create_integration_group(
                user,
                CPANEL_GROUP_ID,
                &desired.group_label,
                CPANEL_GROUP_ORDER,
            )
            .await
        {
            return Ok(Err(e));
        }
        let token = link_token(ctx, account.id, app).await?;
        for link in wanted {
            let Some(def) = link.def() else { continue };
            let create = CreateLink {
                user: user.to_string(),
                app: links::cpanel_app(&link.key),
                implements: def.group.implements().to_string(),
                label: link.label.clone(),
                subscriber_unique_id: account.id.to_string(),
                token: SecretString::from(token.expose_secret().to_string()),
                // cPanel's autologin POST names neither user nor app (whm-api.md §6): the
                // URL names the link.
                autologin_token_url: Some(format!("{}/sso/cpanel/{}", ctx.public_url, def.key)),
                url: Some(format!("{}{}", ctx.public_url, def.path)),
                group_id: Some(CPANEL_GROUP_ID.to_string()),
                order: Some(link.position.to_string()),
                hide: false,
                base64_png_image: desired.icon(def.group),
            };
            if let Err(e) = client.create_integration_link(&create).await {
                return Ok(Err(e));
            }
        }
    }
    for existing_app in &existing {
        let Some(key) = links::key_of_cpanel_app(existing_app) else {
            continue; // Not ours: never touched.
        };
        if !wanted.iter().any(|l| l.key == key)
            && let Err(e) = client.remove_integration_link(user, existing_app).await
        {
            return Ok(Err(e));
        }
    }
    if wanted.is_empty()
        && let Err(e) = client.remove_integration_group(user, CPANEL_GROUP_ID).await
    {
        return Ok(Err(e));
    }
    Ok(Ok(()))
}
