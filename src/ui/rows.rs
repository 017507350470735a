//! The list panes' rows now live in the view model ([`crate::app::view`]), which the reducer
//! keeps up to date; the renderer reads them from there. Re-exported so each pane keeps its
//! `rows::` paths.

pub use crate::app::view::*;
