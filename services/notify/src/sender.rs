//! The delivery worker: sends due deliveries one at a time (each under its
//! row lock, `SKIP LOCKED`, so any number of instances share the work),
//! retries failures with exponential backoff and parks a delivery after
//! `[notify].max_attempts`. A failing channel only delays its own rows.

use std::time::Duration;

use rustbill_proto::internal::plugins::SendNotificationCall;
use rustbill_shared::principal::{Caller, Principal};
use sqlx::PgPool;
use uuid::Uuid;

use crate::channels::Channels;

#[derive(Debug, sqlx::FromRow)]
struct Due {
    id: Uuid,
    event_id: Uuid,
    event_type: String,
    channel_id: Uuid,
    recipient: String,
    title: String,
    body: String,
    data: serde_json::Value,
    attempts: i32,
    replays: i32,
}

/// The delay before attempt `attempt + 1`.
pub fn backoff(base_secs: u64, attempt: u32) -> Duration {
    let factor = 1u64 << attempt.saturating_sub(1).min(16);
    Duration::from_secs(base_secs.saturating_mul(factor).min(3600))
}

/// Sends one due delivery; `false` when none was due.
pub async fn send_one(
    pool: &PgPool,
    channels: &Channels,
    max_attempts: u32,
    retry_base_secs: u64,
) -> anyhow::Result<bool> {
    let mut transaction = pool.begin().await?;
    let due: Option<Due> = sqlx::query_as(
        "select id, event_id, event_type, channel_id, recipient, title, body, data, attempts, replays from deliveries
         where status = 'pending' and next_attempt_at <= now()
         order by next_attempt_at limit 1 for update skip locked",
    )
    .fetch_optional(&mut *transaction)
    .await?;
    let Some(due) = due else {
        return Ok(false);
    };
    let caller = Caller::new(Principal::Service { name: "notify".into() }, due.event_id.to_string(), "");
    let attempts = due.attempts + 1;
    let started_at = chrono::Utc::now();
    let clock = std::time::Instant::now();
    let outcome = channels
        .send(
            &caller,
            SendNotificationCall {
                interface_id: due.channel_id.to_string(),
                event_id: due.event_id.to_string(),
                event_type: due.event_type.clone(),
                title: due.title.clone(),
                body: due.body.clone(),
                recipient: due.recipient.clone(),
                data_json: due.data.to_string(),
                delivery_id: due.id.to_string(),
                attempt: attempts,
            },
        )
        .await;
    let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (attempt_outcome, attempt_error) = match &outcome {
        Ok(true) => ("sent", String::new()),
        Ok(false) => ("skipped", String::new()),
        Err(error) => ("failed", error.to_string().chars().take(2000).collect()),
    };
    sqlx::query(
        "insert into delivery_attempts (id, delivery_id, attempt, replay, started_at, duration_ms, outcome, error)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(Uuid::now_v7())
    .bind(due.id)
    .bind(attempts)
    .bind(due.replays)
    .bind(started_at)
    .bind(duration_ms)
    .bind(attempt_outcome)
    .bind(&attempt_error)
    .execute(&mut *transaction)
    .await?;
    match outcome {
        Ok(sent) => {
            sqlx::query(
                "update deliveries set status = $2, attempts = $3, sent_at = case when $2 = 'sent' then now() end,
                        last_error = null where id = $1",
            )
            .bind(due.id)
            .bind(if sent { "sent" } else { "skipped" })
            .bind(attempts)
            .execute(&mut *transaction)
            .await?;
        }
        Err(_) => {
            let message = attempt_error;
            let parked = u32::try_from(attempts).unwrap_or(u32::MAX) >= max_attempts;
            let delay = backoff(retry_base_secs, u32::try_from(attempts).unwrap_or(u32::MAX));
            if parked {
                tracing::warn!(delivery_id = %due.id, channel_id = %due.channel_id, error = %message, "delivery parked");
            }
            // The backoff counts from the failure (clock_timestamp), not
            // from the start of this transaction, which began before the send.
            sqlx::query(
                "update deliveries set status = $2, attempts = $3, last_error = $4,
                        next_attempt_at = clock_timestamp() + make_interval(secs => $5)
                 where id = $1",
            )
            .bind(due.id)
            .bind(if parked { "parked" } else { "pending" })
            .bind(attempts)
            .bind(&message)
            .bind(delay.as_secs_f64())
            .execute(&mut *transaction)
            .await?;
        }
    }
    transaction.commit().await?;
    Ok(true)
}

/// Sends deliveries until `shutdown`: continuously while there is work,
/// otherwise polling every 500 ms.
pub async fn run(
    pool: PgPool,
    channels: Channels,
    max_attempts: u32,
    retry_base_secs: u64,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        let pause = match send_one(&pool, &channels, max_attempts, retry_base_secs).await {
            Ok(true) => continue,
            Ok(false) => Duration::from_millis(500),
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "delivery worker error");
                Duration::from_secs(2)
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(30, 1), Duration::from_secs(30));
        assert_eq!(backoff(30, 2), Duration::from_secs(60));
        assert_eq!(backoff(30, 4), Duration::from_secs(240));
        assert_eq!(backoff(30, 40), Duration::from_secs(3600));
        assert_eq!(backoff(0, 3), Duration::ZERO);
    }
}
