//! The one integration-test binary: the real application on a loopback port, a fresh
//! PostgreSQL database per test, driven over HTTP.

mod clients;
mod foundation;
mod helpers;
mod servers;
mod whm_client;
mod whm_sim;
