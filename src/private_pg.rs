//! A PostgreSQL of our own for the first run: when no `DATABASE_URL` is set and the default
//! URL is refused (no server) or rejects the sign-in (Debian's fresh server wants a password
//! on TCP), `applinks demo` and the test helpers start a private cluster from the locally
//! installed server binaries instead of failing.
//!
//! The cluster lives in a fresh directory, listens on a free loopback port only, trusts
//! loopback connections, and is stopped (and its directory removed) when its owner drops it
//! or, should the process die first, by a small watcher that waits for the process to end.
//! `initdb` refuses to run as root, so as root the cluster runs as the `postgres` system user
//! (`runuser`) in a directory that user owns.
//!
//! A leaf: imports nothing of ours.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// What to do when the binaries are missing.
pub const HOW_TO_GET_POSTGRES: &str = "no PostgreSQL found: set DATABASE_URL to a PostgreSQL you can use, or install the server binaries (Debian: `apt install postgresql`) and run again";

/// Why the default URL cannot be used, or `None` when it can.
pub async fn default_url_unusable(url: &str) -> Option<String> {
    let Ok(opts) = url.parse::<PgConnectOptions>() else {
        return Some("the default URL does not parse".into());
    };
    let opts = opts.database("postgres");
    match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect_with(&opts)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            None
        }
        Ok(Err(err)) => Some(err.to_string()),
        Err(_) => Some("no answer within 5 s".into()),
    }
}

/// A running private cluster; stopped when dropped.
#[derive(Debug)]
pub struct PrivateCluster {
    dir: PathBuf,
    bin: PathBuf,
    run_as: Option<&'static str>,
    port: u16,
    stopped: bool,
}

impl PrivateCluster {
    /// The directory holding `initdb` and `pg_ctl`: Debian's newest
    /// `/usr/lib/postgresql/N/bin`, else the one on `PATH`.
    pub fn find_binaries() -> Option<PathBuf> {
        let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").is_file().then_some((version, bin))
            })
            .collect();
        debian.sort();
        if let Some((_, bin)) = debian.pop() {
            return Some(bin);
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    }

    /// Creates and starts a cluster on a free loopback port; `purpose` names its directory.
    pub fn start(purpose: &str) -> anyhow::Result<PrivateCluster> {
        let bin = Self::find_binaries().context(HOW_TO_GET_POSTGRES)?;
        let root = is_root();
        let run_as = root.then_some("postgres");
        let parent = if root {
            std::env::temp_dir()
        } else {
            cache_dir()
        };
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let dir = parent.join(format!(
            "applinks-pg-{purpose}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        if let Some(user) = run_as {
            let status = Command::new("chown")
                .arg(format!("{user}:"))
                .arg(&dir)
                .status()
                .context("running chown")?;
            if !status.success() {
                bail!("cannot give {} to the {user} user", dir.display());
            }
        }
        let mut cluster = PrivateCluster {
            dir,
            bin,
            run_as,
            port: 0,
            stopped: false,
        };
        cluster.init_and_start()?;
        cluster.watch_owner();
        Ok(cluster)
    }

    fn init_and_start(&mut self) -> anyhow::Result<()> {
        let data = self.dir.join("data");
        let out = self
            .command("initdb")
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--no-sync",
            ])
            .arg("-D")
            .arg(&data)
            .output()
            .context("running initdb")?;
        if !out.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        self.port = free_port()?;
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} -c fsync=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .context("running pg_ctl start")?;
        if !out.status.success() {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            bail!(
                "the private PostgreSQL did not start: {} {}",
                String::from_utf8_lossy(&out.stderr).trim(),
                log.trim()
            );
        }
        Ok(())
    }

    /// Stops the cluster should this process die without dropping it.
    fn watch_owner(&self) {
        let stop = self.stop_script();
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop}",
            pid = std::process::id()
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    fn stop_script(&self) -> String {
        let pg_ctl = self.bin.join("pg_ctl");
        let data = self.dir.join("data");
        let prefix = match self.run_as {
            Some(user) => format!("runuser -u {user} -- "),
            None => String::new(),
        };
        format!(
            "{prefix}'{}' -D '{}' -m immediate -w stop >/dev/null 2>&1; rm -rf '{}'",
            pg_ctl.display(),
            data.display(),
            self.dir.display()
        )
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    /// The URL of database `name` on this cluster.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The directory the cluster lives in (removed when it stops).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the cluster and removes its directory.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let _ = Command::new("sh")
            .args(["-c", &self.stop_script()])
            .stdin(Stdio::null())
            .status();
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("applinks");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache").join("applinks"),
        None => std::env::temp_dir(),
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}
