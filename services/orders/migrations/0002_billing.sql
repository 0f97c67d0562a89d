-- Billing (spec BillingService; operations manual §6.7): invoices with
-- their items, gapless yearly invoice numbers, and the service period of
-- each order (what a renewal extends).

alter table orders add column period_start timestamptz;
-- When the paid service period ends; renewals are invoiced before it.
-- Null for one-time orders and orders not yet active.
alter table orders add column period_end timestamptz;
create index orders_period_end_idx on orders (period_end) where status in ('active', 'suspended');

create table invoices (
    id              uuid not null,
    customer_id     uuid not null,
    -- INV-<year>-<000123>, given when the invoice is issued (drafts have
    -- none), gapless and sequential per year.
    invoice_number  text,
    -- manual (CreateInvoice), renewal (one order's next period) or
    -- generated (GenerateInvoices: a customer's renewals of a period).
    kind            text not null check (kind in ('manual', 'renewal', 'generated')),
    status          text not null default 'draft'
                    check (status in ('draft', 'issued', 'paid', 'overdue', 'cancelled')),
    billing_period_start date not null,
    billing_period_end   date not null check (billing_period_end >= billing_period_start),
    -- Net amount (sum of the items, tax excluded), tax, and total.
    amount          numeric(12, 2) not null check (amount >= 0),
    tax_amount      numeric(12, 2) not null default 0 check (tax_amount >= 0),
    total_amount    numeric(12, 2) not null check (total_amount = amount + tax_amount),
    -- Tax rate in percent and the region it was taken for.
    tax_rate        numeric(5, 2) not null default 0,
    tax_region      text not null default 'default',
    currency        text not null,
    due_date        date not null,
    notes           text not null default '',
    customer_email  text not null default '',
    issued_at       timestamptz,
    paid_at         timestamptz,
    overdue_at      timestamptz,
    payment_id      uuid,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    primary key (customer_id, id)
);
create unique index invoices_id_key on invoices (id, customer_id);
create unique index invoices_number_key on invoices (invoice_number, customer_id) where invoice_number is not null;
create index invoices_customer_created_idx on invoices (customer_id, created_at desc, id desc);
create index invoices_created_idx on invoices (created_at desc, id desc);
create index invoices_open_due_idx on invoices (due_date) where status in ('issued', 'overdue');

create table invoice_items (
    id             uuid not null,
    customer_id    uuid not null,
    invoice_id     uuid not null,
    position       integer not null,
    description    text not null check (description <> ''),
    quantity       integer not null check (quantity > 0),
    unit_price     numeric(12, 2) not null check (unit_price >= 0),
    amount         numeric(12, 2) not null check (amount = quantity * unit_price),
    -- A renewal item: the order and the period it pays for. One item per
    -- (order, period) across all invoices: a period is never billed twice.
    order_id       uuid,
    period_start   timestamptz,
    period_end     timestamptz,
    primary key (customer_id, id),
    foreign key (customer_id, invoice_id) references invoices (customer_id, id) on delete cascade
);
create index invoice_items_invoice_idx on invoice_items (invoice_id, position);
create unique index invoice_items_period_key on invoice_items (customer_id, order_id, period_start)
    where order_id is not null;

-- The last invoice number given per year. Taking a number updates this row
-- in the issuing transaction: concurrent issuers queue on the row lock, and
-- a rolled-back issue gives its number back, so numbers have no gaps.
create table invoice_numbers (
    year integer primary key,
    last bigint not null check (last > 0)
);
