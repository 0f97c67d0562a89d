-- Payments, refunds and the balance ledger (spec PaymentService; operations
-- manual §6.5 and §14). Money is numeric(12, 2); every table that belongs to
-- a customer carries customer_id in its keys (Citus distribution column,
-- see deploy/citus/distribute.sql).

alter table balance_accounts add constraint balance_accounts_currency_check check (currency <> '');

-- One row per payment attempt: an order, an invoice or a balance recharge,
-- through a gateway plugin or from the balance ("balance").
create table payments (
    id                   uuid not null,
    customer_id          uuid not null,
    purpose              text not null check (purpose in ('order', 'invoice', 'recharge')),
    order_id             uuid,
    invoice_id           uuid,
    amount               numeric(12, 2) not null check (amount > 0),
    currency             text not null,
    -- A plugin interface id, or 'balance'.
    gateway_interface_id text not null,
    gateway_payment_id   text not null default '',
    -- The gateway's transaction number, set by a confirmed callback or query.
    gateway_tx_id        text,
    status               text not null default 'pending'
                         check (status in ('pending', 'success', 'failed', 'refunded')),
    refunded_amount      numeric(12, 2) not null default 0 check (refunded_amount >= 0 and refunded_amount <= amount),
    description          text not null default '',
    paid_at              timestamptz,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    primary key (customer_id, id),
    check ((purpose = 'order') = (order_id is not null)),
    check ((purpose = 'invoice') = (invoice_id is not null))
);
create index payments_id_idx on payments (id);
create index payments_order_idx on payments (order_id) where order_id is not null;
create index payments_invoice_idx on payments (invoice_id) where invoice_id is not null;
create index payments_created_idx on payments (created_at desc);
-- A gateway transaction confirms exactly one payment.
create unique index payments_gateway_tx_key on payments (customer_id, gateway_interface_id, gateway_tx_id)
    where gateway_tx_id is not null;
-- At most one balance payment succeeds per order.
create unique index payments_balance_order_key on payments (customer_id, order_id)
    where gateway_interface_id = 'balance' and purpose = 'order' and status in ('success', 'refunded');

-- Money given back, through the gateway or to the balance.
create table refunds (
    id                uuid not null,
    customer_id       uuid not null,
    payment_id        uuid not null,
    amount            numeric(12, 2) not null check (amount > 0),
    -- 'gateway' or 'balance'.
    method            text not null check (method in ('gateway', 'balance')),
    gateway_refund_id text not null default '',
    reason            text not null default '',
    -- Makes automatic refunds (one per outbox event) happen once.
    idempotency_key   text,
    created_at        timestamptz not null default now(),
    primary key (customer_id, id),
    foreign key (customer_id, payment_id) references payments (customer_id, id)
);
create index refunds_payment_idx on refunds (payment_id);
create unique index refunds_idempotency_key on refunds (customer_id, idempotency_key)
    where idempotency_key is not null;

-- The ledger: one row per balance movement. The sum of amounts of a customer
-- is its balance (checked by tests), and balance_before + amount =
-- balance_after on every row.
create table balance_transactions (
    id               uuid not null,
    customer_id      uuid not null,
    amount           numeric(12, 2) not null check (amount <> 0),
    balance_before   numeric(12, 2) not null,
    balance_after    numeric(12, 2) not null check (balance_after = balance_before + amount),
    transaction_type text not null check (transaction_type in ('recharge', 'payment', 'refund', 'manual_adjust')),
    -- The payment, refund or adjustment behind the movement.
    reference_id     text not null,
    description      text not null default '',
    created_at       timestamptz not null default now(),
    primary key (customer_id, id)
);
create index balance_transactions_customer_idx on balance_transactions (customer_id, created_at desc, id desc);
create index balance_transactions_created_idx on balance_transactions (created_at desc, id desc);
-- One movement per payment / refund: applying it twice is impossible.
create unique index balance_transactions_reference_key
    on balance_transactions (customer_id, transaction_type, reference_id);

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
