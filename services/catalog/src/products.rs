//! `rustbill.product.ProductService`.
//!
//! Reads are public: anonymous visitors, customers and API keys see active
//! products only (an inactive product is NotFound to them); admins and
//! operators see everything. Every mutation needs an admin or operator, is
//! logged, and announces itself on the outbox in the same transaction.

use rustbill_proto::internal::orders::CountLiveOrdersRequest;
use rustbill_proto::internal::orders::orders_internal_service_client::OrdersInternalServiceClient;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustbill_proto::product::product_service_server::ProductService;
use rustbill_proto::product::*;
use rustbill_shared::grpc::respond;
use rustbill_shared::ids::{format_time, parse_id};
use rustbill_shared::oplog;
use rustbill_shared::paging::{like_pattern, page_meta, paging};
use rustbill_shared::principal::{self, Caller, Principal};
use rustbill_shared::{AppError, AppResult};
use serde_json::{Value as Json, json};
use sqlx::{FromRow, PgConnection};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::validate::{self, CYCLES};
use crate::{State, events};

#[derive(Debug, Clone)]
pub struct Products {
    state: State,
}

impl Products {
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

#[derive(Debug, Clone, FromRow)]
struct ProductRow {
    id: Uuid,
    name: String,
    description: String,
    price_per_month: Decimal,
    interface_id: Uuid,
    is_active: bool,
    specs: Json,
    group_id: Option<Uuid>,
    billing_cycles: Json,
    cost_price: Option<Decimal>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    plan_change_timing: String,
}

const COLUMNS: &str = "p.id, p.name, p.description, p.price_per_month, p.interface_id, p.is_active, p.specs,
     p.group_id, p.billing_cycles, p.cost_price, p.created_at, p.updated_at, p.plan_change_timing";

fn strings(value: &Json) -> HashMap<String, String> {
    value
        .as_object()
        .map(|object| {
            object
                .iter()
                .map(|(key, value)| {
                    (key.clone(), value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

impl From<&ProductRow> for ProductInfo {
    fn from(row: &ProductRow) -> Self {
        ProductInfo {
            id: row.id.to_string(),
            name: row.name.clone(),
            description: row.description.clone(),
            price_per_month: validate::format_money(row.price_per_month),
            interface_id: row.interface_id.to_string(),
            is_active: row.is_active,
            created_at: format_time(row.created_at),
            updated_at: format_time(row.updated_at),
            specs: strings(&row.specs),
            group_id: row.group_id.map(|id| id.to_string()).unwrap_or_default(),
            billing_cycles: strings(&row.billing_cycles),
            cost_price: row.cost_price.map(validate::format_money).unwrap_or_default(),
            plan_change_timing: row.plan_change_timing.clone(),
        }
    }
}

/// A plan change timing from a request; `None` when not given.
fn plan_change_timing(text: Option<&str>) -> AppResult<Option<String>> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(timing @ ("immediate" | "period_end")) => Ok(Some(timing.to_string())),
        Some(_) => Err(AppError::invalid_field("plan_change_timing", "\"immediate\" or \"period_end\"")),
    }
}

/// Admins, operators and services see inactive products too.
fn sees_everything(caller: &Caller) -> bool {
    matches!(caller.principal, Principal::Admin { .. } | Principal::Service { .. })
}

/// The monthly price and the cycle prices of a request: at least one cycle
/// must be priced; `price_per_month` and `billing_cycles.monthly` are the
/// same price (either may be given; both must then agree).
fn pricing(
    price_per_month: Option<&str>,
    cycles: &HashMap<String, String>,
) -> AppResult<(Decimal, BTreeMap<String, Decimal>)> {
    let mut cycles = validate::cycles("billing_cycles", cycles)?;
    let monthly = match price_per_month.map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => Some(validate::money("price_per_month", text)?),
        None => None,
    };
    match (monthly, cycles.get("monthly").copied()) {
        (Some(price), Some(cycle)) if price != cycle => {
            return Err(AppError::invalid_field(
                "price_per_month",
                "differs from billing_cycles.monthly; give one of them or the same price",
            ));
        }
        (Some(price), None) => {
            cycles.insert("monthly".into(), price);
        }
        _ => {}
    }
    if cycles.is_empty() {
        return Err(AppError::invalid_field(
            "billing_cycles",
            "price at least one cycle (price_per_month or billing_cycles)",
        ));
    }
    let monthly = cycles.get("monthly").copied().unwrap_or(Decimal::ZERO);
    Ok((monthly, cycles))
}

impl Products {
    async fn group_exists(&self, connection: &mut PgConnection, id: Uuid) -> AppResult<()> {
        let exists: bool = sqlx::query_scalar("select exists (select 1 from product_groups where id = $1)")
            .bind(id)
            .fetch_one(connection)
            .await?;
        if exists { Ok(()) } else { Err(AppError::not_found("group_id: no such product group")) }
    }

    async fn load(&self, connection: &mut PgConnection, id: Uuid, lock: bool) -> AppResult<ProductRow> {
        let sql = format!("select {COLUMNS} from products p where p.id = $1{}", if lock { " for update" } else { "" });
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(connection)
            .await?
            .ok_or_else(|| AppError::not_found("product not found"))
    }

    /// Whether orders still use the product. Orders live in the orders
    /// service; in a deployment without it there are none.
    async fn has_live_orders(&self, caller: &Caller, product: Uuid) -> AppResult<bool> {
        if !self.state.orders.is_deployed() {
            return Ok(false);
        }
        let mut client = OrdersInternalServiceClient::new(self.state.orders.channel()?);
        let counts = client
            .count_live_orders(
                self.state.orders.request(caller, CountLiveOrdersRequest { product_ids: vec![product.to_string()] }),
            )
            .await
            .map_err(|status| self.state.orders.forwarded(status))?
            .into_inner()
            .counts;
        Ok(counts.get(&product.to_string()).copied().unwrap_or(0) > 0)
    }

    async fn create(&self, caller: &Caller, request: CreateProductRequest) -> AppResult<ProductInfo> {
        caller.principal.require_admin()?;
        let name = validate::text("name", &request.name, 200, true, false)?;
        let description = validate::text("description", &request.description, 20_000, false, true)?;
        let interface_id = parse_id("interface_id", request.interface_id.trim())?;
        let specs = validate::specs("specs", &request.specs)?;
        let group_id = validate::optional_id("group_id", request.group_id.as_deref())?;
        let (monthly, cycles) = pricing(Some(&request.price_per_month), &request.billing_cycles)?;
        let cost = match request.cost_price.trim() {
            "" => None,
            text => Some(validate::money("cost_price", text)?),
        };
        let timing = plan_change_timing(Some(&request.plan_change_timing))?.unwrap_or_else(|| "immediate".into());
        self.state.plugins.provider(caller, interface_id).await?;
        let mut transaction = self.state.pool.begin().await?;
        if let Some(group) = group_id {
            self.group_exists(&mut transaction, group).await?;
        }
        let id = Uuid::now_v7();
        let row: ProductRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "insert into products as p (id, name, description, price_per_month, interface_id, specs, group_id,
                                        billing_cycles, cost_price, plan_change_timing)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             returning {COLUMNS}"
        )))
        .bind(id)
        .bind(&name)
        .bind(&description)
        .bind(monthly)
        .bind(interface_id)
        .bind(&specs)
        .bind(group_id)
        .bind(validate::cycles_json(&cycles))
        .bind(cost)
        .bind(&timing)
        .fetch_one(&mut *transaction)
        .await?;
        events::publish(
            &mut transaction,
            caller,
            events::PRODUCT_CHANGED,
            id,
            json!({"product_id": id, "action": "created"}),
        )
        .await?;
        oplog::record(&mut transaction, caller, "create_product", "product", &id.to_string(), json!({"name": name}))
            .await?;
        transaction.commit().await?;
        Ok((&row).into())
    }

    async fn list(&self, caller: &Caller, request: ListProductsRequest) -> AppResult<ListProductsResponse> {
        let (page, size) = paging(request.pagination.as_ref());
        let interface = validate::optional_id("interface_id", request.interface_id.as_deref())?;
        let group = validate::optional_id("group_id", request.group_id.as_deref())?;
        let category = validate::optional_id("category_id", request.category_id.as_deref())?;
        let active = if sees_everything(caller) { request.is_active } else { Some(request.is_active.unwrap_or(true)) };
        if !sees_everything(caller) && active == Some(false) {
            return Ok(ListProductsResponse { products: Vec::new(), meta: Some(page_meta(0, page, size)) });
        }
        let region = request.region.as_deref().map(str::trim).filter(|text| !text.is_empty());
        let search = request
            .search
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(|text| validate::text("search", text, 200, false, false))
            .transpose()?
            .map(|text| like_pattern(&text));
        // Only the filters given become SQL: with `($1 is null or …)`
        // PostgreSQL switches prepared statements to a generic plan after
        // five runs and scans every product. Rows and total are two
        // statements (a window count would read and sort every match).
        let filtered = |select: &str| {
            let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new(select);
            query.push(" from products p");
            if category.is_some() {
                query.push(" join product_groups g on g.id = p.group_id");
            }
            query.push(" where true");
            if let Some(interface) = interface {
                query.push(" and p.interface_id = ").push_bind(interface);
            }
            if let Some(region) = region {
                query.push(" and p.specs ->> 'region' = ").push_bind(region.to_string());
            }
            if let Some(active) = active {
                query.push(" and p.is_active = ").push_bind(active);
            }
            if let Some(search) = &search {
                query.push(" and p.name ilike ").push_bind(search.clone());
            }
            if let Some(group) = group {
                query.push(" and p.group_id = ").push_bind(group);
            }
            if let Some(category) = category {
                query.push(" and g.category_id = ").push_bind(category);
            }
            query
        };
        let mut rows_query = filtered(&format!("select {COLUMNS}"));
        rows_query
            .push(" order by p.created_at desc, p.id desc limit ")
            .push_bind(i64::from(size))
            .push(" offset ")
            .push_bind(i64::from(page - 1) * i64::from(size));
        let rows: Vec<ProductRow> = rows_query.build_query_as().fetch_all(&self.state.pool).await?;
        let total: i64 = filtered("select count(*)").build_query_scalar().fetch_one(&self.state.pool).await?;
        Ok(ListProductsResponse {
            products: rows.iter().map(Into::into).collect(),
            meta: Some(page_meta(total, page, size)),
        })
    }

    async fn get(&self, caller: &Caller, request: GetProductRequest) -> AppResult<ProductInfo> {
        let id = parse_id("id", request.id.trim())?;
        let mut connection = self.state.pool.acquire().await?;
        let row = self.load(&mut connection, id, false).await?;
        if !row.is_active && !sees_everything(caller) {
            return Err(AppError::not_found("product not found"));
        }
        Ok((&row).into())
    }

    async fn update(&self, caller: &Caller, request: UpdateProductRequest) -> AppResult<ProductInfo> {
        caller.principal.require_admin()?;
        let id = parse_id("id", request.id.trim())?;
        let name = request.name.as_deref().map(|n| validate::text("name", n, 200, true, false)).transpose()?;
        let description = request
            .description
            .as_deref()
            .map(|d| validate::text("description", d, 20_000, false, true))
            .transpose()?;
        // Maps cannot be "unset" on the wire: an empty map keeps the specs
        // and cycles, a non-empty one replaces them.
        let specs = (!request.specs.is_empty()).then(|| validate::specs("specs", &request.specs)).transpose()?;
        let group = match request.group_id.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(text) => Some(Some(parse_id("group_id", text)?)),
        };
        let cost = match request.cost_price.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(text) => Some(Some(validate::money("cost_price", text)?)),
        };
        let timing = plan_change_timing(request.plan_change_timing.as_deref())?;
        let mut transaction = self.state.pool.begin().await?;
        let current = self.load(&mut transaction, id, true).await?;
        let pricing = if request.price_per_month.is_some() || !request.billing_cycles.is_empty() {
            let cycles = if request.billing_cycles.is_empty() {
                // A new monthly price keeps the other cycles.
                let mut kept = strings(&current.billing_cycles);
                kept.remove("monthly");
                kept
            } else {
                request.billing_cycles.clone()
            };
            Some(pricing(request.price_per_month.as_deref(), &cycles)?)
        } else {
            None
        };
        if let Some(Some(group)) = group {
            self.group_exists(&mut transaction, group).await?;
        }
        let row: ProductRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "update products as p set
                name = coalesce($2, name), description = coalesce($3, description),
                price_per_month = coalesce($4, price_per_month), is_active = coalesce($5, is_active),
                specs = coalesce($6, specs), group_id = case when $7 then $8 else group_id end,
                billing_cycles = coalesce($9, billing_cycles),
                cost_price = case when $10 then $11 else cost_price end,
                plan_change_timing = coalesce($12, plan_change_timing), updated_at = now()
             where id = $1
             returning {COLUMNS}"
        )))
        .bind(id)
        .bind(&name)
        .bind(&description)
        .bind(pricing.as_ref().map(|(monthly, _)| *monthly))
        .bind(request.is_active)
        .bind(&specs)
        .bind(group.is_some())
        .bind(group.flatten())
        .bind(pricing.as_ref().map(|(_, cycles)| validate::cycles_json(cycles)))
        .bind(cost.is_some())
        .bind(cost.flatten())
        .bind(&timing)
        .fetch_one(&mut *transaction)
        .await?;
        let mut changed = Vec::new();
        for (field, set) in [
            ("name", name.is_some()),
            ("description", description.is_some()),
            ("price", pricing.is_some()),
            ("is_active", request.is_active.is_some()),
            ("specs", specs.is_some()),
            ("group_id", group.is_some()),
            ("cost_price", cost.is_some()),
            ("plan_change_timing", timing.is_some()),
        ] {
            if set {
                changed.push(field);
            }
        }
        events::publish(
            &mut transaction,
            caller,
            events::PRODUCT_CHANGED,
            id,
            json!({"product_id": id, "action": "updated", "fields": changed}),
        )
        .await?;
        oplog::record(
            &mut transaction,
            caller,
            "update_product",
            "product",
            &id.to_string(),
            json!({"fields": changed}),
        )
        .await?;
        transaction.commit().await?;
        Ok((&row).into())
    }

    /// Deletes one product, or deactivates it when orders still use it.
    /// Returns whether it was deactivated; NotFound when absent.
    async fn delete_one(&self, connection: &mut PgConnection, caller: &Caller, id: Uuid) -> AppResult<bool> {
        let exists: bool = sqlx::query_scalar("select exists (select 1 from products where id = $1)")
            .bind(id)
            .fetch_one(&mut *connection)
            .await?;
        if !exists {
            return Err(AppError::not_found("product not found"));
        }
        if self.has_live_orders(caller, id).await? {
            sqlx::query("update products set is_active = false, updated_at = now() where id = $1")
                .bind(id)
                .execute(&mut *connection)
                .await?;
            events::publish(
                connection,
                caller,
                events::PRODUCT_CHANGED,
                id,
                json!({"product_id": id, "action": "deactivated", "reason": "live orders"}),
            )
            .await?;
            return Ok(true);
        }
        sqlx::query("delete from products where id = $1").bind(id).execute(&mut *connection).await?;
        events::publish(connection, caller, events::PRODUCT_DELETED, id, json!({"product_id": id})).await?;
        Ok(false)
    }

    async fn delete(&self, caller: &Caller, request: DeleteProductRequest) -> AppResult<DeleteProductResponse> {
        caller.principal.require_admin()?;
        let id = parse_id("id", request.id.trim())?;
        let mut transaction = self.state.pool.begin().await?;
        let deactivated = self.delete_one(&mut transaction, caller, id).await?;
        oplog::record(
            &mut transaction,
            caller,
            if deactivated { "deactivate_product" } else { "delete_product" },
            "product",
            &id.to_string(),
            json!({}),
        )
        .await?;
        transaction.commit().await?;
        Ok(DeleteProductResponse { deactivated })
    }

    /// Runs `update` on the existing ids of a batch; unknown ids are
    /// counted out. Returns the ids changed.
    async fn batch_update(
        &self,
        caller: &Caller,
        ids: &[Uuid],
        action: &str,
        sql: &str,
        bind: impl Fn(
            sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
        ) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
        detail: Json,
    ) -> AppResult<Vec<Uuid>> {
        let mut transaction = self.state.pool.begin().await?;
        let query = bind(sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).bind(ids));
        let changed: Vec<Uuid> = query
            .fetch_all(&mut *transaction)
            .await?
            .into_iter()
            .map(|row| sqlx::Row::get::<Uuid, _>(&row, "id"))
            .collect();
        for id in &changed {
            events::publish(
                &mut transaction,
                caller,
                events::PRODUCT_CHANGED,
                *id,
                json!({"product_id": id, "action": action}),
            )
            .await?;
        }
        oplog::record(
            &mut transaction,
            caller,
            action,
            "product",
            "",
            json!({"product_ids": changed, "detail": detail}),
        )
        .await?;
        transaction.commit().await?;
        Ok(changed)
    }

    async fn reprice(&self, caller: &Caller, request: BatchUpdatePriceRequest) -> AppResult<BatchUpdatePriceResponse> {
        caller.principal.require_admin()?;
        let ids = validate::batch_ids("product_ids", &request.product_ids)?;
        let ratio = validate::markup("markup_ratio", &request.markup_ratio)?;
        let mut transaction = self.state.pool.begin().await?;
        let rows: Vec<ProductRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select {COLUMNS} from products p where p.id = any($1) for update"
        )))
        .bind(&ids)
        .fetch_all(&mut *transaction)
        .await?;
        let found: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        let not_found_ids = ids.iter().filter(|id| !found.contains(id)).map(Uuid::to_string).collect();
        let mut skipped_product_ids = Vec::new();
        let mut updated = 0u32;
        for row in rows {
            let Some(cost) = row.cost_price else {
                skipped_product_ids.push(row.id.to_string());
                continue;
            };
            let monthly = validate::round_money(cost * ratio);
            let old_cycles = strings(&row.billing_cycles);
            let mut cycles = BTreeMap::new();
            for (cycle, _) in CYCLES {
                let Some(old) = old_cycles.get(*cycle) else { continue };
                let old: Decimal = old.parse().unwrap_or(Decimal::ZERO);
                // In proportion to the old monthly price when there was one,
                // else by the cycle's length.
                let price = if row.price_per_month > Decimal::ZERO {
                    validate::round_money(old * monthly / row.price_per_month)
                } else {
                    validate::round_money(cost * ratio * Decimal::from(validate::months(cycle)))
                };
                cycles.insert(cycle.to_string(), price);
            }
            cycles.insert("monthly".into(), monthly);
            if monthly > Decimal::from(9_999_999_999i64)
                || cycles.values().any(|p| *p > Decimal::from(9_999_999_999i64))
            {
                return Err(AppError::invalid_field("markup_ratio", "the new price would not fit NUMERIC(12,2)"));
            }
            sqlx::query(
                "update products set price_per_month = $2, billing_cycles = $3, updated_at = now() where id = $1",
            )
            .bind(row.id)
            .bind(monthly)
            .bind(validate::cycles_json(&cycles))
            .execute(&mut *transaction)
            .await?;
            events::publish(
                &mut transaction,
                caller,
                events::PRODUCT_CHANGED,
                row.id,
                json!({"product_id": row.id, "action": "repriced"}),
            )
            .await?;
            updated += 1;
        }
        oplog::record(
            &mut transaction,
            caller,
            "batch_update_price",
            "product",
            "",
            json!({"markup_ratio": ratio.to_string(), "updated": updated, "skipped": skipped_product_ids}),
        )
        .await?;
        transaction.commit().await?;
        Ok(BatchUpdatePriceResponse { updated_count: updated, skipped_product_ids, not_found_ids })
    }

    /// Inserts or updates the provider's product (keyed by interface and
    /// the provider's id): importing twice does not duplicate.
    #[allow(clippy::too_many_arguments)]
    async fn upsert_upstream(
        &self,
        connection: &mut PgConnection,
        caller: &Caller,
        interface_id: Uuid,
        reference: &str,
        name: &str,
        description: &str,
        specs: &Json,
        cycles: &BTreeMap<String, Decimal>,
        cost: Option<Decimal>,
        group: Option<Uuid>,
    ) -> AppResult<ProductRow> {
        let monthly = cycles.get("monthly").copied().or(cost).unwrap_or(Decimal::ZERO);
        let cycles = if cycles.is_empty() {
            let mut monthly_only = BTreeMap::new();
            monthly_only.insert("monthly".to_string(), monthly);
            monthly_only
        } else {
            cycles.clone()
        };
        // New products start inactive: an admin prices and publishes them.
        let row: ProductRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "insert into products as p (id, name, description, price_per_month, interface_id, is_active, specs,
                                        group_id, billing_cycles, cost_price, upstream_ref)
             values ($1, $2, $3, $4, $5, false, $6, $7, $8, $9, $10)
             on conflict (interface_id, upstream_ref) where upstream_ref is not null do update
             set name = excluded.name, description = excluded.description, specs = excluded.specs,
                 cost_price = coalesce(excluded.cost_price, p.cost_price),
                 group_id = coalesce(excluded.group_id, p.group_id), updated_at = now()
             returning {COLUMNS}"
        )))
        .bind(Uuid::now_v7())
        .bind(name)
        .bind(description)
        .bind(monthly)
        .bind(interface_id)
        .bind(specs)
        .bind(group)
        .bind(validate::cycles_json(&cycles))
        .bind(cost)
        .bind(reference)
        .fetch_one(&mut *connection)
        .await?;
        events::publish(
            connection,
            caller,
            events::PRODUCT_CHANGED,
            row.id,
            json!({"product_id": row.id, "action": "synced"}),
        )
        .await?;
        Ok(row)
    }

    async fn sync(&self, caller: &Caller, request: SyncProductsRequest) -> AppResult<SyncProductsResponse> {
        caller.principal.require_admin()?;
        let interface_id = parse_id("interface_id", request.interface_id.trim())?;
        let group = validate::optional_id("group_id", Some(&request.group_id))?;
        self.state.plugins.provider(caller, interface_id).await?;
        let offered = self.state.plugins.sync_products(caller, interface_id).await?;
        let mut transaction = self.state.pool.begin().await?;
        if let Some(group) = group {
            self.group_exists(&mut transaction, group).await?;
        }
        let mut synced = Vec::with_capacity(offered.len());
        for product in offered {
            let name = validate::text("products.name", &product.name, 200, true, false)?;
            let description = validate::text("products.description", &product.description, 20_000, false, true)?;
            let specs = validate::specs("products.specs", &product.specs)?;
            let cycles = validate::cycles("products.prices", &product.prices)?;
            let row = self
                .upsert_upstream(
                    &mut transaction,
                    caller,
                    interface_id,
                    &product.id,
                    &name,
                    &description,
                    &specs,
                    &cycles,
                    None,
                    group,
                )
                .await?;
            synced.push(ProductInfo::from(&row));
        }
        oplog::record(
            &mut transaction,
            caller,
            "sync_products",
            "plugin_interface",
            &interface_id.to_string(),
            json!({"count": synced.len()}),
        )
        .await?;
        transaction.commit().await?;
        let count = u32::try_from(synced.len()).unwrap_or(u32::MAX);
        Ok(SyncProductsResponse { synced, count })
    }

    async fn import(
        &self,
        caller: &Caller,
        request: ImportUpstreamProductsRequest,
    ) -> AppResult<ImportUpstreamProductsResponse> {
        caller.principal.require_admin()?;
        let interface_id = parse_id("interface_id", request.interface_id.trim())?;
        if request.items.is_empty() {
            return Err(AppError::invalid_field("items", "is empty"));
        }
        if request.items.len() > validate::MAX_BATCH {
            return Err(AppError::invalid_field("items", "has too many entries"));
        }
        let group = validate::optional_id("group_id", Some(&request.group_id))?;
        // Every item is checked before anything is written.
        let mut items = Vec::with_capacity(request.items.len());
        for (index, item) in request.items.iter().enumerate() {
            let name = validate::text(&format!("items[{index}].name"), &item.name, 200, true, false)?;
            let description =
                validate::text(&format!("items[{index}].description"), &item.description, 20_000, false, true)?;
            let specs = validate::specs(&format!("items[{index}].specs"), &item.specs)?;
            let cost = validate::money(&format!("items[{index}].cost_price"), &item.cost_price)?;
            // The upstream's product id when the item carries one, else its name.
            let reference = item.specs.get("upstream_product_id").cloned().unwrap_or_else(|| name.clone());
            items.push((reference, name, description, specs, cost));
        }
        self.state.plugins.provider(caller, interface_id).await?;
        let mut transaction = self.state.pool.begin().await?;
        if let Some(group) = group {
            self.group_exists(&mut transaction, group).await?;
        }
        for (reference, name, description, specs, cost) in &items {
            self.upsert_upstream(
                &mut transaction,
                caller,
                interface_id,
                reference,
                name,
                description,
                specs,
                &BTreeMap::new(),
                Some(*cost),
                group,
            )
            .await?;
        }
        oplog::record(
            &mut transaction,
            caller,
            "import_upstream_products",
            "plugin_interface",
            &interface_id.to_string(),
            json!({"count": items.len()}),
        )
        .await?;
        transaction.commit().await?;
        Ok(ImportUpstreamProductsResponse { imported_count: u32::try_from(items.len()).unwrap_or(u32::MAX) })
    }
}

#[tonic::async_trait]
impl ProductService for Products {
    async fn create_product(
        &self,
        request: Request<CreateProductRequest>,
    ) -> Result<Response<CreateProductResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.create(&caller, request.into_inner()).await.map(|p| CreateProductResponse { product: Some(p) }))
    }

    async fn list_products(
        &self,
        request: Request<ListProductsRequest>,
    ) -> Result<Response<ListProductsResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.list(&caller, request.into_inner()).await)
    }

    async fn get_product(&self, request: Request<GetProductRequest>) -> Result<Response<GetProductResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.get(&caller, request.into_inner()).await.map(|p| GetProductResponse { product: Some(p) }))
    }

    async fn update_product(
        &self,
        request: Request<UpdateProductRequest>,
    ) -> Result<Response<UpdateProductResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.update(&caller, request.into_inner()).await.map(|p| UpdateProductResponse { product: Some(p) }))
    }

    async fn delete_product(
        &self,
        request: Request<DeleteProductRequest>,
    ) -> Result<Response<DeleteProductResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.delete(&caller, request.into_inner()).await)
    }

    async fn sync_products(
        &self,
        request: Request<SyncProductsRequest>,
    ) -> Result<Response<SyncProductsResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.sync(&caller, request.into_inner()).await)
    }

    async fn batch_set_active(
        &self,
        request: Request<BatchSetActiveRequest>,
    ) -> Result<Response<BatchSetActiveResponse>, Status> {
        let caller = principal::caller(&request)?;
        let request = request.into_inner();
        respond(
            async {
                caller.principal.require_admin()?;
                let ids = validate::batch_ids("product_ids", &request.product_ids)?;
                let active = request.is_active;
                let changed = self
                    .batch_update(
                        &caller,
                        &ids,
                        if active { "activate_products" } else { "deactivate_products" },
                        "update products set is_active = $2, updated_at = now()
                     where id = any($1) and is_active <> $2 returning id",
                        |query| query.bind(active),
                        json!({"is_active": active}),
                    )
                    .await?;
                Ok(BatchSetActiveResponse { updated_count: u32::try_from(changed.len()).unwrap_or(u32::MAX) })
            }
            .await,
        )
    }

    async fn batch_set_group(
        &self,
        request: Request<BatchSetGroupRequest>,
    ) -> Result<Response<BatchSetGroupResponse>, Status> {
        let caller = principal::caller(&request)?;
        let request = request.into_inner();
        respond(
            async {
                caller.principal.require_admin()?;
                let ids = validate::batch_ids("product_ids", &request.product_ids)?;
                let group = validate::optional_id("group_id", Some(&request.group_id))?;
                if let Some(group) = group {
                    let mut connection = self.state.pool.acquire().await?;
                    self.group_exists(&mut connection, group).await?;
                }
                let changed = self
                    .batch_update(
                        &caller,
                        &ids,
                        "set_product_group",
                        "update products set group_id = $2, updated_at = now()
                     where id = any($1) and group_id is distinct from $2 returning id",
                        |query| query.bind(group),
                        json!({"group_id": group}),
                    )
                    .await?;
                Ok(BatchSetGroupResponse { updated_count: u32::try_from(changed.len()).unwrap_or(u32::MAX) })
            }
            .await,
        )
    }

    async fn batch_delete(
        &self,
        request: Request<BatchDeleteRequest>,
    ) -> Result<Response<BatchDeleteResponse>, Status> {
        let caller = principal::caller(&request)?;
        let request = request.into_inner();
        respond(
            async {
                caller.principal.require_admin()?;
                let ids = validate::batch_ids("product_ids", &request.product_ids)?;
                let mut transaction = self.state.pool.begin().await?;
                let mut response = BatchDeleteResponse::default();
                for id in ids {
                    match self.delete_one(&mut transaction, &caller, id).await {
                        Ok(true) => response.deactivated_product_ids.push(id.to_string()),
                        Ok(false) => response.deleted_count += 1,
                        Err(AppError::NotFound(_)) => response.not_found_ids.push(id.to_string()),
                        Err(other) => return Err(other),
                    }
                }
                oplog::record(
                    &mut transaction,
                    &caller,
                    "batch_delete_products",
                    "product",
                    "",
                    json!({"deleted": response.deleted_count, "deactivated": response.deactivated_product_ids}),
                )
                .await?;
                transaction.commit().await?;
                Ok(response)
            }
            .await,
        )
    }

    async fn import_upstream_products(
        &self,
        request: Request<ImportUpstreamProductsRequest>,
    ) -> Result<Response<ImportUpstreamProductsResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.import(&caller, request.into_inner()).await)
    }

    async fn batch_update_price(
        &self,
        request: Request<BatchUpdatePriceRequest>,
    ) -> Result<Response<BatchUpdatePriceResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.reprice(&caller, request.into_inner()).await)
    }
}
