//! `rustbill.product.ProductGroupService`: groups with their product counts
//! (active products only for the public), in sort order.

use chrono::{DateTime, Utc};
use rustbill_proto::product::product_group_service_server::ProductGroupService;
use rustbill_proto::product::*;
use rustbill_shared::grpc::respond;
use rustbill_shared::ids::{format_time, parse_id};
use rustbill_shared::oplog;
use rustbill_shared::paging::{page_meta, paging};
use rustbill_shared::principal::{self, Caller, Principal};
use rustbill_shared::{AppError, AppResult};
use serde_json::json;
use sqlx::FromRow;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{State, events, validate};

#[derive(Debug, Clone)]
pub struct Groups {
    state: State,
}

impl Groups {
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

#[derive(Debug, FromRow)]
struct GroupRow {
    id: Uuid,
    category_id: Option<Uuid>,
    name: String,
    description: String,
    sort_order: i32,
    product_count: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn info(row: &GroupRow) -> ProductGroupInfo {
    ProductGroupInfo {
        id: row.id.to_string(),
        name: row.name.clone(),
        description: row.description.clone(),
        sort_order: u32::try_from(row.sort_order).unwrap_or(0),
        product_count: u32::try_from(row.product_count).unwrap_or(u32::MAX),
        created_at: format_time(row.created_at),
        updated_at: format_time(row.updated_at),
        category_id: row.category_id.map(|id| id.to_string()).unwrap_or_default(),
    }
}

impl Groups {
    async fn row(&self, id: Uuid) -> AppResult<GroupRow> {
        sqlx::query_as(
            "select g.id, g.category_id, g.name, g.description, g.sort_order, g.created_at, g.updated_at,
                    (select count(*) from products p where p.group_id = g.id) as product_count
             from product_groups g where g.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.state.pool)
        .await?
        .ok_or_else(|| AppError::not_found("product group not found"))
    }

    /// Creates (`id` None) or updates a group.
    async fn save(
        &self,
        caller: &Caller,
        id: Option<Uuid>,
        name: &str,
        description: &str,
        sort_order: u32,
        category: &str,
    ) -> AppResult<ProductGroupInfo> {
        caller.principal.require_admin()?;
        let name = validate::text("name", name, 100, true, false)?;
        let description = validate::text("description", description, 2000, false, true)?;
        let sort_order =
            i32::try_from(sort_order).map_err(|_| AppError::invalid_field("sort_order", "is too large"))?;
        let category = validate::optional_id("category_id", Some(category))?;
        let mut transaction = self.state.pool.begin().await?;
        if let Some(category) = category {
            let exists: bool = sqlx::query_scalar("select exists (select 1 from categories where id = $1)")
                .bind(category)
                .fetch_one(&mut *transaction)
                .await?;
            if !exists {
                return Err(AppError::not_found("category_id: no such category"));
            }
        }
        let (id, action) = match id {
            None => {
                let id = Uuid::now_v7();
                sqlx::query(
                    "insert into product_groups (id, category_id, name, description, sort_order)
                     values ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(category)
                .bind(&name)
                .bind(&description)
                .bind(sort_order)
                .execute(&mut *transaction)
                .await?;
                (id, "created")
            }
            Some(id) => {
                let updated = sqlx::query(
                    "update product_groups set category_id = $2, name = $3, description = $4, sort_order = $5,
                            updated_at = now()
                     where id = $1",
                )
                .bind(id)
                .bind(category)
                .bind(&name)
                .bind(&description)
                .bind(sort_order)
                .execute(&mut *transaction)
                .await?;
                if updated.rows_affected() == 0 {
                    return Err(AppError::not_found("product group not found"));
                }
                (id, "updated")
            }
        };
        events::publish(
            &mut transaction,
            caller,
            events::STRUCTURE_CHANGED,
            id,
            json!({"kind": "group", "id": id, "action": action}),
        )
        .await?;
        oplog::record(
            &mut transaction,
            caller,
            &format!("{action}_group"),
            "product_group",
            &id.to_string(),
            json!({"name": name}),
        )
        .await?;
        transaction.commit().await?;
        Ok(info(&self.row(id).await?))
    }
}

#[tonic::async_trait]
impl ProductGroupService for Groups {
    async fn create_product_group(
        &self,
        request: Request<CreateProductGroupRequest>,
    ) -> Result<Response<CreateProductGroupResponse>, Status> {
        let caller = principal::caller(&request)?;
        let r = request.into_inner();
        let result = self.save(&caller, None, &r.name, &r.description, r.sort_order, &r.category_id).await;
        respond(result.map(|group| CreateProductGroupResponse { group: Some(group) }))
    }

    async fn update_product_group(
        &self,
        request: Request<UpdateProductGroupRequest>,
    ) -> Result<Response<UpdateProductGroupResponse>, Status> {
        let caller = principal::caller(&request)?;
        let r = request.into_inner();
        let result = async {
            caller.principal.require_admin()?;
            let id = parse_id("id", r.id.trim())?;
            self.save(&caller, Some(id), &r.name, &r.description, r.sort_order, &r.category_id).await
        }
        .await;
        respond(result.map(|group| UpdateProductGroupResponse { group: Some(group) }))
    }

    async fn delete_product_group(
        &self,
        request: Request<DeleteProductGroupRequest>,
    ) -> Result<Response<DeleteProductGroupResponse>, Status> {
        let caller = principal::caller(&request)?;
        let r = request.into_inner();
        respond(
            async {
                caller.principal.require_admin()?;
                let id = parse_id("id", r.id.trim())?;
                let mut transaction = self.state.pool.begin().await?;
                // Products leave the group (on delete set null), announced.
                let moved: Vec<Uuid> = sqlx::query_scalar("select id from products where group_id = $1")
                    .bind(id)
                    .fetch_all(&mut *transaction)
                    .await?;
                let deleted =
                    sqlx::query("delete from product_groups where id = $1").bind(id).execute(&mut *transaction).await?;
                if deleted.rows_affected() == 0 {
                    return Err(AppError::not_found("product group not found"));
                }
                for product in &moved {
                    events::publish(
                        &mut transaction,
                        &caller,
                        events::PRODUCT_CHANGED,
                        *product,
                        json!({"product_id": product, "action": "ungrouped"}),
                    )
                    .await?;
                }
                events::publish(
                    &mut transaction,
                    &caller,
                    events::STRUCTURE_CHANGED,
                    id,
                    json!({"kind": "group", "id": id, "action": "deleted"}),
                )
                .await?;
                oplog::record(
                    &mut transaction,
                    &caller,
                    "delete_group",
                    "product_group",
                    &id.to_string(),
                    json!({"ungrouped": moved.len()}),
                )
                .await?;
                transaction.commit().await?;
                Ok(DeleteProductGroupResponse {})
            }
            .await,
        )
    }

    async fn list_product_groups(
        &self,
        request: Request<ListProductGroupsRequest>,
    ) -> Result<Response<ListProductGroupsResponse>, Status> {
        let caller = principal::caller(&request)?;
        let request = request.into_inner();
        respond(
            async {
                let (page, size) = paging(request.pagination.as_ref());
                let category = validate::optional_id("category_id", Some(&request.category_id))?;
                let everything = matches!(caller.principal, Principal::Admin { .. } | Principal::Service { .. });
                let rows: Vec<GroupRow> = sqlx::query_as(
                    "select g.id, g.category_id, g.name, g.description, g.sort_order, g.created_at, g.updated_at,
                        (select count(*) from products p where p.group_id = g.id and ($2 or p.is_active))
                          as product_count
                 from product_groups g
                 where ($1::uuid is null or g.category_id = $1)
                 order by g.sort_order, g.name, g.id
                 limit $3 offset $4",
                )
                .bind(category)
                .bind(everything)
                .bind(i64::from(size))
                .bind(i64::from(page - 1) * i64::from(size))
                .fetch_all(&self.state.pool)
                .await?;
                let total: i64 = sqlx::query_scalar(
                    "select count(*) from product_groups where ($1::uuid is null or category_id = $1)",
                )
                .bind(category)
                .fetch_one(&self.state.pool)
                .await?;
                Ok(ListProductGroupsResponse {
                    groups: rows
                        .iter()
                        .map(|row| ProductGroupInfo {
                            id: row.id.to_string(),
                            name: row.name.clone(),
                            description: row.description.clone(),
                            sort_order: u32::try_from(row.sort_order).unwrap_or(0),
                            product_count: u32::try_from(row.product_count).unwrap_or(u32::MAX),
                            created_at: format_time(row.created_at),
                            updated_at: format_time(row.updated_at),
                            category_id: row.category_id.map(|id| id.to_string()).unwrap_or_default(),
                        })
                        .collect(),
                    meta: Some(page_meta(total, page, size)),
                })
            }
            .await,
        )
    }
}
