//! The `rustbill_host` functions, called the way scripts call them (a Rune
//! script run on a blocking thread inside `with_scope`), against real
//! servers on loopback: HTTP, HTTPS requiring client certificates, SMTP
//! (plain, STARTTLS, implicit TLS) and PostgreSQL.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustbill_plugins::host::{HostEnv, MIGRATOR, SmtpOptions};
use rustbill_plugins::http::{HttpPolicy, OutboundHttp};
use rustbill_shared::config::DbConfig;
use rustbill_shared::testkit::TestDb;
use serde_json::{Value as Json, json};
use support::http_server::{HttpServer, Reply, responder};
use support::pki::Pki;
use support::script::{Drive, run, run_with};
use support::smtp_server::{SmtpMode, SmtpServer};

/// Short backoffs so failing calls finish quickly.
fn fast_policy() -> HttpPolicy {
    HttpPolicy {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        backoff_initial: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        ..HttpPolicy::default()
    }
}

fn env_with(policy: HttpPolicy, smtp: SmtpOptions, pool: Option<sqlx::PgPool>) -> Arc<HostEnv> {
    Arc::new(
        HostEnv::new(tokio::runtime::Handle::current(), pool)
            .with_http(Arc::new(OutboundHttp::new(policy)))
            .with_smtp(smtp),
    )
}

fn env() -> Arc<HostEnv> {
    env_with(fast_policy(), SmtpOptions::default(), None)
}

/// A loopback port nothing listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

fn json(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
}

// ── JSON, MD5, logs ──────────────────────────────────────────────────────

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_get_follows_the_path_syntax() {
    let raw = r#"{"key":"top","a":{"b":[{"c":"deep"},{"c":"second"}]},"status":200,"price":1.5,"ok":true,
        "obj":{"k":"v"},"arr":[1,2],"nothing":null,"empty":"",
        "meta":{"state":{"network":{"eth0":{"addresses":[{"address":"10.0.0.2"}]}}}}}"#;
    let source = r#"
        pub fn main(raw) {
            [
                rustbill_host::json_get(raw, "key"),
                rustbill_host::json_get(raw, "a.b[0].c"),
                rustbill_host::json_get(raw, "a.b[1].c"),
                rustbill_host::json_get(raw, "status"),
                rustbill_host::json_get(raw, "price"),
                rustbill_host::json_get(raw, "ok"),
                rustbill_host::json_get(raw, "obj"),
                rustbill_host::json_get(raw, "arr"),
                rustbill_host::json_get(raw, "arr[1]"),
                rustbill_host::json_get(raw, "meta.state.network.eth0.addresses[0].address"),
                rustbill_host::json_get(raw, "missing"),
                rustbill_host::json_get(raw, "a.b[5].c"),
                rustbill_host::json_get(raw, "key.deeper"),
                rustbill_host::json_get(raw, "nothing"),
                rustbill_host::json_get(raw, "empty"),
                rustbill_host::json_get(raw, "a..b"),
                rustbill_host::json_get("not json", "key"),
                rustbill_host::json_get("", "key"),
            ]
        }
    "#;
    let outcome = run(&env(), "iface-json", source, &[raw]).await;
    let values: Vec<String> = serde_json::from_str(outcome.value()).unwrap();
    assert_eq!(
        values,
        [
            "top",
            "deep",
            "second",
            "200",
            "1.5",
            "true",
            r#"{"k":"v"}"#,
            "[1,2]",
            "2",
            "10.0.0.2",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            ""
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_array_len_counts_arrays_only() {
    let raw = r#"{"products":[{"name":"a"},{"name":"b"},{"name":"c"}],"nested":{"list":[]},"text":"abc"}"#;
    let source = r#"
        pub fn main(raw) {
            [
                rustbill_host::json_array_len(raw, "products"),
                rustbill_host::json_array_len(raw, "nested.list"),
                rustbill_host::json_array_len(raw, "text"),
                rustbill_host::json_array_len(raw, "missing"),
                rustbill_host::json_array_len("[1,2]", ""),
                rustbill_host::json_array_len("not json", "products"),
            ]
        }
    "#;
    let outcome = run(&env(), "iface-json", source, &[raw]).await;
    assert_eq!(json(outcome.value()), json!([3, 0, 0, 0, 2, 0]));

    // The loop the spec's provider scripts write.
    let source = r#"
        pub fn main(raw) {
            let count = rustbill_host::json_array_len(raw, "products");
            let names = "";
            let i = 0;
            while i < count {
                names = `${names}${rustbill_host::json_get(raw, `products[${i}].name`)}`;
                i = i + 1;
            }
            names
        }
    "#;
    assert_eq!(run(&env(), "iface-json", source, &[raw]).await.value(), "abc");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_stringify_serialises_rune_values() {
    let source = r#"
        pub fn main() {
            rustbill_host::json_stringify(#{
                gateway_payment_id: "P-1",
                payment_url: Some("https://pay.example.com/P-1"),
                qr_code: None,
                amount: 12,
                rate: 0.5,
                paid: true,
                items: ["a", 2, #{k: "v"}],
                nothing: (),
            })
        }
    "#;
    let outcome = run(&env(), "iface-json", source, &[]).await;
    assert_eq!(
        json(outcome.value()),
        json!({
            "gateway_payment_id": "P-1",
            "payment_url": "https://pay.example.com/P-1",
            "qr_code": null,
            "amount": 12,
            "rate": 0.5,
            "paid": true,
            "items": ["a", 2, {"k": "v"}],
            "nothing": null,
        })
    );

    // Round trip through json_get, as the email notifier example does, and
    // strings that need escaping.
    let source = r#"
        pub fn main() {
            let text = rustbill_host::json_stringify(#{subject: "say \"hi\"\nnow", n: 7});
            [text, rustbill_host::json_get(text, "subject"), rustbill_host::json_get(text, "n"),
             rustbill_host::json_stringify("plain"), rustbill_host::json_stringify([1, 2])]
        }
    "#;
    let values: Vec<String> = serde_json::from_str(run(&env(), "iface-json", source, &[]).await.value()).unwrap();
    assert_eq!(json(&values[0]), json!({"subject": "say \"hi\"\nnow", "n": 7}));
    assert_eq!(values[1..], ["say \"hi\"\nnow", "7", "\"plain\"", "[1,2]"]);

    // A value JSON cannot hold gives an ERROR string, not a failed call.
    let source = r#"
        struct Point { x, y }
        pub fn main() { rustbill_host::json_stringify(Point { x: 1, y: 2 }) }
    "#;
    let outcome = run(&env(), "iface-json", source, &[]).await;
    assert!(outcome.value().starts_with("ERROR: json_stringify:"), "{}", outcome.value());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn md5_hex_matches_known_vectors() {
    let source = r#"
        pub fn main() {
            let pid = "1001";
            let payment_id = "P123";
            let key = "sk-xxxx";
            let params = `pid=${pid}&type=alipay&out_trade_no=${payment_id}`;
            [
                rustbill_host::md5_hex(""),
                rustbill_host::md5_hex("abc"),
                rustbill_host::md5_hex("The quick brown fox jumps over the lazy dog"),
                rustbill_host::md5_hex("中文"),
                rustbill_host::md5_hex(`${params}${key}`),
            ]
        }
    "#;
    let values: Vec<String> = serde_json::from_str(run(&env(), "iface-md5", source, &[]).await.value()).unwrap();
    assert_eq!(
        values,
        [
            "d41d8cd98f00b204e9800998ecf8427e",
            "900150983cd24fb0d6963f7d28e17f72",
            "9e107d9d372bb6826bd81d3542a419d6",
            "a7bac2239fcdcb3a067903d8077c4a07",
            "212616abfcde3723907c30fac266235c",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_tagged_with_interface_and_plugin() {
    let source = r#"
        pub fn main() {
            let url = "https://hooks.example.com";
            rustbill_host::log_info(`Webhook sent to ${url}`);
            rustbill_host::log_warn("careful");
            rustbill_host::log_error("Payment signature mismatch for P-9");
        }
    "#;
    let outcome = run(&env(), "iface-logs-42", source, &[]).await;
    assert_eq!(outcome.value(), "()");
    let lines: Vec<&str> = outcome.logs.lines().filter(|line| line.contains("rustbill_plugins::script")).collect();
    assert_eq!(lines.len(), 3, "logs:\n{}", outcome.logs);
    for (line, (level, message)) in lines.iter().zip([
        ("INFO", "Webhook sent to https://hooks.example.com"),
        ("WARN", "careful"),
        ("ERROR", "Payment signature mismatch for P-9"),
    ]) {
        assert!(line.contains(level), "{line}");
        assert!(line.contains(message), "{line}");
        assert!(line.contains("interface_id=iface-logs-42"), "{line}");
        assert!(line.contains("plugin_id=test-plugin"), "{line}");
    }
}

// ── HTTP ─────────────────────────────────────────────────────────────────

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_functions_send_what_scripts_ask() {
    let server = HttpServer::start(responder(|request, _| match request.target.as_str() {
        "/get?x=1" => Reply::new(200, "got it").header("content-type", "text/plain"),
        "/bytes" => Reply::new(200, vec![0u8, 159, 146, 150, 255]).header("content-type", "application/grpc-web+proto"),
        "/bytes-error" => Reply::new(200, "").header("grpc-status", "5").header("grpc-message", "not found"),
        _ => Reply::new(201, format!("echo:{}", request.body_text())),
    }))
    .await;
    let env = env();

    let source = r#"pub fn main(url) { rustbill_host::http_get(url) }"#;
    assert_eq!(run(&env, "iface-http", source, &[&server.url("/get?x=1")]).await.value(), "got it");

    let source = r#"
        pub fn main(url) {
            let body = `app_id=A1&out_trade_no=P-1&money=9.90`;
            rustbill_host::http_post(url, body, "application/x-www-form-urlencoded")
        }
    "#;
    assert_eq!(
        run(&env, "iface-http", source, &[&server.url("/api/create")]).await.value(),
        "echo:app_id=A1&out_trade_no=P-1&money=9.90"
    );

    let source = r#"
        pub fn main(url) {
            let api_token = "tok-123";
            let headers = `{"Authorization":"Bearer ${api_token}","X-Custom":"v1"}`;
            rustbill_host::http_post_with_headers(url, "{}", "application/json", headers)
        }
    "#;
    assert_eq!(run(&env, "iface-http", source, &[&server.url("/products")]).await.value(), "echo:{}");

    let sent = STANDARD.encode([0u8, 0, 0, 0, 2, 8, 1, 255]);
    let source = r#"pub fn main(url, body) { rustbill_host::http_post_bytes(url, body) }"#;
    let returned = run(&env, "iface-http", source, &[&server.url("/bytes"), &sent]).await;
    assert_eq!(STANDARD.decode(returned.value()).unwrap(), vec![0u8, 159, 146, 150, 255]);
    let grpc_error = run(&env, "iface-http", source, &[&server.url("/bytes-error"), &sent]).await;
    assert_eq!(grpc_error.value(), "ERROR: grpc-status 5: not found");
    let bad_body = run(&env, "iface-http", source, &[&server.url("/bytes"), "***"]).await;
    assert!(bad_body.value().starts_with("ERROR: http_post_bytes: body must be base64"), "{}", bad_body.value());

    let requests = server.requests();
    assert_eq!(requests.len(), 5, "the bad base64 body was never sent: {requests:#?}");
    let get = &requests[0];
    assert_eq!((get.method.as_str(), get.target.as_str()), ("GET", "/get?x=1"));
    assert!(get.body.is_empty());
    assert!(get.header("user-agent").unwrap().starts_with("rustbill-plugins/"));

    let post = &requests[1];
    assert_eq!((post.method.as_str(), post.target.as_str()), ("POST", "/api/create"));
    assert_eq!(post.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(post.body_text(), "app_id=A1&out_trade_no=P-1&money=9.90");

    let with_headers = &requests[2];
    assert_eq!((with_headers.method.as_str(), with_headers.target.as_str()), ("POST", "/products"));
    assert_eq!(with_headers.header("content-type"), Some("application/json"));
    assert_eq!(with_headers.header("authorization"), Some("Bearer tok-123"));
    assert_eq!(with_headers.header("x-custom"), Some("v1"));
    assert_eq!(with_headers.body_text(), "{}");

    let bytes = &requests[3];
    assert_eq!((bytes.method.as_str(), bytes.target.as_str()), ("POST", "/bytes"));
    assert_eq!(bytes.header("content-type"), Some("application/grpc-web+proto"));
    assert_eq!(bytes.header("x-grpc-web"), Some("1"));
    assert_eq!(bytes.body, vec![0u8, 0, 0, 0, 2, 8, 1, 255]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_errors_come_back_as_error_strings() {
    let server = HttpServer::start(responder(|request, _| match request.target.as_str() {
        "/missing" => Reply::new(404, "no such thing"),
        "/empty" => Reply::new(403, ""),
        _ => Reply::new(200, "fine"),
    }))
    .await;
    let env = env();
    let get = r#"pub fn main(url) { rustbill_host::http_get(url) }"#;

    assert_eq!(
        run(&env, "iface-err", get, &[&server.url("/missing")]).await.value(),
        "ERROR: HTTP 404 Not Found: no such thing"
    );
    assert_eq!(run(&env, "iface-err", get, &[&server.url("/empty")]).await.value(), "ERROR: HTTP 403 Forbidden");

    let port = closed_port().await;
    let refused = run(&env, "iface-err", get, &[&format!("http://127.0.0.1:{port}/x")]).await;
    assert!(refused.value().starts_with(&format!("ERROR: request to 127.0.0.1:{port} failed")), "{}", refused.value());

    for bad in ["not a url", "ftp://example.com/file", ""] {
        let outcome = run(&env, "iface-err", get, &[bad]).await;
        assert!(outcome.value().starts_with("ERROR: invalid request"), "{bad}: {}", outcome.value());
    }
    let headers = r#"pub fn main(url) { rustbill_host::http_post_with_headers(url, "", "", "[not an object]") }"#;
    let outcome = run(&env, "iface-err", headers, &[&server.url("/")]).await;
    assert_eq!(outcome.value(), "ERROR: http_post_with_headers: headers_json must be a JSON object");
    assert_eq!(server.request_count(), 2, "only the two well-formed calls reached the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_functions_work_however_the_engine_drives_the_vm() {
    let server = HttpServer::start(responder(|_, _| Reply::new(200, "pong"))).await;
    let env = env();
    let source = r#"
        pub async fn main(url) {
            rustbill_host::state_set("k", "v");
            let resp = rustbill_host::http_get(url);
            `${resp}:${rustbill_host::state_get("k")}`
        }
    "#;
    for drive in [Drive::FuturesBlockOn, Drive::TokioBlockOn] {
        let outcome = run_with(&env, "iface-drive", source, &[&server.url("/ping")], drive).await;
        assert_eq!(outcome.value(), "pong:v", "{drive:?}");
    }
}

// ── mTLS ─────────────────────────────────────────────────────────────────

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_request_with_cert_speaks_mutual_tls() {
    let pki = Pki::new();
    let server = HttpServer::start_tls(
        responder(|request, _| {
            Reply::new(200, format!("{} {} {}", request.method, request.target, request.body_text()))
                .header("content-type", "application/json")
                .header("x-request-id", "req-1")
        }),
        pki.mtls_acceptor(),
    )
    .await;
    // No extra roots in the policy: the server's CA comes with the call.
    let env = env();
    let source = r#"
        pub fn main(method, url, body, cert_json) {
            rustbill_host::http_request_with_cert(method, url, body, "application/json", cert_json)
        }
    "#;
    let cert_json = pki.client.cert_json(Some(&pki.ca_pem));

    let first = run(&env, "iface-incus", source, &["GET", &server.url("/1.0"), "", &cert_json]).await;
    let first = json(first.value());
    assert_eq!(first["status"], 200);
    assert_eq!(first["headers"]["Content-Type"], "application/json");
    assert_eq!(first["headers"]["X-Request-Id"], "req-1");
    assert_eq!(first["body"], "GET /1.0 ");

    let second =
        run(&env, "iface-incus", source, &["post", &server.url("/1.0/instances"), "{\"a\":1}", &cert_json]).await;
    assert_eq!(json(second.value())["body"], "POST /1.0/instances {\"a\":1}");
    assert_eq!(env.http.cert_clients_built(), 1, "the second call reused the cached mTLS client");
    assert_eq!(env.http.cert_clients_cached(), 1);
    assert_eq!(server.handshakes(), (1, 0), "one TLS session served both calls");
    let requests = server.requests();
    assert_eq!(requests[1].header("content-type"), Some("application/json"));

    // The spec's health_check: cert_json built by interpolation (raw
    // newlines inside the JSON strings), status and body read by json_get.
    let health = r#"
        pub fn main(config_json) {
            let api_url = rustbill_host::json_get(config_json, "api_url");
            let cert_pem = rustbill_host::json_get(config_json, "cert_pem");
            let key_pem = rustbill_host::json_get(config_json, "key_pem");
            let ca_pem = rustbill_host::json_get(config_json, "ca_pem");
            let cert_json = `{"cert":"${cert_pem}","key":"${key_pem}","ca":"${ca_pem}"}`;
            let resp = rustbill_host::http_request_with_cert("GET", `${api_url}/1.0`, "", "", cert_json);
            let status = rustbill_host::json_get(resp, "status");
            if status == "200" { "true" } else { `false: ${resp}` }
        }
    "#;
    let config = json!({
        "api_url": server.url(""), "cert_pem": pki.client.cert, "key_pem": pki.client.key, "ca_pem": pki.ca_pem,
    })
    .to_string();
    assert_eq!(run(&env, "iface-incus", health, &[&config]).await.value(), "true");
    assert_eq!(env.http.cert_clients_built(), 1, "same certificate, same client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_request_with_cert_fails_without_the_right_certificate() {
    let pki = Pki::new();
    let server = HttpServer::start_tls(responder(|_, _| Reply::new(200, "secret")), pki.mtls_acceptor()).await;
    // This environment trusts the server's CA for every client, so a failure
    // can only come from the missing or wrong client certificate.
    let env = env_with(
        HttpPolicy { extra_root_certs_pem: vec![pki.ca_pem.clone()], max_retries: 0, ..fast_policy() },
        SmtpOptions::default(),
        None,
    );
    let with_cert = r#"
        pub fn main(url, cert_json) { rustbill_host::http_request_with_cert("GET", url, "", "", cert_json) }
    "#;

    let rogue = run(&env, "iface-mtls", with_cert, &[&server.url("/"), &pki.rogue_client.cert_json(None)]).await;
    assert!(rogue.value().starts_with("ERROR: request to localhost:"), "{}", rogue.value());
    assert!(rogue.value().contains("fatal alert"), "the server refused the certificate: {}", rogue.value());

    let without =
        run(&env, "iface-mtls", r#"pub fn main(url) { rustbill_host::http_get(url) }"#, &[&server.url("/")]).await;
    assert!(without.value().starts_with("ERROR: request to localhost:"), "{}", without.value());
    assert!(without.value().contains("fatal alert"), "the server asked for a certificate: {}", without.value());

    for bad in [
        "",
        "{}",
        r#"{"cert":"x","key":"y"}"#,
        r#"{"cert":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----","key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}"#,
    ] {
        let outcome = run(&env, "iface-mtls", with_cert, &[&server.url("/"), bad]).await;
        assert!(outcome.value().starts_with("ERROR: "), "{bad}: {}", outcome.value());
    }
    assert_eq!(server.request_count(), 0, "no request got past the TLS handshake");

    // The right certificate still works against the same server.
    let good = run(&env, "iface-mtls", with_cert, &[&server.url("/"), &pki.client.cert_json(None)]).await;
    assert_eq!(json(good.value())["body"], "secret");
}

// ── SMTP ─────────────────────────────────────────────────────────────────

/// The spec's email notifier `send`, reduced to its host calls.
const EMAIL_NOTIFIER: &str = r#"
    pub fn main(merged) {
        let config = rustbill_host::json_stringify(#{
            smtp_host: rustbill_host::json_get(merged, "smtp_host"),
            smtp_port: rustbill_host::json_get(merged, "smtp_port"),
            from: rustbill_host::json_get(merged, "from"),
            username: rustbill_host::json_get(merged, "username"),
            password: rustbill_host::json_get(merged, "password"),
            encryption: rustbill_host::json_get(merged, "encryption"),
        });
        let email = rustbill_host::json_stringify(#{
            to: rustbill_host::json_get(merged, "recipient"),
            subject: rustbill_host::json_get(merged, "title"),
            body: rustbill_host::json_get(merged, "body"),
            content_type: "text/plain",
        });
        rustbill_host::smtp_send(config, email);
        "sent"
    }
"#;

fn merged(port: u16, encryption: &str, username: &str) -> String {
    json!({
        "smtp_host": "localhost",
        "smtp_port": port.to_string(),
        "from": "RustBill <billing@rustbill.test>",
        "username": username,
        "password": " hunter2",
        "encryption": encryption,
        "event_type": "order.paid",
        "recipient": "alice@customer.test",
        "title": "Order paid",
        "body": "Your order O-1 is paid.\nThank you.",
    })
    .to_string()
}

fn assert_delivered(server: &SmtpServer, tls: bool, auth: Option<&str>) {
    let received = server.received();
    assert_eq!(received.len(), 1, "{received:#?}");
    let mail = &received[0];
    assert_eq!(mail.mail_from, "billing@rustbill.test");
    assert_eq!(mail.rcpt_to, ["alice@customer.test"]);
    assert_eq!(mail.header("From").as_deref(), Some("RustBill <billing@rustbill.test>"));
    assert_eq!(mail.header("To").as_deref(), Some("alice@customer.test"));
    assert_eq!(mail.header("Subject").as_deref(), Some("Order paid"));
    assert!(mail.header("Content-Type").unwrap().starts_with("text/plain"), "{}", mail.data);
    assert_eq!(mail.body().trim_end(), "Your order O-1 is paid.\r\nThank you.");
    assert_eq!(mail.tls, tls);
    assert_eq!(mail.auth.as_deref(), auth);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_send_delivers_without_encryption() {
    let server = SmtpServer::start(SmtpMode::Plain).await;
    let outcome = run(&env(), "iface-mail", EMAIL_NOTIFIER, &[&merged(server.port(), "none", "mailer")]).await;
    assert_eq!(outcome.value(), "sent");
    assert_delivered(&server, false, Some("mailer: hunter2"));
    assert!(outcome.logs.contains("mail sent") && outcome.logs.contains("interface_id=iface-mail"), "{}", outcome.logs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_send_upgrades_with_starttls() {
    let pki = Pki::new();
    let server = SmtpServer::start(SmtpMode::StartTls(pki.server_acceptor())).await;
    let env = env_with(
        fast_policy(),
        SmtpOptions { extra_root_certs_pem: vec![pki.ca_pem.clone()], ..SmtpOptions::default() },
        None,
    );
    let outcome = run(&env, "iface-mail", EMAIL_NOTIFIER, &[&merged(server.port(), "starttls", "")]).await;
    assert_eq!(outcome.value(), "sent");
    assert_delivered(&server, true, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_send_speaks_implicit_tls_for_ssl() {
    let pki = Pki::new();
    let server = SmtpServer::start(SmtpMode::ImplicitTls(pki.server_acceptor())).await;
    let env = env_with(
        fast_policy(),
        SmtpOptions { extra_root_certs_pem: vec![pki.ca_pem.clone()], ..SmtpOptions::default() },
        None,
    );
    let outcome = run(&env, "iface-mail", EMAIL_NOTIFIER, &[&merged(server.port(), "ssl", "mailer")]).await;
    assert_eq!(outcome.value(), "sent");
    assert_delivered(&server, true, Some("mailer: hunter2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_send_failures_fail_the_script_call() {
    let env = env_with(fast_policy(), SmtpOptions { timeout: Duration::from_secs(5), ..SmtpOptions::default() }, None);
    // Nothing listens.
    let port = closed_port().await;
    let outcome = run(&env, "iface-mail", EMAIL_NOTIFIER, &[&merged(port, "none", "")]).await;
    assert!(outcome.error().contains("smtp_send failed"), "{}", outcome.error());
    assert!(outcome.logs.contains("smtp_send failed") && outcome.logs.contains("interface_id=iface-mail"));

    // STARTTLS required but not offered: nothing is sent in clear text.
    let plain = SmtpServer::start(SmtpMode::Plain).await;
    let outcome = run(&env, "iface-mail", EMAIL_NOTIFIER, &[&merged(plain.port(), "starttls", "")]).await;
    assert!(outcome.error().contains("smtp_send failed"), "{}", outcome.error());
    assert!(plain.received().is_empty());

    // Bad input.
    let source = r#"pub fn main() { rustbill_host::smtp_send("{}", "{}") }"#;
    let outcome = run(&env, "iface-mail", source, &[]).await;
    assert!(outcome.error().contains("smtp_host is required"), "{}", outcome.error());
}

// ── State ────────────────────────────────────────────────────────────────

const STATE_SET: &str = r#"pub fn main(key, value) { rustbill_host::state_set(key, value) }"#;
const STATE_GET: &str = r#"pub fn main(key) { rustbill_host::state_get(key) }"#;

/// The spec's callback de-duplication.
const DEDUPE: &str = r#"
    pub fn main(payment_id) {
        let cached = rustbill_host::state_get(`cb:${payment_id}`);
        if cached != "" {
            return "duplicate";
        }
        rustbill_host::state_set(`cb:${payment_id}`, "1");
        "processed"
    }
"#;

async fn state_is_namespaced_per_interface(env: &Arc<HostEnv>) {
    assert_eq!(run(env, "iface-a", STATE_GET, &["k"]).await.value(), "");
    assert_eq!(run(env, "iface-a", STATE_SET, &["k", "value of a"]).await.value(), "()");
    assert_eq!(run(env, "iface-a", STATE_GET, &["k"]).await.value(), "value of a");
    assert_eq!(run(env, "iface-b", STATE_GET, &["k"]).await.value(), "", "b cannot read a's key");
    run(env, "iface-b", STATE_SET, &["k", "value of b"]).await.value();
    assert_eq!(run(env, "iface-a", STATE_GET, &["k"]).await.value(), "value of a");
    assert_eq!(run(env, "iface-b", STATE_GET, &["k"]).await.value(), "value of b");
    run(env, "iface-a", STATE_SET, &["k", "overwritten"]).await.value();
    assert_eq!(run(env, "iface-a", STATE_GET, &["k"]).await.value(), "overwritten");

    assert_eq!(run(env, "iface-a", DEDUPE, &["P-1"]).await.value(), "processed");
    assert_eq!(run(env, "iface-a", DEDUPE, &["P-1"]).await.value(), "duplicate");
    assert_eq!(run(env, "iface-b", DEDUPE, &["P-1"]).await.value(), "processed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_persists_in_the_plugins_schema() {
    let database = TestDb::new().await.unwrap();
    let config = DbConfig { max_connections: 4, min_connections: 0, ..DbConfig::default() };
    let service = rustbill_shared::db::open_service(&config, database.url(), "plugins", &MIGRATOR).await.unwrap();
    let env = env_with(fast_policy(), SmtpOptions::default(), Some(service.pool.clone()));

    state_is_namespaced_per_interface(&env).await;

    // Rows live in plugins.plugin_state, keyed by interface.
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("select interface_id, key, value from plugins.plugin_state order by interface_id, key")
            .fetch_all(&service.pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            ("iface-a".into(), "cb:P-1".into(), "1".into()),
            ("iface-a".into(), "k".into(), "overwritten".into()),
            ("iface-b".into(), "cb:P-1".into(), "1".into()),
            ("iface-b".into(), "k".into(), "value of b".into()),
        ]
    );

    // Another environment (a restart, another instance) sees the values.
    let other_instance =
        rustbill_shared::db::open_service(&config, database.url(), "plugins", &MIGRATOR).await.unwrap();
    let restarted = env_with(fast_policy(), SmtpOptions::default(), Some(other_instance.pool.clone()));
    assert_eq!(run(&restarted, "iface-b", STATE_GET, &["k"]).await.value(), "value of b");

    // Concurrent writers of one key never fail; the last write wins.
    let writers: Vec<_> = (0..2)
        .map(|writer| {
            let env = env.clone();
            tokio::spawn(async move {
                let source = r#"
                    pub fn main(writer) {
                        let i = 0;
                        while i < 25 {
                            rustbill_host::state_set("shared", `${writer}-${i}`);
                            rustbill_host::state_set(`own-${writer}-${i}`, "x");
                            i = i + 1;
                        }
                        "done"
                    }
                "#;
                run(&env, "iface-c", source, &[&writer.to_string()]).await
            })
        })
        .collect();
    for writer in writers {
        assert_eq!(writer.await.unwrap().value(), "done");
    }
    let last = run(&env, "iface-c", STATE_GET, &["shared"]).await;
    assert!(["0-24", "1-24"].contains(&last.value()), "{}", last.value());
    let count: i64 = sqlx::query_scalar("select count(*) from plugins.plugin_state where interface_id = 'iface-c'")
        .fetch_one(&service.pool)
        .await
        .unwrap();
    assert_eq!(count, 51);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_without_a_database_lives_in_memory_per_interface() {
    let env = env();
    state_is_namespaced_per_interface(&env).await;
    // A new environment starts empty.
    assert_eq!(run(&self::env(), "iface-a", STATE_GET, &["k"]).await.value(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_fails_the_call_when_the_database_is_gone() {
    let database = TestDb::new().await.unwrap();
    let config = DbConfig { max_connections: 2, min_connections: 0, acquire_timeout_secs: 1, ..DbConfig::default() };
    let service = rustbill_shared::db::open_service(&config, database.url(), "plugins", &MIGRATOR).await.unwrap();
    let env = env_with(fast_policy(), SmtpOptions::default(), Some(service.pool.clone()));
    service.pool.close().await;
    let outcome = run(&env, "iface-a", DEDUPE, &["P-2"]).await;
    assert!(outcome.error().contains("state_get failed"), "{}", outcome.error());
    assert!(outcome.logs.contains("plugin state unavailable"), "{}", outcome.logs);
}
