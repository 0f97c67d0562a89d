-- The catalog: categories → groups → products.

create table categories (
    id          uuid primary key,
    name        text not null,
    description text not null default '',
    sort_order  integer not null default 0,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);
create unique index categories_name_idx on categories (lower(name));

create table product_groups (
    id          uuid primary key,
    category_id uuid references categories (id) on delete restrict,
    name        text not null,
    description text not null default '',
    sort_order  integer not null default 0,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);
create index product_groups_category_idx on product_groups (category_id);

create table products (
    id              uuid primary key,
    name            text not null,
    description     text not null default '',
    price_per_month numeric(12, 2) not null default 0 check (price_per_month >= 0),
    interface_id    uuid not null,
    is_active       boolean not null default true,
    specs           jsonb not null default '{}'::jsonb,
    group_id        uuid references product_groups (id) on delete set null,
    -- cycle (monthly, quarterly, yearly, one_time) → price as a string
    -- with 2 decimals.
    billing_cycles  jsonb not null default '{}'::jsonb,
    cost_price      numeric(12, 2) check (cost_price >= 0),
    -- The provider's product id for synced/imported products: importing or
    -- syncing again updates instead of duplicating.
    upstream_ref    text,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now()
);
create unique index products_upstream_idx on products (interface_id, upstream_ref) where upstream_ref is not null;
create index products_active_idx on products (is_active, created_at desc, id desc);
create index products_created_idx on products (created_at desc, id desc);
create index products_group_idx on products (group_id);
create index products_interface_idx on products (interface_id);
create index products_region_idx on products ((specs ->> 'region'));
create index products_name_idx on products (lower(name) text_pattern_ops);

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
