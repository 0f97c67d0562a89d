//! Cache-aside of admin sessions ([`SessionRow`]) in Redis (spec HA guide
//! §6.3): `AuthService/Resolve` reads Redis first, on a miss reads
//! PostgreSQL and stores the row. Logging out, and any change to an admin
//! user (role, disabling, password, deletion, from the API or the CLI),
//! delete the user's entries once committed; entries live at most
//! [`TTL_SECS`] in any case. Keys carry the SHA-256 of the token, never the
//! token. Without Redis (or while it is down) every read goes to
//! PostgreSQL.

use chrono::{DateTime, Utc};
use redis::AsyncCommands;
use rustbill_shared::redis::Redis;
use sqlx::PgConnection;
use uuid::Uuid;

/// Longest life of an entry.
pub const TTL_SECS: u64 = 10;

fn key(redis: &Redis, hash: &[u8]) -> String {
    redis.key(&format!("session:{}", hex::encode(hash)))
}

/// The cached session of the token whose SHA-256 is `hash`.
pub async fn get(redis: &Redis, hash: &[u8]) -> Option<SessionRow> {
    let key = key(redis, hash);
    let json: String =
        redis.run(|mut connection| async move { connection.get::<_, Option<String>>(key).await }).await??;
    serde_json::from_str(&json).ok()
}

/// Caches `row` under `hash` for [`TTL_SECS`].
pub async fn put(redis: &Redis, hash: &[u8], row: &SessionRow) {
    let key = key(redis, hash);
    let Ok(json) = serde_json::to_string(row) else { return };
    redis.run(|mut connection| async move { connection.set_ex::<_, _, ()>(key, json, TTL_SECS).await }).await;
}

/// Drops the entry of `hash`.
pub async fn forget(redis: &Redis, hash: &[u8]) {
    let key = key(redis, hash);
    redis.run(|mut connection| async move { connection.del::<_, ()>(key).await }).await;
}

/// Token hashes of an admin user's sessions that the cache may hold: read
/// inside the transaction that changes the user (before a delete cascades
/// them away), forgotten with [`forget_all`] once it committed.
pub async fn admin_session_hashes(connection: &mut PgConnection, admin_user_id: Uuid) -> sqlx::Result<Vec<Vec<u8>>> {
    sqlx::query_scalar("select token_hash from sessions where admin_user_id = $1 and expires_at > now()")
        .bind(admin_user_id)
        .fetch_all(connection)
        .await
}

/// Forgets every session in `hashes`.
pub async fn forget_all(redis: &Redis, hashes: &[Vec<u8>]) {
    for hash in hashes {
        forget(redis, hash).await;
    }
}

/// An admin session with its user, as read for every cookie-authenticated
/// call (and cached, see [`session_cache`]).
#[derive(Debug, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct SessionRow {
    pub id: Uuid,
    pub admin_user_id: Uuid,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub username: String,
    pub role: String,
    pub is_active: bool,
}
