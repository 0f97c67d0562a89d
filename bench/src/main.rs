//! `make bench`: p50/p99 latency and throughput of Login and GetMe, through
//! the edge (gRPC, with authentication and principal signing) and direct to
//! the identity service (the baseline, measured in the same run), plus a
//! bare `select 1` to the database as the floor; and public ListProducts
//! through the edge over 10,000 products (`BENCH_PRODUCTS`) with filters.
//!
//! Environment: `BENCH_LOGINS` (default 200), `BENCH_CALLS` (default 3000),
//! `BENCH_CONCURRENCY` (default 8). Uses `DATABASE_URL` or a throwaway
//! PostgreSQL from the system's binaries.

use rustbill_bench::{ADMIN_PASSWORD, env_number, measure, server_config};
use rustbill_proto::identity::identity_service_client::IdentityServiceClient;
use rustbill_proto::identity::{GetMeRequest, LoginRequest};
use rustbill_shared::principal::{Caller, InternalSigner, Principal};
use rustbill_shared::testkit::TestDb;
use tonic::transport::Channel;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let logins = env_number("BENCH_LOGINS", 200);
    let calls = env_number("BENCH_CALLS", 3000);
    let concurrency = env_number("BENCH_CONCURRENCY", 8).max(1);

    let database = TestDb::new().await?;
    let config = server_config(database.url(), None);
    let internal_secret = config.internal_secret();
    let server = rustbill_server::Server::start(config).await?;
    let edge = Channel::from_shared(format!("http://{}", server.edge_addr))?.connect().await?;
    let direct = Channel::from_shared(format!("http://{}", server.identity_addr))?.connect().await?;
    let signer = InternalSigner::new(&internal_secret, 60);

    println!("rustbill-bench: logins={logins} calls={calls} concurrency={concurrency}");
    println!("(direct = straight to the identity service with a signed principal: the baseline without the edge)");

    let login =
        || LoginRequest { username: "admin".into(), password: ADMIN_PASSWORD.into(), user_type: "admin".into() };
    // The session cookie for GetMe through the edge.
    let response = IdentityServiceClient::new(edge.clone()).login(login()).await?;
    let cookie = response
        .metadata()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("no session cookie"))?
        .to_string();
    let admin_id = uuid::Uuid::parse_str(&response.into_inner().user.map(|user| user.id).unwrap_or_default())?;

    let mut results = Vec::new();

    let pool = database.pool().await?;
    results.push(
        measure("db select 1 (floor)", calls, concurrency, move |_| {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i32>("select 1").fetch_one(&pool).await?;
                Ok(())
            }
        })
        .await?,
    );

    {
        let channel = direct.clone();
        let signer = signer.clone();
        results.push(
            measure("Login direct (baseline)", logins, concurrency, move |_| {
                let mut client = IdentityServiceClient::new(channel.clone());
                let mut request = tonic::Request::new(login());
                signer.attach(
                    &Caller {
                        principal: Principal::anonymous(),
                        request_id: "bench".into(),
                        client_ip: "127.0.0.1".into(),
                        traceparent: String::new(),
                    },
                    &mut request,
                );
                async move {
                    client.login(request).await?;
                    Ok(())
                }
            })
            .await?,
        );
    }
    {
        let channel = edge.clone();
        results.push(
            measure("Login through the edge", logins, concurrency, move |_| {
                let mut client = IdentityServiceClient::new(channel.clone());
                async move {
                    client.login(login()).await?;
                    Ok(())
                }
            })
            .await?,
        );
    }
    {
        let channel = direct.clone();
        let signer = signer.clone();
        results.push(
            measure("GetMe direct (baseline)", calls, concurrency, move |_| {
                let mut client = IdentityServiceClient::new(channel.clone());
                let mut request = tonic::Request::new(GetMeRequest {});
                signer.attach(
                    &Caller {
                        principal: Principal::Admin {
                            user_id: admin_id,
                            username: "admin".into(),
                            role: rustbill_shared::principal::AdminRole::Admin,
                            session_id: uuid::Uuid::nil(),
                        },
                        request_id: "bench".into(),
                        client_ip: "127.0.0.1".into(),
                        traceparent: String::new(),
                    },
                    &mut request,
                );
                async move {
                    client.get_me(request).await?;
                    Ok(())
                }
            })
            .await?,
        );
    }
    {
        let channel = edge.clone();
        results.push(
            measure("GetMe through the edge", calls, concurrency, move |_| {
                let mut client = IdentityServiceClient::new(channel.clone());
                let mut request = tonic::Request::new(GetMeRequest {});
                request.metadata_mut().insert("cookie", cookie.parse().expect("ascii cookie"));
                async move {
                    client.get_me(request).await?;
                    Ok(())
                }
            })
            .await?,
        );
    }

    // The public catalog: 10,000 products (SQL, as a large reseller would
    // have after syncing), browsed anonymously through the edge, with the
    // filters the portal uses; GetMe direct above is the baseline.
    let products = env_number("BENCH_PRODUCTS", 10_000);
    let pool = database.pool().await?;
    sqlx::query(
        "insert into catalog.products (id, name, description, price_per_month, interface_id, is_active, specs,
                                       billing_cycles)
         select gen_random_uuid(), 'Plan ' || n || case when n % 7 = 0 then ' Pro' else '' end, 'bench',
                (n % 200) + 9.90, '01900000-0000-7000-8000-000000000001'::uuid, n % 10 <> 0,
                jsonb_build_object('region', case n % 4 when 0 then 'hk' when 1 then 'sg' when 2 then 'us-west' else 'de' end),
                jsonb_build_object('monthly', ((n % 200) + 9.90)::text)
         from generate_series(1, $1::int) as n",
    )
    .bind(i32::try_from(products).unwrap_or(i32::MAX))
    .execute(&pool)
    .await?;
    sqlx::query("analyze catalog.products").execute(&pool).await?;
    let catalog_cases: [(&str, rustbill_proto::product::ListProductsRequest); 3] = [
        ("ListProducts public, page 1", Default::default()),
        (
            "ListProducts public, region=hk",
            rustbill_proto::product::ListProductsRequest { region: Some("hk".into()), ..Default::default() },
        ),
        (
            "ListProducts public, search 'pro'",
            rustbill_proto::product::ListProductsRequest { search: Some("pro".into()), ..Default::default() },
        ),
    ];
    for (name, request) in catalog_cases {
        let channel = edge.clone();
        results.push(
            measure(name, calls, concurrency, move |_| {
                let mut client =
                    rustbill_proto::product::product_service_client::ProductServiceClient::new(channel.clone());
                let request = request.clone();
                async move {
                    client.list_products(request).await?;
                    Ok(())
                }
            })
            .await?,
        );
    }

    for stats in &results {
        stats.print();
    }
    let p50 = |name: &str| results.iter().find(|stats| stats.name.starts_with(name)).map(|stats| stats.percentile(0.5));
    if let (Some(edge), Some(direct)) = (p50("GetMe through"), p50("GetMe direct")) {
        println!(
            "edge overhead on GetMe p50: {:.3} ms (session lookup + principal signing + one proxy hop)",
            (edge.as_secs_f64() - direct.as_secs_f64()) * 1e3
        );
    }
    server.run_until(async {}).await?;
    Ok(())
}
