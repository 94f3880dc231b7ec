//! A caller that goes away mid-statement (a browser closing the page, a worker stopped
//! mid-job) must not leave its connection in a transaction for the next borrower: sqlx 0.9.0's
//! `Pool::begin` does when dropped while its `BEGIN` is in flight (see `db::begin`). A proxy of
//! our own holds PostgreSQL's answers back so that the caller gives up at exactly that point.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::TestDb;

/// A TCP proxy that, while slowed, delays every chunk PostgreSQL sends by [`DELAY`].
struct SlowProxy {
    addr: SocketAddr,
    slow: Arc<AtomicBool>,
}

const DELAY: Duration = Duration::from_millis(400);

impl SlowProxy {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let slow = Arc::new(AtomicBool::new(false));
        let accept_slow = slow.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let slow = accept_slow.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (mut client_read, mut client_write) = inbound.into_split();
                    let (mut server_read, mut server_write) = outbound.into_split();
                    tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                    });
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = server_read.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        if slow.load(Ordering::SeqCst) {
                            tokio::time::sleep(DELAY).await;
                        }
                        if client_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Self { addr, slow }
    }
}

#[tokio::test]
async fn a_transaction_whose_caller_went_away_during_begin_is_not_left_open_for_the_next_borrower()
{
    let db = TestDb::create().await;
    let url = url::Url::parse(&db.url).unwrap();
    let target = tokio::net::lookup_host((url.host_str().unwrap(), url.port().unwrap_or(5432)))
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = SlowProxy::start(target).await;
    let mut proxied = url.clone();
    proxied.set_host(Some("127.0.0.1")).unwrap();
    proxied.set_port(Some(proxy.addr.port())).unwrap();
    // One connection, so the next borrower gets the very connection the caller left; handed
    // out without a ping (as applinks' pool does), so the `BEGIN` is what waits.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect(proxied.as_str())
        .await
        .unwrap();
    sqlx::query("select 1").execute(&pool).await.unwrap();
    // sqlx pings a connection as it goes back to the pool; let that finish unhindered.
    tokio::time::sleep(Duration::from_millis(200)).await;

    proxy.slow.store(true, Ordering::SeqCst);
    let gave_up =
        tokio::time::timeout(Duration::from_millis(100), applinks::db::begin(&pool)).await;
    assert!(
        gave_up.is_err(),
        "the BEGIN should still have been waiting for its answer"
    );
    proxy.slow.store(false, Ordering::SeqCst);
    tokio::time::sleep(DELAY * 2).await;

    // In a transaction of its own, a statement starts within microseconds of the transaction;
    // inside the abandoned one, the transaction started at least a delay earlier.
    let left_open: bool =
        sqlx::query_scalar("select now() < statement_timestamp() - interval '200 milliseconds'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        !left_open,
        "the next borrower ran inside the abandoned transaction"
    );
    pool.close().await;
}
