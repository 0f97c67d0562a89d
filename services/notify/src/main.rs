//! `rustbill-notify`: the notify service on its own.

use std::sync::Arc;

use rustbill_shared::Config;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    rustbill_shared::grpc::run_service("notify", |config: Arc<Config>, url: String| async move {
        let database = rustbill_notify::prepare(&config, &url).await?;
        let (listener, _) = rustbill_shared::grpc::bind(config.services.notify.listen).await?;
        rustbill_notify::serve(config, database, listener, rustbill_shared::grpc::shutdown_signal()).await
    })
    .await
}
