//! What a failed WHM call says (whm-api.md §1): [`WhmError`] with its [`ErrorKind`]
//! (transient, worth retrying, or permanent) and [`Cause`], and how a reqwest failure is
//! sorted into them. Reasons never include the URL nor any secret.

use std::error::Error as _;

/// Whether a failed call is worth repeating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// HTTP 5xx, timeouts, connection errors: retried, then reported.
    Transient,
    /// Access denied, API errors, other 4xx, unusable answers or settings: never retried.
    Permanent,
}

/// What went wrong, as far as an administrator needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// HTTP 401 or 403: wrong username or token.
    AccessDenied,
    /// HTTP 200 with `metadata.result: 0`; the reason is the server's.
    Api,
    /// Any other HTTP status that is not success.
    Http(u16),
    /// No complete answer within the timeout.
    Timeout,
    /// The host name does not resolve.
    Dns,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// Nothing listens on the port.
    ConnectionRefused,
    /// Any other connection or transport failure.
    Connect,
    /// The answer is not the JSON envelope, or its `data` is not what the function answers.
    BadResponse,
    /// The server record cannot be used (bad base URL, credentials not fit for a header).
    Config,
}

/// A failed WHM call, after any retries.
#[derive(Debug, Clone)]
pub struct WhmError {
    pub kind: ErrorKind,
    pub cause: Cause,
    /// The server's own words where there are any (e.g. "You do not have a user named “u1”.").
    pub reason: String,
    /// Attempts made, the first included.
    pub attempts: u32,
    /// The WHM function called.
    pub function: String,
    /// `host:port` of the server.
    pub host: String,
}

impl WhmError {
    pub(super) fn new(cause: Cause, reason: impl Into<String>) -> Self {
        let kind = match cause {
            Cause::Http(status) if status >= 500 => ErrorKind::Transient,
            Cause::Timeout
            | Cause::Dns
            | Cause::Tls
            | Cause::ConnectionRefused
            | Cause::Connect => ErrorKind::Transient,
            Cause::AccessDenied
            | Cause::Api
            | Cause::Http(_)
            | Cause::BadResponse
            | Cause::Config => ErrorKind::Permanent,
        };
        Self {
            kind,
            cause,
            reason: reason.into(),
            attempts: 0,
            function: String::new(),
            host: String::new(),
        }
    }

    /// Whether retrying later may help.
    pub fn is_transient(&self) -> bool {
        self.kind == ErrorKind::Transient
    }

    /// The outcome this failure counts as in `applinks_whm_commands_total`.
    pub fn outcome(&self) -> crate::metrics::WhmOutcome {
        use crate::metrics::WhmOutcome;
        match (self.cause, self.kind) {
            (Cause::Timeout, _) => WhmOutcome::Timeout,
            (_, ErrorKind::Transient) => WhmOutcome::Transient,
            (_, ErrorKind::Permanent) => WhmOutcome::ApiError,
        }
    }

    /// One plain sentence for an administrator (the *Test connection* button).
    pub fn describe(&self) -> String {
        let host = &self.host;
        let reason = &self.reason;
        match self.cause {
            Cause::AccessDenied => "access denied: check the WHM username and API token".into(),
            Cause::Api => format!("the server refused the call: {reason}"),
            Cause::Http(status) => format!("the server answered HTTP {status}: {reason}"),
            Cause::Timeout => format!("{host} did not answer in time ({reason})"),
            Cause::Dns => {
                // The port means nothing to a name lookup.
                let name = host
                    .rsplit_once(':')
                    .map_or(host.as_str(), |(name, _)| name);
                format!("DNS lookup failed for host {name}: {reason}")
            }
            Cause::Tls => format!("TLS handshake failed: {reason}"),
            Cause::ConnectionRefused => {
                format!("connection refused: nothing listens on {host}; check the host and port")
            }
            Cause::Connect => format!("could not connect to {host}: {reason}"),
            Cause::BadResponse => {
                format!("the answer is not what a WHM server sends: {reason}")
            }
            Cause::Config => format!("the server settings cannot be used: {reason}"),
        }
    }
}

impl std::fmt::Display for WhmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WHM {} on {} failed ({:?}, {} attempt{}): {}",
            self.function,
            self.host,
            self.cause,
            self.attempts,
            if self.attempts == 1 { "" } else { "s" },
            self.reason
        )
    }
}

impl std::error::Error for WhmError {}

/// Sorts a reqwest failure into a [`Cause`], with a reason that never includes the URL.
pub(super) fn transport_error(err: &reqwest::Error, timeout_ms: u64) -> WhmError {
    if err.is_timeout() {
        return WhmError::new(Cause::Timeout, format!("no answer within {timeout_ms} ms"));
    }
    let chain = error_chain(err);
    let mut source = err.source();
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return WhmError::new(Cause::ConnectionRefused, "connection refused");
                }
                std::io::ErrorKind::TimedOut => return WhmError::new(Cause::Timeout, chain),
                _ => {}
            }
        }
        source = current.source();
    }
    let lower = chain.to_lowercase();
    let cause = if lower.contains("dns error") || lower.contains("failed to lookup address") {
        Cause::Dns
    } else if [
        "certificate",
        "tls",
        "handshake",
        "corrupt message",
        "alert",
    ]
    .iter()
    .any(|word| lower.contains(word))
    {
        Cause::Tls
    } else {
        Cause::Connect
    };
    WhmError::new(cause, chain)
}

/// The sources of an error joined by ": ", without reqwest's own top line (it names the URL,
/// which an administrator's message does not need).
pub(super) fn error_chain(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = err.source();
    while let Some(current) = source {
        let text = current.to_string();
        // hyper-util's "client error (Connect)" says nothing an administrator can use, and
        // inner messages are sometimes repeated by outer ones; keep each once.
        if !text.starts_with("client error (") && !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        source = current.source();
    }
    if parts.is_empty() {
        let kind = if err.is_connect() {
            "connection failed"
        } else if err.is_body() || err.is_decode() {
            "reading the answer failed"
        } else {
            "request failed"
        };
        return kind.to_string();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::{Cause, WhmError};
    use crate::metrics::WhmOutcome;

    #[test]
    fn failures_count_as_api_errors_transient_failures_or_timeouts() {
        let outcome = |cause| WhmError::new(cause, "").outcome();
        assert_eq!(outcome(Cause::Timeout), WhmOutcome::Timeout);
        for cause in [
            Cause::Http(502),
            Cause::ConnectionRefused,
            Cause::Connect,
            Cause::Dns,
            Cause::Tls,
        ] {
            assert_eq!(outcome(cause), WhmOutcome::Transient, "{cause:?}");
        }
        for cause in [
            Cause::Api,
            Cause::AccessDenied,
            Cause::Http(404),
            Cause::BadResponse,
            Cause::Config,
        ] {
            assert_eq!(outcome(cause), WhmOutcome::ApiError, "{cause:?}");
        }
    }
}
