//! Which certificates work: the client's (decided by the server's trust
//! store, as Incus does) and the server's (checked by the host's TLS
//! client against `server_cert_pem`).

use rustbill_plugins::engine::{PluginType, parse_done, parse_health};
use serde_json::json;

use super::certs::{ServerIdentity, incus_client_cert};
use super::harness::{Setup, failure, order};
use super::server::IncusServer;
use crate::support::pki::Pki;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_needs_a_trusted_client_certificate_and_the_project() {
    let setup = Setup::new("incus-health").await;
    let healthy = setup.call("health_check", json!({})).await;
    assert!(parse_health(PluginType::FirstPartyProvider, healthy).expect("healthy"));
    parse_done(PluginType::FirstPartyProvider, setup.call("initialize", json!({})).await).expect("initialized");
    let info = setup.server.requests_to("GET", "/1.0");
    assert!(!info.is_empty() && info.iter().all(|request| request.trusted), "{info:?}");
    assert_eq!(setup.server.requests_to("GET", "/1.0/projects/customers").len(), 2);

    // A certificate the server does not know: TLS works, Incus says
    // "untrusted" (and refuses everything else).
    let stranger = incus_client_cert();
    let untrusted = setup.config_with(json!({"cert_pem": stranger.cert, "key_pem": stranger.key}));
    let refused = setup.call_with(&untrusted, "health_check", json!({})).await;
    let error = parse_health(PluginType::FirstPartyProvider, refused).expect_err("untrusted");
    assert!(error.message.contains("does not trust this client certificate (auth: untrusted)"), "{error}");
    let create = failure(setup.call_with(&untrusted, "create_instance", order("i-1", "web")).await);
    assert!(create.contains("Forbidden"), "{create}");
    assert_eq!(setup.server.instance_count(), 0);
    assert!(setup.server.requests().iter().any(|request| !request.trusted));

    // Trusted later (`incus config trust add-certificate`): healthy.
    setup.server.trust(&stranger.cert);
    assert!(
        parse_health(PluginType::FirstPartyProvider, setup.call_with(&untrusted, "health_check", json!({})).await)
            .expect("trusted now")
    );

    // A project the server does not have.
    let elsewhere = setup.config_with(json!({"project": "nope"}));
    let error = failure(setup.call_with(&elsewhere, "health_check", json!({})).await);
    assert!(error.contains("Incus project nope: Project not found"), "{error}");
    let error = failure(setup.call_with(&elsewhere, "initialize", json!({})).await);
    assert!(error.contains("Project not found"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_certificate_must_be_given() {
    let setup = Setup::new("incus-server-cert").await;
    // Without it, the self-signed certificate of incusd is not trusted.
    let unknown = setup.config_with(json!({"server_cert_pem": ""}));
    let error = failure(setup.call_with(&unknown, "health_check", json!({})).await);
    assert!(error.contains("did not answer") && error.contains("invalid peer certificate: UnknownIssuer"), "{error}");
    // Another server's certificate does not do either.
    let other = ServerIdentity::incus_style("incus-host");
    let wrong = setup.config_with(json!({"server_cert_pem": other.cert_pem}));
    let error = failure(setup.call_with(&wrong, "health_check", json!({})).await);
    assert!(error.contains("invalid peer certificate"), "{error}");
    assert!(setup.server.requests().is_empty(), "no request may reach an unverified server");
}

/// The host trusts `server_cert_pem` as an extra root: the URL's host must
/// be named in it. Incus's own certificate names the host name, 127.0.0.1
/// and ::1, so `https://<ip>:8443` or a DNS name other than the host name
/// fails, where the `incus` client (which pins the certificate) works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_host_must_be_named_in_the_server_certificate() {
    let setup = Setup::new("incus-server-name").await;
    let by_other_name = setup.config_with(json!({"api_url": setup.server.url("localhost")}));
    let error = failure(setup.call_with(&by_other_name, "health_check", json!({})).await);
    assert!(error.contains("certificate not valid for name \"localhost\""), "{error}");
    assert!(setup.server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_from_a_ca_and_a_pkcs8_client_key_work() {
    // Incus in PKI mode: server certificate issued by a CA (`server.ca`);
    // the client's key as PKCS#8 (`BEGIN PRIVATE KEY`).
    let pki = Pki::new();
    let server = IncusServer::start(&ServerIdentity::issued(&pki.server), &pki.client.cert).await;
    let mut setup = Setup::new("incus-pki").await;
    setup.config = setup.config_with(json!({
        "api_url": format!("{}/1.0/", server.url("localhost")),
        "cert_pem": pki.client.cert, "key_pem": pki.client.key, "server_cert_pem": pki.ca_pem,
    }));
    assert!(pki.client.key.contains("BEGIN PRIVATE KEY"));
    assert!(setup.client.key.contains("BEGIN EC PRIVATE KEY"), "the default client key is SEC1, as incus makes it");
    assert!(
        parse_health(PluginType::FirstPartyProvider, setup.call("health_check", json!({})).await).expect("healthy")
    );
    // `/1.0/` at the end of api_url is not doubled.
    assert_eq!(server.requests_to("GET", "/1.0").len(), 1);
    assert!(server.requests().iter().all(|request| !request.path.contains("/1.0/1.0")));
}
