//! Automatic refunds, consumed from the outbox: an order cancelled after it
//! was paid (a provider failure, the saga's compensation), and payments
//! orders could not use (a second payment for a paid order, a payment that
//! arrived after the order timed out).

use futures::FutureExt;
use futures::future::BoxFuture;
use rust_decimal::Decimal;
use rustbill_shared::AppError;
use rustbill_shared::bus::{Event, Handler, HandlerError};
use rustbill_shared::principal::{Caller, Principal};
use serde::Deserialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::core::{Payments, RefundMethod, RefundRequest};
use crate::events;

/// Consumer name on the bus.
pub const REFUNDS: &str = "payments.refunds";
pub const SUBSCRIBES: &[&str] = &[events::ORDER_CANCELLED, events::REFUND_REQUESTED, events::BALANCE_CREDIT_REQUESTED];

#[derive(Debug, Deserialize)]
struct RefundOrder {
    payment_id: Uuid,
    amount: Decimal,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Deserialize)]
struct Cancelled {
    #[serde(default)]
    refund: Option<RefundOrder>,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Deserialize)]
struct BalanceCredit {
    customer_id: Uuid,
    amount: Decimal,
    currency: String,
    description: String,
}

pub struct Refunds {
    pub payments: Payments,
}

/// Credits the balance in the delivery's transaction, keyed by the event
/// id: it commits with the event's done mark, so it happens exactly once.
async fn credit_balance(event: &Event, transaction: &mut Transaction<'static, Postgres>) -> Result<(), HandlerError> {
    let credit: BalanceCredit = event.payload_as()?;
    if credit.amount <= Decimal::ZERO {
        return Err(HandlerError::Poison(format!("a credit must be positive, not {}", credit.amount)));
    }
    let applied = crate::ledger::apply(
        transaction,
        crate::ledger::Movement {
            customer_id: credit.customer_id,
            currency: &credit.currency,
            amount: credit.amount,
            floor: None,
            transaction_type: crate::ledger::REFUND,
            reference_id: event.id.to_string(),
            description: credit.description,
        },
    )
    .await;
    match applied {
        Ok(_) | Err(AppError::AlreadyExists(_)) => Ok(()),
        Err(error) => Err(retry_or_poison(error)),
    }
}

impl Refunds {
    async fn run(&self, event: &Event) -> Result<(), HandlerError> {
        let order = match event.event_type.as_str() {
            events::ORDER_CANCELLED => {
                let cancelled: Cancelled = event.payload_as()?;
                match cancelled.refund {
                    Some(mut refund) => {
                        if refund.reason.is_empty() {
                            refund.reason = format!("order cancelled: {}", cancelled.reason);
                        }
                        refund
                    }
                    None => return Ok(()),
                }
            }
            events::REFUND_REQUESTED => event.payload_as()?,
            _ => return Ok(()),
        };
        let caller = Caller::new(
            Principal::Service { name: "payments".into() },
            event.request_id.clone().unwrap_or_default(),
            "",
        );
        let request = RefundRequest {
            payment_id: order.payment_id,
            amount: Some(order.amount),
            method: RefundMethod::Original,
            reason: order.reason.clone(),
            refund_id: Some(event.id),
        };
        match self.payments.refund(&caller, request.clone()).await {
            Ok(_) => Ok(()),
            // The gateway cannot give it back (manual bank transfers, an
            // interface that is gone): the customer gets it as balance.
            Err(AppError::FailedPrecondition(message) | AppError::NotFound(message))
                if message.contains("gateway") || message.contains("interface") =>
            {
                tracing::warn!(payment_id = %order.payment_id, message, "gateway refund failed; refunding to the balance");
                let request = RefundRequest {
                    method: RefundMethod::Balance,
                    reason: format!("{} (to balance: {message})", order.reason),
                    ..request
                };
                self.payments.refund(&caller, request).await.map(|_| ()).map_err(retry_or_poison)
            }
            Err(error) => Err(retry_or_poison(error)),
        }
    }
}

fn retry_or_poison(error: AppError) -> HandlerError {
    match error {
        AppError::Unavailable(message) => HandlerError::Retry(message),
        AppError::Internal(error) => HandlerError::Retry(format!("{error:#}")),
        other => HandlerError::Poison(other.to_string()),
    }
}

impl Handler for Refunds {
    fn handle<'a>(
        &'a self,
        event: &'a Event,
        transaction: &'a mut Transaction<'static, Postgres>,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        if event.event_type == events::BALANCE_CREDIT_REQUESTED {
            return credit_balance(event, transaction).boxed();
        }
        // The refund commits in its own transaction, keyed by the event id,
        // so a redelivery after a crash finds it done.
        self.run(event).boxed()
    }
}
