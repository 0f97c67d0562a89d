//! `deploy/citus/distribute.sql` against the migrations: every table a
//! service creates is distributed, a reference table, or deliberately kept
//! local, and every name the script mentions exists. (Running the whole
//! suite on a Citus coordinator is `CITUS_URL=… make test`; see the test
//! kit.)

use std::collections::BTreeSet;
use std::path::Path;

/// `schema.table` of every `create table` in the migrations.
fn migrated_tables(root: &Path) -> BTreeSet<String> {
    let mut tables = BTreeSet::new();
    let sources = [
        ("shared/migrations/bus", "bus"),
        ("services/identity/migrations", "identity"),
        ("services/catalog/migrations", "catalog"),
        ("services/orders/migrations", "orders"),
        ("services/payments/migrations", "payments"),
        ("services/notify/migrations", "notify"),
        ("services/plugins/migrations", "plugins"),
    ];
    for (directory, schema) in sources {
        for entry in std::fs::read_dir(root.join(directory)).expect("migrations directory") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|extension| extension != "sql") {
                continue;
            }
            let sql = std::fs::read_to_string(&path).expect("migration");
            for line in sql.lines() {
                let line = line.trim().to_lowercase();
                let Some(rest) = line.strip_prefix("create table ") else { continue };
                let rest = rest.trim_start_matches("if not exists ").trim();
                let name: String =
                    rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.').collect();
                let name = name.rsplit('.').next().unwrap_or_default().to_string();
                tables.insert(format!("{schema}.{name}"));
            }
        }
    }
    tables
}

/// The tables `distribute.sql` decides on: distributed, reference, local.
fn decided_tables(script: &str) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let (mut distributed, mut reference, mut local) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for line in script.lines().map(str::trim) {
        let quoted = || line.split('\'').nth(1).map(str::to_string);
        if line.starts_with("select create_distributed_table(") {
            distributed.insert(quoted().expect("table name"));
        } else if line.starts_with("select create_reference_table(") {
            reference.insert(quoted().expect("table name"));
        } else if let Some(name) = line.strip_prefix("-- local: ") {
            local.insert(name.trim().to_string());
        }
    }
    (distributed, reference, local)
}

#[test]
fn the_citus_script_decides_on_every_table_the_services_create() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tables = migrated_tables(&root);
    assert!(tables.len() > 30, "found the migrations: {tables:?}");
    let script = std::fs::read_to_string(root.join("deploy/citus/distribute.sql")).expect("distribute.sql");
    let (distributed, reference, local) = decided_tables(&script);
    let decided: BTreeSet<String> = distributed.iter().chain(&reference).chain(&local).cloned().collect();
    let undecided: Vec<&String> = tables.difference(&decided).collect();
    assert!(undecided.is_empty(), "tables distribute.sql does not mention: {undecided:?}");
    let unknown: Vec<&String> = decided.difference(&tables).collect();
    assert!(unknown.is_empty(), "distribute.sql names tables no migration creates: {unknown:?}");
    assert_eq!(
        distributed.len() + reference.len() + local.len(),
        decided.len(),
        "a table is decided twice: distributed {distributed:?}, reference {reference:?}, local {local:?}"
    );
    // The spec's distributed tables (HA guide §7.2) that exist here are
    // distributed by customer_id.
    for table in [
        "orders.orders",
        "orders.instances",
        "orders.invoices",
        "orders.invoice_items",
        "payments.payments",
        "payments.balance_transactions",
        "notify.tickets",
        "notify.ticket_replies",
    ] {
        assert!(distributed.contains(table), "{table} is distributed");
    }
}
