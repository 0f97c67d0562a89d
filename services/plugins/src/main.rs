//! `rustbill-plugins`: the plugin service on its own.

use std::sync::Arc;

use rustbill_shared::Config;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    rustbill_shared::grpc::run_service("plugins", |config: Arc<Config>, url: String| async move {
        let database = rustbill_plugins::prepare(&config, &url).await?;
        let (listener, _) = rustbill_shared::grpc::bind(config.services.plugins.listen).await?;
        let restart = CancellationToken::new();
        rustbill_plugins::serve(config, database, listener, rustbill_shared::grpc::shutdown_signal(), restart.clone())
            .await?;
        if restart.is_cancelled() {
            tracing::warn!("exiting for RestartServer; the supervisor starts a fresh process");
        }
        Ok(())
    })
    .await
}
