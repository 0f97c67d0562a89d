//! `rustbill.internal.orders.OrdersInternalService`: what payments and the
//! catalog read from orders.

use std::collections::HashMap;

use rustbill_proto::internal::orders::orders_internal_service_server::OrdersInternalService;
use rustbill_proto::internal::orders::*;
use rustbill_shared::ids::parse_id;
use rustbill_shared::principal::{self, Principal};
use rustbill_shared::{AppError, Money};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::State;
use crate::status;
use crate::store;

#[derive(Debug, Clone)]
pub struct Internal {
    state: State,
}

impl Internal {
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

fn require_service<T>(request: &Request<T>) -> Result<(), Status> {
    match principal::caller(request)?.principal {
        Principal::Service { .. } => Ok(()),
        _ => Err(AppError::permission_denied("internal RPC").into()),
    }
}

#[tonic::async_trait]
impl OrdersInternalService for Internal {
    async fn get_payable_order(
        &self,
        request: Request<GetPayableOrderRequest>,
    ) -> Result<Response<PayableOrder>, Status> {
        require_service(&request)?;
        let id = parse_id("order_id", &request.get_ref().order_id)?;
        let order = store::find_order(&self.state.pool, id).await?;
        Ok(Response::new(PayableOrder {
            order_id: order.id.to_string(),
            customer_id: order.customer_id.to_string(),
            amount: Money::from_decimal(order.amount).to_string(),
            currency: order.currency,
            status: order.status,
            product_name: order.product_name,
        }))
    }

    async fn count_live_orders(
        &self,
        request: Request<CountLiveOrdersRequest>,
    ) -> Result<Response<CountLiveOrdersResponse>, Status> {
        require_service(&request)?;
        let ids = &request.get_ref().product_ids;
        if ids.len() > 1000 {
            return Err(AppError::invalid_field("product_ids", "at most 1000 per call").into());
        }
        let ids: Vec<Uuid> =
            ids.iter().map(|id| parse_id("product_ids", id)).collect::<Result<_, _>>().map_err(Status::from)?;
        let live: Vec<String> = status::LIVE.iter().map(|status| status.to_string()).collect();
        let rows: Vec<(Uuid, i64)> = sqlx::query_as(
            "select product_id, count(*) from orders where product_id = any($1) and status = any($2) group by product_id",
        )
        .bind(&ids)
        .bind(&live)
        .fetch_all(&self.state.pool)
        .await
        .map_err(AppError::from)?;
        let counts: HashMap<String, u64> =
            rows.into_iter().map(|(id, count)| (id.to_string(), u64::try_from(count).unwrap_or(0))).collect();
        Ok(Response::new(CountLiveOrdersResponse { counts }))
    }
}
