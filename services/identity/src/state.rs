//! What every handler of the identity service shares.

use std::sync::Arc;

use rustbill_shared::Config;
use rustbill_shared::principal::InternalSigner;
use sqlx::PgPool;

use crate::balances::BalanceReader;
use crate::tokens::JwtKeys;

#[derive(Debug, Clone)]
pub struct State {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub jwt: JwtKeys,
    pub balances: BalanceReader,
    pub signer: InternalSigner,
    /// Cache-aside of admin sessions in Redis (`[redis]`), if enabled.
    pub sessions: Option<Arc<rustbill_shared::redis::Redis>>,
}

impl State {
    pub fn new(pool: PgPool, config: Arc<Config>) -> Self {
        use secrecy::ExposeSecret;
        let secret =
            config.jwt.secret.as_ref().map(|secret| secret.expose_secret().as_bytes().to_vec()).unwrap_or_default();
        let ttl = i64::try_from(config.jwt.expiry_hours.saturating_mul(3600)).unwrap_or(i64::MAX);
        let signer = InternalSigner::new(&config.internal_secret(), config.internal.token_ttl_secs);
        let balances = BalanceReader::new(&config.services.payments.url, signer.clone());
        let sessions = rustbill_shared::redis::Redis::from_config(&config.redis, "sessions are read from PostgreSQL")
            .unwrap_or_else(|error| {
                tracing::error!(%error, "the session cache is off");
                None
            });
        Self { pool, jwt: JwtKeys::new(&secret, ttl), balances, signer, sessions, config }
    }
}
