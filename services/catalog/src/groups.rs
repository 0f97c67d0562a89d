//! `rustbill.product.ProductGroupService`: groups with their product counts
//! (active products only for the public), in sort order.

use chrono::{DateTime, Utc};
use rustbill_proto::product::product_group_service_server::ProductGroupService;
use rustbill_proto::product::*;
use rustbill_shared::grpc::respond;
use rustbill_shared::ids::format_time;
use rustbill_shared::paging::{page_meta, paging};
use rustbill_shared::principal::{self, Principal};
use sqlx::FromRow;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{State, validate};

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

#[tonic::async_trait]
impl ProductGroupService for Groups {
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
