-- Coupons (RustBill extension): a discount on an order's first period, on
-- N periods or on every period, redeemed by CreateOrder under the coupon's
-- row lock (limits hold under concurrency), carried by renewal invoices.

create table coupons (
    id               uuid primary key,
    -- Upper case; unique.
    code             text not null check (code = upper(code) and code <> ''),
    description      text not null default '',
    kind             text not null check (kind in ('percent', 'fixed')),
    value            numeric(12, 2) not null check (value > 0 and (kind <> 'percent' or value <= 100)),
    duration         text not null check (duration in ('once', 'repeating', 'forever')),
    -- Periods discounted, the first included ('repeating' only).
    duration_periods integer check ((duration = 'repeating') = (duration_periods is not null and duration_periods > 0)),
    -- Empty arrays: every product.
    product_ids      uuid[] not null default '{}',
    group_ids        uuid[] not null default '{}',
    max_redemptions  integer check (max_redemptions > 0),
    max_per_customer integer check (max_per_customer > 0),
    redemptions      integer not null default 0 check (redemptions >= 0
                     and (max_redemptions is null or redemptions <= max_redemptions)),
    starts_at        timestamptz,
    expires_at       timestamptz check (expires_at is null or starts_at is null or expires_at > starts_at),
    is_active        boolean not null default true,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);
create unique index coupons_code_key on coupons (code);

-- One row per order that redeemed a coupon; gone again when the order is
-- withdrawn unpaid (the use is given back).
create table coupon_redemptions (
    id          uuid primary key,
    coupon_id   uuid not null references coupons (id),
    customer_id uuid not null,
    order_id    uuid not null,
    created_at  timestamptz not null default now(),
    unique (order_id)
);
create index coupon_redemptions_coupon_customer_idx on coupon_redemptions (coupon_id, customer_id);

-- The order keeps the coupon's terms as they were when it was redeemed.
alter table orders
    add column list_amount         numeric(12, 2) check (list_amount >= 0),
    add column discount_amount     numeric(12, 2) not null default 0 check (discount_amount >= 0),
    add column coupon_id           uuid,
    add column coupon_code         text not null default '',
    add column coupon_kind         text check (coupon_kind in ('percent', 'fixed')),
    add column coupon_value        numeric(12, 2),
    -- Renewal periods still discounted; null with a coupon = every period.
    add column coupon_periods_left integer check (coupon_periods_left >= 0);

alter table invoices add column discount_amount numeric(12, 2) not null default 0 check (discount_amount >= 0);
alter table invoice_items
    add column discount_amount numeric(12, 2) not null default 0 check (discount_amount >= 0 and discount_amount <= amount),
    add column coupon_code     text not null default '';
