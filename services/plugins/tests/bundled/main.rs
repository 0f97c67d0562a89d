//! The bundled plugins in `plugins/`, each against a real server on
//! loopback speaking its protocol: an epay server, webhook and SMTP
//! receivers, an Incus REST server over mTLS.

#[path = "../plugins/support/mod.rs"]
mod support;

mod common;
mod epay_server;
mod gateways;
mod incus;
mod incus_server;
mod notifiers;
