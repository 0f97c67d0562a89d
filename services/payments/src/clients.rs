//! The services payments calls: plugins (gateway scripts), identity
//! (customer facts) and orders (what an order costs).

use rust_decimal::Decimal;
use rustbill_proto::internal::customers::GetCustomerRequest;
use rustbill_proto::internal::customers::customer_directory_service_client::CustomerDirectoryServiceClient;
use rustbill_proto::internal::orders::orders_internal_service_client::OrdersInternalServiceClient;
use rustbill_proto::internal::orders::{
    GetPayableInvoiceRequest, GetPayableOrderRequest, PayableInvoice, PayableOrder,
};
use rustbill_proto::internal::plugins::plugin_runtime_service_client::PluginRuntimeServiceClient;
use rustbill_proto::internal::plugins::{
    CreatePaymentCall, HandleCallbackCall, PaymentCreated, PaymentUpdate, QueryPaymentCall, RefundCall,
};
use rustbill_shared::clients::InternalChannel;
use rustbill_shared::principal::{Caller, InternalSigner};
use rustbill_shared::{AppError, AppResult, Config, Money};
use uuid::Uuid;

const SOURCE: &str = "payments";

#[derive(Debug, Clone)]
pub struct Clients {
    plugins: InternalChannel,
    identity: InternalChannel,
    orders: InternalChannel,
}

/// What payments needs to know of a customer.
#[derive(Debug, Clone)]
pub struct CustomerFacts {
    pub email: String,
    pub credit_limit: Decimal,
    pub is_active: bool,
}

impl Clients {
    pub fn new(config: &Config) -> Self {
        let signer = InternalSigner::new(&config.internal_secret(), config.internal.token_ttl_secs);
        Self {
            plugins: InternalChannel::new(SOURCE, "plugins", &config.services.plugins.url, signer.clone()),
            identity: InternalChannel::new(SOURCE, "identity", &config.services.identity.url, signer.clone()),
            orders: InternalChannel::new(SOURCE, "orders", &config.services.orders.url, signer),
        }
    }

    fn plugins(&self) -> AppResult<PluginRuntimeServiceClient<tonic::transport::Channel>> {
        Ok(PluginRuntimeServiceClient::new(self.plugins.channel()?))
    }

    pub async fn customer(&self, caller: &Caller, customer_id: Uuid) -> AppResult<CustomerFacts> {
        let mut client = CustomerDirectoryServiceClient::new(self.identity.channel()?);
        let facts = client
            .get_customer(self.identity.request(caller, GetCustomerRequest { customer_id: customer_id.to_string() }))
            .await
            .map_err(|status| self.identity.forwarded(status))?
            .into_inner();
        let credit_limit = Money::parse(&facts.credit_limit)
            .map_err(|error| AppError::Internal(anyhow::anyhow!("identity sent a bad credit limit: {error}")))?
            .as_decimal();
        Ok(CustomerFacts { email: facts.email, credit_limit, is_active: facts.is_active })
    }

    pub async fn payable_order(&self, caller: &Caller, order_id: Uuid) -> AppResult<PayableOrder> {
        let mut client = OrdersInternalServiceClient::new(self.orders.channel()?);
        Ok(client
            .get_payable_order(self.orders.request(caller, GetPayableOrderRequest { order_id: order_id.to_string() }))
            .await
            .map_err(|status| self.orders.forwarded(status))?
            .into_inner())
    }

    pub async fn payable_invoice(&self, caller: &Caller, invoice_id: Uuid) -> AppResult<PayableInvoice> {
        let mut client = OrdersInternalServiceClient::new(self.orders.channel()?);
        Ok(client
            .get_payable_invoice(
                self.orders.request(caller, GetPayableInvoiceRequest { invoice_id: invoice_id.to_string() }),
            )
            .await
            .map_err(|status| self.orders.forwarded(status))?
            .into_inner())
    }

    /// A gateway failure is FailedPrecondition with the plugin's message
    /// (no secrets: scripts report what went wrong, never their config);
    /// an unknown or disabled interface is NotFound / FailedPrecondition.
    pub async fn create_payment(&self, caller: &Caller, call: CreatePaymentCall) -> AppResult<PaymentCreated> {
        Ok(self
            .plugins()?
            .create_payment(self.plugins.request(caller, call))
            .await
            .map_err(|status| self.plugins.forwarded(status))?
            .into_inner())
    }

    pub async fn query_payment(&self, caller: &Caller, call: QueryPaymentCall) -> AppResult<PaymentUpdate> {
        Ok(self
            .plugins()?
            .query_payment(self.plugins.request(caller, call))
            .await
            .map_err(|status| self.plugins.forwarded(status))?
            .into_inner())
    }

    pub async fn handle_callback(&self, caller: &Caller, call: HandleCallbackCall) -> AppResult<PaymentUpdate> {
        Ok(self
            .plugins()?
            .handle_callback(self.plugins.request(caller, call))
            .await
            .map_err(|status| self.plugins.forwarded(status))?
            .into_inner())
    }

    pub async fn refund(&self, caller: &Caller, call: RefundCall) -> AppResult<PaymentUpdate> {
        Ok(self
            .plugins()?
            .refund(self.plugins.request(caller, call))
            .await
            .map_err(|status| self.plugins.forwarded(status))?
            .into_inner())
    }
}
