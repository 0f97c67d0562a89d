//! Timeouts, retries and circuit-breaker settings of the outbound client.

use std::time::Duration;

/// How the outbound client behaves. [`HttpPolicy::default`] holds the
/// production values (spec HA guide §5); tests shorten the durations.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Time allowed to open a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Time allowed for one whole attempt: connect, send, read the body.
    pub request_timeout: Duration,
    /// Further attempts after a transient failure (connect error, timeout,
    /// 502/503/504); `3` means at most 4 attempts.
    pub max_retries: u32,
    /// Delay before the first retry; doubles on every further one.
    pub backoff_initial: Duration,
    /// Upper bound of one backoff delay (and of a `Retry-After` honoured).
    pub backoff_max: Duration,
    /// Consecutive failed calls to one host that open its breaker.
    pub failure_threshold: u32,
    /// How long an open breaker rejects calls before it lets one probe
    /// through (half-open).
    pub open_cooldown: Duration,
    /// Largest response body read; a longer one fails the call.
    pub max_response_bytes: usize,
    /// Most mTLS clients kept (one per distinct certificate); the least
    /// recently used one goes first.
    pub max_cert_clients: usize,
    /// Extra trusted root certificates (PEM) added to the system's, e.g. a
    /// private CA of an upstream; also used by the mTLS clients.
    pub extra_root_certs_pem: Vec<String>,
    /// `User-Agent` of every request.
    pub user_agent: String,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            max_retries: 3,
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(5),
            failure_threshold: 5,
            open_cooldown: Duration::from_secs(30),
            max_response_bytes: 16 * 1024 * 1024,
            max_cert_clients: 64,
            extra_root_certs_pem: Vec::new(),
            user_agent: concat!("rustbill-plugins/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

impl HttpPolicy {
    /// The delay before retry number `retry` (1-based): exponential from
    /// [`Self::backoff_initial`], capped at [`Self::backoff_max`], with up to
    /// a quarter taken off at random so that many callers do not retry in
    /// lockstep.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(20);
        let full = self.backoff_initial.saturating_mul(1u32 << exponent).min(self.backoff_max);
        let jitter = full.mul_f64(0.25 * pseudo_random_fraction());
        full.saturating_sub(jitter)
    }
}

/// A fraction in [0, 1) good enough for jitter (not for anything secret).
fn pseudo_random_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = HttpPolicy {
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_millis(350),
            ..HttpPolicy::default()
        };
        let first = policy.backoff(1);
        assert!(first <= Duration::from_millis(100) && first >= Duration::from_millis(75), "{first:?}");
        let second = policy.backoff(2);
        assert!(second <= Duration::from_millis(200) && second >= Duration::from_millis(150), "{second:?}");
        let capped = policy.backoff(10);
        assert!(capped <= Duration::from_millis(350) && capped >= Duration::from_millis(262), "{capped:?}");
        assert!(policy.backoff(u32::MAX) <= Duration::from_millis(350));
    }
}
