//! Events orders writes to the outbox, in the transaction of the change,
//! and the ones it consumes. The three order events keep the spec's names
//! (HA guide §4.3) because notification channels subscribe to them by
//! name; their payload carries what a message needs (customer e-mail,
//! product, amount).

use rustbill_shared::AppResult;
use rustbill_shared::bus;
use rustbill_shared::principal::Caller;
use sqlx::PgConnection;
use uuid::Uuid;

/// An order was paid: provisioning starts (consumer `orders.provisioner`).
pub const ORDER_PAID: &str = "order_paid";
/// An order's instance is running (payload adds instance_id, ip_address).
pub const ORDER_PROVISIONED: &str = "order_provisioned";
/// An order was cancelled (payload adds reason and `refund`: payment_id and
/// amount when money had been taken, which payments gives back).
pub const ORDER_CANCELLED: &str = "order_cancelled";
/// A payment orders cannot use (the order was already paid, cancelled or
/// deleted) must be given back (payload: payment_id, customer_id, amount,
/// reason).
pub const REFUND_REQUESTED: &str = "orders.refund_requested";
/// An instance was terminated (payload: instance_id, order_id, customer;
/// `reason` when billing ended it).
pub const INSTANCE_TERMINATED: &str = "instance.terminated";
/// An unpaid renewal suspended an instance (payload: the order's notice,
/// invoice_id, instance_id).
pub const INSTANCE_SUSPENDED: &str = "instance.suspended";
/// A suspended instance came back after its invoice was paid.
pub const INSTANCE_UNSUSPENDED: &str = "instance.unsuspended";
/// An invoice was issued (payload: invoice_id, invoice_number, customer,
/// total_amount, currency, due_date).
pub const INVOICE_ISSUED: &str = "billing.invoice_issued";
/// An invoice was paid.
pub const INVOICE_PAID: &str = "billing.invoice_paid";
/// An issued invoice passed its due date unpaid.
pub const BILLING_OVERDUE: &str = "billing.overdue";

/// An active service moved to another product (plan_change_id,
/// to_product_id, server_spec, …); the provisioner resizes the server.
pub const ORDER_PLAN_CHANGED: &str = "order_plan_changed";
/// For payments: credit the balance (customer_id, amount, currency,
/// description), once.
pub const BALANCE_CREDIT_REQUESTED: &str = "orders.balance_credit_requested";

/// Consumed from payments.
pub const PAYMENT_SUCCEEDED: &str = "payments.payment_succeeded";
pub const REFUND_COMPLETED: &str = "payments.refund_completed";

pub async fn publish(
    connection: &mut PgConnection,
    caller: &Caller,
    event_type: &str,
    aggregate_id: Uuid,
    customer_id: Uuid,
    payload: serde_json::Value,
) -> AppResult<Uuid> {
    bus::publish_for(connection, "orders", caller, event_type, aggregate_id, Some(customer_id), payload).await
}
