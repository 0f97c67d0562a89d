//! `rustbill.internal.payments.PaymentsInternalService`: orders starts
//! payments through it.

use rustbill_proto::internal::payments::payments_internal_service_server::PaymentsInternalService;
use rustbill_proto::internal::payments::{StartOrderPaymentRequest, StartedPayment};
use rustbill_shared::ids::parse_id;
use rustbill_shared::principal::{self, Principal};
use rustbill_shared::{AppError, Money};
use tonic::{Request, Response, Status};

use crate::core::{NewPayment, Payments, Purpose};

#[derive(Debug, Clone)]
pub struct Internal {
    payments: Payments,
}

impl Internal {
    pub fn new(payments: Payments) -> Self {
        Self { payments }
    }
}

#[tonic::async_trait]
impl PaymentsInternalService for Internal {
    async fn start_order_payment(
        &self,
        request: Request<StartOrderPaymentRequest>,
    ) -> Result<Response<StartedPayment>, Status> {
        let caller = principal::caller(&request)?;
        if !matches!(caller.principal, Principal::Service { .. }) {
            return Err(AppError::permission_denied("internal RPC").into());
        }
        let request = request.into_inner();
        let purpose = match (request.order_id.trim(), request.invoice_id.trim()) {
            (order, "") => Purpose::Order(parse_id("order_id", order)?),
            ("", invoice) => Purpose::Invoice(parse_id("invoice_id", invoice)?),
            _ => return Err(AppError::invalid("give either order_id or invoice_id").into()),
        };
        let customer_id = parse_id("customer_id", &request.customer_id)?;
        let amount = Money::parse_field("amount", &request.amount)?.as_decimal();
        let gateway = request.gateway_interface_id.trim();
        if gateway.is_empty() {
            return Err(AppError::invalid_field("gateway_interface_id", "required").into());
        }
        let started = self
            .payments
            .start(
                &caller,
                NewPayment {
                    customer_id,
                    purpose,
                    amount,
                    currency: request.currency.clone(),
                    gateway: gateway.to_string(),
                    description: request.description.clone(),
                    return_url: request.return_url.clone(),
                },
            )
            .await?;
        Ok(Response::new(StartedPayment {
            payment_id: started.payment.id.to_string(),
            gateway_interface_id: started.payment.gateway_interface_id.clone(),
            status: started.payment.status.clone(),
            payment_url: started.payment_url,
            qr_code: started.qr_code,
            instructions: started.instructions,
        }))
    }
}
