//! `rustbill.system.SystemService` (RustBill extension): the admin
//! dashboard and the operation log of every service, merged. Each service
//! owns its numbers and its log, so identity asks all of them for their
//! part (`rustbill.internal.system.SystemPartService`) at once, its own
//! part directly, and names the ones that do not answer in time in
//! `unavailable` instead of failing the whole answer. Admin (admin or
//! operator) only.

use std::time::Duration;

use rustbill_proto::common::PageMeta;
use rustbill_proto::internal::system::system_part_service_client::SystemPartServiceClient;
use rustbill_proto::internal::system::{
    DashboardPart, DashboardPartRequest, OperationLogsPart, OperationLogsPartRequest,
};
use rustbill_proto::system::system_service_server::SystemService;
use rustbill_proto::system::*;
use rustbill_shared::clients::InternalChannel;
use rustbill_shared::grpc::respond;
use rustbill_shared::paging::paging;
use rustbill_shared::principal::{self, Caller};
use rustbill_shared::system::{self, LogFilter, MAX_LOG_ENTRIES, SERVICES, SystemPart, Window};
use rustbill_shared::{AppError, AppResult};
use tonic::{Request, Response, Status};

use crate::state::State;

/// How long the dashboard waits for one service's part.
pub const DASHBOARD_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the operation log waits for one service's part (up to 10,000
/// entries).
pub const LOGS_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct System {
    state: State,
    /// Identity's own part, asked without a network hop.
    own: SystemPart,
    /// Every other service, by name.
    peers: Vec<(&'static str, InternalChannel)>,
}

impl System {
    pub fn new(state: State, own: SystemPart) -> Self {
        let services = &state.config.services;
        let peers = [
            ("catalog", &services.catalog.url),
            ("orders", &services.orders.url),
            ("payments", &services.payments.url),
            ("plugins", &services.plugins.url),
            ("notify", &services.notify.url),
        ]
        .into_iter()
        .map(|(name, url)| (name, InternalChannel::new("identity", name, url, state.signer.clone())))
        .collect();
        Self { state, own, peers }
    }

    fn peer(&self, service: &str) -> AppResult<&InternalChannel> {
        self.peers
            .iter()
            .find(|(name, _)| *name == service)
            .map(|(_, channel)| channel)
            .ok_or_else(|| AppError::Unavailable(format!("the {service} service is not known")))
    }

    async fn dashboard_of(&self, caller: &Caller, service: &str, days: u32) -> AppResult<DashboardPart> {
        if service == self.own.service() {
            return self.own.dashboard_part(days).await;
        }
        let channel = self.peer(service)?;
        let mut client = SystemPartServiceClient::new(channel.channel()?);
        let mut request = channel.request(caller, DashboardPartRequest { days });
        request.set_timeout(DASHBOARD_TIMEOUT);
        client.dashboard(request).await.map(Response::into_inner).map_err(|status| channel.forwarded(status))
    }

    async fn logs_of(
        &self,
        caller: &Caller,
        service: &str,
        message: OperationLogsPartRequest,
    ) -> AppResult<OperationLogsPart> {
        if service == self.own.service() {
            return self.own.logs_part(&message).await;
        }
        let channel = self.peer(service)?;
        let mut client = SystemPartServiceClient::new(channel.channel()?);
        let mut request = channel.request(caller, message);
        request.set_timeout(LOGS_TIMEOUT);
        client.operation_logs(request).await.map(Response::into_inner).map_err(|status| channel.forwarded(status))
    }

    async fn dashboard(&self, caller: &Caller, request: GetDashboardRequest) -> AppResult<GetDashboardResponse> {
        caller.principal.require_admin()?;
        let days = system::requested_days(request.days)?;
        let window = Window::ending_today(days);
        let parts = futures::future::join_all(SERVICES.iter().map(|service| async move {
            let part = tokio::time::timeout(DASHBOARD_TIMEOUT, self.dashboard_of(caller, service, days)).await;
            (*service, part)
        }));
        let pool = &self.state.pool;
        let (parts, instances, leader_roles) =
            tokio::join!(parts, system::live_instances(pool), system::leader_roles(pool));
        let mut response = GetDashboardResponse {
            instances: instances?,
            leader_roles: leader_roles?,
            currency: self.state.config.payments.currency.clone(),
            ..Default::default()
        };
        for (service, part) in parts {
            match part {
                Ok(Ok(part)) => {
                    response.counters.extend(part.counters);
                    response.series.extend(part.series.iter().map(|series| system::fill_series(series, &window)));
                }
                Ok(Err(error)) => {
                    tracing::warn!(service, %error, "dashboard part failed");
                    response.unavailable.push(service.to_string());
                }
                Err(_) => {
                    tracing::warn!(service, "dashboard part did not answer in time");
                    response.unavailable.push(service.to_string());
                }
            }
        }
        Ok(response)
    }

    async fn operation_logs(
        &self,
        caller: &Caller,
        request: ListOperationLogsRequest,
    ) -> AppResult<ListOperationLogsResponse> {
        caller.principal.require_admin()?;
        let (page, page_size) = paging(request.page.as_ref());
        let wanted = u64::from(page) * u64::from(page_size);
        if wanted > u64::from(MAX_LOG_ENTRIES) {
            return Err(AppError::invalid_field(
                "page",
                format!("only the first {MAX_LOG_ENTRIES} entries can be paged through; narrow the filter"),
            ));
        }
        // Checked here once, so a bad filter is the caller's error and not
        // every service's.
        LogFilter::parse(
            &request.action,
            &request.actor,
            &request.target_type,
            &request.target_id,
            &request.since,
            &request.until,
        )?;
        let services: Vec<&'static str> = match request.service.trim() {
            "" => SERVICES.to_vec(),
            name => match SERVICES.iter().find(|service| **service == name) {
                Some(service) => vec![*service],
                None => {
                    return Err(AppError::invalid_field(
                        "service",
                        format!("unknown service; expected one of {}", SERVICES.join(", ")),
                    ));
                }
            },
        };
        let message = OperationLogsPartRequest {
            limit: u32::try_from(wanted).unwrap_or(MAX_LOG_ENTRIES),
            action: request.action.trim().to_string(),
            actor: request.actor.trim().to_string(),
            target_type: request.target_type.trim().to_string(),
            target_id: request.target_id.trim().to_string(),
            since: request.since.trim().to_string(),
            until: request.until.trim().to_string(),
        };
        let parts = futures::future::join_all(services.iter().map(|service| {
            let message = message.clone();
            async move {
                let part = tokio::time::timeout(LOGS_TIMEOUT, self.logs_of(caller, service, message)).await;
                (*service, part)
            }
        }))
        .await;
        let mut total: u64 = 0;
        let mut unavailable = Vec::new();
        let mut logs = Vec::new();
        for (service, part) in parts {
            match part {
                Ok(Ok(part)) => {
                    total = total.saturating_add(part.total);
                    logs.push(part.logs);
                }
                Ok(Err(error)) => {
                    tracing::warn!(service, %error, "operation log part failed");
                    unavailable.push(service.to_string());
                }
                Err(_) => {
                    tracing::warn!(service, "operation log part did not answer in time");
                    unavailable.push(service.to_string());
                }
            }
        }
        let skip = usize::try_from((page - 1) * page_size).unwrap_or(usize::MAX);
        let logs = system::merge_logs(logs, skip, usize::try_from(page_size).unwrap_or(usize::MAX));
        let pageable = total.min(u64::from(MAX_LOG_ENTRIES));
        let total_pages = u32::try_from(pageable.div_ceil(u64::from(page_size))).unwrap_or(u32::MAX);
        Ok(ListOperationLogsResponse {
            logs,
            page: Some(PageMeta { total, page, page_size, total_pages }),
            unavailable,
        })
    }
}

#[tonic::async_trait]
impl SystemService for System {
    async fn get_dashboard(
        &self,
        request: Request<GetDashboardRequest>,
    ) -> Result<Response<GetDashboardResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.dashboard(&caller, request.into_inner()).await)
    }

    async fn list_operation_logs(
        &self,
        request: Request<ListOperationLogsRequest>,
    ) -> Result<Response<ListOperationLogsResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.operation_logs(&caller, request.into_inner()).await)
    }
}
