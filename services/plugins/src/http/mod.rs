//! Outbound HTTP: the one client every plugin HTTP call goes through
//! (spec HA guide §5, DESIGN "Background work").
//!
//! - one reqwest client (rustls) with connect and request timeouts;
//! - up to [`HttpPolicy::max_retries`] retries with exponential backoff on
//!   transient failures: connect errors, timeouts, 502/503/504 (never on
//!   4xx or other statuses);
//! - a circuit breaker per host (`host:port`): 5 consecutive failed calls →
//!   open (calls fail at once with [`HttpError::CircuitOpen`]) for 30 s →
//!   half-open (one probe; success closes, failure reopens); a call fails
//!   when it ends in a transport error or a 5xx status;
//! - mTLS clients cached by the SHA-256 of certificate + key (+ extra CA);
//! - [`OutboundHttp::snapshot`] lists every host's breaker for admins.
//!
//! All durations live in [`HttpPolicy`] so tests can shorten them.

mod breaker;
mod client;
mod policy;

pub use breaker::{BreakerSnapshot, BreakerState, Breakers, CircuitBreaker, Permit, Rejected};
pub use client::{ClientIdentity, HttpError, OutboundHttp, OutboundRequest, OutboundResponse};
pub use policy::HttpPolicy;
