//! The reducer.

use super::action::{Action, Command};
use super::state::State;

/// Apply one action to the state and return the effects the loop must carry out.
pub fn update(state: &mut State, action: Action) -> Vec<Command> {
    let _ = (state, action);
    Vec::new()
}
