//! A PostgreSQL `SessionStore` for tower-sessions 0.15, so web instances stay stateless.
//!
//! This exists only because `tower-sessions-sqlx-store` is still on sqlx 0.8 and a second
//! sqlx may not enter the graph. It goes when that crate ships a release on sqlx 0.9.
//! Schema and behaviour follow that crate's `PostgresStore` (table `tower_sessions.session`),
//! with the record's data kept as JSON.

use std::cell::RefCell;
use std::sync::LazyLock;

use async_trait::async_trait;
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

use super::admins::SignedIn;
use super::operations::{AppOverview, OverviewRow};
use crate::domain::app::App;

/// What the session's own statement reads beside the session, for the request that loads it.
#[derive(Default)]
pub struct Alongside {
    /// Asked before the session loads (by the status poll's route): the application whose
    /// status to read in the same statement.
    pub status_of: Option<App>,
    /// The session id `load` read, with the enabled admin its `admin_id` names (`None`: no
    /// such enabled admin).
    pub admin: Option<(Id, Option<SignedIn>)>,
    /// The status asked for, read with that session.
    pub status: Option<(Id, AppOverview)>,
}

tokio::task_local! {
    /// Per request (scoped by the web layer, `web::auth::scope_session_admin`).
    pub static ALONGSIDE: RefCell<Alongside>;
}

#[derive(Debug, Clone)]
pub struct PgSessionStore {
    pool: PgPool,
}

fn backend(err: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

fn encode(err: serde_json::Error) -> session_store::Error {
    session_store::Error::Encode(err.to_string())
}

impl PgSessionStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Creates the schema and table; safe to repeat.
    pub async fn migrate(&self) -> sqlx::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("create schema if not exists tower_sessions")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "create table if not exists tower_sessions.session (
                id text primary key not null,
                data jsonb not null,
                expiry_date timestamptz not null
            )",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "create index if not exists session_expiry_date_idx on tower_sessions.session (expiry_date)",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }
}

fn unix(t: OffsetDateTime) -> f64 {
    t.unix_timestamp() as f64 + f64::from(t.nanosecond()) / 1e9
}

/// The session and its enabled admin with their role's permissions: columns, then tables.
const SESSION_COLUMNS: &str = "select sess.data as session_data,
        extract(epoch from sess.expiry_date)::float8 as session_expiry,
        adm.id as admin_id, adm.username as admin_username, rl.name as admin_role,
        rl.built_in as admin_role_built_in,
        case when rl.id is not null then
            array(select rp.permission from role_permissions rp where rp.role_id = rl.id)
        end as admin_permissions";
const SESSION_TABLES: &str = "from tower_sessions.session sess
    left join admins adm
           on adm.id = case when sess.data->>'admin_id' ~ '^[0-9]{1,18}$'
                            then (sess.data->>'admin_id')::bigint end
          and not adm.disabled
    left join roles rl on rl.id = adm.role_id";

/// Only a session that has not expired.
const LIVE: &str = "where sess.id = $1 and sess.expiry_date > now()";

/// A live session (`$1`) with its admin.
static SESSION: LazyLock<String> =
    LazyLock::new(|| format!("{SESSION_COLUMNS} {SESSION_TABLES} {LIVE}"));

/// [`SESSION`] with the overview of the application `$2` (`db::operations::overview_sql`).
static SESSION_WITH_STATUS: LazyLock<String> = LazyLock::new(|| {
    let overview = super::operations::overview_sql("a.app = $2");
    format!(
        "{SESSION_COLUMNS}, ov.* {SESSION_TABLES} left join lateral ({overview}) ov on true {LIVE}"
    )
});

/// The session's data, expiry and enabled admin out of a row of [`SESSION`].
fn session_columns(
    row: &sqlx::postgres::PgRow,
) -> sqlx::Result<(serde_json::Value, f64, Option<SignedIn>)> {
    use sqlx::Row as _;
    let admin = match (
        row.try_get::<Option<i64>, _>("admin_id")?,
        row.try_get::<Option<String>, _>("admin_username")?,
        row.try_get::<Option<String>, _>("admin_role")?,
        row.try_get::<Option<bool>, _>("admin_role_built_in")?,
        row.try_get::<Option<Vec<String>>, _>("admin_permissions")?,
    ) {
        (Some(id), Some(username), Some(role), Some(built_in), Some(permissions)) => Some(
            SignedIn::from_row((id, username, role, built_in, permissions)),
        ),
        _ => None,
    };
    Ok((
        row.try_get("session_data")?,
        row.try_get("session_expiry")?,
        admin,
    ))
}

#[async_trait]
impl SessionStore for PgSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = serde_json::to_value(&record.data).map_err(encode)?;
        // A fresh id is 128 random bits; a collision is astronomically unlikely, but never
        // overwrite someone else's session because of one.
        loop {
            let inserted = sqlx::query(
                "insert into tower_sessions.session (id, data, expiry_date)
                 values ($1, $2, to_timestamp($3)) on conflict (id) do nothing",
            )
            .bind(record.id.to_string())
            .bind(&data)
            .bind(unix(record.expiry_date))
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected();
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    /// Updates a session that exists; never inserts. tower-sessions calls `save` only for a
    /// session it loaded from the store (new ones go through `create`), so a missing row means
    /// the session was deleted meanwhile (signed out, password changed): a request that loaded
    /// it before must not bring it back by writing it afterwards.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_value(&record.data).map_err(encode)?;
        sqlx::query(
            "update tower_sessions.session set data = $2, expiry_date = to_timestamp($3)
             where id = $1",
        )
        .bind(record.id.to_string())
        .bind(&data)
        .bind(unix(record.expiry_date))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    /// Loads the session and, in the same statement, the enabled admin its `admin_id` names
    /// with their role's permissions, handed to `web::auth` through [`ALONGSIDE`]: one round
    /// trip for both on every signed-in request, and never a cached admin. When the request
    /// asked for an application's status first ([`Alongside::status_of`]: the status poll),
    /// that status comes in the same statement too, so the poll costs one round trip.
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let status_of = ALONGSIDE
            .try_with(|slot| slot.borrow().status_of)
            .ok()
            .flatten();
        let sql = match status_of {
            None => SESSION.as_str(),
            Some(_) => SESSION_WITH_STATUS.as_str(),
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.to_string());
        if let Some(app) = status_of {
            query = query.bind(app.key());
        }
        let row = query.fetch_optional(&self.pool).await.map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (data, expiry, admin) = session_columns(&row).map_err(backend)?;
        let status = match status_of {
            Some(_) => {
                use sqlx::FromRow as _;
                OverviewRow::from_row(&row)
                    .map_err(backend)?
                    .into_overview()
            }
            None => None,
        };
        // Outside a request's scope (no web layer) there is nobody to hand them to.
        let _ = ALONGSIDE.try_with(|slot| {
            let mut slot = slot.borrow_mut();
            slot.admin = Some((*id, admin));
            slot.status = status.map(|s| (*id, s));
        });
        let expiry_date = OffsetDateTime::from_unix_timestamp_nanos((expiry * 1e9) as i128)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let data = serde_json::from_value(data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("delete from tower_sessions.session where id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for PgSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        sqlx::query("delete from tower_sessions.session where expiry_date < now()")
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
