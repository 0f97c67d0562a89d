//! Running one script function inside its limits.
//!
//! - **Instructions**: `rune::runtime::budget::with(n, ..)` sets a
//!   thread-local instruction budget that `Vm::run` draws from. When it
//!   reaches zero the VM halts with "limited"; the engine then finds the
//!   budget at zero and reports [`EngineError::BudgetExhausted`]. Nested VMs
//!   started by native code (closures passed to `map`, generators…) do
//!   not draw from it in Rune 0.14, which is why [`super::guard`] refuses
//!   the constructs that create them.
//! - **Memory**: `rune::alloc::limit::with(bytes, ..)` caps what the VM
//!   allocates through Rune's allocator (every script value: strings,
//!   vectors, objects, the VM stack and its call frames). A refused
//!   allocation fails the instruction with "Failed to allocate N bytes",
//!   reported as [`EngineError::MemoryLimit`]. Endless script recursion
//!   grows the VM's own heap-allocated stack, so it ends here or in the
//!   instruction budget. Values nested as deep as the cap allows are
//!   dropped recursively by Rust; `EngineLimits::stack_bytes` sizes the
//!   call's thread for that.
//! - **Wall clock**: the caller waits at most `timeout` for the call's
//!   thread ([`super::Engine::call`]) and reports [`EngineError::Timeout`];
//!   Rune cannot preempt a running VM, so the abandoned thread stops when
//!   its instruction budget or memory cap ends it (or when a host call it
//!   sits in returns; host I/O has its own timeouts).
//! - **Panics**: `panic!` in a script is a VM error ("Panicked: …") →
//!   [`EngineError::Panicked`]; a Rust panic in a native function is caught
//!   with `catch_unwind` → [`EngineError::Panicked`] too.
//!
//! Both thread-locals are restored when the call returns (also when it
//! unwinds), so one call's limits never leak into the next call on the
//! same blocking thread.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use rune::runtime::{RuntimeContext, VmError, budget};
use rune::{Hash, Unit, Vm};

use super::EngineError;
use super::convert::to_raw_return;
use super::output::RawReturn;

/// The limits every call runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineLimits {
    /// VM instructions per call.
    pub instructions: u64,
    /// Wall-clock time the caller waits for one call (waiting for a free
    /// slot and compiling a changed script included).
    pub timeout: Duration,
    /// Bytes the script may hold allocated at once through Rune's allocator.
    pub memory_bytes: usize,
    /// Stack of the thread each call (and each compile) runs on. Rune 0.14
    /// drops, formats, compares and serialises nested values recursively,
    /// so the deepest value `memory_bytes` allows must fit: about 32× the
    /// memory cap. Measured on a debug build: a 64 MiB cap allows a vector
    /// nested ~450 000 deep; dropping it needs 256–512 MiB of stack,
    /// `format!("{v:?}")` of one 300 000 deep more than 1 GiB, and 2 GiB
    /// covered every case tried (release builds use far less). This is
    /// reserved address space, touched only as deep as a call goes and
    /// returned when the call's thread ends; on a host with strict
    /// overcommit (`vm.overcommit_memory = 2`) lower it, or thread creation
    /// fails (`EngineError::Internal`).
    pub stack_bytes: usize,
    /// Calls running at once; more wait (inside their timeout).
    pub max_concurrent_calls: usize,
    /// Allow closures, script functions as values, generators, `.await`,
    /// `select` and `impl` blocks. Rune 0.14 runs code called back from
    /// native functions outside the instruction budget and on the Rust
    /// stack, so with this on an endless loop inside a closure is never
    /// stopped and recursion through closures can abort the process. Only
    /// for trusted scripts. See [`super::guard`].
    pub allow_callbacks: bool,
}

impl Default for EngineLimits {
    /// 10 million instructions, 10 seconds, 64 MiB of memory, 2 GiB of
    /// stack, 64 concurrent calls, callbacks refused.
    fn default() -> Self {
        Self {
            instructions: 10_000_000,
            timeout: Duration::from_secs(10),
            memory_bytes: 64 * 1024 * 1024,
            stack_bytes: 2 * 1024 * 1024 * 1024,
            max_concurrent_calls: 64,
            allow_callbacks: false,
        }
    }
}

/// Runs `hash` in a fresh VM over `unit` with `(merged, ())`, inside the
/// instruction and memory limits, on the current thread; converts what it
/// returned into data.
pub(crate) fn run_function(
    runtime: Arc<RuntimeContext>,
    unit: Arc<Unit>,
    source: &str,
    function: &str,
    hash: Hash,
    merged: String,
    limits: &EngineLimits,
) -> Result<RawReturn, EngineError> {
    let instructions = usize::try_from(limits.instructions).unwrap_or(usize::MAX);
    let memory = limits.memory_bytes;
    let attempt = catch_unwind(AssertUnwindSafe(|| {
        budget::with(
            instructions,
            rune::alloc::limit::with(memory, || {
                let result = execute(runtime, unit, hash, merged);
                // Read the budget before the guard restores the caller's.
                let budget_spent = !budget::acquire().take();
                match result {
                    Ok(value) => Ok(value),
                    Err(Failure::Vm(error)) => Err(classify(&error, budget_spent, limits, source)),
                    Err(Failure::Convert(message)) => Err(EngineError::BadReturn(message)),
                }
            }),
        )
        .call()
    }));
    match attempt {
        Ok(result) => result.map_err(|error| error.in_function(function)),
        Err(payload) => Err(EngineError::Panicked(format!("native code panicked: {}", panic_message(&*payload)))),
    }
}

enum Failure {
    Vm(VmError),
    Convert(String),
}

fn execute(runtime: Arc<RuntimeContext>, unit: Arc<Unit>, hash: Hash, merged: String) -> Result<RawReturn, Failure> {
    let mut vm = Vm::new(runtime, unit);
    let mut execution = vm.execute(hash, (merged, ())).map_err(Failure::Vm)?;
    // Contract functions may be `async fn` and may `.await` script futures;
    // host functions are synchronous, so nothing here waits on I/O that this
    // executor would have to drive: polling on this thread is enough.
    let value = futures::executor::block_on(execution.async_complete()).into_result().map_err(Failure::Vm)?;
    to_raw_return(&value).map_err(Failure::Convert)
}

fn classify(error: &VmError, budget_spent: bool, limits: &EngineLimits, source: &str) -> EngineError {
    let message = error.to_string();
    if budget_spent && message.contains("`limited`") {
        return EngineError::BudgetExhausted { instructions: limits.instructions };
    }
    if message.starts_with("Failed to allocate") || message.starts_with("Capacity overflow") {
        return EngineError::MemoryLimit { bytes: limits.memory_bytes };
    }
    let location = match location_of(error, source) {
        Some((line, snippet)) if !snippet.is_empty() => format!(" (line {line}: `{snippet}`)"),
        Some((line, _)) => format!(" (line {line})"),
        None => String::new(),
    };
    match message.strip_prefix("Panicked: ") {
        Some(reason) => EngineError::Panicked(format!("{reason}{location}")),
        None => EngineError::Runtime(format!("{message}{location}")),
    }
}

/// The script line of the innermost instruction that failed, and the
/// source of that instruction (one line, at most 80 characters): Rune names
/// a missing method by hash only, the snippet shows which call it was.
fn location_of(error: &VmError, source: &str) -> Option<(usize, String)> {
    let location = error.first_location()?;
    let debug = location.unit.debug_info()?;
    let span = debug.instruction_at(location.ip)?.span;
    // Positions in the appended export shim are past the script's end.
    let prefix = source.get(..span.start.into_usize())?;
    let line = prefix.matches('\n').count() + 1;
    let text = source.get(span.range()).unwrap_or_default();
    let first_line = text.lines().next().unwrap_or_default().trim();
    let snippet = match first_line.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &first_line[..cut]),
        None => first_line.to_string(),
    };
    Some((line, snippet))
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic payload".to_string()
    }
}
