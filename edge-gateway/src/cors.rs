//! Layer 5: CORS from `[server].cors_allowed_origins`, on tower-http's
//! `CorsLayer`.
//!
//! - exact origins: those origins, credentials (cookies) allowed;
//! - `"*"`: any origin, without credentials (development);
//! - empty: same-origin only, no CORS headers at all.
//!
//! A request whose `Origin` is not allowed gets no CORS header whatsoever
//! (the browser then refuses it); a preflight from such an origin is
//! answered 403 here. `/health`, `/ready` and the errors the edge answers
//! before this layer (rate limit) go through the same policy, because the
//! customer portal pings `/health` cross-origin.

use std::collections::HashSet;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use tower::Layer as _;
use tower::util::BoxCloneSyncService;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::middleware::{BoxSvc, Req, call, service_fn, text_response};

/// Request headers a browser may send.
const ALLOW_HEADERS: [&str; 7] =
    ["content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization", "x-request-id", "traceparent"];

/// Response headers a browser script may read.
const EXPOSE_HEADERS: [&str; 5] =
    ["grpc-status", "grpc-message", "grpc-status-details-bin", "x-request-id", "traceparent"];

#[derive(Debug, Clone)]
enum Origins {
    /// Same-origin only.
    None,
    /// `"*"`.
    Any,
    /// Exactly these.
    List(HashSet<HeaderValue>),
}

/// The CORS policy of the edge.
#[derive(Debug, Clone)]
pub(crate) struct CorsPolicy {
    origins: Origins,
    layer: CorsLayer,
}

impl CorsPolicy {
    pub(crate) fn from_origins(configured: &[String]) -> anyhow::Result<Self> {
        let origins = if configured.iter().any(|origin| origin.trim() == "*") {
            Origins::Any
        } else {
            let mut list = HashSet::new();
            for origin in configured.iter().map(|origin| origin.trim().trim_end_matches('/')) {
                if origin.is_empty() {
                    continue;
                }
                let value = HeaderValue::from_str(origin)
                    .map_err(|_| anyhow::anyhow!("[server].cors_allowed_origins has an invalid origin {origin:?}"))?;
                list.insert(value);
            }
            if list.is_empty() { Origins::None } else { Origins::List(list) }
        };
        let base = CorsLayer::new()
            .allow_methods([Method::POST, Method::GET, Method::OPTIONS])
            .allow_headers(ALLOW_HEADERS.map(HeaderName::from_static))
            .expose_headers(EXPOSE_HEADERS.map(HeaderName::from_static))
            .max_age(Duration::from_secs(3600));
        let layer = match &origins {
            Origins::Any => base.allow_origin(AllowOrigin::any()),
            Origins::List(list) => base.allow_origin(AllowOrigin::list(list.iter().cloned())).allow_credentials(true),
            Origins::None => base,
        };
        Ok(Self { origins, layer })
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        match &self.origins {
            Origins::None => false,
            Origins::Any => true,
            Origins::List(list) => list.contains(origin),
        }
    }

    /// `inner` behind this policy.
    pub(crate) fn wrap(&self, inner: BoxSvc) -> BoxSvc {
        let with_cors: BoxSvc = BoxCloneSyncService::new(self.layer.layer(inner.clone()));
        let policy = self.clone();
        service_fn(move |request: Req| {
            let policy = policy.clone();
            let inner = inner.clone();
            let with_cors = with_cors.clone();
            async move {
                let allowed = match request.headers().get(header::ORIGIN) {
                    Some(origin) => policy.allows(origin),
                    None => {
                        // Not a cross-origin browser request.
                        return call(inner, request).await;
                    }
                };
                let preflight = request.method() == Method::OPTIONS
                    && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
                if allowed {
                    call(with_cors, request).await
                } else if preflight {
                    let mut response = text_response(StatusCode::FORBIDDEN, "origin not allowed");
                    response.headers_mut().insert(header::VARY, HeaderValue::from_static("origin"));
                    response
                } else {
                    // Same-origin requests carry `Origin` too; the browser
                    // enforces the rest.
                    call(inner, request).await
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse() {
        let policy = CorsPolicy::from_origins(&["https://a.example/".into(), " https://b.example".into()]).unwrap();
        assert!(policy.allows(&HeaderValue::from_static("https://a.example")));
        assert!(policy.allows(&HeaderValue::from_static("https://b.example")));
        assert!(!policy.allows(&HeaderValue::from_static("https://c.example")));
        let any = CorsPolicy::from_origins(&["*".into()]).unwrap();
        assert!(any.allows(&HeaderValue::from_static("https://c.example")));
        let none = CorsPolicy::from_origins(&[]).unwrap();
        assert!(!none.allows(&HeaderValue::from_static("https://c.example")));
        assert!(CorsPolicy::from_origins(&["https://bad\nexample".into()]).is_err());
    }
}
