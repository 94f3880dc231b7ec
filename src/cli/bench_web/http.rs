//! A small HTTP/1.1 load generator for the in-process benchmarks: keep-alive connections over
//! plain TCP, one request at a time each, like `wrk`. Far lighter than a full client, so on a
//! small machine most of the CPU goes to the server being measured.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// One keep-alive connection.
pub struct Conn {
    addr: SocketAddr,
    stream: TcpStream,
    buf: Vec<u8>,
}

/// An answer: status, headers (names lower-cased) and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

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
        Ok(Self {
            addr,
            stream,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    /// Sends one request (`head` is the request line and headers, without the final blank
    /// line and without `Host` / `Content-Length`) and reads the whole answer.
    pub async fn send(&mut self, head: &str, body: &[u8]) -> anyhow::Result<Answer> {
        let mut request = Vec::with_capacity(head.len() + body.len() + 64);
        request.extend_from_slice(head.as_bytes());
        request.extend_from_slice(
            format!(
                "\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
                self.addr,
                body.len()
            )
            .as_bytes(),
        );
        request.extend_from_slice(body);
        self.stream.write_all(&request).await?;
        self.read_answer().await
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        if self.buf.capacity() - self.buf.len() < 16 * 1024 {
            self.buf.reserve(64 * 1024);
        }
        let n = self.stream.read_buf(&mut self.buf).await?;
        if n == 0 {
            bail!("the server closed the connection");
        }
        Ok(())
    }

    async fn read_answer(&mut self) -> anyhow::Result<Answer> {
        let head_end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end])
            .context("the answer's head is not UTF-8")?
            .to_string();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .context("no status line")?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        self.buf.drain(..head_end + 4);
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map(|(_, v)| v.parse::<usize>())
            .transpose()
            .context("bad Content-Length")?;
        let body = match length {
            Some(length) => {
                while self.buf.len() < length {
                    self.fill().await?;
                }
                self.buf.drain(..length).collect()
            }
            None if headers
                .iter()
                .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked")) =>
            {
                self.read_chunked().await?
            }
            None => Vec::new(),
        };
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    async fn read_chunked(&mut self) -> anyhow::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(at) = find(&self.buf, b"\r\n") {
                    break at;
                }
                self.fill().await?;
            };
            let size = std::str::from_utf8(&self.buf[..line_end])
                .ok()
                .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
                .context("bad chunk size")?;
            self.buf.drain(..line_end + 2);
            while self.buf.len() < size + 2 {
                self.fill().await?;
            }
            body.extend(self.buf.drain(..size));
            self.buf.drain(..2);
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
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
