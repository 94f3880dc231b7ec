//! What cPanel does when the customer clicks a link, `POST /cpanel/USER/open/APP`
//! (whm-api.md §6): POST, form-encoded, to the link's `autologin_token_url` the stored
//! user-config fields of [`AUTOLOGIN_FIELDS`] that the link has, plus `token` (when it has
//! one) and `attempt` (1, 2, 3), and neither `user` nor `app`; honour `retry` (waits capped
//! at 60 s, 3 attempts in all); then send the browser (303) to `redirect_url`, or to the
//! link's `url` when autologin does not work out. The waits go through the configured
//! [`Sleeper`](super::Sleeper).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Sim;
use super::state::StoredLink;

/// cPanel gives up after this many calls to `autologin_token_url`.
pub const MAX_AUTOLOGIN_ATTEMPTS: u32 = 3;
/// cPanel waits at most this long between two calls, whatever `retry` says.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
/// The user-config fields cPanel posts, whichever of them the link has (whm-api.md §6).
/// Not `autologin_token_url` (the target itself), not `user`, not `app`.
pub const AUTOLOGIN_FIELDS: [&str; 8] = [
    "url",
    "label",
    "implements",
    "order",
    "hide",
    "group_id",
    "subscriber_unique_id",
    "base64_png_image",
];

/// `POST /cpanel/{user}/open/{app}`.
pub(super) async fn open(
    State(sim): State<Arc<Sim>>,
    Path((user, app)): Path<(String, String)>,
) -> Response {
    let link = sim
        .world
        .lock()
        .links
        .get(&user)
        .and_then(|links| links.get(&app))
        .cloned();
    let Some(link) = link else {
        return (StatusCode::NOT_FOUND, "no such link").into_response();
    };
    let non_empty = |name: &str| {
        link.get(name)
            .filter(|value| !value.is_empty())
            .map(str::to_string)
    };
    if let Some(target) = non_empty("autologin_token_url")
        && let Some(redirect_url) = autologin(&sim, &link, &target).await
    {
        return Redirect::to(&redirect_url).into_response();
    }
    match non_empty("url") {
        Some(url) => Redirect::to(&url).into_response(),
        None => (
            StatusCode::BAD_GATEWAY,
            "autologin did not answer and the link has no url",
        )
            .into_response(),
    }
}

/// What `autologin_token_url` may answer.
#[derive(Debug, Deserialize)]
struct AutologinAnswer {
    redirect_url: Option<String>,
    retry: Option<serde_json::Value>,
    attempt: Option<serde_json::Value>,
}

/// The form of one attempt: the link's fields of [`AUTOLOGIN_FIELDS`], `token`, `attempt`.
fn form(link: &StoredLink, attempt: u32) -> Vec<(&str, String)> {
    let mut form: Vec<(&str, String)> = AUTOLOGIN_FIELDS
        .iter()
        .filter_map(|name| link.get(name).map(|value| (*name, value.to_string())))
        .collect();
    if let Some(token) = &link.token {
        form.push(("token", token.clone()));
    }
    form.push(("attempt", attempt.to_string()));
    form
}

/// Calls `autologin_token_url` as cPanel does; `None` means "fall back to `url`".
async fn autologin(sim: &Sim, link: &StoredLink, target: &str) -> Option<String> {
    let mut attempt: u32 = 1;
    loop {
        let answer = match sim
            .http
            .post(target)
            .form(&form(link, attempt))
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => {
                response.json::<AutologinAnswer>().await.ok()
            }
            Ok(response) => {
                tracing::debug!(
                    status = response.status().as_u16(),
                    "whm-sim: autologin erred"
                );
                None
            }
            Err(err) => {
                tracing::debug!(error = %err.without_url(), "whm-sim: autologin did not answer");
                None
            }
        }?;
        if let Some(redirect_url) = answer.redirect_url.filter(|url| !url.is_empty()) {
            return Some(redirect_url);
        }
        let wait = answer.retry.as_ref().and_then(seconds)?;
        // The server may count attempts itself; whichever count is further along wins.
        let done = attempt.max(
            answer
                .attempt
                .as_ref()
                .and_then(seconds)
                .map_or(0, |n| n as u32),
        );
        if done >= MAX_AUTOLOGIN_ATTEMPTS {
            return None;
        }
        sim.sleeper
            .sleep(Duration::from_secs_f64(
                wait.min(MAX_RETRY_WAIT.as_secs_f64()),
            ))
            .await;
        attempt = done + 1;
    }
}

/// A non-negative number, written as a JSON number or a string.
fn seconds(value: &serde_json::Value) -> Option<f64> {
    let number = match value {
        serde_json::Value::Number(number) => number.as_f64(),
        serde_json::Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }?;
    (number.is_finite() && number >= 0.0).then_some(number)
}
