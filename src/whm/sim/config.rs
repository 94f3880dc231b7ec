//! What a simulator starts with: [`SimConfig`] in-process, [`SimArgs`] the flags of
//! `applinks whm-sim` (whm-api.md §7), and the [`Sleeper`] its autologin waits with.
//! Settings only; the server lives in the parent module.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rand::Rng as _;

use super::state::Owner;

/// The version the simulator reports unless told otherwise.
pub const DEFAULT_VERSION: &str = "11.134.0.5";
/// Modules the simulator can pretend to be.
pub const MODULES: [&str; 2] = ["cpanel", "wp2"];

/// How the simulated cPanel waits between two autologin attempts. Tests inject one that
/// records the waits and returns at once.
pub trait Sleeper: Send + Sync + 'static {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// The real wait: `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Everything a simulator starts with.
#[derive(Clone)]
pub struct SimConfig {
    /// 0: any free port.
    pub port: u16,
    /// Accounts `user0001` … created at start.
    pub accounts: usize,
    pub version: String,
    /// `cpanel` or `wp2`.
    pub module: String,
    /// The WHM username the API token belongs to.
    pub username: String,
    /// The API token it accepts (also the password of the Basic form).
    pub token: String,
    pub latency_ms: u64,
    /// The server's work per call or batch command, in milliseconds.
    pub command_ms: u64,
    pub fail_rate: f64,
    pub timeout_rate: f64,
    pub fail_users: Vec<String>,
    /// Whose token the simulator pretends to be given: which unknown-user text it answers.
    pub owner: Owner,
    /// The waits between autologin attempts.
    pub sleeper: Arc<dyn Sleeper>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            port: 0,
            accounts: 10,
            version: DEFAULT_VERSION.to_string(),
            module: "cpanel".to_string(),
            username: "root".to_string(),
            token: random_token(),
            latency_ms: 0,
            command_ms: 0,
            fail_rate: 0.0,
            timeout_rate: 0.0,
            fail_users: Vec::new(),
            owner: Owner::Root,
            sleeper: Arc::new(TokioSleeper),
        }
    }
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("port", &self.port)
            .field("accounts", &self.accounts)
            .field("version", &self.version)
            .field("module", &self.module)
            .field("username", &self.username)
            .field("token", &"[redacted]")
            .field("latency_ms", &self.latency_ms)
            .field("command_ms", &self.command_ms)
            .field("fail_rate", &self.fail_rate)
            .field("timeout_rate", &self.timeout_rate)
            .field("fail_users", &self.fail_users)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

/// The flags of `applinks whm-sim` (SPEC §2, whm-api.md §7). Meant for a subcommand of a
/// parent command that does not set `#[command(version)]` (this one has its own `--version`).
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Port on 127.0.0.1 (0: any free port; the URL is printed).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Accounts user0001 … with domains userNNNN.example.test and e-mails ownerNNNN@example.test.
    #[arg(long, default_value_t = 10)]
    pub accounts: usize,
    /// The cPanel & WHM version the `version` function reports.
    #[arg(long, default_value = DEFAULT_VERSION)]
    pub version: String,
    /// The server's module.
    #[arg(long, default_value = "cpanel", value_parser = MODULES)]
    pub module: String,
    /// WHM username of the API token.
    #[arg(long, default_value = "root")]
    pub username: String,
    /// The API token it accepts (random if not given; printed at start).
    #[arg(long)]
    pub token: Option<String>,
    /// Milliseconds added to every API request (a batch is one request).
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// The server's own work per API call, also per command inside a batch (one after
    /// another within a request; separate requests run in parallel), in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub command_ms: u64,
    /// Share of API calls answered HTTP 500 (0 to 1).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub fail_rate: f64,
    /// Share of API calls that never answer within the client timeout (0 to 1).
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    pub timeout_rate: f64,
    /// Accounts whose calls answer `result: 0` with the unknown-user reason (u1,u2).
    #[arg(long, value_delimiter = ',')]
    pub fail_users: Vec<String>,
    /// Whose API token it pretends to be given: `root` answers "You do not have a user
    /// named …", `reseller` "You do not have access to an account named …".
    #[arg(long, value_enum, default_value_t = Owner::Root)]
    pub owner: Owner,
}

impl SimArgs {
    pub fn into_config(self) -> SimConfig {
        SimConfig {
            port: self.port,
            accounts: self.accounts,
            version: self.version,
            module: self.module,
            username: self.username,
            token: self.token.unwrap_or_else(random_token),
            latency_ms: self.latency_ms,
            command_ms: self.command_ms,
            fail_rate: self.fail_rate,
            timeout_rate: self.timeout_rate,
            fail_users: self.fail_users,
            owner: self.owner,
            sleeper: Arc::new(TokioSleeper),
        }
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err("a rate lies between 0 and 1".to_string())
    }
}

fn random_token() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}
