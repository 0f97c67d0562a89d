//! `rustbill.system.SystemService` (RustBill extension) through the edge:
//! the admin dashboard reflects what the services really hold (customers,
//! orders paid from the balance, revenue of the day) with complete daily
//! series; the operation log merges every service's entries newest first,
//! filters and pages them; only admins and operators may read either; and
//! a service that is down is named in `unavailable` while the others still
//! answer (seven separate processes, one of them stopped).

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rustbill_proto::common::PageRequest;
use rustbill_proto::internal::system::DashboardPartRequest;
use rustbill_proto::internal::system::system_part_service_client::SystemPartServiceClient;
use rustbill_proto::system::system_service_client::SystemServiceClient;
use rustbill_proto::system::*;
use rustbill_shared::principal::{AdminRole, Caller, InternalSigner, Principal};
use rustbill_system_tests::{ADMIN_PASSWORD, ADMIN_USERNAME, JWT_SECRET, TestServer, bearer, flows, session};
use tonic::Code;
use tonic::transport::Channel;

use crate::microservices::Deployment;
use crate::orders::Shop;

const COUNTERS: [&str; 18] = [
    "customers_total",
    "customers_active",
    "products_total",
    "products_active",
    "orders_total",
    "orders_pending_payment",
    "orders_provisioning",
    "orders_active",
    "instances_running",
    "instances_suspended",
    "invoices_unpaid",
    "invoices_unpaid_amount",
    "balance_total",
    "plugin_interfaces_enabled",
    "plugin_interfaces_unhealthy",
    "tickets_open",
    "deliveries_parked",
    "events_parked",
];
const SERIES: [&str; 5] = ["orders_created", "orders_paid", "revenue", "refunds", "customers_created"];

fn system(channel: &Channel) -> SystemServiceClient<Channel> {
    SystemServiceClient::new(channel.clone())
}

async fn dashboard(channel: &Channel, cookie: &str, days: u32) -> GetDashboardResponse {
    system(channel)
        .get_dashboard(session(GetDashboardRequest { days }, cookie))
        .await
        .expect("GetDashboard")
        .into_inner()
}

fn counters(response: &GetDashboardResponse) -> HashMap<String, String> {
    response.counters.iter().map(|counter| (counter.name.clone(), counter.value.clone())).collect()
}

fn count(response: &GetDashboardResponse, name: &str) -> i64 {
    counters(response).get(name).unwrap_or_else(|| panic!("counter {name} in {response:?}")).parse().expect("integer")
}

fn series<'a>(response: &'a GetDashboardResponse, name: &str) -> &'a DailySeries {
    response.series.iter().find(|series| series.name == name).unwrap_or_else(|| panic!("series {name}"))
}

/// The value of the newest day of a series (today).
fn today(response: &GetDashboardResponse, name: &str) -> Decimal {
    let point = series(response, name).points.last().expect("a point");
    Decimal::from_str(&point.value).expect("decimal")
}

/// An operator (admin user with the operator role) logged in; created in
/// the database, as no RPC creates admin users.
async fn operator(server: &TestServer, username: &str) -> String {
    let pool = server.pool().await;
    let hash: String = sqlx::query_scalar("select password_hash from identity.admin_users where username = 'admin'")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into identity.admin_users (id, username, display_name, password_hash, role)
         values ($1, $2, $2, $3, 'operator')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(username)
    .bind(hash)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    flows::admin_cookie(server.channel().await, username, ADMIN_PASSWORD).await
}

fn field_of(status: &tonic::Status) -> String {
    let details = tonic_types::StatusExt::get_error_details(status);
    details.bad_request().expect("a bad-request detail").field_violations[0].field.clone()
}

#[tokio::test]
async fn dashboard_reflects_customers_orders_and_revenue() {
    let shop = Shop::open("", false).await;
    let channel = shop.channel.clone();
    let before = dashboard(&channel, &shop.admin, 7).await;
    assert!(before.unavailable.is_empty(), "every service answers: {:?}", before.unavailable);
    assert_eq!(before.currency, "CNY");
    let names: BTreeSet<&str> = before.counters.iter().map(|counter| counter.name.as_str()).collect();
    assert_eq!(names, COUNTERS.into_iter().collect(), "every counter, once each");
    assert_eq!(before.counters.len(), COUNTERS.len());
    let names: BTreeSet<&str> = before.series.iter().map(|series| series.name.as_str()).collect();
    assert_eq!(names, SERIES.into_iter().collect());
    assert_eq!(count(&before, "products_total"), 1, "the shop's product");
    assert_eq!(count(&before, "plugin_interfaces_enabled"), 1, "the demo provider");

    // A customer registers, gets a balance and pays an order from it.
    let customer = shop.customer("dana").await;
    shop.credit(&customer, "25.00").await;
    let order = shop.order(&customer, "balance").await.expect("order").order.expect("order");
    shop.settled(&order.id, "active").await;
    let amount = Decimal::from_str(&order.amount).unwrap();
    assert_eq!(amount, Decimal::from_str("10.00").unwrap());

    let start = Utc::now().date_naive();
    let after = dashboard(&channel, &shop.admin, 7).await;
    let end = Utc::now().date_naive();
    assert!(after.unavailable.is_empty(), "{:?}", after.unavailable);
    assert_eq!(count(&after, "customers_total"), count(&before, "customers_total") + 1);
    assert_eq!(count(&after, "customers_active"), count(&before, "customers_active") + 1);
    assert_eq!(count(&after, "orders_total"), count(&before, "orders_total") + 1);
    assert_eq!(count(&after, "orders_active"), count(&before, "orders_active") + 1);
    assert_eq!(count(&after, "instances_running"), count(&before, "instances_running") + 1);
    assert_eq!(count(&after, "orders_pending_payment"), 0);
    assert_eq!(today(&after, "revenue"), today(&before, "revenue") + amount, "revenue of today");
    assert_eq!(today(&after, "orders_created"), today(&before, "orders_created") + Decimal::ONE);
    assert_eq!(today(&after, "orders_paid"), today(&before, "orders_paid") + Decimal::ONE);
    assert_eq!(today(&after, "customers_created"), today(&before, "customers_created") + Decimal::ONE);
    assert_eq!(series(&after, "revenue").points.last().unwrap().value, "10.00", "money has two decimals");
    assert_eq!(series(&after, "refunds").points.last().unwrap().value, "0.00");
    // The balance left: 25.00 credited, 10.00 spent.
    assert_eq!(counters(&after)["balance_total"], "15.00");
    assert_eq!(counters(&after)["invoices_unpaid_amount"], "0.00");

    // Every series: exactly `days` consecutive UTC days, oldest first,
    // ending today.
    for series in &after.series {
        assert_eq!(series.points.len(), 7, "{}", series.name);
        let dates: Vec<NaiveDate> = series
            .points
            .iter()
            .map(|point| NaiveDate::parse_from_str(&point.date, "%Y-%m-%d").expect("YYYY-MM-DD"))
            .collect();
        for pair in dates.windows(2) {
            assert_eq!(pair[1] - pair[0], chrono::Duration::days(1), "{}: {dates:?}", series.name);
        }
        let last = *dates.last().unwrap();
        assert!(last == start || last == end, "{} ends today: {last}", series.name);
    }
    // 0 days means 30.
    let default = dashboard(&channel, &shop.admin, 0).await;
    assert!(default.series.iter().all(|series| series.points.len() == 30));

    // The running instances (one per service in this all-in-one server)
    // and the leader roles.
    let services: BTreeSet<&str> = after.instances.iter().map(|instance| instance.service.as_str()).collect();
    assert_eq!(services, ["catalog", "identity", "notify", "orders", "payments", "plugins"].into_iter().collect());
    for instance in &after.instances {
        uuid::Uuid::parse_str(&instance.instance_id).expect("instance id");
        assert!(!instance.hostname.is_empty(), "{instance:?}");
        DateTime::parse_from_rfc3339(&instance.started_at).expect("RFC 3339");
        DateTime::parse_from_rfc3339(&instance.last_heartbeat_at).expect("RFC 3339");
    }
    let roles: Vec<&str> = after.leader_roles.iter().map(|role| role.role.as_str()).collect();
    assert!(roles.contains(&"migration:identity"), "{roles:?}");
    for role in &after.leader_roles {
        if !role.holder.is_empty() {
            assert!(after.instances.iter().any(|instance| instance.instance_id == role.holder), "{role:?}");
            DateTime::parse_from_rfc3339(&role.expires_at).expect("RFC 3339");
        }
    }

    // Admins and operators only; the window is bounded.
    let operator = operator(&shop.server, "otto").await;
    let as_operator = dashboard(&channel, &operator, 1).await;
    assert!(as_operator.series.iter().all(|series| series.points.len() == 1));
    let status = system(&channel)
        .get_dashboard(bearer(GetDashboardRequest { days: 7 }, &customer.access_token))
        .await
        .expect_err("customers may not");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status = system(&channel).get_dashboard(GetDashboardRequest { days: 7 }).await.expect_err("anonymous");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = system(&channel)
        .get_dashboard(session(GetDashboardRequest { days: 400 }, &shop.admin))
        .await
        .expect_err("too many days");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(field_of(&status), "days");
    dashboard(&channel, &shop.admin, 366).await;

    // The admin web app calls it over gRPC-Web.
    let answer = shop
        .server
        .web()
        .call::<_, GetDashboardResponse>(
            "/rustbill.system.SystemService/GetDashboard",
            &GetDashboardRequest { days: 3 },
            &[("cookie", &shop.admin)],
        )
        .await
        .expect("GetDashboard over gRPC-Web");
    assert!(answer.message.series.iter().all(|series| series.points.len() == 3));
}

async fn logs(channel: &Channel, cookie: &str, request: ListOperationLogsRequest) -> ListOperationLogsResponse {
    system(channel).list_operation_logs(session(request, cookie)).await.expect("ListOperationLogs").into_inner()
}

fn page(page: u32, page_size: u32) -> Option<PageRequest> {
    Some(PageRequest { page, page_size })
}

/// Newest first: created_at desc, then id desc.
fn assert_newest_first(logs: &[OperationLog]) {
    for pair in logs.windows(2) {
        let time = |log: &OperationLog| DateTime::parse_from_rfc3339(&log.created_at).expect("RFC 3339").to_utc();
        let (newer, older) = (&pair[0], &pair[1]);
        assert!(
            time(newer) > time(older) || (time(newer) == time(older) && newer.id > older.id),
            "not newest first: {newer:?} before {older:?}"
        );
    }
}

#[tokio::test]
async fn operation_log_merges_every_service_newest_first() {
    let shop = Shop::open("", false).await;
    let channel = shop.channel.clone();
    let customer = shop.customer("erin").await;
    // Mutations in two more services after the catalog's create_product:
    // the admin adjusts a balance (payments), then an operator updates the
    // customer (identity).
    shop.credit(&customer, "5.00").await;
    let operator = operator(&shop.server, "oscar").await;
    rustbill_proto::customer::customer_service_client::CustomerServiceClient::new(channel.clone())
        .update_customer(session(
            rustbill_proto::customer::UpdateCustomerRequest {
                id: customer.customer_id.clone(),
                notes: Some("called about the invoice".into()),
                ..Default::default()
            },
            &operator,
        ))
        .await
        .expect("operator updates the customer");

    let all = logs(&channel, &shop.admin, ListOperationLogsRequest { page: page(1, 100), ..Default::default() }).await;
    assert!(all.unavailable.is_empty(), "{:?}", all.unavailable);
    assert_newest_first(&all.logs);
    let meta = all.page.expect("page meta");
    assert_eq!((meta.page, meta.page_size), (1, 100));
    // The total is every service's own count.
    let pool = shop.server.pool().await;
    let mut expected = 0;
    for schema in ["identity", "catalog", "orders", "payments", "plugins", "notify"] {
        let rows: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {schema}.operation_logs")))
                .fetch_one(&pool)
                .await
                .unwrap();
        expected += rows;
    }
    pool.close().await;
    assert_eq!(meta.total, u64::try_from(expected).unwrap(), "{all:?}");
    assert_eq!(all.logs.len() as u64, meta.total.min(100));
    let services: BTreeSet<&str> = all.logs.iter().map(|log| log.service.as_str()).collect();
    for service in ["identity", "catalog", "payments", "plugins"] {
        assert!(services.contains(service), "{service} in {services:?}");
    }
    let position = |service: &str, action: &str| {
        all.logs
            .iter()
            .position(|log| log.service == service && log.action == action)
            .unwrap_or_else(|| panic!("{service} {action} in {:?}", all.logs))
    };
    let created = &all.logs[position("catalog", "create_product")];
    assert_eq!((created.target_type.as_str(), created.target_id.as_str()), ("product", shop.product.id.as_str()));
    assert_eq!(created.actor_kind, "admin");
    assert_eq!(created.actor_label, format!("admin:{ADMIN_USERNAME}"));
    assert!(serde_json::from_str::<serde_json::Value>(&created.detail_json).unwrap().is_object());
    assert!(position("identity", "update_customer") < position("payments", "balance.adjust"), "newer first");
    assert!(position("payments", "balance.adjust") < position("catalog", "create_product"), "newer first");
    assert!(position("plugins", "create_plugin_interface") > position("catalog", "create_product"));

    // Filters: by service, action, actor, target, time.
    let payments = logs(
        &channel,
        &shop.admin,
        ListOperationLogsRequest { service: "payments".into(), page: page(1, 100), ..Default::default() },
    )
    .await;
    assert_eq!(payments.logs.len(), 1, "{payments:?}");
    let adjusted = &payments.logs[0];
    assert_eq!((adjusted.service.as_str(), adjusted.action.as_str()), ("payments", "balance.adjust"));
    assert_eq!(adjusted.target_id, customer.customer_id);
    assert_eq!(payments.page.unwrap().total, 1);
    let by_action =
        logs(&channel, &shop.admin, ListOperationLogsRequest { action: "create_product".into(), ..Default::default() })
            .await;
    assert_eq!(by_action.logs.len(), 1);
    assert_eq!(by_action.logs[0].service, "catalog");
    let meta = by_action.page.unwrap();
    assert_eq!((meta.total, meta.page, meta.page_size, meta.total_pages), (1, 1, 20, 1), "default paging");
    let by_actor =
        logs(&channel, &shop.admin, ListOperationLogsRequest { actor: "OSCAR".into(), ..Default::default() }).await;
    let actions: BTreeSet<&str> = by_actor.logs.iter().map(|log| log.action.as_str()).collect();
    assert_eq!(actions, ["login", "update_customer"].into_iter().collect(), "{by_actor:?}");
    assert!(by_actor.logs.iter().all(|log| log.actor_label == "operator:oscar"));
    let by_target = logs(
        &channel,
        &shop.admin,
        ListOperationLogsRequest {
            target_type: "product".into(),
            target_id: shop.product.id.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(by_target.logs.iter().map(|log| log.action.as_str()).collect::<Vec<_>>(), ["create_product"]);
    let future = logs(
        &channel,
        &shop.admin,
        ListOperationLogsRequest { since: "2999-01-01T00:00:00Z".into(), ..Default::default() },
    )
    .await;
    assert!(future.logs.is_empty());
    assert_eq!(future.page.unwrap().total, 0);
    let bounded = logs(
        &channel,
        &shop.admin,
        ListOperationLogsRequest {
            since: created.created_at.clone(),
            until: "2999-01-01T00:00:00+08:00".into(),
            page: page(1, 100),
            ..Default::default()
        },
    )
    .await;
    assert!(bounded.logs.iter().any(|log| log.action == "create_product"), "since is inclusive");
    assert!(!bounded.logs.iter().any(|log| log.action == "create_plugin_interface"), "older ones are out");

    // Paging: one entry a page, the same order as the whole list.
    let total = all.page.unwrap().total;
    let second = logs(&channel, &shop.admin, ListOperationLogsRequest { page: page(2, 1), ..Default::default() }).await;
    assert_eq!(second.logs.len(), 1);
    assert_eq!(second.logs[0].id, all.logs[1].id);
    let meta = second.page.unwrap();
    assert_eq!((meta.total, meta.page, meta.page_size, meta.total_pages), (total, 2, 1, u32::try_from(total).unwrap()));
    let last =
        logs(&channel, &shop.admin, ListOperationLogsRequest { page: page(100, 100), ..Default::default() }).await;
    assert!(last.logs.is_empty(), "page 100 of 100 is the last that can be asked for");
    let status = system(&channel)
        .list_operation_logs(session(
            ListOperationLogsRequest { page: page(101, 100), ..Default::default() },
            &shop.admin,
        ))
        .await
        .expect_err("beyond 10,000 entries");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(field_of(&status), "page");

    // Bad filters and callers.
    for (request, field) in [
        (ListOperationLogsRequest { service: "billing".into(), ..Default::default() }, "service"),
        (ListOperationLogsRequest { since: "yesterday".into(), ..Default::default() }, "since"),
        (ListOperationLogsRequest { until: "2024-02-30T00:00:00Z".into(), ..Default::default() }, "until"),
    ] {
        let status = system(&channel).list_operation_logs(session(request, &shop.admin)).await.expect_err("bad filter");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert_eq!(field_of(&status), field);
    }
    let as_operator = logs(&channel, &operator, ListOperationLogsRequest::default()).await;
    assert_eq!(as_operator.logs.len() as u64, total.min(20), "operators read it too");
    let status = system(&channel)
        .list_operation_logs(bearer(ListOperationLogsRequest::default(), &customer.access_token))
        .await
        .expect_err("customers may not");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status =
        system(&channel).list_operation_logs(ListOperationLogsRequest::default()).await.expect_err("anonymous");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
}

/// A signed principal token as a service would send it.
fn signed<T>(message: T, principal: Principal) -> tonic::Request<T> {
    let mut config = rustbill_shared::Config::default();
    config.jwt.secret = Some(secrecy::SecretString::from(JWT_SECRET));
    let signer = InternalSigner::new(&config.internal_secret(), 60);
    let mut request = tonic::Request::new(message);
    signer.attach(&Caller::new(principal, "system-service-test", "127.0.0.1"), &mut request);
    request
}

#[tokio::test]
async fn a_stopped_service_is_named_unavailable_and_the_rest_answers() {
    let deployment = Deployment::start().await;
    deployment.wait_ready(200, None).await;
    let channel = deployment.channel().await;
    let cookie = flows::admin_cookie(channel.clone(), ADMIN_USERNAME, ADMIN_PASSWORD).await;

    let whole = dashboard(&channel, &cookie, 7).await;
    assert!(whole.unavailable.is_empty(), "{:?}\n{}", whole.unavailable, deployment.logs());
    assert_eq!(whole.counters.len(), COUNTERS.len());
    let services: BTreeSet<&str> = whole.instances.iter().map(|instance| instance.service.as_str()).collect();
    assert_eq!(services, ["catalog", "identity", "notify", "orders", "payments", "plugins"].into_iter().collect());

    // The internal part answers services only, even on its own port.
    let mut direct = SystemPartServiceClient::connect(deployment.identity_url.clone()).await.unwrap();
    let status = direct.dashboard(DashboardPartRequest { days: 1 }).await.expect_err("no principal");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let admin = Principal::Admin {
        user_id: uuid::Uuid::now_v7(),
        username: ADMIN_USERNAME.into(),
        role: AdminRole::Admin,
        session_id: uuid::Uuid::now_v7(),
    };
    let status = direct.dashboard(signed(DashboardPartRequest { days: 1 }, admin)).await.expect_err("not a service");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let part = direct
        .dashboard(signed(DashboardPartRequest { days: 1 }, Principal::Service { name: "test".into() }))
        .await
        .expect("a service may")
        .into_inner();
    let names: Vec<&str> = part.counters.iter().map(|counter| counter.name.as_str()).collect();
    assert_eq!(names, ["customers_total", "customers_active"]);

    // The catalog stops: it is named, everything else still answers.
    let status = deployment.stop("rustbill-catalog").await;
    assert!(status.success(), "catalog exits cleanly: {status}\n{}", deployment.logs());
    let partial = dashboard(&channel, &cookie, 7).await;
    assert_eq!(partial.unavailable, ["catalog"], "{}", deployment.logs());
    let names: BTreeSet<&str> = partial.counters.iter().map(|counter| counter.name.as_str()).collect();
    let expected: BTreeSet<&str> = COUNTERS.into_iter().filter(|name| !name.starts_with("products_")).collect();
    assert_eq!(names, expected);
    assert_eq!(partial.series.len(), SERIES.len(), "the catalog has no series");
    assert!(partial.series.iter().all(|series| series.points.len() == 7));
    assert!(
        !partial.instances.iter().any(|instance| instance.service == "catalog"),
        "a cleanly stopped instance leaves: {:?}",
        partial.instances
    );

    let merged = logs(&channel, &cookie, ListOperationLogsRequest::default()).await;
    assert_eq!(merged.unavailable, ["catalog"]);
    assert!(merged.logs.iter().any(|log| log.service == "identity" && log.action == "login"), "{merged:?}");
    let only_catalog =
        logs(&channel, &cookie, ListOperationLogsRequest { service: "catalog".into(), ..Default::default() }).await;
    assert_eq!(only_catalog.unavailable, ["catalog"]);
    assert!(only_catalog.logs.is_empty());
    assert_eq!(only_catalog.page.unwrap().total, 0);
    deployment.assert_running(Some("rustbill-catalog"));
}
