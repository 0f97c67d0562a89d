//! The common kit of every RustBill service.
//!
//! - [`config`]: layered configuration (figment), every key of the spec;
//! - [`error`]: one error type mapped to gRPC codes;
//! - [`money`], [`ids`]: money on `rust_decimal`, UUID v7 ids, RFC 3339 times;
//! - [`telemetry`]: tracing (text or JSON), request id and traceparent;
//! - [`db`]: pools, per-service schemas, roles and migrations;
//! - [`bus`]: the PostgreSQL outbox between services;
//! - [`leader`]: instance heartbeat and leader roles;
//! - [`principal`]: who is calling, and the signed internal token;
//! - [`grpc`]: serving helpers shared by every service binary;
//! - [`clients`]: channels to other services with the signed principal;
//! - [`system`]: each service's part of the admin dashboard and operation log;
//! - `testkit` (feature): a real PostgreSQL database per test.

pub mod bus;
pub mod clients;
pub mod config;
pub mod counters;
pub mod db;
pub mod error;
pub mod grpc;
pub mod ids;
pub mod leader;
pub mod metrics;
pub mod money;
pub mod oplog;
pub mod paging;
pub mod pgcluster;
pub mod principal;
pub mod redis;
pub mod system;
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use config::Config;
pub use error::{AppError, AppResult};
pub use money::Money;
pub use principal::{Caller, Principal};
