//! Identifiers (UUID v7) and timestamps (RFC 3339 on the wire).

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use crate::error::AppError;

/// A new time-ordered id.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// Parses an id from a request field; the error names the field.
pub fn parse_id(field: &str, text: &str) -> Result<Uuid, AppError> {
    if text.is_empty() {
        return Err(AppError::invalid_field(field, "is required"));
    }
    // Only the hyphenated 36-character form is accepted on the wire.
    if text.len() != 36 {
        return Err(AppError::invalid_field(field, "is not a valid UUID"));
    }
    Uuid::parse_str(text).map_err(|_| AppError::invalid_field(field, "is not a valid UUID"))
}

/// Parses an optional id: empty means absent.
pub fn parse_optional_id(field: &str, text: Option<&str>) -> Result<Option<Uuid>, AppError> {
    match text {
        None | Some("") => Ok(None),
        Some(value) => parse_id(field, value).map(Some),
    }
}

/// Formats a time as RFC 3339 in UTC with second precision, e.g.
/// `2024-01-15T10:30:00Z`.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Formats an optional time; absent is the empty string.
pub fn format_optional_time(time: Option<DateTime<Utc>>) -> String {
    time.map(format_time).unwrap_or_default()
}

/// Parses an RFC 3339 time from a request field.
pub fn parse_time(field: &str, text: &str) -> Result<DateTime<Utc>, AppError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| AppError::invalid_field(field, "is not an RFC 3339 time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_v7_and_ordered() {
        let first = new_id();
        let second = new_id();
        assert_eq!(first.get_version_num(), 7);
        assert!(first < second);
    }

    #[test]
    fn malformed_ids_are_field_errors() {
        assert!(parse_id("id", "").unwrap_err().to_string().contains("is required"));
        assert!(parse_id("id", "not-a-uuid").unwrap_err().to_string().contains("id: is not a valid UUID"));
        assert!(parse_id("id", "0192a1234567789 0abcdef0123456789").is_err());
        let id = new_id();
        assert_eq!(parse_id("id", &id.to_string()).unwrap(), id);
        assert!(parse_id("id", &id.simple().to_string()).is_err());
        assert_eq!(parse_optional_id("id", Some("")).unwrap(), None);
    }

    #[test]
    fn times_round_trip_as_rfc3339() {
        let time = parse_time("at", "2024-01-15T10:30:00Z").unwrap();
        assert_eq!(format_time(time), "2024-01-15T10:30:00Z");
        let offset = parse_time("at", "2024-01-15T18:30:00+08:00").unwrap();
        assert_eq!(format_time(offset), "2024-01-15T10:30:00Z");
        assert!(parse_time("at", "yesterday").is_err());
        assert_eq!(format_optional_time(None), "");
    }
}
