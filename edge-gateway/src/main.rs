//! `rustbill-edge`: the public gateway of a RustBill deployment.

use std::process::ExitCode;

use rustbill_shared::Config;

#[tokio::main]
async fn main() -> ExitCode {
    rustbill_shared::telemetry::init();
    let config = match Config::load().and_then(|config| config.validate().map(|()| config)) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("rustbill-edge: {error}");
            return ExitCode::from(2);
        }
    };
    config.log_unsupported();
    match rustbill_edge::run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "rustbill-edge stopped");
            eprintln!("rustbill-edge: {error:#}");
            ExitCode::FAILURE
        }
    }
}
