//! The rehearsal environment: Graph and DNS on loopback.

#![allow(dead_code)] // wired up to Sim in the next commit

mod auth;
mod directory;
mod graph;
mod http;
mod m365;
mod names;
mod rng;
