//! Request correlation: client address, `x-request-id`, W3C `traceparent`,
//! and the per-request tracing span (layer 7).

use std::net::{IpAddr, SocketAddr};

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::HeaderValue;
use http_body::Frame;
use rustbill_shared::principal::{REQUEST_ID_HEADER, TRACEPARENT_HEADER};
use rustbill_shared::telemetry::{TraceParent, sanitize_request_id};
use tonic::body::Body;
use tracing::Instrument as _;

use crate::middleware::{BoxSvc, Middleware, Req, Resp, call};

/// The client address of a request: the TCP peer, or, when the peer is a
/// trusted reverse proxy, the address that proxy saw (see [`TrustedProxies`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub SocketAddr);

/// `[server].trusted_proxies`: peers whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// Parses IPs and CIDRs; a bad entry is a configuration error.
    pub(crate) fn parse(entries: &[String]) -> anyhow::Result<Self> {
        let mut networks = Vec::with_capacity(entries.len());
        for entry in entries {
            let entry = entry.trim();
            let network = match entry.parse::<ipnet::IpNet>() {
                Ok(network) => network,
                Err(_) => ipnet::IpNet::from(
                    entry
                        .parse::<IpAddr>()
                        .map_err(|_| anyhow::anyhow!("[server].trusted_proxies: {entry:?} is not an IP or CIDR"))?,
                ),
            };
            networks.push(network);
        }
        Ok(Self(networks))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|network| network.contains(&ip))
    }

    /// The client of a request that arrived from `peer`: when `peer` is
    /// trusted, the right-most `X-Forwarded-For` address that is not itself
    /// a trusted proxy (addresses further left are client-supplied and can
    /// be forged); otherwise `peer`.
    pub(crate) fn client(&self, peer: SocketAddr, headers: &http::HeaderMap) -> SocketAddr {
        if self.0.is_empty() || !self.trusts(peer.ip()) {
            return peer;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in forwarded.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else { return peer };
            if !self.trusts(ip) {
                return SocketAddr::new(ip, 0);
            }
        }
        peer
    }
}

/// The client IP of a request (IPv4-mapped IPv6 addresses as IPv4).
pub(crate) fn client_ip(request: &Req) -> Option<IpAddr> {
    request.extensions().get::<ClientAddr>().map(|addr| addr.0.ip().to_canonical())
}

/// Correlation data of one request, computed once and kept in the request
/// extensions.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    pub request_id: String,
    /// The edge's own span: child of the client's `traceparent`, or a new
    /// root. It is what the edge forwards and echoes.
    pub trace: TraceParent,
    /// The client's `traceparent`, if it sent a valid one.
    pub client_trace: Option<TraceParent>,
    pub client_ip: String,
}

impl RequestContext {
    /// The context of `request`, created on first use.
    pub(crate) fn ensure(request: &mut Req) -> RequestContext {
        if let Some(context) = request.extensions().get::<RequestContext>() {
            return context.clone();
        }
        let headers = request.headers();
        let request_id = sanitize_request_id(headers.get(REQUEST_ID_HEADER).and_then(|value| value.to_str().ok()));
        let client_trace =
            headers.get(TRACEPARENT_HEADER).and_then(|value| value.to_str().ok()).and_then(TraceParent::parse);
        let trace = client_trace.as_ref().map(TraceParent::child).unwrap_or_else(TraceParent::new_root);
        let client_ip = client_ip(request).map(|ip| ip.to_string()).unwrap_or_default();
        let context = RequestContext { request_id, trace, client_trace, client_ip };
        request.extensions_mut().insert(context.clone());
        context
    }
}

/// Layer 7: sets `x-request-id` and `traceparent` on the forwarded request
/// and on the response, runs the rest inside a span, and logs each call
/// at debug level when its response body is done.
pub(crate) struct LogContext;

impl Middleware for LogContext {
    fn handle(self: Arc<Self>, mut request: Req, next: BoxSvc) -> BoxFuture<'static, Resp> {
        let mut context = RequestContext::ensure(&mut request);
        let path = request.uri().path().to_string();
        let span = tracing::info_span!(
            "request",
            otel.name = %path,
            otel.kind = "server",
            path = %path,
            request_id = %context.request_id,
            trace_id = tracing::field::Empty,
            client_ip = %context.client_ip,
        );
        // When spans are exported the edge's span is the one forwarded and
        // echoed, so the services' spans hang under it.
        if let Some(client) = &context.client_trace {
            rustbill_shared::telemetry::set_parent(&span, client);
        }
        if let Some(own) = rustbill_shared::telemetry::span_context(&span) {
            context.trace = own;
            request.extensions_mut().insert(context.clone());
        }
        span.record("trace_id", tracing::field::display(context.trace.trace_id_hex()));
        let request_id = HeaderValue::from_str(&context.request_id).ok();
        let traceparent = HeaderValue::from_str(&context.trace.to_string()).ok();
        let headers = request.headers_mut();
        headers.remove(REQUEST_ID_HEADER);
        headers.remove(TRACEPARENT_HEADER);
        if let Some(value) = &request_id {
            headers.insert(REQUEST_ID_HEADER, value.clone());
        }
        if let Some(value) = &traceparent {
            headers.insert(TRACEPARENT_HEADER, value.clone());
        }
        Box::pin(
            async move {
                let started = Instant::now();
                let mut response = call(next, request).await;
                let headers = response.headers_mut();
                if let Some(value) = request_id {
                    headers.insert(REQUEST_ID_HEADER, value);
                }
                if let Some(value) = traceparent {
                    headers.insert(TRACEPARENT_HEADER, value);
                }
                let grpc_status = headers.get("grpc-status").and_then(|value| value.to_str().ok()).map(str::to_string);
                let http_status = response.status().as_u16();
                let span = tracing::Span::current();
                response.map(|body| {
                    Body::new(LoggedBody {
                        inner: body,
                        log: Some(CallLog { span, path, http_status, grpc_status, started }),
                    })
                })
            }
            .instrument(span),
        )
    }
}

struct CallLog {
    span: tracing::Span,
    path: String,
    http_status: u16,
    grpc_status: Option<String>,
    started: Instant,
}

impl CallLog {
    fn emit(self) {
        rustbill_shared::metrics::record_request(
            &self.path,
            self.grpc_status.as_deref().unwrap_or("-"),
            self.started.elapsed(),
        );
        let _entered = self.span.enter();
        tracing::debug!(
            path = %self.path,
            http_status = self.http_status,
            grpc_status = self.grpc_status.as_deref().unwrap_or("-"),
            elapsed_ms = self.started.elapsed().as_millis() as u64,
            "call finished"
        );
    }
}

/// A response body that logs the call once it is finished (or dropped,
/// when the client went away), with the `grpc-status` of the trailers.
struct LoggedBody {
    inner: Body,
    log: Option<CallLog>,
}

impl http_body::Body for LoggedBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(context);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref()
                    && let Some(status) = trailers.get("grpc-status").and_then(|value| value.to_str().ok())
                    && let Some(log) = self.log.as_mut()
                {
                    log.grpc_status = Some(status.to_string());
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => {
                if let Some(log) = self.log.take() {
                    log.emit();
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        if let Some(log) = self.log.take() {
            log.emit();
        }
    }
}
