//! Built-in messages of the system events, in Simplified Chinese and
//! English (one message carries both). Channels with their own templates
//! (the email notifier's `{name}` placeholders) receive the event's data as
//! well and may use it instead.

use serde_json::Value;

fn field<'a>(data: &'a Value, name: &str) -> &'a str {
    data.get(name).and_then(Value::as_str).unwrap_or("")
}

fn money(data: &Value, amount: &str) -> String {
    format!("{} {}", field(data, "currency"), field(data, amount)).trim().to_string()
}

/// Title and body of `event_type`, or `None` for events without a message.
pub fn message(event_type: &str, data: &Value) -> Option<(String, String)> {
    let product = field(data, "product_name");
    let order = field(data, "order_id");
    let invoice = field(data, "invoice_number");
    let (zh_title, en_title, zh, en) = match event_type {
        "order_paid" => (
            "订单已支付".to_string(),
            "Order paid".to_string(),
            format!("订单 {order}({product})已支付 {},正在开通。", money(data, "amount")),
            format!("Order {order} ({product}) is paid ({}); the server is being set up.", money(data, "amount")),
        ),
        "order_provisioned" => (
            "服务器已开通".to_string(),
            "Server ready".to_string(),
            format!("订单 {order}({product})已开通,IP 地址:{}。", field(data, "ip_address")),
            format!("Order {order} ({product}) is active. IP address: {}.", field(data, "ip_address")),
        ),
        "order_plan_changed" => (
            "套餐已变更".to_string(),
            "Plan changed".to_string(),
            format!("订单 {order} 已变更为 {product},服务器配置随之调整。"),
            format!("Order {order} is now on {product}; the server is being resized to match."),
        ),
        "order_cancelled" => {
            let refunded = data.get("refund").is_some_and(|refund| !refund.is_null());
            (
                "订单已取消".to_string(),
                "Order cancelled".to_string(),
                format!(
                    "订单 {order}({product})已取消:{}。{}",
                    field(data, "reason"),
                    if refunded { "款项将原路退回或退至余额。" } else { "" }
                ),
                format!(
                    "Order {order} ({product}) was cancelled: {}.{}",
                    field(data, "reason"),
                    if refunded { " The payment is being refunded." } else { "" }
                ),
            )
        }
        "billing.invoice_issued" => (
            format!("新发票 {invoice}"),
            format!("New invoice {invoice}"),
            format!("发票 {invoice} 金额 {},请于 {} 前支付。", money(data, "total_amount"), field(data, "due_date")),
            format!("Invoice {invoice} for {} is due on {}.", money(data, "total_amount"), field(data, "due_date")),
        ),
        "billing.invoice_paid" => (
            format!("发票 {invoice} 已支付"),
            format!("Invoice {invoice} paid"),
            format!("发票 {invoice}({})已支付,谢谢。", money(data, "total_amount")),
            format!("Invoice {invoice} ({}) is paid. Thank you.", money(data, "total_amount")),
        ),
        "billing.overdue" => (
            format!("发票 {invoice} 已逾期"),
            format!("Invoice {invoice} is overdue"),
            format!(
                "发票 {invoice}({})已过到期日 {},逾期将暂停服务。",
                money(data, "total_amount"),
                field(data, "due_date")
            ),
            format!(
                "Invoice {invoice} ({}) passed its due date {}; the service will be suspended.",
                money(data, "total_amount"),
                field(data, "due_date")
            ),
        ),
        "instance.suspended" => (
            "服务已暂停".to_string(),
            "Service suspended".to_string(),
            format!("订单 {order}({product})因账单未付已暂停,付款后自动恢复。"),
            format!("Order {order} ({product}) is suspended for an unpaid invoice; paying it brings it back."),
        ),
        "instance.unsuspended" => (
            "服务已恢复".to_string(),
            "Service resumed".to_string(),
            format!("订单 {order}({product})已恢复运行。"),
            format!("Order {order} ({product}) is running again."),
        ),
        "instance.terminated" => (
            "实例已终止".to_string(),
            "Instance terminated".to_string(),
            format!("订单 {order}({product})的实例已终止。{}", field(data, "reason")),
            format!("The instance of order {order} ({product}) was terminated. {}", field(data, "reason")),
        ),
        "identity.verification_code_issued" => (
            "验证码".to_string(),
            "Verification code".to_string(),
            format!("您的验证码是 {},{} 前有效。", field(data, "code"), field(data, "expires_at")),
            format!(
                "Your verification code is {}. It is valid until {}.",
                field(data, "code"),
                field(data, "expires_at")
            ),
        ),
        "ticket_assigned" => (
            format!("工单已分配:{}", field(data, "title")),
            format!("Ticket assigned: {}", field(data, "title")),
            format!("工单「{}」({})的处理人已变更。", field(data, "title"), field(data, "ticket_id")),
            format!("The assignee of ticket \"{}\" ({}) changed.", field(data, "title"), field(data, "ticket_id")),
        ),
        "ticket_replied" => (
            format!("工单有新回复:{}", field(data, "title")),
            format!("New reply: {}", field(data, "title")),
            format!("您的工单「{}」有新回复:\n{}", field(data, "title"), field(data, "excerpt")),
            format!("Your ticket \"{}\" has a new reply:\n{}", field(data, "title"), field(data, "excerpt")),
        ),
        _ => return None,
    };
    Some((format!("{zh_title} / {en_title}"), format!("{zh}\n\n{en}")))
}

/// `{name}` placeholders of `template` filled from the event's data
/// (strings and numbers; unknown names are left as they are).
pub fn fill(template: &str, data: &Value) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if after[..close].chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && close > 0 => {
                let name = &after[..close];
                match data.get(name) {
                    Some(Value::String(text)) => out.push_str(text),
                    Some(Value::Number(number)) => out.push_str(&number.to_string()),
                    _ => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The channel's template for `event_type` filled in, if it has one.
pub fn from_channel(
    templates: &serde_json::Map<String, Value>,
    event_type: &str,
    data: &Value,
) -> Option<(String, String)> {
    let template = templates.get(event_type)?;
    let title = template.get("title").and_then(Value::as_str)?;
    let body = template.get("body").and_then(Value::as_str).unwrap_or("");
    Some((fill(title, data), fill(body, data)))
}

/// Who receives `event_type`: the customer's e-mail, plus the operators'
/// address for new payments (spec NotificationService, system events).
pub fn recipients(event_type: &str, data: &Value, admin_email: &str) -> Vec<String> {
    let mut found = Vec::new();
    // Assignment: the old and new assignees, listed by the publisher.
    if event_type == "ticket_assigned" {
        return data
            .get("recipients")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
    }
    let customer = match event_type {
        "identity.verification_code_issued" => field(data, "email"),
        _ => field(data, "customer_email"),
    };
    if !customer.is_empty() {
        found.push(customer.to_string());
    }
    if event_type == "order_paid" && !admin_email.trim().is_empty() {
        found.push(admin_email.trim().to_string());
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_system_event_has_a_bilingual_message() {
        let data = json!({"order_id": "o-1", "product_name": "VPS", "amount": "10.00", "currency": "CNY",
                          "invoice_number": "INV-2026-000001", "total_amount": "10.00", "due_date": "2026-12-01",
                          "code": "123456", "expires_at": "soon", "reason": "r", "ip_address": "192.0.2.1"});
        for event in [
            "order_paid",
            "order_provisioned",
            "order_cancelled",
            "order_plan_changed",
            "billing.invoice_issued",
            "billing.invoice_paid",
            "billing.overdue",
            "instance.suspended",
            "instance.unsuspended",
            "instance.terminated",
            "identity.verification_code_issued",
        ] {
            let (title, body) = message(event, &data).unwrap_or_else(|| panic!("{event}"));
            assert!(title.contains(" / "), "{event}: {title}");
            assert!(body.contains("\n\n"), "{event}: {body}");
        }
        assert!(message("catalog.product_changed", &data).is_none());
        assert!(message("identity.verification_code_issued", &data).unwrap().1.contains("123456"));
    }

    #[test]
    fn channel_templates_fill_placeholders_from_the_data() {
        let data = json!({"order_id": "o-9", "amount": "10.00", "count": 3});
        assert_eq!(
            fill("订单 {order_id}: {amount} ({count}) {missing} {not a name}", &data),
            "订单 o-9: 10.00 (3) {missing} {not a name}"
        );
        let templates = json!({"order_paid": {"title": "Paid {order_id}", "body": "Amount {amount}"}});
        let map = templates.as_object().unwrap();
        assert_eq!(from_channel(map, "order_paid", &data), Some(("Paid o-9".to_string(), "Amount 10.00".to_string())));
        assert_eq!(from_channel(map, "order_provisioned", &data), None);
    }

    #[test]
    fn order_payments_also_reach_the_operators() {
        let data = json!({"customer_email": "a@example.com"});
        assert_eq!(recipients("order_paid", &data, "ops@example.com"), ["a@example.com", "ops@example.com"]);
        assert_eq!(recipients("order_provisioned", &data, "ops@example.com"), ["a@example.com"]);
        assert!(recipients("order_provisioned", &json!({}), "").is_empty());
    }
}
