//! Metrics of a process (issue 10, point 4): an `applinks worker` process with its listener
//! counts exactly the WHM commands, requests and jobs it ran itself; `serve`'s `/metrics`
//! carries the same process metrics after the database-wide gauges.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{TestApp, client, sim_links, sim_users, spawn_app_with_workers, start_sim};

/// A worker process with `--listen`; answers it and its listener's base URL once it is ready.
async fn worker_with_listener(app: &TestApp) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = app.worker_process_with(
        2,
        &[
            ("APPLINKS_WORKER_LISTEN", &listen),
            ("APPLINKS_WHM_RETRY_ATTEMPTS", "3"),
            ("APPLINKS_PER_SERVER_CONCURRENCY", "8"),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..300 {
        if let Ok(r) = client().get(format!("{base}/readyz")).send().await
            && r.status() == StatusCode::OK
        {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the worker's listener did not become ready");
}

async fn scrape(url: &str) -> String {
    let r = client().get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

/// The value of one series (`name{labels}` exactly as exposed), 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Sum of the series of `name` whose labels contain every one of `labels`.
fn sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix('{')?;
            let (set, number) = rest.split_once("} ")?;
            labels
                .iter()
                .all(|l| set.split(',').any(|s| s == *l))
                .then(|| number.parse::<f64>().ok())?
        })
        .sum()
}

fn links_on(sim: &applinks::whm::sim::SimHandle) -> f64 {
    sim_links(sim)
        .values()
        .map(|apps| {
            apps.as_object().map_or(0, |m| {
                m.keys().filter(|k| k.starts_with("applinks_")).count()
            })
        })
        .sum::<usize>() as f64
}

#[tokio::test]
async fn a_worker_counts_the_whm_commands_requests_and_jobs_of_a_provisioning_run() {
    let app = spawn_app_with_workers(0).await;
    app.login_full_admin().await;
    let sim = start_sim(4, "cpanel", "11.134.0.5").await;
    let id = app.add_server("cp1", &sim, "cpanel").await;
    app.add_accounts(id, &sim_users(4)).await;
    let (mut worker, base) = worker_with_listener(&app).await;
    let r = app
        .post_form("/admin/setup/application-links/cpanel/enable", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let status = app.wait_idle("cpanel").await;
    let text = scrape(&base).await;
    let web = scrape(&app.base_url).await;
    // The teardown needs the worker: it acknowledges its last job a moment after the work.
    app.finish().await;
    let _ = worker.kill();
    let _ = worker.wait();
    assert_eq!(status["state"], "active", "{status}");

    // Every link the simulator holds came from one ok create_integration_link of this worker.
    let created = links_on(&sim);
    assert!(created >= 4.0, "{created}");
    let ok = |function: &str| {
        value(
            &text,
            &format!(r#"applinks_whm_commands_total{{function="{function}",outcome="ok"}}"#),
        )
    };
    assert_eq!(ok("create_integration_link"), created, "{text}");
    assert_eq!(ok("version"), 1.0, "one server, one version call: {text}");
    for outcome in ["api_error", "transient", "timeout"] {
        let failed = sum(
            &text,
            "applinks_whm_commands_total",
            &[&format!(r#"outcome="{outcome}""#)],
        );
        assert_eq!(failed, 0.0, "{outcome}: {text}");
    }
    // Every command went out in a request that the latency histogram saw.
    let commands = sum(&text, "applinks_whm_commands_total", &[]);
    let requests = sum(&text, "applinks_whm_request_duration_seconds_count", &[]);
    assert!(
        requests >= 1.0 && requests <= commands,
        "{requests} / {commands}: {text}"
    );

    let job = r#"{job="provision_server"}"#;
    assert_eq!(
        value(&text, &format!("applinks_jobs_run_total{job}")),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(&text, &format!("applinks_jobs_failed_total{job}")),
        0.0,
        "{text}"
    );
    assert_eq!(
        value(&text, &format!("applinks_job_duration_seconds_count{job}")),
        1.0,
        "{text}"
    );
    assert_eq!(value(&text, "applinks_db_reconnects_total"), 0.0, "{text}");
    // The database-wide gauges are still there, before the process's own metrics.
    assert!(text.contains("applinks_workers_alive"), "{text}");

    // `serve` exposes the process metrics too (its own: it ran no job here).
    assert!(web.contains("applinks_operation_accounts"), "{web}");
    assert!(
        web.lines()
            .any(|l| l.starts_with("applinks_db_reconnects_total ")),
        "{web}"
    );
}

#[tokio::test]
async fn failing_servers_show_api_errors_and_transient_failures_and_the_job_still_succeeds() {
    let app = spawn_app_with_workers(0).await;
    app.login_full_admin().await;
    // One server refuses the calls for one account (`metadata.result: 0`)...
    let refusing = start_sim(3, "cpanel", "11.134.0.5").await;
    refusing
        .set_faults(applinks::whm::sim::FaultsUpdate {
            fail_users: Some(vec!["user0002".into()]),
            ..Default::default()
        })
        .unwrap();
    // ...the other answers HTTP 500 to everything.
    let broken = start_sim(3, "cpanel", "11.134.0.5").await;
    broken
        .set_faults(applinks::whm::sim::FaultsUpdate {
            fail_rate: Some(1.0),
            ..Default::default()
        })
        .unwrap();
    for (name, sim) in [("refusing", &refusing), ("broken", &broken)] {
        let id = app.add_server(name, sim, "cpanel").await;
        app.add_accounts(id, &sim_users(3)).await;
    }
    let (mut worker, base) = worker_with_listener(&app).await;
    let r = app
        .post_form("/admin/setup/application-links/cpanel/enable", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let status = app.wait_idle("cpanel").await;
    let text = scrape(&base).await;
    app.finish().await;
    let _ = worker.kill();
    let _ = worker.wait();
    assert_eq!(status["state"], "failed", "{status}");

    let api_errors = sum(
        &text,
        "applinks_whm_commands_total",
        &[r#"outcome="api_error""#],
    );
    assert!(api_errors >= 1.0, "{text}");
    // The broken server fails its first call, `version`, after 3 attempts, and once more on
    // its second chance: two commands, six requests.
    let version = |outcome: &str| {
        value(
            &text,
            &format!(r#"applinks_whm_commands_total{{function="version",outcome="{outcome}"}}"#),
        )
    };
    assert_eq!(version("transient"), 2.0, "{text}");
    assert_eq!(version("ok"), 1.0, "{text}");
    assert_eq!(
        value(
            &text,
            r#"applinks_whm_request_duration_seconds_count{function="version"}"#
        ),
        7.0,
        "1 + 2 × 3 attempts: {text}"
    );
    // What servers answer is a warning, not a failed job.
    let job = r#"{job="provision_server"}"#;
    assert_eq!(
        value(&text, &format!("applinks_jobs_run_total{job}")),
        2.0,
        "{text}"
    );
    assert_eq!(
        value(&text, &format!("applinks_jobs_failed_total{job}")),
        0.0,
        "{text}"
    );
}
