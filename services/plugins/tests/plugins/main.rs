//! Plugin engine, host API and outbound HTTP tests in one binary.

mod support;

mod engine;
mod host;
mod http;
mod service;
