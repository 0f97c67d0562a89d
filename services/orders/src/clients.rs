//! The services orders calls: catalog (products), plugins (provider
//! scripts), identity (customer facts) and payments (starting payments).

use rustbill_proto::internal::customers::customer_directory_service_client::CustomerDirectoryServiceClient;
use rustbill_proto::internal::customers::{CustomerFacts, GetCustomerRequest};
use rustbill_proto::internal::payments::payments_internal_service_client::PaymentsInternalServiceClient;
use rustbill_proto::internal::payments::{StartOrderPaymentRequest, StartedPayment};
use rustbill_proto::internal::plugins::plugin_runtime_service_client::PluginRuntimeServiceClient;
use rustbill_proto::internal::plugins::{
    ActionOutcome, CreateInstanceCall, DetailSection, DetailSectionsResult, ExecuteActionCall, InstanceAction,
    InstanceActionsResult, InstanceCall, InstanceCreated, InstanceStatusResult, InstanceViewCall, InterfaceCall,
    PriceQuote, QueryPriceCall, SpecTemplateResult, TerminateResult,
};
use rustbill_proto::product::product_service_client::ProductServiceClient;
use rustbill_proto::product::{GetProductRequest, ProductInfo};
use rustbill_shared::clients::InternalChannel;
use rustbill_shared::principal::{Caller, InternalSigner};
use rustbill_shared::{AppResult, Config};
use uuid::Uuid;

const SOURCE: &str = "orders";

#[derive(Debug, Clone)]
pub struct Clients {
    catalog: InternalChannel,
    plugins: InternalChannel,
    identity: InternalChannel,
    payments: InternalChannel,
}

macro_rules! call {
    ($channel:expr, $client:ident, $method:ident, $caller:expr, $message:expr) => {{
        let channel = &$channel;
        let mut client = $client::new(channel.channel()?);
        client
            .$method(channel.request($caller, $message))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| channel.forwarded(status))
    }};
}

impl Clients {
    pub fn new(config: &Config) -> Self {
        let signer = InternalSigner::new(&config.internal_secret(), config.internal.token_ttl_secs);
        Self {
            catalog: InternalChannel::new(SOURCE, "catalog", &config.services.catalog.url, signer.clone()),
            plugins: InternalChannel::new(SOURCE, "plugins", &config.services.plugins.url, signer.clone()),
            identity: InternalChannel::new(SOURCE, "identity", &config.services.identity.url, signer.clone()),
            payments: InternalChannel::new(SOURCE, "payments", &config.services.payments.url, signer),
        }
    }

    pub async fn product(&self, caller: &Caller, id: Uuid) -> AppResult<ProductInfo> {
        let response: rustbill_proto::product::GetProductResponse =
            call!(self.catalog, ProductServiceClient, get_product, caller, GetProductRequest { id: id.to_string() })?;
        response.product.ok_or_else(|| rustbill_shared::AppError::not_found("product_id: no such product"))
    }

    pub async fn customer(&self, caller: &Caller, id: Uuid) -> AppResult<CustomerFacts> {
        call!(
            self.identity,
            CustomerDirectoryServiceClient,
            get_customer,
            caller,
            GetCustomerRequest { customer_id: id.to_string() }
        )
    }

    pub async fn start_payment(&self, caller: &Caller, request: StartOrderPaymentRequest) -> AppResult<StartedPayment> {
        call!(self.payments, PaymentsInternalServiceClient, start_order_payment, caller, request)
    }

    pub async fn spec_template(&self, caller: &Caller, interface_id: Uuid) -> AppResult<String> {
        let call = InterfaceCall { interface_id: interface_id.to_string() };
        let result: SpecTemplateResult = call!(self.plugins, PluginRuntimeServiceClient, spec_template, caller, call)?;
        Ok(result.template_json)
    }

    pub async fn query_price(&self, caller: &Caller, call: QueryPriceCall) -> AppResult<PriceQuote> {
        call!(self.plugins, PluginRuntimeServiceClient, query_price, caller, call)
    }

    pub async fn create_instance(&self, caller: &Caller, call: CreateInstanceCall) -> AppResult<InstanceCreated> {
        call!(self.plugins, PluginRuntimeServiceClient, create_instance, caller, call)
    }

    pub async fn instance_status(&self, caller: &Caller, call: InstanceCall) -> AppResult<InstanceStatusResult> {
        call!(self.plugins, PluginRuntimeServiceClient, instance_status, caller, call)
    }

    pub async fn terminate_instance(&self, caller: &Caller, call: InstanceCall) -> AppResult<String> {
        let result: TerminateResult =
            call!(self.plugins, PluginRuntimeServiceClient, terminate_instance, caller, call)?;
        Ok(result.message)
    }

    pub async fn execute_action(&self, caller: &Caller, call: ExecuteActionCall) -> AppResult<ActionOutcome> {
        call!(self.plugins, PluginRuntimeServiceClient, execute_action, caller, call)
    }

    pub async fn instance_actions(&self, caller: &Caller, call: InstanceViewCall) -> AppResult<Vec<InstanceAction>> {
        let result: InstanceActionsResult =
            call!(self.plugins, PluginRuntimeServiceClient, instance_actions, caller, call)?;
        Ok(result.actions)
    }

    pub async fn detail_sections(&self, caller: &Caller, call: InstanceViewCall) -> AppResult<Vec<DetailSection>> {
        let result: DetailSectionsResult =
            call!(self.plugins, PluginRuntimeServiceClient, instance_detail_sections, caller, call)?;
        Ok(result.sections)
    }
}
