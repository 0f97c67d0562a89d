//! `rustbill.instance.InstanceService`: the instances orders provisioned,
//! their provider-drawn detail sections and actions, power actions,
//! termination and status refresh through the provider plugin.

use rustbill_proto::instance::instance_service_server::InstanceService;
use rustbill_proto::instance::*;
use rustbill_proto::internal::plugins::{DetailSection, ExecuteActionCall, InstanceCall, InstanceViewCall};
use rustbill_shared::ids::{parse_id, parse_optional_id};
use rustbill_shared::paging::{fetch_counted_page, fetch_page, paging};
use rustbill_shared::principal::{self, Caller};
use rustbill_shared::{AppError, AppResult, oplog};
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Postgres, QueryBuilder};
use tonic::{Request, Response, Status};

use crate::State;
use crate::counts::{self, Kind};
use crate::events;
use crate::order_service::scope;
use crate::status;
use crate::store::{self, INSTANCE_COLUMNS, INSTANCE_STATUSES, InstanceRow, spec_from_json};

const TERMINATED: &str = "terminated";

#[derive(Debug, Clone)]
pub struct Instances {
    state: State,
}

impl Instances {
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

async fn visible(state: &State, caller: &Caller, id: &str) -> AppResult<InstanceRow> {
    let customer = scope(caller)?;
    let id = parse_id("id", id)?;
    let instance = store::find_instance(&state.pool, id).await?;
    if customer.is_some_and(|customer| customer != instance.customer_id) {
        return Err(AppError::not_found("instance not found"));
    }
    Ok(instance)
}

fn view_call(instance: &InstanceRow) -> InstanceViewCall {
    let spec = spec_from_json(&instance.server_spec);
    InstanceViewCall {
        interface_id: instance.provider_interface_id.to_string(),
        instance_id: instance.provider_instance_id.clone(),
        status: instance.status.clone(),
        ip_address: instance.ip_address.clone(),
        server_spec: Some(rustbill_proto::internal::plugins::ServerSpec {
            cpu_cores: spec.cpu_cores,
            memory_gb: spec.memory_gb,
            disk_gb: spec.disk_gb,
            bandwidth_mbps: spec.bandwidth_mbps,
            region: spec.region,
            os: spec.os,
            extra_specs: spec.extra_specs,
        }),
    }
}

fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A plugin section as the portal draws it: key/value rows from
/// `data_json` (an object, or a list of {key, value, value_type}), HTML
/// from `content_html`, or an iframe for `iframe_url`.
fn section(section: DetailSection) -> InstanceDetailSection {
    let mut fields = Vec::new();
    if let Some(data) = section.data_json.as_deref().and_then(|text| serde_json::from_str::<Value>(text).ok()) {
        match data {
            Value::Object(map) => {
                for (key, value) in map {
                    let value = match value {
                        Value::String(text) => text,
                        other => other.to_string(),
                    };
                    fields.push(InstanceDetailField { key, value, value_type: "text".into() });
                }
            }
            Value::Array(rows) => {
                for row in rows {
                    let text = |name: &str| match row.get(name) {
                        Some(Value::String(text)) => text.clone(),
                        Some(Value::Null) | None => String::new(),
                        Some(other) => other.to_string(),
                    };
                    fields.push(InstanceDetailField {
                        key: text("key"),
                        value: text("value"),
                        value_type: match text("value_type") {
                            kind if kind.is_empty() => "text".into(),
                            kind => kind,
                        },
                    });
                }
            }
            _ => {}
        }
    }
    let content_html = match (section.content_html, section.iframe_url) {
        (Some(html), _) if !html.is_empty() => html,
        (_, Some(url)) if url.starts_with("https://") || url.starts_with("http://") => format!(
            "<iframe src=\"{}\" style=\"width:100%;height:480px;border:0\" sandbox=\"allow-scripts allow-same-origin\"></iframe>",
            escape_attribute(&url)
        ),
        _ => String::new(),
    };
    InstanceDetailSection { title: section.title, fields, content_html }
}

impl Instances {
    async fn list(&self, caller: &Caller, request: ListInstancesRequest) -> AppResult<ListInstancesResponse> {
        let customer = match scope(caller)? {
            Some(own) => Some(own),
            None => parse_optional_id("customer_id", Some(request.customer_id.trim()).filter(|id| !id.is_empty()))?,
        };
        // The portal's filter says "active" for running servers.
        let status = match request.status.trim() {
            "" => None,
            "active" => Some("running"),
            other if INSTANCE_STATUSES.contains(&other) => Some(other),
            _ => {
                return Err(AppError::invalid_field(
                    "status",
                    format!("must be one of {}", INSTANCE_STATUSES.join(", ")),
                ));
            }
        };
        let provider = parse_optional_id("provider_id", Some(request.provider_id.trim()).filter(|id| !id.is_empty()))?;
        let order = parse_optional_id("order_id", Some(request.order_id.trim()).filter(|id| !id.is_empty()))?;
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
            if let Some(order) = order {
                builder.push(" and order_id = ").push_bind(order);
            }
        };
        let (rows, meta): (Vec<InstanceRow>, _) = if provider.is_none() && order.is_none() {
            // Filtered by owner and status only: the counters know the total.
            let total = counts::total(&self.state.pool, Kind::Instance, customer, status.as_slice()).await?;
            fetch_counted_page(
                &self.state.pool,
                INSTANCE_COLUMNS,
                "instances",
                filters,
                "created_at desc, id desc",
                page,
                page_size,
                total,
            )
            .await?
        } else {
            fetch_page(
                &self.state.pool,
                INSTANCE_COLUMNS,
                "instances",
                filters,
                "created_at desc, id desc",
                page,
                page_size,
            )
            .await?
        };
        Ok(ListInstancesResponse { instances: rows.iter().map(InstanceRow::to_info).collect(), meta: Some(meta) })
    }

    async fn get(&self, caller: &Caller, request: GetInstanceRequest) -> AppResult<GetInstanceResponse> {
        let instance = visible(&self.state, caller, &request.id).await?;
        if instance.status == TERMINATED {
            return Ok(GetInstanceResponse { instance: Some(instance.to_info()), sections: vec![], actions: vec![] });
        }
        let view = view_call(&instance);
        let (sections, actions) = tokio::join!(
            self.state.clients.detail_sections(caller, view.clone()),
            self.state.clients.instance_actions(caller, view),
        );
        // The instance is shown even when its provider cannot draw it now.
        let mut sections = sections
            .map_err(|error| tracing::warn!(instance_id = %instance.id, %error, "detail sections unavailable"))
            .unwrap_or_default();
        sections.sort_by_key(|section| section.order);
        let actions = actions
            .map_err(|error| tracing::warn!(instance_id = %instance.id, %error, "instance actions unavailable"))
            .unwrap_or_default();
        Ok(GetInstanceResponse {
            instance: Some(instance.to_info()),
            sections: sections.into_iter().map(section).collect(),
            actions: actions
                .into_iter()
                .map(|action| InstanceAction {
                    id: action.id,
                    label: action.label,
                    style: action.style.to_ascii_lowercase(),
                    confirmation: action.confirmation,
                    enabled: Some(action.enabled),
                })
                .collect(),
        })
    }

    async fn store_status(&self, instance: &InstanceRow, status: &str, ip_address: &str) -> AppResult<InstanceRow> {
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "update instances set status = $3, ip_address = case when $4 = '' then ip_address else $4 end,
                    updated_at = now()
             where customer_id = $1 and id = $2 and status <> 'terminated' returning {INSTANCE_COLUMNS}"
        )))
        .bind(instance.customer_id)
        .bind(instance.id)
        .bind(status)
        .bind(ip_address)
        .fetch_optional(&self.state.pool)
        .await?
        .unwrap_or_else(|| instance.clone()))
    }

    async fn refresh(&self, caller: &Caller, instance: &InstanceRow) -> AppResult<InstanceRow> {
        if instance.status == TERMINATED {
            return Ok(instance.clone());
        }
        let result = self
            .state
            .clients
            .instance_status(
                caller,
                InstanceCall {
                    interface_id: instance.provider_interface_id.to_string(),
                    instance_id: instance.provider_instance_id.clone(),
                },
            )
            .await?;
        let mut status = store::instance_status(&result.status);
        // A suspended instance stays suspended while the provider reports
        // it stopped: suspension is a billing state, not a power state.
        if instance.status == "suspended" && status == "stopped" {
            status = "suspended";
        }
        self.store_status(instance, status, &result.ip_address).await
    }

    async fn action(
        &self,
        caller: &Caller,
        request: ExecuteInstanceActionRequest,
    ) -> AppResult<ExecuteInstanceActionResponse> {
        let instance = visible(&self.state, caller, &request.id).await?;
        let action = request.action.trim();
        if action.is_empty() {
            return Err(AppError::invalid_field("action", "required"));
        }
        if matches!(action, "terminate" | "destroy" | "delete") {
            return Err(AppError::invalid_field("action", "use TerminateInstance, which asks for confirmation"));
        }
        if instance.status == TERMINATED {
            return Err(AppError::FailedPrecondition("the instance is terminated".into()));
        }
        if instance.status == "suspended" && scope(caller)?.is_some() {
            return Err(AppError::FailedPrecondition("the instance is suspended; pay what is due first".into()));
        }
        let params = match request.params_json.trim() {
            "" => "{}".to_string(),
            text => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(_)) => text.to_string(),
                _ => return Err(AppError::invalid_field("params_json", "must be a JSON object")),
            },
        };
        let offered = self.state.clients.instance_actions(caller, view_call(&instance)).await?;
        match offered.iter().find(|offered| offered.id == action) {
            None => return Err(AppError::invalid_field("action", "not an action of this instance")),
            Some(offered) if !offered.enabled => {
                return Err(AppError::FailedPrecondition(format!("{action} is not possible now")));
            }
            Some(_) => {}
        }
        let outcome = self
            .state
            .clients
            .execute_action(
                caller,
                ExecuteActionCall {
                    interface_id: instance.provider_interface_id.to_string(),
                    instance_id: instance.provider_instance_id.clone(),
                    action: action.to_string(),
                    params_json: params,
                },
            )
            .await?;
        let mut connection = self.state.pool.acquire().await?;
        oplog::record(
            &mut connection,
            caller,
            "instance.action",
            "instance",
            &instance.id.to_string(),
            json!({ "action": action, "success": outcome.success }),
        )
        .await?;
        drop(connection);
        let instance = match self.refresh(caller, &instance).await {
            Ok(refreshed) => refreshed,
            Err(error) => {
                tracing::warn!(instance_id = %instance.id, %error, "status refresh after an action failed");
                instance
            }
        };
        Ok(ExecuteInstanceActionResponse {
            instance: Some(instance.to_info()),
            success: outcome.success,
            message: outcome.message,
        })
    }

    async fn terminate(&self, caller: &Caller, request: TerminateInstanceRequest) -> AppResult<InstanceRow> {
        let instance = visible(&self.state, caller, &request.id).await?;
        if !request.confirm {
            return Err(AppError::invalid_field("confirm", "must be true: termination cannot be undone"));
        }
        if instance.status == TERMINATED {
            return Ok(instance);
        }
        if !instance.provider_instance_id.is_empty() {
            self.state
                .clients
                .terminate_instance(
                    caller,
                    InstanceCall {
                        interface_id: instance.provider_interface_id.to_string(),
                        instance_id: instance.provider_instance_id.clone(),
                    },
                )
                .await?;
        }
        let mut transaction = self.state.pool.begin().await?;
        let terminated: InstanceRow = sqlx::query_as(AssertSqlSafe(format!(
            "update instances set status = 'terminated', terminated_at = coalesce(terminated_at, now()), updated_at = now()
             where customer_id = $1 and id = $2 returning {INSTANCE_COLUMNS}"
        )))
        .bind(instance.customer_id)
        .bind(instance.id)
        .fetch_one(&mut *transaction)
        .await?;
        if let Some(order) = store::lock_order(&mut transaction, instance.order_id).await?
            && status::can_move(&order.status, status::TERMINATED)
        {
            sqlx::query(
                "update orders set status = 'terminated', updated_at = now() where customer_id = $1 and id = $2",
            )
            .bind(order.customer_id)
            .bind(order.id)
            .execute(&mut *transaction)
            .await?;
        }
        events::publish(
            &mut transaction,
            caller,
            events::INSTANCE_TERMINATED,
            instance.order_id,
            instance.customer_id,
            json!({
                "instance_id": instance.id,
                "order_id": instance.order_id,
                "customer_id": instance.customer_id,
                "product_name": instance.product_name,
                "provider_instance_id": instance.provider_instance_id,
            }),
        )
        .await?;
        oplog::record(&mut transaction, caller, "instance.terminate", "instance", &instance.id.to_string(), json!({}))
            .await?;
        transaction.commit().await?;
        Ok(terminated)
    }
}

#[tonic::async_trait]
impl InstanceService for Instances {
    async fn list_instances(
        &self,
        request: Request<ListInstancesRequest>,
    ) -> Result<Response<ListInstancesResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.list(&caller, request.into_inner()).await?))
    }

    async fn get_instance(
        &self,
        request: Request<GetInstanceRequest>,
    ) -> Result<Response<GetInstanceResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.get(&caller, request.into_inner()).await?))
    }

    async fn execute_instance_action(
        &self,
        request: Request<ExecuteInstanceActionRequest>,
    ) -> Result<Response<ExecuteInstanceActionResponse>, Status> {
        let caller = principal::caller(&request)?;
        Ok(Response::new(self.action(&caller, request.into_inner()).await?))
    }

    async fn terminate_instance(
        &self,
        request: Request<TerminateInstanceRequest>,
    ) -> Result<Response<TerminateInstanceResponse>, Status> {
        let caller = principal::caller(&request)?;
        let instance = self.terminate(&caller, request.into_inner()).await?;
        Ok(Response::new(TerminateInstanceResponse { instance: Some(instance.to_info()) }))
    }

    async fn refresh_instance_status(
        &self,
        request: Request<RefreshInstanceStatusRequest>,
    ) -> Result<Response<RefreshInstanceStatusResponse>, Status> {
        let caller = principal::caller(&request)?;
        let instance = visible(&self.state, &caller, &request.get_ref().id).await?;
        let instance = self.refresh(&caller, &instance).await?;
        Ok(Response::new(RefreshInstanceStatusResponse { instance: Some(instance.to_info()) }))
    }
}
