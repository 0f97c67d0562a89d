//! A throwaway PKI made at test time: a CA, a server certificate for
//! localhost/127.0.0.1, a client certificate, and a rogue CA with its own
//! client certificate.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

/// A certificate with its key, PEM.
#[derive(Debug, Clone)]
pub struct Pem {
    pub cert: String,
    pub key: String,
}

impl Pem {
    /// `cert_json` for `http_request_with_cert`, built by serde (valid JSON).
    pub fn cert_json(&self, ca: Option<&str>) -> String {
        let mut value = serde_json::json!({ "cert": self.cert, "key": self.key });
        if let Some(ca) = ca {
            value["ca"] = serde_json::Value::String(ca.to_string());
        }
        value.to_string()
    }
}

pub struct Pki {
    pub ca_pem: String,
    ca_der: CertificateDer<'static>,
    pub server: Pem,
    server_der: CertificateDer<'static>,
    server_key_der: Vec<u8>,
    pub client: Pem,
    pub rogue_client: Pem,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn leaf(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(names.iter().map(|name| name.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names.first().copied().unwrap_or("client"));
    params.extended_key_usages = vec![usage];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert, key)
}

impl Pki {
    pub fn new() -> Self {
        let authority = ca("RustBill Test CA");
        let (server_cert, server_key) =
            leaf(&authority, &["localhost", "127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
        let (client_cert, client_key) = leaf(&authority, &["plugin-client"], ExtendedKeyUsagePurpose::ClientAuth);
        let rogue = ca("Rogue CA");
        let (rogue_cert, rogue_key) = leaf(&rogue, &["plugin-client"], ExtendedKeyUsagePurpose::ClientAuth);
        Self {
            ca_pem: authority.pem(),
            ca_der: authority.der().clone(),
            server: Pem { cert: server_cert.pem(), key: server_key.serialize_pem() },
            server_der: server_cert.der().clone(),
            server_key_der: server_key.serialize_der(),
            client: Pem { cert: client_cert.pem(), key: client_key.serialize_pem() },
            rogue_client: Pem { cert: rogue_cert.pem(), key: rogue_key.serialize_pem() },
        }
    }

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn server_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key_der.clone()))
    }

    /// A TLS acceptor that requires a client certificate issued by the CA.
    pub fn mtls_acceptor(&self) -> TlsAcceptor {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der.clone()).unwrap();
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Self::provider()).build().unwrap();
        let config = ServerConfig::builder_with_provider(Self::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![self.server_der.clone()], self.server_key())
            .unwrap();
        TlsAcceptor::from(Arc::new(config))
    }

    /// A TLS acceptor without client authentication (SMTP servers).
    pub fn server_acceptor(&self) -> TlsAcceptor {
        let config = ServerConfig::builder_with_provider(Self::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![self.server_der.clone()], self.server_key())
            .unwrap();
        TlsAcceptor::from(Arc::new(config))
    }
}
