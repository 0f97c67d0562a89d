-- Support tickets and their replies (spec TicketService). Internal notes
-- (is_internal) are never shown to customers.

create table tickets (
    id               uuid not null,
    customer_id      uuid not null,
    title            text not null check (title <> ''),
    description      text not null default '',
    status           text not null default 'pending'
                     check (status in ('pending', 'processing', 'resolved', 'closed')),
    priority         text not null default 'medium' check (priority in ('low', 'medium', 'high', 'urgent')),
    assignee_user_id uuid,
    creator_user_id  uuid,
    -- Where replies are announced (the customer's contact address).
    customer_email   text not null default '',
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    primary key (customer_id, id)
);
create unique index tickets_id_key on tickets (id, customer_id);
create index tickets_customer_created_idx on tickets (customer_id, created_at desc, id desc);
create index tickets_created_idx on tickets (created_at desc, id desc);

create table ticket_replies (
    id          uuid not null,
    customer_id uuid not null,
    ticket_id   uuid not null,
    user_id     uuid,
    -- 'admin' (staff) or 'customer'.
    author_kind text not null check (author_kind in ('admin', 'customer')),
    content     text not null check (content <> ''),
    is_internal boolean not null default false,
    created_at  timestamptz not null default now(),
    primary key (customer_id, id),
    foreign key (customer_id, ticket_id) references tickets (customer_id, id) on delete cascade
);
create index ticket_replies_ticket_idx on ticket_replies (ticket_id, created_at, id);
