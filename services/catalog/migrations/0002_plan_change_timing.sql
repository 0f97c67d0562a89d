-- When a change of an active service away from this product takes effect:
-- at once, prorated to the second, or with the next renewal.
alter table products add column plan_change_timing text not null default 'immediate'
    check (plan_change_timing in ('immediate', 'period_end'));
