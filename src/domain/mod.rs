//! The feature's rules and newtypes: permissions, applications, usernames, ids. No axum, sqlx or
//! reqwest here, so every rule can be tested without I/O.

pub mod account;
pub mod app;
pub mod configuration;
pub mod email;
pub mod ids;
pub mod links;
pub mod operation;
pub mod permission;
pub mod server;
pub mod text;
