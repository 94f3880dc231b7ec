//! applinks: Application Links for cPanel & WHM and WP Squared.
//!
//! Imports point down only, and two files never import each other:
//!
//! ```text
//! main → cli → startup → web → hosting → jobs → {db, whm} → domain
//! ```
//!
//! `config` (settings), `crypto` (secrets at rest, password hashing) and `metrics` are leaves
//! that anyone may use. `web` enqueues jobs but never runs a handler; `jobs` never imports
//! `web` or `hosting`; `db` and `whm` never import each other; the simulator (`whm::sim`)
//! shares only wire types with the client.

/// The command line: clap types and the dispatch of every subcommand (demo, bench included).
pub mod cli;
/// Settings from the command line and the environment; a leaf.
pub mod config;
/// Encryption at rest (AES-256-GCM) for server credentials and link secrets; password hashing.
pub mod crypto;
/// sqlx queries, one file per aggregate.
pub mod db;
/// The feature's rules and newtypes; no I/O here.
pub mod domain;
/// Servers, clients, accounts and admins as use cases shared by pages and CLI.
pub mod hosting;
/// Background provisioning: operations, jobs, workers.
pub mod jobs;
/// A private PostgreSQL for the demo and the tests when none is usable; a leaf.
pub mod private_pg;
/// Builds the application: settings to pool, state, router and workers.
pub mod startup;
/// The admin panel: router, sessions, CSRF, permissions, pages.
pub mod web;
/// The WHM API client and the simulator that stands in for cPanel.
pub mod whm;
