//! E-mail verification codes: 6 digits, valid `[identity].verification_code_ttl_secs`
//! (10 minutes), at most one send per `verification_resend_secs` (60 s) per
//! address and purpose, a limited number of wrong guesses per code.
//!
//! Codes are stored as an HMAC keyed with the internal secret: a 6-digit
//! code under a plain hash would be brute-forced from a database dump.
//! The plain code leaves only in the outbox event the notify service turns
//! into an e-mail.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rustbill_shared::principal::Caller;
use rustbill_shared::{AppError, AppResult};
use sqlx::PgConnection;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::events;
use crate::state::State;
use crate::tokens;

fn code_hash(state: &State, email: &str, purpose: &str, code: &str) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&state.config.internal_secret()).expect("hmac takes any key");
    mac.update(format!("{email}\n{purpose}\n{code}").as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Issues a code and writes the delivery event to the outbox. Returns the
/// seconds before another code may be requested.
pub async fn issue(state: &State, caller: &Caller, email: &str, purpose: &str) -> AppResult<u64> {
    let settings = &state.config.identity;
    let resend = i64::try_from(settings.verification_resend_secs).unwrap_or(60);
    let mut transaction = state.pool.begin().await?;
    // One issuer at a time per address and purpose.
    sqlx::query("select pg_advisory_xact_lock(hashtext('rustbill:verification:' || $1 || ':' || $2))")
        .bind(email)
        .bind(purpose)
        .execute(&mut *transaction)
        .await?;
    let last: Option<DateTime<Utc>> = sqlx::query_scalar(
        "select max(created_at) from verification_codes where lower(email) = lower($1) and purpose = $2",
    )
    .bind(email)
    .bind(purpose)
    .fetch_one(&mut *transaction)
    .await?;
    if let Some(last) = last {
        let waited = (Utc::now() - last).num_seconds();
        if waited < resend {
            let retry_after = u64::try_from(resend - waited).unwrap_or(1).max(1);
            return Err(AppError::invalid(format!(
                "a code was sent to this address recently; retry in {retry_after} seconds"
            )));
        }
    }
    // A new code replaces any earlier one.
    sqlx::query(
        "update verification_codes set consumed_at = now()
         where lower(email) = lower($1) and purpose = $2 and consumed_at is null",
    )
    .bind(email)
    .bind(purpose)
    .execute(&mut *transaction)
    .await?;
    let code = tokens::verification_code();
    let id = Uuid::now_v7();
    let expires_at = Utc::now() + Duration::seconds(i64::try_from(settings.verification_code_ttl_secs).unwrap_or(600));
    sqlx::query(
        "insert into verification_codes (id, email, purpose, code_hash, expires_at) values ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(email)
    .bind(purpose)
    .bind(code_hash(state, email, purpose, &code))
    .bind(expires_at)
    .execute(&mut *transaction)
    .await?;
    // For a password reset of an unknown address nothing is sent, but the
    // answer is the same, so the call does not reveal which addresses exist.
    let deliver = purpose != "password_reset" || {
        sqlx::query_scalar::<_, bool>("select exists (select 1 from customer_users where lower(email) = lower($1))")
            .bind(email)
            .fetch_one(&mut *transaction)
            .await?
    };
    if deliver {
        events::publish(
            &mut transaction,
            caller,
            events::VERIFICATION_CODE_ISSUED,
            id,
            None,
            serde_json::json!({
                "email": email,
                "purpose": purpose,
                "code": code,
                "expires_at": rustbill_shared::ids::format_time(expires_at),
            }),
        )
        .await?;
    }
    transaction.commit().await?;
    tracing::info!(purpose, "verification code issued");
    Ok(u64::try_from(resend).unwrap_or(60))
}

/// Checks `code` against the live code of `email`/`purpose` and consumes it
/// on success. A wrong guess counts against the code; past the limit the
/// code is burnt. The caller commits the transaction either way.
pub async fn consume(
    connection: &mut PgConnection,
    state: &State,
    email: &str,
    purpose: &str,
    code: &str,
) -> AppResult<bool> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: Uuid,
        code_hash: Vec<u8>,
        attempts: i32,
        expires_at: DateTime<Utc>,
    }
    let row: Option<Row> = sqlx::query_as(
        "select id, code_hash, attempts, expires_at from verification_codes
         where lower(email) = lower($1) and purpose = $2 and consumed_at is null
         order by created_at desc limit 1
         for update",
    )
    .bind(email)
    .bind(purpose)
    .fetch_optional(&mut *connection)
    .await?;
    let Some(row) = row else { return Ok(false) };
    let max_attempts = i32::try_from(state.config.identity.verification_max_attempts).unwrap_or(5);
    if row.expires_at <= Utc::now() || row.attempts >= max_attempts {
        return Ok(false);
    }
    let expected = code_hash(state, email, purpose, code);
    if bool::from(expected.ct_eq(&row.code_hash)) {
        sqlx::query("update verification_codes set consumed_at = now() where id = $1")
            .bind(row.id)
            .execute(&mut *connection)
            .await?;
        return Ok(true);
    }
    sqlx::query("update verification_codes set attempts = attempts + 1 where id = $1")
        .bind(row.id)
        .execute(&mut *connection)
        .await?;
    Ok(false)
}
