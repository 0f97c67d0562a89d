//! `events list|retry`: the outbox as operators see it — the backlog per
//! consumer, parked deliveries with their last error, and putting a parked
//! delivery back in the queue.

use clap::Subcommand;
use rustbill_shared::bus;
use serde_json::json;

use crate::commands::{parse_id, time};
use crate::context::{CliResult, Context, input};
use crate::output::{Format, Listing, done};

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// The backlog of every consumer, then the parked deliveries.
    List {
        /// Only this consumer's parked deliveries.
        #[arg(long)]
        consumer: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Puts a parked delivery back in the queue with a fresh attempt budget.
    Retry {
        /// The event's id (from `events list`).
        event_id: String,
        /// The consumer whose delivery is retried (needed when several
        /// consumers parked the same event).
        #[arg(long)]
        consumer: Option<String>,
    },
}

pub async fn run(context: &Context, command: EventsCommand) -> CliResult {
    match command {
        EventsCommand::List { consumer, limit } => list(context, consumer.as_deref(), limit).await,
        EventsCommand::Retry { event_id, consumer } => retry(context, &event_id, consumer.as_deref()).await,
    }
}

async fn list(context: &Context, consumer: Option<&str>, limit: i64) -> CliResult {
    crate::commands::check_limit(limit)?;
    let depth = bus::queue_depth(&context.pool).await.map_err(rustbill_shared::AppError::from)?;
    let parked = bus::list_parked(&context.pool, consumer, limit).await.map_err(rustbill_shared::AppError::from)?;
    let mut backlog = Listing::new(&["consumer", "pending", "in_flight", "retrying", "parked", "oldest_pending_secs"]);
    for row in &depth {
        backlog.row(vec![
            json!(row.consumer),
            json!(row.pending),
            json!(row.in_flight),
            json!(row.retrying),
            json!(row.parked),
            row.oldest_pending_age().map_or(serde_json::Value::Null, |age| json!(age.as_secs())),
        ]);
    }
    let mut parked_list =
        Listing::new(&["event_id", "consumer", "event_type", "aggregate_id", "attempts", "last_error", "parked_at"]);
    for row in &parked {
        parked_list.row(vec![
            json!(row.event_id),
            json!(row.consumer),
            json!(row.event_type),
            json!(row.aggregate_id),
            json!(row.attempts),
            json!(row.last_error.clone().unwrap_or_default()),
            time(row.parked_at),
        ]);
    }
    match context.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "backlog": backlog.to_json(), "parked": parked_list.to_json() }))
                .unwrap_or_default()
        ),
        Format::Table => {
            println!("Backlog per consumer:");
            backlog.print(Format::Table);
            println!("Parked deliveries ({}):", parked_list.len());
            parked_list.print(Format::Table);
        }
    }
    Ok(())
}

async fn retry(context: &Context, event_id: &str, consumer: Option<&str>) -> CliResult {
    let event_id = parse_id("event id", event_id)?;
    let consumers: Vec<String> = sqlx::query_scalar(
        "select consumer from bus.delivery where event_id = $1 and status = 'parked'
         and ($2::text is null or consumer = $2) order by consumer",
    )
    .bind(event_id)
    .bind(consumer)
    .fetch_all(&context.pool)
    .await?;
    let consumer = match consumers.as_slice() {
        [] => return Err(input(format!("no parked delivery of event {event_id} (see `rustbill-cli events list`)"))),
        [one] => one.clone(),
        several => {
            return Err(input(format!(
                "event {event_id} is parked for several consumers ({}); give --consumer",
                several.join(", ")
            )));
        }
    };
    let retried =
        bus::retry_parked(&context.pool, &consumer, event_id).await.map_err(rustbill_shared::AppError::from)?;
    if !retried {
        return Err(input(format!("the delivery of {event_id} to {consumer} is no longer parked")));
    }
    done(
        context.format,
        &format!("event {event_id} is queued again for {consumer}"),
        json!({ "event_id": event_id, "consumer": consumer, "retried": true }),
    );
    Ok(())
}
