//! TOTP (RFC 6238) for admin two-factor authentication: secrets, codes
//! and recovery codes. The arithmetic is `totp-rs`'s; this module fixes the
//! parameters every authenticator app supports (SHA-1, 6 digits, 30 s),
//! the accepted clock skew (one step either way) and reports which step a
//! code matched, so that the caller can refuse a code used before.

use rand::{Rng, RngCore};
use rustbill_shared::{AppError, AppResult};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

pub const DIGITS: usize = 6;
pub const PERIOD_SECS: u64 = 30;
/// Steps accepted either side of the current one.
const SKEW_STEPS: u64 = 1;
pub const RECOVERY_CODES: usize = 10;
/// Unambiguous characters for recovery codes (no 0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// A new random 160-bit secret, base32 without padding.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

fn totp(secret: &str, issuer: &str, account: &str) -> AppResult<TOTP> {
    let bytes = Secret::Encoded(secret.to_string())
        .to_bytes()
        .map_err(|error| AppError::Internal(anyhow::anyhow!("stored TOTP secret is not base32: {error:?}")))?;
    // otpauth labels may not contain ':'.
    let account = account.replace(':', "_");
    TOTP::new(Algorithm::SHA1, DIGITS, 1, PERIOD_SECS, bytes, Some(issuer.replace(':', "_")), account)
        .map_err(|error| AppError::Internal(anyhow::anyhow!("TOTP parameters rejected: {error}")))
}

/// The otpauth:// URI an authenticator app scans.
pub fn otpauth_url(secret: &str, issuer: &str, account: &str) -> AppResult<String> {
    Ok(totp(secret, issuer, account)?.get_url())
}

/// Whether `code` is well-formed: six digits, spaces allowed.
pub fn normalise_code(code: &str) -> Option<String> {
    let digits: String = code.chars().filter(|character| !character.is_whitespace()).collect();
    (digits.len() == DIGITS && digits.bytes().all(|byte| byte.is_ascii_digit())).then_some(digits)
}

/// The time step (unix time / 30) whose code `code` is, within one step of
/// `now`; `None` when it matches none.
pub fn matching_step(secret: &str, code: &str, now_unix: u64) -> AppResult<Option<u64>> {
    let Some(code) = normalise_code(code) else {
        return Ok(None);
    };
    let totp = totp(secret, "RustBill", "admin")?;
    let current = now_unix / PERIOD_SECS;
    let mut matched = None;
    // Every candidate is compared, in constant time, whatever matched first.
    for step in current.saturating_sub(SKEW_STEPS)..=current + SKEW_STEPS {
        let expected = totp.generate(step * PERIOD_SECS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            matched = Some(step);
        }
    }
    Ok(matched)
}

/// The current unix time in seconds.
pub fn now_unix() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

/// Ten new recovery codes, `xxxxx-xxxxx`, 50 random bits each.
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut code: String =
                (0..10).map(|_| RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())] as char).collect();
            code.insert(5, '-');
            code
        })
        .collect()
}

/// A recovery code as stored (hashed): case, dashes and spaces ignored.
pub fn recovery_hash(code: &str) -> Vec<u8> {
    let normal: String =
        code.chars().filter(|character| character.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    crate::tokens::sha256(&normal)
}

/// Turns an admin's TOTP off: the secret, any enrolment, the recovery
/// codes and open login challenges go. (The caller ends their sessions
/// when the change is an admin's reset rather than their own choice.)
pub async fn clear(connection: &mut sqlx::PgConnection, admin_id: uuid::Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "update admin_users set totp_secret = null, totp_enabled_at = null, totp_pending_secret = null,
                totp_pending_at = null, totp_last_step = 0 where id = $1",
    )
    .bind(admin_id)
    .execute(&mut *connection)
    .await?;
    sqlx::query("delete from admin_recovery_codes where admin_user_id = $1")
        .bind(admin_id)
        .execute(&mut *connection)
        .await?;
    sqlx::query("delete from admin_login_challenges where admin_user_id = $1")
        .bind(admin_id)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vector_and_skew() {
        // RFC 6238 appendix B, SHA-1: secret "12345678901234567890",
        // T = 59 s → 94287082 (8 digits); its last six are 287082.
        let secret = Secret::Raw(b"12345678901234567890".to_vec()).to_encoded().to_string();
        assert_eq!(matching_step(&secret, "287082", 59).expect("check"), Some(1));
        // One step either way is accepted, two are not.
        assert_eq!(matching_step(&secret, "287082", 59 + 30).expect("check"), Some(1));
        assert_eq!(matching_step(&secret, "287082", 59 + 60).expect("check"), None);
        assert_eq!(matching_step(&secret, "287 082", 59).expect("check"), Some(1));
        assert_eq!(matching_step(&secret, "28708", 59).expect("check"), None);
        assert_eq!(matching_step(&secret, "28708a", 59).expect("check"), None);
    }

    #[test]
    fn secrets_and_recovery_codes() {
        let secret = new_secret();
        assert_eq!(secret.len(), 32, "160 bits in base32");
        assert_ne!(secret, new_secret());
        let url = otpauth_url(&secret, "RustBill", "ops@example.com").expect("url");
        assert!(url.starts_with("otpauth://totp/RustBill:ops%40example.com?secret="), "{url}");
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert!(codes.iter().all(|code| code.len() == 11 && code.as_bytes()[5] == b'-'));
        assert_eq!(recovery_hash(&codes[0]), recovery_hash(&codes[0].to_uppercase().replace('-', " ")));
    }
}
