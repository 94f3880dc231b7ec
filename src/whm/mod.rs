//! The WHM side of applinks: a WHM API 1 client (`client`, reqwest with rustls; its calls as
//! data in `command`, many of them in one request in `batch`; how it reaches a server in
//! `conn`, its failures in `error`), its wire types (`types`), and the
//! simulator that stands in for WHM in the demo, the tests and the benchmarks (`sim`, an axum
//! app; whm-api.md §7).
//!
//! `whm` never imports `db` or `web`; the client is free of axum.

mod batch;
mod calls;
pub mod client;
pub mod command;
pub mod conn;
pub mod error;
pub mod sim;
pub mod types;

pub use batch::{CommandResult, MAX_BATCH_BYTES};
pub use client::{
    Cause, ClientSettings, ErrorKind, ServerClient, ServerConn, WhmAuth, WhmClient, WhmError,
};
pub use command::{Command, LinkTemplate, Text};
pub use types::{Account, CreateLink, UserConfig};
