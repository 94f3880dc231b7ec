//! The private-cluster path of the first run, exercised on purpose so it stays working even
//! where the machine's PostgreSQL is usable (as in CI).

use applinks::private_pg::PrivateCluster;
use sqlx::Connection as _;

#[tokio::test]
async fn a_private_cluster_starts_takes_migrations_and_is_gone_after_stop() {
    if PrivateCluster::find_binaries().is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have PostgreSQL's server binaries for this test"
        );
        eprintln!("skipped: {}", applinks::private_pg::HOW_TO_GET_POSTGRES);
        return;
    }
    let mut cluster = tokio::task::spawn_blocking(|| PrivateCluster::start("check"))
        .await
        .unwrap()
        .expect("a private cluster starts");
    let dir = cluster.dir().to_path_buf();
    assert!(dir.join("data").exists());

    let url = cluster.url("applinks_private_check");
    let pool = applinks::db::migrate::connect(&url)
        .await
        .expect("database created");
    applinks::db::migrate::run(&pool)
        .await
        .expect("migrations apply");
    let admins: i64 = sqlx::query_scalar("select count(*) from admins")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(admins, 0);
    pool.close().await;

    tokio::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    })
    .await
    .unwrap();
    assert!(!dir.exists(), "the cluster's directory is removed");
    let refused = sqlx::PgConnection::connect(&url).await;
    assert!(refused.is_err(), "the cluster no longer answers");
}
