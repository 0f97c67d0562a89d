//! `plugin list|enable|disable|check`: plugin definitions (scanned script
//! files) and their interfaces (configured instances). Enabling follows the
//! plugins service's rules: the script must compile and satisfy its type's
//! contract, and the config must be complete for its schema. `check` runs
//! that verification for every interface (or one) without changing
//! anything. Scripts are compiled by the plugins crate's own engine, the
//! one the plugins service runs (no script function is called).

use clap::Subcommand;
use rustbill_plugins::store::{self, InterfaceRow};
use rustbill_plugins::{build_engine, schema};
use rustbill_shared::oplog;
use serde_json::json;
use uuid::Uuid;

use crate::commands::time;
use crate::context::{CliResult, Context, input};
use crate::output::{Format, Listing, done};

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Plugin definitions and interfaces.
    List,
    /// Enables an interface (by id or display name).
    Enable { interface: String },
    /// Disables an interface (by id or display name).
    Disable { interface: String },
    /// Compiles and checks the script and config of every interface, or of
    /// one; exits with 2 when any is broken.
    Check { interface: Option<String> },
}

pub async fn run(context: &Context, command: PluginCommand) -> CliResult {
    match command {
        PluginCommand::List => list(context).await,
        PluginCommand::Enable { interface } => toggle(context, &interface, true).await,
        PluginCommand::Disable { interface } => toggle(context, &interface, false).await,
        PluginCommand::Check { interface } => check(context, interface.as_deref()).await,
    }
}

type DefinitionRow = (String, String, String, String, Option<String>, chrono::DateTime<chrono::Utc>);

async fn list(context: &Context) -> CliResult {
    let definitions: Vec<DefinitionRow> = sqlx::query_as(
        "select plugin_type, plugin_id, version, file_name, load_error, updated_at
         from plugins.plugins order by plugin_type, plugin_id",
    )
    .fetch_all(&context.pool)
    .await?;
    let mut definition_list = Listing::new(&["type", "plugin_id", "version", "file", "load_error", "updated_at"]);
    for (kind, id, version, file, error, updated) in definitions {
        definition_list.row(vec![
            json!(kind),
            json!(id),
            json!(version),
            json!(file),
            json!(error.unwrap_or_default()),
            time(Some(updated)),
        ]);
    }
    let interface_list = interface_listing(context).await?;
    match context.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "plugins": definition_list.to_json(), "interfaces": interface_list.to_json() })
            )
            .unwrap_or_default()
        ),
        Format::Table => {
            println!("Plugins (script files):");
            definition_list.print(Format::Table);
            println!("Interfaces:");
            interface_list.print(Format::Table);
        }
    }
    Ok(())
}

/// Every interface (the `plugin list` interface rows; also the TUI's tab).
pub async fn interface_listing(context: &Context) -> CliResult<Listing> {
    let interfaces = all_interfaces(context).await?;
    let mut listing =
        Listing::new(&["id", "display_name", "type", "plugin_id", "version", "enabled", "healthy", "health_error"]);
    for row in &interfaces {
        listing.row(vec![
            json!(row.id),
            json!(row.display_name),
            json!(row.plugin_type),
            json!(row.plugin_id),
            json!(row.plugin_version),
            json!(row.enabled),
            json!(row.is_healthy),
            json!(row.health_error.clone().unwrap_or_default()),
        ]);
    }
    Ok(listing)
}

async fn all_interfaces(context: &Context) -> CliResult<Vec<InterfaceRow>> {
    let mut connection = context.begin_in("plugins").await?;
    let rows = store::interfaces(&mut *connection, None, false).await?;
    connection.commit().await?;
    Ok(rows)
}

/// An interface by id or (unique, case-insensitive) display name.
async fn find(context: &Context, key: &str) -> CliResult<InterfaceRow> {
    let key = key.trim();
    let interfaces = all_interfaces(context).await?;
    if let Ok(id) = Uuid::parse_str(key) {
        return interfaces
            .into_iter()
            .find(|row| row.id == id)
            .ok_or_else(|| input(format!("no plugin interface {id} (see `rustbill-cli plugin list`)")));
    }
    let mut named: Vec<InterfaceRow> =
        interfaces.into_iter().filter(|row| row.display_name.eq_ignore_ascii_case(key)).collect();
    match named.len() {
        0 => Err(input(format!("no plugin interface named {key:?} (see `rustbill-cli plugin list`)"))),
        1 => Ok(named.remove(0)),
        _ => Err(input(format!("several interfaces are named {key:?}; give the id"))),
    }
}

/// What keeps `row` from running: a script that does not compile or meet
/// its contract, or an incomplete config.
async fn problem(context: &Context, row: &InterfaceRow) -> CliResult<Option<String>> {
    let engine = build_engine(&context.config, &context.pool)?;
    let plugin_type = row.plugin_type()?;
    if let Err(error) = engine.check_async(plugin_type, &row.script_source).await {
        return Ok(Some(format!("the script cannot run: {error}")));
    }
    if let Err(error) = schema::validate("config", &row.config_schema, &row.config, true) {
        return Ok(Some(format!("the config is incomplete: {error}")));
    }
    Ok(None)
}

async fn toggle(context: &Context, key: &str, enable: bool) -> CliResult {
    let (row, changed) = set_enabled(context, key, enable).await?;
    let word = if enable { "enabled" } else { "disabled" };
    let message = if changed {
        format!("{} {word}", row.display_name)
    } else {
        format!("{} was already {word}", row.display_name)
    };
    done(
        context.format,
        &message,
        json!({ "id": row.id, "display_name": row.display_name, "enabled": enable, "changed": changed }),
    );
    Ok(())
}

/// Enables or disables an interface (by id or display name) under the
/// plugins service's rules; the interface and whether anything changed.
pub async fn set_enabled(context: &Context, key: &str, enable: bool) -> CliResult<(InterfaceRow, bool)> {
    let row = find(context, key).await?;
    if enable && let Some(problem) = problem(context, &row).await? {
        return Err(input(format!("cannot enable {}: {problem}", row.display_name)));
    }
    let mut transaction = context.begin_in("plugins").await?;
    let changed =
        sqlx::query("update plugin_interfaces set enabled = $2, updated_at = now() where id = $1 and enabled <> $2")
            .bind(row.id)
            .bind(enable)
            .execute(&mut *transaction)
            .await?
            .rows_affected()
            > 0;
    if changed {
        let action = if enable { "enable_plugin_interface" } else { "disable_plugin_interface" };
        oplog::record(
            &mut transaction,
            &context.caller(),
            action,
            "plugin_interface",
            &row.id.to_string(),
            json!({ "display_name": row.display_name }),
        )
        .await?;
    }
    transaction.commit().await?;
    Ok((row, changed))
}

async fn check(context: &Context, key: Option<&str>) -> CliResult {
    let rows = match key {
        Some(key) => vec![find(context, key).await?],
        None => all_interfaces(context).await?,
    };
    let mut listing = Listing::new(&["id", "display_name", "enabled", "result"]);
    let mut broken = 0;
    for row in &rows {
        let result = problem(context, row).await?;
        broken += usize::from(result.is_some());
        listing.row(vec![
            json!(row.id),
            json!(row.display_name),
            json!(row.enabled),
            json!(result.unwrap_or_else(|| "ok".into())),
        ]);
    }
    listing.print(context.format);
    if broken > 0 {
        return Err(input(format!("{broken} of {} interface(s) cannot run", rows.len())));
    }
    Ok(())
}
