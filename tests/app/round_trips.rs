//! Database work per signed-in page (issue 10, point 6; at most three statements allowed): two
//! — the session together with its admin and their role's permissions (one statement, see
//! `db::session_store`), then the page's data; and the status poll, one: its data comes in the
//! session's own statement.
//!
//! Counted on the wire: the application's pool (built by `db::migrate::connect`, as in
//! production) talks to PostgreSQL through a TCP proxy of our own that reads the frontend
//! protocol and counts the statements executed (`Execute` and simple `Query` messages). Not
//! counted: sqlx's one-time `Parse` of a statement on a connection, and the `Sync` with which
//! it checks a connection taken back into its pool (a round trip, but no statement).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use applinks::crypto::SecretBox;
use applinks::domain::app::App;
use applinks::domain::ids::ServerId;
use applinks::domain::operation::{Kind, Level};
use applinks::web::{AppState, WebSettings};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{TestApp, TestDb};

/// Counts the statements that pass from the application to PostgreSQL.
struct CountingProxy {
    addr: SocketAddr,
    statements: Arc<AtomicU64>,
}

/// Splits the frontend stream into messages: the startup message has no type byte, every
/// later one is a type byte and a 4-byte length that counts itself.
#[derive(Default)]
struct FrontendParser {
    started: bool,
    header: Vec<u8>,
    skip: usize,
}

impl FrontendParser {
    /// Statements (`E`xecute, simple `Q`uery) in `data`.
    fn feed(&mut self, mut data: &[u8]) -> u64 {
        let mut statements = 0;
        while !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = &data[n..];
                continue;
            }
            let header_len = if self.started { 5 } else { 4 };
            let n = (header_len - self.header.len()).min(data.len());
            self.header.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.header.len() < header_len {
                break;
            }
            let len_bytes: [u8; 4] = self.header[header_len - 4..].try_into().unwrap();
            if self.started && matches!(self.header[0], b'E' | b'Q') {
                statements += 1;
            }
            self.skip = (u32::from_be_bytes(len_bytes) as usize).saturating_sub(4);
            self.started = true;
            self.header.clear();
        }
        statements
    }
}

impl CountingProxy {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (mut from_app, mut to_app) = inbound.into_split();
                    let (mut from_db, mut to_db) = outbound.into_split();
                    let answers = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut from_db, &mut to_app).await;
                    });
                    let mut parser = FrontendParser::default();
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n) = from_app.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        counter.fetch_add(parser.feed(&buf[..n]), Ordering::SeqCst);
                        if to_db.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    answers.abort();
                });
            }
        });
        Self { addr, statements }
    }

    fn count(&self) -> u64 {
        self.statements.load(Ordering::SeqCst)
    }
}

/// The web application (no background tasks, no workers) on a pool that goes through `proxy`.
async fn spawn_counted_app() -> (TestApp, CountingProxy) {
    let db = TestDb::create().await;
    let direct = applinks::db::migrate::connect(&db.url).await.unwrap();
    applinks::db::migrate::run(&direct).await.unwrap();
    let url = url::Url::parse(&db.url).unwrap();
    let target = tokio::net::lookup_host((
        url.host_str().unwrap().to_string(),
        url.port().unwrap_or(5432),
    ))
    .await
    .unwrap()
    .next()
    .unwrap();
    let proxy = CountingProxy::start(target).await;
    let mut proxied = url.clone();
    proxied.set_host(Some("127.0.0.1")).unwrap();
    proxied.set_port(Some(proxy.addr.port())).unwrap();
    // The proxy reads the protocol, so no TLS between the pool and it.
    proxied.query_pairs_mut().append_pair("sslmode", "disable");
    let pool = applinks::db::migrate::connect(proxied.as_str())
        .await
        .unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let secret_key = SecretBox::generate_key();
    let secrets = SecretBox::from_base64(Some(&secret_key)).unwrap();
    let settings = WebSettings {
        public_url: base_url.clone(),
        trusted_proxies: Vec::new(),
        metrics_token: None,
        client_session_max_secs: 28_800,
    };
    let state = AppState::new(pool, settings, secrets.clone(), Default::default());
    let router = applinks::web::router(state);
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let app = TestApp::new(base_url, direct, secrets, secret_key, db);
    (app, proxy)
}

/// A finished cPanel operation on one server, with log entries.
async fn seed_operation(app: &TestApp) {
    let sim = crate::helpers::start_sim(2, "cpanel", "11.134.0.5").await;
    let server = app.add_server("cp1", &sim, "cpanel").await;
    let mut conn = app.pool.acquire().await.unwrap();
    let op = applinks::db::operations::insert(&mut conn, App::Cpanel, Kind::Activate, None)
        .await
        .unwrap();
    applinks::db::operations::add_server(
        &mut *conn,
        op,
        ServerId(server),
        applinks::domain::operation::ServerState::Done,
    )
    .await
    .unwrap();
    for i in 0..30 {
        let level = if i % 10 == 0 {
            Level::Warning
        } else {
            Level::Info
        };
        applinks::db::operations::log(
            &mut *conn,
            op,
            level,
            &format!("entry {i}"),
            Default::default(),
        )
        .await
        .unwrap();
    }
    sqlx::query("update operations set finished_at = now() where id = $1")
        .bind(op)
        .execute(&mut *conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_signed_in_page_costs_two_statements_and_the_status_poll_one() {
    let (app, proxy) = spawn_counted_app().await;
    seed_operation(&app).await;
    app.login_full_admin().await;
    let base = "/admin/setup/application-links";
    let pages = [
        (base.to_string(), false, 2),
        (format!("{base}/cpanel/status"), false, 1),
        (format!("{base}/cpanel/status"), true, 1),
        (format!("{base}/cpanel/log"), false, 2),
    ];
    for (path, json, statements) in pages {
        let get = || async {
            if json {
                app.get_json(&path).await
            } else {
                app.get(&path).await
            }
        };
        // The first request of a session marks it active (a write, once a minute at most).
        assert_eq!(get().await.status(), StatusCode::OK, "{path}");
        let before = proxy.count();
        let r = get().await;
        let after = proxy.count();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let body = r.text().await.unwrap();
        assert!(body.contains("cpanel") || body.contains("cPanel"), "{body}");
        assert_eq!(after - before, statements, "{path} (json: {json})");
    }

    // What the poll read with the session is this request's, never an earlier one's: a
    // warning logged and a switch turned off show in the very next poll.
    let status = || async {
        let r = app.get_json(&format!("{base}/cpanel/status")).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<serde_json::Value>().await.unwrap()
    };
    applinks::db::applications::set_enabled(&app.pool, App::Cpanel, true)
        .await
        .unwrap();
    let before = status().await;
    assert_eq!(before["operation"]["warnings"], 3, "{before}");
    assert_eq!(before["operation"]["servers_done"], 1, "{before}");
    assert_eq!(before["enabled"], true, "{before}");
    let op: uuid::Uuid = before["operation"]["id"].as_str().unwrap().parse().unwrap();
    applinks::db::operations::log(
        &app.pool,
        applinks::domain::ids::OperationId(op),
        Level::Warning,
        "one more",
        Default::default(),
    )
    .await
    .unwrap();
    applinks::db::applications::set_enabled(&app.pool, App::Cpanel, false)
        .await
        .unwrap();
    let after = status().await;
    assert_eq!(after["operation"]["warnings"], 4, "{after}");
    assert_eq!(after["enabled"], false, "{after}");
    assert_eq!(after["state"], "disabled", "{after}");
    app.finish().await;
}

#[test]
fn the_parser_counts_executes_and_queries_across_reads() {
    let mut parser = FrontendParser::default();
    // Startup (8 bytes: length 8 + protocol), then Parse (P), Bind (B), Execute (E), Sync (S),
    // then a simple Query split over two reads.
    let mut stream = vec![0, 0, 0, 8, 0, 3, 0, 0];
    for (kind, payload) in [(b'P', 6), (b'B', 3), (b'E', 5), (b'S', 0), (b'Q', 9)] {
        stream.push(kind);
        stream.extend_from_slice(&(4u32 + payload).to_be_bytes());
        // Payload bytes that look like message types must not be counted.
        stream.extend(std::iter::repeat_n(b'E', payload as usize));
    }
    let (first, second) = stream.split_at(stream.len() - 7);
    assert_eq!(parser.feed(first) + parser.feed(second), 2);
}
