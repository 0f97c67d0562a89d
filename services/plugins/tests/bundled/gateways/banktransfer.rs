//! gateway-banktransfer: instructions, admin-confirmed receipt, manual
//! refunds and the admin page, with the plugin state in PostgreSQL shared
//! by two service instances (engines with their own pools).

use rustbill_plugins::engine::{Engine, PaymentCreated, PaymentState, PaymentUpdate, PluginFailure, ScriptRef};
use rustbill_plugins::host::MIGRATOR;
use rustbill_shared::config::DbConfig;
use rustbill_shared::testkit::TestDb;
use serde_json::{Value as Json, json};

use super::{call, call_json, engine_with, payment_args, rfc3339, script};

const INTERFACE: &str = "bank-1";

fn config() -> Json {
    json!({
        "bank_name": "招商银行 上海分行", "account_name": "RustBill Ltd", "account_number": "6214 0000 1234",
        "instructions_extra": "Transfers usually arrive within one business day.",
    })
}

/// One service instance: an engine with its own pool on the shared
/// database.
struct Instance {
    engine: Engine,
    script: ScriptRef,
    config: Json,
}

impl Instance {
    async fn start(database: &TestDb) -> Self {
        let db = DbConfig { max_connections: 4, min_connections: 0, ..DbConfig::default() };
        let service = rustbill_shared::db::open_service(&db, database.url(), "plugins", &MIGRATOR).await.unwrap();
        Self {
            engine: engine_with(Some(service.pool.clone())),
            script: script(INTERFACE, "gateway-banktransfer.rn"),
            config: config(),
        }
    }

    async fn create(&self, payment_id: &str, amount: &str) -> Result<PaymentCreated, PluginFailure> {
        let raw =
            call(&self.engine, &self.script, "create_payment", &self.config, payment_args(payment_id, amount, ""));
        PaymentCreated::from_return(raw.await)
    }

    async fn query(&self, payment_id: &str) -> Result<PaymentUpdate, PluginFailure> {
        let args = json!({"payment_id": payment_id, "gateway_payment_id": payment_id});
        PaymentUpdate::from_return(call(&self.engine, &self.script, "query_payment", &self.config, args).await)
    }

    async fn refund(&self, payment_id: &str, refund_id: &str, amount: &str) -> Result<PaymentUpdate, PluginFailure> {
        let args = json!({"payment_id": payment_id, "gateway_payment_id": payment_id, "refund_id": refund_id,
                          "amount": amount, "reason": "cancelled order"});
        PaymentUpdate::from_return(call(&self.engine, &self.script, "refund", &self.config, args).await)
    }

    /// An admin action (CallPluginAction merges its args into the config).
    async fn action(&self, function: &str, args: Json) -> Result<Json, PluginFailure> {
        call_json(&self.engine, &self.script, function, &self.config, args).await
    }
}

async fn database() -> TestDb {
    TestDb::new().await.expect("a PostgreSQL test database")
}

/// The customer gets everything needed for the transfer (no URL); the
/// payment stays pending, callbacks are refused, and only an admin's
/// confirmation of the exact amount — made on another instance — makes it
/// paid, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_are_pending_until_an_admin_confirms_the_exact_amount() {
    let database = database().await;
    let shop = Instance::start(&database).await;
    let admin = Instance::start(&database).await;

    let created = shop.create("P77", "120").await.expect("create_payment");
    assert_eq!(created.gateway_payment_id, "P77");
    assert_eq!((created.payment_url.as_deref(), created.qr_code.as_deref()), (None, None));
    let instructions = created.instructions.expect("instructions");
    for needle in [
        "120.00 CNY",
        "Payment reference (required): P77",
        "招商银行 上海分行",
        "RustBill Ltd",
        "6214 0000 1234",
        "within one business day",
    ] {
        assert!(instructions.contains(needle), "{needle:?} in {instructions}");
    }
    // Asking again for a pending payment gives the same instructions.
    assert_eq!(shop.create("P77", "120.00").await.unwrap().instructions.as_deref(), Some(instructions.as_str()));

    let pending = shop.query("P77").await.unwrap();
    assert_eq!(
        (pending.status, pending.gateway_tx_id.as_deref(), pending.paid_at.as_deref()),
        (PaymentState::Pending, None, None)
    );
    let error = shop.query("P404").await.expect_err("unknown payment");
    assert!(error.message.contains("no bank transfer payment P404"), "{}", error.message);

    // Banks do not call back: whatever reaches the callback URL is refused.
    let callback = json!({"payload": "payment_id=P77&status=paid", "query": "payment_id=P77&status=paid", "body": "",
                          "http_method": "GET", "content_type": "", "headers": {}});
    let raw = call(&shop.engine, &shop.script, "handle_callback", &shop.config, callback).await;
    assert!(PaymentUpdate::from_return(raw).expect_err("no callbacks").message.contains("no gateway callbacks"));

    // Refused confirmations change nothing.
    for (args, reason) in [
        (json!({"payment_id": "P77", "amount": "12.00", "reference": "stmt-1"}), "does not match the expected 120.00"),
        (json!({"payment_id": "P77", "amount": "120.001", "reference": "stmt-1"}), "does not match"),
        (json!({"payment_id": "P78", "amount": "120.00", "reference": "stmt-1"}), "no bank transfer payment P78"),
        (json!({"payment_id": "P77", "amount": "120.00"}), "reference are required"),
    ] {
        let error = admin.action("confirm_receipt", args.clone()).await.expect_err("refused");
        assert!(error.message.contains(reason), "{args}: {}", error.message);
    }
    assert_eq!(shop.query("P77").await.unwrap().status, PaymentState::Pending, "nothing was confirmed");
    let error = shop.refund("P77", "R0", "1.00").await.expect_err("nothing to refund yet");
    assert!(error.message.contains("never confirmed"), "{}", error.message);

    // The admin (other instance) confirms 120 = 120.00 with the statement line.
    let confirmed = admin
        .action(
            "confirm_receipt",
            json!({"payment_id": "P77", "amount": 120, "reference": "stmt-42", "note": "ICBC wire"}),
        )
        .await
        .expect("confirmed");
    assert_eq!((confirmed["confirmed"].as_bool(), confirmed["payment_id"].as_str()), (Some(true), Some("P77")));
    let paid = shop.query("P77").await.unwrap();
    assert_eq!(paid.status, PaymentState::Success);
    assert_eq!(paid.gateway_tx_id.as_deref(), Some("stmt-42"));
    assert_eq!(paid.paid_at.as_deref(), confirmed["paid_at"].as_str());
    rfc3339(paid.paid_at.as_deref().unwrap());
    let record: Json = serde_json::from_str(paid.raw_response.as_deref().unwrap()).unwrap();
    assert_eq!(record["confirmation"]["note"], "ICBC wire");
    assert_eq!(record["confirmation"]["amount"], "120.00");

    // Once only; and a paid payment gets no new instructions.
    let twice =
        admin.action("confirm_receipt", json!({"payment_id": "P77", "amount": "120.00", "reference": "stmt-43"}));
    assert!(twice.await.expect_err("twice").message.contains("already confirmed"));
    assert!(shop.create("P77", "120.00").await.expect_err("paid").message.contains("already confirmed"));
    assert_eq!(shop.query("P77").await.unwrap().gateway_tx_id.as_deref(), Some("stmt-42"));

    // The records live in plugins.plugin_state under the interface.
    let pool = database.pool().await.unwrap();
    let keys: Vec<String> =
        sqlx::query_scalar("select key from plugins.plugin_state where interface_id = $1 order by key")
            .bind(INTERFACE)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(keys, ["payment:P77", "recent"]);
}

/// Refunds are requested (pending, manual), idempotent per refund id,
/// bounded by what was received, and confirmed by the admin; the payment
/// reads `refunded` once everything went back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_are_manual_and_confirmed_by_an_admin() {
    let database = database().await;
    let bank = Instance::start(&database).await;
    bank.create("P90", "100.00").await.unwrap();
    bank.action("confirm_receipt", json!({"payment_id": "P90", "amount": "100", "reference": "stmt-90"}))
        .await
        .unwrap();

    let requested = bank.refund("P90", "R1", "30").await.unwrap();
    assert_eq!(requested.status, PaymentState::Pending);
    let note = requested.raw_response.unwrap();
    assert!(note.contains("transfer 30.00 CNY back") && note.contains("confirm_refund"), "{note}");
    // Asked again (the payments service retries): the same request.
    assert_eq!(bank.refund("P90", "R1", "30.00").await.unwrap().status, PaymentState::Pending);
    let too_much = bank.refund("P90", "R2", "80.00").await.unwrap();
    assert_eq!(too_much.status, PaymentState::Failed);
    assert!(too_much.raw_response.unwrap().contains("only 70.00 is left"));
    let error = bank.refund("P90", "R2", "0").await.expect_err("zero");
    assert!(error.message.contains("refund amount"), "{}", error.message);

    let listed = bank.action("list_payments", json!({"status": "refund_requested"})).await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["refunds"].as_array().unwrap().len(), 1, "R1 was recorded once: {listed}");

    // Confirmed by hand: partly refunded, still a success.
    let done = bank.action("confirm_refund", json!({"payment_id": "P90", "reference": "out-1"})).await.unwrap();
    assert_eq!((done["refund_id"].as_str(), done["fully_refunded"].as_bool()), (Some("R1"), Some(false)));
    assert_eq!(bank.query("P90").await.unwrap().status, PaymentState::Success);
    let error = bank.action("confirm_refund", json!({"payment_id": "P90"})).await.expect_err("nothing waits");
    assert!(error.message.contains("no refund requested"), "{}", error.message);

    // The rest, then two waiting refunds need their ids.
    assert_eq!(bank.refund("P90", "R2", "50.00").await.unwrap().status, PaymentState::Pending);
    assert_eq!(bank.refund("P90", "R3", "20.00").await.unwrap().status, PaymentState::Pending);
    let error = bank.action("confirm_refund", json!({"payment_id": "P90"})).await.expect_err("ambiguous");
    assert!(error.message.contains("give refund_id"), "{}", error.message);
    let r2 = bank.action("confirm_refund", json!({"payment_id": "P90", "refund_id": "R2"})).await.unwrap();
    assert_eq!(r2["fully_refunded"], false);
    let r3 = bank.action("confirm_refund", json!({"payment_id": "P90", "refund_id": "R3"})).await.unwrap();
    assert_eq!(r3["fully_refunded"], true);
    let refunded = bank.query("P90").await.unwrap();
    assert_eq!(refunded.status, PaymentState::Refunded);
    assert_eq!(refunded.gateway_tx_id.as_deref(), Some("stmt-90"));
    assert_eq!(bank.refund("P90", "R3", "20.00").await.unwrap().status, PaymentState::Refunded, "a repeat is answered");
}

/// list_payments filters by status, newest first; the admin page lists the
/// payments with their values HTML-escaped and has both forms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_page_and_list_show_the_payments() {
    let database = database().await;
    let bank = Instance::start(&database).await;

    let page = bank.action("admin_page", json!({})).await.unwrap();
    assert!(page.as_str().unwrap().contains("No bank transfer payments yet"));

    bank.create("P1", "10.00").await.unwrap();
    bank.create("P2", "20.00").await.unwrap();
    bank.create("P3", "30.00").await.unwrap();
    bank.create("P1", "10.00").await.unwrap(); // instructions again: P1 stays the oldest, listed once
    let reference = "<script>alert(1)</script>&\"'";
    bank.action("confirm_receipt", json!({"payment_id": "P2", "amount": "20", "reference": reference})).await.unwrap();

    let ids = |listed: Json| -> Vec<String> {
        listed.as_array().unwrap().iter().map(|record| record["payment_id"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ids(bank.action("list_payments", json!({})).await.unwrap()), ["P3", "P2", "P1"]);
    assert_eq!(ids(bank.action("list_payments", json!({"status": "pending"})).await.unwrap()), ["P3", "P1"]);
    assert_eq!(ids(bank.action("list_payments", json!({"status": "paid"})).await.unwrap()), ["P2"]);
    assert!(ids(bank.action("list_payments", json!({"status": "refunded"})).await.unwrap()).is_empty());

    let page = bank.action("admin_page", json!({})).await.unwrap();
    let page = page.as_str().expect("HTML");
    assert!(!page.contains("<script>alert(1)"), "the reference is escaped");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;"), "{page}");
    for needle in [
        "data-function=\"confirm_receipt\"",
        "data-function=\"confirm_refund\"",
        "rustbill:call",
        "P3",
        "30.00 CNY",
        "6214 0000 1234",
    ] {
        assert!(page.contains(needle), "{needle} in the admin page");
    }

    // Health reflects the configuration.
    let health = call_json(&bank.engine, &bank.script, "health_check", &bank.config, json!({})).await.unwrap();
    assert_eq!(health, json!(true));
    let mut incomplete = bank.config.clone();
    incomplete["account_number"] = json!("");
    let error =
        call_json(&bank.engine, &bank.script, "health_check", &incomplete, json!({})).await.expect_err("incomplete");
    assert!(error.message.contains("account_number"), "{}", error.message);
    for amount in ["0", "abc", "-3"] {
        let error = bank.create("P9", amount).await.expect_err("bad amount");
        assert!(error.message.contains("amount"), "{amount}: {}", error.message);
    }
}
