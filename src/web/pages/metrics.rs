//! `/metrics`: Prometheus text exposition, for operators.
//!
//! The figures come from the database at scrape time (queue depth, live workers, each
//! application's switch and last operation), so every web instance reports the same numbers
//! whichever process did the work. After them come this process's own counters
//! (`crate::metrics`: WHM commands and latency, jobs, database reconnects), which differ per
//! process. The text format is the `prometheus` crate's encoder.
//!
//! Access: the bearer of `APPLINKS_METRICS_TOKEN`, or without one only direct requests from
//! this machine (the figures name servers and show the load: not for the world).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus::{Encoder as _, IntGaugeVec, Opts, Registry, TextEncoder};
use secrecy::ExposeSecret as _;
use sqlx::PgPool;
use subtle::ConstantTimeEq;

use crate::db;
use crate::domain::app::App;
use crate::jobs::{HEARTBEAT, MISSED_HEARTBEATS, PROVISION_QUEUE};
use crate::web::client_addr::ClientAddr;
use crate::web::{AppResult, AppState, WebSettings};

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

fn gauge(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> anyhow::Result<IntGaugeVec> {
    let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(g.clone()))?;
    Ok(g)
}

/// Who may read `/metrics`: the bearer of `APPLINKS_METRICS_TOKEN` when one is set; without
/// one, only requests made directly on this machine. `None` when allowed, else the answer.
fn refusal(settings: &WebSettings, client: ClientAddr, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = &settings.metrics_token else {
        if client.is_direct_loopback() {
            return None;
        }
        return Some(
            (
                StatusCode::FORBIDDEN,
                "/metrics answers only this machine: set APPLINKS_METRICS_TOKEN to scrape it from elsewhere\n",
            )
                .into_response(),
        );
    };
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(sent.as_bytes().ct_eq(token.expose_secret().as_bytes())) {
        return None;
    }
    Some(
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is required\n",
        )
            .into_response(),
    )
}

async fn metrics(
    State(pool): State<PgPool>,
    State(settings): State<Arc<WebSettings>>,
    client: ClientAddr,
    headers: HeaderMap,
) -> AppResult<Response> {
    if let Some(refused) = refusal(&settings, client, &headers) {
        return Ok(refused);
    }
    let registry = Registry::new();
    let jobs = gauge(
        &registry,
        "applinks_jobs",
        "Provisioning jobs by apalis status.",
        &["status"],
    )?;
    let workers = gauge(
        &registry,
        "applinks_workers_alive",
        "Worker processes whose heartbeat is recent.",
        &[],
    )?;
    let enabled = gauge(
        &registry,
        "applinks_app_enabled",
        "1 when the application is switched on.",
        &["app"],
    )?;
    let running = gauge(
        &registry,
        "applinks_operation_running",
        "1 while the application's last operation runs.",
        &["app"],
    )?;
    let servers = gauge(
        &registry,
        "applinks_operation_servers",
        "Servers of the application's last operation, by outcome.",
        &["app", "outcome"],
    )?;
    let accounts = gauge(
        &registry,
        "applinks_operation_accounts",
        "Accounts of the application's last operation: total and done.",
        &["app", "progress"],
    )?;
    let warnings = gauge(
        &registry,
        "applinks_operation_warnings",
        "Warnings logged by the application's last operation.",
        &["app"],
    )?;

    let by_status: Vec<(String, i64)> = sqlx::query_as(
        "select status, count(*) from apalis.jobs where job_type = $1 group by status",
    )
    .bind(PROVISION_QUEUE)
    .fetch_all(&pool)
    .await?;
    for status in ["Pending", "Queued", "Running", "Done", "Failed", "Killed"] {
        let n = by_status
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        jobs.with_label_values(&[status]).set(n);
    }
    let dead_after = (HEARTBEAT * MISSED_HEARTBEATS as u32).as_secs_f64();
    let alive: i64 = sqlx::query_scalar(
        "select count(*) from apalis.workers
         where worker_type = $1 and last_seen > now() - make_interval(secs => $2)",
    )
    .bind(PROVISION_QUEUE)
    .bind(dead_after)
    .fetch_one(&pool)
    .await?;
    workers.with_label_values(&[] as &[&str]).set(alive);

    for app in App::ALL {
        let key = app.key();
        enabled
            .with_label_values(&[key])
            .set(i64::from(db::applications::is_enabled(&pool, app).await?));
        let op = db::operations::last(&pool, app).await?;
        let op = op.as_ref();
        running
            .with_label_values(&[key])
            .set(i64::from(op.is_some_and(|o| o.finished_at.is_none())));
        for (outcome, n) in [
            ("total", op.map_or(0, |o| o.servers_total)),
            ("done", op.map_or(0, |o| o.servers_done)),
            ("failed", op.map_or(0, |o| o.servers_failed)),
            ("skipped", op.map_or(0, |o| o.servers_skipped)),
        ] {
            servers.with_label_values(&[key, outcome]).set(n);
        }
        accounts
            .with_label_values(&[key, "total"])
            .set(op.map_or(0, |o| o.accounts_total));
        accounts
            .with_label_values(&[key, "done"])
            .set(op.map_or(0, |o| o.accounts_done));
        warnings
            .with_label_values(&[key])
            .set(op.map_or(0, |o| o.warnings));
    }

    let encoder = TextEncoder::new();
    let mut body = String::new();
    encoder
        .encode_utf8(&registry.gather(), &mut body)
        .map_err(anyhow::Error::from)?;
    // This process's own counters (WHM commands, jobs, reconnects) after the shared gauges.
    crate::metrics::encode_into(&mut body).map_err(anyhow::Error::from)?;
    Ok((
        [(header::CONTENT_TYPE, encoder.format_type().to_string())],
        body,
    )
        .into_response())
}
