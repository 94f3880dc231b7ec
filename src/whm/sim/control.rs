//! Test and demo support, without auth: read the state, change the faults, add and remove
//! accounts at run time (e.g. "the account is no longer on the server").

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::Sim;
use super::state::FaultsUpdate;
use crate::whm::types::Account;

pub(super) fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route("/__sim/state", get(state))
        .route("/__sim/faults", post(set_faults))
        .route("/__sim/accounts", post(add_account))
        .route("/__sim/accounts/{user}", delete(remove_account))
}

/// `GET /__sim/state`: calls per function, each account's links as received, groups, faults.
async fn state(State(sim): State<Arc<Sim>>) -> Json<serde_json::Value> {
    Json(sim.world.lock().to_json())
}

/// `POST /__sim/faults`: any of `latency_ms`, `fail_rate`, `timeout_rate`, `fail_users`,
/// `owner` (`root` or `reseller`); answers the settings now in force.
async fn set_faults(State(sim): State<Arc<Sim>>, Json(update): Json<FaultsUpdate>) -> Response {
    let mut world = sim.world.lock();
    match world.faults.apply(update) {
        Ok(()) => Json(world.faults.clone()).into_response(),
        Err(reason) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": reason })),
        )
            .into_response(),
    }
}

/// The body of `POST /__sim/accounts`; domain and e-mail default from the user name.
#[derive(Debug, Deserialize)]
struct NewAccount {
    user: String,
    domain: Option<String>,
    email: Option<String>,
    #[serde(default)]
    suspended: bool,
}

/// `POST /__sim/accounts`: adds (or replaces) an account; 201 with the account.
async fn add_account(State(sim): State<Arc<Sim>>, Json(new): Json<NewAccount>) -> Response {
    if new.user.is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "user may not be empty" })),
        )
            .into_response();
    }
    let account = Account {
        domain: new
            .domain
            .unwrap_or_else(|| format!("{}.example.test", new.user)),
        email: new
            .email
            .unwrap_or_else(|| format!("{}@example.test", new.user)),
        user: new.user,
        suspended: new.suspended,
    };
    sim.world.lock().add_account(account.clone());
    (StatusCode::CREATED, Json(account)).into_response()
}

/// `DELETE /__sim/accounts/{user}`: removes the account and its links; 204, or 404.
async fn remove_account(State(sim): State<Arc<Sim>>, Path(user): Path<String>) -> StatusCode {
    if sim.world.lock().remove_account(&user) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}
