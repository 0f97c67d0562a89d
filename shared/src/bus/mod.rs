//! The PostgreSQL outbox between services (DESIGN.md rule 2, spec HA guide
//! §4).
//!
//! # Protocol
//!
//! - **Publish.** A service writes its business rows and a
//!   `bus.event_queue` row in ONE transaction ([`publish`]). A trigger on
//!   `event_queue` creates one `bus.delivery` row per consumer subscribed to
//!   the event type (`bus.subscription`) and sends `NOTIFY rustbill_bus` at
//!   commit, so idle consumers wake at once. Rolled-back events never exist.
//! - **Claim.** A [`Consumer`] claims a batch of its pending deliveries with
//!   `FOR UPDATE SKIP LOCKED`, writing a lease (`locked_until`) and a claim
//!   token (`locked_by`). Any number of instances of one consumer share the
//!   work without a leader. A delivery is claimable only when no earlier
//!   event (by `seq`) of the same aggregate is still open for that consumer,
//!   so event N+1 of an order is never handled before event N is done.
//! - **Handle.** Each event is handled in its own transaction: it takes
//!   `pg_try_advisory_xact_lock(hashtext(consumer), hashtext(aggregate))`
//!   (skipping a busy aggregate), locks its delivery row, runs the
//!   [`Handler`] with that transaction, and marks the delivery done in it.
//!   Database effects and the done mark commit together: exactly-once effect
//!   for database work. External effects are at-least-once; handlers make
//!   them idempotent with the event id as idempotency key.
//! - **Fail.** A failed (or panicking, or timed-out) handler's transaction
//!   is rolled back; the delivery is rescheduled with exponential backoff
//!   and jitter, and parked after `max_attempts` (or at once on
//!   [`HandlerError::Poison`]). Parked deliveries keep blocking later events
//!   of their aggregate (order is never broken silently) until an admin
//!   retries ([`retry_parked`]) or dismisses ([`dismiss_parked`]) them.
//! - **Crash.** A consumer that dies mid-delivery loses nothing: its
//!   transaction rolls back with its connection, and once the lease expires
//!   another instance claims the delivery again. Attempts are counted when a
//!   delivery is claimed, so an event that keeps crashing its consumer is
//!   parked too.
//!
//! # Ordering guarantee
//!
//! [`publish`] takes a transaction-scoped advisory lock on the aggregate
//! before inserting, so two transactions publishing for the same aggregate
//! insert (and get their `seq`) in commit order. Without it, an event with a
//! lower `seq` could become visible after a later one was already handled.
//! A transaction publishing for several aggregates should do so in a stable
//! order (PostgreSQL detects and breaks the rare deadlock otherwise).
//!
//! # Citus
//!
//! The `bus` tables are local tables on the coordinator, never distributed:
//! see `migrations/bus/0002_outbox.sql`.

mod admin;
mod consumer;
mod event;
mod publish;

use sqlx::{Connection, Executor, PgPool};

pub use admin::{
    PurgeReport, QueueDepth, backfill, dismiss_parked, list_parked, purge_done, queue_depth, retry_parked,
    subscriptions, unsubscribe,
};
pub use consumer::{Consumer, ConsumerConfig, DrainReport, Handler, HandlerError, backoff_delay};
pub use event::{Event, NewEvent, ParkedDelivery};
pub use publish::{publish, publish_for};

/// The `LISTEN`/`NOTIFY` channel; the payload is the event type.
pub const CHANNEL: &str = "rustbill_bus";

/// Longest consumer name or event type.
pub const MAX_NAME_LEN: usize = 100;

/// Longest `last_error` kept for a delivery, in bytes.
pub const MAX_ERROR_LEN: usize = 2048;

/// Errors of the bus API.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// A consumer name, event type or argument the bus refuses.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub type BusResult<T> = Result<T, BusError>;

impl From<BusError> for crate::error::AppError {
    fn from(error: BusError) -> Self {
        match error {
            BusError::Invalid(message) => Self::invalid(message),
            BusError::Database(error) => error.into(),
        }
    }
}

/// Creates the `bus` schema and applies its migrations: for tests and tools
/// (services get it from [`crate::db::open_service`]). Safe to call
/// concurrently and repeatedly.
pub async fn install(pool: &PgPool) -> BusResult<()> {
    // A detached connection: the search path change must not leak into the pool.
    let mut connection = pool.acquire().await?.detach();
    let result = async {
        let mut transaction = connection.begin().await?;
        sqlx::query("select pg_advisory_xact_lock(hashtext('rustbill:schemas'))").execute(&mut *transaction).await?;
        transaction.execute("create schema if not exists bus").await?;
        transaction.commit().await?;
        connection.execute("set search_path to bus").await?;
        crate::db::BUS_MIGRATOR.run(&mut connection).await.map_err(sqlx::Error::from)?;
        Ok::<(), BusError>(())
    }
    .await;
    connection.close().await.ok();
    result
}

/// Consumer names and event types: `[a-z0-9._:-]`, 1 to 100 characters.
pub(crate) fn validate_name(kind: &str, name: &str) -> BusResult<()> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"._:-".contains(&byte));
    if valid {
        Ok(())
    } else {
        Err(BusError::Invalid(format!(
            "{kind} must be 1 to {MAX_NAME_LEN} characters of a-z 0-9 . _ : - (got {name:?})"
        )))
    }
}

/// Cuts `message` to at most [`MAX_ERROR_LEN`] bytes on a character boundary.
pub(crate) fn truncate_error(message: &str) -> String {
    if message.len() <= MAX_ERROR_LEN {
        return message.to_string();
    }
    let mut end = MAX_ERROR_LEN;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(validate_name("consumer", "notify.verification_codes").is_ok());
        assert!(validate_name("event type", "order_paid").is_ok());
        assert!(validate_name("consumer", "").is_err());
        assert!(validate_name("consumer", "Bad Name").is_err());
        assert!(validate_name("consumer", &"a".repeat(MAX_NAME_LEN + 1)).is_err());
    }

    #[test]
    fn errors_are_truncated_on_a_char_boundary() {
        assert_eq!(truncate_error("short"), "short");
        let long = "é".repeat(MAX_ERROR_LEN);
        let cut = truncate_error(&long);
        assert!(cut.len() <= MAX_ERROR_LEN);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
