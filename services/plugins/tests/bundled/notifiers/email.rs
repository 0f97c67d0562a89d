//! notifier-email against a real SMTP server on loopback (plain, STARTTLS,
//! implicit TLS): what arrives over SMTP is decoded and compared.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustbill_plugins::engine::{
    EngineError, EventFilter, PluginType, parse_config_schema, parse_done, parse_health, parse_templates,
};
use rustbill_plugins::host::{HostEnv, SmtpOptions};
use serde_json::{Value as Json, json};

use super::{call, engine, engine_with, is_bilingual, script, try_call};
use crate::support::pki::Pki;
use crate::support::smtp_server::{Received, SmtpMode, SmtpServer};

const FILE: &str = "notifier-email.rn";
const SUBJECT: &str = "订单已支付 / Order paid — RustBill notification with a rather long subject line to fold";
const BODY: &str = "您好,订单 O-1 已支付。\nHello, order O-1 is paid.\n";

fn event(recipient: &str) -> Json {
    json!({
        "event_id": "evt-1", "event_type": "order.paid", "title": SUBJECT, "body": BODY,
        "recipient": recipient, "data": {"order_id": "O-1"},
    })
}

fn smtp_config(server: &SmtpServer, encryption: &str) -> Json {
    json!({
        "smtp_host": "localhost", "smtp_port": server.port(), "from": "RustBill <billing@example.com>",
        "username": "billing", "password": "smtp pass", "encryption": encryption,
    })
}

/// An engine trusting the test CA for SMTP over TLS.
fn tls_engine(pki: &Pki) -> rustbill_plugins::engine::Engine {
    engine_with(
        HostEnv::new(tokio::runtime::Handle::current(), None)
            .with_smtp(SmtpOptions { extra_root_certs_pem: vec![pki.ca_pem.clone()], ..SmtpOptions::default() }),
    )
}

/// The header section of a message, folded lines joined (RFC 5322 §2.2.3).
fn header(mail: &Received, name: &str) -> Option<String> {
    let head = mail.data.split("\r\n\r\n").next().unwrap_or_default();
    let mut unfolded: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        match unfolded.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
            _ => unfolded.push(line.to_string()),
        }
    }
    let prefix = format!("{}:", name.to_ascii_lowercase());
    unfolded
        .iter()
        .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
        .map(|line| line[prefix.len()..].trim().to_string())
}

/// `=XX` escapes (and `_` as space in encoded words).
fn decode_q(text: &str, underscore_is_space: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => out.push(byte),
                    Err(_) => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b'_' if underscore_is_space => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// An RFC 2047 header value (`=?utf-8?b?…?=` / `?q?` words) as text.
fn decode_words(raw: &str) -> String {
    let mut text = String::new();
    let mut previous_encoded = false;
    for token in raw.split([' ', '\t']).filter(|token| !token.is_empty()) {
        let parts: Vec<&str> = token.split('?').collect();
        let encoded = parts.len() == 5 && parts[0] == "=" && parts[4] == "=" && parts[1].eq_ignore_ascii_case("utf-8");
        if encoded {
            let bytes = match parts[2].to_ascii_lowercase().as_str() {
                "b" => STANDARD.decode(parts[3]).expect("base64 word"),
                "q" => decode_q(parts[3], true),
                other => panic!("unknown encoding {other} in {raw}"),
            };
            // White space between two encoded words is not part of the text.
            if !text.is_empty() && !previous_encoded {
                text.push(' ');
            }
            text.push_str(&String::from_utf8(bytes).expect("utf-8 word"));
        } else {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(token);
        }
        previous_encoded = encoded;
    }
    text
}

/// The body as sent, after its Content-Transfer-Encoding, with CRLF as LF.
fn decoded_body(mail: &Received) -> String {
    let raw = mail.body();
    let encoding = header(mail, "content-transfer-encoding").unwrap_or_default().to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "base64" => {
            let compact: String = raw.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            STANDARD.decode(compact).expect("base64 body")
        }
        "quoted-printable" => decode_q(&raw.replace("=\r\n", ""), false),
        _ => raw.into_bytes(),
    };
    String::from_utf8(bytes).expect("utf-8 body").replace("\r\n", "\n")
}

fn assert_content_type(mail: &Received, expected: &str) {
    let content_type = header(mail, "content-type").expect("a Content-Type");
    let media_type = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    assert_eq!(media_type, expected, "{content_type}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_passes_the_notifier_contract() {
    let engine = engine();
    let info = engine.check(PluginType::Notifier, &super::bundled(FILE)).expect("notifier contract");
    assert_eq!(info.version.as_deref(), Some("1.0.0"));

    let mail = script("mail-contract", FILE);
    let schema = parse_config_schema(call(&engine, &mail, "config_schema", &json!({}), json!({})).await).unwrap();
    let properties = &schema["properties"];
    for field in ["smtp_host", "smtp_port", "from", "username", "password", "encryption"] {
        assert!(properties.get(field).is_some(), "schema lacks {field}");
    }
    assert_eq!(properties["password"]["format"], "password");
    assert_eq!(properties["encryption"]["enum"], json!(["ssl", "starttls", "none"]));
    assert_eq!(schema["required"], json!(["smtp_host", "from"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_mail_reaches_the_recipient() {
    let pki = Pki::new();
    let server = SmtpServer::start(SmtpMode::StartTls(pki.server_acceptor())).await;
    let engine = tls_engine(&pki);
    let mail = script("mail-starttls", FILE);
    let config = smtp_config(&server, "starttls");

    parse_done(PluginType::Notifier, call(&engine, &mail, "send", &config, event("alice@example.com")).await)
        .expect("sent");
    let received = server.received();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert!(message.tls, "upgraded with STARTTLS before the mail");
    assert_eq!(message.auth.as_deref(), Some("billing:smtp pass"), "authenticated with the configured account");
    assert_eq!(message.mail_from, "billing@example.com");
    assert_eq!(message.rcpt_to, ["alice@example.com"]);
    assert_eq!(decode_words(&header(message, "subject").expect("Subject")), SUBJECT);
    assert!(header(message, "to").expect("To").contains("alice@example.com"));
    assert!(header(message, "from").expect("From").contains("billing@example.com"));
    assert_content_type(message, "text/plain");
    assert_eq!(decoded_body(message).trim_end(), BODY.trim_end());

    // Empty encryption with a port other than 465: the host picks STARTTLS.
    let mut default = config.clone();
    default["encryption"] = json!("");
    parse_done(PluginType::Notifier, call(&engine, &mail, "send", &default, event("bob@example.com")).await)
        .expect("sent with the default encryption");
    let last = server.received().pop().unwrap();
    assert_eq!(server.received().len(), 2);
    assert!(last.tls);
    assert_eq!(last.rcpt_to, ["bob@example.com"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_with_ssl() {
    let pki = Pki::new();
    let server = SmtpServer::start(SmtpMode::ImplicitTls(pki.server_acceptor())).await;
    let engine = tls_engine(&pki);
    let mail = script("mail-ssl", FILE);

    let config = smtp_config(&server, "ssl");
    parse_done(PluginType::Notifier, call(&engine, &mail, "send", &config, event("carol@example.com")).await)
        .expect("sent");
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].tls);
    assert_eq!(received[0].rcpt_to, ["carol@example.com"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_relay_html_lists_and_default_recipient() {
    let server = SmtpServer::start(SmtpMode::Plain).await;
    let engine = engine();
    let mail = script("mail-plain", FILE);
    let config = json!({
        "smtp_host": "127.0.0.1", "smtp_port": server.port().to_string(), "from": "billing@example.com",
        "encryption": "none", "html": "true", "default_recipient": "ops@example.com",
    });

    // HTML body, no account configured → no AUTH, no TLS.
    let mut html = event("dave@example.com");
    html["body"] = json!("<p>订单 <b>O-1</b> 已支付 / Order <b>O-1</b> is paid</p>");
    parse_done(PluginType::Notifier, call(&engine, &mail, "send", &config, html).await).expect("sent");
    let first = server.received().pop().unwrap();
    assert!(!first.tls);
    assert_eq!(first.auth, None);
    assert_eq!(first.rcpt_to, ["dave@example.com"]);
    assert_content_type(&first, "text/html");
    assert_eq!(decoded_body(&first).trim_end(), "<p>订单 <b>O-1</b> 已支付 / Order <b>O-1</b> is paid</p>");

    // Several recipients, `,` or `;` separated, display names allowed.
    let list = event("erin@example.com; Frank <frank@example.org>, grace@example.net");
    parse_done(PluginType::Notifier, call(&engine, &mail, "send", &config, list).await).expect("sent");
    let second = server.received().pop().unwrap();
    assert_eq!(second.rcpt_to, ["erin@example.com", "frank@example.org", "grace@example.net"]);

    // No recipient: the channel's default recipient.
    parse_done(PluginType::Notifier, call(&engine, &mail, "send", &config, event("  ")).await).expect("sent");
    let third = server.received().pop().unwrap();
    assert_eq!(third.rcpt_to, ["ops@example.com"]);
    assert_eq!(server.received().len(), 3);

    // html = "false" → text/plain.
    let mut plain = config.clone();
    plain["html"] = json!("false");
    parse_done(PluginType::Notifier, call(&engine, &mail, "send", &plain, event("heidi@example.com")).await)
        .expect("sent");
    assert_content_type(&server.received().pop().unwrap(), "text/plain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_recipients_and_settings_fail_before_any_mail() {
    let server = SmtpServer::start(SmtpMode::Plain).await;
    let engine = engine();
    let mail = script("mail-refused", FILE);
    let config = json!({
        "smtp_host": "127.0.0.1", "smtp_port": server.port(), "from": "billing@example.com", "encryption": "none",
    });

    for recipient in [
        "",
        "   ",
        "not-an-address",
        "a@b@c.example",
        "alice@localhost",
        "al ice@example.com",
        "@example.com",
        "ok@example.com, broken",
    ] {
        let raw = call(&engine, &mail, "send", &config, event(recipient)).await;
        let failure = parse_done(PluginType::Notifier, raw).expect_err(recipient);
        assert!(
            failure.message.contains("recipient") || failure.message.contains("address"),
            "{recipient:?}: {}",
            failure.message
        );
    }
    let empty = parse_done(PluginType::Notifier, call(&engine, &mail, "send", &config, event("")).await).unwrap_err();
    assert!(empty.message.contains("no recipient"), "{}", empty.message);

    for (field, value) in [
        ("smtp_host", json!("")),
        ("from", json!("")),
        ("from", json!("billing")),
        ("smtp_port", json!("smtp")),
        ("smtp_port", json!(70000)),
        ("encryption", json!("tls1.3")),
    ] {
        let mut bad = config.clone();
        bad[field] = value.clone();
        let raw = call(&engine, &mail, "send", &bad, event("alice@example.com")).await;
        let failure = parse_done(PluginType::Notifier, raw).expect_err(field);
        assert!(failure.message.contains(field), "{field}={value}: {}", failure.message);
        let health = call(&engine, &mail, "health_check", &bad, json!({})).await;
        assert!(parse_health(PluginType::Notifier, health).is_err(), "health_check accepted {field}={value}");
    }
    assert!(server.received().is_empty(), "nothing was mailed");

    let health = call(&engine, &mail, "health_check", &config, json!({})).await;
    assert_eq!(parse_health(PluginType::Notifier, health), Ok(true));
    assert!(server.received().is_empty(), "a health check sends no mail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_fails_the_call() {
    let engine = engine();
    let mail = script("mail-down", FILE);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = json!({
        "smtp_host": "127.0.0.1", "smtp_port": closed.local_addr().unwrap().port(),
        "from": "billing@example.com", "encryption": "none",
    });
    drop(closed);
    match try_call(&engine, &mail, "send", &config, event("alice@example.com")).await {
        Err(EngineError::Panicked(message) | EngineError::Runtime(message)) => {
            assert!(message.contains("smtp_send"), "{message}")
        }
        other => panic!("expected a failed call, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supported_events_follow_the_config_and_templates_are_bilingual() {
    let engine = engine();
    let mail = script("mail-events", FILE);

    let listed = json!({ "events": "order.paid,identity.verification_code_issued" });
    let filter = EventFilter::from_return(call(&engine, &mail, "supported_events", &listed, json!({})).await).unwrap();
    assert_eq!(filter, EventFilter::Only(vec!["order.paid".into(), "identity.verification_code_issued".into()]));
    let all = EventFilter::from_return(call(&engine, &mail, "supported_events", &json!({}), json!({})).await).unwrap();
    assert_eq!(all, EventFilter::All);

    let templates = parse_templates(call(&engine, &mail, "templates", &json!({}), json!({})).await).unwrap();
    for event_type in
        ["order.created", "order.paid", "payment.succeeded", "instance.ready", "identity.verification_code_issued"]
    {
        let template = templates.get(event_type).unwrap_or_else(|| panic!("no template for {event_type}"));
        let title = template["title"].as_str().expect("title");
        let body = template["body"].as_str().expect("body");
        assert!(is_bilingual(title) && is_bilingual(body), "{event_type}: {title} / {body}");
    }
    assert!(templates["identity.verification_code_issued"]["body"].as_str().unwrap().contains("{code}"));
}
