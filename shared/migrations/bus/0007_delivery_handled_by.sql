-- Which instance (bus.instance_heartbeat.instance_id) handled a delivery,
-- set when it is marked done: shows that the instances of a service share
-- the work, and which one to look at when a handler misbehaved. Null for
-- deliveries done before this migration or by a consumer without an
-- instance (tests draining by hand).
alter table bus.delivery add column handled_by uuid;
