//! The PostgreSQL outbox between services (DESIGN.md rule 2).
