//! Test support: real servers on loopback (HTTP, HTTPS with client
//! certificates, SMTP with STARTTLS/implicit TLS), a test PKI, log capture
//! and a runner that calls host functions the way scripts do.
#![allow(dead_code)]

pub mod http_server;
pub mod logs;
pub mod pki;
pub mod script;
pub mod smtp_server;

use std::time::Duration;

/// Polls `check` until it holds, failing after `timeout`.
pub async fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
