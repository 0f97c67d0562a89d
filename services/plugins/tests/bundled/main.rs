//! The bundled plugins in `plugins/`, each against a real server on
//! loopback speaking its protocol: an epay server, webhook and SMTP
//! receivers, an Incus REST server over mTLS.

#[path = "../plugins/support/mod.rs"]
mod support;

mod common;
mod gateways;
mod incus;
mod notifiers;

use rustbill_plugins::engine::PluginType;

/// Every file in `plugins/` compiles and passes its type's contract, and
/// each type is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bundled_plugin_passes_its_contract() {
    let engine = common::engine();
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../plugins");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "rn") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let (plugin_type, _) = PluginType::from_file_name(&name).expect("a plugin file name");
            let info = engine
                .check(plugin_type, &std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(info.version.as_deref(), Some("1.0.0"), "{name}");
            checked.push(format!("{name}:{}", plugin_type.as_str()));
        }
    }
    checked.sort();
    assert_eq!(
        checked,
        [
            "gateway-banktransfer.rn:gateway",
            "gateway-yipay.rn:gateway",
            "notifier-email.rn:notifier",
            "notifier-webhook.rn:notifier",
            "provider-incus.rn:first_party_provider",
            "provider-rustbill.rn:upstream_provider",
        ]
    );
}
