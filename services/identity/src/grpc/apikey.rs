//! `rustbill.downstream.ApiKeyService`: API keys for downstream resellers.
//!
//! A key is shown once, at creation; only its SHA-256 is stored. Admins
//! manage any customer's keys; a customer user manages its own customer's
//! keys when the customer has `can_create_api_keys`. A key itself cannot
//! manage keys.

use chrono::{DateTime, Duration, Utc};
use rustbill_proto::downstream::api_key_service_server::ApiKeyService;
use rustbill_proto::downstream::*;
use rustbill_shared::grpc::respond;
use rustbill_shared::ids::{format_optional_time, format_time, parse_id};
use rustbill_shared::principal::{self, Caller, Principal};
use rustbill_shared::{AppError, AppResult};
use sqlx::{FromRow, PgConnection};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::state::State;
use crate::{oplog, tokens, validate};

#[derive(Debug, Clone)]
pub struct ApiKeys {
    state: State,
}

impl ApiKeys {
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

#[derive(Debug, FromRow)]
struct KeyRow {
    id: Uuid,
    customer_id: Uuid,
    key_prefix: String,
    name: String,
    enabled: bool,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
}

impl From<&KeyRow> for ApiKeyInfo {
    fn from(row: &KeyRow) -> Self {
        ApiKeyInfo {
            id: row.id.to_string(),
            key_prefix: row.key_prefix.clone(),
            name: row.name.clone(),
            enabled: row.enabled,
            created_at: format_time(row.created_at),
            last_used_at: format_optional_time(row.last_used_at),
            expires_at: format_optional_time(row.expires_at),
        }
    }
}

/// Whether the caller may manage the keys of `customer_id`.
async fn authorize(connection: &mut PgConnection, caller: &Caller, customer_id: Uuid) -> AppResult<()> {
    match &caller.principal {
        Principal::Admin { .. } => {
            let exists: bool = sqlx::query_scalar("select exists (select 1 from customers where id = $1)")
                .bind(customer_id)
                .fetch_one(connection)
                .await?;
            if exists { Ok(()) } else { Err(AppError::not_found("customer not found")) }
        }
        Principal::Customer { customer_id: own, .. } => {
            if *own != customer_id {
                return Err(AppError::permission_denied("you can manage only your own API keys"));
            }
            let allowed: Option<bool> = sqlx::query_scalar("select can_create_api_keys from customers where id = $1")
                .bind(customer_id)
                .fetch_optional(connection)
                .await?;
            if allowed == Some(true) {
                Ok(())
            } else {
                Err(AppError::permission_denied("API keys are not enabled for your account"))
            }
        }
        Principal::Anonymous { .. } => caller.principal.require_authenticated().map(|_| ()),
        _ => Err(AppError::permission_denied("API keys cannot manage API keys")),
    }
}

impl ApiKeys {
    /// The customer a request is about: customers always act for their own
    /// customer; admins must name one.
    fn target_customer(&self, caller: &Caller, field: &str, requested: &str) -> AppResult<Uuid> {
        caller.principal.require_authenticated()?;
        match (&caller.principal, requested.trim()) {
            (Principal::Customer { customer_id, .. }, "") => Ok(*customer_id),
            (_, text) => parse_id(field, text),
        }
    }

    async fn create(&self, caller: &Caller, request: CreateApiKeyRequest) -> AppResult<CreateApiKeyResponse> {
        let customer_id = self.target_customer(caller, "customer_id", &request.customer_id)?;
        let name = validate::required_text("name", &request.name, 100)?;
        let mut transaction = self.state.pool.begin().await?;
        authorize(&mut transaction, caller, customer_id).await?;
        let (key, prefix) = tokens::new_api_key();
        let id = Uuid::now_v7();
        let ttl_days = i64::try_from(self.state.config.identity.api_key_ttl_days).unwrap_or(0);
        let expires_at = (ttl_days > 0).then(|| Utc::now() + Duration::days(ttl_days));
        sqlx::query(
            "insert into api_keys (id, customer_id, name, key_prefix, key_hash, created_by, expires_at)
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(customer_id)
        .bind(&name)
        .bind(&prefix)
        .bind(tokens::sha256(&key))
        .bind(caller.principal.label())
        .bind(expires_at)
        .execute(&mut *transaction)
        .await?;
        oplog::record(
            &mut transaction,
            caller,
            "create_api_key",
            "api_key",
            &id.to_string(),
            serde_json::json!({ "customer_id": customer_id, "name": name, "key_prefix": prefix }),
        )
        .await?;
        transaction.commit().await?;
        Ok(CreateApiKeyResponse { api_key: key, key_prefix: prefix, id: id.to_string() })
    }

    async fn list(&self, caller: &Caller, request: ListApiKeysRequest) -> AppResult<ListApiKeysResponse> {
        let customer_id = self.target_customer(caller, "customer_id", &request.customer_id)?;
        let mut connection = self.state.pool.acquire().await?;
        authorize(&mut connection, caller, customer_id).await?;
        let rows: Vec<KeyRow> = sqlx::query_as(
            "select id, customer_id, key_prefix, name, enabled, created_at, last_used_at, expires_at
             from api_keys where customer_id = $1 order by created_at desc, id desc",
        )
        .bind(customer_id)
        .fetch_all(&mut *connection)
        .await?;
        Ok(ListApiKeysResponse { keys: rows.iter().map(ApiKeyInfo::from).collect() })
    }

    async fn revoke(&self, caller: &Caller, request: RevokeApiKeyRequest) -> AppResult<RevokeApiKeyResponse> {
        caller.principal.require_authenticated()?;
        let id = parse_id("id", &request.id)?;
        let mut transaction = self.state.pool.begin().await?;
        let row: Option<KeyRow> = sqlx::query_as(
            "select id, customer_id, key_prefix, name, enabled, created_at, last_used_at, expires_at
             from api_keys where id = $1 for update",
        )
        .bind(id)
        .fetch_optional(&mut *transaction)
        .await?;
        let Some(row) = row else { return Err(AppError::not_found("API key not found")) };
        authorize(&mut transaction, caller, row.customer_id).await?;
        sqlx::query("update api_keys set enabled = false, revoked_at = coalesce(revoked_at, now()) where id = $1")
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        oplog::record(
            &mut transaction,
            caller,
            "revoke_api_key",
            "api_key",
            &id.to_string(),
            serde_json::json!({ "customer_id": row.customer_id, "key_prefix": row.key_prefix }),
        )
        .await?;
        transaction.commit().await?;
        Ok(RevokeApiKeyResponse {})
    }
}

#[tonic::async_trait]
impl ApiKeyService for ApiKeys {
    async fn create_api_key(
        &self,
        request: Request<CreateApiKeyRequest>,
    ) -> Result<Response<CreateApiKeyResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.create(&caller, request.into_inner()).await)
    }

    async fn list_api_keys(
        &self,
        request: Request<ListApiKeysRequest>,
    ) -> Result<Response<ListApiKeysResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.list(&caller, request.into_inner()).await)
    }

    async fn revoke_api_key(
        &self,
        request: Request<RevokeApiKeyRequest>,
    ) -> Result<Response<RevokeApiKeyResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.revoke(&caller, request.into_inner()).await)
    }
}
