//! The integration tests, one binary: each module is one area, run against the real binary, the
//! rehearsal environment on loopback, real terminals (tmux) and a real BIND `named`. One binary
//! instead of one per file keeps the build small: each test binary links the whole product.

mod common;

mod access_cli;
mod adopt_cli;
mod apply_cli;
mod apply_trials;
mod audit;
mod audit_cli;
mod backout_cli;
mod check_cli;
mod cli;
mod clients;
mod config_cli;
mod connections;
mod dashboard_delta;
mod demo_play;
mod discovery;
mod dns_bind;
mod dns_cli;
mod dns_update;
mod docs;
mod e2e_rehearsal;
mod e2e_tmux;
mod exchange;
mod exchange_cli;
mod executor;
mod executor_graph;
mod graph_delta;
mod graph_resilience;
mod graph_retry;
mod graph_scale;
mod inventory;
mod keys;
mod owner_cli;
mod pacing;
mod partner_cli;
mod permissions;
mod pfx;
mod properties;
mod provider_cli;
mod render;
mod render_connections;
mod render_workbench;
mod roundtrip;
mod script_connectors;
mod session_secrets;
mod sign_in_cancel;
mod signin;
mod sim_dkim;
mod sim_writes;
mod snapshot_cli;
mod timeline_pane;
mod workbench;
