//! Certificates shaped like the ones Incus makes (`shared/tls/cert.go`,
//! `GenerateMemCert`): self-signed, ECDSA P-384, `CA:FALSE`, one extended
//! key usage, the key as an `EC PRIVATE KEY` (SEC1) PEM. `incusd` makes a
//! server one on first start naming the host name, `127.0.0.1` and `::1`;
//! `incus remote add` makes a client one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P384_SHA384, SanType,
};
use sha2::{Digest, Sha256};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::support::pki::Pem;

/// What a TLS server presents: its certificate and key.
pub struct ServerIdentity {
    pub cert_pem: String,
    pub key_pem: String,
}

impl ServerIdentity {
    /// The certificate `incusd` generates for a host called `hostname`.
    pub fn incus_style(hostname: &str) -> Self {
        let names = vec![
            SanType::DnsName(hostname.try_into().unwrap()),
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ];
        let pem = self_signed(&format!("root@{hostname}"), names, ExtendedKeyUsagePurpose::ServerAuth);
        Self { cert_pem: pem.cert, key_pem: pem.key }
    }

    /// A certificate issued by a CA (Incus in PKI mode, `server.ca`).
    pub fn issued(pem: &Pem) -> Self {
        Self { cert_pem: pem.cert.clone(), key_pem: pem.key.clone() }
    }

    pub fn cert_der(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).expect("server certificate PEM")
    }

    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).expect("server key PEM")
    }
}

/// The client certificate `incus remote add` generates
/// (`~/.config/incus/client.crt` and `client.key`).
pub fn incus_client_cert() -> Pem {
    self_signed("admin@billing", Vec::new(), ExtendedKeyUsagePurpose::ClientAuth)
}

fn self_signed(common_name: &str, names: Vec<SanType>, usage: ExtendedKeyUsagePurpose) -> Pem {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
    let mut params = CertificateParams::default();
    params.subject_alt_names = names;
    let mut subject = DistinguishedName::new();
    subject.push(DnType::OrganizationName, "Linux Containers");
    subject.push(DnType::CommonName, common_name);
    params.distinguished_name = subject;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![usage];
    let cert = params.self_signed(&key).unwrap();
    Pem { cert: cert.pem(), key: sec1_pem(&key.serialize_der()) }
}

/// The SEC1 `ECPrivateKey` inside a PKCS#8 `PrivateKeyInfo`, as Go's
/// `x509.MarshalECPrivateKey` writes it (`EC PRIVATE KEY`).
fn sec1_pem(pkcs8: &[u8]) -> String {
    let (outer, _) = der_element(pkcs8, 0x30);
    let (_version, rest) = der_element(outer, 0x02);
    let (_algorithm, rest) = der_element(rest, 0x30);
    let (private_key, _) = der_element(rest, 0x04);
    let der = PrivateKeyDer::Sec1(private_key.to_vec().into());
    let body = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der.secret_der());
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|chunk| std::str::from_utf8(chunk).unwrap()).collect::<Vec<_>>();
    format!("-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----\n", lines.join("\n"))
}

/// (content, what follows) of the DER element with `tag` at the start.
fn der_element(input: &[u8], tag: u8) -> (&[u8], &[u8]) {
    assert_eq!(input[0], tag, "unexpected DER tag");
    let (length, header) = match input[1] {
        short if short < 0x80 => (short as usize, 2),
        long => {
            let count = (long & 0x7f) as usize;
            let length = input[2..2 + count].iter().fold(0usize, |length, byte| (length << 8) | *byte as usize);
            (length, 2 + count)
        }
    };
    (&input[header..header + length], &input[header + length..])
}

/// Incus's certificate fingerprint: SHA-256 of the DER, lower-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

pub fn fingerprint_of_pem(cert_pem: &str) -> String {
    fingerprint(CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("certificate PEM").as_ref())
}
