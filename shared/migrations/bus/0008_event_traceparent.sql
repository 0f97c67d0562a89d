-- The W3C traceparent of the span that published an event, so each
-- consumer's delivery joins the trace of the request that caused it
-- ([telemetry], spec operations manual §9.3). Null when the publisher had
-- no trace.
alter table bus.event_queue add column traceparent text;
