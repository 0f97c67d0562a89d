-- The notify service's broadcast subscriptions, created before any service
-- serves (see 0003): events published before notify first starts still
-- reach it.
insert into bus.subscription (consumer, event_type) values
    ('notify.broadcast', 'order_paid'),
    ('notify.broadcast', 'order_provisioned'),
    ('notify.broadcast', 'order_cancelled'),
    ('notify.broadcast', 'billing.invoice_issued'),
    ('notify.broadcast', 'billing.invoice_paid'),
    ('notify.broadcast', 'billing.overdue'),
    ('notify.broadcast', 'instance.suspended'),
    ('notify.broadcast', 'instance.unsuspended'),
    ('notify.broadcast', 'instance.terminated'),
    ('notify.broadcast', 'identity.verification_code_issued')
on conflict do nothing;
