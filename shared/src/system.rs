//! RustBill extension: the admin dashboard and the merged operation log.
//!
//! Every service serves `rustbill.internal.system.SystemPartService` with
//! [`SystemPart`]: its own `operation_logs` table (same columns in every
//! schema, unqualified name through the search path) and its own dashboard
//! numbers, computed by a per-service [`DashboardFn`] given at
//! registration. Identity serves the public `rustbill.system.SystemService`
//! and merges the parts; the helpers it needs for that (day windows, gap
//! filling, merging logs newest first) live here so they are tested once.

use std::cmp::Ordering;
use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use futures::future::BoxFuture;
use rust_decimal::Decimal;
use rustbill_proto::internal::system::system_part_service_server::{SystemPartService, SystemPartServiceServer};
use rustbill_proto::internal::system::{
    DashboardPart, DashboardPartRequest, OperationLogsPart, OperationLogsPartRequest,
};
use rustbill_proto::system::{Counter, DailyPoint, DailySeries, LeaderRole, OperationLog, ServiceInstance};
use sqlx::PgPool;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::grpc::respond;
use crate::money::Money;
use crate::principal::{self, Principal, PrincipalVerifier};

/// The services that have a part, in the order the dashboard lists them.
pub const SERVICES: [&str; 6] = ["identity", "catalog", "orders", "payments", "plugins", "notify"];

/// Only the first this many entries of a filter can be paged through.
pub const MAX_LOG_ENTRIES: u32 = 10_000;

/// Dashboard window when the request says 0 days.
pub const DEFAULT_DAYS: u32 = 30;
/// Longest dashboard window.
pub const MAX_DAYS: u32 = 366;

/// Daily series whose values are money (two decimals); the others count.
pub const MONEY_SERIES: &[&str] = &["revenue", "refunds"];

/// A heartbeat younger than this is a running instance.
pub const LIVE_INSTANCE_SECS: i32 = 30;

/// The days of a dashboard window, ending today (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub days: u32,
    /// The oldest day of the window.
    pub first: NaiveDate,
    pub today: NaiveDate,
}

impl Window {
    /// `days` days ending with the day of `now` (UTC); at least one day,
    /// at most [`MAX_DAYS`].
    pub fn ending(now: DateTime<Utc>, days: u32) -> Self {
        let days = days.clamp(1, MAX_DAYS);
        let today = now.date_naive();
        let first = today - Duration::days(i64::from(days) - 1);
        Self { days, first, today }
    }

    /// `days` days ending today.
    pub fn ending_today(days: u32) -> Self {
        Self::ending(Utc::now(), days)
    }

    /// Midnight (UTC) at the start of the oldest day: the `$1` of a
    /// [`daily`] query.
    pub fn since(&self) -> DateTime<Utc> {
        self.first.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
    }

    /// Every day of the window, oldest first.
    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let first = self.first;
        (0..i64::from(self.days)).map(move |offset| first + Duration::days(offset))
    }
}

/// The window a request asks for: 0 means [`DEFAULT_DAYS`]; more than
/// [`MAX_DAYS`] is refused.
pub fn requested_days(days: u32) -> AppResult<u32> {
    match days {
        0 => Ok(DEFAULT_DAYS),
        days if days > MAX_DAYS => Err(AppError::invalid_field("days", format!("must be at most {MAX_DAYS}"))),
        days => Ok(days),
    }
}

/// A counted counter.
pub fn counter(name: &str, value: i64) -> Counter {
    Counter { name: name.to_string(), value: value.to_string() }
}

/// A money counter (two decimals).
pub fn money_counter(name: &str, value: Decimal) -> Counter {
    Counter { name: name.to_string(), value: Money::from_decimal(value).to_string() }
}

fn is_money_series(name: &str) -> bool {
    MONEY_SERIES.contains(&name)
}

fn format_value(money: bool, value: Decimal) -> String {
    if money { Money::from_decimal(value).to_string() } else { value.trunc().normalize().to_string() }
}

/// A daily series from `sql`, which takes the window's start
/// ([`Window::since`]) as `$1` and returns `(date, numeric)` rows: one per
/// UTC day with a value. Money series (see [`MONEY_SERIES`]) get two
/// decimals. Days without a row are left out; [`fill_series`] adds them.
pub async fn daily(pool: &PgPool, name: &str, sql: &'static str, window: &Window) -> AppResult<DailySeries> {
    let rows: Vec<(NaiveDate, Option<Decimal>)> = sqlx::query_as(sql).bind(window.since()).fetch_all(pool).await?;
    let money = is_money_series(name);
    let mut points: Vec<DailyPoint> = rows
        .into_iter()
        .filter(|(date, _)| *date >= window.first && *date <= window.today)
        .map(|(date, value)| DailyPoint {
            date: date.format("%Y-%m-%d").to_string(),
            value: format_value(money, value.unwrap_or_default()),
        })
        .collect();
    points.sort_by(|a, b| a.date.cmp(&b.date));
    Ok(DailySeries { name: name.to_string(), points })
}

/// `series` with exactly one point per day of `window`, oldest first:
/// missing days are zero ("0", or "0.00" for money series), points outside
/// the window are dropped, and two points of one day are added up.
pub fn fill_series(series: &DailySeries, window: &Window) -> DailySeries {
    let money = is_money_series(&series.name);
    let mut by_day: std::collections::BTreeMap<NaiveDate, Decimal> = std::collections::BTreeMap::new();
    for point in &series.points {
        let Ok(date) = NaiveDate::parse_from_str(&point.date, "%Y-%m-%d") else { continue };
        let value = point.value.parse::<Decimal>().unwrap_or_default();
        *by_day.entry(date).or_default() += value;
    }
    let points = window
        .dates()
        .map(|date| DailyPoint {
            date: date.format("%Y-%m-%d").to_string(),
            value: format_value(money, by_day.get(&date).copied().unwrap_or_default()),
        })
        .collect();
    DailySeries { name: series.name.clone(), points }
}

/// Running instances (heartbeat younger than [`LIVE_INSTANCE_SECS`]),
/// by service, oldest first.
pub async fn live_instances(pool: &PgPool) -> AppResult<Vec<ServiceInstance>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        instance_id: Uuid,
        service: String,
        hostname: String,
        registered_at: DateTime<Utc>,
        heartbeat_at: DateTime<Utc>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "select instance_id, service, hostname, registered_at, heartbeat_at from bus.instance_heartbeat
         where heartbeat_at > now() - make_interval(secs => $1)
         order by service, registered_at, instance_id",
    )
    .bind(LIVE_INSTANCE_SECS)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ServiceInstance {
            instance_id: row.instance_id.to_string(),
            service: row.service,
            hostname: row.hostname,
            started_at: crate::ids::format_time(row.registered_at),
            last_heartbeat_at: crate::ids::format_time(row.heartbeat_at),
        })
        .collect())
}

/// Every leader role: its holder while the lease is live (else empty),
/// and when the lease ends (empty when nobody was holding it).
pub async fn leader_roles(pool: &PgPool) -> AppResult<Vec<LeaderRole>> {
    let rows: Vec<(String, Option<Uuid>, DateTime<Utc>, bool)> = sqlx::query_as(
        "select role, holder, heartbeat_at + make_interval(secs => ttl_secs),
                heartbeat_at + make_interval(secs => ttl_secs) > now()
         from bus.leader_role order by role",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(role, holder, expires_at, live)| LeaderRole {
            role,
            holder: holder.filter(|_| live).map(|id| id.to_string()).unwrap_or_default(),
            expires_at: holder.map(|_| crate::ids::format_time(expires_at)).unwrap_or_default(),
        })
        .collect())
}

/// Validated filters of an operation log query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

impl LogFilter {
    /// Empty values mean "no filter"; `since` and `until` must be RFC 3339
    /// times (both bounds inclusive) and `until` must not be before `since`.
    pub fn parse(
        action: &str,
        actor: &str,
        target_type: &str,
        target_id: &str,
        since: &str,
        until: &str,
    ) -> AppResult<Self> {
        let time =
            |field: &str, text: &str| optional(text).map(|text| crate::ids::parse_time(field, &text)).transpose();
        let filter = Self {
            action: optional(action),
            actor: optional(actor),
            target_type: optional(target_type),
            target_id: optional(target_id),
            since: time("since", since)?,
            until: time("until", until)?,
        };
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && until < since
        {
            return Err(AppError::invalid_field("until", "is before since"));
        }
        for (field, value) in
            [("action", &filter.action), ("actor", &filter.actor), ("target_type", &filter.target_type)]
        {
            if value.as_ref().is_some_and(|value| value.chars().count() > 200) {
                return Err(AppError::invalid_field(field, "at most 200 characters"));
            }
        }
        if filter.target_id.as_ref().is_some_and(|value| value.chars().count() > 200) {
            return Err(AppError::invalid_field("target_id", "at most 200 characters"));
        }
        Ok(filter)
    }

    /// The filters of a part request.
    pub fn of_part(request: &OperationLogsPartRequest) -> AppResult<Self> {
        Self::parse(
            &request.action,
            &request.actor,
            &request.target_type,
            &request.target_id,
            &request.since,
            &request.until,
        )
    }

    fn push(&self, builder: &mut sqlx::QueryBuilder<sqlx::Postgres>) {
        if let Some(action) = &self.action {
            builder.push(" and action = ").push_bind(action.clone());
        }
        if let Some(actor) = &self.actor {
            builder.push(" and actor_label ilike ").push_bind(crate::paging::like_pattern(actor));
        }
        if let Some(target_type) = &self.target_type {
            builder.push(" and target_type = ").push_bind(target_type.clone());
        }
        if let Some(target_id) = &self.target_id {
            builder.push(" and target_id = ").push_bind(target_id.clone());
        }
        if let Some(since) = self.since {
            builder.push(" and created_at >= ").push_bind(since);
        }
        if let Some(until) = self.until {
            builder.push(" and created_at <= ").push_bind(until);
        }
    }
}

/// Formats a log time with microseconds, so entries of different services
/// merge in their real order.
pub fn format_log_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[derive(sqlx::FromRow)]
struct LogRow {
    id: Uuid,
    actor_kind: String,
    actor_id: Option<Uuid>,
    actor_label: String,
    action: String,
    target_type: String,
    target_id: String,
    detail: serde_json::Value,
    client_ip: String,
    request_id: String,
    created_at: DateTime<Utc>,
}

/// The first `limit` (at most [`MAX_LOG_ENTRIES`]) entries of this
/// service's `operation_logs` under `filter`, newest first (created_at
/// desc, id desc), and how many match in all.
pub async fn operation_logs(
    pool: &PgPool,
    service: &str,
    filter: &LogFilter,
    limit: u32,
) -> AppResult<OperationLogsPart> {
    let mut count = sqlx::QueryBuilder::new("select count(*) from operation_logs where true");
    filter.push(&mut count);
    let total: i64 = count.build_query_scalar().fetch_one(pool).await?;
    let limit = limit.min(MAX_LOG_ENTRIES);
    let rows: Vec<LogRow> = if limit == 0 || total == 0 {
        Vec::new()
    } else {
        let mut select = sqlx::QueryBuilder::new(
            "select id, actor_kind, actor_id, actor_label, action, target_type, target_id, detail, client_ip,
                    request_id, created_at
             from operation_logs where true",
        );
        filter.push(&mut select);
        select.push(" order by created_at desc, id desc limit ").push_bind(i64::from(limit));
        select.build_query_as().fetch_all(pool).await?
    };
    let logs = rows
        .into_iter()
        .map(|row| OperationLog {
            id: row.id.to_string(),
            service: service.to_string(),
            actor_kind: row.actor_kind,
            actor_id: row.actor_id.map(|id| id.to_string()).unwrap_or_default(),
            actor_label: row.actor_label,
            action: row.action,
            target_type: row.target_type,
            target_id: row.target_id,
            detail_json: row.detail.to_string(),
            client_ip: row.client_ip,
            request_id: row.request_id,
            created_at: format_log_time(row.created_at),
        })
        .collect();
    Ok(OperationLogsPart { logs, total: u64::try_from(total).unwrap_or(0) })
}

/// Newest first: created_at desc, then id desc.
fn newest_first(a: &OperationLog, b: &OperationLog) -> Ordering {
    let time = |log: &OperationLog| DateTime::parse_from_rfc3339(&log.created_at).ok().map(|time| time.to_utc());
    time(b).cmp(&time(a)).then_with(|| b.id.cmp(&a.id))
}

/// Merges the (each newest first) entries of several services newest
/// first and returns `take` of them after skipping `skip`.
pub fn merge_logs(parts: Vec<Vec<OperationLog>>, skip: usize, take: usize) -> Vec<OperationLog> {
    let mut all: Vec<OperationLog> = parts.into_iter().flatten().collect();
    all.sort_by(newest_first);
    all.into_iter().skip(skip).take(take).collect()
}

/// Computes one service's dashboard numbers for a window. Only days with a
/// value need points; the caller fills the gaps.
pub type DashboardFn = Arc<dyn Fn(PgPool, Window) -> BoxFuture<'static, AppResult<DashboardPart>> + Send + Sync>;

/// `rustbill.internal.system.SystemPartService` of one service.
#[derive(Clone)]
pub struct SystemPart {
    service: &'static str,
    pool: PgPool,
    dashboard: DashboardFn,
}

impl std::fmt::Debug for SystemPart {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("SystemPart").field("service", &self.service).finish_non_exhaustive()
    }
}

impl SystemPart {
    /// The part of `service` ("catalog", ...) on its own pool, with its
    /// dashboard numbers from `dashboard`.
    pub fn new<F, Fut>(service: &'static str, pool: PgPool, dashboard: F) -> Self
    where
        F: Fn(PgPool, Window) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = AppResult<DashboardPart>> + Send + 'static,
    {
        let dashboard: DashboardFn = Arc::new(move |pool, window| Box::pin(dashboard(pool, window)));
        Self { service, pool, dashboard }
    }

    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The tonic service behind the principal verifier.
    pub fn server(
        self,
        verifier: PrincipalVerifier,
    ) -> InterceptedService<SystemPartServiceServer<Self>, PrincipalVerifier> {
        SystemPartServiceServer::with_interceptor(self, verifier)
    }

    /// This service's dashboard numbers for the last `days` days.
    pub async fn dashboard_part(&self, days: u32) -> AppResult<DashboardPart> {
        let window = Window::ending_today(days.clamp(1, MAX_DAYS));
        (self.dashboard)(self.pool.clone(), window).await
    }

    /// This service's operation log entries.
    pub async fn logs_part(&self, request: &OperationLogsPartRequest) -> AppResult<OperationLogsPart> {
        let filter = LogFilter::of_part(request)?;
        operation_logs(&self.pool, self.service, &filter, request.limit).await
    }
}

fn require_service<T>(request: &Request<T>) -> Result<(), Status> {
    match principal::caller(request)?.principal {
        Principal::Service { .. } => Ok(()),
        _ => Err(AppError::permission_denied("internal RPC").into()),
    }
}

#[tonic::async_trait]
impl SystemPartService for SystemPart {
    async fn dashboard(&self, request: Request<DashboardPartRequest>) -> Result<Response<DashboardPart>, Status> {
        require_service(&request)?;
        respond(self.dashboard_part(request.get_ref().days).await)
    }

    async fn operation_logs(
        &self,
        request: Request<OperationLogsPartRequest>,
    ) -> Result<Response<OperationLogsPart>, Status> {
        require_service(&request)?;
        respond(self.logs_part(request.get_ref()).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn windows_end_today_and_count_days() {
        let now = DateTime::parse_from_rfc3339("2024-03-02T23:59:59+00:00").unwrap().to_utc();
        let window = Window::ending(now, 3);
        assert_eq!((window.first, window.today), (day("2024-02-29"), day("2024-03-02")));
        assert_eq!(window.dates().collect::<Vec<_>>(), vec![day("2024-02-29"), day("2024-03-01"), day("2024-03-02")]);
        assert_eq!(crate::ids::format_time(window.since()), "2024-02-29T00:00:00Z");
        assert_eq!(Window::ending(now, 0).days, 1);
        assert_eq!(Window::ending(now, 1000).days, MAX_DAYS);
        assert_eq!(requested_days(0).unwrap(), 30);
        assert_eq!(requested_days(366).unwrap(), 366);
        let error = requested_days(367).unwrap_err();
        assert!(matches!(&error, AppError::InvalidArgument { violations, .. } if violations[0].field == "days"));
    }

    #[test]
    fn gaps_are_filled_with_zeros_oldest_first() {
        let now = DateTime::parse_from_rfc3339("2024-01-05T10:00:00Z").unwrap().to_utc();
        let window = Window::ending(now, 4);
        let point = |date: &str, value: &str| DailyPoint { date: date.into(), value: value.into() };
        let revenue = DailySeries {
            name: "revenue".into(),
            points: vec![point("2024-01-04", "7.5"), point("2024-01-01", "99.00"), point("2024-01-04", "2.50")],
        };
        let filled = fill_series(&revenue, &window);
        let values: Vec<(&str, &str)> = filled.points.iter().map(|p| (p.date.as_str(), p.value.as_str())).collect();
        assert_eq!(
            values,
            [("2024-01-02", "0.00"), ("2024-01-03", "0.00"), ("2024-01-04", "10.00"), ("2024-01-05", "0.00")]
        );
        let orders = DailySeries { name: "orders_created".into(), points: vec![point("2024-01-05", "3")] };
        let filled = fill_series(&orders, &window);
        let values: Vec<&str> = filled.points.iter().map(|p| p.value.as_str()).collect();
        assert_eq!(values, ["0", "0", "0", "3"]);
        assert_eq!(format_value(false, Decimal::new(40, 1)), "4");
    }

    #[test]
    fn logs_merge_newest_first_across_services() {
        let log = |service: &str, id: &str, at: &str| OperationLog {
            id: id.into(),
            service: service.into(),
            created_at: at.into(),
            ..Default::default()
        };
        let catalog = vec![
            log("catalog", "c2", "2024-01-01T10:00:03.000000Z"),
            log("catalog", "c1", "2024-01-01T10:00:01.000000Z"),
        ];
        let payments = vec![
            log("payments", "p2", "2024-01-01T10:00:02.500000Z"),
            log("payments", "p1", "2024-01-01T10:00:01.000000Z"),
        ];
        let merged = merge_logs(vec![catalog.clone(), payments.clone()], 0, 10);
        let ids: Vec<&str> = merged.iter().map(|log| log.id.as_str()).collect();
        assert_eq!(ids, ["c2", "p2", "p1", "c1"], "same time: higher id first");
        let page: Vec<String> = merge_logs(vec![catalog, payments], 1, 2).into_iter().map(|log| log.id).collect();
        assert_eq!(page, ["p2", "p1"]);
    }

    #[test]
    fn log_filters_are_checked() {
        let filter = LogFilter::parse(" product.create ", "", "", "", "2024-01-01T00:00:00Z", "").unwrap();
        assert_eq!(filter.action.as_deref(), Some("product.create"));
        assert!(filter.since.is_some() && filter.until.is_none());
        let error = LogFilter::parse("", "", "", "", "yesterday", "").unwrap_err();
        assert!(matches!(&error, AppError::InvalidArgument { violations, .. } if violations[0].field == "since"));
        let error = LogFilter::parse("", "", "", "", "", "2024-13-01T00:00:00Z").unwrap_err();
        assert!(matches!(&error, AppError::InvalidArgument { violations, .. } if violations[0].field == "until"));
        let error = LogFilter::parse("", "", "", "", "2024-02-01T00:00:00Z", "2024-01-01T00:00:00Z").unwrap_err();
        assert!(matches!(&error, AppError::InvalidArgument { violations, .. } if violations[0].field == "until"));
    }
}
