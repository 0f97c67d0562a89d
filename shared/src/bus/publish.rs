//! Writing events into the outbox.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{BusResult, NewEvent, validate_name};

/// First key of the advisory lock publishers of one aggregate take. Consumer
/// locks use `hashtext(<consumer name>)`, and consumer names cannot contain
/// `/`, so the two never meet by design (only by a 32-bit hash collision,
/// which costs a short wait, never correctness).
const PUBLISH_LOCK: &str = "rustbill/bus/publish";

/// Writes `event` into `bus.event_queue` on `connection`, which should be the
/// caller's transaction (`&mut *transaction`): the event then exists exactly
/// when the business rows written in that transaction do. Consumers
/// subscribed to the event type get a delivery row and a notification at
/// commit.
///
/// Takes a transaction-scoped advisory lock on the event's aggregate first,
/// so concurrent publishers of one aggregate are serialised until commit and
/// consumers see its events in commit order. Returns the event id.
pub async fn publish(connection: &mut PgConnection, event: &NewEvent) -> BusResult<Uuid> {
    validate_name("event type", &event.event_type)?;
    validate_name("source", &event.source)?;
    sqlx::query("select pg_advisory_xact_lock(hashtext($1), hashtext($2::text))")
        .bind(PUBLISH_LOCK)
        .bind(event.aggregate_id)
        .execute(&mut *connection)
        .await?;
    sqlx::query(
        "insert into bus.event_queue (id, event_type, aggregate_id, customer_id, payload, source, request_id, traceparent)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(event.id)
    .bind(&event.event_type)
    .bind(event.aggregate_id)
    .bind(event.customer_id)
    .bind(&event.payload)
    .bind(&event.source)
    .bind(&event.request_id)
    .bind(event.traceparent.clone().or_else(|| crate::telemetry::current().map(|trace| trace.to_string())))
    .execute(&mut *connection)
    .await?;
    tracing::debug!(
        event_id = %event.id,
        event_type = %event.event_type,
        aggregate_id = %event.aggregate_id,
        source = %event.source,
        "event published"
    );
    Ok(event.id)
}

/// Publishes `event_type` on behalf of service `source`, caused by
/// `caller`'s request (its request id travels with the event), inside the
/// caller's transaction: what every service's event helper does.
pub async fn publish_for(
    connection: &mut PgConnection,
    source: &str,
    caller: &crate::principal::Caller,
    event_type: &str,
    aggregate_id: Uuid,
    customer_id: Option<Uuid>,
    payload: serde_json::Value,
) -> crate::AppResult<Uuid> {
    let event = NewEvent {
        id: Uuid::now_v7(),
        event_type: event_type.to_string(),
        aggregate_id,
        customer_id,
        payload,
        source: source.to_string(),
        request_id: (!caller.request_id.is_empty()).then(|| caller.request_id.clone()),
        traceparent: crate::telemetry::current()
            .map(|trace| trace.to_string())
            .or_else(|| (!caller.traceparent.is_empty()).then(|| caller.traceparent.clone())),
    };
    publish(connection, &event).await.map_err(crate::AppError::from)
}
