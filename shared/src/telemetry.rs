//! Tracing setup, request correlation and OpenTelemetry export.
//!
//! `RUST_LOG` filters (default `info`); `RUST_LOG_FORMAT=json` switches to
//! one JSON object per line. The edge gives every request an `x-request-id`
//! (UUID v7, unless the client sent a sane one) and a W3C `traceparent`,
//! and services log both and pass them on when they call each other.
//!
//! With `[telemetry] enabled = true`, spans (the edge's request span, every
//! service's `rpc` span, bus deliveries, plugin calls) are exported over
//! OTLP/gRPC to `otlp_endpoint` and connected into one trace: the edge
//! forwards its own span as `traceparent`, services parent their `rpc` span
//! on it and forward their current span when they call another service, and
//! an event carries the span that published it to the consumers' delivery
//! spans. Metrics (requests, connection pools, circuit breakers, outbox
//! depth; see [`metrics`]) go to the same endpoint. The SDK's standard
//! `OTEL_BSP_*` and `OTEL_METRIC_EXPORT_*` variables tune the batching.

use std::sync::Once;

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_otlp::WithExportConfig;
use rand::RngCore;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::TelemetryConfig;

static INIT: Once = Once::new();

/// Installs the global subscriber (logs only) once; later calls do nothing.
pub fn init() {
    INIT.call_once(|| install(None));
}

/// The exporters installed by [`init_with`]; [`Telemetry::shutdown`] sends
/// what is still buffered.
#[derive(Debug, Default)]
#[must_use = "dropping the guard does not flush; call shutdown() before exiting"]
pub struct Telemetry {
    tracer: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
    meter: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn exporting(&self) -> bool {
        self.tracer.is_some()
    }

    /// Exports what is buffered and stops the exporters (process exit).
    pub async fn shutdown(self) {
        let Self { tracer, meter } = self;
        // The SDK's shutdown blocks until the async exporters are done,
        // which needs the runtime's other threads.
        let stopped = tokio::task::spawn_blocking(move || {
            if let Some(tracer) = tracer
                && let Err(error) = tracer.shutdown()
            {
                eprintln!("telemetry: failed to flush spans: {error}");
            }
            if let Some(meter) = meter
                && let Err(error) = meter.shutdown()
            {
                eprintln!("telemetry: failed to flush metrics: {error}");
            }
        });
        if tokio::time::timeout(std::time::Duration::from_secs(10), stopped).await.is_err() {
            eprintln!("telemetry: the exporters did not stop within 10 s");
        }
    }
}

/// Installs the global subscriber once, with OTLP export of spans and
/// metrics when `config.enabled`; `component` ("server", "orders", ...)
/// becomes the `service.instance` part of the resource. Must run inside
/// the tokio runtime. Later calls return an inert guard.
pub fn init_with(config: &TelemetryConfig, component: &str) -> Telemetry {
    let mut telemetry = Telemetry::default();
    INIT.call_once(|| {
        if !config.enabled {
            install(None);
            return;
        }
        match exporters(config, component) {
            Ok((tracer, meter)) => {
                use opentelemetry::trace::TracerProvider as _;
                let layer = tracing_opentelemetry::layer().with_tracer(tracer.tracer("rustbill"));
                install(Some(Box::new(layer)));
                opentelemetry::global::set_meter_provider(meter.clone());
                crate::metrics::set_exporting();
                tracing::info!(endpoint = %config.otlp_endpoint, service = %config.service_name, "exporting traces and metrics over OTLP");
                telemetry = Telemetry { tracer: Some(tracer), meter: Some(meter) };
            }
            Err(error) => {
                install(None);
                tracing::warn!(endpoint = %config.otlp_endpoint, %error, "[telemetry] OTLP export could not be set up; traces stay in the logs");
            }
        }
    });
    telemetry
}

type BoxedLayer = Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>;

fn install(otel: Option<BoxedLayer>) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("RUST_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let fmt: BoxedLayer = if json {
        Box::new(tracing_subscriber::fmt::layer().with_target(true).json().flatten_event(true).with_current_span(true))
    } else {
        Box::new(tracing_subscriber::fmt::layer().with_target(true))
    };
    let layers: Vec<BoxedLayer> = std::iter::once(fmt).chain(otel).collect();
    if tracing_subscriber::registry().with(layers).with(filter).try_init().is_err() {
        // A test harness or an embedding program installed one already.
    }
}

fn exporters(
    config: &TelemetryConfig,
    component: &str,
) -> anyhow::Result<(opentelemetry_sdk::trace::SdkTracerProvider, opentelemetry_sdk::metrics::SdkMeterProvider)> {
    use opentelemetry_sdk::runtime::Tokio;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(config.service_name.clone())
        .with_attribute(opentelemetry::KeyValue::new("service.component", component.to_string()))
        .with_attribute(opentelemetry::KeyValue::new("host.name", crate::leader::hostname()))
        .build();
    let spans =
        opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(config.otlp_endpoint.clone()).build()?;
    let processor =
        opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(spans, Tokio).build();
    let tracer = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(resource.clone())
        .build();
    let metrics = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_endpoint(config.otlp_endpoint.clone())
        .build()?;
    let reader =
        opentelemetry_sdk::metrics::periodic_reader_with_async_runtime::PeriodicReader::builder(metrics, Tokio).build();
    let meter =
        opentelemetry_sdk::metrics::SdkMeterProvider::builder().with_reader(reader).with_resource(resource).build();
    Ok((tracer, meter))
}

/// Makes `span` a child of `parent` in the exported trace. Call it right
/// after creating the span. Without export this does nothing.
pub fn set_parent(span: &tracing::Span, parent: &TraceParent) {
    let flags = if parent.sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
    let remote = SpanContext::new(
        TraceId::from_bytes(parent.trace_id),
        SpanId::from_bytes(parent.span_id),
        flags,
        true,
        TraceState::default(),
    );
    // Only fails when the span has started already: it then keeps its own.
    span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote)).ok();
}

/// The exported span `span` stands for, as a `traceparent` for the next
/// hop; `None` when spans are not exported.
pub fn span_context(span: &tracing::Span) -> Option<TraceParent> {
    let context = span.context();
    let otel = context.span();
    let current = otel.span_context();
    current.is_valid().then(|| TraceParent {
        trace_id: current.trace_id().to_bytes(),
        span_id: current.span_id().to_bytes(),
        sampled: current.is_sampled(),
    })
}

/// [`span_context`] of the current span.
pub fn current() -> Option<TraceParent> {
    span_context(&tracing::Span::current())
}

/// A W3C trace context (`traceparent` version 00).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub sampled: bool,
}

impl TraceParent {
    /// A new root trace.
    pub fn new_root() -> Self {
        let mut rng = rand::rng();
        let mut trace_id = [0u8; 16];
        let mut span_id = [0u8; 8];
        rng.fill_bytes(&mut trace_id);
        rng.fill_bytes(&mut span_id);
        Self { trace_id, span_id, sampled: true }
    }

    /// Parses `00-<32 hex>-<16 hex>-<2 hex>`; anything else is `None`.
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let version = parts.next()?;
        let trace = parts.next()?;
        let span = parts.next()?;
        let flags = parts.next()?;
        if version != "00" || parts.next().is_some() || trace.len() != 32 || span.len() != 16 || flags.len() != 2 {
            return None;
        }
        let mut trace_id = [0u8; 16];
        let mut span_id = [0u8; 8];
        hex::decode_to_slice(trace, &mut trace_id).ok()?;
        hex::decode_to_slice(span, &mut span_id).ok()?;
        let flags = u8::from_str_radix(flags, 16).ok()?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self { trace_id, span_id, sampled: flags & 1 == 1 })
    }

    /// The same trace with a new span id, for the next hop.
    pub fn child(&self) -> Self {
        let mut span_id = [0u8; 8];
        rand::rng().fill_bytes(&mut span_id);
        Self { trace_id: self.trace_id, span_id, sampled: self.sampled }
    }

    pub fn trace_id_hex(&self) -> String {
        hex::encode(self.trace_id)
    }
}

impl std::fmt::Display for TraceParent {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "00-{}-{}-{:02x}",
            hex::encode(self.trace_id),
            hex::encode(self.span_id),
            u8::from(self.sampled)
        )
    }
}

/// Accepts a client request id only when it is short and plain; otherwise
/// a fresh UUID v7 is used (ids end up in logs).
pub fn sanitize_request_id(candidate: Option<&str>) -> String {
    match candidate {
        Some(id)
            if !id.is_empty()
                && id.len() <= 64
                && id.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_') =>
        {
            id.to_string()
        }
        _ => uuid::Uuid::now_v7().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parsed = TraceParent::parse(header).unwrap();
        assert_eq!(parsed.to_string(), header);
        let child = parsed.child();
        assert_eq!(child.trace_id, parsed.trace_id);
        assert_ne!(child.span_id, parsed.span_id);
    }

    #[test]
    fn malformed_traceparents_are_ignored() {
        assert!(TraceParent::parse("").is_none());
        assert!(TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").is_none());
        assert!(TraceParent::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
        assert!(TraceParent::parse("00-xyz-00f067aa0ba902b7-01").is_none());
        let root = TraceParent::new_root();
        assert_eq!(TraceParent::parse(&root.to_string()), Some(root));
    }

    #[test]
    fn request_ids_are_sanitised() {
        assert_eq!(sanitize_request_id(Some("abc-123")), "abc-123");
        let generated = sanitize_request_id(Some("bad id\nwith newline"));
        assert_eq!(generated.len(), 36);
        assert_eq!(sanitize_request_id(None).len(), 36);
        assert_eq!(sanitize_request_id(Some(&"a".repeat(65))).len(), 36);
    }
}
