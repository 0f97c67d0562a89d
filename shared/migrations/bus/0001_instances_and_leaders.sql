-- Instances and leader roles (spec HA guide §2-3).

create table instance_heartbeat (
    instance_id   uuid primary key,
    registered_at timestamptz not null default now(),
    heartbeat_at  timestamptz not null default now(),
    pool_idle     integer not null default 0,
    pool_active   integer not null default 0,
    pool_max      integer not null default 0
);

create table leader_role (
    role         text primary key,
    holder       uuid,
    acquired_at  timestamptz not null default now(),
    heartbeat_at timestamptz not null default now(),
    ttl_secs     integer not null default 30 check (ttl_secs > 0)
);
