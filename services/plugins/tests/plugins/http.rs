//! The outbound client against real servers on loopback: retries with
//! backoff, the per-host circuit breaker (open, fail fast, half-open probe,
//! close/reopen), timeouts, the mTLS client cache. Breaker scenarios run
//! through scripts (`rustbill_host::http_get`), as plugins would hit them.

use crate::support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rustbill_plugins::host::HostEnv;
use rustbill_plugins::http::{BreakerState, ClientIdentity, HttpPolicy, OutboundHttp, OutboundRequest};
use support::http_server::{HttpServer, Reply, responder};
use support::logs::LogBuffer;
use support::pki::Pki;
use support::script::run;

const GET: &str = r#"pub fn main(url) { rustbill_host::http_get(url) }"#;
const POST: &str = r#"pub fn main(url) { rustbill_host::http_post(url, "a=1", "application/x-www-form-urlencoded") }"#;

/// Everything logged by any thread of this test binary (the breaker logs
/// from the runtime's threads).
fn global_logs() -> &'static LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = LogBuffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(buffer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        tracing::subscriber::set_global_default(subscriber).ok();
        buffer
    })
}

fn policy() -> HttpPolicy {
    HttpPolicy {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        backoff_initial: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        ..HttpPolicy::default()
    }
}

fn env(policy: HttpPolicy) -> Arc<HostEnv> {
    Arc::new(HostEnv::new(tokio::runtime::Handle::current(), None).with_http(Arc::new(OutboundHttp::new(policy))))
}

fn host_of(server: &HttpServer) -> String {
    format!("127.0.0.1:{}", server.addr.port())
}

fn breaker(env: &HostEnv, host: &str) -> rustbill_plugins::http::BreakerSnapshot {
    env.http
        .snapshot()
        .into_iter()
        .find(|snapshot| snapshot.host == host)
        .unwrap_or_else(|| panic!("no breaker for {host}"))
}

// ── Retries ──────────────────────────────────────────────────────────────

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_statuses_are_retried_until_success() {
    let server = HttpServer::start(responder(|_, number| match number {
        1 => Reply::new(503, "busy"),
        2 => Reply::new(503, "busy").header("retry-after", "0"),
        _ => Reply::new(200, "ok"),
    }))
    .await;
    let env = env(policy());
    assert_eq!(run(&env, "iface-retry", GET, &[&server.url("/flaky")]).await.value(), "ok");
    assert_eq!(server.request_count(), 3, "two retries, then success");
    let snapshot = breaker(&env, &host_of(&server));
    assert_eq!((snapshot.state, snapshot.consecutive_failures), (BreakerState::Closed, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_stop_after_max_retries() {
    let server = HttpServer::start(responder(|_, number| {
        if number % 2 == 1 { Reply::new(502, "bad gateway") } else { Reply::new(504, "gateway timeout") }
    }))
    .await;
    let env = env(policy());
    let started = Instant::now();
    let outcome = run(&env, "iface-retry", GET, &[&server.url("/down")]).await;
    assert_eq!(outcome.value(), "ERROR: HTTP 504 Gateway Timeout: gateway timeout");
    assert_eq!(server.request_count(), 4, "one attempt and three retries");
    assert!(started.elapsed() < Duration::from_secs(3), "backoffs follow the policy");
    assert_eq!(breaker(&env, &host_of(&server)).consecutive_failures, 1, "one failed call, whatever its attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_and_other_server_errors_are_not_retried() {
    let server = HttpServer::start(responder(|request, _| match request.target.as_str() {
        "/bad" => Reply::new(400, "bad request"),
        "/limited" => Reply::new(429, "slow down"),
        _ => Reply::new(500, "oops"),
    }))
    .await;
    let env = env(policy());
    assert_eq!(
        run(&env, "iface-retry", GET, &[&server.url("/bad")]).await.value(),
        "ERROR: HTTP 400 Bad Request: bad request"
    );
    assert_eq!(
        run(&env, "iface-retry", GET, &[&server.url("/limited")]).await.value(),
        "ERROR: HTTP 429 Too Many Requests: slow down"
    );
    assert_eq!(server.request_count(), 2);
    let snapshot = breaker(&env, &host_of(&server));
    assert_eq!(snapshot.consecutive_failures, 0, "4xx means the host is up");

    assert_eq!(
        run(&env, "iface-retry", GET, &[&server.url("/crash")]).await.value(),
        "ERROR: HTTP 500 Internal Server Error: oops"
    );
    assert_eq!(server.request_count(), 3, "500 is not retried");
    assert_eq!(breaker(&env, &host_of(&server)).consecutive_failures, 1, "but counts as a failure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_are_retried() {
    // A server that accepts, reads and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let accepting = tokio::spawn({
        let connections = connections.clone();
        async move {
            let mut open = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                open.push(stream);
            }
        }
    });
    let env = env(HttpPolicy { request_timeout: Duration::from_millis(200), max_retries: 2, ..policy() });
    let outcome = run(&env, "iface-slow", GET, &[&format!("http://127.0.0.1:{port}/slow")]).await;
    assert!(outcome.value().starts_with(&format!("ERROR: request to 127.0.0.1:{port} failed")), "{}", outcome.value());
    assert!(outcome.value().contains("timed out"), "{}", outcome.value());
    assert_eq!(connections.load(Ordering::SeqCst), 3, "one attempt and two retries, each on its own connection");
    accepting.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_that_may_have_been_delivered_are_not_repeated() {
    // 502/504 and timeouts may hide a processed request: a POST (a refund,
    // an order) is sent once. 503 and refused connections deliver nothing,
    // so those are retried for POST too.
    let server = HttpServer::start(responder(|request, _| match request.target.as_str() {
        "/gateway-timeout" => Reply::new(504, "gateway timeout"),
        _ => Reply::new(503, "busy"),
    }))
    .await;
    let env = env(policy());
    let outcome = run(&env, "iface-post", POST, &[&server.url("/gateway-timeout")]).await;
    assert_eq!(outcome.value(), "ERROR: HTTP 504 Gateway Timeout: gateway timeout");
    assert_eq!(server.request_count(), 1, "a POST answered 504 is not repeated");
    let outcome = run(&env, "iface-post", POST, &[&server.url("/busy")]).await;
    assert_eq!(outcome.value(), "ERROR: HTTP 503 Service Unavailable: busy");
    assert_eq!(server.request_count(), 1 + 4, "503 means not processed: retried");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let accepting = tokio::spawn({
        let connections = connections.clone();
        async move {
            let mut open = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                open.push(stream);
            }
        }
    });
    let env = env_with_timeout();
    let outcome = run(&env, "iface-post-slow", POST, &[&format!("http://127.0.0.1:{port}/slow")]).await;
    assert!(outcome.value().contains("timed out"), "{}", outcome.value());
    assert_eq!(connections.load(Ordering::SeqCst), 1, "a POST that timed out is not repeated");
    accepting.abort();
}

fn env_with_timeout() -> Arc<HostEnv> {
    env(HttpPolicy { request_timeout: Duration::from_millis(200), max_retries: 2, ..policy() })
}

// ── Circuit breaker ──────────────────────────────────────────────────────

async fn call_until_not_circuit_open(env: &Arc<HostEnv>, url: &str, deadline: Duration) -> String {
    let started = Instant::now();
    loop {
        let value = run(env, "iface-breaker", GET, &[url]).await.value().to_string();
        if !value.starts_with("ERROR: circuit open") {
            return value;
        }
        assert!(started.elapsed() < deadline, "the breaker stayed open for {deadline:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_opens_fails_fast_probes_and_closes_per_host() {
    let logs = global_logs();
    let healthy = Arc::new(AtomicBool::new(false));
    let failing = HttpServer::start(responder({
        let healthy = healthy.clone();
        move |_, _| if healthy.load(Ordering::SeqCst) { Reply::new(200, "ok") } else { Reply::new(503, "down") }
    }))
    .await;
    let other = HttpServer::start(responder(|_, _| Reply::new(200, "other ok"))).await;
    let cooldown = Duration::from_millis(400);
    let env = env(HttpPolicy { max_retries: 1, open_cooldown: cooldown, ..policy() });
    let failing_host = host_of(&failing);
    let url = failing.url("/pay");

    // Five failed calls (two attempts each) open the breaker.
    for call in 1..=5 {
        let value = run(&env, "iface-breaker", GET, &[&url]).await.value().to_string();
        assert_eq!(value, "ERROR: HTTP 503 Service Unavailable: down", "call {call}");
    }
    let open_since = Instant::now();
    assert_eq!(failing.request_count(), 10);
    let snapshot = breaker(&env, &failing_host);
    assert_eq!(snapshot.state, BreakerState::Open);
    assert_eq!(snapshot.consecutive_failures, 5);
    assert!(snapshot.opened_at.is_some());
    assert_eq!(snapshot.last_error.as_deref(), Some("HTTP 503"));

    // Open: calls fail at once and never reach the server.
    let started = Instant::now();
    let rejected = run(&env, "iface-breaker", GET, &[&url]).await.value().to_string();
    assert!(
        rejected.starts_with(&format!("ERROR: circuit open for {failing_host} after 5 consecutive failures")),
        "{rejected}"
    );
    assert!(started.elapsed() < Duration::from_secs(1), "fail fast");
    assert_eq!(failing.request_count(), 10, "no request reached the server while open");

    // Another host is not affected.
    assert_eq!(run(&env, "iface-breaker", GET, &[&other.url("/")]).await.value(), "other ok");
    assert_eq!(breaker(&env, &host_of(&other)).state, BreakerState::Closed);

    // After the cool-down one probe goes through; its success closes.
    healthy.store(true, Ordering::SeqCst);
    assert_eq!(call_until_not_circuit_open(&env, &url, Duration::from_secs(5)).await, "ok");
    assert!(open_since.elapsed() + Duration::from_millis(100) >= cooldown, "no probe before the cool-down");
    assert_eq!(failing.request_count(), 11, "exactly one probe");
    let snapshot = breaker(&env, &failing_host);
    assert_eq!((snapshot.state, snapshot.consecutive_failures, snapshot.opened_at), (BreakerState::Closed, 0, None));
    assert_eq!(run(&env, "iface-breaker", GET, &[&url]).await.value(), "ok");

    // Down again: open again; a failed probe (one attempt, no retries)
    // reopens at once.
    healthy.store(false, Ordering::SeqCst);
    for _ in 0..5 {
        run(&env, "iface-breaker", GET, &[&url]).await;
    }
    assert_eq!(breaker(&env, &failing_host).state, BreakerState::Open);
    let before_probe = failing.request_count();
    assert_eq!(
        call_until_not_circuit_open(&env, &url, Duration::from_secs(5)).await,
        "ERROR: HTTP 503 Service Unavailable: down"
    );
    assert_eq!(failing.request_count(), before_probe + 1, "the probe is a single request");
    let snapshot = breaker(&env, &failing_host);
    assert_eq!((snapshot.state, snapshot.consecutive_failures), (BreakerState::Open, 6));
    assert!(run(&env, "iface-breaker", GET, &[&url]).await.value().starts_with("ERROR: circuit open"));

    // Admins get the snapshot as JSON; every state change was logged.
    let json = serde_json::to_value(env.http.snapshot()).unwrap();
    let entry = json.as_array().unwrap().iter().find(|entry| entry["host"] == failing_host.as_str()).unwrap();
    assert_eq!(entry["state"], "open");
    assert_eq!(entry["consecutive_failures"], 6);
    assert!(entry["opened_at"].is_string());
    let text = logs.text();
    let host_field = format!("host={failing_host}");
    for message in
        ["circuit breaker opened", "circuit breaker half-open", "circuit breaker closed", "circuit breaker reopened"]
    {
        assert!(
            text.lines().any(|line| line.contains("WARN") && line.contains(message) && line.contains(&host_field)),
            "no WARN {message:?} for {failing_host} in:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breaker_opens_on_a_closed_port() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let env = env(HttpPolicy { max_retries: 0, ..policy() });
    let url = format!("http://127.0.0.1:{port}/");
    for _ in 0..5 {
        let value = run(&env, "iface-closed", GET, &[&url]).await.value().to_string();
        assert!(value.starts_with(&format!("ERROR: request to 127.0.0.1:{port} failed")), "{value}");
    }
    let value = run(&env, "iface-closed", GET, &[&url]).await.value().to_string();
    assert!(value.starts_with(&format!("ERROR: circuit open for 127.0.0.1:{port}")), "{value}");
    let snapshot = breaker(&env, &format!("127.0.0.1:{port}"));
    assert_eq!(snapshot.state, BreakerState::Open);
    assert!(snapshot.last_error.unwrap().contains("failed"));
}

// ── mTLS client cache ────────────────────────────────────────────────────

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_clients_are_cached_per_certificate_and_bounded() {
    let pki = Pki::new();
    let server = HttpServer::start_tls(responder(|_, _| Reply::new(200, "hello")), pki.mtls_acceptor()).await;
    let http = OutboundHttp::new(HttpPolicy {
        max_cert_clients: 1,
        max_retries: 0,
        extra_root_certs_pem: vec![pki.ca_pem.clone()],
        ..policy()
    });
    let identity =
        |pem: &support::pki::Pem| ClientIdentity { cert_pem: pem.cert.clone(), key_pem: pem.key.clone(), ca_pem: None };
    let request = || OutboundRequest::get(server.url("/"));

    for _ in 0..3 {
        let response = http.send_with_identity(request(), &identity(&pki.client)).await.unwrap();
        assert_eq!((response.status, response.text().as_str()), (200, "hello"));
    }
    assert_eq!((http.cert_clients_built(), http.cert_clients_cached()), (1, 1));

    // Another certificate gets its own client; the cache keeps at most one.
    assert!(http.send_with_identity(request(), &identity(&pki.rogue_client)).await.is_err());
    assert_eq!((http.cert_clients_built(), http.cert_clients_cached()), (2, 1));
    http.send_with_identity(request(), &identity(&pki.client)).await.unwrap();
    assert_eq!((http.cert_clients_built(), http.cert_clients_cached()), (3, 1), "evicted, so rebuilt");

    // The shared client is not the mTLS one: the server refuses it.
    assert!(http.send(request()).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed_and_are_not_success() {
    let server = HttpServer::start(responder(|request, _| match request.target.as_str() {
        "/moved" => Reply::new(302, "").header("location", "/elsewhere"),
        _ => Reply::new(200, "elsewhere"),
    }))
    .await;
    let env = env(policy());
    let outcome = run(&env, "iface-redirect", POST, &[&server.url("/moved")]).await;
    assert_eq!(outcome.value(), "ERROR: HTTP 302 Found");
    let outcome = run(&env, "iface-redirect", GET, &[&server.url("/moved")]).await;
    assert_eq!(outcome.value(), "ERROR: HTTP 302 Found");
    assert_eq!(server.request_count(), 2, "the Location was never fetched");
}
