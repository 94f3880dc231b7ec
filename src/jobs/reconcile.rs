//! Accounts brought in line with the application's desired links, several accounts per
//! request (whm-api.md §2, §4), and what every account of a job shares: the shown links, the
//! group label, the icons.
//!
//! One account's commands, in one batch: `list_integration_links`, then (links wanted)
//! `create_integration_group` and one `create_integration_link` per shown link, then one
//! `remove_integration_link` per known link that is not shown (removing a missing one is
//! harmless), and (no link wanted) `remove_integration_group`. A leftover `applinks_*` app
//! that the listing reveals and the catalogue lacks is removed by a short follow-up batch.

use std::collections::HashMap;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};

use super::JobContext;
use crate::db;
use crate::db::provisioning::AccountRecord;
use crate::domain::account::AccountStatus;
use crate::domain::app::App;
use crate::domain::ids::AccountId;
use crate::domain::links::{self, CPANEL_GROUP_ID, CPANEL_GROUP_ORDER, Group, LINKS, LinkSetting};
use crate::domain::operation::{hint_for, is_unknown_account};
use crate::whm::client::{ServerClient, WhmError};
use crate::whm::types::{CreateLink, LinksData};
use crate::whm::{Command, CommandResult, LinkTemplate, MAX_BATCH_BYTES, Text};

/// What every account of the application should carry, read once per job.
pub(super) struct Desired {
    /// The shown links, in order; none when the application is off.
    pub(super) shown: Vec<LinkSetting>,
    /// The label of applinks' group in cPanel.
    group_label: String,
    /// Each shown link's `create_integration_link`, in the same order, but for the account's
    /// own values: built once per job, shared by every account's commands.
    templates: Vec<LinkTemplate>,
}

impl Desired {
    /// `public_url`: where the links lead (applinks' web instances).
    pub(super) async fn load(
        pool: &sqlx::PgPool,
        app: App,
        public_url: &str,
    ) -> anyhow::Result<Self> {
        // At the same time: a job's first requests wait for them.
        let (enabled, config, group_label) = tokio::try_join!(
            db::applications::is_enabled(pool, app),
            db::links::load(pool, app),
            db::applications::group_label(pool, app),
        )?;
        let shown = if enabled {
            config
                .into_iter()
                .filter(|l| l.shown && l.def().is_some())
                .collect()
        } else {
            Vec::new()
        };
        let icons: Vec<(Group, String)> = Group::ALL
            .into_iter()
            .map(|g| {
                let png = base64::engine::general_purpose::STANDARD.encode(g.icon_png());
                (g, png)
            })
            .collect();
        let mut templates: Vec<LinkTemplate> = shown
            .iter()
            .filter_map(|link| {
                let def = link.def()?;
                let icon = icons.iter().find(|(g, _)| *g == def.group);
                Some(LinkTemplate::new(CreateLink {
                    user: String::new(),
                    app: links::cpanel_app(&link.key),
                    implements: def.group.implements().to_string(),
                    label: link.label.clone(),
                    subscriber_unique_id: String::new(),
                    token: SecretString::from(String::new()),
                    // cPanel's autologin POST names neither user nor app (whm-api.md §6): the
                    // URL names the link.
                    autologin_token_url: Some(format!("{public_url}/sso/cpanel/{}", def.key)),
                    url: Some(format!("{public_url}{}", def.path)),
                    group_id: Some(CPANEL_GROUP_ID.to_string()),
                    order: Some(link.position.to_string()),
                    hide: false,
                    base64_png_image: icon.map(|(_, png)| png.clone()),
                }))
            })
            .collect();
        LinkTemplate::share_values(&mut templates);
        Ok(Self {
            shown,
            group_label,
            templates,
        })
    }

    /// The `create_integration_link` templates of the links this account should carry
    /// ([`Desired::wanted`]).
    fn templates(&self, account: &AccountRecord) -> &[LinkTemplate] {
        if self.wanted(account).is_empty() {
            &[]
        } else {
            &self.templates
        }
    }

    /// The links this account should carry: none once it is terminated.
    fn wanted(&self, account: &AccountRecord) -> &[LinkSetting] {
        if account.status == AccountStatus::Terminated {
            &[]
        } else {
            &self.shown
        }
    }
}

/// How one account's reconciliation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AccountResult {
    Done,
    /// The server refused (or the request failed for good); `harmless` when SPEC §6 knows
    /// the reason to be harmless (a hinted Warning, not a failure).
    Refused {
        message: String,
        attempts: u32,
        harmless: bool,
    },
    /// The request never got an answer after the client's retries: worth another pass.
    Unreachable {
        message: String,
        attempts: u32,
    },
}

impl AccountResult {
    fn from_request_error(err: &WhmError) -> Self {
        let message = words(err);
        if err.is_transient() {
            Self::Unreachable {
                message,
                attempts: err.attempts.max(1),
            }
        } else {
            Self::refused(message, err.attempts)
        }
    }

    fn refused(message: String, attempts: u32) -> Self {
        Self::Refused {
            harmless: hint_for(&message).is_some(),
            message,
            attempts: attempts.max(1),
        }
    }
}

/// The server's own words where there are any, else a plain description.
fn words(err: &WhmError) -> String {
    if err.reason.is_empty() {
        err.describe()
    } else {
        err.reason.clone()
    }
}

/// Each account's link secret for `app`, created on first use and reused ever after (so a
/// re-created link carries the same token), for the accounts that want links: one statement
/// for all of them.
pub(super) async fn link_tokens(
    ctx: &JobContext,
    conn: impl sqlx::PgExecutor<'_>,
    app: App,
    desired: &Desired,
    accounts: &[AccountRecord],
) -> anyhow::Result<HashMap<AccountId, SecretString>> {
    let account_ids: Vec<AccountId> = accounts
        .iter()
        .filter(|a| !desired.wanted(a).is_empty())
        .map(|a| a.id)
        .collect();
    if account_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let fresh: Vec<Vec<u8>> = account_ids
        .iter()
        .map(|_| {
            let bytes: [u8; 32] = rand::random();
            let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
            ctx.secrets.encrypt(&token)
        })
        .collect();
    let stored = db::provisioning::link_secrets(conn, &account_ids, app, &fresh).await?;
    stored
        .into_iter()
        .map(|(id, ciphertext)| Ok((id, ctx.secrets.decrypt(&ciphertext)?)))
        .collect()
}

/// One account's commands (whm-api.md §4); none when nothing can exist for it on the server.
fn plan(account: &AccountRecord, desired: &Desired, token: Option<&SecretString>) -> Vec<Command> {
    let user = account.username.as_str();
    let wanted = desired.wanted(account);
    if wanted.is_empty() && user.is_empty() {
        return Vec::new();
    }
    let mut commands = vec![Command::list_integration_links(user)];
    if !wanted.is_empty() {
        commands.push(Command::create_integration_group(
            user,
            CPANEL_GROUP_ID,
            &desired.group_label,
            CPANEL_GROUP_ORDER,
        ));
        // The account's own values, once for all its links.
        let user = Text::from(user);
        let id = Text::from(account.id.to_string());
        let token = Text::from(token.map_or("", |t| t.expose_secret()));
        for template in desired.templates(account) {
            commands.push(template.command(&user, &id, &token));
        }
    }
    for def in LINKS
        .iter()
        .filter(|d| !wanted.iter().any(|l| l.key == d.key))
    {
        commands.push(Command::remove_integration_link(
            user,
            &links::cpanel_app(def.key),
        ));
    }
    if wanted.is_empty() {
        commands.push(Command::remove_integration_group(user, CPANEL_GROUP_ID));
    }
    commands
}

/// The accounts' plans grouped into requests: consecutive plans, each request's body under
/// [`MAX_BATCH_BYTES`] (one plan alone may exceed it; it then travels alone).
fn requests(plans: &[Vec<Command>]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, plan) in plans.iter().enumerate() {
        let len: usize = plan.iter().map(Command::batch_len).sum();
        if i > start && bytes + len > MAX_BATCH_BYTES {
            ranges.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += len;
    }
    if start < plans.len() {
        ranges.push(start..plans.len());
    }
    ranges
}

/// Sends each request's commands in one batch; answers, per account, its commands' results
/// (or the request's error).
async fn send(
    client: &ServerClient,
    plans: &[Vec<Command>],
) -> Vec<Result<Vec<CommandResult>, WhmError>> {
    let mut answers = Vec::with_capacity(plans.len());
    for range in requests(plans) {
        let commands: Vec<&Command> = plans[range.clone()].iter().flatten().collect();
        if commands.is_empty() {
            answers.extend(range.map(|_| Ok(Vec::new())));
            continue;
        }
        match client.batch(&commands).await {
            Err(err) => answers.extend(range.map(|_| Err(err.clone()))),
            Ok(results) => {
                let mut results = results.into_iter();
                for plan in &plans[range] {
                    answers.push(Ok(results.by_ref().take(plan.len()).collect()));
                }
            }
        }
    }
    answers
}

/// Judges one account by its commands' results; answers the result and the leftover
/// `applinks_*` apps its listing revealed that the catalogue lacks.
fn judge(account: &AccountRecord, results: &[CommandResult]) -> (AccountResult, Vec<String>) {
    let mut refusals: Vec<&WhmError> = Vec::new();
    let mut leftovers = Vec::new();
    for (i, result) in results.iter().enumerate() {
        // metrics: per-command outcome
        match result {
            Ok(data) if i == 0 => {
                let listed = <LinksData as serde::Deserialize>::deserialize(data)
                    .map(LinksData::apps)
                    .unwrap_or_default();
                leftovers = listed
                    .into_iter()
                    .filter(|app| {
                        links::key_of_cpanel_app(app).is_some_and(|k| links::find(k).is_none())
                    })
                    .collect();
            }
            Ok(_) => {}
            Err(err) => refusals.push(err),
        }
    }
    let Some(first) = refusals.first() else {
        return (AccountResult::Done, leftovers);
    };
    // A terminated account the server no longer has carries no links: that is the goal.
    if account.status == AccountStatus::Terminated
        && refusals.iter().all(|e| is_unknown_account(&e.reason))
    {
        return (AccountResult::Done, Vec::new());
    }
    let mut reasons: Vec<String> = Vec::new();
    for err in &refusals {
        let text = words(err);
        if !reasons.contains(&text) {
            reasons.push(text);
        }
    }
    (
        AccountResult::refused(reasons.join("; "), first.attempts),
        Vec::new(),
    )
}

/// Reconciles `accounts` in as few requests as the byte bound allows, plus a follow-up batch
/// for leftovers; one result per account, in order. `tokens`: their link secrets
/// ([`link_tokens`]). No database work: only the server's answers.
pub(super) async fn reconcile_batch(
    client: &ServerClient,
    desired: &Desired,
    tokens: &HashMap<AccountId, SecretString>,
    accounts: &[AccountRecord],
) -> Vec<AccountResult> {
    let plans: Vec<Vec<Command>> = accounts
        .iter()
        .map(|a| plan(a, desired, tokens.get(&a.id)))
        .collect();
    let mut results = Vec::with_capacity(accounts.len());
    let mut follow_up: Vec<(usize, Vec<Command>)> = Vec::new();
    for (i, (account, answer)) in accounts.iter().zip(send(client, &plans).await).enumerate() {
        let result = match answer {
            Err(err) => AccountResult::from_request_error(&err),
            Ok(answers) => {
                let (result, leftovers) = judge(account, &answers);
                if !leftovers.is_empty() {
                    let removes = leftovers
                        .iter()
                        .map(|app| Command::remove_integration_link(&account.username, app))
                        .collect();
                    follow_up.push((i, removes));
                }
                result
            }
        };
        results.push(result);
    }
    if !follow_up.is_empty() {
        let plans: Vec<Vec<Command>> = follow_up.iter().map(|(_, p)| p.clone()).collect();
        for ((i, _), answer) in follow_up.iter().zip(send(client, &plans).await) {
            results[*i] = match answer {
                Err(err) => AccountResult::from_request_error(&err),
                // No listing in a follow-up: every result is a removal.
                Ok(answers) => {
                    let mut padded = vec![Ok(serde_json::Value::Null)];
                    padded.extend(answers);
                    judge(&accounts[*i], &padded).0
                }
            };
        }
    }
    results
}
