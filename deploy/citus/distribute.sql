-- Citus: which RustBill tables are distributed, and by what.
-- Run once on the coordinator after the first start has created the
-- schemas (the services migrate themselves):
--   psql "$DATABASE_URL" -f deploy/citus/distribute.sql
--
-- Rule (DESIGN.md rule 6): tables that belong to a customer carry
-- customer_id NOT NULL and are distributed by it. Small, global tables are
-- reference tables. The bus (outbox, leader roles, heartbeats) stays a
-- local table on the coordinator: it is written in the same transaction as
-- business rows, read with SKIP LOCKED, and small.
--
-- identity: logins look users up by username and e-mail across customers,
-- so its tables are reference tables (replicated, globally unique indexes
-- keep working).
select create_reference_table('identity.customers');
select create_reference_table('identity.admin_users');
select create_reference_table('identity.customer_users');
select create_reference_table('identity.sessions');
select create_reference_table('identity.refresh_tokens');
select create_reference_table('identity.api_keys');
select create_reference_table('identity.verification_codes');
select create_reference_table('identity.operation_logs');
select create_reference_table('identity.admin_recovery_codes');
select create_reference_table('identity.admin_login_challenges');

-- payments: balances, payments, refunds and the ledger are per customer
-- (customer_id is in every primary and unique key); co-located so a
-- balance payment's account lock, ledger row and payment row commit on one
-- shard.
select create_distributed_table('payments.balance_accounts', 'customer_id');
select create_distributed_table('payments.payments', 'customer_id', colocate_with => 'payments.balance_accounts');
select create_distributed_table('payments.refunds', 'customer_id', colocate_with => 'payments.balance_accounts');
select create_distributed_table('payments.balance_transactions', 'customer_id', colocate_with => 'payments.balance_accounts');
select create_reference_table('payments.operation_logs');
-- The revenue per day (payments migration 0003_counters), like the orders'
-- daily counters.
select create_reference_table('payments.daily_sums');
select create_reference_table('payments.daily_sum_deltas');

-- orders: orders and instances are per customer, co-located.
select create_distributed_table('orders.orders', 'customer_id');
select create_distributed_table('orders.instances', 'customer_id', colocate_with => 'orders.orders');
select create_distributed_table('orders.invoices', 'customer_id', colocate_with => 'orders.orders');
select create_distributed_table('orders.invoice_items', 'customer_id', colocate_with => 'orders.orders');
select create_distributed_table('orders.plan_changes', 'customer_id', colocate_with => 'orders.orders');
-- The exact counters (orders migration 0003_counters): per customer ones
-- on the shard of the rows they count, the per-day ones (no customer) as
-- reference tables. Their triggers (transition tables) and fold_counters()
-- have not run on Citus yet: see the README.
select create_distributed_table('orders.status_counts', 'customer_id', colocate_with => 'orders.orders');
select create_distributed_table('orders.status_count_deltas', 'customer_id', colocate_with => 'orders.orders');
select create_reference_table('orders.daily_counts');
select create_reference_table('orders.daily_count_deltas');
-- One row per year, updated in the issuing transaction (gapless numbers).
select create_reference_table('orders.invoice_numbers');
select create_reference_table('orders.operation_logs');
-- Coupons are shop-wide: redeeming one locks its row, whoever the customer.
select create_reference_table('orders.coupons');
select create_reference_table('orders.coupon_redemptions');

-- plugins: a few dozen rows of configuration, read on every plugin call
-- from any node; KV state is keyed by interface (not customer).
select create_reference_table('plugins.plugins');
select create_reference_table('plugins.plugin_interfaces');
select create_reference_table('plugins.plugin_state');
select create_reference_table('plugins.operation_logs');

-- catalog: products are shared by all customers and read by everyone.
select create_reference_table('catalog.categories');
select create_reference_table('catalog.product_groups');
select create_reference_table('catalog.products');
select create_reference_table('catalog.operation_logs');

-- notify: the delivery log stays a local table on the coordinator, like the
-- bus: it is claimed with FOR UPDATE SKIP LOCKED by the delivery workers,
-- written in the bus consumer's transaction, and purged like the bus.
-- Tickets belong to a customer (customer_id is in both primary keys and in
-- the replies' foreign key), co-located with their replies.
select create_distributed_table('notify.tickets', 'customer_id');
select create_distributed_table('notify.ticket_replies', 'customer_id', colocate_with => 'notify.tickets');
select create_reference_table('notify.operation_logs');

-- Local tables (stay on the coordinator; listed so the test that checks
-- this file against the migrations knows they were decided, not forgotten):
-- local: notify.deliveries
-- local: notify.delivery_attempts
-- local: bus.instance_heartbeat
-- local: bus.leader_role
-- local: bus.event_queue
-- local: bus.subscription
-- local: bus.delivery

-- Note: identity keeps `updated_at` with row triggers; Citus runs triggers
-- on reference and distributed tables only with
--   alter database rustbill set citus.enable_unsafe_triggers = on;
-- (the triggers touch only their own row, which is what makes them safe).
