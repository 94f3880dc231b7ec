//! The WHM API 1 client (whm-api.md §1, §3): typed calls over reqwest with rustls. Every
//! call is `POST /json-api/FUNCTION` with a form-encoded body holding `api.version=1` and the
//! arguments, never a query string: link tokens and icons must not end up in access logs.
//! The arguments are built by [`Command`]; many commands travel in one request with
//! `batch` (module `batch`, whm-api.md §2).
//!
//! Error policy: every failure is a [`WhmError`] that says whether it is worth retrying.
//! HTTP 5xx, connection errors and timeouts are *transient* and retried here with exponential
//! backoff and jitter (`backon`); HTTP 401/403, other 4xx, `metadata.result: 0` and answers
//! that are not the JSON envelope are *permanent* and never retried. Callers see the final
//! error with the number of attempts made.
//!
//! Secrets (API token, password, link tokens) never reach a log line or a `Debug` output: logs
//! carry the function, host, status and attempt only, and error texts never include the URL.
//! No axum here: the simulator lives in `sim`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use super::command::{Args, Command};
pub use super::conn::{ClientSettings, ServerConn, WhmAuth};
pub use super::error::{Cause, ErrorKind, WhmError};
use super::error::{error_chain, transport_error};
use super::types::Envelope;

/// The longest pause between two attempts, however many there are.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(10);

/// The entry point: settings plus the pooled HTTP clients (reqwest pools connections per host,
/// so one client serves every server). Cheap to clone.
#[derive(Clone)]
pub struct WhmClient {
    inner: Arc<Inner>,
}

struct Inner {
    settings: ClientSettings,
    /// One reqwest client (its connection pools) per TLS policy, by `verify_tls`: building
    /// one loads the system's root certificates, which took some milliseconds of CPU per
    /// server when each server had its own.
    http: Mutex<HashMap<bool, reqwest::Client>>,
}

impl std::fmt::Debug for WhmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhmClient")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl WhmClient {
    pub fn new(settings: ClientSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                settings,
                http: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn settings(&self) -> &ClientSettings {
        &self.inner.settings
    }

    /// The calls to one server; connections are reused across `ServerClient`s of a server.
    pub fn server(&self, conn: &ServerConn) -> ServerClient {
        let base_url = conn.base_url.trim_end_matches('/').to_string();
        let host = reqwest::Url::parse(&base_url)
            .ok()
            .and_then(|url| {
                let host = url.host_str()?.to_string();
                Some(match url.port_or_known_default() {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                })
            })
            .unwrap_or_else(|| base_url.clone());
        let unusable = match reqwest::Url::parse(&base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => None,
            Ok(_) => Some(format!("{base_url} is not an http(s) URL with a host")),
            Err(err) => Some(format!("{base_url} is not a URL: {err}")),
        };
        ServerClient {
            whm: self.clone(),
            base_url,
            unusable,
            host,
            auth: conn.auth.clone(),
            verify_tls: conn.verify_tls,
        }
    }

    fn http_client(&self, verify_tls: bool) -> Result<reqwest::Client, WhmError> {
        let mut cache = self
            .inner
            .http
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = cache.get(&verify_tls) {
            return Ok(client.clone());
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(self.inner.settings.timeout_ms))
            // WHM does not redirect API calls; following one could carry credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("applinks/", env!("CARGO_PKG_VERSION")))
            .tls_danger_accept_invalid_certs(!verify_tls)
            .build()
            .map_err(|err| WhmError::new(Cause::Config, error_chain(&err)))?;
        cache.insert(verify_tls, client.clone());
        Ok(client)
    }
}

/// The typed calls to one server. Obtain one with [`WhmClient::server`].
#[derive(Clone)]
pub struct ServerClient {
    whm: WhmClient,
    base_url: String,
    /// Why `base_url` cannot be called, if it cannot.
    unusable: Option<String>,
    host: String,
    auth: WhmAuth,
    verify_tls: bool,
}

impl std::fmt::Debug for ServerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerClient")
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("verify_tls", &self.verify_tls)
            .finish_non_exhaustive()
    }
}

impl ServerClient {
    /// `host:port` of this server, for log lines.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// One command alone, with retries; answers the envelope's `data` (JSON null when
    /// absent) decoded as `T`.
    pub async fn call<T: DeserializeOwned>(&self, command: Command) -> Result<T, WhmError> {
        let function = command.function();
        let result = self.call_uncounted(command).await;
        // metrics: one command, counted once with its final outcome (after the retries).
        crate::metrics::whm_command(
            function,
            result
                .as_ref()
                .map_or_else(WhmError::outcome, |_| crate::metrics::WhmOutcome::Ok),
        );
        result
    }

    async fn call_uncounted<T: DeserializeOwned>(&self, command: Command) -> Result<T, WhmError> {
        let function = command.function();
        let body = form_body(command.args());
        let (envelope, attempts) = self.post::<serde_json::Value>(function, body, 1).await?;
        let fail = |cause, reason: String| {
            let mut err = WhmError::new(cause, reason);
            err.attempts = attempts;
            err.function = function.to_string();
            err.host = self.host.clone();
            err
        };
        if !envelope.metadata.result {
            return Err(fail(Cause::Api, envelope.metadata.reason));
        }
        let data = envelope.data.unwrap_or(serde_json::Value::Null);
        serde_json::from_value(data)
            .map_err(|err| fail(Cause::BadResponse, format!("unexpected data: {err}")))
    }

    /// The timeout of one attempt of a request carrying `commands` commands: the server
    /// works through a batch's commands one after another.
    fn timeout_for(&self, commands: usize) -> Duration {
        let settings = self.whm.settings();
        let extra = settings
            .command_timeout_ms
            .saturating_mul(commands.saturating_sub(1) as u64);
        Duration::from_millis(settings.timeout_ms.saturating_add(extra))
    }

    /// `POST /json-api/FUNCTION` with the form-encoded `body` (which starts with
    /// `api.version=1`), retried while it fails transiently; answers the envelope (whatever its
    /// `result`, its `data` read as `T`) and the attempts made.
    pub(super) async fn post<T: DeserializeOwned>(
        &self,
        function: &'static str,
        body: bytes::Bytes,
        commands: usize,
    ) -> Result<(Envelope<T>, u32), WhmError> {
        let settings = self.whm.settings();
        let timeout = self.timeout_for(commands);
        let attempts = AtomicU32::new(0);
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(settings.retry_base_delay_ms))
            .with_max_delay(
                MAX_RETRY_DELAY.max(Duration::from_millis(settings.retry_base_delay_ms)),
            )
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(settings.retry_max_attempts.saturating_sub(1) as usize);
        let result = async {
            if let Some(reason) = &self.unusable {
                return Err(WhmError::new(Cause::Config, reason.clone()));
            }
            let http = self.whm.http_client(self.verify_tls)?;
            (|| async {
                let attempt = attempts.fetch_add(1, Ordering::Relaxed) + 1;
                let sent = std::time::Instant::now();
                let answer = self
                    .post_once(&http, function, &body, timeout, attempt)
                    .await;
                // metrics: every HTTP attempt's latency, under `batch` for a batch.
                crate::metrics::whm_request(function, sent.elapsed());
                answer
            })
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(WhmError::is_transient)
            .notify(|err: &WhmError, delay: Duration| {
                tracing::debug!(
                    function,
                    host = %self.host,
                    cause = ?err.cause,
                    delay_ms = delay.as_millis() as u64,
                    "WHM call failed, retrying"
                );
            })
            .await
        }
        .await;
        let attempts = attempts.load(Ordering::Relaxed);
        result
            .map(|envelope| (envelope, attempts))
            .map_err(|mut err| {
                err.attempts = attempts;
                err.function = function.to_string();
                err.host = self.host.clone();
                err
            })
    }

    async fn post_once<T: DeserializeOwned>(
        &self,
        http: &reqwest::Client,
        function: &str,
        body: &bytes::Bytes,
        timeout: Duration,
        attempt: u32,
    ) -> Result<Envelope<T>, WhmError> {
        let url = format!("{}/json-api/{function}", self.base_url);
        let request = http
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.clone())
            .timeout(timeout);
        let request = match &self.auth {
            WhmAuth::ApiToken { username, token } => {
                let mut value = HeaderValue::from_str(&format!(
                    "whm {username}:{}",
                    token.expose_secret()
                ))
                .map_err(|_| {
                    WhmError::new(
                        Cause::Config,
                        "the username or API token contains characters a header cannot carry",
                    )
                })?;
                value.set_sensitive(true);
                request.header(AUTHORIZATION, value)
            }
            WhmAuth::Password { username, password } => {
                request.basic_auth(username, Some(password.expose_secret()))
            }
        };
        let timeout_ms = timeout.as_millis() as u64;
        let response = request.send().await.map_err(|err| {
            tracing::debug!(function, host = %self.host, attempt, "WHM call did not get an answer");
            transport_error(&err, timeout_ms)
        })?;
        let status = response.status();
        tracing::debug!(function, host = %self.host, attempt, status = status.as_u16(), "WHM answered");
        let body = self.read_bounded(response, timeout_ms).await?;
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(WhmError::new(Cause::AccessDenied, "Access denied"));
        }
        if !status.is_success() {
            // The reason, whatever the data: an error page's `data` need not be `T`.
            let envelope = serde_json::from_slice::<Envelope<serde::de::IgnoredAny>>(&body);
            let reason = match envelope {
                Ok(envelope) if !envelope.metadata.reason.is_empty() => envelope.metadata.reason,
                _ => format!(
                    "HTTP {} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or("")
                )
                .trim_end()
                .to_string(),
            };
            return Err(WhmError::new(Cause::Http(status.as_u16()), reason));
        }
        // Read straight into `T`, not through a `Value` of the whole answer (a batch's answer
        // is a few hundred envelopes).
        serde_json::from_slice::<Envelope<T>>(&body).map_err(|err| {
            let what = if serde_json::from_slice::<Envelope<serde::de::IgnoredAny>>(&body).is_ok() {
                "unexpected data"
            } else {
                "not the WHM JSON envelope"
            };
            WhmError::new(Cause::BadResponse, format!("{what}: {err}"))
        })
    }
}

/// `api.version=1` and `form`, form-encoded: the body of a single call (arguments travel in
/// the body, never the query string: they carry link tokens, whm-api.md §1).
fn form_body(form: &Args) -> bytes::Bytes {
    let mut body = form_urlencoded::Serializer::new(String::new());
    body.append_pair("api.version", "1");
    for (name, value) in form {
        body.append_pair(name, value);
    }
    bytes::Bytes::from(body.finish())
}

impl ServerClient {
    /// The answer's body, refused beyond `max_answer_bytes` (announced or actual).
    async fn read_bounded(
        &self,
        mut response: reqwest::Response,
        timeout_ms: u64,
    ) -> Result<Vec<u8>, WhmError> {
        let settings = self.whm.settings();
        let limit = settings.max_answer_bytes;
        let too_large = || {
            WhmError::new(
                Cause::BadResponse,
                format!("the answer is larger than {limit} bytes"),
            )
        };
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| transport_error(&err, timeout_ms))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
