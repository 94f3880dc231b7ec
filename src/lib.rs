//! applinks: Application Links for cPanel & WHM and WP Squared.
//!
//! Imports point down only: `startup → {web, jobs} → {db, whm} → domain`.

/// `applinks bench …`: benchmarks that print figures.
pub mod bench;
/// `applinks bench pages` and `bench sso`: in-process HTTP load on the pages and the SSO round trip.
pub mod bench_web;
/// Settings from the command line and the environment.
pub mod config;
/// Encryption at rest (AES-256-GCM) for server credentials and link secrets.
pub mod crypto;
/// sqlx queries, one file per aggregate.
pub mod db;
/// `applinks demo`: simulated servers, seeded data, an admin, the server.
pub mod demo;
/// The feature's rules and newtypes; no I/O here.
pub mod domain;
/// Servers, clients and accounts: validation, credentials, import; shared by pages and CLI.
pub mod hosting;
/// Background provisioning: operations, jobs, workers.
pub mod jobs;
/// Metrics of this process (WHM commands, jobs, reconnects) for `/metrics`; a leaf.
pub mod metrics;
/// Wiring: settings to application state, server and workers.
pub mod startup;
/// The admin panel: router, sessions, CSRF, permissions, pages.
pub mod web;
/// The WHM API client and the simulator that stands in for cPanel.
pub mod whm;
