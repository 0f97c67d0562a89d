//! Events the catalog writes to the outbox, in the transaction of the change.

use rustbill_shared::AppResult;
use rustbill_shared::bus;
use rustbill_shared::principal::Caller;
use sqlx::PgConnection;
use uuid::Uuid;

/// A product was created, changed, repriced, (de)activated or moved
/// (payload: product_id, action, and the fields that changed).
pub const PRODUCT_CHANGED: &str = "catalog.product_changed";
/// A product was deleted (payload: product_id).
pub const PRODUCT_DELETED: &str = "catalog.product_deleted";
/// A category or group changed (payload: kind, id, action).
pub const STRUCTURE_CHANGED: &str = "catalog.structure_changed";

pub async fn publish(
    connection: &mut PgConnection,
    caller: &Caller,
    event_type: &str,
    aggregate_id: Uuid,
    payload: serde_json::Value,
) -> AppResult<Uuid> {
    bus::publish_for(connection, "catalog", caller, event_type, aggregate_id, None, payload).await
}
