//! `rustbill.internal.orders.OrdersInternalService`: what payments and the
//! catalog read from orders.

use std::collections::HashMap;

use rustbill_proto::internal::orders::orders_internal_service_server::OrdersInternalService;
use rustbill_proto::internal::orders::*;
use rustbill_proto::order::ServerSpec;
use rustbill_shared::ids::parse_id;
use rustbill_shared::principal::{self, Caller, Principal};
use rustbill_shared::{AppError, AppResult, Money, oplog};
use sqlx::AssertSqlSafe;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::State;
use crate::status;
use crate::store::{self, INSTANCE_COLUMNS, InstanceRow};

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

impl Internal {
    async fn import(&self, caller: &Caller, request: ImportInstanceRequest) -> AppResult<ImportedInstance> {
        let customer_id = parse_id("customer_id", &request.customer_id)?;
        let product_id = parse_id("product_id", &request.product_id)?;
        let provider = parse_id("provider_interface_id", &request.provider_interface_id)?;
        let upstream_id = request.provider_instance_id.trim();
        if upstream_id.is_empty() || upstream_id.len() > 200 {
            return Err(AppError::invalid_field("instance_id", "1 to 200 characters"));
        }
        let customer = self.state.clients.customer(caller, customer_id).await.map_err(|error| match error {
            AppError::NotFound(_) => AppError::not_found("customer_id: no such customer"),
            other => other,
        })?;
        let product = self.state.clients.product(caller, product_id).await.map_err(|error| match error {
            AppError::NotFound(_) => AppError::not_found("product_id: no such product"),
            other => other,
        })?;
        if product.interface_id != provider.to_string() {
            return Err(AppError::invalid_field("product_id", "the product is not sold through this interface"));
        }
        let mut transaction = self.state.pool.begin().await?;
        // One import per upstream instance, however many run at once.
        sqlx::query("select pg_advisory_xact_lock(hashtext('orders/import'), hashtext($1))")
            .bind(format!("{provider}/{upstream_id}"))
            .execute(&mut *transaction)
            .await?;
        let existing: Option<InstanceRow> = sqlx::query_as(AssertSqlSafe(format!(
            "select {INSTANCE_COLUMNS} from instances where provider_interface_id = $1 and provider_instance_id = $2"
        )))
        .bind(provider)
        .bind(upstream_id)
        .fetch_optional(&mut *transaction)
        .await?;
        if let Some(instance) = existing {
            return Ok(ImportedInstance {
                instance_id: instance.id.to_string(),
                order_id: instance.order_id.to_string(),
                status: instance.status,
                ip_address: instance.ip_address,
                created: false,
            });
        }
        let (order_id, instance_id) = (Uuid::now_v7(), Uuid::now_v7());
        let spec = store::spec_to_json(&ServerSpec { extra_specs: product.specs.clone(), ..Default::default() });
        sqlx::query(
            "insert into orders (id, customer_id, product_id, product_name, provider_interface_id, provider_instance_id,
                                 server_spec, status, amount, currency, billing_cycle, instance_id, customer_email, notes)
             values ($1, $2, $3, $4, $5, $6, $7, 'active', 0, $8, 'monthly', $9, $10, 'imported from the upstream')",
        )
        .bind(order_id)
        .bind(customer_id)
        .bind(product_id)
        .bind(&product.name)
        .bind(provider)
        .bind(upstream_id)
        .bind(&spec)
        .bind(&self.state.config.payments.currency)
        .bind(instance_id)
        .bind(&customer.email)
        .execute(&mut *transaction)
        .await?;
        let status = match store::instance_status(&request.status) {
            "error" => "running",
            other => other,
        };
        let instance: InstanceRow = sqlx::query_as(AssertSqlSafe(format!(
            "insert into instances (id, customer_id, order_id, product_id, product_name, provider_interface_id,
                                    provider_instance_id, status, ip_address, server_spec)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning {INSTANCE_COLUMNS}"
        )))
        .bind(instance_id)
        .bind(customer_id)
        .bind(order_id)
        .bind(product_id)
        .bind(&product.name)
        .bind(provider)
        .bind(upstream_id)
        .bind(status)
        .bind(request.ip_address.trim())
        .bind(&spec)
        .fetch_one(&mut *transaction)
        .await?;
        oplog::record(
            &mut transaction,
            caller,
            "instance.import",
            "instance",
            &instance.id.to_string(),
            serde_json::json!({ "provider_interface_id": provider, "provider_instance_id": upstream_id, "customer_id": customer_id }),
        )
        .await?;
        transaction.commit().await?;
        Ok(ImportedInstance {
            instance_id: instance.id.to_string(),
            order_id: order_id.to_string(),
            status: instance.status,
            ip_address: instance.ip_address,
            created: true,
        })
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

    async fn get_payable_invoice(
        &self,
        request: Request<GetPayableInvoiceRequest>,
    ) -> Result<Response<PayableInvoice>, Status> {
        require_service(&request)?;
        let id = parse_id("invoice_id", &request.get_ref().invoice_id)?;
        let invoice = crate::invoices::find(&self.state.pool, id).await?;
        Ok(Response::new(PayableInvoice {
            invoice_id: invoice.id.to_string(),
            customer_id: invoice.customer_id.to_string(),
            amount: Money::from_decimal(invoice.total_amount).to_string(),
            currency: invoice.currency,
            status: invoice.status,
            invoice_number: invoice.invoice_number.unwrap_or_default(),
        }))
    }

    async fn import_instance(
        &self,
        request: Request<ImportInstanceRequest>,
    ) -> Result<Response<ImportedInstance>, Status> {
        require_service(&request)?;
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.import(&caller, request.into_inner()).await?))
    }
}
