//! `batch` (whm-api.md §2): many commands in one request, one outcome per command.
//!
//! `POST /json-api/batch` with `api.version=1`, `abort_on_error=0` and one `command` field per
//! command, in order; each value is `FUNCTION?ARGS` (the call's own form-encoded arguments,
//! encoded once more in the body). The request as a whole is retried like any call while it
//! fails transiently (HTTP 5xx, timeouts, connection errors), with a timeout that grows with
//! the commands it carries; each command is then judged by its own `metadata.result`, since
//! the outer `result` is 0 as soon as any command failed.

use std::borrow::Borrow;

use serde_json::Value;

use crate::metrics::WhmOutcome;

use super::client::ServerClient;
use super::command::Command;
use super::error::{Cause, WhmError};
use super::types::BatchData;

/// The largest batch body a caller should build (see [`Command::batch_len`]): well within
/// what a cPanel server, and the simulator (1 MiB), take in one request.
pub const MAX_BATCH_BYTES: usize = 512 * 1024;

/// One command's outcome: its `data` (JSON null when absent), or the server's refusal.
pub type CommandResult = Result<Value, WhmError>;

impl ServerClient {
    /// Sends `commands` in one `batch` request. The outer error is the request's (after
    /// retries, or a refusal of the whole batch); otherwise one result per command, in order.
    /// `commands`: owned or borrowed (a caller that gathers many accounts' commands need not
    /// copy them).
    pub async fn batch<C: Borrow<Command> + Sync>(
        &self,
        commands: &[C],
    ) -> Result<Vec<CommandResult>, WhmError> {
        let answer = self.batch_uncounted(commands).await;
        // metrics: each command under its own function, with its own outcome; a request that
        // failed as a whole fails each of its commands alike.
        for (i, command) in commands.iter().enumerate() {
            let outcome = match &answer {
                Ok(results) => results[i]
                    .as_ref()
                    .map_or_else(WhmError::outcome, |_| WhmOutcome::Ok),
                Err(err) => err.outcome(),
            };
            crate::metrics::whm_command(command.borrow().function(), outcome);
        }
        answer
    }

    async fn batch_uncounted<C: Borrow<Command> + Sync>(
        &self,
        commands: &[C],
    ) -> Result<Vec<CommandResult>, WhmError> {
        let body = batch_body(commands);
        let (envelope, attempts) = self
            .post::<BatchData>("batch", body, commands.len())
            .await?;
        let fail = |cause, reason: String, function: &str| {
            let mut err = WhmError::new(cause, reason);
            err.attempts = attempts;
            err.function = function.to_string();
            err.host = self.host().to_string();
            err
        };
        let outer_reason = envelope.metadata.reason.clone();
        let outer_ok = envelope.metadata.result;
        let data = envelope.data;
        let results = match data {
            Some(data) if data.result.len() == commands.len() => data.result,
            // The batch itself was refused (no per-command answers).
            _ if !outer_ok => return Err(fail(Cause::Api, outer_reason, "batch")),
            data => {
                let answered = data.map_or(0, |data| data.result.len());
                return Err(fail(
                    Cause::BadResponse,
                    format!(
                        "the batch answered {answered} result(s) for {} command(s)",
                        commands.len()
                    ),
                    "batch",
                ));
            }
        };
        Ok(commands
            .iter()
            .zip(results)
            .map(|(command, answer)| {
                if answer.metadata.result {
                    Ok(answer.data.unwrap_or(Value::Null))
                } else {
                    Err(fail(
                        Cause::Api,
                        answer.metadata.reason,
                        command.borrow().function(),
                    ))
                }
            })
            .collect())
    }
}

/// The body of a batch: `api.version=1`, `abort_on_error=0`, then one `command` field per
/// command, in order. Each command is encoded straight into the body, twice over (its own
/// arguments, then as a field value), without a string of its own on the way.
fn batch_body<C: Borrow<Command>>(commands: &[C]) -> bytes::Bytes {
    let estimate: usize = commands.iter().map(|c| c.borrow().batch_len()).sum();
    let mut body = String::with_capacity(estimate + 64);
    body.push_str("api.version=1&abort_on_error=0");
    let mut long = std::collections::HashMap::new();
    for command in commands {
        body.push_str("&command=");
        command.borrow().encode_batch_value(&mut body, &mut long);
    }
    bytes::Bytes::from(body)
}
