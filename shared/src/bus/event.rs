//! Events as published and as delivered.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::HandlerError;

/// An event to publish (see [`super::publish`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Chosen here (UUID v7) so the caller knows it before commit; it is also
    /// the idempotency key consumers use for external effects.
    pub id: Uuid,
    pub event_type: String,
    /// The entity whose events are handled in order, usually the order id.
    pub aggregate_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub payload: serde_json::Value,
    /// The publishing service, e.g. `"payments"`.
    pub source: String,
    /// The request that caused the event, for tracing across services.
    pub request_id: Option<String>,
    /// W3C `traceparent` of the publishing span; when `None`, [`super::publish`]
    /// records the current span's (if spans are exported).
    pub traceparent: Option<String>,
}

impl NewEvent {
    pub fn new(
        source: impl Into<String>,
        event_type: impl Into<String>,
        aggregate_id: Uuid,
        payload: serde_json::Value,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            event_type: event_type.into(),
            aggregate_id,
            customer_id: None,
            payload,
            source: source.into(),
            request_id: None,
            traceparent: None,
        }
    }

    /// An event whose payload is `payload` serialised to JSON.
    pub fn with_payload<T: Serialize>(
        source: impl Into<String>,
        event_type: impl Into<String>,
        aggregate_id: Uuid,
        payload: &T,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self::new(source, event_type, aggregate_id, serde_json::to_value(payload)?))
    }

    pub fn customer(mut self, customer_id: Uuid) -> Self {
        self.customer_id = Some(customer_id);
        self
    }

    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }
}

/// An event as a consumer receives it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Event {
    pub id: Uuid,
    /// Position in the queue; increases with commit order within an aggregate.
    pub seq: i64,
    pub event_type: String,
    pub aggregate_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub payload: serde_json::Value,
    pub source: String,
    pub request_id: Option<String>,
    /// W3C `traceparent` of the span that published the event.
    pub traceparent: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Which delivery attempt this is for this consumer, from 1.
    pub attempt: i32,
}

impl Event {
    /// The payload decoded as `T`; a payload that does not decode is a
    /// poison event (retrying cannot fix it).
    pub fn payload_as<T: DeserializeOwned>(&self) -> Result<T, HandlerError> {
        T::deserialize(&self.payload)
            .map_err(|error| HandlerError::Poison(format!("payload of {} does not decode: {error}", self.event_type)))
    }
}

/// A parked delivery, for the admin view.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ParkedDelivery {
    pub consumer: String,
    pub event_id: Uuid,
    pub event_type: String,
    pub aggregate_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub source: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// When the event was published.
    pub created_at: DateTime<Utc>,
    pub parked_at: Option<DateTime<Utc>>,
}
