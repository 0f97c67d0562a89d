//! Metrics exported over OTLP when `[telemetry]` is enabled (spec
//! operations manual §7.4): requests and their latency, connection pools,
//! circuit breakers, outbox depth. Without export the global meter is the
//! no-op one and recording costs next to nothing.
//!
//! | name | kind | attributes |
//! |---|---|---|
//! | `rustbill.requests` | counter | `path`, `grpc.status` (the edge: every client call) |
//! | `rustbill.request.duration` | histogram (s) | `path`, `grpc.status` |
//! | `rustbill.rpc.server.duration` | histogram (s) | `path`, `http.status` (every call a service serves) |
//! | `rustbill.db.pool.connections` | gauge | `schema`, `state` = idle / active / max |
//! | `rustbill.http.breaker.state` | gauge | `host`; 0 closed, 1 half-open, 2 open |
//! | `rustbill.outbox.depth` | gauge | `consumer`, `status` = pending / parked |

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};
use sqlx::PgPool;

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Marks metrics as exported ([`crate::telemetry::init_with`]), which turns
/// on the work that only feeds them (the outbox depth query).
pub(crate) fn set_exporting() {
    EXPORTING.store(true, Ordering::Relaxed);
}

/// Whether metrics are exported.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The meter of every RustBill instrument.
pub fn meter() -> Meter {
    opentelemetry::global::meter("rustbill")
}

struct Requests {
    count: Counter<u64>,
    duration: Histogram<f64>,
    service_duration: Histogram<f64>,
}

fn requests() -> &'static Requests {
    static REQUESTS: OnceLock<Requests> = OnceLock::new();
    REQUESTS.get_or_init(|| {
        let meter = meter();
        Requests {
            count: meter.u64_counter("rustbill.requests").with_description("Client calls through the edge").build(),
            duration: meter
                .f64_histogram("rustbill.request.duration")
                .with_unit("s")
                .with_description("Latency of client calls through the edge")
                .build(),
            service_duration: meter
                .f64_histogram("rustbill.rpc.server.duration")
                .with_unit("s")
                .with_description("Latency of calls a service served")
                .build(),
        }
    })
}

/// One client call finished at the edge.
pub fn record_request(path: &str, grpc_status: &str, elapsed: Duration) {
    if !exporting() {
        return;
    }
    let attributes = [KeyValue::new("path", path.to_string()), KeyValue::new("grpc.status", grpc_status.to_string())];
    let requests = requests();
    requests.count.add(1, &attributes);
    requests.duration.record(elapsed.as_secs_f64(), &attributes);
}

/// One call served by a service.
pub fn record_service_call(path: &str, http_status: u16, elapsed: Duration) {
    if !exporting() {
        return;
    }
    let attributes = [KeyValue::new("path", path.to_string()), KeyValue::new("http.status", i64::from(http_status))];
    requests().service_duration.record(elapsed.as_secs_f64(), &attributes);
}

/// Reports `pool`'s connections (idle, active, max) as `schema`'s.
pub fn observe_pool(schema: &str, pool: PgPool) {
    if !exporting() {
        return;
    }
    let schema = schema.to_string();
    // The callback stays registered with the provider; the handle is not needed.
    let _gauge = meter()
        .i64_observable_gauge("rustbill.db.pool.connections")
        .with_description("Connections of a service's PostgreSQL pool")
        .with_callback(move |observer| {
            if pool.is_closed() {
                return;
            }
            let size = i64::from(pool.size());
            let idle = i64::try_from(pool.num_idle()).unwrap_or(i64::MAX);
            let max = i64::from(pool.options().get_max_connections());
            for (state, value) in [("idle", idle), ("active", size - idle), ("max", max)] {
                observer.observe(value, &[KeyValue::new("schema", schema.clone()), KeyValue::new("state", state)]);
            }
        })
        .build();
}

/// Reports circuit breaker states; `snapshot` lists `(host, state)` with
/// state 0 closed, 1 half-open, 2 open.
pub fn observe_breakers(snapshot: impl Fn() -> Vec<(String, i64)> + Send + Sync + 'static) {
    if !exporting() {
        return;
    }
    let _gauge = meter()
        .i64_observable_gauge("rustbill.http.breaker.state")
        .with_description("Circuit breaker per downstream host: 0 closed, 1 half-open, 2 open")
        .with_callback(move |observer| {
            for (host, state) in snapshot() {
                observer.observe(state, &[KeyValue::new("host", host)]);
            }
        })
        .build();
}

/// The outbox depth of one service's consumers, refreshed by
/// [`OutboxDepth::refresh`] (a gauge callback cannot query the database).
#[derive(Clone, Default)]
pub struct OutboxDepth {
    counts: Arc<Mutex<Vec<(String, String, i64)>>>,
}

impl OutboxDepth {
    /// Registers the gauge for the consumers named `<schema>.…`.
    pub fn register() -> Self {
        let depth = Self::default();
        if exporting() {
            let counts = depth.counts.clone();
            let _gauge = meter()
                .i64_observable_gauge("rustbill.outbox.depth")
                .with_description("Deliveries not done, per consumer: pending or parked")
                .with_callback(move |observer| {
                    for (consumer, status, count) in counts.lock().unwrap_or_else(PoisonError::into_inner).iter() {
                        observer.observe(
                            *count,
                            &[KeyValue::new("consumer", consumer.clone()), KeyValue::new("status", status.clone())],
                        );
                    }
                })
                .build();
        }
        depth
    }

    /// Counts the open deliveries of `schema`'s consumers.
    pub async fn refresh(&self, pool: &PgPool, schema: &str) -> sqlx::Result<()> {
        if !exporting() {
            return Ok(());
        }
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "select s.consumer, st.status, count(d.event_id)
             from (select distinct consumer from bus.subscription where consumer like $1 || '.%') s
             cross join (values ('pending'), ('parked')) as st(status)
             left join bus.delivery d on d.consumer = s.consumer and d.status = st.status
             group by s.consumer, st.status",
        )
        .bind(schema)
        .fetch_all(pool)
        .await?;
        *self.counts.lock().unwrap_or_else(PoisonError::into_inner) = rows;
        Ok(())
    }
}
