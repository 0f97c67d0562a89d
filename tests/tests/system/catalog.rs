//! The catalog through the edge: products (CRUD, public browsing, filters,
//! paging, batches, repricing, sync and import from a provider plugin),
//! categories and groups, permissions, bad input that changes nothing, and
//! the outbox events every change writes.

use rustbill_proto::common::PageRequest;
use rustbill_proto::product::product_category_service_client::ProductCategoryServiceClient;
use rustbill_proto::product::product_group_service_client::ProductGroupServiceClient;
use rustbill_proto::product::product_service_client::ProductServiceClient;
use rustbill_proto::product::*;
use rustbill_system_tests::flows;
use rustbill_system_tests::{TestServer, bearer, session};
use tonic::transport::Channel;
use tonic::{Code, Request};

const DEMO: &str = include_str!("../../fixtures/plugins/provider-demo.rn");

struct World {
    server: TestServer,
    channel: Channel,
    admin: String,
    customer: String,
    interface: String,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> Self {
        let (server, dir) = flows::server_with_plugins(&[("provider-demo.rn", DEMO)]).await;
        let channel = server.channel().await;
        let admin = flows::bootstrap_admin(&server).await;
        let interface =
            flows::enabled_interface(&server, &admin, "demo", "Demo", r#"{"api_url":"https://demo.example"}"#).await;
        let customer = flows::register_customer(&server, "shopper").await.access_token;
        Self { server, channel, admin, customer, interface, _dir: dir }
    }

    fn products(&self) -> ProductServiceClient<Channel> {
        ProductServiceClient::new(self.channel.clone())
    }

    fn product(&self, name: &str, price: &str) -> CreateProductRequest {
        CreateProductRequest {
            name: name.into(),
            description: "A server".into(),
            price_per_month: price.into(),
            interface_id: self.interface.clone(),
            ..Default::default()
        }
    }

    async fn create(&self, request: CreateProductRequest) -> ProductInfo {
        self.products()
            .create_product(session(request, &self.admin))
            .await
            .unwrap_or_else(|status| panic!("create: {status:?}"))
            .into_inner()
            .product
            .unwrap()
    }

    async fn count(&self, table: &str) -> i64 {
        let pool = self.server.pool().await;
        let count = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from catalog.{table}")))
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        count
    }

    async fn list(&self, request: Request<ListProductsRequest>) -> ListProductsResponse {
        self.products().list_products(request).await.unwrap().into_inner()
    }
}

fn cycles(pairs: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[tokio::test]
async fn products_are_managed_by_admins_and_browsed_by_everyone() {
    let world = World::new().await;
    let mut hk = world.product("HK 1C2G", "29");
    hk.specs = cycles(&[("region", "hk"), ("cpu", "1")]);
    hk.billing_cycles = cycles(&[("yearly", "290.00")]);
    hk.cost_price = "20.00".into();
    let hk = world.create(hk).await;
    assert_eq!(hk.price_per_month, "29.00");
    assert_eq!(hk.billing_cycles.get("monthly").map(String::as_str), Some("29.00"));
    assert_eq!(hk.billing_cycles.get("yearly").map(String::as_str), Some("290.00"));
    assert_eq!(hk.cost_price, "20.00");
    let mut us = world.product("US 2C4G", "");
    us.specs = cycles(&[("region", "us-west")]);
    us.billing_cycles = cycles(&[("monthly", "49.90"), ("quarterly", "140")]);
    let us = world.create(us).await;
    assert_eq!(us.price_per_month, "49.90");
    let hidden = world.create(world.product("Retired 100% plan", "9.99")).await;
    world
        .products()
        .update_product(session(
            UpdateProductRequest { id: hidden.id.clone(), is_active: Some(false), ..Default::default() },
            &world.admin,
        ))
        .await
        .unwrap();

    // The public sees active products only, with filters and paging.
    let public = world.list(Request::new(ListProductsRequest::default())).await;
    let names: Vec<_> = public.products.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["US 2C4G", "HK 1C2G"], "newest first, inactive hidden");
    let meta = public.meta.unwrap();
    assert_eq!((meta.total, meta.page, meta.page_size, meta.total_pages), (2, 1, 20, 1));
    let asked_inactive =
        world.list(Request::new(ListProductsRequest { is_active: Some(false), ..Default::default() })).await;
    assert!(asked_inactive.products.is_empty(), "the public cannot list inactive products");
    let admin_all = world.list(session(ListProductsRequest::default(), &world.admin)).await;
    assert_eq!(admin_all.products.len(), 3);
    let region =
        world.list(Request::new(ListProductsRequest { region: Some("hk".into()), ..Default::default() })).await;
    assert_eq!(region.products.len(), 1);
    assert_eq!(region.products[0].id, hk.id);
    let search = world
        .list(bearer(ListProductsRequest { search: Some("2c4".into()), ..Default::default() }, &world.customer))
        .await;
    assert_eq!(search.products.len(), 1, "case-insensitive name search");
    let percent = world
        .list(session(ListProductsRequest { search: Some("100%".into()), ..Default::default() }, &world.admin))
        .await;
    assert_eq!(percent.products.len(), 1, "% is matched literally");
    let paged = world
        .list(session(
            ListProductsRequest { pagination: Some(PageRequest { page: 2, page_size: 2 }), ..Default::default() },
            &world.admin,
        ))
        .await;
    assert_eq!(paged.products.len(), 1);
    assert_eq!(paged.meta.unwrap().total_pages, 2);
    let by_interface = world
        .list(Request::new(ListProductsRequest { interface_id: Some(world.interface.clone()), ..Default::default() }))
        .await;
    assert_eq!(by_interface.products.len(), 2);

    // Get: inactive products are not found for the public.
    let error =
        world.products().get_product(Request::new(GetProductRequest { id: hidden.id.clone() })).await.unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
    let seen =
        world.products().get_product(session(GetProductRequest { id: hidden.id.clone() }, &world.admin)).await.unwrap();
    assert!(!seen.into_inner().product.unwrap().is_active);

    // Update: only what is set changes; a new monthly price keeps the other cycles.
    let updated = world
        .products()
        .update_product(session(
            UpdateProductRequest { id: hk.id.clone(), price_per_month: Some("31.50".into()), ..Default::default() },
            &world.admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .product
        .unwrap();
    assert_eq!(updated.price_per_month, "31.50");
    assert_eq!(updated.billing_cycles.get("yearly").map(String::as_str), Some("290.00"));
    assert_eq!(updated.specs.get("region").map(String::as_str), Some("hk"));
    assert_eq!(updated.name, "HK 1C2G");

    // Customers, API keys and the public cannot change anything.
    let before = world.count("products").await;
    let error = world.products().create_product(bearer(world.product("x", "1"), &world.customer)).await.unwrap_err();
    assert_eq!(error.code(), Code::PermissionDenied);
    let error = world.products().create_product(Request::new(world.product("x", "1"))).await.unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);
    let error = world
        .products()
        .batch_set_active(bearer(
            BatchSetActiveRequest { product_ids: vec![hk.id.clone()], is_active: false },
            &world.customer,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::PermissionDenied);
    let error = world
        .products()
        .delete_product(bearer(DeleteProductRequest { id: hk.id.clone() }, &world.customer))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::PermissionDenied);
    assert_eq!(world.count("products").await, before);

    // Every change was announced on the outbox.
    let pool = world.server.pool().await;
    let events: i64 =
        sqlx::query_scalar("select count(*) from bus.event_queue where event_type = 'catalog.product_changed'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(events, 5, "3 creates and 2 updates");
}

#[tokio::test]
async fn bad_input_is_refused_and_writes_nothing() {
    let world = World::new().await;
    let before = (world.count("products").await, world.count("operation_logs").await);
    let mut cases = Vec::new();
    let base = world.product("Plan", "10.00");
    cases.push((CreateProductRequest { name: "".into(), ..base.clone() }, Code::InvalidArgument));
    cases.push((CreateProductRequest { price_per_month: "-1".into(), ..base.clone() }, Code::InvalidArgument));
    cases.push((CreateProductRequest { price_per_month: "1.234".into(), ..base.clone() }, Code::InvalidArgument));
    cases.push((CreateProductRequest { price_per_month: "10000000000".into(), ..base.clone() }, Code::InvalidArgument));
    cases.push((CreateProductRequest { price_per_month: "".into(), ..base.clone() }, Code::InvalidArgument));
    cases.push((
        CreateProductRequest { billing_cycles: cycles(&[("weekly", "1.00")]), ..base.clone() },
        Code::InvalidArgument,
    ));
    cases.push((
        CreateProductRequest { billing_cycles: cycles(&[("monthly", "11.00")]), ..base.clone() },
        Code::InvalidArgument,
    ));
    cases.push((CreateProductRequest { interface_id: "nope".into(), ..base.clone() }, Code::InvalidArgument));
    cases.push((
        CreateProductRequest { interface_id: "01900000-0000-7000-8000-000000000000".into(), ..base.clone() },
        Code::NotFound,
    ));
    cases.push((
        CreateProductRequest { group_id: Some("01900000-0000-7000-8000-000000000000".into()), ..base.clone() },
        Code::NotFound,
    ));
    cases.push((CreateProductRequest { cost_price: "abc".into(), ..base.clone() }, Code::InvalidArgument));
    cases.push((CreateProductRequest { specs: cycles(&[("bad key!", "x")]), ..base.clone() }, Code::InvalidArgument));
    for (request, code) in cases {
        let description = format!("{request:?}");
        let error = world.products().create_product(session(request, &world.admin)).await.unwrap_err();
        assert_eq!(error.code(), code, "{description}: {error:?}");
    }
    let error = world
        .products()
        .batch_set_active(session(BatchSetActiveRequest { product_ids: vec![], is_active: true }, &world.admin))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    let error = world
        .products()
        .batch_update_price(session(
            BatchUpdatePriceRequest { product_ids: vec!["x".into()], markup_ratio: "1.2".into() },
            &world.admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert_eq!((world.count("products").await, world.count("operation_logs").await), before);
}

#[tokio::test]
async fn batches_reprice_sync_and_import() {
    let world = World::new().await;
    let mut a = world.product("A", "10.00");
    a.cost_price = "10.00".into();
    a.billing_cycles = cycles(&[("quarterly", "27.00"), ("yearly", "100.00")]);
    let a = world.create(a).await;
    let mut b = world.product("B", "0.20");
    b.cost_price = "0.15".into();
    let b = world.create(b).await;
    let c = world.create(world.product("C (no cost)", "5.00")).await;
    let unknown = "01900000-0000-7000-8000-000000000000".to_string();

    // Repricing: cost × markup, half-up to 2 decimals, cycles in proportion.
    let repriced = world
        .products()
        .batch_update_price(session(
            BatchUpdatePriceRequest {
                product_ids: vec![a.id.clone(), b.id.clone(), c.id.clone(), unknown.clone()],
                markup_ratio: "1.333".into(),
            },
            &world.admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(repriced.updated_count, 2);
    assert_eq!(
        repriced.skipped_product_ids,
        std::slice::from_ref(&c.id),
        "no cost price: reported, not silently skipped"
    );
    assert_eq!(repriced.not_found_ids, std::slice::from_ref(&unknown));
    let get = |id: String| {
        let products = world.products();
        let admin = world.admin.clone();
        async move {
            let mut products = products;
            products.get_product(session(GetProductRequest { id }, &admin)).await.unwrap().into_inner().product.unwrap()
        }
    };
    let a2 = get(a.id.clone()).await;
    assert_eq!(a2.price_per_month, "13.33", "10.00 × 1.333 = 13.330");
    assert_eq!(a2.billing_cycles["quarterly"], "35.99", "27 × 13.33/10 = 35.991");
    assert_eq!(a2.billing_cycles["yearly"], "133.30");
    let b2 = get(b.id.clone()).await;
    assert_eq!(b2.price_per_month, "0.20", "0.15 × 1.333 = 0.19995 → 0.20 (half-up)");
    let half = world
        .products()
        .batch_update_price(session(
            BatchUpdatePriceRequest { product_ids: vec![b.id.clone()], markup_ratio: "1.5".into() },
            &world.admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(half.updated_count, 1);
    assert_eq!(get(b.id.clone()).await.price_per_month, "0.23", "0.225 rounds half-up");
    assert_eq!(get(c.id.clone()).await.price_per_month, "5.00", "untouched");

    // Batches with unknown ids change the known ones only.
    let toggled = world
        .products()
        .batch_set_active(session(
            BatchSetActiveRequest { product_ids: vec![a.id.clone(), unknown.clone(), a.id.clone()], is_active: false },
            &world.admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(toggled.updated_count, 1);

    // Categories, groups (groups come from SQL: the wire has no group RPCs
    // but List), and moving products into a group.
    let mut categories = ProductCategoryServiceClient::new(world.channel.clone());
    let category = categories
        .create_product_category(session(
            CreateProductCategoryRequest { name: "VPS".into(), description: "".into(), sort_order: 1 },
            &world.admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .category
        .unwrap();
    let duplicate = categories
        .create_product_category(session(
            CreateProductCategoryRequest { name: "vps".into(), description: "".into(), sort_order: 2 },
            &world.admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Code::AlreadyExists);
    let pool = world.server.pool().await;
    let group = uuid::Uuid::now_v7();
    sqlx::query("insert into catalog.product_groups (id, category_id, name) values ($1, $2::uuid, 'Hong Kong')")
        .bind(group)
        .bind(&category.id)
        .execute(&pool)
        .await
        .unwrap();
    let moved = world
        .products()
        .batch_set_group(session(
            BatchSetGroupRequest { product_ids: vec![a.id.clone(), b.id.clone()], group_id: group.to_string() },
            &world.admin,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.updated_count, 2);
    let groups = ProductGroupServiceClient::new(world.channel.clone())
        .list_product_groups(Request::new(ListProductGroupsRequest {
            pagination: None,
            category_id: category.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .groups;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].product_count, 1, "the public counts active products only (A was deactivated)");
    let in_category = world
        .list(session(
            ListProductsRequest { category_id: Some(category.id.clone()), ..Default::default() },
            &world.admin,
        ))
        .await;
    assert_eq!(in_category.products.len(), 2);
    let refused = categories
        .delete_product_category(session(DeleteProductCategoryRequest { id: category.id.clone() }, &world.admin))
        .await;
    assert_eq!(refused.unwrap_err().code(), Code::FailedPrecondition, "it still holds a group");
    let listed = categories
        .list_product_categories(Request::new(ListProductCategoriesRequest { pagination: None }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.categories[0].group_count, 1);

    // Sync from the provider plugin, twice: one product.
    for _ in 0..2 {
        let synced = world
            .products()
            .sync_products(session(
                SyncProductsRequest { interface_id: world.interface.clone(), group_id: String::new() },
                &world.admin,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(synced.count, 1);
        assert_eq!(synced.synced[0].name, "Small");
        assert_eq!(synced.synced[0].billing_cycles["monthly"], "5.00");
        assert!(!synced.synced[0].is_active, "synced products wait for an admin");
    }
    // Import, twice: no duplicates; the second import updates the cost.
    let item = |cost: &str| UpstreamProductItem {
        name: "Upstream 4C8G".into(),
        description: "from the upstream".into(),
        specs: cycles(&[("upstream_product_id", "u-48"), ("region", "sg")]),
        cost_price: cost.into(),
    };
    for cost in ["40.00", "42.00"] {
        let imported = world
            .products()
            .import_upstream_products(session(
                ImportUpstreamProductsRequest {
                    interface_id: world.interface.clone(),
                    items: vec![item(cost)],
                    group_id: String::new(),
                },
                &world.admin,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(imported.imported_count, 1);
    }
    let sg = world
        .list(session(ListProductsRequest { region: Some("sg".into()), ..Default::default() }, &world.admin))
        .await;
    assert_eq!(sg.products.len(), 1, "imported once");
    assert_eq!(sg.products[0].cost_price, "42.00");
    let bad_item = world
        .products()
        .import_upstream_products(session(
            ImportUpstreamProductsRequest {
                interface_id: world.interface.clone(),
                items: vec![item("-1")],
                group_id: String::new(),
            },
            &world.admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_item.code(), Code::InvalidArgument);

    // Batch delete: known ids deleted, unknown ones reported.
    let deleted = world
        .products()
        .batch_delete(session(BatchDeleteRequest { product_ids: vec![c.id.clone(), unknown.clone()] }, &world.admin))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deleted.deleted_count, 1);
    assert_eq!(deleted.not_found_ids, [unknown]);
    assert!(deleted.deactivated_product_ids.is_empty(), "no orders exist in this deployment");
    let gone = world.products().get_product(session(GetProductRequest { id: c.id }, &world.admin)).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
}

#[tokio::test]
async fn every_catalog_rpc_checks_its_caller() {
    let world = World::new().await;
    let pool = world.server.pool().await;
    let hash: String = sqlx::query_scalar("select password_hash from identity.admin_users where username = 'admin'")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into identity.admin_users (id, username, display_name, password_hash, role)
         values ($1, 'opal', 'Opal', $2, 'operator')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(hash)
    .execute(&pool)
    .await
    .unwrap();
    let operator = flows::admin_cookie(world.channel.clone(), "opal", rustbill_system_tests::ADMIN_PASSWORD).await;
    let reseller = flows::register_customer(&world.server, "keyholder").await;
    flows::allow_api_keys(&world.server, &world.admin, &reseller.customer_id).await;
    let key = rustbill_proto::downstream::api_key_service_client::ApiKeyServiceClient::new(world.channel.clone())
        .create_api_key(bearer(
            rustbill_proto::downstream::CreateApiKeyRequest { name: "k".into(), customer_id: String::new() },
            &reseller.access_token,
        ))
        .await
        .unwrap()
        .into_inner()
        .api_key;
    let product = world.create(world.product("Perm", "1.00")).await;

    fn request<T>(who: &str, message: T, customer: &str, key: &str, operator: &str, admin: &str) -> Request<T> {
        match who {
            "anonymous" => Request::new(message),
            "customer" => bearer(message, customer),
            "api_key" => bearer(message, key),
            "operator" => session(message, operator),
            _ => session(message, admin),
        }
    }
    // Admin RPCs: operators and admins pass; everyone else is refused.
    let expect_admin = |who: &str| match who {
        "anonymous" => Some(Code::Unauthenticated),
        "customer" | "api_key" => Some(Code::PermissionDenied),
        _ => None,
    };
    let outcome = |result: Result<(), tonic::Status>| match result {
        Ok(()) => None,
        Err(status) if matches!(status.code(), Code::Unauthenticated | Code::PermissionDenied) => Some(status.code()),
        Err(_) => None,
    };
    let unknown = "01900000-0000-7000-8000-000000000000".to_string();
    for who in ["anonymous", "customer", "api_key", "operator", "admin"] {
        let mut products = world.products();
        let mut groups = ProductGroupServiceClient::new(world.channel.clone());
        let mut categories = ProductCategoryServiceClient::new(world.channel.clone());
        macro_rules! check {
            ($client:ident . $call:ident($message:expr), $expected:expr) => {{
                let message = request(who, $message, &world.customer, &key, &operator, &world.admin);
                let got = outcome($client.$call(message).await.map(|_| ()));
                assert_eq!(got, $expected, "{} as {who}", stringify!($call));
            }};
        }
        // Public reads.
        check!(products.list_products(ListProductsRequest::default()), None);
        check!(products.get_product(GetProductRequest { id: product.id.clone() }), None);
        check!(groups.list_product_groups(ListProductGroupsRequest::default()), None);
        check!(categories.list_product_categories(ListProductCategoriesRequest::default()), None);
        check!(categories.get_product_category(GetProductCategoryRequest { id: unknown.clone() }), None);
        // Admin mutations.
        check!(products.create_product(world.product(&format!("By {who}"), "2.00")), expect_admin(who));
        check!(
            products.update_product(UpdateProductRequest {
                id: product.id.clone(),
                name: Some(format!("P {who}")),
                ..Default::default()
            }),
            expect_admin(who)
        );
        check!(products.delete_product(DeleteProductRequest { id: unknown.clone() }), expect_admin(who));
        check!(
            products
                .sync_products(SyncProductsRequest { interface_id: world.interface.clone(), group_id: String::new() }),
            expect_admin(who)
        );
        check!(
            products.batch_set_active(BatchSetActiveRequest { product_ids: vec![product.id.clone()], is_active: true }),
            expect_admin(who)
        );
        check!(
            products.batch_set_group(BatchSetGroupRequest {
                product_ids: vec![product.id.clone()],
                group_id: String::new()
            }),
            expect_admin(who)
        );
        check!(products.batch_delete(BatchDeleteRequest { product_ids: vec![unknown.clone()] }), expect_admin(who));
        check!(
            products.import_upstream_products(ImportUpstreamProductsRequest {
                interface_id: world.interface.clone(),
                items: vec![UpstreamProductItem {
                    name: format!("I {who}"),
                    cost_price: "1.00".into(),
                    ..Default::default()
                }],
                group_id: String::new(),
            }),
            expect_admin(who)
        );
        check!(
            products.batch_update_price(BatchUpdatePriceRequest {
                product_ids: vec![product.id.clone()],
                markup_ratio: "1.1".into()
            }),
            expect_admin(who)
        );
        check!(
            categories.create_product_category(CreateProductCategoryRequest {
                name: format!("C {who}"),
                description: String::new(),
                sort_order: 0
            }),
            expect_admin(who)
        );
        check!(
            categories.update_product_category(UpdateProductCategoryRequest {
                id: unknown.clone(),
                name: "x".into(),
                ..Default::default()
            }),
            expect_admin(who)
        );
        check!(
            categories.delete_product_category(DeleteProductCategoryRequest { id: unknown.clone() }),
            expect_admin(who)
        );
        check!(
            groups.create_product_group(CreateProductGroupRequest { name: format!("G {who}"), ..Default::default() }),
            expect_admin(who)
        );
        check!(
            groups.update_product_group(UpdateProductGroupRequest {
                id: unknown.clone(),
                name: "x".into(),
                ..Default::default()
            }),
            expect_admin(who)
        );
        check!(groups.delete_product_group(DeleteProductGroupRequest { id: unknown.clone() }), expect_admin(who));
    }

    // Groups: create in a category, update, delete (products become ungrouped).
    let mut categories = ProductCategoryServiceClient::new(world.channel.clone());
    let category = categories
        .create_product_category(session(
            CreateProductCategoryRequest { name: "Cloud".into(), description: String::new(), sort_order: 0 },
            &world.admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .category
        .unwrap();
    let mut groups = ProductGroupServiceClient::new(world.channel.clone());
    let group = groups
        .create_product_group(session(
            CreateProductGroupRequest {
                name: "Tokyo".into(),
                description: String::new(),
                sort_order: 3,
                category_id: category.id.clone(),
            },
            &world.admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap();
    assert_eq!((group.category_id.as_str(), group.sort_order), (category.id.as_str(), 3));
    let bad = groups
        .create_product_group(session(
            CreateProductGroupRequest { name: "X".into(), category_id: unknown.clone(), ..Default::default() },
            &world.admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::NotFound);
    let renamed = groups
        .update_product_group(session(
            UpdateProductGroupRequest { id: group.id.clone(), name: "Tokyo 2".into(), ..Default::default() },
            &world.admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap();
    assert_eq!((renamed.name.as_str(), renamed.category_id.as_str()), ("Tokyo 2", ""));
    world
        .products()
        .batch_set_group(session(
            BatchSetGroupRequest { product_ids: vec![product.id.clone()], group_id: group.id.clone() },
            &world.admin,
        ))
        .await
        .unwrap();
    groups
        .delete_product_group(session(DeleteProductGroupRequest { id: group.id.clone() }, &world.admin))
        .await
        .unwrap();
    let ungrouped = world
        .products()
        .get_product(session(GetProductRequest { id: product.id.clone() }, &world.admin))
        .await
        .unwrap();
    assert_eq!(ungrouped.into_inner().product.unwrap().group_id, "");
    pool.close().await;
}
