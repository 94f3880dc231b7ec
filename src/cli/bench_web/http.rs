//! The load generator of the in-process benchmarks: keep-alive HTTP/1.1 connections (hyper's
//! own client connection, no pool), one request at a time each, like `wrk`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One keep-alive connection.
pub struct Conn {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
}

/// An answer: status, headers (names lower-cased) and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Answer {
    /// The `name=value` part of every `Set-Cookie`.
    pub fn cookies(&self) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "set-cookie")
            .filter_map(|(_, v)| v.split(';').next())
    }
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        // The connection's own task reads and writes; it ends when `sender` is dropped.
        tokio::spawn(connection);
        Ok(Self { addr, sender })
    }

    /// Sends one request with `headers` (besides `Host`) and reads the whole answer.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<Answer> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, self.addr.to_string());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(Bytes::copy_from_slice(body)))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// What a load run measured.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Iterations completed inside the measured window.
    pub done: u64,
    pub window: Duration,
}

impl Rate {
    pub fn per_sec(&self) -> f64 {
        self.done as f64 / self.window.as_secs_f64()
    }
}

/// Runs one loop of `iteration` per state (e.g. one per connection) for `warmup`, then counts
/// the iterations that complete within the next `window`. Any failed iteration fails the run:
/// a benchmark of error pages measures nothing.
pub async fn measure<S, F, Fut>(
    states: Vec<S>,
    warmup: Duration,
    window: Duration,
    iteration: F,
) -> anyhow::Result<Rate>
where
    S: Send + 'static,
    F: Fn(S) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<S>> + Send,
{
    let start = Instant::now() + warmup;
    let end = start + window;
    let mut tasks = tokio::task::JoinSet::new();
    for mut state in states {
        let iteration = iteration.clone();
        tasks.spawn(async move {
            let mut done = 0u64;
            loop {
                state = iteration(state).await?;
                let now = Instant::now();
                if now >= end {
                    return anyhow::Ok(done);
                }
                if now >= start {
                    done += 1;
                }
            }
        });
    }
    let mut done = 0;
    while let Some(result) = tasks.join_next().await {
        done += result??;
    }
    Ok(Rate { done, window })
}
