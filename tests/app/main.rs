//! The one integration-test binary: the real application on a loopback port, a fresh
//! PostgreSQL database per test, the WHM simulator on loopback, driven over HTTP.

mod admins;
mod batch;
mod browser;
mod cancellation;
mod chaos;
mod client_area;
mod clients;
mod foundation;
mod helpers;
mod hostile_forms;
mod import_pending;
mod private_pg;
mod process_metrics;
mod provisioning;
mod queue_wakeup;
mod reset_token;
mod round_trips;
mod security;
mod server_lock;
mod servers;
mod sso;
mod whm_client;
mod whm_sim;
mod workers;
