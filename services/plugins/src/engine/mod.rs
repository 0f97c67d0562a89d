//! The Rune engine: compiles plugin scripts once per (interface, script
//! hash), checks their contract, runs each call in a fresh, bounded VM on
//! a thread of its own and turns what scripts return into typed results.
//!
//! ```text
//! compile: guard(source) + export shim + rustbill_host module → Unit → guard(unit) → contract
//!          (cached per interface + hash; failures cached too)
//! call:    merge(config, args) → call thread (big stack) → with_scope → fresh Vm → fn(merged, ()) → RawReturn
//! reload:  evict(interface_id) → the next call compiles the new source
//! ```
//!
//! Calls do not use tokio's blocking pool: its threads have the runtime's
//! stack size (2 MiB by default), and Rune 0.14 drops and formats nested
//! script values recursively, so a script could overflow such a stack and
//! abort the process (see [`guard`]). Each call runs on a thread spawned
//! with `EngineLimits::stack_bytes` of stack (address space reserved, not
//! memory used); the async caller awaits it through a channel, so the
//! contract is the same as `spawn_blocking`: host functions may block.
//!
//! - [`contract`]: the plugin types and their contract functions;
//! - [`exports`]: how plain top-level `fn`s are made callable;
//! - [`guard`]: what Rune 0.14 cannot bound, and how the engine refuses it;
//! - [`limits`]: instruction budget, memory cap, timeout, panics;
//! - [`merge`]: the config-merge convention (first argument);
//! - [`output`]: return conventions and typed results.

pub mod contract;
mod convert;
pub mod exports;
pub mod guard;
pub mod limits;
pub mod merge;
pub mod output;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rune::compile::NoopSourceLoader;
use rune::runtime::RuntimeContext;
use rune::termcolor::NoColor;
use rune::{Context, Diagnostics, Hash, Options, Source, Sources, Unit};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::host::{CallScope, HostEnv, with_scope};

pub use contract::{CONTRACT_ARITY, ContractViolation, OPTIONAL_FUNCTIONS, PluginType, UnknownPluginType};
pub use exports::ScriptFunction;
pub use limits::EngineLimits;
pub use merge::{merge_config, merged_argument};
pub use output::{
    ActionOutcome, ActionStyle, DetailSection, EventFilter, FailureKind, InstanceAction, InstanceCreated,
    InstanceState, PaymentCreated, PaymentState, PaymentUpdate, PluginFailure, RawReturn, parse_config_schema,
    parse_done, parse_gateway_result, parse_health, parse_notifier_result, parse_provider_result, parse_result,
    parse_spec_template, parse_templates, parse_version,
};

/// Why a call (or a compile) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The script does not compile; the text is Rune's diagnostics.
    #[error("script does not compile:\n{0}")]
    Compile(String),
    /// The script compiles but breaks its plugin type's contract.
    #[error("script breaks the {plugin_type} contract: {}", join(violations))]
    Contract { plugin_type: PluginType, violations: Vec<ContractViolation> },
    /// The called function is not a top-level function of the script.
    #[error("the script has no function `{0}`")]
    NoSuchFunction(String),
    /// The called function does not take the two contract parameters.
    #[error("function `{function}` declares {found} parameter(s); plugin functions take 2 (config, _unused)")]
    WrongArity { function: String, found: usize },
    /// Config or arguments are not JSON objects.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The call used up its instruction budget.
    #[error("instruction budget of {instructions} exhausted")]
    BudgetExhausted { instructions: u64 },
    /// The caller stopped waiting after the wall-clock limit.
    #[error("call timed out after {0:?}")]
    Timeout(std::time::Duration),
    /// The script tried to hold more memory than allowed.
    #[error("memory limit of {bytes} bytes exceeded")]
    MemoryLimit { bytes: usize },
    /// `panic!` in the script, or a panic in native code.
    #[error("script panicked: {0}")]
    Panicked(String),
    /// Any other runtime error (type errors, missing host function, division
    /// by zero, …), with the script line when known.
    #[error("runtime error: {0}")]
    Runtime(String),
    /// The returned value cannot be turned into data (a function, a future…).
    #[error("unusable return value: {0}")]
    BadReturn(String),
    /// The engine itself failed (runtime shutting down, …).
    #[error("engine error: {0}")]
    Internal(String),
}

impl EngineError {
    /// Runtime failures name the function they happened in.
    fn in_function(self, function: &str) -> Self {
        match self {
            EngineError::Panicked(message) => EngineError::Panicked(format!("in `{function}`: {message}")),
            EngineError::Runtime(message) => EngineError::Runtime(format!("in `{function}`: {message}")),
            EngineError::BadReturn(message) => EngineError::BadReturn(format!("`{function}` returned {message}")),
            other => other,
        }
    }
}

fn join(violations: &[ContractViolation]) -> String {
    violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// The script of one plugin interface.
#[derive(Clone)]
pub struct ScriptRef {
    interface_id: String,
    plugin_id: String,
    plugin_type: PluginType,
    source: Arc<str>,
    hash: Arc<str>,
}

impl ScriptRef {
    /// Hashes `source` once ([`script_hash`]); the cache keys on
    /// (interface id, hash).
    pub fn new(
        interface_id: impl Into<String>,
        plugin_id: impl Into<String>,
        plugin_type: PluginType,
        source: impl Into<Arc<str>>,
    ) -> Self {
        let source = source.into();
        let hash = script_hash(&source).into();
        Self { interface_id: interface_id.into(), plugin_id: plugin_id.into(), plugin_type, source, hash }
    }

    pub fn interface_id(&self) -> &str {
        &self.interface_id
    }

    pub fn plugin_id(&self) -> &str {
        &self.plugin_id
    }

    pub fn plugin_type(&self) -> PluginType {
        self.plugin_type
    }

    pub fn source(&self) -> &Arc<str> {
        &self.source
    }

    /// Lowercase hex SHA-256 of the source.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

impl fmt::Debug for ScriptRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptRef")
            .field("interface_id", &self.interface_id)
            .field("plugin_id", &self.plugin_id)
            .field("plugin_type", &self.plugin_type)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// Lowercase hex SHA-256 of a script (the spec's `script_hash`).
pub fn script_hash(source: &str) -> String {
    hex::encode(Sha256::digest(source.as_bytes()))
}

/// What [`Engine::check`] learns about a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptInfo {
    /// What `fn version()` returned; `None` without one (the scanner then
    /// uses `0.0.0`).
    pub version: Option<String>,
    /// Every top-level function, in declaration order.
    pub functions: Vec<String>,
    /// The script declares `admin_page` (`plugins.has_admin_page`).
    pub has_admin_page: bool,
    /// [`script_hash`] of the source.
    pub hash: String,
}

/// A compiled, contract-checked script.
struct Compiled {
    unit: Arc<Unit>,
    /// The script as written (for line numbers in runtime errors).
    source: Arc<str>,
    functions: Vec<ScriptFunction>,
}

impl Compiled {
    fn function(&self, name: &str) -> Result<&ScriptFunction, EngineError> {
        let function = self
            .functions
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| EngineError::NoSuchFunction(name.to_string()))?;
        if function.arity != CONTRACT_ARITY {
            return Err(EngineError::WrongArity { function: name.to_string(), found: function.arity });
        }
        Ok(function)
    }
}

/// A cache entry: the result of compiling one source for one interface
/// (failures are cached too, so a broken script is not recompiled on every
/// event; `evict` or a new source retries).
struct CacheEntry {
    hash: Arc<str>,
    plugin_type: PluginType,
    compiled: Result<Arc<Compiled>, EngineError>,
}

struct Inner {
    env: Arc<HostEnv>,
    context: Context,
    runtime: Arc<RuntimeContext>,
    limits: EngineLimits,
    cache: RwLock<HashMap<String, Arc<CacheEntry>>>,
    /// Serialises compiles so concurrent first calls compile once.
    compile_lock: Mutex<()>,
    compilations: AtomicU64,
    /// `max_concurrent_calls` permits; a call's thread holds one until it
    /// ends (also after its caller timed out).
    permits: Arc<Semaphore>,
}

/// The plugin engine. Cheap to clone (one `Arc`); share one per service.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("limits", &self.inner.limits)
            .field("cached", &self.inner.cache.read().map(|c| c.len()).unwrap_or_default())
            .field("compilations", &self.compilations())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Builds the Rune context: Rune's default modules plus `rustbill_host`.
    pub fn new(env: Arc<HostEnv>, limits: EngineLimits) -> anyhow::Result<Self> {
        let mut context = Context::with_default_modules()?;
        context.install(crate::host::module()?)?;
        let runtime = Arc::new(context.runtime()?);
        Ok(Self {
            inner: Arc::new(Inner {
                env,
                context,
                runtime,
                limits,
                cache: RwLock::new(HashMap::new()),
                compile_lock: Mutex::new(()),
                compilations: AtomicU64::new(0),
                permits: Arc::new(Semaphore::new(limits.max_concurrent_calls.max(1))),
            }),
        })
    }

    pub fn limits(&self) -> EngineLimits {
        self.inner.limits
    }

    pub fn env(&self) -> &Arc<HostEnv> {
        &self.inner.env
    }

    /// How many times a script was compiled (cache misses, `check` included).
    pub fn compilations(&self) -> u64 {
        self.inner.compilations.load(Ordering::Relaxed)
    }

    /// Compiles `source` and checks the contract of `plugin_type`, without
    /// caching; then runs `version()` when the script has one. For the
    /// scanner and the Admin UI's save button.
    ///
    /// Blocks the calling thread while a thread of its own (with the
    /// engine's stack size) compiles and runs `version()` inside the
    /// engine's limits; from async code use [`Engine::check_async`].
    pub fn check(&self, plugin_type: PluginType, source: &str) -> Result<ScriptInfo, EngineError> {
        let engine = self.clone();
        let source: Arc<str> = Arc::from(source);
        let handle = spawn_call_thread(self.inner.limits.stack_bytes, move || engine.check_here(plugin_type, source))
            .map_err(|e| EngineError::Internal(format!("cannot start a plugin thread: {e}")))?;
        match handle.join() {
            Ok(result) => result,
            Err(payload) => {
                Err(EngineError::Panicked(format!("native code panicked: {}", limits::panic_message(&*payload))))
            }
        }
    }

    /// [`Engine::check`] without blocking an async worker.
    pub async fn check_async(&self, plugin_type: PluginType, source: &str) -> Result<ScriptInfo, EngineError> {
        let engine = self.clone();
        let source = source.to_string();
        tokio::task::spawn_blocking(move || engine.check(plugin_type, &source))
            .await
            .map_err(|e| EngineError::Internal(format!("check task failed: {e}")))?
    }

    fn check_here(&self, plugin_type: PluginType, source: Arc<str>) -> Result<ScriptInfo, EngineError> {
        let compiled = self.inner.compile(plugin_type, &source, "check")?;
        let version = match compiled.functions.iter().any(|f| f.name == "version") {
            false => None,
            true => {
                let scope = CallScope {
                    interface_id: String::new(),
                    plugin_id: "check".to_string(),
                    env: self.inner.env.clone(),
                };
                let raw = with_scope(scope, || self.inner.run(&compiled, "version", "{}".to_string()))?;
                Some(parse_version(raw).map_err(|failure| EngineError::BadReturn(format!("`version` {failure}")))?)
            }
        };
        Ok(ScriptInfo {
            version,
            functions: compiled.functions.iter().map(|f| f.name.clone()).collect(),
            has_admin_page: compiled.functions.iter().any(|f| f.name == "admin_page"),
            hash: script_hash(&source),
        })
    }

    /// Calls `function(merged, ())` of `script`: `config` and `args` are
    /// merged into one JSON object string ([`merge_config`]). Compiles on
    /// first use of (interface, hash) and reuses the unit afterwards; each
    /// call gets a fresh VM on a thread of its own, inside
    /// [`crate::host::with_scope`] and the engine's limits.
    pub async fn call(
        &self,
        script: &ScriptRef,
        function: &str,
        config: &Json,
        args: &Json,
    ) -> Result<RawReturn, EngineError> {
        let merged = merged_argument(config, args)?;
        let timeout = self.inner.limits.timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let timed_out = || {
            tracing::warn!(
                interface_id = script.interface_id(),
                plugin_id = script.plugin_id(),
                function,
                ?timeout,
                "plugin call timed out"
            );
            EngineError::Timeout(timeout)
        };
        let permit = match tokio::time::timeout_at(deadline, self.inner.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_closed)) => return Err(EngineError::Internal("the engine is shutting down".to_string())),
            Err(_) => return Err(timed_out()),
        };
        let inner = self.inner.clone();
        let task_script = script.clone();
        let function_name = function.to_string();
        let abandoned = Arc::new(AtomicBool::new(false));
        let abandoned_in_task = abandoned.clone();
        let (sender, receiver) = tokio::sync::oneshot::channel();
        spawn_call_thread(inner.limits.stack_bytes, move || {
            let _permit = permit;
            let started = std::time::Instant::now();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                inner.call_blocking(&task_script, &function_name, merged)
            }))
            .unwrap_or_else(|payload| {
                Err(EngineError::Panicked(format!("native code panicked: {}", limits::panic_message(&*payload))))
            });
            if abandoned_in_task.load(Ordering::Relaxed) {
                tracing::warn!(
                    interface_id = task_script.interface_id(),
                    plugin_id = task_script.plugin_id(),
                    function = function_name,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    error = result.as_ref().err().map(ToString::to_string),
                    "plugin call finished after its caller timed out"
                );
            }
            sender.send(result).ok();
        })
        .map_err(|e| EngineError::Internal(format!("cannot start a plugin thread: {e}")))?;
        match tokio::time::timeout_at(deadline, receiver).await {
            Ok(Ok(result)) => result,
            Ok(Err(_dropped)) => Err(EngineError::Internal("the plugin thread ended without a result".to_string())),
            Err(_) => {
                abandoned.store(true, Ordering::Relaxed);
                Err(timed_out())
            }
        }
    }

    /// Drops the cached unit of `interface_id`; the next call compiles the
    /// interface's (new) source. Call it after editing a script or config.
    pub fn evict(&self, interface_id: &str) {
        let removed = self.inner.cache.write().unwrap_or_else(|p| p.into_inner()).remove(interface_id);
        if removed.is_some() {
            tracing::debug!(interface_id, "plugin script evicted");
        }
    }

    /// Drops every cached unit.
    pub fn evict_all(&self) {
        self.inner.cache.write().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Whether (interface, current hash of `script`) is compiled and cached.
    pub fn is_cached(&self, script: &ScriptRef) -> bool {
        self.inner
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(script.interface_id())
            .is_some_and(|entry| entry.hash == script.hash && entry.plugin_type == script.plugin_type)
    }
}

impl Inner {
    /// The blocking half of a call: cached (or fresh) unit, scope, limits.
    fn call_blocking(&self, script: &ScriptRef, function: &str, merged: String) -> Result<RawReturn, EngineError> {
        let compiled = self.compiled(script)?;
        let scope = CallScope {
            interface_id: script.interface_id.clone(),
            plugin_id: script.plugin_id.clone(),
            env: self.env.clone(),
        };
        let result = with_scope(scope, || self.run(&compiled, function, merged));
        if let Err(error) = &result {
            tracing::debug!(
                interface_id = script.interface_id(),
                plugin_id = script.plugin_id(),
                function,
                %error,
                "plugin call failed"
            );
        }
        result
    }

    fn run(&self, compiled: &Compiled, function: &str, merged: String) -> Result<RawReturn, EngineError> {
        let declared = compiled.function(function)?;
        limits::run_function(
            self.runtime.clone(),
            compiled.unit.clone(),
            &compiled.source,
            function,
            Hash::type_hash([declared.name.as_str()]),
            merged,
            &self.limits,
        )
    }

    /// The cached unit of `script`, compiling it on a miss.
    fn compiled(&self, script: &ScriptRef) -> Result<Arc<Compiled>, EngineError> {
        if let Some(entry) = self.lookup(script) {
            return entry.compiled.clone();
        }
        let _compiling = self.compile_lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = self.lookup(script) {
            return entry.compiled.clone();
        }
        let compiled = self.compile(script.plugin_type, &script.source, &script.plugin_id).map(Arc::new);
        if let Err(error) = &compiled {
            tracing::warn!(
                interface_id = script.interface_id(),
                plugin_id = script.plugin_id(),
                %error,
                "plugin script rejected"
            );
        }
        let entry = Arc::new(CacheEntry {
            hash: script.hash.clone(),
            plugin_type: script.plugin_type,
            compiled: compiled.clone(),
        });
        self.cache.write().unwrap_or_else(|p| p.into_inner()).insert(script.interface_id.clone(), entry);
        compiled
    }

    fn lookup(&self, script: &ScriptRef) -> Option<Arc<CacheEntry>> {
        let cache = self.cache.read().unwrap_or_else(|p| p.into_inner());
        let entry = cache.get(&script.interface_id)?;
        (entry.hash == script.hash && entry.plugin_type == script.plugin_type).then(|| entry.clone())
    }

    /// Source → unit, with the export shim; then the contract check.
    fn compile(&self, plugin_type: PluginType, source: &Arc<str>, name: &str) -> Result<Compiled, EngineError> {
        self.compilations.fetch_add(1, Ordering::Relaxed);
        let forbid_callbacks = !self.limits.allow_callbacks;
        guard::check_source(source, forbid_callbacks).map_err(EngineError::Compile)?;
        let functions = match exports::top_level_functions(source) {
            Ok(functions) => functions,
            // Let the compiler report it, with line and column.
            Err(parse_error) => {
                return Err(match self.build(name, source) {
                    Err(error) => error,
                    Ok(_) => EngineError::Compile(parse_error),
                });
            }
        };
        let unit = self.build(name, &exports::with_export_shim(source, &functions))?;
        if forbid_callbacks {
            let script_functions: Option<HashSet<Hash>> =
                unit.debug_info().map(|debug| debug.functions.keys().copied().collect());
            guard::check_unit(&unit, script_functions.as_ref(), source).map_err(|refused| {
                EngineError::Compile(
                    refused
                        .iter()
                        .map(|r| match r.line {
                            Some(line) => format!("line {line}: not allowed in plugin scripts: {}", r.what),
                            None => format!("not allowed in plugin scripts: {}", r.what),
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            })?;
        }
        let violations = contract::check_contract(plugin_type, functions.iter().map(|f| (f.name.as_str(), f.arity)));
        if !violations.is_empty() {
            return Err(EngineError::Contract { plugin_type, violations });
        }
        Ok(Compiled { unit: Arc::new(unit), source: source.clone(), functions })
    }

    fn build(&self, name: &str, text: &str) -> Result<Unit, EngineError> {
        let mut sources = Sources::new();
        let source = Source::new(format!("{name}.rn"), text).map_err(|e| EngineError::Internal(e.to_string()))?;
        sources.insert(source).map_err(|e| EngineError::Internal(e.to_string()))?;
        let mut diagnostics = Diagnostics::without_warnings();
        let options = Options::default();
        let mut loader = NoopSourceLoader::default();
        let result = rune::prepare(&mut sources)
            .with_context(&self.context)
            .with_options(&options)
            .with_diagnostics(&mut diagnostics)
            .with_source_loader(&mut loader)
            .build();
        match result {
            Ok(unit) => Ok(unit),
            Err(_) => {
                let mut out = NoColor::new(Vec::new());
                let text = match diagnostics.emit(&mut out, &sources) {
                    Ok(()) => String::from_utf8_lossy(&out.into_inner()).trim_end().to_string(),
                    Err(error) => format!("(could not render diagnostics: {error})"),
                };
                Err(EngineError::Compile(text))
            }
        }
    }
}

/// Starts a named thread with `stack_bytes` of stack running `f`.
fn spawn_call_thread<T: Send + 'static>(
    stack_bytes: usize,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<T>> {
    std::thread::Builder::new().name("rustbill-plugin".to_string()).stack_size(stack_bytes.max(1024 * 1024)).spawn(f)
}
