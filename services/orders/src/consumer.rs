//! The order pipeline, consumed from the outbox (HA guide §4):
//!
//! - `orders.payments`: `payments.payment_succeeded` → the order is paid
//!   and `order_paid` published; a payment the order cannot use (already
//!   paid, cancelled, deleted) is sent back (`orders.refund_requested`).
//!   `payments.refund_completed` for the order's own payment, in full,
//!   marks a live order refunded.
//! - `orders.provisioner`: `order_paid` → the provider plugin creates the
//!   instance → instance row, order active, `order_provisioned`. When the
//!   provider refuses, the order is cancelled and `order_cancelled` carries
//!   the refund (the saga's compensation). When the plugins service is
//!   unreachable, the event is retried.
//!
//! Events of one order are handled in order (the bus serialises per
//! aggregate), and every step checks the order's status under its row lock,
//! so a redelivered event changes nothing.

use futures::FutureExt;
use futures::future::BoxFuture;
use rust_decimal::Decimal;
use rustbill_proto::internal::plugins::{CreateInstanceCall, ExecuteActionCall, ServerSpec as PluginSpec};
use rustbill_shared::bus::{Event, Handler, HandlerError};
use rustbill_shared::principal::{Caller, Principal};
use rustbill_shared::{AppError, Money};
use serde::Deserialize;
use serde_json::json;
use sqlx::{AssertSqlSafe, Postgres, Transaction};
use uuid::Uuid;

use crate::State;
use crate::events;
use crate::order_service::refund_of;
use crate::status;
use crate::store::{self, INSTANCE_COLUMNS, InstanceRow, ORDER_COLUMNS, OrderRow, spec_from_json};

pub const PAYMENTS: &str = "orders.payments";
pub const PAYMENTS_SUBSCRIBES: &[&str] = &[events::PAYMENT_SUCCEEDED, events::REFUND_COMPLETED];
pub const PROVISIONER: &str = "orders.provisioner";
pub const PROVISIONER_SUBSCRIBES: &[&str] = &[events::ORDER_PAID, events::ORDER_PLAN_CHANGED];

fn service_caller(event: &Event) -> Caller {
    Caller::new(Principal::Service { name: "orders".into() }, event.request_id.clone().unwrap_or_default(), "")
}

fn db(error: sqlx::Error) -> HandlerError {
    HandlerError::Retry(format!("database error: {error}"))
}

fn app(error: AppError) -> HandlerError {
    match error {
        AppError::Unavailable(message) => HandlerError::Retry(message),
        AppError::Internal(error) => HandlerError::Retry(format!("{error:#}")),
        other => HandlerError::Poison(other.to_string()),
    }
}

#[derive(Debug, Deserialize)]
struct PaymentSucceeded {
    payment_id: Uuid,
    customer_id: Uuid,
    purpose: String,
    order_id: Option<Uuid>,
    #[serde(default)]
    invoice_id: Option<Uuid>,
    amount: Decimal,
    #[serde(default)]
    gateway_interface_id: String,
    #[serde(default)]
    gateway_payment_id: String,
}

#[derive(Debug, Deserialize)]
struct RefundCompleted {
    payment_id: Uuid,
    order_id: Option<Uuid>,
    #[serde(default)]
    fully_refunded: bool,
}

pub struct Payments {
    pub state: State,
}

impl Payments {
    /// A paid invoice: settled (periods extended, suspended services back),
    /// unless it was paid already or cancelled, then the money goes back.
    async fn invoice_paid(
        &self,
        event: &Event,
        transaction: &mut Transaction<'static, Postgres>,
        paid: &PaymentSucceeded,
        invoice_id: Uuid,
    ) -> Result<(), HandlerError> {
        let caller = service_caller(event);
        let invoice = crate::invoices::lock(transaction, invoice_id).await.map_err(app)?;
        match invoice {
            Some(invoice) if invoice.payment_id == Some(paid.payment_id) => Ok(()),
            Some(invoice)
                if invoice.status == crate::invoices::ISSUED || invoice.status == crate::invoices::OVERDUE =>
            {
                let resumed =
                    crate::billing::settle(transaction, &caller, &invoice, Some(paid.payment_id)).await.map_err(app)?;
                for instance in resumed {
                    crate::billing::power(&self.state, &instance, &["unsuspend", "start"]).await;
                }
                Ok(())
            }
            other => {
                let reason = match other {
                    Some(invoice) => format!("the invoice is {}", invoice.status),
                    None => "the invoice no longer exists".to_string(),
                };
                let payload = json!({
                    "payment_id": paid.payment_id,
                    "customer_id": paid.customer_id,
                    "amount": Money::from_decimal(paid.amount).to_string(),
                    "reason": reason,
                });
                events::publish(transaction, &caller, events::REFUND_REQUESTED, invoice_id, paid.customer_id, payload)
                    .await
                    .map_err(app)?;
                Ok(())
            }
        }
    }

    async fn run(&self, event: &Event, transaction: &mut Transaction<'static, Postgres>) -> Result<(), HandlerError> {
        let caller = service_caller(event);
        match event.event_type.as_str() {
            events::PAYMENT_SUCCEEDED => {
                let paid: PaymentSucceeded = event.payload_as()?;
                if paid.purpose == "invoice"
                    && let Some(invoice_id) = paid.invoice_id
                {
                    return self.invoice_paid(event, transaction, &paid, invoice_id).await;
                }
                let Some(order_id) = paid.order_id.filter(|_| paid.purpose == "order") else {
                    return Ok(());
                };
                let order = store::lock_order(transaction, order_id).await.map_err(app)?;
                let give_back = |reason: &str| {
                    json!({
                        "payment_id": paid.payment_id,
                        "customer_id": paid.customer_id,
                        "amount": Money::from_decimal(paid.amount).to_string(),
                        "reason": reason,
                    })
                };
                let order = match order {
                    Some(order) if order.customer_id == paid.customer_id => order,
                    _ => {
                        let payload = give_back("the order no longer exists");
                        events::publish(
                            transaction,
                            &caller,
                            events::REFUND_REQUESTED,
                            order_id,
                            paid.customer_id,
                            payload,
                        )
                        .await
                        .map_err(app)?;
                        return Ok(());
                    }
                };
                if order.payment_id == Some(paid.payment_id) {
                    return Ok(());
                }
                if order.status != status::PENDING {
                    let reason = if order.payment_id.is_some() || order.paid_amount > Decimal::ZERO {
                        "the order was already paid"
                    } else {
                        "the order was cancelled before the payment arrived"
                    };
                    events::publish(
                        transaction,
                        &caller,
                        events::REFUND_REQUESTED,
                        order_id,
                        order.customer_id,
                        give_back(reason),
                    )
                    .await
                    .map_err(app)?;
                    return Ok(());
                }
                let updated: OrderRow = sqlx::query_as(AssertSqlSafe(format!(
                    "update orders set status = 'paid', payment_id = $3, paid_amount = $4, gateway_interface_id = $5,
                            gateway_payment_id = $6, paid_at = now(), updated_at = now()
                     where customer_id = $1 and id = $2 returning {ORDER_COLUMNS}"
                )))
                .bind(order.customer_id)
                .bind(order.id)
                .bind(paid.payment_id)
                .bind(paid.amount)
                .bind(&paid.gateway_interface_id)
                .bind(&paid.gateway_payment_id)
                .fetch_one(&mut **transaction)
                .await
                .map_err(db)?;
                let mut payload = updated.notice();
                payload["payment_id"] = json!(paid.payment_id);
                events::publish(transaction, &caller, events::ORDER_PAID, order.id, order.customer_id, payload)
                    .await
                    .map_err(app)?;
                Ok(())
            }
            events::REFUND_COMPLETED => {
                let refund: RefundCompleted = event.payload_as()?;
                let Some(order_id) = refund.order_id.filter(|_| refund.fully_refunded) else {
                    return Ok(());
                };
                if let Some(order) = store::lock_order(transaction, order_id).await.map_err(app)?
                    && order.payment_id == Some(refund.payment_id)
                    && status::can_move(&order.status, status::REFUNDED)
                {
                    sqlx::query(
                        "update orders set status = 'refunded', updated_at = now() where customer_id = $1 and id = $2",
                    )
                    .bind(order.customer_id)
                    .bind(order.id)
                    .execute(&mut **transaction)
                    .await
                    .map_err(db)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl Handler for Payments {
    fn handle<'a>(
        &'a self,
        event: &'a Event,
        transaction: &'a mut Transaction<'static, Postgres>,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        self.run(event, transaction).boxed()
    }
}

pub struct Provisioner {
    pub state: State,
}

impl Provisioner {
    async fn run(&self, event: &Event, transaction: &mut Transaction<'static, Postgres>) -> Result<(), HandlerError> {
        if event.event_type == events::ORDER_PLAN_CHANGED {
            return self.resize(event, transaction).await;
        }
        if event.event_type != events::ORDER_PAID {
            return Ok(());
        }
        let order_id = event.aggregate_id;
        // Visible at once (outside the handler's transaction), so the
        // customer sees "provisioning" while the provider works.
        sqlx::query("update orders set status = 'provisioning', updated_at = now() where id = $1 and status = 'paid'")
            .bind(order_id)
            .execute(&self.state.pool)
            .await
            .map_err(db)?;
        let Some(order) = store::lock_order(transaction, order_id).await.map_err(app)? else {
            return Ok(());
        };
        if order.status != status::PROVISIONING {
            return Ok(());
        }
        let caller = service_caller(event);
        let spec = spec_from_json(&order.server_spec);
        let call = CreateInstanceCall {
            interface_id: order.provider_interface_id.to_string(),
            server_spec: Some(PluginSpec {
                cpu_cores: spec.cpu_cores,
                memory_gb: spec.memory_gb,
                disk_gb: spec.disk_gb,
                bandwidth_mbps: spec.bandwidth_mbps,
                region: spec.region.clone(),
                os: spec.os.clone(),
                extra_specs: spec.extra_specs.clone(),
            }),
            order_id: order.id.to_string(),
            instance_id: order.instance_id.to_string(),
            hostname: format!("rb-{}", &order.instance_id.simple().to_string()[..12]),
            password: String::new(),
            ssh_key: spec.extra_specs.get("ssh_key").cloned().unwrap_or_default(),
            product_id: order.product_id.to_string(),
        };
        match self.state.clients.create_instance(&caller, call).await {
            Ok(created) => {
                let instance: InstanceRow = sqlx::query_as(AssertSqlSafe(format!(
                    "insert into instances (id, customer_id, order_id, product_id, product_name, provider_interface_id,
                                            provider_instance_id, status, ip_address, server_spec)
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     on conflict (customer_id, order_id) do update set provider_instance_id = excluded.provider_instance_id,
                         status = excluded.status, ip_address = excluded.ip_address, updated_at = now()
                     returning {INSTANCE_COLUMNS}"
                )))
                .bind(order.instance_id)
                .bind(order.customer_id)
                .bind(order.id)
                .bind(order.product_id)
                .bind(&order.product_name)
                .bind(order.provider_interface_id)
                .bind(&created.instance_id)
                .bind(match store::instance_status(&created.status) {
                    "error" => "running",
                    other => other,
                })
                .bind(&created.ip_address)
                .bind(&order.server_spec)
                .fetch_one(&mut **transaction)
                .await
                .map_err(db)?;
                let updated: OrderRow = sqlx::query_as(AssertSqlSafe(format!(
                    "update orders set status = 'active', provider_instance_id = $3, period_start = now(),
                            period_end = case when $4 > 0 then now() + make_interval(months => $4) end,
                            updated_at = now()
                     where customer_id = $1 and id = $2 returning {ORDER_COLUMNS}"
                )))
                .bind(order.customer_id)
                .bind(order.id)
                .bind(&created.instance_id)
                .bind(if order.billing_cycle == "one_time" {
                    0
                } else {
                    crate::pricing::cycle_months(&order.billing_cycle).map_or(0, |months| months as i32)
                })
                .fetch_one(&mut **transaction)
                .await
                .map_err(db)?;
                let mut payload = updated.notice();
                payload["instance_id"] = json!(instance.id);
                payload["provider_instance_id"] = json!(instance.provider_instance_id);
                payload["ip_address"] = json!(instance.ip_address);
                events::publish(transaction, &caller, events::ORDER_PROVISIONED, order.id, order.customer_id, payload)
                    .await
                    .map_err(app)?;
                Ok(())
            }
            Err(AppError::Unavailable(message)) => Err(HandlerError::Retry(message)),
            Err(AppError::Internal(error)) => Err(HandlerError::Retry(format!("{error:#}"))),
            Err(error) => {
                // The provider refused (no capacity, bad spec, interface
                // disabled or gone): cancel and give the money back.
                let reason = format!("provisioning failed: {error}");
                tracing::warn!(order_id = %order.id, %reason, "provisioning failed; the order is cancelled and refunded");
                let updated: OrderRow = sqlx::query_as(AssertSqlSafe(format!(
                    "update orders set status = 'cancelled', cancel_reason = $3, updated_at = now()
                     where customer_id = $1 and id = $2 returning {ORDER_COLUMNS}"
                )))
                .bind(order.customer_id)
                .bind(order.id)
                .bind(reason.chars().take(500).collect::<String>())
                .fetch_one(&mut **transaction)
                .await
                .map_err(db)?;
                let mut payload = updated.notice();
                payload["reason"] = json!(reason);
                payload["refund"] = refund_of(&order);
                events::publish(transaction, &caller, events::ORDER_CANCELLED, order.id, order.customer_id, payload)
                    .await
                    .map_err(app)?;
                Ok(())
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct PlanChanged {
    plan_change_id: Uuid,
    customer_id: Uuid,
    order_id: Uuid,
    server_spec: serde_json::Value,
}

impl Provisioner {
    /// An applied plan change: the provider's `resize` action with the new
    /// configuration. A provider that refuses (no such action, a size it
    /// cannot give) is recorded on the change for an operator and not
    /// retried; an unreachable one is retried with the bus's backoff.
    async fn resize(
        &self,
        event: &Event,
        transaction: &mut Transaction<'static, Postgres>,
    ) -> Result<(), HandlerError> {
        let changed: PlanChanged = event.payload_as()?;
        let instance: Option<InstanceRow> = sqlx::query_as(AssertSqlSafe(format!(
            "select {INSTANCE_COLUMNS} from instances
             where customer_id = $1 and order_id = $2 and status <> 'terminated'"
        )))
        .bind(changed.customer_id)
        .bind(changed.order_id)
        .fetch_optional(&mut **transaction)
        .await
        .map_err(db)?;
        let record = |status: &'static str, error: String| {
            sqlx::query(
                "update plan_changes set resize_status = $3, resize_error = $4 where customer_id = $1 and id = $2",
            )
            .bind(changed.customer_id)
            .bind(changed.plan_change_id)
            .bind(status)
            .bind(error)
        };
        let Some(instance) = instance else {
            record("done", "no server to resize".into()).execute(&mut **transaction).await.map_err(db)?;
            return Ok(());
        };
        let call = ExecuteActionCall {
            interface_id: instance.provider_interface_id.to_string(),
            instance_id: instance.provider_instance_id.clone(),
            action: "resize".into(),
            params_json: changed.server_spec.to_string(),
        };
        match self.state.clients.execute_action(&service_caller(event), call).await {
            Ok(outcome) if outcome.success => {
                sqlx::query(
                    "update instances set server_spec = $3, updated_at = now() where customer_id = $1 and id = $2",
                )
                .bind(instance.customer_id)
                .bind(instance.id)
                .bind(&changed.server_spec)
                .execute(&mut **transaction)
                .await
                .map_err(db)?;
                record("done", String::new()).execute(&mut **transaction).await.map_err(db)?;
                Ok(())
            }
            Ok(outcome) => {
                tracing::warn!(order_id = %changed.order_id, message = outcome.message, "the provider refused to resize");
                record("failed", outcome.message).execute(&mut **transaction).await.map_err(db)?;
                Ok(())
            }
            Err(AppError::Unavailable(message)) => Err(HandlerError::Retry(message)),
            Err(AppError::Internal(error)) => Err(HandlerError::Retry(format!("{error:#}"))),
            Err(error) => {
                tracing::warn!(order_id = %changed.order_id, %error, "the provider could not resize");
                record("failed", error.to_string()).execute(&mut **transaction).await.map_err(db)?;
                Ok(())
            }
        }
    }
}

impl Handler for Provisioner {
    fn handle<'a>(
        &'a self,
        event: &'a Event,
        transaction: &'a mut Transaction<'static, Postgres>,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        self.run(event, transaction).boxed()
    }
}
