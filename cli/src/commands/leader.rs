//! `leader status`: who holds each leader role (migrations, billing, event
//! timeouts, …), whether the lease is still alive, and the live instances
//! with their pool figures.

use clap::Subcommand;
use serde_json::json;
use uuid::Uuid;

use crate::commands::time;
use crate::context::{CliResult, Context};
use crate::output::{Format, Listing};

#[derive(Debug, Subcommand)]
pub enum LeaderCommand {
    /// Leader roles and service instances.
    Status,
}

type RoleRow =
    (String, Option<Uuid>, Option<String>, chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>, i32, bool);
type InstanceRow = (Uuid, String, String, chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>, i32, i32, i32);

pub async fn run(context: &Context, command: LeaderCommand) -> CliResult {
    let LeaderCommand::Status = command;
    let roles: Vec<RoleRow> = sqlx::query_as(
        "select r.role, r.holder, i.service, r.acquired_at, r.heartbeat_at, r.ttl_secs,
                r.holder is not null and r.heartbeat_at + make_interval(secs => r.ttl_secs) > now()
         from bus.leader_role r left join bus.instance_heartbeat i on i.instance_id = r.holder
         order by r.role",
    )
    .fetch_all(&context.pool)
    .await?;
    let instances: Vec<InstanceRow> = sqlx::query_as(
        "select instance_id, service, hostname, registered_at, heartbeat_at, pool_active, pool_idle, pool_max
         from bus.instance_heartbeat order by service, registered_at",
    )
    .fetch_all(&context.pool)
    .await?;
    let mut role_list =
        Listing::new(&["role", "holder", "service", "alive", "acquired_at", "heartbeat_at", "ttl_secs"]);
    for (role, holder, service, acquired, beat, ttl, alive) in roles {
        role_list.row(vec![
            json!(role),
            json!(holder),
            json!(service.unwrap_or_default()),
            json!(alive),
            time(Some(acquired)),
            time(Some(beat)),
            json!(ttl),
        ]);
    }
    let mut instance_list = Listing::new(&[
        "instance_id",
        "service",
        "hostname",
        "registered_at",
        "heartbeat_at",
        "pool_active",
        "pool_idle",
        "pool_max",
    ]);
    for (id, service, host, registered, beat, active, idle, max) in instances {
        instance_list.row(vec![
            json!(id),
            json!(service),
            json!(host),
            time(Some(registered)),
            time(Some(beat)),
            json!(active),
            json!(idle),
            json!(max),
        ]);
    }
    match context.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "roles": role_list.to_json(), "instances": instance_list.to_json() })
            )
            .unwrap_or_default()
        ),
        Format::Table => {
            println!("Leader roles:");
            role_list.print(Format::Table);
            println!("Instances:");
            instance_list.print(Format::Table);
        }
    }
    Ok(())
}
