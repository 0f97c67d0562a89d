//! Admin users and customer users: rows, lookups and their wire form.

use chrono::{DateTime, Utc};
use rustbill_proto::identity::UserInfo;
use rustbill_shared::ids::format_time;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

#[derive(Debug, Clone, FromRow)]
pub struct AdminRow {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct CustomerUserRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
}

pub const ADMIN_COLUMNS: &str = "id, username, email, display_name, password_hash, role, is_active, created_at";
pub const CUSTOMER_USER_COLUMNS: &str =
    "id, customer_id, username, email, display_name, password_hash, is_active, created_at";

impl From<&AdminRow> for UserInfo {
    fn from(row: &AdminRow) -> Self {
        UserInfo {
            id: row.id.to_string(),
            username: row.username.clone(),
            email: row.email.clone(),
            display_name: row.display_name.clone(),
            role: row.role.clone(),
            is_active: row.is_active,
            created_at: format_time(row.created_at),
            user_type: "admin".into(),
            customer_id: String::new(),
        }
    }
}

impl From<&CustomerUserRow> for UserInfo {
    fn from(row: &CustomerUserRow) -> Self {
        UserInfo {
            id: row.id.to_string(),
            username: row.username.clone(),
            email: row.email.clone(),
            display_name: row.display_name.clone(),
            role: String::new(),
            is_active: row.is_active,
            created_at: format_time(row.created_at),
            user_type: "customer".into(),
            customer_id: row.customer_id.to_string(),
        }
    }
}

pub async fn admin_by_id(connection: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<AdminRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("select {ADMIN_COLUMNS} from admin_users where id = $1")))
        .bind(id)
        .fetch_optional(connection)
        .await
}

pub async fn admin_by_username(connection: &mut PgConnection, username: &str) -> sqlx::Result<Option<AdminRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {ADMIN_COLUMNS} from admin_users where lower(username) = lower($1)"
    )))
    .bind(username)
    .fetch_optional(connection)
    .await
}

pub async fn customer_user_by_id(connection: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<CustomerUserRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("select {CUSTOMER_USER_COLUMNS} from customer_users where id = $1")))
        .bind(id)
        .fetch_optional(connection)
        .await
}

/// Customer users log in with their username or their e-mail address.
pub async fn customer_user_by_login(
    connection: &mut PgConnection,
    login: &str,
) -> sqlx::Result<Option<CustomerUserRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {CUSTOMER_USER_COLUMNS} from customer_users
         where lower(username) = lower($1) or lower(email) = lower($1)
         order by (lower(username) = lower($1)) desc
         limit 1"
    )))
    .bind(login)
    .fetch_optional(connection)
    .await
}

/// Whether a customer exists and is active.
pub async fn customer_active(connection: &mut PgConnection, customer_id: Uuid) -> sqlx::Result<Option<bool>> {
    sqlx::query_scalar("select is_active from customers where id = $1")
        .bind(customer_id)
        .fetch_optional(connection)
        .await
}

/// Revokes every admin session of a user, except `keep` if given.
pub async fn revoke_admin_sessions(
    connection: &mut PgConnection,
    admin_user_id: Uuid,
    keep: Option<Uuid>,
) -> sqlx::Result<u64> {
    let result = sqlx::query(
        "update sessions set revoked_at = now()
         where admin_user_id = $1 and revoked_at is null and ($2::uuid is null or id <> $2)",
    )
    .bind(admin_user_id)
    .bind(keep)
    .execute(connection)
    .await?;
    Ok(result.rows_affected())
}

/// Revokes every refresh-token family of a customer user, except `keep`.
pub async fn revoke_customer_families(
    connection: &mut PgConnection,
    customer_user_id: Uuid,
    keep_family: Option<Uuid>,
) -> sqlx::Result<u64> {
    let result = sqlx::query(
        "update refresh_tokens set revoked_at = now()
         where customer_user_id = $1 and revoked_at is null and ($2::uuid is null or family_id <> $2)",
    )
    .bind(customer_user_id)
    .bind(keep_family)
    .execute(connection)
    .await?;
    Ok(result.rows_affected())
}
