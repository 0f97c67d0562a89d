//! The innermost service: routes a (plain gRPC) request by path to the
//! owning backend over HTTP/2, or to the edge's own health and reflection
//! services. `rustbill.internal.*` is never routed.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, Version, header};
use http_body::Frame;
use rustbill_shared::AppError;
use tonic::Status;
use tonic::body::Body;
use tower::ServiceExt as _;

use crate::auth::strip_internal_headers;
use crate::backends::{Backend, Channels, Route};
use crate::middleware::{BoxSvc, Req, Resp, call, service_fn, text_response};
use crate::status::{error_response, is_grpc, unavailable};

/// Headers that belong to one HTTP/1.1 connection and must not be sent
/// on over HTTP/2.
const HOP_BY_HOP: [&str; 7] =
    ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "te"];

/// Everything the router needs.
pub(crate) struct Router {
    pub(crate) channels: Channels,
    pub(crate) health: BoxSvc,
    pub(crate) reflection_v1: BoxSvc,
    pub(crate) reflection_v1alpha: BoxSvc,
}

impl Router {
    pub(crate) fn into_service(self) -> BoxSvc {
        let router = Arc::new(self);
        service_fn(move |request: Req| {
            let router = router.clone();
            async move { router.route(request).await }
        })
    }

    async fn route(&self, request: Req) -> Resp {
        let route = Route::of(request.uri().path());
        if !is_grpc(request.headers()) {
            return match route {
                Route::Backend(_) | Route::Health | Route::ReflectionV1 | Route::ReflectionV1Alpha => text_response(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "use gRPC or gRPC-Web (application/grpc-web+proto)",
                ),
                _ => text_response(StatusCode::NOT_FOUND, "not found"),
            };
        }
        match route {
            Route::Backend(backend) => self.proxy(backend, request).await,
            Route::Health => call(self.health.clone(), request).await,
            Route::ReflectionV1 => call(self.reflection_v1.clone(), request).await,
            Route::ReflectionV1Alpha => call(self.reflection_v1alpha.clone(), request).await,
            Route::Internal | Route::UnknownService | Route::NotFound => {
                let service = request.uri().path().trim_start_matches('/').split('/').next().unwrap_or_default();
                let message = format!("unknown service {service}");
                error_response(request.headers(), AppError::Unimplemented(message))
            }
        }
    }

    async fn proxy(&self, backend: Backend, mut request: Req) -> Resp {
        let Some(channel) = self.channels.get(backend).cloned() else {
            return unavailable(request.headers(), backend.name());
        };
        let mut content_type = HeaderMap::new();
        if let Some(value) = request.headers().get(header::CONTENT_TYPE) {
            content_type.insert(header::CONTENT_TYPE, value.clone());
        }
        let headers = request.headers_mut();
        for name in HOP_BY_HOP {
            headers.remove(name);
        }
        headers.remove(header::CONTENT_LENGTH);
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        *request.version_mut() = Version::HTTP_2;
        // tonic-web reports the size of the base64 text for a decoded
        // grpc-web-text body, and hyper would turn that into a wrong
        // content-length; gRPC needs none.
        let request = request.map(|body| Body::new(UnknownLength { inner: body }));
        match channel.oneshot(request).await {
            Ok(response) => response.map(|body| Body::new(StripInternalTrailers { inner: body })),
            Err(error) => {
                tracing::warn!(%backend, error = %ErrorChain(&error), "backend call failed");
                unavailable(&content_type, backend.name())
            }
        }
    }
}

/// Drops `x-rustbill-*` trailers a backend may have set.
struct StripInternalTrailers {
    inner: Body,
}

impl http_body::Body for StripInternalTrailers {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        Pin::new(&mut self.inner).poll_frame(context).map(|polled| {
            polled.map(|frame| {
                frame.map(|frame| match frame.into_trailers() {
                    Ok(mut trailers) => {
                        strip_internal_headers(&mut trailers);
                        Frame::trailers(trailers)
                    }
                    Err(frame) => frame,
                })
            })
        })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A body that does not tell its length.
struct UnknownLength {
    inner: Body,
}

impl http_body::Body for UnknownLength {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        Pin::new(&mut self.inner).poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

/// An error and its causes on one line.
pub(crate) struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(formatter, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
