//! `[telemetry]`: one order is one trace in a real OTLP receiver, from the
//! edge through the orders service, payments, the outbox consumers, the
//! provider plugin and the notifications; and the metrics (requests,
//! pools, breakers, outbox depth) arrive at the same receiver.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rustbill_proto::integration::CallPluginActionRequest;
use rustbill_proto::integration::integration_service_client::IntegrationServiceClient;
use rustbill_shared::telemetry::TraceParent;
use rustbill_shared::testkit::wait_for;
use rustbill_system_tests::otlp::{OtlpReceiver, ReceivedSpan, value_text};
use rustbill_system_tests::{bearer, session};

use crate::orders::Shop;

const CREATE_ORDER: &str = "/rustbill.order.OrderService/CreateOrder";
/// OTLP `SpanKind`s.
const SERVER: i32 = 2;
const CONSUMER: i32 = 5;

fn find(spans: &[ReceivedSpan], what: impl Fn(&ReceivedSpan) -> bool) -> Option<&ReceivedSpan> {
    spans.iter().find(|span| what(span))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_is_one_trace_and_metrics_are_exported() {
    let receiver = OtlpReceiver::start().await.expect("OTLP receiver");
    let endpoint = receiver.endpoint();
    let shop = Shop::open_with(
        "",
        false,
        &[
            ("RUSTBILL_TELEMETRY__ENABLED", "true"),
            ("RUSTBILL_TELEMETRY__OTLP_ENDPOINT", &endpoint),
            ("RUSTBILL_TELEMETRY__SERVICE_NAME", "rustbill-e2e"),
            // The SDK's own knobs: export often so the test does not wait.
            ("OTEL_BSP_SCHEDULE_DELAY", "200"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
        ],
    )
    .await;
    let customer = shop.customer("traced_customer").await;
    shop.credit(&customer, "50.00").await;

    let response = shop
        .orders()
        .create_order(bearer(shop.order_request("balance"), &customer.access_token))
        .await
        .expect("create order");
    let echoed = response.metadata().get("traceparent").expect("traceparent").to_str().unwrap().to_string();
    let trace = TraceParent::parse(&echoed).expect("a W3C traceparent");
    let trace_id = trace.trace_id_hex();
    let order = response.into_inner().order.expect("order");
    shop.settled(&order.id, "active").await;

    // Everything the order caused, in one trace.
    let spans = wait_for("the order's whole trace at the receiver", Duration::from_secs(30), || async {
        let spans: Vec<ReceivedSpan> = receiver.spans().into_iter().filter(|span| span.trace_id == trace_id).collect();
        let names: Vec<&str> = spans.iter().map(|span| span.name.as_str()).collect();
        let complete = ["orders.payments ", "orders.provisioner ", "notify.broadcast "]
            .iter()
            .all(|consumer| names.iter().any(|name| name.starts_with(consumer)))
            && names.contains(&"plugin demo.create_instance")
            && names.iter().filter(|name| **name == CREATE_ORDER).count() == 2;
        complete.then_some(spans)
    })
    .await;
    let by_id: HashMap<&str, &ReceivedSpan> = spans.iter().map(|span| (span.span_id.as_str(), span)).collect();
    let roots: Vec<&ReceivedSpan> = spans.iter().filter(|span| span.parent_span_id.is_empty()).collect();
    assert_eq!(roots.len(), 1, "one root: {roots:#?}");
    let edge = roots[0];
    assert_eq!((edge.name.as_str(), edge.kind), (CREATE_ORDER, SERVER), "the root is the edge's span");
    assert!(edge.attribute("client_ip").is_some(), "the edge's span: {edge:?}");
    assert_eq!(edge.span_id, hex::encode(trace.span_id), "the edge echoes its own span as traceparent");
    for span in &spans {
        assert_eq!(span.service_name, "rustbill-e2e", "resource of {}", span.name);
        if !span.parent_span_id.is_empty() {
            assert!(
                by_id.contains_key(span.parent_span_id.as_str()),
                "{} hangs under a span that is not in the trace: {span:?}",
                span.name
            );
        }
    }
    // The chain: edge → orders' rpc → … → the provisioner's delivery → the
    // plugin's create_instance.
    let service = find(&spans, |span| span.name == CREATE_ORDER && span.attribute("rpc.system") == Some("grpc"))
        .expect("the orders service's span");
    assert_eq!(service.parent_span_id, edge.span_id, "the service's span is the edge's child");
    let provisioner = find(&spans, |span| span.name.starts_with("orders.provisioner ")).unwrap();
    assert_eq!(provisioner.kind, CONSUMER);
    assert!(provisioner.attribute("handled_by").is_some(), "{provisioner:?}");
    let plugin = find(&spans, |span| span.name == "plugin demo.create_instance").unwrap();
    let mut ancestor = plugin;
    let mut chain = vec![plugin.name.clone()];
    while let Some(parent) = by_id.get(ancestor.parent_span_id.as_str()) {
        chain.push(parent.name.clone());
        ancestor = parent;
    }
    assert_eq!(ancestor.span_id, edge.span_id, "the plugin call leads back to the edge: {chain:?}");
    assert!(chain.contains(&provisioner.name), "the plugin runs under the provisioner's delivery: {chain:?}");
    println!("plugin call's ancestry: {}", chain.join(" <- "));

    // A dead host's breaker opens (five failed calls) and shows as open.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap().to_string();
    drop(dead);
    for _ in 0..5 {
        IntegrationServiceClient::new(shop.channel.clone())
            .call_plugin_action(session(
                CallPluginActionRequest {
                    interface_id: shop.provider.clone(),
                    function: "fetch".into(),
                    args_json: serde_json::json!({ "url": format!("http://{dead_addr}/x") }).to_string(),
                },
                &shop.admin,
            ))
            .await
            .expect("fetch action");
    }

    // Metrics: requests, pools, breakers, outbox depth.
    let wanted = [
        "rustbill.requests",
        "rustbill.request.duration",
        "rustbill.rpc.server.duration",
        "rustbill.db.pool.connections",
        "rustbill.http.breaker.state",
        "rustbill.outbox.depth",
    ];
    wait_for("every metric at the receiver", Duration::from_secs(30), || async {
        let names = receiver.metric_names();
        let open = gauge_points(&receiver, "rustbill.http.breaker.state")
            .iter()
            .any(|(attributes, value)| attributes.contains(&("host".to_string(), dead_addr.clone())) && *value == 2);
        (wanted.iter().all(|name| names.iter().any(|have| have == name)) && open).then_some(())
    })
    .await;
    let pools = gauge_points(&receiver, "rustbill.db.pool.connections");
    let schemas: HashSet<String> = pools
        .iter()
        .filter_map(|(attributes, _)| {
            attributes.iter().find(|(key, _)| key == "schema").map(|(_, value)| value.clone())
        })
        .collect();
    for schema in ["identity", "catalog", "orders", "payments", "notify", "plugins"] {
        assert!(schemas.contains(schema), "pool of {schema} reported: {schemas:?}");
    }
    let depth = gauge_points(&receiver, "rustbill.outbox.depth");
    assert!(
        depth
            .iter()
            .any(|(attributes, _)| attributes.contains(&("consumer".to_string(), "orders.provisioner".to_string()))),
        "outbox depth per consumer: {depth:?}"
    );
}

/// The data points of gauge `name`, as (attributes, value), from every
/// export received.
fn gauge_points(receiver: &OtlpReceiver, name: &str) -> Vec<(Vec<(String, String)>, i64)> {
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;
    use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
    let mut points = Vec::new();
    for request in receiver.metrics() {
        for metric in request
            .resource_metrics
            .iter()
            .flat_map(|resource| resource.scope_metrics.iter())
            .flat_map(|scope| scope.metrics.iter())
            .filter(|metric| metric.name == name)
        {
            if let Some(Data::Gauge(gauge)) = &metric.data {
                for point in &gauge.data_points {
                    let attributes = point
                        .attributes
                        .iter()
                        .map(|pair| (pair.key.clone(), value_text(pair.value.as_ref())))
                        .collect();
                    let value = match point.value {
                        Some(Value::AsInt(value)) => value,
                        Some(Value::AsDouble(value)) => value as i64,
                        None => continue,
                    };
                    points.push((attributes, value));
                }
            }
        }
    }
    points
}
