-- The order pipeline's subscriptions, declared here rather than only when
-- each consumer starts: every service runs the bus migrations before it
-- serves, so the subscriptions exist before the first event is published,
-- whichever service of a split deployment starts first. (A subscription
-- made later would not see the events published before it.) Consumers still
-- register themselves at start; that adds nothing when these rows exist.
insert into bus.subscription (consumer, event_type) values
    -- orders: a payment succeeded → the order is paid.
    ('orders.payments', 'payments.payment_succeeded'),
    -- orders: a refund happened → a fully refunded order becomes refunded.
    ('orders.payments', 'payments.refund_completed'),
    -- orders: a paid order → provisioning through the provider plugin.
    ('orders.provisioner', 'order_paid'),
    -- payments: a cancelled paid order, or a payment orders cannot use → refund.
    ('payments.refunds', 'order_cancelled'),
    ('payments.refunds', 'orders.refund_requested')
on conflict do nothing;
