//! Compiles a tiny Rune script with the `rustbill_host` module and runs its
//! `main` on a blocking thread inside `with_scope`, as the engine does.

use std::sync::Arc;

use rune::runtime::Value;
use rustbill_plugins::host::{CallScope, HostEnv, with_scope};

/// How the VM is driven on the blocking thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drive {
    /// `vm.call` (synchronous `fn main`).
    Call,
    /// `futures::executor::block_on(vm.async_call(..))` (`async fn main`).
    FuturesBlockOn,
    /// `Handle::block_on(vm.async_call(..))`: host functions then run on a
    /// thread that is already inside the runtime's `block_on`.
    TokioBlockOn,
}

/// What a script call gave: `main`'s value (as text) or the VM error, and
/// what was logged on the script's thread.
#[derive(Debug)]
pub struct Outcome {
    pub result: Result<String, String>,
    pub logs: String,
}

impl Outcome {
    /// The value, failing the test on a VM error.
    pub fn value(&self) -> &str {
        match &self.result {
            Ok(value) => value,
            Err(error) => panic!("script failed: {error}\nlogs:\n{}", self.logs),
        }
    }

    pub fn error(&self) -> &str {
        match &self.result {
            Ok(value) => panic!("script succeeded with {value:?}, expected an error"),
            Err(error) => error,
        }
    }
}

/// Runs `main(args…)` of `source` for interface `interface_id`.
pub async fn run(env: &Arc<HostEnv>, interface_id: &str, source: &str, args: &[&str]) -> Outcome {
    run_with(env, interface_id, source, args, Drive::Call).await
}

pub async fn run_with(env: &Arc<HostEnv>, interface_id: &str, source: &str, args: &[&str], drive: Drive) -> Outcome {
    let scope =
        CallScope { interface_id: interface_id.to_string(), plugin_id: "test-plugin".to_string(), env: env.clone() };
    let source = source.to_string();
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let (result, logs) = super::logs::capture(|| with_scope(scope, || call(&source, args, drive, &handle)));
        Outcome { result, logs }
    })
    .await
    .expect("the script thread panicked")
}

fn call(source: &str, args: Vec<String>, drive: Drive, handle: &tokio::runtime::Handle) -> Result<String, String> {
    let mut context = rune::Context::with_default_modules().map_err(|error| error.to_string())?;
    context.install(rustbill_plugins::host::module().map_err(|error| error.to_string())?).map_err(|e| e.to_string())?;
    let runtime = Arc::new(context.runtime().map_err(|error| error.to_string())?);
    let mut sources = rune::Sources::new();
    sources.insert(rune::Source::memory(source).map_err(|error| error.to_string())?).map_err(|e| e.to_string())?;
    let mut diagnostics = rune::Diagnostics::new();
    let unit = rune::prepare(&mut sources).with_context(&context).with_diagnostics(&mut diagnostics).build();
    let unit = match unit {
        Ok(unit) => unit,
        Err(error) => {
            let mut writer = rune::termcolor::Buffer::no_color();
            diagnostics.emit(&mut writer, &sources).ok();
            panic!("script does not compile: {error}\n{}", String::from_utf8_lossy(writer.as_slice()));
        }
    };
    let mut vm = rune::Vm::new(runtime, Arc::new(unit));
    let mut values = Vec::new();
    for arg in args {
        values.push(rune::to_value(arg).map_err(|error| error.to_string())?);
    }
    let output = match drive {
        Drive::Call => vm.call(["main"], values),
        Drive::FuturesBlockOn => futures::executor::block_on(vm.async_call(["main"], values)),
        Drive::TokioBlockOn => handle.block_on(vm.async_call(["main"], values)),
    };
    output.map(describe).map_err(|error| error.to_string())
}

/// A returned value as text: strings raw, integers and booleans printed,
/// unit as `()`, vectors and objects as JSON.
fn describe(value: Value) -> String {
    if let Ok(text) = rune::from_value::<String>(value.clone()) {
        return text;
    }
    if let Ok(number) = rune::from_value::<i64>(value.clone()) {
        return number.to_string();
    }
    if let Ok(flag) = rune::from_value::<bool>(value.clone()) {
        return flag.to_string();
    }
    if rune::from_value::<()>(value.clone()).is_ok() {
        return "()".to_string();
    }
    serde_json::to_string(&value).unwrap_or_else(|_| format!("{value:?}"))
}
