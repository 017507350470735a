//! Application core: state, actions, the reducer and the event loop.
//!
//! `state` and `action` are the data; `update` is the reducer (pure: state + action → commands);
//! `keys` maps key presses to actions; `run` owns the terminal, the pollers and the loop.

pub mod action;
pub mod cleanup;
pub mod connections;
pub mod keys;
pub mod layout;
pub mod observe;
pub mod place;
pub mod play;
pub mod state;
pub mod update;
pub mod view;
pub mod workbench;

pub use action::{Action, Command, PollFailure, TenantSnapshot};
pub use state::{Pane, State, TenantId};
pub use update::update;
pub mod pollers;
pub mod run;
pub mod supervise;
pub mod terminal;
pub mod timeline;
