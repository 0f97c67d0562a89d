//! One error type for every service, mapped to gRPC status codes.
//!
//! The client is told only what it may know: internal errors are logged with
//! their whole cause chain and answered with a generic message. Messages stay
//! ASCII because browsers show `grpc-message` without percent-decoding it;
//! a machine-readable reason travels in an `ErrorInfo` detail so the web apps
//! can show their own (Chinese or English) text.

use std::fmt;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Domain of every `ErrorInfo` detail this project emits.
pub const ERROR_DOMAIN: &str = "rustbill";

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input; `violations` name the offending fields.
    #[error("{message}")]
    InvalidArgument { message: String, violations: Vec<FieldViolation> },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    FailedPrecondition(String),
    /// Too many requests; `retry_after_secs` when known.
    #[error("{message}")]
    ResourceExhausted { message: String, retry_after_secs: Option<u64> },
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Unimplemented(String),
    /// Anything the client must not see the details of.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidArgument { message: message.into(), violations: Vec::new() }
    }

    /// Bad input in one field.
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        let field = field.into();
        let description = description.into();
        Self::InvalidArgument {
            message: format!("{field}: {description}"),
            violations: vec![FieldViolation { field, description }],
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    /// Permission denied. The message always contains `permission_denied`,
    /// which the customer portal looks for to show its own text.
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::PermissionDenied(format!("permission_denied: {}", message.into()))
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::Unauthenticated(message.into())
    }

    pub fn code(&self) -> Code {
        match self {
            Self::InvalidArgument { .. } => Code::InvalidArgument,
            Self::NotFound(_) => Code::NotFound,
            Self::AlreadyExists(_) => Code::AlreadyExists,
            Self::PermissionDenied(_) => Code::PermissionDenied,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::FailedPrecondition(_) => Code::FailedPrecondition,
            Self::ResourceExhausted { .. } => Code::ResourceExhausted,
            Self::Unavailable(_) => Code::Unavailable,
            Self::Unimplemented(_) => Code::Unimplemented,
            Self::Internal(_) => Code::Internal,
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            Self::InvalidArgument { .. } => "INVALID_ARGUMENT",
            Self::NotFound(_) => "NOT_FOUND",
            Self::AlreadyExists(_) => "ALREADY_EXISTS",
            Self::PermissionDenied(_) => "PERMISSION_DENIED",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::FailedPrecondition(_) => "FAILED_PRECONDITION",
            Self::ResourceExhausted { .. } => "RESOURCE_EXHAUSTED",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::Unimplemented(_) => "UNIMPLEMENTED",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

/// Logs the full cause chain of an internal error on one line.
struct Chain<'a>(&'a anyhow::Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for cause in self.0.chain() {
            if !first {
                formatter.write_str(": ")?;
            }
            first = false;
            write!(formatter, "{cause}")?;
        }
        Ok(())
    }
}

impl From<AppError> for Status {
    fn from(error: AppError) -> Self {
        let code = error.code();
        let mut details = ErrorDetails::new();
        details.set_error_info(error.reason(), ERROR_DOMAIN, std::collections::HashMap::new());
        let message = match &error {
            AppError::Internal(cause) => {
                tracing::error!(error = %Chain(cause), "internal error");
                "internal error".to_string()
            }
            AppError::InvalidArgument { message, violations } => {
                for violation in violations {
                    details.add_bad_request_violation(violation.field.clone(), violation.description.clone());
                }
                message.clone()
            }
            AppError::ResourceExhausted { message, retry_after_secs } => {
                if let Some(seconds) = retry_after_secs {
                    details.set_retry_info(Some(std::time::Duration::from_secs(*seconds)));
                }
                message.clone()
            }
            other => other.to_string(),
        };
        Status::with_error_details(code, message, details)
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::RowNotFound => Self::NotFound("not found".into()),
            sqlx::Error::PoolTimedOut => Self::Unavailable("database is busy, try again".into()),
            sqlx::Error::Database(database_error) => match database_error.code().as_deref() {
                // unique_violation
                Some("23505") => Self::AlreadyExists(match database_error.constraint() {
                    Some(constraint) => format!("already exists ({constraint})"),
                    None => "already exists".into(),
                }),
                // foreign_key_violation: the referenced row is missing.
                Some("23503") => Self::NotFound(match database_error.constraint() {
                    Some(constraint) => format!("referenced record does not exist ({constraint})"),
                    None => "referenced record does not exist".into(),
                }),
                // check_violation, not_null_violation
                Some("23514") | Some("23502") => Self::invalid(match database_error.constraint() {
                    Some(constraint) => format!("value rejected ({constraint})"),
                    None => "value rejected".into(),
                }),
                // invalid_text_representation, numeric_value_out_of_range,
                // string_data_right_truncation
                Some("22P02") | Some("22003") | Some("22001") => Self::invalid("value out of range or malformed"),
                // serialization_failure, deadlock_detected
                Some("40001") | Some("40P01") => Self::Unavailable("conflicting update, try again".into()),
                _ => Self::Internal(anyhow::Error::new(error)),
            },
            _ => Self::Internal(anyhow::Error::new(error)),
        }
    }
}

/// Adds `.context()`-style wrapping that keeps client errors as they are.
pub trait ResultExt<T> {
    /// Wraps only internal errors with `context`; client errors pass through.
    fn internal_context(self, context: &'static str) -> AppResult<T>;
}

impl<T, E: Into<AppError>> ResultExt<T> for Result<T, E> {
    fn internal_context(self, context: &'static str) -> AppResult<T> {
        self.map_err(|error| match error.into() {
            AppError::Internal(cause) => AppError::Internal(cause.context(context)),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_grpc() {
        assert_eq!(Status::from(AppError::invalid("x")).code(), Code::InvalidArgument);
        assert_eq!(Status::from(AppError::not_found("x")).code(), Code::NotFound);
        assert_eq!(Status::from(AppError::AlreadyExists("x".into())).code(), Code::AlreadyExists);
        assert_eq!(Status::from(AppError::permission_denied("x")).code(), Code::PermissionDenied);
        assert_eq!(Status::from(AppError::unauthenticated("x")).code(), Code::Unauthenticated);
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let error = AppError::Internal(anyhow::anyhow!("password=hunter2 connection refused"));
        let status = Status::from(error);
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn field_violations_travel_as_bad_request_details() {
        let status = Status::from(AppError::invalid_field("email", "is not a valid address"));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "email: is not a valid address");
        let details = status.get_error_details();
        let bad_request = details.bad_request().expect("bad request detail");
        assert_eq!(bad_request.field_violations[0].field, "email");
        assert_eq!(details.error_info().unwrap().reason, "INVALID_ARGUMENT");
    }

    #[test]
    fn permission_denied_carries_the_portal_marker() {
        let status = Status::from(AppError::permission_denied("admin only"));
        assert!(status.message().contains("permission_denied"));
    }

    #[test]
    fn context_wraps_only_internal_errors() {
        let client: Result<(), AppError> = Err(AppError::not_found("no such user"));
        let wrapped = client.internal_context("failed to load user").unwrap_err();
        assert!(matches!(wrapped, AppError::NotFound(message) if message == "no such user"));
        let internal: Result<(), AppError> = Err(AppError::Internal(anyhow::anyhow!("boom")));
        let wrapped = internal.internal_context("failed to load user").unwrap_err();
        assert!(wrapped.to_string().contains("failed to load user"));
    }
}
