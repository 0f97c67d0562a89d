//! The payment rules every entry point shares: starting a payment (gateway
//! or balance), applying what a gateway reports (callback or query), and
//! refunds.

use sqlx::AssertSqlSafe;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustbill_proto::internal::plugins::{CreatePaymentCall, PaymentState, PaymentUpdate, RefundCall};
use rustbill_shared::ids::parse_id;
use rustbill_shared::principal::Caller;
use rustbill_shared::{AppError, AppResult, Config, Money};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::clients::Clients;
use crate::events;
use crate::ledger::{self, Movement};
use crate::store::{self, BALANCE_GATEWAY, COLUMNS, FAILED, PENDING, PaymentRow, REFUNDED, SUCCESS};

#[derive(Debug, Clone)]
pub struct Payments {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub clients: Clients,
}

/// What a payment is for.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    Order(Uuid),
    Invoice(Uuid),
    Recharge,
}

impl Purpose {
    /// (purpose, order_id, invoice_id) as stored.
    fn columns(self) -> (&'static str, Option<Uuid>, Option<Uuid>) {
        match self {
            Purpose::Order(order_id) => ("order", Some(order_id), None),
            Purpose::Invoice(invoice_id) => ("invoice", None, Some(invoice_id)),
            Purpose::Recharge => ("recharge", None, None),
        }
    }
}

/// A payment to start.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub customer_id: Uuid,
    pub purpose: Purpose,
    pub amount: Decimal,
    pub currency: String,
    /// A gateway interface id, or "balance".
    pub gateway: String,
    pub description: String,
    pub return_url: String,
}

/// A started payment and what the payer needs.
#[derive(Debug, Clone)]
pub struct Started {
    pub payment: PaymentRow,
    pub payment_url: String,
    pub qr_code: String,
    pub instructions: String,
}

/// What a gateway report did to the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The payment's status changed.
    Changed,
    /// The payment already had this outcome (a repeated notification).
    Duplicate,
    /// Nothing to do (still pending at the gateway, or a late failure).
    Unchanged,
}

/// How a refund goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundMethod {
    /// Through the gateway; balance payments always go to the balance.
    Original,
    Balance,
}

/// A refund to make.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub payment_id: Uuid,
    /// `None` refunds what is left.
    pub amount: Option<Decimal>,
    pub method: RefundMethod,
    pub reason: String,
    /// Automatic refunds pass the event id: it becomes the refund id, so a
    /// redelivered event neither refunds twice nor asks the gateway twice
    /// under different numbers.
    pub refund_id: Option<Uuid>,
}

fn payment_succeeded_payload(payment: &PaymentRow) -> serde_json::Value {
    json!({
        "payment_id": payment.id,
        "customer_id": payment.customer_id,
        "purpose": payment.purpose,
        "order_id": payment.order_id,
        "invoice_id": payment.invoice_id,
        "amount": Money::from_decimal(payment.amount).to_string(),
        "currency": payment.currency,
        "gateway_interface_id": payment.gateway_interface_id,
        "gateway_payment_id": payment.gateway_payment_id,
        "gateway_tx_id": payment.gateway_tx_id,
    })
}

impl Payments {
    pub fn new(pool: PgPool, config: Arc<Config>) -> Self {
        let clients = Clients::new(&config);
        Self { pool, config, clients }
    }

    /// Starts a payment: from the balance at once, or through the gateway
    /// plugin (the payment stays pending until the gateway confirms).
    pub async fn start(&self, caller: &Caller, new: NewPayment) -> AppResult<Started> {
        if new.amount <= Decimal::ZERO {
            return Err(AppError::invalid_field("amount", "must be positive"));
        }
        if new.gateway == BALANCE_GATEWAY {
            if matches!(new.purpose, Purpose::Recharge) {
                return Err(AppError::invalid_field("gateway_interface_id", "a recharge needs a payment gateway"));
            }
            let payment = self.pay_from_balance(caller, &new).await?;
            return Ok(Started {
                payment,
                payment_url: String::new(),
                qr_code: String::new(),
                instructions: String::new(),
            });
        }
        let gateway = parse_id("gateway_interface_id", &new.gateway)?;
        let (purpose, order_id, invoice_id) = new.purpose.columns();
        let id = Uuid::now_v7();
        // Committed before the gateway is asked, so a notification that
        // arrives before this call returns finds the payment.
        let payment: PaymentRow = sqlx::query_as(AssertSqlSafe(format!(
            "insert into payments (id, customer_id, purpose, order_id, invoice_id, amount, currency, gateway_interface_id,
                                   description)
             values ($1, $2, $3, $4, $9, $5, $6, $7, $8) returning {COLUMNS}"
        )))
        .bind(id)
        .bind(new.customer_id)
        .bind(purpose)
        .bind(order_id)
        .bind(new.amount)
        .bind(&new.currency)
        .bind(gateway.to_string())
        .bind(&new.description)
        .bind(invoice_id)
        .fetch_one(&self.pool)
        .await?;
        let call = CreatePaymentCall {
            interface_id: gateway.to_string(),
            payment_id: id.to_string(),
            description: new.description.clone(),
            amount: Money::from_decimal(new.amount).to_string(),
            currency: new.currency.clone(),
            notify_url: format!("{}/callback/{gateway}", self.config.public_url()),
            return_url: new.return_url.clone(),
            client_ip: caller.client_ip.clone(),
            method: String::new(),
        };
        match self.clients.create_payment(caller, call).await {
            Ok(created) => {
                let payment: PaymentRow = sqlx::query_as(AssertSqlSafe(format!(
                    "update payments set gateway_payment_id = $3, updated_at = now()
                     where customer_id = $1 and id = $2 returning {COLUMNS}"
                )))
                .bind(payment.customer_id)
                .bind(payment.id)
                .bind(&created.gateway_payment_id)
                .fetch_one(&self.pool)
                .await?;
                Ok(Started {
                    payment,
                    payment_url: created.payment_url.unwrap_or_default(),
                    qr_code: created.qr_code.unwrap_or_default(),
                    instructions: created.instructions.unwrap_or_default(),
                })
            }
            Err(error) => {
                sqlx::query(
                    "update payments set status = 'failed', updated_at = now()
                     where customer_id = $1 and id = $2 and status = 'pending'",
                )
                .bind(payment.customer_id)
                .bind(payment.id)
                .execute(&self.pool)
                .await?;
                Err(match error {
                    AppError::FailedPrecondition(message) => {
                        AppError::FailedPrecondition(format!("the payment gateway failed: {message}"))
                    }
                    other => other,
                })
            }
        }
    }

    /// Pays an order or an invoice from the balance: the account row is
    /// locked, the credit limit respected, and the ledger row, the payment
    /// and its event commit together.
    async fn pay_from_balance(&self, caller: &Caller, new: &NewPayment) -> AppResult<PaymentRow> {
        let (purpose, order_id, invoice_id) = new.purpose.columns();
        let customer = self.clients.customer(caller, new.customer_id).await?;
        if !customer.is_active {
            return Err(AppError::FailedPrecondition("the customer account is disabled".into()));
        }
        let mut transaction = self.pool.begin().await?;
        ledger::lock_account(&mut transaction, new.customer_id, &new.currency).await?;
        let paid: bool = sqlx::query_scalar(
            "select exists (select 1 from payments where customer_id = $1
                              and (order_id = $2 or invoice_id = $3) and status in ('success', 'refunded'))",
        )
        .bind(new.customer_id)
        .bind(order_id)
        .bind(invoice_id)
        .fetch_one(&mut *transaction)
        .await?;
        if paid {
            return Err(AppError::FailedPrecondition(format!("the {purpose} is already paid")));
        }
        let id = Uuid::now_v7();
        let payment: PaymentRow = sqlx::query_as(AssertSqlSafe(format!(
            "insert into payments (id, customer_id, purpose, order_id, invoice_id, amount, currency, gateway_interface_id,
                                   gateway_payment_id, gateway_tx_id, status, description, paid_at)
             values ($1, $2, $3, $4, $5, $6, $7, 'balance', $8, $8, 'success', $9, now()) returning {COLUMNS}"
        )))
        .bind(id)
        .bind(new.customer_id)
        .bind(purpose)
        .bind(order_id)
        .bind(invoice_id)
        .bind(new.amount)
        .bind(&new.currency)
        .bind(id.to_string())
        .bind(&new.description)
        .fetch_one(&mut *transaction)
        .await?;
        ledger::apply(
            &mut transaction,
            Movement {
                customer_id: new.customer_id,
                currency: &new.currency,
                amount: -new.amount,
                floor: Some(-customer.credit_limit),
                transaction_type: ledger::PAYMENT,
                reference_id: id.to_string(),
                description: new.description.clone(),
            },
        )
        .await?;
        events::publish(
            &mut transaction,
            caller,
            events::PAYMENT_SUCCEEDED,
            payment.aggregate_id(),
            new.customer_id,
            payment_succeeded_payload(&payment),
        )
        .await?;
        transaction.commit().await?;
        Ok(payment)
    }

    /// Applies what gateway `gateway` reported for one of its payments.
    /// The payment row is locked, so any number of concurrent or repeated
    /// reports change it once; a gateway transaction confirms one payment
    /// only (unique index).
    pub async fn apply_update(
        &self,
        caller: &Caller,
        gateway: &str,
        update: &PaymentUpdate,
    ) -> AppResult<(PaymentRow, Applied)> {
        let id = Uuid::parse_str(update.payment_id.trim())
            .map_err(|_| AppError::invalid("the gateway reported a payment id this server did not issue"))?;
        let found = store::find(&self.pool, id).await?;
        if found.gateway_interface_id != gateway {
            return Err(AppError::invalid("the payment belongs to another gateway"));
        }
        let mut transaction = self.pool.begin().await?;
        let payment = store::lock(&mut transaction, found.customer_id, id).await?;
        let state = PaymentState::try_from(update.status).unwrap_or(PaymentState::Unspecified);
        let (payment, applied) = match state {
            PaymentState::Success if payment.status == PENDING || payment.status == FAILED => {
                let tx_id = update
                    .gateway_tx_id
                    .clone()
                    .filter(|tx| !tx.trim().is_empty())
                    .unwrap_or_else(|| payment.gateway_payment_id.clone());
                let tx_id = if tx_id.is_empty() { payment.id.to_string() } else { tx_id };
                let paid_at = update
                    .paid_at
                    .as_deref()
                    .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
                    .map(|time| time.with_timezone(&Utc))
                    .unwrap_or_else(Utc::now);
                let updated: Result<PaymentRow, sqlx::Error> = sqlx::query_as(AssertSqlSafe(format!(
                    "update payments set status = 'success', gateway_tx_id = $3, paid_at = $4, updated_at = now()
                     where customer_id = $1 and id = $2 returning {COLUMNS}"
                )))
                .bind(payment.customer_id)
                .bind(payment.id)
                .bind(&tx_id)
                .bind(paid_at)
                .fetch_one(&mut *transaction)
                .await;
                let updated = match updated {
                    Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                        return Err(AppError::invalid("this gateway transaction already confirmed another payment"));
                    }
                    other => other?,
                };
                if updated.purpose == "recharge" {
                    ledger::apply(
                        &mut transaction,
                        Movement {
                            customer_id: updated.customer_id,
                            currency: &updated.currency,
                            amount: updated.amount,
                            floor: None,
                            transaction_type: ledger::RECHARGE,
                            reference_id: updated.id.to_string(),
                            description: updated.description.clone(),
                        },
                    )
                    .await?;
                }
                events::publish(
                    &mut transaction,
                    caller,
                    events::PAYMENT_SUCCEEDED,
                    updated.aggregate_id(),
                    updated.customer_id,
                    payment_succeeded_payload(&updated),
                )
                .await?;
                (updated, Applied::Changed)
            }
            PaymentState::Success => {
                if payment.gateway_tx_id.as_deref() != update.gateway_tx_id.as_deref()
                    && update.gateway_tx_id.as_deref().is_some_and(|tx| !tx.is_empty())
                {
                    tracing::warn!(payment_id = %payment.id, "a gateway confirmed a paid payment with another transaction");
                }
                (payment, Applied::Duplicate)
            }
            PaymentState::Failed if payment.status == PENDING => {
                let updated: PaymentRow = sqlx::query_as(AssertSqlSafe(format!(
                    "update payments set status = 'failed', updated_at = now()
                     where customer_id = $1 and id = $2 returning {COLUMNS}"
                )))
                .bind(payment.customer_id)
                .bind(payment.id)
                .fetch_one(&mut *transaction)
                .await?;
                (updated, Applied::Changed)
            }
            PaymentState::Failed if payment.status == FAILED => (payment, Applied::Duplicate),
            _ => (payment, Applied::Unchanged),
        };
        transaction.commit().await?;
        Ok((payment, applied))
    }

    /// Gives money back, never more than is left of the payment. Through
    /// the gateway (which may refuse) or to the balance.
    pub async fn refund(&self, caller: &Caller, request: RefundRequest) -> AppResult<PaymentRow> {
        let found = store::find(&self.pool, request.payment_id).await?;
        let mut transaction = self.pool.begin().await?;
        let payment = store::lock(&mut transaction, found.customer_id, found.id).await?;
        if let Some(refund_id) = request.refund_id {
            let done: bool =
                sqlx::query_scalar("select exists (select 1 from refunds where customer_id = $1 and id = $2)")
                    .bind(payment.customer_id)
                    .bind(refund_id)
                    .fetch_one(&mut *transaction)
                    .await?;
            if done {
                return Ok(payment);
            }
        }
        if payment.status != SUCCESS && payment.status != REFUNDED {
            return Err(AppError::FailedPrecondition(format!(
                "only successful payments can be refunded (this one is {})",
                payment.status
            )));
        }
        let left = payment.refundable();
        let amount = request.amount.unwrap_or(left);
        if amount <= Decimal::ZERO {
            return Err(if left.is_zero() {
                AppError::FailedPrecondition("the payment is already refunded in full".into())
            } else {
                AppError::invalid_field("amount", "must be positive")
            });
        }
        if amount > left {
            return Err(AppError::invalid_field(
                "amount",
                format!("exceeds what is left to refund ({})", Money::from_decimal(left)),
            ));
        }
        let refund_id = request.refund_id.unwrap_or_else(Uuid::now_v7);
        let to_balance = request.method == RefundMethod::Balance || payment.gateway_interface_id == BALANCE_GATEWAY;
        let mut gateway_refund_id = String::new();
        if to_balance {
            ledger::apply(
                &mut transaction,
                Movement {
                    customer_id: payment.customer_id,
                    currency: &payment.currency,
                    amount,
                    floor: None,
                    transaction_type: ledger::REFUND,
                    reference_id: refund_id.to_string(),
                    description: if request.reason.is_empty() {
                        format!("refund of payment {}", payment.id)
                    } else {
                        request.reason.clone()
                    },
                },
            )
            .await?;
        } else {
            let outcome = self
                .clients
                .refund(
                    caller,
                    RefundCall {
                        interface_id: payment.gateway_interface_id.clone(),
                        payment_id: payment.id.to_string(),
                        gateway_payment_id: payment.gateway_payment_id.clone(),
                        refund_id: refund_id.to_string(),
                        amount: Money::from_decimal(amount).to_string(),
                        reason: request.reason.clone(),
                    },
                )
                .await
                .map_err(|error| match error {
                    AppError::FailedPrecondition(message) => {
                        AppError::FailedPrecondition(format!("the gateway refused the refund: {message}"))
                    }
                    other => other,
                })?;
            gateway_refund_id = outcome.refund_id.unwrap_or_default();
        }
        sqlx::query(
            "insert into refunds (id, customer_id, payment_id, amount, method, gateway_refund_id, reason, idempotency_key)
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(refund_id)
        .bind(payment.customer_id)
        .bind(payment.id)
        .bind(amount)
        .bind(if to_balance { "balance" } else { "gateway" })
        .bind(&gateway_refund_id)
        .bind(&request.reason)
        .bind(request.refund_id.map(|id| id.to_string()))
        .execute(&mut *transaction)
        .await?;
        let updated: PaymentRow = sqlx::query_as(AssertSqlSafe(format!(
            "update payments set refunded_amount = refunded_amount + $3,
                    status = case when refunded_amount + $3 = amount then 'refunded' else status end,
                    updated_at = now()
             where customer_id = $1 and id = $2 returning {COLUMNS}"
        )))
        .bind(payment.customer_id)
        .bind(payment.id)
        .bind(amount)
        .fetch_one(&mut *transaction)
        .await?;
        events::publish(
            &mut transaction,
            caller,
            events::REFUND_COMPLETED,
            updated.aggregate_id(),
            updated.customer_id,
            json!({
                "refund_id": refund_id,
                "payment_id": updated.id,
                "customer_id": updated.customer_id,
                "order_id": updated.order_id,
                "invoice_id": updated.invoice_id,
                "amount": Money::from_decimal(amount).to_string(),
                "method": if to_balance { "balance" } else { "gateway" },
                "reason": request.reason,
                "fully_refunded": updated.status == REFUNDED,
            }),
        )
        .await?;
        transaction.commit().await?;
        Ok(updated)
    }
}
