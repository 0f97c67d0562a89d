//! `make bench` (plugins part): compile time of every bundled plugin and
//! the latency of a warm gateway call, with the cheapest possible script
//! call (`version`) of the same unit as the baseline measured in the same
//! run.
//!
//! Environment: `BENCH_PLUGIN_CALLS` (default 2000), `BENCH_COMPILES`
//! (default 10), `BENCH_CONCURRENCY` (default 8).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustbill_bench::env_number;
use rustbill_plugins::engine::{Engine, EngineLimits, PluginType, ScriptRef};
use rustbill_plugins::host::HostEnv;
use serde_json::{Value as Json, json};

fn percentile(samples: &[Duration], fraction: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

fn print(name: &str, samples: &[Duration], wall: Duration) {
    println!(
        "{name:<44} n={:<6} p50={:>9.1} µs  p99={:>9.1} µs  throughput={:>9.1} calls/s",
        samples.len(),
        percentile(samples, 0.50).as_secs_f64() * 1e6,
        percentile(samples, 0.99).as_secs_f64() * 1e6,
        samples.len() as f64 / wall.as_secs_f64(),
    );
}

/// `calls` calls of `function` with `concurrency` callers.
async fn measure(
    engine: &Engine,
    script: &ScriptRef,
    function: &str,
    config: &Json,
    args: &Json,
    calls: usize,
    concurrency: usize,
) -> anyhow::Result<(Vec<Duration>, Duration)> {
    engine.call(script, function, config, args).await?; // compile + warm
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let (engine, script, function) = (engine.clone(), script.clone(), function.to_string());
        let (config, args) = (config.clone(), args.clone());
        workers.spawn(async move {
            let mut samples = Vec::new();
            let mut index = worker;
            while index < calls {
                let begin = Instant::now();
                engine.call(&script, &function, &config, &args).await?;
                samples.push(begin.elapsed());
                index += concurrency;
            }
            Ok::<_, anyhow::Error>(samples)
        });
    }
    let mut samples = Vec::with_capacity(calls);
    while let Some(joined) = workers.join_next().await {
        samples.extend(joined??);
    }
    Ok((samples, started.elapsed()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let calls = env_number("BENCH_PLUGIN_CALLS", 2000);
    let compiles = env_number("BENCH_COMPILES", 10);
    let concurrency = env_number("BENCH_CONCURRENCY", 8);
    let plugins_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins");
    let env = Arc::new(HostEnv::new(tokio::runtime::Handle::current(), None));
    let engine = Engine::new(env, EngineLimits::default())?;

    println!("# compile + contract check per bundled plugin ({compiles} runs each)");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&plugins_dir)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "rn"))
        .collect();
    files.sort();
    for path in &files {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let Some((plugin_type, _)) = PluginType::from_file_name(&name) else { continue };
        let source = std::fs::read_to_string(path)?;
        let mut samples = Vec::new();
        let started = Instant::now();
        for _ in 0..compiles {
            let begin = Instant::now();
            let engine = engine.clone();
            let source = source.clone();
            tokio::task::spawn_blocking(move || engine.check(plugin_type, &source)).await??;
            samples.push(begin.elapsed());
        }
        let wall = started.elapsed();
        println!(
            "compile {name:<36} p50={:>9.2} ms  p99={:>9.2} ms  ({} bytes, {:.1} compiles/s)",
            percentile(&samples, 0.5).as_secs_f64() * 1e3,
            percentile(&samples, 0.99).as_secs_f64() * 1e3,
            source.len(),
            samples.len() as f64 / wall.as_secs_f64(),
        );
    }

    let gateway = plugins_dir.join("gateway-yipay.rn");
    let Ok(source) = std::fs::read_to_string(&gateway) else {
        println!("(no {} yet: warm gateway call skipped)", gateway.display());
        return Ok(());
    };
    let script = ScriptRef::new("bench-yipay", "gateway-yipay", PluginType::Gateway, source.as_str());
    let config = json!({ "api_url": "https://pay.example.com", "pid": "1001", "key": "bench-key-0123456789" });
    let args = json!({
        "payment_id": "P202611230001", "description": "VPS 2C4G monthly", "amount": "59.00", "currency": "CNY",
        "notify_url": "https://billing.example.com/callback/x", "return_url": "https://billing.example.com/r",
        "client_ip": "203.0.113.9", "method": "alipay",
    });
    let compiled_before = engine.compilations();
    println!("# warm calls of gateway-yipay ({calls} calls; baseline: version() of the same unit)");
    for workers in [1, concurrency] {
        let (samples, wall) = measure(&engine, &script, "version", &config, &json!({}), calls, workers).await?;
        print(&format!("baseline version() x{workers}"), &samples, wall);
        let (samples, wall) = measure(&engine, &script, "create_payment", &config, &args, calls, workers).await?;
        print(&format!("create_payment (signed URL) x{workers}"), &samples, wall);
    }
    println!(
        "compilations during the warm runs: {} (the first call compiles, then the unit is cached)",
        engine.compilations() - compiled_before
    );
    Ok(())
}
