//! Whole-system tests in one binary (one link, one copy of the server's
//! dependencies on disk): each module is a former test file.

mod authorization;
mod bad_input;
mod catalog;
mod identity_flows;
mod identity_rules;
mod microservices;
mod plugins;
mod provider_rustbill;
mod secrets;
mod startup;
mod tracing;
