//! The server's lock (one job at a time per server) lives on a pooled connection for the
//! job's length: a job that ends hands the connection back unlocked, one dropped mid-way
//! closes it, and either way no session keeps the lock.

use std::time::Duration;

use applinks::jobs::provision::SERVER_LOCK_NAMESPACE;
use applinks::whm::sim::FaultsUpdate;
use reqwest::StatusCode;

use crate::helpers::{
    TestApp, applinks_count, fast_provisioning, sim_links, sim_users, spawn_app_with_workers,
    start_sim,
};

/// The sessions holding an applinks server lock in this test's database (tests run side by
/// side on one PostgreSQL, and `pg_locks` shows every database's).
async fn lock_holder_pids(app: &TestApp) -> Vec<i32> {
    sqlx::query_scalar(
        "select distinct pid from pg_locks
         where locktype = 'advisory' and granted and classid::bigint = $1 and objsubid = 2
           and database = (select oid from pg_database where datname = current_database())",
    )
    .bind(i64::from(SERVER_LOCK_NAMESPACE))
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn lock_holders(app: &TestApp) -> i64 {
    lock_holder_pids(app).await.len() as i64
}

/// A server of `users` accounts whose every request takes `latency_ms`, and cPanel switched
/// on; answers the simulator and the server's id.
async fn enable_on_a_slow_server(
    app: &TestApp,
    users: usize,
    latency_ms: u64,
) -> (applinks::whm::sim::SimHandle, i64) {
    app.login_full_admin().await;
    let sim = start_sim(users, "cpanel", "11.134.0.5").await;
    let server = app.add_server("cp1", &sim, "cpanel").await;
    app.add_accounts(server, &sim_users(users)).await;
    sim.set_faults(FaultsUpdate {
        latency_ms: Some(latency_ms),
        ..Default::default()
    })
    .unwrap();
    let r = app
        .post_form("/admin/setup/application-links/cpanel/enable", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    (sim, server)
}

/// Whether a session of its own can take `server`'s lock at once (and gives it back).
async fn lock_is_free(app: &TestApp, server: i64) -> bool {
    let mut conn = app.pool.acquire().await.unwrap().detach();
    sqlx::query_scalar("select pg_try_advisory_lock($1, $2)")
        .bind(SERVER_LOCK_NAMESPACE)
        .bind((server % i64::from(i32::MAX)) as i32)
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

/// Polls until no session holds a server lock, for at most 10 s; answers the holders left.
async fn wait_for_no_holder(app: &TestApp) -> i64 {
    let mut holders = lock_holders(app).await;
    for _ in 0..100 {
        if holders == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        holders = lock_holders(app).await;
    }
    holders
}

#[tokio::test]
async fn jobs_that_end_leave_their_servers_unlocked() {
    let app = spawn_app_with_workers(2).await;
    app.login_full_admin().await;
    let sim = start_sim(3, "cpanel", "11.134.0.5").await;
    let server = app.add_server("cp1", &sim, "cpanel").await;
    app.add_accounts(server, &sim_users(3)).await;

    app.enable("cpanel").await;
    assert_eq!(wait_for_no_holder(&app).await, 0);
    assert!(lock_is_free(&app, server).await);
    // And again with the connections the first jobs handed back to the pool.
    let r = app
        .post_form("/admin/setup/application-links/cpanel/disable", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["state"], "disabled", "{status}");
    assert_eq!(wait_for_no_holder(&app).await, 0);
    assert!(lock_is_free(&app, server).await);

    app.finish().await;
}

/// A job dropped while it holds the lock (its worker stopping, its task cancelled) must not
/// leave the lock on a connection that goes back to the pool: every later job of the server
/// would wait for it for ever.
#[tokio::test]
async fn a_job_dropped_mid_way_leaves_its_server_unlocked() {
    let app = spawn_app_with_workers(0).await;
    // The server answers nothing for a minute: the job sits in its first call, locked.
    let (sim, server) = enable_on_a_slow_server(&app, 3, 60_000).await;
    let status = app.status("cpanel").await;
    let job = applinks::jobs::ProvisionServer {
        operation_id: status["operation"]["id"].as_str().unwrap().parse().unwrap(),
        server_id: applinks::domain::ids::ServerId(server),
    };
    let ctx = applinks::startup::job_context(
        app.pool.clone(),
        app.secrets.clone(),
        &app.url(""),
        &fast_provisioning(),
    );
    let dropped = ctx.clone();
    let running = tokio::spawn(async move { applinks::jobs::provision::run(&dropped, job).await });
    let mut locked = false;
    for _ in 0..100 {
        locked = lock_holders(&app).await == 1;
        if locked {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(locked, "the job never took its server's lock");
    assert!(!lock_is_free(&app, server).await);

    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());
    assert_eq!(
        wait_for_no_holder(&app).await,
        0,
        "the dropped job's lock lives on"
    );
    assert!(lock_is_free(&app, server).await);

    // The same job run again takes the lock and finishes the server's accounts.
    sim.set_faults(FaultsUpdate {
        latency_ms: Some(0),
        ..Default::default()
    })
    .unwrap();
    applinks::jobs::provision::run(&ctx, job).await.unwrap();
    let status = app.status("cpanel").await;
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(status["operation"]["accounts_done"], 3, "{status}");
    assert_eq!(wait_for_no_holder(&app).await, 0);
    // The queue's own copy of the job was never run: this app has no worker.
    app.finish_leaving_jobs();
}

/// The session holding a server's lock ends mid-job (a database administrator's
/// `pg_terminate_backend`, a failover): the job must not go on as if it still held the lock,
/// nor end its server failed for a blip of ours. Its attempt fails, the queue runs it again,
/// and the operation converges with every account exact and no lock left behind.
#[tokio::test]
async fn a_job_whose_lock_session_is_killed_mid_way_runs_again_and_converges() {
    let app = spawn_app_with_workers(1).await;
    // Slow requests (under the tests' 2 s client timeout): the job is caught with its first
    // requests in flight and its lock held.
    let (sim, server) = enable_on_a_slow_server(&app, 24, 800).await;
    // Started: the job has named its accounts (on its lock's session) and sent its requests.
    let mut started = false;
    for _ in 0..100 {
        let status = app.status("cpanel").await;
        if status["operation"]["accounts_total"] == 24 && lock_holders(&app).await == 1 {
            started = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        started,
        "the job never started: {}",
        app.status("cpanel").await
    );
    let holders = lock_holder_pids(&app).await;
    assert_eq!(holders.len(), 1, "one session holds the lock");
    let killed: bool = sqlx::query_scalar("select pg_terminate_backend($1)")
        .bind(holders[0])
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(killed, "the lock's session was ended");
    sim.set_faults(FaultsUpdate {
        latency_ms: Some(0),
        ..Default::default()
    })
    .unwrap();

    let status = app.wait_idle("cpanel").await;
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(status["operation"]["accounts_done"], 24, "{status}");
    assert_eq!(status["operation"]["accounts_total"], 24, "{status}");
    let links = sim_links(&sim);
    for user in sim_users(24) {
        assert_eq!(applinks_count(&links, &user), 15, "{user}");
    }
    assert_eq!(app.unfinished_jobs().await, 0);
    // The queue ran the job again: the first attempt failed with its session.
    let attempts: Vec<i32> = sqlx::query_scalar(
        "select attempts from apalis.jobs where job_type = $1 and status = 'Done'",
    )
    .bind(applinks::jobs::PROVISION_QUEUE)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(attempts, [2], "the job's attempts");
    assert_eq!(wait_for_no_holder(&app).await, 0);
    assert!(lock_is_free(&app, server).await);
    app.finish().await;
}
