//! Microsoft Graph client.

pub mod model;
