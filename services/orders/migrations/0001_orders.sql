-- Orders and the instances they provision (spec OrderService; operations
-- manual §6.3-6.4). Money is numeric(12, 2). customer_id is in every key
-- (Citus distribution column, see deploy/citus/distribute.sql).

create table orders (
    id                    uuid not null,
    customer_id           uuid not null,
    product_id            uuid not null,
    -- Denormalised at order time: the order keeps what was bought.
    product_name          text not null,
    provider_interface_id uuid not null,
    provider_instance_id  text not null default '',
    -- ServerSpec as JSON (cpu_cores, memory_gb, disk_gb, bandwidth_mbps,
    -- region, os, extra_specs).
    server_spec           jsonb not null default '{}'::jsonb,
    status                text not null default 'pending' check (status in
        ('pending', 'paid', 'provisioning', 'active', 'suspended', 'cancelled', 'refunded', 'completed', 'terminated')),
    amount                numeric(12, 2) not null check (amount >= 0),
    currency              text not null check (currency <> ''),
    billing_cycle         text not null,
    gateway_interface_id  text not null default '',
    gateway_payment_id    text not null default '',
    -- The payment that paid the order (payments.payments.id).
    payment_id            uuid,
    paid_amount           numeric(12, 2) not null default 0 check (paid_amount >= 0),
    -- Chosen at creation, so a retried provisioning asks the provider for
    -- the same instance.
    instance_id           uuid not null,
    customer_email        text not null default '',
    notes                 text not null default '',
    cancel_reason         text not null default '',
    paid_at               timestamptz,
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    primary key (customer_id, id)
);
create unique index orders_id_key on orders (id, customer_id);
create index orders_customer_created_idx on orders (customer_id, created_at desc, id desc);
create index orders_created_idx on orders (created_at desc, id desc);
create index orders_status_created_idx on orders (status, created_at);
create index orders_product_live_idx on orders (product_id)
    where status not in ('cancelled', 'refunded', 'completed', 'terminated');

create table instances (
    id                    uuid not null,
    customer_id           uuid not null,
    order_id              uuid not null,
    product_id            uuid not null,
    product_name          text not null,
    provider_interface_id uuid not null,
    provider_instance_id  text not null,
    status                text not null check (status in
        ('provisioning', 'running', 'stopped', 'suspended', 'terminated', 'error')),
    ip_address            text not null default '',
    server_spec           jsonb not null default '{}'::jsonb,
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    terminated_at         timestamptz,
    primary key (customer_id, id),
    unique (customer_id, order_id)
);
create unique index instances_id_key on instances (id, customer_id);
create index instances_customer_created_idx on instances (customer_id, created_at desc, id desc);
create index instances_created_idx on instances (created_at desc, id desc);

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
