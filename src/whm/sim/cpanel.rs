//! The stand-in for a customer's cPanel home (`GET /cpanel/USER`) and what cPanel does when a
//! link is clicked (`POST /cpanel/USER/open/APP`, whm-api.md §4): POST the link's fields to
//! its `autologin_token_url`, honour `retry`/`attempt` (waits capped at 60 s, 3 attempts),
//! and send the browser (303) to `redirect_url`, or to the link's `url` when autologin does
//! not work out. The waits go through the configured [`Sleeper`](super::Sleeper).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Sim;
use super::api::order_key;
use super::state::StoredLink;

/// cPanel gives up after this many calls to `autologin_token_url`.
pub const MAX_AUTOLOGIN_ATTEMPTS: u32 = 3;
/// cPanel waits at most this long between two calls, whatever `retry` says.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

#[derive(Template)]
#[template(path = "whm_sim/cpanel.html")]
struct CpanelPage {
    user: String,
    domain: String,
    services: Vec<Service>,
}

/// The links of one `implements` value, in cPanel's order.
struct Service {
    implements: String,
    links: Vec<PageLink>,
}

struct PageLink {
    app: String,
    label: String,
}

/// `GET /cpanel/{user}`.
pub(super) async fn home(State(sim): State<Arc<Sim>>, Path(user): Path<String>) -> Response {
    let page = {
        let world = sim.world.lock();
        let Some(account) = world.accounts.get(&user) else {
            return (StatusCode::NOT_FOUND, "no such cPanel account").into_response();
        };
        let mut services: BTreeMap<String, Vec<(&String, &StoredLink)>> = BTreeMap::new();
        for (app, link) in world.links.get(&user).into_iter().flatten() {
            if link.get("hide").map(String::as_str) == Some("1") {
                continue;
            }
            let implements = link.get("implements").cloned().unwrap_or_default();
            services.entry(implements).or_default().push((app, link));
        }
        CpanelPage {
            user: account.user.clone(),
            domain: account.domain.clone(),
            services: services
                .into_iter()
                .map(|(implements, mut links)| {
                    links.sort_by(|a, b| order_key(a.0, a.1).cmp(&order_key(b.0, b.1)));
                    Service {
                        implements,
                        links: links
                            .into_iter()
                            .map(|(app, link)| PageLink {
                                app: app.clone(),
                                label: link.get("label").cloned().unwrap_or_else(|| app.clone()),
                            })
                            .collect(),
                    }
                })
                .collect(),
        }
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "whm-sim: rendering the cPanel page failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

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
    let non_empty = |name: &str| link.get(name).filter(|value| !value.is_empty()).cloned();
    if let Some(target) = non_empty("autologin_token_url")
        && let Some(redirect_url) = autologin(&sim, &user, &app, &link, &target).await
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

/// Calls `autologin_token_url` as cPanel does; `None` means "fall back to `url`".
async fn autologin(
    sim: &Sim,
    user: &str,
    app: &str,
    link: &StoredLink,
    target: &str,
) -> Option<String> {
    let field = |name: &str| link.get(name).map_or("", String::as_str);
    let form = [
        ("app", app),
        ("token", field("token")),
        ("user", user),
        ("subscriber_unique_id", field("subscriber_unique_id")),
    ];
    let mut attempt: u32 = 1;
    loop {
        let answer = match sim.http.post(target).form(&form).send().await {
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
