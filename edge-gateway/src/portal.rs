//! Layer 4b: the customer portal's static build at `/`, for a single
//! machine without a web server in front (`make run`).
//!
//! In production the portal is a static site served by Caddy next to the
//! edge (`deploy/caddy/Caddyfile`); the edge only serves it when
//! `[server].portal_dir` names a built `web/consumer/dist`. The files are
//! read from that directory on every request, so an operator can edit
//! `config.json` or drop in a new build without a restart.
//!
//! Only `GET` and `HEAD` are answered here, and never for gRPC paths
//! (`/rustbill.*`, `/grpc.*`), which are `POST`s anyway. A path that names
//! no file and does not look like one falls back to `index.html`, so
//! client-side routes (`/dashboard/orders/…`) load the app; a missing asset
//! is a 404. `index.html` and `config.json` are always revalidated; the
//! hashed files under `assets/` are cached for a year.

use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;
use http::{HeaderValue, Method, StatusCode, header};
use tonic::body::Body;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::middleware::{BoxSvc, Middleware, Req, Resp, call};

/// Layer 4b middleware: the portal at `/`.
pub(crate) struct PortalLayer {
    root: PathBuf,
}

impl PortalLayer {
    /// The portal built into `dir`, or `None` when `dir` is empty.
    pub(crate) fn new(dir: &str) -> Option<Self> {
        let dir = dir.trim();
        (!dir.is_empty()).then(|| Self { root: PathBuf::from(dir) })
    }

    /// Whether this layer answers `request`.
    fn serves(request: &Req) -> bool {
        let path = request.uri().path();
        matches!(*request.method(), Method::GET | Method::HEAD)
            && !path.starts_with("/rustbill.")
            && !path.starts_with("/grpc.")
    }

    async fn respond(self: Arc<Self>, request: Req) -> Resp {
        let path = request.uri().path().to_owned();
        let (parts, _) = request.into_parts();
        let file_request = || http::Request::from_parts(parts.clone(), Body::empty());
        let response = match ServeDir::new(&self.root).oneshot(file_request()).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let response = if response.status() == StatusCode::NOT_FOUND && !looks_like_file(&path) {
            let index = ServeFile::new(self.root.join("index.html"));
            match index.oneshot(file_request()).await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        } else {
            response
        };
        finish(response.map(Body::new), &path)
    }
}

/// Security and cache headers; a portal that was never built says so.
fn finish(mut response: Resp, path: &str) -> Resp {
    if response.status() == StatusCode::NOT_FOUND {
        return crate::middleware::text_response(
            StatusCode::NOT_FOUND,
            "not found (is [server].portal_dir a built web/consumer/dist?)",
        );
    }
    let immutable = path.starts_with("/assets/") && response.status().is_success();
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// A missing path that names a file is a 404, not the app's index.
fn looks_like_file(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|last| last.contains('.') && !last.ends_with(".html"))
}

impl Middleware for PortalLayer {
    fn handle(self: Arc<Self>, request: Req, next: BoxSvc) -> BoxFuture<'static, Resp> {
        if !Self::serves(&request) {
            return Box::pin(call(next, request));
        }
        Box::pin(self.respond(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, path: &str) -> Req {
        http::Request::builder().method(method).uri(path).body(Body::empty()).expect("request")
    }

    fn body_of(response: Resp) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let bytes = runtime.block_on(http_body_util::BodyExt::collect(response.into_body())).expect("body").to_bytes();
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    fn serve(layer: &Arc<PortalLayer>, path: &str) -> Resp {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(layer.clone().respond(request(Method::GET, path)))
    }

    #[test]
    fn serves_files_routes_and_404s() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("assets")).expect("mkdir");
        std::fs::write(dir.path().join("index.html"), "<html>portal</html>").expect("write");
        std::fs::write(dir.path().join("config.json"), "{\"appTitle\":\"X\"}").expect("write");
        std::fs::write(dir.path().join("assets/app-1.js"), "console.log(1)").expect("write");
        let layer = Arc::new(PortalLayer::new(dir.path().to_str().expect("utf-8 path")).expect("layer"));

        let index = serve(&layer, "/");
        assert_eq!(index.status(), 200);
        assert_eq!(index.headers()["cache-control"], "no-cache");
        assert_eq!(body_of(index), "<html>portal</html>");

        let route = serve(&layer, "/dashboard/orders/123");
        assert_eq!(route.status(), 200);
        assert_eq!(body_of(route), "<html>portal</html>");

        let config = serve(&layer, "/config.json");
        assert_eq!(config.headers()["content-type"], "application/json");
        assert_eq!(config.headers()["cache-control"], "no-cache");

        let asset = serve(&layer, "/assets/app-1.js");
        assert_eq!(asset.headers()["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(serve(&layer, "/assets/missing.js").status(), 404);
    }

    #[test]
    fn leaves_grpc_and_posts_alone() {
        assert!(PortalLayer::serves(&request(Method::GET, "/dashboard")));
        assert!(!PortalLayer::serves(&request(Method::POST, "/dashboard")));
        assert!(!PortalLayer::serves(&request(Method::GET, "/rustbill.identity.IdentityService/Login")));
        assert!(!PortalLayer::serves(&request(Method::GET, "/grpc.health.v1.Health/Check")));
        assert!(PortalLayer::new("  ").is_none());
    }
}
