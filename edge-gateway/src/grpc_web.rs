//! Layer 8: gRPC-Web translation (tonic-web), so backends only ever see
//! plain gRPC over HTTP/2, plus the one fix the customer portal needs:
//! errors in the response headers.
//!
//! tonic answers errors "trailers-only" (status in the HTTP headers, empty
//! body), which tonic-web passes on unchanged. If a backend ever sends
//! headers first and the error only in the trailers, a gRPC-Web client
//! that reads headers only (the portal) would take it for an empty
//! success. So for gRPC-Web calls the edge waits for the first body frame:
//! when the trailers come before any message and carry a non-zero
//! `grpc-status`, they are moved into the response headers and the body is
//! left empty. Only the first frame is ever held back; messages stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use http_body::Frame;
use http_body_util::BodyExt as _;
use tonic::Status;
use tonic::body::Body;
use tonic_web::GrpcWebLayer;
use tower::Layer as _;
use tower::util::BoxCloneSyncService;

use crate::middleware::{BoxSvc, Req, call, service_fn};
use crate::status::{is_grpc_web, normalize_grpc_message};

/// `inner` (which speaks gRPC) behind gRPC-Web translation.
pub(crate) fn translate(inner: BoxSvc) -> BoxSvc {
    let web: BoxSvc = BoxCloneSyncService::new(GrpcWebLayer::new().layer(hoist_error_trailers(inner.clone())));
    service_fn(move |request: Req| {
        let target = if is_grpc_web(request.headers()) { web.clone() } else { inner.clone() };
        async move {
            let mut response = call(target, request).await;
            normalize_grpc_message(response.headers_mut());
            response
        }
    })
}

/// Turns "headers, no message, error trailers" into a trailers-only
/// response.
fn hoist_error_trailers(inner: BoxSvc) -> BoxSvc {
    service_fn(move |request: Req| {
        let inner = inner.clone();
        async move {
            let response = call(inner, request).await;
            if response.headers().contains_key("grpc-status") {
                return response;
            }
            let (mut parts, mut body) = response.into_parts();
            loop {
                match body.frame().await {
                    None => return Response::from_parts(parts, Body::empty()),
                    Some(Err(error)) => {
                        return Response::from_parts(parts, Body::new(Replay { first: Some(Err(error)), rest: body }));
                    }
                    Some(Ok(frame)) => {
                        if frame.data_ref().is_some_and(Bytes::is_empty) {
                            continue;
                        }
                        if let Some(trailers) = frame.trailers_ref() {
                            let failed = trailers.get("grpc-status").is_some_and(|status| status != "0");
                            if failed {
                                let trailers = frame.into_trailers().unwrap_or_default();
                                for (name, value) in &trailers {
                                    parts.headers.insert(name.clone(), value.clone());
                                }
                                return Response::from_parts(parts, Body::empty());
                            }
                        }
                        return Response::from_parts(parts, Body::new(Replay { first: Some(Ok(frame)), rest: body }));
                    }
                }
            }
        }
    })
}

/// A body whose first frame was already read.
struct Replay {
    first: Option<Result<Frame<Bytes>, Status>>,
    rest: Body,
}

impl http_body::Body for Replay {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(first));
        }
        Pin::new(&mut self.rest).poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_end_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};
    use http_body_util::StreamBody;

    fn backend(frames: fn() -> Vec<Frame<Bytes>>) -> BoxSvc {
        service_fn(move |_request: Req| {
            let frames = frames();
            async move {
                let stream = futures::stream::iter(frames.into_iter().map(Ok::<_, Status>));
                let mut response = Response::new(Body::new(StreamBody::new(stream)));
                response.headers_mut().insert("content-type", HeaderValue::from_static("application/grpc"));
                response
            }
        })
    }

    fn trailers(status: &'static str, message: &'static str) -> Frame<Bytes> {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static(status));
        trailers.insert("grpc-message", HeaderValue::from_static(message));
        Frame::trailers(trailers)
    }

    fn web_request() -> Req {
        let mut request = Req::new(Body::new(http_body_util::Full::new(Bytes::from_static(&[0, 0, 0, 0, 0]))));
        *request.method_mut() = http::Method::POST;
        request.headers_mut().insert("content-type", HeaderValue::from_static("application/grpc-web+proto"));
        request
    }

    #[tokio::test]
    async fn error_trailers_move_into_headers() {
        let service = translate(backend(|| vec![Frame::data(Bytes::new()), trailers("5", "no%20such%20order")]));
        let response = call(service, web_request()).await;
        assert_eq!(response.headers()["grpc-status"], "5");
        assert_eq!(response.headers()["grpc-message"], "no such order");
        assert_eq!(response.headers()["content-type"], "application/grpc-web+proto");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(body.is_empty());
    }

    #[tokio::test]
    async fn messages_keep_their_trailer_frame() {
        let message = Bytes::from_static(&[0, 0, 0, 0, 2, 8, 1]);
        let service =
            translate(backend(|| vec![Frame::data(Bytes::from_static(&[0, 0, 0, 0, 2, 8, 1])), trailers("0", "")]));
        let response = call(service, web_request()).await;
        assert!(!response.headers().contains_key("grpc-status"));
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..7], &message[..]);
        assert_eq!(body[7], 0x80, "a grpc-web trailer frame follows the message");
    }
}
