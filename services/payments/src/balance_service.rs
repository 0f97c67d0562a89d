//! `rustbill.balance.BalanceService`: balances and the ledger as the
//! customer portal reads them, plus manual adjustment and recharge.

use rust_decimal::Decimal;
use rustbill_proto::balance::balance_service_server::BalanceService;
use rustbill_proto::balance::*;
use rustbill_shared::ids::parse_id;
use rustbill_shared::paging::{fetch_page, paging};
use rustbill_shared::principal::{self, Caller, Principal};
use rustbill_shared::{AppError, AppResult, Money};
use serde_json::json;
use sqlx::{Postgres, QueryBuilder};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::core::{NewPayment, Payments, Purpose};
use crate::events;
use crate::ledger::{self, ENTRY_COLUMNS, Entry, Movement};

/// Largest single recharge or adjustment (numeric(12, 2) holds less than
/// 10^10; this keeps sums far from it).
const MAX_AMOUNT: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 2);

/// The amount (signed, non-zero, bounded) and the reason of a manual
/// adjustment, or the field that is wrong.
pub fn check_adjustment<'a>(amount: &str, description: &'a str) -> AppResult<(Decimal, &'a str)> {
    let amount =
        Money::parse(amount.trim()).map_err(|error| AppError::invalid_field("amount", error.to_string()))?.as_decimal();
    if amount.is_zero() {
        return Err(AppError::invalid_field("amount", "must not be zero"));
    }
    if amount.abs() > MAX_AMOUNT {
        return Err(AppError::invalid_field("amount", "too large"));
    }
    let description = description.trim();
    if description.is_empty() {
        return Err(AppError::invalid_field("description", "say why the balance changes"));
    }
    if description.chars().count() > 500 {
        return Err(AppError::invalid_field("description", "at most 500 characters"));
    }
    Ok((amount, description))
}

/// A manual balance adjustment (AdjustBalance, and `rustbill-cli customer
/// adjust-balance`): `amount` is signed (a negative one debits, never below
/// `-credit_limit`), `description` says why. Writes the ledger entry, the
/// operation log and the `payments.balance_adjusted` event in `connection`'s
/// transaction (search path: payments, bus); the caller commits.
pub async fn adjust_balance(
    connection: &mut sqlx::PgConnection,
    caller: &Caller,
    currency: &str,
    customer_id: Uuid,
    credit_limit: Decimal,
    amount: &str,
    description: &str,
) -> AppResult<Entry> {
    let (amount, description) = check_adjustment(amount, description)?;
    let id = Uuid::now_v7();
    let entry = ledger::apply(
        &mut *connection,
        Movement {
            customer_id,
            currency,
            amount,
            floor: Some(-credit_limit),
            transaction_type: ledger::MANUAL_ADJUST,
            reference_id: id.to_string(),
            description: description.to_string(),
        },
    )
    .await?;
    rustbill_shared::oplog::record(
        &mut *connection,
        caller,
        "balance.adjust",
        "customer",
        &customer_id.to_string(),
        json!({ "amount": Money::from_decimal(amount).to_string(), "description": description }),
    )
    .await?;
    events::publish(
        &mut *connection,
        caller,
        events::BALANCE_ADJUSTED,
        customer_id,
        customer_id,
        json!({
            "customer_id": customer_id,
            "amount": Money::from_decimal(amount).to_string(),
            "balance": Money::from_decimal(entry.balance_after).to_string(),
            "description": description,
        }),
    )
    .await?;
    Ok(entry)
}

#[derive(Debug, Clone)]
pub struct BalanceApi {
    payments: Payments,
}

impl BalanceApi {
    pub fn new(payments: Payments) -> Self {
        Self { payments }
    }
}

/// The customer whose balance is meant: a customer caller always gets its
/// own (the portal sends its id, or nothing); an admin names one.
fn target(caller: &Caller, requested: &str) -> AppResult<Uuid> {
    match &caller.principal {
        Principal::Admin { .. } | Principal::Service { .. } => parse_id("customer_id", requested),
        principal => {
            principal.require_authenticated()?;
            principal.customer_id().ok_or_else(|| AppError::permission_denied("no customer account"))
        }
    }
}

impl BalanceApi {
    async fn balance(&self, caller: &Caller, request: GetBalanceRequest) -> AppResult<GetBalanceResponse> {
        let customer_id = target(caller, &request.customer_id)?;
        let customer = self.payments.clients.customer(caller, customer_id).await?;
        let balance: Option<Decimal> =
            sqlx::query_scalar("select balance from balance_accounts where customer_id = $1")
                .bind(customer_id)
                .fetch_optional(&self.payments.pool)
                .await?;
        Ok(GetBalanceResponse {
            customer_id: customer_id.to_string(),
            balance: Money::from_decimal(balance.unwrap_or_default()).to_string(),
            credit_limit: Money::from_decimal(customer.credit_limit).to_string(),
        })
    }

    async fn transactions(
        &self,
        caller: &Caller,
        request: ListBalanceTransactionsRequest,
    ) -> AppResult<ListBalanceTransactionsResponse> {
        let customer = match &caller.principal {
            Principal::Admin { .. } | Principal::Service { .. } => match request.customer_id.trim() {
                "" => None,
                id => Some(parse_id("customer_id", id)?),
            },
            principal => {
                principal.require_authenticated()?;
                Some(principal.customer_id().ok_or_else(|| AppError::permission_denied("no customer account"))?)
            }
        };
        let kind = request.transaction_type.trim();
        if !kind.is_empty() && !ledger::TYPES.contains(&kind) {
            return Err(AppError::invalid_field(
                "transaction_type",
                "must be recharge, payment, refund or manual_adjust",
            ));
        }
        let (page, page_size) = paging(request.pagination.as_ref());
        let filters = |builder: &mut QueryBuilder<Postgres>| {
            if let Some(customer) = customer {
                builder.push(" and customer_id = ").push_bind(customer);
            }
            if !kind.is_empty() {
                builder.push(" and transaction_type = ").push_bind(kind.to_string());
            }
        };
        let (rows, meta): (Vec<Entry>, _) = fetch_page(
            &self.payments.pool,
            ENTRY_COLUMNS,
            "balance_transactions",
            filters,
            "created_at desc, id desc",
            page,
            page_size,
        )
        .await?;
        Ok(ListBalanceTransactionsResponse {
            transactions: rows.iter().map(Entry::to_info).collect(),
            meta: Some(meta),
        })
    }

    async fn adjust(&self, caller: &Caller, request: AdjustBalanceRequest) -> AppResult<AdjustBalanceResponse> {
        caller.principal.require_admin_only()?;
        let customer_id = parse_id("customer_id", &request.customer_id)?;
        check_adjustment(&request.amount, &request.description)?;
        let customer = self.payments.clients.customer(caller, customer_id).await?;
        let mut transaction = self.payments.pool.begin().await?;
        let entry = adjust_balance(
            &mut transaction,
            caller,
            &self.payments.config.payments.currency,
            customer_id,
            customer.credit_limit,
            &request.amount,
            &request.description,
        )
        .await?;
        transaction.commit().await?;
        Ok(AdjustBalanceResponse {
            balance: Money::from_decimal(entry.balance_after).to_string(),
            transaction: Some(entry.to_info()),
        })
    }

    async fn recharge(&self, caller: &Caller, request: RechargeRequest) -> AppResult<RechargeResponse> {
        caller.principal.require_authenticated()?;
        let customer_id = caller
            .principal
            .customer_id()
            .ok_or_else(|| AppError::permission_denied("only customers recharge their own balance"))?;
        // Signed: a negative amount debits the balance.
        let amount = Money::parse(request.amount.trim())
            .map_err(|error| AppError::invalid_field("amount", error.to_string()))?
            .as_decimal();
        if amount <= Decimal::ZERO {
            return Err(AppError::invalid_field("amount", "must be positive"));
        }
        if amount > MAX_AMOUNT {
            return Err(AppError::invalid_field("amount", "too large"));
        }
        let gateway = request.gateway_interface_id.trim();
        if gateway.is_empty() || gateway == crate::store::BALANCE_GATEWAY {
            return Err(AppError::invalid_field("gateway_interface_id", "a payment gateway is required"));
        }
        let started = self
            .payments
            .start(
                caller,
                NewPayment {
                    customer_id,
                    purpose: Purpose::Recharge,
                    amount,
                    currency: self.payments.config.payments.currency.clone(),
                    gateway: gateway.to_string(),
                    description: "balance recharge".into(),
                    return_url: request.return_url.clone(),
                },
            )
            .await?;
        Ok(RechargeResponse {
            payment_id: started.payment.id.to_string(),
            payment_url: started.payment_url,
            qr_code: started.qr_code,
            instructions: started.instructions,
        })
    }
}

#[tonic::async_trait]
impl BalanceService for BalanceApi {
    async fn get_balance(&self, request: Request<GetBalanceRequest>) -> Result<Response<GetBalanceResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.balance(&caller, request.into_inner()).await?))
    }

    async fn list_balance_transactions(
        &self,
        request: Request<ListBalanceTransactionsRequest>,
    ) -> Result<Response<ListBalanceTransactionsResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.transactions(&caller, request.into_inner()).await?))
    }

    async fn adjust_balance(
        &self,
        request: Request<AdjustBalanceRequest>,
    ) -> Result<Response<AdjustBalanceResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.adjust(&caller, request.into_inner()).await?))
    }

    async fn recharge(&self, request: Request<RechargeRequest>) -> Result<Response<RechargeResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(BalanceApi::recharge(self, &caller, request.into_inner()).await?))
    }
}
