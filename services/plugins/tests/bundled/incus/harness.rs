//! One provider under test: an engine, `plugins/provider-incus.rn`, an
//! Incus server on 127.0.0.1 with the certificate `incusd` makes, a client
//! certificate like the one `incus remote add` makes (trusted by the
//! server), and the interface configuration pointing at them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustbill_plugins::engine::{Engine, EngineLimits, PluginType, RawReturn, ScriptRef, parse_provider_result};
use rustbill_plugins::host::HostEnv;
use rustbill_plugins::http::{HttpPolicy, OutboundHttp};
use serde_json::{Value as Json, json};

use super::certs::{ServerIdentity, incus_client_cert};
use super::server::IncusServer;
use crate::support::pki::Pem;

pub const FILE: &str = "provider-incus.rn";

pub fn source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../plugins").join(FILE);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// An engine whose outbound client retries once, quickly (a refused
/// connection is not waited on for seconds).
pub fn engine() -> Engine {
    let policy = HttpPolicy {
        max_retries: 1,
        backoff_initial: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        ..HttpPolicy::default()
    };
    let env = HostEnv::new(tokio::runtime::Handle::current(), None).with_http(Arc::new(OutboundHttp::new(policy)));
    Engine::new(Arc::new(env), EngineLimits::default()).expect("engine")
}

pub struct Setup {
    pub engine: Engine,
    pub server: IncusServer,
    pub client: Pem,
    pub script: ScriptRef,
    pub config: Json,
}

impl Setup {
    pub async fn new(interface: &str) -> Self {
        let identity = ServerIdentity::incus_style("incus-host");
        let client = incus_client_cert();
        let server = IncusServer::start(&identity, &client.cert).await;
        let config = json!({
            "api_url": server.url("127.0.0.1"),
            "cert_pem": client.cert,
            "key_pem": client.key,
            "server_cert_pem": identity.cert_pem,
            "project": "customers",
            "storage_pool": "fast",
            "image": "debian/12",
            "images": "debian/12=Debian 12, ubuntu/24.04=Ubuntu 24.04, alpine/3.20=Alpine 3.20",
            "regions": "hk-1, sg-1",
            "price_per_core": "10",
            "price_per_gb_ram": "5",
            "price_per_gb_disk": "0.5",
            "currency": "CNY",
            "operation_timeout_secs": "5",
        });
        let script = ScriptRef::new(interface, "incus", PluginType::FirstPartyProvider, source());
        Self { engine: engine(), server, client, script, config }
    }

    /// The configuration with `changes` applied.
    pub fn config_with(&self, changes: Json) -> Json {
        let mut config = self.config.clone();
        for (key, value) in changes.as_object().expect("an object of changes") {
            config[key] = value.clone();
        }
        config
    }

    pub async fn call(&self, function: &str, args: Json) -> RawReturn {
        self.call_with(&self.config, function, args).await
    }

    pub async fn call_with(&self, config: &Json, function: &str, args: Json) -> RawReturn {
        self.engine.call(&self.script, function, config, &args).await.unwrap_or_else(|e| panic!("{function}: {e}"))
    }

    /// The provider result of a call that must succeed.
    pub async fn ok(&self, function: &str, args: Json) -> Json {
        success(self.call(function, args).await)
    }

    /// The reason of a call that must fail.
    pub async fn failure(&self, function: &str, args: Json) -> String {
        failure(self.call(function, args).await)
    }
}

pub fn success(raw: RawReturn) -> Json {
    parse_provider_result(raw.clone()).unwrap_or_else(|error| panic!("expected a result, got {error} ({raw:?})"))
}

pub fn failure(raw: RawReturn) -> String {
    match parse_provider_result(raw.clone()) {
        Ok(value) => panic!("expected an ERROR, got {value}"),
        Err(error) => error.message,
    }
}

/// A customer's order for a server (flattened spec and `server_spec`, as
/// the plugins service passes it).
pub fn order(instance_id: &str, hostname: &str) -> Json {
    let spec = json!({
        "cpu_cores": 2, "memory_gb": 4, "disk_gb": 40, "bandwidth_mbps": 100,
        "region": "hk-1", "os": "ubuntu/24.04", "extra_specs": {},
    });
    let mut args = spec.clone();
    args["server_spec"] = spec;
    args["order_id"] = json!("ord-1");
    args["instance_id"] = json!(instance_id);
    args["hostname"] = json!(hostname);
    args["password"] = json!("");
    args["ssh_key"] = json!("");
    args["product_id"] = json!("incus-2c-4g-40g");
    args
}

/// Arguments naming one instance.
pub fn target(name: &str) -> Json {
    json!({ "instance_id": name })
}

pub fn action(name: &str, action: &str) -> Json {
    json!({ "instance_id": name, "action": action, "params": {} })
}
