//! Request ids and W3C trace context follow a request from the client
//! through the edge into identity and on into payments, so one grep finds
//! every log line of a request.

use rustbill_proto::customer::customer_service_client::CustomerServiceClient;
use rustbill_proto::customer::{CreateCustomerRequest, GetCustomerRequest};
use rustbill_system_tests::{Settings, TestServer, flows, session, with_header};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test]
async fn request_id_and_trace_cross_every_service_hop() {
    let server = TestServer::start_with(
        Settings::default()
            .with("RUSTBILL_RATE_LIMIT__ENABLED", "false")
            .with("RUST_LOG", "info,tower_http=debug")
            .with("RUST_LOG_FORMAT", "json"),
    )
    .await
    .unwrap();
    let admin = flows::bootstrap_admin(&server).await;
    let mut customers = CustomerServiceClient::new(server.channel().await);
    let created = customers
        .create_customer(session(CreateCustomerRequest { name: "Traced Ltd".into(), ..Default::default() }, &admin))
        .await
        .unwrap()
        .into_inner()
        .customer
        .unwrap();

    let request = session(GetCustomerRequest { id: created.id }, &admin);
    let request = with_header(request, "x-request-id", "trace-me-123");
    let request = with_header(request, "traceparent", &format!("00-{TRACE_ID}-00f067aa0ba902b7-01"));
    let response = customers.get_customer(request).await.expect("get customer");
    assert_eq!(response.metadata().get("x-request-id").unwrap(), "trace-me-123");
    let echoed = response.metadata().get("traceparent").unwrap().to_str().unwrap().to_string();
    assert!(echoed.contains(TRACE_ID), "the edge continues the client's trace: {echoed}");

    let lines_for = |path: &str| -> Vec<serde_json::Value> {
        server
            .log()
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|entry| entry.to_string().contains(path) && entry.to_string().contains("trace-me-123"))
            .collect()
    };
    let seen = rustbill_shared::testkit::wait_for("log lines of both hops", std::time::Duration::from_secs(10), || {
        let identity = lines_for("/rustbill.customer.CustomerService/GetCustomer");
        let payments = lines_for("/rustbill.internal.balances.BalancesService/GetBalance");
        async move { (!identity.is_empty() && !payments.is_empty()).then_some((identity, payments)) }
    })
    .await;
    for entry in seen.0.iter().chain(seen.1.iter()) {
        assert!(entry.to_string().contains(TRACE_ID), "every hop logs the client's trace id: {entry}");
    }
}
