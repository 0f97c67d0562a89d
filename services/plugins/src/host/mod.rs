//! The host API: the `rustbill_host::` functions plugin scripts call.
//!
//! Scripts call host functions synchronously (no `.await`), so the engine
//! runs every script call on the blocking thread pool, inside
//! [`with_scope`], and host functions reach the async world through the
//! runtime handle in [`HostEnv`]. Every argument and result is a `String`
//! (or unit), as the spec's contract says.
//!
//! INTERFACE CONTRACT between the engine and the host (keep it stable):
//! - `HostEnv::new(...)` holds what host functions share (database pool for
//!   plugin state, outbound HTTP client, runtime handle);
//! - `with_scope(scope, f)` runs `f` with `scope` visible to host functions
//!   on this thread (interface id for log tags and state namespacing);
//! - `module()` is the Rune module named `rustbill_host`.

use std::cell::RefCell;
use std::sync::Arc;

/// What every host function shares.
#[derive(Debug)]
pub struct HostEnv {
    /// Runs async work (HTTP, SQL, SMTP) from the blocking thread a script
    /// runs on.
    pub runtime: tokio::runtime::Handle,
    /// Plugin state (`state_get`/`state_set`) lives in the plugins schema;
    /// `None` in tools and tests that run scripts without a database.
    pub pool: Option<sqlx::PgPool>,
}

impl HostEnv {
    pub fn new(runtime: tokio::runtime::Handle, pool: Option<sqlx::PgPool>) -> Self {
        Self { runtime, pool }
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

/// The `rustbill_host` module.
pub fn module() -> Result<rune::Module, rune::ContextError> {
    let module = rune::Module::with_crate("rustbill_host")?;
    Ok(module)
}
