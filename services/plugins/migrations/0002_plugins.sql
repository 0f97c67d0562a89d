-- Plugin definitions (one per plugins/*.rn file, kept by the scanner) and
-- plugin interfaces (configured instances of a definition, managed by
-- admins). The spec's two-table model, plus what the service needs to run
-- safely: the script each interface runs, whether an admin replaced it,
-- health results, and the last compile error of a definition's file.

create table plugins (
    id             uuid primary key,
    plugin_type    text not null
        check (plugin_type in ('first_party_provider', 'upstream_provider', 'gateway', 'notifier')),
    plugin_id      text not null,
    has_admin_page boolean not null default false,
    version        text not null default '0.0.0',
    file_name      text not null,
    script_source  text not null,
    script_hash    text not null,
    config_schema  jsonb not null default '{}'::jsonb,
    -- Why the file's current text was not taken (compile or contract
    -- error); the last good script stays in script_source.
    load_error     text,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    unique (plugin_type, plugin_id)
);

create table plugin_interfaces (
    id                uuid primary key,
    plugin_def_id     uuid not null references plugins (id) on delete restrict,
    plugin_type       text not null,
    plugin_id         text not null,
    display_name      text not null,
    config            jsonb not null default '{}'::jsonb,
    config_schema     jsonb not null default '{}'::jsonb,
    enabled           boolean not null default false,
    script_source     text not null,
    script_hash       text not null,
    -- An admin replaced the script: the scanner leaves it alone.
    script_overridden boolean not null default false,
    plugin_version    text not null,
    has_admin_page    boolean not null default false,
    is_healthy        boolean not null default false,
    health_error      text,
    last_check_at     timestamptz,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    unique (plugin_type, plugin_id, display_name)
);

create index plugin_interfaces_def_idx on plugin_interfaces (plugin_def_id);
create index plugin_interfaces_enabled_idx on plugin_interfaces (plugin_type) where enabled;

-- Admin mutations, as in every service: who, what, from where.
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
