//! `rustbill.product.ProductCategoryService`: categories hold product
//! groups. Reads are public; changes need an admin or operator. A category
//! that still holds groups cannot be deleted.

use chrono::{DateTime, Utc};
use rustbill_proto::product::product_category_service_server::ProductCategoryService;
use rustbill_proto::product::*;
use rustbill_shared::grpc::respond;
use rustbill_shared::ids::{format_time, parse_id};
use rustbill_shared::oplog;
use rustbill_shared::paging::{page_meta, paging};
use rustbill_shared::principal::{self, Caller};
use rustbill_shared::{AppError, AppResult};
use serde_json::json;
use sqlx::FromRow;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{State, events, validate};

#[derive(Debug, Clone)]
pub struct Categories {
    state: State,
}

impl Categories {
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

#[derive(Debug, FromRow)]
struct CategoryRow {
    id: Uuid,
    name: String,
    description: String,
    sort_order: i32,
    group_count: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const SELECT: &str = "select c.id, c.name, c.description, c.sort_order, c.created_at, c.updated_at,
            (select count(*) from product_groups g where g.category_id = c.id) as group_count
     from categories c";

impl From<&CategoryRow> for ProductCategoryInfo {
    fn from(row: &CategoryRow) -> Self {
        ProductCategoryInfo {
            id: row.id.to_string(),
            name: row.name.clone(),
            description: row.description.clone(),
            sort_order: row.sort_order,
            group_count: u32::try_from(row.group_count).unwrap_or(u32::MAX),
            created_at: format_time(row.created_at),
            updated_at: format_time(row.updated_at),
        }
    }
}

fn unique(error: sqlx::Error) -> AppError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            AppError::AlreadyExists("a category with this name exists".into())
        }
        _ => error.into(),
    }
}

impl Categories {
    async fn get_row(&self, id: Uuid) -> AppResult<CategoryRow> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} where c.id = $1")))
            .bind(id)
            .fetch_optional(&self.state.pool)
            .await?
            .ok_or_else(|| AppError::not_found("category not found"))
    }

    async fn change(
        &self,
        caller: &Caller,
        id: Option<Uuid>,
        name: &str,
        description: &str,
        sort: i32,
    ) -> AppResult<ProductCategoryInfo> {
        caller.principal.require_admin()?;
        let name = validate::text("name", name, 100, true, false)?;
        let description = validate::text("description", description, 2000, false, true)?;
        let mut transaction = self.state.pool.begin().await?;
        let (id, action) = match id {
            None => {
                let id = Uuid::now_v7();
                sqlx::query("insert into categories (id, name, description, sort_order) values ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(&name)
                    .bind(&description)
                    .bind(sort)
                    .execute(&mut *transaction)
                    .await
                    .map_err(unique)?;
                (id, "created")
            }
            Some(id) => {
                let updated = sqlx::query(
                    "update categories set name = $2, description = $3, sort_order = $4, updated_at = now() where id = $1",
                )
                .bind(id)
                .bind(&name)
                .bind(&description)
                .bind(sort)
                .execute(&mut *transaction)
                .await
                .map_err(unique)?;
                if updated.rows_affected() == 0 {
                    return Err(AppError::not_found("category not found"));
                }
                (id, "updated")
            }
        };
        events::publish(
            &mut transaction,
            caller,
            events::STRUCTURE_CHANGED,
            id,
            json!({"kind": "category", "id": id, "action": action}),
        )
        .await?;
        oplog::record(
            &mut transaction,
            caller,
            &format!("{action}_category"),
            "category",
            &id.to_string(),
            json!({"name": name}),
        )
        .await?;
        transaction.commit().await?;
        Ok((&self.get_row(id).await?).into())
    }
}

#[tonic::async_trait]
impl ProductCategoryService for Categories {
    async fn list_product_categories(
        &self,
        request: Request<ListProductCategoriesRequest>,
    ) -> Result<Response<ListProductCategoriesResponse>, Status> {
        let request = request.into_inner();
        respond(
            async {
                let (page, size) = paging(request.pagination.as_ref());
                let rows: Vec<CategoryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{SELECT} order by c.sort_order, c.name, c.id limit $1 offset $2"
                )))
                .bind(i64::from(size))
                .bind(i64::from(page - 1) * i64::from(size))
                .fetch_all(&self.state.pool)
                .await?;
                let total: i64 =
                    sqlx::query_scalar("select count(*) from categories").fetch_one(&self.state.pool).await?;
                Ok(ListProductCategoriesResponse {
                    categories: rows.iter().map(Into::into).collect(),
                    meta: Some(page_meta(total, page, size)),
                })
            }
            .await,
        )
    }

    async fn get_product_category(
        &self,
        request: Request<GetProductCategoryRequest>,
    ) -> Result<Response<GetProductCategoryResponse>, Status> {
        let request = request.into_inner();
        respond(
            async {
                let row = self.get_row(parse_id("id", request.id.trim())?).await?;
                Ok(GetProductCategoryResponse { category: Some((&row).into()) })
            }
            .await,
        )
    }

    async fn create_product_category(
        &self,
        request: Request<CreateProductCategoryRequest>,
    ) -> Result<Response<CreateProductCategoryResponse>, Status> {
        let caller = principal::caller(&request)?;
        let request = request.into_inner();
        let result = self.change(&caller, None, &request.name, &request.description, request.sort_order).await;
        respond(result.map(|category| CreateProductCategoryResponse { category: Some(category) }))
    }

    async fn update_product_category(
        &self,
        request: Request<UpdateProductCategoryRequest>,
    ) -> Result<Response<UpdateProductCategoryResponse>, Status> {
        let caller = principal::caller(&request)?;
        let request = request.into_inner();
        let result = async {
            caller.principal.require_admin()?;
            let id = parse_id("id", request.id.trim())?;
            self.change(&caller, Some(id), &request.name, &request.description, request.sort_order).await
        }
        .await;
        respond(result.map(|category| UpdateProductCategoryResponse { category: Some(category) }))
    }

    async fn delete_product_category(
        &self,
        request: Request<DeleteProductCategoryRequest>,
    ) -> Result<Response<DeleteProductCategoryResponse>, Status> {
        let caller = principal::caller(&request)?;
        let request = request.into_inner();
        respond(
            async {
                caller.principal.require_admin()?;
                let id = parse_id("id", request.id.trim())?;
                let mut transaction = self.state.pool.begin().await?;
                let groups: i64 = sqlx::query_scalar("select count(*) from product_groups where category_id = $1")
                    .bind(id)
                    .fetch_one(&mut *transaction)
                    .await?;
                if groups > 0 {
                    return Err(AppError::FailedPrecondition(format!(
                        "the category still holds {groups} product group(s); move or delete them first"
                    )));
                }
                let deleted =
                    sqlx::query("delete from categories where id = $1").bind(id).execute(&mut *transaction).await?;
                if deleted.rows_affected() == 0 {
                    return Err(AppError::not_found("category not found"));
                }
                events::publish(
                    &mut transaction,
                    &caller,
                    events::STRUCTURE_CHANGED,
                    id,
                    json!({"kind": "category", "id": id, "action": "deleted"}),
                )
                .await?;
                oplog::record(&mut transaction, &caller, "delete_category", "category", &id.to_string(), json!({}))
                    .await?;
                transaction.commit().await?;
                Ok(DeleteProductCategoryResponse {})
            }
            .await,
        )
    }
}
