//! Key presses → actions.
