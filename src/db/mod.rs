//! sqlx queries, one file per aggregate. Functions take `impl PgExecutor` so callers choose
//! between the pool and a transaction. Queries are checked at run time (no database is needed
//! to build), and every one is exercised by the integration tests.

pub mod accounts;
pub mod admins;
pub mod applications;
pub mod clients;
pub mod links;
pub mod migrate;
pub mod operations;
pub mod outcomes;
pub mod provisioning;
pub mod roles;
pub mod servers;
pub mod session_store;
pub mod sso;
pub mod types;

pub use sqlx::PgPool;
