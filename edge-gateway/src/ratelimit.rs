//! Layer 3: per client IP limits on the login and registration RPCs.
//!
//! - `/rustbill.identity.IdentityService/Login`: `[rate_limit].login_per_sec`;
//! - `.../Register` and `.../SendVerificationCode`: `[rate_limit].register_per_sec`
//!   each (two separate counters, so "send code, then register" within one
//!   second works).
//!
//! In memory (a governor keyed limiter, burst = the per-second rate) by
//! default. With `[redis].enabled` the count is shared between edge
//! instances: a fixed one-second window, `INCR` + `EXPIRE` on
//! `<prefix>:ratelimit:<bucket>:<ip>:<unix second>`. When Redis fails the
//! edge falls back to memory, says so once (warn), retries Redis at most
//! every few seconds, and says once when it is back.
//!
//! Over the limit: gRPC `RESOURCE_EXHAUSTED` "too many requests, retry
//! later", trailers-only. A rate of 0 turns that limit off.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter as Governor};
use rustbill_shared::redis::Redis;
use rustbill_shared::{AppError, Config};

use crate::context::client_ip;
use crate::cors::CorsPolicy;
use crate::middleware::{BoxSvc, Middleware, Req, Resp, call};
use crate::status::error_response;

/// The rate-limited RPCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Bucket {
    Login,
    Register,
    SendVerificationCode,
}

impl Bucket {
    fn of(path: &str) -> Option<Bucket> {
        match path.strip_prefix("/rustbill.identity.IdentityService/")? {
            // The second step of an admin login is guessed like a password.
            "Login" | "VerifyLoginTotp" => Some(Self::Login),
            "Register" => Some(Self::Register),
            "SendVerificationCode" => Some(Self::SendVerificationCode),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Register => "register",
            Self::SendVerificationCode => "send_code",
        }
    }
}

struct Limit {
    per_sec: NonZeroU32,
    memory: DefaultKeyedRateLimiter<IpAddr>,
}

/// The limiter shared by every request.
pub(crate) struct RateLimiter {
    limits: HashMap<Bucket, Limit>,
    redis: Option<RedisWindow>,
    checks: AtomicU64,
}

impl RateLimiter {
    /// `None` when `[rate_limit].enabled` is false.
    pub(crate) fn from_config(config: &Config) -> anyhow::Result<Option<Self>> {
        if !config.rate_limit.enabled {
            return Ok(None);
        }
        let mut limits = HashMap::new();
        for (bucket, per_sec) in [
            (Bucket::Login, config.rate_limit.login_per_sec),
            (Bucket::Register, config.rate_limit.register_per_sec),
            (Bucket::SendVerificationCode, config.rate_limit.register_per_sec),
        ] {
            if let Some(per_sec) = NonZeroU32::new(per_sec) {
                limits.insert(bucket, Limit { per_sec, memory: Governor::keyed(Quota::per_second(per_sec)) });
            }
        }
        let redis = Redis::from_config(&config.redis, "rate limits are counted in memory, per edge instance")?
            .map(|redis| RedisWindow { redis });
        Ok(Some(Self { limits, redis, checks: AtomicU64::new(0) }))
    }

    /// True when `ip` may make one more `bucket` call now.
    pub(crate) async fn allow(&self, bucket: Bucket, ip: IpAddr) -> bool {
        let Some(limit) = self.limits.get(&bucket) else {
            return true;
        };
        if let Some(redis) = &self.redis
            && let Some(allowed) = redis.allow(bucket, ip, limit.per_sec.get()).await
        {
            return allowed;
        }
        // Forget idle clients now and then so the map stays small.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            for limit in self.limits.values() {
                limit.memory.retain_recent();
                limit.memory.shrink_to_fit();
            }
        }
        limit.memory.check_key(&ip).is_ok()
    }
}

/// The Redis fixed-window counter.
struct RedisWindow {
    redis: Arc<Redis>,
}

impl RedisWindow {
    /// `Some(allowed)` from Redis, or `None` when Redis is not usable (the
    /// caller then counts in memory).
    async fn allow(&self, bucket: Bucket, ip: IpAddr, per_sec: u32) -> Option<bool> {
        let window = SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0);
        let key = self.redis.key(&format!("ratelimit:{}:{ip}:{window}", bucket.name()));
        let count = self
            .redis
            .run(|mut connection| async move {
                let (count,): (i64,) =
                    redis::pipe().atomic().incr(&key, 1).expire(&key, 2).ignore().query_async(&mut connection).await?;
                Ok(count)
            })
            .await?;
        Some(count <= i64::from(per_sec))
    }
}

/// Layer 3 middleware.
pub(crate) struct RateLimitLayer {
    pub(crate) limiter: Arc<RateLimiter>,
    /// Errors answered here still need CORS headers for the browser to
    /// read them.
    pub(crate) cors: CorsPolicy,
}

impl Middleware for RateLimitLayer {
    fn handle(self: Arc<Self>, request: Req, next: BoxSvc) -> BoxFuture<'static, Resp> {
        let (Some(bucket), Some(ip)) = (Bucket::of(request.uri().path()), client_ip(&request)) else {
            return Box::pin(call(next, request));
        };
        Box::pin(async move {
            if self.limiter.allow(bucket, ip).await {
                return call(next, request).await;
            }
            tracing::info!(client_ip = %ip, rpc = bucket.name(), "rate limited");
            let headers = request.headers().clone();
            let answer = crate::middleware::service_fn(move |_request: Req| {
                let headers = headers.clone();
                async move {
                    error_response(
                        &headers,
                        AppError::ResourceExhausted {
                            message: "too many requests, retry later".into(),
                            retry_after_secs: Some(1),
                        },
                    )
                }
            });
            call(self.cors.wrap(answer), request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_match_the_identity_rpcs() {
        assert_eq!(Bucket::of("/rustbill.identity.IdentityService/Login"), Some(Bucket::Login));
        assert_eq!(Bucket::of("/rustbill.identity.IdentityService/Register"), Some(Bucket::Register));
        assert_eq!(
            Bucket::of("/rustbill.identity.IdentityService/SendVerificationCode"),
            Some(Bucket::SendVerificationCode)
        );
        assert_eq!(Bucket::of("/rustbill.identity.IdentityService/GetMe"), None);
        assert_eq!(Bucket::of("/rustbill.customer.CustomerService/Login"), None);
    }

    #[tokio::test]
    async fn memory_limits_per_ip() {
        let mut config = Config::default();
        config.rate_limit.login_per_sec = 2;
        config.rate_limit.register_per_sec = 0;
        let limiter = RateLimiter::from_config(&config).unwrap().unwrap();
        let first: IpAddr = "192.0.2.1".parse().unwrap();
        let second: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limiter.allow(Bucket::Login, first).await);
        assert!(limiter.allow(Bucket::Login, first).await);
        assert!(!limiter.allow(Bucket::Login, first).await);
        assert!(limiter.allow(Bucket::Login, second).await);
        for _ in 0..10 {
            assert!(limiter.allow(Bucket::Register, first).await, "0 turns the limit off");
        }
        config.rate_limit.enabled = false;
        assert!(RateLimiter::from_config(&config).unwrap().is_none());
    }

    #[tokio::test]
    async fn unreachable_redis_falls_back_to_memory() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut config = Config::default();
        config.rate_limit.login_per_sec = 1;
        config.redis.enabled = true;
        config.redis.url = secrecy::SecretString::from(format!("redis://127.0.0.1:{port}"));
        let limiter = RateLimiter::from_config(&config).unwrap().unwrap();
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        assert!(limiter.allow(Bucket::Login, ip).await);
        assert!(!limiter.allow(Bucket::Login, ip).await);
        assert!(limiter.redis.as_ref().unwrap().redis.degraded());
    }
}
