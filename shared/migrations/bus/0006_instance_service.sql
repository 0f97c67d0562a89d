-- Which service an instance runs and on which host, for the admin
-- dashboard (rustbill.system.SystemService.GetDashboard). Rows written
-- before this migration keep empty values until they are re-registered.
alter table bus.instance_heartbeat
    add column service  text not null default '',
    add column hostname text not null default '';
