//! `applinks migrate`: our migrations, the job queue's (apalis-postgres) and the session table.
//!
//! Our migrations and apalis-postgres's share sqlx's `_sqlx_migrations` table (their versions
//! never collide), so each migrator is told to ignore the other's applied versions.

use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

/// A pooled connection idle this long is pinged before use.
const PING_IDLE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// PostgreSQL ends a session left idle inside a transaction this long.
const IDLE_IN_TRANSACTION_TIMEOUT: &str = "60s";

/// Connects to `url`, creating the database first when it does not exist.
pub async fn connect(url: &str) -> anyhow::Result<PgPool> {
    connect_for_jobs(url, 0).await
}

/// [`connect`] for a process that runs `job_slots` provisioning jobs at once: each job holds
/// a pooled connection for its whole length (its server's lock), so the pool grows by one per
/// slot and the pages and the jobs' other statements keep the usual 20.
pub async fn connect_for_jobs(url: &str, job_slots: usize) -> anyhow::Result<PgPool> {
    use anyhow::Context as _;
    if !Postgres::database_exists(url)
        .await
        .with_context(|| format!("cannot reach PostgreSQL at {}", redact(url)))?
    {
        Postgres::create_database(url)
            .await
            .with_context(|| format!("cannot create the database {}", redact(url)))?;
        tracing::info!(database = %redact(url), "created the database");
    }
    let options = connect_options(url)?;
    pool_options()
        .max_connections(SHARED_CONNECTIONS + job_slots as u32)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot connect to {}", redact(url)))
}

/// Connections a pool keeps for short statements (pages, the jobs' reads and log lines).
const SHARED_CONNECTIONS: u32 = 20;

/// How applinks pools its connections: 20 of them (callers that run more at once raise it).
pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(SHARED_CONNECTIONS)
        // sqlx pings every connection it hands out by default: one more round trip per
        // query. Ping only a connection that sat idle a while (a database restart since is
        // then caught before a request uses it); one in steady use is known to be alive.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IDLE_AFTER {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// How applinks connects to `url`: the URL's settings, a backstop for a transaction left
/// open, and no TLS on loopback unless asked for ([`loopback_without_tls`]).
pub fn connect_options(url: &str) -> anyhow::Result<PgConnectOptions> {
    use anyhow::Context as _;
    let options: PgConnectOptions = url
        .parse()
        .with_context(|| format!("cannot read the database URL {}", redact(url)))?;
    // A backstop for a transaction that its owner left open (see `db::begin`): applinks never
    // waits inside a transaction (no WHM call runs in one), so a session idle in one for a
    // minute is lost, and ending it frees its locks instead of stalling everyone behind them.
    let options = options.options([(
        "idle_in_transaction_session_timeout",
        IDLE_IN_TRANSACTION_TIMEOUT,
    )]);
    let options = loopback_without_tls(url, std::env::var_os("PGSSLMODE").is_some(), options);
    Ok(options)
}

/// A database on this machine's own loopback interface (or a Unix socket) is reached without
/// TLS unless the URL (`sslmode`) or `PGSSLMODE` asks for it: libpq's default, `prefer`,
/// encrypts whenever the server offers it (Debian's does), which on loopback protects nothing
/// (whoever can read loopback traffic can read the database's files) and costs about a fifth
/// of a signed-in page's throughput (BENCHMARKS.md). A remote database keeps what the URL says;
/// the README recommends `sslmode=verify-full` there.
fn loopback_without_tls(
    url: &str,
    env_sets_mode: bool,
    options: PgConnectOptions,
) -> PgConnectOptions {
    let url_sets_mode = url::Url::parse(url).is_ok_and(|u| {
        u.query_pairs()
            .any(|(k, _)| k.eq_ignore_ascii_case("sslmode") || k.eq_ignore_ascii_case("ssl-mode"))
    });
    if url_sets_mode || env_sets_mode {
        return options;
    }
    let host = options
        .get_host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = options.get_socket().is_some()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        options.ssl_mode(sqlx::postgres::PgSslMode::Disable)
    } else {
        options
    }
}

/// Applies every migration; safe to repeat.
pub async fn run(pool: &PgPool) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let mut ours = sqlx::migrate!("./migrations");
    ours.set_ignore_missing(true);
    ours.run(pool)
        .await
        .context("applying applinks' migrations")?;

    let mut queue = apalis_postgres::PostgresStorage::<()>::migrations();
    queue.set_ignore_missing(true);
    queue
        .run(pool)
        .await
        .context("applying the job queue's migrations")?;

    super::session_store::PgSessionStore::new(pool.clone())
        .migrate()
        .await
        .context("creating the session table")?;
    Ok(())
}

/// The URL with any password replaced, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use sqlx::postgres::{PgConnectOptions, PgSslMode};

    fn mode(url: &str, env: bool) -> PgSslMode {
        let options: PgConnectOptions = url.parse().unwrap();
        super::loopback_without_tls(url, env, options).get_ssl_mode()
    }

    #[test]
    fn loopback_goes_without_tls_unless_asked_and_remote_keeps_what_the_url_says() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/applinks",
            "postgres://postgres@localhost/applinks",
            "postgres://postgres@[::1]:5432/applinks",
            "postgres:///applinks?host=/var/run/postgresql",
        ] {
            assert!(matches!(mode(url, false), PgSslMode::Disable), "{url}");
        }
        assert!(matches!(
            mode(
                "postgres://postgres@127.0.0.1/applinks?sslmode=require",
                false
            ),
            PgSslMode::Require
        ));
        assert!(matches!(
            mode(
                "postgres://postgres@127.0.0.1/applinks?sslmode=prefer",
                false
            ),
            PgSslMode::Prefer
        ));
        assert!(!matches!(
            mode("postgres://postgres@127.0.0.1/applinks", true),
            PgSslMode::Disable
        ));
        assert!(matches!(
            mode("postgres://postgres@db.example.com/applinks", false),
            PgSslMode::Prefer
        ));
        assert!(matches!(
            mode(
                "postgres://postgres@db.example.com/applinks?sslmode=verify-full",
                false
            ),
            PgSslMode::VerifyFull
        ));
    }
}
