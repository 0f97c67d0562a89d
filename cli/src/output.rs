//! Listings as a table for people or as JSON for scripts (`--output json`),
//! and one-line confirmations of what a command changed.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Rows of a listing: column names and, per row, one JSON value per column
/// (tables print them as text; JSON prints an array of objects).
pub struct Listing {
    columns: Vec<&'static str>,
    rows: Vec<Vec<Value>>,
}

impl Listing {
    pub fn new(columns: &[&'static str]) -> Self {
        Self { columns: columns.to_vec(), rows: Vec::new() }
    }

    pub fn row(&mut self, values: Vec<Value>) {
        debug_assert_eq!(values.len(), self.columns.len());
        self.rows.push(values);
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn columns(&self) -> &[&'static str] {
        &self.columns
    }

    /// The rows as table text.
    pub fn text_rows(&self) -> Vec<Vec<String>> {
        self.rows.iter().map(|row| row.iter().map(text).collect()).collect()
    }

    /// The rows as JSON objects.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|row| {
                    Value::Object(
                        self.columns.iter().zip(row).map(|(name, value)| (name.to_string(), value.clone())).collect(),
                    )
                })
                .collect(),
        )
    }

    pub fn print(&self, format: Format) {
        match format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&self.to_json()).unwrap_or_default()),
            Format::Table => {
                if self.rows.is_empty() {
                    println!("(none)");
                    return;
                }
                let mut table = Table::new();
                table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
                table.set_header(self.columns.iter().copied());
                for row in &self.rows {
                    table.add_row(row.iter().map(text));
                }
                println!("{table}");
            }
        }
    }
}

/// A value as a table cell: strings bare, null empty.
pub fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// One record (`show` commands): fields as a two-column table, or a JSON
/// object.
pub fn print_record(format: Format, record: &Value) {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(record).unwrap_or_default()),
        Format::Table => {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
            if let Value::Object(fields) = record {
                for (name, value) in fields {
                    let shown = match value {
                        Value::Array(_) | Value::Object(_) => serde_json::to_string_pretty(value).unwrap_or_default(),
                        other => text(other),
                    };
                    table.add_row(vec![name.clone(), shown]);
                }
            }
            println!("{table}");
        }
    }
}

/// What a command changed: a sentence for people, an object for scripts.
pub fn done(format: Format, message: &str, detail: Value) {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&detail).unwrap_or_default()),
        Format::Table => println!("{message}"),
    }
}
