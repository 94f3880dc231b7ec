//! `/json-api/FUNCTION`: the simulated WHM API 1 (whm-api.md §1 and §3).
//!
//! GET and POST alike, the arguments in the query string, a form body, or both (merged; the
//! body's value wins when a name is in both, since POST is the usual form). Order of a
//! request: count it (a batch under `batch` and each of its commands under its function,
//! whm-api.md §7), add the latency, check the credentials (403 "Access denied"), roll the
//! faults (hang, HTTP 500), then do the server's work (`--command-ms` per call or batch
//! command) and answer the envelope. The functions themselves live in `functions`, the
//! batch in `batch`. A body that is not form-encoded is ignored (where whm-api.md is silent,
//! the simulator decides).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use subtle::ConstantTimeEq;

use super::Sim;
use super::batch;
use super::fields::{self, Command};
use super::functions::{Answer, answer_envelope, dispatch};

/// The largest request body the API reads: icons are a few KB, so this leaves ample room
/// while keeping a runaway client from filling the memory.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long a simulated timeout hangs: longer than any client waits.
const HANG: Duration = Duration::from_secs(3600);

/// The handler of every API function, GET or POST.
pub(super) async fn call(
    State(sim): State<Arc<Sim>>,
    Path(function): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // A body of another type (JSON, multipart) holds no arguments as far as this API goes.
    let form = match &body {
        Ok(body) if is_form(&headers) => body.clone(),
        _ => Bytes::new(),
    };
    let query = query.unwrap_or_default();
    let is_batch = function == "batch";
    let (args, command_values) = fields::read(&query, &form, is_batch);
    let commands: Vec<Command> = command_values.into_iter().map(Command::new).collect();
    let faults = {
        let mut world = sim.world.lock();
        world.requests += 1;
        world.count_call(&function);
        // `batch` counts requests only: a (refused) nested batch is not one.
        for command in commands
            .iter()
            .filter(|command| command.function() != "batch")
        {
            world.count_call(command.function());
        }
        world.faults.clone()
    };
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if !sim.authorized(&headers) {
        return envelope(
            StatusCode::FORBIDDEN,
            &function,
            Err("Access denied".into()),
        );
    }
    if let Err(rejection) = body {
        return envelope(rejection.status(), &function, Err(rejection.body_text()));
    }
    // The users a request names matter only to faults tied to accounts (tests).
    let (hang, error) = if !faults.has_user_faults() {
        (false, false)
    } else {
        let mut users: Vec<String> = commands
            .iter()
            .filter_map(Command::user)
            .chain(args.get("user").map(|user| user.to_string()))
            .collect();
        users.sort_unstable();
        users.dedup();
        let users: Vec<&str> = users.iter().map(String::as_str).collect();
        sim.world.lock().faults.take_user_faults(&users)
    };
    if hang || roll(faults.timeout_rate) {
        // Hang in this request's own task; the shutdown signal ends the wait so that a
        // stopping simulator does not wait an hour for it.
        let mut shutdown = sim.shutdown.clone();
        tokio::select! {
            () = tokio::time::sleep(HANG) => {}
            _ = shutdown.wait_for(|stopping| *stopping) => {}
        }
        return envelope(
            StatusCode::GATEWAY_TIMEOUT,
            &function,
            Err("Simulated timeout".into()),
        );
    }
    if error || roll(faults.fail_rate) {
        return envelope(
            StatusCode::INTERNAL_SERVER_ERROR,
            &function,
            Err("Internal Server Error (simulated)".into()),
        );
    }
    if super::validate::text(&args, "api.version") != Some("1") {
        let refused = Err("The “api.version” argument must be 1.".to_string());
        return envelope(StatusCode::OK, &function, refused);
    }
    let mut work = batch::Pace::new(faults.command_ms);
    if is_batch {
        return batch::run(&sim, &args, commands, &mut work).await;
    }
    work.next().await;
    let answer = {
        let mut world = sim.world.lock();
        dispatch(&mut world, &sim.version, &function, args)
    };
    envelope(StatusCode::OK, &function, answer)
}

/// Whether the body is form-encoded (or says nothing of its type).
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_none_or(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

impl Sim {
    /// `Authorization: whm USER:TOKEN`, or HTTP Basic with the same username and the token as
    /// password.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, credentials)) = value.trim().split_once(' ') else {
            return false;
        };
        let credentials = if scheme.eq_ignore_ascii_case("whm") {
            credentials.trim().to_string()
        } else if scheme.eq_ignore_ascii_case("basic") {
            match base64::engine::general_purpose::STANDARD
                .decode(credentials.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
            {
                Some(decoded) => decoded,
                None => return false,
            }
        } else {
            return false;
        };
        let Some((username, secret)) = credentials.split_once(':') else {
            return false;
        };
        username == self.username && bool::from(secret.as_bytes().ct_eq(self.token.as_bytes()))
    }
}

fn roll(rate: f64) -> bool {
    rate > 0.0 && rand::random::<f64>() < rate
}

fn envelope(status: StatusCode, function: &str, answer: Answer) -> Response {
    (status, Json(answer_envelope(function, answer))).into_response()
}
