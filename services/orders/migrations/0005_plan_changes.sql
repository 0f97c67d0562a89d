-- Upgrades and downgrades of active services (RustBill extension): one
-- row per change, with the prorated amounts it was quoted and what became
-- of it. At most one open change (awaiting payment or scheduled) per
-- order.

create table plan_changes (
    id              uuid not null,
    customer_id     uuid not null,
    order_id        uuid not null,
    from_product_id uuid not null,
    to_product_id   uuid not null,
    to_product_name text not null,
    -- The new price per period and server configuration.
    to_list_amount  numeric(12, 2) not null check (to_list_amount >= 0),
    to_server_spec  jsonb not null,
    timing          text not null check (timing in ('immediate', 'period_end')),
    status          text not null check (status in ('awaiting_payment', 'scheduled', 'applied', 'cancelled')),
    effective_at    timestamptz not null,
    credit_amount   numeric(12, 2) not null default 0 check (credit_amount >= 0),
    charge_amount   numeric(12, 2) not null default 0 check (charge_amount >= 0),
    -- The invoice of a net charge.
    invoice_id      uuid,
    -- The provider's resize: '' until tried, then 'done' or 'failed'.
    resize_status   text not null default '',
    resize_error    text not null default '',
    created_at      timestamptz not null default now(),
    applied_at      timestamptz,
    primary key (customer_id, id)
);
create unique index plan_changes_open_key on plan_changes (customer_id, order_id)
    where status in ('awaiting_payment', 'scheduled');
create index plan_changes_invoice_idx on plan_changes (invoice_id) where invoice_id is not null;

alter table invoices drop constraint invoices_kind_check;
alter table invoices add constraint invoices_kind_check
    check (kind in ('manual', 'renewal', 'generated', 'plan_change'));
