//! System events to notification channels through the real stack: a
//! webhook receiver and an SMTP server on loopback, a webhook that always
//! fails (retried, then parked, while the others still receive), a
//! registration code delivered by e-mail and used, and the
//! NotificationService RPCs.

use std::time::Duration;

use rustbill_proto::common::EmptyRequest;
use rustbill_proto::identity::identity_service_client::IdentityServiceClient;
use rustbill_proto::identity::{LoginRequest, RegisterRequest, SendVerificationCodeRequest};
use rustbill_proto::notification::SendNotificationRequest;
use rustbill_proto::notification::notification_service_client::NotificationServiceClient;
use rustbill_system_tests::flows::{self, Customer};
use rustbill_system_tests::{bearer, session};
use tonic::Code;

use crate::http_server::{HttpServer, Reply, responder};
use crate::orders::{SETTLE, Shop};
use crate::smtp_server::{SmtpMode, SmtpServer};

struct Channels {
    hooks: HttpServer,
    broken: HttpServer,
    smtp: SmtpServer,
    hooks_id: String,
    broken_id: String,
    email_id: String,
}

async fn channels(shop: &Shop) -> Channels {
    let hooks = HttpServer::start(responder(|_, _| Reply::new(200, "ok"))).await;
    let broken = HttpServer::start(responder(|_, _| Reply::new(500, "down"))).await;
    let smtp = SmtpServer::start(SmtpMode::Plain).await;
    let config = |url: String| serde_json::json!({ "url": url, "secret": "hook-secret" }).to_string();
    let hooks_id =
        flows::enabled_interface(&shop.server, &shop.admin, "webhook", "Hooks", &config(hooks.url("/hook"))).await;
    let broken_id =
        flows::enabled_interface(&shop.server, &shop.admin, "webhook", "Broken", &config(broken.url("/hook"))).await;
    let email = serde_json::json!({
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port(),
        "from": "RustBill <billing@example.com>",
        "encryption": "none",
    });
    let email_id = flows::enabled_interface(&shop.server, &shop.admin, "email", "Mail", &email.to_string()).await;
    Channels { hooks, broken, smtp, hooks_id, broken_id, email_id }
}

async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + SETTLE;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text of a message's body, base64 transfer encoding undone.
pub(crate) fn decoded_body(mail: &crate::smtp_server::Received) -> String {
    use base64::Engine as _;
    let body = mail.body();
    if mail.header("content-transfer-encoding").is_some_and(|encoding| encoding.eq_ignore_ascii_case("base64")) {
        let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD.decode(compact).expect("base64 body");
        String::from_utf8(bytes).expect("utf-8 body")
    } else {
        body
    }
}

/// Registers through the e-mailed code (read from the SMTP server).
async fn register_by_email(shop: &Shop, smtp: &SmtpServer, username: &str) -> Customer {
    let mut identity = IdentityServiceClient::new(shop.channel.clone());
    let email = format!("{username}@example.com");
    identity
        .send_verification_code(SendVerificationCodeRequest { email: email.clone(), purpose: "registration".into() })
        .await
        .expect("send code");
    wait_until("the code e-mail", || smtp.received().iter().any(|mail| mail.rcpt_to.contains(&email))).await;
    let mail = smtp.received().into_iter().find(|mail| mail.rcpt_to.contains(&email)).expect("mail");
    let body = decoded_body(&mail);
    let code: String = body
        .split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .unwrap_or_else(|| panic!("a 6-digit code in {body}"))
        .to_string();
    let password = format!("{username}-Pass-123");
    let registered = identity
        .register(RegisterRequest {
            username: username.into(),
            email: email.clone(),
            display_name: username.into(),
            password: password.clone(),
            verification_code: code,
        })
        .await
        .expect("register with the e-mailed code")
        .into_inner();
    let login = identity
        .login(LoginRequest { username: username.into(), password: password.clone(), user_type: "customer".into() })
        .await
        .expect("login")
        .into_inner();
    Customer {
        username: username.into(),
        email,
        password,
        user_id: registered.user.expect("user").id,
        customer_id: registered.customer_id,
        access_token: login.access_token,
        refresh_token: login.refresh_token,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orders_life_reaches_every_channel_once_and_a_broken_one_is_parked() {
    let shop = Shop::open_with(
        "",
        false,
        &[("RUSTBILL_SERVER__NOTIFY_EMAIL", "ops@example.com"), ("RUSTBILL_NOTIFY__RETRY_BASE_SECS", "0")],
    )
    .await;
    let channels = channels(&shop).await;
    let sara = register_by_email(&shop, &channels.smtp, "sara_notify").await;
    shop.credit(&sara, "50.00").await;
    let order = shop.order(&sara, "balance").await.expect("order").order.expect("order");
    shop.settled(&order.id, "active").await;

    // E-mail: the code, the payment (customer and operators), the server.
    wait_until("four e-mails", || channels.smtp.received().len() >= 4).await;
    // Webhook: the payment and the server, never the private code.
    wait_until("two webhook calls", || channels.hooks.request_count() >= 2).await;
    // The broken webhook: both events tried five times, then parked.
    let pool = shop.server.pool().await;
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let parked: i64 = sqlx::query_scalar(
            "select count(*) from notify.deliveries where channel_id = $1::uuid and status = 'parked' and attempts = 5",
        )
        .bind(&channels.broken_id)
        .fetch_one(&pool)
        .await
        .expect("parked");
        if parked == 2 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "broken deliveries not parked: {parked}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Ten attempts in all; after five failures the host's circuit breaker
    // opens and the rest fail fast without reaching the receiver.
    assert!((5..=10).contains(&channels.broken.request_count()), "{}", channels.broken.request_count());
    // Nothing more arrives later: every message exactly once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut mails: Vec<(String, String)> = channels
        .smtp
        .received()
        .iter()
        .map(|mail| (mail.rcpt_to.join(","), mail.header("subject").unwrap_or_default()))
        .collect();
    mails.sort();
    let subjects: Vec<&str> = mails.iter().map(|(_, subject)| subject.as_str()).collect();
    assert_eq!(mails.len(), 4, "{mails:?}");
    assert_eq!(mails.iter().filter(|(to, _)| to == "ops@example.com").count(), 1, "{mails:?}");
    assert_eq!(mails.iter().filter(|(to, _)| to == &sara.email).count(), 3, "{mails:?}");
    assert!(subjects.iter().any(|subject| subject.contains("Order paid")), "{subjects:?}");
    let mut hooked: Vec<String> = channels
        .hooks
        .requests()
        .iter()
        .map(|request| request.header("x-rustbill-event").unwrap_or_default().to_string())
        .collect();
    hooked.sort();
    assert_eq!(hooked, ["order_paid", "order_provisioned"]);
    let first = &channels.hooks.requests()[0];
    let body: serde_json::Value = serde_json::from_str(&first.body_text()).expect("json");
    assert_eq!(body["data"]["customer_email"], sara.email.as_str());
    assert!(first.header("x-rustbill-signature").is_some_and(|signature| signature.starts_with("sha256=")));
    let sent: i64 = sqlx::query_scalar("select count(*) from notify.deliveries where status = 'sent'")
        .fetch_one(&pool)
        .await
        .expect("sent");
    assert_eq!(sent, 6, "4 e-mails + 2 webhook calls, each recorded once");
    let error: String = sqlx::query_scalar(
        "select last_error from notify.deliveries where channel_id = $1::uuid and status = 'parked' limit 1",
    )
    .bind(&channels.broken_id)
    .fetch_one(&pool)
    .await
    .expect("error");
    assert!(error.contains("webhook not delivered"), "{error}");

    // Consumed again (as after a crash that lost the done marks): nothing
    // is sent twice.
    let (mails_before, hooks_before) = (channels.smtp.received().len(), channels.hooks.request_count());
    sqlx::query(
        "update bus.delivery set status = 'pending', done_at = null, next_attempt_at = now(), attempts = 0
         where consumer = 'notify.broadcast'",
    )
    .execute(&pool)
    .await
    .expect("redeliver");
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let open: i64 = sqlx::query_scalar(
            "select count(*) from bus.delivery where consumer = 'notify.broadcast' and status <> 'done'",
        )
        .fetch_one(&pool)
        .await
        .expect("open");
        if open == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{open} broadcast deliveries still open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!((channels.smtp.received().len(), channels.hooks.request_count()), (mails_before, hooks_before));
    let rows: i64 = sqlx::query_scalar("select count(*) from notify.deliveries").fetch_one(&pool).await.expect("rows");
    assert_eq!(rows, 8, "6 sent and 2 parked, still");
    pool.close().await;
    drop(channels.email_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_rpcs_list_channels_and_send_tests() {
    let shop = Shop::open("", false).await;
    let channels = channels(&shop).await;
    let customer = shop.customer("tess_notify").await;
    let mut notifications = NotificationServiceClient::new(shop.channel.clone());
    let listed =
        notifications.list_notifiers(session(EmptyRequest {}, &shop.admin)).await.expect("list").into_inner().notifiers;
    let mut names: Vec<&str> = listed.iter().map(|notifier| notifier.channel_name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Broken", "Hooks", "Mail"]);
    let denied =
        notifications.list_notifiers(bearer(EmptyRequest {}, &customer.access_token)).await.expect_err("customer");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let test = |channel_ids: Vec<String>| SendNotificationRequest {
        event_type: "test".into(),
        title: "测试 / Test".into(),
        body: "hello".into(),
        recipient: "ops@example.com".into(),
        metadata: [("source".to_string(), "test".to_string())].into_iter().collect(),
        channel_ids,
    };
    let one = notifications
        .send_notification(session(test(vec![channels.hooks_id.clone()]), &shop.admin))
        .await
        .expect("send to one")
        .into_inner()
        .results;
    assert_eq!(one.len(), 1);
    assert!(one[0].success, "{one:?}");
    assert_eq!(channels.hooks.request_count(), 1);
    let all = notifications
        .send_notification(session(test(vec![]), &shop.admin))
        .await
        .expect("send to all")
        .into_inner()
        .results;
    assert_eq!(all.len(), 3);
    for result in &all {
        let expected = result.channel_id != channels.broken_id;
        assert_eq!(result.success, expected, "{result:?}");
        if !expected {
            assert!(result.error_message.contains("500"), "{result:?}");
        }
    }
    // (The customer's registration code may also be on its way by e-mail.)
    let to_ops: Vec<_> =
        channels.smtp.received().into_iter().filter(|mail| mail.rcpt_to == ["ops@example.com"]).collect();
    assert_eq!(to_ops.len(), 1);
    // The subject is RFC 2047-encoded: "测试" travels as base64.
    assert_eq!(to_ops[0].header("subject").as_deref(), Some("=?utf-8?b?5rWL6K+V?= / Test"));
    for (request, what) in [
        (SendNotificationRequest { title: " ".into(), ..test(vec![]) }, "empty title"),
        (SendNotificationRequest { event_type: String::new(), ..test(vec![]) }, "empty event type"),
        (test(vec![uuid::Uuid::now_v7().to_string()]), "unknown channel"),
    ] {
        let error = notifications.send_notification(session(request, &shop.admin)).await.expect_err(what);
        assert_eq!(error.code(), Code::InvalidArgument, "{what}");
    }
    let by_customer =
        notifications.send_notification(bearer(test(vec![]), &customer.access_token)).await.expect_err("customer");
    assert_eq!(by_customer.code(), Code::PermissionDenied);
}
