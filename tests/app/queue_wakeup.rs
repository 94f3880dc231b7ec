//! Queued jobs wake the workers at once, however long the transaction that queued them ran.

use std::time::Duration;

use applinks::domain::ids::AccountId;
use sqlx::postgres::PgListener;

use crate::helpers::{applinks_count, sim_links, sim_users, spawn_app_with_workers, start_sim};

/// apalis-postgres notifies the workers of a new job only when its `run_at` is not after the
/// start of the transaction that inserts it, and it used to take `run_at` from this process's
/// clock at the moment of queueing. A transaction that began in an earlier second (here: one
/// second of other work before the account's change) queued a job that nobody was told of,
/// and the job waited for a worker's heartbeat. Fails without the notification (after 10 s).
#[tokio::test]
async fn a_job_queued_late_in_a_long_transaction_still_notifies_the_workers() {
    let app = spawn_app_with_workers(1).await;
    app.login_full_admin().await;
    let sim = start_sim(2, "cpanel", "11.134.0.5").await;
    let server = app.add_server("cp1", &sim, "cpanel").await;
    let users = sim_users(2);
    let accounts = app.add_accounts(server, &users[..1]).await;
    app.enable("cpanel").await;
    app.wait_idle("cpanel").await;

    let mut listener = PgListener::connect_with(&app.pool).await.unwrap();
    listener.listen("apalis::job::insert").await.unwrap();
    // A second account arrives in a transaction that has already run for more than a second.
    let mut tx = applinks::db::begin(&app.pool).await.unwrap();
    sqlx::query("select pg_sleep(1.1)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let late: i64 = sqlx::query_scalar(
        "insert into accounts (client_id, server_id, username, domain)
         select client_id, server_id, $2, $2 || '.example.test' from accounts where id = $1
         returning id",
    )
    .bind(accounts[0])
    .bind(&users[1])
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let op = applinks::jobs::account_changed_in(&mut tx, AccountId(late))
        .await
        .unwrap();
    assert!(
        op.is_some(),
        "cPanel is on: the new account gets an operation"
    );
    tx.commit().await.unwrap();

    let notified = tokio::time::timeout(Duration::from_secs(10), listener.recv()).await;
    assert!(
        matches!(notified, Ok(Ok(_))),
        "the job's notification never came: {notified:?}"
    );
    // And the job runs: the new account carries its links.
    let op = op.unwrap();
    for _ in 0..300 {
        let finished: bool =
            sqlx::query_scalar("select finished_at is not null from operations where id = $1")
                .bind(op)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        if finished {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let links = sim_links(&sim);
    assert_eq!(
        applinks_count(&links, &users[1]),
        15,
        "{:?}",
        links.get(&users[1])
    );
    app.finish().await;
}
