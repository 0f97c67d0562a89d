//! Opaque tokens (sessions, refresh tokens, API keys, verification codes)
//! and customer access JWTs.
//!
//! Opaque tokens are 256 random bits; only their SHA-256 is stored, which
//! is enough for secrets of that entropy and lets the database look them up
//! by hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Prefix of every API key.
pub const API_KEY_PREFIX: &str = "rk_live_";
/// Characters of an API key shown as its prefix (`rk_live_` + 6).
const API_KEY_SHOWN: usize = API_KEY_PREFIX.len() + 6;

/// 256 random bits, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn sha256(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A new API key and the prefix shown to identify it.
pub fn new_api_key() -> (String, String) {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    // 43 base62 characters carry 256 bits.
    let body: String = (0..43).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    let key = format!("{API_KEY_PREFIX}{body}");
    let shown = key[..API_KEY_SHOWN].to_string();
    (key, shown)
}

/// A 6-digit verification code.
pub fn verification_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// Claims of a customer access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// Customer user id.
    pub sub: Uuid,
    /// Customer id.
    pub cid: Uuid,
    /// Refresh-token family (the login this token belongs to).
    pub fam: Uuid,
    pub usr: String,
    pub typ: String,
    pub iat: i64,
    pub exp: i64,
}

/// Why an access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFailure {
    Expired,
    Invalid,
}

impl TokenFailure {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Invalid => "invalid",
        }
    }
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: i64,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("JwtKeys").field("ttl_secs", &self.ttl_secs).finish_non_exhaustive()
    }
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_secs: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
        }
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// A signed access token for a customer user.
    pub fn issue(&self, user_id: Uuid, customer_id: Uuid, family_id: Uuid, username: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = AccessClaims {
            sub: user_id,
            cid: customer_id,
            fam: family_id,
            usr: username.to_string(),
            typ: "access".into(),
            iat: now,
            exp: now + self.ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of a serialisable struct cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenFailure> {
        match jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation) {
            Ok(data) if data.claims.typ == "access" => Ok(data.claims),
            Ok(_) => Err(TokenFailure::Invalid),
            Err(error) => match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Err(TokenFailure::Expired),
                _ => Err(TokenFailure::Invalid),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_have_the_documented_shape() {
        let (key, prefix) = new_api_key();
        assert!(key.starts_with("rk_live_"));
        assert_eq!(key.len(), 8 + 43);
        assert_eq!(prefix.len(), 14);
        assert!(key.starts_with(&prefix));
        assert_ne!(new_api_key().0, key);
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let code = verification_code();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|byte| byte.is_ascii_digit()));
        }
    }

    #[test]
    fn access_tokens_verify_expire_and_resist_forgery() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", 60);
        let (user, customer, family) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let token = keys.issue(user, customer, family, "alice");
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub, claims.cid, claims.fam), (user, customer, family));
        let other = JwtKeys::new(b"another secret another secret 00", 60);
        assert_eq!(other.verify(&token), Err(TokenFailure::Invalid));
        let expired = JwtKeys::new(b"0123456789abcdef0123456789abcdef", -10).issue(user, customer, family, "a");
        assert_eq!(keys.verify(&expired), Err(TokenFailure::Expired));
        assert_eq!(keys.verify("not.a.jwt"), Err(TokenFailure::Invalid));
    }
}
