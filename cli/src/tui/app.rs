//! The terminal UI's state: which tab, its rows (loaded through the same
//! functions as the commands), the selection, an open detail or question,
//! and what the last action said. Key handling lives here; drawing in
//! `view.rs`.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;

use crate::commands;
use crate::context::{CliError, CliResult, Context};
use crate::output::Listing;

pub const TABS: [&str; 8] =
    ["Dashboard", "Admin Users", "Cust Users", "Customers", "Products", "Plugins", "Instances", "DB Status"];
const ADMIN_USERS: usize = 1;
const PLUGINS: usize = 5;
/// Rows loaded per tab (the CLI's listings page for more).
const LIMIT: i64 = 500;

/// A question waiting for y / n.
pub struct Confirm {
    pub question: String,
    action: Action,
}

enum Action {
    DeleteAdmin(String),
}

pub struct App {
    pub tab: usize,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub selected: usize,
    /// The selected row's fields, while its detail is open.
    pub detail: Option<Vec<(String, String)>>,
    pub confirm: Option<Confirm>,
    /// The last action's outcome; `true` when it was an error.
    pub status: Option<(String, bool)>,
    pub quit: bool,
}

impl App {
    pub fn new() -> Self {
        Self {
            tab: 0,
            columns: Vec::new(),
            rows: Vec::new(),
            selected: 0,
            detail: None,
            confirm: None,
            status: None,
            quit: false,
        }
    }

    /// Loads the current tab's rows, keeping the selection where it can.
    pub async fn reload(&mut self, context: &Context) -> CliResult {
        let listing = load(context, self.tab).await?;
        self.columns = listing.columns().iter().map(|column| column.to_string()).collect();
        self.rows = listing.text_rows();
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        Ok(())
    }

    async fn switch(&mut self, context: &Context, tab: usize) {
        self.tab = tab;
        self.selected = 0;
        self.detail = None;
        self.confirm = None;
        self.status = None;
        self.refresh(context).await;
    }

    async fn refresh(&mut self, context: &Context) {
        if let Err(error) = self.reload(context).await {
            self.rows.clear();
            self.status = Some((message(&error), true));
        }
    }

    fn cell(&self, column: &str) -> Option<String> {
        let index = self.columns.iter().position(|name| name == column)?;
        self.rows.get(self.selected).and_then(|row| row.get(index)).cloned()
    }

    pub async fn on_key(&mut self, context: &Context, key: KeyEvent) {
        // A question takes y / n (Esc is no) and nothing else.
        if let Some(confirm) = self.confirm.take() {
            match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => self.perform(context, confirm.action).await,
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                    self.status = Some(("cancelled".into(), false));
                }
                _ => self.confirm = Some(confirm),
            }
            return;
        }
        let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('q') => self.quit = true,
            _ if ctrl_c => self.quit = true,
            KeyCode::Esc if self.detail.is_some() => self.detail = None,
            KeyCode::Esc => self.quit = true,
            KeyCode::Backspace => self.detail = None,
            KeyCode::Tab => self.switch(context, (self.tab + 1) % TABS.len()).await,
            KeyCode::BackTab => self.switch(context, (self.tab + TABS.len() - 1) % TABS.len()).await,
            KeyCode::Char(digit @ '1'..='8') => {
                let tab = usize::from(digit as u8 - b'1');
                self.switch(context, tab).await;
            }
            KeyCode::Down | KeyCode::Char('j') if self.detail.is_none() && self.selected + 1 < self.rows.len() => {
                self.selected += 1;
            }
            KeyCode::Up | KeyCode::Char('k') if self.detail.is_none() => {
                self.selected = self.selected.saturating_sub(1);
            }
            KeyCode::Enter => {
                if let Some(row) = self.rows.get(self.selected) {
                    self.detail = Some(self.columns.iter().cloned().zip(row.iter().cloned()).collect());
                }
            }
            KeyCode::Char('r') => {
                self.refresh(context).await;
                if self.status.as_ref().is_none_or(|(_, error)| !error) {
                    self.status = Some(("reloaded".into(), false));
                }
            }
            KeyCode::Char('d') => self.ask_delete(),
            KeyCode::Char('e') => self.toggle_plugin(context, true).await,
            KeyCode::Char('x') => self.toggle_plugin(context, false).await,
            _ => {}
        }
    }

    fn ask_delete(&mut self) {
        if self.tab != ADMIN_USERS {
            self.status = Some((
                "d deletes staff users here; customers, products and instances are removed in the admin app".into(),
                true,
            ));
            return;
        }
        if let Some(username) = self.cell("username") {
            self.confirm = Some(Confirm {
                question: format!("Delete staff user {username}? Their sessions end. (y/n)"),
                action: Action::DeleteAdmin(username),
            });
        }
    }

    async fn perform(&mut self, context: &Context, action: Action) {
        let outcome = match action {
            Action::DeleteAdmin(username) => {
                commands::user::delete(context, &username).await.map(|(_, name)| format!("deleted {name}"))
            }
        };
        self.report(context, outcome).await;
    }

    async fn toggle_plugin(&mut self, context: &Context, enable: bool) {
        if self.tab != PLUGINS {
            self.status = Some(("e / x enable and disable plugin interfaces (tab 6)".into(), true));
            return;
        }
        let Some(id) = self.cell("id") else { return };
        let outcome = commands::plugin::set_enabled(context, &id, enable).await.map(|(row, changed)| {
            let word = if enable { "enabled" } else { "disabled" };
            if changed {
                format!("{} {word}", row.display_name)
            } else {
                format!("{} was already {word}", row.display_name)
            }
        });
        self.report(context, outcome).await;
    }

    async fn report(&mut self, context: &Context, outcome: CliResult<String>) {
        let status = match outcome {
            Ok(done) => (done, false),
            Err(error) => (message(&error), true),
        };
        self.refresh(context).await;
        self.status = Some(status);
    }
}

fn message(error: &CliError) -> String {
    match error {
        CliError::Input(message) => message.clone(),
        CliError::Failed(error) => format!("{error:#}"),
    }
}

/// The rows of tab `tab`.
async fn load(context: &Context, tab: usize) -> CliResult<Listing> {
    match tab {
        0 => dashboard(context).await,
        1 => commands::user::listing(context).await,
        2 => customer_users(context).await,
        3 => commands::customer::listing(context, None, LIMIT).await,
        4 => commands::product::listing(context, false, None, LIMIT).await,
        5 => commands::plugin::interface_listing(context).await,
        6 => commands::instance::listing(context, None, None, LIMIT).await,
        _ => Ok(commands::db::status_listing(&commands::db::status_of(context).await?)),
    }
}

async fn dashboard(context: &Context) -> CliResult<Listing> {
    let figures: Vec<(String, i64)> = sqlx::query_as(
        "select 'customers', count(*) from identity.customers
         union all select 'staff users', count(*) from identity.admin_users where is_active
         union all select 'products on sale', count(*) from catalog.products where is_active
         union all select 'orders pending payment', count(*) from orders.orders where status = 'pending'
         union all select 'orders being provisioned', count(*) from orders.orders where status in ('paid', 'provisioning')
         union all select 'orders active', count(*) from orders.orders where status = 'active'
         union all select 'instances running', count(*) from orders.instances where status = 'running'
         union all select 'unpaid invoices', count(*) from orders.invoices where status in ('issued', 'overdue')
         union all select 'open tickets', count(*) from notify.tickets where status in ('pending', 'processing')
         union all select 'plugin interfaces enabled', count(*) from plugins.plugin_interfaces where enabled
         union all select 'plugin interfaces unhealthy', count(*) from plugins.plugin_interfaces where enabled and not is_healthy
         union all select 'events pending', count(*) from bus.delivery where status = 'pending'
         union all select 'events parked', count(*) from bus.delivery where status = 'parked'
         union all select 'live service instances', count(*) from bus.instance_heartbeat
                   where heartbeat_at > now() - interval '1 minute'",
    )
    .fetch_all(&context.pool)
    .await?;
    let mut listing = Listing::new(&["figure", "value"]);
    for (figure, value) in figures {
        listing.row(vec![json!(figure), json!(value)]);
    }
    Ok(listing)
}

async fn customer_users(context: &Context) -> CliResult<Listing> {
    type Row = (uuid::Uuid, String, String, String, String, bool, chrono::DateTime<chrono::Utc>);
    let rows: Vec<Row> = sqlx::query_as(
        "select u.id, u.username, u.email, u.display_name, c.name, u.is_active, u.created_at
         from identity.customer_users u join identity.customers c on c.id = u.customer_id
         order by u.created_at desc limit $1",
    )
    .bind(LIMIT)
    .fetch_all(&context.pool)
    .await?;
    let mut listing = Listing::new(&["id", "username", "email", "display_name", "customer", "active", "created_at"]);
    for (id, username, email, display_name, customer, active, created) in rows {
        listing.row(vec![
            json!(id),
            json!(username),
            json!(email),
            json!(display_name),
            json!(customer),
            json!(active),
            commands::time(Some(created)),
        ]);
    }
    Ok(listing)
}
