//! `rustbill.notification.NotificationService`: the channels and a test
//! message to chosen (or all) channels with a result per channel.

use rustbill_proto::common::EmptyRequest;
use rustbill_proto::internal::plugins::SendNotificationCall;
use rustbill_proto::notification::notification_service_server::NotificationService;
use rustbill_proto::notification::*;
use rustbill_shared::principal::{self, Caller};
use rustbill_shared::{AppError, AppResult, oplog};
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::channels::{Accepts, Channels};
use crate::delivery_log;

#[derive(Debug, Clone)]
pub struct Notifications {
    pub pool: PgPool,
    pub channels: Channels,
}

impl Notifications {
    async fn list(&self, caller: &Caller) -> AppResult<ListNotifiersResponse> {
        caller.principal.require_admin()?;
        let mut notifiers = Vec::new();
        for channel in self.channels.enabled(caller).await? {
            let supported_events = match self.channels.accepts(caller, &channel.interface_id).await {
                Ok(Accepts::Only(events)) => events,
                // Empty means every event (spec: supported_events).
                Ok(Accepts::All) => Vec::new(),
                Err(error) => {
                    tracing::warn!(channel = %channel.interface_id, %error, "supported_events failed");
                    Vec::new()
                }
            };
            notifiers.push(NotifierInfo {
                channel_id: channel.interface_id,
                channel_name: channel.display_name,
                supported_events,
                is_healthy: channel.is_healthy,
            });
        }
        Ok(ListNotifiersResponse { notifiers })
    }

    async fn send(&self, caller: &Caller, request: SendNotificationRequest) -> AppResult<SendNotificationResponse> {
        caller.principal.require_admin_only()?;
        let event_type = request.event_type.trim();
        if event_type.is_empty() || event_type.len() > 100 {
            return Err(AppError::invalid_field("event_type", "1 to 100 characters"));
        }
        let title = request.title.trim();
        if title.is_empty() || title.chars().count() > 500 {
            return Err(AppError::invalid_field("title", "1 to 500 characters"));
        }
        if request.body.chars().count() > 20_000 {
            return Err(AppError::invalid_field("body", "at most 20000 characters"));
        }
        let enabled = self.channels.enabled(caller).await?;
        let chosen: Vec<_> = if request.channel_ids.is_empty() {
            enabled
        } else {
            let mut chosen = Vec::new();
            for id in &request.channel_ids {
                let channel = enabled
                    .iter()
                    .find(|channel| &channel.interface_id == id)
                    .ok_or_else(|| AppError::invalid_field("channel_ids", format!("{id} is not an enabled channel")))?;
                chosen.push(channel.clone());
            }
            chosen
        };
        let data = serde_json::to_string(&request.metadata).unwrap_or_else(|_| "{}".into());
        let event_id = Uuid::now_v7();
        let mut results = Vec::with_capacity(chosen.len());
        for channel in chosen {
            let outcome = self
                .channels
                .send(
                    caller,
                    SendNotificationCall {
                        interface_id: channel.interface_id.clone(),
                        event_id: event_id.to_string(),
                        event_type: event_type.to_string(),
                        title: title.to_string(),
                        body: request.body.clone(),
                        recipient: request.recipient.trim().to_string(),
                        data_json: data.clone(),
                        ..Default::default()
                    },
                )
                .await;
            results.push(match outcome {
                Ok(true) => {
                    NotificationResult { channel_id: channel.interface_id, success: true, error_message: String::new() }
                }
                Ok(false) => NotificationResult {
                    channel_id: channel.interface_id,
                    success: false,
                    error_message: format!("the channel does not take {event_type} events"),
                },
                Err(error) => NotificationResult {
                    channel_id: channel.interface_id,
                    success: false,
                    error_message: error.to_string(),
                },
            });
        }
        let mut connection = self.pool.acquire().await?;
        oplog::record(
            &mut connection,
            caller,
            "notification.send",
            "notification",
            &event_id.to_string(),
            serde_json::json!({ "event_type": event_type, "channels": results.len(),
                                "failed": results.iter().filter(|result| !result.success).count() }),
        )
        .await?;
        Ok(SendNotificationResponse { results })
    }
}

#[tonic::async_trait]
impl NotificationService for Notifications {
    async fn list_notifiers(&self, request: Request<EmptyRequest>) -> Result<Response<ListNotifiersResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.list(&caller).await?))
    }

    async fn send_notification(
        &self,
        request: Request<SendNotificationRequest>,
    ) -> Result<Response<SendNotificationResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.send(&caller, request.into_inner()).await?))
    }

    async fn list_notification_deliveries(
        &self,
        request: Request<ListNotificationDeliveriesRequest>,
    ) -> Result<Response<ListNotificationDeliveriesResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(delivery_log::list(&self.pool, &caller, request.into_inner()).await?))
    }

    async fn get_notification_delivery(
        &self,
        request: Request<GetNotificationDeliveryRequest>,
    ) -> Result<Response<GetNotificationDeliveryResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(delivery_log::get(&self.pool, &caller, request.into_inner()).await?))
    }

    async fn replay_notification_delivery(
        &self,
        request: Request<ReplayNotificationDeliveryRequest>,
    ) -> Result<Response<ReplayNotificationDeliveryResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(delivery_log::replay(&self.pool, &caller, request.into_inner()).await?))
    }
}
