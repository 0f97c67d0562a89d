//! Printable invoice documents (HTML with print styles: the browser's
//! "print to PDF" gives the PDF), in Simplified Chinese or English.
//! Written by hand: one small fixed template, every value escaped.

use std::fmt::Write;

use rustbill_shared::Money;

use crate::invoices::{InvoiceRow, ItemRow};

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

struct Labels {
    lang: &'static str,
    title: &'static str,
    number: &'static str,
    draft: &'static str,
    status: &'static str,
    period: &'static str,
    issued: &'static str,
    due: &'static str,
    paid: &'static str,
    customer: &'static str,
    description: &'static str,
    quantity: &'static str,
    unit_price: &'static str,
    amount: &'static str,
    subtotal: &'static str,
    coupon: &'static str,
    tax: &'static str,
    total: &'static str,
    notes: &'static str,
}

const ZH: Labels = Labels {
    lang: "zh-CN",
    title: "发票",
    number: "发票编号",
    draft: "草稿",
    status: "状态",
    period: "计费周期",
    issued: "签发日期",
    due: "到期日期",
    paid: "支付日期",
    customer: "客户",
    description: "项目",
    quantity: "数量",
    unit_price: "单价",
    amount: "金额",
    subtotal: "小计",
    coupon: "优惠券",
    tax: "税额",
    total: "合计(含税)",
    notes: "备注",
};

const EN: Labels = Labels {
    lang: "en",
    title: "Invoice",
    number: "Invoice number",
    draft: "Draft",
    status: "Status",
    period: "Billing period",
    issued: "Issued",
    due: "Due date",
    paid: "Paid",
    customer: "Customer",
    description: "Description",
    quantity: "Qty",
    unit_price: "Unit price",
    amount: "Amount",
    subtotal: "Subtotal",
    coupon: "Coupon",
    tax: "Tax",
    total: "Total (incl. tax)",
    notes: "Notes",
};

fn status_label(status: &str, english: bool) -> &'static str {
    match (status, english) {
        ("draft", false) => "草稿",
        ("issued", false) => "待支付",
        ("paid", false) => "已支付",
        ("overdue", false) => "已逾期",
        ("cancelled", false) => "已取消",
        ("draft", true) => "Draft",
        ("issued", true) => "Issued",
        ("paid", true) => "Paid",
        ("overdue", true) => "Overdue",
        ("cancelled", true) => "Cancelled",
        _ => "",
    }
}

fn money(value: rust_decimal::Decimal, currency: &str) -> String {
    format!("{} {}", escape(currency), Money::from_decimal(value))
}

/// The invoice as a complete HTML document.
pub fn render(invoice: &InvoiceRow, items: &[ItemRow], english: bool) -> String {
    let labels = if english { &EN } else { &ZH };
    let number = invoice.invoice_number.clone().unwrap_or_else(|| labels.draft.to_string());
    let mut rows = String::new();
    for item in items {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&item.description),
            item.quantity,
            money(item.unit_price, &invoice.currency),
            money(item.amount, &invoice.currency),
        );
        if !item.discount_amount.is_zero() {
            let _ = write!(
                rows,
                "<tr class=\"discount\"><td colspan=\"3\">{} {}</td><td class=\"n\">−{}</td></tr>",
                labels.coupon,
                escape(&item.coupon_code),
                money(item.discount_amount, &invoice.currency),
            );
        }
    }
    let day = |time: Option<chrono::DateTime<chrono::Utc>>| {
        time.map(|time| time.date_naive().to_string()).unwrap_or_default()
    };
    let notes = if invoice.notes.is_empty() {
        String::new()
    } else {
        format!("<p class=\"notes\"><strong>{}</strong> {}</p>", labels.notes, escape(&invoice.notes))
    };
    format!(
        r#"<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{title} {number}</title>
<style>
body {{ font-family: system-ui, "Noto Sans SC", "PingFang SC", sans-serif; margin: 2.5rem; color: #111; }}
h1 {{ font-size: 1.6rem; margin: 0 0 1rem; }}
table {{ width: 100%; border-collapse: collapse; margin-top: 1.5rem; }}
th, td {{ padding: .5rem; border-bottom: 1px solid #ddd; text-align: left; }}
.n {{ text-align: right; white-space: nowrap; }}
dl {{ display: grid; grid-template-columns: max-content auto; gap: .25rem 1rem; margin: 0; }}
dt {{ color: #555; }}
tfoot td {{ border: 0; }}
.total td {{ font-weight: 700; border-top: 2px solid #111; }}
@media print {{ body {{ margin: 0; }} }}
</style>
</head>
<body>
<h1>{title} {number}</h1>
<dl>
<dt>{number_label}</dt><dd>{number}</dd>
<dt>{status_label}</dt><dd>{status}</dd>
<dt>{customer_label}</dt><dd>{customer}</dd>
<dt>{period_label}</dt><dd>{start} – {end}</dd>
<dt>{issued_label}</dt><dd>{issued}</dd>
<dt>{due_label}</dt><dd>{due}</dd>
<dt>{paid_label}</dt><dd>{paid}</dd>
</dl>
<table>
<thead><tr><th>{description}</th><th class="n">{quantity}</th><th class="n">{unit_price}</th><th class="n">{amount}</th></tr></thead>
<tbody>{rows}</tbody>
<tfoot>
<tr><td colspan="3" class="n">{subtotal_label}</td><td class="n">{subtotal}</td></tr>
<tr><td colspan="3" class="n">{tax_label} ({rate}%)</td><td class="n">{tax}</td></tr>
<tr class="total"><td colspan="3" class="n">{total_label}</td><td class="n">{total}</td></tr>
</tfoot>
</table>
{notes}
</body>
</html>
"#,
        lang = labels.lang,
        title = labels.title,
        number = escape(&number),
        number_label = labels.number,
        status_label = labels.status,
        status = status_label(&invoice.status, english),
        customer_label = labels.customer,
        customer = escape(&if invoice.customer_email.is_empty() {
            invoice.customer_id.to_string()
        } else {
            invoice.customer_email.clone()
        }),
        period_label = labels.period,
        start = invoice.billing_period_start,
        end = invoice.billing_period_end,
        issued_label = labels.issued,
        issued = day(invoice.issued_at),
        due_label = labels.due,
        due = invoice.due_date,
        paid_label = labels.paid,
        paid = day(invoice.paid_at),
        description = labels.description,
        quantity = labels.quantity,
        unit_price = labels.unit_price,
        amount = labels.amount,
        subtotal_label = labels.subtotal,
        subtotal = money(invoice.amount, &invoice.currency),
        tax_label = labels.tax,
        rate = Money::from_decimal(invoice.tax_rate),
        tax = money(invoice.tax_amount, &invoice.currency),
        total_label = labels.total,
        total = money(invoice.total_amount, &invoice.currency),
    )
}
