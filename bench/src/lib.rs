//! What every `make bench` binary shares: settings from the environment,
//! a load loop with p50/p99 and throughput, and an in-process server with
//! an admin session.

pub mod scale;

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use rustbill_proto::identity::LoginRequest;
use rustbill_proto::identity::identity_service_client::IdentityServiceClient;
use rustbill_shared::Config;
use secrecy::SecretString;
use tonic::transport::Channel;

/// The bootstrap admin's password of bench servers.
pub const ADMIN_PASSWORD: &str = "bench-admin-password-1";

/// `name` from the environment as a number, else `default`.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// The samples of one measurement and the wall time they took.
pub struct Stats {
    pub name: String,
    pub samples: Vec<Duration>,
    pub wall: Duration,
}

impl Stats {
    pub fn percentile(&self, fraction: f64) -> Duration {
        percentile(&self.samples, fraction)
    }

    /// One line: n, p50 and p99 in milliseconds, throughput.
    pub fn print(&self) {
        println!(
            "{:<40} n={:<6} p50={:>9.3} ms  p99={:>9.3} ms  throughput={:>9.1} req/s",
            self.name,
            self.samples.len(),
            self.percentile(0.50).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            self.samples.len() as f64 / self.wall.as_secs_f64(),
        );
    }
}

/// The `fraction` percentile of `samples` (nearest rank).
pub fn percentile(samples: &[Duration], fraction: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

/// Runs `total` calls of `call` (given the call's index) on `concurrency`
/// workers, after `concurrency` warm-up calls that are not counted.
pub async fn measure<F, Fut>(name: &str, total: usize, concurrency: usize, call: F) -> anyhow::Result<Stats>
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    for index in 0..concurrency.min(total) {
        call(index).await?;
    }
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency.max(1) {
        let call = call.clone();
        workers.spawn(async move {
            let mut samples = Vec::new();
            let mut index = worker;
            while index < total {
                let begin = Instant::now();
                call(index).await?;
                samples.push(begin.elapsed());
                index += concurrency.max(1);
            }
            Ok::<_, anyhow::Error>(samples)
        });
    }
    let mut samples = Vec::with_capacity(total);
    while let Some(joined) = workers.join_next().await {
        samples.extend(joined??);
    }
    Ok(Stats { name: name.to_string(), samples, wall: started.elapsed() })
}

/// The configuration of a bench server on `database_url`: edge on a free
/// port, no rate limits, plugins from `plugins_dir` when given.
pub fn server_config(database_url: &str, plugins_dir: Option<&Path>) -> Config {
    let mut config = Config::default();
    config.db.url = Some(SecretString::from(database_url.to_string()));
    config.jwt.secret = Some(SecretString::from("bench-jwt-secret-0123456789abcdef-0123456789"));
    config.bootstrap.admin_password = Some(SecretString::from(ADMIN_PASSWORD));
    config.server.port = 0;
    config.rate_limit.enabled = false;
    config.server.max_concurrency = 256;
    if let Some(dir) = plugins_dir {
        config.plugins.plugins_dir = dir.to_path_buf();
    }
    config
}

/// Logs the bootstrap admin in through `edge`; the `cookie` header value
/// and the admin's user id.
pub async fn admin_session(edge: &Channel) -> anyhow::Result<(String, String)> {
    let response = IdentityServiceClient::new(edge.clone())
        .login(LoginRequest { username: "admin".into(), password: ADMIN_PASSWORD.into(), user_type: "admin".into() })
        .await?;
    let cookie = response
        .metadata()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("no session cookie"))?
        .to_string();
    let user = response.into_inner().user.map(|user| user.id).unwrap_or_default();
    Ok((cookie, user))
}

/// `message` with the admin session's cookie.
pub fn with_cookie<T>(message: T, cookie: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("cookie", cookie.parse().expect("ascii cookie"));
    request
}

/// Creates and enables an interface of the scanned plugin `plugin_id`
/// through the edge; its id.
pub async fn enabled_interface(
    edge: &Channel,
    cookie: &str,
    plugin_id: &str,
    display_name: &str,
    config_json: &str,
) -> anyhow::Result<String> {
    use rustbill_proto::integration::integration_service_client::IntegrationServiceClient;
    use rustbill_proto::integration::{CreatePluginInterfaceRequest, ListPluginsRequest, TogglePluginInterfaceRequest};
    let mut integration = IntegrationServiceClient::new(edge.clone());
    let definition = integration
        .list_plugins(with_cookie(ListPluginsRequest { plugin_type: None }, cookie))
        .await?
        .into_inner()
        .plugins
        .into_iter()
        .find(|plugin| plugin.plugin_id == plugin_id)
        .ok_or_else(|| anyhow::anyhow!("plugin {plugin_id} was not scanned"))?;
    let interface = integration
        .create_plugin_interface(with_cookie(
            CreatePluginInterfaceRequest {
                plugin_def_id: definition.id,
                display_name: display_name.into(),
                config_json: config_json.into(),
            },
            cookie,
        ))
        .await?
        .into_inner()
        .interface
        .ok_or_else(|| anyhow::anyhow!("no interface"))?
        .id;
    integration
        .toggle_plugin_interface(with_cookie(
            TogglePluginInterfaceRequest { interface_id: interface.clone(), enable: true },
            cookie,
        ))
        .await?;
    Ok(interface)
}
