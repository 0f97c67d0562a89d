//! Layer 4: the admin single-page app at `[server].admin_path`.
//!
//! The built SPA (`web/admin/dist`) comes from [`Embedded`]: inside release
//! binaries, read from disk by debug ones. When it was not built,
//! [`NotBuilt`] (or an empty [`Embedded`]) answers every admin path with a
//! bilingual page that says so. `index.html`'s `<base href>` is rewritten
//! to the configured mount point.
//!
//! Paths: `<admin_path>`, `<admin_path>/` and `<admin_path>/*`. A path that
//! names no asset and does not look like a file (no `.` in its last
//! segment) falls back to `index.html`, so client-side routes such as
//! `/admin/orders/123` load the app.

use std::borrow::Cow;
use std::sync::Arc;

use futures::future::BoxFuture;
use http::{HeaderValue, Method, Response, StatusCode, header};

use crate::middleware::{BoxSvc, Middleware, Req, Resp, call, full_body, text_response};

/// One file of the admin app.
#[derive(Debug, Clone)]
pub struct Asset {
    pub content_type: Cow<'static, str>,
    pub bytes: Cow<'static, [u8]>,
}

/// Where the admin app's files come from.
pub trait AdminAssets: Send + Sync + 'static {
    /// The file at `path`, relative to the app root, without a leading
    /// slash (`"index.html"`, `"assets/app-1234.js"`).
    fn get(&self, path: &str) -> Option<Asset>;
}

/// The assets of a binary built without the admin app: none.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotBuilt;

impl AdminAssets for NotBuilt {
    fn get(&self, _path: &str) -> Option<Asset> {
        None
    }
}

/// The admin app built by `npm run build` in `web/admin` (`make run` and
/// `make test` build it first). Release builds carry the files inside the
/// binary; debug builds read them from `web/admin/dist` at run time, so a
/// rebuilt front end shows without relinking. Without a build there are no
/// files and the edge answers [`NOT_BUILT_PAGE`].
#[derive(rust_embed::Embed)]
#[folder = "../web/admin/dist"]
#[allow_missing = true]
#[exclude = "*.map"]
struct Dist;

/// The admin app's files from `web/admin/dist`, if it was built.
#[derive(Debug, Clone, Copy, Default)]
pub struct Embedded;

impl AdminAssets for Embedded {
    fn get(&self, path: &str) -> Option<Asset> {
        let file = Dist::get(path)?;
        Some(Asset { content_type: Cow::Owned(file.metadata.mimetype().to_string()), bytes: file.data })
    }
}

/// The page shown when the admin app is not built into the binary.
pub const NOT_BUILT_PAGE: &str = r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>RustBill 管理后台 / Admin</title>
<style>
body { font-family: system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", sans-serif; max-width: 44rem; margin: 4rem auto; padding: 0 1.5rem; color: #1f2937; line-height: 1.6; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
h2 { font-size: 1.1rem; color: #4b5563; margin-top: 0; font-weight: normal; }
code { background: #f3f4f6; padding: .1rem .35rem; border-radius: .25rem; }
section { border-top: 1px solid #e5e7eb; padding-top: 1rem; margin-top: 1.5rem; }
</style>
</head>
<body>
<h1>管理后台尚未构建</h1>
<h2>The admin UI is not built into this binary</h2>
<section lang="zh-CN">
<p>这个 <code>rustbill-edge</code> 在构建时没有包含管理后台前端(<code>web/admin</code>)。API 照常可用:</p>
<ul>
<li>gRPC 与 gRPC-Web:与本页同一端口,路径 <code>/rustbill.&lt;包&gt;.&lt;服务&gt;/&lt;方法&gt;</code>;</li>
<li>服务列表:gRPC 反射(例如 <code>grpcurl -plaintext 主机:端口 list</code>);</li>
<li>健康检查:<code>/health</code>,就绪检查:<code>/ready</code>;</li>
<li>也可以使用命令行工具 <code>rustbill-cli</code>。</li>
</ul>
<p>构建管理后台前端后重新构建本程序,即可在此路径访问管理后台。</p>
</section>
<section lang="en">
<p>This <code>rustbill-edge</code> was built without the admin front end (<code>web/admin</code>). The API works as usual:</p>
<ul>
<li>gRPC and gRPC-Web on this same port, at <code>/rustbill.&lt;package&gt;.&lt;Service&gt;/&lt;Method&gt;</code>;</li>
<li>list the services with gRPC reflection (e.g. <code>grpcurl -plaintext host:port list</code>);</li>
<li>health: <code>/health</code>, readiness: <code>/ready</code>;</li>
<li>or use the command-line tool <code>rustbill-cli</code>.</li>
</ul>
<p>Build the admin front end, then rebuild this binary, to serve the admin UI at this path.</p>
</section>
</body>
</html>
"#;

/// The admin app slot of the edge.
#[derive(Clone)]
pub struct AdminUi {
    /// Normalised mount path: leading `/`, no trailing `/` (`"/admin"`).
    mount: String,
    assets: Arc<dyn AdminAssets>,
}

impl std::fmt::Debug for AdminUi {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("AdminUi").field("mount", &self.mount).finish_non_exhaustive()
    }
}

impl AdminUi {
    /// The admin app at `admin_path` (as in `[server].admin_path`).
    pub fn new(admin_path: &str, assets: Arc<dyn AdminAssets>) -> Self {
        let trimmed = admin_path.trim().trim_end_matches('/');
        let mount = if trimmed.is_empty() {
            "/admin".to_string()
        } else if trimmed.starts_with('/') {
            trimmed.to_string()
        } else {
            format!("/{trimmed}")
        };
        Self { mount, assets }
    }

    /// The path below the mount point ("" for the app root), when `path`
    /// belongs to the admin app.
    fn relative<'a>(&self, path: &'a str) -> Option<&'a str> {
        let rest = path.strip_prefix(self.mount.as_str())?;
        if rest.is_empty() {
            return Some("");
        }
        rest.strip_prefix('/')
    }

    /// Points the page's `<base href>` at the mount point, so that the
    /// app's relative asset URLs and its router work under any
    /// `[server].admin_path` (the build says `/admin/`).
    fn rebase(&self, page: Cow<'static, [u8]>) -> Cow<'static, [u8]> {
        const BASE: &[u8] = b"<base href=\"";
        let Some(start) = page.windows(BASE.len()).position(|window| window == BASE).map(|at| at + BASE.len()) else {
            return page;
        };
        let Some(length) = page[start..].iter().position(|&byte| byte == b'"') else {
            return page;
        };
        let wanted = format!("{}/", self.mount);
        if &page[start..start + length] == wanted.as_bytes() {
            return page;
        }
        let mut rebased = Vec::with_capacity(page.len() + wanted.len());
        rebased.extend_from_slice(&page[..start]);
        rebased.extend_from_slice(wanted.as_bytes());
        rebased.extend_from_slice(&page[start + length..]);
        Cow::Owned(rebased)
    }

    /// The response for `relative` (a path below the mount point).
    fn respond(&self, relative: &str, head: bool) -> Resp {
        let exact = if relative.is_empty() || relative.ends_with('/') { None } else { self.assets.get(relative) };
        let (asset, fresh) = match exact {
            Some(asset) => {
                let fresh = relative.ends_with(".html");
                (asset, fresh)
            }
            None => match self.assets.get("index.html") {
                Some(_) if looks_like_file(relative) => {
                    return text_response(StatusCode::NOT_FOUND, "not found");
                }
                Some(index) => (index, true),
                None => (
                    Asset {
                        content_type: Cow::Borrowed("text/html; charset=utf-8"),
                        bytes: Cow::Borrowed(NOT_BUILT_PAGE.as_bytes()),
                    },
                    true,
                ),
            },
        };
        let bytes =
            if fresh && asset.content_type.starts_with("text/html") { self.rebase(asset.bytes) } else { asset.bytes };
        let body = if head { full_body(bytes::Bytes::new()) } else { full_body(bytes.into_owned()) };
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&asset.content_type) {
            headers.insert(header::CONTENT_TYPE, value);
        }
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
        // Pages must always be revalidated; hashed assets may be cached.
        let cache = if fresh { "no-cache" } else { "public, max-age=31536000, immutable" };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        response
    }
}

/// A missing path that names a file (not a client-side route) is a 404,
/// not the SPA's index.
fn looks_like_file(relative: &str) -> bool {
    relative.rsplit('/').next().is_some_and(|last| last.contains('.') && !last.ends_with(".html"))
}

/// Layer 4 middleware.
pub(crate) struct AdminLayer {
    pub(crate) ui: AdminUi,
}

impl Middleware for AdminLayer {
    fn handle(self: Arc<Self>, request: Req, next: BoxSvc) -> BoxFuture<'static, Resp> {
        let Some(relative) = self.ui.relative(request.uri().path()) else {
            return Box::pin(call(next, request));
        };
        let response = match *request.method() {
            Method::GET => self.ui.respond(relative, false),
            Method::HEAD => self.ui.respond(relative, true),
            _ => {
                let mut response = text_response(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
                response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
                response
            }
        };
        Box::pin(async move { response })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;

    impl AdminAssets for Fake {
        fn get(&self, path: &str) -> Option<Asset> {
            let (content_type, bytes): (&str, &[u8]) = match path {
                "index.html" => ("text/html", b"<html>app</html>"),
                "assets/app.js" => ("text/javascript", b"console.log(1)"),
                _ => return None,
            };
            Some(Asset { content_type: content_type.to_string().into(), bytes: Cow::Borrowed(bytes) })
        }
    }

    #[test]
    fn mount_paths_match() {
        let ui = AdminUi::new("/admin/", Arc::new(NotBuilt));
        assert_eq!(ui.relative("/admin"), Some(""));
        assert_eq!(ui.relative("/admin/"), Some(""));
        assert_eq!(ui.relative("/admin/orders/1"), Some("orders/1"));
        assert_eq!(ui.relative("/administrator"), None);
        assert_eq!(ui.relative("/rustbill.identity.IdentityService/Login"), None);
        assert_eq!(AdminUi::new("console", Arc::new(NotBuilt)).relative("/console/x"), Some("x"));
    }

    #[test]
    fn spa_fallback_serves_index_and_assets() {
        let ui = AdminUi::new("/admin", Arc::new(Fake));
        let response = ui.respond("orders/1", false);
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/html");
        assert_eq!(response.headers()["cache-control"], "no-cache");
        let response = ui.respond("assets/app.js", false);
        assert_eq!(response.headers()["content-type"], "text/javascript");
        assert_eq!(ui.respond("assets/missing.js", false).status(), 404);
    }

    struct Based;

    impl AdminAssets for Based {
        fn get(&self, path: &str) -> Option<Asset> {
            (path == "index.html").then(|| Asset {
                content_type: "text/html".into(),
                bytes: Cow::Borrowed(b"<head><base href=\"/admin/\" /></head>"),
            })
        }
    }

    fn body_of(response: Resp) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let bytes = runtime.block_on(http_body_util::BodyExt::collect(response.into_body())).expect("body").to_bytes();
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[test]
    fn index_base_follows_the_admin_path() {
        let page = body_of(AdminUi::new("/console/", Arc::new(Based)).respond("orders/1", false));
        assert_eq!(page, "<head><base href=\"/console/\" /></head>");
        let page = body_of(AdminUi::new("/admin", Arc::new(Based)).respond("", false));
        assert_eq!(page, "<head><base href=\"/admin/\" /></head>");
    }

    #[test]
    fn not_built_answers_the_placeholder_everywhere() {
        let ui = AdminUi::new("/admin", Arc::new(NotBuilt));
        for path in ["", "orders/1", "assets/app.js"] {
            let response = ui.respond(path, false);
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
        }
    }
}
