//! The RustBill wire contract, generated from `proto/` at build time.
//!
//! Public packages (`rustbill.*`) are what clients call through the edge;
//! `rustbill.internal.*` packages are service-to-service RPCs the edge never
//! routes.

#![allow(clippy::all, clippy::pedantic, missing_docs, rust_2018_idioms)]

pub mod rustbill {
    pub mod common {
        tonic::include_proto!("rustbill.common");
    }

    pub mod internal {
        pub mod auth {
            tonic::include_proto!("rustbill.internal.auth");
        }
        pub mod balances {
            tonic::include_proto!("rustbill.internal.balances");
        }
    }
}

pub use rustbill::*;

/// Encoded `FileDescriptorSet` of the public packages, for gRPC reflection.
pub const PUBLIC_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/rustbill_public_descriptor.bin"));

/// Encoded `FileDescriptorSet` of every package, public and internal.
pub const ALL_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/rustbill_all_descriptor.bin"));

/// Fully qualified names of the public gRPC services the edge routes and
/// reports through `grpc.health.v1`.
pub const PUBLIC_SERVICES: &[&str] = &[];
