-- The balance ledger's accounts. One row per customer that ever held money;
-- a customer without a row has a balance of 0.00. Payments, refunds and
-- ledger transactions arrive with the payments issue.

create table balance_accounts (
    customer_id uuid primary key,
    balance     numeric(12, 2) not null default 0,
    currency    text not null default 'CNY',
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);
