//! `smtp_send(config_json, email_json)`: real SMTP through lettre (rustls).
//!
//! `config_json` (spec, notifier-email):
//! `{"smtp_host", "smtp_port", "from", "username", "password", "encryption"}`
//! - `smtp_port`: string or number; empty → 465 for `ssl`, 587 for
//!   `starttls`, 25 for `none`;
//! - `encryption`: `"ssl"` (implicit TLS, SMTPS), `"starttls"` (plain
//!   connection upgraded with STARTTLS, which the server must offer) or
//!   `"none"` (no TLS); empty → `ssl`, or `starttls` when the port is set
//!   and is not 465;
//! - `username` empty → no authentication;
//! - `from`: `addr@example.com` or `Name <addr@example.com>`.
//!
//! `email_json`: `{"to", "subject", "body", "content_type"}`; `to` may list
//! several addresses separated by `,` or `;`; `content_type` defaults to
//! `text/plain` (e.g. `text/html`).
//!
//! Returns unit. Bad input or a failed delivery fails the script call with
//! a VM error (after logging it with the interface's tags), so a notifier
//! never reports a mail as sent that was not.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use rune::runtime::VmResult;
use serde_json::Value as Json;

use super::codec::parse_lenient;
use super::require_scope;

/// How `smtp_send` connects.
#[derive(Debug, Clone)]
pub struct SmtpOptions {
    /// Time allowed for connecting and for each SMTP command.
    pub timeout: Duration,
    /// Extra trusted roots (PEM) for the servers' certificates, besides the
    /// system's (a private mail relay; tests).
    pub extra_root_certs_pem: Vec<String>,
}

impl Default for SmtpOptions {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(30), extra_root_certs_pem: Vec::new() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encryption {
    Ssl,
    StartTls,
    None,
}

#[derive(Debug)]
struct SmtpConfig {
    host: String,
    port: u16,
    encryption: Encryption,
    from: Mailbox,
    credentials: Option<Credentials>,
}

/// `smtp_send(config_json, email_json)`: `2×String → ()`.
pub fn smtp_send(config_json: &str, email_json: &str) -> VmResult<()> {
    let scope = match require_scope("smtp_send") {
        Ok(scope) => scope,
        Err(reason) => return VmResult::panic(reason),
    };
    let prepared = parse_config(config_json).and_then(|config| {
        let message = build_message(&config, email_json)?;
        let transport = build_transport(&config, &scope.env.smtp)?;
        Ok((config, message, transport))
    });
    let outcome = prepared.and_then(|(config, message, transport)| {
        let server = format!("{}:{}", config.host, config.port);
        match scope.env.block_on(async move { transport.send(message).await }) {
            Ok(Ok(_response)) => Ok(server),
            Ok(Err(error)) => Err(format!("sending through {server} failed: {}", error_chain(&error))),
            Err(reason) => Err(reason),
        }
    });
    match outcome {
        Ok(server) => {
            tracing::info!(interface_id = %scope.interface_id, plugin_id = %scope.plugin_id, %server, "mail sent");
            VmResult::Ok(())
        }
        Err(reason) => {
            tracing::error!(
                interface_id = %scope.interface_id,
                plugin_id = %scope.plugin_id,
                error = %reason,
                "smtp_send failed"
            );
            VmResult::panic(format!("smtp_send failed: {reason}"))
        }
    }
}

fn object(text: &str, what: &str) -> Result<serde_json::Map<String, Json>, String> {
    match parse_lenient(text) {
        Some(Json::Object(map)) => Ok(map),
        _ => Err(format!("{what} must be a JSON object")),
    }
}

/// A field as text: strings trimmed, numbers as written, absent/null → "".
fn text(map: &serde_json::Map<String, Json>, name: &str) -> String {
    match map.get(name) {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(value)) => value.trim().to_string(),
        Some(other) => other.to_string(),
    }
}

fn parse_config(config_json: &str) -> Result<SmtpConfig, String> {
    let map = object(config_json, "config_json")?;
    let host = text(&map, "smtp_host");
    if host.is_empty() {
        return Err("config_json.smtp_host is required".to_string());
    }
    let port_text = text(&map, "smtp_port");
    let port = if port_text.is_empty() {
        None
    } else {
        Some(port_text.parse::<u16>().map_err(|_| format!("config_json.smtp_port {port_text:?} is not a port"))?)
    };
    let encryption = match text(&map, "encryption").to_ascii_lowercase().as_str() {
        "ssl" | "tls" | "smtps" => Encryption::Ssl,
        "starttls" => Encryption::StartTls,
        "none" => Encryption::None,
        "" => match port {
            None | Some(465) => Encryption::Ssl,
            Some(_) => Encryption::StartTls,
        },
        other => return Err(format!("config_json.encryption {other:?} is not one of ssl, starttls, none")),
    };
    let port = port.unwrap_or(match encryption {
        Encryption::Ssl => 465,
        Encryption::StartTls => 587,
        Encryption::None => 25,
    });
    let from_text = text(&map, "from");
    let from = from_text.parse::<Mailbox>().map_err(|error| format!("config_json.from {from_text:?}: {error}"))?;
    let username = text(&map, "username");
    // The password is taken as given: spaces may be part of it.
    let password = match map.get("password") {
        Some(Json::String(password)) => password.clone(),
        None | Some(Json::Null) => String::new(),
        Some(other) => other.to_string(),
    };
    let credentials = (!username.is_empty()).then(|| Credentials::new(username, password));
    Ok(SmtpConfig { host, port, encryption, from, credentials })
}

fn build_message(config: &SmtpConfig, email_json: &str) -> Result<Message, String> {
    let map = object(email_json, "email_json")?;
    let recipients: Vec<String> = text(&map, "to")
        .split([',', ';'])
        .map(str::trim)
        .filter(|address| !address.is_empty())
        .map(str::to_string)
        .collect();
    if recipients.is_empty() {
        return Err("email_json.to is required".to_string());
    }
    let mut builder = Message::builder().from(config.from.clone()).subject(text(&map, "subject"));
    for recipient in recipients {
        let mailbox = recipient.parse::<Mailbox>().map_err(|error| format!("email_json.to {recipient:?}: {error}"))?;
        builder = builder.to(mailbox);
    }
    let content_type = match text(&map, "content_type").as_str() {
        "" => ContentType::TEXT_PLAIN,
        "text/plain" => ContentType::TEXT_PLAIN,
        "text/html" => ContentType::TEXT_HTML,
        other => ContentType::parse(other).map_err(|_| format!("email_json.content_type {other:?} is not valid"))?,
    };
    let body = match map.get("body") {
        Some(Json::String(body)) => body.clone(),
        None | Some(Json::Null) => String::new(),
        Some(other) => other.to_string(),
    };
    builder.header(content_type).body(body).map_err(|error| format!("cannot build the message: {error}"))
}

fn build_transport(config: &SmtpConfig, options: &SmtpOptions) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls = match config.encryption {
        Encryption::None => Tls::None,
        encryption => {
            let mut parameters = TlsParameters::builder(config.host.clone());
            for pem in &options.extra_root_certs_pem {
                let certificate = Certificate::from_pem(pem.as_bytes())
                    .map_err(|error| format!("bad extra root certificate: {error}"))?;
                parameters = parameters.add_root_certificate(certificate);
            }
            let parameters =
                parameters.build().map_err(|error| format!("TLS setup failed: {}", error_chain(&error)))?;
            if encryption == Encryption::Ssl { Tls::Wrapper(parameters) } else { Tls::Required(parameters) }
        }
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
        .port(config.port)
        .tls(tls)
        .timeout(Some(options.timeout));
    if let Some(credentials) = &config.credentials {
        builder = builder.credentials(credentials.clone());
    }
    Ok(builder.build())
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_follows_the_spec_convention() {
        let config = parse_config(
            r#"{"smtp_host":"smtp.example.com","smtp_port":"465","from":"RustBill <noreply@example.com>",
                "username":"user","password":"pass","encryption":"ssl"}"#,
        )
        .unwrap();
        assert_eq!((config.host.as_str(), config.port, config.encryption), ("smtp.example.com", 465, Encryption::Ssl));
        assert_eq!(config.from.email.to_string(), "noreply@example.com");
        assert!(config.credentials.is_some());

        let starttls = parse_config(r#"{"smtp_host":"h","from":"a@b.c","encryption":"starttls"}"#).unwrap();
        assert_eq!((starttls.port, starttls.encryption), (587, Encryption::StartTls));
        assert!(starttls.credentials.is_none());
        let numeric = parse_config(r#"{"smtp_host":"h","smtp_port":2525,"from":"a@b.c","encryption":""}"#).unwrap();
        assert_eq!((numeric.port, numeric.encryption), (2525, Encryption::StartTls));
        let none = parse_config(r#"{"smtp_host":"h","from":"a@b.c","encryption":"none"}"#).unwrap();
        assert_eq!((none.port, none.encryption), (25, Encryption::None));

        for bad in [
            r#"{"from":"a@b.c"}"#,
            r#"{"smtp_host":"h","from":"a@b.c","encryption":"ssl3"}"#,
            r#"{"smtp_host":"h","from":"not an address"}"#,
            r#"{"smtp_host":"h","smtp_port":"x","from":"a@b.c"}"#,
            "nope",
        ] {
            assert!(parse_config(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_need_a_recipient() {
        let config = parse_config(r#"{"smtp_host":"h","from":"a@b.c","encryption":"none"}"#).unwrap();
        assert!(build_message(&config, r#"{"subject":"s","body":"b"}"#).is_err());
        let message = build_message(&config, r#"{"to":"x@y.z; w@y.z","subject":"s","body":"b"}"#).unwrap();
        assert_eq!(message.envelope().to().len(), 2);
        let html = build_message(&config, r#"{"to":"x@y.z","body":"<b>hi</b>","content_type":"text/html"}"#).unwrap();
        assert!(String::from_utf8_lossy(&html.formatted()).contains("text/html"));
    }
}
