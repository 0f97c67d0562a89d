//! Request validation: parse, don't validate. Each function turns a raw
//! wire string into a checked value or a field error naming the field.

use rustbill_shared::AppError;

/// Longest free-text field accepted anywhere (notes).
pub const MAX_NOTES_CHARS: usize = 2000;
/// Longest password accepted (argon2 cost is linear in the input).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A required text field, trimmed, 1..=max characters, no control chars.
pub fn required_text(field: &str, value: &str, max_chars: usize) -> Result<String, AppError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(AppError::invalid_field(field, "is required"));
    }
    optional_text(field, trimmed, max_chars)
}

/// An optional text field (may be empty), at most `max_chars`.
pub fn optional_text(field: &str, value: &str, max_chars: usize) -> Result<String, AppError> {
    let trimmed = value.trim();
    if trimmed.chars().count() > max_chars {
        return Err(AppError::invalid_field(field, format!("is longer than {max_chars} characters")));
    }
    if trimmed.chars().any(|character| character.is_control() && character != '\n' && character != '\t') {
        return Err(AppError::invalid_field(field, "contains control characters"));
    }
    Ok(trimmed.to_string())
}

/// A login name: 3 to 32 of `a-z A-Z 0-9 _ . -`, starting with a letter or
/// digit.
pub fn username(field: &str, value: &str) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::invalid_field(field, "is required"));
    }
    let length = value.chars().count();
    if !(3..=32).contains(&length) {
        return Err(AppError::invalid_field(field, "must be 3 to 32 characters"));
    }
    let mut characters = value.chars();
    let first_ok = characters.next().is_some_and(|character| character.is_ascii_alphanumeric());
    let rest_ok = value.chars().all(|character| character.is_ascii_alphanumeric() || "_.-".contains(character));
    if !first_ok || !rest_ok {
        return Err(AppError::invalid_field(
            field,
            "may contain only letters, digits, '_', '.' and '-', and must start with a letter or digit",
        ));
    }
    Ok(value.to_string())
}

/// An e-mail address, lower-cased.
pub fn email(field: &str, value: &str) -> Result<String, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::invalid_field(field, "is required"));
    }
    if value.len() > 254 || !email_address::EmailAddress::is_valid(value) || !value.contains('.') {
        return Err(AppError::invalid_field(field, "is not a valid e-mail address"));
    }
    Ok(value.to_lowercase())
}

/// An optional e-mail address: empty stays empty.
pub fn optional_email(field: &str, value: &str) -> Result<String, AppError> {
    if value.trim().is_empty() { Ok(String::new()) } else { email(field, value) }
}

/// A password to set: `min_chars` to 256 characters, not all whitespace.
pub fn new_password(field: &str, value: &str, min_chars: usize) -> Result<String, AppError> {
    if value.is_empty() {
        return Err(AppError::invalid_field(field, "is required"));
    }
    let length = value.chars().count();
    if length < min_chars {
        return Err(AppError::invalid_field(field, format!("must be at least {min_chars} characters")));
    }
    if length > MAX_PASSWORD_CHARS {
        return Err(AppError::invalid_field(field, format!("must be at most {MAX_PASSWORD_CHARS} characters")));
    }
    if value.trim().is_empty() {
        return Err(AppError::invalid_field(field, "must not be only spaces"));
    }
    Ok(value.to_string())
}

/// A presented password (login, old password): only bounded, so a huge
/// input costs nothing.
pub fn presented_password(field: &str, value: &str) -> Result<String, AppError> {
    if value.is_empty() {
        return Err(AppError::invalid_field(field, "is required"));
    }
    if value.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AppError::invalid_field(field, format!("must be at most {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(value.to_string())
}

/// `user_type`: "admin" or "customer"; empty means `default`.
pub fn user_type(field: &str, value: Option<&str>, default: UserType) -> Result<UserType, AppError> {
    match value.map(str::trim) {
        None | Some("") => Ok(default),
        Some("admin") => Ok(UserType::Admin),
        Some("customer") => Ok(UserType::Customer),
        Some(_) => Err(AppError::invalid_field(field, "must be \"admin\" or \"customer\"")),
    }
}

/// An optional `user_type` hint: absent or empty means "either".
pub fn user_type_hint(field: &str, value: Option<&str>) -> Result<Option<UserType>, AppError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(_) => user_type(field, value, UserType::Admin).map(Some),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserType {
    Admin,
    Customer,
}

impl UserType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Customer => "customer",
        }
    }
}

pub use rustbill_shared::paging::{like_pattern, page_meta, paging};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(username("username", " alice_1 ").unwrap(), "alice_1");
        assert!(username("username", "ab").is_err());
        assert!(username("username", "_alice").is_err());
        assert!(username("username", "alice bob").is_err());
        assert!(username("username", &"a".repeat(33)).is_err());
        assert!(username("username", "").unwrap_err().to_string().contains("is required"));
    }

    #[test]
    fn emails() {
        assert_eq!(email("email", "Alice@Example.COM").unwrap(), "alice@example.com");
        assert!(email("email", "alice").is_err());
        assert!(email("email", "alice@localhost").is_err());
        assert!(email("email", &format!("{}@example.com", "a".repeat(300))).is_err());
    }

    #[test]
    fn passwords() {
        assert!(new_password("password", "short", 8).is_err());
        assert!(new_password("password", "        ", 8).is_err());
        assert!(new_password("password", &"x".repeat(257), 8).is_err());
        assert!(new_password("password", "long enough", 8).is_ok());
        assert!(presented_password("password", &"x".repeat(1_000_000)).is_err());
    }

    #[test]
    fn texts_and_paging() {
        assert!(required_text("name", "   ", 10).is_err());
        assert!(required_text("name", &"x".repeat(11), 10).is_err());
        assert!(required_text("name", "a\u{0}b", 10).is_err());
        assert_eq!(paging(None), (1, 20));
        let request = rustbill_proto::common::PageRequest { page: 3, page_size: 1000 };
        assert_eq!(paging(Some(&request)), (3, 100));
        let meta = page_meta(41, 1, 20);
        assert_eq!(meta.total_pages, 3);
        assert_eq!(like_pattern("50%_off"), "%50\\%\\_off%");
    }
}
