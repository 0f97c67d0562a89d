//! The outbox bus, leader roles and per-service databases against a real
//! PostgreSQL, in one binary.
//!
//! Run with `cargo test -p rustbill-shared --features testkit --test integration`.

mod bus;
mod db;
mod leader;
mod system;
