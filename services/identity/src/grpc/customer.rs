//! `rustbill.customer.CustomerService`: customer accounts (admin only).
//! Balances are read from the payments service; identity stores none.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustbill_proto::customer::customer_service_server::CustomerService;
use rustbill_proto::customer::*;
use rustbill_shared::grpc::respond;
use rustbill_shared::ids::{format_time, parse_id};
use rustbill_shared::principal::{self, Caller};
use rustbill_shared::{AppError, AppResult, Money};
use sqlx::{FromRow, PgConnection};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::state::State;
use crate::{events, oplog, validate};

#[derive(Debug, Clone)]
pub struct Customers {
    state: State,
}

impl Customers {
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

#[derive(Debug, Clone, FromRow)]
struct CustomerRow {
    id: Uuid,
    name: String,
    contact_person: String,
    email: String,
    phone: String,
    company: String,
    notes: String,
    credit_limit: Decimal,
    is_active: bool,
    can_create_api_keys: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, contact_person, email, phone, company, notes, credit_limit, is_active,
                       can_create_api_keys, created_at, updated_at";

impl CustomerRow {
    fn info(&self, balance: Money) -> CustomerInfo {
        CustomerInfo {
            id: self.id.to_string(),
            name: self.name.clone(),
            contact_person: self.contact_person.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            company: self.company.clone(),
            notes: self.notes.clone(),
            balance: balance.to_string(),
            credit_limit: Money::from_decimal(self.credit_limit).to_string(),
            is_active: self.is_active,
            created_at: format_time(self.created_at),
            updated_at: format_time(self.updated_at),
            can_create_api_keys: self.can_create_api_keys,
        }
    }
}

/// Validated contact fields shared by create and update.
struct ContactFields {
    contact_person: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
    notes: Option<String>,
    credit_limit: Option<Money>,
}

fn contact_fields(
    contact_person: Option<&str>,
    email: Option<&str>,
    phone: Option<&str>,
    company: Option<&str>,
    notes: Option<&str>,
    credit_limit: Option<&str>,
) -> AppResult<ContactFields> {
    Ok(ContactFields {
        contact_person: contact_person
            .map(|value| validate::optional_text("contact_person", value, 100))
            .transpose()?,
        email: email.map(|value| validate::optional_email("email", value)).transpose()?,
        phone: phone
            .map(|value| {
                let phone = validate::optional_text("phone", value, 32)?;
                if !phone.chars().all(|character| character.is_ascii_digit() || " +-()".contains(character)) {
                    return Err(AppError::invalid_field("phone", "may contain only digits, spaces and + - ( )"));
                }
                Ok(phone)
            })
            .transpose()?,
        company: company.map(|value| validate::optional_text("company", value, 200)).transpose()?,
        notes: notes.map(|value| validate::optional_text("notes", value, validate::MAX_NOTES_CHARS)).transpose()?,
        credit_limit: credit_limit
            .map(|value| {
                if value.trim().is_empty() { Ok(Money::ZERO) } else { Money::parse_field("credit_limit", value.trim()) }
            })
            .transpose()?,
    })
}

/// Serialises name checks so two concurrent creates cannot both pass.
async fn lock_names(connection: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("select pg_advisory_xact_lock(hashtext('rustbill:customer-names'))").execute(connection).await?;
    Ok(())
}

async fn name_taken(connection: &mut PgConnection, name: &str, except: Option<Uuid>) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from customers where lower(name) = lower($1) and ($2::uuid is null or id <> $2))",
    )
    .bind(name)
    .bind(except)
    .fetch_one(connection)
    .await
}

impl Customers {
    async fn with_balance(&self, caller: &Caller, row: &CustomerRow) -> AppResult<CustomerInfo> {
        let balance = self.state.balances.balance(caller, row.id).await?;
        Ok(row.info(balance))
    }

    async fn create(&self, caller: &Caller, request: CreateCustomerRequest) -> AppResult<CreateCustomerResponse> {
        caller.principal.require_admin()?;
        let name = validate::required_text("name", &request.name, 200)?;
        let fields = contact_fields(
            Some(&request.contact_person),
            Some(&request.email),
            Some(&request.phone),
            Some(&request.company),
            Some(&request.notes),
            Some(&request.credit_limit),
        )?;
        let mut transaction = self.state.pool.begin().await?;
        lock_names(&mut transaction).await?;
        if name_taken(&mut transaction, &name, None).await? {
            return Err(AppError::AlreadyExists("a customer with this name already exists".into()));
        }
        let id = Uuid::now_v7();
        let row: CustomerRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "insert into customers (id, name, contact_person, email, phone, company, notes, credit_limit)
             values ($1, $2, $3, $4, $5, $6, $7, $8)
             returning {COLUMNS}"
        )))
        .bind(id)
        .bind(&name)
        .bind(fields.contact_person.unwrap_or_default())
        .bind(fields.email.unwrap_or_default())
        .bind(fields.phone.unwrap_or_default())
        .bind(fields.company.unwrap_or_default())
        .bind(fields.notes.unwrap_or_default())
        .bind(fields.credit_limit.unwrap_or(Money::ZERO).as_decimal())
        .fetch_one(&mut *transaction)
        .await?;
        oplog::record(
            &mut transaction,
            caller,
            "create_customer",
            "customer",
            &id.to_string(),
            serde_json::json!({ "name": name }),
        )
        .await?;
        events::publish(
            &mut transaction,
            caller,
            events::CUSTOMER_CREATED,
            id,
            Some(id),
            serde_json::json!({ "customer_id": id, "name": name }),
        )
        .await?;
        transaction.commit().await?;
        Ok(CreateCustomerResponse { customer: Some(self.with_balance(caller, &row).await?) })
    }

    async fn list(&self, caller: &Caller, request: ListCustomersRequest) -> AppResult<ListCustomersResponse> {
        caller.principal.require_admin()?;
        let (page, page_size) = validate::paging(request.pagination.as_ref());
        let search = request
            .search
            .as_deref()
            .map(|search| validate::optional_text("search", search, 100))
            .transpose()?
            .filter(|search| !search.is_empty())
            .map(|search| validate::like_pattern(&search));
        let filter = "($1::bool is null or is_active = $1)
                      and ($2::text is null or name ilike $2 or email ilike $2 or company ilike $2 or contact_person ilike $2)";
        let mut connection = self.state.pool.acquire().await?;
        let total: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from customers where {filter}")))
                .bind(request.is_active)
                .bind(&search)
                .fetch_one(&mut *connection)
                .await?;
        let rows: Vec<CustomerRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select {COLUMNS} from customers where {filter} order by created_at, id limit $3 offset $4"
        )))
        .bind(request.is_active)
        .bind(&search)
        .bind(i64::from(page_size))
        .bind(i64::from(page - 1) * i64::from(page_size))
        .fetch_all(&mut *connection)
        .await?;
        drop(connection);
        let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
        let balances: HashMap<Uuid, Money> = self.state.balances.balances(caller, &ids).await?;
        Ok(ListCustomersResponse {
            customers: rows.iter().map(|row| row.info(balances.get(&row.id).copied().unwrap_or(Money::ZERO))).collect(),
            meta: Some(validate::page_meta(total, page, page_size)),
        })
    }

    async fn get(&self, caller: &Caller, request: GetCustomerRequest) -> AppResult<GetCustomerResponse> {
        caller.principal.require_admin()?;
        let id = parse_id("id", &request.id)?;
        let row: CustomerRow =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("select {COLUMNS} from customers where id = $1")))
                .bind(id)
                .fetch_optional(&self.state.pool)
                .await?
                .ok_or_else(|| AppError::not_found("customer not found"))?;
        Ok(GetCustomerResponse { customer: Some(self.with_balance(caller, &row).await?) })
    }

    async fn update(&self, caller: &Caller, request: UpdateCustomerRequest) -> AppResult<UpdateCustomerResponse> {
        caller.principal.require_admin()?;
        let id = parse_id("id", &request.id)?;
        let name = request.name.as_deref().map(|name| validate::required_text("name", name, 200)).transpose()?;
        let fields = contact_fields(
            request.contact_person.as_deref(),
            request.email.as_deref(),
            request.phone.as_deref(),
            request.company.as_deref(),
            request.notes.as_deref(),
            request.credit_limit.as_deref(),
        )?;
        let mut transaction = self.state.pool.begin().await?;
        lock_names(&mut transaction).await?;
        let exists: bool = sqlx::query_scalar("select exists (select 1 from customers where id = $1 for update)")
            .bind(id)
            .fetch_one(&mut *transaction)
            .await?;
        if !exists {
            return Err(AppError::not_found("customer not found"));
        }
        if let Some(name) = &name
            && name_taken(&mut transaction, name, Some(id)).await?
        {
            return Err(AppError::AlreadyExists("a customer with this name already exists".into()));
        }
        let row: CustomerRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "update customers set
               name = coalesce($2, name),
               contact_person = coalesce($3, contact_person),
               email = coalesce($4, email),
               phone = coalesce($5, phone),
               company = coalesce($6, company),
               notes = coalesce($7, notes),
               credit_limit = coalesce($8, credit_limit),
               is_active = coalesce($9, is_active),
               can_create_api_keys = coalesce($10, can_create_api_keys)
             where id = $1
             returning {COLUMNS}"
        )))
        .bind(id)
        .bind(&name)
        .bind(&fields.contact_person)
        .bind(&fields.email)
        .bind(&fields.phone)
        .bind(&fields.company)
        .bind(&fields.notes)
        .bind(fields.credit_limit.map(|money| money.as_decimal()))
        .bind(request.is_active)
        .bind(request.can_create_api_keys)
        .fetch_one(&mut *transaction)
        .await?;
        let mut changed = serde_json::Map::new();
        for (key, present) in [
            ("name", name.is_some()),
            ("contact_person", fields.contact_person.is_some()),
            ("email", fields.email.is_some()),
            ("phone", fields.phone.is_some()),
            ("company", fields.company.is_some()),
            ("notes", fields.notes.is_some()),
        ] {
            if present {
                changed.insert(key.into(), true.into());
            }
        }
        if let Some(limit) = fields.credit_limit {
            changed.insert("credit_limit".into(), limit.to_string().into());
        }
        if let Some(active) = request.is_active {
            changed.insert("is_active".into(), active.into());
        }
        if let Some(flag) = request.can_create_api_keys {
            changed.insert("can_create_api_keys".into(), flag.into());
        }
        oplog::record(&mut transaction, caller, "update_customer", "customer", &id.to_string(), changed.clone().into())
            .await?;
        events::publish(
            &mut transaction,
            caller,
            events::CUSTOMER_UPDATED,
            id,
            Some(id),
            serde_json::json!({ "customer_id": id, "changed": changed, "is_active": row.is_active }),
        )
        .await?;
        transaction.commit().await?;
        Ok(UpdateCustomerResponse { customer: Some(self.with_balance(caller, &row).await?) })
    }

    async fn delete(&self, caller: &Caller, request: DeleteCustomerRequest) -> AppResult<DeleteCustomerResponse> {
        caller.principal.require_admin()?;
        let id = parse_id("id", &request.id)?;
        let name: String = sqlx::query_scalar("select name from customers where id = $1")
            .bind(id)
            .fetch_optional(&self.state.pool)
            .await?
            .ok_or_else(|| AppError::not_found("customer not found"))?;
        // Money first: a customer holding a balance cannot disappear.
        let balance = self.state.balances.balance(caller, id).await?;
        if balance != Money::ZERO {
            return Err(AppError::FailedPrecondition(format!(
                "customer has a balance of {balance}; settle it before deleting the customer"
            )));
        }
        let mut transaction = self.state.pool.begin().await?;
        let deleted = sqlx::query("delete from customers where id = $1").bind(id).execute(&mut *transaction).await?;
        if deleted.rows_affected() == 0 {
            return Err(AppError::not_found("customer not found"));
        }
        oplog::record(
            &mut transaction,
            caller,
            "delete_customer",
            "customer",
            &id.to_string(),
            serde_json::json!({ "name": name }),
        )
        .await?;
        events::publish(
            &mut transaction,
            caller,
            events::CUSTOMER_DELETED,
            id,
            Some(id),
            serde_json::json!({ "customer_id": id }),
        )
        .await?;
        transaction.commit().await?;
        Ok(DeleteCustomerResponse {})
    }
}

#[tonic::async_trait]
impl CustomerService for Customers {
    async fn create_customer(
        &self,
        request: Request<CreateCustomerRequest>,
    ) -> Result<Response<CreateCustomerResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.create(&caller, request.into_inner()).await)
    }

    async fn list_customers(
        &self,
        request: Request<ListCustomersRequest>,
    ) -> Result<Response<ListCustomersResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.list(&caller, request.into_inner()).await)
    }

    async fn get_customer(
        &self,
        request: Request<GetCustomerRequest>,
    ) -> Result<Response<GetCustomerResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.get(&caller, request.into_inner()).await)
    }

    async fn update_customer(
        &self,
        request: Request<UpdateCustomerRequest>,
    ) -> Result<Response<UpdateCustomerResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.update(&caller, request.into_inner()).await)
    }

    async fn delete_customer(
        &self,
        request: Request<DeleteCustomerRequest>,
    ) -> Result<Response<DeleteCustomerResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.delete(&caller, request.into_inner()).await)
    }
}
