//! Worker processes: the real `applinks worker` binary, several at once, killed mid-operation.

use std::time::Duration;

use applinks::whm::sim::FaultsUpdate;
use reqwest::StatusCode;

use crate::helpers::{applinks_count, sim_links, sim_users, spawn_app_with_workers, start_sim};

const BASE: &str = "/admin/setup/application-links";

#[tokio::test]
async fn two_worker_processes_share_one_operation_without_double_work() {
    let app = spawn_app_with_workers(0).await;
    app.login_full_admin().await;
    let mut sims = Vec::new();
    for i in 0..4 {
        let sim = start_sim(6, "cpanel", "11.134.0.5").await;
        sim.set_faults(FaultsUpdate {
            latency_ms: Some(20),
            ..Default::default()
        })
        .unwrap();
        let sid = app.add_server(&format!("cp{i}"), &sim, "cpanel").await;
        app.add_accounts(sid, &sim_users(6)).await;
        sims.push(sim);
    }
    let mut a = app.worker_process(1);
    let mut b = app.worker_process(1);
    app.wait_for_workers(2).await;

    let r = app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(status["operation"]["accounts_done"], 24);

    for sim in &sims {
        let links = sim_links(sim);
        for user in sim_users(6) {
            assert_eq!(applinks_count(&links, &user), 15, "{user}");
        }
        // Each link created exactly once: no job ran twice.
        assert_eq!(sim.calls("create_integration_link"), 6 * 15);
    }
    let lockers: i64 =
        sqlx::query_scalar("select count(distinct lock_by) from apalis.jobs where job_type = $1")
            .bind(applinks::jobs::PROVISION_QUEUE)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(lockers, 2, "both processes took jobs");
    assert_eq!(app.unfinished_jobs().await, 0);

    // SIGTERM: both stop taking jobs and exit 0.
    for child in [&mut a, &mut b] {
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }
    for child in [&mut a, &mut b] {
        let mut exited = None;
        for _ in 0..100 {
            if let Some(status) = child.try_wait().unwrap() {
                exited = Some(status);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let status = exited.expect("worker exits within 10 s of SIGTERM");
        assert!(status.success(), "{status}");
    }
    app.finish().await;
}

#[tokio::test]
async fn a_worker_killed_mid_operation_is_replaced_and_the_operation_still_converges() {
    let app = spawn_app_with_workers(0).await;
    app.login_full_admin().await;
    let sim = start_sim(24, "cpanel", "11.134.0.5").await;
    sim.set_faults(FaultsUpdate {
        latency_ms: Some(25),
        command_ms: Some(5),
        ..Default::default()
    })
    .unwrap();
    let sid = app.add_server("slow", &sim, "cpanel").await;
    app.add_accounts(sid, &sim_users(24)).await;

    // One account per request, so the operation takes many requests and the kill lands in
    // the middle of it.
    let mut doomed = app.worker_process_with(1, &[("APPLINKS_WHM_BATCH_ACCOUNTS", "1")]);
    app.wait_for_workers(1).await;
    app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    let mut started = false;
    for _ in 0..300 {
        let s = app.status("cpanel").await;
        if s["operation"]["accounts_done"].as_i64().unwrap_or(0) >= 2 {
            started = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started, "the first worker got going");
    doomed.kill().expect("SIGKILL the worker");
    doomed.wait().unwrap();
    let partial = sim_links(&sim);
    let done_before = sim_users(24)
        .iter()
        .filter(|u| applinks_count(&partial, u) == 15)
        .count();
    assert!(
        done_before < 24,
        "killed mid-operation ({done_before} accounts done)"
    );

    let mut replacement = app.worker_process(2);
    // The replacement picks the orphaned job up once the dead worker's heartbeat lapses.
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["state"], "active", "{status}");
    let links = sim_links(&sim);
    for user in sim_users(24) {
        assert_eq!(applinks_count(&links, &user), 15, "{user}");
    }
    assert_eq!(status["operation"]["accounts_done"], 24);
    assert_eq!(app.unfinished_jobs().await, 0);
    replacement.kill().ok();
    replacement.wait().ok();
    app.finish().await;
}

#[tokio::test]
async fn the_provision_benchmark_runs_prints_its_figures_and_drops_its_database() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_applinks"))
        .args([
            "bench",
            "provision",
            "--servers",
            "1",
            "--accounts",
            "3",
            "--latency-ms",
            "1",
        ])
        .env("DATABASE_URL", crate::helpers::database_url())
        .output()
        .expect("run applinks bench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ratio = stdout
        .lines()
        .find_map(|l| l.strip_prefix("ratio wall/bound "))
        .expect("a ratio line");
    assert!(ratio.parse::<f64>().unwrap() > 0.0, "{stdout}");
    assert!(stdout.lines().any(|l| l == "accounts 3"), "{stdout}");
    // Its own scratch database (named in its log) is gone; others' runs may have theirs.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let names: std::collections::BTreeSet<String> = stderr
        .match_indices("applinks_bench_")
        .map(|(at, _)| {
            stderr[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect();
    assert!(!names.is_empty(), "the bench names its database: {stderr}");
    let app = crate::helpers::spawn_app_with_workers(0).await;
    for name in &names {
        let left: i64 = sqlx::query_scalar("select count(*) from pg_database where datname = $1")
            .bind(name)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(left, 0, "scratch database {name} dropped");
    }
    app.finish().await;
}

#[tokio::test]
async fn an_operation_whose_server_is_removed_before_its_job_runs_still_finishes() {
    let app = spawn_app_with_workers(0).await;
    app.login_full_admin().await;
    let keep = start_sim(2, "cpanel", "11.134.0.5").await;
    let gone = start_sim(2, "cpanel", "11.134.0.5").await;
    let s_keep = app.add_server("keep", &keep, "cpanel").await;
    let s_gone = app.add_server("gone", &gone, "cpanel").await;
    app.add_accounts(s_keep, &sim_users(2)).await;
    app.add_accounts(s_gone, &sim_users(2)).await;

    // No worker yet: the jobs wait in the queue while the admin removes a server.
    app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    let r = app
        .post_form(
            &format!("/admin/servers/{s_gone}/delete"),
            &[("confirm", "on")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let mut worker = app.worker_process(2);
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(status["operation"]["servers_total"], 1);
    assert_eq!(applinks_count(&sim_links(&keep), "user0001"), 15);
    assert_eq!(app.unfinished_jobs().await, 0);
    worker.kill().ok();
    worker.wait().ok();
    app.finish().await;
}

#[tokio::test]
async fn a_job_that_keeps_failing_on_our_side_ends_as_a_failed_server_with_a_warning() {
    let app = spawn_app_with_workers(2).await;
    app.login_full_admin().await;
    let sim = start_sim(1, "cpanel", "11.134.0.5").await;
    let sid = app.add_server("cp1", &sim, "cpanel").await;
    app.add_accounts(sid, &sim_users(1)).await;
    // Our own database refuses to store link secrets: every attempt of the job fails.
    sqlx::query(
        "create function refuse() returns trigger language plpgsql as
         $$ begin raise exception 'storage refused'; end $$",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("create trigger refuse before insert on account_link_secrets for each row execute function refuse()")
        .execute(&app.pool)
        .await
        .unwrap();

    app.post_form(&format!("{BASE}/cpanel/enable"), &[]).await;
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["state"], "failed", "{status}");
    assert_eq!(status["operation"]["servers_failed"], 1);
    // The server is given up once, after the queue's last attempt, not before it: wait until
    // the queue has run every attempt, then the server must still be failed and the log must
    // say so once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (attempts, status): (i32, String) =
            sqlx::query_as("select attempts, status from apalis.jobs")
                .fetch_one(&app.pool)
                .await
                .unwrap();
        if status != "Pending"
            && status != "Queued"
            && status != "Running"
            && attempts >= applinks::jobs::JOB_MAX_ATTEMPTS as i32
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{attempts} {status}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let status = app.status("cpanel").await;
    assert_eq!(status["state"], "failed", "{status}");
    let warnings = app.log_rows("cpanel", "warning").await;
    let given_up: Vec<_> = warnings
        .iter()
        .filter(|r| {
            r[1] == "cp1"
                && r[3].contains("could not finish this server")
                && r[3].contains("storage refused")
        })
        .collect();
    assert_eq!(given_up.len(), 1, "{warnings:?}");
    // Every attempt of the job failed: apalis keeps it as failed, as expected here.
    app.finish_leaving_jobs();
}

#[tokio::test]
async fn a_worker_process_with_listen_answers_health_readiness_and_metrics() {
    use secrecy::ExposeSecret as _;
    let app = crate::helpers::spawn_app_with_workers(0).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_applinks"))
        .args(["worker", "--concurrency", "1", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", &app.db.url)
        .env("APPLINKS_SECRET_KEY", app.secret_key.expose_secret())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start applinks worker");
    let base = format!("http://127.0.0.1:{port}");
    let http = crate::helpers::client();
    let mut ready = None;
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            ready = Some(r.status());
            if r.status() == reqwest::StatusCode::OK {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let health = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .map(|r| r.status());
    let metrics = http.get(format!("{base}/metrics")).send().await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(ready, Some(reqwest::StatusCode::OK));
    assert_eq!(health.unwrap(), reqwest::StatusCode::OK);
    let text = metrics.unwrap().text().await.unwrap();
    assert!(text.contains("applinks_workers_alive"), "{text}");
    app.finish().await;
}

/// `bench pages` and `bench sso` run end to end (their load generator is hyper's client),
/// print every figure, and exit: a hang (as the cancelled-`BEGIN` bug caused) fails the test
/// instead of stalling the suite.
#[tokio::test]
async fn the_page_and_sso_benchmarks_print_every_figure_and_exit() {
    for (bench, figures) in [
        (
            "pages",
            &[
                "application_links_page_req_per_s",
                "status_fragment_html_req_per_s",
                "status_fragment_json_req_per_s",
                "log_first_page_req_per_s",
            ][..],
        ),
        (
            "sso",
            &[
                "bare_insert_per_s",
                "sso_round_trips_per_s",
                "ratio sso/bare",
            ][..],
        ),
    ] {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_applinks"));
        command
            .args(["bench", bench, "--connections", "2", "--seconds", "1"])
            .env("DATABASE_URL", crate::helpers::database_url())
            .kill_on_drop(true);
        if bench == "pages" {
            command.args(["--log-entries", "50"]);
        }
        let out = tokio::time::timeout(std::time::Duration::from_secs(240), command.output())
            .await
            .unwrap_or_else(|_| panic!("bench {bench} did not exit"))
            .expect("run applinks bench");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "bench {bench}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for figure in figures {
            let value: f64 = stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{figure} ")))
                .unwrap_or_else(|| panic!("no {figure} line: {stdout}"))
                .parse()
                .unwrap();
            assert!(value > 0.0, "{figure}: {stdout}");
        }
    }
}

/// The queue may deliver a job again after it ended (its acknowledgement lost with the
/// database, or its worker's heartbeat missed during an outage, as in `chaos`): the second
/// run sends nothing and leaves the finished operation's progress as it was. Before, it set
/// the server back to running with no account done, under an operation already finished.
#[tokio::test]
async fn a_job_delivered_again_after_it_ended_changes_nothing() {
    let app = spawn_app_with_workers(2).await;
    app.login_full_admin().await;
    let sim = start_sim(5, "cpanel", "11.134.0.5").await;
    let server_id = app.add_server("cp1", &sim, "cpanel").await;
    app.add_accounts(server_id, &sim_users(5)).await;
    app.enable("cpanel").await;
    let before = app.wait_idle("cpanel").await;
    assert_eq!(before["state"], "active", "{before}");
    assert_eq!(before["operation"]["accounts_done"], 5, "{before}");
    let requests = sim.requests();

    let ctx = applinks::startup::job_context(
        app.pool.clone(),
        app.secrets.clone(),
        &app.url(""),
        &crate::helpers::fast_provisioning(),
    );
    let job = applinks::jobs::ProvisionServer {
        operation_id: before["operation"]["id"].as_str().unwrap().parse().unwrap(),
        server_id: applinks::domain::ids::ServerId(server_id),
    };
    applinks::jobs::provision::run(&ctx, job).await.unwrap();

    assert_eq!(sim.requests(), requests, "the job ran again");
    let after = app.status("cpanel").await;
    assert_eq!(after, before);
    let (state, done): (String, i32) =
        sqlx::query_as("select state, accounts_done from operation_servers where server_id = $1")
            .bind(server_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((state.as_str(), done), ("done", 5));
    app.finish().await;
}
