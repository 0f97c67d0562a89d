//! The RustBill edge gateway: one public port for gRPC (HTTP/2, h2c),
//! gRPC-Web (binary and text, HTTP/1.1 and HTTP/2) and plain HTTP, in front
//! of the RustBill services. It owns no data.
//!
//! Layer order, outermost first (spec operations manual §1.3):
//!
//! 1. concurrency limit `[server].max_concurrency`, FIFO queue, never shed;
//! 2. `/health` (200 `OK` at once) and `/ready` (every backend SERVING);
//! 3. rate limit per client IP on Login / Register / SendVerificationCode;
//! 4. admin app at `[server].admin_path` ([`admin_ui`]), and payment
//!    gateways' notifications at `/callback/<gateway_interface_id>`
//!    ([`callback`]), handed to payments' HandleCallback; the customer
//!    portal's static build at `/` when `[server].portal_dir` is set
//!    (`make run`; production serves it from Caddy);
//! 5. CORS from `[server].cors_allowed_origins`;
//! 6. authentication: identifies (session cookie, customer JWT, API key)
//!    through identity's `AuthService/Resolve`, never rejects; strips
//!    client `x-rustbill-*` headers and forwards a signed principal;
//! 7. `x-request-id` and W3C `traceparent`, tracing span, call log;
//! 8. gRPC-Web translation, then routing by path
//!    `/rustbill.<package>.<Service>/<Method>` to the owning backend
//!    ([`Backend::for_package`]); `rustbill.internal.*` is never routed.
//!
//! The edge also serves `grpc.health.v1.Health` (every public service, as
//! its backend reports) and gRPC server reflection (v1 and v1alpha) of the
//! public packages.
//!
//! The client IP is the TCP peer address, or the `X-Forwarded-For` hop seen
//! by a peer listed in `[server].trusted_proxies`.

pub mod admin_ui;
mod auth;
mod backends;
pub mod callback;
mod concurrency;
mod context;
mod cors;
mod grpc_web;
mod health;
mod middleware;
mod portal;
mod proxy;
mod ratelimit;
mod server;
mod status;

pub use backends::{Backend, Backends};
pub use server::{Edge, run};
