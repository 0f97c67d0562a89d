//! `rustbill-cli tui`: eight tabs over the same data as the commands
//! (Dashboard, Admin Users, Cust Users, Customers, Products, Plugins,
//! Instances, DB Status), on the CLI's one database pool.
//!
//! Keys (spec operations manual §5.2): q / Esc quit (Esc first closes an open
//! detail or question); Tab / Shift-Tab and 1–8 switch tabs; ↑↓ / j k move;
//! Enter opens the selected row's detail, Backspace closes it; r reloads;
//! d deletes (asks y / n first); e / x enable / disable a plugin interface.
//!
//! The terminal is always given back: a guard restores it when the UI ends
//! for any reason, and ratatui's panic hook restores it before a panic
//! message is printed.

mod app;
mod view;

use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyEventKind};

use crate::context::{CliResult, Context};

/// Puts the terminal back (cooked mode, main screen, cursor) when dropped.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

pub async fn run(context: &Context) -> CliResult {
    let mut app = app::App::new();
    // Load the first tab before taking over the screen, so a database
    // error is printed like any other command's.
    app.reload(context).await?;
    let mut terminal = ratatui::init();
    let _guard = TerminalGuard;
    loop {
        terminal.draw(|frame| view::draw(frame, &mut app)).map_err(anyhow::Error::from)?;
        if app.quit {
            return Ok(());
        }
        // Wait for a key without holding up the runtime's other work.
        let next = tokio::task::block_in_place(|| -> std::io::Result<Option<Event>> {
            if event::poll(Duration::from_millis(250))? { event::read().map(Some) } else { Ok(None) }
        })
        .map_err(anyhow::Error::from)?;
        if let Some(Event::Key(key)) = next
            && key.kind == KeyEventKind::Press
        {
            app.on_key(context, key).await;
        }
    }
}
