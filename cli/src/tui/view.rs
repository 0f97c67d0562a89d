//! Drawing the terminal UI: tabs on top, the tab's table, the key help and
//! the last action's outcome at the bottom, and the detail or question as a
//! box over the table.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Tabs, Wrap};

use super::app::{App, TABS};

const HELP: &str = "q quit · Tab/1-8 tabs · ↑↓/jk move · Enter detail · Backspace close · r reload · d delete · e/x enable/disable plugin";

pub fn draw(frame: &mut Frame<'_>, app: &mut App) {
    let [top, body, bottom] =
        Layout::vertical([Constraint::Length(3), Constraint::Min(3), Constraint::Length(2)]).areas(frame.area());

    let titles = TABS.iter().enumerate().map(|(index, name)| format!("{} {name}", index + 1));
    let tabs = Tabs::new(titles)
        .block(Block::default().borders(Borders::ALL).title(" RustBill "))
        .select(app.tab)
        .highlight_style(Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD | Modifier::REVERSED));
    frame.render_widget(tabs, top);

    draw_table(frame, app, body);

    let status = match &app.status {
        Some((text, true)) => Line::from(Span::styled(text.clone(), Style::default().fg(Color::Red))),
        Some((text, false)) => Line::from(Span::styled(text.clone(), Style::default().fg(Color::Green))),
        None => Line::from(format!("{} row(s)", app.rows.len())),
    };
    frame.render_widget(Paragraph::new(vec![Line::from(HELP.dim()), status]), bottom);

    if let Some(detail) = &app.detail {
        let area = centered(body, 80, 80);
        let lines: Vec<Line<'_>> = detail
            .iter()
            .map(|(name, value)| {
                Line::from(vec![Span::styled(format!("{name}: "), Style::default().bold()), Span::raw(value.clone())])
            })
            .collect();
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::ALL).title(" Detail (Backspace closes) ")),
            area,
        );
    }
    if let Some(confirm) = &app.confirm {
        let area = centered(body, 60, 30);
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(confirm.question.clone()).wrap(Wrap { trim: true }).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" Confirm (y/n) ")
                    .border_style(Style::default().fg(Color::Yellow)),
            ),
            area,
        );
    }
}

fn draw_table(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let title = format!(" {} ", TABS[app.tab]);
    if app.rows.is_empty() {
        frame.render_widget(Paragraph::new("(none)").block(Block::default().borders(Borders::ALL).title(title)), area);
        return;
    }
    // Each column as wide as its widest cell, within reason.
    let widths: Vec<Constraint> = app
        .columns
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let widest =
                app.rows.iter().map(|row| row.get(index).map_or(0, |cell| cell.chars().count())).max().unwrap_or(0);
            Constraint::Max(u16::try_from(widest.max(name.len()).min(40)).unwrap_or(40))
        })
        .collect();
    let header = Row::new(app.columns.iter().map(|name| Cell::from(name.clone()))).style(Style::default().bold());
    let rows = app.rows.iter().map(|row| Row::new(row.iter().map(|cell| Cell::from(cell.clone()))));
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(2)
        .block(Block::default().borders(Borders::ALL).title(title))
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ");
    let mut state = TableState::default().with_selected(Some(app.selected));
    frame.render_stateful_widget(table, area, &mut state);
}

/// A box `percent_x` × `percent_y` of `area`, centred.
fn centered(area: Rect, percent_x: u16, percent_y: u16) -> Rect {
    let [_, middle, _] = Layout::vertical([
        Constraint::Percentage((100 - percent_y) / 2),
        Constraint::Percentage(percent_y),
        Constraint::Percentage((100 - percent_y) / 2),
    ])
    .areas(area);
    let [_, center, _] = Layout::horizontal([
        Constraint::Percentage((100 - percent_x) / 2),
        Constraint::Percentage(percent_x),
        Constraint::Percentage((100 - percent_x) / 2),
    ])
    .areas(middle);
    center
}
