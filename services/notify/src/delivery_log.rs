//! The delivery log an admin reads and replays
//! (`ListNotificationDeliveries`, `GetNotificationDelivery`,
//! `ReplayNotificationDelivery`): every message to a channel with its
//! status, and every try to send it (`delivery_attempts`, written by the
//! delivery worker in the transaction that records the outcome).

use chrono::{DateTime, Utc};
use rustbill_proto::notification::{
    GetNotificationDeliveryRequest, GetNotificationDeliveryResponse, ListNotificationDeliveriesRequest,
    ListNotificationDeliveriesResponse, NotificationAttempt, NotificationDelivery, ReplayNotificationDeliveryRequest,
    ReplayNotificationDeliveryResponse,
};
use rustbill_shared::ids::{format_optional_time, format_time, parse_id, parse_optional_id};
use rustbill_shared::paging::{fetch_page, paging};
use rustbill_shared::principal::Caller;
use rustbill_shared::{AppError, AppResult, oplog};
use sqlx::{AssertSqlSafe, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

const STATUSES: [&str; 4] = ["pending", "sent", "skipped", "parked"];

const COLUMNS: &str = "id, event_id, event_type, channel_id, channel_name, recipient, title, status, attempts, \
                       last_error, next_attempt_at, created_at, sent_at, replays";

#[derive(Debug, sqlx::FromRow)]
struct DeliveryRow {
    id: Uuid,
    event_id: Uuid,
    event_type: String,
    channel_id: Uuid,
    channel_name: String,
    recipient: String,
    title: String,
    status: String,
    attempts: i32,
    last_error: Option<String>,
    next_attempt_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    replays: i32,
}

impl DeliveryRow {
    fn to_info(&self) -> NotificationDelivery {
        NotificationDelivery {
            id: self.id.to_string(),
            event_id: self.event_id.to_string(),
            event_type: self.event_type.clone(),
            channel_id: self.channel_id.to_string(),
            channel_name: self.channel_name.clone(),
            recipient: self.recipient.clone(),
            title: self.title.clone(),
            status: self.status.clone(),
            attempts: self.attempts,
            last_error: self.last_error.clone().unwrap_or_default(),
            next_attempt_at: if self.status == "pending" { format_time(self.next_attempt_at) } else { String::new() },
            created_at: format_time(self.created_at),
            sent_at: format_optional_time(self.sent_at),
            replays: self.replays,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct DeliveryWithBody {
    #[sqlx(flatten)]
    row: DeliveryRow,
    body: String,
}

#[derive(Debug, sqlx::FromRow)]
struct AttemptRow {
    attempt: i32,
    replay: i32,
    started_at: DateTime<Utc>,
    duration_ms: i64,
    outcome: String,
    error: String,
}

fn text_filter(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

pub async fn list(
    pool: &PgPool,
    caller: &Caller,
    request: ListNotificationDeliveriesRequest,
) -> AppResult<ListNotificationDeliveriesResponse> {
    caller.principal.require_admin()?;
    let status = text_filter(request.status.as_deref());
    if status.is_some_and(|status| !STATUSES.contains(&status)) {
        return Err(AppError::invalid_field("status", "must be pending, sent, skipped or parked"));
    }
    let channel = parse_optional_id("channel_id", text_filter(request.channel_id.as_deref()))?;
    let event = parse_optional_id("event_id", text_filter(request.event_id.as_deref()))?;
    let event_type = text_filter(request.event_type.as_deref());
    if event_type.is_some_and(|value| value.len() > 100) {
        return Err(AppError::invalid_field("event_type", "at most 100 characters"));
    }
    let (page, page_size) = paging(request.pagination.as_ref());
    let filters = |builder: &mut QueryBuilder<Postgres>| {
        if let Some(status) = status {
            builder.push(" and status = ").push_bind(status.to_string());
        }
        if let Some(channel) = channel {
            builder.push(" and channel_id = ").push_bind(channel);
        }
        if let Some(event) = event {
            builder.push(" and event_id = ").push_bind(event);
        }
        if let Some(event_type) = event_type {
            builder.push(" and event_type = ").push_bind(event_type.to_string());
        }
    };
    let (rows, meta): (Vec<DeliveryRow>, _) =
        fetch_page(pool, COLUMNS, "deliveries", filters, "created_at desc, id desc", page, page_size).await?;
    Ok(ListNotificationDeliveriesResponse {
        deliveries: rows.iter().map(DeliveryRow::to_info).collect(),
        meta: Some(meta),
    })
}

pub async fn get(
    pool: &PgPool,
    caller: &Caller,
    request: GetNotificationDeliveryRequest,
) -> AppResult<GetNotificationDeliveryResponse> {
    caller.principal.require_admin()?;
    let id = parse_id("id", &request.id)?;
    let found: Option<DeliveryWithBody> =
        sqlx::query_as(AssertSqlSafe(format!("select {COLUMNS}, body from deliveries where id = $1")))
            .bind(id)
            .fetch_optional(pool)
            .await?;
    let Some(DeliveryWithBody { row, body }) = found else {
        return Err(AppError::not_found("delivery not found"));
    };
    let attempts: Vec<AttemptRow> = sqlx::query_as(
        "select attempt, replay, started_at, duration_ms, outcome, error from delivery_attempts
         where delivery_id = $1 order by started_at, id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(GetNotificationDeliveryResponse {
        delivery: Some(row.to_info()),
        attempts: attempts
            .into_iter()
            .map(|attempt| NotificationAttempt {
                attempt: attempt.attempt,
                replay: attempt.replay,
                started_at: attempt.started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                duration_ms: attempt.duration_ms,
                outcome: attempt.outcome,
                error: attempt.error,
            })
            .collect(),
        body,
    })
}

/// Puts a finished delivery back in the queue, due now, its attempts
/// starting over in a new round. Under the row lock, two replays at once
/// serialise (the second sees `pending`) and one racing the worker's send
/// is refused.
pub async fn replay(
    pool: &PgPool,
    caller: &Caller,
    request: ReplayNotificationDeliveryRequest,
) -> AppResult<ReplayNotificationDeliveryResponse> {
    caller.principal.require_admin()?;
    let id = parse_id("id", &request.id)?;
    let mut transaction = pool.begin().await?;
    // NOWAIT: the delivery worker holds the row while it sends; an admin
    // gets an answer at once rather than waiting on the receiver.
    let status: Option<String> =
        match sqlx::query_scalar("select status from deliveries where id = $1 for update nowait")
            .bind(id)
            .fetch_optional(&mut *transaction)
            .await
        {
            Ok(status) => status,
            Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("55P03") => {
                return Err(AppError::FailedPrecondition("the delivery is being sent right now".into()));
            }
            Err(error) => return Err(error.into()),
        };
    match status.as_deref() {
        None => return Err(AppError::not_found("delivery not found")),
        Some("pending") => {
            return Err(AppError::FailedPrecondition(
                "the delivery is still pending; it is sent or parked before it can be replayed".into(),
            ));
        }
        Some(_) => {}
    }
    let row: DeliveryRow = sqlx::query_as(AssertSqlSafe(format!(
        "update deliveries set status = 'pending', attempts = 0, replays = replays + 1, next_attempt_at = now(),
                last_error = null, sent_at = null
         where id = $1 returning {COLUMNS}"
    )))
    .bind(id)
    .fetch_one(&mut *transaction)
    .await?;
    oplog::record(
        &mut transaction,
        caller,
        "notification.replay",
        "notification_delivery",
        &id.to_string(),
        serde_json::json!({ "previous_status": status, "channel_id": row.channel_id, "event_id": row.event_id,
                            "replay": row.replays }),
    )
    .await?;
    transaction.commit().await?;
    Ok(ReplayNotificationDeliveryResponse { delivery: Some(row.to_info()) })
}
