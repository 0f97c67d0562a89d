//! The operation log: every admin mutation, who did it, to what, from where.
//! Each service keeps its own `operation_logs` table (same columns) in its
//! schema; the unqualified name resolves through the search path.

use crate::principal::{Caller, Principal};
use sqlx::PgConnection;
use uuid::Uuid;

/// Records one operation inside the caller's transaction, so the log and
/// the change commit together. `detail` must never hold secrets.
pub async fn record(
    connection: &mut PgConnection,
    caller: &Caller,
    action: &str,
    target_type: &str,
    target_id: &str,
    detail: serde_json::Value,
) -> sqlx::Result<()> {
    let (actor_kind, actor_id) = match &caller.principal {
        Principal::Admin { user_id, .. } => ("admin", Some(*user_id)),
        Principal::Customer { user_id, .. } => ("customer", Some(*user_id)),
        Principal::ApiKey { api_key_id, .. } => ("api_key", Some(*api_key_id)),
        Principal::Service { .. } => ("service", None),
        Principal::Anonymous { .. } => ("anonymous", None),
    };
    sqlx::query(
        "insert into operation_logs
           (id, actor_kind, actor_id, actor_label, action, target_type, target_id, detail, client_ip, request_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(Uuid::now_v7())
    .bind(actor_kind)
    .bind(actor_id)
    .bind(caller.principal.label())
    .bind(action)
    .bind(target_type)
    .bind(target_id)
    .bind(detail)
    .bind(&caller.client_ip)
    .bind(&caller.request_id)
    .execute(connection)
    .await?;
    Ok(())
}
