//! `log_info` / `log_warn` / `log_error`: script logs into tracing, tagged
//! with the interface and plugin of the running call.

use super::current_scope;

/// The tracing target of script logs (`RUST_LOG=rustbill_plugins::script=debug`).
pub const TARGET: &str = "rustbill_plugins::script";

/// Longest message logged; a longer one is cut (a runaway script must not
/// flood the logs).
const MAX_MESSAGE_BYTES: usize = 16 * 1024;

#[derive(Clone, Copy)]
enum Level {
    Info,
    Warn,
    Error,
}

fn emit(level: Level, message: &str) {
    let message = truncate(message);
    let (interface_id, plugin_id) = match current_scope() {
        Some(scope) => (scope.interface_id, scope.plugin_id),
        None => (String::new(), String::new()),
    };
    match level {
        Level::Info => tracing::info!(target: TARGET, %interface_id, %plugin_id, "{message}"),
        Level::Warn => tracing::warn!(target: TARGET, %interface_id, %plugin_id, "{message}"),
        Level::Error => tracing::error!(target: TARGET, %interface_id, %plugin_id, "{message}"),
    }
}

fn truncate(message: &str) -> &str {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message;
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

/// `log_info(msg)`: `&str → ()`.
pub fn log_info(message: &str) {
    emit(Level::Info, message);
}

/// `log_warn(msg)`: `&str → ()`.
pub fn log_warn(message: &str) {
    emit(Level::Warn, message);
}

/// `log_error(msg)`: `&str → ()`.
pub fn log_error(message: &str) {
    emit(Level::Error, message);
}

#[cfg(test)]
mod tests {
    #[test]
    fn truncates_on_a_char_boundary() {
        let long = "é".repeat(super::MAX_MESSAGE_BYTES);
        let cut = super::truncate(&long);
        assert!(cut.len() <= super::MAX_MESSAGE_BYTES);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(super::truncate("short"), "short");
    }
}
