//! The order state machine of the spec, in one place:
//!
//! ```text
//! pending → paid → provisioning → active ⇄ suspended
//!    │        │          │          │         │
//!    └────────┴──────────┴→ cancelled         ├→ completed
//!             └→ refunded ←─────────┴─────────┤
//!                                   └─────────┴→ terminated
//! ```
//!
//! Cancelled, refunded, completed and terminated are final.

pub const PENDING: &str = "pending";
pub const PAID: &str = "paid";
pub const PROVISIONING: &str = "provisioning";
pub const ACTIVE: &str = "active";
pub const SUSPENDED: &str = "suspended";
pub const CANCELLED: &str = "cancelled";
pub const REFUNDED: &str = "refunded";
pub const COMPLETED: &str = "completed";
pub const TERMINATED: &str = "terminated";

pub const ALL: &[&str] = &[PENDING, PAID, PROVISIONING, ACTIVE, SUSPENDED, CANCELLED, REFUNDED, COMPLETED, TERMINATED];

/// Statuses in which an order still holds (or is about to hold) a service.
pub const LIVE: &[&str] = &[PENDING, PAID, PROVISIONING, ACTIVE, SUSPENDED];

/// Whether `from → to` is a legal transition.
pub fn can_move(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        (PENDING, PAID | CANCELLED)
            | (PAID, PROVISIONING | CANCELLED | REFUNDED)
            | (PROVISIONING, ACTIVE | CANCELLED)
            | (ACTIVE, SUSPENDED | COMPLETED | REFUNDED | TERMINATED)
            | (SUSPENDED, ACTIVE | COMPLETED | REFUNDED | TERMINATED)
    )
}

/// The statuses reachable from `from`.
pub fn next(from: &str) -> Vec<&'static str> {
    ALL.iter().copied().filter(|to| can_move(from, to)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_states_go_nowhere() {
        for status in [CANCELLED, REFUNDED, COMPLETED, TERMINATED] {
            assert!(next(status).is_empty(), "{status}");
        }
    }

    #[test]
    fn the_happy_path_is_legal_and_skipping_is_not() {
        assert!(can_move(PENDING, PAID));
        assert!(can_move(PAID, PROVISIONING));
        assert!(can_move(PROVISIONING, ACTIVE));
        assert!(!can_move(PENDING, ACTIVE));
        assert!(!can_move(PENDING, REFUNDED));
        assert!(!can_move(ACTIVE, PENDING));
        assert!(!can_move(ACTIVE, CANCELLED));
        assert_eq!(next(ACTIVE), vec![SUSPENDED, REFUNDED, COMPLETED, TERMINATED]);
    }
}
