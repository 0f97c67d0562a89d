//! `rustbill-cli`: the operator's highest-privilege tool. It talks to the
//! database directly (no server needed), loads its configuration exactly as
//! the servers do (config files, `RUSTBILL_…`, `DATABASE_URL`), and changes
//! state through the services' own library code, so the ledger rules, the
//! password policy and the outbox events are the same as through the API.
//!
//! Exit codes: 0 done; 1 the operation failed (database unreachable, …);
//! 2 bad input (unknown user, bad amount, bad arguments: clap's own exit
//! code for usage errors is 2 as well) — nothing changed.

mod commands;
mod context;
mod output;
mod tui;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::context::{CliError, Context};
use crate::output::Format;

/// RustBill administration from the terminal (direct database access).
#[derive(Debug, Parser)]
#[command(name = "rustbill-cli", version, about = "RustBill administration from the terminal (direct database access)", long_about = None)]
struct Cli {
    /// Output of listings: a table for people, JSON for scripts.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Format::Table)]
    output: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Staff users (admins and operators).
    #[command(subcommand)]
    User(commands::user::UserCommand),
    /// Customers and their balances.
    #[command(subcommand)]
    Customer(commands::customer::CustomerCommand),
    /// Products of the catalog.
    #[command(subcommand)]
    Product(commands::product::ProductCommand),
    /// Plugin definitions and interfaces.
    #[command(subcommand)]
    Plugin(commands::plugin::PluginCommand),
    /// Orders.
    #[command(subcommand)]
    Order(commands::order::OrderCommand),
    /// Provisioned instances.
    #[command(subcommand)]
    Instance(commands::instance::InstanceCommand),
    /// Migrations of every schema.
    #[command(subcommand)]
    Db(commands::db::DbCommand),
    /// The outbox: pending and parked events, retrying parked ones.
    #[command(subcommand)]
    Events(commands::events::EventsCommand),
    /// Leader roles held by service instances.
    #[command(subcommand)]
    Leader(commands::leader::LeaderCommand),
    /// The interactive terminal UI (8 tabs).
    Tui,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("rustbill-cli: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Input(message)) => {
            eprintln!("rustbill-cli: {message}");
            ExitCode::from(2)
        }
        Err(CliError::Failed(error)) => {
            eprintln!("rustbill-cli: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let context = Context::connect(cli.output).await?;
    let result = match cli.command {
        Command::User(command) => commands::user::run(&context, command).await,
        Command::Customer(command) => commands::customer::run(&context, command).await,
        Command::Product(command) => commands::product::run(&context, command).await,
        Command::Plugin(command) => commands::plugin::run(&context, command).await,
        Command::Order(command) => commands::order::run(&context, command).await,
        Command::Instance(command) => commands::instance::run(&context, command).await,
        Command::Db(command) => commands::db::run(&context, command).await,
        Command::Events(command) => commands::events::run(&context, command).await,
        Command::Leader(command) => commands::leader::run(&context, command).await,
        Command::Tui => tui::run(&context).await,
    };
    context.close().await;
    result
}
