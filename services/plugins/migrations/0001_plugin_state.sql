-- Plugin state: the key-value store behind rustbill_host::state_get /
-- state_set, namespaced per plugin interface (instance). Used for callback
-- de-duplication and reconciliation bookkeeping by scripts.

create table plugin_state (
    interface_id text not null,
    key          text not null,
    value        text not null,
    updated_at   timestamptz not null default now(),
    primary key (interface_id, key)
);
