//! Events payments writes to the outbox, in the transaction of the change,
//! and the ones it consumes.

use rustbill_shared::AppResult;
use rustbill_shared::bus;
use rustbill_shared::principal::Caller;
use sqlx::PgConnection;
use uuid::Uuid;

/// A payment succeeded (payload: payment_id, customer_id, purpose,
/// order_id, invoice_id, amount, currency, gateway_interface_id,
/// gateway_payment_id, gateway_tx_id). Orders marks the order paid.
pub const PAYMENT_SUCCEEDED: &str = "payments.payment_succeeded";
/// Money went back (payload: refund_id, payment_id, customer_id, order_id,
/// invoice_id, amount, method, reason, fully_refunded).
pub const REFUND_COMPLETED: &str = "payments.refund_completed";
/// A balance was adjusted by hand (payload: customer_id, amount, balance,
/// description).
pub const BALANCE_ADJUSTED: &str = "payments.balance_adjusted";

/// Consumed: an order was cancelled; `refund` (payment_id, customer_id,
/// amount) is set when it had been paid.
pub const ORDER_CANCELLED: &str = "order_cancelled";
/// Consumed: orders asks for a payment to be given back (payload:
/// payment_id, customer_id, amount, reason): a payment for an order that was
/// already paid or cancelled.
pub const REFUND_REQUESTED: &str = "orders.refund_requested";
/// Consumed (customer_id, amount, currency, description): money owed to a
/// customer that no single payment carries, e.g. the unused part of a
/// service period after a downgrade. Credited to the balance once.
pub const BALANCE_CREDIT_REQUESTED: &str = "orders.balance_credit_requested";

pub async fn publish(
    connection: &mut PgConnection,
    caller: &Caller,
    event_type: &str,
    aggregate_id: Uuid,
    customer_id: Uuid,
    payload: serde_json::Value,
) -> AppResult<Uuid> {
    bus::publish_for(connection, "payments", caller, event_type, aggregate_id, Some(customer_id), payload).await
}
