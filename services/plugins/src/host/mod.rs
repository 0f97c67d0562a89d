//! The host API: the `rustbill_host::` functions plugin scripts call.
//!
//! Scripts call host functions synchronously (no `.await`), so the engine
//! runs every script call on a thread of its own (outside the async runtime), inside
//! [`with_scope`], and host functions reach the async world through the
//! runtime handle in [`HostEnv`]. Every argument and result is a `String`
//! (or unit; `json_array_len` returns an integer and `json_stringify` takes
//! any value), as the spec's contract says.
//!
//! INTERFACE CONTRACT between the engine and the host (keep it stable):
//! - `HostEnv::new(runtime, pool)` holds what host functions share
//!   (database pool for plugin state, outbound HTTP client, SMTP options,
//!   runtime handle); `with_http` / `with_smtp` replace the defaults;
//! - `with_scope(scope, f)` runs `f` with `scope` visible to host functions
//!   on this thread (interface id for log tags and state namespacing);
//! - `module()` is the Rune module named `rustbill_host`.
//!
//! Errors, following the spec's convention: functions that return a string
//! return `"ERROR: <reason>"` when they fail (HTTP, bad JSON input). Where
//! no string could carry the failure safely — `smtp_send` and `state_set`
//! return unit, and any string `state_get` returned would be read as a
//! stored value — an infrastructure failure (SMTP refused, database down)
//! fails the script call with a VM error instead, so that the caller sees a
//! failed call (and retries) rather than a silent success. No host function
//! panics.

mod codec;
mod grpc_web;
mod log;
mod net;
mod smtp;
pub mod state;

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;

use tracing::Instrument;

use crate::http::OutboundHttp;

pub use smtp::SmtpOptions;
pub use state::MIGRATOR;

/// What every host function shares.
#[derive(Debug)]
pub struct HostEnv {
    /// Runs async work (HTTP, SQL, SMTP) from the blocking thread a script
    /// runs on.
    pub runtime: tokio::runtime::Handle,
    /// Plugin state (`state_get`/`state_set`) lives in the plugins schema;
    /// `None` in tools and tests that run scripts without a database, where
    /// state is kept in memory (per interface, lost on restart).
    pub pool: Option<sqlx::PgPool>,
    /// The one outbound HTTP client (retries, breakers, mTLS cache).
    pub http: Arc<OutboundHttp>,
    /// How `smtp_send` connects.
    pub smtp: SmtpOptions,
    /// Plugin state when there is no pool.
    pub(crate) memory_state: state::MemoryState,
}

impl HostEnv {
    /// An environment with a default outbound client
    /// ([`crate::http::HttpPolicy::default`]) and default SMTP options.
    ///
    /// Build one per service and share it (`Arc<HostEnv>`): the outbound
    /// client's circuit breakers and mTLS cache live in it.
    pub fn new(runtime: tokio::runtime::Handle, pool: Option<sqlx::PgPool>) -> Self {
        Self {
            runtime,
            pool,
            http: Arc::new(OutboundHttp::default()),
            smtp: SmtpOptions::default(),
            memory_state: state::MemoryState::default(),
        }
    }

    /// Uses `http` (e.g. one client shared by the whole service, or one
    /// with a test policy).
    pub fn with_http(mut self, http: Arc<OutboundHttp>) -> Self {
        self.http = http;
        self
    }

    pub fn with_smtp(mut self, smtp: SmtpOptions) -> Self {
        self.smtp = smtp;
        self
    }

    /// Runs `future` on the runtime and waits for it on this thread.
    ///
    /// The future is spawned onto the runtime and its result sent back over
    /// a channel, rather than `Handle::block_on`, so that this works from
    /// any synchronous context the engine may use: a blocking-pool thread,
    /// a thread inside `futures::executor::block_on`, and even a thread
    /// already inside `Handle::block_on` (where a nested `block_on` would
    /// panic). It must not be called on the only worker of a current-thread
    /// runtime (nothing would run the task), which the engine never does.
    pub fn block_on<F>(&self, future: F) -> Result<F::Output, String>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        self.runtime.spawn(
            async move {
                sender.send(future.await).ok();
            }
            .instrument(tracing::Span::current()),
        );
        receiver.recv().map_err(|_| "the runtime stopped before the host call finished".to_string())
    }
}

/// The call a host function is serving.
#[derive(Debug, Clone)]
pub struct CallScope {
    /// The plugin interface (instance) whose script is running.
    pub interface_id: String,
    /// The plugin definition id, e.g. `notifier-webhook`.
    pub plugin_id: String,
    pub env: Arc<HostEnv>,
}

thread_local! {
    static SCOPE: RefCell<Option<CallScope>> = const { RefCell::new(None) };
}

/// Runs `f` with `scope` visible to host functions on this thread; the
/// previous scope is restored afterwards, also on panic.
pub fn with_scope<R>(scope: CallScope, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<CallScope>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            SCOPE.with(|slot| *slot.borrow_mut() = previous);
        }
    }
    let previous = SCOPE.with(|slot| slot.borrow_mut().replace(scope));
    let _restore = Restore(previous);
    f()
}

/// The scope of the running call, if any.
pub fn current_scope() -> Option<CallScope> {
    SCOPE.with(|slot| slot.borrow().clone())
}

/// The scope, or the reason a host function cannot run without one.
fn require_scope(function: &str) -> Result<CallScope, String> {
    current_scope().ok_or_else(|| format!("{function} called outside a plugin call (no call scope)"))
}

/// The `rustbill_host` module.
pub fn module() -> Result<rune::Module, rune::ContextError> {
    let mut module = rune::Module::with_crate("rustbill_host")?;

    module.function("log_info", log::log_info).build()?;
    module.function("log_warn", log::log_warn).build()?;
    module.function("log_error", log::log_error).build()?;

    module.function("http_get", net::http_get).build()?;
    module.function("http_post", net::http_post).build()?;
    module.function("http_post_bytes", net::http_post_bytes).build()?;
    module.function("http_post_with_headers", net::http_post_with_headers).build()?;
    module.function("http_request_with_cert", net::http_request_with_cert).build()?;

    module.function("md5_hex", codec::md5_hex).build()?;
    // RustBill extensions (not in the spec's list; see the plugins README).
    module.function("sha256_hex", codec::sha256_hex).build()?;
    module.function("hmac_sha256_hex", codec::hmac_sha256_hex).build()?;
    module.function("url_encode", codec::url_encode).build()?;
    module.function("url_decode", codec::url_decode).build()?;
    module.function("form_to_json", codec::form_to_json).build()?;
    module.function("json_parse", codec::json_parse).build()?;
    module.function("now_rfc3339", codec::now_rfc3339).build()?;
    module.function("now_unix", codec::now_unix).build()?;
    // Unary gRPC-Web call to an upstream RustBill's public API (provider-rustbill).
    module.function("grpc_web_call", grpc_web::grpc_web_call).build()?;

    module.function("smtp_send", smtp::smtp_send).build()?;

    module.function("state_get", state::state_get).build()?;
    module.function("state_set", state::state_set).build()?;

    module.function("json_get", codec::json_get).build()?;
    module.function("json_array_len", codec::json_array_len).build()?;
    module.function("json_stringify", codec::json_stringify).build()?;

    Ok(module)
}
