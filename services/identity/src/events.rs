//! Events identity writes to the outbox, in the same transaction as the
//! change they announce.

use rustbill_shared::AppResult;
use rustbill_shared::bus;
use rustbill_shared::principal::Caller;
use sqlx::PgConnection;
use uuid::Uuid;

/// A verification code to e-mail (payload: email, purpose, code, expires_at).
pub const VERIFICATION_CODE_ISSUED: &str = "identity.verification_code_issued";
/// A customer signed up (payload: customer_id, user_id, username, email, display_name).
pub const CUSTOMER_REGISTERED: &str = "identity.customer_registered";
/// An admin created a customer.
pub const CUSTOMER_CREATED: &str = "identity.customer_created";
/// An admin changed a customer (payload lists the changed fields).
pub const CUSTOMER_UPDATED: &str = "identity.customer_updated";
/// An admin deleted a customer.
pub const CUSTOMER_DELETED: &str = "identity.customer_deleted";

/// Writes one event inside the caller's transaction.
pub async fn publish(
    connection: &mut PgConnection,
    caller: &Caller,
    event_type: &str,
    aggregate_id: Uuid,
    customer_id: Option<Uuid>,
    payload: serde_json::Value,
) -> AppResult<Uuid> {
    bus::publish_for(connection, "identity", caller, event_type, aggregate_id, customer_id, payload).await
}
