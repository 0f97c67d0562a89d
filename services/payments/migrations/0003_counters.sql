-- The dashboard's revenue per day as an exact running sum, so GetDashboard
-- does not add up every payment of the window per call (issue 12). Same
-- rule as `dashboard::dashboard` had: payments of orders and invoices that
-- succeeded (later refunds do not take them out), on the UTC day of
-- coalesce(paid_at, updated_at).
--
-- As in the orders schema: triggers append deltas in the writing
-- transaction (no shared row, no waiting, no deadlock), `fold_counters()`
-- moves them into the sums, and a reader adds sums and deltas in one
-- statement, so the figure is exact at every moment.

create table daily_sums (
    series text not null,
    day    date not null,
    amount numeric(16, 2) not null,
    primary key (series, day)
);

create table daily_sum_deltas (
    series text not null,
    day    date not null,
    amount numeric(16, 2) not null
);
alter table daily_sum_deltas set (
    autovacuum_vacuum_threshold = 2000,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 2000,
    autovacuum_vacuum_insert_scale_factor = 0
);

create function revenue_inserted() returns trigger language plpgsql set search_path from current as $$
begin
    insert into daily_sum_deltas (series, day, amount)
    select 'revenue', (coalesce(paid_at, updated_at) at time zone 'UTC')::date, sum(amount) from new_rows
    where status in ('success', 'refunded') and purpose <> 'recharge' group by 2;
    return null;
end
$$;

create function revenue_deleted() returns trigger language plpgsql set search_path from current as $$
begin
    insert into daily_sum_deltas (series, day, amount)
    select 'revenue', (coalesce(paid_at, updated_at) at time zone 'UTC')::date, -sum(amount) from old_rows
    where status in ('success', 'refunded') and purpose <> 'recharge' group by 2;
    return null;
end
$$;

-- A payment whose part in the revenue may have changed: the old part out,
-- the new one in (either may be none).
create function revenue_moved() returns trigger language plpgsql set search_path from current as $$
begin
    insert into daily_sum_deltas (series, day, amount)
    select 'revenue', day, amount from (values
        ((coalesce(old.paid_at, old.updated_at) at time zone 'UTC')::date, -old.amount,
         old.status in ('success', 'refunded') and old.purpose <> 'recharge'),
        ((coalesce(new.paid_at, new.updated_at) at time zone 'UTC')::date, new.amount,
         new.status in ('success', 'refunded') and new.purpose <> 'recharge')
    ) as moved (day, amount, counted)
    where counted;
    return null;
end
$$;

create function revenue_truncated() returns trigger language plpgsql set search_path from current as $$
begin
    delete from daily_sums where series = 'revenue';
    delete from daily_sum_deltas where series = 'revenue';
    return null;
end
$$;

create trigger payments_revenue_insert after insert on payments
    referencing new table as new_rows for each statement execute function revenue_inserted();
create trigger payments_revenue_delete after delete on payments
    referencing old table as old_rows for each statement execute function revenue_deleted();
create trigger payments_revenue_update after update on payments for each row
    when ((old.status, old.purpose, old.amount, coalesce(old.paid_at, old.updated_at))
          is distinct from (new.status, new.purpose, new.amount, coalesce(new.paid_at, new.updated_at)))
    execute function revenue_moved();
create trigger payments_revenue_truncate after truncate on payments
    for each statement execute function revenue_truncated();

-- Moves every committed delta into the sums, atomically; how many it moved
-- (0 when another instance holds the fold).
create function fold_counters() returns bigint language plpgsql set search_path from current as $$
declare
    moved bigint;
begin
    if not pg_try_advisory_xact_lock(hashtext('payments.fold_counters')) then
        return 0;
    end if;
    with taken as (
        delete from daily_sum_deltas returning series, day, amount
    ), summed as (
        select series, day, sum(amount) as amount, count(*) as deltas from taken group by series, day
    ), folded as (
        insert into daily_sums (series, day, amount)
        select series, day, amount from summed order by series, day
        on conflict (series, day) do update set amount = daily_sums.amount + excluded.amount
    )
    select coalesce(sum(deltas), 0) into moved from summed;
    return moved;
end
$$;

insert into daily_sums (series, day, amount)
select 'revenue', (coalesce(paid_at, updated_at) at time zone 'UTC')::date, sum(amount) from payments
where status in ('success', 'refunded') and purpose <> 'recharge' group by 2;

-- Refunds are few, but the series still reads only its window.
create index refunds_created_idx on refunds (created_at);
