//! `rustbill-edge`: the public gateway of a RustBill deployment.

use std::process::ExitCode;

use rustbill_shared::Config;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::load().and_then(|config| config.validate().map(|()| config)) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("rustbill-edge: {error}");
            return ExitCode::from(2);
        }
    };
    let telemetry = rustbill_shared::telemetry::init_with(&config.telemetry, "edge");
    let result = rustbill_edge::run(config).await;
    telemetry.shutdown().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "rustbill-edge stopped");
            eprintln!("rustbill-edge: {error:#}");
            ExitCode::FAILURE
        }
    }
}
