//! `batch` (whm-api.md §2): one request, many commands, one envelope per command.
//!
//! Each `command` field (body first, then query string, in order) is `FUNCTION?ARGS`, ARGS
//! the call's own form-encoded arguments. The commands run one after another, each after
//! `--command-ms` of the server's work; with `abort_on_error=1` the first failing command
//! ends the batch (its later commands get no envelope). The outer `result` is 0 when any
//! command failed, with the first failing command's reason. Where whm-api.md is silent, the
//! simulator decides: a batch without `command` is refused (`Provide the “command”
//! parameter.`), and a `batch` inside a batch fails as a command of its own.

use std::time::Duration;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::time::Instant;

use super::Sim;
use super::fields::{Command, Decoded};
use super::functions::{answer_envelope, dispatch};
use super::validate::{Args, text};
use crate::whm::types::{Envelope, Metadata};

/// The server's own work within one request: `command_ms` per command, one after another.
/// Deadlines count from the start, so timer granularity does not add up over many commands.
pub(super) struct Pace {
    start: Instant,
    per_command: Duration,
    done: u32,
}

impl Pace {
    pub(super) fn new(command_ms: u64) -> Self {
        Self {
            start: Instant::now(),
            per_command: Duration::from_millis(command_ms),
            done: 0,
        }
    }

    /// Waits until the next command's work is done.
    pub(super) async fn next(&mut self) {
        if self.per_command.is_zero() {
            return;
        }
        self.done += 1;
        tokio::time::sleep_until(self.start + self.per_command * self.done).await;
    }
}

/// Runs a batch whose request passed authentication and faults.
pub(super) async fn run(
    sim: &Sim,
    args: &Args,
    commands: Vec<Command>,
    pace: &mut Pace,
) -> Response {
    if commands.is_empty() {
        let refused = answer_envelope("batch", Err("Provide the “command” parameter.".into()));
        return (StatusCode::OK, Json(refused)).into_response();
    }
    let abort_on_error = text(args, "abort_on_error") == Some("1");
    let mut results = Vec::with_capacity(commands.len());
    let mut first_failure: Option<String> = None;
    let mut decoded = Decoded::default();
    for command in &commands {
        pace.next().await;
        let function = command.function();
        let answer = if function == "batch" {
            Err("The “batch” function cannot be called inside a batch.".to_string())
        } else {
            let args = command.args(&mut decoded);
            let mut world = sim.world.lock();
            dispatch(&mut world, &sim.version, function, args)
        };
        let failed = answer.as_ref().err().cloned();
        results.push(answer_envelope(function, answer));
        if let Some(reason) = failed {
            first_failure.get_or_insert(reason);
            if abort_on_error {
                break;
            }
        }
    }
    let metadata = match &first_failure {
        None => Metadata::new("batch", true, "OK"),
        Some(reason) => Metadata::new("batch", false, reason),
    };
    let body = Envelope {
        metadata,
        data: Some(Answers { result: results }),
    };
    (StatusCode::OK, Json(body)).into_response()
}

/// A batch's `data`: one envelope per command, in order. Serialized as it stands, not through
/// a `Value` of the whole answer first (a few hundred envelopes a request).
#[derive(serde::Serialize)]
struct Answers {
    result: Vec<Envelope<Value>>,
}
