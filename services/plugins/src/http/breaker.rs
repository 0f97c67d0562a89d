//! One circuit breaker per downstream host (spec HA guide §5.1–5.2).
//!
//! Closed → (`failure_threshold` consecutive failed calls) → Open: calls
//! fail at once → (`open_cooldown` later) → HalfOpen: exactly one probe call
//! goes through; its success closes the breaker, its failure opens it again.
//! A failed *call* counts once, whatever number of attempts its retries
//! made. Every state change is logged at WARN.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The state of one host's breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

impl std::fmt::Display for BreakerState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What admins see of one host's breaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakerSnapshot {
    /// `host:port` of the downstream.
    pub host: String,
    pub state: BreakerState,
    /// Consecutive failed calls (reset by a success).
    pub consecutive_failures: u32,
    /// When the breaker last opened; `None` while closed.
    pub opened_at: Option<DateTime<Utc>>,
    /// The reason of the last failure, if any.
    pub last_error: Option<String>,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive_failures: u32,
    opened: Option<(Instant, DateTime<Utc>)>,
    probe_in_flight: bool,
    last_error: Option<String>,
}

/// The breaker of one host.
#[derive(Debug)]
pub struct CircuitBreaker {
    host: String,
    threshold: u32,
    cooldown: Duration,
    inner: Mutex<Inner>,
}

/// A call the breaker refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Time left until a probe may go through (zero while a probe runs).
    pub retry_in: Duration,
    pub consecutive_failures: u32,
}

/// The right to make one call; report its outcome with
/// [`Permit::success`] or [`Permit::failure`]. Dropping it unreported (the
/// call was cancelled) changes nothing, except that a probe's slot is freed.
#[derive(Debug)]
pub struct Permit {
    breaker: Arc<CircuitBreaker>,
    probe: bool,
    reported: bool,
}

impl Permit {
    /// Whether this call is the single half-open probe (it gets no retries).
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    pub fn success(mut self) {
        self.reported = true;
        self.breaker.on_success(self.probe);
    }

    pub fn failure(mut self, reason: &str) {
        self.reported = true;
        self.breaker.on_failure(self.probe, reason);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.reported && self.probe {
            self.breaker.lock().probe_in_flight = false;
        }
    }
}

impl CircuitBreaker {
    pub fn new(host: impl Into<String>, threshold: u32, cooldown: Duration) -> Self {
        Self {
            host: host.into(),
            threshold: threshold.max(1),
            cooldown,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                opened: None,
                probe_in_flight: false,
                last_error: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The state stays consistent at every unlock, so a poisoned lock
        // (a panic elsewhere while holding it) is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks to make a call now.
    pub fn admit(self: &Arc<Self>) -> Result<Permit, Rejected> {
        let mut inner = self.lock();
        let probe = match inner.state {
            BreakerState::Closed => false,
            BreakerState::Open => {
                let elapsed = inner.opened.map(|(at, _)| at.elapsed()).unwrap_or(self.cooldown);
                if elapsed < self.cooldown {
                    return Err(Rejected {
                        retry_in: self.cooldown - elapsed,
                        consecutive_failures: inner.consecutive_failures,
                    });
                }
                inner.state = BreakerState::HalfOpen;
                inner.probe_in_flight = true;
                tracing::warn!(host = %self.host, "circuit breaker half-open: letting one probe through");
                true
            }
            BreakerState::HalfOpen => {
                if inner.probe_in_flight {
                    return Err(Rejected {
                        retry_in: Duration::ZERO,
                        consecutive_failures: inner.consecutive_failures,
                    });
                }
                inner.probe_in_flight = true;
                true
            }
        };
        Ok(Permit { breaker: Arc::clone(self), probe, reported: false })
    }

    fn on_success(&self, probe: bool) {
        let mut inner = self.lock();
        match inner.state {
            BreakerState::Closed => inner.consecutive_failures = 0,
            BreakerState::HalfOpen if probe => {
                inner.state = BreakerState::Closed;
                inner.consecutive_failures = 0;
                inner.opened = None;
                inner.probe_in_flight = false;
                tracing::warn!(host = %self.host, "circuit breaker closed: probe succeeded");
            }
            // A call admitted before the breaker opened proves little;
            // only the probe may close it.
            BreakerState::HalfOpen | BreakerState::Open => {}
        }
    }

    fn on_failure(&self, probe: bool, reason: &str) {
        let mut inner = self.lock();
        inner.last_error = Some(reason.to_string());
        match inner.state {
            BreakerState::Closed => {
                inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
                if inner.consecutive_failures >= self.threshold {
                    inner.state = BreakerState::Open;
                    inner.opened = Some((Instant::now(), Utc::now()));
                    tracing::warn!(
                        host = %self.host,
                        failures = inner.consecutive_failures,
                        cooldown_ms = self.cooldown.as_millis() as u64,
                        error = %reason,
                        "circuit breaker opened"
                    );
                }
            }
            BreakerState::HalfOpen if probe => {
                inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
                inner.state = BreakerState::Open;
                inner.opened = Some((Instant::now(), Utc::now()));
                inner.probe_in_flight = false;
                tracing::warn!(host = %self.host, error = %reason, "circuit breaker reopened: probe failed");
            }
            BreakerState::HalfOpen | BreakerState::Open => {}
        }
    }

    pub fn snapshot(&self) -> BreakerSnapshot {
        let inner = self.lock();
        BreakerSnapshot {
            host: self.host.clone(),
            state: inner.state,
            consecutive_failures: inner.consecutive_failures,
            opened_at: inner.opened.map(|(_, at)| at),
            last_error: inner.last_error.clone(),
        }
    }
}

/// The breakers of all hosts, created on first use.
#[derive(Debug)]
pub struct Breakers {
    threshold: u32,
    cooldown: Duration,
    by_host: RwLock<HashMap<String, Arc<CircuitBreaker>>>,
}

impl Breakers {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self { threshold, cooldown, by_host: RwLock::new(HashMap::new()) }
    }

    /// The breaker of `host` (`host:port`).
    pub fn get(&self, host: &str) -> Arc<CircuitBreaker> {
        if let Some(breaker) = self.by_host.read().unwrap_or_else(PoisonError::into_inner).get(host) {
            return Arc::clone(breaker);
        }
        let mut by_host = self.by_host.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            by_host
                .entry(host.to_string())
                .or_insert_with(|| Arc::new(CircuitBreaker::new(host, self.threshold, self.cooldown))),
        )
    }

    /// Every host's breaker, sorted by host.
    pub fn snapshot(&self) -> Vec<BreakerSnapshot> {
        let breakers: Vec<Arc<CircuitBreaker>> =
            self.by_host.read().unwrap_or_else(PoisonError::into_inner).values().cloned().collect();
        let mut snapshots: Vec<BreakerSnapshot> = breakers.iter().map(|breaker| breaker.snapshot()).collect();
        snapshots.sort_by(|left, right| left.host.cmp(&right.host));
        snapshots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(cooldown: Duration) -> Arc<CircuitBreaker> {
        Arc::new(CircuitBreaker::new("example.test:443", 3, cooldown))
    }

    #[test]
    fn opens_after_threshold_consecutive_failures() {
        let breaker = breaker(Duration::from_secs(60));
        for _ in 0..2 {
            breaker.admit().unwrap().failure("boom");
        }
        breaker.admit().unwrap().success();
        assert_eq!(breaker.snapshot().consecutive_failures, 0, "a success resets the count");
        for _ in 0..3 {
            breaker.admit().unwrap().failure("boom");
        }
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.state, BreakerState::Open);
        assert!(snapshot.opened_at.is_some());
        assert_eq!(snapshot.last_error.as_deref(), Some("boom"));
        let rejected = breaker.admit().unwrap_err();
        assert!(rejected.retry_in > Duration::from_secs(50));
    }

    #[test]
    fn half_open_admits_one_probe_and_closes_on_success() {
        let breaker = breaker(Duration::ZERO);
        for _ in 0..3 {
            breaker.admit().unwrap().failure("boom");
        }
        let probe = breaker.admit().unwrap();
        assert!(probe.is_probe());
        assert_eq!(breaker.snapshot().state, BreakerState::HalfOpen);
        assert!(breaker.admit().is_err(), "only one probe at a time");
        probe.success();
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.state, BreakerState::Closed);
        assert_eq!(snapshot.consecutive_failures, 0);
        assert!(snapshot.opened_at.is_none());
        assert!(!breaker.admit().unwrap().is_probe());
    }

    #[test]
    fn failed_probe_reopens_and_dropped_probe_frees_the_slot() {
        let breaker = breaker(Duration::ZERO);
        for _ in 0..3 {
            breaker.admit().unwrap().failure("boom");
        }
        breaker.admit().unwrap().failure("still down");
        assert_eq!(breaker.snapshot().state, BreakerState::Open);
        let probe = breaker.admit().unwrap();
        assert!(probe.is_probe());
        drop(probe);
        assert!(breaker.admit().unwrap().is_probe(), "a cancelled probe lets the next call probe");
    }

    #[test]
    fn late_results_of_ordinary_calls_do_not_close_an_open_breaker() {
        let breaker = breaker(Duration::from_secs(60));
        let late = breaker.admit().unwrap();
        for _ in 0..3 {
            breaker.admit().unwrap().failure("boom");
        }
        late.success();
        assert_eq!(breaker.snapshot().state, BreakerState::Open);
    }
}
