//! `rustbill.internal.balances.BalancesService`: balances for other services.

use std::collections::HashMap;

use rust_decimal::Decimal;
use rustbill_proto::internal::balances::balances_service_server::BalancesService;
use rustbill_proto::internal::balances::*;
use rustbill_shared::ids::parse_id;
use rustbill_shared::principal::{self, Principal};
use rustbill_shared::{AppError, Money};
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// Most customers one GetBalances call may ask for.
const MAX_BATCH: usize = 500;

#[derive(Debug, Clone)]
pub struct Balances {
    pool: PgPool,
}

impl Balances {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn require_service<T>(request: &Request<T>) -> Result<(), Status> {
    match principal::caller(request)?.principal {
        Principal::Service { .. } => Ok(()),
        _ => Err(AppError::permission_denied("internal RPC").into()),
    }
}

#[tonic::async_trait]
impl BalancesService for Balances {
    async fn get_balance(&self, request: Request<GetBalanceRequest>) -> Result<Response<GetBalanceResponse>, Status> {
        require_service(&request)?;
        let customer_id = parse_id("customer_id", &request.get_ref().customer_id)?;
        let row: Option<(Decimal, String)> =
            sqlx::query_as("select balance, currency from balance_accounts where customer_id = $1")
                .bind(customer_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(AppError::from)?;
        let (balance, currency) = row.unwrap_or((Decimal::ZERO, "CNY".to_string()));
        Ok(Response::new(GetBalanceResponse { balance: Money::from_decimal(balance).to_string(), currency }))
    }

    async fn get_balances(
        &self,
        request: Request<GetBalancesRequest>,
    ) -> Result<Response<GetBalancesResponse>, Status> {
        require_service(&request)?;
        let ids = &request.get_ref().customer_ids;
        if ids.len() > MAX_BATCH {
            return Err(AppError::invalid_field("customer_ids", format!("at most {MAX_BATCH} per call")).into());
        }
        let ids: Vec<Uuid> =
            ids.iter().map(|id| parse_id("customer_ids", id)).collect::<Result<_, _>>().map_err(Status::from)?;
        let rows: Vec<(Uuid, Decimal)> =
            sqlx::query_as("select customer_id, balance from balance_accounts where customer_id = any($1)")
                .bind(&ids)
                .fetch_all(&self.pool)
                .await
                .map_err(AppError::from)?;
        let found: HashMap<Uuid, Decimal> = rows.into_iter().collect();
        let balances = ids
            .iter()
            .map(|id| {
                let balance = found.get(id).copied().unwrap_or(Decimal::ZERO);
                (id.to_string(), Money::from_decimal(balance).to_string())
            })
            .collect();
        Ok(Response::new(GetBalancesResponse { balances }))
    }
}
