//! `rustbill-server`: the single-machine default.

use std::process::ExitCode;

use rustbill_shared::Config;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::load().and_then(|config| config.validate().map(|()| config)) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("rustbill-server: {error}");
            return ExitCode::from(2);
        }
    };
    let telemetry = rustbill_shared::telemetry::init_with(&config.telemetry, "server");
    let admin_path = config.server.admin_path.clone();
    let serves_portal = !config.server.portal_dir.trim().is_empty();
    let server = match rustbill_server::Server::start(config).await {
        Ok(server) => server,
        Err(error) => {
            if let Some(config_error) = error.downcast_ref::<rustbill_shared::config::ConfigError>() {
                eprintln!("rustbill-server: {config_error}");
                return ExitCode::from(2);
            }
            eprintln!("rustbill-server: {error:#}");
            telemetry.shutdown().await;
            return ExitCode::FAILURE;
        }
    };
    // Signal handlers first: a SIGTERM right after the ready line must stop
    // the server cleanly.
    let shutdown = rustbill_shared::grpc::shutdown_signal();
    // One machine-readable line; tests and scripts wait for it.
    let portal = if serves_portal { format!(" portal=http://{}/", server.edge_addr) } else { String::new() };
    println!(
        "rustbill-server ready: edge=http://{} admin=http://{}{}{portal}",
        server.edge_addr, server.edge_addr, admin_path
    );
    let result = server.run_until(shutdown).await;
    telemetry.shutdown().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rustbill-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}
