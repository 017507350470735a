//! The rehearsal environment: Graph and DNS on loopback.

#![allow(dead_code)] // wired up by the servers in the next commits

mod directory;
mod m365;
mod names;
mod rng;
