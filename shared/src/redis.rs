//! Optional Redis (`[redis]`, spec HA guide §6): a connection that is used
//! while it works and skipped while it does not. Every caller has a
//! PostgreSQL or in-memory path of its own; Redis only makes it faster or
//! shared between instances, so a Redis failure never fails a request.
//!
//! A failed or slow command (over 500 ms) marks Redis down: the failure is
//! logged once at WARN, callers take their fallback, and Redis is tried
//! again at most every 5 s; the first command that works again is logged
//! once at INFO. The connection manager reconnects by itself.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;

use crate::config::RedisConfig;

/// How long a Redis command may take before the caller falls back.
pub const TIMEOUT: Duration = Duration::from_millis(500);
/// How long Redis is skipped after a failure.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// One process's use of Redis for one purpose (e.g. the edge's rate
/// limits, identity's session cache).
pub struct Redis {
    client: redis::Client,
    prefix: String,
    /// What callers do while Redis is down, for the log line.
    fallback: &'static str,
    connection: tokio::sync::Mutex<Option<ConnectionManager>>,
    health: Mutex<Health>,
    /// Commands that succeeded.
    used: AtomicU64,
}

/// Whether Redis is in use, and the moments that decide it.
#[derive(Debug, Default)]
struct Health {
    /// Callers are on their fallback.
    degraded: bool,
    /// When the last command failed.
    failed_at: Option<Instant>,
    /// When Redis last came back.
    recovered_at: Option<Instant>,
    /// While degraded: Redis is skipped until then.
    retry_at: Option<Instant>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Redis")
            .field("prefix", &self.prefix)
            .field("degraded", &self.degraded())
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// `None` when `[redis].enabled` is false; an error when the URL is not
    /// a Redis URL (a configuration mistake, reported at startup). Nothing
    /// is connected yet: an unreachable Redis is only a degraded start.
    pub fn from_config(config: &RedisConfig, fallback: &'static str) -> anyhow::Result<Option<Arc<Self>>> {
        if !config.enabled {
            return Ok(None);
        }
        let client = redis::Client::open(config.url.expose_secret())
            .map_err(|error| anyhow::anyhow!("[redis].url is not usable: {error}"))?;
        Ok(Some(Arc::new(Self {
            client,
            prefix: config.prefix.clone(),
            fallback,
            connection: tokio::sync::Mutex::new(None),
            health: Mutex::new(Health::default()),
            used: AtomicU64::new(0),
        })))
    }

    /// `<prefix>:<suffix>`.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.prefix)
    }

    /// Whether the last command failed (callers are on their fallback).
    pub fn degraded(&self) -> bool {
        self.health().degraded
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Commands that succeeded so far.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Runs `command` on the connection: `Some` with its result, or `None`
    /// when Redis is down, failed or was too slow (the caller falls back).
    pub async fn run<T, F, Fut>(&self, command: F) -> Option<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if self.health().retry_at.is_some_and(|at| Instant::now() < at) {
            return None;
        }
        let started = Instant::now();
        let attempt = async {
            let connection = self.connection().await?;
            command(connection).await
        };
        match tokio::time::timeout(TIMEOUT * 2, attempt).await {
            Ok(Ok(value)) => {
                self.used.fetch_add(1, Ordering::Relaxed);
                // Only a command sent after the last failure proves Redis is
                // back: one answered just before it died proves nothing.
                let mut health = self.health();
                if health.degraded && health.failed_at.is_some_and(|at| at < started) {
                    *health = Health { recovered_at: Some(Instant::now()), ..Health::default() };
                    tracing::info!(prefix = %self.prefix, "redis is reachable again and used again");
                }
                Some(value)
            }
            Ok(Err(error)) => {
                self.failed(started, &error.to_string());
                None
            }
            Err(_) => {
                self.failed(started, "timed out");
                None
            }
        }
    }

    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_with_config(self.client.clone(), config).await?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    fn failed(&self, started: Instant, reason: &str) {
        let mut health = self.health();
        // A command sent before Redis came back failed on the old, broken
        // connection: that is not news.
        if health.recovered_at.is_some_and(|at| started < at) {
            return;
        }
        let now = Instant::now();
        health.failed_at = Some(now);
        health.retry_at = Some(now + RETRY_AFTER);
        if !std::mem::replace(&mut health.degraded, true) {
            tracing::warn!(error = %reason, fallback = self.fallback, "redis is not available; falling back until it is back");
        }
    }
}
