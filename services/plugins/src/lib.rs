//! The plugin service: the only crate that embeds Rune.
//!
//! - [`engine`]: compiles plugin scripts once per (interface, script hash),
//!   checks their contract, runs each call in a fresh, bounded VM and turns
//!   what scripts return into typed results;
//! - [`host`]: the `rustbill_host::` functions scripts call;
//! - [`http`]: the one outbound HTTP client (retries, circuit breakers, mTLS).

pub mod engine;
pub mod host;
pub mod http;
