//! The plumbing every layer of the edge shares: one request and response
//! type, a boxed service, and a small "middleware" trait so each layer is a
//! plain async function of (request, next service).

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderValue, Response, StatusCode, header};
use tonic::body::Body;
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceExt};

/// A request as every layer sees it.
pub(crate) type Req = http::Request<Body>;
/// A response as every layer produces it.
pub(crate) type Resp = http::Response<Body>;
/// The edge's services never fail: every error is a response.
pub(crate) type BoxSvc = BoxCloneSyncService<Req, Resp, Infallible>;

/// One layer of the edge.
pub(crate) trait Middleware: Send + Sync + 'static {
    fn handle(self: Arc<Self>, request: Req, next: BoxSvc) -> BoxFuture<'static, Resp>;
}

/// Puts `middleware` in front of `next`.
pub(crate) fn wrap<M: Middleware>(middleware: M, next: BoxSvc) -> BoxSvc {
    BoxCloneSyncService::new(MiddlewareService { middleware: Arc::new(middleware), next })
}

struct MiddlewareService<M> {
    middleware: Arc<M>,
    next: BoxSvc,
}

impl<M> Clone for MiddlewareService<M> {
    fn clone(&self) -> Self {
        Self { middleware: self.middleware.clone(), next: self.next.clone() }
    }
}

impl<M: Middleware> Service<Req> for MiddlewareService<M> {
    type Response = Resp;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Resp, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is checked per call on a clone of `next` (oneshot).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let future = self.middleware.clone().handle(request, self.next.clone());
        Box::pin(async move { Ok(future.await) })
    }
}

/// A boxed service from an async function.
pub(crate) fn service_fn<F, Fut>(function: F) -> BoxSvc
where
    F: Fn(Req) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Resp> + Send + 'static,
{
    BoxCloneSyncService::new(tower::service_fn(move |request: Req| {
        let future = function(request);
        async move { Ok::<_, Infallible>(future.await) }
    }))
}

/// Calls a boxed service once.
pub(crate) async fn call(service: BoxSvc, request: Req) -> Resp {
    match service.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// A whole body from bytes.
pub(crate) fn full_body(bytes: impl Into<Bytes>) -> Body {
    Body::new(http_body_util::Full::new(bytes.into()))
}

/// A plain-text response.
pub(crate) fn text_response(status: StatusCode, text: impl Into<Bytes>) -> Resp {
    let mut response = Response::new(full_body(text));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
