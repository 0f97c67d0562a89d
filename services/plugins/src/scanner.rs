//! PluginScanner: `[plugins].plugins_dir/*.rn` → the `plugins` table, at
//! start and every `scan_interval_secs`.
//!
//! Rules (spec, "PluginScanner"): type and id from the file name; version
//! from `fn version()` (default `0.0.0`); a new file is inserted; for a known
//! one, a higher file version updates the definition and cascades its
//! `config_schema` to every interface, a version that is not higher only
//! updates the definition's script (protecting schema edits made by hand).
//! In both cases interfaces that run the definition's script (not replaced
//! by an admin) get the new script, so the next call runs it.
//!
//! A file that does not compile or breaks its contract is logged, recorded
//! in `load_error` of a known definition (whose last good script keeps
//! running) and skipped; it never stops the scan or the service. Every file
//! is applied in its own transaction under a row lock, so two instances
//! scanning at once serialise per plugin and the second sees no change.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::engine::{Engine, PluginType, ScriptInfo, ScriptRef, parse_config_schema, script_hash};
use crate::store::{PLUGIN_COLUMNS, PluginRow};

/// What one scan did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScanReport {
    pub inserted: Vec<String>,
    pub upgraded: Vec<String>,
    pub script_updated: Vec<String>,
    pub unchanged: Vec<String>,
    /// file name → why it was skipped.
    pub failed: Vec<(String, String)>,
    /// Interfaces whose script changed.
    pub interfaces_updated: u64,
}

#[derive(Debug, Clone)]
pub struct Scanner {
    pool: PgPool,
    engine: Engine,
    dir: PathBuf,
}

/// A file that compiled and passed its contract.
struct Loaded {
    plugin_type: PluginType,
    plugin_id: String,
    file_name: String,
    source: String,
    hash: String,
    version: String,
    has_admin_page: bool,
    config_schema: Json,
}

impl Scanner {
    pub fn new(pool: PgPool, engine: Engine, dir: impl Into<PathBuf>) -> Self {
        Self { pool, engine, dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// One pass over the directory. Fails only when the database does.
    pub async fn scan(&self) -> anyhow::Result<ScanReport> {
        let mut report = ScanReport::default();
        let mut files = Vec::new();
        match std::fs::read_dir(&self.dir) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.is_file() && path.extension().is_some_and(|ext| ext == "rn") {
                        files.push(path);
                    }
                }
            }
            Err(error) => {
                tracing::warn!(dir = %self.dir.display(), %error, "cannot read the plugins directory");
                return Ok(report);
            }
        }
        files.sort();
        for path in files {
            let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            match self.load(&path, &file_name).await {
                Ok(loaded) => self.apply(loaded, &mut report).await?,
                Err((plugin, reason)) => {
                    tracing::error!(file = %file_name, error = %reason, "plugin file skipped");
                    if let Some((plugin_type, plugin_id)) = plugin {
                        sqlx::query(
                            "update plugins set load_error = $3, updated_at = now()
                             where plugin_type = $1 and plugin_id = $2 and load_error is distinct from $3",
                        )
                        .bind(plugin_type.as_str())
                        .bind(&plugin_id)
                        .bind(&reason)
                        .execute(&self.pool)
                        .await?;
                    }
                    report.failed.push((file_name, reason));
                }
            }
        }
        tracing::info!(
            inserted = report.inserted.len(),
            upgraded = report.upgraded.len(),
            script_updated = report.script_updated.len(),
            unchanged = report.unchanged.len(),
            failed = report.failed.len(),
            interfaces_updated = report.interfaces_updated,
            "plugin scan finished"
        );
        Ok(report)
    }

    /// Reads, compiles and checks one file.
    async fn load(&self, path: &Path, file_name: &str) -> Result<Loaded, (Option<(PluginType, String)>, String)> {
        let Some((plugin_type, plugin_id)) = PluginType::from_file_name(file_name) else {
            return Err((None, "the name is not <gateway|notifier|provider>-<id>.rn".to_string()));
        };
        let known = Some((plugin_type, plugin_id.clone()));
        let source = std::fs::read_to_string(path).map_err(|error| (known.clone(), format!("cannot read: {error}")))?;
        let info: ScriptInfo =
            self.engine.check_async(plugin_type, &source).await.map_err(|error| (known.clone(), error.to_string()))?;
        let config_schema = extract_schema(&self.engine, plugin_type, &plugin_id, &source)
            .await
            .map_err(|error| (known.clone(), error))?;
        Ok(Loaded {
            plugin_type,
            plugin_id,
            file_name: file_name.to_string(),
            hash: script_hash(&source),
            source,
            version: info.version.unwrap_or_else(|| "0.0.0".to_string()),
            has_admin_page: info.has_admin_page,
            config_schema,
        })
    }

    async fn apply(&self, file: Loaded, report: &mut ScanReport) -> anyhow::Result<()> {
        let label = format!("{}-{}", file.plugin_type.as_str(), file.plugin_id);
        let mut transaction = self.pool.begin().await?;
        let inserted = sqlx::query(
            "insert into plugins (id, plugin_type, plugin_id, has_admin_page, version, file_name, script_source,
                                  script_hash, config_schema)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             on conflict (plugin_type, plugin_id) do nothing",
        )
        .bind(Uuid::now_v7())
        .bind(file.plugin_type.as_str())
        .bind(&file.plugin_id)
        .bind(file.has_admin_page)
        .bind(&file.version)
        .bind(&file.file_name)
        .bind(&file.source)
        .bind(&file.hash)
        .bind(&file.config_schema)
        .execute(&mut *transaction)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            transaction.commit().await?;
            tracing::info!(plugin = %label, version = %file.version, "plugin definition added");
            report.inserted.push(label);
            return Ok(());
        }
        let current: PluginRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select {PLUGIN_COLUMNS} from plugins where plugin_type = $1 and plugin_id = $2 for update"
        )))
        .bind(file.plugin_type.as_str())
        .bind(&file.plugin_id)
        .fetch_one(&mut *transaction)
        .await?;
        let newer = is_newer(&file.version, &current.version);
        if !newer && current.script_hash == file.hash && current.load_error.is_none() {
            transaction.commit().await?;
            report.unchanged.push(label);
            return Ok(());
        }
        if newer {
            sqlx::query(
                "update plugins set version = $2, has_admin_page = $3, file_name = $4, script_source = $5,
                        script_hash = $6, config_schema = $7, load_error = null, updated_at = now()
                 where id = $1",
            )
            .bind(current.id)
            .bind(&file.version)
            .bind(file.has_admin_page)
            .bind(&file.file_name)
            .bind(&file.source)
            .bind(&file.hash)
            .bind(&file.config_schema)
            .execute(&mut *transaction)
            .await?;
            // Cascade the schema to every interface, and the script to
            // those that run the definition's script.
            sqlx::query(
                "update plugin_interfaces set config_schema = $2, has_admin_page = $3, plugin_version = $4,
                        updated_at = now()
                 where plugin_def_id = $1",
            )
            .bind(current.id)
            .bind(&file.config_schema)
            .bind(file.has_admin_page)
            .bind(&file.version)
            .execute(&mut *transaction)
            .await?;
        } else {
            sqlx::query(
                "update plugins set script_source = $2, script_hash = $3, has_admin_page = $4, file_name = $5,
                        load_error = null, updated_at = now()
                 where id = $1",
            )
            .bind(current.id)
            .bind(&file.source)
            .bind(&file.hash)
            .bind(file.has_admin_page)
            .bind(&file.file_name)
            .execute(&mut *transaction)
            .await?;
        }
        let changed: Vec<Uuid> = sqlx::query_scalar(
            "update plugin_interfaces set script_source = $2, script_hash = $3, updated_at = now()
             where plugin_def_id = $1 and not script_overridden and script_hash <> $3
             returning id",
        )
        .bind(current.id)
        .bind(&file.source)
        .bind(&file.hash)
        .fetch_all(&mut *transaction)
        .await?;
        transaction.commit().await?;
        for id in &changed {
            self.engine.evict(&id.to_string());
        }
        report.interfaces_updated += changed.len() as u64;
        if newer {
            tracing::info!(plugin = %label, from = %current.version, to = %file.version, interfaces = changed.len(), "plugin upgraded");
            report.upgraded.push(label);
        } else {
            tracing::info!(plugin = %label, interfaces = changed.len(), "plugin script updated (same or lower version)");
            report.script_updated.push(label);
        }
        Ok(())
    }

    /// Scans every `interval` until `shutdown` (the start-up scan is the
    /// caller's, before it serves).
    pub async fn run(self, interval: std::time::Duration, shutdown: tokio_util::sync::CancellationToken) {
        let mut ticker = tokio::time::interval(interval.max(std::time::Duration::from_secs(1)));
        ticker.tick().await;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            if let Err(error) = self.scan().await {
                tracing::error!(error = format!("{error:#}"), "plugin scan failed");
            }
        }
    }
}

/// `a > b` as semantic versions; an unparsable version counts as 0.0.0.
pub fn is_newer(a: &str, b: &str) -> bool {
    let parse = |text: &str| semver::Version::parse(text.trim()).unwrap_or(semver::Version::new(0, 0, 0));
    parse(a) > parse(b)
}

/// Runs `config_schema` of a script that is not an interface yet.
pub async fn extract_schema(
    engine: &Engine,
    plugin_type: PluginType,
    plugin_id: &str,
    source: &str,
) -> Result<Json, String> {
    let key = format!("definition:{}-{plugin_id}:{}", plugin_type.as_str(), Uuid::now_v7());
    let script = ScriptRef::new(key.clone(), format!("{}-{plugin_id}", plugin_type.as_str()), plugin_type, source);
    let empty = Json::Object(Default::default());
    let result = engine.call(&script, "config_schema", &empty, &empty).await;
    engine.evict(&key);
    let raw = result.map_err(|error| format!("config_schema: {error}"))?;
    parse_config_schema(raw).map_err(|failure| format!("config_schema: {}", failure.message))
}

#[cfg(test)]
mod tests {
    use super::is_newer;

    #[test]
    fn versions_compare_as_semver() {
        assert!(is_newer("1.10.0", "1.9.0"));
        assert!(!is_newer("1.0.0", "1.0.0"));
        assert!(!is_newer("0.9.0", "1.0.0"));
        assert!(is_newer("0.0.1", "garbage"));
        assert!(!is_newer("garbage", "0.0.0"));
    }
}
