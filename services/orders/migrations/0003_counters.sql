-- Exact counters, so a list's total and the dashboard never count a
-- million rows per call, and never show an estimate as a total (issue 12):
-- orders and instances per customer and status (`status_counts`), orders
-- created and paid per day (`daily_counts`, the dashboard's series).
--
-- Writers only append deltas (triggers in the writing transaction), so two
-- transactions never wait on a shared counter row and cannot deadlock on
-- one. `fold_counters()` moves the deltas into the counters in one
-- statement per table. A reader sums counters and deltas in one statement,
-- hence in one snapshot: the sum is exact at every moment, before or after
-- any fold.

create table status_counts (
    -- 'order' or 'instance'
    kind        text not null,
    customer_id uuid not null,
    status      text not null,
    n           bigint not null,
    primary key (customer_id, kind, status)
);
create index status_counts_kind_idx on status_counts (kind, status);

create table status_count_deltas (
    kind        text not null,
    customer_id uuid not null,
    status      text not null,
    n           bigint not null
);
-- Rows live for a fold interval (a fraction of a second): keep the table
-- vacuumed so its scans stay short.
alter table status_count_deltas set (
    autovacuum_vacuum_threshold = 2000,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 2000,
    autovacuum_vacuum_insert_scale_factor = 0
);

-- The functions run with the migration's search_path (this schema), so a
-- writer connected with another one (an import, the CLI) is counted too.

-- Inserted rows, by statement (COPY of a million rows appends a handful of
-- deltas, not a million).
create function status_counts_inserted() returns trigger language plpgsql set search_path from current as $$
begin
    insert into status_count_deltas (kind, customer_id, status, n)
    select tg_argv[0], customer_id, status, count(*) from new_rows group by customer_id, status;
    return null;
end
$$;

create function status_counts_deleted() returns trigger language plpgsql set search_path from current as $$
begin
    insert into status_count_deltas (kind, customer_id, status, n)
    select tg_argv[0], customer_id, status, -count(*) from old_rows group by customer_id, status;
    return null;
end
$$;

-- A row whose status (or owner) changed; only called when one did.
create function status_counts_moved() returns trigger language plpgsql set search_path from current as $$
begin
    insert into status_count_deltas (kind, customer_id, status, n)
    values (tg_argv[0], old.customer_id, old.status, -1), (tg_argv[0], new.customer_id, new.status, 1);
    return null;
end
$$;

create function status_counts_truncated() returns trigger language plpgsql set search_path from current as $$
begin
    delete from status_counts where kind = tg_argv[0];
    delete from status_count_deltas where kind = tg_argv[0];
    return null;
end
$$;

create trigger orders_counted_insert after insert on orders
    referencing new table as new_rows for each statement execute function status_counts_inserted('order');
create trigger orders_counted_delete after delete on orders
    referencing old table as old_rows for each statement execute function status_counts_deleted('order');
create trigger orders_counted_update after update of status, customer_id on orders for each row
    when (old.status is distinct from new.status or old.customer_id is distinct from new.customer_id)
    execute function status_counts_moved('order');
create trigger orders_counted_truncate after truncate on orders
    for each statement execute function status_counts_truncated('order');

create trigger instances_counted_insert after insert on instances
    referencing new table as new_rows for each statement execute function status_counts_inserted('instance');
create trigger instances_counted_delete after delete on instances
    referencing old table as old_rows for each statement execute function status_counts_deleted('instance');
create trigger instances_counted_update after update of status, customer_id on instances for each row
    when (old.status is distinct from new.status or old.customer_id is distinct from new.customer_id)
    execute function status_counts_moved('instance');
create trigger instances_counted_truncate after truncate on instances
    for each statement execute function status_counts_truncated('instance');

create table daily_counts (
    -- 'orders_created' (by created_at) or 'orders_paid' (by paid_at)
    series text not null,
    -- The UTC day.
    day    date not null,
    n      bigint not null,
    primary key (series, day)
);

create table daily_count_deltas (
    series text not null,
    day    date not null,
    n      bigint not null
);
alter table daily_count_deltas set (
    autovacuum_vacuum_threshold = 2000,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 2000,
    autovacuum_vacuum_insert_scale_factor = 0
);

create function daily_counts_inserted() returns trigger language plpgsql set search_path from current as $$
begin
    insert into daily_count_deltas (series, day, n)
    select 'orders_created', (created_at at time zone 'UTC')::date, count(*) from new_rows group by 2
    union all
    select 'orders_paid', (paid_at at time zone 'UTC')::date, count(*) from new_rows where paid_at is not null group by 2;
    return null;
end
$$;

create function daily_counts_deleted() returns trigger language plpgsql set search_path from current as $$
begin
    insert into daily_count_deltas (series, day, n)
    select 'orders_created', (created_at at time zone 'UTC')::date, -count(*) from old_rows group by 2
    union all
    select 'orders_paid', (paid_at at time zone 'UTC')::date, -count(*) from old_rows where paid_at is not null group by 2;
    return null;
end
$$;

-- An order whose creation or payment time changed (paid_at set when paid).
create function daily_counts_moved() returns trigger language plpgsql set search_path from current as $$
begin
    insert into daily_count_deltas (series, day, n)
    select series, day, n from (values
        ('orders_created', (old.created_at at time zone 'UTC')::date, -1),
        ('orders_created', (new.created_at at time zone 'UTC')::date, 1),
        ('orders_paid', (old.paid_at at time zone 'UTC')::date, -1),
        ('orders_paid', (new.paid_at at time zone 'UTC')::date, 1)
    ) as moved (series, day, n)
    where day is not null;
    return null;
end
$$;

create function daily_counts_truncated() returns trigger language plpgsql set search_path from current as $$
begin
    delete from daily_counts;
    delete from daily_count_deltas;
    return null;
end
$$;

create trigger orders_daily_insert after insert on orders
    referencing new table as new_rows for each statement execute function daily_counts_inserted();
create trigger orders_daily_delete after delete on orders
    referencing old table as old_rows for each statement execute function daily_counts_deleted();
create trigger orders_daily_update after update of created_at, paid_at on orders for each row
    when (old.created_at is distinct from new.created_at or old.paid_at is distinct from new.paid_at)
    execute function daily_counts_moved();
create trigger orders_daily_truncate after truncate on orders
    for each statement execute function daily_counts_truncated();

-- Moves every committed delta into the counters, atomically; returns how
-- many deltas it moved. Every instance calls it on a timer; the advisory
-- lock keeps two from doing the same work at once (the other returns 0).
create function fold_counters() returns bigint language plpgsql set search_path from current as $$
declare
    statuses bigint;
    days bigint;
begin
    if not pg_try_advisory_xact_lock(hashtext('orders.fold_counters')) then
        return 0;
    end if;
    with taken as (
        delete from status_count_deltas returning kind, customer_id, status, n
    ), summed as (
        select kind, customer_id, status, sum(n)::bigint as n, count(*) as deltas
        from taken group by kind, customer_id, status
    ), folded as (
        insert into status_counts (kind, customer_id, status, n)
        select kind, customer_id, status, n from summed order by customer_id, kind, status
        on conflict (customer_id, kind, status) do update set n = status_counts.n + excluded.n
    )
    select coalesce(sum(deltas), 0) into statuses from summed;
    with taken as (
        delete from daily_count_deltas returning series, day, n
    ), summed as (
        select series, day, sum(n)::bigint as n, count(*) as deltas from taken group by series, day
    ), folded as (
        insert into daily_counts (series, day, n)
        select series, day, n from summed order by series, day
        on conflict (series, day) do update set n = daily_counts.n + excluded.n
    )
    select coalesce(sum(deltas), 0) into days from summed;
    return statuses + days;
end
$$;

insert into status_counts (kind, customer_id, status, n)
select 'order', customer_id, status, count(*) from orders group by customer_id, status;
insert into status_counts (kind, customer_id, status, n)
select 'instance', customer_id, status, count(*) from instances group by customer_id, status;
insert into daily_counts (series, day, n)
select 'orders_created', (created_at at time zone 'UTC')::date, count(*) from orders group by 2;
insert into daily_counts (series, day, n)
select 'orders_paid', (paid_at at time zone 'UTC')::date, count(*) from orders where paid_at is not null group by 2;
