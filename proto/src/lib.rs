//! The RustBill wire contract, generated from `proto/` at build time.
//!
//! Public packages (`rustbill.*`) are what clients call through the edge;
//! `rustbill.internal.*` packages are service-to-service RPCs the edge never
//! routes.

#![allow(clippy::all, clippy::pedantic, missing_docs, rust_2018_idioms)]

pub mod rustbill {
    pub mod balance {
        tonic::include_proto!("rustbill.balance");
    }
    pub mod billing {
        tonic::include_proto!("rustbill.billing");
    }
    pub mod common {
        tonic::include_proto!("rustbill.common");
    }
    pub mod customer {
        tonic::include_proto!("rustbill.customer");
    }
    pub mod downstream {
        tonic::include_proto!("rustbill.downstream");
    }
    pub mod identity {
        tonic::include_proto!("rustbill.identity");
    }
    pub mod instance {
        tonic::include_proto!("rustbill.instance");
    }
    pub mod integration {
        tonic::include_proto!("rustbill.integration");
    }
    pub mod notification {
        tonic::include_proto!("rustbill.notification");
    }
    pub mod order {
        tonic::include_proto!("rustbill.order");
    }
    pub mod payment {
        tonic::include_proto!("rustbill.payment");
    }
    pub mod product {
        tonic::include_proto!("rustbill.product");
    }
    pub mod system {
        tonic::include_proto!("rustbill.system");
    }
    pub mod ticket {
        tonic::include_proto!("rustbill.ticket");
    }

    pub mod internal {
        pub mod auth {
            tonic::include_proto!("rustbill.internal.auth");
        }
        pub mod balances {
            tonic::include_proto!("rustbill.internal.balances");
        }
        pub mod customers {
            tonic::include_proto!("rustbill.internal.customers");
        }
        pub mod orders {
            tonic::include_proto!("rustbill.internal.orders");
        }
        pub mod payments {
            tonic::include_proto!("rustbill.internal.payments");
        }
        pub mod plugins {
            tonic::include_proto!("rustbill.internal.plugins");
        }
        pub mod system {
            tonic::include_proto!("rustbill.internal.system");
        }
    }
}

pub use rustbill::*;

/// Encoded `FileDescriptorSet` of the public packages, for gRPC reflection.
pub const PUBLIC_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rustbill_public_descriptor.bin"));

/// Encoded `FileDescriptorSet` of every package, public and internal.
pub const ALL_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rustbill_all_descriptor.bin"));

/// Fully qualified names of the public gRPC services the edge routes and
/// reports through `grpc.health.v1`.
pub const PUBLIC_SERVICES: &[&str] = &[
    "rustbill.identity.IdentityService",
    "rustbill.customer.CustomerService",
    "rustbill.downstream.ApiKeyService",
    "rustbill.product.ProductService",
    "rustbill.product.ProductGroupService",
    "rustbill.product.ProductCategoryService",
    "rustbill.order.OrderService",
    "rustbill.billing.BillingService",
    "rustbill.billing.CouponService",
    "rustbill.instance.InstanceService",
    "rustbill.payment.PaymentService",
    "rustbill.balance.BalanceService",
    "rustbill.integration.IntegrationService",
    "rustbill.notification.NotificationService",
    "rustbill.ticket.TicketService",
    "rustbill.system.SystemService",
];

#[cfg(test)]
mod tests {
    use prost::Message;

    /// `PUBLIC_SERVICES` must list exactly the services in the public
    /// descriptor set, so the edge routes and health-reports all of them.
    #[test]
    fn public_services_match_the_public_descriptor_set() {
        let set = prost_types::FileDescriptorSet::decode(super::PUBLIC_DESCRIPTOR_SET)
            .expect("public descriptor set decodes");
        let mut in_descriptors: Vec<String> = set
            .file
            .iter()
            .flat_map(|file| {
                let package = file.package().to_owned();
                file.service.iter().map(move |service| format!("{package}.{}", service.name()))
            })
            .collect();
        in_descriptors.sort();
        let mut listed: Vec<String> = super::PUBLIC_SERVICES.iter().map(|name| (*name).to_owned()).collect();
        listed.sort();
        assert_eq!(listed, in_descriptors);
    }
}
