-- Identity: admins, customers and their users, sessions, refresh tokens,
-- API keys, verification codes, operation log.

create function set_updated_at() returns trigger language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end $$;

create table admin_users (
    id            uuid primary key,
    username      text not null,
    email         text not null default '',
    display_name  text not null default '',
    password_hash text not null,
    role          text not null check (role in ('admin', 'operator')),
    is_active     boolean not null default true,
    last_login_at timestamptz,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now()
);
create unique index admin_users_username_key on admin_users (lower(username));
create trigger admin_users_updated_at before update on admin_users
    for each row execute function set_updated_at();

create table customers (
    id                  uuid primary key,
    name                text not null,
    contact_person      text not null default '',
    email               text not null default '',
    phone               text not null default '',
    company             text not null default '',
    notes               text not null default '',
    credit_limit        numeric(12, 2) not null default 0 check (credit_limit >= 0),
    is_active           boolean not null default true,
    can_create_api_keys boolean not null default false,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);
create index customers_name_idx on customers (lower(name));
create trigger customers_updated_at before update on customers
    for each row execute function set_updated_at();

create table customer_users (
    id            uuid primary key,
    customer_id   uuid not null references customers (id) on delete cascade,
    username      text not null,
    email         text not null,
    display_name  text not null default '',
    password_hash text not null,
    is_active     boolean not null default true,
    last_login_at timestamptz,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now()
);
create unique index customer_users_username_key on customer_users (lower(username));
create unique index customer_users_email_key on customer_users (lower(email));
create index customer_users_customer_idx on customer_users (customer_id);
create trigger customer_users_updated_at before update on customer_users
    for each row execute function set_updated_at();

-- Admin sessions. Only a SHA-256 hash of the cookie value is stored.
create table sessions (
    id            uuid primary key,
    admin_user_id uuid not null references admin_users (id) on delete cascade,
    token_hash    bytea not null,
    client_ip     text not null default '',
    created_at    timestamptz not null default now(),
    last_seen_at  timestamptz not null default now(),
    expires_at    timestamptz not null,
    revoked_at    timestamptz
);
create unique index sessions_token_hash_key on sessions (token_hash);
create index sessions_admin_user_idx on sessions (admin_user_id);

-- Customer refresh tokens, rotated on every use. A family is one login;
-- presenting a token that was already used revokes the whole family.
create table refresh_tokens (
    id               uuid primary key,
    family_id        uuid not null,
    customer_user_id uuid not null references customer_users (id) on delete cascade,
    customer_id      uuid not null,
    token_hash       bytea not null,
    created_at       timestamptz not null default now(),
    expires_at       timestamptz not null,
    used_at          timestamptz,
    revoked_at       timestamptz
);
create unique index refresh_tokens_token_hash_key on refresh_tokens (token_hash);
create index refresh_tokens_family_idx on refresh_tokens (family_id);
create index refresh_tokens_user_idx on refresh_tokens (customer_user_id);

create table api_keys (
    id           uuid primary key,
    customer_id  uuid not null references customers (id) on delete cascade,
    name         text not null,
    key_prefix   text not null,
    key_hash     bytea not null,
    enabled      boolean not null default true,
    created_by   text not null default '',
    created_at   timestamptz not null default now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);
create unique index api_keys_key_hash_key on api_keys (key_hash);
create index api_keys_customer_idx on api_keys (customer_id);

create table verification_codes (
    id          uuid primary key,
    email       text not null,
    purpose     text not null check (purpose in ('registration', 'password_reset')),
    code_hash   bytea not null,
    attempts    integer not null default 0,
    created_at  timestamptz not null default now(),
    expires_at  timestamptz not null,
    consumed_at timestamptz
);
create index verification_codes_email_idx on verification_codes (lower(email), purpose, created_at desc);

-- Who changed what, from where. Never holds secrets.
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
create index operation_logs_target_idx on operation_logs (target_type, target_id);
