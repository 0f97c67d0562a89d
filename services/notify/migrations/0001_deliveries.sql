-- The delivery log: one row per message to send, per (event, channel,
-- recipient). Written by the broadcast consumer in the transaction that
-- marks the event handled; sent by the delivery worker with retries and
-- backoff, parked after [notify].max_attempts. A channel's failures never
-- hold up another channel's rows.

create table deliveries (
    id              uuid primary key,
    -- The outbox event (or a random id for SendNotification).
    event_id        uuid not null,
    event_type      text not null,
    channel_id      uuid not null,
    channel_name    text not null default '',
    recipient       text not null default '',
    title           text not null,
    body            text not null,
    -- The event's payload, for the channel's templates.
    data            jsonb not null default '{}'::jsonb,
    status          text not null default 'pending'
                    check (status in ('pending', 'sent', 'skipped', 'parked')),
    attempts        integer not null default 0,
    last_error      text,
    next_attempt_at timestamptz not null default now(),
    created_at      timestamptz not null default now(),
    sent_at         timestamptz,
    unique (event_id, channel_id, recipient)
);
create index deliveries_due_idx on deliveries (next_attempt_at) where status = 'pending';
create index deliveries_created_idx on deliveries (created_at desc);

create table operation_logs (
    id          uuid primary key,
    actor_kind  text not null,
    actor_id    uuid,
    actor_label text not null,
    action      text not null,
    target_type text not null,
    target_id   text not null default '',
    detail      jsonb not null default '{}'::jsonb,
    client_ip   text not null default '',
    request_id  text not null default '',
    created_at  timestamptz not null default now()
);
create index operation_logs_created_idx on operation_logs (created_at desc);
