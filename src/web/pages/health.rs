//! `/healthz` (the process is up) and `/readyz` (the database answers, and the in-process
//! workers run when this process has any).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use sqlx::PgPool;

use crate::jobs::WorkerStatus;
use crate::web::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(
    State(pool): State<PgPool>,
    State(workers): State<WorkerStatus>,
) -> (StatusCode, &'static str) {
    match sqlx::query("select 1").execute(&pool).await {
        Ok(_) if !workers.is_ready() => (StatusCode::SERVICE_UNAVAILABLE, "workers not running"),
        Ok(_) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}
