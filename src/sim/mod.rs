//! The rehearsal environment: Graph and DNS on loopback.
