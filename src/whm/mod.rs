//! The WHM side of applinks: a WHM API 1 client (`client`, reqwest with rustls; how it
//! reaches a server in `conn`, its failures in `error`), its wire types (`types`), and the
//! simulator that stands in for WHM in the demo, the tests and the benchmarks (`sim`, an axum
//! app; whm-api.md §7).
//!
//! `whm` never imports `db` or `web`; the client is free of axum.

pub mod client;
pub mod conn;
pub mod error;
pub mod sim;
pub mod types;

pub use client::{
    Cause, ClientSettings, ErrorKind, ServerClient, ServerConn, WhmAuth, WhmClient, WhmError,
};
pub use types::{Account, CreateLink, UserConfig};
