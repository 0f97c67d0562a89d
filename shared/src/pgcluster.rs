//! A PostgreSQL cluster run from the system's binaries: the embedded
//! database of `rustbill-server` and the test kit's fallback.
//!
//! Written here rather than taken from a crate (`pgtemp`, `postgresql_embedded`)
//! because those either download PostgreSQL (this project's machines reach
//! no download site) or run it as the calling user, and PostgreSQL refuses
//! to run as root: when started as root this module runs the cluster as the
//! unprivileged `postgres` user (or `nobody`) instead.
//!
//! The cluster listens on a Unix socket only (no TCP port to collide with)
//! and trusts local connections; its socket directory is private to the
//! user running it.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, bail};
use tokio::process::Command;

/// The superuser created by `initdb`.
pub const SUPERUSER: &str = "rustbill";

/// A running (or about to run) cluster.
#[derive(Debug, Clone)]
pub struct PgCluster {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    /// The user the server runs as when this process is root.
    run_as: Option<String>,
    /// Skip fsync: only for throwaway test clusters, never for data that
    /// matters.
    unsafe_fast: bool,
}

/// Finds `initdb`, `pg_ctl` and `postgres`: `$PG_BIN`, then the newest
/// `/usr/lib/postgresql/<version>/bin`, then `$PATH`.
pub fn find_bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN") {
        let dir = PathBuf::from(dir);
        if dir.join("pg_ctl").exists() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("pg_ctl").exists() && dir.join("initdb").exists() {
                return Ok(dir);
            }
        }
    }
    bail!(
        "PostgreSQL server binaries not found (install the Debian package `postgresql`, \
         or set PG_BIN to the directory holding initdb and pg_ctl)"
    )
}

fn is_root() -> bool {
    // SAFETY-free check: `id -u` would spawn a process; the effective uid of
    // this process is in /proc/self/status on Linux.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .and_then(|line| line.split_whitespace().nth(2).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

fn user_exists(name: &str) -> bool {
    std::fs::read_to_string("/etc/passwd")
        .map(|passwd| passwd.lines().any(|line| line.split(':').next() == Some(name)))
        .unwrap_or(false)
}

impl PgCluster {
    /// Describes a cluster in `data_dir`; nothing runs yet.
    pub fn new(data_dir: impl Into<PathBuf>) -> anyhow::Result<Self> {
        let data_dir = data_dir.into();
        let data_dir = if data_dir.is_absolute() {
            data_dir
        } else {
            std::env::current_dir().context("no current directory")?.join(data_dir)
        };
        // Drop `.` components so paths in logs and commands read cleanly.
        let data_dir: PathBuf = data_dir.components().filter(|part| part.as_os_str() != ".").collect();
        let socket_dir = data_dir.with_file_name(format!(
            "{}.sock",
            data_dir.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_else(|| "pg".into())
        ));
        let run_as = if is_root() {
            Some(if user_exists("postgres") { "postgres".to_string() } else { "nobody".to_string() })
        } else {
            None
        };
        Ok(Self { bin_dir: find_bin_dir()?, data_dir, socket_dir, run_as, unsafe_fast: false })
    }

    /// Turns durability off (fsync, synchronous commit, full-page writes):
    /// for throwaway test clusters only. The embedded database of
    /// `rustbill-server` holds money and stays durable.
    pub fn unsafe_fast(mut self) -> Self {
        self.unsafe_fast = true;
        self
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A connection URL for `database` over the Unix socket.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@localhost/{database}?host={}", urlencode_path(&self.socket_dir))
    }

    fn command(&self, program: &str) -> Command {
        let binary = self.bin_dir.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.arg("-u").arg(user).arg("--").arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command.stdin(Stdio::null()).env("LC_ALL", "C");
        command
    }

    async fn run(&self, mut command: Command, what: &str) -> anyhow::Result<()> {
        let output = command.output().await.with_context(|| format!("failed to run {what}"))?;
        if !output.status.success() {
            bail!(
                "{what} failed: {}{}",
                String::from_utf8_lossy(&output.stderr).trim(),
                String::from_utf8_lossy(&output.stdout).trim()
            );
        }
        Ok(())
    }

    /// Makes `path` and its parents usable by the unprivileged server user
    /// when this process is root.
    fn prepare_dir(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))?;
        let Some(user) = &self.run_as else { return Ok(()) };
        let status = std::process::Command::new("chown")
            .arg("-R")
            .arg(format!("{user}:"))
            .arg(path)
            .status()
            .context("failed to run chown")?;
        if !status.success() {
            bail!("chown {} to {user} failed", path.display());
        }
        // The server user must be able to reach the directory: give
        // traverse-only permission on ancestors that lack it (lists nothing).
        use std::os::unix::fs::PermissionsExt;
        let mut ancestor = path.parent();
        while let Some(dir) = ancestor {
            if let Ok(metadata) = std::fs::metadata(dir) {
                let mode = metadata.permissions().mode();
                if mode & 0o001 == 0 {
                    tracing::warn!(dir = %dir.display(), "granting traverse permission so the PostgreSQL user can reach its data");
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o001)).ok();
                }
            }
            ancestor = dir.parent();
        }
        Ok(())
    }

    /// Creates the cluster if `data_dir` holds none, then starts it and waits
    /// until it accepts connections.
    pub async fn start(&self) -> anyhow::Result<()> {
        self.prepare_dir(&self.socket_dir)?;
        if !self.data_dir.join("PG_VERSION").exists() {
            self.prepare_dir(&self.data_dir)?;
            let mut initdb = self.command("initdb");
            initdb.arg("-D").arg(&self.data_dir).arg("-U").arg(SUPERUSER).arg("--auth=trust").arg("--encoding=UTF8");
            if self.unsafe_fast {
                initdb.arg("--no-sync");
            }
            self.run(initdb, "initdb").await?;
            tracing::info!(data_dir = %self.data_dir.display(), "initialised PostgreSQL cluster");
        } else {
            self.prepare_dir(&self.data_dir)?;
        }
        // A crashed previous run may have left a stale pid file; pg_ctl
        // handles that, and `status` tells whether one is still running.
        if self.is_running().await {
            tracing::info!(data_dir = %self.data_dir.display(), "PostgreSQL cluster already running");
            return Ok(());
        }
        let log = self.data_dir.join("server.log");
        let mut options = format!("-c listen_addresses='' -k {} -c max_connections=300", self.socket_dir.display());
        if self.unsafe_fast {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl
            .arg("start")
            .arg("-w")
            .arg("-t")
            .arg("60")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(options);
        self.run(pg_ctl, "pg_ctl start").await.with_context(|| format!("see {}", log.display()))?;
        tracing::info!(data_dir = %self.data_dir.display(), "PostgreSQL cluster started");
        Ok(())
    }

    /// Whether a server runs on this data directory.
    pub async fn is_running(&self) -> bool {
        let mut status = self.command("pg_ctl");
        status.arg("status").arg("-D").arg(&self.data_dir).stdout(Stdio::null()).stderr(Stdio::null());
        status.status().await.map(|status| status.success()).unwrap_or(false)
    }

    /// Stops the server (fast shutdown: running transactions roll back).
    pub async fn stop(&self) -> anyhow::Result<()> {
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl.arg("stop").arg("-w").arg("-m").arg("fast").arg("-D").arg(&self.data_dir);
        self.run(pg_ctl, "pg_ctl stop").await?;
        tracing::info!(data_dir = %self.data_dir.display(), "PostgreSQL cluster stopped");
        Ok(())
    }

    /// A shell command that stops this cluster immediately, for a watchdog
    /// that outlives the process which started it.
    pub fn stop_command(&self) -> String {
        let pg_ctl = self.bin_dir.join("pg_ctl");
        let stop = format!("{} stop -m immediate -D '{}'", pg_ctl.display(), self.data_dir.display());
        match &self.run_as {
            Some(user) => format!("runuser -u {user} -- {stop}"),
            None => stop,
        }
    }
}

fn urlencode_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => encoded.push(byte as char),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_point_at_the_socket_directory() {
        let cluster = PgCluster {
            bin_dir: PathBuf::from("/usr/bin"),
            data_dir: PathBuf::from("/tmp/x/pg"),
            socket_dir: PathBuf::from("/tmp/x/pg.sock"),
            run_as: None,
            unsafe_fast: false,
        };
        assert_eq!(cluster.url("rustbill"), "postgres://rustbill@localhost/rustbill?host=%2Ftmp%2Fx%2Fpg.sock");
    }
}
