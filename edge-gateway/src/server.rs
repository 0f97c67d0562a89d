//! The public listener: one port for gRPC (h2c), gRPC-Web (HTTP/1.1 and
//! HTTP/2) and plain HTTP, in front of the layer stack.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rustbill_shared::Config;
use rustbill_shared::principal::InternalSigner;
use tokio::net::TcpListener;
use tonic::body::Body;
use tonic_health::server::HealthReporter;
use tower::util::BoxCloneSyncService;

use crate::admin_ui::{AdminAssets, AdminLayer, AdminUi, Embedded};
use crate::auth::{Authenticate, SessionCookie};
use crate::backends::{Backend, Backends, Channels};
use crate::concurrency::ConcurrencyLimit;
use crate::context::{ClientAddr, LogContext, TrustedProxies};
use crate::cors::CorsPolicy;
use crate::health::{HealthRoutes, Probes};
use crate::middleware::{BoxSvc, call, wrap};
use crate::proxy::Router;
use crate::ratelimit::{RateLimitLayer, RateLimiter};

/// How long open connections may take to finish after shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The edge gateway, ready to serve.
pub struct Edge {
    max_concurrency: usize,
    trusted_proxies: TrustedProxies,
    channels: Channels,
    signer: InternalSigner,
    cors: CorsPolicy,
    limiter: Option<Arc<RateLimiter>>,
    cookie: SessionCookie,
    admin: AdminUi,
    admin_path: String,
    portal_dir: String,
    reporter: HealthReporter,
    health_service: BoxSvc,
    reflection_v1: BoxSvc,
    reflection_v1alpha: BoxSvc,
}

impl std::fmt::Debug for Edge {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Edge")
            .field("max_concurrency", &self.max_concurrency)
            .field("backends", &self.channels.iter().map(|(backend, _)| backend).collect::<Vec<_>>())
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

impl Edge {
    /// An edge for `config` in front of `backends`.
    ///
    /// Backend connections are made lazily, on first use, so the backends
    /// need not be up yet; this must be called inside a Tokio runtime.
    /// Reads `[server]`, `[session]`, `[rate_limit]`, `[redis]`,
    /// `[internal]` and `[jwt].secret` (for the internal key).
    pub fn new(config: &Config, backends: Backends) -> anyhow::Result<Edge> {
        let channels = Channels::connect_lazy(&backends)?;
        let signer = InternalSigner::new(&config.internal_secret(), config.internal.token_ttl_secs);
        let cors = CorsPolicy::from_origins(&config.server.cors_allowed_origins)?;
        let limiter = RateLimiter::from_config(config)?.map(Arc::new);
        let (reporter, health_server) = tonic_health::server::health_reporter();
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(rustbill_proto::PUBLIC_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .context("building the gRPC reflection service")?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(rustbill_proto::PUBLIC_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()
            .context("building the gRPC reflection service")?;
        Ok(Edge {
            max_concurrency: config.server.max_concurrency,
            trusted_proxies: TrustedProxies::parse(&config.server.trusted_proxies)?,
            channels,
            signer,
            cors,
            limiter,
            cookie: SessionCookie::from_config(config),
            admin: AdminUi::new(&config.server.admin_path, Arc::new(Embedded)),
            admin_path: config.server.admin_path.clone(),
            portal_dir: config.server.portal_dir.clone(),
            reporter,
            health_service: BoxCloneSyncService::new(health_server),
            reflection_v1: BoxCloneSyncService::new(reflection_v1),
            reflection_v1alpha: BoxCloneSyncService::new(reflection_v1alpha),
        })
    }

    /// Serves the admin app from `assets` instead of the built `web/admin`.
    pub fn with_admin_assets(mut self, assets: Arc<dyn AdminAssets>) -> Self {
        self.admin = AdminUi::new(&self.admin_path, assets);
        self
    }

    /// The whole layer stack, outermost first (spec operations manual §1.3):
    /// concurrency limit → /health, /ready → rate limit → callbacks → admin
    /// app → customer portal (when configured) → CORS →
    /// authentication → request id / traceparent → gRPC-Web → route.
    fn stack(&self) -> BoxSvc {
        let router = Router {
            channels: self.channels.clone(),
            health: self.health_service.clone(),
            reflection_v1: self.reflection_v1.clone(),
            reflection_v1alpha: self.reflection_v1alpha.clone(),
        }
        .into_service();
        let service = crate::grpc_web::translate(router);
        let service = wrap(LogContext, service);
        let identity = self.channels.get(Backend::Identity).cloned();
        let service = wrap(Authenticate::new(identity, self.signer.clone(), self.cookie.clone()), service);
        let service = self.cors.wrap(service);
        let service = match crate::portal::PortalLayer::new(&self.portal_dir) {
            Some(portal) => wrap(portal, service),
            None => service,
        };
        let service = wrap(AdminLayer { ui: self.admin.clone() }, service);
        let service = wrap(
            crate::callback::CallbackRoute {
                payments: self.channels.get(Backend::Payments).cloned(),
                signer: self.signer.clone(),
            },
            service,
        );
        let service = match &self.limiter {
            Some(limiter) => wrap(RateLimitLayer { limiter: limiter.clone(), cors: self.cors.clone() }, service),
            None => service,
        };
        let probes = Probes::new(self.channels.clone(), self.signer.clone());
        let service = wrap(HealthRoutes::new(probes, &self.cors), service);
        if self.max_concurrency == 0 { service } else { wrap(ConcurrencyLimit::new(self.max_concurrency), service) }
    }

    /// Serves on `listener` until `shutdown` completes, then stops
    /// accepting and gives open connections up to 10 s to finish.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let local = listener.local_addr().context("reading the edge's listening address")?;
        let stack = self.stack();
        crate::health::initial_statuses(&self.reporter).await;
        let probes = Probes::new(self.channels.clone(), self.signer.clone());
        let refresher = tokio::spawn(crate::health::refresh_forever(probes, self.reporter.clone()));

        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(30));
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(Some(Duration::from_secs(30)))
            .keep_alive_timeout(Duration::from_secs(20));
        let graceful = GracefulShutdown::new();
        tracing::info!(addr = %local, "edge listening (gRPC, gRPC-Web, HTTP)");

        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: wait a bit.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let stack = stack.clone();
            let trusted_proxies = self.trusted_proxies.clone();
            let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
                let mut request = request.map(Body::new);
                let client = trusted_proxies.client(peer, request.headers());
                request.extensions_mut().insert(ClientAddr(client));
                let stack = stack.clone();
                async move { Ok::<_, Infallible>(call(stack, request).await) }
            });
            let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
            });
        }

        drop(listener);
        refresher.abort();
        tracing::info!("edge stops accepting; draining open connections");
        if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
            tracing::warn!("some connections were still open after 10 s; closing them");
        }
        Ok(())
    }
}

/// Runs the edge for `config` (used by `rustbill-edge`): binds
/// `[server].host:port`, routes to `[services.*].url`, and serves until
/// SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let backends = Backends::from_config(&config);
    let edge = Edge::new(&config, backends)?;
    let addr = config.edge_addr();
    let listener = TcpListener::bind(&addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    edge.serve(listener, rustbill_shared::grpc::shutdown_signal()).await
}
