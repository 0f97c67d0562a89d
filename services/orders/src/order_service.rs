//! `rustbill.order.OrderService`.

use rust_decimal::Decimal;
use rustbill_proto::internal::payments::StartOrderPaymentRequest;
use rustbill_proto::internal::plugins::{QueryPriceCall, ServerSpec as PluginSpec};
use rustbill_proto::order::order_service_server::OrderService;
use rustbill_proto::order::*;
use rustbill_shared::ids::{parse_id, parse_optional_id};
use rustbill_shared::paging::{fetch_counted_page, fetch_page, like_pattern, paging};
use rustbill_shared::principal::{self, Caller, Principal};
use rustbill_shared::{AppError, AppResult, Money, oplog};
use serde_json::json;
use sqlx::{AssertSqlSafe, Postgres, QueryBuilder};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::State;
use crate::counts::{self, Kind};
use crate::coupons;
use crate::events;
use crate::pricing;
use crate::status;
use crate::store::{self, ORDER_COLUMNS, OrderRow};

/// The pseudo gateway that pays from the customer's balance.
pub const BALANCE_GATEWAY: &str = "balance";

#[derive(Debug, Clone)]
pub struct Orders {
    state: State,
}

impl Orders {
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

/// `None` for admins and services (all orders), the customer otherwise.
pub fn scope(caller: &Caller) -> AppResult<Option<Uuid>> {
    match &caller.principal {
        Principal::Admin { .. } | Principal::Service { .. } => Ok(None),
        principal => {
            principal.require_authenticated()?;
            Ok(Some(principal.customer_id().ok_or_else(|| AppError::permission_denied("no customer account"))?))
        }
    }
}

/// The order if the caller may see it. Another customer's order answers
/// like an unknown one.
pub async fn visible_order(state: &State, caller: &Caller, id: Uuid) -> AppResult<OrderRow> {
    let customer = scope(caller)?;
    let order = store::find_order(&state.pool, id).await?;
    if customer.is_some_and(|customer| customer != order.customer_id) {
        return Err(AppError::not_found("order not found"));
    }
    Ok(order)
}

fn plugin_spec(spec: &ServerSpec) -> PluginSpec {
    PluginSpec {
        cpu_cores: spec.cpu_cores,
        memory_gb: spec.memory_gb,
        disk_gb: spec.disk_gb,
        bandwidth_mbps: spec.bandwidth_mbps,
        region: spec.region.clone(),
        os: spec.os.clone(),
        extra_specs: spec.extra_specs.clone(),
    }
}

fn gateway_field(text: &str) -> AppResult<String> {
    let text = text.trim();
    if text.is_empty() || text == BALANCE_GATEWAY {
        return Ok(text.to_string());
    }
    Ok(parse_id("gateway_interface_id", text)?.to_string())
}

impl Orders {
    async fn create(&self, caller: &Caller, request: CreateOrderRequest) -> AppResult<CreateOrderResponse> {
        let customer_id = match &caller.principal {
            Principal::Admin { .. } | Principal::Service { .. } => parse_id("customer_id", &request.customer_id)?,
            principal => {
                principal.require_authenticated()?;
                // Customers order only for themselves, whatever they send.
                principal.customer_id().ok_or_else(|| AppError::permission_denied("no customer account"))?
            }
        };
        let product_id = parse_id("product_id", &request.product_id)?;
        let cycle = match request.billing_cycle.trim() {
            "" => "monthly".to_string(),
            cycle => cycle.to_string(),
        };
        let currency = match request.currency.trim() {
            "" => self.state.config.payments.currency.clone(),
            currency => currency.to_ascii_uppercase(),
        };
        if currency != self.state.config.payments.currency {
            return Err(AppError::invalid_field(
                "currency",
                format!("prices are in {}", self.state.config.payments.currency),
            ));
        }
        let notes = request.notes.trim().to_string();
        if notes.chars().count() > 1000 {
            return Err(AppError::invalid_field("notes", "at most 1000 characters"));
        }
        let gateway = gateway_field(&request.gateway_interface_id)?;
        let requested_provider = parse_optional_id(
            "provider_interface_id",
            Some(request.provider_interface_id.trim()).filter(|id| !id.is_empty()),
        )?;

        // Both at once; the product's answer is judged first, as before.
        let (product, customer) = tokio::join!(
            self.state.clients.product(caller, product_id),
            self.state.clients.customer(caller, customer_id)
        );
        let product = product.map_err(|error| match error {
            AppError::NotFound(_) => AppError::not_found("product_id: no such product"),
            other => other,
        })?;
        if !product.is_active {
            return Err(AppError::invalid_field("product_id", "the product is not on sale"));
        }
        let provider = Uuid::parse_str(&product.interface_id)
            .map_err(|_| AppError::FailedPrecondition("the product has no provider; ask the operator".into()))?;
        if requested_provider.is_some_and(|requested| requested != provider) {
            return Err(AppError::invalid_field("provider_interface_id", "not this product's provider"));
        }
        let customer = customer.map_err(|error| match error {
            AppError::NotFound(_) => AppError::not_found("customer_id: no such customer"),
            other => other,
        })?;
        if !customer.is_active {
            return Err(AppError::FailedPrecondition("the customer account is disabled".into()));
        }
        let template = self.state.clients.spec_template(caller, provider).await?;
        let requested_spec = request.server_spec.clone().unwrap_or_default();
        let priced = pricing::price(&product, &template, &requested_spec, &cycle)?;
        // Found before any money is taken: a provider that cannot build this
        // configuration (capacity, region, validation) says so here.
        self.state
            .clients
            .query_price(
                caller,
                QueryPriceCall {
                    interface_id: provider.to_string(),
                    server_spec: Some(plugin_spec(&priced.spec)),
                    billing_cycle: cycle.clone(),
                },
            )
            .await
            .map_err(|error| match error {
                AppError::FailedPrecondition(message) => AppError::FailedPrecondition(format!(
                    "the provider cannot supply this configuration now: {message}"
                )),
                other => other,
            })?;

        let coupon_code = request.coupon_code.trim();
        if !coupon_code.is_empty() {
            coupons::normalise_code("coupon_code", coupon_code)?;
        }

        let id = Uuid::now_v7();
        let mut transaction = self.state.pool.begin().await?;
        let redemption = if coupon_code.is_empty() {
            None
        } else {
            let group = Uuid::parse_str(&product.group_id).ok();
            Some(
                coupons::redeem(&mut transaction, coupon_code, customer_id, product_id, group, priced.amount, id)
                    .await?,
            )
        };
        let discount = redemption.as_ref().map_or(Decimal::ZERO, |redemption| redemption.discount);
        let order: OrderRow = sqlx::query_as(AssertSqlSafe(format!(
            "insert into orders (id, customer_id, product_id, product_name, provider_interface_id, server_spec,
                                 amount, currency, billing_cycle, gateway_interface_id, instance_id, customer_email, notes,
                                 list_amount, discount_amount, coupon_id, coupon_code, coupon_kind, coupon_value,
                                 coupon_periods_left)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
             returning {ORDER_COLUMNS}"
        )))
        .bind(id)
        .bind(customer_id)
        .bind(product_id)
        .bind(&product.name)
        .bind(provider)
        .bind(store::spec_to_json(&priced.spec))
        .bind(priced.amount - discount)
        .bind(&currency)
        .bind(&cycle)
        .bind(&gateway)
        .bind(Uuid::now_v7())
        .bind(&customer.email)
        .bind(&notes)
        .bind(priced.amount)
        .bind(discount)
        .bind(redemption.as_ref().map(|redemption| redemption.coupon_id))
        .bind(redemption.as_ref().map_or("", |redemption| redemption.code.as_str()))
        .bind(redemption.as_ref().map(|redemption| redemption.kind.as_str()))
        .bind(redemption.as_ref().map(|redemption| redemption.value))
        .bind(redemption.as_ref().and_then(|redemption| redemption.renewal_periods))
        .fetch_one(&mut *transaction)
        .await?;
        if matches!(caller.principal, Principal::Admin { .. }) {
            oplog::record(
                &mut transaction,
                caller,
                "order.create",
                "order",
                &id.to_string(),
                json!({ "customer_id": customer_id, "product_id": product_id }),
            )
            .await?;
        }
        transaction.commit().await?;

        if gateway.is_empty() {
            return Ok(CreateOrderResponse { order: Some(order.to_info()), payment: None });
        }
        match self.start_payment(caller, &order, &gateway).await {
            Ok(payment) => {
                let order = store::find_order(&self.state.pool, id).await?;
                Ok(CreateOrderResponse { order: Some(order.to_info()), payment: Some(payment) })
            }
            Err(error) => {
                // No money was taken: the order goes away with the error, so
                // a retry does not leave orders behind.
                let mut transaction = self.state.pool.begin().await?;
                let deleted =
                    sqlx::query("delete from orders where customer_id = $1 and id = $2 and status = 'pending'")
                        .bind(customer_id)
                        .bind(id)
                        .execute(&mut *transaction)
                        .await?;
                if deleted.rows_affected() == 1 {
                    coupons::release(&mut transaction, id).await?;
                }
                transaction.commit().await?;
                Err(error)
            }
        }
    }

    async fn start_payment(&self, caller: &Caller, order: &OrderRow, gateway: &str) -> AppResult<PaymentInfo> {
        let started = self
            .state
            .clients
            .start_payment(
                caller,
                StartOrderPaymentRequest {
                    order_id: order.id.to_string(),
                    customer_id: order.customer_id.to_string(),
                    amount: Money::from_decimal(order.amount).to_string(),
                    currency: order.currency.clone(),
                    gateway_interface_id: gateway.to_string(),
                    description: order.product_name.clone(),
                    return_url: String::new(),
                    client_ip: caller.client_ip.clone(),
                    invoice_id: String::new(),
                },
            )
            .await?;
        sqlx::query(
            "update orders set gateway_interface_id = $3, updated_at = now()
             where customer_id = $1 and id = $2 and status = 'pending'",
        )
        .bind(order.customer_id)
        .bind(order.id)
        .bind(gateway)
        .execute(&self.state.pool)
        .await?;
        Ok(PaymentInfo {
            payment_id: started.payment_id,
            gateway_interface_id: started.gateway_interface_id,
            payment_url: started.payment_url,
            qr_code: started.qr_code,
            instructions: started.instructions,
        })
    }

    async fn pay(&self, caller: &Caller, request: PayOrderRequest) -> AppResult<PaymentInfo> {
        let id = parse_id("order_id", &request.order_id)?;
        let gateway = gateway_field(&request.gateway_interface_id)?;
        if gateway.is_empty() {
            return Err(AppError::invalid_field("gateway_interface_id", "required"));
        }
        let order = visible_order(&self.state, caller, id).await?;
        if order.status != status::PENDING {
            return Err(AppError::invalid(format!("the order cannot be paid (it is {})", order.status)));
        }
        self.start_payment(caller, &order, &gateway).await
    }

    async fn list(&self, caller: &Caller, request: ListOrdersRequest) -> AppResult<ListOrdersResponse> {
        let customer = match scope(caller)? {
            Some(own) => Some(own),
            None => {
                parse_optional_id("customer_id", request.customer_id.as_deref().filter(|id| !id.trim().is_empty()))?
            }
        };
        let status = request.status.as_deref().map(str::trim).filter(|status| !status.is_empty());
        if let Some(status) = status
            && !status::ALL.contains(&status)
        {
            return Err(AppError::invalid_field("status", format!("must be one of {}", status::ALL.join(", "))));
        }
        let provider = parse_optional_id(
            "provider_interface_id",
            request.provider_interface_id.as_deref().filter(|id| !id.trim().is_empty()),
        )?;
        let search = request.search.as_deref().map(str::trim).filter(|search| !search.is_empty());
        if search.is_some_and(|search| search.chars().count() > 100) {
            return Err(AppError::invalid_field("search", "at most 100 characters"));
        }
        let (page, page_size) = paging(request.pagination.as_ref());
        let filters = |builder: &mut QueryBuilder<Postgres>| {
            if let Some(customer) = customer {
                builder.push(" and customer_id = ").push_bind(customer);
            }
            if let Some(status) = status {
                builder.push(" and status = ").push_bind(status.to_string());
            }
            if let Some(provider) = provider {
                builder.push(" and provider_interface_id = ").push_bind(provider);
            }
            if let Some(search) = search {
                match Uuid::parse_str(search) {
                    Ok(id) => {
                        builder.push(" and id = ").push_bind(id);
                    }
                    Err(_) => {
                        let pattern = like_pattern(search);
                        builder
                            .push(" and (product_name ilike ")
                            .push_bind(pattern.clone())
                            .push(" or notes ilike ")
                            .push_bind(pattern.clone())
                            .push(" or customer_email ilike ")
                            .push_bind(pattern)
                            .push(")");
                    }
                }
            }
        };
        let (rows, meta): (Vec<OrderRow>, _) = if provider.is_none() && search.is_none() {
            // Filtered by owner and status only: the counters know the total.
            let total = counts::total(&self.state.pool, Kind::Order, customer, status.as_slice()).await?;
            fetch_counted_page(
                &self.state.pool,
                ORDER_COLUMNS,
                "orders",
                filters,
                "created_at desc, id desc",
                page,
                page_size,
                total,
            )
            .await?
        } else {
            fetch_page(&self.state.pool, ORDER_COLUMNS, "orders", filters, "created_at desc, id desc", page, page_size)
                .await?
        };
        Ok(ListOrdersResponse { orders: rows.iter().map(OrderRow::to_info).collect(), meta: Some(meta) })
    }

    async fn update(&self, caller: &Caller, request: UpdateOrderRequest) -> AppResult<OrderRow> {
        caller.principal.require_admin()?;
        let id = parse_id("id", &request.id)?;
        let target = request.status.as_deref().map(str::trim).filter(|status| !status.is_empty());
        if target.is_some() {
            // Status changes move money and servers: admins only.
            caller.principal.require_admin_only()?;
        }
        if let Some(target) = target {
            if !status::ALL.contains(&target) {
                return Err(AppError::invalid_field("status", format!("must be one of {}", status::ALL.join(", "))));
            }
            match target {
                status::PROVISIONING => {
                    return Err(AppError::invalid_field("status", "provisioning is started by a payment"));
                }
                status::REFUNDED => {
                    return Err(AppError::invalid_field("status", "refund the payment (PaymentService.RefundPayment)"));
                }
                status::TERMINATED => {
                    return Err(AppError::invalid_field(
                        "status",
                        "terminate the instance (InstanceService.TerminateInstance)",
                    ));
                }
                _ => {}
            }
        }
        let notes = request.notes.as_deref().map(str::trim);
        if notes.is_some_and(|notes| notes.chars().count() > 1000) {
            return Err(AppError::invalid_field("notes", "at most 1000 characters"));
        }
        let provider_instance_id = request.provider_instance_id.as_deref().map(str::trim);
        if provider_instance_id.is_some_and(|value| value.len() > 200) {
            return Err(AppError::invalid_field("provider_instance_id", "at most 200 characters"));
        }

        let mut transaction = self.state.pool.begin().await?;
        let order =
            store::lock_order(&mut transaction, id).await?.ok_or_else(|| AppError::not_found("order not found"))?;
        let mut changed = serde_json::Map::new();
        let mut new_status = order.status.clone();
        if let Some(target) = target
            && target != order.status
        {
            if !status::can_move(&order.status, target) {
                let next = status::next(&order.status);
                return Err(AppError::invalid_field(
                    "status",
                    if next.is_empty() {
                        format!("the order is {} and cannot change any more", order.status)
                    } else {
                        format!("cannot go from {} to {target}; possible: {}", order.status, next.join(", "))
                    },
                ));
            }
            new_status = target.to_string();
            changed.insert("status".into(), json!({ "from": order.status, "to": target }));
        }
        let updated: OrderRow = sqlx::query_as(AssertSqlSafe(format!(
            "update orders set status = $3,
                    notes = coalesce($4, notes),
                    provider_instance_id = coalesce($5, provider_instance_id),
                    paid_at = case when $3 = 'paid' and paid_at is null then now() else paid_at end,
                    cancel_reason = case when $3 = 'cancelled' then 'cancelled by an administrator' else cancel_reason end,
                    updated_at = now()
             where customer_id = $1 and id = $2 returning {ORDER_COLUMNS}"
        )))
        .bind(order.customer_id)
        .bind(order.id)
        .bind(&new_status)
        .bind(notes)
        .bind(provider_instance_id)
        .fetch_one(&mut *transaction)
        .await?;
        if notes.is_some() {
            changed.insert("notes".into(), json!(true));
        }
        if let Some(value) = provider_instance_id {
            changed.insert("provider_instance_id".into(), json!(value));
        }
        if new_status != order.status {
            match new_status.as_str() {
                // Money arrived outside any gateway (the admin confirms it):
                // provisioning starts as after a payment.
                status::PAID => {
                    sqlx::query("update orders set paid_amount = amount where customer_id = $1 and id = $2")
                        .bind(order.customer_id)
                        .bind(order.id)
                        .execute(&mut *transaction)
                        .await?;
                    events::publish(
                        &mut transaction,
                        caller,
                        events::ORDER_PAID,
                        order.id,
                        order.customer_id,
                        updated.notice(),
                    )
                    .await?;
                }
                status::CANCELLED => {
                    let mut payload = updated.notice();
                    payload["reason"] = json!("cancelled by an administrator");
                    payload["refund"] = refund_of(&order);
                    events::publish(
                        &mut transaction,
                        caller,
                        events::ORDER_CANCELLED,
                        order.id,
                        order.customer_id,
                        payload,
                    )
                    .await?;
                }
                _ => {}
            }
        }
        oplog::record(
            &mut transaction,
            caller,
            "order.update",
            "order",
            &id.to_string(),
            serde_json::Value::Object(changed),
        )
        .await?;
        transaction.commit().await?;
        store::find_order(&self.state.pool, id).await
    }

    async fn delete(&self, caller: &Caller, request: DeleteOrderRequest) -> AppResult<()> {
        caller.principal.require_admin_only()?;
        let id = parse_id("id", &request.id)?;
        let mut transaction = self.state.pool.begin().await?;
        let order =
            store::lock_order(&mut transaction, id).await?.ok_or_else(|| AppError::not_found("order not found"))?;
        if order.payment_id.is_some() || order.paid_amount > Decimal::ZERO {
            return Err(AppError::FailedPrecondition(
                "the order took money: cancel it or refund its payment instead of deleting it".into(),
            ));
        }
        if order.status != status::PENDING && order.status != status::CANCELLED {
            return Err(AppError::FailedPrecondition(format!("a {} order cannot be deleted", order.status)));
        }
        sqlx::query("delete from orders where customer_id = $1 and id = $2")
            .bind(order.customer_id)
            .bind(order.id)
            .execute(&mut *transaction)
            .await?;
        coupons::release(&mut transaction, order.id).await?;
        oplog::record(
            &mut transaction,
            caller,
            "order.delete",
            "order",
            &id.to_string(),
            json!({ "customer_id": order.customer_id, "status": order.status }),
        )
        .await?;
        transaction.commit().await?;
        Ok(())
    }
}

/// The refund a cancellation owes: what the order's payment paid.
pub fn refund_of(order: &OrderRow) -> serde_json::Value {
    match order.payment_id {
        Some(payment_id) if order.paid_amount > Decimal::ZERO => json!({
            "payment_id": payment_id,
            "customer_id": order.customer_id,
            "amount": Money::from_decimal(order.paid_amount).to_string(),
        }),
        _ => serde_json::Value::Null,
    }
}

#[tonic::async_trait]
impl OrderService for Orders {
    async fn create_order(
        &self,
        request: Request<CreateOrderRequest>,
    ) -> Result<Response<CreateOrderResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.create(&caller, request.into_inner()).await?))
    }

    async fn list_orders(&self, request: Request<ListOrdersRequest>) -> Result<Response<ListOrdersResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.list(&caller, request.into_inner()).await?))
    }

    async fn get_order(&self, request: Request<GetOrderRequest>) -> Result<Response<GetOrderResponse>, Status> {
        let caller = principal::caller(&request)?;
        let id = parse_id("id", &request.get_ref().id)?;
        let order = visible_order(&self.state, &caller, id).await?;
        Ok(Response::new(GetOrderResponse { order: Some(order.to_info()) }))
    }

    async fn update_order(
        &self,
        request: Request<UpdateOrderRequest>,
    ) -> Result<Response<UpdateOrderResponse>, Status> {
        let caller = principal::caller(&request)?;
        let order = self.update(&caller, request.into_inner()).await?;
        Ok(Response::new(UpdateOrderResponse { order: Some(order.to_info()) }))
    }

    async fn delete_order(
        &self,
        request: Request<DeleteOrderRequest>,
    ) -> Result<Response<DeleteOrderResponse>, Status> {
        let caller = principal::caller(&request)?;
        self.delete(&caller, request.into_inner()).await?;
        Ok(Response::new(DeleteOrderResponse {}))
    }

    async fn pay_order(&self, request: Request<PayOrderRequest>) -> Result<Response<PayOrderResponse>, Status> {
        let caller = principal::caller(&request)?;
        let payment = self.pay(&caller, request.into_inner()).await?;
        Ok(Response::new(PayOrderResponse { payment: Some(payment) }))
    }

    async fn preview_plan_change(
        &self,
        request: Request<PreviewPlanChangeRequest>,
    ) -> Result<Response<PreviewPlanChangeResponse>, Status> {
        let caller = principal::caller(&request)?;
        let quote = crate::plan_change::preview(&self.state, &caller, request.into_inner()).await?;
        Ok(Response::new(PreviewPlanChangeResponse { quote: Some(quote) }))
    }

    async fn change_plan(&self, request: Request<ChangePlanRequest>) -> Result<Response<ChangePlanResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(crate::plan_change::change(&self.state, &caller, request.into_inner()).await?))
    }

    async fn cancel_plan_change(
        &self,
        request: Request<CancelPlanChangeRequest>,
    ) -> Result<Response<CancelPlanChangeResponse>, Status> {
        let caller = principal::caller(&request)?;
        crate::plan_change::cancel(&self.state, &caller, request.into_inner()).await?;
        Ok(Response::new(CancelPlanChangeResponse {}))
    }
}
