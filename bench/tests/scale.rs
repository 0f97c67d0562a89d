//! The scale bench at a small size, so `make test` keeps it working: the
//! generator loads consistent rows, the list's total and a deep page are
//! checked against the rows, and every operation of the table is measured
//! through the edge against the rustbill-server binary and through pgbench.

use rustbill_bench::scale::{self, Settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scale_bench_runs_at_a_small_size() {
    let settings =
        Settings { orders: 2_000, customers: 5, calls: 40, concurrency: 2, pipeline_orders: 20, pgbench_secs: 1 };
    let report = scale::run(settings).await.expect("scale bench");
    println!("{}", report.markdown());
    // 90% of the orders are active with a payment and an instance; one
    // order in ten (all of them active) has a paid invoice with its own
    // payment.
    assert_eq!(report.loaded["orders.orders"], 2_000);
    assert_eq!(report.loaded["orders.instances"], 1_800);
    assert_eq!(report.loaded["orders.invoices"], 200);
    assert_eq!(report.loaded["orders.invoice_items"], 200);
    assert_eq!(report.loaded["payments.payments"], 2_000);
    let operations: Vec<&str> = report.rows.iter().map(|row| row.operation).collect();
    assert_eq!(operations.len(), 6, "{operations:?}");
    for row in &report.rows {
        assert!(row.calls > 0 && row.edge_p50_ms > 0.0 && row.edge_p99_ms >= row.edge_p50_ms, "{row:?}");
        assert!(row.single_p50_ms > 0.0, "{row:?}");
        let (p50, p99, rate) = row.pgbench.expect("pgbench ran (installed with PostgreSQL)");
        assert!(p50 > 0.0 && p99 >= p50 && rate > 0.0, "{row:?}");
    }
    assert!(report.pipeline_per_sec > 0.0);
    // The server ran as its own process and its memory was read.
    assert!(report.rss_idle_kb > 1024 && report.rss_peak_kb >= report.rss_idle_kb, "{report:?}");
    assert!(report.database.starts_with("PostgreSQL "), "{}", report.database);
    let document = scale::document(&report);
    assert!(document.contains("| customer's own orders |") && document.contains(&report.machine), "{document}");
    assert!(document.contains("## Targets not met, and why"), "{document}");
}
