//! Tracing setup and request correlation.
//!
//! `RUST_LOG` filters (default `info`); `RUST_LOG_FORMAT=json` switches to
//! one JSON object per line. The edge gives every request an `x-request-id`
//! (UUID v7, unless the client sent a sane one) and a W3C `traceparent`,
//! and services log both and pass them on when they call each other.

use std::sync::Once;

use rand::RngCore;
use tracing_subscriber::EnvFilter;

static INIT: Once = Once::new();

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    INIT.call_once(|| {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
        let json = std::env::var("RUST_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
        let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(true);
        let result = if json {
            builder.json().flatten_event(true).with_current_span(true).try_init()
        } else {
            builder.try_init()
        };
        if result.is_err() {
            // A test harness or an embedding program installed one already.
        }
    });
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
