//! Settings from flags or the environment (SPEC §2). Every setting has a `--flag` and an
//! environment variable; secrets are `SecretString` so they never reach a log line.
//!
//! Settings only: the commands that take them are in `cli`, and the parts that use them get
//! them converted in `startup`. A leaf: imports nothing of ours.

use std::net::{IpAddr, SocketAddr};

use clap::Args;
use ipnet::IpNet;
use secrecy::SecretString;

/// Default database: a local PostgreSQL with trust authentication.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/applinks";

/// Where the database is.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// PostgreSQL connection URL; the database is created if it is missing.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
}

/// Settings of the web server.
#[derive(Debug, Clone, Args)]
pub struct WebArgs {
    /// Address the web server listens on.
    #[arg(long, env = "APPLINKS_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Base URL that browsers and cPanel reach (default `http://<bind>`). When it is https,
    /// cookies are marked Secure.
    #[arg(long, env = "APPLINKS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Reverse proxies in front of applinks (addresses or CIDRs, comma-separated). Only a
    /// request from one of them may name the client's address in `X-Forwarded-For` or
    /// `Forwarded`; sign-in throttling and the loopback rule of /metrics use that address.
    #[arg(long, env = "APPLINKS_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<IpNet>,
    /// Bearer token for `/metrics`. Without one, `/metrics` answers only requests made
    /// directly from this machine (loopback, not through a proxy).
    #[arg(long, env = "APPLINKS_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<SecretString>,
    /// A client's sign-in (through single sign-on) ends after this many seconds, however
    /// active; the idle expiry (8 h) applies as well.
    #[arg(
        long,
        env = "APPLINKS_CLIENT_SESSION_MAX_SECS",
        default_value_t = 28_800
    )]
    pub client_session_max_secs: u64,
}

/// Accounts per batch: 1 or more.
fn parse_batch_accounts(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{text}` is not a whole number of 1 or more")),
    }
}

/// A proxy address (`10.0.0.5`) or network (`10.0.0.0/8`).
fn parse_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{text}` is neither an IP address nor a CIDR network"))
}

/// The key that encrypts server credentials and link secrets at rest.
#[derive(Debug, Clone, Args)]
pub struct SecretArgs {
    /// 32 or more bytes, base64. Encrypts server credentials and link secrets at rest.
    #[arg(long, env = "APPLINKS_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<SecretString>,
}

/// WHM calls in flight to one server, unless set.
pub const DEFAULT_PER_SERVER_CONCURRENCY: usize = 8;
/// Timeout of one WHM API call, unless set.
pub const DEFAULT_WHM_TIMEOUT_MS: u64 = 10_000;
/// Attempts per WHM call for transient errors, unless set.
pub const DEFAULT_WHM_RETRY_ATTEMPTS: u32 = 3;
/// First pause between attempts, unless set.
pub const DEFAULT_WHM_RETRY_BASE_DELAY_MS: u64 = 200;

/// Accounts whose commands travel in one WHM `batch` request, unless set (chosen from the
/// benchmark, BENCHMARKS.md).
pub const DEFAULT_WHM_BATCH_ACCOUNTS: usize = 20;

/// How workers talk to WHM servers.
#[derive(Debug, Clone, Args)]
pub struct ProvisioningArgs {
    /// Calls in flight to one server at a time (different servers run in parallel).
    #[arg(long, env = "APPLINKS_PER_SERVER_CONCURRENCY", default_value_t = DEFAULT_PER_SERVER_CONCURRENCY)]
    pub per_server_concurrency: usize,
    /// Timeout of one WHM API call, in milliseconds.
    #[arg(long, env = "APPLINKS_WHM_TIMEOUT_MS", default_value_t = DEFAULT_WHM_TIMEOUT_MS)]
    pub whm_timeout_ms: u64,
    /// Attempts per WHM call for transient errors (5xx, timeouts, connection errors).
    #[arg(long, env = "APPLINKS_WHM_RETRY_ATTEMPTS", default_value_t = DEFAULT_WHM_RETRY_ATTEMPTS)]
    pub whm_retry_attempts: u32,
    /// First pause between attempts, in milliseconds; doubles each time, with jitter.
    #[arg(long, env = "APPLINKS_WHM_RETRY_BASE_DELAY_MS", default_value_t = DEFAULT_WHM_RETRY_BASE_DELAY_MS)]
    pub whm_retry_base_delay_ms: u64,
    /// Accounts whose commands travel in one WHM `batch` request (whm-api.md §2); each
    /// request carries about 17 commands per account.
    #[arg(long, env = "APPLINKS_WHM_BATCH_ACCOUNTS", default_value_t = DEFAULT_WHM_BATCH_ACCOUNTS, value_parser = parse_batch_accounts)]
    pub whm_batch_accounts: usize,
}

impl Default for ProvisioningArgs {
    fn default() -> Self {
        Self {
            per_server_concurrency: DEFAULT_PER_SERVER_CONCURRENCY,
            whm_timeout_ms: DEFAULT_WHM_TIMEOUT_MS,
            whm_retry_attempts: DEFAULT_WHM_RETRY_ATTEMPTS,
            whm_retry_base_delay_ms: DEFAULT_WHM_RETRY_BASE_DELAY_MS,
            whm_batch_accounts: DEFAULT_WHM_BATCH_ACCOUNTS,
        }
    }
}

#[cfg(test)]
mod proxy_tests {
    use super::parse_proxy;

    #[test]
    fn a_proxy_is_an_address_or_a_network() {
        assert_eq!(parse_proxy("10.0.0.5").unwrap().to_string(), "10.0.0.5/32");
        assert_eq!(
            parse_proxy(" 10.0.0.0/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(parse_proxy("::1").unwrap().to_string(), "::1/128");
        assert!(parse_proxy("proxy.example").is_err());
    }
}
