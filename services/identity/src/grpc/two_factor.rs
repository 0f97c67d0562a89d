//! Admin two-factor authentication: the login challenge, enrolment,
//! recovery codes, turning it off and an admin's reset of another's.
//!
//! A code is accepted once: `totp_last_step` only moves forward, under a
//! conditional update, so two logins with one code (or a code read over a
//! shoulder) cannot both pass. Recovery codes are marked used the same way.

use chrono::{Duration, Utc};
use rustbill_proto::identity::*;
use rustbill_shared::ids::{format_optional_time, parse_id};
use rustbill_shared::principal::{Caller, Principal};
use rustbill_shared::{AppError, AppResult};
use sqlx::PgConnection;
use uuid::Uuid;

use super::identity::Identity;
use crate::users::{self, ADMIN_COLUMNS, AdminRow};
use crate::{oplog, passwords, tokens, totp};

/// How long the second step of a login may take.
const CHALLENGE_TTL_MINUTES: i64 = 5;
/// Wrong codes one challenge takes before it ends.
const CHALLENGE_ATTEMPTS: i32 = 5;
/// How long a begun enrolment waits for its confirming code.
const ENROLMENT_TTL_MINUTES: i64 = 15;
const BAD_CODE: &str = "invalid two-factor code";
const EXPIRED: &str = "the sign-in has expired or was already used; log in again";

#[derive(Debug, sqlx::FromRow)]
struct TotpState {
    totp_secret: Option<String>,
    totp_enabled_at: Option<chrono::DateTime<Utc>>,
    totp_pending_secret: Option<String>,
    totp_pending_at: Option<chrono::DateTime<Utc>>,
}

#[derive(Debug, sqlx::FromRow)]
struct Challenge {
    id: Uuid,
    admin_user_id: Uuid,
    enroll_secret: Option<String>,
    attempts: i32,
    expires_at: chrono::DateTime<Utc>,
}

/// The calling admin (a logged-in person, not a service).
fn calling_admin(caller: &Caller) -> AppResult<(Uuid, String)> {
    caller.principal.require_admin()?;
    match &caller.principal {
        Principal::Admin { user_id, username, .. } => Ok((*user_id, username.clone())),
        _ => Err(AppError::permission_denied("an admin login is required")),
    }
}

async fn totp_state(connection: &mut PgConnection, admin_id: Uuid) -> AppResult<TotpState> {
    sqlx::query_as(
        "select totp_secret, totp_enabled_at, totp_pending_secret, totp_pending_at from admin_users where id = $1",
    )
    .bind(admin_id)
    .fetch_optional(connection)
    .await?
    .ok_or_else(|| AppError::not_found("user not found"))
}

/// Accepts `code` for `secret` if it matches a step after the last one
/// used, and records that step. `false` for a wrong or reused code.
async fn accept_code(connection: &mut PgConnection, admin_id: Uuid, secret: &str, code: &str) -> AppResult<bool> {
    let Some(step) = totp::matching_step(secret, code, totp::now_unix())? else {
        return Ok(false);
    };
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    let moved = sqlx::query("update admin_users set totp_last_step = $2 where id = $1 and totp_last_step < $2")
        .bind(admin_id)
        .bind(step)
        .execute(connection)
        .await?;
    Ok(moved.rows_affected() == 1)
}

/// Uses one unused recovery code; `false` when it is not one.
async fn use_recovery_code(connection: &mut PgConnection, admin_id: Uuid, code: &str) -> AppResult<bool> {
    if code.trim().is_empty() || code.len() > 64 {
        return Ok(false);
    }
    let used = sqlx::query(
        "update admin_recovery_codes set used_at = now()
         where id = (select id from admin_recovery_codes
                     where admin_user_id = $1 and code_hash = $2 and used_at is null limit 1 for update)",
    )
    .bind(admin_id)
    .bind(totp::recovery_hash(code))
    .execute(connection)
    .await?;
    Ok(used.rows_affected() == 1)
}

async fn recovery_codes_left(connection: &mut PgConnection, admin_id: Uuid) -> AppResult<u32> {
    let left: i64 =
        sqlx::query_scalar("select count(*) from admin_recovery_codes where admin_user_id = $1 and used_at is null")
            .bind(admin_id)
            .fetch_one(connection)
            .await?;
    Ok(u32::try_from(left).unwrap_or(0))
}

/// Replaces the admin's recovery codes; the new ones, in the clear, once.
async fn replace_recovery_codes(connection: &mut PgConnection, admin_id: Uuid) -> AppResult<Vec<String>> {
    sqlx::query("delete from admin_recovery_codes where admin_user_id = $1")
        .bind(admin_id)
        .execute(&mut *connection)
        .await?;
    let codes = totp::new_recovery_codes();
    for code in &codes {
        sqlx::query("insert into admin_recovery_codes (id, admin_user_id, code_hash) values ($1, $2, $3)")
            .bind(Uuid::now_v7())
            .bind(admin_id)
            .bind(totp::recovery_hash(code))
            .execute(&mut *connection)
            .await?;
    }
    Ok(codes)
}

/// The second factor given with a request: a code or a recovery code.
async fn check_second_factor(
    connection: &mut PgConnection,
    admin_id: Uuid,
    secret: &str,
    code: &str,
    recovery_code: &str,
) -> AppResult<bool> {
    if !code.trim().is_empty() {
        accept_code(connection, admin_id, secret, code).await
    } else if !recovery_code.trim().is_empty() {
        use_recovery_code(connection, admin_id, recovery_code).await
    } else {
        Err(AppError::invalid_field("code", "a code from the authenticator app or a recovery code is required"))
    }
}

impl Identity {
    /// After a right password: the challenge to answer when this admin has
    /// TOTP (or must set it up); `None` when a session may start now.
    pub(super) async fn second_factor_challenge(
        &self,
        caller: &Caller,
        row: &AdminRow,
    ) -> AppResult<Option<LoginResponse>> {
        let mut connection = self.state.pool.acquire().await?;
        let state = totp_state(&mut connection, row.id).await?;
        let enrolled = state.totp_enabled_at.is_some() && state.totp_secret.is_some();
        let required = self.state.config.identity.admin_totp_required;
        if !enrolled && !required {
            return Ok(None);
        }
        let enroll_secret = (!enrolled).then(totp::new_secret);
        let token = tokens::random_token();
        sqlx::query(
            "insert into admin_login_challenges (id, admin_user_id, token_hash, enroll_secret, client_ip, expires_at)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(row.id)
        .bind(tokens::sha256(&token))
        .bind(&enroll_secret)
        .bind(&caller.client_ip)
        .bind(Utc::now() + Duration::minutes(CHALLENGE_TTL_MINUTES))
        .execute(&mut *connection)
        .await?;
        // Expired challenges of anyone go with each new one.
        sqlx::query("delete from admin_login_challenges where expires_at < now() - interval '1 hour'")
            .execute(&mut *connection)
            .await?;
        let totp_enrollment = match enroll_secret {
            Some(secret) => Some(self.enrollment(&secret, row)?),
            None => None,
        };
        Ok(Some(LoginResponse {
            totp_required: true,
            totp_challenge: token,
            totp_enrollment,
            admin_path: self.state.config.server.admin_path.clone(),
            ..Default::default()
        }))
    }

    fn enrollment(&self, secret: &str, row: &AdminRow) -> AppResult<TotpEnrollment> {
        let account = if row.email.is_empty() { row.username.clone() } else { row.email.clone() };
        Ok(TotpEnrollment {
            secret: secret.to_string(),
            otpauth_url: totp::otpauth_url(secret, &self.state.config.identity.totp_issuer, &account)?,
            digits: u32::try_from(totp::DIGITS).unwrap_or(6),
            period_secs: u32::try_from(totp::PERIOD_SECS).unwrap_or(30),
        })
    }

    async fn admin_row(&self, connection: &mut PgConnection, admin_id: Uuid) -> AppResult<AdminRow> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("select {ADMIN_COLUMNS} from admin_users where id = $1")))
            .bind(admin_id)
            .fetch_optional(connection)
            .await?
            .ok_or_else(|| AppError::not_found("user not found"))
    }

    /// The second step of an admin login; the session token on success.
    pub(super) async fn verify_login_totp(
        &self,
        caller: &Caller,
        request: VerifyLoginTotpRequest,
    ) -> AppResult<(VerifyLoginTotpResponse, String)> {
        let challenge_token = request.challenge.trim();
        if challenge_token.is_empty() || challenge_token.len() > 128 {
            return Err(AppError::invalid_field("challenge", "is required"));
        }
        if request.code.trim().is_empty() && request.recovery_code.trim().is_empty() {
            return Err(AppError::invalid_field("code", "a code from the authenticator app or a recovery code"));
        }
        let mut transaction = self.state.pool.begin().await?;
        // Locked: two answers to one challenge are taken one at a time, and
        // the first right one ends it.
        let challenge: Option<Challenge> = sqlx::query_as(
            "select id, admin_user_id, enroll_secret, attempts, expires_at from admin_login_challenges
             where token_hash = $1 for update",
        )
        .bind(tokens::sha256(challenge_token))
        .fetch_optional(&mut *transaction)
        .await?;
        let Some(challenge) = challenge.filter(|challenge| challenge.expires_at > Utc::now()) else {
            return Err(AppError::unauthenticated(EXPIRED));
        };
        let row = self.admin_row(&mut transaction, challenge.admin_user_id).await?;
        if !row.is_active {
            return Err(AppError::permission_denied("account is disabled"));
        }
        let state = totp_state(&mut transaction, row.id).await?;
        let (secret, enrolling) = match (&challenge.enroll_secret, &state.totp_secret) {
            (Some(secret), _) => (secret.clone(), true),
            (None, Some(secret)) if state.totp_enabled_at.is_some() => (secret.clone(), false),
            // TOTP was reset since the password step.
            (None, _) => return Err(AppError::unauthenticated(EXPIRED)),
        };
        let passed = if enrolling {
            // Only a code proves the new authenticator works.
            if request.code.trim().is_empty() {
                return Err(AppError::invalid_field("code", "enter a code from the authenticator app"));
            }
            accept_code(&mut transaction, row.id, &secret, &request.code).await?
        } else {
            check_second_factor(&mut transaction, row.id, &secret, &request.code, &request.recovery_code).await?
        };
        if !passed {
            let attempts = challenge.attempts + 1;
            if attempts >= CHALLENGE_ATTEMPTS {
                sqlx::query("delete from admin_login_challenges where id = $1")
                    .bind(challenge.id)
                    .execute(&mut *transaction)
                    .await?;
            } else {
                sqlx::query("update admin_login_challenges set attempts = $2 where id = $1")
                    .bind(challenge.id)
                    .bind(attempts)
                    .execute(&mut *transaction)
                    .await?;
            }
            transaction.commit().await?;
            tracing::warn!(client_ip = %caller.client_ip, admin_id = %row.id, attempts, "admin second factor refused");
            return Err(if attempts >= CHALLENGE_ATTEMPTS {
                AppError::unauthenticated("too many wrong codes; log in again")
            } else {
                AppError::invalid_field("code", BAD_CODE)
            });
        }
        sqlx::query("delete from admin_login_challenges where id = $1")
            .bind(challenge.id)
            .execute(&mut *transaction)
            .await?;
        let recovery_codes = if enrolling {
            sqlx::query(
                "update admin_users set totp_secret = $2, totp_enabled_at = now(), totp_pending_secret = null,
                        totp_pending_at = null where id = $1",
            )
            .bind(row.id)
            .bind(&secret)
            .execute(&mut *transaction)
            .await?;
            replace_recovery_codes(&mut transaction, row.id).await?
        } else {
            Vec::new()
        };
        let used_recovery = !enrolling && request.code.trim().is_empty();
        let admin = Caller { principal: admin_principal(&row), ..caller.clone() };
        oplog::record(
            &mut transaction,
            &admin,
            if enrolling { "totp.enrol" } else { "totp.verify" },
            "admin_user",
            &row.id.to_string(),
            serde_json::json!({ "recovery_code": used_recovery }),
        )
        .await?;
        let left = recovery_codes_left(&mut transaction, row.id).await?;
        transaction.commit().await?;
        let (token, _) = self.start_admin_session(caller, &row).await?;
        Ok((
            VerifyLoginTotpResponse {
                user: Some((&row).into()),
                admin_path: self.state.config.server.admin_path.clone(),
                recovery_codes,
                recovery_codes_left: left,
            },
            token,
        ))
    }

    pub(super) async fn totp_status(&self, caller: &Caller) -> AppResult<GetTotpStatusResponse> {
        let (admin_id, _) = calling_admin(caller)?;
        let mut connection = self.state.pool.acquire().await?;
        let state = totp_state(&mut connection, admin_id).await?;
        let enabled = state.totp_enabled_at.is_some();
        Ok(GetTotpStatusResponse {
            enabled,
            enabled_at: format_optional_time(state.totp_enabled_at),
            recovery_codes_left: if enabled { recovery_codes_left(&mut connection, admin_id).await? } else { 0 },
            required: self.state.config.identity.admin_totp_required,
            enrollment_pending: !enabled
                && state.totp_pending_secret.is_some()
                && state.totp_pending_at.is_some_and(|at| at > Utc::now() - Duration::minutes(ENROLMENT_TTL_MINUTES)),
        })
    }

    pub(super) async fn begin_totp_enrollment(&self, caller: &Caller) -> AppResult<BeginTotpEnrollmentResponse> {
        let (admin_id, _) = calling_admin(caller)?;
        let mut connection = self.state.pool.acquire().await?;
        let row = self.admin_row(&mut connection, admin_id).await?;
        if totp_state(&mut connection, admin_id).await?.totp_enabled_at.is_some() {
            return Err(AppError::FailedPrecondition("two-factor authentication is already on".into()));
        }
        let secret = totp::new_secret();
        sqlx::query("update admin_users set totp_pending_secret = $2, totp_pending_at = now() where id = $1")
            .bind(admin_id)
            .bind(&secret)
            .execute(&mut *connection)
            .await?;
        Ok(BeginTotpEnrollmentResponse { enrollment: Some(self.enrollment(&secret, &row)?) })
    }

    pub(super) async fn confirm_totp_enrollment(
        &self,
        caller: &Caller,
        request: ConfirmTotpEnrollmentRequest,
    ) -> AppResult<ConfirmTotpEnrollmentResponse> {
        let (admin_id, _) = calling_admin(caller)?;
        if totp::normalise_code(&request.code).is_none() {
            return Err(AppError::invalid_field("code", "six digits from the authenticator app"));
        }
        let mut transaction = self.state.pool.begin().await?;
        sqlx::query("select 1 from admin_users where id = $1 for update")
            .bind(admin_id)
            .execute(&mut *transaction)
            .await?;
        let state = totp_state(&mut transaction, admin_id).await?;
        if state.totp_enabled_at.is_some() {
            return Err(AppError::FailedPrecondition("two-factor authentication is already on".into()));
        }
        let secret = match (state.totp_pending_secret, state.totp_pending_at) {
            (Some(secret), Some(at)) if at > Utc::now() - Duration::minutes(ENROLMENT_TTL_MINUTES) => secret,
            _ => {
                return Err(AppError::FailedPrecondition(
                    "no enrolment is in progress (or it expired); begin again".into(),
                ));
            }
        };
        if !accept_code(&mut transaction, admin_id, &secret, &request.code).await? {
            return Err(AppError::invalid_field("code", BAD_CODE));
        }
        sqlx::query(
            "update admin_users set totp_secret = totp_pending_secret, totp_enabled_at = now(),
                    totp_pending_secret = null, totp_pending_at = null where id = $1",
        )
        .bind(admin_id)
        .execute(&mut *transaction)
        .await?;
        let recovery_codes = replace_recovery_codes(&mut transaction, admin_id).await?;
        oplog::record(
            &mut transaction,
            caller,
            "totp.enable",
            "admin_user",
            &admin_id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        transaction.commit().await?;
        Ok(ConfirmTotpEnrollmentResponse { recovery_codes })
    }

    pub(super) async fn disable_totp(&self, caller: &Caller, request: DisableTotpRequest) -> AppResult<()> {
        let (admin_id, _) = calling_admin(caller)?;
        if self.state.config.identity.admin_totp_required {
            return Err(AppError::FailedPrecondition(
                "two-factor authentication is required for admins on this server".into(),
            ));
        }
        if request.password.is_empty() {
            return Err(AppError::invalid_field("password", "is required"));
        }
        let mut transaction = self.state.pool.begin().await?;
        let row = self.admin_row(&mut transaction, admin_id).await?;
        let state = totp_state(&mut transaction, admin_id).await?;
        let Some(secret) = state.totp_secret.filter(|_| state.totp_enabled_at.is_some()) else {
            return Err(AppError::FailedPrecondition("two-factor authentication is not on".into()));
        };
        if !passwords::verify(request.password.clone(), Some(row.password_hash.clone())).await? {
            return Err(AppError::invalid_field("password", "is wrong"));
        }
        if !check_second_factor(&mut transaction, admin_id, &secret, &request.code, &request.recovery_code).await? {
            return Err(AppError::invalid_field("code", BAD_CODE));
        }
        totp::clear(&mut transaction, admin_id).await?;
        oplog::record(
            &mut transaction,
            caller,
            "totp.disable",
            "admin_user",
            &admin_id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    pub(super) async fn regenerate_recovery_codes(
        &self,
        caller: &Caller,
        request: RegenerateTotpRecoveryCodesRequest,
    ) -> AppResult<RegenerateTotpRecoveryCodesResponse> {
        let (admin_id, _) = calling_admin(caller)?;
        let mut transaction = self.state.pool.begin().await?;
        let state = totp_state(&mut transaction, admin_id).await?;
        let Some(secret) = state.totp_secret.filter(|_| state.totp_enabled_at.is_some()) else {
            return Err(AppError::FailedPrecondition("two-factor authentication is not on".into()));
        };
        if totp::normalise_code(&request.code).is_none() {
            return Err(AppError::invalid_field("code", "six digits from the authenticator app"));
        }
        if !accept_code(&mut transaction, admin_id, &secret, &request.code).await? {
            return Err(AppError::invalid_field("code", BAD_CODE));
        }
        let recovery_codes = replace_recovery_codes(&mut transaction, admin_id).await?;
        oplog::record(
            &mut transaction,
            caller,
            "totp.recovery_codes",
            "admin_user",
            &admin_id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        transaction.commit().await?;
        Ok(RegenerateTotpRecoveryCodesResponse { recovery_codes })
    }

    /// Clears another admin's TOTP and ends their sessions; the token
    /// hashes of those sessions, for the session cache.
    pub(super) async fn admin_reset_totp(
        &self,
        caller: &Caller,
        request: AdminResetTotpRequest,
    ) -> AppResult<Vec<Vec<u8>>> {
        caller.principal.require_admin_only()?;
        let target = parse_id("user_id", &request.user_id)?;
        let mut transaction = self.state.pool.begin().await?;
        self.admin_row(&mut transaction, target).await?;
        let hashes = crate::session_cache::admin_session_hashes(&mut transaction, target).await?;
        totp::clear(&mut transaction, target).await?;
        users::revoke_admin_sessions(&mut transaction, target, None).await?;
        oplog::record(&mut transaction, caller, "totp.reset", "admin_user", &target.to_string(), serde_json::json!({}))
            .await?;
        transaction.commit().await?;
        Ok(hashes)
    }
}

fn admin_principal(row: &AdminRow) -> Principal {
    Principal::Admin {
        user_id: row.id,
        username: row.username.clone(),
        role: rustbill_shared::principal::AdminRole::parse(&row.role)
            .unwrap_or(rustbill_shared::principal::AdminRole::Operator),
        session_id: Uuid::nil(),
    }
}
