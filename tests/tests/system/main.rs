//! Whole-system tests in one binary (one link, one copy of the server's
//! dependencies on disk): each module is a former test file.

mod admin_web;
mod authorization;
mod bad_input;
mod billing;
mod catalog;
mod citus;
mod coupons;
mod identity_flows;
mod identity_rules;
mod instances;
mod microservices;
mod notify;
mod orders;
mod plan_change;
mod plugins;
mod portal_web;
mod provider_rustbill;
mod redis_failover;
mod secrets;
mod startup;
mod system_service;
mod telemetry;
mod tickets;
mod totals;
mod tracing;
mod two_factor;

/// Test servers shared with the plugins crate's tests: an HTTP server on
/// loopback and the epay merchant API built on it.
#[allow(dead_code)]
#[path = "../../../services/plugins/tests/plugins/support/http_server.rs"]
mod http_server;
#[allow(dead_code)]
#[path = "../../../services/plugins/tests/plugins/support/smtp_server.rs"]
mod smtp_server;
mod support {
    pub(crate) use super::http_server;
}
#[allow(dead_code)]
#[path = "../../../services/plugins/tests/bundled/gateways/epay_server.rs"]
mod epay_server;
