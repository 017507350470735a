//! Microsoft Graph client: sign-in, HTTP with paging, typed models.

pub mod client;
pub mod error;
pub mod model;

pub use client::{Credentials, Endpoints, GraphClient, Response, RetryPolicy};
pub use error::GraphError;
