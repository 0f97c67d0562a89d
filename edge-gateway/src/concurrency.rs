//! Layer 1: at most `[server].max_concurrency` requests in flight; the
//! rest wait in FIFO order (never rejected, never shed).
//!
//! `tokio::sync::Semaphore` is fair: `acquire` waiters are served strictly
//! in the order they started waiting. A permit is held until the response
//! body is finished (or dropped), so a slow download still counts as in
//! flight, unlike `tower::limit::ConcurrencyLimit`, which lets go when the
//! response headers are ready.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body::Frame;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::body::Body;

use crate::middleware::{BoxSvc, Middleware, Req, Resp, call};

pub(crate) struct ConcurrencyLimit {
    semaphore: Arc<Semaphore>,
}

impl ConcurrencyLimit {
    pub(crate) fn new(max_in_flight: usize) -> Self {
        Self { semaphore: Arc::new(Semaphore::new(max_in_flight.clamp(1, Semaphore::MAX_PERMITS))) }
    }
}

impl Middleware for ConcurrencyLimit {
    fn handle(self: Arc<Self>, request: Req, next: BoxSvc) -> BoxFuture<'static, Resp> {
        Box::pin(async move {
            // The semaphore is never closed.
            let permit = self.semaphore.clone().acquire_owned().await.expect("edge semaphore is never closed");
            let response = call(next, request).await;
            response.map(|body| Body::new(PermitBody { inner: body, permit: Some(permit) }))
        })
    }
}

/// Holds a permit until the body has been sent to its end.
struct PermitBody {
    inner: Body,
    permit: Option<OwnedSemaphorePermit>,
}

impl http_body::Body for PermitBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(context);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.permit = None;
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
