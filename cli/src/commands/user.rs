//! `user list|create|passwd|disable|enable`: staff users in identity's
//! schema, with identity's password hashing and policy. A new password or
//! a disabled account ends the user's sessions.

use clap::Subcommand;
use rustbill_identity::{passwords, session_cache, users, validate};
use rustbill_shared::oplog;
use serde_json::json;
use uuid::Uuid;

use crate::commands::time;
use crate::context::{CliResult, Context, input};
use crate::output::{Listing, done};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Lists staff users.
    List,
    /// Creates a staff user.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
        /// admin or operator.
        #[arg(long, default_value = "operator")]
        role: String,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long, default_value = "")]
        display_name: String,
    },
    /// Sets a staff user's password (ends their sessions).
    Passwd {
        username: String,
        #[arg(long)]
        new_password: String,
    },
    /// Disables a staff user (ends their sessions).
    Disable { username: String },
    /// Enables a disabled staff user.
    Enable { username: String },
    /// Deletes a staff user (their sessions go with them).
    Delete { username: String },
    /// Turns a staff user's two-factor authentication off (lost device and
    /// recovery codes) and ends their sessions.
    #[command(name = "reset-2fa")]
    Reset2fa { username: String },
}

pub async fn run(context: &Context, command: UserCommand) -> CliResult {
    match command {
        UserCommand::List => {
            listing(context).await?.print(context.format);
            Ok(())
        }
        UserCommand::Create { username, password, role, email, display_name } => {
            create(context, &username, &password, &role, &email, &display_name).await
        }
        UserCommand::Passwd { username, new_password } => passwd(context, &username, &new_password).await,
        UserCommand::Disable { username } => set_active(context, &username, false).await,
        UserCommand::Enable { username } => set_active(context, &username, true).await,
        UserCommand::Reset2fa { username } => reset_two_factor(context, &username).await,
        UserCommand::Delete { username } => {
            let (id, username) = delete(context, &username).await?;
            done(
                context.format,
                &format!("deleted {username}"),
                json!({ "id": id, "username": username, "deleted": true }),
            );
            Ok(())
        }
    }
}

type AdminListRow =
    (Uuid, String, String, String, String, bool, Option<chrono::DateTime<chrono::Utc>>, chrono::DateTime<chrono::Utc>);

/// Every staff user (the `user list` rows; also the TUI's tab).
pub async fn listing(context: &Context) -> CliResult<Listing> {
    let rows: Vec<AdminListRow> = sqlx::query_as(
        "select id, username, display_name, email, role, is_active, last_login_at, created_at
         from identity.admin_users order by created_at, username",
    )
    .fetch_all(&context.pool)
    .await?;
    let mut listing =
        Listing::new(&["id", "username", "display_name", "email", "role", "active", "last_login_at", "created_at"]);
    for (id, username, display_name, email, role, active, last_login, created) in rows {
        listing.row(vec![
            json!(id),
            json!(username),
            json!(display_name),
            json!(email),
            json!(role),
            json!(active),
            time(last_login),
            time(Some(created)),
        ]);
    }
    Ok(listing)
}

async fn create(
    context: &Context,
    username: &str,
    password: &str,
    role: &str,
    email: &str,
    display_name: &str,
) -> CliResult {
    let username = validate::username("username", username)?;
    if role != "admin" && role != "operator" {
        return Err(input(format!("role: {role:?} must be admin or operator")));
    }
    let password = validate::new_password("password", password, context.config.identity.password_min_length)?;
    let hash = passwords::hash(password).await?;
    let id = Uuid::now_v7();
    let mut transaction = context.begin_in("identity").await?;
    let inserted = sqlx::query(
        "insert into admin_users (id, username, email, display_name, password_hash, role)
         values ($1, $2, $3, $4, $5, $6) on conflict do nothing",
    )
    .bind(id)
    .bind(&username)
    .bind(email.trim())
    .bind(display_name.trim())
    .bind(&hash)
    .bind(role)
    .execute(&mut *transaction)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(input(format!("user {username:?} already exists")));
    }
    oplog::record(
        &mut transaction,
        &context.caller(),
        "create_admin_user",
        "admin_user",
        &id.to_string(),
        json!({ "username": username, "role": role }),
    )
    .await?;
    transaction.commit().await?;
    done(
        context.format,
        &format!("created {role} {username} ({id})"),
        json!({ "id": id, "username": username, "role": role }),
    );
    Ok(())
}

/// The staff user called `username` (case-insensitive), or a clear error.
async fn find(connection: &mut sqlx::PgConnection, username: &str) -> CliResult<users::AdminRow> {
    users::admin_by_username(connection, username.trim())
        .await?
        .ok_or_else(|| input(format!("no staff user named {username:?} (see `rustbill-cli user list`)")))
}

async fn passwd(context: &Context, username: &str, new_password: &str) -> CliResult {
    let password = validate::new_password("new-password", new_password, context.config.identity.password_min_length)?;
    let mut transaction = context.begin_in("identity").await?;
    let user = find(&mut transaction, username).await?;
    let hash = passwords::hash(password).await?;
    sqlx::query("update admin_users set password_hash = $2 where id = $1")
        .bind(user.id)
        .bind(&hash)
        .execute(&mut *transaction)
        .await?;
    let cached = session_cache::admin_session_hashes(&mut transaction, user.id).await?;
    let ended = users::revoke_admin_sessions(&mut transaction, user.id, None).await?;
    oplog::record(&mut transaction, &context.caller(), "reset_password", "admin_user", &user.id.to_string(), json!({}))
        .await?;
    transaction.commit().await?;
    forget_cached(context, &cached).await;
    done(
        context.format,
        &format!("password of {} changed; {ended} session(s) ended", user.username),
        json!({ "id": user.id, "username": user.username, "sessions_ended": ended }),
    );
    Ok(())
}

async fn reset_two_factor(context: &Context, username: &str) -> CliResult {
    let mut transaction = context.begin_in("identity").await?;
    let user = find(&mut transaction, username).await?;
    rustbill_identity::totp::clear(&mut transaction, user.id).await?;
    let cached = session_cache::admin_session_hashes(&mut transaction, user.id).await?;
    let ended = users::revoke_admin_sessions(&mut transaction, user.id, None).await?;
    oplog::record(&mut transaction, &context.caller(), "totp.reset", "admin_user", &user.id.to_string(), json!({}))
        .await?;
    transaction.commit().await?;
    forget_cached(context, &cached).await;
    done(
        context.format,
        &format!("two-factor authentication of {} is off; {ended} session(s) ended", user.username),
        json!({ "id": user.id, "username": user.username, "sessions_ended": ended }),
    );
    Ok(())
}

/// Never lock everyone out: refuses to disable or delete the last active
/// admin.
async fn keep_an_admin(connection: &mut sqlx::PgConnection, user: &users::AdminRow) -> CliResult {
    if user.role != "admin" || !user.is_active {
        return Ok(());
    }
    let others: i64 =
        sqlx::query_scalar("select count(*) from admin_users where role = 'admin' and is_active and id <> $1")
            .bind(user.id)
            .fetch_one(&mut *connection)
            .await?;
    if others == 0 {
        return Err(input(format!("{} is the last active admin; create or enable another admin first", user.username)));
    }
    Ok(())
}

/// Deletes a staff user; their id and name.
pub async fn delete(context: &Context, username: &str) -> CliResult<(Uuid, String)> {
    let mut transaction = context.begin_in("identity").await?;
    let user = find(&mut transaction, username).await?;
    keep_an_admin(&mut transaction, &user).await?;
    let cached = session_cache::admin_session_hashes(&mut transaction, user.id).await?;
    sqlx::query("delete from admin_users where id = $1").bind(user.id).execute(&mut *transaction).await?;
    oplog::record(
        &mut transaction,
        &context.caller(),
        "delete_admin_user",
        "admin_user",
        &user.id.to_string(),
        json!({ "username": user.username }),
    )
    .await?;
    transaction.commit().await?;
    forget_cached(context, &cached).await;
    Ok((user.id, user.username))
}

/// Drops the user's sessions from identity's Redis session cache (when
/// `[redis]` is enabled), so the change applies at once rather than when
/// the entries expire. Best effort, like every use of Redis.
async fn forget_cached(context: &Context, hashes: &[Vec<u8>]) {
    if hashes.is_empty() {
        return;
    }
    match rustbill_shared::redis::Redis::from_config(&context.config.redis, "cached sessions expire on their own") {
        Ok(Some(redis)) => session_cache::forget_all(&redis, hashes).await,
        Ok(None) => {}
        Err(error) => {
            eprintln!("warning: {error}; cached sessions expire on their own within {} s", session_cache::TTL_SECS)
        }
    }
}

async fn set_active(context: &Context, username: &str, active: bool) -> CliResult {
    let mut transaction = context.begin_in("identity").await?;
    let user = find(&mut transaction, username).await?;
    if !active {
        keep_an_admin(&mut transaction, &user).await?;
    }
    sqlx::query("update admin_users set is_active = $2 where id = $1")
        .bind(user.id)
        .bind(active)
        .execute(&mut *transaction)
        .await?;
    let cached = session_cache::admin_session_hashes(&mut transaction, user.id).await?;
    let ended = if active { 0 } else { users::revoke_admin_sessions(&mut transaction, user.id, None).await? };
    let action = if active { "enable_admin_user" } else { "disable_admin_user" };
    oplog::record(&mut transaction, &context.caller(), action, "admin_user", &user.id.to_string(), json!({})).await?;
    transaction.commit().await?;
    forget_cached(context, &cached).await;
    let word = if active { "enabled" } else { "disabled" };
    done(
        context.format,
        &format!("{} {word}; {ended} session(s) ended", user.username),
        json!({ "id": user.id, "username": user.username, "active": active, "sessions_ended": ended }),
    );
    Ok(())
}
