//! gRPC adapters: wire types in, validated calls, wire types out.

pub mod apikey;
pub mod auth;
pub mod customer;
pub mod directory;
pub mod identity;
pub mod system;
mod two_factor;
