//! `db status|migrate`: the migrations of every schema (the shared `bus`
//! and one per service), applied and pending, and applying them exactly as
//! a starting service does (schema, role, leader lock `migration:<schema>`).

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use sqlx::migrate::Migrator;

use crate::commands::time;
use crate::context::{CliResult, Context};
use crate::output::{Format, Listing, done};

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Applied and pending migrations of every schema.
    Status,
    /// Applies the pending migrations of every schema.
    Migrate,
}

/// Every schema with its migrations, in the order services create them.
pub fn schemas() -> Vec<(&'static str, &'static Migrator)> {
    vec![
        ("bus", &rustbill_shared::db::BUS_MIGRATOR),
        (rustbill_identity::SCHEMA, &rustbill_identity::MIGRATOR),
        (rustbill_catalog::SCHEMA, &rustbill_catalog::MIGRATOR),
        (rustbill_orders::SCHEMA, &rustbill_orders::MIGRATOR),
        (rustbill_payments::SCHEMA, &rustbill_payments::MIGRATOR),
        (rustbill_plugins::SCHEMA, &rustbill_plugins::MIGRATOR),
        (rustbill_notify::SCHEMA, &rustbill_notify::MIGRATOR),
    ]
}

/// One schema's state: versions applied (with when), and pending ones.
pub struct SchemaStatus {
    pub schema: &'static str,
    pub applied: Vec<(i64, String, Option<chrono::DateTime<chrono::Utc>>)>,
    pub pending: Vec<(i64, String)>,
    /// Applied versions this binary does not know (a newer release ran).
    pub unknown: Vec<i64>,
}

pub async fn status_of(context: &Context) -> CliResult<Vec<SchemaStatus>> {
    let mut out = Vec::new();
    for (schema, migrator) in schemas() {
        let exists: bool = sqlx::query_scalar(
            "select exists (select 1 from information_schema.tables
                            where table_schema = $1 and table_name = '_sqlx_migrations')",
        )
        .bind(schema)
        .fetch_one(&context.pool)
        .await?;
        let applied: Vec<(i64, String, Option<chrono::DateTime<chrono::Utc>>)> = if exists {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "select version, description, installed_on from {schema}._sqlx_migrations where success order by version"
            )))
            .fetch_all(&context.pool)
            .await?
        } else {
            Vec::new()
        };
        let pending = migrator
            .iter()
            .filter(|migration| !applied.iter().any(|(version, ..)| *version == migration.version))
            .map(|migration| (migration.version, migration.description.to_string()))
            .collect();
        let unknown = applied
            .iter()
            .map(|(version, ..)| *version)
            .filter(|version| !migrator.iter().any(|migration| migration.version == *version))
            .collect();
        out.push(SchemaStatus { schema, applied, pending, unknown });
    }
    Ok(out)
}

pub async fn run(context: &Context, command: DbCommand) -> CliResult {
    match command {
        DbCommand::Status => status(context).await,
        DbCommand::Migrate => migrate(context).await,
    }
}

async fn status(context: &Context) -> CliResult {
    let statuses = status_of(context).await?;
    if context.format == Format::Json {
        let value: Vec<_> = statuses
            .iter()
            .map(|status| {
                json!({
                    "schema": status.schema,
                    "applied": status.applied.iter().map(|(version, description, at)| json!({
                        "version": version, "description": description, "installed_on": time(*at),
                    })).collect::<Vec<_>>(),
                    "pending": status.pending.iter().map(|(version, description)| json!({
                        "version": version, "description": description,
                    })).collect::<Vec<_>>(),
                    "unknown": status.unknown,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return Ok(());
    }
    status_listing(&statuses).print(Format::Table);
    Ok(())
}

/// One row per schema: applied count, latest, pending (the `db status`
/// table; also the TUI's tab).
pub fn status_listing(statuses: &[SchemaStatus]) -> Listing {
    let mut listing = Listing::new(&["schema", "applied", "latest", "pending"]);
    for status in statuses {
        let latest = status.applied.last().map(|(version, description, _)| format!("{version} {description}"));
        let pending: Vec<String> =
            status.pending.iter().map(|(version, description)| format!("{version} {description}")).collect();
        let mut pending = if pending.is_empty() { "none".to_string() } else { pending.join(", ") };
        if !status.unknown.is_empty() {
            pending.push_str(&format!(" (applied by a newer release: {:?})", status.unknown));
        }
        listing.row(vec![
            json!(status.schema),
            json!(status.applied.len()),
            json!(latest.unwrap_or_default()),
            json!(pending),
        ]);
    }
    listing
}

async fn migrate(context: &Context) -> CliResult {
    let before: usize = status_of(context).await?.iter().map(|status| status.pending.len()).sum();
    let services: Vec<_> = schemas().into_iter().filter(|(schema, _)| *schema != "bus").collect();
    let bar =
        if context.format == Format::Table { ProgressBar::new(services.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    for (schema, migrator) in services {
        bar.set_message(format!("schema {schema}"));
        // The service's own path: creates the schema and its role, migrates
        // `bus` and the schema under the leader lock, then leaves at once.
        let service = rustbill_shared::db::open_service(&context.config.db, &context.url, schema, migrator).await?;
        let heartbeat = service.start_heartbeat();
        service.leave(heartbeat).await;
        service.pool.close().await;
        bar.inc(1);
    }
    bar.finish_and_clear();
    done(
        context.format,
        &format!("{before} migration(s) applied; every schema is current"),
        json!({ "applied": before }),
    );
    Ok(())
}
