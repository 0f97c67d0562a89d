//! `rustbill.integration.IntegrationService`: plugin definitions and
//! interfaces, health, admin pages and actions, provider operations.
//!
//! Permissions follow the spec, with three decisions (see the README):
//! ListProviders and ListGateways answer any logged-in caller (the customer
//! portal lists them; only enabled interfaces and no configuration are
//! shown); SyncProducts and CreateUpstreamInstance are admin-only (a
//! customer creating servers or products without an order would bypass
//! billing); mutations, CallPluginAction and RestartServer need the admin
//! role, reads accept operators too.

use rustbill_proto::common::{EmptyRequest, EmptyResponse};
use rustbill_proto::integration::integration_service_server::IntegrationService;
use rustbill_proto::integration::*;
use rustbill_shared::grpc::respond;
use rustbill_shared::ids::{format_time, parse_id};
use rustbill_shared::oplog;
use rustbill_shared::principal::{self, Caller};
use rustbill_shared::{AppError, AppResult};
use serde_json::{Value as Json, json};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::State;
use super::convert::{interface_info, plugin_def, spec_template};
use crate::engine::{InstanceCreated, InstanceState, PluginType, parse_provider_result, parse_spec_template};
use crate::schema;
use crate::store::{self, INTERFACE_COLUMNS, InterfaceRow, PLUGIN_COLUMNS, PluginRow};

const PROVIDERS: &[PluginType] = &[PluginType::FirstPartyProvider, PluginType::UpstreamProvider];
const UPSTREAM: &[PluginType] = &[PluginType::UpstreamProvider];
const MAX_DISPLAY_NAME: usize = 100;
const MAX_SCRIPT_BYTES: usize = 512 * 1024;

#[derive(Debug, Clone)]
pub struct Integration {
    state: State,
}

impl Integration {
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

fn plugin_type_filter(value: Option<&str>) -> AppResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text.parse::<PluginType>().map(|t| Some(t.as_str().to_string())).map_err(|_| {
            AppError::invalid_field(
                "plugin_type",
                "must be first_party_provider, upstream_provider, gateway or notifier",
            )
        }),
    }
}

fn display_name(value: &str) -> AppResult<String> {
    let name = value.trim();
    if name.is_empty() {
        return Err(AppError::invalid_field("display_name", "is required"));
    }
    if name.chars().count() > MAX_DISPLAY_NAME {
        return Err(AppError::invalid_field("display_name", format!("is longer than {MAX_DISPLAY_NAME} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid_field("display_name", "must not contain control characters"));
    }
    Ok(name.to_string())
}

fn unique_violation(error: sqlx::Error, message: &str) -> AppError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => AppError::AlreadyExists(message.to_string()),
        _ => AppError::from(error),
    }
}

/// The object of a JSON request field.
fn json_object(field: &str, text: &str) -> AppResult<Json> {
    let text = if text.trim().is_empty() { "{}" } else { text };
    let value: Json = serde_json::from_str(text)
        .map_err(|error| AppError::invalid_field(field, format!("not valid JSON: {error}")))?;
    if !value.is_object() {
        return Err(AppError::invalid_field(field, "must be a JSON object"));
    }
    Ok(value)
}

/// Server spec business arguments: flattened and as `server_spec`
/// (CONTRACT.md).
pub fn spec_args(
    cpu_cores: u32,
    memory_gb: u32,
    disk_gb: u32,
    bandwidth_mbps: u32,
    region: &str,
    os: &str,
    extra_specs: &std::collections::HashMap<String, String>,
) -> Json {
    let spec = json!({
        "cpu_cores": cpu_cores,
        "memory_gb": memory_gb,
        "disk_gb": disk_gb,
        "bandwidth_mbps": bandwidth_mbps,
        "region": region,
        "os": os,
        "extra_specs": extra_specs,
    });
    let mut args = spec.clone();
    args["server_spec"] = spec;
    args
}

impl Integration {
    async fn interface_row(&self, field: &str, id: &str) -> AppResult<InterfaceRow> {
        store::interface(self.state.pool(), parse_id(field, id)?).await
    }

    /// The compile/contract error of the interface's current script, if any.
    async fn script_error(&self, row: &InterfaceRow) -> AppResult<Option<String>> {
        let plugin_type = row.plugin_type()?;
        Ok(self.state.engine().check_async(plugin_type, &row.script_source).await.err().map(|error| error.to_string()))
    }

    async fn list_enabled(&self, types: &[PluginType]) -> AppResult<Vec<InterfaceRow>> {
        let mut rows = Vec::new();
        for plugin_type in types {
            rows.extend(store::interfaces(self.state.pool(), Some(plugin_type.as_str()), true).await?);
        }
        Ok(rows)
    }

    async fn list_providers(&self, caller: &Caller) -> AppResult<ListProvidersResponse> {
        caller.principal.require_authenticated()?;
        let rows = self.list_enabled(PROVIDERS).await?;
        // Templates come from the scripts; run them concurrently.
        let calls =
            rows.iter().map(|row| self.state.runtime.call_typed(row, "spec_template", json!({}), parse_spec_template));
        let templates = futures::future::join_all(calls).await;
        let mut providers = Vec::with_capacity(rows.len());
        for (row, template) in rows.iter().zip(templates) {
            let spec_template = match template {
                Ok(value) => Some(spec_template(&value)),
                Err(error) => {
                    tracing::warn!(interface_id = %row.id, %error, "spec_template failed; provider listed without it");
                    None
                }
            };
            providers.push(ProviderInfo {
                interface_id: row.id.to_string(),
                provider_name: row.display_name.clone(),
                provider_type: match row.plugin_type()? {
                    PluginType::UpstreamProvider => "upstream".to_string(),
                    _ => "first_party".to_string(),
                },
                is_healthy: row.is_healthy,
                spec_template,
            });
        }
        Ok(ListProvidersResponse { providers })
    }

    async fn create(&self, caller: &Caller, request: CreatePluginInterfaceRequest) -> AppResult<PluginInterfaceInfo> {
        caller.principal.require_admin_only()?;
        let plugin_def_id = parse_id("plugin_def_id", &request.plugin_def_id)?;
        let name = display_name(&request.display_name)?;
        let plugin = store::plugin(self.state.pool(), plugin_def_id).await?;
        let config = schema::parse_config("config_json", &request.config_json, &plugin.config_schema, None)?;
        schema::validate("config_json", &plugin.config_schema, &config, false)?;
        let id = Uuid::now_v7();
        let mut transaction = self.state.pool().begin().await?;
        let row: InterfaceRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "insert into plugin_interfaces
               (id, plugin_def_id, plugin_type, plugin_id, display_name, config, config_schema, enabled,
                script_source, script_hash, plugin_version, has_admin_page)
             values ($1, $2, $3, $4, $5, $6, $7, false, $8, $9, $10, $11)
             returning {INTERFACE_COLUMNS}"
        )))
        .bind(id)
        .bind(plugin.id)
        .bind(&plugin.plugin_type)
        .bind(&plugin.plugin_id)
        .bind(&name)
        .bind(&config)
        .bind(&plugin.config_schema)
        .bind(&plugin.script_source)
        .bind(&plugin.script_hash)
        .bind(&plugin.version)
        .bind(plugin.has_admin_page)
        .fetch_one(&mut *transaction)
        .await
        .map_err(|error| unique_violation(error, "an interface of this plugin already has that display_name"))?;
        oplog::record(
            &mut transaction,
            caller,
            "create_plugin_interface",
            "plugin_interface",
            &id.to_string(),
            json!({ "plugin": format!("{}-{}", plugin.plugin_type, plugin.plugin_id), "display_name": name,
                    "config_fields": config_fields(&config) }),
        )
        .await?;
        transaction.commit().await?;
        Ok(interface_info(&row, true, None))
    }

    async fn update(&self, caller: &Caller, request: UpdatePluginInterfaceRequest) -> AppResult<PluginInterfaceInfo> {
        caller.principal.require_admin_only()?;
        let id = parse_id("interface_id", &request.interface_id)?;
        if request.config_json.is_none() && request.display_name.is_none() && request.script_source.is_none() {
            return Err(AppError::invalid("nothing to update: give config_json, display_name or script_source"));
        }
        let name = request.display_name.as_deref().map(display_name).transpose()?;
        let current = store::interface(self.state.pool(), id).await?;
        let plugin_type = current.plugin_type()?;

        // A new script is compiled and checked before anything is written.
        // source, hash, overridden, admin page, schema, version
        let mut script: Option<(String, String, bool, bool, Json, String)> = None;
        if let Some(source) = &request.script_source {
            if source.len() > MAX_SCRIPT_BYTES {
                return Err(AppError::invalid_field("script_source", "is larger than 512 KiB"));
            }
            let (source, overridden) = if source.trim().is_empty() {
                let plugin = store::plugin(self.state.pool(), current.plugin_def_id).await?;
                (plugin.script_source, false)
            } else {
                (source.clone(), true)
            };
            let info = self
                .state
                .engine()
                .check_async(plugin_type, &source)
                .await
                .map_err(|error| AppError::invalid_field("script_source", error.to_string()))?;
            let config_schema =
                crate::scanner::extract_schema(self.state.engine(), plugin_type, &current.plugin_id, &source)
                    .await
                    .map_err(|error| AppError::invalid_field("script_source", error))?;
            script = Some((
                source.clone(),
                crate::engine::script_hash(&source),
                overridden,
                info.has_admin_page,
                config_schema,
                info.version.clone().unwrap_or_else(|| "0.0.0".to_string()),
            ));
        }

        let mut transaction = self.state.pool().begin().await?;
        let locked = store::interface_for_update(&mut *transaction, id).await?;
        let config_schema = script.as_ref().map(|s| s.4.clone()).unwrap_or_else(|| locked.config_schema.clone());
        let config = match &request.config_json {
            Some(text) => schema::parse_config("config_json", text, &config_schema, Some(&locked.config))?,
            None => locked.config.clone(),
        };
        schema::validate("config_json", &config_schema, &config, locked.enabled)?;
        let (source, hash, overridden, admin_page, version) = match &script {
            Some((source, hash, overridden, admin_page, _, version)) => {
                (source.clone(), hash.clone(), *overridden, *admin_page, version.clone())
            }
            None => (
                locked.script_source.clone(),
                locked.script_hash.clone(),
                locked.script_overridden,
                locked.has_admin_page,
                locked.plugin_version.clone(),
            ),
        };
        let row: InterfaceRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "update plugin_interfaces
             set display_name = $2, config = $3, config_schema = $4, script_source = $5, script_hash = $6,
                 script_overridden = $7, has_admin_page = $8, plugin_version = $9, updated_at = now()
             where id = $1
             returning {INTERFACE_COLUMNS}"
        )))
        .bind(id)
        .bind(name.as_deref().unwrap_or(&locked.display_name))
        .bind(&config)
        .bind(&config_schema)
        .bind(&source)
        .bind(&hash)
        .bind(overridden)
        .bind(admin_page)
        .bind(&version)
        .fetch_one(&mut *transaction)
        .await
        .map_err(|error| unique_violation(error, "an interface of this plugin already has that display_name"))?;
        oplog::record(
            &mut transaction,
            caller,
            "update_plugin_interface",
            "plugin_interface",
            &id.to_string(),
            json!({
                "display_name": name,
                "config_fields": request.config_json.as_ref().map(|_| config_fields(&config)),
                "script_hash": script.as_ref().map(|s| s.1.clone()),
                "script_overridden": overridden,
            }),
        )
        .await?;
        transaction.commit().await?;
        self.state.engine().evict(&id.to_string());
        Ok(interface_info(&row, true, None))
    }

    async fn toggle(&self, caller: &Caller, request: TogglePluginInterfaceRequest) -> AppResult<PluginInterfaceInfo> {
        caller.principal.require_admin_only()?;
        let id = parse_id("interface_id", &request.interface_id)?;
        let current = store::interface(self.state.pool(), id).await?;
        if request.enable {
            // Only a runnable, fully configured interface goes live.
            if let Some(error) = self.script_error(&current).await? {
                return Err(AppError::FailedPrecondition(format!("cannot enable: the script cannot run: {error}")));
            }
        }
        let mut transaction = self.state.pool().begin().await?;
        let locked = store::interface_for_update(&mut *transaction, id).await?;
        if request.enable {
            schema::validate("config_json", &locked.config_schema, &locked.config, true).map_err(|error| {
                AppError::FailedPrecondition(format!("cannot enable an incompletely configured interface: {error}"))
            })?;
        }
        let row: InterfaceRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "update plugin_interfaces set enabled = $2, updated_at = now() where id = $1 returning {INTERFACE_COLUMNS}"
        )))
        .bind(id)
        .bind(request.enable)
        .fetch_one(&mut *transaction)
        .await?;
        if locked.enabled != request.enable {
            oplog::record(
                &mut transaction,
                caller,
                if request.enable { "enable_plugin_interface" } else { "disable_plugin_interface" },
                "plugin_interface",
                &id.to_string(),
                json!({ "display_name": row.display_name }),
            )
            .await?;
        }
        transaction.commit().await?;
        Ok(interface_info(&row, true, None))
    }

    async fn delete(&self, caller: &Caller, request: DeletePluginInterfaceRequest) -> AppResult<()> {
        caller.principal.require_admin_only()?;
        let id = parse_id("interface_id", &request.interface_id)?;
        let mut transaction = self.state.pool().begin().await?;
        let deleted: Option<String> =
            sqlx::query_scalar("delete from plugin_interfaces where id = $1 returning display_name")
                .bind(id)
                .fetch_optional(&mut *transaction)
                .await?;
        let Some(name) = deleted else {
            return Err(AppError::not_found("plugin interface not found"));
        };
        sqlx::query("delete from plugin_state where interface_id = $1")
            .bind(id.to_string())
            .execute(&mut *transaction)
            .await?;
        oplog::record(
            &mut transaction,
            caller,
            "delete_plugin_interface",
            "plugin_interface",
            &id.to_string(),
            json!({ "display_name": name }),
        )
        .await?;
        transaction.commit().await?;
        self.state.engine().evict(&id.to_string());
        Ok(())
    }

    async fn admin_page(
        &self,
        caller: &Caller,
        request: GetPluginAdminPageRequest,
    ) -> AppResult<GetPluginAdminPageResponse> {
        caller.principal.require_admin()?;
        let row = self.interface_row("interface_id", &request.interface_id).await?;
        if !row.has_admin_page {
            return Err(AppError::not_found("this plugin has no admin page"));
        }
        let raw = self.state.runtime.call(&row, "admin_page", json!({})).await?;
        let value = crate::engine::parse_result(row.plugin_type()?, raw)
            .map_err(|failure| crate::runtime::plugin_failure("admin_page", failure))?;
        let (html, title) = match value {
            Json::String(html) => (html, row.display_name.clone()),
            Json::Object(object) => (
                object
                    .get("html")
                    .or_else(|| object.get("html_content"))
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_string(),
                object.get("title").and_then(Json::as_str).unwrap_or(&row.display_name).to_string(),
            ),
            other => return Err(AppError::FailedPrecondition(format!("admin_page returned {other}, expected HTML"))),
        };
        Ok(GetPluginAdminPageResponse { html_content: html, title })
    }

    async fn action(&self, caller: &Caller, request: CallPluginActionRequest) -> AppResult<CallPluginActionResponse> {
        caller.principal.require_admin_only()?;
        let row = self.interface_row("interface_id", &request.interface_id).await?;
        let function = request.function.trim();
        let valid = !function.is_empty()
            && function.len() <= 64
            && function.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !function.starts_with("__");
        if !valid {
            return Err(AppError::invalid_field("function", "must be the name of a function of the script"));
        }
        let plugin_type = row.plugin_type()?;
        // Contract functions have typed RPCs (and move money or servers):
        // they are not callable from the admin bridge.
        if plugin_type.required_functions().contains(&function) {
            return Err(AppError::invalid_field(
                "function",
                format!("`{function}` is a contract function; use its own RPC"),
            ));
        }
        let args = json_object("args_json", &request.args_json)?;
        let raw = self.state.runtime.call(&row, function, args.clone()).await?;
        let value = crate::engine::parse_result(plugin_type, raw)
            .map_err(|failure| crate::runtime::plugin_failure(function, failure))?;
        let mut connection = self.state.pool().acquire().await?;
        oplog::record(
            &mut connection,
            caller,
            "call_plugin_action",
            "plugin_interface",
            &row.id.to_string(),
            json!({ "function": function, "arg_fields": config_fields(&args) }),
        )
        .await?;
        Ok(CallPluginActionResponse { result_json: value.to_string() })
    }

    async fn restart(&self, caller: &Caller) -> AppResult<()> {
        caller.principal.require_admin_only()?;
        let mut connection = self.state.pool().acquire().await?;
        oplog::record(&mut connection, caller, "restart_server", "server", "", json!({})).await?;
        tracing::warn!(by = %caller.principal.label(), "restart requested; shutting down gracefully");
        // Answer first, then stop: the token is cancelled a moment later.
        let restart = self.state.restart.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            restart.cancel();
        });
        Ok(())
    }

    async fn query_price(&self, caller: &Caller, request: QueryPriceRequest) -> AppResult<QueryPriceResponse> {
        caller.principal.require_authenticated()?;
        let row = self.state.runtime.usable("interface_id", &request.interface_id, PROVIDERS).await?;
        let mut args = spec_args(
            request.cpu_cores,
            request.memory_gb,
            request.disk_gb,
            request.bandwidth_mbps,
            &request.region,
            &request.os,
            &request.extra_specs,
        );
        args["billing_cycle"] = json!("monthly");
        let value = self.state.runtime.call_typed(&row, "query_price", args, parse_provider_result).await?;
        let quote = super::internal::price_quote(&value)?;
        Ok(QueryPriceResponse { amount: quote.amount, currency: quote.currency, billing_cycle: quote.billing_cycle })
    }

    async fn create_upstream_instance(
        &self,
        caller: &Caller,
        request: UpstreamOrderRequest,
    ) -> AppResult<UpstreamOrderResponse> {
        caller.principal.require_admin_only()?;
        let row = self.state.runtime.usable("interface_id", &request.interface_id, PROVIDERS).await?;
        let spec = request.server_spec.ok_or_else(|| AppError::invalid_field("server_spec", "is required"))?;
        let mut args = spec_args(
            spec.cpu_cores,
            spec.memory_gb,
            spec.disk_gb,
            spec.bandwidth_mbps,
            &spec.region,
            &spec.os,
            &spec.extra_specs,
        );
        let local_id = Uuid::now_v7().to_string();
        args["instance_id"] = json!(local_id);
        args["order_id"] = json!("");
        args["hostname"] = json!(format!("rb-{}", &local_id[local_id.len() - 12..]));
        let created =
            self.state.runtime.call_typed(&row, "create_instance", args, InstanceCreated::from_return).await?;
        let mut connection = self.state.pool().acquire().await?;
        oplog::record(
            &mut connection,
            caller,
            "create_upstream_instance",
            "plugin_interface",
            &row.id.to_string(),
            json!({ "provider_instance_id": created.instance_id }),
        )
        .await?;
        Ok(UpstreamOrderResponse {
            provider_instance_id: created.instance_id,
            status: created.status,
            ip_address: created.ip_address.unwrap_or_default(),
        })
    }

    async fn instance_status(
        &self,
        caller: &Caller,
        request: InstanceStatusRequest,
    ) -> AppResult<InstanceStatusResponse> {
        caller.principal.require_admin()?;
        let row = self.state.runtime.usable("interface_id", &request.interface_id, PROVIDERS).await?;
        let instance_id = required("instance_id", &request.instance_id)?;
        let (state, ip) = super::internal::instance_status(&self.state.runtime, &row, &instance_id).await?;
        Ok(InstanceStatusResponse { status: state.as_str().to_string(), ip_address: ip })
    }

    async fn sync_upstream(
        &self,
        caller: &Caller,
        request: SyncUpstreamInstancesRequest,
    ) -> AppResult<SyncUpstreamInstancesResponse> {
        caller.principal.require_admin()?;
        let row = self.state.runtime.usable("interface_id", &request.interface_id, UPSTREAM).await?;
        let instances = super::internal::upstream_instances(&self.state.runtime, &row).await?;
        Ok(SyncUpstreamInstancesResponse {
            instances: instances
                .into_iter()
                .map(|i| UpstreamInstanceItem {
                    instance_id: i.instance_id,
                    status: i.status,
                    ip_address: i.ip_address,
                    created_at: i.created_at,
                })
                .collect(),
        })
    }

    async fn upstream_balance(
        &self,
        caller: &Caller,
        request: GetUpstreamBalanceRequest,
    ) -> AppResult<GetUpstreamBalanceResponse> {
        caller.principal.require_admin()?;
        let row = self.state.runtime.usable("interface_id", &request.interface_id, UPSTREAM).await?;
        let balance = super::internal::upstream_balance(&self.state.runtime, &row).await?;
        Ok(GetUpstreamBalanceResponse { balance: balance.balance, currency: balance.currency })
    }
}

pub fn required(field: &str, value: &str) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::invalid_field(field, "is required"));
    }
    if value.len() > 256 {
        return Err(AppError::invalid_field(field, "is too long"));
    }
    Ok(value.to_string())
}

/// The names (never the values) of a config object's fields, for the
/// operation log.
fn config_fields(config: &Json) -> Vec<String> {
    config.as_object().map(|object| object.keys().cloned().collect()).unwrap_or_default()
}

impl InstanceState {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Running => "running",
            InstanceState::Stopped => "stopped",
            InstanceState::Terminated => "terminated",
            InstanceState::Pending => "pending",
            InstanceState::Error => "error",
        }
    }
}

#[tonic::async_trait]
impl IntegrationService for Integration {
    async fn list_providers(&self, request: Request<EmptyRequest>) -> Result<Response<ListProvidersResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.list_providers(&caller).await)
    }

    async fn list_gateways(&self, request: Request<EmptyRequest>) -> Result<Response<ListGatewaysResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(
            async {
                caller.principal.require_authenticated()?;
                let rows = self.list_enabled(&[PluginType::Gateway]).await?;
                Ok(ListGatewaysResponse {
                    gateways: rows
                        .iter()
                        .map(|row| GatewayInfo {
                            gateway_id: row.id.to_string(),
                            gateway_name: row.display_name.clone(),
                            is_healthy: row.is_healthy,
                        })
                        .collect(),
                })
            }
            .await,
        )
    }

    async fn list_notifiers(&self, request: Request<EmptyRequest>) -> Result<Response<ListNotifiersResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(
            async {
                caller.principal.require_admin()?;
                let rows = self.list_enabled(&[PluginType::Notifier]).await?;
                Ok(ListNotifiersResponse {
                    notifiers: rows
                        .iter()
                        .map(|row| NotifierInfo {
                            channel_id: row.id.to_string(),
                            channel_name: row.display_name.clone(),
                            is_healthy: row.is_healthy,
                        })
                        .collect(),
                })
            }
            .await,
        )
    }

    async fn list_plugins(
        &self,
        request: Request<ListPluginsRequest>,
    ) -> Result<Response<ListPluginsResponse>, Status> {
        let caller = principal::caller(&request)?;
        let request = request.into_inner();
        respond(
            async {
                caller.principal.require_admin()?;
                let filter = plugin_type_filter(request.plugin_type.as_deref())?;
                let rows: Vec<PluginRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "select {PLUGIN_COLUMNS} from plugins where ($1::text is null or plugin_type = $1)
                 order by plugin_type, plugin_id"
                )))
                .bind(filter)
                .fetch_all(self.state.pool())
                .await?;
                Ok(ListPluginsResponse { plugins: rows.iter().map(plugin_def).collect() })
            }
            .await,
        )
    }

    async fn get_plugin(&self, request: Request<GetPluginRequest>) -> Result<Response<GetPluginResponse>, Status> {
        let caller = principal::caller(&request)?;
        let request = request.into_inner();
        respond(
            async {
                caller.principal.require_admin()?;
                let row = store::plugin(self.state.pool(), parse_id("id", &request.id)?).await?;
                Ok(GetPluginResponse { plugin: Some(plugin_def(&row)) })
            }
            .await,
        )
    }

    async fn list_plugin_interfaces(
        &self,
        request: Request<ListPluginInterfacesRequest>,
    ) -> Result<Response<ListPluginInterfacesResponse>, Status> {
        let caller = principal::caller(&request)?;
        let request = request.into_inner();
        respond(
            async {
                caller.principal.require_admin()?;
                let filter = plugin_type_filter(request.plugin_type.as_deref())?;
                let rows = store::interfaces(self.state.pool(), filter.as_deref(), false).await?;
                Ok(ListPluginInterfacesResponse {
                    interfaces: rows.iter().map(|row| interface_info(row, false, None)).collect(),
                })
            }
            .await,
        )
    }

    async fn get_plugin_interface(
        &self,
        request: Request<GetPluginInterfaceRequest>,
    ) -> Result<Response<GetPluginInterfaceResponse>, Status> {
        let caller = principal::caller(&request)?;
        let request = request.into_inner();
        respond(
            async {
                caller.principal.require_admin()?;
                let row = self.interface_row("interface_id", &request.interface_id).await?;
                let error = self.script_error(&row).await?;
                Ok(GetPluginInterfaceResponse { interface: Some(interface_info(&row, true, error)) })
            }
            .await,
        )
    }

    async fn create_plugin_interface(
        &self,
        request: Request<CreatePluginInterfaceRequest>,
    ) -> Result<Response<CreatePluginInterfaceResponse>, Status> {
        let caller = principal::caller(&request)?;
        let result = self.create(&caller, request.into_inner()).await;
        respond(result.map(|interface| CreatePluginInterfaceResponse { interface: Some(interface) }))
    }

    async fn update_plugin_interface(
        &self,
        request: Request<UpdatePluginInterfaceRequest>,
    ) -> Result<Response<UpdatePluginInterfaceResponse>, Status> {
        let caller = principal::caller(&request)?;
        let result = self.update(&caller, request.into_inner()).await;
        respond(result.map(|interface| UpdatePluginInterfaceResponse { interface: Some(interface) }))
    }

    async fn toggle_plugin_interface(
        &self,
        request: Request<TogglePluginInterfaceRequest>,
    ) -> Result<Response<TogglePluginInterfaceResponse>, Status> {
        let caller = principal::caller(&request)?;
        let result = self.toggle(&caller, request.into_inner()).await;
        respond(result.map(|interface| TogglePluginInterfaceResponse { interface: Some(interface) }))
    }

    async fn delete_plugin_interface(
        &self,
        request: Request<DeletePluginInterfaceRequest>,
    ) -> Result<Response<DeletePluginInterfaceResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.delete(&caller, request.into_inner()).await.map(|()| DeletePluginInterfaceResponse {}))
    }

    async fn check_plugin_health(
        &self,
        request: Request<CheckPluginHealthRequest>,
    ) -> Result<Response<CheckPluginHealthResponse>, Status> {
        let caller = principal::caller(&request)?;
        let request = request.into_inner();
        respond(
            async {
                caller.principal.require_admin()?;
                let row = self.interface_row("interface_id", &request.interface_id).await?;
                let (is_healthy, error, checked_at) = self.state.runtime.check_health(&row).await?;
                Ok(CheckPluginHealthResponse { is_healthy, error, checked_at: format_time(checked_at) })
            }
            .await,
        )
    }

    async fn get_plugin_admin_page(
        &self,
        request: Request<GetPluginAdminPageRequest>,
    ) -> Result<Response<GetPluginAdminPageResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.admin_page(&caller, request.into_inner()).await)
    }

    async fn call_plugin_action(
        &self,
        request: Request<CallPluginActionRequest>,
    ) -> Result<Response<CallPluginActionResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.action(&caller, request.into_inner()).await)
    }

    async fn restart_server(&self, request: Request<EmptyRequest>) -> Result<Response<EmptyResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.restart(&caller).await.map(|()| EmptyResponse {}))
    }

    async fn sync_products(
        &self,
        request: Request<SyncProductsRequest>,
    ) -> Result<Response<SyncProductsResponse>, Status> {
        let caller = principal::caller(&request)?;
        let request = request.into_inner();
        respond(
            async {
                caller.principal.require_admin_only()?;
                let row = self.state.runtime.usable("interface_id", &request.interface_id, PROVIDERS).await?;
                // Products belong to the catalog service: it asks this service
                // for the plugin's products (PluginRuntimeService.SyncProducts)
                // and stores them. The admin's principal is passed on.
                let url = self.state.config.services.catalog.url.trim().to_string();
                if url.is_empty() {
                    return Err(AppError::Unavailable(format!(
                        "syncing products of {} needs the catalog service, which is not deployed",
                        row.display_name
                    )));
                }
                let channel = tonic::transport::Endpoint::from_shared(url)
                    .map_err(|error| AppError::Internal(anyhow::anyhow!("bad catalog url: {error}")))?
                    .connect_lazy();
                let signer = rustbill_shared::principal::InternalSigner::new(
                    &self.state.config.internal_secret(),
                    self.state.config.internal.token_ttl_secs,
                );
                let mut forwarded = Request::new(rustbill_proto::product::SyncProductsRequest {
                    interface_id: request.interface_id.clone(),
                    group_id: request.group_id.clone(),
                });
                signer.attach(&caller, &mut forwarded);
                let answer = rustbill_proto::product::product_service_client::ProductServiceClient::new(channel)
                    .sync_products(forwarded)
                    .await
                    .map_err(|status| match status.code() {
                        tonic::Code::InvalidArgument => AppError::invalid(status.message().to_string()),
                        tonic::Code::NotFound => AppError::not_found(status.message().to_string()),
                        tonic::Code::FailedPrecondition => AppError::FailedPrecondition(status.message().to_string()),
                        _ => AppError::Unavailable(format!("the catalog service failed: {}", status.message())),
                    })?
                    .into_inner();
                Ok(SyncProductsResponse { synced: answer.synced, count: answer.count })
            }
            .await,
        )
    }

    async fn query_price(&self, request: Request<QueryPriceRequest>) -> Result<Response<QueryPriceResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.query_price(&caller, request.into_inner()).await)
    }

    async fn create_upstream_instance(
        &self,
        request: Request<UpstreamOrderRequest>,
    ) -> Result<Response<UpstreamOrderResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.create_upstream_instance(&caller, request.into_inner()).await)
    }

    async fn get_instance_status(
        &self,
        request: Request<InstanceStatusRequest>,
    ) -> Result<Response<InstanceStatusResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.instance_status(&caller, request.into_inner()).await)
    }

    async fn sync_upstream_instances(
        &self,
        request: Request<SyncUpstreamInstancesRequest>,
    ) -> Result<Response<SyncUpstreamInstancesResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.sync_upstream(&caller, request.into_inner()).await)
    }

    async fn import_upstream_instance(
        &self,
        request: Request<ImportUpstreamInstanceRequest>,
    ) -> Result<Response<ImportUpstreamInstanceResponse>, Status> {
        let caller = principal::caller(&request)?;
        let request = request.into_inner();
        respond(
            async {
                caller.principal.require_admin_only()?;
                let row = self.state.runtime.usable("interface_id", &request.interface_id, UPSTREAM).await?;
                let instance_id = required("instance_id", &request.instance_id)?;
                let customer_id = required("customer_id", &request.customer_id)?;
                let product_id = required("product_id", &request.product_id)?;
                // The upstream must know the instance before anything is stored.
                let found = super::internal::import_upstream(&self.state.runtime, &row, &instance_id).await?;
                // Local instances belong to the orders service, which stores it
                // as an active order of the customer.
                let orders = rustbill_shared::clients::InternalChannel::new(
                    "plugins",
                    "orders",
                    &self.state.config.services.orders.url,
                    rustbill_shared::principal::InternalSigner::new(
                        &self.state.config.internal_secret(),
                        self.state.config.internal.token_ttl_secs,
                    ),
                );
                let mut client =
                    rustbill_proto::internal::orders::orders_internal_service_client::OrdersInternalServiceClient::new(
                        orders.channel()?,
                    );
                let imported = client
                    .import_instance(orders.request(
                        &caller,
                        rustbill_proto::internal::orders::ImportInstanceRequest {
                            customer_id,
                            product_id,
                            provider_interface_id: row.id.to_string(),
                            provider_instance_id: found.instance_id.clone(),
                            status: found.status.clone(),
                            ip_address: found.ip_address.clone(),
                        },
                    ))
                    .await
                    .map_err(|status| orders.forwarded(status))?
                    .into_inner();
                Ok(ImportUpstreamInstanceResponse {
                    instance_id: imported.instance_id,
                    status: imported.status,
                    ip_address: imported.ip_address,
                })
            }
            .await,
        )
    }

    async fn get_upstream_balance(
        &self,
        request: Request<GetUpstreamBalanceRequest>,
    ) -> Result<Response<GetUpstreamBalanceResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.upstream_balance(&caller, request.into_inner()).await)
    }

    async fn list_circuit_breakers(
        &self,
        request: Request<EmptyRequest>,
    ) -> Result<Response<ListCircuitBreakersResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(
            async {
                caller.principal.require_admin()?;
                let breakers = self
                    .state
                    .engine()
                    .env()
                    .http
                    .snapshot()
                    .into_iter()
                    .map(|breaker| CircuitBreakerInfo {
                        host: breaker.host,
                        state: breaker.state.as_str().to_string(),
                        consecutive_failures: breaker.consecutive_failures,
                        opened_at: breaker.opened_at.map(format_time).unwrap_or_default(),
                        last_error: breaker.last_error.unwrap_or_default(),
                    })
                    .collect();
                Ok(ListCircuitBreakersResponse { breakers })
            }
            .await,
        )
    }
}
