//! `make bench` (scale part): the spec's performance table at 1M orders.
//! Loads the data, measures every operation through the edge and its SQL
//! through pgbench in the same run, prints the table and writes it to
//! `docs/PERFORMANCE.md` (`BENCH_WRITE_DOC=0` to only print). Settings:
//! see [`rustbill_bench::scale::Settings::from_env`]; `DATABASE_URL` or a
//! throwaway PostgreSQL from the system's binaries.

use rustbill_bench::scale::{self, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env();
    println!(
        "rustbill-bench scale: orders={} customers={} calls={} concurrency={} pipeline={} pgbench={} s",
        settings.orders,
        settings.customers,
        settings.calls,
        settings.concurrency,
        settings.pipeline_orders,
        settings.pgbench_secs
    );
    let report = scale::run(settings).await?;
    let table = report.markdown();
    println!("loaded {:?} in {:.1} s", report.loaded, report.load_time.as_secs_f64());
    println!("{table}");
    if std::env::var("BENCH_WRITE_DOC").map_or(true, |value| value != "0") {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/PERFORMANCE.md");
        std::fs::create_dir_all(path.parent().expect("docs"))?;
        std::fs::write(&path, scale::document(&report))?;
        println!("written to {}", path.display());
    }
    Ok(())
}
