//! A PostgreSQL `SessionStore` for tower-sessions 0.15, so web instances stay stateless.
//!
//! This exists only because `tower-sessions-sqlx-store` is still on sqlx 0.8 and a second
//! sqlx may not enter the graph. It goes when that crate ships a release on sqlx 0.9.
//! Schema and behaviour follow that crate's `PostgresStore` (table `tower_sessions.session`),
//! with the record's data kept as JSON.

use std::cell::RefCell;

use async_trait::async_trait;
use sqlx::PgPool;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

use super::admins::SignedIn;

tokio::task_local! {
    /// Per request (scoped by the web layer): the session id that `load` read, with the
    /// enabled admin its `admin_id` named (`None`: no such enabled admin).
    pub static SESSION_ADMIN: RefCell<Option<(Id, Option<SignedIn>)>>;
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
    /// with their role's permissions, handed to `web::auth` through [`SESSION_ADMIN`]: one
    /// round trip for both on every signed-in request, and never a cached admin.
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        type Row = (
            serde_json::Value,
            f64,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<bool>,
            Option<Vec<String>>,
        );
        let row: Option<Row> = sqlx::query_as(
            "select s.data, extract(epoch from s.expiry_date)::float8,
                    a.id, a.username, r.name, r.built_in,
                    case when r.id is not null then
                        array(select rp.permission from role_permissions rp where rp.role_id = r.id)
                    end
             from tower_sessions.session s
             left join admins a
                    on a.id = case when s.data->>'admin_id' ~ '^[0-9]{1,18}$'
                                   then (s.data->>'admin_id')::bigint end
                   and not a.disabled
             left join roles r on r.id = a.role_id
             where s.id = $1 and s.expiry_date > now()",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some((data, expiry, admin_id, username, role, built_in, permissions)) = row else {
            return Ok(None);
        };
        let admin = match (admin_id, username, role, built_in, permissions) {
            (Some(id), Some(username), Some(role), Some(built_in), Some(permissions)) => Some(
                SignedIn::from_row((id, username, role, built_in, permissions)),
            ),
            _ => None,
        };
        // Outside a request's scope (no web layer) there is nobody to hand the admin to.
        let _ = SESSION_ADMIN.try_with(|slot| *slot.borrow_mut() = Some((*id, admin)));
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
