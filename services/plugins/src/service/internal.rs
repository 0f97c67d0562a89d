//! `rustbill.internal.plugins.PluginRuntime`: typed plugin calls for the
//! other services. Service principals only.

use std::collections::HashMap;

use rustbill_proto::internal::plugins::plugin_runtime_service_server::PluginRuntimeService;
use rustbill_proto::internal::plugins::*;
use rustbill_shared::grpc::respond;
use rustbill_shared::principal::{self, Caller, Principal};
use rustbill_shared::{AppError, AppResult};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use tonic::{Request, Response, Status};

use super::State;
use super::integration::{required, spec_args};
use crate::engine::output::{
    ActionOutcome as ScriptActionOutcome, DetailSection as ScriptSection, EventFilter, InstanceAction as ScriptAction,
    InstanceCreated as ScriptInstance, InstanceState as ScriptState, PaymentCreated as ScriptPayment,
    PaymentState as ScriptPaymentState, PaymentUpdate as ScriptUpdate,
};
use crate::engine::{PluginType, parse_done, parse_provider_result, parse_spec_template};
use crate::runtime::Runtime;
use crate::store::{self, InterfaceRow};

const GATEWAY: &[PluginType] = &[PluginType::Gateway];
const NOTIFIER: &[PluginType] = &[PluginType::Notifier];
const PROVIDERS: &[PluginType] = &[PluginType::FirstPartyProvider, PluginType::UpstreamProvider];
const UPSTREAM: &[PluginType] = &[PluginType::UpstreamProvider];

#[derive(Debug, Clone)]
pub struct Internal {
    state: State,
}

impl Internal {
    pub fn new(state: State) -> Self {
        Self { state }
    }

    fn runtime(&self) -> &Runtime {
        &self.state.runtime
    }
}

fn require_service(caller: &Caller) -> AppResult<()> {
    match &caller.principal {
        Principal::Service { .. } => Ok(()),
        _ => Err(AppError::permission_denied("internal RPC: services only")),
    }
}

/// Decimal amount with 2 places; script output is checked, not trusted.
fn amount(field: &str, text: &str) -> AppResult<String> {
    let value: rust_decimal::Decimal = text
        .trim()
        .parse()
        .map_err(|_| AppError::FailedPrecondition(format!("plugin returned {field} {text:?}, not a decimal amount")))?;
    if value.is_sign_negative() {
        return Err(AppError::FailedPrecondition(format!("plugin returned a negative {field}")));
    }
    Ok(format!("{:.2}", value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)))
}

fn text(value: &Json, key: &str) -> String {
    match value.get(key) {
        Some(Json::String(text)) => text.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

pub fn price_quote(value: &Json) -> AppResult<PriceQuote> {
    Ok(PriceQuote {
        amount: amount("amount", &text(value, "amount"))?,
        currency: non_empty(text(value, "currency"), "CNY"),
        billing_cycle: non_empty(text(value, "billing_cycle"), "monthly"),
    })
}

fn non_empty(value: String, default: &str) -> String {
    if value.is_empty() { default.to_string() } else { value }
}

fn payment_update(update: ScriptUpdate) -> PaymentUpdate {
    PaymentUpdate {
        payment_id: update.payment_id,
        gateway_tx_id: update.gateway_tx_id,
        status: match update.status {
            ScriptPaymentState::Success => PaymentState::Success,
            ScriptPaymentState::Pending => PaymentState::Pending,
            ScriptPaymentState::Failed => PaymentState::Failed,
            ScriptPaymentState::Refunded => PaymentState::Refunded,
        } as i32,
        paid_at: update.paid_at,
        raw_response: update.raw_response,
        reply: update.reply.unwrap_or_else(|| "success".to_string()),
        refund_id: update.refund_id,
    }
}

fn state_of(state: ScriptState) -> InstanceState {
    match state {
        ScriptState::Running => InstanceState::Running,
        ScriptState::Stopped => InstanceState::Stopped,
        ScriptState::Terminated => InstanceState::Terminated,
        ScriptState::Pending => InstanceState::Pending,
        ScriptState::Error => InstanceState::Error,
    }
}

fn parse_state(function: &str, text: &str) -> AppResult<ScriptState> {
    serde_json::from_value(Json::String(text.trim().to_ascii_lowercase())).map_err(|_| {
        AppError::FailedPrecondition(format!(
            "plugin `{function}` returned status {text:?}, expected running/stopped/terminated/pending/error"
        ))
    })
}

/// `get_instance_status`: a status string, or `{status, ip_address}`.
pub async fn instance_status(
    runtime: &Runtime,
    row: &InterfaceRow,
    instance_id: &str,
) -> AppResult<(ScriptState, String)> {
    let value = runtime
        .call_typed(row, "get_instance_status", json!({ "instance_id": instance_id }), parse_provider_result)
        .await?;
    match &value {
        Json::String(status) => Ok((parse_state("get_instance_status", status)?, String::new())),
        Json::Object(_) => {
            Ok((parse_state("get_instance_status", &text(&value, "status"))?, text(&value, "ip_address")))
        }
        other => Err(AppError::FailedPrecondition(format!("get_instance_status returned {other}, expected a status"))),
    }
}

#[derive(Debug, Deserialize)]
struct ScriptUpstreamInstance {
    #[serde(alias = "id")]
    instance_id: Json,
    #[serde(default)]
    status: Json,
    #[serde(default)]
    ip_address: Json,
    #[serde(default)]
    created_at: Json,
}

fn plain(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn upstream_instance(value: Json) -> AppResult<UpstreamInstance> {
    let item: ScriptUpstreamInstance = serde_json::from_value(value)
        .map_err(|error| AppError::FailedPrecondition(format!("plugin returned a malformed instance: {error}")))?;
    let instance_id = plain(&item.instance_id);
    if instance_id.is_empty() {
        return Err(AppError::FailedPrecondition("plugin returned an instance without instance_id".into()));
    }
    Ok(UpstreamInstance {
        instance_id,
        status: plain(&item.status),
        ip_address: plain(&item.ip_address),
        created_at: plain(&item.created_at),
    })
}

/// A list result: an array, or an object holding it under `key`.
fn list(value: Json, key: &str, function: &str) -> AppResult<Vec<Json>> {
    match value {
        Json::Array(items) => Ok(items),
        Json::Object(mut object) => match object.remove(key) {
            Some(Json::Array(items)) => Ok(items),
            _ => Err(AppError::FailedPrecondition(format!("plugin `{function}` returned an object without `{key}`"))),
        },
        other => Err(AppError::FailedPrecondition(format!("plugin `{function}` returned {other}, expected a list"))),
    }
}

pub async fn upstream_instances(runtime: &Runtime, row: &InterfaceRow) -> AppResult<Vec<UpstreamInstance>> {
    let value = runtime.call_typed(row, "sync_upstream_instances", json!({}), parse_provider_result).await?;
    list(value, "instances", "sync_upstream_instances")?.into_iter().map(upstream_instance).collect()
}

pub async fn import_upstream(runtime: &Runtime, row: &InterfaceRow, instance_id: &str) -> AppResult<UpstreamInstance> {
    let value = runtime
        .call_typed(row, "import_upstream_instance", json!({ "instance_id": instance_id }), parse_provider_result)
        .await?;
    upstream_instance(value)
}

pub async fn upstream_balance(runtime: &Runtime, row: &InterfaceRow) -> AppResult<UpstreamBalanceResult> {
    let value = runtime.call_typed(row, "get_upstream_balance", json!({}), parse_provider_result).await?;
    Ok(UpstreamBalanceResult {
        balance: amount("balance", &text(&value, "balance"))?,
        currency: non_empty(text(&value, "currency"), "CNY"),
    })
}

fn spec(spec: Option<&ServerSpec>) -> Json {
    let empty = ServerSpec::default();
    let spec = spec.unwrap_or(&empty);
    spec_args(
        spec.cpu_cores,
        spec.memory_gb,
        spec.disk_gb,
        spec.bandwidth_mbps,
        &spec.region,
        &spec.os,
        &spec.extra_specs,
    )
}

fn synced_product(value: Json) -> AppResult<SyncedProduct> {
    let strings = |value: Option<&Json>| -> HashMap<String, String> {
        value
            .and_then(Json::as_object)
            .map(|object| object.iter().map(|(k, v)| (k.clone(), plain(v))).collect())
            .unwrap_or_default()
    };
    let id = text(&value, "id");
    let name = text(&value, "name");
    if id.is_empty() || name.is_empty() {
        return Err(AppError::FailedPrecondition(
            "plugin `sync_products` returned a product without id or name".into(),
        ));
    }
    let mut prices = HashMap::new();
    for (cycle, price) in strings(value.get("prices")) {
        prices.insert(cycle, amount("price", &price)?);
    }
    Ok(SyncedProduct {
        id,
        name,
        description: text(&value, "description"),
        specs: strings(value.get("specs")),
        prices,
        currency: non_empty(text(&value, "currency"), "CNY"),
    })
}

impl Internal {
    async fn create_payment(&self, request: CreatePaymentCall) -> AppResult<PaymentCreated> {
        let row = self.runtime().usable("interface_id", &request.interface_id, GATEWAY).await?;
        let args = json!({
            "payment_id": required("payment_id", &request.payment_id)?,
            "description": request.description,
            "amount": amount("amount", &request.amount).map_err(|_| AppError::invalid_field("amount", "must be a decimal amount"))?,
            "currency": non_empty(request.currency, "CNY"),
            "notify_url": request.notify_url,
            "return_url": request.return_url,
            "client_ip": request.client_ip,
            "method": request.method,
        });
        let created: ScriptPayment =
            self.runtime().call_typed(&row, "create_payment", args, ScriptPayment::from_return).await?;
        if created.gateway_payment_id.trim().is_empty() {
            return Err(AppError::FailedPrecondition("plugin `create_payment` returned no gateway_payment_id".into()));
        }
        Ok(PaymentCreated {
            gateway_payment_id: created.gateway_payment_id,
            payment_url: created.payment_url,
            qr_code: created.qr_code,
            instructions: created.instructions,
        })
    }

    async fn payment_call(&self, interface_id: &str, function: &str, args: Json) -> AppResult<PaymentUpdate> {
        let row = self.runtime().usable("interface_id", interface_id, GATEWAY).await?;
        let update = self.runtime().call_typed(&row, function, args, ScriptUpdate::from_return).await?;
        Ok(payment_update(update))
    }

    async fn send(&self, request: SendNotificationCall) -> AppResult<SendNotificationResult> {
        let row = self.runtime().usable("interface_id", &request.interface_id, NOTIFIER).await?;
        let event_type = required("event_type", &request.event_type)?;
        let filter = self.runtime().call_typed(&row, "supported_events", json!({}), EventFilter::from_return).await?;
        if !filter.accepts(&event_type) {
            return Ok(SendNotificationResult { sent: false });
        }
        let data: Json = if request.data_json.trim().is_empty() {
            json!({})
        } else {
            serde_json::from_str(&request.data_json).map_err(|_| AppError::invalid_field("data_json", "is not JSON"))?
        };
        let args = json!({
            "event_id": request.event_id,
            "event_type": event_type,
            "title": request.title,
            "body": request.body,
            "recipient": request.recipient,
            "data": data,
            "delivery_id": request.delivery_id,
            "attempt": request.attempt,
        });
        let plugin_type = row.plugin_type()?;
        self.runtime().call_typed(&row, "send", args, |raw| parse_done(plugin_type, raw)).await?;
        Ok(SendNotificationResult { sent: true })
    }

    async fn supported_events(&self, request: InterfaceCall) -> AppResult<SupportedEventsResult> {
        let row = self.runtime().usable("interface_id", &request.interface_id, NOTIFIER).await?;
        Ok(match self.runtime().call_typed(&row, "supported_events", json!({}), EventFilter::from_return).await? {
            EventFilter::All => SupportedEventsResult { events: Vec::new(), all: true },
            EventFilter::Only(events) => SupportedEventsResult { events, all: false },
        })
    }

    async fn provider(&self, interface_id: &str) -> AppResult<InterfaceRow> {
        self.runtime().usable("interface_id", interface_id, PROVIDERS).await
    }

    async fn view_args(&self, request: &InstanceViewCall) -> AppResult<Json> {
        let mut args = spec(request.server_spec.as_ref());
        args["instance_id"] = json!(required("instance_id", &request.instance_id)?);
        args["status"] = json!(request.status);
        args["ip_address"] = json!(request.ip_address);
        Ok(args)
    }

    async fn list_enabled(&self, request: ListEnabledCall) -> AppResult<ListEnabledResult> {
        let filter = match request.plugin_type.trim() {
            "" => None,
            text => Some(
                text.parse::<PluginType>()
                    .map_err(|_| AppError::invalid_field("plugin_type", "unknown plugin type"))?
                    .as_str()
                    .to_string(),
            ),
        };
        let rows = store::interfaces(self.state.pool(), filter.as_deref(), !request.include_disabled).await?;
        Ok(ListEnabledResult {
            interfaces: rows
                .into_iter()
                .map(|row| EnabledInterface {
                    interface_id: row.id.to_string(),
                    plugin_type: row.plugin_type,
                    plugin_id: row.plugin_id,
                    display_name: row.display_name,
                    enabled: row.enabled,
                    is_healthy: row.is_healthy,
                })
                .collect(),
        })
    }
}

/// Runs `body` for a service caller only.
macro_rules! serve {
    ($request:ident, |$inner:ident| $body:expr) => {{
        let caller = principal::caller(&$request)?;
        let $inner = $request.into_inner();
        respond(
            async {
                require_service(&caller)?;
                $body
            }
            .await,
        )
    }};
}

#[tonic::async_trait]
impl PluginRuntimeService for Internal {
    async fn create_payment(&self, request: Request<CreatePaymentCall>) -> Result<Response<PaymentCreated>, Status> {
        serve!(request, |call| self.create_payment(call).await)
    }

    async fn query_payment(&self, request: Request<QueryPaymentCall>) -> Result<Response<PaymentUpdate>, Status> {
        serve!(request, |call| {
            let args = json!({
                "payment_id": required("payment_id", &call.payment_id)?,
                "gateway_payment_id": call.gateway_payment_id,
            });
            self.payment_call(&call.interface_id, "query_payment", args).await
        })
    }

    async fn handle_callback(&self, request: Request<HandleCallbackCall>) -> Result<Response<PaymentUpdate>, Status> {
        serve!(request, |call| {
            let payload = if call.body.is_empty() { call.query.clone() } else { call.body.clone() };
            let args = json!({
                "payload": payload,
                "query": call.query,
                "body": call.body,
                "http_method": call.http_method,
                "content_type": call.content_type,
                "headers": call.headers,
            });
            self.payment_call(&call.interface_id, "handle_callback", args).await
        })
    }

    async fn refund(&self, request: Request<RefundCall>) -> Result<Response<PaymentUpdate>, Status> {
        serve!(request, |call| {
            let args = json!({
                "payment_id": required("payment_id", &call.payment_id)?,
                "gateway_payment_id": call.gateway_payment_id,
                "refund_id": required("refund_id", &call.refund_id)?,
                "amount": amount("amount", &call.amount).map_err(|_| AppError::invalid_field("amount", "must be a decimal amount"))?,
                "reason": call.reason,
            });
            self.payment_call(&call.interface_id, "refund", args).await
        })
    }

    async fn send_notification(
        &self,
        request: Request<SendNotificationCall>,
    ) -> Result<Response<SendNotificationResult>, Status> {
        serve!(request, |call| self.send(call).await)
    }

    async fn supported_events(
        &self,
        request: Request<InterfaceCall>,
    ) -> Result<Response<SupportedEventsResult>, Status> {
        serve!(request, |call| self.supported_events(call).await)
    }

    async fn templates(&self, request: Request<InterfaceCall>) -> Result<Response<TemplatesResult>, Status> {
        serve!(request, |call| {
            let row = self.runtime().usable("interface_id", &call.interface_id, NOTIFIER).await?;
            let value = self
                .runtime()
                .call_typed(&row, "templates", json!({}), |raw| match raw {
                    crate::engine::RawReturn::Value(Json::Object(map)) => Ok(Json::Object(map)),
                    crate::engine::RawReturn::Value(Json::String(text)) => match serde_json::from_str::<Json>(&text) {
                        Ok(Json::Object(map)) => Ok(Json::Object(map)),
                        _ => Err(crate::engine::output::PluginFailure::bad_return("templates() must return an object")),
                    },
                    _ => Err(crate::engine::output::PluginFailure::bad_return("templates() must return an object")),
                })
                .await?;
            Ok(TemplatesResult { templates_json: value.to_string() })
        })
    }

    async fn spec_template(&self, request: Request<InterfaceCall>) -> Result<Response<SpecTemplateResult>, Status> {
        serve!(request, |call| {
            let row = self.provider(&call.interface_id).await?;
            let value = self.runtime().call_typed(&row, "spec_template", json!({}), parse_spec_template).await?;
            Ok(SpecTemplateResult { template_json: value.to_string() })
        })
    }

    async fn sync_products(&self, request: Request<InterfaceCall>) -> Result<Response<SyncProductsResult>, Status> {
        serve!(request, |call| {
            let row = self.provider(&call.interface_id).await?;
            let value = self.runtime().call_typed(&row, "sync_products", json!({}), parse_provider_result).await?;
            let products =
                list(value, "products", "sync_products")?.into_iter().map(synced_product).collect::<AppResult<_>>()?;
            Ok(SyncProductsResult { products })
        })
    }

    async fn query_price(&self, request: Request<QueryPriceCall>) -> Result<Response<PriceQuote>, Status> {
        serve!(request, |call| {
            let row = self.provider(&call.interface_id).await?;
            let mut args = spec(call.server_spec.as_ref());
            args["billing_cycle"] = json!(non_empty(call.billing_cycle, "monthly"));
            let value = self.runtime().call_typed(&row, "query_price", args, parse_provider_result).await?;
            price_quote(&value)
        })
    }

    async fn create_instance(&self, request: Request<CreateInstanceCall>) -> Result<Response<InstanceCreated>, Status> {
        serve!(request, |call| {
            let row = self.provider(&call.interface_id).await?;
            let mut args = spec(call.server_spec.as_ref());
            args["order_id"] = json!(call.order_id);
            args["instance_id"] = json!(required("instance_id", &call.instance_id)?);
            args["hostname"] = json!(call.hostname);
            args["password"] = json!(call.password);
            args["ssh_key"] = json!(call.ssh_key);
            args["product_id"] = json!(call.product_id);
            let created = self.runtime().call_typed(&row, "create_instance", args, ScriptInstance::from_return).await?;
            if created.instance_id.trim().is_empty() {
                return Err(AppError::FailedPrecondition("plugin `create_instance` returned no instance_id".into()));
            }
            Ok(InstanceCreated {
                instance_id: created.instance_id,
                status: created.status.to_ascii_lowercase(),
                ip_address: created.ip_address.unwrap_or_default(),
                created_at: created.created_at.unwrap_or_default(),
            })
        })
    }

    async fn instance_status(&self, request: Request<InstanceCall>) -> Result<Response<InstanceStatusResult>, Status> {
        serve!(request, |call| {
            let row = self.provider(&call.interface_id).await?;
            let instance_id = required("instance_id", &call.instance_id)?;
            let (state, ip_address) = instance_status(self.runtime(), &row, &instance_id).await?;
            Ok(InstanceStatusResult { state: state_of(state) as i32, status: state.as_str().to_string(), ip_address })
        })
    }

    async fn terminate_instance(&self, request: Request<InstanceCall>) -> Result<Response<TerminateResult>, Status> {
        serve!(request, |call| {
            let row = self.provider(&call.interface_id).await?;
            let args = json!({ "instance_id": required("instance_id", &call.instance_id)? });
            let value = self.runtime().call_typed(&row, "terminate_instance", args, parse_provider_result).await?;
            Ok(TerminateResult { message: plain(&value) })
        })
    }

    async fn execute_action(&self, request: Request<ExecuteActionCall>) -> Result<Response<ActionOutcome>, Status> {
        serve!(request, |call| {
            let row = self.provider(&call.interface_id).await?;
            let params: Json = if call.params_json.trim().is_empty() {
                json!({})
            } else {
                serde_json::from_str(&call.params_json)
                    .map_err(|_| AppError::invalid_field("params_json", "is not JSON"))?
            };
            let args = json!({
                "instance_id": required("instance_id", &call.instance_id)?,
                "action": required("action", &call.action)?,
                "params": params,
            });
            let outcome =
                self.runtime().call_typed(&row, "execute_action", args, ScriptActionOutcome::from_return).await?;
            Ok(ActionOutcome {
                success: outcome.success,
                message: outcome.message,
                data_json: outcome.data.to_string(),
            })
        })
    }

    async fn instance_actions(
        &self,
        request: Request<InstanceViewCall>,
    ) -> Result<Response<InstanceActionsResult>, Status> {
        serve!(request, |call| {
            let row = self.provider(&call.interface_id).await?;
            let args = self.view_args(&call).await?;
            let actions =
                self.runtime().call_typed(&row, "instance_actions", args, ScriptAction::list_from_return).await?;
            Ok(InstanceActionsResult {
                actions: actions
                    .into_iter()
                    .map(|action| InstanceAction {
                        id: action.id,
                        label: action.label,
                        style: format!("{:?}", action.style),
                        confirmation: action.confirmation,
                        enabled: action.enabled,
                    })
                    .collect(),
            })
        })
    }

    async fn instance_detail_sections(
        &self,
        request: Request<InstanceViewCall>,
    ) -> Result<Response<DetailSectionsResult>, Status> {
        serve!(request, |call| {
            let row = self.provider(&call.interface_id).await?;
            let args = self.view_args(&call).await?;
            let sections = self
                .runtime()
                .call_typed(&row, "instance_detail_sections", args, ScriptSection::list_from_return)
                .await?;
            Ok(DetailSectionsResult {
                sections: sections
                    .into_iter()
                    .map(|section| DetailSection {
                        kind: section.kind,
                        title: section.title,
                        order: section.order,
                        content_html: section.content_html,
                        iframe_url: section.iframe_url,
                        data_json: (!section.data_json.is_null()).then(|| section.data_json.to_string()),
                    })
                    .collect(),
            })
        })
    }

    async fn sync_upstream_instances(
        &self,
        request: Request<InterfaceCall>,
    ) -> Result<Response<UpstreamInstancesResult>, Status> {
        serve!(request, |call| {
            let row = self.runtime().usable("interface_id", &call.interface_id, UPSTREAM).await?;
            Ok(UpstreamInstancesResult { instances: upstream_instances(self.runtime(), &row).await? })
        })
    }

    async fn import_upstream_instance(
        &self,
        request: Request<InstanceCall>,
    ) -> Result<Response<UpstreamInstance>, Status> {
        serve!(request, |call| {
            let row = self.runtime().usable("interface_id", &call.interface_id, UPSTREAM).await?;
            let instance_id = required("instance_id", &call.instance_id)?;
            import_upstream(self.runtime(), &row, &instance_id).await
        })
    }

    async fn upstream_balance(
        &self,
        request: Request<InterfaceCall>,
    ) -> Result<Response<UpstreamBalanceResult>, Status> {
        serve!(request, |call| {
            let row = self.runtime().usable("interface_id", &call.interface_id, UPSTREAM).await?;
            upstream_balance(self.runtime(), &row).await
        })
    }

    async fn list_enabled(&self, request: Request<ListEnabledCall>) -> Result<Response<ListEnabledResult>, Status> {
        serve!(request, |call| self.list_enabled(call).await)
    }
}
