//! What the CLI's tests share: the binary run against a fresh database,
//! and rows a running system would have written.

#![allow(dead_code)]

use std::process::Output;

use rustbill_shared::testkit::TestDb;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

pub const WEBHOOK: &str = include_str!("../../../plugins/notifier-webhook.rn");

pub struct Cli {
    pub db: TestDb,
    pub dir: tempfile::TempDir,
}

impl Cli {
    pub async fn new() -> Self {
        Self { db: TestDb::new().await.expect("test database"), dir: tempfile::tempdir().expect("work dir") }
    }

    /// Runs the binary in an empty directory (no config files), with only
    /// `DATABASE_URL` set, as on an operator's machine.
    pub async fn run(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_rustbill-cli"))
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", self.db.url())
            .output()
            .await
            .expect("the binary runs")
    }

    /// Runs, expects success, returns standard output.
    pub async fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args).await;
        assert!(
            output.status.success(),
            "rustbill-cli {args:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    /// Runs with `--output json`, expects success, parses the output.
    pub async fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let text = self.ok(&all).await;
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{args:?} printed no JSON ({error}): {text}"))
    }

    /// Runs, expects exit code 2 and a message containing `expected`.
    pub async fn refused(&self, args: &[&str], expected: &str) {
        let output = self.run(args).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "rustbill-cli {args:?} should be refused: {stderr}");
        assert!(stderr.contains(expected), "rustbill-cli {args:?}: {stderr:?} should say {expected:?}");
    }

    pub async fn pool(&self) -> PgPool {
        self.db.pool().await.expect("pool")
    }
}

/// A customer row as identity writes it; its id.
pub async fn customer(pool: &PgPool, name: &str, email: &str, credit_limit: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query("insert into identity.customers (id, name, email, credit_limit) values ($1, $2, $3, $4::numeric)")
        .bind(id)
        .bind(name)
        .bind(email)
        .bind(credit_limit)
        .execute(pool)
        .await
        .unwrap();
    id
}

/// The webhook plugin as the scanner records it; the definition's id.
pub async fn webhook_definition(pool: &PgPool) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into plugins.plugins (id, plugin_type, plugin_id, version, file_name, script_source, script_hash)
         values ($1, 'notifier', 'webhook', '1.0.0', 'notifier-webhook.rn', $2, 'h')",
    )
    .bind(id)
    .bind(WEBHOOK)
    .execute(pool)
    .await
    .unwrap();
    id
}

/// A disabled interface of `definition` running `source` with `config`.
pub async fn interface(pool: &PgPool, definition: Uuid, name: &str, source: &str, config: &str) -> Uuid {
    let schema = r#"{"type":"object","required":["url"],"properties":{"url":{"type":"string"}}}"#;
    let id = Uuid::now_v7();
    sqlx::query(
        "insert into plugins.plugin_interfaces (id, plugin_def_id, plugin_type, plugin_id, display_name, config,
           config_schema, script_source, script_hash, plugin_version)
         values ($1, $2, 'notifier', 'webhook', $3, $4::jsonb, $5::jsonb, $6, 'h', '1.0.0')",
    )
    .bind(id)
    .bind(definition)
    .bind(name)
    .bind(config)
    .bind(schema)
    .bind(source)
    .execute(pool)
    .await
    .unwrap();
    id
}
