-- Customers hear of a plan change (upgrade or downgrade) of their service.
insert into bus.subscription (consumer, event_type) values
    ('notify.broadcast', 'order_plan_changed')
on conflict do nothing;
