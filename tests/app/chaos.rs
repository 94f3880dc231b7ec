//! The database goes away mid-operation: a TCP proxy of our own sits between the application
//! (web and in-process workers) and PostgreSQL, and the test cuts it for a few seconds. The
//! workers must come back by themselves and the operation must end ACTIVE, every account exact.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use applinks::config::ProvisioningArgs;
use applinks::crypto::SecretBox;
use applinks::startup::Application;
use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::helpers::{
    TestApp, TestDb, applinks_count, client, fast_provisioning, sim_links, sim_users, start_sim,
};

/// A TCP proxy that can refuse and drop every connection for a while.
struct CuttableProxy {
    addr: SocketAddr,
    down: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<AbortHandle>>>,
}

impl CuttableProxy {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let down = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (accept_down, accept_conns) = (down.clone(), conns.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if accept_down.load(Ordering::SeqCst) {
                    drop(inbound); // Refused while the database is "down".
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                accept_conns.lock().unwrap().push(task.abort_handle());
            }
        });
        Self { addr, down, conns }
    }

    /// Drops every open connection and refuses new ones until [`Self::restore`].
    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for conn in self.conns.lock().unwrap().drain(..) {
            conn.abort();
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn workers_survive_a_database_outage_mid_operation_and_the_operation_ends_active() {
    let db = TestDb::create().await;
    // Migrate directly, then run the application through the proxy.
    let direct = applinks::db::migrate::connect(&db.url).await.unwrap();
    applinks::db::migrate::run(&direct).await.unwrap();
    let target: SocketAddr = {
        let url = url::Url::parse(&db.url).unwrap();
        let host = url.host_str().unwrap().to_string();
        tokio::net::lookup_host((host, url.port().unwrap_or(5432)))
            .await
            .unwrap()
            .next()
            .unwrap()
    };
    let proxy = CuttableProxy::start(target).await;
    let mut proxied = url::Url::parse(&db.url).unwrap();
    proxied.set_host(Some("127.0.0.1")).unwrap();
    proxied.set_port(Some(proxy.addr.port())).unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(3))
        .connect(proxied.as_str())
        .await
        .unwrap();
    let web = crate::helpers::web_args();
    let secret_key = SecretBox::generate_key();
    let secrets = SecretBox::from_base64(Some(&secret_key)).unwrap();
    let application = Application::build(pool, &web, secrets.clone())
        .await
        .unwrap();
    let base_url = application.public_url.clone();
    // Requests of 5 accounts, each about 200 ms on the simulators (15 ms latency, 2 ms a
    // command): a server's 60 accounts take three rounds, so the cut below, after the first
    // round, lands mid-operation. (With the default 20 accounts a request a server's four
    // requests ran at once and ended together: the cut could come after both servers had
    // finished, with a job's acknowledgement lost and not yet handed over, once in about
    // twenty runs.)
    let provisioning = ProvisioningArgs {
        whm_batch_accounts: 5,
        ..fast_provisioning()
    };
    tokio::spawn(application.workers(&provisioning, 2));
    tokio::spawn(application.run_until_stopped());
    let app = TestApp::new(base_url, direct, secrets, secret_key, db);
    app.login_full_admin().await;

    let mut sims = Vec::new();
    for name in ["cp1", "cp2"] {
        let sim = start_sim(60, "cpanel", "11.134.0.5").await;
        sim.set_faults(applinks::whm::sim::FaultsUpdate {
            latency_ms: Some(15),
            command_ms: Some(2),
            ..Default::default()
        })
        .unwrap();
        let id = app.add_server(name, &sim, "cpanel").await;
        app.add_accounts(id, &sim_users(60)).await;
        sims.push(sim);
    }
    let r = app
        .post_form("/admin/setup/application-links/cpanel/enable", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Cut the database once some accounts are done, and not all.
    let mut done: i64 = 0;
    for _ in 0..300 {
        done = sqlx::query_scalar(
            "select coalesce(sum(accounts_done), 0)::bigint from operation_servers",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if done >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.cut();
    assert!(
        (10..120).contains(&done),
        "cut after {done} of 120 accounts"
    );
    let r = client().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready without the database"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.restore();

    // The heartbeat hands orphaned jobs over after 15 s; give it ample time.
    let mut status = serde_json::Value::Null;
    for _ in 0..900 {
        let r = app
            .client
            .get(app.url("/admin/setup/application-links/cpanel/status"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::OK {
            status = r.json().await.unwrap();
            if status["state"] == "active" || status["state"] == "failed" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status["state"], "active", "{status}");
    assert_eq!(status["operation"]["accounts_done"], 120, "{status}");
    for sim in &sims {
        let links = sim_links(sim);
        for user in sim_users(60) {
            assert_eq!(applinks_count(&links, &user), 15, "{user}");
        }
    }
    assert_eq!(app.unfinished_jobs().await, 0);
    let r = client().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "ready again");
    // The reconnect shows in the process metrics (no other test cuts the database).
    let metrics = client().get(app.url("/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    let reconnects = metrics.lines().find_map(|l| {
        l.strip_prefix("applinks_db_reconnects_total ")?
            .parse::<f64>()
            .ok()
    });
    assert!(reconnects.is_some_and(|n| n >= 1.0), "{metrics}");
    app.finish().await;
}
