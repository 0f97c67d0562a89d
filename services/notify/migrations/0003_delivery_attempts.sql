-- The delivery log an admin reads and replays: every try to send a
-- delivery, and how many times an admin sent it again.

alter table deliveries add column replays integer not null default 0;

create table delivery_attempts (
    id           uuid primary key,
    delivery_id  uuid not null references deliveries (id) on delete cascade,
    -- 1-based within its round; a replay starts a new round.
    attempt      integer not null,
    replay       integer not null default 0,
    started_at   timestamptz not null,
    duration_ms  bigint not null,
    outcome      text not null check (outcome in ('sent', 'skipped', 'failed')),
    error        text not null default ''
);
create index delivery_attempts_delivery_idx on delivery_attempts (delivery_id, started_at);
create index deliveries_channel_idx on deliveries (channel_id, created_at desc);
create index deliveries_status_idx on deliveries (status, created_at desc);
