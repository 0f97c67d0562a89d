-- Ticket notifications, published by notify itself and delivered by its
-- broadcast consumer (see 0004).
insert into bus.subscription (consumer, event_type) values
    ('notify.broadcast', 'ticket_assigned'),
    ('notify.broadcast', 'ticket_replied')
on conflict do nothing;
