//! The one integration-test binary: the real application on a loopback port, a fresh
//! PostgreSQL database per test, the WHM simulator on loopback, driven over HTTP.

mod batch;
mod chaos;
mod clients;
mod foundation;
mod helpers;
mod hostile_forms;
mod import_pending;
mod private_pg;
mod provisioning;
mod security;
mod servers;
mod sso;
mod whm_client;
mod whm_sim;
mod workers;
