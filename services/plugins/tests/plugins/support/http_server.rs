//! A real HTTP/1.1 server (hyper) on 127.0.0.1:0, optionally behind TLS,
//! that records every request and answers with a programmable reply.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The reply to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self { status, headers: Vec::new(), body: body.into() }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// Chooses the reply from the request and its 1-based number.
pub type Responder = Arc<dyn Fn(&Recorded, usize) -> Reply + Send + Sync>;

pub fn responder(f: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Responder {
    Arc::new(f)
}

pub struct HttpServer {
    pub addr: SocketAddr,
    tls: bool,
    requests: Arc<Mutex<Vec<Recorded>>>,
    handshakes: Arc<AtomicUsize>,
    failed_handshakes: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HttpServer {
    pub async fn start(responder: Responder) -> Self {
        Self::start_inner(responder, None).await
    }

    pub async fn start_tls(responder: Responder, acceptor: TlsAcceptor) -> Self {
        Self::start_inner(responder, Some(acceptor)).await
    }

    async fn start_inner(responder: Responder, acceptor: Option<TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handshakes = Arc::new(AtomicUsize::new(0));
        let failed_handshakes = Arc::new(AtomicUsize::new(0));
        let tls = acceptor.is_some();
        let task = tokio::spawn({
            let requests = requests.clone();
            let handshakes = handshakes.clone();
            let failed_handshakes = failed_handshakes.clone();
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else { continue };
                    let requests = requests.clone();
                    let responder = responder.clone();
                    let acceptor = acceptor.clone();
                    let handshakes = handshakes.clone();
                    let failed_handshakes = failed_handshakes.clone();
                    tokio::spawn(async move {
                        match acceptor {
                            None => serve(TokioIo::new(stream), requests, responder).await,
                            Some(acceptor) => match acceptor.accept(stream).await {
                                Ok(tls_stream) => {
                                    handshakes.fetch_add(1, Ordering::SeqCst);
                                    serve(TokioIo::new(tls_stream), requests, responder).await
                                }
                                Err(_) => {
                                    failed_handshakes.fetch_add(1, Ordering::SeqCst);
                                }
                            },
                        }
                    });
                }
            }
        });
        Self { addr, tls, requests, handshakes, failed_handshakes, task }
    }

    /// `http://127.0.0.1:<port><path>`, or `https://localhost:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        if self.tls {
            format!("https://localhost:{}{path}", self.addr.port())
        } else {
            format!("http://127.0.0.1:{}{path}", self.addr.port())
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// TLS handshakes that completed / failed (TLS servers only).
    pub fn handshakes(&self) -> (usize, usize) {
        (self.handshakes.load(Ordering::SeqCst), self.failed_handshakes.load(Ordering::SeqCst))
    }
}

async fn serve<I>(io: I, requests: Arc<Mutex<Vec<Recorded>>>, responder: Responder)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |request: Request<Incoming>| {
        let requests = requests.clone();
        let responder = responder.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.map(|collected| collected.to_bytes().to_vec()).unwrap_or_default();
            let recorded = Recorded {
                method: parts.method.to_string(),
                target: parts.uri.path_and_query().map(|target| target.to_string()).unwrap_or_default(),
                headers: parts
                    .headers
                    .iter()
                    .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
                    .collect(),
                body,
            };
            let number = {
                let mut requests = requests.lock().unwrap();
                requests.push(recorded.clone());
                requests.len()
            };
            let reply = responder(&recorded, number);
            let mut response = Response::builder().status(reply.status);
            for (name, value) in &reply.headers {
                response = response.header(name, value);
            }
            Ok::<_, Infallible>(response.body(Full::new(Bytes::from(reply.body))).unwrap())
        }
    });
    hyper::server::conn::http1::Builder::new().serve_connection(io, service).await.ok();
}
