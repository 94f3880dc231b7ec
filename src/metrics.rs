//! Metrics of this process (issue 10, point 4): WHM commands and request latency, jobs, database
//! reconnects. One process-wide registry; `/metrics` of `serve` and of a worker's listener
//! append it to the database-wide gauges they read at scrape time.
//!
//! A leaf module: `whm`, `jobs` and `web` call the functions below; it imports nothing of ours.
//! Counters start at process start, so compare rates (`rate()`, `increase()`), never values
//! across restarts; every process reports only the work it did itself.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

/// How one WHM command ended, after the client's retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhmOutcome {
    /// The server did what was asked.
    Ok,
    /// The server refused it for good: `metadata.result: 0`, access denied, other 4xx, an
    /// answer that is not WHM's, unusable server settings.
    ApiError,
    /// No usable answer after the retries: connection refused or reset, DNS, TLS, HTTP 5xx.
    Transient,
    /// No answer within the client's timeout (after the retries).
    Timeout,
}

impl WhmOutcome {
    /// The `outcome` label.
    pub fn label(self) -> &'static str {
        match self {
            WhmOutcome::Ok => "ok",
            WhmOutcome::ApiError => "api_error",
            WhmOutcome::Transient => "transient",
            WhmOutcome::Timeout => "timeout",
        }
    }
}

struct Metrics {
    registry: Registry,
    whm_commands: IntCounterVec,
    whm_request_seconds: HistogramVec,
    jobs_run: IntCounterVec,
    jobs_failed: IntCounterVec,
    job_seconds: HistogramVec,
    db_reconnects: IntCounter,
}

/// WHM answers within a few milliseconds on a LAN and up to the client's timeout (30 s by
/// default) on a struggling server.
const WHM_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0,
];

/// A job is one server: from a fraction of a second to many minutes for thousands of accounts.
const JOB_BUCKETS: [f64; 12] = [
    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0,
];

fn build() -> prometheus::Result<Metrics> {
    let registry = Registry::new();
    let whm_commands = IntCounterVec::new(
        Opts::new(
            "applinks_whm_commands_total",
            "WHM commands this process sent, by function and outcome (ok, api_error, transient, timeout), each command of a batch counted.",
        ),
        &["function", "outcome"],
    )?;
    let whm_request_seconds = HistogramVec::new(
        HistogramOpts::new(
            "applinks_whm_request_duration_seconds",
            "Latency of the HTTP requests to WHM servers (every attempt), by function (batch for batched requests).",
        )
        .buckets(WHM_BUCKETS.to_vec()),
        &["function"],
    )?;
    let jobs_run = IntCounterVec::new(
        Opts::new(
            "applinks_jobs_run_total",
            "Job runs this process finished (succeeded or failed), by job.",
        ),
        &["job"],
    )?;
    let jobs_failed = IntCounterVec::new(
        Opts::new(
            "applinks_jobs_failed_total",
            "Job runs this process finished with an error (retried by the queue up to its attempts), by job.",
        ),
        &["job"],
    )?;
    let job_seconds = HistogramVec::new(
        HistogramOpts::new(
            "applinks_job_duration_seconds",
            "Duration of the job runs this process finished, by job.",
        )
        .buckets(JOB_BUCKETS.to_vec()),
        &["job"],
    )?;
    let db_reconnects = IntCounter::new(
        "applinks_db_reconnects_total",
        "Times this process's workers got the database back after losing it.",
    )?;
    registry.register(Box::new(whm_commands.clone()))?;
    registry.register(Box::new(whm_request_seconds.clone()))?;
    registry.register(Box::new(jobs_run.clone()))?;
    registry.register(Box::new(jobs_failed.clone()))?;
    registry.register(Box::new(job_seconds.clone()))?;
    registry.register(Box::new(db_reconnects.clone()))?;
    Ok(Metrics {
        registry,
        whm_commands,
        whm_request_seconds,
        jobs_run,
        jobs_failed,
        job_seconds,
        db_reconnects,
    })
}

static METRICS: LazyLock<Metrics> =
    LazyLock::new(|| build().expect("the process metrics have valid, distinct names"));

/// One WHM command ended (a single call after its retries, or one command of a batch).
pub fn whm_command(function: &str, outcome: WhmOutcome) {
    METRICS
        .whm_commands
        .with_label_values(&[function, outcome.label()])
        .inc();
}

/// One HTTP request to a WHM server took `elapsed` (answered or not); `function` is the WHM
/// function, `batch` for a batch request.
pub fn whm_request(function: &str, elapsed: Duration) {
    METRICS
        .whm_request_seconds
        .with_label_values(&[function])
        .observe(elapsed.as_secs_f64());
}

/// One run of a job ended, `ok` or with an error, after `elapsed`.
pub fn job_finished(job: &str, ok: bool, elapsed: Duration) {
    METRICS.jobs_run.with_label_values(&[job]).inc();
    // Touched either way, so the series exists (at 0) before the first failure.
    let failed = METRICS.jobs_failed.with_label_values(&[job]);
    if !ok {
        failed.inc();
    }
    METRICS
        .job_seconds
        .with_label_values(&[job])
        .observe(elapsed.as_secs_f64());
}

/// A worker of this process got the database back after losing it.
pub fn db_reconnect() {
    METRICS.db_reconnects.inc();
}

/// Appends the process metrics to `out` in the Prometheus text format.
pub fn encode_into(out: &mut String) -> prometheus::Result<()> {
    TextEncoder::new().encode_utf8(&METRICS.registry.gather(), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposition() -> String {
        let mut out = String::new();
        encode_into(&mut out).unwrap();
        out
    }

    fn value(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or(0.0)
    }

    // Unit tests share the process registry: each uses labels of its own and compares deltas.
    #[test]
    fn whm_commands_are_counted_by_function_and_outcome() {
        let ok = r#"applinks_whm_commands_total{function="unit_test_fn",outcome="ok"}"#;
        let timeout = r#"applinks_whm_commands_total{function="unit_test_fn",outcome="timeout"}"#;
        let before = exposition();
        whm_command("unit_test_fn", WhmOutcome::Ok);
        whm_command("unit_test_fn", WhmOutcome::Ok);
        whm_command("unit_test_fn", WhmOutcome::Timeout);
        whm_request("unit_test_fn", Duration::from_millis(30));
        let after = exposition();
        assert_eq!(value(&after, ok) - value(&before, ok), 2.0);
        assert_eq!(value(&after, timeout) - value(&before, timeout), 1.0);
        let count = r#"applinks_whm_request_duration_seconds_count{function="unit_test_fn"}"#;
        assert_eq!(value(&after, count) - value(&before, count), 1.0);
        let le =
            r#"applinks_whm_request_duration_seconds_bucket{function="unit_test_fn",le="0.025"}"#;
        assert_eq!(
            value(&after, le),
            value(&before, le),
            "30 ms is above 25 ms"
        );
    }

    #[test]
    fn jobs_count_runs_failures_and_durations() {
        let run = r#"applinks_jobs_run_total{job="unit_test_job"}"#;
        let failed = r#"applinks_jobs_failed_total{job="unit_test_job"}"#;
        let before = exposition();
        job_finished("unit_test_job", true, Duration::from_secs(2));
        job_finished("unit_test_job", false, Duration::from_secs(1));
        let after = exposition();
        assert_eq!(value(&after, run) - value(&before, run), 2.0);
        assert_eq!(value(&after, failed) - value(&before, failed), 1.0);
        let sum = r#"applinks_job_duration_seconds_sum{job="unit_test_job"}"#;
        assert_eq!(value(&after, sum) - value(&before, sum), 3.0);
    }

    #[test]
    fn reconnects_are_always_exposed_and_counted() {
        let series = "applinks_db_reconnects_total";
        let before = exposition();
        assert!(before.lines().any(|l| l.starts_with(series)), "{before}");
        db_reconnect();
        assert!(value(&exposition(), series) >= value(&before, series) + 1.0);
    }
}
