//! cutover: a terminal cockpit for moving a custom email domain between Microsoft 365 tenants.
//!
//! Data flows one way: pollers and input produce [`app::Action`]s, [`app::update`] changes the
//! [`app::State`] and returns commands, [`ui::render`] draws the state. See `docs/architecture.md`.

pub mod access;
pub mod app;
pub mod audit;
pub mod cli;
pub mod config;
pub mod dns;
pub mod exchange;
pub mod executor;
pub mod graph;
pub mod inventory;
pub mod logging;
pub mod plan;
pub mod sim;
pub mod store;
pub mod timeline;
pub mod ui;
