//! `rustbill.identity.IdentityService`: registration, login, tokens, users.

use chrono::{Duration, Utc};
use rustbill_proto::identity::identity_service_server::IdentityService;
use rustbill_proto::identity::*;
use rustbill_shared::error::ResultExt;
use rustbill_shared::grpc::respond;
use rustbill_shared::ids::parse_id;
use rustbill_shared::principal::{self, CLEAR_SESSION_HEADER, Caller, Principal, SET_SESSION_HEADER};
use rustbill_shared::{AppError, AppResult};
use sqlx::PgConnection;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::state::State;
use crate::users::{self, AdminRow, CustomerUserRow};
use crate::validate::{self, UserType};
use crate::{events, oplog, passwords, tokens, verification};

const BAD_LOGIN: &str = "invalid username or password";
const BAD_REFRESH: &str = "refresh token is invalid or expired";

#[derive(Debug, Clone)]
pub struct Identity {
    pub(super) state: State,
}

impl Identity {
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

/// A user of either kind.
enum AnyUser {
    Admin(AdminRow),
    Customer(CustomerUserRow),
}

impl AnyUser {
    fn info(&self) -> UserInfo {
        match self {
            Self::Admin(row) => row.into(),
            Self::Customer(row) => row.into(),
        }
    }
}

async fn find_user(connection: &mut PgConnection, id: Uuid, hint: Option<UserType>) -> AppResult<AnyUser> {
    if hint != Some(UserType::Customer)
        && let Some(row) = users::admin_by_id(connection, id).await?
    {
        return Ok(AnyUser::Admin(row));
    }
    if hint != Some(UserType::Admin)
        && let Some(row) = users::customer_user_by_id(connection, id).await?
    {
        return Ok(AnyUser::Customer(row));
    }
    Err(AppError::not_found("user not found"))
}

/// Stores a new password hash and ends the user's logins, except `keep`
/// (the caller's own session or refresh-token family, when changing their
/// own password).
async fn set_password(connection: &mut PgConnection, user: &AnyUser, hash: &str, keep: Option<Uuid>) -> AppResult<()> {
    match user {
        AnyUser::Admin(row) => {
            sqlx::query("update admin_users set password_hash = $2 where id = $1")
                .bind(row.id)
                .bind(hash)
                .execute(&mut *connection)
                .await?;
            users::revoke_admin_sessions(connection, row.id, keep).await?;
        }
        AnyUser::Customer(row) => {
            sqlx::query("update customer_users set password_hash = $2 where id = $1")
                .bind(row.id)
                .bind(hash)
                .execute(&mut *connection)
                .await?;
            users::revoke_customer_families(connection, row.id, keep).await?;
        }
    }
    Ok(())
}

/// Refuses a change that would leave no active admin.
async fn ensure_other_active_admin(connection: &mut PgConnection, except: Uuid) -> AppResult<()> {
    let others: i64 =
        sqlx::query_scalar("select count(*) from admin_users where role = 'admin' and is_active and id <> $1")
            .bind(except)
            .fetch_one(connection)
            .await?;
    if others == 0 {
        return Err(AppError::FailedPrecondition(
            "the last active admin cannot be removed, demoted or disabled".into(),
        ));
    }
    Ok(())
}

fn unique_violation(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(database) if database.code().as_deref() == Some("23505") => {
            database.constraint().map(str::to_string)
        }
        _ => None,
    }
}

impl Identity {
    /// Starts an admin session (the password, and the second factor when
    /// there is one, are checked): the row, the last login and the
    /// operation log in one transaction. The token for the cookie and its
    /// lifetime.
    pub(super) async fn start_admin_session(&self, caller: &Caller, row: &AdminRow) -> AppResult<(String, Duration)> {
        let token = tokens::random_token();
        let session = &self.state.config.session;
        let lifetime = Duration::hours(i64::try_from(session.absolute_timeout_hours).unwrap_or(24 * 7));
        let mut transaction = self.state.pool.begin().await?;
        sqlx::query(
            "insert into sessions (id, admin_user_id, token_hash, client_ip, expires_at)
             values ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(row.id)
        .bind(tokens::sha256(&token))
        .bind(&caller.client_ip)
        .bind(Utc::now() + lifetime)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("update admin_users set last_login_at = now() where id = $1")
            .bind(row.id)
            .execute(&mut *transaction)
            .await?;
        let admin = Caller {
            principal: Principal::Admin {
                user_id: row.id,
                username: row.username.clone(),
                role: rustbill_shared::principal::AdminRole::parse(&row.role)
                    .unwrap_or(rustbill_shared::principal::AdminRole::Operator),
                session_id: Uuid::nil(),
            },
            ..caller.clone()
        };
        oplog::record(&mut transaction, &admin, "login", "admin_user", &row.id.to_string(), serde_json::json!({}))
            .await?;
        transaction.commit().await?;
        Ok((token, lifetime))
    }

    async fn register(&self, caller: &Caller, request: RegisterRequest) -> AppResult<RegisterResponse> {
        let username = validate::username("username", &request.username)?;
        let email = validate::email("email", &request.email)?;
        let display_name = validate::required_text("display_name", &request.display_name, 64)?;
        let password =
            validate::new_password("password", &request.password, self.state.config.identity.password_min_length)?;
        let code = request.verification_code.trim();
        if code.len() != 6 || !code.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(AppError::invalid_field("verification_code", "must be 6 digits"));
        }
        let password_hash = passwords::hash(password).await?;

        let mut transaction = self.state.pool.begin().await?;
        let verified = verification::consume(&mut transaction, &self.state, &email, "registration", code).await?;
        if !verified {
            // The failed attempt is counted even though the call fails.
            transaction.commit().await?;
            return Err(AppError::invalid_field("verification_code", "is invalid or expired"));
        }
        let taken: bool =
            sqlx::query_scalar("select exists (select 1 from customer_users where lower(username) = lower($1))")
                .bind(&username)
                .fetch_one(&mut *transaction)
                .await?;
        if taken {
            return Err(AppError::invalid_field("username", "is already taken"));
        }
        let registered: bool =
            sqlx::query_scalar("select exists (select 1 from customer_users where lower(email) = lower($1))")
                .bind(&email)
                .fetch_one(&mut *transaction)
                .await?;
        if registered {
            return Err(AppError::AlreadyExists("email is already registered".into()));
        }
        let customer_id = Uuid::now_v7();
        let user_id = Uuid::now_v7();
        sqlx::query("insert into customers (id, name, contact_person, email) values ($1, $2, $2, $3)")
            .bind(customer_id)
            .bind(&display_name)
            .bind(&email)
            .execute(&mut *transaction)
            .await?;
        let inserted = sqlx::query_as::<_, CustomerUserRow>(sqlx::AssertSqlSafe(format!(
            "insert into customer_users (id, customer_id, username, email, display_name, password_hash)
             values ($1, $2, $3, $4, $5, $6)
             returning {}",
            users::CUSTOMER_USER_COLUMNS
        )))
        .bind(user_id)
        .bind(customer_id)
        .bind(&username)
        .bind(&email)
        .bind(&display_name)
        .bind(password_hash)
        .fetch_one(&mut *transaction)
        .await;
        let row = match inserted {
            Ok(row) => row,
            Err(error) => {
                return Err(match unique_violation(&error).as_deref() {
                    Some("customer_users_username_key") => AppError::invalid_field("username", "is already taken"),
                    Some("customer_users_email_key") => AppError::AlreadyExists("email is already registered".into()),
                    _ => error.into(),
                });
            }
        };
        events::publish(
            &mut transaction,
            caller,
            events::CUSTOMER_REGISTERED,
            customer_id,
            Some(customer_id),
            serde_json::json!({
                "customer_id": customer_id,
                "user_id": user_id,
                "username": username,
                "email": email,
                "display_name": display_name,
            }),
        )
        .await?;
        transaction.commit().await?;
        tracing::info!(%customer_id, %user_id, "customer registered");
        Ok(RegisterResponse { user: Some((&row).into()), customer_id: customer_id.to_string() })
    }

    async fn send_verification_code(
        &self,
        caller: &Caller,
        request: SendVerificationCodeRequest,
    ) -> AppResult<SendVerificationCodeResponse> {
        let email = validate::email("email", &request.email)?;
        let purpose = match request.purpose.trim() {
            "" | "registration" => "registration",
            "password_reset" => "password_reset",
            _ => return Err(AppError::invalid_field("purpose", "must be \"registration\" or \"password_reset\"")),
        };
        let resend_secs = verification::issue(&self.state, caller, &email, purpose).await?;
        Ok(SendVerificationCodeResponse {
            sent: true,
            message: "verification code sent".into(),
            retry_after_secs: i32::try_from(resend_secs).unwrap_or(i32::MAX),
        })
    }

    async fn login(&self, caller: &Caller, request: LoginRequest) -> AppResult<(LoginResponse, Option<String>)> {
        let login = validate::required_text("username", &request.username, 254)?;
        let password = validate::presented_password("password", &request.password)?;
        let user_type = match request.user_type.trim() {
            "admin" => UserType::Admin,
            "customer" => UserType::Customer,
            "" => return Err(AppError::invalid_field("user_type", "is required")),
            _ => return Err(AppError::invalid_field("user_type", "must be \"admin\" or \"customer\"")),
        };
        let mut connection = self.state.pool.acquire().await?;
        match user_type {
            UserType::Admin => {
                let row = users::admin_by_username(&mut connection, &login).await?;
                let matches = passwords::verify(password, row.as_ref().map(|row| row.password_hash.clone())).await?;
                let row = match row {
                    Some(row) if matches => row,
                    _ => {
                        tracing::warn!(client_ip = %caller.client_ip, "admin login failed");
                        return Err(AppError::invalid(BAD_LOGIN));
                    }
                };
                if !row.is_active {
                    return Err(AppError::permission_denied("account is disabled"));
                }
                drop(connection);
                if let Some(challenge) = self.second_factor_challenge(caller, &row).await? {
                    return Ok((challenge, None));
                }
                let (token, lifetime) = self.start_admin_session(caller, &row).await?;
                let response = LoginResponse {
                    access_token: String::new(),
                    refresh_token: String::new(),
                    expires_in: lifetime.num_seconds(),
                    user: Some((&row).into()),
                    admin_path: self.state.config.server.admin_path.clone(),
                    ..Default::default()
                };
                Ok((response, Some(token)))
            }
            UserType::Customer => {
                let row = users::customer_user_by_login(&mut connection, &login).await?;
                let matches = passwords::verify(password, row.as_ref().map(|row| row.password_hash.clone())).await?;
                let row = match row {
                    Some(row) if matches => row,
                    _ => {
                        tracing::warn!(client_ip = %caller.client_ip, "customer login failed");
                        return Err(AppError::invalid(BAD_LOGIN));
                    }
                };
                let customer_active = users::customer_active(&mut connection, row.customer_id).await?.unwrap_or(false);
                if !row.is_active || !customer_active {
                    return Err(AppError::permission_denied("account is disabled"));
                }
                drop(connection);
                let family_id = Uuid::now_v7();
                let refresh_token = self.insert_refresh_token(None, family_id, &row).await?;
                sqlx::query("update customer_users set last_login_at = now() where id = $1")
                    .bind(row.id)
                    .execute(&self.state.pool)
                    .await?;
                let access_token = self.state.jwt.issue(row.id, row.customer_id, family_id, &row.username);
                let response = LoginResponse {
                    access_token,
                    refresh_token,
                    expires_in: self.state.jwt.ttl_secs(),
                    user: Some((&row).into()),
                    admin_path: self.state.config.server.admin_path.clone(),
                    ..Default::default()
                };
                Ok((response, None))
            }
        }
    }

    /// Stores a new refresh token of `family_id` and returns it.
    async fn insert_refresh_token(
        &self,
        connection: Option<&mut PgConnection>,
        family_id: Uuid,
        user: &CustomerUserRow,
    ) -> AppResult<String> {
        let token = tokens::random_token();
        let lifetime = Duration::days(i64::try_from(self.state.config.jwt.refresh_expiry_days).unwrap_or(30));
        let query = sqlx::query(
            "insert into refresh_tokens (id, family_id, customer_user_id, customer_id, token_hash, expires_at)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(family_id)
        .bind(user.id)
        .bind(user.customer_id)
        .bind(tokens::sha256(&token))
        .bind(Utc::now() + lifetime);
        match connection {
            Some(connection) => query.execute(connection).await?,
            None => query.execute(&self.state.pool).await?,
        };
        Ok(token)
    }

    async fn refresh_token(&self, request: RefreshTokenRequest) -> AppResult<RefreshTokenResponse> {
        let presented = request.refresh_token.trim();
        if presented.is_empty() {
            return Err(AppError::invalid_field("refresh_token", "is required"));
        }
        if presented.len() > 256 {
            return Err(AppError::invalid(BAD_REFRESH));
        }
        #[derive(sqlx::FromRow)]
        struct Row {
            id: Uuid,
            family_id: Uuid,
            customer_user_id: Uuid,
            expires_at: chrono::DateTime<Utc>,
            used_at: Option<chrono::DateTime<Utc>>,
            revoked_at: Option<chrono::DateTime<Utc>>,
        }
        let mut transaction = self.state.pool.begin().await?;
        let row: Option<Row> = sqlx::query_as(
            "select id, family_id, customer_user_id, expires_at, used_at, revoked_at
             from refresh_tokens where token_hash = $1 for update",
        )
        .bind(tokens::sha256(presented))
        .fetch_optional(&mut *transaction)
        .await?;
        let Some(row) = row else { return Err(AppError::invalid(BAD_REFRESH)) };
        if row.revoked_at.is_some() {
            return Err(AppError::invalid(BAD_REFRESH));
        }
        if row.used_at.is_some() {
            // Reuse of a rotated token: someone else may hold this family.
            // Sign the whole login out.
            sqlx::query("update refresh_tokens set revoked_at = now() where family_id = $1 and revoked_at is null")
                .bind(row.family_id)
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await?;
            tracing::warn!(family_id = %row.family_id, "refresh token reused; family revoked");
            return Err(AppError::invalid("refresh token was already used; this login has been signed out"));
        }
        if row.expires_at <= Utc::now() {
            return Err(AppError::invalid(BAD_REFRESH));
        }
        let user = users::customer_user_by_id(&mut transaction, row.customer_user_id)
            .await?
            .ok_or_else(|| AppError::invalid(BAD_REFRESH))?;
        let customer_active = users::customer_active(&mut transaction, user.customer_id).await?.unwrap_or(false);
        if !user.is_active || !customer_active {
            return Err(AppError::permission_denied("account is disabled"));
        }
        sqlx::query("update refresh_tokens set used_at = now() where id = $1")
            .bind(row.id)
            .execute(&mut *transaction)
            .await?;
        let refresh_token = self.insert_refresh_token(Some(&mut transaction), row.family_id, &user).await?;
        transaction.commit().await?;
        Ok(RefreshTokenResponse {
            access_token: self.state.jwt.issue(user.id, user.customer_id, row.family_id, &user.username),
            expires_in: self.state.jwt.ttl_secs(),
            refresh_token,
        })
    }

    async fn list_users(&self, caller: &Caller, request: ListUsersRequest) -> AppResult<ListUsersResponse> {
        caller.principal.require_admin()?;
        let user_type = validate::user_type("user_type", request.user_type.as_deref(), UserType::Admin)?;
        let (page, page_size) = validate::paging(request.pagination.as_ref());
        let offset = i64::from(page - 1) * i64::from(page_size);
        let search = request
            .search
            .as_deref()
            .map(|search| validate::optional_text("search", search, 100))
            .transpose()?
            .filter(|search| !search.is_empty())
            .map(|search| validate::like_pattern(&search));
        let mut connection = self.state.pool.acquire().await?;
        match user_type {
            UserType::Admin => {
                let role = match request.role.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(role @ ("admin" | "operator")) => Some(role.to_string()),
                    Some(_) => return Err(AppError::invalid_field("role", "must be \"admin\" or \"operator\"")),
                };
                let filter = "($1::text is null or role = $1)
                              and ($2::bool is null or is_active = $2)
                              and ($3::text is null or username ilike $3 or email ilike $3 or display_name ilike $3)";
                let total: i64 =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from admin_users where {filter}")))
                        .bind(&role)
                        .bind(request.is_active)
                        .bind(&search)
                        .fetch_one(&mut *connection)
                        .await?;
                let rows: Vec<AdminRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "select {} from admin_users where {filter} order by created_at, id limit $4 offset $5",
                    users::ADMIN_COLUMNS
                )))
                .bind(&role)
                .bind(request.is_active)
                .bind(&search)
                .bind(i64::from(page_size))
                .bind(offset)
                .fetch_all(&mut *connection)
                .await?;
                Ok(ListUsersResponse {
                    users: rows.iter().map(UserInfo::from).collect(),
                    meta: Some(validate::page_meta(total, page, page_size)),
                })
            }
            UserType::Customer => {
                let customer_id =
                    rustbill_shared::ids::parse_optional_id("customer_id", request.customer_id.as_deref())?;
                let filter = "($1::uuid is null or customer_id = $1)
                              and ($2::bool is null or is_active = $2)
                              and ($3::text is null or username ilike $3 or email ilike $3 or display_name ilike $3)";
                let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "select count(*) from customer_users where {filter}"
                )))
                .bind(customer_id)
                .bind(request.is_active)
                .bind(&search)
                .fetch_one(&mut *connection)
                .await?;
                let rows: Vec<CustomerUserRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "select {} from customer_users where {filter} order by created_at, id limit $4 offset $5",
                    users::CUSTOMER_USER_COLUMNS
                )))
                .bind(customer_id)
                .bind(request.is_active)
                .bind(&search)
                .bind(i64::from(page_size))
                .bind(offset)
                .fetch_all(&mut *connection)
                .await?;
                Ok(ListUsersResponse {
                    users: rows.iter().map(UserInfo::from).collect(),
                    meta: Some(validate::page_meta(total, page, page_size)),
                })
            }
        }
    }

    async fn get_user(&self, caller: &Caller, request: GetUserRequest) -> AppResult<GetUserResponse> {
        caller.principal.require_admin()?;
        let id = parse_id("id", &request.id)?;
        let hint = validate::user_type_hint("user_type", request.user_type.as_deref())?;
        let mut connection = self.state.pool.acquire().await?;
        let user = find_user(&mut connection, id, hint).await?;
        Ok(GetUserResponse { user: Some(user.info()) })
    }

    async fn update_user(&self, caller: &Caller, request: UpdateUserRequest) -> AppResult<UpdateUserResponse> {
        let (actor_id, actor_role) = caller.principal.require_admin()?;
        let id = parse_id("id", &request.id)?;
        let hint = validate::user_type_hint("user_type", request.user_type.as_deref())?;
        let email = request.email.as_deref().map(|email| validate::optional_email("email", email)).transpose()?;
        let display_name = request
            .display_name
            .as_deref()
            .map(|name| validate::optional_text("display_name", name, 64))
            .transpose()?;
        let role = match request.role.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(role) => Some(
                rustbill_shared::principal::AdminRole::parse(role)
                    .ok_or_else(|| AppError::invalid_field("role", "must be \"admin\" or \"operator\""))?,
            ),
        };
        let new_customer_id = rustbill_shared::ids::parse_optional_id("customer_id", request.customer_id.as_deref())?;

        let mut transaction = self.state.pool.begin().await?;
        let user = find_user(&mut transaction, id, hint).await?;
        let mut changed = serde_json::Map::new();
        let updated = match user {
            AnyUser::Admin(row) => {
                // Permission first: an operator learns nothing about admins
                // (not even how many are active) from a refused change.
                if actor_role != rustbill_shared::principal::AdminRole::Admin
                    && row.role == "admin"
                    && row.id != actor_id
                {
                    return Err(AppError::permission_denied("operators may not modify admins"));
                }
                if new_customer_id.is_some() {
                    return Err(AppError::invalid_field("customer_id", "applies to customer users only"));
                }
                if let Some(role) = role {
                    if actor_role != rustbill_shared::principal::AdminRole::Admin {
                        return Err(AppError::permission_denied("only admins may change roles"));
                    }
                    if role.as_str() != row.role && row.role == "admin" {
                        ensure_other_active_admin(&mut transaction, row.id).await?;
                    }
                    changed.insert("role".into(), role.as_str().into());
                }
                if request.is_active == Some(false) {
                    if row.id == actor_id {
                        return Err(AppError::FailedPrecondition("you cannot disable your own account".into()));
                    }
                    if row.role == "admin" {
                        ensure_other_active_admin(&mut transaction, row.id).await?;
                    }
                }
                let updated: AdminRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "update admin_users set
                       email = coalesce($2, email),
                       display_name = coalesce($3, display_name),
                       role = coalesce($4, role),
                       is_active = coalesce($5, is_active)
                     where id = $1
                     returning {}",
                    users::ADMIN_COLUMNS
                )))
                .bind(row.id)
                .bind(&email)
                .bind(&display_name)
                .bind(role.map(|role| role.as_str()))
                .bind(request.is_active)
                .fetch_one(&mut *transaction)
                .await?;
                if !updated.is_active {
                    users::revoke_admin_sessions(&mut transaction, updated.id, None).await?;
                }
                AnyUser::Admin(updated)
            }
            AnyUser::Customer(row) => {
                if role.is_some() {
                    return Err(AppError::invalid_field("role", "applies to admin users only"));
                }
                if let Some(customer_id) = new_customer_id {
                    let exists = users::customer_active(&mut transaction, customer_id).await?.is_some();
                    if !exists {
                        return Err(AppError::not_found("customer not found"));
                    }
                    changed.insert("customer_id".into(), customer_id.to_string().into());
                }
                if email.as_deref() == Some("") {
                    return Err(AppError::invalid_field("email", "is required for customer users"));
                }
                let result = sqlx::query_as::<_, CustomerUserRow>(sqlx::AssertSqlSafe(format!(
                    "update customer_users set
                       email = coalesce($2, email),
                       display_name = coalesce($3, display_name),
                       is_active = coalesce($4, is_active),
                       customer_id = coalesce($5, customer_id)
                     where id = $1
                     returning {}",
                    users::CUSTOMER_USER_COLUMNS
                )))
                .bind(row.id)
                .bind(&email)
                .bind(&display_name)
                .bind(request.is_active)
                .bind(new_customer_id)
                .fetch_one(&mut *transaction)
                .await;
                let updated = match result {
                    Ok(updated) => updated,
                    Err(error) if unique_violation(&error).as_deref() == Some("customer_users_email_key") => {
                        return Err(AppError::AlreadyExists("email is already registered".into()));
                    }
                    Err(error) => return Err(error.into()),
                };
                if !updated.is_active || updated.customer_id != row.customer_id {
                    users::revoke_customer_families(&mut transaction, updated.id, None).await?;
                }
                AnyUser::Customer(updated)
            }
        };
        if email.is_some() {
            changed.insert("email".into(), true.into());
        }
        if display_name.is_some() {
            changed.insert("display_name".into(), true.into());
        }
        if let Some(active) = request.is_active {
            changed.insert("is_active".into(), active.into());
        }
        let info = updated.info();
        oplog::record(
            &mut transaction,
            caller,
            "update_user",
            &format!("{}_user", info.user_type),
            &info.id,
            serde_json::Value::Object(changed),
        )
        .await?;
        let cached = self.cached_sessions(&mut transaction, &info.user_type, id).await?;
        transaction.commit().await?;
        self.forget_sessions(cached).await;
        Ok(UpdateUserResponse { user: Some(info) })
    }

    async fn delete_user(&self, caller: &Caller, request: DeleteUserRequest) -> AppResult<DeleteUserResponse> {
        let actor_id = caller.principal.require_admin_only()?;
        let id = parse_id("id", &request.id)?;
        if id == actor_id {
            return Err(AppError::FailedPrecondition("you cannot delete your own account".into()));
        }
        let mut transaction = self.state.pool.begin().await?;
        let user = find_user(&mut transaction, id, None).await?;
        let info = user.info();
        let cached = self.cached_sessions(&mut transaction, &info.user_type, id).await?;
        match user {
            AnyUser::Admin(row) => {
                if row.role == "admin" {
                    ensure_other_active_admin(&mut transaction, row.id).await?;
                }
                sqlx::query("delete from admin_users where id = $1").bind(row.id).execute(&mut *transaction).await?;
            }
            AnyUser::Customer(row) => {
                sqlx::query("delete from customer_users where id = $1").bind(row.id).execute(&mut *transaction).await?;
            }
        }
        oplog::record(
            &mut transaction,
            caller,
            "delete_user",
            &format!("{}_user", info.user_type),
            &info.id,
            serde_json::json!({ "username": info.username }),
        )
        .await?;
        transaction.commit().await?;
        self.forget_sessions(cached).await;
        Ok(DeleteUserResponse {})
    }

    async fn change_password(
        &self,
        caller: &Caller,
        request: ChangePasswordRequest,
    ) -> AppResult<ChangePasswordResponse> {
        let principal = caller.principal.require_authenticated()?;
        let old_password = validate::presented_password("old_password", &request.old_password)?;
        let new_password = validate::new_password(
            "new_password",
            &request.new_password,
            self.state.config.identity.password_min_length,
        )?;
        if old_password == new_password {
            return Err(AppError::invalid_field("new_password", "must differ from the old password"));
        }
        let mut connection = self.state.pool.acquire().await?;
        let (stored, target) = match principal {
            Principal::Admin { user_id, .. } => {
                let row = users::admin_by_id(&mut connection, *user_id)
                    .await?
                    .ok_or_else(|| AppError::unauthenticated("login required"))?;
                (row.password_hash.clone(), AnyUser::Admin(row))
            }
            Principal::Customer { user_id, .. } => {
                let row = users::customer_user_by_id(&mut connection, *user_id)
                    .await?
                    .ok_or_else(|| AppError::unauthenticated("login required"))?;
                (row.password_hash.clone(), AnyUser::Customer(row))
            }
            _ => return Err(AppError::permission_denied("only a logged-in user can change a password")),
        };
        drop(connection);
        if !passwords::verify(old_password, Some(stored)).await? {
            return Err(AppError::invalid_field("old_password", "is incorrect"));
        }
        let hash = passwords::hash(new_password).await?;
        let mut transaction = self.state.pool.begin().await?;
        match (&target, principal) {
            (AnyUser::Admin(row), Principal::Admin { session_id, .. }) => {
                // Other sessions of this admin end; this one continues.
                set_password(&mut transaction, &target, &hash, Some(*session_id)).await?;
                oplog::record(
                    &mut transaction,
                    caller,
                    "change_password",
                    "admin_user",
                    &row.id.to_string(),
                    serde_json::json!({}),
                )
                .await?;
            }
            (AnyUser::Customer(_), Principal::Customer { family_id, .. }) => {
                set_password(&mut transaction, &target, &hash, Some(*family_id)).await?;
            }
            _ => return Err(AppError::permission_denied("only a logged-in user can change a password")),
        }
        let cached = match &target {
            AnyUser::Admin(row) => self.cached_sessions(&mut transaction, "admin", row.id).await?,
            AnyUser::Customer(_) => Vec::new(),
        };
        transaction.commit().await?;
        self.forget_sessions(cached).await;
        Ok(ChangePasswordResponse {})
    }

    async fn admin_reset_password(
        &self,
        caller: &Caller,
        request: AdminResetPasswordRequest,
    ) -> AppResult<AdminResetPasswordResponse> {
        caller.principal.require_admin_only()?;
        let id = parse_id("user_id", &request.user_id)?;
        let new_password = validate::new_password(
            "new_password",
            &request.new_password,
            self.state.config.identity.password_min_length,
        )?;
        let hash = passwords::hash(new_password).await?;
        let mut transaction = self.state.pool.begin().await?;
        let user = find_user(&mut transaction, id, None).await?;
        let info = user.info();
        set_password(&mut transaction, &user, &hash, None).await?;
        oplog::record(
            &mut transaction,
            caller,
            "reset_password",
            &format!("{}_user", info.user_type),
            &info.id,
            serde_json::json!({}),
        )
        .await?;
        let cached = self.cached_sessions(&mut transaction, &info.user_type, id).await?;
        transaction.commit().await?;
        self.forget_sessions(cached).await;
        Ok(AdminResetPasswordResponse {})
    }

    async fn create_admin_user(
        &self,
        caller: &Caller,
        request: CreateAdminUserRequest,
    ) -> AppResult<CreateAdminUserResponse> {
        caller.principal.require_admin_only()?;
        let username = validate::username("username", &request.username)?;
        let email = validate::optional_email("email", &request.email)?;
        let display_name = validate::optional_text("display_name", &request.display_name, 64)?;
        let role = match request.role.trim() {
            role @ ("admin" | "operator") => role,
            _ => return Err(AppError::invalid_field("role", "must be \"admin\" or \"operator\"")),
        };
        let password =
            validate::new_password("password", &request.password, self.state.config.identity.password_min_length)?;
        let password_hash = passwords::hash(password).await?;
        let mut transaction = self.state.pool.begin().await?;
        let inserted = sqlx::query_as::<_, AdminRow>(sqlx::AssertSqlSafe(format!(
            "insert into admin_users (id, username, email, display_name, password_hash, role)
             values ($1, $2, $3, $4, $5, $6)
             returning {}",
            users::ADMIN_COLUMNS
        )))
        .bind(Uuid::now_v7())
        .bind(&username)
        .bind(&email)
        .bind(&display_name)
        .bind(password_hash)
        .bind(role)
        .fetch_one(&mut *transaction)
        .await;
        let row = match inserted {
            Ok(row) => row,
            Err(error) => {
                return Err(match unique_violation(&error).as_deref() {
                    Some("admin_users_username_key") => AppError::invalid_field("username", "is already taken"),
                    _ => error.into(),
                });
            }
        };
        let info = UserInfo::from(&row);
        oplog::record(
            &mut transaction,
            caller,
            "create_admin_user",
            "admin_user",
            &info.id,
            serde_json::json!({ "username": username, "role": role }),
        )
        .await?;
        transaction.commit().await?;
        tracing::info!(user_id = %info.id, role, "admin user created");
        Ok(CreateAdminUserResponse { user: Some(info) })
    }

    async fn get_me(&self, caller: &Caller) -> AppResult<GetMeResponse> {
        let principal = caller.principal.require_authenticated()?;
        let mut connection = self.state.pool.acquire().await?;
        let gone = || AppError::unauthenticated("login required");
        let info = match principal {
            Principal::Admin { user_id, .. } => {
                UserInfo::from(&users::admin_by_id(&mut connection, *user_id).await?.ok_or_else(gone)?)
            }
            Principal::Customer { user_id, .. } => {
                UserInfo::from(&users::customer_user_by_id(&mut connection, *user_id).await?.ok_or_else(gone)?)
            }
            Principal::ApiKey { customer_id, .. } => {
                // An API key acts for its customer: answer with the
                // customer's first user.
                let row: CustomerUserRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "select {} from customer_users where customer_id = $1 order by created_at, id limit 1",
                    users::CUSTOMER_USER_COLUMNS
                )))
                .bind(customer_id)
                .fetch_optional(&mut *connection)
                .await?
                .ok_or_else(|| AppError::not_found("the API key's customer has no user"))?;
                UserInfo::from(&row)
            }
            _ => return Err(AppError::permission_denied("no user behind this caller")),
        };
        Ok(GetMeResponse { user: Some(info) })
    }

    /// Token hashes of an admin user's sessions that the session cache may
    /// hold, read inside the changing transaction (before a delete cascades
    /// them away); empty for customer users or without a cache.
    async fn cached_sessions(
        &self,
        connection: &mut PgConnection,
        user_type: &str,
        user_id: Uuid,
    ) -> AppResult<Vec<Vec<u8>>> {
        if self.state.sessions.is_none() || user_type != "admin" {
            return Ok(Vec::new());
        }
        Ok(crate::session_cache::admin_session_hashes(connection, user_id).await?)
    }

    /// Drops sessions from the cache once the change that affects them has
    /// committed, so the next call reads the new state from PostgreSQL.
    async fn forget_sessions(&self, hashes: Vec<Vec<u8>>) {
        if let Some(redis) = self.state.sessions.as_deref() {
            crate::session_cache::forget_all(redis, &hashes).await;
        }
    }

    async fn logout(&self, caller: &Caller) -> AppResult<(LogoutResponse, bool)> {
        match caller.principal.require_authenticated()? {
            Principal::Admin { session_id, .. } => {
                let hash: Option<Vec<u8>> = sqlx::query_scalar(
                    "update sessions set revoked_at = now() where id = $1 and revoked_at is null returning token_hash",
                )
                .bind(session_id)
                .fetch_optional(&self.state.pool)
                .await?;
                if let (Some(redis), Some(hash)) = (self.state.sessions.as_deref(), hash) {
                    crate::session_cache::forget(redis, &hash).await;
                }
                Ok((LogoutResponse {}, true))
            }
            Principal::Customer { family_id, .. } => {
                sqlx::query("update refresh_tokens set revoked_at = now() where family_id = $1 and revoked_at is null")
                    .bind(family_id)
                    .execute(&self.state.pool)
                    .await?;
                Ok((LogoutResponse {}, false))
            }
            _ => Err(AppError::FailedPrecondition("API keys are revoked with RevokeApiKey, not Logout".into())),
        }
    }
}

#[tonic::async_trait]
impl IdentityService for Identity {
    async fn register(&self, request: Request<RegisterRequest>) -> Result<Response<RegisterResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.register(&caller, request.into_inner()).await.internal_context("register failed"))
    }

    async fn send_verification_code(
        &self,
        request: Request<SendVerificationCodeRequest>,
    ) -> Result<Response<SendVerificationCodeResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.send_verification_code(&caller, request.into_inner()).await)
    }

    async fn login(&self, request: Request<LoginRequest>) -> Result<Response<LoginResponse>, Status> {
        let caller = principal::caller(&request)?;
        let (body, session) = self.login(&caller, request.into_inner()).await.map_err(Status::from)?;
        let mut response = Response::new(body);
        if let Some(token) = session {
            let value = MetadataValue::try_from(token.as_str()).map_err(|_| Status::internal("internal error"))?;
            response.metadata_mut().insert(SET_SESSION_HEADER, value);
        }
        Ok(response)
    }

    async fn refresh_token(
        &self,
        request: Request<RefreshTokenRequest>,
    ) -> Result<Response<RefreshTokenResponse>, Status> {
        principal::caller(&request)?;
        respond(self.refresh_token(request.into_inner()).await)
    }

    async fn list_users(&self, request: Request<ListUsersRequest>) -> Result<Response<ListUsersResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.list_users(&caller, request.into_inner()).await)
    }

    async fn get_user(&self, request: Request<GetUserRequest>) -> Result<Response<GetUserResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.get_user(&caller, request.into_inner()).await)
    }

    async fn update_user(&self, request: Request<UpdateUserRequest>) -> Result<Response<UpdateUserResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.update_user(&caller, request.into_inner()).await)
    }

    async fn delete_user(&self, request: Request<DeleteUserRequest>) -> Result<Response<DeleteUserResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.delete_user(&caller, request.into_inner()).await)
    }

    async fn change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Result<Response<ChangePasswordResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.change_password(&caller, request.into_inner()).await)
    }

    async fn admin_reset_password(
        &self,
        request: Request<AdminResetPasswordRequest>,
    ) -> Result<Response<AdminResetPasswordResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.admin_reset_password(&caller, request.into_inner()).await)
    }

    async fn create_admin_user(
        &self,
        request: Request<CreateAdminUserRequest>,
    ) -> Result<Response<CreateAdminUserResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.create_admin_user(&caller, request.into_inner()).await)
    }

    async fn verify_login_totp(
        &self,
        request: Request<VerifyLoginTotpRequest>,
    ) -> Result<Response<VerifyLoginTotpResponse>, Status> {
        let caller = principal::caller(&request)?;
        let (body, token) = self.verify_login_totp(&caller, request.into_inner()).await.map_err(Status::from)?;
        let mut response = Response::new(body);
        let value = MetadataValue::try_from(token.as_str()).map_err(|_| Status::internal("internal error"))?;
        response.metadata_mut().insert(SET_SESSION_HEADER, value);
        Ok(response)
    }

    async fn get_totp_status(
        &self,
        request: Request<GetTotpStatusRequest>,
    ) -> Result<Response<GetTotpStatusResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.totp_status(&caller).await)
    }

    async fn begin_totp_enrollment(
        &self,
        request: Request<BeginTotpEnrollmentRequest>,
    ) -> Result<Response<BeginTotpEnrollmentResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.begin_totp_enrollment(&caller).await)
    }

    async fn confirm_totp_enrollment(
        &self,
        request: Request<ConfirmTotpEnrollmentRequest>,
    ) -> Result<Response<ConfirmTotpEnrollmentResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.confirm_totp_enrollment(&caller, request.into_inner()).await)
    }

    async fn disable_totp(
        &self,
        request: Request<DisableTotpRequest>,
    ) -> Result<Response<DisableTotpResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.disable_totp(&caller, request.into_inner()).await.map(|()| DisableTotpResponse {}))
    }

    async fn regenerate_totp_recovery_codes(
        &self,
        request: Request<RegenerateTotpRecoveryCodesRequest>,
    ) -> Result<Response<RegenerateTotpRecoveryCodesResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.regenerate_recovery_codes(&caller, request.into_inner()).await)
    }

    async fn admin_reset_totp(
        &self,
        request: Request<AdminResetTotpRequest>,
    ) -> Result<Response<AdminResetTotpResponse>, Status> {
        let caller = principal::caller(&request)?;
        let hashes = self.admin_reset_totp(&caller, request.into_inner()).await.map_err(Status::from)?;
        self.forget_sessions(hashes).await;
        Ok(Response::new(AdminResetTotpResponse {}))
    }

    async fn get_me(&self, request: Request<GetMeRequest>) -> Result<Response<GetMeResponse>, Status> {
        let caller = principal::caller(&request)?;
        respond(self.get_me(&caller).await)
    }

    async fn logout(&self, request: Request<LogoutRequest>) -> Result<Response<LogoutResponse>, Status> {
        let caller = principal::caller(&request)?;
        let (body, clear_cookie) = self.logout(&caller).await.map_err(Status::from)?;
        let mut response = Response::new(body);
        if clear_cookie {
            response.metadata_mut().insert(CLEAR_SESSION_HEADER, MetadataValue::from_static("1"));
        }
        Ok(response)
    }
}
