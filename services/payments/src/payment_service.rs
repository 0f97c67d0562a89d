//! `rustbill.payment.PaymentService`.

use rustbill_proto::internal::plugins::{HandleCallbackCall, QueryPaymentCall};
use rustbill_proto::payment::payment_service_server::PaymentService;
use rustbill_proto::payment::*;
use rustbill_shared::ids::{parse_id, parse_optional_id};
use rustbill_shared::paging::{fetch_page, paging};
use rustbill_shared::principal::{self, Caller, Principal};
use rustbill_shared::{AppError, AppResult, Money};
use sqlx::{Postgres, QueryBuilder};
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::core::{Applied, NewPayment, Payments, Purpose, RefundMethod, RefundRequest};
use crate::store::{self, COLUMNS, PENDING, PaymentRow, STATUSES};

/// Metadata key carrying the gateway's expected reply on a HandleCallback
/// error (a repeated notification answers AlreadyExists as the spec says,
/// but the gateway still wants its "success").
pub const CALLBACK_REPLY_HEADER: &str = "x-rustbill-callback-reply";

#[derive(Debug, Clone)]
pub struct PaymentApi {
    payments: Payments,
}

impl PaymentApi {
    pub fn new(payments: Payments) -> Self {
        Self { payments }
    }
}

/// Customers see only their own payments; admins and operators see all.
fn scope(caller: &Caller) -> AppResult<Option<Uuid>> {
    match &caller.principal {
        Principal::Admin { .. } | Principal::Service { .. } => Ok(None),
        principal => {
            principal.require_authenticated()?;
            Ok(principal.customer_id())
        }
    }
}

async fn visible(payments: &Payments, caller: &Caller, id: Uuid) -> AppResult<PaymentRow> {
    let customer = scope(caller)?;
    let payment = store::find(&payments.pool, id).await?;
    if let Some(customer) = customer
        && payment.customer_id != customer
    {
        // The same answer as for an unknown id: ids of other customers'
        // payments are not confirmed.
        return Err(AppError::not_found("payment not found"));
    }
    Ok(payment)
}

impl PaymentApi {
    async fn create(&self, caller: &Caller, request: CreatePaymentRequest) -> AppResult<CreatePaymentResponse> {
        let customer_scope = scope(caller)?;
        let order_id = parse_optional_id("order_id", Some(request.order_id.as_str()).filter(|id| !id.is_empty()))?;
        let invoice_id =
            parse_optional_id("invoice_id", Some(request.invoice_id.as_str()).filter(|id| !id.is_empty()))?;
        let gateway = request.gateway_interface_id.trim();
        if gateway.is_empty() {
            return Err(AppError::invalid_field("gateway_interface_id", "required"));
        }
        let (customer_id, purpose, amount, currency, description) = match (order_id, invoice_id) {
            (Some(order_id), None) => {
                let order = self.payments.clients.payable_order(caller, order_id).await?;
                if order.status != "pending" {
                    return Err(AppError::invalid(format!("the order cannot be paid (it is {})", order.status)));
                }
                let customer_id = parse_id("customer_id", &order.customer_id)?;
                (customer_id, Purpose::Order(order_id), order.amount, order.currency, order.product_name)
            }
            (None, Some(invoice_id)) => {
                let invoice = self.payments.clients.payable_invoice(caller, invoice_id).await?;
                if invoice.status != "issued" && invoice.status != "overdue" {
                    return Err(AppError::invalid(format!("the invoice cannot be paid (it is {})", invoice.status)));
                }
                let customer_id = parse_id("customer_id", &invoice.customer_id)?;
                let description = format!("invoice {}", invoice.invoice_number);
                (customer_id, Purpose::Invoice(invoice_id), invoice.amount, invoice.currency, description)
            }
            (Some(_), Some(_)) => return Err(AppError::invalid("give either order_id or invoice_id, not both")),
            (None, None) => return Err(AppError::invalid_field("order_id", "order_id or invoice_id is required")),
        };
        if let Some(scope) = customer_scope
            && scope != customer_id
        {
            return Err(AppError::not_found("not found"));
        }
        let amount = Money::parse_field("amount", &amount)?.as_decimal();
        let started = self
            .payments
            .start(
                caller,
                NewPayment {
                    customer_id,
                    purpose,
                    amount,
                    currency,
                    gateway: gateway.to_string(),
                    description,
                    return_url: request.return_url.clone(),
                },
            )
            .await?;
        Ok(CreatePaymentResponse {
            payment: Some(started.payment.to_record()),
            payment_url: started.payment_url,
            qr_code: started.qr_code,
            instructions: started.instructions,
        })
    }

    async fn list(&self, caller: &Caller, request: ListPaymentsRequest) -> AppResult<ListPaymentsResponse> {
        let customer = match scope(caller)? {
            Some(own) => Some(own),
            None => parse_optional_id("customer_id", request.customer_id.as_deref().filter(|id| !id.is_empty()))?,
        };
        let (page, page_size) = paging(request.pagination.as_ref());
        let order_id = parse_optional_id("order_id", request.order_id.as_deref().filter(|id| !id.is_empty()))?;
        let invoice_id = parse_optional_id("invoice_id", request.invoice_id.as_deref().filter(|id| !id.is_empty()))?;
        let gateway = request.gateway_interface_id.as_deref().map(str::trim).filter(|id| !id.is_empty());
        let status = request.status.as_deref().map(str::trim).filter(|status| !status.is_empty());
        if let Some(status) = status
            && !STATUSES.contains(&status)
        {
            return Err(AppError::invalid_field("status", "must be pending, success, failed or refunded"));
        }
        let filters = |builder: &mut QueryBuilder<Postgres>| {
            if let Some(customer) = customer {
                builder.push(" and customer_id = ").push_bind(customer);
            }
            if let Some(order_id) = order_id {
                builder.push(" and order_id = ").push_bind(order_id);
            }
            if let Some(invoice_id) = invoice_id {
                builder.push(" and invoice_id = ").push_bind(invoice_id);
            }
            if let Some(gateway) = gateway {
                builder.push(" and gateway_interface_id = ").push_bind(gateway.to_string());
            }
            if let Some(status) = status {
                builder.push(" and status = ").push_bind(status.to_string());
            }
        };
        let (rows, meta): (Vec<PaymentRow>, _) =
            fetch_page(&self.payments.pool, COLUMNS, "payments", filters, "created_at desc, id desc", page, page_size)
                .await?;
        Ok(ListPaymentsResponse { payments: rows.iter().map(PaymentRow::to_record).collect(), meta: Some(meta) })
    }

    async fn query_status(&self, caller: &Caller, request: QueryPaymentStatusRequest) -> AppResult<PaymentRecord> {
        caller.principal.require_admin()?;
        let id = parse_id("payment_id", &request.payment_id)?;
        let payment = store::find(&self.payments.pool, id).await?;
        if payment.gateway_interface_id == store::BALANCE_GATEWAY || payment.status != PENDING {
            // Balance payments have no gateway; settled payments do not
            // change at the gateway any more.
            return Ok(payment.to_record());
        }
        let update = self
            .payments
            .clients
            .query_payment(
                caller,
                QueryPaymentCall {
                    interface_id: payment.gateway_interface_id.clone(),
                    payment_id: payment.id.to_string(),
                    gateway_payment_id: payment.gateway_payment_id.clone(),
                },
            )
            .await?;
        let (payment, _) = self.payments.apply_update(caller, &payment.gateway_interface_id, &update).await?;
        Ok(payment.to_record())
    }

    async fn callback(
        &self,
        caller: &Caller,
        request: PaymentCallbackRequest,
    ) -> Result<PaymentCallbackResponse, Status> {
        let gateway = parse_id("gateway_interface_id", &request.gateway_interface_id)?;
        let method =
            if request.http_method.trim().is_empty() { "POST".to_string() } else { request.http_method.clone() };
        let content_type = if request.content_type.trim().is_empty() && !request.payload.is_empty() {
            "application/x-www-form-urlencoded".to_string()
        } else {
            request.content_type.clone()
        };
        let update = self
            .payments
            .clients
            .handle_callback(
                caller,
                HandleCallbackCall {
                    interface_id: gateway.to_string(),
                    query: request.query.clone(),
                    body: request.payload.clone(),
                    http_method: method,
                    content_type,
                    headers: request.headers.clone(),
                },
            )
            .await
            .map_err(|error| match error {
                // The plugin refused the notification (bad signature, wrong
                // merchant, forged amount): the caller's input is bad.
                AppError::FailedPrecondition(message) => AppError::invalid(format!("callback rejected: {message}")),
                other => other,
            })?;
        let (payment, applied) = self.payments.apply_update(caller, &gateway.to_string(), &update).await?;
        if applied == Applied::Duplicate {
            let mut status: Status = AppError::AlreadyExists("this notification was already processed".into()).into();
            if let Ok(value) = MetadataValue::try_from(update.reply.as_str()) {
                status.metadata_mut().insert(CALLBACK_REPLY_HEADER, value);
            }
            return Err(status);
        }
        Ok(PaymentCallbackResponse { payment: Some(payment.to_record()), reply: update.reply })
    }

    async fn refund(&self, caller: &Caller, request: RefundPaymentRequest) -> AppResult<PaymentRecord> {
        caller.principal.require_admin_only()?;
        let id = parse_id("payment_id", &request.payment_id)?;
        let amount = match request.amount.trim() {
            "" => None,
            text => Some(Money::parse_field("amount", text)?.as_decimal()),
        };
        let reason = request.reason.trim();
        if reason.chars().count() > 500 {
            return Err(AppError::invalid_field("reason", "at most 500 characters"));
        }
        let payment = self
            .payments
            .refund(
                caller,
                RefundRequest {
                    payment_id: id,
                    amount,
                    method: if request.to_balance { RefundMethod::Balance } else { RefundMethod::Original },
                    reason: reason.to_string(),
                    refund_id: None,
                },
            )
            .await?;
        let mut connection = self.payments.pool.acquire().await?;
        rustbill_shared::oplog::record(
            &mut connection,
            caller,
            "payment.refund",
            "payment",
            &payment.id.to_string(),
            serde_json::json!({
                "amount": amount.map(|amount| Money::from_decimal(amount).to_string()),
                "to_balance": request.to_balance,
            }),
        )
        .await?;
        Ok(payment.to_record())
    }
}

#[tonic::async_trait]
impl PaymentService for PaymentApi {
    async fn create_payment(
        &self,
        request: Request<CreatePaymentRequest>,
    ) -> Result<Response<CreatePaymentResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.create(&caller, request.into_inner()).await?))
    }

    async fn list_payments(
        &self,
        request: Request<ListPaymentsRequest>,
    ) -> Result<Response<ListPaymentsResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.list(&caller, request.into_inner()).await?))
    }

    async fn get_payment(&self, request: Request<GetPaymentRequest>) -> Result<Response<GetPaymentResponse>, Status> {
        let caller = principal::caller(&request)?;
        let id = parse_id("id", &request.get_ref().id)?;
        let payment = visible(&self.payments, &caller, id).await?;
        Ok(Response::new(GetPaymentResponse { payment: Some(payment.to_record()) }))
    }

    async fn query_payment_status(
        &self,
        request: Request<QueryPaymentStatusRequest>,
    ) -> Result<Response<QueryPaymentStatusResponse>, Status> {
        let caller = principal::caller(&request)?;
        let payment = self.query_status(&caller, request.into_inner()).await?;
        Ok(Response::new(QueryPaymentStatusResponse { payment: Some(payment) }))
    }

    async fn handle_callback(
        &self,
        request: Request<PaymentCallbackRequest>,
    ) -> Result<Response<PaymentCallbackResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.callback(&caller, request.into_inner()).await?))
    }

    async fn refund_payment(
        &self,
        request: Request<RefundPaymentRequest>,
    ) -> Result<Response<RefundPaymentResponse>, Status> {
        let caller = principal::caller(&request)?;
        let payment = self.refund(&caller, request.into_inner()).await?;
        Ok(Response::new(RefundPaymentResponse { payment: Some(payment) }))
    }
}
