//! A real edge on 127.0.0.1:0 in front of small in-test backends, and raw
//! HTTP/1.1 and HTTP/2 clients to talk to it.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustbill_edge::{Backend, Backends, Edge};
use rustbill_proto::internal::auth::auth_service_server::{AuthService, AuthServiceServer};
use rustbill_proto::internal::auth::{Principal as WirePrincipal, ResolveRequest, ResolveResponse};
use rustbill_shared::Config;
use rustbill_shared::principal::{Caller, INTERNAL_HEADER_PREFIX, PRINCIPAL_HEADER, Principal, PrincipalVerifier};
use secrecy::SecretString;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tonic::service::Routes;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::ServiceExt;

pub const ADMIN_ID: &str = "01900000-0000-7000-8000-000000000001";
pub const SESSION_ID: &str = "01900000-0000-7000-8000-000000000002";
pub const CUSTOMER_USER_ID: &str = "01900000-0000-7000-8000-000000000003";
pub const CUSTOMER_ID: &str = "01900000-0000-7000-8000-000000000004";
pub const FAMILY_ID: &str = "01900000-0000-7000-8000-000000000005";
pub const SESSION_TOKEN: &str = "sess-token-123";

/// A config every test starts from.
pub fn config() -> Config {
    let mut config = Config::default();
    config.jwt.secret = Some(SecretString::from("edge-tests-secret-0123456789abcdefghijklmnop"));
    config.server.cors_allowed_origins = vec!["https://portal.example".into()];
    config.rate_limit.login_per_sec = 100;
    config.rate_limit.register_per_sec = 100;
    config
}

/// What a backend saw of one call.
#[derive(Debug, Clone)]
pub struct Event {
    pub path: String,
    pub caller: Option<Caller>,
    pub headers: HeaderMap,
    pub started: Instant,
    pub finished: Instant,
}

impl Event {
    pub fn principal(&self) -> &Principal {
        &self.caller.as_ref().expect("the backend verified a principal").principal
    }

    pub fn internal_headers(&self) -> Vec<String> {
        self.headers
            .keys()
            .map(|name| name.as_str().to_string())
            .filter(|name| name.starts_with(INTERNAL_HEADER_PREFIX))
            .collect()
    }
}

#[derive(Default)]
pub struct BackendState {
    pub events: Mutex<Vec<Event>>,
    pub resolves: AtomicUsize,
}

/// A backend: the internal AuthService, grpc.health.v1 and a hand-rolled
/// HTTP/2 handler for every other path.
pub struct TestBackend {
    pub addr: SocketAddr,
    pub state: Arc<BackendState>,
    pub health: HealthReporter,
}

impl TestBackend {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn events(&self) -> Vec<Event> {
        self.state.events.lock().unwrap().clone()
    }

    pub fn events_for(&self, method: &str) -> Vec<Event> {
        self.events().into_iter().filter(|event| event.path.ends_with(&format!("/{method}"))).collect()
    }

    pub fn resolves(&self) -> usize {
        self.state.resolves.load(Ordering::SeqCst)
    }

    pub async fn set_serving(&self, serving: bool) {
        let status = if serving { ServingStatus::Serving } else { ServingStatus::NotServing };
        self.health.set_service_status("", status).await;
    }
}

struct FakeAuth {
    state: Arc<BackendState>,
}

fn wire(kind: &str) -> WirePrincipal {
    WirePrincipal { kind: kind.into(), ..Default::default() }
}

#[tonic::async_trait]
impl AuthService for FakeAuth {
    async fn resolve(
        &self,
        request: tonic::Request<ResolveRequest>,
    ) -> Result<tonic::Response<ResolveResponse>, tonic::Status> {
        let caller = rustbill_shared::principal::caller(&request)?;
        if !matches!(caller.principal, Principal::Service { .. }) {
            return Err(tonic::Status::permission_denied("permission_denied: internal RPC"));
        }
        self.state.resolves.fetch_add(1, Ordering::SeqCst);
        let request = request.into_inner();
        let (principal, failure) = if request.session_token == "good-session" {
            let principal = WirePrincipal {
                user_id: ADMIN_ID.into(),
                username: "root".into(),
                role: "admin".into(),
                session_id: SESSION_ID.into(),
                ..wire("admin")
            };
            (principal, "")
        } else if request.bearer_token == "good-jwt" {
            let principal = WirePrincipal {
                user_id: CUSTOMER_USER_ID.into(),
                customer_id: CUSTOMER_ID.into(),
                username: "alice".into(),
                session_id: FAMILY_ID.into(),
                ..wire("customer")
            };
            (principal, "")
        } else if request.bearer_token == "old-jwt" {
            (wire("anonymous"), "expired")
        } else {
            (wire("anonymous"), "invalid")
        };
        Ok(tonic::Response::new(ResolveResponse { principal: Some(principal), failure: failure.into() }))
    }
}

type BackendBody = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

fn grpc_response(headers: &[(&str, String)], frames: Vec<Frame<Bytes>>) -> Response<BackendBody> {
    let stream = futures::stream::iter(frames.into_iter().map(Ok::<_, Infallible>));
    let mut response = Response::new(StreamBody::new(stream).boxed_unsync());
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/grpc"));
    for (name, value) in headers {
        response
            .headers_mut()
            .append(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }
    response
}

fn trailers(pairs: &[(&str, &str)]) -> Frame<Bytes> {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
    }
    Frame::trailers(map)
}

/// The hand-rolled service behaviour, by method name:
/// - `Fail`: trailers-only NOT_FOUND "no such thing" (as tonic sends it);
/// - `FailInTrailers`: headers, no message, PERMISSION_DENIED in trailers;
/// - `Login`: echo + `x-rustbill-set-session`;
/// - `Logout`: echo + `x-rustbill-clear-session`;
/// - `Slow`: echo after 300 ms;
/// - anything else: echo the request message, with the verified principal
///   (JSON) in the `x-echo-principal` response header.
async fn handle(
    state: Arc<BackendState>,
    verifier: PrincipalVerifier,
    request: Request<Incoming>,
) -> Response<BackendBody> {
    let started = Instant::now();
    let path = request.uri().path().to_string();
    let headers = request.headers().clone();
    let caller = headers
        .get(PRINCIPAL_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|token| verifier.verify(token).ok());
    let body = request.into_body().collect().await.map(|body| body.to_bytes()).unwrap_or_default();
    let method = path.rsplit('/').next().unwrap_or_default().to_string();
    if method == "Slow" {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let finished = Instant::now();
    state.events.lock().unwrap().push(Event {
        path: path.clone(),
        caller: caller.clone(),
        headers: headers.clone(),
        started,
        finished,
    });
    let Some(caller) = caller else {
        return grpc_response(
            &[("grpc-status", "16".into()), ("grpc-message", "missing%20or%20invalid%20internal%20principal".into())],
            vec![],
        );
    };
    let ok_trailers = trailers(&[("grpc-status", "0"), ("x-rustbill-leak", "secret")]);
    let principal_json = serde_json::to_string(&caller.principal).unwrap();
    let mut echo_headers = vec![("x-echo-principal", principal_json), ("x-rustbill-debug", "leak".to_string())];
    match method.as_str() {
        "Fail" => grpc_response(&[("grpc-status", "5".into()), ("grpc-message", "no%20such%20thing".into())], vec![]),
        "FailInTrailers" => grpc_response(
            &[],
            vec![trailers(&[("grpc-status", "7"), ("grpc-message", "permission_denied%3A%20not%20yours")])],
        ),
        _ => {
            if method == "Login" {
                echo_headers.push(("x-rustbill-set-session", SESSION_TOKEN.into()));
            }
            if method == "Logout" {
                echo_headers.push(("x-rustbill-clear-session", "1".into()));
            }
            let mut frames = Vec::new();
            if !body.is_empty() {
                frames.push(Frame::data(body));
            }
            frames.push(ok_trailers);
            grpc_response(&echo_headers, frames)
        }
    }
}

/// Starts a backend on 127.0.0.1:0.
pub async fn spawn_backend(config: &Config) -> TestBackend {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(BackendState::default());
    let verifier = PrincipalVerifier::new(&config.internal_secret());
    let (health, health_service) = tonic_health::server::health_reporter();
    let auth = AuthServiceServer::with_interceptor(FakeAuth { state: state.clone() }, verifier.clone());
    let routes = Routes::new(auth).add_service(health_service);
    let server_state = state.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let routes = routes.clone();
            let state = server_state.clone();
            let verifier = verifier.clone();
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let routes = routes.clone();
                let state = state.clone();
                let verifier = verifier.clone();
                async move {
                    let path = request.uri().path();
                    if path.starts_with("/rustbill.internal.auth.") || path.starts_with("/grpc.health.v1.") {
                        let response = routes.oneshot(request).await.unwrap();
                        Ok::<_, Infallible>(response.map(|body| {
                            body.map_err(|_| -> Infallible { unreachable!("test bodies do not fail") }).boxed_unsync()
                        }))
                    } else {
                        Ok(handle(state, verifier, request).await)
                    }
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    TestBackend { addr, state, health }
}

/// A running edge.
pub struct TestEdge {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestEdge {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the edge and waits for `serve` to return.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task.take().unwrap().await.unwrap()
    }
}

impl Drop for TestEdge {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

pub async fn spawn_edge(config: &Config, backends: Backends) -> TestEdge {
    serve_edge(Edge::new(config, backends).expect("edge builds")).await
}

/// Serves an edge built by the test.
pub async fn serve_edge(edge: Edge) -> TestEdge {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(edge.serve(listener, async move {
        let _ = signal.await;
    }));
    TestEdge { addr, shutdown: Some(shutdown), task: Some(task) }
}

/// A port nothing listens on.
/// A port that refuses connections for as long as this value lives: the
/// socket is bound but never listens, so no other test can take the port
/// (a dropped listener's port can be reused by a parallel test).
pub struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    url: String,
}

impl ClosedPort {
    pub fn url(&self) -> String {
        self.url.clone()
    }
}

pub fn closed_port() -> ClosedPort {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    ClosedPort { _socket: socket, url: format!("http://{addr}") }
}

/// One backend for every service, and an edge in front of it.
pub async fn setup(config: Config) -> (TestEdge, TestBackend) {
    let backend = spawn_backend(&config).await;
    let mut backends = Backends::default();
    for service in Backend::ALL {
        backends.set(service, backend.url());
    }
    let edge = spawn_edge(&config, backends).await;
    (edge, backend)
}

/// A gRPC message frame: flag 0, big-endian length, bytes.
pub fn frame(message: &[u8]) -> Bytes {
    let mut buffer = BytesMut::with_capacity(5 + message.len());
    buffer.put_u8(0);
    buffer.put_u32(message.len() as u32);
    buffer.put_slice(message);
    buffer.freeze()
}

/// A whole response, body collected.
#[derive(Debug)]
pub struct Answer {
    pub status: http::StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub trailers: Option<HeaderMap>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    pub fn principal(&self) -> Principal {
        serde_json::from_str(self.header("x-echo-principal").expect("the echo backend answered")).unwrap()
    }

    pub fn internal_headers(&self) -> Vec<String> {
        self.headers
            .keys()
            .map(|name| name.as_str().to_string())
            .filter(|name| name.starts_with(INTERNAL_HEADER_PREFIX))
            .collect()
    }
}

async fn connect_from(addr: SocketAddr, from: Option<&str>) -> TcpStream {
    match from {
        None => TcpStream::connect(addr).await.unwrap(),
        Some(local) => {
            let socket = TcpSocket::new_v4().unwrap();
            socket.bind(format!("{local}:0").parse().unwrap()).unwrap();
            socket.connect(addr).await.unwrap()
        }
    }
}

async fn collect(response: Response<Incoming>) -> Answer {
    let (parts, body) = response.into_parts();
    let collected = body.collect().await.unwrap();
    let trailers = collected.trailers().cloned();
    Answer { status: parts.status, headers: parts.headers, body: collected.to_bytes(), trailers }
}

/// One request over a fresh HTTP/1.1 connection.
pub async fn http1(addr: SocketAddr, request: Request<Full<Bytes>>) -> Answer {
    http1_from(addr, None, request).await
}

/// One request over a fresh HTTP/1.1 connection from a chosen local IP.
pub async fn http1_from(addr: SocketAddr, from: Option<&str>, request: Request<Full<Bytes>>) -> Answer {
    let stream = connect_from(addr, from).await;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    collect(sender.send_request(request).await.unwrap()).await
}

/// One request over a fresh HTTP/2 (prior knowledge) connection.
pub async fn http2(addr: SocketAddr, request: Request<Full<Bytes>>) -> Answer {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    collect(sender.send_request(request).await.unwrap()).await
}

/// A gRPC-Web (binary) request builder for `path`.
pub fn grpc_web(path: &str) -> http::request::Builder {
    Request::builder()
        .method("POST")
        .uri(path)
        .header("host", "edge.test")
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
}

pub fn grpc_web_body(message: &[u8]) -> Full<Bytes> {
    Full::new(frame(message))
}

/// A plain gRPC request builder for `path` (HTTP/2).
pub fn grpc(path: &str) -> http::request::Builder {
    Request::builder()
        .method("POST")
        .uri(format!("http://edge.test{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
}

pub fn get(path: &str) -> http::request::Builder {
    Request::builder().method("GET").uri(path).header("host", "edge.test")
}

pub fn empty() -> Full<Bytes> {
    Full::new(Bytes::new())
}
