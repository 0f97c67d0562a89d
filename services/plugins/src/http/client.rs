//! The outbound client: one reqwest client (rustls), retries with
//! exponential backoff, the per-host breaker, cached mTLS clients.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use sha2::{Digest, Sha256};
use tracing::Instrument;

use super::breaker::{BreakerSnapshot, Breakers};
use super::policy::HttpPolicy;

/// One request, owned so that retries can send it again.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub method: Method,
    pub url: String,
    /// Header name and value pairs, sent in order (a name may repeat).
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
}

impl OutboundRequest {
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Self { method, url: url.into(), headers: Vec::new(), body: None }
    }

    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::GET, url)
    }

    pub fn post(url: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self::new(Method::POST, url).body(body)
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }
}

/// A response read in full.
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    pub status: u16,
    /// Header names in lowercase, as received (a name may repeat).
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl OutboundResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// A client certificate for mutual TLS.
#[derive(Clone)]
pub struct ClientIdentity {
    /// Certificate chain, PEM (leaf first).
    pub cert_pem: String,
    /// Private key, PEM (PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub key_pem: String,
    /// Extra trusted roots for the server's certificate, PEM (e.g. the CA
    /// of a self-hosted Incus); the system's roots are trusted too.
    pub ca_pem: Option<String>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        formatter.debug_struct("ClientIdentity").field("fingerprint", &self.fingerprint()).finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// The cache key: SHA-256 of certificate, key and extra roots.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        for part in [self.cert_pem.as_str(), self.key_pem.as_str(), self.ca_pem.as_deref().unwrap_or("")] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

/// Why a call failed (no response to return).
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    /// Bad URL, method or header: nothing was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The host's breaker is open: nothing was sent.
    #[error(
        "circuit open for {host} after {failures} consecutive failures; next probe in {:.1}s",
        retry_in.as_secs_f64()
    )]
    CircuitOpen { host: String, failures: u32, retry_in: Duration },
    /// The client certificate or key could not be used.
    #[error("client certificate: {0}")]
    Certificate(String),
    /// The HTTP client could not be built (e.g. no usable trust roots).
    #[error("http client unavailable: {0}")]
    ClientUnavailable(String),
    /// Connecting, sending or receiving failed.
    #[error("request to {host} failed: {reason}")]
    Transport { host: String, reason: String, transient: bool, not_sent: bool },
    /// The response body exceeded the policy's limit.
    #[error("response from {host} larger than {limit} bytes")]
    TooLarge { host: String, limit: usize },
}

impl HttpError {
    /// Whether another attempt may succeed (connect errors and timeouts).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transport { transient: true, .. })
    }

    /// The request certainly did not reach the server (connect failed).
    pub fn was_not_sent(&self) -> bool {
        matches!(self, Self::Transport { not_sent: true, .. })
    }

    pub fn is_circuit_open(&self) -> bool {
        matches!(self, Self::CircuitOpen { .. })
    }
}

struct CachedClient {
    client: reqwest::Client,
    last_used: Instant,
}

/// The one outbound HTTP client of the plugin service (spec HA guide §5.3).
pub struct OutboundHttp {
    policy: HttpPolicy,
    /// Parsed [`HttpPolicy::extra_root_certs_pem`].
    extra_roots: Result<Vec<reqwest::Certificate>, String>,
    client: Result<reqwest::Client, String>,
    cert_clients: Mutex<HashMap<String, CachedClient>>,
    cert_clients_built: AtomicU64,
    breakers: Breakers,
}

impl std::fmt::Debug for OutboundHttp {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("OutboundHttp")
            .field("policy", &self.policy)
            .field("client_ready", &self.client.is_ok())
            .field("cert_clients", &self.cert_clients_cached())
            .finish_non_exhaustive()
    }
}

impl Default for OutboundHttp {
    fn default() -> Self {
        Self::new(HttpPolicy::default())
    }
}

impl OutboundHttp {
    /// Builds the client. Never fails: when the TLS setup cannot be built
    /// (e.g. a machine without CA certificates), every call reports why.
    pub fn new(policy: HttpPolicy) -> Self {
        let extra_roots = parse_roots(policy.extra_root_certs_pem.iter().map(String::as_str));
        let client = match &extra_roots {
            Ok(roots) => client_builder(&policy, roots.iter().cloned()).build().map_err(|error| error_chain(&error)),
            Err(error) => Err(error.clone()),
        };
        if let Err(error) = &client {
            tracing::error!(%error, "outbound HTTP client unavailable; plugin HTTP calls will fail");
        }
        let breakers = Breakers::new(policy.failure_threshold, policy.open_cooldown);
        Self {
            policy,
            extra_roots,
            client,
            cert_clients: Mutex::new(HashMap::new()),
            cert_clients_built: AtomicU64::new(0),
            breakers,
        }
    }

    pub fn policy(&self) -> &HttpPolicy {
        &self.policy
    }

    /// Every host's breaker (state, consecutive failures, opened at), for
    /// admins.
    pub fn snapshot(&self) -> Vec<BreakerSnapshot> {
        self.breakers.snapshot()
    }

    /// mTLS clients held in the cache now.
    pub fn cert_clients_cached(&self) -> usize {
        self.cert_clients.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// mTLS clients built since start (a cache hit builds none).
    pub fn cert_clients_built(&self) -> u64 {
        self.cert_clients_built.load(Ordering::Relaxed)
    }

    /// Sends `request` with the shared client.
    pub async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, HttpError> {
        let client = self.client.clone().map_err(HttpError::ClientUnavailable)?;
        self.execute(&client, request).await
    }

    /// Sends `request` presenting `identity` (mutual TLS), with a client
    /// cached per certificate.
    pub async fn send_with_identity(
        &self,
        request: OutboundRequest,
        identity: &ClientIdentity,
    ) -> Result<OutboundResponse, HttpError> {
        let client = self.cert_client(identity)?;
        self.execute(&client, request).await
    }

    fn cert_client(&self, identity: &ClientIdentity) -> Result<reqwest::Client, HttpError> {
        let fingerprint = identity.fingerprint();
        let mut cache = self.cert_clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cached) = cache.get_mut(&fingerprint) {
            cached.last_used = Instant::now();
            return Ok(cached.client.clone());
        }
        // Built under the lock: two first calls with one certificate build
        // one client. Building parses PEM only; it does not touch the network.
        let client = self.build_cert_client(identity)?;
        if cache.len() >= self.policy.max_cert_clients.max(1)
            && let Some(oldest) = cache.iter().min_by_key(|(_, cached)| cached.last_used).map(|(key, _)| key.clone())
        {
            cache.remove(&oldest);
        }
        cache.insert(fingerprint, CachedClient { client: client.clone(), last_used: Instant::now() });
        self.cert_clients_built.fetch_add(1, Ordering::Relaxed);
        Ok(client)
    }

    fn build_cert_client(&self, identity: &ClientIdentity) -> Result<reqwest::Client, HttpError> {
        if !identity.cert_pem.contains("-----BEGIN") || !identity.key_pem.contains("-----BEGIN") {
            return Err(HttpError::Certificate("cert and key must both be PEM".to_string()));
        }
        let mut pem = identity.key_pem.trim().to_string();
        pem.push('\n');
        pem.push_str(identity.cert_pem.trim());
        pem.push('\n');
        let reqwest_identity =
            reqwest::Identity::from_pem(pem.as_bytes()).map_err(|error| HttpError::Certificate(error_chain(&error)))?;
        let mut roots = self.extra_roots.clone().map_err(HttpError::ClientUnavailable)?;
        if let Some(ca) = identity.ca_pem.as_deref().filter(|ca| !ca.trim().is_empty()) {
            roots.extend(parse_roots([ca]).map_err(HttpError::Certificate)?);
        }
        client_builder(&self.policy, roots)
            .identity(reqwest_identity)
            .build()
            .map_err(|error| HttpError::Certificate(error_chain(&error)))
    }

    async fn execute(&self, client: &reqwest::Client, request: OutboundRequest) -> Result<OutboundResponse, HttpError> {
        let url = Url::parse(&request.url)
            .map_err(|error| HttpError::InvalidRequest(format!("bad url {:?}: {error}", request.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(HttpError::InvalidRequest(format!("unsupported scheme {:?}", url.scheme())));
        }
        let host = host_key(&url)?;
        let headers = header_map(&request.headers)?;
        let span = tracing::info_span!("outbound_http", method = %request.method, host = %host, path = %url.path());
        async {
            let breaker = self.breakers.get(&host);
            let permit = breaker.admit().map_err(|rejected| HttpError::CircuitOpen {
                host: host.clone(),
                failures: rejected.consecutive_failures,
                retry_in: rejected.retry_in,
            })?;
            // A half-open probe is one request: its outcome alone decides.
            let attempts = if permit.is_probe() { 1 } else { self.policy.max_retries.saturating_add(1) };
            let mut attempt = 0;
            loop {
                attempt += 1;
                let started = Instant::now();
                let outcome = self.attempt(client, &host, &url, &request, &headers).await;
                // A request that may have reached the server is retried only
                // when repeating it is harmless: GET/HEAD/PUT/DELETE/OPTIONS.
                // POST and PATCH (create a payment, refund, order a server)
                // are retried only when nothing was delivered: the
                // connection failed, or the server answered 503.
                let idempotent = request.method.is_idempotent();
                let retry_after = match &outcome {
                    Ok(response) if response.status == 503 => Some(retry_after(response)),
                    Ok(response) if idempotent && matches!(response.status, 502 | 504) => Some(retry_after(response)),
                    Err(error) if error.is_transient() && (idempotent || error.was_not_sent()) => Some(None),
                    _ => None,
                };
                tracing::debug!(
                    attempt,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    status = outcome.as_ref().map(|response| response.status).ok(),
                    error = outcome.as_ref().err().map(tracing::field::display),
                    "outbound attempt"
                );
                if let Some(retry_after) = retry_after
                    && attempt < attempts
                {
                    let delay =
                        retry_after.unwrap_or_else(|| self.policy.backoff(attempt)).min(self.policy.backoff_max);
                    tracing::debug!(attempt, delay_ms = delay.as_millis() as u64, "retrying transient failure");
                    tokio::time::sleep(delay).await;
                    continue;
                }
                match &outcome {
                    Ok(response) if response.status >= 500 => permit.failure(&format!("HTTP {}", response.status)),
                    Ok(_) | Err(HttpError::TooLarge { .. }) => permit.success(),
                    Err(error) => permit.failure(&error.to_string()),
                }
                return outcome;
            }
        }
        .instrument(span)
        .await
    }

    async fn attempt(
        &self,
        client: &reqwest::Client,
        host: &str,
        url: &Url,
        request: &OutboundRequest,
        headers: &HeaderMap,
    ) -> Result<OutboundResponse, HttpError> {
        let mut builder = client.request(request.method.clone(), url.clone()).headers(headers.clone());
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let transport = |error: reqwest::Error| HttpError::Transport {
            host: host.to_string(),
            transient: error.is_connect() || error.is_timeout(),
            not_sent: error.is_connect(),
            reason: error_chain(&error.without_url()),
        };
        let mut response = builder.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let response_headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let limit = self.policy.max_response_bytes;
        if response.content_length().is_some_and(|length| length > limit as u64) {
            return Err(HttpError::TooLarge { host: host.to_string(), limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > limit {
                return Err(HttpError::TooLarge { host: host.to_string(), limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(OutboundResponse { status, headers: response_headers, body: Bytes::from(body) })
    }
}

fn client_builder(
    policy: &HttpPolicy,
    roots: impl IntoIterator<Item = reqwest::Certificate>,
) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        // Never follow redirects: a 302 turns a POST (payment, webhook)
        // into a body-less GET somewhere else; scripts see the 3xx.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(policy.connect_timeout)
        .timeout(policy.request_timeout)
        .user_agent(policy.user_agent.clone())
        .tls_certs_merge(roots)
}

fn parse_roots<'a>(pems: impl IntoIterator<Item = &'a str>) -> Result<Vec<reqwest::Certificate>, String> {
    let mut roots = Vec::new();
    for pem in pems {
        let certificates = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|error| format!("bad root certificate: {}", error_chain(&error)))?;
        if certificates.is_empty() {
            return Err("bad root certificate: no PEM certificate found".to_string());
        }
        roots.extend(certificates);
    }
    Ok(roots)
}

/// `host:port` of `url`, the breaker's key.
fn host_key(url: &Url) -> Result<String, HttpError> {
    let host = url
        .host_str()
        .filter(|host| !host.is_empty())
        .ok_or_else(|| HttpError::InvalidRequest(format!("url without host: {}://…", url.scheme())))?;
    let port = url.port_or_known_default().unwrap_or(0);
    Ok(format!("{}:{port}", host.to_ascii_lowercase()))
}

fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, HttpError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let header_name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| HttpError::InvalidRequest(format!("bad header name {name:?}")))?;
        let header_value = HeaderValue::from_str(value)
            .map_err(|_| HttpError::InvalidRequest(format!("bad value of header {name:?}")))?;
        map.append(header_name, header_value);
    }
    Ok(map)
}

/// A `Retry-After` in seconds, if the response has one.
fn retry_after(response: &OutboundResponse) -> Option<Duration> {
    response.header("retry-after").and_then(|value| value.trim().parse::<u64>().ok()).map(Duration::from_secs)
}

/// An error with its sources, `outer: inner: innermost`.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_keys_include_the_port() {
        let key = |url: &str| host_key(&Url::parse(url).unwrap()).unwrap();
        assert_eq!(key("https://Pay.Example.com/api"), "pay.example.com:443");
        assert_eq!(key("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
        assert_eq!(key("http://[::1]/"), "[::1]:80");
    }

    #[test]
    fn fingerprints_differ_by_every_part() {
        let identity = ClientIdentity { cert_pem: "c".into(), key_pem: "SECRET-KEY".into(), ca_pem: None };
        let other_key = ClientIdentity { key_pem: "SECRET-KEY-2".into(), ..identity.clone() };
        let with_ca = ClientIdentity { ca_pem: Some("a".into()), ..identity.clone() };
        assert_ne!(identity.fingerprint(), other_key.fingerprint());
        assert_ne!(identity.fingerprint(), with_ca.fingerprint());
        assert_eq!(identity.fingerprint().len(), 64);
        assert!(!format!("{identity:?}").contains("SECRET"), "Debug never shows the key");
    }

    #[test]
    fn circuit_open_error_says_so() {
        let error = HttpError::CircuitOpen { host: "a:1".into(), failures: 5, retry_in: Duration::from_millis(29_500) };
        assert_eq!(error.to_string(), "circuit open for a:1 after 5 consecutive failures; next probe in 29.5s");
    }
}
