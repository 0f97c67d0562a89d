//! The edge over real sockets, in front of in-test backends.

mod support;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use rustbill_edge::{Backend, Backends};
use rustbill_shared::principal::{AdminRole, Caller, InternalSigner, Principal};
use support::*;
use tonic::Code;
use uuid::Uuid;

const GET_ME: &str = "/rustbill.identity.IdentityService/GetMe";
const LOGIN: &str = "/rustbill.identity.IdentityService/Login";

async fn channel(edge: &TestEdge) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(edge.url()).unwrap().connect().await.unwrap()
}

fn customer() -> Principal {
    Principal::Customer {
        user_id: CUSTOMER_USER_ID.parse().unwrap(),
        customer_id: CUSTOMER_ID.parse().unwrap(),
        username: "alice".into(),
        family_id: FAMILY_ID.parse().unwrap(),
    }
}

fn admin() -> Principal {
    Principal::Admin {
        user_id: ADMIN_ID.parse().unwrap(),
        username: "root".into(),
        role: AdminRole::Admin,
        session_id: SESSION_ID.parse().unwrap(),
    }
}

/// A successful gRPC-Web answer: no error status in the headers, and the
/// first body frame is the uncompressed message (what the portal reads).
fn assert_web_ok(answer: &Answer, message: &[u8]) {
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(matches!(answer.header("grpc-status"), None | Some("0")), "{answer:?}");
    assert_eq!(answer.header("content-type"), Some("application/grpc-web+proto"));
    assert_eq!(&answer.body[..5 + message.len()], &frame(message)[..], "{answer:?}");
}

#[tokio::test]
async fn health_answers_ok_with_cors_for_allowed_origins() {
    let (edge, _backend) = setup(config()).await;
    let answer = http1(edge.addr, get("/health").body(empty()).unwrap()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, "OK");
    assert!(answer.header("access-control-allow-origin").is_none());

    let request = get("/health").header("origin", "https://portal.example").body(empty()).unwrap();
    let answer = http1(edge.addr, request).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("access-control-allow-origin"), Some("https://portal.example"));

    let request = get("/health").header("origin", "https://evil.example").body(empty()).unwrap();
    let answer = http1(edge.addr, request).await;
    assert_eq!(answer.status, 200);
    assert!(answer.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn ready_checks_every_backend() {
    let config = config();
    let identity = spawn_backend(&config).await;
    let catalog = spawn_backend(&config).await;
    let backends = Backends::default().with(Backend::Identity, identity.url()).with(Backend::Catalog, catalog.url());
    let edge = spawn_edge(&config, backends).await;
    let answer = http1(edge.addr, get("/ready").body(empty()).unwrap()).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, "READY");

    catalog.set_serving(false).await;
    let answer = http1(edge.addr, get("/ready").body(empty()).unwrap()).await;
    assert_eq!(answer.status, 503);
    let text = String::from_utf8(answer.body.to_vec()).unwrap();
    assert!(text.contains("catalog: NOT_SERVING"), "{text}");
    assert!(!text.contains("identity"), "{text}");

    let closed = closed_port();
    let down = Backends::default().with(Backend::Identity, identity.url()).with(Backend::Orders, closed.url());
    let edge = spawn_edge(&config, down).await;
    let answer = http1(edge.addr, get("/ready").body(empty()).unwrap()).await;
    assert_eq!(answer.status, 503);
    let text = String::from_utf8(answer.body.to_vec()).unwrap();
    assert!(text.contains("orders: unreachable"), "{text}");
}

#[tokio::test]
async fn grpc_call_reaches_the_backend_with_the_principal() {
    let (edge, backend) = setup(config()).await;
    let client_trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let request = grpc(GET_ME)
        .header("authorization", "Bearer good-jwt")
        .header("cookie", "theme=dark")
        .header("x-request-id", "req-abc-123")
        .header("traceparent", client_trace)
        .body(Full::new(frame(b"\x0a\x01x")))
        .unwrap();
    let answer = http2(edge.addr, request).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/grpc"));
    assert_eq!(answer.principal(), customer());
    assert_eq!(answer.body, frame(b"\x0a\x01x"));
    let trailers = answer.trailers.clone().expect("gRPC trailers");
    assert_eq!(trailers["grpc-status"], "0");
    assert!(!trailers.contains_key("x-rustbill-leak"), "internal trailers are stripped");
    assert!(answer.internal_headers().is_empty(), "{answer:?}");
    assert_eq!(answer.header("x-request-id"), Some("req-abc-123"));
    let echoed_trace = answer.header("traceparent").unwrap();
    assert!(echoed_trace.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    assert_ne!(echoed_trace, client_trace, "the edge is a span of its own");

    let event = backend.events_for("GetMe").pop().unwrap();
    let caller = event.caller.clone().unwrap();
    assert_eq!(caller.request_id, "req-abc-123");
    assert_eq!(caller.client_ip, "127.0.0.1");
    assert_eq!(event.headers["x-request-id"], "req-abc-123");
    assert_eq!(event.headers["traceparent"], echoed_trace);
    assert!(!event.headers.contains_key("authorization"), "credentials are not forwarded");
    assert!(!event.headers.contains_key("cookie"));
    assert_eq!(event.internal_headers(), vec!["x-rustbill-principal".to_string()]);
}

#[tokio::test]
async fn tonic_clients_work_through_the_edge() {
    use rustbill_proto::identity::GetMeRequest;
    use rustbill_proto::identity::identity_service_client::IdentityServiceClient;
    let (edge, _backend) = setup(config()).await;
    let mut client = IdentityServiceClient::connect(edge.url()).await.unwrap();
    let mut request = tonic::Request::new(GetMeRequest {});
    request.metadata_mut().insert("authorization", "Bearer good-jwt".parse().unwrap());
    let response = client.get_me(request).await.unwrap();
    let principal = response.metadata().get("x-echo-principal").unwrap().to_str().unwrap();
    assert_eq!(serde_json::from_str::<Principal>(principal).unwrap(), customer());
    assert!(response.metadata().keys().all(|key| !format!("{key:?}").contains("x-rustbill-")));
}

#[tokio::test]
async fn grpc_web_over_http1_reaches_the_backend_with_the_session_principal() {
    let (edge, backend) = setup(config()).await;
    let request =
        grpc_web(GET_ME).header("cookie", "rustbill_session=good-session; other=1").body(grpc_web_body(b"")).unwrap();
    let answer = http1(edge.addr, request).await;
    assert_web_ok(&answer, b"");
    assert_eq!(answer.principal(), admin());
    assert!(answer.internal_headers().is_empty(), "{answer:?}");
    assert!(answer.header("x-request-id").is_some());
    // The trailer frame follows the message; it carries no internal header.
    let trailer_frame = &answer.body[5..];
    assert_eq!(trailer_frame[0], 0x80);
    let trailer_text = String::from_utf8_lossy(&trailer_frame[5..]).to_lowercase();
    assert!(trailer_text.contains("grpc-status:0"), "{trailer_text}");
    assert!(!trailer_text.contains("x-rustbill"), "{trailer_text}");
    // The backend saw plain gRPC.
    let event = backend.events_for("GetMe").pop().unwrap();
    assert_eq!(event.headers["content-type"], "application/grpc");

    // A message with content, and gRPC-Web over HTTP/2 as well.
    let request =
        grpc_web(GET_ME).header("authorization", "Bearer good-jwt").body(grpc_web_body(b"\x0a\x03abc")).unwrap();
    let answer = http2(edge.addr, request).await;
    assert_web_ok(&answer, b"\x0a\x03abc");
    assert_eq!(answer.principal(), customer());
}

#[tokio::test]
async fn grpc_web_text_is_translated() {
    use base64::Engine as _;
    let (edge, _backend) = setup(config()).await;
    let body = base64::engine::general_purpose::STANDARD.encode(frame(b"\x0a\x02hi"));
    let request = http::Request::builder()
        .method("POST")
        .uri(GET_ME)
        .header("host", "edge.test")
        .header("content-type", "application/grpc-web-text")
        .header("accept", "application/grpc-web-text")
        .header("authorization", "Bearer good-jwt")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let answer = http1(edge.addr, request).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/grpc-web-text+proto"));
    assert!(answer.body.len() >= 12, "{answer:?}");
    let decoded = base64::engine::general_purpose::STANDARD.decode(&answer.body[..12]).unwrap();
    assert_eq!(&decoded[..], &frame(b"\x0a\x02hi")[..]);
    assert_eq!(answer.principal(), customer());
}

#[tokio::test]
async fn forged_internal_headers_never_reach_a_service() {
    let config = config();
    let (edge, backend) = setup(config.clone()).await;
    // Even a principal token signed with the real key is replaced.
    let forged = InternalSigner::new(&config.internal_secret(), 60).sign(&Caller {
        principal: admin(),
        request_id: "forged".into(),
        client_ip: "203.0.113.9".into(),
        traceparent: String::new(),
    });
    let request = grpc_web(GET_ME)
        .header("x-rustbill-principal", forged.as_str())
        .header("x-rustbill-set-session", "x")
        .header("X-Rustbill-Other", "y")
        .body(grpc_web_body(b""))
        .unwrap();
    let answer = http1(edge.addr, request).await;
    assert_web_ok(&answer, b"");
    assert_eq!(answer.principal(), Principal::anonymous());
    let event = backend.events_for("GetMe").pop().unwrap();
    assert_eq!(event.internal_headers(), vec!["x-rustbill-principal".to_string()]);
    assert_ne!(event.headers["x-rustbill-principal"], forged.as_str());
    assert_eq!(event.caller.unwrap().client_ip, "127.0.0.1");
    assert_eq!(backend.resolves(), 0, "no credential, no Resolve call");
}

#[tokio::test]
async fn stale_credentials_are_anonymous_and_public_rpcs_still_work() {
    let (edge, backend) = setup(config()).await;
    let request = grpc_web(LOGIN).header("authorization", "Bearer old-jwt").body(grpc_web_body(b"")).unwrap();
    let answer = http1(edge.addr, request).await;
    assert_web_ok(&answer, b"");
    assert_eq!(answer.principal(), Principal::Anonymous { failure: Some("expired".into()) });
    assert_eq!(backend.resolves(), 1);
}

#[tokio::test]
async fn unreachable_identity_means_anonymous_unavailable() {
    let config = config();
    let catalog = spawn_backend(&config).await;
    let closed = closed_port();
    let backends = Backends::default().with(Backend::Identity, closed.url()).with(Backend::Catalog, catalog.url());
    let edge = spawn_edge(&config, backends).await;
    let request = grpc_web("/rustbill.product.ProductService/ListProducts")
        .header("authorization", "Bearer good-jwt")
        .body(grpc_web_body(b""))
        .unwrap();
    let answer = http1(edge.addr, request).await;
    assert_web_ok(&answer, b"");
    assert_eq!(answer.principal(), Principal::Anonymous { failure: Some("unavailable".into()) });
}

#[tokio::test]
async fn backend_errors_arrive_in_the_http_headers() {
    let (edge, _backend) = setup(config()).await;
    // Trailers-only from the backend stays trailers-only.
    let request = grpc_web("/rustbill.order.OrderService/Fail").body(grpc_web_body(b"")).unwrap();
    let answer = http1(edge.addr, request).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("grpc-status"), Some("5"));
    assert_eq!(answer.header("grpc-message"), Some("no such thing"), "readable without percent-decoding");
    assert!(answer.body.is_empty(), "{answer:?}");

    // Headers first and the error only in the trailers: moved into the headers.
    let request = grpc_web("/rustbill.order.OrderService/FailInTrailers").body(grpc_web_body(b"")).unwrap();
    let answer = http1(edge.addr, request).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("grpc-status"), Some("7"));
    assert_eq!(answer.header("grpc-message"), Some("permission_denied: not yours"));
    assert!(answer.body.is_empty(), "{answer:?}");

    // Native gRPC keeps its trailers.
    let request = grpc("/rustbill.order.OrderService/FailInTrailers").body(Full::new(frame(b""))).unwrap();
    let answer = http2(edge.addr, request).await;
    let trailers = answer.trailers.expect("trailers");
    assert_eq!(trailers["grpc-status"], "7");
}

#[tokio::test]
async fn cors_preflight_and_exposed_headers() {
    let (edge, _backend) = setup(config()).await;
    let preflight = |origin: &'static str| {
        http::Request::builder()
            .method("OPTIONS")
            .uri(LOGIN)
            .header("host", "edge.test")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,x-grpc-web,authorization")
            .body(empty())
            .unwrap()
    };
    let answer = http1(edge.addr, preflight("https://portal.example")).await;
    assert!(answer.status.is_success(), "{answer:?}");
    assert_eq!(answer.header("access-control-allow-origin"), Some("https://portal.example"));
    assert_eq!(answer.header("access-control-allow-credentials"), Some("true"));
    let methods = answer.header("access-control-allow-methods").unwrap().to_lowercase();
    for method in ["post", "get", "options"] {
        assert!(methods.contains(method), "{methods}");
    }
    let allowed = answer.header("access-control-allow-headers").unwrap().to_lowercase();
    for header in
        ["content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization", "x-request-id", "traceparent"]
    {
        assert!(allowed.contains(header), "{allowed} lacks {header}");
    }

    let answer = http1(edge.addr, preflight("https://evil.example")).await;
    assert!(!answer.status.is_success());
    assert!(answer.headers.keys().all(|name| !name.as_str().starts_with("access-control-")), "{answer:?}");

    // The actual call exposes the gRPC headers to the page.
    let request = grpc_web("/rustbill.order.OrderService/Fail")
        .header("origin", "https://portal.example")
        .body(grpc_web_body(b""))
        .unwrap();
    let answer = http1(edge.addr, request).await;
    assert_eq!(answer.header("access-control-allow-origin"), Some("https://portal.example"));
    let exposed = answer.header("access-control-expose-headers").unwrap().to_lowercase();
    for header in ["grpc-status", "grpc-message", "grpc-status-details-bin", "x-request-id", "traceparent"] {
        assert!(exposed.contains(header), "{exposed} lacks {header}");
    }
    let request = grpc_web("/rustbill.order.OrderService/Fail")
        .header("origin", "https://evil.example")
        .body(grpc_web_body(b""))
        .unwrap();
    let answer = http1(edge.addr, request).await;
    assert!(answer.headers.keys().all(|name| !name.as_str().starts_with("access-control-")), "{answer:?}");
}

#[tokio::test]
async fn any_origin_allows_without_credentials() {
    let mut config = config();
    config.server.cors_allowed_origins = vec!["*".into()];
    let (edge, _backend) = setup(config).await;
    let request = get("/health").header("origin", "https://anywhere.example").body(empty()).unwrap();
    let answer = http1(edge.addr, request).await;
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    assert!(answer.header("access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    // Untrusted peer: X-Forwarded-For is ignored, so it cannot be used to
    // dodge per-IP rate limits or forge audit addresses.
    let (edge, backend) = setup(config()).await;
    let request = grpc(GET_ME).header("x-forwarded-for", "203.0.113.7").body(Full::new(frame(b""))).unwrap();
    http2(edge.addr, request).await;
    assert_eq!(backend.events_for("GetMe").pop().unwrap().caller.unwrap().client_ip, "127.0.0.1");

    // Behind a trusted proxy: the right-most untrusted hop is the client;
    // what the client itself put further left is not believed.
    let mut trusting = config();
    trusting.server.trusted_proxies = vec!["127.0.0.0/8".into(), "10.0.0.1".into()];
    let (edge, backend) = setup(trusting).await;
    let request = grpc(GET_ME)
        .header("x-forwarded-for", "198.51.100.1, 203.0.113.7, 10.0.0.1")
        .body(Full::new(frame(b"")))
        .unwrap();
    http2(edge.addr, request).await;
    assert_eq!(backend.events_for("GetMe").pop().unwrap().caller.unwrap().client_ip, "203.0.113.7");

    let mut bad = config();
    bad.server.trusted_proxies = vec!["not-an-ip".into()];
    assert!(rustbill_edge::Edge::new(&bad, rustbill_edge::Backends::default()).is_err(), "bad entries are refused");
}

#[tokio::test]
async fn login_is_rate_limited_per_ip() {
    let mut config = config();
    config.rate_limit.login_per_sec = 2;
    let (edge, backend) = setup(config).await;
    let login = || grpc_web(LOGIN).header("origin", "https://portal.example").body(grpc_web_body(b"")).unwrap();
    assert_web_ok(&http1_from(edge.addr, Some("127.0.0.1"), login()).await, b"");
    assert_web_ok(&http1_from(edge.addr, Some("127.0.0.1"), login()).await, b"");
    let answer = http1_from(edge.addr, Some("127.0.0.1"), login()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("grpc-status"), Some("8"), "{answer:?}");
    assert_eq!(answer.header("grpc-message"), Some("too many requests, retry later"));
    assert_eq!(answer.header("content-type"), Some("application/grpc-web+proto"));
    assert!(answer.body.is_empty());
    assert_eq!(answer.header("access-control-allow-origin"), Some("https://portal.example"));
    assert_eq!(backend.events_for("Login").len(), 2, "the third call never reached identity");
    // Another client address has its own budget; other RPCs are not limited.
    assert_web_ok(&http1_from(edge.addr, Some("127.0.0.2"), login()).await, b"");
    let request = grpc_web(GET_ME).body(grpc_web_body(b"")).unwrap();
    assert_web_ok(&http1_from(edge.addr, Some("127.0.0.1"), request).await, b"");
}

#[tokio::test]
async fn session_headers_become_cookies() {
    let (edge, _backend) = setup(config()).await;
    let answer = http1(edge.addr, grpc_web(LOGIN).body(grpc_web_body(b"")).unwrap()).await;
    assert_web_ok(&answer, b"");
    let cookie = answer.header("set-cookie").expect("a session cookie");
    assert!(cookie.starts_with(&format!("rustbill_session={SESSION_TOKEN}")), "{cookie}");
    for part in ["HttpOnly", "Path=/", "SameSite=Lax", "Max-Age=604800"] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(answer.internal_headers().is_empty(), "{answer:?}");

    let request = grpc_web("/rustbill.identity.IdentityService/Logout")
        .header("cookie", "rustbill_session=good-session")
        .body(grpc_web_body(b""))
        .unwrap();
    let answer = http1(edge.addr, request).await;
    let cookie = answer.header("set-cookie").expect("a clearing cookie");
    assert!(cookie.starts_with("rustbill_session=;"), "{cookie}");
    assert!(cookie.contains("Max-Age=0"), "{cookie}");
    assert!(answer.internal_headers().is_empty(), "{answer:?}");

    // Only identity may set the session.
    let answer =
        http1(edge.addr, grpc_web("/rustbill.order.OrderService/Login").body(grpc_web_body(b"")).unwrap()).await;
    assert!(answer.header("set-cookie").is_none(), "{answer:?}");
    assert!(answer.internal_headers().is_empty(), "{answer:?}");
}

#[tokio::test]
async fn secure_cookie_settings_are_honoured() {
    let mut config = config();
    config.session.cookie_secure = true;
    config.session.cookie_same_site = "Strict".into();
    config.session.cookie_name = "admin_sid".into();
    config.session.absolute_timeout_hours = 1;
    let (edge, _backend) = setup(config).await;
    let answer = http1(edge.addr, grpc_web(LOGIN).body(grpc_web_body(b"")).unwrap()).await;
    let cookie = answer.header("set-cookie").unwrap();
    assert!(cookie.starts_with(&format!("admin_sid={SESSION_TOKEN}")), "{cookie}");
    for part in ["HttpOnly", "Secure", "SameSite=Strict", "Max-Age=3600"] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
}

#[tokio::test]
async fn internal_services_are_never_routed() {
    use rustbill_proto::internal::auth::ResolveRequest;
    use rustbill_proto::internal::auth::auth_service_client::AuthServiceClient;
    let (edge, backend) = setup(config()).await;
    let mut client = AuthServiceClient::connect(edge.url()).await.unwrap();
    let mut request = tonic::Request::new(ResolveRequest { bearer_token: "good-jwt".into(), ..Default::default() });
    request.metadata_mut().insert("authorization", "Bearer good-jwt".parse().unwrap());
    let status = client.resolve(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    assert_eq!(backend.resolves(), 0, "neither routed nor resolved");

    let request = grpc_web("/rustbill.internal.auth.AuthService/Resolve").body(grpc_web_body(b"")).unwrap();
    let answer = http1(edge.addr, request).await;
    assert_eq!(answer.header("grpc-status"), Some("12"));
    let answer = http1(edge.addr, get("/rustbill.internal.auth.AuthService/Resolve").body(empty()).unwrap()).await;
    assert_eq!(answer.status, 404);
    assert!(backend.events().is_empty());
}

#[tokio::test]
async fn unavailable_backends_answer_unavailable() {
    let config = config();
    let identity = spawn_backend(&config).await;
    let closed = closed_port();
    let backends = Backends::default().with(Backend::Identity, identity.url()).with(Backend::Catalog, closed.url());
    let edge = spawn_edge(&config, backends).await;
    let request = grpc_web("/rustbill.product.ProductService/ListProducts").body(grpc_web_body(b"")).unwrap();
    let answer = http1(edge.addr, request).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("grpc-status"), Some("14"), "{answer:?}");
    assert_eq!(answer.header("grpc-message"), Some("service catalog is not available"));
    assert!(answer.body.is_empty());

    // Not configured at all.
    let request = grpc("/rustbill.ticket.TicketService/ListTickets").body(Full::new(frame(b""))).unwrap();
    let answer = http2(edge.addr, request).await;
    assert_eq!(answer.header("grpc-status"), Some("14"));
    assert_eq!(answer.header("grpc-message"), Some("service notify is not available"));

    // Unknown packages are Unimplemented.
    let request = grpc("/rustbill.nothing.NoService/Call").body(Full::new(frame(b""))).unwrap();
    let answer = http2(edge.addr, request).await;
    assert_eq!(answer.header("grpc-status"), Some("12"));
}

#[tokio::test]
async fn concurrency_limit_queues_instead_of_rejecting() {
    let mut config = config();
    config.server.max_concurrency = 1;
    let (edge, backend) = setup(config).await;
    let slow = |message: &'static [u8]| {
        let addr = edge.addr;
        tokio::spawn(async move {
            http1(addr, grpc_web("/rustbill.order.OrderService/Slow").body(grpc_web_body(message)).unwrap()).await
        })
    };
    let first = slow(b"a");
    let second = slow(b"b");
    let third = slow(b"c");
    for (task, message) in [(first, b"a"), (second, b"b"), (third, b"c")] {
        assert_web_ok(&task.await.unwrap(), message);
    }
    let mut events = backend.events_for("Slow");
    assert_eq!(events.len(), 3);
    events.sort_by_key(|event| event.started);
    for pair in events.windows(2) {
        assert!(pair[1].started >= pair[0].finished, "calls overlapped: {:?}", pair);
    }
}

#[tokio::test]
async fn without_a_limit_calls_overlap() {
    let mut config = config();
    config.server.max_concurrency = 30;
    let (edge, backend) = setup(config).await;
    let slow = || {
        let addr = edge.addr;
        tokio::spawn(async move {
            http1(addr, grpc_web("/rustbill.order.OrderService/Slow").body(grpc_web_body(b"")).unwrap()).await
        })
    };
    let (first, second) = (slow(), slow());
    first.await.unwrap();
    second.await.unwrap();
    let mut events = backend.events_for("Slow");
    events.sort_by_key(|event| event.started);
    assert!(events[1].started < events[0].finished, "the control case overlaps");
}

#[tokio::test]
async fn admin_placeholder_page() {
    let config = config();
    let edge = rustbill_edge::Edge::new(&config, rustbill_edge::Backends::default())
        .expect("edge builds")
        .with_admin_assets(std::sync::Arc::new(rustbill_edge::admin_ui::NotBuilt));
    let edge = serve_edge(edge).await;
    for path in ["/admin", "/admin/", "/admin/some/route", "/admin/orders/42"] {
        let answer = http1(edge.addr, get(path).body(empty()).unwrap()).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.header("content-type"), Some("text/html; charset=utf-8"), "{path}");
        let page = String::from_utf8(answer.body.to_vec()).unwrap();
        assert!(page.contains("管理后台尚未构建"), "{path}");
        assert!(page.contains("The admin UI is not built into this binary"), "{path}");
    }
    let answer = http1(edge.addr, get("/administrator").body(empty()).unwrap()).await;
    assert_eq!(answer.status, 404);
    let answer = http1(edge.addr, get("/").body(empty()).unwrap()).await;
    assert_eq!(answer.status, 404);
}

#[tokio::test]
async fn edge_serves_reflection_of_public_packages_only() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let (edge, _backend) = setup(config()).await;
    let mut client = ServerReflectionClient::new(channel(&edge).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client.server_reflection_info(futures::stream::iter([request])).await.unwrap().into_inner();
    let answer = stream.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("unexpected reflection answer {answer:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|service| service.name).collect();
    for service in rustbill_proto::PUBLIC_SERVICES {
        assert!(names.iter().any(|name| name == service), "{service} missing from {names:?}");
    }
    assert!(names.iter().all(|name| !name.starts_with("rustbill.internal")), "{names:?}");
}

#[tokio::test]
async fn edge_health_reports_public_services_by_backend() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let config = config();
    let identity = spawn_backend(&config).await;
    let closed = closed_port();
    let backends = Backends::default().with(Backend::Identity, identity.url()).with(Backend::Catalog, closed.url());
    let edge = spawn_edge(&config, backends).await;
    let mut client = HealthClient::new(channel(&edge).await);
    let status = |service: &'static str| {
        let mut client = client.clone();
        async move {
            client
                .check(HealthCheckRequest { service: service.into() })
                .await
                .map(|response| response.into_inner().status)
                .unwrap_or(-1)
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while status("rustbill.identity.IdentityService").await != ServingStatus::Serving as i32 {
        assert!(tokio::time::Instant::now() < deadline, "identity never reported SERVING");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status("rustbill.customer.CustomerService").await, ServingStatus::Serving as i32);
    assert_eq!(status("rustbill.system.SystemService").await, ServingStatus::Serving as i32);
    assert_eq!(status("rustbill.product.ProductService").await, ServingStatus::NotServing as i32);
    assert_eq!(status("").await, ServingStatus::NotServing as i32);
    let _ = client.check(HealthCheckRequest { service: String::new() }).await;
}

#[tokio::test]
async fn plain_http_paths() {
    let (edge, _backend) = setup(config()).await;
    let answer = http1(edge.addr, get("/favicon.ico").body(empty()).unwrap()).await;
    assert_eq!(answer.status, 404);
    let answer = http1(edge.addr, get(GET_ME).body(empty()).unwrap()).await;
    assert_eq!(answer.status, 415);
    let answer = http1(edge.addr, get("/ready").body(empty()).unwrap()).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn serve_returns_after_shutdown() {
    let (edge, _backend) = setup(config()).await;
    let answer = http1(edge.addr, get("/health").body(empty()).unwrap()).await;
    assert_eq!(answer.status, 200);
    let addr = edge.addr;
    tokio::time::timeout(Duration::from_secs(15), edge.stop()).await.expect("serve returns").unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the listener is closed");
}

#[tokio::test]
async fn request_ids_are_generated_when_missing_or_unsafe() {
    let (edge, backend) = setup(config()).await;
    let request = grpc_web(GET_ME).header("x-request-id", "bad id with spaces").body(grpc_web_body(b"")).unwrap();
    let answer = http1(edge.addr, request).await;
    let id = answer.header("x-request-id").unwrap().to_string();
    assert_ne!(id, "bad id with spaces");
    assert!(Uuid::parse_str(&id).is_ok(), "{id}");
    let event = backend.events_for("GetMe").pop().unwrap();
    assert_eq!(event.caller.unwrap().request_id, id);
    assert!(answer.header("traceparent").unwrap().starts_with("00-"));
}

/// Starts a real `redis-server` (installed by `make test`) on a free port.
async fn start_redis() -> (tokio::process::Child, String) {
    let port = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let child = tokio::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server is not installed (make test installs it: apt-get install redis-server)");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "redis-server did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (child, format!("redis://127.0.0.1:{port}"))
}

#[tokio::test]
async fn redis_shares_the_count_between_edges_and_memory_takes_over_when_it_fails() {
    let (mut redis, url) = start_redis().await;
    let mut config = config();
    config.rate_limit.login_per_sec = 2;
    config.redis.enabled = true;
    config.redis.url = secrecy::SecretString::from(url);
    config.redis.prefix = format!("edgetest-{}", Uuid::now_v7());
    let backend = spawn_backend(&config).await;
    let backends = Backends::default().with(Backend::Identity, backend.url());
    let first = spawn_edge(&config, backends.clone()).await;
    let second = spawn_edge(&config, backends).await;
    let login = || grpc_web(LOGIN).body(grpc_web_body(b"")).unwrap();

    // Start right after a second boundary so the three calls share a window.
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    tokio::time::sleep(
        Duration::from_nanos(1_000_000_000 - u64::from(since_epoch.subsec_nanos())) + Duration::from_millis(5),
    )
    .await;
    assert_web_ok(&http1(first.addr, login()).await, b"");
    assert_web_ok(&http1(second.addr, login()).await, b"");
    let answer = http1(first.addr, login()).await;
    assert_eq!(answer.header("grpc-status"), Some("8"), "the count is shared: {answer:?}");

    // Redis goes away: each edge counts in memory, still limiting.
    redis.kill().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let started = std::time::Instant::now();
    assert_web_ok(&http1(second.addr, login()).await, b"");
    assert!(started.elapsed() < Duration::from_secs(2), "a dead Redis does not stall logins");
    assert_web_ok(&http1(second.addr, login()).await, b"");
    let answer = http1(second.addr, login()).await;
    assert_eq!(answer.header("grpc-status"), Some("8"), "memory limits when Redis is down: {answer:?}");
}
