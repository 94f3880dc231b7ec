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
    PgPoolOptions::new()
        .max_connections(20)
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
        .connect_with(options)
        .await
        .with_context(|| format!("cannot connect to {}", redact(url)))
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
