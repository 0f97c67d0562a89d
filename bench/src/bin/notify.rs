//! `make bench` (notify part): system events delivered to a local webhook.
//!
//! `BENCH_EVENTS` (default 2000) `order_provisioned` events are written to
//! the outbox at once; the figure is the time until the webhook receiver
//! has every delivery (broadcast consumer → delivery log → delivery
//! workers → webhook notifier plugin → HTTP POST), as events per second.
//! Same-run baseline: the same number of POSTs straight to the receiver
//! from 4 concurrent clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustbill_bench::{admin_session, enabled_interface, env_number, server_config};
use rustbill_shared::testkit::TestDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tonic::transport::Channel;

const WEBHOOK: &str = include_str!("../../../plugins/notifier-webhook.rn");

/// A minimal HTTP/1.1 receiver answering 200 to every request (keep-alive),
/// counting requests. Hand-written: a benchmark receiver must cost as
/// little as possible and needs no routing.
async fn receiver() -> anyhow::Result<(String, Arc<AtomicUsize>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::with_capacity(8192);
                let mut chunk = [0u8; 8192];
                loop {
                    // Headers, then Content-Length bytes of body.
                    let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") else {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(read) => {
                                buffer.extend_from_slice(&chunk[..read]);
                                continue;
                            }
                        }
                    };
                    let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                    let length = head
                        .lines()
                        .find_map(|line| {
                            line.strip_prefix("content-length:").map(|value| value.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0usize);
                    while buffer.len() < end + 4 + length {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
                        }
                    }
                    buffer.drain(..end + 4 + length);
                    counter.fetch_add(1, Ordering::Relaxed);
                    if stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok((url, count))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let events = env_number("BENCH_EVENTS", 2000);
    let plugins = tempfile::tempdir()?;
    std::fs::write(plugins.path().join("notifier-webhook.rn"), WEBHOOK)?;
    let database = TestDb::new().await?;
    let server = rustbill_server::Server::start(server_config(database.url(), Some(plugins.path()))).await?;
    let edge = Channel::from_shared(format!("http://{}", server.edge_addr))?.connect().await?;
    let (cookie, _) = admin_session(&edge).await?;
    // Baseline: POSTs straight to the receiver.
    let (baseline_url, baseline_count) = receiver().await?;
    let client = reqwest_client()?;
    let begin = Instant::now();
    let mut posts = tokio::task::JoinSet::new();
    for worker in 0..4 {
        let (client, url) = (client.clone(), baseline_url.clone());
        posts.spawn(async move {
            let mut index = worker;
            while index < events {
                client.post(&url).body(r#"{"event":"bench"}"#).send().await?;
                index += 4;
            }
            Ok::<_, anyhow::Error>(())
        });
    }
    while let Some(joined) = posts.join_next().await {
        joined??;
    }
    let baseline = begin.elapsed();
    anyhow::ensure!(baseline_count.load(Ordering::Relaxed) == events, "the baseline receiver missed requests");

    // The channel, then the events.
    let (url, count) = receiver().await?;
    let config = serde_json::json!({ "url": url, "secret": "bench-secret" }).to_string();
    enabled_interface(&edge, &cookie, "webhook", "Bench hook", &config).await?;
    let pool = database.pool().await?;
    let begin = Instant::now();
    sqlx::query(
        "insert into bus.event_queue (id, event_type, aggregate_id, customer_id, payload, source)
         select gen_random_uuid(), 'order_provisioned', gen_random_uuid(), gen_random_uuid(),
                jsonb_build_object('order_id', n, 'product_name', 'Bench VPS', 'customer_email', 'c' || n || '@example.com',
                                   'amount', '10.00', 'currency', 'CNY', 'ip_address', '192.0.2.1'),
                'bench'
         from generate_series(1, $1::int) as n",
    )
    .bind(i32::try_from(events)?)
    .execute(&pool)
    .await?;
    while count.load(Ordering::Relaxed) < events {
        anyhow::ensure!(
            begin.elapsed() < Duration::from_secs(900),
            "only {} of {events} delivered",
            count.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = begin.elapsed();
    println!("rustbill-bench notify: events={events}");
    println!(
        "{:<44} {:>9.1} events/s ({events} in {:.2} s)",
        "events delivered to a local webhook",
        events as f64 / took.as_secs_f64(),
        took.as_secs_f64()
    );
    println!(
        "{:<44} {:>9.1} requests/s ({events} in {:.2} s, 4 clients)",
        "  baseline: POSTs straight to the receiver",
        events as f64 / baseline.as_secs_f64(),
        baseline.as_secs_f64()
    );
    pool.close().await;
    server.run_until(async {}).await?;
    Ok(())
}

fn reqwest_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().pool_max_idle_per_host(8).build()?)
}
