//! Billing through the edge, with a controllable clock (RunBilling's
//! `as_of`): renewals paid from the balance extend the service; unpaid ones
//! go overdue, suspend, come back on payment or terminate after the grace
//! period; every step happens once even when the run repeats or two
//! instances run it at once; invoice numbers stay gapless under concurrent
//! generation; tax and printable documents.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustbill_proto::billing::billing_service_client::BillingServiceClient;
use rustbill_proto::billing::*;
use rustbill_proto::instance::ListInstancesRequest;
use rustbill_proto::payment::CreatePaymentRequest;
use rustbill_system_tests::flows::Customer;
use rustbill_system_tests::{bearer, session};
use tonic::Code;
use tonic::transport::Channel;

use crate::orders::{SETTLE, Shop};

impl Shop {
    fn billing(&self) -> BillingServiceClient<Channel> {
        BillingServiceClient::new(self.channel.clone())
    }

    async fn run_billing(&self, as_of: DateTime<Utc>) -> RunBillingResponse {
        self.billing()
            .run_billing(session(RunBillingRequest { as_of: as_of.to_rfc3339() }, &self.admin))
            .await
            .expect("run billing")
            .into_inner()
    }

    /// The order's paid period end, read from the database.
    async fn period_end(&self, order_id: &str) -> DateTime<Utc> {
        let pool = self.server.pool().await;
        let end: Option<DateTime<Utc>> = sqlx::query_scalar("select period_end from orders.orders where id = $1::uuid")
            .bind(order_id)
            .fetch_one(&pool)
            .await
            .expect("period end");
        pool.close().await;
        end.expect("an active order has a period")
    }

    async fn invoices_of(&self, customer: &Customer) -> Vec<InvoiceInfo> {
        self.billing()
            .list_invoices(bearer(ListInvoicesRequest::default(), &customer.access_token))
            .await
            .expect("list invoices")
            .into_inner()
            .invoices
    }

    async fn events(&self, event_type: &str) -> i64 {
        self.count(&format!("select count(*) from bus.event_queue where event_type = '{event_type}'")).await
    }

    async fn instance_status(&self, customer: &Customer) -> String {
        self.instances()
            .list_instances(bearer(ListInstancesRequest::default(), &customer.access_token))
            .await
            .expect("instances")
            .into_inner()
            .instances[0]
            .status
            .clone()
    }

    /// A customer with `credit` and one active monthly order paid from it.
    async fn subscribed(&self, name: &str, credit: &str) -> (Customer, String) {
        let customer = self.customer(name).await;
        self.credit(&customer, credit).await;
        let order = self.order(&customer, "balance").await.expect("order").order.expect("order");
        self.settled(&order.id, "active").await;
        (customer, order.id)
    }
}

fn days(count: i64) -> chrono::Duration {
    chrono::Duration::days(count)
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + SETTLE;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monthly_service_renews_from_the_balance_once() {
    let shop = Shop::open("", false).await;
    let (mia, order) = shop.subscribed("mia_renew", "100.00").await;
    let end = shop.period_end(&order).await;
    assert!(end > Utc::now() + chrono::Duration::days(27), "a month from now: {end}");

    // Eight days before the end: nothing to do yet (renewals start seven
    // days before).
    assert_eq!(shop.run_billing(end - chrono::Duration::days(8)).await, RunBillingResponse::default());
    // Six days before: one renewal, paid from the balance at once.
    let report = shop.run_billing(end - chrono::Duration::days(6)).await;
    assert_eq!((report.renewals_issued, report.paid_from_balance), (1, 1));
    // Running again, and on a second instance at the same time, does nothing.
    let other = shop.server.another_instance().await.expect("second instance");
    let other_channel = other.channel().await;
    let (again, on_other) = tokio::join!(shop.run_billing(end - chrono::Duration::days(6)), async {
        BillingServiceClient::new(other_channel)
            .run_billing(session(
                RunBillingRequest { as_of: (end - chrono::Duration::days(5)).to_rfc3339() },
                &shop.admin,
            ))
            .await
            .expect("run on the second instance")
            .into_inner()
    });
    assert_eq!((again.renewals_issued, on_other.renewals_issued), (0, 0));

    wait_until("the renewal to be paid", || async { shop.period_end(&order).await > end }).await;
    let new_end = shop.period_end(&order).await;
    assert_eq!(new_end, end.checked_add_months(chrono::Months::new(1)).expect("a month later"));
    let invoices = shop.invoices_of(&mia).await;
    assert_eq!(invoices.len(), 1);
    let invoice = &invoices[0];
    assert_eq!((invoice.kind.as_str(), invoice.status.as_str()), ("renewal", "paid"));
    // Numbered in the year it was issued (the run's clock).
    assert_eq!(invoice.invoice_number, format!("INV-{}-000001", (end - chrono::Duration::days(6)).format("%Y")));
    assert_eq!(
        (invoice.amount.as_str(), invoice.tax_amount.as_str(), invoice.total_amount.as_str()),
        ("10.00", "0.00", "10.00")
    );
    assert_eq!(invoice.items.len(), 1);
    assert!(invoice.items[0].description.starts_with("VPS S ("), "{:?}", invoice.items[0]);
    assert_eq!(invoice.due_date, end.date_naive().to_string());
    assert_eq!(shop.balance_of(&mia).await, Decimal::new(8000, 2));
    shop.assert_ledger_balances(&mia).await;
    assert_eq!(shop.events("billing.invoice_issued").await, 1);
    assert_eq!(shop.events("billing.invoice_paid").await, 1);
    assert_eq!(shop.events("billing.overdue").await, 0);
    assert_eq!(shop.get_order(&order).await.status, "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_renewal_goes_overdue_suspends_and_comes_back_when_paid() {
    let shop = Shop::open("", false).await;
    let (nora, order) = shop.subscribed("nora_overdue", "10.00").await;
    let end = shop.period_end(&order).await;
    let day = days(1);

    let report = shop.run_billing(end - days(6)).await;
    assert_eq!((report.renewals_issued, report.paid_from_balance), (1, 0), "the balance is empty");
    assert_eq!(shop.run_billing(end - day).await, RunBillingResponse::default(), "not due yet");
    assert_eq!(shop.run_billing(end + day).await.overdue, 1);
    assert_eq!(shop.run_billing(end + days(2)).await, RunBillingResponse::default(), "overdue once");
    assert_eq!(shop.get_order(&order).await.status, "active", "suspension waits three days");

    // Two runs at once on the suspension day: one suspension.
    let (first, second) = tokio::join!(shop.run_billing(end + days(3)), shop.run_billing(end + days(3)));
    assert_eq!(first.suspended + second.suspended, 1);
    assert_eq!(shop.get_order(&order).await.status, "suspended");
    assert_eq!(shop.instance_status(&nora).await, "suspended");
    let reboot = shop
        .instances()
        .execute_instance_action(bearer(
            rustbill_proto::instance::ExecuteInstanceActionRequest {
                id: shop
                    .instances()
                    .list_instances(bearer(ListInstancesRequest::default(), &nora.access_token))
                    .await
                    .expect("instances")
                    .into_inner()
                    .instances[0]
                    .id
                    .clone(),
                action: "reboot".into(),
                params_json: String::new(),
            },
            &nora.access_token,
        ))
        .await
        .expect_err("a suspended server takes no actions from its customer");
    assert_eq!(reboot.code(), Code::FailedPrecondition);

    // The customer pays the overdue invoice: the service comes back and the
    // period is extended from where it ended.
    let invoice = shop.invoices_of(&nora).await.remove(0);
    assert_eq!(invoice.status, "overdue");
    shop.credit(&nora, "10.00").await;
    shop.payments()
        .create_payment(bearer(
            CreatePaymentRequest {
                invoice_id: invoice.id.clone(),
                gateway_interface_id: "balance".into(),
                ..Default::default()
            },
            &nora.access_token,
        ))
        .await
        .expect("pay the invoice");
    shop.settled(&order, "active").await;
    assert_eq!(shop.instance_status(&nora).await, "running");
    assert_eq!(shop.period_end(&order).await, end.checked_add_months(chrono::Months::new(1)).expect("a month later"));
    let paid = shop.invoices_of(&nora).await.remove(0);
    assert_eq!(paid.status, "paid");
    assert!(!paid.paid_at.is_empty());
    // Paying it again is refused before any money moves.
    let twice = shop
        .payments()
        .create_payment(bearer(
            CreatePaymentRequest {
                invoice_id: invoice.id.clone(),
                gateway_interface_id: "balance".into(),
                ..Default::default()
            },
            &nora.access_token,
        ))
        .await
        .expect_err("paid already");
    assert_eq!(twice.code(), Code::InvalidArgument);
    assert_eq!(shop.balance_of(&nora).await, Decimal::ZERO);
    shop.assert_ledger_balances(&nora).await;
    // Later runs leave it alone; every event happened once.
    assert_eq!(shop.run_billing(end + days(20)).await.suspended, 0);
    for (event, count) in [
        ("billing.invoice_issued", 1),
        ("billing.overdue", 1),
        ("instance.suspended", 1),
        ("instance.unsuspended", 1),
        ("billing.invoice_paid", 1),
        ("instance.terminated", 0),
    ] {
        assert_eq!(shop.events(event).await, count, "{event}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_service_is_terminated_after_the_grace_period() {
    let shop = Shop::open("", false).await;
    let (owen, order) = shop.subscribed("owen_grace", "10.00").await;
    let end = shop.period_end(&order).await;
    let day = days(1);
    shop.run_billing(end - days(6)).await;
    shop.run_billing(end + day).await;
    assert_eq!(shop.run_billing(end + days(3)).await.suspended, 1);
    assert_eq!(shop.run_billing(end + days(13)).await.terminated, 0, "grace is 14 days");
    let report = shop.run_billing(end + days(14)).await;
    assert_eq!(report.terminated, 1);
    assert_eq!(shop.get_order(&order).await.status, "terminated");
    assert_eq!(shop.instance_status(&owen).await, "terminated");
    assert_eq!(shop.invoices_of(&owen).await[0].status, "cancelled", "the unpaid renewal is void");
    assert_eq!(shop.run_billing(end + days(30)).await, RunBillingResponse::default());
    assert_eq!(shop.events("instance.terminated").await, 1);
    let reason: String = {
        let pool = shop.server.pool().await;
        sqlx::query_scalar("select payload->>'reason' from bus.event_queue where event_type = 'instance.terminated'")
            .fetch_one(&pool)
            .await
            .expect("event")
    };
    assert_eq!(reason, "not paid after the grace period");
}

/// Two instances generate invoices for one period at once: one invoice per
/// customer, numbers 1..n with no gap and no duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_generation_on_two_instances_keeps_numbers_gapless() {
    let shop = Shop::open("", false).await;
    let mut customers = Vec::new();
    for index in 0..4 {
        let customer = shop.customer(&format!("gen_{index}")).await;
        shop.credit(&customer, "100.00").await;
        for _ in 0..2 {
            let order = shop.order(&customer, "balance").await.expect("order").order.expect("order");
            shop.settled(&order.id, "active").await;
        }
        customers.push(customer);
    }
    let other = shop.server.another_instance().await.expect("second instance");
    let today = Utc::now().date_naive();
    let request = GenerateInvoicesRequest {
        billing_period_start: (today + chrono::Duration::days(20)).to_string(),
        billing_period_end: (today + chrono::Duration::days(45)).to_string(),
    };
    let (mut here, mut there) = (shop.billing(), BillingServiceClient::new(other.channel().await));
    let (first, second) = tokio::join!(
        here.generate_invoices(session(request.clone(), &shop.admin)),
        there.generate_invoices(session(request.clone(), &shop.admin)),
    );
    let generated =
        first.expect("here").into_inner().generated_count + second.expect("there").into_inner().generated_count;
    assert_eq!(generated, 4, "one invoice per customer");
    let again = shop.billing().generate_invoices(session(request, &shop.admin)).await.expect("again").into_inner();
    assert_eq!(again.generated_count, 0, "a period is billed once");
    let pool = shop.server.pool().await;
    let numbers: Vec<String> = sqlx::query_scalar("select invoice_number from orders.invoices order by invoice_number")
        .fetch_all(&pool)
        .await
        .expect("numbers");
    let year = Utc::now().format("%Y").to_string();
    let expected: Vec<String> = (1..=4).map(|n| format!("INV-{year}-{n:06}")).collect();
    assert_eq!(numbers, expected);
    let items: i64 =
        sqlx::query_scalar("select count(*) from orders.invoice_items").fetch_one(&pool).await.expect("items");
    assert_eq!(items, 8, "each order's next period once");
    pool.close().await;
    for customer in &customers {
        let invoices = shop.invoices_of(customer).await;
        assert_eq!(invoices.len(), 1);
        assert_eq!((invoices[0].kind.as_str(), invoices[0].total_amount.as_str()), ("generated", "20.00"));
    }
    // The billing run does not bill those periods again.
    assert_eq!(shop.run_billing(Utc::now() + chrono::Duration::days(29)).await.renewals_issued, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_invoices_check_totals_and_tax_and_print() {
    let shop = Shop::open_with("", false, &[("RUSTBILL_BILLING__TAX_RATES__DEFAULT", "13")]).await;
    let pia = shop.customer("pia_manual").await;
    let quinn = shop.customer("quinn_manual").await;
    let item = |description: &str, quantity: u32, unit_price: &str, amount: &str| InvoiceItemInput {
        description: description.into(),
        quantity,
        unit_price: unit_price.into(),
        amount: amount.into(),
    };
    let base = CreateInvoiceRequest {
        customer_id: pia.customer_id.clone(),
        billing_period_start: "2026-11-01".into(),
        billing_period_end: "2026-11-30".into(),
        amount: "100.00".into(),
        tax_amount: "13.00".into(),
        total_amount: "113.00".into(),
        due_date: "2026-12-15".into(),
        notes: "十一月 <b>账单</b>".into(),
        items: vec![item("VPS-1C2G 月费", 2, "40.00", "80.00"), item("Backup", 1, "20.00", "")],
    };
    // Bad input: named, refused, nothing written.
    let cases = [
        (CreateInvoiceRequest { total_amount: "112.00".into(), ..base.clone() }, "total_amount"),
        (CreateInvoiceRequest { tax_amount: "0.00".into(), ..base.clone() }, "tax_amount"),
        (CreateInvoiceRequest { items: vec![item("x", 2, "40.00", "81.00")], ..base.clone() }, "items[0].amount"),
        (CreateInvoiceRequest { items: vec![item("x", 0, "40.00", "")], ..base.clone() }, "items[0].quantity"),
        (CreateInvoiceRequest { items: vec![], ..base.clone() }, "items"),
        (CreateInvoiceRequest { due_date: "15/12/2026".into(), ..base.clone() }, "due_date"),
        (CreateInvoiceRequest { billing_period_end: "2026-10-01".into(), ..base.clone() }, "billing_period_end"),
    ];
    for (request, field) in cases {
        let error = shop.billing().create_invoice(session(request, &shop.admin)).await.expect_err(field);
        assert_eq!(error.code(), Code::InvalidArgument, "{field}");
        assert!(error.message().starts_with(field), "{field}: {}", error.message());
    }
    let unknown = shop
        .billing()
        .create_invoice(session(
            CreateInvoiceRequest { customer_id: uuid::Uuid::now_v7().to_string(), ..base.clone() },
            &shop.admin,
        ))
        .await
        .expect_err("no such customer");
    assert_eq!(unknown.code(), Code::NotFound);
    let by_customer =
        shop.billing().create_invoice(bearer(base.clone(), &pia.access_token)).await.expect_err("customer");
    assert_eq!(by_customer.code(), Code::PermissionDenied);
    assert_eq!(shop.count("select count(*) from orders.invoices").await, 0);

    let draft = shop
        .billing()
        .create_invoice(session(base.clone(), &shop.admin))
        .await
        .expect("create")
        .into_inner()
        .invoice
        .expect("invoice");
    assert_eq!((draft.status.as_str(), draft.invoice_number.as_str(), draft.tax_rate.as_str()), ("draft", "", "13.00"));
    assert_eq!(draft.items[1].amount, "20.00", "computed when not given");
    assert!(shop.invoices_of(&pia).await.is_empty(), "customers do not see drafts");
    let issued = shop
        .billing()
        .update_invoice(session(
            UpdateInvoiceRequest { id: draft.id.clone(), status: Some("issued".into()), notes: None },
            &shop.admin,
        ))
        .await
        .expect("issue")
        .into_inner()
        .invoice
        .expect("invoice");
    assert_eq!(issued.invoice_number, format!("INV-{}-000001", Utc::now().format("%Y")));
    assert!(!issued.issued_at.is_empty());
    let illegal = shop
        .billing()
        .update_invoice(session(
            UpdateInvoiceRequest { id: draft.id.clone(), status: Some("draft".into()), notes: None },
            &shop.admin,
        ))
        .await
        .expect_err("back to draft");
    assert_eq!(illegal.code(), Code::InvalidArgument);
    let not_draft = shop
        .billing()
        .delete_invoice(session(DeleteInvoiceRequest { id: draft.id.clone() }, &shop.admin))
        .await
        .expect_err("only drafts are deleted");
    assert_eq!(not_draft.code(), Code::FailedPrecondition);
    assert_eq!(shop.invoices_of(&pia).await.len(), 1);
    let foreign = shop
        .billing()
        .get_invoice(bearer(GetInvoiceRequest { id: draft.id.clone() }, &quinn.access_token))
        .await
        .expect_err("another customer's invoice");
    assert_eq!(foreign.code(), Code::NotFound);

    // The document, in both languages, escaped.
    for (locale, words) in [("zh-CN", ["发票", "合计(含税)", "税额"]), ("en", ["Invoice", "Total (incl. tax)", "Tax"])]
    {
        let document = shop
            .billing()
            .render_invoice(bearer(
                RenderInvoiceRequest { id: draft.id.clone(), locale: locale.into() },
                &pia.access_token,
            ))
            .await
            .expect("render")
            .into_inner();
        assert_eq!(document.filename, format!("{}.html", issued.invoice_number));
        for word in words {
            assert!(document.html.contains(word), "{locale}: {word}");
        }
        for text in [issued.invoice_number.as_str(), "CNY 113.00", "CNY 13.00", "CNY 100.00", "VPS-1C2G 月费", "13.00%"]
        {
            assert!(document.html.contains(text), "{locale}: {text}\n{}", document.html);
        }
        assert!(
            document.html.contains("&lt;b&gt;账单&lt;/b&gt;") && !document.html.contains("<b>账单"),
            "notes are escaped"
        );
    }

    // A second draft, deleted; numbers stay gapless because drafts have none.
    let second = shop
        .billing()
        .create_invoice(session(base.clone(), &shop.admin))
        .await
        .expect("create")
        .into_inner()
        .invoice
        .expect("invoice");
    shop.billing()
        .delete_invoice(session(DeleteInvoiceRequest { id: second.id }, &shop.admin))
        .await
        .expect("delete draft");
    let third = shop
        .billing()
        .create_invoice(session(
            CreateInvoiceRequest {
                amount: String::new(),
                tax_amount: String::new(),
                total_amount: String::new(),
                ..base
            },
            &shop.admin,
        ))
        .await
        .expect("create")
        .into_inner()
        .invoice
        .expect("invoice");
    let issued_third = shop
        .billing()
        .update_invoice(session(
            UpdateInvoiceRequest { id: third.id.clone(), status: Some("issued".into()), notes: None },
            &shop.admin,
        ))
        .await
        .expect("issue")
        .into_inner()
        .invoice
        .expect("invoice");
    assert_eq!(issued_third.invoice_number, format!("INV-{}-000002", Utc::now().format("%Y")));
    assert_eq!(Decimal::from_str(&issued_third.total_amount).expect("total"), Decimal::new(11300, 2));
}

/// A renewal the balance cannot cover is paid through the gateway and its
/// callback; the period is extended once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_is_paid_through_the_gateway() {
    let shop = Shop::open("", true).await;
    let (rita, order) = shop.subscribed("rita_gateway", "10.00").await;
    let end = shop.period_end(&order).await;
    assert_eq!(shop.run_billing(end - days(6)).await.paid_from_balance, 0);
    let invoice = shop.invoices_of(&rita).await.remove(0);
    let started = shop
        .payments()
        .create_payment(bearer(
            CreatePaymentRequest {
                invoice_id: invoice.id.clone(),
                gateway_interface_id: shop.gateway().into(),
                ..Default::default()
            },
            &rita.access_token,
        ))
        .await
        .expect("pay the invoice through epay")
        .into_inner();
    let payment = started.payment.expect("payment");
    assert_eq!((payment.purpose.as_str(), payment.amount.as_str()), ("invoice", "10.00"));
    let notification = shop.pay_at_epay(&started.payment_url, &payment.id).await;
    for _ in 0..3 {
        assert_eq!(shop.notify(&notification).await, (200, "success".to_string()));
    }
    wait_until("the invoice to be paid", || async { shop.period_end(&order).await > end }).await;
    assert_eq!(shop.invoices_of(&rita).await[0].status, "paid");
    assert_eq!(shop.period_end(&order).await, end.checked_add_months(chrono::Months::new(1)).expect("a month later"));
    assert_eq!(shop.events("billing.invoice_paid").await, 1);
    assert_eq!(shop.balance_of(&rita).await, Decimal::ZERO, "the balance was not touched");
}
