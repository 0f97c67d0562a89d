//! `rustbill.internal.customers.CustomerDirectoryService`: customer facts
//! for other services (orders, payments). Service principals only.

use rust_decimal::Decimal;
use rustbill_proto::internal::customers::customer_directory_service_server::CustomerDirectoryService;
use rustbill_proto::internal::customers::{AdminUserFacts, CustomerFacts, GetAdminUserRequest, GetCustomerRequest};
use rustbill_shared::ids::parse_id;
use rustbill_shared::principal::{self, Principal};
use rustbill_shared::{AppError, Money};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::state::State;

#[derive(Debug, Clone)]
pub struct Directory {
    state: State,
}

impl Directory {
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl CustomerDirectoryService for Directory {
    async fn get_customer(&self, request: Request<GetCustomerRequest>) -> Result<Response<CustomerFacts>, Status> {
        if !matches!(principal::caller(&request)?.principal, Principal::Service { .. }) {
            return Err(AppError::permission_denied("internal RPC").into());
        }
        let id = parse_id("customer_id", &request.get_ref().customer_id)?;
        let row: Option<(Uuid, String, String, Decimal, bool)> =
            sqlx::query_as("select id, name, email, credit_limit, is_active from customers where id = $1")
                .bind(id)
                .fetch_optional(&self.state.pool)
                .await
                .map_err(AppError::from)?;
        let (id, name, email, credit_limit, is_active) =
            row.ok_or_else(|| AppError::not_found("customer_id: no customer has this id"))?;
        Ok(Response::new(CustomerFacts {
            customer_id: id.to_string(),
            name,
            email,
            credit_limit: Money::from_decimal(credit_limit).to_string(),
            is_active,
        }))
    }

    async fn get_admin_user(&self, request: Request<GetAdminUserRequest>) -> Result<Response<AdminUserFacts>, Status> {
        if !matches!(principal::caller(&request)?.principal, Principal::Service { .. }) {
            return Err(AppError::permission_denied("internal RPC").into());
        }
        let id = parse_id("user_id", &request.get_ref().user_id)?;
        let row: Option<(Uuid, String, String, String, bool)> =
            sqlx::query_as("select id, username, email, role, is_active from admin_users where id = $1")
                .bind(id)
                .fetch_optional(&self.state.pool)
                .await
                .map_err(AppError::from)?;
        let (id, username, email, role, is_active) =
            row.ok_or_else(|| AppError::not_found("user_id: no admin user has this id"))?;
        Ok(Response::new(AdminUserFacts { user_id: id.to_string(), username, email, role, is_active }))
    }
}
