//! `rustbill.internal.auth.AuthService`: turns the credential a client
//! presented at the edge into a principal. Never fails for a bad
//! credential; it answers anonymous with the reason.

use chrono::{DateTime, Duration, Utc};
use rustbill_proto::internal::auth::auth_service_server::AuthService;
use rustbill_proto::internal::auth::{Principal as WirePrincipal, ResolveRequest, ResolveResponse};
use rustbill_shared::principal::{self, AdminRole, Principal};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::session_cache::{self, SessionRow};
use crate::state::State;
use crate::tokens::{self, API_KEY_PREFIX};

/// Last-seen and last-used stamps are written at most this often per
/// credential, so authentication does not turn every read into a write.
const TOUCH_INTERVAL_SECS: i64 = 60;

#[derive(Debug, Clone)]
pub struct Auth {
    state: State,
}

impl Auth {
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

type Outcome = Result<Principal, &'static str>;

impl Auth {
    async fn session(&self, token: &str) -> Result<Outcome, sqlx::Error> {
        let hash = tokens::sha256(token);
        let cache = self.state.sessions.as_deref();
        let cached = match cache {
            Some(redis) => session_cache::get(redis, &hash).await,
            None => None,
        };
        let from_cache = cached.is_some();
        let row = match cached {
            Some(row) => Some(row),
            None => {
                sqlx::query_as::<_, SessionRow>(
                    "select s.id, s.admin_user_id, s.last_seen_at, s.expires_at, s.revoked_at,
                        u.username, u.role, u.is_active
                 from sessions s join admin_users u on u.id = s.admin_user_id
                 where s.token_hash = $1",
                )
                .bind(&hash)
                .fetch_optional(&self.state.pool)
                .await?
            }
        };
        let Some(mut row) = row else { return Ok(Err("invalid")) };
        let now = Utc::now();
        let idle =
            Duration::minutes(i64::try_from(self.state.config.session.idle_timeout_minutes).unwrap_or(i64::MAX / 120));
        if row.revoked_at.is_some() {
            return Ok(Err("revoked"));
        }
        if row.expires_at <= now || row.last_seen_at + idle <= now {
            return Ok(Err("expired"));
        }
        if !row.is_active {
            return Ok(Err("disabled"));
        }
        let Some(role) = AdminRole::parse(&row.role) else { return Ok(Err("invalid")) };
        let touched = (now - row.last_seen_at).num_seconds() >= TOUCH_INTERVAL_SECS;
        if touched {
            sqlx::query("update sessions set last_seen_at = now() where id = $1")
                .bind(row.id)
                .execute(&self.state.pool)
                .await?;
            row.last_seen_at = now;
        }
        if let Some(redis) = cache
            && (!from_cache || touched)
        {
            session_cache::put(redis, &hash, &row).await;
        }
        Ok(Ok(Principal::Admin { user_id: row.admin_user_id, username: row.username, role, session_id: row.id }))
    }

    async fn api_key(&self, key: &str) -> Result<Outcome, sqlx::Error> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: Uuid,
            customer_id: Uuid,
            enabled: bool,
            revoked_at: Option<DateTime<Utc>>,
            expires_at: Option<DateTime<Utc>>,
            last_used_at: Option<DateTime<Utc>>,
            customer_active: bool,
        }
        let row: Option<Row> = sqlx::query_as(
            "select k.id, k.customer_id, k.enabled, k.revoked_at, k.expires_at, k.last_used_at,
                    c.is_active as customer_active
             from api_keys k join customers c on c.id = k.customer_id
             where k.key_hash = $1",
        )
        .bind(tokens::sha256(key))
        .fetch_optional(&self.state.pool)
        .await?;
        let Some(row) = row else { return Ok(Err("invalid")) };
        let now = Utc::now();
        if row.revoked_at.is_some() || !row.enabled {
            return Ok(Err("revoked"));
        }
        if row.expires_at.is_some_and(|expires_at| expires_at <= now) {
            return Ok(Err("expired"));
        }
        if !row.customer_active {
            return Ok(Err("disabled"));
        }
        if row.last_used_at.is_none_or(|used| (now - used).num_seconds() >= TOUCH_INTERVAL_SECS) {
            sqlx::query("update api_keys set last_used_at = now() where id = $1")
                .bind(row.id)
                .execute(&self.state.pool)
                .await?;
        }
        Ok(Ok(Principal::ApiKey { api_key_id: row.id, customer_id: row.customer_id }))
    }

    async fn access_token(&self, token: &str) -> Result<Outcome, sqlx::Error> {
        let claims = match self.state.jwt.verify(token) {
            Ok(claims) => claims,
            Err(failure) => return Ok(Err(failure.as_str())),
        };
        #[derive(sqlx::FromRow)]
        struct Row {
            user_active: bool,
            customer_active: bool,
            customer_id: Uuid,
            family_revoked: Option<bool>,
        }
        let row: Option<Row> = sqlx::query_as(
            "select u.is_active as user_active, c.is_active as customer_active, u.customer_id,
                    (select bool_or(r.revoked_at is not null) from refresh_tokens r where r.family_id = $2)
                      as family_revoked
             from customer_users u join customers c on c.id = u.customer_id
             where u.id = $1",
        )
        .bind(claims.sub)
        .bind(claims.fam)
        .fetch_optional(&self.state.pool)
        .await?;
        let Some(row) = row else { return Ok(Err("invalid")) };
        // A family with no rows was deleted with its user, or never existed.
        match row.family_revoked {
            None => return Ok(Err("invalid")),
            Some(true) => return Ok(Err("revoked")),
            Some(false) => {}
        }
        if !row.user_active || !row.customer_active {
            return Ok(Err("disabled"));
        }
        if row.customer_id != claims.cid {
            return Ok(Err("invalid"));
        }
        Ok(Ok(Principal::Customer {
            user_id: claims.sub,
            customer_id: claims.cid,
            username: claims.usr,
            family_id: claims.fam,
        }))
    }
}

fn to_wire(principal: &Principal) -> WirePrincipal {
    let mut wire = WirePrincipal::default();
    match principal {
        Principal::Anonymous { .. } => wire.kind = "anonymous".into(),
        Principal::Admin { user_id, username, role, session_id } => {
            wire.kind = "admin".into();
            wire.user_id = user_id.to_string();
            wire.username = username.clone();
            wire.role = role.as_str().into();
            wire.session_id = session_id.to_string();
        }
        Principal::Customer { user_id, customer_id, username, family_id } => {
            wire.kind = "customer".into();
            wire.user_id = user_id.to_string();
            wire.customer_id = customer_id.to_string();
            wire.username = username.clone();
            wire.session_id = family_id.to_string();
        }
        Principal::ApiKey { api_key_id, customer_id } => {
            wire.kind = "api_key".into();
            wire.api_key_id = api_key_id.to_string();
            wire.customer_id = customer_id.to_string();
        }
        Principal::Service { name } => {
            wire.kind = "service".into();
            wire.username = name.clone();
        }
    }
    wire
}

#[tonic::async_trait]
impl AuthService for Auth {
    async fn resolve(&self, request: Request<ResolveRequest>) -> Result<Response<ResolveResponse>, Status> {
        // Only the edge may resolve credentials.
        let caller = principal::caller(&request)?;
        if !matches!(caller.principal, Principal::Service { .. }) {
            return Err(Status::permission_denied("permission_denied: internal RPC"));
        }
        let request = request.into_inner();
        let mut failure: Option<&'static str> = None;
        let mut resolved: Option<Principal> = None;
        let result: Result<(), sqlx::Error> = async {
            if !request.session_token.is_empty() && request.session_token.len() <= 256 {
                match self.session(&request.session_token).await? {
                    Ok(principal) => resolved = Some(principal),
                    Err(reason) => failure = Some(reason),
                }
            }
            let bearer = request.bearer_token.trim();
            if resolved.is_none() && !bearer.is_empty() {
                let outcome = if bearer.len() > 4096 {
                    Err("invalid")
                } else if bearer.starts_with(API_KEY_PREFIX) {
                    self.api_key(bearer).await?
                } else {
                    self.access_token(bearer).await?
                };
                match outcome {
                    Ok(principal) => resolved = Some(principal),
                    Err(reason) => failure = Some(reason),
                }
            }
            Ok(())
        }
        .await;
        if let Err(error) = result {
            tracing::error!(%error, "credential lookup failed");
            return Err(Status::unavailable("credential lookup failed"));
        }
        let principal = resolved.unwrap_or_else(Principal::anonymous);
        if let Some(reason) = failure
            && principal.is_anonymous()
        {
            tracing::warn!(reason, client_ip = %request.client_ip, "credential refused");
        }
        Ok(Response::new(ResolveResponse {
            principal: Some(to_wire(&principal)),
            failure: if principal.is_anonymous() { failure.unwrap_or("").to_string() } else { String::new() },
        }))
    }
}
