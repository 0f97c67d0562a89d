//! Configuration, layered with figment.
//!
//! Order, later wins: built-in defaults → `config.toml` (or `CONFIG_FILE`)
//! → `config.local.toml` (or `LOCAL_CONFIG_FILE`) → `DATABASE_URL` →
//! `RUSTBILL_<SECTION>__<KEY>` environment variables. Arrays replace, they
//! are never appended. Every key of the spec's config reference (operations
//! manual §2) is here with its default; keys this project adds (services,
//! internal, telemetry, identity) are documented in `config.example.toml`.

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The JWT secret shipped in examples; startup refuses it.
pub const PLACEHOLDER_JWT_SECRET: &str = "change-me-in-production";
/// Shortest JWT secret startup accepts.
pub const MIN_JWT_SECRET_LEN: usize = 32;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Config {
    pub server: ServerConfig,
    pub db: DbConfig,
    pub jwt: JwtConfig,
    pub session: SessionConfig,
    pub bootstrap: BootstrapConfig,
    pub rate_limit: RateLimitConfig,
    pub redis: RedisConfig,
    pub plugins: PluginsConfig,
    pub telemetry: TelemetryConfig,
    pub internal: InternalConfig,
    pub identity: IdentityConfig,
    pub orders: OrdersConfig,
    pub billing: BillingConfig,
    pub payments: PaymentsConfig,
    pub notify: NotifyConfig,
    pub services: ServicesConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Address the edge listens on.
    pub host: String,
    /// Port the edge listens on (gRPC, gRPC-Web and plain HTTP).
    pub port: u16,
    /// In-flight requests at the edge; more wait in FIFO order.
    pub max_concurrency: usize,
    /// Where system notifications (new orders, ...) are mailed.
    pub notify_email: String,
    /// URL path of the admin SPA.
    pub admin_path: String,
    /// A built customer portal (`web/consumer/dist`) for the edge to serve
    /// at `/`, for a single machine without a web server in front (`make
    /// run` sets it). Empty (the default): not served; production puts the
    /// portal behind Caddy (`deploy/caddy/Caddyfile`).
    pub portal_dir: String,
    /// Origins allowed to call the edge from a browser (CORS). Empty means
    /// same-origin only. `"*"` allows any origin (development only).
    pub cors_allowed_origins: Vec<String>,
    /// Reverse proxies (IPs or CIDRs, e.g. "127.0.0.1", "10.0.0.0/8") whose
    /// `X-Forwarded-For` is believed. Empty: the TCP peer is the client.
    pub trusted_proxies: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 50051,
            max_concurrency: 30,
            notify_email: String::new(),
            admin_path: "/admin".into(),
            portal_dir: String::new(),
            cors_allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DbConfig {
    /// PostgreSQL URL. When empty, `rustbill-server` starts an embedded
    /// PostgreSQL under `embedded_dir`; service binaries require it.
    #[serde(with = "opt_secret")]
    pub url: Option<SecretString>,
    pub max_connections: u32,
    pub min_connections: u32,
    pub idle_timeout_secs: u64,
    pub max_lifetime_secs: u64,
    pub acquire_timeout_secs: u64,
    pub test_before_acquire: bool,
    /// Data directory of the embedded PostgreSQL (all-in-one mode only).
    pub embedded_dir: PathBuf,
    /// Give each service its own database role limited to its own schema.
    /// Needs CREATEROLE; turn off on managed databases that refuse it.
    pub per_service_roles: bool,
}

impl Default for DbConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 20,
            min_connections: 2,
            idle_timeout_secs: 300,
            max_lifetime_secs: 1800,
            acquire_timeout_secs: 5,
            test_before_acquire: true,
            embedded_dir: PathBuf::from("./data/pg"),
            per_service_roles: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct JwtConfig {
    #[serde(with = "opt_secret")]
    pub secret: Option<SecretString>,
    /// Lifetime of a customer access token.
    pub expiry_hours: u64,
    /// Lifetime of a customer refresh token.
    pub refresh_expiry_days: u64,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self { secret: None, expiry_hours: 24, refresh_expiry_days: 30 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionConfig {
    pub cookie_name: String,
    pub idle_timeout_minutes: u64,
    pub absolute_timeout_hours: u64,
    pub cookie_secure: bool,
    /// "Strict", "Lax" or "None".
    pub cookie_same_site: String,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            cookie_name: "rustbill_session".into(),
            idle_timeout_minutes: 1440,
            absolute_timeout_hours: 168,
            cookie_secure: false,
            cookie_same_site: "Lax".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BootstrapConfig {
    pub admin_username: String,
    /// Required when no admin exists yet; no default.
    #[serde(with = "opt_secret")]
    pub admin_password: Option<SecretString>,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self { admin_username: "admin".into(), admin_password: None }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// Login requests per second per client IP.
    pub login_per_sec: u32,
    /// Register (and SendVerificationCode) requests per second per client IP.
    pub register_per_sec: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self { enabled: true, login_per_sec: 5, register_per_sec: 1 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisConfig {
    pub enabled: bool,
    #[serde(with = "secret")]
    pub url: SecretString,
    pub max_connections: u32,
    pub prefix: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            url: SecretString::from("redis://127.0.0.1:6379"),
            max_connections: 10,
            prefix: "rustbill".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PluginsConfig {
    pub plugins_dir: PathBuf,
    /// Seconds between scans of `plugins_dir` (also scanned at start).
    pub scan_interval_secs: u64,
    /// Seconds between background health checks of enabled interfaces
    /// (one instance runs them); 0 turns them off.
    pub health_check_interval_secs: u64,
    /// Limits of one script call.
    pub call_timeout_secs: u64,
    pub instruction_budget: u64,
    pub memory_limit_mb: u64,
    pub max_concurrent_calls: usize,
    /// Stack reserved for each call's thread (virtual memory; lower it on
    /// hosts with strict overcommit).
    pub stack_mb: u64,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        Self {
            plugins_dir: PathBuf::from("./plugins"),
            scan_interval_secs: 300,
            health_check_interval_secs: 300,
            call_timeout_secs: 10,
            instruction_budget: 10_000_000,
            memory_limit_mb: 64,
            max_concurrent_calls: 64,
            stack_mb: 2048,
        }
    }
}

/// `[orders]`: the order pipeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OrdersConfig {
    /// Unpaid orders older than this are cancelled (spec: 24 h).
    pub payment_timeout_hours: u64,
    /// Seconds between scans for unpaid orders (one instance runs them,
    /// under the `order_timeouts` leader role).
    pub timeout_scan_interval_secs: u64,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        Self { payment_timeout_hours: 24, timeout_scan_interval_secs: 60 }
    }
}

/// `[billing]`: invoices, renewals, overdue handling and tax.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BillingConfig {
    /// A renewal invoice is issued this many days before a service period
    /// ends (and paid from the balance at once when it covers it).
    pub renew_days_before: u32,
    /// Days after the due date an unpaid renewal suspends the instance.
    pub suspend_after_days: u32,
    /// Days after the due date an unpaid renewal terminates the instance.
    pub terminate_after_days: u32,
    /// Seconds between billing runs (one instance runs them, under the
    /// `billing` leader role); 0 turns the automatic runs off.
    pub run_interval_secs: u64,
    /// Tax rates in percent by region (an order's server region, else
    /// "default"), e.g. `{ default = "0", cn = "13" }` (numbers or strings).
    #[serde(deserialize_with = "rates")]
    pub tax_rates: std::collections::BTreeMap<String, String>,
    /// Whether prices already include the tax (the tax is then taken out of
    /// them) or have it added.
    pub prices_include_tax: bool,
    /// Invoice number prefix: `<prefix>-<year>-<000123>`.
    pub invoice_prefix: String,
}

/// Tax rates as text, whether written as numbers or strings (environment
/// variables arrive as numbers).
fn rates<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<std::collections::BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Rate {
        Text(String),
        Whole(i64),
        Fraction(f64),
    }
    let raw = std::collections::BTreeMap::<String, Rate>::deserialize(deserializer)?;
    Ok(raw
        .into_iter()
        .map(|(region, rate)| {
            let text = match rate {
                Rate::Text(text) => text,
                Rate::Whole(whole) => whole.to_string(),
                Rate::Fraction(fraction) => fraction.to_string(),
            };
            (region.to_ascii_lowercase(), text)
        })
        .collect())
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            renew_days_before: 7,
            suspend_after_days: 3,
            terminate_after_days: 14,
            run_interval_secs: 300,
            tax_rates: [("default".to_string(), "0".to_string())].into_iter().collect(),
            prices_include_tax: false,
            invoice_prefix: "INV".into(),
        }
    }
}

/// `[notify]`: delivery of system events to notification channels.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct NotifyConfig {
    /// Attempts per delivery before it is parked.
    pub max_attempts: u32,
    /// First retry delay in seconds, doubled each attempt (at most 1 h).
    pub retry_base_secs: u64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self { max_attempts: 5, retry_base_secs: 30 }
    }
}

/// `[payments]`: payments, refunds and balances.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentsConfig {
    /// The edge's public base URL as gateways reach it (e.g.
    /// `https://billing.example.com`); gateway notifications go to
    /// `<public_url>/callback/<gateway_interface_id>`. Empty: derived from
    /// `[server].host` and `[server].port` (only right for local use).
    pub public_url: String,
    /// Currency of balances and of orders that do not name one.
    pub currency: String,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self { public_url: String::new(), currency: "CNY".into() }
    }
}

impl Config {
    /// Base URL gateways call back to, without a trailing slash.
    pub fn public_url(&self) -> String {
        let configured = self.payments.public_url.trim().trim_end_matches('/');
        if configured.is_empty() {
            format!("http://{}:{}", self.server.host, self.server.port)
        } else {
            configured.to_string()
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TelemetryConfig {
    pub enabled: bool,
    pub otlp_endpoint: String,
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self { enabled: false, otlp_endpoint: "http://localhost:4317".into(), service_name: "rustbill".into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct InternalConfig {
    /// Key that signs principal tokens between the edge and the services.
    /// When empty it is derived from `[jwt].secret`, so every binary that
    /// shares the config agrees on it.
    #[serde(with = "opt_secret")]
    pub secret: Option<SecretString>,
    /// Lifetime of a principal token, seconds.
    pub token_ttl_secs: u64,
}

impl Default for InternalConfig {
    fn default() -> Self {
        Self { secret: None, token_ttl_secs: 60 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IdentityConfig {
    /// Lifetime of an e-mail verification code.
    pub verification_code_ttl_secs: u64,
    /// Minimum interval between two codes sent to one address.
    pub verification_resend_secs: u64,
    /// Wrong guesses allowed against one code before it is burnt.
    pub verification_max_attempts: u32,
    pub password_min_length: usize,
    /// Lifetime of new API keys in days; 0 means they do not expire.
    pub api_key_ttl_days: u64,
    /// Every admin must use two-factor authentication (TOTP): one without
    /// it enrols at the next login and cannot turn it off.
    pub admin_totp_required: bool,
    /// The issuer shown in authenticator apps.
    pub totp_issuer: String,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            verification_code_ttl_secs: 600,
            verification_resend_secs: 60,
            verification_max_attempts: 5,
            password_min_length: 8,
            api_key_ttl_days: 0,
            admin_totp_required: false,
            totp_issuer: "RustBill".into(),
        }
    }
}

/// Where one service listens when run alone, and where others reach it.
/// An empty `url` means the service is not deployed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceEndpoint {
    pub listen: SocketAddr,
    pub url: String,
}

impl ServiceEndpoint {
    fn local(port: u16) -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], port)), url: format!("http://127.0.0.1:{port}") }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServicesConfig {
    pub identity: ServiceEndpoint,
    pub catalog: ServiceEndpoint,
    pub orders: ServiceEndpoint,
    pub payments: ServiceEndpoint,
    pub plugins: ServiceEndpoint,
    pub notify: ServiceEndpoint,
}

impl Default for ServicesConfig {
    fn default() -> Self {
        Self {
            identity: ServiceEndpoint::local(50061),
            catalog: ServiceEndpoint::local(50062),
            orders: ServiceEndpoint::local(50063),
            payments: ServiceEndpoint::local(50064),
            plugins: ServiceEndpoint::local(50065),
            notify: ServiceEndpoint::local(50066),
        }
    }
}

/// A reason startup refuses the configuration, one line each.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration could not be read: {0}")]
    Load(String),
    #[error("[jwt].secret is not set (set RUSTBILL_JWT__SECRET or [jwt].secret, 32+ random characters)")]
    JwtSecretMissing,
    #[error(
        "[jwt].secret is the example placeholder \"change-me-in-production\"; set a random secret of 32+ characters"
    )]
    JwtSecretPlaceholder,
    #[error("[jwt].secret is {0} characters long; it must be at least 32")]
    JwtSecretTooShort(usize),
    #[error("[db].url is required to run this binary alone (or set DATABASE_URL)")]
    DbUrlMissing,
    #[error("[session].cookie_same_site must be Strict, Lax or None, not {0:?}")]
    BadSameSite(String),
    #[error("no admin exists and [bootstrap].admin_password is not set (set RUSTBILL_BOOTSTRAP__ADMIN_PASSWORD)")]
    BootstrapPasswordMissing,
}

impl Config {
    /// Loads the layered configuration from the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        Self::figment().extract().map_err(|error| ConfigError::Load(error.to_string()))
    }

    /// The layered figment, for tests and tools that want to add layers.
    pub fn figment() -> Figment {
        let config_file = std::env::var("CONFIG_FILE").unwrap_or_else(|_| "config.toml".into());
        let local_file = std::env::var("LOCAL_CONFIG_FILE").unwrap_or_else(|_| "config.local.toml".into());
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(config_file))
            .merge(Toml::file(local_file))
            .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "db.url".into()))
            .merge(Env::prefixed("RUSTBILL_").split("__"))
    }

    /// Checks that hold for every binary: refuses a weak JWT secret.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let secret = self.jwt.secret.as_ref().map(|secret| secret.expose_secret()).unwrap_or("");
        if secret.is_empty() {
            return Err(ConfigError::JwtSecretMissing);
        }
        if secret == PLACEHOLDER_JWT_SECRET {
            return Err(ConfigError::JwtSecretPlaceholder);
        }
        let length = secret.chars().count();
        if length < MIN_JWT_SECRET_LEN {
            return Err(ConfigError::JwtSecretTooShort(length));
        }
        match self.session.cookie_same_site.as_str() {
            "Strict" | "Lax" | "None" => {}
            other => return Err(ConfigError::BadSameSite(other.to_string())),
        }
        Ok(())
    }

    /// The database URL, required when a binary runs alone.
    pub fn require_db_url(&self) -> Result<&str, ConfigError> {
        match &self.db.url {
            Some(url) if !url.expose_secret().is_empty() => Ok(url.expose_secret()),
            _ => Err(ConfigError::DbUrlMissing),
        }
    }

    /// The key that signs internal principal tokens.
    pub fn internal_secret(&self) -> Vec<u8> {
        use hmac::{Hmac, Mac};
        if let Some(secret) = &self.internal.secret
            && !secret.expose_secret().is_empty()
        {
            return secret.expose_secret().as_bytes().to_vec();
        }
        let jwt = self.jwt.secret.as_ref().map(|secret| secret.expose_secret()).unwrap_or("");
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(jwt.as_bytes()).expect("hmac takes any key");
        mac.update(b"rustbill internal principal tokens v1");
        mac.finalize().into_bytes().to_vec()
    }

    /// The public address the edge binds.
    pub fn edge_addr(&self) -> String {
        format!("{}:{}", self.server.host, self.server.port)
    }
}

mod opt_secret {
    use secrecy::{ExposeSecret, SecretString};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<SecretString>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(secret) => serializer.serialize_some(secret.expose_secret()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<SecretString>, D::Error> {
        let value = Option::<String>::deserialize(deserializer)?;
        Ok(value.filter(|text| !text.is_empty()).map(SecretString::from))
    }
}

mod secret {
    use secrecy::{ExposeSecret, SecretString};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.expose_secret())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SecretString, D::Error> {
        Ok(SecretString::from(String::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_match_the_spec() {
        let config = Config::default();
        assert_eq!(config.server.host, "127.0.0.1");
        assert_eq!(config.server.port, 50051);
        assert_eq!(config.server.max_concurrency, 30);
        assert_eq!(config.db.max_connections, 20);
        assert_eq!(config.db.min_connections, 2);
        assert_eq!(config.db.idle_timeout_secs, 300);
        assert_eq!(config.db.max_lifetime_secs, 1800);
        assert_eq!(config.db.acquire_timeout_secs, 5);
        assert!(config.db.test_before_acquire);
        assert_eq!(config.jwt.expiry_hours, 24);
        assert_eq!(config.session.cookie_name, "rustbill_session");
        assert_eq!(config.session.idle_timeout_minutes, 1440);
        assert_eq!(config.session.absolute_timeout_hours, 168);
        assert!(!config.session.cookie_secure);
        assert_eq!(config.session.cookie_same_site, "Lax");
        assert_eq!(config.bootstrap.admin_username, "admin");
        assert!(config.bootstrap.admin_password.is_none());
        assert!(config.rate_limit.enabled);
        assert_eq!(config.rate_limit.login_per_sec, 5);
        assert_eq!(config.rate_limit.register_per_sec, 1);
        assert!(!config.redis.enabled);
        assert_eq!(config.redis.url.expose_secret(), "redis://127.0.0.1:6379");
        assert_eq!(config.redis.max_connections, 10);
        assert_eq!(config.redis.prefix, "rustbill");
        assert_eq!(config.plugins.plugins_dir, PathBuf::from("./plugins"));
    }

    #[test]
    fn layers_apply_in_order_and_arrays_replace() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "config.toml",
                r#"
                [server]
                port = 6000
                cors_allowed_origins = ["https://a.example", "https://b.example"]
                [jwt]
                secret = "from-config-file-0123456789abcdef0123"
                "#,
            )?;
            jail.create_file(
                "config.local.toml",
                r#"
                [server]
                cors_allowed_origins = ["https://c.example"]
                [db]
                max_connections = 7
                "#,
            )?;
            jail.set_env("DATABASE_URL", "postgres://from-database-url/db");
            jail.set_env("RUSTBILL_SERVER__PORT", "7000");
            jail.set_env("RUSTBILL_BOOTSTRAP__ADMIN_PASSWORD", "s3cret-from-env");
            let config: Config = Config::figment().extract()?;
            assert_eq!(config.server.port, 7000);
            assert_eq!(config.server.cors_allowed_origins, vec!["https://c.example".to_string()]);
            assert_eq!(config.db.max_connections, 7);
            assert_eq!(config.require_db_url().unwrap(), "postgres://from-database-url/db");
            assert_eq!(config.bootstrap.admin_password.as_ref().unwrap().expose_secret(), "s3cret-from-env");
            config.validate().unwrap();
            jail.set_env("RUSTBILL_DB__URL", "postgres://from-rustbill-env/db");
            let config: Config = Config::figment().extract()?;
            assert_eq!(config.require_db_url().unwrap(), "postgres://from-rustbill-env/db");
            Ok(())
        });
    }

    #[test]
    fn config_file_env_vars_choose_the_files() {
        Jail::expect_with(|jail| {
            jail.create_file("main.toml", "[server]\nport = 6100\n")?;
            jail.create_file("local.toml", "[db]\nmin_connections = 9\n")?;
            jail.set_env("CONFIG_FILE", "main.toml");
            jail.set_env("LOCAL_CONFIG_FILE", "local.toml");
            let config: Config = Config::figment().extract()?;
            assert_eq!(config.server.port, 6100);
            assert_eq!(config.db.min_connections, 9);
            Ok(())
        });
    }

    #[test]
    fn weak_jwt_secrets_are_refused_with_a_reason() {
        let mut config = Config::default();
        assert!(matches!(config.validate(), Err(ConfigError::JwtSecretMissing)));
        config.jwt.secret = Some(SecretString::from(PLACEHOLDER_JWT_SECRET));
        assert!(matches!(config.validate(), Err(ConfigError::JwtSecretPlaceholder)));
        config.jwt.secret = Some(SecretString::from("short"));
        let error = config.validate().unwrap_err();
        assert!(matches!(error, ConfigError::JwtSecretTooShort(5)));
        assert!(!error.to_string().contains('\n'));
        config.jwt.secret = Some(SecretString::from("x".repeat(32)));
        config.validate().unwrap();
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let mut config = Config::default();
        config.jwt.secret = Some(SecretString::from("super-secret-jwt-value-0123456789abcdef"));
        config.bootstrap.admin_password = Some(SecretString::from("bootstrap-pass-value"));
        config.db.url = Some(SecretString::from("postgres://user:db-pass-value@host/db"));
        let printed = format!("{config:?}");
        assert!(!printed.contains("super-secret-jwt-value"));
        assert!(!printed.contains("bootstrap-pass-value"));
        assert!(!printed.contains("db-pass-value"));
    }

    /// config.example.toml parses, and documents every key there is.
    #[test]
    fn example_config_documents_every_key() {
        let example_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config.example.toml");
        let example = std::fs::read_to_string(example_path).expect("config.example.toml exists");
        let parsed: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(&example))
            .extract()
            .expect("config.example.toml parses");
        assert_eq!(parsed.server.port, 50051);
        // Every leaf key of the defaults appears as `key =` or `# key =`
        // under its section header.
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let mut missing = Vec::new();
        fn walk(prefix: &str, value: &serde_json::Value, example: &str, missing: &mut Vec<String>) {
            let serde_json::Value::Object(map) = value else { return };
            for (key, child) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                let is_table = child
                    .as_object()
                    .is_some_and(|object| object.values().any(|v| !v.is_object()) || object.is_empty());
                if child.is_object() && is_table {
                    if !example.contains(&format!("[{path}]")) {
                        missing.push(format!("[{path}]"));
                    }
                    walk(&path, child, example, missing);
                } else if child.is_object() {
                    walk(&path, child, example, missing);
                } else {
                    let section = prefix.to_string();
                    let start = example.find(&format!("\n[{section}]\n")).map(|index| index + 1).unwrap_or(0);
                    let rest = &example[start..];
                    let end = rest[1..].find("\n[").map(|index| index + 1).unwrap_or(rest.len());
                    let body = &rest[..end];
                    let documented = body.lines().any(|line| {
                        let line = line.trim_start_matches('#').trim();
                        line.starts_with(&format!("{key} =")) || line.starts_with(&format!("{key}="))
                    });
                    if !documented {
                        missing.push(path);
                    }
                }
            }
        }
        walk("", &defaults, &example, &mut missing);
        assert!(missing.is_empty(), "config.example.toml does not document: {missing:?}");
    }

    #[test]
    fn internal_secret_is_derived_and_stable() {
        let mut config = Config::default();
        config.jwt.secret = Some(SecretString::from("y".repeat(40)));
        let first = config.internal_secret();
        assert_eq!(first, config.internal_secret());
        assert_ne!(first, "y".repeat(40).into_bytes());
        config.internal.secret = Some(SecretString::from("explicit"));
        assert_eq!(config.internal_secret(), b"explicit".to_vec());
    }
}
