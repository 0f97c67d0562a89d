//! Layer 2 (`/health`, `/ready`) and the edge's own `grpc.health.v1`.
//!
//! - `/health`: 200 `OK` at once, no backend is asked (load balancers).
//! - `/ready`: 200 `READY` when every configured backend answers
//!   `grpc.health.v1.Health/Check` (service "") with SERVING within 2 s,
//!   else 503 and which backend is not ready.
//! - `grpc.health.v1.Health` on the edge reports every public service
//!   (`rustbill_proto::PUBLIC_SERVICES`) as its backend reports itself,
//!   refreshed every 5 s; "" is SERVING when every backend is.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use http::{Method, StatusCode};
use rustbill_shared::principal::{Caller, InternalSigner, Principal};
use tonic::transport::Channel;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus as WireStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::server::HealthReporter;

use crate::backends::{Backend, Channels};
use crate::cors::CorsPolicy;
use crate::middleware::{BoxSvc, Middleware, Req, Resp, call, service_fn, text_response};

/// Bound on one backend health probe.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the edge's `grpc.health.v1` statuses are refreshed.
pub(crate) const REFRESH_EVERY: Duration = Duration::from_secs(5);

/// Asks the backends whether they serve.
#[derive(Clone)]
pub(crate) struct Probes {
    channels: Channels,
    signer: InternalSigner,
}

impl Probes {
    pub(crate) fn new(channels: Channels, signer: InternalSigner) -> Self {
        Self { channels, signer }
    }

    /// One probe: `Ok` when the backend answers SERVING in time.
    async fn probe(&self, channel: Channel) -> Result<(), String> {
        let mut request = tonic::Request::new(HealthCheckRequest { service: String::new() });
        request.set_timeout(PROBE_TIMEOUT);
        // Services verify a principal on every call; health usually does not
        // need one, but it costs nothing to send.
        let caller = Caller {
            principal: Principal::Service { name: "edge".into() },
            request_id: uuid::Uuid::now_v7().to_string(),
            client_ip: String::new(),
            traceparent: String::new(),
        };
        self.signer.attach(&caller, &mut request);
        let answer = tokio::time::timeout(PROBE_TIMEOUT, HealthClient::new(channel).check(request)).await;
        match answer {
            Err(_) => Err("no answer within 2 s".into()),
            Ok(Err(status)) if status.code() == tonic::Code::Unavailable => Err("unreachable".into()),
            Ok(Err(status)) => Err(format!("health check failed ({:?})", status.code())),
            Ok(Ok(response)) => match WireStatus::try_from(response.into_inner().status) {
                Ok(WireStatus::Serving) => Ok(()),
                Ok(other) => Err(other.as_str_name().to_string()),
                Err(_) => Err("unknown status".into()),
            },
        }
    }

    /// Every configured backend, probed concurrently.
    pub(crate) async fn probe_all(&self) -> Vec<(Backend, Result<(), String>)> {
        let probes = self.channels.iter().map(|(backend, channel)| {
            let channel = channel.clone();
            async move { (backend, self.probe(channel).await) }
        });
        futures::future::join_all(probes).await
    }

    /// `/ready`.
    async fn ready(&self) -> Resp {
        let results = self.probe_all().await;
        let failures: Vec<String> = results
            .into_iter()
            .filter_map(|(backend, result)| result.err().map(|reason| format!("{backend}: {reason}")))
            .collect();
        if failures.is_empty() {
            text_response(StatusCode::OK, "READY")
        } else {
            text_response(StatusCode::SERVICE_UNAVAILABLE, format!("NOT READY: {}", failures.join("; ")))
        }
    }
}

/// Layer 2 middleware.
pub(crate) struct HealthRoutes {
    health: BoxSvc,
    ready: BoxSvc,
}

impl HealthRoutes {
    pub(crate) fn new(probes: Probes, cors: &CorsPolicy) -> Self {
        let health = cors.wrap(service_fn(|request: Req| async move {
            if request.method() == Method::HEAD {
                text_response(StatusCode::OK, "")
            } else {
                text_response(StatusCode::OK, "OK")
            }
        }));
        let ready = cors.wrap(service_fn(move |_request: Req| {
            let probes = probes.clone();
            async move { probes.ready().await }
        }));
        Self { health, ready }
    }
}

impl Middleware for HealthRoutes {
    fn handle(self: Arc<Self>, request: Req, next: BoxSvc) -> BoxFuture<'static, Resp> {
        let target = match request.uri().path() {
            "/health" => self.health.clone(),
            "/ready" => self.ready.clone(),
            _ => next,
        };
        Box::pin(call(target, request))
    }
}

/// Keeps the edge's `grpc.health.v1` statuses in line with the backends
/// until dropped.
pub(crate) async fn refresh_forever(probes: Probes, reporter: HealthReporter) {
    let mut ticker = tokio::time::interval(REFRESH_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_overall = None;
    loop {
        ticker.tick().await;
        let results = probes.probe_all().await;
        let serving = |backend: Backend| results.iter().any(|(probed, result)| *probed == backend && result.is_ok());
        for service in rustbill_proto::PUBLIC_SERVICES {
            let status = match Backend::for_service(service) {
                Some(backend) if serving(backend) => ServingStatus::Serving,
                _ => ServingStatus::NotServing,
            };
            reporter.set_service_status(service, status).await;
        }
        let overall = results.iter().all(|(_, result)| result.is_ok());
        reporter.set_service_status("", if overall { ServingStatus::Serving } else { ServingStatus::NotServing }).await;
        if last_overall != Some(overall) {
            for (backend, result) in &results {
                if let Err(reason) = result {
                    tracing::warn!(%backend, %reason, "backend is not serving");
                }
            }
            if overall {
                tracing::info!(backends = results.len(), "every backend is serving");
            }
            last_overall = Some(overall);
        }
    }
}

/// Marks every public service NOT_SERVING until the first probe.
pub(crate) async fn initial_statuses(reporter: &HealthReporter) {
    for service in rustbill_proto::PUBLIC_SERVICES {
        reporter.set_service_status(service, ServingStatus::NotServing).await;
    }
    reporter.set_service_status("", ServingStatus::NotServing).await;
}
