//! The first admin, created from `[bootstrap]` when no admin exists.

use rustbill_shared::config::{Config, ConfigError};
use secrecy::ExposeSecret;
use sqlx::PgPool;
use uuid::Uuid;

use crate::passwords;

/// Creates the bootstrap admin if there is no admin at all. Refuses to
/// start (one-line reason) when none exists and no password is configured.
pub async fn ensure_admin(pool: &PgPool, config: &Config) -> anyhow::Result<()> {
    let mut transaction = pool.begin().await?;
    // Several instances may start at once; one creates the admin.
    sqlx::query("select pg_advisory_xact_lock(hashtext('rustbill:bootstrap-admin'))")
        .execute(&mut *transaction)
        .await?;
    let admins: i64 = sqlx::query_scalar("select count(*) from admin_users where role = 'admin'")
        .fetch_one(&mut *transaction)
        .await?;
    if admins > 0 {
        return Ok(());
    }
    let password = match &config.bootstrap.admin_password {
        Some(password) if !password.expose_secret().is_empty() => password.expose_secret().to_string(),
        _ => return Err(ConfigError::BootstrapPasswordMissing.into()),
    };
    let username = crate::validate::username("[bootstrap].admin_username", &config.bootstrap.admin_username)
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let hash = passwords::hash(password).await.map_err(|error| anyhow::anyhow!("{error}"))?;
    sqlx::query(
        "insert into admin_users (id, username, display_name, password_hash, role)
         values ($1, $2, $2, $3, 'admin')",
    )
    .bind(Uuid::now_v7())
    .bind(&username)
    .bind(hash)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    tracing::info!(username, "created the bootstrap admin");
    Ok(())
}
