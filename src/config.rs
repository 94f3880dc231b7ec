//! Settings from flags or the environment (SPEC §2). Every setting has a `--flag` and an
//! environment variable; secrets are `SecretString` so they never reach a log line.

use std::net::{IpAddr, SocketAddr};

use clap::{Args, Parser, Subcommand};
use ipnet::IpNet;
use secrecy::SecretString;

/// Default database: a local PostgreSQL with trust authentication.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/applinks";

/// applinks: Application Links for cPanel & WHM and WP Squared.
#[derive(Debug, Parser)]
#[command(name = "applinks", about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(subcommand)]
    pub command: Command,
}

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

/// How workers talk to WHM servers.
#[derive(Debug, Clone, Args)]
pub struct ProvisioningArgs {
    /// Calls in flight to one server at a time (different servers run in parallel).
    #[arg(long, env = "APPLINKS_PER_SERVER_CONCURRENCY", default_value_t = 8)]
    pub per_server_concurrency: usize,
    /// Timeout of one WHM API call, in milliseconds.
    #[arg(long, env = "APPLINKS_WHM_TIMEOUT_MS", default_value_t = 10_000)]
    pub whm_timeout_ms: u64,
    /// Attempts per WHM call for transient errors (5xx, timeouts, connection errors).
    #[arg(long, env = "APPLINKS_WHM_RETRY_ATTEMPTS", default_value_t = 3)]
    pub whm_retry_attempts: u32,
    /// First pause between attempts, in milliseconds; doubles each time, with jitter.
    #[arg(long, env = "APPLINKS_WHM_RETRY_BASE_DELAY_MS", default_value_t = 200)]
    pub whm_retry_base_delay_ms: u64,
}

impl Default for ProvisioningArgs {
    fn default() -> Self {
        Self {
            per_server_concurrency: 8,
            whm_timeout_ms: 10_000,
            whm_retry_attempts: 3,
            whm_retry_base_delay_ms: 200,
        }
    }
}

impl ProvisioningArgs {
    pub fn client_settings(&self) -> crate::whm::client::ClientSettings {
        crate::whm::client::ClientSettings {
            timeout_ms: self.whm_timeout_ms,
            retry_max_attempts: self.whm_retry_attempts.max(1),
            retry_base_delay_ms: self.whm_retry_base_delay_ms,
            ..Default::default()
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply all migrations (ours, the job queue's, the session store's); safe to repeat.
    Migrate,
    /// Run the web server (admin, single sign-on, client area).
    Serve {
        #[command(flatten)]
        web: WebArgs,
        #[command(flatten)]
        secret: SecretArgs,
        /// Jobs (servers) the in-process workers run at once; 0 runs no worker here
        /// (then run `applinks worker` elsewhere).
        #[arg(long, env = "APPLINKS_WORKERS", default_value_t = 4)]
        workers: usize,
        #[command(flatten)]
        provisioning: ProvisioningArgs,
    },
    /// Run a worker process only; start as many as you like, on any machine.
    Worker {
        #[command(flatten)]
        secret: SecretArgs,
        /// Base URL of the web instances (for the links' `autologin_token_url` and `url`).
        #[arg(
            long,
            env = "APPLINKS_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
        /// Jobs (servers) this process works on at once.
        #[arg(long, env = "APPLINKS_WORKER_CONCURRENCY", default_value_t = 4)]
        concurrency: usize,
        #[command(flatten)]
        provisioning: ProvisioningArgs,
        /// Serve `/healthz`, `/readyz` and `/metrics` of this worker on this address (off by
        /// default).
        #[arg(long, env = "APPLINKS_WORKER_LISTEN")]
        listen: Option<SocketAddr>,
        /// Bearer token for the listener's `/metrics` (as for the web's).
        #[arg(long, env = "APPLINKS_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<SecretString>,
    },
    /// Manage administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Manage roles.
    Role {
        #[command(subcommand)]
        command: RoleCommand,
    },
    /// The WHM API simulator (a stand-in for cPanel & WHM / WP Squared servers).
    WhmSim(crate::whm::sim::SimArgs),
    /// Manage WHM servers.
    Server {
        #[command(subcommand)]
        command: ServerCommand,
    },
    /// Benchmarks; each prints one figure a line and cleans up after itself.
    Bench {
        #[command(subcommand)]
        command: crate::bench::BenchCommand,
    },
    /// Migrate, seed demo data and serve: one command to see everything.
    Demo {
        #[command(flatten)]
        web: WebArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an administrator; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        /// Role name (default: Full Administrator).
        #[arg(long, default_value = crate::domain::permission::FULL_ADMINISTRATOR)]
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
        id: i64,
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

impl WebArgs {
    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
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
