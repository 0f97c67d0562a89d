//! `plugins/provider-incus.rn` against an Incus API server on loopback:
//! HTTPS with client certificates the way `incusd` does it, the REST
//! envelopes and asynchronous operations of `/1.0`, instances in memory.
//!
//! - `catalog`: the contract, the configuration form, prices, the spec
//!   template and synced products;
//! - `trust`: which client and server certificates work;
//! - `lifecycle`: create → running with an address, status, actions,
//!   detail sections, terminate; waiting for operations; retries;
//! - `failures`: Incus's errors, timeouts, a server that is down.

mod catalog;
mod certs;
mod failures;
mod harness;
mod lifecycle;
mod server;
mod trust;
