//! The simulator's memory: accounts, per-user links (user config and token kept apart, as
//! cPanel keeps them), tokens of links that do not exist, groups, call counters and fault
//! settings. One `Mutex`, never held across an await.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::whm::types::Account;

/// A decoded argument name or value. Shared, not copied: a batch's commands carry the same
/// values over and over (a link's icon, label and URLs in every account's link), and the
/// simulator keeps them as the links' user config.
pub type Text = Arc<str>;

/// The value of `name` in a call's arguments or a link's user config, as text.
pub fn text<'a>(map: &'a BTreeMap<Text, Text>, name: &str) -> Option<&'a str> {
    map.get(name).map(|value| &**value)
}

/// A link's *user config*: every argument of `create_integration_link` as received, except
/// `user` and `app` (its keys), `token` (kept apart) and `api.version`.
/// Values are shared with the call that stored them (and most with every other link).
pub type UserConfigMap = BTreeMap<Text, Text>;

/// A link as cPanel stores it: the user config, and the token apart (cPanel's admin config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLink {
    pub config: UserConfigMap,
    pub token: Option<String>,
}

impl StoredLink {
    /// One field by name; `token` answers the token, anything else the user config.
    pub fn get(&self, name: &str) -> Option<&str> {
        if name == "token" {
            self.token.as_deref()
        } else {
            text(&self.config, name)
        }
    }

    /// The user config with the token merged in: the view of `GET /__sim/state`.
    pub fn merged(&self) -> BTreeMap<String, String> {
        let mut merged: BTreeMap<String, String> = self
            .config
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        if let Some(token) = &self.token {
            merged.insert("token".to_string(), token.clone());
        }
        merged
    }
}

/// A group of `create_integration_group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredGroup {
    /// What the customer sees; without one (or an empty one) the page shows the id.
    pub label: Option<String>,
    /// 99999 when not given, as for links.
    pub order: i64,
}

/// Whose API token the simulator pretends to have been given (whm-api.md §3): it decides
/// which words answer an account the caller cannot manage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// `You do not have a user named “USER”.`
    #[default]
    Root,
    /// `You do not have access to an account named “USER”.`
    Reseller,
}

impl Owner {
    /// The reason of a call naming an account this caller has no access to.
    pub fn unknown_user(self, user: &str) -> String {
        match self {
            Self::Root => format!("You do not have a user named “{user}”."),
            Self::Reseller => format!("You do not have access to an account named “{user}”."),
        }
    }
}

/// Fault injection and the caller's standing, settable at start and at run time
/// (`POST /__sim/faults`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Added to every API request.
    pub latency_ms: u64,
    /// The server's own work per call, also per command of a batch (one after another
    /// within a request; separate requests in parallel).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub command_ms: u64,
    /// Share of API calls answered HTTP 500.
    pub fail_rate: f64,
    /// Share of API calls that do not answer within any client timeout.
    pub timeout_rate: f64,
    /// Accounts that answer `result: 0` with the unknown-user reason.
    pub fail_users: Vec<String>,
    /// Which unknown-user reason the server answers (`--owner`).
    pub owner: Owner,
    /// user → how many more requests naming that account (as `user` of the call, or of any
    /// command of a batch) answer HTTP 500: a fault tied to one account, for tests.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub error_users: BTreeMap<String, u32>,
    /// user → how many more requests naming that account never answer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hang_users: BTreeMap<String, u32>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// A partial change of [`Faults`]; absent fields stay as they are. Accepts the flag names too
/// (`latency-ms`, …).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsUpdate {
    #[serde(default, alias = "latency-ms")]
    pub latency_ms: Option<u64>,
    #[serde(default, alias = "command-ms")]
    pub command_ms: Option<u64>,
    #[serde(default, alias = "fail-rate")]
    pub fail_rate: Option<f64>,
    #[serde(default, alias = "timeout-rate")]
    pub timeout_rate: Option<f64>,
    #[serde(default, alias = "fail-users")]
    pub fail_users: Option<Vec<String>>,
    #[serde(default)]
    pub owner: Option<Owner>,
    #[serde(default, alias = "error-users")]
    pub error_users: Option<BTreeMap<String, u32>>,
    #[serde(default, alias = "hang-users")]
    pub hang_users: Option<BTreeMap<String, u32>>,
}

impl Faults {
    /// Applies an update; rates must lie in 0..=1.
    pub fn apply(&mut self, update: FaultsUpdate) -> Result<(), String> {
        for (name, rate) in [
            ("fail_rate", update.fail_rate),
            ("timeout_rate", update.timeout_rate),
        ] {
            if let Some(rate) = rate
                && !(0.0..=1.0).contains(&rate)
            {
                return Err(format!("{name} must lie between 0 and 1"));
            }
        }
        if let Some(latency_ms) = update.latency_ms {
            self.latency_ms = latency_ms;
        }
        if let Some(command_ms) = update.command_ms {
            self.command_ms = command_ms;
        }
        if let Some(fail_rate) = update.fail_rate {
            self.fail_rate = fail_rate;
        }
        if let Some(timeout_rate) = update.timeout_rate {
            self.timeout_rate = timeout_rate;
        }
        if let Some(fail_users) = update.fail_users {
            self.fail_users = fail_users;
        }
        if let Some(owner) = update.owner {
            self.owner = owner;
        }
        if let Some(error_users) = update.error_users {
            self.error_users = error_users;
        }
        if let Some(hang_users) = update.hang_users {
            self.hang_users = hang_users;
        }
        Ok(())
    }

    /// Whether any per-account fault budget is set (so a request's users need reading).
    pub fn has_user_faults(&self) -> bool {
        !(self.error_users.is_empty() && self.hang_users.is_empty())
    }

    /// Whether a request naming `users` hangs, and whether it fails, by the per-account
    /// budgets; each budget that applies is used up by one.
    pub fn take_user_faults(&mut self, users: &[&str]) -> (bool, bool) {
        let take = |budgets: &mut BTreeMap<String, u32>| {
            let mut hit = false;
            for user in users {
                if let Some(left) = budgets.get_mut(*user).filter(|left| **left > 0) {
                    *left -= 1;
                    hit = true;
                }
            }
            hit
        };
        let hang = take(&mut self.hang_users);
        let error = !hang && take(&mut self.error_users);
        (hang, error)
    }
}

/// Everything the simulated server holds.
#[derive(Debug, Default)]
pub struct World {
    pub accounts: BTreeMap<String, Account>,
    /// user → app → link.
    pub links: BTreeMap<String, BTreeMap<String, StoredLink>>,
    /// user → app → token set by `update_integration_link_token` for an app that has no link
    /// (cPanel accepts that and keeps the token; no link uses it).
    pub orphan_tokens: BTreeMap<String, BTreeMap<String, String>>,
    /// user → group id → group.
    pub groups: BTreeMap<String, BTreeMap<String, StoredGroup>>,
    /// function → calls received (every call, whatever its answer), a batch's commands
    /// under their own functions; `batch` counts batch requests.
    pub calls: BTreeMap<String, u64>,
    /// HTTP requests to `/json-api/…` received (a batch is one).
    pub requests: u64,
    pub faults: Faults,
}

impl World {
    /// Counts one call of `function` (whm-api.md §7).
    pub fn count_call(&mut self, function: &str) {
        match self.calls.get_mut(function) {
            Some(calls) => *calls += 1,
            None => {
                self.calls.insert(function.to_string(), 1);
            }
        }
    }

    /// `count` accounts `user0001` … with domains `user0001.example.test` and e-mails
    /// `owner0001@example.test`.
    pub fn with_accounts(count: usize, faults: Faults) -> Self {
        let accounts = (1..=count)
            .map(|n| {
                let account = Account {
                    user: format!("user{n:04}"),
                    domain: format!("user{n:04}.example.test"),
                    email: format!("owner{n:04}@example.test"),
                    suspended: false,
                };
                (account.user.clone(), account)
            })
            .collect();
        Self {
            accounts,
            faults,
            ..Self::default()
        }
    }

    /// Adds or replaces an account.
    pub fn add_account(&mut self, account: Account) {
        self.accounts.insert(account.user.clone(), account);
    }

    /// Removes an account with its links, tokens and groups, as terminating it on WHM would.
    pub fn remove_account(&mut self, user: &str) -> bool {
        self.links.remove(user);
        self.orphan_tokens.remove(user);
        self.groups.remove(user);
        self.accounts.remove(user).is_some()
    }

    /// The user's links with their tokens merged in: app → fields.
    pub fn merged_links(&self, user: &str) -> BTreeMap<String, BTreeMap<String, String>> {
        self.links
            .get(user)
            .into_iter()
            .flatten()
            .map(|(app, link)| (app.clone(), link.merged()))
            .collect()
    }

    /// The JSON of `GET /__sim/state`.
    pub fn to_json(&self) -> serde_json::Value {
        let users: serde_json::Map<String, serde_json::Value> = self
            .accounts
            .keys()
            .chain(
                self.links
                    .keys()
                    .filter(|user| !self.accounts.contains_key(*user)),
            )
            .map(|user| (user.clone(), serde_json::json!(self.merged_links(user))))
            .collect();
        serde_json::json!({
            "calls": self.calls,
            "users": users,
            "groups": self.groups,
            "faults": self.faults,
        })
    }
}

/// The world behind its lock.
#[derive(Debug, Default)]
pub struct SharedWorld(Mutex<World>);

impl SharedWorld {
    pub fn new(world: World) -> Self {
        Self(Mutex::new(world))
    }

    /// The world, locked. A panic while locked leaves plain data behind, so poisoning is
    /// ignored.
    pub fn lock(&self) -> MutexGuard<'_, World> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
