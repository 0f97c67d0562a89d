-- The outbox between services (DESIGN.md "Rules between services" rule 2,
-- spec HA guide §4). See shared/src/bus/mod.rs for the protocol.
--
-- Citus: every table here is a plain local table on the coordinator. Do NOT
-- distribute them (nor make them reference tables): the claim query needs
-- row locks with SKIP LOCKED and an ordering check across aggregates, and
-- the event row must commit in the same (coordinator) transaction as the
-- publisher's business rows. The volume is small and purged regularly.

-- One row per published event. Written by the publisher in the same
-- transaction as its business rows; never updated afterwards.
create table bus.event_queue (
    -- UUID v7 chosen by the publisher (also the consumers' idempotency key).
    id           uuid primary key,
    -- Insertion order. Publishers of one aggregate are serialised by an
    -- advisory lock held until their commit, so within an aggregate this is
    -- also commit order: the order consumers must see.
    seq          bigint generated always as identity unique,
    event_type   text not null check (event_type <> ''),
    -- The entity whose events must be handled in order (usually the order id).
    aggregate_id uuid not null,
    customer_id  uuid,
    payload      jsonb not null default '{}'::jsonb,
    -- The publishing service.
    source       text not null check (source <> ''),
    request_id   text,
    created_at   timestamptz not null default now()
);

create index event_queue_created_at on bus.event_queue (created_at);

-- Which consumer wants which event types. A consumer receives only events
-- published while its subscription exists (bus::backfill replays older ones
-- on request).
create table bus.subscription (
    consumer   text not null check (consumer <> ''),
    event_type text not null check (event_type <> ''),
    created_at timestamptz not null default now(),
    primary key (consumer, event_type)
);

-- Delivery state of one event for one consumer. aggregate_id and event_seq
-- are copied from the event so that the claim query's ordering check is one
-- index probe on this table.
create table bus.delivery (
    consumer        text not null,
    event_id        uuid not null references bus.event_queue (id) on delete cascade,
    aggregate_id    uuid not null,
    event_seq       bigint not null,
    status          text not null default 'pending' check (status in ('pending', 'done', 'parked')),
    -- Deliveries started so far (incremented when claimed, so a delivery
    -- that keeps crashing its consumer is parked too).
    attempts        integer not null default 0 check (attempts >= 0),
    next_attempt_at timestamptz not null default now(),
    -- The handler's message of the last failure (at most 2 KB).
    last_error      text,
    -- Lease of the claim: while in the future, no other instance claims it.
    locked_until    timestamptz,
    -- Token of the claim holding the lease.
    locked_by       uuid,
    created_at      timestamptz not null default now(),
    done_at         timestamptz,
    parked_at       timestamptz,
    primary key (consumer, event_id)
);

-- Claim: the pending deliveries of a consumer, oldest first.
create index delivery_pending on bus.delivery (consumer, event_seq) where status = 'pending';
-- Ordering check: is an earlier event of the same aggregate still open?
create index delivery_open_by_aggregate on bus.delivery (consumer, aggregate_id, event_seq)
    where status <> 'done';
-- Retention and the foreign key's cascade.
create index delivery_done on bus.delivery (done_at) where status = 'done';
create index delivery_event on bus.delivery (event_id);
create index delivery_parked on bus.delivery (parked_at) where status = 'parked';

-- Fan-out at publish time: one delivery row per subscribed consumer, in the
-- publisher's transaction. Doing it here (rather than lazily in each
-- consumer's claim query) means no consumer ever needs a cursor over
-- event_queue, which could skip events whose transactions commit out of
-- sequence order; subscription semantics are exact (a consumer gets the
-- events published while it was subscribed); and any insert path, even raw
-- SQL, fans out and wakes the consumers.
create function bus.fan_out_event() returns trigger
language plpgsql as $$
begin
    insert into bus.delivery (consumer, event_id, aggregate_id, event_seq)
    select s.consumer, new.id, new.aggregate_id, new.seq
    from bus.subscription s
    where s.event_type = new.event_type;
    -- Delivered at commit, collapsed per transaction and event type.
    perform pg_notify('rustbill_bus', new.event_type);
    return null;
end
$$;

create trigger event_queue_fan_out
    after insert on bus.event_queue
    for each row execute function bus.fan_out_event();
