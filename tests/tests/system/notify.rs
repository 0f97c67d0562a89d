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

/// What a webhook receiver does with a RustBill webhook: recomputes the
/// HMAC over "<timestamp>.<raw body>" with the shared secret, compares it
/// in constant time and refuses a timestamp more than five minutes away.
fn receiver_accepts(request: &crate::http_server::Recorded, secret: &str) -> Result<(), String> {
    use hmac::Mac as _;
    let timestamp = request.header("x-rustbill-timestamp").ok_or("no timestamp")?;
    let signature = request.header("x-rustbill-signature").ok_or("no signature")?;
    let signature = signature.strip_prefix("sha256=").ok_or("not sha256")?;
    let sent_at: i64 = timestamp.parse().map_err(|_| "timestamp is not a number")?;
    if (chrono::Utc::now().timestamp() - sent_at).abs() > 300 {
        return Err("stale timestamp".into());
    }
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&request.body);
    let expected = hex::decode(signature).map_err(|_| "signature is not hex")?;
    mac.verify_slice(&expected).map_err(|_| "signature mismatch".to_string())
}

/// The outgoing webhook channel end to end: every call signed and
/// verified by the receiver, a failing receiver retried with backoff and
/// then parked, the delivery log read through the edge, and an admin's
/// replay delivered once with the same idempotency key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_retried_logged_and_replayed() {
    use rustbill_proto::notification::{
        GetNotificationDeliveryRequest, ListNotificationDeliveriesRequest, ReplayNotificationDeliveryRequest,
    };
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU8, Ordering};

    const SECRET: &str = "whsec-3f9a1c";
    // 0: answer 500; 1: hold the request until set to 2; 2: verify, answer 200.
    let mode = Arc::new(AtomicU8::new(0));
    let receiver = HttpServer::start(responder({
        let mode = mode.clone();
        move |request, _| {
            if mode.load(Ordering::SeqCst) == 1 {
                tokio::task::block_in_place(|| {
                    let deadline = std::time::Instant::now() + Duration::from_secs(20);
                    while mode.load(Ordering::SeqCst) == 1 && std::time::Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                });
            }
            match (mode.load(Ordering::SeqCst), receiver_accepts(request, SECRET)) {
                (0, _) => Reply::new(500, "receiver down"),
                (_, Ok(())) => Reply::new(200, "ok"),
                (_, Err(problem)) => Reply::new(401, problem),
            }
        }
    }))
    .await;
    let shop = Shop::open_with(
        "",
        false,
        &[("RUSTBILL_NOTIFY__RETRY_BASE_SECS", "1"), ("RUSTBILL_NOTIFY__MAX_ATTEMPTS", "2")],
    )
    .await;
    let config = serde_json::json!({ "url": receiver.url("/hooks/rustbill"), "secret": SECRET }).to_string();
    let channel_id = flows::enabled_interface(&shop.server, &shop.admin, "webhook", "Signed", &config).await;
    let customer = shop.customer("wendy_hooks").await;
    shop.credit(&customer, "50.00").await;
    let order = shop.order(&customer, "balance").await.expect("order").order.expect("order");
    shop.settled(&order.id, "active").await;

    // Both events fail twice, a second apart at least, then are parked.
    let mut notifications = NotificationServiceClient::new(shop.channel.clone());
    let parked_filter = || ListNotificationDeliveriesRequest {
        status: Some("parked".into()),
        channel_id: Some(channel_id.clone()),
        ..Default::default()
    };
    let deadline = tokio::time::Instant::now() + SETTLE;
    let parked = loop {
        let listed = notifications
            .list_notification_deliveries(session(parked_filter(), &shop.admin))
            .await
            .expect("list parked")
            .into_inner();
        if listed.deliveries.len() == 2 {
            assert_eq!(listed.meta.expect("meta").total, 2);
            break listed.deliveries;
        }
        assert!(tokio::time::Instant::now() < deadline, "parked: {:?}", listed.deliveries);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut types: Vec<&str> = parked.iter().map(|delivery| delivery.event_type.as_str()).collect();
    types.sort();
    assert_eq!(types, ["order_paid", "order_provisioned"]);
    assert_eq!(receiver.request_count(), 4, "two tries of each event");
    for request in receiver.requests() {
        assert_eq!(receiver_accepts(&request, SECRET), Ok(()), "every try is signed afresh");
        assert_eq!(request.header("idempotency-key"), request.header("x-rustbill-event-id"));
    }
    let paid = parked.iter().find(|delivery| delivery.event_type == "order_paid").expect("order_paid");
    assert_eq!((paid.attempts, paid.replays), (2, 0));
    assert!(paid.last_error.contains("500"), "{}", paid.last_error);
    let detail = notifications
        .get_notification_delivery(session(GetNotificationDeliveryRequest { id: paid.id.clone() }, &shop.admin))
        .await
        .expect("get")
        .into_inner();
    let tries: Vec<(i32, i32, &str)> =
        detail.attempts.iter().map(|attempt| (attempt.attempt, attempt.replay, attempt.outcome.as_str())).collect();
    assert_eq!(tries, [(1, 0, "failed"), (2, 0, "failed")]);
    let started = |index: usize| {
        chrono::DateTime::parse_from_rfc3339(&detail.attempts[index].started_at).expect("rfc 3339").timestamp_millis()
    };
    assert!(started(1) - started(0) >= 1000, "the retry waited for its backoff: {:?}", detail.attempts);
    assert!(detail.body.contains(&order.id), "{}", detail.body);
    let paid_requests: Vec<_> = receiver
        .requests()
        .into_iter()
        .filter(|request| request.header("x-rustbill-delivery-id") == Some(paid.id.as_str()))
        .collect();
    let attempt_headers: Vec<&str> =
        paid_requests.iter().filter_map(|request| request.header("x-rustbill-delivery-attempt")).collect();
    assert_eq!(attempt_headers, ["1", "2"]);
    let key = paid_requests[0].header("idempotency-key").expect("key").to_string();
    assert_eq!(key, paid.event_id);

    // The admin replays it; while it is being sent it cannot be replayed
    // again; it arrives once, same key, verified.
    mode.store(1, Ordering::SeqCst);
    let replayed = notifications
        .replay_notification_delivery(session(ReplayNotificationDeliveryRequest { id: paid.id.clone() }, &shop.admin))
        .await
        .expect("replay")
        .into_inner()
        .delivery
        .expect("delivery");
    assert_eq!((replayed.status.as_str(), replayed.attempts, replayed.replays), ("pending", 0, 1));
    wait_until("the replayed call", || receiver.request_count() == 5).await;
    let again = notifications
        .replay_notification_delivery(session(ReplayNotificationDeliveryRequest { id: paid.id.clone() }, &shop.admin))
        .await
        .expect_err("being sent");
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");
    mode.store(2, Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + SETTLE;
    let sent = loop {
        let detail = notifications
            .get_notification_delivery(session(GetNotificationDeliveryRequest { id: paid.id.clone() }, &shop.admin))
            .await
            .expect("get")
            .into_inner();
        let delivery = detail.delivery.clone().expect("delivery");
        if delivery.status == "sent" {
            break detail;
        }
        assert!(tokio::time::Instant::now() < deadline, "replay not sent: {delivery:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let tries: Vec<(i32, i32, &str)> =
        sent.attempts.iter().map(|attempt| (attempt.attempt, attempt.replay, attempt.outcome.as_str())).collect();
    assert_eq!(tries, [(1, 0, "failed"), (2, 0, "failed"), (1, 1, "sent")]);
    let last = receiver.requests().pop().expect("replayed request");
    assert_eq!(receiver_accepts(&last, SECRET), Ok(()));
    assert_eq!(last.header("idempotency-key"), Some(key.as_str()));
    assert_eq!(last.header("x-rustbill-delivery-attempt"), Some("1"));
    let body: serde_json::Value = serde_json::from_str(&last.body_text()).expect("json");
    assert_eq!(body["event_type"], "order_paid");
    // A tampered body or another secret fails the receiver's check.
    let mut tampered = last.clone();
    tampered.body = last.body_text().replace("order_paid", "order_cancelled").into_bytes();
    assert_eq!(receiver_accepts(&tampered, SECRET), Err("signature mismatch".to_string()));
    assert_eq!(receiver_accepts(&last, "another-secret"), Err("signature mismatch".to_string()));

    // Filters and bad input; a customer sees none of it.
    let sent_list = notifications
        .list_notification_deliveries(session(
            ListNotificationDeliveriesRequest { status: Some("sent".into()), ..Default::default() },
            &shop.admin,
        ))
        .await
        .expect("list sent")
        .into_inner();
    assert_eq!(
        sent_list.deliveries.iter().map(|delivery| delivery.id.as_str()).collect::<Vec<_>>(),
        [paid.id.as_str()]
    );
    let still_parked = notifications
        .list_notification_deliveries(session(parked_filter(), &shop.admin))
        .await
        .expect("list parked")
        .into_inner();
    assert_eq!(still_parked.deliveries.len(), 1);
    for (request, code) in [
        (
            ListNotificationDeliveriesRequest { status: Some("lost".into()), ..Default::default() },
            Code::InvalidArgument,
        ),
        (
            ListNotificationDeliveriesRequest { channel_id: Some("nope".into()), ..Default::default() },
            Code::InvalidArgument,
        ),
    ] {
        let error = notifications.list_notification_deliveries(session(request, &shop.admin)).await.expect_err("bad");
        assert_eq!(error.code(), code);
    }
    for (id, code) in [("x", Code::InvalidArgument), (uuid::Uuid::now_v7().to_string().as_str(), Code::NotFound)] {
        let error = notifications
            .replay_notification_delivery(session(ReplayNotificationDeliveryRequest { id: id.into() }, &shop.admin))
            .await
            .expect_err("bad id");
        assert_eq!(error.code(), code, "{id}");
    }
    let denied = notifications
        .replay_notification_delivery(bearer(
            ReplayNotificationDeliveryRequest { id: paid.id.clone() },
            &customer.access_token,
        ))
        .await
        .expect_err("customer");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied = notifications
        .list_notification_deliveries(bearer(ListNotificationDeliveriesRequest::default(), &customer.access_token))
        .await
        .expect_err("customer");
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(receiver.request_count(), 5, "nothing else was sent");
}
