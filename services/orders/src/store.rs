//! Order and instance rows and their wire forms.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustbill_proto::instance::InstanceInfo;
use rustbill_proto::order::{OrderInfo, ServerSpec};
use rustbill_shared::ids::format_time;
use rustbill_shared::{AppError, AppResult, Money};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub product_id: Uuid,
    pub product_name: String,
    pub provider_interface_id: Uuid,
    pub provider_instance_id: String,
    pub server_spec: serde_json::Value,
    pub status: String,
    pub amount: Decimal,
    pub currency: String,
    pub billing_cycle: String,
    pub gateway_interface_id: String,
    pub gateway_payment_id: String,
    pub payment_id: Option<Uuid>,
    pub paid_amount: Decimal,
    pub instance_id: Uuid,
    pub customer_email: String,
    pub notes: String,
    pub cancel_reason: String,
    pub paid_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The paid service period (set when the order becomes active).
    pub period_start: Option<DateTime<Utc>>,
    pub period_end: Option<DateTime<Utc>>,
    /// The price before the coupon; `None` for orders from before coupons
    /// (their `amount` is the list price).
    pub list_amount: Option<Decimal>,
    pub discount_amount: Decimal,
    pub coupon_code: String,
    /// The coupon's terms as redeemed: kind, value, renewal periods left
    /// (`None` = every period).
    pub coupon_kind: Option<String>,
    pub coupon_value: Option<Decimal>,
    pub coupon_periods_left: Option<i32>,
}

pub const ORDER_COLUMNS: &str = "id, customer_id, product_id, product_name, provider_interface_id,
    provider_instance_id, server_spec, status, amount, currency, billing_cycle, gateway_interface_id,
    gateway_payment_id, payment_id, paid_amount, instance_id, customer_email, notes, cancel_reason, paid_at,
    created_at, updated_at, period_start, period_end, list_amount, discount_amount, coupon_code, coupon_kind,
    coupon_value, coupon_periods_left";

/// ServerSpec <-> JSON column.
pub fn spec_to_json(spec: &ServerSpec) -> serde_json::Value {
    serde_json::json!({
        "cpu_cores": spec.cpu_cores,
        "memory_gb": spec.memory_gb,
        "disk_gb": spec.disk_gb,
        "bandwidth_mbps": spec.bandwidth_mbps,
        "region": spec.region,
        "os": spec.os,
        "extra_specs": spec.extra_specs,
    })
}

pub fn spec_from_json(value: &serde_json::Value) -> ServerSpec {
    let number = |key: &str| value.get(key).and_then(serde_json::Value::as_u64).unwrap_or(0) as u32;
    let text = |key: &str| value.get(key).and_then(serde_json::Value::as_str).unwrap_or("").to_string();
    ServerSpec {
        cpu_cores: number("cpu_cores"),
        memory_gb: number("memory_gb"),
        disk_gb: number("disk_gb"),
        bandwidth_mbps: number("bandwidth_mbps"),
        region: text("region"),
        os: text("os"),
        extra_specs: value
            .get("extra_specs")
            .and_then(serde_json::Value::as_object)
            .map(|map| {
                map.iter().map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_string())).collect()
            })
            .unwrap_or_default(),
    }
}

/// The spec flattened to key → value (InstanceInfo.server_spec).
pub fn spec_map(spec: &ServerSpec) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = spec.extra_specs.clone();
    for (key, value) in [
        ("cpu_cores", spec.cpu_cores),
        ("memory_gb", spec.memory_gb),
        ("disk_gb", spec.disk_gb),
        ("bandwidth_mbps", spec.bandwidth_mbps),
    ] {
        if value > 0 {
            map.insert(key.to_string(), value.to_string());
        }
    }
    if !spec.region.is_empty() {
        map.insert("region".into(), spec.region.clone());
    }
    if !spec.os.is_empty() {
        map.insert("os".into(), spec.os.clone());
    }
    map
}

impl OrderRow {
    pub fn to_info(&self) -> OrderInfo {
        OrderInfo {
            id: self.id.to_string(),
            customer_id: self.customer_id.to_string(),
            product_id: self.product_id.to_string(),
            provider_interface_id: self.provider_interface_id.to_string(),
            provider_instance_id: self.provider_instance_id.clone(),
            server_spec: Some(spec_from_json(&self.server_spec)),
            status: self.status.clone(),
            amount: Money::from_decimal(self.amount).to_string(),
            currency: self.currency.clone(),
            gateway_interface_id: self.gateway_interface_id.clone(),
            gateway_payment_id: self.gateway_payment_id.clone(),
            notes: self.notes.clone(),
            created_at: format_time(self.created_at),
            updated_at: format_time(self.updated_at),
            product_name: self.product_name.clone(),
            billing_cycle: self.billing_cycle.clone(),
            list_amount: Money::from_decimal(self.list_price()).to_string(),
            discount_amount: Money::from_decimal(self.discount_amount).to_string(),
            coupon_code: self.coupon_code.clone(),
            coupon_periods_left: match (&self.coupon_kind, self.coupon_periods_left) {
                (None, _) => 0,
                (Some(_), None) => -1,
                (Some(_), Some(left)) => left,
            },
        }
    }

    /// The price of one period before any coupon: what renewals cost.
    pub fn list_price(&self) -> Decimal {
        self.list_amount.unwrap_or(self.amount)
    }

    /// What notifications need to write a message.
    pub fn notice(&self) -> serde_json::Value {
        serde_json::json!({
            "order_id": self.id,
            "customer_id": self.customer_id,
            "customer_email": self.customer_email,
            "product_id": self.product_id,
            "product_name": self.product_name,
            "amount": Money::from_decimal(self.amount).to_string(),
            "currency": self.currency,
            "billing_cycle": self.billing_cycle,
            "status": self.status,
        })
    }
}

pub async fn find_order(pool: &PgPool, id: Uuid) -> AppResult<OrderRow> {
    sqlx::query_as(AssertSqlSafe(format!("select {ORDER_COLUMNS} from orders where id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| AppError::not_found("order not found"))
}

/// The order under a row lock; `None` when it does not exist (any more).
pub async fn lock_order(connection: &mut PgConnection, id: Uuid) -> AppResult<Option<OrderRow>> {
    Ok(sqlx::query_as(AssertSqlSafe(format!("select {ORDER_COLUMNS} from orders where id = $1 for update")))
        .bind(id)
        .fetch_optional(connection)
        .await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InstanceRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub order_id: Uuid,
    pub product_id: Uuid,
    pub product_name: String,
    pub provider_interface_id: Uuid,
    pub provider_instance_id: String,
    pub status: String,
    pub ip_address: String,
    pub server_spec: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub terminated_at: Option<DateTime<Utc>>,
}

pub const INSTANCE_COLUMNS: &str = "id, customer_id, order_id, product_id, product_name, provider_interface_id,
    provider_instance_id, status, ip_address, server_spec, created_at, updated_at, terminated_at";

/// Instance statuses (operations manual §6.4).
pub const INSTANCE_STATUSES: &[&str] = &["provisioning", "running", "stopped", "suspended", "terminated", "error"];

impl InstanceRow {
    pub fn to_info(&self) -> InstanceInfo {
        InstanceInfo {
            id: self.id.to_string(),
            order_id: self.order_id.to_string(),
            customer_id: self.customer_id.to_string(),
            product_id: self.product_id.to_string(),
            provider_id: self.provider_interface_id.to_string(),
            provider_instance_id: self.provider_instance_id.clone(),
            status: self.status.clone(),
            ip_address: self.ip_address.clone(),
            server_spec: spec_map(&spec_from_json(&self.server_spec)),
            product_name: self.product_name.clone(),
            created_at: format_time(self.created_at),
            updated_at: format_time(self.updated_at),
        }
    }
}

pub async fn find_instance(pool: &PgPool, id: Uuid) -> AppResult<InstanceRow> {
    sqlx::query_as(AssertSqlSafe(format!("select {INSTANCE_COLUMNS} from instances where id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| AppError::not_found("instance not found"))
}

/// A provider's status word as an instance status.
pub fn instance_status(provider: &str) -> &'static str {
    match provider.trim().to_ascii_lowercase().as_str() {
        "running" | "active" | "started" => "running",
        "stopped" | "off" | "shutoff" => "stopped",
        "terminated" | "deleted" | "destroyed" => "terminated",
        "suspended" => "suspended",
        "pending" | "provisioning" | "creating" | "starting" => "provisioning",
        _ => "error",
    }
}
